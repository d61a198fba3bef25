#!/usr/bin/env bash
# Builds the nested-KVM test host ("L1") from Debian packages only, on top of the test guest
# (build.sh): busybox, the cloud kernel's kvm and tun modules, and the test guest's kernel and
# initramfs as the L2 guest (/l2). No .NET runtime: tests bring the native `iovirt`
# (backends/IoVirt.Cli/publish-aot.sh) as their payload. run-l1.sh boots it in QEMU with
# an SVM-capable virtual CPU, so /dev/kvm is real inside it even where the host's is not.
# Idempotent like build.sh; with --check it only says whether the image is up to date.
# Output: ${IOVIRT_CACHE:-~/.cache/iovirt}/l1/initramfs.cpio
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
base="${IOVIRT_CACHE:-$HOME/.cache/iovirt}"
guest="$base/guest"
cache="$base/l1"
stamp="$cache/stamp"
inputs="$(cat "$here/build-l1.sh" "$here/init-l1" "$guest/stamp" 2>/dev/null)"

if [ -f "$stamp" ] && [ -f "$cache/initramfs.cpio" ] && [ "$(cat "$stamp")" = "$(printf '%s' "$inputs" | sha256sum)" ]; then
  exit 0
fi
if [ "${1:-}" = --check ]; then
  echo "guest/build-l1.sh: the nested-KVM host in $cache is missing or out of date; run tests/setup.sh (or tests/guest/build-l1.sh)" >&2
  exit 1
fi

bash "$here/build.sh"
rm -rf "$cache/root"
root="$cache/root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,lib/modules,l2,payload}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

moddir=$(echo "$guest"/kernel/lib/modules/*)
for m in irqbypass kvm kvm-amd kvm-intel tun; do
  f=$(find "$moddir" -name "$m.ko*" | head -n 1)
  [ -n "$f" ] || { echo "guest/build-l1.sh: module $m missing from the guest's kernel" >&2; exit 1; }
  cp "$f" "$root/lib/modules/$m.ko"
done

cp "$guest/vmlinuz" "$guest/initramfs.cpio.gz" "$root/l2/"

install -m 0755 "$here/init-l1" "$root/init"
# Uncompressed: L1's kernel unpacks it under TCG, where gunzip costs more than the bytes saved.
(cd "$root" && find . | cpio -o -H newc --quiet) > "$cache/initramfs.cpio"
printf '%s' "$inputs" | sha256sum > "$stamp"
echo "guest/build-l1.sh: built $cache/initramfs.cpio ($(du -h "$cache/initramfs.cpio" | cut -f1))" >&2
