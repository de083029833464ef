//! `riskops evidence|promotion|policy …` and the governance side of `riskops model`:
//! promote, rollback, stage, verify.

use super::dataset::split_version;
use crate::cli::{EvidenceCommand, Format, PolicyCommand, PromotionCommand};
use crate::client::{Answer, Client};
use crate::output::{emit, show, str_field, table};
use anyhow::{Context, Result, bail};
use riskops_api::governance::{
    DecisionRequest, DeploymentView, EvidenceList, EvidenceMetadata, EvidenceView, PolicyView, PromoteRequest,
    PromotionList, PromotionResponse, RollbackRequest, SignatureView, StagesView,
};
use riskops_api::registry::ModelVersionView;
use riskops_api::system::SigningKeyInfo;
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
            let metadata = EvidenceMetadata { kind, passed, summary };
            let path = format!("/api/v1/models/{name}/versions/{v}/evidence");
            let added = client.upload::<_, EvidenceView>(&path, &metadata, &file).await?;
            show(format, &added, |e| println!("{} evidence for {}@{}: {}", e.kind, e.model, e.version, e.digest));
        }
        EvidenceCommand::List { version } => {
            let (name, v) = split_version(&version);
            let list = client.get::<EvidenceList>(&format!("/api/v1/models/{name}/versions/{v}/evidence")).await?;
            show(format, &list, |v| {
                let rows: Vec<Vec<String>> = v
                    .evidence
                    .iter()
                    .map(|s| {
                        let e = &s.evidence;
                        let passed = e.passed.map_or("-", |p| if p { "passed" } else { "FAILED" });
                        let counts = match &s.does_not_count {
                            Some(why) => format!("no: {why}"),
                            None if s.counts => "yes".to_string(),
                            None => "-".to_string(),
                        };
                        vec![
                            e.id.to_string(),
                            e.kind.clone(),
                            passed.into(),
                            e.created_by.clone(),
                            e.summary.clone(),
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
            let list = client.get::<PromotionList>(&format!("/api/v1/promotions{q}")).await?;
            show(format, &list, |v| {
                let rows: Vec<Vec<String>> = v
                    .promotions
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.to_string(),
                            format!("{}@{}", p.model, p.version),
                            p.environment.clone(),
                            p.status.clone(),
                            p.requested_by.clone(),
                            p.missing.join(", "),
                        ]
                    })
                    .collect();
                table(&["ID", "VERSION", "TO", "STATUS", "BY", "MISSING"], &rows);
            });
            return Ok(());
        }
        PromotionCommand::Show { id } => client.get::<PromotionResponse>(&format!("/api/v1/promotions/{id}")).await?,
        PromotionCommand::Approve { id, comment } => {
            client.post(&format!("/api/v1/promotions/{id}/approve"), &DecisionRequest { comment }).await?
        }
        PromotionCommand::Reject { id, comment } => {
            client.post(&format!("/api/v1/promotions/{id}/reject"), &DecisionRequest { comment }).await?
        }
    };
    show(format, &shown, print_promotion);
    Ok(())
}

pub fn print_promotion(p: &PromotionResponse) {
    println!(
        "promotion {}: {}@{} → {}  [{}]  ({} tier, requested by {})",
        p.id, p.model, p.version, p.environment, p.status, p.tier, p.requested_by
    );
    if !p.missing_reasons.is_empty() {
        println!("missing:");
        for r in &p.missing_reasons {
            println!("  {}: {}", r.requirement, r.reason);
        }
    }
    if let Some(reason) = &p.closed_reason {
        println!("closed: {reason}");
    }
    for d in &p.decisions {
        println!("  {} by {} ({}) {}", d.decision, d.by, d.roles.join(", "), d.comment);
    }
}

pub async fn policy(client: &Client, format: Format, command: PolicyCommand) -> Result<()> {
    let shown = match command {
        PolicyCommand::Show => client.get::<PolicyView>("/api/v1/policy").await?,
        PolicyCommand::Set { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let doc: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
            // Accept both the bare policy and `policy show`'s {"version","policy"} wrapper.
            let doc = if doc.get("policy").is_some() { doc["policy"].clone() } else { doc };
            client.put("/api/v1/policy", &doc).await?
        }
    };
    // The text form is the answer as sent too: the policy is a document to read whole.
    emit(format, &shown.json, |v| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()));
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
    let body = PromoteRequest { to: to.to_string(), reason: reason.to_string() };
    let made =
        client.post::<_, PromotionResponse>(&format!("/api/v1/models/{name}/versions/{v}/promotions"), &body).await?;
    let Some(timeout) = wait else {
        show(format, &made, print_promotion);
        return Ok(ExitCode::SUCCESS);
    };
    let (last, timed_out) = wait_for_decision(client, made, timeout).await?;
    show(format, &last, print_promotion);
    let (id, status) = (last.id, last.status.as_str());
    if timed_out {
        eprintln!("error: promotion {id} is still {status} after {}", humanize(timeout));
        return Ok(ExitCode::from(1));
    }
    if status == "completed" {
        return Ok(ExitCode::SUCCESS);
    }
    match &last.closed_reason {
        Some(reason) => eprintln!("error: promotion {id} was closed: {reason}"),
        None => eprintln!("error: promotion {id} was {status}"),
    }
    Ok(ExitCode::from(1))
}

/// How often `promote --wait` asks.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Polls the request until it is no longer pending or `timeout` passes; returns the request
/// as last seen and whether time ran out. Says on stderr what it still waits for.
async fn wait_for_decision(
    client: &Client,
    mut request: Answer<PromotionResponse>,
    timeout: std::time::Duration,
) -> Result<(Answer<PromotionResponse>, bool)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut said = String::new();
    loop {
        if request.status != "pending" {
            return Ok((request, false));
        }
        let missing = request.missing.join(", ");
        if missing != said {
            eprintln!("waiting for promotion {}: missing {missing}", request.id);
            said = missing;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok((request, true));
        }
        tokio::time::sleep(POLL_EVERY.min(deadline - now)).await;
        request = client.get(&format!("/api/v1/promotions/{}", request.id)).await?;
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
    let body = RollbackRequest { version, environment: Some(env.to_string()), reason: reason.to_string() };
    let done = client.post::<_, DeploymentView>(&format!("/api/v1/models/{name}/rollback"), &body).await?;
    show(format, &done, |d| {
        println!("{}@{} is back in {} (emergency rollback, gates skipped)", d.model, d.version, d.environment);
    });
    Ok(())
}

pub async fn stage(client: &Client, format: Format, name: &str, at: Option<&str>) -> Result<()> {
    // A bare date means its start, in UTC.
    let at = at.map(|t| if t.contains('T') { t.to_string() } else { format!("{t}T00:00:00Z") });
    let query = at.map(|t| format!("?at={}", t.replace('+', "%2B"))).unwrap_or_default();
    let stages = client.get::<StagesView>(&format!("/api/v1/models/{name}/stages{query}")).await?;
    show(format, &stages, |s| {
        println!("{} at {}", s.model, s.at);
        let envs = [("staging", &s.environments.staging), ("production", &s.environments.production)];
        for (env, d) in envs {
            let version = match d {
                None => "-".to_string(),
                Some(d) => format!("version {} since {}", d.version, d.since),
            };
            println!("  {env:<11} {version}");
        }
        let stages: Vec<String> =
            s.versions.iter().map(|v| format!("{}: {}", v.version, v.stages.join(", "))).collect();
        if !stages.is_empty() {
            println!("  versions    {}", stages.join("; "));
        }
        let rows: Vec<Vec<String>> = s
            .history
            .iter()
            .map(|d| {
                let how = if d.emergency {
                    "ROLLBACK".to_string()
                } else {
                    format!("promotion {}", d.promotion_id.map_or("null".to_string(), |id| id.to_string()))
                };
                vec![
                    d.since.clone(),
                    d.until.clone().unwrap_or_else(|| "now".into()),
                    d.environment.clone(),
                    d.version.to_string(),
                    d.by.clone(),
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
            let stages: StagesView = serde_json::from_str(&text).with_context(|| {
                format!("--record {} is not a stage record (`riskops model stage NAME --format json`)", path.display())
            })?;
            if stages.model != name {
                bail!("--record {} is the stage record of {:?}, not of {name}", path.display(), stages.model);
            }
            let number: u32 = v.parse().with_context(|| "offline, give the version number: NAME@V")?;
            let digest = stages
                .history
                .iter()
                .find(|d| d.version == number)
                .map(|d| d.digest.clone())
                .with_context(|| format!("--record has no deployment of {name}@{number}"))?;
            (number, digest, stages)
        }
        None => {
            let record = client.get::<ModelVersionView>(&format!("/api/v1/models/{name}/versions/{v}")).await?.body;
            let stages = client.get::<StagesView>(&format!("/api/v1/models/{name}/stages")).await?.body;
            (record.version, record.digest, stages)
        }
    };
    let key_hex = match (pinned, record) {
        (Some(k), _) => k.to_string(),
        (None, Some(_)) => bail!("offline (--record), pin the key with --public-key"),
        (None, None) => client.get::<SigningKeyInfo>("/api/v1/signing-key").await?.body.public_key,
    };
    let key = PublicKey::from_hex(&key_hex).map_err(|e| anyhow::anyhow!("public key: {}", e.message))?;
    let signed: Vec<(&DeploymentView, &SignatureView)> = stages
        .history
        .iter()
        .filter(|d| d.version == number)
        .filter_map(|d| d.signature.as_ref().map(|s| (d, s)))
        .collect();
    let mut reasons = Vec::new();
    if file_digest != digest {
        reasons.push(format!("the file's digest {file_digest} is not the registered {digest}"));
    }
    let signature_ok = signed.iter().any(|(d, signature)| {
        let message = model_signature_message(&name, number, &d.environment, &file_digest);
        Signature::from_hex(&signature.signature).is_ok_and(|s| key.verify(&message, &s).is_ok())
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
