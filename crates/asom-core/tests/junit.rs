//! JUnit XML summaries: both root forms, nested suites, outcome counting,
//! cross-checks with the count attributes, the defences against hostile input,
//! and the mapping into an evidence record.

// JUnit is a product name, not code to put in backticks.
#![allow(clippy::doc_markdown)]

use asom_core::evidence::{Counts, EvidenceBuilder, EvidenceError, Status};
use asom_core::junit::{JunitError, MAX_DEPTH, summarise, to_evidence};
use asom_ledger::Hash;
use proptest::prelude::*;
use time::macros::datetime;

const LIMIT: usize = 1024 * 1024;

const NESTED_PASSING: &str = include_str!("data/evidence/junit/nested-passing.xml");
const SINGLE_SUITE: &str = include_str!("data/evidence/junit/single-suite.xml");
const FAILING: &str = include_str!("data/evidence/junit/failing.xml");
const ALL_SKIPPED: &str = include_str!("data/evidence/junit/all-skipped.xml");
const DOCTYPE: &str = include_str!("data/evidence/junit/doctype.xml");
const EXTERNAL_ENTITY: &str = include_str!("data/evidence/junit/external-entity.xml");
const MISMATCH: &str = include_str!("data/evidence/junit/mismatch.xml");
const NO_TESTCASES: &str = include_str!("data/evidence/junit/no-testcases.xml");
const TRUNCATED: &str = include_str!("data/evidence/junit/truncated.xml");
const NOT_XML: &str = include_str!("data/evidence/junit/not-xml.txt");

fn counts(tests: u64, failures: u64, errors: u64, skipped: u64) -> Counts {
    Counts {
        tests,
        failures,
        errors,
        skipped,
    }
}

fn binding() -> EvidenceBuilder {
    EvidenceBuilder::new()
        .control_id("C-06".parse().unwrap())
        .produced_by("ci-runner".parse().unwrap())
        .source_ref(
            "https://ci.example/job/orders/742/artifacts/junit.xml"
                .parse()
                .unwrap(),
        )
        .commit_sha("4b825dc642cb6eb9a060e54bf8d69288fbee4904".parse().unwrap())
        .build_id("orders-742".parse().unwrap())
        .environment("ci".parse().unwrap())
        .created_at(datetime!(2025-01-31 09:30:00 UTC))
        .test_category("T3".parse().unwrap())
        .tenant("acme".parse().unwrap())
        .product("orders-pipeline".parse().unwrap())
}

#[test]
fn a_testsuites_root_with_nested_suites_is_summed() {
    let summary = summarise(NESTED_PASSING.as_bytes(), LIMIT).unwrap();
    assert_eq!(summary.counts(), counts(6, 0, 0, 1));
    assert_eq!(summary.suites(), 3);
    assert_eq!(summary.status(), Status::Pass);
}

#[test]
fn a_single_testsuite_root_is_read() {
    let summary = summarise(SINGLE_SUITE.as_bytes(), LIMIT).unwrap();
    assert_eq!(summary.counts(), counts(3, 0, 0, 0));
    assert_eq!(summary.suites(), 1);
    assert_eq!(summary.status(), Status::Pass);
    assert_eq!(
        summary.note(),
        "JUnit: 3 tests in 1 suite(s), 0 failed, 0 errored, 0 skipped"
    );
}

#[test]
fn failures_errors_and_skips_are_counted_from_the_test_cases() {
    let summary = summarise(FAILING.as_bytes(), LIMIT).unwrap();
    assert_eq!(summary.counts(), counts(4, 1, 1, 1));
    assert_eq!(summary.status(), Status::Fail);

    // An error alone fails too.
    let report =
        r#"<testsuite><testcase name="a"/><testcase name="b"><error/></testcase></testsuite>"#;
    let summary = summarise(report.as_bytes(), LIMIT).unwrap();
    assert_eq!(summary.counts(), counts(2, 0, 1, 0));
    assert_eq!(summary.status(), Status::Fail);

    // A test case with both a failure and an error counts once, as a failure.
    let report = r#"<testsuite><testcase name="a"><failure/><error/></testcase></testsuite>"#;
    assert_eq!(
        summarise(report.as_bytes(), LIMIT).unwrap().counts(),
        counts(1, 1, 0, 0)
    );
}

#[test]
fn a_report_where_everything_was_skipped_is_info_and_says_so() {
    let summary = summarise(ALL_SKIPPED.as_bytes(), LIMIT).unwrap();
    assert_eq!(summary.counts(), counts(2, 0, 0, 2));
    assert_eq!(summary.status(), Status::Info);
    assert!(
        summary
            .note()
            .contains("all 2 test cases were skipped, so the status is info"),
        "{}",
        summary.note()
    );
}

#[test]
fn a_report_becomes_a_record_bound_to_the_callers_commit_and_category() {
    let evidence = to_evidence(FAILING.as_bytes(), LIMIT, binding()).unwrap();
    assert_eq!(evidence.status(), Status::Fail);
    assert_eq!(evidence.counts(), Some(counts(4, 1, 1, 1)));
    assert_eq!(evidence.checksum(), Hash::of(FAILING.as_bytes()));
    assert_eq!(evidence.size(), Some(FAILING.len() as u64));
    assert_eq!(evidence.source_type().as_str(), "junit");
    assert_eq!(evidence.test_category().unwrap().to_string(), "T3");
    assert_eq!(
        evidence.notes(),
        Some("JUnit: 4 tests in 1 suite(s), 1 failed, 1 errored, 1 skipped")
    );
    // Same report, same binding: same id. Another report: another id.
    let again = to_evidence(FAILING.as_bytes(), LIMIT, binding()).unwrap();
    assert_eq!(again.id(), evidence.id());
    let other = to_evidence(SINGLE_SUITE.as_bytes(), LIMIT, binding()).unwrap();
    assert_ne!(other.id(), evidence.id());
    assert_eq!(other.status(), Status::Pass);

    let skipped = to_evidence(ALL_SKIPPED.as_bytes(), LIMIT, binding()).unwrap();
    assert_eq!(skipped.status(), Status::Info);
}

#[test]
fn the_record_needs_a_category_and_cannot_contradict_the_report() {
    let no_category = EvidenceBuilder::new()
        .control_id("C-06".parse().unwrap())
        .produced_by("ci-runner".parse().unwrap());
    let err = to_evidence(SINGLE_SUITE.as_bytes(), LIMIT, no_category).unwrap_err();
    assert!(
        matches!(
            err,
            JunitError::Evidence(EvidenceError::MissingField {
                field: "test_category",
                ..
            })
        ),
        "{err:?}"
    );
    let err = to_evidence(FAILING.as_bytes(), LIMIT, binding().status(Status::Pass)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "status: the JUnit report sets this field to \"fail\", but \"pass\" was given; leave it unset"
    );
    let err = to_evidence(FAILING.as_bytes(), LIMIT, binding().size(1)).unwrap_err();
    assert!(
        matches!(
            err,
            JunitError::Evidence(EvidenceError::ConflictsWithForm { field: "size", .. })
        ),
        "{err:?}"
    );
    // The same digest given by the caller (`--sha256`) is fine.
    assert!(
        to_evidence(
            FAILING.as_bytes(),
            LIMIT,
            binding().checksum(Hash::of(FAILING.as_bytes()))
        )
        .is_ok()
    );
}

// ---------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------

#[test]
fn a_count_mismatch_names_the_suite_the_line_and_both_numbers() {
    let err = summarise(MISMATCH.as_bytes(), LIMIT).unwrap_err();
    let JunitError::CountMismatch {
        at,
        attribute,
        declared,
        counted,
        ..
    } = &err
    else {
        panic!("expected a count mismatch, got {err:?}");
    };
    assert_eq!((*attribute, *declared, *counted), ("tests", 3, 2));
    assert_eq!(at.line, 3);
    assert_eq!(
        err.to_string(),
        "JUnit counts do not match: <testsuite name=\"dq\"> at line 3, column 3 (byte 54) says tests=\"3\" but its test cases give 2; fix the report generator or the report"
    );
    // A root that miscounts its nested suites is caught too.
    let report = r#"<testsuites failures="0"><testsuite><testcase name="a"><failure/></testcase></testsuite></testsuites>"#;
    let err = summarise(report.as_bytes(), LIMIT).unwrap_err();
    assert!(
        matches!(
            err,
            JunitError::CountMismatch {
                element: "testsuites",
                attribute: "failures",
                declared: 0,
                counted: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_doctype_is_refused_so_no_entity_is_ever_expanded() {
    let err = summarise(DOCTYPE.as_bytes(), LIMIT).unwrap_err();
    assert!(
        matches!(err, JunitError::Doctype { at } if at.line == 2),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("DOCTYPE declarations are refused"),
        "{err}"
    );
    let err = summarise(EXTERNAL_ENTITY.as_bytes(), LIMIT).unwrap_err();
    assert!(matches!(err, JunitError::Doctype { .. }), "{err:?}");
}

#[test]
fn undefined_entities_are_refused_and_predefined_ones_are_fine() {
    let report = "<testsuite>\n  <testcase name=\"a\">x &xxe;</testcase></testsuite>";
    let err = summarise(report.as_bytes(), LIMIT).unwrap_err();
    assert!(
        matches!(&err, JunitError::UndefinedEntity { name, .. } if name == "xxe"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "JUnit report uses the undefined entity &xxe; at line 2, column 24 (byte 35)"
    );

    let report = r#"<testsuite name="a &lt;&amp;&gt; b"><testcase name="&#x41;">&quot;&apos;&#65;</testcase></testsuite>"#;
    assert_eq!(
        summarise(report.as_bytes(), LIMIT).unwrap().counts(),
        counts(1, 0, 0, 0)
    );
}

#[test]
fn input_that_is_not_xml_is_refused_with_a_position() {
    let err = summarise(NOT_XML.as_bytes(), LIMIT).unwrap_err();
    assert_eq!(
        err.to_string(),
        "JUnit report is not well-formed XML at line 1, column 1 (byte 0): text before the root element; a JUnit report starts with <testsuites> or <testsuite>"
    );
    let err = summarise(b"<testsuite><testcase/></testsuite>\ntrailing", LIMIT).unwrap_err();
    assert!(
        matches!(err, JunitError::TrailingContent { at } if at.line == 2 && at.column == 1),
        "{err:?}"
    );

    let err = summarise(b"<testsuite><testcase name=\"a\"></testsuite>", LIMIT).unwrap_err();
    let JunitError::Xml { at, .. } = &err else {
        panic!("expected an XML error, got {err:?}");
    };
    assert_eq!(at.line, 1);
    assert!(
        err.to_string()
            .starts_with("JUnit report is not well-formed XML at line 1, column"),
        "{err}"
    );

    let err = summarise(b"<testsuite name=\"a><testcase/></testsuite>", LIMIT).unwrap_err();
    assert!(matches!(err, JunitError::Xml { .. }), "{err:?}");

    let err = summarise(b"", LIMIT).unwrap_err();
    assert_eq!(err, JunitError::NoRoot);
    let err = summarise(b"   \n  ", LIMIT).unwrap_err();
    assert_eq!(err, JunitError::NoRoot);
}

#[test]
fn a_truncated_report_names_the_unclosed_element() {
    let err = summarise(TRUNCATED.as_bytes(), LIMIT).unwrap_err();
    let JunitError::Truncated { element, at } = &err else {
        panic!("expected truncation, got {err:?}");
    };
    assert_eq!(element, "testcase");
    assert_eq!(at.line, 5);
    // Cut inside a tag.
    let cut = &SINGLE_SUITE.as_bytes()[..SINGLE_SUITE.len() - 20];
    assert!(summarise(cut, LIMIT).is_err());
    // Cut at every byte: always an error, never a panic.
    for end in 0..FAILING.len() - 1 {
        assert!(
            summarise(&FAILING.as_bytes()[..end], LIMIT).is_err(),
            "cut at {end}"
        );
    }
}

#[test]
fn a_report_without_test_cases_is_refused() {
    let err = summarise(NO_TESTCASES.as_bytes(), LIMIT).unwrap_err();
    assert_eq!(err, JunitError::NoTestCases);
    assert!(err.to_string().contains("proves nothing"), "{err}");
}

#[test]
fn the_root_and_the_placement_of_elements_are_checked() {
    let err = summarise(b"<html><body/></html>", LIMIT).unwrap_err();
    assert!(
        matches!(&err, JunitError::Root { found, .. } if found == "html"),
        "{err:?}"
    );

    let err = summarise(b"<testsuites><testcase name=\"a\"/></testsuites>", LIMIT).unwrap_err();
    assert!(
        matches!(&err, JunitError::Misplaced { element, parent, .. } if element == "testcase" && parent == "testsuites"),
        "{err:?}"
    );

    let err = summarise(
        b"<testsuite><testcase name=\"a\"/></testsuite><testsuite/>",
        LIMIT,
    )
    .unwrap_err();
    assert!(matches!(err, JunitError::TrailingContent { .. }), "{err:?}");

    let err = summarise(b"<testsuite tests=\"many\"><testcase/></testsuite>", LIMIT).unwrap_err();
    assert_eq!(
        err.to_string(),
        "JUnit report: attribute tests=\"many\" on <testsuite> at line 1, column 1 (byte 0): expected a non-negative integer"
    );
    let err = summarise(b"<testsuite tests=\"-1\"><testcase/></testsuite>", LIMIT).unwrap_err();
    assert!(matches!(err, JunitError::Attribute { .. }), "{err:?}");
}

#[test]
fn size_encoding_and_depth_limits_hold() {
    let err = summarise(SINGLE_SUITE.as_bytes(), 100).unwrap_err();
    assert_eq!(
        err,
        JunitError::TooLarge {
            size: SINGLE_SUITE.len(),
            limit: 100
        }
    );

    let err = summarise(b"<testsuite name=\"\xff\"><testcase/></testsuite>", LIMIT).unwrap_err();
    assert_eq!(err, JunitError::NotUtf8 { byte: 17 });

    let deep = format!(
        "<testsuite>{}<testcase/>{}</testsuite>",
        "<x>".repeat(MAX_DEPTH + 1),
        "</x>".repeat(MAX_DEPTH + 1)
    );
    let err = summarise(deep.as_bytes(), LIMIT).unwrap_err();
    assert!(matches!(err, JunitError::TooDeep { .. }), "{err:?}");

    // A byte order mark is fine.
    let with_bom = [b"\xef\xbb\xbf".as_slice(), SINGLE_SUITE.as_bytes()].concat();
    assert_eq!(
        summarise(&with_bom, LIMIT).unwrap().counts(),
        counts(3, 0, 0, 0)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = summarise(&bytes, LIMIT);
    }

    #[test]
    fn mutated_reports_never_panic(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut bytes = NESTED_PASSING.as_bytes().to_vec();
        for (index, byte) in &mutations {
            let at = index.index(bytes.len());
            bytes[at] = *byte;
        }
        if let Ok(summary) = summarise(&bytes, LIMIT) {
            let counts = summary.counts();
            prop_assert!(counts.tests >= counts.failures + counts.errors + counts.skipped);
            prop_assert!(counts.tests > 0);
        }
    }

    #[test]
    fn random_xml_like_text_never_panics(
        parts in proptest::collection::vec(
            prop::sample::select(vec![
                "<testsuites>", "</testsuites>", "<testsuite tests=\"1\">", "</testsuite>",
                "<testcase name=\"a\">", "</testcase>", "<testcase/>", "<failure/>", "<error/>",
                "<skipped/>", "&amp;", "&bogus;", "<!DOCTYPE x>", "<![CDATA[x]]>", "<!-- c -->",
                "<?pi x?>", "text", "<", ">", "\"", "=",
            ]),
            0..40,
        )
    ) {
        let text: String = parts.concat();
        let _ = summarise(text.as_bytes(), LIMIT);
    }
}
