//! Access monitoring: denied requests are audited in aggregate (one `access.denied` event
//! per principal or client, route and minute, with its count) and bursts of failed
//! sign-ins, 401/429s and 403s, lockouts and role grants open security incidents (one
//! unresolved per rule and subject), on both backends.

use super::*;
use riskops_core::clock::ManualClock;

/// Servers on every backend, each on a clock the test moves, flushing access counts often.
async fn access_servers() -> Vec<(TestServer, Arc<ManualClock>)> {
    let mut schemas = vec![None];
    if let Some(schema) = PostgresSchema::create().await.unwrap() {
        schemas.push(Some(schema));
    }
    let mut all = Vec::new();
    for schema in schemas {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(dir.path(), schema.as_ref(), 64 * 1024, None);
        settings.access_flush_interval = std::time::Duration::from_millis(50);
        let clock = Arc::new(ManualClock::new(time::macros::datetime!(2026-10-01 00:00:30 UTC)));
        all.push((TestServer::start_settings(dir, schema, settings, clock.clone()).await, clock));
    }
    all
}

/// The security incidents whose monitor id starts with `prefix`, once `wanted` of them
/// exist (or as they are after 5 s).
async fn security_incidents(s: &TestServer, prefix: &str, wanted: usize) -> Vec<Value> {
    let mut found = Vec::new();
    for _ in 0..100 {
        let (status, list) = s.get("/api/v1/incidents?kind=security", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        found = list["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["monitor_id"].as_str().unwrap().starts_with(prefix))
            .cloned()
            .collect();
        if found.len() >= wanted {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    found
}

/// Lets the access task run a few times.
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
}

fn client_from(ip: [u8; 4]) -> reqwest::Client {
    super::http().local_address(std::net::IpAddr::from(ip)).build().unwrap()
}

async fn failed_sign_in(s: &TestServer, client: &reqwest::Client, name: &str) {
    let body = json!({"name": name, "password": "not the password"}).to_string();
    let req = client.post(s.url("/api/v1/login")).header("content-type", "application/json").body(body);
    let status = read(req.send().await.unwrap()).await.0;
    assert!(matches!(status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{status}");
}

#[tokio::test]
async fn twenty_failed_sign_ins_against_a_user_open_one_security_incident_naming_the_user() {
    for (s, _clock) in access_servers().await {
        let (status, _) = s
            .post("/api/v1/users", json!({"name": "alice", "roles": ["viewer"], "password": "a long passphrase"}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        // From three clients, seven at most each: no client is locked out, so what opens is
        // the rule about the user alone.
        let clients: Vec<reqwest::Client> = (2..5).map(|i| client_from([127, 0, 0, i])).collect();
        for i in 0..19 {
            failed_sign_in(&s, &clients[i % 3], "alice").await;
        }
        settle().await;
        assert!(security_incidents(&s, "security.access.", 0).await.is_empty(), "19 failures open nothing");

        failed_sign_in(&s, &clients[0], "alice").await;
        let opened = security_incidents(&s, "security.access.", 1).await;
        assert_eq!(opened.len(), 1, "{opened:?}");
        let i = &opened[0];
        assert_eq!(i["monitor_id"], "security.access.failed_sign_ins:user:alice", "{i}");
        assert_eq!(
            (i["kind"].as_str(), i["state"].as_str(), i["severity"].as_str()),
            (Some("security"), Some("open"), Some("medium"))
        );
        assert!(i["title"].as_str().unwrap().contains("user:alice"), "{i}");
        assert_eq!(i["evidence"]["subject"], "user:alice", "{i}");
        assert_eq!(i["evidence"]["clients"].as_array().unwrap().len(), 3, "{i}");
        assert_eq!(i["monitor"]["threshold"], 20.0, "{i}");

        // The burst goes on: still one unresolved incident for the user.
        for i in 0..20 {
            failed_sign_in(&s, &clients[i % 3], "alice").await;
        }
        settle().await;
        assert_eq!(security_incidents(&s, "security.access.failed_sign_ins:", 1).await.len(), 1);
        // Resolved (by a global admin), the next burst opens a new one.
        let first = opened[0]["id"].as_i64().unwrap();
        let (status, resolved) = s.call("POST", &format!("/api/v1/incidents/{first}/resolve"), TOKEN, None).await;
        assert_eq!((status, resolved["state"].as_str()), (StatusCode::OK, Some("resolved")), "{resolved}");
        for i in 0..20 {
            failed_sign_in(&s, &clients[i % 3], "alice").await;
        }
        let again = security_incidents(&s, "security.access.failed_sign_ins:", 2).await;
        assert_eq!(again.len(), 2, "{again:?}");
        assert_eq!(again.iter().filter(|i| i["state"] == "open").count(), 1, "{again:?}");
        // Only global roles see them: a project's data scientist does not.
        s.post("/api/v1/projects", json!({"name": "credit"})).await;
        let ds = s.user("dana", &["data_scientist@credit"]).await;
        let (_, theirs) = s.get("/api/v1/incidents?kind=security", Some(&ds)).await;
        assert!(theirs["incidents"].as_array().unwrap().is_empty(), "{theirs}");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_burst_of_403s_opens_an_incident_and_denials_are_audited_once_per_principal_route_and_minute() {
    for (s, clock) in access_servers().await {
        let mallory = s.user("mallory", &["viewer"]).await;
        for _ in 0..19 {
            assert_eq!(s.get("/api/v1/users", Some(&mallory)).await.0, StatusCode::FORBIDDEN);
        }
        settle().await;
        assert!(security_incidents(&s, "security.access.", 0).await.is_empty());
        assert_eq!(s.get("/api/v1/users", Some(&mallory)).await.0, StatusCode::FORBIDDEN);
        let opened = security_incidents(&s, "security.access.forbidden:", 1).await;
        assert_eq!(opened.len(), 1, "{opened:?}");
        assert_eq!(opened[0]["monitor_id"], "security.access.forbidden:user:mallory");
        assert!(opened[0]["title"].as_str().unwrap().contains("user:mallory"), "{}", opened[0]);

        // Nothing is audited while the minute is open; once it ends, one event with the count.
        let denied = || async {
            let (_, events) = s.get("/api/v1/audit/events?target=user:mallory", Some(TOKEN)).await;
            events["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["action"] == "access.denied")
                .cloned()
                .collect::<Vec<Value>>()
        };
        assert!(denied().await.is_empty());
        clock.advance(time::Duration::minutes(1));
        let mut events = Vec::new();
        for _ in 0..100 {
            events = denied().await;
            if !events.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(events.len(), 1, "{events:?}");
        let after = &events[0]["after"];
        assert_eq!(after["count"], 20, "{after}");
        assert_eq!(after["by_status"], json!({"403": 20}), "{after}");
        assert_eq!(after["route"], "/api/v1/users", "{after}");
        assert_eq!(after["minute"], "2026-10-01T00:00:00Z", "{after}");
        settle().await;
        assert_eq!(denied().await.len(), 1, "written once");
        s.stop().await;
    }
}

#[tokio::test]
async fn unauthenticated_bursts_and_lockouts_open_incidents_naming_the_client() {
    for (s, clock) in access_servers().await {
        let guesser = client_from([127, 0, 0, 9]);
        for _ in 0..20 {
            let status = guesser.get(s.url("/api/v1/whoami")).bearer_auth("rsk_guess").send().await.unwrap().status();
            assert!(matches!(status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{status}");
        }
        let lockout = security_incidents(&s, "security.access.lockout:", 1).await;
        assert_eq!(lockout.len(), 1, "{lockout:?}");
        assert_eq!(lockout[0]["monitor_id"], "security.access.lockout:client:127.0.0.9");
        let burst = security_incidents(&s, "security.access.unauthenticated:", 1).await;
        assert_eq!(burst.len(), 1, "{burst:?}");
        assert_eq!(burst[0]["monitor_id"], "security.access.unauthenticated:client:127.0.0.9");
        // Unauthenticated denials are audited under the client's address.
        clock.advance(time::Duration::minutes(1));
        settle().await;
        let (_, events) = s.get("/api/v1/audit/events?target=client:127.0.0.9", Some(TOKEN)).await;
        let denied: Vec<&Value> =
            events["events"].as_array().unwrap().iter().filter(|e| e["action"] == "access.denied").collect();
        assert_eq!(denied.len(), 1, "{events}");
        assert_eq!(denied[0]["after"]["count"], 20);
        s.stop().await;
    }
}

#[tokio::test]
async fn role_grants_open_security_incidents_low_for_a_role_high_for_admin() {
    for (s, _clock) in access_servers().await {
        s.post("/api/v1/projects", json!({"name": "credit"})).await;
        s.user("bob", &["viewer"]).await;
        settle().await;
        assert!(security_incidents(&s, "security.access.", 0).await.is_empty(), "a new non-admin user is not one");
        let (status, body) = s.post("/api/v1/users/bob/roles", json!({"role": "validator@credit"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let grant = security_incidents(&s, "security.access.privilege_grant:", 1).await;
        assert_eq!(grant.len(), 1, "{grant:?}");
        assert_eq!(grant[0]["monitor_id"], "security.access.privilege_grant:user:bob:validator@credit");
        assert_eq!(grant[0]["severity"], "low");
        assert!(grant[0]["title"].as_str().unwrap().contains("validator@credit by admin"), "{}", grant[0]);

        let (status, _) = s.post("/api/v1/users/bob/roles", json!({"role": "admin"})).await;
        assert_eq!(status, StatusCode::OK);
        s.user("root2", &["admin"]).await;
        let grants = security_incidents(&s, "security.access.privilege_grant:", 3).await;
        let high: Vec<&str> =
            grants.iter().filter(|i| i["severity"] == "high").map(|i| i["monitor_id"].as_str().unwrap()).collect();
        assert_eq!(grants.len(), 3, "{grants:?}");
        assert!(high.contains(&"security.access.privilege_grant:user:bob:admin"), "{high:?}");
        assert!(high.contains(&"security.access.privilege_grant:user:root2:admin"), "{high:?}");
        // The console shows them by rule and subject (they have no model or window).
        let (cookie, _) = super::console::sign_in(&s, &[("token", TOKEN)]).await;
        let (status, _, html) = super::console::page(&s, "/incidents", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("security.access.privilege_grant:user:bob:validator@credit · opened"), "{html}");
        assert!(!html.contains(" v0 "), "{html}");
        s.stop().await;
    }
}

#[tokio::test]
async fn reading_the_audit_trail_in_bulk_opens_an_incident_naming_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), None, 64 * 1024, None);
    settings.access_flush_interval = std::time::Duration::from_millis(50);
    settings.access.audit_export = riskops_core::access::Burst { count: 5, window: time::Duration::minutes(5) };
    let s = TestServer::start_settings(dir, None, settings, Arc::new(SystemClock)).await;
    for name in ["p1", "p2", "p3"] {
        s.post("/api/v1/projects", json!({"name": name})).await;
    }
    let (_, events) = s.get("/api/v1/audit/events?limit=4", Some(TOKEN)).await;
    assert_eq!(events["events"].as_array().unwrap().len(), 4);
    settle().await;
    assert!(security_incidents(&s, "security.access.audit_export:", 0).await.is_empty(), "4 of 5");
    let (_, events) = s.get("/api/v1/audit/events?limit=1", Some(TOKEN)).await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    let opened = security_incidents(&s, "security.access.audit_export:", 1).await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["monitor_id"], "security.access.audit_export:user:admin");
    assert_eq!(opened[0]["evidence"]["events"], 5, "{}", opened[0]);
    s.stop().await;
}

#[tokio::test]
async fn access_incidents_filed_under_a_project_reach_its_webhooks() {
    let hook = super::alerting_flow::receiver(0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), None, 64 * 1024, None);
    settings.access_flush_interval = std::time::Duration::from_millis(50);
    settings.access_project = Some("security".into());
    let s = TestServer::start_settings(dir, None, settings, Arc::new(SystemClock)).await;
    s.post("/api/v1/projects", json!({"name": "security"})).await;
    let secret = "a-secret-of-16+bytes";
    let (status, body) = s
        .call("POST", "/api/v1/projects/security/webhooks", TOKEN, Some(json!({"url": hook.url, "secret": secret})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.user("bob", &["viewer"]).await;
    let (status, _) = s.post("/api/v1/users/bob/roles", json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::OK);
    let opened = security_incidents(&s, "security.access.privilege_grant:", 1).await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["project"], "security");
    let mut got = Vec::new();
    for _ in 0..100 {
        got = hook.got.lock().unwrap().iter().map(|(_, b)| String::from_utf8_lossy(b).to_string()).collect();
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("incident.opened") && got[0].contains("user:bob was granted admin"), "{}", got[0]);
    s.stop().await;
}
