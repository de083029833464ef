//! Monitoring services: a model's window settings, prediction logs and late labels in,
//! windows out.
//!
//! A batch is partial: each record that parses and fits the model's input schema is
//! accepted, each other one is answered with its reasons (and counted by reason in the
//! window its timestamp falls in, when its version is known), and a record id seen before
//! counts once. A feature value of the wrong kind does not refuse a record: the window
//! counts it as a type violation. Accepted records are folded into their window's state
//! (bounded sketches) and their outcome fields kept for late labels, in one transaction: a
//! 2xx means it is committed. Two batches touching one window at once are serialised by the
//! window's revision (read, merge, write if unchanged, else retry).
//!
//! Submodules follow the seams: `config` (how a model is monitored), `ingest` (logs and
//! labels in), `segments` (raw records kept) and `reports` (windows out). This module holds
//! what they share: the ingest permit and the references records are checked against.

mod attribution;
mod config;
mod estimates;
mod exact;
mod ingest;
mod recent;
mod reports;
mod segments;
mod series;
mod window_drift;

pub(super) use attribution::ExplanationCache;
pub use attribution::{ArtifactFiles, AttributionJob, WindowAttribution, WindowExplainer};
pub use config::MonitorConfig;
pub(super) use estimates::FittedCache;
pub use estimates::WindowOutputs;
pub(super) use exact::PreparedCache;
pub use exact::RecordTables;
pub use ingest::{IngestOutcome, MAX_BATCH};
pub(super) use reports::WindowReports;
pub use segments::{SegmentFile, SegmentWriter};
pub use series::WindowPoint;
pub use window_drift::WindowDrift;

use super::{RequestContext, Riskops};
use crate::auth::{self, Operation, Permit, Scope};
use crate::error::{Error, Result};
use crate::governance::Environment;
use crate::project::validate_name;
use crate::registry::{DatasetVersion, ModelVersion, VersionRef};
use riskops_data::profile::TableProfile;
use riskops_monitor::{Conformer, InputSchema, SchemaOptions};
use std::collections::HashMap;
use std::sync::Arc;

/// A model version's input schema and reference, made once per batch.
struct Reference {
    schema: InputSchema,
    profile: Arc<TableProfile>,
    /// Puts the batch's records in schema order.
    conformer: Conformer,
}

/// Decoded reference profiles by dataset version.
pub(super) type ProfileCache = std::sync::Mutex<HashMap<(String, u32), Arc<TableProfile>>>;

/// Per model, the turn batches take to merge into stored windows and commit.
pub(super) type IngestTurns = std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// Decoded reference profiles kept at most; past it the cache starts over.
const MAX_CACHED_PROFILES: usize = 64;

/// The right to send logs or labels for one model, made only by [`Riskops::check_ingest`].
pub struct IngestPermit {
    permit: Permit,
    model: String,
}

impl Riskops {
    /// Checks that the caller may send logs or labels for `model` in `project`: the server
    /// asks before it reads a batch's body, so nobody without the right makes it read one.
    /// The answer is what ingestion then takes, so the check is made once per batch.
    pub async fn check_ingest(&self, ctx: &RequestContext, project: &str, model: &str) -> Result<IngestPermit> {
        validate_name("project", project)?;
        validate_name("model", model)?;
        let permit = auth::authorize(&ctx.principal, Operation::Ingest, Scope::Project(project))?;
        self.latest_in_project(project, model).await?;
        Ok(IngestPermit { permit, model: model.to_string() })
    }

    async fn reference(&self, version: &ModelVersion, config: &MonitorConfig) -> Result<Reference> {
        let link = version.validation_data.as_ref().or(version.training_data.as_ref()).ok_or_else(|| {
            Error::invalid(
                "version",
                format!(
                    "{}@{} has no training or validation dataset to compare production with; register it with --training-data",
                    version.name, version.version
                ),
            )
        })?;
        let profile = self.reference_profile(link).await?;
        let options = SchemaOptions {
            exclude: config.excluded(),
            task: config.task.clone(),
            sensitive: config.sensitive.clone(),
        };
        Ok(Reference {
            schema: InputSchema::from_profile(&profile, &options),
            profile,
            conformer: Conformer::default(),
        })
    }

    /// The dataset version a model version's production data is compared with: its
    /// validation data, else its training data.
    async fn reference_dataset(&self, version: &ModelVersion) -> Result<DatasetVersion> {
        let link = version
            .validation_data
            .as_ref()
            .or(version.training_data.as_ref())
            .ok_or_else(|| Error::invalid("version", "no training or validation dataset"))?;
        self.store
            .dataset_version(&link.name, link.version)
            .await?
            .ok_or_else(|| Error::internal(format!("dataset {link} vanished")))
    }

    /// The decoded profile of a dataset version, from the cache when it has been read before.
    async fn reference_profile(&self, link: &VersionRef) -> Result<Arc<TableProfile>> {
        let key = link.version.map(|v| (link.name.clone(), v));
        if let Some(key) = &key
            && let Some(p) = self.reference_profiles.lock().ok().and_then(|c| c.get(key).cloned())
        {
            return Ok(p);
        }
        let dataset = self
            .store
            .dataset_version(&link.name, link.version)
            .await?
            .ok_or_else(|| Error::internal(format!("dataset {link} vanished")))?;
        let profile = Arc::new(TableProfile::from_json(&dataset.profile).map_err(Error::internal)?);
        if let Ok(mut cache) = self.reference_profiles.lock() {
            if cache.len() >= MAX_CACHED_PROFILES {
                cache.clear();
            }
            cache.insert((dataset.name.clone(), dataset.version), profile.clone());
        }
        Ok(profile)
    }

    /// A version's reference, made once per request; `None` when the version does not exist.
    async fn cached_reference<'a>(
        &self,
        cache: &'a mut HashMap<u32, Reference>,
        model: &str,
        version: u32,
        config: &MonitorConfig,
    ) -> Result<Option<&'a mut Reference>> {
        if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(version) {
            let Some(v) = self.store.model_version(model, Some(version)).await? else { return Ok(None) };
            slot.insert(self.reference(&v, config).await?);
        }
        Ok(cache.get_mut(&version))
    }

    async fn production_version(&self, model: &str) -> Result<Option<u32>> {
        Ok(self
            .store
            .deployments(model)
            .await?
            .into_iter()
            .find(|d| d.environment == Environment::Production && d.until.is_none())
            .map(|d| d.version))
    }
}
