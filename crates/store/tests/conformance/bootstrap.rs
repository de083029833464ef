//! First start and projects: bootstrap once (also with two servers at once), reopening,
//! project names, and naming a missing PostgreSQL database.

use super::*;

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
        assert_eq!(authenticate(&riskops, "other-token").await.unwrap_err().kind, ErrorKind::Unauthenticated);

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
        assert_eq!(authenticate(&riskops, token.expose()).await.unwrap().name(), "admin");
        assert_eq!(authenticate(&riskops, "rsk_wrong").await.unwrap_err().kind, ErrorKind::Unauthenticated);
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
    assert_eq!(authenticate(&riskops, token.expose()).await.unwrap().name(), "admin");

    if let Some(schema) = PostgresSchema::create().await.unwrap() {
        let first = riskops_store::open(Some(schema.url()), dir.path()).await.unwrap();
        service(first).bootstrap(Some(&token)).await.unwrap();
        let again = riskops_store::open(Some(schema.url()), dir.path()).await.unwrap();
        assert_eq!(again.kind(), StoreKind::Postgres);
        assert_eq!(authenticate(&service(again), token.expose()).await.unwrap().name(), "admin");
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
async fn a_missing_postgres_database_is_named_with_how_to_create_it() {
    let Ok(url) = std::env::var(riskops_store::testing::POSTGRES_URL_VAR) else { return };
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    let e = match riskops_store::postgres::PostgresStore::connect(&format!("{base}/riskops_no_such_db")).await {
        Err(e) => e,
        Ok(_) => panic!("connected to a database that does not exist"),
    };
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
    assert!(
        e.message
            .contains("database \"riskops_no_such_db\" does not exist; create it with: createdb riskops_no_such_db"),
        "{e}"
    );
}

/// A column whose stored type is not the one the code reads (a schema changed behind the
/// server's back) fails that read with an internal error naming the column: PostgreSQL's
/// `Row::get` would panic instead. SQLite reads through `rusqlite`, whose `get` returns the
/// error already.
#[tokio::test]
async fn a_postgres_column_of_an_unexpected_type_is_an_internal_error_naming_it() {
    let Some(pg) = postgres().await else { return };
    admin_permit(&pg.store).await;
    let schema = pg.pg_schema.as_ref().unwrap();
    let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let table = format!("{}.projects", schema.name());
    client
        .batch_execute(&format!(
            "ALTER TABLE {table} ALTER COLUMN description DROP DEFAULT; \
             ALTER TABLE {table} ALTER COLUMN description TYPE INTEGER USING length(description)"
        ))
        .await
        .unwrap();
    let e = pg.store.project("default").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal, "{e}");
    assert!(e.message.contains("column description"), "{e}");
    let e = pg.store.list_projects().await.unwrap_err();
    assert!(e.message.contains("column description"), "{e}");
}

async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    riskops_store::open(Some(url), std::path::Path::new("/nonexistent")).await
}

/// `sslmode=require` encrypts; `verify-full` checks the certificate against `sslrootcert` and
/// the host name (PostgreSQL's own certificate, as the server is set up, is the CA here).
#[tokio::test]
async fn postgres_is_reached_over_tls_when_the_url_asks_and_verified_when_it_says_so() {
    let Some(schema) = PostgresSchema::create().await.unwrap() else { return };
    let (admin, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let setting = |name: &'static str| {
        let admin = &admin;
        async move { admin.query_one(&format!("SHOW {name}"), &[]).await.unwrap().get::<_, String>(0) }
    };
    if setting("ssl").await != "on" {
        eprintln!("skipped: this PostgreSQL has ssl off");
        return;
    }
    let cert = setting("ssl_cert_file").await;
    let with = |query: &str| format!("{}&{query}", schema.url());
    let encrypted_sessions = || async {
        let sql = "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                   WHERE a.application_name = $1 AND s.ssl";
        admin.query_one(sql, &[&schema.name()]).await.unwrap().get::<_, i64>(0)
    };

    let store = connect(&with("sslmode=require")).await.unwrap();
    store.list_projects().await.unwrap();
    assert!(encrypted_sessions().await > 0, "the store's sessions are encrypted");
    drop(store);

    // The certificate names localhost: verify-full passes for that name only.
    let local = with(&format!("sslmode=verify-full&sslrootcert={cert}")).replacen("127.0.0.1", "localhost", 1);
    if std::fs::read(&cert).is_ok() && local.contains("localhost") {
        connect(&local).await.unwrap().list_projects().await.unwrap();
        let by_address = local.replacen("localhost", "127.0.0.1", 1);
        let refused = connect(&by_address).await.err().expect("the name does not match");
        assert_eq!(refused.kind, ErrorKind::Unavailable, "{refused}");
        let ca_only = by_address.replacen("verify-full", "verify-ca", 1);
        connect(&ca_only).await.unwrap().list_projects().await.unwrap();
    }
    let unknown = connect(&with("sslmode=sometimes")).await.err().unwrap();
    assert_eq!(unknown.kind, ErrorKind::Invalid, "{unknown}");
}
