#!/usr/bin/env python3
"""Scaling of `mpirun -n N spindle group --mpi` from 1 to 4 ranks on one machine, warm cache.

Usage: tests/bench/mpi_scaling.py [--spindle build/release/spindle] [--runs 5] [--ranks 1,2,3,4]
                                  [--work DIR] [CORPUS...]

Each corpus (default: /work/benchwork/small if present, and a generated metadata-heavy tree of
many small files, several levels deep, with one huge flat directory) is read once to warm the
page cache, then every configuration runs --runs times, interleaved (single process, then -n 1,
2, 3, 4, then again), under `chrt -f 50` when the machine allows it (SCHED_FIFO: the runs are
not preempted by other work). Prints one markdown table per corpus: median wall time, files
per second, and the speed-up over the single process; and checks that every run's report is the
single-process one (a benchmark of wrong answers is no benchmark).

On a machine with C cores, more than C ranks only add contention: the ranks, their walk threads
and their reader pools share the C cores. The numbers here say what the MPI mode costs on one
node (messages, the shuffle, the merge); the README's "Scale-out with MPI" says what to expect
where every rank has its own node.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MPI_ENV = {
    "OMPI_MCA_btl": "self,vader",
    "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
    "OMPI_MCA_mpi_yield_when_idle": "1",
    "OMPI_MCA_btl_base_warn_component_unused": "0",
}


def generate(root: str, files: int, flat: int) -> None:
    """Many small files in a tree three levels deep, a third duplicated, and one flat directory."""
    if os.path.exists(os.path.join(root, ".complete")):
        return
    rng = random.Random(14)
    pool = rng.randbytes(1 << 20)
    for i in range(files):
        a, b, c = i % 16, (i // 16) % 16, (i // 256) % 64
        d = os.path.join(root, "tree", "a%02d" % a, "b%02d" % b, "c%02d" % c)
        os.makedirs(d, exist_ok=True)
        if i % 3 == 0:  # a third are copies: 4000 contents, each one size
            size = 512 + ((i % 4000) * 7919) % 16384
            start = (i % 4000) * 97
        else:
            size = 512 + (i * 7919) % 16384
            start = (i * 31337) % (len(pool) - size)
        with open(os.path.join(d, "f%06d" % i), "wb") as f:
            f.write(pool[start:start + size])
    d = os.path.join(root, "flat")
    os.makedirs(d, exist_ok=True)
    for i in range(flat):
        size = 256 + (i * 131) % 4096
        with open(os.path.join(d, "g%06d" % i), "wb") as f:
            f.write(pool[(i % 500) * 13:(i % 500) * 13 + size])
    open(os.path.join(root, ".complete"), "w").close()


def timed(command: list[str], env: dict[str, str], report: str) -> float:
    start = time.monotonic()
    proc = subprocess.run(command + ["-o", report], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.monotonic() - start
    if proc.returncode not in (0, 1):
        sys.exit("failed (%d): %s\n%s" % (proc.returncode, " ".join(command), proc.stderr.decode(errors="replace")))
    return elapsed


def count_files(root: str) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spindle", default="build/release/spindle")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ranks", default="1,2,3,4")
    parser.add_argument("--work", default=None, help="where the generated corpus lives (kept between runs)")
    parser.add_argument("--files", type=int, default=60000, help="files in the generated tree")
    parser.add_argument("--flat", type=int, default=20000, help="files in its flat directory")
    parser.add_argument("corpus", nargs="*")
    args = parser.parse_args()

    spindle = os.path.abspath(args.spindle)
    mpirun = shutil.which("mpirun")
    if mpirun is None or not os.access(os.path.join(os.path.dirname(spindle), "spindle-mpi"), os.X_OK):
        sys.exit("needs mpirun and spindle-mpi next to %s (a build with SPINDLE_MPI)" % spindle)
    corpora = list(args.corpus)
    if not corpora:
        if os.path.isdir("/work/benchwork/small"):
            corpora.append("/work/benchwork/small")
        work = args.work or os.path.join(tempfile.gettempdir(), "spindle-mpi-bench")
        generated = os.path.join(work, "generated")
        generate(generated, args.files, args.flat)
        corpora.append(generated)
    ranks = [int(r) for r in args.ranks.split(",")]
    rt = ["chrt", "-f", "50"] if subprocess.run(["chrt", "-f", "50", "true"], check=False,
                                                 stderr=subprocess.DEVNULL).returncode == 0 else []
    env = dict(os.environ)
    env.update(MPI_ENV)
    out = tempfile.mkdtemp(prefix="spindle-mpi-bench-")
    print("cores: %d; runs: %d, interleaved, median; %s" % (os.cpu_count() or 0, args.runs,
                                                             "chrt -f 50" if rt else "no chrt (not permitted)"))
    for corpus in corpora:
        files = count_files(corpus)
        configs = [("single process", rt + [spindle, "group", "--format", "json", corpus])]
        for n in ranks:
            configs.append(("mpirun -n %d" % n, rt + [mpirun, "--oversubscribe", "--allow-run-as-root", "-n", str(n),
                                                      spindle, "group", "--mpi", "--format", "json", corpus]))
        timed(configs[0][1], env, os.path.join(out, "warm.json"))  # warm the page cache
        times: dict[str, list[float]] = {name: [] for name, _ in configs}
        for run in range(args.runs):
            for i, (name, command) in enumerate(configs):
                times[name].append(timed(command, env, os.path.join(out, "r%d.json" % i)))
        # Every configuration's last report against the single process's (timings aside).
        want = json.load(open(os.path.join(out, "r0.json")))
        for i, (name, _) in enumerate(configs[1:], start=1):
            got = json.load(open(os.path.join(out, "r%d.json" % i)))
            if got["groups"] != want["groups"]:
                sys.exit("%s: its report differs from the single process's" % name)
        base = statistics.median(times[configs[0][0]])
        print("\n%s (%d files)\n" % (corpus, files))
        print("| run | median wall | files/s | vs single process |")
        print("|---|---|---|---|")
        for name, _ in configs:
            t = statistics.median(times[name])
            print("| %s | %.3f s | %.0f | %.2fx |" % (name, t, files / t, base / t))
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
