//! Crash safety: the server SIGKILLed during ingestion.

use super::*;

// ---- Crash safety: the server SIGKILLed during ingestion -------------------------------
//
// The promise under test: a 2xx from `…/predictions` means the batch is committed, and ids
// count once. Two senders post fresh batches while a thread SIGKILLs the server after a
// random delay; the server restarts on the same data directory, batches that got no 2xx are
// sent again (as a client would), and so on for a few rounds. A batch in flight at the kill
// may or may not have been committed; either is right, but only wholly, and only once.

const CRASH_TOKEN: &str = "crash-admin";
const CRASH_MODEL: &str = "crashy";
const CRASH_ROUNDS: usize = 5;
const CRASH_SENDERS: usize = 2;
const CRASH_BATCH_RECORDS: usize = 100;
/// Records alternate between two hourly windows, so each batch's one transaction spans both.
const CRASH_FIRST_HOUR: i64 = 1_790_000_000;

/// xorshift64: random kill delays without a crate. The seed is printed (and can be set with
/// `RISKOPS_CRASH_SEED`) so that a failing run can be replayed as closely as timing allows.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[derive(Clone)]
struct CrashBatch {
    ids: Vec<String>,
    body: String,
}

impl CrashBatch {
    /// Batch `seq` of `sender` in `round`: ids unique across the whole test.
    fn fresh(round: usize, sender: usize, seq: usize) -> CrashBatch {
        let mut ids = Vec::with_capacity(CRASH_BATCH_RECORDS);
        let mut body = String::new();
        for i in 0..CRASH_BATCH_RECORDS {
            let id = format!("r{round}-s{sender}-b{seq}-{i}");
            let segment = ["a", "b"][i % 2];
            let record = serde_json::json!({
                "id": id,
                "timestamp": CRASH_FIRST_HOUR + (i as i64 % 2) * 3600,
                "version": "1",
                "features": {"x": (i % 37) as f64 / 4.0, "segment": segment},
                "prediction": i % 2,
                "score": (i % 10) as f64 / 10.0,
            });
            body.push_str(&record.to_string());
            body.push('\n');
            ids.push(id);
        }
        CrashBatch { ids, body }
    }
}

fn crash_http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

/// The answer to one POST: a status and the JSON body, or no answer at all (the server died).
async fn post_predictions(http: &reqwest::Client, url: &str, body: String) -> Option<(u16, Option<Value>)> {
    let response = http
        .post(format!("{url}/api/v1/projects/default/models/{CRASH_MODEL}/predictions"))
        .bearer_auth(CRASH_TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    // A 2xx whose body is lost to the kill still says "committed": the status is what counts.
    Some((status, response.json::<Value>().await.ok()))
}

/// Sends a batch to a server that stays up and checks it was taken all or nothing:
/// returns whether it had been committed before (every record a duplicate).
async fn resend(http: &reqwest::Client, url: &str, batch: &CrashBatch, seed: u64) -> bool {
    let (status, answer) =
        post_predictions(http, url, batch.body.clone()).await.unwrap_or_else(|| panic!("seed {seed}: no answer"));
    assert_eq!(status, 200, "seed {seed}: {answer:?}");
    let answer = answer.unwrap_or_else(|| panic!("seed {seed}: a 200 without a JSON body"));
    let n = batch.ids.len() as u64;
    let (accepted, duplicates) = (answer["accepted"].as_u64(), answer["duplicates"].as_u64());
    assert!(answer["rejected"].as_array().is_some_and(Vec::is_empty), "seed {seed}: {answer}");
    assert!(
        (accepted, duplicates) == (Some(n), Some(0)) || (accepted, duplicates) == (Some(0), Some(n)),
        "seed {seed}: a batch is one transaction, committed wholly or not at all: {answer}"
    );
    duplicates == Some(n)
}

async fn counted_records(http: &reqwest::Client, url: &str, seed: u64) -> u64 {
    let view: Value = http
        .get(format!(
            "{url}/api/v1/projects/default/models/{CRASH_MODEL}/monitoring?from={}&to={}",
            CRASH_FIRST_HOUR - 7200,
            CRASH_FIRST_HOUR + 7200
        ))
        .bearer_auth(CRASH_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let windows = view["windows"].as_array().unwrap_or_else(|| panic!("seed {seed}: {view}"));
    windows.iter().map(|w| w["records"].as_u64().unwrap_or_else(|| panic!("seed {seed}: {w}"))).sum()
}

/// What one sender saw in a round: batches answered 2xx, and those that got no 2xx.
#[derive(Default)]
struct SenderLog {
    acknowledged: Vec<CrashBatch>,
    unanswered: Vec<CrashBatch>,
}

/// Posts fresh batches until the server is gone.
async fn send_until_killed(url: String, round: usize, sender: usize, seed: u64) -> SenderLog {
    let http = crash_http();
    let started = std::time::Instant::now();
    let mut log = SenderLog::default();
    for seq in 0.. {
        assert!(started.elapsed() < Duration::from_secs(15), "seed {seed}: the server was never killed");
        let batch = CrashBatch::fresh(round, sender, seq);
        match post_predictions(&http, &url, batch.body.clone()).await {
            Some((200, answer)) => {
                if let Some(answer) = answer {
                    assert_eq!(answer["accepted"].as_u64(), Some(batch.ids.len() as u64), "seed {seed}: {answer}");
                }
                log.acknowledged.push(batch);
            }
            // The two senders' batches meet in the same windows; a batch that lost the race
            // five times is refused with 503 and nothing committed. Anything else is a bug.
            Some((status, answer)) => {
                assert_eq!(status, 503, "seed {seed}: {answer:?}");
                log.unanswered.push(batch);
            }
            None => {
                log.unanswered.push(batch);
                break;
            }
        }
    }
    log
}

#[test]
fn acknowledged_records_survive_sigkill_exactly_once() {
    // A new seed per run (the standard library's per-process hash keys), never zero, which
    // xorshift would keep forever.
    let seed = std::env::var("RISKOPS_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0u8)
    }) | 1;
    eprintln!("crash test seed {seed} (set RISKOPS_CRASH_SEED to replay)");
    let mut random = XorShift(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    let mut server = Server::start(&data, Some(CRASH_TOKEN));
    let reference = dir.path().join("reference.csv");
    let mut text = String::from("x,segment\n");
    for i in 0..200 {
        text.push_str(&format!("{},{}\n", (i % 37) as f64 / 4.0, ["a", "b"][i % 2]));
    }
    std::fs::write(&reference, text).unwrap();
    let admin = |server: &Server, args: &[&str]| json_stdout(&server.riskops(CRASH_TOKEN, args));
    admin(&server, &["dataset", "push", "crash-reference", reference.to_str().unwrap(), "--format", "json"]);
    let artifact = dir.path().join("model.bin");
    std::fs::write(&artifact, b"model").unwrap();
    let args = [
        "model",
        "register",
        CRASH_MODEL,
        "--artifact",
        artifact.to_str().unwrap(),
        "--training-data",
        "crash-reference@1",
    ];
    admin(&server, &[&args[..], &["--format", "json"]].concat());

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut acknowledged: Vec<CrashBatch> = Vec::new();
    let mut unanswered: Vec<CrashBatch> = Vec::new();
    let mut committed_unanswered = 0usize;
    let started = std::time::Instant::now();
    for round in 0..CRASH_ROUNDS {
        // First, as a client would, the batches of the last round that got no 2xx.
        runtime.block_on(async {
            let http = crash_http();
            for batch in unanswered.drain(..) {
                committed_unanswered += usize::from(resend(&http, &server.url, &batch, seed).await);
                acknowledged.push(batch);
            }
        });
        let delay = Duration::from_millis(100 + random.next() % 600);
        let pid = server.child.id().to_string();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
        });
        let logs = runtime.block_on(async {
            let senders: Vec<_> = (0..CRASH_SENDERS)
                .map(|s| runtime.spawn(send_until_killed(server.url.clone(), round, s, seed)))
                .collect();
            let mut logs = Vec::new();
            for s in senders {
                logs.push(s.await.unwrap());
            }
            logs
        });
        killer.join().unwrap();
        let status = server.child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "seed {seed}: {status:?}");
        for log in logs {
            acknowledged.extend(log.acknowledged);
            unanswered.extend(log.unanswered);
        }
        eprintln!(
            "round {round}: killed after {delay:?}; {} batches acknowledged so far, {} unanswered",
            acknowledged.len(),
            unanswered.len()
        );
        server = Server::start(&data, None);
    }

    runtime.block_on(async {
        let http = crash_http();
        let acknowledged_ids: std::collections::HashSet<&str> =
            acknowledged.iter().flat_map(|b| b.ids.iter().map(String::as_str)).collect();
        assert_eq!(acknowledged_ids.len(), acknowledged.len() * CRASH_BATCH_RECORDS, "ids are unique");
        let counted = counted_records(&http, &server.url, seed).await;
        // The last round's unanswered batches, in or not: counted once if in.
        let mut in_from_unanswered = 0u64;
        for batch in &unanswered {
            if resend(&http, &server.url, batch, seed).await {
                in_from_unanswered += batch.ids.len() as u64;
                committed_unanswered += 1;
            }
        }
        assert_eq!(
            counted,
            acknowledged_ids.len() as u64 + in_from_unanswered,
            "seed {seed}: every acknowledged record once, plus the unanswered ones that were committed"
        );
        for batch in &acknowledged {
            assert!(resend(&http, &server.url, batch, seed).await, "seed {seed}: an acknowledged batch was lost");
        }
        let every_id = (acknowledged.len() + unanswered.len()) * CRASH_BATCH_RECORDS;
        assert_eq!(counted_records(&http, &server.url, seed).await, every_id as u64, "seed {seed}");
    });
    eprintln!(
        "{} batches acknowledged, {committed_unanswered} unanswered batches found committed; {:?}",
        acknowledged.len(),
        started.elapsed()
    );
}
