//! Rows as both backends select them, one struct per table row with named fields, and their
//! conversion to domain types. Each backend decodes a row into these (`from_sqlite` beside the
//! SQLite SQL, `from_postgres` beside the PostgreSQL SQL); what a column means is decided here
//! once. The column lists are shared; placeholders and WHERE clauses differ per backend.

pub(crate) mod alerting;
pub(crate) mod governance;

use riskops_core::context::ProjectContext;
use riskops_core::governance::Tier;
use riskops_core::project::Project;

use riskops_core::{Error, Result};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time as a backend stores it: SQLite as RFC 3339 text, PostgreSQL as
/// `TIMESTAMPTZ` (already an [`OffsetDateTime`]).
pub(crate) trait StoredTime {
    fn into_time(self) -> Result<OffsetDateTime>;
}

impl StoredTime for OffsetDateTime {
    fn into_time(self) -> Result<OffsetDateTime> {
        Ok(self)
    }
}

impl StoredTime for String {
    fn into_time(self) -> Result<OffsetDateTime> {
        parse_time(&self)
    }
}

/// Reads a time stored as RFC 3339 text (SQLite).
pub(crate) fn parse_time(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| Error::internal(format!("bad time {text:?} in store: {e}")))
}

/// An optional stored time.
pub(crate) fn into_time<T: StoredTime>(t: Option<T>) -> Result<Option<OffsetDateTime>> {
    t.map(StoredTime::into_time).transpose()
}

/// A JSON column read back.
pub(crate) fn json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("bad JSON in store: {e}")))
}

pub(crate) const PROJECT_COLUMNS: &str = "id, name, description, created_at, created_by, tier, context_json";

/// A row of `projects`, in the order of [`PROJECT_COLUMNS`]; `T` is the backend's time.
pub(crate) struct ProjectRow<T> {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_at: T,
    pub created_by: String,
    /// The tier override, if any.
    pub tier: Option<String>,
    pub context_json: Option<String>,
}

impl<T: StoredTime> ProjectRow<T> {
    pub fn into_domain(self) -> Result<Project> {
        let name = self.name;
        let context = self
            .context_json
            .map(|c| {
                let json =
                    serde_json::from_str(&c).map_err(|e| Error::internal(format!("project {name}: context: {e}")))?;
                ProjectContext::from_json(&json)
            })
            .transpose()?;
        Ok(Project {
            id: self.id,
            description: self.description,
            created_at: self.created_at.into_time()?,
            created_by: self.created_by,
            tier_override: self.tier.map(|t| Tier::parse("tier", &t)).transpose()?,
            context,
            name,
        })
    }
}
