#!/usr/bin/env bash
# Real block devices, one pool each: two loop-mounted ext4 images, one marked rotational (hdd) and
# one not (ssd), plus a tmpfs (ram) the test mounts itself. Duplicates are spread across all three.
# Checks that `spindle devices` classifies them, that `spindle group` finds the cross-device
# groups exactly, and that its --stats report three pools with the sizes `devices` announced
# (also under --threads hdd:1,ssd:6). Root only: otherwise prints why and exits 77 (skipped).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=loop_devices.sh
source "$here/loop_devices.sh"

begin_loop_test loop

make_device spinning 1 64
make_device solid 0 64
hdd=$work/spinning
ssd=$work/solid
# A tmpfs of our own rather than /dev/shm, which is not always a separate tmpfs (in a chroot with
# /dev bind-mounted it is a plain directory on devtmpfs).
mkdir "$work/ram"
mount -t tmpfs -o size=64m spindle-test "$work/ram" || skip "cannot mount a tmpfs here"
mounts+=("$work/ram")
shm=$work/ram

# Content: the same bytes under different names on different devices, and same-size decoys that
# differ only at the end (they pass the size and prefix stages and must still be told apart).
python3 - "$hdd" "$ssd" "$shm" <<'EOF'
import os, random, sys
hdd, ssd, shm = sys.argv[1:]
rng = random.Random(3)
def blob(n): return bytes(rng.getrandbits(8) for _ in range(n))
big, mid, small = blob(300_000), blob(5000), b"0123456789"
files = {
    (hdd, "big"): big, (ssd, "dir/big copy"): big, (shm, "big"): big,
    (hdd, "mid"): mid, (ssd, "mid"): mid,
    (ssd, "small"): small, (shm, "sub/small"): small,
    (hdd, "decoy"): big[:-1] + b"x", (ssd, "decoy"): big[:-1] + b"y", (shm, "decoy"): big[:-1] + b"z",
    (shm, "unique"): blob(5000),
}
for (root, name), data in files.items():
    path = os.path.join(root, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
EOF

# No calibration from earlier runs on this machine may change the pool sizes under test.
export XDG_CONFIG_HOME=$work/config

"$SPINDLE" devices "$hdd" "$ssd" "$shm" --format json >"$work/devices.json"
"$SPINDLE" devices "$hdd" "$ssd" "$shm" --format json --threads hdd:1,ssd:6 >"$work/devices-flag.json"
"$SPINDLE" devices "$hdd" "$ssd" "$shm" --format json --threads "dev:${loops[1]}:3,2" >"$work/devices-dev.json"
"$SPINDLE" group --stats --format json "$hdd" "$ssd" "$shm" >"$work/group.json"
"$SPINDLE" group --stats --format json --threads hdd:1,ssd:6 "$hdd" "$ssd" "$shm" >"$work/group-flag.json"
"$SPINDLE" devices "$hdd" "$ssd" "$shm"  # the table, for the log

python3 - "$work" "$hdd" "$ssd" "$shm" <<'EOF'
import json, os, sys
work, hdd, ssd, shm = sys.argv[1:]

def load(name):
    with open(os.path.join(work, name)) as f:
        return json.load(f)

def device_of(doc, path):
    """The device whose filesystem holds `path` (by mount point)."""
    best = None
    for device in doc["devices"]:
        for fs in device["filesystems"]:
            point = fs["mount_point"]
            if (path == point or path.startswith(point.rstrip("/") + "/")) and (
                    best is None or len(point) > len(best[1])):
                best = (device, point)
    assert best is not None, "no device listed for %s in %s" % (path, doc)
    return best[0]

failures = []
def check(condition, message):
    if not condition:
        failures.append(message)

# spindle devices: classes by flag and by filesystem type, one device per path.
devices = load("devices.json")
by_role = {role: device_of(devices, path) for role, path in (("hdd", hdd), ("ssd", ssd), ("ram", shm))}
for role, device in by_role.items():
    check(device["class"] == role, "%s device classified %s: %s" % (role, device["class"], device))
    check(device["threads_source"] == "default", "%s pool size not from the defaults: %s" % (role, device))
check(len({d["key"] for d in by_role.values()}) == 3, "three devices expected: %s" % by_role)
check(by_role["hdd"]["threads"] == [1, 1], "hdd default is one reader: %s" % by_role["hdd"])

flagged = load("devices-flag.json")
check(device_of(flagged, ssd)["threads"] == [6, 6], "ssd:6 not applied: %s" % device_of(flagged, ssd))
check(device_of(flagged, ssd)["threads_source"] == "flag", "ssd:6 not shown as a flag")
check(device_of(flagged, hdd)["threads"] == [1, 1], "hdd:1 not applied")
dev_rule = load("devices-dev.json")
check(device_of(dev_rule, ssd)["threads"] == [3, 2], "dev:<loop>:3,2 not applied: %s" % device_of(dev_rule, ssd))
check(device_of(dev_rule, hdd)["threads_source"] == "default", "dev: rule leaked to another device")

# spindle group: exactly the cross-device groups, and one pool per device with its size.
expected_groups = {
    frozenset([hdd + "/big", ssd + "/dir/big copy", shm + "/big"]),
    frozenset([hdd + "/mid", ssd + "/mid"]),
    frozenset([ssd + "/small", shm + "/sub/small"]),
}
for name, sizes in (("group.json", {r: d["threads"] for r, d in by_role.items()}),
                    ("group-flag.json", {"hdd": [1, 1], "ssd": [6, 6], "ram": by_role["ram"]["threads"]})):
    doc = load(name)
    groups = {frozenset(f["path"] for f in g["files"]) for g in doc["groups"]}
    check(groups == expected_groups, "%s: groups %s, expected %s" % (name, groups, expected_groups))
    pools = doc["stats"]["pools"]
    check(len(pools) == 3, "%s: three pools expected: %s" % (name, pools))
    for role, device in by_role.items():
        matching = [p for p in pools if p["device"] == device["name"]]
        check(len(matching) == 1, "%s: no single pool for %s: %s" % (name, device["name"], pools))
        if len(matching) != 1:
            continue
        pool = matching[0]
        check(pool["class"] == role, "%s: pool %s has class %s" % (name, pool["device"], pool["class"]))
        check(pool["threads"] == sizes[role], "%s: pool %s threads %s, expected %s"
              % (name, pool["device"], pool["threads"], sizes[role]))
        check(pool["files"] > 0 and pool["bytes_read"] > 0, "%s: pool %s read nothing: %s" % (name, role, pool))
        check(1 <= pool["max_running"] <= max(pool["threads"]),
              "%s: pool %s ran %s tasks at once with %s threads" % (name, role, pool["max_running"], pool["threads"]))

if failures:
    print("FAIL:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("ok: hdd, ssd and ram devices, %d cross-device groups, three pools sized as configured" % len(expected_groups))
EOF
