//! Checkpoint note text (`Checkpoint::parse`): a parsed checkpoint writes
//! back byte-identical (`to_text`), and, signed with a key named after its
//! origin, opens (`Checkpoint::open`) to itself. `Checkpoint::open` is also
//! run on the input as a signed note against the fixed log key.
#![no_main]

use asom_fuzz::{LOG_VERIFIER, SEED};
use asom_ledger::checkpoint::Checkpoint;
use asom_ledger::note::{NoteSigner, check_key_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Checkpoint::open(text, &LOG_VERIFIER);
    let Ok(checkpoint) = Checkpoint::parse(text) else {
        return;
    };
    let written = checkpoint.to_text();
    assert_eq!(
        written, text,
        "a parsed checkpoint does not write back byte-identical"
    );
    assert_eq!(Checkpoint::parse(&written).as_ref(), Ok(&checkpoint));
    if check_key_name(&checkpoint.origin).is_ok() {
        let signer = NoteSigner::from_seed(&checkpoint.origin, SEED).expect("a valid key name");
        let note = checkpoint
            .sign(&signer)
            .unwrap_or_else(|e| panic!("a parsed checkpoint does not sign: {e}"));
        let opened = Checkpoint::open(&note, &signer.verifier())
            .unwrap_or_else(|e| panic!("a checkpoint we signed does not open: {e}"));
        assert_eq!(opened, checkpoint);
    }
});
