//! Durability and multi-process tests through real processes.
//!
//! The test binary re-executes itself (`std::env::current_exe()`) with
//! `ASOM_TEST_APPENDER_*` set, which makes [`appender_child`] append in a
//! loop and print each acknowledged append as a line on stdout:
//!
//! ```text
//! ack <index> <duplicate 0|1> <content id> <entry id>
//! ```
//!
//! A line is printed (and flushed) only after `append` returned, so every
//! line is a promise the store made: the entry is durable.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;

use asom_ledger::Hash;
use asom_ledger::note::NoteSigner;
use asom_store::{NewEntry, Store, Tenant, verify_tenant_log};
use asom_store_sqlite::SqliteStore;

const ENV_DB: &str = "ASOM_TEST_APPENDER_DB";
const ENV_TAG: &str = "ASOM_TEST_APPENDER_TAG";
const ENV_LIMIT: &str = "ASOM_TEST_APPENDER_LIMIT";
const ENV_THREADS: &str = "ASOM_TEST_APPENDER_THREADS";

const TENANT: &str = "default";
const ORIGIN: &str = "asom.test/processes/default";

fn log_key() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed(ORIGIN, [42; 32]).expect("valid key name"))
}

/// The content every process submits once, to race idempotency across processes.
fn raced() -> NewEntry {
    NewEntry::new(
        "record",
        &serde_json::json!({"raced": "across processes"}),
        "racer",
    )
    .expect("valid")
}

/// Creates the database with its tenant, then closes it.
fn create_database(dir: &Path) -> PathBuf {
    let path = dir.join("asom.db");
    let store = SqliteStore::open(&path).expect("open");
    let tenant = Tenant {
        slug: TENANT.into(),
        origin: ORIGIN.into(),
    };
    store
        .create_tenant(&tenant, log_key(), "2026-01-01T00:00:00.000Z")
        .expect("create tenant");
    path
}

/// The child's side: appends as told by the environment, printing each ack.
/// Without the environment (the normal test run) it does nothing.
#[test]
fn appender_child() {
    let Ok(db) = std::env::var(ENV_DB) else {
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
    // Start when the parent says so, so that processes overlap.
    let mut go = String::new();
    std::io::stdin()
        .read_line(&mut go)
        .expect("reading the start signal");

    let store = SqliteStore::open(&db).expect("open");
    store
        .register_signer(TENANT, log_key())
        .expect("register signer");
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
                        let content = serde_json::json!({"tag": tag, "thread": t, "n": n});
                        NewEntry::new("record", &content, "appender").expect("valid")
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

/// One acknowledged append as the child printed it.
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

/// Starts an appender process on `db` and tells it to go.
fn spawn_appender(db: &Path, tag: &str, limit: u64, threads: u64, stderr: &Path) -> Child {
    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "appender_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_DB, db)
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

/// Reads acks until EOF, calling `on_ack` with each and the count so far.
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

/// Checks every ack against the reopened store and verifies the log;
/// returns the log size.
fn check_acks(db: &Path, acks: &[Ack]) -> u64 {
    let store = SqliteStore::open(db).expect("reopen");
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
    let verified = verify_tenant_log(&store, TENANT, &mut |_: u64, _: u64| {})
        .unwrap_or_else(|e| panic!("the log does not verify after the crash: {e}"));
    let latest = store.latest_checkpoint(TENANT).expect("latest checkpoint");
    assert_eq!(
        latest.size, verified.entries,
        "the latest checkpoint covers every stored entry"
    );
    verified.entries
}

/// Acknowledged appends per run before the kill.
const ACKS_BEFORE_KILL: usize = 300;

/// kill -9 while appending, three times on one database: after each restart
/// every acknowledged entry is there with the acknowledged content, the log
/// verifies, and appending resumes where it stopped.
#[test]
fn acknowledged_appends_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = create_database(dir.path());
    let stderr = dir.path().join("child.stderr");
    let mut all: BTreeMap<u64, Ack> = BTreeMap::new();
    let mut size = 0;
    for run in 0..3 {
        let mut child = spawn_appender(&db, &format!("crash-{run}"), 0, 4, &stderr);
        let stdout = child.stdout.take().expect("stdout");
        let mut killed = false;
        let acks = read_acks(stdout, |_, count| {
            if count == ACKS_BEFORE_KILL && !killed {
                // Child::kill sends SIGKILL on unix.
                child.kill().expect("kill -9");
                killed = true;
            }
        });
        let status = child.wait().expect("wait");
        let log = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert_eq!(
            status.signal(),
            Some(9),
            "the appender should have been killed, not exit: {status}\n{log}"
        );
        assert!(
            acks.len() >= ACKS_BEFORE_KILL,
            "run {run}: only {} acks\n{log}",
            acks.len()
        );
        for ack in &acks {
            if ack.duplicate {
                continue;
            }
            assert!(
                ack.index >= size,
                "run {run} appended at index {} below the previous size {size}",
                ack.index
            );
            assert!(
                all.insert(ack.index, *ack).is_none(),
                "index {} acknowledged twice",
                ack.index
            );
        }
        let all_acks: Vec<Ack> = all
            .values()
            .copied()
            .chain(acks.iter().copied().filter(|a| a.duplicate))
            .collect();
        let new_size = check_acks(&db, &all_acks);
        assert!(new_size > size, "run {run} added nothing");
        size = new_size;
    }
}

/// Two processes, each with several threads, appending to one database file
/// at once: one dense log with no index handed out twice, content raced
/// across the processes stored once, every checkpoint verified (no fork).
#[test]
fn two_processes_append_to_one_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = create_database(dir.path());
    let per_thread = 40;
    let threads = 3;
    let mut children: Vec<Child> = (0..2)
        .map(|p| {
            spawn_appender(
                &db,
                &format!("process-{p}"),
                per_thread,
                threads,
                &dir.path().join(format!("child-{p}.stderr")),
            )
        })
        .collect();
    let readers: Vec<_> = children
        .iter_mut()
        .map(|c| {
            let stdout = c.stdout.take().expect("stdout");
            std::thread::spawn(move || read_acks(stdout, |_, _| {}))
        })
        .collect();
    let acks: Vec<Vec<Ack>> = readers
        .into_iter()
        .map(|r| r.join().expect("reader"))
        .collect();
    for (p, child) in children.iter_mut().enumerate() {
        let status = child.wait().expect("wait");
        let log = std::fs::read_to_string(dir.path().join(format!("child-{p}.stderr")))
            .unwrap_or_default();
        assert!(status.success(), "appender {p} failed: {status}\n{log}");
    }
    let mut by_index: BTreeMap<u64, Ack> = BTreeMap::new();
    let mut raced_at = Vec::new();
    for ack in acks.iter().flatten() {
        if ack.content_id == raced().content_id().0 {
            raced_at.push(*ack);
        }
        if !ack.duplicate {
            assert!(
                by_index.insert(ack.index, *ack).is_none(),
                "index {} was handed out twice",
                ack.index
            );
        }
    }
    let total = 2 * per_thread * threads;
    assert_eq!(
        acks.iter().map(Vec::len).sum::<usize>() as u64,
        total,
        "every append was acknowledged"
    );
    assert_eq!(
        raced_at.len(),
        2,
        "each process submitted the raced content once"
    );
    assert_eq!(
        raced_at.iter().filter(|a| !a.duplicate).count(),
        1,
        "the raced content is stored once: {raced_at:?}"
    );
    assert_eq!(
        raced_at[0].index, raced_at[1].index,
        "both processes got the same entry: {raced_at:?}"
    );
    // Only one process can have raced successfully, so one append was a duplicate.
    assert_eq!(by_index.len() as u64, total - 1);
    assert_eq!(
        by_index.keys().copied().collect::<Vec<_>>(),
        (0..total - 1).collect::<Vec<_>>(),
        "dense log"
    );
    let all: Vec<Ack> = acks.into_iter().flatten().collect();
    assert_eq!(check_acks(&db, &all), total - 1);
    let store = SqliteStore::open(&db).expect("reopen");
    assert!(
        (store.checkpoints(TENANT).expect("checkpoints").len() as u64) < total,
        "concurrent appenders shared no batch"
    );
}
