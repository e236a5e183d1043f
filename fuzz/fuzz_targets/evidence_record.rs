//! Evidence records in their plain JSON form, as `asom evidence record`
//! and the API read them (`evidence::parse_record`), and as stored in the
//! ledger (`Evidence::from_stored_json`). An accepted record's id is the
//! SHA-256 of its canonical JSON, the canonical JSON reads back as the same
//! record, and so does the `--format json` form with its `evidence_id`.
#![no_main]

use asom_core::evidence::{Evidence, parse_record};
use asom_fuzz::NOW;
use asom_ledger::Hash;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Evidence::from_stored_json(data);
    let Ok(evidence) = parse_record(data, NOW) else {
        return;
    };
    let canonical = evidence.canonical_json();
    assert_eq!(evidence.id().hash(), Hash::of(&canonical));
    let stored = Evidence::from_stored_json(&canonical)
        .unwrap_or_else(|e| panic!("a record's canonical JSON does not read back: {e}"));
    assert_eq!(stored, evidence);
    let shown = serde_json::to_vec(&evidence.to_json_with_id()).expect("JSON serializes");
    let again = parse_record(&shown, NOW)
        .unwrap_or_else(|e| panic!("a record's --format json form does not read back: {e}"));
    assert_eq!(again, evidence);
});
