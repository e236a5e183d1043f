//! C2SP signed notes: published vectors (golang.org/x/mod/sumdb/note,
//! google/trillian-examples, the C2SP spec), round trips, tampering and
//! malformed input. Sources of the files under `data/c2sp/` are in
//! `data/c2sp/SOURCES.md`.

use asom_ledger::note::{
    self, KeyId, KeyRef, MAX_SIGNATURES, Note, NoteError, NoteSigner, NoteVerifier, add_signature,
};
use base64::Engine as _;
use proptest::prelude::*;

/// Recognizes the error a malformed input must produce.
type IsExpected<E> = fn(&E) -> bool;

// golang.org/x/mod sumdb/note/note_test.go
const PETER_VKEY: &str = include_str!("data/c2sp/go-note/PeterNeumann.vkey");
const PETER_SKEY: &str = include_str!("data/c2sp/go-note/PeterNeumann.skey");
const ENOCH_VKEY: &str = include_str!("data/c2sp/go-note/EnochRoot.vkey");
const TEXT: &str = include_str!("data/c2sp/go-note/text.txt");
const PETER_NOTE: &str = include_str!("data/c2sp/go-note/peter.note");
const PETER_ENOCH_NOTE: &str = include_str!("data/c2sp/go-note/peter-enoch.note");

// google/trillian-examples formats/log/checkpoint_test.go
const TRILLIAN_KEYS: &str = include_str!("data/c2sp/trillian-examples/keys.txt");
const SUMDB_VKEY: &str = include_str!("data/c2sp/trillian-examples/sum.golang.org.vkey");
const SUMDB_NOTE: &str = include_str!("data/c2sp/trillian-examples/sumdb-6476701.note");
const SUMDB_COSIGNED: &str =
    include_str!("data/c2sp/trillian-examples/sumdb-6476701-cosigned.note");
const WITNESS_VKEYS: &str = include_str!("data/c2sp/trillian-examples/witnesses.vkeys");

// C2SP signed-note.md and tlog-checkpoint.md examples
const SPEC_NOTE: &str = include_str!("data/c2sp/spec/signed-note.note");
const SPEC_CHECKPOINT: &str = include_str!("data/c2sp/spec/tlog-checkpoint.note");

fn peter() -> NoteVerifier {
    PETER_VKEY.parse().unwrap()
}

fn enoch() -> NoteVerifier {
    ENOCH_VKEY.parse().unwrap()
}

fn signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(name, [seed; 32]).unwrap()
}

fn key(name: &str, id: u32) -> KeyRef {
    KeyRef {
        name: name.to_owned(),
        key_id: KeyId(id.to_be_bytes()),
    }
}

// ---------------------------------------------------------------- published vectors

#[test]
fn go_verifier_keys_parse_and_their_key_ids_match() {
    for (vkey, name, id) in [
        (PETER_VKEY, "PeterNeumann", "c74f20a3"),
        (ENOCH_VKEY, "EnochRoot", "af0cfe78"),
    ] {
        let verifier: NoteVerifier = vkey.parse().unwrap();
        assert_eq!(verifier.name(), name);
        assert_eq!(verifier.key_id().to_string(), id);
        assert_eq!(
            note::key_id(name, verifier.verifying_key()),
            verifier.key_id()
        );
        assert_eq!(verifier.to_string(), vkey.trim_end());
        assert_eq!(
            NoteVerifier::new(name, *verifier.verifying_key()).unwrap(),
            verifier
        );
    }
}

#[test]
fn go_signer_key_reproduces_the_published_signature() {
    let signer = NoteSigner::from_private_key_string(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id().to_string(), "c74f20a3");
    assert_eq!(signer.verifier(), peter());
    assert_eq!(signer.to_private_key_string(), PETER_SKEY.trim_end());
    // Ed25519 is deterministic: same key, same text, same bytes (Go TestSign).
    assert_eq!(signer.sign(TEXT).unwrap(), PETER_NOTE);
}

#[test]
fn go_signed_note_verifies_with_its_verifier_key() {
    let note = Note::parse(PETER_NOTE).unwrap();
    assert_eq!(note.text(), TEXT);
    assert_eq!(note.signatures().len(), 1);
    assert_eq!(
        note.signatures()[0].key(),
        &key("PeterNeumann", 0xc74f_20a3)
    );
    assert_eq!(note.signatures()[0].signature().len(), 64);
    assert_eq!(note.to_text(), PETER_NOTE);
    let verified = note.verify(&[peter()]).unwrap();
    assert_eq!(verified.text(), TEXT);
    assert_eq!(verified.verified_by(), &[key("PeterNeumann", 0xc74f_20a3)]);
    assert!(verified.ignored().is_empty());
}

#[test]
fn go_doubly_signed_note_verifies_with_either_or_both_keys() {
    let note = Note::parse(PETER_ENOCH_NOTE).unwrap();
    let peter_key = key("PeterNeumann", 0xc74f_20a3);
    let enoch_key = key("EnochRoot", 0xaf0c_fe78);

    let v = note.verify(&[peter()]).unwrap();
    assert_eq!(v.verified_by(), std::slice::from_ref(&peter_key));
    assert_eq!(v.ignored(), std::slice::from_ref(&enoch_key));

    let v = note.verify(&[enoch()]).unwrap();
    assert_eq!(v.verified_by(), std::slice::from_ref(&enoch_key));
    assert_eq!(v.ignored(), std::slice::from_ref(&peter_key));

    let v = note.verify(&[peter(), enoch()]).unwrap();
    assert_eq!(v.verified_by(), &[peter_key.clone(), enoch_key.clone()]);

    // Go TestOpen: a verifier listed twice is fine.
    note.verify(&[enoch(), peter(), enoch()]).unwrap();

    match note.verify(&[]) {
        Err(NoteError::NoTrustedSignature { signed_by, trusted }) => {
            assert_eq!(signed_by, vec![peter_key, enoch_key]);
            assert!(trusted.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn go_cosigning_appends_after_existing_signatures() {
    // The Go package docs show PeterNeumann's note re-signed by EnochRoot,
    // whose new line comes after the existing one.
    let me = signer("EnochRoot", 9);
    let cosigned = add_signature(PETER_NOTE, &me).unwrap();
    assert!(cosigned.starts_with(PETER_NOTE));
    let v = Note::parse(&cosigned)
        .unwrap()
        .verify(&[peter(), me.verifier()])
        .unwrap();
    assert_eq!(v.verified_by().len(), 2);
}

#[test]
fn go_invalid_signature_from_a_known_key_rejects_the_note() {
    // Go TestOpen "Invalid signature": four base64 characters spliced into the signature.
    let sig = &PETER_NOTE[TEXT.len() + 1..];
    let bad = format!("{TEXT}\n{}ABCD{}", &sig[..60], &sig[60..]);
    assert_eq!(
        Note::parse(&bad).unwrap().verify(&[peter()]),
        Err(NoteError::InvalidSignature {
            key: key("PeterNeumann", 0xc74f_20a3)
        })
    );
}

#[test]
fn go_malformed_notes_are_refused() {
    // Go TestOpen "Invalid encoded message syntax".
    let peter_sig = &PETER_NOTE[TEXT.len() + 1..];
    let cases: Vec<(String, IsExpected<NoteError>)> = vec![
        (TEXT.to_owned(), |e| {
            matches!(e, NoteError::MissingSignatureBlock)
        }),
        (format!("{TEXT}\n"), |e| {
            matches!(e, NoteError::SignatureBlockNotTerminated)
        }),
        (
            format!("{TEXT}\n{}", &peter_sig[..peter_sig.len() - 1]),
            |e| matches!(e, NoteError::SignatureBlockNotTerminated),
        ),
        (format!("\u{1}{TEXT}\n{peter_sig}"), |e| {
            matches!(e, NoteError::ControlCharacter { code: 1, line: 1 })
        }),
        (
            format!(
                "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
            ),
            |e| matches!(e, NoteError::MalformedSignatureLine { line: 1, .. }),
        ),
        (format!("{TEXT}\n{peter_sig}Unexpected line.\n"), |e| {
            matches!(e, NoteError::MalformedSignatureLine { line: 2, .. })
        }),
    ];
    for (text, expected) in cases {
        let err = Note::parse(&text).unwrap_err();
        assert!(expected(&err), "{text:?}: {err:?}");
    }
    // "\xff" + text: not UTF-8.
    let mut bytes = vec![0xff];
    bytes.extend_from_slice(PETER_NOTE.as_bytes());
    assert_eq!(
        Note::parse_bytes(&bytes),
        Err(NoteError::NotUtf8 { offset: 0 })
    );
    assert!(Note::parse_bytes(PETER_NOTE.as_bytes()).is_ok());
}

#[test]
fn go_signature_count_limit() {
    // Go TestOpen "too many signatures": 101 lines are refused, before any verification.
    let sig = &PETER_NOTE[TEXT.len() + 1..];
    let over = format!("{TEXT}\n{}", sig.repeat(MAX_SIGNATURES + 1));
    assert_eq!(
        Note::parse(&over),
        Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES
        })
    );
    // The limit itself is accepted (the spec asks for at least 16); repeats count once.
    let at = format!("{TEXT}\n{}", sig.repeat(MAX_SIGNATURES));
    let v = Note::parse(&at).unwrap().verify(&[peter()]).unwrap();
    assert_eq!(v.verified_by().len(), 1);
    const { assert!(MAX_SIGNATURES >= 16) };
}

/// Go `TestNewVerifier` / `TestNewSigner`: every proper substring and every
/// one-byte increment of a key string is refused.
fn assert_manglings_refused(key: &str, parse: impl Fn(&str) -> bool) {
    let b = key.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i == 0 && j == b.len() {
                continue;
            }
            if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                assert!(!parse(s), "substring {s:?} accepted");
            }
        }
    }
    let mut m = b.to_vec();
    for i in 0..m.len() {
        m[i] = m[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&m) {
            assert!(!parse(s), "mangled {s:?} accepted");
        }
        m[i] = m[i].wrapping_sub(1);
    }
}

#[test]
fn go_mangled_key_strings_are_refused() {
    let vkey = PETER_VKEY.trim_end();
    assert_manglings_refused(vkey, |s| s.parse::<NoteVerifier>().is_ok());
    let skey = PETER_SKEY.trim_end();
    assert_manglings_refused(skey, |s| NoteSigner::from_private_key_string(s).is_ok());

    // Wrong length and unknown algorithm, each with the key id adjusted to match.
    assert!(matches!(
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            .parse::<NoteVerifier>(),
        Err(NoteError::MalformedVerifierKey { .. })
    ));
    assert_eq!(
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            .parse::<NoteVerifier>(),
        Err(NoteError::UnsupportedAlgorithm(0x65))
    );
}

#[test]
fn trillian_examples_signer_keys_derive_their_verifier_keys() {
    let lines: Vec<&str> = TRILLIAN_KEYS.lines().collect();
    assert_eq!(lines.len(), 8);
    for pair in lines.chunks(2) {
        let verifier: NoteVerifier = pair[0].parse().unwrap();
        let signer = NoteSigner::from_private_key_string(pair[1]).unwrap();
        assert_eq!(signer.verifier(), verifier);
        assert_eq!(signer.verifier().to_string(), pair[0]);
        assert_eq!(signer.to_private_key_string(), pair[1]);
    }
}

#[test]
fn sum_golang_org_checkpoint_verifies_with_the_go_toolchain_key() {
    let sumdb: NoteVerifier = SUMDB_VKEY.parse().unwrap();
    assert_eq!(sumdb.key_id().to_string(), "033de0ae");
    let v = Note::parse(SUMDB_NOTE).unwrap().verify(&[sumdb]).unwrap();
    assert_eq!(
        v.text(),
        "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"
    );
    assert_eq!(v.verified_by(), &[key("sum.golang.org", 0x033d_e0ae)]);
}

#[test]
fn witness_cosignatures_verify_and_unknown_lines_are_ignored() {
    let sumdb: NoteVerifier = SUMDB_VKEY.parse().unwrap();
    let mut verifiers: Vec<NoteVerifier> =
        WITNESS_VKEYS.lines().map(|l| l.parse().unwrap()).collect();
    verifiers.push(sumdb.clone());
    let note = Note::parse(SUMDB_COSIGNED).unwrap();
    assert_eq!(note.to_text(), SUMDB_COSIGNED);

    let v = note.verify(&verifiers).unwrap();
    let names: Vec<&str> = v.verified_by().iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["sum.golang.org", "monkeys", "bananas", "witness"]);
    let ignored: Vec<&str> = v.ignored().iter().map(|k| k.name.as_str()).collect();
    assert_eq!(ignored, ["random1", "random2"]);

    // The log key alone is enough; the cosignatures are then unknown and ignored.
    let v = note.verify(&[sumdb]).unwrap();
    assert_eq!(v.ignored().len(), 5);
}

#[test]
fn spec_example_note_splits_at_its_last_empty_line() {
    let note = Note::parse(SPEC_NOTE).unwrap();
    assert_eq!(
        note.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n"
    );
    assert_eq!(note.signatures().len(), 1);
    let sig = &note.signatures()[0];
    assert_eq!(sig.name(), "quasimodo.example/salvatore");
    assert_eq!(sig.key_id().to_string(), "367ba04b");
    assert_eq!(sig.signature().len(), 64);
    assert_eq!(note.to_text(), SPEC_NOTE);
    // No verifier key is published for it: it must not verify with an unrelated one.
    assert!(matches!(
        note.verify(&[peter()]),
        Err(NoteError::NoTrustedSignature { .. })
    ));
}

#[test]
fn spec_example_checkpoint_parses_as_a_note() {
    let note = Note::parse(SPEC_CHECKPOINT).unwrap();
    assert_eq!(
        note.text(),
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    let sig = &note.signatures()[0];
    assert_eq!(sig.name(), "example.com/behind-the-sofa");
    assert_eq!(sig.key_id().to_string(), "033de0ae");
    assert_eq!(note.to_text(), SPEC_CHECKPOINT);
}

// ---------------------------------------------------------------- round trips

#[test]
fn sign_parse_verify_round_trip() {
    let s = signer("example.com/log", 1);
    for text in [
        "a\n",
        "\n",
        "two\nlines\n",
        "empty\n\nline inside\n",
        "ünïcødé ✓\n",
    ] {
        let signed = s.sign(text).unwrap();
        let note = Note::parse(&signed).unwrap();
        assert_eq!(note.text(), text);
        assert_eq!(note.to_text(), signed);
        assert_eq!(note.to_string(), signed);
        let v = note.verify(&[s.verifier()]).unwrap();
        assert_eq!(v.clone().into_text(), text);
        assert_eq!(v.verified_by(), &[s.verifier().key_ref()]);
    }
}

#[test]
fn key_strings_round_trip() {
    let s = signer("example.com/tenant-a", 42);
    let again = NoteSigner::from_private_key_string(&s.to_private_key_string()).unwrap();
    assert_eq!(again.verifier(), s.verifier());
    // As read from a key file: a trailing newline (or CRLF) is accepted.
    let from_file = format!("{}\n", s.to_private_key_string());
    NoteSigner::from_private_key_string(&from_file).unwrap();
    let vkey = s.verifier().to_string();
    assert_eq!(vkey.parse::<NoteVerifier>().unwrap(), s.verifier());
    assert_eq!(
        format!("{vkey}\r\n").parse::<NoteVerifier>().unwrap(),
        s.verifier()
    );
    // Upper-case hex in the id is accepted (the Go parser accepts it too).
    let upper = format!(
        "example.com/tenant-a+{}+{}",
        s.key_id().to_string().to_uppercase(),
        vkey.splitn(3, '+').nth(2).unwrap()
    );
    assert_eq!(upper.parse::<NoteVerifier>().unwrap(), s.verifier());
    assert_eq!(
        "c74f20a3".parse::<KeyId>().unwrap(),
        KeyId([0xc7, 0x4f, 0x20, 0xa3])
    );
    assert!("c74f20a".parse::<KeyId>().is_err());
    assert!("+74f20a3".parse::<KeyId>().is_err());
}

#[test]
fn cosigning_with_the_same_key_replaces_its_signature() {
    let a = signer("a.example", 1);
    let b = signer("b.example", 2);
    let once = a.sign("text\n").unwrap();
    // Deterministic signatures: re-adding the same key changes nothing.
    assert_eq!(add_signature(&once, &a).unwrap(), once);
    let both = add_signature(&once, &b).unwrap();
    assert_eq!(add_signature(&both, &b).unwrap(), both);
    let v = Note::parse(&both)
        .unwrap()
        .verify(&[a.verifier(), b.verifier()])
        .unwrap();
    assert_eq!(
        v.verified_by(),
        &[a.verifier().key_ref(), b.verifier().key_ref()]
    );
    // The cosigner's signature stands on its own.
    Note::parse(&both).unwrap().verify(&[b.verifier()]).unwrap();
    assert!(add_signature("not a note", &b).is_err());
}

// ---------------------------------------------------------------- wrong and unknown keys

#[test]
fn a_different_key_does_not_verify() {
    let a = signer("a.example", 1);
    let b = signer("b.example", 2);
    let note = Note::parse(&a.sign("text\n").unwrap()).unwrap();
    let err = note.verify(&[b.verifier()]).unwrap_err();
    assert_eq!(
        err,
        NoteError::NoTrustedSignature {
            signed_by: vec![a.verifier().key_ref()],
            trusted: vec![b.verifier().key_ref()],
        }
    );
    let msg = err.to_string();
    assert!(msg.contains(&a.verifier().key_ref().to_string()), "{msg}");
    assert!(msg.contains("asom ledger pubkey"), "{msg}");
}

#[test]
fn a_rotated_key_with_the_same_name_is_unknown_and_the_error_says_so() {
    let old = signer("example.com/log", 1);
    let new = signer("example.com/log", 2);
    assert_ne!(old.key_id(), new.key_id());
    let note = Note::parse(&old.sign("text\n").unwrap()).unwrap();
    let err = note.verify(&[new.verifier()]).unwrap_err();
    assert!(matches!(err, NoteError::NoTrustedSignature { .. }));
    assert!(err.to_string().contains("different id"), "{err}");
}

#[test]
fn same_id_different_name_is_unknown() {
    // The spec: a signature sharing only the name or only the id with a known key is ignored.
    let a = signer("a.example", 1);
    let signed = a.sign("text\n").unwrap();
    let renamed = signed.replace("\u{2014} a.example ", "\u{2014} z.example ");
    let note = Note::parse(&renamed).unwrap();
    assert_eq!(note.signatures()[0].key_id(), a.key_id());
    assert!(matches!(
        note.verify(&[a.verifier()]),
        Err(NoteError::NoTrustedSignature { .. })
    ));
}

#[test]
fn an_invalid_signature_from_a_known_key_rejects_even_when_another_verifies() {
    let a = signer("a.example", 1);
    let b = signer("b.example", 2);
    let good = a.sign("text\n").unwrap();
    // A second line by `a` that signs different text.
    let other = a.sign("other\n").unwrap();
    let other_line = &other["other\n\n".len()..];
    let doubled = format!("{good}{other_line}");
    assert_eq!(
        Note::parse(&doubled).unwrap().verify(&[a.verifier()]),
        Err(NoteError::InvalidSignature {
            key: a.verifier().key_ref()
        })
    );
    // And b's valid signature does not rescue a note with a bad signature by a.
    let cosigned = add_signature(&doubled, &b).unwrap();
    assert!(matches!(
        Note::parse(&cosigned)
            .unwrap()
            .verify(&[a.verifier(), b.verifier()]),
        Err(NoteError::InvalidSignature { .. })
    ));
    // Unless a is not trusted: then its lines are ignored.
    Note::parse(&cosigned)
        .unwrap()
        .verify(&[b.verifier()])
        .unwrap();
}

// ---------------------------------------------------------------- malformed input

#[test]
fn malformed_signature_lines_are_refused() {
    let s = signer("a.example", 1);
    let good = s.sign("text\n").unwrap();
    let line = &good["text\n\n".len()..];
    let b64 = line.split(' ').nth(2).unwrap().trim_end();
    let cases = [
        format!("- a.example {b64}\n"),             // hyphen
        format!("\u{2013} a.example {b64}\n"),      // en dash
        format!("\u{2014}a.example {b64}\n"),       // no space after the dash
        format!("\u{2014}  a.example {b64}\n"),     // empty name
        format!("\u{2014} a.example  {b64}\n"),     // two spaces
        "\u{2014} a.example\n".to_owned(),          // no signature
        "\u{2014} a.example \n".to_owned(),         // empty signature
        format!("\u{2014} a+b {b64}\n"),            // '+' in name
        format!("\u{2014} a.example {b64}x\n"),     // bad base64
        format!("\u{2014} a.example {b64} x\n"),    // trailing field
        "\u{2014} a.example AAAAAA==\n".to_owned(), // 4 bytes: key id only
        format!("\u{2014} a.example {}\n", b64.trim_end_matches('=')), // unpadded
    ];
    for sigline in cases {
        let text = format!("text\n\n{sigline}");
        assert!(
            matches!(
                Note::parse(&text),
                Err(NoteError::MalformedSignatureLine { line: 1, .. })
            ),
            "{sigline:?}: {:?}",
            Note::parse(&text)
        );
    }
}

#[test]
fn non_canonical_base64_is_refused() {
    // Two encodings of one signature would make notes malleable.
    let s = signer("a.example", 1);
    let good = s.sign("text\n").unwrap();
    let b64 = good.rsplit(' ').next().unwrap().trim_end();
    assert!(b64.ends_with('='));
    // 68 bytes → 92 chars with one '='; the last data char carries 2 unused bits.
    let last = b64.as_bytes()[b64.len() - 2];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let pos = alphabet.iter().position(|&c| c == last).unwrap();
    let tweaked = alphabet[pos | 1] as char; // set an unused bit
    if tweaked as u8 != last {
        let bad = format!("{}{}=", &b64[..b64.len() - 2], tweaked);
        let note = good.replace(b64, &bad);
        assert!(Note::parse(&note).is_err());
    }
}

#[test]
fn control_characters_and_missing_newlines_are_refused() {
    let s = signer("a.example", 1);
    assert_eq!(s.sign("no newline"), Err(NoteError::TextMissingNewline));
    assert_eq!(
        s.sign("tab\there\n"),
        Err(NoteError::ControlCharacter { code: 9, line: 1 })
    );
    assert_eq!(
        s.sign("a\nb\r\n"),
        Err(NoteError::ControlCharacter { code: 13, line: 2 })
    );
    let crlf = s.sign("text\n").unwrap().replace('\n', "\r\n");
    assert!(matches!(
        Note::parse(&crlf),
        Err(NoteError::ControlCharacter { code: 13, .. })
    ));
    // U+007F is not below U+0020: the spec allows it.
    let del = s.sign("del \u{7f}\n").unwrap();
    Note::parse(&del).unwrap().verify(&[s.verifier()]).unwrap();
}

#[test]
fn key_names_are_checked() {
    for bad in ["", "a b", "a+b", "a\u{3000}b", "a\nb"] {
        assert!(
            matches!(
                NoteSigner::from_seed(bad, [1; 32]),
                Err(NoteError::InvalidKeyName { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn signer_key_errors_never_repeat_the_secret() {
    let s = signer("a.example", 7);
    let skey = s.to_private_key_string();
    let seed_b64 = skey.splitn(5, '+').nth(4).unwrap().to_owned();
    let wrong_name = skey.replace("+a.example+", "+b.example+");
    let truncated = skey[..skey.len() - 4].to_owned();
    for bad in [wrong_name, truncated, format!("{skey}x")] {
        let err = NoteSigner::from_private_key_string(&bad).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&seed_b64[..20]), "{shown}");
    }
    assert!(!format!("{s:?}").contains(&seed_b64[..20]));
}

#[test]
fn small_order_verifier_keys_are_refused() {
    // The identity point: anyone could "sign" for it.
    let mut raw = vec![0x01];
    let mut identity = [0u8; 32];
    identity[0] = 1;
    raw.extend_from_slice(&identity);
    let name = "weak.example";
    let mut hasher_input = name.as_bytes().to_vec();
    hasher_input.push(b'\n');
    hasher_input.extend_from_slice(&raw);
    let digest = asom_ledger::Hash::of(&hasher_input);
    let id = hex::encode(&digest.0[..4]);
    let vkey = format!(
        "{name}+{id}+{}",
        base64::engine::general_purpose::STANDARD.encode(&raw)
    );
    assert!(matches!(
        vkey.parse::<NoteVerifier>(),
        Err(NoteError::MalformedVerifierKey { .. })
    ));
}

// ---------------------------------------------------------------- tampering

/// Every single-character replacement, deletion and insertion.
fn single_char_edits(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    for i in 0..=chars.len() {
        for c in ['x', '\n', ' ', '\u{2014}', 'A'] {
            let mut v = chars.clone();
            v.insert(i, c);
            out.push(v.into_iter().collect());
        }
        if i < chars.len() {
            let mut v = chars.clone();
            v.remove(i);
            out.push(v.iter().collect());
            for c in ['x', 'y', '0', '\n'] {
                if chars[i] != c {
                    let mut v = chars.clone();
                    v[i] = c;
                    out.push(v.into_iter().collect());
                }
            }
        }
    }
    out
}

#[test]
fn tampering_with_any_character_of_a_signed_note_fails() {
    let verifiers = [peter()];
    for edited in single_char_edits(PETER_NOTE) {
        assert_ne!(edited, PETER_NOTE);
        if let Ok(note) = Note::parse(&edited) {
            assert!(
                note.verify(&verifiers).is_err(),
                "tampered note verified: {edited:?}"
            );
        }
    }
}

#[test]
fn tampering_with_a_cosigned_note_fails_for_every_trusted_line() {
    let a = signer("a.example", 1);
    let b = signer("b.example", 2);
    let note = add_signature(&a.sign("origin\n5\n").unwrap(), &b).unwrap();
    let verifiers = [a.verifier(), b.verifier()];
    for edited in single_char_edits(&note) {
        if let Ok(parsed) = Note::parse(&edited) {
            // Dropping or renaming one trusted line still leaves the other
            // valid; everything else must fail.
            if let Ok(v) = parsed.verify(&verifiers) {
                assert_eq!(v.verified_by().len(), 1, "{edited:?}");
            }
        }
    }
}

// ---------------------------------------------------------------- properties

fn edit_strategy() -> impl Strategy<Value = Vec<(usize, u8, char)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            0u8..3,
            prop_oneof![
                any::<char>(),
                Just('\n'),
                Just(' '),
                Just('\u{2014}'),
                Just('='),
                prop::char::range('A', 'z'),
            ],
        ),
        1..6,
    )
}

fn apply_edits(text: &str, edits: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(pos, op, c) in edits {
        let len = chars.len();
        match op {
            0 if len > 0 => chars[pos % len] = c,
            1 if len > 0 => {
                chars.remove(pos % len);
            }
            _ => chars.insert(pos % (len + 1), c),
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_notes_never_verify(edits in edit_strategy()) {
        let edited = apply_edits(PETER_NOTE, &edits);
        prop_assume!(edited != PETER_NOTE);
        if let Ok(note) = Note::parse(&edited) {
            prop_assert!(note.verify(&[peter()]).is_err(), "verified: {:?}", edited);
        }
    }

    #[test]
    fn mutated_sumdb_checkpoints_never_verify(edits in edit_strategy()) {
        let edited = apply_edits(SUMDB_NOTE, &edits);
        prop_assume!(edited != SUMDB_NOTE);
        let sumdb: NoteVerifier = SUMDB_VKEY.parse().unwrap();
        if let Ok(note) = Note::parse(&edited) {
            prop_assert!(note.verify(&[sumdb]).is_err(), "verified: {:?}", edited);
        }
    }

    #[test]
    fn parsers_never_panic(input in ".*", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Note::parse(&input).map(|n| n.verify(&[peter()]));
        let _ = Note::parse_bytes(&bytes);
        let _ = input.parse::<NoteVerifier>();
        let _ = NoteSigner::from_private_key_string(&input);
        let _ = input.parse::<KeyId>();
        let noteish = format!("{input}\n\n\u{2014} {input}\n");
        let _ = Note::parse(&noteish).map(|n| n.verify(&[peter()]));
    }

    #[test]
    fn any_text_signs_and_verifies(text in "[^\\x00-\\x09\\x0b-\\x1f]*") {
        let s = signer("p.example", 3);
        let text = format!("{text}\n");
        let signed = s.sign(&text).unwrap();
        let note = Note::parse(&signed).unwrap();
        prop_assert_eq!(note.text(), text.as_str());
        prop_assert_eq!(note.to_text(), signed);
        prop_assert!(note.verify(&[s.verifier()]).is_ok());
    }
}
