"""Profiles through Spark (local[2]): partitions profiled in the executors and merged on the
driver equal the profile computed on one machine — counts and moments exactly (moments to
1e-9 relative: merging reorders the sums), frequencies exactly, quantiles within the
sketch's rank error."""

import math
import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

import riskops

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (CI installs it)")
if shutil.which("java") is None:
    pytest.skip("no Java runtime for Spark (CI installs default-jre-headless)", allow_module_level=True)

from riskops.spark import PROFILE_SCHEMA, merge, profile_dataframe, profile_partitions  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The executors' Python is this one, where riskops is installed.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("riskops-profile-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()


def table(n=60_000, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(3, 1, n)
    x[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 25, n).astype("int64"),
            "city": pd.Series(rng.choice(["Oslo", "Lima", "Pune", None], n), dtype=object),
        }
    )


def by_name(profile):
    return {c["name"]: c for c in profile.to_dict()["columns"]}


def test_merged_partition_profiles_equal_one_machines(spark):
    data = table()
    df = spark.createDataFrame(data).repartition(6)
    parts = df.mapInArrow(profile_partitions(), PROFILE_SCHEMA).collect()
    assert len(parts) >= 2, "the test must merge several partitions"
    merged = merge(row["profile"] for row in parts)
    whole = riskops.profile(data)
    assert merged.rows == whole.rows == len(data)
    a, b = by_name(whole), by_name(merged)
    for name in a:
        for key in ("rows", "count", "missing", "distinct"):
            assert a[name][key] == b[name][key], (name, key)
    for name in ("x", "k"):
        assert (a[name]["min"], a[name]["max"]) == (b[name]["min"], b[name]["max"])
        assert math.isclose(a[name]["mean"], b[name]["mean"], rel_tol=1e-9)
        assert math.isclose(a[name]["std"], b[name]["std"], rel_tol=1e-9)
        # Quantiles: within the rank error of the true ones (of pandas on the whole column).
        values = np.sort(data[name].dropna().to_numpy())
        for q, v in b[name]["quantiles"].items():
            rank = np.searchsorted(values, v, side="right") / len(values)
            low = np.searchsorted(values, v, side="left") / len(values)
            err = b[name]["rank_error"] + 1 / len(values)
            assert low - err <= float(q) <= rank + err, (name, q, v, low, rank)
    assert a["city"]["frequencies"] == b["city"]["frequencies"]
    assert a["k"]["frequencies"] == b["k"]["frequencies"]


def test_profile_dataframe_merges_on_the_driver_and_compares(spark):
    reference = table(20_000, seed=5)
    shifted = table(20_000, seed=6)
    shifted["x"] = shifted["x"] * 1.5
    merged = profile_dataframe(spark.createDataFrame(shifted).repartition(4))
    report = riskops.drift_from_profiles(riskops.profile(reference), merged)
    verdicts = {c["name"]: c["drifted"] for c in report.to_dict()["columns"]}
    assert verdicts["x"] is True and verdicts["city"] is False
