"""The chaos soak driven by bench/soak.sh: one `iovirt mux`, clients coming and going at random.

Arguments: WORK NETNS IOVIRT_DLL. Environment: SOAK_S, SOAK_SEED, SOAK_QEMU (see soak.sh).
"""
import concurrent.futures
import json
import os
import random
import signal
import subprocess
import sys
import time

from vhost_user_chaos import malformed_session, silent_session

work, netns, iovirt_dll = sys.argv[1], sys.argv[2], sys.argv[3]
duration = float(os.environ.get("SOAK_S", "600"))
seed = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
use_qemu = os.environ.get("SOAK_QEMU", "1") == "1"
rng = random.Random(seed)
iovirt = ["dotnet", iovirt_dll]

DISK_MB = 64
VERIFIED_DISKS = ["d0", "d1"]      # only verifying clients write there
OPEN_DISKS = ["d2", "d3"]          # malformed, silent and QEMU clients
NICS = {"n0": "02:00:00:00:00:01", "n1": "02:00:00:00:00:02"}
FD_SLACK = 8                       # descriptors the runtime may keep beyond the cold start
RSS_SLACK_MB = 128                 # RSS beyond the high-water mark of the warm-up round

def sock(name):
    return os.path.join(work, name + ".sock")

def ip(*args):
    subprocess.run(["ip", "-n", netns, *args], check=True)

# ---------------------------------------------------------------- the daemon

subprocess.run(["ip", "netns", "add", netns], check=True)
ip("link", "set", "lo", "up")
image = os.path.join(work, "shared.img")
with open(image, "wb") as f:
    f.truncate(4 * DISK_MB << 20)
config = {
    "image": image,
    "capacityIops": 40000,
    "disks": [
        {"name": "d0", "socket": sock("d0"), "size": f"{DISK_MB}M", "limitIops": 4000},
        {"name": "d1", "socket": sock("d1"), "size": f"{DISK_MB}M", "weight": 2},
        {"name": "d2", "socket": sock("d2"), "size": f"{DISK_MB}M", "reservationIops": 2000},
        {"name": "d3", "socket": sock("d3"), "size": f"{DISK_MB}M", "weight": 1},
    ],
    "uplink": "up0",
    "nics": [{"name": n, "socket": sock(n), "mac": m} for n, m in NICS.items()],
}
with open(os.path.join(work, "mux.json"), "w") as f:
    json.dump(config, f)
mux_log = open(os.path.join(work, "mux.log"), "w")
mux = subprocess.Popen(["ip", "netns", "exec", netns, *iovirt, "mux", "--config", os.path.join(work, "mux.json")],
                       stdout=subprocess.PIPE, stderr=mux_log, text=True)
devices = [d["name"] for d in config["disks"]] + list(NICS)
deadline = time.time() + 60
while not all(os.path.exists(sock(d)) for d in devices):
    if mux.poll() is not None or time.time() > deadline:
        sys.exit("soak: the mux did not start:\n" + open(mux_log.name).read())
    time.sleep(0.05)
ip("link", "set", "up0", "up")

def usage():
    """Open descriptors and RSS (MiB) of the daemon."""
    fds = len(os.listdir(f"/proc/{mux.pid}/fd"))
    with open(f"/proc/{mux.pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    return fds, rss

def report():
    mux.send_signal(signal.SIGUSR1)
    return json.loads(mux.stdout.readline())

cold_fds, cold_rss = usage()

# ---------------------------------------------------------------- clients

class Client:
    """A running client: its kind, its device, its process (or a Python thread of work), its end."""
    def __init__(self, kind, device, process=None, kill_at=None, run=None):
        self.kind, self.device, self.process, self.kill_at, self.run = kind, device, process, kill_at, run
        self.killed = False
        self.hard = True

def bench_blk(disk, runtime, extra=()):
    return subprocess.Popen([*iovirt, "bench-blk", "--socket", sock(disk), "--verify", "--rw", "randrw",
                             "--iodepth", str(rng.choice([1, 4, 16, 32])), "--bs", rng.choice(["4k", "8k", "64k"]),
                             "--runtime", str(runtime), "--ramp", "0", "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def start_verify(disk):
    return Client("verify", disk, bench_blk(disk, rng.uniform(1, 4)))

def start_kill(disk):
    return Client("kill", disk, bench_blk(disk, 60), kill_at=time.time() + rng.uniform(0.5, 2.5))

def start_testpmd(nic):
    other = next(m for n, m in NICS.items() if n != nic)
    process = subprocess.Popen(
        ["dpdk-testpmd", "--no-huge", "-m", "256", "--no-pci", f"--file-prefix={netns}-{nic}", "--lcores", "0@0,1@1",
         "--vdev", f"net_virtio_user0,path={sock(nic)},queues=1,queue_size=256,mac={NICS[nic]}",
         "--", "--forward-mode=txonly", "--burst=32", "--txpkts=64", "--stats-period=1",
         "--total-num-mbufs=32768", f"--eth-peer=0,{other}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Client("testpmd", nic, process, kill_at=time.time() + rng.uniform(1, 4))
    client.hard = rng.random() < 0.5
    return client

FIO = """#!/bin/sh
fio --name=soak --filename=/dev/vda --rw=randwrite --bsrange=4k-128k --direct=1 --ioengine=libaio --iodepth=8 \
    --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 --loops=2 > /tmp/fio 2>&1
status=$?
grep -E "err=" /tmp/fio
exit $status
"""

def start_qemu(disk):
    script = os.path.join(work, "fio.sh")
    with open(script, "w") as f:
        f.write(FIO)
    process = subprocess.Popen(
        ["bash", "tests/guest/run.sh", "--timeout", "150", "--script", script, "--",
         "-chardev", f"socket,id=blk0,path={sock(disk)}", "-device", "vhost-user-blk-pci,chardev=blk0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return Client("qemu", disk, process)

pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)

def start_session(kind, device, body):
    r = random.Random(rng.getrandbits(64))
    return Client(kind, device, run=pool.submit(body, sock(device), r))

# ---------------------------------------------------------------- the churn

stats = {k: 0 for k in ["verify", "kill", "malformed", "silent", "testpmd", "qemu"]}
bytes_verified = 0
errors = []
running = []
warm = None
due = (["qemu"] if use_qemu and duration >= 45 else []) + ["verify", "kill", "malformed", "silent", "testpmd"]
start = time.time()

def free(candidates):
    busy = {c.device for c in running}
    return [d for d in candidates if d not in busy]

def finish(client):
    """Takes a finished client's outcome."""
    global bytes_verified
    stats[client.kind] += 1
    if client.run is not None:
        client.run.result()
        return
    out = client.process.stdout.read() if client.process.stdout else ""
    err = client.process.stderr.read() if client.process.stderr else ""
    rc = client.process.returncode
    if client.kind == "verify":
        try:
            result = json.loads(out)
            bytes_verified += result["verified_bytes"]
            if result["verify_errors"] or result["errors"] or rc != 0:
                errors.append(f"verify on {client.device}: rc {rc}, {result['verify_errors']} wrong sectors, {result['errors']} failed requests: {err.strip()}")
        except (ValueError, KeyError):
            errors.append(f"verify on {client.device}: rc {rc}: {err.strip()}")
    elif client.kind == "kill":
        if not client.killed:
            errors.append(f"the client to be killed on {client.device} ended first (rc {rc}): {err.strip()}")
    elif client.kind == "qemu":
        if rc != 0:
            errors.append(f"qemu fio verify on {client.device}: rc {rc}:\n{out[-3000:]}")

def done(client):
    if client.run is not None:
        return client.run.done()
    if client.kill_at is not None and not client.killed and time.time() >= client.kill_at:
        if client.kind == "testpmd" and not client.hard:
            client.process.send_signal(signal.SIGINT)
        else:
            client.process.kill()
        client.killed = True
    if client.process.poll() is None:
        return False
    return True

while time.time() - start < duration:
    for client in [c for c in running if done(c)]:
        running.remove(client)
        finish(client)
    if mux.poll() is not None:
        errors.append(f"the daemon exited (rc {mux.returncode}) during the soak")
        break
    if warm is None and time.time() - start > min(10, duration / 4):
        warm = usage()
    qemu_on = any(c.kind == "qemu" for c in running)
    if len(running) < (2 if qemu_on else 3):
        # Every kind comes once first (QEMU, the slowest, at the start), so even a short soak has each; then at random.
        kind = due[0] if due else rng.choices(["verify", "kill", "malformed", "silent", "testpmd", "qemu"], [30, 12, 25, 8, 15, 10])[0]
        if kind == "qemu" and (not use_qemu or qemu_on or duration - (time.time() - start) < 45 or len(running) > 1):
            kind = "verify"
        if kind in ("verify", "kill"):
            candidates = free(VERIFIED_DISKS)
        elif kind == "testpmd":
            candidates = free(list(NICS)) if not any(c.kind == "testpmd" for c in running) else []
        elif kind == "qemu":
            candidates = free(["d3"])
        else:
            candidates = free(OPEN_DISKS + list(NICS))
        if candidates:
            if due and due[0] == kind:
                due.pop(0)
            device = rng.choice(candidates)
            if kind == "verify":
                running.append(start_verify(device))
            elif kind == "kill":
                running.append(start_kill(device))
            elif kind == "testpmd":
                running.append(start_testpmd(device))
            elif kind == "qemu":
                running.append(start_qemu(device))
            elif kind == "malformed":
                running.append(start_session("malformed", device, malformed_session))
            else:
                running.append(start_session("silent", device, silent_session))
    time.sleep(0.05)

# Let the last clients end (the ones to be killed are killed now).
end_by = time.time() + 180
for client in running:
    if client.kind in ("kill", "testpmd"):
        client.kill_at = time.time()
while running and time.time() < end_by:
    for client in [c for c in running if done(c)]:
        running.remove(client)
        finish(client)
    time.sleep(0.05)
for client in running:
    errors.append(f"a {client.kind} client on {client.device} did not end")
    if client.process is not None:
        client.process.kill()
pool.shutdown(wait=True)

# ---------------------------------------------------------------- the checks

alive = mux.poll() is None
checks = []
if alive:
    # Every block of the verified disks read back once more; anything written anywhere reads right.
    for disk in VERIFIED_DISKS:
        process = subprocess.run([*iovirt, "bench-blk", "--socket", sock(disk), "--verify", "--rw", "read", "--iodepth", "16",
                                  "--bs", "64k", "--runtime", "2", "--ramp", "0", "--json"], capture_output=True, text=True)
        try:
            result = json.loads(process.stdout)
            bytes_verified += result["verified_bytes"]
            stats["verify"] += 1
            if result["verify_errors"] or process.returncode:
                errors.append(f"final read of {disk}: {result['verify_errors']} wrong sectors: {process.stderr.strip()}")
        except ValueError:
            errors.append(f"final read of {disk}: rc {process.returncode}: {process.stderr.strip()}")
    # Sessions end on their own threads after their clients go: a leak stays above the bound, a
    # session still closing (on a loaded machine) drops below it within seconds.
    deadline = time.monotonic() + 15
    fds, rss = usage()
    while fds > cold_fds + FD_SLACK and time.monotonic() < deadline:
        time.sleep(0.2)
        fds, rss = usage()
    final = report()
    warm_fds, warm_rss = warm or (cold_fds, cold_rss)
    disks = final["disks"]
    checks.append(("daemon alive", True, "yes"))
    checks.append(("inFlight 0", disks["inFlight"] == 0, str(disks["inFlight"])))
    checks.append(("waiting 0", disks["waiting"] == 0, str(disks["waiting"])))
    checks.append((f"descriptors <= start {cold_fds} + {FD_SLACK}", fds <= cold_fds + FD_SLACK, f"{fds} (warm-up {warm_fds})"))
    checks.append((f"RSS MiB <= warm-up {warm_rss:.0f} + {RSS_SLACK_MB}", rss <= warm_rss + RSS_SLACK_MB, f"{rss:.0f} (start {cold_rss:.0f})"))
    mux.send_signal(signal.SIGTERM)
    try:
        mux.wait(timeout=30)
    except subprocess.TimeoutExpired:
        mux.kill()
        checks.append(("stops on SIGTERM", False, "no"))
    cancelled = sum(t["cancelled"] for t in disks["tenants"].values())
    requests = sum(t["requests"] for t in disks["tenants"].values())
else:
    checks.append(("daemon alive", False, f"exited {mux.returncode}"))
    cancelled = requests = 0

mux_log.close()
print(f"soak: {duration:g} s, seed {seed}, qemu {'on' if use_qemu else 'off'}")
print(f"{'clients':<12} {'served':>7}")
for kind, n in stats.items():
    print(f"{kind:<12} {n:>7}")
print(f"{'connections':<12} {sum(stats.values()):>7}")
print(f"{'kills (-9)':<12} {stats['kill']:>7}")
print(f"bytes verified {bytes_verified:,}; disk requests completed {requests:,}, cancelled {cancelled:,}")
print(f"{'check':<40} {'ok':<4} value")
for name, ok, value in checks:
    print(f"{name:<40} {'yes' if ok else 'NO':<4} {value}")
print(f"errors {len(errors)}")
for e in errors:
    print("  " + e)
crashes = [line for line in open(mux_log.name) if "crit" in line.lower() or "unhandled" in line.lower()]
for line in crashes[:10]:
    print("  daemon: " + line.rstrip())
sys.exit(0 if alive and all(ok for _, ok, _ in checks) and not errors and not crashes else 1)
