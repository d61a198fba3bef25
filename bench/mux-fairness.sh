#!/usr/bin/env bash
# The arbitration layer on the real data path: `iovirt mux` shares one image among several
# `iovirt bench-blk` clients (VM-free vhost-user-blk front ends), and this prints how the
# device was shared:
#   overhead     one client alone, QD32 4k randread, on `iovirt blk` and on a one-disk mux:
#                IOPS, and each daemon's CPU time per I/O (user plus system, /proc/PID/stat)
#   equal        4 clients of weight 1, QD32 each: IOPS per client and Jain's index
#   weights      3 clients of weights 1:2:4, QD32 each: shares against 1/7, 2/7, 4/7
#   reservation  a client reserving RESERVE IOPS at QD4 next to two QD32 clients of weight 4
#   limit        a client limited to LIMIT IOPS at QD32 next to a QD32 client
#   victim       a QD1 4k randread client alone, then next to a QD128 4k randwrite client:
#                its p99 against its solo p99, and the writer's IOPS against the writer alone
#                minus what the victim took (its share of the spare capacity)
# The image is a file in DIR (default /var/tmp, a real disk) opened with O_DIRECT, so requests
# meet the device rather than the page cache; every volume is written in full first, so reads
# hit data rather than holes. Costs are in 4 KiB random reads (the unit the config's IOPS are in).
#
# Environment: DIR, RUNTIME seconds per measurement (default 8), RESERVE (default 8000),
# LIMIT (default 3000), TOLERANCE (the config's latencyTolerance, default 0.25), DIRECT=0 to go
# through the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${DIR:-/var/tmp}
runtime=${RUNTIME:-8}
reserve=${RESERVE:-8000}
limit=${LIMIT:-3000}
direct=$([ "${DIRECT:-1}" = 1 ] && echo true || echo false)
tolerance=${TOLERANCE:-0.25}

dotnet build -c Release -nologo -v q backends/IoVirt.Cli >/dev/null
work=$(mktemp -d "$dir/iovirt-mux-bench-XXXXXX")
trap 'pkill -f "$work" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

python3 - "$work" "$runtime" "$reserve" "$limit" "$direct" "$tolerance" <<'PY'
import json, os, signal, statistics, subprocess, sys, time

work, runtime, reserve, limit, direct, tolerance = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "true", float(sys.argv[6])
iovirt = ["dotnet", "backends/IoVirt.Cli/bin/Release/net10.0/iovirt.dll"]
size = "256M"
image = os.path.join(work, "shared.img")
subprocess.run(["truncate", "-s", "2G", image], check=True)

def sock(name): return os.path.join(work, name + ".sock")

def wait_for(paths, process, log):
    for _ in range(200):
        if all(os.path.exists(p) for p in paths): return
        if process.poll() is not None: break
        time.sleep(0.05)
    sys.exit(f"mux-fairness: the back end did not listen:\n{open(log).read()}")

def mux(disks, capacity=200000):
    config = os.path.join(work, "mux.json")
    json.dump({"image": image, "direct": direct, "capacityIops": capacity, "latencyTolerance": tolerance,
               "disks": [dict(name=n, socket=sock(n), size=size, **spec) for n, spec in disks]}, open(config, "w"))
    log = os.path.join(work, "mux.log")
    p = subprocess.Popen(iovirt + ["mux", "--config", config, "--log-level", "warning"], stderr=open(log, "w"))
    wait_for([sock(n) for n, _ in disks], p, log)
    return p

def blk():
    log = os.path.join(work, "blk.log")
    args = ["blk", "--socket", sock("solo"), "--image", image, "--log-level", "warning"] + (["--direct"] if direct else [])
    p = subprocess.Popen(iovirt + args, stderr=open(log, "w"))
    wait_for([sock("solo")], p, log)
    return p

def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)

def cpu_seconds(pid):
    """User plus system time of process pid so far (/proc/PID/stat fields 14 and 15)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def bench(clients, seconds=runtime, daemon=None):
    """Runs one bench-blk per (socket, rw, bs, depth) at once; their JSON results in order. With
    a daemon, also the CPU time it took per I/O over the measured window (after the 1 s ramp)."""
    procs = [subprocess.Popen(iovirt + ["bench-blk", "--socket", s, "--rw", rw, "--bs", bs, "--iodepth", str(d),
                                        "--runtime", str(seconds), "--ramp", "1", "--size", size, "--json"],
                              stdout=subprocess.PIPE, text=True) for s, rw, bs, d in clients]
    if daemon is not None:
        time.sleep(1)
        start = cpu_seconds(daemon.pid)
        time.sleep(seconds)
        used = cpu_seconds(daemon.pid) - start
    out = [json.loads(p.communicate(timeout=seconds + 60)[0]) for p in procs]
    for r in out:
        if r["errors"]: sys.exit(f"mux-fairness: {r['errors']} requests failed")
    if daemon is not None:
        return out, used * 1e6 / (sum(r["iops"] for r in out) * seconds)
    return out

def jain(xs): return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))

names = ["a", "b", "c", "d", "v", "w"]
p = mux([(n, {}) for n in names])
bench([(sock(n), "write", "1M", 4) for n in names], seconds=max(3, runtime / 2))  # fill every volume
stop(p)

rows = []
def row(test, measured, goal, met): rows.append((test, measured, goal, "yes" if met else "NO"))

p = blk(); r, solo_cpu = bench([(sock("solo"), "randread", "4k", 32)], daemon=p); solo = r[0]["iops"]; stop(p)
p = mux([("a", {})]); r, ours_cpu = bench([(sock("a"), "randread", "4k", 32)], daemon=p); ours = r[0]["iops"]; stop(p)
row("overhead: one client, mux vs blk", f"{ours:,.0f} vs {solo:,.0f} IOPS ({ours / solo:.3f}x); CPU {ours_cpu:.2f} vs {solo_cpu:.2f} us per I/O", ">= 0.95x", ours >= 0.95 * solo)

p = mux([(n, {}) for n in "abcd"]); r = bench([(sock(n), "randread", "4k", 32) for n in "abcd"]); stop(p)
iops = [x["iops"] for x in r]
row("equal: 4 clients, weight 1", " / ".join(f"{x:,.0f}" for x in iops) + f" IOPS, Jain {jain(iops):.4f}", "Jain >= 0.99", jain(iops) >= 0.99)

p = mux([("a", {"weight": 1}), ("b", {"weight": 2}), ("c", {"weight": 4})]); r = bench([(sock(n), "randread", "4k", 32) for n in "abc"]); stop(p)
total = sum(x["iops"] for x in r)
shares = [x["iops"] / total for x in r]
worst = max(abs(s - w / 7) / (w / 7) for s, w in zip(shares, (1, 2, 4)))
row("weights 1:2:4", " / ".join(f"{s:.3f}" for s in shares) + f" (worst {worst:+.1%} off)", "each within 5%", worst <= 0.05)

p = mux([("a", {"reservationIops": reserve}), ("b", {"weight": 4}), ("c", {"weight": 4})])
r = bench([(sock("a"), "randread", "4k", 4), (sock("b"), "randread", "4k", 32), (sock("c"), "randread", "4k", 32)]); stop(p)
row(f"reservation {reserve:,} IOPS at QD4", f"{r[0]['iops']:,.0f} IOPS (others {r[1]['iops']:,.0f}, {r[2]['iops']:,.0f})", f">= {reserve:,}", r[0]["iops"] >= reserve)

p = mux([("a", {"limitIops": limit}), ("b", {})]); r = bench([(sock("a"), "randread", "4k", 32), (sock("b"), "randread", "4k", 32)]); stop(p)
row(f"limit {limit:,} IOPS at QD32", f"{r[0]['iops']:,.0f} IOPS (other {r[1]['iops']:,.0f})", f"<= {limit * 1.02:,.0f}", r[0]["iops"] <= limit * 1.02)

p = mux([("v", {}), ("w", {})])
victim_solo = bench([(sock("v"), "randread", "4k", 1)])[0]
writer_solo = bench([(sock("w"), "randwrite", "4k", 128)])[0]
victim, writer = bench([(sock("v"), "randread", "4k", 1), (sock("w"), "randwrite", "4k", 128)])
stop(p)
ratio = victim["lat_us"]["p99"] / victim_solo["lat_us"]["p99"]
row("victim QD1 randread p99 next to QD128 writer", f"{victim['lat_us']['p99']:,.0f} vs {victim_solo['lat_us']['p99']:,.0f} us solo ({ratio:.2f}x)", "<= 1.25x", ratio <= 1.25)
spare = writer_solo["iops"] - victim["iops"]
row("writer's part of the spare capacity", f"{writer['iops']:,.0f} of {spare:,.0f} IOPS ({writer['iops'] / spare:.0%}; writer alone {writer_solo['iops']:,.0f})", ">= 80%", writer["iops"] >= 0.8 * spare)

print(f"iovirt mux on {'O_DIRECT ' if direct else ''}{image}, latencyTolerance {tolerance:g} ({runtime:g} s per measurement)")
width = max(len(r[0]) for r in rows)
mwidth = max(len(r[1]) for r in rows)
print(f"{'test':<{width}}  {'measured':<{mwidth}}  {'goal':<14} met")
for t, m, g, ok in rows:
    print(f"{t:<{width}}  {m:<{mwidth}}  {g:<14} {ok}")
PY
