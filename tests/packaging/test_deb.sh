#!/usr/bin/env bash
# Builds the Debian package with packaging/build-deb.sh (from a clean clone of HEAD) and checks
# it: its control fields (Section utils, shlibs Depends, a maintainer), the files it ships (gzipped
# man pages for every command, the action aliases, the completions in Debian's locations, the
# copyright and changelog), lintian's verdict when lintian is installed, and that the unpacked
# tree works: `spindle --version`, `man -w` with MANPATH in the tree, and a small `spindle group`;
# then the same three once the package is installed with apt in a clean Debian 12 root.
# Run by `.ci/run deb` (a full package build takes minutes: not part of ctest).
# Usage: tests/packaging/test_deb.sh [DEB]   (DEB: check this package instead of building one)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/spindle-test-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

if [[ $# -ge 1 ]]; then
  deb=$1
else
  start=$SECONDS
  # The package itself, not its -dbgsym companion.
  deb=$("$repo/packaging/build-deb.sh" "$work/out" | grep '/spindle_[^/]*\.deb$' | tail -n 1)
  echo "built $deb in $((SECONDS - start)) s"
fi
[[ -f $deb ]] || { echo "FAIL: no package at '$deb'" >&2; exit 1; }

# --- control fields
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == spindle ]] && ok "Package: spindle" || fail "Package is '$(field Package)'"
[[ $(field Section) == utils ]] && ok "Section: utils" || fail "Section is '$(field Section)', not utils"
[[ $(field Maintainer) =~ ^.+\ \<[^@\ ]+@[^@\ ]+\>$ ]] && ok "Maintainer: $(field Maintainer)" \
  || fail "Maintainer '$(field Maintainer)' has no address"
cmake_version=$(sed -n 's/^project(spindle VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
[[ $(field Version) == "$cmake_version"-* ]] && ok "Version $(field Version)" \
  || fail "Version $(field Version) is not CMake's $cmake_version"
depends=$(field Depends)
# dh_shlibdeps names the library packages of what the binary links (OpenMP, libudev, SQLite, C++).
depends_names=$(tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/ .*//')
for lib in libc6 libgomp1 libudev1 libsqlite3-0 libstdc++6; do
  grep -qxF -- "$lib" <<<"$depends_names" && ok "Depends on $lib" || fail "Depends lacks $lib: $depends"
done

# --- files
dpkg-deb -c "$deb" | awk '{ sub(/^\./, "", $6); print $6 ($7 == "->" ? " -> " $8 : "") }' >"$work/contents"
expect() { grep -qxF -- "$1" "$work/contents" && ok "ships $1" || fail "does not ship $1"; }
expect /usr/bin/spindle
expect /usr/bin/spindle-mpi
expect "/usr/share/man/man1/spindle-mpi.1.gz -> spindle-group.1.gz"
for page in spindle spindle-group spindle-hash spindle-devices spindle-cache spindle-actions; do
  expect "/usr/share/man/man1/$page.1.gz"
done
for action in link symlink remove move dedupe; do
  expect "/usr/share/man/man1/spindle-$action.1.gz -> spindle-actions.1.gz"
done
expect /usr/share/bash-completion/completions/spindle
expect /usr/share/zsh/vendor-completions/_spindle
expect /usr/share/fish/vendor_completions.d/spindle.fish
expect /usr/share/doc/spindle/copyright
expect /usr/share/doc/spindle/changelog.Debian.gz
if grep -q '\.1$' "$work/contents"; then fail "uncompressed man pages: $(grep '\.1$' "$work/contents")"; fi

# --- lintian
if command -v lintian >/dev/null; then
  if lintian --fail-on error,warning "$deb" >"$work/lintian" 2>&1; then
    ok "lintian: no errors or warnings"
  else
    fail "lintian:"$'\n'"$(cat "$work/lintian")"
  fi
  sed 's/^/  lintian: /' "$work/lintian"
else
  echo "skip: lintian not installed (packaging/install-deps.sh --deb installs it)"
fi

# --- the unpacked tree works
root=$work/root
dpkg -x "$deb" "$root"
spindle=$root/usr/bin/spindle
if version=$("$spindle" --version); then
  [[ $(head -n 1 <<<"$version") == "spindle $cmake_version" ]] && ok "spindle --version: $(head -n 1 <<<"$version")" \
    || fail "spindle --version says: $version"
else
  fail "spindle --version failed"
fi
if command -v man >/dev/null; then
  # spindle-link(1) is a link to spindle-actions(1), which man -w names.
  for page in spindle:spindle spindle-group:spindle-group spindle-link:spindle-actions; do
    where=$(MANPATH=$root/usr/share/man man -w "${page%%:*}" 2>&1) || true
    [[ $where == "$root/usr/share/man/man1/${page#*:}.1.gz" ]] && ok "man -w ${page%%:*}: $where" \
      || fail "man -w ${page%%:*}: $where"
  done
  # The page must also render from the package (gzipped, through the alias).
  MANPATH=$root/usr/share/man MANWIDTH=80 man spindle-link 2>&1 | grep -q 'spindle-actions' \
    && ok "man spindle-link renders spindle-actions(1)" || fail "man spindle-link does not render"
else
  echo "skip: man not installed (man-db): man -w not checked"
fi
tree=$work/tree
mkdir -p "$tree/a" "$tree/b"
printf 'same content\n' >"$tree/a/one"
printf 'same content\n' >"$tree/b/two"
printf 'other\n' >"$tree/a/three"
if out=$("$spindle" group --format csv "$tree" 2>"$work/group.err"); then
  groups=$(grep -c ',2,' <<<"$out" || true)
  [[ $groups -eq 2 && $out == *"$tree/a/one"* && $out == *"$tree/b/two"* && $out != *three* ]] \
    && ok "spindle group finds the one pair" || fail "spindle group output:"$'\n'"$out"
else
  fail "spindle group failed: $(cat "$work/group.err")"
fi

# --- installed in a clean root: a minimal Debian 12 made by mmdebstrap (root and network
# needed), where apt must find every library the binary needs through the package's Depends.
clean=$work/clean
release_clean() {
  for m in proc sys dev; do mountpoint -q "$clean/$m" && umount "$clean/$m"; done
  return 0
}
trap 'release_clean; rm -rf --one-file-system "$work"' EXIT
if [[ $EUID -ne 0 ]]; then
  echo "skip: not root: the package is not installed in a clean root"
elif ! command -v mmdebstrap >/dev/null; then
  echo "skip: mmdebstrap not installed (packaging/install-deps.sh --deb installs it): no clean-root install"
else
  # The archives this machine uses (with -updates and -security: the package was built against
  # their libraries), else Debian's own.
  sources=()
  for list in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    if [[ -f $list ]]; then sources+=("$list"); fi
  done
  if [[ ${#sources[@]} -eq 0 ]]; then
    sources=("deb http://deb.debian.org/debian bookworm main" "deb http://deb.debian.org/debian bookworm-updates main"
      "deb http://deb.debian.org/debian-security bookworm-security main")
  fi
  start=$SECONDS
  if mmdebstrap --variant=apt --include=man-db bookworm "$clean" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1; then
    cp "$deb" "$clean/tmp/spindle.deb"
    # spindle reads /proc/self/mountinfo and udev's view of /sys to place files on devices.
    for m in proc sys dev; do mount --bind "/$m" "$clean/$m"; done
    # mmdebstrap leaves no package lists behind: apt must fetch them to resolve Depends.
    if chroot "$clean" bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/spindle.deb' >"$work/install.log" 2>&1; then
      ok "apt installs the package in a clean Debian 12 root ($((SECONDS - start)) s)"
      version=$(chroot "$clean" spindle --version 2>&1 | head -n 1) || true
      [[ $version == "spindle $cmake_version" ]] && ok "installed: spindle --version: $version" \
        || fail "installed: spindle --version says: $version"
      where=$(chroot "$clean" man -w spindle 2>&1) || true
      [[ $where == /usr/share/man/man1/spindle.1.gz ]] && ok "installed: man -w spindle: $where" \
        || fail "installed: man -w spindle: $where"
      mkdir -p "$clean/tmp/tree/a" "$clean/tmp/tree/b"
      printf 'same content\n' >"$clean/tmp/tree/a/one"
      printf 'same content\n' >"$clean/tmp/tree/b/two"
      out=$(chroot "$clean" spindle group --format fdupes /tmp/tree 2>&1) || true
      [[ $out == $'/tmp/tree/a/one\n/tmp/tree/b/two' ]] && ok "installed: spindle group finds the pair" \
        || fail "installed: spindle group output:"$'\n'"$out"
    else
      fail "apt could not install the package in a clean root:"$'\n'"$(tail -n 20 "$work/install.log")"
    fi
    release_clean
  else
    fail "mmdebstrap could not make a clean root:"$'\n'"$(tail -n 20 "$work/mmdebstrap.log")"
  fi
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all package checks passed"
