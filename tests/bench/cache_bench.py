#!/usr/bin/env python3
"""The persistent hash cache, timed: `spindle group` over an unchanged tree with --cache against
the same run without it, the first run that fills an empty cache against the run without it
(warm, and cold with the page cache dropped when run as root), and `find` stat'ing the same
files (the issue's target: a cached run within 1.5x of find).

    tests/bench/cache_bench.py [--files N] [--runs R] [--spindle PATH] [--corpus DIR]

Each run is timed by wall clock and by CPU time (user + system of the child, from wait4), which
stays meaningful on a loaded machine where wall time does not. Warm runs are interleaved and each
tool runs once untimed right before it is timed (a reclaim daemon pages out what is idle for
~30 s); the first-run pairs (without cache, first --cache run into an empty cache) alternate
which goes first. Cold pairs (root only) drop the page cache (`sync; echo 3 >
/proc/sys/vm/drop_caches`) before each run. The corpus (N files of 1-2000 random bytes in
directories of 1000, every size shared by ~N/2000 files so that every file is a candidate and
gets its first block read) is generated once under tests/bench/work/cache-corpus-N/; the cache
lives in a temp dir that is deleted afterwards. As root, every timed run goes under `chrt -f 50`
(real-time priority: other work on a shared machine, such as builds, does not preempt it; that
is what made the numbers comparable at a load average of 20). Prints medians and ratios as
markdown tables. Not part of ctest.
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

# Real-time priority for the timed runs when we may have it (root, chrt installed).
REALTIME = os.geteuid() == 0 and shutil.which("chrt") is not None
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
    """(wall seconds, CPU seconds, stderr) of one run."""
    if REALTIME:
        command = ["chrt", "-f", "50"] + command
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (proc.returncode, " ".join(command), stderr.decode(errors="replace")))
    return elapsed, usage.ru_utime + usage.ru_stime, stderr


def drop_page_cache():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


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
    uncached = spindle + [corpus]
    cached = spindle + ["--cache", corpus]
    commands = {
        "find -printf '%s'": ["find", corpus, "-printf", "%s\n"],
        "group (no cache)": uncached,
        "group --cache (unchanged tree)": cached,
    }
    cold = os.geteuid() == 0
    wall = {name: [] for name in commands}
    cpu = {name: [] for name in commands}
    pairs = {"warm": ([], []), "cold": ([], [])}  # (no cache, first run) samples of (wall, cpu)

    def empty_cache():
        for name in ("-wal", "-shm", ""):
            if os.path.exists(cache + name):
                os.remove(cache + name)

    try:
        for run in range(args.runs):
            for name, command in commands.items():
                timed(command, env)  # warm-up, untimed
                elapsed, used, _ = timed(command, env)
                wall[name].append(elapsed)
                cpu[name].append(used)
            for kind in ("warm", "cold") if cold else ("warm",):
                order = (0, 1) if run % 2 == 0 else (1, 0)
                for which in order:
                    empty_cache()
                    if kind == "cold":
                        drop_page_cache()
                    else:
                        timed(uncached, env)  # the files warm
                    elapsed, used, _ = timed(cached if which else uncached, env)
                    pairs[kind][which].append((elapsed, used))
            # Leave a full cache for the next unchanged-tree run.
            timed(cached, env)
        _, _, stats = timed(cached + ["--stats"], env)
    finally:
        shutil.rmtree(xdg, ignore_errors=True)

    med = statistics.median
    load = os.getloadavg()[0]
    print("Corpus: %s (%d runs each, load average %.1f at the end)\n" % (corpus, args.runs, load))
    print("| run | median wall s | median CPU s | wall / find | wall / group without cache |")
    print("|---|---|---|---|---|")
    for name in commands:
        print("| %s | %.3f | %.3f | %.2f | %.2f |" % (name, med(wall[name]), med(cpu[name]),
                                                      med(wall[name]) / med(wall["find -printf '%s'"]),
                                                      med(wall[name]) / med(wall["group (no cache)"])))
    print("\nFirst run into an empty cache against the run without the cache (ratios of medians):\n")
    print("| page cache | no cache wall / CPU s | first --cache run wall / CPU s | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|")
    for kind, (plain, first) in pairs.items():
        if not plain:
            continue
        pw, pc = med(x[0] for x in plain), med(x[1] for x in plain)
        fw, fc = med(x[0] for x in first), med(x[1] for x in first)
        print("| %s | %.3f / %.3f | %.3f / %.3f | %.2f | %.2f |" % (kind, pw, pc, fw, fc, fw / pw, fc / pc))
    if not cold:
        print("\n(cold pairs need root to drop the page cache)")
    lines = [line for line in stats.decode(errors="replace").splitlines() if line.startswith(("bytes read:", "cache:"))]
    print("\nLast cached run: " + ", ".join("`%s`" % line for line in lines))


if __name__ == "__main__":
    main()
