#!/usr/bin/env python3
"""An executable version of RULES.md for the default DataDriftPreset, written WITHOUT Evidently
(pandas + numpy + scipy only), checked against the expected answers.

    check_rules.py [EXPECTED.json ...]      (default: pairs/*.expected.json)

For each NAME.expected.json it reads NAME.reference.csv / NAME.current.csv with pandas defaults,
applies the rules (type from the current file, NaN/±inf dropped per column, test selection on
n_ref and n_values, the test formulas, thresholds, dataset share) and compares column set and
order, type, method, drifted, statistic and p-value (relative tolerance 1e-9) and the dataset
verdict. Prints the largest relative difference seen; exits 1 on any mismatch. Text columns are
not implemented (none occur in the pairs).
"""

import glob
import json
import math
import os
import sys

import numpy as np
import pandas as pd
from scipy import special, stats

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL = 1e-9


def infer_type(s):
    """RULES.md § A, on the CURRENT column."""
    name = s.dtype.name
    if name.startswith("float"):
        return "numerical"
    if name.startswith("int"):
        return "categorical" if s.nunique() <= 10 else "numerical"
    if name in ("object", "string", "str"):
        nn = s.dropna()
        if len(nn) == 0 or not (isinstance(nn.iloc[0], str) and isinstance(nn.iloc[-1], str)):
            return None  # Unknown: excluded
        return "text" if s.nunique() > s.count() * 0.5 else "categorical"
    if name in ("bool", "category"):
        return "categorical"
    return None  # datetime, uint64, ...: excluded


def clean(s):
    """RULES.md § B."""
    return s.replace([np.inf, -np.inf], np.nan).dropna()


def value_counts_over_union(r, c):
    keys = list(set(r.unique()) | set(c.unique()))
    rc, cc = r.value_counts(), c.value_counts()
    return keys, np.array([rc.get(k, 0) for k in keys], float), np.array([cc.get(k, 0) for k in keys], float)


def select(ctype, n_ref, n_values):
    """RULES.md § C."""
    if n_ref <= 1000:
        if ctype == "numerical" and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "ztest"
    if ctype == "numerical" and n_values > 5:
        return "wasserstein"
    return "jensenshannon"


def run_test(method, r, c):
    """Returns (statistic, p_value, drifted); RULES.md § D, F-I."""
    if method == "ks":
        k = stats.ks_2samp(r.to_numpy(), c.to_numpy())
        return float(k.statistic), float(k.pvalue), k.pvalue <= 0.05
    if method == "wasserstein":
        w = stats.wasserstein_distance(r.to_numpy(), c.to_numpy()) / max(float(np.std(r.to_numpy())), 0.001)
        return w, None, w >= 0.1
    if method == "jensenshannon":
        _, a, b = value_counts_over_union(r, c)
        p, q = a / len(r), b / len(c)          # raw proportions (no zero replacement)
        p, q = p / p.sum(), q / q.sum()        # scipy renormalises
        m = (p + q) / 2
        d = math.sqrt((special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()) / 2)
        return d, None, d >= 0.1
    if method == "chisquare":
        _, a, b = value_counts_over_union(r, c)
        f_exp = a * (len(c) / len(r))
        with np.errstate(divide="ignore"):
            stat = float(((b - f_exp) ** 2 / f_exp).sum())
        p = float(special.chdtrc(len(a) - 1, stat))
        return stat, p, p < 0.05
    if method == "ztest":
        if r.nunique() == 1 and c.nunique() == 1 and r.iloc[0] == c.iloc[0]:
            return float("nan"), 1.0, False
        k0 = sorted(set(r.unique()) | set(c.unique()))[0]    # smallest value -> 0, others -> 1
        n1, n2 = len(r), len(c)
        p1, p2 = float((r != k0).sum()) / n1, float((c != k0).sum()) / n2
        P = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / math.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
        p = float(2 * (1 - stats.norm.cdf(abs(z))))
        return z, p, p < 0.05
    raise ValueError(method)


def analyse(ref, cur):
    types = {col: infer_type(cur[col]) for col in cur.columns}
    if "text" in types.values():
        raise NotImplementedError("text columns (domain classifier) are not implemented here")
    order = [c for c in cur.columns if types[c] == "numerical"] + [c for c in cur.columns if types[c] == "categorical"]
    out = []
    for col in order:
        r, c = clean(ref[col]), clean(cur[col])
        method = select(types[col], len(r), pd.concat([r, c]).nunique())
        stat, p, drifted = run_test(method, r, c)
        out.append({"name": col, "type": types[col], "method": method, "statistic": stat, "p_value": p,
                    "drifted": bool(drifted)})
    n_drifted = sum(x["drifted"] for x in out)
    share = n_drifted / len(out)
    return {"n_columns": len(out), "n_drifted": n_drifted, "drift_share": share, "drifted": share >= 0.5}, out


def main():
    files = sys.argv[1:] or sorted(glob.glob(os.path.join(HERE, "pairs", "*.expected.json")))
    bad, worst, n_cols = 0, 0.0, 0

    def cmp(mine, theirs):
        nonlocal worst
        if mine is None or not math.isfinite(mine):
            return theirs is None
        if theirs is None:
            return False
        if mine == theirs:
            return True
        rel = abs(mine - theirs) / max(abs(mine), abs(theirs))
        worst = max(worst, rel)
        return rel <= RTOL

    for f in files:
        base = f[: -len(".expected.json")]
        exp = json.load(open(f))
        ds, cols = analyse(pd.read_csv(base + ".reference.csv"), pd.read_csv(base + ".current.csv"))
        if [c["name"] for c in cols] != [c["name"] for c in exp["columns"]]:
            print(f"{f}: column set/order differs")
            bad += 1
            continue
        for mine, theirs in zip(cols, exp["columns"]):
            n_cols += 1
            ok = (mine["type"] == theirs["type"] and mine["method"] == theirs["method"]
                  and mine["drifted"] == theirs["drifted"]
                  and cmp(mine["statistic"], theirs["statistic"]) and cmp(mine["p_value"], theirs["p_value"]))
            if not ok:
                bad += 1
                print(f"{os.path.basename(f)} {mine['name']}: mine {mine} expected {theirs}")
        e = exp["dataset"]
        if (e["n_columns"], e["n_drifted"], e["drifted"]) != (ds["n_columns"], ds["n_drifted"], ds["drifted"]) \
                or e["drift_share"] != ds["drift_share"]:
            bad += 1
            print(f"{os.path.basename(f)}: dataset mine {ds} expected {e}")
    print(f"{len(files)} files, {n_cols} columns, {bad} mismatches, largest relative difference {worst:.3g}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
