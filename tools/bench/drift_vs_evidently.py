#!/usr/bin/env python3
"""riskops drift against Evidently 0.7.23, side by side on the same files, in one run.

    python3 tools/bench/drift_vs_evidently.py [--rows 100000 1000000 5000000] [--skip-evidently-above N]
    python3 tools/bench/drift_vs_evidently.py --bike [--rows 1000000]

For each size it makes (once) the synthetic files of tools/evidently/bench_evidently.py
(N rows per side, 15 columns), then runs, each as its own process under /usr/bin/time -v:
  * riskops:   target/release/riskops drift REF CUR --format json  (build it first:
               cargo build --release -p riskops-cli)
  * Evidently: tools/evidently/reference_drift.py REF CUR (pandas read_csv + DataDriftPreset)
With --bike the pair is real data instead: the UCI bike-sharing hours (../shared/data/
bike_sharing/hour.csv, CC BY 4.0) of 2011 against those of 2012, each drawn with replacement
(numpy RandomState(0)) to N rows, 14 columns (instant, dateday and year left out: an id, a
date and a constant per side). Then it prints wall time (riskops: the median of three runs) and peak RSS of both whole
processes, their ratios, and whether every
column's method and verdict and the dataset verdict agree. Needs
`pip install evidently==0.7.23 "pandas<3"`. Evidently is skipped above --skip-evidently-above
rows (default 1,000,000: at 5M rows it takes minutes and ~5 GiB).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
EVIDENTLY = os.path.join(ROOT, "tools", "evidently")
DATA = os.path.join(EVIDENTLY, "bench_data")
RISKOPS = os.environ.get("RISKOPS_BIN", os.path.join(ROOT, "target", "release", "riskops"))


def warm(*paths):
    """Reads the files once so both tools start with them in the page cache."""
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def timed(cmd):
    """Runs cmd under GNU time; returns (wall seconds, peak RSS MiB)."""
    out = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", out.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    return seconds, int(rss.group(1)) / 1024


def ensure_data(rows):
    ref = os.path.join(DATA, f"bench_{rows}x15.reference.csv")
    cur = os.path.join(DATA, f"bench_{rows}x15.current.csv")
    if not (os.path.exists(ref) and os.path.exists(cur)):
        subprocess.run([sys.executable, os.path.join(EVIDENTLY, "bench_evidently.py"), "--rows", str(rows),
                        "--generate-only", "--out-dir", DATA], check=True)
    return ref, cur


def ensure_bike(rows):
    """The bike-sharing pair at `rows` rows per side (see the docstring), written once."""
    ref = os.path.join(DATA, f"bike_{rows}x14.reference.csv")
    cur = os.path.join(DATA, f"bike_{rows}x14.current.csv")
    if os.path.exists(ref) and os.path.exists(cur):
        return ref, cur
    import numpy as np
    import pandas as pd
    hours = pd.read_csv(os.path.join(ROOT, "..", "shared", "data", "bike_sharing", "hour.csv"))
    hours = hours.drop(columns=["instant", "dateday"])
    rng = np.random.RandomState(0)
    os.makedirs(DATA, exist_ok=True)
    for year, path in [(0, ref), (1, cur)]:
        side = hours[hours["year"] == year].drop(columns=["year"]).reset_index(drop=True)
        side.iloc[rng.randint(0, len(side), size=rows)].to_csv(path, index=False)
    return ref, cur


def agreement(ours, theirs):
    by_name = {c["name"]: c for c in ours["columns"]}
    diffs = []
    for c in theirs["columns"]:
        o = by_name.get(c["name"])
        if o is None or o["method"] != c["method"] or o["drifted"] != c["drifted"]:
            diffs.append(c["name"])
    if ours["dataset"]["drifted"] != theirs["dataset"]["drifted"]:
        diffs.append("(dataset)")
    return "yes" if not diffs else "NO: " + ", ".join(diffs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    ap.add_argument("--skip-evidently-above", type=int, default=1_000_000)
    ap.add_argument("--bike", action="store_true", help="the bike-sharing pair (14 columns) instead of synthetic data")
    args = ap.parse_args()
    if args.bike and "--rows" not in sys.argv:
        args.rows = [1_000_000]
    if not os.path.exists(RISKOPS):
        sys.exit(f"{RISKOPS} is missing: cargo build --release -p riskops-cli")
    print("| rows per side | riskops wall (s) | riskops peak (MiB) | Evidently wall (s) | Evidently peak (MiB) "
          "| speed-up | memory ratio | same decisions |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            ref, cur = ensure_bike(rows) if args.bike else ensure_data(rows)
            ours_json = os.path.join(tmp, f"riskops_{rows}.json")
            warm(ref, cur)
            # riskops takes seconds, so it runs three times and the median counts (this
            # virtual machine's speed wanders by tens of percent); Evidently runs once.
            runs = sorted(timed([RISKOPS, "drift", ref, cur, "--format", "json", "--output", ours_json]) for _ in range(3))
            r_wall, r_rss = runs[1]
            ours = json.load(open(ours_json))
            if rows > args.skip_evidently_above:
                print(f"| {rows} | {r_wall:.2f} | {r_rss:.0f} | – | – | – | – | (Evidently skipped) |")
                continue
            theirs_json = os.path.join(tmp, f"evidently_{rows}.json")
            warm(ref, cur)
            e_wall, e_rss = timed([sys.executable, os.path.join(EVIDENTLY, "reference_drift.py"), ref, cur,
                                   "--sep", ",", "--out", theirs_json])
            theirs = json.load(open(theirs_json))
            print(f"| {rows} | {r_wall:.2f} | {r_rss:.0f} | {e_wall:.2f} | {e_rss:.0f} | {e_wall / r_wall:.1f}× "
                  f"| {r_rss / e_rss:.2f} | {agreement(ours, theirs)} |", flush=True)


if __name__ == "__main__":
    main()
