#!/usr/bin/env python3
"""Writes tests/data/ecod_reference.json: pyod's ECOD scores, checked by tests/suite/ecod.rs
(riskops_stats::ecod). Python is not needed to run that test.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyod
    /tmp/venv/bin/python crates/stats/tests/data/make_ecod_reference.py

Cases (each: a reference fitted with `ECOD().fit(reference)`, its `decision_scores_`, and
`decision_function(batch)` — which pools the reference with the batch):
  * credit: the numeric columns of tests/data/nannyml/reference.csv (its first 1,500 rows with no missing value) and
    analysis.csv (the first 400 such rows) — UCI credit default, CC BY 4.0 (see make_nannyml_reference.py):
    heavy ties (PAY_0 takes a dozen values), skewed amounts;
  * synthetic: seeded normal, lognormal (right skew), negated lognormal (left skew), a
    few-valued integer feature and a constant, with a batch holding outliers.
"""

import json
import os

import numpy as np
import pandas as pd
import pyod
from pyod.models.ecod import ECOD

HERE = os.path.dirname(os.path.abspath(__file__))
CREDIT = ["LIMIT_BAL", "AGE", "PAY_0", "BILL_AMT1", "BILL_AMT2", "PAY_AMT1", "PAY_AMT2"]


def case(name, reference, batch, columns=None):
    model = ECOD().fit(reference)
    out = {
        "name": name,
        "reference_scores": [float(x) for x in model.decision_scores_],
        "batch_scores": [float(x) for x in model.decision_function(batch)],
    }
    if columns is None:
        out["reference"] = reference.T.tolist()
        out["batch"] = batch.T.tolist()
    else:
        out["columns"] = columns
        out["reference_rows"], out["batch_rows"] = len(reference), len(batch)
    return out


def main():
    ref = pd.read_csv(os.path.join(HERE, "nannyml", "reference.csv"))[CREDIT].dropna().iloc[:1500]
    cur = pd.read_csv(os.path.join(HERE, "nannyml", "analysis.csv"))[CREDIT].dropna().iloc[:400]
    cases = [case("credit", ref.to_numpy(float), cur.to_numpy(float), CREDIT)]

    rng = np.random.default_rng(42)

    def table(n, outliers):
        cols = [
            rng.normal(0, 1, n),
            rng.lognormal(0, 1, n),
            -rng.lognormal(1, 0.5, n),
            rng.integers(0, 5, n).astype(float),
            np.full(n, 3.0),
        ]
        x = np.column_stack(cols)
        if outliers:
            x[:5, 0] = [6, -7, 8, 0, 0]
            x[5:8, 1] = [60, 80, 0.001]
        return x

    cases.append(case("synthetic", table(300, False), table(40, True)))
    doc = {"pyod": pyod.__version__, "numpy": np.__version__, "cases": cases}
    with open(os.path.join(HERE, "ecod_reference.json"), "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
