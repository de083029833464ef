//! Health, identity and the server's public key.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    pub version: String,
    /// Where metadata is kept: `sqlite` or `postgres`.
    pub store: String,
}

/// Whether this server should be sent requests (`GET /readyz`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// `ready`; `not_ready` when the database or the artifact store does not answer;
    /// `draining` once the server was asked to stop (it still finishes what it has).
    pub status: String,
    /// `ok` or `unreachable` (the server's log says why).
    pub database: String,
    /// `ok` or `unreachable`.
    pub artifacts: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    pub name: String,
    /// `user` or `service_account`.
    pub kind: String,
    /// Each role as `ROLE` (every project) or `ROLE@PROJECT`.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SigningKeyInfo {
    /// Always `ed25519`.
    pub algorithm: String,
    /// The raw 32-byte public key, as 64 hex digits.
    pub public_key: String,
    /// First 16 hex digits of SHA-256 of the key: names the key in each signature.
    pub key_id: String,
}
