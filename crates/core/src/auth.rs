//! Identities, API tokens and permissions.
//!
//! A [`Principal`] can only be made by [`crate::Riskops::authenticate`], and a [`Permit`]
//! only by [`authorize`] (or, for start-up work, by the system itself). Every write to the
//! store needs an [`crate::audit::AuditRecord`], which can only be made from a `Permit`, so
//! a change that skipped the permission check does not compile.

use crate::error::{Error, Result};
use crate::secret::Secret;
use sha2::{Digest, Sha256};
use std::fmt;

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

/// Everything a caller can ask riskops to do. The role × operation matrix (governance)
/// decides which roles may do each; until it lands any authenticated identity may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Work riskops does on its own behalf at start-up (bootstrap, migrations).
    System,
    ProjectCreate,
    ProjectRead,
    DatasetPush,
    ModelRegister,
    RegistryRead,
    /// Tags and notes on existing versions.
    RegistryAnnotate,
    /// Reading and verifying the audit trail.
    AuditRead,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::System => "system",
            Operation::ProjectCreate => "project.create",
            Operation::ProjectRead => "project.read",
            Operation::DatasetPush => "dataset.push",
            Operation::ModelRegister => "model.register",
            Operation::RegistryRead => "registry.read",
            Operation::RegistryAnnotate => "registry.annotate",
            Operation::AuditRead => "audit.read",
        }
    }
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

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn operation(&self) -> Operation {
        self.operation
    }
}

/// The one place where permissions are decided.
pub fn authorize(principal: &Principal, operation: Operation) -> Result<Permit> {
    if operation == Operation::System {
        return Err(Error::forbidden("system operations cannot be requested"));
    }
    // Until roles are enforced (governance), every authenticated identity may do everything.
    Ok(Permit { actor: principal.name().to_string(), operation })
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
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
    fn chosen_tokens_must_be_printable() {
        assert!(validate_chosen_token("s3cret-token").is_ok());
        assert!(validate_chosen_token("").is_err());
        assert!(validate_chosen_token("has space").is_err());
    }
}
