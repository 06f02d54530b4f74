#!/usr/bin/env bash
# A real tree for the benchmark: an npm node_modules of a few big, pinned packages (react-scripts
# with its webpack/babel/jest/eslint, next with its native swc binaries, the AWS SDK, and
# typescript 4.9, the newest react-scripts 5 accepts as a peer).
#
#   tests/bench/real_tree.sh [DIR]     (default tests/bench/work/corpus/npm)
#
# Then: tests/bench/run.sh --corpus DIR/node_modules. The top-level versions are pinned here;
# npm resolves their dependencies at install time, so the tree matches another machine's closely
# but not byte for byte (the file count is printed; RESULTS.md states the one measured).
# Install scripts are not run (--ignore-scripts): the tree is data, nothing is executed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${1:-$here/work/corpus/npm}
if [[ -f $dir/.complete ]]; then
  echo "real_tree.sh: $dir is already installed" >&2
  exit 0
fi
command -v npm >/dev/null || {
  if ((EUID == 0)); then apt-get install -y --no-install-recommends npm; else
    echo "real_tree.sh: npm is required (apt-get install npm)" >&2; exit 1; fi
}
mkdir -p "$dir"
cat >"$dir/package.json" <<'JSON'
{
  "name": "spindle-bench-real-tree",
  "private": true,
  "dependencies": {
    "react-scripts": "5.0.1",
    "next": "14.2.3",
    "aws-sdk": "2.1600.0",
    "typescript": "4.9.5"
  }
}
JSON
(cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
# Outside node_modules: the marker is not part of the benchmarked tree.
touch "$dir/.complete"
echo "real_tree.sh: $(find "$dir/node_modules" -type f | wc -l) files, $(du -sh "$dir/node_modules" | cut -f1) in $dir/node_modules" >&2
