"""riskops.Client against a real `riskops serve` (the workspace's binary) on a fresh data folder:
datasets pushed from DataFrames and read back, a model registered, prediction logs and labels
sent from DataFrames, windows read as a DataFrame, promotions waited for, incidents listed,
and the API's errors raised with their code, status and field.

The quickstart's files (examples/quickstart) are the data: customers.csv as the training
data, scorer.onnx as the model, predictions.csv and labels.csv as the production logs.
"""

import datetime as dt
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pandas as pd
import polars as pl
import pytest

import riskops
from conftest import REPO, cli_path
from riskops.client import ApiError, PromotionTimeout, record_ids

QUICKSTART = REPO / "examples" / "quickstart"
ADMIN_TOKEN = "rsk_python_client_test_admin_0123456789abcdef"
PROJECT = "pyclient"
# The quickstart's logs run from 2026-11-02 for about three days.
LOGS_FROM, LOGS_TO = "2026-11-01", "2026-11-08"


def start_server(*more):
    """`riskops serve` on a free port and a temporary data folder, its first administrator
    made from RISKOPS_BOOTSTRAP_TOKEN (as tools/console/browser_test.py starts it); yields
    its URL, then stops it."""
    binary = cli_path()
    if binary is None:
        pytest.fail("no riskops binary: build it (cargo build -p riskops-cli) or set RISKOPS_BIN")
    data_dir = tempfile.mkdtemp(prefix="riskops-client-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKOPS_")}
    # Ended windows close after 1 s without records, so monitors judge them during the test.
    env.update(RISKOPS_BOOTSTRAP_TOKEN=ADMIN_TOKEN, RISKOPS_WINDOW_QUIET="1")
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir, *more],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    url = None
    for line in process.stderr:
        if line.startswith("riskops listening on "):
            url = line.split()[3]
            break
    if url is None:
        process.kill()
        pytest.fail("the server did not start")
    # Keep reading its log so a full pipe never stalls it.
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
    try:
        yield url
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    yield from start_server()


@pytest.fixture(scope="module")
def admin(server):
    return riskops.Client(server, ADMIN_TOKEN, timeout=120)


@pytest.fixture(scope="module")
def world(admin):
    """A low-tier project (staging needs nothing, production a validation and a validator),
    the training data pushed from a DataFrame, the model registered on it, windows of a day,
    and a validator with a token of their own."""
    admin.request("POST", "/api/v1/projects", {"name": PROJECT})
    admin.request("PATCH", f"/api/v1/projects/{PROJECT}", {"tier": "low", "reason": "a test project"})
    training = pd.read_csv(QUICKSTART / "customers.csv")
    dataset = admin.push_dataset("customers", training, project=PROJECT, tags={"source": "uci"})
    model = admin.register_model("scorer", str(QUICKSTART / "scorer.onnx"), project=PROJECT,
                                 training_data=dataset, metrics={"f1": 0.43})
    admin.configure_monitor(PROJECT, "scorer", window="day", exclude=["default"], sensitive=["sex"])
    made = admin.request("POST", "/api/v1/users", {"name": "victor", "kind": "user", "roles": [f"validator@{PROJECT}"]})
    victor = riskops.Client(admin.url, made["token"], timeout=120)
    return {"training": training, "dataset": dataset, "model": model, "victor": victor}


def test_a_dataframe_is_pushed_and_reads_back(admin, world):
    training, pushed = world["training"], world["dataset"]
    assert isinstance(pushed, riskops.client.DatasetVersion)
    assert (pushed.name, pushed.project, pushed.version) == ("customers", PROJECT, 1)
    assert pushed.rows == len(training) == 300
    assert pushed.format == "parquet", "a DataFrame goes up as Parquet, keeping its types"
    assert [c[0] for c in pushed.columns] == list(training.columns)
    # The dtypes the server read are the DataFrame's own (text is `object`, pandas < 3's name).
    own = {c: "object" if str(t) in ("str", "string", "object") else str(t) for c, t in training.dtypes.items()}
    assert {c[0]: c[1] for c in pushed.columns} == own
    assert pushed.tags == {"source": "uci"} and pushed.created_by == "admin"
    assert pushed.created_at.tzinfo is not None

    again = admin.dataset("customers@1")
    assert again == pushed and again.digest.startswith("sha256:")
    assert again.raw["profile"]["columns"], "the read-back version carries its profile"
    # The file itself, pulled back: the same rows and values.
    with tempfile.TemporaryDirectory() as tmp:
        dest = os.path.join(tmp, "customers.parquet")
        assert admin.pull_dataset(pushed, dest) == pushed.digest
        pd.testing.assert_frame_equal(pd.read_parquet(dest), training, check_dtype=False)

    # CSV on request, and polars and file paths too: each the next version.
    as_csv = admin.push_dataset("customers", training, format="csv")
    assert (as_csv.version, as_csv.format, as_csv.rows) == (2, "csv", 300)
    from_polars = admin.push_dataset("customers", pl.from_pandas(training))
    assert (from_polars.version, from_polars.rows) == (3, 300)
    from_file = admin.push_dataset("holdout", str(QUICKSTART / "holdout.csv"), project=PROJECT)
    assert (from_file.ref, from_file.format, from_file.rows) == ("holdout@1", "csv", 200)
    assert admin.dataset("customers").version == 3, "a bare name is the latest version"
    # The same DataFrame again: the same bytes, so the version that holds them, nothing stored.
    assert admin.push_dataset("customers", training).version == 1


def test_a_profile_is_pushed_as_a_dataset_version(admin, world):
    training = world["training"]
    # Two parts' profiles merged, as a Spark job's partitions are.
    profile = riskops.profile(training.iloc[:150]).merge(riskops.profile(training.iloc[150:]))
    pushed = admin.push_profile("customers-profile", profile, project=PROJECT)
    assert (pushed.ref, pushed.format, pushed.rows) == ("customers-profile@1", "profile", 300)
    assert [c[0] for c in pushed.columns] == list(training.columns)
    with pytest.raises(TypeError):
        admin.push_profile("customers-profile", training)


def test_a_model_is_registered_as_the_cli_registers_it(admin, world):
    model = world["model"]
    assert isinstance(model, riskops.client.ModelVersion)
    assert (model.ref, model.project, model.framework) == ("scorer@1", PROJECT, "onnx")
    assert model.training_data == "customers@1" and model.metrics == {"f1": 0.43}
    assert model.raw["signature"]["inputs"], "the ONNX signature was read at registration"
    assert admin.model("scorer@1") == model
    with pytest.raises(ValueError):
        admin.register_model("scorer")  # neither an artifact nor an endpoint


def quickstart_logs():
    logs = pd.read_csv(QUICKSTART / "predictions.csv")
    assert len(logs) == 300
    return logs


def test_logs_and_labels_from_dataframes_make_windows(admin, world):
    logs = quickstart_logs()
    sent = admin.log_predictions(logs, PROJECT, "scorer", version=1, batch=128)
    assert isinstance(sent, riskops.client.IngestSummary)
    assert (sent.records, sent.accepted, sent.duplicates, sent.rejected, sent.batches) == (300, 300, 0, 0, 3)
    # The same records again: their ids are known, nothing is stored twice.
    again = admin.log_predictions(logs, PROJECT, "scorer", version=1)
    assert (again.accepted, again.duplicates) == (0, 300)

    labels = admin.log_labels(pd.read_csv(QUICKSTART / "labels.csv"), PROJECT, "scorer")
    assert (labels.accepted, labels.rejected) == (300, 0)

    frame = admin.windows(PROJECT, "scorer", start=LOGS_FROM, end=LOGS_TO)
    assert isinstance(frame, pd.DataFrame)
    assert frame["records"].sum() == 300 and frame["labelled"].sum() == 300
    assert len(frame) >= 3, "day windows over three days of logs"
    assert str(frame["start"].dtype).startswith("datetime64") and frame["start"].is_monotonic_increasing
    assert (frame["end"] - frame["start"] == pd.Timedelta(days=1)).all()
    assert set(frame["version"]) == {"1"}
    assert frame["drift_share"].between(0, 1).all()
    assert frame["f1"].notna().all() and frame["roc_auc"].notna().all(), "labels give every window its metrics"

    # The same windows typed, and the one holding an instant.
    reports = admin.window_reports(PROJECT, "scorer", start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 8))
    assert [w.records for w in reports] == frame["records"].tolist()
    first = int(logs["timestamp"].min())
    one = admin.window(PROJECT, "scorer", first)
    assert one is not None and one.start.timestamp() <= first < one.end.timestamp()
    assert one.records == reports[0].records and one.performance["count"] == one.labelled
    assert admin.window(PROJECT, "scorer", "2026-10-01") is None
    assert admin.window(PROJECT, "scorer", first, version=1) == one
    assert admin.window(PROJECT, "scorer", first, version=2) is None, "version 2 logged nothing"
    empty = admin.windows(PROJECT, "scorer", start="2026-10-01", end="2026-10-05")
    assert empty.empty and list(empty.columns) == list(frame.columns)


def test_rows_without_ids_get_the_same_ids_every_time(admin, world):
    # A second model, so these records stay out of the first one's windows.
    admin.register_model("scorer-noid", str(QUICKSTART / "scorer.onnx"), project=PROJECT,
                         training_data="customers@1")
    admin.configure_monitor(PROJECT, "scorer-noid", window="day", exclude=["default"])
    logs = quickstart_logs().drop(columns=["id"]).head(50)
    # Two identical rows are two records.
    logs = pd.concat([logs, logs.tail(1)], ignore_index=True)
    ids = record_ids(logs)
    assert len(set(ids)) == 51 and ids == record_ids(logs.copy())
    first = admin.log_predictions(logs, PROJECT, "scorer-noid", version=1)
    assert (first.accepted, first.duplicates) == (51, 0)
    retry = admin.log_predictions(logs, PROJECT, "scorer-noid", version=1)
    assert (retry.accepted, retry.duplicates) == (0, 51)
    # The ids label the records.
    labels = pd.DataFrame({"id": ids, "label": [i % 2 for i in range(51)]})
    assert admin.log_labels(labels, PROJECT, "scorer-noid").accepted == 51


def test_refused_records_are_counted_with_their_reasons(admin, world):
    logs = quickstart_logs().head(10).assign(id=[f"bad-{i}" for i in range(10)])
    logs.loc[3, "timestamp"] = None  # a record without a time
    logs = logs.drop(columns=["age"])  # a feature the reference has
    summary = admin.log_predictions(logs, PROJECT, "scorer-noid", version=1)
    assert summary.rejected == 10 and summary.accepted == 0
    assert any("age" in r for r in summary.rejected_by_reason), summary.rejected_by_reason
    assert [r.index for r in summary.rejected_records] == list(range(10))
    assert summary.rejected_records[3].id == "bad-3"
    assert summary.raw["rejected"] == 10 and len(summary.raw["first_rejected"]) == 5


def test_promotion_to_staging_completes_at_once(admin, world):
    done = admin.promote("scorer@1", "staging", reason="first release", timeout=30)
    assert isinstance(done, riskops.client.Promotion)
    assert done.completed and (done.environment, done.tier, done.missing) == ("staging", "low", ())


def test_promote_waits_until_a_validator_approves(admin, world):
    victor = world["victor"]
    outcome = {}

    def ask():
        try:
            outcome["promotion"] = admin.promote(world["model"], "production", reason="go", timeout=60,
                                                 poll_interval=0.2)
        except Exception as e:  # handed to the test's thread
            outcome["error"] = e

    asker = threading.Thread(target=ask)
    asker.start()
    pending = None
    for _ in range(100):
        listed = victor.request("GET", "/api/v1/promotions?status=pending")["promotions"]
        if listed:
            pending = listed[0]
            break
        time.sleep(0.1)
    assert pending is not None, "the request was made"
    assert set(pending["missing"]) == {"evidence:validation", "approval:validator"}

    report = victor.validate("scorer@1", "holdout@1", "default")
    assert isinstance(report, riskops.client.ValidationReport)
    assert report.model == "scorer@1" and report.n == 200 and report.evidence_id is not None
    assert "roc_auc" in report.metrics and report.checks
    if not report.passed:  # the low tier's thresholds decide; failed evidence never counts
        file = tempfile.NamedTemporaryFile("w", suffix=".md", delete=False)
        file.write("validated by hand\n")
        file.close()
        victor.add_evidence("scorer@1", "validation", file.name, passed=True, summary="holdout")
    assert outcome == {}, "still waiting while evidence is filed"
    approved = victor.approve(pending["id"], "fit for a first release")
    asker.join(30)
    assert not asker.is_alive() and "error" not in outcome, outcome
    final = outcome["promotion"]
    assert final.id == pending["id"] and final.completed and final.closed_at is not None
    assert approved.completed


def test_a_promotion_still_pending_times_out(admin, world):
    # A second version, whose production promotion nobody approves.
    admin.register_model("scorer", str(QUICKSTART / "scorer.onnx"), training_data="customers@1")
    with pytest.raises(PromotionTimeout) as raised:
        admin.promote("scorer@2", "production", timeout=0.5, poll_interval=0.1)
    assert raised.value.promotion.pending and raised.value.promotion.version == 2
    asked = raised.value.promotion
    assert "approval:validator" in asked.missing
    with pytest.raises(ApiError) as twice:
        admin.promote("scorer@2", "production", wait=False)
    assert (twice.value.status, twice.value.code) == (409, "conflict")
    rejected = world["victor"].reject(asked.id, "not now")
    assert rejected.status == "rejected" and not rejected.completed
    # Without waiting, the request comes back as made: pending.
    again = admin.promote("scorer@2", "production", wait=False)
    assert again.pending and again.id != asked.id
    world["victor"].reject(again.id, "still not")


def test_evidence_stress_and_explanations_are_typed(admin, world):
    victor = world["victor"]
    evidence = victor.add_evidence("scorer@1", "documentation", str(QUICKSTART / "model-card.md"),
                                   summary="model card")
    assert isinstance(evidence, riskops.client.Evidence)
    assert (evidence.kind, evidence.version, evidence.created_by, evidence.passed) == (
        "documentation", 1, "victor", None)
    stress = victor.stress("scorer@1", "holdout@1", label="default", seed=1)
    assert isinstance(stress, riskops.client.StressReport)
    assert stress.seed == 1 and {c.name for c in stress.checks} >= {"edge_cases", "noise_robustness"}
    explained = victor.explain("scorer@1", "holdout@1", rows=20, label="default", method="permutation",
                               background_rows=20, repeats=2, permutations=4)
    assert isinstance(explained, riskops.client.Explanation)
    assert explained.method == "permutation_shap" and len(explained.raw["rows"]) == 20
    assert {f for f, _ in explained.importance} == set(explained.features)


def test_incidents_are_listed_and_filtered(admin, world):
    # A model with a monitor that every window breaches, then its logs: each day window
    # closes (the next day's records close it, the last one after a second without records)
    # and the monitor opens an incident.
    admin.register_model("scorer-alert", str(QUICKSTART / "scorer.onnx"), project=PROJECT,
                         training_data="customers@1")
    admin.configure_monitor(PROJECT, "scorer-alert", window="day", exclude=["default"], min_records=10)
    admin.request("POST", f"/api/v1/projects/{PROJECT}/models/scorer-alert/monitors",
                  {"metric": "drift.share", "above": 0.0})
    assert admin.log_predictions(quickstart_logs(), PROJECT, "scorer-alert", version=1).accepted == 300
    incidents = []
    for _ in range(60):
        incidents = admin.incidents(project=PROJECT, model="scorer-alert")
        if incidents:
            break
        time.sleep(0.5)
    assert incidents, "the monitor opened an incident"
    first = incidents[0]
    assert isinstance(first, riskops.client.Incident)
    assert (first.project, first.model, first.kind, first.state) == (PROJECT, "scorer-alert", "monitor", "open")
    assert first.opened_at is not None and first.windows >= 1
    assert first.id in [i.id for i in admin.incidents()], "unfiltered, every incident the caller may read"
    assert [i.id for i in admin.incidents(project=PROJECT, status="open", kind="monitor")] == [
        i.id for i in admin.incidents(project=PROJECT) if i.state == "open"]
    assert all(i.state == "resolved" for i in admin.incidents(project=PROJECT, status="resolved"))
    assert admin.incidents(model="scorer-noid") == [] and admin.incidents(kind="security") == []


def test_a_bad_token_is_unauthorized(server, world):
    with pytest.raises(ApiError) as raised:
        riskops.Client(server, "rsk_not_a_token").incidents()
    e = raised.value
    assert (e.status, e.code) == (401, "unauthorized") and e.message and e.field is None
    with pytest.raises(ApiError) as none:
        riskops.Client(server, "").whoami()
    assert none.value.code == "unauthorized" and "RISKOPS_TOKEN" in none.value.message


def test_a_bad_field_is_named(admin, world):
    with pytest.raises(ApiError) as raised:
        admin.windows(PROJECT, "scorer", start="yesterday")
    e = raised.value
    assert (e.status, e.code, e.field) == (422, "invalid_field", "from")
    with pytest.raises(ApiError) as moon:
        admin.promote("scorer@1", "moon")
    assert (moon.value.code, moon.value.field) == ("invalid_field", "to")
    with pytest.raises(ApiError) as state:
        admin.incidents(status="bogus")
    assert state.value.field == "state"
    with pytest.raises(ApiError) as missing:
        admin.model("no-such-model@1")
    assert (missing.value.status, missing.value.code) == (404, "not_found")


def test_the_environment_configures_the_client(server, monkeypatch):
    monkeypatch.setenv("RISKOPS_URL", server)
    monkeypatch.setenv("RISKOPS_TOKEN", ADMIN_TOKEN)
    monkeypatch.delenv("RISKOPS_CA_CERT", raising=False)
    client = riskops.Client()
    assert client.url == server and client.whoami()["name"] == "admin"
    assert ADMIN_TOKEN not in repr(client)
    monkeypatch.setenv("RISKOPS_CA_CERT", "/no/such/ca.pem")
    with pytest.raises(FileNotFoundError):
        riskops.Client()
    with pytest.raises(ValueError):
        riskops.Client("127.0.0.1:8080", ADMIN_TOKEN)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_a_clear_error():
    client = riskops.Client(f"http://127.0.0.1:{free_port()}", "t", retries=1, backoff=0.01)
    with pytest.raises(ApiError) as raised:
        client.incidents()
    e = raised.value
    assert (e.status, e.code) == (None, "unreachable") and "cannot reach" in e.message


class Flaky(http.server.BaseHTTPRequestHandler):
    """Answers the first two batches 503 and 429, then as the API does; counts what it got."""

    calls = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Flaky.calls.append((self.headers.get("Content-Encoding"), body))
        if len(Flaky.calls) <= 2:
            status = 503 if len(Flaky.calls) == 1 else 429
            payload = {"error": {"code": "unavailable" if status == 503 else "rate_limited", "message": "busy"}}
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0")
        else:
            import gzip

            lines = gzip.decompress(body).decode().splitlines()
            payload = {"accepted": len(lines), "duplicates": 0, "rejected": []}
            self.send_response(200)
        data = json.dumps(payload).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_batches_are_sent_again_after_503_and_429():
    Flaky.calls = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        client = riskops.Client(f"http://127.0.0.1:{httpd.server_address[1]}", "t", backoff=0.01)
        summary = client.log_predictions(quickstart_logs().head(5), "p", "m", version=1)
        assert (summary.accepted, summary.batches) == (5, 1)
        assert len(Flaky.calls) == 3 and Flaky.calls[0] == Flaky.calls[2], "the same batch, sent again"
        assert Flaky.calls[0][0] == "gzip"
        Flaky.calls = []
        none = riskops.Client(f"http://127.0.0.1:{httpd.server_address[1]}", "t", retries=0)
        with pytest.raises(ApiError) as raised:
            none.log_predictions(quickstart_logs().head(5), "p", "m")
        assert (raised.value.status, raised.value.code) == (503, "unavailable")
    finally:
        httpd.shutdown()


TLS = REPO / "crates" / "server" / "tests" / "data" / "tls"


def test_https_with_a_private_ca(monkeypatch):
    """The server's certificate is from a test CA (crates/server/tests/data/tls): trusted with
    ca_cert or RISKOPS_CA_CERT, refused otherwise, as the CLI's --ca-cert."""
    monkeypatch.delenv("RISKOPS_CA_CERT", raising=False)
    running = start_server("--tls-cert", str(TLS / "cert-a.pem"), "--tls-key", str(TLS / "key-a.pem"))
    url = next(running)
    try:
        assert url.startswith("https://127.0.0.1:")
        trusted = riskops.Client(url, ADMIN_TOKEN, ca_cert=str(TLS / "ca-a.pem"))
        assert trusted.whoami()["name"] == "admin"
        monkeypatch.setenv("RISKOPS_CA_CERT", str(TLS / "ca-a.pem"))
        assert riskops.Client(url, ADMIN_TOKEN).whoami()["name"] == "admin"
        monkeypatch.delenv("RISKOPS_CA_CERT")
        for ca in (None, str(TLS / "ca-b.pem")):
            with pytest.raises(ApiError) as raised:
                riskops.Client(url, ADMIN_TOKEN, ca_cert=ca, retries=0).whoami()
            e = raised.value
            assert (e.status, e.code) == (None, "unreachable")
            assert "TLS connection" in e.message and "ca_cert" in e.message, e.message
        with pytest.raises(ValueError, match="holds no PEM certificate"):
            riskops.Client(url, ADMIN_TOKEN, ca_cert=str(TLS / "key-a.pem"))
    finally:
        running.close()
