#!/usr/bin/env bash
# Benchmark spindle against its peers, side by side, on the same corpora in one run.
#
#   tests/bench/run.sh [--quick] [--corpus DIR]... [--spindle PATH] [options]
#
# See tests/bench/README.md. Everything generated (corpora, tool outputs, timings, the report)
# goes under tests/bench/work/, which is gitignored; nothing outside it is written or deleted,
# except that missing peers are installed with apt-get (as root) and spindle is built in build/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$here/work
python=${PYTHON:-python3}

usage() {
  cat <<'EOF'
Usage: tests/bench/run.sh [options]

  --quick            a 10k-file corpus, 3 warm runs, 1 cold run, no 1M-file memory run,
                     a 256 MiB hashing pair (a few minutes)
  --corpus DIR       benchmark DIR instead of the generated corpora (repeatable)
  --also-corpus DIR  benchmark DIR as well as the generated corpora (repeatable; e.g. the
                     npm tree real_tree.sh installs), in the same run, so the ratios sit side by side
  --spindle PATH     use this binary instead of building build/release/spindle
  --spindle-args ARGS  extra arguments for every `spindle group` run (e.g. "-t 16")
  --runs N           warm-cache runs per tool (default 5; --quick 3)
  --cold-runs N      cold-cache runs per tool (default 3; --quick 1; 0 = no cold runs)
  --no-million       skip the 1M-file memory measurement
  --wait-quiet MIN   first wait up to MIN minutes for the 1-minute load average to fall below 1
  --timeout SECONDS  give up on one tool run after this long (default 900)
  --million-timeout SECONDS  the same for the 1M-file runs (default 600)
  -h, --help         this text
EOF
}

quick=0
corpora=()
also=()
spindle=""
spindle_args=""
runs=""
cold_runs=""
million=1
timeout_s=900
million_timeout_s=600
wait_quiet=0
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --corpus) corpora+=("$(cd "$2" && pwd)"); shift ;;
    --also-corpus) also+=("$(cd "$2" && pwd)"); shift ;;
    --spindle) spindle=$(realpath "$2"); shift ;;
    --spindle-args) spindle_args=$2; shift ;;
    --runs) runs=$2; shift ;;
    --cold-runs) cold_runs=$2; shift ;;
    --no-million) million=0 ;;
    --timeout) timeout_s=$2; shift ;;
    --million-timeout) million_timeout_s=$2; shift ;;
    --wait-quiet) wait_quiet=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if ((quick)); then
  runs=${runs:-3}
  cold_runs=${cold_runs:-1}
  million=0
  bigpair_mib=256
else
  runs=${runs:-5}
  cold_runs=${cold_runs:-3}
  bigpair_mib=1024
fi

log() { printf '\n== %s\n' "$*" >&2; }
warn() { printf 'run.sh: %s\n' "$*" >&2; }

mkdir -p "$work"
# One run at a time: a second run.sh would clear this one's results and fight for the disk.
exec 9>"$work/.lock"
if ! flock -n 9; then
  warn "another run.sh is using $work; wait for it to finish"
  exit 1
fi
results=$work/results
outputs=$work/out
# Only this run's numbers go into the report: clear the previous run's (inside work/ only).
rm -rf -- "$results" "$outputs"
mkdir -p "$results" "$outputs"

# --- tools -------------------------------------------------------------------------------------

# The peers and measuring tools come from Debian 12; install what is missing (root only).
missing=()
for pair in fdupes:fdupes jdupes:jdupes rdfind:rdfind rmlint:rmlint duff:duff hyperfine:hyperfine \
  /usr/bin/time:time; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  if ((EUID == 0)); then
    log "installing ${missing[*]}"
    apt-get install -y --no-install-recommends "${missing[@]}" ||
      { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } ||
      warn "could not install ${missing[*]}; continuing without them"
  else
    warn "not root: cannot install ${missing[*]}; those tools are skipped"
  fi
fi
for needed in hyperfine /usr/bin/time "$python"; do
  command -v "$needed" >/dev/null || { warn "$needed is required"; exit 1; }
done
is_root=0
((EUID == 0)) && is_root=1

# spindle: build the release preset unless a binary was given; only the spindle target, so a
# test that does not compile yet (the code is written by others at the same time) does not keep
# the binary from being rebuilt. A failed build must not stop the peers from being measured.
spindle_ok=0
spindle_build="given with --spindle"
if [[ -z $spindle ]]; then
  spindle=$repo/build/release/spindle
  log "building spindle (release preset; log in $work/build.log)"
  if (cd "$repo" && { [[ -f build/release/CMakeCache.txt ]] || cmake --preset release; } &&
    cmake --build --preset release --target spindle) >"$work/build.log" 2>&1; then
    spindle_build="built from the working tree"
  else
    spindle_build="BUILD FAILED: an older binary, if any, was measured"
    warn "spindle build failed (see $work/build.log); using an older binary if there is one"
  fi
fi
if [[ -x $spindle ]]; then
  # Measure a snapshot: others may rebuild build/release while the benchmark runs.
  cp "$spindle" "$work/spindle"
  spindle=$work/spindle
  # A smoke test on a tiny tree, so a spindle that cannot yet produce a report is reported as
  # such instead of as a suspiciously fast tool.
  smoke=$work/smoke
  rm -rf -- "$smoke"
  mkdir -p "$smoke/t"
  echo same >"$smoke/t/a" && echo same >"$smoke/t/b" && echo other >"$smoke/t/c"
  # shellcheck disable=SC2086 # spindle_args is a list of words on purpose
  if timeout 60 "$spindle" group --progress never $spindle_args --format json -o "$smoke/out.json" "$smoke/t" \
    2>"$smoke/stderr" && "$python" "$here/compare_groups.py" "spindle=spindle-json:$smoke/out.json" >/dev/null; then
    spindle_ok=1
  else
    warn "spindle at $spindle does not produce a report yet ($(head -c 300 "$smoke/stderr")); measuring the peers only"
  fi
else
  warn "no spindle binary at $spindle; measuring the peers only"
fi

# --- corpora -----------------------------------------------------------------------------------

# generate NAME ARGS...: make work/corpus/NAME unless its manifest (written last) says it is
# complete. An interrupted generation leaves a tree without a manifest: start it again.
generate() {
  local name=$1
  shift
  local dir=$work/corpus/$name
  if [[ -f $dir.json ]]; then
    return
  fi
  log "generating corpus $name"
  rm -rf -- "$dir"
  mkdir -p "$work/corpus"
  "$python" "$here/make_corpus.py" --out "$dir" "$@"
}

names=()
dirs=()
if ((${#corpora[@]})); then
  for d in "${corpora[@]}"; do
    names+=("$(basename "$d")")
    dirs+=("$d")
  done
elif ((quick)); then
  generate quick --preset small --seed 1 --files 10000 --wide-files 500 --many-dirs 200 \
    --same-size-sets 60 --prefix-sets 50 --presuf-sets 30 --odd-names 30
  names=(quick)
  dirs=("$work/corpus/quick")
else
  generate small --preset small --seed 1
  generate synthetic --preset synthetic --seed 2
  names=(small synthetic)
  dirs=("$work/corpus/small" "$work/corpus/synthetic")
fi
for d in "${also[@]}"; do
  names+=("$(basename "$(dirname "$d")")-$(basename "$d")")
  dirs+=("$d")
done
if ((million)); then
  generate million --preset million --seed 3
fi
# Two identical large files: hashing throughput is compared with cat reading the same bytes.
bigpair=$work/corpus/bigpair-$bigpair_mib
if [[ ! -f $bigpair.done ]]; then
  log "generating $bigpair ($bigpair_mib MiB x 2)"
  rm -rf -- "$bigpair"
  mkdir -p "$bigpair"
  head -c "$((bigpair_mib << 20))" /dev/urandom >"$bigpair/a"
  cp "$bigpair/a" "$bigpair/b"
  touch "$bigpair.done"
fi

# --- measuring ---------------------------------------------------------------------------------

drop_caches='sync; echo 3 > /proc/sys/vm/drop_caches'
if ((cold_runs > 0 && !is_root)); then
  warn "not root: cannot drop the page cache, so no cold-cache runs"
  cold_runs=0
fi

q() { printf '%q' "$1"; }

# tool_command TOOL DIR OUT: the shell command that runs TOOL on DIR with its output in OUT
# (empty when the tool is not available). The flags are the comparable settings from
# /work/shared/design.md: hidden files in, empty files out, one path per hard-linked inode,
# symlinks not followed.
tool_command() {
  local tool=$1 dir out
  dir=$(q "$2")
  out=$(q "$3")
  local t="timeout -k 10 $timeout_s"
  case $tool in
    spindle) ((spindle_ok)) && echo "$t $(q "$spindle") group --progress never $spindle_args --format fdupes -o $out $dir" ;;
    spindle-walk) ((spindle_ok)) && echo "$t $(q "$spindle") group --progress never $spindle_args --min-size 1T -o $out $dir" ;;
    fdupes) command -v fdupes >/dev/null && echo "$t fdupes -r -n -q $dir >$out" ;;
    jdupes) command -v jdupes >/dev/null && echo "$t jdupes -r -q $dir >$out" ;;
    rdfind) command -v rdfind >/dev/null &&
      echo "$t rdfind -dryrun true -ignoreempty true -removeidentinode true -followsymlinks false -outputname $out $dir >/dev/null" ;;
    rmlint) command -v rmlint >/dev/null && echo "$t rmlint -T df -r -L -F -o json:$out $dir" ;;
    duff) command -v duff >/dev/null && echo "$t duff -r -a -z -p $dir >$out" ;;
    fclones) command -v fclones >/dev/null && echo "$t fclones group --hidden --no-ignore --format fdupes -o $out $dir" ;;
    find) printf '%s\n' "$t find $dir -type f -printf '%s\\n' >/dev/null" ;;
    cat) echo "$t cat $(q "$2")/a $(q "$2")/b >/dev/null" ;;
  esac
  return 0
}

# measure CORPUS TOOL DIR [MODES]: warm (hyperfine), then one /usr/bin/time -v run (CPU, peak
# RSS, and the output the groups are compared from), then cold (hyperfine, caches dropped).
measure() {
  local corpus=$1 tool=$2 dir=$3 modes=${4:-warm time cold}
  local res=$results/$corpus out=$outputs/$corpus/$tool.out cmd
  mkdir -p "$res" "$outputs/$corpus"
  cmd=$(tool_command "$tool" "$dir" "$out")
  [[ -n $cmd ]] || return 0
  # rmlint renames an existing output file instead of replacing it: remove it before each run.
  local prep
  prep="rm -f $(q "$out")"
  if [[ $modes == *warm* ]]; then
    echo "   $tool: warm, $runs runs" >&2
    hyperfine --style basic --warmup 1 --runs "$runs" --ignore-failure --prepare "$prep" \
      --command-name "$tool" --export-json "$res/warm-$tool.json" "$cmd" >"$res/warm-$tool.log" 2>&1 ||
      warn "hyperfine failed for $tool on $corpus (see $res/warm-$tool.log)"
  fi
  if [[ $modes == *time* ]]; then
    eval "$prep"
    # exec, so /usr/bin/time measures the tool itself rather than a shell around it.
    /usr/bin/time -v -o "$res/time-$tool.txt" bash -c "exec $cmd" >/dev/null 2>"$res/time-$tool.stderr" ||
      warn "$tool failed on $corpus (exit status in $res/time-$tool.txt)"
  fi
  if [[ $modes == *cold* ]] && ((cold_runs > 0)); then
    echo "   $tool: cold, $cold_runs runs" >&2
    hyperfine --style basic --runs "$cold_runs" --ignore-failure --prepare "$prep; $drop_caches" \
      --command-name "$tool" --export-json "$res/cold-$tool.json" "$cmd" >"$res/cold-$tool.log" 2>&1 ||
      warn "hyperfine (cold) failed for $tool on $corpus (see $res/cold-$tool.log)"
  fi
}

quiet() { awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l < 1.0) }'; }
if ((wait_quiet > 0)) && ! quiet; then
  log "waiting up to $wait_quiet min for the load average to fall below 1"
  deadline=$(($(date +%s) + wait_quiet * 60))
  until quiet || (($(date +%s) > deadline)); do sleep 20; done
fi

started=$(date +%s)
# Two cores: anything else running (a compiler, say) shows up in every number. Record it.
load_start=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load_start" 'BEGIN { exit !(l > 0.5) }'; then
  warn "load average is $load_start: other work on this machine will skew the timings"
fi
peers=(fdupes jdupes rdfind rmlint duff fclones)
for i in "${!names[@]}"; do
  corpus=${names[$i]}
  dir=${dirs[$i]}
  log "corpus $corpus: $dir"
  for tool in spindle "${peers[@]}" find spindle-walk; do
    measure "$corpus" "$tool" "$dir"
  done
  # The groups: spindle's JSON report is the reference (the fdupes format cannot carry a
  # newline in a name unambiguously); the generator's planted groups are checked too.
  specs=()
  if ((spindle_ok)); then
    # shellcheck disable=SC2086
    timeout "$timeout_s" "$spindle" group --progress never $spindle_args --format json \
      -o "$outputs/$corpus/spindle.json" "$dir" 2>/dev/null || true
    if "$python" "$here/compare_groups.py" "s=spindle-json:$outputs/$corpus/spindle.json" >/dev/null 2>&1; then
      specs+=("spindle=spindle-json:$outputs/$corpus/spindle.json" "spindle-fdupes-format=fdupes:$outputs/$corpus/spindle.out")
    else
      specs+=("spindle=fdupes:$outputs/$corpus/spindle.out")
    fi
  fi
  manifest=$work/corpus/$corpus.json
  [[ -f $manifest && ${#corpora[@]} -eq 0 ]] && specs+=("generator=manifest:$manifest")
  for tool in fdupes jdupes fclones; do
    [[ -f $outputs/$corpus/$tool.out ]] && specs+=("$tool=fdupes:$outputs/$corpus/$tool.out")
  done
  [[ -f $outputs/$corpus/rdfind.out ]] && specs+=("rdfind=rdfind:$outputs/$corpus/rdfind.out")
  [[ -f $outputs/$corpus/rmlint.out ]] && specs+=("rmlint=rmlint:$outputs/$corpus/rmlint.out")
  [[ -f $outputs/$corpus/duff.out ]] && specs+=("duff=duff:$outputs/$corpus/duff.out")
  if ((${#specs[@]} > 1)); then
    "$python" "$here/compare_groups.py" --cwd "$dir" --json-out "$results/$corpus/compare.json" "${specs[@]}" \
      >"$results/$corpus/compare.txt" 2>&1 || true
  fi
done

# Hashing throughput on one cached pair of identical large files (spindle must read both fully).
log "hashing throughput: $bigpair"
measure bigpair cat "$bigpair" warm
measure bigpair spindle "$bigpair" warm

# Memory per file: one run each on a million tiny files, and spindle on an empty tree, so the
# fixed cost can be subtracted.
if ((million)); then
  log "memory per file: 1M files"
  mkdir -p "$work/empty"
  measure empty spindle "$work/empty" time
  # Some peers take many minutes on a million files; a timeout is a result too.
  timeout_s=$million_timeout_s
  for tool in spindle "${peers[@]}" find; do
    echo "   $tool" >&2
    measure million "$tool" "$work/corpus/million" time
  done
fi

# --- report ------------------------------------------------------------------------------------

meta=$results/meta.env
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "elapsed_s=$(($(date +%s) - started))"
  echo "quick=$quick"
  echo "runs=$runs"
  echo "cold_runs=$cold_runs"
  echo "spindle=$spindle"
  echo "spindle_ok=$spindle_ok"
  echo "spindle_build=$spindle_build"
  echo "spindle_args=$spindle_args"
  # The build is of the working tree, which others edit: say when it was not a clean commit.
  echo "spindle_commit=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"
  echo "corpora=${names[*]}"
  echo "load=$load_start $(cut -d' ' -f1 /proc/loadavg)"
  echo "bigpair_mib=$bigpair_mib"
} >"$meta"
"$python" "$here/summarize.py" --work "$work" --corpora "${names[@]}" --csv "$work/ratios.csv" | tee "$work/latest.md"
