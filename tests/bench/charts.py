#!/usr/bin/env python3
"""Draws the benchmark's pictures (SVG, with gnuplot) from its CSV results.

    tests/bench/charts.py [--ratios CSV] [--scaling CSV] [--out DIR]

--ratios: run.sh's work/ratios.csv (summarize.py --csv): one bar per peer and corpus, the peer's
    median time divided by spindle's (above 1: spindle is faster), warm and cold, with the
    issue's target drawn as a line -> ratios-warm.svg, ratios-cold.svg.
--scaling: scaling.py's results/scaling.csv: wall time per run against the number of files,
    log-log, one line per tool (a straight line of slope 1 is a flat cost per file), warm and
    cold -> scaling-warm.svg, scaling-cold.svg; and the cost per file (µs) against the number of
    files -> scaling-per-file.svg.

The CSVs are copied next to the SVGs, so the pictures can be redrawn from what is committed
(tests/bench/charts/). gnuplot comes from Debian (gnuplot-nox); as root it is installed when
missing.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = ["fdupes", "jdupes", "rdfind", "rmlint", "duff", "fclones"]
TARGETS = {"warm": 3, "cold": 5}  # issue 15: spindle / fastest peer at its defaults
COLORS = {"spindle": "#d62728", "fdupes": "#1f77b4", "jdupes": "#2ca02c", "rdfind": "#9467bd",
          "rmlint": "#8c564b", "duff": "#e377c2", "fclones": "#17becf", "find": "#7f7f7f"}
HEAD = 'set terminal svg size 760,420 dynamic enhanced font "sans,12" background "white"\n'


def need_gnuplot() -> str:
    path = shutil.which("gnuplot")
    if path:
        return path
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "gnuplot-nox"], check=False)
        path = shutil.which("gnuplot")
    if not path:
        sys.exit("charts.py: gnuplot is required (apt-get install gnuplot-nox)")
    return path


def gnuplot(script: str, out: Path) -> None:
    subprocess.run([need_gnuplot()], input=script, text=True, check=True)
    print(f"charts.py: wrote {out}", file=sys.stderr)


def num(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def ratio_charts(csv_path: Path, out: Path) -> None:
    rows = list(csv.DictReader(open(csv_path)))
    corpora = list(dict.fromkeys(r["corpus"] for r in rows))
    for mode in ("warm", "cold"):
        by = {(r["corpus"], r["tool"]): num(r[f"{mode}_ratio"]) for r in rows}
        peers = [p for p in PEERS if any(by.get((c, p)) for c in corpora)]
        if not peers:
            continue
        data = ""  # no header row: gnuplot would count it as a cluster
        for c in corpora:
            data += f'"{c}" ' + " ".join(f"{by.get((c, p)) or 0:.3f}" for p in peers) + "\n"
        top = max(v for v in by.values() if v) * 1.15
        svg = out / f"ratios-{mode}.svg"
        plots = ", ".join(
            f"$d using {i + 2}:xtic(1) title '{p}' lc rgb '{COLORS[p]}'" for i, p in enumerate(peers))
        labels = ", ".join(
            f"$d using ($0 + ({i} - {(len(peers) - 1) / 2}) * {0.8 / len(peers)}):{i + 2}:(sprintf('%.1f', ${i + 2})) "
            f"with labels offset 0,0.6 font ',9' notitle" for i, p in enumerate(peers))
        gnuplot(HEAD + f"""set output '{svg}'
$d << EOD
{data}EOD
set title "{mode.capitalize()} cache: peer time / spindle time (above 1: spindle is faster)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:{top:.2f}]
set xrange [-0.6:{len(corpora) - 0.4}]
set ylabel "peer / spindle"
set grid ytics
set key outside top center horizontal noenhanced
set xtics noenhanced
set arrow from graph 0, first {TARGETS[mode]} to graph 1, first {TARGETS[mode]} nohead dt 2 lw 2 lc rgb '#d62728'
set label "target {TARGETS[mode]}x" at graph 1, first {TARGETS[mode]} offset -7,0.7 tc rgb '#d62728'
plot {plots}, {labels}
""", svg)


def scaling_charts(csv_path: Path, out: Path) -> None:
    rows = [r for r in csv.DictReader(open(csv_path)) if num(r.get("wall"))]
    tools = list(dict.fromkeys(r["tool"] for r in rows))
    for mode, key, title, ylabel, name, logy in (
            ("warm", "wall", "Warm cache: seconds per run against files (log-log)", "seconds", "scaling-warm", True),
            ("cold", "wall", "Cold cache: seconds per run against files (log-log)", "seconds", "scaling-cold", True),
            ("warm", "us_per_file", "Cost per file, warm (flat = linear growth)", "µs per file", "scaling-per-file",
             True)):
        sel = [r for r in rows if r["mode"] == mode]
        if not sel:
            continue
        blocks, plots = "", []
        for t in tools:
            pts = sorted((int(r["files"]), float(r[key])) for r in sel if r["tool"] == t)
            if not pts:
                continue
            blocks += f"${t.replace('-', '_')} << EOD\n" + "".join(f"{f} {v}\n" for f, v in pts) + "EOD\n"
            plots.append(f"${t.replace('-', '_')} using 1:2 with linespoints lw 2 pt 7 lc rgb '{COLORS.get(t, '#000000')}' "
                         f"title '{t}'")
        svg = out / f"{name}.svg"
        gnuplot(HEAD + f"""set output '{svg}'
{blocks}set title "{title}"
set logscale x 10
set offsets graph 0.04, graph 0.04, 0, 0
{'set logscale y 10' if logy else ''}
set xlabel "files"
set ylabel "{ylabel}"
set xtics ("10k" 1e4, "30k" 3e4, "100k" 1e5, "300k" 3e5, "1M" 1e6, "3M" 3e6)
set grid xtics ytics mxtics mytics
set key top left noenhanced
plot {', '.join(plots)}
""", svg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ratios", type=Path, help="run.sh's work/ratios.csv")
    ap.add_argument("--scaling", type=Path, help="scaling.py's results/scaling.csv")
    ap.add_argument("--out", type=Path, default=HERE / "charts", help="directory for the SVGs (default tests/bench/charts)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for src, name, draw in ((args.ratios, "ratios.csv", ratio_charts), (args.scaling, "scaling.csv", scaling_charts)):
        if src:
            dest = args.out / name
            if src.resolve() != dest.resolve():
                shutil.copy2(src, dest)
            draw(dest, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
