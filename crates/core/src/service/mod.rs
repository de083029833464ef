//! [`Riskops`]: the services every edge (HTTP, CLI) calls.
//!
//! Each operation authenticates (a [`Principal`]), authorizes (a [`Permit`]), validates,
//! and hands the change with its audit record to the store. Nothing here knows about HTTP.

use crate::action::Action;
use crate::artifact::ArtifactStore;
use crate::audit::AuditRecord;
use crate::auth::{
    self, IdentityKind, Operation, Principal, Role, RoleBinding, Scope, generate_token, hash_token,
    validate_chosen_token,
};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::project::{DEFAULT_PROJECT, NewProject, Project, validate_name};
use crate::secret::Secret;
use crate::signing::{PublicKey, SigningKey};
use crate::store::{Bootstrap, NewIdentity, Store, StoreKind};
use crate::throttle::Throttle;
use std::sync::Arc;

mod access;
mod alerting;
mod audit;
mod compliance;
mod governance;
mod identities;
mod integrity;
mod kpi;
mod metrics;
mod monitoring;
mod produce;
mod registry;
mod risk;
mod status;

pub use access::AccessFlush;
pub use alerting::{EvaluationSummary, MAX_ATTEMPTS, MonitorsView, WebhookTransport, signature};
pub use audit::AuditFilter;
pub use governance::{PromotionView, Stages};
pub use identities::{IdentityRequest, IssuedToken, parse_binding};
pub use integrity::{Compromised, INTEGRITY_MONITOR, IntegrityProblem, IntegrityReport};
pub use kpi::{KpiReport, VersionKpi};
pub use metrics::{LOOK_BACK_DAYS, LatestWindow, ModelMetrics};
pub use monitoring::{
    ArtifactFiles, AttributionJob, IngestOutcome, IngestPermit, MAX_BATCH, MonitorConfig, RecordTables, SegmentFile,
    SegmentWriter, WindowAttribution, WindowDrift, WindowExplainer, WindowOutputs, WindowPoint,
};
pub use produce::{
    Contribution, DataInput, EvidenceProducer, ExplainJob, ExplainMethod, ExplainOptions, ModelInput, PRODUCED_BY,
    ProducedEvidence, ReasonsWanted, RecordExplanation, RecordsJob, StressJob, StressOptions, ValidationJob,
    ValidationOptions,
};
pub use registry::ModelInspector;
pub use registry::PushPermit;
pub use risk::{Assessment, RiskPatch, TierSource};
pub use status::{ModelStatus, MonitoringStatus};

/// A time as RFC 3339 text, for audit documents.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The name of the first administrator.
pub const ADMIN_NAME: &str = "admin";

/// Who is asking, and under which request id (for logs and the audit trail).
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub principal: Principal,
    pub request_id: Option<String>,
}

/// What the first start did.
#[derive(Debug)]
pub enum BootstrapOutcome {
    /// The store was empty; `admin` was created. `generated_token` is set when no token
    /// was supplied and one was generated: it must be shown to the operator exactly once.
    Created { generated_token: Option<Secret<String>> },
    /// The store already had identities; nothing changed.
    AlreadyInitialised,
}

#[derive(Clone)]
pub struct Riskops {
    store: Arc<dyn Store>,
    artifacts: Arc<dyn ArtifactStore>,
    clock: Arc<dyn Clock>,
    /// Signs audit checkpoints and production model digests. Optional only so that tests
    /// and tools that never sign need no key; the server always sets one.
    signing_key: Option<Arc<SigningKey>>,
    throttle: Arc<Throttle>,
    access: Arc<crate::access::AccessMonitor>,
    /// The project access incidents are filed under (its roles see them, its webhooks hear
    /// them); none by default: only global roles see them.
    access_project: Option<Arc<str>>,
    /// Decoded reference profiles of dataset versions (immutable, so never stale), so each
    /// ingestion batch does not decode its reference again.
    reference_profiles: Arc<monitoring::ProfileCache>,
    /// Writes raw-record segments; without one (tools, unit tests) none are kept.
    segment_writer: Option<Arc<dyn SegmentWriter>>,
    /// Reads model artifacts at registration; without one (tools, unit tests) none is read.
    model_inspector: Option<Arc<dyn ModelInspector>>,
    /// Runs models for produced evidence (validate, stress); without one none is produced.
    evidence_producer: Option<Arc<dyn EvidenceProducer>>,
    /// Where the producer writes its reports before they are stored.
    produce_dir: Option<std::path::PathBuf>,
    /// Explains windows' samples (attribution drift); without one the section says so.
    window_explainer: Option<Arc<dyn WindowExplainer>>,
    /// Windows' `explain` sections already computed.
    explanations: Arc<monitoring::ExplanationCache>,
    /// Reads segments and datasets for closed windows' exact drift; without one (tools,
    /// unit tests) windows report the sketches' drift.
    record_tables: Option<Arc<dyn RecordTables>>,
    /// Reference data prepared for exact drift (bounded).
    prepared_references: Arc<monitoring::PreparedCache>,
    /// Performance estimators and reconstruction models fitted on references.
    fitted_models: Arc<monitoring::FittedCache>,
    ingest_turns: Arc<monitoring::IngestTurns>,
    /// One settlement of the risk register at a time in this process: a resolve request and
    /// the alerting loop could otherwise both apply the same pending `lower`.
    settling: Arc<tokio::sync::Mutex<()>>,
    /// Webhook receivers allowed at internal addresses (`--webhook-allow-host`).
    webhook_allow_hosts: Arc<Vec<String>>,
    /// Deployments the last integrity verification found compromised.
    compromised: Arc<std::sync::RwLock<integrity::Compromised>>,
}

impl Riskops {
    pub fn new(store: Arc<dyn Store>, artifacts: Arc<dyn ArtifactStore>, clock: Arc<dyn Clock>) -> Self {
        Riskops {
            store,
            artifacts,
            clock,
            signing_key: None,
            throttle: Arc::default(),
            access: Arc::default(),
            access_project: None,
            reference_profiles: Arc::default(),
            segment_writer: None,
            model_inspector: None,
            evidence_producer: None,
            produce_dir: None,
            window_explainer: None,
            explanations: Arc::default(),
            record_tables: None,
            prepared_references: Arc::default(),
            fitted_models: Arc::default(),
            ingest_turns: Arc::default(),
            settling: Arc::default(),
            webhook_allow_hosts: Arc::default(),
            compromised: Arc::default(),
        }
    }

    /// Allows webhooks to these `HOST` or `HOST:PORT` receivers although their addresses are
    /// internal (see [`crate::webhook_guard`]).
    pub fn with_webhook_allow_hosts(mut self, hosts: Vec<String>) -> Self {
        self.webhook_allow_hosts = Arc::new(hosts);
        self
    }

    /// Keeps each batch's raw records as a segment written by `writer`.
    pub fn with_segment_writer(mut self, writer: Arc<dyn SegmentWriter>) -> Self {
        self.segment_writer = Some(writer);
        self
    }

    /// Reads each registered model's artifact with `inspector` (see [`ModelInspector`]).
    pub fn with_model_inspector(mut self, inspector: Arc<dyn ModelInspector>) -> Self {
        self.model_inspector = Some(inspector);
        self
    }

    /// Produces validation and stress evidence with `producer`, writing reports under `work_dir`.
    pub fn with_evidence_producer(mut self, producer: Arc<dyn EvidenceProducer>, work_dir: std::path::PathBuf) -> Self {
        self.evidence_producer = Some(producer);
        self.produce_dir = Some(work_dir);
        self
    }

    /// The key this instance signs with.
    pub fn with_window_explainer(mut self, explainer: Arc<dyn WindowExplainer>) -> Self {
        self.window_explainer = Some(explainer);
        self
    }

    pub fn with_signing_key(mut self, key: Arc<SigningKey>) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// The signing key, or an internal error when this instance was built without one.
    pub fn signing_key(&self) -> Result<&SigningKey> {
        self.signing_key.as_deref().ok_or_else(|| Error::internal("this riskops instance has no signing key"))
    }

    /// The public half of the signing key, published for verifiers.
    pub fn public_key(&self) -> Option<PublicKey> {
        self.signing_key.as_ref().map(|k| k.public_key())
    }

    /// The injected clock's time (edges use it for defaults such as "the last 7 days").
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    pub fn artifact_store_kind(&self) -> &'static str {
        self.artifacts.kind()
    }

    pub fn store_kind(&self) -> StoreKind {
        self.store.kind()
    }

    /// Whether this server can do its work now: the database answers a read and the artifact
    /// store answers a lookup, each within [`READINESS_TIMEOUT`]. Each part is `Err` with
    /// what went wrong (for the log: it may name hosts, so not for an anonymous caller).
    pub async fn readiness(&self) -> Readiness {
        let timed_out = || format!("no answer within {} s", READINESS_TIMEOUT.as_secs());
        let database = match tokio::time::timeout(READINESS_TIMEOUT, self.store.audit_head()).await {
            Ok(answer) => answer.map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => Err(timed_out()),
        };
        // The digest of nothing in particular: a lookup that reaches the store and finds nothing.
        let probe = crate::artifact::Digest::from_sha256(&[0; 32]);
        let artifacts = match tokio::time::timeout(READINESS_TIMEOUT, self.artifacts.exists(&probe)).await {
            Ok(answer) => answer.map(|_| ()).map_err(|e| e.to_string()),
            Err(_) => Err(timed_out()),
        };
        Readiness { database, artifacts }
    }

    /// Creates the `admin` user and the `default` project on an empty store.
    pub async fn bootstrap(&self, chosen_token: Option<&Secret<String>>) -> Result<BootstrapOutcome> {
        let (token, generated) = match chosen_token {
            Some(t) => {
                validate_chosen_token(t.expose())?;
                (t.clone(), false)
            }
            None => (generate_token()?, true),
        };
        let permit = auth::Permit::system();
        let roles = vec![RoleBinding { role: Role::Admin, project: None }];
        let default_project = NewProject {
            name: DEFAULT_PROJECT.to_string(),
            description: "The project things go to unless told otherwise.".to_string(),
        };
        let audit = vec![
            AuditRecord::new(&permit, Action::IdentityCreate, format!("identity:{ADMIN_NAME}"))
                .after(serde_json::json!({"name": ADMIN_NAME, "kind": "user", "roles": ["admin"]})),
            AuditRecord::new(&permit, Action::ProjectCreate, format!("project:{DEFAULT_PROJECT}"))
                .after(serde_json::json!({"name": default_project.name, "description": default_project.description})),
        ];
        let bootstrap = Bootstrap {
            admin: NewIdentity {
                name: ADMIN_NAME.to_string(),
                kind: IdentityKind::User,
                roles,
                token_hash: hash_token(token.expose()),
                token_expires_at: None,
                password_hash: None,
            },
            default_project,
            audit,
        };
        if self.store.bootstrap(bootstrap, self.clock.now()).await? {
            Ok(BootstrapOutcome::Created { generated_token: generated.then_some(token) })
        } else {
            Ok(BootstrapOutcome::AlreadyInitialised)
        }
    }

    pub async fn create_project(&self, ctx: &RequestContext, project: NewProject) -> Result<Project> {
        let permit = auth::authorize(&ctx.principal, Operation::ProjectCreate, Scope::Global)?;
        project.validate()?;
        let audit = AuditRecord::new(&permit, Action::ProjectCreate, format!("project:{}", project.name))
            .after(serde_json::json!({"name": project.name, "description": project.description}))
            .request_id(ctx.request_id.clone());
        self.store.create_project(project, audit, self.clock.now()).await
    }

    pub async fn list_projects(&self, ctx: &RequestContext) -> Result<Vec<Project>> {
        let visible = auth::authorize_listing(&ctx.principal, Operation::ProjectRead)?;
        let mut projects = self.store.list_projects().await?;
        projects.retain(|p| visible.sees(&p.name));
        Ok(projects)
    }

    pub async fn project(&self, ctx: &RequestContext, name: &str) -> Result<Project> {
        auth::authorize(&ctx.principal, Operation::ProjectRead, Scope::Project(name))?;
        validate_name("name", name)?;
        self.store.project(name).await?.ok_or_else(|| Error::not_found(format!("no project named {name:?}")))
    }
}

/// How long a readiness check waits for the database and for the artifact store.
pub const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// What [`Riskops::readiness`] found.
#[derive(Debug)]
pub struct Readiness {
    pub database: std::result::Result<(), String>,
    pub artifacts: std::result::Result<(), String>,
}
