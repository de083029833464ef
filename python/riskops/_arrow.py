"""Tabular inputs as Arrow C streams (the ``__arrow_c_stream__`` protocol), without a copy
through Python objects.

pyarrow Tables, RecordBatches and RecordBatchReaders and polars DataFrames export the stream
themselves. A pandas DataFrame goes through ``pyarrow.Table.from_pandas`` (columnar, in C++),
which records the pandas dtypes in the schema's ``pandas`` metadata, so the engine types the
columns as ``pandas.read_parquet`` would give them back: the same dtypes the DataFrame has.
"""

import importlib.util


def as_stream(data, what):
    """Something exporting ``__arrow_c_stream__`` for ``data``; ``what`` names it in errors."""
    if _is_pandas(data):
        try:
            import pyarrow
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("pandas DataFrames need pyarrow: pip install pyarrow") from e
        # The index is the rows' labels, not a column to compare (as read_csv gives none).
        return pyarrow.Table.from_pandas(data, preserve_index=False)
    if hasattr(data, "__arrow_c_stream__"):
        return data
    if hasattr(data, "to_arrow"):  # older polars
        return data.to_arrow()
    raise TypeError(
        f"{what}: expected a pandas or polars DataFrame or a pyarrow Table, not {type(data).__name__}"
    )


def arrow_convertible(data):
    """Whether ``as_stream`` takes ``data`` (pandas needs pyarrow for it)."""
    if _is_pandas(data):
        return importlib.util.find_spec("pyarrow") is not None
    return hasattr(data, "__arrow_c_stream__") or hasattr(data, "to_arrow")


def _is_pandas(data):
    module = type(data).__module__ or ""
    return module.startswith("pandas") and type(data).__name__ == "DataFrame"
