# Sourced, not run: real block devices for the root-only tests and benchmarks. Provides
#   skip REASON          print "SKIP: REASON" and exit 77 (ctest's skipped)
#   make_device NAME ROTATIONAL SIZE_MB
#                        an ext4 image on a loop device, mounted at $work/NAME, its rotational
#                        flag set; sets $device to the loop device's MAJ:MIN
#   release_devices      unmount and detach everything made (call it from the script's EXIT trap)
# The caller sets $work (a temporary directory) before make_device.

skip() {
  echo "SKIP: $*"
  exit 77
}

loops=()
mounts=()

# Not run in $(...): the arrays must survive.
make_device() {
  local name=$1 rotational=$2 size=$3 loop
  truncate -s "${size}M" "$work/$name.img"
  mkfs.ext4 -q -F "$work/$name.img"
  loop=$(losetup --find --show "$work/$name.img") || skip "cannot attach a loop device here"
  loops+=("$loop")
  # The kernel copies the flag from the backing file's disk; set it to what the test needs.
  echo "$rotational" >"/sys/block/${loop#/dev/}/queue/rotational"
  mkdir "$work/$name"
  mount "$loop" "$work/$name"
  mounts+=("$work/$name")
  device=$(cat "/sys/block/${loop#/dev/}/dev")
}

release_devices() {
  local point loop
  for point in "${mounts[@]}"; do umount "$point" 2>/dev/null || umount -l "$point"; done
  for loop in "${loops[@]}"; do losetup -d "$loop"; done
}
