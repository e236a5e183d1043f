//! C2SP signed notes and note key strings, all read from files and flags:
//! `Note::parse` / `parse_bytes` (then `to_text` must give back the input
//! and `verify` must not panic), `NoteVerifier::from_str`,
//! `NoteSigner::from_private_key_string` and `KeyId::from_str`. Parsed keys
//! must survive a write/parse round trip, and a parsed signer's notes must
//! verify with its verifier.
#![no_main]

use asom_fuzz::{LOG_VERIFIER, PETER_VERIFIER};
use asom_ledger::note::{KeyId, Note, NoteSigner, NoteVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let from_bytes = Note::parse_bytes(data);
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(
            from_bytes.is_err(),
            "parse_bytes accepted bytes that are not UTF-8"
        );
        return;
    };
    let from_str = Note::parse(text);
    assert_eq!(from_bytes, from_str, "parse_bytes and parse disagree");
    if let Ok(note) = from_str {
        assert_eq!(
            note.to_text(),
            text,
            "a parsed note does not write back byte-identical"
        );
        assert!(note.text().ends_with('\n'));
        let verifiers = [PETER_VERIFIER.clone(), LOG_VERIFIER.clone()];
        if let Ok(verified) = note.verify(&verifiers) {
            assert_eq!(verified.text(), note.text());
            assert!(!verified.verified_by().is_empty());
        }
    }

    if let Ok(verifier) = text.parse::<NoteVerifier>() {
        let written = verifier.to_string();
        let back: NoteVerifier = written.parse().unwrap_or_else(|e| {
            panic!("a verifier's own key string {written:?} does not parse: {e}")
        });
        assert_eq!(back, verifier);
    }

    if let Ok(signer) = NoteSigner::from_private_key_string(text) {
        let back = NoteSigner::from_private_key_string(&signer.to_private_key_string())
            .unwrap_or_else(|e| panic!("a signer's own key string does not parse: {e}"));
        assert_eq!(back.name(), signer.name());
        assert_eq!(back.key_id(), signer.key_id());
        assert_eq!(back.verifier(), signer.verifier());
        let signed = signer.sign("fuzz\n").expect("a plain text signs");
        let note = Note::parse(&signed).expect("a note we signed parses");
        note.verify(&[signer.verifier()])
            .unwrap_or_else(|e| panic!("a note we signed does not verify: {e}"));
    }

    if let Ok(id) = text.parse::<KeyId>() {
        let back: KeyId = id.to_string().parse().expect("a key id's own text parses");
        assert_eq!(back, id);
    }
});
