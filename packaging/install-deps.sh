#!/bin/sh
# Installs what building and testing spindle needs, from Debian 12 packages only.
# Usage: packaging/install-deps.sh [--clang] [--deb]   (run as root, or it uses sudo)
# --clang adds clang and libomp (for the clang build and the tsan preset).
# --deb adds what packaging/build-deb.sh and tests/packaging/test_deb.sh need (debhelper, lintian,
# mmdebstrap for the clean root the package is installed in).
# zsh and fish are here for the syntax check of the completions they get (tests/cli/test_completions.py),
# man-db for `man -w` in the package test, Open MPI for spindle-mpi (`group --mpi`) and its tests.
set -eu
packages="cmake ninja-build g++ pkg-config libxxhash-dev libcli11-dev libudev-dev libsqlite3-dev libgtest-dev libgmock-dev
python3 e2fsprogs btrfs-progs xfsprogs util-linux mount xxhash fdupes groff-base zsh fish man-db
libopenmpi-dev openmpi-bin"
for option in "$@"; do
  case $option in
    --clang) packages="$packages clang-14 libomp-14-dev libclang-rt-14-dev" ;;
    --deb) packages="$packages debhelper dpkg-dev lintian git mmdebstrap" ;;
    *) echo "usage: $0 [--clang] [--deb]" >&2; exit 2 ;;
  esac
done
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq
# shellcheck disable=SC2086  # word splitting of the package list is wanted
$as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
