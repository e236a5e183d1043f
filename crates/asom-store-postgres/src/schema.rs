//! The schema and its migrations, run on connect.

use asom_store::{Result, StoreError};
use postgres::Client;

use crate::backend;

/// Every migration, in order; schema version `n` has the first `n` applied.
/// Shipped migrations never change; a change is a new file.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_request_keys.sql"),
];

/// The advisory lock key that serialises migrations across processes
/// (`asom` in ASCII).
const MIGRATION_LOCK: i64 = 0x6173_6f6d;

/// Brings the schema up to date, in one transaction, under an advisory lock
/// so that replicas starting together migrate once.
pub(crate) fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction().map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(backend)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS asom_schema (
             one     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
             version INTEGER NOT NULL
         )",
    )
    .map_err(|e| {
        StoreError::Backend(format!(
            "creating asom's schema table: {e}; the store's user needs the CREATE privilege \
             on the first schema of its search_path"
        ))
    })?;
    let row = tx
        .query_opt("SELECT version FROM asom_schema", &[])
        .map_err(backend)?;
    let version: i32 = if let Some(row) = row {
        row.try_get(0).map_err(backend)?
    } else {
        tx.execute("INSERT INTO asom_schema (version) VALUES (0)", &[])
            .map_err(backend)?;
        0
    };
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Err(StoreError::Invalid(format!(
            "this database has asom schema version {version}, newer than this asom ({}) understands; upgrade asom",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(sql)
            .map_err(|e| StoreError::Backend(format!("migration {}: {e}", i + 1)))?;
        let next = i32::try_from(i + 1).expect("few migrations");
        tx.execute("UPDATE asom_schema SET version = $1", &[&next])
            .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}
