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
