//! `riskops evidence|promotion|policy …` and the governance side of `riskops model`:
//! promote, rollback, stage, verify.

use super::dataset::split_version;
use super::identities::{items, join};
use crate::cli::{EvidenceCommand, Format, PolicyCommand, PromotionCommand};
use crate::client::Client;
use crate::output::{emit, str_field, table};
use anyhow::{Context, Result, bail};
use riskops_core::signing::{PublicKey, Signature, model_signature_message};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

pub async fn evidence(client: &Client, format: Format, command: EvidenceCommand) -> Result<()> {
    match command {
        EvidenceCommand::Add { version, kind, file, passed, summary } => {
            if !file.is_file() {
                bail!("--file {} is not a readable file", file.display());
            }
            let (name, v) = split_version(&version);
            let metadata = json!({"kind": kind, "passed": passed, "summary": summary});
            let added =
                client.upload(&format!("/api/v1/models/{name}/versions/{v}/evidence"), &metadata, &file).await?;
            emit(format, &added, |e| {
                println!(
                    "{} evidence for {}@{}: {}",
                    str_field(e, "kind"),
                    str_field(e, "model"),
                    e["version"],
                    str_field(e, "digest")
                );
            });
        }
        EvidenceCommand::List { version } => {
            let (name, v) = split_version(&version);
            let list = client.get(&format!("/api/v1/models/{name}/versions/{v}/evidence")).await?;
            emit(format, &list, |v| {
                let rows: Vec<Vec<String>> = items(v, "evidence")
                    .map(|e| {
                        let passed = e["passed"].as_bool().map_or("-", |p| if p { "passed" } else { "FAILED" });
                        let counts = match e["does_not_count"].as_str() {
                            Some(why) => format!("no: {why}"),
                            None if e["counts"] == true => "yes".to_string(),
                            None => "-".to_string(),
                        };
                        vec![
                            e["id"].to_string(),
                            str_field(e, "kind").into(),
                            passed.into(),
                            str_field(e, "created_by").into(),
                            str_field(e, "summary").into(),
                            counts,
                        ]
                    })
                    .collect();
                table(&["ID", "KIND", "RESULT", "BY", "SUMMARY", "COUNTS TOWARD THE GATE"], &rows);
            });
        }
    }
    Ok(())
}

pub async fn promotion(client: &Client, format: Format, command: PromotionCommand) -> Result<()> {
    let shown = match command {
        PromotionCommand::List { model, status } => {
            let mut query = Vec::new();
            if let Some(m) = model {
                query.push(format!("model={m}"));
            }
            if let Some(s) = status {
                query.push(format!("status={s}"));
            }
            let q = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
            let list = client.get(&format!("/api/v1/promotions{q}")).await?;
            emit(format, &list, |v| {
                let rows: Vec<Vec<String>> = items(v, "promotions")
                    .map(|p| {
                        vec![
                            p["id"].to_string(),
                            format!("{}@{}", str_field(p, "model"), p["version"]),
                            str_field(p, "environment").into(),
                            str_field(p, "status").into(),
                            str_field(p, "requested_by").into(),
                            join(&p["missing"]),
                        ]
                    })
                    .collect();
                table(&["ID", "VERSION", "TO", "STATUS", "BY", "MISSING"], &rows);
            });
            return Ok(());
        }
        PromotionCommand::Show { id } => client.get(&format!("/api/v1/promotions/{id}")).await?,
        PromotionCommand::Approve { id, comment } => {
            client.post(&format!("/api/v1/promotions/{id}/approve"), &json!({"comment": comment})).await?
        }
        PromotionCommand::Reject { id, comment } => {
            client.post(&format!("/api/v1/promotions/{id}/reject"), &json!({"comment": comment})).await?
        }
    };
    emit(format, &shown, print_promotion);
    Ok(())
}

pub fn print_promotion(p: &Value) {
    println!(
        "promotion {}: {}@{} → {}  [{}]  ({} tier, requested by {})",
        p["id"],
        str_field(p, "model"),
        p["version"],
        str_field(p, "environment"),
        str_field(p, "status"),
        str_field(p, "tier"),
        str_field(p, "requested_by")
    );
    let reasons: Vec<&Value> = items(p, "missing_reasons").collect();
    if reasons.is_empty() {
        // An older server: the requirements without their reasons.
        let missing = join(&p["missing"]);
        if !missing.is_empty() {
            println!("missing: {missing}");
        }
    } else {
        println!("missing:");
        for r in reasons {
            println!("  {}: {}", str_field(r, "requirement"), str_field(r, "reason"));
        }
    }
    if let Some(reason) = p["closed_reason"].as_str() {
        println!("closed: {reason}");
    }
    for d in items(p, "decisions") {
        println!(
            "  {} by {} ({}) {}",
            str_field(d, "decision"),
            str_field(d, "by"),
            join(&d["roles"]),
            str_field(d, "comment")
        );
    }
}

pub async fn policy(client: &Client, format: Format, command: PolicyCommand) -> Result<()> {
    let shown = match command {
        PolicyCommand::Show => client.get("/api/v1/policy").await?,
        PolicyCommand::Set { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let doc: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
            // Accept both the bare policy and `policy show`'s {"version","policy"} wrapper.
            let doc = if doc.get("policy").is_some() { doc["policy"].clone() } else { doc };
            client.put("/api/v1/policy", &doc).await?
        }
    };
    emit(format, &shown, |v| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()));
    Ok(())
}

/// Asks for the promotion; with `wait` (a timeout), polls the request until it is decided.
/// Exit status 0 when asked (no wait) or completed; 1 when rejected, closed or timed out.
pub async fn promote(
    client: &Client,
    format: Format,
    version: &str,
    to: &str,
    reason: &str,
    wait: Option<std::time::Duration>,
) -> Result<ExitCode> {
    let (name, v) = split_version(version);
    let made = client
        .post(&format!("/api/v1/models/{name}/versions/{v}/promotions"), &json!({"to": to, "reason": reason}))
        .await?;
    let Some(timeout) = wait else {
        emit(format, &made, print_promotion);
        return Ok(ExitCode::SUCCESS);
    };
    let (last, timed_out) = wait_for_decision(client, made, timeout).await?;
    emit(format, &last, print_promotion);
    let status = str_field(&last, "status");
    if timed_out {
        eprintln!("error: promotion {} is still {status} after {}", last["id"], humanize(timeout));
        return Ok(ExitCode::from(1));
    }
    if status == "completed" {
        return Ok(ExitCode::SUCCESS);
    }
    match last["closed_reason"].as_str() {
        Some(reason) => eprintln!("error: promotion {} was closed: {reason}", last["id"]),
        None => eprintln!("error: promotion {} was {status}", last["id"]),
    }
    Ok(ExitCode::from(1))
}

/// How often `promote --wait` asks.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Polls the request until it is no longer pending or `timeout` passes; returns the request
/// as last seen and whether time ran out. Says on stderr what it still waits for.
async fn wait_for_decision(client: &Client, mut request: Value, timeout: std::time::Duration) -> Result<(Value, bool)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut said = String::new();
    loop {
        if str_field(&request, "status") != "pending" {
            return Ok((request, false));
        }
        let missing = join(&request["missing"]);
        if missing != said {
            eprintln!("waiting for promotion {}: missing {missing}", request["id"]);
            said = missing;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok((request, true));
        }
        tokio::time::sleep(POLL_EVERY.min(deadline - now)).await;
        request = client.get(&format!("/api/v1/promotions/{}", request["id"])).await?;
    }
}

/// `3600s` as `1h`, `90s` as `90s`: the timeout as the user would write it.
fn humanize(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s >= 86_400 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s >= 3_600 && s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

pub async fn rollback(
    client: &Client,
    format: Format,
    name: &str,
    version: u32,
    env: &str,
    reason: &str,
) -> Result<()> {
    let body = json!({"version": version, "environment": env, "reason": reason});
    let done = client.post(&format!("/api/v1/models/{name}/rollback"), &body).await?;
    emit(format, &done, |d| {
        println!(
            "{}@{} is back in {} (emergency rollback, gates skipped)",
            str_field(d, "model"),
            d["version"],
            str_field(d, "environment")
        );
    });
    Ok(())
}

pub async fn stage(client: &Client, format: Format, name: &str, at: Option<&str>) -> Result<()> {
    // A bare date means its start, in UTC.
    let at = at.map(|t| if t.contains('T') { t.to_string() } else { format!("{t}T00:00:00Z") });
    let query = at.map(|t| format!("?at={}", t.replace('+', "%2B"))).unwrap_or_default();
    let stages = client.get(&format!("/api/v1/models/{name}/stages{query}")).await?;
    emit(format, &stages, |s| {
        println!("{} at {}", str_field(s, "model"), str_field(s, "at"));
        if let Some(envs) = s["environments"].as_object() {
            for (env, d) in envs {
                let version = if d.is_null() {
                    "-".to_string()
                } else {
                    format!("version {} since {}", d["version"], str_field(d, "since"))
                };
                println!("  {env:<11} {version}");
            }
        }
        let stages: Vec<String> =
            items(s, "versions").map(|v| format!("{}: {}", v["version"], join(&v["stages"]))).collect();
        if !stages.is_empty() {
            println!("  versions    {}", stages.join("; "));
        }
        let rows: Vec<Vec<String>> = items(s, "history")
            .map(|d| {
                let how = if d["emergency"] == true {
                    "ROLLBACK".to_string()
                } else {
                    format!("promotion {}", d["promotion_id"])
                };
                vec![
                    str_field(d, "since").into(),
                    d["until"].as_str().unwrap_or("now").into(),
                    str_field(d, "environment").into(),
                    d["version"].to_string(),
                    str_field(d, "by").into(),
                    how,
                ]
            })
            .collect();
        if !rows.is_empty() {
            println!();
            table(&["SINCE", "UNTIL", "ENVIRONMENT", "VERSION", "BY", "HOW"], &rows);
        }
    });
    Ok(())
}

/// Checks a file against the version's digest and the server's production signature.
/// With `record` (a saved `riskops model stage NAME --format json`) and a pinned key,
/// nothing is asked of the server: the check runs offline.
pub async fn verify(
    client: &Client,
    format: Format,
    version: &str,
    file: &Path,
    pinned: Option<&str>,
    record: Option<&Path>,
) -> Result<ExitCode> {
    let file_digest = sha256_file(file)?;
    let (name, v) = split_version(version);
    let (number, digest, stages) = match record {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read --record {}", path.display()))?;
            let stages: Value =
                serde_json::from_str(&text).with_context(|| format!("--record {} is not JSON", path.display()))?;
            if stages["model"].as_str() != Some(name.as_str()) {
                bail!("--record {} is the stage record of {:?}, not of {name}", path.display(), stages["model"]);
            }
            let number: u64 = v.parse().with_context(|| "offline, give the version number: NAME@V")?;
            let digest = items(&stages, "history")
                .find(|d| d["version"].as_u64() == Some(number))
                .map(|d| str_field(d, "digest").to_string())
                .with_context(|| format!("--record has no deployment of {name}@{number}"))?;
            (number, digest, stages)
        }
        None => {
            let record = client.get(&format!("/api/v1/models/{name}/versions/{v}")).await?;
            let number = record["version"].as_u64().context("the server's record has no version")?;
            let digest = str_field(&record, "digest").to_string();
            (number, digest, client.get(&format!("/api/v1/models/{name}/stages")).await?)
        }
    };
    let key_hex = match (pinned, record) {
        (Some(k), _) => k.to_string(),
        (None, Some(_)) => bail!("offline (--record), pin the key with --public-key"),
        (None, None) => str_field(&client.get("/api/v1/signing-key").await?, "public_key").to_string(),
    };
    let key = PublicKey::from_hex(&key_hex).map_err(|e| anyhow::anyhow!("public key: {}", e.message))?;
    let signed: Vec<&Value> = items(&stages, "history")
        .filter(|d| d["version"].as_u64() == Some(number) && d["signature"].is_object())
        .collect();
    let mut reasons = Vec::new();
    if file_digest != digest {
        reasons.push(format!("the file's digest {file_digest} is not the registered {digest}"));
    }
    let signature_ok = signed.iter().any(|d| {
        let message = model_signature_message(&name, number as u32, str_field(d, "environment"), &file_digest);
        Signature::from_hex(str_field(&d["signature"], "signature")).is_ok_and(|s| key.verify(&message, &s).is_ok())
    });
    if signed.is_empty() {
        reasons.push(format!("{name}@{number} was never signed (it has not entered production)"));
    } else if !signature_ok {
        reasons.push(format!("no production signature of {name}@{number} by key {} matches this file", key.key_id()));
    }
    let ok = reasons.is_empty();
    let result = json!({
        "ok": ok, "model": name, "version": number, "digest": digest, "file_digest": file_digest,
        "signature_valid": signature_ok, "key_id": key.key_id(), "reason": if ok { Value::Null } else { json!(reasons.join("; ")) },
    });
    emit(format, &result, |r| {
        if ok {
            println!(
                "OK: {} is {name}@{number}, signed for production by key {}",
                file.display(),
                str_field(r, "key_id")
            );
        } else {
            println!("FAILED: {}", str_field(r, "reason"));
        }
    });
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", riskops_core::encode::hex(&hasher.finalize())))
}
