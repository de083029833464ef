use super::*;

fn decision(by: &str, roles: &[Role], approve: bool) -> Decision {
    Decision { by: by.into(), roles: roles.to_vec(), approve, comment: String::new(), at: OffsetDateTime::UNIX_EPOCH }
}

fn passed(kind: &str) -> EvidenceFact {
    EvidenceFact { kind: kind.into(), passed: Some(true), by: "val".into(), produced: true }
}

#[test]
fn the_default_policy_round_trips_through_json() {
    let p = Policy::default_policy();
    assert_eq!(Policy::from_json(&p.to_json()).unwrap(), p);
    assert_eq!(p.gate(Tier::Critical, Environment::Production).approvals.len(), 3);
    assert!(p.gate(Tier::Low, Environment::Staging).approvals.is_empty());
}

#[test]
fn malformed_policies_name_the_field() {
    let mut doc = Policy::default_policy().to_json();
    doc["tiers"]["high"]["production"]["approvals"][0]["count"] = json!(0);
    assert!(Policy::from_json(&doc).unwrap_err().message.contains("tiers.high.production.approvals[0].count"));
    let mut doc = Policy::default_policy().to_json();
    doc["tiers"]["low"].as_object_mut().unwrap().remove("staging");
    assert!(Policy::from_json(&doc).unwrap_err().message.contains("tiers.low.staging"));
    let mut doc = Policy::default_policy().to_json();
    doc["tiers"]["low"]["staging"]["evidence"] = json!(["vibes"]);
    assert!(Policy::from_json(&doc).unwrap_err().message.contains("tiers.low.staging.evidence[0]"));
    let mut doc = Policy::default_policy().to_json();
    doc["tiers"]["low"]["staging"]["approvals"] = json!([{"role": "viewer", "count": 1}]);
    assert!(Policy::from_json(&doc).unwrap_err().message.contains("cannot approve"));
    assert!(Policy::from_json(&json!({"tiers": {}, "extra": 1})).is_err());
    let mut doc = Policy::default_policy().to_json();
    doc["tiers"]["high"]["production"] = json!({"evidence": [], "approvals": []});
    assert!(
        Policy::from_json(&doc).unwrap_err().message.contains("tiers.high.production"),
        "no open gate for high tiers"
    );
    let mut doc = Policy::default_policy().to_json();
    doc["tiers"]["low"]["production"]["approvals"] =
        json!([{"role": "validator", "count": 1}, {"role": "validator", "count": 1}]);
    assert!(Policy::from_json(&doc).unwrap_err().message.contains("appears twice"));
}

#[test]
fn a_person_counts_once_and_the_matching_finds_the_best_assignment() {
    let gate = Policy::default_policy().gate(Tier::High, Environment::Staging);
    let ev = [passed("validation")];
    // One person with both roles fills only one slot.
    let both = decision("ana", &[Role::Validator, Role::RiskOfficer], true);
    assert_eq!(judge(&gate, &ev, std::slice::from_ref(&both), &[]).missing, ["approval:risk_officer"]);
    // With a pure validator as well, the matching puts ana on risk_officer.
    let j = judge(&gate, &ev, &[both, decision("bo", &[Role::Validator], true)], &[]);
    assert!(j.complete(), "{j:?}");
}

#[test]
fn excluded_people_do_not_count_and_rejections_reject() {
    let gate = Policy::default_policy().gate(Tier::Medium, Environment::Staging);
    let ev = [passed("validation")];
    let j = judge(&gate, &ev, &[decision("author", &[Role::Validator], true)], &["author"]);
    assert_eq!(j.missing, ["approval:validator"]);
    let j = judge(&gate, &ev, &[decision("v", &[Role::Validator], false)], &[]);
    assert!(j.rejected && !j.complete());
    // A rejection by someone without an approver role of this gate does not count.
    let j = judge(&gate, &ev, &[decision("c", &[Role::Committee], false)], &[]);
    assert!(!j.rejected);
}

#[test]
fn each_missing_entry_says_why_what_is_on_file_does_not_count() {
    let gate = Policy::default_policy().gate(Tier::High, Environment::Production);
    let by = |kind: &str, who: &str, passed: Option<bool>| EvidenceFact {
        kind: kind.into(),
        passed,
        by: who.into(),
        produced: true,
    };
    let ev = [
        by("validation", "dana", Some(true)),
        by("fairness", "val", Some(true)),
        by("fairness", "val", Some(false)),
        by("documentation", "dana", None),
    ];
    let decisions = [decision("dana", &[Role::Validator], true)];
    let j = judge(&gate, &ev, &decisions, &["dana"]);
    assert_eq!(
        j.missing,
        [
            "evidence:validation",
            "evidence:stress_test",
            "evidence:fairness",
            "approval:validator",
            "approval:risk_officer"
        ]
    );
    assert_eq!(j.reasons.len(), j.missing.len());
    assert!(j.reasons[0].starts_with("only evidence from the requester or the version's author (dana)"), "{j:?}");
    assert_eq!(j.reasons[1], "no stress_test evidence on file");
    assert_eq!(j.reasons[2], "the newest fairness evidence (by val) failed");
    assert!(j.reasons[3].starts_with("approved by dana only"), "{j:?}");
    assert_eq!(j.reasons[4], "no approval by a risk_officer yet");
    let j = judge(&gate, &[], &[], &[]);
    assert_eq!(j.reasons[0], "no validation evidence on file");

    // The same rule per piece, for `evidence list`: documentation may come from the author.
    let standing = evidence_standing(&ev, &["dana"]);
    assert!(standing[0].as_deref().is_some_and(|r| r.contains("must come from someone else")), "{standing:?}");
    assert_eq!(standing[1].as_deref(), Some("newer fairness evidence replaces it"));
    assert_eq!(standing[2].as_deref(), Some("it failed"));
    assert_eq!(standing[3], None);
}

#[test]
fn a_gate_asking_for_produced_evidence_is_not_opened_by_an_uploaded_file() {
    let gate = Policy::default_policy().gate(Tier::High, Environment::Production);
    assert_eq!(gate.produced, ["validation", "stress_test"]);
    let fact =
        |kind: &str, produced| EvidenceFact { kind: kind.into(), passed: Some(true), by: "val".into(), produced };
    let approvals = [decision("v", &[Role::Validator], true), decision("r", &[Role::RiskOfficer], true)];
    let uploaded =
        [fact("validation", false), fact("stress_test", false), fact("fairness", false), fact("documentation", false)];
    let j = judge(&gate, &uploaded, &approvals, &[]);
    assert_eq!(j.missing, ["evidence:validation", "evidence:stress_test"]);
    assert_eq!(
        j.reasons[0],
        "only uploaded validation evidence on file (1); the gate asks for validation evidence riskops produced (riskops validate)"
    );
    assert!(j.reasons[1].ends_with("(riskops stress)"), "{j:?}");
    // Produced evidence opens it; uploaded fairness still counts where the gate does not ask for produced.
    let mut ev = uploaded.to_vec();
    ev.extend([fact("validation", true), fact("stress_test", true)]);
    assert!(judge(&gate, &ev, &approvals, &[]).complete());
    // A later uploaded pass does not replace a produced failure either.
    let failed = EvidenceFact { passed: Some(false), ..fact("validation", true) };
    let ev = [
        failed,
        fact("validation", false),
        fact("stress_test", true),
        fact("fairness", false),
        fact("documentation", false),
    ];
    let j = judge(&gate, &ev, &approvals, &[]);
    assert_eq!(j.missing, ["evidence:validation"]);
    assert_eq!(j.reasons[0], "the newest validation evidence (by val) failed");

    // The requirement reads and writes as {"kind", "produced": true}.
    let json = Policy::default_policy().to_json();
    assert_eq!(json["tiers"]["high"]["production"]["evidence"][0], json!({"kind": "validation", "produced": true}));
    assert_eq!(Policy::from_json(&json).unwrap(), Policy::default_policy());
    let mut bad = json.clone();
    bad["tiers"]["low"]["staging"]["evidence"] = json!([{"kind": "validation", "produced": "yes"}]);
    let e = Policy::from_json(&bad).unwrap_err();
    assert!(e.message.contains("tiers.low.staging.evidence[0]: `produced` must be true or false"), "{}", e.message);
}

#[test]
fn industry_packs_add_their_approval_levels() {
    use crate::context::{Autonomy, DataSensitivity, Industry};
    let ctx = |template, workflow: &str| ProjectContext {
        industry: Industry::Other,
        workflow: workflow.into(),
        workflow_description: String::new(),
        data_sensitivity: vec![DataSensitivity::Phi],
        autonomy: Autonomy::HumanInTheLoop,
        eu_ai_act: None,
        annex_iii_area: None,
        template,
    };
    let p = Policy::default_policy();
    let base = p.gate(Tier::High, Environment::Production);
    let clinical = with_pack(
        base.clone(),
        Some(&ctx(Some(Template::Healthcare), "clinical_decision_support")),
        Tier::High,
        Environment::Production,
    );
    assert_eq!(clinical.approvals.iter().find(|a| a.role == Role::Validator).map(|a| a.count), Some(2));
    let billing = with_pack(
        base.clone(),
        Some(&ctx(Some(Template::Healthcare), "billing_information")),
        Tier::High,
        Environment::Production,
    );
    assert_eq!(billing, base, "no extra level outside clinical workflows");
    let bank = with_pack(
        base.clone(),
        Some(&ctx(Some(Template::Finance), "credit_decisioning")),
        Tier::High,
        Environment::Production,
    );
    assert!(bank.approvals.contains(&ApprovalRule { role: Role::Committee, count: 2 }));
    let low = with_pack(
        p.gate(Tier::Low, Environment::Production),
        Some(&ctx(Some(Template::Finance), "credit_decisioning")),
        Tier::Low,
        Environment::Production,
    );
    assert!(
        !low.approvals.iter().any(|a| a.role == Role::Committee) && low.evidence.contains(&"documentation".to_string())
    );
}

#[test]
fn failed_evidence_does_not_satisfy_the_gate() {
    let gate = Policy::default_policy().gate(Tier::Low, Environment::Production);
    let fact = |passed, by: &str| EvidenceFact { kind: "validation".into(), passed, by: by.into(), produced: false };
    let approved = [decision("v", &[Role::Validator], true)];
    let j = judge(&gate, &[fact(Some(false), "v")], &approved, &[]);
    assert_eq!(j.missing, ["evidence:validation"]);
    assert!(!judge(&gate, &[fact(None, "v")], &approved, &[]).complete(), "a result must be stated");
    assert!(!judge(&gate, &[fact(Some(true), "author")], &approved, &["author"]).complete(), "not independent");
    assert!(judge(&gate, &[fact(Some(true), "v")], &approved, &["author"]).complete());
    assert!(evidence_counts("documentation", None, "author", &["author"]), "authors document their models");
    let newer_failure = [fact(Some(true), "v"), fact(Some(false), "w")];
    assert!(!judge(&gate, &newer_failure, &approved, &[]).complete(), "a later failure withdraws the pass");
    let fixed = [fact(Some(false), "v"), fact(Some(true), "w")];
    assert!(judge(&gate, &fixed, &approved, &[]).complete(), "a later pass replaces the failure");
}
