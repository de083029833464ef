//! The store conformance suite: the same stories on SQLite always, and on PostgreSQL when
//! `RISKOPS_TEST_POSTGRES_URL` is set (each run in a fresh schema, dropped afterwards).
//! One binary for the crate: every test file is a separate link step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_core::artifact::Digest;
use riskops_core::audit::{AuditEvent, AuditRecord, verify_chain};
use riskops_core::auth::{
    IdentityKind, NewToken, Operation, Permit, Principal, Role, RoleBinding, Scope, TokenInfo, authorize,
};
use riskops_core::checkpoint::Checkpoint;
use riskops_core::clock::ManualClock;
use riskops_core::governance::{Decision, Environment, Policy, Tier};
use riskops_core::project::{NewProject, Project};
use riskops_core::promotion::{
    ModelSignature, NewDeployment, NewEvidence, NewPromotion, Promotion, PromotionFilter, PromotionStatus,
};
use riskops_core::registry::{Framework, InterfaceInput, ModelInterface, NewModelVersion};
use riskops_core::secret::Secret;
use riskops_core::service::{BootstrapOutcome, RequestContext};
use riskops_core::signing::SigningKey;
use riskops_core::store::{NewIdentity, Store, StoreKind};
use riskops_core::{ErrorKind, Result, Riskops};
use riskops_store::testing::PostgresSchema;
use serde_json::json;
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A store under test, with whatever must live as long as it.
struct Backend {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<PostgresSchema>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = riskops_store::open(None, dir.path()).await.unwrap();
    Backend { store, _dir: Some(dir), pg_schema: None }
}

async fn postgres() -> Option<Backend> {
    let schema = PostgresSchema::create().await.unwrap()?;
    let store = riskops_store::open(Some(schema.url()), std::path::Path::new("/nonexistent")).await.unwrap();
    Some(Backend { store, _dir: None, pg_schema: Some(schema) })
}

/// Every backend available in this run.
async fn backends() -> Vec<Backend> {
    let mut all = vec![sqlite().await];
    if let Some(pg) = postgres().await {
        all.push(pg);
    }
    all
}

fn service(store: Arc<dyn Store>) -> Riskops {
    // Registry stories need artifacts; these tests keep them in a folder that outlives the test.
    let folder = std::env::temp_dir().join(format!("riskops-conformance-{}", std::process::id()));
    let artifacts = Arc::new(riskops_store::artifacts::LocalArtifacts::new(folder).unwrap());
    Riskops::new(store, artifacts, Arc::new(ManualClock::new(datetime!(2026-03-01 12:00 UTC))))
}

/// The peer address the tests authenticate from.
const CLIENT: &str = "127.0.0.1";

async fn authenticate(riskops: &Riskops, token: &str) -> Result<Principal> {
    riskops.authenticate(token, CLIENT).await
}

async fn admin_context(riskops: &Riskops, token: &str) -> RequestContext {
    RequestContext { principal: authenticate(riskops, token).await.unwrap(), request_id: Some("req-1".into()) }
}

#[tokio::test]
async fn bootstrap_creates_admin_and_default_project_once() {
    for b in backends().await {
        let riskops = service(b.store.clone());
        let token = Secret::new("bootstrap-token-1234".to_string());
        let first = riskops.bootstrap(Some(&token)).await.unwrap();
        assert!(matches!(first, BootstrapOutcome::Created { generated_token: None }), "{:?}", b.store.kind());
        // A second start, even with another token, changes nothing.
        let second = riskops.bootstrap(Some(&Secret::new("other-token".to_string()))).await.unwrap();
        assert!(matches!(second, BootstrapOutcome::AlreadyInitialised));
        assert_eq!(authenticate(&riskops, "other-token").await.unwrap_err().kind, ErrorKind::Unauthenticated);

        let ctx = admin_context(&riskops, token.expose()).await;
        assert_eq!(ctx.principal.name(), "admin");
        assert!(ctx.principal.is_admin());
        let projects = riskops.list_projects(&ctx).await.unwrap();
        assert_eq!(projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["default"]);
        assert_eq!(projects[0].created_by, "system");
    }
}

#[tokio::test]
async fn a_generated_bootstrap_token_is_returned_once_and_works() {
    for b in backends().await {
        let riskops = service(b.store.clone());
        let BootstrapOutcome::Created { generated_token: Some(token) } = riskops.bootstrap(None).await.unwrap() else {
            panic!("expected a generated token");
        };
        assert_eq!(authenticate(&riskops, token.expose()).await.unwrap().name(), "admin");
        assert_eq!(authenticate(&riskops, "rsk_wrong").await.unwrap_err().kind, ErrorKind::Unauthenticated);
    }
}

#[tokio::test]
async fn reopening_a_store_keeps_data_and_applies_no_migration_twice() {
    let dir = tempfile::tempdir().unwrap();
    let token = Secret::new("t0k3n-for-reopen".to_string());
    {
        let store = riskops_store::open(None, dir.path()).await.unwrap();
        service(store).bootstrap(Some(&token)).await.unwrap();
    }
    let store = riskops_store::open(None, dir.path()).await.unwrap();
    let riskops = service(store);
    assert!(matches!(riskops.bootstrap(None).await.unwrap(), BootstrapOutcome::AlreadyInitialised));
    assert_eq!(authenticate(&riskops, token.expose()).await.unwrap().name(), "admin");

    if let Some(schema) = PostgresSchema::create().await.unwrap() {
        let first = riskops_store::open(Some(schema.url()), dir.path()).await.unwrap();
        service(first).bootstrap(Some(&token)).await.unwrap();
        let again = riskops_store::open(Some(schema.url()), dir.path()).await.unwrap();
        assert_eq!(again.kind(), StoreKind::Postgres);
        assert_eq!(authenticate(&service(again), token.expose()).await.unwrap().name(), "admin");
    }
}

#[tokio::test]
async fn projects_are_created_listed_and_unique() {
    for b in backends().await {
        let riskops = service(b.store.clone());
        riskops.bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
        let ctx = admin_context(&riskops, "tok").await;
        let made = riskops
            .create_project(&ctx, NewProject { name: "fraud-detection".into(), description: "card fraud".into() })
            .await
            .unwrap();
        assert_eq!(made.created_by, "admin");
        assert_eq!(riskops.project(&ctx, "fraud-detection").await.unwrap(), made);

        let dup =
            riskops.create_project(&ctx, NewProject { name: "fraud-detection".into(), description: String::new() });
        assert_eq!(dup.await.unwrap_err().kind, ErrorKind::Conflict);
        let bad = riskops.create_project(&ctx, NewProject { name: "no spaces".into(), description: String::new() });
        assert_eq!(bad.await.unwrap_err().field.as_deref(), Some("name"));
        assert_eq!(riskops.project(&ctx, "missing").await.unwrap_err().kind, ErrorKind::NotFound);

        let names: Vec<_> = riskops.list_projects(&ctx).await.unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["default", "fraud-detection"]);
    }
}

#[tokio::test]
async fn every_change_is_in_a_verifiable_audit_chain() {
    for b in backends().await {
        let riskops = service(b.store.clone());
        riskops.bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
        let ctx = admin_context(&riskops, "tok").await;
        for i in 0..3 {
            let p = NewProject { name: format!("p{i}"), description: format!("{{\"weird\": {i}.50}}") };
            riskops.create_project(&ctx, p).await.unwrap();
        }
        // A refused change leaves no event.
        let _ = riskops.create_project(&ctx, NewProject { name: "p0".into(), description: String::new() }).await;

        let events = b.store.audit_events(0, 100).await.unwrap();
        let actions: Vec<_> = events.iter().map(|e| (e.actor.as_str(), e.action.as_str(), e.target.as_str())).collect();
        assert_eq!(
            actions,
            [
                ("system", "identity.create", "identity:admin"),
                ("system", "project.create", "project:default"),
                ("admin", "project.create", "project:p0"),
                ("admin", "project.create", "project:p1"),
                ("admin", "project.create", "project:p2"),
            ]
        );
        assert_eq!(events[2].request_id.as_deref(), Some("req-1"));
        let report = verify_chain(&events);
        assert!(report.ok, "{:?}: {report:?}", b.store.kind());
        assert_eq!(report.events, 5);
        // Paging returns the tail.
        assert_eq!(b.store.audit_events(3, 100).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn the_audit_table_refuses_update_and_delete() {
    let b = sqlite().await;
    service(b.store.clone()).bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    let conn = rusqlite::Connection::open(path).unwrap();
    let update = conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit_events WHERE seq = 1", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    conn.execute_batch("INSERT INTO signing_keys VALUES ('k', 'pk', 't'); INSERT INTO audit_checkpoints VALUES (1, 'h', 'k', 's', 't');")
        .unwrap();
    for sql in [
        "UPDATE signing_keys SET public_key = 'x'",
        "DELETE FROM signing_keys",
        "UPDATE audit_checkpoints SET seq = 9",
        "DELETE FROM audit_checkpoints",
    ] {
        assert!(conn.execute(sql, []).unwrap_err().to_string().contains("append-only"), "{sql}");
    }

    if let Some(pg) = postgres().await {
        service(pg.store.clone()).bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        // Row triggers fire only on rows: give the new tables one each.
        client
            .batch_execute(&"INSERT INTO {s}.signing_keys VALUES ('k', 'pk', now()); INSERT INTO {s}.audit_checkpoints VALUES (1, 'h', 'k', 's', now());".replace("{s}", schema.name()))
            .await
            .unwrap();
        for sql in [
            "UPDATE {s}.audit_events SET actor = 'mallory'",
            "DELETE FROM {s}.audit_events",
            "TRUNCATE {s}.audit_events",
            "DELETE FROM {s}.signing_keys",
            "TRUNCATE {s}.signing_keys",
            "UPDATE {s}.audit_checkpoints SET hash = 'x'",
            "DELETE FROM {s}.audit_checkpoints",
            "TRUNCATE {s}.audit_checkpoints",
        ] {
            let err = client.batch_execute(&sql.replace("{s}", schema.name())).await.unwrap_err();
            assert!(format!("{err:?}").contains("append-only"), "{sql}: {err:?}");
        }
    }
}

#[tokio::test]
async fn concurrent_bootstraps_create_one_admin() {
    for b in backends().await {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let riskops = service(b.store.clone());
            tasks.push(tokio::spawn(async move {
                riskops.bootstrap(Some(&Secret::new(format!("token-{i}")))).await.unwrap()
            }));
        }
        let mut created = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), BootstrapOutcome::Created { .. }) {
                created += 1;
            }
        }
        assert_eq!(created, 1, "{:?}", b.store.kind());
        assert!(verify_chain(&b.store.audit_events(0, 100).await.unwrap()).ok);
    }
}

// ---- identities and governance, through the Store trait --------------------------------

const T0: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

fn minutes(n: i64) -> OffsetDateTime {
    T0 + Duration::minutes(n)
}

/// Bootstraps the backend (through the service) and returns its admin's permit: the actor
/// of every change these tests make.
async fn admin_permit(store: &Arc<dyn Store>) -> Permit {
    let riskops = service(store.clone());
    riskops.bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
    let admin = authenticate(&riskops, "tok").await.unwrap();
    authorize(&admin, Operation::IdentityAdmin, Scope::Global).unwrap()
}

fn audit(permit: &Permit, action: &str, target: &str) -> AuditRecord {
    AuditRecord::new(permit, action, target).request_id(Some("req-1".into()))
}

/// Follows the audit chain: each accepted write appends exactly one event, a refused one
/// none, and the chain still verifies at the end.
struct Chain {
    store: Arc<dyn Store>,
    seen: usize,
}

impl Chain {
    async fn new(store: &Arc<dyn Store>) -> Chain {
        let seen = store.audit_events(0, 10_000).await.unwrap().len();
        Chain { store: store.clone(), seen }
    }

    async fn since(&self) -> Vec<AuditEvent> {
        self.store.audit_events(self.seen as i64, 10_000).await.unwrap()
    }

    /// The one event appended since the last look, which must be `action`.
    async fn one(&mut self, action: &str) -> AuditEvent {
        let mut events = self.since().await;
        assert_eq!(events.len(), 1, "{:?}: expected one {action} event, got {events:?}", self.store.kind());
        assert_eq!(events[0].action, action, "{:?}", self.store.kind());
        self.seen += 1;
        events.remove(0)
    }

    async fn none(&self) {
        let events = self.since().await;
        assert!(events.is_empty(), "{:?}: a refused change left events: {events:?}", self.store.kind());
    }

    async fn verify(&self) {
        let all = self.store.audit_events(0, 10_000).await.unwrap();
        assert_eq!(all.len(), self.seen, "{:?}", self.store.kind());
        let report = verify_chain(&all);
        assert!(report.ok, "{:?}: {report:?}", self.store.kind());
    }
}

fn new_identity(name: &str, token_hash: &str) -> NewIdentity {
    NewIdentity {
        name: name.into(),
        kind: IdentityKind::User,
        roles: vec![],
        token_hash: token_hash.into(),
        token_expires_at: None,
        password_hash: None,
    }
}

fn binding(role: Role, project: Option<&str>) -> RoleBinding {
    RoleBinding { role, project: project.map(str::to_string) }
}

fn digest(n: u8) -> Digest {
    Digest::from_sha256(&[n; 32])
}

/// Registers the next version of `name` (in `default`) with a file of digest `n`.
async fn register(store: &Arc<dyn Store>, permit: &Permit, name: &str, n: u8) -> u32 {
    let new = NewModelVersion {
        name: name.into(),
        project: None,
        description: String::new(),
        framework: Framework::Onnx,
        digest: digest(n),
        size: 10,
        training_data: None,
        validation_data: None,
        code: None,
        params: json!({}),
        metrics: json!({}),
        tags: Default::default(),
        signature: None,
    };
    store
        .create_model_version(new, audit(permit, "model.register", &format!("model:{name}")), T0)
        .await
        .unwrap()
        .version
}

fn deployment(version: u32, environment: Environment, promotion_id: Option<i64>, emergency: bool) -> NewDeployment {
    NewDeployment {
        model: "scorecard".into(),
        version,
        environment,
        promotion_id,
        reason: format!("v{version} to {environment}"),
        emergency,
        digest: digest(version as u8),
        signature: None,
    }
}

#[tokio::test]
async fn identities_are_created_once_and_listed() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        // Bootstrap stores the admin's token under the label "bootstrap".
        let admin_tokens = store.tokens(Some("admin")).await.unwrap();
        assert_eq!(admin_tokens.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["bootstrap"], "{kind:?}");

        let ana = NewIdentity {
            roles: vec![binding(Role::Validator, Some("default"))],
            password_hash: Some("$argon2id$v=19$stub".into()),
            ..new_identity("ana", "hash-ana")
        };
        let first = store.create_identity(ana.clone(), audit(&permit, "identity.create", "identity:ana"), T0).await;
        let first = first.unwrap();
        chain.one("identity.create").await;
        assert_eq!(
            (first.identity.as_str(), first.label.as_str(), first.created_at, first.expires_at, first.revoked_at),
            ("ana", "first token", T0, None, None),
            "{kind:?}"
        );
        assert_eq!(store.token(first.id).await.unwrap(), Some(first.clone()));

        let dup = store
            .create_identity(new_identity("ana", "hash-other"), audit(&permit, "identity.create", "identity:ana"), T0)
            .await
            .unwrap_err();
        assert_eq!((dup.kind, dup.message.as_str()), (ErrorKind::Conflict, "an identity named \"ana\" already exists"));
        chain.none().await;
        assert!(store.identity_by_token_hash("hash-other", T0).await.unwrap().is_none(), "{kind:?}");

        let bot = NewIdentity { kind: IdentityKind::ServiceAccount, ..new_identity("ci-bot", "hash-bot") };
        store.create_identity(bot, audit(&permit, "identity.create", "identity:ci-bot"), T0).await.unwrap();
        chain.one("identity.create").await;
        store
            .create_identity(new_identity("Bo", "hash-bo"), audit(&permit, "identity.create", "identity:Bo"), T0)
            .await
            .unwrap();
        chain.one("identity.create").await;

        let found = store.identity("ana").await.unwrap().unwrap();
        assert_eq!((found.name.as_str(), found.kind, &found.roles), ("ana", IdentityKind::User, &ana.roles));
        assert_eq!(store.identity_by_token_hash("hash-ana", T0).await.unwrap(), Some(found.clone()));
        assert!(store.identity("nobody").await.unwrap().is_none());
        let (login, password) = store.identity_for_login("ana").await.unwrap().unwrap();
        assert_eq!((login, password.as_deref()), (found.clone(), Some("$argon2id$v=19$stub")));
        assert_eq!(store.identity_for_login("ci-bot").await.unwrap().unwrap().1, None);
        assert!(store.identity_for_login("nobody").await.unwrap().is_none());

        // Byte order of names, as SQLite sorts them (upper case first).
        let all = store.identities().await.unwrap();
        let names: Vec<_> = all.iter().map(|s| s.identity.name.as_str()).collect();
        assert_eq!(names, ["Bo", "admin", "ana", "ci-bot"], "{kind:?}");
        assert_eq!((&all[2].identity, all[2].created_at), (&found, T0));
        assert_eq!(all[3].identity.kind, IdentityKind::ServiceAccount);
        chain.verify().await;
    }
}

#[tokio::test]
async fn roles_are_granted_and_revoked_once() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let ana =
            NewIdentity { roles: vec![binding(Role::Validator, Some("default"))], ..new_identity("ana", "hash-ana") };
        store.create_identity(ana, audit(&permit, "identity.create", "identity:ana"), T0).await.unwrap();
        let mut chain = Chain::new(store).await;

        let grant = |b: RoleBinding, yes: bool| {
            let action = if yes { "role.grant" } else { "role.revoke" };
            store.set_role("ana", b, yes, audit(&permit, action, "identity:ana"), T0)
        };
        grant(binding(Role::RiskOfficer, None), true).await.unwrap();
        chain.one("role.grant").await;
        grant(binding(Role::DataScientist, Some("zeta")), true).await.unwrap();
        chain.one("role.grant").await;
        let after = grant(binding(Role::DataScientist, Some("alpha")), true).await.unwrap();
        chain.one("role.grant").await;
        // Sorted by role, then project.
        let expected = vec![
            binding(Role::DataScientist, Some("alpha")),
            binding(Role::DataScientist, Some("zeta")),
            binding(Role::RiskOfficer, None),
            binding(Role::Validator, Some("default")),
        ];
        assert_eq!(after.roles, expected, "{kind:?}");
        assert_eq!(store.identity_by_token_hash("hash-ana", T0).await.unwrap().unwrap().roles, expected);

        let twice = grant(binding(Role::RiskOfficer, None), true).await.unwrap_err();
        assert_eq!(
            (twice.kind, twice.message.as_str()),
            (ErrorKind::Conflict, "ana already has the role risk_officer")
        );
        chain.none().await;

        let revoked = grant(binding(Role::Validator, Some("default")), false).await.unwrap();
        chain.one("role.revoke").await;
        assert_eq!(revoked.roles, expected[..3]);
        let missing = grant(binding(Role::Validator, Some("default")), false).await.unwrap_err();
        assert_eq!(
            (missing.kind, missing.message.as_str()),
            (ErrorKind::Conflict, "ana does not have the role validator@default")
        );
        // A global binding and a project binding of one role are different bindings.
        let scoped = grant(binding(Role::RiskOfficer, Some("default")), false).await.unwrap_err();
        assert_eq!(scoped.kind, ErrorKind::Conflict);
        chain.none().await;

        let nobody = store.set_role(
            "nobody",
            binding(Role::Viewer, None),
            true,
            audit(&permit, "role.grant", "identity:nobody"),
            T0,
        );
        let nobody = nobody.await.unwrap_err();
        assert_eq!((nobody.kind, nobody.message.as_str()), (ErrorKind::NotFound, "no identity named \"nobody\""));
        chain.none().await;
        assert_eq!(store.identity("ana").await.unwrap().unwrap().roles, expected[..3]);
        chain.verify().await;
    }
}

#[tokio::test]
async fn tokens_are_listed_revoked_and_expire() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let first = store.create_identity(
            new_identity("ana", "hash-ana"),
            audit(&permit, "identity.create", "identity:ana"),
            T0,
        );
        let first = first.await.unwrap();
        let mut chain = Chain::new(store).await;

        let new_token = |hash: &str, identity: &str| NewToken {
            identity: identity.into(),
            token_hash: hash.into(),
            label: "ci".into(),
            expires_at: Some(minutes(60)),
        };
        let ci =
            store.create_token(new_token("hash-ci", "ana"), audit(&permit, "token.create", "identity:ana"), minutes(1));
        let ci = ci.await.unwrap();
        chain.one("token.create").await;
        assert_eq!(
            (ci.identity.as_str(), ci.label.as_str(), ci.created_at, ci.expires_at, ci.revoked_at),
            ("ana", "ci", minutes(1), Some(minutes(60)), None)
        );

        // Newest first.
        assert_eq!(store.tokens(Some("ana")).await.unwrap(), [ci.clone(), first.clone()], "{kind:?}");
        let everyone = store.tokens(None).await.unwrap();
        assert_eq!(everyone.iter().map(|t| t.identity.as_str()).collect::<Vec<_>>(), ["ana", "ana", "admin"]);
        assert!(store.tokens(Some("nobody")).await.unwrap().is_empty());
        assert_eq!(store.token(ci.id).await.unwrap(), Some(ci.clone()));
        assert!(store.token(999_999).await.unwrap().is_none());

        let unknown =
            store.create_token(new_token("hash-x", "nobody"), audit(&permit, "token.create", "identity:nobody"), T0);
        assert_eq!(unknown.await.unwrap_err().kind, ErrorKind::NotFound);
        let same_hash =
            store.create_token(new_token("hash-ci", "ana"), audit(&permit, "token.create", "identity:ana"), T0);
        assert_eq!(same_hash.await.unwrap_err().kind, ErrorKind::Conflict);
        chain.none().await;

        // A token works until the instant it expires.
        assert_eq!(store.identity_by_token_hash("hash-ci", minutes(59)).await.unwrap().unwrap().name, "ana");
        assert!(store.identity_by_token_hash("hash-ci", minutes(60)).await.unwrap().is_none(), "{kind:?}");

        let revoked = store.revoke_token(first.id, audit(&permit, "token.revoke", "identity:ana"), minutes(2)).await;
        let revoked = revoked.unwrap();
        chain.one("token.revoke").await;
        assert_eq!(revoked, TokenInfo { revoked_at: Some(minutes(2)), ..first.clone() });
        assert_eq!(store.token(first.id).await.unwrap(), Some(revoked));
        assert!(store.identity_by_token_hash("hash-ana", minutes(2)).await.unwrap().is_none(), "{kind:?}");
        assert!(store.identity_by_token_hash("hash-ci", minutes(2)).await.unwrap().is_some());

        let again = store.revoke_token(first.id, audit(&permit, "token.revoke", "identity:ana"), minutes(3)).await;
        let again = again.unwrap_err();
        assert_eq!(
            (again.kind, again.message),
            (ErrorKind::Conflict, format!("token {} is already revoked", first.id))
        );
        let missing = store.revoke_token(999_999, audit(&permit, "token.revoke", "identity:?"), minutes(3)).await;
        let missing = missing.unwrap_err();
        assert_eq!((missing.kind, missing.message.as_str()), (ErrorKind::NotFound, "no token 999999"));
        chain.none().await;

        // An event that records no other change.
        let throttled = AuditRecord::new(&permit, "auth.throttled", "client:127.0.0.1").after(json!({"failures": 5}));
        store.record_event(throttled, minutes(4)).await.unwrap();
        let event = chain.one("auth.throttled").await;
        assert_eq!((event.after, event.time), (Some(json!({"failures": 5})), minutes(4)));
        chain.verify().await;
    }
}

#[tokio::test]
async fn project_tiers_are_set_and_cleared() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let before = store.project("default").await.unwrap().unwrap();
        assert_eq!(before.tier_override, None, "{kind:?}");

        let set = |tier| store.set_project_tier("default", tier, audit(&permit, "project.tier", "project:default"), T0);
        let critical = set(Some(Tier::Critical)).await.unwrap();
        chain.one("project.tier").await;
        assert_eq!(critical, Project { tier_override: Some(Tier::Critical), ..before.clone() });
        assert_eq!(store.project("default").await.unwrap(), Some(critical.clone()));
        assert_eq!(store.list_projects().await.unwrap(), [critical]);

        let low = set(Some(Tier::Low)).await.unwrap();
        chain.one("project.tier").await;
        assert_eq!(low.tier_override, Some(Tier::Low));
        let cleared = set(None).await.unwrap();
        chain.one("project.tier").await;
        assert_eq!(cleared, before);
        assert_eq!(store.project("default").await.unwrap(), Some(before));

        let unknown =
            store.set_project_tier("nope", Some(Tier::Low), audit(&permit, "project.tier", "project:nope"), T0);
        let unknown = unknown.await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no project named \"nope\""));
        chain.none().await;

        // A new project has no override.
        let p = NewProject { name: "fraud".into(), description: String::new() };
        let made = store.create_project(p, audit(&permit, "project.create", "project:fraud"), T0).await.unwrap();
        chain.one("project.create").await;
        assert_eq!(made.tier_override, None);
        assert_eq!(store.project("fraud").await.unwrap(), Some(made));
        chain.verify().await;
    }
}

#[tokio::test]
async fn a_model_version_keeps_its_signature() {
    let signature = ModelInterface {
        inputs: vec![
            InterfaceInput { name: "age".into(), elem_type: "float".into(), shape: vec![None, Some(1)] },
            InterfaceInput { name: "sex".into(), elem_type: "string".into(), shape: vec![None, Some(1)] },
        ],
        label: "output_label".into(),
        probabilities: Some(("output_probability".into(), vec!["0".into(), "1".into()])),
        task: "classification".into(),
    };
    for b in backends().await {
        let store = &b.store;
        let permit = admin_permit(store).await;
        let new = NewModelVersion {
            name: "signed".into(),
            project: None,
            description: String::new(),
            framework: Framework::Onnx,
            digest: digest(7),
            size: 10,
            training_data: None,
            validation_data: None,
            code: None,
            params: json!({}),
            metrics: json!({}),
            tags: Default::default(),
            signature: Some(signature.clone()),
        };
        let created =
            store.create_model_version(new, audit(&permit, "model.register", "model:signed"), T0).await.unwrap();
        assert_eq!(created.signature.as_ref(), Some(&signature));
        let read = store.model_version("signed", Some(1)).await.unwrap().unwrap();
        assert_eq!(read.signature, Some(signature.clone()), "{:?}", store.kind());
        // Versions without one (other frameworks) read back as None.
        register(store, &permit, "unsigned", 8).await;
        assert_eq!(store.model_version("unsigned", None).await.unwrap().unwrap().signature, None);
    }
}

#[tokio::test]
async fn evidence_and_policy_versions_are_kept() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        register(store, &permit, "scorecard", 1).await;
        let mut chain = Chain::new(store).await;

        let evidence = |version: u32, kind: &str, n: u8, passed: Option<bool>| NewEvidence {
            model: "scorecard".into(),
            version,
            kind: kind.into(),
            digest: digest(n),
            size: 1234,
            passed,
            summary: format!("{kind} report"),
        };
        let add = |new: NewEvidence| {
            let target = format!("model:{}@{}", new.model, new.version);
            store.add_evidence(new, audit(&permit, "evidence.add", &target), T0)
        };
        let validation = add(evidence(1, "validation", 7, Some(true))).await.unwrap();
        chain.one("evidence.add").await;
        assert_eq!(
            (validation.model.as_str(), validation.version, validation.size, validation.created_by.as_str()),
            ("scorecard", 1, 1234, "admin")
        );
        let fairness = add(evidence(1, "fairness", 8, None)).await.unwrap();
        chain.one("evidence.add").await;
        assert_eq!(store.evidence("scorecard", 1).await.unwrap(), [validation, fairness], "{kind:?}");

        let unknown = add(evidence(2, "validation", 9, Some(false))).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no model version scorecard@2"));
        let no_model = add(NewEvidence { model: "nope".into(), ..evidence(1, "validation", 9, None) }).await;
        assert_eq!(no_model.unwrap_err().kind, ErrorKind::NotFound);
        chain.none().await;
        assert!(store.evidence("scorecard", 2).await.unwrap().is_empty());
        assert!(store.evidence("nope", 1).await.unwrap().is_empty());
        assert!(store.digest_referenced(digest(7).as_str()).await.unwrap());
        assert!(!store.digest_referenced(digest(9).as_str()).await.unwrap());

        assert_eq!(store.document("policy").await.unwrap(), None, "{kind:?}");
        let docs = [json!({"tiers": {"low": {"staging": {"evidence": []}}}}), json!({"tiers": {}, "weight": 1.5})];
        for (i, doc) in docs.iter().enumerate() {
            let stored = store
                .set_document("policy", doc.clone(), audit(&permit, "policy.update", "policy"), minutes(i as i64))
                .await;
            let stored = stored.unwrap();
            let event = chain.one("policy.update").await;
            assert_eq!(stored.version, i as u32 + 1, "{kind:?}");
            assert_eq!(event.after, Some(json!({"version": i + 1})));
            assert_eq!(store.document("policy").await.unwrap(), Some(stored));
        }
        let latest = store.document("policy").await.unwrap().unwrap();
        assert_eq!(
            (latest.document, latest.created_by.as_str(), latest.created_at),
            (docs[1].clone(), "admin", minutes(1))
        );
        chain.verify().await;
    }
}

#[tokio::test]
async fn promotions_are_decided_closed_and_deployed() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        register(store, &permit, "scorecard", 1).await;
        register(store, &permit, "scorecard", 2).await;
        let mut chain = Chain::new(store).await;

        let request = |version: u32, environment| NewPromotion {
            model: "scorecard".into(),
            version,
            environment,
            reason: "ready".into(),
            tier: Tier::High,
            gate: Policy::default_policy().gate(Tier::High, environment),
        };
        let open =
            |new: NewPromotion| store.create_promotion(new, audit(&permit, "promotion.request", "promotion"), T0);
        let staging = open(request(1, Environment::Staging)).await.unwrap();
        let event = chain.one("promotion.request").await;
        assert_eq!(event.target, format!("promotion:{}", staging.id), "{kind:?}");
        assert_eq!(event.after, Some(json!({"id": staging.id})));
        assert_eq!(
            (staging.model.as_str(), staging.project.as_str(), staging.version, staging.environment),
            ("scorecard", "default", 1, Environment::Staging)
        );
        assert_eq!(
            (
                staging.reason.as_str(),
                staging.requested_by.as_str(),
                staging.status,
                staging.created_at,
                staging.closed_at
            ),
            ("ready", "admin", PromotionStatus::Pending, T0, None)
        );
        assert!(staging.decisions.is_empty());
        assert_eq!(store.promotion(staging.id).await.unwrap(), Some(staging.clone()));
        assert!(store.promotion(999_999).await.unwrap().is_none());

        let second = open(request(1, Environment::Staging)).await.unwrap_err();
        assert_eq!(
            (second.kind, second.message.as_str()),
            (ErrorKind::Conflict, "scorecard@1 already has a pending request for staging")
        );
        assert_eq!(open(request(3, Environment::Staging)).await.unwrap_err().kind, ErrorKind::NotFound);
        chain.none().await;
        let production = open(request(1, Environment::Production)).await.unwrap();
        chain.one("promotion.request").await;

        // Decisions, in the order they were made; one per person.
        let target = format!("promotion:{}", staging.id);
        let decision = |by: &str, roles: &[Role], approve: bool, at| Decision {
            by: by.into(),
            roles: roles.to_vec(),
            approve,
            comment: format!("{by} decided"),
            at,
        };
        let decide = |id: i64, d: Decision| store.add_decision(id, d, audit(&permit, "promotion.approve", &target), T0);
        let ana = decision("ana", &[Role::Validator, Role::RiskOfficer], true, minutes(1));
        let after = decide(staging.id, ana.clone()).await.unwrap();
        chain.one("promotion.approve").await;
        assert_eq!(after.decisions, std::slice::from_ref(&ana), "{kind:?}");
        let twice = decide(staging.id, decision("ana", &[Role::Validator], false, minutes(2))).await.unwrap_err();
        assert_eq!(
            (twice.kind, twice.message),
            (ErrorKind::Conflict, format!("ana has already decided on promotion request {}", staging.id))
        );
        let nowhere = decide(999_999, decision("bob", &[], true, minutes(2))).await.unwrap_err();
        assert_eq!((nowhere.kind, nowhere.message.as_str()), (ErrorKind::NotFound, "no promotion request 999999"));
        chain.none().await;
        let bob = decision("bob", &[], false, minutes(2));
        let after = decide(staging.id, bob.clone()).await.unwrap();
        chain.one("promotion.approve").await;
        assert_eq!(after.decisions, [ana.clone(), bob.clone()]);

        // Completing enters the version into the environment, in the same transaction.
        let signature = ModelSignature { key_id: "key-1".into(), signature: "ab".repeat(64) };
        let entering = NewDeployment {
            signature: Some(signature.clone()),
            ..deployment(1, Environment::Staging, Some(staging.id), false)
        };
        let close = |id: i64, d: Option<NewDeployment>, action: &str, at| {
            store.close_promotion(id, d, None, audit(&permit, action, &format!("promotion:{id}")), at)
        };
        let completed = close(staging.id, Some(entering), "promotion.completed", minutes(3)).await.unwrap();
        let event = chain.one("promotion.completed").await;
        assert_eq!(event.after, Some(json!({"replaced": null})), "{kind:?}");
        assert_eq!((completed.status, completed.closed_at), (PromotionStatus::Completed, Some(minutes(3))));
        assert_eq!(completed.decisions, [ana, bob]);
        assert_eq!(store.promotion(staging.id).await.unwrap(), Some(completed.clone()));
        let history = store.deployments("scorecard").await.unwrap();
        assert_eq!(history.len(), 1, "{kind:?}");
        let first = &history[0];
        assert_eq!(
            (first.model.as_str(), first.version, first.environment, first.since, first.until),
            ("scorecard", 1, Environment::Staging, minutes(3), None)
        );
        assert_eq!(
            (first.by.as_str(), first.promotion_id, first.emergency, &first.digest, &first.signature),
            ("admin", Some(staging.id), false, &digest(1), &Some(signature))
        );

        // A closed request neither closes again nor takes decisions.
        let again = close(staging.id, None, "promotion.rejected", minutes(4)).await.unwrap_err();
        assert_eq!(
            (again.kind, again.message),
            (ErrorKind::Conflict, format!("promotion request {} is already completed", staging.id))
        );
        let late = decide(staging.id, decision("carol", &[Role::Committee], true, minutes(4))).await.unwrap_err();
        assert_eq!(late.kind, ErrorKind::Conflict);
        assert_eq!(close(999_999, None, "promotion.rejected", minutes(4)).await.unwrap_err().kind, ErrorKind::NotFound);
        chain.none().await;

        // Closing without a deployment rejects and deploys nothing.
        let rejected = close(production.id, None, "promotion.rejected", minutes(4)).await.unwrap();
        let event = chain.one("promotion.rejected").await;
        assert_eq!(event.after, None);
        assert_eq!((rejected.status, rejected.closed_at), (PromotionStatus::Rejected, Some(minutes(4))));
        assert_eq!(store.deployments("scorecard").await.unwrap().len(), 1);

        // Once closed, the same version and environment can be requested again.
        let reopened = open(request(1, Environment::Staging)).await.unwrap();
        chain.one("promotion.request").await;

        // Newest first, filtered by model and status.
        let ids = |list: Vec<Promotion>| list.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let all = store.promotions(&PromotionFilter::default()).await.unwrap();
        assert_eq!(ids(all), [reopened.id, production.id, staging.id], "{kind:?}");
        let pending = PromotionFilter { status: Some(PromotionStatus::Pending), ..Default::default() };
        assert_eq!(ids(store.promotions(&pending).await.unwrap()), [reopened.id]);
        let done = PromotionFilter { model: Some("scorecard".into()), status: Some(PromotionStatus::Completed) };
        assert_eq!(ids(store.promotions(&done).await.unwrap()), [staging.id]);
        let other = PromotionFilter { model: Some("nope".into()), status: None };
        assert!(store.promotions(&other).await.unwrap().is_empty());

        // Deploying version 2 ends version 1's stay.
        let deploy = |d: NewDeployment, at| {
            let target = format!("model:scorecard@{}", d.version);
            store.deploy(d, audit(&permit, "model.rollback", &target), at)
        };
        let two = deploy(deployment(2, Environment::Staging, None, true), minutes(5)).await.unwrap();
        let event = chain.one("model.rollback").await;
        assert_eq!(event.after, Some(json!({"replaced": 1})), "{kind:?}");
        assert_eq!(
            (two.version, two.since, two.until, two.emergency, two.promotion_id),
            (2, minutes(5), None, true, None)
        );
        let history = store.deployments("scorecard").await.unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!((history[0].version, history[0].until), (1, Some(minutes(5))), "{kind:?}");
        assert_eq!(history[1], two);
        assert!(!history[0].active_at(minutes(5)) && history[1].active_at(minutes(5)));

        // Environments are independent.
        deploy(deployment(2, Environment::Production, None, false), minutes(6)).await.unwrap();
        assert_eq!(chain.one("model.rollback").await.after, Some(json!({"replaced": null})));
        let history = store.deployments("scorecard").await.unwrap();
        let current: Vec<_> =
            history.iter().filter(|d| d.until.is_none()).map(|d| (d.version, d.environment)).collect();
        assert_eq!(current, [(2, Environment::Staging), (2, Environment::Production)]);
        assert!(store.deployments("nope").await.unwrap().is_empty());

        let unknown = deploy(deployment(3, Environment::Staging, None, true), minutes(7)).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no model version scorecard@3"));
        chain.none().await;
        assert_eq!(store.deployments("scorecard").await.unwrap().len(), 3);
        chain.verify().await;
    }
}

#[tokio::test]
async fn concurrent_deploys_and_policy_updates_happen_one_at_a_time() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        register(store, &permit, "scorecard", 1).await;
        register(store, &permit, "scorecard", 2).await;
        let mut tasks = Vec::new();
        for i in 0..8u32 {
            let (store, permit) = (store.clone(), permit.clone());
            tasks.push(tokio::spawn(async move {
                let new = deployment(1 + i % 2, Environment::Staging, None, true);
                store.deploy(new, audit(&permit, "model.rollback", "model:scorecard"), T0).await.unwrap();
                let policy =
                    store.set_document("policy", json!({"n": i}), audit(&permit, "policy.update", "policy"), T0).await;
                policy.unwrap().version
            }));
        }
        let mut versions = Vec::new();
        for t in tasks {
            versions.push(t.await.unwrap());
        }
        versions.sort();
        assert_eq!(versions, (1..=8).collect::<Vec<_>>(), "{kind:?}");
        let history = store.deployments("scorecard").await.unwrap();
        assert_eq!(history.len(), 8);
        assert_eq!(history.iter().filter(|d| d.until.is_none()).count(), 1, "{kind:?}");
        let events = store.audit_events(0, 10_000).await.unwrap();
        let first_stays = events
            .iter()
            .filter(|e| e.action == "model.rollback" && e.after == Some(json!({"replaced": null})))
            .count();
        assert_eq!(first_stays, 1, "{kind:?}");
        let report = verify_chain(&events);
        assert!(report.ok, "{kind:?}: {report:?}");
        assert_eq!(report.events, 2 + 2 + 16);
    }
}

#[tokio::test]
async fn checkpoints_sign_the_head_once_and_only_what_is_in_the_trail() {
    for b in backends().await {
        let kind = b.store.kind();
        let (key, _) = SigningKey::generate().unwrap();
        let key = Arc::new(key);
        let riskops = service(b.store.clone()).with_signing_key(key.clone());
        riskops.bootstrap(Some(&Secret::new("tok-checkpoints".into()))).await.unwrap();
        let ctx = admin_context(&riskops, "tok-checkpoints").await;

        // Keys register idempotently.
        assert!(b.store.public_keys().await.unwrap().is_empty());
        riskops.register_signing_key().await.unwrap();
        riskops.register_signing_key().await.unwrap();
        assert_eq!(b.store.public_keys().await.unwrap(), vec![key.public_key()], "{kind:?}");

        // Bootstrap wrote two events: the first checkpoint signs seq 2, a second call nothing.
        let head = b.store.audit_head().await.unwrap().unwrap();
        assert_eq!(head.0, 2);
        let first = riskops.checkpoint_audit().await.unwrap().unwrap();
        assert_eq!((first.seq, &first.hash), (2, &head.1));
        assert!(riskops.checkpoint_audit().await.unwrap().is_none());
        // Writing one is not an audit event.
        assert_eq!(b.store.audit_head().await.unwrap().unwrap().0, 2);

        riskops.create_project(&ctx, NewProject { name: "cp".into(), description: String::new() }).await.unwrap();
        assert_eq!(riskops.verify_audit(&ctx, None).await.unwrap().unsigned_tail, 1);
        let second = riskops.checkpoint_audit().await.unwrap().unwrap();
        assert_eq!(second.seq, 3);
        assert_eq!(b.store.latest_checkpoint().await.unwrap(), Some(second.clone()), "{kind:?}");
        assert_eq!(b.store.checkpoints().await.unwrap(), vec![first.clone(), second.clone()], "{kind:?}");

        let report = riskops.verify_audit(&ctx, Some(&key.public_key())).await.unwrap();
        assert!(report.ok, "{kind:?}: {report:?}");
        assert_eq!((report.checkpoint.map(|c| c.seq), report.unsigned_tail), (Some(3), 0));
        let (stranger, _) = SigningKey::generate().unwrap();
        let pinned = riskops.verify_audit(&ctx, Some(&stranger.public_key())).await.unwrap();
        assert_eq!((pinned.ok, pinned.first_bad_seq), (false, Some(2)), "{kind:?}");

        // Another replica's checkpoint at the same seq: nothing written. A hash or seq
        // not in the trail: refused.
        let at = datetime!(2026-03-01 12:00 UTC);
        assert!(!b.store.write_checkpoint(&Checkpoint::sign(&key, 3, &second.hash, at)).await.unwrap());
        for (seq, hash) in [(3, "00".repeat(32)), (9, second.hash.clone())] {
            let err = b.store.write_checkpoint(&Checkpoint::sign(&key, seq, &hash, at)).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Integrity, "{kind:?}");
        }
    }
}

#[tokio::test]
async fn governance_history_cannot_be_rewritten() {
    async fn history(store: &Arc<dyn Store>) {
        let permit = admin_permit(store).await;
        register(store, &permit, "scorecard", 1).await;
        register(store, &permit, "scorecard", 2).await;
        let ev = NewEvidence {
            model: "scorecard".into(),
            version: 1,
            kind: "validation".into(),
            digest: digest(7),
            size: 1,
            passed: Some(true),
            summary: String::new(),
        };
        store.add_evidence(ev, audit(&permit, "evidence.add", "model:scorecard@1"), T0).await.unwrap();
        store.set_document("policy", json!({}), audit(&permit, "policy.update", "policy"), T0).await.unwrap();
        let request = NewPromotion {
            model: "scorecard".into(),
            version: 1,
            environment: Environment::Staging,
            reason: String::new(),
            tier: Tier::Low,
            gate: Policy::default_policy().gate(Tier::Low, Environment::Staging),
        };
        let p = store.create_promotion(request, audit(&permit, "promotion.request", "promotion"), T0).await.unwrap();
        let d =
            Decision { by: "ana".into(), roles: vec![Role::Validator], approve: true, comment: String::new(), at: T0 };
        store.add_decision(p.id, d, audit(&permit, "promotion.approve", "promotion"), T0).await.unwrap();
        let entering = deployment(1, Environment::Staging, Some(p.id), false);
        store
            .close_promotion(p.id, Some(entering), None, audit(&permit, "promotion.completed", "promotion"), T0)
            .await
            .unwrap();
        let two = deployment(2, Environment::Staging, None, true);
        store.deploy(two, audit(&permit, "model.rollback", "model:scorecard@2"), minutes(1)).await.unwrap();
    }
    // {s}. is the PostgreSQL schema; every statement must be refused by a trigger.
    const REWRITES: [&str; 8] = [
        "UPDATE {s}.evidence SET passed = NULL",
        "DELETE FROM {s}.evidence",
        "UPDATE {s}.promotions SET status = 'pending'",
        "DELETE FROM {s}.promotions",
        "UPDATE {s}.promotion_decisions SET approve = NOT approve",
        "UPDATE {s}.deployments SET until = NULL",
        "UPDATE {s}.deployments SET version = 9",
        "DELETE FROM {s}.deployments",
    ];

    let b = sqlite().await;
    history(&b.store).await;
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    let conn = rusqlite::Connection::open(path).unwrap();
    for sql in REWRITES {
        let sql = sql.replace("{s}.", "");
        assert!(conn.execute(&sql, []).is_err(), "SQLite accepted {sql}");
    }

    if let Some(pg) = postgres().await {
        history(&pg.store).await;
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        for sql in REWRITES {
            let sql = sql.replace("{s}", schema.name());
            let err = client.batch_execute(&sql).await.expect_err(&sql);
            assert!(
                err.as_db_error().is_some_and(|e| e.code() == &tokio_postgres::error::SqlState::RAISE_EXCEPTION),
                "{sql}: {err:?}"
            );
        }
        // A pending request may only be closed: reopening is refused above, rewriting is too.
        let reason = format!("UPDATE {}.promotions SET reason = 'rewritten'", schema.name());
        assert!(client.batch_execute(&reason).await.is_err());
    }
}

#[tokio::test]
async fn an_empty_trail_needs_no_checkpoint() {
    let b = sqlite().await;
    let (key, _) = SigningKey::generate().unwrap();
    let riskops = service(b.store.clone()).with_signing_key(Arc::new(key));
    assert!(riskops.checkpoint_audit().await.unwrap().is_none());
    assert!(b.store.audit_head().await.unwrap().is_none());
    assert!(b.store.latest_checkpoint().await.unwrap().is_none());
    // Without a key there is nothing to sign with.
    assert_eq!(service(b.store.clone()).checkpoint_audit().await.unwrap_err().kind, ErrorKind::Internal);
}

// ---- the risk register: project context, documents kept as data, entries ---------------

use riskops_core::context::{Autonomy, DataSensitivity, EuAiAct, Industry, ProjectContext, Template};
use riskops_core::risk::{ControlLink, Impact, RiskEntry, RiskFields, RiskStatus};

fn context(industry: Industry, workflow: &str) -> ProjectContext {
    ProjectContext {
        industry,
        workflow: workflow.into(),
        workflow_description: format!("{workflow} for the call centre"),
        data_sensitivity: vec![DataSensitivity::Phi, DataSensitivity::Financial],
        autonomy: Autonomy::HumanOnTheLoop,
        eu_ai_act: Some(EuAiAct::High),
        annex_iii_area: Some("5(a) access to essential public services".into()),
        template: Some(Template::Healthcare),
    }
}

fn risk(failure_mode: &str, severity: u8, likelihood: u8) -> RiskFields {
    RiskFields {
        failure_mode: failure_mode.into(),
        category: "accuracy".into(),
        severity,
        likelihood,
        impact: Impact { financial: 4, reputational: 3, regulatory: 5, safety: 1 },
        controls: vec![],
        owner: "ana".into(),
        status: RiskStatus::Open,
        rationale: format!("{failure_mode} seen in review"),
    }
}

/// A second identity (an admin too), so that changes can be told apart by who made them.
async fn other_permit(store: &Arc<dyn Store>, admin: &Permit, name: &str) -> Permit {
    let token = format!("{name}-token");
    let new = NewIdentity {
        roles: vec![binding(Role::Admin, None)],
        ..new_identity(name, &riskops_core::auth::hash_token(&token))
    };
    store.create_identity(new, audit(admin, "identity.create", &format!("identity:{name}")), T0).await.unwrap();
    let principal = authenticate(&service(store.clone()), &token).await.unwrap();
    authorize(&principal, Operation::IdentityAdmin, Scope::Global).unwrap()
}

#[tokio::test]
async fn project_contexts_are_set_cleared_and_read_back() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let before = store.project("default").await.unwrap().unwrap();
        assert_eq!(before.context, None, "{kind:?}");

        let set = |c: Option<&ProjectContext>| {
            let audit = audit(&permit, "project.context", "project:default");
            store.set_project_context("default", c.map(ProjectContext::to_json), audit, T0)
        };
        let healthcare = context(Industry::Healthcare, "billing_information");
        let described = set(Some(&healthcare)).await.unwrap();
        chain.one("project.context").await;
        assert_eq!(described, Project { context: Some(healthcare.clone()), ..before.clone() }, "{kind:?}");
        assert_eq!(store.project("default").await.unwrap(), Some(described.clone()));
        assert_eq!(store.list_projects().await.unwrap(), [described]);

        // Replaced as a whole; optional parts left out stay out.
        let finance = ProjectContext {
            data_sensitivity: vec![],
            autonomy: Autonomy::Autonomous,
            eu_ai_act: None,
            annex_iii_area: None,
            template: None,
            workflow_description: String::new(),
            ..context(Industry::Finance, "fraud_screening")
        };
        let replaced = set(Some(&finance)).await.unwrap();
        chain.one("project.context").await;
        assert_eq!(replaced.context.as_ref(), Some(&finance), "{kind:?}");
        assert_eq!(store.project("default").await.unwrap().unwrap().context, Some(finance));

        let cleared = set(None).await.unwrap();
        chain.one("project.context").await;
        assert_eq!(cleared, before, "{kind:?}");
        assert_eq!(store.project("default").await.unwrap(), Some(before));

        let unknown = store.set_project_context(
            "nope",
            Some(healthcare.to_json()),
            audit(&permit, "project.context", "project:nope"),
            T0,
        );
        let unknown = unknown.await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no project named \"nope\""));
        chain.none().await;

        // A new project has no context; setting one leaves the others alone.
        let p = NewProject { name: "triage".into(), description: String::new() };
        let made = store.create_project(p, audit(&permit, "project.create", "project:triage"), T0).await.unwrap();
        chain.one("project.create").await;
        assert_eq!(made.context, None, "{kind:?}");
        let triage = set_context_of(store, &permit, "triage", &healthcare).await;
        chain.one("project.context").await;
        assert_eq!(triage, Project { context: Some(healthcare), ..made });
        assert_eq!(store.project("default").await.unwrap().unwrap().context, None);
        chain.verify().await;
    }
}

async fn set_context_of(store: &Arc<dyn Store>, permit: &Permit, name: &str, c: &ProjectContext) -> Project {
    let audit = audit(permit, "project.context", &format!("project:{name}"));
    store.set_project_context(name, Some(c.to_json()), audit, T0).await.unwrap()
}

#[tokio::test]
async fn documents_are_versioned_per_kind() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        assert_eq!(store.document("taxonomy").await.unwrap(), None, "{kind:?}");

        let docs = [
            json!({"workflows": {"billing_information": {"failure_modes": ["wrong amount"]}}}),
            json!({"workflows": {}, "weight": 1.5, "bands": [4, 9, 16]}),
        ];
        for (i, doc) in docs.iter().enumerate() {
            let audit = audit(&permit, "taxonomy.update", "document:taxonomy").after(json!({"kind": "taxonomy"}));
            let stored = store.set_document("taxonomy", doc.clone(), audit, minutes(i as i64)).await.unwrap();
            let event = chain.one("taxonomy.update").await;
            assert_eq!(stored.version, i as u32 + 1, "{kind:?}");
            assert_eq!(event.after, Some(json!({"kind": "taxonomy", "version": i + 1})), "{kind:?}");
            assert_eq!(store.document("taxonomy").await.unwrap(), Some(stored));
        }
        let latest = store.document("taxonomy").await.unwrap().unwrap();
        assert_eq!(
            (latest.version, latest.document, latest.created_by.as_str(), latest.created_at),
            (2, docs[1].clone(), "admin", minutes(1)),
            "{kind:?}"
        );

        // Another kind starts at 1 and leaves the taxonomy's versions alone.
        let other = audit(&permit, "document.update", "document:controls");
        let controls = store.set_document("controls", json!(["human review"]), other, minutes(2)).await.unwrap();
        let event = chain.one("document.update").await;
        assert_eq!((controls.version, event.after), (1, Some(json!({"version": 1}))), "{kind:?}");
        assert_eq!(store.document("controls").await.unwrap(), Some(controls));
        assert_eq!(store.document("taxonomy").await.unwrap().unwrap().version, 2, "{kind:?}");
        assert_eq!(store.document("nothing").await.unwrap(), None);
        // The policy is not a document kind.
        assert_eq!(store.document("policy").await.unwrap(), None);
        chain.verify().await;
    }
}

#[tokio::test]
async fn concurrent_document_updates_get_one_version_each() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut tasks = Vec::new();
        for i in 0..8u32 {
            let (store, permit) = (store.clone(), permit.clone());
            tasks.push(tokio::spawn(async move {
                let audit = audit(&permit, "taxonomy.update", "document:taxonomy");
                store.set_document("taxonomy", json!({"n": i}), audit, T0).await.unwrap().version
            }));
        }
        let mut versions = Vec::new();
        for t in tasks {
            versions.push(t.await.unwrap());
        }
        versions.sort();
        assert_eq!(versions, (1..=8).collect::<Vec<_>>(), "{kind:?}");
        let events = store.audit_events(0, 10_000).await.unwrap();
        let report = verify_chain(&events);
        assert!(report.ok, "{kind:?}: {report:?}");
        assert_eq!(events.iter().filter(|e| e.action == "taxonomy.update").count(), 8, "{kind:?}");
    }
}

#[tokio::test]
async fn risk_entries_are_added_updated_and_listed_per_project() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let rita = other_permit(store, &permit, "rita").await;
        let p = NewProject { name: "fraud".into(), description: String::new() };
        store.create_project(p, audit(&permit, "project.create", "project:fraud"), T0).await.unwrap();
        let mut chain = Chain::new(store).await;

        let add = |project: &'static str, entries: Vec<RiskFields>| {
            let audit = audit(&permit, "risk.add", &format!("project:{project}"));
            store.add_risk_entries(project, entries, audit, T0)
        };
        let unknown = add("nope", vec![risk("hallucinated amount", 4, 3)]).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no project named \"nope\""));
        chain.none().await;
        assert!(store.risk_entries("nope").await.unwrap().is_empty(), "{kind:?}");

        let fields = [risk("hallucinated amount", 4, 3), risk("wrong patient", 5, 2)];
        let added = add("default", fields.to_vec()).await.unwrap();
        let event = chain.one("risk.add").await;
        assert_eq!(added.len(), 2, "{kind:?}");
        assert!(added[0].id < added[1].id, "{kind:?}: {added:?}");
        assert_eq!(event.after, Some(json!({"ids": [added[0].id, added[1].id]})), "{kind:?}");
        for (entry, fields) in added.iter().zip(&fields) {
            let expected = RiskEntry {
                id: entry.id,
                project: "default".into(),
                fields: fields.clone(),
                created_at: T0,
                updated_at: T0,
                updated_by: "admin".into(),
            };
            assert_eq!(entry, &expected, "{kind:?}");
            assert_eq!(store.risk_entry(entry.id).await.unwrap().as_ref(), Some(entry));
        }

        let elsewhere = add("fraud", vec![risk("missed fraud ring", 3, 4)]).await.unwrap();
        let event = chain.one("risk.add").await;
        assert_eq!(event.after, Some(json!({"ids": [elsewhere[0].id]})));
        assert!(elsewhere[0].id > added[1].id, "{kind:?}");
        let nothing = add("fraud", vec![]).await.unwrap();
        let event = chain.one("risk.add").await;
        assert_eq!((nothing, event.after), (vec![], Some(json!({"ids": []}))), "{kind:?}");

        // Likelihood rises, a control is linked, the risk is mitigated; by someone else later.
        let changed = RiskFields {
            likelihood: 5,
            controls: vec![ControlLink { control: "human review".into(), effect: 2 }],
            status: RiskStatus::Mitigated,
            ..fields[0].clone()
        };
        let update = audit(&rita, "risk.update", &format!("risk:{}", added[0].id)).before(fields[0].to_json());
        let updated = store.update_risk_entry(added[0].id, changed.clone(), update, minutes(5)).await.unwrap();
        let event = chain.one("risk.update").await;
        assert_eq!((event.actor.as_str(), event.before), ("rita", Some(fields[0].to_json())), "{kind:?}");
        let expected = RiskEntry {
            fields: changed.clone(),
            updated_at: minutes(5),
            updated_by: "rita".into(),
            ..added[0].clone()
        };
        assert_eq!(updated, expected, "{kind:?}");
        assert_eq!(store.risk_entry(added[0].id).await.unwrap(), Some(expected.clone()));

        let missing = elsewhere[0].id + 1000;
        let update = audit(&rita, "risk.update", &format!("risk:{missing}"));
        let unknown = store.update_risk_entry(missing, changed, update, minutes(6)).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message), (ErrorKind::NotFound, format!("no risk entry {missing}")));
        chain.none().await;
        assert_eq!(store.risk_entry(missing).await.unwrap(), None);

        // Oldest first, each project its own.
        assert_eq!(store.risk_entries("default").await.unwrap(), [expected, added[1].clone()], "{kind:?}");
        assert_eq!(store.risk_entries("fraud").await.unwrap(), elsewhere, "{kind:?}");
        chain.verify().await;
    }
}

#[tokio::test]
async fn the_risk_register_cannot_be_erased() {
    async fn history(store: &Arc<dyn Store>) -> Vec<RiskEntry> {
        let permit = admin_permit(store).await;
        let t = audit(&permit, "taxonomy.update", "document:taxonomy");
        store.set_document("taxonomy", json!({"workflows": {}}), t, T0).await.unwrap();
        let a = audit(&permit, "risk.add", "project:default");
        store.add_risk_entries("default", vec![risk("wrong amount", 3, 3)], a, T0).await.unwrap()
    }
    // {s}. is the PostgreSQL schema; every statement must be refused by a trigger.
    const REWRITES: [&str; 4] = [
        "DELETE FROM {s}.risk_entries",
        "UPDATE {s}.documents SET created_by = 'mallory'",
        "UPDATE {s}.documents SET document = '{}'",
        "DELETE FROM {s}.documents",
    ];

    let b = sqlite().await;
    let entries = history(&b.store).await;
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    let conn = rusqlite::Connection::open(path).unwrap();
    for sql in REWRITES {
        let sql = sql.replace("{s}.", "");
        assert!(conn.execute(&sql, []).is_err(), "SQLite accepted {sql}");
    }
    assert_eq!(b.store.risk_entries("default").await.unwrap(), entries);
    assert_eq!(b.store.document("taxonomy").await.unwrap().unwrap().document, json!({"workflows": {}}));

    if let Some(pg) = postgres().await {
        let entries = history(&pg.store).await;
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let truncates = ["TRUNCATE {s}.risk_entries", "TRUNCATE {s}.documents"];
        for sql in REWRITES.iter().chain(&truncates) {
            let sql = sql.replace("{s}", schema.name());
            let err = client.batch_execute(&sql).await.expect_err(&sql);
            assert!(
                err.as_db_error().is_some_and(|e| e.code() == &tokio_postgres::error::SqlState::RAISE_EXCEPTION),
                "{sql}: {err:?}"
            );
        }
        assert_eq!(pg.store.risk_entries("default").await.unwrap(), entries);
        assert_eq!(pg.store.document("taxonomy").await.unwrap().unwrap().document, json!({"workflows": {}}));
    }
}

// ---- compliance: attestations, and the report over the store ----------------------------

use riskops_core::compliance::{AttachedFile, ControlStatus, Framework as ComplianceFramework, NewAttestation};

fn attestation(project: &str, control: &str, file: Option<u8>) -> NewAttestation {
    NewAttestation {
        project: project.into(),
        control: control.into(),
        statement: format!("{control} holds: reviewed by the committee"),
        evidence: file.map(|n| AttachedFile { digest: digest(n), size: 42 }),
    }
}

#[tokio::test]
async fn attestations_are_recorded_per_project_in_order() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let add = |new: NewAttestation| {
            let target = format!("project:{}", new.project);
            store.add_attestation(new, audit(&permit, "control.attest", &target), minutes(1))
        };
        let first = add(attestation("default", "C11", None)).await.unwrap();
        let event = chain.one("control.attest").await;
        assert_eq!(event.after.as_ref().unwrap()["id"], first.id, "{kind:?}: the store records the id");
        assert_eq!((first.created_by.as_str(), first.evidence.as_ref()), ("admin", None));
        let second = add(attestation("default", "C20", Some(9))).await.unwrap();
        chain.one("control.attest").await;
        assert!(second.id > first.id);

        let listed = store.attestations("default").await.unwrap();
        assert_eq!(listed, [first, second.clone()], "{kind:?}");
        assert_eq!(listed[1].evidence, Some(AttachedFile { digest: digest(9), size: 42 }));
        assert_eq!(listed[1].created_at, minutes(1));
        assert!(store.attestations("nope").await.unwrap().is_empty());

        let unknown = add(attestation("nope", "C11", None)).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no project named \"nope\""));
        chain.none().await;
        chain.verify().await;
    }
}

#[tokio::test]
async fn attestations_cannot_be_rewritten() {
    async fn history(store: &Arc<dyn Store>) {
        let permit = admin_permit(store).await;
        let a = audit(&permit, "control.attest", "project:default");
        store.add_attestation(attestation("default", "C11", Some(3)), a, T0).await.unwrap();
    }
    const REWRITES: [&str; 3] = [
        "UPDATE {s}.attestations SET statement = 'nothing to see'",
        "UPDATE {s}.attestations SET created_by = 'mallory'",
        "DELETE FROM {s}.attestations",
    ];
    let b = sqlite().await;
    history(&b.store).await;
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    let conn = rusqlite::Connection::open(path).unwrap();
    for sql in REWRITES {
        let sql = sql.replace("{s}.", "");
        assert!(conn.execute(&sql, []).is_err(), "SQLite accepted {sql}");
    }
    assert_eq!(b.store.attestations("default").await.unwrap().len(), 1);

    if let Some(pg) = postgres().await {
        history(&pg.store).await;
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        for sql in REWRITES.iter().chain(&["TRUNCATE {s}.attestations"]) {
            let sql = sql.replace("{s}", schema.name());
            let err = client.batch_execute(&sql).await.expect_err(&sql);
            assert!(
                err.as_db_error().is_some_and(|e| e.code() == &tokio_postgres::error::SqlState::RAISE_EXCEPTION),
                "{sql}: {err:?}"
            );
        }
        assert_eq!(pg.store.attestations("default").await.unwrap().len(), 1);
    }
}

/// The report over each backend: HIPAA counts only once the project declares phi data, and
/// an attestation recorded through the service flips its control.
#[tokio::test]
async fn the_compliance_report_follows_the_context_and_attestations() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let riskops = service(store.clone());
        let ctx = admin_context(&riskops, "tok").await;
        let report = riskops.compliance_report(&ctx, "default", None).await.unwrap();
        let status = |r: &riskops_core::compliance::ComplianceReport, id: &str| {
            r.controls.iter().find(|c| c.id == id).map(|c| (c.status, c.reason.clone())).unwrap()
        };
        assert!(!report.coverage.contains_key(&ComplianceFramework::Hipaa), "{kind:?}: no context, no HIPAA");
        assert_eq!(report.controls.len(), 27);
        assert_eq!(status(&report, "C07").0, ControlStatus::NotApplicable, "nothing in production");
        assert_eq!(status(&report, "C11"), (ControlStatus::Unsatisfied, "no attestation recorded".to_string()));
        // The bootstrap token is the admin's and never expires: C18 says so.
        assert!(status(&report, "C18").1.contains("bootstrap admin token"), "{kind:?}");

        let mut healthcare = context(Industry::Healthcare, "billing_information");
        set_context_of(store, &permit, "default", &healthcare).await;
        let report = riskops.compliance_report(&ctx, "default", Some(ComplianceFramework::Hipaa)).await.unwrap();
        assert!(report.coverage.contains_key(&ComplianceFramework::Hipaa), "{kind:?}: phi brings HIPAA in");
        assert!(report.controls.iter().all(|c| c.frameworks.contains_key(&ComplianceFramework::Hipaa)));
        let (c21, reason) = status(&report, "C21");
        assert_eq!(c21, ControlStatus::Unsatisfied);
        assert!(reason.contains("admin#"), "{kind:?}: {reason}");

        healthcare.data_sensitivity = vec![DataSensitivity::Pii];
        set_context_of(store, &permit, "default", &healthcare).await;
        let report = riskops.compliance_report(&ctx, "default", None).await.unwrap();
        assert!(!report.coverage.contains_key(&ComplianceFramework::Hipaa));
        assert!(report.frameworks_not_applicable[0].1.contains("project default's data: pii"));

        let nist = report.coverage[&ComplianceFramework::NistAiRmf];
        let push = riskops.check_attestation(&ctx, "default", "C11").await.unwrap();
        riskops.add_attestation(&ctx, push, None, attestation("default", "C11", None)).await.unwrap();
        let after = riskops.compliance_report(&ctx, "default", None).await.unwrap();
        assert_eq!(status(&after, "C11").0, ControlStatus::Attested, "{kind:?}");
        assert_eq!(after.coverage[&ComplianceFramework::NistAiRmf].met, nist.met + 1);
        let Err(unknown) = riskops.check_attestation(&ctx, "default", "C99").await else { panic!("C99 accepted") };
        assert_eq!(unknown.field.as_deref(), Some("control"));
        assert_eq!(riskops.attestations(&ctx, "default").await.unwrap().len(), 1);
    }
}

/// Runs `sql` (with `{t}` for the audit table) on the backend's database as a forger would,
/// its append-only guard removed first.
async fn forge(b: &Backend, sql: &str) {
    match &b.pg_schema {
        None => {
            let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
            let sql = format!("DROP TRIGGER audit_events_no_update; {}", sql.replace("{t}", "audit_events"));
            rusqlite::Connection::open(path).unwrap().execute_batch(&sql).unwrap();
        }
        Some(schema) => {
            let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let table = format!("{}.audit_events", schema.name());
            let sql =
                format!("DROP TRIGGER IF EXISTS audit_events_no_change ON {table}; {}", sql.replace("{t}", &table));
            client.batch_execute(&sql).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_stored_event_spelled_otherwise_than_sealed_is_reported_where_it_is() {
    for b in backends().await {
        let kind = b.store.kind();
        let riskops = service(b.store.clone());
        riskops.bootstrap(Some(&Secret::new("tok-respelled".into()))).await.unwrap();
        let ctx = admin_context(&riskops, "tok-respelled").await;
        for name in ["a", "b"] {
            riskops.create_project(&ctx, NewProject { name: name.into(), description: String::new() }).await.unwrap();
        }
        assert!(riskops.verify_audit(&ctx, None).await.unwrap().ok, "{kind:?}");
        // The same content with white space added: the hash alone would not notice.
        forge(&b, "UPDATE {t} SET after_json = after_json || ' ' WHERE seq = 3").await;
        let report = riskops.verify_audit(&ctx, None).await.unwrap();
        assert_eq!((report.ok, report.first_bad_seq, report.events), (false, Some(3), 2), "{kind:?}: {report:?}");
        assert!(report.reason.as_deref().unwrap().contains("canonical form"), "{kind:?}: {report:?}");
    }
}

#[tokio::test]
async fn a_dropped_append_only_trigger_is_reported() {
    let b = sqlite().await;
    assert!(b.store.missing_audit_guards().await.unwrap().is_empty());
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    rusqlite::Connection::open(path).unwrap().execute_batch("DROP TRIGGER audit_events_no_delete").unwrap();
    assert_eq!(b.store.missing_audit_guards().await.unwrap(), ["audit_events_no_delete"]);

    if let Some(pg) = postgres().await {
        assert!(pg.store.missing_audit_guards().await.unwrap().is_empty());
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP TRIGGER audit_checkpoints_no_change ON {}.audit_checkpoints", schema.name()))
            .await
            .unwrap();
        assert_eq!(pg.store.missing_audit_guards().await.unwrap(), ["audit_checkpoints_no_change"]);
    }
}

// ---- monitoring: window states (optimistic revs) and accepted records -------------------

use riskops_core::monitoring::{IngestWrite, StoredRecord, StoredWindow, WindowSpec, WindowWrite};

/// The hour windows these tests write to: `hour(n)` starts n hours after T0.
fn hour(n: i64) -> i64 {
    WindowSpec::Hour.window_of(T0.unix_timestamp()).0 + n * 3600
}

fn window(version: u32, start: i64, state: &[u8], records: u64, expected_rev: Option<i64>) -> WindowWrite {
    WindowWrite { version, start, end: start + 3600, state: state.to_vec(), records, labelled: 0, expected_rev }
}

fn record(id: &str, version: u32, window_start: i64, score: Option<f64>) -> StoredRecord {
    StoredRecord {
        id: id.into(),
        version,
        window_start,
        prediction: format!("{{\"label\":\"{id}\"}}"),
        score,
        attributes: "{\"region\":\"eu\"}".into(),
        labelled: false,
    }
}

fn ingest(windows: Vec<WindowWrite>, new_records: Vec<StoredRecord>, labelled: &[&str]) -> IngestWrite {
    IngestWrite {
        model: "fraud".into(),
        windows,
        new_records,
        labelled: labelled.iter().map(|s| s.to_string()).collect(),
        ..IngestWrite::default()
    }
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn all_windows(store: &Arc<dyn Store>) -> Vec<StoredWindow> {
    store.windows("fraud", None, i64::MIN, i64::MAX).await.unwrap()
}

#[tokio::test]
async fn monitoring_windows_are_written_once_and_then_only_at_their_rev() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let commit = |w: IngestWrite| store.commit_ingest(w, audit(&permit, "monitoring.ingest", "model:fraud"), T0);

        commit(ingest(vec![window(1, hour(0), b"s1", 2, None)], vec![record("r1", 1, hour(0), Some(0.5))], &[]))
            .await
            .unwrap();
        chain.one("monitoring.ingest").await;
        let first = StoredWindow {
            version: 1,
            start: hour(0),
            end: hour(1),
            state: b"s1".to_vec(),
            records: 2,
            labelled: 0,
            rev: 1,
        };
        assert_eq!(all_windows(store).await, std::slice::from_ref(&first), "{kind:?}");

        // A second "new" write of the same window refuses the whole batch: the other
        // (new) window and the records in it are not kept either.
        let again = commit(ingest(
            vec![window(1, hour(1), b"other", 1, None), window(1, hour(0), b"s1-again", 1, None)],
            vec![record("r9", 1, hour(1), None)],
            &[],
        ))
        .await
        .unwrap_err();
        assert_eq!(again.kind, ErrorKind::Conflict, "{kind:?}: {again:?}");
        chain.none().await;
        assert_eq!(all_windows(store).await, std::slice::from_ref(&first), "{kind:?}");
        assert!(store.known_records("fraud", &ids(&["r9"])).await.unwrap().is_empty(), "{kind:?}");

        // At the rev read, the state is replaced, the counts added and the rev bumped.
        commit(ingest(vec![window(1, hour(0), b"s2", 3, Some(1))], vec![], &[])).await.unwrap();
        chain.one("monitoring.ingest").await;
        let second = StoredWindow { state: b"s2".to_vec(), records: 5, rev: 2, ..first.clone() };
        assert_eq!(all_windows(store).await, std::slice::from_ref(&second), "{kind:?}");

        // A stale rev (or one for a window that was never written) changes nothing.
        for stale in [window(1, hour(0), b"stale", 1, Some(1)), window(1, hour(5), b"never", 1, Some(1))] {
            let err = commit(ingest(vec![stale], vec![record("r8", 1, hour(0), None)], &[])).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Conflict, "{kind:?}: {err:?}");
        }
        chain.none().await;
        assert_eq!(all_windows(store).await, std::slice::from_ref(&second), "{kind:?}");
        assert!(store.known_records("fraud", &ids(&["r8"])).await.unwrap().is_empty(), "{kind:?}");

        // Filters: by version, by [from, to) on the start, oldest first.
        commit(ingest(
            vec![
                window(2, hour(3), b"v2-h3", 1, None),
                window(1, hour(2), b"v1-h2", 1, None),
                window(2, hour(0), b"v2-h0", 1, None),
            ],
            vec![],
            &[],
        ))
        .await
        .unwrap();
        chain.one("monitoring.ingest").await;
        let starts = |ws: Vec<StoredWindow>| ws.into_iter().map(|w| (w.version, w.start)).collect::<Vec<_>>();
        assert_eq!(
            starts(all_windows(store).await),
            [(1, hour(0)), (2, hour(0)), (1, hour(2)), (2, hour(3))],
            "{kind:?}"
        );
        let v2 = store.windows("fraud", Some(2), i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(starts(v2), [(2, hour(0)), (2, hour(3))], "{kind:?}");
        let v1 = store.windows("fraud", Some(1), hour(0), hour(2)).await.unwrap();
        assert_eq!(v1, [second], "{kind:?}: to is exclusive");
        let middle = store.windows("fraud", None, hour(1), hour(4)).await.unwrap();
        assert_eq!(starts(middle), [(1, hour(2)), (2, hour(3))], "{kind:?}");
        assert!(store.windows("fraud", Some(3), i64::MIN, i64::MAX).await.unwrap().is_empty());
        assert!(store.windows("other", None, i64::MIN, i64::MAX).await.unwrap().is_empty());
        chain.verify().await;
    }
}

#[tokio::test]
async fn monitoring_records_are_accepted_once_and_labelled_once() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let commit = |w: IngestWrite| store.commit_ingest(w, audit(&permit, "monitoring.ingest", "model:fraud"), T0);

        let r1 = record("r1", 1, hour(0), Some(0.25));
        let r2 = record("r2", 1, hour(0), None);
        commit(ingest(vec![window(1, hour(0), b"s1", 2, None)], vec![r1.clone(), r2.clone()], &[])).await.unwrap();
        chain.one("monitoring.ingest").await;

        let mut known = store.known_records("fraud", &ids(&["r0", "r2", "r1", "r3"])).await.unwrap();
        known.sort();
        assert_eq!(known, ["r1", "r2"], "{kind:?}: the stored ones among those asked");
        // More ids than one query takes.
        let many: Vec<String> = (0..1_200).map(|i| format!("x{i}")).chain(ids(&["r2"])).collect();
        assert_eq!(store.known_records("fraud", &many).await.unwrap(), ["r2"], "{kind:?}");
        assert!(store.known_records("fraud", &[]).await.unwrap().is_empty());
        assert!(store.known_records("other", &ids(&["r1"])).await.unwrap().is_empty(), "{kind:?}");
        assert_eq!(store.records("fraud", &ids(&["r1", "r3", "r2"])).await.unwrap(), [r1.clone(), r2.clone()]);

        // An id accepted before refuses the batch, window write included.
        let dup = commit(ingest(
            vec![window(1, hour(0), b"s2", 2, Some(1))],
            vec![record("r3", 1, hour(0), None), record("r1", 1, hour(0), Some(0.9))],
            &[],
        ))
        .await
        .unwrap_err();
        assert_eq!(dup.kind, ErrorKind::Conflict, "{kind:?}: {dup:?}");
        chain.none().await;
        assert_eq!(all_windows(store).await[0].rev, 1, "{kind:?}");
        assert_eq!(store.records("fraud", &ids(&["r1", "r3"])).await.unwrap(), std::slice::from_ref(&r1), "{kind:?}");

        // A label marks its record once, with the window's count.
        let labelling = WindowWrite { labelled: 1, ..window(1, hour(0), b"s2", 0, Some(1)) };
        commit(ingest(vec![labelling], vec![], &["r1"])).await.unwrap();
        chain.one("monitoring.ingest").await;
        let labelled = store.records("fraud", &ids(&["r1", "r2"])).await.unwrap();
        assert_eq!(labelled, [StoredRecord { labelled: true, ..r1.clone() }, r2.clone()], "{kind:?}");
        let w = &all_windows(store).await[0];
        assert_eq!((w.records, w.labelled, w.rev), (2, 1, 2), "{kind:?}");

        // Labelling it again, or an id never accepted, is a conflict and rolls back the rest.
        for ids_ in [&["r2", "r1"][..], &["r2", "nope"][..]] {
            let relabel = WindowWrite { labelled: 2, ..window(1, hour(0), b"s3", 0, Some(2)) };
            let err = commit(ingest(vec![relabel], vec![], ids_)).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Conflict, "{kind:?}: {err:?}");
        }
        chain.none().await;
        assert_eq!(store.records("fraud", &ids(&["r2"])).await.unwrap(), [r2], "{kind:?}: r2 not labelled");
        let w = &all_windows(store).await[0];
        assert_eq!((w.state.as_slice(), w.labelled, w.rev), (&b"s2"[..], 1, 2), "{kind:?}");
        chain.verify().await;
    }
}

// ---- alerting: due windows, monitor results, incidents, webhooks and deliveries --------

use riskops_core::alerting::Severity;
use riskops_core::incident::{
    AttemptOutcome, Delivery, DeliveryState, DueWindow, EvaluationWrite, Incident, IncidentExtension, IncidentFilter,
    IncidentState, MonitorResult, NewIncident, NewWebhook, Webhook, WebhookFormat,
};

fn unix(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Commits one ingest of `model` at `at` (which the window rows remember as their last write).
async fn ingest_at(
    store: &Arc<dyn Store>,
    permit: &Permit,
    model: &str,
    windows: Vec<WindowWrite>,
    at: OffsetDateTime,
) {
    let write = IngestWrite { model: model.into(), windows, ..IngestWrite::default() };
    store.commit_ingest(write, audit(permit, "monitoring.ingest", &format!("model:{model}")), at).await.unwrap();
}

fn due(model: &str, version: u32, start: i64, rev: i64) -> DueWindow {
    DueWindow { model: model.into(), version, start, end: start + 3600, rev }
}

fn result(version: u32, start: i64, monitor: &str, value: f64, breached: bool) -> MonitorResult {
    MonitorResult {
        version,
        window_start: start,
        window_end: start + 3600,
        monitor_id: monitor.into(),
        value: Some(value),
        at: None,
        breached,
        incident_id: None,
    }
}

fn new_incident(project: &str, model: &str, version: u32, monitor: &str, windows: &[i64]) -> NewIncident {
    NewIncident {
        project: project.into(),
        model: model.into(),
        version,
        monitor_id: monitor.into(),
        monitor: json!({"id": monitor, "metric": "drift.share", "above": 0.3, "for": 2}),
        severity: Severity::High,
        title: format!("{model}@{version}: {monitor}"),
        windows: windows.to_vec(),
        evidence: json!({"values": windows.iter().map(|w| json!({"window": w, "value": 0.5})).collect::<Vec<_>>()}),
        advice: Some(json!({"action": "retrain"})),
    }
}

fn evaluation(model: &str, results: Vec<MonitorResult>, opened: Vec<NewIncident>) -> EvaluationWrite {
    EvaluationWrite { model: model.into(), results, opened, ..EvaluationWrite::default() }
}

/// Opens one incident per `NewIncident` (one evaluation, one audit each) and returns their ids.
async fn open_incidents(
    store: &Arc<dyn Store>,
    permit: &Permit,
    opened: Vec<NewIncident>,
    at: OffsetDateTime,
) -> Vec<i64> {
    let model = opened[0].model.clone();
    let audits = opened.iter().map(|i| audit(permit, "incident.open", &format!("model:{}", i.model))).collect();
    store.commit_evaluation(evaluation(&model, vec![], opened), audits, at).await.unwrap()
}

fn new_webhook(project: &str, url: &str, format: WebhookFormat) -> NewWebhook {
    NewWebhook { project: project.into(), url: url.into(), secret: Secret::new(format!("secret-of-{url}")), format }
}

async fn add_webhook(store: &Arc<dyn Store>, permit: &Permit, project: &str, url: &str) -> Webhook {
    let audit = audit(permit, "webhook.add", &format!("project:{project}"));
    store.add_webhook(new_webhook(project, url, WebhookFormat::Json), audit, T0).await.unwrap()
}

/// `(webhook, incident, event, state, attempts)` of each delivery, as listed.
fn summary(ds: &[Delivery]) -> Vec<(i64, i64, &str, DeliveryState, u32)> {
    ds.iter().map(|d| (d.webhook_id, d.incident_id, d.event.as_str(), d.state, d.attempts)).collect()
}

impl Chain {
    /// The events appended since the last look, which must be `actions` in order.
    async fn these(&mut self, actions: &[&str]) {
        let events = self.since().await;
        let got: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(got, actions, "{:?}", self.store.kind());
        self.seen += events.len();
    }
}

#[tokio::test]
async fn windows_are_due_once_closed_and_until_evaluated_at_their_rev() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let evaluate = |evaluated: Vec<(u32, i64, i64)>| {
            let write = EvaluationWrite { evaluated, ..evaluation("fraud", vec![], vec![]) };
            store.commit_evaluation(write, vec![], minutes(1))
        };

        // hour(0) is written at T0 (12:00, when it starts).
        ingest_at(store, &permit, "fraud", vec![window(1, hour(0), b"a", 1, None)], T0).await;
        let (end, written) = (hour(1), unix(T0));
        // Not ended yet.
        assert!(store.due_windows(end - 1, written, 100).await.unwrap().is_empty(), "{kind:?}");
        // Ended, but written after the quiet bound: a replay may still be filling it.
        assert!(store.due_windows(end, written - 1, 100).await.unwrap().is_empty(), "{kind:?}");
        // Ended and quiet since.
        let due_h0 = due("fraud", 1, hour(0), 1);
        assert_eq!(store.due_windows(end, written, 100).await.unwrap(), std::slice::from_ref(&due_h0), "{kind:?}");

        const LATER: i64 = i64::MAX / 2;
        // A later window of the same model (any version) that has started closes it; one of
        // another model does not. The latest window is not closed by anything yet.
        ingest_at(store, &permit, "other", vec![window(1, hour(5), b"o", 1, None)], T0).await;
        // A window that has not started by now (a stray future timestamp) closes nothing.
        assert!(store.due_windows(hour(4), 0, 100).await.unwrap().is_empty(), "{kind:?}");
        assert!(store.due_windows(LATER, 0, 100).await.unwrap().is_empty(), "{kind:?}");
        ingest_at(store, &permit, "fraud", vec![window(2, hour(2), b"b", 1, None)], T0).await;
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), std::slice::from_ref(&due_h0), "{kind:?}");
        ingest_at(store, &permit, "fraud", vec![window(1, hour(1), b"c", 1, None)], T0).await;
        let due_h1 = due("fraud", 1, hour(1), 1);
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), [due_h0.clone(), due_h1.clone()], "{kind:?}");
        // Oldest first (per model), at most `limit`; everything ended and quiet by the end.
        assert_eq!(store.due_windows(LATER, 0, 1).await.unwrap(), std::slice::from_ref(&due_h0), "{kind:?}");
        let all = store.due_windows(hour(6), unix(T0), 100).await.unwrap();
        assert_eq!(
            all,
            [due_h0.clone(), due_h1.clone(), due("fraud", 2, hour(2), 1), due("other", 1, hour(5), 1)],
            "{kind:?}"
        );

        // Evaluated at its rev: no longer due. A stale rev (or a window never written)
        // changes nothing.
        evaluate(vec![(1, hour(0), 1)]).await.unwrap();
        for stale in [(1, hour(1), 0), (3, hour(1), 1), (1, hour(0), 1)] {
            let e = evaluate(vec![stale]).await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::Conflict, "{kind:?}: {stale:?} is stale or judged already");
        }
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), std::slice::from_ref(&due_h1), "{kind:?}");

        // Another ingest bumps the rev: due again, at the new rev, until evaluated at it.
        ingest_at(store, &permit, "fraud", vec![window(1, hour(0), b"a2", 1, Some(1))], minutes(70)).await;
        let due_h0_2 = due("fraud", 1, hour(0), 2);
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), [due_h0_2.clone(), due_h1.clone()], "{kind:?}");
        assert_eq!(evaluate(vec![(1, hour(0), 1)]).await.unwrap_err().kind, ErrorKind::Conflict, "{kind:?}");
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), [due_h0_2, due_h1.clone()], "{kind:?}: stale");
        evaluate(vec![(1, hour(0), 2)]).await.unwrap();
        assert_eq!(store.due_windows(LATER, 0, 100).await.unwrap(), [due_h1], "{kind:?}");
        // A write touches the window: the latest of its model waits for quiet again.
        let other = due("other", 1, hour(5), 1);
        assert_eq!(store.due_windows(hour(6), unix(T0), 100).await.unwrap().last(), Some(&other), "{kind:?}");
        ingest_at(store, &permit, "other", vec![window(1, hour(5), b"o2", 1, Some(1))], minutes(400)).await;
        let quiet = unix(minutes(400));
        assert!(!store.due_windows(hour(9), quiet - 1, 100).await.unwrap().iter().any(|w| w.model == "other"));
        let now_due = store.due_windows(hour(9), quiet, 100).await.unwrap();
        assert_eq!(now_due.last(), Some(&DueWindow { rev: 2, ..other }), "{kind:?}");
    }
}

#[tokio::test]
async fn evaluations_keep_results_and_open_and_extend_incidents() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let w1 = add_webhook(store, &permit, "default", "https://a.example/hook").await;
        let w2 = add_webhook(store, &permit, "default", "https://b.example/hook").await;
        let removed = add_webhook(store, &permit, "default", "https://c.example/hook").await;
        store.remove_webhook(removed.id, audit(&permit, "webhook.remove", "project:default"), T0).await.unwrap();
        let elsewhere = add_webhook(store, &permit, "credit", "https://d.example/hook").await;
        let mut chain = Chain::new(store).await;

        // One pass: results of two monitors, an incident for each (in order), audits.
        let mut h2 = result(1, hour(2), "m1", 0.6, true);
        h2.at = Some("age".into());
        let results = vec![
            result(1, hour(0), "m1", 0.1, false),
            result(1, hour(1), "m1", 0.5, true),
            h2.clone(),
            result(1, hour(1), "m2", 0.9, true),
        ];
        let first = new_incident("default", "fraud", 1, "m1", &[hour(1), hour(2)]);
        let second = NewIncident { advice: None, ..new_incident("default", "fraud", 1, "m2", &[hour(1)]) };
        let write = evaluation("fraud", results, vec![first.clone(), second.clone()]);
        let audits =
            vec![audit(&permit, "incident.open", "model:fraud"), audit(&permit, "incident.open", "model:fraud")];
        let ids = store.commit_evaluation(write, audits, minutes(1)).await.unwrap();
        chain.these(&["incident.open", "incident.open"]).await;
        assert_eq!(ids.len(), 2, "{kind:?}");
        let (a, b_) = (ids[0], ids[1]);
        assert!(a < b_, "{kind:?}");

        let opened = store.incident(a).await.unwrap().unwrap();
        let expected = Incident {
            id: a,
            project: "default".into(),
            model: "fraud".into(),
            version: 1,
            monitor_id: "m1".into(),
            monitor: first.monitor.clone(),
            severity: Severity::High,
            state: IncidentState::Open,
            title: first.title.clone(),
            first_window: hour(1),
            last_window: hour(2),
            windows: 2,
            evidence: first.evidence.clone(),
            advice: first.advice.clone(),
            raised_risks: vec![],
            opened_at: minutes(1),
            updated_at: minutes(1),
            acknowledged_by: None,
            acknowledged_at: None,
            resolved_by: None,
            resolved_at: None,
            note: String::new(),
            risk_action: Some(riskops_core::incident::RiskAction::Raise),
        };
        assert_eq!(opened, expected, "{kind:?}");
        let other = store.incident(b_).await.unwrap().unwrap();
        assert_eq!((other.monitor_id.as_str(), other.advice.as_ref(), other.windows), ("m2", None, 1), "{kind:?}");
        assert!(store.incident(b_ + 100).await.unwrap().is_none(), "{kind:?}");

        // The results remember their incident.
        let m1 = store.monitor_results("fraud", 1, "m1").await.unwrap();
        let with = |r: &MonitorResult, incident: Option<i64>| MonitorResult { incident_id: incident, ..r.clone() };
        assert_eq!(
            m1,
            [
                result(1, hour(0), "m1", 0.1, false),
                with(&result(1, hour(1), "m1", 0.5, true), Some(a)),
                with(&h2, Some(a)),
            ],
            "{kind:?}"
        );
        assert_eq!(store.monitor_results("fraud", 1, "m2").await.unwrap()[0].incident_id, Some(b_), "{kind:?}");
        assert!(store.monitor_results("fraud", 2, "m1").await.unwrap().is_empty(), "{kind:?}");
        assert!(store.monitor_results("other", 1, "m1").await.unwrap().is_empty(), "{kind:?}");

        // One incident.opened delivery per incident and webhook of the project still there.
        let queued = store.deliveries("default", None, 100).await.unwrap();
        assert_eq!(
            summary(&queued),
            [
                (w2.id, b_, "incident.opened", DeliveryState::Pending, 0),
                (w1.id, b_, "incident.opened", DeliveryState::Pending, 0),
                (w2.id, a, "incident.opened", DeliveryState::Pending, 0),
                (w1.id, a, "incident.opened", DeliveryState::Pending, 0),
            ],
            "{kind:?}"
        );
        assert!(queued.iter().all(|d| d.next_attempt_at == unix(minutes(1)) && d.created_at == minutes(1)));
        assert!(queued.iter().all(|d| d.last_status.is_none() && d.last_error.is_none() && d.delivered_at.is_none()));
        assert!(store.deliveries("credit", None, 100).await.unwrap().is_empty(), "{kind:?}");
        assert!(store.deliveries("default", Some(elsewhere.id), 100).await.unwrap().is_empty(), "{kind:?}");

        // The next pass evaluates hour 2 again (its incident is kept, its value replaced)
        // and extends the incident with hour 3; the window marked evaluated too.
        ingest_at(store, &permit, "fraud", vec![window(1, hour(3), b"h3", 1, None)], T0).await;
        chain.one("monitoring.ingest").await;
        let again = result(1, hour(2), "m1", 0.7, true);
        let h3 = result(1, hour(3), "m1", 0.8, true);
        let extension = IncidentExtension {
            id: a,
            windows: vec![hour(3)],
            evidence: json!({"values": [0.5, 0.7, 0.8]}),
            advice: None,
        };
        let write = EvaluationWrite {
            model: "fraud".into(),
            evaluated: vec![(1, hour(3), 1)],
            results: vec![again.clone(), h3.clone()],
            opened: vec![],
            extended: vec![extension],
            ..EvaluationWrite::default()
        };
        let opened_now =
            store.commit_evaluation(write, vec![audit(&permit, "incident.update", "incident:1")], minutes(2)).await;
        assert!(opened_now.unwrap().is_empty(), "{kind:?}");
        chain.these(&["incident.update"]).await;
        let extended = store.incident(a).await.unwrap().unwrap();
        let expected = Incident {
            first_window: hour(1),
            last_window: hour(3),
            windows: 3,
            evidence: json!({"values": [0.5, 0.7, 0.8]}),
            updated_at: minutes(2),
            ..expected
        };
        assert_eq!(extended, expected, "{kind:?}: advice kept, opened_at kept");
        let m1 = store.monitor_results("fraud", 1, "m1").await.unwrap();
        assert_eq!(&m1[2..], [with(&again, Some(a)), with(&h3, Some(a))], "{kind:?}");
        assert!(store.due_windows(hour(9), unix(T0), 100).await.unwrap().is_empty(), "{kind:?}");
        // Extending queues nothing.
        assert_eq!(store.deliveries("default", None, 100).await.unwrap().len(), 4, "{kind:?}");

        // A window joins one incident once: extending another incident with a window that
        // belongs to one already leaves it where it is (and the counts follow the results).
        let extension =
            IncidentExtension { id: b_, windows: vec![hour(1), hour(2)], evidence: json!({}), advice: None };
        let write = EvaluationWrite { extended: vec![extension], ..evaluation("fraud", vec![], vec![]) };
        store.commit_evaluation(write, vec![], minutes(3)).await.unwrap();
        let m2 = store.incident(b_).await.unwrap().unwrap();
        assert_eq!((m2.first_window, m2.last_window, m2.windows), (hour(1), hour(1), 1), "{kind:?}");
        assert_eq!(store.incident(a).await.unwrap().unwrap().windows, 3, "{kind:?}");
        chain.verify().await;
    }
}

#[tokio::test]
async fn incidents_are_acknowledged_then_resolved_once_each() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let admin = admin_permit(store).await;
        let bob = other_permit(store, &admin, "bob").await;
        let hook = add_webhook(store, &admin, "default", "https://a.example/hook").await;
        let ids = open_incidents(
            store,
            &admin,
            vec![
                new_incident("default", "fraud", 1, "m1", &[hour(0)]),
                new_incident("default", "fraud", 1, "m2", &[hour(0)]),
            ],
            minutes(1),
        )
        .await;
        let (a, other) = (ids[0], ids[1]);
        let mut chain = Chain::new(store).await;
        let set = |id: i64, state: IncidentState, note: &'static str, permit: &Permit, at: OffsetDateTime| {
            store.set_incident_state(id, state, note, audit(permit, "incident.state", &format!("incident:{id}")), at)
        };
        let events = |id: i64| async move {
            let ds = store.deliveries("default", Some(hook.id), 100).await.unwrap();
            ds.into_iter().filter(|d| d.incident_id == id).map(|d| d.event).rev().collect::<Vec<_>>()
        };

        let acked = set(a, IncidentState::Acknowledged, "looking into it", &bob, minutes(3)).await.unwrap();
        chain.one("incident.state").await;
        assert_eq!(acked.state, IncidentState::Acknowledged, "{kind:?}");
        assert_eq!(acked.acknowledged_by.as_deref(), Some("bob"), "{kind:?}");
        assert_eq!(acked.acknowledged_at, Some(minutes(3)), "{kind:?}");
        assert_eq!((acked.updated_at, acked.note.as_str()), (minutes(3), "looking into it"), "{kind:?}");
        assert_eq!((acked.resolved_by.as_ref(), acked.resolved_at), (None, None), "{kind:?}");
        assert_eq!(store.incident(a).await.unwrap().unwrap(), acked, "{kind:?}");
        assert_eq!(events(a).await, ["incident.opened", "incident.acknowledged"], "{kind:?}");

        // Acknowledging twice is refused, and changes nothing.
        let twice = set(a, IncidentState::Acknowledged, "me too", &admin, minutes(4)).await.unwrap_err();
        assert_eq!(twice.kind, ErrorKind::Conflict, "{kind:?}: {twice:?}");
        chain.none().await;
        assert_eq!(store.incident(a).await.unwrap().unwrap(), acked, "{kind:?}");
        assert_eq!(events(a).await.len(), 2, "{kind:?}");
        // Nor is an incident reopened.
        let reopen = set(a, IncidentState::Open, "", &admin, minutes(4)).await.unwrap_err();
        assert_eq!(reopen.kind, ErrorKind::Invalid, "{kind:?}: {reopen:?}");
        chain.none().await;

        // Resolving keeps the acknowledgement (and the note, when none is given).
        let resolved = set(a, IncidentState::Resolved, "", &admin, minutes(5)).await.unwrap();
        chain.one("incident.state").await;
        let expected = Incident {
            state: IncidentState::Resolved,
            resolved_by: Some("admin".into()),
            resolved_at: Some(minutes(5)),
            updated_at: minutes(5),
            // The risk register still has to follow.
            risk_action: Some(riskops_core::incident::RiskAction::Lower),
            ..acked.clone()
        };
        assert_eq!(resolved, expected, "{kind:?}");
        assert_eq!(events(a).await, ["incident.opened", "incident.acknowledged", "incident.resolved"], "{kind:?}");

        // Nothing after resolved.
        for state in [IncidentState::Acknowledged, IncidentState::Resolved, IncidentState::Open] {
            let err = set(a, state, "again", &admin, minutes(6)).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Conflict, "{kind:?}: {state:?}: {err:?}");
        }
        chain.none().await;
        assert_eq!(store.incident(a).await.unwrap().unwrap(), expected, "{kind:?}");
        assert_eq!(events(a).await.len(), 3, "{kind:?}");

        // An open incident can be resolved straight away; a missing one is not found.
        let straight = set(other, IncidentState::Resolved, "false alarm", &bob, minutes(7)).await.unwrap();
        chain.one("incident.state").await;
        assert_eq!(straight.resolved_by.as_deref(), Some("bob"), "{kind:?}");
        assert_eq!((straight.acknowledged_by, straight.note.as_str()), (None, "false alarm"), "{kind:?}");
        assert_eq!(events(other).await, ["incident.opened", "incident.resolved"], "{kind:?}");
        let missing = set(other + 100, IncidentState::Acknowledged, "", &admin, minutes(7)).await.unwrap_err();
        assert_eq!(missing.kind, ErrorKind::NotFound, "{kind:?}");
        chain.none().await;

        // The risks an incident raised are recorded on it.
        store.set_incident_risks(a, &[7, 9], audit(&admin, "incident.risks", "incident:1"), minutes(8)).await.unwrap();
        chain.one("incident.risks").await;
        assert_eq!(store.incident(a).await.unwrap().unwrap().raised_risks, [7, 9], "{kind:?}");
        let err = store.set_incident_risks(other + 100, &[1], audit(&admin, "incident.risks", "x"), minutes(8)).await;
        assert_eq!(err.unwrap_err().kind, ErrorKind::NotFound, "{kind:?}");
        chain.none().await;
        chain.verify().await;
    }
}

/// A webhook receiver that keeps what it was sent.
#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<serde_json::Value>>);

#[async_trait::async_trait]
impl riskops_core::service::WebhookTransport for Recording {
    async fn post(&self, _url: &str, _headers: &[(String, String)], body: Vec<u8>) -> std::result::Result<u16, String> {
        self.0.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
        Ok(204)
    }
}

#[tokio::test]
async fn a_delivery_tells_of_the_incident_as_it_was_when_its_event_happened() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let admin = admin_permit(store).await;
        add_webhook(store, &admin, "default", "https://a.example/hook").await;
        let id = open_incidents(store, &admin, vec![new_incident("default", "fraud", 1, "m1", &[hour(0)])], minutes(1))
            .await[0];
        let set = |state: IncidentState, note: &'static str, at: OffsetDateTime| {
            store.set_incident_state(id, state, note, audit(&admin, "incident.state", &format!("incident:{id}")), at)
        };
        set(IncidentState::Acknowledged, "looking into it", minutes(3)).await.unwrap();
        set(IncidentState::Resolved, "fixed upstream", minutes(5)).await.unwrap();

        // Nothing was sent before the incident was resolved; each delivery still tells its event.
        let folder = std::env::temp_dir().join(format!("riskops-conformance-{}", std::process::id()));
        let artifacts = Arc::new(riskops_store::artifacts::LocalArtifacts::new(folder).unwrap());
        let riskops = Riskops::new(store.clone(), artifacts, Arc::new(ManualClock::new(minutes(10))));
        let receiver = Recording::default();
        assert_eq!(riskops.deliver_webhooks(&receiver).await.unwrap(), 3, "{kind:?}");
        let sent = receiver.0.lock().unwrap().clone();
        let told: Vec<(&str, &str, &str)> = sent
            .iter()
            .map(|p| {
                let i = &p["incident"];
                (p["event"].as_str().unwrap(), i["state"].as_str().unwrap(), i["note"].as_str().unwrap())
            })
            .collect();
        assert_eq!(
            told,
            [
                ("incident.opened", "open", ""),
                ("incident.acknowledged", "acknowledged", "looking into it"),
                ("incident.resolved", "resolved", "fixed upstream"),
            ],
            "{kind:?}"
        );
        let acknowledged = &sent[1]["incident"];
        assert_eq!(
            (acknowledged["acknowledged_by"].as_str(), &acknowledged["resolved_at"]),
            (Some("admin"), &json!(null))
        );
        assert_eq!(acknowledged["id"], id, "{kind:?}");
    }
}

#[tokio::test]
async fn concurrent_acknowledgements_succeed_once() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let admin = admin_permit(store).await;
        add_webhook(store, &admin, "default", "https://a.example/hook").await;
        let id =
            open_incidents(store, &admin, vec![new_incident("default", "fraud", 1, "m1", &[hour(0)])], T0).await[0];
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            let audit = audit(&admin, "incident.acknowledge", &format!("incident:{id}"));
            tasks.push(tokio::spawn(async move {
                store.set_incident_state(id, IncidentState::Acknowledged, &format!("n{i}"), audit, minutes(i)).await
            }));
        }
        let mut acked = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => acked += 1,
                Err(e) => assert_eq!(e.kind, ErrorKind::Conflict, "{kind:?}: {e:?}"),
            }
        }
        assert_eq!(acked, 1, "{kind:?}");
        let events = store.audit_events(0, 1000).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "incident.acknowledge").count(), 1, "{kind:?}");
        assert!(verify_chain(&events).ok, "{kind:?}");
        let ds = store.deliveries("default", None, 100).await.unwrap();
        assert_eq!(ds.iter().filter(|d| d.event == "incident.acknowledged").count(), 1, "{kind:?}");
    }
}

#[tokio::test]
async fn webhooks_are_added_listed_and_removed_with_their_pending_deliveries() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;

        let audit_add = || audit(&permit, "webhook.add", "project:default");
        let new = new_webhook("default", "https://hooks.slack.example/x", WebhookFormat::Slack);
        let slack = store.add_webhook(new, audit_add(), minutes(1)).await.unwrap();
        chain.one("webhook.add").await;
        let expected = Webhook {
            id: slack.id,
            project: "default".into(),
            url: "https://hooks.slack.example/x".into(),
            secret: Secret::new("secret-of-https://hooks.slack.example/x".into()),
            format: WebhookFormat::Slack,
            created_by: "admin".into(),
            created_at: minutes(1),
        };
        assert_eq!(slack, expected, "{kind:?}");
        let plain = store.add_webhook(new_webhook("default", "https://p", WebhookFormat::Json), audit_add(), T0).await;
        let plain = plain.unwrap();
        chain.one("webhook.add").await;
        let credit = store.add_webhook(new_webhook("credit", "https://c", WebhookFormat::Json), audit_add(), T0).await;
        let credit = credit.unwrap();
        chain.one("webhook.add").await;
        assert!(slack.id < plain.id && plain.id < credit.id, "{kind:?}");
        assert_eq!(store.webhook(slack.id).await.unwrap(), Some(expected.clone()), "{kind:?}");
        assert_eq!(store.webhooks("default").await.unwrap(), [expected.clone(), plain.clone()], "{kind:?}");
        assert_eq!(store.webhooks("credit").await.unwrap(), std::slice::from_ref(&credit), "{kind:?}");
        assert!(store.webhooks("nobody").await.unwrap().is_empty(), "{kind:?}");

        // Deliveries: the first incident's to `slack` is delivered, the second's pending.
        let first = open_incidents(store, &permit, vec![new_incident("default", "fraud", 1, "m1", &[hour(0)])], T0);
        let first = first.await[0];
        let delivered = store.deliveries("default", Some(slack.id), 10).await.unwrap()[0].id;
        let ok = AttemptOutcome::Delivered { status: 204 };
        store.record_attempt(delivered, &ok, minutes(1)).await.unwrap();
        let second = open_incidents(store, &permit, vec![new_incident("default", "fraud", 1, "m2", &[hour(0)])], T0);
        let second = second.await[0];
        chain.these(&["incident.open", "incident.open"]).await;

        let remove = |id: i64| store.remove_webhook(id, audit(&permit, "webhook.remove", "project:default"), T0);
        remove(slack.id).await.unwrap();
        chain.one("webhook.remove").await;
        assert!(store.webhook(slack.id).await.unwrap().is_none(), "{kind:?}");
        assert_eq!(store.webhooks("default").await.unwrap(), std::slice::from_ref(&plain), "{kind:?}");
        // Its deliveries stay listed: the pending one failed, the delivered one as it was.
        let gone = store.deliveries("default", Some(slack.id), 10).await.unwrap();
        assert_eq!(
            summary(&gone),
            [
                (slack.id, second, "incident.opened", DeliveryState::Failed, 0),
                (slack.id, first, "incident.opened", DeliveryState::Delivered, 1),
            ],
            "{kind:?}"
        );
        assert_eq!(gone[0].last_error.as_deref(), Some("webhook removed"), "{kind:?}");
        assert_eq!((gone[1].last_error.as_deref(), gone[1].last_status), (None, Some(204)), "{kind:?}");
        // The other webhook's are untouched, and nothing of the removed one is due.
        let kept = store.deliveries("default", Some(plain.id), 10).await.unwrap();
        assert!(kept.iter().all(|d| d.state == DeliveryState::Pending), "{kind:?}");
        let due = store.due_deliveries(unix(minutes(60)), 100).await.unwrap();
        assert!(due.iter().all(|d| d.webhook_id == plain.id) && due.len() == 2, "{kind:?}");

        // A removed webhook gets nothing new; removing it again, or one never added, is not found.
        let third = open_incidents(store, &permit, vec![new_incident("default", "fraud", 1, "m3", &[hour(0)])], T0);
        let third = third.await[0];
        chain.one("incident.open").await;
        let latest = store.deliveries("default", None, 1).await.unwrap();
        assert_eq!(summary(&latest), [(plain.id, third, "incident.opened", DeliveryState::Pending, 0)], "{kind:?}");
        assert_eq!(store.deliveries("default", Some(slack.id), 10).await.unwrap().len(), 2, "{kind:?}");
        for id in [slack.id, credit.id + 100] {
            assert_eq!(remove(id).await.unwrap_err().kind, ErrorKind::NotFound, "{kind:?}");
        }
        chain.none().await;
        chain.verify().await;
    }
}

#[tokio::test]
async fn deliveries_are_attempted_until_delivered_or_given_up() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let w1 = add_webhook(store, &permit, "default", "https://a").await;
        let w2 = add_webhook(store, &permit, "default", "https://b").await;
        let w3 = add_webhook(store, &permit, "credit", "https://c").await;
        let first = open_incidents(store, &permit, vec![new_incident("default", "fraud", 1, "m1", &[hour(0)])], T0);
        let first = first.await[0];
        let second =
            open_incidents(store, &permit, vec![new_incident("credit", "loans", 1, "m1", &[hour(0)])], minutes(1));
        let second = second.await[0];
        let chain = Chain::new(store).await;

        let ids = |ds: &[Delivery]| ds.iter().map(|d| d.id).collect::<Vec<_>>();
        let all = store.deliveries("default", None, 100).await.unwrap();
        assert_eq!(summary(&all).iter().map(|d| (d.0, d.1)).collect::<Vec<_>>(), [(w2.id, first), (w1.id, first)]);
        let (d1, d2) = (all[1].id, all[0].id);
        let d3 = store.deliveries("credit", None, 100).await.unwrap()[0].id;
        assert_eq!(store.deliveries("credit", Some(w3.id), 100).await.unwrap()[0].incident_id, second);

        // Due once their next attempt is, oldest first, at most `limit`.
        assert!(store.due_deliveries(unix(T0) - 1, 100).await.unwrap().is_empty(), "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(unix(T0), 100).await.unwrap()), [d1, d2], "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(unix(minutes(1)), 100).await.unwrap()), [d1, d2, d3], "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(unix(minutes(1)), 2).await.unwrap()), [d1, d2], "{kind:?}");

        // Delivered: done.
        store.record_attempt(d1, &AttemptOutcome::Delivered { status: 200 }, minutes(2)).await.unwrap();
        let one = |id: i64| async move {
            let all = [
                store.deliveries("default", None, 100).await.unwrap(),
                store.deliveries("credit", None, 100).await.unwrap(),
            ];
            all.concat().into_iter().find(|d| d.id == id).unwrap()
        };
        let done = one(d1).await;
        assert_eq!((done.state, done.attempts, done.last_status), (DeliveryState::Delivered, 1, Some(200)), "{kind:?}");
        assert_eq!((done.delivered_at, done.last_error), (Some(minutes(2)), None), "{kind:?}");
        assert_eq!((done.next_attempt_at, done.created_at), (unix(T0), T0), "{kind:?}");

        // Failed with a retry: still pending, due again at the retry.
        let retry_at = unix(minutes(10));
        let failed = AttemptOutcome::Failed { status: Some(503), error: "busy".into(), retry_at: Some(retry_at) };
        store.record_attempt(d2, &failed, minutes(2)).await.unwrap();
        let waiting = one(d2).await;
        assert_eq!((waiting.state, waiting.attempts, waiting.next_attempt_at), (DeliveryState::Pending, 1, retry_at));
        assert_eq!((waiting.last_status, waiting.last_error.as_deref()), (Some(503), Some("busy")), "{kind:?}");
        assert_eq!(waiting.delivered_at, None, "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(retry_at - 1, 100).await.unwrap()), [d3], "{kind:?}");
        assert_eq!(ids(&store.due_deliveries(retry_at, 100).await.unwrap()), [d3, d2], "{kind:?}");

        // Failed without one: given up, never due again.
        let gave_up = AttemptOutcome::Failed { status: None, error: "timed out".into(), retry_at: None };
        store.record_attempt(d2, &gave_up, minutes(11)).await.unwrap();
        let given_up = one(d2).await;
        assert_eq!((given_up.state, given_up.attempts, given_up.next_attempt_at), (DeliveryState::Failed, 2, retry_at));
        assert_eq!((given_up.last_status, given_up.last_error.as_deref()), (None, Some("timed out")), "{kind:?}");
        assert_eq!(given_up.delivered_at, None, "{kind:?}");

        // A retry then a success clears the error.
        let failed = AttemptOutcome::Failed { status: None, error: "reset".into(), retry_at: Some(retry_at) };
        store.record_attempt(d3, &failed, minutes(2)).await.unwrap();
        store.record_attempt(d3, &AttemptOutcome::Delivered { status: 202 }, minutes(12)).await.unwrap();
        let late = one(d3).await;
        assert_eq!((late.state, late.attempts, late.last_status), (DeliveryState::Delivered, 2, Some(202)), "{kind:?}");
        assert_eq!((late.last_error, late.delivered_at), (None, Some(minutes(12))), "{kind:?}");
        assert!(store.due_deliveries(i64::MAX, 100).await.unwrap().is_empty(), "{kind:?}");

        // A delivery that is no longer pending is left as it is.
        for id in [d1, d2] {
            let before = one(id).await;
            store.record_attempt(id, &AttemptOutcome::Delivered { status: 200 }, minutes(20)).await.unwrap();
            store.record_attempt(id, &gave_up, minutes(20)).await.unwrap();
            assert_eq!(one(id).await, before, "{kind:?}");
        }

        // Listing: newest first, by webhook, at most `limit`.
        assert_eq!(ids(&store.deliveries("default", None, 1).await.unwrap()), [d2], "{kind:?}");
        assert_eq!(ids(&store.deliveries("default", Some(w1.id), 100).await.unwrap()), [d1], "{kind:?}");
        assert!(store.deliveries("default", Some(w3.id), 100).await.unwrap().is_empty(), "{kind:?}");
        assert!(store.deliveries("nobody", None, 100).await.unwrap().is_empty(), "{kind:?}");
        // Not audited: bookkeeping.
        chain.none().await;
    }
}

#[tokio::test]
async fn incidents_are_listed_newest_first_by_project_model_and_state() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let fraud = open_incidents(
            store,
            &permit,
            vec![
                new_incident("default", "fraud", 1, "m1", &[hour(0)]),
                new_incident("default", "fraud", 2, "m1", &[hour(0)]),
            ],
            T0,
        )
        .await;
        let scoring = open_incidents(store, &permit, vec![new_incident("default", "scoring", 1, "m1", &[hour(1)])], T0);
        let scoring = scoring.await[0];
        let loans = open_incidents(store, &permit, vec![new_incident("credit", "loans", 1, "m1", &[hour(0)])], T0);
        let loans = loans.await[0];
        let set = |id: i64, state: IncidentState| {
            store.set_incident_state(id, state, "", audit(&permit, "incident.state", "incident"), minutes(1))
        };
        set(fraud[1], IncidentState::Acknowledged).await.unwrap();
        set(loans, IncidentState::Resolved).await.unwrap();

        let list = |project: Option<&str>, model: Option<&str>, state: Option<IncidentState>| {
            let filter =
                IncidentFilter { project: project.map(str::to_string), model: model.map(str::to_string), state };
            async move { store.incidents(&filter).await.unwrap().into_iter().map(|i| i.id).collect::<Vec<_>>() }
        };
        assert_eq!(list(None, None, None).await, [loans, scoring, fraud[1], fraud[0]], "{kind:?}");
        assert_eq!(list(Some("default"), None, None).await, [scoring, fraud[1], fraud[0]], "{kind:?}");
        assert_eq!(list(None, Some("fraud"), None).await, [fraud[1], fraud[0]], "{kind:?}");
        assert_eq!(list(None, None, Some(IncidentState::Open)).await, [scoring, fraud[0]], "{kind:?}");
        assert_eq!(list(None, None, Some(IncidentState::Acknowledged)).await, [fraud[1]], "{kind:?}");
        assert_eq!(list(None, None, Some(IncidentState::Resolved)).await, [loans], "{kind:?}");
        assert_eq!(list(Some("default"), Some("fraud"), Some(IncidentState::Open)).await, [fraud[0]], "{kind:?}");
        assert!(list(Some("credit"), Some("fraud"), None).await.is_empty(), "{kind:?}");
        assert!(list(Some("nobody"), None, None).await.is_empty(), "{kind:?}");
        let full = store.incidents(&IncidentFilter { model: Some("loans".into()), ..Default::default() }).await;
        assert_eq!(full.unwrap(), [store.incident(loans).await.unwrap().unwrap()], "{kind:?}");
    }
}

#[tokio::test]
async fn one_monitor_and_version_has_one_unresolved_incident_even_with_two_servers() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let first = new_incident("default", "fraud", 1, "m1", &[hour(1)]);
        let ids = open_incidents(store, &permit, vec![first.clone()], minutes(1)).await;
        // A second server that read the same state opens the same incident: refused whole.
        let chain = Chain::new(store).await;
        let again = evaluation("fraud", vec![result(1, hour(2), "m1", 0.7, true)], vec![first.clone()]);
        let audits = vec![audit(&permit, "incident.open", "model:fraud")];
        let e = store.commit_evaluation(again, audits, minutes(2)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict, "{kind:?}");
        chain.none().await;
        assert!(store.monitor_results("fraud", 1, "m1").await.unwrap().iter().all(|r| r.window_start != hour(2)));
        // Once resolved, the monitor may open a new one; extending the resolved one is refused.
        let admin = audit(&permit, "incident.resolve", &format!("incident:{}", ids[0]));
        store.set_incident_state(ids[0], IncidentState::Resolved, "", admin, minutes(3)).await.unwrap();
        let extend = EvaluationWrite {
            extended: vec![IncidentExtension { id: ids[0], windows: vec![hour(2)], evidence: json!({}), advice: None }],
            ..evaluation("fraud", vec![], vec![])
        };
        let e = store.commit_evaluation(extend, vec![], minutes(4)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict, "{kind:?}: resolved meanwhile");
        let reopened = open_incidents(store, &permit, vec![first], minutes(5)).await;
        assert_ne!(reopened[0], ids[0], "{kind:?}");
    }
}

#[tokio::test]
async fn a_missing_postgres_database_is_named_with_how_to_create_it() {
    let Ok(url) = std::env::var(riskops_store::testing::POSTGRES_URL_VAR) else { return };
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    let e = match riskops_store::postgres::PostgresStore::connect(&format!("{base}/riskops_no_such_db")).await {
        Err(e) => e,
        Ok(_) => panic!("connected to a database that does not exist"),
    };
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
    assert!(
        e.message
            .contains("database \"riskops_no_such_db\" does not exist; create it with: createdb riskops_no_such_db"),
        "{e}"
    );
}
