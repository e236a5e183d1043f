//! The plain JSON evidence form: round trips, content ids, and one specific
//! error for each kind of malformed input.

use asom_core::evidence::{
    BuildId, Category, CommitSha, ControlId, Counts, CrqRef, Environment, Evidence,
    EvidenceBuilder, EvidenceError, FieldError, JiraKey, PrincipalSlug, Product, ReleaseRef,
    SourceRef, SourceType, Status, Tenant, parse_record,
};
use asom_ledger::Hash;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const RECORD: &str = include_str!("data/evidence/record.json");
const RECORD_CANONICAL: &str = include_str!("data/evidence/record.canonical.json");

fn now() -> OffsetDateTime {
    datetime!(2025-02-01 12:00:00 UTC)
}

fn record_value() -> Value {
    serde_json::from_str(RECORD).unwrap()
}

fn parse_value(value: &Value) -> Result<Evidence, EvidenceError> {
    parse_record(value.to_string().as_bytes(), now())
}

fn with(field: &str, new: Value) -> Value {
    let mut value = record_value();
    value[field] = new;
    value
}

fn without(field: &str) -> Value {
    let mut value = record_value();
    value.as_object_mut().unwrap().remove(field);
    value
}

fn field_error(result: Result<Evidence, EvidenceError>) -> FieldError {
    match result {
        Err(EvidenceError::Field(err)) => err,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn the_sample_record_parses_with_every_field() {
    let evidence = parse_record(RECORD.as_bytes(), now()).unwrap();
    assert_eq!(evidence.control_id().to_string(), "C-06");
    assert_eq!(evidence.produced_by().as_str(), "ci-runner");
    assert_eq!(evidence.source_type().as_str(), "dq-report");
    assert_eq!(
        evidence.source_ref().as_str(),
        "https://ci.example/job/orders/742/artifacts/dq-report.json"
    );
    // Hex digests are stored lowercase.
    assert_eq!(
        evidence.checksum().to_hex(),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
    assert_eq!(evidence.size(), Some(18204));
    assert_eq!(
        evidence.commit_sha().as_str(),
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    );
    assert_eq!(evidence.build_id().as_str(), "orders-742");
    // Jira keys are a set: stored sorted.
    let keys: Vec<&str> = evidence.jira_refs().iter().map(JiraKey::as_str).collect();
    assert_eq!(keys, ["DATA-12", "DATA-88"]);
    assert_eq!(evidence.crq_ref().map(CrqRef::as_str), Some("CHG0030001"));
    assert_eq!(evidence.environment().as_str(), "ci");
    assert_eq!(evidence.status(), Status::Pass);
    // The +01:00 offset is normalised to UTC.
    assert_eq!(
        evidence.created_at(),
        Some(datetime!(2025-01-31 09:30:00 UTC))
    );
    assert_eq!(evidence.notes(), Some("42 DQ rules executed"));
    assert_eq!(
        evidence.test_category().map(|c| c.to_string()).as_deref(),
        Some("T3")
    );
    assert_eq!(evidence.tenant().as_str(), "acme");
    assert_eq!(evidence.product().as_str(), "orders-pipeline");
    assert_eq!(
        evidence.release().map(ReleaseRef::as_str),
        Some("orders-pipeline@1.4.0")
    );
    assert_eq!(evidence.release().unwrap().version(), "1.4.0");
    assert_eq!(
        evidence.counts(),
        Some(Counts {
            tests: 42,
            failures: 0,
            errors: 0,
            skipped: 0
        })
    );
    assert!(evidence.attestation().is_none());
}

#[test]
fn the_canonical_json_is_rfc8785_and_the_id_is_its_sha256() {
    let evidence = parse_record(RECORD.as_bytes(), now()).unwrap();
    let canonical = evidence.canonical_json();
    assert_eq!(
        String::from_utf8(canonical.clone()).unwrap(),
        RECORD_CANONICAL
    );
    assert_eq!(evidence.id().hash(), Hash::of(RECORD_CANONICAL.as_bytes()));
    // Pinned: a change here changes every evidence id in every ledger.
    assert_eq!(
        evidence.id().to_hex(),
        "88e7bcb8b897a7c79fa526ee3c9a10b4e6637415d7eefea7340bce4ef49a466f"
    );
    // The canonical bytes are already canonical for the ledger's JCS.
    assert_eq!(
        asom_ledger::jcs::canonicalize_text(&canonical).unwrap(),
        canonical
    );
}

#[test]
fn a_record_round_trips_through_its_stored_and_shown_forms() {
    let evidence = parse_record(RECORD.as_bytes(), now()).unwrap();

    let stored = Evidence::from_stored_json(&evidence.canonical_json()).unwrap();
    assert_eq!(stored, evidence);
    assert_eq!(stored.id(), evidence.id());

    // `evidence show --format json` output, with the id, is accepted back.
    let shown = evidence.to_json_with_id();
    assert_eq!(shown["evidence_id"], json!(evidence.id().to_hex()));
    let again = parse_value(&shown).unwrap();
    assert_eq!(again, evidence);

    // serde reads stored records with the same checks.
    let via_serde: Evidence = serde_json::from_slice(&evidence.canonical_json()).unwrap();
    assert_eq!(via_serde, evidence);
}

#[test]
fn the_id_does_not_depend_on_layout_key_order_or_spelling() {
    let first = parse_record(RECORD.as_bytes(), now()).unwrap();
    // Compact, keys in another order, Jira keys in another order, the same
    // instant at another offset, hex and Jira/CRQ keys in either case, `kind`
    // given.
    let mut value = record_value();
    value["jira_refs"] = json!(["data-12", "DATA-88"]);
    value["crq_ref"] = json!("chg0030001");
    value["commit_sha"] = json!("4B825DC642CB6EB9A060E54BF8D69288FBEE4904");
    value["created_at"] = json!("2025-01-31T09:30:00Z");
    value["checksum"] = json!("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    value["kind"] = json!("evidence");
    let reordered: serde_json::Map<String, Value> = value
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .rev()
        .collect();
    let second = parse_record(Value::Object(reordered).to_string().as_bytes(), now()).unwrap();
    assert_eq!(first.id(), second.id());
    // And the clock does not matter when created_at is given.
    let third = parse_record(RECORD.as_bytes(), datetime!(2030-01-01 00:00:00 UTC)).unwrap();
    assert_eq!(first.id(), third.id());
}

#[test]
fn the_id_changes_when_any_field_changes() {
    let base = parse_record(RECORD.as_bytes(), now()).unwrap().id();
    let changes: Vec<(&str, Value)> = vec![
        ("control_id", json!("C-07")),
        ("produced_by", json!("ci-runner-2")),
        ("source_type", json!("dq-report-v2")),
        (
            "source_ref",
            json!("https://ci.example/job/orders/743/artifacts/dq-report.json"),
        ),
        (
            "checksum",
            json!("0000000000000000000000000000000000000000000000000000000000000000"),
        ),
        ("size", json!(18205)),
        (
            "commit_sha",
            json!("4b825dc642cb6eb9a060e54bf8d69288fbee4905"),
        ),
        ("build_id", json!("orders-743")),
        ("jira_refs", json!(["DATA-12"])),
        ("crq_ref", json!("CHG0030002")),
        ("environment", json!("qa")),
        ("status", json!("fail")),
        ("created_at", json!("2025-01-31T09:30:01Z")),
        ("notes", json!("43 DQ rules executed")),
        ("test_category", json!("T5")),
        ("tenant", json!("globex")),
        ("release", json!("orders-pipeline@1.4.1")),
        (
            "counts",
            json!({"tests": 43, "failures": 0, "errors": 0, "skipped": 0}),
        ),
    ];
    let mut seen = std::collections::BTreeSet::from([base]);
    for (field, new) in changes {
        let evidence =
            parse_value(&with(field, new)).unwrap_or_else(|err| panic!("{field}: {err}"));
        assert!(
            seen.insert(evidence.id()),
            "changing {field} must change the id"
        );
    }
    // Product and release change together (a release belongs to its product).
    let mut value = with("product", json!("billing"));
    value["release"] = json!("billing@1.4.0");
    assert!(seen.insert(parse_value(&value).unwrap().id()));
    // Dropping an optional field changes it too.
    for field in [
        "size",
        "crq_ref",
        "notes",
        "test_category",
        "release",
        "counts",
    ] {
        let dropped = parse_value(&without(field)).unwrap_or_else(|err| panic!("{field}: {err}"));
        assert!(
            seen.insert(dropped.id()),
            "dropping {field} must change the id"
        );
    }
}

#[test]
fn optional_fields_are_omitted_and_created_at_defaults_to_now() {
    let minimal = json!({
        "control_id": "C-07",
        "produced_by": "ci-runner",
        "source_type": "build-config",
        "source_ref": "s3://artifacts/orders/742/build.json",
        "checksum": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "commit_sha": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        "build_id": "orders-742",
        "environment": "ci",
        "status": "info",
        "tenant": "acme",
        "product": "orders-pipeline",
        "crq_ref": null
    });
    let evidence = parse_value(&minimal).unwrap();
    assert_eq!(evidence.created_at(), Some(now()));
    assert!(evidence.crq_ref().is_none());
    let stored: Value = serde_json::from_slice(&evidence.canonical_json()).unwrap();
    let keys: Vec<&str> = stored
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "build_id",
            "checksum",
            "commit_sha",
            "control_id",
            "created_at",
            "environment",
            "jira_refs",
            "kind",
            "produced_by",
            "product",
            "source_ref",
            "source_type",
            "status",
            "tenant"
        ]
    );
    assert_eq!(stored["created_at"], json!("2025-02-01T12:00:00Z"));
}

#[test]
fn the_builder_makes_the_same_record_as_the_json_form() {
    let parsed = parse_record(RECORD.as_bytes(), now()).unwrap();
    let built = EvidenceBuilder::new()
        .control_id("C-06".parse::<ControlId>().unwrap())
        .produced_by("ci-runner".parse::<PrincipalSlug>().unwrap())
        .source_type("dq-report".parse::<SourceType>().unwrap())
        .source_ref(
            "https://ci.example/job/orders/742/artifacts/dq-report.json"
                .parse::<SourceRef>()
                .unwrap(),
        )
        .checksum(
            Hash::from_hex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
                .unwrap(),
        )
        .size(18204)
        .commit_sha(
            "4B825DC642CB6EB9A060E54BF8D69288FBEE4904"
                .parse::<CommitSha>()
                .unwrap(),
        )
        .build_id("orders-742".parse::<BuildId>().unwrap())
        .jira_refs(["DATA-88".parse().unwrap(), "DATA-12".parse().unwrap()])
        .crq_ref("CHG0030001".parse().unwrap())
        .environment("ci".parse::<Environment>().unwrap())
        .status(Status::Pass)
        .created_at(datetime!(2025-01-31 10:30:00 +01:00))
        .notes("42 DQ rules executed")
        .test_category("T3".parse::<Category>().unwrap())
        .tenant("acme".parse::<Tenant>().unwrap())
        .product("orders-pipeline".parse::<Product>().unwrap())
        .release("orders-pipeline@1.4.0".parse().unwrap())
        .counts(Counts {
            tests: 42,
            failures: 0,
            errors: 0,
            skipped: 0,
        })
        .build()
        .unwrap();
    assert_eq!(built, parsed);
    assert_eq!(built.id(), parsed.id());
}

#[test]
fn the_builder_names_a_missing_field() {
    let err = EvidenceBuilder::new()
        .control_id("C-01".parse().unwrap())
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            EvidenceError::MissingField {
                field: "produced_by",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("missing field produced_by: "),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Malformed input: each gives its specific error.
// ---------------------------------------------------------------------------

#[test]
fn bad_json_gives_the_line_and_column() {
    let err = parse_record(
        b"{\n  \"control_id\": \"C-01\",\n  \"status\": pass\n}",
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, EvidenceError::Json(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("evidence record: "), "{text}");
    assert!(text.contains("line 3"), "{text}");

    let err = parse_record(b"", now()).unwrap_err();
    assert!(matches!(err, EvidenceError::Json(_)), "{err:?}");
    let err = parse_record(&RECORD.as_bytes()[..RECORD.len() / 2], now()).unwrap_err();
    assert!(matches!(err, EvidenceError::Json(_)), "{err:?}");
    let err = parse_record(b"\xff\xfe{}", now()).unwrap_err();
    assert!(matches!(err, EvidenceError::Json(_)), "{err:?}");
}

#[test]
fn a_repeated_field_is_refused() {
    let text = RECORD.replacen(
        "\"status\": \"pass\"",
        "\"status\": \"pass\", \"status\": \"fail\"",
        1,
    );
    let err = parse_record(text.as_bytes(), now()).unwrap_err();
    assert!(
        err.to_string().contains("duplicate key \"status\""),
        "{err}"
    );
}

#[test]
fn a_value_that_is_not_an_object_is_refused() {
    let err = parse_record(b"[1, 2]", now()).unwrap_err();
    assert_eq!(err, EvidenceError::NotAnObject { got: "an array" });
}

#[test]
fn an_unknown_field_is_refused_by_name() {
    let err = parse_value(&with("aproved_by", json!("alice"))).unwrap_err();
    assert!(
        matches!(&err, EvidenceError::UnknownField { field, .. } if field == "aproved_by"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("unknown field \"aproved_by\" in evidence record"),
        "{text}"
    );
    assert!(
        text.contains("control_id"),
        "the message lists the known fields: {text}"
    );

    let err = parse_value(&with(
        "counts",
        json!({"tests": 1, "failures": 0, "errors": 0, "skipped": 0, "flaky": 1}),
    ))
    .unwrap_err();
    assert!(
        matches!(&err, EvidenceError::UnknownField { field, within: "counts", .. } if field == "flaky"),
        "{err:?}"
    );
}

#[test]
fn a_missing_required_field_is_named() {
    for field in [
        "control_id",
        "produced_by",
        "source_type",
        "source_ref",
        "checksum",
        "commit_sha",
        "build_id",
        "environment",
        "status",
        "tenant",
        "product",
    ] {
        let err = parse_value(&without(field)).unwrap_err();
        assert!(
            matches!(&err, EvidenceError::MissingField { field: missing, .. } if *missing == field),
            "{field}: {err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("missing field {field}: ")),
            "{err}"
        );
    }
    // A null required field is missing too, and says so.
    let err = field_error_or_missing(parse_value(&with("status", Value::Null)));
    assert_eq!(err, "missing field status: one of pass, fail, info");
}

fn field_error_or_missing(result: Result<Evidence, EvidenceError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn the_commit_sha_message_names_the_field_and_the_expected_form() {
    let err = field_error(parse_value(&with("commit_sha", json!("xyz"))));
    assert_eq!(
        err.to_string(),
        "commit_sha: expected 40 or 64 hex digits, got \"xyz\""
    );
    // A SHA-256 repository's 64-digit commit ids are fine.
    assert!(parse_value(&with("commit_sha", json!("a".repeat(64)))).is_ok());
    assert!(parse_value(&with("commit_sha", json!("a".repeat(41)))).is_err());
}

#[test]
fn wrong_json_types_are_named_with_the_value_found() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "commit_sha",
            json!(5),
            "commit_sha: expected 40 or 64 hex digits, got 5",
        ),
        (
            "status",
            json!(true),
            "status: expected one of pass, fail, info, got true",
        ),
        (
            "size",
            json!("18204"),
            "size: expected an integer from 0 to 9007199254740991, got \"18204\"",
        ),
        (
            "size",
            json!(-1),
            "size: expected an integer from 0 to 9007199254740991, got -1",
        ),
        (
            "size",
            json!(1.5),
            "size: expected an integer from 0 to 9007199254740991, got 1.5",
        ),
        (
            "jira_refs",
            json!("DATA-1"),
            "jira_refs: expected an array of Jira issue keys like [\"PROJ-123\"], got \"DATA-1\"",
        ),
        (
            "jira_refs",
            json!(["DATA-1", 7]),
            "jira_refs[1]: expected a Jira issue key like PROJ-123, got 7",
        ),
        (
            "counts",
            json!([1, 0, 0, 0]),
            "counts: expected an object {\"tests\", \"failures\", \"errors\", \"skipped\"} of integers, got [1,0,0,0]",
        ),
        (
            "counts",
            json!({"tests": "42", "failures": 0, "errors": 0, "skipped": 0}),
            "counts.tests: expected an integer from 0 to 9007199254740991, got \"42\"",
        ),
        (
            "created_at",
            json!(1_738_315_800),
            "created_at: expected an RFC 3339 timestamp like 2025-01-31T09:30:00Z, got 1738315800",
        ),
    ];
    for (field, value, message) in cases {
        let err = field_error(parse_value(&with(field, value)));
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn bad_digests_are_refused() {
    for bad in [
        "xyz",
        "9f86d0",
        &"g".repeat(64),
        &"a".repeat(63),
        &"a".repeat(65),
    ] {
        let err = field_error(parse_value(&with("checksum", json!(bad))));
        assert_eq!(err.field, "checksum");
        assert_eq!(err.expected, "a SHA-256 digest of 64 hex digits");
    }
}

#[test]
fn bad_enum_and_format_values_are_refused_with_what_is_expected() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "status",
            json!("passed"),
            "status: expected one of pass, fail, info, got \"passed\"",
        ),
        (
            "status",
            json!("PASS"),
            "status: expected one of pass, fail, info, got \"PASS\"",
        ),
        (
            "control_id",
            json!("C-12"),
            "control_id: expected a control id from C-01 to C-11, got \"C-12\"",
        ),
        (
            "control_id",
            json!("C6"),
            "control_id: expected a control id from C-01 to C-11, got \"C6\"",
        ),
        (
            "test_category",
            json!("T9"),
            "test_category: expected a test category from T1 to T8, got \"T9\"",
        ),
        (
            "environment",
            json!("Prod"),
            "environment: expected an environment slug such as ci, dev, qa or prod, got \"Prod\"",
        ),
        (
            "produced_by",
            json!("CI Runner"),
            "produced_by: expected a principal slug (1-64 lowercase letters, digits, '.', '_' or '-'), got \"CI Runner\"",
        ),
        (
            "jira_refs",
            json!(["DATA12"]),
            "jira_refs[0]: expected a Jira issue key like PROJ-123, got \"DATA12\"",
        ),
        (
            "crq_ref",
            json!("not yet"),
            "crq_ref: expected a change request number like CHG0030001 or CRQ0000042, got \"not yet\"",
        ),
        (
            "created_at",
            json!("31/01/2025"),
            "created_at: expected an RFC 3339 timestamp like 2025-01-31T09:30:00Z, got \"31/01/2025\"",
        ),
        (
            "release",
            json!("1.4.0"),
            "release: expected a release as product@version, e.g. orders-pipeline@1.4.0, got \"1.4.0\"",
        ),
        (
            "build_id",
            json!(" orders-742"),
            "build_id: expected a build id of 1-256 characters without control characters or surrounding spaces, got \" orders-742\"",
        ),
    ];
    for (field, value, message) in cases {
        let err = field_error(parse_value(&with(field, value)));
        assert_eq!(err.to_string(), message);
    }
    let err = field_error(parse_value(&with("source_ref", json!("reports/dq.json"))));
    assert_eq!(err.field, "source_ref");
    assert!(err.expected.contains("absolute URI"), "{err}");
    let err = field_error(parse_value(&with("kind", json!("decision"))));
    assert_eq!(
        err.to_string(),
        "kind: expected \"evidence\" (or omit the field), got \"decision\""
    );
}

#[test]
fn cross_field_rules_are_enforced() {
    // A release of another product.
    let err = field_error(parse_value(&with("release", json!("billing@1.4.0"))));
    assert_eq!(
        err.to_string(),
        "release: expected a release of product \"orders-pipeline\" (orders-pipeline@<version>), got \"billing@1.4.0\""
    );
    // A pass with failures.
    let err = field_error(parse_value(&with(
        "counts",
        json!({"tests": 42, "failures": 2, "errors": 0, "skipped": 0}),
    )));
    assert_eq!(
        err.to_string(),
        "status: expected \"fail\" because counts report 2 failure(s) and 0 error(s), got \"pass\""
    );
    // A pass where nothing ran.
    let err = field_error(parse_value(&with(
        "counts",
        json!({"tests": 3, "failures": 0, "errors": 0, "skipped": 3}),
    )));
    assert!(
        err.to_string()
            .starts_with("status: expected \"info\" because no test ran"),
        "{err}"
    );
    // Counts that do not add up.
    let err = field_error(parse_value(&with(
        "counts",
        json!({"tests": 1, "failures": 1, "errors": 1, "skipped": 0}),
    )));
    assert_eq!(err.field, "counts.tests");
    // A repeated Jira key.
    let err = field_error(parse_value(&with("jira_refs", json!(["DATA-1", "DATA-1"]))));
    assert_eq!(
        err.to_string(),
        "jira_refs: expected each Jira key once, got DATA-1 twice"
    );
}

#[test]
fn a_wrong_evidence_id_is_refused() {
    let err = parse_value(&with(
        "evidence_id",
        json!("0000000000000000000000000000000000000000000000000000000000000000"),
    ))
    .unwrap_err();
    assert!(matches!(err, EvidenceError::IdMismatch { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("88e7bcb8b897a7c79fa526ee3c9a10b4e6637415d7eefea7340bce4ef49a466f")
    );
}

#[test]
fn only_a_verified_envelope_may_set_the_attestation() {
    let attestation = json!({
        "predicate_type": "https://slsa.dev/provenance/v1",
        "predicate_digest": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "subject_sha256": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
        "key_id": "ci-key-1"
    });
    let err = field_error(parse_value(&with("attestation", attestation.clone())));
    assert_eq!(err.field, "attestation");
    assert!(
        err.expected.contains("record the envelope instead"),
        "{err}"
    );
    // A stored record (the ledger's own bytes) may carry it.
    let mut stored = with("attestation", attestation);
    stored["kind"] = json!("evidence");
    let evidence = Evidence::from_stored_json(stored.to_string().as_bytes()).unwrap();
    assert_eq!(evidence.attestation().unwrap().key_id, "ci-key-1");
}

#[test]
fn oversized_input_and_unsafe_integers_are_refused() {
    let mut value = record_value();
    value["notes"] = json!("x".repeat(70 * 1024));
    let err = parse_value(&value).unwrap_err();
    assert!(
        matches!(err, EvidenceError::TooLarge { limit: 65536, .. }),
        "{err:?}"
    );

    let err = field_error(parse_value(&with("size", json!(9_007_199_254_740_992_u64))));
    assert_eq!(err.field, "size");

    let err = field_error(parse_value(&with("notes", json!("y".repeat(4097)))));
    assert_eq!(err.field, "notes");
    let err = field_error(parse_value(&with("notes", json!("bell \u{7}"))));
    assert_eq!(err.field, "notes");
}

#[test]
fn field_types_parse_on_their_own_with_their_field_names() {
    assert_eq!(
        "xyz".parse::<CommitSha>().unwrap_err().to_string(),
        "commit_sha: expected 40 or 64 hex digits, got \"xyz\""
    );
    assert_eq!(
        "nope".parse::<Status>().unwrap_err().to_string(),
        "status: expected one of pass, fail, info, got \"nope\""
    );
    assert_eq!(
        CommitSha::parse_field("--commit", "xyz")
            .unwrap_err()
            .to_string(),
        "--commit: expected 40 or 64 hex digits, got \"xyz\""
    );
    let long = "x".repeat(500);
    let err = long.parse::<BuildId>().unwrap_err();
    assert!(
        err.got.chars().count() < 100,
        "long values are shortened in messages"
    );
}
