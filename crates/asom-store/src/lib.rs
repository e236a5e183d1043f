//! The storage boundary of asom: the [`Store`] trait every backend implements,
//! the records it stores, and its errors.
//!
//! A store holds, per tenant, one append-only Merkle log (its entries, every
//! complete tree node, every signed checkpoint), the log's public keys, and
//! the principals and hashed tokens that act on it. Backends are chosen once
//! at start-up from the store URL; the embedded default is `SQLite`
//! (`asom-store-sqlite`).
//!
//! What every backend must guarantee is written down once, as the
//! [`conformance`] story (feature `conformance`), and each backend's tests run it:
//!
//! - an acknowledged append survives a crash;
//! - appends are sequenced per tenant and never fork the log: a checkpoint is
//!   only signed for a tree that extends the previous signed one;
//! - the same content submitted twice to a tenant yields the first entry;
//! - proofs cost O(log n) node reads.
//!
//! The store never sees a private key's bytes except through the
//! [`asom_ledger::note::NoteSigner`] a caller registers for a tenant.

use std::sync::Arc;

use asom_core::principal::Principal;
use asom_ledger::Hash;
use asom_ledger::merkle::NodeId;
use asom_ledger::note::{NoteSigner, NoteVerifier};

mod entry;
mod verification;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use entry::{
    ContentId, ENTRY_FORMAT_VERSION, EntryError, EntryParts, MAX_KEYS, NewEntry, build_entry_bytes,
    content_id_of, split_entry,
};
pub use verification::{VerifyFailure, open_checkpoint, verify_tenant_log};

/// Whose `Idempotency-Key` a record is: keys are per tenant and principal.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    /// The tenant's slug.
    pub tenant: &'a str,
    /// The principal the request was authenticated as.
    pub principal: &'a str,
    /// The `Idempotency-Key` header's value.
    pub key: &'a str,
}

/// What claiming an `Idempotency-Key` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is this request's: run it, then settle the key.
    Claimed,
    /// The key's first request is still running.
    Running,
    /// The key's first request was answered: send this again.
    Done {
        /// The HTTP status answered.
        status: u16,
        /// The body answered.
        body: Vec<u8>,
    },
    /// The key was used with another operation or body.
    OtherRequest,
}

/// A backend's tenant slugs and their row ids, filled as they are read. A
/// tenant's id never changes once created and tenants are never deleted, so
/// an id read once holds for the life of the process (in every process);
/// only ids that exist are kept.
#[derive(Default)]
pub struct TenantIds(std::sync::RwLock<std::collections::HashMap<String, i64>>);

impl TenantIds {
    /// The id of `slug`, from memory, or from `read` once.
    pub fn get_or_read(&self, slug: &str, read: impl FnOnce() -> Result<i64>) -> Result<i64> {
        if let Some(id) = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(slug)
        {
            return Ok(*id);
        }
        let id = read()?;
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(slug.to_owned(), id);
        Ok(id)
    }
}

/// Everything that can go wrong in a store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up, e.g. `entry 17 of tenant "default"`.
        what: String,
    },
    /// The thing to create exists already.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What collided.
        what: String,
    },
    /// The request is not valid for the store's state.
    #[error("{0}")]
    Invalid(String),
    /// No signing key is registered for the tenant, so nothing can be appended.
    #[error(
        "no log signing key is loaded for tenant {tenant:?}; check the key file under the asom directory (asom init creates it)"
    )]
    NoSigner {
        /// The tenant.
        tenant: String,
    },
    /// The stored tree disagrees with the last signed checkpoint; the store
    /// refuses to sign anything on top of it.
    #[error(
        "refusing to sign: the stored tree of tenant {tenant:?} at size {size} has root {computed}, \
         but the last signed checkpoint says {signed}; run `asom ledger verify` to locate the damage"
    )]
    Fork {
        /// The tenant.
        tenant: String,
        /// The tree size.
        size: u64,
        /// Root recomputed from stored nodes.
        computed: Hash,
        /// Root of the last signed checkpoint.
        signed: Hash,
    },
    /// An append's expectation did not hold: another writer got there first.
    /// Re-read and decide again.
    #[error(
        "{key:?} has {actual} entries, not the {expected} this change was based on; \
         another change got there first, so re-read and try again"
    )]
    Conflict {
        /// The index key.
        key: String,
        /// The count the append expected.
        expected: u64,
        /// The count found.
        actual: u64,
    },
    /// Stored data is not what the store wrote (tampering or corruption).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, SQL, connection).
    #[error("storage backend: {0}")]
    Backend(String),
}

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A tenant: an organisation with its own log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Short name, e.g. `default`.
    pub slug: String,
    /// The log's origin line in checkpoints (C2SP tlog-checkpoint), stable
    /// for the life of the log, e.g. `asom.local/3f9a…/default`.
    pub origin: String,
}

/// A public key that has signed or may sign a tenant's checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    /// The verifier key in note format `<name>+<hex id>+<base64>`.
    pub verifier: String,
    /// When it was registered (RFC 3339).
    pub created_at: String,
    /// Whether new checkpoints are signed with it.
    pub active: bool,
}

/// A bearer token as stored: only its digest, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public identifier (shown in listings, used to revoke).
    pub id: String,
    /// Hex SHA-256 of the secret.
    pub digest: String,
    /// Tenant the principal belongs to.
    pub tenant: String,
    /// Principal the token acts as.
    pub principal: String,
    /// Free text.
    pub label: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// One stored ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Position in the tenant's log.
    pub index: u64,
    /// Hex SHA-256 of [`StoredEntry::bytes`]: the entry's id.
    pub id: Hash,
    /// Digest of what was submitted (kind + content); the idempotency key.
    pub content_id: ContentId,
    /// The entry's kind, e.g. `record`, `evidence`, `decision`.
    pub kind: String,
    /// The entry exactly as hashed into the log: RFC 8785 canonical JSON.
    pub bytes: Vec<u8>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash at that size.
    pub root: Hash,
    /// The whole signed note (C2SP tlog-checkpoint).
    pub note: String,
}

/// What an append did for one submitted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The entry's index.
    pub index: u64,
    /// The entry's id.
    pub id: Hash,
    /// The submitted content's digest.
    pub content_id: ContentId,
    /// True when this content was already in the log: `index`/`id` are the
    /// first entry's, and nothing was written.
    pub duplicate: bool,
    /// The size of the first signed checkpoint that covered the entry: this
    /// batch's for a new entry, the original batch's for a duplicate, so a
    /// repeated submission gets back exactly its first receipt.
    pub checkpoint_size: u64,
}

/// Receives progress while a long scan runs.
pub trait Progress {
    /// `done` of `total` units are finished.
    fn advance(&mut self, done: u64, total: u64);
}

impl<F: FnMut(u64, u64)> Progress for F {
    fn advance(&mut self, done: u64, total: u64) {
        self(done, total);
    }
}

/// One entry as a whole-log scan hands it over.
#[derive(Debug, Clone, Copy)]
pub struct ScannedEntry<'a> {
    /// Position in the log.
    pub index: u64,
    /// The stored canonical bytes.
    pub bytes: &'a [u8],
    /// The id the store holds for it (to be checked against the bytes).
    pub id: Hash,
    /// The content id the store holds for it (likewise).
    pub content_id: ContentId,
    /// The kind the store holds for it (likewise).
    pub kind: &'a str,
    /// The index keys the store holds for it, sorted (likewise).
    pub keys: &'a [String],
    /// The stored nodes whose creation this entry completes: every node with
    /// a [`NodeId::position`] below `2(i+1) - popcount(i+1)` not yet handed
    /// over, as `(position, hash)`.
    pub nodes: &'a [(u64, Hash)],
}

/// Receives a tenant's log in order, for whole-log verification and export.
/// Everything a scan hands over comes from one consistent snapshot.
pub trait LogVisitor {
    /// Called first, with every signed checkpoint of the snapshot, by size.
    fn checkpoints(&mut self, checkpoints: Vec<StoredCheckpoint>) -> Result<()>;
    /// Called once per entry, in index order.
    fn entry(&mut self, entry: &ScannedEntry<'_>) -> Result<()>;
    /// Called for each stored node left over after the last entry.
    fn extra_node(&mut self, position: u64, hash: Hash) -> Result<()>;
}

/// The storage every asom backend implements. Backends are `Send + Sync` and
/// do their own internal locking; calls block until durable.
pub trait Store: Send + Sync {
    /// The backend's name and location, for `asom doctor` and logs (no secrets).
    fn describe(&self) -> String;

    // --- tenants and keys ---

    /// Creates a tenant and its empty log (whose empty checkpoint is signed
    /// by the signer, which is registered for the tenant).
    fn create_tenant(
        &self,
        tenant: &Tenant,
        signer: Arc<NoteSigner>,
        now: &str,
    ) -> Result<StoredCheckpoint>;
    /// One tenant.
    fn tenant(&self, slug: &str) -> Result<Tenant>;
    /// All tenants, by slug.
    fn tenants(&self) -> Result<Vec<Tenant>>;
    /// Registers the key this process signs the tenant's checkpoints with.
    /// Its verifier must be one of the tenant's log keys.
    fn register_signer(&self, tenant: &str, signer: Arc<NoteSigner>) -> Result<()>;
    /// Adds a public key for a tenant (key rotation); `active` keys sign.
    fn add_log_key(&self, tenant: &str, verifier: &NoteVerifier, now: &str) -> Result<()>;
    /// A tenant's log keys, oldest first.
    fn log_keys(&self, tenant: &str) -> Result<Vec<LogKey>>;

    // --- principals and tokens ---

    /// Creates a principal.
    fn create_principal(&self, tenant: &str, principal: &Principal) -> Result<()>;
    /// One principal.
    fn principal(&self, tenant: &str, slug: &str) -> Result<Principal>;
    /// A tenant's principals, by slug.
    fn principals(&self, tenant: &str) -> Result<Vec<Principal>>;
    /// Stores a token (its digest only).
    fn create_token(&self, token: &TokenRecord) -> Result<()>;
    /// The live token with this digest and its principal.
    fn token_by_digest(&self, digest: &str) -> Result<(TokenRecord, Principal)>;
    /// Revokes a token by id.
    fn revoke_token(&self, tenant: &str, id: &str, now: &str) -> Result<()>;
    /// A tenant's tokens (digests only).
    fn tokens(&self, tenant: &str) -> Result<Vec<TokenRecord>>;

    // --- the ledger ---

    /// Appends entries to the tenant's log in one durable batch with one
    /// signed checkpoint. Concurrent callers may share a batch (group commit).
    /// Content already in the log is not appended again; its first entry is
    /// returned with `duplicate = true`. The entries' expectations
    /// ([`NewEntry::expecting`]) are all checked against the log as it is just
    /// before this call's entries; if one fails, none of them is appended and
    /// the call fails with [`StoreError::Conflict`].
    fn append(&self, tenant: &str, entries: Vec<NewEntry>) -> Result<Vec<Appended>>;
    /// The latest signed checkpoint (its size is the log size).
    fn latest_checkpoint(&self, tenant: &str) -> Result<StoredCheckpoint>;
    /// The signed checkpoint of exactly this size, if one was signed.
    fn checkpoint_at(&self, tenant: &str, size: u64) -> Result<StoredCheckpoint>;
    /// Every signed checkpoint, by size.
    fn checkpoints(&self, tenant: &str) -> Result<Vec<StoredCheckpoint>>;
    /// The entry at `index`.
    fn entry_at(&self, tenant: &str, index: u64) -> Result<StoredEntry>;
    /// The entry whose id is `id`.
    fn entry_by_id(&self, tenant: &str, id: &Hash) -> Result<StoredEntry>;
    /// The entry whose submitted content has this digest.
    fn entry_by_content(&self, tenant: &str, content_id: &ContentId) -> Result<StoredEntry>;
    /// The entries carrying index key `key`, in log order, among the first
    /// `before` entries of the log (all of them when `None`): what a key's
    /// state was at any earlier log size.
    fn entries_with_key(
        &self,
        tenant: &str,
        key: &str,
        before: Option<u64>,
    ) -> Result<Vec<StoredEntry>>;
    /// How many entries carry `key` among the first `before` entries.
    fn count_with_key(&self, tenant: &str, key: &str, before: Option<u64>) -> Result<u64>;
    /// Every `(key, entry index, entry id)` whose key starts with `prefix`,
    /// among the first `before` entries, sorted by key then index. Lets a
    /// caller read a summary encoded in keys without reading the entries.
    fn keyed_with_prefix(
        &self,
        tenant: &str,
        prefix: &str,
        before: Option<u64>,
    ) -> Result<Vec<(String, u64, Hash)>>;
    /// The distinct index keys starting with `prefix`, each with the indexes
    /// of its entries among the first `before` entries, ascending; sorted by
    /// key. The cheap form of [`Store::keyed_with_prefix`] for summaries read
    /// per key (no entry is touched). The default groups `keyed_with_prefix`.
    fn key_groups(
        &self,
        tenant: &str,
        prefix: &str,
        before: Option<u64>,
    ) -> Result<Vec<(String, Vec<u64>)>> {
        let mut out: Vec<(String, Vec<u64>)> = Vec::new();
        for (key, index, _) in self.keyed_with_prefix(tenant, prefix, before)? {
            match out.last_mut() {
                Some((last, indexes)) if *last == key => indexes.push(index),
                _ => out.push((key, vec![index])),
            }
        }
        Ok(out)
    }
    /// The distinct index keys starting with `prefix`, sorted.
    fn keys_with_prefix(&self, tenant: &str, prefix: &str) -> Result<Vec<String>>;
    /// Stored tree nodes, in the order asked. A missing node is `NotFound`.
    fn read_nodes(&self, tenant: &str, ids: &[NodeId]) -> Result<Vec<Hash>>;
    /// Streams the whole log (entries, then nodes) to `visitor`.
    fn scan_log(&self, tenant: &str, visitor: &mut dyn LogVisitor) -> Result<()>;

    // --- shared Idempotency-Key records ---

    /// Claims an `Idempotency-Key` for a request whose operation and body
    /// digest to `fingerprint`, in storage that every process on this backend
    /// shares. `Ok(None)`: the backend keeps no such records (the default;
    /// the server then keeps keys in its own memory). A claim older than
    /// `lease` that was never settled (its process died) is taken over by
    /// the same request; records older than 24 hours are gone.
    fn claim_request_key(
        &self,
        key: &RequestKey<'_>,
        fingerprint: &Hash,
        lease: std::time::Duration,
    ) -> Result<Option<KeyClaim>> {
        let _ = (key, fingerprint, lease);
        Ok(None)
    }

    /// Settles a key this process claimed: keeps the answer (`Some`) for
    /// retries, or releases the key (`None`) so that a retry runs again.
    fn settle_request_key(&self, key: &RequestKey<'_>, answer: Option<(u16, &[u8])>) -> Result<()> {
        let _ = (key, answer);
        Ok(())
    }
}

/// A [`asom_ledger::merkle::NodeReader`] over one tenant of a store.
pub struct TenantNodes<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The tenant.
    pub tenant: &'a str,
}

impl asom_ledger::merkle::NodeReader for TenantNodes<'_> {
    type Error = StoreError;
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        self.store.read_nodes(self.tenant, ids)
    }
}

impl TenantNodes<'_> {
    /// The bytes of a tlog-tiles hash tile: its nodes' hashes, concatenated.
    /// The nodes must exist (the tile must lie within the signed tree).
    pub fn tile(&self, tile: asom_ledger::tiles::TileId) -> Result<Vec<u8>> {
        use asom_ledger::merkle::NodeReader as _;
        Ok(self
            .read_nodes(&tile.nodes())?
            .iter()
            .flat_map(|h| h.0)
            .collect())
    }

    /// The bytes of a tlog-tiles entry bundle for the entries a level-0
    /// tile covers. An entry over 65,535 bytes cannot be bundled.
    pub fn entry_bundle(&self, tile: asom_ledger::tiles::TileId) -> Result<Vec<u8>> {
        let mut entries = Vec::with_capacity(usize::from(tile.width));
        for i in tile.entry_range() {
            entries.push(self.store.entry_at(self.tenant, i)?.bytes);
        }
        asom_ledger::tiles::entry_bundle(entries.iter().map(Vec::as_slice))
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", tile.entries_path())))
    }
}
