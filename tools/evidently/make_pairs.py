#!/usr/bin/env python3
"""Build reference/current CSV pairs from the real datasets in shared/data and record
Evidently 0.7.23's DataDriftPreset answer for each.

    make_pairs.py [--data-dir /work/shared/data] [--out-dir <this folder>/pairs] [--no-expected]

For each pair NAME it writes pairs/NAME.reference.csv, pairs/NAME.current.csv (comma-separated,
header, missing values as empty fields, floats in Python repr so they round-trip exactly) and,
unless --no-expected, pairs/NAME.expected.json produced by running reference_drift.py on the
two CSV files (so the answer is for exactly what a CSV reader sees), with PYTHONHASHSEED=0. cardio is NOT used (its
licence is unverified). All sampling is deterministic (numpy RandomState with fixed seeds).
See pairs/SOURCE.md for the provenance of every pair.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))


def load(data_dir):
    bike = pd.read_csv(os.path.join(data_dir, "bike_sharing", "hour.csv"))
    adult = pd.read_csv(
        os.path.join(data_dir, "adult", "adult.data"), header=0, skipinitialspace=True, na_values="?"
    )
    credit = pd.read_csv(os.path.join(data_dir, "credit_default", "default_of_credit_card_clients.csv"), sep=";")
    german = pd.read_csv(os.path.join(data_dir, "german_credit", "german.data"), sep=" ")
    return bike, adult, credit, german


def take(df, n, seed):
    """n rows of df chosen without replacement by RandomState(seed), in original order."""
    idx = np.sort(np.random.RandomState(seed).permutation(len(df))[:n])
    return df.iloc[idx].reset_index(drop=True)


def split_random(df, n_ref, n_cur, seed):
    perm = np.random.RandomState(seed).permutation(len(df))
    ref = df.iloc[np.sort(perm[:n_ref])].reset_index(drop=True)
    cur = df.iloc[np.sort(perm[n_ref:n_ref + n_cur])].reset_index(drop=True)
    return ref, cur


def put_nan(df, col, n, seed, as_int=True):
    """Set n deterministic rows of df[col] to missing. Integer columns are kept as pandas
    nullable Int64 so that the CSV holds integer literals and empty fields (pandas then reads
    the column back as float64 -- the promotion under test)."""
    df = df.copy()
    rows = np.random.RandomState(seed).permutation(len(df))[:n]
    if as_int and pd.api.types.is_integer_dtype(df[col]):
        df[col] = df[col].astype("Int64")
    else:
        df[col] = df[col].astype("float64")
    df.loc[rows, col] = pd.NA if str(df[col].dtype) == "Int64" else np.nan
    return df


def build(data_dir):
    bike, adult, credit, german = load(data_dir)
    pairs = {}

    # 1. bike sharing: 2011 (year 0) vs 2012 (year 1) -- natural time drift; 6500 of each
    #    year's hourly rows (sampled, kept in time order) so that the pair stays < 1 MiB
    pairs["bike_2011_vs_2012"] = (
        take(bike[bike.year == 0], 6500, 1),
        take(bike[bike.year == 1], 6500, 2),
    )
    # 2. bike sharing, small sample (n_ref <= 1000): January 2011 vs January 2012
    pairs["bike_jan_small"] = (
        bike[(bike.year == 0) & (bike.month == 1)].reset_index(drop=True),
        bike[(bike.year == 1) & (bike.month == 1)].reset_index(drop=True),
    )
    # 3. adult: men vs women (4500 sampled rows each)
    pairs["adult_sex"] = (
        take(adult[adult.sex == "Male"], 4500, 11),
        take(adult[adult.sex == "Female"], 4500, 12),
    )
    # 4. adult: age < 40 vs age >= 40 (4500 sampled rows each)
    pairs["adult_age"] = (
        take(adult[adult.age < 40], 4500, 21),
        take(adult[adult.age >= 40], 4500, 22),
    )
    # 5. credit default: random 50/50 split of a 10000-row sample (no drift expected)
    pairs["credit_random"] = split_random(credit, 5000, 5000, 31)
    # 6. credit default: feature-driven split, AGE < 35 vs AGE >= 35 (5000 sampled rows each)
    pairs["credit_age"] = (
        take(credit[credit.AGE < 35], 5000, 41),
        take(credit[credit.AGE >= 35], 5000, 42),
    )
    # 7/8. credit default: n_ref = 1000 vs 1001 (KS/chi-square/Z branch vs Wasserstein/JS branch)
    pairs["credit_nref1000"] = split_random(credit, 1000, 1200, 51)
    pairs["credit_nref1001"] = split_random(credit, 1001, 1200, 51)
    # 9. german credit: random 500/500 split (small sample, no drift expected)
    pairs["german_random"] = split_random(german, 500, 500, 61)
    # 10. german credit: AGE < 30 vs AGE >= 30 (small sample, feature-driven drift)
    pairs["german_age"] = (
        german[german.AGE < 30].reset_index(drop=True),
        german[german.AGE >= 30].reset_index(drop=True),
    )
    # 11. credit default with missing values / infinities (1100 rows each, random rows):
    ref, cur = split_random(credit, 1100, 1100, 71)
    ref = put_nan(ref, "LIMIT_BAL", 55, 1)          # float-like int col, NaN both sides
    cur = put_nan(cur, "LIMIT_BAL", 55, 2)
    ref = put_nan(ref, "EDUCATION", 33, 3)          # int (7 codes) + NaN -> float64 -> numerical
    cur = put_nan(cur, "EDUCATION", 33, 4)
    cur = put_nan(cur, "MARRIAGE", 20, 5)           # NaN in current only -> numerical (current decides)
    ref = put_nan(ref, "SEX", 20, 6)                # NaN in reference only -> stays categorical
    ref = put_nan(ref, "PAY_AMT1", 150, 7)          # n_ref after dropna = 950 -> KS
    ref = put_nan(ref, "PAY_0", 100, 8)             # n_ref after dropna = 1000 -> KS (<= 1000)
    ref = put_nan(ref, "PAY_2", 99, 9)              # n_ref after dropna = 1001 -> Wasserstein
    for df, seed in ((ref, 10), (cur, 11)):         # BILL_AMT1: NaN and +-inf on both sides
        rows = np.random.RandomState(seed).permutation(len(df))[:12]
        df["BILL_AMT1"] = df["BILL_AMT1"].astype("float64")
        df.loc[rows[:6], "BILL_AMT1"] = np.nan
        df.loc[rows[6:9], "BILL_AMT1"] = np.inf
        df.loc[rows[9:], "BILL_AMT1"] = -np.inf
    pairs["credit_missing"] = (ref, cur)
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default="/work/shared/data")
    ap.add_argument("--out-dir", default=os.path.join(HERE, "pairs"))
    ap.add_argument("--no-expected", action="store_true", help="only write the CSV pairs")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)

    for name, (ref, cur) in build(a.data_dir).items():
        rp = os.path.join(a.out_dir, f"{name}.reference.csv")
        cp = os.path.join(a.out_dir, f"{name}.current.csv")
        ref.to_csv(rp, index=False)
        cur.to_csv(cp, index=False)
        sizes = os.path.getsize(rp), os.path.getsize(cp)
        if sum(sizes) >= 1 << 20:
            sys.exit(f"pair {name} is {sum(sizes)} bytes (>= 1 MiB)")
        print(f"{name}: reference {ref.shape} {sizes[0]} B, current {cur.shape} {sizes[1]} B", file=sys.stderr)
        if not a.no_expected:
            ep = os.path.join(a.out_dir, f"{name}.expected.json")
            r = subprocess.run(
                [sys.executable, os.path.join(HERE, "reference_drift.py"), rp, cp, "--sep", ",", "--out", ep],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                # Evidently builds category lists from Python sets of strings, whose order depends on
                # hash randomisation; fixing the seed makes the last bits of the scores reproducible.
                env=dict(os.environ, PYTHONHASHSEED="0"),
            )
            if r.stderr.strip():
                print("  " + r.stderr.strip().replace("\n", "\n  "), file=sys.stderr)
            if r.returncode != 0:
                sys.exit(f"reference_drift.py failed for {name}")


if __name__ == "__main__":
    main()
