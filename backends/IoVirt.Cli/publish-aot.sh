#!/usr/bin/env bash
# Publishes `iovirt` compiled ahead of time: one trimmed native executable with no JIT and no
# runtime to install, alone in backends/IoVirt.Cli/bin/aot (its path is printed on stdout; the
# symbols stay beside the publish output in bin/aot-publish). The nested-KVM tests, vmm-demo.sh
# and bench/vmm-vs-qemu.sh carry this directory into their L1 guest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dotnet publish "$here/IoVirt.Cli.csproj" -c Release -nologo -v q -o "$here/bin/aot-publish" >&2
rm -rf "$here/bin/aot"
mkdir -p "$here/bin/aot"
cp "$here/bin/aot-publish/iovirt" "$here/bin/aot/iovirt"
echo "$here/bin/aot/iovirt"
