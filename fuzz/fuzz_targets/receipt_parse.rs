//! `tlog-proof@v1` receipts (`Receipt::parse`), which users hand to
//! `asom ledger verify --receipt`: a parsed receipt writes back byte-identical
//! and `verify` against the fixed log key does not panic. Then the receipt's
//! proof is made to hold: the root its proof leads to is signed into a fresh
//! checkpoint (key named after the origin), and `Receipt::verify_leaf` must
//! accept it, and must refuse it for another leaf.
#![no_main]

use asom_fuzz::{LOG_VERIFIER, SEED};
use asom_ledger::Hash;
use asom_ledger::checkpoint::Checkpoint;
use asom_ledger::merkle::{self, VerifyError};
use asom_ledger::note::{Note, NoteSigner, check_key_name};
use asom_ledger::receipt::Receipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(receipt) = Receipt::parse(text) else {
        return;
    };
    let written = receipt.to_text();
    assert_eq!(
        written, text,
        "a parsed receipt does not write back byte-identical"
    );
    assert_eq!(Receipt::parse(&written).ok().as_ref(), Some(&receipt));

    let entry = receipt.extra.clone().unwrap_or_default();
    let _ = receipt.verify(&entry, &LOG_VERIFIER);

    // Make the proof hold: sign a checkpoint whose root is the one the proof leads to.
    let Ok(note) = Note::parse(&receipt.checkpoint) else {
        unreachable!("Receipt::parse checks the checkpoint is a note");
    };
    let Ok(mut checkpoint) = Checkpoint::parse(note.text()) else {
        return;
    };
    if check_key_name(&checkpoint.origin).is_err() || receipt.index >= checkpoint.size {
        return;
    }
    let leaf = merkle::leaf_hash(&entry);
    let nowhere = Hash([0; 32]);
    let root = match merkle::verify_inclusion(
        &leaf,
        receipt.index,
        checkpoint.size,
        &receipt.proof,
        &nowhere,
    ) {
        Err(VerifyError::RootMismatch { computed, .. }) => computed,
        Ok(()) => nowhere,
        Err(_) => return, // the proof has the wrong length for (index, size)
    };
    checkpoint.root = root;
    let signer = NoteSigner::from_seed(&checkpoint.origin, SEED).expect("a valid key name");
    let signed = checkpoint
        .sign(&signer)
        .unwrap_or_else(|e| panic!("a parsed checkpoint does not sign: {e}"));
    let resigned = Receipt {
        checkpoint: signed,
        ..receipt.clone()
    };
    let verified = resigned
        .verify(&entry, &signer.verifier())
        .unwrap_or_else(|e| {
            panic!("a receipt whose proof leads to its signed root is refused: {e}")
        });
    assert_eq!(verified, checkpoint);
    let other = merkle::leaf_hash(b"another entry");
    if other != leaf {
        assert!(
            resigned.verify_leaf(&other, &signer.verifier()).is_err(),
            "a receipt verified for a leaf it does not prove"
        );
    }
    // The written form of the re-signed receipt parses back to it.
    assert_eq!(
        Receipt::parse(&resigned.to_text()).ok().as_ref(),
        Some(&resigned)
    );
});
