//! The Store trait: everything riskops keeps, behind one interface with a SQLite and a
//! PostgreSQL implementation (crate `riskops-store`).
//!
//! Every method that changes state takes the [`AuditRecord`] of that change and must
//! append it to the audit chain (via [`crate::audit::seal`]) in the same transaction, so a
//! change and its record are committed together or not at all.

use crate::audit::{AuditEvent, AuditRecord};
use crate::auth::{IdentityKind, IdentityRecord, RoleBinding};
use crate::error::Result;
use crate::project::{NewProject, Project};
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
}

/// Everything the first start creates, applied atomically.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub admin: NewIdentity,
    pub default_project: NewProject,
    /// One record per change, in order.
    pub audit: Vec<AuditRecord>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn kind(&self) -> StoreKind;

    /// Applies `bootstrap` if no identity exists yet and returns true; otherwise changes
    /// nothing and returns false. Of two servers starting at once on one database, exactly
    /// one bootstraps.
    async fn bootstrap(&self, bootstrap: Bootstrap, at: OffsetDateTime) -> Result<bool>;

    /// The identity owning a token with this hash, if the token is neither revoked nor
    /// expired at `now`.
    async fn identity_by_token_hash(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<IdentityRecord>>;

    /// Creates a project; a name already taken is a conflict.
    async fn create_project(&self, project: NewProject, audit: AuditRecord, at: OffsetDateTime) -> Result<Project>;

    async fn list_projects(&self) -> Result<Vec<Project>>;

    async fn project(&self, name: &str) -> Result<Option<Project>>;

    /// Audit events with `seq > after_seq`, in order, at most `limit`.
    async fn audit_events(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEvent>>;
}
