//! What the server must survive: bodies that expand, hyper's own answers, slow clients, a
//! data directory without its folders, and webhooks aimed at internal addresses.

use super::*;
use std::io::Write as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

impl TestServer {
    /// A model `churn` with a reference dataset, and an ingest token for it.
    async fn monitored_model(&self) -> String {
        let (status, d) = self.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) = self
            .upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        self.user("collector", &["ingest@default"]).await
    }

    async fn send_batch(&self, token: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url("/api/v1/projects/default/models/churn/predictions")).bearer_auth(token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.body(body).send().await.unwrap()).await
    }

    async fn still_up(&self) {
        assert_eq!(self.get("/healthz", None).await.0, StatusCode::OK);
    }
}

fn record(i: usize, timestamp: i64) -> String {
    json!({"id": format!("r{i}"), "timestamp": timestamp, "version": "1",
           "features": {"age": 30, "income": 10.5, "segment": "a"}, "prediction": 1})
    .to_string()
}

#[tokio::test]
async fn a_body_that_expands_past_the_batch_limit_is_a_413_and_the_server_stays_up() {
    let s = TestServer::start_tweaked(tempfile::tempdir().unwrap(), |settings| settings.batch_limit = 1 << 20).await;
    let ingest = s.monitored_model().await;
    let viewer = s.user("vera", &["viewer"]).await;
    // 16 MiB of newlines compress to ~16 KB: the attack, scaled to this server's 1 MiB limit.
    let bomb = gzip(&vec![b'\n'; 16 << 20]);
    assert!(bomb.len() < 64 << 10);
    let gz = [("content-encoding", "gzip"), ("content-type", "application/x-ndjson")];

    // Nobody without the right to ingest makes the server read a body at all.
    let (status, body) = s.send_batch(&viewer, &gz, bomb.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "forbidden");

    let (status, body) = s.send_batch(&ingest, &gz, bomb.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_error(&body, "payload_too_large");
    // Without the header too: gzip is recognised by its magic bytes.
    let (status, _) = s.send_batch(&ingest, &[], bomb).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // The same size uncompressed, with and without a Content-Length.
    let (status, _) = s.send_batch(&ingest, &[], vec![b'\n'; 2 << 20]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let chunks = futures_stream(vec![vec![b'\n'; 256 << 10]; 8]);
    let req = s
        .http
        .post(s.url("/api/v1/projects/default/models/churn/predictions"))
        .bearer_auth(&ingest)
        .body(reqwest::Body::wrap_stream(chunks));
    let (status, _) = read(req.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A malformed JSON batch is the client's error.
    let (status, body) = s.send_batch(&ingest, &[("content-type", "application/json")], b"[{}".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    s.still_up().await;

    // A batch within the limits is accepted, gzipped or not; records before 1970 are refused.
    let lines = [record(1, 1_790_000_000), record(2, -1), record(3, i64::MIN)].join("\n");
    let (status, body) = s.send_batch(&ingest, &gz, gzip(lines.as_bytes())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1, "{body}");
    let reasons = body["rejected"].to_string();
    assert_eq!(body["rejected"].as_array().unwrap().len(), 2, "{body}");
    assert!(reasons.contains("before 1970"), "{body}");
}

/// A body sent in chunks, without a Content-Length.
fn futures_stream(chunks: Vec<Vec<u8>>) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    struct Chunks(std::vec::IntoIter<Vec<u8>>);
    impl futures_core::Stream for Chunks {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next().map(Ok))
        }
    }
    Chunks(chunks.into_iter())
}

#[tokio::test]
async fn more_records_than_a_batch_may_hold_are_refused_while_they_are_read() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    let ingest = s.monitored_model().await;
    let many = format!("[{}{{}}]", "{},".repeat(riskops_core::service::MAX_BATCH));
    let (status, body) = s.send_batch(&ingest, &[("content-type", "application/json")], many.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let lines = "{}\n".repeat(riskops_core::service::MAX_BATCH + 1);
    let (status, body) = s.send_batch(&ingest, &[], lines.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let labels = format!("[{}]", vec![r#"{"id":"x","label":1}"#; riskops_core::service::MAX_BATCH + 1].join(","));
    let req = s.http.post(s.url("/api/v1/projects/default/models/churn/labels")).bearer_auth(&ingest).body(labels);
    let (status, body) = read(req.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

/// Writes `request` on a fresh connection and reads the answer until the server closes it.
async fn raw_exchange(s: &TestServer, request: &[u8]) -> String {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn errors_hyper_answers_itself_are_json_too() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    let long = format!("GET /api/v1/{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000));
    let answer = raw_exchange(&s, long.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_error(&body, "uri_too_long");

    let garbage = raw_exchange(&s, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    let body: Value = serde_json::from_str(garbage.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_error(&body, "bad_request");
    s.still_up().await;
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let started = std::time::Instant::now();
    let mut closed = false;
    // A header line every second: the server gives up at its header-read timeout (10 s).
    for i in 0..30 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if tcp.write_all(format!("x-slow-{i}: 1\r\n").as_bytes()).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 1];
        // An answer (hyper's 408) or the end of the stream: either way the server gave up.
        if let Ok(Ok(_)) = tokio::time::timeout(std::time::Duration::from_millis(1), tcp.read(&mut buf)).await {
            closed = true;
            break;
        }
    }
    assert!(closed, "the connection was still open after 30 s of trickled headers");
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_data_dir_without_its_folders_is_made_whole_and_leftovers_of_a_crash_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_on(dir, None, 64 * 1024).await;
    let ingest = s.monitored_model().await;
    let (dir, _) = s.stop().await;
    // A killed server's leftovers: a half-received upload and an object no row points to.
    std::fs::write(dir.path().join("tmp/upload-cut-off"), b"half").unwrap();
    let orphan = dir.path().join("artifacts/sha256/ab").join("ab".repeat(32));
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(orphan.parent().unwrap())
        .unwrap();
    std::fs::write(&orphan, b"orphan").unwrap();
    let s = TestServer::start_on(dir, None, 64 * 1024).await;
    let tmp = s._dir.path().join("tmp");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "tmp/ is emptied at start");
    assert!(!orphan.exists(), "the unreferenced object is removed at start");
    assert_eq!(s.artifact_count(), 2, "the dataset and the model stay");

    // Someone removes tmp/ while the server runs: ingestion makes it again.
    std::fs::remove_dir_all(&tmp).unwrap();
    let (status, body) = s.send_batch(&ingest, &[], record(1, 1_790_000_000).into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1, "{body}");

    // Everything riskops wrote is its user's only.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = s._dir.path();
    for d in [root.to_path_buf(), root.join("artifacts"), root.join("tmp")] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    let mut files = 0;
    for shard in std::fs::read_dir(root.join("artifacts/sha256")).unwrap() {
        let shard = shard.unwrap().path();
        assert_eq!(mode(&shard), 0o700, "{}", shard.display());
        for f in std::fs::read_dir(&shard).unwrap() {
            let f = f.unwrap().path();
            assert_eq!(mode(&f), 0o600, "{}", f.display());
            files += 1;
        }
    }
    assert_eq!(files, 3, "dataset, model and the segment of the batch");
}

#[tokio::test]
async fn a_failure_of_storage_shows_no_server_path() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    let ingest = s.monitored_model().await;
    // The artifact folder becomes unusable: the answer is a 503 that names nothing of the server.
    let artifacts = s._dir.path().join("artifacts/sha256");
    std::fs::remove_dir_all(&artifacts).unwrap();
    std::fs::write(&artifacts, b"not a folder").unwrap();
    let (status, body) = s.send_batch(&ingest, &[], record(1, 1_790_000_000).into_bytes()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.contains(s._dir.path().to_str().unwrap()) && !message.contains('/'), "{message}");
}

#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_unless_the_server_allows_them() {
    let s = TestServer::start_tweaked(tempfile::tempdir().unwrap(), |settings| {
        settings.alerting.webhook_allow_hosts = vec!["127.0.0.2:9000".into()];
    })
    .await;
    let hook = |url: &str| json!({"url": url, "secret": "a-secret-of-16+bytes"});
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]:9000/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/x",
        "http://127.0.0.2:9001/other-port",
    ] {
        let (status, body) = s.post("/api/v1/projects/default/webhooks", hook(url)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("--webhook-allow-host"), "{body}");
    }
    let (status, body) = s.post("/api/v1/projects/default/webhooks", hook("http://127.0.0.2:9000/allowed")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s.post("/api/v1/projects/default/webhooks", hook("https://hooks.example.com/x")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_second_replica_with_a_fresh_data_dir_ingests_at_once() {
    let Some(schema) = PostgresSchema::create().await.unwrap() else { return };
    let first = TestServer::start_on(tempfile::tempdir().unwrap(), Some(schema), 64 * 1024).await;
    let ingest = first.monitored_model().await;
    // A new replica: same database, an empty data directory it has never seen (no tmp/).
    let fresh = tempfile::tempdir().unwrap();
    let mut settings = test_settings(fresh.path(), first._schema.as_ref(), 64 * 1024, None);
    settings.bootstrap_token = None;
    let second = TestServer::start_settings(fresh, None, settings, Arc::new(SystemClock)).await;
    let (status, body) = second.send_batch(&ingest, &[], record(1, 1_790_000_000).into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1, "{body}");
    second.stop().await;
    first.stop().await;
}
