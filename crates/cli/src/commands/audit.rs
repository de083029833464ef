//! `riskops audit log|export|verify`.

use crate::cli::{AuditCommand, Format};
use crate::client::Client;
use crate::output::{emit, str_field, table};
use anyhow::{Context, Result, anyhow};
use riskops_core::audit::{AuditEvent, ChainReport, ChainVerifier};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::process::ExitCode;

/// Events per request while exporting or verifying through the server.
const PAGE: u32 = 10_000;

pub async fn run(client: Option<&Client>, format: Format, command: AuditCommand) -> Result<ExitCode> {
    let server = || client.ok_or_else(|| anyhow!("this command talks to a server"));
    match command {
        AuditCommand::Log { actor, target, since, limit } => {
            let mut query = vec![format!("limit={limit}")];
            for (k, v) in [("actor", actor), ("target", target), ("since", since)] {
                if let Some(v) = v {
                    query.push(format!("{k}={}", encode(&v)));
                }
            }
            let list = server()?.get(&format!("/api/v1/audit/events?{}", query.join("&"))).await?;
            emit(format, &list, |l| {
                let rows: Vec<Vec<String>> = l["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        vec![
                            e["seq"].to_string(),
                            str_field(e, "time").into(),
                            str_field(e, "actor").into(),
                            str_field(e, "action").into(),
                            str_field(e, "target").into(),
                        ]
                    })
                    .collect();
                table(&["SEQ", "TIME", "ACTOR", "ACTION", "TARGET"], &rows);
            });
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { output } => {
            let client = server()?;
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            let mut after = 0i64;
            let mut count = 0u64;
            loop {
                let page = client.get(&format!("/api/v1/audit/events?after={after}&limit={PAGE}")).await?;
                let events = page["events"].as_array().cloned().unwrap_or_default();
                let Some(last) = events.last() else { break };
                after = last["seq"].as_i64().unwrap_or(after);
                for e in &events {
                    writeln!(out, "{e}")?;
                    count += 1;
                }
            }
            out.flush()?;
            if let Some(path) = output {
                eprintln!("wrote {count} events to {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { data_dir, file } => {
            let report = match (data_dir, file) {
                (Some(dir), _) => {
                    let path = dir.join(riskops_store::sqlite::FILE_NAME);
                    if !path.is_file() {
                        anyhow::bail!("{} has no {}", dir.display(), riskops_store::sqlite::FILE_NAME);
                    }
                    riskops_store::sqlite::verify_file(&path)?
                }
                (None, Some(file)) => verify_export(&file)?,
                (None, None) => {
                    let v = server()?.get("/api/v1/audit/verify").await?;
                    serde_json::from_value::<ReportJson>(v).map(Into::into).context("unexpected verify answer")?
                }
            };
            let doc = json!({"ok": report.ok, "events": report.events, "head": report.head, "first_bad_seq": report.first_bad_seq, "reason": report.reason});
            emit(format, &doc, |d| {
                if d["ok"] == true {
                    println!("audit trail intact: {} events, head {}", d["events"], str_field(d, "head"));
                } else {
                    println!("audit trail BROKEN at event {}: {}", d["first_bad_seq"], str_field(d, "reason"));
                    println!("{} events before it verify; last good hash {}", d["events"], str_field(d, "head"));
                }
            });
            Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

#[derive(serde::Deserialize)]
struct ReportJson {
    ok: bool,
    events: u64,
    head: String,
    first_bad_seq: Option<i64>,
    reason: Option<String>,
}

impl From<ReportJson> for ChainReport {
    fn from(r: ReportJson) -> Self {
        ChainReport { ok: r.ok, events: r.events, head: r.head, first_bad_seq: r.first_bad_seq, reason: r.reason }
    }
}

/// Verifies a JSON-lines export, one event per line, streaming.
fn verify_export(path: &std::path::Path) -> Result<ChainReport> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut verifier = ChainVerifier::default();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed =
            serde_json::from_str::<Value>(&line).map_err(|e| e.to_string()).and_then(|v| AuditEvent::from_json(&v));
        match parsed {
            Ok(event) => {
                if !verifier.push(&event) {
                    break;
                }
            }
            Err(e) => {
                verifier.unreadable(i64::MAX, format!("line {} is not an event: {e}", i + 1));
                break;
            }
        }
    }
    Ok(verifier.finish())
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
