#!/usr/bin/env bash
# The whole stack in one command: builds the nested-KVM host (build-l1.sh) and, inside it, runs
# `iovirt vmm` on KVM with two vCPUs, a disk served by `iovirt blk` and an entropy source served
# by `iovirt rng`, both over vhost-user, and an in-process NIC on a TAP in L1; the L2 guest
# (Debian's kernel and the test initramfs) says what it saw: its CPUs, its disk (fio
# write-then-verify), random bytes and pings to L1.
#   vmm-demo.sh [IOVIRT_DIR]   (default: backends/IoVirt.Cli/bin/aot, the native iovirt, published first)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
program="${1:-}"
if [ -z "$program" ]; then
  program="$(dirname "$(bash "$repo/backends/IoVirt.Cli/publish-aot.sh")")"
fi
bash "$here/build-l1.sh"

script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'L1'
# In L1: the L2 guest's own script rides in a second archive appended to its initramfs.
mkdir -p /tmp/l2extra
cat > /tmp/l2extra/test.sh <<'L2'
#!/bin/sh
echo "L2: $(grep -c ^processor /proc/cpuinfo) vCPUs; disk vda of $(($(cat /sys/block/vda/size) / 2048)) MiB; entropy from $(cat /sys/class/misc/hw_random/rng_current)"
echo "L2: random bytes: $(head -c 16 /dev/hwrng | od -An -tx1)"
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
echo "L2: ping L1 (10.0.2.1) through the TAP: $(ping -c 3 -W 5 10.0.2.1 | grep transmitted)"
fio --name=demo --filename=/dev/vda --rw=randwrite --bs=64k --size=32M --direct=1 --ioengine=libaio \
    --iodepth=8 --verify=crc32c --do_verify=1 --verify_fatal=1 2>&1 | grep -E "err=" | sed 's/^/L2: fio /'
L2
chmod +x /tmp/l2extra/test.sh
(cd /tmp/l2extra && echo test.sh | cpio -o -H newc 2>/dev/null | gzip) > /tmp/l2extra.cpio
cat /l2/initramfs.cpio.gz /tmp/l2extra.cpio > /tmp/l2.img
truncate -s 128M /tmp/disk.img
tunctl -t tap0 > /dev/null && ip addr add 10.0.2.1/24 dev tap0 && ip link set tap0 up
cd /payload
./iovirt blk --socket /tmp/blk.sock --image /tmp/disk.img --sandbox seccomp --log-level warning &
./iovirt rng --socket /tmp/rng.sock --sandbox seccomp --log-level warning &
while [ ! -S /tmp/blk.sock ] || [ ! -S /tmp/rng.sock ]; do sleep 0.2; done
./iovirt vmm --kernel /l2/vmlinuz --initrd /tmp/l2.img --cmdline 'console=ttyS0 quiet panic=-1 rdinit=/init' \
  --memory 512M --cpus 2 --vhost-user type=blk,socket=/tmp/blk.sock --vhost-user type=rng,socket=/tmp/rng.sock \
  --net tap=tap0
echo "L1: iovirt vmm exited with $?"
L1
bash "$here/run-l1.sh" --script "$script" --payload "$program" | grep -E '^(L1|L2): '
