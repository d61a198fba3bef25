#!/usr/bin/env bash
# Live migration of a busy guest, with our back ends and with QEMU's own devices, interleaved
# (the order alternates every round), RUNS rounds each. The guest (tests/guest/migration-load.sh)
# runs fio with verification and a read load on its disk and is pinged every 20 ms while QEMU
# migrates it between two QEMUs on this machine (tests/guest/migrate.py, max-bandwidth 1 GiB/s).
#   ours:  vhost-user-blk-pci on two `iovirt blk --share-rw` of one image, and virtio-net-pci on
#          vhost-user with two `iovirt net --tap` whose TAPs are ports of one bridge;
#   QEMU:  virtio-blk-pci on the same image (-drive, QEMU's default cache and AIO), and
#          virtio-net-pci on TAPs of the same bridge (-netdev tap), QEMU's built-in devices.
# Prints, per run, QEMU's total migration time and downtime and the longest wait between ping
# answers around the migration's completion, then
# the medians and ranges and the ratios ours/QEMU (below 1 is better for ours). Needs root (a
# network namespace, TAPs) and the test guest (tests/setup.sh).
#
# Environment: RUNS (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
bash tests/guest/build.sh --check >/dev/null
dotnet build -c Release -nologo -v q backends/IoVirt.Cli >/dev/null
iovirt=(dotnet "$PWD/backends/IoVirt.Cli/bin/Release/net10.0/iovirt.dll")

ns="iovirt-migbench-$$"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add 10.0.0.1/24 dev br0
ip -n "$ns" link set br0 up
truncate -s 64M "$work/disk.img"

enslave() { # enslave TAP: waits for the TAP to exist, then makes it a port of br0
  for _ in $(seq 200); do ip -n "$ns" link show "$1" >/dev/null 2>&1 && break; sleep 0.05; done
  ip -n "$ns" link set "$1" master br0
  ip -n "$ns" link set "$1" up
}

wait_socket() { for _ in $(seq 400); do [ -S "$1" ] && return; sleep 0.05; done; echo "migration: no socket $1" >&2; exit 1; }

# Our back ends, fresh for each round (as QEMU's devices are): a daemon kept from an earlier
# round would hand its guest the frames its TAP queued in between (see bench/README.md).
start_ours() {
  local side
  pids=()
  for side in src dst; do
    "${iovirt[@]}" blk --socket "$work/$side-blk.sock" --image "$work/disk.img" --share-rw >"$work/$side-blk.out" 2>"$work/$side-blk.log" &
    pids+=($!)
    ip netns exec "$ns" "${iovirt[@]}" net --socket "$work/$side-net.sock" --tap "tap-$side" >"$work/$side-net.out" 2>"$work/$side-net.log" &
    pids+=($!)
  done
  for side in src dst; do wait_socket "$work/$side-blk.sock"; wait_socket "$work/$side-net.sock"; enslave "tap-$side"; done
}

stop_ours() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

ours_args() { # ours_args SIDE
  echo "-chardev socket,id=blk0,path=$work/$1-blk.sock -device vhost-user-blk-pci,chardev=blk0" \
    "-chardev socket,id=c0,path=$work/$1-net.sock -netdev vhost-user,id=n0,chardev=c0" \
    "-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,vectors=0,romfile="
}

qemu_args() { # qemu_args SIDE
  echo "-drive file=$work/disk.img,format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0" \
    "-netdev tap,id=n0,ifname=qtap-$1,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,romfile="
}

results="$work/results"
: > "$results"
run_one() { # run_one ours|qemu ROUND
  local kind=$1 round=$2 src dst out="$work/$1-$2.out"
  if [ "$kind" = ours ]; then start_ours; src=$(ours_args src) dst=$(ours_args dst); else src=$(qemu_args src) dst=$(qemu_args dst); fi
  local enslaver=""
  if [ "$kind" = qemu ]; then (enslave qtap-src; enslave qtap-dst) & enslaver=$!; fi
  ip netns exec "$ns" ping -D -n -i 0.02 10.0.0.2 > "$work/ping.log" 2>&1 &
  local ping=$!
  local status=0
  ip netns exec "$ns" python3 tests/guest/migrate.py --script tests/guest/migration-load.sh \
    --source "$src" --destination "$dst" > "$out" 2>&1 || status=$?
  kill "$ping"; wait "$ping" 2>/dev/null || true
  [ -z "$enslaver" ] || wait "$enslaver" || true
  [ "$kind" != ours ] || stop_ours
  local line
  line=$(grep '^IOVIRT-MIGRATION ' "$out" | tail -n 1)
  if [ "$status" != 0 ] || ! grep -q "FIO-STATUS 0" "$out"; then
    echo "migration: $kind round $round failed (status $status); its output: $out" >&2
    cp "$out" "/tmp/iovirt-migration-$kind-$round.out"
    exit 1
  fi
  # The silence: the longest wait between two answers (by arrival) within 5 s of the migration's
  # completion; with no answer after it, the run failed.
  python3 - "$kind" "$work/ping.log" "$line" >> "$results" <<'EOF'
import json, re, sys
kind, log, line = sys.argv[1], sys.argv[2], sys.argv[3]
figures = json.loads(line.split(" ", 1)[1])
completed = figures["completedUnixMs"] / 1000
arrivals = sorted(float(m.group(1)) for m in re.finditer(r"\[([0-9.]+)\] \d+ bytes from", open(log).read()))
if not any(at > completed for at in arrivals):
    sys.exit(f"migration: {kind}: no ping answered after the migration")
pairs = [(a, b) for a, b in zip(arrivals, arrivals[1:]) if b >= completed - 5 and a <= completed + 5]
silence = round(max(b - a for a, b in pairs) * 1000)
print(kind, figures["totalMs"], figures["downtimeMs"], silence)
EOF
  tail -n 1 "$results" | awk '{ printf "%-5s total %5d ms  downtime %4d ms  ping silence %5d ms\n", $1, $2, $3, $4 }'
}

for round in $(seq "$runs"); do
  if ((round % 2)); then run_one ours "$round"; run_one qemu "$round"; else run_one qemu "$round"; run_one ours "$round"; fi
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def column(kind, index):
    return [int(row[index]) for row in rows if row[0] == kind]
print()
print(f"{'':18} {'ours (median, range)':>24} {'QEMU (median, range)':>24} {'ours/QEMU':>10}")
for name, index in (("total time, ms", 1), ("downtime, ms", 2), ("ping silence, ms", 3)):
    ours, qemu = column("ours", index), column("qemu", index)
    mo, mq = statistics.median(ours), statistics.median(qemu)
    ratio = f"{mo / mq:.2f}" if mq else "n/a"
    print(f"{name:18} {mo:>8.0f} ({min(ours)}-{max(ours)}){'':>6} {mq:>8.0f} ({min(qemu)}-{max(qemu)}){'':>6} {ratio:>10}")
EOF
