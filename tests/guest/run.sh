#!/usr/bin/env bash
# Boots the test guest (built by build.sh, which this only checks) in QEMU and runs a script inside it.
#   run.sh [--accel auto|kvm|tcg] [--mem SIZE] [--timeout SECONDS] [--script FILE] [--gpu]
#          [--incoming URI] [-- QEMU ARGS...]
# --gpu boots the GPU guest (build-gpu.sh: Debian's full kernel with virtio-gpu) in QEMU 10
# (qemu-l1.sh, with its own modules): QEMU 7.2 refuses vhost-user-gpu-pci under TCG.
# Guest RAM is always a shared memfd (vhost-user back ends must map it). The serial console goes
# to stdout. --incoming makes this QEMU a live migration's destination, waiting on URI: its console
# shows only what the guest prints after the migration (no readiness line). Exit status: the guest script's, read from its "IOVIRT-EXIT n" line; 124 when the
# guest did not finish in time; 125 when it never reached its init.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
base="${IOVIRT_CACHE:-$HOME/.cache/iovirt}"
cache="$base/guest"
accel=auto mem=512M timeout=120 script="" qemu=qemu-system-x86_64 check="$here/build.sh" incoming=""
while (($#)); do
  case "$1" in
    --accel) accel=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --script) script=$2; shift 2 ;;
    --incoming) incoming=$2; shift 2 ;;
    --gpu)
      cache="$base/guest-gpu" check="$here/build-gpu.sh" qemu="$base/qemu-l1/usr/bin/qemu-system-x86_64"
      export QEMU_MODULE_DIR="$base/qemu-l1/usr/lib/x86_64-linux-gnu/qemu"
      bash "$here/qemu-l1.sh" --check
      shift ;;
    --) shift; break ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

bash "$check" --check
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The script rides in a second cpio archive appended to the initramfs (the kernel unpacks both).
cp "$cache/initramfs.cpio.gz" "$work/initrd"
if [ -n "$script" ]; then
  mkdir -p "$work/extra"
  install -m 0755 "$script" "$work/extra/test.sh"
  (cd "$work/extra" && echo test.sh | cpio -o -H newc --quiet | gzip -1) >> "$work/initrd"
fi

boot() { # boot ACCEL SECONDS LOG [QEMU ARGS...]: runs QEMU, serial console to LOG
  local how=$1 seconds=$2 log=$3
  shift 3
  local cpu=max
  timeout --foreground -k 5 "$seconds" "$qemu" -accel "$how" -cpu "$cpu" -smp 1 -m "$mem" \
    -object "memory-backend-memfd,id=mem,size=$mem,share=on" -machine "q35,memory-backend=mem" \
    -kernel "$cache/vmlinuz" -initrd "$work/initrd" \
    -append "console=ttyS0 quiet panic=-1 rdinit=/init" \
    -nographic -no-reboot -nodefaults -serial stdio "$@" > "$log" 2>&1 || true
}

# KVM only where it boots an unmodified kernel: some hosts' /dev/kvm (e.g. PVM) cannot. Probe
# once per host boot and kernel, with a short timeout, and remember the answer.
choose_accel() {
  if [ "$accel" != auto ]; then echo "$accel"; return; fi
  if [ ! -w /dev/kvm ]; then
    echo "run.sh: /dev/kvm is not usable here; using TCG" >&2; echo tcg; return
  fi
  local key probe="$cache/kvm-probe"
  key="$(cat /proc/sys/kernel/random/boot_id) $(sha256sum "$cache/vmlinuz" | cut -c1-16)"
  if [ ! -f "$probe" ] || [ "$(head -n 1 "$probe")" != "$key" ]; then
    local result=no
    boot kvm 15 "$work/probe.log"
    grep -q IOVIRT-GUEST-READY "$work/probe.log" && result=yes
    printf '%s\n%s\n' "$key" "$result" > "$probe"
  fi
  if [ "$(tail -n 1 "$probe")" = yes ]; then
    echo "run.sh: KVM boots the guest; using KVM" >&2; echo kvm
  else
    echo "run.sh: KVM is present but cannot boot Debian's kernel on this host (probe timed out); using TCG" >&2; echo tcg
  fi
}

how=$(choose_accel)
start=$(date +%s%N)
# IOVIRT_CONSOLE names a file that receives the console while the guest runs, for tests that
# act on the host when the guest reaches a certain point.
console="${IOVIRT_CONSOLE:-$work/console.log}"
if [ -n "$incoming" ]; then
  boot "$how" "$timeout" "$console" -incoming "$incoming" "$@"
else
  boot "$how" "$timeout" "$console" "$@"
fi
cp "$console" "$work/console.log" 2>/dev/null || true
cat "$work/console.log"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
elapsed="$((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))"
if [ -z "$incoming" ] && ! grep -q IOVIRT-GUEST-READY "$work/console.log"; then
  echo "run.sh: the guest never reached its init ($how, ${elapsed}s)" >&2; exit 125
fi
status=$(sed -n 's/^IOVIRT-EXIT \([0-9]*\).*/\1/p' "$work/console.log" | tail -n 1)
if [ -z "$status" ]; then
  echo "run.sh: the guest script did not finish within ${timeout}s ($how)" >&2; exit 124
fi
echo "run.sh: guest finished with status $status ($how, ${elapsed}s)" >&2
exit "$status"
