#!/usr/bin/env python3
"""Expected dataset-profile statistics from pandas, for riskops-data's profile tests.

    python3 crates/data/tests/data/make_profile_reference.py

Reads real files committed in the repository (UCI data, CC BY 4.0: see
testdata/german_credit/SOURCE.md and tools/evidently/pairs/SOURCE.md) exactly as pandas
does, and writes profile_reference.json: per file and column the pandas dtype, count
(non-missing), missing, distinct (nunique), and for numeric columns min, max, mean, std
(ddof 1) and the quantiles (numpy "inverted_cdf", which an exact sketch reproduces).
"""
import json
import os

import numpy as np
import pandas as pd

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))
FILES = {
    "german": ("testdata/german_credit/german.data", " "),
    "credit_missing_reference": ("tools/evidently/pairs/credit_missing.reference.csv", ","),
    "adult_sex_reference": ("tools/evidently/pairs/adult_sex.reference.csv", ","),
    "bike_2011": ("tools/evidently/pairs/bike_2011_vs_2012.reference.csv", ","),
}
QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]

out = {"pandas": pd.__version__, "numpy": np.__version__, "files": {}}
for key, (path, sep) in FILES.items():
    df = pd.read_csv(os.path.join(ROOT, path), sep=sep)
    cols = []
    for name in df.columns:
        s = df[name]
        c = {"name": name, "dtype": str(s.dtype), "rows": int(len(s)), "count": int(s.count()),
             "missing": int(s.isna().sum()), "distinct": int(s.nunique())}
        if s.dtype.kind in "if":
            finite = s.replace([np.inf, -np.inf], np.nan).dropna().astype(float)
            if len(finite):
                c.update({"min": float(finite.min()), "max": float(finite.max()), "mean": float(finite.mean()),
                          "std": float(finite.std(ddof=1)) if len(finite) > 1 else None,
                          "exact_quantiles": len(finite) <= 800,
                          "quantiles": [float(np.quantile(finite.to_numpy(), q, method="inverted_cdf")) for q in QUANTILES]})
        cols.append(c)
    out["files"][key] = {"path": path, "rows": int(len(df)), "columns": cols}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "profile_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
