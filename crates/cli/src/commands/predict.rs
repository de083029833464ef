//! `riskops predict`: scores a file or dataset version with a registered ONNX model, locally
//! with riskops-model (the artifact and the data come through the API), or, for a model
//! registered by its endpoint, through that endpoint (as the server's validate does).

use super::dataset::split_version;
use crate::cli::{Format, PredictArgs};
use crate::client::Client;
use crate::output::emit;
use anyhow::{Context, Result, anyhow, bail};
use riskops_api::registry::ModelVersionView;
use riskops_core::registry::{Endpoint, ModelInterface, Protocol};
use riskops_data::{CsvOptions, Table, Values, read_csv};
use riskops_model::{Column, ColumnValues, Data, Model, Prediction, bind_columns};
use riskops_server::endpoint::{EndpointModel, EndpointSettings};
use serde_json::json;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub async fn run(client: &Client, format: Format, args: PredictArgs) -> Result<()> {
    let input_map = read_input_map(args.input_map.as_deref())?;
    let work = WorkDir::new()?;
    let (name, v) = split_version(&args.version);
    let version: ModelVersionView = client.get(&format!("/api/v1/models/{name}/versions/{v}")).await?.body;
    let data_path = match Path::new(&args.data) {
        local if local.is_file() => local.to_path_buf(),
        _ if args.data.contains('@') => {
            let (dataset, dv) = split_version(&args.data);
            let path = work.0.join("data");
            client.download(&format!("/api/v1/datasets/{dataset}/versions/{dv}/file"), &path).await?;
            path
        }
        missing => bail!("--data {}: no such file (a dataset version is NAME@V)", missing.display()),
    };
    let table = read_table(&data_path).with_context(|| format!("cannot read --data {}", args.data))?;
    let columns: Vec<Column> = table.columns.iter().map(to_model_column).collect();
    let bind = |signature| {
        bind_columns(signature, &columns, args.label.as_deref(), args.features.as_deref(), &input_map)
            .map_err(|e| anyhow!("{e}"))
    };
    let prediction = match served(&version)? {
        Some(model) => {
            let (inputs, bindings) = bind(model.signature())?;
            model.predict(&inputs, &bindings).await.map_err(|e| anyhow!("{}", e.message))?
        }
        None => {
            let model_path = work.0.join("model.onnx");
            client.download(&format!("/api/v1/models/{name}/versions/{v}/file"), &model_path).await?;
            let bytes = std::fs::read(&model_path).with_context(|| format!("cannot read {}", model_path.display()))?;
            let model = Model::load(&bytes).map_err(|e| anyhow!("model {}: {e}", args.version))?;
            let (inputs, _) = bind(model.signature())?;
            model.predict(inputs).map_err(|e| anyhow!("scoring failed: {e}"))?
        }
    };
    let out = output_columns(&table, &prediction);
    match &args.output {
        None => write_csv(std::io::stdout().lock(), &out)?,
        Some(path) => {
            write_file(path, &out)?;
            let summary = json!({"model": args.version, "rows": table.rows, "output": path.display().to_string()});
            emit(format, &summary, |_| {
                println!("scored {} rows with {}: {}", table.rows, args.version, path.display())
            });
        }
    }
    Ok(())
}

/// The version's endpoint, ready to score, when it was registered by one.
fn served(version: &ModelVersionView) -> Result<Option<EndpointModel>> {
    let Some(e) = &version.endpoint else { return Ok(None) };
    let protocol = Protocol::parse(&e.protocol).map_err(|e| anyhow!("{}", e.message))?;
    let endpoint = Endpoint::new(&e.url, protocol).map_err(|e| anyhow!("{}", e.message))?;
    let signature = version.signature.as_ref().ok_or_else(|| anyhow!("the endpoint model has no signature"))?;
    let interface = ModelInterface::from_json(&signature.0).map_err(|e| anyhow!("{}", e.message))?;
    let model =
        EndpointModel::new(endpoint, &interface, EndpointSettings::default()).map_err(|e| anyhow!("{}", e.message))?;
    Ok(Some(model))
}

/// A private folder for the fetched files, removed when done.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> Result<WorkDir> {
        let dir = std::env::temp_dir().join(format!("riskops-predict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_input_map(path: Option<&Path>) -> Result<HashMap<String, String>> {
    let Some(path) = path else { return Ok(HashMap::new()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read --input-map {}", path.display()))?;
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).with_context(|| format!("--input-map {} is not a JSON object", path.display()))?;
    map.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(column) => Ok((k, column)),
            other => bail!("--input-map: {k:?} must name a column, not {other}"),
        })
        .collect()
}

/// CSV or Parquet, by the file's first bytes, typed as pandas would type it.
fn read_table(path: &Path) -> Result<Table> {
    if riskops_parquet::is_parquet(path) {
        return Ok(riskops_parquet::read_parquet(path, None, &|_| {})?.table);
    }
    Ok(read_csv(path, &CsvOptions::default(), &|_| {})?)
}

fn to_model_column(c: &riskops_data::Column) -> Column {
    let values = match &c.values {
        Values::Int(v) => ColumnValues::Int(v.clone()),
        Values::Float(v) => ColumnValues::Float(v.clone()),
        Values::Bool(v) => ColumnValues::Bool(v.clone()),
        Values::Str(s) => ColumnValues::Str((0..s.codes.len()).map(|i| s.get(i).map(str::to_string)).collect()),
    };
    Column { name: c.name.clone(), values }
}

/// An output column: the id-like columns as read, then the scores.
enum Out<'a> {
    Read(&'a Values),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Texts(Vec<String>),
    Bools(Vec<bool>),
}

fn output_columns<'a>(table: &'a Table, p: &Prediction) -> Vec<(String, Out<'a>)> {
    let mut out: Vec<(String, Out<'a>)> = table
        .columns
        .iter()
        .filter(|c| riskops_model::bind::is_id_like(&c.name))
        .map(|c| (c.name.clone(), Out::Read(&c.values)))
        .collect();
    let prediction = match &p.labels {
        Data::F32(v) => Out::Floats(v.clone()),
        Data::F64(v) => Out::Floats(v.iter().map(|&x| x as f32).collect()),
        Data::I64(v) => Out::Ints(v.clone()),
        Data::Str(v) => Out::Texts(v.clone()),
        Data::Bool(v) => Out::Bools(v.clone()),
    };
    out.push(("prediction".into(), prediction));
    if let (Some(probs), Some(classes)) = (&p.probabilities, &p.classes) {
        let names = classes.names();
        let k = names.len();
        for (j, class) in names.iter().enumerate() {
            let column = probs.iter().skip(j).step_by(k).copied().collect();
            out.push((format!("proba_{class}"), Out::Floats(column)));
        }
    }
    out
}

fn cell<'a>(column: &'a Out<'a>, row: usize) -> Cow<'a, str> {
    match column {
        Out::Read(Values::Int(v)) => Cow::Owned(v[row].to_string()),
        Out::Read(Values::Float(v)) if v[row].is_nan() => Cow::Borrowed(""),
        Out::Read(Values::Float(v)) => Cow::Owned(v[row].to_string()),
        Out::Read(Values::Bool(v)) => Cow::Borrowed(if v[row] { "True" } else { "False" }),
        Out::Read(Values::Str(s)) => Cow::Borrowed(s.get(row).unwrap_or("")),
        // f32 printed in its shortest form that reads back as the same f32.
        Out::Floats(v) => Cow::Owned(v[row].to_string()),
        Out::Ints(v) => Cow::Owned(v[row].to_string()),
        Out::Texts(v) => Cow::Borrowed(v[row].as_str()),
        Out::Bools(v) => Cow::Borrowed(if v[row] { "True" } else { "False" }),
    }
}

fn rows(columns: &[(String, Out<'_>)]) -> usize {
    columns
        .iter()
        .map(|(_, c)| match c {
            Out::Read(v) => v.len(),
            Out::Floats(v) => v.len(),
            Out::Ints(v) => v.len(),
            Out::Texts(v) => v.len(),
            Out::Bools(v) => v.len(),
        })
        .next()
        .unwrap_or(0)
}

fn write_csv(out: impl std::io::Write, columns: &[(String, Out<'_>)]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(columns.iter().map(|(n, _)| n.as_str()))?;
    for r in 0..rows(columns) {
        w.write_record(columns.iter().map(|(_, c)| cell(c, r)).collect::<Vec<_>>().iter().map(|c| c.as_ref()))?;
    }
    w.flush()?;
    Ok(())
}

fn parquet_column<'a>(column: &'a Out<'a>) -> riskops_parquet::ColumnValues<'a> {
    use riskops_parquet::ColumnValues as P;
    match column {
        Out::Read(Values::Int(v)) | Out::Ints(v) => P::Int64(v.iter().map(|&x| Some(x)).collect()),
        Out::Read(Values::Float(v)) => P::Float64(v.iter().map(|&x| (!x.is_nan()).then_some(x)).collect()),
        Out::Read(Values::Bool(v)) | Out::Bools(v) => P::Bool(v.iter().map(|&x| Some(x)).collect()),
        Out::Read(Values::Str(s)) => P::Utf8((0..s.codes.len()).map(|i| s.get(i).map(Cow::Borrowed)).collect()),
        Out::Floats(v) => P::Float64(v.iter().map(|&x| Some(f64::from(x))).collect()),
        Out::Texts(v) => P::Utf8(v.iter().map(|x| Some(Cow::Borrowed(x.as_str()))).collect()),
    }
}

/// Parquet when the name ends in .parquet, else CSV; written beside the target, then renamed.
fn write_file(path: &Path, columns: &[(String, Out<'_>)]) -> Result<()> {
    let mut bytes = Vec::new();
    let parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if parquet {
        let cols = columns.iter().map(|(n, c)| (n.clone(), parquet_column(c))).collect();
        riskops_parquet::write_columns(&mut bytes, cols, &[]).map_err(|e| anyhow!("writing Parquet: {e}"))?;
    } else {
        write_csv(&mut bytes, columns)?;
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| anyhow!("--output {} is not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
