#!/usr/bin/env bash
# Builds the Debian package of spindle from a clean clone of this repository's HEAD (what is
# committed, nothing of the work tree) with debhelper, and copies the .deb into OUTDIR.
# Usage: packaging/build-deb.sh OUTDIR
# Needs: packaging/install-deps.sh --deb (debhelper, dpkg-dev, git and the build dependencies).
# The package's maintainer can be set with DEBFULLNAME and DEBEMAIL (default: packaging/debian);
# SPINDLE_JOBS sets the parallel jobs (default: nproc).
set -euo pipefail

if [[ $# -ne 1 || $1 == -* ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
outdir=$(cd "$1" && pwd)

for tool in git dpkg-buildpackage dh dpkg-checkbuilddeps; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found: run packaging/install-deps.sh --deb" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/spindle-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
git clone -q --no-hardlinks "$repo" "$work/spindle"
cd "$work/spindle"
cp -r packaging/debian debian

# One version: the package's upstream version is CMake's project version.
cmake_version=$(sed -n 's/^project(spindle VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb_version=$(dpkg-parsechangelog -S Version)
if [[ ${deb_version%-*} != "$cmake_version" ]]; then
  echo "$0: packaging/debian/changelog is at $deb_version, CMakeLists.txt at $cmake_version: add a changelog entry" >&2
  exit 1
fi
if [[ -n ${DEBEMAIL:-} ]]; then
  maintainer="${DEBFULLNAME:-spindle developers} <$DEBEMAIL>"
  sed -i "s/^Maintainer: .*/Maintainer: $maintainer/" debian/control
fi

dpkg-checkbuilddeps || { echo "$0: missing build dependencies: run packaging/install-deps.sh --deb" >&2; exit 1; }
dpkg-buildpackage -us -uc -b -j"${SPINDLE_JOBS:-$(nproc)}" >"$work/build.log" 2>&1 || { tail -n 80 "$work/build.log"; exit 1; }

found=0
for deb in "$work"/*.deb; do
  [[ -e $deb ]] || continue
  cp "$deb" "$outdir/"
  echo "$outdir/${deb##*/}"
  found=1
done
[[ $found -eq 1 ]] || { echo "$0: dpkg-buildpackage made no .deb" >&2; exit 1; }
