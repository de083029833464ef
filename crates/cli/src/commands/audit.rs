//! `riskops audit log|export|verify`.

use crate::cli::{AuditCommand, Format};
use crate::client::{Answer, Client};
use crate::output::{show, table};
use anyhow::{Context, Result, anyhow};
use riskops_api::audit::{CheckpointList, CheckpointSummary, EventList, VerifyReport};
use riskops_api::governance::IntegrityReportView;
use riskops_core::audit::{AuditEvent, ChainReport, parse_json_strict};
use riskops_core::checkpoint::{Checkpoint, TrailVerifier};
use riskops_core::signing::PublicKey;
use serde_json::Value;
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
            let list = server()?.get::<EventList>(&format!("/api/v1/audit/events?{}", query.join("&"))).await?;
            show(format, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .events
                    .iter()
                    .map(|e| {
                        vec![e.seq.to_string(), e.time.clone(), e.actor.clone(), e.action.clone(), e.target.clone()]
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
            let checkpoints = client.get::<CheckpointList>("/api/v1/audit/checkpoints").await?.body.checkpoints;
            let mut after = 0i64;
            let mut count = 0u64;
            loop {
                let page = client.get::<EventList>(&format!("/api/v1/audit/events?after={after}&limit={PAGE}")).await?;
                let Some(last) = page.events.last() else { break };
                after = last.seq;
                // One line per event, written as the server wrote it (the verifier insists).
                for e in &page.events {
                    writeln!(out, "{}", serde_json::to_string(e)?)?;
                    count += 1;
                }
            }
            for c in &checkpoints {
                writeln!(out, "{}", serde_json::to_string(c)?)?;
            }
            out.flush()?;
            if let Some(path) = output {
                eprintln!("wrote {count} events and {} checkpoints to {}", checkpoints.len(), path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint => {
            let client = server()?;
            let all = client.get::<CheckpointList>("/api/v1/audit/checkpoints").await?;
            let Some(latest) = all.checkpoints.last() else {
                anyhow::bail!("the server has signed no checkpoint yet (it does so moments after the first change)");
            };
            println!("{}", serde_json::to_string(latest)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Integrity => {
            let report =
                server()?.post::<_, IntegrityReportView>("/api/v1/integrity/verify", &serde_json::json!({})).await?;
            let compromised = !report.body.problems.is_empty();
            show(format, &report, |r| {
                println!("{} deployment(s) verified; {} compromised", r.checked, r.problems.len());
                for p in &r.problems {
                    println!("  {}@{} in {} (project {}): {}", p.model, p.version, p.environment, p.project, p.problem);
                }
                if !r.opened_incidents.is_empty() {
                    let ids: Vec<String> = r.opened_incidents.iter().map(i64::to_string).collect();
                    println!("opened critical incident(s) {}", ids.join(", "));
                }
            });
            Ok(if compromised { ExitCode::FAILURE } else { ExitCode::SUCCESS })
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
                    local_report(riskops_store::sqlite::verify_file(&path, pinned.as_ref(), kept)?)?
                }
                (None, Some(file)) => local_report(verify_export(&file, pinned.as_ref(), kept)?)?,
                (None, None) => {
                    let query = pinned.map(|k| format!("?public_key={}", k.to_hex())).unwrap_or_default();
                    server()?.get::<VerifyReport>(&format!("/api/v1/audit/verify{query}")).await?
                }
            };
            let ok = doc.ok;
            show(format, &doc, |d| {
                let null = || "null".to_string();
                if d.ok {
                    println!("audit trail intact: {} events, head {}", d.events, d.head);
                } else {
                    let at = d.first_bad_seq.map_or_else(null, |s| s.to_string());
                    println!("audit trail BROKEN at event {at}: {}", d.reason.as_deref().unwrap_or(""));
                    println!("{} events before it verify; last good hash {}", d.events, d.head);
                }
                match &d.checkpoint {
                    Some(c) => println!(
                        "signed checkpoint at event {} ({}, key {}); {} newer events not yet signed",
                        c.seq, c.signed_at, c.key_id, d.unsigned_tail
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

/// A report made here (from a copy), in the shape of the server's `GET /api/v1/audit/verify`.
fn local_report(r: ChainReport) -> Result<Answer<VerifyReport>> {
    let checkpoint =
        r.checkpoint.map(|c| CheckpointSummary { seq: c.seq, signed_at: c.signed_at_text(), key_id: c.key_id });
    let body = VerifyReport {
        ok: r.ok,
        events: r.events,
        head: r.head,
        first_bad_seq: r.first_bad_seq,
        reason: r.reason,
        checkpoint,
        unsigned_tail: r.unsigned_tail,
    };
    Ok(Answer { json: serde_json::to_value(&body)?, body })
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
