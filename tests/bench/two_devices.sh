#!/usr/bin/env bash
# Does a slow device hold up a fast one? Two loop-mounted ext4 images, each read through its own
# cgroup-v1 blkio throttle: a slow "USB disk" (rotational, 2 MiB/s) holding 800 files of 8 KiB
# that differ in their first block (prefix reads only), and a faster disk (40 MiB/s) holding six
# pairs of identical 12 MiB files (whole-file reads). Cold cache, spindle on the slow tree alone,
# the fast tree alone, and both in one run. With a dynamic join, "both" costs about the longer of
# the two; with a barrier per stage it costs their sum.
#
#   tests/bench/two_devices.sh [--spindle PATH] [--runs N] [--check RATIO]
#   tests/bench/two_devices.sh --order [--spindle PATH]
#
# Prints one line per run and the ratio both / max(slow, fast). --check RATIO exits 1 when the
# median ratio is above RATIO.
# --order (tests/devices/test_two_devices.sh) asserts an order instead of a time: the slow disk
# is slowed to 512 KiB/s, so its prefix reads take about twice as long as all of the fast disk's
# reads, and the kernel's per-device byte counters of the cgroup are watched during one run of
# both: when the fast disk has delivered every byte of its whole-file reads, the slow disk must
# not have delivered all of its prefix reads yet. A barrier between stages makes the fast disk
# wait for the slow one's prefix reads, so this fails without a dynamic join.
# Root only; exits 77 when the machine cannot do it (no root, no loop devices, no blkio controller).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
spindle=${SPINDLE:-$here/../../build/release/spindle}
runs=3
check=""
order=false
slow_bps=$((2 * 1024 * 1024))
fast_bps=$((40 * 1024 * 1024))
while [[ $# -gt 0 ]]; do
  case $1 in
    --spindle) spindle=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --check) check=$2; shift 2 ;;
    --order) order=true; shift ;;
    *) echo "two_devices.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=../devices/loop_devices.sh
source "$here/../devices/loop_devices.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root (losetup, mount, blkio throttles, drop_caches)"
blkio=/sys/fs/cgroup/blkio
[[ -w $blkio/cgroup.procs ]] || skip "no cgroup-v1 blkio controller at $blkio"
[[ -x $spindle ]] || { echo "two_devices.sh: no spindle binary at $spindle" >&2; exit 2; }

work=$(mktemp -d /tmp/spindle-two-devices.XXXXXX)
group=$blkio/spindle-two-devices-$$
cleanup() {
  set +e
  if [[ -d $group ]]; then
    # Move anything left in the group back to the root group, then remove it.
    while read -r pid; do echo "$pid" >"$blkio/cgroup.procs"; done <"$group/cgroup.procs"
    rmdir "$group"
  fi
  release_devices
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_device slow 1 64
slow_dev=$device
make_device fast 0 256
fast_dev=$device
python3 - "$work/slow/tree" "$work/fast/tree" <<'EOF'
import os, random, sys
slow, fast = sys.argv[1], sys.argv[2]
rng = random.Random(9)
os.makedirs(slow)
for i in range(800):  # same size, a different first block each: pruned by the prefix read
    with open(os.path.join(slow, "f%03d" % i), "wb") as f:
        f.write(rng.randbytes(8192))
os.makedirs(fast)
for i in range(6):    # identical pairs: read whole
    data = rng.randbytes(12 * 1024 * 1024)
    for copy in "ab":
        with open(os.path.join(fast, "p%d%s" % (i, copy)), "wb") as f:
            f.write(data)
EOF
sync

mkdir "$group"
$order && slow_bps=$((512 * 1024))
echo "$slow_dev $slow_bps" >"$group/blkio.throttle.read_bps_device"
echo "$fast_dev $fast_bps" >"$group/blkio.throttle.read_bps_device"

# run_cold LABEL PATHS...: seconds of one cold-cache run inside the throttled group.
run_cold() {
  local label=$1 start end
  shift
  sync
  echo 3 >/proc/sys/vm/drop_caches
  start=$(date +%s.%N)
  # The subshell joins the group, then becomes spindle: every thread is throttled.
  (echo "$BASHPID" >"$group/cgroup.procs" && exec "$spindle" group --progress never -q -o "$work/$label.out" "$@")
  end=$(date +%s.%N)
  python3 -c "print('%.3f' % ($end - $start))"
}

# read_bytes MAJ:MIN: bytes read from that device by the cgroup so far.
read_bytes() {
  awk -v dev="$1" '$1 == dev && $2 == "Read" {print $3; found = 1} END {if (!found) print 0}' \
    "$group/blkio.throttle.io_service_bytes"
}

if $order; then
  sync
  echo 3 >/proc/sys/vm/drop_caches
  (echo "$BASHPID" >"$group/cgroup.procs" &&
    exec "$spindle" group --progress never -q -o "$work/both.out" "$work/slow/tree" "$work/fast/tree") &
  pid=$!
  fast_total=$((6 * 2 * 12 * 1024 * 1024))  # every byte of the pairs' whole-file reads
  slow_total=$((800 * 4096))                # every prefix read on the slow disk
  slow_when_fast_done=""
  # Observing, not waiting for something to happen: the loop ends when spindle does.
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -z $slow_when_fast_done && $(read_bytes "$fast_dev") -ge $fast_total ]]; then
      slow_when_fast_done=$(read_bytes "$slow_dev")
    fi
    sleep 0.05
  done
  wait "$pid" || { echo "FAIL: spindle failed (status $?)" >&2; exit 1; }
  groups=$(grep -c '^#' "$work/both.out" || true)
  [[ $groups -eq 6 ]] || { echo "FAIL: expected 6 groups in the report, got $groups" >&2; exit 1; }
  [[ -n $slow_when_fast_done ]] || slow_when_fast_done=$(read_bytes "$slow_dev")
  echo "fast disk done with $slow_when_fast_done of at least $slow_total bytes read from the slow disk"
  if [[ $slow_when_fast_done -ge $slow_total ]]; then
    echo "FAIL: the fast disk's whole-file reads finished only after the slow disk's prefix reads" >&2
    exit 1
  fi
  exit 0
fi

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

slow_times=()
fast_times=()
both_times=()
ratios=()
for ((i = 1; i <= runs; i++)); do
  s=$(run_cold slow "$work/slow/tree")
  f=$(run_cold fast "$work/fast/tree")
  b=$(run_cold both "$work/slow/tree" "$work/fast/tree")
  r=$(python3 -c "print('%.3f' % ($b / max($s, $f)))")
  echo "run $i: slow alone ${s}s, fast alone ${f}s, both ${b}s, both/max ${r}"
  slow_times+=("$s")
  fast_times+=("$f")
  both_times+=("$b")
  ratios+=("$r")
done
# The report of "both" must hold the fast tree's six pairs and nothing from the slow tree.
groups=$(grep -c '^#' "$work/both.out" || true)
[[ $groups -eq 6 ]] || { echo "expected 6 groups in the combined report, got $groups" >&2; exit 1; }
ratio=$(median "${ratios[@]}")
echo "median: slow $(median "${slow_times[@]}")s, fast $(median "${fast_times[@]}")s, both $(median "${both_times[@]}")s, both/max $ratio"
if [[ -n $check ]]; then
  python3 -c "import sys; sys.exit(0 if $ratio <= $check else 1)" || {
    echo "FAIL: both took $ratio x the longer of the two alone (limit $check)" >&2
    exit 1
  }
fi
