#!/usr/bin/env python3
"""Benchmark Evidently 0.7.23's DataDriftPreset on deterministic synthetic data.

    bench_evidently.py --rows N [--cols 15] [--out-dir DIR] [--seed 0] [--generate-only] [--force]

Data: DIR/bench_<N>x15.reference.csv and DIR/bench_<N>x15.current.csv, N rows each, written
only if not already present (--force rewrites). 15 columns:
  f0..f9  float, numerical. Reference/current distributions (loc, scale in the reference's units):
          f0 normal, current shifted +0.5 sd        (drift)
          f1 normal, current sd x 1.5               (drift)
          f2 normal, current shifted +0.05 sd       (no drift at Wasserstein 0.1)
          f3 lognormal, current shifted +0.15 sd    (drift)
          f4 normal with 1% missing, unchanged
          f5 uniform(0, 100), unchanged
          f6 exponential(2), unchanged
          f7 normal(1000, 250), unchanged
          f8 student-t(5), unchanged
          f9 normal mixture, unchanged
  c0..c2  integer, categorical (<= 10 values): c0 uniform on 0..9 (unchanged), c1 0..4 with
          shifted probabilities (drift), c2 1..3 (unchanged)
  s0, s1  string, categorical: s0 "A".."E" with 1% missing (unchanged), s1 "cat_0".."cat_7",
          current gains a new label "cat_8" (3%)
Floats are written with "%.7g". Generation uses numpy.random.RandomState(seed) (a stream numpy
guarantees to keep stable), so the files are identical on every machine.

Measurement: runs `reference_drift.py REF CUR --sep , --out DIR/bench_<N>x15.expected.json` (pandas
read_csv of both files + Report([DataDriftPreset()]).run(...) + JSON) in a subprocess under
/usr/bin/time -v when available (else resource.getrusage(RUSAGE_CHILDREN).ru_maxrss) and prints
    {"rows": N, "cols": 15, "wall_s": ..., "peak_rss_mib": ...}
wall_s is the whole child process (interpreter start, imports, CSV parsing, drift computation).
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))


def paths(out_dir, rows, cols):
    base = os.path.join(out_dir, f"bench_{rows}x{cols}")
    return base + ".reference.csv", base + ".current.csv", base + ".expected.json"


def _frame(rs, n, current):
    d = {}
    d["f0"] = rs.normal(0.0 + (0.5 if current else 0.0), 1.0, n)
    d["f1"] = rs.normal(10.0, 2.0 * (1.5 if current else 1.0), n)
    d["f2"] = rs.normal(5.0 + (0.05 * 3.0 if current else 0.0), 3.0, n)
    ln = rs.lognormal(0.0, 0.5, n)
    d["f3"] = ln + (0.15 * 0.6039 if current else 0.0)  # sd of lognormal(0, 0.5) ~ 0.6039
    f4 = rs.normal(-2.0, 0.7, n)
    f4[rs.random_sample(n) < 0.01] = np.nan
    d["f4"] = f4
    d["f5"] = rs.uniform(0.0, 100.0, n)
    d["f6"] = rs.exponential(2.0, n)
    d["f7"] = rs.normal(1000.0, 250.0, n)
    d["f8"] = rs.standard_t(5, n)
    comp = rs.random_sample(n) < 0.3
    d["f9"] = np.where(comp, rs.normal(-3.0, 1.0, n), rs.normal(2.0, 0.5, n))
    d["c0"] = rs.randint(0, 10, n)
    p1 = [0.1, 0.2, 0.3, 0.2, 0.2] if current else [0.2, 0.2, 0.2, 0.2, 0.2]
    d["c1"] = rs.choice(5, n, p=p1)
    d["c2"] = rs.randint(1, 4, n)
    s0 = np.array(list("ABCDE"), dtype=object)[rs.choice(5, n, p=[0.3, 0.25, 0.2, 0.15, 0.1])]
    s0[rs.random_sample(n) < 0.01] = np.nan
    d["s0"] = s0
    labels = np.array([f"cat_{i}" for i in range(9)], dtype=object)
    p = [0.125] * 8 + [0.0]
    if current:
        p = [0.97 * 0.125] * 8 + [0.03]
    d["s1"] = labels[rs.choice(9, n, p=p)]
    return pd.DataFrame(d)


def generate(rows, cols, out_dir, seed=0, force=False):
    if cols != 15:
        sys.exit("only --cols 15 is supported (10 float, 3 integer categorical, 2 string categorical)")
    ref_p, cur_p, _ = paths(out_dir, rows, cols)
    if not force and os.path.exists(ref_p) and os.path.exists(cur_p):
        return ref_p, cur_p
    os.makedirs(out_dir, exist_ok=True)
    for p, current, s in ((ref_p, False, seed), (cur_p, True, seed + 1)):
        df = _frame(np.random.RandomState(s), rows, current)
        tmp = p + ".tmp"
        df.to_csv(tmp, index=False, float_format="%.7g")
        os.replace(tmp, p)
    return ref_p, cur_p


def measure(ref_p, cur_p, out_json):
    cmd = [sys.executable, os.path.join(HERE, "reference_drift.py"), ref_p, cur_p, "--sep", ",", "--out", out_json]
    time_bin = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    if time_bin:
        cmd = [time_bin, "-v"] + cmd
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONHASHSEED="0")  # reproducible last bits (see RULES.md)
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        sys.exit(f"Evidently run failed (exit {r.returncode})")
    if time_bin:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
        peak_kib = int(m.group(1))
    else:
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return wall, peak_kib / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--cols", type=int, default=15)
    ap.add_argument("--out-dir", default=os.path.join(HERE, "bench_data"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generate-only", action="store_true", help="write the CSV files and exit")
    ap.add_argument("--force", action="store_true", help="rewrite the CSV files even if present")
    a = ap.parse_args()

    ref_p, cur_p = generate(a.rows, a.cols, a.out_dir, a.seed, a.force)
    if a.generate_only:
        print(json.dumps({"rows": a.rows, "cols": a.cols, "reference": ref_p, "current": cur_p}))
        return
    wall, peak = measure(ref_p, cur_p, paths(a.out_dir, a.rows, a.cols)[2])
    print(json.dumps({"rows": a.rows, "cols": a.cols, "wall_s": round(wall, 3), "peak_rss_mib": round(peak, 1)}))


if __name__ == "__main__":
    main()
