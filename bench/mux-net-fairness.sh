#!/usr/bin/env bash
# The switch's uplink sharing on the real data path: dpdk-testpmd virtio_user clients (txonly,
# 64-byte frames to a MAC no one has) on nics of one `iovirt mux` whose TAP uplink is a port of
# a bridge with STATIONS veth stations, to each of which the kernel floods every frame. That
# makes the uplink a few thousand frames a second, far slower than any client, so every port's
# uplink queue stays full and the switch's deficit round robin decides the shares. Per case it
# prints each port's weight, uplinkSent (between two reports the mux prints on SIGUSR1 while every
# client sends, so start-up and shut-down are left out), share, expected share and
# error, and for equal weights Jain's index:
#   1:2      two clients
#   1:2:4    three clients
#   equal    three clients of weight 1
# Environment: RUNTIME seconds of traffic per case (default 20), STATIONS (default 160).
# tests/IoVirt.Tests/Integration/TestpmdMuxTests.cs runs 1:2 and two equal clients for 5 s.
set -euo pipefail
cd "$(dirname "$0")/.."

runtime=${RUNTIME:-20}
stations=${STATIONS:-160}

command -v dpdk-testpmd >/dev/null || apt-get install -y dpdk-dev >/dev/null
dotnet build -c Release -nologo -v q backends/IoVirt.Cli >/dev/null
work=$(mktemp -d /tmp/iovirt-mux-net-bench-XXXXXX)
netns=iovirt-bench-$$
trap 'ip netns del "$netns" 2>/dev/null || true; rm -rf "$work" /var/run/dpdk/"$netns"-*' EXIT

python3 - "$work" "$netns" "$runtime" "$stations" <<'PY'
import json, os, signal, subprocess, sys, time

work, netns, runtime, stations = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
iovirt = ["dotnet", "backends/IoVirt.Cli/bin/Release/net10.0/iovirt.dll"]

def ip(*args): subprocess.run(["ip", "-n", netns, *args], check=True)

def sock(name): return os.path.join(work, name + ".sock")

def run(weights):
    """One mux, one txonly client per weight for RUNTIME seconds; each nic's uplinkSent in order."""
    subprocess.run(["ip", "netns", "del", netns], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "add", netns], check=True)
    ip("link", "set", "lo", "up")
    ip("link", "add", "br0", "type", "bridge")
    ip("link", "set", "br0", "up")
    subprocess.run(["ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1"], check=True)
    batch = os.path.join(work, "stations")
    with open(batch, "w") as f:
        for i in range(stations):
            f.write(f"link add sv{i} master br0 up type veth peer name sp{i}\nlink set sp{i} up\n")
    ip("-batch", batch)

    names = [chr(ord("a") + i) for i in range(len(weights))]
    macs = [f"02:00:00:00:00:0{i + 1}" for i in range(len(weights))]
    config = os.path.join(work, "mux.json")
    json.dump({"uplink": "up0", "nics": [dict(name=n, socket=sock(n), mac=m, weight=w)
                                         for n, m, w in zip(names, macs, weights)]}, open(config, "w"))
    log = os.path.join(work, "mux.log")
    mux = subprocess.Popen(["ip", "netns", "exec", netns, *iovirt, "mux", "--config", config],
                           stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    for _ in range(400):
        if all(os.path.exists(sock(n)) for n in names): break
        if mux.poll() is not None: break
        time.sleep(0.05)
    else:
        sys.exit(f"mux-net-fairness: the mux did not listen:\n{open(log).read()}")
    ip("link", "set", "up0", "master", "br0", "up")

    clients = []
    for i, (n, m) in enumerate(zip(names, macs)):
        cpu = str(i % 2)
        clients.append(subprocess.Popen(
            ["dpdk-testpmd", "--no-huge", "-m", "256", "--no-pci", f"--file-prefix={netns}-{n}",
             "--lcores", f"0@{cpu},1@{cpu}",
             "--vdev", f"net_virtio_user0,path={sock(n)},queues=1,queue_size=256,mac={m}",
             "--", "--forward-mode=txonly", "--burst=32", "--txpkts=64", "--stats-period=1",
             "--total-num-mbufs=32768", "--eth-peer=0,02:00:00:00:00:ee"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    def snapshot():
        mux.send_signal(signal.SIGUSR1)
        return json.loads(mux.stdout.readline())["nics"]

    time.sleep(2)  # for the clients to connect and start sending
    start = snapshot()
    time.sleep(runtime)
    end = snapshot()
    mux.send_signal(signal.SIGTERM)
    mux.communicate(timeout=30)
    for c in clients:
        c.send_signal(signal.SIGINT)
    for c in clients:
        c.wait(timeout=30)
    for n in names:
        if end[n]["uplinkOverflowed"] == start[n]["uplinkOverflowed"]:
            print(f"warning: nic {n} never filled its uplink queue; the uplink did not limit it")
    return [end[n]["uplinkSent"] - start[n]["uplinkSent"] for n in names]

print(f"iovirt mux, testpmd txonly clients, uplink bridged to {stations} stations, {runtime:g} s per case")
print(f"{'case':<7} {'port':<4} {'weight':>6} {'uplinkSent':>11} {'share':>7} {'expected':>8} {'error':>7}")
for case, weights in (("1:2", [1, 2]), ("1:2:4", [1, 2, 4]), ("equal", [1, 1, 1])):
    sent = run(weights)
    total = sum(sent)
    for i, (w, s) in enumerate(zip(weights, sent)):
        share, expected = s / total, w / sum(weights)
        print(f"{case:<7} {chr(ord('a') + i):<4} {w:>6} {s:>11,} {share:>7.3f} {expected:>8.3f} {(share - expected) / expected:>+7.1%}")
    if len(set(weights)) == 1:
        print(f"{case:<7} Jain's index {total ** 2 / (len(sent) * sum(s * s for s in sent)):.4f}")
PY
