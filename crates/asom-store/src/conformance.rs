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
//!   one database ([`story_concurrent_appends`], [`story_two_handles`]).
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
    TokenRecord, build_entry_bytes, open_checkpoint, verify_tenant_log,
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
