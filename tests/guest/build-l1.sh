#!/usr/bin/env bash
# Builds the nested-KVM test host ("L1") from Debian packages only, on top of the test guest
# (build.sh): busybox, the cloud kernel's kvm and tun modules, the .NET runtime this machine has, and
# the test guest's kernel and initramfs as the L2 guest (/l2). run-l1.sh boots it in QEMU with
# an SVM-capable virtual CPU, so /dev/kvm is real inside it even where the host's is not.
# Idempotent like build.sh; with --check it only says whether the image is up to date.
# Output: ${IOVIRT_CACHE:-~/.cache/iovirt}/l1/initramfs.cpio
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
base="${IOVIRT_CACHE:-$HOME/.cache/iovirt}"
guest="$base/guest"
cache="$base/l1"
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime="$(ls -d "$dotnet_root"/shared/Microsoft.NETCore.App/10.* | sort -V | tail -n 1)"
stamp="$cache/stamp"
inputs="$(cat "$here/build-l1.sh" "$here/init-l1" "$guest/stamp" 2>/dev/null; echo "$runtime")"

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
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,lib/modules,l2,payload,usr/share/dotnet/shared/Microsoft.NETCore.App}
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

# The runtime: the host muxer, hostfxr and the shared framework, and every library they load.
cp "$dotnet_root/dotnet" "$root/usr/share/dotnet/"
cp -r "$dotnet_root/host" "$root/usr/share/dotnet/"
cp -r "$runtime" "$root/usr/share/dotnet/shared/Microsoft.NETCore.App/"
for lib in $(ldd "$dotnet_root/dotnet" "$runtime"/*.so "$dotnet_root"/host/fxr/*/libhostfxr.so 2>/dev/null | grep -v ':$' | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

install -m 0755 "$here/init-l1" "$root/init"
# Uncompressed: L1's kernel unpacks it under TCG, where gunzip of ~150 MB costs seconds.
(cd "$root" && find . | cpio -o -H newc --quiet) > "$cache/initramfs.cpio"
printf '%s' "$inputs" | sha256sum > "$stamp"
echo "guest/build-l1.sh: built $cache/initramfs.cpio ($(du -h "$cache/initramfs.cpio" | cut -f1))" >&2
