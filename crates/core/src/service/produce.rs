//! Evidence riskops produces itself: `riskops validate` and `riskops stress` run the model over
//! a dataset version on the server, and the report is filed as evidence with
//! `produced_by = riskops`, so a gate can trust what it says (an uploaded file says only what
//! its uploader wrote). Running the model is the server's ([`EvidenceProducer`]), so this crate
//! does not depend on the model runtime.

use super::registry::PushPermit;
use super::{RequestContext, Riskops};
use crate::artifact::Digest;
use crate::auth::Operation;
use crate::context::Industry;
use crate::error::{Error, Result};
use crate::governance::Environment;
use crate::promotion::{Evidence, NewEvidence};
use crate::registry::{DatasetVersion, ModelVersion, VersionRef};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Who produced evidence riskops computed itself.
pub const PRODUCED_BY: &str = "riskops";

/// What `riskops validate` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationOptions {
    pub label: String,
    pub protected: Vec<String>,
    /// Columns to look for weak segments in; None: every feature column (`auto`).
    pub segments: Option<Vec<String>>,
    /// Decision threshold on the positive class's probability; None: the model's own label.
    pub threshold: Option<f64>,
    /// Also score the version in production on the same rows.
    pub compare_with_production: bool,
    /// Seeds the bootstrap, so a report can be reproduced.
    pub seed: u64,
}

/// What `riskops stress` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct StressOptions {
    pub label: Option<String>,
    /// Constraints `(column, increasing)` to check.
    pub monotone: Vec<(String, bool)>,
    pub seed: u64,
}

/// What `riskops explain` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainOptions {
    /// Rows explained (a seeded sample).
    pub rows: usize,
    /// The outcome column (left out of the inputs; permutation importance needs it).
    pub label: Option<String>,
    /// Shuffles per feature for permutation importance.
    pub repeats: u32,
    pub seed: u64,
    pub method: ExplainMethod,
    /// Background rows SHAP integrates over (a seeded sample).
    pub background_rows: usize,
    /// Feature orderings sampled per row (the permutation method).
    pub orderings: usize,
}

/// How SHAP values are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainMethod {
    /// Exact TreeSHAP for tree ensembles riskops runs, sampled permutations for the rest.
    Auto,
    /// Exact interventional TreeSHAP (ONNX tree ensembles only).
    Tree,
    /// Exact path-dependent TreeSHAP (shap's default `TreeExplainer(model)`), with node covers
    /// replayed from the version's training data: row counts, or XGBoost's hessians.
    TreePath { hessians: bool },
    /// Sampled feature orderings: any model, HTTP endpoints included.
    Permutation,
}

impl ExplainMethod {
    /// `auto`, `tree` or `permutation`; anything else is a 422 naming them.
    pub fn parse(text: &str) -> Result<ExplainMethod> {
        match text {
            "auto" => Ok(ExplainMethod::Auto),
            "tree" => Ok(ExplainMethod::Tree),
            "tree-path" => Ok(ExplainMethod::TreePath { hessians: false }),
            "permutation" => Ok(ExplainMethod::Permutation),
            "kernel" => Err(Error::invalid(
                "method",
                "kernel SHAP is not offered: use permutation, which is model-agnostic too, adds up exactly and \
                 states its sampling error",
            )),
            other => {
                Err(Error::invalid("method", format!("{other:?} is not one of auto, tree, tree-path, permutation")))
            }
        }
    }
}

/// A model version with its artifact as a local file.
#[derive(Debug, Clone)]
pub struct ModelInput {
    pub version: ModelVersion,
    pub file: PathBuf,
}

/// A dataset version with its artifact as a local file.
#[derive(Debug, Clone)]
pub struct DataInput {
    pub version: DatasetVersion,
    pub file: PathBuf,
}

/// Everything a validation needs, files already verified against their digests.
#[derive(Debug, Clone)]
pub struct ValidationJob {
    pub model: ModelInput,
    pub data: DataInput,
    /// The version in production, when asked for and another version is there.
    pub champion: Option<ModelInput>,
    pub options: ValidationOptions,
    /// The thresholds of the project's tier (see `governance::THRESHOLDS`).
    pub thresholds: BTreeMap<String, f64>,
    /// Where the producer may write its report files.
    pub work_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct StressJob {
    pub model: ModelInput,
    pub data: DataInput,
    pub unseen: Option<DataInput>,
    pub options: StressOptions,
    pub thresholds: BTreeMap<String, f64>,
    pub work_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ExplainJob {
    pub model: ModelInput,
    pub data: DataInput,
    /// What SHAP integrates over; `None`: `data`.
    pub background: Option<DataInput>,
    /// The version's training data, for path-dependent TreeSHAP's covers.
    pub training: Option<DataInput>,
    pub options: ExplainOptions,
    pub work_dir: PathBuf,
}

/// Records to explain one by one, against a background dataset (the version's validation or
/// training data).
#[derive(Debug, Clone)]
pub struct RecordsJob {
    pub model: ModelInput,
    pub background: DataInput,
    /// Each record's values by column, as JSON (numbers, text, booleans, null for missing).
    pub records: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Why the model decided as it did for one record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordExplanation {
    /// The model's label for the record.
    pub prediction: String,
    /// The margin explained (log-odds, probability or raw value; see `output_space`).
    pub output: f64,
    pub base_value: f64,
    pub output_space: String,
    /// Largest |contribution| first.
    pub contributions: Vec<Contribution>,
    /// The principal reasons for an adverse decision (filled by the service when asked for,
    /// and for finance projects always; producers leave it empty).
    pub reasons: Vec<crate::reasons::Reason>,
}

/// Whether single-decision explanations carry adverse-action reasons, and which way of the
/// output is adverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonsWanted {
    /// `None`: for projects of the finance industry pack.
    pub wanted: Option<bool>,
    pub adverse: crate::reasons::Adverse,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub feature: String,
    /// The record's value of the feature, as text (`None`: missing, or a computed feature).
    pub value: Option<String>,
    pub contribution: f64,
}

/// One piece of evidence a producer computed: its verdict and its report, written to `file`
/// (removed when dropped, once stored).
#[derive(Debug)]
pub struct ProducedEvidence {
    pub kind: String,
    pub passed: bool,
    pub summary: String,
    /// The report (JSON) as stored.
    pub report: Vec<u8>,
    pub file: PathBuf,
}

impl Drop for ProducedEvidence {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Runs models: the server's scores with riskops-model.
pub trait EvidenceProducer: Send + Sync {
    /// `validation` evidence, and `fairness` evidence when protected attributes are given.
    fn validate(&self, job: &ValidationJob) -> Result<Vec<ProducedEvidence>>;
    /// `stress_test` evidence.
    fn stress(&self, job: &StressJob) -> Result<Vec<ProducedEvidence>>;
    /// `explainability` evidence.
    fn explain(&self, job: &ExplainJob) -> Result<Vec<ProducedEvidence>>;
    /// Reasons for single decisions.
    fn explain_records(&self, job: &RecordsJob) -> Result<Vec<RecordExplanation>>;
}

impl Riskops {
    /// Runs the model over a dataset version and files the evidence it produced (permission:
    /// `evidence.add`, as for uploaded evidence). Returns each piece with its report.
    pub async fn produce_validation(
        &self,
        ctx: &RequestContext,
        r: &VersionRef,
        data: &VersionRef,
        options: ValidationOptions,
    ) -> Result<Vec<(Evidence, Vec<u8>)>> {
        let producer = self.producer()?;
        let (version, permit) = self.model_version_for(ctx, Operation::EvidenceAdd, r).await?;
        if options.label.trim().is_empty() {
            return Err(Error::invalid("label", "is required: the column holding the outcome"));
        }
        let (dataset, data_file) = self.dataset_file(ctx, data).await?;
        let model_file = self.artifacts.open_verified(&version.digest).await?;
        let champion = match options.compare_with_production {
            true => self.champion_of(&version).await?,
            false => None,
        };
        let champion_file = match &champion {
            Some(c) => Some(self.artifacts.open_verified(&c.digest).await?),
            None => None,
        };
        let thresholds = self.thresholds_for(&version).await?;
        let job = ValidationJob {
            model: ModelInput { version: version.clone(), file: model_file.path.clone() },
            data: DataInput { version: dataset.clone(), file: data_file.path.clone() },
            champion: champion
                .zip(champion_file.as_ref())
                .map(|(v, f)| ModelInput { version: v, file: f.path.clone() }),
            options,
            thresholds,
            work_dir: self.work_dir()?,
        };
        let produced = run_blocking(move || producer.validate(&job)).await?;
        drop((model_file, data_file, champion_file));
        self.file_produced(ctx, PushPermit::new(permit, &version.project), &version, &dataset, produced).await
    }

    /// Stress-tests the model on a dataset version and files `stress_test` evidence.
    pub async fn produce_stress(
        &self,
        ctx: &RequestContext,
        r: &VersionRef,
        data: &VersionRef,
        unseen: Option<&VersionRef>,
        options: StressOptions,
    ) -> Result<Vec<(Evidence, Vec<u8>)>> {
        let producer = self.producer()?;
        let (version, permit) = self.model_version_for(ctx, Operation::EvidenceAdd, r).await?;
        let (dataset, data_file) = self.dataset_file(ctx, data).await?;
        let unseen = match unseen {
            Some(u) => Some(self.dataset_file(ctx, u).await?),
            None => None,
        };
        let model_file = self.artifacts.open_verified(&version.digest).await?;
        let thresholds = self.thresholds_for(&version).await?;
        let job = StressJob {
            model: ModelInput { version: version.clone(), file: model_file.path.clone() },
            data: DataInput { version: dataset.clone(), file: data_file.path.clone() },
            unseen: unseen.as_ref().map(|(v, f)| DataInput { version: v.clone(), file: f.path.clone() }),
            options,
            thresholds,
            work_dir: self.work_dir()?,
        };
        let produced = run_blocking(move || producer.stress(&job)).await?;
        drop((model_file, data_file, unseen));
        self.file_produced(ctx, PushPermit::new(permit, &version.project), &version, &dataset, produced).await
    }

    /// Explains the model's outputs on a dataset version's rows and files `explainability`
    /// evidence (permission: `evidence.add`).
    pub async fn produce_explanation(
        &self,
        ctx: &RequestContext,
        r: &VersionRef,
        data: &VersionRef,
        background: Option<&VersionRef>,
        options: ExplainOptions,
    ) -> Result<Vec<(Evidence, Vec<u8>)>> {
        let producer = self.producer()?;
        let (version, permit) = self.model_version_for(ctx, Operation::EvidenceAdd, r).await?;
        if options.rows == 0 || options.rows > 100_000 {
            return Err(Error::invalid("rows", "must be between 1 and 100,000"));
        }
        if !(1..=100).contains(&options.repeats) {
            return Err(Error::invalid("repeats", "must be between 1 and 100"));
        }
        if !(1..=10_000).contains(&options.background_rows) {
            return Err(Error::invalid("background_rows", "must be between 1 and 10,000"));
        }
        if !(2..=1_000).contains(&options.orderings) {
            return Err(Error::invalid("permutations", "must be between 2 and 1,000"));
        }
        let (dataset, data_file) = self.dataset_file(ctx, data).await?;
        let background = match background {
            Some(b) => Some(self.dataset_file(ctx, b).await?),
            None => None,
        };
        let training = match (options.method, &version.training_data) {
            (ExplainMethod::TreePath { .. }, Some(t)) => Some(self.dataset_file(ctx, t).await?),
            (ExplainMethod::TreePath { .. }, None) => {
                return Err(Error::invalid(
                    "method",
                    format!(
                        "{}@{} has no training data: path-dependent TreeSHAP replays it for the trees' covers \
                         (register the version with --training-data, or use method tree)",
                        version.name, version.version
                    ),
                ));
            }
            _ => None,
        };
        let model_file = self.artifacts.open_verified(&version.digest).await?;
        let job = ExplainJob {
            model: ModelInput { version: version.clone(), file: model_file.path.clone() },
            data: DataInput { version: dataset.clone(), file: data_file.path.clone() },
            background: background.as_ref().map(|(v, f)| DataInput { version: v.clone(), file: f.path.clone() }),
            training: training.as_ref().map(|(v, f)| DataInput { version: v.clone(), file: f.path.clone() }),
            options,
            work_dir: self.work_dir()?,
        };
        let produced = run_blocking(move || producer.explain(&job)).await?;
        drop((model_file, data_file, background, training));
        self.file_produced(ctx, PushPermit::new(permit, &version.project), &version, &dataset, produced).await
    }

    /// Why the model decided as it did for each record (up to 1,000): SHAP contributions
    /// against 100 rows of the version's validation data (else its training data). A read
    /// (permission: `registry.read` in the project); nothing is filed.
    pub async fn explain_records(
        &self,
        ctx: &RequestContext,
        project: &str,
        r: &VersionRef,
        records: Vec<serde_json::Map<String, serde_json::Value>>,
        reasons: ReasonsWanted,
    ) -> Result<Vec<RecordExplanation>> {
        self.model_in_project(ctx, project, &r.name).await?;
        let producer = self.producer()?;
        let (version, _) = self.model_version_for(ctx, Operation::RegistryRead, r).await?;
        if records.is_empty() || records.len() > 1000 {
            return Err(Error::invalid("records", "give between 1 and 1,000 records"));
        }
        let Some(background) = version.validation_data.clone().or_else(|| version.training_data.clone()) else {
            return Err(Error::invalid(
                "model",
                format!(
                    "{}@{} has no validation or training data to explain against; register it with --validation-data",
                    version.name, version.version
                ),
            ));
        };
        let (dataset, data_file) = self.dataset_file(ctx, &background).await?;
        let model_file = self.artifacts.open_verified(&version.digest).await?;
        let job = RecordsJob {
            model: ModelInput { version: version.clone(), file: model_file.path.clone() },
            background: DataInput { version: dataset, file: data_file.path.clone() },
            records,
        };
        let answer = run_blocking(move || producer.explain_records(&job)).await;
        drop((model_file, data_file));
        let mut explained = answer?;
        let finance = || async {
            let project = self.store.project(project).await?;
            Ok::<_, Error>(project.and_then(|p| p.context).is_some_and(|c| c.industry == Industry::Finance))
        };
        let wanted = match reasons.wanted {
            Some(w) => w,
            None => finance().await?,
        };
        if wanted {
            let texts = version.params.get("reason_texts");
            for e in &mut explained {
                let contributions =
                    e.contributions.iter().map(|c| (c.feature.as_str(), c.value.as_deref(), c.contribution));
                e.reasons = crate::reasons::adverse_reasons(contributions, reasons.adverse, texts);
            }
        }
        Ok(explained)
    }

    fn producer(&self) -> Result<Arc<dyn EvidenceProducer>> {
        self.evidence_producer
            .clone()
            .ok_or_else(|| Error::invalid("model", "this riskops instance cannot run models (no evidence producer)"))
    }

    fn work_dir(&self) -> Result<PathBuf> {
        self.produce_dir.clone().ok_or_else(|| Error::internal("this riskops instance has no work folder"))
    }

    /// The version of the same model in production now, unless it is `version` itself.
    async fn champion_of(&self, version: &ModelVersion) -> Result<Option<ModelVersion>> {
        let deployments = self.store.deployments(&version.name).await?;
        let current = deployments
            .iter()
            .find(|d| d.environment == Environment::Production && d.until.is_none())
            .map(|d| d.version);
        match current {
            Some(v) if v != version.version => self.store.model_version(&version.name, Some(v)).await,
            _ => Ok(None),
        }
    }

    /// The thresholds of the tier of the version's project, from the policy in force.
    async fn thresholds_for(&self, version: &ModelVersion) -> Result<BTreeMap<String, f64>> {
        let project = self
            .store
            .project(&version.project)
            .await?
            .ok_or_else(|| Error::internal(format!("project {} vanished", version.project)))?;
        let (tier, _) = self.project_tier(&project).await?;
        let (policy, _) = self.current_policy().await?;
        Ok(policy.thresholds(tier))
    }

    async fn file_produced(
        &self,
        ctx: &RequestContext,
        push: PushPermit,
        version: &ModelVersion,
        dataset: &DatasetVersion,
        produced: Vec<ProducedEvidence>,
    ) -> Result<Vec<(Evidence, Vec<u8>)>> {
        let mut filed = Vec::with_capacity(produced.len());
        for mut p in produced {
            let new = NewEvidence {
                model: version.name.clone(),
                version: version.version,
                kind: p.kind.clone(),
                digest: Digest::from_sha256(&Sha256::digest(&p.report)),
                size: p.report.len() as u64,
                passed: Some(p.passed),
                summary: std::mem::take(&mut p.summary),
                produced_by: Some(PRODUCED_BY.to_string()),
                dataset: Some(format!("{}@{}", dataset.name, dataset.version)),
            };
            let evidence = self.add_evidence(ctx, push.clone(), &p.file, new).await?;
            filed.push((evidence, std::mem::take(&mut p.report)));
        }
        Ok(filed)
    }
}

/// Scoring a dataset is CPU work: off the async workers.
async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("the model run stopped: {e}")))?
}
