//! The schema: created once, idempotently, versioned; the ledger tables
//! refuse changes; a tampered tree is refused before anything is signed on it.

mod support;

use std::sync::Arc;

use asom_ledger::note::NoteSigner;
use asom_store::{NewEntry, Store, StoreError, Tenant};
use asom_store_postgres::{MIGRATIONS, PostgresStore};
use support::TestDatabase;

const ORIGIN: &str = "asom.test/schema/alpha";

fn store_with_log(db: &TestDatabase, entries: u64) -> PostgresStore {
    let store = PostgresStore::open(&db.url).expect("open");
    let key = Arc::new(NoteSigner::from_seed(ORIGIN, [7; 32]).expect("key"));
    store
        .create_tenant(
            &Tenant {
                slug: "alpha".into(),
                origin: ORIGIN.into(),
            },
            key,
            "2026-01-01T00:00:00.000Z",
        )
        .expect("tenant");
    let batch = (0..entries)
        .map(|n| {
            NewEntry::new("record", &serde_json::json!({"n": n}), "ci-bot")
                .expect("valid")
                .with_keys([format!("test:{n}")])
                .expect("valid key")
        })
        .collect();
    store.append("alpha", batch).expect("append");
    store
}

#[test]
fn opening_again_keeps_the_data_and_the_version() {
    let Some(admin) = support::admin_url("schema::opening_again_keeps_the_data_and_the_version")
    else {
        return;
    };
    let db = TestDatabase::create(&admin);
    drop(store_with_log(&db, 3));
    let again = PostgresStore::open(&db.url).expect("reopen");
    assert_eq!(again.latest_checkpoint("alpha").expect("latest").size, 3);
    let version: i32 = db
        .client()
        .query_one("SELECT version FROM asom_schema", &[])
        .expect("version")
        .get(0);
    assert_eq!(usize::try_from(version).ok(), Some(MIGRATIONS.len()));
    assert!(
        !again.describe().contains("asom:asom"),
        "{}",
        again.describe()
    );
    assert!(again.describe().contains(&db.name), "{}", again.describe());
}

#[test]
fn a_newer_schema_is_refused_with_the_fix() {
    let Some(admin) = support::admin_url("schema::a_newer_schema_is_refused_with_the_fix") else {
        return;
    };
    let db = TestDatabase::create(&admin);
    drop(PostgresStore::open(&db.url).expect("open"));
    db.client()
        .execute("UPDATE asom_schema SET version = version + 1", &[])
        .expect("bump");
    let e = PostgresStore::open(&db.url).err().expect("refused");
    assert!(
        matches!(&e, StoreError::Invalid(m) if m.contains("upgrade asom")),
        "{e}"
    );
}

#[test]
fn ledger_rows_cannot_be_changed_or_removed() {
    let Some(admin) = support::admin_url("schema::ledger_rows_cannot_be_changed_or_removed") else {
        return;
    };
    let db = TestDatabase::create(&admin);
    let _store = store_with_log(&db, 2);
    let mut client = db.client();
    for sql in [
        "UPDATE entries SET kind = 'forged'",
        "DELETE FROM entries",
        "UPDATE nodes SET hash = hash",
        "DELETE FROM entry_keys",
        "DELETE FROM checkpoints",
        "TRUNCATE nodes",
        "INSERT INTO checkpoints SELECT tenant, size, root, note, created_at FROM checkpoints",
    ] {
        let e = client
            .batch_execute(sql)
            .err()
            .unwrap_or_else(|| panic!("{sql} was allowed"));
        let text = format!("{e:?}");
        assert!(
            text.contains("append-only") || text.contains("duplicate key"),
            "{sql}: {text}"
        );
    }
}

#[test]
fn a_tampered_tree_is_refused_before_signing() {
    let Some(admin) = support::admin_url("schema::a_tampered_tree_is_refused_before_signing")
    else {
        return;
    };
    let db = TestDatabase::create(&admin);
    let store = store_with_log(&db, 4);
    // The table owner can switch the guard off; the store must still notice.
    db.client()
        .batch_execute(
            "ALTER TABLE nodes DISABLE TRIGGER nodes_append_only;
             UPDATE nodes SET hash = sha256(hash) WHERE position = 6;
             ALTER TABLE nodes ENABLE TRIGGER nodes_append_only;",
        )
        .expect("tampering");
    let e = store
        .append(
            "alpha",
            vec![NewEntry::new("record", &serde_json::json!({"n": 99}), "ci-bot").expect("valid")],
        )
        .expect_err("refused");
    assert!(
        matches!(&e, StoreError::Fork { size: 4, .. }),
        "expected a fork at size 4, got {e}"
    );
    assert_eq!(store.latest_checkpoint("alpha").expect("latest").size, 4);
}

/// When a table was last analyzed by hand (not by autovacuum), per ledger table.
fn analyzed(db: &TestDatabase) -> Vec<(String, bool)> {
    db.client()
        .query(
            "SELECT relname::text, last_analyze IS NOT NULL FROM pg_stat_user_tables \
             WHERE relname IN ('entries', 'entry_keys', 'nodes', 'checkpoints') ORDER BY relname",
            &[],
        )
        .expect("pg_stat_user_tables")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[test]
fn a_log_that_doubles_refreshes_the_planner_statistics() {
    let Some(admin) =
        support::admin_url("schema::a_log_that_doubles_refreshes_the_planner_statistics")
    else {
        return;
    };
    let db = TestDatabase::create(&admin);
    let store = store_with_log(&db, 511);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        analyzed(&db).iter().all(|(_, done)| !done),
        "no ANALYZE below 512 entries: {:?}",
        analyzed(&db)
    );
    let entry = NewEntry::new("record", &serde_json::json!({"n": 511}), "ci-bot").expect("valid");
    store.append("alpha", vec![entry]).expect("append");
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        let tables = analyzed(&db);
        if tables.len() == 4 && tables.iter().all(|(_, done)| *done) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the 512th entry analyzes the ledger tables: {tables:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
