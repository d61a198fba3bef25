#!/usr/bin/env bash
# virtio-net back ends side by side at 64-byte packet rates: DPDK's own vhost-user back end
# (dpdk-testpmd --vdev net_vhost0) and `iovirt net`, both driven by the same front end, testpmd's
# virtio_user (what a DPDK application in a guest or container uses), interleaved (the order
# alternates every round), RUNS rounds per direction, each back end started afresh per run:
#   A  front end txonly -> back end consumes   (DPDK: rxonly;  ours: --mode sink)
#   B  back end produces -> front end rxonly   (DPDK: txonly;  ours: --mode source --frame-size 64)
#   C  ping-pong: the front end forwards (io) what comes back after one first burst (--tx-first),
#      the back end sends back what it gets            (DPDK: io;      ours: --mode echo)
# The rate is read from the front end's cumulative counters, which testpmd prints every second:
# each line is time-stamped as it arrives; the rate is the difference between the first sample
# WARMUP seconds after traffic started and the first one RUNTIME seconds later, over the time
# between them. Prints each run, then each direction's median, [min-max] and ratio ours/DPDK, and
# each back end's CPU time per packet (user plus system, /proc/PID/stat) over the same window.
#
# Environment: RUNS (default 5), RUNTIME seconds measured per run (default 20), WARMUP seconds
# (default 2), BACKEND_CPU / FRONTEND_CPU (defaults 1 and 0: each side on its own core),
# BUSY_POLL for `iovirt net --busy-poll` in µs (default: its own default), DIRECTIONS (default
# "A B C"), PACKED=1 for packed rings (virtio_user's packed_vq=1) instead of split ones.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
runtime=${RUNTIME:-20}
warmup=${WARMUP:-2}
backend_cpu=${BACKEND_CPU:-1}
frontend_cpu=${FRONTEND_CPU:-0}
directions=${DIRECTIONS:-A B C}
busy_poll=()
[ -n "${BUSY_POLL:-}" ] && busy_poll=(--busy-poll "$BUSY_POLL")
packed=""
[ "${PACKED:-0}" = 1 ] && packed=",packed_vq=1"

# Debian ships dpdk-testpmd in dpdk-dev, not in the runtime package dpdk.
if ! command -v dpdk-testpmd >/dev/null; then
  echo "net-vs-dpdk: installing dpdk-dev (dpdk-testpmd)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=300 dpdk-dev >/dev/null
fi

dotnet build -c Release -nologo -v q backends/IoVirt.Cli >/dev/null
iovirt=(dotnet backends/IoVirt.Cli/bin/Release/net10.0/iovirt.dll)

work=$(mktemp -d /dev/shm/iovirt-net-bench-XXXXXX)
prefix=iovirt-bench-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" /var/run/dpdk/"$prefix"-*
}
trap cleanup EXIT

# testpmd without hugepages or PCI devices, its two lcores (main, forwarding) on one CPU, its own
# runtime directory so that two can run at once, counters every second (which also keeps it
# running without a terminal), nothing dropped from its rx rings when forwarding starts.
testpmd() {
  local cpu=$1 name=$2 vdev=$3 mode=$4
  shift 4
  # exec: started with &, the function runs in a subshell; this way $! is testpmd itself.
  exec taskset -c "$cpu" dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix="$prefix-$name" \
    --lcores "0@$cpu,1@$cpu" --vdev "$vdev" -- --forward-mode="$mode" --burst=32 --txpkts=64 \
    --stats-period=1 --total-num-mbufs=32768 --no-flush-rx "$@"
}

# Each line prefixed with the monotonic time it arrived.
stamp() { python3 -u -c 'import sys, time
for line in sys.stdin: sys.stdout.write(f"{time.monotonic():.6f} {line}")'; }

# Every 0.2 s until process $1 ends: the monotonic time and its user plus system time so far in
# clock ticks (/proc/PID/stat fields 14 and 15, after the parenthesised command name).
cpu_samples() { python3 -u - "$1" <<'PY'
import sys, time
path = f"/proc/{sys.argv[1]}/stat"
while True:
    try:
        fields = open(path).read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        break
    print(f"{time.monotonic():.6f} {int(fields[11]) + int(fields[12])}")
    time.sleep(0.2)
PY
}

# Stops a process with a signal and waits for it (it is a child of this shell).
stop() {
  kill -"$1" "$2" 2>/dev/null || true
  wait "$2" 2>/dev/null || true
  local rest=() p
  for p in "${pids[@]}"; do [ "$p" = "$2" ] || rest+=("$p"); done
  pids=("${rest[@]}")
}

run_once() {
  local direction=$1 target=$2 run=$3
  local socket="$work/$target.sock" tag="$direction-$target-$run"
  local backend_mode frontend_mode counter backend frontend_first=()
  case $direction in
    A) frontend_mode=txonly; counter=TX ;;
    B) frontend_mode=rxonly; counter=RX ;;
    C) frontend_mode=io; counter=RX; frontend_first=(--tx-first) ;;
  esac
  rm -f "$socket"
  if [ "$target" = dpdk ]; then
    case $direction in A) backend_mode=rxonly ;; B) backend_mode=txonly ;; C) backend_mode=io ;; esac
    testpmd "$backend_cpu" "be-$tag" "net_vhost0,iface=$socket,queues=1" "$backend_mode" \
      </dev/null >"$work/be-$tag.log" 2>&1 &
    backend=$!
  else
    case $direction in
      A) backend_mode=(--mode sink) ;;
      B) backend_mode=(--mode source --frame-size 64) ;;
      C) backend_mode=(--mode echo) ;;
    esac
    taskset -c "$backend_cpu" "${iovirt[@]}" net --socket "$socket" "${backend_mode[@]}" "${busy_poll[@]}" \
      >"$work/be-$tag.json" 2>"$work/be-$tag.log" &
    backend=$!
  fi
  pids+=("$backend")
  cpu_samples "$backend" >"$work/cpu-$tag.log" &
  for _ in $(seq 200); do [ -S "$socket" ] && break; sleep 0.05; done
  [ -S "$socket" ] || { echo "net-vs-dpdk: $target did not listen" >&2; cat "$work/be-$tag.log" >&2; exit 1; }
  # iovirt logs "listening on" once it accepts; testpmd's socket exists only once it listens.
  if [ "$target" = ours ]; then
    for _ in $(seq 200); do grep -q "listening on" "$work/be-$tag.log" && break; sleep 0.05; done
  fi

  testpmd "$frontend_cpu" "fe-$tag" "net_virtio_user0,path=$socket,queues=1,queue_size=256$packed" "$frontend_mode" "${frontend_first[@]}" \
    </dev/null > >(stamp >"$work/fe-$tag.log") 2>"$work/fe-$tag.err" &
  local frontend=$!
  pids+=("$frontend")
  # Start-up and first traffic (2-3 s), warm-up, the window, a second or two for the closing sample.
  sleep "$((warmup + runtime + 6))"
  stop INT "$frontend"
  if [ "$target" = dpdk ]; then stop INT "$backend"; else stop TERM "$backend"; fi

  local rate cpu
  read -r rate cpu < <(python3 - "$work/fe-$tag.log" "$counter" "$warmup" "$runtime" "$work/cpu-$tag.log" "$(getconf CLK_TCK)" <<'PY'
import re, sys
log, counter, warmup, runtime = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
cpu_log, ticks_per_second = sys.argv[5], float(sys.argv[6])
# Periodic blocks: "RX-packets: N  RX-missed: ..." and "TX-packets: N  TX-errors: ..." (cumulative).
pattern = re.compile(r"^(\S+)\s+%s-packets:\s*(\d+)\s+%s-" % (counter, counter))
samples = [(float(m[1]), int(m[2])) for m in map(pattern.match, open(log)) if m]
moving = [s for s in samples if s[1] > 0]
if not moving:
    sys.exit("no traffic")
start = next((s for s in samples if s[0] >= moving[0][0] + warmup), None)
end = start and next((s for s in samples if s[0] >= start[0] + runtime), None)
if end is None:
    sys.exit("too few samples")
# The back end's CPU time over the same window, each end interpolated between its two samples.
cpu = [tuple(map(float, line.split())) for line in open(cpu_log)]
def ticks_at(t):
    before = max((c for c in cpu if c[0] <= t), default=None)
    after = min((c for c in cpu if c[0] >= t), default=None)
    if before is None or after is None:
        sys.exit("no CPU samples around the window")
    span = after[0] - before[0]
    return before[1] if span == 0 else before[1] + (after[1] - before[1]) * (t - before[0]) / span
packets = end[1] - start[1]
cpu_ns = (ticks_at(end[0]) - ticks_at(start[0])) / ticks_per_second * 1e9
print(f"{packets / (end[0] - start[0]):.0f} {cpu_ns / packets:.1f}")
PY
  ) && [ -n "$cpu" ] || { echo "net-vs-dpdk: run $tag measured nothing" >&2; tail -20 "$work/fe-$tag.log" "$work/fe-$tag.err" "$work/be-$tag.log" >&2; exit 1; }
  rm -rf /var/run/dpdk/"$prefix-fe-$tag" /var/run/dpdk/"$prefix-be-$tag"
  printf '%s\t%s\t%s\t%s\n' "$direction" "$target" "$rate" "$cpu" >>"$results"
  awk -v d="$direction" -v t="$target" -v n="$run" -v r="$rate" -v c="$cpu" 'BEGIN { printf "  %s %-5s run %d: %6.3f Mpps, back end %6.1f ns CPU per packet\n", d, t, n, r / 1e6, c }'
}

results="$work/results.tsv"
: >"$results"
echo "64-byte frames, front end on CPU $frontend_cpu, back end on CPU $backend_cpu, $runs runs of ${runtime} s after ${warmup} s"
for direction in $directions; do
  for run in $(seq "$runs"); do
    order=(dpdk ours)
    ((run % 2 == 0)) && order=(ours dpdk)
    for target in "${order[@]}"; do run_once "$direction" "$target" "$run"; done
  done
done

python3 - "$results" "$runs" "$runtime" $directions <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
print(f"\nvirtio-net back ends, 64-byte frames, {sys.argv[2]} interleaved runs of {sys.argv[3]} s each (Mpps, median [min-max])")
print(f"{'direction':<44}{'DPDK net_vhost':>24}{'iovirt net':>24}{'ours/DPDK':>11}{'CPU ns/packet DPDK':>20}{'ours':>8}")
names = {"A": "A: front end txonly -> back end consumes", "B": "B: back end produces -> front end rxonly",
         "C": "C: ping-pong, one burst bounced (io / echo)"}
for d in sys.argv[4:]:
    r = {t: [float(x[2]) / 1e6 for x in rows if x[0] == d and x[1] == t] for t in ("dpdk", "ours")}
    c = {t: statistics.median(float(x[3]) for x in rows if x[0] == d and x[1] == t) for t in ("dpdk", "ours")}
    fmt = lambda v: f"{statistics.median(v):.2f} [{min(v):.2f}-{max(v):.2f}]"
    print(f"{names[d]:<44}{fmt(r['dpdk']):>24}{fmt(r['ours']):>24}{statistics.median(r['ours']) / statistics.median(r['dpdk']):>10.2f}x{c['dpdk']:>20.1f}{c['ours']:>8.1f}")
print("(CPU: the back end's user plus system time over the measured window, per packet; median of the runs)")
PY
