"""Prediction logs from a DataFrame become the records `riskops log` sends for the same
columns: the native path (DataFrames and Tables) and the pure-Python path (lists of dicts)
agree record for record."""

import json

import numpy as np
import pandas as pd

from riskops._records import _columns, _native_batches, _records, record_ids


def logs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "timestamp": 1_790_000_000 + np.arange(n),
            "age": rng.integers(18, 80, n),
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50_000, 9_000, n)),
            "segment": rng.choice(["a", "b", None], n),
            "prediction": (score > 0.5).astype(int),
            "score": score,
            "label": rng.integers(0, 2, n),
            "attr.sex": rng.choice(["f", "m"], n),
            "latency_ms": rng.integers(1, 40, n),
        }
    )


def native_records(df, version=None, batch=64):
    batches, warnings = _native_batches(df, version, batch)
    assert warnings == []
    assert [len(ids) for _, ids in batches][:-1] == [batch] * (len(batches) - 1)
    return [json.loads(line) for body, _ in batches for line in body.decode().splitlines()]


def test_native_records_equal_the_python_ones():
    df = logs()
    names, columns, rows = _columns(df.to_dict("records"))
    python = _records(names, columns, range(rows), "3", {})
    native = native_records(df, version="3")
    assert len(native) == len(python) == len(df)
    for a, b in zip(native, python):
        assert a == b, (a, b)


def test_generated_ids_are_stable_and_distinguish_equal_rows():
    df = logs(50).drop(columns=["id"])
    df = pd.concat([df, df.iloc[:5]], ignore_index=True)  # five rows twice
    ids = record_ids(df)
    assert len(set(ids)) == len(df)
    assert ids == record_ids(df.copy())
    assert [r["id"] for r in native_records(df, version="1")] == ids  # the version does not change them


def test_a_window_row_carries_estimates_and_reconstruction_error():
    """The columns `windows()` gives for the window answer's estimates (the API's
    WindowEstimated / WindowMultivariate shapes), and None where a window has none."""
    from riskops.answers import Window

    metric = lambda value, alert=False: {"value": value, "sampling_error": 0.01, "alert": alert, "realized": None}  # noqa: E731
    computed = {
        "start": "2026-12-01T00:00:00Z", "end": "2026-12-01T01:00:00Z", "version": "1", "records": 500,
        "labelled": 0, "drift": {"share": 0.0, "drifted": False, "features": [], "exact": True},
        "estimated": {"records": 500, "calibrated": False, "chunk_size": 500, "roc_auc": metric(0.61, True),
                      "f1": metric(0.4), "precision": metric(0.5), "recall": metric(0.3), "accuracy": metric(0.7)},
        "multivariate": {"reconstruction_error": {"value": 1.9, "alert": True}},
    }
    row = Window._from(computed).row()
    assert (row["estimated_roc_auc"], row["estimated_f1"], row["estimated_alert"]) == (0.61, 0.4, True)
    assert (row["reconstruction_error"], row["reconstruction_alert"]) == (1.9, True)
    skipped = dict(computed, estimated={"skipped": "the window is open"}, multivariate={"skipped": "open"})
    row = Window._from(skipped).row()
    assert row["estimated_roc_auc"] is None and row["estimated_alert"] is None and row["reconstruction_error"] is None
