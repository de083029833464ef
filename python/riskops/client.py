"""A client for a riskops server, in the Python standard library alone.

>>> import riskops
>>> rk = riskops.Client()                      # RISKOPS_URL, RISKOPS_TOKEN, RISKOPS_CA_CERT as the CLI
>>> rk.push_dataset("customers", df, project="credit")
>>> rk.register_model("scorer", "scorer.onnx", project="credit", training_data="customers@1")
>>> rk.log_predictions(logs_df, "credit", "scorer", version=1)
>>> rk.windows("credit", "scorer", start="2026-11-01", end="2026-11-08")   # a pandas DataFrame

Every call answers with a frozen dataclass holding the main fields and ``raw``, the JSON the
server sent (so a field a newer server adds is there too). Every failure is an
:class:`ApiError` carrying the API's ``code``, ``message`` and ``field``; a server that cannot
be reached is ``code == "unreachable"``.

The wheel stays free of dependencies: HTTP is ``urllib``, TLS Python's ``ssl`` with the
system's roots (plus ``ca_cert``, like the CLI's ``--ca-cert``). pandas is needed only for
:meth:`Client.windows`, pyarrow or polars only to push a DataFrame as Parquet.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import gzip
import hashlib
import http.client
import json
import os
import random
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import warnings as warnings_module
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from ._records import (
    _native_batches,
    _cell,
    _chunks,
    _columns,
    _records,
    _text,
    _whole,
    _write_table,
    record_ids,
)
from .answers import (
    ApiError,
    Check,
    DatasetVersion,
    Evidence,
    Explanation,
    Incident,
    IngestSummary,
    ModelVersion,
    MonitorConfig,
    Promotion,
    PromotionTimeout,
    Rejected,
    StressReport,
    ValidationReport,
    Window,
    _STATUS_CODES,
    _time,
)

__all__ = [
    "ApiError",
    "Check",
    "Client",
    "DatasetVersion",
    "Evidence",
    "Explanation",
    "Incident",
    "IngestSummary",
    "ModelVersion",
    "MonitorConfig",
    "Promotion",
    "PromotionTimeout",
    "Rejected",
    "StressReport",
    "ValidationReport",
    "Window",
    "record_ids",
]

DEFAULT_URL = "http://127.0.0.1:8080"
# Records per request, as `riskops log --batch`; the server takes at most 100,000.
DEFAULT_BATCH = 10_000
# Statuses worth asking again: the server is busy (429) or briefly unavailable (503).
RETRY_STATUSES = (429, 503)


# ---------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------


class Client:
    """A riskops server's API.

    ``url`` defaults to ``RISKOPS_URL`` (else ``http://127.0.0.1:8080``), ``token`` to
    ``RISKOPS_TOKEN``, ``ca_cert`` (a PEM file trusted besides the system's roots, for a
    private CA) to ``RISKOPS_CA_CERT``: the CLI's variables. ``timeout`` is per request, in
    seconds. ``retries`` is how many times an idempotent request (reads, prediction and label
    batches) is sent again after a 429, a 503 or a broken connection, waiting
    ``backoff``·2ⁿ seconds (or the server's ``Retry-After``) in between.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        *,
        ca_cert: Optional[str] = None,
        timeout: float = 60,
        retries: int = 5,
        backoff: float = 0.5,
    ):
        url = url or os.environ.get("RISKOPS_URL") or DEFAULT_URL
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be an http:// or https:// URL, e.g. {DEFAULT_URL} (got {url!r})")
        self.url = url.rstrip("/")
        self._token = token if token is not None else (os.environ.get("RISKOPS_TOKEN") or None)
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self._ssl = _tls_context(ca_cert if ca_cert is not None else (os.environ.get("RISKOPS_CA_CERT") or None))

    def __repr__(self):
        # Never the token.
        return f"riskops.Client({self.url!r})"

    # -- registry ------------------------------------------------------------------------

    def push_dataset(
        self,
        name: str,
        data,
        project: Optional[str] = None,
        *,
        description: str = "",
        tags: Optional[Mapping[str, str]] = None,
        format: Optional[str] = None,
    ) -> DatasetVersion:
        """Pushes the next version of dataset ``name``, as ``riskops dataset push``.

        ``data`` is a file (CSV or Parquet) or a table: a pandas or polars DataFrame or a
        pyarrow Table, written to a temporary file first: Parquet (``format="parquet"``, the
        default when pyarrow or polars can write it, keeping the column types) or CSV
        (``format="csv"``; the index is left out either way). Bytes equal to an existing
        version's give that version back, storing nothing.
        """
        metadata = {"description": description, "tags": dict(tags or {})}
        if project is not None:
            metadata["project"] = project
        path = f"/api/v1/datasets/{_segment(name)}/versions"
        if isinstance(data, (str, os.PathLike)):
            return DatasetVersion._from(self._upload(path, metadata, os.fspath(data)))
        with tempfile.TemporaryDirectory(prefix="riskops-push-") as tmp:
            file = _write_table(data, tmp, name, format)
            return DatasetVersion._from(self._upload(path, metadata, file))

    def push_profile(
        self,
        name: str,
        profile,
        project: Optional[str] = None,
        *,
        description: str = "",
        tags: Optional[Mapping[str, str]] = None,
    ) -> DatasetVersion:
        """Pushes a :class:`riskops.Profile` (``riskops.profile(df)``, or merged from a Spark
        job's partitions) as the next version of dataset ``name``: a version without rows,
        whose sketches serve as a model's reference for drift (``format == "profile"``)."""
        if not hasattr(profile, "to_bytes"):
            raise TypeError(f"expected a riskops.Profile, not {type(profile).__name__}")
        metadata: Dict[str, Any] = {"description": description, "tags": dict(tags or {})}
        if project is not None:
            metadata["project"] = project
        with tempfile.TemporaryDirectory(prefix="riskops-push-") as tmp:
            file = os.path.join(tmp, "profile.json")
            with open(file, "wb") as f:
                f.write(profile.to_bytes())
            return DatasetVersion._from(self._upload(f"/api/v1/datasets/{_segment(name)}/versions", metadata, file))

    def dataset(self, name_version: str) -> DatasetVersion:
        """A dataset version, ``NAME@V`` (or ``NAME`` for the latest)."""
        name, version = _split(name_version)
        return DatasetVersion._from(self._call("GET", f"/api/v1/datasets/{_segment(name)}/versions/{version}"))

    def pull_dataset(self, name_version, path) -> str:
        """Downloads a dataset version's file to ``path`` (written whole or not at all), its
        bytes checked against the digest the server states, as ``riskops dataset pull``;
        returns the digest."""
        name, version = _split(name_version)
        return self._download(f"/api/v1/datasets/{_segment(name)}/versions/{version}/file", os.fspath(path))

    def register_model(
        self,
        name: str,
        path: Optional[str] = None,
        *,
        project: Optional[str] = None,
        framework: Optional[str] = None,
        training_data: Optional[str] = None,
        validation_data: Optional[str] = None,
        code_repo: Optional[str] = None,
        code_commit: Optional[str] = None,
        params=None,
        metrics=None,
        description: str = "",
        tags: Optional[Mapping[str, str]] = None,
        endpoint: Optional[str] = None,
        protocol: str = "v2",
        classes: Optional[Sequence[str]] = None,
    ) -> ModelVersion:
        """Registers the next version of model ``name``, as ``riskops model register``.

        ``path`` is the artifact (ONNX models riskops runs itself; other files are recorded
        only), or give ``endpoint`` (with ``protocol`` ``v2`` or ``mlflow`` and a classifier's
        ``classes``) for a model served over HTTP. ``framework`` defaults to ``onnx`` for a
        ``.onnx`` file, else ``other``. ``params`` and ``metrics`` are dicts or JSON files;
        ``training_data`` / ``validation_data`` are dataset versions (``NAME@V`` or a
        :class:`DatasetVersion`).
        """
        if (path is None) == (endpoint is None):
            raise ValueError("give the artifact's path or endpoint=URL (one of them)")
        if (code_repo is None) != (code_commit is None):
            raise ValueError("code_repo and code_commit go together")
        if framework is None:
            framework = "onnx" if path is not None and os.fspath(path).lower().endswith(".onnx") else "other"
        metadata: Dict[str, Any] = {"framework": framework, "description": description, "tags": dict(tags or {})}
        for key, value in [
            ("project", project),
            ("training_data", _ref_or_none(training_data)),
            ("validation_data", _ref_or_none(validation_data)),
            ("code_repo", code_repo),
            ("code_commit", code_commit),
            ("params", _json_object(params, "params")),
            ("metrics", _json_object(metrics, "metrics")),
        ]:
            if value is not None:
                metadata[key] = value
        if endpoint is not None:
            body: Dict[str, Any] = {"endpoint": endpoint, "protocol": protocol, "metadata": metadata}
            if classes is not None:
                body["classes"] = [str(c) for c in classes]
            return ModelVersion._from(self._call("POST", f"/api/v1/models/{_segment(name)}/endpoints", body))
        return ModelVersion._from(self._upload(f"/api/v1/models/{_segment(name)}/versions", metadata, os.fspath(path)))

    def model(self, name_version) -> ModelVersion:
        """A model version, ``NAME@V`` (or ``NAME`` for the latest)."""
        name, version = _split(name_version)
        return ModelVersion._from(self._call("GET", f"/api/v1/models/{_segment(name)}/versions/{version}"))

    # -- monitoring ----------------------------------------------------------------------

    def configure_monitor(
        self,
        project: str,
        model: str,
        *,
        window: Optional[str] = None,
        task: Optional[str] = None,
        positive: Optional[str] = None,
        exclude: Optional[Sequence[str]] = None,
        sensitive: Optional[Sequence[str]] = None,
        retention_days: Optional[int] = None,
        min_records: Optional[int] = None,
        explain_sample: Optional[int] = None,
    ) -> MonitorConfig:
        """How the model is monitored, as ``riskops monitor configure``: ``window`` (``hour``,
        ``day``, ``records:N``), ``task`` (``binary``, ``regression``), the reference columns
        to ``exclude`` (the target), ``sensitive`` attributes…; what is left out takes its default."""
        body = {
            "window": window, "task": task, "positive": positive,
            "exclude": list(exclude) if exclude is not None else None,
            "sensitive": list(sensitive) if sensitive is not None else None,
            "retention_days": retention_days, "min_records": min_records, "explain_sample": explain_sample,
        }
        path = f"/api/v1/projects/{_segment(project)}/models/{_segment(model)}/monitor"
        return MonitorConfig._from(self._call("PUT", path, body))

    def log_predictions(
        self,
        data,
        project: str,
        model: str,
        *,
        version=None,
        batch: int = DEFAULT_BATCH,
    ) -> IngestSummary:
        """Sends prediction logs, as ``riskops log``: one record per row, in batches of
        ``batch`` rows (gzipped NDJSON).

        Columns are read as the CLI reads a log file's: ``id``, ``timestamp`` (unix seconds,
        or datetimes: naive ones are UTC), ``version``, ``prediction``, ``score``, ``label``,
        ``latency_ms``, ``attr.<name>`` (attributes), ``proba.<class>`` (probabilities); every
        other column is a feature. ``version`` fills rows without one (else the server takes
        the version in production).

        Without an ``id`` column each row gets an id made of its values (and of how many
        identical rows came before it), so sending the same DataFrame again is counted as
        duplicates, not stored twice; :func:`record_ids` gives those ids (for labels).

        Batches are sent again after a 429, a 503 or a broken connection (see ``retries``);
        ids make that safe. Records the server refuses are counted, with their reasons, in
        the answer: nothing is raised for them.
        """
        if batch < 1:
            raise ValueError("batch must be at least 1")
        default_version = None if version is None else _text(version)
        path = f"/api/v1/projects/{_segment(project)}/models/{_segment(model)}/predictions"
        native = _native_batches(data, default_version, batch)
        if native is not None:
            # A DataFrame or Table: records made in Rust, exactly as `riskops log` makes them
            # from a Parquet file of the same columns, without a Python loop over the cells.
            batches, warnings = native
            for warning in warnings:
                warnings_module.warn(warning, stacklevel=2)
            return self._send_batches(path, "application/x-ndjson", batches, sum(len(ids) for _, ids in batches))
        names, columns, rows = _columns(data)
        seen: Dict[str, int] = {}  # generated ids, shared by the batches (made one after another)

        def bodies():
            for start in range(0, rows, batch):
                chunk = _records(names, columns, range(start, min(start + batch, rows)), default_version, seen)
                text = "\n".join(json.dumps(r, separators=(",", ":"), allow_nan=False) for r in chunk) + "\n"
                yield text, [r.get("id") for r in chunk]

        return self._send_batches(path, "application/x-ndjson", bodies(), rows)

    def log_labels(self, data, project: str, model: str, *, batch: int = DEFAULT_BATCH) -> IngestSummary:
        """Sends outcomes that arrived later, as ``riskops label``: the columns ``id`` and
        ``label`` (others are ignored). Each label counts once: one sent again is a duplicate."""
        if batch < 1:
            raise ValueError("batch must be at least 1")
        names, columns, rows = _columns(data)
        if "id" not in names or "label" not in names:
            raise ValueError(f"labels need the columns 'id' and 'label' (columns: {', '.join(names)})")
        ids, labels = columns[names.index("id")], columns[names.index("label")]
        items = []
        for i in range(rows):
            record_id = _text(ids[i])
            if record_id is None or record_id == "":
                raise ValueError(f"row {i + 1} has no id")
            items.append({"id": record_id, "label": _whole(_cell(labels[i]))})
        path = f"/api/v1/projects/{_segment(project)}/models/{_segment(model)}/labels"
        bodies = (
            (json.dumps(chunk, separators=(",", ":"), allow_nan=False), [r["id"] for r in chunk])
            for chunk in _chunks(items, batch)
        )
        return self._send_batches(path, "application/json", bodies, rows)

    def window_reports(self, project: str, model: str, *, granularity=None, start=None, end=None) -> List[Window]:
        """The model's windows, oldest first, as ``riskops monitor show``: ``start`` and ``end``
        (datetimes, dates, unix seconds or RFC 3339 text; default the last 7 days) and
        ``granularity`` (``hour``, or ``day`` to roll hourly windows up)."""
        query = {}
        for key, value in (("from", start), ("to", end), ("granularity", granularity)):
            if value is not None:
                query[key] = _instant(value) if key != "granularity" else str(value)
        path = f"/api/v1/projects/{_segment(project)}/models/{_segment(model)}/monitoring"
        if query:
            path += "?" + urllib.parse.urlencode(query)
        return [Window._from(w) for w in self._call("GET", path, retry=True)["windows"]]

    def windows(self, project: str, model: str, *, granularity=None, start=None, end=None):
        """:meth:`window_reports` as a pandas DataFrame, one row per window: ``start``,
        ``end`` (UTC), ``version``, ``records``, ``labelled``, ``drift_share``, ``drifted``,
        ``n_drifted``, ``drifted_features``, ``drift_exact``, the performance metrics
        (``roc_auc``, ``f1``, … or ``r2``, ``rmse``, …; empty until labels arrive),
        ``estimated_roc_auc``, ``estimated_f1``, … and ``estimated_alert`` (CBPE, without
        labels), ``reconstruction_error`` and ``reconstruction_alert`` (multivariate drift) on
        closed windows of models configured for them, ``max_missing_rate``, ``p95_ms`` and
        ``value_per_1000``."""
        try:
            import pandas
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("windows() returns a pandas DataFrame: pip install pandas "
                              "(window_reports() needs nothing)") from e
        reports = self.window_reports(project, model, granularity=granularity, start=start, end=end)
        rows = [w.row() for w in reports]
        if not rows:
            empty = Window(_EPOCH, _EPOCH, "", 0, 0, 0.0, False, (), "", False, None, {})
            columns = list(empty.row())
            return pandas.DataFrame({c: [] for c in columns})
        frame = pandas.DataFrame(rows)
        for c in ("start", "end"):
            frame[c] = pandas.to_datetime(frame[c], utc=True)
        return frame

    def window(self, project: str, model: str, at, *, version=None, granularity=None,
               lookback: float = 2 * 86_400) -> Optional[Window]:
        """The window holding the instant ``at`` (a datetime, a date, unix seconds or RFC 3339
        text), of ``version`` if given (versions side by side have windows of their own),
        or None. The server lists windows by their start: those that started up to
        ``lookback`` seconds before ``at`` are looked at (raise it for ``records:N``
        windows that last longer)."""
        when = _seconds(at)
        wanted = None if version is None else _text(version)
        for w in self.window_reports(project, model, granularity=granularity, start=when - int(lookback),
                                     end=when + 1):
            if w.start.timestamp() <= when < w.end.timestamp() and wanted in (None, w.version):
                return w
        return None

    def incidents(self, project=None, model=None, kind=None, status=None) -> List[Incident]:
        """Incidents the caller may read, newest first, as ``riskops incident list``:
        ``kind`` ``monitor`` or ``security``, ``status`` (the incident's ``state``) ``open``,
        ``acknowledged`` or ``resolved``."""
        query = {k: v for k, v in (("project", project), ("model", model), ("kind", kind), ("state", status))
                 if v is not None}
        path = "/api/v1/incidents" + ("?" + urllib.parse.urlencode(query) if query else "")
        return [Incident._from(i) for i in self._call("GET", path, retry=True)["incidents"]]

    # -- evidence and governance ---------------------------------------------------------

    def add_evidence(self, name_version, kind: str, path, *, passed: Optional[bool] = None,
                     summary: str = "") -> Evidence:
        """Files evidence for a model version, as ``riskops evidence add``: ``kind``
        (``validation``, ``fairness``, ``stress_test``, ``explainability``, ``documentation``,
        ``security``, ``performance``, ``data_quality``), the file, whether the check passed."""
        name, version = _split(name_version)
        metadata: Dict[str, Any] = {"kind": kind, "summary": summary}
        if passed is not None:
            metadata["passed"] = bool(passed)
        up = f"/api/v1/models/{_segment(name)}/versions/{version}/evidence"
        return Evidence._from(self._upload(up, metadata, os.fspath(path)))

    def validate(self, name_version, data, label: str, *, protected: Sequence[str] = (), segments=None,
                 threshold: Optional[float] = None, compare_with: Optional[str] = None,
                 seed: int = 0) -> ValidationReport:
        """The server runs the model over dataset version ``data`` and files validation
        evidence, as ``riskops validate``: metrics with 95% intervals, calibration, weak
        segments (``segments``: columns, default every feature), fairness over ``protected``
        attributes, the policy's checks."""
        name, version = _split(name_version)
        body = {
            "data": _ref(data), "label": label, "protected": list(protected),
            "segments": None if segments in (None, "auto") else list(segments),
            "threshold": threshold, "compare_with": compare_with, "seed": seed,
        }
        path = f"/api/v1/models/{_segment(name)}/versions/{version}/validations"
        return ValidationReport._from(self._call("POST", path, body))

    def stress(self, name_version, data, *, label: Optional[str] = None, unseen=None,
               monotone: Sequence[str] = (), seed: int = 0) -> StressReport:
        """The server perturbs dataset version ``data`` and files stress-test evidence, as
        ``riskops stress``: edge cases, noise, shift (with ``label``), ``unseen`` data,
        ``monotone`` constraints (``COL:+`` / ``COL:-``)."""
        name, version = _split(name_version)
        body = {"data": _ref(data), "label": label, "unseen": _ref_or_none(unseen),
                "monotone": list(monotone), "seed": seed}
        path = f"/api/v1/models/{_segment(name)}/versions/{version}/stress-tests"
        return StressReport._from(self._call("POST", path, body))

    def explain(self, name_version, data, *, rows: Optional[int] = None, label: Optional[str] = None,
                background=None, repeats: int = 5, seed: int = 0, method: str = "auto",
                covers: Optional[str] = None, background_rows: int = 100,
                permutations: int = 10) -> Explanation:
        """SHAP values of the model on rows of dataset version ``data``, filed as
        explainability evidence, as ``riskops explain`` (``method``: ``auto``, ``tree``,
        ``tree-path``, ``permutation``)."""
        name, version = _split(name_version)
        body = {
            "data": _ref(data), "rows": rows, "label": label, "background": _ref_or_none(background),
            "repeats": repeats, "seed": seed, "method": method, "covers": covers,
            "background_rows": background_rows, "permutations": permutations,
        }
        path = f"/api/v1/models/{_segment(name)}/versions/{version}/explanations"
        return Explanation._from(self._call("POST", path, body))

    def promote(self, name_version, to: str, *, reason: str = "", wait: bool = True, timeout: float = 3600,
                poll_interval: float = 2.0) -> Promotion:
        """Asks for a model version to go to ``staging`` or ``production``, as ``riskops model
        promote``. With ``wait`` (the default) polls the request until it is decided and
        returns it completed or rejected (check ``.completed``); raises
        :class:`PromotionTimeout` when it is still pending after ``timeout`` seconds."""
        name, version = _split(name_version)
        path = f"/api/v1/models/{_segment(name)}/versions/{version}/promotions"
        request = Promotion._from(self._call("POST", path, {"to": to, "reason": reason}))
        if not wait:
            return request
        deadline = time.monotonic() + timeout
        while request.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PromotionTimeout(request, timeout)
            time.sleep(min(poll_interval, left))
            request = self.promotion(request.id)
        return request

    def promotion(self, id: int) -> Promotion:
        return Promotion._from(self._call("GET", f"/api/v1/promotions/{int(id)}", retry=True))

    def approve(self, id: int, comment: str = "") -> Promotion:
        """Approves promotion request ``id`` (as ``riskops promotion approve``)."""
        return Promotion._from(self._call("POST", f"/api/v1/promotions/{int(id)}/approve", {"comment": comment}))

    def reject(self, id: int, comment: str) -> Promotion:
        """Rejects promotion request ``id``; a rejection needs its reason."""
        return Promotion._from(self._call("POST", f"/api/v1/promotions/{int(id)}/reject", {"comment": comment}))

    # -- anything else -------------------------------------------------------------------

    def whoami(self) -> Dict[str, Any]:
        return self._call("GET", "/api/v1/whoami", retry=True)

    def request(self, method: str, path: str, body=None):
        """Any route of the API (``/api/v1/…``) with a JSON body; answers the JSON as sent.
        Errors are :class:`ApiError` as everywhere else."""
        if not path.startswith("/"):
            raise ValueError("path starts with /, e.g. /api/v1/projects")
        return self._call(method.upper(), path, body, retry=method.upper() == "GET")

    # -- transport -----------------------------------------------------------------------

    def _headers(self, content_type: Optional[str] = None) -> Dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "riskops-python"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _call(self, method: str, path: str, body=None, *, retry: bool = False):
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        return self._send(method, path, lambda: data, self._headers("application/json" if data else None),
                          retry=retry)

    def _send(self, method, path, body_factory, headers, *, retry, read=None):
        """Sends the request (asking for the body afresh each attempt: an upload's is a
        stream) and reads the answer, JSON unless ``read`` reads it; retried as the client
        says when ``retry``."""
        url = self.url + path
        attempt = 0
        while True:
            request = urllib.request.Request(url, data=body_factory(), headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout, context=self._ssl) as response:
                    if read is not None:
                        return read(response)
                    return _json_answer(response.read(), response.status, self.url)
            except urllib.error.HTTPError as e:
                error = self._error(e)
                wait = _retry_after(e.headers)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
                error = self._unreachable(e)
                wait = None
            transient = error.status is None or error.status in RETRY_STATUSES
            if not retry or not transient or attempt >= self.retries:
                raise error
            # Exponential backoff with jitter, so many clients do not come back at once.
            time.sleep(wait if wait is not None else self.backoff * (2 ** attempt) * (0.5 + random.random()))
            attempt += 1

    def _error(self, e: urllib.error.HTTPError) -> ApiError:
        try:
            text = e.read()
        except OSError:
            text = b""
        finally:
            e.close()
        code, message, field = _STATUS_CODES.get(e.code, "error"), "", None
        try:
            detail = json.loads(text)["error"]
            code, message, field = detail.get("code", code), detail.get("message", ""), detail.get("field")
        except (ValueError, KeyError, TypeError):
            message = text[:200].decode("utf-8", "replace").strip() or (e.reason or "")
        if e.code == 401 and not self._token:
            message += " (no token given: pass token= or set RISKOPS_TOKEN)"
        return ApiError(e.code, code, message, field)

    def _unreachable(self, e: BaseException) -> ApiError:
        reason = getattr(e, "reason", e)
        if isinstance(reason, ssl.SSLError):
            message = (f"the TLS connection to {self.url} failed: {reason} "
                       "(for a private CA, give its certificate with ca_cert= or RISKOPS_CA_CERT)")
        elif isinstance(reason, (socket.timeout, TimeoutError)):
            message = f"the riskops server at {self.url} did not answer within {self.timeout:g}s"
        else:
            message = (f"cannot reach the riskops server at {self.url} ({reason}; is `riskops serve` "
                       "running? pass url= or set RISKOPS_URL)")
        return ApiError(None, "unreachable", message)

    def _upload(self, path: str, metadata: Mapping[str, Any], file: str):
        """``metadata`` (JSON) then ``file``, as multipart/form-data, the file streamed from disk."""
        if not os.path.isfile(file):
            raise FileNotFoundError(f"{file} is not a readable file")
        boundary = "riskops-" + uuid.uuid4().hex
        filename = os.path.basename(file).replace('"', "_").replace("\r", "_").replace("\n", "_") or "file"
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
            f"Content-Type: application/json\r\n\r\n{json.dumps(metadata)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = os.path.getsize(file)
        headers = self._headers(f"multipart/form-data; boundary={boundary}")
        headers["Content-Length"] = str(len(head) + size + len(tail))

        def body() -> Iterator[bytes]:
            yield head
            with open(file, "rb") as f:
                while True:
                    chunk = f.read(1 << 16)
                    if not chunk:
                        break
                    yield chunk
            yield tail

        # Not retried: a push or registration that did arrive would make a second version.
        return self._send("POST", path, body, headers, retry=False)

    def _download(self, path: str, dest: str) -> str:
        folder = os.path.dirname(os.path.abspath(dest))
        # Checked here: a local OSError met while the answer is read would pass for a network one.
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"cannot write {dest}: the folder {folder} does not exist")

        def read(response) -> str:
            expected = response.headers.get("x-riskops-digest")
            if not expected:
                raise ApiError(response.status, "bad_answer", f"the server sent no digest for {path}")
            digest = hashlib.sha256()
            fd, tmp = tempfile.mkstemp(prefix=".riskops-pull-", dir=folder)
            try:
                with os.fdopen(fd, "wb") as out:
                    while True:
                        chunk = response.read(1 << 16)
                        if not chunk:
                            break
                        digest.update(chunk)
                        out.write(chunk)
                actual = "sha256:" + digest.hexdigest()
                if actual != expected:
                    raise ApiError(response.status, "integrity_error",
                                   f"the downloaded bytes hash to {actual}, not {expected}: nothing written")
                os.replace(tmp, dest)
            except BaseException:
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise
            return actual

        return self._send("GET", path, lambda: None, self._headers(), retry=True, read=read)

    def _send_batches(self, path, content_type, bodies: Iterable[Tuple[str, List[Optional[str]]]],
                      total: int) -> IngestSummary:
        """Posts each batch (its text and its records' ids) in turn; one summary of all answers."""
        headers = self._headers(content_type)
        headers["Content-Encoding"] = "gzip"
        tally = _Tally(total)
        offset = 0
        for text, ids in bodies:
            raw = text if isinstance(text, bytes) else text.encode()
            compressed = gzip.compress(raw, compresslevel=5)
            answer = self._send("POST", path, lambda: compressed, headers, retry=True)
            tally.add(answer, offset, ids)
            offset += len(ids)
        return tally.summary()


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _json_answer(raw: bytes, status: int, base: str):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(status, "bad_answer", f"the server at {base} answered something other than JSON") from None


def _retry_after(headers) -> Optional[float]:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


def _tls_context(ca_cert: Optional[str]) -> ssl.SSLContext:
    """The system's roots, and the CA in ``ca_cert`` besides them (as the CLI adds it)."""
    context = ssl.create_default_context()
    if ca_cert is not None:
        if not os.path.isfile(ca_cert):
            raise FileNotFoundError(f"ca_cert {ca_cert} is not a readable file")
        try:
            context.load_verify_locations(cafile=ca_cert)
        except ssl.SSLError as e:
            raise ValueError(f"ca_cert {ca_cert} holds no PEM certificate ({e})") from None
    return context


class _Tally:
    """The answers of every batch added up, as ``riskops log`` adds them."""

    def __init__(self, records: int):
        self.records = records
        self.accepted = 0
        self.duplicates = 0
        self.reasons: Dict[str, int] = {}
        self.rejected: List[Rejected] = []
        self.batches = 0

    def add(self, answer, offset: int, ids: List[Optional[str]]):
        """One batch's answer; ``offset`` is the table row of its first record. A record the
        server could not read comes back without its id: the id sent is filled in."""
        self.batches += 1
        self.accepted += answer.get("accepted", 0)
        self.duplicates += answer.get("duplicates", 0)
        for r in answer.get("rejected") or []:
            reasons = tuple(r.get("reasons") or ())
            for reason in dict.fromkeys(reasons):
                self.reasons[reason] = self.reasons.get(reason, 0) + 1
            index = r.get("index", 0)
            sent = ids[index] if 0 <= index < len(ids) else None
            self.rejected.append(Rejected(offset + index, r.get("id") or sent, reasons))

    def summary(self) -> IngestSummary:
        ranked = dict(sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        raw = {
            "records": self.records,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": len(self.rejected),
            "rejected_by_reason": [{"reason": k, "count": v} for k, v in ranked.items()],
            "first_rejected": [dataclasses.asdict(r) for r in self.rejected[:5]],
        }
        return IngestSummary(self.records, self.accepted, self.duplicates, len(self.rejected), ranked,
                             tuple(self.rejected), self.batches, raw)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _segment(text: str) -> str:
    """A name as one path segment (names are checked by the server; this only keeps a `/`
    or `?` from changing the route)."""
    return urllib.parse.quote(str(text), safe="")


def _ref(value) -> str:
    """``NAME@V`` from text or a version object (DatasetVersion, ModelVersion)."""
    if hasattr(value, "name") and hasattr(value, "version") and not isinstance(value, str):
        return f"{value.name}@{value.version}"
    return str(value)


def _ref_or_none(value) -> Optional[str]:
    return None if value is None else _ref(value)


def _split(name_version) -> Tuple[str, str]:
    """``NAME@V`` → (NAME, V); ``NAME`` → (NAME, ``latest``)."""
    text = _ref(name_version)
    name, _, version = text.partition("@")
    return name, _segment(version or "latest")


def _json_object(value, what: str):
    """A dict as it is, or a JSON file holding an object (as the CLI's --params)."""
    if value is None or isinstance(value, Mapping):
        return None if value is None else dict(value)
    with open(os.fspath(value), encoding="utf-8") as f:
        loaded = json.load(f)
    if not isinstance(loaded, dict):
        raise ValueError(f"{what} {value} must hold a JSON object")
    return loaded


def _instant(value) -> str:
    """A query's time: datetimes as RFC 3339 (naive ones UTC), dates as their day, numbers as
    unix seconds, text as it is (the server says what it cannot read)."""
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        return aware.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value))
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        return _instant(value.to_pydatetime())
    return str(value)


def _seconds(value) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        return int(aware.timestamp())
    if isinstance(value, _dt.date):
        return int(_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc).timestamp())
    text = str(value)
    parsed = _time(text if "T" in text else text + "T00:00:00Z")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return int(parsed.timestamp())
