#!/usr/bin/env bash
# virtio-gpu back ends side by side: QEMU's own (/usr/lib/qemu/vhost-user-gpu, Debian's
# qemu-system-gui) and `iovirt gpu`, both driven by `iovirt bench-gpu`, the same VM-free guest
# driver and VMM display: a WIDTHxHEIGHT B8G8R8X8 frame, TRANSFER_TO_HOST_2D plus
# RESOURCE_FLUSH, counted once the display's UPDATE shows it. Every run starts both back ends
# afresh (QEMU's ends with its front end anyway; ours is the native `iovirt`, publish-aot.sh),
# RUNS interleaved rounds (the order alternates). Prints the median and range of frames per
# second, the ratio ours/QEMU, median latencies of the transfer, the flush and the whole frame,
# and each back end's CPU time per frame (user plus system, /proc/PID/stat, over the measured
# window).
#
# Environment: RUNS (default 5), RUNTIME measured seconds per run after a 1 s ramp (default 5),
# WIDTH and HEIGHT (default 1280x800), BACKEND_CPU / CLIENT_CPU (defaults 1 and 0: the back end
# and the driver on a core each).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
runtime=${RUNTIME:-5}
width=${WIDTH:-1280}
height=${HEIGHT:-800}
backend_cpu=${BACKEND_CPU:-1}
client_cpu=${CLIENT_CPU:-0}
qemu_gpu=/usr/lib/qemu/vhost-user-gpu

if [ ! -x "$qemu_gpu" ]; then
  echo "gpu-vs-qemu: installing qemu-system-gui ($qemu_gpu)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq qemu-system-gui >/dev/null
fi

bash backends/IoVirt.Cli/publish-aot.sh >/dev/null
native=backends/IoVirt.Cli/bin/aot/iovirt

work=$(mktemp -d)
backend=""
cleanup() {
  [ -n "$backend" ] && kill "$backend" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# User plus system time of process $1 so far, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() {
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# Waits until back end $2 listens on Unix socket $1. Ours binds PATH.new and renames it into
# place once it listens (from its own network namespace, which /proc/net/unix here does not
# show), so the file is enough. QEMU's binds PATH itself: /proc/net/unix must show it with
# __SO_ACCEPTCON (flags 00010000); a probing connection would end it, as it serves one.
wait_listening() {
  for _ in $(seq 200); do
    if [ "$2" = ours ]; then
      [ -S "$1" ] && return 0
    else
      awk -v p="$1" '$NF == p && $4 == "00010000" {found = 1} END {exit !found}' /proc/net/unix && return 0
    fi
    sleep 0.05
  done
  echo "gpu-vs-qemu: nothing listened on $1" >&2
  exit 1
}

results="$work/results.tsv"
for round in $(seq "$runs"); do
  order=(qemu ours)
  ((round % 2 == 0)) && order=(ours qemu)
  for target in "${order[@]}"; do
    socket="$work/$target.sock"
    rm -f "$socket"
    if [ "$target" = qemu ]; then
      taskset -c "$backend_cpu" "$qemu_gpu" --socket-path "$socket" >/dev/null 2>&1 &
    else
      taskset -c "$backend_cpu" "$native" gpu --socket "$socket" --log-level warning >/dev/null 2>&1 &
    fi
    backend=$!
    wait_listening "$socket" "$target"
    (sleep 1; cpu_ticks "$backend" > "$work/cpu.start"; sleep "$runtime"; cpu_ticks "$backend" > "$work/cpu.end") &
    sampler=$!
    json=$(taskset -c "$client_cpu" "$native" bench-gpu --socket "$socket" --width "$width" --height "$height" \
      --runtime "$runtime" --ramp 1 --json)
    wait "$sampler"
    cpu=$(( $(cat "$work/cpu.end") - $(cat "$work/cpu.start") ))
    kill "$backend" 2>/dev/null || true
    wait "$backend" 2>/dev/null || true
    backend=""
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("\t".join(map(str,[sys.argv[2],r["fps"],r["frames"],r["transferUs"]["p50"],r["flushUs"]["p50"],r["frameUs"]["p50"],r["frameUs"]["p99"],sys.argv[3]])))' \
      "$json" "$target" "$cpu" >> "$results"
  done
done

python3 - "$results" "$runs" "$runtime" "$(getconf CLK_TCK)" "${width}x${height}" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
tick_us = 1e6 / float(sys.argv[4])
print(f"virtio-gpu 2D back ends, {sys.argv[5]} frames, fresh processes, {sys.argv[2]} interleaved runs of {sys.argv[3]} s each (median, [min-max])")
print(f"{'back end':<10}{'frames/s':>26}{'transfer p50 us':>17}{'flush p50 us':>14}{'frame p50/p99 us':>19}{'CPU us/frame':>14}")
s = {}
for t in ("qemu", "ours"):
    rs = [r for r in rows if r[0] == t]
    fps = [float(r[1]) for r in rs]
    s[t] = statistics.median(fps)
    med = lambda i: statistics.median(float(r[i]) for r in rs)
    cpu = statistics.median(float(r[7]) * tick_us / float(r[2]) for r in rs)
    print(f"{t:<10}{f'{s[t]:,.0f} [{min(fps):,.0f}-{max(fps):,.0f}]':>26}{med(3):>17.0f}{med(4):>14.0f}{f'{med(5):.0f}/{med(6):.0f}':>19}{cpu:>14.0f}")
print(f"ours/qemu: {s['ours'] / s['qemu']:.2f}x frames per second")
PY
