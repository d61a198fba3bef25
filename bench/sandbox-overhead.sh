#!/usr/bin/env bash
# What the sandbox costs on the data path: `iovirt blk` with `--sandbox none` (the baseline) and
# with the default namespace sandbox (seccomp filter on every system call), interleaved (the
# order alternates every round), RUNS rounds per workload, driven by `iovirt bench-blk`.
# Workloads: QD1 4k random reads from a RAM disk with the null engine (no I/O: the path is all
# kicks, calls and epoll, the most system calls per request) and with io_uring on a tmpfs image.
# Prints each workload's median and range of IOPS for both, and the ratio sandboxed/none.
# Must run as root (the namespace sandbox needs it). Environment: RUNS (default 5), RUNTIME
# seconds per run (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
runtime=${RUNTIME:-5}
[ "$(id -u)" -eq 0 ] || { echo "sandbox-overhead: run as root (the namespace sandbox needs it)" >&2; exit 1; }

dotnet build -c Release -nologo -v q backends/IoVirt.Cli >/dev/null
iovirt=(dotnet backends/IoVirt.Cli/bin/Release/net10.0/iovirt.dll)

work=$(mktemp -d /dev/shm/iovirt-sandbox-XXXXXX)
daemon=
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
truncate -s 256M "$work/disk.img"

# One run: a fresh daemon (so a fresh process is measured too), one bench-blk, the IOPS.
run() {
  local sandbox=$1 engine=$2 image=$3
  rm -f "$work/blk.sock"
  "${iovirt[@]}" blk --socket "$work/blk.sock" --image "$image" --engine "$engine" --sandbox "$sandbox" 2>"$work/daemon.log" >/dev/null &
  daemon=$!
  until [ -S "$work/blk.sock" ] && grep -q "listening on" "$work/daemon.log"; do sleep 0.05; done
  "${iovirt[@]}" bench-blk --socket "$work/blk.sock" --rw randread --bs 4k --iodepth 1 --runtime "$runtime" --ramp 1 --json |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["iops"]))'
  kill "$daemon"; wait "$daemon" || true
  daemon=
}

stats() { python3 -c 'import statistics,sys; v=sorted(map(float,sys.argv[1:])); print(f"{statistics.median(v):.0f} ({v[0]:.0f}-{v[-1]:.0f})")' "$@"; }
median() { python3 -c 'import statistics,sys; print(statistics.median(map(float,sys.argv[1:])))' "$@"; }

printf '%-22s %-24s %-24s %s\n' workload "none: median (range)" "namespace: median (range)" "ratio"
for engine in null uring; do
  none=(); boxed=()
  for ((i = 0; i < runs; i++)); do
    if ((i % 2 == 0)); then
      none+=("$(run none "$engine" "$work/disk.img")"); boxed+=("$(run namespace "$engine" "$work/disk.img")")
    else
      boxed+=("$(run namespace "$engine" "$work/disk.img")"); none+=("$(run none "$engine" "$work/disk.img")")
    fi
  done
  ratio=$(python3 -c "print(f'{$(median "${boxed[@]}") / $(median "${none[@]}"):.3f}')")
  printf '%-22s %-24s %-24s %s\n' "QD1 4k randread $engine" "$(stats "${none[@]}")" "$(stats "${boxed[@]}")" "$ratio"
done
