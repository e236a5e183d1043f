//! The backend-independent conformance story (`asom_store::conformance`),
//! run against PostgreSQL, one fresh database per story so they run in
//! parallel. Needs `ASOM_TEST_POSTGRES` (an admin URL whose role may create
//! databases); without it each test says it was skipped, unless
//! `ASOM_REQUIRE_POSTGRES=1`, when it fails.

mod support;

use asom_store::Store;
use asom_store::conformance::{Backend, Database, STORIES};
use asom_store_postgres::PostgresStore;
use support::TestDatabase;

/// Each database is a fresh PostgreSQL database on the test server.
struct Postgres {
    admin: String,
}

impl Backend for Postgres {
    fn new_database(&self) -> Box<dyn Database> {
        Box::new(TestDatabase::create(&self.admin))
    }
}

impl Database for TestDatabase {
    fn open(&self) -> Box<dyn Store> {
        Box::new(PostgresStore::open(&self.url).expect("opening the PostgreSQL store"))
    }
}

macro_rules! stories {
    ($($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                let Some(admin) = support::admin_url(concat!("conformance::", stringify!($name))) else {
                    return;
                };
                let story = STORIES
                    .iter()
                    .find(|s| s.name == stringify!($name))
                    .expect("the story exists");
                (story.run)(&*Postgres { admin }.new_database());
            }
        )+

        /// A story added to `STORIES` must be added here too.
        #[test]
        fn every_story_runs_on_postgres() {
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
