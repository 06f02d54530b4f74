#!/usr/bin/env bash
# How far can a duplicate finder go cold on this machine (issue 15's "cold >= 5x the fastest
# peer")? Runs, cold and interleaved (page cache, dentries and inodes dropped before every run):
#   - the cold floor: floor.cpp --cold --prefix 4096 --threads N, a parallel walk and stat of the
#     tree plus the first 4 KiB of every candidate (a file whose size has a mate), in inode order,
#     with N threads (spindle's default for such reads on an SSD or virtual disk is 16);
#     nothing else: no hashing, no second read of any file, no report;
#   - spindle group;
#   - the peers at their defaults (jdupes, fdupes, rdfind, duff; each only if installed).
# Prints the medians, spindle's ratio to the fastest peer, and the fastest peer's ratio to the
# floor: the most any finder could reach here, since every finder must at least walk the tree
# and read the first block of every candidate.
#
#   tests/bench/cold_floor.sh [DIR] [--spindle PATH] [--rounds N] [--threads N] [--warm]
#
# --warm asks the same of a cached tree (issue 15's "warm >= 3x"): nothing is dropped, every
# command runs once untimed first, and the floor uses one thread per CPU unless --threads says
# otherwise (on cached data more threads only contend; spindle reads with as many).
#
# Root only (dropping the caches). Reports go to a temp dir, deleted at the end; nothing else is
# written. Every command runs under `chrt -f 50`, as floor.sh's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=$here/work/corpus/small
spindle=$(realpath "$here/../../build/release/spindle")
rounds=3
threads=""
warm=0
while (($#)); do
  case $1 in
    --warm) warm=1 ;;
    --spindle) spindle=$(realpath "$2"); shift ;;
    --rounds) rounds=$2; shift ;;
    --threads) threads=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) corpus=$1 ;;
  esac
  shift
done
[[ -n $threads ]] || threads=$( ((warm)) && nproc || echo 16)
((warm)) || [[ $(id -u) == 0 ]] || { echo "cold_floor.sh: needs root (it drops the page cache)"; exit 1; }
[[ -d $corpus ]] || { echo "cold_floor.sh: no corpus at $corpus"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
c++ -O2 -std=c++20 -pthread -o "$tmp/floor" "$here/floor.cpp"
rt=()
command -v chrt >/dev/null && [[ $(id -u) == 0 ]] && rt=(chrt -f 50)

drop() { ((warm)) || { sync; echo 3 >/proc/sys/vm/drop_caches; }; }
cold=(--cold)
((warm)) && cold=()
state=$( ((warm)) && echo warm || echo cold)
now() { date +%s.%N; }
declare -A times
add() { times[$1]+="$2 "; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
timed() {  # timed NAME CMD...: one cold run of CMD, its wall time added to NAME
  local name=$1
  shift
  drop
  local t0
  t0=$(now)
  "${rt[@]}" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || true
  add "$name" "$(echo "$(now) - $t0" | bc)"
}

peers=()
command -v jdupes >/dev/null && peers+=(jdupes)
command -v fdupes >/dev/null && peers+=(fdupes)
command -v rdfind >/dev/null && peers+=(rdfind)
command -v duff >/dev/null && peers+=(duff)

run_peer() {  # run_peer NAME: one timed run of a peer at its defaults
  case $1 in
    jdupes) timed jdupes jdupes -r -q "$corpus" ;;
    fdupes) timed fdupes fdupes -r -n -q "$corpus" ;;
    rdfind) timed rdfind rdfind -dryrun true -ignoreempty true -removeidentinode true -followsymlinks false \
      -outputname "$tmp/rdfind.txt" "$corpus" ;;
    duff) timed duff duff -r -a -z -p "$corpus" ;;
  esac
}

echo "corpus: $corpus; $state; rounds: $rounds; floor threads: $threads; load: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((warm)); then  # fill the caches; these runs are not counted
  "$tmp/floor" "$corpus" --threads "$threads" --runs 1 >/dev/null
  timed warmup "$spindle" group --progress never -o "$tmp/spindle.txt" "$corpus"
  for peer in "${peers[@]}"; do run_peer "$peer"; done
  for peer in "${peers[@]}"; do times[$peer]=""; done
fi
for ((r = 1; r <= rounds; r++)); do
  line=$("${rt[@]}" "$tmp/floor" "$corpus" "${cold[@]}" --prefix 4096 --threads "$threads" --runs 1)
  add floor "$(sed 's/.*floor_s=\([0-9.]*\).*/\1/' <<<"$line")"
  add floor-walk "$(sed 's/.*walk_s=\([0-9.]*\).*/\1/' <<<"$line")"
  add floor-read "$(sed 's/.*read_s=\([0-9.]*\).*/\1/' <<<"$line")"
  [[ $r == 1 ]] && echo "floor: $line"
  timed spindle "$spindle" group --progress never -o "$tmp/spindle.txt" "$corpus"
  for peer in "${peers[@]}"; do run_peer "$peer"; done
done

printf '%-40s %9s\n' "$state, median of $rounds (s)" ""
for key in floor-walk floor-read floor spindle "${peers[@]}"; do
  printf '%-40s %9.3f\n' "$key" "$(median "${times[$key]}")"
done
best=""
for peer in "${peers[@]}"; do
  m=$(median "${times[$peer]}")
  if [[ -z $best ]] || (($(echo "$m < $(median "${times[$best]}")" | bc))); then best=$peer; fi
done
if [[ -n $best ]]; then
  b=$(median "${times[$best]}")
  s=$(median "${times[spindle]}")
  f=$(median "${times[floor]}")
  printf 'fastest peer %s: spindle is %.2fx as fast; the floor is %.2fx as fast as %s; spindle is %.2fx the floor\n' \
    "$best" "$(echo "$b / $s" | bc -l)" "$(echo "$b / $f" | bc -l)" "$best" "$(echo "$s / $f" | bc -l)"
fi
