//! The compliance rules on hand-built facts.

use super::checks::auto_check;
use super::*;
use crate::artifact::Digest;
use crate::context::{Autonomy, Industry};
use crate::context::{DataSensitivity, ProjectContext};
use crate::governance::{Decision, Policy};
use crate::governance::{Environment, Gate, Tier};
use crate::promotion::{Deployment, Evidence, Promotion, PromotionStatus};
use crate::registry::ModelVersion;
use crate::registry::{CodeRef, Framework as ModelFramework, VersionRef};
use crate::risk::RiskEntry;
use crate::risk::{Impact, RiskFields, RiskStatus};
use crate::service::TierSource;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::Duration;
use time::OffsetDateTime;

const DAY: Duration = Duration::days(1);

fn t(days: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000 + days)
}

fn digest(n: u8) -> Digest {
    Digest::parse(&format!("sha256:{}", crate::encode::hex(&[n; 32]))).unwrap()
}

fn version(v: u32, author: &str) -> ModelVersion {
    ModelVersion {
        name: "scorer".into(),
        project: "credit".into(),
        version: v,
        digest: digest(v as u8),
        size: 10,
        framework: ModelFramework::Other,
        training_data: Some(VersionRef::exact("loans", 1)),
        validation_data: Some(VersionRef::exact("holdout", 1)),
        code: Some(CodeRef { repo: "https://git.example/scorer.git".into(), commit: "a1b2c3d".into() }),
        params: Value::Null,
        metrics: Value::Null,
        description: String::new(),
        tags: Default::default(),
        signature: None,
        endpoint: None,
        author: author.into(),
        created_at: t(0),
    }
}

fn evidence(v: u32, kind: &str, passed: Option<bool>, at: OffsetDateTime) -> Evidence {
    Evidence {
        id: 1,
        model: "scorer".into(),
        version: v,
        kind: kind.into(),
        digest: digest(99),
        size: 3,
        passed,
        summary: String::new(),
        // riskops produced what it can produce; the rest is uploaded.
        produced_by: matches!(kind, "validation" | "fairness" | "stress_test").then(|| "riskops".into()),
        dataset: None,
        created_by: "victor".into(),
        created_at: at,
    }
}

fn deployment(v: u32, promotion: Option<i64>, since: OffsetDateTime, until: Option<OffsetDateTime>) -> Deployment {
    Deployment {
        model: "scorer".into(),
        version: v,
        environment: Environment::Production,
        since,
        until,
        by: "rita".into(),
        promotion_id: promotion,
        reason: String::new(),
        emergency: promotion.is_none(),
        digest: digest(v as u8),
        signature: None,
    }
}

fn promotion(id: i64, v: u32, approvers: &[&str]) -> Promotion {
    Promotion {
        id,
        model: "scorer".into(),
        project: "credit".into(),
        version: v,
        environment: Environment::Production,
        reason: String::new(),
        requested_by: "dana".into(),
        tier: Tier::High,
        gate: crate::governance::Policy::default_policy().gate(Tier::High, Environment::Production),
        status: PromotionStatus::Completed,
        created_at: t(1),
        closed_at: Some(t(2)),
        closed_reason: None,
        decisions: approvers
            .iter()
            .map(|by| Decision { by: (*by).into(), roles: vec![], approve: true, comment: String::new(), at: t(2) })
            .collect(),
    }
}

fn entry(at: OffsetDateTime) -> RiskEntry {
    RiskEntry {
        id: 1,
        project: "credit".into(),
        fields: RiskFields {
            failure_mode: "incorrect_information".into(),
            category: "operational".into(),
            severity: 4,
            likelihood: 3,
            impact: Impact::default(),
            controls: vec![],
            owner: "rita".into(),
            status: RiskStatus::Open,
            rationale: String::new(),
        },
        created_at: at,
        updated_at: at,
        updated_by: "rita".into(),
    }
}

/// Version 1 in production through promotion 1, approved by victor; validation and
/// documentation evidence; the register assessed beforehand.
fn facts() -> ComplianceFacts {
    let policy = Policy::default_policy();
    let mut evidence_map = BTreeMap::new();
    evidence_map.insert(
        1,
        vec![
            evidence(1, "validation", Some(true), t(1)),
            evidence(1, "documentation", Some(true), t(1)),
            evidence(1, "fairness", Some(true), t(1)),
            evidence(1, "stress_test", Some(true), t(1)),
        ],
    );
    ComplianceFacts {
        project: "credit".into(),
        project_created_by: "admin".into(),
        context: Some(ProjectContext {
            industry: Industry::Finance,
            workflow: "credit_decision".into(),
            workflow_description: String::new(),
            data_sensitivity: vec![DataSensitivity::Financial],
            autonomy: Autonomy::HumanInTheLoop,
            eu_ai_act: None,
            annex_iii_area: None,
            template: None,
        }),
        tier: Tier::High,
        tier_source: TierSource::Register,
        tier_override_reason: None,
        risk_entries: vec![entry(t(0))],
        models: vec![ModelFacts {
            name: "scorer".into(),
            versions: vec![version(1, "dana")],
            deployments: vec![deployment(1, Some(1), t(2), None)],
            evidence: evidence_map,
            promotions: vec![promotion(1, 1, &["victor", "rita"])],
            monitoring: MonitoringFacts::default(),
        }],
        audit: AuditFacts { ok: true, events: 40, checkpoint_seq: Some(40), problem: None, missing_guards: vec![] },
        identities: IdentityFacts { users: 4, service_accounts: 0, ..Default::default() },
        production_gates: Tier::ALL.into_iter().map(|t| (t, policy.gate(t, Environment::Production))).collect(),
        attestations: vec![],
        now: t(10),
    }
}

fn status<'a>(r: &'a ComplianceReport, id: &str) -> (ControlStatus, &'a str) {
    let c = r.controls.iter().find(|c| c.id == id).unwrap();
    (c.status, c.reason.as_str())
}

#[test]
fn the_builtin_catalogue_holds_the_27_controls_with_their_mappings() {
    let c = Catalogue::builtin().unwrap();
    assert_eq!(c.version, "riskops-controls-2026.11");
    let ids: Vec<&str> = c.controls.iter().map(|c| c.id.as_str()).collect();
    let expected: Vec<String> = (1..=27).map(|i| format!("C{i:02}")).collect();
    assert_eq!(ids, expected);
    let c02 = c.control("C02").unwrap();
    assert_eq!(c02.frameworks[&Framework::Hipaa], ["164.312(c)(1)", "164.312(c)(2)"]);
    assert_eq!(c.control("C01").unwrap().frameworks[&Framework::EuAiAct], ["Art. 11", "Art. 49"]);
    assert_eq!(c.control("C16").unwrap().frameworks[&Framework::Iso42001], ["A.6.2.8"]);
    let attest: Vec<&str> = c.controls.iter().filter(|c| c.check == Check::Attest).map(|c| c.id.as_str()).collect();
    assert_eq!(attest, ["C11", "C13", "C24", "C25"]);
    // Every automatic control has a check of its own.
    let f = facts();
    for control in c.controls.iter().filter(|c| c.check == Check::Auto) {
        assert!(!auto_check(&control.id, &f).1.contains("no automatic check"), "{}", control.id);
    }
    assert_eq!(Catalogue::from_json(&c.to_json()).unwrap(), c);
}

#[test]
fn malformed_catalogues_name_the_field() {
    let doc = Catalogue::builtin().unwrap().to_json();
    let message = |edit: &dyn Fn(&mut Value)| {
        let mut d = doc.clone();
        edit(&mut d);
        Catalogue::from_json(&d).unwrap_err().message
    };
    assert!(message(&|d| d["controls"][3]["check"] = json!("manual")).contains("controls[3].check"));
    assert!(message(&|d| d["controls"][0]["applies"] = json!("tier>=huge")).contains("controls[0].applies"));
    assert!(message(&|d| d["controls"][0]["applies"] = json!(["phi", "x"])).contains("controls[0].applies[1]"));
    assert!(
        message(&|d| d["controls"][2]["frameworks"]["gdpr"] = json!(["5"])).contains("controls[2].frameworks.gdpr")
    );
    assert!(message(&|d| d["controls"][1]["id"] = json!("C01")).contains("controls[1].id"));
    assert!(message(&|d| d["controls"][1]["owner"] = json!("x")).contains("controls[1].owner"));
    assert!(message(&|d| d["version"] = json!("")).contains("version"));
}

#[test]
fn a_governed_production_version_satisfies_the_evidence_controls_with_reasons() {
    let r = evaluate(&Catalogue::builtin().unwrap(), &facts(), None);
    for id in
        ["C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C12", "C14", "C17", "C18", "C19", "C27"]
    {
        assert_eq!(status(&r, id).0, ControlStatus::Satisfied, "{id}: {}", status(&r, id).1);
    }
    assert!(status(&r, "C06").1.contains("approved by victor, rita"), "{}", status(&r, "C06").1);
    for id in ["C11", "C15", "C16", "C20", "C22", "C23", "C24", "C25"] {
        assert_eq!(status(&r, id).0, ControlStatus::Unsatisfied, "{id}");
    }
    assert_eq!(status(&r, "C11").1, "no attestation recorded");
    assert!(status(&r, "C15").1.contains("scorer@1 has no monitors in force"), "{}", status(&r, "C15").1);
    assert_eq!(status(&r, "C26").0, ControlStatus::NotApplicable);
    assert_eq!(status(&r, "C21").0, ControlStatus::NotApplicable, "HIPAA-only, no phi");
    assert!(!r.coverage.contains_key(&Framework::Hipaa));
    assert_eq!(r.frameworks_not_applicable.len(), 1);
    assert!(r.coverage[&Framework::NistAiRmf].ratio() > 0.0 && r.coverage[&Framework::NistAiRmf].ratio() < 1.0);
}

#[test]
fn monitoring_logging_and_incidents_are_judged_from_what_monitoring_knows() {
    let catalogue = Catalogue::builtin().unwrap();
    let mut f = facts();
    f.tier = Tier::High;
    f.models[0].monitoring.monitors = vec!["drift.share ≥ 0.3 for 2 windows".into()];
    let r = evaluate(&catalogue, &f, None);
    assert!(status(&r, "C15").1.contains("no prediction logs have arrived"), "{}", status(&r, "C15").1);
    assert!(status(&r, "C16").1.contains("no raw prediction logs"), "{}", status(&r, "C16").1);
    assert_eq!(status(&r, "C22").0, ControlStatus::Satisfied, "monitors in force: incidents can open");

    f.models[0].monitoring.last_window.insert(1, 1_790_000_000);
    f.models[0].monitoring.segments = 3;
    f.models[0].monitoring.retention_days = 30;
    let r = evaluate(&catalogue, &f, None);
    assert_eq!(status(&r, "C15").0, ControlStatus::Satisfied, "{}", status(&r, "C15").1);
    assert!(status(&r, "C15").1.contains("latest window ending 2026-09-21T"), "{}", status(&r, "C15").1);
    assert!(status(&r, "C16").1.contains("kept 30 days; a high-risk system keeps them at least 183"));
    f.models[0].monitoring.retention_days = 183;
    f.models[0].monitoring.incidents = vec![crate::incident::Incident {
        id: 7,
        project: "credit".into(),
        model: "scorer".into(),
        version: 1,
        monitor_id: "m1".into(),
        monitor: serde_json::json!({}),
        severity: crate::alerting::Severity::High,
        state: crate::incident::IncidentState::Open,
        title: "scorer@1: drift.share ≥ 0.3 for 2 windows".into(),
        first_window: 0,
        last_window: 0,
        windows: 2,
        evidence: serde_json::json!({}),
        advice: None,
        raised_risks: vec![],
        opened_at: t(9),
        updated_at: t(9),
        acknowledged_by: None,
        acknowledged_at: None,
        resolved_by: None,
        resolved_at: None,
        note: String::new(),
        risk_action: None,
    }];
    let r = evaluate(&catalogue, &f, None);
    assert_eq!(status(&r, "C16").0, ControlStatus::Satisfied, "{}", status(&r, "C16").1);
    assert!(status(&r, "C22").1.contains("1 open: #7 high scorer@1"), "{}", status(&r, "C22").1);
}

#[test]
fn missing_evidence_is_named_and_adding_it_flips_the_control_and_the_coverage() {
    let catalogue = Catalogue::builtin().unwrap();
    let mut f = facts();
    f.models[0].versions.push(version(3, "dana"));
    f.models[0].deployments[0].until = Some(t(5));
    f.models[0].deployments.push(deployment(3, Some(2), t(5), None));
    f.models[0].promotions.push(promotion(2, 3, &["victor"]));
    f.models[0].evidence = BTreeMap::from([(3, vec![evidence(3, "fairness", Some(true), t(4))])]);
    let before = evaluate(&catalogue, &f, None);
    assert_eq!(
        status(&before, "C07"),
        (ControlStatus::Unsatisfied, "scorer: production version 3 has no validation evidence")
    );
    assert_eq!(status(&before, "C12").0, ControlStatus::Unsatisfied);
    assert!(status(&before, "C23").1.contains("scorer@1 was in production before scorer@3"));

    f.models[0].evidence.get_mut(&3).unwrap().push(evidence(3, "validation", Some(true), t(6)));
    let after = evaluate(&catalogue, &f, None);
    assert_eq!(status(&after, "C07").0, ControlStatus::Satisfied, "{}", status(&after, "C07").1);
    let nist = |r: &ComplianceReport| r.coverage[&Framework::NistAiRmf];
    assert_eq!(nist(&after).met, nist(&before).met + 2, "C07 and C08 (MS-1.3…, GV-1.5) flip");
    assert!(nist(&after).ratio() > nist(&before).ratio());

    // Failed evidence is said as such.
    f.models[0].evidence.get_mut(&3).unwrap().retain(|e| e.kind != "validation");
    f.models[0].evidence.get_mut(&3).unwrap().push(evidence(3, "validation", Some(false), t(6)));
    assert!(status(&evaluate(&catalogue, &f, None), "C07").1.contains("only failed validation"));
}

#[test]
fn an_emergency_rollback_exercises_the_rollback_path_and_is_flagged_for_review() {
    let mut f = facts();
    f.models[0].versions.push(version(2, "dana"));
    f.models[0].deployments[0].until = Some(t(4));
    f.models[0].deployments.push(deployment(2, Some(2), t(4), Some(t(5))));
    f.models[0].promotions.push(promotion(2, 2, &["victor"]));
    f.models[0].deployments.push(deployment(1, None, t(5), None));
    let r = evaluate(&Catalogue::builtin().unwrap(), &f, None);
    let (s, reason) = status(&r, "C23");
    assert_eq!(s, ControlStatus::Satisfied);
    assert!(reason.starts_with("rollback exercised: scorer@1 put back on"), "{reason}");
    let (s, reason) = status(&r, "C06");
    assert_eq!(s, ControlStatus::Satisfied, "the version back in production was approved when first promoted");
    assert!(reason.contains("1 emergency rollback(s) skipped the gates, review them: scorer@1"), "{reason}");
}

#[test]
fn revalidation_follows_the_cadence_of_the_tier() {
    let catalogue = Catalogue::builtin().unwrap();
    let mut f = facts();
    f.now = t(1) + DAY * 366;
    let report = evaluate(&catalogue, &f, None);
    let (s, reason) = status(&report, "C08");
    assert_eq!(s, ControlStatus::Unsatisfied);
    assert!(reason.contains("366 days ago") && reason.contains("every 365 days"), "{reason}");
    f.tier = Tier::Medium;
    assert_eq!(status(&evaluate(&catalogue, &f, None), "C08").0, ControlStatus::Satisfied);
}

#[test]
fn unapproved_promotions_unassessed_tiers_and_late_registers_are_gaps() {
    let catalogue = Catalogue::builtin().unwrap();
    let mut f = facts();
    f.models[0].promotions = vec![promotion(1, 1, &["dana"])];
    f.tier_source = TierSource::Unassessed;
    f.risk_entries = vec![entry(t(3))];
    f.production_gates.insert(Tier::High, Gate::default());
    let r = evaluate(&catalogue, &f, None);
    assert!(status(&r, "C06").1.contains("no approval by anyone other than its requester dana"));
    assert!(status(&r, "C10").1.starts_with("no risk assessed"));
    assert!(status(&r, "C09").1.contains("after the first production deployment"));
    assert_eq!(status(&r, "C19").0, ControlStatus::Unsatisfied);
    assert_eq!(status(&r, "C14").0, ControlStatus::Unsatisfied);
    f.tier_source = TierSource::Override;
    f.tier_override_reason = Some("board decision 12".into());
    assert!(status(&evaluate(&catalogue, &f, None), "C10").1.contains("board decision 12"));
}

#[test]
fn a_failed_threshold_test_on_a_production_version_stands_until_a_later_pass() {
    let catalogue = Catalogue::builtin().unwrap();
    let mut f = facts();
    assert_eq!(status(&evaluate(&catalogue, &f, None), "C14").0, ControlStatus::Satisfied);
    // A stress test the high-tier gate does not ask for, failed after deployment, by the
    // author: a threshold the version is known to miss.
    let mut failed = evidence(1, "stress_test", Some(false), t(5));
    failed.created_by = "dana".into();
    f.models[0].evidence.get_mut(&1).unwrap().push(failed);
    let report = evaluate(&catalogue, &f, None);
    let (s, reason) = status(&report, "C14");
    assert_eq!(s, ControlStatus::Unsatisfied);
    assert!(
        reason.contains("scorer: production version 1 failed its stress_test evidence (recorded by dana"),
        "{reason}"
    );
    // A pass at the same instant, or a later one by the author, does not overturn it.
    let mut by_author = evidence(1, "stress_test", Some(true), t(6));
    by_author.created_by = "dana".into();
    f.models[0].evidence.get_mut(&1).unwrap().extend([evidence(1, "stress_test", Some(true), t(5)), by_author]);
    assert_eq!(status(&evaluate(&catalogue, &f, None), "C14").0, ControlStatus::Unsatisfied);
    // A later independent pass does; a failed required kind newer than its pass does not.
    f.models[0].evidence.get_mut(&1).unwrap().push(evidence(1, "stress_test", Some(true), t(7)));
    assert_eq!(status(&evaluate(&catalogue, &f, None), "C14").0, ControlStatus::Satisfied);
    f.models[0].evidence.get_mut(&1).unwrap().push(evidence(1, "fairness", Some(false), t(8)));
    let report = evaluate(&catalogue, &f, None);
    let (s, reason) = status(&report, "C14");
    assert_eq!(s, ControlStatus::Unsatisfied);
    assert!(reason.contains("failed its fairness evidence"), "{reason}");
}

#[test]
fn hipaa_counts_only_with_phi_and_the_framework_filter_limits_the_report() {
    let catalogue = Catalogue::builtin().unwrap();
    let mut f = facts();
    let hipaa = evaluate(&catalogue, &f, Some(Framework::Hipaa));
    assert!(hipaa.controls.iter().all(|c| c.status == ControlStatus::NotApplicable));
    assert!(hipaa.coverage.is_empty());
    f.context.as_mut().unwrap().data_sensitivity.push(DataSensitivity::Phi);
    f.identities.user_tokens_without_expiry = vec!["dana#3".into()];
    let hipaa = evaluate(&catalogue, &f, Some(Framework::Hipaa));
    assert!(hipaa.controls.iter().all(|c| c.frameworks.contains_key(&Framework::Hipaa)));
    assert_eq!(hipaa.coverage.keys().collect::<Vec<_>>(), [&Framework::Hipaa]);
    assert_eq!(status(&hipaa, "C21"), (ControlStatus::Unsatisfied, "1 active token(s) of people never expire: dana#3"));
    assert!(evaluate(&catalogue, &f, None).coverage.contains_key(&Framework::Hipaa));
}

#[test]
fn attestations_flip_attest_controls_and_unsatisfied_automatic_ones() {
    let catalogue = Catalogue::builtin().unwrap();
    let mut f = facts();
    for control in ["C11", "C20", "C07"] {
        f.attestations.push(Attestation {
            id: 1,
            project: "credit".into(),
            control: control.into(),
            statement: "residual risk accepted at the May committee".into(),
            evidence: Some(AttachedFile { digest: digest(7), size: 4 }),
            created_by: "rita".into(),
            created_at: t(9),
        });
    }
    let r = evaluate(&catalogue, &f, None);
    let (s, reason) = status(&r, "C11");
    assert_eq!(s, ControlStatus::Attested);
    assert!(reason.starts_with("attested by rita on ") && reason.contains("May committee"), "{reason}");
    assert_eq!(status(&r, "C20").0, ControlStatus::Attested);
    assert!(status(&r, "C20").1.contains("automatic check: riskops serves HTTP"));
    assert_eq!(status(&r, "C07").0, ControlStatus::Satisfied, "an attestation never lowers a satisfied check");
    let without = evaluate(&catalogue, &facts(), None);
    assert_eq!(r.coverage[&Framework::NistAiRmf].met, without.coverage[&Framework::NistAiRmf].met + 2);
}

#[test]
fn nothing_in_production_makes_deployment_controls_not_applicable() {
    let mut f = facts();
    f.models[0].deployments[0].until = Some(t(3));
    let r = evaluate(&Catalogue::builtin().unwrap(), &f, None);
    let (s, reason) = status(&r, "C07");
    assert_eq!(s, ControlStatus::NotApplicable);
    assert!(reason.contains("none is"), "{reason}");
    assert_eq!(status(&r, "C13").0, ControlStatus::Unsatisfied, "high tier: human oversight applies");
    f.tier = Tier::Low;
    let report = evaluate(&Catalogue::builtin().unwrap(), &f, None);
    let (s, reason) = status(&report, "C13");
    assert_eq!(s, ControlStatus::NotApplicable);
    assert!(reason.contains("from high tier up") && reason.contains("EU AI Act"), "{reason}");
}
