"""Drift between two tables, or two profiles, with the riskops engine."""

import html as _html
import json

from . import _riskops
from ._arrow import as_stream


def drift(
    reference,
    current,
    *,
    columns=None,
    method=None,
    threshold=None,
    drift_share=None,
    numerical=None,
    categorical=None,
):
    """Compares ``current`` with ``reference`` column by column, as ``riskops drift`` does.

    ``reference`` and ``current`` are pandas or polars DataFrames or pyarrow Tables. Columns
    are typed as pandas types them, and each gets Evidently's default test for its type and
    size unless told otherwise:

    - ``columns``: compare only these (by default every column; both tables must have the same).
    - ``method``: one method name for every column (``riskops.methods()`` lists them), or a
      dict ``{column: method}`` for some columns.
    - ``threshold``: one threshold for every column instead of each method's default.
    - ``drift_share``: the dataset drifts when at least this share of columns does (0.5).
    - ``numerical`` / ``categorical``: columns to treat as such whatever their values look like.

    Returns a :class:`DriftReport`. Bad input (an unknown column or method, tables with
    different columns, a table without rows) raises ``ValueError`` or ``TypeError``.
    """
    one_method, column_methods = None, None
    if isinstance(method, dict):
        column_methods = {str(k): str(v) for k, v in method.items()}
    elif method is not None:
        one_method = str(method)
    native = _riskops.drift(
        as_stream(reference, "reference"),
        as_stream(current, "current"),
        columns=_names(columns, "columns"),
        method=one_method,
        column_methods=column_methods,
        threshold=threshold,
        drift_share=drift_share,
        numerical=_names(numerical, "numerical"),
        categorical=_names(categorical, "categorical"),
    )
    return DriftReport(native)


def profile(data):
    """The profile of a table (pandas or polars DataFrame, pyarrow Table): per column counts,
    missing values, distinct counts, mean and standard deviation, quantiles, a histogram and
    frequencies, kept as mergeable sketches. ``Profile.merge`` combines the profiles of parts.
    """
    return _riskops.profile(as_stream(data, "data"))


def drift_from_profiles(reference, current, *, drift_share=None):
    """Compares two :class:`riskops.Profile` s from their sketches, as a riskops server
    compares a production window with its reference.

    Counts are exact; quantile-based statistics carry an error bound (the sketches' rank
    error, 99% confidence), given per column as ``approx_error``, with ``exact`` and
    ``near_threshold`` (the verdict could differ from the exact computation's). While a
    column's sketches hold every value (small data), its statistic is exact.
    """
    return DriftReport(_riskops.drift_from_profiles(reference, current, drift_share=drift_share))


def ood(reference, data, *, columns=None):
    """Each record of ``data`` scored for how far out of ``reference``'s distribution it lies:
    ECOD, as pyod's ``ECOD().fit(reference).decision_function(data)`` (to 1e-9), on the
    numeric features both tables share (or ``columns``). Returns a :class:`OodReport`."""
    scores, threshold, features = _riskops.ood(
        as_stream(reference, "reference"), as_stream(data, "data"), columns=_names(columns, "columns")
    )
    return OodReport(scores, threshold, features)


class OodReport:
    """The answer of :func:`ood`: ``scores`` (one per record, ``None`` where a feature is
    missing), ``threshold`` (the 99th percentile of the reference's own scores), ``outside``
    (each record above it), ``rate`` (their share among scored records) and ``features``."""

    def __init__(self, scores, threshold, features):
        self.scores = scores
        self.threshold = threshold
        self.features = features
        self.outside = [s is not None and s > threshold for s in scores]
        scored = sum(s is not None for s in scores)
        self.rate = sum(self.outside) / scored if scored else 0.0

    def __repr__(self):
        return (
            f"<riskops.OodReport: {sum(self.outside)} of {len(self.scores)} records above the reference's "
            f"99th percentile ({self.threshold:.4g}), rate {self.rate:.2%}>"
        )


def _names(value, what):
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:
        raise TypeError(f"{what}: expected a list of column names, not {type(value).__name__}") from None


class DriftReport:
    """The answer of :func:`drift`: per column and for the dataset."""

    def __init__(self, native):
        self._native = native
        self._doc = json.loads(native.to_json())

    @property
    def drifted(self):
        """Whether the dataset drifted (at least ``drift_share`` of its columns did)."""
        return self._doc["dataset"]["drifted"]

    @property
    def share(self):
        """The share of compared columns that drifted."""
        return self._doc["dataset"]["drift_share"]

    @property
    def n_drifted(self):
        return self._doc["dataset"]["n_drifted"]

    @property
    def skipped(self):
        """Columns not compared, with the reason: ``{column: reason}``."""
        return {s["name"]: s["reason"] for s in self._doc["skipped"]}

    @property
    def columns(self):
        """One row per compared column (name, type, method, statistic, p_value, threshold,
        drifted, n_reference, n_current, n_values): a pandas DataFrame when pandas is
        installed, otherwise a list of dicts."""
        rows = [dict(c) for c in self._doc["columns"]]
        try:
            import pandas
        except ImportError:
            return rows
        keys = list(rows[0].keys()) if rows else [
            "name", "type", "method", "statistic", "p_value", "threshold", "drifted",
            "n_reference", "n_current", "n_values",
        ]
        return pandas.DataFrame(rows, columns=keys)

    def to_dict(self):
        """The report as ``riskops drift --format json`` prints it."""
        return json.loads(json.dumps(self._doc))

    def to_json(self):
        return json.dumps(self._doc, indent=2)

    def to_html(self, reference="reference", current="current"):
        """One standalone HTML page with a chart per column, as ``riskops drift --format html``."""
        return self._native.to_html(reference, current)

    def save_html(self, path, reference="reference", current="current"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_html(reference, current))

    def _repr_html_(self):
        # In an iframe: the page's stylesheet must not restyle the notebook around it.
        page = _html.escape(self.to_html(), quote=True)
        return f'<iframe srcdoc="{page}" style="width:100%;height:640px;border:0"></iframe>'

    def __repr__(self):
        d = self._doc["dataset"]
        verdict = "DRIFT" if d["drifted"] else "no drift"
        return (
            f"<riskops.DriftReport: {verdict}, {d['n_drifted']} of {d['n_columns']} columns drifted "
            f"({d['n_reference']} reference rows, {d['n_current']} current rows)>"
        )
