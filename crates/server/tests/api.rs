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

#[path = "api/access.rs"]
mod access;
#[path = "api/alerting.rs"]
mod alerting;
#[path = "api/alerting_flow.rs"]
mod alerting_flow;
#[path = "api/attribution.rs"]
mod attribution;
#[path = "api/compliance.rs"]
mod compliance;
#[path = "api/console.rs"]
mod console;
#[path = "api/console_bench.rs"]
mod console_bench;
#[path = "api/console_drift.rs"]
mod console_drift;
#[path = "api/console_report.rs"]
mod console_report;
#[path = "../benches/console/seed.rs"]
mod console_seed;
#[path = "api/contract.rs"]
mod contract;
#[path = "api/endpoints.rs"]
mod endpoints;
#[path = "api/estimates.rs"]
mod estimates;
#[path = "api/exact.rs"]
mod exact;
#[path = "api/exact_views.rs"]
mod exact_views;
#[path = "api/governance.rs"]
mod governance;
#[path = "api/hardening.rs"]
mod hardening;
#[path = "api/integrity.rs"]
mod integrity;
#[path = "api/metrics.rs"]
mod metrics;
#[path = "api/monitoring.rs"]
mod monitoring;
#[path = "api/registry.rs"]
mod registry;
use registry::{csv, sha256_hex};
#[path = "api/replicas.rs"]
mod replicas;
#[path = "api/risk.rs"]
mod risk;
#[path = "api/tls.rs"]
mod tls;
#[path = "api/validation.rs"]
mod validation;

const TOKEN: &str = "test-admin-token";

/// reqwest is built without a TLS provider of its own: the process's default (ring) first.
fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

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
        endpoints: Default::default(),
        tls: None,
        drain: std::time::Duration::ZERO,
        http_listen: None,
        integrity_interval: riskops_server::DEFAULT_INTEGRITY_INTERVAL,
        // Denied requests are written at shutdown only, unless a test asks (access.rs):
        // other tests' audit trails stay as they expect.
        access: Default::default(),
        access_flush_interval: std::time::Duration::from_secs(3600),
        access_project: None,
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
            http: http().build().unwrap(),
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

/// The answer's status and JSON body, checked against what `openapi.json` says the route
/// answers with that status: every test that reads an answer checks the contract too.
async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let path = response.url().path().to_string();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    assert_eq!(content_type.as_deref(), Some("application/json"), "{status}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    if let Err(why) = contract::check(&path, status.as_u16(), &body) {
        let shown: String = body.to_string().chars().take(400).collect();
        panic!("{status} from {path} does not match openapi.json: {why}\n{shown}");
    }
    (status, body)
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
