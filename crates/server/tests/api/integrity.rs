//! Integrity of what is deployed: a production model whose stored artifact is altered
//! afterwards is found at the next verification, opens one critical security incident, and
//! shows as compromised in its stages and in /metrics; only auditors and admins may ask for
//! a verification.

use super::*;

/// The local artifact store's file of `digest` (`sha256:…`).
fn artifact_path(dir: &Path, digest: &str) -> std::path::PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    dir.join("artifacts").join("sha256").join(&hex[..2]).join(hex)
}

#[tokio::test]
async fn an_altered_production_artifact_is_found_opens_a_critical_incident_and_shows_compromised() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let s = TestServer::start_on(dir, None, 64 * 1024).await;
    s.accept_uploaded_evidence().await;
    s.post("/api/v1/projects", json!({"name": "credit"})).await;
    let ds = s.user("dana", &["data_scientist@credit"]).await;
    let val = s.user("victor", &["validator"]).await;
    let risk = s.user("rita", &["risk_officer"]).await;
    let auditor = s.user("ada", &["auditor"]).await;
    let (status, m) =
        s.upload_as(&ds, "/api/v1/models/scorer/versions", json!({"project": "credit"}), b"scorer v1".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let digest = m["digest"].as_str().unwrap().to_string();
    let (_, p) =
        s.call("POST", "/api/v1/models/scorer/versions/1/promotions", &ds, Some(json!({"to": "production"}))).await;
    let id = p["id"].as_i64().unwrap();
    for kind in ["validation", "fairness", "documentation"] {
        let path = "/api/v1/models/scorer/versions/1/evidence";
        let (status, e) =
            s.upload_as(&val, path, json!({"kind": kind, "passed": true}), kind.as_bytes().to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
    }
    s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &val, Some(json!({}))).await;
    let (_, done) = s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &risk, Some(json!({}))).await;
    assert_eq!(done["status"], "completed", "{done}");

    // Intact: verified, nothing compromised.
    let (status, report) = s.call("POST", "/api/v1/integrity/verify", &auditor, None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report, json!({"checked": 1, "problems": [], "opened_incidents": []}));
    // Only auditors and admins ask for it.
    let (status, _) = s.call("POST", "/api/v1/integrity/verify", &ds, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Someone with access to the artifact store swaps the production model's bytes.
    let file = artifact_path(&data, &digest);
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).unwrap();
    std::fs::write(&file, b"a backdoored scorer").unwrap();

    let (_, report) = s.call("POST", "/api/v1/integrity/verify", &auditor, None).await;
    assert_eq!(report["checked"], 1);
    let problem = &report["problems"][0];
    assert_eq!((problem["model"].as_str(), problem["environment"].as_str()), (Some("scorer"), Some("production")));
    assert_eq!(problem["problem"], "the stored artifact no longer matches its digest");
    let incident = report["opened_incidents"][0].as_i64().expect("an incident opened");
    let (_, i) = s.get(&format!("/api/v1/incidents/{incident}"), Some(TOKEN)).await;
    assert_eq!((i["severity"].as_str(), i["state"].as_str()), (Some("critical"), Some("open")), "{i}");
    assert_eq!(i["kind"], "security", "{i}");
    assert!(i["title"].as_str().unwrap().contains("scorer@1 in production"), "{i}");

    let (_, security) = s.get("/api/v1/incidents?kind=security", Some(TOKEN)).await;
    assert_eq!(security["incidents"].as_array().unwrap().len(), 1, "{security}");
    let (_, monitors) = s.get("/api/v1/incidents?kind=monitor", Some(TOKEN)).await;
    assert!(monitors["incidents"].as_array().unwrap().is_empty(), "{monitors}");
    let (status, _) = s.get("/api/v1/incidents?kind=everything", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Once per version while it is unresolved.
    let (_, again) = s.call("POST", "/api/v1/integrity/verify", &auditor, None).await;
    assert_eq!((again["problems"].as_array().unwrap().len(), again["opened_incidents"].clone()), (1, json!([])));

    // The deployment says so, and /metrics too.
    let (_, stages) = s.get("/api/v1/models/scorer/stages", Some(TOKEN)).await;
    assert_eq!(
        stages["environments"]["production"]["compromised"], "the stored artifact no longer matches its digest",
        "{stages}"
    );
    let metrics = s.http.get(s.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("riskops_deployment_compromised{model=\"scorer\",version=\"1\",environment=\"production\"} 1"),
        "{metrics}"
    );
}
