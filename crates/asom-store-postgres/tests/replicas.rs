//! Several `PostgresStore`s on one database, as several `asom serve`
//! replicas would have: in one process with separate pools, and as real
//! processes (this test binary re-executing itself), one of them killed by
//! SIGKILL mid-run. Every acknowledged append must be in the one log, which
//! must verify (never forked).
//!
//! The child side: with `ASOM_TEST_APPENDER_*` set, [`appender_child`]
//! appends in a loop and prints each acknowledged append on stdout, only
//! after `append` returned:
//!
//! ```text
//! ack <index> <duplicate 0|1> <content id> <entry id>
//! ```

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use asom_ledger::Hash;
use asom_ledger::note::NoteSigner;
use asom_store::{Appended, NewEntry, Store, StoreError, Tenant, verify_tenant_log};
use asom_store_postgres::PostgresStore;
use support::TestDatabase;

const ENV_URL: &str = "ASOM_TEST_APPENDER_URL";
const ENV_TAG: &str = "ASOM_TEST_APPENDER_TAG";
const ENV_LIMIT: &str = "ASOM_TEST_APPENDER_LIMIT";
const ENV_THREADS: &str = "ASOM_TEST_APPENDER_THREADS";

const TENANT: &str = "default";
const ORIGIN: &str = "asom.test/replicas/default";

fn log_key() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed(ORIGIN, [42; 32]).expect("valid key name"))
}

/// The content every replica submits once, to race idempotency across them.
fn raced() -> NewEntry {
    NewEntry::new(
        "record",
        &serde_json::json!({"raced": "across replicas"}),
        "racer",
    )
    .expect("valid")
}

fn numbered(tag: &str, thread: u64, n: u64) -> NewEntry {
    let content = serde_json::json!({"tag": tag, "thread": thread, "n": n});
    NewEntry::new("record", &content, "appender").expect("valid")
}

/// A fresh database with the tenant, or `None` when PostgreSQL is not configured.
fn database(test: &str) -> Option<TestDatabase> {
    let admin = support::admin_url(test)?;
    let db = TestDatabase::create(&admin);
    let store = PostgresStore::open(&db.url).expect("open");
    let tenant = Tenant {
        slug: TENANT.into(),
        origin: ORIGIN.into(),
    };
    store
        .create_tenant(&tenant, log_key(), "2026-01-01T00:00:00.000Z")
        .expect("create tenant");
    Some(db)
}

/// Verifies the log and returns its size, which the latest checkpoint must cover.
fn verified_size(store: &dyn Store) -> u64 {
    let verified = verify_tenant_log(store, TENANT, &mut |_: u64, _: u64| {})
        .unwrap_or_else(|e| panic!("the log does not verify: {e}"));
    let latest = store.latest_checkpoint(TENANT).expect("latest checkpoint");
    assert_eq!(
        latest.size, verified.entries,
        "the latest checkpoint covers the log"
    );
    verified.entries
}

/// Two stores (two pools, two writer threads, as two replicas), eight threads
/// each, appending to one tenant at once: one dense log whose size is the
/// number of distinct acknowledged appends, every acknowledged entry in it,
/// content raced across the stores stored once.
#[test]
fn two_stores_on_one_database_share_one_log() {
    let Some(db) = database("replicas::two_stores_on_one_database_share_one_log") else {
        return;
    };
    let stores = [
        PostgresStore::open(&db.url).expect("open replica 0"),
        PostgresStore::open(&db.url).expect("open replica 1"),
    ];
    for store in &stores {
        store.register_signer(TENANT, log_key()).expect("signer");
    }
    let threads = 8u64;
    let per_thread = 25u64;
    let start = Barrier::new(2 * threads as usize);
    let acked: Mutex<Vec<(Appended, NewEntry)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (r, store) in stores.iter().enumerate() {
            for t in 0..threads {
                let (start, acked) = (&start, &acked);
                s.spawn(move || {
                    start.wait();
                    for n in 0..per_thread {
                        let e = if n == 5 && t == 0 {
                            raced()
                        } else {
                            numbered(&format!("replica-{r}"), t, n)
                        };
                        let out = store.append(TENANT, vec![e.clone()]).expect("append");
                        acked.lock().expect("lock").push((out[0].clone(), e));
                    }
                });
            }
        }
    });
    let acked = acked.into_inner().expect("lock");
    assert_eq!(acked.len() as u64, 2 * threads * per_thread);
    let distinct: BTreeSet<u64> = acked.iter().map(|(a, _)| a.index).collect();
    let fresh = acked.iter().filter(|(a, _)| !a.duplicate).count();
    assert_eq!(fresh, distinct.len(), "an index was handed out twice");
    assert_eq!(
        acked.iter().filter(|(a, _)| a.duplicate).count(),
        1,
        "only the raced content repeats"
    );
    for store in &stores {
        assert_eq!(verified_size(store), distinct.len() as u64);
        for (a, e) in &acked {
            let entry = store.entry_at(TENANT, a.index).expect("acknowledged entry");
            assert_eq!((entry.content_id, entry.id), (e.content_id(), a.id));
        }
    }
    assert_eq!(
        distinct.into_iter().collect::<Vec<_>>(),
        (0..fresh as u64).collect::<Vec<_>>(),
        "dense log"
    );
}

/// Calls that share a group-commit batch are sequenced like calls in
/// separate batches: each call's expectations see the calls before it in the
/// batch, counted once. A raw transaction holds the tenant's append lock so
/// that three calls queue up behind a blocked one and are committed together.
#[test]
fn expectations_see_earlier_calls_of_the_same_batch() {
    let Some(db) = database("replicas::expectations_see_earlier_calls_of_the_same_batch") else {
        return;
    };
    let store = PostgresStore::open(&db.url).expect("open");
    store.register_signer(TENANT, log_key()).expect("signer");
    let key = "release:batch@1";
    let call = |n: u64, expect: u64| {
        let e = NewEntry::new("record", &serde_json::json!({"batch": n}), "ci-bot")
            .expect("valid")
            .with_keys([key])
            .expect("valid key");
        vec![e.expecting(key, expect)]
    };
    let mut lock = db.client();
    let mut tx = lock.transaction().expect("begin");
    tx.execute(
        "SELECT id FROM tenants WHERE slug = $1 FOR NO KEY UPDATE",
        &[&TENANT],
    )
    .expect("taking the tenant's append lock");
    let store = &store;
    let results = std::thread::scope(|s| {
        let blocked = s.spawn(move || store.append(TENANT, call(0, 0)));
        std::thread::sleep(Duration::from_millis(300));
        let mut queued = Vec::new();
        for (n, expect) in [(1, 1), (2, 3), (3, 2)] {
            queued.push(s.spawn(move || store.append(TENANT, call(n, expect))));
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(200));
        tx.commit().expect("releasing the lock");
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
        .checkpoints(TENANT)
        .expect("checkpoints")
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(
        sizes,
        [0, 1, 3],
        "the queued calls must share one batch for this test to mean anything"
    );
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
        ]
    );
    assert_eq!(store.count_with_key(TENANT, key, None).expect("count"), 3);
}

/// The child's side: appends as told by the environment, printing each ack.
/// Without the environment (the normal test run) it does nothing.
#[test]
fn appender_child() {
    let Ok(url) = std::env::var(ENV_URL) else {
        return;
    };
    let tag = std::env::var(ENV_TAG).expect("tag");
    let limit: u64 = std::env::var(ENV_LIMIT)
        .expect("limit")
        .parse()
        .expect("a number");
    let threads: u64 = std::env::var(ENV_THREADS)
        .expect("threads")
        .parse()
        .expect("a number");
    let mut go = String::new();
    std::io::stdin()
        .read_line(&mut go)
        .expect("reading the start signal");
    let store = PostgresStore::open(&url).expect("open");
    store.register_signer(TENANT, log_key()).expect("signer");
    let store = &store;
    std::thread::scope(|s| {
        for t in 0..threads {
            let tag = &tag;
            s.spawn(move || {
                let mut n = 0u64;
                while limit == 0 || n < limit {
                    let entry = if t == 0 && n == 3 {
                        raced()
                    } else {
                        numbered(tag, t, n)
                    };
                    let a = store.append(TENANT, vec![entry]).expect("append").remove(0);
                    let mut out = std::io::stdout().lock();
                    writeln!(
                        out,
                        "ack {} {} {} {}",
                        a.index,
                        u8::from(a.duplicate),
                        a.content_id,
                        a.id
                    )
                    .and_then(|()| out.flush())
                    .expect("stdout");
                    n += 1;
                }
            });
        }
    });
}

/// One acknowledged append as a child printed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ack {
    index: u64,
    duplicate: bool,
    content_id: Hash,
    id: Hash,
}

fn parse_ack(line: &str) -> Option<Ack> {
    // libtest may have written "test appender_child ... " before the first ack.
    let start = line.find("ack ")?;
    let mut words = line[start + 4..].split(' ');
    let index = words.next()?.parse().ok()?;
    let duplicate = words.next()? == "1";
    let content_id = Hash::from_hex(words.next()?).ok()?;
    let id = Hash::from_hex(words.next()?.trim_end()).ok()?;
    Some(Ack {
        index,
        duplicate,
        content_id,
        id,
    })
}

fn spawn_appender(url: &str, tag: &str, limit: u64, threads: u64, stderr: &Path) -> Child {
    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "appender_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_URL, url)
        .env(ENV_TAG, tag)
        .env(ENV_LIMIT, limit.to_string())
        .env(ENV_THREADS, threads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).expect("stderr file"))
        .spawn()
        .expect("starting the appender process");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("start signal");
    child
}

fn read_acks(stdout: ChildStdout, mut on_ack: impl FnMut(Ack, usize)) -> Vec<Ack> {
    let mut reader = BufReader::new(stdout);
    let mut acks = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader
            .read_line(&mut line)
            .expect("reading the child's stdout")
            == 0
        {
            return acks;
        }
        // A line cut short by the kill was never a complete promise.
        if !line.ends_with('\n') {
            continue;
        }
        if let Some(ack) = parse_ack(&line) {
            acks.push(ack);
            on_ack(ack, acks.len());
        }
    }
}

/// Every ack is in the log with the acknowledged content; the log verifies.
/// Returns the log size.
fn check_acks(url: &str, acks: &[Ack]) -> u64 {
    let store = PostgresStore::open(url).expect("reopen");
    for ack in acks {
        let stored = store
            .entry_at(TENANT, ack.index)
            .unwrap_or_else(|e| panic!("acknowledged entry {} is gone: {e}", ack.index));
        assert_eq!(
            (stored.content_id.0, stored.id),
            (ack.content_id, ack.id),
            "entry {} is not what was acknowledged",
            ack.index
        );
    }
    verified_size(&store)
}

/// Acknowledged appends of the killed replica before its kill.
const ACKS_BEFORE_KILL: usize = 150;

/// Two replica processes append to one tenant; one is killed by SIGKILL
/// mid-run (its connections drop with a transaction possibly open) while
/// the other goes on. Every acknowledged entry of both is in the log, no
/// index was handed out twice, the log verifies, and the survivor finished.
#[test]
fn a_replica_killed_mid_run_loses_no_acknowledged_append() {
    let Some(db) = database("replicas::a_replica_killed_mid_run_loses_no_acknowledged_append")
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("asom-pg-replicas-{}", db.name));
    std::fs::create_dir_all(&dir).expect("stderr directory");
    let mut victim = spawn_appender(&db.url, "victim", 0, 3, &dir.join("victim.stderr"));
    let mut survivor = spawn_appender(&db.url, "survivor", 120, 3, &dir.join("survivor.stderr"));
    let survivor_out = survivor.stdout.take().expect("stdout");
    let survivor_acks = std::thread::spawn(move || read_acks(survivor_out, |_, _| {}));
    let victim_out = victim.stdout.take().expect("stdout");
    let mut killed = false;
    let victim_acks = read_acks(victim_out, |_, count| {
        if count == ACKS_BEFORE_KILL && !killed {
            victim.kill().expect("kill -9");
            killed = true;
        }
    });
    let status = victim.wait().expect("wait");
    let log = std::fs::read_to_string(dir.join("victim.stderr")).unwrap_or_default();
    assert_eq!(
        status.signal(),
        Some(9),
        "the victim should have been killed: {status}\n{log}"
    );
    assert!(victim_acks.len() >= ACKS_BEFORE_KILL, "{log}");
    let survivor_acks = survivor_acks.join().expect("reader");
    let status = survivor.wait().expect("wait");
    let log = std::fs::read_to_string(dir.join("survivor.stderr")).unwrap_or_default();
    assert!(status.success(), "the survivor failed: {status}\n{log}");
    assert_eq!(survivor_acks.len(), 3 * 120, "{log}");

    let mut by_index: BTreeMap<u64, Ack> = BTreeMap::new();
    for ack in victim_acks.iter().chain(&survivor_acks) {
        if !ack.duplicate {
            assert!(
                by_index.insert(ack.index, *ack).is_none(),
                "index {} was handed out twice",
                ack.index
            );
        }
    }
    let all: Vec<Ack> = victim_acks.iter().chain(&survivor_acks).copied().collect();
    let size = check_acks(&db.url, &all);
    assert!(size >= by_index.len() as u64);
    // The log goes on after the kill: the dead replica's lock is gone.
    let mut again = spawn_appender(&db.url, "after", 5, 2, &dir.join("after.stderr"));
    let out = again.stdout.take().expect("stdout");
    let acks = read_acks(out, |_, _| {});
    assert!(again.wait().expect("wait").success());
    assert_eq!(acks.len(), 10);
    assert!(
        acks.iter()
            .filter(|a| !a.duplicate)
            .all(|a| a.index >= size)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
