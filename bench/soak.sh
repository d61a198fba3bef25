#!/usr/bin/env bash
# Chaos soak of one `iovirt mux`: 4 disks (a limit, weights, a reservation) on one image and 2
# nics on a switch with a TAP uplink, while clients come and go at random for SOAK_S seconds
# (default 600):
#   verify     iovirt bench-blk --verify --rw randrw on disk d0 or d1 (each read checked against
#              the last write that completed, so lost or foreign data is caught)
#   kill       the same, killed with -9 mid-I/O
#   malformed  a front end sending garbage, bad headers and sizes, unknown requests, or a whole
#              set-up (memfd memory, kick and call eventfds) whose rings hold random descriptors
#              (on d2, d3 or a nic: what it writes is its own disk's business)
#   silent     connects and never sends, then goes
#   testpmd    dpdk-testpmd virtio_user txonly on a nic, stopped or killed with -9
#   qemu       a QEMU guest running fio verify on d3 (skipped with SOAK_QEMU=0)
# At most 3 clients at once (2 at once while a QEMU guest runs), one per device. At the end:
# every disk is read back and verified, the daemon must be alive, every disk's inFlight and
# waiting 0, and its descriptors and RSS back within the bounds printed beside them. Prints a
# table; exits 1 when any check failed.
# Environment: SOAK_S (default 600), SOAK_SEED (default: the time), SOAK_QEMU (default 1),
# IOVIRT (the iovirt.dll to run; default: a Release build made here).
# tests/IoVirt.Tests/Daemon/SoakTests.cs runs it for 75 s.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v dpdk-testpmd >/dev/null || apt-get install -y -qq dpdk-dev >/dev/null
if [ -z "${IOVIRT:-}" ]; then
  dotnet build -c Release -nologo -v q backends/IoVirt.Cli >/dev/null
  IOVIRT=backends/IoVirt.Cli/bin/Release/net10.0/iovirt.dll
fi
if [ "${SOAK_QEMU:-1}" = 1 ]; then
  bash tests/guest/build.sh >/dev/null
fi

work=$(mktemp -d /tmp/iovirt-soak-XXXXXX)
netns=iovirt-soak-$$
trap 'ip netns del "$netns" 2>/dev/null || true; rm -rf "$work" /var/run/dpdk/"$netns"-*' EXIT
python3 bench/soak.py "$work" "$netns" "$IOVIRT"
