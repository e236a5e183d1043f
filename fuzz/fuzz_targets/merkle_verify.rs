//! RFC 9162 proof verification with attacker-chosen numbers and hashes:
//! `merkle::verify_inclusion` and `merkle::verify_consistency` on arbitrary
//! (index, size, proof, roots) must never panic; on a real tree of up to 64
//! entries, honest proofs must verify and a proof with one hash changed, one
//! hash added or removed, another leaf or another index must not.
#![no_main]

use arbitrary::Arbitrary;
use asom_ledger::Hash;
use asom_ledger::merkle::{self, MemoryTree};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    // Arbitrary claims.
    leaf: [u8; 32],
    index: u64,
    size: u64,
    proof: Vec<[u8; 32]>,
    root: [u8; 32],
    size1: u64,
    size2: u64,
    root1: [u8; 32],
    root2: [u8; 32],
    // A real tree, and how to tamper with its proofs.
    tree_size: u8,
    tree_index: u8,
    tree_size1: u8,
    tamper: Tamper,
}

#[derive(Arbitrary, Debug)]
enum Tamper {
    FlipBit { position: u8, bit: u8 },
    Drop { position: u8 },
    Add { position: u8, hash: [u8; 32] },
    Leaf { hash: [u8; 32] },
    Index { index: u8 },
}

fn hashes(raw: &[[u8; 32]]) -> Vec<Hash> {
    raw.iter().map(|h| Hash(*h)).collect()
}

fn tampered(proof: &[Hash], tamper: &Tamper) -> Option<Vec<Hash>> {
    let mut proof = proof.to_vec();
    match *tamper {
        Tamper::FlipBit { position, bit } => {
            if proof.is_empty() {
                return None;
            }
            let at = usize::from(position) % proof.len();
            proof[at].0[usize::from(bit / 8) % 32] ^= 1 << (bit % 8);
        }
        Tamper::Drop { position } => {
            if proof.is_empty() {
                return None;
            }
            proof.remove(usize::from(position) % proof.len());
        }
        Tamper::Add { position, hash } => {
            let at = usize::from(position) % (proof.len() + 1);
            proof.insert(at, Hash(hash));
        }
        Tamper::Leaf { .. } | Tamper::Index { .. } => return None,
    }
    Some(proof)
}

fuzz_target!(|input: Input| {
    // Arbitrary claims: any answer, but no panic, and the trivial cases right.
    let proof = hashes(&input.proof);
    let included = merkle::verify_inclusion(
        &Hash(input.leaf),
        input.index,
        input.size,
        &proof,
        &Hash(input.root),
    );
    if included.is_ok() {
        assert!(input.index < input.size);
    }
    let consistent = merkle::verify_consistency(
        input.size1,
        input.size2,
        &proof,
        &Hash(input.root1),
        &Hash(input.root2),
    );
    if consistent.is_ok() {
        assert!(input.size1 <= input.size2);
        if input.size1 == input.size2 {
            assert_eq!(input.root1, input.root2);
            assert!(proof.is_empty());
        }
    }

    // A real tree.
    let n = u64::from(input.tree_size % 64) + 1;
    let mut tree = MemoryTree::new();
    for i in 0..n {
        tree.push(&i.to_be_bytes());
    }
    let root = tree.root();
    let index = u64::from(input.tree_index) % n;
    let leaf = merkle::leaf_hash(&index.to_be_bytes());
    let honest = merkle::inclusion_proof(&tree, index, n).expect("an in-range proof");
    merkle::verify_inclusion(&leaf, index, n, &honest, &root)
        .unwrap_or_else(|e| panic!("an honest inclusion proof ({index} of {n}) fails: {e}"));
    if let Some(bad) = tampered(&honest, &input.tamper) {
        assert!(
            merkle::verify_inclusion(&leaf, index, n, &bad, &root).is_err(),
            "a tampered inclusion proof ({index} of {n}, {:?}) verifies",
            input.tamper
        );
    }
    match input.tamper {
        Tamper::Leaf { hash } if Hash(hash) != leaf => assert!(
            merkle::verify_inclusion(&Hash(hash), index, n, &honest, &root).is_err(),
            "another leaf verifies with leaf {index}'s proof"
        ),
        Tamper::Index { index: other } => {
            let other = u64::from(other) % n;
            if other != index {
                assert!(
                    merkle::verify_inclusion(&leaf, other, n, &honest, &root).is_err(),
                    "leaf {index}'s proof verifies at index {other} of {n}"
                );
            }
        }
        _ => {}
    }

    let size1 = u64::from(input.tree_size1) % (n + 1);
    let root1 = merkle::root(&tree, size1).expect("a root of a prefix");
    let honest = merkle::consistency_proof(&tree, size1, n).expect("an in-range proof");
    merkle::verify_consistency(size1, n, &honest, &root1, &root)
        .unwrap_or_else(|e| panic!("an honest consistency proof ({size1} to {n}) fails: {e}"));
    if let Some(bad) = tampered(&honest, &input.tamper) {
        assert!(
            merkle::verify_consistency(size1, n, &bad, &root1, &root).is_err(),
            "a tampered consistency proof ({size1} to {n}, {:?}) verifies",
            input.tamper
        );
    }
});
