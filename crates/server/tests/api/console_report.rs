//! A model version's report in the console: the document `riskops report model` writes,
//! gathered in process from the API's answers, linked from the model page, with its stylesheet
//! linked (no inline style under the CSP), shown to a viewer of the project and to nobody else.

use super::console::{page, sign_in};
use super::*;

#[tokio::test]
async fn a_viewer_reads_a_versions_model_report_in_the_console_and_others_cannot() {
    for s in servers().await {
        for name in ["alpha", "beta"] {
            let (status, p) = s.post("/api/v1/projects", json!({"name": name})).await;
            assert_eq!(status, StatusCode::CREATED, "{p}");
        }
        let (status, d) = s.upload("/api/v1/datasets/loans/versions", json!({"project": "alpha"}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let metadata =
            json!({"project": "alpha", "training_data": "loans@1", "description": "Scores <loan> applications"});
        let (status, m) = s.upload("/api/v1/models/scorer/versions", metadata, b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        // A validation report filed as evidence (its results are rendered as filed), and a
        // risk in the register.
        let results = json!({"metrics": {"roc_auc": {"value": 0.8123, "ci_low": 0.79, "ci_high": 0.83}},
            "checks": [{"name": "auc_floor", "passed": false, "value": 0.8123, "threshold": 0.85}]});
        let (status, e) = s
            .upload(
                "/api/v1/models/scorer/versions/1/evidence",
                json!({"kind": "validation", "passed": false}),
                results.to_string().into_bytes(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        let risk = json!({"failure_mode": "data_drift", "severity": 4, "likelihood": 3});
        let (status, r) = s.post("/api/v1/projects/alpha/risks", risk).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        for (name, role) in [("vera", "viewer@alpha"), ("bob", "viewer@beta")] {
            let user = json!({"name": name, "roles": [role], "password": "a long passphrase"});
            let (status, made) = s.post("/api/v1/users", user).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
        }
        let (vera, _) = sign_in(&s, &[("name", "vera"), ("password", "a long passphrase")]).await;

        // The model page links the report of its newest version and of each version.
        let (status, _, model) = page(&s, "/projects/alpha/models/scorer", Some(&vera)).await;
        assert_eq!(status, StatusCode::OK, "{model}");
        let href = "/projects/alpha/models/scorer/versions/1/report";
        assert!(model.matches(&format!("href=\"{href}\"")).count() >= 2, "{model}");

        let (status, headers, report) = page(&s, href, Some(&vera)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert!(report.contains("<h1>scorer@1</h1>") && report.contains("Project <strong>alpha</strong>"), "{report}");
        assert!(report.contains("Scores &lt;loan&gt; applications"), "the description, escaped: {report}");
        assert!(report.contains("<td>data_drift</td>"), "the register: {report}");
        assert!(report.contains("failed checks in evidence 1: auc_floor"), "the committee's attention: {report}");
        assert!(report.contains("aria-label=\"metric bars\""), "the filed metrics are charted: {report}");
        assert!(report.contains("href=\"/projects/alpha/models/scorer\""), "a way back: {report}");
        assert!(!report.contains("style=\"") && !report.contains("<style"), "the console's CSP allows no inline style");
        assert!(report.contains("<link rel=\"stylesheet\" href=\"/assets/model-report.css\">"));
        assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        let (status, _, css) = page(&s, "/assets/model-report.css", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(css.contains("@media print"), "printable: {css}");
        // `latest` is the newest version.
        let (status, _, latest) = page(&s, "/projects/alpha/models/scorer/versions/latest/report", Some(&vera)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(latest.contains("<h1>scorer@1</h1>"));

        // A viewer of another project gets nothing; without a session, the sign-in form; a
        // version that does not exist is a 404; a model under the wrong project is refused.
        let (bob, _) = sign_in(&s, &[("name", "bob"), ("password", "a long passphrase")]).await;
        let (status, _, denied) = page(&s, href, Some(&bob)).await;
        assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}: {denied}");
        assert!(!denied.contains("auc_floor"), "{denied}");
        let (status, _, _) = page(&s, href, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, _) = page(&s, "/projects/alpha/models/scorer/versions/9/report", Some(&vera)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = page(&s, "/projects/beta/models/scorer/versions/1/report", Some(&vera)).await;
        assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}");
    }
}
