//! `riskops audit log|export|verify`.

use crate::cli::{AuditCommand, Format};
use crate::client::Client;
use crate::output::{emit, str_field, table};
use anyhow::{Context, Result, anyhow};
use riskops_core::audit::{AuditEvent, ChainReport, parse_json_strict};
use riskops_core::checkpoint::{Checkpoint, TrailVerifier};
use riskops_core::signing::PublicKey;
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
            // Checkpoints first: each then covers an event that the event pages below include.
            // (Read after the events, one signed in between would look like a cut-off tail.)
            let checkpoints = client.get("/api/v1/audit/checkpoints").await?;
            let checkpoints = checkpoints["checkpoints"].as_array().cloned().unwrap_or_default();
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
            for c in &checkpoints {
                writeln!(out, "{c}")?;
            }
            out.flush()?;
            if let Some(path) = output {
                eprintln!("wrote {count} events and {} checkpoints to {}", checkpoints.len(), path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint => {
            let client = server()?;
            let all = client.get("/api/v1/audit/checkpoints").await?;
            let Some(latest) = all["checkpoints"].as_array().and_then(|c| c.last()).cloned() else {
                anyhow::bail!("the server has signed no checkpoint yet (it does so moments after the first change)");
            };
            println!("{latest}");
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { data_dir, file, public_key, checkpoint } => {
            let kept = read_kept_checkpoints(&checkpoint)?;
            if !checkpoint.is_empty() && data_dir.is_none() && file.is_none() {
                anyhow::bail!("--checkpoint checks a copy: use it with --data-dir or --file");
            }
            let pinned = public_key
                .as_deref()
                .map(PublicKey::from_hex)
                .transpose()
                .map_err(|e| anyhow!("--public-key: {}", e.message))?;
            let doc = match (data_dir, file) {
                (Some(dir), _) => {
                    let path = dir.join(riskops_store::sqlite::FILE_NAME);
                    if !path.is_file() {
                        anyhow::bail!("{} has no {}", dir.display(), riskops_store::sqlite::FILE_NAME);
                    }
                    report_json(riskops_store::sqlite::verify_file(&path, pinned.as_ref(), kept)?)
                }
                (None, Some(file)) => report_json(verify_export(&file, pinned.as_ref(), kept)?),
                (None, None) => {
                    let query = pinned.map(|k| format!("?public_key={}", k.to_hex())).unwrap_or_default();
                    let v = server()?.get(&format!("/api/v1/audit/verify{query}")).await?;
                    if v["ok"].as_bool().is_none() {
                        anyhow::bail!("unexpected verify answer: {v}");
                    }
                    v
                }
            };
            let ok = doc["ok"] == true;
            emit(format, &doc, |d| {
                if d["ok"] == true {
                    println!("audit trail intact: {} events, head {}", d["events"], str_field(d, "head"));
                } else {
                    println!("audit trail BROKEN at event {}: {}", d["first_bad_seq"], str_field(d, "reason"));
                    println!("{} events before it verify; last good hash {}", d["events"], str_field(d, "head"));
                }
                match d["checkpoint"].as_object() {
                    Some(c) => println!(
                        "signed checkpoint at event {} ({}, key {}); {} newer events not yet signed",
                        c["seq"],
                        c["signed_at"].as_str().unwrap_or("?"),
                        c["key_id"].as_str().unwrap_or("?"),
                        d["unsigned_tail"]
                    ),
                    None => println!("no signed checkpoint: a cut-off tail of the trail would go unnoticed"),
                }
            });
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// Checkpoint lines kept by the verifier (`{"checkpoint":…,"public_key":…}`, as `audit
/// checkpoint` and exports write them). Unlike lines inside a copy, these are trusted input:
/// a malformed one is an error, not a finding.
fn read_kept_checkpoints(paths: &[std::path::PathBuf]) -> Result<(Vec<Checkpoint>, Vec<PublicKey>)> {
    let (mut checkpoints, mut keys) = (Vec::new(), Vec::new());
    for path in paths {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let where_ = || format!("{} line {}", path.display(), i + 1);
            let v: Value = serde_json::from_str(line).with_context(|| format!("{} is not JSON", where_()))?;
            let c = v.get("checkpoint").ok_or_else(|| anyhow!("{} has no \"checkpoint\"", where_()))?;
            checkpoints.push(Checkpoint::from_json(c).map_err(|e| anyhow!("{}: {}", where_(), e.message))?);
            if let Some(k) = v["public_key"].as_str() {
                keys.push(PublicKey::from_hex(k).map_err(|e| anyhow!("{}: public_key: {}", where_(), e.message))?);
            }
        }
    }
    Ok((checkpoints, keys))
}

/// The report as printed, the same shape as the server's `GET /api/v1/audit/verify`.
fn report_json(r: ChainReport) -> Value {
    let checkpoint = r.checkpoint.map(|c| json!({"seq": c.seq, "signed_at": c.signed_at_text(), "key_id": c.key_id}));
    json!({
        "ok": r.ok,
        "events": r.events,
        "head": r.head,
        "first_bad_seq": r.first_bad_seq,
        "reason": r.reason,
        "checkpoint": checkpoint,
        "unsigned_tail": r.unsigned_tail,
    })
}

/// Verifies a JSON-lines export: events, then `{"checkpoint":…,"public_key":…}` lines. Two
/// streaming passes: the checkpoints first (they come last in the file), then the events.
fn verify_export(
    path: &std::path::Path,
    pinned: Option<&PublicKey>,
    kept: (Vec<Checkpoint>, Vec<PublicKey>),
) -> Result<ChainReport> {
    let lines = || -> Result<_> {
        let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(std::io::BufReader::new(file)
            .lines()
            .enumerate()
            .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty())))
    };
    let (mut checkpoints, mut keys, mut unreadable) = (Vec::new(), Vec::new(), Vec::new());
    for (i, line) in lines()? {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
        let Some(c) = v.get("checkpoint") else { continue };
        match Checkpoint::from_json(c) {
            Ok(c) => checkpoints.push(c),
            Err(e) => unreadable.push((c["seq"].as_i64().unwrap_or(1), format!("line {}: {}", i + 1, e.message))),
        }
        // A key edited into nonsense is no key: its checkpoints then fail.
        if let Some(Ok(k)) = v["public_key"].as_str().map(PublicKey::from_hex) {
            keys.push(k);
        }
    }
    checkpoints.extend(kept.0);
    keys.extend(kept.1);
    let mut verifier = TrailVerifier::new(checkpoints, &keys, pinned);
    for (seq, reason) in unreadable {
        verifier.unreadable_checkpoint(seq, reason);
    }
    for (i, line) in lines()? {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        match event_line(&line) {
            Ok(None) => {}
            Ok(Some(event)) => {
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

/// One line of an export as an event (`None` for a checkpoint line). A line must be the
/// event exactly as exported: no key twice and no added white space, so that one event has
/// one text (the hash would not notice either).
fn event_line(line: &str) -> std::result::Result<Option<AuditEvent>, String> {
    let v = parse_json_strict(line)?;
    if v.get("checkpoint").is_some() {
        return Ok(None);
    }
    // Compared as text: `Value == str` would compare with a JSON string instead.
    let as_exported = v.to_string();
    if as_exported != line {
        return Err("it is not written as exported (white space or escapes differ)".to_string());
    }
    AuditEvent::from_json(&v).map(Some)
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
