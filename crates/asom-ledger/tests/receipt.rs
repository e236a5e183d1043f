//! C2SP `tlog-checkpoint` and `tlog-proof@v1`: published examples, round
//! trips against an independent RFC 9162 tree written out below, tampering,
//! wrong keys and malformed input. Sources of the files under `data/c2sp/`
//! are in `data/c2sp/SOURCES.md`.

use asom_ledger::Hash;
use asom_ledger::checkpoint::{Checkpoint, CheckpointError};
use asom_ledger::note::{NoteError, NoteSigner, NoteVerifier, add_signature};
use asom_ledger::receipt::{MAX_PROOF_HASHES, Receipt, ReceiptError};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

/// Recognizes the error a malformed input must produce.
type IsExpected<E> = fn(&E) -> bool;

// C2SP tlog-checkpoint.md and tlog-proof.md examples
const SPEC_CHECKPOINT: &str = include_str!("data/c2sp/spec/tlog-checkpoint.note");
const SPEC_PROOF: &str = include_str!("data/c2sp/spec/tlog-proof.tlog-proof");
// google/trillian-examples formats/log/checkpoint_test.go
const SUMDB_VKEY: &str = include_str!("data/c2sp/trillian-examples/sum.golang.org.vkey");
const SUMDB_NOTE: &str = include_str!("data/c2sp/trillian-examples/sumdb-6476701.note");

const ORIGIN: &str = "asom.example/tenant-a";

// ---------------------------------------------------------------- an RFC 9162 tree, by the book

/// RFC 9162 §2.1.1 leaf hash, written out here rather than taken from the
/// crate so the test checks the crate against the RFC, not against itself.
fn rfc_leaf(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

fn rfc_node(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]), RFC 9162 §2.1.1.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::of(b""),
        1 => leaves[0],
        n => {
            let k = split(n);
            rfc_node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]), RFC 9162 §2.1.3.1.
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn entry(i: usize) -> Vec<u8> {
    format!("{{\"entry\":{i}}}").into_bytes()
}

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [0x11; 32]).unwrap()
}

/// A log of `size` entries with a signed checkpoint, and the receipt for `index`.
fn receipt_for(size: usize, index: usize, signer: &NoteSigner) -> Receipt {
    let leaves: Vec<Hash> = (0..size).map(|i| rfc_leaf(&entry(i))).collect();
    let checkpoint = Checkpoint {
        origin: signer.name().to_owned(),
        size: size as u64,
        root: mth(&leaves),
        extensions: vec![],
    };
    Receipt {
        index: index as u64,
        extra: None,
        proof: path(index, &leaves),
        checkpoint: checkpoint.sign(signer).unwrap(),
    }
}

#[test]
fn the_crate_leaf_hash_is_the_rfc_one() {
    for i in 0..5 {
        assert_eq!(
            asom_ledger::merkle::leaf_hash(&entry(i)),
            rfc_leaf(&entry(i))
        );
    }
}

// ---------------------------------------------------------------- checkpoints

#[test]
fn checkpoint_text_is_exactly_origin_size_root() {
    let root = Hash::of(b"root");
    let c = Checkpoint {
        origin: ORIGIN.into(),
        size: 20_852_163,
        root,
        extensions: vec![],
    };
    assert_eq!(
        c.to_text(),
        format!("{ORIGIN}\n20852163\n{}\n", root.to_base64())
    );
    assert_eq!(Checkpoint::parse(&c.to_text()).unwrap(), c);
}

#[test]
fn spec_example_checkpoint_parses() {
    // The signature has no published key; check the body.
    let note = asom_ledger::note::Note::parse(SPEC_CHECKPOINT).unwrap();
    let c = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(c.origin, "example.com/behind-the-sofa");
    assert_eq!(c.size, 20_852_163);
    assert_eq!(
        c.root.to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(c.extensions.is_empty());
    assert_eq!(c.to_text(), note.text());
}

#[test]
fn sum_golang_org_checkpoint_parses_but_is_not_an_asom_log() {
    let sumdb: NoteVerifier = SUMDB_VKEY.parse().unwrap();
    let verified = asom_ledger::note::Note::parse(SUMDB_NOTE)
        .unwrap()
        .verify(std::slice::from_ref(&sumdb))
        .unwrap();
    // Origins may hold spaces; clients must not assume the URL-like form.
    let c = Checkpoint::parse(verified.text()).unwrap();
    assert_eq!(c.origin, "go.sum database tree");
    assert_eq!(c.size, 6_476_701);
    // asom requires the key to be named after the origin; sum.golang.org's is not.
    assert!(matches!(
        Checkpoint::open(SUMDB_NOTE, &sumdb),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

#[test]
fn checkpoint_sign_and_open_round_trip_with_extensions() {
    let s = log_signer();
    let c = Checkpoint {
        origin: ORIGIN.into(),
        size: 0,
        root: Hash::of(b""),
        extensions: vec!["ext: one".into(), "two".into()],
    };
    let signed = c.sign(&s).unwrap();
    assert_eq!(Checkpoint::open(&signed, &s.verifier()).unwrap(), c);
}

#[test]
fn witness_cosignatures_do_not_disturb_opening() {
    let s = log_signer();
    let witness = NoteSigner::from_seed("witness.example", [0x22; 32]).unwrap();
    let signed = receipt_for(3, 0, &s).checkpoint;
    let cosigned = add_signature(&signed, &witness).unwrap();
    let c = Checkpoint::open(&cosigned, &s.verifier()).unwrap();
    // A checkpoint signed only by the witness is not the log's.
    let only_witness = witness.sign(&c.to_text()).unwrap();
    assert!(matches!(
        Checkpoint::open(&only_witness, &s.verifier()),
        Err(CheckpointError::NotSignedByLog { .. })
    ));
}

#[test]
fn checkpoint_from_another_key_says_which_key_to_pass() {
    let s = log_signer();
    let other = NoteSigner::from_seed("example.com/log", [0x33; 32]).unwrap();
    let signed = receipt_for(2, 0, &s).checkpoint;
    let err = Checkpoint::open(&signed, &other.verifier()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, CheckpointError::NotSignedByLog { .. }),
        "{err:?}"
    );
    assert!(msg.contains(&s.verifier().key_ref().to_string()), "{msg}");
    assert!(
        msg.contains(&other.verifier().key_ref().to_string()),
        "{msg}"
    );
    assert!(msg.contains("asom ledger pubkey"), "{msg}");

    // Same log name, new key: the hint says the key was rotated.
    let rotated = NoteSigner::from_seed(ORIGIN, [0x44; 32]).unwrap();
    let err = Checkpoint::open(&signed, &rotated.verifier()).unwrap_err();
    assert!(err.to_string().contains("rotated"), "{err}");
}

#[test]
fn checkpoint_origin_must_be_the_key_name() {
    let s = log_signer();
    let c = Checkpoint {
        origin: "example.com/elsewhere".into(),
        size: 1,
        root: Hash::of(b"x"),
        extensions: vec![],
    };
    assert!(matches!(
        c.sign(&s),
        Err(CheckpointError::SignerNotOrigin { .. })
    ));
    // Signed as a plain note by a key with a different name: open refuses it.
    let note = s.sign(&c.to_text()).unwrap();
    assert_eq!(
        Checkpoint::open(&note, &s.verifier()),
        Err(CheckpointError::OriginMismatch {
            origin: "example.com/elsewhere".into(),
            key_name: ORIGIN.into(),
        })
    );
}

#[test]
fn tampered_checkpoint_is_a_bad_log_signature() {
    let s = log_signer();
    let signed = receipt_for(5, 0, &s).checkpoint;
    let tampered = signed.replacen("\n5\n", "\n6\n", 1);
    assert_eq!(
        Checkpoint::open(&tampered, &s.verifier()),
        Err(CheckpointError::BadLogSignature {
            key: s.verifier().key_ref()
        })
    );
}

#[test]
fn checkpoint_refuses_unrepresentable_fields() {
    let s = log_signer();
    let base = Checkpoint {
        origin: ORIGIN.into(),
        size: 1,
        root: Hash::of(b"x"),
        extensions: vec![],
    };
    let mut c = base.clone();
    c.extensions.push(String::new());
    assert!(c.sign(&s).is_err());
    let mut c = base.clone();
    c.extensions.push("a\nb".into());
    assert!(c.sign(&s).is_err());
    let mut c = base;
    c.origin = String::new();
    assert!(c.sign(&s).is_err());
}

#[test]
fn malformed_checkpoint_text_is_refused() {
    let root = Hash::of(b"r").to_base64();
    let ok = format!("o\n1\n{root}\n");
    Checkpoint::parse(&ok).unwrap();
    let sized = |size: &str| format!("o\n{size}\n{root}\n");
    for size in [
        "",
        "01",
        "00",
        "+1",
        "-1",
        "1.0",
        " 1",
        "1 ",
        "0x1",
        "18446744073709551616",
        "١",
    ] {
        assert!(
            matches!(
                Checkpoint::parse(&sized(size)),
                Err(CheckpointError::BadSize { .. })
            ),
            "{size:?}"
        );
    }
    assert_eq!(
        Checkpoint::parse(&sized("18446744073709551615"))
            .unwrap()
            .size,
        u64::MAX
    );
    assert_eq!(Checkpoint::parse(&sized("0")).unwrap().size, 0);
    let cases: [(String, IsExpected<CheckpointError>); 8] = [
        (format!("o\n1\n{root}"), |e| {
            matches!(e, CheckpointError::MissingNewline)
        }),
        ("o\n1\n".into(), |e| {
            matches!(e, CheckpointError::TooFewLines { lines: 2 })
        }),
        (format!("\n1\n{root}\n"), |e| {
            matches!(e, CheckpointError::EmptyOrigin)
        }),
        ("o\n1\nAAAA\n".into(), |e| {
            matches!(e, CheckpointError::BadRoot { .. })
        }),
        (format!("o\n1\n{}\n", root.trim_end_matches('=')), |e| {
            matches!(e, CheckpointError::BadRoot { .. })
        }),
        (format!("o\n1\n{}\n", Hash::of(b"r").to_hex()), |e| {
            matches!(e, CheckpointError::BadRoot { .. })
        }),
        (format!("o\n1\n{root}\n\n"), |e| {
            matches!(e, CheckpointError::EmptyExtension { line: 4 })
        }),
        (format!("o\r\n1\n{root}\n"), |e| {
            matches!(e, CheckpointError::ControlCharacter { code: 13, line: 1 })
        }),
    ];
    for (text, expected) in cases {
        let err = Checkpoint::parse(&text).unwrap_err();
        assert!(expected(&err), "{text:?}: {err:?}");
    }
}

// ---------------------------------------------------------------- receipts

#[test]
fn every_receipt_in_trees_up_to_17_verifies_and_round_trips() {
    let s = log_signer();
    let v = s.verifier();
    for size in 1..=17 {
        for index in 0..size {
            let r = receipt_for(size, index, &s);
            let text = r.to_text();
            let parsed = Receipt::parse(&text).unwrap();
            assert_eq!(parsed, r);
            assert_eq!(parsed.to_text(), text);
            let c = parsed.verify(&entry(index), &v).unwrap();
            assert_eq!((c.origin.as_str(), c.size), (ORIGIN, size as u64));
            parsed.verify_leaf(&rfc_leaf(&entry(index)), &v).unwrap();
            // Any other entry is refused.
            let other = if index + 1 < size { index + 1 } else { size };
            assert!(matches!(
                parsed.verify(&entry(other), &v),
                Err(ReceiptError::NotIncluded { .. })
            ));
        }
    }
}

#[test]
fn receipt_layout_matches_the_spec() {
    let s = log_signer();
    let mut r = receipt_for(6, 4, &s);
    r.extra = Some(b"age-v1.2.1".to_vec());
    let text = r.to_text();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    assert_eq!(lines.next(), Some("extra YWdlLXYxLjIuMQ=="));
    assert_eq!(lines.next(), Some("index 4"));
    for hash in &r.proof {
        assert_eq!(lines.next(), Some(hash.to_base64().as_str()));
    }
    assert_eq!(lines.next(), Some(""));
    assert!(text.ends_with(&r.checkpoint));
    assert_eq!(Receipt::parse(&text).unwrap(), r);
    // Extra data is not authenticated: it does not affect verification.
    r.extra = Some(b"anything".to_vec());
    Receipt::parse(&r.to_text())
        .unwrap()
        .verify(&entry(4), &s.verifier())
        .unwrap();
}

#[test]
fn spec_example_proof_parses_up_to_its_elided_signatures() {
    // The spec elides the signatures ("hI2DJw[...]1roloI="), so the
    // embedded checkpoint is not a valid note; everything before it is.
    match Receipt::parse(SPEC_PROOF) {
        Err(ReceiptError::CheckpointSyntax(NoteError::MalformedSignatureLine {
            line: 1, ..
        })) => {}
        other => panic!("{other:?}"),
    }
    // With a real signature in place of the elided ones, it parses fully.
    let body_start = SPEC_PROOF.find("\n\nexample.com/fancylog").unwrap() + 2;
    let checkpoint_text =
        "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n";
    assert!(SPEC_PROOF[body_start..].starts_with(checkpoint_text));
    let fancylog = NoteSigner::from_seed("example.com/fancylog", [5; 32]).unwrap();
    let signed = fancylog.sign(checkpoint_text).unwrap();
    let text = format!("{}{signed}", &SPEC_PROOF[..body_start]);
    let r = Receipt::parse(&text).unwrap();
    assert_eq!(r.index, 73894);
    let extra = r.extra.as_deref().unwrap();
    assert_eq!(extra.len(), 39);
    assert!(extra.starts_with(b"age-v1.2.1-darwin-arm64.tar.gz"));
    assert_eq!(r.proof.len(), 5);
    assert_eq!(
        r.proof[0].to_base64(),
        "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ="
    );
    assert_eq!(r.to_text(), text);
    let c = Checkpoint::open(&r.checkpoint, &fancylog.verifier()).unwrap();
    assert_eq!(c.size, 109_482);
    // The proof is for an entry we do not have: verification must fail, not panic.
    assert!(matches!(
        r.verify(b"unknown entry", &fancylog.verifier()),
        Err(ReceiptError::NotIncluded { .. })
    ));
}

#[test]
fn receipt_with_the_wrong_key_or_index_fails() {
    let s = log_signer();
    let r = receipt_for(9, 3, &s);
    let stranger = NoteSigner::from_seed("other.example", [9; 32]).unwrap();
    assert!(matches!(
        r.verify(&entry(3), &stranger.verifier()),
        Err(ReceiptError::Checkpoint(
            CheckpointError::NotSignedByLog { .. }
        ))
    ));
    let mut wrong_index = r.clone();
    wrong_index.index = 2;
    assert!(matches!(
        wrong_index.verify(&entry(3), &s.verifier()),
        Err(ReceiptError::NotIncluded { .. })
    ));
    let mut past_end = r.clone();
    past_end.index = 9;
    assert_eq!(
        past_end
            .verify(&entry(3), &s.verifier())
            .unwrap_err()
            .to_string(),
        ReceiptError::IndexOutOfRange { index: 9, size: 9 }.to_string()
    );
    let mut short = r.clone();
    short.proof.pop();
    assert!(matches!(
        short.verify(&entry(3), &s.verifier()),
        Err(ReceiptError::NotIncluded { .. })
    ));
    let mut long = r;
    long.proof.push(Hash::of(b"extra"));
    let err = long.verify(&entry(3), &s.verifier()).unwrap_err();
    assert!(
        err.to_string().contains("exact canonical entry bytes"),
        "{err}"
    );
}

#[test]
fn malformed_receipts_are_refused() {
    let s = log_signer();
    let r = receipt_for(4, 1, &s);
    let good = r.to_text();
    let (head, checkpoint) = good.split_once("\n\n").unwrap();
    let hashes: Vec<&str> = head.lines().skip(2).collect();
    let with = |lines: &[&str]| format!("{}\n\n{checkpoint}", lines.join("\n"));
    let h = hashes[0];
    let cases: Vec<(String, IsExpected<ReceiptError>)> = vec![
        (String::new(), |e| matches!(e, ReceiptError::Truncated(_))),
        (
            good.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            |e| matches!(e, ReceiptError::MissingHeader),
        ),
        (checkpoint.to_owned(), |e| {
            matches!(e, ReceiptError::MissingHeader)
        }),
        ("c2sp.org/tlog-proof@v1\n".into(), |e| {
            matches!(e, ReceiptError::Truncated(_))
        }),
        (with(&["c2sp.org/tlog-proof@v1", "index 01", h]), |e| {
            matches!(e, ReceiptError::BadIndex { .. })
        }),
        (with(&["c2sp.org/tlog-proof@v1", "index +1", h]), |e| {
            matches!(e, ReceiptError::BadIndex { .. })
        }),
        (with(&["c2sp.org/tlog-proof@v1", "index -1", h]), |e| {
            matches!(e, ReceiptError::BadIndex { .. })
        }),
        (with(&["c2sp.org/tlog-proof@v1", "index", h]), |e| {
            matches!(e, ReceiptError::BadIndex { .. })
        }),
        (with(&["c2sp.org/tlog-proof@v1", "index  1", h]), |e| {
            matches!(e, ReceiptError::BadIndex { .. })
        }),
        (with(&["c2sp.org/tlog-proof@v1", "Index 1", h]), |e| {
            matches!(e, ReceiptError::BadIndex { .. })
        }),
        (
            with(&["c2sp.org/tlog-proof@v1", "extra !!", "index 1", h]),
            |e| matches!(e, ReceiptError::BadExtra),
        ),
        (
            with(&["c2sp.org/tlog-proof@v1", "index 1", "extra AAAA", h]),
            |e| matches!(e, ReceiptError::BadProofHash { position: 1, .. }),
        ),
        (with(&["c2sp.org/tlog-proof@v1", "index 1", "AAAA"]), |e| {
            matches!(e, ReceiptError::BadProofHash { position: 1, .. })
        }),
        (
            with(&["c2sp.org/tlog-proof@v1", "index 1", h, &h[..43]]),
            |e| matches!(e, ReceiptError::BadProofHash { position: 2, .. }),
        ),
        (format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n"), |e| {
            matches!(e, ReceiptError::Truncated(_))
        }),
        (format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n\n"), |e| {
            matches!(e, ReceiptError::CheckpointSyntax(_))
        }),
        (good.replace('\n', "\r\n"), |e| {
            matches!(e, ReceiptError::MissingHeader)
        }),
    ];
    for (text, expected) in cases {
        let err = Receipt::parse(&text).unwrap_err();
        assert!(expected(&err), "{text:?}: {err:?}");
        assert!(!err.to_string().is_empty());
    }
    let too_long: Vec<&str> = ["c2sp.org/tlog-proof@v1", "index 1"]
        .into_iter()
        .chain(std::iter::repeat_n(h, MAX_PROOF_HASHES + 1))
        .collect();
    assert!(matches!(
        Receipt::parse(&with(&too_long)),
        Err(ReceiptError::TooManyProofHashes)
    ));
}

/// Every single-character replacement, deletion and insertion outside the
/// `extra` line, which the spec leaves unauthenticated.
fn single_char_edits(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    for i in 0..=chars.len() {
        for c in ['x', '\n', ' ', '0', '='] {
            let mut v = chars.clone();
            v.insert(i, c);
            out.push(v.into_iter().collect());
        }
        if i < chars.len() {
            let mut v = chars.clone();
            v.remove(i);
            out.push(v.iter().collect());
            for c in ['x', 'y', '1', '\n'] {
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
fn tampering_with_any_character_of_a_receipt_fails() {
    let s = log_signer();
    let v = s.verifier();
    for (size, index) in [(1, 0), (7, 5), (16, 0)] {
        let text = receipt_for(size, index, &s).to_text();
        for edited in single_char_edits(&text) {
            assert_ne!(edited, text);
            if let Ok(r) = Receipt::parse(&edited) {
                assert!(
                    r.verify(&entry(index), &v).is_err(),
                    "tampered receipt verified: {edited:?}"
                );
            }
        }
    }
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
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn mutated_receipts_never_verify(
        size in 1usize..20,
        index_seed in any::<usize>(),
        edits in prop::collection::vec(
            (any::<usize>(), 0u8..3, prop_oneof![any::<char>(), Just('\n'), Just('='), prop::char::range('+', 'z')]),
            1..5,
        ),
    ) {
        let s = log_signer();
        let index = index_seed % size;
        let text = receipt_for(size, index, &s).to_text();
        let edited = apply_edits(&text, &edits);
        prop_assume!(edited != text);
        if let Ok(r) = Receipt::parse(&edited) {
            prop_assert!(r.verify(&entry(index), &s.verifier()).is_err(), "verified: {:?}", edited);
        }
    }

    #[test]
    fn receipts_verify_for_every_tree(size in 1usize..300, index_seed in any::<usize>()) {
        let s = log_signer();
        let index = index_seed % size;
        let r = Receipt::parse(&receipt_for(size, index, &s).to_text()).unwrap();
        prop_assert!(r.verify(&entry(index), &s.verifier()).is_ok());
    }

    #[test]
    fn receipt_and_checkpoint_parsers_never_panic(input in ".*", index in any::<u64>(), n in 0usize..70) {
        let _ = Receipt::parse(&input);
        let _ = Checkpoint::parse(&input);
        let _ = Checkpoint::open(&input, &log_signer().verifier());
        let r = Receipt {
            index,
            extra: Some(input.clone().into_bytes()),
            proof: vec![Hash::of(input.as_bytes()); n],
            checkpoint: receipt_for(3, 1, &log_signer()).checkpoint,
        };
        let _ = Receipt::parse(&r.to_text()).map(|p| p.verify(input.as_bytes(), &log_signer().verifier()));
    }
}
