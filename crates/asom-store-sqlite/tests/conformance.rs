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
