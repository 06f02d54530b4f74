#!/usr/bin/env bash
# How close is spindle to the machine on a tree of small files (issue 15)? Times, warm and
# interleaved, `find DIR -type f -printf '%s\n'`, the floor (floor.cpp: walk + stat, then one read of
# each candidate) with one thread and with one thread per CPU, and `spindle group` (one or more
# binaries); prints the medians, spindle's ratio to each floor, and spindle's peak RSS per file.
#
#   tests/bench/floor.sh [DIR] [--spindle PATH]... [--rounds N] [--uring]
#
# --uring also builds and runs uring_probe.cpp (needs liburing-dev): the candidates' open/read/close
# as plain syscalls against io_uring batches of 256, one thread each.
# DIR defaults to tests/bench/work/corpus/million (run.sh makes it). Every command runs under
# `chrt -f 50` when root (a quiet-machine number even while other work runs), in rounds: each
# round runs every command once, in the same order, so drift hits all alike. Reports go to a temp
# dir, deleted at the end; with several --spindle binaries, their reports must be byte-identical.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=$here/work/corpus/million
spindles=()
rounds=5
uring=0
while (($#)); do
  case $1 in
    --spindle) spindles+=("$(realpath "$2")"); shift ;;
    --rounds) rounds=$2; shift ;;
    --uring) uring=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) corpus=$1 ;;
  esac
  shift
done
((${#spindles[@]})) || spindles=("$(realpath "$here/../../build/release/spindle")")
[[ -d $corpus ]] || { echo "floor.sh: no corpus at $corpus"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
c++ -O2 -std=c++20 -pthread -o "$tmp/floor" "$here/floor.cpp"
cpus=$(nproc)
rt=()
[[ $(id -u) == 0 ]] && command -v chrt >/dev/null && rt=(chrt -f 50)

now() { date +%s.%N; }
declare -A times
add() { times[$1]+="$2 "; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "corpus: $corpus; rounds: $rounds; cpus: $cpus; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${spindles[@]}"; do "${rt[@]}" "$s" group --progress never -o "$tmp/warmup.txt" "$corpus"; done
for ((r = 1; r <= rounds; r++)); do
  t0=$(now); "${rt[@]}" find "$corpus" -type f -printf '%s\n' >/dev/null; add find "$(echo "$(now) - $t0" | bc)"
  for threads in 1 "$cpus"; do
    line=$("${rt[@]}" "$tmp/floor" "$corpus" --threads "$threads" --runs 1)
    add "walk-t$threads" "$(sed 's/.*walk_s=\([0-9.]*\).*/\1/' <<<"$line")"
    add "read-t$threads" "$(sed 's/.*read_s=\([0-9.]*\).*/\1/' <<<"$line")"
    add "floor-t$threads" "$(sed 's/.*floor_s=\([0-9.]*\).*/\1/' <<<"$line")"
    [[ $r == 1 ]] && echo "floor --threads $threads: $line"
  done
  for i in "${!spindles[@]}"; do
    t0=$(now); "${rt[@]}" "${spindles[$i]}" group --progress never -o "$tmp/spindle$i.txt" "$corpus"
    add "spindle$i" "$(echo "$(now) - $t0" | bc)"
  done
done
for i in "${!spindles[@]}"; do
  ((i == 0)) || cmp -s "$tmp/spindle0.txt" "$tmp/spindle$i.txt" ||
    { echo "floor.sh: ${spindles[$i]}'s report differs from ${spindles[0]}'s"; exit 1; }
done

printf '%-34s %10s\n' "median of $rounds (s)" ""
for key in find walk-t1 read-t1 floor-t1 "walk-t$cpus" "read-t$cpus" "floor-t$cpus"; do
  printf '%-34s %10.3f\n' "$key" "$(median "${times[$key]}")"
done
files=$(find "$corpus" -type f | wc -l)
for i in "${!spindles[@]}"; do
  m=$(median "${times[spindle$i]}")
  rss=$("${rt[@]}" /usr/bin/time -f '%M' "${spindles[$i]}" group --progress never -o "$tmp/rss.txt" "$corpus" 2>&1 >/dev/null | tail -1)
  printf '%-34s %10.3f  x floor-t1 %.2f  x floor-t%s %.2f  peak RSS %s KiB = %.1f B/file\n' \
    "spindle ${spindles[$i]}" "$m" "$(echo "$m / $(median "${times[floor-t1]}")" | bc -l)" "$cpus" \
    "$(echo "$m / $(median "${times[floor-t$cpus]}")" | bc -l)" "$rss" "$(echo "$rss * 1024 / $files" | bc -l)"
done
if ((uring)); then
  c++ -O2 -std=c++20 -o "$tmp/uring_probe" "$here/uring_probe.cpp" -luring
  "${rt[@]}" "$tmp/uring_probe" "$corpus" --runs "$rounds" || echo "uring_probe: exit $? (77: io_uring refused)"
fi
