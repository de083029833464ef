//! Identities, API tokens and permissions.
//!
//! A [`Principal`] can only be made by [`crate::Riskops::authenticate`], and a [`Permit`]
//! only by [`authorize`] (or, for start-up work, by the system itself). Every write to the
//! store needs an [`crate::audit::AuditRecord`], which can only be made from a `Permit`, so
//! a change that skipped the permission check does not compile.

use crate::encode::hex;
use crate::error::{Error, Result};
use crate::secret::Secret;
use sha2::{Digest, Sha256};
use std::fmt;
use time::OffsetDateTime;

/// A role, granted globally or within one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    RiskOfficer,
    Validator,
    DataScientist,
    Committee,
    Auditor,
    Viewer,
    Ingest,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::RiskOfficer,
        Role::Validator,
        Role::DataScientist,
        Role::Committee,
        Role::Auditor,
        Role::Viewer,
        Role::Ingest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::RiskOfficer => "risk_officer",
            Role::Validator => "validator",
            Role::DataScientist => "data_scientist",
            Role::Committee => "committee",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
            Role::Ingest => "ingest",
        }
    }

    pub fn parse(s: &str) -> Result<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let known: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            Error::invalid("role", format!("unknown role {s:?}; known roles: {}", known.join(", ")))
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role and where it applies: `project == None` means every project.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleBinding {
    pub role: Role,
    pub project: Option<String>,
}

impl fmt::Display for RoleBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.project {
            Some(p) => write!(f, "{}@{p}", self.role),
            None => write!(f, "{}", self.role),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    User,
    ServiceAccount,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::User => "user",
            IdentityKind::ServiceAccount => "service_account",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "user" => Ok(IdentityKind::User),
            "service_account" => Ok(IdentityKind::ServiceAccount),
            other => Err(Error::internal(format!("unknown identity kind {other:?} in store"))),
        }
    }
}

/// An identity as the store keeps it. Holding one proves nothing; see [`Principal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRecord {
    pub id: i64,
    pub name: String,
    pub kind: IdentityKind,
    pub roles: Vec<RoleBinding>,
}

/// An identity with when it was made, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySummary {
    pub identity: IdentityRecord,
    pub created_at: OffsetDateTime,
}

/// An API token as listed: never the token itself, which only its creator ever sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub identity: String,
    pub label: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A token to store (already hashed).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub identity: String,
    pub token_hash: String,
    pub label: String,
    pub expires_at: Option<OffsetDateTime>,
}

/// An authenticated caller. Only [`crate::Riskops::authenticate`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    identity: IdentityRecord,
}

impl Principal {
    pub(crate) fn authenticated(identity: IdentityRecord) -> Self {
        Principal { identity }
    }

    pub fn id(&self) -> i64 {
        self.identity.id
    }

    pub fn name(&self) -> &str {
        &self.identity.name
    }

    pub fn kind(&self) -> IdentityKind {
        self.identity.kind
    }

    pub fn roles(&self) -> &[RoleBinding] {
        &self.identity.roles
    }

    pub fn is_admin(&self) -> bool {
        self.identity.roles.iter().any(|b| b.role == Role::Admin && b.project.is_none())
    }
}

/// Everything a caller can ask riskops to do. [`allows`] is the role × operation matrix;
/// `docs/permissions.md` is generated from it (a test keeps the two equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Work riskops does on its own behalf (bootstrap, checkpoints, throttling records).
    System,
    ProjectCreate,
    ProjectRead,
    /// Overriding a project's risk tier (and, later, its context).
    ProjectUpdate,
    DatasetPush,
    ModelRegister,
    /// Datasets, models, lineage, evidence, promotions and stages.
    RegistryRead,
    /// Tags and notes on existing versions.
    RegistryAnnotate,
    /// Recording validation, fairness, … evidence for a model version.
    EvidenceAdd,
    /// Asking for a model version to enter staging or production.
    PromotionRequest,
    /// Approving or rejecting a promotion request.
    PromotionDecide,
    /// Putting an earlier version back into an environment without the gates.
    EmergencyRollback,
    /// Replacing the promotion policy or the risk taxonomy.
    PolicyEdit,
    /// Assessing a project's risks and editing its register.
    RiskEdit,
    /// Attesting that a compliance control holds for a project (statement, optional file).
    ControlAttest,
    /// Reading and verifying the audit trail.
    AuditRead,
    /// Listing identities and their roles.
    IdentityRead,
    /// Creating identities, granting and revoking roles, managing others' tokens.
    IdentityAdmin,
    /// Creating, listing and revoking one's own tokens.
    OwnTokens,
    /// Sending prediction logs and labels of a project's models.
    Ingest,
    /// Adding and removing a model's monitors (thresholds that open incidents).
    MonitorEdit,
    /// Setting how a model is monitored (`PUT …/monitor`: window, task, excluded columns,
    /// sensitive attributes).
    MonitorConfigure,
    /// Switching one of the tier's default monitors off for a model: it lowers the bar the
    /// tier sets, so it is the risk function's call (and never the model's author's).
    MonitorDefaults,
    /// Acknowledging and resolving incidents.
    IncidentManage,
    /// Adding and removing a project's webhooks (their secrets sign notifications).
    WebhookEdit,
}

impl Operation {
    /// Every operation a request can ask for (not [`Operation::System`]).
    pub const REQUESTABLE: [Operation; 24] = [
        Operation::ProjectCreate,
        Operation::ProjectRead,
        Operation::ProjectUpdate,
        Operation::DatasetPush,
        Operation::ModelRegister,
        Operation::RegistryRead,
        Operation::RegistryAnnotate,
        Operation::EvidenceAdd,
        Operation::PromotionRequest,
        Operation::PromotionDecide,
        Operation::EmergencyRollback,
        Operation::PolicyEdit,
        Operation::RiskEdit,
        Operation::ControlAttest,
        Operation::AuditRead,
        Operation::IdentityRead,
        Operation::IdentityAdmin,
        Operation::OwnTokens,
        Operation::Ingest,
        Operation::MonitorEdit,
        Operation::MonitorConfigure,
        Operation::MonitorDefaults,
        Operation::IncidentManage,
        Operation::WebhookEdit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::System => "system",
            Operation::ProjectCreate => "project.create",
            Operation::ProjectRead => "project.read",
            Operation::ProjectUpdate => "project.update",
            Operation::DatasetPush => "dataset.push",
            Operation::ModelRegister => "model.register",
            Operation::RegistryRead => "registry.read",
            Operation::RegistryAnnotate => "registry.annotate",
            Operation::EvidenceAdd => "evidence.add",
            Operation::PromotionRequest => "promotion.request",
            Operation::PromotionDecide => "promotion.decide",
            Operation::EmergencyRollback => "model.rollback",
            Operation::PolicyEdit => "policy.edit",
            Operation::RiskEdit => "risk.edit",
            Operation::ControlAttest => "control.attest",
            Operation::AuditRead => "audit.read",
            Operation::IdentityRead => "identity.read",
            Operation::IdentityAdmin => "identity.admin",
            Operation::OwnTokens => "token.own",
            Operation::Ingest => "monitor.ingest",
            Operation::MonitorEdit => "monitor.edit",
            Operation::MonitorConfigure => "monitor.configure",
            Operation::MonitorDefaults => "monitor.defaults_off",
            Operation::IncidentManage => "incident.manage",
            Operation::WebhookEdit => "webhook.edit",
        }
    }

    /// Operations that only make sense everywhere at once: a role scoped to one project
    /// never grants them.
    pub fn is_global(self) -> bool {
        matches!(
            self,
            Operation::ProjectCreate
                | Operation::PolicyEdit
                | Operation::AuditRead
                | Operation::IdentityRead
                | Operation::IdentityAdmin
        )
    }
}

/// The role × operation matrix: whether `role` may perform `op`. Admin may do everything;
/// auditors and viewers change nothing; `ingest` only sends monitoring data (issue 7).
pub fn allows(role: Role, op: Operation) -> bool {
    use Operation as O;
    use Role as R;
    match op {
        O::System => false,
        O::OwnTokens => true,
        O::Ingest => matches!(role, R::Admin | R::Ingest),
        _ if role == R::Admin => true,
        O::ProjectRead | O::RegistryRead => role != R::Ingest,
        O::ProjectCreate => matches!(role, R::RiskOfficer | R::DataScientist),
        O::ProjectUpdate | O::EmergencyRollback | O::PolicyEdit | O::RiskEdit => role == R::RiskOfficer,
        O::DatasetPush | O::ModelRegister | O::PromotionRequest => role == R::DataScientist,
        O::RegistryAnnotate => matches!(role, R::RiskOfficer | R::Validator | R::DataScientist),
        O::EvidenceAdd => matches!(role, R::Validator | R::DataScientist),
        O::PromotionDecide => matches!(role, R::RiskOfficer | R::Validator | R::Committee),
        O::ControlAttest => matches!(role, R::RiskOfficer | R::Validator),
        O::AuditRead => matches!(role, R::RiskOfficer | R::Auditor),
        O::IdentityRead => role == R::Auditor,
        O::MonitorEdit | O::MonitorConfigure => matches!(role, R::RiskOfficer | R::DataScientist),
        O::MonitorDefaults => role == R::RiskOfficer,
        O::IncidentManage => matches!(role, R::RiskOfficer | R::Validator | R::DataScientist),
        O::WebhookEdit => role == R::RiskOfficer,
        O::IdentityAdmin => false,
    }
}

/// Where an operation applies: everywhere, or within one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Global,
    Project(&'a str),
}

/// Proof that a permission check passed for one operation by one actor.
#[derive(Debug, Clone)]
pub struct Permit {
    actor: String,
    operation: Operation,
}

impl Permit {
    /// riskops acting for itself (bootstrap); never reachable from a request.
    pub(crate) fn system() -> Self {
        Permit { actor: "system".to_string(), operation: Operation::System }
    }

    /// riskops's own permit held in `actor`'s name, for tests of the layers below the
    /// services (the store's conformance tests record events of every kind without a request).
    #[cfg(feature = "testing")]
    pub fn system_for_tests(actor: &str) -> Self {
        Permit { actor: actor.to_string(), operation: Operation::System }
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn operation(&self) -> Operation {
        self.operation
    }
}

impl Principal {
    /// Whether one of the principal's bindings grants `op` in `scope`.
    pub fn may(&self, op: Operation, scope: Scope<'_>) -> bool {
        self.roles().iter().any(|b| {
            allows(b.role, op)
                && match (&b.project, scope) {
                    (None, _) => true,
                    (Some(_), _) if op.is_global() => false,
                    // One's own tokens belong to no project: a role in any project grants them.
                    (Some(_), _) if op == Operation::OwnTokens => true,
                    (Some(bound), Scope::Project(p)) => bound == p,
                    (Some(_), Scope::Global) => false,
                }
        })
    }

    /// The roles the principal holds in `project` (global bindings included).
    pub fn roles_in(&self, project: &str) -> Vec<Role> {
        let mut roles: Vec<Role> =
            self.roles().iter().filter(|b| b.project.as_deref().is_none_or(|p| p == project)).map(|b| b.role).collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

/// The one place where permissions are decided.
pub fn authorize(principal: &Principal, operation: Operation, scope: Scope<'_>) -> Result<Permit> {
    if principal.may(operation, scope) {
        return Ok(Permit { actor: principal.name().to_string(), operation });
    }
    let place = match scope {
        Scope::Project(p) if !operation.is_global() => format!(" in project {p:?}"),
        _ => String::new(),
    };
    Err(Error::forbidden(format!(
        "{} may not {}{place}: none of its roles ({}) grants it",
        principal.name(),
        operation.as_str(),
        principal.roles().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )))
}

/// What a listing may show: the caller may perform `op` somewhere, and sees the projects
/// where it may.
pub struct Visibility<'a> {
    principal: &'a Principal,
    op: Operation,
}

impl Visibility<'_> {
    pub fn sees(&self, project: &str) -> bool {
        self.principal.may(self.op, Scope::Project(project))
    }
}

/// For listings across projects: succeeds if `op` is granted in at least one project.
pub fn authorize_listing(principal: &Principal, op: Operation) -> Result<Visibility<'_>> {
    let anywhere = principal.roles().iter().any(|b| allows(b.role, op));
    if !anywhere {
        authorize(principal, op, Scope::Global)?;
    }
    Ok(Visibility { principal, op })
}

/// The matrix as a Markdown table (`docs/permissions.md` holds this exact text).
pub fn matrix_markdown() -> String {
    let mut out = String::from("| operation |");
    for r in Role::ALL {
        out.push_str(&format!(" {r} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    out.push('\n');
    for op in Operation::REQUESTABLE {
        let scope = if op.is_global() { " (global)" } else { "" };
        out.push_str(&format!("| `{}`{scope} |", op.as_str()));
        for r in Role::ALL {
            out.push_str(if allows(r, op) { " ✔ |" } else { " · |" });
        }
        out.push('\n');
    }
    out
}

/// Prefix that makes riskops tokens recognisable to secret scanners.
pub const TOKEN_PREFIX: &str = "rsk_";

/// A fresh random API token: `rsk_` and 64 hex digits (256 bits from the OS).
pub fn generate_token() -> Result<Secret<String>> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("no randomness from the OS: {e}")))?;
    Ok(Secret::new(format!("{TOKEN_PREFIX}{}", hex(&bytes))))
}

/// Tokens are stored only as this hash. They carry 256 bits of entropy, so a fast hash is
/// enough: nobody can guess a preimage, and lookups stay cheap on every request.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Checks a token chosen by an operator (the bootstrap token).
pub fn validate_chosen_token(token: &str) -> Result<()> {
    if token.is_empty() || token.len() > 512 || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "bootstrap token",
            "must be 1 to 512 characters without spaces or control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_distinct_and_prefixed() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(a.expose().len(), TOKEN_PREFIX.len() + 64);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn roles_round_trip_and_unknown_is_invalid() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert_eq!(Role::parse("king").unwrap_err().field.as_deref(), Some("role"));
    }

    #[test]
    fn the_permissions_doc_shows_the_matrix_in_the_code() {
        let doc = include_str!("../../../docs/permissions.md");
        let table = matrix_markdown();
        assert!(doc.contains(&table), "docs/permissions.md is out of date; its table must be:\n{table}");
    }

    #[test]
    fn project_roles_grant_only_in_their_project_and_never_global_operations() {
        let p = Principal::authenticated(IdentityRecord {
            id: 1,
            name: "ds".into(),
            kind: IdentityKind::User,
            roles: vec![
                RoleBinding { role: Role::DataScientist, project: Some("credit".into()) },
                RoleBinding { role: Role::Auditor, project: Some("credit".into()) },
            ],
        });
        assert!(authorize(&p, Operation::ModelRegister, Scope::Project("credit")).is_ok());
        assert_eq!(
            authorize(&p, Operation::ModelRegister, Scope::Project("fraud")).unwrap_err().kind,
            crate::ErrorKind::Forbidden
        );
        assert!(authorize(&p, Operation::ProjectCreate, Scope::Global).is_err());
        assert!(authorize(&p, Operation::AuditRead, Scope::Global).is_err(), "audit.read is global only");
        assert!(authorize_listing(&p, Operation::RegistryRead).unwrap().sees("credit"));
        assert!(!authorize_listing(&p, Operation::RegistryRead).unwrap().sees("fraud"));
        assert!(authorize(&p, Operation::System, Scope::Global).is_err());
        assert!(authorize(&p, Operation::OwnTokens, Scope::Global).is_ok(), "one's own tokens belong to no project");
    }

    #[test]
    fn chosen_tokens_must_be_printable() {
        assert!(validate_chosen_token("s3cret-token").is_ok());
        assert!(validate_chosen_token("").is_err());
        assert!(validate_chosen_token("has space").is_err());
    }
}
