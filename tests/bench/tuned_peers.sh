#!/usr/bin/env bash
# The peers hand-tuned: the thread settings a user could try, against spindle at its defaults.
# Of the Debian peers only rmlint has one (`-t/--threads N`, default 16; it also takes a faster
# hash, `-a xxhash`, tried at 4 and 16 threads; threads tried: 1, 4, 16, 64); fdupes, jdupes, rdfind and duff are
# single-threaded. fclones (`-t N`, and `--threads` per device) is measured too when installed.
#
#   tests/bench/tuned_peers.sh [--runs N] [--cold-runs N] [--spindle PATH] DIR...
#
# Per DIR: spindle at its defaults, then every setting, warm (hyperfine, after a warmup) and
# cold (caches dropped; root). Prints a markdown table per DIR: the best setting warm and cold
# and spindle's ratio to it. Writes only under tests/bench/work/tuned/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$here/work/tuned
spindle=$here/../../build/release/spindle
runs=3
cold_runs=1
dirs=()
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --cold-runs) cold_runs=$2; shift ;;
    --spindle) spindle=$2; shift ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) dirs+=("$(cd "$1" && pwd)") ;;
  esac
  shift
done
((${#dirs[@]})) || { echo "tuned_peers.sh: name at least one directory" >&2; exit 2; }
rm -rf -- "$work"
mkdir -p "$work"
cp "$spindle" "$work/spindle"
rt=""
chrt -f 50 true 2>/dev/null && rt="chrt -f 50"
((EUID == 0)) || cold_runs=0
for dir in "${dirs[@]}"; do
  name=$(basename "$dir")
  cmds=(-n "spindle (defaults)" "$rt $work/spindle group --progress never -o $work/spindle.out $dir")
  for t in 1 4 16 64; do
    cmds+=(-n "rmlint -t $t" "rm -f $work/rm.json; $rt rmlint -T df -r -L -F -t $t -o json:$work/rm.json $dir")
  done
  for t in 4 16; do
    cmds+=(-n "rmlint -t $t -a xxhash" "rm -f $work/rm.json; $rt rmlint -T df -r -L -F -t $t -a xxhash -o json:$work/rm.json $dir")
  done
  if command -v fclones >/dev/null; then
    for t in 1 2 4 8 16; do
      cmds+=(-n "fclones -t $t" "$rt fclones group --hidden --no-ignore -t $t -o $work/fc.out $dir")
    done
  fi
  load0=$(cut -d' ' -f1 /proc/loadavg)
  hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$work/$name-warm.json" "${cmds[@]}" >"$work/$name-warm.log" 2>&1
  if ((cold_runs > 0)); then
    hyperfine --style basic --runs "$cold_runs" --prepare 'sync; echo 3 > /proc/sys/vm/drop_caches' \
      --export-json "$work/$name-cold.json" "${cmds[@]}" >"$work/$name-cold.log" 2>&1
  fi
  python3 - "$work" "$name" "$load0" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
from pathlib import Path
work, name, l0, l1 = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
print(f"#### `{name}`: peers hand-tuned (load average {l0} -> {l1})\n")
modes = [m for m in ("warm", "cold") if (work / f"{name}-{m}.json").exists()]
res = {m: {r["command"]: r["median"] for r in json.load(open(work / f"{name}-{m}.json"))["results"]} for m in modes}
print("| setting | " + " | ".join(modes) + " |")
print("|---|" + "---:|" * len(modes))
for cmd in res[modes[0]]:
    print(f"| {cmd} | " + " | ".join(f"{res[m][cmd]:.3f} s" for m in modes) + " |")
print()
for m in modes:
    sp = res[m]["spindle (defaults)"]
    best = min((v, k) for k, v in res[m].items() if not k.startswith("spindle"))
    print(f"- {m}: best hand-tuned peer `{best[1]}` {best[0]:.3f} s, spindle {sp:.3f} s: **{best[0] / sp:.2f}x**")
print()
PY
done
