#!/usr/bin/env bash
# A throwaway Ceph cluster on loopback, from Debian's ceph-mon, ceph-mgr and ceph-osd: one
# monitor, one manager and one OSD (BlueStore on a sparse file, so an OSD restart keeps the
# data), with cephx on and an "rbd" pool of size 1.
#   cluster.sh start DIR     builds and starts the cluster in DIR (empty or absent); prints
#                            DIR/ceph.conf once every placement group is active+clean
#   cluster.sh stop DIR      ends every daemon of DIR's cluster
#   cluster.sh osd-stop DIR / osd-start DIR   stops or starts the OSD alone
# The admin key is in DIR/ceph.client.admin.keyring, which DIR/ceph.conf names, so
# `ceph -c DIR/ceph.conf` and `rbd -c DIR/ceph.conf` work as admin.
set -euo pipefail

usage() { echo "usage: cluster.sh start|stop|osd-stop|osd-start DIR" >&2; exit 2; }
(($# == 2)) || usage
command=$1
dir=$(realpath -m "$2")
conf="$dir/ceph.conf"

# A daemon's pid file is written once it runs; stopping waits for it to be gone.
stop_daemon() {
  local pidfile="$dir/run/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

start_osd() {
  ceph-osd -c "$conf" -i 0
}

# Every placement group active+clean: the cluster serves reads and writes.
wait_clean() {
  local pgs
  for _ in $(seq 1 600); do
    pgs=$(ceph -c "$conf" pg stat 2>/dev/null || true)
    if [[ "$pgs" =~ ^([0-9]+)\ pgs:\ ([0-9]+)\ active\+clean ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
      return 0
    fi
    sleep 0.2
  done
  echo "cluster.sh: placement groups not active+clean after 120 s: ${pgs:-no answer}" >&2
  return 1
}

case "$command" in
  stop)
    stop_daemon osd.0
    stop_daemon mgr.x
    stop_daemon mon.a
    exit 0
    ;;
  osd-stop)
    stop_daemon osd.0
    exit 0
    ;;
  osd-start)
    start_osd
    wait_clean
    exit 0
    ;;
  start) ;;
  *) usage ;;
esac

for program in ceph-mon ceph-mgr ceph-osd ceph ceph-authtool monmaptool; do
  command -v "$program" > /dev/null || { echo "cluster.sh: $program is missing: run tests/setup.sh" >&2; exit 1; }
done
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "cluster.sh: $dir is not empty" >&2
  exit 1
fi
mkdir -p "$dir"/{run,log,mon.a,mgr.x,osd.0}

# A free port for the monitor, so clusters of parallel runs do not meet.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fsid=$(cat /proc/sys/kernel/random/uuid)
cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
ms bind msgr1 = false
ms bind ipv6 = false
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/ceph.\$name.keyring
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
crash dir = $dir/log
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
auth allow insecure global id reclaim = false

# Clients (the tests' rbd and ceph, the daemons under test) keep no admin socket or log here:
# several at once would fight over one path.
[client]
admin socket =
log file =

[mon]
mon data = $dir/mon.\$id
mon cluster log file = $dir/log/cluster.log

[mgr]
mgr data = $dir/mgr.\$id
mgr disabled modules = dashboard

[osd]
osd data = $dir/osd.\$id
osd objectstore = bluestore
bluestore block path = $dir/osd.\$id.block
bluestore block create = true
bluestore block size = 4294967296
bluestore fsck on mount = false
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 134217728
CONF

keyrings="$dir/keyrings"
mkdir -p "$keyrings"
ceph-authtool --create-keyring "$keyrings/mon" --gen-key -n mon. --cap mon 'allow *' > /dev/null
ceph-authtool --create-keyring "$dir/ceph.client.admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' > /dev/null
ceph-authtool "$keyrings/mon" --import-keyring "$dir/ceph.client.admin.keyring" > /dev/null
monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$keyrings/monmap" > /dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$keyrings/monmap" --keyring "$keyrings/mon" 2> "$dir/log/mkfs.log"
ceph-mon -c "$conf" -i a

ceph -c "$conf" auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$dir/ceph.mgr.x.keyring"
ceph-mgr -c "$conf" -i x

uuid=$(cat /proc/sys/kernel/random/uuid)
osd_key=$(ceph-authtool --gen-print-key)
echo "{\"cephx_secret\": \"$osd_key\"}" > "$keyrings/osd.json"
id=$(ceph -c "$conf" osd new "$uuid" -i "$keyrings/osd.json")
[ "$id" = 0 ] || { echo "cluster.sh: the OSD got id $id, not 0" >&2; exit 1; }
ceph-authtool --create-keyring "$dir/ceph.osd.0.keyring" --name osd.0 --add-key "$osd_key" > /dev/null
ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$uuid" 2>> "$dir/log/mkfs.log"
start_osd

ceph -c "$conf" osd pool create rbd 8 > /dev/null 2>&1
ceph -c "$conf" osd pool application enable rbd rbd > /dev/null 2>&1
wait_clean
echo "$conf"
