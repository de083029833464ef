//! The audit trail: verified, and tampering found (a cut-off tail, forged or deleted
//! checkpoints).

use super::*;

#[test]
fn the_audit_trail_verifies_and_any_tampering_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("audit-token"));
    let run = |args: &[&str]| server.riskops("audit-token", args);
    for p in ["alpha", "beta", "gamma"] {
        assert!(run(&["project", "create", p]).status.success());
    }
    let ok = json_stdout(&run(&["audit", "verify", "--format", "json"]));
    assert_eq!((ok["ok"].as_bool(), ok["events"].as_u64(), ok["first_bad_seq"].is_null()), (Some(true), Some(5), true));
    let log = json_stdout(&run(&["audit", "log", "--target", "project:", "--format", "json"]));
    assert_eq!(log["events"].as_array().unwrap().len(), 4, "{log}");
    assert_eq!(log["events"][1]["actor"], "admin");

    let export = dir.path().join("trail.jsonl");
    assert!(run(&["audit", "export", "-o", export.to_str().unwrap()]).status.success());
    let verify_file = |path: &Path| {
        Command::new(BIN).args(["audit", "verify", "--format", "json", "--file"]).arg(path).output().unwrap()
    };
    assert_eq!(verify_file(&export).status.code(), Some(0));
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, std::fs::read_to_string(&export).unwrap().replace("\"beta\"", "\"BETA\"")).unwrap();
    let out = verify_file(&tampered);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_stdout_allowing_failure(&out)["first_bad_seq"], 4);
    // Texts the hash alone would take for event 4: a key twice (the last one as sealed), the
    // time spelled `+00:00`, added white space. And an empty file proves nothing.
    let text = std::fs::read_to_string(&export).unwrap();
    let line4 = text.lines().find(|l| l.starts_with("{\"seq\":4,")).unwrap().to_string();
    let time4 = serde_json::from_str::<Value>(&line4).unwrap()["time"].as_str().unwrap().to_string();
    assert!(time4.ends_with('Z'), "{time4}");
    let respelled = [
        ("duplicate key", line4.replacen("\"actor\":", "\"actor\":\"mallory\",\"actor\":", 1)),
        ("canonical form", line4.replace(&time4, &time4.replace('Z', "+00:00"))),
        ("white space", line4.replacen(",", ", ", 1)),
    ];
    for (reason, line) in respelled {
        assert_ne!(line, line4, "{reason}");
        std::fs::write(&tampered, text.replace(&line4, &line)).unwrap();
        let out = verify_file(&tampered);
        assert_eq!(out.status.code(), Some(1), "{reason}");
        let report = json_stdout_allowing_failure(&out);
        assert_eq!(report["first_bad_seq"], 4, "{reason}: {report}");
        assert!(report["reason"].as_str().unwrap().contains(reason), "{reason}: {report}");
    }
    std::fs::write(&tampered, "").unwrap();
    let out = verify_file(&tampered);
    assert_eq!(out.status.code(), Some(1), "an empty file is not an intact trail");
    assert_eq!(json_stdout_allowing_failure(&out)["reason"], "the trail holds no events");

    let (status, _) = server.terminate();
    assert!(status.success());
    // On copies of the data directory, with the append-only triggers removed as a forger would.
    let verify_dir = |d: &Path| {
        Command::new(BIN).args(["audit", "verify", "--format", "json", "--data-dir"]).arg(d).output().unwrap()
    };
    assert_eq!(verify_dir(&data).status.code(), Some(0));
    for (case, sql, bad) in [
        ("edit", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3", 3),
        ("delete", "DELETE FROM audit_events WHERE seq = 2", 2),
        // Respellings the hash alone would take for the event sealed.
        ("time", "UPDATE audit_events SET time = replace(time, 'Z', '+00:00') WHERE seq = 3", 3),
        ("space", "UPDATE audit_events SET after_json = ' ' || after_json WHERE seq = 3", 3),
        (
            "duplicate",
            "UPDATE audit_events SET after_json = '{\"name\":\"mallory\",' || substr(after_json, 2) WHERE seq = 3",
            3,
        ),
    ] {
        let copy = dir.path().join(case);
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(data.join("riskops.sqlite"), copy.join("riskops.sqlite")).unwrap();
        let conn = rusqlite::Connection::open(copy.join("riskops.sqlite")).unwrap();
        conn.execute_batch(&format!(
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; {sql};"
        ))
        .unwrap();
        drop(conn);
        let out = verify_dir(&copy);
        assert_eq!(out.status.code(), Some(1), "{case}");
        assert_eq!(json_stdout_allowing_failure(&out)["first_bad_seq"], bad, "{case}");
    }
}

#[test]
fn a_cut_off_tail_and_a_forged_checkpoint_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("tail-token"));
    let run = |args: &[&str]| server.riskops("tail-token", args);
    for p in ["alpha", "beta", "gamma"] {
        assert!(run(&["project", "create", p]).status.success());
    }
    // The server signs the new head moments after the change, without waiting for its tick.
    let mut report = Value::Null;
    for _ in 0..100 {
        report = json_stdout(&run(&["audit", "verify", "--format", "json"]));
        if report["unsigned_tail"] == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!((&report["ok"], &report["checkpoint"]["seq"]), (&Value::from(true), &Value::from(5)), "{report}");
    let export = dir.path().join("trail.jsonl");
    assert!(run(&["audit", "export", "-o", export.to_str().unwrap()]).status.success());
    let (status, _) = server.terminate();
    assert!(status.success());

    let key = std::fs::read(data.join("signing-key.pk8")).unwrap();
    let public = riskops_core::signing::SigningKey::from_pkcs8(&key).unwrap().public_key().to_hex();
    let verify = |flag: &str, path: &Path, extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["audit", "verify", "--format", "json", flag])
            .arg(path)
            .args(extra)
            .output()
            .unwrap();
        (out.status.code(), json_stdout_allowing_failure(&out))
    };
    let (code, intact) = verify("--data-dir", &data, &["--public-key", &public]);
    assert_eq!(
        (code, &intact["checkpoint"]["seq"], &intact["unsigned_tail"]),
        (Some(0), &Value::from(5), &Value::from(0)),
        "{intact}"
    );
    let (code, _) = verify("--data-dir", &data, &["--public-key", &"ab".repeat(32)]);
    assert_eq!(code, Some(1), "a key other than the pinned one");

    // Copies of the data directory, changed as a forger would, triggers dropped first.
    for (case, sql, bad) in [
        ("cut", "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq > 3", 4),
        (
            "forged",
            "DROP TRIGGER audit_checkpoints_no_update; UPDATE audit_checkpoints SET signature = hex(zeroblob(64)) WHERE seq = 5",
            5,
        ),
    ] {
        let copy = dir.path().join(case);
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(data.join("riskops.sqlite"), copy.join("riskops.sqlite")).unwrap();
        let conn = rusqlite::Connection::open(copy.join("riskops.sqlite")).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        let (code, report) = verify("--data-dir", &copy, &[]);
        assert_eq!((code, &report["first_bad_seq"]), (Some(1), &Value::from(bad)), "{case}: {report}");
    }
    let (_, cut) = verify("--data-dir", &dir.path().join("cut"), &[]);
    assert!(cut["reason"].as_str().unwrap().contains("events after seq 3 are missing"), "{cut}");

    // The export carries its checkpoints: the same cut is found there.
    let (code, report) = verify("--file", &export, &["--public-key", &public]);
    assert_eq!((code, &report["checkpoint"]["seq"]), (Some(0), &Value::from(5)), "{report}");
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[5].starts_with("{\"checkpoint\""), "{}", lines[5]);
    let cut_export = dir.path().join("cut.jsonl");
    std::fs::write(&cut_export, [&lines[..3], &lines[5..]].concat().join("\n")).unwrap();
    let (code, report) = verify("--file", &cut_export, &[]);
    assert_eq!((code, &report["first_bad_seq"]), (Some(1), &Value::from(4)), "{report}");
}

#[test]
fn a_checkpoint_kept_outside_catches_a_tail_cut_together_with_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("kept-token"));
    let run = |args: &[&str]| server.riskops("kept-token", args);
    for p in ["alpha", "beta", "gamma"] {
        assert!(run(&["project", "create", p]).status.success());
    }
    // Wait for the head (seq 5) to be signed, then keep that checkpoint outside.
    let mut kept = String::new();
    for _ in 0..100 {
        let out = run(&["audit", "checkpoint"]);
        kept = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && serde_json::from_str::<Value>(kept.trim()).unwrap()["checkpoint"]["seq"] == 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let kept_file = dir.path().join("kept.jsonl");
    std::fs::write(&kept_file, &kept).unwrap();
    let (status, _) = server.terminate();
    assert!(status.success());

    // A forger cuts events 4 and 5 and the checkpoints that covered them.
    let copy = dir.path().join("cut");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(data.join("riskops.sqlite"), copy.join("riskops.sqlite")).unwrap();
    let conn = rusqlite::Connection::open(copy.join("riskops.sqlite")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_checkpoints_no_delete;
         DELETE FROM audit_events WHERE seq > 3; DELETE FROM audit_checkpoints WHERE seq > 3;",
    )
    .unwrap();
    drop(conn);
    let verify = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["audit", "verify", "--format", "json", "--data-dir"])
            .arg(&copy)
            .args(extra)
            .output()
            .unwrap();
        (out.status.code(), json_stdout_allowing_failure(&out))
    };
    let (code, blind) = verify(&[]);
    assert_eq!(code, Some(0), "without an outside anchor the cut is consistent: {blind}");
    let (code, caught) = verify(&["--checkpoint", kept_file.to_str().unwrap()]);
    assert_eq!((code, &caught["first_bad_seq"]), (Some(1), &Value::from(4)), "{caught}");
}
