"""riskops.profile: the registry's profiles on DataFrames; merging parts gives the whole."""

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import riskops


def frame(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(10 + shift, 3, n)
    x[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 40, n),
            "city": pd.Series(rng.choice(["a", "b", "c", None], n), dtype=object),
            "flag": rng.random(n) < 0.4,
        }
    )


def columns(profile):
    return {c["name"]: c for c in profile.to_dict()["columns"]}


def test_statistics_match_pandas():
    df = frame(20_000, 1)
    cols = columns(riskops.profile(df))
    assert riskops.profile(df).rows == len(df)
    x = cols["x"]
    assert x["dtype"] == "float64" and x["missing"] == int(df["x"].isna().sum())
    assert math.isclose(x["mean"], df["x"].mean(), rel_tol=1e-9)
    assert math.isclose(x["std"], df["x"].std(), rel_tol=1e-9)
    assert x["min"] == df["x"].min() and x["max"] == df["x"].max()
    # Quantiles within the stated rank error of pandas' exact ones.
    values = np.sort(df["x"].dropna().to_numpy())
    for q, v in x["quantiles"].items():
        rank = np.searchsorted(values, v) / len(values)
        assert abs(rank - float(q)) <= x["rank_error"] + 1 / len(values), (q, v, rank)
    assert cols["k"]["dtype"] == "int64" and cols["k"]["distinct"] == df["k"].nunique()
    assert cols["city"]["missing"] == int(df["city"].isna().sum())
    top = dict(map(tuple, cols["city"]["frequencies"]["top"]))
    assert top == df["city"].value_counts().to_dict()
    assert cols["flag"]["dtype"] == "bool"


def test_merged_parts_equal_the_whole():
    df = frame(30_000, 2)
    whole = riskops.profile(df)
    parts = [riskops.profile(df.iloc[i : i + 7_000]) for i in range(0, len(df), 7_000)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    a, b = columns(whole), columns(merged)
    assert merged.rows == whole.rows
    for name in a:
        for key in ("rows", "count", "missing", "dtype"):
            assert a[name][key] == b[name][key], (name, key)
        if "mean" in a[name]:
            assert math.isclose(a[name]["mean"], b[name]["mean"], rel_tol=1e-9)
            assert math.isclose(a[name]["std"], b[name]["std"], rel_tol=1e-9)
            assert (a[name]["min"], a[name]["max"]) == (b[name]["min"], b[name]["max"])
    assert a["city"]["frequencies"] == b["city"]["frequencies"]


def test_bytes_round_trip_and_bad_bytes_are_refused():
    p = riskops.profile(frame(1_000, 3))
    back = riskops.Profile.from_bytes(p.to_bytes())
    assert back.to_dict() == p.to_dict() and back.columns == ["x", "k", "city", "flag"]
    with pytest.raises(ValueError, match="profile"):
        riskops.Profile.from_bytes(b"not a profile")
    with pytest.raises(ValueError, match="different columns"):
        p.merge(riskops.profile(frame(100, 4).drop(columns=["k"])))


def test_drift_from_profiles_agrees_with_the_exact_engine():
    reference, current = frame(50_000, 5), frame(40_000, 6, shift=0.5)
    exact = riskops.drift(reference, current).to_dict()
    approx = riskops.drift_from_profiles(riskops.profile(reference), riskops.profile(current)).to_dict()
    by_name = {c["name"]: c for c in exact["columns"]}
    for c in approx["columns"]:
        e = by_name[c["name"]]
        assert c["method"] == e["method"]
        if c["approx_error"] is not None:
            assert abs(c["statistic"] - e["statistic"]) <= c["approx_error"] + 1e-12, c
        if not c["near_threshold"]:
            assert c["drifted"] == e["drifted"], c
    assert {c["name"] for c in approx["columns"] if c["drifted"]} >= {"x"}


def test_small_profiles_compare_exactly():
    reference, current = frame(400, 7), frame(300, 8, shift=1.0)
    exact = riskops.drift(reference, current).to_dict()
    approx = riskops.drift_from_profiles(riskops.profile(reference), riskops.profile(current)).to_dict()
    assert approx["dataset"]["exact"] is True
    for a, e in zip(approx["columns"], exact["columns"]):
        assert a["name"] == e["name"] and a["drifted"] == e["drifted"]
        assert math.isclose(a["statistic"], e["statistic"], rel_tol=1e-9, abs_tol=1e-12)


def test_profile_of_a_pyarrow_table_equals_the_dataframes():
    df = frame(2_000, 9)
    assert riskops.profile(pa.Table.from_pandas(df, preserve_index=False)).to_dict() == riskops.profile(df).to_dict()


def test_ood_scores_equal_pyods():
    """riskops.ood against pyod's ECOD on riskops-stats's committed vectors."""
    import json
    from conftest import REPO

    doc = json.loads((REPO / "crates" / "stats" / "tests" / "data" / "ecod_reference.json").read_text())
    case = next(c for c in doc["cases"] if c["name"] == "synthetic")
    names = [f"f{j}" for j in range(len(case["reference"]))]
    reference = pd.DataFrame(dict(zip(names, case["reference"])))
    batch = pd.DataFrame(dict(zip(names, case["batch"])))
    report = riskops.ood(reference, batch)
    assert report.features == names
    for ours, theirs in zip(report.scores, case["batch_scores"]):
        assert math.isclose(ours, theirs, rel_tol=1e-9)
    expected = float(np.quantile(case["reference_scores"], 0.99))
    assert math.isclose(report.threshold, expected, rel_tol=1e-12)
    assert sum(report.outside) == sum(s > expected for s in case["batch_scores"]) >= 3
    with pytest.raises(ValueError, match="no numeric feature"):
        riskops.ood(reference, pd.DataFrame({"name": ["a", "b"]}))
