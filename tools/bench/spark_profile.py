#!/usr/bin/env python3
"""A Parquet table profiled through Spark (partitions in the executors, merged on the driver)
next to one machine's riskops.profile, in one run (issue 22, item 4).

    python tools/bench/spark_profile.py [--rows 10000000] [--columns 10] [--master local[2]]

Makes (once, in a temporary folder) a Parquet file of N rows: half normal float columns, half
integer columns, 5% missing in the floats. Times, each including reading the file:
  * one machine: riskops.profile(pyarrow.parquet.read_table(path))
  * Spark:       riskops.spark.profile_dataframe(spark.read.parquet(path))   (--master)
and checks that both agree (rows, counts and missing exactly, means to 1e-9). Needs pyspark
and a Java runtime, and the riskops wheel in release mode (`pip install ./python`).
"""

import argparse
import math
import os
import sys
import tempfile
import time


def make(path, rows, columns):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    writer = None
    step = 1_000_000
    for start in range(0, rows, step):
        n = min(step, rows - start)
        arrays, names = [], []
        for c in range(columns):
            if c % 2 == 0:
                x = rng.normal(c, 1 + c, n)
                mask = rng.random(n) < 0.05
                arrays.append(pa.array(x, mask=mask))
            else:
                arrays.append(pa.array(rng.integers(0, 1000 * (c + 1), n)))
            names.append(f"c{c}")
        batch = pa.table(arrays, names=names)
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch, row_group_size=step)
    writer.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--columns", type=int, default=10)
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()

    import pyarrow.parquet as pq
    import riskops
    from riskops.spark import profile_dataframe

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "table.parquet")
        make(path, args.rows, args.columns)

        started = time.perf_counter()
        one = riskops.profile(pq.read_table(path))
        one_time = time.perf_counter() - started

        os.environ["PYSPARK_PYTHON"] = sys.executable
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master(args.master).appName("riskops-spark-bench")
                 .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        started = time.perf_counter()
        merged = profile_dataframe(spark.read.parquet(path))
        spark_time = time.perf_counter() - started
        partitions = spark.read.parquet(path).rdd.getNumPartitions()
        spark.stop()

        a = {c["name"]: c for c in one.to_dict()["columns"]}
        b = {c["name"]: c for c in merged.to_dict()["columns"]}
        same = one.rows == merged.rows and all(
            a[n]["count"] == b[n]["count"] and a[n]["missing"] == b[n]["missing"]
            and math.isclose(a[n]["mean"], b[n]["mean"], rel_tol=1e-9)
            for n in a
        )
        print("| rows | columns | one machine: riskops.profile (s) | Spark "
              f"{args.master}, {partitions} partitions (s) | same counts and moments |")
        print("|---:|---:|---:|---:|---|")
        print(f"| {args.rows:,} | {args.columns} | {one_time:.2f} | {spark_time:.2f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
