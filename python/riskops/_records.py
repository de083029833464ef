"""Tables to prediction records, as riskops-monitor's RecordBuilder makes them from a log
file's cells (so a DataFrame logs as the same file would), and tables to files to upload."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.util
import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

# ---------------------------------------------------------------------------------------------
# Tables to records
# ---------------------------------------------------------------------------------------------


def _columns(data) -> Tuple[List[str], List[list], int]:
    """Column names, each column as a list of Python values, and the row count, for a pandas
    or polars DataFrame, a pyarrow Table or a list of dicts."""
    module = type(data).__module__ or ""
    if module.startswith("pandas") and type(data).__name__ == "DataFrame":
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            raise ValueError("the DataFrame has columns of the same name")
        return names, [data[c].tolist() for c in data.columns], len(data)
    if module.startswith("polars") and type(data).__name__ == "DataFrame":
        return list(data.columns), [data[c].to_list() for c in data.columns], data.height
    if hasattr(data, "column_names") and hasattr(data, "to_pydict"):  # pyarrow Table / RecordBatch
        d = data.to_pydict()
        return list(d), list(d.values()), data.num_rows
    if isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
        names = list(dict.fromkeys(k for r in data for k in r))
        return names, [[r.get(n) for r in data] for n in names], len(data)
    raise TypeError(f"expected a pandas or polars DataFrame, a pyarrow Table or a list of dicts, "
                    f"not {type(data).__name__}")


def _role(name: str) -> Tuple[str, str]:
    """The part of a record a column holds (riskops-monitor's RecordColumn)."""
    if name in ("id", "version"):
        return name, name
    if name in ("timestamp", "prediction"):
        return "required", name
    if name in ("score", "label", "latency_ms"):
        return "optional", name
    if name.startswith("attr."):
        return "attribute", name[len("attr."):]
    if name.startswith("proba."):
        return "probability", name[len("proba."):]
    return "feature", name


def _records(names, columns, rows: range, version: Optional[str], seen: Dict[str, int]) -> List[dict]:
    """The records of ``rows`` as riskops-monitor's RecordBuilder makes them from a log
    file's cells; ``seen`` counts generated ids across calls (see :func:`record_ids`)."""
    roles = [_role(n) for n in names]
    has_id = "id" in names
    out = []
    for i in rows:
        record: Dict[str, Any] = {}
        features: Dict[str, Any] = {}
        attributes: Dict[str, Any] = {}
        probabilities: Dict[str, Any] = {}
        for (role, key), column in zip(roles, columns):
            value = column[i]
            if role == "id":
                record["id"] = _text(value)
            elif role == "version":
                v = _text(value)
                if v not in (None, ""):
                    record["version"] = v
            elif role == "required":
                record[key] = _timestamp(value) if key == "timestamp" else _cell(value)
            elif role == "optional":
                v = _cell(value)
                if v is not None:
                    record[key] = v
            elif role == "attribute":
                v = _text(value)
                if v is not None:
                    attributes[key] = v
            elif role == "probability":
                v = _cell(value)
                if v is not None:
                    probabilities[key] = v
            else:
                features[key] = _cell(value)
        record["features"] = features
        record["attributes"] = attributes
        if probabilities:
            record["probabilities"] = probabilities
        if not has_id:
            # Made before the default version is filled in: the row's values alone.
            record["id"] = _row_id(record, seen)
        if version is not None:
            record.setdefault("version", version)
        out.append(record)
    return out


def record_ids(data) -> List[str]:
    """The ids ``log_predictions`` gives the rows of a table without an ``id`` column: a hash
    of the row's values, with how many identical rows came before it (so equal rows differ
    and the same table always gets the same ids, whatever ``version`` it is sent with)."""
    native = _native_batches(data, None, 100_000)
    if native is not None:
        return [i for _, ids in native[0] for i in ids]
    names, columns, rows = _columns(data)
    return [r["id"] for r in _records(names, columns, range(rows), None, {})]


def _native_batches(data, version, batch):
    """``(batches, warnings)`` from the native module for a pandas or polars DataFrame or a
    pyarrow Table (see ``riskops._riskops.records_ndjson``); ``None`` for other inputs (a list
    of dicts), which are made into records here."""
    from ._arrow import arrow_convertible, as_stream

    if not arrow_convertible(data):
        return None
    from . import _riskops

    return _riskops.records_ndjson(as_stream(data, "data"), version=version, batch=batch)


def _row_id(record: Dict[str, Any], seen: Dict[str, int]) -> str:
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
    key = digest.hexdigest()[:24]
    n = seen.get(key, 0)
    seen[key] = n + 1
    return f"r-{key}-{n}"


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    # pandas.NA and NaT without importing pandas.
    return type(value).__name__ in ("NAType", "NaTType")


def _cell(value):
    """A cell as JSON: missing is null, infinities are text (JSON has none; the CLI's readers
    keep them as "inf"), datetimes are RFC 3339, numpy scalars their Python value."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:  # the common cells, first
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if _missing(value):
        return None
    if isinstance(value, (bool, int, str, list, dict)):
        return value  # a list or an object is the server's to refuse, with its reason
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, _dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)).isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return float(value)  # Decimal and other numbers
    except (TypeError, ValueError):
        return str(value)


def _timestamp(value):
    """Unix seconds: numbers as they are, datetimes (naive ones taken as UTC) converted."""
    if isinstance(value, _dt.datetime) and not _missing(value):
        aware = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        seconds = aware.timestamp()
        return int(seconds) if seconds == int(seconds) else seconds
    return _cell(value)


def _whole(value):
    """A float that is a whole number as an integer (a label column with gaps is floats)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 9.0e15:
        return int(value)
    return value


def _text(value) -> Optional[str]:
    """Ids, versions and attributes are names: text as the CSV reader reads it (booleans
    `True`/`False`, whole floats without `.0`)."""
    value = _cell(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 9.0e15 else repr(value)
    return str(value)


def _write_table(data, folder: str, name: str, format: Optional[str]) -> str:
    """``data`` written as Parquet (default, when possible) or CSV into ``folder``."""
    module = type(data).__module__ or ""
    kind = type(data).__name__
    if format not in (None, "parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', not {format!r}")
    base = os.path.join(folder, "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "data")
    if module.startswith("pandas") and kind == "DataFrame":
        # pandas writes Parquet through pyarrow; without it, CSV unless Parquet was asked for.
        if format is None:
            format = "parquet" if importlib.util.find_spec("pyarrow") is not None else "csv"
        elif format == "parquet" and importlib.util.find_spec("pyarrow") is None:
            raise ImportError("writing Parquet needs pyarrow: pip install pyarrow, or format='csv'")
        if format == "parquet":
            data.to_parquet(base + ".parquet", index=False)
            return base + ".parquet"
        data.to_csv(base + ".csv", index=False)
        return base + ".csv"
    if module.startswith("polars") and kind == "DataFrame":
        if format == "csv":
            data.write_csv(base + ".csv")
            return base + ".csv"
        data.write_parquet(base + ".parquet")
        return base + ".parquet"
    if hasattr(data, "column_names") and hasattr(data, "schema"):  # pyarrow
        if format == "csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(data, base + ".csv")
            return base + ".csv"
        import pyarrow.parquet as pq

        pq.write_table(data, base + ".parquet")
        return base + ".parquet"
    raise TypeError(f"push a file path, a pandas or polars DataFrame or a pyarrow Table, not {kind}")
