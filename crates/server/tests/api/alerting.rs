//! Alerting over HTTP: a model's monitors (its own and its tier's defaults), webhooks
//! whose secrets are never shown, incidents, a project's monitoring status, and who may do
//! what.

use super::*;
use std::time::Duration;

const WEBHOOK_SECRET: &str = "whsec-0123456789-abcdef";

impl TestServer {
    /// A DELETE; a 204 has no body, so only the status and the text are returned.
    async fn delete_as(&self, path: &str, token: &str) -> (StatusCode, String) {
        let response = self.http.delete(self.url(path)).bearer_auth(token).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The body as text, for checking what it never contains.
    async fn get_text(&self, path: &str) -> String {
        let response = self.http.get(self.url(path)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

/// The `default` project (high tier until assessed) with the model `churn` trained on
/// `customers@1`.
/// Returns the model version as registered.
pub(crate) async fn churn(s: &TestServer) -> Value {
    let (status, d) = s.upload("/api/v1/datasets/customers/versions", json!({}), csv(300, 0.0)).await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let (status, m) =
        s.upload("/api/v1/models/churn/versions", json!({"training_data": "customers@1"}), b"model".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    m
}

fn ids(view: &Value) -> Vec<String> {
    view["monitors"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn monitors_are_added_listed_removed_and_tier_defaults_switched_off() {
    for s in servers().await {
        churn(&s).await;
        let viewer = s.user("vera", &["viewer"]).await;
        let ingest = s.user("collector", &["ingest@default"]).await;
        let scientist = s.user("dana", &["data_scientist@default"]).await;
        let base = "/api/v1/projects/default/models/churn/monitors";

        // The tier's defaults apply from the start.
        let (status, view) = s.get(base, Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert_eq!((view["model"].as_str(), view["tier"].as_str()), (Some("churn"), Some("high")), "{view}");
        assert!(ids(&view).contains(&"default:drift_share".to_string()), "{view}");
        assert!(view["monitors"].as_array().unwrap().iter().all(|m| m["origin"] == "tier default"), "{view}");

        let f1 = json!({"metric": "performance.f1", "below": -0.05, "relative": true, "for": 3, "severity": "high"});
        let (status, added) = s.call("POST", base, TOKEN, Some(f1)).await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        assert_eq!(added["id"], "m1");
        assert_eq!(
            (
                added["comparison"].as_str(),
                added["threshold"].as_f64(),
                added["relative"].as_bool(),
                added["for"].as_u64()
            ),
            (Some("below"), Some(-0.05), Some(true), Some(3)),
            "{added}"
        );
        let (status, second) = s.call("POST", base, &scientist, Some(json!({"metric": "drift.feature.income"}))).await;
        assert_eq!((status, second["id"].as_str()), (StatusCode::CREATED, Some("m2")), "{second}");
        let (_, view) = s.get(base, Some(TOKEN)).await;
        let own: Vec<&Value> = view["monitors"].as_array().unwrap().iter().filter(|m| m["origin"] == "model").collect();
        assert_eq!(own.len(), 2, "{view}");
        assert_eq!(own[0]["description"], "performance.f1 change from the reference < -0.05 for 3 windows");

        // Bad monitors name the field; bad JSON is a 400.
        for (body, field) in [
            (json!({"metric": "drift.sharee", "above": 0.3}), "metric"),
            (json!({"metric": "drift.share"}), "above"),
            (json!({"metric": "drift.share", "above": 0.3, "for": 0}), "for"),
            (json!({"metric": "drift.share", "above": 0.3, "severity": "huge"}), "severity"),
            (json!({"metric": "drift.share", "above": 0.3, "colour": "red"}), "colour"),
        ] {
            let (status, e) = s.call("POST", base, TOKEN, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
            assert_error(&e, "invalid_field");
            assert_eq!(e["error"]["field"], field, "{e}");
        }
        let (status, e) = s.post_raw(base, "{\"metric\": ").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");

        // Who may: a viewer reads but does not edit; an ingest account does neither.
        let volume = json!({"metric": "volume", "below": 10});
        let (status, e) = s.call("POST", base, &viewer, Some(volume.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        let (status, e) = s.call("POST", base, &ingest, Some(volume.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
        let (status, _) = s.get(base, Some(&ingest)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = s.delete_as(&format!("{base}/m1"), &viewer).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The model must belong to the project in the path.
        let (status, p) = s.post("/api/v1/projects", json!({"name": "other"})).await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let (status, e) = s.get("/api/v1/projects/other/models/churn/monitors", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, e) = s.call("POST", "/api/v1/projects/other/models/churn/monitors", TOKEN, Some(volume)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, _) = s.delete_as("/api/v1/projects/other/models/churn/monitors/m1", TOKEN).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, e) = s.get("/api/v1/projects/default/models/nope/monitors", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");

        // Removing: a tier default (colon URL-encoded) is switched off, a model's own goes.
        // Defaults are the risk function's bar: not the data scientist's, nor the model's
        // author's (the admin registered churn) to lower.
        let before = s.audit_head().await;
        let (status, text) = s.delete_as(&format!("{base}/default%3Adrift_share"), &scientist).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
        let (status, text) = s.delete_as(&format!("{base}/default%3Adrift_share"), TOKEN).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
        assert!(text.contains("author"), "{text}");
        assert_eq!(s.audit_head().await, before, "a refused switch-off changes nothing");
        let risk = s.user("rita", &["risk_officer@default"]).await;
        let (status, text) = s.delete_as(&format!("{base}/default%3Adrift_share"), &risk).await;
        assert_eq!((status, text.as_str()), (StatusCode::NO_CONTENT, ""));
        let (status, text) = s.delete_as(&format!("{base}/default:drift_share"), TOKEN).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "switched off already: {text}");
        let (status, _) = s.delete_as(&format!("{base}/m1"), TOKEN).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = s.delete_as(&format!("{base}/m1"), TOKEN).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, view) = s.get(base, Some(TOKEN)).await;
        assert_eq!(view["disabled_defaults"], json!(["default:drift_share"]), "{view}");
        let now = ids(&view);
        assert!(!now.contains(&"default:drift_share".to_string()) && !now.contains(&"m1".to_string()), "{view}");
        assert!(now.contains(&"m2".to_string()) && now.contains(&"default:fairness".to_string()), "{view}");

        // Every change is in the audit trail.
        let (_, events) = s.get("/api/v1/audit/events?target=model:churn", Some(TOKEN)).await;
        let actions: Vec<&str> =
            events["events"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions.iter().filter(|a| **a == "monitor.add").count(), 2, "{events}");
        assert_eq!(actions.iter().filter(|a| **a == "monitor.remove").count(), 2, "{events}");
        s.stop().await;
    }
}

#[tokio::test]
async fn webhooks_are_added_listed_and_removed_and_their_secret_never_shown() {
    for s in servers().await {
        let viewer = s.user("vera", &["viewer"]).await;
        let scientist = s.user("dana", &["data_scientist@default"]).await;
        let base = "/api/v1/projects/default/webhooks";
        let hook =
            json!({"url": "https://hooks.example.com/riskops?team=risk", "secret": WEBHOOK_SECRET, "format": "slack"});

        let (status, added) = s.call("POST", base, TOKEN, Some(hook.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        assert_eq!((added["format"].as_str(), added["project"].as_str()), (Some("slack"), Some("default")), "{added}");
        assert!(!added.to_string().contains(WEBHOOK_SECRET), "{added}");
        let id = added["id"].as_i64().unwrap();
        let (status, plain) =
            s.call("POST", base, TOKEN, Some(json!({"url": "http://127.0.0.1:9/h", "secret": WEBHOOK_SECRET}))).await;
        assert_eq!((status, plain["format"].as_str()), (StatusCode::CREATED, Some("json")), "{plain}");

        let (status, list) = s.get(base, Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["webhooks"].as_array().unwrap().len(), 2, "{list}");
        assert_eq!(list["webhooks"][0]["id"], id, "{list}");
        for path in [base.to_string(), format!("{base}/deliveries"), "/api/v1/audit/events".to_string()] {
            let text = s.get_text(&path).await;
            assert!(!text.contains(WEBHOOK_SECRET), "{path} shows the secret: {text}");
            // A receiver's path and query may be its credential (a Slack hook's path is).
            assert!(!text.contains("team=risk") && !text.contains("/riskops"), "{path} shows the URL: {text}");
        }
        assert_eq!(list["webhooks"][0]["url"], "https://hooks.example.com/…", "{list}");
        let (status, deliveries) = s.get(&format!("{base}/deliveries?webhook={id}&limit=10"), Some(&viewer)).await;
        assert_eq!((status, deliveries), (StatusCode::OK, json!({"deliveries": []})));

        // Bad input names the field.
        for (body, field) in [
            (json!({"url": "ftp://hooks.example.com/x", "secret": WEBHOOK_SECRET}), "url"),
            (json!({"url": "https://user:pw@hooks.example.com/x", "secret": WEBHOOK_SECRET}), "url"),
            (json!({"secret": WEBHOOK_SECRET}), "url"),
            (json!({"url": "https://hooks.example.com/x"}), "secret"),
            (json!({"url": "https://hooks.example.com/x", "secret": "short"}), "secret"),
            (json!({"url": "https://hooks.example.com/x", "secret": WEBHOOK_SECRET, "format": "teams"}), "format"),
            (json!({"url": "https://hooks.example.com/x", "secret": WEBHOOK_SECRET, "retries": 3}), "retries"),
            (json!({"url": 5, "secret": WEBHOOK_SECRET}), "url"),
        ] {
            let (status, e) = s.call("POST", base, TOKEN, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
            assert_eq!(e["error"]["field"], field, "{e}");
            assert!(!e.to_string().contains(WEBHOOK_SECRET), "{e}");
        }
        let (status, e) = s.post_raw(base, "{\"url\": ").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");

        // Only admins and risk officers manage webhooks.
        for token in [&viewer, &scientist] {
            let (status, e) = s.call("POST", base, token, Some(hook.clone())).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
            let (status, _) = s.delete_as(&format!("{base}/{id}"), token).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }

        // Unknown projects and ids are not found.
        let (status, e) = s.get("/api/v1/projects/nope/webhooks", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, e) = s.call("POST", "/api/v1/projects/nope/webhooks", TOKEN, Some(hook.clone())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, e) = s.get("/api/v1/projects/nope/webhooks/deliveries", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, p) = s.post("/api/v1/projects", json!({"name": "other"})).await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let (status, _) = s.delete_as(&format!("/api/v1/projects/other/webhooks/{id}"), TOKEN).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a webhook is removed through its own project");

        let (status, text) = s.delete_as(&format!("{base}/{id}"), TOKEN).await;
        assert_eq!((status, text.as_str()), (StatusCode::NO_CONTENT, ""));
        let (status, _) = s.delete_as(&format!("{base}/{id}"), TOKEN).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, list) = s.get(base, Some(TOKEN)).await;
        let left: Vec<i64> = list["webhooks"].as_array().unwrap().iter().map(|w| w["id"].as_i64().unwrap()).collect();
        assert_eq!(left, [plain["id"].as_i64().unwrap()], "{list}");
        s.stop().await;
    }
}

#[tokio::test]
async fn incidents_are_listed_and_unknown_ones_not_found() {
    for s in servers().await {
        let viewer = s.user("vera", &["viewer"]).await;
        for path in ["/api/v1/incidents", "/api/v1/incidents?project=default&model=churn&state=open"] {
            let (status, list) = s.get(path, Some(&viewer)).await;
            assert_eq!((status, list), (StatusCode::OK, json!({"incidents": []})), "{path}");
        }
        let (status, e) = s.get("/api/v1/incidents?state=closed", Some(TOKEN)).await;
        assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("state")), "{e}");
        let (status, e) = s.get("/api/v1/incidents/999", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        for action in ["acknowledge", "resolve"] {
            let path = format!("/api/v1/incidents/999/{action}");
            let (status, e) = s.call("POST", &path, TOKEN, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
            let (status, e) = s.call("POST", &path, TOKEN, Some(json!({"note": "on it"}))).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
            let (status, e) = s.call("POST", &path, TOKEN, Some(json!({"note": 5}))).await;
            assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("note")), "{e}");
            let (status, e) = s.call("POST", &path, TOKEN, Some(json!({"comment": "x"}))).await;
            assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("comment")));
            let (status, e) = s.post_raw(&path, "{\"note\": ").await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        }
        s.stop().await;
    }
}

/// Records of the hour starting at `start`: income far from the reference, every `f`
/// predicted 0 and every `m` 1 (so the fairness default fires too).
pub(crate) fn drifting_hour(start: i64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| {
            let (segment, sex) = (["a", "b", "c"][i % 3], ["f", "m"][i % 2]);
            let r = json!({
                "id": format!("s{start}-{i}"),
                "timestamp": start + i as i64,
                "version": "1",
                "features": {"age": 20 + i % 50, "income": (i as f64) * 1.5 + 5000.0, "segment": segment},
                "prediction": (i % 2) as u8,
                "score": if i % 2 == 1 { 0.8 } else { 0.3 },
                "attributes": {"sex": sex},
            });
            format!("{r}\n")
        })
        .collect::<String>()
        .into_bytes()
}

#[tokio::test]
async fn status_shows_each_model_with_its_last_window_open_incidents_and_advice() {
    for s in servers().await {
        let viewer = s.user("vera", &["viewer"]).await;
        let ingest = s.user("collector", &["ingest@default"]).await;
        let status_path = "/api/v1/projects/default/monitoring/status";

        let (status, empty) = s.get(status_path, Some(&viewer)).await;
        assert_eq!(status, StatusCode::OK, "{empty}");
        assert_eq!(empty["models"], json!([]), "{empty}");

        let model = churn(&s).await;
        let (_, fresh) = s.get(status_path, Some(&viewer)).await;
        let m = &fresh["models"][0];
        assert_eq!((m["model"].as_str(), m["tier"].as_str()), (Some("churn"), Some("high")), "{fresh}");
        assert_eq!((&m["stages"], &m["last_window"]), (&json!({}), &Value::Null), "{fresh}");
        assert_eq!((&m["open_incidents"], &m["advice"]), (&json!([]), &json!([])), "{fresh}");

        // Two drifting hours that have ended: the drift default (2 windows) fires with advice.
        // The server's clock, as it stamped the model.
        let created = model["created_at"].as_str().unwrap();
        let now = time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp();
        let hour = now - now % 3600;
        for start in [hour - 3 * 3600, hour - 2 * 3600] {
            let req = s
                .http
                .post(s.url("/api/v1/projects/default/models/churn/predictions"))
                .bearer_auth(&ingest)
                .header("content-type", "application/x-ndjson");
            let (status, answer) = read(req.body(drifting_hour(start, 120)).send().await.unwrap()).await;
            assert_eq!((status, answer["accepted"].as_u64()), (StatusCode::OK, Some(120)), "{answer}");
        }
        let mut shown = Value::Null;
        for _ in 0..300 {
            let (status, body) = s.get(status_path, Some(&viewer)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if body["models"][0]["advice"].as_array().is_some_and(|a| !a.is_empty()) {
                shown = body;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let m = &shown["models"][0];
        assert!(m.is_object(), "no advice ever showed");
        let w = &m["last_window"];
        assert_eq!(w["start"], riskops_monitor::rfc3339(hour - 2 * 3600), "{w}");
        assert_eq!(
            (w["version"].as_u64(), w["records"].as_u64(), w["labelled"].as_u64()),
            (Some(1), Some(120), Some(0))
        );
        assert!(w["drift_share"].as_f64().unwrap() > 0.3, "{w}");
        assert!(w["drifted_features"].as_array().unwrap().contains(&json!("income")), "{w}");
        assert_eq!(w["performance"], Value::Null, "no labels yet: {w}");
        let incidents = m["open_incidents"].as_array().unwrap();
        let drift = incidents.iter().find(|i| i["title"].as_str().unwrap().contains("drift.share")).unwrap();
        assert_eq!((drift["severity"].as_str(), drift["state"].as_str()), (Some("high"), Some("open")), "{drift}");
        assert_eq!(drift["since"], riskops_monitor::rfc3339(hour - 3 * 3600), "{drift}");
        assert_eq!(m["advice"][0]["action"], "retrain", "{m}");

        // Acknowledged incidents stay in the status; resolved ones leave it.
        let id = drift["id"].as_i64().unwrap();
        let (status, acked) = s.call("POST", &format!("/api/v1/incidents/{id}/acknowledge"), TOKEN, None).await;
        assert_eq!((status, acked["state"].as_str()), (StatusCode::OK, Some("acknowledged")), "{acked}");
        let (_, after) = s.get(status_path, Some(TOKEN)).await;
        let still = after["models"][0]["open_incidents"].as_array().unwrap().iter().find(|i| i["id"] == id).cloned();
        assert_eq!(still.unwrap()["state"], "acknowledged");
        let (status, _) =
            s.call("POST", &format!("/api/v1/incidents/{id}/resolve"), TOKEN, Some(json!({"note": "retrained"}))).await;
        assert_eq!(status, StatusCode::OK);
        let (_, after) = s.get(status_path, Some(TOKEN)).await;
        assert!(after["models"][0]["open_incidents"].as_array().unwrap().iter().all(|i| i["id"] != id), "{after}");

        // Who may, and what is not there.
        let (status, _) = s.get(status_path, Some(&ingest)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, e) = s.get("/api/v1/projects/nope/monitoring/status", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
        let (status, p) = s.post("/api/v1/projects", json!({"name": "other"})).await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let (_, other) = s.get("/api/v1/projects/other/monitoring/status", Some(TOKEN)).await;
        assert_eq!(other["models"], json!([]), "{other}");
        s.stop().await;
    }
}
