//! Seeds a riskops data directory at portfolio scale and times the console's pages.
//!
//! Shared by the release bench (`cargo bench -p riskops-server --bench console`: 200
//! models, a year of hourly windows each) and a small smoke test in the API tests, so the
//! bench's code is built and run by every test run.
//!
//! How: a first server (alerting every 200 ms) gets projects, users, models, promotions and
//! risk entries through the API, 24 hours of real prediction traffic with labels for one
//! model (the templates: every seeded window is a copy of one of these states, made by the
//! real ingest path), and drifted traffic in the last hour for a few models, which the
//! monitors turn into incidents. It stops; the year of windows is then written straight
//! through the store (one transaction per model), and a second server, which evaluates
//! monitors once at start and then hourly (so the history is not judged while the pages
//! are timed), answers the timed requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use riskops_core::Riskops;
use riskops_core::action::Action;
use riskops_core::audit::AuditRecord;
use riskops_core::auth::{Operation, Scope};
use riskops_core::clock::SystemClock;
use riskops_core::monitoring::{IngestWrite, SeriesRow, WindowWrite};
use riskops_core::secret::Secret;
use riskops_core::service::RequestContext;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-admin-token-0123456789";
const HOUR: i64 = 3600;
const MODELS_PER_PROJECT: usize = 10;
const TEMPLATE_HOURS: i64 = 24;
const RECORDS_PER_HOUR: usize = 150;
const FEATURES: usize = 8;
/// Hours of drifted traffic: the tier monitors want up to three windows in a row.
const DRIFTED_HOURS: i64 = 3;

/// How much to seed.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub models: usize,
    /// Hourly windows per model, ending with the last full hour.
    pub days: i64,
    /// Models that get drifted traffic in the last hour (and so incidents).
    pub incident_models: usize,
    /// Timed requests per page (after one untimed).
    pub requests: usize,
}

/// One page's times, in milliseconds.
pub struct Timing {
    pub page: String,
    pub path: String,
    pub target_ms: f64,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub bytes: usize,
}

/// A running server over the seeded directory.
pub struct Seeded {
    pub dir: tempfile::TempDir,
    pub base: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub running: riskops_server::Running,
    pub windows: usize,
    pub seed_time: Duration,
}

fn settings(dir: &Path, alerting_every: Duration) -> riskops_server::Settings {
    riskops_server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url: None,
        bootstrap_token: Some(Secret::new(TOKEN.to_string())),
        body_limit: 1 << 20,
        upload_limit: 1 << 24,
        batch_limit: riskops_server::DEFAULT_BATCH_LIMIT,
        artifact_store: None,
        signing_key_file: None,
        checkpoint_interval: riskops_server::DEFAULT_CHECKPOINT_INTERVAL,
        alerting: riskops_server::AlertingSettings {
            interval: alerting_every,
            quiet: Duration::from_secs(1),
            webhook_allow_hosts: Vec::new(),
        },
        endpoints: Default::default(),
        tls: None,
        drain: std::time::Duration::ZERO,
        http_listen: None,
        integrity_interval: riskops_server::DEFAULT_INTEGRITY_INTERVAL,
        access: Default::default(),
        access_flush_interval: riskops_server::DEFAULT_ACCESS_FLUSH_INTERVAL,
        access_project: None,
    }
}

async fn start(
    dir: &Path,
    alerting_every: Duration,
) -> (String, tokio::sync::oneshot::Sender<()>, riskops_server::Running) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = riskops_server::start(settings(dir, alerting_every), Arc::new(SystemClock), async {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    (format!("http://{}", running.local_addr), stop, running)
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn upload(&self, path: &str, metadata: Value, file: Vec<u8>) -> Value {
        let form = reqwest::multipart::Form::new()
            .part("metadata", reqwest::multipart::Part::text(metadata.to_string()))
            .part("file", reqwest::multipart::Part::bytes(file).file_name("data.csv"));
        let r = self.http.post(format!("{}{path}", self.base)).bearer_auth(TOKEN).multipart(form).send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    async fn ndjson(&self, path: &str, lines: &[Value]) -> Value {
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }
}

/// A small deterministic generator (no dependency for one bench).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The training data: eight numeric features and two categorical ones (no target column:
/// the model's inputs only, so records need no monitoring settings to match it).
fn training_csv(rows: usize) -> Vec<u8> {
    let mut rng = Rng(7);
    let mut text = (0..FEATURES).map(|i| format!("x{i}")).collect::<Vec<_>>().join(",");
    text.push_str(",region,channel\n");
    for _ in 0..rows {
        for i in 0..FEATURES {
            text.push_str(&format!("{:.4},", rng.normal() + i as f64));
        }
        let region = ["north", "south", "east", "west"][(rng.next() * 4.0) as usize % 4];
        let channel = ["web", "branch", "phone"][(rng.next() * 3.0) as usize % 3];
        text.push_str(&format!("{region},{channel}\n"));
    }
    text.into_bytes()
}

/// One prediction record with its label, `shift` standard deviations off the training data
/// on the first five features.
fn record(rng: &mut Rng, id: String, timestamp: i64, shift: f64) -> Value {
    let mut features = serde_json::Map::new();
    for i in 0..FEATURES {
        let x = rng.normal() + i as f64 + if i < 5 { shift } else { 0.0 };
        features.insert(format!("x{i}"), json!((x * 1e4).round() / 1e4));
    }
    features.insert("region".into(), json!(["north", "south", "east", "west"][(rng.next() * 4.0) as usize % 4]));
    features.insert("channel".into(), json!(["web", "branch", "phone"][(rng.next() * 3.0) as usize % 3]));
    let score = rng.next();
    let label = u8::from(rng.next() < score * 0.8 + 0.05);
    let sex = ["f", "m"][(rng.next() * 2.0) as usize % 2];
    let age_band = ["<30", "30-50", ">50"][(rng.next() * 3.0) as usize % 3];
    json!({
        "id": id, "timestamp": timestamp, "version": "1", "features": features,
        "prediction": u8::from(score > 0.5), "score": (score * 1e4).round() / 1e4, "label": label,
        "attributes": {"sex": sex, "age_band": age_band},
        "latency_ms": ((20.0 + 10.0 * rng.next()) * 10.0).round() / 10.0,
    })
}

fn project_name(i: usize) -> String {
    format!("p{:02}", i / MODELS_PER_PROJECT)
}

fn model_name(i: usize) -> String {
    format!("m{i:03}")
}

/// Seeds a fresh directory at `scale` and starts the server that will be timed.
pub async fn seed(scale: Scale) -> Seeded {
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let now_hour = riskops_core::clock::Clock::now(&SystemClock).unix_timestamp() / HOUR * HOUR;
    let (base, stop, running) = start(dir.path(), Duration::from_millis(200)).await;
    let api = Api { base, http: http().build().unwrap() };
    let projects = scale.models.div_ceil(MODELS_PER_PROJECT);
    for p in 0..projects {
        let (template, workflow) =
            if p % 2 == 0 { ("finance", "fraud_detection") } else { ("healthcare", "billing_information") };
        let name = project_name(p * MODELS_PER_PROJECT);
        api.post("/api/v1/projects", json!({"name": name, "template": template, "workflow": workflow})).await;
        api.post(&format!("/api/v1/projects/{name}/risks/assess"), json!({})).await;
        api.upload(&format!("/api/v1/datasets/train_{name}/versions"), json!({"project": name}), training_csv(2000))
            .await;
    }
    for i in 0..scale.models {
        let (project, model) = (project_name(i), model_name(i));
        let metadata = json!({"project": project, "training_data": format!("train_{project}@1")});
        api.upload(&format!("/api/v1/models/{model}/versions"), metadata, b"model".to_vec()).await;
        if i % 7 == 0 {
            let request = json!({"to": "staging", "reason": "first release"});
            api.post(&format!("/api/v1/models/{model}/versions/1/promotions"), request).await;
        }
    }
    // The templates: a day of traffic into m000, a year and a day back (outside every range
    // the pages show), a different drift each hour.
    let mut rng = Rng(42);
    let template_start = now_hour - (scale.days + 2) * 24 * HOUR;
    let mut lines = Vec::new();
    for h in 0..TEMPLATE_HOURS {
        let shift = [0.0, 0.05, 0.1, 0.3, 0.0, 0.6][h as usize % 6];
        for r in 0..RECORDS_PER_HOUR {
            let ts = template_start + h * HOUR + (r as i64 * HOUR) / RECORDS_PER_HOUR as i64;
            lines.push(record(&mut rng, format!("t{h}-{r}"), ts, shift));
        }
    }
    let answer = api.ndjson(&format!("/api/v1/projects/{}/models/m000/predictions", project_name(0)), &lines).await;
    assert_eq!(answer["accepted"].as_u64(), Some(lines.len() as u64), "{answer}");
    // Incidents: drifted traffic in the last full hours, judged by the tier's monitors.
    for i in 0..scale.incident_models.min(scale.models) {
        let lines: Vec<Value> = (1..=DRIFTED_HOURS)
            .flat_map(|k| (0..RECORDS_PER_HOUR).map(move |r| (k, r)))
            .map(|(k, r)| record(&mut rng, format!("d{k}-{r}"), now_hour - k * HOUR + r as i64 * 20, 3.0))
            .collect();
        api.ndjson(&format!("/api/v1/projects/{}/models/{}/predictions", project_name(i), model_name(i)), &lines).await;
    }
    let waited = Instant::now();
    while scale.incident_models > 0 && waited.elapsed() < Duration::from_secs(30) {
        let open = api.call(reqwest::Method::GET, "/api/v1/incidents", None).await;
        if open["incidents"].as_array().is_some_and(|a| a.len() >= scale.incident_models.min(scale.models)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = stop.send(());
    running.finished().await.unwrap();

    let windows = seed_windows(dir.path(), scale, now_hour, template_start).await;
    let (base, stop, running) = start(dir.path(), Duration::from_secs(3600)).await;
    // The start-up evaluation pass reads the oldest due windows once; let it finish.
    tokio::time::sleep(Duration::from_secs(3)).await;
    Seeded { dir, base, stop, running, windows, seed_time: began.elapsed() }
}

/// Writes each model's year of closed hourly windows, copies of the template states, in one
/// transaction per model, with their chart values as the monitors' evaluation would have
/// stored them; the last full hours are left to the models with drifted traffic.
async fn seed_windows(dir: &Path, scale: Scale, now_hour: i64, template_start: i64) -> usize {
    let store = riskops_store::open(None, dir).await.unwrap();
    let artifacts = Arc::new(riskops_store::artifacts::LocalArtifacts::new(dir.join("artifacts")).unwrap());
    let riskops = Riskops::new(store.clone(), artifacts, Arc::new(SystemClock));
    let principal = riskops.authenticate(TOKEN, "bench").await.unwrap();
    let templates =
        store.windows("m000", Some(1), template_start, template_start + TEMPLATE_HOURS * HOUR).await.unwrap();
    assert_eq!(templates.len(), TEMPLATE_HOURS as usize, "one template window per hour");
    // Each template's chart values, as the monitors' evaluation stores them for every window
    // it judges (every project's training data is the same table, so they hold for all).
    let ctx = RequestContext { principal: principal.clone(), request_id: None };
    let points: Vec<String> = riskops
        .monitoring_series(&ctx, "m000", template_start, template_start + TEMPLATE_HOURS * HOUR)
        .await
        .unwrap()
        .iter()
        .map(|p| p.point.to_text())
        .collect();
    assert_eq!(points.len(), templates.len());
    let hours = scale.days * 24;
    let mut total = 0;
    for i in 0..scale.models {
        let (project, model) = (project_name(i), model_name(i));
        let drifted = i < scale.incident_models;
        let windows: Vec<WindowWrite> = (1..=hours)
            .filter(|k| !(drifted && *k <= DRIFTED_HOURS))
            .map(|k| {
                let start = now_hour - k * HOUR;
                let t = &templates[(start / HOUR) as usize % templates.len()];
                WindowWrite {
                    version: 1,
                    start,
                    end: start + HOUR,
                    state: t.state.clone(),
                    records: t.records,
                    labelled: t.labelled,
                    expected_rev: None,
                }
            })
            .collect();
        total += windows.len();
        let series: Vec<SeriesRow> = windows
            .iter()
            .map(|w| SeriesRow {
                version: w.version,
                start: w.start,
                end: w.end,
                rev: 1,
                point: Some(points[(w.start / HOUR) as usize % points.len()].clone()),
            })
            .collect();
        let permit = riskops_core::auth::authorize(&principal, Operation::Ingest, Scope::Project(&project)).unwrap();
        let audit = AuditRecord::new(&permit, Action::PredictionsIngest, format!("model:{model}"))
            .after(json!({"seeded_windows": windows.len()}));
        let write = IngestWrite { model: model.clone(), windows, ..Default::default() };
        store.commit_ingest(write, audit, riskops_core::clock::Clock::now(&SystemClock)).await.unwrap();
        store.put_series(&model, &series).await.unwrap();
    }
    total
}

/// The pages timed, with their targets in milliseconds.
pub fn pages(scale: Scale) -> Vec<(String, String, f64)> {
    let (project, model) = (project_name(0), model_name(1));
    let m = format!("/projects/{project}/models/{model}");
    let mut out = vec![
        ("portfolio".to_string(), "/".to_string(), 500.0),
        ("project".into(), format!("/projects/{project}"), 300.0),
        ("model, default range (7 days)".into(), m.clone(), 300.0),
        ("model, 14 days (hourly, longest)".into(), format!("{m}?days=14"), 300.0),
        ("model, 30 days (daily means)".into(), format!("{m}?days=30"), 300.0),
    ];
    if scale.days > 30 {
        let days = scale.days.min(366);
        out.push((format!("model, {days} days (daily means)"), format!("{m}?days={days}"), 300.0));
    }
    out.extend([
        ("promotions".into(), "/promotions".into(), 300.0),
        ("incidents".into(), "/incidents".into(), 300.0),
        ("audit".into(), "/audit".into(), 300.0),
    ]);
    out
}

/// Times each page: one request untimed, then `requests` timed ones, in turn.
pub async fn time_pages(seeded: &Seeded, scale: Scale) -> Vec<Timing> {
    let http = http().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let cookie = format!("riskops_session=0.{TOKEN}");
    let mut out = Vec::new();
    for (page, path, target_ms) in pages(scale) {
        let mut times = Vec::new();
        let mut bytes = 0;
        for i in 0..=scale.requests {
            let began = Instant::now();
            let r = http.get(format!("{}{path}", seeded.base)).header("cookie", &cookie).send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            let took = began.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(status, reqwest::StatusCode::OK, "{path}: {body}");
            bytes = body.len();
            if i > 0 {
                times.push(took);
            }
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        out.push(Timing { page, path, target_ms, median_ms: at(0.5), p95_ms: at(0.95), bytes });
    }
    out
}

/// The table the bench prints.
pub fn table(timings: &[Timing]) -> String {
    let mut out = format!(
        "{:<32} {:>10} {:>10} {:>10} {:>9}  {}\n",
        "page", "median ms", "p95 ms", "target ms", "KiB", "verdict"
    );
    for t in timings {
        let verdict = if t.p95_ms < t.target_ms { "ok" } else { "OVER" };
        out.push_str(&format!(
            "{:<32} {:>10.1} {:>10.1} {:>10.0} {:>9.0}  {verdict}\n",
            t.page,
            t.median_ms,
            t.p95_ms,
            t.target_ms,
            t.bytes as f64 / 1024.0
        ));
    }
    out
}

/// reqwest is built without a TLS provider of its own: the process's default (ring) first.
fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
