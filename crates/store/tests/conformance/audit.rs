//! The audit trail: every change in a verifiable chain, append-only tables and guards,
//! checkpoints of the head, and tampering reported where it is.

use super::*;

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

/// Runs `sql` (with `{t}` for the audit table) on the backend's database as a forger would,
/// its append-only guard removed first.
async fn forge(b: &Backend, sql: &str) {
    match &b.pg_schema {
        None => {
            let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
            let sql = format!("DROP TRIGGER audit_events_no_update; {}", sql.replace("{t}", "audit_events"));
            rusqlite::Connection::open(path).unwrap().execute_batch(&sql).unwrap();
        }
        Some(schema) => {
            let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let table = format!("{}.audit_events", schema.name());
            let sql =
                format!("DROP TRIGGER IF EXISTS audit_events_no_change ON {table}; {}", sql.replace("{t}", &table));
            client.batch_execute(&sql).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_stored_event_spelled_otherwise_than_sealed_is_reported_where_it_is() {
    for b in backends().await {
        let kind = b.store.kind();
        let riskops = service(b.store.clone());
        riskops.bootstrap(Some(&Secret::new("tok-respelled".into()))).await.unwrap();
        let ctx = admin_context(&riskops, "tok-respelled").await;
        for name in ["a", "b"] {
            riskops.create_project(&ctx, NewProject { name: name.into(), description: String::new() }).await.unwrap();
        }
        assert!(riskops.verify_audit(&ctx, None).await.unwrap().ok, "{kind:?}");
        // The same content with white space added: the hash alone would not notice.
        forge(&b, "UPDATE {t} SET after_json = after_json || ' ' WHERE seq = 3").await;
        let report = riskops.verify_audit(&ctx, None).await.unwrap();
        assert_eq!((report.ok, report.first_bad_seq, report.events), (false, Some(3), 2), "{kind:?}: {report:?}");
        assert!(report.reason.as_deref().unwrap().contains("canonical form"), "{kind:?}: {report:?}");
    }
}

#[tokio::test]
async fn a_dropped_append_only_trigger_is_reported() {
    let b = sqlite().await;
    assert!(b.store.missing_audit_guards().await.unwrap().is_empty());
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    rusqlite::Connection::open(path).unwrap().execute_batch("DROP TRIGGER audit_events_no_delete").unwrap();
    assert_eq!(b.store.missing_audit_guards().await.unwrap(), ["audit_events_no_delete"]);

    if let Some(pg) = postgres().await {
        assert!(pg.store.missing_audit_guards().await.unwrap().is_empty());
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP TRIGGER audit_checkpoints_no_change ON {}.audit_checkpoints", schema.name()))
            .await
            .unwrap();
        assert_eq!(pg.store.missing_audit_guards().await.unwrap(), ["audit_checkpoints_no_change"]);
    }
}
