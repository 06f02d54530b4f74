#!/bin/sh
# Installs what building and testing spindle needs, from Debian 12 packages only.
# Usage: packaging/install-deps.sh [--clang]   (run as root, or it uses sudo)
# --clang adds clang and libomp (for the clang build and the tsan preset).
set -eu
packages="cmake ninja-build g++ pkg-config libxxhash-dev libcli11-dev libudev-dev libsqlite3-dev libgtest-dev libgmock-dev
python3 e2fsprogs btrfs-progs xfsprogs util-linux mount xxhash fdupes groff-base"
if [ "${1:-}" = "--clang" ]; then
  packages="$packages clang-14 libomp-14-dev libclang-rt-14-dev"
fi
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
