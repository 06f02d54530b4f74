# Sourced, not run: real block devices for the root-only tests and benchmarks. Provides
#   skip REASON          print "SKIP: REASON" and exit 77 (ctest's skipped)
#   make_device NAME ROTATIONAL SIZE_MB
#                        an ext4 image on a loop device, mounted at $work/NAME, its rotational
#                        flag set; sets $device to the loop device's MAJ:MIN
#   release_devices      unmount and detach everything made (call it from the script's EXIT trap)
#   begin_loop_test NAME [TOOL...]
#                        what every loop-device test starts with: skip unless root with losetup,
#                        mkfs.ext4, mount, umount, python3 and the TOOLs, and $SPINDLE set; then
#                        $work, a temporary directory that the EXIT trap removes after
#                        release_devices (a script with more to clean sets its own trap after)
# The caller sets $work (a temporary directory) before make_device, or calls begin_loop_test.

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

begin_loop_test() {
  local name=$1 tool
  shift
  [[ $(id -u) -eq 0 ]] || skip "needs root (losetup, mount, /sys/block/loopN/queue/rotational)"
  for tool in losetup mkfs.ext4 mount umount python3 "$@"; do
    command -v "$tool" >/dev/null || skip "$tool not found"
  done
  : "${SPINDLE:?SPINDLE must name the spindle binary}"
  work=$(mktemp -d "/tmp/spindle-$name.XXXXXX")
  # Runs on every exit, failed assertions included: nothing stays mounted or attached.
  trap 'set +e; release_devices; rm -rf "$work"' EXIT
  trap 'exit 130' INT TERM
}
