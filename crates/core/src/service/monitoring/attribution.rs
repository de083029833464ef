//! Attribution drift: a window's explanation sample explained by the model (mean |SHAP| per
//! feature) and compared with the same on the version's validation data, for the report's
//! `explain` section.
//!
//! Running the model is the server's ([`WindowExplainer`]), as for produced evidence. The work
//! happens when a report is made (the alerting task makes one when a window closes; the API
//! when asked), never while ingesting: ingestion only keeps the sample. A section is cached
//! by the window's identity and its sample's fingerprint, so a closed window is explained once
//! per process and an open one again only when its sample changed.

use super::{MonitorConfig, Riskops};
use crate::error::{Error, ErrorKind, Result};
use crate::registry::DatasetVersion;
use crate::registry::ModelVersion;
use riskops_monitor::{Explanation, Value, WindowState};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A window's sampled records to explain, with what they are compared against.
#[derive(Debug, Clone)]
pub struct AttributionJob {
    pub model: ModelVersion,
    /// The version's validation data (else its training data): the background SHAP
    /// integrates over and the reference whose attributions the window's are compared with.
    pub reference: DatasetVersion,
    /// The two artifacts as local files, verified; `None` when the explainer said it has
    /// what it needs of them ([`WindowExplainer::prepared`]).
    pub files: Option<ArtifactFiles>,
    /// Reference columns that are not model inputs (the monitor configuration's `exclude`).
    pub exclude: Vec<String>,
    /// The sample's columns, and its rows in that order (`Null` for missing).
    pub features: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Per row, the output it was logged with (positive-class score, or the predicted number).
    pub outputs: Vec<Option<f64>>,
}

#[derive(Debug, Clone)]
pub struct ArtifactFiles {
    pub model: PathBuf,
    pub reference: PathBuf,
}

/// Mean |SHAP| per feature of the window's rows and of the reference's.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowAttribution {
    pub window: Vec<(String, f64)>,
    pub reference: Vec<(String, f64)>,
    /// The share of the logged outputs the attributions do not account for (see
    /// `Explanation::unexplained`).
    pub unexplained: Option<f64>,
    pub reference_rows: u64,
    pub method: String,
    pub output_space: String,
}

/// Explains window samples: the server's runs riskops-model's TreeSHAP.
pub trait WindowExplainer: Send + Sync {
    /// Whether the explainer already holds what the job's model and reference give (loaded
    /// model, background, reference attributions), so the caller need not read and hash the
    /// artifacts again: for a large validation file that would cost more than the SHAP.
    fn prepared(&self, job: &AttributionJob) -> bool;

    /// `Err` with kind `Invalid` says why this model's windows cannot be explained (served
    /// over HTTP, not a tree ensemble, data that does not fit); that reason is reported.
    fn explain_window(&self, job: &AttributionJob) -> Result<WindowAttribution>;
}

/// Computed sections by (model, version, window start, sample fingerprint).
pub(in crate::service) type ExplanationCache =
    Mutex<HashMap<(String, u32, i64, u64), Arc<Result<Explanation, String>>>>;

/// Sections kept at most; past it the cache starts over.
const MAX_CACHED_EXPLANATIONS: usize = 4096;

impl Riskops {
    /// The `explain` section of a window: `None` while the model's `explain_sample` is 0
    /// (switched off means no TreeSHAP work, for old windows' samples too).
    pub(super) async fn window_explanation(
        &self,
        version: &ModelVersion,
        start: i64,
        state: &WindowState,
        config: &MonitorConfig,
    ) -> Option<Result<Explanation, String>> {
        let sample = &state.explain_sample;
        if config.explain_sample == 0 {
            return None;
        }
        if sample.is_empty() {
            return Some(Err(
                "the window kept no records to explain (they arrived before explain_sample was set)".into()
            ));
        }
        let key = (version.name.clone(), version.version, start, sample.fingerprint());
        if let Some(hit) = self.explanations.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Some((*hit).clone());
        }
        let answer = match self.explain_sample(version, state, config).await {
            Ok(a) => {
                let mut e = Explanation::from_means(
                    &a.window,
                    &a.reference,
                    sample.len() as u64,
                    a.reference_rows,
                    a.method,
                    a.output_space,
                );
                e.unexplained = a.unexplained;
                Ok(e)
            }
            Err(e) if e.kind == ErrorKind::Invalid => Err(e.message),
            Err(e) => {
                // A transient failure (an unreadable artifact): logged, not cached, and
                // its details (paths) kept out of the report.
                tracing::warn!(model = %version.name, version = version.version, error = %e.message, "explaining a window failed");
                return Some(Err("attributions could not be computed now (see the server log)".into()));
            }
        };
        if let Ok(mut cache) = self.explanations.lock() {
            if cache.len() >= MAX_CACHED_EXPLANATIONS {
                cache.clear();
            }
            cache.insert(key, Arc::new(answer.clone()));
        }
        Some(answer)
    }

    async fn explain_sample(
        &self,
        version: &ModelVersion,
        state: &WindowState,
        config: &MonitorConfig,
    ) -> Result<WindowAttribution> {
        let Some(explainer) = self.window_explainer.clone() else {
            return Err(Error::invalid("model", "this riskops instance cannot run models"));
        };
        let name = format!("{}@{}", version.name, version.version);
        if version.endpoint.is_some() {
            return Err(Error::invalid(
                "model",
                format!("{name} is served over HTTP: riskops explains tree ensembles it runs itself (ONNX)"),
            ));
        }
        let Some(link) = version.validation_data.as_ref().or(version.training_data.as_ref()) else {
            return Err(Error::invalid("model", format!("{name} has no validation or training data to compare with")));
        };
        let dataset = self
            .store
            .dataset_version(&link.name, link.version)
            .await?
            .ok_or_else(|| Error::internal(format!("dataset {link} vanished")))?;
        let mut job = AttributionJob {
            model: version.clone(),
            reference: dataset,
            files: None,
            exclude: config.excluded(),
            features: state.features.iter().map(|f| f.name.clone()).collect(),
            rows: state.explain_sample.rows().map(<[Value]>::to_vec).collect(),
            outputs: state.explain_sample.outputs().collect(),
        };
        let mut opened = None;
        if !explainer.prepared(&job) {
            let data_file = self.artifacts.open_verified(&job.reference.digest).await?;
            let model_file = self.artifacts.open_verified(&version.digest).await?;
            job.files = Some(ArtifactFiles { model: model_file.path.clone(), reference: data_file.path.clone() });
            opened = Some((model_file, data_file));
        }
        let answer = tokio::task::spawn_blocking(move || explainer.explain_window(&job))
            .await
            .map_err(|e| Error::internal(format!("explaining a window stopped: {e}")))?;
        drop(opened);
        answer
    }
}
