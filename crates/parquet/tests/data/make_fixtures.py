"""Writes the Parquet fixtures of riskops-parquet's tests, and next to each one a JSON of what
`pandas.read_parquet` (pyarrow engine) makes of it: the dtype of every column, the values, and
the type Evidently would give the column. The Rust tests check the reader against these JSON
files, so no Python is needed at test time.

Run from anywhere: `python3 crates/parquet/tests/data/make_fixtures.py` (pyarrow, pandas;
evidently optional: when it is installed its `infer_column_type` is checked against the copy
below). Written with pyarrow 26.0.1, pandas 2.3.3, evidently 0.7.23. The output is
deterministic for a given pyarrow version.
"""

import csv
import datetime
import decimal
import json
import math
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))


def evidently_type(series: pd.Series) -> str:
    """evidently 0.7.23 `core/datasets.py::infer_column_type`, copied so that the fixtures can
    be made without evidently installed."""
    name = series.dtype.name
    if name.startswith("float"):
        return "numerical"
    if name.startswith("int"):
        return "categorical" if series.nunique() <= 10 else "numerical"
    if name in ("string", "str"):
        return "text" if series.nunique() > series.count() * 0.5 else "categorical"
    if name == "object":
        without_na = series.dropna()
        if without_na.count() == 0:
            return "unknown"
        if isinstance(without_na.iloc[0], str) and isinstance(without_na.iloc[-1], str):
            return "text" if series.nunique() > series.count() * 0.5 else "categorical"
        if isinstance(without_na.iloc[0], (list, tuple)) and isinstance(without_na.iloc[-1], (list, tuple)):
            return "list"
        return "unknown"
    if name in ("bool", "category"):
        return "categorical"
    if name.startswith("datetime"):
        return "datetime"
    return "unknown"


def check_against_evidently(df: pd.DataFrame, types: dict) -> None:
    try:
        from evidently.core.datasets import infer_column_type
    except ImportError:
        return
    for column in df.columns:
        theirs = infer_column_type(df[column]).name.lower()
        assert theirs == types[column], (column, theirs, types[column])


def python_kind(series: pd.Series) -> str:
    """What the non-missing values of an object column are: "str", "bool" or "other"."""
    values = [v for v in series if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if values and all(isinstance(v, str) for v in values):
        return "str"
    if values and all(isinstance(v, bool) for v in values):
        return "bool"
    return "other"


def json_value(v):
    """One cell as JSON: floats that JSON cannot hold become "nan", "inf", "-inf"; missing
    values (None, NaN in an object column, NaT) become null; anything else that is not a
    number, bool or str becomes its str()."""
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, bool):
        return v
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalar
        try:
            v = v.item()
        except (ValueError, TypeError):
            pass
    if isinstance(v, bool) or isinstance(v, int) or isinstance(v, str):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    return str(v)


def describe(path: str, head: int = 0) -> None:
    """Writes `<name>.json` next to `path` with what pandas and Evidently make of it. With
    `head`, only the first `head` values are listed, and a summary of the whole column is
    added (non-missing count; sum of a numeric column; counts of each value otherwise)."""
    df = pd.read_parquet(path)
    pandas_meta = pq.read_schema(path).metadata or {}
    index_columns = []
    if b"pandas" in pandas_meta:
        meta = json.loads(pandas_meta[b"pandas"])
        index_columns = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    types = {c: evidently_type(df[c]) for c in df.columns}
    check_against_evidently(df, types)
    columns = []
    for c in df.columns:
        s = df[c]
        entry = {"name": c, "pandas_dtype": s.dtype.name, "evidently_type": types[c]}
        if s.dtype.name == "object":
            entry["python_kind"] = python_kind(s)
        if s.dtype.name == "category":
            values = [None if pd.isna(v) else v for v in s.astype(object)]
        else:
            values = list(s)
        if head:
            entry["summary"] = summary(s)
            values = values[:head]
        entry["values"] = [json_value(v) for v in values]
        columns.append(entry)
    out = {
        "file": os.path.basename(path),
        "rows": len(df),
        "index_columns": index_columns,
        "columns": columns,
    }
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")


def summary(s: pd.Series) -> dict:
    out = {"count": int(s.count())}
    if s.dtype.name.startswith(("int", "float")):
        out["sum"] = float(s.sum())
    else:
        out["value_counts"] = {str(k): int(v) for k, v in s.value_counts().sort_index().items()}
    return out


def write(table: pa.Table, name: str, head: int = 0, **kwargs) -> str:
    path = os.path.join(HERE, name)
    pq.write_table(table, path, **kwargs)
    describe(path, head)
    return path


def types_table() -> pa.Table:
    """Every type the reader handles or skips, 20 rows, with gaps where the type allows."""
    n = 20
    ints = list(range(-5, n - 5))
    with_gaps = [None if i % 6 == 2 else i * 3 for i in range(n)]
    floats = [i / 4 for i in range(n)]
    floats[1] = float("nan")
    floats[3] = None
    floats[5] = float("inf")
    floats[6] = float("-inf")
    words = ["red", "green", "blue", "green", None, "red", "black", "ünïcode", "", "red"] * 2
    t0 = datetime.datetime(2024, 1, 1)
    return pa.table(
        {
            "i8": pa.array([i % 100 for i in ints], pa.int8()),
            "i16": pa.array([i * 300 for i in ints], pa.int16()),
            "i32": pa.array([i * 70000 for i in ints], pa.int32()),
            "i64": pa.array([i * 10**12 for i in ints], pa.int64()),
            "i32_null": pa.array(with_gaps, pa.int32()),
            "i64_null": pa.array(with_gaps, pa.int64()),
            "i64_all_null": pa.array([None] * n, pa.int64()),
            "u8": pa.array([i % 200 for i in range(n)], pa.uint8()),
            "u16": pa.array(range(n), pa.uint16()),
            "u32": pa.array(range(n), pa.uint32()),
            "u64": pa.array([2**64 - 1 - i for i in range(n)], pa.uint64()),
            "u32_null": pa.array(with_gaps, pa.uint32()),
            "u64_null": pa.array(with_gaps, pa.uint64()),
            "f16": pa.array([(i / 2) if i % 7 else None for i in range(n)], pa.float16()),
            "f32": pa.array(floats, pa.float32()),
            "f64": pa.array(floats, pa.float64()),
            "b": pa.array([i % 3 == 0 for i in range(n)]),
            "b_null": pa.array([None if i % 5 == 4 else i % 2 == 0 for i in range(n)]),
            "s": pa.array(words, pa.string()),
            "s_large": pa.array(words, pa.large_string()),
            "s_dict": pa.array(words, pa.string()).dictionary_encode(),
            "ts": pa.array([t0 + datetime.timedelta(hours=i) for i in range(n)], pa.timestamp("us")),
            "ts_tz": pa.array([t0 + datetime.timedelta(hours=i) for i in range(n)], pa.timestamp("ms", tz="UTC")),
            "date": pa.array([t0.date() + datetime.timedelta(days=i) for i in range(n)], pa.date32()),
            "dec": pa.array([decimal.Decimal(i) / 4 for i in range(n)], pa.decimal128(9, 2)),
            "bin": pa.array([bytes([i]) for i in range(n)], pa.binary()),
            "list": pa.array([[i, i + 1] for i in range(n)], pa.list_(pa.int64())),
            "struct": pa.array([{"x": i} for i in range(n)], pa.struct([("x", pa.int64())])),
            "nulls": pa.array([None] * n, pa.null()),
        }
    )


def numbers_table(n: int) -> pa.Table:
    """Many rows of compressible data, so that reading takes several batches and row groups."""
    cats = ["alpha", "beta", "gamma", "delta", "epsilon"]
    return pa.table(
        {
            "id": pa.array([i % 1000 for i in range(n)], pa.int64()),
            "small": pa.array([i % 7 for i in range(n)], pa.int32()),
            "x": pa.array([(i % 1000) / 8 for i in range(n)], pa.float64()),
            "x_null": pa.array([None if i % 997 == 0 else float(i % 50) for i in range(n)], pa.float64()),
            "flag": pa.array([i % 4 == 1 for i in range(n)]),
            # Dictionaries change between row groups: the first groups see fewer categories.
            "cat": pa.array([cats[(i * i // 7000) % len(cats)] for i in range(n)], pa.string()).dictionary_encode(),
            "name": pa.array([cats[i % 3] + str(i % 11) for i in range(n)], pa.string()),
        }
    )


def pandas_frame() -> pd.DataFrame:
    """Written by pandas: its metadata makes pandas restore nullable dtypes and the index."""
    return pd.DataFrame(
        {
            "int": [1, 2, 3, 4, 5, 6],
            "Int64": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
            "Int64_full": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
            "boolean": pd.array([True, None, False, True, True, False], dtype="boolean"),
            "Float64": pd.array([1.5, None, 2.5, 3.0, 4.0, 0.5], dtype="Float64"),
            "string": pd.array(["a", None, "b", "a", "c", "a"], dtype="string"),
            "category": pd.Categorical(["x", "y", "x", None, "z", "x"]),
            "object": ["p", "q", None, "p", "p", "r"],
            "float": [0.5, float("nan"), 1.5, 2.0, -1.0, 3.25],
            "bool": [True, False, True, True, False, False],
            "uint8": pd.array([1, 2, 3, 4, 5, 6], dtype="uint8"),
        },
        index=pd.Index([10, 20, 30, 40, 50, 60], name="key"),
    )


def same_data() -> tuple:
    """The same data as CSV text and as an arrow table."""
    n = 40
    rows = []
    for i in range(n):
        rows.append(
            {
                "count": i * 7 % 23,
                "gappy": None if i % 9 == 4 else i,
                "amount": None if i % 8 == 3 else [0.1, 2.5, -3.75, 1e-7, 12345.678][i % 5],
                "city": [None, "Lyon", "Paris", "Nice", "Lille", "Paris"][i % 6] if i else "Lyon",
                "ok": i % 3 != 0,
                "ok_gap": None if i == 5 else i % 2 == 0,
            }
        )
    table = pa.table(
        {
            "count": pa.array([r["count"] for r in rows], pa.int64()),
            "gappy": pa.array([r["gappy"] for r in rows], pa.int32()),
            "amount": pa.array([r["amount"] for r in rows], pa.float64()),
            "city": pa.array([r["city"] for r in rows], pa.string()),
            "ok": pa.array([r["ok"] for r in rows], pa.bool_()),
            "ok_gap": pa.array([r["ok_gap"] for r in rows], pa.bool_()),
        }
    )
    return rows, table


def main() -> None:
    # Three row groups (7 + 7 + 6 rows), snappy.
    write(types_table(), "types.parquet", row_group_size=7, compression="snappy")
    # 20 000 rows in row groups of 6 000, zstd; the reader's batches cross row groups.
    write(numbers_table(20_000), "numbers_zstd.parquet", head=20, row_group_size=6_000, compression="zstd")
    for codec in ("snappy", "gzip", "lz4", "none"):
        write(numbers_table(40), f"numbers_{codec}.parquet", row_group_size=16, compression=codec)
    pandas_path = os.path.join(HERE, "pandas.parquet")
    pandas_frame().to_parquet(pandas_path, engine="pyarrow", compression="snappy")
    describe(pandas_path)
    # No rows, but a schema (pandas makes an empty frame of it; riskops calls it empty).
    pq.write_table(types_table().slice(0, 0), os.path.join(HERE, "empty.parquet"))

    rows, table = same_data()
    pq.write_table(table, os.path.join(HERE, "same.parquet"), row_group_size=16)
    with open(os.path.join(HERE, "same.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(rows[0]))
        for r in rows:
            writer.writerow(["" if v is None else v for v in r.values()])


if __name__ == "__main__":
    main()
