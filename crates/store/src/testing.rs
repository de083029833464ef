//! Test support: a private PostgreSQL schema per test, so that test runs on one database
//! never see each other's rows. Used by this crate's conformance suite and by the server's
//! tests; harmless in production (it only runs when called).

use riskops_core::{Error, Result};

/// The environment variable naming the PostgreSQL server tests may use.
pub const POSTGRES_URL_VAR: &str = "RISKOPS_TEST_POSTGRES_URL";

/// A schema that exists for as long as this value; dropped (best effort) afterwards.
pub struct PostgresSchema {
    base_url: String,
    name: String,
    url: String,
}

impl PostgresSchema {
    /// Creates a fresh schema on the server named by `RISKOPS_TEST_POSTGRES_URL`; `None`
    /// when the variable is unset (PostgreSQL tests are then skipped).
    pub async fn create() -> Result<Option<Self>> {
        let Ok(base_url) = std::env::var(POSTGRES_URL_VAR) else { return Ok(None) };
        let token = riskops_core::auth::generate_token()?;
        let name = format!("t_{}", &token.expose()[riskops_core::auth::TOKEN_PREFIX.len()..][..16]);
        let (client, conn) = tokio_postgres::connect(&base_url, tokio_postgres::NoTls)
            .await
            .map_err(|e| Error::unavailable(format!("cannot reach the test PostgreSQL: {e}")))?;
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .map_err(|e| Error::internal(format!("cannot create schema {name}: {e}")))?;
        let sep = if base_url.contains('?') { '&' } else { '?' };
        // The application name marks this schema's connections, so that dropping it can end
        // them first (see `Drop`).
        let url = format!("{base_url}{sep}options=-csearch_path%3D{name}&application_name={name}");
        Ok(Some(PostgresSchema { base_url, name, url }))
    }

    /// A database URL whose connections use only this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL without the schema option, for raw SQL in tests.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        let (url, name) = (self.base_url.clone(), self.name.clone());
        // Drop may run inside a runtime, so the clean-up gets a thread and runtime of its own,
        // and the caller's runtime is blocked until it ends. The schema's connections may
        // belong to that runtime: one left in a transaction (a store call that failed and
        // whose ROLLBACK the blocked runtime never sends) would hold locks that DROP SCHEMA
        // waits for forever. So they are ended first, and the drop gives up after a while
        // rather than hang (the schema is then left behind).
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = $1 AND pid <> pg_backend_pid()",
                            &[&name],
                        )
                        .await;
                    let _ = client
                        .batch_execute(&format!("SET lock_timeout = '30s'; DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .await;
                }
            })
        })
        .join();
    }
}
