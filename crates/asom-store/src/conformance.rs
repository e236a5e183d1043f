//! The conformance story: what every [`Store`] backend must do, written once
//! against the trait so that SQLite and PostgreSQL are held to the same word.
//!
//! A backend's tests implement [`Backend`] (a fresh, empty database per call)
//! and [`Database`] (handles on one database that share its data and nothing
//! else, like two processes or two server replicas), then run every story in
//! [`STORIES`], usually one test per story so they run in parallel:
//!
//! ```ignore
//! #[test]
//! fn conformance() {
//!     asom_store::conformance::run_all(&MyBackend::new());
//! }
//! ```
//!
//! Each story panics with a message that names the broken promise. Every story
//! ends by verifying each log it wrote with [`verify_tenant_log`].
//!
//! What the stories check, and what they leave to backends' own tests:
//!
//! - tenants, log keys, signers and key rotation ([`story_tenants`],
//!   [`story_signers_and_key_rotation`]);
//! - principals and hashed tokens ([`story_principals_and_tokens`]);
//! - appends: dense indexes per tenant, the exact stored bytes, idempotency on
//!   the submitted content ([`story_appends`]);
//! - one signed checkpoint per committed batch, never a fork
//!   ([`story_checkpoints`]);
//! - proofs from stored nodes, at O(log n) node reads ([`story_proofs`]);
//! - group commit under 64 concurrent writers, and two handles appending to
//!   one database ([`story_concurrent_appends`], [`story_two_handles`]);
//! - index keys: inside the hashed entry, and the index built from them read
//!   by key, as of any older log size, and by prefix, per tenant
//!   ([`story_index_keys`], [`story_key_prefixes`]);
//! - expectations (optimistic concurrency): a call whose expectation fails
//!   is refused whole with `Conflict`, a repeated call gets its first
//!   receipts, and of racing calls expecting the same state exactly one wins
//!   ([`story_expectations`], [`story_concurrent_expectations`]).
//!
//! Crash safety and tampering with the stored bytes need the backend's own
//! files or SQL, so each backend tests them itself.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier, Mutex};

use asom_core::principal::{AgentKind, Principal, Role, Slug, token_digest};
use asom_ledger::Hash;
use asom_ledger::checkpoint::Checkpoint;
use asom_ledger::merkle::{
    MemoryTree, NodeId, NodeReader, consistency_proof, empty_root, inclusion_proof, leaf_hash,
    verify_consistency, verify_inclusion,
};
use asom_ledger::note::{Note, NoteSigner, NoteVerifier};
use asom_ledger::verify::Verified;
use serde_json::{Value, json};

use crate::{
    Appended, NewEntry, Store, StoreError, StoredCheckpoint, StoredEntry, Tenant, TenantNodes,
    TokenRecord, build_entry_bytes, open_checkpoint, split_entry, verify_tenant_log,
};

/// A backend under test: hands out fresh, empty databases.
pub trait Backend: Sync {
    /// A new, empty database, independent of every other one.
    fn new_database(&self) -> Box<dyn Database>;
}

/// One database of a backend (a SQLite file, a PostgreSQL schema).
pub trait Database {
    /// Opens a new handle on this database. Handles share the stored data and
    /// nothing else, in particular not the signers registered on them, as two
    /// processes or two server replicas would.
    fn open(&self) -> Box<dyn Store>;
}

/// One chapter of the story.
#[derive(Clone, Copy)]
pub struct Story {
    /// The story's name, the suffix of its function's name.
    pub name: &'static str,
    /// Runs it on an empty database.
    pub run: fn(&dyn Database),
}

/// Every story, in the order [`run_all`] runs them.
pub const STORIES: &[Story] = &[
    Story {
        name: "tenants",
        run: story_tenants,
    },
    Story {
        name: "signers_and_key_rotation",
        run: story_signers_and_key_rotation,
    },
    Story {
        name: "principals_and_tokens",
        run: story_principals_and_tokens,
    },
    Story {
        name: "appends",
        run: story_appends,
    },
    Story {
        name: "checkpoints",
        run: story_checkpoints,
    },
    Story {
        name: "proofs",
        run: story_proofs,
    },
    Story {
        name: "concurrent_appends",
        run: story_concurrent_appends,
    },
    Story {
        name: "two_handles",
        run: story_two_handles,
    },
    Story {
        name: "index_keys",
        run: story_index_keys,
    },
    Story {
        name: "key_prefixes",
        run: story_key_prefixes,
    },
    Story {
        name: "expectations",
        run: story_expectations,
    },
    Story {
        name: "concurrent_expectations",
        run: story_concurrent_expectations,
    },
];

/// Runs every story, each on a new database of `backend`.
pub fn run_all(backend: &dyn Backend) {
    for story in STORIES {
        let db = backend.new_database();
        (story.run)(&*db);
    }
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// Times the stories hand to the store, in increasing order.
const T0: &str = "2026-01-01T00:00:00.000Z";
const T1: &str = "2026-01-02T00:00:00.000Z";
const T2: &str = "2026-01-03T00:00:00.000Z";

/// The origin of a test tenant's log.
fn origin(slug: &str) -> String {
    format!("asom.test/conformance/{slug}")
}

/// A log key for `slug`'s log from a one-byte seed (test keys only).
fn log_key(slug: &str, seed: u8) -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed(&origin(slug), [seed; 32]).expect("test key names are valid"))
}

/// The tenant `slug` with its origin.
fn tenant(slug: &str) -> Tenant {
    Tenant {
        slug: slug.to_owned(),
        origin: origin(slug),
    }
}

/// Creates tenant `slug` signed by a key from `seed` and returns the key.
fn create_tenant(store: &dyn Store, slug: &str, seed: u8) -> Arc<NoteSigner> {
    let key = log_key(slug, seed);
    store
        .create_tenant(&tenant(slug), Arc::clone(&key), T0)
        .unwrap_or_else(|e| panic!("creating tenant {slug:?}: {e}"));
    key
}

/// A submission of `content` of `kind` by `by`.
fn submission(kind: &str, content: &Value, by: &str) -> NewEntry {
    NewEntry::new(kind, content, by).expect("test submissions are valid")
}

/// A `record` submission numbered `n`, tagged so that stories do not collide.
fn numbered(tag: &str, n: u64) -> NewEntry {
    submission("record", &json!({"story": tag, "n": n}), "ci-bot")
}

/// Appends and panics with context on failure.
fn append(store: &dyn Store, slug: &str, entries: Vec<NewEntry>) -> Vec<Appended> {
    let count = entries.len();
    let out = store
        .append(slug, entries)
        .unwrap_or_else(|e| panic!("appending {count} entries to {slug:?}: {e}"));
    assert_eq!(
        out.len(),
        count,
        "append must answer once per submitted entry"
    );
    out
}

/// The log's size according to its latest signed checkpoint.
fn log_size(store: &dyn Store, slug: &str) -> u64 {
    store
        .latest_checkpoint(slug)
        .expect("latest checkpoint")
        .size
}

/// Verifies a tenant's whole log, or panics naming the damage.
fn verify(store: &dyn Store, slug: &str) -> Verified {
    verify_tenant_log(store, slug, &mut |_: u64, _: u64| {})
        .unwrap_or_else(|e| panic!("the log of tenant {slug:?} does not verify: {e}"))
}

/// The error of `result`, or a panic saying what should have failed.
fn refused<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) -> StoreError {
    match result {
        Ok(v) => panic!("{what} should have been refused, but returned {v:?}"),
        Err(e) => e,
    }
}

/// Asserts that `result` is `NotFound`.
fn assert_not_found<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) {
    let e = refused(result, what);
    assert!(
        matches!(e, StoreError::NotFound { .. }),
        "{what}: expected NotFound, got {e:?}"
    );
}

/// Asserts that `result` is `AlreadyExists`.
fn assert_already_exists<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) {
    let e = refused(result, what);
    assert!(
        matches!(e, StoreError::AlreadyExists { .. }),
        "{what}: expected AlreadyExists, got {e:?}"
    );
}

/// Checks that the stored entry for `appended` is exactly what the store
/// must have written for `submitted`: the canonical envelope assembled by
/// [`build_entry_bytes`], its id the SHA-256 of those bytes, and that every
/// way of reading it agrees.
fn check_stored_entry(
    store: &dyn Store,
    slug: &str,
    appended: &Appended,
    submitted: &NewEntry,
) -> StoredEntry {
    let stored = store
        .entry_at(slug, appended.index)
        .unwrap_or_else(|e| panic!("entry {} of {slug:?}: {e}", appended.index));
    assert_eq!(stored.index, appended.index);
    assert_eq!(
        stored.id, appended.id,
        "entry {}: id differs from the append's",
        stored.index
    );
    assert_eq!(
        stored.id,
        Hash::of(&stored.bytes),
        "entry {}: id is not SHA-256(bytes)",
        stored.index
    );
    assert_eq!(
        stored.content_id,
        submitted.content_id(),
        "entry {}: content id",
        stored.index
    );
    assert_eq!(
        appended.content_id,
        submitted.content_id(),
        "entry {}: appended content id",
        stored.index
    );
    assert_eq!(
        stored.kind,
        submitted.kind(),
        "entry {}: kind",
        stored.index
    );
    let envelope: Value = serde_json::from_slice(&stored.bytes)
        .unwrap_or_else(|e| panic!("entry {} is not JSON: {e}", stored.index));
    let appended_at = envelope["appended_at"]
        .as_str()
        .unwrap_or_else(|| panic!("entry {} has no appended_at: {envelope}", stored.index));
    assert_eq!(
        stored.bytes,
        build_entry_bytes(slug, appended_at, submitted),
        "entry {}: the stored bytes are not the canonical envelope of the submission",
        stored.index
    );
    assert_eq!(
        store.entry_by_id(slug, &stored.id).expect("entry by id"),
        stored
    );
    assert_eq!(
        store
            .entry_by_content(slug, &stored.content_id)
            .expect("entry by content"),
        stored
    );
    stored
}

/// Opens every stored checkpoint of `slug` with `keys`, checks that the
/// stored columns are what the note signs, and returns them by size.
fn open_all_checkpoints(
    store: &dyn Store,
    slug: &str,
    keys: &[NoteVerifier],
) -> Vec<StoredCheckpoint> {
    let stored = store.checkpoints(slug).expect("checkpoints");
    let mut last = None;
    for cp in &stored {
        let opened = open_checkpoint(&cp.note, keys)
            .unwrap_or_else(|e| panic!("checkpoint at size {} does not verify: {e}", cp.size));
        assert_eq!(
            opened.origin,
            origin(slug),
            "checkpoint at size {}: origin",
            cp.size
        );
        assert_eq!(
            (opened.size, opened.root),
            (cp.size, cp.root),
            "checkpoint columns vs note"
        );
        assert!(
            last < Some(cp.size),
            "checkpoints must be listed by increasing size"
        );
        last = Some(cp.size);
        assert_eq!(
            &store.checkpoint_at(slug, cp.size).expect("checkpoint_at"),
            cp
        );
    }
    stored
}

/// A [`NodeReader`] that counts what a proof reads.
struct CountingReader<'a> {
    inner: TenantNodes<'a>,
    calls: Cell<u64>,
    nodes: Cell<u64>,
}

impl<'a> CountingReader<'a> {
    fn new(store: &'a dyn Store, tenant: &'a str) -> Self {
        Self {
            inner: TenantNodes { store, tenant },
            calls: Cell::new(0),
            nodes: Cell::new(0),
        }
    }

    /// Reads counted since the last call, as `(calls, nodes)`.
    fn take(&self) -> (u64, u64) {
        (self.calls.replace(0), self.nodes.replace(0))
    }
}

impl NodeReader for CountingReader<'_> {
    type Error = StoreError;
    fn read_nodes(&self, ids: &[NodeId]) -> crate::Result<Vec<Hash>> {
        self.calls.set(self.calls.get() + 1);
        self.nodes.set(self.nodes.get() + ids.len() as u64);
        self.inner.read_nodes(ids)
    }
}

/// `ceil(log2(n))` for `n >= 1`.
fn ceil_log2(n: u64) -> u64 {
    u64::from(64 - (n.max(1) - 1).leading_zeros())
}

// ---------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------

/// Tenants: creating one signs its empty checkpoint and registers its key;
/// slugs and origins are unique; unknown tenants are `NotFound` everywhere.
pub fn story_tenants(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    assert_eq!(
        store.tenants().expect("tenants"),
        Vec::<Tenant>::new(),
        "a new store has no tenants"
    );

    let key_a = log_key("alpha", 1);
    let empty = store
        .create_tenant(&tenant("alpha"), Arc::clone(&key_a), T0)
        .expect("create alpha");
    assert_eq!(
        (empty.size, empty.root),
        (0, empty_root()),
        "a new log is empty"
    );
    let opened =
        Checkpoint::open(&empty.note, &key_a.verifier()).expect("the empty checkpoint verifies");
    assert_eq!(
        (opened.origin.as_str(), opened.size, opened.root),
        (origin("alpha").as_str(), 0, empty_root())
    );
    assert_eq!(store.latest_checkpoint("alpha").expect("latest"), empty);
    assert_eq!(
        store.checkpoint_at("alpha", 0).expect("checkpoint 0"),
        empty
    );
    assert_eq!(
        store.checkpoints("alpha").expect("checkpoints"),
        vec![empty.clone()]
    );
    assert_eq!(store.tenant("alpha").expect("tenant"), tenant("alpha"));
    let keys = store.log_keys("alpha").expect("log keys");
    assert_eq!(
        keys.len(),
        1,
        "the creating key is the tenant's one log key: {keys:?}"
    );
    assert_eq!(keys[0].verifier, key_a.verifier().to_string());
    assert!(keys[0].active, "the creating key signs");

    // Slugs and origins are unique; a key must be named after the origin.
    assert_already_exists(
        store.create_tenant(
            &Tenant {
                slug: "alpha".into(),
                origin: origin("alpha2"),
            },
            log_key("alpha2", 2),
            T1,
        ),
        "a second tenant named alpha",
    );
    assert_already_exists(
        store.create_tenant(
            &Tenant {
                slug: "alpha2".into(),
                origin: origin("alpha"),
            },
            log_key("alpha", 2),
            T1,
        ),
        "a second tenant with alpha's origin",
    );
    refused(
        store.create_tenant(&tenant("gamma"), log_key("delta", 3), T1),
        "a tenant whose key is named for another log",
    );
    assert_not_found(store.tenant("gamma"), "the refused tenant gamma");
    assert_eq!(
        store.latest_checkpoint("alpha").expect("latest"),
        empty,
        "refusals wrote nothing to alpha"
    );

    create_tenant(store, "beta", 4);
    let slugs: Vec<String> = store
        .tenants()
        .expect("tenants")
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(slugs, ["alpha", "beta"], "tenants are listed by slug");

    // An empty log has no entries and only the empty checkpoint.
    assert_not_found(store.entry_at("alpha", 0), "entry 0 of an empty log");
    assert_not_found(
        store.checkpoint_at("alpha", 1),
        "checkpoint 1 of an empty log",
    );
    assert_not_found(
        store.read_nodes("alpha", &[NodeId::new(0, 0)]),
        "a node of an empty log",
    );

    unknown_tenants_are_not_found(store);

    for slug in ["alpha", "beta"] {
        let v = verify(store, slug);
        assert_eq!((v.entries, v.checkpoints, v.root), (0, 1, empty_root()));
    }
}

/// Every call naming an unknown tenant is `NotFound`.
fn unknown_tenants_are_not_found(store: &dyn Store) {
    let ghost = "ghost";
    assert_not_found(store.tenant(ghost), "tenant");
    assert_not_found(store.log_keys(ghost), "log_keys");
    assert_not_found(store.latest_checkpoint(ghost), "latest_checkpoint");
    assert_not_found(store.checkpoints(ghost), "checkpoints");
    assert_not_found(store.checkpoint_at(ghost, 0), "checkpoint_at");
    assert_not_found(store.entry_at(ghost, 0), "entry_at");
    assert_not_found(store.entry_by_id(ghost, &Hash::of(b"x")), "entry_by_id");
    assert_not_found(store.append(ghost, vec![numbered("tenants", 0)]), "append");
    assert_not_found(
        store.register_signer(ghost, log_key(ghost, 5)),
        "register_signer",
    );
    assert_not_found(
        store.add_log_key(ghost, &log_key(ghost, 5).verifier(), T1),
        "add_log_key",
    );
    assert_not_found(store.principals(ghost), "principals");
    assert_not_found(store.tokens(ghost), "tokens");
    assert_not_found(store.read_nodes(ghost, &[NodeId::new(0, 0)]), "read_nodes");
    let failure = verify_tenant_log(store, ghost, &mut |_: u64, _: u64| {})
        .expect_err("verifying an unknown tenant must fail");
    assert!(
        !failure.is_tamper(),
        "an unknown tenant is a read failure, not tampering: {failure}"
    );
}

// ---------------------------------------------------------------------------
// Signers and key rotation
// ---------------------------------------------------------------------------

/// Signers: a handle appends only with a registered signer whose key is an
/// active log key of the tenant; a rotated key signs later checkpoints while
/// every earlier checkpoint still verifies with the key that signed it.
pub fn story_signers_and_key_rotation(db: &dyn Database) {
    let first = db.open();
    let first = &*first;
    let key_a = create_tenant(first, "alpha", 1);
    append(
        first,
        "alpha",
        (0..3).map(|n| numbered("keys", n)).collect(),
    );

    // A second handle shares the data but not the signer.
    let second = db.open();
    let second = &*second;
    let e = refused(
        second.append("alpha", vec![numbered("keys", 3)]),
        "an append without a signer",
    );
    assert!(
        matches!(&e, StoreError::NoSigner { tenant } if tenant == "alpha"),
        "expected NoSigner, got {e:?}"
    );
    assert_eq!(
        log_size(first, "alpha"),
        3,
        "a refused append writes nothing"
    );

    // Only an active log key of the tenant may be registered.
    let stranger = log_key("alpha", 7);
    let e = refused(
        second.register_signer("alpha", stranger),
        "registering a key that is not a log key",
    );
    assert!(
        matches!(e, StoreError::Invalid(_)),
        "expected Invalid, got {e:?}"
    );
    refused(
        second.register_signer("alpha", log_key("beta", 1)),
        "registering a key named for another log",
    );
    second
        .register_signer("alpha", Arc::clone(&key_a))
        .expect("registering alpha's key");
    let out = append(second, "alpha", vec![numbered("keys", 3)]);
    assert_eq!(
        (out[0].index, out[0].duplicate, out[0].checkpoint_size),
        (3, false, 4)
    );
    assert_eq!(
        first
            .entry_at("alpha", 3)
            .expect("the first handle reads it")
            .id,
        out[0].id
    );

    rotate_to_a_new_key(first, second, &key_a);
}

/// Rotation: key B is added and signs from now on; checkpoints signed by
/// key A still verify with it.
fn rotate_to_a_new_key(first: &dyn Store, second: &dyn Store, key_a: &Arc<NoteSigner>) {
    let key_b = log_key("alpha", 9);
    second
        .add_log_key("alpha", &key_b.verifier(), T1)
        .expect("adding key B");
    let keys = second.log_keys("alpha").expect("log keys");
    let listed: Vec<(&str, bool)> = keys
        .iter()
        .map(|k| (k.verifier.as_str(), k.active))
        .collect();
    let (a, b) = (key_a.verifier().to_string(), key_b.verifier().to_string());
    assert_eq!(
        listed,
        [(a.as_str(), true), (b.as_str(), true)],
        "log keys, oldest first"
    );
    second
        .register_signer("alpha", Arc::clone(&key_b))
        .expect("registering key B");
    let before_rotation = log_size(first, "alpha");
    let out = append(
        second,
        "alpha",
        (4..6).map(|n| numbered("keys", n)).collect(),
    );
    assert_eq!(out.iter().map(|a| a.index).collect::<Vec<_>>(), [4, 5]);

    let latest = second.latest_checkpoint("alpha").expect("latest");
    assert_eq!(latest.size, 6);
    let note = Note::parse(&latest.note).expect("the latest checkpoint parses");
    let names: Vec<_> = note
        .signatures()
        .iter()
        .map(|s| (s.name().to_owned(), s.key_id()))
        .collect();
    assert_eq!(
        names,
        [(origin("alpha"), key_b.key_id())],
        "later checkpoints name the new key"
    );
    Checkpoint::open(&latest.note, &key_b.verifier()).expect("signed by key B");
    assert!(
        Checkpoint::open(&latest.note, &key_a.verifier()).is_err(),
        "not signed by key A"
    );
    for cp in second.checkpoints("alpha").expect("checkpoints") {
        if cp.size <= before_rotation {
            Checkpoint::open(&cp.note, &key_a.verifier())
                .unwrap_or_else(|e| panic!("checkpoint {} from before the rotation: {e}", cp.size));
        }
    }
    open_all_checkpoints(second, "alpha", &[key_a.verifier(), key_b.verifier()]);

    for store in [first, second] {
        let v = verify(store, "alpha");
        assert_eq!(v.entries, 6);
        assert_eq!(
            v.checkpoints,
            store.checkpoints("alpha").expect("checkpoints").len() as u64
        );
    }
}

// ---------------------------------------------------------------------------
// Principals and tokens
// ---------------------------------------------------------------------------

fn slug(s: &str) -> Slug {
    Slug::new(s).expect("test slugs are valid")
}

fn token(tenant: &str, id: &str, principal: &str, secret: &str) -> TokenRecord {
    TokenRecord {
        id: id.to_owned(),
        digest: token_digest(secret),
        tenant: tenant.to_owned(),
        principal: principal.to_owned(),
        label: format!("token {id}"),
        created_at: T0.to_owned(),
        revoked_at: None,
    }
}

/// Principals and tokens: created, read back exactly, listed by slug, unique;
/// a token resolves by digest only while live, and only its own tenant can
/// revoke it.
pub fn story_principals_and_tokens(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    create_tenant(store, "alpha", 1);
    create_tenant(store, "beta", 2);

    let alice = Principal::human(slug("alice"), [Role::Admin, Role::ReleaseApprover])
        .with_display_name("Alice A.");
    let bot = Principal::machine(slug("ci-bot"));
    let mut helper = Principal::agent(slug("assistant"), AgentKind::Qa);
    helper.set_disabled(true);
    for p in [&bot, &alice, &helper] {
        store
            .create_principal("alpha", p)
            .unwrap_or_else(|e| panic!("creating {}: {e}", p.slug()));
    }
    assert_eq!(
        store.principal("alpha", "alice").expect("alice"),
        alice,
        "a principal reads back exactly"
    );
    assert_eq!(
        store.principal("alpha", "assistant").expect("assistant"),
        helper
    );
    assert_eq!(
        store.principals("alpha").expect("principals"),
        vec![alice.clone(), helper.clone(), bot.clone()],
        "principals are listed by slug"
    );
    assert_already_exists(store.create_principal("alpha", &alice), "a second alice");
    assert_not_found(store.principal("alpha", "mallory"), "an unknown principal");
    assert_not_found(
        store.principal("beta", "alice"),
        "alpha's principal in beta",
    );
    assert_eq!(store.principals("beta").expect("beta's principals"), vec![]);
    store
        .create_principal("beta", &alice)
        .expect("the same slug in another tenant");
    assert_not_found(
        store.create_principal("ghost", &alice),
        "a principal of an unknown tenant",
    );

    tokens_resolve_while_live(store, &alice, &bot);
}

/// Tokens: stored by digest, resolved only while live, revoked only by
/// their own tenant.
fn tokens_resolve_while_live(store: &dyn Store, alice: &Principal, bot: &Principal) {
    let t1 = token("alpha", "tok-1", "alice", "asom_secret-one");
    let t2 = token("alpha", "tok-2", "ci-bot", "asom_secret-two");
    store.create_token(&t1).expect("token 1");
    store.create_token(&t2).expect("token 2");
    assert_already_exists(store.create_token(&t1), "the same token again");
    assert_already_exists(
        store.create_token(&TokenRecord {
            id: "tok-3".into(),
            ..t1.clone()
        }),
        "another token with token 1's digest",
    );
    assert_not_found(
        store.create_token(&token("alpha", "tok-4", "mallory", "asom_secret-four")),
        "a token for an unknown principal",
    );
    assert_not_found(
        store.create_token(&token("ghost", "tok-5", "alice", "asom_secret-five")),
        "a token of an unknown tenant",
    );
    assert_eq!(
        store.tokens("alpha").expect("tokens"),
        vec![t1.clone(), t2.clone()]
    );
    assert_eq!(
        store.tokens("beta").expect("beta's tokens"),
        vec![],
        "tokens are per tenant"
    );

    let (record, principal) = store.token_by_digest(&t1.digest).expect("token 1 resolves");
    assert_eq!((record, principal), (t1.clone(), alice.clone()));
    let (record, principal) = store.token_by_digest(&t2.digest).expect("token 2 resolves");
    assert_eq!((record, principal), (t2.clone(), bot.clone()));
    assert_not_found(
        store.token_by_digest(&token_digest("asom_unknown")),
        "an unknown digest",
    );
    assert_not_found(
        store.token_by_digest("asom_secret-one"),
        "a secret instead of its digest",
    );

    // Revocation is scoped to the token's tenant and happens once.
    assert_not_found(
        store.revoke_token("beta", "tok-1", T1),
        "revoking alpha's token as beta",
    );
    assert!(
        store.token_by_digest(&t1.digest).is_ok(),
        "a refused revocation changes nothing"
    );
    store
        .revoke_token("alpha", "tok-1", T1)
        .expect("revoking token 1");
    assert_not_found(store.token_by_digest(&t1.digest), "a revoked token");
    assert_not_found(
        store.revoke_token("alpha", "tok-1", T2),
        "revoking a revoked token",
    );
    assert_not_found(
        store.revoke_token("alpha", "tok-9", T1),
        "revoking an unknown token",
    );
    let revoked = TokenRecord {
        revoked_at: Some(T1.to_owned()),
        ..t1.clone()
    };
    assert_eq!(
        store.tokens("alpha").expect("tokens"),
        vec![revoked, t2.clone()],
        "revocation is listed"
    );
    assert!(
        store.token_by_digest(&t2.digest).is_ok(),
        "other tokens stay live"
    );

    for slug in ["alpha", "beta"] {
        verify(store, slug);
    }
}

// ---------------------------------------------------------------------------
// Appends
// ---------------------------------------------------------------------------

/// Appends: indexes dense from 0 per tenant; the stored bytes are exactly
/// the canonical envelope; the same content (kind and content) submitted
/// again, by anyone, in the same batch or a later one, returns the first
/// entry and writes nothing.
pub fn story_appends(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    create_tenant(store, "alpha", 1);
    create_tenant(store, "beta", 2);

    assert_eq!(
        store.append("alpha", Vec::new()).expect("an empty append"),
        vec![]
    );
    assert_eq!(
        store.checkpoints("alpha").expect("checkpoints").len(),
        1,
        "an empty append signs nothing"
    );

    // A first batch: indexes 0..5, one checkpoint of size 5.
    let batch: Vec<NewEntry> = (0..5).map(|n| numbered("appends", n)).collect();
    let out = append(store, "alpha", batch.clone());
    for (i, (a, e)) in out.iter().zip(&batch).enumerate() {
        assert_eq!(
            (a.index, a.duplicate, a.checkpoint_size),
            (i as u64, false, 5),
            "{a:?}"
        );
        check_stored_entry(store, "alpha", a, e);
    }
    assert_eq!(
        store.checkpoints("alpha").expect("checkpoints").len(),
        2,
        "one checkpoint per batch"
    );

    // The same content again, from someone else: the first entry, nothing written.
    let again = submission("record", &json!({"story": "appends", "n": 2}), "alice");
    assert_eq!(again.content_id(), batch[2].content_id());
    let dup = append(store, "alpha", vec![again]);
    assert_eq!(
        dup[0],
        Appended {
            duplicate: true,
            ..out[2].clone()
        },
        "a resubmission returns the first entry"
    );
    assert_eq!(
        store.checkpoints("alpha").expect("checkpoints").len(),
        2,
        "a duplicate signs nothing"
    );
    assert_eq!(log_size(store, "alpha"), 5);

    // Within one batch: new, repeated, and old content mixed.
    let fresh = numbered("appends", 5);
    let fresh_by_other = submission("record", &json!({"n": 5, "story": "appends"}), "alice");
    let out2 = append(
        store,
        "alpha",
        vec![
            fresh.clone(),
            batch[0].clone(),
            fresh_by_other,
            numbered("appends", 6),
        ],
    );
    assert_eq!((out2[0].index, out2[0].duplicate), (5, false));
    assert_eq!(
        out2[1],
        Appended {
            duplicate: true,
            // The checkpoint that first covered it: the same receipt as the first time.
            checkpoint_size: 5,
            ..out[0].clone()
        }
    );
    assert_eq!(
        (out2[2].index, out2[2].id, out2[2].duplicate),
        (5, out2[0].id, true),
        "repeated within a batch"
    );
    assert_eq!((out2[3].index, out2[3].duplicate), (6, false));
    assert!(
        [0, 2, 3].iter().all(|&i| out2[i].checkpoint_size == 7),
        "new entries and repeats of them in this batch get this batch's checkpoint: {out2:?}"
    );
    check_stored_entry(store, "alpha", &out2[0], &fresh);
    assert_eq!(log_size(store, "alpha"), 7);

    other_kinds_and_outcomes_are_new_content(store);
    appends_are_per_tenant(store, &batch, &out);
}

/// The same content under another kind is other content; a failed test
/// then a passed one are two entries.
fn other_kinds_and_outcomes_are_new_content(store: &dyn Store) {
    // Same content under another kind is other content; a fail then a pass are two entries.
    let as_evidence = submission("evidence", &json!({"story": "appends", "n": 0}), "ci-bot");
    let fail = submission(
        "evidence",
        &json!({"test": "login", "result": "fail"}),
        "ci-bot",
    );
    let pass = submission(
        "evidence",
        &json!({"test": "login", "result": "pass"}),
        "ci-bot",
    );
    let out3 = append(store, "alpha", vec![as_evidence.clone()]);
    let out4 = append(store, "alpha", vec![fail.clone()]);
    let out5 = append(store, "alpha", vec![pass.clone()]);
    for (o, e, index) in [
        (&out3, &as_evidence, 7),
        (&out4, &fail, 8),
        (&out5, &pass, 9),
    ] {
        assert_eq!(
            (o[0].index, o[0].duplicate),
            (index, false),
            "{}",
            String::from_utf8_lossy(e.content())
        );
        check_stored_entry(store, "alpha", &o[0], e);
    }
}

/// Tenants have independent logs: beta starts at 0, and alpha's content is
/// new to beta. A big batch keeps indexes dense.
fn appends_are_per_tenant(store: &dyn Store, batch: &[NewEntry], out: &[Appended]) {
    // Tenants have independent logs: beta starts at 0, and alpha's content is new to beta.
    let out_b = append(
        store,
        "beta",
        vec![batch[0].clone(), numbered("appends-beta", 0)],
    );
    assert_eq!(
        out_b
            .iter()
            .map(|a| (a.index, a.duplicate))
            .collect::<Vec<_>>(),
        [(0, false), (1, false)]
    );
    assert_ne!(
        out_b[0].id, out[0].id,
        "the stored entry names its tenant, so ids differ"
    );
    assert_eq!(out_b[0].content_id, out[0].content_id);
    check_stored_entry(store, "beta", &out_b[0], &batch[0]);
    assert_eq!(
        store
            .entry_by_content("alpha", &batch[0].content_id())
            .expect("alpha's")
            .index,
        0
    );
    assert_not_found(
        store.entry_by_id("alpha", &out_b[1].id),
        "beta's entry by id in alpha",
    );
    assert_not_found(
        store.entry_by_content("alpha", &numbered("appends-beta", 0).content_id()),
        "beta's content in alpha",
    );
    assert_not_found(store.entry_at("beta", 2), "an index past the log");
    assert_not_found(store.entry_at("alpha", u64::MAX), "index u64::MAX");
    assert_not_found(
        store.entry_by_id("alpha", &Hash::of(b"no such entry")),
        "an unknown id",
    );

    // A bigger batch keeps indexes dense.
    let big: Vec<NewEntry> = (100..400).map(|n| numbered("appends", n)).collect();
    let out6 = append(store, "alpha", big.clone());
    for (k, (a, e)) in out6.iter().zip(&big).enumerate() {
        assert_eq!(
            (a.index, a.duplicate, a.checkpoint_size),
            (10 + k as u64, false, 310)
        );
        if k % 37 == 0 {
            check_stored_entry(store, "alpha", a, e);
        }
    }
    let mut seen_ids = BTreeSet::new();
    for index in 0..310 {
        let e = store
            .entry_at("alpha", index)
            .expect("every index up to the size is stored");
        assert!(seen_ids.insert(e.id), "entry {index} repeats an id");
    }

    assert_eq!(verify(store, "alpha").entries, 310);
    assert_eq!(verify(store, "beta").entries, 2);
}

// ---------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------

/// Checkpoints: each committed batch gets one signed checkpoint whose size is
/// the log size and whose root is the RFC 9162 root of the entries; each
/// extends the one before (a consistency proof verifies); sizes that were
/// never signed are `NotFound`.
pub fn story_checkpoints(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    let key = create_tenant(store, "alpha", 1);
    let mut tree = MemoryTree::new();
    let mut sizes = vec![0];
    let mut n = 0;
    for batch in [1, 1, 2, 3, 5, 8, 13, 1, 21] {
        let entries: Vec<NewEntry> = (n..n + batch).map(|k| numbered("checkpoints", k)).collect();
        n += batch;
        let out = append(store, "alpha", entries);
        for a in &out {
            tree.push(&store.entry_at("alpha", a.index).expect("entry").bytes);
            assert_eq!(
                a.checkpoint_size, n,
                "the batch's entries are covered by its checkpoint"
            );
        }
        let latest = store.latest_checkpoint("alpha").expect("latest");
        assert_eq!(
            (latest.size, latest.root),
            (n, tree.root()),
            "the checkpoint is the root of the entries"
        );
        assert_eq!(
            store.checkpoint_at("alpha", n).expect("checkpoint_at"),
            latest
        );
        sizes.push(n);
    }
    let all = open_all_checkpoints(store, "alpha", &[key.verifier()]);
    assert_eq!(
        all.iter().map(|c| c.size).collect::<Vec<_>>(),
        sizes,
        "one checkpoint per batch"
    );
    for cp in &all {
        let opened =
            Checkpoint::open(&cp.note, &key.verifier()).expect("opens with the tenant's key");
        assert_eq!(opened.extensions, Vec::<String>::new());
    }
    for pair in all.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        let proof = consistency_proof(
            &TenantNodes {
                store,
                tenant: "alpha",
            },
            old.size,
            new.size,
        )
        .unwrap_or_else(|e| panic!("consistency proof {} -> {}: {e}", old.size, new.size));
        verify_consistency(old.size, new.size, &proof, &old.root, &new.root).unwrap_or_else(|e| {
            panic!(
                "checkpoint {} does not extend checkpoint {}: {e}",
                new.size, old.size
            )
        });
    }
    for unsigned in [3, 5, n - 1, n + 1, u64::MAX] {
        if !sizes.contains(&unsigned) {
            assert_not_found(
                store.checkpoint_at("alpha", unsigned),
                "a size that was never signed",
            );
        }
    }
    let v = verify(store, "alpha");
    assert_eq!(
        (v.entries, v.checkpoints, v.root),
        (n, sizes.len() as u64, tree.root())
    );
}

// ---------------------------------------------------------------------------
// Proofs
// ---------------------------------------------------------------------------

/// Proofs from stored nodes: on a small log, every inclusion proof of every
/// index against every signed checkpoint and every consistency proof between
/// them verify; on a larger one, each proof reads O(log n) nodes in one call.
/// Nodes beyond the log are `NotFound`.
pub fn story_proofs(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    create_tenant(store, "alpha", 1);
    create_tenant(store, "beta", 2);
    // Beta's log interleaves with alpha's, so a backend that mixed them up fails here.
    let mut n = 0;
    for batch in 1..=8 {
        append(
            store,
            "alpha",
            (n..n + batch).map(|k| numbered("proofs", k)).collect(),
        );
        append(
            store,
            "beta",
            (n..n + batch).map(|k| numbered("proofs-beta", k)).collect(),
        );
        n += batch;
    }
    append(store, "alpha", vec![numbered("proofs", n)]);
    n += 1;
    check_every_proof(store, "alpha", n);
    check_every_proof(store, "beta", n - 1);

    // The cost of a proof on a larger log.
    let mut k = n;
    while k < 2_000 {
        append(
            store,
            "alpha",
            (k..k + 250).map(|i| numbered("proofs", i)).collect(),
        );
        k += 250;
    }
    check_proof_cost(store, "alpha", k);

    verify(store, "alpha");
    verify(store, "beta");
    nodes_beyond_the_log_are_not_found(store, k, n - 1);
}

/// Nodes beyond a log (alpha has `alpha_size` entries, beta `beta_size`),
/// including ones far beyond it, are `NotFound` (never some other node's
/// hash, of this tenant or another), and so are proofs that need them.
fn nodes_beyond_the_log_are_not_found(store: &dyn Store, alpha_size: u64, beta_size: u64) {
    assert_not_found(
        store.read_nodes("beta", &[NodeId::new(0, beta_size)]),
        "a leaf past beta's log",
    );
    assert_not_found(
        store.read_nodes("alpha", &[NodeId::new(0, alpha_size)]),
        "a leaf past the log",
    );
    assert_not_found(
        store.read_nodes("alpha", &[NodeId::new(11, 0)]),
        "a node of 2048 entries in a log of 2000",
    );
    let reader = TenantNodes {
        store,
        tenant: "alpha",
    };
    assert!(
        inclusion_proof(&reader, 0, alpha_size + 1).is_err(),
        "a proof for a size beyond the log must fail"
    );
    assert!(
        consistency_proof(&reader, 1, alpha_size + 1).is_err(),
        "a consistency proof beyond the log must fail"
    );

    // A third tenant, so that a far position aliasing into another tenant's
    // nodes (e.g. through a packed key) would find something.
    create_tenant(store, "gamma", 3);
    append(store, "gamma", vec![numbered("proofs-gamma", 0)]);
    for far in [1 << 40, (1 << 41) + 1, (1 << 42) + 1, 1 << 50] {
        assert_not_found(
            store.read_nodes("alpha", &[NodeId::new(0, far)]),
            &format!("leaf {far}, far past the log"),
        );
        assert_not_found(
            store.read_nodes("beta", &[NodeId::new(0, far)]),
            &format!("beta's leaf {far}"),
        );
    }
}

/// Every inclusion proof against every checkpoint and every intermediate
/// size, and every consistency proof between checkpoints, of a small log.
fn check_every_proof(store: &dyn Store, slug: &str, size: u64) {
    let reader = TenantNodes {
        store,
        tenant: slug,
    };
    let leaves: Vec<Hash> = (0..size)
        .map(|i| leaf_hash(&store.entry_at(slug, i).expect("entry").bytes))
        .collect();
    let mut tree = MemoryTree::new();
    let mut roots = vec![empty_root()];
    for leaf in &leaves {
        tree.push_leaf(*leaf);
        roots.push(tree.root());
    }
    let checkpoints = store.checkpoints(slug).expect("checkpoints");
    assert!(checkpoints.len() > 2, "the log has several checkpoints");
    for cp in &checkpoints {
        assert_eq!(
            cp.root, roots[cp.size as usize],
            "checkpoint {} of {slug:?}",
            cp.size
        );
    }
    for s in 1..=size {
        let root = asom_ledger::merkle::root(&reader, s).expect("root from stored nodes");
        assert_eq!(
            root, roots[s as usize],
            "root of {slug:?} at size {s} from stored nodes"
        );
        for (i, leaf) in leaves.iter().enumerate().take(s as usize) {
            let proof = inclusion_proof(&reader, i as u64, s).expect("inclusion proof");
            verify_inclusion(leaf, i as u64, s, &proof, &root)
                .unwrap_or_else(|e| panic!("{slug:?}: entry {i} in size {s}: {e}"));
            let other = leaves[(i + 1) % s as usize];
            if s > 1 {
                assert!(
                    verify_inclusion(&other, i as u64, s, &proof, &root).is_err(),
                    "{slug:?}: the proof of entry {i} in size {s} must not prove another entry"
                );
            }
        }
    }
    for old in &checkpoints {
        for new in checkpoints.iter().filter(|c| c.size >= old.size) {
            let proof = consistency_proof(&reader, old.size, new.size).expect("consistency proof");
            verify_consistency(old.size, new.size, &proof, &old.root, &new.root).unwrap_or_else(
                |e| panic!("{slug:?}: consistency {} -> {}: {e}", old.size, new.size),
            );
        }
    }
}

/// Each proof on the log of `size` entries reads at most `2·⌈log2 n⌉ + 2`
/// nodes in one call, and the proofs verify.
fn check_proof_cost(store: &dyn Store, slug: &str, size: u64) {
    let counting = CountingReader::new(store, slug);
    let checkpoints = store.checkpoints(slug).expect("checkpoints");
    let mut worst = 0;
    for cp in checkpoints.iter().filter(|c| c.size > 0) {
        let bound = 2 * ceil_log2(cp.size) + 2;
        let root = asom_ledger::merkle::root(&counting, cp.size).expect("root");
        assert_eq!(root, cp.root);
        let (calls, nodes) = counting.take();
        assert!(
            calls == 1 && nodes <= bound,
            "the root at size {} read {nodes} nodes in {calls} calls",
            cp.size
        );
        for index in (0..cp.size).step_by(61).chain([cp.size - 1]) {
            let proof = inclusion_proof(&counting, index, cp.size).expect("inclusion proof");
            let (calls, nodes) = counting.take();
            worst = worst.max(nodes);
            assert!(
                calls <= 1 && nodes <= bound,
                "the proof of entry {index} in size {} read {nodes} nodes in {calls} calls; at most {bound} in one call",
                cp.size
            );
            let leaf = leaf_hash(&store.entry_at(slug, index).expect("entry").bytes);
            verify_inclusion(&leaf, index, cp.size, &proof, &cp.root)
                .unwrap_or_else(|e| panic!("entry {index} in size {}: {e}", cp.size));
        }
        for old in checkpoints.iter().filter(|c| c.size <= cp.size) {
            let proof = consistency_proof(&counting, old.size, cp.size).expect("consistency proof");
            let (calls, nodes) = counting.take();
            worst = worst.max(nodes);
            assert!(
                calls <= 1 && nodes <= bound,
                "the consistency proof {} -> {} read {nodes} nodes in {calls} calls; at most {bound} in one call",
                old.size,
                cp.size
            );
            verify_consistency(old.size, cp.size, &proof, &old.root, &cp.root)
                .unwrap_or_else(|e| panic!("consistency {} -> {}: {e}", old.size, cp.size));
        }
    }
    assert!(
        worst > 0 && worst <= 2 * ceil_log2(size) + 2,
        "worst proof read {worst} nodes at size {size}"
    );
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

/// Writers in [`story_concurrent_appends`].
const WRITERS: u64 = 64;
/// Single-entry appends each writer makes.
const APPENDS_PER_WRITER: u64 = 4;

/// Concurrent writers: 64 threads appending single entries get distinct
/// indexes of one dense log, batches are shared (fewer checkpoints than
/// entries), the same content raced by many threads is one entry, a failing
/// append (unknown tenant) does not fail its batch-mates, and a verification
/// running alongside passes.
pub fn story_concurrent_appends(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    create_tenant(store, "alpha", 1);
    create_tenant(store, "beta", 2);
    let racers = 16;
    let start = Barrier::new((WRITERS + racers + 2 + 1) as usize);
    let acked: Mutex<Vec<(Appended, NewEntry)>> = Mutex::new(Vec::new());
    let raced: Mutex<Vec<Appended>> = Mutex::new(Vec::new());
    let race = submission(
        "evidence",
        &json!({"story": "concurrency", "raced": true}),
        "ci-bot",
    );
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (start, acked) = (&start, &acked);
            s.spawn(move || {
                start.wait();
                for k in 0..APPENDS_PER_WRITER {
                    let e = submission(
                        "record",
                        &json!({"writer": w, "k": k}),
                        &format!("writer-{w}"),
                    );
                    let out = append(store, "alpha", vec![e.clone()]);
                    acked.lock().expect("lock").push((out[0].clone(), e));
                }
            });
        }
        for r in 0..racers {
            let (start, raced, race) = (&start, &raced, &race);
            s.spawn(move || {
                start.wait();
                let e = submission(
                    race.kind(),
                    &json!({"raced": true, "story": "concurrency"}),
                    &format!("racer-{r}"),
                );
                assert_eq!(e.content_id(), race.content_id());
                let out = append(store, "alpha", vec![e]);
                raced.lock().expect("lock").push(out[0].clone());
            });
        }
        // Appends to an unknown tenant and to beta share batches with alpha's.
        let start = &start;
        s.spawn(move || {
            start.wait();
            for k in 0..APPENDS_PER_WRITER {
                assert_not_found(
                    store.append("ghost", vec![numbered("ghost", k)]),
                    "appending to an unknown tenant",
                );
                append(store, "beta", vec![numbered("concurrency-beta", k)]);
            }
        });
        // A verification alongside the writers sees a consistent snapshot.
        s.spawn(move || {
            start.wait();
            for _ in 0..3 {
                verify(store, "alpha");
            }
        });
        start.wait();
    });

    let acked = acked.into_inner().expect("lock");
    let raced = raced.into_inner().expect("lock");
    check_concurrent_appends(store, &acked, &raced, &race);
}

/// What the writers of [`story_concurrent_appends`] were told, checked.
fn check_concurrent_appends(
    store: &dyn Store,
    acked: &[(Appended, NewEntry)],
    raced: &[Appended],
    race: &NewEntry,
) {
    let fresh: Vec<&Appended> = raced.iter().filter(|a| !a.duplicate).collect();
    assert_eq!(
        fresh.len(),
        1,
        "racing the same content appends it once: {raced:?}"
    );
    assert!(
        raced
            .iter()
            .all(|a| a.index == fresh[0].index && a.id == fresh[0].id),
        "{raced:?}"
    );

    let entries = WRITERS * APPENDS_PER_WRITER + 1;
    assert_eq!(acked.len() as u64, WRITERS * APPENDS_PER_WRITER);
    let mut indexes: BTreeMap<u64, &NewEntry> = BTreeMap::new();
    for (a, e) in acked {
        assert!(!a.duplicate, "{a:?}");
        assert!(
            indexes.insert(a.index, e).is_none(),
            "index {} was handed out twice",
            a.index
        );
        assert!(
            a.checkpoint_size > a.index,
            "{a:?} is not covered by its checkpoint"
        );
        let cp = store
            .checkpoint_at("alpha", a.checkpoint_size)
            .expect("the covering checkpoint is stored");
        assert_eq!(cp.size, a.checkpoint_size);
    }
    assert!(
        indexes.insert(fresh[0].index, race).is_none(),
        "the raced entry's index was handed out twice"
    );
    assert_eq!(
        indexes.keys().copied().collect::<Vec<_>>(),
        (0..entries).collect::<Vec<_>>(),
        "dense log"
    );
    for (a, e) in acked {
        let stored = store
            .entry_at("alpha", a.index)
            .expect("acknowledged entry");
        assert_eq!(
            (stored.id, stored.content_id),
            (a.id, e.content_id()),
            "entry {}",
            a.index
        );
    }
    assert_eq!(log_size(store, "alpha"), entries);
    let checkpoints = store.checkpoints("alpha").expect("checkpoints").len() as u64 - 1;
    assert!(
        checkpoints < entries,
        "{entries} concurrent appends were signed in {checkpoints} checkpoints: no batch was shared (group commit)"
    );
    assert_eq!(verify(store, "alpha").entries, entries);
    assert_eq!(verify(store, "beta").entries, APPENDS_PER_WRITER);
}

/// Two handles on one database (two processes, two replicas) appending at
/// once: the database sequences them into one dense log that never forks,
/// each handle reads what the other wrote, and content raced across them is
/// one entry.
pub fn story_two_handles(db: &dyn Database) {
    let handles = [db.open(), db.open()];
    let key = create_tenant(&*handles[0], "alpha", 1);
    handles[1]
        .register_signer("alpha", Arc::clone(&key))
        .expect("registering the key on the second handle");
    let per_thread: u64 = 6;
    let threads: usize = 8;
    let start = Barrier::new(2 * threads + 1);
    let acked: Mutex<Vec<(Appended, NewEntry)>> = Mutex::new(Vec::new());
    let raced: Mutex<Vec<Appended>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (h, handle) in handles.iter().enumerate() {
            for t in 0..threads {
                let (start, acked, raced) = (&start, &acked, &raced);
                let store = &**handle;
                s.spawn(move || {
                    start.wait();
                    for k in 0..per_thread {
                        let e = numbered(&format!("handle-{h}-thread-{t}"), k);
                        let out = append(store, "alpha", vec![e.clone()]);
                        acked.lock().expect("lock").push((out[0].clone(), e));
                        if k == per_thread / 2 {
                            let out =
                                append(store, "alpha", vec![numbered("raced-across-handles", 0)]);
                            raced.lock().expect("lock").push(out[0].clone());
                        }
                    }
                });
            }
        }
        start.wait();
    });
    let acked = acked.into_inner().expect("lock");
    let raced = raced.into_inner().expect("lock");
    assert_eq!(
        raced.iter().filter(|a| !a.duplicate).count(),
        1,
        "raced content appended once: {raced:?}"
    );
    assert!(raced.iter().all(|a| a.index == raced[0].index), "{raced:?}");
    let entries = 2 * threads as u64 * per_thread + 1;
    let mut indexes: BTreeSet<u64> = acked.iter().map(|(a, _)| a.index).collect();
    assert_eq!(indexes.len(), acked.len(), "an index was handed out twice");
    indexes.insert(raced[0].index);
    assert_eq!(
        indexes.into_iter().collect::<Vec<_>>(),
        (0..entries).collect::<Vec<_>>(),
        "dense log"
    );
    for handle in &handles {
        let store = &**handle;
        assert_eq!(log_size(store, "alpha"), entries);
        for (a, e) in &acked {
            assert_eq!(
                store.entry_at("alpha", a.index).expect("entry").content_id,
                e.content_id()
            );
        }
        let v = verify(store, "alpha");
        assert_eq!(v.entries, entries);
        // Every checkpoint, whichever handle signed it, extends the one before.
        let all = open_all_checkpoints(store, "alpha", &[key.verifier()]);
        for pair in all.windows(2) {
            let proof = consistency_proof(
                &TenantNodes {
                    store,
                    tenant: "alpha",
                },
                pair[0].size,
                pair[1].size,
            )
            .expect("consistency proof");
            verify_consistency(
                pair[0].size,
                pair[1].size,
                &proof,
                &pair[0].root,
                &pair[1].root,
            )
            .unwrap_or_else(|e| {
                panic!(
                    "fork between checkpoints {} and {}: {e}",
                    pair[0].size, pair[1].size
                )
            });
        }
    }
}

// ---------------------------------------------------------------------------
// Index keys
// ---------------------------------------------------------------------------

/// A `record` submission numbered `n` carrying index `keys`.
fn keyed(tag: &str, n: u64, keys: &[&str]) -> NewEntry {
    numbered(tag, n)
        .with_keys(keys.iter().copied())
        .expect("test keys are valid")
}

/// The indexes of `entries`.
fn indexes_of(entries: &[StoredEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.index).collect()
}

/// Checks what `slug`'s index says about `key` against `expected`, the
/// indexes of the entries that carry it: in log order, as of every older log
/// size, with `count_with_key` agreeing, and each entry exactly as stored.
fn check_key(store: &dyn Store, slug: &str, key: &str, expected: &[u64]) {
    let size = log_size(store, slug);
    let all = store
        .entries_with_key(slug, key, None)
        .unwrap_or_else(|e| panic!("entries of {slug:?} with key {key:?}: {e}"));
    assert_eq!(
        indexes_of(&all),
        expected,
        "the entries of {slug:?} carrying {key:?}, in log order"
    );
    for e in &all {
        assert_eq!(
            &store.entry_at(slug, e.index).expect("entry"),
            e,
            "entry {} read by key {key:?} differs from entry_at",
            e.index
        );
    }
    assert_eq!(
        store.count_with_key(slug, key, None).expect("count"),
        expected.len() as u64,
        "count of {key:?} in {slug:?}"
    );
    for before in (0..=size + 2).chain([u64::MAX]) {
        let older: Vec<u64> = expected.iter().copied().filter(|&i| i < before).collect();
        let got = store
            .entries_with_key(slug, key, Some(before))
            .unwrap_or_else(|e| panic!("entries with key {key:?} before {before}: {e}"));
        assert_eq!(
            indexes_of(&got),
            older,
            "the entries of {slug:?} carrying {key:?} among the first {before}"
        );
        assert_eq!(
            store
                .count_with_key(slug, key, Some(before))
                .expect("count before"),
            older.len() as u64,
            "the count of {key:?} in {slug:?} among the first {before}"
        );
    }
}

/// Checks that the stored bytes of entry `index` carry `keys` (sorted,
/// without repeats) as their `keys` member, and that [`split_entry`] finds
/// them.
fn check_keys_in_bytes(store: &dyn Store, slug: &str, index: u64, keys: &[&str]) {
    let stored = store.entry_at(slug, index).expect("entry");
    let envelope: Value = serde_json::from_slice(&stored.bytes).expect("entry JSON");
    let mut want: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    want.sort();
    want.dedup();
    assert_eq!(
        envelope["keys"],
        json!(want),
        "entry {index} of {slug:?}: the hashed entry's keys member"
    );
    let parts = split_entry(&stored.bytes)
        .unwrap_or_else(|| panic!("entry {index} of {slug:?} is not an entry envelope"));
    assert_eq!(parts.keys, want, "entry {index}: split_entry's keys");
    assert_eq!(parts.kind, stored.kind, "entry {index}: split_entry's kind");
    if want.is_empty() {
        let text = String::from_utf8_lossy(&stored.bytes);
        assert!(
            text.contains(",\"keys\":[],"),
            "entry {index} has no keys, so its bytes hold \"keys\":[]: {text}"
        );
    }
}

/// The keys of the entries [`story_index_keys`] appends to alpha, by index.
const ALPHA_KEYS: &[&[&str]] = &[
    &["release:sales@1.0", "crq:CRQ1"],
    &[],
    &["release:sales@1.0"],
    // Repeated and unsorted: stored sorted, once.
    &[
        "release:sales@1.1",
        "release:billing@2.0",
        "release:sales@1.1",
    ],
    &["release:sales@1.0", "other:x"],
    // Other prefixes that look alike.
    &["releases:nope", "Release:sales@1.0", "release"],
    // Keys that JSON escapes or that are not ASCII.
    &["release:z\u{fc}rich", "release:\"quoted\"\\and/slashed"],
    &["crq:CRQ1"],
];

/// Index keys: an entry's keys are part of its hashed bytes (sorted, without
/// repeats; `"keys":[]` when none), and the store's index answers from them:
/// the entries carrying a key in log order, as of any older log size, their
/// count, and the distinct keys with a prefix, each per tenant.
pub fn story_index_keys(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    create_tenant(store, "alpha", 1);
    create_tenant(store, "beta", 2);

    // Beta first, with some of alpha's keys, so that beta's entry 0 and
    // alpha's entry 0 carry the same key.
    let beta = append(
        store,
        "beta",
        vec![
            keyed(
                "keys-beta",
                0,
                &["release:sales@1.0", "release:beta-only@9"],
            ),
            keyed("keys-beta", 1, &["crq:CRQ1"]),
        ],
    );
    // Alpha in three batches.
    let submitted: Vec<NewEntry> = ALPHA_KEYS
        .iter()
        .zip(0..)
        .map(|(keys, n)| keyed("keys", n, keys))
        .collect();
    let mut out = append(store, "alpha", submitted[..4].to_vec());
    out.extend(append(store, "alpha", submitted[4..6].to_vec()));
    out.extend(append(store, "alpha", submitted[6..].to_vec()));
    assert_eq!(
        out.iter().map(|a| a.index).collect::<Vec<_>>(),
        (0..ALPHA_KEYS.len() as u64).collect::<Vec<_>>()
    );
    for ((a, e), keys) in out.iter().zip(&submitted).zip(ALPHA_KEYS) {
        check_stored_entry(store, "alpha", a, e);
        check_keys_in_bytes(store, "alpha", a.index, keys);
    }
    for (a, keys) in beta.iter().zip([
        &["release:sales@1.0", "release:beta-only@9"][..],
        &["crq:CRQ1"],
    ]) {
        check_keys_in_bytes(store, "beta", a.index, keys);
    }

    // Every key of alpha, read back through the index.
    let mut by_key: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (keys, index) in ALPHA_KEYS.iter().zip(0..) {
        for key in keys.iter().copied().collect::<BTreeSet<_>>() {
            by_key.entry(key).or_default().push(index);
        }
    }
    for (key, indexes) in &by_key {
        check_key(store, "alpha", key, indexes);
    }
    assert_eq!(
        by_key["release:sales@1.0"],
        [0, 2, 4],
        "the fixture has a key over several batches"
    );
    check_key(store, "beta", "release:sales@1.0", &[0]);
    check_key(store, "beta", "crq:CRQ1", &[1]);
    check_key(store, "beta", "release:billing@2.0", &[]);
    check_key(store, "alpha", "release:beta-only@9", &[]);
    check_key(store, "alpha", "release:sales@9.9", &[]);
    check_key(store, "alpha", "release:", &[]);

    key_prefixes_are_listed_per_tenant(store, &by_key);
    resubmissions_do_not_add_keys(store, &submitted);

    for query in ["release:sales@1.0", ""] {
        assert_not_found(
            store.entries_with_key("ghost", query, None),
            "entries_with_key of an unknown tenant",
        );
        assert_not_found(
            store.count_with_key("ghost", query, None),
            "count_with_key of an unknown tenant",
        );
        assert_not_found(
            store.keys_with_prefix("ghost", query),
            "keys_with_prefix of an unknown tenant",
        );
    }
    assert_eq!(verify(store, "alpha").entries, ALPHA_KEYS.len() as u64);
    assert_eq!(verify(store, "beta").entries, 2);
}

/// `keys_with_prefix` lists alpha's distinct keys with the prefix, sorted,
/// and nothing of beta's or of other prefixes.
fn key_prefixes_are_listed_per_tenant(store: &dyn Store, by_key: &BTreeMap<&str, Vec<u64>>) {
    let with = |prefix: &str| -> Vec<String> {
        by_key
            .keys()
            .filter(|k| k.starts_with(prefix))
            .map(|k| (*k).to_owned())
            .collect()
    };
    let releases = store
        .keys_with_prefix("alpha", "release:")
        .expect("keys with prefix");
    assert_eq!(
        releases,
        [
            "release:\"quoted\"\\and/slashed",
            "release:billing@2.0",
            "release:sales@1.0",
            "release:sales@1.1",
            "release:z\u{fc}rich",
        ],
        "alpha's release keys, distinct and sorted"
    );
    for prefix in [
        "release:",
        "release",
        "crq:",
        "release:sales@",
        "",
        "other:x",
        "zzz",
    ] {
        assert_eq!(
            store
                .keys_with_prefix("alpha", prefix)
                .expect("keys with prefix"),
            with(prefix),
            "alpha's keys with prefix {prefix:?}"
        );
    }
    assert_eq!(
        store
            .keys_with_prefix("beta", "release:")
            .expect("beta's keys"),
        ["release:beta-only@9", "release:sales@1.0"],
        "beta's release keys, not alpha's"
    );
}

/// Content already in the log, submitted again with other keys, is the
/// first entry: the new keys are not indexed, the entry's bytes keep its
/// first keys.
fn resubmissions_do_not_add_keys(store: &dyn Store, submitted: &[NewEntry]) {
    let size = log_size(store, "alpha");
    let again = keyed("keys", 2, &["release:sales@1.0", "release:late@1"]);
    assert_eq!(again.content_id(), submitted[2].content_id());
    let dup = append(store, "alpha", vec![again]);
    assert_eq!(
        (dup[0].index, dup[0].duplicate),
        (2, true),
        "a resubmission with other keys is the first entry"
    );
    assert_eq!(log_size(store, "alpha"), size, "nothing was written");
    check_key(store, "alpha", "release:late@1", &[]);
    check_key(store, "alpha", "release:sales@1.0", &[0, 2, 4]);
    check_keys_in_bytes(store, "alpha", 2, ALPHA_KEYS[2]);
}

/// Key prefixes are taken literally: characters SQL patterns treat
/// specially (`%`, `_`, `\`) are plain characters, and a key whose next
/// character is the highest code point (`U+10FFFF`) still has the prefix.
pub fn story_key_prefixes(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    create_tenant(store, "alpha", 1);
    let keys = [
        "a%b:1",
        "a%b:2",
        "axb:3",
        "a_b:4",
        "azb:5",
        "a\\b:6",
        "a\\\\b:7",
        "p:\u{10ffff}",
        "p:\u{10ffff}x",
        "p:\u{10fffe}",
        "p;",
        "p",
        "\u{10ffff}",
        "\u{10ffff}\u{10ffff}",
    ];
    append(
        store,
        "alpha",
        keys.iter()
            .zip(0..)
            .map(|(k, n)| keyed("key-prefixes", n, &[k]))
            .collect(),
    );
    let sorted: BTreeSet<&str> = keys.iter().copied().collect();
    // Every wrong answer at once, so that a failure shows its pattern.
    let mut wrong = Vec::new();
    for prefix in [
        "a%b:",
        "a_b:",
        "a%",
        "a_",
        "a\\b",
        "a\\",
        "p:",
        "p:\u{10ffff}",
        "p",
        "\u{10ffff}",
        "",
    ] {
        let want: Vec<&str> = sorted
            .iter()
            .copied()
            .filter(|k| k.starts_with(prefix))
            .collect();
        let got = store
            .keys_with_prefix("alpha", prefix)
            .expect("keys with prefix");
        if got != want {
            wrong.push(format!("prefix {prefix:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "keys_with_prefix must take the prefix literally:\n{}",
        wrong.join("\n")
    );
    for (key, index) in keys.iter().zip(0..) {
        check_key(store, "alpha", key, &[index]);
    }
    verify(store, "alpha");
}

// ---------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------

/// Asserts that `result` is `Conflict` on `key`, expecting `expected` and
/// finding `actual`.
fn assert_conflict<T: std::fmt::Debug>(
    result: crate::Result<T>,
    key: &str,
    expected: u64,
    actual: u64,
    what: &str,
) {
    let e = refused(result, what);
    match &e {
        StoreError::Conflict {
            key: k,
            expected: x,
            actual: a,
        } => assert_eq!(
            (k.as_str(), *x, *a),
            (key, expected, actual),
            "{what}: the conflict names the key, the expected and the found count"
        ),
        other => panic!("{what}: expected Conflict on {key:?}, got {other:?}"),
    }
}

/// Asserts that nothing was written to `slug` since it had `size` entries
/// and `checkpoints` checkpoints, and that none of `entries` is in its log.
fn assert_nothing_written(
    store: &dyn Store,
    slug: &str,
    size: u64,
    checkpoints: usize,
    entries: &[NewEntry],
    what: &str,
) {
    assert_eq!(log_size(store, slug), size, "{what}: the log grew");
    assert_eq!(
        store.checkpoints(slug).expect("checkpoints").len(),
        checkpoints,
        "{what}: a checkpoint was signed"
    );
    assert_not_found(store.entry_at(slug, size), what);
    for e in entries {
        assert_not_found(
            store.entry_by_content(slug, &e.content_id()),
            &format!("{what}: an entry of the refused call"),
        );
    }
}

/// The size and checkpoint count of `slug`'s log.
fn log_state(store: &dyn Store, slug: &str) -> (u64, usize) {
    (
        log_size(store, slug),
        store.checkpoints(slug).expect("checkpoints").len(),
    )
}

/// Expectations: an append expecting `n` entries with a key succeeds only if
/// exactly `n` carry it just before the call; otherwise the call fails with
/// `Conflict` and writes nothing, whatever else it holds. Expectations are
/// checked against the log before the call, are not part of the entry, and
/// a repeated call whose entries are all in the log gets them back as
/// duplicates even though its expectations no longer hold.
pub fn story_expectations(db: &dyn Database) {
    let store = db.open();
    let store = &*store;
    create_tenant(store, "alpha", 1);
    let k = "release:sales@2.0";

    // The first entry of a key, expecting none; the expectation is not in the entry.
    let first = keyed("expect", 0, &[k]).expecting(k, 0);
    assert_eq!(first.content_id(), keyed("expect", 0, &[k]).content_id());
    let out0 = append(store, "alpha", vec![first.clone()]);
    assert_eq!((out0[0].index, out0[0].duplicate), (0, false));
    check_stored_entry(store, "alpha", &out0[0], &first);

    // Expecting none again: refused, nothing written.
    let (size, cps) = log_state(store, "alpha");
    let late = keyed("expect", 1, &[k]).expecting(k, 0);
    assert_conflict(
        store.append("alpha", vec![late.clone()]),
        k,
        0,
        1,
        "expecting no entry with a key that has one",
    );
    assert_nothing_written(store, "alpha", size, cps, &[late], "a conflict");
    // Expecting more than there are is a conflict too.
    assert_conflict(
        store.append("alpha", vec![keyed("expect", 1, &[k]).expecting(k, 2)]),
        k,
        2,
        1,
        "expecting two entries with a key that has one",
    );
    // Expecting the right count succeeds.
    let second = append(
        store,
        "alpha",
        vec![keyed("expect", 1, &[k]).expecting(k, 1)],
    );
    assert_eq!((second[0].index, second[0].duplicate), (1, false));
    check_key(store, "alpha", k, &[0, 1]);

    a_conflict_refuses_the_whole_call(store, k);
    expectations_see_the_log_before_the_call(store);
    repeated_calls_are_duplicates(store, k, &first, &out0[0]);
    assert_eq!(verify(store, "alpha").entries, log_size(store, "alpha"));
}

/// One failing expectation refuses every entry of its call: entries without
/// expectations, entries already in the log, and entries whose own
/// expectations hold. The conflict names the first expectation that fails.
fn a_conflict_refuses_the_whole_call(store: &dyn Store, k: &str) {
    let (size, cps) = log_state(store, "alpha");
    let calls: Vec<(Vec<NewEntry>, &str, u64, u64)> = vec![
        // The failing expectation is on the last entry.
        (
            vec![
                keyed("expect-whole", 0, &[k]),
                keyed("expect-whole", 1, &["crq:CRQ7"]).expecting("crq:CRQ7", 0),
                keyed("expect-whole", 2, &[k]).expecting(k, 5),
            ],
            k,
            5,
            2,
        ),
        // The first of several expectations of one entry fails.
        (
            vec![
                keyed("expect-whole", 3, &[])
                    .expecting("crq:CRQ7", 0)
                    .expecting(k, 0)
                    .expecting("crq:CRQ8", 0),
            ],
            k,
            0,
            2,
        ),
        // An expectation on a key the entry does not carry.
        (
            vec![keyed("expect-whole", 4, &["crq:CRQ9"]).expecting(k, 3)],
            k,
            3,
            2,
        ),
    ];
    for (entries, key, expected, actual) in calls {
        assert_conflict(
            store.append("alpha", entries.clone()),
            key,
            expected,
            actual,
            "a call with a failing expectation",
        );
        assert_nothing_written(store, "alpha", size, cps, &entries, "a refused call");
    }
    // Content already in the log does not exempt the new entries of its call.
    let mixed = vec![
        keyed("expect", 0, &[k]),
        keyed("expect-whole", 5, &[k]).expecting(k, 0),
    ];
    assert_conflict(
        store.append("alpha", mixed.clone()),
        k,
        0,
        2,
        "a call mixing a logged entry and a new one whose expectation fails",
    );
    assert_nothing_written(
        store,
        "alpha",
        size,
        cps,
        &mixed[1..],
        "a refused mixed call",
    );
    check_key(store, "alpha", k, &[0, 1]);
    check_key(store, "alpha", "crq:CRQ7", &[]);
    check_key(store, "alpha", "crq:CRQ9", &[]);
}

/// Every expectation of a call is checked against the log as it was before
/// the call: two entries expecting no entry with a key, both carrying it,
/// are appended together; an expectation of a key with no entries holds
/// whatever the entry carries.
fn expectations_see_the_log_before_the_call(store: &dyn Store) {
    let pair_key = "release:pair@1";
    let (size, _) = log_state(store, "alpha");
    let out = append(
        store,
        "alpha",
        vec![
            keyed("expect-pair", 0, &[pair_key]).expecting(pair_key, 0),
            keyed("expect-pair", 1, &[pair_key]).expecting(pair_key, 0),
        ],
    );
    assert_eq!(
        out.iter()
            .map(|a| (a.index, a.duplicate))
            .collect::<Vec<_>>(),
        [(size, false), (size + 1, false)],
        "both entries of the call are appended"
    );
    check_key(store, "alpha", pair_key, &[size, size + 1]);
    // Now the pair's key has two entries: a call expecting one is refused,
    // a call expecting two is not.
    assert_conflict(
        store.append(
            "alpha",
            vec![keyed("expect-pair", 2, &[pair_key]).expecting(pair_key, 1)],
        ),
        pair_key,
        1,
        2,
        "expecting one entry of a key that has two",
    );
    let third = append(
        store,
        "alpha",
        vec![
            keyed("expect-pair", 2, &[pair_key])
                .expecting(pair_key, 2)
                .expecting("crq:nothing-yet", 0),
        ],
    );
    assert_eq!((third[0].index, third[0].duplicate), (size + 2, false));
    // An entry carrying no keys may still expect.
    let keyless = append(
        store,
        "alpha",
        vec![keyed("expect-pair", 3, &[]).expecting(pair_key, 3)],
    );
    assert_eq!(keyless[0].index, size + 3);
    check_keys_in_bytes(store, "alpha", size + 3, &[]);
    check_key(store, "alpha", pair_key, &[size, size + 1, size + 2]);
}

/// Retry safety: a call whose entries are all in the log gets its first
/// receipts back, although its expectations no longer hold.
fn repeated_calls_are_duplicates(store: &dyn Store, k: &str, first: &NewEntry, out0: &Appended) {
    let (size, cps) = log_state(store, "alpha");
    let again = append(store, "alpha", vec![first.clone()]);
    assert_eq!(
        again[0],
        Appended {
            duplicate: true,
            ..out0.clone()
        },
        "a repeated call gets its first receipt, though {k:?} has more entries now"
    );
    let pair = vec![
        keyed("expect-pair", 0, &["release:pair@1"]).expecting("release:pair@1", 0),
        keyed("expect-pair", 1, &["release:pair@1"]).expecting("release:pair@1", 0),
    ];
    let again = append(store, "alpha", pair);
    assert!(
        again.iter().all(|a| a.duplicate),
        "a repeated call of two entries: {again:?}"
    );
    assert_eq!(
        again.iter().map(|a| a.index).collect::<Vec<_>>(),
        [2, 3],
        "the pair's first entries"
    );
    assert_nothing_written(store, "alpha", size, cps, &[], "a repeated call");
}

// ---------------------------------------------------------------------------
// Expectations under concurrency
// ---------------------------------------------------------------------------

/// Threads racing one expectation in [`story_concurrent_expectations`].
const RACERS: u64 = 16;

/// What one racing call returned.
type RaceResult = crate::Result<Vec<Appended>>;

/// Runs `call(r)` for `r` in `0..RACERS` on as many threads at once, the
/// thread `r` on `stores[r % stores.len()]`, alongside `bystanders` threads
/// that each append four entries of their own with expectations that hold.
/// Returns the racers' results by `r`.
fn race(
    stores: &[&dyn Store],
    bystanders: u64,
    tag: &str,
    call: &(dyn Fn(u64) -> Vec<NewEntry> + Sync),
) -> Vec<RaceResult> {
    let start = Barrier::new((RACERS + bystanders) as usize);
    let results: Mutex<Vec<(u64, RaceResult)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for r in 0..RACERS {
            let (start, results) = (&start, &results);
            let store = stores[r as usize % stores.len()];
            s.spawn(move || {
                let entries = call(r);
                start.wait();
                let result = store.append("alpha", entries);
                results.lock().expect("lock").push((r, result));
            });
        }
        for b in 0..bystanders {
            let start = &start;
            let store = stores[b as usize % stores.len()];
            s.spawn(move || {
                start.wait();
                for n in 0..4 {
                    let key = format!("bystander:{tag}-{b}");
                    let e = keyed(&format!("{tag}-bystander-{b}"), n, &[key.as_str()])
                        .expecting(&key, n);
                    let out = store.append("alpha", vec![e]).unwrap_or_else(|e| {
                        panic!("bystander {b}'s append {n}, whose expectation holds: {e}")
                    });
                    assert!(!out[0].duplicate, "{out:?}");
                }
            });
        }
    });
    let mut results = results.into_inner().expect("lock");
    results.sort_by_key(|(r, _)| *r);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Checks a race on `key` expecting no entry: exactly one call won, the
/// others got `Conflict` and wrote nothing, and the key has the winner's
/// entries only. Returns the winner.
fn check_one_winner(
    store: &dyn Store,
    key: &str,
    results: &[RaceResult],
    call: &dyn Fn(u64) -> Vec<NewEntry>,
) -> u64 {
    let winners: Vec<u64> = (0..RACERS)
        .filter(|&r| results[r as usize].is_ok())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{RACERS} calls racing to be first on {key:?}: exactly one must win, got {results:?}"
    );
    let winner = winners[0];
    let won = results[winner as usize].as_ref().expect("the winner");
    assert!(won.iter().all(|a| !a.duplicate), "{won:?}");
    for r in (0..RACERS).filter(|&r| r != winner) {
        let result = results[r as usize].clone();
        assert_conflict(result, key, 0, 1, &format!("racer {r} on {key:?}"));
        for e in call(r) {
            assert_not_found(
                store.entry_by_content("alpha", &e.content_id()),
                &format!("an entry of racer {r}'s refused call"),
            );
        }
    }
    let entries = store
        .entries_with_key("alpha", key, None)
        .expect("entries with the raced key");
    assert_eq!(
        indexes_of(&entries),
        won.iter()
            .zip(call(winner))
            .filter(|(_, e)| e.keys().iter().any(|k| k == key))
            .map(|(a, _)| a.index)
            .collect::<Vec<_>>(),
        "{key:?} carries the winner's entries only"
    );
    winner
}

/// Expectations under concurrency: 16 threads racing to append different
/// contents, each expecting no entry with one key, yield exactly one entry
/// and 15 conflicts that wrote nothing, on one handle, across two handles,
/// and with several entries per call; concurrent appends whose expectations
/// hold are unaffected; 16 threads racing the same content all get it back.
pub fn story_concurrent_expectations(db: &dyn Database) {
    let first = db.open();
    let second = db.open();
    let signer = create_tenant(&*first, "alpha", 1);
    second
        .register_signer("alpha", signer)
        .expect("registering the key on the second handle");
    let (first, second) = (&*first, &*second);
    let bystanders = 16;

    // One handle, one entry per call.
    let key = "release:race@1";
    let single = |r: u64| vec![keyed("race-single", r, &[key]).expecting(key, 0)];
    let results = race(&[first], bystanders, "single", &single);
    check_one_winner(first, key, &results, &single);
    // A key appended to concurrently reads the same at every older size.
    let bystander = key_indexes(first, "bystander:single-3");
    assert_eq!(bystander.len(), 4, "a bystander's four entries");
    check_key(first, "alpha", "bystander:single-3", &bystander);

    // Two handles (two processes), one entry per call.
    let key = "release:race@2";
    let across = |r: u64| vec![keyed("race-across", r, &[key]).expecting(key, 0)];
    let results = race(&[first, second], bystanders, "across", &across);
    check_one_winner(second, key, &results, &across);

    // Several entries per call: an entry without expectations, then the one
    // expecting; a losing call writes neither.
    let key = "release:race@3";
    let multi = |r: u64| {
        vec![
            keyed("race-multi-plain", r, &["crq:plain"]),
            keyed("race-multi", r, &[key]).expecting(key, 0),
        ]
    };
    let results = race(&[first], bystanders, "multi", &multi);
    check_one_winner(first, key, &results, &multi);
    assert_eq!(
        first
            .count_with_key("alpha", "crq:plain", None)
            .expect("count"),
        1,
        "only the winning call's plain entry was written"
    );

    same_content_raced_with_an_expectation(first);

    for b in 0..bystanders {
        for tag in ["single", "across", "multi"] {
            let key = format!("bystander:{tag}-{b}");
            assert_eq!(
                first.count_with_key("alpha", &key, None).expect("count"),
                4,
                "{key:?}: every append of a bystander whose expectation held was written"
            );
        }
    }
    let size = log_size(first, "alpha");
    assert_eq!(
        size,
        3 * bystanders * 4 + 1 + 1 + 2 + 1,
        "the log holds the bystanders' entries and each race's winner"
    );
    assert_eq!(verify(first, "alpha").entries, size);
    assert_eq!(verify(second, "alpha").entries, size);
}

/// The indexes of the entries carrying `key`, as the index says.
fn key_indexes(store: &dyn Store, key: &str) -> Vec<u64> {
    indexes_of(
        &store
            .entries_with_key("alpha", key, None)
            .expect("entries with key"),
    )
}

/// The same content raced by 16 threads, each expecting no entry with its
/// key: one appends it, the others get it back as a duplicate (their call
/// is a repeat once the content is in the log), none is refused.
fn same_content_raced_with_an_expectation(store: &dyn Store) {
    let key = "release:race@4";
    let same = |r: u64| {
        let e = submission(
            "evidence",
            &json!({"story": "race-same", "raced": true}),
            &format!("racer-{r}"),
        );
        vec![e.with_keys([key]).expect("valid key").expecting(key, 0)]
    };
    let results = race(&[store], 0, "same", &same);
    let appended: Vec<&Appended> = results
        .iter()
        .map(|r| match r {
            Ok(out) => &out[0],
            Err(e) => panic!("racing the same content, a call was refused: {e:?}"),
        })
        .collect();
    assert_eq!(
        appended.iter().filter(|a| !a.duplicate).count(),
        1,
        "the same content raced is appended once: {appended:?}"
    );
    assert!(
        appended.iter().all(|a| a.index == appended[0].index),
        "{appended:?}"
    );
    check_key(store, "alpha", key, &[appended[0].index]);
}
