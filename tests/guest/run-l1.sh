#!/usr/bin/env bash
# Boots the nested-KVM host (build-l1.sh, which this only checks) and runs a script in it.
#   run-l1.sh [--timeout SECONDS] [--mem SIZE] [--cpus N] [--script FILE] [--payload DIR]
# L1 runs under TCG (QEMU 10, see qemu-l1.sh) with an SVM-capable CPU (-cpu max,+svm), so its
# /dev/kvm is real; inside it, our VMM (or QEMU) runs the L2 guest with KVM. DIR's files appear
# in L1 as /payload, with the shared libraries its top-level executables link in their own paths.
# The serial console goes to stdout. Exit status: the script's, from its "IOVIRT-L1-EXIT n" line;
# 124 when L1 did not finish in time or ended without the status (reset, crashed); 125 when it
# never reached its init.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${IOVIRT_CACHE:-$HOME/.cache/iovirt}"
timeout=300 mem=3G cpus=1 script="" payload=""
while (($#)); do
  case "$1" in
    --timeout) timeout=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --script) script=$2; shift 2 ;;
    --payload) payload=$2; shift 2 ;;
    *) echo "run-l1.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

bash "$here/build-l1.sh" --check
bash "$here/qemu-l1.sh" --check
qemu="$cache/qemu-l1"
work=$(mktemp -d)
qemu_pid=""
trap '[ -z "$qemu_pid" ] || kill -9 "$qemu_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# The script and payload ride in a second cpio archive appended to the initramfs.
mkdir -p "$work/extra/payload"
[ -n "$script" ] && install -m 0755 "$script" "$work/extra/test.sh"
[ -n "$payload" ] && cp -r "$payload"/. "$work/extra/payload/"
# L1 has only static busybox: each program at the payload's top level brings the libraries it links.
for program in "$work"/extra/payload/*; do
  [ -f "$program" ] && [ -x "$program" ] || continue
  for lib in $(ldd "$program" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
    mkdir -p "$work/extra$(dirname "$lib")"
    cp -L "$lib" "$work/extra$lib"
  done
done
(cd "$work/extra" && find . | cpio -o -H newc --quiet) > "$work/extra.cpio"
cat "$cache/l1/initramfs.cpio" "$work/extra.cpio" > "$work/initrd"

# tsc=reliable: under TCG every L1 vCPU reads the host's invariant TSC, but the emulated CPU lacks
# constant_tsc, so L1 would call its TSC unstable. L1's KVM then gives L2 an unstable kvm-clock
# and, each time a vCPU thread is scheduled back in, restarts that L2 vCPU's TSC from where it
# stopped: L2's vCPUs disagree on time while L1 is busy (the likely cause of L2's RCU stalls
# with "timer wakeup didn't happen" under a loaded host).
# nokaslr: the kernel addresses in a reset's dump (below) are then the same in every run, so an
# L1 script's `grep ADDRESS-PREFIX /proc/kallsyms` names them (Debian ships no System.map).
# No -no-reboot: QEMU logs each CPU's state as it resets (-d cpu_reset), so a triple fault of L1
# leaves the state it faulted in (with -no-reboot QEMU would end without resetting, and say
# nothing). The loop below ends QEMU as soon as L1 resets, before it boots a second time.
# One L1 CPU by default: with two, L0's multi-threaded TCG runs them at once, and L2 guests were
# lost now and then (a triple fault while L2 fetched its own kernel text, after a page fault with
# a not-present or reserved-bit error code; or a hang), whichever VMM ran them. QEMU as the L2
# VMM, fio for 40 s in an L2 of two vCPUs, runs alternating: two L1 CPUs lost 2 of 12 runs on
# 2026-12-07 (8 of 34 with the day before's), one L1 CPU none of 12; and VmmNestedTests passed
# five times in a row on one L1 CPU (35 L2 guests, some beside a build). L2's I/O is then about
# four times slower, so benchmarks ask for two (--cpus 2) and drop the rounds they lose.
start=$(date +%s%N)
"$qemu/usr/bin/qemu-system-x86_64" -L "$qemu/usr/share/qemu" -L "$qemu/usr/share/seabios" -accel tcg,thread=multi -cpu max,+svm -smp "$cpus" -m "$mem" \
  -kernel "$cache/guest/vmlinuz" -initrd "$work/initrd" \
  -append "console=ttyS0 quiet panic=-1 tsc=reliable nokaslr rdinit=/init" \
  -nographic -nodefaults -serial stdio -monitor "unix:$work/monitor.sock,server=on,wait=off" \
  -d cpu_reset,guest_errors -D "$work/qemu.log" \
  < /dev/null > "$work/console.log" 2>&1 &
qemu_pid=$!
# L1 reset: a triple fault (QEMU logs it) or a reboot (panic=-1), which boots the firmware again.
l1_reset() { grep -q '^Triple fault' "$work/qemu.log" 2>/dev/null || [ "$(grep -c SeaBIOS "$work/console.log")" -gt 1 ]; }
reset=""
while kill -0 "$qemu_pid" 2>/dev/null && [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt "$timeout" ]; do
  if l1_reset; then reset=yes; break; fi
  sleep 0.5
done
if [ -z "$reset" ] && kill -0 "$qemu_pid" 2>/dev/null; then
  # Out of time: ask QEMU's monitor where L1's CPUs are (halted, in L2, spinning in L1's kernel)
  # before ending it; a wedged L1 prints nothing on its console, so this is all there is.
  python3 - "$work/monitor.sock" > "$work/monitor.log" 2>&1 <<'PY' || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"info status\ninfo cpus\ninfo registers -a\n")
out, deadline = b"", time.time() + 5
while time.time() < deadline:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    out += chunk
print(out.decode(errors="replace") if out else "the monitor did not answer")
PY
fi
if kill -0 "$qemu_pid" 2>/dev/null; then
  # SIGTERM first: QEMU then flushes its log on the way out.
  kill "$qemu_pid" 2>/dev/null || true
  for _ in $(seq 10); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$qemu_pid" 2>/dev/null || true
fi
wait "$qemu_pid" 2>/dev/null || true
cat "$work/console.log"
if [ -s "$work/monitor.log" ]; then
  sed 's/^/L1-MONITOR /' "$work/monitor.log" | tr -d '\r'
fi
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
elapsed="$((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))"
if ! grep -q IOVIRT-L1-READY "$work/console.log"; then
  echo "run-l1.sh: L1 never reached its init (${elapsed}s)" >&2; exit 125
fi
status=$(sed -n 's/^IOVIRT-L1-EXIT \([0-9]*\).*/\1/p' "$work/console.log" | tail -n 1)
if [ -n "$reset" ]; then
  # A reset of L1 says nothing on its console; QEMU's log has why (a triple fault) and each CPU's
  # state as it reset, which is the state it faulted or rebooted in: the dumps in long mode (RIP=),
  # where the firmware's own resets show EIP=.
  awk '/^Triple fault/ { print } /^CPU Reset/ { if (long) printf "%s", dump; dump = ""; long = 0 }
       /^RIP=/ { long = 1 } { dump = dump $0 "\n" } END { if (long) printf "%s", dump }' "$work/qemu.log" | sed 's/^/L1-QEMU-LOG /' >&2
  echo "run-l1.sh: L1 reset after ${elapsed}s${status:+ (the script had ended with status $status)}" >&2; exit 124
fi
if [ -z "$status" ]; then
  if [ "$elapsed_ms" -lt $((timeout * 1000)) ]; then
    echo "run-l1.sh: L1 ended after ${elapsed}s without the script's exit status (crashed)" >&2; exit 124
  fi
  echo "run-l1.sh: the L1 script did not finish within ${timeout}s" >&2; exit 124
fi
echo "run-l1.sh: L1 finished with status $status (${elapsed}s)" >&2
exit "$status"
