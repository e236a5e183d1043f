//! asom's PostgreSQL store: one database shared by any number of `asom`
//! processes (several `asom serve` replicas), each tenant's log sequenced by
//! the database.
//!
//! What this crate owns: the schema and its migrations (run on connect,
//! versioned in the `asom_schema` table), the [`Store`] implementation and
//! its connections. It must not decide anything about governance: it stores
//! and sequences what the layers above hand it.
//!
//! Sequencing: every append transaction first locks its tenant's row
//! (`SELECT … FROM tenants WHERE slug = $1 FOR NO KEY UPDATE`), then reads the
//! latest signed checkpoint and the tree's right edge in that same
//! transaction, checks that the stored tree still has the signed root
//! ([`StoreError::Fork`] if not), appends on top, signs the new checkpoint
//! with the signer registered in this process and commits. Whichever process
//! holds the lock sequences its batch and signs it; the others wait, then see
//! the committed log. So replicas never fork a tenant's log.
//!
//! Group commit: in one process, every append goes through one writer thread
//! with its own connection. It takes the first queued call, drains whatever
//! else is queued (up to [`MAX_BATCH_ENTRIES`] entries), and commits it all in
//! one transaction with, per tenant, one signed checkpoint (one savepoint per
//! tenant when the batch mixes tenants, so a refusing tenant fails only its
//! callers).
//!
//! Durability: an append is acknowledged only after its transaction commits
//! with `synchronous_commit` on (the writer turns it back on if the server
//! default is `off`), so an acknowledged append survives a crash of the
//! server.
//!
//! Reads use a small bounded pool of connections ([`POOL_SIZE`] per store);
//! [`Store::scan_log`] reads one `REPEATABLE READ` snapshot through paged
//! cursors, so a whole-log scan never holds the log in memory.
//!
//! Known limits:
//!
//! - no TLS yet: connections use `postgres::NoTls`. Connect over a Unix
//!   socket or loopback, or through a TLS-terminating proxy on the same host;
//!   a URL with `sslmode=require` is refused;
//! - 2^40 entries per tenant, as in the embedded store;
//! - the tables live in the first schema of the connection's `search_path`
//!   (set it with `options=-csearch_path%3Dasom` in the URL to use another).

// PostgreSQL integers are i64. Log indexes stay below 2^40 and node positions
// below 2^42 (checked on append and read), so the casts between them and u64 are exact.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use asom_core::principal::Principal;
use asom_ledger::Hash;
use asom_ledger::checkpoint::Checkpoint;
use asom_ledger::merkle::NodeId;
use asom_ledger::note::{NoteSigner, NoteVerifier};
use asom_store::{
    Appended, ContentId, KeyClaim, LogKey, LogVisitor, NewEntry, RequestKey, Result, ScannedEntry,
    Store, StoreError, StoredCheckpoint, StoredEntry, Tenant, TenantIds, TokenRecord,
};
use postgres::error::SqlState;
use postgres::types::FromSql;
use postgres::{GenericClient, IsolationLevel, Row};

mod pool;
mod schema;
mod writer;

pub use schema::MIGRATIONS;

use pool::{Conn, Pool, Target};
use writer::{PendingAppend, Writer};

/// Most entries one transaction takes from the queue.
pub const MAX_BATCH_ENTRIES: usize = 16_384;

/// Most read connections one store keeps open.
pub const POOL_SIZE: usize = 8;

/// Entries per tenant: the same bound as the embedded store.
pub(crate) const MAX_ENTRIES: u64 = 1 << 40;

/// Rows a whole-log scan fetches per round trip.
const SCAN_PAGE: i32 = 1_000;

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

pub(crate) type Signers = Arc<RwLock<HashMap<String, Arc<NoteSigner>>>>;

/// The PostgreSQL store.
pub struct PostgresStore {
    location: String,
    pool: Pool,
    jobs: Mutex<Option<SyncSender<PendingAppend>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    signers: Signers,
    tenant_ids: TenantIds,
    /// Request keys claimed by this process, to purge old records now and then.
    request_key_claims: AtomicU64,
}

#[allow(clippy::needless_pass_by_value)] // Used as `.map_err(backend)`.
pub(crate) fn backend(e: postgres::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Column `i` of `row`, or `Corrupt` when it does not have the expected type.
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

pub(crate) fn hash_from(blob: &[u8], what: impl FnOnce() -> String) -> Result<Hash> {
    let arr: [u8; 32] = blob
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{} is not 32 bytes", what())))?;
    Ok(Hash(arr))
}

/// A 32-byte hash in column `i`.
pub(crate) fn hash_col(row: &Row, i: usize, what: impl FnOnce() -> String) -> Result<Hash> {
    hash_from(col::<&[u8]>(row, i)?, what)
}

/// PostgreSQL text cannot hold NUL, so a name with one names nothing stored.
fn storable(text: &str) -> bool {
    !text.contains('\0')
}

pub(crate) fn tenant_id<C: GenericClient>(client: &mut C, slug: &str) -> Result<i64> {
    let not_found = || StoreError::NotFound {
        what: format!("tenant {slug:?}"),
    };
    if !storable(slug) {
        return Err(not_found());
    }
    let row = client
        .query_opt("SELECT id FROM tenants WHERE slug = $1", &[&slug])
        .map_err(backend)?
        .ok_or_else(not_found)?;
    col(&row, 0)
}

fn to_checkpoint(row: &Row, what: impl Fn() -> String) -> Result<StoredCheckpoint> {
    let size: i64 = col(row, 0)?;
    Ok(StoredCheckpoint {
        size: size as u64,
        root: hash_col(row, 1, || {
            format!("checkpoint root at size {size} of {}", what())
        })?,
        note: col(row, 2)?,
    })
}

pub(crate) fn latest_checkpoint<C: GenericClient>(
    client: &mut C,
    tenant: i64,
    slug: &str,
) -> Result<StoredCheckpoint> {
    let row = client
        .query_opt(
            "SELECT size, root, note FROM checkpoints WHERE tenant = $1 ORDER BY size DESC LIMIT 1",
            &[&tenant],
        )
        .map_err(backend)?
        .ok_or_else(|| StoreError::Corrupt(format!("tenant {slug:?} has no signed checkpoint")))?;
    to_checkpoint(&row, || format!("tenant {slug:?}"))
}

/// The stored position of a node, or `None` for a node no log can have
/// (past 2^40 entries).
fn node_position(id: NodeId) -> Option<i64> {
    let level = u32::from(id.level);
    if level > 40 || id.index >= (MAX_ENTRIES >> level) {
        return None;
    }
    Some(id.position() as i64)
}

/// The hashes of `ids`, in one query (a proof needs O(log n) nodes).
pub(crate) fn read_nodes<C: GenericClient>(
    client: &mut C,
    tenant: i64,
    ids: &[NodeId],
) -> Result<Vec<Hash>> {
    let missing = |id: &NodeId| StoreError::NotFound {
        what: format!("tree node level {} index {}", id.level, id.index),
    };
    let mut positions = Vec::with_capacity(ids.len());
    for id in ids {
        positions.push(node_position(*id).ok_or_else(|| missing(id))?);
    }
    if positions.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT position, hash FROM nodes WHERE tenant = $1 AND position = ANY($2)",
            &[&tenant, &positions],
        )
        .map_err(backend)?;
    let mut found: HashMap<i64, Hash> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let position: i64 = col(row, 0)?;
        found.insert(
            position,
            hash_col(row, 1, || format!("tree node at position {position}"))?,
        );
    }
    ids.iter()
        .zip(&positions)
        .map(|(id, p)| found.get(p).copied().ok_or_else(|| missing(id)))
        .collect()
}

/// The smallest string above every string that starts with `prefix`, in
/// byte order (the `"C"` collation the key column uses; UTF-8 byte order is
/// code point order): the prefix with its last character bumped, after
/// dropping trailing U+10FFFF. `None` when every key qualifies.
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

fn to_stored_entry(row: &Row) -> Result<StoredEntry> {
    let seq: i64 = col(row, 0)?;
    let index = seq as u64;
    Ok(StoredEntry {
        index,
        id: hash_col(row, 1, || format!("id of entry {index}"))?,
        content_id: ContentId(hash_col(row, 2, || format!("content id of entry {index}"))?),
        kind: col(row, 3)?,
        bytes: col(row, 4)?,
    })
}

fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`,
    /// or anything else libpq's URL and `key=value` forms say that this
    /// client understands), creates or upgrades the schema, and starts the
    /// writer thread.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with_clock(url, system_clock())
    }

    /// Like [`PostgresStore::open`] with a given clock.
    pub fn open_with_clock(url: &str, clock: Clock) -> Result<Self> {
        let target = Target::parse(url)?;
        let mut client = target.connect()?;
        schema::migrate(&mut client)?;
        let pool = Pool::new(target.clone(), POOL_SIZE);
        let signers: Signers = Arc::default();
        // A bounded queue: callers wait rather than pile up without limit.
        let (tx, rx) = mpsc::sync_channel(4 * POOL_SIZE.max(64));
        let writer = Writer::new(target.clone(), Arc::clone(&signers), clock);
        let writer = std::thread::Builder::new()
            .name("asom-postgres-writer".into())
            .spawn(move || writer.run(&rx))
            .map_err(|e| StoreError::Backend(format!("starting the writer thread: {e}")))?;
        Ok(Self {
            location: target.location,
            pool,
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            signers,
            tenant_ids: TenantIds::default(),
            request_key_claims: AtomicU64::new(0),
        })
    }

    /// The row id of tenant `slug`, from memory once read (one round trip
    /// less per read).
    fn tenant_of(&self, conn: &mut Conn, slug: &str) -> Result<i64> {
        self.tenant_ids.get_or_read(slug, || tenant_of(conn, slug))
    }

    /// Runs `f` on a pooled connection.
    fn read<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Stops the writer after the queued work is done. Dropping the store does the same.
    pub fn close(&self) {
        self.jobs.lock().expect("job queue lock").take();
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            let _ = handle.join();
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// Every how many claims of request keys a process removes the records past
/// their 24 hours.
const PURGE_EVERY: u64 = 1024;

/// The tenant's id through a cached statement.
fn tenant_of(conn: &mut Conn, slug: &str) -> Result<i64> {
    let not_found = || StoreError::NotFound {
        what: format!("tenant {slug:?}"),
    };
    if !storable(slug) {
        return Err(not_found());
    }
    let s = conn.statement("SELECT id FROM tenants WHERE slug = $1")?;
    let row = conn
        .client
        .query_opt(&s, &[&slug])
        .map_err(backend)?
        .ok_or_else(not_found)?;
    col(&row, 0)
}

/// A server-side cursor read a page at a time.
struct Paged {
    portal: postgres::Portal,
    rows: VecDeque<Row>,
    done: bool,
}

impl Paged {
    fn new(tx: &mut postgres::Transaction<'_>, sql: &str, tenant: i64) -> Result<Self> {
        Ok(Self {
            portal: tx.bind(sql, &[&tenant]).map_err(backend)?,
            rows: VecDeque::new(),
            done: false,
        })
    }

    fn next(&mut self, tx: &mut postgres::Transaction<'_>) -> Result<Option<Row>> {
        if self.rows.is_empty() && !self.done {
            let page = tx.query_portal(&self.portal, SCAN_PAGE).map_err(backend)?;
            self.done = page.len() < SCAN_PAGE as usize;
            self.rows.extend(page);
        }
        Ok(self.rows.pop_front())
    }
}

impl Store for PostgresStore {
    fn describe(&self) -> String {
        self.location.clone()
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
        if !storable(&tenant.slug) || !storable(&tenant.origin) || !storable(now) {
            return Err(StoreError::Invalid(
                "a tenant's slug and origin cannot contain NUL characters".into(),
            ));
        }
        let already = || StoreError::AlreadyExists {
            what: format!(
                "tenant {:?} (or its origin {:?})",
                tenant.slug, tenant.origin
            ),
        };
        let checkpoint = self.read(|conn| {
            let mut tx = conn.client.transaction().map_err(backend)?;
            let exists = tx
                .query_opt(
                    "SELECT id FROM tenants WHERE slug = $1 OR origin = $2",
                    &[&tenant.slug, &tenant.origin],
                )
                .map_err(backend)?;
            if exists.is_some() {
                return Err(already());
            }
            let unique = |e: postgres::Error| {
                if is_unique_violation(&e) {
                    already()
                } else {
                    backend(e)
                }
            };
            let row = tx
                .query_one(
                    "INSERT INTO tenants (slug, origin, created_at) VALUES ($1, $2, $3) RETURNING id",
                    &[&tenant.slug, &tenant.origin, &now],
                )
                .map_err(unique)?;
            let id: i64 = col(&row, 0)?;
            tx.execute(
                "INSERT INTO log_keys (tenant, verifier, created_at, active) VALUES ($1, $2, $3, TRUE)",
                &[&id, &signer.verifier().to_string(), &now],
            )
            .map_err(backend)?;
            let empty = Checkpoint {
                origin: tenant.origin.clone(),
                size: 0,
                root: asom_ledger::merkle::empty_root(),
                extensions: Vec::new(),
            };
            let note = empty.sign(&signer).map_err(|e| {
                StoreError::Invalid(format!("signing the first checkpoint: {e}"))
            })?;
            tx.execute(
                "INSERT INTO checkpoints (tenant, size, root, note, created_at) VALUES ($1, 0, $2, $3, $4)",
                &[&id, &empty.root.as_bytes().as_slice(), &note, &now],
            )
            .map_err(backend)?;
            tx.commit().map_err(unique)?;
            Ok(StoredCheckpoint {
                size: 0,
                root: empty.root,
                note,
            })
        })?;
        self.signers
            .write()
            .expect("signer lock")
            .insert(tenant.slug.clone(), signer);
        Ok(checkpoint)
    }

    fn tenant(&self, slug: &str) -> Result<Tenant> {
        self.read(|conn| {
            let not_found = || StoreError::NotFound {
                what: format!("tenant {slug:?}"),
            };
            if !storable(slug) {
                return Err(not_found());
            }
            let s = conn.statement("SELECT slug, origin FROM tenants WHERE slug = $1")?;
            let row = conn
                .client
                .query_opt(&s, &[&slug])
                .map_err(backend)?
                .ok_or_else(not_found)?;
            Ok(Tenant {
                slug: col(&row, 0)?,
                origin: col(&row, 1)?,
            })
        })
    }

    fn tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|conn| {
            conn.client
                .query("SELECT slug, origin FROM tenants ORDER BY slug", &[])
                .map_err(backend)?
                .iter()
                .map(|row| {
                    Ok(Tenant {
                        slug: col(row, 0)?,
                        origin: col(row, 1)?,
                    })
                })
                .collect()
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
        let verifier = verifier.to_string();
        self.read(|conn| {
            let id = self.tenant_of(conn, tenant)?;
            conn.client
                .execute(
                    "INSERT INTO log_keys (tenant, verifier, created_at, active) VALUES ($1, $2, $3, TRUE) \
                     ON CONFLICT (tenant, verifier) DO UPDATE SET active = TRUE",
                    &[&id, &verifier, &now],
                )
                .map_err(backend)?;
            Ok(())
        })
    }

    fn log_keys(&self, tenant: &str) -> Result<Vec<LogKey>> {
        self.read(|conn| {
            let id = self.tenant_of(conn, tenant)?;
            conn.client
                .query(
                    "SELECT verifier, created_at, active FROM log_keys WHERE tenant = $1 \
                     ORDER BY created_at, verifier",
                    &[&id],
                )
                .map_err(backend)?
                .iter()
                .map(|row| {
                    Ok(LogKey {
                        verifier: col(row, 0)?,
                        created_at: col(row, 1)?,
                        active: col(row, 2)?,
                    })
                })
                .collect()
        })
    }

    fn create_principal(&self, tenant: &str, principal: &Principal) -> Result<()> {
        let slug = principal.slug().as_str().to_owned();
        let body =
            serde_json::to_string(principal).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.read(|conn| {
            let id = self.tenant_of(conn, tenant)?;
            let inserted = conn
                .client
                .execute(
                    "INSERT INTO principals (tenant, slug, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&id, &slug, &body],
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
            let id = self.tenant_of(conn, tenant)?;
            let not_found = || StoreError::NotFound {
                what: format!("principal {slug:?}"),
            };
            if !storable(slug) {
                return Err(not_found());
            }
            let s =
                conn.statement("SELECT body FROM principals WHERE tenant = $1 AND slug = $2")?;
            let row = conn
                .client
                .query_opt(&s, &[&id, &slug])
                .map_err(backend)?
                .ok_or_else(not_found)?;
            let body: &str = col(&row, 0)?;
            serde_json::from_str(body)
                .map_err(|e| StoreError::Corrupt(format!("principal {slug:?}: {e}")))
        })
    }

    fn principals(&self, tenant: &str) -> Result<Vec<Principal>> {
        self.read(|conn| {
            let id = self.tenant_of(conn, tenant)?;
            conn.client
                .query(
                    "SELECT slug, body FROM principals WHERE tenant = $1 ORDER BY slug",
                    &[&id],
                )
                .map_err(backend)?
                .iter()
                .map(|row| {
                    let slug: &str = col(row, 0)?;
                    let body: &str = col(row, 1)?;
                    serde_json::from_str(body)
                        .map_err(|e| StoreError::Corrupt(format!("principal {slug:?}: {e}")))
                })
                .collect()
        })
    }

    fn create_token(&self, token: &TokenRecord) -> Result<()> {
        self.read(|conn| {
            let id = self.tenant_of(conn, &token.tenant)?;
            let exists: bool = col(
                &conn
                    .client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM principals WHERE tenant = $1 AND slug = $2)",
                        &[&id, &token.principal],
                    )
                    .map_err(backend)?,
                0,
            )?;
            if !exists {
                return Err(StoreError::NotFound {
                    what: format!("principal {:?}", token.principal),
                });
            }
            conn.client
                .execute(
                    "INSERT INTO tokens (id, digest, tenant, principal, label, created_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL)",
                    &[
                        &token.id,
                        &token.digest,
                        &id,
                        &token.principal,
                        &token.label,
                        &token.created_at,
                    ],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::AlreadyExists {
                            what: format!("token {:?}", token.id),
                        }
                    } else {
                        backend(e)
                    }
                })?;
            Ok(())
        })
    }

    fn token_by_digest(&self, digest: &str) -> Result<(TokenRecord, Principal)> {
        let not_found = || StoreError::NotFound {
            what: "a live token with that secret".into(),
        };
        if !storable(digest) {
            return Err(not_found());
        }
        self.read(|conn| {
            let s = conn.statement(
                "SELECT k.id, k.digest, t.slug, k.principal, k.label, k.created_at, k.revoked_at, p.body \
                 FROM tokens k JOIN tenants t ON t.id = k.tenant \
                 JOIN principals p ON p.tenant = k.tenant AND p.slug = k.principal \
                 WHERE k.digest = $1 AND k.revoked_at IS NULL",
            )?;
            let row = conn
                .client
                .query_opt(&s, &[&digest])
                .map_err(backend)?
                .ok_or_else(not_found)?;
            let record = TokenRecord {
                id: col(&row, 0)?,
                digest: col(&row, 1)?,
                tenant: col(&row, 2)?,
                principal: col(&row, 3)?,
                label: col(&row, 4)?,
                created_at: col(&row, 5)?,
                revoked_at: col(&row, 6)?,
            };
            let body: &str = col(&row, 7)?;
            let principal = serde_json::from_str(body).map_err(|e| {
                StoreError::Corrupt(format!("principal {:?}: {e}", record.principal))
            })?;
            Ok((record, principal))
        })
    }

    fn revoke_token(&self, tenant: &str, id: &str, now: &str) -> Result<()> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            let not_found = || StoreError::NotFound {
                what: format!("live token {id:?}"),
            };
            if !storable(id) {
                return Err(not_found());
            }
            let changed = conn
                .client
                .execute(
                    "UPDATE tokens SET revoked_at = $1 WHERE tenant = $2 AND id = $3 AND revoked_at IS NULL",
                    &[&now, &t, &id],
                )
                .map_err(backend)?;
            if changed == 0 {
                return Err(not_found());
            }
            Ok(())
        })
    }

    fn tokens(&self, tenant: &str) -> Result<Vec<TokenRecord>> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            conn.client
                .query(
                    "SELECT id, digest, principal, label, created_at, revoked_at FROM tokens \
                     WHERE tenant = $1 ORDER BY created_at, id",
                    &[&t],
                )
                .map_err(backend)?
                .iter()
                .map(|row| {
                    Ok(TokenRecord {
                        id: col(row, 0)?,
                        digest: col(row, 1)?,
                        tenant: tenant.to_owned(),
                        principal: col(row, 2)?,
                        label: col(row, 3)?,
                        created_at: col(row, 4)?,
                        revoked_at: col(row, 5)?,
                    })
                })
                .collect()
        })
    }

    fn append(&self, tenant: &str, entries: Vec<NewEntry>) -> Result<Vec<Appended>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let sender = self
            .jobs
            .lock()
            .expect("job queue lock")
            .clone()
            .ok_or_else(|| StoreError::Backend("the store is closed".into()))?;
        sender
            .send(PendingAppend {
                tenant: tenant.to_owned(),
                entries,
                reply,
            })
            .map_err(|_| StoreError::Backend("the store's writer thread has stopped".into()))?;
        answer
            .recv()
            .map_err(|_| StoreError::Backend("the store's writer thread has stopped".into()))?
    }

    fn latest_checkpoint(&self, tenant: &str) -> Result<StoredCheckpoint> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            latest_checkpoint(&mut conn.client, t, tenant)
        })
    }

    fn checkpoint_at(&self, tenant: &str, size: u64) -> Result<StoredCheckpoint> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            let not_found = || StoreError::NotFound {
                what: format!("a signed checkpoint at size {size}"),
            };
            let size = i64::try_from(size).map_err(|_| not_found())?;
            let s = conn.statement(
                "SELECT size, root, note FROM checkpoints WHERE tenant = $1 AND size = $2",
            )?;
            let row = conn
                .client
                .query_opt(&s, &[&t, &size])
                .map_err(backend)?
                .ok_or_else(not_found)?;
            to_checkpoint(&row, || format!("tenant {tenant:?}"))
        })
    }

    fn checkpoints(&self, tenant: &str) -> Result<Vec<StoredCheckpoint>> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            conn.client
                .query(
                    "SELECT size, root, note FROM checkpoints WHERE tenant = $1 ORDER BY size",
                    &[&t],
                )
                .map_err(backend)?
                .iter()
                .map(|row| to_checkpoint(row, || format!("tenant {tenant:?}")))
                .collect()
        })
    }

    fn entry_at(&self, tenant: &str, index: u64) -> Result<StoredEntry> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            let not_found = || StoreError::NotFound {
                what: format!("entry {index} of tenant {tenant:?}"),
            };
            let seq = i64::try_from(index).map_err(|_| not_found())?;
            let s = conn.statement(
                "SELECT seq, id, content_id, kind, body FROM entries WHERE tenant = $1 AND seq = $2",
            )?;
            let row = conn
                .client
                .query_opt(&s, &[&t, &seq])
                .map_err(backend)?
                .ok_or_else(not_found)?;
            to_stored_entry(&row)
        })
    }

    fn entry_by_id(&self, tenant: &str, id: &Hash) -> Result<StoredEntry> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            let s = conn.statement(
                "SELECT seq, id, content_id, kind, body FROM entries WHERE tenant = $1 AND id = $2",
            )?;
            let row = conn
                .client
                .query_opt(&s, &[&t, &id.as_bytes().as_slice()])
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("entry with id {id} in tenant {tenant:?}"),
                })?;
            to_stored_entry(&row)
        })
    }

    fn entry_by_content(&self, tenant: &str, content_id: &ContentId) -> Result<StoredEntry> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            let s = conn.statement(
                "SELECT seq, id, content_id, kind, body FROM entries WHERE tenant = $1 AND content_id = $2",
            )?;
            let row = conn
                .client
                .query_opt(&s, &[&t, &content_id.0.as_bytes().as_slice()])
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("entry with content id {content_id} in tenant {tenant:?}"),
                })?;
            to_stored_entry(&row)
        })
    }

    fn read_nodes(&self, tenant: &str, ids: &[NodeId]) -> Result<Vec<Hash>> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            read_nodes(&mut conn.client, t, ids)
        })
    }

    fn entries_with_key(
        &self,
        tenant: &str,
        key: &str,
        before: Option<u64>,
    ) -> Result<Vec<StoredEntry>> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            if !storable(key) {
                return Ok(Vec::new());
            }
            let s = conn.statement(
                "SELECT e.seq, e.id, e.content_id, e.kind, e.body FROM entry_keys k \
                 JOIN entries e ON e.tenant = k.tenant AND e.seq = k.entry \
                 WHERE k.tenant = $1 AND k.key = $2 AND k.entry < $3 ORDER BY k.entry",
            )?;
            conn.client
                .query(&s, &[&t, &key, &before_bound(before)])
                .map_err(backend)?
                .iter()
                .map(to_stored_entry)
                .collect()
        })
    }

    fn count_with_key(&self, tenant: &str, key: &str, before: Option<u64>) -> Result<u64> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            if !storable(key) {
                return Ok(0);
            }
            let s = conn.statement(
                "SELECT COUNT(*) FROM entry_keys WHERE tenant = $1 AND key = $2 AND entry < $3",
            )?;
            let row = conn
                .client
                .query_one(&s, &[&t, &key, &before_bound(before)])
                .map_err(backend)?;
            let n: i64 = col(&row, 0)?;
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
            let t = self.tenant_of(conn, tenant)?;
            if !storable(prefix) {
                return Ok(Vec::new());
            }
            let head = "SELECT k.key, k.entry, e.id FROM entry_keys k \
                        JOIN entries e ON e.tenant = k.tenant AND e.seq = k.entry \
                        WHERE k.tenant = $1 AND k.entry < $2 AND k.key >= $3";
            let rows = match prefix_upper_bound(prefix) {
                Some(upper) => conn.client.query(
                    &format!("{head} AND k.key < $4 ORDER BY k.key, k.entry"),
                    &[&t, &before_bound(before), &prefix, &upper],
                ),
                None => conn.client.query(
                    &format!("{head} ORDER BY k.key, k.entry"),
                    &[&t, &before_bound(before), &prefix],
                ),
            }
            .map_err(backend)?;
            rows.iter()
                .map(|row| {
                    let entry: i64 = col(row, 1)?;
                    let index = entry as u64;
                    Ok((
                        col(row, 0)?,
                        index,
                        hash_col(row, 2, || format!("id of entry {index}"))?,
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
        // One row per key from the index (tenant, key, entry); the entries
        // table is never touched.
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            if !storable(prefix) {
                return Ok(Vec::new());
            }
            let head = "SELECT key, array_agg(entry ORDER BY entry) FROM entry_keys \
                        WHERE tenant = $1 AND entry < $2 AND key >= $3";
            let rows = match prefix_upper_bound(prefix) {
                Some(upper) => conn.client.query(
                    &format!("{head} AND key < $4 GROUP BY key ORDER BY key"),
                    &[&t, &before_bound(before), &prefix, &upper],
                ),
                None => conn.client.query(
                    &format!("{head} GROUP BY key ORDER BY key"),
                    &[&t, &before_bound(before), &prefix],
                ),
            }
            .map_err(backend)?;
            rows.iter()
                .map(|row| {
                    let entries: Vec<i64> = col(row, 1)?;
                    Ok((
                        col(row, 0)?,
                        entries.into_iter().map(|e| e as u64).collect(),
                    ))
                })
                .collect()
        })
    }

    fn keys_with_prefix(&self, tenant: &str, prefix: &str) -> Result<Vec<String>> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            if !storable(prefix) {
                return Ok(Vec::new());
            }
            let head = "SELECT DISTINCT key FROM entry_keys WHERE tenant = $1 AND key >= $2";
            let rows = match prefix_upper_bound(prefix) {
                Some(upper) => conn.client.query(
                    &format!("{head} AND key < $3 ORDER BY key"),
                    &[&t, &prefix, &upper],
                ),
                None => conn
                    .client
                    .query(&format!("{head} ORDER BY key"), &[&t, &prefix]),
            }
            .map_err(backend)?;
            rows.iter().map(|row| col(row, 0)).collect()
        })
    }

    fn claim_request_key(
        &self,
        key: &RequestKey<'_>,
        fingerprint: &Hash,
        lease: std::time::Duration,
    ) -> Result<Option<KeyClaim>> {
        if !storable(key.principal) || !storable(key.key) {
            return Err(StoreError::Invalid(
                "an Idempotency-Key cannot hold a NUL character".into(),
            ));
        }
        self.read(|conn| {
            let t = self.tenant_of(conn, key.tenant)?;
            // Now and then, remove the records past their 24 hours.
            if self
                .request_key_claims
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(PURGE_EVERY) {
                conn.client
                    .execute(
                        "DELETE FROM request_keys WHERE claimed_at < now() - interval '24 hours'",
                        &[],
                    )
                    .map_err(backend)?;
            }
            // A new claim; or one over a record past its 24 hours; or over a
            // claim of the same request never settled within the lease (its
            // process died).
            let claim = conn.statement(
                "INSERT INTO request_keys (tenant, principal, key, fingerprint) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant, principal, key) DO UPDATE \
                 SET fingerprint = EXCLUDED.fingerprint, claimed_at = now(), status = NULL, body = NULL \
                 WHERE request_keys.claimed_at < now() - interval '24 hours' \
                    OR (request_keys.status IS NULL \
                        AND request_keys.fingerprint = EXCLUDED.fingerprint \
                        AND request_keys.claimed_at < now() - make_interval(secs => $5)) \
                 RETURNING true",
            )?;
            let fingerprint = fingerprint.as_bytes().as_slice();
            let claimed = conn
                .client
                .query_opt(
                    &claim,
                    &[&t, &key.principal, &key.key, &fingerprint, &lease.as_secs_f64()],
                )
                .map_err(backend)?
                .is_some();
            if claimed {
                return Ok(Some(KeyClaim::Claimed));
            }
            let read = conn.statement(
                "SELECT fingerprint, status, body FROM request_keys \
                 WHERE tenant = $1 AND principal = $2 AND key = $3",
            )?;
            let Some(row) = conn
                .client
                .query_opt(&read, &[&t, &key.principal, &key.key])
                .map_err(backend)?
            else {
                // Released between the two statements: the client retries.
                return Ok(Some(KeyClaim::Running));
            };
            if col::<&[u8]>(&row, 0)? != fingerprint {
                return Ok(Some(KeyClaim::OtherRequest));
            }
            Ok(Some(match col::<Option<i32>>(&row, 1)? {
                None => KeyClaim::Running,
                Some(status) => KeyClaim::Done {
                    status: u16::try_from(status).map_err(|_| {
                        StoreError::Corrupt(format!("request key status {status}"))
                    })?,
                    body: col::<Option<Vec<u8>>>(&row, 2)?.unwrap_or_default(),
                },
            }))
        })
    }

    fn settle_request_key(&self, key: &RequestKey<'_>, answer: Option<(u16, &[u8])>) -> Result<()> {
        self.read(|conn| {
            let t = self.tenant_of(conn, key.tenant)?;
            if let Some((status, body)) = answer {
                let keep = conn.statement(
                    "UPDATE request_keys SET status = $4, body = $5 \
                     WHERE tenant = $1 AND principal = $2 AND key = $3 AND status IS NULL",
                )?;
                conn.client
                    .execute(
                        &keep,
                        &[&t, &key.principal, &key.key, &i32::from(status), &body],
                    )
                    .map_err(backend)?;
            } else {
                let release = conn.statement(
                    "DELETE FROM request_keys \
                     WHERE tenant = $1 AND principal = $2 AND key = $3 AND status IS NULL",
                )?;
                conn.client
                    .execute(&release, &[&t, &key.principal, &key.key])
                    .map_err(backend)?;
            }
            Ok(())
        })
    }

    #[allow(clippy::too_many_lines)] // Three cursors merged in one pass; splitting would hide the order.
    fn scan_log(&self, tenant: &str, visitor: &mut dyn LogVisitor) -> Result<()> {
        self.read(|conn| {
            let t = self.tenant_of(conn, tenant)?;
            // One snapshot for checkpoints, entries, keys and nodes.
            let mut tx = conn
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(backend)?;
            let checkpoints = tx
                .query(
                    "SELECT size, root, note FROM checkpoints WHERE tenant = $1 ORDER BY size",
                    &[&t],
                )
                .map_err(backend)?
                .iter()
                .map(|row| to_checkpoint(row, || format!("tenant {tenant:?}")))
                .collect::<Result<Vec<_>>>()?;
            visitor.checkpoints(checkpoints)?;
            let mut entries = Paged::new(
                &mut tx,
                "SELECT seq, body, id, content_id, kind FROM entries WHERE tenant = $1 ORDER BY seq",
                t,
            )?;
            let mut nodes = Paged::new(
                &mut tx,
                "SELECT position, hash FROM nodes WHERE tenant = $1 ORDER BY position",
                t,
            )?;
            let mut key_rows = Paged::new(
                &mut tx,
                "SELECT entry, key FROM entry_keys WHERE tenant = $1 ORDER BY entry, key",
                t,
            )?;
            let next_node = |nodes: &mut Paged,
                             tx: &mut postgres::Transaction<'_>|
             -> Result<Option<(u64, Hash)>> {
                let Some(row) = nodes.next(tx)? else {
                    return Ok(None);
                };
                let position: i64 = col(&row, 0)?;
                let position = position as u64;
                Ok(Some((
                    position,
                    hash_col(&row, 1, || format!("tree node at position {position}"))?,
                )))
            };
            let next_key = |rows: &mut Paged,
                            tx: &mut postgres::Transaction<'_>|
             -> Result<Option<(i64, String)>> {
                match rows.next(tx)? {
                    Some(row) => Ok(Some((col(&row, 0)?, col(&row, 1)?))),
                    None => Ok(None),
                }
            };
            let mut peeked = next_node(&mut nodes, &mut tx)?;
            let mut peeked_key = next_key(&mut key_rows, &mut tx)?;
            let mut keys: Vec<String> = Vec::new();
            let mut created = Vec::with_capacity(64);
            while let Some(row) = entries.next(&mut tx)? {
                let seq: i64 = col(&row, 0)?;
                let index = seq as u64;
                let body: &[u8] = col(&row, 1)?;
                let end = 2 * (index + 1) - u64::from((index + 1).count_ones());
                created.clear();
                while let Some((position, hash)) = peeked {
                    if position >= end {
                        break;
                    }
                    created.push((position, hash));
                    peeked = next_node(&mut nodes, &mut tx)?;
                }
                let id = hash_col(&row, 2, || format!("id of entry {index}"))?;
                let content_id =
                    ContentId(hash_col(&row, 3, || format!("content id of entry {index}"))?);
                let kind: &str = col(&row, 4)?;
                keys.clear();
                while let Some((entry, key)) = peeked_key.take() {
                    if entry > seq {
                        peeked_key = Some((entry, key));
                        break;
                    }
                    if entry < seq {
                        return Err(StoreError::Corrupt(format!(
                            "index key {key:?} is stored for entry {entry}, which is not in the log"
                        )));
                    }
                    keys.push(key);
                    peeked_key = next_key(&mut key_rows, &mut tx)?;
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
                peeked = next_node(&mut nodes, &mut tx)?;
            }
            tx.commit().map_err(backend)
        })
    }
}
