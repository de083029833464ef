"""Writes the prediction-log fixtures of the `riskops log` Parquet test: the same 120 records
as `predictions.csv` and `predictions.parquet`, and `no_id.parquet` (a few of them without
their id column, which `riskops log` must refuse before sending anything).

The CSV is what the CSV path reads (timestamp in unix seconds); the Parquet file is what a
pandas user writes with `DataFrame.to_parquet`: the timestamp a timezone-aware datetime
(Arrow timestamp[ns, UTC]), the label float64 with gaps, ints, floats and strings typed.

Run from anywhere: `python3 crates/cli/tests/data/make_log_fixtures.py` (pandas, pyarrow).
Written with pandas 2.3.3, pyarrow 26.0.1.
"""

import os

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = 120
FIRST = 1_790_000_000  # 800 s into an hour: the records span three hourly windows


def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(ROWS)],
            "timestamp": [FIRST + 60 * i for i in range(ROWS)],
            "version": [1] * ROWS,
            "age": [60 + i % 10 for i in range(ROWS)],
            "segment": [["a", "b"][i % 2] for i in range(ROWS)],
            "prediction": [i % 2 for i in range(ROWS)],
            "score": [(i % 10) / 10 for i in range(ROWS)],
            # Every seventh record has no label yet.
            "label": [None if i % 7 == 0 else float((i // 2) % 2) for i in range(ROWS)],
            "attr.sex": [["f", "m"][i % 2] for i in range(ROWS)],
        }
    )


def main() -> None:
    frame = records()
    frame.to_csv(os.path.join(HERE, "predictions.csv"), index=False)
    typed = frame.copy()
    typed["timestamp"] = pd.to_datetime(typed["timestamp"], unit="s", utc=True)
    typed.to_parquet(os.path.join(HERE, "predictions.parquet"), index=False)
    typed.drop(columns=["id"]).head(5).to_parquet(os.path.join(HERE, "no_id.parquet"), index=False)


if __name__ == "__main__":
    main()
