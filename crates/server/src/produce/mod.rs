//! The server's [`EvidenceProducer`]: loads the model (an ONNX file run by riskops-model, or
//! a served model called over HTTP: one [`Scorer`] either way), reads the dataset version as
//! pandas types it, scores every row and computes the report (`validation`).

mod attribution;
mod dependence;
mod explain;
mod importance;
mod reasons;
mod rows_parquet;
mod sampled;
mod stats;
mod stress;
mod validation;

pub(crate) use rows_parquet::attributions_parquet;

use crate::endpoint::{EndpointModel, EndpointSettings};
use riskops_core::service::{
    EvidenceProducer, ExplainJob, ModelInput, ProducedEvidence, RecordExplanation, RecordsJob, StressJob, ValidationJob,
};
use riskops_core::{Error, ErrorKind, Result};
use riskops_data::{CsvOptions, Table, Values, read_csv};
use riskops_model::{Column, ColumnValues, Data, Model, Prediction, Signature, bind_columns};
use std::collections::HashMap;
use std::path::Path;

pub use attribution::WindowAttributions;

pub struct ModelRunner {
    pub endpoints: EndpointSettings,
}

impl EvidenceProducer for ModelRunner {
    fn validate(&self, job: &ValidationJob) -> Result<Vec<ProducedEvidence>> {
        validation::validate(job, &self.endpoints)
    }

    fn stress(&self, job: &StressJob) -> Result<Vec<ProducedEvidence>> {
        stress::stress(job, &self.endpoints)
    }

    fn explain(&self, job: &ExplainJob) -> Result<Vec<ProducedEvidence>> {
        explain::explain(job, &self.endpoints)
    }

    fn explain_records(&self, job: &RecordsJob) -> Result<Vec<RecordExplanation>> {
        reasons::explain_records(job, &self.endpoints)
    }
}

/// A model as the producer scores it: run in-process, or called where it is served. The
/// checks and reports do not know which.
pub(crate) enum Scorer {
    Onnx(Model),
    Endpoint(EndpointModel),
}

impl Scorer {
    /// The version's model: its endpoint when it has one, else its artifact, which must be
    /// an ONNX model riskops runs (else a 422).
    pub(crate) fn load(input: &ModelInput, settings: &EndpointSettings) -> Result<Scorer> {
        let v = &input.version;
        if let Some(endpoint) = &v.endpoint {
            let interface =
                v.signature.as_ref().ok_or_else(|| Error::internal("an endpoint model without signature"))?;
            return Ok(Scorer::Endpoint(EndpointModel::new(endpoint.clone(), interface, settings.clone())?));
        }
        let name = format!("{}@{}", v.name, v.version);
        let bytes = std::fs::read(&input.file)
            .map_err(|e| Error::unavailable(format!("reading {}: {e}", input.file.display())))?;
        let model = Model::load(&bytes).map_err(|e| {
            Error::invalid("model", format!("{name} cannot be run by riskops (register it as an ONNX model): {e}"))
        })?;
        Ok(Scorer::Onnx(model))
    }

    pub(crate) fn signature(&self) -> &Signature {
        match self {
            Scorer::Onnx(m) => m.signature(),
            Scorer::Endpoint(e) => e.signature(),
        }
    }

    /// Scores model columns (the label column left out of the inputs). An input the data
    /// does not fit is `Err(Fit)`; a model that fails, or an endpoint that refuses the input,
    /// `Err(Failed)`; an endpoint that does not answer, `Err(Unreachable)`.
    pub(crate) fn predict(&self, columns: &[Column], label: Option<&str>) -> std::result::Result<Prediction, Failure> {
        let (inputs, bindings) = bind_columns(self.signature(), columns, label, None, &HashMap::new())
            .map_err(|e| Failure::Fit(e.to_string()))?;
        match self {
            Scorer::Onnx(m) => {
                m.predict(inputs).map_err(|e| Failure::Failed(Error::invalid("data", format!("scoring failed: {e}"))))
            }
            Scorer::Endpoint(e) => e.predict_blocking(&inputs, &bindings).map_err(|e| match e.kind {
                ErrorKind::Busy => Failure::Unreachable(e),
                _ => Failure::Failed(e),
            }),
        }
    }
}

/// Why a model gave no prediction.
pub(crate) enum Failure {
    /// The data does not fit its inputs.
    Fit(String),
    /// It failed, or its endpoint refused the input: the error says which.
    Failed(Error),
    /// Its endpoint did not answer, retries included: no verdict on the model.
    Unreachable(Error),
}

impl Failure {
    pub(crate) fn into_error(self) -> Error {
        match self {
            Failure::Fit(e) => Error::invalid("data", format!("the dataset does not fit the model: {e}")),
            Failure::Failed(e) | Failure::Unreachable(e) => e,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Fit(e) => f.write_str(e),
            Failure::Failed(e) | Failure::Unreachable(e) => f.write_str(&e.message),
        }
    }
}

/// CSV or Parquet, by the file's first bytes, typed as pandas would type it.
pub(crate) fn read_table(file: &Path) -> Result<Table> {
    if riskops_data::profile::is_profile_document(file) {
        return Err(Error::invalid("data", "the dataset version is a profile (pushed as its sketches), without rows"));
    }
    let table = if riskops_parquet::is_parquet(file) {
        riskops_parquet::read_parquet(file, None, &|_| {}).map(|r| r.table).map_err(|e| e.to_string())
    } else {
        read_csv(file, &CsvOptions::default(), &|_| {}).map_err(|e| e.to_string())
    };
    table.map_err(|e| Error::invalid("data", format!("the dataset cannot be read: {e}")))
}

pub(crate) fn to_model_column(c: &riskops_data::Column) -> Column {
    let values = match &c.values {
        Values::Int(v) => ColumnValues::Int(v.clone()),
        Values::Float(v) => ColumnValues::Float(v.clone()),
        Values::Bool(v) => ColumnValues::Bool(v.clone()),
        Values::Str(s) => ColumnValues::Str((0..s.codes.len()).map(|i| s.get(i).map(str::to_string)).collect()),
    };
    Column { name: c.name.clone(), values }
}

/// Scores every row of the table; the label column is left out of the model's inputs.
pub(crate) fn score(model: &Scorer, table: &Table, label: Option<&str>) -> Result<Prediction> {
    let columns: Vec<Column> = table.columns.iter().map(to_model_column).collect();
    model.predict(&columns, label).map_err(Failure::into_error)
}

/// A cell as text, the way class labels are named (`1`, not `1.0`).
pub(crate) fn cell_text(values: &Values, row: usize) -> Option<String> {
    match values {
        Values::Int(v) => Some(v[row].to_string()),
        Values::Float(v) if v[row].is_nan() => None,
        Values::Float(v) if v[row].fract() == 0.0 && v[row].abs() < 1e15 => Some(format!("{}", v[row] as i64)),
        Values::Float(v) => Some(v[row].to_string()),
        Values::Bool(v) => Some(if v[row] { "True" } else { "False" }.to_string()),
        Values::Str(s) => s.get(row).map(str::to_string),
    }
}

/// The predicted labels as text, one per row.
pub(crate) fn label_texts(data: &Data) -> Vec<String> {
    match data {
        Data::F32(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::F64(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::I64(v) => v.iter().map(i64::to_string).collect(),
        Data::Str(v) => v.clone(),
        Data::Bool(v) => v.iter().map(bool::to_string).collect(),
    }
}

/// Predicted values of a regressor.
pub(crate) fn label_values(data: &Data) -> Vec<f64> {
    match data {
        Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        Data::F64(v) => v.clone(),
        Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
        Data::Str(v) => v.iter().map(|s| s.parse().unwrap_or(f64::NAN)).collect(),
        Data::Bool(v) => v.iter().map(|&b| f64::from(u8::from(b))).collect(),
    }
}

/// Writes a report beside the others and returns it as produced evidence.
pub(crate) fn produced(
    work_dir: &Path,
    kind: &str,
    passed: bool,
    summary: String,
    report: Vec<u8>,
) -> Result<ProducedEvidence> {
    std::fs::create_dir_all(work_dir)
        .map_err(|e| Error::unavailable(format!("creating {}: {e}", work_dir.display())))?;
    let file = work_dir.join(format!("{kind}-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, &report).map_err(|e| Error::unavailable(format!("writing {}: {e}", file.display())))?;
    Ok(ProducedEvidence { kind: kind.to_string(), passed, summary, report, file })
}

/// Up to `n` of `rows` row numbers drawn without replacement (seeded), in file order.
pub(crate) fn sample_indices(rows: usize, n: usize, rng: &mut stats::Rng) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..rows).collect();
    if rows > n {
        for i in 0..n {
            let j = i + rng.below(rows - i);
            idx.swap(i, j);
        }
        idx.truncate(n);
        idx.sort_unstable();
    }
    idx
}

/// The given rows of each column, in the order given.
pub(crate) fn select(columns: &[Column], rows: &[usize]) -> Vec<Column> {
    let take = |values: &ColumnValues| match values {
        ColumnValues::Float(v) => ColumnValues::Float(rows.iter().map(|&r| v[r]).collect()),
        ColumnValues::Int(v) => ColumnValues::Int(rows.iter().map(|&r| v[r]).collect()),
        ColumnValues::Bool(v) => ColumnValues::Bool(rows.iter().map(|&r| v[r]).collect()),
        ColumnValues::Str(v) => ColumnValues::Str(rows.iter().map(|&r| v[r].clone()).collect()),
    };
    columns.iter().map(|c| Column { name: c.name.clone(), values: take(&c.values) }).collect()
}
