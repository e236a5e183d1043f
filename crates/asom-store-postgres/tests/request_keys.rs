//! Shared `Idempotency-Key` records: claimed, settled, released, taken over
//! after a lease, expired after 24 hours, and seen alike by two stores (two
//! processes) on one database.

mod support;

use std::sync::Arc;
use std::time::Duration;

use asom_ledger::Hash;
use asom_ledger::note::NoteSigner;
use asom_store::{KeyClaim, RequestKey, Store, Tenant};
use asom_store_postgres::PostgresStore;
use support::TestDatabase;

const ORIGIN: &str = "asom.test/request-keys/alpha";
const LONG: Duration = Duration::from_mins(10);

fn store(db: &TestDatabase) -> PostgresStore {
    let store = PostgresStore::open(&db.url).expect("open");
    let key = Arc::new(NoteSigner::from_seed(ORIGIN, [5; 32]).expect("key"));
    let created = store.create_tenant(
        &Tenant {
            slug: "alpha".into(),
            origin: ORIGIN.into(),
        },
        key,
        "2026-01-01T00:00:00.000Z",
    );
    assert!(
        created.is_ok() || matches!(created, Err(asom_store::StoreError::AlreadyExists { .. })),
        "{created:?}"
    );
    store
}

fn key<'a>(principal: &'a str, key: &'a str) -> RequestKey<'a> {
    RequestKey {
        tenant: "alpha",
        principal,
        key,
    }
}

fn claim(store: &PostgresStore, k: &RequestKey<'_>, body: &str, lease: Duration) -> KeyClaim {
    store
        .claim_request_key(k, &Hash::of(body.as_bytes()), lease)
        .expect("claim")
        .expect("the PostgreSQL store keeps request keys")
}

#[test]
fn request_keys_are_claimed_settled_and_shared() {
    let Some(admin) =
        support::admin_url("request_keys::request_keys_are_claimed_settled_and_shared")
    else {
        return;
    };
    let db = TestDatabase::create(&admin);
    let (one, two) = (store(&db), store(&db));
    let k = key("ci-bot", "build-17");
    assert_eq!(claim(&one, &k, "body", LONG), KeyClaim::Claimed);
    // Another process sees the claim: still running, or another request.
    assert_eq!(claim(&two, &k, "body", LONG), KeyClaim::Running);
    assert_eq!(claim(&two, &k, "other body", LONG), KeyClaim::OtherRequest);
    one.settle_request_key(&k, Some((200, b"{\"ok\":true}")))
        .expect("settle");
    assert_eq!(
        claim(&two, &k, "body", LONG),
        KeyClaim::Done {
            status: 200,
            body: b"{\"ok\":true}".to_vec()
        },
        "the answer is kept for every process"
    );
    assert_eq!(claim(&one, &k, "other body", LONG), KeyClaim::OtherRequest);
    // Keys are per principal.
    assert_eq!(
        claim(&two, &key("qa-bot", "build-17"), "body", LONG),
        KeyClaim::Claimed
    );
    // A released key is claimed again.
    let released = key("ci-bot", "build-18");
    assert_eq!(claim(&one, &released, "body", LONG), KeyClaim::Claimed);
    one.settle_request_key(&released, None).expect("release");
    assert_eq!(claim(&two, &released, "body", LONG), KeyClaim::Claimed);
    // A claim never settled is taken over after the lease, by the same
    // request only; a settled one never is.
    let abandoned = key("ci-bot", "build-19");
    assert_eq!(claim(&one, &abandoned, "body", LONG), KeyClaim::Claimed);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(claim(&two, &abandoned, "body", LONG), KeyClaim::Running);
    let short = Duration::from_millis(10);
    assert_eq!(
        claim(&two, &abandoned, "other body", short),
        KeyClaim::OtherRequest
    );
    assert_eq!(claim(&two, &abandoned, "body", short), KeyClaim::Claimed);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        claim(&one, &k, "body", short),
        KeyClaim::Done {
            status: 200,
            body: b"{\"ok\":true}".to_vec()
        }
    );
    // Past 24 hours a record is gone: the key is free for any request.
    db.client()
        .execute(
            "UPDATE request_keys SET claimed_at = now() - interval '25 hours' WHERE key = 'build-17'",
            &[],
        )
        .expect("age the records");
    assert_eq!(claim(&one, &k, "other body", LONG), KeyClaim::Claimed);
}

#[test]
fn request_keys_of_an_unknown_tenant_are_refused() {
    let Some(admin) =
        support::admin_url("request_keys::request_keys_of_an_unknown_tenant_are_refused")
    else {
        return;
    };
    let db = TestDatabase::create(&admin);
    let store = store(&db);
    let ghost = RequestKey {
        tenant: "ghost",
        principal: "ci-bot",
        key: "k",
    };
    assert!(matches!(
        store.claim_request_key(&ghost, &Hash::of(b"x"), LONG),
        Err(asom_store::StoreError::NotFound { .. })
    ));
    let nul = key("ci-bot", "a\0b");
    assert!(matches!(
        store.claim_request_key(&nul, &Hash::of(b"x"), LONG),
        Err(asom_store::StoreError::Invalid(_))
    ));
}
