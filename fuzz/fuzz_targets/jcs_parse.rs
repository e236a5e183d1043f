//! RFC 8785 canonical JSON from untrusted text: `jcs::parse_strict` then
//! `jcs::canonicalize`. Every value the strict parser accepts must
//! canonicalize, and canonical bytes must be a fixed point:
//! `canonicalize(parse(canonical)) == canonical`.
#![no_main]

use asom_ledger::jcs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = jcs::parse_strict(data) else {
        return;
    };
    let canonical = jcs::canonicalize(&value)
        .unwrap_or_else(|e| panic!("parse_strict accepted a value canonicalize refuses: {e}"));
    assert_eq!(
        jcs::canonicalize_text(data).expect("canonicalize_text agrees with parse + canonicalize"),
        canonical
    );
    let reparsed = jcs::parse_strict(&canonical)
        .unwrap_or_else(|e| panic!("canonical bytes do not parse back: {e}"));
    let again = jcs::canonicalize(&reparsed)
        .unwrap_or_else(|e| panic!("reparsed canonical value does not canonicalize: {e}"));
    assert!(
        again == canonical,
        "canonicalization is not a fixed point:\n first: {}\nsecond: {}",
        String::from_utf8_lossy(&canonical),
        String::from_utf8_lossy(&again)
    );
});
