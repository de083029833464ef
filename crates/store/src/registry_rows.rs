//! Registry rows as both backends select them, and their conversion to domain types.
//! The SELECT lists are shared; only placeholders and WHERE clauses differ per backend.

use riskops_core::artifact::Digest;
use riskops_core::registry::{
    CodeRef, DataFormat, DatasetVersion, Endpoint, Framework, ModelInterface, ModelVersion, Protocol, Tags, VersionRef,
};
use riskops_core::{Error, Result};
use serde_json::Value;
use time::OffsetDateTime;

pub(crate) const DATASET_SELECT: &str = "SELECT d.name, p.name, v.version, v.digest, v.size, v.format, v.rows, \
     v.schema_json, v.profile_json, v.description, v.tags_json, v.created_at, v.created_by \
     FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id JOIN projects p ON p.id = d.project_id";

pub(crate) const MODEL_SELECT: &str = "SELECT m.name, p.name, v.version, v.digest, v.size, v.framework, \
     td.name, tv.version, vd.name, vv.version, v.code_repo, v.code_commit, v.params_json, v.metrics_json, \
     v.description, v.tags_json, v.author, v.created_at, v.signature_json, v.endpoint_url, v.endpoint_protocol \
     FROM model_versions v JOIN models m ON m.id = v.model_id JOIN projects p ON p.id = m.project_id \
     LEFT JOIN dataset_versions tv ON tv.id = v.training_version_id LEFT JOIN datasets td ON td.id = tv.dataset_id \
     LEFT JOIN dataset_versions vv ON vv.id = v.validation_version_id LEFT JOIN datasets vd ON vd.id = vv.dataset_id";

pub(crate) struct DatasetRow {
    pub name: String,
    pub project: String,
    pub version: i64,
    pub digest: String,
    pub size: i64,
    pub format: String,
    pub rows: i64,
    pub schema_json: String,
    pub profile_json: String,
    pub description: String,
    pub tags_json: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

impl DatasetRow {
    pub fn into_domain(self) -> Result<DatasetVersion> {
        Ok(DatasetVersion {
            version: to_u32(self.version)?,
            digest: Digest::parse(&self.digest)?,
            size: to_u64(self.size)?,
            format: DataFormat::parse(&self.format)?,
            rows: to_u64(self.rows)?,
            schema: parse_json("schema", &self.schema_json)?,
            profile: parse_json("profile", &self.profile_json)?,
            tags: parse_tags(&self.tags_json)?,
            name: self.name,
            project: self.project,
            description: self.description,
            created_at: self.created_at,
            created_by: self.created_by,
        })
    }
}

pub(crate) struct ModelRow {
    pub name: String,
    pub project: String,
    pub version: i64,
    pub digest: String,
    pub size: i64,
    pub framework: String,
    pub training: (Option<String>, Option<i64>),
    pub validation: (Option<String>, Option<i64>),
    pub code: (Option<String>, Option<String>),
    pub params_json: String,
    pub metrics_json: String,
    pub description: String,
    pub tags_json: String,
    pub author: String,
    pub created_at: OffsetDateTime,
    pub signature_json: Option<String>,
    /// Both or neither (`model register --endpoint`).
    pub endpoint: (Option<String>, Option<String>),
}

impl ModelRow {
    pub fn into_domain(self) -> Result<ModelVersion> {
        let link = |(name, version): (Option<String>, Option<i64>)| -> Result<Option<VersionRef>> {
            match (name, version) {
                (Some(n), Some(v)) => Ok(Some(VersionRef::exact(&n, to_u32(v)?))),
                _ => Ok(None),
            }
        };
        Ok(ModelVersion {
            version: to_u32(self.version)?,
            digest: Digest::parse(&self.digest)?,
            size: to_u64(self.size)?,
            framework: Framework::parse(&self.framework)?,
            training_data: link(self.training)?,
            validation_data: link(self.validation)?,
            code: match self.code {
                (Some(repo), Some(commit)) => Some(CodeRef { repo, commit }),
                _ => None,
            },
            params: parse_json("params", &self.params_json)?,
            metrics: parse_json("metrics", &self.metrics_json)?,
            tags: parse_tags(&self.tags_json)?,
            signature: match &self.signature_json {
                Some(text) => Some(ModelInterface::from_json(&parse_json("signature", text)?)?),
                None => None,
            },
            endpoint: match self.endpoint {
                (Some(url), Some(protocol)) => Some(Endpoint { url, protocol: Protocol::parse(&protocol)? }),
                _ => None,
            },
            name: self.name,
            project: self.project,
            description: self.description,
            author: self.author,
            created_at: self.created_at,
        })
    }
}

pub(crate) fn tags_json(tags: &Tags) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".into())
}

fn parse_tags(text: &str) -> Result<Tags> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("bad tags in store: {e}")))
}

fn parse_json(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("bad {what} JSON in store: {e}")))
}

fn to_u32(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::internal(format!("version {v} out of range in store")))
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::internal(format!("size {v} out of range in store")))
}

/// Sizes and counts go into BIGINT columns.
pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::invalid(what, "is too large"))
}

/// The error for a name that exists in another project. The owner is not named: the store
/// does not know whether the caller may see it (the service names it to those who may).
pub(crate) fn other_project(kind: &str, name: &str) -> Error {
    Error::conflict(format!("{kind} {name:?} belongs to another project; names are unique across projects"))
}

/// The versions table and owner table of a registry kind, and the owner's foreign key.
pub(crate) fn tables(kind: riskops_core::registry::Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        riskops_core::registry::Kind::Dataset => ("dataset_versions", "datasets", "dataset_id"),
        riskops_core::registry::Kind::Model => ("model_versions", "models", "model_id"),
    }
}

pub(crate) fn not_found(kind: riskops_core::registry::Kind, name: &str, version: u32) -> Error {
    Error::not_found(format!("no {} version {name}@{version}", kind.as_str()))
}

pub(crate) fn merged_tags(current: &str, added: &Tags) -> Result<Tags> {
    let mut tags = parse_tags(current)?;
    tags.extend(added.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(tags)
}
