//! Alerting end to end: drifting traffic fires a monitor after its persistence, one
//! incident opens (not one per window), a webhook receiver that fails at first gets the
//! signed payload later, the matching risk becomes more likely and falls back when the
//! incident is resolved; late labels that show a performance drop bring retrain advice.

use super::*;
use axum::body::Bytes;
use axum::http::HeaderMap;
use std::sync::Mutex;
use std::time::Duration;

const SECRET: &str = "a-secret-of-16+bytes";
/// 2026-09-22T12:00:00Z, on an hour boundary.
const T0: i64 = 1_790_078_400;

/// A webhook receiver on loopback that answers 500 to the first `failures` requests.
pub(crate) struct Receiver {
    pub(crate) url: String,
    pub(crate) got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

pub(crate) async fn receiver(failures: usize) -> Receiver {
    let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (g, c) = (got.clone(), calls.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (g, c) = (g.clone(), c.clone());
            async move {
                if c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < failures {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                g.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url: format!("http://{addr}/hook?team=risk"), got }
}

/// Records of one hour: `shift` moves income far from the reference.
fn hour(h: i64, n: usize, shift: f64, labelled: bool) -> Vec<u8> {
    (0..n)
        .map(|i| {
            let segment = ["a", "b", "c"][i % 3];
            // Both sexes get both predictions alike: fair, so only the monitors under test fire.
            let sex = ["f", "m"][(i / 2) % 2];
            let mut r = json!({
                "id": format!("h{h}-{i}"),
                "timestamp": T0 + h * 3600 + i as i64,
                "version": "1",
                "features": {"age": 20 + i % 50, "income": (i as f64) * 1.5 + shift, "segment": segment},
                "prediction": (i % 2) as u8,
                "score": if i % 2 == 1 { 0.8 } else { 0.3 },
                "attributes": {"sex": sex},
            });
            if labelled {
                r["label"] = json!((i % 2) as u8);
            }
            format!("{r}\n")
        })
        .collect::<String>()
        .into_bytes()
}

impl TestServer {
    pub(crate) async fn ndjson(&self, token: &str, path: &str, body: Vec<u8>) -> Value {
        let req = self.http.post(self.url(path)).bearer_auth(token).header("content-type", "application/x-ndjson");
        let (status, answer) = read(req.body(body).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    /// Polls `path` until `done` holds (the alerting task runs every 100 ms in tests).
    pub(crate) async fn eventually(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..300 {
            let (status, body) = self.get(path, Some(TOKEN)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if done(&body) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} never got there");
    }
}

async fn setup(s: &TestServer) -> String {
    let (status, p) = s
        .post(
            "/api/v1/projects",
            json!({"name": "fraud", "template": "finance", "workflow": "fraud_detection", "autonomy": "autonomous"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let (status, a) = s.post("/api/v1/projects/fraud/risks/assess", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let (status, d) = s.upload("/api/v1/datasets/payments/versions", json!({"project": "fraud"}), csv(300, 0.0)).await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let (status, m) = s
        .upload(
            "/api/v1/models/detector/versions",
            json!({"project": "fraud", "training_data": "payments@1"}),
            b"model".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    s.user("collector", &["ingest@fraud"]).await
}

fn likelihood(risks: &Value, mode: &str) -> Option<u64> {
    risks["risks"].as_array()?.iter().find(|e| e["failure_mode"] == mode)?["likelihood"].as_u64()
}

#[tokio::test]
async fn drift_fires_once_after_its_persistence_and_the_webhook_gets_it_signed() {
    for s in servers().await {
        let ingest = setup(&s).await;
        let base = "/api/v1/projects/fraud/models/detector";
        let (status, m) = s
            .call(
                "POST",
                &format!("{base}/monitors"),
                TOKEN,
                Some(json!({"metric": "drift.share", "above": 0.3, "for": 2})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let monitor = m["id"].as_str().unwrap().to_string();
        let hook = receiver(2).await;
        let (status, w) = s
            .call("POST", "/api/v1/projects/fraud/webhooks", TOKEN, Some(json!({"url": hook.url, "secret": SECRET})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{w}");
        assert!(!w.to_string().contains(SECRET), "the secret is never shown back");
        let (_, before) = s.get("/api/v1/projects/fraud/risks", Some(TOKEN)).await;

        // One calm hour (the reference's own values), then four drifting ones: the monitor fires on the second drifting
        // hour and the later ones join the same incident.
        s.ndjson(&ingest, &format!("{base}/predictions"), hour(0, 300, 0.0, false)).await;
        for h in 1..=4 {
            s.ndjson(&ingest, &format!("{base}/predictions"), hour(h, 200, 5000.0, false)).await;
        }
        let path = "/api/v1/incidents?model=detector";
        let ours = |v: &Value| -> Vec<Value> {
            v["incidents"].as_array().unwrap().iter().filter(|i| i["monitor_id"] == monitor.as_str()).cloned().collect()
        };
        let all = s.eventually(path, |v| ours(v).first().is_some_and(|i| i["windows"] == 4)).await;
        let incidents = ours(&all);
        assert_eq!(incidents.len(), 1, "one incident, not one per window: {all}");
        let incident = &incidents[0];
        assert_eq!(incident["state"], "open");
        assert_eq!(incident["first_window"], riskops_monitor::rfc3339(T0 + 3600));
        assert_eq!(incident["advice"]["action"], "retrain", "{incident}");
        assert!(incident["advice"]["drifted_features"].to_string().contains("income"), "{incident}");
        let id = incident["id"].as_i64().unwrap();

        // The receiver failed twice at first, then got the payload, signed over
        // "<timestamp>.<body>". (The tier's default monitors may open incidents too: each
        // gets its own delivery.)
        let ours_delivered = || {
            hook.got.lock().unwrap().iter().find_map(|(headers, body)| {
                let payload: Value = serde_json::from_slice(body).ok()?;
                (payload["incident"]["id"].as_i64() == Some(id)).then(|| (headers.clone(), body.clone(), payload))
            })
        };
        for _ in 0..100 {
            if ours_delivered().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (headers, body, payload) = ours_delivered().expect("the receiver got the incident");
        let timestamp = headers["x-riskops-timestamp"].to_str().unwrap();
        let expected = riskops_core::service::signature(SECRET, timestamp, &body);
        assert_eq!(headers["x-riskops-signature"].to_str().unwrap(), expected);
        assert_eq!(payload["event"], "incident.opened");
        let deliveries = s
            .eventually("/api/v1/projects/fraud/webhooks/deliveries", |v| {
                v["deliveries"].as_array().unwrap().iter().all(|d| d["state"] == "delivered")
            })
            .await;
        let attempts: Vec<u64> =
            deliveries["deliveries"].as_array().unwrap().iter().map(|d| d["attempts"].as_u64().unwrap()).collect();
        assert!(attempts.iter().any(|a| *a > 1), "a failed delivery was retried: {deliveries}");

        // The drift risk became more likely, audited: once, though the tier's own
        // drift-share monitor opened an incident for the same episode too.
        let twin = s
            .eventually(path, |v| {
                v["incidents"].as_array().unwrap().iter().any(|i| i["monitor_id"] == "default:drift_share")
            })
            .await;
        let twin = twin["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["monitor_id"] == "default:drift_share")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let (_, raised) = s.get("/api/v1/projects/fraud/risks", Some(TOKEN)).await;
        let was = likelihood(&before, "data_drift");
        let now = likelihood(&raised, "data_drift").expect("a data_drift entry");
        assert_eq!(now, was.map_or(now, |w| (w + 1).min(5)), "{raised}");
        assert!(audit_actions(&s).await.iter().any(|a| a == "incident.open"));

        // Acknowledging and resolving record who; a viewer may do neither.
        let viewer = s.user("vic", &["viewer"]).await;
        let officer = s.user("rosa", &["risk_officer"]).await;
        let (status, _) = s.call("POST", &format!("/api/v1/incidents/{id}/acknowledge"), &viewer, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, acked) = s
            .call("POST", &format!("/api/v1/incidents/{id}/acknowledge"), &officer, Some(json!({"note": "looking"})))
            .await;
        assert_eq!(status, StatusCode::OK, "{acked}");
        assert_eq!((acked["state"].as_str(), acked["acknowledged_by"].as_str()), (Some("acknowledged"), Some("rosa")));
        let (status, again) = s.call("POST", &format!("/api/v1/incidents/{id}/acknowledge"), &officer, None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
        let (status, resolved) = s
            .call("POST", &format!("/api/v1/incidents/{id}/resolve"), &officer, Some(json!({"note": "retrained"})))
            .await;
        assert_eq!(status, StatusCode::OK, "{resolved}");
        assert_eq!((resolved["resolved_by"].as_str(), resolved["note"].as_str()), (Some("rosa"), Some("retrained")));
        assert!(resolved["resolved_at"].is_string());
        // The twin incident still holds the drift open: the risk stays raised until it too
        // is resolved, then falls back.
        let (_, after) = s.get("/api/v1/projects/fraud/risks", Some(TOKEN)).await;
        assert_eq!(likelihood(&after, "data_drift"), Some(now), "handed to the open twin");
        let (status, _) = s.call("POST", &format!("/api/v1/incidents/{twin}/resolve"), &officer, None).await;
        assert_eq!(status, StatusCode::OK);
        let (_, after) = s.get("/api/v1/projects/fraud/risks", Some(TOKEN)).await;
        assert_eq!(likelihood(&after, "data_drift"), Some(now.saturating_sub(1).max(1)), "falls back on resolve");
        let actions = audit_actions(&s).await;
        assert!(actions.iter().any(|a| a == "incident.acknowledge") && actions.iter().any(|a| a == "incident.resolve"));
        s.stop().await;
    }
}

#[tokio::test]
async fn late_labels_that_show_a_performance_drop_bring_retrain_advice() {
    for s in servers().await {
        let ingest = setup(&s).await;
        let base = "/api/v1/projects/fraud/models/detector";
        let (status, m) = s
            .call(
                "POST",
                &format!("{base}/monitors"),
                TOKEN,
                Some(json!({"metric": "performance.accuracy", "below": 0.6, "severity": "high"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let monitor = m["id"].as_str().unwrap().to_string();
        for h in 0..2 {
            s.ndjson(&ingest, &format!("{base}/predictions"), hour(h, 100, 0.0, false)).await;
        }
        // Both hours close unlabelled: nothing to judge performance on yet.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (_, none) = s.get("/api/v1/incidents?model=detector", Some(TOKEN)).await;
        assert!(!none.to_string().contains(&format!("\"monitor_id\":\"{monitor}\"")), "{none}");

        // Labels arrive for hour 0: every prediction was wrong.
        let labels: Vec<Value> = (0..100).map(|i| json!({"id": format!("h0-{i}"), "label": 1 - (i % 2)})).collect();
        let (status, answer) = s.call("POST", &format!("{base}/labels"), &ingest, Some(json!(labels))).await;
        assert_eq!((status, answer["accepted"].as_u64()), (StatusCode::OK, Some(100)), "{answer}");
        let all = s
            .eventually("/api/v1/incidents?model=detector", |v| {
                v["incidents"].as_array().unwrap().iter().any(|i| i["monitor_id"] == monitor.as_str())
            })
            .await;
        let incident =
            all["incidents"].as_array().unwrap().iter().find(|i| i["monitor_id"] == monitor.as_str()).unwrap();
        assert_eq!(incident["first_window"], riskops_monitor::rfc3339(T0), "the labelled hour: {incident}");
        assert_eq!(incident["advice"]["action"], "retrain", "{incident}");
        assert_eq!(incident["advice"]["performance"]["accuracy"], 0.0, "{incident}");
        assert!(incident["severity"] == "high" || incident["severity"] == "critical", "{incident}");

        // With values per outcome, the window says what its mistakes cost: 50 false positives
        // at 25 and 50 false negatives at 400 in 100 decisions = 212,500 per 1,000.
        let kpi = json!({"currency": "EUR", "tp": 0, "fp": -25, "fn": -400, "tn": 0});
        let (status, body) = s.call("PUT", "/api/v1/models/detector/kpi", TOKEN, Some(kpi)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, report) = s.get(&format!("{base}/monitoring?from={T0}&to={}", T0 + 3600), Some(TOKEN)).await;
        let business = &report["windows"][0]["business"];
        assert_eq!(
            (business["currency"].as_str(), business["decisions"].as_u64()),
            (Some("EUR"), Some(100)),
            "{report}"
        );
        assert_eq!(business["cost_per_1000"].as_f64(), Some(212_500.0), "{business}");
        assert_eq!(business["cost"].as_f64(), Some(21_250.0), "{business}");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_window_below_the_minimum_size_reports_insufficient_drift_and_fires_nothing() {
    for s in servers().await {
        let ingest = setup(&s).await;
        let base = "/api/v1/projects/fraud/models/detector";
        let (status, m) = s
            .call("POST", &format!("{base}/monitors"), TOKEN, Some(json!({"metric": "drift.share", "above": 0.3})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let monitor = m["id"].as_str().unwrap().to_string();
        let ours = |v: &Value| v["incidents"].as_array().unwrap().iter().any(|i| i["monitor_id"] == monitor.as_str());

        // One far-off record an hour: each hour closes (the next exists, the last goes
        // quiet) and is judged, and nothing fires.
        for h in 0..3 {
            s.ndjson(&ingest, &format!("{base}/predictions"), hour(h, 1, 5000.0, false)).await;
        }
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (_, none) = s.get("/api/v1/incidents?model=detector", Some(TOKEN)).await;
        assert_eq!(none["incidents"], json!([]), "no monitor fires on a window of one record: {none}");
        let (_, report) = s.get(&format!("{base}/monitoring?from={T0}&to={}", T0 + 3600), Some(TOKEN)).await;
        let drift = &report["windows"][0]["drift"];
        assert_eq!((drift["status"].as_str(), drift["min_records"].as_u64()), (Some("insufficient"), Some(100)));
        assert!(drift["share"].as_f64().is_some_and(|x| x >= 0.3), "the statistics are shown: {drift}");

        // Bad sizes are refused; with a minimum of one record the same traffic fires.
        for bad in [json!(0), json!(-1), json!("ten"), json!(1.5)] {
            let (status, e) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"min_records": bad}))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
        }
        let (status, c) = s.call("PUT", &format!("{base}/monitor"), TOKEN, Some(json!({"min_records": 1}))).await;
        assert_eq!((status, c["min_records"].as_u64()), (StatusCode::OK, Some(1)), "{c}");
        for h in 3..5 {
            s.ndjson(&ingest, &format!("{base}/predictions"), hour(h, 1, 5000.0, false)).await;
        }
        let all = s.eventually("/api/v1/incidents?model=detector", ours).await;
        let incident =
            all["incidents"].as_array().unwrap().iter().find(|i| i["monitor_id"] == monitor.as_str()).unwrap();
        assert_eq!(incident["first_window"], riskops_monitor::rfc3339(T0 + 3 * 3600), "{incident}");
        s.stop().await;
    }
}

/// Records of hour `h` drawn like the reference (`csv(300, 0.0)`): ages, incomes and
/// segments cycle through its rows.
fn calm_hour(h: i64, tag: &str, range: std::ops::Range<usize>) -> Vec<u8> {
    range
        .map(|i| {
            let (segment, sex) = (["a", "b", "c"][i % 3], ["f", "m"][(i / 2) % 2]);
            let r = json!({
                "id": format!("{tag}-{i}"),
                "timestamp": T0 + h * 3600 + (i % 3000) as i64,
                "version": "1",
                "features": {"age": 20 + i % 50, "income": ((i % 300) as f64) * 1.5, "segment": segment},
                "prediction": (i % 2) as u8,
                "attributes": {"sex": sex},
            });
            format!("{r}\n")
        })
        .collect::<String>()
        .into_bytes()
}

#[tokio::test]
async fn an_incident_whose_windows_no_longer_breach_after_late_records_is_resolved_with_the_reason() {
    for s in servers().await {
        let ingest = setup(&s).await;
        let base = "/api/v1/projects/fraud/models/detector";
        let (status, m) = s
            .call("POST", &format!("{base}/monitors"), TOKEN, Some(json!({"metric": "drift.share", "above": 0.3})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let monitor = m["id"].as_str().unwrap().to_string();
        let hook = receiver(0).await;
        let (status, w) = s
            .call("POST", "/api/v1/projects/fraud/webhooks", TOKEN, Some(json!({"url": hook.url, "secret": SECRET})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{w}");

        // A drifting hour (income far off), closed by a calm one: the monitor fires.
        s.ndjson(&ingest, &format!("{base}/predictions"), hour(0, 100, 5000.0, false)).await;
        for part in [0..150, 150..300] {
            s.ndjson(&ingest, &format!("{base}/predictions"), calm_hour(1, "next", part)).await;
        }
        let ours = |v: &Value| -> Option<Value> {
            v["incidents"].as_array().unwrap().iter().find(|i| i["monitor_id"] == monitor.as_str()).cloned()
        };
        let all = s.eventually("/api/v1/incidents?model=detector", |v| ours(v).is_some()).await;
        let incident = ours(&all).unwrap();
        let id = incident["id"].as_i64().unwrap();
        assert_eq!(incident["windows"], 1, "the calm hour does not breach: {incident}");
        assert_eq!(incident["evidence"]["values"][0]["value"].as_f64(), Some(1.0 / 3.0), "{incident}");

        // Late records of the same hour, like the reference, outweigh the drifting ones: the
        // hour is judged again, its share is 0 now, and the incident resolves by itself.
        for part in 0..8 {
            let body = calm_hour(0, "late", part * 250..(part + 1) * 250);
            s.ndjson(&ingest, &format!("{base}/predictions"), body).await;
        }
        let path = format!("/api/v1/incidents/{id}");
        let resolved = s.eventually(&path, |i| i["state"] == "resolved").await;
        assert_eq!(resolved["resolved_by"], "system", "{resolved}");
        let note = resolved["note"].as_str().unwrap();
        assert!(note.contains("none of its 1 window(s) breaches drift.share") && note.contains(" 0)"), "{note}");
        let value = &resolved["evidence"]["values"][0];
        assert_eq!((value["value"].as_f64(), value["breached"].as_bool()), (Some(0.0), Some(false)), "{resolved}");
        assert!(audit_actions(&s).await.iter().any(|a| a == "incident.resolve"));
        let deliveries = s
            .eventually("/api/v1/projects/fraud/webhooks/deliveries", |v| {
                v["deliveries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["incident_id"] == id && d["event"] == "incident.resolved")
            })
            .await;
        assert!(deliveries.to_string().contains("incident.resolved"), "{deliveries}");
        s.stop().await;
    }
}
