#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh machine: provisions what the tests run
# against (tests/setup.sh), restores, builds (warnings are errors) and runs every test project,
# then prints one summary line "tests: N passed, N failed, N skipped" (tests/summarize.sh) and
# exits non-zero unless every test ran and passed.
set -euo pipefail
cd "$(dirname "$0")/.."

# --fast: the unit tier alone (tests tagged Tier=Integration left out), which needs nothing from
# tests/setup.sh and runs in well under a minute. Without it: everything, after setup.
filter=()
case "${1:-}" in
  --fast) filter=(--filter "Tier!=Integration") ;;
  "") bash tests/setup.sh ;;
  *) echo "tests/run.sh: unknown option $1 (--fast runs the unit tier only)" >&2; exit 2 ;;
esac

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet restore IoVirt.sln
# dotnet-counters (.config/dotnet-tools.json), which reads the daemons' meters in a test.
dotnet tool restore > /dev/null
dotnet build IoVirt.sln --no-restore -nologo
# The nested-KVM tests run the native iovirt in their L1 guest, which has no .NET runtime.
[ "${1:-}" = --fast ] || bash backends/IoVirt.Cli/publish-aot.sh > /dev/null
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test IoVirt.sln --no-build -nologo "${filter[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run; an aborted run (a crashed test host) is a failure there too.
bash tests/summarize.sh "$log" "$status"
