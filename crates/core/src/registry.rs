//! The versioned registry: datasets and models, their immutable versions, and the links
//! between them (lineage).

use crate::artifact::Digest;
use crate::error::{Error, Result};
use crate::project::validate_name;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

/// `NAME` (the latest version) or `NAME@V`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRef {
    pub name: String,
    pub version: Option<u32>,
}

impl VersionRef {
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let (name, version) = match text.split_once('@') {
            None => (text, None),
            Some((name, v)) => {
                let v: u32 = v
                    .parse()
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or_else(|| Error::invalid(field, format!("{v:?} is not a version number (1, 2, …)")))?;
                (name, Some(v))
            }
        };
        validate_name(field, name)?;
        Ok(VersionRef { name: name.to_string(), version })
    }

    /// `NAME@V` when the version is known.
    pub fn exact(name: &str, version: u32) -> Self {
        VersionRef { name: name.to_string(), version: Some(version) }
    }
}

impl fmt::Display for VersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}@{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Free-form labels; keys follow the name rule, values are short text.
pub type Tags = BTreeMap<String, String>;

pub fn validate_tags(tags: &Tags) -> Result<()> {
    for (k, v) in tags {
        validate_name("tag", k)?;
        if v.len() > 256 {
            return Err(Error::invalid("tag", format!("the value of {k:?} is longer than 256 bytes")));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    Csv,
    Parquet,
    /// A profile document only (`riskops_data::profile::PROFILE_MAGIC`): a table profiled
    /// where it lives (by Spark, say) and pushed as its sketches. It serves drift against
    /// sketches; what needs rows (validation, exact drift) says it has none.
    Profile,
}

impl DataFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Parquet => "parquet",
            DataFormat::Profile => "profile",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "csv" => Ok(DataFormat::Csv),
            "parquet" => Ok(DataFormat::Parquet),
            "profile" => Ok(DataFormat::Profile),
            other => Err(Error::internal(format!("unknown data format {other:?} in store"))),
        }
    }
}

/// A dataset version to record: the file is already in the artifact store under `digest`.
#[derive(Debug, Clone)]
pub struct NewDatasetVersion {
    pub name: String,
    /// The project it lands in, decided once by the push's check (`PushPermit::project`).
    pub project: String,
    pub description: String,
    pub tags: Tags,
    pub digest: Digest,
    pub size: u64,
    pub format: DataFormat,
    pub rows: u64,
    /// `[{"name","dtype","type"}]`, typed as the drift engine types columns.
    pub schema: Value,
    /// Per-column statistics and mergeable sketches (see `riskops_data::profile`).
    pub profile: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatasetVersion {
    pub name: String,
    pub project: String,
    pub version: u32,
    pub digest: Digest,
    pub size: u64,
    pub format: DataFormat,
    pub rows: u64,
    pub schema: Value,
    pub profile: Value,
    pub description: String,
    pub tags: Tags,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// What creating a version did: a new version, or the existing one with the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    New(T),
    Existing(T),
}

impl<T> Created<T> {
    pub fn into_inner(self) -> T {
        match self {
            Created::New(t) | Created::Existing(t) => t,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, Created::New(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Onnx,
    Sklearn,
    Xgboost,
    Lightgbm,
    Pytorch,
    Other,
}

impl Framework {
    pub const ALL: [Framework; 6] = [
        Framework::Onnx,
        Framework::Sklearn,
        Framework::Xgboost,
        Framework::Lightgbm,
        Framework::Pytorch,
        Framework::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Onnx => "onnx",
            Framework::Sklearn => "sklearn",
            Framework::Xgboost => "xgboost",
            Framework::Lightgbm => "lightgbm",
            Framework::Pytorch => "pytorch",
            Framework::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Framework::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            let known: Vec<_> = Framework::ALL.iter().map(|f| f.as_str()).collect();
            Error::invalid("framework", format!("unknown framework {s:?}; one of {}", known.join(", ")))
        })
    }
}

/// Where a model's code is: a repository and a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRef {
    pub repo: String,
    pub commit: String,
}

impl CodeRef {
    pub fn validate(&self) -> Result<()> {
        if self.repo.is_empty() || self.repo.len() > 1024 || self.repo.chars().any(char::is_whitespace) {
            return Err(Error::invalid(
                "code_repo",
                "must be a repository URL without spaces, at most 1024 characters",
            ));
        }
        let commit_ok = (7..=64).contains(&self.commit.len()) && self.commit.bytes().all(|b| b.is_ascii_hexdigit());
        if !commit_ok {
            return Err(Error::invalid("code_commit", "must be a commit hash: 7 to 64 hex digits"));
        }
        Ok(())
    }
}

/// A model's input/output signature (not the cryptographic one of `promotion`): what it
/// takes and gives, read from its artifact when it is registered (ONNX models;
/// other frameworks have none). Shown by `model show`; `predict` maps dataset columns to the
/// inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInterface {
    pub inputs: Vec<InterfaceInput>,
    /// The output holding the predicted label (classifiers) or value (regressors).
    pub label: String,
    /// The output holding class probabilities, and the class of each column.
    pub probabilities: Option<(String, Vec<String>)>,
    /// `classification` or `regression`.
    pub task: String,
}

/// One model input: a tensor whose first dimension is the batch (`None`: not fixed).
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceInput {
    pub name: String,
    /// `float`, `double`, `int64`, `string`, …
    pub elem_type: String,
    pub shape: Vec<Option<i64>>,
}

impl ModelInterface {
    /// The stored (and shown) form.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "inputs": self.inputs.iter().map(|i| serde_json::json!({
                "name": i.name, "type": i.elem_type, "shape": i.shape,
            })).collect::<Vec<_>>(),
            "outputs": {
                "label": self.label,
                "probabilities": self.probabilities.as_ref().map(|(name, classes)| serde_json::json!({
                    "name": name, "classes": classes,
                })),
            },
            "task": self.task,
            "columns": self.column_rule(),
        })
    }

    /// How dataset columns map to the inputs (`predict`): a single input wider than one
    /// column takes the feature columns in file order; otherwise one column per input, by name.
    pub fn column_rule(&self) -> &'static str {
        match self.inputs.as_slice() {
            [only] if only.shape.get(1).is_none_or(|d| *d != Some(1)) => "features_in_order",
            _ => "one_per_input",
        }
    }

    /// Reads the stored form back.
    pub fn from_json(v: &Value) -> Result<ModelInterface> {
        let bad = || Error::internal("bad model signature in store");
        let text = |v: &Value| v.as_str().map(str::to_string).ok_or_else(bad);
        let inputs = v["inputs"]
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|i| {
                Ok(InterfaceInput {
                    name: text(&i["name"])?,
                    elem_type: text(&i["type"])?,
                    shape: i["shape"].as_array().ok_or_else(bad)?.iter().map(Value::as_i64).collect(),
                })
            })
            .collect::<Result<_>>()?;
        let probabilities = match &v["outputs"]["probabilities"] {
            Value::Null => None,
            p => Some((
                text(&p["name"])?,
                p["classes"].as_array().ok_or_else(bad)?.iter().map(text).collect::<Result<_>>()?,
            )),
        };
        Ok(ModelInterface { inputs, label: text(&v["outputs"]["label"])?, probabilities, task: text(&v["task"])? })
    }
}

/// How riskops talks to a model served over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The Open Inference Protocol v2 (KServe, Triton, MLServer): the endpoint is the model's
    /// URL, `…/v2/models/NAME[/versions/V]`; metadata is a GET of it, scoring a POST to `/infer`.
    V2,
    /// MLflow's scoring server: the endpoint is the server's URL; scoring is a POST to
    /// `/invocations` with `{"dataframe_split":{"columns","data"}}`.
    Mlflow,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::V2, Protocol::Mlflow];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::V2 => "v2",
            Protocol::Mlflow => "mlflow",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::invalid("protocol", format!("unknown protocol {s:?}; one of v2, mlflow")))
    }
}

/// A model served over HTTP instead of an artifact riskops runs itself. Its artifact is
/// [`Endpoint::descriptor`]: the version's digest then covers where it is served, so a
/// deployment's signature and the integrity checks hold for endpoint models too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Without a trailing slash.
    pub url: String,
    pub protocol: Protocol,
}

impl Endpoint {
    /// Checks the URL's form (http or https, no credentials, no query) before anything is asked.
    pub fn new(url: &str, protocol: Protocol) -> Result<Endpoint> {
        let url = url.trim().trim_end_matches('/');
        let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
            return Err(Error::invalid("endpoint", "must be an http:// or https:// URL"));
        };
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "endpoint",
                "must be a URL with a host, without spaces, at most 2048 characters",
            ));
        }
        // A password in the URL would be stored, shown and audited: refused.
        if host.contains('@') || url.contains('?') || url.contains('#') {
            return Err(Error::invalid("endpoint", "must not hold credentials, a query or a fragment"));
        }
        if protocol == Protocol::V2 && !rest.contains("/v2/models/") {
            return Err(Error::invalid(
                "endpoint",
                "a v2 endpoint is the model's URL, e.g. http://host:8080/v2/models/NAME (or …/NAME/versions/V)",
            ));
        }
        Ok(Endpoint { url: url.to_string(), protocol })
    }

    /// The bytes stored as the version's artifact.
    pub fn descriptor(&self) -> Vec<u8> {
        let v = serde_json::json!({"kind": "riskops-endpoint-v1", "protocol": self.protocol.as_str(), "url": self.url});
        v.to_string().into_bytes()
    }
}

/// A model version to record; the artifact is already stored under `digest`.
#[derive(Debug, Clone)]
pub struct NewModelVersion {
    pub name: String,
    /// The project it lands in, decided once by the registration's check
    /// (`PushPermit::project`).
    pub project: String,
    pub description: String,
    pub framework: Framework,
    pub digest: Digest,
    pub size: u64,
    /// Resolved to exact versions by the service.
    pub training_data: Option<VersionRef>,
    pub validation_data: Option<VersionRef>,
    pub code: Option<CodeRef>,
    pub params: Value,
    pub metrics: Value,
    pub tags: Tags,
    /// Set by the service from the artifact (see [`ModelInterface`]).
    pub signature: Option<ModelInterface>,
    /// Where the model is served, for a model riskops calls over HTTP.
    pub endpoint: Option<Endpoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    pub name: String,
    pub project: String,
    pub version: u32,
    pub digest: Digest,
    pub size: u64,
    pub framework: Framework,
    pub training_data: Option<VersionRef>,
    pub validation_data: Option<VersionRef>,
    pub code: Option<CodeRef>,
    pub params: Value,
    pub metrics: Value,
    pub description: String,
    pub tags: Tags,
    pub signature: Option<ModelInterface>,
    /// Where the model is served, for a model riskops calls over HTTP; None: its artifact is the model.
    pub endpoint: Option<Endpoint>,
    pub author: String,
    pub created_at: OffsetDateTime,
}

/// Which registry a version belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dataset,
    Model,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dataset => "dataset",
            Kind::Model => "model",
        }
    }
}

/// A note added to a version after it was made (versions themselves never change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// Longest accepted note.
pub const MAX_NOTE_LEN: usize = 16 * 1024;

/// One row of a listing: a dataset or model with its newest version.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub project: String,
    pub latest_version: u32,
    pub versions: u32,
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_refs_parse_and_print() {
        assert_eq!(VersionRef::parse("d", "sales@3").unwrap(), VersionRef::exact("sales", 3));
        assert_eq!(VersionRef::parse("d", "sales").unwrap().version, None);
        assert_eq!(VersionRef::exact("sales", 3).to_string(), "sales@3");
        for bad in ["sales@0", "sales@x", "sales@", "bad name@1", "@2"] {
            assert!(VersionRef::parse("training_data", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_are_checked_before_anything_is_asked() {
        let ok = Endpoint::new("http://127.0.0.1:8080/v2/models/credit/", Protocol::V2).unwrap();
        assert_eq!(ok.url, "http://127.0.0.1:8080/v2/models/credit");
        assert!(Endpoint::new("https://scoring.example", Protocol::Mlflow).is_ok());
        for (bad, p) in [
            ("ftp://x/v2/models/a", Protocol::V2),
            ("http://x:8080", Protocol::V2),
            ("http://user:pw@x/v2/models/a", Protocol::V2),
            ("http://x/invocations?key=1", Protocol::Mlflow),
            ("http:///v2/models/a", Protocol::V2),
        ] {
            assert_eq!(Endpoint::new(bad, p).unwrap_err().field.as_deref(), Some("endpoint"), "{bad}");
        }
        assert!(Protocol::parse("v3").is_err());
    }

    #[test]
    fn code_refs_need_a_commit_hash() {
        assert!(CodeRef { repo: "https://git.example/m.git".into(), commit: "a1b2c3d".into() }.validate().is_ok());
        assert!(CodeRef { repo: "x".into(), commit: "main".into() }.validate().is_err());
        assert!(CodeRef { repo: "has space".into(), commit: "a1b2c3d".into() }.validate().is_err());
    }
}
