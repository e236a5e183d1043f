//! Tampering with a closed database, through SQL (after dropping the
//! append-only triggers) and through the raw file bytes: whole-log
//! verification names the altered entry, node or checkpoint, and the store
//! refuses to sign on top of an altered right edge.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use asom_ledger::Hash;
use asom_ledger::merkle::NodeId;
use asom_ledger::note::NoteSigner;
use asom_ledger::verify::Tamper;
use asom_store::{
    NewEntry, Store, StoreError, StoredEntry, Tenant, VerifyFailure, verify_tenant_log,
};
use asom_store_sqlite::SqliteStore;
use rusqlite::{Connection, params};

const TENANT: &str = "default";

fn origin(slug: &str) -> String {
    format!("asom.test/tamper/{slug}")
}

fn log_key(slug: &str) -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed(&origin(slug), [7; 32]).expect("valid key name"))
}

/// The unique text entry `i` carries, to find it in the raw file.
fn marker(i: u64) -> String {
    format!("MARKER-{i:04}-of-the-tamper-test")
}

fn entry(i: u64) -> NewEntry {
    NewEntry::new(
        "record",
        &serde_json::json!({"marker": marker(i)}),
        "ci-bot",
    )
    .expect("valid")
}

/// A closed database holding 20 entries of `TENANT` in batches (checkpoints at
/// sizes 0, 1, 3, 6, 10 and 20), and the stored entries.
struct Log {
    _dir: tempfile::TempDir,
    path: PathBuf,
    entries: Vec<StoredEntry>,
}

/// The sizes of the checkpoints [`build_log`] signs.
const CHECKPOINTS: [u64; 6] = [0, 1, 3, 6, 10, 20];

fn create_tenant(store: &SqliteStore, slug: &str) {
    let tenant = Tenant {
        slug: slug.into(),
        origin: origin(slug),
    };
    store
        .create_tenant(&tenant, log_key(slug), "2026-01-01T00:00:00.000Z")
        .expect("create tenant");
}

fn build_log() -> Log {
    build_log_of(entry)
}

/// Like [`build_log`], with entry `i` made by `make(i)`.
fn build_log_of(make: fn(u64) -> NewEntry) -> Log {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("asom.db");
    let store = SqliteStore::open(&path).expect("open");
    create_tenant(&store, TENANT);
    let mut n = 0;
    for batch in [1, 2, 3, 4, 10] {
        store
            .append(TENANT, (n..n + batch).map(make).collect())
            .expect("append");
        n += batch;
    }
    let checkpoints: Vec<u64> = store
        .checkpoints(TENANT)
        .expect("checkpoints")
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(checkpoints, CHECKPOINTS);
    let entries = (0..n)
        .map(|i| store.entry_at(TENANT, i).expect("entry"))
        .collect();
    verify(&store).expect("the untouched log verifies");
    store.close();
    Log {
        _dir: dir,
        path,
        entries,
    }
}

fn verify(store: &dyn Store) -> Result<asom_ledger::verify::Verified, VerifyFailure> {
    verify_tenant_log(store, TENANT, &mut |_: u64, _: u64| {})
}

/// Opens the closed database again and verifies it.
fn reopen_and_verify(path: &Path) -> VerifyFailure {
    let store = SqliteStore::open(path).expect("reopen");
    match verify(&store) {
        Ok(v) => panic!("the altered log verified: {v:?}"),
        Err(e) => e,
    }
}

/// A raw connection with the append-only triggers dropped, as an attacker
/// with the file would do.
fn attacker(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("raw open");
    conn.execute_batch(
        "DROP TRIGGER entries_append_only_u; DROP TRIGGER entries_append_only_d;
         DROP TRIGGER nodes_append_only_u; DROP TRIGGER nodes_append_only_d;
         DROP TRIGGER checkpoints_append_only_u; DROP TRIGGER checkpoints_append_only_d;",
    )
    .expect("dropping the triggers");
    conn
}

/// The stored hash of `node`, read through the store.
fn node_hash(path: &Path, node: NodeId) -> Hash {
    let store = SqliteStore::open(path).expect("open");
    store.read_nodes(TENANT, &[node]).expect("node")[0]
}

/// Flips the lowest bit of byte `at` of `bytes`.
fn flip(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 1;
    bytes
}

/// Replaces the stored hash of `node` by one differing in one byte.
fn alter_node(path: &Path, node: NodeId) {
    let hash = node_hash(path, node);
    let altered = flip(hash.0.to_vec(), 17);
    let changed = attacker(path)
        .execute(
            "UPDATE nodes SET hash = ?1 WHERE hash = ?2",
            params![altered, hash.0.as_slice()],
        )
        .expect("altering the node");
    assert_eq!(changed, 1, "the node's hash is unique");
}

#[test]
fn an_altered_entry_body_is_named_by_its_index() {
    let log = build_log();
    let target = &log.entries[7];
    let at = find(&target.bytes, marker(7).as_bytes()) + 3;
    let changed = attacker(&log.path)
        .execute(
            "UPDATE entries SET body = ?1 WHERE id = ?2",
            params![flip(target.bytes.clone(), at), target.id.0.as_slice()],
        )
        .expect("altering the entry");
    assert_eq!(changed, 1);
    let failure = reopen_and_verify(&log.path);
    assert!(
        matches!(
            failure,
            VerifyFailure::Tamper(Tamper::Entry { index: 7, .. })
        ),
        "{failure:?}"
    );
    assert!(
        failure.to_string().contains("entry 7"),
        "the message names the entry: {failure}"
    );
}

#[test]
fn an_altered_leaf_node_is_named_by_its_entry_index() {
    let log = build_log();
    alter_node(&log.path, NodeId::new(0, 12));
    let failure = reopen_and_verify(&log.path);
    assert!(
        matches!(
            failure,
            VerifyFailure::Tamper(Tamper::Entry { index: 12, .. })
        ),
        "{failure:?}"
    );
}

#[test]
fn an_altered_interior_node_is_named() {
    for node in [NodeId::new(1, 3), NodeId::new(2, 1), NodeId::new(3, 0)] {
        let log = build_log();
        alter_node(&log.path, node);
        let failure = reopen_and_verify(&log.path);
        assert!(
            matches!(&failure, VerifyFailure::Tamper(Tamper::Node { node: n, .. }) if *n == node),
            "altered {node:?}, got {failure:?}"
        );
        let text = failure.to_string();
        assert!(
            text.contains(&format!("level {} index {}", node.level, node.index)),
            "{text}"
        );
    }
}

#[test]
fn an_altered_checkpoint_note_is_named_by_its_size() {
    // One byte in the root line, in the signature, and in the size line.
    for (size, what) in [(6, "root"), (10, "signature"), (3, "size")] {
        let log = build_log();
        let store = SqliteStore::open(&log.path).expect("open");
        let note = store.checkpoint_at(TENANT, size).expect("checkpoint").note;
        drop(store);
        let lines: Vec<&str> = note.split('\n').collect();
        let at = match what {
            "size" => lines[0].len() + 1,
            "root" => lines[0].len() + lines[1].len() + 2 + 5,
            _ => note.rfind(' ').expect("signature line") + 10,
        };
        let altered = String::from_utf8(flip(note.clone().into_bytes(), at)).expect("still text");
        assert_ne!(altered, note);
        attacker(&log.path)
            .execute(
                "UPDATE checkpoints SET note = ?1 WHERE size = ?2",
                params![altered, i64::try_from(size).expect("small")],
            )
            .expect("altering the checkpoint");
        let failure = reopen_and_verify(&log.path);
        assert!(
            matches!(failure, VerifyFailure::Checkpoint { size: s, .. } if s == size),
            "altered the {what} of checkpoint {size}, got {failure:?}"
        );
        assert!(
            failure.to_string().contains(&format!("size {size}")),
            "{failure}"
        );
    }
}

#[test]
fn an_altered_checkpoint_root_column_is_named_by_its_size() {
    let log = build_log();
    let conn = attacker(&log.path);
    let root: Vec<u8> = conn
        .query_row("SELECT root FROM checkpoints WHERE size = 10", [], |r| {
            r.get(0)
        })
        .expect("root");
    conn.execute(
        "UPDATE checkpoints SET root = ?1 WHERE size = 10",
        [flip(root, 0)],
    )
    .expect("alter");
    drop(conn);
    let failure = reopen_and_verify(&log.path);
    assert!(
        matches!(failure, VerifyFailure::Checkpoint { size: 10, .. }),
        "{failure:?}"
    );
}

#[test]
fn deleted_entries_and_nodes_are_named() {
    // An entry from the middle.
    let log = build_log();
    let conn = attacker(&log.path);
    conn.execute(
        "DELETE FROM entries WHERE id = ?1",
        [log.entries[5].id.0.as_slice()],
    )
    .expect("delete");
    drop(conn);
    let failure = reopen_and_verify(&log.path);
    assert!(
        matches!(
            failure,
            VerifyFailure::MissingEntry {
                expected: 5,
                found: 6
            }
        ),
        "{failure:?}"
    );

    // The last entry, with its nodes: the last checkpoint is beyond the log.
    let log = build_log();
    let conn = attacker(&log.path);
    let leaf = node_hash(&log.path, NodeId::new(0, 19));
    conn.execute(
        "DELETE FROM entries WHERE id = ?1",
        [log.entries[19].id.0.as_slice()],
    )
    .expect("delete");
    conn.execute("DELETE FROM nodes WHERE hash = ?1", [leaf.0.as_slice()])
        .expect("delete");
    for node in [NodeId::new(1, 9), NodeId::new(2, 4)] {
        conn.execute(
            "DELETE FROM nodes WHERE hash = ?1",
            [node_hash(&log.path, node).0.as_slice()],
        )
        .expect("delete");
    }
    drop(conn);
    let failure = reopen_and_verify(&log.path);
    assert!(
        matches!(
            failure,
            VerifyFailure::Tamper(Tamper::Truncated {
                size: 20,
                entries: 19
            })
        ),
        "{failure:?}"
    );

    // A node.
    let log = build_log();
    let hash = node_hash(&log.path, NodeId::new(1, 2));
    attacker(&log.path)
        .execute("DELETE FROM nodes WHERE hash = ?1", [hash.0.as_slice()])
        .expect("delete");
    let failure = reopen_and_verify(&log.path);
    assert!(
        matches!(failure, VerifyFailure::Tamper(Tamper::MissingNode(n)) if n == NodeId::new(1, 2)),
        "{failure:?}"
    );
}

/// The position of `needle` in `haystack`, which must hold it exactly once.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected {:?} exactly once, found it {} times",
        String::from_utf8_lossy(needle),
        hits.len()
    );
    hits[0]
}

/// Rewrites the file with `secure_delete` on (a page split leaves a stale
/// copy of the cells it moved in the page's free space otherwise) and moves
/// everything in the WAL into it, so the file holds one copy of each record.
fn checkpoint_wal(path: &Path) {
    let conn = Connection::open(path).expect("raw open");
    conn.execute_batch("PRAGMA secure_delete = ON; VACUUM")
        .expect("vacuum");
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("wal checkpoint");
    assert_eq!(busy, 0, "the WAL checkpoint completed");
}

/// Flips one byte of the raw file inside `needle` (found exactly once).
fn flip_in_file(path: &Path, needle: &[u8], offset: usize) {
    checkpoint_wal(path);
    let bytes = std::fs::read(path).expect("read the database file");
    let at = find(&bytes, needle) + offset;
    std::fs::write(path, flip(bytes, at)).expect("write the database file");
}

#[test]
fn a_flipped_byte_in_the_file_is_named_by_entry_index() {
    let log = build_log();
    flip_in_file(&log.path, marker(13).as_bytes(), 8);
    let failure = reopen_and_verify(&log.path);
    assert!(
        matches!(
            failure,
            VerifyFailure::Tamper(Tamper::Entry { index: 13, .. })
        ),
        "{failure:?}"
    );
}

#[test]
fn a_flipped_byte_of_a_node_in_the_file_is_named() {
    let log = build_log();
    // Node (1, 3) covers entries 6..8: no checkpoint has it as its root.
    let node = NodeId::new(1, 3);
    flip_in_file(&log.path, &node_hash(&log.path, node).0, 9);
    let failure = reopen_and_verify(&log.path);
    assert!(
        matches!(&failure, VerifyFailure::Tamper(Tamper::Node { node: n, .. }) if *n == node),
        "{failure:?}"
    );
}

/// The store's view after a refused append: nothing was written.
fn assert_unchanged(path: &Path, size: u64) {
    let store = SqliteStore::open(path).expect("open");
    assert_eq!(store.latest_checkpoint(TENANT).expect("latest").size, size);
    assert_eq!(
        store.checkpoints(TENANT).expect("checkpoints").len(),
        CHECKPOINTS.len()
    );
    assert!(matches!(
        store.entry_at(TENANT, size),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn the_store_refuses_to_sign_on_an_altered_right_edge() {
    // Size 20 = 16 + 4: the right edge is node (4, 0) and node (2, 4).
    for node in [NodeId::new(4, 0), NodeId::new(2, 4)] {
        let log = build_log();
        let signed = {
            let store = SqliteStore::open(&log.path).expect("open");
            store.latest_checkpoint(TENANT).expect("latest").root
        };
        alter_node(&log.path, node);
        let store = SqliteStore::open(&log.path).expect("reopen");
        store
            .register_signer(TENANT, log_key(TENANT))
            .expect("register");
        let refused = store.append(TENANT, vec![entry(100)]);
        match refused {
            Err(StoreError::Fork {
                tenant,
                size: 20,
                computed,
                signed: s,
            }) => {
                assert_eq!(tenant, TENANT);
                assert_eq!(s, signed);
                assert_ne!(computed, signed);
            }
            other => panic!("altered right-edge {node:?}: expected Fork, got {other:?}"),
        }
        drop(store);
        assert_unchanged(&log.path, 20);
    }
}

#[test]
fn the_store_refuses_to_sign_when_the_last_signed_root_was_altered() {
    let log = build_log();
    let conn = attacker(&log.path);
    let root: Vec<u8> = conn
        .query_row("SELECT root FROM checkpoints WHERE size = 20", [], |r| {
            r.get(0)
        })
        .expect("root");
    conn.execute(
        "UPDATE checkpoints SET root = ?1 WHERE size = 20",
        [flip(root, 31)],
    )
    .expect("alter");
    drop(conn);
    let store = SqliteStore::open(&log.path).expect("reopen");
    store
        .register_signer(TENANT, log_key(TENANT))
        .expect("register");
    let refused = store.append(TENANT, vec![entry(100)]);
    assert!(
        matches!(refused, Err(StoreError::Fork { size: 20, .. })),
        "{refused:?}"
    );
    drop(store);
    assert_unchanged(&log.path, 20);
}

/// A damaged tenant must not take other tenants down with it: appends to a
/// healthy tenant succeed while appends to a forked one, which may share
/// their group-commit batch, are refused.
#[test]
fn a_forked_tenant_does_not_fail_other_tenants_appends() {
    let log = build_log();
    {
        let store = SqliteStore::open(&log.path).expect("open");
        create_tenant(&store, "healthy");
    }
    alter_node(&log.path, NodeId::new(2, 4));
    let store = SqliteStore::open(&log.path).expect("reopen");
    store
        .register_signer(TENANT, log_key(TENANT))
        .expect("register");
    store
        .register_signer("healthy", log_key("healthy"))
        .expect("register");
    let threads = 8;
    let start = Barrier::new(2 * threads);
    let store = &store;
    let failures: Vec<String> = std::thread::scope(|s| {
        let mut healthy = Vec::new();
        for t in 0..threads as u64 {
            let start = &start;
            s.spawn(move || {
                start.wait();
                for k in 0..10 {
                    let refused = store.append(TENANT, vec![entry(1_000 + t * 100 + k)]);
                    assert!(
                        matches!(refused, Err(StoreError::Fork { .. })),
                        "{refused:?}"
                    );
                }
            });
            healthy.push(s.spawn(move || {
                start.wait();
                (0..10)
                    .filter_map(|k| {
                        store
                            .append("healthy", vec![entry(t * 100 + k)])
                            .err()
                            .map(|e| e.to_string())
                    })
                    .collect::<Vec<_>>()
            }));
        }
        healthy
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} appends to the healthy tenant failed because of the other tenant's fork, e.g. {:?}",
        failures.len(),
        threads * 10,
        failures.first()
    );
    verify_tenant_log(store, "healthy", &mut |_: u64, _: u64| {})
        .expect("the healthy tenant verifies");
}

// ---------------------------------------------------------------------------
// The index of entry keys
// ---------------------------------------------------------------------------

/// The index keys entry `i` of [`build_keyed_log`] carries, sorted: none for
/// every fifth entry, else its release and its own change request.
fn keys_of(i: u64) -> Vec<String> {
    if i % 5 == 4 {
        return Vec::new();
    }
    let mut keys = vec![format!("release:sales@1.{}", i % 3), format!("crq:CRQ{i}")];
    keys.sort();
    keys
}

fn keyed_entry(i: u64) -> NewEntry {
    entry(i).with_keys(keys_of(i)).expect("valid keys")
}

/// [`build_log`] with index keys on its entries.
fn build_keyed_log() -> Log {
    let log = build_log_of(keyed_entry);
    let store = SqliteStore::open(&log.path).expect("open");
    for i in 0..20 {
        assert_eq!(
            store
                .count_with_key(TENANT, &format!("crq:CRQ{i}"), None)
                .expect("count"),
            u64::from(i % 5 != 4),
            "the fixture indexes entry {i}"
        );
    }
    log
}

/// A raw connection on which the index keys may be altered: the
/// append-only triggers of `entry_keys` are dropped.
fn key_attacker(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("raw open");
    conn.execute_batch(
        "DROP TRIGGER entry_keys_append_only_u; DROP TRIGGER entry_keys_append_only_d;",
    )
    .expect("dropping the triggers");
    conn
}

/// The database id of [`TENANT`].
fn tenant_row(conn: &Connection) -> i64 {
    conn.query_row("SELECT id FROM tenants WHERE slug = ?1", [TENANT], |r| {
        r.get(0)
    })
    .expect("tenant id")
}

/// Asserts that `failure` names entry `index` for its index keys: `stored`
/// is what the table holds for it, the entry's bytes hold [`keys_of`].
fn assert_index_keys_named(failure: &VerifyFailure, index: u64, stored: &[&str]) {
    let stored: Vec<String> = stored.iter().map(|k| (*k).to_owned()).collect();
    match failure {
        VerifyFailure::EntryColumn {
            index: i,
            column,
            stored: s,
            computed,
        } => {
            assert_eq!(
                (*i, *column),
                (index, "index keys"),
                "the failure names the entry and the column: {failure}"
            );
            assert_eq!(s, &format!("{stored:?}"), "what the table holds");
            assert_eq!(
                computed,
                &format!("{:?}", keys_of(index)),
                "what the entry's bytes hold"
            );
        }
        other => panic!("expected the index keys of entry {index} to be named, got {other:?}"),
    }
    assert!(failure.is_tamper(), "{failure}");
    let text = failure.to_string();
    assert!(
        text.contains(&format!("entry {index}")) && text.contains("index keys"),
        "{text}"
    );
}

#[test]
fn the_untouched_keyed_log_verifies_and_keeps_its_keys_in_the_entries() {
    let log = build_keyed_log();
    let store = SqliteStore::open(&log.path).expect("open");
    let v = verify(&store).expect("verifies");
    assert_eq!(v.entries, 20);
    for (i, e) in (0..).zip(&log.entries) {
        let parts = asom_store::split_entry(&e.bytes).expect("an entry envelope");
        assert_eq!(parts.keys, keys_of(i), "entry {i}");
    }
}

#[test]
fn a_deleted_index_key_is_named_by_its_entry() {
    let log = build_keyed_log();
    let changed = key_attacker(&log.path)
        .execute(
            "DELETE FROM entry_keys WHERE entry = 7 AND key = 'crq:CRQ7'",
            [],
        )
        .expect("deleting the key");
    assert_eq!(changed, 1);
    let failure = reopen_and_verify(&log.path);
    assert_index_keys_named(&failure, 7, &["release:sales@1.1"]);

    // All of an entry's keys.
    let log = build_keyed_log();
    let changed = key_attacker(&log.path)
        .execute("DELETE FROM entry_keys WHERE entry = 13", [])
        .expect("deleting the keys");
    assert_eq!(changed, 2);
    let failure = reopen_and_verify(&log.path);
    assert_index_keys_named(&failure, 13, &[]);
}

#[test]
fn an_extra_index_key_of_an_entry_is_named_by_its_entry() {
    // An entry with keys, and one without (entry 9 carries none).
    for (index, stored) in [
        (
            12,
            &["crq:CRQ12", "release:forged", "release:sales@1.0"][..],
        ),
        (9, &["release:forged"]),
    ] {
        let log = build_keyed_log();
        // Inserting needs no dropped trigger: appends insert too.
        let conn = Connection::open(&log.path).expect("raw open");
        conn.execute(
            "INSERT INTO entry_keys (tenant, entry, key) VALUES (?1, ?2, 'release:forged')",
            params![tenant_row(&conn), i64::try_from(index).expect("small")],
        )
        .expect("inserting a key");
        drop(conn);
        let failure = reopen_and_verify(&log.path);
        assert_index_keys_named(&failure, index, stored);
    }
}

#[test]
fn an_altered_index_key_is_named_by_its_entry() {
    // Another release, one trailing space, and the key moved to the next entry.
    for (sql, index, stored) in [
        (
            "UPDATE entry_keys SET key = 'release:sales@9.9' WHERE entry = 6 AND key = 'release:sales@1.0'",
            6,
            &["crq:CRQ6", "release:sales@9.9"][..],
        ),
        (
            "UPDATE entry_keys SET key = 'release:sales@1.0 ' WHERE entry = 6 AND key = 'release:sales@1.0'",
            6,
            &["crq:CRQ6", "release:sales@1.0 "],
        ),
        (
            "UPDATE entry_keys SET entry = 11 WHERE entry = 10 AND key = 'release:sales@1.1'",
            10,
            &["crq:CRQ10"],
        ),
    ] {
        let log = build_keyed_log();
        let changed = key_attacker(&log.path)
            .execute(sql, [])
            .expect("altering the key");
        assert_eq!(changed, 1, "{sql}");
        let failure = reopen_and_verify(&log.path);
        assert_index_keys_named(&failure, index, stored);
    }
}

#[test]
fn an_index_key_of_an_entry_not_in_the_log_is_named() {
    // Past the end, just past the end, and before the start.
    for entry in [25_i64, 20, -1] {
        let log = build_keyed_log();
        let conn = Connection::open(&log.path).expect("raw open");
        conn.execute(
            "INSERT INTO entry_keys (tenant, entry, key) VALUES (?1, ?2, 'release:ghost')",
            params![tenant_row(&conn), entry],
        )
        .expect("inserting a key");
        drop(conn);
        let failure = reopen_and_verify(&log.path);
        match &failure {
            VerifyFailure::Store(StoreError::Corrupt(message)) => assert_eq!(
                message,
                &format!(
                    "index key \"release:ghost\" is stored for entry {entry}, which is not in the log"
                )
            ),
            other => panic!("a key of entry {entry}: expected Corrupt, got {other:?}"),
        }
        assert!(failure.is_tamper(), "{failure}");
    }
}

#[test]
fn a_deleted_keyed_entry_is_named() {
    // The entry goes, its keys stay: whether the gap or the orphaned keys
    // are reported first, the failure names entry 5.
    let log = build_keyed_log();
    let conn = attacker(&log.path);
    conn.execute(
        "DELETE FROM entries WHERE id = ?1",
        [log.entries[5].id.0.as_slice()],
    )
    .expect("delete");
    drop(conn);
    let failure = reopen_and_verify(&log.path);
    assert!(failure.is_tamper(), "{failure:?}");
    assert!(
        matches!(
            &failure,
            VerifyFailure::MissingEntry {
                expected: 5,
                found: 6
            }
        ) || matches!(&failure, VerifyFailure::Store(StoreError::Corrupt(m)) if m.contains("entry 5,")),
        "{failure:?}"
    );
}

#[test]
fn index_keys_are_append_only() {
    let log = build_keyed_log();
    let conn = Connection::open(&log.path).expect("raw open");
    for sql in [
        "UPDATE entry_keys SET key = 'release:sales@9.9' WHERE entry = 6",
        "UPDATE entry_keys SET entry = entry + 1",
        "DELETE FROM entry_keys WHERE entry = 7",
        "DELETE FROM entry_keys",
    ] {
        let refused = conn.execute(sql, []);
        match refused {
            Err(e) => assert!(e.to_string().contains("append-only"), "{sql}: {e}"),
            Ok(n) => panic!("{sql} changed {n} rows of the index keys"),
        }
    }
    // Replacing a row with itself changes nothing.
    conn.execute(
        "INSERT OR REPLACE INTO entry_keys (tenant, entry, key) VALUES (?1, 7, 'crq:CRQ7')",
        [tenant_row(&conn)],
    )
    .expect("replacing a row with itself");
    drop(conn);
    let store = SqliteStore::open(&log.path).expect("reopen");
    assert_eq!(verify(&store).expect("still verifies").entries, 20);
    let crq: Vec<u64> = store
        .entries_with_key(TENANT, "crq:CRQ7", None)
        .expect("by key")
        .iter()
        .map(|e| e.index)
        .collect();
    assert_eq!(crq, [7]);
}
