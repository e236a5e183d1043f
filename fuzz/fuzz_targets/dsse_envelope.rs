//! DSSE envelopes from producers (`Envelope::parse`, then `verify` against
//! the fixed registered key `ci-key-1`). The fuzzer cannot forge a
//! signature, so each parsed envelope is also re-signed with the registered
//! key: that envelope must pass the signature check, and the code after it
//! (the in-toto Statement parser, `to_evidence`) runs on fuzzed payloads.
//! Evidence made from an envelope must read back from its stored form.
#![no_main]

use asom_core::dsse::{DsseError, Envelope, pae};
use asom_core::evidence::Evidence;
use asom_fuzz::{PRODUCER_KEY, PRODUCER_KEY_ID, PRODUCER_KEYS, binding};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(unverified) = Envelope::parse(data) else {
        return;
    };
    let envelope = unverified.peek().clone();
    assert!(!envelope.signatures().is_empty());
    check(unverified.verify(&PRODUCER_KEYS), false);

    let sig = PRODUCER_KEY.sign(&pae(envelope.payload_type(), envelope.payload()));
    let resigned = serde_json::to_vec(&json!({
        "payload": STANDARD.encode(envelope.payload()),
        "payloadType": envelope.payload_type(),
        "signatures": [{"keyid": PRODUCER_KEY_ID, "sig": STANDARD.encode(sig.to_bytes())}],
    }))
    .expect("JSON serializes");
    let Ok(reparsed) = Envelope::parse(&resigned) else {
        // Only the size limit may refuse an envelope we wrote.
        assert!(resigned.len() > asom_core::dsse::MAX_ENVELOPE_BYTES);
        return;
    };
    assert_eq!(reparsed.peek().payload(), envelope.payload());
    assert_eq!(reparsed.peek().payload_type(), envelope.payload_type());
    check(reparsed.verify(&PRODUCER_KEYS), true);
});

fn check(
    result: Result<asom_core::dsse::Verified<asom_core::dsse::Statement>, DsseError>,
    signed_by_us: bool,
) {
    let verified = match result {
        Ok(verified) => verified,
        Err(
            e @ (DsseError::UnknownKeyId { .. }
            | DsseError::BadSignature { .. }
            | DsseError::ThresholdNotMet { .. }),
        ) => {
            assert!(
                !signed_by_us,
                "an envelope signed with the registered key is refused: {e}"
            );
            return;
        }
        Err(_) => return,
    };
    let statement = verified.value();
    let _ = (
        statement.subjects(),
        statement.predicate_type(),
        statement.reading(),
    );
    let _ = statement.predicate_digest();
    if let Ok(evidence) = verified.to_evidence(binding()) {
        let stored = Evidence::from_stored_json(&evidence.canonical_json()).unwrap_or_else(|e| {
            panic!("evidence from an envelope does not read back from its stored form: {e}")
        });
        assert_eq!(stored, evidence);
    }
}
