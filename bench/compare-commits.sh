#!/usr/bin/env bash
# Whether a change moved the vhost-user data path: builds two commits (Release, each in a
# temporary worktree) and drives a fresh `iovirt blk` of each with `iovirt bench-blk`,
# interleaved (the order alternates every round), RUNS rounds per workload. Workloads: 4k random
# reads from a RAM disk with the null engine (no I/O: the path is all rings, kicks, calls and
# epoll) at queue depth 1 and 32, and io_uring on a tmpfs image at depth 32. Prints each
# workload's median and range of IOPS for both commits and the ratio new/old.
# Usage: bench/compare-commits.sh OLD NEW (any git revisions; NEW defaults to HEAD).
# Environment: RUNS (default 5), RUNTIME seconds per run (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."

old=${1:?usage: bench/compare-commits.sh OLD [NEW]}
new=${2:-HEAD}
runs=${RUNS:-5}
runtime=${RUNTIME:-5}

work=$(mktemp -d /dev/shm/iovirt-compare-XXXXXX)
daemon=
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null || true
  wait 2>/dev/null || true
  for tree in "$work/old" "$work/new"; do
    [ -d "$tree" ] && git worktree remove --force "$tree" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

for side in old new; do
  git worktree add -q --detach "$work/$side" "${!side}"
  dotnet build -c Release -nologo -v q "$work/$side/backends/IoVirt.Cli" >/dev/null
done
truncate -s 256M "$work/disk.img"

# One run: a fresh daemon of one side (so a fresh process is measured too), one bench-blk, the IOPS.
run() {
  local side=$1 engine=$2 depth=$3
  local iovirt=(dotnet "$work/$side/backends/IoVirt.Cli/bin/Release/net10.0/iovirt.dll")
  rm -f "$work/blk.sock"
  "${iovirt[@]}" blk --socket "$work/blk.sock" --image "$work/disk.img" --engine "$engine" --sandbox none 2>"$work/daemon.log" >/dev/null &
  daemon=$!
  until [ -S "$work/blk.sock" ] && grep -q "listening on" "$work/daemon.log"; do sleep 0.05; done
  "${iovirt[@]}" bench-blk --socket "$work/blk.sock" --rw randread --bs 4k --iodepth "$depth" --runtime "$runtime" --ramp 1 --json |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["iops"]))'
  kill "$daemon"; wait "$daemon" || true
  daemon=
}

stats() { python3 -c 'import statistics,sys; v=sorted(map(float,sys.argv[1:])); print(f"{statistics.median(v):.0f} ({v[0]:.0f}-{v[-1]:.0f})")' "$@"; }
median() { python3 -c 'import statistics,sys; print(statistics.median(map(float,sys.argv[1:])))' "$@"; }

echo "old: $(git rev-parse --short "$old"), new: $(git rev-parse --short "$new"), $runs rounds of ${runtime}s"
printf '%-26s %-24s %-24s %s\n' workload "old: median (range)" "new: median (range)" "new/old"
for workload in "null 1" "null 32" "uring 32"; do
  read -r engine depth <<<"$workload"
  olds=(); news=()
  for ((i = 0; i < runs; i++)); do
    if ((i % 2 == 0)); then
      olds+=("$(run old "$engine" "$depth")"); news+=("$(run new "$engine" "$depth")")
    else
      news+=("$(run new "$engine" "$depth")"); olds+=("$(run old "$engine" "$depth")")
    fi
  done
  ratio=$(python3 -c "print(f'{$(median "${news[@]}") / $(median "${olds[@]}"):.3f}')")
  printf '%-26s %-24s %-24s %s\n' "QD$depth 4k randread $engine" "$(stats "${olds[@]}")" "$(stats "${news[@]}")" "$ratio"
done
