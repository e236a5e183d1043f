//! The database file itself: the append-only triggers hold against a plain
//! SQL prompt, migrations run once and keep data, and a database from a newer
//! asom is refused with a message that says what to do.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use asom_ledger::note::NoteSigner;
use asom_store::{NewEntry, Store, StoreError, Tenant, verify_tenant_log};
use asom_store_sqlite::SqliteStore;
use rusqlite::Connection;

const TENANT: &str = "default";
const ORIGIN: &str = "asom.test/schema/default";

fn log_key() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed(ORIGIN, [3; 32]).expect("valid key name"))
}

fn entry(n: u64) -> NewEntry {
    NewEntry::new("record", &serde_json::json!({"n": n}), "ci-bot").expect("valid")
}

/// A closed database with a tenant and 10 entries.
fn database(dir: &Path) -> PathBuf {
    let path = dir.join("asom.db");
    let store = SqliteStore::open(&path).expect("open");
    let tenant = Tenant {
        slug: TENANT.into(),
        origin: ORIGIN.into(),
    };
    store
        .create_tenant(&tenant, log_key(), "2026-01-01T00:00:00.000Z")
        .expect("tenant");
    store
        .append(TENANT, (0..10).map(entry).collect())
        .expect("append");
    path
}

fn verify(store: &SqliteStore) -> u64 {
    verify_tenant_log(store, TENANT, &mut |_: u64, _: u64| {})
        .expect("the log verifies")
        .entries
}

/// How many migrations ship with the crate.
fn shipped_migrations() -> i64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let count = std::fs::read_dir(dir)
        .expect("the migrations directory")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    i64::try_from(count).expect("a few migrations")
}

fn user_version(path: &Path) -> i64 {
    let conn = Connection::open(path).expect("raw open");
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version")
}

#[test]
fn the_ledger_tables_refuse_updates_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = database(dir.path());
    let conn = Connection::open(&path).expect("raw open");
    for sql in [
        "UPDATE entries SET kind = 'evidence'",
        "UPDATE entries SET body = body WHERE rowid = (SELECT MIN(rowid) FROM entries)",
        "DELETE FROM entries",
        "DELETE FROM entries WHERE rowid = (SELECT MAX(rowid) FROM entries)",
        "UPDATE nodes SET hash = zeroblob(32)",
        "DELETE FROM nodes",
        "UPDATE checkpoints SET note = 'forged'",
        "DELETE FROM checkpoints",
    ] {
        let err = conn.execute(sql, []).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    drop(conn);
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(verify(&store), 10, "nothing was changed");
}

/// `INSERT OR REPLACE` deletes the row in the way without firing DELETE
/// triggers (unless `recursive_triggers` is on, which a SQL prompt does not
/// set), so the append-only promise needs more than UPDATE/DELETE triggers.
#[test]
fn insert_or_replace_cannot_overwrite_the_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = database(dir.path());
    let conn = Connection::open(&path).expect("raw open");
    conn.execute_batch(
        "CREATE TEMP TABLE e AS SELECT * FROM entries LIMIT 1; UPDATE e SET kind = 'evidence';
         CREATE TEMP TABLE c AS SELECT * FROM checkpoints WHERE size = (SELECT MAX(size) FROM checkpoints);
         UPDATE c SET note = 'forged';",
    )
    .expect("preparing the replacement rows");
    let mut bypassed = Vec::new();
    for sql in [
        "INSERT OR REPLACE INTO nodes (key, hash) SELECT key, zeroblob(32) FROM nodes LIMIT 1",
        "INSERT OR REPLACE INTO entries SELECT * FROM e",
        "REPLACE INTO checkpoints SELECT * FROM c",
    ] {
        match conn.execute(sql, []) {
            Err(err) => assert!(err.to_string().contains("append-only"), "{sql}: {err}"),
            Ok(rows) => bypassed.push(format!("{sql} ({rows} row)")),
        }
    }
    drop(conn);
    let store = SqliteStore::open(&path).expect("reopen");
    let verified = verify_tenant_log(&store, TENANT, &mut |_: u64, _: u64| {});
    assert!(
        bypassed.is_empty(),
        "these overwrote ledger rows past the append-only triggers: {bypassed:#?}; verification now says {verified:?}"
    );
}

#[test]
fn reopening_keeps_the_data_and_runs_no_migration_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = database(dir.path());
    assert_eq!(
        user_version(&path),
        shipped_migrations(),
        "every shipped migration ran"
    );
    for round in 0..3 {
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(verify(&store), 10 + round, "round {round}");
        assert_eq!(store.tenants().expect("tenants").len(), 1);
        store.register_signer(TENANT, log_key()).expect("register");
        store
            .append(TENANT, vec![entry(100 + round)])
            .expect("append after reopening");
    }
    assert_eq!(user_version(&path), shipped_migrations());
    let journal: String = Connection::open(&path)
        .expect("raw open")
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("journal_mode");
    assert_eq!(journal, "wal", "the database is in WAL mode");
}

#[test]
fn a_database_from_a_newer_asom_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = database(dir.path());
    let newer = shipped_migrations() + 1;
    Connection::open(&path)
        .expect("raw open")
        .pragma_update(None, "user_version", newer)
        .expect("set");
    let err = SqliteStore::open(&path)
        .err()
        .expect("a newer schema must be refused");
    let text = err.to_string();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(
        text.contains(&format!("schema version {newer}")),
        "names the version: {text}"
    );
    assert!(text.contains("upgrade asom"), "says what to do: {text}");
    assert_eq!(
        user_version(&path),
        newer,
        "the refused database is left alone"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("asom.db");
    std::fs::write(
        &path,
        b"this is a text file, not an asom store\n".repeat(200),
    )
    .expect("write");
    let err = SqliteStore::open(&path)
        .err()
        .expect("a text file must be refused");
    assert!(err.to_string().contains("not a database"), "{err}");
}

#[test]
fn processes_opening_a_new_database_at_once_migrate_it_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("asom.db");
    let threads = 8;
    let start = Barrier::new(threads);
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (start, path) = (&start, &path);
                s.spawn(move || {
                    start.wait();
                    SqliteStore::open(path).map(drop).map_err(|e| e.to_string())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for r in &results {
        assert!(
            r.is_ok(),
            "opening a new database concurrently failed: {r:?}"
        );
    }
    assert_eq!(user_version(&path), shipped_migrations());
}

#[test]
fn a_closed_store_answers_instead_of_hanging() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = database(dir.path());
    let store = SqliteStore::open(&path).expect("open");
    store.register_signer(TENANT, log_key()).expect("register");
    store.close();
    let refused = store.append(TENANT, vec![entry(99)]);
    assert!(
        matches!(refused, Err(StoreError::Backend(_))),
        "{refused:?}"
    );
    assert_eq!(
        verify(&store),
        10,
        "reads still work and nothing was written"
    );
}

/// A visitor that fails (or panics) at the first entry.
struct Failing {
    panic: bool,
}

impl asom_store::LogVisitor for Failing {
    fn checkpoints(&mut self, _: Vec<asom_store::StoredCheckpoint>) -> asom_store::Result<()> {
        Ok(())
    }
    fn entry(&mut self, entry: &asom_store::ScannedEntry<'_>) -> asom_store::Result<()> {
        assert!(!self.panic, "the visitor panics at entry {}", entry.index);
        Err(StoreError::Corrupt(format!(
            "the visitor refuses entry {}",
            entry.index
        )))
    }
    fn extra_node(&mut self, _: u64, _: asom_ledger::Hash) -> asom_store::Result<()> {
        Ok(())
    }
}

#[test]
fn readers_that_fail_or_panic_give_their_connection_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(database(dir.path())).expect("open");
    store.register_signer(TENANT, log_key()).expect("register");
    // More failures than the pool has connections: a leaked slot would make
    // the last read below wait forever.
    for _ in 0..2 * asom_store_sqlite::MAX_READERS {
        let refused = store.scan_log(TENANT, &mut Failing { panic: false });
        assert!(
            matches!(&refused, Err(StoreError::Corrupt(m)) if m == "the visitor refuses entry 0"),
            "the visitor's own error is reported: {refused:?}"
        );
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.scan_log(TENANT, &mut Failing { panic: true })
        }));
        assert!(panicked.is_err(), "the visitor's panic propagates");
    }
    assert_eq!(verify(&store), 10);
    store.append(TENANT, vec![entry(10)]).expect("append");
    assert_eq!(verify(&store), 11, "reads see the write afterwards");
}

#[test]
fn more_concurrent_readers_than_connections_all_get_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(database(dir.path())).expect("open");
    store.register_signer(TENANT, log_key()).expect("register");
    let threads = 4 * asom_store_sqlite::MAX_READERS;
    let start = Barrier::new(threads);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start.wait();
                assert_eq!(verify(&store), 10);
            });
        }
    });
}
