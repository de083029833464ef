//! Attribution drift: a model keeping `explain_sample` records per window gets each window's
//! mean |SHAP| shares against its validation data's; traffic that makes the model lean on a
//! feature moves that feature's share, and a monitor on `explain.<feature>.share` fires.

use super::*;

/// 2026-09-22T12:00:00Z.
const T0: i64 = 1_790_078_400;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data").join(name)).unwrap()
}

/// How a window's records differ from the credit data's rows.
#[derive(Clone, Copy, PartialEq)]
enum Traffic {
    /// As they are, logged with the model's own scores (onnxruntime's, from the fixture).
    AsValidated,
    /// Every applicant four months late on the latest payment (`PAY_0` = 4), no score logged.
    LatePayers,
    /// `PAY_0` taken from another row (the rows in reverse), logged with the row's own score:
    /// the feature's relation to the output is broken while its values look the same.
    PayShuffled,
}

/// The credit data's rows as records (the model's 23 features; `id` and the label left out).
fn records(rows: std::ops::Range<usize>, traffic: Traffic, first_ts: i64) -> Vec<u8> {
    let text = String::from_utf8(fixture("credit_gbc_input.csv")).unwrap();
    let scores = String::from_utf8(fixture("credit_gbc_expected.csv")).unwrap();
    let scores: Vec<f64> = scores.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let data: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let pay_0 = header.iter().position(|h| *h == "PAY_0").unwrap();
    let mut out = String::new();
    for (k, i) in rows.clone().enumerate() {
        let mut features = serde_json::Map::new();
        for (j, (name, cell)) in header.iter().zip(&data[i]).enumerate() {
            if matches!(*name, "id" | "default") {
                continue;
            }
            let x: f64 = match traffic {
                Traffic::LatePayers if j == pay_0 => 4.0,
                Traffic::PayShuffled if j == pay_0 => data[rows.end - 1 - k][j].parse().unwrap(),
                _ => cell.parse().unwrap(),
            };
            features.insert(name.to_string(), json!(x));
        }
        let mut r = json!({
            "id": format!("r{i}-{}", traffic as u8),
            "timestamp": first_ts + k as i64,
            "version": "1",
            "features": features,
            "prediction": u8::from(scores[i] >= 0.5),
        });
        if traffic != Traffic::LatePayers {
            r["score"] = json!(scores[i]);
        }
        out.push_str(&format!("{r}\n"));
    }
    out.into_bytes()
}

fn feature<'a>(window: &'a Value, name: &str) -> &'a Value {
    &window["explain"]["features"][name]
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn a_feature_the_model_turns_to_moves_its_attribution_share_and_a_monitor_fires() {
    for s in servers().await {
        let (status, d) =
            s.upload("/api/v1/datasets/credit/versions", json!({}), fixture("credit_gbc_input.csv")).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let metadata = json!({"framework": "onnx", "validation_data": "credit@1"});
        let (status, m) = s.upload("/api/v1/models/gbc/versions", metadata, fixture("credit_gbc.onnx")).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let base = "/api/v1/projects/default/models/gbc";

        // A sample beyond the limit is refused, naming the field, and changes nothing.
        let (status, e) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"explain_sample": 5000}))).await;
        assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("explain_sample")));
        let (_, c) = s.get(&format!("{base}/monitor"), Some(TOKEN)).await;
        assert_eq!(c["explain_sample"], 0, "{c}");

        let config =
            json!({"window": "records:150", "exclude": ["id", "default"], "min_records": 50, "explain_sample": 100});
        let (status, c) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(config)).await;
        assert_eq!((status, c["explain_sample"].as_u64()), (StatusCode::OK, Some(100)), "{c}");
        let (status, monitor) = s
            .call(
                "POST",
                &format!("{base}/monitors"),
                TOKEN,
                Some(json!({"metric": "explain.PAY_0.share", "above": 0.5})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{monitor}");
        let unexplained = json!({"metric": "explain.unexplained", "above": 0.1});
        let (status, unexplained_monitor) = s.call("POST", &format!("{base}/monitors"), TOKEN, Some(unexplained)).await;
        assert_eq!(status, StatusCode::CREATED, "{unexplained_monitor}");
        let (status, e) = s
            .call(
                "POST",
                &format!("{base}/monitors"),
                TOKEN,
                Some(json!({"metric": "explain.PAY_0.nope", "above": 0.5})),
            )
            .await;
        assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("metric")), "{e}");

        // A window of traffic like the validation data, then one where every applicant is
        // four months late on the latest payment: the model leans on PAY_0 for everyone.
        s.ndjson(TOKEN, &format!("{base}/predictions"), records(0..150, Traffic::AsValidated, T0)).await;
        s.ndjson(TOKEN, &format!("{base}/predictions"), records(150..300, Traffic::LatePayers, T0 + 1000)).await;
        // Then PAY_0 no longer goes with the output it was logged with.
        s.ndjson(TOKEN, &format!("{base}/predictions"), records(150..300, Traffic::PayShuffled, T0 + 2000)).await;

        let (status, view) = s.get(&format!("{base}/monitoring?from={T0}&to={}", T0 + 3600), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let windows = view["windows"].as_array().unwrap();
        assert_eq!(windows.len(), 3, "{view}");
        let (calm, shifted, shuffled) = (&windows[0], &windows[1], &windows[2]);
        for w in [calm, shifted, shuffled] {
            assert_eq!(w["explain"]["sampled"], 100, "{w}");
            assert_eq!(w["explain"]["output_space"], "log_odds", "{w}");
            let shares: f64 = w["explain"]["features"].as_object().unwrap().values().map(|f| number(&f["share"])).sum();
            assert!((shares - 1.0).abs() < 1e-9, "shares sum to 1: {shares}");
        }
        let (calm_pay, shifted_pay) = (feature(calm, "PAY_0"), feature(shifted, "PAY_0"));
        // Like the validation data, so about its share; then far above it.
        assert!(number(&calm_pay["change"]).abs() < 0.1, "{calm_pay}");
        assert!(number(&shifted_pay["change"]) > 0.25, "{shifted_pay}");
        assert!(number(&shifted_pay["share"]) > 0.5 && number(&calm_pay["share"]) < 0.5, "{calm_pay} {shifted_pay}");
        assert_eq!(calm_pay["reference_share"], shifted_pay["reference_share"], "one reference per version");
        let change = number(&shifted_pay["share"]) - number(&shifted_pay["reference_share"]);
        assert!((number(&shifted_pay["change"]) - change).abs() < 1e-12);
        assert!(number(&shifted["explain"]["shift"]) > number(&calm["explain"]["shift"]) + 0.2, "{view}");
        // Another feature lost share to PAY_0.
        assert!(number(&feature(shifted, "LIMIT_BAL")["change"]) < 0.0, "{shifted}");
        // The model's own scores are what its attributions add up to; none logged, nothing
        // to compare; PAY_0 shuffled against its scores leaves a share unexplained, though
        // the attributions of the inputs alone barely move (same values, other rows).
        let unexplained = |w: &Value| w["explain"]["unexplained"].as_f64();
        assert!(unexplained(calm).unwrap() < 0.01, "{calm}");
        assert_eq!(unexplained(shifted), None, "{shifted}");
        assert!(unexplained(shuffled).unwrap() > 0.1, "{shuffled}");
        assert!(number(&feature(shuffled, "PAY_0")["change"]).abs() < 0.1, "{shuffled}");

        // Both windows close (a later one exists, or they went quiet); the monitor fires on
        // the shifted one only.
        for (m, first) in [(&monitor, shifted), (&unexplained_monitor, shuffled)] {
            let id = m["id"].as_str().unwrap();
            let incidents = s
                .eventually("/api/v1/incidents?model=gbc", |v| {
                    v["incidents"].as_array().unwrap().iter().any(|i| i["monitor_id"] == id)
                })
                .await;
            let ours: Vec<&Value> =
                incidents["incidents"].as_array().unwrap().iter().filter(|i| i["monitor_id"] == id).collect();
            assert_eq!(ours.len(), 1, "{incidents}");
            assert_eq!(ours[0]["first_window"], first["start"], "{m} {incidents}");
        }

        // /metrics exports the latest window's shares under the names monitors read.
        let text = s.http.get(s.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("riskops_attribution{") && l.contains("feature=\"PAY_0\",metric=\"share\""))
            .unwrap_or_else(|| panic!("no PAY_0 share in /metrics: {text}"));
        let exported: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        let latest_pay = number(&feature(shuffled, "PAY_0")["share"]);
        assert!((exported - latest_pay).abs() < 1e-9, "{line}");
        assert!(text.contains("riskops_attribution_shift{"), "{text}");
        assert!(text.contains("riskops_attribution_unexplained{"), "{text}");
    }
}

#[tokio::test]
async fn a_model_treeshap_cannot_explain_says_why_and_still_takes_records() {
    for s in servers().await {
        let (status, _) =
            s.upload("/api/v1/datasets/credit/versions", json!({}), fixture("credit_mlp_input.csv")).await;
        assert_eq!(status, StatusCode::CREATED);
        let metadata = json!({"framework": "onnx", "validation_data": "credit@1"});
        let (status, m) = s.upload("/api/v1/models/mlp/versions", metadata, fixture("credit_mlp.onnx")).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let base = "/api/v1/projects/default/models/mlp";
        let config = json!({"exclude": ["id", "default"], "explain_sample": 20});
        let (status, c) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(config)).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        let answer = s.ndjson(TOKEN, &format!("{base}/predictions"), records(0..30, Traffic::AsValidated, T0)).await;
        assert_eq!(answer["accepted"], 30, "{answer}");
        let (status, view) = s.get(&format!("{base}/monitoring?from={T0}&to={}", T0 + 3600), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let reason = view["windows"][0]["explain"]["skipped"].as_str().unwrap_or_else(|| panic!("{view}"));
        assert!(reason.contains("TreeSHAP"), "{reason}");
    }
}

#[tokio::test]
async fn a_model_served_over_http_is_not_explained_and_the_window_says_so() {
    let url = super::endpoints::fake_mlflow(fixture("credit_gbc.onnx")).await;
    for s in servers().await {
        let (status, _) =
            s.upload("/api/v1/datasets/credit/versions", json!({}), fixture("credit_gbc_input.csv")).await;
        assert_eq!(status, StatusCode::CREATED);
        let registration = json!({
            "endpoint": url, "protocol": "mlflow", "classes": ["0", "1"],
            "metadata": {"validation_data": "credit@1"},
        });
        let (status, served) = s.post("/api/v1/models/served/endpoints", registration).await;
        assert_eq!(status, StatusCode::CREATED, "{served}");
        let base = "/api/v1/projects/default/models/served";
        let config = json!({"exclude": ["id", "default"], "explain_sample": 20});
        let (status, c) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(config)).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        let answer = s.ndjson(TOKEN, &format!("{base}/predictions"), records(0..30, Traffic::AsValidated, T0)).await;
        assert_eq!(answer["accepted"], 30, "{answer}");
        let (status, view) = s.get(&format!("{base}/monitoring?from={T0}&to={}", T0 + 3600), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let reason = view["windows"][0]["explain"]["skipped"].as_str().unwrap_or_else(|| panic!("{view}"));
        assert!(reason.contains("served over HTTP"), "{reason}");
    }
}
