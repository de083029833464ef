"""Writes the wide drift bench pair of issue 21: REF_ROWS × COLS and CUR_ROWS × COLS numeric
columns as Parquet (zstd), a tenth of the columns shifted in the current table.

    python make_wide_parquet.py OUT_DIR REF_ROWS CUR_ROWS COLS [float32|float64] [DECIMALS]

DECIMALS rounds the values (e.g. 2: about 800 distinct values a column, stored as Parquet
dictionaries), for a pair too large for the disk otherwise: 10M × 1,000 float32 columns are
40 GB as random bits, about a third of that rounded to two decimals.

Row groups of 1M rows are written one at a time, so generating needs one row group in memory.
"""

import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write(path, rows, cols, shift, dtype, seed, decimals=None):
    rng = np.random.default_rng(seed)
    names = [f"f{i:04d}" for i in range(cols)]
    schema = pa.schema([(n, pa.float32() if dtype == "float32" else pa.float64()) for n in names])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        done = 0
        while done < rows:
            n = min(1_000_000, rows - done)
            arrays = []
            for i in range(cols):
                values = rng.standard_normal(n).astype(dtype)
                if shift and i % 10 == 0:
                    values += np.asarray(0.5, dtype=dtype)
                if decimals is not None:
                    values = np.round(values, decimals)
                arrays.append(pa.array(values))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            done += n


def main():
    out, ref_rows, cur_rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    dtype = sys.argv[5] if len(sys.argv) > 5 else "float64"
    decimals = int(sys.argv[6]) if len(sys.argv) > 6 else None
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "reference.parquet"), ref_rows, cols, False, dtype, 1, decimals)
    write(os.path.join(out, "current.parquet"), cur_rows, cols, True, dtype, 2, decimals)


if __name__ == "__main__":
    main()
