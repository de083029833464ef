//! The store conformance suite: the same stories on SQLite always, and on PostgreSQL when
//! `RISKOPS_TEST_POSTGRES_URL` is set (each run in a fresh schema, dropped afterwards).
//! One binary for the crate (every test file is a separate link step); its stories are in
//! `conformance/`, one module per capability, and the helpers they share are here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_core::action::Action;
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
use riskops_core::registry::{Endpoint, Framework, InterfaceInput, ModelInterface, NewModelVersion, Protocol};
use riskops_core::secret::Secret;
use riskops_core::service::{BootstrapOutcome, RequestContext};
use riskops_core::signing::SigningKey;
use riskops_core::store::{NewIdentity, Store, StoreKind};
use riskops_core::{ErrorKind, Result, Riskops};
use riskops_store::testing::PostgresSchema;
use serde_json::json;
use sha2::Digest as _;
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

#[path = "conformance/alerting.rs"]
mod alerting;
#[path = "conformance/audit.rs"]
mod audit;
#[path = "conformance/bootstrap.rs"]
mod bootstrap;
#[path = "conformance/compliance.rs"]
mod compliance;
#[path = "conformance/governance.rs"]
mod governance;
#[path = "conformance/identities.rs"]
mod identities;
#[path = "conformance/monitoring.rs"]
mod monitoring;
#[path = "conformance/risk.rs"]
mod risk;

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

// ---- shared by the stories: a clock, permits, the audit chain follower, fixtures -------

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

/// An audit record as a service would make it. The store's stories record every kind of
/// event without going through the services, so they use riskops's own permit (which may
/// record any action) unless `permit` may record this one itself.
fn audit(permit: &Permit, action: &str, target: &str) -> AuditRecord {
    let action = Action::parse(action).unwrap_or_else(|| panic!("{action} is not an audit action"));
    let system = Permit::system_for_tests(permit.actor());
    let by = if action.allowed_by(permit.operation()) { permit } else { &system };
    AuditRecord::new(by, action, target).request_id(Some("req-1".into()))
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
        project: "default".into(),
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
        endpoint: None,
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
