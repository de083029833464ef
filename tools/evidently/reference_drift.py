#!/usr/bin/env python3
"""Reference answers from Evidently 0.7.23's DataDriftPreset.

Usage:
    reference_drift.py REF.csv CUR.csv [--sep ,] [--numerical a,b] [--categorical c,d]
                       [--only-listed] [--method NAME] [--num-method NAME] [--cat-method NAME]
                       [--out FILE.json]

Reads both files with pandas (C parser, default options; the separator is --sep or is
sniffed from the first 64 KiB of REF), runs
    Report([DataDriftPreset(...)], include_tests=True).run(current, reference)
and prints (and optionally writes) JSON:

    {"dataset": {"n_reference", "n_current", "n_columns", "n_drifted", "drift_share",
                 "drift_share_threshold", "drifted"},
     "columns": [{"name", "type", "method", "statistic", "p_value", "threshold", "drifted"}]}

Where each number comes from (see RULES.md, "reference_drift.py"):
  * per column: the ValueDrift metrics of the preset (value, resolved method and threshold)
    and their tests (status FAIL == drifted); column type = Evidently's data definition of
    the CURRENT dataset.
  * p-value tests (ks, chisquare, ztest, ...): Evidently only reports the p-value, so the
    test statistic is recomputed here with the same scipy call / Evidently helper that the
    stattest function uses, on the same cleaned data (±inf -> NaN, dropna). The recomputed
    p-value is checked against Evidently's (must be bit-identical, else a warning).
  * distances (wasserstein, jensenshannon, psi, kl, hellinger, ...): statistic = Evidently's
    drift score, p_value = null.
  * text columns (domain-classifier drift): type "text", statistic = ROC AUC, p_value null.
  * dataset: DriftedColumnsCount (count, share) and the legacy DatasetDriftMetric result
    (number_of_columns, dataset_drift) computed by the preset.
  * A non-finite statistic (chi-square with a category absent from the reference is +inf; the
    Z statistic of the "both constant and equal" case is 0/0) is written as null.
Floats are written with Python's repr (shortest round-trip), i.e. full precision.
"""

import argparse
import csv
import json
import math
import sys
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.legacy.calculations.stattests.registry import _registered_stat_tests  # noqa: E402
from evidently.legacy.calculations.stattests.utils import (  # noqa: E402
    get_unique_not_nan_values_list_from_series,
)
from evidently.legacy.calculations.stattests.z_stattest import proportions_diff_z_stat_ind  # noqa: E402
from evidently.legacy.core import ColumnType  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

# Evidently registry name -> short name used in our JSON
SHORT_NAMES = {
    "ks": "ks",
    "wasserstein": "wasserstein",
    "jensenshannon": "jensenshannon",
    "psi": "psi",
    "kl_div": "kl",
    "hellinger": "hellinger",
    "TVD": "tvd",
    "chisquare": "chisquare",
    "z": "ztest",
    "anderson": "anderson",
    "cramer_von_mises": "cramer_von_mises",
    "ed": "energy",
    "es": "epps_singleton",
    "fisher_exact": "fisher_exact",
    "g_test": "g_test",
    "mannw": "mannwhitney",
    "empirical_mmd": "mmd",
    "t_test": "ttest",
    "perc_text_content_drift": "text_content_drift_perc",
    "abs_text_content_drift": "text_content_drift_abs",
}
# registry names whose drift score is a p-value
P_VALUE_TESTS = {
    "ks", "chisquare", "z", "anderson", "cramer_von_mises", "es", "fisher_exact",
    "g_test", "mannw", "empirical_mmd", "t_test", "TVD",
}


def _display_to_name():
    out = {}
    for name, by_type in _registered_stat_tests.items():
        for st in by_type.values():
            out[st.display_name] = st.name
    return out


DISPLAY_TO_NAME = _display_to_name()


def sniff_sep(path):
    with open(path, "r", newline="", encoding="utf-8", errors="replace") as fh:
        sample = fh.read(65536)
    # drop a possibly truncated last line
    if "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t| ").delimiter
    except csv.Error:
        return ","


def read_csv(path, sep):
    return pd.read_csv(path, sep=sep)


def _clean(series):
    # exactly what get_one_column_drift does in the ValueDrift path (is_contains_nans=None)
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def recompute_statistic(name, ref, cur):
    """Test statistic of a p-value test, computed as the Evidently stattest function does.

    Returns (statistic, p_value_recomputed) ; either may be None when not implemented."""
    from scipy import stats

    if name == "ks":
        r = stats.ks_2samp(ref, cur)
        return float(r.statistic), float(r.pvalue)
    if name == "chisquare":
        keys = get_unique_not_nan_values_list_from_series(current_data=cur, reference_data=ref)
        ref_d = {**dict.fromkeys(keys, 0), **dict(ref.value_counts())}
        cur_d = {**dict.fromkeys(keys, 0), **dict(cur.value_counts())}
        k_norm = cur.shape[0] / ref.shape[0]
        f_exp = [ref_d[k] * k_norm for k in keys]
        f_obs = [cur_d[k] for k in keys]
        with np.errstate(all="ignore"):
            r = stats.chisquare(f_obs, f_exp)
        return float(r[0]), float(r[1])
    if name == "z":
        if ref.nunique() == 1 and cur.nunique() == 1 and ref.unique()[0] == cur.unique()[0]:
            return float("nan"), 1.0  # Evidently short-circuits to p = 1
        keys = sorted(get_unique_not_nan_values_list_from_series(current_data=cur, reference_data=ref))
        with np.errstate(all="ignore"):
            z = proportions_diff_z_stat_ind(
                ref.apply(lambda x, key=keys[0]: 0 if x == key else 1),
                cur.apply(lambda x, key=keys[0]: 0 if x == key else 1),
            )
            p = 2 * (1 - stats.norm.cdf(np.abs(z)))
        return float(z), float(p)
    if name == "anderson":
        r = stats.anderson_ksamp([ref.values, cur.values])
        return float(r[0]), float(r[2])
    if name == "es":
        r = stats.epps_singleton_2samp(ref, cur)
        return float(r[0]), float(r[1])
    if name == "mannw":
        r = stats.mannwhitneyu(x=ref, y=cur, alternative="less")
        return float(r[0]), float(r[1])
    if name == "t_test":
        r = stats.ttest_ind(ref, cur)
        return float(r[0]), float(r[1])
    if name == "g_test":
        keys = get_unique_not_nan_values_list_from_series(current_data=cur, reference_data=ref)
        ref_d = {**dict.fromkeys(keys, 0), **dict(ref.value_counts())}
        cur_d = {**dict.fromkeys(keys, 0), **dict(cur.value_counts())}
        with np.errstate(all="ignore"):
            r = stats.power_divergence([cur_d[k] for k in keys], [ref_d[k] for k in keys], lambda_="log-likelihood")
        return float(r[0]), float(r[1])
    if name == "TVD":
        from evidently.legacy.calculations.stattests.tvd_stattest import _total_variation_distance

        return float(_total_variation_distance(ref, cur)), None
    if name == "fisher_exact":
        from evidently.legacy.calculations.stattests.utils import generate_fisher2x2_contingency_table

        r = stats.fisher_exact(generate_fisher2x2_contingency_table(ref, cur))
        return float(r[0]), float(r[1])
    return None, None  # cramer_von_mises, empirical_mmd: not recomputed


def _num(x):
    """JSON-safe float: Python float (repr = shortest round trip), non-finite -> None."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return x


def run(ref_df, cur_df, numerical=None, categorical=None, only_listed=False,
        method=None, num_method=None, cat_method=None):
    if numerical is not None or categorical is not None:
        kw = dict(numerical_columns=numerical, categorical_columns=categorical)
        if only_listed:
            kw.update(
                numerical_columns=numerical or [],
                categorical_columns=categorical or [],
                text_columns=[], datetime_columns=[], unknown_columns=[], list_columns=[],
            )
        dd = DataDefinition(**kw)
        cur_ds = Dataset.from_pandas(cur_df, data_definition=dd)
        ref_ds = Dataset.from_pandas(ref_df, data_definition=dd)
    else:
        cur_ds = Dataset.from_pandas(cur_df)
        ref_ds = Dataset.from_pandas(ref_df)

    preset = DataDriftPreset(method=method, num_method=num_method, cat_method=cat_method)
    snap = Report([preset], include_tests=True).run(cur_ds, ref_ds)
    d = snap.dict()
    ctx = snap._context
    definition = ctx.data_definition  # the CURRENT dataset's definition drives the preset

    status = {}
    for t in d.get("tests", []):
        params = (t.get("metric_config") or {}).get("params") or {}
        if params.get("type", "").endswith(":ValueDrift"):
            status[params["column"]] = t["status"]

    count = share = None
    columns = []
    for m in d["metrics"]:
        cfg = m["config"]
        typ = cfg["type"]
        if typ.endswith(":DriftedColumnsCount"):
            count, share = m["value"]["count"], m["value"]["share"]
        elif typ.endswith(":ValueDrift"):
            col = cfg["column"]
            name = DISPLAY_TO_NAME.get(cfg["method"], cfg["method"])
            ctype = definition.get_column_type(col)
            score = float(m["value"])
            entry = {
                "name": col,
                "type": {ColumnType.Numerical: "numerical", ColumnType.Categorical: "categorical",
                         ColumnType.Text: "text"}.get(ctype, ctype.value),
                "method": SHORT_NAMES.get(name, name),
                "statistic": None,
                "p_value": None,
                "threshold": _num(cfg["threshold"]),
                "drifted": status.get(col) == "FAIL",
            }
            if col not in status:
                print(f"warning: no test result for column {col!r}", file=sys.stderr)
            if name in P_VALUE_TESTS:
                entry["p_value"] = _num(score)
                stat, p_re = recompute_statistic(name, _clean(ref_df[col]), _clean(cur_df[col]))
                entry["statistic"] = _num(stat)
                if p_re is not None and not (p_re == score or (math.isnan(p_re) and math.isnan(score))):
                    print(f"warning: column {col!r}: recomputed p-value {p_re!r} != Evidently {score!r}",
                          file=sys.stderr)
                if stat is not None and not math.isfinite(stat):
                    print(f"note: column {col!r}: non-finite {entry['method']} statistic {stat!r} written as null",
                          file=sys.stderr)
            else:
                entry["statistic"] = _num(score)
                if not math.isfinite(score):
                    print(f"note: column {col!r}: non-finite score {score!r} written as null", file=sys.stderr)
            columns.append(entry)

    # legacy results computed by the preset (dataset verdict and a per-column cross-check)
    ds_res = table = None
    for res, _ in ctx._legacy_metrics.values():
        tn = type(res).__name__
        if tn == "DatasetDriftMetricResults":
            ds_res = res
        elif tn == "DataDriftTableResults":
            table = res
    drift_share_threshold = float(preset.drift_share)
    n_columns = ds_res.number_of_columns if ds_res is not None else len(columns)
    dataset_drifted = bool(ds_res.dataset_drift) if ds_res is not None else bool(share >= drift_share_threshold)

    # consistency checks between the per-column path (ValueDrift) and the legacy path
    if n_columns != len(columns):
        print(f"warning: dataset counts {n_columns} columns but {len(columns)} ValueDrift metrics", file=sys.stderr)
    n_flagged = sum(1 for c in columns if c["drifted"])
    if count is not None and int(count) != n_flagged:
        print(f"warning: DriftedColumnsCount={count} but {n_flagged} columns flagged by ValueDrift", file=sys.stderr)
    if table is not None:
        for c in columns:
            lm = table.drift_by_columns.get(c["name"])
            if lm is None:
                continue
            lname = SHORT_NAMES.get(DISPLAY_TO_NAME.get(lm.stattest_name, lm.stattest_name))
            lscore = float(lm.drift_score)
            vscore = c["p_value"] if c["p_value"] is not None else c["statistic"]
            if lname != c["method"] or bool(lm.drift_detected) != c["drifted"] or not (
                lscore == vscore or (vscore is None and not math.isfinite(lscore))
            ):
                print(
                    f"warning: column {c['name']!r}: ValueDrift says {c['method']} {vscore!r} drifted={c['drifted']}, "
                    f"legacy DataDriftTable says {lname} {lscore!r} drifted={bool(lm.drift_detected)}",
                    file=sys.stderr,
                )

    return {
        "dataset": {
            "n_reference": int(len(ref_df)),
            "n_current": int(len(cur_df)),
            "n_columns": int(n_columns),
            "n_drifted": int(count) if count is not None else n_flagged,
            "drift_share": float(share) if share is not None else n_flagged / max(len(columns), 1),
            "drift_share_threshold": drift_share_threshold,
            "drifted": dataset_drifted,
        },
        "columns": columns,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference")
    ap.add_argument("current")
    ap.add_argument("--sep", default=None, help="field separator (default: sniffed from REF)")
    ap.add_argument("--numerical", default=None, help="comma-separated numerical columns (explicit mapping)")
    ap.add_argument("--categorical", default=None, help="comma-separated categorical columns (explicit mapping)")
    ap.add_argument("--only-listed", action="store_true",
                    help="with --numerical/--categorical: analyse only the listed columns. Default: "
                         "Evidently's own semantics -- a list that is given REPLACES Evidently's inferred "
                         "list of that type, lists not given are still inferred for the unlisted columns")
    ap.add_argument("--method", default=None, help="Evidently stattest name for all columns (default: auto)")
    ap.add_argument("--num-method", default=None)
    ap.add_argument("--cat-method", default=None)
    ap.add_argument("--out", default=None, help="also write the JSON to this file")
    a = ap.parse_args(argv)

    sep = a.sep
    if sep is not None and sep in ("\\t", "tab"):
        sep = "\t"
    if sep is None:
        sep = sniff_sep(a.reference)
    ref_df = read_csv(a.reference, sep)
    cur_df = read_csv(a.current, sep)

    split = lambda s: None if s is None else [x for x in s.split(",") if x != ""]  # noqa: E731
    result = run(
        ref_df, cur_df, split(a.numerical), split(a.categorical), a.only_listed,
        a.method, a.num_method, a.cat_method,
    )
    text = json.dumps(result, indent=1, allow_nan=False)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
