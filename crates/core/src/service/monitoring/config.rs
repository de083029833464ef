//! How a model is monitored: its window, task, columns and retention, stored as a
//! versioned document.

use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::Operation;
use crate::error::{Error, Result};
use crate::monitoring::WindowSpec;
use crate::registry::{ModelVersion, VersionRef};
use riskops_monitor::estimation::EstimationColumns;
use riskops_monitor::{MAX_EXPLAIN_SAMPLE, Task};
use serde_json::{Value, json};

/// How a model is monitored: stored as the versioned document `monitor:<model>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    pub window: WindowSpec,
    /// `binary` (with the positive class) or `regression`.
    pub task: Task,
    /// Reference columns that are not model inputs: the target, ids.
    pub exclude: Vec<String>,
    /// Record attributes to compute fairness for (empty: all that records carry).
    pub sensitive: Vec<String>,
    /// How long raw records are kept (days from when they arrived).
    pub retention_days: u32,
    /// A window with fewer records reports its drift as `insufficient`, and monitors whose
    /// values are sample statistics do not judge it (see `alerting::Monitor::judges`).
    pub min_records: u64,
    /// Records per window kept (a seeded sample) to explain with the model and compare with
    /// the reference's attributions (`explain.<feature>.share`); 0: none.
    pub explain_sample: u32,
    /// Reference columns for performance estimated without labels (CBPE): the model's
    /// score, the label and optionally the predicted class. `None`: not estimated. Not
    /// model inputs, so they are left out of the schema like `exclude`.
    pub estimation: Option<EstimationColumns>,
}

/// Raw records are kept six months by default: the EU AI Act (Art. 19) asks at least that
/// of high-risk systems' logs.
pub const DEFAULT_RETENTION_DAYS: u32 = 183;

/// The longest retention accepted (ten years: SR 11-7 model files are kept about that long).
pub const MAX_RETENTION_DAYS: u32 = 3653;

/// Records a window needs before its drift is judged, unless configured.
pub const DEFAULT_MIN_RECORDS: u64 = 100;

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            window: WindowSpec::Hour,
            task: Task::Binary { positive: "1".into() },
            exclude: Vec::new(),
            sensitive: Vec::new(),
            retention_days: DEFAULT_RETENTION_DAYS,
            min_records: DEFAULT_MIN_RECORDS,
            explain_sample: 0,
            estimation: None,
        }
    }
}

impl MonitorConfig {
    pub fn to_json(&self) -> Value {
        let (task, positive) = match &self.task {
            Task::Binary { positive } => ("binary", Some(positive.clone())),
            Task::Regression => ("regression", None),
        };
        let mut v = json!({"window": self.window.name(), "task": task, "positive": positive, "exclude": self.exclude, "sensitive": self.sensitive, "retention_days": self.retention_days, "min_records": self.min_records, "explain_sample": self.explain_sample});
        // Only when set: documents stored before estimation existed read and write alike.
        if let (Some(e), Some(obj)) = (&self.estimation, v.as_object_mut()) {
            obj.insert("score_column".into(), json!(e.score));
            obj.insert("label_column".into(), json!(e.label));
            obj.insert("prediction_column".into(), json!(e.prediction));
        }
        v
    }

    /// Reference columns that are not model inputs: `exclude` and the estimation's columns.
    pub fn excluded(&self) -> Vec<String> {
        let mut out = self.exclude.clone();
        if let Some(e) = &self.estimation {
            out.extend([Some(&e.score), Some(&e.label), e.prediction.as_ref()].into_iter().flatten().cloned());
        }
        out
    }

    pub fn from_json(v: &Value) -> Result<MonitorConfig> {
        let obj = v.as_object().ok_or_else(|| Error::invalid("config", "must be a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| {
            !matches!(
                k.as_str(),
                "window"
                    | "task"
                    | "positive"
                    | "exclude"
                    | "sensitive"
                    | "retention_days"
                    | "min_records"
                    | "explain_sample"
                    | "score_column"
                    | "label_column"
                    | "prediction_column"
            )
        }) {
            return Err(Error::invalid(
                k,
                "unknown field; use window, task, positive, exclude, sensitive, retention_days, min_records, explain_sample, \
                 score_column, label_column, prediction_column",
            ));
        }
        let text_list = |k: &str| -> Result<Vec<String>> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string).ok_or_else(|| Error::invalid(k, "must be a list of names")))
                    .collect(),
                Some(_) => Err(Error::invalid(k, "must be a list of names")),
            }
        };
        let window = WindowSpec::parse("window", obj.get("window").and_then(Value::as_str).unwrap_or("hour"))?;
        let positive = obj.get("positive").and_then(Value::as_str).unwrap_or("1").to_string();
        let task = match obj.get("task").and_then(Value::as_str).unwrap_or("binary") {
            "binary" => Task::Binary { positive },
            "regression" => Task::Regression,
            other => return Err(Error::invalid("task", format!("{other:?}: use binary or regression"))),
        };
        let retention_days = match obj.get("retention_days") {
            None | Some(Value::Null) => DEFAULT_RETENTION_DAYS,
            Some(v) => v
                .as_u64()
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| (1..=MAX_RETENTION_DAYS).contains(d))
                .ok_or_else(|| Error::invalid("retention_days", format!("must be 1 to {MAX_RETENTION_DAYS} days")))?,
        };
        let min_records = match obj.get("min_records") {
            None | Some(Value::Null) => DEFAULT_MIN_RECORDS,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=u64::from(crate::monitoring::MAX_WINDOW_RECORDS)).contains(n))
                .ok_or_else(|| {
                    Error::invalid(
                        "min_records",
                        format!("must be a whole number from 1 to {}", crate::monitoring::MAX_WINDOW_RECORDS),
                    )
                })?,
        };
        let explain_sample = match obj.get("explain_sample") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n <= MAX_EXPLAIN_SAMPLE).ok_or_else(
                || Error::invalid("explain_sample", format!("must be a whole number from 0 to {MAX_EXPLAIN_SAMPLE}")),
            )?,
        };
        let column = |k: &str| -> Result<Option<String>> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(Some(s.clone())),
                Some(_) => Err(Error::invalid(k, "must be a column name")),
            }
        };
        let estimation = match (column("score_column")?, column("label_column")?, column("prediction_column")?) {
            (Some(score), Some(label), prediction) => {
                if !matches!(task, Task::Binary { .. }) {
                    return Err(Error::invalid(
                        "score_column",
                        "performance is estimated for binary classifiers only (CBPE); DLE for regression is not implemented",
                    ));
                }
                Some(EstimationColumns { score, label, prediction })
            }
            (None, None, None) => None,
            (None, ..) => return Err(Error::invalid("score_column", "estimation needs the reference's score column")),
            (Some(_), None, _) => {
                return Err(Error::invalid("label_column", "estimation needs the reference's label column"));
            }
        };
        Ok(MonitorConfig {
            estimation,
            window,
            task,
            exclude: text_list("exclude")?,
            sensitive: text_list("sensitive")?,
            retention_days,
            min_records,
            explain_sample,
        })
    }
}

impl Riskops {
    /// The estimation's columns must be in the reference data of the version configured (its
    /// latest): a name that is not is a mistake to say now, not a reason on every window.
    async fn check_estimation_columns(&self, version: &ModelVersion, estimation: &EstimationColumns) -> Result<()> {
        let Some(link) = version.validation_data.as_ref().or(version.training_data.as_ref()) else {
            return Err(Error::invalid(
                "score_column",
                format!("{}@{} has no training or validation dataset to estimate from", version.name, version.version),
            ));
        };
        let profile = self.reference_profile(link).await?;
        let named = [("score_column", Some(&estimation.score)), ("label_column", Some(&estimation.label))];
        let prediction = [("prediction_column", estimation.prediction.as_ref())];
        for (field, column) in named.into_iter().chain(prediction) {
            if let Some(column) = column
                && !profile.columns.iter().any(|c| &c.name == column)
            {
                return Err(Error::invalid(
                    field,
                    format!("{link}, the reference of {}@{}, has no column {column:?}", version.name, version.version),
                ));
            }
        }
        Ok(())
    }
}

fn config_kind(model: &str) -> String {
    format!("monitor:{model}")
}

impl Riskops {
    pub(in crate::service) async fn stored_monitor_config(&self, model: &str) -> Result<MonitorConfig> {
        match self.store.document(&config_kind(model)).await? {
            Some(d) => MonitorConfig::from_json(&d.document),
            None => Ok(MonitorConfig::default()),
        }
    }

    pub async fn monitor_config(&self, ctx: &RequestContext, model: &str) -> Result<MonitorConfig> {
        self.model_version_for(ctx, Operation::RegistryRead, &VersionRef { name: model.into(), version: None }).await?;
        self.stored_monitor_config(model).await
    }

    /// Sets how a model is monitored (`monitor.configure`: admin, risk_officer,
    /// data_scientist); versioned and audited.
    pub async fn configure_monitoring(
        &self,
        ctx: &RequestContext,
        model: &str,
        config: &Value,
    ) -> Result<MonitorConfig> {
        let r = VersionRef { name: model.into(), version: None };
        let (version, permit) = self.model_version_for(ctx, Operation::MonitorConfigure, &r).await?;
        let config = MonitorConfig::from_json(config)?;
        if let Some(estimation) = &config.estimation {
            self.check_estimation_columns(&version, estimation).await?;
        }
        let audit = AuditRecord::new(&permit, Action::MonitorConfigure, format!("model:{model}"))
            .after(config.to_json())
            .request_id(ctx.request_id.clone());
        self.store.set_document(&config_kind(model), config.to_json(), audit, self.clock.now()).await?;
        Ok(config)
    }
}
