//! JUnit XML reports uploaded by CI (`junit::summarise`, 1 MiB limit, then
//! `junit::to_evidence`). A report the summary accepts has consistent
//! counts and becomes evidence with the caller's binding, and that evidence
//! reads back from its stored form.
#![no_main]

use asom_core::evidence::Evidence;
use asom_core::junit::{self, JunitError};
use asom_fuzz::binding;
use libfuzzer_sys::fuzz_target;

/// The limit asom's tests use; the fuzzer's inputs stay far below it.
const LIMIT: usize = 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > 1 {
        assert!(matches!(
            junit::summarise(data, data.len() - 1),
            Err(JunitError::TooLarge { .. })
        ));
    }
    let Ok(summary) = junit::summarise(data, LIMIT) else {
        return;
    };
    let counts = summary.counts();
    counts
        .check()
        .unwrap_or_else(|e| panic!("a summary's counts are inconsistent ({counts:?}): {e}"));
    let _ = (summary.suites(), summary.status(), summary.note());
    let builder = binding().produced_by("ci-runner".parse().expect("a principal"));
    let evidence = junit::to_evidence(data, LIMIT, builder)
        .unwrap_or_else(|e| panic!("a report summarise accepts does not become evidence: {e}"));
    assert_eq!(evidence.counts(), Some(counts));
    assert_eq!(evidence.status(), summary.status());
    let stored = Evidence::from_stored_json(&evidence.canonical_json())
        .unwrap_or_else(|e| panic!("JUnit evidence does not read back from its stored form: {e}"));
    assert_eq!(stored, evidence);
});
