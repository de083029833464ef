//! The HTTP API against a real server on port 0, on SQLite and (when
//! `RISKOPS_TEST_POSTGRES_URL` is set) PostgreSQL. One test binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::StatusCode;
use riskops_core::clock::SystemClock;
use riskops_core::secret::Secret;
use riskops_server::{Running, Settings};
use riskops_store::testing::PostgresSchema;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::oneshot;

#[path = "api/alerting.rs"]
mod alerting;
#[path = "api/alerting_flow.rs"]
mod alerting_flow;
#[path = "api/compliance.rs"]
mod compliance;
#[path = "api/governance.rs"]
mod governance;
#[path = "api/hardening.rs"]
mod hardening;
#[path = "api/metrics.rs"]
mod metrics;
#[path = "api/monitoring.rs"]
mod monitoring;
#[path = "api/risk.rs"]
mod risk;

const TOKEN: &str = "test-admin-token";

/// The settings every test server starts with.
fn test_settings(
    dir: &Path,
    schema: Option<&PostgresSchema>,
    body_limit: usize,
    artifact_store: Option<riskops_s3::S3Config>,
) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url: schema.as_ref().map(|s| Secret::new(s.url().to_string())),
        bootstrap_token: Some(Secret::new(TOKEN.to_string())),
        body_limit,
        upload_limit: 1 << 20,
        batch_limit: riskops_server::DEFAULT_BATCH_LIMIT,
        artifact_store,
        signing_key_file: None,
        checkpoint_interval: riskops_server::DEFAULT_CHECKPOINT_INTERVAL,
        // Monitors judge windows quickly, so alerting tests need not wait.
        alerting: riskops_server::AlertingSettings {
            interval: std::time::Duration::from_millis(100),
            quiet: std::time::Duration::from_secs(1),
            // The tests' receivers listen on loopback.
            webhook_allow_hosts: vec!["127.0.0.1".into()],
        },
    }
}

/// A running server and what keeps its storage alive.
struct TestServer {
    base: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    running: Option<Running>,
    _dir: tempfile::TempDir,
    _schema: Option<PostgresSchema>,
}

impl TestServer {
    async fn start_on(dir: tempfile::TempDir, schema: Option<PostgresSchema>, body_limit: usize) -> TestServer {
        Self::start_with(dir, schema, body_limit, None).await
    }

    async fn start_with(
        dir: tempfile::TempDir,
        schema: Option<PostgresSchema>,
        body_limit: usize,
        artifact_store: Option<riskops_s3::S3Config>,
    ) -> TestServer {
        Self::start_clocked(dir, schema, body_limit, artifact_store, Arc::new(SystemClock)).await
    }

    async fn start_clocked(
        dir: tempfile::TempDir,
        schema: Option<PostgresSchema>,
        body_limit: usize,
        artifact_store: Option<riskops_s3::S3Config>,
        clock: Arc<dyn riskops_core::clock::Clock>,
    ) -> TestServer {
        let settings = test_settings(dir.path(), schema.as_ref(), body_limit, artifact_store);
        Self::start_settings(dir, schema, settings, clock).await
    }

    /// A server on SQLite with the usual test settings changed by `tweak`.
    async fn start_tweaked(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Settings)) -> TestServer {
        let mut settings = test_settings(dir.path(), None, 64 * 1024, None);
        tweak(&mut settings);
        Self::start_settings(dir, None, settings, Arc::new(SystemClock)).await
    }

    async fn start_settings(
        dir: tempfile::TempDir,
        schema: Option<PostgresSchema>,
        settings: Settings,
        clock: Arc<dyn riskops_core::clock::Clock>,
    ) -> TestServer {
        let (stop, stopped) = oneshot::channel::<()>();
        let running = riskops_server::start(settings, clock, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
        TestServer {
            base: format!("http://{}", running.local_addr),
            http: reqwest::Client::new(),
            stop: Some(stop),
            running: Some(running),
            _dir: dir,
            _schema: schema,
        }
    }

    async fn stop(mut self) -> (tempfile::TempDir, Option<PostgresSchema>) {
        let _ = self.stop.take().unwrap().send(());
        self.running.take().unwrap().finished().await.unwrap();
        (self._dir, self._schema)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.unwrap()).await
    }

    async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
        let req = self.http.post(self.url(path)).bearer_auth(TOKEN).header("content-type", "application/json");
        read(req.body(body).send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(path, body.to_string()).await
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    assert_eq!(content_type.as_deref(), Some("application/json"), "{status}: {text}");
    (status, serde_json::from_str(&text).unwrap())
}

/// Servers on every backend available in this run.
async fn servers() -> Vec<TestServer> {
    let mut all = vec![TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await];
    if let Some(schema) = PostgresSchema::create().await.unwrap() {
        all.push(TestServer::start_on(tempfile::tempdir().unwrap(), Some(schema), 64 * 1024).await);
    }
    all
}

/// Like [`servers`], each on its own clock that the test moves.
async fn servers_clocked() -> Vec<(TestServer, Arc<riskops_core::clock::ManualClock>)> {
    let start = || Arc::new(riskops_core::clock::ManualClock::new(time::macros::datetime!(2026-10-01 00:00 UTC)));
    let c = start();
    let mut all =
        vec![(TestServer::start_clocked(tempfile::tempdir().unwrap(), None, 64 * 1024, None, c.clone()).await, c)];
    if let Some(schema) = PostgresSchema::create().await.unwrap() {
        let c = start();
        all.push((
            TestServer::start_clocked(tempfile::tempdir().unwrap(), Some(schema), 64 * 1024, None, c.clone()).await,
            c,
        ));
    }
    all
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn healthz_needs_no_token_and_names_the_store() {
    let expected = ["sqlite", "postgres"];
    for (i, s) in servers().await.into_iter().enumerate() {
        let (status, body) = s.get("/healthz", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "store": expected[i]}));
    }
}

#[tokio::test]
async fn whoami_needs_a_valid_bearer_token() {
    for s in servers().await {
        let (status, body) = s.get("/api/v1/whoami", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"name": "admin", "kind": "user", "roles": ["admin"]}));

        let (status, body) = s.get("/api/v1/whoami", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_error(&body, "unauthorized");

        let (status, body) = s.get("/api/v1/whoami", Some("wrong-token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_error(&body, "unauthorized");

        let basic = s.http.get(s.url("/api/v1/whoami")).header("authorization", "Basic YWRtaW46eA==");
        let (status, body) = read(basic.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_error(&body, "unauthorized");
    }
}

#[tokio::test]
async fn every_api_route_refuses_a_request_without_a_token() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 1024).await;
    let doc = riskops_server::openapi();
    for (path, item) in doc.paths.paths.iter() {
        let public = ["/api/v1/openapi.json", "/api/v1/login", "/api/v1/signing-key"];
        if !path.starts_with("/api/v1/") || public.contains(&path.as_str()) {
            continue;
        }
        let concrete = path.replace("{name}", "default");
        for (method, _) in [("GET", &item.get), ("POST", &item.post)].into_iter().filter(|(_, op)| op.is_some()) {
            let req =
                s.http.request(method.parse().unwrap(), s.url(&concrete)).header("content-type", "application/json");
            let (status, body) = read(req.body("{}").send().await.unwrap()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_error(&body, "unauthorized");
        }
    }
}

#[tokio::test]
async fn openapi_is_version_3_and_lists_every_route() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 1024).await;
    let (status, doc) = s.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    for route in ["/healthz", "/api/v1/whoami", "/api/v1/openapi.json", "/api/v1/projects", "/api/v1/projects/{name}"] {
        assert!(paths.contains(&route), "{route} missing from {paths:?}");
    }
    assert!(doc["paths"]["/api/v1/projects"]["post"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Every route the server answers is in the document: an unknown one is a 404.
    let (status, _) = s.get("/api/v1/not-a-route", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn errors_have_the_right_status_and_json_shape() {
    for s in servers().await {
        let (status, body) = s.get("/no/such/route", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_error(&body, "not_found");

        let (status, body) = s.post_raw("/api/v1/projects", "{\"name\": ").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_error(&body, "bad_request");

        let (status, body) = s.post_raw("/api/v1/projects", vec![b'x'; 100 * 1024]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_error(&body, "payload_too_large");

        // Over the limit without a Content-Length (chunked) is refused too.
        let chunks = futures_stream(vec![vec![b' '; 40 * 1024], vec![b' '; 40 * 1024]]);
        let (status, body) = s.post_raw("/api/v1/projects", chunks).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_error(&body, "payload_too_large");

        let (status, body) = s.post("/api/v1/projects", json!({"name": "bad name!"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_error(&body, "invalid_field");
        assert_eq!(body["error"]["field"], "name");

        let (status, body) = s.post("/api/v1/projects", json!({"name": 5})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_error(&body, "invalid_field");

        let (status, body) = s.get("/api/v1/projects/nope", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_error(&body, "not_found");

        let (status, body) =
            read(s.http.delete(s.url("/api/v1/projects")).bearer_auth(TOKEN).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_error(&body, "method_not_allowed");

        let wrong_type = s.http.post(s.url("/api/v1/projects")).bearer_auth(TOKEN).header("content-type", "text/plain");
        let (status, body) = read(wrong_type.body("{}").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_error(&body, "bad_request");

        // Nothing above created anything.
        let (_, list) = s.get("/api/v1/projects", Some(TOKEN)).await;
        assert_eq!(list["projects"].as_array().unwrap().len(), 1, "{list}");
    }
}

fn futures_stream(chunks: Vec<Vec<u8>>) -> reqwest::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::spawn(async move {
        for c in chunks {
            if tx.send(Ok(c)).await.is_err() {
                break;
            }
        }
    });
    reqwest::Body::wrap_stream(ReceiverStream(rx))
}

/// A minimal `Stream` over an mpsc receiver (avoids a dependency for one test).
struct ReceiverStream(tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>);

impl futures_core::Stream for ReceiverStream {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[tokio::test]
async fn a_body_naming_a_key_twice_is_refused_and_changes_nothing() {
    for s in servers().await {
        let before = s.audit_head().await;
        // Typed fields refuse a second value already; free-form JSON (a policy, a model's
        // params) would keep the last one silently, and the audit would record a reading.
        let policy = riskops_core::governance::Policy::default_policy().to_json().to_string();
        let twice = format!(r#"{{"tiers":{{}},{}"#, &policy[1..]);
        let req = s.http.put(s.url("/api/v1/policy")).bearer_auth(TOKEN).header("content-type", "application/json");
        let (status, body) = read(req.body(twice).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_error(&body, "bad_request");
        assert!(body["error"]["message"].as_str().unwrap().contains("duplicate key \"tiers\""), "{body}");
        let metadata = r#"{"params":{"depth":4,"depth":5}}"#;
        let form = reqwest::multipart::Form::new()
            .part("metadata", reqwest::multipart::Part::text(metadata))
            .part("file", reqwest::multipart::Part::bytes(b"model".to_vec()).file_name("m.bin"));
        let req = s.http.post(s.url("/api/v1/models/twice/versions")).bearer_auth(TOKEN).multipart(form);
        let (status, body) = read(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("duplicate key \"depth\""), "{body}");
        assert_eq!(s.audit_head().await, before, "a refused body changes nothing");
        s.stop().await;
    }
}

#[tokio::test]
async fn projects_are_created_listed_shown_and_conflicts_refused() {
    for s in servers().await {
        let (status, made) =
            s.post("/api/v1/projects", json!({"name": "credit-scoring", "description": "retail"})).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["name"], "credit-scoring");
        assert_eq!(made["created_by"], "admin");

        let (status, body) = s.post("/api/v1/projects", json!({"name": "credit-scoring"})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_error(&body, "conflict");

        let (status, shown) = s.get("/api/v1/projects/credit-scoring", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(shown, made);

        let (_, list) = s.get("/api/v1/projects", Some(TOKEN)).await;
        let names: Vec<&str> =
            list["projects"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["credit-scoring", "default"]);
    }
}

#[tokio::test]
async fn a_restart_keeps_everything_and_creates_no_second_admin() {
    let mut backends: Vec<(tempfile::TempDir, Option<PostgresSchema>)> = vec![(tempfile::tempdir().unwrap(), None)];
    if let Some(schema) = PostgresSchema::create().await.unwrap() {
        backends.push((tempfile::tempdir().unwrap(), Some(schema)));
    }
    for (dir, schema) in backends {
        let s = TestServer::start_on(dir, schema, 1024).await;
        let (status, _) = s.post("/api/v1/projects", json!({"name": "kept"})).await;
        assert_eq!(status, StatusCode::CREATED);
        let (dir, schema) = s.stop().await;

        let again = TestServer::start_on(dir, schema, 1024).await;
        assert!(matches!(
            again.running.as_ref().unwrap().bootstrap,
            riskops_core::service::BootstrapOutcome::AlreadyInitialised
        ));
        let (status, _) = again.get("/api/v1/projects/kept", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        let (_, me) = again.get("/api/v1/whoami", Some(TOKEN)).await;
        assert_eq!(me["name"], "admin");
        let events = audit_actions(&again).await;
        assert_eq!(events.iter().filter(|a| a.as_str() == "identity.create").count(), 1, "{events:?}");
        if again._schema.is_none() {
            assert!(Path::new(&again._dir.path().join("artifacts")).is_dir());
        }
    }
}

/// The actions in the audit trail, read straight from the store the server uses.
async fn audit_actions(s: &TestServer) -> Vec<String> {
    let url = s._schema.as_ref().map(|schema| schema.url().to_string());
    let store = riskops_store::open(url.as_deref(), s._dir.path()).await.unwrap();
    store.audit_events(0, 1000).await.unwrap().into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn the_signing_key_is_public_and_survives_a_restart() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 1024).await;
    let (status, key) = s.get("/api/v1/signing-key", None).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["algorithm"], "ed25519");
    let public = riskops_core::signing::PublicKey::from_hex(key["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(key["key_id"], public.key_id());
    assert!(s._dir.path().join(riskops_server::signing::KEY_FILE_NAME).is_file());

    // A write is signed into a checkpoint within moments, without waiting for the tick.
    assert_eq!(s.post("/api/v1/projects", json!({"name": "signed"})).await.0, StatusCode::CREATED);
    let mut report = Value::Null;
    for _ in 0..50 {
        report = s.get(&format!("/api/v1/audit/verify?public_key={}", public.to_hex()), Some(TOKEN)).await.1;
        if report["unsigned_tail"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        (&report["ok"], &report["checkpoint"]["seq"], &report["unsigned_tail"]),
        (&json!(true), &json!(3), &json!(0)),
        "{report}"
    );
    let (status, bad) = s.get("/api/v1/audit/verify?public_key=abc", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&bad, "invalid_field");
    let (_, list) = s.get("/api/v1/audit/checkpoints", Some(TOKEN)).await;
    assert_eq!(list["checkpoints"].as_array().unwrap().last().unwrap()["public_key"], key["public_key"]);

    let (dir, _) = s.stop().await;
    let again = TestServer::start_on(dir, None, 1024).await;
    assert_eq!(again.get("/api/v1/signing-key", None).await.1, key);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 1024).await;
    let generated = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert!(generated.headers().get("x-request-id").is_some_and(|v| v.len() >= 16));
    let chosen = s.http.get(s.url("/nope")).header("x-request-id", "my-id-42").send().await.unwrap();
    assert_eq!(chosen.headers().get("x-request-id").unwrap(), "my-id-42");
}

// ---- the registry -------------------------------------------------------------------

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    // The server's digest must equal `sha256sum`; compute it independently with the store's hasher.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, bytes).unwrap();
    let (digest, _) = riskops_store::artifacts::hash_file(&path).unwrap();
    let mut out = String::new();
    write!(out, "{digest}").unwrap();
    out
}

impl TestServer {
    async fn upload(&self, path: &str, metadata: Value, file: Vec<u8>) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .part("metadata", reqwest::multipart::Part::text(metadata.to_string()))
            .part("file", reqwest::multipart::Part::bytes(file).file_name("data.csv"));
        read(self.http.post(self.url(path)).bearer_auth(TOKEN).multipart(form).send().await.unwrap()).await
    }

    fn artifact_count(&self) -> usize {
        let root = self._dir.path().join("artifacts/sha256");
        std::fs::read_dir(&root)
            .map(|dirs| {
                dirs.filter_map(Result::ok).map(|d| std::fs::read_dir(d.path()).map(|f| f.count()).unwrap_or(0)).sum()
            })
            .unwrap_or(0)
    }
}

fn csv(rows: usize, shift: f64) -> Vec<u8> {
    let mut text = String::from("age,income,segment\n");
    for i in 0..rows {
        text.push_str(&format!("{},{},{}\n", 20 + i % 50, (i as f64) * 1.5 + shift, ["a", "b", "c"][i % 3]));
    }
    text.into_bytes()
}

#[tokio::test]
async fn datasets_are_content_addressed_versions_with_schema_and_profile() {
    for s in servers().await {
        let bytes = csv(300, 0.0);
        let (status, v1) =
            s.upload("/api/v1/datasets/customers/versions", json!({"description": "first"}), bytes.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{v1}");
        assert_eq!(v1["version"], 1);
        assert_eq!(v1["project"], "default");
        assert_eq!(v1["digest"], sha256_hex(&bytes));
        assert_eq!(v1["rows"], 300);
        let types: Vec<(&str, &str)> = v1["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
            .collect();
        assert_eq!(types, [("age", "numerical"), ("income", "numerical"), ("segment", "categorical")]);
        let income = &v1["profile"]["columns"][1];
        assert_eq!(income["count"], 300);
        assert_eq!(income["min"], 0.0);
        assert_eq!(income["max"], 448.5);
        assert!((income["mean"].as_f64().unwrap() - 224.25).abs() < 1e-9);

        // The same bytes again: the same version, nothing new stored.
        let stored = s.artifact_count();
        let (status, again) = s.upload("/api/v1/datasets/customers/versions", json!({}), bytes.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((again["version"].clone(), s.artifact_count()), (json!(1), stored));

        let (status, v2) =
            s.upload("/api/v1/datasets/customers/versions", json!({"tags": {"month": "june"}}), csv(300, 9.0)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!((v2["version"].clone(), v2["tags"]["month"].clone()), (json!(2), json!("june")));

        // Pull returns the exact bytes of a version, with its digest.
        let response =
            s.http.get(s.url("/api/v1/datasets/customers/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.headers()["x-riskops-digest"], v1["digest"].as_str().unwrap());
        assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

        let (status, list) = s.get("/api/v1/datasets", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["items"][0]["latest_version"], 2);
        let (status, latest) = s.get("/api/v1/datasets/customers/versions/latest", Some(TOKEN)).await;
        assert_eq!((status, latest["version"].clone()), (StatusCode::OK, json!(2)));
        let (status, body) = s.get("/api/v1/datasets/customers/versions/7", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_error(&body, "not_found");
    }
}

#[tokio::test]
async fn bad_pushes_are_refused_and_store_nothing() {
    for s in servers().await {
        let (status, _) = s.post("/api/v1/projects", json!({"name": "other"})).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = s.upload("/api/v1/datasets/owned/versions", json!({"project": "other"}), csv(10, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED);
        let stored = s.artifact_count();

        let cases: Vec<(&str, Value, Vec<u8>, StatusCode, &str)> = vec![
            (
                "/api/v1/datasets/bad%20name/versions",
                json!({}),
                csv(5, 0.0),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "/api/v1/datasets/x/versions",
                json!({"project": "nope"}),
                csv(5, 0.0),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "/api/v1/datasets/owned/versions",
                json!({"project": "default"}),
                csv(5, 1.0),
                StatusCode::CONFLICT,
                "conflict",
            ),
            ("/api/v1/datasets/x/versions", json!({}), Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            (
                "/api/v1/datasets/x/versions",
                json!({}),
                b"a,b\n1,2\n3\n".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "/api/v1/datasets/x/versions",
                json!({}),
                b"a,b\n".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "/api/v1/datasets/x/versions",
                json!({"colour": 1}),
                csv(5, 0.0),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "/api/v1/datasets/x/versions",
                json!({}),
                vec![b'1'; 2 << 20],
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
        ];
        for (path, metadata, file, expected, code) in cases {
            let (status, body) = s.upload(path, metadata.clone(), file).await;
            assert_eq!(status, expected, "{path} {metadata}: {body}");
            assert_error(&body, code);
        }
        assert_eq!(s.artifact_count(), stored, "a refused push left an artifact");
        let (_, list) = s.get("/api/v1/datasets", Some(TOKEN)).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        // No half-received upload stays behind either.
        let leftovers = std::fs::read_dir(s._dir.path().join("tmp")).map(|d| d.count()).unwrap_or(0);
        assert_eq!(leftovers, 0);
    }
}

#[tokio::test]
async fn a_corrupted_artifact_is_reported_and_never_served() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    let (_, v) = s.upload("/api/v1/datasets/d/versions", json!({}), csv(20, 0.0)).await;
    let hex = v["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let stored = s._dir.path().join("artifacts/sha256").join(&hex[..2]).join(&hex);
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&stored, bytes).unwrap();
    let (status, body) =
        read(s.http.get(s.url("/api/v1/datasets/d/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, "integrity_error");
    assert!(body["error"]["message"].as_str().unwrap().contains(&hex), "{body}");
}

/// An ONNX fixture of riskops-model's tests (made from real data by its committed script).
fn onnx_fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data").join(name)).unwrap()
}

#[tokio::test]
async fn onnx_models_are_loaded_at_registration_and_keep_their_signature() {
    for s in servers().await {
        let stored = s.artifact_count();
        // An operator riskops cannot run: 422 naming it, and nothing stored.
        let svc = onnx_fixture("credit_svc_unsupported.onnx");
        let (status, body) = s.upload("/api/v1/models/svc/versions", json!({"framework": "onnx"}), svc).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "artifact");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("SVMClassifier (domain ai.onnx.ml)"), "{message}");
        // Bytes that are not a model at all.
        let (status, body) =
            s.upload("/api/v1/models/svc/versions", json!({"framework": "onnx"}), b"not a model".to_vec()).await;
        assert_eq!((status, body["error"]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("artifact")));
        assert!(!body["error"]["message"].as_str().unwrap().contains('/'), "no server path: {body}");
        assert_eq!(s.artifact_count(), stored);
        let (status, _) = s.get("/api/v1/models/svc/versions", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // A pipeline with one input per column: the signature lists them, typed.
        let (status, m) = s
            .upload("/api/v1/models/adult/versions", json!({"framework": "onnx"}), onnx_fixture("adult_logreg.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let (status, shown) = s.get("/api/v1/models/adult/versions/1", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(shown["signature"], m["signature"]);
        let sig = &shown["signature"];
        assert_eq!(sig["inputs"][0], json!({"name": "age", "type": "float", "shape": [null, 1]}));
        assert_eq!(sig["inputs"].as_array().unwrap().iter().filter(|i| i["type"] == "string").count(), 7);
        assert_eq!(
            sig["outputs"],
            json!({"label": "output_label", "probabilities": {"name": "output_probability", "classes": ["0", "1"]}})
        );
        assert_eq!((sig["task"].as_str(), sig["columns"].as_str()), (Some("classification"), Some("one_per_input")));

        // Other frameworks are stored as they are, without a signature.
        let (status, m) =
            s.upload("/api/v1/models/opaque/versions", json!({"framework": "other"}), b"m".to_vec()).await;
        assert_eq!((status, m["signature"].clone()), (StatusCode::CREATED, Value::Null));
    }
}

#[tokio::test]
async fn models_record_their_data_and_code_and_lineage_follows_both_ways() {
    for s in servers().await {
        s.upload("/api/v1/datasets/train/versions", json!({}), csv(50, 0.0)).await;
        s.upload("/api/v1/datasets/holdout/versions", json!({}), csv(20, 1.0)).await;
        let stored = s.artifact_count();
        let (status, body) =
            s.upload("/api/v1/models/churn/versions", json!({"training_data": "train@9"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "training_data");
        let (status, body) = s
            .upload(
                "/api/v1/models/churn/versions",
                json!({"code_repo": "https://x/y.git", "code_commit": "main"}),
                b"m".to_vec(),
            )
            .await;
        assert_eq!((status, body["error"]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("code_commit")));
        assert_eq!(s.artifact_count(), stored);

        let metadata = json!({
            "framework": "other", "training_data": "train@1", "validation_data": "holdout",
            "code_repo": "https://git.example.com/churn.git", "code_commit": "9f1c2ab",
            "params": {"depth": 6}, "metrics": {"auc": 0.8}, "description": "first model",
        });
        let (status, m) = s.upload("/api/v1/models/churn/versions", metadata, b"onnx-bytes".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        assert_eq!((m["version"].clone(), m["author"].clone()), (json!(1), json!("admin")));
        assert_eq!((m["training_data"].as_str(), m["validation_data"].as_str()), (Some("train@1"), Some("holdout@1")));
        assert_eq!(m["digest"], sha256_hex(b"onnx-bytes"));

        let (status, lineage) = s.get("/api/v1/lineage/model/churn/1", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        let edges: Vec<(String, String, String)> = lineage["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["from"].as_str().unwrap().into(),
                    e["to"].as_str().unwrap().into(),
                    e["relation"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            edges,
            [
                ("dataset:train@1".into(), "model:churn@1".into(), "trained_on".into()),
                ("dataset:holdout@1".into(), "model:churn@1".into(), "validated_on".into()),
                ("code:https://git.example.com/churn.git@9f1c2ab".into(), "model:churn@1".into(), "built_from".into()),
            ]
        );
        let kinds: Vec<&str> =
            lineage["nodes"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["model", "dataset", "dataset", "code"]);

        let (_, downstream) = s.get("/api/v1/lineage/dataset/train/1", Some(TOKEN)).await;
        assert!(downstream["edges"].as_array().unwrap().iter().any(|e| e["to"] == "model:churn@1"));

        let (_, events) = s.get("/api/v1/lineage/model/churn/1?format=openlineage", Some(TOKEN)).await;
        let event = &events[0];
        assert_eq!(event["eventType"], "COMPLETE");
        assert_eq!(event["run"]["runId"].as_str().unwrap().len(), 36);
        assert_eq!(event["outputs"][0]["name"], "model/churn@1");
        assert_eq!(event["inputs"].as_array().unwrap().len(), 2);

        let actions = audit_actions(&s).await;
        assert_eq!(actions.iter().filter(|a| a.as_str() == "model.register").count(), 1, "{actions:?}");
        assert_eq!(actions.iter().filter(|a| a.as_str() == "dataset.push").count(), 2, "{actions:?}");
    }
}

#[tokio::test]
async fn versions_take_tags_and_notes_without_changing_their_content() {
    for s in servers().await {
        let (_, v) = s.upload("/api/v1/datasets/tagged/versions", json!({"tags": {"a": "1"}}), csv(10, 0.0)).await;
        let (status, tags) =
            s.post("/api/v1/datasets/tagged/versions/1/tags", json!({"tags": {"b": "2", "a": "3"}})).await;
        assert_eq!(status, StatusCode::OK, "{tags}");
        assert_eq!(tags["tags"], json!({"a": "3", "b": "2"}));
        let (status, note) =
            s.post("/api/v1/datasets/tagged/versions/1/notes", json!({"text": "checked by risk"})).await;
        assert_eq!((status, note["created_by"].clone()), (StatusCode::CREATED, json!("admin")));
        let (_, notes) = s.get("/api/v1/datasets/tagged/versions/1/notes", Some(TOKEN)).await;
        assert_eq!(notes["notes"][0]["text"], "checked by risk");
        let (_, after) = s.get("/api/v1/datasets/tagged/versions/1", Some(TOKEN)).await;
        assert_eq!((after["digest"].clone(), after["tags"]["b"].clone()), (v["digest"].clone(), json!("2")));

        let (status, body) = s.post("/api/v1/datasets/tagged/versions/9/tags", json!({"tags": {"x": "y"}})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_error(&body, "not_found");
        let (status, body) = s.post("/api/v1/models/nope/versions/1/notes", json!({"text": ""})).await;
        assert_eq!((status, body["error"]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("text")));
        let actions = audit_actions(&s).await;
        assert!(
            actions.contains(&"dataset.tag".to_string()) && actions.contains(&"dataset.note".to_string()),
            "{actions:?}"
        );
    }
}

/// With `RISKOPS_TEST_S3_ENDPOINT` (moto in CI), the registry stories run with artifacts in S3.
async fn s3_bucket() -> Option<riskops_s3::S3Config> {
    let endpoint = std::env::var("RISKOPS_TEST_S3_ENDPOINT").ok()?;
    let token = riskops_core::auth::generate_token().unwrap();
    let bucket = format!("riskops-{}", &token.expose()[4..16]);
    let config = riskops_s3::S3Config::new(bucket)
        .with_endpoint(endpoint)
        .with_credentials("test", "test-secret")
        .with_allow_http(true)
        .with_prefix("artifacts");
    riskops_s3::S3Client::new(config.clone()).unwrap().create_bucket().await.unwrap();
    Some(config)
}

#[tokio::test]
async fn the_registry_works_with_artifacts_in_s3() {
    let Some(config) = s3_bucket().await else {
        eprintln!("skipped: RISKOPS_TEST_S3_ENDPOINT is not set");
        return;
    };
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), None, 64 * 1024, Some(config.clone())).await;
    let bytes = csv(200, 0.0);
    let (status, v) = s.upload("/api/v1/datasets/s3data/versions", json!({}), bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(s.artifact_count(), 0, "nothing goes to the local folder");
    let response =
        s.http.get(s.url("/api/v1/datasets/s3data/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    // Replace the object in the bucket: the next pull is an integrity error, not the bytes.
    let hex = v["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let key = format!("artifacts/sha256/{}/{hex}", &hex[..2]);
    let client = riskops_s3::S3Client::new(config).unwrap();
    client.put_object(&key, bytes::Bytes::from_static(b"tampered")).await.unwrap();
    let (status, body) =
        read(s.http.get(s.url("/api/v1/datasets/s3data/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap())
            .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, "integrity_error");
}
