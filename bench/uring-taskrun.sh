#!/usr/bin/env bash
# Whether io_uring's other ways of delivering completions would serve the blk engine better
# than the default it uses: COOP_TASKRUN|TASKRUN_FLAG (no interrupting the task to post them)
# and SINGLE_ISSUER|DEFER_TASKRUN (posted only when the one submitting thread enters the kernel).
# bench/uring-taskrun.c reads 4 KiB blocks at random at depths 1 and 32 from one thread, as an
# engine's queue worker does, on the two kinds of image the engine meets: a buffered file on tmpfs
# (io_uring hands those reads to its kernel workers) and an O_DIRECT file on the machine's disk
# (completed by the disk's interrupt). The setups take turns within each round; prints each
# one's median IOPS, [min-max] and ratio to the default, and io_uring_enter calls per I/O.
#
# Environment: RUNS rounds (default 5), RUNTIME seconds per run (default 3), CPU to pin to
# (default 1), DISK_DIR for the O_DIRECT image (default /var/tmp; it must not be a tmpfs), SIZE
# of each image (default 1G).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
runtime=${RUNTIME:-3}
cpu=${CPU:-1}
disk_dir=${DISK_DIR:-/var/tmp}
size=${SIZE:-1G}

missing=()
for p in gcc liburing-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "uring-taskrun: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /dev/shm/iovirt-uring-XXXXXX)
disk_image="$disk_dir/iovirt-uring-$$.img"
trap 'rm -rf "$work" "$disk_image"' EXIT
gcc -O2 -Wall -Werror -o "$work/uring-taskrun" bench/uring-taskrun.c -luring
head -c "$size" /dev/urandom >"$work/tmpfs.img"
head -c "$size" /dev/urandom >"$disk_image"

results="$work/results.tsv"
: >"$results"
setups=(default coop defer)
for run in $(seq "$runs"); do
  # Rotate who goes first, so no setup always follows the same one.
  order=("${setups[@]:$((run % 3))}" "${setups[@]:0:$((run % 3))}")
  for image in tmpfs disk; do
    for depth in 1 32; do
      for setup in "${order[@]}"; do
        if [ "$image" = tmpfs ]; then file="$work/tmpfs.img" direct=0; else file="$disk_image" direct=1; fi
        line=$(taskset -c "$cpu" "$work/uring-taskrun" "$file" "$setup" "$depth" "$runtime" "$direct")
        echo "  run $run: $line"
        iops=$(sed -E 's/.*: ([0-9]+) IOPS.*/\1/' <<<"$line")
        enters=$(sed -E 's/.*IOPS, ([0-9.]+) io_uring_enter.*/\1/' <<<"$line")
        printf '%s\t%s\t%s\t%s\t%s\n' "$image" "$depth" "$setup" "$iops" "$enters" >>"$results"
      done
    done
  done
done

python3 - "$results" "$runs" "$runtime" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
print(f"\n4 KiB random reads, one thread, {sys.argv[2]} rounds of {sys.argv[3]} s (IOPS median [min-max], ratio to default, io_uring_enter per I/O)")
for image, label in (("tmpfs", "buffered on tmpfs"), ("disk", "O_DIRECT on disk")):
    for depth in ("1", "32"):
        base = None
        for setup in ("default", "coop", "defer"):
            iops = [float(r[3]) for r in rows if r[:3] == [image, depth, setup]]
            enters = statistics.median(float(r[4]) for r in rows if r[:3] == [image, depth, setup])
            median = statistics.median(iops)
            base = base or median
            print(f"{label:<18} QD{depth:<3} {setup:<8} {median:>10,.0f} [{min(iops):,.0f}-{max(iops):,.0f}] {median / base:5.2f}x {enters:5.2f}")
PY
