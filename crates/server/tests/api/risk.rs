//! The risk register over HTTP: context, assessment from the taxonomy, tiers, overrides,
//! likelihood raised by failed evidence, and taxonomy files refused with the field named.

use super::*;

async fn project_with(s: &TestServer, body: Value) -> Value {
    let (status, p) = s.post("/api/v1/projects", body).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    p
}

async fn assess(s: &TestServer, project: &str) -> Value {
    let (status, a) = s.post(&format!("/api/v1/projects/{project}/risks/assess"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    a
}

fn entry<'a>(risks: &'a Value, failure_mode: &str) -> &'a Value {
    risks
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["failure_mode"] == failure_mode)
        .unwrap_or_else(|| panic!("{failure_mode} in {risks}"))
}

#[tokio::test]
async fn the_same_failure_is_low_risk_in_chat_and_high_risk_in_hospital_billing() {
    for s in servers().await {
        project_with(&s, json!({"name": "chat", "industry": "other", "workflow": "casual_conversation", "data_sensitivity": ["public"]})).await;
        project_with(&s, json!({
            "name": "callcentre", "template": "healthcare", "workflow": "billing_information",
            "workflow_description": "hospital call centre: billing and copay questions", "data_sensitivity": ["phi"],
        }))
        .await;
        project_with(
            &s,
            json!({"name": "fraud", "template": "finance", "workflow": "fraud_detection", "autonomy": "autonomous"}),
        )
        .await;

        let (_, before) = s.get("/api/v1/projects/chat", Some(TOKEN)).await;
        assert_eq!((before["tier"].as_str(), before["tier_source"].as_str()), (Some("high"), Some("unassessed")));
        for p in ["chat", "callcentre", "fraud"] {
            assess(&s, p).await;
        }
        let again = assess(&s, "chat").await;
        assert!(again["added"].as_array().unwrap().is_empty(), "assessing twice adds nothing");

        let (_, chat) = s.get("/api/v1/projects/chat/risks", Some(TOKEN)).await;
        let casual = entry(&chat["risks"], "incorrect_information");
        assert_eq!(casual["band"], "low", "{casual}");
        assert_eq!(
            casual["inherent_score"].as_u64().unwrap(),
            casual["severity"].as_u64().unwrap() * casual["likelihood"].as_u64().unwrap()
        );
        let (_, p) = s.get("/api/v1/projects/chat", Some(TOKEN)).await;
        assert_eq!((p["tier"].as_str(), p["tier_source"].as_str()), (Some("low"), Some("register")), "{p}");

        let (_, hospital) = s.get("/api/v1/projects/callcentre/risks", Some(TOKEN)).await;
        let billing = entry(&hospital["risks"], "incorrect_information");
        assert!(matches!(billing["band"].as_str(), Some("high" | "critical")), "{billing}");
        assert!(
            billing["impact"]["safety"].as_u64().unwrap() >= 3,
            "the healthcare pack raises patient impact: {billing}"
        );
        let (_, p) = s.get("/api/v1/projects/callcentre", Some(TOKEN)).await;
        assert!(matches!(p["tier"].as_str(), Some("high" | "critical")));
        assert_eq!(p["context"]["industry"], "healthcare");

        let (_, fraud) = s.get("/api/v1/projects/fraud/risks", Some(TOKEN)).await;
        let threshold = entry(&fraud["risks"], "threshold_misalignment");
        assert!(
            threshold["impact"]["financial"].as_u64().unwrap() >= 4
                && threshold["impact"]["reputational"].as_u64().unwrap() >= 3,
            "{threshold}"
        );

        // An unknown workflow, or a context without one, is refused and creates nothing.
        let (status, body) =
            s.post("/api/v1/projects", json!({"name": "x", "industry": "other", "workflow": "astrology"})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("workflow")));
        let (status, _) = s.get("/api/v1/projects/x", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = s.post("/api/v1/projects/default/risks/assess", json!({})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("context")));
        s.stop().await;
    }
}

#[tokio::test]
async fn overrides_need_a_risk_officer_and_a_reason_and_failed_evidence_raises_likelihood() {
    for s in servers().await {
        project_with(&s, json!({"name": "credit", "template": "finance", "workflow": "credit_decisioning"})).await;
        assess(&s, "credit").await;
        let ds = s.user("dana", &["data_scientist@credit"]).await;
        let val = s.user("victor", &["validator"]).await;
        let risk = s.user("rita", &["risk_officer"]).await;

        let override_ = json!({"tier": "low", "reason": "we like low"});
        let (status, _) = s.call("PATCH", "/api/v1/projects/credit", &ds, Some(override_.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a data scientist cannot lower the tier");
        let (status, body) = s.call("PATCH", "/api/v1/projects/credit", &risk, Some(json!({"tier": "critical"}))).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
            "{body}"
        );
        let (status, p) = s
            .call(
                "PATCH",
                "/api/v1/projects/credit",
                &risk,
                Some(json!({"tier": "critical", "reason": "board decision"})),
            )
            .await;
        assert_eq!(
            (status, p["tier"].as_str(), p["tier_source"].as_str()),
            (StatusCode::OK, Some("critical"), Some("override"))
        );
        let (_, p) = s
            .call(
                "PATCH",
                "/api/v1/projects/credit",
                &risk,
                Some(json!({"tier": null, "reason": "back to the register"})),
            )
            .await;
        assert_eq!(p["tier_source"], "register", "{p}");

        // A failed validation raises the likelihood of the risks validation speaks to.
        let (_, before) = s.get("/api/v1/projects/credit/risks", Some(TOKEN)).await;
        let was = entry(&before["risks"], "incorrect_information")["likelihood"].as_u64().unwrap();
        let (status, _) =
            s.upload_as(&ds, "/api/v1/models/scorer/versions", json!({"project": "credit"}), b"v1".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, e) = s
            .upload_as(
                &val,
                "/api/v1/models/scorer/versions/1/evidence",
                json!({"kind": "validation", "passed": false, "summary": "AUC 0.61 on holdout"}),
                b"report".to_vec(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        let (_, after) = s.get("/api/v1/projects/credit/risks", Some(TOKEN)).await;
        let now = entry(&after["risks"], "incorrect_information");
        assert_eq!(now["likelihood"].as_u64().unwrap(), (was + 1).min(5), "{now}");
        assert_eq!(now["updated_by"], "victor");
        assert!(audit_actions(&s).await.iter().any(|a| a == "risk.likelihood"));

        // Editing an entry keeps the trail of before and after; linked controls lower the residual.
        let id = now["id"].as_i64().unwrap();
        let patch = json!({"controls": [{"control": "C07", "effect": 2}], "owner": "rita", "status": "mitigated"});
        let (status, edited) = s.call("PATCH", &format!("/api/v1/risks/{id}"), &risk, Some(patch)).await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert!(edited["residual_score"].as_u64() < edited["inherent_score"].as_u64());
        let (status, _) = s.call("PATCH", &format!("/api/v1/risks/{id}"), &val, Some(json!({"likelihood": 1}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = s.call("PATCH", &format!("/api/v1/risks/{id}"), &risk, Some(json!({"severity": 9}))).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("severity")));
        s.stop().await;
    }
}

#[tokio::test]
async fn the_tier_chooses_the_gate_and_packs_add_approval_levels() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    project_with(&s, json!({"name": "chat", "industry": "other", "workflow": "casual_conversation"})).await;
    assess(&s, "chat").await;
    let ds = s.user("dana", &["data_scientist"]).await;
    s.upload_as(&ds, "/api/v1/models/bot/versions", json!({"project": "chat"}), b"bot".to_vec()).await;
    let (_, p) = s.call("POST", "/api/v1/models/bot/versions/1/promotions", &ds, Some(json!({"to": "staging"}))).await;
    assert_eq!(
        (p["tier"].as_str(), p["status"].as_str()),
        (Some("low"), Some("completed")),
        "a low tier enters staging freely: {p}"
    );

    project_with(&s, json!({"name": "clinic", "template": "healthcare", "workflow": "clinical_decision_support"}))
        .await;
    s.upload_as(&ds, "/api/v1/models/triage/versions", json!({"project": "clinic"}), b"triage".to_vec()).await;
    let (_, p) =
        s.call("POST", "/api/v1/models/triage/versions/1/promotions", &ds, Some(json!({"to": "production"}))).await;
    let validators = p["missing"].as_array().unwrap().iter().filter(|m| *m == "approval:validator").count();
    assert_eq!(validators, 2, "multi-level validation for clinical workflows: {p}");
    s.stop().await;
}

#[tokio::test]
async fn a_malformed_taxonomy_is_refused_naming_the_field() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 256 * 1024).await;
    let (_, t) = s.get("/api/v1/taxonomy", Some(TOKEN)).await;
    let mut doc = t["taxonomy"].clone();
    doc["failure_modes"]["biased_outcome"]["severity"]["trading"] = json!(7);
    let (status, body) = s.call("PUT", "/api/v1/taxonomy", TOKEN, Some(doc)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("failure_modes.biased_outcome.severity.trading"),
        "{body}"
    );
    let mut doc = t["taxonomy"].clone();
    doc["failure_modes"]["biased_outcome"]["severity"]["trading"] = json!(3);
    doc["version"] = json!("bank-2026.12");
    let (status, stored) = s.call("PUT", "/api/v1/taxonomy", TOKEN, Some(doc)).await;
    assert_eq!((status, stored["stored_version"].as_u64()), (StatusCode::OK, Some(1)));
    let (_, t) = s.get("/api/v1/taxonomy", Some(TOKEN)).await;
    assert_eq!(t["taxonomy"]["version"], "bank-2026.12");
    s.stop().await;
}

#[tokio::test]
async fn business_kpis_turn_a_confusion_matrix_into_money_per_thousand_decisions() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    project_with(&s, json!({"name": "fraud", "template": "finance", "workflow": "fraud_detection"})).await;
    let ds = s.user("dana", &["data_scientist"]).await;
    let viewer = s.user("vera", &["viewer"]).await;
    s.upload_as(&ds, "/api/v1/models/blocker/versions", json!({"project": "fraud"}), b"v1".to_vec()).await;
    let matrix = json!({"confusion_matrix": [[900, 50], [10, 40]]}).to_string().into_bytes();
    let (status, _) = s
        .upload_as(
            &ds,
            "/api/v1/models/blocker/versions/1/evidence",
            json!({"kind": "performance", "passed": true}),
            matrix,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let values = json!({"currency": "EUR", "fp": -25, "fn": -400, "description": "blocked card; lost fraud amount"});
    let (status, _) = s.call("PUT", "/api/v1/models/blocker/kpi", &viewer, Some(values.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, kpi) = s.call("PUT", "/api/v1/models/blocker/kpi", &ds, Some(values)).await;
    assert_eq!(status, StatusCode::OK, "{kpi}");
    assert_eq!(kpi["versions"][0]["expected_value_per_1000"], -5250.0, "{kpi}");
    assert_eq!(kpi["versions"][0]["decisions"], 1000);
    assert_eq!(kpi["versions"][0]["recall"], 0.8, "the metrics sit next to the money: {kpi}");
    let (status, body) = s.call("PUT", "/api/v1/models/blocker/kpi", &ds, Some(json!({"fp": "lots"}))).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("fp")));
    s.stop().await;
}
