#!/usr/bin/env python3
"""`spindle group --catalog` on a large generated catalog: time and peak memory of the external
sort and merge, which must stay bounded however many lines the catalog has.

    tests/bench/catalog_bench.py [--lines N] [--hosts H] [--spindle PATH] [--run-bytes SIZE]
                                 [--format FMT] [--keep] [--catalog FILE]

Generates, deterministically (seeded), a catalog of N lines (default 10,000,000) as
`spindle hash --format json` writes them: H hosts (default 4), paths of ~60 bytes, sizes from a
skewed distribution, and contents chosen so that about a third of the records have a copy on
some host. The catalog goes into a temp dir (under $TMPDIR) with the sort's runs; both are
deleted afterwards (unless --keep). Runs `spindle group --catalog FILE --format FMT -o REPORT
--tmp-dir DIR --stats` under `/usr/bin/time -v` (with `chrt -f 50` when allowed, for quieter
numbers) and prints wall time, user+system CPU, peak RSS, the catalog's size, and the groups
found, as a markdown row. Not part of ctest.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def generate(path, lines, hosts, seed=14):
    rng = random.Random(seed)
    names = ["host%02d" % h for h in range(hosts)]
    # Contents: (size, digest id). A third of the records reuse an earlier content (a copy).
    contents = []
    with open(path, "w", buffering=1 << 20) as out:
        chunk = []
        for i in range(lines):
            if contents and rng.random() < 0.33:
                size, digest = contents[rng.randrange(len(contents))]
            else:
                size = int(rng.paretovariate(1.2) * 1000)
                digest = rng.getrandbits(128)
                if len(contents) < 1_000_000:
                    contents.append((size, digest))
                else:
                    contents[rng.randrange(len(contents))] = (size, digest)
            host = names[i % hosts]
            chunk.append('{"path":"/srv/data/%04d/%04d/file-%08d.bin","size":%d,"mtime_ns":%d,'
                         '"ctime_ns":%d,"device":"8:%d","inode":%d,"host":"%s","algo":"xxh128",'
                         '"hash":"%032x"}\n' % (i // 1_000_000, (i // 1000) % 1000, i, size,
                                                1_700_000_000_000_000_000 + i, 1_700_000_000_000_000_000 + i,
                                                i % 4, i + 1000, host, digest))
            if len(chunk) >= 10_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--spindle", default=os.path.join(REPO, "build", "release", "spindle"))
    parser.add_argument("--run-bytes", default="", help="SPINDLE_CATALOG_RUN_BYTES (default: the built-in 64 MiB)")
    parser.add_argument("--format", default="jsonl")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (catalog and report)")
    parser.add_argument("--catalog", default="", help="time this catalog instead of generating one")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="spindle-catalog-bench-")
    try:
        catalog = args.catalog or os.path.join(work, "catalog.jsonl")
        sort_dir = os.path.join(work, "sort")
        os.mkdir(sort_dir)
        started = time.monotonic()
        if not args.catalog:
            generate(catalog, args.lines, args.hosts)
        print("catalog of %d lines (%.1f MiB) in %.1f s" % (args.lines, os.path.getsize(catalog) / 2**20,
                                                          time.monotonic() - started), file=sys.stderr)
        report = os.path.join(work, "report")
        command = ["/usr/bin/time", "-v", args.spindle, "group", "--catalog", catalog, "--format", args.format,
                   "-o", report, "--tmp-dir", sort_dir, "--stats", "-vv"]
        if shutil.which("chrt") and subprocess.run(["chrt", "-f", "50", "true"]).returncode == 0:
            command = ["chrt", "-f", "50"] + command
        env = dict(os.environ)
        if args.run_bytes:
            env["SPINDLE_CATALOG_RUN_BYTES"] = args.run_bytes
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        if proc.returncode != 0:
            sys.exit("spindle failed (%d):\n%s" % (proc.returncode, proc.stderr[-4000:]))
        err = proc.stderr

        def field(pattern):
            match = re.search(pattern, err)
            return match.group(1) if match else "?"

        wall = field(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
        user = float(field(r"User time \(seconds\): (\S+)"))
        system = float(field(r"System time \(seconds\): (\S+)"))
        rss_kib = int(field(r"Maximum resident set size \(kbytes\): (\d+)"))
        groups = field(r"found (\d+) groups?")
        runs = field(r"catalog sort: (\d+) runs on disk")
        print("| lines | catalog | format | wall | CPU | peak RSS | runs on disk | groups |")
        print("|---:|---:|---|---:|---:|---:|---:|---:|")
        print("| %s | %.0f MiB | %s | %s | %.1f s | %.1f MiB | %s | %s |" % (
            format(args.lines, ","), os.path.getsize(catalog) / 2**20, args.format, wall, user + system,
            rss_kib / 1024, runs, groups))
    finally:
        if args.keep:
            print("kept " + work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
