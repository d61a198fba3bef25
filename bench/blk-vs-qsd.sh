#!/usr/bin/env bash
# virtio-blk back ends side by side: qemu-storage-daemon (io_uring on a RAM-backed file) and
# `iovirt blk` (io_uring on the same kind of file), both driven by `iovirt bench-blk`, the same
# load generator, interleaved (the order alternates every round), RUNS rounds per workload.
# Prints each workload's median and range of IOPS and median latencies, and the ratio ours/qsd.
#
# The generator polls the used ring (--poll) so that it is not what limits the rate; its own
# ceiling is printed first, measured against `iovirt blk --engine null` (completes without I/O).
#
# Environment: RUNS (default 5), RUNTIME seconds per run (default 5), SIZE of each image
# (default 1G), BACKEND_CPU / CLIENT_CPU (defaults 1 and 0: back end and generator on their own
# core), POLL=0 to have the generator sleep on the call eventfd instead, ENGINE for `iovirt blk
# --engine` (default auto: mapped, since the image is in RAM; ENGINE=uring takes qsd's I/O path).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
runtime=${RUNTIME:-5}
size=${SIZE:-1G}
backend_cpu=${BACKEND_CPU:-1}
client_cpu=${CLIENT_CPU:-0}
engine=${ENGINE:-auto}
poll=()
[ "${POLL:-1}" = 1 ] && poll=(--poll)

if ! command -v qemu-storage-daemon >/dev/null; then
  echo "blk-vs-qsd: installing qemu-system-common (qemu-storage-daemon)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq qemu-system-common >/dev/null
fi

dotnet build -c Release -nologo -v q backends/IoVirt.Cli >/dev/null
iovirt=(dotnet backends/IoVirt.Cli/bin/Release/net10.0/iovirt.dll)

work=$(mktemp -d /dev/shm/iovirt-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Both images fully allocated in RAM, so reads hit real pages rather than holes.
fallocate -l "$size" "$work/qsd.img"
fallocate -l "$size" "$work/ours.img"

taskset -c "$backend_cpu" qemu-storage-daemon \
  --blockdev "driver=file,node-name=disk,filename=$work/qsd.img,aio=io_uring,cache.direct=off" \
  --export "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=$work/qsd.sock,writable=on,num-queues=1" \
  2>"$work/qsd.log" &
pids+=($!)
taskset -c "$backend_cpu" "${iovirt[@]}" blk --socket "$work/ours.sock" --image "$work/ours.img" --engine "$engine" --log-level warning \
  2>"$work/ours.log" &
pids+=($!)
taskset -c "$backend_cpu" "${iovirt[@]}" blk --socket "$work/null.sock" --engine null --ram "$size" --log-level warning \
  2>"$work/null.log" &
pids+=($!)
for s in qsd ours null; do
  for _ in $(seq 100); do [ -S "$work/$s.sock" ] && break; sleep 0.1; done
  [ -S "$work/$s.sock" ] || { echo "blk-vs-qsd: $s did not listen" >&2; cat "$work/$s.log" >&2; exit 1; }
done

workloads=("randread 4k 1" "randread 4k 32" "randwrite 4k 32" "read 128k 8")
results="$work/results.tsv"
: > "$results"
echo "load generator ceiling (iovirt blk --engine null, one run each):"
for w in "${workloads[@]}"; do
  read -r rw bs depth <<<"$w"
  printf '  %-18s' "$w"
  taskset -c "$client_cpu" "${iovirt[@]}" bench-blk --socket "$work/null.sock" --rw "$rw" --bs "$bs" --iodepth "$depth" \
    --runtime "$runtime" --ramp 1 "${poll[@]}" | sed 's/^[^:]*: //'
done
echo
for w in "${workloads[@]}"; do
  read -r rw bs depth <<<"$w"
  for round in $(seq "$runs"); do
    order=(qsd ours)
    ((round % 2 == 0)) && order=(ours qsd)
    for target in "${order[@]}"; do
      json=$(taskset -c "$client_cpu" "${iovirt[@]}" bench-blk --socket "$work/$target.sock" \
        --rw "$rw" --bs "$bs" --iodepth "$depth" --runtime "$runtime" --ramp 1 "${poll[@]}" --json)
      python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("\t".join(map(str,[sys.argv[2],sys.argv[3],r["iops"],r["lat_us"]["p50"],r["lat_us"]["p99"],r["errors"]])))' \
        "$json" "$w" "$target" >> "$results"
    done
  done
done

python3 - "$results" "$runs" "$runtime" "$engine" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print(f"virtio-blk back ends, {sys.argv[2]} interleaved runs of {sys.argv[3]} s each (median, [min-max]); iovirt engine: {sys.argv[4]}")
print(f"{'workload':<18}{'qsd IOPS':>30}{'iovirt IOPS':>30}{'ours/qsd':>10}{'qsd p50/p99 us':>18}{'ours p50/p99 us':>18}")
for w in dict.fromkeys(r[0] for r in rows):
    s = {}
    for t in ("qsd", "ours"):
        rs = [r for r in rows if r[0] == w and r[1] == t]
        iops = [float(r[2]) for r in rs]
        s[t] = (statistics.median(iops), min(iops), max(iops),
                statistics.median(float(r[3]) for r in rs), statistics.median(float(r[4]) for r in rs),
                sum(int(r[5]) for r in rs))
    q, o = s["qsd"], s["ours"]
    fmt = lambda x: f"{x[0]:,.0f} [{x[1]:,.0f}-{x[2]:,.0f}]"
    print(f"{w:<18}{fmt(q):>30}{fmt(o):>30}{o[0]/q[0]:>9.2f}x{q[3]:>10.1f}/{q[4]:<7.1f}{o[3]:>10.1f}/{o[4]:<7.1f}")
    if q[5] or o[5]:
        print(f"  errors: qsd {q[5]}, ours {o[5]}")
PY
