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
# FRESH=1 measures instead what a daemon's users see first: each run starts the back end afresh
# (the native `iovirt`, publish-aot.sh) on a freshly allocated image, and reports its first
# second and its first five seconds (a 1 s run, then a 4 s one), against qsd's in the same round.
# There both images live on a tmpfs of their own mounted with huge=within_size (as root; HUGE=0
# keeps them in /dev/shm's 4 KiB pages): see bench/README.md for why that decides the first second.
# BACKING=rbd puts each back end's image on Ceph instead: a cluster of one monitor, manager and
# OSD (tests/ceph/cluster.sh) started for the run, qsd through its rbd driver (package
# qemu-block-extra) and ours through librbd, both without librbd's cache (cache.direct=on is
# how qsd turns it off); the images are written whole first, so reads find data.
# QUEUES=N gives each back end N request queues (qsd's num-queues, ours --queues) and drives
# them from N generator threads (on CLIENT_CPU: with 2 cores, POLL=0 suits that best).
# Beside IOPS and latency each row gives, per I/O, the back end's CPU time and its wake-ups
# (voluntary context switches of its threads alive at the end, io_uring's workers included); TRACE=1 adds
# io_uring requests per io_uring_enter call, counted with perf's tracepoints (which cost both
# sides a little). SQPOLL=CPU has ours take submissions on a kernel thread bound to CPU
# (`iovirt blk --sqpoll`, ENGINE=uring), for hosts with a core to give it. BUSY_POLL=USEC sets
# ours' `--busy-poll` (default: the engine's own, 5 on librbd).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
runtime=${RUNTIME:-5}
size=${SIZE:-1G}
backend_cpu=${BACKEND_CPU:-1}
client_cpu=${CLIENT_CPU:-0}
engine=${ENGINE:-auto}
backing=${BACKING:-file}
case "$backing" in
  file | rbd) ;;
  *) echo "blk-vs-qsd: BACKING is file or rbd, not $backing" >&2; exit 2 ;;
esac
[ "$backing" = rbd ] && [ "${FRESH:-0}" = 1 ] && { echo "blk-vs-qsd: FRESH=1 is for BACKING=file" >&2; exit 2; }
queues=${QUEUES:-1}
trace=${TRACE:-0}
sqpoll=()
[ -n "${SQPOLL:-}" ] && sqpoll=(--sqpoll "$SQPOLL")
poll=()
[ "${POLL:-1}" = 1 ] && poll=(--poll)
busy_poll=()
[ -n "${BUSY_POLL:-}" ] && busy_poll=(--busy-poll "$BUSY_POLL")
[ "$trace" = 1 ] && ! command -v perf >/dev/null && { echo "blk-vs-qsd: TRACE=1 needs perf (package linux-perf)" >&2; exit 2; }

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
  [ "$backing" = rbd ] && bash tests/ceph/cluster.sh stop "$work/ceph"
  rm -rf "$work"
}
trap cleanup EXIT

# User plus system time of process $1 so far, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() {
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# Voluntary context switches of each thread of process $1 so far (io_uring's workers
# included), as "TID COUNT" lines: each switch is a sleep, so a wake-up to come.
# One process, as the sampler competes with two busy cores.
thread_wakeups() {
  awk '/^voluntary_ctxt_switches/ {split(FILENAME, path, "/"); print path[5], $2}' /proc/"$1"/task/*/status 2>/dev/null || true
}

# With TRACE=1, io_uring_enter calls and io_uring requests of process $1 for $2 seconds, as
# "enters<TAB>requests" (perf's syscall and io_uring tracepoints); "0<TAB>0" without.
uring_calls() {
  if [ "$trace" != 1 ]; then printf '0\t0\n'; sleep "$2"; return; fi
  perf stat -x, -e syscalls:sys_enter_io_uring_enter,io_uring:io_uring_submit_req -p "$1" -- sleep "$2" 2>&1 >/dev/null \
    | awk -F, '/io_uring_enter/ {e = $1} /submit_req/ {r = $1} END {printf "%d\t%d\n", e, r}'
}

if [ "$backing" = rbd ]; then
  [ -e /usr/lib/x86_64-linux-gnu/qemu/block-rbd.so ] && command -v ceph-osd >/dev/null \
    || { echo "blk-vs-qsd: BACKING=rbd needs Ceph and qsd's rbd driver: run tests/setup.sh" >&2; exit 1; }
  ceph_conf=$(bash tests/ceph/cluster.sh start "$work/ceph" 2>/dev/null)
  for name in qsd ours; do
    rbd -c "$ceph_conf" create "rbd/$name" --size "$size"
    rbd -c "$ceph_conf" bench --io-type write --io-pattern seq --io-size 4M --io-threads 4 --io-total "$size" "rbd/$name" >/dev/null
  done
fi

# Starts back end $1 (qsd, or ours run as "${@:3}") on a freshly allocated image in directory $2
# (or on its RBD image) and waits until it listens; its pid in $daemon.
start_backend() {
  local name=$1 images=$2 qsd_image ours_image
  shift 2
  rm -f "$work/$name.sock"
  if [ "$backing" = rbd ]; then
    qsd_image="driver=rbd,node-name=disk,pool=rbd,image=qsd,conf=$ceph_conf,cache.direct=on"
    ours_image="rbd:rbd/ours,conf=$ceph_conf"
  else
    rm -f "$images/$name.img"
    fallocate -l "$size" "$images/$name.img"
    qsd_image="driver=file,node-name=disk,filename=$images/qsd.img,aio=io_uring,cache.direct=off"
    ours_image=$images/ours.img
  fi
  if [ "$name" = qsd ]; then
    taskset -c "$backend_cpu" qemu-storage-daemon --blockdev "$qsd_image" \
      --export "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=$work/qsd.sock,writable=on,num-queues=$queues" \
      2>"$work/qsd.log" &
  else
    taskset -c "$backend_cpu" "$@" blk --socket "$work/ours.sock" --image "$ours_image" --engine "$engine" --queues "$queues" "${sqpoll[@]}" "${busy_poll[@]}" --log-level warning \
      >/dev/null 2>"$work/ours.log" &
  fi
  daemon=$!
  pids+=("$daemon")
  for _ in $(seq 2000); do [ -S "$work/$name.sock" ] && return; sleep 0.005; done
  echo "blk-vs-qsd: $name did not listen" >&2; cat "$work/$name.log" >&2; exit 1
}

if [ "${FRESH:-0}" = 1 ]; then
  native=$(bash backends/IoVirt.Cli/publish-aot.sh)
  images=$work
  if [ "${HUGE:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
    images=$work/huge
    mkdir -p "$images"
    mount -t tmpfs -o "huge=within_size,size=$((2 * $(numfmt --from=iec "$size")))" iovirt-bench "$images"
    trap 'umount "$images"; cleanup' EXIT
  fi
  results="$work/fresh.tsv"
  : > "$results"
  for w in "randread 4k 32" "randread 4k 1"; do
    read -r rw bs depth <<<"$w"
    for round in $(seq "$runs"); do
      order=(qsd ours)
      ((round % 2 == 0)) && order=(ours qsd)
      for target in "${order[@]}"; do
        start_backend "$target" "$images" "$native"
        iops=()
        for seconds in 1 4; do
          json=$(taskset -c "$client_cpu" "$native" bench-blk --socket "$work/$target.sock" \
            --rw "$rw" --bs "$bs" --iodepth "$depth" --queues "$queues" --runtime "$seconds" --ramp 0 "${poll[@]}" --json)
          iops+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["iops"])' "$json")")
        done
        kill "$daemon"; wait "$daemon" 2>/dev/null || true
        printf '%s\t%s\t%s\t%s\n' "$w" "$target" "${iops[0]}" "${iops[1]}" >> "$results"
      done
    done
  done
  python3 - "$results" "$runs" "$engine" "$(findmnt -n -o OPTIONS --target "$images" | grep -o 'huge=[a-z_]*' || echo 'huge=never')" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print(f"fresh back ends, {sys.argv[2]} interleaved runs each (median, [min-max]); iovirt engine: {sys.argv[3]}; images on {sys.argv[4]}")
print(f"{'workload':<16}{'window':<10}{'qsd IOPS':>28}{'iovirt IOPS':>28}{'ours/qsd':>10}")
for w in dict.fromkeys(r[0] for r in rows):
    for window, pick in (("first 1 s", lambda r: float(r[2])), ("first 5 s", lambda r: (float(r[2]) + 4 * float(r[3])) / 5)):
        s = {t: [pick(r) for r in rows if r[0] == w and r[1] == t] for t in ("qsd", "ours")}
        fmt = lambda x: f"{statistics.median(x):,.0f} [{min(x):,.0f}-{max(x):,.0f}]"
        print(f"{w:<16}{window:<10}{fmt(s['qsd']):>28}{fmt(s['ours']):>28}{statistics.median(s['ours']) / statistics.median(s['qsd']):>9.2f}x")
PY
  exit 0
fi

# Both images fully allocated in RAM, so reads hit real pages rather than holes.
declare -A pid_of
start_backend qsd "$work"
pid_of[qsd]=$daemon
start_backend ours "$work" "${iovirt[@]}"
pid_of[ours]=$daemon
taskset -c "$backend_cpu" "${iovirt[@]}" blk --socket "$work/null.sock" --engine null --ram "$size" --queues "$queues" --log-level warning >/dev/null \
  2>"$work/null.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/null.sock" ] && break; sleep 0.1; done
[ -S "$work/null.sock" ] || { echo "blk-vs-qsd: null did not listen" >&2; cat "$work/null.log" >&2; exit 1; }

workloads=("randread 4k 1" "randread 4k 32" "randwrite 4k 32" "read 128k 8")
[ "$backing" = rbd ] && workloads=("randread 4k 1" "randread 4k 32" "randwrite 4k 1" "randwrite 4k 32")
results="$work/results.tsv"
: > "$results"
window=$(awk -v r="$runtime" 'BEGIN {print (r > 2 ? r - 0.5 : r * 0.75)}')
echo "load generator ceiling (iovirt blk --engine null, one run each):"
for w in "${workloads[@]}"; do
  read -r rw bs depth <<<"$w"
  printf '  %-18s' "$w"
  taskset -c "$client_cpu" "${iovirt[@]}" bench-blk --socket "$work/null.sock" --rw "$rw" --bs "$bs" --iodepth "$depth" --queues "$queues" \
    --runtime "$runtime" --ramp 1 "${poll[@]}" | sed 's/^[^:]*: //'
done
echo
for w in "${workloads[@]}"; do
  read -r rw bs depth <<<"$w"
  for round in $(seq "$runs"); do
    order=(qsd ours)
    ((round % 2 == 0)) && order=(ours qsd)
    for target in "${order[@]}"; do
      # The back end's CPU time (user + system) and wake-ups over a window sampled beside the
      # generator: from the end of its 1 s ramp to a little before its end, since a back end's
      # session threads (and their io_uring workers) end with the connection, and their counts
      # with them.
      pid=${pid_of[$target]}
      (sleep 1
       date +%s.%N > "$work/window"
       cpu_ticks "$pid" > "$work/cpu.start"; thread_wakeups "$pid" > "$work/wake.start"
       uring_calls "$pid" "$window" > "$work/uring"
       cpu_ticks "$pid" > "$work/cpu.end"; thread_wakeups "$pid" > "$work/wake.end"
       date +%s.%N >> "$work/window") &
      sampler=$!
      json=$(taskset -c "$client_cpu" "${iovirt[@]}" bench-blk --socket "$work/$target.sock" \
        --rw "$rw" --bs "$bs" --iodepth "$depth" --queues "$queues" --runtime "$runtime" --ramp 1 "${poll[@]}" --json)
      wait "$sampler"
      cpu=$(( $(cat "$work/cpu.end") - $(cat "$work/cpu.start") ))
      seconds=$(awk 'NR == 1 {start = $1} NR == 2 {print $1 - start}' "$work/window")
      wake=$(awk 'NR == FNR {start[$1] = $2; next} {n += $2 - start[$1]} END {print n + 0}' "$work/wake.start" "$work/wake.end")
      python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("\t".join(map(str,[sys.argv[2],sys.argv[3],r["iops"],r["lat_us"]["p50"],r["lat_us"]["p99"],r["errors"],*sys.argv[4:]])))' \
        "$json" "$w" "$target" "$seconds" "$cpu" "$wake" $(cat "$work/uring") >> "$results"
    done
  done
done

python3 - "$results" "$runs" "$runtime" "$engine" "$(getconf CLK_TCK)" "$backing" "$queues" "$trace" "${SQPOLL:-none}" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
tick_us, trace = 1e6 / float(sys.argv[5]), sys.argv[8] == "1"
print(f"virtio-blk back ends on {sys.argv[6]} images, {sys.argv[2]} interleaved runs of {sys.argv[3]} s each (median, [min-max]); iovirt engine: {sys.argv[4]}; queues: {sys.argv[7]}; sqpoll: {sys.argv[9]}")
print(f"{'workload':<18}{'qsd IOPS':>32}{'iovirt IOPS':>32}{'ours/qsd':>10}{'qsd p50/p99 us':>18}{'ours p50/p99 us':>18}{'CPU us/IO qsd':>15}{'ours':>7}{'wake/IO qsd':>13}{'ours':>6}"
      + (f"{'req/enter qsd':>15}{'ours':>6}" if trace else ""))
for w in dict.fromkeys(r[0] for r in rows):
    s = {}
    for t in ("qsd", "ours"):
        rs = [r for r in rows if r[0] == w and r[1] == t]
        iops = [float(r[2]) for r in rs]
        ios = lambda r: float(r[2]) * float(r[6])  # I/Os in the sampled window, at the run's rate
        s[t] = (statistics.median(iops), min(iops), max(iops),
                statistics.median(float(r[3]) for r in rs), statistics.median(float(r[4]) for r in rs),
                sum(int(r[5]) for r in rs),
                statistics.median(float(r[7]) * tick_us / ios(r) for r in rs),
                statistics.median(float(r[8]) / ios(r) for r in rs),
                statistics.median(float(r[10]) / max(float(r[9]), 1) for r in rs))
    q, o = s["qsd"], s["ours"]
    fmt = lambda x: f"{x[0]:,.0f} [{x[1]:,.0f}-{x[2]:,.0f}]"
    print(f"{w:<18}{fmt(q):>32}{fmt(o):>32}{o[0]/q[0]:>9.2f}x{q[3]:>10.1f}/{q[4]:<7.1f}{o[3]:>10.1f}/{o[4]:<7.1f}{q[6]:>15.2f}{o[6]:>7.2f}{q[7]:>13.2f}{o[7]:>6.2f}"
          + (f"{q[8]:>15.1f}{o[8]:>6.1f}" if trace else ""))
    if q[5] or o[5]:
        print(f"  errors: qsd {q[5]}, ours {o[5]}")
PY
