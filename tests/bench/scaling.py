#!/usr/bin/env python3
"""How cost grows with the number of files: spindle and its peers on 10k..3M small files.

    tests/bench/scaling.py [--work DIR] [--sizes 10k,100k,1M,3M] [options]

The corpora are nested, so 3M files are written once and serve every size: the 3M tree holds
the 1M tree, which holds the 100k tree, which holds the 10k tree (each level adds files in
directories of 1000 next to the tree it wraps). Files are 1-4096 bytes, uniform, so every file
has hundreds of same-size mates and every file is a candidate that must be read; a third are
copies of an earlier file. Contents are tagged slices of one random pool: the same --seed gives
the same trees byte for byte. Generation writes through os.open(dir_fd=...) one directory at a
time (no path lookups), about 1-2 minutes per million files on this machine's disk.

Per size and tool: warm runs (after one spindle run and one find have pulled the tree into the
page cache), then cold runs (page cache dropped before each; root only), each timed here with
wait4(), which gives wall time, CPU time and the peak RSS of the tool itself. A tool that timed
out at one size, or whose time at the previous size scaled by the file ratio would exceed
--timeout, is skipped at the larger sizes (recorded as such). Every run is under `chrt -f 50`
when that is allowed (a quieter machine for the measured process), and the load average is
recorded before and after each run.

Writes WORK/results/scaling.{json,csv,md}; `--export DIR` also copies the CSV there (the charts
are drawn from it by charts.sh). See README.md, "How cost grows".
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
POOL = 16 << 20  # random bytes generated once; every file is a tagged slice of them
PER_DIR = 1000
MAX_SIZE = 4096
SIZE_NAMES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "3M": 3_000_000}


def parse_size(text: str) -> int:
    if text in SIZE_NAMES:
        return SIZE_NAMES[text]
    mult = {"k": 1000, "M": 1_000_000}.get(text[-1:], 1)
    return int(text[:-1] if mult > 1 else text) * mult


def size_name(n: int) -> str:
    for k, v in SIZE_NAMES.items():
        if v == n:
            return k
    return str(n)


# --- corpora -------------------------------------------------------------------------------------


def corpus_dir(work: Path, sizes: list[int], n: int) -> Path:
    """The tree for n files: nested inside the trees of the larger sizes."""
    path = work / "corpus"
    for m in sorted(sizes, reverse=True):
        path = path / f"f{size_name(m)}"
        if m == n:
            return path
    raise ValueError(n)


def generate_level(top: Path, first: int, count: int, seed: int) -> int:
    """Writes `count` files (ids first..first+count-1) under top/x/dNNNNN; returns bytes."""
    rng = random.Random(seed * 1_000_003 + first)
    pool = random.Random(seed).randbytes(POOL)
    recent: list[tuple[int, int, int]] = []  # (size, tag, offset) of unique files, for copies
    written = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    base = top / "x"
    base.mkdir(parents=True, exist_ok=True)
    for d0 in range(0, count, PER_DIR):
        dpath = base / f"d{(first + d0) // PER_DIR:05d}"
        dpath.mkdir(exist_ok=True)
        dfd = os.open(dpath, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for i in range(first + d0, first + min(count, d0 + PER_DIR)):
                if recent and rng.random() < 1 / 3:
                    size, tag, off = recent[rng.randrange(len(recent))]
                else:
                    size, tag, off = rng.randint(1, MAX_SIZE), i, rng.randrange(POOL - MAX_SIZE)
                    if len(recent) < 4096:
                        recent.append((size, tag, off))
                    else:
                        recent[rng.randrange(4096)] = (size, tag, off)
                data = (tag.to_bytes(8, "little") + pool[off:off + size])[:size]
                fd = os.open(f"f{i:07d}", flags, 0o644, dir_fd=dfd)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
                written += size
        finally:
            os.close(dfd)
    return written


def generate(work: Path, sizes: list[int], seed: int, upto: int) -> None:
    marks = work / "marks"
    marks.mkdir(parents=True, exist_ok=True)
    prev = 0
    for n in sorted(s for s in sizes if s <= upto):
        mark = marks / f"f{size_name(n)}.json"
        top = corpus_dir(work, sizes, n)
        if mark.exists():
            prev = n
            continue
        if (top / "x").exists():
            shutil.rmtree(top / "x")  # an interrupted level: write it again
        top.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        print(f"scaling.py: generating {n - prev} files for {top}", file=sys.stderr, flush=True)
        nbytes = generate_level(top, prev, n - prev, seed)
        os.sync()
        info = dict(files=n, new_files=n - prev, new_bytes=nbytes, seed=seed, seconds=round(time.monotonic() - t0, 1))
        mark.write_text(json.dumps(info) + "\n")  # written last: the level is complete
        print(f"scaling.py: {info}", file=sys.stderr, flush=True)
        prev = n


# --- tools ---------------------------------------------------------------------------------------


def tool_argv(tool: str, spindle: str, d: Path, out: Path) -> list[str] | None:
    """The comparable settings of run.sh (design.md): hidden in, empty out, one path per inode."""

    if tool == "spindle":
        return [spindle, "group", "--progress", "never", "--format", "fdupes", "-o", str(out), str(d)]
    if tool == "find":
        return ["find", str(d), "-type", "f", "-printf", "%s\\n"]
    if shutil.which(tool) is None:
        return None
    if tool == "fdupes":
        return ["fdupes", "-r", "-n", "-q", str(d)]
    if tool == "jdupes":
        return ["jdupes", "-r", "-q", str(d)]
    if tool == "rdfind":
        return ["rdfind", "-dryrun", "true", "-ignoreempty", "true", "-removeidentinode", "true",
                "-followsymlinks", "false", "-outputname", str(out), str(d)]
    if tool == "rmlint":
        return ["rmlint", "-T", "df", "-r", "-L", "-F", "-o", f"json:{out}", str(d)]
    if tool == "duff":
        return ["duff", "-r", "-a", "-z", "-p", str(d)]
    if tool == "fclones":
        return ["fclones", "group", "--hidden", "--no-ignore", "--format", "fdupes", "-o", str(out), str(d)]
    return None


def can_chrt() -> bool:
    return shutil.which("chrt") is not None and subprocess.run(
        ["chrt", "-f", "50", "true"], stderr=subprocess.DEVNULL).returncode == 0


def drop_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def run_once(argv: list[str], out: Path, timeout: float, chrt: bool) -> dict:
    """One run: wall time (here), CPU and peak RSS in KiB (GNU time's, of the tool itself)."""
    out.unlink(missing_ok=True)  # rmlint renames an existing output instead of replacing it
    # GNU time forks from a small process: wait4() here would report this Python's own RSS,
    # which a child keeps as its high-water mark across exec. chrt execs, so it adds nothing.
    tfile = out.with_suffix(".time")
    full = (["chrt", "-f", "50"] if chrt else []) + ["/usr/bin/time", "-f", "%U %S %M", "-o", str(tfile)] + argv
    load0 = loadavg()
    with open(out.with_suffix(".stdout"), "wb") as so, open(out.with_suffix(".stderr"), "wb") as se:
        t0 = time.monotonic()
        proc = subprocess.Popen(full, stdout=so, stderr=se, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait()
            timed_out = True
        wall = time.monotonic() - t0
    try:
        user, system, rss = tfile.read_text().split("\n")[-2].split()
    except (OSError, ValueError, IndexError):
        user, system, rss = "0", "0", "0"
    return dict(wall=wall, user=float(user), sys=float(system), rss_kib=int(rss), rc=rc, timed_out=timed_out,
                load=[load0, loadavg()])


# --- measuring -----------------------------------------------------------------------------------


def median(xs: list[float]) -> float:
    s = sorted(xs)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def measure(args: argparse.Namespace, sizes: list[int], measured: list[int], rows: list[dict]) -> list[dict]:
    work = args.work
    outdir = work / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    chrt = can_chrt() and not args.no_chrt
    is_root = os.geteuid() == 0
    tools = [t for t in args.tools.split(",") if t]
    spindle = args.spindle
    last: dict[tuple[str, str], tuple[int, float]] = {}  # (tool, mode) -> (files, wall)
    gone: set[tuple[str, str]] = set()
    for r in sorted(rows, key=lambda r: r["files"]):  # --append: the sizes measured before count
        if "wall" in r:
            last[(r["tool"], r["mode"])] = (r["files"], r["wall"])
        elif r["status"].startswith("timed out"):
            gone.add((r["tool"], r["mode"]))
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    base_rss = {}
    for tool in tools:
        argv = tool_argv(tool, spindle, empty, outdir / f"empty-{tool}.out")
        if argv:
            base_rss[tool] = run_once(argv, outdir / f"empty-{tool}.out", 60, False)["rss_kib"]

    def one(tool: str, n: int, mode: str, runs: int) -> None:
        d = corpus_dir(work, sizes, n)
        out = outdir / f"{size_name(n)}-{tool}-{mode}.out"
        argv = tool_argv(tool, spindle, d, out)
        if argv is None:
            return
        row = dict(files=n, size=size_name(n), tool=tool, mode=mode, runs=[], status="ok",
                   base_rss_kib=base_rss.get(tool))
        key = (tool, mode)
        if key in gone:
            row["status"] = "skipped: timed out at a smaller size"
        elif key in last:
            pn, pw = last[key]
            predicted = pw * n / pn
            if predicted > args.timeout:
                row["status"] = f"skipped: predicted {predicted:.0f} s > timeout {args.timeout:.0f} s"
        if row["status"] == "ok":
            for r in range(runs):
                if mode == "cold":
                    drop_caches()
                res = run_once(argv, out, args.timeout, chrt)
                row["runs"].append(res)
                print(f"  {size_name(n):>5} {tool:8} {mode}: {res['wall']:.3f} s, {res['rss_kib']} KiB"
                      f"{' TIMEOUT' if res['timed_out'] else ''} (load {res['load'][0]:.2f})",
                      file=sys.stderr, flush=True)
                if res["timed_out"]:
                    row["status"] = f"timed out after {args.timeout:.0f} s"
                    gone.add(key)
                    break
                if res["rc"] != 0 and tool not in ("jdupes", "fdupes", "rmlint"):
                    row["status"] = f"exit status {res['rc']}"
                # Long runs are measured once: the spread of one is small next to the growth.
                if res["wall"] > args.long_run:
                    break
            ok = [r for r in row["runs"] if not r["timed_out"]]
            if ok and row["status"] == "ok":
                row["wall"] = median([r["wall"] for r in ok])
                row["cpu"] = median([r["user"] + r["sys"] for r in ok])
                row["rss_kib"] = max(r["rss_kib"] for r in ok)
                row["us_per_file"] = row["wall"] / n * 1e6
                row["cpu_us_per_file"] = row["cpu"] / n * 1e6
                row["rss_b_per_file"] = row["rss_kib"] * 1024 / n
                if row["base_rss_kib"] is not None:
                    row["net_b_per_file"] = (row["rss_kib"] - row["base_rss_kib"]) * 1024 / n
                last[key] = (n, row["wall"])
        rows.append(row)
        save(args, rows)

    for n in sorted(measured):
        d = corpus_dir(work, sizes, n)
        print(f"scaling.py: {size_name(n)} files: {d}", file=sys.stderr, flush=True)
        # Pull the tree into the page cache: find for the metadata, spindle reads every file.
        # Bounded, as every measured run is: a tree too large for the page cache (or a machine too
        # busy) must not hold the whole benchmark up before its first measurement.
        warmup_timeout = max(600.0, 3 * args.timeout)
        try:
            subprocess.run(["find", str(d), "-type", "f", "-printf", ""], check=False, timeout=warmup_timeout)
            subprocess.run(tool_argv("spindle", spindle, d, outdir / "warmup.out"), check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=warmup_timeout)
        except subprocess.TimeoutExpired:
            print(f"scaling.py: warming the page cache for {size_name(n)} passed {warmup_timeout:.0f} s; "
                  "measuring anyway", file=sys.stderr, flush=True)
        for tool in tools:
            one(tool, n, "warm", args.runs)
        if is_root and args.cold_runs > 0 and n <= args.cold_max:
            for tool in tools:
                one(tool, n, "cold", args.cold_runs)
        elif is_root and args.cold_runs > 0 and args.cold_spindle_beyond:
            one("spindle", n, "cold", 1)
            one("find", n, "cold", 1)
    return rows


def meta(args: argparse.Namespace) -> dict:
    def version(cmd: list[str]) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    return dict(date=time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), spindle_commit=commit,
                cpus=os.cpu_count(), kernel=os.uname().release, spindle=args.spindle,
                versions={t: version(v) for t, v in [("fdupes", ["fdupes", "--version"]),
                                                      ("jdupes", ["jdupes", "--version"]),
                                                      ("rdfind", ["rdfind", "--version"]),
                                                      ("rmlint", ["rmlint", "--version"]),
                                                      ("duff", ["duff", "-v"])]})


def save(args: argparse.Namespace, rows: list[dict]) -> None:
    res = args.work / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "scaling.json").write_text(json.dumps(dict(meta=args.meta, rows=rows), indent=1) + "\n")
    fields = ["files", "size", "tool", "mode", "status", "wall", "cpu", "rss_kib", "us_per_file",
              "cpu_us_per_file", "rss_b_per_file", "net_b_per_file", "nruns", "load"]
    with open(res / "scaling.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            loads = [x for run in r["runs"] for x in run["load"]]
            w.writerow({**r, "nruns": len(r["runs"]), "load": f"{max(loads):.2f}" if loads else "",
                        **{k: (f"{r[k]:.4f}" if isinstance(r.get(k), float) else r.get(k, ""))
                           for k in fields if isinstance(r.get(k), float)}})
    (res / "scaling.md").write_text(markdown(args.meta, rows))


def fmt_s(x: float) -> str:
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def markdown(m: dict, rows: list[dict]) -> str:
    lines = [f"### Scaling run, {m['date']}, spindle {m['spindle_commit']}", "",
             "Files of 1-4096 B (uniform; a third are copies), nested corpora; wall = median of the runs; "
             "µs/file = wall / files; B/file = (peak RSS - the tool's peak RSS on an empty tree) / files; "
             "load = highest 1-minute load average seen at the start or end of a run.", ""]
    for mode in ("warm", "cold"):
        sel = [r for r in rows if r["mode"] == mode]
        if not sel:
            continue
        lines += [f"#### {mode}", "",
                  "| files | tool | runs | wall | CPU | peak RSS | µs/file | CPU µs/file | B/file | load | peer/spindle |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        sp = {r["files"]: r.get("wall") for r in sel if r["tool"] == "spindle"}
        for r in sel:
            loads = [x for run in r["runs"] for x in run["load"]]
            if "wall" not in r:
                # A peer that timed out took more than the timeout: its ratio is at least that.
                limit = r["status"].split()[3] if r["status"].startswith("timed out after") else None
                at_least = f"> {float(limit) / sp[r['files']]:.1f}x" if limit and sp.get(r["files"]) else ""
                lines.append(f"| {r['files']:,} | {r['tool']} | {len(r['runs'])} | {r['status']} | | | | | | "
                             f"{max(loads) if loads else '':} | {at_least} |")
                continue
            ratio = ""
            if r["tool"] not in ("spindle", "find") and sp.get(r["files"]):
                ratio = f"{r['wall'] / sp[r['files']]:.2f}x"
            elif r["tool"] == "find" and sp.get(r["files"]):
                ratio = f"(spindle/find {sp[r['files']] / r['wall']:.2f}x)"
            net = r.get("net_b_per_file")
            lines.append(
                f"| {r['files']:,} | {r['tool']} | {len(r['runs'])} | {fmt_s(r['wall'])} | {fmt_s(r['cpu'])} | "
                f"{r['rss_kib'] / 1024:.1f} MiB | {r['us_per_file']:.2f} | {r['cpu_us_per_file']:.2f} | "
                f"{'' if net is None else f'{net:.0f}'} | {max(loads):.2f} | {ratio} |")
        lines.append("")
        # Growth: per-file cost of each tool at each size relative to its smallest measured size.
        lines += [f"Growth ({mode}): µs/file at each size, and its ratio to the same tool at 100k files "
                  "(flat cost per file = 1.00).", "",
                  "| tool | " + " | ".join(size_name(n) for n in sorted({r['files'] for r in sel})) + " |",
                  "|---|" + "---:|" * len({r['files'] for r in sel})]
        for tool in dict.fromkeys(r["tool"] for r in sel):
            by = {r["files"]: r for r in sel if r["tool"] == tool}
            ref = by.get(100_000, {}).get("us_per_file")
            cells = []
            for n in sorted({r['files'] for r in sel}):
                r = by.get(n)
                if not r or "wall" not in r:
                    cells.append("-")
                elif ref:
                    cells.append(f"{r['us_per_file']:.2f} ({r['us_per_file'] / ref:.2f})")
                else:
                    cells.append(f"{r['us_per_file']:.2f}")
            lines.append(f"| {tool} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=HERE / "work" / "scaling",
                    help="corpora, outputs and results (default tests/bench/work/scaling)")
    ap.add_argument("--sizes", default="10k,100k,1M,3M", help="file counts (default 10k,100k,1M,3M)")
    ap.add_argument("--measure", help="measure only these of --sizes (default all); the trees keep "
                    "--sizes' nesting, and only the levels up to the largest measured are generated")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--append", action="store_true",
                    help="keep the results of the sizes not measured now (a 3M run after the smaller ones)")
    ap.add_argument("--generate-only", action="store_true", help="write the corpora and stop")
    ap.add_argument("--spindle", default=str(REPO / "build" / "release" / "spindle"))
    ap.add_argument("--tools", default="spindle,fdupes,jdupes,rdfind,rmlint,duff,fclones,find",
                    help="comma-separated (missing peers are skipped)")
    ap.add_argument("--runs", type=int, default=3, help="warm runs per size and tool (default 3)")
    ap.add_argument("--cold-runs", type=int, default=1, help="cold runs per size and tool (default 1; 0 = none)")
    ap.add_argument("--cold-max", default="1M", help="cold runs of every tool up to this size (default 1M)")
    ap.add_argument("--cold-spindle-beyond", action="store_true",
                    help="above --cold-max, still one cold run of spindle and find")
    ap.add_argument("--timeout", type=float, default=300, help="per tool run, seconds (default 300)")
    ap.add_argument("--long-run", type=float, default=30,
                    help="a run longer than this many seconds is not repeated (default 30)")
    ap.add_argument("--no-chrt", action="store_true", help="do not run the tools under chrt -f 50")
    ap.add_argument("--export", type=Path, help="also copy scaling.csv and scaling.md into this directory")
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    measured = [parse_size(s) for s in args.measure.split(",")] if args.measure else sizes
    if not set(measured) <= set(sizes):
        ap.error("--measure must name sizes of --sizes")
    args.cold_max = parse_size(args.cold_max)
    args.work = args.work.resolve()
    generate(args.work, sizes, args.seed, max(measured))
    if args.generate_only:
        return 0
    if not os.access(args.spindle, os.X_OK):
        print(f"scaling.py: no spindle binary at {args.spindle}", file=sys.stderr)
        return 1
    # Measure a snapshot: others may rebuild build/release while the benchmark runs.
    snap = args.work / "spindle"
    shutil.copy2(args.spindle, snap)
    args.spindle = str(snap)
    args.meta = meta(args)
    args.meta["spindle"] = str(args.spindle)
    rows: list[dict] = []
    previous = args.work / "results" / "scaling.json"
    if args.append and previous.exists():
        rows = [r for r in json.loads(previous.read_text())["rows"] if r["files"] not in measured]
    rows = measure(args, sizes, measured, rows)
    save(args, rows)
    print((args.work / "results" / "scaling.md").read_text())
    if args.export:
        args.export.mkdir(parents=True, exist_ok=True)
        for name in ("scaling.csv", "scaling.md", "scaling.json"):
            shutil.copy2(args.work / "results" / name, args.export / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
