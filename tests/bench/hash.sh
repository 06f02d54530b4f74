#!/usr/bin/env bash
# spindle hash against the tools a backup script uses today: xxh128sum over
# `find -print0 | xargs -0 -P2` (two processes, one per core here), single-threaded xxh128sum,
# and b3sum when it is installed; warm cache, and cold cache when root. Prints ratios to
# spindle's time (above 1: the peer is slower) and checks that every listing agrees.
#
#   tests/bench/hash.sh [CORPUS_DIR] [--spindle PATH] [--runs N] [--cold-runs N]
#
# CORPUS_DIR defaults to tests/bench/work/corpus/quick (run.sh --quick makes it). Writes only
# under tests/bench/work/hash/. Not part of ctest: it measures the machine as much as the code.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$here/work/hash
corpus=$here/work/corpus/quick
spindle=$here/../../build/release/spindle
runs=5
cold_runs=2
while (($#)); do
  case $1 in
    --spindle) spindle=$2; shift ;;
    --runs) runs=$2; shift ;;
    --cold-runs) cold_runs=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) corpus=$1 ;;
  esac
  shift
done
[[ -d $corpus ]] || { echo "hash.sh: no corpus at $corpus (make one with run.sh --quick)"; exit 1; }
command -v hyperfine >/dev/null || { echo "hash.sh: needs hyperfine"; exit 1; }
command -v xxh128sum >/dev/null || { echo "hash.sh: needs xxh128sum (package xxhash)"; exit 1; }
spindle=$(cd "$(dirname "$spindle")" && pwd)/$(basename "$spindle")
rm -rf -- "$work"
mkdir -p "$work"
cd "$corpus"

declare -A commands=(
  [spindle]="$spindle hash --progress never . >$work/spindle.out"
  [xargs-P2]="find . -type f -print0 | xargs -0 -P2 -n 256 xxh128sum >$work/xargs-P2.out"
  [xxh128sum]="find . -type f -print0 | xargs -0 xxh128sum >$work/xxh128sum.out"
)
if command -v b3sum >/dev/null; then
  commands[b3sum]="find . -type f -print0 | xargs -0 b3sum >/dev/null"
fi
order=(spindle xargs-P2 xxh128sum)
[[ -v commands[b3sum] ]] && order+=(b3sum)

# The listings agree (sorted: the peers list in find's order).
for tool in spindle xargs-P2 xxh128sum; do
  bash -c "${commands[$tool]}"
  LC_ALL=C sort "$work/$tool.out" >"$work/$tool.sorted"
done
cmp -s "$work/spindle.sorted" "$work/xxh128sum.sorted" || { echo "hash.sh: spindle's listing differs from xxh128sum's"; exit 1; }
# Two xxh128sum processes share one output file: their stdio buffers can interleave mid-line.
cmp -s "$work/xargs-P2.sorted" "$work/xxh128sum.sorted" ||
  echo "note: the xargs -P2 listing differs from xxh128sum's ($(LC_ALL=C comm -3 "$work/xargs-P2.sorted" "$work/xxh128sum.sorted" | wc -l) lines): its two writers interleaved"
echo "corpus: $corpus ($(wc -l <"$work/spindle.out") files, $(du -sh . | cut -f1)); load: $(cut -d' ' -f1-3 /proc/loadavg)"

measure() {  # measure LABEL EXTRA_HYPERFINE_ARGS...
  local label=$1
  shift
  local args=()
  for tool in "${order[@]}"; do
    args+=(-n "$tool" "${commands[$tool]}")
  done
  hyperfine --style none --export-json "$work/$label.json" "$@" "${args[@]}" >/dev/null
  python3 - "$work/$label.json" "$label" <<'PY'
import json, sys
results = {r["command"]: r["mean"] for r in json.load(open(sys.argv[1]))["results"]}
base = results["spindle"]
print("%s: spindle %.3f s; " % (sys.argv[2], base) +
      ", ".join("%s %.2fx" % (name, t / base) for name, t in results.items() if name != "spindle"))
PY
}

measure warm --warmup 1 --runs "$runs"
if [[ $(id -u) -eq 0 && $cold_runs -gt 0 ]]; then
  measure cold --runs "$cold_runs" --prepare 'sync; echo 3 > /proc/sys/vm/drop_caches'
else
  echo "cold: skipped (needs root to drop the page cache)"
fi
