//! The web console over HTTP: sign-in by password and by token, the session cookie's
//! flags, CSRF on sign-out, the security headers, and a portfolio that shows only the
//! projects the person has a role in, with the API's numbers.

use super::*;
use std::time::Duration;

/// A client that keeps no cookies and follows no redirects: the test reads each answer.
fn browser() -> reqwest::Client {
    super::http().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(super) async fn page(
    s: &TestServer,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = browser().get(s.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let response = req.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

/// `application/x-www-form-urlencoded`, as a browser sends a form.
fn encoded(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

async fn form(s: &TestServer, path: &str, fields: &[(&str, &str)], cookie: Option<&str>) -> reqwest::Response {
    let mut req =
        browser().post(s.url(path)).header("content-type", "application/x-www-form-urlencoded").body(encoded(fields));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

/// Signs in with the form; the session cookie (`name=value`) and its full Set-Cookie line.
pub(super) async fn sign_in(s: &TestServer, fields: &[(&str, &str)]) -> (String, String) {
    let r = form(s, "/sign-in", fields, None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    assert_eq!(r.headers()["location"], "/");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    (set.split(';').next().unwrap().to_string(), set)
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a sign-out form with its CSRF token") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_person_signs_in_sees_only_their_projects_and_signs_out() {
    for s in servers().await {
        for (name, template, workflow) in
            [("alpha", "finance", "fraud_detection"), ("beta", "healthcare", "billing_information")]
        {
            let body = json!({"name": name, "description": "<script>alert(1)</script>", "template": template,
                "workflow": workflow});
            let (status, p) = s.post("/api/v1/projects", body).await;
            assert_eq!(status, StatusCode::CREATED, "{p}");
            let (status, a) = s.post(&format!("/api/v1/projects/{name}/risks/assess"), json!({})).await;
            assert_eq!(status, StatusCode::OK, "{a}");
        }
        let (status, d) = s.upload("/api/v1/datasets/loans/versions", json!({"project": "alpha"}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        let metadata = json!({"project": "alpha", "training_data": "loans@1"});
        let (status, m) = s.upload("/api/v1/models/scorer/versions", metadata, b"model".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let user = json!({"name": "vera", "roles": ["viewer@alpha"], "password": "a long passphrase"});
        let (status, made) = s.post("/api/v1/users", user).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");

        // Without a session every page leads to the sign-in form.
        let (status, headers, _) = page(&s, "/", None).await;
        assert_eq!((status, headers["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/sign-in"));
        let (status, headers, html) = page(&s, "/sign-in", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("name=\"password\"") && html.contains("name=\"token\""), "{html}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        // The icon browsers ask for by themselves is there (a 404 is a console error).
        let (status, headers, icon) = page(&s, "/favicon.ico", None).await;
        assert_eq!((status, headers["content-type"].to_str().unwrap()), (StatusCode::OK, "image/svg+xml"));
        assert!(icon.starts_with("<svg"), "{icon}");

        // A wrong password: a page that says so, no cookie.
        let r = form(&s, "/sign-in", &[("name", "vera"), ("password", "wrong")], None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get("set-cookie").is_none());
        assert!(r.text().await.unwrap().contains("Sign-in failed"));
        // A form posted from another site is refused.
        let r = browser()
            .post(s.url("/sign-in"))
            .header("origin", "https://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encoded(&[("name", "vera"), ("password", "a long passphrase")]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        let (cookie, set) = sign_in(&s, &[("name", "vera"), ("password", "a long passphrase")]).await;
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
            assert!(set.contains(flag), "{flag} in {set}");
        }
        let (status, _, html) = page(&s, "/", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("alpha") && html.contains("scorer"), "{html}");
        assert!(!html.contains("beta"), "a viewer of alpha sees nothing of beta: {html}");
        assert!(!html.contains("<script>"), "values are escaped");
        assert!(html.contains("vera") && html.contains("Open risks"));
        // The heatmap counts the open entries of alpha's register, as the API lists them.
        let (_, risks) = s.get("/api/v1/projects/alpha/risks", Some(TOKEN)).await;
        let open = risks["risks"].as_array().unwrap().iter().filter(|r| r["status"] != "closed").count();
        assert!(open > 0);
        assert!(html.contains(&format!("<b>{open}</b><span>open risks in the registers</span>")), "{html}");

        // The project's page: its register and compliance report, as the API gives them.
        let (status, _, project) = page(&s, "/projects/alpha", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{project}");
        assert!(project.matches("<td class=\"num\">").count() >= open, "{project}");
        let (_, report) = s.get("/api/v1/projects/alpha/compliance", Some(TOKEN)).await;
        for c in report["controls"].as_array().unwrap() {
            assert!(project.contains(&format!("<b>{}</b>", c["id"].as_str().unwrap())), "{c}");
        }
        let (status, _, other) = page(&s, "/projects/beta", Some(&cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a viewer of alpha cannot open beta (as the API answers)");
        assert!(!other.contains("Risk register"), "{other}");

        // The model's page draws its lineage as the API gives it, and lists its evidence.
        let (status, _, model) = page(&s, "/projects/alpha/models/scorer", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{model}");
        let (_, graph) = s.get("/api/v1/lineage/model/scorer/1", Some(TOKEN)).await;
        assert!(model.contains("Lineage of v1") && model.contains("dataset loans@1"), "{model}");
        for e in graph["edges"].as_array().unwrap() {
            assert!(model.contains(&format!(">{}</text>", e["relation"].as_str().unwrap())), "{e} in {model}");
        }
        assert!(model.contains("Evidence of v1"), "{model}");

        // A viewer may not read the audit trail.
        let (status, _, _) = page(&s, "/audit", Some(&cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Filters narrow the rows; sorting is a link.
        let (_, _, filtered) = page(&s, "/?tier=low&sort=drift", Some(&cookie)).await;
        assert!(filtered.contains("No models to show"), "alpha's model is not low tier: {filtered}");

        // Sign-out needs the page's CSRF token, then revokes the session's token.
        let r = form(&s, "/sign-out", &[("csrf", "forged")], Some(&cookie)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (status, _, _) = page(&s, "/", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "a refused sign-out changes nothing");
        let r = form(&s, "/sign-out", &[("csrf", &csrf_of(&html))], Some(&cookie)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        let (status, headers, _) = page(&s, "/", Some(&cookie)).await;
        assert_eq!((status, headers["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/sign-in"));

        // The admin signs in with an API token and sees both projects; signing out of the
        // browser does not revoke a token used elsewhere.
        let (cookie, _) = sign_in(&s, &[("token", TOKEN)]).await;
        let (_, _, html) = page(&s, "/", Some(&cookie)).await;
        assert!(html.contains("alpha") && html.contains("beta"), "{html}");
        // The audit trail: verified, filtered by target as the API filters it.
        let (status, _, audit) = page(&s, "/audit?target=project%3Abeta", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        assert!(audit.contains("Chain verified"), "{audit}");
        let (_, events) = s.get("/api/v1/audit/events?target=project:beta", Some(TOKEN)).await;
        let events = events["events"].as_array().unwrap();
        assert!(!events.is_empty());
        assert_eq!(audit.matches("<td>project:beta</td>").count(), events.len(), "{audit}");
        assert!(!audit.contains("<td>project:alpha</td>"));
        let r = form(&s, "/sign-out", &[("csrf", &csrf_of(&html))], Some(&cookie)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (status, _) = s.get("/api/v1/whoami", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_validator_approves_in_the_console_and_the_requester_is_told_why_they_cannot() {
    for s in servers().await {
        let (status, p) = s.post("/api/v1/projects", json!({"name": "alpha"})).await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let (status, d) = s.upload("/api/v1/datasets/loans/versions", json!({"project": "alpha"}), csv(300, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        for (name, role) in [("dana", "data_scientist@alpha"), ("victor", "validator@alpha")] {
            let user = json!({"name": name, "roles": [role], "password": "a long passphrase"});
            let (status, made) = s.post("/api/v1/users", user).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
        }
        let (dana_cookie, _) = sign_in(&s, &[("name", "dana"), ("password", "a long passphrase")]).await;
        let dana = dana_cookie.split_once('.').unwrap().1.to_string();
        let (status, m) = s
            .upload_as(
                &dana,
                "/api/v1/models/scorer/versions",
                json!({"project": "alpha", "training_data": "loans@1"}),
                b"model".to_vec(),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let request = json!({"to": "staging", "reason": "first release"});
        let (status, p) = s.call("POST", "/api/v1/models/scorer/versions/1/promotions", &dana, Some(request)).await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let id = p["id"].as_i64().unwrap();

        // The queue shows the request, what it misses and why, with the decision form.
        let (status, _, html) = page(&s, "/promotions", Some(&dana_cookie)).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(&format!("promotion-{id}")) && html.contains("first release"), "{html}");
        for m in p["missing_reasons"].as_array().unwrap() {
            assert!(html.contains(&riskops_core::encode::escape_html(m["reason"].as_str().unwrap())), "{m} in {html}");
        }
        // The requester may not approve their own request: the page says why, nothing changes.
        let csrf = csrf_of(&html);
        let r = form(
            &s,
            &format!("/promotions/{id}/decision"),
            &[("csrf", &csrf), ("decision", "approve")],
            Some(&dana_cookie),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK, "the queue again, with the reason");
        let text = r.text().await.unwrap();
        assert!(text.contains(&format!("Promotion #{id} was not approved")), "{text}");
        let (_, after) = s.get(&format!("/api/v1/promotions/{id}"), Some(TOKEN)).await;
        assert!(after["decisions"].as_array().unwrap().is_empty(), "{after}");

        // The validator approves with a comment.
        let (victor_cookie, _) = sign_in(&s, &[("name", "victor"), ("password", "a long passphrase")]).await;
        let (_, _, html) = page(&s, "/promotions", Some(&victor_cookie)).await;
        let fields = [("csrf", csrf_of(&html)), ("decision", "approve".into()), ("comment", "holdout AUC fine".into())];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = form(&s, &format!("/promotions/{id}/decision"), &fields, Some(&victor_cookie)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, after) = s.get(&format!("/api/v1/promotions/{id}"), Some(TOKEN)).await;
        let decision = &after["decisions"][0];
        assert_eq!(
            (decision["by"].as_str(), decision["decision"].as_str()),
            (Some("victor"), Some("approve")),
            "{after}"
        );
        assert_eq!(decision["comment"], "holdout AUC fine");
        // With its validation evidence and a risk officer's approval the request completes; the
        // deployment is marked on the model page's time axis, on every chart.
        let validation = json!({"kind": "validation", "passed": true});
        let (status, e) =
            s.upload("/api/v1/models/scorer/versions/1/evidence", validation, b"validation report".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        let risk = s.user("rosa", &["risk_officer@alpha"]).await;
        let (_, done) = s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &risk, Some(json!({}))).await;
        assert_eq!(done["status"], "completed", "{done}");
        let (_, stages) = s.get("/api/v1/models/scorer/stages", Some(TOKEN)).await;
        let deployments = stages["history"].as_array().unwrap().len();
        assert_eq!(deployments, 1, "{stages}");
        let (_, _, model) = page(&s, "/projects/alpha/models/scorer", Some(&victor_cookie)).await;
        assert_eq!(model.matches("class=\"marker deployment\"").count(), 7, "{model}");
        assert!(model.contains("v1 to staging by rosa: first release"), "{model}");
        let report = "href=\"/projects/alpha/models/scorer/versions/1/report\"";
        assert!(model.contains(report), "the model report's link: {model}");
        // A forged form changes nothing.
        let r = form(
            &s,
            &format!("/promotions/{id}/decision"),
            &[("csrf", "x"), ("decision", "reject")],
            Some(&victor_cookie),
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn an_incident_is_acknowledged_in_the_console_and_a_viewer_cannot_resolve_it() {
    for s in servers().await {
        let user = json!({"name": "vera", "roles": ["viewer"], "password": "a long passphrase"});
        let (status, made) = s.post("/api/v1/users", user).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let ingest = s.user("collector", &["ingest@default"]).await;
        let model = super::alerting::churn(&s).await;
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
            let (status, answer) =
                read(req.body(super::alerting::drifting_hour(start, 120)).send().await.unwrap()).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
        let mut id = None;
        for _ in 0..300 {
            let (_, list) = s.get("/api/v1/incidents?state=open", Some(TOKEN)).await;
            if let Some(first) = list["incidents"].as_array().and_then(|a| a.first()) {
                id = first["id"].as_i64();
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let id = id.expect("an incident opened");

        let (admin, _) = sign_in(&s, &[("token", TOKEN)]).await;
        // The model's page: one point per window in the range, as the API reports them, and
        // the incident marked on the time axis.
        let (_, monitoring) = s.get("/api/v1/projects/default/models/churn/monitoring", Some(TOKEN)).await;
        let windows = monitoring["windows"].as_array().unwrap().len();
        assert_eq!(windows, 2, "{monitoring}");
        let (status, _, html) = page(&s, "/projects/default/models/churn", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let drift_chart = html.split("<figure").find(|f| f.contains("Drift share")).unwrap();
        assert!(drift_chart.contains("Drift share"), "{drift_chart}");
        assert_eq!(drift_chart.matches("class=\"pt\"").count(), windows, "{drift_chart}");
        assert!(drift_chart.contains("class=\"marker incident\""), "the incident is marked: {drift_chart}");
        let volume_chart = html.split("<figure").find(|f| f.contains("Volume")).unwrap();
        assert!(volume_chart.contains(": 120</title>"), "{volume_chart}");
        let (status, _, html) = page(&s, "/projects/default/models/nope", Some(&admin)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{html}");

        let (status, _, html) = page(&s, "/incidents", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(&format!("incident-{id}")) && html.contains("Acknowledge"), "{html}");
        let fields =
            [("csrf", csrf_of(&html)), ("to", "acknowledge".into()), ("note", "looking into the income feed".into())];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = form(&s, &format!("/incidents/{id}/state"), &fields, Some(&admin)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, after) = s.get(&format!("/api/v1/incidents/{id}"), Some(TOKEN)).await;
        assert_eq!(
            (after["state"].as_str(), after["acknowledged_by"].as_str()),
            (Some("acknowledged"), Some("admin")),
            "{after}"
        );
        assert_eq!(after["note"], "looking into the income feed");

        let (viewer, _) = sign_in(&s, &[("name", "vera"), ("password", "a long passphrase")]).await;
        let (_, _, html) = page(&s, "/incidents?state=acknowledged", Some(&viewer)).await;
        let r =
            form(&s, &format!("/incidents/{id}/state"), &[("csrf", &csrf_of(&html)), ("to", "resolve")], Some(&viewer))
                .await;
        assert_eq!(r.status(), StatusCode::OK, "the list again, with the reason");
        assert!(r.text().await.unwrap().contains(&format!("Incident #{id} was not resolved")));
        let (_, after) = s.get(&format!("/api/v1/incidents/{id}"), Some(TOKEN)).await;
        assert_eq!(after["state"], "acknowledged");
    }
}
