#!/usr/bin/env bash
# Fuzzes one target under AFL++ for a while and fails if it found a crash.
#   fuzz/run.sh split-chain|packed-chain|vhost-user-messages|blk-request-split|blk-request-packed|net-tx-header|net-ctrl|net-device-split|net-device-packed|net-switch|mux-config|vhost-user-sequences|gpu-command|gpu-command-3d [SECONDS]     (default 600 s)
# Installs afl++ when missing (apt-get, needs root), restores the sharpfuzz tool from
# fuzz/.config/dotnet-tools.json, publishes the fuzz project in Release to fuzz/out/, writes the
# generated seed corpus to fuzz/corpus/TARGET/, instruments the library assemblies and runs
# afl-fuzz with its findings in fuzz/findings/TARGET/ (crashes are replayed to show the exception).
set -euo pipefail

target=${1:?usage: fuzz/run.sh split-chain|packed-chain|vhost-user-messages|blk-request-split|blk-request-packed|net-tx-header|net-ctrl|net-device-split|net-device-packed|net-switch|mux-config|vhost-user-sequences|gpu-command|gpu-command-3d [SECONDS]}
seconds=${2:-600}
case "$target" in
  split-chain | packed-chain | vhost-user-messages | blk-request-split | blk-request-packed | net-tx-header | net-ctrl | net-device-split | net-device-packed | net-switch | mux-config | vhost-user-sequences | gpu-command | gpu-command-3d) ;;
  *) echo "unknown target '$target' (split-chain, packed-chain, vhost-user-messages, blk-request-split, blk-request-packed, net-tx-header, net-ctrl, net-device-split, net-device-packed, net-switch, mux-config, vhost-user-sequences, gpu-command or gpu-command-3d)" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/out/$target"
corpus="$here/corpus/$target"
findings="$here/findings/$target"

# The target is the dotnet host, not an AFL-compiled binary; SharpFuzz speaks the fork-server
# protocol itself. Containers usually cannot set the CPU governor or core_pattern, and other
# jobs may hold the cores AFL would bind to.
export AFL_SKIP_BIN_CHECK=1
export AFL_SKIP_CPUFREQ=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=1
export AFL_NO_UI=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

if ! command -v afl-fuzz > /dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "afl-fuzz is missing: install Debian's afl++ package (as root: apt-get install afl++)" >&2
    exit 1
  fi
  echo "== installing afl++"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ > /dev/null
fi

echo "== restoring the sharpfuzz tool"
(cd "$here" && dotnet tool restore > /dev/null)

echo "== publishing IoVirt.Fuzz (Release) to $out"
rm -rf "$out"
dotnet publish "$here/IoVirt.Fuzz/IoVirt.Fuzz.csproj" -c Release -o "$out" -v quiet

# Seeds come from the program itself (valid queue states made by the real driver), written
# before instrumenting so the generator runs on the plain assemblies.
echo "== writing seeds to $corpus"
rm -rf "$corpus"
dotnet "$out/IoVirt.Fuzz.dll" "$target" --write-seeds "$corpus"

echo "== instrumenting"
for assembly in IoVirt.Virtqueue.dll IoVirt.Memory.dll IoVirt.VhostUser.dll IoVirt.Interop.dll IoVirt.Backends.Blk.dll IoVirt.Backends.Net.dll IoVirt.Backends.Gpu.dll iovirt.dll; do
  (cd "$here" && dotnet tool run sharpfuzz "$out/$assembly")
done

log="$here/findings/$target.log"
echo "== afl-fuzz $target for $seconds s (log: $log)"
rm -rf "$findings"
mkdir -p "$findings"
status=0
afl-fuzz -V "$seconds" -i "$corpus" -o "$findings" -t 5000 -m none -- "$(command -v dotnet)" "$out/IoVirt.Fuzz.dll" "$target" > "$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  tail -n 40 "$log" >&2
  echo "afl-fuzz failed ($status)" >&2
  exit 1
fi

stats="$findings/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  echo "afl-fuzz left no statistics in $findings" >&2
  exit 1
fi

stat() { sed -n "s/^$1 *: *//p" "$stats"; }
crashes=$(find "$findings/default/crashes" -name 'id:*' -type f | wc -l)
hangs=$(find "$findings/default/hangs" -name 'id:*' -type f | wc -l)
echo "== $target: $(stat execs_done) execs in $(stat run_time) s, $(stat execs_per_sec) exec/s," \
  "$(stat corpus_count) paths, coverage $(stat bitmap_cvg), $crashes crashes, $hangs hangs"

if [ "$crashes" -ne 0 ]; then
  echo "== crashes found; replaying them:" >&2
  # With a plain Debug build: the instrumented assemblies in $out only run under afl-fuzz (they
  # write to its coverage map), and a Debug build checks arithmetic as well.
  dotnet build "$here/IoVirt.Fuzz/IoVirt.Fuzz.csproj" -c Debug -nologo -v quiet > /dev/null
  find "$findings/default/crashes" -name 'id:*' -type f -print0 |
    xargs -0 dotnet "$here/IoVirt.Fuzz/bin/Debug/net10.0/IoVirt.Fuzz.dll" "$target" --replay >&2 || true
  exit 1
fi
