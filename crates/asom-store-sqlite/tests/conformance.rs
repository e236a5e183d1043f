//! The backend-independent conformance story (`asom_store::conformance`),
//! run against SQLite databases in temporary directories, one test per story
//! so they run in parallel.

use std::path::PathBuf;

use asom_store::Store;
use asom_store::conformance::{Backend, Database, STORIES};
use asom_store_sqlite::SqliteStore;

/// Each database is a file in its own temporary directory.
struct Sqlite;

/// One SQLite database file; every handle is its own `SqliteStore`.
struct SqliteDatabase {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Backend for Sqlite {
    fn new_database(&self) -> Box<dyn Database> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("asom.db");
        Box::new(SqliteDatabase { _dir: dir, path })
    }
}

impl Database for SqliteDatabase {
    fn open(&self) -> Box<dyn Store> {
        Box::new(SqliteStore::open(&self.path).expect("opening the SQLite store"))
    }
}

macro_rules! stories {
    ($($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                let story = STORIES
                    .iter()
                    .find(|s| s.name == stringify!($name))
                    .expect("the story exists");
                (story.run)(&*Sqlite.new_database());
            }
        )+

        /// A story added to `STORIES` must be added here too.
        #[test]
        fn every_story_runs_on_sqlite() {
            let here = [$(stringify!($name)),+];
            let all: Vec<&str> = STORIES.iter().map(|s| s.name).collect();
            assert_eq!(here.as_slice(), all.as_slice());
        }
    };
}

stories!(
    tenants,
    signers_and_key_rotation,
    principals_and_tokens,
    appends,
    checkpoints,
    proofs,
    concurrent_appends,
    two_handles,
    index_keys,
    key_prefixes,
    expectations,
    concurrent_expectations,
);

/// Calls that share a group-commit batch are sequenced like calls in
/// separate batches: each call's expectations are checked against the log
/// just before it, which includes the calls queued before it in the batch,
/// counted once. The write lock is held from a raw connection so that three
/// calls queue up behind a blocked one and are committed together.
#[test]
fn expectations_see_earlier_calls_of_the_same_batch() {
    use std::sync::Arc;
    use std::time::Duration;

    use asom_ledger::note::NoteSigner;
    use asom_store::{NewEntry, StoreError, Tenant};

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("asom.db");
    let store = SqliteStore::open(&path).expect("open");
    let origin = "asom.test/batch-expectations/alpha";
    let signer = Arc::new(NoteSigner::from_seed(origin, [3; 32]).expect("key"));
    store
        .create_tenant(
            &Tenant {
                slug: "alpha".into(),
                origin: origin.into(),
            },
            signer,
            "2026-01-01T00:00:00.000Z",
        )
        .expect("tenant");
    let key = "release:batch@1";
    let call = |n: u64, expect: u64| {
        let e = NewEntry::new("record", &serde_json::json!({"batch": n}), "ci-bot")
            .expect("valid")
            .with_keys([key])
            .expect("valid key");
        vec![e.expecting(key, expect)]
    };
    let lock = rusqlite::Connection::open(&path).expect("raw open");
    lock.execute_batch("BEGIN IMMEDIATE")
        .expect("taking the write lock");
    let store = &store;
    let results = std::thread::scope(|s| {
        // The writer takes this call and waits for the lock.
        let blocked = s.spawn(move || store.append("alpha", call(0, 0)));
        std::thread::sleep(Duration::from_millis(300));
        // Queued behind it, in this order: calls expecting 1 (right), 3
        // (wrong: there are 2 before it) and 2 (right, as the wrong one
        // wrote nothing).
        let mut queued = Vec::new();
        for (n, expect) in [(1, 1), (2, 3), (3, 2)] {
            queued.push(s.spawn(move || store.append("alpha", call(n, expect))));
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(200));
        lock.execute_batch("COMMIT")
            .expect("releasing the write lock");
        let blocked = blocked.join().expect("thread");
        assert!(
            blocked.as_ref().is_ok_and(|a| a[0].index == 0),
            "{blocked:?}"
        );
        queued
            .into_iter()
            .map(|q| q.join().expect("thread"))
            .collect::<Vec<_>>()
    });
    let sizes: Vec<u64> = store
        .checkpoints("alpha")
        .expect("checkpoints")
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(
        sizes.len(),
        3,
        "the queued calls must share one batch for this test to mean anything: {sizes:?}"
    );
    // The key has entry 0 (the blocked call) before the batch.
    let outcome: Vec<String> = results
        .iter()
        .map(|r| match r {
            Ok(a) => format!("appended at {}", a[0].index),
            Err(StoreError::Conflict {
                expected, actual, ..
            }) => format!("conflict: expected {expected}, found {actual}"),
            Err(e) => format!("{e}"),
        })
        .collect();
    assert_eq!(
        outcome,
        [
            "appended at 1",
            "conflict: expected 3, found 2",
            "appended at 2",
        ],
        "three calls in one batch, after one entry with the key: expecting 1, 3 and 2"
    );
    assert_eq!(store.count_with_key("alpha", key, None).expect("count"), 3);
}
