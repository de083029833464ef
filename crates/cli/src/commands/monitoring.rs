//! `riskops log FILE …` and `riskops monitor configure|show`.

use super::identities::items;
use crate::cli::{Format, LogArgs, MonitorCommand};
use crate::client::Client;
use crate::output::{emit, str_field, table};
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
    let batches: Vec<(String, Vec<u8>, u64)> = if name.ends_with(".csv") {
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

pub async fn monitor(client: &Client, format: Format, command: MonitorCommand) -> Result<()> {
    match command {
        MonitorCommand::Configure { project, model, window, task, positive, exclude, sensitive } => {
            let body = json!({"window": window, "task": task, "positive": positive, "exclude": exclude, "sensitive": sensitive});
            let config = client.put(&format!("/api/v1/projects/{project}/models/{model}/monitor"), &body).await?;
            emit(format, &config, |c| {
                println!("{model}: {} windows, {} task", str_field(c, "window"), str_field(c, "task"))
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
    if rows.is_empty() {
        println!("no windows in this period");
    } else {
        table(&["WINDOW", "VERSION", "RECORDS", "LABELLED", "DRIFT", "DRIFTED FEATURES", "F1/R2"], &rows);
    }
}
