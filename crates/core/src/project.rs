//! Projects (use cases) and the names riskops accepts for things.

use crate::context::ProjectContext;
use crate::error::{Error, Result};
use crate::governance::Tier;
use time::OffsetDateTime;

/// The project every riskops installation starts with.
pub const DEFAULT_PROJECT: &str = "default";

/// Longest accepted name, so names fit in paths, URLs and log lines.
pub const MAX_NAME_LEN: usize = 128;

/// Checks a name of a project, dataset or model: 1 to 128 characters from
/// `[A-Za-z0-9._-]`, not starting with `.` or `-` (so it is never a hidden file or a flag).
pub fn validate_name(field: &str, name: &str) -> Result<()> {
    let bad_char = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        Err(Error::invalid(field, format!("must be 1 to {MAX_NAME_LEN} characters long")))
    } else if let Some(c) = bad_char {
        Err(Error::invalid(field, format!("{c:?} is not allowed; use letters, digits, '.', '_' and '-'")))
    } else if name.starts_with(['.', '-']) {
        Err(Error::invalid(field, "must not start with '.' or '-'"))
    } else {
        Ok(())
    }
}

/// Longest accepted free-text description.
pub const MAX_DESCRIPTION_LEN: usize = 4096;

/// Checks a free-text description (projects, dataset and model versions).
pub fn validate_description(text: &str) -> Result<()> {
    if text.len() > MAX_DESCRIPTION_LEN {
        return Err(Error::invalid("description", format!("must be at most {MAX_DESCRIPTION_LEN} bytes")));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    pub name: String,
    pub description: String,
}

impl NewProject {
    pub fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        validate_description(&self.description)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    /// A tier set by a risk officer, which wins over the assessed one.
    pub tier_override: Option<Tier>,
    /// What the project is for; `None` until described.
    pub context: Option<ProjectContext>,
}

impl Project {
    /// The project as the audit trail records it.
    pub fn audit_json(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "description": self.description})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rule() {
        for ok in ["default", "credit-risk_v2", "a", "A.b.C", &"x".repeat(MAX_NAME_LEN)] {
            assert!(validate_name("name", ok).is_ok(), "{ok}");
        }
        for bad in
            ["", "has space", "semi;colon", "slash/name", ".hidden", "-flag", "ünï", &"x".repeat(MAX_NAME_LEN + 1)]
        {
            let err = validate_name("name", bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("name"), "{bad}");
        }
    }
}
