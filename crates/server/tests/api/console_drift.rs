//! A window's drift report in the console: the CLI's report (one chart per feature, the
//! drifted one flagged) for a window against its version's reference, linked from the model
//! page, shown to a viewer of the project and to nobody else.

use super::console::{page, sign_in};
use super::*;

#[tokio::test]
async fn a_viewer_opens_a_windows_drift_report_from_the_model_page_and_others_cannot() {
    for s in servers().await {
        for name in ["alpha", "beta"] {
            let (status, p) = s.post("/api/v1/projects", json!({"name": name})).await;
            assert_eq!(status, StatusCode::CREATED, "{p}");
        }
        let (status, d) = s.upload("/api/v1/datasets/loans/versions", json!({"project": "alpha"}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let metadata = json!({"project": "alpha", "training_data": "loans@1"});
        let (status, m) = s.upload("/api/v1/models/scorer/versions", metadata, b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        // An hour of traffic, a little while ago, with income shifted far off the reference.
        let start = (riskops_core::clock::Clock::now(&SystemClock).unix_timestamp() / 3600 - 2) * 3600;
        let lines: String = (0..200)
            .map(|i| {
                let segment = ["a", "b", "c"][i as usize % 3];
                let r = json!({"id": format!("r{i}"), "timestamp": start + i, "version": "1",
                    "features": {"age": 20 + i % 50, "income": (i as f64) * 1.5 + 5000.0, "segment": segment},
                    "prediction": i % 2, "score": 0.5});
                format!("{r}\n")
            })
            .collect();
        let r = s
            .http
            .post(s.url("/api/v1/projects/alpha/models/scorer/predictions"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-ndjson")
            .body(lines)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
        for (name, role) in [("vera", "viewer@alpha"), ("bob", "viewer@beta")] {
            let user = json!({"name": name, "roles": [role], "password": "a long passphrase"});
            let (status, made) = s.post("/api/v1/users", user).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
        }
        let (vera, _) = sign_in(&s, &[("name", "vera"), ("password", "a long passphrase")]).await;

        // The model page links the newest window's report.
        let (status, _, model) = page(&s, "/projects/alpha/models/scorer", Some(&vera)).await;
        assert_eq!(status, StatusCode::OK, "{model}");
        let at = model.find("/windows/").expect("a link to the window's drift report");
        let href_start = model[..at].rfind('"').unwrap() + 1;
        let href = model[href_start..].split('"').next().unwrap().replace("&amp;", "&");
        assert!(
            href.starts_with("/projects/alpha/models/scorer/windows/") && href.ends_with("/drift?version=1"),
            "{href}"
        );

        let (status, headers, report) = page(&s, &href, Some(&vera)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert!(report.contains("Data drift report") && report.contains("loans@1"), "{report}");
        assert_eq!(report.matches("<svg class=\"chart").count(), 3, "one chart per feature: {report}");
        assert!(report.contains("data-column=\"income\"") && report.contains("data-column=\"segment\""));
        let income = report.find("<article id=\"col-income\" class=\"column drift\"");
        assert!(income.is_some(), "income is shown drifted: {report}");
        assert!(!report.contains("style=\"") && !report.contains("<style"), "the console's CSP allows no inline style");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        let (status, _, css) = page(&s, "/assets/drift-report.css", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(css.contains("article.column"), "{css}");

        // A viewer of another project gets nothing; without a session, the sign-in form;
        // a window that does not exist is a 404.
        let (bob, _) = sign_in(&s, &[("name", "bob"), ("password", "a long passphrase")]).await;
        let (status, _, denied) = page(&s, &href, Some(&bob)).await;
        assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}: {denied}");
        assert!(!denied.contains("data-column"), "{denied}");
        let (status, _, _) = page(&s, &href, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, _) = page(&s, "/projects/alpha/models/scorer/windows/1000/drift?version=1", Some(&vera)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) =
            page(&s, "/projects/alpha/models/scorer/windows/yesterday/drift?version=1", Some(&vera)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        s.stop().await;
    }
}
