//! Performance estimated without labels and multivariate drift on closed windows: a model
//! whose reference has scores and labels gets, per closed window, CBPE's estimates equal to
//! `riskops_stats::monitoring::Cbpe` on the same rows, realized values beside them once
//! labels exist, and the data-reconstruction error equal to `Reconstruction` on the same
//! rows; a monitor on `estimated.roc_auc` opens an incident with no label at all; the
//! reconstruction error alerts on a window whose two features lost their correlation while
//! each keeps its distribution; both are in /metrics; a reference that cannot serve says why.

use super::*;
use riskops_stats::monitoring::{Cbpe, Feature, Reconstruction};

/// Hour of the test clock's start (2026-10-01T00:00:00Z).
const T0: i64 = 1_790_812_800;
const REFERENCE_ROWS: usize = 2_000;
/// Hour windows: thresholds from NannyML's default of ten reference chunks.
const CHUNK: usize = REFERENCE_ROWS / 10;

fn uniform(i: usize, salt: u64) -> f64 {
    let h = (i as u64 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let h = (h ^ (h >> 31)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn normal(i: usize, salt: u64) -> f64 {
    (-2.0 * uniform(i, salt).ln()).sqrt() * (std::f64::consts::TAU * uniform(i, salt + 1)).cos()
}

/// Rounded as the CSV and the JSON records both write it.
fn r4(x: f64) -> f64 {
    format!("{x:.4}").parse().unwrap()
}

/// One row: two correlated features, the model's score and a label drawn from it. `spread`
/// scales x1 (a narrower spread makes the model discriminate less); `partner` takes x2 from
/// another row (the pair's relation broken, each marginal unchanged).
#[derive(Clone, Copy)]
struct Row {
    x1: f64,
    x2: f64,
    score: f64,
    label: bool,
}

fn row(i: usize, spread: f64, partner: Option<usize>) -> Row {
    let x1_of = |i: usize| normal(i, 1);
    let x2_of = |i: usize| 0.9 * x1_of(i) + 0.35 * normal(i, 3);
    let x1 = r4(spread * x1_of(i));
    let x2 = r4(match partner {
        Some(j) => x2_of(j),
        None => spread * 0.9 * x1_of(i) + 0.35 * normal(i, 3),
    });
    let score = r4(1.0 / (1.0 + (-(1.3 * x1 + 0.9 * x2 - 0.3)).exp()));
    Row { x1, x2, score, label: uniform(i, 7) < score }
}

fn reference() -> Vec<Row> {
    (0..REFERENCE_ROWS).map(|i| row(i, 1.0, None)).collect()
}

fn csv(rows: &[Row]) -> Vec<u8> {
    let mut out = String::from("x1,x2,score,label\n");
    for r in rows {
        out.push_str(&format!("{:.4},{:.4},{:.4},{}\n", r.x1, r.x2, r.score, u8::from(r.label)));
    }
    out.into_bytes()
}

fn records(rows: &[Row], tag: &str, hour: i64, labelled: bool) -> Vec<Value> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v = json!({
                "id": format!("{tag}{i}"), "timestamp": T0 + hour * 3600 + (i as i64 * 7) % 3600, "version": "1",
                "features": {"x1": r.x1, "x2": r.x2}, "score": r.score, "prediction": u8::from(r.score > 0.5),
            });
            if labelled {
                v["label"] = json!(u8::from(r.label));
            }
            v
        })
        .collect()
}

impl TestServer {
    async fn send_records(&self, model: &str, records: &[Value]) {
        for chunk in records.chunks(400) {
            let body: String = chunk.iter().map(|r| format!("{r}\n")).collect();
            let path = format!("/api/v1/projects/default/models/{model}/predictions");
            let req = self.http.post(self.url(&path)).bearer_auth(TOKEN).header("content-type", "application/x-ndjson");
            let (status, answer) = read(req.body(body).send().await.unwrap()).await;
            assert_eq!((status, answer["accepted"].as_u64()), (StatusCode::OK, Some(chunk.len() as u64)), "{answer}");
        }
    }

    async fn windows_of(&self, model: &str) -> Vec<Value> {
        let path =
            format!("/api/v1/projects/default/models/{model}/monitoring?from={}&to={}", T0 - 86_400, T0 + 86_400);
        let (status, body) = self.get(&path, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["windows"].as_array().unwrap().clone()
    }
}

fn close(got: &Value, want: f64, what: &str) {
    if want.is_finite() {
        let x = got.as_f64().unwrap_or_else(|| panic!("{what}: {got} is not a number (want {want})"));
        assert!((x - want).abs() <= 1e-9, "{what}: {x} vs the library's {want}");
    } else {
        assert!(got.is_null(), "{what}: {got}, the library's is undefined");
    }
}

/// The window's estimates equal CBPE fitted on the reference and run on the window's rows.
fn assert_estimated(window: &Value, cbpe: &Cbpe, rows: &[Row]) {
    let scores: Vec<f64> = rows.iter().map(|r| r.score).collect();
    let predictions: Vec<bool> = scores.iter().map(|&s| s > 0.5).collect();
    let want = cbpe.estimate(&scores, &predictions);
    let e = &window["estimated"];
    assert_eq!((e["records"].as_u64(), e["chunk_size"].as_u64()), (Some(rows.len() as u64), Some(CHUNK as u64)), "{e}");
    for (i, name) in ["roc_auc", "f1", "precision", "recall", "accuracy"].into_iter().enumerate() {
        let (got, want) = (&e[name], &want[i]);
        close(&got["value"], want.value, name);
        close(&got["sampling_error"], want.sampling_error, name);
        close(&got["lower"], want.lower, name);
        close(&got["upper"], want.upper, name);
        close(&got["lower_threshold"], want.thresholds.lower, name);
        close(&got["upper_threshold"], want.thresholds.upper, name);
        assert_eq!(got["alert"], want.alert, "{name}: {got}");
    }
}

/// Whether `v` holds the number `x` anywhere (to 1e-9).
fn has_number(v: &Value, x: f64) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(|n| (n - x).abs() <= 1e-9),
        Value::Array(a) => a.iter().any(|v| has_number(v, x)),
        Value::Object(o) => o.values().any(|v| has_number(v, x)),
        _ => false,
    }
}

fn reconstruction_of(rows: &[Row]) -> (Vec<f64>, Vec<f64>) {
    (rows.iter().map(|r| r.x1).collect(), rows.iter().map(|r| r.x2).collect())
}

#[tokio::test]
async fn closed_windows_estimate_performance_without_labels_and_catch_broken_relations() {
    let reference = reference();
    let scores: Vec<f64> = reference.iter().map(|r| r.score).collect();
    let predictions: Vec<bool> = scores.iter().map(|&s| s > 0.5).collect();
    let labels: Vec<bool> = reference.iter().map(|r| r.label).collect();
    let cbpe = Cbpe::fit(&scores, &predictions, &labels, CHUNK).unwrap();
    let (x1, x2) = reconstruction_of(&reference);
    let pca = Reconstruction::fit(&[Feature::Continuous(&x1), Feature::Continuous(&x2)], CHUNK).unwrap();

    // Hour 0 like the reference (labelled), hour 1 with x1's spread narrowed (no labels),
    // hour 2 with x2 taken from other rows (no labels).
    let calm: Vec<Row> = (10_000..10_500).map(|i| row(i, 1.0, None)).collect();
    let narrow: Vec<Row> = (20_000..20_500).map(|i| row(i, 0.3, None)).collect();
    let broken: Vec<Row> = (30_000..30_500).map(|i| row(i, 1.0, Some(i + 7_919))).collect();
    let auc = |rows: &[Row]| {
        let s: Vec<f64> = rows.iter().map(|r| r.score).collect();
        let p: Vec<bool> = s.iter().map(|&x| x > 0.5).collect();
        cbpe.estimate(&s, &p)[0].value
    };
    let (calm_auc, narrow_auc) = (auc(&calm), auc(&narrow));
    assert!(narrow_auc < calm_auc - 0.05, "the narrow hour must estimate a lower AUC: {narrow_auc} vs {calm_auc}");
    let below = (calm_auc + narrow_auc) / 2.0;

    for (s, clock) in servers_clocked().await {
        let (status, d) = s.upload("/api/v1/datasets/apps/versions", json!({}), csv(&reference)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/scorer/versions", json!({"training_data": "apps@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let config = json!({"score_column": "score", "label_column": "label"});
        let (status, c) = s.call("PUT", "/api/v1/projects/default/models/scorer/monitor", TOKEN, Some(config)).await;
        assert_eq!(
            (status, &c["score_column"], &c["label_column"]),
            (StatusCode::OK, &json!("score"), &json!("label"))
        );

        // Bad metric names are refused and change nothing.
        let monitors = "/api/v1/projects/default/models/scorer/monitors";
        for bad in ["estimated.nope", "estimated.roc_auc.alerts", "multivariate.nope", "multivariate", "estimated"] {
            let (status, e) = s.call("POST", monitors, TOKEN, Some(json!({"metric": bad, "below": 0.5}))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
        }
        let (status, list) = s.get(monitors, Some(TOKEN)).await;
        let own = list["monitors"].as_array().unwrap().iter().filter(|m| m["origin"] == "model").count();
        assert_eq!((status, own), (StatusCode::OK, 0), "{list}");
        let (status, mon) = s
            .call(
                "POST",
                monitors,
                TOKEN,
                Some(json!({"metric": "estimated.roc_auc", "below": below, "severity": "high"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{mon}");
        let monitor = mon["id"].as_str().unwrap().to_string();
        let (status, mon) =
            s.call("POST", monitors, TOKEN, Some(json!({"metric": "multivariate.reconstruction_error.alert"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{mon}");
        let relation = mon["id"].as_str().unwrap().to_string();

        s.send_records("scorer", &records(&calm, "c", 0, true)).await;
        s.send_records("scorer", &records(&narrow, "n", 1, false)).await;
        s.send_records("scorer", &records(&broken, "b", 2, false)).await;

        // Open (the first hour is now): nothing estimated yet, and the window says why.
        let open = s.windows_of("scorer").await;
        assert!(open[0]["estimated"]["skipped"].as_str().unwrap().contains("open"), "{}", open[0]);
        assert!(open[0]["multivariate"]["skipped"].as_str().unwrap().contains("open"), "{}", open[0]);

        clock.advance(time::Duration::hours(3));
        let closed = s.windows_of("scorer").await;
        assert_eq!(closed.len(), 3, "{closed:?}");
        for (window, rows) in closed.iter().zip([&calm, &narrow, &broken]) {
            assert_estimated(window, &cbpe, rows);
            let (a, b) = reconstruction_of(rows);
            let want = pca.error(&[Feature::Continuous(&a), Feature::Continuous(&b)]).unwrap();
            let got = &window["multivariate"]["reconstruction_error"];
            close(&got["value"], want.value, "reconstruction_error");
            close(&got["upper_threshold"], want.thresholds.upper, "upper_threshold");
            close(&got["lower_threshold"], want.thresholds.lower, "lower_threshold");
            assert_eq!(got["alert"], want.alert, "{got}");
        }
        // Realized beside estimated where labels exist, and only there.
        let realized = &closed[0]["estimated"]["roc_auc"]["realized"];
        assert_eq!(realized, &closed[0]["performance"]["roc_auc"], "{}", closed[0]);
        assert!(realized.is_f64(), "{}", closed[0]);
        assert!(closed[1]["estimated"]["roc_auc"]["realized"].is_null(), "{}", closed[1]);
        // The broken relation alerts; no single feature drifts.
        assert_eq!(closed[0]["multivariate"]["reconstruction_error"]["alert"], false, "{}", closed[0]);
        assert_eq!(closed[2]["multivariate"]["reconstruction_error"]["alert"], true, "{}", closed[2]);
        assert_eq!(closed[2]["drift"]["n_drifted"], 0, "{}", closed[2]["drift"]);

        // The narrow hour opens an incident on its estimated AUC, weeks before any label.
        let ours = |v: &Value, id: &str| v["incidents"].as_array().unwrap().iter().any(|i| i["monitor_id"] == id);
        let all = s.eventually("/api/v1/incidents?model=scorer", |v| ours(v, &monitor) && ours(v, &relation)).await;
        let incident =
            all["incidents"].as_array().unwrap().iter().find(|i| i["monitor_id"] == monitor.as_str()).unwrap();
        assert_eq!(incident["first_window"], riskops_monitor::rfc3339(T0 + 3600), "the narrow hour: {incident}");
        let id = incident["id"].as_i64().unwrap();
        let (status, detail) = s.get(&format!("/api/v1/incidents/{id}"), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert!(has_number(&detail, narrow_auc), "the incident shows the estimate that fired it: {detail}");

        // /metrics: the latest (closed) window's values.
        let response = s.http.get(s.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
        let text = response.text().await.unwrap();
        let sample = |name: &str, extra: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name}{{")) && l.contains("model=\"scorer\"") && l.contains(extra))
                .unwrap_or_else(|| panic!("no {name} {extra} in /metrics:\n{text}"));
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        let latest = &closed[2];
        let auc_now = sample("riskops_estimated_performance", "metric=\"roc_auc\"");
        assert!((auc_now - latest["estimated"]["roc_auc"]["value"].as_f64().unwrap()).abs() < 1e-12);
        let error_now = sample("riskops_reconstruction_error", "");
        let want = latest["multivariate"]["reconstruction_error"]["value"].as_f64().unwrap();
        assert!((error_now - want).abs() < 1e-12, "{error_now} vs {want}");
        assert_eq!(sample("riskops_reconstruction_error_alert", ""), 1.0);

        // A column the reference does not have is refused when configured, and changes nothing.
        let config = json!({"score_column": "nope", "label_column": "label"});
        let (status, e) = s.call("PUT", "/api/v1/projects/default/models/scorer/monitor", TOKEN, Some(config)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(e.to_string().contains("nope"), "{e}");
        let (_, c) = s.get("/api/v1/projects/default/models/scorer/monitor", Some(TOKEN)).await;
        assert_eq!(c["score_column"], "score", "{c}");

        // A reference that cannot serve (labels missing on some rows): the window says why,
        // the rest of it stands.
        let mut gaps = String::from_utf8(csv(&reference)).unwrap();
        gaps = gaps.replacen(",1\n", ",\n", 3);
        let (status, d) = s.upload("/api/v1/datasets/gaps/versions", json!({}), gaps.into_bytes()).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/plain/versions", json!({"training_data": "gaps@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let config = json!({"score_column": "score", "label_column": "label"});
        let (status, c) = s.call("PUT", "/api/v1/projects/default/models/plain/monitor", TOKEN, Some(config)).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        s.send_records("plain", &records(&calm, "p", 3, false)).await;
        clock.advance(time::Duration::hours(2));
        let plain = s.windows_of("plain").await;
        let skipped = plain[0]["estimated"]["skipped"].as_str().unwrap_or_default();
        assert!(skipped.contains("has no label"), "{}", plain[0]);
        assert!(plain[0]["multivariate"]["reconstruction_error"]["value"].is_f64(), "{}", plain[0]);
        s.stop().await;
    }
}

#[tokio::test]
async fn windows_of_n_records_are_estimated_once_full_with_thresholds_from_chunks_of_n() {
    const N: usize = 250;
    let reference = reference();
    let scores: Vec<f64> = reference.iter().map(|r| r.score).collect();
    let predictions: Vec<bool> = scores.iter().map(|&s| s > 0.5).collect();
    let labels: Vec<bool> = reference.iter().map(|r| r.label).collect();
    let cbpe = Cbpe::fit(&scores, &predictions, &labels, N).unwrap();
    let rows: Vec<Row> = (40_000..40_400).map(|i| row(i, 0.5, None)).collect();
    for s in servers().await {
        let (status, d) = s.upload("/api/v1/datasets/apps/versions", json!({}), csv(&reference)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/scorer/versions", json!({"training_data": "apps@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let config = json!({"window": format!("records:{N}"), "score_column": "score", "label_column": "label"});
        let (status, c) = s.call("PUT", "/api/v1/projects/default/models/scorer/monitor", TOKEN, Some(config)).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        s.send_records("scorer", &records(&rows, "r", 0, false)).await;
        let windows = s.windows_of("scorer").await;
        assert_eq!(windows.len(), 2, "{windows:?}");
        // The first holds N: closed, estimated with thresholds from reference chunks of N.
        let e = &windows[0]["estimated"];
        assert_eq!(e["chunk_size"], N, "{e}");
        let first: Vec<f64> = rows[..N].iter().map(|r| r.score).collect();
        let p: Vec<bool> = first.iter().map(|&x| x > 0.5).collect();
        let want = cbpe.estimate(&first, &p);
        close(&e["roc_auc"]["value"], want[0].value, "roc_auc");
        close(&e["roc_auc"]["lower_threshold"], want[0].thresholds.lower, "roc_auc lower threshold");
        close(&e["f1"]["value"], want[1].value, "f1");
        assert_eq!(e["f1"]["alert"], want[1].alert, "{e}");
        // The second is still filling: open, and says so.
        assert!(windows[1]["estimated"]["skipped"].as_str().unwrap().contains("open"), "{}", windows[1]);
        s.stop().await;
    }
}
