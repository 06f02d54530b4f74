#!/usr/bin/env python3
"""The persistent hash cache, timed: `spindle group` over an unchanged tree with --cache against
the same run without it, the first (cold-cache) run that fills the cache, and `find` stat'ing
the same files (the issue's target: a cached run within 1.5x of find).

    tests/bench/cache_bench.py [--files N] [--runs R] [--spindle PATH] [--corpus DIR]

Everything is warm (page cache): the runs are interleaved and each tool runs once untimed right
before it is timed (a reclaim daemon pages out what is idle for ~30 s). The corpus (N files of
1-2000 random bytes in directories of 1000, every size shared by ~N/2000 files so that every
file is a candidate and gets its first block read) is generated once under
tests/bench/work/cache-corpus-N/; the cache lives in a temp dir that is deleted afterwards.
Prints medians and ratios as a markdown table. Not part of ctest.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def make_corpus(root, files):
    if os.path.isfile(os.path.join(root, ".complete")):
        return
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(1)
    for i in range(files):
        directory = os.path.join(root, "d%04d" % (i // 1000))
        if i % 1000 == 0:
            os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "f%d" % i), "wb") as f:
            f.write(rng.randbytes(rng.randint(1, 2000)))
    open(os.path.join(root, ".complete"), "w").close()


def timed(command, env):
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (proc.returncode, " ".join(command), proc.stderr.decode(errors="replace")))
    return elapsed, proc.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--spindle", default=os.path.join(REPO, "build", "release", "spindle"))
    parser.add_argument("--corpus", help="an existing tree instead of the generated one")
    args = parser.parse_args()

    corpus = args.corpus or os.path.join(HERE, "work", "cache-corpus-%d" % args.files)
    if not args.corpus:
        make_corpus(corpus, args.files)
    xdg = tempfile.mkdtemp(prefix="spindle-cache-bench-")
    env = dict(os.environ, XDG_CACHE_HOME=xdg)
    cache = os.path.join(xdg, "spindle", "hashes.sqlite")
    spindle = [args.spindle, "group", "--progress", "never"]
    commands = {
        "find -printf '%s'": ["find", corpus, "-printf", "%s\n"],
        "group (no cache)": spindle + [corpus],
        "group --cache (unchanged tree)": spindle + ["--cache", corpus],
    }
    times = {name: [] for name in commands}
    times["group --cache (cold cache)"] = []
    try:
        for _ in range(args.runs):
            for name, command in commands.items():
                timed(command, env)  # warm-up, untimed
                times[name].append(timed(command, env)[0])
            for name in ("-wal", "-shm", ""):
                if os.path.exists(cache + name):
                    os.remove(cache + name)
            timed(spindle + [corpus], env)  # the files warm, the cache empty
            times["group --cache (cold cache)"].append(timed(spindle + ["--cache", corpus], env)[0])
        _, stats = timed(spindle + ["--cache", "--stats", corpus], env)
    finally:
        shutil.rmtree(xdg, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in times.items()}
    load = os.getloadavg()[0]
    print("Corpus: %s (%d runs each, load average %.1f at the end)\n" % (corpus, args.runs, load))
    print("| run | median s | / find | / group without cache |")
    print("|---|---|---|---|")
    for name, value in median.items():
        print("| %s | %.3f | %.2f | %.2f |" % (name, value, value / median["find -printf '%s'"],
                                                value / median["group (no cache)"]))
    lines = [line for line in stats.decode(errors="replace").splitlines() if line.startswith(("bytes read:", "cache:"))]
    print("\nLast cached run: " + ", ".join("`%s`" % line for line in lines))


if __name__ == "__main__":
    main()
