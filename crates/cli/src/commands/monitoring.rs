//! `riskops log FILE …` and `riskops monitor configure|show`.

use super::identities::items;
use crate::cli::{Format, LogArgs, MonitorCommand};
use crate::client::Client;
use crate::output::{emit, str_field, table_or};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::io::BufRead;

/// Sends the file in batches of `--batch` records, with a progress bar.
pub async fn log(client: &Client, format: Format, args: LogArgs) -> Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let path = format!("/api/v1/projects/{}/models/{}/predictions", args.project, args.model);
    let name = args.file.to_string_lossy().to_lowercase();
    // Parquet is known by its magic bytes (whatever the name); a `.parquet` file without
    // them goes to the Parquet reader too, which says it is not Parquet.
    let batches: Vec<(String, Vec<u8>, u64)> = if riskops_parquet::is_parquet(&args.file) || name.ends_with(".parquet")
    {
        parquet_batches(&args.file, args.batch, args.version)?
    } else if name.ends_with(".csv") {
        csv_batches(&args.file, args.batch)?
    } else {
        json_batches(&args.file, args.batch, args.version, name.ends_with(".json"))?
    };
    let total: u64 = batches.iter().map(|(_, _, n)| n).sum();
    let bar = crate::progress::Progress::steps(total, "sending");
    let (mut accepted, mut duplicates, mut sent) = (0u64, 0u64, 0u64);
    let mut rejected = Vec::new();
    for (content_type, body, n) in batches {
        let answer = client.post_bytes(&path, &content_type, body).await?;
        accepted += answer["accepted"].as_u64().unwrap_or(0);
        duplicates += answer["duplicates"].as_u64().unwrap_or(0);
        for r in items(&answer, "rejected") {
            let mut r = r.clone();
            r["index"] = json!(sent + r["index"].as_u64().unwrap_or(0));
            rejected.push(r);
        }
        sent += n;
        bar.set(sent);
    }
    bar.finish();
    let summary = json!({"records": total, "accepted": accepted, "duplicates": duplicates, "rejected": rejected});
    emit(format, &summary, |s| {
        println!(
            "{} records: {accepted} accepted, {duplicates} already sent, {} rejected",
            s["records"],
            rejected.len()
        );
        for r in rejected.iter().take(20) {
            println!(
                "  record {} ({}): {}",
                r["index"],
                r["id"].as_str().unwrap_or("-"),
                super::identities::join(&r["reasons"])
            );
        }
    });
    Ok(())
}

/// NDJSON or a JSON array, re-batched as NDJSON; `--version` fills records without one.
fn json_batches(
    file: &std::path::Path,
    size: usize,
    version: Option<u32>,
    array: bool,
) -> Result<Vec<(String, Vec<u8>, u64)>> {
    let open = || std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()));
    let records: Vec<Value> = if array {
        let v: Value = serde_json::from_reader(std::io::BufReader::new(open()?))
            .with_context(|| format!("{} is not JSON", file.display()))?;
        v.as_array().cloned().with_context(|| format!("{} must hold a JSON array of records", file.display()))?
    } else {
        let mut out = Vec::new();
        for (i, line) in std::io::BufReader::new(open()?).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", file.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            out.push(
                serde_json::from_str(&line)
                    .with_context(|| format!("{} line {} is not JSON", file.display(), i + 1))?,
            );
        }
        out
    };
    Ok(records
        .chunks(size)
        .map(|chunk| {
            let mut body = String::new();
            for r in chunk {
                let mut r = r.clone();
                if let (Some(v), Some(obj)) = (version, r.as_object_mut()) {
                    obj.entry("version").or_insert(json!(v.to_string()));
                }
                body.push_str(&r.to_string());
                body.push('\n');
            }
            ("application/x-ndjson".to_string(), body.into_bytes(), chunk.len() as u64)
        })
        .collect())
}

/// CSV split into batches that each repeat the header.
fn csv_batches(file: &std::path::Path, size: usize) -> Result<Vec<(String, Vec<u8>, u64)>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut lines = text.lines();
    let header = lines.next().with_context(|| format!("{} is empty", file.display()))?;
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    Ok(rows
        .chunks(size)
        .map(|chunk| {
            ("text/csv".to_string(), format!("{header}\n{}\n", chunk.join("\n")).into_bytes(), chunk.len() as u64)
        })
        .collect())
}

/// The parts of a record, by column name: the CSV's naming (`riskops log --help`), so that a
/// CSV and a Parquet file with the same columns mean the same records.
enum RecordColumn {
    Id,
    Version,
    /// `timestamp` and `prediction`: sent even when missing, for the server to name.
    Required(&'static str),
    /// `score`, `label` and `latency_ms`: left out of the record when missing.
    Optional(&'static str),
    Attribute(String),
    Feature(String),
}

impl RecordColumn {
    fn of(name: &str) -> RecordColumn {
        match name {
            "id" => RecordColumn::Id,
            "version" => RecordColumn::Version,
            "timestamp" => RecordColumn::Required("timestamp"),
            "prediction" => RecordColumn::Required("prediction"),
            "score" => RecordColumn::Optional("score"),
            "label" => RecordColumn::Optional("label"),
            "latency_ms" => RecordColumn::Optional("latency_ms"),
            _ => match name.strip_prefix("attr.") {
                Some(attribute) => RecordColumn::Attribute(attribute.to_string()),
                None => RecordColumn::Feature(name.to_string()),
            },
        }
    }
}

/// A Parquet file of records, checked whole before anything is sent, re-batched as NDJSON;
/// `--version` fills records without one. Values keep the types the file gives them.
fn parquet_batches(file: &std::path::Path, size: usize, version: Option<u32>) -> Result<Vec<(String, Vec<u8>, u64)>> {
    use riskops_data::Values;
    // The message already names the file and the cause: not repeated as an error chain.
    let read = riskops_parquet::read_parquet_with(file, None, riskops_parquet::Typing::Stored, &|_| {})
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let table = &read.table;
    let shown = file.display();
    for (name, reason) in &read.skipped {
        match RecordColumn::of(name) {
            RecordColumn::Feature(_) | RecordColumn::Attribute(_) => {
                eprintln!("warning: {shown}: column {name:?} is not sent: {reason}");
            }
            _ => bail!("{shown}: column {name:?} cannot be read: {reason}"),
        }
    }
    for name in ["id", "timestamp", "prediction"] {
        if table.column(name).is_none() {
            bail!(
                "{shown}: no column {name:?} (every record needs id, timestamp and prediction; columns: {})",
                table.names().collect::<Vec<_>>().join(", ")
            );
        }
    }
    for column in &table.columns {
        let wrong = match (RecordColumn::of(&column.name), &column.values) {
            // A float id column is an integer column with gaps (or real floats): neither names records.
            (RecordColumn::Id, Values::Float(_) | Values::Bool(_)) => Some("text or integers without gaps"),
            (RecordColumn::Required("timestamp"), Values::Str(_) | Values::Bool(_)) => {
                Some("unix seconds: integers, floats or a Parquet timestamp")
            }
            _ => None,
        };
        if let Some(expected) = wrong {
            let found = match column.values {
                Values::Int(_) => "integers",
                Values::Float(_) => "floats (an integer column with gaps is read as floats)",
                Values::Bool(_) => "booleans",
                Values::Str(_) => "text",
            };
            bail!("{shown}: column {:?} holds {found}, but it must be {expected}", column.name);
        }
    }

    let roles: Vec<RecordColumn> = table.columns.iter().map(|c| RecordColumn::of(&c.name)).collect();
    // A bool column with gaps arrives as "True"/"False" text; the CSV reader would make
    // booleans of those cells, and so does this.
    let booleans: Vec<bool> = table
        .columns
        .iter()
        .map(|c| matches!(&c.values, Values::Str(s) if s.dictionary.iter().all(|t| t == "True" || t == "False")))
        .collect();
    let cell = |column: usize, row: usize| -> Value {
        match &table.columns[column].values {
            Values::Int(v) => json!(v[row]),
            Values::Float(v) if v[row].is_nan() => Value::Null,
            Values::Float(v) if v[row].is_finite() => json!(v[row]),
            // JSON has no infinities; the CSV reader keeps "inf" as text too.
            Values::Float(v) => json!(if v[row] > 0.0 { "inf" } else { "-inf" }),
            Values::Bool(v) => json!(v[row]),
            Values::Str(s) => match s.get(row) {
                None => Value::Null,
                Some(text) if booleans[column] => json!(text == "True"),
                Some(text) => json!(text),
            },
        }
    };
    // Ids, versions and attributes are names: sent as text, as the CSV reader sends them.
    let text = |value: Value| -> Option<Value> {
        match value {
            Value::Null => None,
            Value::Bool(b) => Some(json!(if b { "True" } else { "False" })),
            Value::String(_) => Some(value),
            Value::Number(n) => Some(json!(n.as_i64().map_or_else(|| n.to_string(), |i| i.to_string()))),
            other => Some(other),
        }
    };
    let mut batches = Vec::new();
    let mut body = String::new();
    for row in 0..table.rows {
        let (mut record, mut features, mut attributes) =
            (serde_json::Map::new(), serde_json::Map::new(), serde_json::Map::new());
        for (column, role) in roles.iter().enumerate() {
            let value = cell(column, row);
            match role {
                RecordColumn::Id => {
                    record.insert("id".into(), text(value).unwrap_or(Value::Null));
                }
                RecordColumn::Version => {
                    // A version column with gaps is float64: 1.0 is version "1".
                    let value = match value.as_f64() {
                        Some(x) if x.fract() == 0.0 && !value.is_i64() => json!(x as i64),
                        _ => value,
                    };
                    if let Some(v) = text(value) {
                        record.insert("version".into(), v);
                    }
                }
                RecordColumn::Required(name) => {
                    record.insert((*name).into(), value);
                }
                RecordColumn::Optional(name) => {
                    if !value.is_null() {
                        record.insert((*name).into(), value);
                    }
                }
                RecordColumn::Attribute(name) => {
                    if let Some(v) = text(value) {
                        attributes.insert(name.clone(), v);
                    }
                }
                RecordColumn::Feature(name) => {
                    features.insert(name.clone(), value);
                }
            }
        }
        if let Some(v) = version {
            record.entry("version").or_insert(json!(v.to_string()));
        }
        record.insert("features".into(), Value::Object(features));
        record.insert("attributes".into(), Value::Object(attributes));
        body.push_str(&Value::Object(record).to_string());
        body.push('\n');
        if (row + 1) % size == 0 || row + 1 == table.rows {
            let records = (row % size + 1) as u64;
            batches.push(("application/x-ndjson".to_string(), std::mem::take(&mut body).into_bytes(), records));
        }
    }
    Ok(batches)
}

pub async fn monitor(client: &Client, format: Format, command: MonitorCommand) -> Result<()> {
    match command {
        MonitorCommand::Configure {
            project,
            model,
            window,
            task,
            positive,
            exclude,
            sensitive,
            retention_days,
            min_records,
        } => {
            let body = json!({
                "window": window, "task": task, "positive": positive, "exclude": exclude, "sensitive": sensitive,
                "retention_days": retention_days, "min_records": min_records,
            });
            let config = client.put(&format!("/api/v1/projects/{project}/models/{model}/monitor"), &body).await?;
            emit(format, &config, |c| {
                println!(
                    "{model}: {} windows, {} task, raw records kept {} days, drift judged from {} records",
                    str_field(c, "window"),
                    str_field(c, "task"),
                    c["retention_days"],
                    c["min_records"]
                )
            });
        }
        MonitorCommand::Show { project, model, from, to, granularity } => {
            let mut q = Vec::new();
            for (k, v) in [("from", from), ("to", to), ("granularity", granularity)] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", v.replace('+', "%2B")));
                }
            }
            let query = if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) };
            let report = client.get(&format!("/api/v1/projects/{project}/models/{model}/monitoring{query}")).await?;
            emit(format, &report, print_windows);
        }
    }
    Ok(())
}

fn print_windows(report: &Value) {
    let rows: Vec<Vec<String>> = items(report, "windows")
        .map(|w| {
            let drifted: Vec<&str> = items(&w["drift"], "features")
                .filter(|f| f["drifted"] == true)
                .filter_map(|f| f["name"].as_str())
                .collect();
            let perf = &w["performance"];
            let metric = perf["f1"].as_f64().or(perf["r2"].as_f64()).map_or("-".to_string(), |x| format!("{x:.3}"));
            vec![
                str_field(w, "start").to_string(),
                w["version"].as_str().map(str::to_string).unwrap_or_else(|| w["version"].to_string()),
                w["records"].to_string(),
                w["labelled"].to_string(),
                w["drift"]["share"].as_f64().map_or("-".into(), |s| format!("{:.0}%", s * 100.0)),
                if drifted.is_empty() { "-".into() } else { drifted.join(", ") },
                metric,
            ]
        })
        .collect();
    table_or(
        "no windows in this period",
        &["WINDOW", "VERSION", "RECORDS", "LABELLED", "DRIFT", "DRIFTED FEATURES", "F1/R2"],
        &rows,
    );
}
