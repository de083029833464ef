#!/usr/bin/env python3
"""Writes tests/data/nannyml/{reference,analysis}.csv and nannyml_reference.json: NannyML
0.13.1's CBPE (binary classification) and DataReconstructionDriftCalculator on the same
chunks, checked by tests/suite/nannyml.rs (riskops_stats::monitoring) and by the CLI's
`monitor analyze` test. Python is not needed to run those tests.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install nannyml==0.13.1
    /tmp/venv/bin/python crates/stats/tests/data/make_nannyml_reference.py [DATA_DIR]

Data: UCI "default of credit card clients" (Yeh & Lien 2009; CC BY 4.0), the copy in
shared/data/credit_default (see its SOURCE.md: github.com/emanuelrck/Unfair_datasets,
commit b557bf2e). A logistic regression trained on rows 0..10000 scores a reference
(rows 10000..12900, less 8 whose scores tie with another's) and an analysis set (rows 12900..15850) in which
  - chunks 5-6 have BILL_AMT2 shuffled within them (the BILL_AMT1/BILL_AMT2 relation
    breaks while each column's distribution stays the same: a multivariate-only shift),
  - chunks 7-9 are drawn from customers already behind on payment (PAY_0 >= 1), a shift of
    one feature that moves the scores and the performance,
  - chunks 7-9 have no labels yet (labels arrive late), chunk 9 is incomplete (250 rows).
Scores: `score` (the model's probability) and `score_overconfident` (its logit tripled),
which NannyML's check finds in need of isotonic calibration. A few AGE values and
EDUCATION values are blanked to exercise the imputers; EDUCATION and MARRIAGE are text
(categorical, count-encoded by NannyML).
"""

import json
import os

os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"  # NannyML phones home otherwise
import platform
import sys
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import nannyml as nml

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../../shared/data")
CHUNK = 300
FEATURES = ["LIMIT_BAL", "AGE", "PAY_0", "BILL_AMT1", "BILL_AMT2", "PAY_AMT1", "PAY_AMT2", "EDUCATION", "MARRIAGE"]
MODEL_FEATURES = ["LIMIT_BAL", "AGE", "PAY_0", "BILL_AMT1", "BILL_AMT2", "PAY_AMT1", "PAY_AMT2"]
METRICS = ["roc_auc", "f1", "precision", "recall", "accuracy", "confusion_matrix"]

raw = pd.read_csv(os.path.join(DATA, "credit_default/default_of_credit_card_clients.csv"), sep=";")
raw = raw.rename(columns={"default payment next month": "label"})
raw["EDUCATION"] = raw["EDUCATION"].map({1: "graduate", 2: "university", 3: "high_school"}).fillna("other")
raw["MARRIAGE"] = raw["MARRIAGE"].map({1: "married", 2: "single"}).fillna("other")

train = raw.iloc[:10000]
scaler = StandardScaler().fit(train[MODEL_FEATURES])
model = LogisticRegression(max_iter=1000).fit(scaler.transform(train[MODEL_FEATURES]), train["label"])

rng = np.random.RandomState(7)
reference = raw.iloc[10000:12900].reset_index(drop=True)
pool = raw.iloc[12900:].reset_index(drop=True)
plain = pool.iloc[: 7 * CHUNK].copy()
behind = pool.iloc[7 * CHUNK :]
behind = behind[behind["PAY_0"] >= 1].iloc[: 2 * CHUNK + 250]
analysis = pd.concat([plain, behind], ignore_index=True)
rows = slice(5 * CHUNK, 7 * CHUNK)
analysis.loc[rows, "BILL_AMT2"] = rng.permutation(analysis.loc[rows, "BILL_AMT2"].to_numpy())


def scored(frame):
    frame = frame[FEATURES + ["label"]].copy()
    p = model.predict_proba(scaler.transform(frame[MODEL_FEATURES]))[:, 1]
    frame["score"] = p
    frame["score_overconfident"] = 1 / (1 + np.exp(-3 * np.log(p / (1 - p))))
    frame["prediction"] = (p >= 0.3).astype(int)
    return frame


reference, analysis = scored(reference), scored(analysis)
# NumPy orders tied scores by an unstable sort in AUROC's sampling error, so the reference
# keeps one row per score (8 duplicate customers dropped).
reference = reference.drop_duplicates(subset="score").reset_index(drop=True)
for frame, seed in ((reference, 11), (analysis, 12)):
    r = np.random.RandomState(seed)
    frame["AGE"] = frame["AGE"].astype(float)
    frame.loc[r.rand(len(frame)) < 0.02, "AGE"] = np.nan
    frame.loc[r.rand(len(frame)) < 0.02, "EDUCATION"] = np.nan
analysis["label"] = analysis["label"].astype(float)
analysis.loc[7 * CHUNK :, "label"] = np.nan
assert reference["score"].nunique() == len(reference)

out = os.path.join(HERE, "nannyml")
os.makedirs(out, exist_ok=True)
reference.to_csv(os.path.join(out, "reference.csv"), index=False)
analysis.to_csv(os.path.join(out, "analysis.csv"), index=False)
# NannyML runs on the files as read back, which is what riskops reads.
reference = pd.read_csv(os.path.join(out, "reference.csv"))
analysis = pd.read_csv(os.path.join(out, "analysis.csv"))


def num(v):
    if v is None:
        return None
    v = float(v)
    return None if np.isnan(v) else v


def expected_calibration_errors(y_pred_proba, y_true):
    """The two ECEs NannyML's needs_calibration compares (its code, returning them)."""
    from sklearn.model_selection import StratifiedShuffleSplit
    from nannyml.calibration import IsotonicCalibrator, _calculate_expected_calibration_error, _get_bin_index_edges

    sss = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
    truth, before, after = [], [], []
    for tr, te in sss.split(y_pred_proba, y_true):
        cal = IsotonicCalibrator()
        cal.fit(y_pred_proba[tr], y_true[tr])
        truth.append(y_true[te]); before.append(y_pred_proba[te]); after.append(cal.calibrate(y_pred_proba[te]))
    truth, before, after = map(np.concatenate, (truth, before, after))
    edges = _get_bin_index_edges(len(before), 10)

    def stable(t, q):
        # NannyML's ECE with a stable sort: its argsort's order of tied calibrated scores is
        # NumPy's SIMD quicksort's, which no other implementation (or CPU) reproduces.
        o = q.argsort(kind="stable")
        return float(_calculate_expected_calibration_error(t[o], q[o], edges))

    return (float(_calculate_expected_calibration_error(truth, before, edges)),
            float(_calculate_expected_calibration_error(truth, after, edges)), stable(truth, after))


def cbpe_case(score):
    est = nml.CBPE(
        y_pred_proba=score, y_pred="prediction", y_true="label", problem_type="classification_binary",
        metrics=METRICS, chunk_size=CHUNK,
    )
    est.fit(reference)
    periods = {"reference": est.result.filter(period="reference").data, "analysis": est.estimate(analysis).filter(period="analysis").data}
    names = ["roc_auc", "f1", "precision", "recall", "accuracy", "true_positive", "true_negative", "false_positive", "false_negative"]
    ece_before, ece_after, ece_after_stable = expected_calibration_errors(reference[score].to_numpy(), reference["label"].to_numpy())
    result = {"score_column": score, "needs_calibration": bool(est.needs_calibration),
              "ece_before": ece_before, "ece_after": ece_after,
              "ece_after_stable_order": ece_after_stable}
    for period, data in periods.items():
        chunks = []
        for _, row in data.iterrows():
            chunk = {"start": int(row[("chunk", "start_index")]), "end": int(row[("chunk", "end_index")])}
            for m in names:
                chunk[m] = {
                    "value": num(row[(m, "value")]),
                    "sampling_error": num(row[(m, "sampling_error")]),
                    "realized": num(row[(m, "realized")]),
                    "upper": num(row[(m, "upper_confidence_boundary")]),
                    "lower": num(row[(m, "lower_confidence_boundary")]),
                    "upper_threshold": num(row[(m, "upper_threshold")]),
                    "lower_threshold": num(row[(m, "lower_threshold")]),
                    "alert": bool(row[(m, "alert")]),
                }
            chunks.append(chunk)
        result[period] = chunks
    return result


def drc_case(extra=None):
    """`extra`: a column of one value, 0.1 in the reference and 0.2 in the analysis, which
    StandardScaler must treat as constant although its computed variance may be a rounding
    residue (else the analysis' 0.2 is standardized into an enormous number)."""
    ref, ana, columns = reference, analysis, list(FEATURES)
    if extra:
        ref, ana = reference.assign(**{extra: 0.1}), analysis.assign(**{extra: 0.2})
        columns.append(extra)
    calc = nml.DataReconstructionDriftCalculator(column_names=columns, chunk_size=CHUNK)
    calc.fit(ref)
    periods = {"reference": calc.result.filter(period="reference").data, "analysis": calc.calculate(ana).filter(period="analysis").data}
    result = {"n_components": int(calc._pca.n_components_), "categorical": calc.categorical_column_names}
    for period, data in periods.items():
        chunks = []
        for _, row in data.iterrows():
            m = "reconstruction_error"
            chunks.append({
                "start": int(row[("chunk", "start_index")]), "end": int(row[("chunk", "end_index")]),
                "value": num(row[(m, "value")]), "sampling_error": num(row[(m, "sampling_error")]),
                "upper": num(row[(m, "upper_confidence_boundary")]), "lower": num(row[(m, "lower_confidence_boundary")]),
                "upper_threshold": num(row[(m, "upper_threshold")]), "lower_threshold": num(row[(m, "lower_threshold")]),
                "alert": bool(row[(m, "alert")]),
            })
        result[period] = chunks
    return result


doc = {
    "versions": {"python": platform.python_version(), "nannyml": nml.__version__, "numpy": np.__version__,
                 "pandas": pd.__version__, "scikit-learn": sklearn.__version__},
    "source": "UCI default of credit card clients (CC BY 4.0), shared/data/credit_default; see the docstring",
    "chunk_size": CHUNK,
    "features": FEATURES,
    "cbpe": [cbpe_case("score"), cbpe_case("score_overconfident")],
    "drc": drc_case(),
    "drc_with_constant_column": drc_case("CONSTANT"),
}
with open(os.path.join(HERE, "nannyml_reference.json"), "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print({c["score_column"]: c["needs_calibration"] for c in doc["cbpe"]}, "components", doc["drc"]["n_components"])
print("drc alerts", [c["alert"] for c in doc["drc"]["analysis"]])
for case in doc["cbpe"]:
    print(case["score_column"], case["ece_before"], case["ece_after"])
    for m in ["roc_auc", "f1", "precision", "recall", "accuracy", "true_positive"]:
        print(" ", m, "alerts", [int(c[m]["alert"]) for c in case["analysis"]])
