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
