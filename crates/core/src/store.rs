//! The Store trait: everything riskops keeps, behind one interface with a SQLite and a
//! PostgreSQL implementation (crate `riskops-store`).
//!
//! [`Store`] is the sum of one sub-trait per capability, matching the modules: projects
//! ([`ProjectStore`]), the registry, identities, the audit trail, governance, the risk
//! register, compliance, monitoring and alerting. Each backend implements each sub-trait
//! beside that capability's SQL; `Arc<dyn Store>` reaches every method.
//!
//! Every method that changes state takes the [`AuditRecord`] of that change and must
//! append it to the audit chain (via [`crate::audit::seal`]) in the same transaction, so a
//! change and its record are committed together or not at all.

use crate::audit::{AuditEvent, AuditRecord};
use crate::auth::{IdentityKind, IdentityRecord, IdentitySummary, NewToken, RoleBinding, TokenInfo};
use crate::checkpoint::Checkpoint;
use crate::error::Result;
use crate::governance::Decision;
use crate::governance::Tier;
use crate::incident::{
    AttemptOutcome, Delivery, DueWindow, EvaluationWrite, Incident, IncidentFilter, IncidentState, MonitorResult,
    NewWebhook, Webhook,
};
use crate::monitoring::{
    ExactDriftRow, IngestWrite, Segment, SeriesRow, StoredRecord, StoredWindow, WindowEstimatesRow,
};
use crate::project::{NewProject, Project};
use crate::promotion::{
    Deployment, Evidence, NewDeployment, NewEvidence, NewPromotion, Promotion, PromotionFilter, VersionedDocument,
};
use crate::registry::{
    Created, DatasetVersion, Entry, Kind, ModelVersion, NewDatasetVersion, NewModelVersion, Note, Tags,
};
use crate::risk::{RiskEntry, RiskFields};
use crate::signing::PublicKey;
use async_trait::async_trait;
use time::OffsetDateTime;

/// Which backend keeps the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// An identity to create, with its first token (already hashed).
#[derive(Debug, Clone)]
pub struct NewIdentity {
    pub name: String,
    pub kind: IdentityKind,
    pub roles: Vec<RoleBinding>,
    pub token_hash: String,
    pub token_expires_at: Option<OffsetDateTime>,
    /// argon2id PHC string, for people who sign in with a password.
    pub password_hash: Option<String>,
}

/// Everything the first start creates, applied atomically.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub admin: NewIdentity,
    pub default_project: NewProject,
    /// One record per change, in order.
    pub audit: Vec<AuditRecord>,
}

/// Which backend this is, the first start, and projects: the scope datasets, models, risk
/// registers and webhooks belong to (the `projects` table; a project's tier override and
/// context are changed through [`GovernanceStore`] and [`RiskStore`]).
#[async_trait]
pub trait ProjectStore: Send + Sync + 'static {
    fn kind(&self) -> StoreKind;

    /// Applies `bootstrap` if no identity exists yet and returns true; otherwise changes
    /// nothing and returns false. Of two servers starting at once on one database, exactly
    /// one bootstraps.
    async fn bootstrap(&self, bootstrap: Bootstrap, at: OffsetDateTime) -> Result<bool>;

    /// Creates a project; a name already taken is a conflict.
    async fn create_project(&self, project: NewProject, audit: AuditRecord, at: OffsetDateTime) -> Result<Project>;

    async fn list_projects(&self) -> Result<Vec<Project>>;

    async fn project(&self, name: &str) -> Result<Option<Project>>;
}

/// The registry: datasets, models and their immutable versions, their labels and notes,
/// and which artifact digests rows refer to (so unreferenced objects can be removed).
#[async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    /// Records a dataset version. The first version creates the dataset in `project`; a
    /// dataset name that belongs to another project is a conflict, an unknown project is
    /// not found. Bytes equal to an existing version of the dataset (same digest) return
    /// that version and write nothing. The store sets `version` in the audit record's
    /// `after` document.
    async fn create_dataset_version(
        &self,
        new: NewDatasetVersion,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Created<DatasetVersion>>;

    /// A version, or the latest when `version` is `None`.
    async fn dataset_version(&self, name: &str, version: Option<u32>) -> Result<Option<DatasetVersion>>;

    /// Every version of a dataset, oldest first (empty when the dataset does not exist).
    async fn dataset_versions(&self, name: &str) -> Result<Vec<DatasetVersion>>;

    async fn list_datasets(&self, project: Option<&str>) -> Result<Vec<Entry>>;

    /// Records a model version; `training_data`/`validation_data` name dataset versions
    /// (the latest when no version is given), resolved inside the transaction; an unknown
    /// one is an invalid field. Same project rules as datasets.
    async fn create_model_version(
        &self,
        new: NewModelVersion,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<ModelVersion>;

    async fn model_version(&self, name: &str, version: Option<u32>) -> Result<Option<ModelVersion>>;

    async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersion>>;

    async fn list_models(&self, project: Option<&str>) -> Result<Vec<Entry>>;

    /// Model versions trained or validated on this dataset version.
    async fn models_using_dataset(&self, name: &str, version: u32) -> Result<Vec<ModelVersion>>;

    /// Whether anything (a dataset or model version, evidence, an attestation, a raw-record
    /// segment) refers to this digest, so its artifact must stay.
    async fn digest_referenced(&self, digest: &str) -> Result<bool>;

    /// Every digest something refers to (as in [`RegistryStore::digest_referenced`]), for removing
    /// the objects a crash left behind.
    async fn referenced_digests(&self) -> Result<std::collections::HashSet<String>>;

    /// Adds (or overwrites) labels of an existing version; returns all its labels. An
    /// unknown version is not found.
    async fn add_tags(
        &self,
        kind: Kind,
        name: &str,
        version: u32,
        tags: Tags,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Tags>;

    /// Appends a note to an existing version.
    async fn add_note(
        &self,
        kind: Kind,
        name: &str,
        version: u32,
        text: String,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Note>;

    /// A version's notes, oldest first.
    async fn notes(&self, kind: Kind, name: &str, version: u32) -> Result<Vec<Note>>;
}

/// Identities (people and services), their role bindings, tokens (stored hashed) and
/// password hashes for signing in.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// The identity owning a token with this hash, if the token is neither revoked nor
    /// expired at `now`.
    async fn identity_by_token_hash(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<IdentityRecord>>;

    /// Creates an identity with its roles and first token; a taken name is a conflict.
    async fn create_identity(&self, new: NewIdentity, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo>;

    async fn identities(&self) -> Result<Vec<IdentitySummary>>;

    async fn identity(&self, name: &str) -> Result<Option<IdentityRecord>>;

    /// The identity and its password hash, for signing in (`None` when unknown or disabled).
    async fn identity_for_login(&self, name: &str) -> Result<Option<(IdentityRecord, Option<String>)>>;

    /// Grants (`grant`) or revokes a role binding; returns the identity afterwards. Granting
    /// a binding it has, or revoking one it lacks, is a conflict; an unknown identity is
    /// not found.
    async fn set_role(
        &self,
        identity: &str,
        binding: RoleBinding,
        grant: bool,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<IdentityRecord>;

    async fn create_token(&self, new: NewToken, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo>;

    /// Tokens of one identity, or of everyone; newest first.
    async fn tokens(&self, identity: Option<&str>) -> Result<Vec<TokenInfo>>;

    async fn token(&self, id: i64) -> Result<Option<TokenInfo>>;

    /// Revokes a token; one already revoked is a conflict.
    async fn revoke_token(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<TokenInfo>;
}

/// The audit trail as a whole: reading events, recording events that change nothing else,
/// the head, signing keys' public halves and the signed checkpoints, and the append-only
/// guards. (Every other capability appends its own records inside its transactions.)
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Audit events with `seq > after_seq`, in order, at most `limit`.
    async fn audit_events(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEvent>>;

    /// Appends an event that records no other change (riskops acting on its own, such as
    /// throttling a client).
    async fn record_event(&self, audit: AuditRecord, at: OffsetDateTime) -> Result<()>;

    /// The newest audit event's `(seq, hash)`; `None` for an empty trail.
    async fn audit_head(&self) -> Result<Option<(i64, String)>>;

    /// Records a signing key's public half so verifiers can find it by key id. Idempotent.
    /// Not an audit event: it is the server acting on its own at start (see `checkpoint`).
    async fn register_public_key(&self, key: &PublicKey, at: OffsetDateTime) -> Result<()>;

    /// Every registered public key.
    async fn public_keys(&self) -> Result<Vec<PublicKey>>;

    /// Stores a checkpoint if the event at its seq exists with exactly its hash (else an
    /// integrity error: nothing that is not in the trail gets signed into it). Returns false,
    /// writing nothing, when a checkpoint at that seq exists already (another replica's).
    /// Not an audit event: that would move the head the checkpoint signs.
    async fn write_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool>;

    /// The checkpoint with the largest seq.
    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>>;

    /// The append-only triggers of the audit trail (events and checkpoints) that are
    /// missing from the database: empty when all are in place.
    async fn missing_audit_guards(&self) -> Result<Vec<String>>;

    /// Every checkpoint, in seq order.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>>;
}

/// Governance: a project's tier override, evidence, promotion requests and their
/// decisions, and deployments (a version's stay in an environment).
#[async_trait]
pub trait GovernanceStore: Send + Sync + 'static {
    /// Sets (or clears) a project's tier override; returns the project afterwards.
    async fn set_project_tier(
        &self,
        project: &str,
        tier: Option<Tier>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project>;

    /// Records evidence for an existing model version.
    async fn add_evidence(&self, new: NewEvidence, audit: AuditRecord, at: OffsetDateTime) -> Result<Evidence>;

    /// Evidence of a model version, oldest first.
    async fn evidence(&self, model: &str, version: u32) -> Result<Vec<Evidence>>;

    /// Opens a request; another pending request for the same version and environment is
    /// a conflict. `requested_by` is the audit record's actor.
    async fn create_promotion(&self, new: NewPromotion, audit: AuditRecord, at: OffsetDateTime) -> Result<Promotion>;

    async fn promotion(&self, id: i64) -> Result<Option<Promotion>>;

    /// Newest first.
    async fn promotions(&self, filter: &PromotionFilter) -> Result<Vec<Promotion>>;

    /// Adds a decision to a pending request; a closed request, or a second decision by
    /// the same person, is a conflict.
    async fn add_decision(
        &self,
        id: i64,
        decision: Decision,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion>;

    /// Closes a pending request: rejected (`deployment == None`) or completed, in which case
    /// the version enters the environment in the same transaction (see [`GovernanceStore::deploy`]).
    /// `reason` says why a request closed without a decision closing it (its version was
    /// archived), kept as `closed_reason`. A request that is no longer pending is a conflict.
    async fn close_promotion(
        &self,
        id: i64,
        deployment: Option<NewDeployment>,
        reason: Option<String>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Promotion>;

    /// Puts a version into an environment, ending the stay of the version that was there
    /// (which becomes archived). The store sets `replaced` in the audit record's `after`.
    async fn deploy(&self, new: NewDeployment, audit: AuditRecord, at: OffsetDateTime) -> Result<Deployment>;

    /// Every stay of every version of a model in any environment, oldest first.
    async fn deployments(&self, model: &str) -> Result<Vec<Deployment>>;
}

/// The risk register: a project's context, the documents kept as versioned data (the
/// taxonomy) and the register's entries.
#[async_trait]
pub trait RiskStore: Send + Sync + 'static {
    /// Sets (or clears) a project's context, stored as [`crate::context::ProjectContext::to_json`].
    async fn set_project_context(
        &self,
        project: &str,
        context: Option<serde_json::Value>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Project>;

    /// The newest version of a document kept as data (`taxonomy`), if any was stored.
    async fn document(&self, kind: &str) -> Result<Option<VersionedDocument>>;

    /// Stores the next version of a document; the store sets `version` in the audit
    /// record's `after`.
    async fn set_document(
        &self,
        kind: &str,
        document: serde_json::Value,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<VersionedDocument>;

    /// Adds entries to a project's register in one transaction (one audit record).
    async fn add_risk_entries(
        &self,
        project: &str,
        entries: Vec<RiskFields>,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Vec<RiskEntry>>;

    /// Replaces an entry's fields; an unknown id is not found.
    async fn update_risk_entry(
        &self,
        id: i64,
        fields: RiskFields,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<RiskEntry>;

    /// A project's entries, oldest first.
    async fn risk_entries(&self, project: &str) -> Result<Vec<RiskEntry>>;

    async fn risk_entry(&self, id: i64) -> Result<Option<RiskEntry>>;
}

/// Compliance: attestations that a control holds for a project.
#[async_trait]
pub trait ComplianceStore: Send + Sync + 'static {
    /// Records an attestation that a control holds for a project (its evidence file, if
    /// any, is already in the artifact store); an unknown project is not found.
    async fn add_attestation(
        &self,
        new: crate::compliance::NewAttestation,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<crate::compliance::Attestation>;

    /// A project's attestations, oldest first.
    async fn attestations(&self, project: &str) -> Result<Vec<crate::compliance::Attestation>>;
}

/// Monitoring: window states, the ids (and outcome fields) of records seen, and the
/// raw-record segments with their retention.
#[async_trait]
pub trait MonitoringStore: Send + Sync + 'static {
    /// Stored windows of a model (one version, or all) whose start is in `[from, to)`,
    /// oldest first.
    async fn windows(&self, model: &str, version: Option<u32>, from: i64, to: i64) -> Result<Vec<StoredWindow>>;

    /// `(start, end, records)` of a model version's latest window (by start), for windows
    /// of N records.
    async fn latest_window(&self, model: &str, version: u32) -> Result<Option<(i64, i64, u64)>>;

    /// The start of a model version's first window holding accepted records (its
    /// prediction-drift baseline; a window of only refused records is not one).
    async fn first_window_start(&self, model: &str, version: u32) -> Result<Option<i64>>;

    /// Every stored window of a model whose start is in `[from, to)` (oldest first), without
    /// its state, with its chart values when they were stored for its current revision.
    async fn series(&self, model: &str, from: i64, to: i64) -> Result<Vec<SeriesRow>>;

    /// Stores windows' chart values (replacing older ones).
    async fn put_series(&self, model: &str, points: &[SeriesRow]) -> Result<()>;

    /// The stored exact drift of a version's window (or rolled-up range) `[start, end)`.
    async fn exact_drift(&self, model: &str, version: u32, start: i64, end: i64) -> Result<Option<ExactDriftRow>>;

    /// Stores a window's exact drift, replacing an older one of the same bounds. Derived
    /// data (recomputed from the segments while they last), so not audited.
    async fn put_exact_drift(&self, row: &ExactDriftRow) -> Result<()>;

    /// The stored estimates of a version's window (or rolled-up range) `[start, end)`.
    async fn window_estimates(
        &self,
        model: &str,
        version: u32,
        start: i64,
        end: i64,
    ) -> Result<Option<WindowEstimatesRow>>;

    /// Stores a window's estimates, replacing older ones of the same bounds. Derived data,
    /// so not audited.
    async fn put_window_estimates(&self, row: &WindowEstimatesRow) -> Result<()>;

    /// Which of these record ids the model has already accepted (in no particular order).
    async fn known_records(&self, model: &str, ids: &[String]) -> Result<Vec<String>>;

    /// Which of these record ids were refused before and counted in their window (in no
    /// particular order).
    async fn known_refused(&self, model: &str, ids: &[String]) -> Result<Vec<String>>;

    /// The stored outcome fields of these records (those that exist).
    async fn records(&self, model: &str, ids: &[String]) -> Result<Vec<StoredRecord>>;

    /// Applies one ingestion (or labelling) batch in one transaction: window states written
    /// only if unchanged since read (`expected_rev`; an update keeps the later `end`), new record ids inserted (an id seen
    /// before is a conflict), `labelled` ids marked (each exactly once), the segment recorded. Any conflict
    /// changes nothing; the caller reads again and retries.
    async fn commit_ingest(&self, write: IngestWrite, audit: AuditRecord, at: OffsetDateTime) -> Result<()>;

    /// A model's raw-record segments, oldest first.
    async fn segments(&self, model: &str) -> Result<Vec<Segment>>;

    /// Segments whose retention ended by `now` (unix seconds), soonest first, at most `limit`.
    async fn expired_segments(&self, now: i64, limit: usize) -> Result<Vec<Segment>>;

    /// Forgets a segment (audited); true when no segment refers to its digest any more, so
    /// the caller may delete the object.
    async fn drop_segment(
        &self,
        model: &str,
        digest: &crate::artifact::Digest,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<bool>;
}

/// Alerting: which windows are due for evaluation, monitor results, incidents, webhooks
/// and their deliveries.
#[async_trait]
pub trait AlertingStore: Send + Sync + 'static {
    /// Windows that have closed and changed since monitors last looked (`evaluated_rev <
    /// rev`), oldest first, at most `limit`. Closed: a later window of the same model exists
    /// that has started by `now` (event time moved on; a stray future timestamp closes
    /// nothing), or the window ended by `now` and nothing was added to it since
    /// `quiet_since` (a replay of old traffic is still filling it otherwise). Unix seconds.
    async fn due_windows(&self, now: i64, quiet_since: i64, limit: usize) -> Result<Vec<DueWindow>>;

    /// A monitor's results for a model version, oldest window first.
    async fn monitor_results(&self, model: &str, version: u32, monitor_id: &str) -> Result<Vec<MonitorResult>>;

    /// Writes one evaluation pass in one transaction: the windows marked evaluated at their
    /// revision (a window changed or judged by someone else meanwhile is a conflict, and
    /// nothing is written), results upserted (keeping each window's incident), incidents
    /// opened with a pending `raise` (their windows' results pointed at them; a second
    /// unresolved incident for one monitor and version is a conflict) or extended (a
    /// resolved one is a conflict), and `incident.opened` deliveries queued for every webhook
    /// of the project. Returns the ids of the incidents opened, in order.
    async fn commit_evaluation(
        &self,
        write: EvaluationWrite,
        audits: Vec<AuditRecord>,
        at: OffsetDateTime,
    ) -> Result<Vec<i64>>;

    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;

    async fn incident(&self, id: i64) -> Result<Option<Incident>>;

    /// Moves an incident to `state` (acknowledged or resolved) as `actor`, with a note, and
    /// queues `incident.<state>` deliveries to the project's webhooks; resolving leaves a
    /// pending `lower`. A conflict when the
    /// incident is already in that state or resolved.
    async fn set_incident_state(
        &self,
        id: i64,
        state: IncidentState,
        note: &str,
        audit: AuditRecord,
        at: OffsetDateTime,
    ) -> Result<Incident>;

    /// Records the risk entries an incident holds raised (to lower them when it is
    /// resolved) and clears its pending risk action.
    async fn set_incident_risks(&self, id: i64, risks: &[i64], audit: AuditRecord, at: OffsetDateTime) -> Result<()>;

    /// Incidents whose risk action is still pending, oldest first.
    async fn incidents_owing_risk_changes(&self, limit: usize) -> Result<Vec<Incident>>;

    /// Claims a due delivery for one attempt: moves its next attempt to `lease_until` if it
    /// is still pending at `expected_next`; false when another server took it first.
    async fn claim_delivery(&self, id: i64, expected_next: i64, lease_until: i64) -> Result<bool>;

    async fn add_webhook(&self, new: NewWebhook, audit: AuditRecord, at: OffsetDateTime) -> Result<Webhook>;

    /// A project's webhooks (with their secrets: callers must never show them).
    async fn webhooks(&self, project: &str) -> Result<Vec<Webhook>>;

    async fn webhook(&self, id: i64) -> Result<Option<Webhook>>;

    /// Removes a webhook; its pending deliveries fail with "webhook removed".
    async fn remove_webhook(&self, id: i64, audit: AuditRecord, at: OffsetDateTime) -> Result<()>;

    /// Pending deliveries whose next attempt is due by `now` (unix seconds), oldest first.
    async fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<Delivery>>;

    /// Records one attempt. Not an audit event: delivery bookkeeping is operational, the
    /// incident events it carries are audited already.
    async fn record_attempt(&self, id: i64, outcome: &AttemptOutcome, at: OffsetDateTime) -> Result<()>;

    /// A project's deliveries (one webhook's, or all), newest first, at most `limit`.
    async fn deliveries(&self, project: &str, webhook: Option<i64>, limit: usize) -> Result<Vec<Delivery>>;
}

/// Everything riskops keeps: every capability above, which each backend implements (each
/// beside that capability's SQL). Callers hold an `Arc<dyn Store>`; a type that implements
/// all the capabilities is a `Store` by the blanket impl below.
pub trait Store:
    ProjectStore
    + RegistryStore
    + IdentityStore
    + AuditStore
    + GovernanceStore
    + RiskStore
    + ComplianceStore
    + MonitoringStore
    + AlertingStore
{
}

impl<
    T: ProjectStore
        + RegistryStore
        + IdentityStore
        + AuditStore
        + GovernanceStore
        + RiskStore
        + ComplianceStore
        + MonitoringStore
        + AlertingStore
        + ?Sized,
> Store for T
{
}
