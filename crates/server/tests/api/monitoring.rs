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

        // NDJSON with two bad records: an unknown feature (refused) and a value of the wrong
        // kind (kept, counted as a type violation of its feature).
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
        assert_eq!((answer["accepted"].as_u64(), answer["duplicates"].as_u64()), (Some(299), Some(0)), "{answer}");
        let rejected: Vec<u64> =
            answer["rejected"].as_array().unwrap().iter().map(|r| r["index"].as_u64().unwrap()).collect();
        assert_eq!(rejected, [5]);
        assert!(answer["rejected"][0]["reasons"].to_string().contains("height"), "{answer}");

        // The same batch again counts once; gzip is accepted.
        let mut gz = flate2_gzip(&ndjson);
        let (status, again) =
            s.send(&ingest, &format!("{base}/predictions"), "application/x-ndjson", std::mem::take(&mut gz)).await;
        assert_eq!(
            (status, again["accepted"].as_u64(), again["duplicates"].as_u64()),
            (StatusCode::OK, Some(0), Some(299)),
            "{again}"
        );

        // Fairness of predictions needs no labels; what needs labels waits for them.
        let (status, unlabelled) =
            s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000"), Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK, "{unlabelled}");
        let sex = &unlabelled["windows"][0]["fairness"]["sex"];
        assert!(
            sex["demographic_parity_difference"].is_number() && sex["demographic_parity_ratio"].is_number(),
            "{sex}"
        );
        assert!(sex["by_group"]["f"]["selection_rate"].is_number(), "{sex}");
        assert!(sex["equalized_odds_difference"].is_null() && sex["by_group"]["f"]["accuracy"].is_null(), "{sex}");

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
        assert_eq!((w["records"].as_u64(), w["labelled"].as_u64()), (Some(299), Some(149)), "{w}");
        assert_eq!(w["quality"]["type_violations"]["age"], 1, "{w}");
        let feature = |name: &str| {
            w["drift"]["features"].as_array().unwrap().iter().find(|f| f["name"] == name).cloned().unwrap()
        };
        assert_eq!(feature("income")["drifted"], true, "{w}");
        assert_eq!(feature("segment")["drifted"], false, "{w}");
        assert!(w["performance"]["accuracy"].is_number(), "{w}");
        assert!(w["fairness"]["sex"]["demographic_parity_difference"].is_number(), "{w}");
        assert!(w["fairness"]["sex"]["equalized_odds_difference"].is_number(), "labels bring it: {w}");
        assert_eq!(w["fairness"]["sex"]["labelled"], 149, "{w}");
        let (_, days) =
            s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000&granularity=day"), Some(&viewer)).await;
        assert_eq!(days["windows"][0]["records"], 299, "hours roll up into a day");

        // Who may: a viewer cannot send logs, the ingest account cannot read reports.
        let (status, _) = s.send(&viewer, &format!("{base}/predictions"), "application/x-ndjson", b"{}".to_vec()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = s.get(&format!("{base}/monitoring"), Some(&ingest)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        s.stop().await;
    }
}

#[tokio::test]
async fn rejected_records_count_in_their_window_by_reason_and_a_wrong_kind_keeps_the_record() {
    // A clock near the records' time, so /metrics finds their window among the recent ones.
    for (s, _clock) in servers_clocked().await {
        let (status, d) = s.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let base = "/api/v1/projects/default/models/churn";
        let (status, monitor) = s
            .call(
                "POST",
                &format!("{base}/monitors"),
                TOKEN,
                Some(json!({"metric": "quality.rejected_rate", "above": 0.3})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{monitor}");
        // Quality monitors judge windows of at least min_records arrivals: these have 9.
        let (status, c) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"min_records": 5}))).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        let mut lines: Vec<Value> = (0..10)
            .map(|i| {
                let mut r = record(i, 0.0, None);
                r["version"] = json!("1");
                r
            })
            .collect();
        lines[0]["features"]["height"] = json!(180);
        lines[1]["features"].as_object_mut().unwrap().remove("segment");
        lines[2]["prediction"] = Value::Null;
        lines[3]["features"]["age"] = json!("old");
        lines[4]["features"]["age"] = json!(10697.5);
        lines[5]["features"]["income"] = json!([1.5]);
        // Refused too, two hours later: it counts in its own hour's window.
        lines[9]["features"]["height"] = json!(180);
        lines[9]["timestamp"] = json!(1_790_000_000 + 7200);
        let ndjson: Vec<u8> = lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes();
        let (status, answer) =
            s.send(TOKEN, &format!("{base}/predictions"), "application/x-ndjson", ndjson.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let rejected: Vec<u64> =
            answer["rejected"].as_array().unwrap().iter().map(|r| r["index"].as_u64().unwrap()).collect();
        assert_eq!((answer["accepted"].as_u64(), rejected), (Some(6), vec![0, 1, 2, 9]), "{answer}");
        // Sent again (a retry): refused again, counted once.
        let (status, again) = s.send(TOKEN, &format!("{base}/predictions"), "application/x-ndjson", ndjson).await;
        assert_eq!((status, again["rejected"].as_array().map(Vec::len)), (StatusCode::OK, Some(4)), "{again}");

        let (status, report) = s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000"), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let windows = report["windows"].as_array().unwrap();
        assert_eq!(windows.len(), 2, "{report}");
        let q = &windows[0]["quality"];
        assert_eq!((windows[0]["records"].as_u64(), q["rejected"].as_u64()), (Some(6), Some(3)), "{q}");
        assert_eq!(q["rejected_rate"].as_f64(), Some(3.0 / 9.0), "{q}");
        assert_eq!(q["rejected_by_reason"], json!({"unknown_feature": 1, "missing_feature": 1, "type": 1}), "{q}");
        assert_eq!(q["type_violations"]["age"], 1, "text in a numeric column: kept, its value left out: {q}");
        assert_eq!(q["type_violations"]["income"], 1, "an array where a number belongs: the same: {q}");
        let later = &windows[1];
        assert_eq!((later["records"].as_u64(), later["quality"]["rejected_rate"].as_f64()), (Some(0), Some(1.0)));
        assert_eq!(later["quality"]["rejected_by_reason"]["unknown_feature"], 1, "{later}");

        // A monitor on the path fires on the first hour (closed by the later window).
        let id = monitor["id"].as_str().unwrap();
        let mut fired = false;
        for _ in 0..100 {
            let (_, incidents) = s.get("/api/v1/incidents?model=churn", Some(TOKEN)).await;
            if incidents["incidents"].as_array().unwrap().iter().any(|i| i["monitor_id"] == id) {
                fired = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(fired, "a quality.rejected_rate monitor opened an incident");

        // /metrics: the latest window's refused records and rate.
        let text = s.http.get(s.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
        let labels = r#"project="default",model="churn",version="1""#;
        assert!(text.contains(&format!("riskops_window_rejected_rate{{{labels}}} 1\n")), "{text}");
        assert!(
            text.contains(&format!("riskops_window_rejected_records{{{labels},reason=\"unknown_feature\"}} 1\n")),
            "{text}"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn changing_the_feature_set_opens_new_windows_and_labels_still_land_in_the_old_ones() {
    for s in servers().await {
        let (status, d) = s.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let base = "/api/v1/projects/default/models/churn";
        let batch = |range: std::ops::Range<usize>, without: Option<&str>| -> Vec<u8> {
            range
                .map(|i| {
                    let mut r = record(i, 0.0, None);
                    r["version"] = json!("1");
                    if let Some(name) = without {
                        r["features"].as_object_mut().unwrap().remove(name);
                    }
                    format!("{r}\n")
                })
                .collect::<String>()
                .into_bytes()
        };
        let path = format!("{base}/predictions");
        let ingest = |body: Vec<u8>| s.send(TOKEN, &path, "application/x-ndjson", body);
        let (status, a) = ingest(batch(0..150, None)).await;
        assert_eq!((status, a["accepted"].as_u64()), (StatusCode::OK, Some(150)), "{a}");

        // The model stops using `segment`; records of the same hour keep coming.
        let (status, c) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"exclude": ["segment"]}))).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        let (status, b) = ingest(batch(150..300, Some("segment"))).await;
        assert_eq!((status, b["accepted"].as_u64()), (StatusCode::OK, Some(150)), "{b}");
        let (status, b) = ingest(batch(300..310, Some("segment"))).await;
        assert_eq!((status, b["accepted"].as_u64()), (StatusCode::OK, Some(10)), "the new window fills: {b}");

        // Labels for records of both windows land.
        let labels = json!([{"id": "r3", "label": 1}, {"id": "r200", "label": 0}]);
        let (status, l) = s.call("POST", &format!("{base}/labels"), TOKEN, Some(labels)).await;
        assert_eq!((status, l["accepted"].as_u64()), (StatusCode::OK, Some(2)), "{l}");

        let features = |w: &Value| -> Vec<String> {
            w["drift"]["features"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect()
        };
        for granularity in ["", "&granularity=day"] {
            let (status, report) =
                s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000{granularity}"), Some(TOKEN)).await;
            assert_eq!(status, StatusCode::OK, "{report}");
            let windows = report["windows"].as_array().unwrap();
            assert_eq!(windows.len(), 2, "one window per feature set: {report}");
            let counts: Vec<(u64, u64)> =
                windows.iter().map(|w| (w["records"].as_u64().unwrap(), w["labelled"].as_u64().unwrap())).collect();
            assert_eq!(counts, [(150, 1), (160, 1)], "{report}");
            assert!(features(&windows[0]).contains(&"segment".to_string()), "{report}");
            assert!(!features(&windows[1]).contains(&"segment".to_string()), "{report}");
        }

        // Windows of N records: the half-full window of the old feature set closes too.
        let (status, m) = s
            .upload("/api/v1/models/churn2/versions", json!({"training_data": "customers@1"}), b"model2".to_vec())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let base2 = "/api/v1/projects/default/models/churn2";
        let (status, c) =
            s.call("PUT", &format!("{base2}/monitor"), TOKEN, Some(json!({"window": "records:100"}))).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        let path2 = format!("{base2}/predictions");
        let (status, a) = s.send(TOKEN, &path2, "application/x-ndjson", batch(0..50, None)).await;
        assert_eq!((status, a["accepted"].as_u64()), (StatusCode::OK, Some(50)), "{a}");
        let config = json!({"window": "records:100", "exclude": ["segment"]});
        let (status, c) = s.call("PUT", &format!("{base2}/monitor"), TOKEN, Some(config)).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        let (status, b) = s.send(TOKEN, &path2, "application/x-ndjson", batch(50..100, Some("segment"))).await;
        assert_eq!((status, b["accepted"].as_u64()), (StatusCode::OK, Some(50)), "{b}");
        let (status, l) =
            s.call("POST", &format!("{base2}/labels"), TOKEN, Some(json!([{"id": "r1", "label": 1}]))).await;
        assert_eq!((status, l["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{l}");
        let (status, report) = s.get(&format!("{base2}/monitoring?from=1789990000&to=1790010000"), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let counts: Vec<(u64, u64)> = report["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["records"].as_u64().unwrap(), w["labelled"].as_u64().unwrap()))
            .collect();
        assert_eq!(counts, [(50, 1), (50, 0)], "{report}");
        s.stop().await;
    }
}

fn flate2_gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn windows_of_n_records_fill_in_arrival_order_and_roll_up_into_days() {
    for s in servers().await {
        let (status, d) = s.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let base = "/api/v1/projects/default/models/churn";
        let (status, c) =
            s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"window": "records:100"}))).await;
        assert_eq!((status, c["window"].as_str()), (StatusCode::OK, Some("records:100")), "{c}");
        for bad in ["records:0", "records:x", "records:20000000", "week"] {
            let (status, e) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"window": bad}))).await;
            assert_eq!(
                (status, e["error"]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("window")),
                "{bad}"
            );
        }

        // 250 records in batches of 150 and 100 new: windows of 100, 100 and 50, in order.
        let batch = |range: std::ops::Range<usize>| -> Vec<u8> {
            range
                .map(|i| {
                    let mut r = record(i, 0.0, None);
                    r["version"] = json!("1");
                    format!("{r}\n")
                })
                .collect::<String>()
                .into_bytes()
        };
        // The second batch repeats 50 records of the first, the third is the first again.
        for (range, accepted, duplicates) in [(0..150, 150, 0), (100..250, 100, 50), (0..150, 0, 150)] {
            let (status, a) = s.send(TOKEN, &format!("{base}/predictions"), "application/x-ndjson", batch(range)).await;
            assert_eq!(status, StatusCode::OK, "{a}");
            assert_eq!((a["accepted"].as_u64(), a["duplicates"].as_u64()), (Some(accepted), Some(duplicates)), "{a}");
        }
        let (status, report) = s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000"), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let windows = report["windows"].as_array().unwrap();
        let counts: Vec<u64> = windows.iter().map(|w| w["records"].as_u64().unwrap()).collect();
        assert_eq!(counts, [100, 100, 50], "resending counted nothing twice: {report}");
        // Prediction drift: each window's predictions against the version's first window's.
        assert!(windows[0]["prediction_drift"]["skipped"].as_str().unwrap().contains("first window"), "{report}");
        for w in &windows[1..] {
            let p = &w["prediction_drift"];
            assert_eq!((p["method"].as_str(), p["drifted"].as_bool()), (Some("ztest"), Some(false)), "{w}");
        }
        // Record i has timestamp 1_790_000_000 + i: a window spans its records' times.
        assert_eq!(windows[1]["start"], riskops_monitor::rfc3339(1_790_000_100));
        assert_eq!(windows[1]["end"], riskops_monitor::rfc3339(1_790_000_200));

        // A late label lands in its record's window.
        let (status, l) =
            s.call("POST", &format!("{base}/labels"), TOKEN, Some(json!([{"id": "r120", "label": 1}]))).await;
        assert_eq!((status, l["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{l}");
        let (_, after) = s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000"), Some(TOKEN)).await;
        let labelled: Vec<u64> =
            after["windows"].as_array().unwrap().iter().map(|w| w["labelled"].as_u64().unwrap()).collect();
        assert_eq!(labelled, [0, 1, 0]);

        let (_, days) =
            s.get(&format!("{base}/monitoring?from=1789990000&to=1790010000&granularity=day"), Some(TOKEN)).await;
        assert_eq!(days["windows"].as_array().unwrap().len(), 1, "{days}");
        assert_eq!(days["windows"][0]["records"], 250);
        s.stop().await;
    }
}

#[tokio::test]
async fn raw_records_are_kept_as_parquet_segments_until_their_retention_ends() {
    for (s, clock) in servers_clocked().await {
        let (status, d) = s.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let (status, m) =
            s.upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let base = "/api/v1/projects/default/models/churn";
        let (status, c) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"retention_days": 2}))).await;
        assert_eq!((status, c["retention_days"].as_u64()), (StatusCode::OK, Some(2)), "{c}");
        let (status, e) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"retention_days": 0}))).await;
        assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("retention_days")));

        let ndjson: Vec<u8> = (0..120)
            .map(|i| {
                let mut r = record(i, 0.0, Some((i % 2) as u8));
                r["version"] = json!("1");
                format!("{r}\n")
            })
            .collect::<String>()
            .into_bytes();
        for _ in 0..2 {
            let (status, a) =
                s.send(TOKEN, &format!("{base}/predictions"), "application/x-ndjson", ndjson.clone()).await;
            assert_eq!(status, StatusCode::OK, "{a}");
        }
        let (status, list) = s.get(&format!("{base}/segments"), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let segments = list["segments"].as_array().unwrap();
        assert_eq!(segments.len(), 1, "a resent batch adds no segment: {list}");
        assert_eq!(segments[0]["records"], 120);
        assert_eq!(segments[0]["expires_at"], "2026-10-03T00:00:00Z");
        let digest = segments[0]["digest"].as_str().unwrap().to_string();

        // The file is Parquet with the CSV batch's columns, served against its digest.
        let file = s.http.get(s.url(&format!("{base}/segments/{digest}"))).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        let bytes = file.bytes().await.unwrap();
        assert!(bytes.starts_with(b"PAR1"));
        assert_eq!(sha256_hex(&bytes), digest);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segment.parquet");
        std::fs::write(&path, &bytes).unwrap();
        let table = riskops_parquet::read_parquet(&path, None, &|_| {}).unwrap();
        let names: Vec<&str> = table.table.columns.iter().map(|c| c.name.as_str()).collect();
        for column in ["id", "timestamp", "prediction", "label", "age", "income", "segment", "attr.sex"] {
            assert!(names.contains(&column), "{column} in {names:?}");
        }
        assert_eq!(table.table.rows, 120);

        // Raw records may hold personal data: a viewer sees the list, not the records.
        let viewer = s.user("vera", &["viewer"]).await;
        let (status, _) = s.get(&format!("{base}/segments"), Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK);
        let denied = s.http.get(s.url(&format!("{base}/segments/{digest}"))).bearer_auth(&viewer).send().await.unwrap();
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);

        // Past its retention the segment and its object go (the alerting task drops them).
        clock.advance(time::Duration::days(2));
        let mut left = usize::MAX;
        for _ in 0..100 {
            let (_, list) = s.get(&format!("{base}/segments"), Some(TOKEN)).await;
            left = list["segments"].as_array().unwrap().len();
            if left == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(left, 0, "expired segments are dropped");
        let gone = s.http.get(s.url(&format!("{base}/segments/{digest}"))).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        assert!(audit_actions(&s).await.iter().any(|a| a == "predictions.expire"));
        s.stop().await;
    }
}

#[tokio::test]
async fn a_csv_batch_names_its_columns_as_segments_do() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    let (status, _) = s.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        s.upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED);
    let ingest = s.user("collector", &["ingest@default"]).await;
    // proba.<class> columns are the record's probabilities (as a segment writes them), not
    // features the schema would refuse; attr.<name> are attributes.
    let body = "id,timestamp,version,prediction,proba.1,proba.0,age,income,segment,attr.sex\n\
                a,1790000000,1,1,0.8,0.2,30,10.5,a,f\n\
                b,1790000001,1,0,0.3,0.7,40,20.5,b,m\n";
    let (status, answer) =
        s.send(&ingest, "/api/v1/projects/default/models/churn/predictions", "text/csv", body.into()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_array().map(Vec::len)),
        (Some(2), Some(0)),
        "{answer}"
    );
}
