//! Ingestion benchmark: a `riskops serve` (release build, its own process), 20 features per
//! record, NDJSON batches of 10,000 (RISKOPS_BENCH_BATCH) over HTTP on loopback from 2
//! concurrent senders (RISKOPS_BENCH_SENDERS; 1 sends its batches one after another). Prints
//! records per second, the server's CPU time per record and its peak memory (VmHWM) after
//! each size, so memory staying flat as traffic grows is visible.
//!
//! RISKOPS_BENCH_STORES chooses the stores, one server after another in one run: `sqlite`
//! (the default), `postgres` (a fresh schema on the server named by RISKOPS_TEST_POSTGRES_URL,
//! dropped afterwards), or `sqlite,postgres` to compare them on the same batches.
//!
//! `cargo bench -p riskops-cli --bench ingest` (RISKOPS_BENCH_RECORDS=100000,1000000 to choose).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

const FEATURES: usize = 20;
const DEFAULT_BATCH: usize = 10_000;
const TOKEN: &str = "bench-admin-token";

fn record(i: usize) -> Value {
    let mut features = serde_json::Map::new();
    for f in 0..FEATURES {
        if f % 5 == 4 {
            features.insert(format!("f{f}"), json!(["a", "b", "c", "d"][(i + f) % 4]));
        } else {
            features.insert(format!("f{f}"), json!(((i * 31 + f * 17) % 1000) as f64 / 10.0));
        }
    }
    let sex = ["f", "m"][i % 2];
    json!({"id": format!("r{i}"), "timestamp": 1_790_000_000 + (i / 100) as i64, "version": "1",
           "features": features, "prediction": i % 2, "score": (i % 100) as f64 / 100.0,
           "label": (i / 2) % 2, "attributes": {"sex": sex}})
}

fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The server's CPU time so far (user + system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let ticks: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|t| t.parse().ok()).collect();
    ticks.iter().sum::<f64>() / 100.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = std::env::var("RISKOPS_BENCH_RECORDS")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("RISKOPS_BENCH_RECORDS: numbers"))
        .collect();
    // Concurrent senders: while one batch waits for its commit's fsync, others are parsed.
    let senders_count: usize = std::env::var("RISKOPS_BENCH_SENDERS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let batch: usize = std::env::var("RISKOPS_BENCH_BATCH").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_BATCH);
    let stores = std::env::var("RISKOPS_BENCH_STORES").unwrap_or_else(|_| "sqlite".into());
    let _ = rustls::crypto::ring::default_provider().install_default();
    println!("| store | records sent | seconds | records/s | server CPU µs/record | server peak memory |");
    println!("|---|---:|---:|---:|---:|---:|");
    for store in stores.split(',').map(str::trim) {
        let schema = match store {
            "sqlite" => None,
            "postgres" => Some(
                riskops_store::testing::PostgresSchema::create()
                    .await
                    .unwrap()
                    .expect("RISKOPS_BENCH_STORES=postgres needs RISKOPS_TEST_POSTGRES_URL"),
            ),
            other => panic!("RISKOPS_BENCH_STORES: {other} is not sqlite or postgres"),
        };
        run(store, schema.as_ref().map(|s| s.url()), &sizes, senders_count, batch).await;
    }
}

/// One server on one store, fed every size in turn.
async fn run(store: &str, database_url: Option<&str>, sizes: &[usize], senders_count: usize, batch: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_riskops"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("RISKOPS_BOOTSTRAP_TOKEN", TOKEN)
        .env_remove("RISKOPS_DATABASE_URL")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(url) = database_url {
        command.env("RISKOPS_DATABASE_URL", url);
    }
    let mut server = command.spawn().unwrap();
    let mut url = String::new();
    for line in BufReader::new(server.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("riskops listening on ") {
            url = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    let http = reqwest::Client::new();
    // A reference dataset with the same 20 features, and a model trained on it.
    let mut csv = (0..FEATURES).map(|f| format!("f{f}")).collect::<Vec<_>>().join(",") + "\n";
    for i in 0..5_000 {
        let row: Vec<String> = (0..FEATURES)
            .map(|f| {
                if f % 5 == 4 {
                    ["a", "b", "c", "d"][(i + f) % 4].to_string()
                } else {
                    format!("{}", ((i * 29 + f * 13) % 1000) as f64 / 10.0)
                }
            })
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let upload = |path: String, meta: Value, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .part("metadata", reqwest::multipart::Part::text(meta.to_string()))
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name("f.csv"));
        http.post(format!("{url}{path}")).bearer_auth(TOKEN).multipart(form).send()
    };
    assert!(
        upload("/api/v1/datasets/reference/versions".into(), json!({}), csv.into_bytes())
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let model = json!({"training_data": "reference@1"});
    assert!(
        upload("/api/v1/models/bench/versions".into(), model, b"model".to_vec()).await.unwrap().status().is_success()
    );

    // Records are made (untimed) a million at a time, so that 10M need not fit in memory.
    const ROUND: usize = 1_000_000;
    let mut next = 0usize;
    for &size in sizes {
        let (mut secs, mut cpu) = (0.0, 0.0);
        let end = next + size;
        while next < end {
            let round = ROUND.min(end - next);
            let batches: Vec<Vec<u8>> = (next..next + round)
                .collect::<Vec<_>>()
                .chunks(batch)
                .map(|ids| ids.iter().map(|&i| format!("{}\n", record(i))).collect::<String>().into_bytes())
                .collect();
            next += round;
            let started = Instant::now();
            let cpu_before = cpu_seconds(server.id());
            send_all(&http, &url, batches, senders_count).await;
            secs += started.elapsed().as_secs_f64();
            cpu += cpu_seconds(server.id()) - cpu_before;
        }
        println!(
            "| {store} | {size} | {secs:.1} | {:.0} | {:.1} | {} MiB |",
            size as f64 / secs,
            cpu * 1e6 / size as f64,
            peak_kib(server.id()) / 1024
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// Sends the batches from `senders` concurrent connections; each must be answered 2xx.
async fn send_all(http: &reqwest::Client, url: &str, batches: Vec<Vec<u8>>, senders: usize) {
    let queue = std::sync::Arc::new(std::sync::Mutex::new(batches));
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (queue, http, url) = (queue.clone(), http.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(body) = queue.lock().unwrap().pop() else { break };
                let r = http
                    .post(format!("{url}/api/v1/projects/default/models/bench/predictions"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
