//! Running several replicas behind a load balancer: `/readyz` (database and artifact store
//! answer) apart from `/healthz` (the process answers), and a drain on shutdown during which
//! readiness is 503 while requests are still served.

use super::*;

#[tokio::test]
async fn readyz_needs_no_token_and_is_ready_when_database_and_artifacts_answer() {
    for s in servers().await {
        let (status, body) = s.get("/readyz", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"status": "ready", "database": "ok", "artifacts": "ok"}));
    }
}

/// A database that cannot answer the readiness read (its audit table gone) makes the replica
/// not ready, without saying why to an anonymous caller; it is ready again once it answers.
#[tokio::test]
async fn readyz_is_503_while_the_database_cannot_answer_and_recovers() {
    let Some(schema) = PostgresSchema::create().await.unwrap() else { return };
    let (name, base) = (schema.name().to_string(), schema.base_url().to_string());
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), Some(schema), 64 * 1024).await;
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute(&format!("ALTER TABLE {name}.audit_events RENAME TO audit_events_away")).await.unwrap();
    let (status, body) = s.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body, json!({"status": "not_ready", "database": "unreachable", "artifacts": "ok"}));
    assert_eq!(s.get("/healthz", None).await.0, StatusCode::OK, "alive all the same");
    client.batch_execute(&format!("ALTER TABLE {name}.audit_events_away RENAME TO audit_events")).await.unwrap();
    assert_eq!(s.get("/readyz", None).await.0, StatusCode::OK);
}

/// After the shutdown signal, readiness turns 503 at once while requests are still served
/// for the drain; then the listener closes and the server stops.
#[tokio::test]
async fn on_shutdown_readiness_turns_503_and_requests_are_served_until_the_drain_ends() {
    let drain = std::time::Duration::from_millis(1500);
    let mut s = TestServer::start_tweaked(tempfile::tempdir().unwrap(), |settings| settings.drain = drain).await;
    let started = std::time::Instant::now();
    s.stop.take().unwrap().send(()).unwrap();
    let mut readiness = (StatusCode::OK, Value::Null);
    for _ in 0..50 {
        readiness = s.get("/readyz", None).await;
        if readiness.0 != StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(readiness.0, StatusCode::SERVICE_UNAVAILABLE, "{}", readiness.1);
    assert_eq!(readiness.1["status"], "draining");
    let (status, projects) = s.get("/api/v1/projects", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "still served while draining: {projects}");
    s.running.take().unwrap().finished().await.unwrap();
    assert!(started.elapsed() >= drain, "stopped after the drain, not before: {:?}", started.elapsed());
    assert!(s.http.get(s.url("/healthz")).send().await.is_err(), "the listener is closed");
}

/// Two replicas on one PostgreSQL, many senders at once into the same window of one model:
/// no batch is refused (the servers try again, waiting, when another replica changed the
/// window first), and every acknowledged record is counted once.
#[tokio::test]
async fn two_replicas_ingesting_into_one_window_refuse_no_batch_and_count_every_record_once() {
    let Some(schema) = PostgresSchema::create().await.unwrap() else { return };
    let dir2 = tempfile::tempdir().unwrap();
    let settings2 = test_settings(dir2.path(), Some(&schema), 64 * 1024, None);
    let s1 = TestServer::start_on(tempfile::tempdir().unwrap(), Some(schema), 64 * 1024).await;
    let s2 = TestServer::start_settings(dir2, None, settings2, Arc::new(SystemClock)).await;
    s1.post("/api/v1/projects", json!({"name": "credit"})).await;
    let (status, d) = s1.upload("/api/v1/datasets/loans/versions", json!({"project": "credit"}), csv(300, 0.0)).await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let metadata = json!({"project": "credit", "training_data": "loans@1"});
    let (status, m) = s1.upload("/api/v1/models/scorer/versions", metadata, b"model".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");

    let hour = (riskops_core::clock::Clock::now(&SystemClock).unix_timestamp() / 3600 - 1) * 3600;
    let (senders, batches, per_batch) = (6usize, 5usize, 100usize);
    let mut tasks = Vec::new();
    for sender in 0..senders {
        let (http, base) = (s1.http.clone(), if sender % 2 == 0 { s1.base.clone() } else { s2.base.clone() });
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for b in 0..batches {
                let lines: String = (0..per_batch)
                    .map(|i| {
                        let n = (sender * batches + b) * per_batch + i;
                        let segment = ["a", "b", "c"][n % 3];
                        let r = json!({"id": format!("r{n}"), "timestamp": hour + (n % 3600) as i64, "version": "1",
                            "features": {"age": 20 + n % 50, "income": 3000.0 + n as f64, "segment": segment},
                            "prediction": n % 2, "score": 0.5});
                        format!("{r}\n")
                    })
                    .collect();
                let r = http
                    .post(format!("{base}/api/v1/projects/credit/models/scorer/predictions"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/x-ndjson")
                    .body(lines)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap();
                statuses.push((status, body["accepted"].as_u64()));
            }
            statuses
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        for (status, n) in task.await.unwrap() {
            assert_eq!(status, StatusCode::OK, "no batch refused");
            accepted += n.unwrap();
        }
    }
    assert_eq!(accepted as usize, senders * batches * per_batch);
    let (_, view) = s2.get("/api/v1/projects/credit/models/scorer/monitoring", Some(TOKEN)).await;
    let records: u64 = view["windows"].as_array().unwrap().iter().map(|w| w["records"].as_u64().unwrap()).sum();
    assert_eq!(records, accepted, "every record counted once: {view}");
}
