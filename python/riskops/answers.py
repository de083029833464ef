"""The client's typed answers and errors: frozen dataclasses with the main fields and
``raw`` (the JSON the server sent), and :class:`ApiError` with the API's code, message and field."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer of the API, or a server that could not be reached.

    ``status`` is the HTTP status (``None`` when no answer came), ``code`` the API's stable
    code (``unauthorized``, ``forbidden``, ``not_found``, ``invalid_field``, ``conflict``, …,
    or ``unreachable``), ``message`` its text for people and ``field`` the input field at
    fault for ``invalid_field``.
    """

    def __init__(self, status: Optional[int], code: str, message: str, field: Optional[str] = None):
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        where = f", field {field}" if field else ""
        http = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{message} [{code}, {http}{where}]")


class PromotionTimeout(TimeoutError):
    """``promote(wait=True)`` gave up; ``promotion`` is the request as last seen (still pending)."""

    def __init__(self, promotion: "Promotion", timeout: float):
        self.promotion = promotion
        missing = ", ".join(promotion.missing) or "nothing listed"
        super().__init__(
            f"promotion {promotion.id} is still {promotion.status} after {timeout:g}s (missing: {missing})"
        )


# Codes for error answers that carry no riskops error body (a proxy's page, say).
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_field",
    429: "rate_limited",
    503: "unavailable",
}


# ---------------------------------------------------------------------------------------------
# Typed answers
# ---------------------------------------------------------------------------------------------

# Mappings and the raw JSON are left out of hashing and of `==` for `raw` (two answers with
# the same main fields are the same thing); everything else is compared.
def _mapping():
    return field(hash=False)


def _raw():
    return field(hash=False, compare=False, repr=False)


@dataclass(frozen=True)
class DatasetVersion:
    name: str
    project: str
    version: int
    digest: str
    size: int
    format: str
    rows: int
    description: str
    tags: Dict[str, str] = _mapping()
    created_at: Optional[_dt.datetime]
    created_by: str
    # `(name, pandas dtype, drift type)` per column.
    columns: Tuple[Tuple[str, str, str], ...]
    raw: Dict[str, Any] = _raw()

    @property
    def ref(self) -> str:
        """``NAME@V``, as other calls take it (``training_data=``, ``data=``)."""
        return f"{self.name}@{self.version}"

    @classmethod
    def _from(cls, d):
        columns = tuple((c.get("name", ""), c.get("dtype", ""), c.get("type", "")) for c in d.get("schema") or [])
        return cls(
            d["name"], d["project"], d["version"], d["digest"], d["size"], d["format"], d["rows"],
            d.get("description", ""), dict(d.get("tags") or {}), _time(d.get("created_at")),
            d.get("created_by", ""), columns, d,
        )


@dataclass(frozen=True)
class ModelVersion:
    name: str
    project: str
    version: int
    digest: str
    size: int
    framework: str
    training_data: Optional[str]
    validation_data: Optional[str]
    params: Dict[str, Any] = _mapping()
    metrics: Dict[str, Any] = _mapping()
    description: str
    tags: Dict[str, str] = _mapping()
    # The endpoint's URL for a model served over HTTP; None when the artifact is the model.
    endpoint: Optional[str]
    author: str
    created_at: Optional[_dt.datetime]
    raw: Dict[str, Any] = _raw()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def _from(cls, d):
        endpoint = (d.get("endpoint") or {}).get("url")
        return cls(
            d["name"], d["project"], d["version"], d["digest"], d["size"], d["framework"],
            d.get("training_data"), d.get("validation_data"), dict(d.get("params") or {}),
            dict(d.get("metrics") or {}), d.get("description", ""), dict(d.get("tags") or {}), endpoint,
            d.get("author", ""), _time(d.get("created_at")), d,
        )


@dataclass(frozen=True)
class Rejected:
    """A record the server did not accept: its position in the DataFrame, its id, why."""

    index: int
    id: Optional[str]
    reasons: Tuple[str, ...]


@dataclass(frozen=True)
class IngestSummary:
    """What a ``log_predictions`` or ``log_labels`` call did, all batches added up.

    ``duplicates`` counts records whose id the server had already accepted (sent before, or
    a retried batch that had in fact arrived): each is stored once. ``raw`` is the summary
    ``riskops log --format json`` prints.
    """

    records: int
    accepted: int
    duplicates: int
    rejected: int
    rejected_by_reason: Dict[str, int] = _mapping()
    rejected_records: Tuple[Rejected, ...]
    batches: int
    raw: Dict[str, Any] = _raw()


@dataclass(frozen=True)
class Evidence:
    id: int
    model: str
    version: int
    kind: str
    digest: str
    size: int
    passed: Optional[bool]
    summary: str
    produced_by: Optional[str]
    created_by: str
    created_at: Optional[_dt.datetime]
    raw: Dict[str, Any] = _raw()

    @classmethod
    def _from(cls, d):
        return cls(
            d["id"], d["model"], d["version"], d["kind"], d["digest"], d["size"], d.get("passed"),
            d.get("summary", ""), d.get("produced_by"), d.get("created_by", ""), _time(d.get("created_at")), d,
        )


@dataclass(frozen=True)
class Check:
    """One comparison with a policy threshold (``threshold`` None where any failure fails)."""

    name: str
    passed: bool
    value: Optional[float]
    threshold: Optional[float]


def _checks(d) -> Tuple[Check, ...]:
    return tuple(Check(c["name"], c["passed"], c.get("value"), c.get("threshold")) for c in d.get("checks") or [])


@dataclass(frozen=True)
class ValidationReport:
    """What ``validate`` found, as filed: ``metrics`` maps a name to ``(value, ci_low, ci_high)``."""

    evidence_id: Optional[int]
    passed: bool
    model: str
    data: str
    task: str
    n: int
    metrics: Dict[str, Tuple[Optional[float], Optional[float], Optional[float]]] = _mapping()
    checks: Tuple[Check, ...]
    raw: Dict[str, Any] = _raw()

    @classmethod
    def _from(cls, d):
        metrics = {k: (m.get("value"), m.get("ci_low"), m.get("ci_high")) for k, m in (d.get("metrics") or {}).items()}
        return cls(d.get("evidence_id"), d["passed"], d["model"], d["data"], d.get("task", ""), d.get("n", 0),
                   metrics, _checks(d), d)


@dataclass(frozen=True)
class StressReport:
    evidence_id: Optional[int]
    passed: bool
    model: str
    data: str
    seed: int
    checks: Tuple[Check, ...]
    raw: Dict[str, Any] = _raw()

    @classmethod
    def _from(cls, d):
        return cls(d.get("evidence_id"), d["passed"], d["model"], d["data"], d.get("seed", 0), _checks(d), d)


@dataclass(frozen=True)
class Explanation:
    """What ``explain`` found: ``importance`` is ``(feature, mean |SHAP|)``, most important first."""

    evidence_id: Optional[int]
    passed: bool
    model: str
    data: str
    method: str
    output: str
    base_value: float
    features: Tuple[str, ...]
    importance: Tuple[Tuple[str, float], ...]
    raw: Dict[str, Any] = _raw()

    @classmethod
    def _from(cls, d):
        importance = tuple((g["feature"], g["mean_abs_shap"]) for g in d.get("global") or [])
        return cls(d.get("evidence_id"), d["passed"], d["model"], d["data"], d["method"], d["output"],
                   d["base_value"], tuple(d.get("features") or ()), importance, d)


@dataclass(frozen=True)
class Promotion:
    """A promotion request. ``status``: ``pending``, ``completed`` or ``rejected``."""

    id: int
    status: str
    model: str
    project: str
    version: int
    environment: str
    tier: str
    # What it still needs, e.g. `evidence:validation`, `approval:validator`; each with why.
    missing: Tuple[str, ...]
    missing_reasons: Tuple[Tuple[str, str], ...]
    reason: str
    requested_by: str
    created_at: Optional[_dt.datetime]
    closed_at: Optional[_dt.datetime]
    closed_reason: Optional[str]
    raw: Dict[str, Any] = _raw()

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @classmethod
    def _from(cls, d):
        reasons = tuple((r["requirement"], r["reason"]) for r in d.get("missing_reasons") or [])
        return cls(
            d["id"], d["status"], d["model"], d["project"], d["version"], d["environment"], d.get("tier", ""),
            tuple(d.get("missing") or ()), reasons, d.get("reason", ""), d.get("requested_by", ""),
            _time(d.get("created_at")), _time(d.get("closed_at")), d.get("closed_reason"), d,
        )


# Metrics CBPE estimates without labels, as columns `estimated_<name>` of `windows()`.
_ESTIMATED = ("roc_auc", "f1", "precision", "recall", "accuracy")

# Performance metrics worth a column of `windows()`, headline ones first.
_PERFORMANCE = ("roc_auc", "f1", "accuracy", "precision", "recall", "log_loss", "r2", "rmse", "mae", "mape")


@dataclass(frozen=True)
class Window:
    """One monitoring window of one model version.

    ``drift_exact``: the drift was computed from the window's records exactly (a closed
    window) rather than from sketches. ``performance`` is None until labels arrive.
    """

    start: _dt.datetime
    end: _dt.datetime
    version: str
    records: int
    labelled: int
    drift_share: float
    drifted: bool
    drifted_features: Tuple[str, ...]
    drift_status: str
    drift_exact: bool
    performance: Optional[Dict[str, Any]] = _mapping()
    raw: Dict[str, Any] = _raw()

    @classmethod
    def _from(cls, d):
        drift = d.get("drift") or {}
        drifted = tuple(f["name"] for f in drift.get("features") or [] if f.get("drifted"))
        return cls(
            _time(d["start"]), _time(d["end"]), str(d.get("version", "")), d.get("records", 0), d.get("labelled", 0),
            drift.get("share", 0.0), bool(drift.get("drifted")), drifted, drift.get("status", ""),
            bool(drift.get("exact")), d.get("performance"), d,
        )

    def row(self) -> Dict[str, Any]:
        """The window as one row of :meth:`Client.windows`."""
        d = self.raw
        perf = self.performance or {}
        missing = [x for x in ((d.get("quality") or {}).get("missing_rate") or {}).values() if x is not None]
        latency = d.get("latency") or {}
        business = d.get("business") or {}
        out = {
            "start": self.start,
            "end": self.end,
            "version": self.version,
            "records": self.records,
            "labelled": self.labelled,
            "drift_share": self.drift_share,
            "drifted": self.drifted,
            "n_drifted": (d.get("drift") or {}).get("n_drifted", 0),
            "drifted_features": ", ".join(self.drifted_features),
            "drift_exact": self.drift_exact,
        }
        for name in _PERFORMANCE:
            out[name] = perf.get(name)
        # Performance estimated without labels (CBPE) and multivariate drift, on closed windows
        # of models configured for them; None where the window has none (the answer says why).
        estimated = d.get("estimated") or {}
        for name in _ESTIMATED:
            out[f"estimated_{name}"] = (estimated.get(name) or {}).get("value")
        computed = "records" in estimated
        out["estimated_alert"] = any((estimated.get(n) or {}).get("alert") for n in _ESTIMATED) if computed else None
        reconstruction = (d.get("multivariate") or {}).get("reconstruction_error") or {}
        out["reconstruction_error"] = reconstruction.get("value")
        out["reconstruction_alert"] = reconstruction.get("alert")
        out["max_missing_rate"] = max(missing) if missing else None
        out["p95_ms"] = latency.get("p95_ms")
        out["value_per_1000"] = business.get("value_per_1000")
        return out


@dataclass(frozen=True)
class Incident:
    """An incident: a monitor that breached (``kind`` ``monitor``) or a failed integrity check
    (``security``). ``state``: ``open``, ``acknowledged`` or ``resolved``."""

    id: int
    kind: str
    project: str
    model: str
    version: int
    monitor_id: str
    severity: str
    state: str
    title: str
    first_window: Optional[_dt.datetime]
    last_window: Optional[_dt.datetime]
    windows: int
    opened_at: Optional[_dt.datetime]
    resolved_at: Optional[_dt.datetime]
    raw: Dict[str, Any] = _raw()

    @classmethod
    def _from(cls, d):
        return cls(
            d["id"], d.get("kind", "monitor"), d["project"], d["model"], d["version"], d.get("monitor_id", ""),
            d["severity"], d["state"], d["title"], _time(d.get("first_window")), _time(d.get("last_window")),
            d.get("windows", 0), _time(d.get("opened_at")), _time(d.get("resolved_at")), d,
        )


@dataclass(frozen=True)
class MonitorConfig:
    window: str
    task: str
    positive: Optional[str]
    exclude: Tuple[str, ...]
    sensitive: Tuple[str, ...]
    retention_days: int
    min_records: int
    explain_sample: int
    raw: Dict[str, Any] = _raw()

    @classmethod
    def _from(cls, d):
        return cls(d["window"], d["task"], d.get("positive"), tuple(d.get("exclude") or ()),
                   tuple(d.get("sensitive") or ()), d["retention_days"], d["min_records"],
                   d.get("explain_sample", 0), d)


def _time(text) -> Optional[_dt.datetime]:
    """An RFC 3339 time of the API as an aware datetime (UTC). Python < 3.11 reads neither
    `Z` nor more than six fractional digits, so both are normalised first."""
    if not text:
        return None
    t = text.replace("Z", "+00:00").replace("z", "+00:00")
    if "." in t:
        head, rest = t.split(".", 1)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        t = f"{head}.{rest[:min(digits, 6)].ljust(6, '0')}{rest[digits:]}"
    return _dt.datetime.fromisoformat(t)
