//! Help, `serve` (bootstrap, restart, SIGTERM, bad configuration) and the client's errors.

use super::*;

#[test]
fn help_lists_the_commands_and_version_prints() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for command in ["serve", "whoami", "project"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(command)), "{command} missing from:\n{text}");
    }
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8(version.stdout).unwrap().trim(), format!("riskops {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_never_shows_secret_environment_values() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .env("RISKOPS_DATABASE_URL", "postgres://u:hunter2@h/db")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("hunter2"));
    let help = Command::new(BIN).args(["whoami", "--help"]).env("RISKOPS_TOKEN", "tok-hunter2").output().unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("hunter2"));
}

#[test]
fn first_start_prints_a_token_once_and_a_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None);
    let token = server.printed_token().expect("a generated token on stderr");
    let me = json_stdout(&server.riskops(&token, &["whoami", "--format", "json"]));
    assert_eq!(me["name"], "admin");
    assert_eq!(me["roles"], serde_json::json!(["admin"]));
    let made = json_stdout(
        &server.riskops(&token, &["project", "create", "fraud", "--description", "card fraud", "--format", "json"]),
    );
    assert_eq!(made["name"], "fraud");

    let (status, stderr) = server.terminate();
    assert!(status.success(), "{status:?}\n{}", stderr.join("\n"));
    assert!(stderr.iter().any(|l| l.contains("shutting down")), "{}", stderr.join("\n"));

    let again = Server::start(dir.path(), Some("ignored-on-restart"));
    assert_eq!(again.printed_token(), None, "{}", again.stderr.join("\n"));
    let list = json_stdout(&again.riskops(&token, &["project", "list", "--format", "json"]));
    let names: Vec<&str> = list["projects"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["default", "fraud"]);
    let refused = again.riskops("ignored-on-restart", &["whoami"]);
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn client_commands_print_text_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("cli-test-token"));
    let whoami = server.riskops("cli-test-token", &["whoami"]);
    assert!(whoami.status.success());
    assert_eq!(String::from_utf8(whoami.stdout).unwrap(), "admin (user)\nroles: admin\n");

    let created = server.riskops("cli-test-token", &["project", "create", "claims"]);
    assert!(created.status.success());
    let dup = server.riskops("cli-test-token", &["project", "create", "claims"]);
    assert_eq!(dup.status.code(), Some(2));
    let err = String::from_utf8(dup.stderr).unwrap();
    assert!(err.contains("already exists") && err.contains("409"), "{err}");

    let bad = server.riskops("cli-test-token", &["project", "create", "no spaces"]);
    assert!(String::from_utf8(bad.stderr).unwrap().contains("name:"));

    let shown = server.riskops("cli-test-token", &["project", "show", "claims"]);
    assert!(String::from_utf8(shown.stdout).unwrap().starts_with("name:         claims\n"));

    let wrong = server.riskops("nope", &["whoami", "--format", "json"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(wrong.stdout.is_empty());
    assert!(String::from_utf8(wrong.stderr).unwrap().contains("401"));
}

#[test]
fn an_unreachable_server_is_named_in_the_error() {
    let out = Command::new(BIN)
        .args(["whoami", "--server", "http://127.0.0.1:9"])
        .env("RISKOPS_TOKEN", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cannot reach the riskops server at http://127.0.0.1:9"), "{err}");
}

#[test]
fn serve_refuses_bad_configuration_with_a_message() {
    let out = Command::new(BIN)
        .args(["serve", "--database-url", "mysql://nope", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("postgres://"));
    let out = Command::new(BIN).args(["serve", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_cli_speaks_https_to_a_server_with_a_private_ca_and_says_when_it_does_not_trust_it() {
    let dir = tempfile::tempdir().unwrap();
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tests/data/tls");
    let (cert, key, ca) = (tls.join("cert-a.pem"), tls.join("key-a.pem"), tls.join("ca-a.pem"));
    let more = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let server = Server::start_with(dir.path(), Some("tls-token"), &more);
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);
    // The certificate names localhost (and 127.0.0.1).
    let url = server.url.replace("127.0.0.1", "localhost");
    let run = |args: &[&str]| {
        Command::new(BIN).args(args).env("RISKOPS_URL", &url).env("RISKOPS_TOKEN", "tls-token").output().unwrap()
    };
    let trusted = run(&["whoami", "--ca-cert", ca.to_str().unwrap()]);
    assert!(trusted.status.success(), "{}", String::from_utf8_lossy(&trusted.stderr));
    assert!(String::from_utf8_lossy(&trusted.stdout).contains("admin"));
    let untrusted = run(&["whoami"]);
    assert_eq!(untrusted.status.code(), Some(2));
    let said = String::from_utf8_lossy(&untrusted.stderr);
    assert!(said.contains("TLS connection") && said.contains("--ca-cert"), "{said}");
    let other_ca = run(&["whoami", "--ca-cert", tls.join("ca-b.pem").to_str().unwrap()]);
    assert!(!other_ca.status.success());
    let not_pem = run(&["whoami", "--ca-cert", key.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&not_pem.stderr).contains("holds no PEM certificate"));
}
