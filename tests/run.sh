#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh machine: installs the system packages the
# tests use, restores, builds (warnings are errors) and runs every test project, then prints one
# summary line "tests: N passed, N failed, N skipped" (tests/summarize.sh) and exits non-zero
# unless every test ran and passed.
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc and the kernel's uapi headers: the ABI tests compile a C program against
# <linux/virtio_*.h> to cross-check every layout and constant. dpdk-dev: dpdk-testpmd, the DPDK
# virtio-net front end and back end the net tests run against (Debian's `dpdk` package lacks it).
# python3: the soak's driver (bench/soak.py) and its misbehaving front ends. libfuse3-dev, fuse3
# and pkg-config: tests/faults/badrange.c, the FUSE file system with bad sectors.
packages=(gcc libc6-dev linux-libc-dev dpdk-dev iproute2 python3 libfuse3-dev fuse3 pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "tests/run.sh: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/run.sh: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet restore IoVirt.sln
dotnet build IoVirt.sln --no-restore -nologo
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test IoVirt.sln --no-build -nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run; an aborted run (a crashed test host) is a failure there too.
bash tests/summarize.sh "$log" "$status"
