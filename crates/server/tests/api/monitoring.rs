//! Monitoring over HTTP: prediction logs in (partial batches, idempotent ids), late labels,
//! window reports out, and who may do what.

use super::*;

fn record(i: usize, shift: f64, label: Option<u8>) -> Value {
    let segment = ["a", "b", "c"][i % 3];
    let sex = ["f", "m"][i % 2];
    let mut r = json!({
        "id": format!("r{i}"),
        "timestamp": 1_790_000_000 + i as i64,
        "features": {"age": 20 + i % 50, "income": (i as f64) * 1.5 + shift, "segment": segment},
        "prediction": (i % 2) as u8,
        "score": if i % 2 == 1 { 0.8 } else { 0.3 },
        "attributes": {"sex": sex},
    });
    if let Some(l) = label {
        r["label"] = json!(l);
    }
    r
}

impl TestServer {
    async fn send(&self, token: &str, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let req = self.http.post(self.url(path)).bearer_auth(token).header("content-type", content_type).body(body);
        read(req.send().await.unwrap()).await
    }
}

#[tokio::test]
async fn predictions_are_ingested_once_labelled_late_and_reported_per_window() {
    for s in servers().await {
        let (status, d) = s.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let ingest = s.user("collector", &["ingest@default"]).await;
        let viewer = s.user("vera", &["viewer"]).await;
        let base = "/api/v1/projects/default/models/churn";

        // NDJSON with two bad records: an unknown feature and a wrong type.
        let mut lines: Vec<Value> = (0..300)
            .map(|i| {
                let mut r = record(i, 2000.0, None);
                r["version"] = json!("1");
                r
            })
            .collect();
        lines[5]["features"]["height"] = json!(180);
        lines[7]["features"]["age"] = json!("old");
        let ndjson: Vec<u8> = lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes();
        let (status, answer) =
            s.send(&ingest, &format!("{base}/predictions"), "application/x-ndjson", ndjson.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!((answer["accepted"].as_u64(), answer["duplicates"].as_u64()), (Some(298), Some(0)), "{answer}");
        let rejected: Vec<u64> =
            answer["rejected"].as_array().unwrap().iter().map(|r| r["index"].as_u64().unwrap()).collect();
        assert_eq!(rejected, [5, 7]);
        assert!(answer["rejected"][0]["reasons"].to_string().contains("height"), "{answer}");

        // The same batch again counts once; gzip is accepted.
        let mut gz = flate2_gzip(&ndjson);
        let (status, again) =
            s.send(&ingest, &format!("{base}/predictions"), "application/x-ndjson", std::mem::take(&mut gz)).await;
        assert_eq!(
            (status, again["accepted"].as_u64(), again["duplicates"].as_u64()),
            (StatusCode::OK, Some(0), Some(298)),
            "{again}"
        );

        // Late labels: half of them, then the same again (once).
        let labels: Vec<Value> = (0..300)
            .filter(|i| i % 2 == 0 && *i != 6)
            .map(|i| json!({"id": format!("r{i}"), "label": (i % 4 == 0) as u8}))
            .collect();
        let (status, labelled) = s.call("POST", &format!("{base}/labels"), &ingest, Some(json!(labels))).await;
        assert_eq!(status, StatusCode::OK, "{labelled}");
        assert_eq!(labelled["accepted"], 149);
        let (_, twice) = s.call("POST", &format!("{base}/labels"), &ingest, Some(json!(labels))).await;
        assert_eq!((twice["accepted"].as_u64(), twice["duplicates"].as_u64()), (Some(0), Some(149)));

        // Reports: one window; income drifted (shifted by 2000), segment did not.
        let (status, report) = s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000"), Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let w = &report["windows"][0];
        assert_eq!((w["records"].as_u64(), w["labelled"].as_u64()), (Some(298), Some(149)), "{w}");
        let feature = |name: &str| {
            w["drift"]["features"].as_array().unwrap().iter().find(|f| f["name"] == name).cloned().unwrap()
        };
        assert_eq!(feature("income")["drifted"], true, "{w}");
        assert_eq!(feature("segment")["drifted"], false, "{w}");
        assert!(w["performance"]["accuracy"].is_number(), "{w}");
        assert!(w["fairness"]["sex"]["demographic_parity_difference"].is_number(), "{w}");
        let (_, days) =
            s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000&granularity=day"), Some(&viewer)).await;
        assert_eq!(days["windows"][0]["records"], 298, "hours roll up into a day");

        // Who may: a viewer cannot send logs, the ingest account cannot read reports.
        let (status, _) = s.send(&viewer, &format!("{base}/predictions"), "application/x-ndjson", b"{}".to_vec()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = s.get(&format!("{base}/monitoring"), Some(&ingest)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        s.stop().await;
    }
}

fn flate2_gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}
