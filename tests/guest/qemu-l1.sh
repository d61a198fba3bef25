#!/usr/bin/env bash
# Provisions the emulator that runs the nested-KVM host (L1, run-l1.sh): QEMU 10 from Debian's
# bookworm-backports, unpacked privately with dpkg -x, so every other test keeps Debian's QEMU
# 7.2. Under 7.2's TCG, an L1 CPU running L2 (nested SVM) now and then stopped taking interrupts:
# L2 saw RCU stalls ("timer wakeup didn't happen") and L1 soft lockups at VM teardown, about one
# L1 boot in fifteen. QEMU 10 has had a hang of its own too (1 in 14 so far), so this is a newer
# emulator, not yet a proven cure. Under 10 with two L1 CPUs, an L2 under sustained I/O was now
# and then lost to a triple fault (with our VMM or QEMU's, our back end or qemu-storage-daemon),
# and L1 itself reset now and then; with one L1 CPU none was lost so far, so run-l1.sh gives L1
# one unless asked for more. Its modules (qemu-system-common, -modules-opengl, -gui) go
# beside it: QEMU 7.2 refuses vhost-user-gpu-pci under TCG, 10 serves it, and the GPU tests run
# it at L0 with QEMU_MODULE_DIR pointing there (7.2's modules are not loadable by 10).
# Idempotent; with --check it only says whether it is there.
# Output: ${IOVIRT_CACHE:-~/.cache/iovirt}/qemu-l1/usr/bin/qemu-system-x86_64
set -euo pipefail

base="${IOVIRT_CACHE:-$HOME/.cache/iovirt}"
qemu="$base/qemu-l1"
packages=(qemu-system-x86 qemu-system-data seabios qemu-system-common qemu-system-modules-opengl qemu-system-gui)

if [ -x "$qemu/usr/bin/qemu-system-x86_64" ] && [ -f "$qemu/usr/lib/x86_64-linux-gnu/qemu/hw-display-virtio-gpu-pci.so" ]; then
  exit 0
fi
if [ "${1:-}" = --check ]; then
  echo "guest/qemu-l1.sh: L1's emulator is not in $qemu; run tests/setup.sh (or tests/guest/qemu-l1.sh)" >&2
  exit 1
fi

# The backports suite, through apt lists of our own.
source "$(dirname "$0")/private-apt.sh"
private_apt deb bookworm-backports
(cd "$work/debs" && apt-get "${apt[@]}" -qq download "${packages[@]/%//bookworm-backports}")
rm -rf "$qemu.new"
mkdir -p "$qemu.new"
for deb in "$work"/debs/*.deb; do
  dpkg -x "$deb" "$qemu.new"
done
if missing=$(ldd "$qemu.new/usr/bin/qemu-system-x86_64" | grep "not found"); then
  echo "guest/qemu-l1.sh: QEMU 10 needs libraries this machine lacks:" >&2
  echo "$missing" >&2
  exit 1
fi
rm -rf "$qemu"
mv "$qemu.new" "$qemu"
echo "guest/qemu-l1.sh: $("$qemu/usr/bin/qemu-system-x86_64" --version | head -n 1) in $qemu" >&2
