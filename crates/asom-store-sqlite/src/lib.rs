//! asom's embedded store: one `SQLite` database in WAL mode.
//!
//! Durability: `journal_mode=WAL` and `synchronous=FULL`, so a transaction
//! whose commit has returned is on disk (the WAL is fsynced at every commit)
//! and survives a crash or power loss. An append is acknowledged only after
//! its commit returns.
//!
//! Group commit: every write goes through one writer thread that owns the
//! write connection. It takes the first queued request, drains whatever else
//! is queued (up to [`MAX_BATCH_ENTRIES`]), and commits all of it in one
//! transaction with one fsync and, per tenant, one signed checkpoint. Under
//! load, concurrent writers therefore share the cost of the fsync and the
//! signature; alone, a writer pays it by itself.
//!
//! Several processes may open the same file (two CLI commands in one CI job):
//! each transaction is `BEGIN IMMEDIATE` and re-reads the log's size and right
//! edge, so the database sequences appends and no process works from a stale
//! view. Before signing, the writer recomputes the previous root from the
//! stored right edge and refuses to sign if it differs from the last signed
//! checkpoint ([`StoreError::Fork`]).

// SQLite integers are i64. Log indexes stay below 2^40 and node positions
// below 2^42 (checked on append), so the casts between them and u64 are exact.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use asom_core::principal::Principal;
use asom_ledger::Hash;
use asom_ledger::checkpoint::Checkpoint;
use asom_ledger::merkle::{Frontier, NodeId, ProofError, leaf_hash};
use asom_ledger::note::{NoteSigner, NoteVerifier};
use asom_store::{
    Appended, ContentId, LogKey, LogVisitor, NewEntry, Result, ScannedEntry, Store, StoreError,
    StoredCheckpoint, StoredEntry, Tenant, TenantIds, TokenRecord, build_entry_bytes,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior, params};

/// Most entries one transaction takes from the queue.
pub const MAX_BATCH_ENTRIES: usize = 16_384;

const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_init.sql")];

/// Entry keys are `tenant << ENTRY_SHIFT | index`: 2^40 entries per tenant.
const ENTRY_SHIFT: u32 = 40;
/// Node keys are `tenant << NODE_SHIFT | position`: positions stay below 2^41.
const NODE_SHIFT: u32 = 42;
/// Tenant ids must fit in the bits the node key leaves.
const MAX_TENANT_ID: i64 = (1 << (63 - NODE_SHIFT)) - 1;

/// A source of RFC 3339 UTC timestamps; tests pin it.
pub type Clock = Arc<dyn Fn() -> String + Send + Sync>;

/// The system clock, millisecond precision, UTC, `Z` suffix.
#[must_use]
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let now = time::OffsetDateTime::now_utc();
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        now.format(&format).expect("a UTC time always formats")
    })
}

type Signers = Arc<RwLock<HashMap<String, Arc<NoteSigner>>>>;

/// The embedded SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    jobs: Mutex<Option<Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Readers,
    signers: Signers,
    tenant_ids: TenantIds,
}

/// Most read connections one store keeps open. Readers beyond it wait for a
/// connection rather than open one: `SQLite` reads are CPU-bound, so more
/// connections than that add no throughput on a few cores, and opening one
/// (pragmas, an empty statement cache) costs more than the read it serves.
pub const MAX_READERS: usize = 16;

/// The read connections: idle ones, and how many are open in all.
struct Readers {
    pool: Mutex<ReaderPool>,
    returned: Condvar,
}

#[derive(Default)]
struct ReaderPool {
    idle: Vec<Connection>,
    open: usize,
}

impl Readers {
    fn new() -> Self {
        Self {
            pool: Mutex::new(ReaderPool::default()),
            returned: Condvar::new(),
        }
    }

    /// An idle connection, a new one while fewer than [`MAX_READERS`] are
    /// open, or else the next one returned.
    fn take(&self, path: &Path) -> Result<Connection> {
        let mut pool = self.pool.lock().expect("reader pool lock");
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(conn);
            }
            if pool.open < MAX_READERS {
                pool.open += 1;
                drop(pool);
                let opened = open_connection(path);
                if opened.is_err() {
                    self.pool.lock().expect("reader pool lock").open -= 1;
                    self.returned.notify_one();
                }
                return opened;
            }
            pool = self.returned.wait(pool).expect("reader pool lock");
        }
    }
}

/// A read connection on loan; it goes back to the pool when dropped, or is
/// closed if the reader panicked (it may be inside a transaction).
struct Lent<'a> {
    readers: &'a Readers,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let conn = self.conn.take().expect("lent once");
        let mut pool = self
            .readers
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if std::thread::panicking() || !conn.is_autocommit() {
            pool.open -= 1;
            drop(pool);
            drop(conn);
        } else {
            pool.idle.push(conn);
            drop(pool);
        }
        self.readers.returned.notify_one();
    }
}

type Exec = Box<dyn FnOnce(&mut Connection) + Send>;

enum Job {
    Append {
        tenant: String,
        entries: Vec<NewEntry>,
        reply: SyncSender<Result<Vec<Appended>>>,
    },
    Exec(Exec),
}

#[allow(clippy::needless_pass_by_value)] // Used as `.map_err(backend)`.
fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// How long opening a database keeps retrying while another connection holds
/// it (the same as the busy timeout).
const BUSY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether `e` says another connection holds the database right now.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs `attempt` until it succeeds, fails for a reason other than a busy
/// database, or [`BUSY_PATIENCE`] has passed.
///
/// The busy timeout covers ordinary lock waits, but `SQLite` returns
/// `SQLITE_BUSY` at once, without calling the busy handler, where waiting could
/// deadlock: switching a new database to WAL while another connection does the
/// same, or reading the WAL index while another connection rebuilds it. Several
/// processes opening one new database at once (two CI steps, two servers) meet
/// exactly those, so opening and migrating retry the whole step.
fn retry_while_busy<T, E>(
    busy: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let deadline = std::time::Instant::now() + BUSY_PATIENCE;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match attempt() {
            Err(e) if busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            done => return done,
        }
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    retry_while_busy(is_busy, || configured_connection(path))
        .map_err(|e| StoreError::Backend(format!("opening {}: {e}", path.display())))
}

fn configured_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_PATIENCE)?;
    // The query planner stability guarantee: one plan per statement, whatever
    // values are bound. Without it, this build's STAT4 planner marks range
    // parameters (`entry < ?3`) as plan-dependent, and every cached statement
    // is parsed and planned again at each new binding (a quarter of an
    // evidence request's CPU). asom's queries are index lookups whose best
    // plan does not depend on the values.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Temporary files (sorts, the savepoint sub-journal) in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Page cache per connection (64 MiB) and memory-mapped reads (up to 1 GiB of
    // the file): fixed bounds, whatever the log size.
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "mmap_size", 1_i64 << 30)?;
    // Checkpoint the WAL into the database every ~40 MiB rather than every 4 MiB,
    // and keep the WAL file from growing past 64 MiB after a checkpoint.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    conn.pragma_update(None, "journal_size_limit", 64_i64 << 20)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Why a migration step failed: the database is newer than this asom, or
/// `SQLite` refused a statement.
enum MigrationError {
    Newer(usize),
    /// The migration step (0 before any), and what `SQLite` said.
    Sql(usize, rusqlite::Error),
}

impl From<rusqlite::Error> for MigrationError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(0, e)
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let busy = |e: &MigrationError| matches!(e, MigrationError::Sql(_, e) if is_busy(e));
    match retry_while_busy(busy, || migrate_once(conn)) {
        Ok(()) => Ok(()),
        Err(MigrationError::Newer(version)) => Err(StoreError::Invalid(format!(
            "this database has schema version {version}, newer than this asom ({}) understands; upgrade asom",
            MIGRATIONS.len()
        ))),
        Err(MigrationError::Sql(0, e)) => Err(backend(e)),
        Err(MigrationError::Sql(step, e)) => {
            Err(StoreError::Backend(format!("migration {step}: {e}")))
        }
    }
}

fn migrate_once(conn: &mut Connection) -> std::result::Result<(), MigrationError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Err(MigrationError::Newer(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql)
            .map_err(|e| MigrationError::Sql(i + 1, e))?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).expect("few migrations"),
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, runs migrations,
    /// and starts the writer thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_clock(path, system_clock())
    }

    /// Like [`SqliteStore::open`] with a given clock.
    pub fn open_with_clock(path: impl AsRef<Path>, clock: Clock) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut conn = open_connection(&path)?;
        migrate(&mut conn)?;
        let signers: Signers = Arc::default();
        let (tx, rx) = mpsc::channel();
        let writer_signers = Arc::clone(&signers);
        let writer = std::thread::Builder::new()
            .name("asom-sqlite-writer".into())
            .spawn(move || {
                Writer {
                    conn,
                    signers: writer_signers,
                    clock,
                }
                .run(&rx);
            })
            .map_err(|e| StoreError::Backend(format!("starting the writer thread: {e}")))?;
        Ok(Self {
            path,
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            readers: Readers::new(),
            tenant_ids: TenantIds::default(),
            signers,
        })
    }

    /// Where the database file is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, job: Job) -> Result<()> {
        let guard = self.jobs.lock().expect("job queue lock");
        let sender = guard
            .as_ref()
            .ok_or_else(|| StoreError::Backend("the store is closed".into()))?;
        sender
            .send(job)
            .map_err(|_| StoreError::Backend("the store's writer thread has stopped".into()))
    }

    /// Runs `f` on the writer connection, inside the writer thread.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::Exec(Box::new(move |conn| {
            let _ = reply.send(f(conn));
        })))?;
        answer
            .recv()
            .map_err(|_| StoreError::Backend("the store's writer thread has stopped".into()))?
    }

    /// The row id of tenant `slug`, from memory once read.
    fn tenant_id(&self, conn: &Connection, slug: &str) -> Result<i64> {
        self.tenant_ids.get_or_read(slug, || tenant_id(conn, slug))
    }

    /// Runs `f` on a pooled read connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = Lent {
            readers: &self.readers,
            conn: Some(self.readers.take(&self.path)?),
        };
        f(conn.conn.as_ref().expect("lent until dropped"))
    }

    /// Stops the writer after the queued work is done. Dropping the store does the same.
    pub fn close(&self) {
        self.jobs.lock().expect("job queue lock").take();
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            let _ = handle.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn tenant_id(conn: &Connection, slug: &str) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM tenants WHERE slug = ?1")
        .and_then(|mut s| s.query_row([slug], |r| r.get(0)).optional())
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("tenant {slug:?}"),
        })
}

/// The first 8 bytes of a digest as the signed integer SQLite indexes.
fn prefix_key(hash: &Hash) -> i64 {
    i64::from_be_bytes(hash.0[..8].try_into().expect("32 bytes"))
}

fn hash_from(blob: &[u8], what: impl FnOnce() -> String) -> Result<Hash> {
    let arr: [u8; 32] = blob
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{} is not 32 bytes", what())))?;
    Ok(Hash(arr))
}

fn latest_checkpoint(conn: &Connection, tenant: i64, slug: &str) -> Result<StoredCheckpoint> {
    conn.prepare_cached(
        "SELECT size, root, note FROM checkpoints WHERE tenant = ?1 ORDER BY size DESC LIMIT 1",
    )
    .and_then(|mut s| {
        s.query_row([tenant], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()
    })
    .map_err(backend)?
    .map(|(size, root, note)| {
        Ok(StoredCheckpoint {
            size: size as u64,
            root: hash_from(&root, || format!("checkpoint root of tenant {slug:?}"))?,
            note,
        })
    })
    .transpose()?
    .ok_or_else(|| StoreError::Corrupt(format!("tenant {slug:?} has no signed checkpoint")))
}

fn read_nodes(conn: &Connection, tenant: i64, ids: &[NodeId]) -> Result<Vec<Hash>> {
    let missing = |id: &NodeId| StoreError::NotFound {
        what: format!("tree node level {} index {}", id.level, id.index),
    };
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        // Beyond this the key would run into the next tenant's nodes.
        if id.end_entry() > 1 << ENTRY_SHIFT {
            return Err(missing(id));
        }
        keys.push((tenant << NODE_SHIFT) | id.position() as i64);
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // One statement per proof (a proof needs O(log n) nodes), not one per node.
    let placeholders = vec!["?"; keys.len()].join(",");
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT key, hash FROM nodes WHERE key IN ({placeholders})"
        ))
        .map_err(backend)?;
    let mut found: HashMap<i64, Hash> = HashMap::with_capacity(keys.len());
    let mut rows = stmt
        .query(rusqlite::params_from_iter(keys.iter()))
        .map_err(backend)?;
    while let Some(r) = rows.next().map_err(backend)? {
        let key: i64 = r.get(0).map_err(backend)?;
        let blob = r
            .get_ref(1)
            .map_err(backend)?
            .as_blob()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        found.insert(key, hash_from(blob, || format!("tree node at key {key}"))?);
    }
    ids.iter()
        .zip(&keys)
        .map(|(id, key)| found.get(key).copied().ok_or_else(|| missing(id)))
        .collect()
}

struct ConnNodes<'a> {
    conn: &'a Connection,
    tenant: i64,
}

impl asom_ledger::merkle::NodeReader for ConnNodes<'_> {
    type Error = StoreError;
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        read_nodes(self.conn, self.tenant, ids)
    }
}

/// The smallest string above every string that starts with `prefix`, in
/// SQLite's BINARY order (UTF-8 bytes, which is code point order): the prefix
/// with its last character bumped, after dropping trailing U+10FFFF. `None`
/// when there is no such string (every key qualifies).
/// The exclusive upper bound of the keys starting with `prefix`, as an SQL
/// value: the next string after the prefix's range, or, when there is none
/// (an empty prefix, or only `char::MAX`), an empty BLOB, which `SQLite` orders
/// after every TEXT value. Always bounded, so the key index is scanned as a
/// range from both ends rather than to the end of the tenant's keys.
fn key_upper_bound(prefix: &str) -> rusqlite::types::Value {
    prefix_upper_bound(prefix).map_or(
        rusqlite::types::Value::Blob(Vec::new()),
        rusqlite::types::Value::Text,
    )
}

fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while chars.last() == Some(&char::MAX) {
        chars.pop();
    }
    let last = chars.pop()?;
    let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32)?;
    chars.push(next);
    Some(chars.into_iter().collect())
}

/// The SQL bound for "among the first `before` entries".
fn before_bound(before: Option<u64>) -> i64 {
    before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX))
}

/// An entry row: key, id, content id, kind, body.
type EntryRow = (i64, Vec<u8>, Vec<u8>, String, Vec<u8>);

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_stored_entry(row: EntryRow) -> Result<StoredEntry> {
    let (key, id, content_id, kind, bytes) = row;
    let index = (key & ((1 << ENTRY_SHIFT) - 1)) as u64;
    Ok(StoredEntry {
        index,
        id: hash_from(&id, || format!("id of entry {index}"))?,
        content_id: ContentId(hash_from(&content_id, || {
            format!("content id of entry {index}")
        })?),
        kind,
        bytes,
    })
}

const ENTRY_COLUMNS: &str = "key, id, content_id, kind, body";

struct Writer {
    conn: Connection,
    signers: Signers,
    clock: Clock,
}

struct PendingAppend {
    tenant: String,
    entries: Vec<NewEntry>,
    reply: SyncSender<Result<Vec<Appended>>>,
}

impl Writer {
    fn run(mut self, jobs: &Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut appends = Vec::new();
            let mut queued = 0usize;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Exec(f) => {
                        // Keep order: commit what is batched before running the closure.
                        self.commit_appends(std::mem::take(&mut appends));
                        queued = 0;
                        f(&mut self.conn);
                    }
                    Job::Append {
                        tenant,
                        entries,
                        reply,
                    } => {
                        queued += entries.len();
                        appends.push(PendingAppend {
                            tenant,
                            entries,
                            reply,
                        });
                    }
                }
                if queued < MAX_BATCH_ENTRIES {
                    next = jobs.try_recv().ok();
                }
            }
            self.commit_appends(appends);
        }
    }

    /// Commits a batch of appends in one transaction; every caller gets its answer.
    fn commit_appends(&mut self, appends: Vec<PendingAppend>) {
        if appends.is_empty() {
            return;
        }
        match self.try_commit(&appends) {
            Ok(results) => {
                for (pending, result) in appends.into_iter().zip(results) {
                    let _ = pending.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "append batch rolled back");
                for pending in appends {
                    let _ = pending.reply.send(Err(StoreError::Backend(format!(
                        "the batch this append was in failed: {e}"
                    ))));
                }
            }
        }
    }

    /// One transaction for the whole batch; within it, one savepoint per
    /// tenant, so a tenant whose log refuses (a fork, a full log) fails only
    /// its own callers. An error outside any tenant's work (the commit
    /// itself) fails everyone.
    fn try_commit(&mut self, appends: &[PendingAppend]) -> Result<Vec<Result<Vec<Appended>>>> {
        let now = (self.clock)();
        let signers = self.signers.read().expect("signer lock").clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut results: Vec<Option<Result<Vec<Appended>>>> =
            (0..appends.len()).map(|_| None).collect();
        let mut tenants: Vec<&str> = appends.iter().map(|a| a.tenant.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        // Savepoints isolate tenants from each other, but make SQLite copy
        // every page the batch touches into a sub-journal: take them only
        // when the batch mixes tenants. A one-tenant batch that fails rolls
        // back whole, which fails only that tenant's callers anyway.
        let isolate = tenants.len() > 1;
        let mut roll_back = false;
        for slug in tenants {
            let mine: Vec<usize> = (0..appends.len())
                .filter(|&i| appends[i].tenant == slug)
                .collect();
            let outcome = match signers.get(slug) {
                None => Err(match tenant_id(&tx, slug) {
                    Ok(_) => StoreError::NoSigner {
                        tenant: slug.to_owned(),
                    },
                    Err(e) => e,
                }),
                Some(signer) if isolate => {
                    tx.execute_batch("SAVEPOINT tenant_batch")
                        .map_err(backend)?;
                    let outcome = append_for_tenant(&tx, slug, signer, &now, appends, &mine);
                    let end = if outcome.is_ok() {
                        "RELEASE tenant_batch"
                    } else {
                        "ROLLBACK TO tenant_batch; RELEASE tenant_batch"
                    };
                    tx.execute_batch(end).map_err(backend)?;
                    outcome
                }
                Some(signer) => {
                    let outcome = append_for_tenant(&tx, slug, signer, &now, appends, &mine);
                    roll_back = outcome.is_err();
                    outcome
                }
            };
            match outcome {
                Ok(outcomes) => {
                    for (i, outcome) in mine.into_iter().zip(outcomes) {
                        results[i] = Some(outcome);
                    }
                }
                Err(e) => {
                    if !matches!(e, StoreError::NotFound { .. } | StoreError::NoSigner { .. }) {
                        tracing::error!(tenant = slug, error = %e, "appends refused for this tenant");
                    }
                    for i in mine {
                        results[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        if roll_back {
            tx.rollback().map_err(backend)?;
        } else {
            tx.commit().map_err(backend)?;
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every append has a result"))
            .collect())
    }
}

/// Appends one tenant's share of a batch and signs its new checkpoint.
/// Returns, for each of `mine` (indexes into `appends`), what happened to
/// that call: its entries, or why the call was refused (an expectation that
/// did not hold). An error for the whole tenant (a fork) is the `Err`.
#[allow(clippy::too_many_lines)] // One tenant's steps within the transaction, in order.
fn append_for_tenant(
    tx: &Connection,
    slug: &str,
    signer: &NoteSigner,
    now: &str,
    appends: &[PendingAppend],
    mine: &[usize],
) -> Result<Vec<Result<Vec<Appended>>>> {
    let tenant = tenant_id(tx, slug)?;
    let last = latest_checkpoint(tx, tenant, slug)?;
    let mut frontier =
        Frontier::load(&ConnNodes { conn: tx, tenant }, last.size).map_err(|e| match e {
            ProofError::Read(e) => e,
            other => {
                StoreError::Corrupt(format!("the right edge of tenant {slug:?}'s tree: {other}"))
            }
        })?;
    let computed = frontier.root();
    if computed != last.root {
        return Err(StoreError::Fork {
            tenant: slug.to_owned(),
            size: last.size,
            computed,
            signed: last.root,
        });
    }
    let mut find = tx
        .prepare_cached("SELECT key, id FROM entries WHERE tenant = ?1 AND content_key = ?2 AND content_id = ?3")
        .map_err(backend)?;
    let mut covering = tx
        .prepare_cached("SELECT MIN(size) FROM checkpoints WHERE tenant = ?1 AND size > ?2")
        .map_err(backend)?;
    let mut count_key = tx
        .prepare_cached("SELECT COUNT(*) FROM entry_keys WHERE tenant = ?1 AND key = ?2")
        .map_err(backend)?;
    let mut insert_entry = tx
        .prepare_cached(
            "INSERT INTO entries (key, tenant, id, content_id, kind, body, id_key, content_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(backend)?;
    let mut insert_node = tx
        .prepare_cached("INSERT INTO nodes (key, hash) VALUES (?1, ?2)")
        .map_err(backend)?;
    let mut insert_key = tx
        .prepare_cached("INSERT INTO entry_keys (tenant, entry, key) VALUES (?1, ?2, ?3)")
        .map_err(backend)?;
    // Entries already in the log (or earlier in this batch), by content id.
    // New entries get the checkpoint this batch signs (size 0 = "fill in
    // below"); entries already in the log keep the first checkpoint that
    // covered them, so a repeated submission gets back its first receipt.
    let mut seen: HashMap<ContentId, Appended> = HashMap::new();

    let mut lookup =
        |cid: ContentId, seen: &HashMap<ContentId, Appended>| -> Result<Option<Appended>> {
            if let Some(prev) = seen.get(&cid) {
                return Ok(Some(Appended {
                    duplicate: true,
                    ..prev.clone()
                }));
            }
            let existing: Option<(i64, Vec<u8>)> = find
                .query_row(
                    params![tenant, prefix_key(&cid.0), cid.0.as_bytes().as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            let Some((key, id)) = existing else {
                return Ok(None);
            };
            let index = (key & ((1 << ENTRY_SHIFT) - 1)) as u64;
            let first: Option<i64> = covering
                .query_row(params![tenant, index as i64], |r| r.get(0))
                .map_err(backend)?;
            let first = first.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "entry {index} of tenant {slug:?} is not covered by any signed checkpoint"
                ))
            })?;
            Ok(Some(Appended {
                index,
                id: hash_from(&id, || format!("id of entry {index}"))?,
                content_id: cid,
                duplicate: true,
                checkpoint_size: first as u64,
            }))
        };
    let mut results = Vec::with_capacity(mine.len());
    for &ai in mine {
        let entries = &appends[ai].entries;
        // A call whose entries are all in the log already is a repeat: it
        // gets the first entries back, whatever its expectations say.
        let mut known = Vec::with_capacity(entries.len());
        for e in entries {
            known.push(lookup(e.content_id(), &seen)?);
        }
        if known.iter().any(Option::is_none) {
            let mut conflict = None;
            for (key, expected) in entries.iter().flat_map(NewEntry::expectations) {
                let stored: i64 = count_key
                    .query_row(params![tenant, key], |r| r.get(0))
                    .map_err(backend)?;
                // The count runs inside this transaction, so it already sees the
                // keys that earlier calls of this batch inserted.
                let actual = stored as u64;
                if actual != *expected {
                    conflict = Some(StoreError::Conflict {
                        key: key.clone(),
                        expected: *expected,
                        actual,
                    });
                    break;
                }
            }
            if let Some(conflict) = conflict {
                results.push(Err(conflict));
                continue;
            }
        }
        let mut out = Vec::with_capacity(entries.len());
        for (e, known) in entries.iter().zip(known) {
            // An earlier entry of this same call may have added it meanwhile.
            let known = match known {
                Some(k) => Some(k),
                None => seen.get(&e.content_id()).map(|prev| Appended {
                    duplicate: true,
                    ..prev.clone()
                }),
            };
            if let Some(appended) = known {
                seen.insert(e.content_id(), appended.clone());
                out.push(appended);
                continue;
            }
            let cid = e.content_id();
            let index = frontier.size();
            if index >= 1 << ENTRY_SHIFT {
                return Err(StoreError::Invalid(format!(
                    "tenant {slug:?}'s log is full (2^40 entries)"
                )));
            }
            let bytes = build_entry_bytes(slug, now, e);
            let id = Hash::of(&bytes);
            insert_entry
                .execute(params![
                    (tenant << ENTRY_SHIFT) | index as i64,
                    tenant,
                    id.as_bytes().as_slice(),
                    cid.0.as_bytes().as_slice(),
                    e.kind(),
                    bytes,
                    prefix_key(&id),
                    prefix_key(&cid.0),
                ])
                .map_err(backend)?;
            for key in e.keys() {
                insert_key
                    .execute(params![tenant, index as i64, key])
                    .map_err(backend)?;
            }
            let mut node_err = None;
            frontier.append(leaf_hash(&bytes), |node, hash| {
                if node_err.is_none() {
                    let key = (tenant << NODE_SHIFT) | node.position() as i64;
                    if let Err(e) = insert_node.execute(params![key, hash.as_bytes().as_slice()]) {
                        node_err = Some(e);
                    }
                }
            });
            if let Some(e) = node_err {
                return Err(backend(e));
            }
            let appended = Appended {
                index,
                id,
                content_id: cid,
                duplicate: false,
                checkpoint_size: 0,
            };
            seen.insert(
                cid,
                Appended {
                    duplicate: true,
                    ..appended.clone()
                },
            );
            out.push(appended);
        }
        results.push(Ok(out));
    }
    let size = frontier.size();
    if size != last.size {
        let checkpoint = Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: frontier.root(),
            extensions: Vec::new(),
        };
        let note = checkpoint.sign(signer).map_err(|e| {
            StoreError::Invalid(format!("signing the checkpoint of tenant {slug:?}: {e}"))
        })?;
        tx.prepare_cached("INSERT INTO checkpoints (tenant, size, root, note, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut s| s.execute(params![tenant, size as i64, checkpoint.root.as_bytes().as_slice(), note, now]))
            .map_err(backend)?;
    }
    for appended in results.iter_mut().flatten().flatten() {
        if appended.checkpoint_size == 0 {
            appended.checkpoint_size = size;
        }
    }
    Ok(results)
}

fn signers_for_create(signers: &Signers, slug: &str, signer: Arc<NoteSigner>) {
    signers
        .write()
        .expect("signer lock")
        .insert(slug.to_owned(), signer);
}

impl Store for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn create_tenant(
        &self,
        tenant: &Tenant,
        signer: Arc<NoteSigner>,
        now: &str,
    ) -> Result<StoredCheckpoint> {
        if signer.name() != tenant.origin {
            return Err(StoreError::Invalid(format!(
                "the log key is named {:?} but the tenant's origin is {:?}; they must be the same",
                signer.name(),
                tenant.origin
            )));
        }
        let tenant = tenant.clone();
        let now = now.to_owned();
        let key_signer = Arc::clone(&signer);
        let checkpoint = self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM tenants WHERE slug = ?1 OR origin = ?2", [&tenant.slug, &tenant.origin], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            if exists.is_some() {
                return Err(StoreError::AlreadyExists { what: format!("tenant {:?} (or its origin {:?})", tenant.slug, tenant.origin) });
            }
            let next: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM tenants", [], |r| r.get(0)).map_err(backend)?;
            if next > MAX_TENANT_ID {
                return Err(StoreError::Invalid("too many tenants in one embedded store".into()));
            }
            tx.execute(
                "INSERT INTO tenants (id, slug, origin, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![next, tenant.slug, tenant.origin, now],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO log_keys (tenant, verifier, created_at, active) VALUES (?1, ?2, ?3, 1)",
                params![next, key_signer.verifier().to_string(), now],
            )
            .map_err(backend)?;
            let empty = Checkpoint {
                origin: tenant.origin.clone(),
                size: 0,
                root: asom_ledger::merkle::empty_root(),
                extensions: Vec::new(),
            };
            let note = empty.sign(&key_signer).map_err(|e| StoreError::Invalid(format!("signing the first checkpoint: {e}")))?;
            tx.execute(
                "INSERT INTO checkpoints (tenant, size, root, note, created_at) VALUES (?1, 0, ?2, ?3, ?4)",
                params![next, empty.root.as_bytes().as_slice(), note, now],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(StoredCheckpoint { size: 0, root: empty.root, note })
        })?;
        signers_for_create(&self.signers, &self.tenant_slug_of(&signer)?, signer);
        Ok(checkpoint)
    }

    fn tenant(&self, slug: &str) -> Result<Tenant> {
        self.read(|conn| {
            conn.query_row(
                "SELECT slug, origin FROM tenants WHERE slug = ?1",
                [slug],
                |r| {
                    Ok(Tenant {
                        slug: r.get(0)?,
                        origin: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("tenant {slug:?}"),
            })
        })
    }

    fn tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|conn| {
            let mut s = conn
                .prepare("SELECT slug, origin FROM tenants ORDER BY slug")
                .map_err(backend)?;
            let rows = s
                .query_map([], |r| {
                    Ok(Tenant {
                        slug: r.get(0)?,
                        origin: r.get(1)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
    }

    fn register_signer(&self, tenant: &str, signer: Arc<NoteSigner>) -> Result<()> {
        let verifier = signer.verifier().to_string();
        let t = self.tenant(tenant)?;
        if signer.name() != t.origin {
            return Err(StoreError::Invalid(format!(
                "the key is for log {:?}, but tenant {tenant:?} logs as {:?}",
                signer.name(),
                t.origin
            )));
        }
        let active = self
            .log_keys(tenant)?
            .into_iter()
            .any(|k| k.active && k.verifier == verifier);
        if !active {
            return Err(StoreError::Invalid(format!(
                "key {verifier} is not an active log key of tenant {tenant:?}; register it with the tenant first"
            )));
        }
        self.signers
            .write()
            .expect("signer lock")
            .insert(tenant.to_owned(), signer);
        Ok(())
    }

    fn add_log_key(&self, tenant: &str, verifier: &NoteVerifier, now: &str) -> Result<()> {
        let tenant = tenant.to_owned();
        let verifier = verifier.to_string();
        let now = now.to_owned();
        self.write(move |conn| {
            let id = tenant_id(conn, &tenant)?;
            conn.execute(
                "INSERT INTO log_keys (tenant, verifier, created_at, active) VALUES (?1, ?2, ?3, 1) \
                 ON CONFLICT (tenant, verifier) DO UPDATE SET active = 1",
                params![id, verifier, now],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn log_keys(&self, tenant: &str) -> Result<Vec<LogKey>> {
        self.read(|conn| {
            let id = self.tenant_id(conn, tenant)?;
            let mut s = conn
                .prepare("SELECT verifier, created_at, active FROM log_keys WHERE tenant = ?1 ORDER BY created_at, verifier")
                .map_err(backend)?;
            let rows = s
                .query_map([id], |r| Ok(LogKey { verifier: r.get(0)?, created_at: r.get(1)?, active: r.get::<_, i64>(2)? != 0 }))
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
    }

    fn create_principal(&self, tenant: &str, principal: &Principal) -> Result<()> {
        let tenant = tenant.to_owned();
        let slug = principal.slug().as_str().to_owned();
        let body =
            serde_json::to_string(principal).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.write(move |conn| {
            let id = tenant_id(conn, &tenant)?;
            let inserted = conn
                .execute(
                    "INSERT OR IGNORE INTO principals (tenant, slug, body) VALUES (?1, ?2, ?3)",
                    params![id, slug, body],
                )
                .map_err(backend)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists {
                    what: format!("principal {slug:?}"),
                });
            }
            Ok(())
        })
    }

    fn principal(&self, tenant: &str, slug: &str) -> Result<Principal> {
        self.read(|conn| {
            let id = self.tenant_id(conn, tenant)?;
            let body: String = conn
                .prepare_cached("SELECT body FROM principals WHERE tenant = ?1 AND slug = ?2")
                .and_then(|mut s| s.query_row(params![id, slug], |r| r.get(0)).optional())
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("principal {slug:?}"),
                })?;
            serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("principal {slug:?}: {e}")))
        })
    }

    fn principals(&self, tenant: &str) -> Result<Vec<Principal>> {
        self.read(|conn| {
            let id = self.tenant_id(conn, tenant)?;
            let mut s = conn
                .prepare_cached("SELECT slug, body FROM principals WHERE tenant = ?1 ORDER BY slug")
                .map_err(backend)?;
            let rows = s
                .query_map([id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(backend)?;
            rows.map(|row| {
                let (slug, body) = row.map_err(backend)?;
                serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt(format!("principal {slug:?}: {e}")))
            })
            .collect()
        })
    }

    fn create_token(&self, token: &TokenRecord) -> Result<()> {
        let token = token.clone();
        self.write(move |conn| {
            let id = tenant_id(conn, &token.tenant)?;
            let principal_exists: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM principals WHERE tenant = ?1 AND slug = ?2)",
                    params![id, token.principal],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if !principal_exists {
                return Err(StoreError::NotFound { what: format!("principal {:?}", token.principal) });
            }
            conn.execute(
                "INSERT INTO tokens (id, digest, tenant, principal, label, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
                params![token.id, token.digest, id, token.principal, token.label, token.created_at],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::AlreadyExists { what: format!("token {:?}", token.id) }
                }
                e => backend(e),
            })?;
            Ok(())
        })
    }

    fn token_by_digest(&self, digest: &str) -> Result<(TokenRecord, Principal)> {
        self.read(|conn| {
            let row = conn
                .prepare_cached(
                    "SELECT k.id, k.digest, t.slug, k.principal, k.label, k.created_at, k.revoked_at, p.body \
                     FROM tokens k JOIN tenants t ON t.id = k.tenant \
                     JOIN principals p ON p.tenant = k.tenant AND p.slug = k.principal \
                     WHERE k.digest = ?1 AND k.revoked_at IS NULL",
                )
                .and_then(|mut s| s.query_row(
                    [digest],
                    |r| {
                        Ok((
                            TokenRecord {
                                id: r.get(0)?,
                                digest: r.get(1)?,
                                tenant: r.get(2)?,
                                principal: r.get(3)?,
                                label: r.get(4)?,
                                created_at: r.get(5)?,
                                revoked_at: r.get(6)?,
                            },
                            r.get::<_, String>(7)?,
                        ))
                    },
                ).optional())
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound { what: "a live token with that secret".into() })?;
            let principal = serde_json::from_str(&row.1)
                .map_err(|e| StoreError::Corrupt(format!("principal {:?}: {e}", row.0.principal)))?;
            Ok((row.0, principal))
        })
    }

    fn revoke_token(&self, tenant: &str, id: &str, now: &str) -> Result<()> {
        let (tenant, id, now) = (tenant.to_owned(), id.to_owned(), now.to_owned());
        self.write(move |conn| {
            let t = tenant_id(conn, &tenant)?;
            let changed = conn
                .execute(
                    "UPDATE tokens SET revoked_at = ?1 WHERE tenant = ?2 AND id = ?3 AND revoked_at IS NULL",
                    params![now, t, id],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(StoreError::NotFound { what: format!("live token {id:?}") });
            }
            Ok(())
        })
    }

    fn tokens(&self, tenant: &str) -> Result<Vec<TokenRecord>> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let mut s = conn
                .prepare(
                    "SELECT id, digest, principal, label, created_at, revoked_at FROM tokens WHERE tenant = ?1 ORDER BY created_at, id",
                )
                .map_err(backend)?;
            let rows = s
                .query_map([t], |r| {
                    Ok(TokenRecord {
                        id: r.get(0)?,
                        digest: r.get(1)?,
                        tenant: tenant.to_owned(),
                        principal: r.get(2)?,
                        label: r.get(3)?,
                        created_at: r.get(4)?,
                        revoked_at: r.get(5)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
    }

    fn append(&self, tenant: &str, entries: Vec<NewEntry>) -> Result<Vec<Appended>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::Append {
            tenant: tenant.to_owned(),
            entries,
            reply,
        })?;
        answer
            .recv()
            .map_err(|_| StoreError::Backend("the store's writer thread has stopped".into()))?
    }

    fn latest_checkpoint(&self, tenant: &str) -> Result<StoredCheckpoint> {
        self.read(|conn| latest_checkpoint(conn, self.tenant_id(conn, tenant)?, tenant))
    }

    fn checkpoint_at(&self, tenant: &str, size: u64) -> Result<StoredCheckpoint> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let row: Option<(Vec<u8>, String)> = conn
                .query_row(
                    "SELECT root, note FROM checkpoints WHERE tenant = ?1 AND size = ?2",
                    params![t, size as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            let (root, note) = row.ok_or_else(|| StoreError::NotFound {
                what: format!("a signed checkpoint at size {size}"),
            })?;
            Ok(StoredCheckpoint {
                size,
                root: hash_from(&root, || format!("checkpoint root at size {size}"))?,
                note,
            })
        })
    }

    fn checkpoints(&self, tenant: &str) -> Result<Vec<StoredCheckpoint>> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let mut s = conn
                .prepare("SELECT size, root, note FROM checkpoints WHERE tenant = ?1 ORDER BY size")
                .map_err(backend)?;
            let rows = s
                .query_map([t], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|row| {
                let (size, root, note) = row.map_err(backend)?;
                Ok(StoredCheckpoint {
                    size: size as u64,
                    root: hash_from(&root, || format!("checkpoint root at size {size}"))?,
                    note,
                })
            })
            .collect()
        })
    }

    fn entry_at(&self, tenant: &str, index: u64) -> Result<StoredEntry> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            if index >= 1 << ENTRY_SHIFT {
                return Err(StoreError::NotFound {
                    what: format!("entry {index}"),
                });
            }
            let row = conn
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries WHERE key = ?1"
                ))
                .and_then(|mut s| {
                    s.query_row([(t << ENTRY_SHIFT) | index as i64], row_to_entry)
                        .optional()
                })
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("entry {index} of tenant {tenant:?}"),
                })?;
            to_stored_entry(row)
        })
    }

    fn entry_by_id(&self, tenant: &str, id: &Hash) -> Result<StoredEntry> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let row = conn
                .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant = ?1 AND id_key = ?2 AND id = ?3"))
                .and_then(|mut s| s.query_row(params![t, prefix_key(id), id.as_bytes().as_slice()], row_to_entry).optional())
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound { what: format!("entry with id {id} in tenant {tenant:?}") })?;
            to_stored_entry(row)
        })
    }

    fn entry_by_content(&self, tenant: &str, content_id: &ContentId) -> Result<StoredEntry> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let row = conn
                .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant = ?1 AND content_key = ?2 AND content_id = ?3"))
                .and_then(|mut s| s.query_row(params![t, prefix_key(&content_id.0), content_id.0.as_bytes().as_slice()], row_to_entry).optional())
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound { what: format!("entry with content id {content_id} in tenant {tenant:?}") })?;
            to_stored_entry(row)
        })
    }

    fn read_nodes(&self, tenant: &str, ids: &[NodeId]) -> Result<Vec<Hash>> {
        self.read(|conn| read_nodes(conn, self.tenant_id(conn, tenant)?, ids))
    }

    fn entries_with_key(
        &self,
        tenant: &str,
        key: &str,
        before: Option<u64>,
    ) -> Result<Vec<StoredEntry>> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let mut s = conn
                .prepare_cached(
                    "SELECT e.key, e.id, e.content_id, e.kind, e.body FROM entry_keys k \
                     JOIN entries e ON e.key = ((k.tenant << 40) | k.entry) \
                     WHERE k.tenant = ?1 AND k.key = ?2 AND k.entry < ?3 ORDER BY k.entry",
                )
                .map_err(backend)?;
            let rows = s
                .query_map(params![t, key, before_bound(before)], row_to_entry)
                .map_err(backend)?;
            rows.map(|r| to_stored_entry(r.map_err(backend)?)).collect()
        })
    }

    fn count_with_key(&self, tenant: &str, key: &str, before: Option<u64>) -> Result<u64> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let n: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM entry_keys WHERE tenant = ?1 AND key = ?2 AND entry < ?3",
                )
                .and_then(|mut s| s.query_row(params![t, key, before_bound(before)], |r| r.get(0)))
                .map_err(backend)?;
            Ok(n as u64)
        })
    }

    fn keyed_with_prefix(
        &self,
        tenant: &str,
        prefix: &str,
        before: Option<u64>,
    ) -> Result<Vec<(String, u64, Hash)>> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let mut s = conn
                .prepare_cached(
                    "SELECT k.key, k.entry, e.id FROM entry_keys k \
                     JOIN entries e ON e.key = ((k.tenant << 40) | k.entry) \
                     WHERE k.tenant = ?1 AND k.key >= ?2 AND k.key < ?3 AND k.entry < ?4 \
                     ORDER BY k.key, k.entry",
                )
                .map_err(backend)?;
            let rows = s
                .query_map(
                    params![t, prefix, key_upper_bound(prefix), before_bound(before)],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                        ))
                    },
                )
                .map_err(backend)?;
            rows.map(|row| {
                let (key, index, id) = row.map_err(backend)?;
                let index = index as u64;
                Ok((
                    key,
                    index,
                    hash_from(&id, || format!("id of entry {index}"))?,
                ))
            })
            .collect()
        })
    }

    fn key_groups(
        &self,
        tenant: &str,
        prefix: &str,
        before: Option<u64>,
    ) -> Result<Vec<(String, Vec<u64>)>> {
        // One row per key from the covering index (tenant, key, entry): SQLite
        // walks the entries in C and never touches the entries table.
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let mut s = conn
                .prepare_cached(
                    "SELECT key, group_concat(entry) FROM entry_keys \
                     WHERE tenant = ?1 AND key >= ?2 AND key < ?3 AND entry < ?4 \
                     GROUP BY key ORDER BY key",
                )
                .map_err(backend)?;
            let rows = s
                .query_map(
                    params![t, prefix, key_upper_bound(prefix), before_bound(before)],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )
                .map_err(backend)?;
            rows.map(|row| {
                let (key, list) = row.map_err(backend)?;
                let mut indexes = list
                    .split(',')
                    .map(|n| {
                        n.parse::<u64>().map_err(|_| {
                            StoreError::Corrupt(format!("entry index {n:?} under key {key:?}"))
                        })
                    })
                    .collect::<Result<Vec<u64>>>()?;
                // group_concat's order is unspecified: sort.
                indexes.sort_unstable();
                Ok((key, indexes))
            })
            .collect()
        })
    }

    fn keys_with_prefix(&self, tenant: &str, prefix: &str) -> Result<Vec<String>> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            let mut s = conn
                .prepare_cached(
                    "SELECT DISTINCT key FROM entry_keys WHERE tenant = ?1 AND key >= ?2 AND key < ?3 \
                     ORDER BY key",
                )
                .map_err(backend)?;
            let rows = s.query_map(params![t, prefix, key_upper_bound(prefix)], |r| r.get(0)).map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<String>>>().map_err(backend)
        })
    }

    #[allow(clippy::too_many_lines)] // Three cursors merged in one pass; splitting would hide the order.
    fn scan_log(&self, tenant: &str, visitor: &mut dyn LogVisitor) -> Result<()> {
        self.read(|conn| {
            let t = self.tenant_id(conn, tenant)?;
            // One read transaction, so entries and nodes come from one snapshot.
            conn.execute_batch("BEGIN").map_err(backend)?;
            let result = (|| {
                let mut cs = conn
                    .prepare("SELECT size, root, note FROM checkpoints WHERE tenant = ?1 ORDER BY size")
                    .map_err(backend)?;
                let checkpoints = cs
                    .query_map([t], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?)))
                    .map_err(backend)?
                    .map(|row| {
                        let (size, root, note) = row.map_err(backend)?;
                        Ok(StoredCheckpoint {
                            size: size as u64,
                            root: hash_from(&root, || format!("checkpoint root at size {size}"))?,
                            note,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                visitor.checkpoints(checkpoints)?;
                let mut es = conn
                    .prepare(
                        "SELECT key, body, id, content_id, kind, id_key, content_key FROM entries \
                         WHERE key >= ?1 AND key < ?2 ORDER BY key",
                    )
                    .map_err(backend)?;
                let mut ns = conn
                    .prepare(
                        "SELECT key, hash FROM nodes WHERE key >= ?1 AND key < ?2 ORDER BY key",
                    )
                    .map_err(backend)?;
                let mut ks = conn
                    .prepare("SELECT entry, key FROM entry_keys WHERE tenant = ?1 ORDER BY entry, key")
                    .map_err(backend)?;
                let mut key_rows = ks.query([t]).map_err(backend)?;
                let next_key = |rows: &mut rusqlite::Rows<'_>| -> Result<Option<(i64, String)>> {
                    match rows.next().map_err(backend)? {
                        Some(r) => Ok(Some((r.get(0).map_err(backend)?, r.get(1).map_err(backend)?))),
                        None => Ok(None),
                    }
                };
                let mut peeked_key = next_key(&mut key_rows)?;
                let mut keys: Vec<String> = Vec::new();
                let mut entries = es
                    .query(params![t << ENTRY_SHIFT, (t + 1) << ENTRY_SHIFT])
                    .map_err(backend)?;
                let mut nodes = ns
                    .query(params![t << NODE_SHIFT, (t + 1) << NODE_SHIFT])
                    .map_err(backend)?;
                let next_node = |nodes: &mut rusqlite::Rows<'_>| -> Result<Option<(u64, Hash)>> {
                    let Some(r) = nodes.next().map_err(backend)? else {
                        return Ok(None);
                    };
                    let key: i64 = r.get(0).map_err(backend)?;
                    let position = (key & ((1 << NODE_SHIFT) - 1)) as u64;
                    let blob = r
                        .get_ref(1)
                        .map_err(backend)?
                        .as_blob()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(Some((
                        position,
                        hash_from(blob, || format!("tree node at position {position}"))?,
                    )))
                };
                let mut peeked = next_node(&mut nodes)?;
                let mut created = Vec::with_capacity(64);
                while let Some(r) = entries.next().map_err(backend)? {
                    let key: i64 = r.get(0).map_err(backend)?;
                    let index = (key & ((1 << ENTRY_SHIFT) - 1)) as u64;
                    let body = r
                        .get_ref(1)
                        .map_err(backend)?
                        .as_blob()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let end = 2 * (index + 1) - u64::from((index + 1).count_ones());
                    created.clear();
                    while let Some((position, hash)) = peeked {
                        if position >= end {
                            break;
                        }
                        created.push((position, hash));
                        peeked = next_node(&mut nodes)?;
                    }
                    let id = hash_from(
                        r.get_ref(2)
                            .map_err(backend)?
                            .as_blob()
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        || format!("id of entry {index}"),
                    )?;
                    let content_id = ContentId(hash_from(
                        r.get_ref(3)
                            .map_err(backend)?
                            .as_blob()
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        || format!("content id of entry {index}"),
                    )?);
                    let kind = r
                        .get_ref(4)
                        .map_err(backend)?
                        .as_str()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let (id_key, content_key): (i64, i64) =
                        (r.get(5).map_err(backend)?, r.get(6).map_err(backend)?);
                    if id_key != prefix_key(&id) || content_key != prefix_key(&content_id.0) {
                        return Err(StoreError::Corrupt(format!(
                            "entry {index}: its lookup keys do not match its id and content id"
                        )));
                    }
                    keys.clear();
                    while let Some((entry, key)) = peeked_key.take() {
                        if entry > index as i64 {
                            peeked_key = Some((entry, key));
                            break;
                        }
                        if entry < index as i64 {
                            return Err(StoreError::Corrupt(format!(
                                "index key {key:?} is stored for entry {entry}, which is not in the log"
                            )));
                        }
                        keys.push(key);
                        peeked_key = next_key(&mut key_rows)?;
                    }
                    visitor.entry(&ScannedEntry {
                        index,
                        bytes: body,
                        id,
                        content_id,
                        kind,
                        keys: &keys,
                        nodes: &created,
                    })?;
                }
                if let Some((entry, key)) = peeked_key {
                    return Err(StoreError::Corrupt(format!(
                        "index key {key:?} is stored for entry {entry}, which is not in the log"
                    )));
                }
                while let Some((position, hash)) = peeked {
                    visitor.extra_node(position, hash)?;
                    peeked = next_node(&mut nodes)?;
                }
                Ok(())
            })();
            // End the read transaction whatever happened; the visitor's or the
            // scan's own error is the one worth reporting.
            let ended = conn.execute_batch("COMMIT").map_err(backend);
            result.and(ended)
        })
    }
}

impl SqliteStore {
    fn tenant_slug_of(&self, signer: &NoteSigner) -> Result<String> {
        self.read(|conn| {
            conn.query_row(
                "SELECT slug FROM tenants WHERE origin = ?1",
                [signer.name()],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("tenant with origin {:?}", signer.name()),
            })
        })
    }
}
