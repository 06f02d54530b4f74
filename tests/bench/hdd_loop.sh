#!/usr/bin/env bash
# The rotational case: a loop-mounted ext4 image marked rotational (so spindle gives it one
# reader, reading in physical order), holding a copy of a corpus; then run.sh on it, cold and
# warm, side by side with the peers. Root only.
#
#   tests/bench/hdd_loop.sh [CORPUS_DIR] [run.sh options...]
#
# CORPUS_DIR defaults to tests/bench/work/corpus/small (make it with run.sh --quick or
# make_corpus.py). The image lives under tests/bench/work/ and is removed afterwards.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$here/work
corpus=${1:-$work/corpus/small}
shift || true
[[ $(id -u) -eq 0 ]] || { echo "hdd_loop.sh: needs root (losetup, mount)"; exit 1; }
[[ -d $corpus ]] || { echo "hdd_loop.sh: no corpus at $corpus"; exit 1; }

image=$work/hdd.img
mnt=$work/hdd
loop=""
cleanup() {
  set +e
  mountpoint -q "$mnt" && umount "$mnt"
  [[ -n $loop ]] && losetup -d "$loop"
  rm -f "$image"
  rmdir "$mnt" 2>/dev/null
}
trap cleanup EXIT

# Twice the corpus plus room for ext4's own metadata.
size_mb=$(($(du -sm "$corpus" | cut -f1) * 2 + 256))
truncate -s "${size_mb}M" "$image"
mkfs.ext4 -q -F "$image"
loop=$(losetup --find --show "$image")
echo 1 >"/sys/block/${loop#/dev/}/queue/rotational"
mkdir -p "$mnt"
mount "$loop" "$mnt"
# cp -a keeps hard links and odd names; the copy is laid out by ext4 the way a fresh disk would.
cp -a "$corpus" "$mnt/corpus"
sync
echo "corpus on $loop (rotational=$(cat "/sys/block/${loop#/dev/}/queue/rotational")) at $mnt/corpus"
"$here/run.sh" --corpus "$mnt/corpus" --no-million "$@"
