#!/usr/bin/env bash
# A slow device must not hold up a fast one (the dynamic join): two throttled loop devices, and
# an order checked on the kernel's per-device byte counters, not a time. The scenario lives in
# tests/bench/two_devices.sh (--order), which also measures it as a benchmark. Root only: it
# prints why and exits 77 (skipped) otherwise.
set -euo pipefail
: "${SPINDLE:?SPINDLE must name the spindle binary}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec bash "$here/../bench/two_devices.sh" --order --spindle "$SPINDLE"
