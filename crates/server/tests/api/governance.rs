//! Governance over HTTP: users and roles, the role × operation matrix, promotion gates,
//! separation of duties, signed production versions, rollback and stages over time.

use super::*;
use riskops_core::auth::{Operation, Role, allows};

impl TestServer {
    pub(crate) async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method.parse().unwrap(), self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        read(req.send().await.unwrap()).await
    }

    pub(crate) async fn upload_as(
        &self,
        token: &str,
        path: &str,
        metadata: Value,
        file: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .part("metadata", reqwest::multipart::Part::text(metadata.to_string()))
            .part("file", reqwest::multipart::Part::bytes(file).file_name("file.bin"));
        read(self.http.post(self.url(path)).bearer_auth(token).multipart(form).send().await.unwrap()).await
    }

    /// Creates a user with roles and returns its token.
    pub(crate) async fn user(&self, name: &str, roles: &[&str]) -> String {
        let (status, body) = self.post("/api/v1/users", json!({"name": name, "roles": roles})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Sets the policy riskops shipped before gates asked for produced evidence (high and
    /// critical production: validation and stress tests by riskops), for stories about
    /// something else: approvals, controls on uploaded evidence.
    pub(crate) async fn accept_uploaded_evidence(&self) {
        let (_, current) = self.get("/api/v1/policy", Some(TOKEN)).await;
        let mut policy = current["policy"].clone();
        for tier in ["low", "medium", "high", "critical"] {
            for env in ["staging", "production"] {
                let gate = &mut policy["tiers"][tier][env];
                let kinds: Vec<Value> = gate["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.get("kind").cloned().unwrap_or_else(|| e.clone()))
                    .filter(|k| !(tier == "high" && env == "production" && k == "stress_test"))
                    .collect();
                gate["evidence"] = json!(kinds);
            }
        }
        let (status, body) = self.call("PUT", "/api/v1/policy", TOKEN, Some(policy)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub(crate) async fn audit_head(&self) -> i64 {
        let (_, body) = self.get("/api/v1/audit/verify", Some(TOKEN)).await;
        body["events"].as_i64().unwrap()
    }
}

fn missing(body: &Value) -> Vec<String> {
    body["missing"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn users_get_tokens_once_and_tokens_expire_or_are_revoked() {
    for s in servers().await {
        let (status, made) = s
            .post(
                "/api/v1/users",
                json!({"name": "ana", "roles": ["viewer", "validator@default"], "expires_in_seconds": 3600}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let token = made["token"].as_str().unwrap();
        assert!(token.starts_with("rsk_") && made["expires_at"].is_string());
        let (_, me) = s.get("/api/v1/whoami", Some(token)).await;
        assert_eq!(me["roles"], json!(["validator@default", "viewer"]));
        let (status, _) = s.post("/api/v1/users", json!({"name": "ana", "roles": ["viewer"]})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, body) = s.post("/api/v1/users", json!({"name": "bo", "roles": ["king"]})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, _) = s.post("/api/v1/users", json!({"name": "bo", "roles": ["viewer@nowhere"]})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // A second token of her own; listing never shows tokens; revoking ends it.
        let (status, second) = s.call("POST", "/api/v1/tokens", token, Some(json!({"label": "laptop"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{second}");
        let (_, list) = s.call("GET", "/api/v1/tokens", token, None).await;
        assert_eq!(list["tokens"].as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains("rsk_"), "listings never show a token");
        let id = second["id"].as_i64().unwrap();
        let (status, _) = s.call("DELETE", &format!("/api/v1/tokens/{id}"), token, None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = s.get("/api/v1/whoami", second["token"].as_str()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Someone else's token, or a token for someone else, is an admin's business.
        let (status, _) = s.call("POST", "/api/v1/tokens", token, Some(json!({"user": "admin"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Grants and revocations; the last admin keeps the role.
        let (status, after) = s.post("/api/v1/users/ana/roles", json!({"role": "auditor"})).await;
        assert_eq!(status, StatusCode::OK, "{after}");
        let req = s.http.delete(s.url("/api/v1/users/admin/roles/admin")).bearer_auth(TOKEN);
        let (status, body) = read(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let actions = audit_actions(&s).await;
        for a in ["identity.create", "token.create", "token.revoke", "identity.grant"] {
            assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
        }
        s.stop().await;
    }
}

/// Signs in with a password from the test's address; the answer's status and body.
async fn sign_in(s: &TestServer, name: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"name": name, "password": password}).to_string();
    read(
        s.http.post(s.url("/api/v1/login")).header("content-type", "application/json").body(body).send().await.unwrap(),
    )
    .await
}

#[tokio::test]
async fn every_project_scoped_role_signs_in_and_manages_its_own_tokens() {
    for s in servers().await {
        let (status, _) = s.post("/api/v1/projects", json!({"name": "alpha"})).await;
        assert_eq!(status, StatusCode::CREATED);
        for role in Role::ALL {
            let who = format!("scoped-{}", role.as_str().replace('_', "-"));
            let binding = format!("{}@alpha", role.as_str());
            let user = json!({"name": who, "roles": [binding], "password": "a long passphrase"});
            let (status, body) = s.post("/api/v1/users", user).await;
            assert_eq!(status, StatusCode::CREATED, "{binding}: {body}");

            let (status, signed) = sign_in(&s, &who, "a long passphrase").await;
            assert_eq!(status, StatusCode::OK, "{binding} signs in: {signed}");
            let token = signed["token"].as_str().unwrap();
            let (status, made) = s.call("POST", "/api/v1/tokens", token, Some(json!({"label": "ci"}))).await;
            assert_eq!(status, StatusCode::CREATED, "{binding} creates a token: {made}");
            let (status, list) = s.call("GET", "/api/v1/tokens", token, None).await;
            assert_eq!(status, StatusCode::OK, "{binding} lists its tokens: {list}");
            let listed = list["tokens"].as_array().unwrap();
            assert!(listed.iter().all(|t| t["identity"] == json!(who)), "only its own: {list}");
            assert_eq!(listed.len(), 3, "the first token, the sign-in's and the new one: {list}");
            let id = made["id"].as_i64().unwrap();
            let (status, body) = s.call("DELETE", &format!("/api/v1/tokens/{id}"), token, None).await;
            assert_eq!(status, StatusCode::OK, "{binding} revokes its token: {body}");
            assert_eq!(s.get("/api/v1/whoami", made["token"].as_str()).await.0, StatusCode::UNAUTHORIZED);
            // Others' tokens stay an admin's business.
            let (status, _) = s.call("POST", "/api/v1/tokens", token, Some(json!({"user": "admin"}))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{binding} makes tokens for others");
            let (status, _) = s.call("GET", "/api/v1/tokens?all=true", token, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{binding} lists everyone's tokens");
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn passwords_sign_in_and_guessing_is_throttled_and_audited() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    let (status, _) =
        s.post("/api/v1/users", json!({"name": "eve", "roles": ["viewer"], "password": "a long passphrase"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let login = |password: &str| {
        let body = json!({"name": "eve", "password": password}).to_string();
        s.http.post(s.url("/api/v1/login")).header("content-type", "application/json").body(body).send()
    };
    let (status, ok) = read(login("a long passphrase").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert!(ok["token"].as_str().unwrap().starts_with("rsk_") && ok["expires_at"].is_string());
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(read(login("wrong guess!!").await.unwrap()).await.0);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(*statuses.last().unwrap(), StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Even the right password waits out the lockout.
    assert_eq!(read(login("a long passphrase").await.unwrap()).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert!(audit_actions(&s).await.iter().any(|a| a == "auth.throttled"));
    // Guessed tokens from a locked-out client get 429, but a valid token always works.
    assert_eq!(s.get("/api/v1/whoami", Some("rsk_guess")).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(s.get("/api/v1/whoami", Some(TOKEN)).await.0, StatusCode::OK);
    s.stop().await;
}

/// A client whose requests come from `ip` (any 127.0.0.0/8 address reaches the server).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    super::http().local_address(std::net::IpAddr::from(ip)).build().unwrap()
}

async fn sign_in_from(s: &TestServer, client: &reqwest::Client, name: &str, password: &str) -> StatusCode {
    let body = json!({"name": name, "password": password}).to_string();
    let req = client.post(s.url("/api/v1/login")).header("content-type", "application/json").body(body);
    read(req.send().await.unwrap()).await.0
}

#[tokio::test]
async fn a_stranger_guessing_a_name_cannot_keep_its_owner_out() {
    let clock = Arc::new(riskops_core::clock::ManualClock::new(time::macros::datetime!(2026-10-01 00:00 UTC)));
    let s = TestServer::start_clocked(tempfile::tempdir().unwrap(), None, 64 * 1024, None, clock.clone()).await;
    let (status, _) =
        s.post("/api/v1/users", json!({"name": "alice", "roles": ["viewer"], "password": "a long passphrase"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (attacker, alice, other) =
        (client_from([127, 0, 0, 1]), client_from([127, 0, 0, 2]), client_from([127, 0, 0, 3]));

    // The lockout is renewable by the attacker, every time it ends; alice is never kept out.
    for _ in 0..2 {
        let mut statuses = Vec::new();
        for _ in 0..12 {
            statuses.push(sign_in_from(&s, &attacker, "alice", "wrong guess!!").await);
        }
        assert_eq!(*statuses.last().unwrap(), StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
        assert_eq!(sign_in_from(&s, &attacker, "alice", "a long passphrase").await, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(sign_in_from(&s, &alice, "alice", "a long passphrase").await, StatusCode::OK);
        clock.advance(riskops_core::throttle::LOCKOUT);
    }

    // Guessing alice from a third address backs off there: after the free tries, the next
    // try waits, whatever the password, and the wait is over a second later.
    for _ in 0..riskops_core::throttle::BACKOFF_FREE + 1 {
        assert_eq!(sign_in_from(&s, &other, "alice", "wrong guess!!").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in_from(&s, &other, "alice", "a long passphrase").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sign_in_from(&s, &alice, "alice", "a long passphrase").await, StatusCode::OK);
    clock.advance(riskops_core::throttle::BACKOFF_START);
    assert_eq!(sign_in_from(&s, &other, "alice", "a long passphrase").await, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn a_name_taken_in_another_project_names_it_only_to_those_who_may_see_it() {
    for s in servers().await {
        for p in ["alpha", "beta"] {
            assert_eq!(s.post("/api/v1/projects", json!({"name": p})).await.0, StatusCode::CREATED);
        }
        let (status, body) =
            s.upload_as(TOKEN, "/api/v1/models/scorer/versions", json!({"project": "alpha"}), b"m1".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) =
            s.upload_as(TOKEN, "/api/v1/datasets/train/versions", json!({"project": "alpha"}), csv(10, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let outsider = s.user("bea", &["data_scientist@beta"]).await;
        let insider = s.user("dan", &["data_scientist@beta", "viewer@alpha"]).await;
        let pushes =
            [("/api/v1/models/scorer/versions", b"m2".to_vec()), ("/api/v1/datasets/train/versions", csv(10, 1.0))];
        for (path, file) in pushes {
            let before = s.audit_head().await;
            let (status, body) = s.upload_as(&outsider, path, json!({"project": "beta"}), file.clone()).await;
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_error(&body, "conflict");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(!message.contains("alpha") && message.contains("another project"), "{message}");
            assert_eq!(s.audit_head().await, before, "a refused push changes nothing");
            // Someone who may read the owner's registry is told where the name lives.
            let (status, body) = s.upload_as(&insider, path, json!({"project": "beta"}), file).await;
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert!(body["error"]["message"].as_str().unwrap().contains("\"alpha\""), "{body}");
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn a_request_keeps_its_gate_and_authors_cannot_validate_their_own_models() {
    for s in servers().await {
        let ds = s.user("dana", &["data_scientist"]).await;
        let risk = s.user("rita", &["risk_officer"]).await;
        s.upload_as(&ds, "/api/v1/models/m/versions", json!({}), b"m1".to_vec()).await;
        let (_, p) =
            s.call("POST", "/api/v1/models/m/versions/1/promotions", &ds, Some(json!({"to": "production"}))).await;
        let id = p["id"].as_i64().unwrap();
        // The author's own validation does not count; documentation by the author does.
        for kind in ["validation", "documentation"] {
            let (status, _) = s
                .upload_as(
                    &ds,
                    "/api/v1/models/m/versions/1/evidence",
                    json!({"kind": kind, "passed": true}),
                    kind.as_bytes().to_vec(),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let (_, p) = s.get(&format!("/api/v1/promotions/{id}"), Some(TOKEN)).await;
        assert!(missing(&p).contains(&"evidence:validation".to_string()), "{p}");
        assert!(!missing(&p).contains(&"evidence:documentation".to_string()), "{p}");
        // Lowering the tier later does not lower the gate of an open request.
        let (status, _) =
            s.call("PATCH", "/api/v1/projects/default", &risk, Some(json!({"tier": "low", "reason": "test"}))).await;
        assert_eq!(status, StatusCode::OK);
        let (_, p) = s.get(&format!("/api/v1/promotions/{id}"), Some(TOKEN)).await;
        assert_eq!(p["tier"], "high");
        assert!(missing(&p).contains(&"approval:risk_officer".to_string()), "{p}");
        // No policy may open production to high tiers without validation and approval.
        let mut open = riskops_core::governance::Policy::default_policy().to_json();
        open["tiers"]["high"]["production"] = json!({"evidence": [], "approvals": []});
        let (status, body) = s.call("PUT", "/api/v1/policy", TOKEN, Some(open)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        s.stop().await;
    }
}

/// One request that exercises `op`, made as `token`. The match is exhaustive, so a new
/// operation cannot be added without a case here.
async fn exercise(s: &TestServer, op: Operation, token: &str, who: &str, promotion: i64) -> (StatusCode, Value) {
    let model_bytes = format!("model of {who} for {op:?}").into_bytes();
    match op {
        Operation::System => unreachable!("not requestable"),
        Operation::ProjectCreate => {
            s.call("POST", "/api/v1/projects", token, Some(json!({"name": format!("p-{who}")}))).await
        }
        Operation::ProjectRead => s.call("GET", "/api/v1/projects/credit", token, None).await,
        Operation::ProjectUpdate => {
            s.call(
                "PATCH",
                "/api/v1/projects/credit",
                token,
                Some(json!({"tier": "critical", "reason": "matrix test"})),
            )
            .await
        }
        Operation::DatasetPush => {
            s.upload_as(
                token,
                &format!("/api/v1/datasets/d-{who}/versions"),
                json!({"project": "credit"}),
                csv(20, 0.0),
            )
            .await
        }
        Operation::ModelRegister => s.upload_as(token, "/api/v1/models/m/versions", json!({}), model_bytes).await,
        Operation::RegistryRead => s.call("GET", "/api/v1/models/m/versions/1", token, None).await,
        Operation::RegistryAnnotate => {
            s.call("POST", "/api/v1/models/m/versions/1/notes", token, Some(json!({"text": "looked"}))).await
        }
        Operation::EvidenceAdd => {
            s.upload_as(
                token,
                "/api/v1/models/m/versions/1/evidence",
                json!({"kind": "documentation", "passed": true}),
                model_bytes,
            )
            .await
        }
        Operation::PromotionRequest => {
            s.call("POST", "/api/v1/models/m/versions/1/promotions", token, Some(json!({"to": "staging"}))).await
        }
        Operation::PromotionDecide => {
            s.call("POST", &format!("/api/v1/promotions/{promotion}/approve"), token, Some(json!({}))).await
        }
        Operation::EmergencyRollback => {
            s.call("POST", "/api/v1/models/m/rollback", token, Some(json!({"version": 1, "reason": "matrix test"})))
                .await
        }
        Operation::PolicyEdit => {
            let policy = riskops_core::governance::Policy::default_policy().to_json();
            s.call("PUT", "/api/v1/policy", token, Some(policy)).await
        }
        Operation::RiskEdit => {
            let entry = json!({"failure_mode": "data_drift", "severity": 2, "likelihood": 2});
            s.call("POST", "/api/v1/projects/credit/risks", token, Some(entry)).await
        }
        Operation::ControlAttest => {
            let attestation = json!({"control": "C11", "statement": "matrix test: residual risk accepted"});
            s.call("POST", "/api/v1/projects/credit/attestations", token, Some(attestation)).await
        }
        Operation::Ingest => {
            let body =
                format!("{}\n", json!({"id": format!("m-{who}"), "timestamp": 0, "features": {}, "prediction": 1}));
            let req = s.http.post(s.url("/api/v1/projects/credit/models/m/predictions")).bearer_auth(token).body(body);
            read(req.header("content-type", "application/x-ndjson").send().await.unwrap()).await
        }
        Operation::AuditRead => s.call("GET", "/api/v1/audit/events?limit=1", token, None).await,
        Operation::IdentityRead => s.call("GET", "/api/v1/users", token, None).await,
        Operation::IdentityAdmin => {
            s.call("POST", "/api/v1/users", token, Some(json!({"name": format!("u-{who}"), "roles": ["viewer"]}))).await
        }
        Operation::OwnTokens => s.call("POST", "/api/v1/tokens", token, Some(json!({"label": "matrix"}))).await,
        Operation::MonitorEdit => {
            let monitor = json!({"metric": "volume", "below": 1});
            s.call("POST", "/api/v1/projects/credit/models/m/monitors", token, Some(monitor)).await
        }
        Operation::MonitorConfigure => {
            let config = json!({"window": "hour"});
            s.call("PUT", "/api/v1/projects/credit/models/m/monitor", token, Some(config)).await
        }
        Operation::MonitorDefaults => {
            // On a model only its owner wrote (authors may not switch its defaults off); each
            // role allowed switches a different default off (a second time would be 404).
            let id = match who {
                "as-admin" => "drift_share",
                "as-risk-officer" => "fairness",
                _ => "missing_rate",
            };
            let url = s.url(&format!("/api/v1/projects/credit/models/watched/monitors/default:{id}"));
            let response = s.http.delete(url).bearer_auth(token).send().await.unwrap();
            let status = response.status();
            (status, serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null))
        }
        // No incident exists here: the permission check comes before the lookup, so the
        // roles allowed get 404 and the others 403.
        Operation::IncidentManage => s.call("POST", "/api/v1/incidents/999/acknowledge", token, None).await,
        Operation::WebhookEdit => {
            let hook = json!({"url": format!("http://127.0.0.1:9/{who}"), "secret": "0123456789abcdef-matrix"});
            s.call("POST", "/api/v1/projects/credit/webhooks", token, Some(hook)).await
        }
    }
}

#[tokio::test]
async fn every_operation_as_every_role_is_allowed_or_denied_as_the_matrix_says() {
    for s in servers().await {
        let (status, _) = s.post("/api/v1/projects", json!({"name": "credit"})).await;
        assert_eq!(status, StatusCode::CREATED);
        let owner = s.user("owner", &["data_scientist"]).await;
        let (status, body) =
            s.upload_as(&owner, "/api/v1/models/m/versions", json!({"project": "credit"}), b"model v1".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = s
            .upload_as(&owner, "/api/v1/models/watched/versions", json!({"project": "credit"}), b"watched".to_vec())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // A critical-tier request, so every approving role is one the gate asks for and it
        // stays pending (no evidence) while each role approves.
        s.call("PATCH", "/api/v1/projects/credit", TOKEN, Some(json!({"tier": "critical", "reason": "test"}))).await;
        let (status, req) =
            s.call("POST", "/api/v1/models/m/versions/1/promotions", &owner, Some(json!({"to": "production"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{req}");
        let promotion = req["id"].as_i64().unwrap();

        for role in Role::ALL {
            let who = format!("as-{}", role.as_str().replace('_', "-"));
            let token = s.user(&who, &[role.as_str()]).await;
            for op in Operation::REQUESTABLE {
                let before = s.audit_head().await;
                let (status, body) = exercise(&s, op, &token, &who, promotion).await;
                if allows(role, op) {
                    assert_ne!(status, StatusCode::FORBIDDEN, "{role} may {}: {body}", op.as_str());
                    assert!(
                        status.is_success()
                            || status == StatusCode::CONFLICT
                            || status == StatusCode::UNPROCESSABLE_ENTITY
                            || (op == Operation::IncidentManage && status == StatusCode::NOT_FOUND),
                        "{role} {}: {status} {body}",
                        op.as_str()
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{role} may not {}: {body}", op.as_str());
                    assert_error(&body, "forbidden");
                    assert_eq!(s.audit_head().await, before, "a denied {} by {role} changed something", op.as_str());
                }
            }
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn a_model_reaches_production_only_through_evidence_and_approvals() {
    for s in servers().await {
        // About gates and approvals: uploaded evidence counts here (produced evidence has its
        // own story in validation.rs).
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
        register(b"scorer v1").await;

        // Unassessed projects are governed as high tier.
        let (status, p) = s
            .call(
                "POST",
                "/api/v1/models/scorer/versions/1/promotions",
                &ds,
                Some(json!({"to": "production", "reason": "first release"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        assert_eq!((p["status"].as_str(), p["tier"].as_str()), (Some("pending"), Some("high")));
        assert_eq!(
            missing(&p),
            [
                "evidence:validation",
                "evidence:fairness",
                "evidence:documentation",
                "approval:validator",
                "approval:risk_officer"
            ]
        );
        // Each missing entry says why; the plain list stays as it was for older clients.
        let reasons = p["missing_reasons"].as_array().unwrap();
        assert_eq!(reasons.len(), 5, "{p}");
        assert_eq!(
            reasons[0],
            json!({"requirement": "evidence:validation", "reason": "no validation evidence on file"})
        );
        assert_eq!(reasons[4]["reason"], "no approval by a risk_officer yet");
        let id = p["id"].as_i64().unwrap();
        let (status, again) =
            s.call("POST", "/api/v1/models/scorer/versions/1/promotions", &ds, Some(json!({"to": "production"}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");

        // Separation of duties, and roles the gate does not name.
        for (token, who) in [(&ds, "requester"), (&viewer, "viewer")] {
            let before = s.audit_head().await;
            let (status, body) =
                s.call("POST", &format!("/api/v1/promotions/{id}/approve"), token, Some(json!({}))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
            assert_eq!(s.audit_head().await, before);
        }

        // Approvals before the evidence: still pending, and each person counts once.
        let (_, after_val) = s
            .call("POST", &format!("/api/v1/promotions/{id}/approve"), &val, Some(json!({"comment": "validated"})))
            .await;
        assert_eq!(after_val["status"], "pending");
        assert!(!missing(&after_val).contains(&"approval:validator".to_string()));
        let (status, _) = s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &val, Some(json!({}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "a second decision by the same person");
        for kind in ["validation", "fairness", "documentation"] {
            let (status, e) = s
                .upload_as(
                    &val,
                    "/api/v1/models/scorer/versions/1/evidence",
                    json!({"kind": kind, "passed": true}),
                    format!("{kind} report").into_bytes(),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{e}");
        }
        let (_, p) = s.get(&format!("/api/v1/promotions/{id}"), Some(&viewer)).await;
        assert_eq!(missing(&p), ["approval:risk_officer"]);
        let (_, listed) = s.get("/api/v1/models/scorer/versions/1/evidence", Some(&viewer)).await;
        let listed = listed["evidence"].as_array().unwrap();
        assert!(listed.len() == 3 && listed.iter().all(|e| e["counts"] == true && e["does_not_count"].is_null()));
        // Each file can be read back by its id (the model report reads produced reports so),
        // checked against its digest; an id of another version is a 404.
        let fairness = &listed[1];
        let url = s.url(&format!("/api/v1/models/scorer/versions/1/evidence/{}/file", fairness["id"]));
        let file = s.http.get(&url).bearer_auth(&viewer).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        assert_eq!(file.headers()["x-riskops-digest"].to_str().unwrap(), fairness["digest"].as_str().unwrap());
        assert_eq!(file.bytes().await.unwrap().as_ref(), b"fairness report");
        let (status, body) = s.get("/api/v1/models/scorer/versions/1/evidence/999999/file", Some(&viewer)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_error(&body, "not_found");
        let (_, done) = s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &risk, Some(json!({}))).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert!(missing(&done).is_empty());

        let (_, stages) = s.get("/api/v1/models/scorer/stages", Some(&viewer)).await;
        assert_eq!(stages["environments"]["production"]["version"], 1, "{stages}");
        assert_eq!(stages["environments"]["production"]["signature"]["algorithm"], "ed25519");
        let between = stages["environments"]["production"]["since"].as_str().unwrap().to_string();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;

        // Version 2 through the same gates; version 1 is archived, and its request for
        // staging, still pending, is closed with the reason.
        let (_, stale) =
            s.call("POST", "/api/v1/models/scorer/versions/1/promotions", &ds, Some(json!({"to": "staging"}))).await;
        assert_eq!(stale["status"], "pending", "{stale}");
        assert!(stale["closed_reason"].is_null(), "{stale}");
        let stale_id = stale["id"].as_i64().unwrap();
        register(b"scorer v2").await;
        let (_, p2) =
            s.call("POST", "/api/v1/models/scorer/versions/2/promotions", &ds, Some(json!({"to": "production"}))).await;
        let id2 = p2["id"].as_i64().unwrap();
        for kind in ["validation", "fairness", "documentation"] {
            s.upload_as(
                &val,
                "/api/v1/models/scorer/versions/2/evidence",
                json!({"kind": kind, "passed": true}),
                format!("{kind} v2").into_bytes(),
            )
            .await;
        }
        s.call("POST", &format!("/api/v1/promotions/{id2}/approve"), &val, Some(json!({}))).await;
        let (_, done2) = s.call("POST", &format!("/api/v1/promotions/{id2}/approve"), &risk, Some(json!({}))).await;
        assert_eq!(done2["status"], "completed", "{done2}");
        // A newer failed fairness report withdraws the older pass, and the list says so.
        s.upload_as(
            &val,
            "/api/v1/models/scorer/versions/1/evidence",
            json!({"kind": "fairness", "passed": false}),
            b"bias".to_vec(),
        )
        .await;
        let (_, listed) = s.get("/api/v1/models/scorer/versions/1/evidence", Some(&viewer)).await;
        let standing: Vec<(&str, &Value)> = listed["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["kind"].as_str().unwrap(), &e["does_not_count"]))
            .collect();
        assert_eq!(standing[1], ("fairness", &json!("newer fairness evidence replaces it")), "{listed}");
        assert_eq!(standing[3], ("fairness", &json!("it failed")), "{listed}");
        let (_, closed) = s.get(&format!("/api/v1/promotions/{stale_id}"), Some(&viewer)).await;
        assert_eq!(closed["status"], "rejected", "{closed}");
        assert_eq!(closed["closed_reason"], "scorer@1 was archived: replaced in production by scorer@2", "{closed}");
        assert!(closed["closed_at"].is_string(), "{closed}");
        let (_, events) = s.get(&format!("/api/v1/audit/events?target=promotion:{stale_id}"), Some(TOKEN)).await;
        let events = events["events"].as_array().unwrap();
        let closing = events.iter().find(|e| e["action"] == "promotion.closed").expect("the closing is audited");
        assert_eq!(closing["after"]["reason"], closed["closed_reason"], "{closing}");
        let (_, lineage) = s.get("/api/v1/lineage/model/scorer/1", Some(&viewer)).await;
        let deployed =
            lineage["edges"].as_array().map(|e| e.iter().any(|e| e["relation"] == "deployed_as")).unwrap_or(false);
        assert!(deployed, "lineage reaches the deployment: {lineage}");
        let (_, now) = s.get("/api/v1/models/scorer/stages", Some(&viewer)).await;
        assert_eq!(now["environments"]["production"]["version"], 2);
        assert_eq!(
            now["versions"],
            json!([{"version": 1, "stages": ["archived"]}, {"version": 2, "stages": ["production"]}])
        );
        let (_, then) =
            s.get(&format!("/api/v1/models/scorer/stages?at={}", between.replace('+', "%2B")), Some(&viewer)).await;
        assert_eq!(then["environments"]["production"]["version"], 1, "{then}");

        // A rejection closes a request; a rollback skips the gates but only for risk officers.
        register(b"scorer v3").await;
        let (_, p3) =
            s.call("POST", "/api/v1/models/scorer/versions/3/promotions", &ds, Some(json!({"to": "staging"}))).await;
        let id3 = p3["id"].as_i64().unwrap();
        let (status, _) = s.call("POST", &format!("/api/v1/promotions/{id3}/reject"), &val, Some(json!({}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a rejection needs a comment");
        let (_, rejected) = s
            .call(
                "POST",
                &format!("/api/v1/promotions/{id3}/reject"),
                &val,
                Some(json!({"comment": "fails on holdout"})),
            )
            .await;
        assert_eq!(rejected["status"], "rejected");
        let rollback = json!({"version": 1, "reason": "v2 misprices thin-file applicants"});
        let (status, _) = s.call("POST", "/api/v1/models/scorer/rollback", &ds, Some(rollback.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, back) = s.call("POST", "/api/v1/models/scorer/rollback", &risk, Some(rollback)).await;
        assert_eq!(status, StatusCode::OK, "{back}");
        assert_eq!((back["version"].as_u64(), back["emergency"].as_bool()), (Some(1), Some(true)));

        let (_, events) = s.get("/api/v1/audit/events?limit=1000", Some(TOKEN)).await;
        let trail: Vec<(String, String)> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string()))
            .collect();
        for step in [
            ("promotion.request", "dana"),
            ("promotion.approve", "victor"),
            ("evidence.add", "victor"),
            ("promotion.approve", "rita"),
            ("promotion.completed", "rita"),
            ("promotion.reject", "victor"),
            ("promotion.rejected", "victor"),
            ("model.rollback", "rita"),
        ] {
            assert!(trail.iter().any(|(a, b)| a == step.0 && b == step.1), "{step:?} in {trail:?}");
        }
        s.stop().await;
    }
}
