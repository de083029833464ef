//! The riskops wire contract: what the HTTP API takes and answers, as types.
//!
//! The server's handlers answer with these types and the CLI reads answers into them, so
//! a change of shape is a compile error on both sides rather than a `v["rows"]` that
//! quietly reads null. Each type derives `ToSchema`, so `openapi.json` describes exactly
//! what is sent (a test checks real answers against it). This crate knows nothing of the
//! domain: the server converts riskops-core's types into these (private functions beside
//! the handlers: the orphan rule forbids `From` impls there), and core builds no API shapes.
//!
//! Times are RFC 3339 strings in UTC. A free-form JSON document (a policy, a taxonomy, a
//! monitor's evidence) is a [`Document`]: its shape is validated by core, field by field.

pub mod alerting;
pub mod annotations;
pub mod audit;
pub mod compliance;
pub mod error;
pub mod explain;
pub mod governance;
pub mod identities;
pub mod lineage;
pub mod monitoring;
pub mod projects;
pub mod registry;
pub mod risk;
pub mod system;
pub mod validation;
pub mod window;

pub use error::{ErrorBody, ErrorDetail};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A free-form JSON document whose fields core validates (and names when refusing one):
/// policies, taxonomies, monitor settings, evidence of an incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct Document(pub serde_json::Value);
