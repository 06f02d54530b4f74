#!/usr/bin/env bash
# What `spindle devices` says about a real loop device: the reason for its class (its own
# rotational flag), the key the calibration file uses, its backing file and the device holding
# that file, and which device each PATH argument is on (text and JSON).
# Root only: otherwise prints why and exits 77 (skipped).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=loop_devices.sh
source "$here/loop_devices.sh"

begin_loop_test devout

make_device spinning 1 32
mkdir "$work/spinning/sub"
export XDG_CONFIG_HOME=$work/config SPINDLE_SYSTEM_CONFIG_DIR=$work/etc

"$SPINDLE" devices "$work/spinning/sub" >"$work/devices.txt"
"$SPINDLE" devices --format json "$work/spinning/sub" >"$work/devices.json"
cat "$work/devices.txt"  # for the log

python3 - "$work" "${loops[0]}" "$device" <<'PYEOF'
import json, os, sys
work, loop, devnum = sys.argv[1:]
name = os.path.basename(loop)
image = os.path.join(work, "spinning.img")
path = os.path.join(work, "spinning", "sub")
with open(os.path.join(work, "devices.txt")) as f:
    text = f.read()
with open(os.path.join(work, "devices.json")) as f:
    doc = json.load(f)

def check(ok, what):
    if not ok:
        sys.exit("FAIL: %s\n--- text ---\n%s\n--- json ---\n%s" % (what, text, json.dumps(doc, indent=1)))

lines = text.splitlines()
check("THREADS(short,whole)" in lines[0], "the THREADS column is labelled")
check("%s: hdd: loop device, rotational flag 1" % name in lines, "the class comes with its reason")
check("  calibration key: block:%s" % devnum in lines, "the calibration key is shown")
backing = [line for line in lines if line.startswith("  backing file: ")]
check(len(backing) == 1 and backing[0].startswith("  backing file: %s (on " % image), "the backing file is shown")
check(not backing[0].endswith("(on an unknown device)"), "the device holding the backing file is named")
check(any(line.startswith("%s: on %s (ext4 mounted on %s/spinning" % (path, name, work)) for line in lines),
      "the PATH argument is shown on its device")

[dev] = doc["devices"]
check(dev["class_reason"] == "loop device, rotational flag 1", "json class_reason")
check(dev["backing_file"] == image, "json backing_file")
check(dev["backing_device"] != "", "json backing_device")
check(doc["paths"] == [{"path": path, "key": dev["key"], "name": name, "devnum": doc["paths"][0]["devnum"]}],
      "json paths")
print("ok: %s shows its reason, key block:%s and backing file %s on %s" % (name, devnum, image,
                                                                        dev["backing_device"]))
PYEOF
