#!/bin/sh
# The guest's side of a live migration (tests/guest/migrate.py): it keeps its devices busy while it
# moves. With eth0, it takes 10.0.0.2/24 and answers whatever pings it; without a disk it asks to
# be migrated 8 s later. With /dev/vda, it fills
# the disk's first 16 MiB with random data, then runs two fio jobs at once: random 64 KiB reads
# of that data into 2 MiB of buffers (every read changes its buffer, so a device write missing
# from the dirty log leaves a page that differs after the migration) and 4 KiB random writes
# with crc32c verification on another 16 MiB (any write lost or misplaced fails it). It asks to
# be migrated (IOVIRT-MIGRATE) once reads and writes are both under way, and finishes on the
# destination, printing fio's status.
if [ -e /sys/class/net/eth0 ]; then
  # Quiet: no IPv6, and no ARP probe of the host's address for a minute, so that the guest
  # sends nothing of its own around the migration (only its NIC's announcement moves it).
  echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6
  echo 60 > /proc/sys/net/ipv4/neigh/eth0/delay_first_probe_time
  ip addr add 10.0.0.2/24 dev eth0
  ip link set eth0 up
fi
if [ ! -b /dev/vda ]; then
  sleep 8
  echo IOVIRT-MIGRATE
  sleep 6
  exit 0
fi
dd if=/dev/urandom of=/dev/vda bs=1M count=16 oflag=direct 2>/dev/null || exit 1
fio --ioengine=libaio --direct=1 --filename=/dev/vda --output-format=terse \
  --name=reads --rw=randread --bs=64k --iodepth=32 --offset=0 --size=16M --time_based --runtime=8 \
  --name=verified --rw=randwrite --bs=4k --iodepth=8 --offset=32M --size=16M \
  --verify=crc32c --verify_backlog=256 --do_verify=1 --loops=2 > /tmp/fio.out 2>&1 &
fio=$!
while [ "$(awk '{print ($1 > 500 && $5 > 500)}' /sys/block/vda/stat)" != 1 ]; do
  kill -0 $fio 2>/dev/null || break
  sleep 0.1
done
echo IOVIRT-MIGRATE
wait $fio
status=$?
# terse fields: job name, read KiB, read IOPS, write KiB, write IOPS
cut -d';' -f3,6,8,47,49 /tmp/fio.out
echo "FIO-STATUS $status"
exit $status
