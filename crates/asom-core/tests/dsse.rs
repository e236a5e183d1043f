//! DSSE envelopes with in-toto statements: the spec's test vectors, the
//! mapping into evidence, a specific refusal for each kind of bad envelope,
//! and property tests that mutated envelopes never verify and never panic.

use asom_core::dsse::{
    DsseError, Envelope, IN_TOTO_PAYLOAD_TYPE, KeyId, Predicate, ProducerKeys,
    TEST_RESULT_PREDICATE, TestOutcome, pae,
};
use asom_core::evidence::{Counts, EvidenceBuilder, EvidenceError, Status};
use asom_ledger::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::datetime;

const COMMIT: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const SUBJECT_SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn ci_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

fn keys() -> ProducerKeys {
    let mut keys = ProducerKeys::new();
    keys.register(
        KeyId::new("ci-key-1").unwrap(),
        ci_key().verifying_key(),
        "ci-runner".parse().unwrap(),
    )
    .unwrap();
    keys
}

/// Signs `payload` as DSSE with each (keyid, key) and returns the envelope JSON.
fn envelope(
    payload_type: &str,
    payload: &[u8],
    signers: &[(Option<&str>, &SigningKey)],
) -> Vec<u8> {
    let message = pae(payload_type, payload);
    let signatures: Vec<Value> = signers
        .iter()
        .map(|(keyid, key)| {
            let sig = STANDARD.encode(key.sign(&message).to_bytes());
            match keyid {
                Some(keyid) => json!({"keyid": keyid, "sig": sig}),
                None => json!({"sig": sig}),
            }
        })
        .collect();
    serde_json::to_vec(&json!({
        "payload": STANDARD.encode(payload),
        "payloadType": payload_type,
        "signatures": signatures,
    }))
    .unwrap()
}

fn statement(predicate_type: &str, predicate: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "orders-pipeline.tar.gz", "digest": {"sha256": SUBJECT_SHA256}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }))
    .unwrap()
}

fn test_result(result: &str, passed: &[&str], failed: &[&str]) -> Value {
    json!({
        "result": result,
        "configuration": [{"name": ".github/workflows/ci.yml", "digest": {"gitBlob": "ebe4add40f63c3c98bc9b32ff1e736f04120b023"}}],
        "url": "https://ci.example/job/orders/742",
        "passedTests": passed,
        "warnedTests": [],
        "failedTests": failed,
    })
}

fn signed_test_result(result: &str, passed: &[&str], failed: &[&str]) -> Vec<u8> {
    envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement(TEST_RESULT_PREDICATE, &test_result(result, passed, failed)),
        &[(Some("ci-key-1"), &ci_key())],
    )
}

/// The caller's binding: everything the envelope does not say.
fn binding() -> EvidenceBuilder {
    EvidenceBuilder::new()
        .control_id("C-08".parse().unwrap())
        .source_ref(
            "https://ci.example/job/orders/742/attestations/t5.dsse.json"
                .parse()
                .unwrap(),
        )
        .commit_sha(COMMIT.parse().unwrap())
        .build_id("orders-742".parse().unwrap())
        .crq_ref("CHG0030001".parse().unwrap())
        .environment("ci".parse().unwrap())
        .created_at(datetime!(2025-01-31 09:30:00 UTC))
        .test_category("T5".parse().unwrap())
        .tenant("acme".parse().unwrap())
        .product("orders-pipeline".parse().unwrap())
        .release("orders-pipeline@1.4.0".parse().unwrap())
}

fn verify(
    bytes: &[u8],
) -> Result<asom_core::dsse::Verified<asom_core::dsse::Statement>, DsseError> {
    Envelope::parse(bytes)?.verify(&keys())
}

// ---------------------------------------------------------------------------
// The spec's vectors
// ---------------------------------------------------------------------------

#[test]
fn pae_matches_the_dsse_protocol_test_vector() {
    // protocol.md, "Test Vectors".
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
}

#[test]
fn pae_counts_bytes_and_keeps_the_trailing_space_of_an_empty_body() {
    assert_eq!(
        pae(IN_TOTO_PAYLOAD_TYPE, b""),
        b"DSSEv1 28 application/vnd.in-toto+json 0 "
    );
    assert_eq!(pae("", b"x"), b"DSSEv1 0  1 x");
    // LEN is the UTF-8 byte length: "ä" is two bytes.
    assert_eq!(
        pae("ä", b"12345678901"),
        "DSSEv1 2 ä 11 12345678901".as_bytes()
    );
}

#[test]
fn the_published_ed25519_vectors_are_accepted_and_rejected_as_expected() {
    let doc: Value = serde_json::from_str(include_str!("data/evidence/dsse-vectors.json")).unwrap();
    for vector in doc["vectors"].as_array().unwrap() {
        let id = vector["id"].as_str().unwrap();
        let mut keys = ProducerKeys::new();
        for name in vector["trustedKeys"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            let seed: [u8; 32] = hex::decode(doc["keys"][name]["seed"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            let public = SigningKey::from_bytes(&seed).verifying_key();
            assert_eq!(
                hex::encode(public.as_bytes()),
                doc["keys"][name]["public"].as_str().unwrap()
            );
            keys.register(
                KeyId::new(name).unwrap(),
                public,
                "ci-runner".parse().unwrap(),
            )
            .unwrap();
        }
        let bytes = serde_json::to_vec(&vector["envelope"]).unwrap();
        let unverified = Envelope::parse(&bytes).unwrap();
        if vector["expect"] == "accept" {
            assert_eq!(
                hex::encode(unverified.peek().pae()),
                vector["pae"].as_str().unwrap(),
                "{id}"
            );
        }
        let threshold = usize::try_from(vector["threshold"].as_u64().unwrap()).unwrap();
        let supported: Vec<&str> = vector["supportedPayloadTypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let result = unverified.verify_signatures(&keys, threshold, &supported);
        match vector["expect"].as_str().unwrap() {
            "accept" => assert!(result.is_ok(), "{id}: {result:?}"),
            _ => assert!(result.is_err(), "{id} must be rejected"),
        }
    }
}

// ---------------------------------------------------------------------------
// Accepted envelopes become evidence
// ---------------------------------------------------------------------------

#[test]
fn a_passing_test_result_becomes_a_passing_record() {
    let bytes = signed_test_result("PASSED", &["idempotent rerun", "late data backfill"], &[]);
    let verified = verify(&bytes).unwrap();
    assert_eq!(verified.signers().len(), 1);
    assert_eq!(verified.signers()[0].key_id.as_str(), "ci-key-1");
    let Predicate::TestResult(result) = verified.value().reading() else {
        panic!("a test result predicate");
    };
    assert_eq!(result.result, TestOutcome::Passed);
    assert_eq!(result.configuration_len, 1);

    let evidence = verified.to_evidence(binding()).unwrap();
    assert_eq!(evidence.status(), Status::Pass);
    assert_eq!(
        evidence.counts(),
        Some(Counts {
            tests: 2,
            failures: 0,
            errors: 0,
            skipped: 0
        })
    );
    // The producer is whoever owns the key, not whatever the caller says.
    assert_eq!(evidence.produced_by().as_str(), "ci-runner");
    assert_eq!(evidence.source_type().as_str(), "in-toto");
    // The record indexes the envelope bytes.
    assert_eq!(evidence.checksum(), Hash::of(&bytes));
    assert_eq!(evidence.size(), Some(bytes.len() as u64));
    let attestation = evidence.attestation().unwrap();
    assert_eq!(attestation.predicate_type, TEST_RESULT_PREDICATE);
    assert_eq!(
        attestation.subject_sha256,
        [Hash::from_hex(SUBJECT_SHA256).unwrap()]
    );
    assert_eq!(attestation.key_id, "ci-key-1");
    let canonical_predicate = asom_ledger::jcs::canonicalize(&test_result(
        "PASSED",
        &["idempotent rerun", "late data backfill"],
        &[],
    ))
    .unwrap();
    assert_eq!(attestation.predicate_digest, Hash::of(&canonical_predicate));
    assert_eq!(evidence.notes(), Some("in-toto test result PASSED"));
    // The binding is kept.
    assert_eq!(evidence.control_id().to_string(), "C-08");
    assert_eq!(evidence.commit_sha().as_str(), COMMIT);
    assert_eq!(evidence.crq_ref().unwrap().as_str(), "CHG0030001");
    assert_eq!(evidence.test_category().unwrap().to_string(), "T5");

    // The stored record reads back, attestation included.
    let stored =
        asom_core::evidence::Evidence::from_stored_json(&evidence.canonical_json()).unwrap();
    assert_eq!(stored, evidence);
}

#[test]
fn a_failed_test_result_becomes_a_failing_record_that_names_the_failures() {
    let bytes = signed_test_result("FAILED", &["idempotent rerun"], &["late data backfill"]);
    let evidence = verify(&bytes).unwrap().to_evidence(binding()).unwrap();
    assert_eq!(evidence.status(), Status::Fail);
    assert_eq!(evidence.counts().unwrap().failures, 1);
    assert_eq!(evidence.counts().unwrap().tests, 2);
    assert_eq!(
        evidence.notes(),
        Some("in-toto test result FAILED; failed: late data backfill")
    );
}

#[test]
fn a_warned_test_result_passes_and_notes_the_warnings() {
    let mut predicate = test_result("WARNED", &["a"], &[]);
    predicate["warnedTests"] = json!(["slow join"]);
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement(TEST_RESULT_PREDICATE, &predicate),
        &[(Some("ci-key-1"), &ci_key())],
    );
    let evidence = verify(&bytes).unwrap().to_evidence(binding()).unwrap();
    assert_eq!(evidence.status(), Status::Pass);
    assert_eq!(
        evidence.notes(),
        Some("in-toto test result WARNED; warned: slow join")
    );
}

#[test]
fn another_predicate_becomes_a_generic_record_with_the_callers_status() {
    let predicate =
        json!({"buildDefinition": {"buildType": "https://ci.example/v1"}, "runDetails": {}});
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement("https://slsa.dev/provenance/v1", &predicate),
        &[(Some("ci-key-1"), &ci_key())],
    );
    let verified = verify(&bytes).unwrap();
    assert_eq!(*verified.value().reading(), Predicate::Other);

    let err = verified.to_evidence(binding()).unwrap_err();
    assert_eq!(
        err,
        DsseError::StatusRequired {
            predicate_type: "https://slsa.dev/provenance/v1".to_owned()
        }
    );

    let evidence = verified
        .to_evidence(binding().status(Status::Pass))
        .unwrap();
    assert_eq!(evidence.status(), Status::Pass);
    assert!(evidence.counts().is_none());
    let attestation = evidence.attestation().unwrap();
    assert_eq!(attestation.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(
        attestation.predicate_digest,
        Hash::of(&asom_ledger::jcs::canonicalize(&predicate).unwrap())
    );
}

#[test]
fn the_evidence_id_is_stable_for_the_same_envelope_and_changes_with_it() {
    let bytes = signed_test_result("PASSED", &["a"], &[]);
    let first = verify(&bytes).unwrap().to_evidence(binding()).unwrap();
    let second = verify(&bytes).unwrap().to_evidence(binding()).unwrap();
    assert_eq!(first.id(), second.id());
    let other = signed_test_result("PASSED", &["a", "b"], &[]);
    let third = verify(&other).unwrap().to_evidence(binding()).unwrap();
    assert_ne!(first.id(), third.id());
    let rebound = verify(&bytes)
        .unwrap()
        .to_evidence(binding().build_id("orders-743".parse().unwrap()))
        .unwrap();
    assert_ne!(first.id(), rebound.id());
}

#[test]
fn a_signature_without_keyid_is_checked_against_every_registered_key() {
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement(TEST_RESULT_PREDICATE, &test_result("PASSED", &["a"], &[])),
        &[(None, &ci_key())],
    );
    let verified = verify(&bytes).unwrap();
    assert_eq!(verified.signers()[0].key_id.as_str(), "ci-key-1");
}

#[test]
fn url_safe_and_unpadded_base64_are_accepted() {
    let payload = statement(TEST_RESULT_PREDICATE, &test_result("PASSED", &["a"], &[]));
    let sig = ci_key()
        .sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload))
        .to_bytes();
    let bytes = serde_json::to_vec(&json!({
        "payload": URL_SAFE_NO_PAD.encode(&payload),
        "payloadType": IN_TOTO_PAYLOAD_TYPE,
        "signatures": [{"keyid": "ci-key-1", "sig": URL_SAFE_NO_PAD.encode(sig)}],
    }))
    .unwrap();
    assert!(verify(&bytes).is_ok());
}

#[test]
fn the_commit_in_git_commit_subjects_must_be_the_bound_one() {
    let mut statement: Value = serde_json::from_slice(&statement(
        TEST_RESULT_PREDICATE,
        &test_result("PASSED", &["a"], &[]),
    ))
    .unwrap();
    statement["subject"][0]["digest"]["gitCommit"] =
        json!("1111111111111111111111111111111111111111");
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &serde_json::to_vec(&statement).unwrap(),
        &[(Some("ci-key-1"), &ci_key())],
    );
    let verified = verify(&bytes).unwrap();
    let err = verified.to_evidence(binding()).unwrap_err();
    assert!(matches!(err, DsseError::CommitMismatch { .. }), "{err:?}");
    // Without a bound commit, the statement's one commit is used.
    let no_commit = EvidenceBuilder::new()
        .control_id("C-08".parse().unwrap())
        .source_ref("https://ci.example/t5.dsse.json".parse().unwrap())
        .build_id("orders-742".parse().unwrap())
        .environment("ci".parse().unwrap())
        .created_at(datetime!(2025-01-31 09:30:00 UTC))
        .tenant("acme".parse().unwrap())
        .product("orders-pipeline".parse().unwrap());
    let evidence = verified.to_evidence(no_commit).unwrap();
    assert_eq!(
        evidence.commit_sha().as_str(),
        "1111111111111111111111111111111111111111"
    );
}

#[test]
fn a_caller_cannot_override_what_the_envelope_proves() {
    let bytes = signed_test_result("FAILED", &[], &["late data backfill"]);
    let verified = verify(&bytes).unwrap();
    let err = verified
        .to_evidence(binding().status(Status::Pass))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DsseError::Evidence(EvidenceError::ConflictsWithForm {
                field: "status",
                ..
            })
        ),
        "{err:?}"
    );
    let err = verified
        .to_evidence(binding().produced_by("someone-else".parse().unwrap()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DsseError::Evidence(EvidenceError::ConflictsWithForm {
                field: "produced_by",
                ..
            })
        ),
        "{err:?}"
    );
    let err = verified
        .to_evidence(binding().checksum(Hash::of(b"other")))
        .unwrap_err();
    assert!(
        matches!(
            err,
            DsseError::Evidence(EvidenceError::ConflictsWithForm {
                field: "checksum",
                ..
            })
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// Refusals, each with its reason
// ---------------------------------------------------------------------------

#[test]
fn a_bad_signature_is_refused() {
    // Signed by a key that is not the one the keyid names.
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement(TEST_RESULT_PREDICATE, &test_result("PASSED", &["a"], &[])),
        &[(Some("ci-key-1"), &other_key())],
    );
    let err = verify(&bytes).unwrap_err();
    assert_eq!(
        err,
        DsseError::BadSignature {
            key_ids: vec!["ci-key-1".to_owned()]
        }
    );
    assert!(
        err.to_string()
            .starts_with("DSSE envelope has a bad signature"),
        "{err}"
    );

    // The payload changed after signing.
    let good = signed_test_result("FAILED", &[], &["x"]);
    let mut value: Value = serde_json::from_slice(&good).unwrap();
    let forged = statement(TEST_RESULT_PREDICATE, &test_result("PASSED", &["x"], &[]));
    value["payload"] = json!(STANDARD.encode(forged));
    let err = verify(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(matches!(err, DsseError::BadSignature { .. }), "{err:?}");

    // A signature of the wrong length.
    value["signatures"][0]["sig"] = json!(STANDARD.encode([0u8; 12]));
    let err = verify(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert!(matches!(err, DsseError::BadSignature { .. }), "{err:?}");
}

#[test]
fn an_unknown_key_id_is_refused() {
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement(TEST_RESULT_PREDICATE, &test_result("PASSED", &["a"], &[])),
        &[(Some("laptop-key"), &other_key())],
    );
    let err = verify(&bytes).unwrap_err();
    assert_eq!(
        err,
        DsseError::UnknownKeyId {
            key_ids: vec!["laptop-key".to_owned()]
        }
    );
    assert!(
        err.to_string()
            .contains("register the producer's public key"),
        "{err}"
    );
    // With no keys registered at all, an envelope without keyid cannot verify.
    let bytes = envelope(IN_TOTO_PAYLOAD_TYPE, b"{}", &[(None, &ci_key())]);
    let err = Envelope::parse(&bytes)
        .unwrap()
        .verify(&ProducerKeys::new())
        .unwrap_err();
    assert!(matches!(err, DsseError::BadSignature { .. }), "{err:?}");
}

#[test]
fn a_payload_type_that_is_not_in_toto_is_refused() {
    let bytes = envelope(
        "application/json",
        &statement(TEST_RESULT_PREDICATE, &test_result("PASSED", &["a"], &[])),
        &[(Some("ci-key-1"), &ci_key())],
    );
    let err = verify(&bytes).unwrap_err();
    assert_eq!(
        err,
        DsseError::PayloadType {
            got: "application/json".to_owned(),
            expected: IN_TOTO_PAYLOAD_TYPE.to_owned()
        }
    );
    assert!(err.to_string().contains("is not in-toto"), "{err}");
}

#[test]
fn malformed_base64_is_refused_with_the_field() {
    let good = signed_test_result("PASSED", &["a"], &[]);
    let mut value: Value = serde_json::from_slice(&good).unwrap();
    value["payload"] = json!("not base64!");
    let err = Envelope::parse(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert_eq!(
        err,
        DsseError::Base64 {
            field: "payload".to_owned()
        }
    );
    assert!(
        err.to_string().contains("malformed base64 in payload"),
        "{err}"
    );

    let mut value: Value = serde_json::from_slice(&good).unwrap();
    value["signatures"][0]["sig"] = json!("A+B-");
    let err = Envelope::parse(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert_eq!(
        err,
        DsseError::Base64 {
            field: "signatures[0].sig".to_owned()
        }
    );
}

#[test]
fn a_statement_of_the_wrong_type_is_refused() {
    let mut value: Value = serde_json::from_slice(&statement(
        TEST_RESULT_PREDICATE,
        &test_result("PASSED", &["a"], &[]),
    ))
    .unwrap();
    value["_type"] = json!("https://in-toto.io/Statement/v0.1");
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &serde_json::to_vec(&value).unwrap(),
        &[(Some("ci-key-1"), &ci_key())],
    );
    let err = verify(&bytes).unwrap_err();
    assert_eq!(
        err,
        DsseError::StatementType {
            got: "\"https://in-toto.io/Statement/v0.1\"".to_owned()
        }
    );
    value.as_object_mut().unwrap().remove("_type");
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &serde_json::to_vec(&value).unwrap(),
        &[(Some("ci-key-1"), &ci_key())],
    );
    assert_eq!(
        verify(&bytes).unwrap_err(),
        DsseError::StatementType {
            got: "missing".to_owned()
        }
    );
}

fn signed_statement(value: &Value) -> Vec<u8> {
    envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &serde_json::to_vec(value).unwrap(),
        &[(Some("ci-key-1"), &ci_key())],
    )
}

#[test]
fn a_statement_without_subject_or_subject_digest_is_refused() {
    let base: Value = serde_json::from_slice(&statement(
        TEST_RESULT_PREDICATE,
        &test_result("PASSED", &["a"], &[]),
    ))
    .unwrap();

    let mut value = base.clone();
    value["subject"] = json!([]);
    assert_eq!(
        verify(&signed_statement(&value)).unwrap_err(),
        DsseError::NoSubject
    );
    value.as_object_mut().unwrap().remove("subject");
    assert_eq!(
        verify(&signed_statement(&value)).unwrap_err(),
        DsseError::NoSubject
    );

    let mut value = base.clone();
    value["subject"][0]["digest"] = json!({"gitCommit": COMMIT});
    let err = verify(&signed_statement(&value)).unwrap_err();
    assert_eq!(err, DsseError::SubjectDigest { index: 0 });
    assert!(
        err.to_string().contains("subject[0] has no sha256 digest"),
        "{err}"
    );

    let mut value = base.clone();
    value["subject"][0]["digest"] = json!({"sha256": "abc"});
    assert_eq!(
        verify(&signed_statement(&value)).unwrap_err(),
        DsseError::SubjectDigest { index: 0 }
    );

    let mut value = base;
    value["subject"][0].as_object_mut().unwrap().remove("name");
    let err = verify(&signed_statement(&value)).unwrap_err();
    assert!(
        matches!(&err, DsseError::StatementField { field, .. } if field == "subject[0].name"),
        "{err:?}"
    );
}

#[test]
fn malformed_test_results_are_refused_with_the_field() {
    let mut predicate = test_result("PASSED", &["a"], &[]);
    predicate["result"] = json!("GREEN");
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement(TEST_RESULT_PREDICATE, &predicate),
        &[(Some("ci-key-1"), &ci_key())],
    );
    let err = verify(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "in-toto statement: predicate.result: expected one of PASSED, WARNED, FAILED, got \"GREEN\""
    );

    let mut predicate = test_result("PASSED", &["a"], &[]);
    predicate.as_object_mut().unwrap().remove("configuration");
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement(TEST_RESULT_PREDICATE, &predicate),
        &[(Some("ci-key-1"), &ci_key())],
    );
    assert!(
        matches!(verify(&bytes).unwrap_err(), DsseError::StatementField { field, .. } if field == "predicate.configuration")
    );

    let bytes = signed_test_result("PASSED", &["a"], &["b"]);
    let err = verify(&bytes).unwrap_err();
    assert_eq!(
        err,
        DsseError::InconsistentResult(
            "result is PASSED but failedTests lists 1 test(s)".to_owned()
        )
    );
}

#[test]
fn envelopes_of_the_wrong_shape_are_refused() {
    let err = Envelope::parse(b"not json").unwrap_err();
    assert!(matches!(err, DsseError::Json(_)), "{err:?}");
    assert!(err.to_string().contains("line 1"), "{err}");

    let err = Envelope::parse(br#"{"payload":"","payloadType":"x","signatures":[]}"#).unwrap_err();
    assert_eq!(err, DsseError::NoSignatures);

    let err =
        Envelope::parse(br#"{"payload":"","payloadType":"x","signatures":[{"sig":""}],"extra":1}"#)
            .unwrap_err();
    assert!(
        matches!(&err, DsseError::Shape { field, .. } if field == "extra"),
        "{err:?}"
    );

    let err = Envelope::parse(br#"{"payload":"","signatures":[{"sig":""}]}"#).unwrap_err();
    assert!(
        matches!(&err, DsseError::Shape { field, .. } if field == "payloadType"),
        "{err:?}"
    );

    let err = Envelope::parse(br#"{"payload":5,"payloadType":"x","signatures":[{"sig":""}]}"#)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "DSSE envelope: payload: expected base64 of the payload, got 5"
    );

    let err = Envelope::parse(br#"{"payload":"","payloadType":"x","signatures":[{"keyid":"a"}]}"#)
        .unwrap_err();
    assert!(
        matches!(&err, DsseError::Shape { field, .. } if field == "signatures[0].sig"),
        "{err:?}"
    );

    let err = Envelope::parse(br#"{"payload":"","payload":"","payloadType":"x","signatures":[]}"#)
        .unwrap_err();
    assert!(
        err.to_string().contains("duplicate key \"payload\""),
        "{err}"
    );

    // A statement that is not JSON, validly signed.
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        b"hello",
        &[(Some("ci-key-1"), &ci_key())],
    );
    assert!(matches!(
        verify(&bytes).unwrap_err(),
        DsseError::StatementJson(_)
    ));
}

#[test]
fn two_producers_signing_one_envelope_is_refused() {
    let mut keys = keys();
    keys.register(
        KeyId::new("other-key").unwrap(),
        other_key().verifying_key(),
        "other-runner".parse().unwrap(),
    )
    .unwrap();
    let bytes = envelope(
        IN_TOTO_PAYLOAD_TYPE,
        &statement(TEST_RESULT_PREDICATE, &test_result("PASSED", &["a"], &[])),
        &[
            (Some("ci-key-1"), &ci_key()),
            (Some("other-key"), &other_key()),
        ],
    );
    let err = Envelope::parse(&bytes).unwrap().verify(&keys).unwrap_err();
    assert!(matches!(err, DsseError::SeveralProducers { .. }), "{err:?}");
}

#[test]
fn key_registration_refuses_repeats_and_weak_keys() {
    let mut keys = keys();
    let err = keys
        .register(
            KeyId::new("ci-key-1").unwrap(),
            other_key().verifying_key(),
            "ci-runner".parse().unwrap(),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("already registered under this id"),
        "{err}"
    );
    let err = keys
        .register(
            KeyId::new("ci-key-2").unwrap(),
            ci_key().verifying_key(),
            "ci-runner".parse().unwrap(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("already registered under another id"),
        "{err}"
    );
    // The identity point is a small-order (weak) key.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let err = keys
        .register(
            KeyId::new("weak").unwrap(),
            weak,
            "ci-runner".parse().unwrap(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("weak"), "{err}");
    assert!(KeyId::new("").is_err());
    assert_eq!(keys.len(), 1);
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// What a verified envelope says: any mutation that verifies must leave this
/// unchanged (only encodings that decode to the same bytes, such as a base64
/// alphabet swap, may verify).
fn decoded(bytes: &[u8]) -> Option<(String, Vec<u8>, Vec<Vec<u8>>)> {
    let envelope = Envelope::parse(bytes).ok()?;
    let envelope = envelope.peek();
    Some((
        envelope.payload_type().to_owned(),
        envelope.payload().to_vec(),
        envelope
            .signatures()
            .iter()
            .map(|s| s.sig.clone())
            .collect(),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_envelopes_never_verify_with_other_content(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
    ) {
        let original = signed_test_result("PASSED", &["idempotent rerun"], &[]);
        let expected = decoded(&original).unwrap();
        let mut bytes = original.clone();
        for (index, byte) in &mutations {
            let at = index.index(bytes.len());
            bytes[at] = *byte;
        }
        // Never panics; verifies only if the signed content is unchanged.
        if let Ok(verified) = verify(&bytes) {
            prop_assert_eq!(decoded(&bytes).unwrap(), expected.clone());
            // And the record then indexes the bytes actually received.
            let evidence = verified.to_evidence(binding()).unwrap();
            prop_assert_eq!(evidence.checksum(), Hash::of(&bytes));
        }
    }

    #[test]
    fn random_bytes_never_panic_the_envelope_parser(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(envelope) = Envelope::parse(&bytes) {
            prop_assert!(envelope.verify(&keys()).is_err());
        }
    }

    #[test]
    fn random_payloads_signed_by_the_producer_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..256)) {
        let bytes = envelope(IN_TOTO_PAYLOAD_TYPE, &payload, &[(Some("ci-key-1"), &ci_key())]);
        let _ = verify(&bytes).map(|verified| verified.to_evidence(binding()));
    }
}

#[test]
fn every_single_byte_change_to_the_signed_content_fails() {
    // Exhaustive over positions for a few replacement bytes: whatever verifies
    // has the same decoded content.
    let original = signed_test_result("PASSED", &["a"], &[]);
    let expected = decoded(&original).unwrap();
    let mut verified_changes = 0;
    for at in 0..original.len() {
        for byte in [b'A', b'0', b'+', b'-', b'/', b'_', b'=', b' ', b'"', 0x80] {
            if original[at] == byte {
                continue;
            }
            let mut bytes = original.clone();
            bytes[at] = byte;
            if verify(&bytes).is_ok() {
                assert_eq!(
                    decoded(&bytes).unwrap(),
                    expected,
                    "change at byte {at} to {byte:#x}"
                );
                verified_changes += 1;
            }
        }
    }
    // Only alphabet swaps inside base64 ('+' and '-', '/' and '_') can decode
    // to the same bytes; there are few of them.
    assert!(verified_changes <= 8, "{verified_changes} changes verified");
}
