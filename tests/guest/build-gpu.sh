#!/usr/bin/env bash
# Builds the GPU test guest from Debian packages only: Debian's full kernel (the cloud kernel has
# no DRM), its virtio and virtio-gpu modules, busybox-static and the test guest's init, into
# ${IOVIRT_CACHE:-~/.cache/iovirt}/guest-gpu (never into the repository). Idempotent; with
# --check it builds nothing and says whether the guest is there and current.
# Output: $CACHE/guest-gpu/vmlinuz and $CACHE/guest-gpu/initramfs.cpio.gz
set -euo pipefail

cache="${IOVIRT_CACHE:-$HOME/.cache/iovirt}/guest-gpu"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$cache/stamp"
inputs="$(cat "$here/build-gpu.sh" "$here/init")"

if [ -f "$stamp" ] && [ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.cpio.gz" ] &&
   [ "$(cat "$stamp")" = "$(printf '%s' "$inputs" | sha256sum)" ]; then
  exit 0
fi
if [ "${1:-}" = --check ]; then
  echo "guest/build-gpu.sh: the GPU test guest in $cache is missing or out of date; run tests/setup.sh (or tests/guest/build-gpu.sh)" >&2
  exit 1
fi

# build.sh has installed busybox-static and cpio by now (setup.sh runs it first).
mkdir -p "$cache/debs"
resolve_kernel() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
kernel_pkg=$(resolve_kernel)
if [ -z "$kernel_pkg" ]; then
  apt-get update -qq
  kernel_pkg=$(resolve_kernel)
fi
[ -n "$kernel_pkg" ] || { echo "guest/build-gpu.sh: cannot resolve the kernel package" >&2; exit 1; }
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

# The PCI transport and virtio-gpu with what it needs, dependencies first (the modules'
# depends= lists, as the package ships no modules.dep).
for m in virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio virtio_pci \
         drm drm_kms_helper drm_shmem_helper virtio_dma_buf virtio-gpu; do
  f=$(find "$moddir" -name "$m.ko*" | head -n 1)
  [ -n "$f" ] || { echo "guest/build-gpu.sh: module $m missing from $kernel_pkg" >&2; exit 1; }
  cp "$f" "$root/lib/modules/"
  echo "${f##*/}" >> "$root/lib/modules/order"
done

install -m 0755 "$here/init" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initramfs.cpio.gz"
rm -rf "$cache/kernel"
printf '%s' "$inputs" | sha256sum > "$stamp"
echo "guest/build-gpu.sh: built $cache/vmlinuz ($kernel_pkg) and initramfs.cpio.gz" >&2
