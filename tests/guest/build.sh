#!/usr/bin/env bash
# Builds the test guest from Debian packages only: Debian's cloud kernel, its virtio modules,
# busybox-static and fio, into ${IOVIRT_CACHE:-~/.cache/iovirt}/guest (never into the repository).
# Idempotent: a second run with nothing changed takes well under a second. With --check it builds
# and installs nothing: it exits 0 when the guest is up to date and 1, saying so, when not.
# Output: $CACHE/guest/vmlinuz and $CACHE/guest/initramfs.cpio.gz
set -euo pipefail

cache="${IOVIRT_CACHE:-$HOME/.cache/iovirt}/guest"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$cache/stamp"
inputs="$(cat "$here/build.sh" "$here/init")"

if [ -f "$stamp" ] && [ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.cpio.gz" ] &&
   [ "$(cat "$stamp")" = "$(printf '%s' "$inputs" | sha256sum)" ]; then
  exit 0
fi
if [ "${1:-}" = --check ]; then
  echo "guest/build.sh: the test guest in $cache is missing or out of date; run tests/setup.sh (or tests/guest/build.sh)" >&2
  exit 1
fi

need=()
for p in qemu-system-x86 busybox-static fio cpio util-linux; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  echo "guest/build.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${need[@]}" >/dev/null
fi

mkdir -p "$cache/debs"
resolve_kernel() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
kernel_pkg=$(resolve_kernel)
if [ -z "$kernel_pkg" ]; then
  apt-get update -qq   # package lists missing or stale
  kernel_pkg=$(resolve_kernel)
fi
[ -n "$kernel_pkg" ] || { echo "guest/build.sh: cannot resolve the cloud kernel package" >&2; exit 1; }
if ! ls "$cache/debs/${kernel_pkg}_"*.deb >/dev/null 2>&1; then
  (cd "$cache/debs" && apt-get download -q "$kernel_pkg" 2>/dev/null)
fi

rm -rf "$cache/kernel" "$cache/root"
mkdir -p "$cache/kernel"
dpkg-deb -x "$cache/debs/${kernel_pkg}_"*.deb "$cache/kernel"
cp "$cache/kernel"/boot/vmlinuz-* "$cache/vmlinuz"
moddir=$(echo "$cache"/kernel/lib/modules/*)

root="$cache/root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mnt,lib/modules,etc}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# The virtio drivers in load order (dependencies first).
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         virtio-rng virtio_blk failover net_failover virtio_net; do
  f=$(find "$moddir" -name "$m.ko*" | head -n 1)
  [ -n "$f" ] || { echo "guest/build.sh: module $m missing from $kernel_pkg" >&2; exit 1; }
  cp "$f" "$root/lib/modules/"
  echo "${f##*/}" >> "$root/lib/modules/order"
done

# fio and util-linux's blkdiscard (busybox's has no -z, which sends WRITE_ZEROES) are
# dynamically linked: the binaries, every library ldd names, and the loader.
cp /usr/bin/fio "$root/bin/fio"
mkdir -p "$root/usr/sbin"
cp /sbin/blkdiscard "$root/usr/sbin/blkdiscard"
for lib in $(ldd /usr/bin/fio /sbin/blkdiscard | grep -v ':$' | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

install -m 0755 "$here/init" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initramfs.cpio.gz"
printf '%s' "$inputs" | sha256sum > "$stamp"
echo "guest/build.sh: built $cache/vmlinuz ($kernel_pkg) and initramfs.cpio.gz" >&2
