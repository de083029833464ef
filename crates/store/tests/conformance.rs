//! The store conformance suite: the same stories on SQLite always, and on PostgreSQL when
//! `RISKOPS_TEST_POSTGRES_URL` is set (each run in a fresh schema, dropped afterwards).
//! One binary for the crate: every test file is a separate link step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_core::audit::verify_chain;
use riskops_core::checkpoint::Checkpoint;
use riskops_core::clock::ManualClock;
use riskops_core::project::NewProject;
use riskops_core::secret::Secret;
use riskops_core::service::{BootstrapOutcome, RequestContext};
use riskops_core::signing::SigningKey;
use riskops_core::store::{Store, StoreKind};
use riskops_core::{ErrorKind, Riskops};
use riskops_store::testing::PostgresSchema;
use std::sync::Arc;
use time::macros::datetime;

/// A store under test, with whatever must live as long as it.
struct Backend {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<PostgresSchema>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = riskops_store::open(None, dir.path()).await.unwrap();
    Backend { store, _dir: Some(dir), pg_schema: None }
}

async fn postgres() -> Option<Backend> {
    let schema = PostgresSchema::create().await.unwrap()?;
    let store = riskops_store::open(Some(schema.url()), std::path::Path::new("/nonexistent")).await.unwrap();
    Some(Backend { store, _dir: None, pg_schema: Some(schema) })
}

/// Every backend available in this run.
async fn backends() -> Vec<Backend> {
    let mut all = vec![sqlite().await];
    if let Some(pg) = postgres().await {
        all.push(pg);
    }
    all
}

fn service(store: Arc<dyn Store>) -> Riskops {
    // Registry stories need artifacts; these tests keep them in a folder that outlives the test.
    let folder = std::env::temp_dir().join(format!("riskops-conformance-{}", std::process::id()));
    let artifacts = Arc::new(riskops_store::artifacts::LocalArtifacts::new(folder).unwrap());
    Riskops::new(store, artifacts, Arc::new(ManualClock::new(datetime!(2026-03-01 12:00 UTC))))
}

async fn admin_context(riskops: &Riskops, token: &str) -> RequestContext {
    RequestContext { principal: riskops.authenticate(token).await.unwrap(), request_id: Some("req-1".into()) }
}

#[tokio::test]
async fn bootstrap_creates_admin_and_default_project_once() {
    for b in backends().await {
        let riskops = service(b.store.clone());
        let token = Secret::new("bootstrap-token-1234".to_string());
        let first = riskops.bootstrap(Some(&token)).await.unwrap();
        assert!(matches!(first, BootstrapOutcome::Created { generated_token: None }), "{:?}", b.store.kind());
        // A second start, even with another token, changes nothing.
        let second = riskops.bootstrap(Some(&Secret::new("other-token".to_string()))).await.unwrap();
        assert!(matches!(second, BootstrapOutcome::AlreadyInitialised));
        assert_eq!(riskops.authenticate("other-token").await.unwrap_err().kind, ErrorKind::Unauthenticated);

        let ctx = admin_context(&riskops, token.expose()).await;
        assert_eq!(ctx.principal.name(), "admin");
        assert!(ctx.principal.is_admin());
        let projects = riskops.list_projects(&ctx).await.unwrap();
        assert_eq!(projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["default"]);
        assert_eq!(projects[0].created_by, "system");
    }
}

#[tokio::test]
async fn a_generated_bootstrap_token_is_returned_once_and_works() {
    for b in backends().await {
        let riskops = service(b.store.clone());
        let BootstrapOutcome::Created { generated_token: Some(token) } = riskops.bootstrap(None).await.unwrap() else {
            panic!("expected a generated token");
        };
        assert_eq!(riskops.authenticate(token.expose()).await.unwrap().name(), "admin");
        assert_eq!(riskops.authenticate("rsk_wrong").await.unwrap_err().kind, ErrorKind::Unauthenticated);
    }
}

#[tokio::test]
async fn reopening_a_store_keeps_data_and_applies_no_migration_twice() {
    let dir = tempfile::tempdir().unwrap();
    let token = Secret::new("t0k3n-for-reopen".to_string());
    {
        let store = riskops_store::open(None, dir.path()).await.unwrap();
        service(store).bootstrap(Some(&token)).await.unwrap();
    }
    let store = riskops_store::open(None, dir.path()).await.unwrap();
    let riskops = service(store);
    assert!(matches!(riskops.bootstrap(None).await.unwrap(), BootstrapOutcome::AlreadyInitialised));
    assert_eq!(riskops.authenticate(token.expose()).await.unwrap().name(), "admin");

    if let Some(schema) = PostgresSchema::create().await.unwrap() {
        let first = riskops_store::open(Some(schema.url()), dir.path()).await.unwrap();
        service(first).bootstrap(Some(&token)).await.unwrap();
        let again = riskops_store::open(Some(schema.url()), dir.path()).await.unwrap();
        assert_eq!(again.kind(), StoreKind::Postgres);
        assert_eq!(service(again).authenticate(token.expose()).await.unwrap().name(), "admin");
    }
}

#[tokio::test]
async fn projects_are_created_listed_and_unique() {
    for b in backends().await {
        let riskops = service(b.store.clone());
        riskops.bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
        let ctx = admin_context(&riskops, "tok").await;
        let made = riskops
            .create_project(&ctx, NewProject { name: "fraud-detection".into(), description: "card fraud".into() })
            .await
            .unwrap();
        assert_eq!(made.created_by, "admin");
        assert_eq!(riskops.project(&ctx, "fraud-detection").await.unwrap(), made);

        let dup =
            riskops.create_project(&ctx, NewProject { name: "fraud-detection".into(), description: String::new() });
        assert_eq!(dup.await.unwrap_err().kind, ErrorKind::Conflict);
        let bad = riskops.create_project(&ctx, NewProject { name: "no spaces".into(), description: String::new() });
        assert_eq!(bad.await.unwrap_err().field.as_deref(), Some("name"));
        assert_eq!(riskops.project(&ctx, "missing").await.unwrap_err().kind, ErrorKind::NotFound);

        let names: Vec<_> = riskops.list_projects(&ctx).await.unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["default", "fraud-detection"]);
    }
}

#[tokio::test]
async fn every_change_is_in_a_verifiable_audit_chain() {
    for b in backends().await {
        let riskops = service(b.store.clone());
        riskops.bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
        let ctx = admin_context(&riskops, "tok").await;
        for i in 0..3 {
            let p = NewProject { name: format!("p{i}"), description: format!("{{\"weird\": {i}.50}}") };
            riskops.create_project(&ctx, p).await.unwrap();
        }
        // A refused change leaves no event.
        let _ = riskops.create_project(&ctx, NewProject { name: "p0".into(), description: String::new() }).await;

        let events = b.store.audit_events(0, 100).await.unwrap();
        let actions: Vec<_> = events.iter().map(|e| (e.actor.as_str(), e.action.as_str(), e.target.as_str())).collect();
        assert_eq!(
            actions,
            [
                ("system", "identity.create", "identity:admin"),
                ("system", "project.create", "project:default"),
                ("admin", "project.create", "project:p0"),
                ("admin", "project.create", "project:p1"),
                ("admin", "project.create", "project:p2"),
            ]
        );
        assert_eq!(events[2].request_id.as_deref(), Some("req-1"));
        let report = verify_chain(&events);
        assert!(report.ok, "{:?}: {report:?}", b.store.kind());
        assert_eq!(report.events, 5);
        // Paging returns the tail.
        assert_eq!(b.store.audit_events(3, 100).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn the_audit_table_refuses_update_and_delete() {
    let b = sqlite().await;
    service(b.store.clone()).bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    let conn = rusqlite::Connection::open(path).unwrap();
    let update = conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit_events WHERE seq = 1", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    conn.execute_batch("INSERT INTO signing_keys VALUES ('k', 'pk', 't'); INSERT INTO audit_checkpoints VALUES (1, 'h', 'k', 's', 't');")
        .unwrap();
    for sql in [
        "UPDATE signing_keys SET public_key = 'x'",
        "DELETE FROM signing_keys",
        "UPDATE audit_checkpoints SET seq = 9",
        "DELETE FROM audit_checkpoints",
    ] {
        assert!(conn.execute(sql, []).unwrap_err().to_string().contains("append-only"), "{sql}");
    }

    if let Some(pg) = postgres().await {
        service(pg.store.clone()).bootstrap(Some(&Secret::new("tok".into()))).await.unwrap();
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        // Row triggers fire only on rows: give the new tables one each.
        client
            .batch_execute(&"INSERT INTO {s}.signing_keys VALUES ('k', 'pk', now()); INSERT INTO {s}.audit_checkpoints VALUES (1, 'h', 'k', 's', now());".replace("{s}", schema.name()))
            .await
            .unwrap();
        for sql in [
            "UPDATE {s}.audit_events SET actor = 'mallory'",
            "DELETE FROM {s}.audit_events",
            "TRUNCATE {s}.audit_events",
            "DELETE FROM {s}.signing_keys",
            "TRUNCATE {s}.signing_keys",
            "UPDATE {s}.audit_checkpoints SET hash = 'x'",
            "DELETE FROM {s}.audit_checkpoints",
            "TRUNCATE {s}.audit_checkpoints",
        ] {
            let err = client.batch_execute(&sql.replace("{s}", schema.name())).await.unwrap_err();
            assert!(format!("{err:?}").contains("append-only"), "{sql}: {err:?}");
        }
    }
}

#[tokio::test]
async fn concurrent_bootstraps_create_one_admin() {
    for b in backends().await {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let riskops = service(b.store.clone());
            tasks.push(tokio::spawn(async move {
                riskops.bootstrap(Some(&Secret::new(format!("token-{i}")))).await.unwrap()
            }));
        }
        let mut created = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), BootstrapOutcome::Created { .. }) {
                created += 1;
            }
        }
        assert_eq!(created, 1, "{:?}", b.store.kind());
        assert!(verify_chain(&b.store.audit_events(0, 100).await.unwrap()).ok);
    }
}

#[tokio::test]
async fn checkpoints_sign_the_head_once_and_only_what_is_in_the_trail() {
    for b in backends().await {
        let kind = b.store.kind();
        let (key, _) = SigningKey::generate().unwrap();
        let key = Arc::new(key);
        let riskops = service(b.store.clone()).with_signing_key(key.clone());
        riskops.bootstrap(Some(&Secret::new("tok-checkpoints".into()))).await.unwrap();
        let ctx = admin_context(&riskops, "tok-checkpoints").await;

        // Keys register idempotently.
        assert!(b.store.public_keys().await.unwrap().is_empty());
        riskops.register_signing_key().await.unwrap();
        riskops.register_signing_key().await.unwrap();
        assert_eq!(b.store.public_keys().await.unwrap(), vec![key.public_key()], "{kind:?}");

        // Bootstrap wrote two events: the first checkpoint signs seq 2, a second call nothing.
        let head = b.store.audit_head().await.unwrap().unwrap();
        assert_eq!(head.0, 2);
        let first = riskops.checkpoint_audit().await.unwrap().unwrap();
        assert_eq!((first.seq, &first.hash), (2, &head.1));
        assert!(riskops.checkpoint_audit().await.unwrap().is_none());
        // Writing one is not an audit event.
        assert_eq!(b.store.audit_head().await.unwrap().unwrap().0, 2);

        riskops.create_project(&ctx, NewProject { name: "cp".into(), description: String::new() }).await.unwrap();
        assert_eq!(riskops.verify_audit(&ctx, None).await.unwrap().unsigned_tail, 1);
        let second = riskops.checkpoint_audit().await.unwrap().unwrap();
        assert_eq!(second.seq, 3);
        assert_eq!(b.store.latest_checkpoint().await.unwrap(), Some(second.clone()), "{kind:?}");
        assert_eq!(b.store.checkpoints().await.unwrap(), vec![first.clone(), second.clone()], "{kind:?}");

        let report = riskops.verify_audit(&ctx, Some(&key.public_key())).await.unwrap();
        assert!(report.ok, "{kind:?}: {report:?}");
        assert_eq!((report.checkpoint.map(|c| c.seq), report.unsigned_tail), (Some(3), 0));
        let (stranger, _) = SigningKey::generate().unwrap();
        let pinned = riskops.verify_audit(&ctx, Some(&stranger.public_key())).await.unwrap();
        assert_eq!((pinned.ok, pinned.first_bad_seq), (false, Some(2)), "{kind:?}");

        // Another replica's checkpoint at the same seq: nothing written. A hash or seq
        // not in the trail: refused.
        let at = datetime!(2026-03-01 12:00 UTC);
        assert!(!b.store.write_checkpoint(&Checkpoint::sign(&key, 3, &second.hash, at)).await.unwrap());
        for (seq, hash) in [(3, "00".repeat(32)), (9, second.hash.clone())] {
            let err = b.store.write_checkpoint(&Checkpoint::sign(&key, seq, &hash, at)).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Integrity, "{kind:?}");
        }
    }
}

#[tokio::test]
async fn an_empty_trail_needs_no_checkpoint() {
    let b = sqlite().await;
    let (key, _) = SigningKey::generate().unwrap();
    let riskops = service(b.store.clone()).with_signing_key(Arc::new(key));
    assert!(riskops.checkpoint_audit().await.unwrap().is_none());
    assert!(b.store.audit_head().await.unwrap().is_none());
    assert!(b.store.latest_checkpoint().await.unwrap().is_none());
    // Without a key there is nothing to sign with.
    assert_eq!(service(b.store.clone()).checkpoint_audit().await.unwrap_err().kind, ErrorKind::Internal);
}
