//! The `riskops` binary as a user runs it: help, serve (bootstrap, restart, SIGTERM) and
//! the client commands against it. One test binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[path = "cli/audit.rs"]
mod audit;
#[path = "cli/crash.rs"]
mod crash;
#[path = "cli/drift.rs"]
mod drift;
#[path = "cli/governance.rs"]
mod governance;
#[path = "cli/monitoring.rs"]
mod monitoring;
#[path = "cli/quickstart.rs"]
mod quickstart;
#[path = "cli/registry.rs"]
mod registry;
#[path = "cli/report.rs"]
mod report;
#[path = "cli/serve.rs"]
mod serve;

const BIN: &str = env!("CARGO_BIN_EXE_riskops");

/// `riskops serve` in a child process, with its stderr lines collected.
struct Server {
    child: Child,
    url: String,
    stderr: Vec<String>,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(data_dir: &Path, bootstrap_token: Option<&str>) -> Server {
        Self::start_with(data_dir, bootstrap_token, &[])
    }

    /// [`Server::start`] with more `serve` arguments.
    fn start_with(data_dir: &Path, bootstrap_token: Option<&str>, more: &[&str]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(more)
            .env_remove("RISKOPS_BOOTSTRAP_TOKEN")
            .env_remove("RISKOPS_DATABASE_URL")
            .env_remove("RISKOPS_CONFIG")
            .current_dir(data_dir) // so no ./riskops.toml of the developer's is read
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(t) = bootstrap_token {
            cmd.env("RISKOPS_BOOTSTRAP_TOKEN", t);
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, url: String::new(), stderr: Vec::new(), lines };
        loop {
            let line = server
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("server did not start; stderr so far:\n{}", server.stderr.join("\n")));
            server.stderr.push(line.clone());
            if let Some(rest) = line.strip_prefix("riskops listening on ") {
                server.url = rest.split_whitespace().next().unwrap().to_string();
                return server;
            }
        }
    }

    /// The token printed at bootstrap, if any.
    fn printed_token(&self) -> Option<String> {
        self.stderr.iter().map(|l| l.trim()).find(|l| l.starts_with("rsk_")).map(str::to_string)
    }

    fn riskops(&self, token: &str, args: &[&str]) -> Output {
        Command::new(BIN).args(args).env("RISKOPS_URL", &self.url).env("RISKOPS_TOKEN", token).output().unwrap()
    }

    /// Sends SIGTERM and returns the exit status and the rest of stderr.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push(line);
        }
        (status, std::mem::take(&mut self.stderr))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn json_stdout(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// A small drifting pair: `x` shifts, `group` changes mix, `same` does not move.
fn write_pair(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (r, c) = (dir.join("ref.csv"), dir.join("cur.csv"));
    let mut ref_text = String::from("x,group,same\n");
    let mut cur_text = String::from("x,group,same\n");
    for i in 0..400 {
        ref_text.push_str(&format!("{},{},{}\n", (i % 97) as f64 / 10.0, ["a", "b"][i % 2], i % 3));
        cur_text.push_str(&format!("{},{},{}\n", (i % 97) as f64 / 10.0 + 3.0, ["a", "b", "b", "c"][i % 4], i % 3));
    }
    std::fs::write(&r, ref_text).unwrap();
    std::fs::write(&c, cur_text).unwrap();
    (r, c)
}

fn json_stdout_allowing_failure(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)))
}

/// Committed fixtures of `tests/data`, written by `tests/data/make_log_fixtures.py`.
fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}
