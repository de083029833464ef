#!/usr/bin/env python3
"""riskops.drift (the Python package) against Evidently 0.7.23 on the same pandas DataFrames,
in one process run (issue 22, item 6).

    python tools/bench/python_drift_vs_evidently.py [--rows 1000000] [--repeat 3]

The pair is drift_vs_evidently.py's bike-sharing pair (UCI bike-sharing hours of 2011
against 2012, each drawn with replacement to N rows, 14 columns; ../shared/data/bike_sharing,
CC BY 4.0), read once with pandas.read_csv; loading is excluded for both. Timed:
  * riskops:   riskops.drift(reference, current)                 (median of --repeat runs)
  * Evidently: Dataset.from_pandas(...) for both sides, then
               Report([DataDriftPreset()], include_tests=True).run(current, reference)  (once)
Prints a table with both times, the ratio, and whether every column's method and verdict and
the dataset's verdict agree. Needs a venv with `pip install evidently==0.7.23 pyarrow` and
the riskops wheel built in release mode (`pip install ./python`).
"""

import argparse
import os
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "evidently"))
warnings.filterwarnings("ignore")


def evidently_decisions(reference, current):
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset

    started = time.perf_counter()
    cur_ds, ref_ds = Dataset.from_pandas(current), Dataset.from_pandas(reference)
    snap = Report([DataDriftPreset()], include_tests=True).run(cur_ds, ref_ds)
    elapsed = time.perf_counter() - started
    d = snap.dict()
    drifted = {}
    for t in d.get("tests", []):
        params = (t.get("metric_config") or {}).get("params") or {}
        if params.get("type", "").endswith(":ValueDrift"):
            drifted[params["column"]] = t["status"] == "FAIL"
    methods = {}
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith(":ValueDrift"):
            methods[cfg["column"]] = cfg["method"]
    dataset = None
    for res, _ in snap._context._legacy_metrics.values():
        if type(res).__name__ == "DatasetDriftMetricResults":
            dataset = bool(res.dataset_drift)
    return elapsed, drifted, methods, dataset


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import pandas as pd
    import riskops
    from drift_vs_evidently import ensure_bike
    from reference_drift import DISPLAY_TO_NAME, SHORT_NAMES

    ref_path, cur_path = ensure_bike(args.rows)
    reference, current = pd.read_csv(ref_path), pd.read_csv(cur_path)

    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = riskops.drift(reference, current)
        times.append(time.perf_counter() - started)
    ours = report.to_dict()
    ours_time = statistics.median(times)

    theirs_time, drifted, methods, dataset = evidently_decisions(reference, current)
    diffs = []
    by_name = {c["name"]: c for c in ours["columns"]}
    for col, flag in drifted.items():
        o = by_name.get(col)
        name = DISPLAY_TO_NAME.get(methods.get(col), methods.get(col))
        if o is None or o["drifted"] != flag or o["method"] != SHORT_NAMES.get(name, name):
            diffs.append(col)
    if dataset != ours["dataset"]["drifted"]:
        diffs.append("(dataset)")
    same = "yes" if not diffs else "NO: " + ", ".join(diffs)

    print("| rows per side | columns | riskops.drift (s) | Evidently Report.run (s) | speed-up | same decisions |")
    print("|---:|---:|---:|---:|---:|---|")
    print(f"| {args.rows:,} | {len(reference.columns)} | {ours_time:.3f} | {theirs_time:.2f} "
          f"| {theirs_time / ours_time:.0f}× | {same} |")
    print(f"riskops runs: {', '.join(f'{t:.3f}' for t in times)} s; "
          f"{ours['dataset']['n_drifted']} of {ours['dataset']['n_columns']} columns drifted")


if __name__ == "__main__":
    main()
