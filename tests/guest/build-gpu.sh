#!/usr/bin/env bash
# Builds the GPU test guest from Debian packages only: Debian's full kernel (the cloud kernel has
# no DRM), its virtio and virtio-gpu modules, busybox-static, the test guest's init and
# /bin/virgl-clear (virgl-clear.c, static against Debian's libc and libdrm's uapi header), into
# ${IOVIRT_CACHE:-~/.cache/iovirt}/guest-gpu (never into the repository). Idempotent; with
# --check it builds nothing and says whether the guest is there and current.
# Output: $CACHE/guest-gpu/vmlinuz and $CACHE/guest-gpu/initramfs.cpio.gz
set -euo pipefail

cache="${IOVIRT_CACHE:-$HOME/.cache/iovirt}/guest-gpu"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$cache/stamp"
inputs="$(cat "$here/build-gpu.sh" "$here/guest-parts.sh" "$here/init" "$here/virgl-clear.c")"

if [ -f "$stamp" ] && [ -f "$cache/vmlinuz" ] && [ -f "$cache/initramfs.cpio.gz" ] &&
   [ "$(cat "$stamp")" = "$(printf '%s' "$inputs" | sha256sum)" ]; then
  exit 0
fi
if [ "${1:-}" = --check ]; then
  echo "guest/build-gpu.sh: the GPU test guest in $cache is missing or out of date; run tests/setup.sh (or tests/guest/build-gpu.sh)" >&2
  exit 1
fi

# build.sh has installed busybox-static and cpio by now (setup.sh runs it first).
source "$here/guest-parts.sh"
unpack_kernel linux-image-amd64 "$cache"
root="$cache/root"
busybox_root "$root"
# The PCI transport and virtio-gpu with what it needs, dependencies first (the modules'
# depends= lists, as the package ships no modules.dep).
add_modules "$root" virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio virtio_pci \
  drm drm_kms_helper drm_shmem_helper virtio_dma_buf virtio-gpu

install -m 0755 "$here/init" "$root/init"
gcc -static -O2 -Wall -Werror -I/usr/include/libdrm -o "$root/bin/virgl-clear" "$here/virgl-clear.c"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initramfs.cpio.gz"
rm -rf "$cache/kernel"
printf '%s' "$inputs" | sha256sum > "$stamp"
echo "guest/build-gpu.sh: built $cache/vmlinuz ($kernel_pkg) and initramfs.cpio.gz" >&2
