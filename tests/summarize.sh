#!/usr/bin/env bash
# Usage: tests/summarize.sh LOG STATUS
# Reads the output of `dotnet test` (LOG) and its exit status (STATUS), prints the plain closing
# line "tests: N passed, N failed, N skipped" and exits non-zero unless the run passed whole.
# A run that aborted (a crashed test host counts no failure in any per-assembly line, and may
# print none) or that failed with no failed test counted is reported as one failure more, with
# the reason, so the summary line never says "0 failed" for a red run.
set -euo pipefail
log=$1 status=$2
awk -F'[:,]' -v status="$status" '
  /^(Passed|Failed)! +- Failed:/ { f += $2; p += $4; s += $6; n++ }
  /^Test Run Aborted\.|The active test run was aborted/ { aborted++ }
  /The active test run was aborted/ { sub(/^.*Reason: /, ""); print "tests: the run aborted: " $0 > "/dev/stderr" }
  END {
    if (aborted) { f++ }
    else if (n == 0) { print "tests: no test assembly reported" > "/dev/stderr"; f++ }
    else if (status != 0 && f == 0) { print "tests: dotnet test failed (exit " status ") with no failed test counted" > "/dev/stderr"; f++ }
    printf "tests: %d passed, %d failed, %d skipped\n", p, f, s
    exit (f > 0 || status != 0) ? 1 : 0
  }' "$log"
