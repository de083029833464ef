//! The automatic checks, one per control that riskops's own data can decide.

use super::evaluation::*;
use super::facts::*;
use super::revalidation_days;
use crate::context::EuAiAct;
use crate::governance::{Environment, Tier};
use crate::promotion::{Promotion, PromotionStatus};
use crate::service::TierSource;

/// The automatic check of a control, by id. A control without one is unsatisfied until
/// someone attests it.
pub(super) fn auto_check(id: &str, f: &ComplianceFacts) -> (ControlStatus, String) {
    match id {
        "C01" => inventory(f),
        "C02" => digests(f),
        "C03" => data_links(f),
        "C04" => code_links(f),
        "C05" => lineage(f),
        "C06" => independent_approval(f),
        "C07" => evidence_kind(f, "validation"),
        "C08" => revalidation(f),
        "C09" => assessed_before_go_live(f),
        "C10" => tier_rationale(f),
        "C12" => evidence_kind(f, "documentation"),
        "C14" => gated_thresholds(f),
        "C15" => monitoring_plan(f),
        "C16" => inference_logging(f),
        "C17" => audit_trail(f),
        "C18" => individual_identities(f),
        "C19" => production_roles(f),
        "C20" => (
            ControlStatus::Unsatisfied,
            "riskops serves HTTP; TLS is terminated by your proxy — attest it, with how the data directory, \
             database and artifact store are encrypted at rest"
                .to_string(),
        ),
        "C21" => session_expiry(f),
        "C22" => incident_register(f),
        "C23" => rollback_path(f),
        "C26" => (
            ControlStatus::NotApplicable,
            "riskops does not record retirement yet, so no version of this project has been retired".to_string(),
        ),
        "C27" => (
            ControlStatus::Satisfied,
            "this report gives each control's status with its reason and the coverage per framework; the gaps are \
             the controls marked unsatisfied"
                .to_string(),
        ),
        _ => (ControlStatus::Unsatisfied, "riskops has no automatic check for this control; attest it".to_string()),
    }
}

/// C01: every deployed version's project has a context, an owner and a tier.
fn inventory(f: &ComplianceFacts) -> (ControlStatus, String) {
    let deployed: Vec<String> = f.current().map(|(_, d)| format!("{} ({})", label(d), d.environment)).collect();
    let (owner, whose) = match f.risk_entries.iter().find(|e| !e.fields.owner.trim().is_empty()) {
        Some(e) => (e.fields.owner.clone(), "risk owner"),
        None => (f.project_created_by.clone(), "project creator"),
    };
    match &f.context {
        None => (
            ControlStatus::Unsatisfied,
            format!(
                "{} deployed, but project {} has no recorded context (industry, workflow, data, autonomy): its intended \
                 use is not in the inventory",
                list(&deployed),
                f.project
            ),
        ),
        Some(c) => (
            ControlStatus::Satisfied,
            format!(
                "{} in the inventory of project {}: context {} / {}, owner {owner} ({whose}), tier {} ({})",
                list(&deployed),
                f.project,
                c.industry.as_str(),
                c.workflow,
                f.tier,
                f.tier_source.as_str()
            ),
        ),
    }
}

/// C02: each current deployment records its version's digest.
fn digests(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut checked = Vec::new();
    for (m, d) in f.current() {
        match m.version(d.version) {
            None => gaps.push(format!("{} ({}) has no version record", label(d), d.environment)),
            Some(v) if v.digest != d.digest => gaps.push(format!(
                "{} ({}) was deployed with digest {} but the version's digest is {}",
                label(d),
                d.environment,
                d.digest,
                v.digest
            )),
            Some(_) => checked.push(format!("{} ({})", label(d), d.environment)),
        }
    }
    verdict(gaps, || {
        format!(
            "each deployment records its version's content digest ({}); riskops re-reads the artifact and checks it \
             against that digest before every deployment, and production entries are signed",
            list(&checked)
        )
    })
}

/// C03: training and validation data linked to each deployed version.
fn data_links(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.deployed_versions() {
        let Some(v) = m.version(d.version) else { continue };
        match (&v.training_data, &v.validation_data) {
            (Some(t), Some(val)) => found.push(format!("{} trained on {t}, validated on {val}", label(d))),
            (t, val) => {
                let mut missing = Vec::new();
                if t.is_none() {
                    missing.push("training");
                }
                if val.is_none() {
                    missing.push("validation");
                }
                gaps.push(format!("{} has no {} data linked", label(d), missing.join(" or ")));
            }
        }
    }
    verdict(gaps, || format!("{} (dataset versions are pinned by digest)", list(&found)))
}

/// C04: the code commit of each deployed version.
fn code_links(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.deployed_versions() {
        let Some(v) = m.version(d.version) else { continue };
        match &v.code {
            Some(code) => found.push(format!("{} built from {} at {}", label(d), code.repo, code.commit)),
            None => gaps.push(format!("{} has no code commit recorded", label(d))),
        }
    }
    verdict(gaps, || list(&found))
}

/// C05: lineage holds when data and code are both linked.
fn lineage(f: &ComplianceFacts) -> (ControlStatus, String) {
    let gaps: Vec<String> = [data_links(f), code_links(f)]
        .into_iter()
        .filter(|(s, _)| *s != ControlStatus::Satisfied)
        .map(|(_, r)| r)
        .collect();
    if gaps.is_empty() {
        (
            ControlStatus::Satisfied,
            "data → model → deployment is recorded for every deployed version (riskops lineage NAME@V)".to_string(),
        )
    } else {
        (ControlStatus::Unsatisfied, format!("lineage is incomplete: {}", gaps.join("; ")))
    }
}

/// C06: the promotion that put each production version there was approved by someone who
/// neither requested it nor authored the version. Emergency rollbacks are noted.
fn independent_approval(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let completed = |p: &&Promotion| {
            p.status == PromotionStatus::Completed && p.environment == Environment::Production && p.version == d.version
        };
        let promotion = match d.promotion_id {
            Some(id) => m.promotions.iter().find(|p| p.id == id),
            // An emergency rollback: the version entered production earlier through a promotion.
            None => m.promotions.iter().filter(completed).max_by_key(|p| p.id),
        };
        let Some(p) = promotion else {
            gaps.push(format!("{} is in production without a completed promotion on record", label(d)));
            continue;
        };
        let author = m.version(d.version).map(|v| v.author.as_str()).unwrap_or_default();
        let approvers: Vec<&str> = p
            .decisions
            .iter()
            .filter(|x| x.approve && x.by != p.requested_by && x.by != author)
            .map(|x| x.by.as_str())
            .collect();
        if approvers.is_empty() {
            gaps.push(format!(
                "promotion {} put {} into production with no approval by anyone other than its requester {} and \
                 author {author}",
                p.id,
                label(d),
                p.requested_by
            ));
        } else {
            found.push(format!(
                "{} approved by {} (requested by {}, authored by {author})",
                label(d),
                approvers.join(", "),
                p.requested_by
            ));
        }
    }
    let (status, reason) = verdict(gaps, || list(&found));
    let note = emergency_note(f);
    (status, format!("{reason}{note}"))
}

/// C07 and C12: each production version has (non-failed) evidence of `kind`.
fn evidence_kind(f: &ComplianceFacts, kind: &str) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    let produced_only = f.gate().needs_produced(kind);
    for (m, d) in f.production() {
        match m.evidence_of(d.version, kind, produced_only) {
            Some(e) => found.push(format!(
                "{}: {kind} evidence {} by {} on {} ({})",
                label(d),
                e.id,
                e.created_by,
                e.created_at.date(),
                result_of(e)
            )),
            None if produced_only && m.evidence_of(d.version, kind, false).is_some() => gaps.push(format!(
                "{}: production version {} has only uploaded {kind} evidence; the gate asks for {kind} evidence riskops produced",
                m.name, d.version
            )),
            None if m.failed_evidence_of(d.version, kind) => {
                gaps.push(format!("{}: production version {} has only failed {kind} evidence", m.name, d.version))
            }
            None if m.evidence.get(&d.version).is_some_and(|es| es.iter().any(|e| e.kind == kind)) => gaps.push(format!(
                "{}: production version {} has {kind} evidence, but none that states it passed and comes from someone other than the version's author",
                m.name, d.version
            )),
            None => gaps.push(format!("{}: production version {} has no {kind} evidence", m.name, d.version)),
        }
    }
    verdict(gaps, || list(&found))
}

/// C08: the newest validation of each production version is within the tier's cadence.
fn revalidation(f: &ComplianceFacts) -> (ControlStatus, String) {
    let cadence = revalidation_days(f.tier);
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let Some(e) = m.evidence_of(d.version, "validation", f.gate().needs_produced("validation")) else {
            gaps.push(format!("{}: production version {} was never validated", m.name, d.version));
            continue;
        };
        let age = (f.now - e.created_at).whole_days();
        if age > cadence {
            gaps.push(format!(
                "{} was last validated {age} days ago ({}); {} tier revalidates every {cadence} days",
                label(d),
                e.created_at.date(),
                f.tier
            ));
        } else {
            let due = (e.created_at + time::Duration::days(cadence)).date();
            found.push(format!("{} validated {age} days ago, due again by {due}", label(d)));
        }
    }
    let (status, reason) = verdict(gaps, || list(&found));
    if status == ControlStatus::Satisfied {
        (status, format!("{reason} ({} tier: every {cadence} days)", f.tier))
    } else {
        (status, reason)
    }
}

/// C09: the register had entries before the first production deployment.
fn assessed_before_go_live(f: &ComplianceFacts) -> (ControlStatus, String) {
    let go_live = f
        .models
        .iter()
        .flat_map(|m| &m.deployments)
        .filter(|d| d.environment == Environment::Production)
        .map(|d| d.since)
        .min();
    let first = f.risk_entries.iter().map(|e| e.created_at).min();
    match (first, go_live) {
        (None, _) => (
            ControlStatus::Unsatisfied,
            format!("the risk register of project {} has no entries: no failure mode was scored", f.project),
        ),
        (Some(first), Some(live)) if first > live => (
            ControlStatus::Unsatisfied,
            format!(
                "the first risk entry ({}) was recorded after the first production deployment ({}): risks were not \
                 assessed before go-live",
                first.date(),
                live.date()
            ),
        ),
        (Some(first), live) => (
            ControlStatus::Satisfied,
            format!(
                "{} risk entries scored (likelihood × severity), the first on {}{}",
                f.risk_entries.len(),
                first.date(),
                live.map(|l| format!(", before the first production deployment on {}", l.date())).unwrap_or_default()
            ),
        ),
    }
}

/// C10: the tier comes from the register or from an override with a reason.
fn tier_rationale(f: &ComplianceFacts) -> (ControlStatus, String) {
    match f.tier_source {
        TierSource::Register => {
            let open = f.risk_entries.iter().filter(|e| e.fields.status != crate::risk::RiskStatus::Closed).count();
            (
                ControlStatus::Satisfied,
                format!(
                    "tier {} from the risk register: the highest band of the inherent scores (severity × likelihood) \
                     of {open} open entries",
                    f.tier
                ),
            )
        }
        TierSource::Override => match &f.tier_override_reason {
            Some(reason) => {
                (ControlStatus::Satisfied, format!("tier {} set by a risk officer's override: {reason:?}", f.tier))
            }
            None => (ControlStatus::Unsatisfied, format!("tier {} is an override with no recorded reason", f.tier)),
        },
        TierSource::Unassessed => (
            ControlStatus::Unsatisfied,
            format!(
                "no risk assessed: the project is governed as {} until its risk register has entries or a risk \
                 officer sets the tier with a reason",
                f.tier
            ),
        ),
    }
}

/// C14: the production gate asks for performance, fairness or stress-test evidence, each
/// production version has it, and no production version has a failed performance, fairness
/// or stress test standing against it, whether or not the gate asks for that kind: a
/// threshold the version is known to miss is not passed, and only a later passing result
/// (one that would count toward a gate) overturns a failure.
fn gated_thresholds(f: &ComplianceFacts) -> (ControlStatus, String) {
    const KINDS: [&str; 3] = ["performance", "fairness", "stress_test"];
    let gate = f.gate();
    let required: Vec<&str> = KINDS.into_iter().filter(|k| gate.evidence.iter().any(|e| e == k)).collect();
    if required.is_empty() {
        return (
            ControlStatus::Unsatisfied,
            format!("the {}-tier production gate asks for no performance, fairness or stress_test evidence", f.tier),
        );
    }
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        for kind in KINDS {
            if let Some(e) = m.standing_failure_of(d.version, kind) {
                gaps.push(format!(
                    "{}: production version {} failed its {kind} evidence (recorded by {} on {}) and no later \
                     passing {kind} evidence overturns it",
                    m.name,
                    d.version,
                    e.created_by,
                    e.created_at.date()
                ));
            }
        }
        for kind in &required {
            let produced_only = gate.needs_produced(kind);
            match m.evidence_of(d.version, kind, produced_only) {
                Some(e) => found.push(format!("{} {kind} ({})", label(d), result_of(e))),
                None if produced_only => gaps.push(format!(
                    "{}: production version {} has no passing {kind} evidence produced by riskops",
                    m.name, d.version
                )),
                None => {
                    gaps.push(format!("{}: production version {} has no passing {kind} evidence", m.name, d.version))
                }
            }
        }
    }
    verdict(gaps, || format!("the {}-tier production gate requires {}: {}", f.tier, required.join(", "), list(&found)))
}

/// C17: the chain verifies and a signed checkpoint covers it.
fn audit_trail(f: &ComplianceFacts) -> (ControlStatus, String) {
    let a = &f.audit;
    if !a.missing_guards.is_empty() {
        return (
            ControlStatus::Unsatisfied,
            format!(
                "the audit trail is no longer append-only: the triggers {} are missing",
                a.missing_guards.join(", ")
            ),
        );
    }
    match (a.ok, a.checkpoint_seq) {
        (false, _) => (
            ControlStatus::Unsatisfied,
            format!("the audit trail does not verify: {}", a.problem.as_deref().unwrap_or("unknown problem")),
        ),
        (true, None) => (
            ControlStatus::Unsatisfied,
            format!(
                "the hash chain of {} audit events verifies, but no signed checkpoint covers it, so a cut-off tail \
                 would go unnoticed (run the server with its signing key)",
                a.events
            ),
        ),
        (true, Some(seq)) => (
            ControlStatus::Satisfied,
            format!(
                "the audit trail is append-only (its database triggers are in place); its hash chain of {} events \
                 verifies, signed up to event {seq}",
                a.events
            ),
        ),
    }
}

/// C18: identities are individual; the bootstrap token, handed out through configuration,
/// is no longer active.
fn individual_identities(f: &ComplianceFacts) -> (ControlStatus, String) {
    let i = &f.identities;
    if i.bootstrap_token_active {
        (
            ControlStatus::Unsatisfied,
            "the bootstrap admin token (set at first start, often shared through configuration) is still active: \
             give administrators personal identities and revoke it"
                .to_string(),
        )
    } else {
        (
            ControlStatus::Satisfied,
            format!(
                "{} users and {} service accounts, each with its own tokens (256-bit, stored hashed; a token belongs \
                 to one identity); the bootstrap admin token is revoked or expired",
                i.users, i.service_accounts
            ),
        )
    }
}

/// C19: the production gate for the project's tier requires at least one approval.
fn production_roles(f: &ComplianceFacts) -> (ControlStatus, String) {
    let gate = f.gate();
    if gate.approvals.is_empty() {
        return (
            ControlStatus::Unsatisfied,
            format!(
                "the {}-tier production gate requires no approval: a data scientist's request alone deploys",
                f.tier
            ),
        );
    }
    let needed: Vec<String> = gate.approvals.iter().map(|a| format!("{} ×{}", a.role, a.count)).collect();
    (
        ControlStatus::Satisfied,
        format!(
            "production is protected by roles: the {}-tier gate needs approval by {}; the requester and the version's \
             author never count, and roles are granted per project",
            f.tier,
            needed.join(", ")
        ),
    )
}

/// C21: every active token of a person expires.
/// C21: every active token of a person expires; emergency access (rollbacks) is noted for review.
fn session_expiry(f: &ComplianceFacts) -> (ControlStatus, String) {
    let never = &f.identities.user_tokens_without_expiry;
    let (status, reason) = if never.is_empty() {
        (ControlStatus::Satisfied, "every active token of a person expires (sign-in tokens always do)".to_string())
    } else {
        (ControlStatus::Unsatisfied, format!("{} active token(s) of people never expire: {}", never.len(), list(never)))
    };
    (status, format!("{reason}{}", emergency_note(f)))
}

/// `; N emergency rollback(s) skipped the gates, review them: …`, or nothing.
fn emergency_note(f: &ComplianceFacts) -> String {
    let rollbacks: Vec<String> = f
        .models
        .iter()
        .flat_map(|m| &m.deployments)
        .filter(|d| d.emergency && d.environment == Environment::Production)
        .map(|d| format!("{} on {} by {}", label(d), d.since.date(), d.by))
        .collect();
    if rollbacks.is_empty() {
        String::new()
    } else {
        format!("; {} emergency rollback(s) skipped the gates, review them: {}", rollbacks.len(), list(&rollbacks))
    }
}

/// C15: every production version is watched by monitors and its prediction logs arrive.
fn monitoring_plan(f: &ComplianceFacts) -> (ControlStatus, String) {
    let finance = f.context.as_ref().is_some_and(|c| c.template == Some(crate::context::Template::Finance));
    let pack = if finance { " (the finance pack requires real-time anomaly monitoring in production)" } else { "" };
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let watch = &m.monitoring;
        if watch.monitors.is_empty() {
            gaps.push(format!("{} has no monitors in force (riskops monitor add){pack}", label(d)));
        } else if let Some(end) = watch.last_window.get(&d.version) {
            found.push(format!(
                "{}: {} monitors ({}), latest window ending {}",
                label(d),
                watch.monitors.len(),
                list(&watch.monitors),
                riskops_monitor::rfc3339(*end)
            ));
        } else {
            gaps.push(format!(
                "{} is in production but no prediction logs have arrived, so its {} monitors judge nothing (riskops log){pack}",
                label(d),
                watch.monitors.len()
            ));
        }
    }
    verdict(gaps, || list(&found))
}

/// Raw records kept this long at least for high-risk systems (EU AI Act Art. 19: six months).
const HIGH_RISK_RETENTION_DAYS: u32 = 183;

/// C16: production versions' raw prediction logs are kept, six months at least when the
/// project is high-risk.
fn inference_logging(f: &ComplianceFacts) -> (ControlStatus, String) {
    let high_risk = f.tier >= Tier::High || f.context.as_ref().is_some_and(|c| c.eu_ai_act == Some(EuAiAct::High));
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let watch = &m.monitoring;
        if watch.segments == 0 {
            gaps.push(format!("{}: no raw prediction logs are kept yet (send them with riskops log)", label(d)));
        } else if high_risk && watch.retention_days < HIGH_RISK_RETENTION_DAYS {
            gaps.push(format!(
                "{}: logs are kept {} days; a high-risk system keeps them at least {HIGH_RISK_RETENTION_DAYS} \
                 (riskops monitor configure --retention-days)",
                m.name, watch.retention_days
            ));
        } else {
            found.push(format!("{}: {} log segments kept {} days", m.name, watch.segments, watch.retention_days));
        }
    }
    verdict(gaps, || list(&found))
}

/// C22: incidents are opened by monitors on production versions and name their version.
fn incident_register(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let watch = &m.monitoring;
        if watch.monitors.is_empty() {
            gaps.push(format!("{}: no monitors, so no incident can open (riskops monitor add)", label(d)));
            continue;
        }
        let open: Vec<String> = watch
            .incidents
            .iter()
            .filter(|i| i.state != crate::incident::IncidentState::Resolved)
            .map(|i| format!("#{} {} {} ({})", i.id, i.severity.as_str(), i.title, i.state.as_str()))
            .collect();
        found.push(format!(
            "{}: {} incidents on record, {} open{}",
            m.name,
            watch.incidents.len(),
            open.len(),
            if open.is_empty() { String::new() } else { format!(": {}", list(&open)) }
        ));
    }
    verdict(gaps, || list(&found))
}

/// C23: a rollback was exercised, or an earlier production version can be put back.
fn rollback_path(f: &ComplianceFacts) -> (ControlStatus, String) {
    let mut gaps = Vec::new();
    let mut found = Vec::new();
    for (m, d) in f.production() {
        let prod = || m.deployments.iter().filter(|x| x.environment == Environment::Production);
        if let Some(r) = prod().rev().find(|x| x.emergency) {
            found.push(format!("rollback exercised: {} put back on {} by {}", label(r), r.since.date(), r.by));
        } else if let Some(earlier) = prod().rev().find(|x| x.version != d.version) {
            found.push(format!(
                "{} was in production before {} and can be put back at once (riskops model rollback)",
                label(earlier),
                label(d)
            ));
        } else {
            gaps.push(format!(
                "{} is the first version of {} in production: there is no earlier version to roll back to",
                label(d),
                m.name
            ));
        }
    }
    verdict(gaps, || list(&found))
}
