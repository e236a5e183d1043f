//! Signed evidence: an in-toto Statement v1 inside a DSSE envelope, checked
//! against the producers' registered Ed25519 keys, and turned into an
//! [`Evidence`] record.
//!
//! Specs (reference only, nothing copied):
//!
//! - DSSE v1 protocol and JSON envelope (`secure-systems-lab/dsse`,
//!   `protocol.md`, `envelope.md`): the signature covers
//!   `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`
//!   ([`pae`]), base64 may be standard or URL-safe, `keyid` is an
//!   unauthenticated hint used only to pick the key.
//! - in-toto Attestation Framework v1 (`in-toto/attestation`,
//!   `spec/v1/statement.md`): `_type` is `https://in-toto.io/Statement/v1`,
//!   `subject` is a non-empty list of resource descriptors with digests,
//!   `predicateType` a URI, `predicate` an object; unknown fields are ignored.
//! - Test Result predicate v0.1 (`spec/predicates/test-result.md`):
//!   `result` `PASSED | WARNED | FAILED`, `configuration`, `url`,
//!   `passedTests`, `warnedTests`, `failedTests`.
//!
//! The flow is typed (STYLE rule 6): [`Envelope::parse`] gives an
//! [`Unverified<Envelope>`]; only [`Unverified::verify`] (signature check,
//! payload type, statement parse) gives a [`Verified<Statement>`], and only a
//! verified statement becomes evidence ([`Verified::to_evidence`]). The record
//! names the key owner as `produced_by`, indexes the envelope bytes
//! (`checksum`, `size`), and keeps the predicate type, the SHA-256 of the
//! predicate's canonical JSON and the subject digests in `attestation`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use asom_ledger::Hash;
use asom_ledger::jcs::{self, JcsError};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value};

use crate::evidence::{
    self, AttestationRef, CommitSha, Counts, Evidence, EvidenceBuilder, EvidenceError,
    PrincipalSlug, Status,
};

/// The only payload type asom accepts: an in-toto statement in JSON.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// The in-toto test-result predicate that asom maps to a status and counts.
pub const TEST_RESULT_PREDICATE: &str = "https://in-toto.io/attestation/test-result/v0.1";

/// The largest envelope [`Envelope::parse`] reads, in bytes.
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;

/// The most signatures one envelope may carry.
pub const MAX_SIGNATURES: usize = 16;

/// The `source_type` of records made from a DSSE envelope, unless the caller
/// chose another.
pub const SOURCE_TYPE: &str = "in-toto";

/// The name of this input form in error messages.
const FORM: &str = "DSSE envelope";

/// An envelope was refused. Each variant names the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    /// The envelope is larger than the limit.
    #[error("DSSE envelope is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// The envelope's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The envelope is not strict JSON (I-JSON, RFC 7493); the message has
    /// the line and column.
    #[error("DSSE envelope: {0}")]
    Json(#[source] JcsError),
    /// The envelope JSON does not have the DSSE shape.
    #[error("DSSE envelope: {field}: expected {expected}, got {got}")]
    Shape {
        /// The field (`payload`, `signatures[1].sig`, ...).
        field: String,
        /// What it must hold.
        expected: &'static str,
        /// What it held.
        got: String,
    },
    /// A base64 field does not decode.
    #[error(
        "DSSE envelope: malformed base64 in {field}: expected standard or URL-safe base64 (RFC 4648)"
    )]
    Base64 {
        /// The field.
        field: String,
    },
    /// The envelope carries no signature.
    #[error(
        "DSSE envelope has no signatures; sign the envelope with the producer's registered key"
    )]
    NoSignatures,
    /// Every signature names a key id that is not registered.
    #[error(
        "DSSE envelope is signed with unknown key id(s) {key_ids:?}; register the producer's public key (asom principal key <machine> --key-id <id> --public-key <base64>) or sign with a registered key"
    )]
    UnknownKeyId {
        /// The key ids the envelope named.
        key_ids: Vec<String>,
    },
    /// No signature verifies against the key it names (or, without a key id,
    /// against any registered key).
    #[error(
        "DSSE envelope has a bad signature: no signature verifies over the payload and payload type (key ids tried: {key_ids:?}); the envelope was altered or signed with another key"
    )]
    BadSignature {
        /// The registered key ids that were tried.
        key_ids: Vec<String>,
    },
    /// Fewer distinct registered keys signed than required.
    #[error(
        "DSSE envelope is signed by {verified} distinct registered key(s); {threshold} are required"
    )]
    ThresholdNotMet {
        /// Distinct keys whose signature verified.
        verified: usize,
        /// Distinct keys required.
        threshold: usize,
    },
    /// The (authenticated) payload type is not one this verifier reads.
    #[error(
        "DSSE payload type {got:?} is not in-toto; asom reads only {expected:?} (an in-toto Statement v1)"
    )]
    PayloadType {
        /// The envelope's payload type.
        got: String,
        /// The supported type(s).
        expected: String,
    },
    /// Signatures from keys of more than one producer.
    #[error(
        "DSSE envelope is signed by keys of several producers {owners:?}; one record has one producer, so sign with one producer's key"
    )]
    SeveralProducers {
        /// The key owners.
        owners: Vec<String>,
    },
    /// A key registration was refused.
    #[error("producer key {key_id:?}: {reason}")]
    KeyRegistration {
        /// The key id.
        key_id: String,
        /// Why.
        reason: &'static str,
    },
    /// The payload is not strict JSON (I-JSON, RFC 7493).
    #[error("in-toto statement: {0}")]
    StatementJson(#[source] JcsError),
    /// The statement's `_type` is not in-toto Statement v1.
    #[error("in-toto statement has _type {got}; expected \"https://in-toto.io/Statement/v1\"")]
    StatementType {
        /// The `_type` found (quoted), or `missing`.
        got: String,
    },
    /// The statement has no subject.
    #[error(
        "in-toto statement has no subject; list the artifacts it is about, each with a sha256 digest"
    )]
    NoSubject,
    /// A subject has no usable `sha256` digest.
    #[error(
        "in-toto statement subject[{index}] has no sha256 digest (64 hex digits in digest.sha256); asom matches artifacts by SHA-256"
    )]
    SubjectDigest {
        /// The subject's position.
        index: usize,
    },
    /// A statement field does not hold what it must.
    #[error("in-toto statement: {field}: expected {expected}, got {got}")]
    StatementField {
        /// The field (`subject[0].name`, `predicate.result`, ...).
        field: String,
        /// What it must hold.
        expected: &'static str,
        /// What it held.
        got: String,
    },
    /// A test-result predicate contradicts itself.
    #[error("in-toto test result is inconsistent: {0}")]
    InconsistentResult(String),
    /// A predicate without a verdict asom reads needs a status from the caller.
    #[error(
        "predicate type {predicate_type:?} carries no verdict asom reads; give the status (pass, fail or info) with the envelope"
    )]
    StatusRequired {
        /// The predicate type.
        predicate_type: String,
    },
    /// The statement's `gitCommit` subjects do not include the bound commit.
    #[error(
        "in-toto statement is about commit(s) {subjects:?}, not the commit {given} this evidence is bound to"
    )]
    CommitMismatch {
        /// The commit the caller bound the evidence to.
        given: String,
        /// The `gitCommit` digests of the subjects.
        subjects: Vec<String>,
    },
    /// The record built from the statement is invalid.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// `PAE(type, body)`, the DSSE v1 pre-authentication encoding that signatures
/// cover: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as
/// ASCII decimal byte counts of the UTF-8 type and of the body.
#[must_use]
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    out
}

/// Decodes DSSE base64: standard or URL-safe alphabet, padded or not, no
/// stray bits.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// A producer key id: how an envelope's `keyid` names a registered key.
/// 1-256 characters without control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Checks a key id.
    pub fn new(text: &str) -> Result<Self, DsseError> {
        let ok =
            !text.is_empty() && text.chars().count() <= 256 && !text.chars().any(char::is_control);
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(DsseError::KeyRegistration {
                key_id: text.chars().take(80).collect(),
                reason: "a key id is 1-256 characters without control characters",
            })
        }
    }

    /// The key id text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered producer key: the Ed25519 public key and the principal that
/// owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerKey {
    key_id: KeyId,
    key: VerifyingKey,
    owner: PrincipalSlug,
}

impl ProducerKey {
    /// The key's id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The Ed25519 public key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The principal that owns the key (and so produced what it signs).
    #[must_use]
    pub fn owner(&self) -> &PrincipalSlug {
        &self.owner
    }
}

/// The producer keys an envelope may be signed with, by key id. The caller
/// loads them from the store; this type only checks signatures against them.
#[derive(Debug, Clone, Default)]
pub struct ProducerKeys {
    keys: BTreeMap<KeyId, ProducerKey>,
}

impl ProducerKeys {
    /// No keys: every envelope is refused.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `key` under `key_id` for `owner`. Refuses a second key under
    /// one id, one key under two ids (so distinct ids are distinct signers), and
    /// weak (small-order) keys.
    pub fn register(
        &mut self,
        key_id: KeyId,
        key: VerifyingKey,
        owner: PrincipalSlug,
    ) -> Result<(), DsseError> {
        let refuse = |reason| DsseError::KeyRegistration {
            key_id: key_id.0.clone(),
            reason,
        };
        if key.is_weak() {
            return Err(refuse(
                "the public key is a weak (small-order) Ed25519 point",
            ));
        }
        if self.keys.contains_key(&key_id) {
            return Err(refuse("another key is already registered under this id"));
        }
        if self.keys.values().any(|known| known.key == key) {
            return Err(refuse(
                "this public key is already registered under another id",
            ));
        }
        self.keys
            .insert(key_id.clone(), ProducerKey { key_id, key, owner });
        Ok(())
    }

    /// The key registered under `key_id`.
    #[must_use]
    pub fn get(&self, key_id: &str) -> Option<&ProducerKey> {
        self.keys.get(&KeyId(key_id.to_owned()))
    }

    /// Number of registered keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

// ---------------------------------------------------------------------------
// Typestates
// ---------------------------------------------------------------------------

/// A value read from outside whose signatures have not been checked. Its
/// content may be inspected ([`Unverified::peek`]) but not turned into
/// evidence.
#[derive(Debug, Clone)]
pub struct Unverified<T>(T);

impl<T> Unverified<T> {
    /// The unchecked content: for display and diagnostics, never for decisions.
    #[must_use]
    pub fn peek(&self) -> &T {
        &self.0
    }
}

/// A value whose signatures verified against registered producer keys. Only
/// this module constructs it, and only after the check.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    value: T,
    signers: Vec<VerifiedSigner>,
    envelope_digest: Hash,
    envelope_size: u64,
}

impl<T> Verified<T> {
    /// The verified content.
    #[must_use]
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The registered keys whose signatures verified, sorted by key id.
    #[must_use]
    pub fn signers(&self) -> &[VerifiedSigner] {
        &self.signers
    }

    /// SHA-256 of the envelope's bytes as received.
    #[must_use]
    pub fn envelope_digest(&self) -> Hash {
        self.envelope_digest
    }

    /// Size of the envelope's bytes as received.
    #[must_use]
    pub fn envelope_size(&self) -> u64 {
        self.envelope_size
    }
}

/// A registered key whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSigner {
    /// The registered key id.
    pub key_id: KeyId,
    /// The principal that owns the key.
    pub owner: PrincipalSlug,
}

// ---------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// The unauthenticated key id hint; `None` when absent or empty.
    pub keyid: Option<String>,
    /// The decoded signature bytes.
    pub sig: Vec<u8>,
}

/// A DSSE JSON envelope, decoded (base64 undone) but not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<EnvelopeSignature>,
    digest: Hash,
    size: u64,
}

const ENVELOPE_FIELDS: &[&str] = &["payload", "payloadType", "signatures"];
const SIGNATURE_FIELDS: &[&str] = &["keyid", "sig"];

impl Envelope {
    /// Reads a DSSE JSON envelope of at most [`MAX_ENVELOPE_BYTES`]: the
    /// fields `payload`, `payloadType` and `signatures` (each `keyid`, `sig`),
    /// nothing else; base64 decoded.
    pub fn parse(bytes: &[u8]) -> Result<Unverified<Envelope>, DsseError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DsseError::TooLarge {
                size: bytes.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let value = jcs::parse_strict(bytes).map_err(DsseError::Json)?;
        let Value::Object(mut map) = value else {
            return Err(shape("envelope", "a JSON object", json_shown(&value)));
        };
        refuse_unknown(&map, "", ENVELOPE_FIELDS)?;

        let payload_text = take_string(&mut map, "payload", "base64 of the payload")?;
        let payload = decode_base64(&payload_text).ok_or_else(|| DsseError::Base64 {
            field: "payload".to_owned(),
        })?;
        let payload_type = take_string(&mut map, "payloadType", "the payload type string")?;
        let signatures = match map.remove("signatures") {
            Some(Value::Array(items)) => items,
            None => {
                return Err(shape(
                    "signatures",
                    "an array of {keyid, sig}",
                    "nothing".to_owned(),
                ));
            }
            Some(other) => {
                return Err(shape(
                    "signatures",
                    "an array of {keyid, sig}",
                    json_shown(&other),
                ));
            }
        };
        if signatures.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(shape(
                "signatures",
                "at most 16 signatures",
                format!("{} signatures", signatures.len()),
            ));
        }
        let signatures = signatures
            .into_iter()
            .enumerate()
            .map(|(i, item)| parse_signature(i, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Unverified(Envelope {
            payload_type,
            payload,
            signatures,
            digest: Hash::of(bytes),
            size: bytes.len() as u64,
        }))
    }

    /// The payload type, as the envelope states it.
    #[must_use]
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The decoded payload bytes (`SERIALIZED_BODY`).
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signatures.
    #[must_use]
    pub fn signatures(&self) -> &[EnvelopeSignature] {
        &self.signatures
    }

    /// The bytes the signatures cover: [`pae`] of the payload type and payload.
    #[must_use]
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }
}

fn parse_signature(index: usize, item: Value) -> Result<EnvelopeSignature, DsseError> {
    let Value::Object(mut map) = item else {
        return Err(shape(
            &format!("signatures[{index}]"),
            "an object {keyid, sig}",
            json_shown(&item),
        ));
    };
    let prefix = format!("signatures[{index}].");
    refuse_unknown(&map, &prefix, SIGNATURE_FIELDS)?;
    let keyid = match map.remove("keyid") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => {
            return Err(shape(
                &format!("{prefix}keyid"),
                "a key id string",
                json_shown(&other),
            ));
        }
    };
    let sig_field = format!("{prefix}sig");
    let sig_text = match map.remove("sig") {
        Some(Value::String(text)) => text,
        None => {
            return Err(shape(
                &sig_field,
                "base64 of the signature",
                "nothing".to_owned(),
            ));
        }
        Some(other) => {
            return Err(shape(
                &sig_field,
                "base64 of the signature",
                json_shown(&other),
            ));
        }
    };
    let sig = decode_base64(&sig_text).ok_or(DsseError::Base64 { field: sig_field })?;
    Ok(EnvelopeSignature { keyid, sig })
}

fn shape(field: &str, expected: &'static str, got: String) -> DsseError {
    DsseError::Shape {
        field: field.to_owned(),
        expected,
        got,
    }
}

fn json_shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let mut out: String = text.chars().take(80).collect();
        out.push('…');
        out
    } else {
        text
    }
}

fn refuse_unknown(map: &Map<String, Value>, prefix: &str, known: &[&str]) -> Result<(), DsseError> {
    match map.keys().find(|key| !known.contains(&key.as_str())) {
        Some(unknown) => Err(DsseError::Shape {
            field: format!("{prefix}{unknown}"),
            expected: "no such field (a DSSE envelope has payload, payloadType and signatures of {keyid, sig})",
            got: "an unknown field".to_owned(),
        }),
        None => Ok(()),
    }
}

fn take_string(
    map: &mut Map<String, Value>,
    field: &str,
    expected: &'static str,
) -> Result<String, DsseError> {
    match map.remove(field) {
        Some(Value::String(text)) => Ok(text),
        None => Err(shape(field, expected, "nothing".to_owned())),
        Some(other) => Err(shape(field, expected, json_shown(&other))),
    }
}

impl Unverified<Envelope> {
    /// Checks the signatures as the DSSE protocol says: each signature is
    /// verified over [`pae`] with the key its `keyid` names (or, without a
    /// `keyid`, with each registered key); at least `threshold` distinct
    /// registered keys must verify; then the payload type must be one of
    /// `supported_types`.
    ///
    /// asom's evidence path uses [`Unverified::verify`], which fixes the
    /// payload type to in-toto and the threshold to one.
    pub fn verify_signatures(
        self,
        keys: &ProducerKeys,
        threshold: usize,
        supported_types: &[&str],
    ) -> Result<Verified<Envelope>, DsseError> {
        let envelope = self.0;
        let message = envelope.pae();
        let mut accepted: BTreeMap<KeyId, VerifiedSigner> = BTreeMap::new();
        let mut tried: BTreeSet<String> = BTreeSet::new();
        let mut unknown: Vec<String> = Vec::new();
        for signature in &envelope.signatures {
            let candidates: Vec<&ProducerKey> = if let Some(keyid) = &signature.keyid {
                let Some(key) = keys.get(keyid) else {
                    unknown.push(keyid.clone());
                    continue;
                };
                vec![key]
            } else {
                keys.keys.values().collect()
            };
            let Ok(sig) = Signature::from_slice(&signature.sig) else {
                tried.extend(candidates.iter().map(|key| key.key_id.0.clone()));
                continue;
            };
            for key in candidates {
                tried.insert(key.key_id.0.clone());
                if key.key.verify_strict(&message, &sig).is_ok() {
                    accepted.insert(
                        key.key_id.clone(),
                        VerifiedSigner {
                            key_id: key.key_id.clone(),
                            owner: key.owner.clone(),
                        },
                    );
                    break;
                }
            }
        }
        let threshold = threshold.max(1);
        if accepted.len() < threshold {
            return Err(if !accepted.is_empty() {
                DsseError::ThresholdNotMet {
                    verified: accepted.len(),
                    threshold,
                }
            } else if tried.is_empty() && !unknown.is_empty() {
                DsseError::UnknownKeyId { key_ids: unknown }
            } else {
                DsseError::BadSignature {
                    key_ids: tried.into_iter().collect(),
                }
            });
        }
        if !supported_types.contains(&envelope.payload_type.as_str()) {
            return Err(DsseError::PayloadType {
                got: envelope.payload_type,
                expected: supported_types.join(", "),
            });
        }
        Ok(Verified {
            envelope_digest: envelope.digest,
            envelope_size: envelope.size,
            value: envelope,
            signers: accepted.into_values().collect(),
        })
    }

    /// Checks the envelope for asom: one signature by a registered producer key
    /// verifies, the payload type is `application/vnd.in-toto+json`, the
    /// signing keys belong to one producer, and the payload is an in-toto
    /// Statement v1 with a sha256 digest on every subject.
    pub fn verify(self, keys: &ProducerKeys) -> Result<Verified<Statement>, DsseError> {
        let verified = self.verify_signatures(keys, 1, &[IN_TOTO_PAYLOAD_TYPE])?;
        let owners: BTreeSet<&PrincipalSlug> = verified
            .signers
            .iter()
            .map(|signer| &signer.owner)
            .collect();
        if owners.len() > 1 {
            return Err(DsseError::SeveralProducers {
                owners: owners
                    .iter()
                    .map(|owner| owner.as_str().to_owned())
                    .collect(),
            });
        }
        let statement = Statement::parse(verified.value.payload())?;
        Ok(Verified {
            value: statement,
            signers: verified.signers,
            envelope_digest: verified.envelope_digest,
            envelope_size: verified.envelope_size,
        })
    }
}

// ---------------------------------------------------------------------------
// The statement
// ---------------------------------------------------------------------------

/// One subject of a statement: an artifact the statement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The subject's name (`_` when not meaningful).
    pub name: String,
    /// Its SHA-256 digest.
    pub sha256: Hash,
    /// Its `gitCommit` digest, when the subject is a commit.
    pub git_commit: Option<CommitSha>,
}

/// The result of an in-toto test run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestOutcome {
    /// `PASSED`: every test passed.
    Passed,
    /// `WARNED`: tests passed, some with warnings.
    Warned,
    /// `FAILED`: at least one test failed.
    Failed,
}

impl TestOutcome {
    /// The spelling in the predicate.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TestOutcome::Passed => "PASSED",
            TestOutcome::Warned => "WARNED",
            TestOutcome::Failed => "FAILED",
        }
    }
}

/// A test-result predicate (v0.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The run's result.
    pub result: TestOutcome,
    /// Number of configuration resource descriptors.
    pub configuration_len: usize,
    /// Link to the test run, if given.
    pub url: Option<String>,
    /// Tests that passed; `None` when the list is absent.
    pub passed_tests: Option<Vec<String>>,
    /// Tests that passed with warnings; `None` when absent.
    pub warned_tests: Option<Vec<String>>,
    /// Tests that failed; `None` when absent.
    pub failed_tests: Option<Vec<String>>,
}

impl TestResult {
    /// The counts the test lists give, or `None` when they list no test.
    #[must_use]
    pub fn counts(&self) -> Option<Counts> {
        let len = |list: &Option<Vec<String>>| list.as_ref().map_or(0, Vec::len) as u64;
        let (passed, warned, failed) = (
            len(&self.passed_tests),
            len(&self.warned_tests),
            len(&self.failed_tests),
        );
        let tests = passed + warned + failed;
        (tests > 0).then_some(Counts {
            tests,
            failures: failed,
            errors: 0,
            skipped: 0,
        })
    }

    /// The evidence status: `FAILED` fails; `PASSED` and `WARNED` pass
    /// (warnings are noted, they do not block).
    #[must_use]
    pub fn status(&self) -> Status {
        match self.result {
            TestOutcome::Failed => Status::Fail,
            TestOutcome::Passed | TestOutcome::Warned => Status::Pass,
        }
    }
}

/// What the predicate says, as far as asom reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// `https://in-toto.io/attestation/test-result/v0.1`.
    TestResult(TestResult),
    /// Any other predicate type: recorded by digest; the caller gives the status.
    Other,
}

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    subjects: Vec<Subject>,
    predicate_type: String,
    predicate: Value,
    predicate_digest: Hash,
    reading: Predicate,
}

impl Statement {
    /// The subjects, in statement order.
    #[must_use]
    pub fn subjects(&self) -> &[Subject] {
        &self.subjects
    }

    /// The `predicateType` URI.
    #[must_use]
    pub fn predicate_type(&self) -> &str {
        &self.predicate_type
    }

    /// The predicate object (empty when the statement has none).
    #[must_use]
    pub fn predicate(&self) -> &Value {
        &self.predicate
    }

    /// SHA-256 of the predicate's RFC 8785 canonical JSON.
    #[must_use]
    pub fn predicate_digest(&self) -> Hash {
        self.predicate_digest
    }

    /// What asom reads from the predicate.
    #[must_use]
    pub fn reading(&self) -> &Predicate {
        &self.reading
    }

    /// Parses a statement from a verified payload. Unknown fields are ignored
    /// (in-toto parsing rules); repeated keys are refused.
    fn parse(payload: &[u8]) -> Result<Self, DsseError> {
        let value = jcs::parse_strict(payload).map_err(DsseError::StatementJson)?;
        let Value::Object(mut map) = value else {
            return Err(statement_field(
                "statement",
                "a JSON object",
                json_shown(&value),
            ));
        };
        match map.remove("_type") {
            Some(Value::String(text)) if text == STATEMENT_V1 => {}
            Some(other) => {
                return Err(DsseError::StatementType {
                    got: json_shown(&other),
                });
            }
            None => {
                return Err(DsseError::StatementType {
                    got: "missing".to_owned(),
                });
            }
        }
        let subjects = match map.remove("subject") {
            None | Some(Value::Null) => return Err(DsseError::NoSubject),
            Some(Value::Array(items)) if items.is_empty() => return Err(DsseError::NoSubject),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| parse_subject(i, item))
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(statement_field(
                    "subject",
                    "a non-empty array of {name, digest}",
                    json_shown(&other),
                ));
            }
        };
        let predicate_type = match map.remove("predicateType") {
            Some(Value::String(text)) if !text.is_empty() => text,
            Some(other) => {
                return Err(statement_field(
                    "predicateType",
                    "a predicate type URI",
                    json_shown(&other),
                ));
            }
            None => {
                return Err(statement_field(
                    "predicateType",
                    "a predicate type URI",
                    "nothing".to_owned(),
                ));
            }
        };
        let predicate = match map.remove("predicate") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(object @ Value::Object(_)) => object,
            Some(other) => {
                return Err(statement_field(
                    "predicate",
                    "a JSON object",
                    json_shown(&other),
                ));
            }
        };
        let reading = if predicate_type == TEST_RESULT_PREDICATE {
            Predicate::TestResult(parse_test_result(&predicate)?)
        } else {
            Predicate::Other
        };
        Ok(Self {
            subjects,
            predicate_digest: evidence::canonical_digest(&predicate)
                .map_err(DsseError::StatementJson)?,
            predicate_type,
            predicate,
            reading,
        })
    }
}

fn statement_field(field: &str, expected: &'static str, got: String) -> DsseError {
    DsseError::StatementField {
        field: field.to_owned(),
        expected,
        got,
    }
}

fn parse_subject(index: usize, item: Value) -> Result<Subject, DsseError> {
    let Value::Object(mut map) = item else {
        return Err(statement_field(
            &format!("subject[{index}]"),
            "an object {name, digest}",
            json_shown(&item),
        ));
    };
    let name = match map.remove("name") {
        Some(Value::String(text)) if !text.is_empty() => text,
        Some(other) => {
            return Err(statement_field(
                &format!("subject[{index}].name"),
                "a non-empty name (\"_\" when the name is not meaningful)",
                json_shown(&other),
            ));
        }
        None => {
            return Err(statement_field(
                &format!("subject[{index}].name"),
                "a non-empty name (\"_\" when the name is not meaningful)",
                "nothing".to_owned(),
            ));
        }
    };
    let Some(Value::Object(mut digest)) = map.remove("digest") else {
        return Err(DsseError::SubjectDigest { index });
    };
    let sha256 = match digest.remove("sha256") {
        Some(Value::String(text)) if text.len() == 64 => {
            Hash::from_hex(&text).map_err(|_| DsseError::SubjectDigest { index })?
        }
        _ => return Err(DsseError::SubjectDigest { index }),
    };
    let git_commit = match digest.remove("gitCommit") {
        None => None,
        Some(Value::String(text)) => Some(
            CommitSha::parse_field(&format!("subject[{index}].digest.gitCommit"), &text).map_err(
                |err| DsseError::StatementField {
                    field: err.field,
                    expected: CommitSha::EXPECTED,
                    got: err.got,
                },
            )?,
        ),
        Some(other) => {
            return Err(statement_field(
                &format!("subject[{index}].digest.gitCommit"),
                CommitSha::EXPECTED,
                json_shown(&other),
            ));
        }
    };
    Ok(Subject {
        name,
        sha256,
        git_commit,
    })
}

fn parse_test_result(predicate: &Value) -> Result<TestResult, DsseError> {
    let field = |name: &str| predicate.get(name).filter(|value| !value.is_null());
    let result = match field("result") {
        Some(Value::String(text)) if text == "PASSED" => TestOutcome::Passed,
        Some(Value::String(text)) if text == "WARNED" => TestOutcome::Warned,
        Some(Value::String(text)) if text == "FAILED" => TestOutcome::Failed,
        Some(other) => {
            return Err(statement_field(
                "predicate.result",
                "one of PASSED, WARNED, FAILED",
                json_shown(other),
            ));
        }
        None => {
            return Err(statement_field(
                "predicate.result",
                "one of PASSED, WARNED, FAILED",
                "nothing".to_owned(),
            ));
        }
    };
    let configuration_len = match field("configuration") {
        Some(Value::Array(items)) => items.len(),
        Some(other) => {
            return Err(statement_field(
                "predicate.configuration",
                "an array of resource descriptors",
                json_shown(other),
            ));
        }
        None => {
            return Err(statement_field(
                "predicate.configuration",
                "an array of resource descriptors",
                "nothing".to_owned(),
            ));
        }
    };
    let url = match field("url") {
        None => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => {
            return Err(statement_field(
                "predicate.url",
                "a URL string",
                json_shown(other),
            ));
        }
    };
    let list = |name: &'static str| -> Result<Option<Vec<String>>, DsseError> {
        let path = format!("predicate.{name}");
        match field(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text.clone()),
                    other => Err(statement_field(
                        &path,
                        "an array of test names",
                        json_shown(other),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(statement_field(
                &path,
                "an array of test names",
                json_shown(other),
            )),
        }
    };
    let test_result = TestResult {
        result,
        configuration_len,
        url,
        passed_tests: list("passedTests")?,
        warned_tests: list("warnedTests")?,
        failed_tests: list("failedTests")?,
    };
    let failed = test_result.failed_tests.as_ref().map_or(0, Vec::len);
    if result != TestOutcome::Failed && failed > 0 {
        return Err(DsseError::InconsistentResult(format!(
            "result is {} but failedTests lists {failed} test(s)",
            result.as_str()
        )));
    }
    Ok(test_result)
}

/// Lists test names for a note, shortened.
fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut shown: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|name| name.chars().filter(|c| !c.is_control()).take(120).collect())
        .collect();
    if names.len() > SHOWN {
        shown.push(format!("and {} more", names.len() - SHOWN));
    }
    shown.join(", ")
}

impl Verified<Statement> {
    /// Builds the evidence record from a verified statement and the caller's
    /// binding in `builder` (control, commit, build, CRQ, environment, tenant,
    /// product, release, `source_ref`, test category).
    ///
    /// The form sets `produced_by` (the key owner), `checksum` and `size` (of
    /// the envelope bytes), `source_type` (`in-toto` unless given) and
    /// `attestation`. A test-result predicate sets `status` and `counts`; any
    /// other predicate needs the status in `builder`. When subjects carry
    /// `gitCommit` digests, the bound commit must be one of them (and is taken
    /// from them when the builder has none and they name one commit).
    pub fn to_evidence(&self, builder: EvidenceBuilder) -> Result<Evidence, DsseError> {
        let statement = &self.value;
        // `verify` guarantees one owner and at least one signer.
        let Some(signer) = self.signers.first() else {
            return Err(DsseError::BadSignature {
                key_ids: Vec::new(),
            });
        };
        let mut builder = builder
            .derive_producer(FORM, signer.owner.clone())?
            .default_source_type(SOURCE_TYPE);
        builder = self.bind_commit(builder)?;

        // The envelope bytes are the artifact the record indexes.
        builder = builder.derive_artifact(FORM, self.envelope_digest, self.envelope_size)?;

        let mut subject_sha256: Vec<Hash> = statement
            .subjects
            .iter()
            .map(|subject| subject.sha256)
            .collect();
        subject_sha256.sort();
        subject_sha256.dedup();
        builder = builder.attestation(AttestationRef {
            predicate_type: statement.predicate_type.clone(),
            predicate_digest: statement.predicate_digest,
            subject_sha256,
            key_id: signer.key_id.0.clone(),
        });

        match &statement.reading {
            Predicate::TestResult(result) => {
                builder = builder.derive_status(FORM, result.status())?;
                if let Some(counts) = result.counts() {
                    builder = builder.counts(counts);
                }
                let mut note = format!("in-toto test result {}", result.result.as_str());
                if let Some(failed) = result.failed_tests.as_ref().filter(|list| !list.is_empty()) {
                    note.push_str("; failed: ");
                    note.push_str(&name_list(failed));
                }
                if let Some(warned) = result.warned_tests.as_ref().filter(|list| !list.is_empty()) {
                    note.push_str("; warned: ");
                    note.push_str(&name_list(warned));
                }
                builder = builder.append_note(&note);
            }
            Predicate::Other => {
                if builder.current_status().is_none() {
                    return Err(DsseError::StatusRequired {
                        predicate_type: statement.predicate_type.clone(),
                    });
                }
            }
        }
        Ok(builder.build()?)
    }

    /// Checks (or fills) the commit binding against `gitCommit` subjects.
    fn bind_commit(&self, builder: EvidenceBuilder) -> Result<EvidenceBuilder, DsseError> {
        let commits: BTreeSet<&CommitSha> = self
            .value
            .subjects
            .iter()
            .filter_map(|subject| subject.git_commit.as_ref())
            .collect();
        if commits.is_empty() {
            return Ok(builder);
        }
        match builder.current_commit_sha() {
            Some(given) if commits.contains(given) => Ok(builder),
            Some(given) => Err(DsseError::CommitMismatch {
                given: given.as_str().to_owned(),
                subjects: commits
                    .iter()
                    .map(|commit| commit.as_str().to_owned())
                    .collect(),
            }),
            None if commits.len() == 1 => {
                let only = commits.into_iter().next().cloned();
                Ok(match only {
                    Some(commit) => builder.commit_sha(commit),
                    None => builder,
                })
            }
            None => Ok(builder),
        }
    }
}
