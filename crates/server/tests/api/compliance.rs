//! Compliance over HTTP: a model driven to production through the governance flow gets a
//! report with reasons; adding the missing evidence flips the control and raises the
//! coverage; attestations flip attest controls; HIPAA counts only with phi data.

use super::*;

/// The report of `project` as `token`, optionally `?framework=`.
async fn report(s: &TestServer, token: &str, project: &str, framework: Option<&str>) -> Value {
    let query = framework.map(|f| format!("?framework={f}")).unwrap_or_default();
    let (status, r) = s.call("GET", &format!("/api/v1/projects/{project}/compliance{query}"), token, None).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

fn control<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["controls"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} in {report}"))
}

fn status_of(report: &Value, id: &str) -> String {
    control(report, id)["status"].as_str().unwrap().to_string()
}

fn coverage(report: &Value, framework: &str) -> f64 {
    report["coverage"][framework].as_f64().unwrap_or_else(|| panic!("{framework} coverage in {}", report["coverage"]))
}

/// Evidence of `kind` for `model@version`, passed, as `token`.
async fn evidence(s: &TestServer, token: &str, model: &str, version: u32, kind: &str) {
    let path = format!("/api/v1/models/{model}/versions/{version}/evidence");
    let (status, e) = s
        .upload_as(token, &path, json!({"kind": kind, "passed": true}), format!("{kind} of {version}").into_bytes())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
}

#[tokio::test]
async fn a_model_in_production_gets_reasons_and_new_evidence_flips_its_control_and_coverage() {
    for s in servers().await {
        // Controls on uploaded evidence: the policy before gates asked for produced evidence.
        s.accept_uploaded_evidence().await;
        s.post("/api/v1/projects", json!({"name": "credit"})).await;
        let ds = s.user("dana", &["data_scientist@credit"]).await;
        let val = s.user("victor", &["validator"]).await;
        let risk = s.user("rita", &["risk_officer"]).await;
        let viewer = s.user("vera", &["viewer"]).await;
        let register = async |bytes: &[u8]| {
            let (status, body) =
                s.upload_as(&ds, "/api/v1/models/scorer/versions", json!({"project": "credit"}), bytes.to_vec()).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        };

        // Before anything is deployed, deployment controls do not apply.
        register(b"scorer v1").await;
        let before = report(&s, &viewer, "credit", None).await;
        assert_eq!(status_of(&before, "C07"), "not_applicable");

        // Version 1 to production through the high-tier gate (unassessed project).
        let (_, p) =
            s.call("POST", "/api/v1/models/scorer/versions/1/promotions", &ds, Some(json!({"to": "production"}))).await;
        let id = p["id"].as_i64().unwrap();
        for kind in ["validation", "fairness", "documentation"] {
            evidence(&s, &val, "scorer", 1, kind).await;
        }
        s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &val, Some(json!({}))).await;
        let (_, done) = s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &risk, Some(json!({}))).await;
        assert_eq!(done["status"], "completed", "{done}");

        let r = report(&s, &viewer, "credit", None).await;
        assert_eq!((r["project"].as_str(), r["tier"].as_str()), (Some("credit"), Some("high")));
        assert_eq!(r["catalogue_version"], "riskops-controls-2026.11");
        assert!(r["generated_at"].is_string());
        let controls = r["controls"].as_array().unwrap();
        assert_eq!(controls.len(), 27);
        for c in controls {
            assert!(
                ["satisfied", "unsatisfied", "not_applicable", "attested"].contains(&c["status"].as_str().unwrap())
            );
            assert!(c["reason"].as_str().is_some_and(|r| !r.is_empty()) && c["frameworks"].is_object(), "{c}");
            assert!(c["title"].is_string() && c["check"].is_string(), "{c}");
        }
        assert_eq!(status_of(&r, "C06"), "satisfied");
        let c06 = control(&r, "C06")["reason"].as_str().unwrap();
        assert!(c06.contains("victor") && c06.contains("rita") && c06.contains("requested by dana"), "{c06}");
        for id in ["C02", "C07", "C12", "C14", "C19", "C27"] {
            assert_eq!(status_of(&r, id), "satisfied", "{id}: {}", control(&r, id));
        }
        for id in ["C03", "C04", "C10", "C11", "C15", "C20", "C23"] {
            assert_eq!(status_of(&r, id), "unsatisfied", "{id}: {}", control(&r, id));
        }
        assert!(control(&r, "C03")["reason"].as_str().unwrap().contains("scorer@1 has no training or validation data"));
        assert!(control(&r, "C15")["reason"].as_str().unwrap().contains("no prediction logs have arrived"), "{r}");
        let frameworks: Vec<&String> = r["coverage"].as_object().unwrap().keys().collect();
        assert_eq!(frameworks, ["eu-ai-act", "iso-42001", "nist-ai-rmf", "sr-11-7"], "no phi, no HIPAA");
        assert_eq!(r["frameworks_not_applicable"][0]["framework"], "hipaa");

        // A risk officer sets the tier to low with a reason; version 2 enters production
        // through the low-tier gate (validation and one validator) without documentation.
        let (status, _) = s
            .call("PATCH", "/api/v1/projects/credit", &risk, Some(json!({"tier": "low", "reason": "internal pilot"})))
            .await;
        assert_eq!(status, StatusCode::OK);
        register(b"scorer v2").await;
        let (_, p2) =
            s.call("POST", "/api/v1/models/scorer/versions/2/promotions", &ds, Some(json!({"to": "production"}))).await;
        evidence(&s, &val, "scorer", 2, "validation").await;
        let (_, done) =
            s.call("POST", &format!("/api/v1/promotions/{}/approve", p2["id"]), &val, Some(json!({}))).await;
        assert_eq!(done["status"], "completed", "{done}");

        // Let the server sign the trail's head, so C17 holds in both reports compared below.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let r = report(&s, &viewer, "credit", None).await;
        assert_eq!(r["tier"], "low");
        assert_eq!(status_of(&r, "C12"), "unsatisfied");
        assert_eq!(control(&r, "C12")["reason"], "scorer: production version 2 has no documentation evidence");
        assert!(control(&r, "C10")["reason"].as_str().unwrap().contains("internal pilot"));
        assert_eq!(status_of(&r, "C23"), "satisfied", "version 1 can be put back: {}", control(&r, "C23"));
        assert_eq!(status_of(&r, "C14"), "unsatisfied", "the low gate asks for no fairness: {}", control(&r, "C14"));

        // The missing evidence flips C12 on the next report, and the coverage rises.
        evidence(&s, &val, "scorer", 2, "documentation").await;
        let after = report(&s, &viewer, "credit", None).await;
        assert_eq!(status_of(&after, "C12"), "satisfied", "{}", control(&after, "C12"));
        assert!(control(&after, "C12")["reason"].as_str().unwrap().contains("scorer@2: documentation evidence"));
        for f in ["nist-ai-rmf", "eu-ai-act", "sr-11-7"] {
            assert!(coverage(&after, f) > coverage(&r, f), "{f}: {} → {}", r["coverage"], after["coverage"]);
        }
        assert_eq!(
            after["coverage_detail"]["eu-ai-act"]["met"].as_u64().unwrap(),
            r["coverage_detail"]["eu-ai-act"]["met"].as_u64().unwrap() + 1
        );

        // Only the controls of one framework, with its coverage alone.
        let sr = report(&s, &viewer, "credit", Some("sr-11-7")).await;
        assert!(sr["controls"].as_array().unwrap().iter().all(|c| c["frameworks"]["sr-11-7"].is_array()));
        assert_eq!(sr["coverage"].as_object().unwrap().keys().collect::<Vec<_>>(), ["sr-11-7"]);
        let (status, body) = s.call("GET", "/api/v1/projects/credit/compliance?framework=gdpr", &viewer, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        s.stop().await;
    }
}

#[tokio::test]
async fn attestations_flip_their_controls_and_only_attesting_roles_may_record_them() {
    for s in servers().await {
        s.post("/api/v1/projects", json!({"name": "credit"})).await;
        let risk = s.user("rita", &["risk_officer@credit"]).await;
        let val = s.user("victor", &["validator"]).await;
        let viewer = s.user("vera", &["viewer"]).await;
        let before = report(&s, &viewer, "credit", None).await;
        assert_eq!(control(&before, "C11")["reason"], "no attestation recorded");

        // A viewer cannot attest; nothing changes.
        let head = s.audit_head().await;
        let c11 = json!({"control": "C11", "statement": "residual risk accepted by the credit committee on 3 Nov"});
        let (status, body) = s.call("POST", "/api/v1/projects/credit/attestations", &viewer, Some(c11.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_error(&body, "forbidden");
        assert_eq!(s.audit_head().await, head);

        let (status, made) = s.call("POST", "/api/v1/projects/credit/attestations", &risk, Some(c11)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!((made["control"].as_str(), made["created_by"].as_str()), (Some("C11"), Some("rita")));
        assert!(made["evidence"].is_null());

        // With an evidence file (multipart), for an automatic control riskops cannot see.
        let (status, tls) = s
            .upload_as(
                &val,
                "/api/v1/projects/credit/attestations",
                json!({"control": "C20", "statement": "TLS 1.3 at the ingress; volumes encrypted with LUKS"}),
                b"ingress and disk configuration".to_vec(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{tls}");
        assert_eq!(tls["evidence"]["digest"].as_str().unwrap(), sha256_hex(b"ingress and disk configuration"));

        let after = report(&s, &viewer, "credit", None).await;
        assert_eq!(status_of(&after, "C11"), "attested");
        let reason = control(&after, "C11")["reason"].as_str().unwrap();
        assert!(reason.starts_with("attested by rita on ") && reason.contains("credit committee"), "{reason}");
        assert_eq!(status_of(&after, "C20"), "attested");
        assert!(coverage(&after, "nist-ai-rmf") > coverage(&before, "nist-ai-rmf"));

        let (status, list) = s.call("GET", "/api/v1/projects/credit/attestations", &viewer, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["attestations"].as_array().unwrap().len(), 2, "{list}");

        // Refusals name the field; the attesting role is per project.
        let bad = [
            (json!({"control": "C99", "statement": "x"}), StatusCode::UNPROCESSABLE_ENTITY),
            (json!({"control": "C11", "statement": "  "}), StatusCode::UNPROCESSABLE_ENTITY),
            (json!({"control": "C11"}), StatusCode::UNPROCESSABLE_ENTITY),
        ];
        for (body, expected) in bad {
            let (status, answer) = s.call("POST", "/api/v1/projects/credit/attestations", &risk, Some(body)).await;
            assert_eq!(status, expected, "{answer}");
        }
        s.post("/api/v1/projects", json!({"name": "fraud"})).await;
        let c11 = json!({"control": "C11", "statement": "accepted"});
        let (status, _) = s.call("POST", "/api/v1/projects/fraud/attestations", &risk, Some(c11.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "risk_officer@credit is not one in fraud");
        let (status, _) = s.call("POST", "/api/v1/projects/nowhere/attestations", TOKEN, Some(c11)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let actions = audit_actions(&s).await;
        assert_eq!(actions.iter().filter(|a| *a == "control.attest").count(), 2);
        s.stop().await;
    }
}

#[tokio::test]
async fn hipaa_applies_only_to_projects_that_handle_phi() {
    for s in servers().await {
        let (status, clinic) = s
            .post(
                "/api/v1/projects",
                json!({"name": "clinic", "template": "healthcare", "workflow": "billing_information"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{clinic}");
        let (status, chat) = s
            .post(
                "/api/v1/projects",
                json!({"name": "chat", "industry": "other", "workflow": "casual_conversation", "data_sensitivity": ["public"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{chat}");

        let r = report(&s, TOKEN, "clinic", None).await;
        assert!(r["coverage"]["hipaa"].is_f64(), "the healthcare pack handles phi: {}", r["coverage"]);
        assert_ne!(status_of(&r, "C21"), "not_applicable");
        let hipaa = report(&s, TOKEN, "clinic", Some("hipaa")).await;
        assert!(hipaa["controls"].as_array().unwrap().iter().all(|c| c["frameworks"]["hipaa"].is_array()));
        assert!(hipaa["controls"].as_array().unwrap().iter().any(|c| c["status"] != "not_applicable"));

        let r = report(&s, TOKEN, "chat", None).await;
        assert!(r["coverage"].get("hipaa").is_none(), "{}", r["coverage"]);
        assert_eq!(status_of(&r, "C21"), "not_applicable");
        let hipaa = report(&s, TOKEN, "chat", Some("hipaa")).await;
        assert!(hipaa["controls"].as_array().unwrap().iter().all(|c| c["status"] == "not_applicable"));
        assert_eq!(hipaa["coverage"], json!({}));
        assert!(hipaa["frameworks_not_applicable"][0]["reason"].as_str().unwrap().contains("data: public"));

        // Declaring phi data brings HIPAA in on the next report.
        let (status, body) =
            s.call("PATCH", "/api/v1/projects/chat", TOKEN, Some(json!({"data_sensitivity": ["pii", "phi"]}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(report(&s, TOKEN, "chat", None).await["coverage"]["hipaa"].is_f64());
        s.stop().await;
    }
}

#[tokio::test]
async fn a_failed_stress_test_on_the_production_version_flips_c14_until_an_independent_pass() {
    for s in servers().await {
        // Controls on uploaded evidence: the policy before gates asked for produced evidence.
        s.accept_uploaded_evidence().await;
        s.post("/api/v1/projects", json!({"name": "credit"})).await;
        let ds = s.user("dana", &["data_scientist@credit"]).await;
        let val = s.user("victor", &["validator"]).await;
        let risk = s.user("rita", &["risk_officer"]).await;
        let (status, body) =
            s.upload_as(&ds, "/api/v1/models/scorer/versions", json!({"project": "credit"}), b"v1".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, p) =
            s.call("POST", "/api/v1/models/scorer/versions/1/promotions", &ds, Some(json!({"to": "production"}))).await;
        for kind in ["validation", "fairness", "documentation"] {
            evidence(&s, &val, "scorer", 1, kind).await;
        }
        s.call("POST", &format!("/api/v1/promotions/{}/approve", p["id"]), &val, Some(json!({}))).await;
        let (_, done) =
            s.call("POST", &format!("/api/v1/promotions/{}/approve", p["id"]), &risk, Some(json!({}))).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(status_of(&report(&s, TOKEN, "credit", None).await, "C14"), "satisfied");

        // The repro: a failed stress test (a kind the high gate does not ask for).
        let path = "/api/v1/models/scorer/versions/1/evidence";
        let failed = json!({"kind": "stress_test", "passed": false});
        let (status, e) = s.upload_as(&ds, path, failed, b"stress run 1".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        let r = report(&s, TOKEN, "credit", None).await;
        assert_eq!(status_of(&r, "C14"), "unsatisfied", "{}", control(&r, "C14"));
        let reason = control(&r, "C14")["reason"].as_str().unwrap();
        assert!(reason.contains("production version 1 failed its stress_test evidence (recorded by dana"), "{reason}");

        // An independent pass recorded later overturns it.
        evidence(&s, &val, "scorer", 1, "stress_test").await;
        let r = report(&s, TOKEN, "credit", None).await;
        assert_eq!(status_of(&r, "C14"), "satisfied", "{}", control(&r, "C14"));
        s.stop().await;
    }
}
