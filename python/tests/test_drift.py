"""riskops.drift on pandas, polars and pyarrow inputs gives `riskops drift --format json`'s
answer on the same data, written to CSV and read back by the CLI."""

import json
import math

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import riskops
from conftest import REPO, run_cli

SHAP = REPO / "crates" / "model" / "tests" / "data" / "shap"


def mixed_pair(seed=7, n_ref=3000, n_cur=2000):
    """Every kind of column pandas' read_csv produces: int64, float64 with NaN, bool, text
    with missing values, few-valued numbers, free text; a third of them shifted."""
    rng = np.random.default_rng(seed)

    def frame(n, shift):
        price = rng.normal(100 + 15 * shift, 20, n)
        price[rng.random(n) < 0.05] = np.nan
        return pd.DataFrame(
            {
                "age": rng.integers(18, 90, n),
                "price": price,
                "score": rng.beta(2 + shift, 5, n),
                "active": rng.random(n) < 0.3 + 0.3 * shift,
                "city": pd.Series(rng.choice(["Oslo", "Lima", "Pune", None], n, p=[0.4, 0.3, 0.2, 0.1]), dtype=object),
                "rating": rng.integers(1, 6, n),
                "note": [f"n{i}" for i in rng.integers(0, 10**9, n)],
            }
        )

    return frame(n_ref, 0.0), frame(n_cur, 1.0)


def cli_json(binary, tmp_path, reference, current, *args):
    ref, cur = tmp_path / "reference.csv", tmp_path / "current.csv"
    reference.to_csv(ref, index=False)
    current.to_csv(cur, index=False)
    return json.loads(run_cli(binary, "drift", str(ref), str(cur), "--format", "json", *args))


def close(a, b):
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return a == b


def assert_same(ours, cli):
    assert ours["dataset"] == cli["dataset"]
    assert [c["name"] for c in ours["columns"]] == [c["name"] for c in cli["columns"]]
    for a, b in zip(ours["columns"], cli["columns"]):
        assert a.keys() == b.keys()
        for k in a:
            assert close(a[k], b[k]), f"{a['name']}.{k}: {a[k]} != {b[k]}"
    assert ours["skipped"] == cli["skipped"]


def roundtrip(df, tmp_path, name):
    """The DataFrame as read_csv gives it back: the CLI reads the CSV, so the comparison is
    between the same dtypes."""
    path = tmp_path / f"{name}.csv"
    df.to_csv(path, index=False)
    return pd.read_csv(path)


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow"])
def test_mixed_columns_match_the_cli(riskops_cli, tmp_path, kind):
    reference, current = mixed_pair()
    reference, current = roundtrip(reference, tmp_path, "r"), roundtrip(current, tmp_path, "c")
    convert = {
        "pandas": lambda df: df,
        "polars": pl.from_pandas,
        "pyarrow": lambda df: pa.Table.from_pandas(df, preserve_index=False),
    }[kind]
    report = riskops.drift(convert(reference), convert(current))
    expected = cli_json(riskops_cli, tmp_path, reference, current)
    assert_same(report.to_dict(), expected)
    # Something was found, so the comparison is not between two empty answers.
    assert report.n_drifted >= 3 and report.drifted == expected["dataset"]["drifted"]
    assert "note" in report.skipped  # free text is said, not compared


@pytest.mark.parametrize("name", ["credit", "bike"])
def test_real_datasets_match_the_cli(riskops_cli, tmp_path, name):
    reference = pd.read_csv(SHAP / f"{name}_train.csv")
    current = pd.read_csv(SHAP / f"{name}_rows.csv")
    ours = riskops.drift(reference, current).to_dict()
    cli = json.loads(
        run_cli(riskops_cli, "drift", str(SHAP / f"{name}_train.csv"), str(SHAP / f"{name}_rows.csv"), "--format", "json")
    )
    assert_same(ours, cli)


def test_options_match_the_cli(riskops_cli, tmp_path):
    reference, current = mixed_pair(seed=11)
    reference, current = roundtrip(reference, tmp_path, "r"), roundtrip(current, tmp_path, "c")
    ours = riskops.drift(
        reference,
        current,
        columns=["age", "price", "rating", "city"],
        method={"price": "psi", "age": "wasserstein"},
        threshold=0.2,
        drift_share=0.25,
        categorical=["rating"],
    ).to_dict()
    cli = cli_json(
        riskops_cli, tmp_path, reference, current,
        "--columns", "age,price,rating,city", "--method", "price=psi", "--method", "age=wasserstein",
        "--threshold", "0.2", "--drift-share", "0.25", "--categorical", "rating",
    )
    assert_same(ours, cli)
    assert {c["name"]: c["method"] for c in ours["columns"]}["price"] == "psi"


def test_report_reads_as_a_dataframe_and_a_page():
    reference, current = mixed_pair(seed=3, n_ref=500, n_cur=400)
    report = riskops.drift(reference, current)
    frame = report.columns
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["name"]) == [c["name"] for c in report.to_dict()["columns"]]
    assert frame["drifted"].sum() == report.n_drifted
    assert 0 <= report.share <= 1
    page = report.to_html("train", "prod")
    assert page.startswith("<!DOCTYPE html>") and "train" in page and "<svg" in page
    assert report._repr_html_().startswith("<iframe srcdoc=")
    assert "DriftReport" in repr(report)


def test_the_index_is_not_a_column():
    reference, current = mixed_pair(seed=5, n_ref=300, n_cur=300)
    reference.index = reference.index * 7
    names = [c["name"] for c in riskops.drift(reference, current).to_dict()["columns"]]
    assert "__index_level_0__" not in names and "index" not in names


def test_bad_input_is_a_clear_error():
    reference, current = mixed_pair(seed=1, n_ref=100, n_cur=100)
    with pytest.raises(ValueError, match="unknown method"):
        riskops.drift(reference, current, method="nope")
    with pytest.raises(ValueError, match="different columns"):
        riskops.drift(reference, current.drop(columns=["age"]))
    with pytest.raises(ValueError, match="no column|not in"):
        riskops.drift(reference, current, columns=["missing_column"])
    with pytest.raises(ValueError, match="no rows"):
        riskops.drift(reference.iloc[:0], current)
    with pytest.raises(TypeError, match="DataFrame"):
        riskops.drift([1, 2, 3], current)
    with pytest.raises(ValueError, match="drift_share|share"):
        riskops.drift(reference, current, drift_share=2.0)
