//! Store implementations for riskops: SQLite (the embedded default) and PostgreSQL.
//!
//! Each backend owns its SQL and its migrations (`migrations/<backend>/NNNN_name.sql`),
//! which run at start, are idempotent, and are safe when several servers start at once.
//! Both implement [`riskops_core::store::Store`] and pass the same conformance suite
//! (`tests/conformance.rs` and its modules in `tests/conformance/`). Nothing above this crate
//! writes SQL.
//!
//! Each backend has one submodule per capability (`registry`, `audit`, `identities`,
//! `governance`, `risk`, `compliance`, `monitoring`, `alerting`) holding that capability's SQL
//! and its implementation of the matching store trait. Rows are decoded into the shared row
//! types of `rows`, `registry_rows` and `audit_row`; PostgreSQL reads every column with
//! `try_get`, so a column of an unexpected type is an error, never a panic.

pub mod artifacts;
mod audit_row;
mod pg_tls;
pub mod postgres;
mod registry_rows;
mod rows;
pub mod sqlite;
pub mod testing;

use riskops_core::store::Store;
use riskops_core::{Error, Result};
use std::path::Path;
use std::sync::Arc;

/// Opens the store named by `database_url` (`postgres://…` or `postgresql://…`), or the
/// SQLite file `<data_dir>/riskops.sqlite` when there is none. Runs migrations.
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Store>> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
        }
        Some(url) if url.starts_with("sqlite://") => {
            let path = url.trim_start_matches("sqlite://");
            Ok(Arc::new(sqlite::SqliteStore::open(Path::new(path)).await?))
        }
        Some(_) => Err(Error::invalid("database-url", "must start with postgres://, postgresql:// or sqlite://")),
        None => Ok(Arc::new(sqlite::SqliteStore::open(&data_dir.join(sqlite::FILE_NAME)).await?)),
    }
}
