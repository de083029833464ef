//! README.md's quickstart, run as written.

use super::*;

/// The shell commands of README.md's blocks marked `<!-- quickstart -->` … `<!-- /quickstart -->`,
/// in order, as one script.
fn readme_quickstart_script() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let mut script = String::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("<!-- quickstart -->") {
        let after = &rest[start..];
        let end = after.find("<!-- /quickstart -->").expect("a quickstart block is closed");
        let block = &after["<!-- quickstart -->".len()..end];
        let code = block.trim().strip_prefix("```sh").and_then(|b| b.trim_end().strip_suffix("```"));
        script.push_str(code.expect("a quickstart block holds one ```sh fence"));
        rest = &after[end..];
    }
    assert!(script.lines().count() > 50, "the quickstart blocks were not found:\n{script}");
    script
}

/// README.md's quickstart, run as written (in order, in one bash, `set -e`) in a fresh
/// directory holding only the example files, against the server the quickstart starts. The
/// one change: the server listens on a free port instead of 8080 (RISKOPS_LISTEN and
/// RISKOPS_URL, and `127.0.0.1:8080` in the commands), so tests can run side by side.
#[test]
fn readme_quickstart_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
    let copy = dir.path().join("examples/quickstart");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&examples).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let script = format!(
        "set -euo pipefail\n\
         trap 'echo \"quickstart command failed (status $?): $BASH_COMMAND\" >&2' ERR\n\
         trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}",
        readme_quickstart_script().replace("127.0.0.1:8080", &address)
    );
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("RISKOPS_LISTEN", &address)
        .env("RISKOPS_URL", format!("http://{address}"))
        .env("RISKOPS_WINDOW_QUIET", "1")
        .env_remove("RISKOPS_TOKEN")
        .env_remove("RISKOPS_BOOTSTRAP_TOKEN")
        .env_remove("RISKOPS_DATABASE_URL")
        .env_remove("RISKOPS_DATA_DIR")
        .env_remove("RISKOPS_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while it runs, so a full pipe cannot stall it; killed if it hangs.
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).ok();
            s
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let serve_log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    assert!(
        status.success(),
        "the quickstart failed ({status}):\n--- stderr\n{err}\n--- stdout\n{out}\n--- serve.log\n{serve_log}"
    );
    // It did what it says: the promotion completed and the monitoring windows hold the logs.
    assert!(out.contains("audit trail intact"), "{out}");
    assert!(out.contains("300 records: 300 accepted"), "{out}");
}
