//! Fixed keys and bindings shared by asom's fuzz targets.
//!
//! The targets feed outside input to asom's parsers; where a parser's output
//! goes on to be verified, they verify it against the fixed keys here, and
//! re-sign fuzzed content with them so the code past the signature check is
//! reached too. Nothing here is secret: the seeds are constants.

use std::sync::LazyLock;

use asom_core::dsse::{KeyId, ProducerKeys};
use asom_core::evidence::EvidenceBuilder;
use asom_ledger::note::{NoteSigner, NoteVerifier};
use ed25519_dalek::SigningKey;
use time::OffsetDateTime;
use time::macros::datetime;

/// The seed of every Ed25519 key the targets sign with.
pub const SEED: [u8; 32] = [7; 32];

/// The key id the DSSE producer key is registered under.
pub const PRODUCER_KEY_ID: &str = "ci-key-1";

/// The log key of the spec's example checkpoint (`example.com/fancylog`),
/// with our seed: seeds taken from the C2SP spec name it.
pub static LOG_SIGNER: LazyLock<NoteSigner> = LazyLock::new(|| {
    NoteSigner::from_seed("example.com/fancylog", SEED).expect("a valid key name")
});

/// The verifier of [`LOG_SIGNER`].
pub static LOG_VERIFIER: LazyLock<NoteVerifier> = LazyLock::new(|| LOG_SIGNER.verifier());

/// The Go `note` package's test key `PeterNeumann`, which signed the
/// `peter.note` seed, so the note target reaches a successful verification.
pub static PETER_VERIFIER: LazyLock<NoteVerifier> = LazyLock::new(|| {
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        .parse()
        .expect("the Go note test vector key parses")
});

/// The DSSE producer's signing key.
pub static PRODUCER_KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::from_bytes(&SEED));

/// The registered producer keys: [`PRODUCER_KEY`] as `ci-key-1`, owned by `ci-runner`.
pub static PRODUCER_KEYS: LazyLock<ProducerKeys> = LazyLock::new(|| {
    let mut keys = ProducerKeys::new();
    keys.register(
        KeyId::new(PRODUCER_KEY_ID).expect("a valid key id"),
        PRODUCER_KEY.verifying_key(),
        "ci-runner".parse().expect("a valid principal"),
    )
    .expect("one key registers");
    keys
});

/// The clock for records without `created_at`.
pub const NOW: OffsetDateTime = datetime!(2025-01-31 09:30:00 UTC);

/// A caller's binding for the JUnit and DSSE input forms: everything the
/// report or envelope does not say.
#[must_use]
pub fn binding() -> EvidenceBuilder {
    EvidenceBuilder::new()
        .control_id("C-06".parse().expect("a control id"))
        .source_ref(
            "https://ci.example/job/orders/742/artifacts/report"
                .parse()
                .expect("a source ref"),
        )
        .commit_sha(
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
                .parse()
                .expect("a commit"),
        )
        .build_id("orders-742".parse().expect("a build id"))
        .environment("ci".parse().expect("an environment"))
        .created_at(NOW)
        .test_category("T3".parse().expect("a category"))
        .tenant("acme".parse().expect("a tenant"))
        .product("orders-pipeline".parse().expect("a product"))
}

/// Whether `inner` lies entirely inside `outer` (same allocation).
#[must_use]
pub fn is_within(outer: &[u8], inner: &[u8]) -> bool {
    let outer = outer.as_ptr_range();
    let inner = inner.as_ptr_range();
    outer.start <= inner.start && inner.end <= outer.end
}
