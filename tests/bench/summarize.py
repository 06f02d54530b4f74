#!/usr/bin/env python3
"""Turn the files run.sh leaves in tests/bench/work/results/ into one markdown report.

Inputs, per corpus C (all optional; a missing file is shown as "-"):
  results/C/warm-TOOL.json, cold-TOOL.json   hyperfine --export-json
  results/C/time-TOOL.txt                    /usr/bin/time -v of one extra warm run
  results/C/compare.json                     compare_groups.py --json-out
plus results/bigpair/ (hashing throughput), results/million/ and results/empty/ (memory per
file), results/meta.env (how the run was made) and the corpus manifests in corpus/C.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
from pathlib import Path

PEERS = ["fdupes", "jdupes", "rdfind", "rmlint", "duff", "fclones"]
TARGETS = {"warm": 3, "cold": 5}  # spindle / fastest peer at its defaults (issue 15)


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def hyperfine(path: Path) -> dict | None:
    doc = read_json(path)
    if not doc or not doc.get("results"):
        return None
    r = doc["results"][0]
    return {"median": r["median"], "min": r["min"], "max": r["max"], "cpu": r["user"] + r["system"],
            "failed": any(code != 0 for code in r.get("exit_codes") or [])}


def gnu_time(path: Path) -> dict | None:
    try:
        text = path.read_text()
    except OSError:
        return None

    def field(label: str) -> str | None:
        m = re.search(r"^\s*" + re.escape(label) + r": (.*)$", text, re.M)
        return m.group(1).strip() if m else None

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    seconds = None
    if wall:
        seconds = 0.0
        for part in wall.split(":"):
            seconds = seconds * 60 + float(part)
    status = int(field("Exit status") or 0)
    if "terminated by signal" in text:
        status = -1
    return {"wall": seconds, "cpu": float(field("User time (seconds)") or 0) + float(field("System time (seconds)") or 0),
            "rss_kib": int(field("Maximum resident set size (kbytes)") or 0), "status": status}


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def fmt_mib(kib: int | None) -> str:
    return "-" if not kib else f"{kib / 1024:.1f} MiB"


def status_note(t: dict | None, h: dict | None) -> str:
    if t and t["status"] == 124:
        return " (timeout)"
    if (t and t["status"] != 0) or (h and h["failed"]):
        return " (failed)"
    return ""


def command_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


def machine(work: Path) -> list[str]:
    lines = []
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        mem_kib = 0
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    lines.append(f"- CPU: {os.cpu_count()} x {cpu}; RAM: {mem_kib / 1024 / 1024:.1f} GiB; "
                 f"kernel {platform.release()}; Debian {debian}")
    # The block device under work/, and its parent disk when it is a partition.
    try:
        source, fstype = subprocess.run(["findmnt", "-no", "SOURCE,FSTYPE", "-T", str(work)],
                                        capture_output=True, text=True).stdout.split()
        name = os.path.basename(source)
        sysdir = Path("/sys/class/block") / name
        if (sysdir / "partition").exists():
            sysdir = sysdir.resolve().parent
        block = Path("/sys/block") / sysdir.name

        def sys_read(rel: str) -> str:
            try:
                return (block / rel).read_text().strip()
            except OSError:
                return "?"

        model = sys_read("device/model")
        if model == "?":
            vendor = sys_read("device/vendor")
            model = "virtio disk (vendor 0x1af4)" if vendor == "0x1af4" else f"vendor {vendor}"
        size_gb = int(sys_read("size")) * 512 / 1e9 if sys_read("size").isdigit() else 0
        sched = re.search(r"\[(.*?)\]", sys_read("queue/scheduler"))
        lines.append(f"- Disk: {block.name}, {model}, {size_gb:.0f} GB, "
                     f"rotational={sys_read('queue/rotational')}, scheduler {sched.group(1) if sched else '?'}, "
                     f"{fstype} on {source}")
    except (OSError, ValueError):
        lines.append("- Disk: ?")
    return lines


def versions(meta: dict) -> str:
    tools = {
        "fdupes": ["fdupes", "--version"], "jdupes": ["jdupes", "--version"], "rdfind": ["rdfind", "-v"],
        "rmlint": ["rmlint", "--version"], "duff": ["duff", "-v"], "fclones": ["fclones", "--version"],
        "hyperfine": ["hyperfine", "--version"], "find": ["find", "--version"],
    }
    parts = [f"spindle {meta.get('spindle_commit', '?')} ({meta.get('spindle_build', '?')})"
             + ("" if meta.get("spindle_ok") == "1" else " (not measured: not built or not working)")]
    for name, cmd in tools.items():
        v = command_version(cmd)
        if v != "not installed":
            # Trim the decorations: "This is rdfind version 1.5.0", "version 2.9.0 compiled: ...".
            v = re.sub(r"\s+compiled:.*$", "", v)
            v = re.sub(r"^(This is )?(" + re.escape(name) + r"\s+)?(version\s+)?", "", v)
            parts.append(f"{name} {v}")
    return "; ".join(parts)


def read_meta(results: Path) -> dict:
    meta = {}
    try:
        for line in (results / "meta.env").read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                meta[key] = value
    except OSError:
        pass
    return meta


def corpus_section(work: Path, corpus: str, csv_rows: list[dict] | None = None) -> list[str]:
    res = work / "results" / corpus
    out = [f"## Corpus `{corpus}`", ""]
    manifest = read_json(work / "corpus" / f"{corpus}.json")
    if manifest:
        out += [f"{manifest['files']:,} files + {manifest['hardlinks']:,} hard links + "
                f"{manifest['symlinks']:,} symlinks in {manifest['directories']:,} directories, "
                f"{manifest['bytes'] / 1e9:.2f} GB; {manifest['expected_groups']:,} planted duplicate groups "
                f"(make_corpus.py --preset {manifest['args']['preset']} --seed {manifest['args']['seed']}"
                f"{'' if manifest['args']['files'] == 0 else ' --files ' + str(manifest['args']['files'])}).", ""]
    compare = read_json(res / "compare.json") or {}
    cmp_tools = compare.get("tools", {})

    rows = {}
    for tool in ["spindle"] + PEERS + ["find", "spindle-walk"]:
        w, c, t = hyperfine(res / f"warm-{tool}.json"), hyperfine(res / f"cold-{tool}.json"), gnu_time(res / f"time-{tool}.txt")
        if w or c or t:
            rows[tool] = (w, c, t)
    if not rows:
        return out + ["No measurements.", ""]
    spindle = rows.get("spindle", (None, None, None))
    if csv_rows is not None:
        for tool, (w, c, _) in rows.items():
            csv_rows.append(dict(corpus=corpus, tool=tool, warm=w and w["median"], cold=c and c["median"],
                                 warm_ratio=w and spindle[0] and w["median"] / spindle[0]["median"],
                                 cold_ratio=c and spindle[1] and c["median"] / spindle[1]["median"]))

    def ratio(mine, base, key="median"):
        return mine[key] / base[key] if mine and base and base[key] else None

    reference = compare.get("reference", "spindle")
    out += ["| tool | warm wall (median) | warm CPU | peak RSS | cold wall (median) | cold CPU | "
            f"peer/spindle warm | peer/spindle cold | groups | same groups as {reference} |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for tool in ["spindle"] + PEERS:
        if tool not in rows:
            continue
        w, c, t = rows[tool]
        if tool == reference:
            groups, agree = str(compare.get("reference_groups", "-")), "(reference)"
        else:
            r = cmp_tools.get(tool, {})
            groups = str(r.get("groups", "-"))
            if r.get("agree") is True:
                agree = "yes"
            elif r.get("agree") is False:
                agree = f"**no**: {r['only_peer']} only in {tool}, {r['only_reference']} only in {compare['reference']}"
                if r.get("known_causes"):
                    agree += " (" + "; ".join(r["known_causes"]) + ")"
            else:
                agree = "-"
        out.append(f"| {tool}{status_note(t, w)} | {fmt_s(w and w['median'])} | {fmt_s(t and t['cpu'])} | "
                   f"{fmt_mib(t and t['rss_kib'])} | {fmt_s(c and c['median'])} | {fmt_s(c and c['cpu'])} | "
                   f"{fmt_ratio(ratio(w, spindle[0])) if tool != 'spindle' else ''} | "
                   f"{fmt_ratio(ratio(c, spindle[1])) if tool != 'spindle' else ''} | {groups} | {agree} |")
    out.append("")

    # Against the target: the fastest peer, warm and cold.
    for mode, index in (("warm", 0), ("cold", 1)):
        peer_times = [(rows[p][index]["median"], p) for p in PEERS if p in rows and rows[p][index]]
        if peer_times and spindle[index]:
            best, name = min(peer_times)
            out.append(f"- {mode}: fastest peer {name} {fmt_s(best)}, spindle {fmt_s(spindle[index]['median'])}: "
                       f"spindle is **{best / spindle[index]['median']:.2f}x** as fast "
                       f"(target {TARGETS[mode]}x, issue 15)")
    if "generator" in cmp_tools:
        g = cmp_tools["generator"]
        out.append(f"- planted groups (generator) vs {compare.get('reference')}: "
                   + ("identical" if g.get("agree") else
                      f"**differ**: {g.get('only_peer')} planted only, {g.get('only_reference')} reported only"))
    out.append("")

    # The walk alone: find -printf is the floor; spindle's walk is measured as `spindle group
    # --min-size 1T` (everything is stat()ed, nothing is read).
    if "find" in rows:
        f, sw = rows["find"], rows.get("spindle-walk", (None, None, None))
        out += ["| walk | warm (median) | cold (median) |", "|---|---:|---:|",
                f"| find -type f -printf '%s\\n' | {fmt_s(f[0] and f[0]['median'])} | {fmt_s(f[1] and f[1]['median'])} |"]
        if sw[0] or sw[1]:
            out += [f"| spindle group --min-size 1T | {fmt_s(sw[0] and sw[0]['median'])} | {fmt_s(sw[1] and sw[1]['median'])} |",
                    f"| spindle / find (target <= 1.5) | {fmt_ratio(ratio(sw[0], f[0]))} | {fmt_ratio(ratio(sw[1], f[1]))} |"]
        out.append("")

    try:
        text = (res / "compare.txt").read_text().rstrip()
        out += ["<details><summary>Group comparison (compare_groups.py)</summary>", "", "```", text, "```",
                "", "</details>", ""]
    except OSError:
        pass
    return out


def bigpair_section(work: Path, meta: dict) -> list[str]:
    res = work / "results" / "bigpair"
    cat, spindle = hyperfine(res / "warm-cat.json"), hyperfine(res / "warm-spindle.json")
    if not cat:
        return []
    total = 2 * int(meta.get("bigpair_mib", "0")) << 20
    out = ["## Hashing throughput (two identical cached files, "
           f"{int(meta.get('bigpair_mib', '0'))} MiB each)", "",
           "| command | wall (median) | throughput |", "|---|---:|---:|",
           f"| cat a b >/dev/null | {fmt_s(cat['median'])} | {total / cat['median'] / 1e9:.2f} GB/s |"]
    if spindle:
        out += [f"| spindle group | {fmt_s(spindle['median'])} | {total / spindle['median'] / 1e9:.2f} GB/s |",
                f"| spindle / cat throughput (target >= 0.8) | | {cat['median'] / spindle['median']:.2f} |"]
    return out + [""]


def million_section(work: Path) -> list[str]:
    res = work / "results" / "million"
    manifest = read_json(work / "corpus" / "million.json")
    if not res.is_dir() or not manifest:
        return []
    entries = manifest["files"] + manifest["hardlinks"]
    empty = gnu_time(work / "results" / "empty" / "time-spindle.txt")
    out = [f"## Memory per file ({entries:,} files of 0-4096 B, one run each)", "",
           "| tool | wall | CPU | peak RSS | peak RSS per file |", "|---|---:|---:|---:|---:|"]
    for tool in ["spindle"] + PEERS + ["find"]:
        t = gnu_time(res / f"time-{tool}.txt")
        if not t:
            continue
        out.append(f"| {tool}{status_note(t, None)} | {fmt_s(t['wall'])} | {fmt_s(t['cpu'])} | {fmt_mib(t['rss_kib'])} | "
                   f"{t['rss_kib'] * 1024 / entries:.0f} B |")
    t = gnu_time(res / "time-spindle.txt")
    if t and empty:
        out += ["", f"spindle state per file: (peak RSS {fmt_mib(t['rss_kib'])} - peak RSS on an empty tree "
                f"{fmt_mib(empty['rss_kib'])}) / {entries:,} files = "
                f"**{(t['rss_kib'] - empty['rss_kib']) * 1024 / entries:.0f} bytes/file** (target < 250)"]
    return out + [""]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", required=True, type=Path)
    p.add_argument("--corpora", nargs="*", default=[])
    p.add_argument("--csv", type=Path, help="also write the medians and ratios per corpus and tool as CSV")
    args = p.parse_args()
    meta = read_meta(args.work / "results")
    out = [f"# spindle benchmark, {meta.get('date', '?')}", ""]
    out += machine(args.work)
    out += [f"- Versions: {versions(meta)}",
            f"- Runs: warm {meta.get('runs', '?')} per tool after 1 warmup; "
            + (f"cold {meta['cold_runs']} per tool, page cache dropped before each"
               if meta.get("cold_runs", "0") != "0" else "no cold runs")
            + f"; CPU and peak RSS from one extra warm run under /usr/bin/time -v"
            + (f"; spindle args: `{meta['spindle_args']}`" if meta.get("spindle_args") else "")
            + f"; whole benchmark took {int(meta.get('elapsed_s', 0)) // 60} min {int(meta.get('elapsed_s', 0)) % 60} s",
            f"- 1-minute load average at start and end of the benchmark: {meta.get('load', '?')} "
            "(anything above ~0.2 means other work was competing for the 2 cores)",
            "- Ratios are peer time / spindle time: above 1 means spindle is faster.", ""]
    csv_rows: list[dict] = []
    for corpus in args.corpora:
        out += corpus_section(args.work, corpus, csv_rows)
    if args.csv:
        # One row per corpus and tool: the medians and peer/spindle ratios charts.sh draws.
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["corpus", "tool", "warm", "cold", "warm_ratio", "cold_ratio"])
            w.writeheader()
            for r in csv_rows:
                w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else ("" if v is None else v)) for k, v in r.items()})
    out += bigpair_section(args.work, meta)
    out += million_section(args.work)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
