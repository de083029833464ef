#!/usr/bin/env python3
"""Writes metrics_reference.json: scikit-learn and fairlearn answers for the performance
and fairness metrics of `riskops_stats::metrics` (checked by tests/suite/metrics.rs).

    pip install scikit-learn fairlearn numpy
    python3 crates/stats/tests/data/make_metrics_reference.py

Every case stores its inputs explicitly (rounded scores make ties on purpose), so the Rust
test needs neither Python nor a generator. NaN (sklearn/fairlearn warning or raising, e.g.
ROC AUC with one class) is written as null. Deterministic: fixed NumPy seed.
"""

import json
import math
import os
import platform
import warnings

import fairlearn
import numpy as np
import sklearn
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

warnings.simplefilter("ignore")  # zero_division and single-class warnings are the point
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_reference.json")
rng = np.random.default_rng(20240607)


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


def classification_case(name, y_true, y_pred, score):
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    score = np.asarray(score, dtype=float)
    try:
        auc = roc_auc_score(y_true, score)
    except ValueError:  # only one class in y_true
        auc = None
    return {
        "name": name,
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "score": score.tolist(),
        "expected": {
            "accuracy": num(accuracy_score(y_true, y_pred)),
            "precision": num(precision_score(y_true, y_pred)),
            "recall": num(recall_score(y_true, y_pred)),
            "f1": num(f1_score(y_true, y_pred)),
            "roc_auc": None if auc is None else num(auc),
            # labels=[0, 1] so that single-class windows have a log loss too (without it,
            # sklearn raises); identical to the default whenever both classes occur.
            "log_loss": num(log_loss(y_true, score, labels=[0, 1])),
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        },
    }


def classification_cases():
    cases = []
    # Scores rounded to 2 decimals: many ties across classes, like a coarse model.
    n = 500
    y = (rng.random(n) < 0.35).astype(int)
    s = np.clip(0.3 * y + rng.random(n) * 0.7, 0.0, 1.0).round(2)
    cases.append(classification_case("ties_2_decimals_n500", y, (s >= 0.5).astype(int), s))
    # Continuous scores, full precision, including exact 0 and 1 on both classes (clipping).
    n = 400
    y = (rng.random(n) < 0.5).astype(int)
    s = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 1.2 * (2 * y - 1))))
    s[:4] = [0.0, 1.0, 0.0, 1.0]
    y[:4] = [1, 0, 0, 1]
    pred = (rng.random(n) < s).astype(int)
    cases.append(classification_case("continuous_with_0_and_1_n400", y, pred, s))
    # A model with three distinct outputs.
    n = 300
    y = (rng.random(n) < 0.2).astype(int)
    s = np.where(y == 1, rng.choice([0.1, 0.5, 0.9], n, p=[0.2, 0.3, 0.5]), rng.choice([0.1, 0.5, 0.9], n, p=[0.6, 0.3, 0.1]))
    cases.append(classification_case("three_distinct_scores_n300", y, (s > 0.5).astype(int), s))
    # Imbalanced, nothing predicted positive: precision and F1 hit zero_division.
    n = 200
    y = (rng.random(n) < 0.05).astype(int)
    s = (rng.random(n) * 0.4).round(3)
    cases.append(classification_case("nothing_predicted_positive_n200", y, np.zeros(n, int), s))
    # Only one class present: ROC AUC undefined (sklearn raises).
    cases.append(classification_case("all_positive", [1] * 7, [1, 1, 0, 1, 0, 1, 1], [0.9, 0.8, 0.2, 0.7, 0.4, 1.0, 0.55]))
    cases.append(classification_case("all_negative", [0] * 6, [0, 0, 0, 1, 0, 0], [0.1, 0.0, 0.3, 0.6, 0.2, 0.45]))
    cases.append(classification_case("all_negative_predicted_negative", [0] * 4, [0] * 4, [0.1, 0.2, 0.3, 0.4]))
    # Perfect and inverted rankings, and all scores tied.
    cases.append(classification_case("perfect", [0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0.1, 0.2, 0.7, 0.8, 0.9]))
    cases.append(classification_case("inverted", [1, 1, 0, 0], [0, 0, 1, 1], [0.1, 0.2, 0.7, 0.8]))
    cases.append(classification_case("all_tied", [1, 0, 1, 0, 0], [1, 1, 1, 1, 1], [0.5] * 5))
    cases.append(classification_case("two_records", [1, 0], [1, 1], [0.6, 0.6000000000000001]))
    return cases


def regression_case(name, y_true, y_pred):
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    return {
        "name": name,
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "expected": {
            "mae": num(mean_absolute_error(y_true, y_pred)),
            "rmse": num(root_mean_squared_error(y_true, y_pred)),
            "mape": num(mean_absolute_percentage_error(y_true, y_pred)),
            "r2": num(r2_score(y_true, y_pred)),
        },
    }


def regression_cases():
    cases = []
    n = 500
    y = rng.normal(50.0, 12.0, n)
    cases.append(regression_case("normal_n500", y, y + rng.normal(0.0, 4.0, n)))
    n = 300
    y = rng.integers(0, 6, n).astype(float)  # many exact zeros: MAPE divides by f64 eps
    cases.append(regression_case("zeros_in_y_true_n300", y, y + rng.normal(0.0, 0.5, n).round(2)))
    y = rng.normal(1e6, 3.0, 200)
    cases.append(regression_case("offset_1e6_n200", y, y + rng.normal(0.0, 1.0, 200)))
    y = rng.lognormal(0.0, 2.0, 250)
    cases.append(regression_case("heavy_tail_n250", y, y * rng.uniform(0.5, 1.5, 250)))
    # Constant y_true: SS_tot = 0, so R^2 is 0.0 (force_finite) or 1.0 if predictions are
    # perfect. Constants whose NumPy mean is exact (sklearn computes SS_tot from the mean).
    cases.append(regression_case("constant_y_true", [3.0] * 8, [3.0, 2.5, 3.5, 3.0, 4.0, 3.0, 3.0, 2.0]))
    cases.append(regression_case("constant_y_true_perfect", [-2.5] * 5, [-2.5] * 5))
    cases.append(regression_case("perfect", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]))
    cases.append(regression_case("all_zero_y_true", [0.0, 0.0, 0.0], [0.0, 1e-3, -2.0]))
    cases.append(regression_case("single_record", [4.0], [5.5]))  # R^2 undefined (NaN)
    return cases


def fairness_case(name, y_true, y_pred, group):
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    group = np.asarray(group, dtype=object)
    kw = {"sensitive_features": group}
    mf = MetricFrame(
        metrics={
            "count": count,
            "accuracy": accuracy_score,
            "precision": precision_score,
            "recall": recall_score,
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
        },
        y_true=y_true,
        y_pred=y_pred,
        **kw,
    )
    by_group = {str(g): {k: num(v) for k, v in row.items()} for g, row in mf.by_group.iterrows()}
    dpr = num(demographic_parity_ratio(y_true, y_pred, **kw))
    return {
        "name": name,
        "y_true": y_true.tolist(),
        "y_pred": y_pred.tolist(),
        "group": [str(g) for g in group],
        "expected": {
            "demographic_parity_difference": num(demographic_parity_difference(y_true, y_pred, **kw)),
            "demographic_parity_ratio": dpr,
            "equalized_odds_difference": num(equalized_odds_difference(y_true, y_pred, **kw)),
            "four_fifths": None if dpr is None else bool(dpr >= 0.8),
            "by_group": by_group,
        },
    }


def fairness_cases():
    cases = []

    def grouped(name, sizes, base_rates, pred_rates):
        parts_y, parts_p, parts_g = [], [], []
        for i, (size, br, pr) in enumerate(zip(sizes, base_rates, pred_rates)):
            y = (rng.random(size) < br).astype(int)
            # Predicted positive: a group-specific base rate, plus 70% of the true positives.
            p = ((rng.random(size) < pr) | ((y == 1) & (rng.random(size) < 0.7))).astype(int)
            parts_y.append(y)
            parts_p.append(p)
            parts_g.extend([chr(ord("a") + i)] * size)
        order = rng.permutation(sum(sizes))
        cases.append(fairness_case(name, np.concatenate(parts_y)[order], np.concatenate(parts_p)[order], np.array(parts_g)[order]))

    grouped("two_groups_n400", [250, 150], [0.4, 0.3], [0.3, 0.15])
    grouped("three_groups_tiny_n203", [120, 80, 3], [0.5, 0.2, 0.6], [0.2, 0.4, 0.5])
    grouped("four_groups_n300", [100, 90, 70, 40], [0.3, 0.3, 0.5, 0.1], [0.1, 0.2, 0.05, 0.3])
    grouped("near_parity_n600", [300, 300], [0.3, 0.3], [0.25, 0.25])
    # Group "b" has no positives in y_true (TPR undefined: fairlearn reports 0).
    cases.append(fairness_case("group_without_positives", [1, 0, 1, 0, 0, 0, 0], [1, 1, 0, 0, 1, 0, 0], ["a"] * 4 + ["b"] * 3))
    # Group "b" has only positives (FPR undefined: 0).
    cases.append(fairness_case("group_without_negatives", [1, 0, 1, 0, 1, 1, 1], [1, 1, 0, 0, 1, 0, 1], ["a"] * 4 + ["b"] * 3))
    # Nothing selected anywhere: the ratio is 0/0 (NaN in fairlearn).
    cases.append(fairness_case("nothing_selected", [1, 0, 0, 1, 0], [0] * 5, ["x", "y", "x", "y", "z"]))
    # One group selects nothing: ratio 0, four-fifths fails.
    cases.append(fairness_case("one_group_selects_nothing", [1, 0, 1, 0, 1, 0], [1, 1, 0, 0, 0, 0], ["m", "m", "m", "f", "f", "f"]))
    cases.append(fairness_case("single_group", [1, 0, 1, 1], [1, 0, 0, 1], ["only"] * 4))
    return cases


def main():
    ref = {
        "generator": "crates/stats/tests/data/make_metrics_reference.py",
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "fairlearn": fairlearn.__version__,
        },
        "classification": classification_cases(),
        "regression": regression_cases(),
        "fairness": fairness_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
