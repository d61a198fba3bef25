#!/usr/bin/env bash
# Builds the test guest from Debian packages only: Debian's cloud kernel, its virtio and vsock
# modules, busybox-static, fio and /bin/vsock-echo (vsock-echo.c, static), into ${IOVIRT_CACHE:-~/.cache/iovirt}/guest (never into the repository).
# Idempotent: a second run with nothing changed takes well under a second. With --check it builds
# and installs nothing: it exits 0 when the guest is up to date and 1, saying so, when not.
# Output: $CACHE/guest/vmlinuz and $CACHE/guest/initramfs.cpio.gz
set -euo pipefail

cache="${IOVIRT_CACHE:-$HOME/.cache/iovirt}/guest"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$cache/stamp"
inputs="$(cat "$here/build.sh" "$here/guest-parts.sh" "$here/init" "$here/vsock-echo.c")"

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

source "$here/guest-parts.sh"
unpack_kernel linux-image-cloud-amd64 "$cache"
root="$cache/root"
busybox_root "$root"
add_modules "$root" virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
  virtio-rng virtio_blk failover net_failover virtio_net vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport

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
gcc -static -O2 -Wall -Werror -o "$root/bin/vsock-echo" "$here/vsock-echo.c"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initramfs.cpio.gz"
printf '%s' "$inputs" | sha256sum > "$stamp"
echo "guest/build.sh: built $cache/vmlinuz ($kernel_pkg) and initramfs.cpio.gz" >&2
