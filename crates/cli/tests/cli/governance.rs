//! Promotions by separate people, risks and the tier, compliance reports and attestations.

use super::*;

/// The policy riskops shipped before high and critical gates asked for evidence riskops
/// produced: for stories about approvals and waiting, with uploaded evidence.
pub(crate) fn accept_uploaded_evidence(server: &Server, admin_token: &str, dir: &Path) {
    let shown = json_stdout(&server.riskops(admin_token, &["policy", "show", "--format", "json"]));
    let mut policy = shown["policy"].clone();
    for tier in ["high", "critical"] {
        let gate = &mut policy["tiers"][tier]["production"];
        let kinds: Vec<serde_json::Value> = gate["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.get("kind").cloned().unwrap_or_else(|| e.clone()))
            .filter(|k| !(tier == "high" && k == "stress_test"))
            .collect();
        gate["evidence"] = serde_json::json!(kinds);
    }
    let file = dir.join("policy.json");
    std::fs::write(&file, policy.to_string()).unwrap();
    let out = server.riskops(admin_token, &["policy", "set", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_model_is_promoted_by_separate_people_and_verified_against_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("gov-admin"));
    accept_uploaded_evidence(&server, "gov-admin", dir.path());
    let admin = |args: &[&str]| json_stdout(&server.riskops("gov-admin", &[args, &["--format", "json"]].concat()));
    let token_of = |name: &str, role: &str| {
        admin(&["user", "create", name, "--role", role])["token"].as_str().unwrap().to_string()
    };
    let (ds, val, risk, viewer) = (
        token_of("dana", "data_scientist"),
        token_of("victor", "validator"),
        token_of("rita", "risk_officer"),
        token_of("vera", "viewer"),
    );
    let as_ = |token: &str, args: &[&str]| server.riskops(token, &[args, &["--format", "json"]].concat());

    let artifact = dir.path().join("model.bin");
    std::fs::write(&artifact, b"weights v1").unwrap();
    let a = artifact.to_str().unwrap();
    assert!(as_(&ds, &["model", "register", "scorer", "--artifact", a]).status.success());
    let asked = json_stdout(&as_(&ds, &["model", "promote", "scorer@1", "--to", "production"]));
    assert_eq!(asked["status"], "pending");
    assert!(asked["missing"].as_array().unwrap().iter().any(|m| m == "approval:validator"), "{asked}");
    let id = asked["id"].to_string();
    for (token, who) in [(&ds, "requester"), (&viewer, "viewer")] {
        let out = as_(token, &["promotion", "approve", &id]);
        assert_eq!(out.status.code(), Some(2), "{who}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 403"), "{who}");
    }
    let evidence = dir.path().join("report.txt");
    std::fs::write(&evidence, "all good").unwrap();
    for kind in ["validation", "fairness", "documentation"] {
        let out = as_(
            &val,
            &["evidence", "add", "scorer@1", "--kind", kind, "--file", evidence.to_str().unwrap(), "--passed", "true"],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(json_stdout(&as_(&val, &["promotion", "approve", &id]))["status"], "pending");
    assert_eq!(json_stdout(&as_(&risk, &["promotion", "approve", &id]))["status"], "completed");
    let stage = json_stdout(&as_(&viewer, &["model", "stage", "scorer"]));
    assert_eq!(stage["environments"]["production"]["version"], 1);

    let ok = as_(&viewer, &["model", "verify", "scorer@1", a]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
    assert_eq!(json_stdout(&ok)["signature_valid"], true);
    let modified = dir.path().join("modified.bin");
    std::fs::write(&modified, b"weights v1 + backdoor").unwrap();
    let bad = as_(&viewer, &["model", "verify", "scorer@1", modified.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(json_stdout_allowing_failure(&bad)["ok"], false);
    // Offline: a saved stage record and the pinned key, no server asked.
    let signing = std::fs::read(data.join("signing-key.pk8")).unwrap();
    let public = riskops_core::signing::SigningKey::from_pkcs8(&signing).unwrap().public_key().to_hex();
    let record = dir.path().join("stage.json");
    std::fs::write(&record, as_(&viewer, &["model", "stage", "scorer"]).stdout).unwrap();
    let offline = Command::new(BIN)
        .args([
            "model",
            "verify",
            "scorer@1",
            a,
            "--public-key",
            &public,
            "--record",
            record.to_str().unwrap(),
            "--format",
            "json",
        ])
        .env("RISKOPS_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(offline.status.code(), Some(0), "{}", String::from_utf8_lossy(&offline.stderr));
    // Pinning a different key fails too: the signature is the server's, not anyone's.
    let other_key = "00".repeat(32);
    let pinned = as_(&viewer, &["model", "verify", "scorer@1", a, "--public-key", &other_key]);
    assert_ne!(pinned.status.code(), Some(0));

    let log =
        json_stdout(&server.riskops("gov-admin", &["audit", "log", "--target", "promotion:", "--format", "json"]));
    let actors: Vec<(&str, &str)> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert!(
        actors.contains(&("promotion.approve", "victor")) && actors.contains(&("promotion.completed", "rita")),
        "{actors:?}"
    );
}

#[test]
fn promote_wait_blocks_until_the_request_completes_is_rejected_or_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("wait-admin"));
    accept_uploaded_evidence(&server, "wait-admin", dir.path());
    let admin = |args: &[&str]| json_stdout(&server.riskops("wait-admin", &[args, &["--format", "json"]].concat()));
    let token_of = |name: &str, role: &str| {
        admin(&["user", "create", name, "--role", role])["token"].as_str().unwrap().to_string()
    };
    let (ds, val, risk) =
        (token_of("dana", "data_scientist"), token_of("victor", "validator"), token_of("rita", "risk_officer"));
    let as_ = |token: &str, args: &[&str]| server.riskops(token, &[args, &["--format", "json"]].concat());
    let artifact = dir.path().join("model.bin");
    for v in 1..=3 {
        std::fs::write(&artifact, format!("weights v{v}")).unwrap();
        assert!(as_(&ds, &["model", "register", "scorer", "--artifact", artifact.to_str().unwrap()]).status.success());
    }
    let waiting = |version: &str, timeout: &str| {
        Command::new(BIN)
            .args(["model", "promote", version, "--to", "production", "--wait", "--timeout", timeout])
            .args(["--format", "json"])
            .env("RISKOPS_URL", &server.url)
            .env("RISKOPS_TOKEN", &ds)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let pending_id = |model_version: u64| loop {
        let list = admin(&["promotion", "list", "--status", "pending"]);
        if let Some(p) = list["promotions"].as_array().unwrap().iter().find(|p| p["version"] == model_version) {
            return p["id"].to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    };

    // Completed while waiting: exit 0 with the completed request.
    let child = waiting("scorer@1", "60s");
    let id = pending_id(1);
    let evidence = dir.path().join("report.txt");
    std::fs::write(&evidence, "all good").unwrap();
    for kind in ["validation", "fairness", "documentation"] {
        let args = ["evidence", "add", "scorer@1", "--kind", kind, "--file", evidence.to_str().unwrap()];
        assert!(as_(&val, &[&args[..], &["--passed", "true"]].concat()).status.success());
    }
    assert!(as_(&val, &["promotion", "approve", &id]).status.success());
    assert!(as_(&risk, &["promotion", "approve", &id]).status.success());
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(json_stdout(&done)["status"], "completed");
    assert!(String::from_utf8_lossy(&done.stderr).contains("waiting for promotion"));

    // Rejected while waiting: exit 1.
    let child = waiting("scorer@2", "60s");
    let id = pending_id(2);
    assert!(as_(&val, &["promotion", "reject", &id, "--comment", "holdout AUC too low"]).status.success());
    let rejected = child.wait_with_output().unwrap();
    assert_eq!(rejected.status.code(), Some(1));
    assert_eq!(json_stdout_allowing_failure(&rejected)["status"], "rejected");
    assert!(String::from_utf8_lossy(&rejected.stderr).contains("was rejected"));

    // Nobody decides: exit 1 once the timeout passes, the request still pending.
    let started = std::time::Instant::now();
    let timed_out = waiting("scorer@3", "1s").wait_with_output().unwrap();
    assert_eq!(timed_out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(json_stdout_allowing_failure(&timed_out)["status"], "pending");
    assert!(String::from_utf8_lossy(&timed_out.stderr).contains("still pending after 1s"));

    // Without --wait the answer is as before: the request, exit 0 although pending.
    let asked = as_(&ds, &["model", "promote", "scorer@3", "--to", "staging"]);
    assert_eq!(asked.status.code(), Some(0));
    let bad = as_(&ds, &["model", "promote", "scorer@3", "--to", "staging", "--wait", "--timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(2));

    // `model list` and `model show` say which version is in each environment.
    let list = admin(&["model", "list"]);
    assert_eq!(list["items"][0]["environments"], serde_json::json!({"staging": null, "production": 1}), "{list}");
    let text = String::from_utf8(server.riskops("wait-admin", &["model", "list"]).stdout).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains("STAGING") && header.contains("PRODUCTION"), "{text}");
    assert_eq!(admin(&["model", "show", "scorer@1"])["stages"], serde_json::json!(["production"]));
    let shown = admin(&["model", "show", "scorer@2"]);
    assert_eq!(
        (shown["stages"][0].as_str(), shown["environments"]["production"].as_u64()),
        (Some("development"), Some(1))
    );
    let text = String::from_utf8(server.riskops("wait-admin", &["model", "show", "scorer@2"]).stdout).unwrap();
    assert!(text.contains("staging: -, production: 1"), "{text}");
}

#[test]
fn risks_are_assessed_from_the_context_and_only_a_risk_officer_overrides_the_tier() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("risk-admin"));
    let admin = |args: &[&str]| server.riskops("risk-admin", &[args, &["--format", "json"]].concat());
    let created = json_stdout(&admin(&[
        "project",
        "create",
        "callcentre",
        "--template",
        "healthcare",
        "--workflow",
        "billing_information",
        "--data-sensitivity",
        "phi",
        "--workflow-description",
        "hospital call centre",
    ]));
    assert_eq!(created["context"]["industry"], "healthcare");
    assert!(json_stdout(&admin(&["risk", "assess", "callcentre"]))["added"].as_array().unwrap().len() >= 8);
    let list = json_stdout(&admin(&["risk", "list", "callcentre"]));
    let entry =
        list["risks"].as_array().unwrap().iter().find(|e| e["failure_mode"] == "incorrect_information").unwrap();
    for key in ["failure_mode", "severity", "likelihood", "inherent_score", "residual_score"] {
        assert!(!entry[key].is_null(), "{key} in {entry}");
    }
    let shown = json_stdout(&admin(&["project", "show", "callcentre"]));
    assert!(matches!(shown["tier"].as_str(), Some("high" | "critical")), "{shown}");

    let ds = json_stdout(&admin(&["user", "create", "dana", "--role", "data_scientist"]))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = server.riskops(&ds, &["project", "update", "callcentre", "--tier", "low", "--reason", "cheaper"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("HTTP 403"));
    let text = server.riskops("risk-admin", &["risk", "list", "callcentre"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("INHERENT"), "a table for people");
}

#[test]
fn compliance_reports_print_json_markdown_and_html_and_attestations_flip_controls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("comp-admin"));
    let run = |args: &[&str]| server.riskops("comp-admin", args);
    let created =
        run(&["project", "create", "clinic", "--template", "healthcare", "--workflow", "billing_information"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let report = json_stdout(&run(&["compliance", "report", "clinic", "--format", "json"]));
    assert_eq!(report["project"], "clinic");
    assert_eq!(report["controls"].as_array().unwrap().len(), 27);
    for c in report["controls"].as_array().unwrap() {
        for key in ["id", "status", "reason", "frameworks"] {
            assert!(!c[key].is_null(), "{key} in {c}");
        }
    }
    assert!(report["coverage"]["hipaa"].is_f64(), "the healthcare pack handles phi: {}", report["coverage"]);
    let c11 =
        |r: &Value| r["controls"].as_array().unwrap().iter().find(|c| c["id"] == "C11").unwrap()["status"].clone();
    assert_eq!(c11(&report), "unsatisfied");

    let md = run(&["compliance", "report", "clinic", "--format", "markdown", "--framework", "hipaa"]);
    assert_eq!(md.status.code(), Some(0), "{}", String::from_utf8_lossy(&md.stderr));
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("# Compliance report: clinic") && md.contains("| C21 |") && !md.contains("| C01 |"), "{md}");

    let html = run(&["compliance", "report", "clinic", "--format", "html"]);
    assert_eq!(html.status.code(), Some(0));
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("badge unsatisfied") && !html.contains("<script"));

    let text = run(&["compliance", "report", "clinic"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("STATUS") && text.contains("HIPAA 45 CFR 164.312"), "{text}");

    // Attest C11 with a file; the next report says attested.
    let minutes = dir.path().join("minutes.txt");
    std::fs::write(&minutes, "the committee accepts the residual risk").unwrap();
    let file = minutes.to_str().unwrap();
    let args = ["control", "attest", "clinic", "C11", "--statement", "accepted on 3 Nov", "--file", file];
    let attested = json_stdout(&run(&[&args[..], &["--format", "json"]].concat()));
    assert!(attested["evidence"]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(c11(&json_stdout(&run(&["compliance", "report", "clinic", "--format", "json"]))), "attested");
    let listed = json_stdout(&run(&["control", "attestations", "clinic", "--format", "json"]));
    assert_eq!(listed["attestations"].as_array().unwrap().len(), 1);
    let catalogue = json_stdout(&run(&["control", "list", "--format", "json"]));
    assert_eq!(catalogue["controls"].as_array().unwrap().len(), 27);

    // Markdown and html are for reports; elsewhere, and for unknown frameworks, exit 2.
    for args in [
        &["control", "list", "--format", "markdown"][..],
        &["project", "list", "--format", "html"],
        &["compliance", "report", "clinic", "--framework", "gdpr"],
        &["compliance", "report", "clinic", "--format", "dot"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
    }
    // Each command names the formats it accepts, given after the command or before it.
    let after = String::from_utf8(run(&["project", "list", "--format", "html"]).stderr).unwrap();
    assert!(after.contains("[possible values: text, json]"), "{after}");
    let before = String::from_utf8(run(&["--format", "html", "project", "list"]).stderr).unwrap();
    assert!(before.contains("riskops project list prints --format text, json, not html"), "{before}");
}

#[test]
fn a_role_grant_shows_in_the_security_incident_list() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("access-admin"));
    let run = |args: &[&str]| {
        let out = server.riskops("access-admin", args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run(&["incident", "list", "--kind", "security"]).contains("no incidents"));
    run(&["user", "grant", "admin", "validator@default"]);
    // The server's access task opens it within its interval (10 s).
    let mut listed = String::new();
    for _ in 0..60 {
        listed = run(&["incident", "list", "--kind", "security"]);
        if !listed.contains("no incidents") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(listed.contains("user:admin was granted validator@default by admin"), "{listed}");
    assert!(listed.contains("low") && listed.contains("open"), "{listed}");
    assert!(run(&["incident", "list", "--kind", "monitor"]).contains("no incidents"));
}
