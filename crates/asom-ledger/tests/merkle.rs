//! Independent tests of `asom_ledger::merkle`: published RFC 6962 / RFC 9162
//! vectors, property tests against a reference written from the RFC text, and
//! the stored-node contract (`NodeReader`, `Frontier`, `NodeId::position`).
//!
//! Published vectors used (data only; no implementation code was copied):
//!
//! - `transparency-dev/merkle` `testonly/constants.go` (the same data is in
//!   `google/trillian` `merkle/testonly/constants.go`): the eight leaf inputs,
//!   every complete-subtree hash of the 8-leaf tree, the roots of sizes 0..=8
//!   and the compact-range (right edge) node sets.
//! - `transparency-dev/merkle` `testonly/reference_test.go`,
//!   `proof/verify_test.go` and `cmd/proofgen/main.go`: the published inclusion
//!   and consistency proofs, and the corruption rules applied to them.
//! - `transparency-dev/merkle` `rfc6962/rfc6962_test.go`: hasher vectors.
//! - `transparency-dev/merkle` `testdata/{inclusion,consistency}/**.json`:
//!   copied under `tests/data/merkle/transparency-dev/testdata/`.
//! - C2SP CCTV `merkle/testdata/*.json` (stored copy at `rgdd/CCTV`): copied
//!   under `tests/data/merkle/c2sp-cctv/`.
//! - RFC 6962 §2.1.3 worked example (symbolic audit paths and proofs).
//! - draft-ietf-plants-merkle-tree-certs "Subtree Test Vectors" (rolling
//!   SHA-256 digests as published in `transparency-dev/merkle`
//!   `testonly/vectors_test.go`).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use asom_ledger::Hash;
use asom_ledger::merkle::{
    Frontier, MemoryTree, MissingNode, NodeId, NodeReader, ProofError, VerifyError,
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root, verify_consistency,
    verify_inclusion,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

// ---------------------------------------------------------------------------
// Reference model, written from the RFC 9162 §2.1 definitions.
// ---------------------------------------------------------------------------

/// `SHA-256()`, computed here rather than through the crate.
fn ref_empty() -> Hash {
    Hash(Sha256::digest(b"").into())
}

/// `SHA-256(0x00 ‖ d)`.
fn ref_leaf(data: &[u8]) -> Hash {
    Hash(
        Sha256::new()
            .chain_update([0u8])
            .chain_update(data)
            .finalize()
            .into(),
    )
}

/// `SHA-256(0x01 ‖ l ‖ r)`.
fn ref_node(l: &Hash, r: &Hash) -> Hash {
    Hash(
        Sha256::new()
            .chain_update([1u8])
            .chain_update(l.0)
            .chain_update(r.0)
            .finalize()
            .into(),
    )
}

/// The largest power of two strictly smaller than `n` (`n >= 2`), by counting
/// up rather than by bit tricks.
fn split(n: u64) -> u64 {
    assert!(n >= 2, "split({n})");
    let mut k = 1u64;
    while k < n - k {
        k <<= 1;
    }
    k
}

/// `MTH`, `PATH` and `PROOF` from their recursive definitions, memoised by range.
struct Reference {
    leaves: Vec<Hash>,
    memo: Mutex<HashMap<(u64, u64), Hash>>,
}

impl Reference {
    fn new(leaves: Vec<Hash>) -> Self {
        Self {
            leaves,
            memo: Mutex::new(HashMap::new()),
        }
    }

    /// `MTH(D[lo:hi])`.
    fn mth(&self, lo: u64, hi: u64) -> Hash {
        match hi - lo {
            0 => ref_empty(),
            1 => self.leaves[usize::try_from(lo).unwrap()],
            n => {
                if let Some(h) = self.memo.lock().unwrap().get(&(lo, hi)) {
                    return *h;
                }
                let k = split(n);
                let h = ref_node(&self.mth(lo, lo + k), &self.mth(lo + k, hi));
                self.memo.lock().unwrap().insert((lo, hi), h);
                h
            }
        }
    }

    /// `PATH(m, D[lo:hi])` with `m` an absolute entry index.
    fn path(&self, m: u64, lo: u64, hi: u64) -> Vec<Hash> {
        if hi - lo <= 1 {
            return Vec::new();
        }
        let k = split(hi - lo);
        let (mut out, sibling) = if m - lo < k {
            (self.path(m, lo, lo + k), self.mth(lo + k, hi))
        } else {
            (self.path(m, lo + k, hi), self.mth(lo, lo + k))
        };
        out.push(sibling);
        out
    }

    /// `PROOF(m, D[0:n])`; empty for the trivial cases `m == 0` and `m == n`.
    fn proof(&self, m: u64, n: u64) -> Vec<Hash> {
        if m == 0 || m == n {
            Vec::new()
        } else {
            self.subproof(m, 0, n, true)
        }
    }

    /// `SUBPROOF(m, D[lo:hi], b)` with `m` the number of old entries in the range.
    fn subproof(&self, m: u64, lo: u64, hi: u64, b: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![self.mth(lo, hi)]
            };
        }
        let k = split(n);
        let (mut out, sibling) = if m <= k {
            (self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi))
        } else {
            (
                self.subproof(m - k, lo + k, hi, false),
                self.mth(lo, lo + k),
            )
        };
        out.push(sibling);
        out
    }
}

/// Which side each sibling of entry `index` sits on in a tree of `size`, from
/// the root down (`true` = sibling on the right), following the PATH recursion.
fn path_sides(index: u64, size: u64) -> Vec<bool> {
    let (mut lo, mut hi) = (0u64, size);
    let mut sides = Vec::new();
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index - lo < k {
            sides.push(true);
            hi = lo + k;
        } else {
            sides.push(false);
            lo += k;
        }
    }
    sides
}

/// Inclusion verification by replaying the PATH recursion bottom-up.
fn ref_verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let sides = path_sides(index, size);
    if sides.len() != proof.len() {
        return false;
    }
    let mut acc = *leaf;
    for (p, right) in proof.iter().zip(sides.iter().rev()) {
        acc = if *right {
            ref_node(&acc, p)
        } else {
            ref_node(p, &acc)
        };
    }
    acc == *root
}

/// Consistency verification by replaying the SUBPROOF recursion bottom-up.
/// Semantics of the trivial cases follow C2SP CCTV: `m == n` needs an empty
/// proof and equal roots; `m == 0` needs an empty proof and the empty root.
fn ref_verify_consistency(m: u64, n: u64, proof: &[Hash], root1: &Hash, root2: &Hash) -> bool {
    if m > n {
        return false;
    }
    if m == n {
        return proof.is_empty() && root1 == root2;
    }
    if m == 0 {
        return proof.is_empty() && *root1 == ref_empty();
    }
    // Walk down: `true` = the old tree lies in the left subtree.
    let (mut old, mut lo, mut hi, mut whole) = (m, 0u64, n, true);
    let mut steps = Vec::new();
    while old != hi - lo {
        let k = split(hi - lo);
        if old <= k {
            steps.push(true);
            hi = lo + k;
        } else {
            steps.push(false);
            old -= k;
            lo += k;
            whole = false;
        }
    }
    let mut rest = proof.iter();
    let seed = if whole {
        *root1
    } else {
        match rest.next() {
            Some(h) => *h,
            None => return false,
        }
    };
    let rest: Vec<&Hash> = rest.collect();
    if rest.len() != steps.len() {
        return false;
    }
    let (mut h1, mut h2) = (seed, seed);
    for (left, p) in steps.iter().rev().zip(rest) {
        if *left {
            h2 = ref_node(&h2, p);
        } else {
            h1 = ref_node(p, &h1);
            h2 = ref_node(p, &h2);
        }
    }
    h1 == *root1 && h2 == *root2
}

// ---------------------------------------------------------------------------
// Readers and fixtures.
// ---------------------------------------------------------------------------

/// Records every `read_nodes` call.
struct Recording<'a, R> {
    inner: &'a R,
    calls: RefCell<Vec<Vec<NodeId>>>,
}

impl<'a, R> Recording<'a, R> {
    fn new(inner: &'a R) -> Self {
        Self {
            inner,
            calls: RefCell::new(Vec::new()),
        }
    }

    fn take(&self) -> Vec<Vec<NodeId>> {
        std::mem::take(&mut *self.calls.borrow_mut())
    }
}

impl<R: NodeReader> NodeReader for Recording<'_, R> {
    type Error = R::Error;
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        self.calls.borrow_mut().push(ids.to_vec());
        self.inner.read_nodes(ids)
    }
}

/// Presents the subtree of `tree` starting at entry `start` as a tree of its
/// own. Valid for RFC-aligned subtrees (start a multiple of the subtree's
/// bit-ceiling), where every node id shifts by whole nodes.
struct Shifted<'a> {
    tree: &'a MemoryTree,
    start: u64,
}

impl NodeReader for Shifted<'_> {
    type Error = MissingNode;
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        let moved: Vec<NodeId> = ids
            .iter()
            .map(|id| {
                assert_eq!(
                    self.start % (1u64 << id.level),
                    0,
                    "unaligned shift for {id:?}"
                );
                NodeId::new(id.level, id.index + (self.start >> id.level))
            })
            .collect();
        self.tree.read_nodes(&moved)
    }
}

/// A store that always fails.
struct Broken;

#[derive(Debug, PartialEq, Eq)]
struct Unavailable;

impl NodeReader for Broken {
    type Error = Unavailable;
    fn read_nodes(&self, _ids: &[NodeId]) -> Result<Vec<Hash>, Unavailable> {
        Err(Unavailable)
    }
}

fn tree_of<I, E>(entries: I) -> MemoryTree
where
    I: IntoIterator<Item = E>,
    E: AsRef<[u8]>,
{
    let mut t = MemoryTree::new();
    for e in entries {
        t.push(e.as_ref());
    }
    t
}

/// Entries `0..BIG` of a shared tree; big enough for every size around 2^12.
const BIG: u64 = 4100;

struct Fixture {
    tree: MemoryTree,
    leaves: Vec<Hash>,
    reference: Reference,
}

fn entry(i: u64) -> Vec<u8> {
    format!("asom merkle test entry {i}").into_bytes()
}

fn big() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let leaves: Vec<Hash> = (0..BIG).map(|i| ref_leaf(&entry(i))).collect();
        let tree = tree_of((0..BIG).map(entry));
        Fixture {
            tree,
            reference: Reference::new(leaves.clone()),
            leaves,
        }
    })
}

fn leaf_at(f: &Fixture, i: u64) -> Hash {
    f.leaves[usize::try_from(i).unwrap()]
}

fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).unwrap_or_else(|e| panic!("bad vector {hex}: {e}"))
}

fn hashes(hexes: &[&str]) -> Vec<Hash> {
    hexes.iter().map(|x| h(x)).collect()
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/merkle")
}

/// `ceil(log2(n))` for `n >= 1`.
fn ceil_log2(n: u64) -> u64 {
    if n <= 1 {
        0
    } else {
        u64::from(64 - (n - 1).leading_zeros())
    }
}

/// Sizes 2^k - 1, 2^k and 2^k + 1 for k = 0..=12, deduplicated.
fn sizes_around_powers_of_two() -> Vec<u64> {
    let set: BTreeSet<u64> = (0..=12)
        .flat_map(|k| [(1u64 << k) - 1, 1 << k, (1 << k) + 1])
        .filter(|&n| n > 0)
        .collect();
    set.into_iter().collect()
}

// ---------------------------------------------------------------------------
// 1. Published vectors.
// ---------------------------------------------------------------------------

/// `testonly/constants.go` `LeafInputs()`.
const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// `testonly/constants.go` `NodeHashes()`: by level, then index.
const NODE_HASHES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// `testonly/constants.go` `RootHashes()`, indexed by tree size 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// `testonly/constants.go` `CompactTrees()`, as (level, index) node ids per size.
const COMPACT_TREES: [&[(u8, u64)]; 9] = [
    &[],
    &[(0, 0)],
    &[(1, 0)],
    &[(1, 0), (0, 2)],
    &[(2, 0)],
    &[(2, 0), (0, 4)],
    &[(2, 0), (1, 2)],
    &[(2, 0), (1, 2), (0, 6)],
    &[(3, 0)],
];

/// Inclusion proofs (0-based index, size, proof): `testonly/reference_test.go`
/// `TestRefInclusionProof` and `proof/verify_test.go` `inclusionProofs`
/// (1-based leaf numbers there).
const INCLUSION_PROOFS: [(u64, u64, &[&str]); 7] = [
    (0, 1, &[]),
    (
        0,
        2,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        1,
        2,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// Consistency proofs (size1, size2, proof): `testonly/reference_test.go`
/// `TestRefConsistencyProof` and `proof/verify_test.go` `consistencyProofs`.
const CONSISTENCY_PROOFS: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// `sha256SomeHash` of `proof/verify_test.go`.
const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

fn vector_tree() -> MemoryTree {
    tree_of(LEAF_INPUTS.iter().map(|x| hex::decode(x).unwrap()))
}

#[test]
fn hashing_matches_the_published_hasher_vectors() {
    // rfc6962/rfc6962_test.go
    assert_eq!(
        empty_root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(
        leaf_hash(b""),
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
    assert_eq!(
        leaf_hash(b"L123456"),
        h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    );
    assert_ne!(
        empty_root(),
        leaf_hash(b""),
        "the empty tree is not the empty leaf"
    );
    // Domain separation and order (rfc6962_test.go TestRFC6962HasherCollisions).
    let (a, b) = (leaf_hash(b"Hello"), leaf_hash(b"World"));
    assert_ne!(a, b);
    let ab = node_hash(&a, &b);
    let mut concat = a.0.to_vec();
    concat.extend_from_slice(&b.0);
    assert_ne!(
        ab,
        leaf_hash(&concat),
        "a node is not the leaf of its children's concatenation"
    );
    assert_ne!(ab, node_hash(&b, &a), "children order matters");
    // And the crate's primitives agree with the ones written here from the RFC.
    for x in LEAF_INPUTS {
        let data = hex::decode(x).unwrap();
        assert_eq!(leaf_hash(&data), ref_leaf(&data));
    }
    assert_eq!(node_hash(&a, &b), ref_node(&a, &b));
}

#[test]
fn roots_and_nodes_match_the_published_eight_leaf_tree() {
    let tree = vector_tree();
    let mut incremental = MemoryTree::new();
    let mut frontier = Frontier::new();
    assert_eq!(incremental.root(), h(ROOTS[0]));
    assert_eq!(frontier.root(), h(ROOTS[0]));
    for (n, x) in LEAF_INPUTS.iter().enumerate() {
        let data = hex::decode(x).unwrap();
        incremental.push(&data);
        frontier.append(leaf_hash(&data), |_, _| {});
        let size = n as u64 + 1;
        assert_eq!(
            incremental.root(),
            h(ROOTS[n + 1]),
            "MemoryTree root at size {size}"
        );
        assert_eq!(
            frontier.root(),
            h(ROOTS[n + 1]),
            "Frontier root at size {size}"
        );
        assert_eq!(frontier.size(), size);
    }
    for (n, want) in ROOTS.iter().enumerate() {
        assert_eq!(
            root(&tree, n as u64).unwrap(),
            h(want),
            "root({n}) over stored nodes"
        );
    }
    for (level, row) in NODE_HASHES.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            let id = NodeId::new(level as u8, index as u64);
            assert_eq!(tree.read_nodes(&[id]).unwrap(), vec![h(want)], "{id:?}");
        }
        // Nothing beyond the published nodes is stored.
        let past = NodeId::new(level as u8, row.len() as u64);
        assert_eq!(tree.read_nodes(&[past]), Err(MissingNode(past)));
    }
    assert!(tree.read_nodes(&[NodeId::new(4, 0)]).is_err());
}

#[test]
fn frontier_edges_match_the_published_compact_trees() {
    let tree = vector_tree();
    for (n, want) in COMPACT_TREES.iter().enumerate() {
        let want: Vec<NodeId> = want.iter().map(|&(l, i)| NodeId::new(l, i)).collect();
        assert_eq!(Frontier::edge_ids(n as u64), want, "edge_ids({n})");
        let loaded = Frontier::load(&tree, n as u64).unwrap();
        assert_eq!(loaded.size(), n as u64);
        assert_eq!(
            loaded.root(),
            h(ROOTS[n]),
            "root of the frontier loaded at size {n}"
        );
    }
}

#[test]
fn published_inclusion_proofs_are_generated_and_verify() {
    let tree = vector_tree();
    for (index, size, want) in INCLUSION_PROOFS {
        let want = hashes(want);
        let got = inclusion_proof(&tree, index, size).unwrap();
        assert_eq!(got, want, "inclusion proof of {index} in {size}");
        let leaf = leaf_hash(&hex::decode(LEAF_INPUTS[index as usize]).unwrap());
        let r = h(ROOTS[size as usize]);
        verify_inclusion(&leaf, index, size, &want, &r).unwrap();
        assert!(ref_verify_inclusion(&leaf, index, size, &want, &r));
        for (desc, probe) in corrupt_inclusion(index, size, &leaf, &want, &r) {
            assert!(
                verify_inclusion(
                    &probe.leaf,
                    probe.index,
                    probe.size,
                    &probe.proof,
                    &probe.root
                )
                .is_err(),
                "corrupted inclusion proof ({desc}) of {index} in {size} verified"
            );
        }
    }
}

#[test]
fn published_consistency_proofs_are_generated_and_verify() {
    let tree = vector_tree();
    for (size1, size2, want) in CONSISTENCY_PROOFS {
        let want = hashes(want);
        let got = consistency_proof(&tree, size1, size2).unwrap();
        assert_eq!(got, want, "consistency proof {size1} -> {size2}");
        let (r1, r2) = (h(ROOTS[size1 as usize]), h(ROOTS[size2 as usize]));
        verify_consistency(size1, size2, &want, &r1, &r2).unwrap();
        assert!(ref_verify_consistency(size1, size2, &want, &r1, &r2));
        for (desc, p) in corrupt_consistency(size1, size2, &r1, &r2, &want) {
            assert!(
                verify_consistency(p.size1, p.size2, &p.proof, &p.root1, &p.root2).is_err(),
                "corrupted consistency proof ({desc}) {size1} -> {size2} verified"
            );
        }
    }
}

#[test]
#[allow(
    clippy::many_single_char_names,
    reason = "the node names of RFC 6962 §2.1.3"
)]
fn rfc6962_section_2_1_3_worked_example() {
    // The 7-leaf tree of RFC 6962 §2.1.3, with the published leaf inputs.
    let tree = tree_of(LEAF_INPUTS[..7].iter().map(|x| hex::decode(x).unwrap()));
    let n = |l: usize, i: usize| h(NODE_HASHES[l][i]);
    let [a, b, c, d, e, f] = [n(0, 0), n(0, 1), n(0, 2), n(0, 3), n(0, 4), n(0, 5)];
    let j = n(0, 6); // d6
    let (g, hh, i) = (n(1, 0), n(1, 1), n(1, 2));
    let k = n(2, 0);
    let l = ref_node(&i, &j);
    assert_eq!(root(&tree, 7).unwrap(), ref_node(&k, &l));
    assert_eq!(root(&tree, 7).unwrap(), h(ROOTS[7]));
    let r7 = h(ROOTS[7]);
    for (index, leaf, path) in [
        (0, a, vec![b, hh, l]),
        (3, d, vec![c, g, l]),
        (4, e, vec![f, j, k]),
        (6, j, vec![i, k]),
    ] {
        assert_eq!(
            inclusion_proof(&tree, index, 7).unwrap(),
            path,
            "audit path for d{index}"
        );
        verify_inclusion(&leaf, index, 7, &path, &r7).unwrap();
    }
    for (m, proof) in [(3, vec![c, d, g, l]), (4, vec![l]), (6, vec![i, j, k])] {
        assert_eq!(
            consistency_proof(&tree, m, 7).unwrap(),
            proof,
            "PROOF({m}, D[7])"
        );
        let rm = root(&tree, m).unwrap();
        verify_consistency(m, 7, &proof, &rm, &r7).unwrap();
    }
    // hash1 = k.
    assert_eq!(root(&tree, 4).unwrap(), k);
}

// --- transparency-dev/merkle corruption rules (cmd/proofgen, verify_test.go) ---

struct InclusionProbe {
    index: u64,
    size: u64,
    leaf: Hash,
    proof: Vec<Hash>,
    root: Hash,
}

struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: Hash,
    root2: Hash,
    proof: Vec<Hash>,
}

/// A stand-in for a value that is not a SHA-256 digest at all (`"WrongLeaf"`,
/// an empty slice): `Hash` cannot hold it, so it is mapped to a digest nobody
/// can have a preimage-free path to.
fn not_a_digest(raw: &[u8]) -> Hash {
    Hash(
        Sha256::new()
            .chain_update(b"asom test: not a digest: ")
            .chain_update(raw)
            .finalize()
            .into(),
    )
}

fn with(proof: &[Hash], f: impl FnOnce(&mut Vec<Hash>)) -> Vec<Hash> {
    let mut p = proof.to_vec();
    f(&mut p);
    p
}

fn corrupt_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Vec<(String, InclusionProbe)> {
    let mut out = Vec::new();
    let mut add = |desc: String, index, size, leaf, proof, root| {
        out.push((
            desc,
            InclusionProbe {
                index,
                size,
                leaf,
                proof,
                root,
            },
        ));
    };
    let (i, n, lf, rt, copy) = (index, size, *leaf, *root, || proof.to_vec());
    let (garbage, some) = (not_a_digest(b""), h(SOME_HASH));
    add("index - 1".into(), i.wrapping_sub(1), n, lf, copy(), rt);
    add("index + 1".into(), i + 1, n, lf, copy(), rt);
    add("index ^ 2".into(), i ^ 2, n, lf, copy(), rt);
    add("size * 2".into(), i, n * 2, lf, copy(), rt);
    add("size / 2".into(), i, n / 2, lf, copy(), rt);
    add(
        "wrong leaf".into(),
        i,
        n,
        not_a_digest(b"WrongLeaf"),
        copy(),
        rt,
    );
    add("empty root".into(), i, n, lf, copy(), empty_root());
    add("random root".into(), i, n, lf, copy(), some);
    add(
        "trailing garbage".into(),
        i,
        n,
        lf,
        with(proof, |v| v.push(garbage)),
        rt,
    );
    add(
        "trailing root".into(),
        i,
        n,
        lf,
        with(proof, |v| v.push(rt)),
        rt,
    );
    add(
        "preceding garbage".into(),
        i,
        n,
        lf,
        with(proof, |v| v.insert(0, garbage)),
        rt,
    );
    add(
        "preceding root".into(),
        i,
        n,
        lf,
        with(proof, |v| v.insert(0, rt)),
        rt,
    );
    for at in 0..proof.len() {
        let bad = with(proof, |v| v[at].0[0] ^= 8);
        add(format!("modified proof[{at}] bit 3"), i, n, lf, bad, rt);
    }
    if let Some((_, short)) = proof.split_last() {
        add("removed component".into(), i, n, lf, short.to_vec(), rt);
    }
    if proof.len() > 1 {
        add(
            "inserted component".into(),
            i,
            n,
            lf,
            with(proof, |v| v.insert(1, some)),
            rt,
        );
    }
    out
}

fn corrupt_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Vec<(String, ConsistencyProbe)> {
    let mut out = Vec::new();
    // As upstream: only non-trivial proofs are corrupted.
    let (Some(&first), Some((_, short))) = (proof.first(), proof.split_last()) else {
        return out;
    };
    let mut add = |desc: String, size1, size2, root1, root2, proof| {
        out.push((
            desc,
            ConsistencyProbe {
                size1,
                size2,
                root1,
                root2,
                proof,
            },
        ));
    };
    let (m, n, r1, r2, copy) = (size1, size2, *root1, *root2, || proof.to_vec());
    let (wrong, garbage) = (not_a_digest(b"WrongRoot"), not_a_digest(b""));
    add("size1 - 1".into(), m - 1, n, r1, r2, copy());
    add("size1 + 1".into(), m + 1, n, r1, r2, copy());
    add("size1 ^ 2".into(), m ^ 2, n, r1, r2, copy());
    add("size2 * 2".into(), m, n * 2, r1, r2, copy());
    add("size2 / 2".into(), m, n / 2, r1, r2, copy());
    add("wrong root1".into(), m, n, wrong, r2, copy());
    add("wrong root2".into(), m, n, r1, wrong, copy());
    add("swapped roots".into(), m, n, r2, r1, copy());
    add("empty proof".into(), m, n, r1, r2, Vec::new());
    add(
        "trailing garbage".into(),
        m,
        n,
        r1,
        r2,
        with(proof, |v| v.push(garbage)),
    );
    add(
        "trailing root1".into(),
        m,
        n,
        r1,
        r2,
        with(proof, |v| v.push(r1)),
    );
    add(
        "trailing root2".into(),
        m,
        n,
        r1,
        r2,
        with(proof, |v| v.push(r2)),
    );
    add(
        "preceding garbage".into(),
        m,
        n,
        r1,
        r2,
        with(proof, |v| v.insert(0, garbage)),
    );
    add(
        "preceding root1".into(),
        m,
        n,
        r1,
        r2,
        with(proof, |v| v.insert(0, r1)),
    );
    add(
        "preceding root2".into(),
        m,
        n,
        r1,
        r2,
        with(proof, |v| v.insert(0, r2)),
    );
    add(
        "preceding proof[0]".into(),
        m,
        n,
        r1,
        r2,
        with(proof, |v| v.insert(0, first)),
    );
    add("truncated proof".into(), m, n, r1, r2, short.to_vec());
    for at in 0..proof.len() {
        let bad = with(proof, |v| v[at].0[0] ^= 16);
        add(format!("modified proof[{at}] bit 4"), m, n, r1, r2, bad);
    }
    out
}

// --- transparency-dev/merkle testdata/*.json ---

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TdInclusion {
    #[serde(alias = "leafIndex")]
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TdConsistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

/// Decodes the base64 hash fields of one probe. Values that are not 32 bytes
/// (`"WrongLeaf"`, empty strings, `"don't care"`) cannot be a `Hash` at all:
/// `Hash::from_base64` refuses them, which is asom's rejection of the probe.
/// They are also mapped through [`not_a_digest`] so that probes upstream
/// expects to *pass* with such values (equal "don't care" roots at equal
/// sizes) are still exercised.
struct Fields {
    hashes: Vec<Hash>,
    all_digests: bool,
}

fn td_fields<'a>(texts: impl IntoIterator<Item = &'a str>) -> Fields {
    let mut all_digests = true;
    let hashes = texts
        .into_iter()
        .map(|text| {
            Hash::from_base64(text).unwrap_or_else(|_| {
                let raw = STANDARD.decode(text).expect("test data is base64");
                assert_ne!(raw.len(), 32);
                all_digests = false;
                not_a_digest(&raw)
            })
        })
        .collect();
    Fields {
        hashes,
        all_digests,
    }
}

/// Whether asom accepts a probe: one with a non-digest field is refused at
/// `Hash::from_base64`, unless upstream expects it to pass, in which case the
/// verdict on the mapped values counts.
fn accepted(fields: &Fields, want_err: bool, verified: bool) -> bool {
    (fields.all_digests || !want_err) && verified
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read_probe<T: for<'de> Deserialize<'de>>(base: &Path, path: &Path) -> (String, T) {
    let name = path.strip_prefix(base).unwrap().display().to_string();
    let text = fs::read_to_string(path).unwrap();
    let probe = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    (name, probe)
}

#[test]
fn transparency_dev_inclusion_testdata() {
    let base = data_dir().join("transparency-dev/testdata");
    let tree = vector_tree();
    let files = json_files(&base.join("inclusion"));
    assert!(
        files.len() >= 38,
        "inclusion test data missing: {} files",
        files.len()
    );
    let mut wrong = Vec::new();
    for path in &files {
        let (name, p): (String, TdInclusion) = read_probe(&base, path);
        let texts = p.proof.clone().unwrap_or_default();
        let fields = td_fields(
            [p.leaf_hash.as_str(), p.root.as_str()]
                .into_iter()
                .chain(texts.iter().map(String::as_str)),
        );
        let (leaf, r, proof) = (fields.hashes[0], fields.hashes[1], &fields.hashes[2..]);
        let got = verify_inclusion(&leaf, p.leaf_idx, p.tree_size, proof, &r);
        if accepted(&fields, p.want_err, got.is_ok()) == p.want_err {
            wrong.push(format!(
                "{name} ({}): wantErr {} but got {got:?}",
                p.desc, p.want_err
            ));
        }
        if fields.all_digests {
            let by_reference = ref_verify_inclusion(&leaf, p.leaf_idx, p.tree_size, proof, &r);
            assert_eq!(
                by_reference, !p.want_err,
                "{name}: the reference disagrees with upstream"
            );
        }
        // Happy paths of the numbered directories are over the published 8 leaves:
        // generation must reproduce them too.
        if p.desc == "happy path" {
            assert_eq!(
                inclusion_proof(&tree, p.leaf_idx, p.tree_size).unwrap(),
                proof,
                "{name}"
            );
            assert_eq!(root(&tree, p.tree_size).unwrap(), r, "{name}");
            let input = hex::decode(LEAF_INPUTS[p.leaf_idx as usize]).unwrap();
            assert_eq!(leaf_hash(&input), leaf, "{name}");
            // And the upstream corruption rules, for directories not copied in full.
            for (desc, q) in corrupt_inclusion(p.leaf_idx, p.tree_size, &leaf, proof, &r) {
                if verify_inclusion(&q.leaf, q.index, q.size, &q.proof, &q.root).is_ok() {
                    wrong.push(format!("{name}: corruption \"{desc}\" verified"));
                }
            }
        }
        if p.desc == "matching root and leaf" {
            assert_eq!(
                leaf_hash(b"data"),
                leaf,
                "{name}: the single entry is \"data\""
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "transparency-dev inclusion probes:\n{}",
        wrong.join("\n")
    );
}

/// Note on size1 = 0: asom, like C2SP CCTV (`consistency-valid.json` has
/// 0 -> 1 with an empty proof), treats the empty tree as a prefix of every
/// tree. The newest transparency-dev `RootFromConsistencyProof` rejects
/// size1 = 0 outright; its probes for that case all carry non-digest roots, so
/// they are rejected here at `Hash::from_base64` and do not tell the two apart.
#[test]
fn transparency_dev_consistency_testdata() {
    let base = data_dir().join("transparency-dev/testdata");
    let tree = vector_tree();
    let files = json_files(&base.join("consistency"));
    assert!(
        files.len() >= 43,
        "consistency test data missing: {} files",
        files.len()
    );
    let mut wrong = Vec::new();
    for path in &files {
        let (name, p): (String, TdConsistency) = read_probe(&base, path);
        let texts = p.proof.clone().unwrap_or_default();
        let fields = td_fields(
            [p.root1.as_str(), p.root2.as_str()]
                .into_iter()
                .chain(texts.iter().map(String::as_str)),
        );
        let (r1, r2, proof) = (fields.hashes[0], fields.hashes[1], &fields.hashes[2..]);
        let got = verify_consistency(p.size1, p.size2, proof, &r1, &r2);
        if accepted(&fields, p.want_err, got.is_ok()) == p.want_err {
            wrong.push(format!(
                "{name} ({}): wantErr {} but got {got:?}",
                p.desc, p.want_err
            ));
        }
        if fields.all_digests && p.size1 != 0 {
            let by_reference = ref_verify_consistency(p.size1, p.size2, proof, &r1, &r2);
            assert_eq!(
                by_reference, !p.want_err,
                "{name}: the reference disagrees with upstream"
            );
        }
        if p.desc == "happy path" {
            assert_eq!(
                consistency_proof(&tree, p.size1, p.size2).unwrap(),
                proof,
                "{name}"
            );
            assert_eq!(root(&tree, p.size1).unwrap(), r1, "{name}");
            assert_eq!(root(&tree, p.size2).unwrap(), r2, "{name}");
            for (desc, q) in corrupt_consistency(p.size1, p.size2, &r1, &r2, proof) {
                if verify_consistency(q.size1, q.size2, &q.proof, &q.root1, &q.root2).is_ok() {
                    wrong.push(format!("{name}: corruption \"{desc}\" verified"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "transparency-dev consistency probes:\n{}",
        wrong.join("\n")
    );
}

// --- C2SP CCTV merkle test vectors ---

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CctvHead {
    leaf_data: String,
    leaf_hash: String,
    root_hash: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CctvInclusion {
    leaf_hash: String,
    leaf_index: u64,
    tree_size: u64,
    root_hash: String,
    inclusion_path: Vec<String>,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CctvConsistency {
    old_size: u64,
    new_size: u64,
    old_root: String,
    new_root: String,
    consistency_path: Vec<String>,
    #[serde(default)]
    comment: String,
}

fn cctv<T: for<'de> Deserialize<'de>>(file: &str) -> Vec<T> {
    let text = fs::read_to_string(data_dir().join("c2sp-cctv").join(file)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn b64(text: &str) -> Hash {
    Hash::from_base64(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn b64s(texts: &[String]) -> Vec<Hash> {
    texts.iter().map(|x| b64(x)).collect()
}

/// The CCTV tree: entries "a", "b", ... "p".
fn cctv_tree() -> MemoryTree {
    let heads: Vec<CctvHead> = cctv("merkle_tree.json");
    tree_of(heads.iter().map(|x| x.leaf_data.as_bytes().to_vec()))
}

#[test]
fn c2sp_cctv_tree_heads() {
    let heads: Vec<CctvHead> = cctv("merkle_tree.json");
    assert_eq!(heads.len(), 16);
    let mut t = MemoryTree::new();
    for (i, x) in heads.iter().enumerate() {
        assert_eq!(
            leaf_hash(x.leaf_data.as_bytes()),
            b64(&x.leaf_hash),
            "leaf {i}"
        );
        t.push_leaf(b64(&x.leaf_hash));
        assert_eq!(t.root(), b64(&x.root_hash), "root of size {}", i + 1);
    }
    for (i, x) in heads.iter().enumerate() {
        assert_eq!(root(&t, i as u64 + 1).unwrap(), b64(&x.root_hash));
    }
}

#[test]
fn c2sp_cctv_inclusion_vectors() {
    let t = cctv_tree();
    for (i, v) in cctv::<CctvInclusion>("inclusion-valid.json")
        .iter()
        .enumerate()
    {
        let path = b64s(&v.inclusion_path);
        let (leaf, r) = (b64(&v.leaf_hash), b64(&v.root_hash));
        assert_eq!(
            inclusion_proof(&t, v.leaf_index, v.tree_size).unwrap(),
            path,
            "valid #{i}"
        );
        assert_eq!(root(&t, v.tree_size).unwrap(), r, "valid #{i}");
        verify_inclusion(&leaf, v.leaf_index, v.tree_size, &path, &r)
            .unwrap_or_else(|e| panic!("valid #{i}: {e}"));
    }
    for (i, v) in cctv::<CctvInclusion>("inclusion-invalid.json")
        .iter()
        .enumerate()
    {
        let path = b64s(&v.inclusion_path);
        let (leaf, r) = (b64(&v.leaf_hash), b64(&v.root_hash));
        assert!(
            verify_inclusion(&leaf, v.leaf_index, v.tree_size, &path, &r).is_err(),
            "invalid #{i} ({}) verified",
            v.comment
        );
    }
}

#[test]
fn c2sp_cctv_consistency_vectors() {
    let t = cctv_tree();
    for (i, v) in cctv::<CctvConsistency>("consistency-valid.json")
        .iter()
        .enumerate()
    {
        let path = b64s(&v.consistency_path);
        let (r1, r2) = (b64(&v.old_root), b64(&v.new_root));
        assert_eq!(
            consistency_proof(&t, v.old_size, v.new_size).unwrap(),
            path,
            "valid #{i}"
        );
        assert_eq!(root(&t, v.old_size).unwrap(), r1, "valid #{i}");
        assert_eq!(root(&t, v.new_size).unwrap(), r2, "valid #{i}");
        verify_consistency(v.old_size, v.new_size, &path, &r1, &r2)
            .unwrap_or_else(|e| panic!("valid #{i}: {e}"));
    }
    let mut accepted = Vec::new();
    for (i, v) in cctv::<CctvConsistency>("consistency-invalid.json")
        .iter()
        .enumerate()
    {
        let path = b64s(&v.consistency_path);
        let (r1, r2) = (b64(&v.old_root), b64(&v.new_root));
        assert!(!ref_verify_consistency(
            v.old_size, v.new_size, &path, &r1, &r2
        ));
        if verify_consistency(v.old_size, v.new_size, &path, &r1, &r2).is_ok() {
            accepted.push(format!(
                "invalid #{i} ({}): old_size {} new_size {} old_root {} new_root {} path len {}",
                v.comment,
                v.old_size,
                v.new_size,
                r1,
                r2,
                path.len()
            ));
        }
    }
    assert!(
        accepted.is_empty(),
        "C2SP CCTV invalid consistency vectors accepted:\n{}",
        accepted.join("\n")
    );
}

/// The bug C2SP CCTV `consistency-invalid.json` entry #3 exposes, on its own:
/// a consistency check from size 0 must still bind the claimed old root to the
/// empty tree's root, or a caller can "prove" any root was an earlier state.
#[test]
fn consistency_from_the_empty_tree_requires_the_empty_root() {
    let a = leaf_hash(b"a");
    verify_consistency(0, 1, &[], &empty_root(), &a).unwrap();
    verify_consistency(0, 0, &[], &empty_root(), &empty_root()).unwrap();
    assert!(
        verify_consistency(0, 1, &[], &a, &a).is_err(),
        "verify_consistency(0, 1, [], root1 = leaf_hash(\"a\"), root2 = leaf_hash(\"a\")) \
         accepted a size-0 tree whose root is not SHA-256()"
    );
}

/// draft-ietf-plants-merkle-tree-certs "Subtree Test Vectors": over entries
/// `[0x00], [0x01], ... [0x81]`, every valid subtree `[start, end)` with
/// `end <= 130` (start a multiple of `bit_ceil(end - start)`), its hash and
/// every inclusion proof in it, folded into rolling SHA-256 digests. A subtree
/// is the tree of its own entries, so `root` and `inclusion_proof` over a
/// shifted reader must produce it.
#[test]
fn draft_ietf_plants_subtree_vectors() {
    const MAX: u64 = 130;
    let tree = tree_of((0..MAX).map(|i| [i as u8]));
    let mut hash_digest = Sha256::new();
    let mut proof_digest = Sha256::new();
    for end in 1..=MAX {
        for start in 0..end {
            if start != 0 && start % (end - start).next_power_of_two() != 0 {
                continue;
            }
            let sub = Shifted { tree: &tree, start };
            let sub_root = root(&sub, end - start).unwrap();
            hash_digest.update(format!("[{start}, {end}) {}\n", sub_root.to_hex()));
            for index in start..end {
                let proof = inclusion_proof(&sub, index - start, end - start).unwrap();
                let mut line = format!("{index} [{start}, {end})");
                for p in &proof {
                    line.push(' ');
                    line.push_str(&p.to_hex());
                }
                line.push('\n');
                proof_digest.update(line);
                let leaf = leaf_hash(&[index as u8]);
                verify_inclusion(&leaf, index - start, end - start, &proof, &sub_root).unwrap();
            }
        }
    }
    assert_eq!(
        hex::encode(hash_digest.finalize()),
        "94a95384a8c69acea9b50d035a58285b3a777cb7a724005faa5e1f1e1190007f",
        "subtree hash vector"
    );
    assert_eq!(
        hex::encode(proof_digest.finalize()),
        "ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f",
        "subtree inclusion proof vector"
    );
}

// ---------------------------------------------------------------------------
// 2. Properties.
// ---------------------------------------------------------------------------

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=BIG).prop_flat_map(|n| (Just(n), 0..n))
}

fn two_sizes() -> impl Strategy<Value = (u64, u64)> {
    (1..=BIG).prop_flat_map(|n| (0..=n, Just(n)))
}

/// Interesting `u64`s: small, around powers of two, the extremes, anything.
fn edgy_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..=70u64,
        (0..64u32).prop_map(|k| 1u64 << k),
        (1..64u32).prop_map(|k| (1u64 << k) - 1),
        (1..63u32).prop_map(|k| (1u64 << k) + 1),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        any::<u64>(),
    ]
}

fn any_hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

/// Checks the read contract of one proof call and returns the node count.
fn check_reads(calls: &[Vec<NodeId>], size: u64, what: &str) -> usize {
    assert!(calls.len() <= 1, "{what}: {} read_nodes calls", calls.len());
    let ids: &[NodeId] = calls.first().map_or(&[], Vec::as_slice);
    assert!(
        calls.first().is_none_or(|c| !c.is_empty()),
        "{what}: read_nodes called with no ids"
    );
    let bound = 2 * ceil_log2(size) + 2;
    assert!(
        ids.len() as u64 <= bound,
        "{what}: read {} nodes, bound {bound}: {ids:?}",
        ids.len()
    );
    for id in ids {
        assert!(
            id.end_entry() <= size,
            "{what}: read {id:?}, outside the tree of size {size}"
        );
    }
    ids.len()
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn every_inclusion_proof_verifies_and_matches_the_reference((n, idx) in size_and_index()) {
        let f = big();
        let rec = Recording::new(&f.tree);
        let proof = inclusion_proof(&rec, idx, n).unwrap();
        check_reads(&rec.take(), n, &format!("inclusion_proof({idx}, {n})"));
        prop_assert_eq!(&proof, &f.reference.path(idx, 0, n));
        let r = root(&f.tree, n).unwrap();
        prop_assert_eq!(r, f.reference.mth(0, n));
        prop_assert!(verify_inclusion(&leaf_at(f, idx), idx, n, &proof, &r).is_ok());
    }

    #[test]
    fn every_consistency_proof_verifies_and_matches_the_reference((m, n) in two_sizes()) {
        let f = big();
        let rec = Recording::new(&f.tree);
        let proof = consistency_proof(&rec, m, n).unwrap();
        let reads = check_reads(&rec.take(), n, &format!("consistency_proof({m}, {n})"));
        if m == 0 || m == n {
            prop_assert_eq!(reads, 0);
        }
        prop_assert_eq!(&proof, &f.reference.proof(m, n));
        let (r1, r2) = (root(&f.tree, m).unwrap(), root(&f.tree, n).unwrap());
        prop_assert!(verify_consistency(m, n, &proof, &r1, &r2).is_ok());
        prop_assert!(ref_verify_consistency(m, n, &proof, &r1, &r2));
    }

    #[test]
    fn every_mutation_of_an_inclusion_proof_fails(
        (n, idx) in size_and_index(),
        flip in (any::<prop::sample::Index>(), 0..256usize),
        extra in any_hash(),
        other_size in 1..=BIG,
        other_index in any::<prop::sample::Index>(),
    ) {
        let f = big();
        let proof = inclusion_proof(&f.tree, idx, n).unwrap();
        let (leaf, r) = (leaf_at(f, idx), root(&f.tree, n).unwrap());
        let check = |desc: &str, leaf: &Hash, i: u64, s: u64, p: &[Hash], r: &Hash| {
            let got = verify_inclusion(leaf, i, s, p, r);
            assert!(got.is_err(), "{desc}: ({idx}, {n}) mutated to ({i}, {s}) verified");
        };
        // Flip one bit of one hash.
        if !proof.is_empty() {
            let (at, bit) = (flip.0.index(proof.len()), flip.1);
            let bad = with(&proof, |v| v[at].0[bit / 8] ^= 1 << (bit % 8));
            let got = verify_inclusion(&leaf, idx, n, &bad, &r);
            prop_assert!(matches!(got, Err(VerifyError::RootMismatch { .. })), "flip: {:?}", got);
        }
        // Drop, add, swap.
        for at in 0..proof.len() {
            let short = with(&proof, |v| { v.remove(at); });
            let got = verify_inclusion(&leaf, idx, n, &short, &r);
            prop_assert!(matches!(got, Err(VerifyError::WrongLength { .. })), "drop {}: {:?}", at, got);
        }
        for at in 0..=proof.len() {
            let long = with(&proof, |v| v.insert(at, extra));
            let got = verify_inclusion(&leaf, idx, n, &long, &r);
            prop_assert!(matches!(got, Err(VerifyError::WrongLength { .. })), "add {}: {:?}", at, got);
        }
        for a in 0..proof.len() {
            for b in a + 1..proof.len() {
                if proof[a] != proof[b] {
                    check("swap", &leaf, idx, n, &with(&proof, |v| v.swap(a, b)), &r);
                }
            }
        }
        // Another index of the same tree, and indexes outside it.
        let i2 = other_index.index(usize::try_from(n).unwrap()) as u64;
        for i in [i2, idx ^ 1, idx.wrapping_sub(1), idx + 1, 0, n - 1] {
            if i != idx && i < n {
                check("index", &leaf, i, n, &proof, &r);
            }
        }
        for i in [n, n + 1, u64::MAX] {
            let got = verify_inclusion(&leaf, i, n, &proof, &r);
            prop_assert_eq!(got, Err(VerifyError::IndexOutOfRange { index: i, size: n }));
        }
        // Another size: the RFC algorithm cannot tell sizes whose path has the same
        // shape apart, so the verdict must agree with the reference exactly, and
        // must be a rejection whenever the shape differs.
        for s in [other_size, n - 1, n + 1, n * 2, n / 2, u64::MAX] {
            if s == n {
                continue;
            }
            let got = verify_inclusion(&leaf, idx, s, &proof, &r).is_ok();
            prop_assert_eq!(got, ref_verify_inclusion(&leaf, idx, s, &proof, &r), "size {}", s);
            if idx < s && path_sides(idx, s) != path_sides(idx, n) {
                prop_assert!(!got, "size {} has another path shape but verified", s);
            }
        }
        // Another leaf, and the root of another size.
        if n > 1 {
            let j = if idx == 0 { 1 } else { idx - 1 };
            check("other leaf", &leaf_at(f, j), idx, n, &proof, &r);
        }
        if other_size != n {
            check("other root", &leaf, idx, n, &proof, &root(&f.tree, other_size).unwrap());
        }
    }

    #[test]
    fn every_mutation_of_a_consistency_proof_fails(
        (m, n) in (2..=BIG).prop_flat_map(|n| (1..n, Just(n))),
        flip in (any::<prop::sample::Index>(), 0..256usize),
        extra in any_hash(),
        other in 1..=BIG,
    ) {
        let f = big();
        let proof = consistency_proof(&f.tree, m, n).unwrap();
        let (r1, r2) = (root(&f.tree, m).unwrap(), root(&f.tree, n).unwrap());
        prop_assert!(!proof.is_empty());
        let check = |desc: &str, m2: u64, n2: u64, p: &[Hash], a: &Hash, b: &Hash| {
            assert!(verify_consistency(m2, n2, p, a, b).is_err(), "{desc}: ({m}, {n}) -> ({m2}, {n2}) verified");
        };
        let (at, bit) = (flip.0.index(proof.len()), flip.1);
        let bad = with(&proof, |v| v[at].0[bit / 8] ^= 1 << (bit % 8));
        let got = verify_consistency(m, n, &bad, &r1, &r2);
        prop_assert!(matches!(got, Err(VerifyError::RootMismatch { .. })), "flip: {:?}", got);
        for at in 0..proof.len() {
            let short = with(&proof, |v| { v.remove(at); });
            let got = verify_consistency(m, n, &short, &r1, &r2);
            prop_assert!(matches!(got, Err(VerifyError::WrongLength { .. })), "drop {}: {:?}", at, got);
        }
        for at in 0..=proof.len() {
            let long = with(&proof, |v| v.insert(at, extra));
            let got = verify_consistency(m, n, &long, &r1, &r2);
            prop_assert!(matches!(got, Err(VerifyError::WrongLength { .. })), "add {}: {:?}", at, got);
        }
        for a in 0..proof.len() {
            for b in a + 1..proof.len() {
                if proof[a] != proof[b] {
                    check("swap", m, n, &with(&proof, |v| v.swap(a, b)), &r1, &r2);
                }
            }
        }
        check("swapped roots", m, n, &proof, &r2, &r1);
        check("root1 of another size", m, n, &proof, &root(&f.tree, if other == m { m + 1 } else { other }).unwrap(), &r2);
        let other2 = if other == n { n - 1 } else { other };
        check("root2 of another size", m, n, &proof, &r1, &root(&f.tree, other2).unwrap());
        check("out of order", n, m, &proof, &r1, &r2);
        check("equal sizes", m, m, &proof, &r1, &r2);
        check("equal sizes", n, n, &proof, &r1, &r2);
        check("from zero", 0, n, &proof, &r1, &r2);
        // Other sizes: exactly the reference's verdict.
        for (m2, n2) in [
            (m + 1, n), (m - 1, n), (m ^ 1, n), (m ^ 2, n), (other, n),
            (m, n + 1), (m, n - 1), (m, n * 2), (m, n / 2), (m, other), (m, u64::MAX),
        ] {
            if (m2, n2) == (m, n) || m2 == 0 {
                continue;
            }
            let got = verify_consistency(m2, n2, &proof, &r1, &r2).is_ok();
            prop_assert_eq!(got, ref_verify_consistency(m2, n2, &proof, &r1, &r2), "sizes ({}, {})", m2, n2);
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn verify_inclusion_never_panics_and_agrees_with_the_reference(
        leaf in any_hash(),
        index in edgy_u64(),
        size in edgy_u64(),
        proof in prop::collection::vec(any_hash(), 0..70),
        r in any_hash(),
    ) {
        let got = verify_inclusion(&leaf, index, size, &proof, &r);
        prop_assert_eq!(got.is_ok(), ref_verify_inclusion(&leaf, index, size, &proof, &r));
        if index >= size {
            prop_assert_eq!(got, Err(VerifyError::IndexOutOfRange { index, size }));
        } else if proof.len() != path_sides(index, size).len() {
            prop_assert!(matches!(got, Err(VerifyError::WrongLength { .. })), "{:?}", got);
        }
    }

    #[test]
    fn verify_consistency_never_panics_and_agrees_with_the_reference(
        size1 in edgy_u64(),
        size2 in edgy_u64(),
        proof in prop::collection::vec(any_hash(), 0..70),
        r1 in any_hash(),
        r2 in any_hash(),
    ) {
        let got = verify_consistency(size1, size2, &proof, &r1, &r2);
        if size1 > size2 {
            prop_assert_eq!(got, Err(VerifyError::SizesOutOfOrder { size1, size2 }));
        } else if size1 != 0 {
            prop_assert_eq!(got.is_ok(), ref_verify_consistency(size1, size2, &proof, &r1, &r2));
        }
    }

    #[test]
    fn real_proofs_under_arbitrary_claims_never_panic(
        (n, idx) in size_and_index(),
        claimed_index in edgy_u64(),
        claimed_size in edgy_u64(),
        claimed_size1 in edgy_u64(),
    ) {
        let f = big();
        let proof = inclusion_proof(&f.tree, idx, n).unwrap();
        let r = root(&f.tree, n).unwrap();
        let leaf = leaf_at(f, idx);
        let got = verify_inclusion(&leaf, claimed_index, claimed_size, &proof, &r).is_ok();
        prop_assert_eq!(got, ref_verify_inclusion(&leaf, claimed_index, claimed_size, &proof, &r));
        let cproof = consistency_proof(&f.tree, idx, n).unwrap();
        let r1 = root(&f.tree, idx).unwrap();
        let got = verify_consistency(claimed_size1, claimed_size, &cproof, &r1, &r).is_ok();
        if claimed_size1 != 0 {
            prop_assert_eq!(got, ref_verify_consistency(claimed_size1, claimed_size, &cproof, &r1, &r));
        }
    }

    #[test]
    fn proof_generation_never_panics_on_arbitrary_arguments(
        index in edgy_u64(),
        size in edgy_u64(),
        size1 in edgy_u64(),
    ) {
        let f = big();
        match inclusion_proof(&f.tree, index, size) {
            Err(ProofError::IndexOutOfRange { index: i, size: s }) => {
                prop_assert!(index >= size);
                prop_assert_eq!((i, s), (index, size));
            }
            Err(ProofError::Read(MissingNode(id))) => prop_assert!(size > BIG, "{:?}", id),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
            Ok(p) => {
                prop_assert!(index < size && size <= BIG);
                prop_assert_eq!(p.len(), path_sides(index, size).len());
            }
        }
        match consistency_proof(&f.tree, size1, size) {
            Err(ProofError::SizesOutOfOrder { size1: a, size2: b }) => {
                prop_assert!(size1 > size);
                prop_assert_eq!((a, b), (size1, size));
            }
            Err(ProofError::Read(_)) => prop_assert!(size > BIG),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
            Ok(p) => prop_assert!(size1 <= size && (size <= BIG || size1 == 0 || size1 == size), "{:?}", p.len()),
        }
        match root(&f.tree, size) {
            Ok(r) => {
                prop_assert!(size <= BIG);
                prop_assert_eq!(r, f.reference.mth(0, size));
            }
            Err(ProofError::Read(_)) => prop_assert!(size > BIG),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }
}

// ---------------------------------------------------------------------------
// 3. The stored-node contract.
// ---------------------------------------------------------------------------

#[test]
fn proofs_read_few_nodes_in_one_call() {
    let f = big();
    let rec = Recording::new(&f.tree);
    let mut sizes: BTreeSet<u64> = (1..=200).collect();
    sizes.extend(sizes_around_powers_of_two());
    sizes.insert(BIG);
    for &n in &sizes {
        let reads = {
            let _ = root(&rec, n).unwrap();
            check_reads(&rec.take(), n, &format!("root({n})"))
        };
        assert_eq!(
            reads as u32,
            n.count_ones(),
            "root({n}) reads the right edge"
        );
        let indexes: BTreeSet<u64> = if n <= 200 {
            (0..n).collect()
        } else {
            [0, 1, n / 3, n / 2, n / 2 + 1, n - 2, n - 1]
                .into_iter()
                .filter(|&i| i < n)
                .collect()
        };
        for &i in &indexes {
            inclusion_proof(&rec, i, n).unwrap();
            check_reads(&rec.take(), n, &format!("inclusion_proof({i}, {n})"));
        }
        for m in indexes.iter().copied().chain([n]) {
            consistency_proof(&rec, m, n).unwrap();
            let reads = check_reads(&rec.take(), n, &format!("consistency_proof({m}, {n})"));
            if m == 0 || m == n {
                assert_eq!(reads, 0, "consistency_proof({m}, {n}) needs no nodes");
            }
        }
        let loaded = Frontier::load(&rec, n).unwrap();
        let calls = rec.take();
        assert_eq!(
            calls,
            vec![Frontier::edge_ids(n)],
            "Frontier::load({n}) reads its edge once"
        );
        assert_eq!(loaded.root(), f.reference.mth(0, n));
    }
    // The empty tree needs no reads at all.
    assert_eq!(root(&rec, 0).unwrap(), empty_root());
    assert_eq!(Frontier::load(&rec, 0).unwrap(), Frontier::new());
    assert!(rec.take().is_empty());
}

#[test]
fn store_errors_surface_as_errors() {
    assert!(matches!(
        root(&Broken, 5),
        Err(ProofError::Read(Unavailable))
    ));
    assert!(matches!(
        inclusion_proof(&Broken, 1, 5),
        Err(ProofError::Read(Unavailable))
    ));
    assert!(matches!(
        consistency_proof(&Broken, 3, 5),
        Err(ProofError::Read(Unavailable))
    ));
    assert_eq!(
        Frontier::load(&Broken, 5),
        Err(ProofError::Read(Unavailable))
    );
    // Trivial answers need no store.
    assert_eq!(root(&Broken, 0).unwrap(), empty_root());
    assert_eq!(inclusion_proof(&Broken, 0, 1).unwrap(), Vec::<Hash>::new());
    assert_eq!(
        consistency_proof(&Broken, 0, 5).unwrap(),
        Vec::<Hash>::new()
    );
    assert_eq!(
        consistency_proof(&Broken, 5, 5).unwrap(),
        Vec::<Hash>::new()
    );
    assert_eq!(Frontier::load(&Broken, 0), Ok(Frontier::new()));
    // Nodes the store does not have yet.
    let small = tree_of([b"x", b"y", b"z"]);
    assert!(matches!(
        root(&small, 4),
        Err(ProofError::Read(MissingNode(_)))
    ));
    assert!(matches!(
        inclusion_proof(&small, 0, 4),
        Err(ProofError::Read(MissingNode(_)))
    ));
    assert!(matches!(
        consistency_proof(&small, 2, 4),
        Err(ProofError::Read(MissingNode(_)))
    ));
    assert!(matches!(
        inclusion_proof(&small, 3, 3),
        Err(ProofError::IndexOutOfRange { index: 3, size: 3 })
    ));
    assert!(matches!(
        consistency_proof(&small, 3, 2),
        Err(ProofError::SizesOutOfOrder { size1: 3, size2: 2 })
    ));
}

/// Appends `leaves` to `frontier`, returning every node it reports.
fn append_all(frontier: &mut Frontier, leaves: &[Hash]) -> Vec<(NodeId, Hash)> {
    let mut created = Vec::new();
    for leaf in leaves {
        frontier.append(*leaf, |id, hash| created.push((id, hash)));
    }
    created
}

#[test]
fn frontier_load_then_append_equals_building_from_scratch() {
    let f = big();
    let total = 1100u64;
    let all: Vec<Hash> = f.leaves[..total as usize].to_vec();
    let mut scratch = Frontier::new();
    let mut created_by_scratch = Vec::new();
    let mut roots = vec![scratch.root()];
    for leaf in &all {
        let mut here = Vec::new();
        scratch.append(*leaf, |id, hash| here.push((id, hash)));
        roots.push(scratch.root());
        created_by_scratch.push(here);
    }
    let mut starts: BTreeSet<u64> = (0..=70).collect();
    starts.extend(
        sizes_around_powers_of_two()
            .into_iter()
            .filter(|&k| k <= total),
    );
    starts.extend([511, 512, 513, 777, 1000, total]);
    for &k in &starts {
        let mut resumed = Frontier::load(&f.tree, k).unwrap();
        assert_eq!(resumed.size(), k);
        assert_eq!(resumed.root(), roots[k as usize], "root after load({k})");
        for n in k..total {
            let mut here = Vec::new();
            resumed.append(all[n as usize], |id, hash| here.push((id, hash)));
            assert_eq!(
                here, created_by_scratch[n as usize],
                "nodes created by entry {n} after load({k})"
            );
            assert_eq!(
                resumed.root(),
                roots[n as usize + 1],
                "root at {} after load({k})",
                n + 1
            );
        }
        assert_eq!(resumed, scratch, "frontier resumed at {k}");
    }
    // Every created node is the tree's node, and equals the RFC hash of its range.
    let mut tree = MemoryTree::new();
    for (n, here) in created_by_scratch.iter().enumerate() {
        tree.push_leaf(all[n]);
        assert_eq!(
            here[0],
            (NodeId::new(0, n as u64), all[n]),
            "the leaf comes first"
        );
        for (id, hash) in here {
            assert_eq!(tree.read_nodes(&[*id]).unwrap(), vec![*hash]);
            assert_eq!(
                *hash,
                f.reference.mth(id.first_entry(), id.end_entry()),
                "{id:?}"
            );
        }
    }
    // And a fresh frontier is the empty one.
    assert_eq!(Frontier::new().root(), empty_root());
    assert_eq!(Frontier::new().size(), 0);
    let mut a = Frontier::new();
    let created = append_all(&mut a, &all[..3]);
    let ids: Vec<NodeId> = created.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        [
            NodeId::new(0, 0),
            NodeId::new(0, 1),
            NodeId::new(1, 0),
            NodeId::new(0, 2)
        ]
    );
}

#[test]
fn edge_ids_cover_the_tree_with_decreasing_perfect_subtrees() {
    let mut sizes: BTreeSet<u64> = (0..=300).collect();
    sizes.extend(sizes_around_powers_of_two());
    sizes.extend([
        u64::MAX,
        u64::MAX - 1,
        1 << 63,
        (1 << 63) - 1,
        0x5555_5555_5555_5555,
    ]);
    for n in sizes {
        let ids = Frontier::edge_ids(n);
        assert_eq!(ids.len() as u32, n.count_ones(), "edge_ids({n})");
        let mut at = 0u64;
        for w in ids.windows(2) {
            assert!(
                w[0].level > w[1].level,
                "edge_ids({n}) not largest first: {ids:?}"
            );
        }
        for id in &ids {
            assert_eq!(id.first_entry(), at, "edge_ids({n}) leaves a gap: {ids:?}");
            at = at.wrapping_add(1u64 << id.level);
        }
        assert_eq!(at, n, "edge_ids({n}) covers [0, n)");
    }
}

/// Node creation order simulated independently: entry `e` creates its leaf,
/// then one node per trailing one bit of `e`.
fn creation_order(entries: u64) -> Vec<NodeId> {
    let mut order = Vec::new();
    for e in 0..entries {
        order.push(NodeId::new(0, e));
        for level in 1..=e.trailing_ones() {
            order.push(NodeId::new(level as u8, e >> level));
        }
    }
    order
}

/// Nodes in a tree of `n` entries: `n + n/2 + n/4 + ...`.
fn node_count(n: u64) -> u64 {
    (0..64).map(|l| n >> l).sum()
}

#[test]
fn positions_are_a_bijection_onto_creation_order() {
    let order = creation_order(BIG);
    for (p, id) in order.iter().enumerate() {
        assert_eq!(id.position(), p as u64, "{id:?}");
    }
    let mut sizes: BTreeSet<u64> = (0..=300).collect();
    sizes.extend(sizes_around_powers_of_two());
    sizes.insert(BIG);
    for n in sizes {
        // All complete subtrees of the tree of size n...
        let mut positions: Vec<u64> = Vec::new();
        for level in 0..=u8::try_from(64 - n.leading_zeros()).unwrap() {
            for index in 0..(n >> level) {
                positions.push(NodeId::new(level, index).position());
            }
        }
        // ...take exactly the positions 0..count.
        positions.sort_unstable();
        let count = node_count(n);
        assert_eq!(positions.len() as u64, count, "size {n}");
        assert!(
            positions.iter().copied().eq(0..count),
            "positions of size {n} are not 0..{count}"
        );
    }
    // Far from the origin, against the counting formula.
    for (level, index) in [
        (0u8, 1u64 << 40),
        (5, 12_345_678_901),
        (20, 3),
        (40, 7),
        (61, 0),
        (62, 0),
    ] {
        let id = NodeId::new(level, index);
        let last = id.end_entry() - 1;
        assert_eq!(id.position(), node_count(last) + u64::from(level), "{id:?}");
    }
}

// ---------------------------------------------------------------------------
// 4. Edge cases.
// ---------------------------------------------------------------------------

#[test]
fn a_single_entry_tree() {
    let t = tree_of([b"only"]);
    let leaf = leaf_hash(b"only");
    assert_eq!(t.root(), leaf);
    assert_eq!(root(&t, 1).unwrap(), leaf);
    assert_eq!(inclusion_proof(&t, 0, 1).unwrap(), Vec::<Hash>::new());
    verify_inclusion(&leaf, 0, 1, &[], &leaf).unwrap();
    assert!(matches!(
        verify_inclusion(&leaf, 0, 1, &[leaf], &leaf),
        Err(VerifyError::WrongLength { got: 1 })
    ));
    assert!(matches!(
        verify_inclusion(&leaf, 1, 1, &[], &leaf),
        Err(VerifyError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        verify_inclusion(&leaf, 0, 0, &[], &leaf),
        Err(VerifyError::IndexOutOfRange { .. })
    ));
    let other = leaf_hash(b"other");
    assert!(matches!(
        verify_inclusion(&other, 0, 1, &[], &leaf),
        Err(VerifyError::RootMismatch { .. })
    ));
    assert_eq!(consistency_proof(&t, 1, 1).unwrap(), Vec::<Hash>::new());
    assert_eq!(consistency_proof(&t, 0, 1).unwrap(), Vec::<Hash>::new());
    verify_consistency(1, 1, &[], &leaf, &leaf).unwrap();
    verify_consistency(0, 1, &[], &empty_root(), &leaf).unwrap();
    assert!(verify_consistency(1, 1, &[], &leaf, &other).is_err());
    assert!(verify_consistency(1, 1, &[leaf], &leaf, &leaf).is_err());
    assert!(verify_consistency(0, 1, &[leaf], &empty_root(), &leaf).is_err());
    // The leaf of a one-entry tree is not mistaken for an interior node.
    assert_ne!(leaf, node_hash(&leaf, &leaf));
}

#[test]
fn the_empty_tree() {
    let t = MemoryTree::new();
    assert_eq!(t.size(), 0);
    assert_eq!(t.root(), empty_root());
    assert_eq!(root(&t, 0).unwrap(), empty_root());
    assert!(matches!(
        inclusion_proof(&t, 0, 0),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    ));
    assert_eq!(consistency_proof(&t, 0, 0).unwrap(), Vec::<Hash>::new());
    verify_consistency(0, 0, &[], &empty_root(), &empty_root()).unwrap();
    assert!(verify_consistency(0, 0, &[empty_root()], &empty_root(), &empty_root()).is_err());
    assert!(verify_inclusion(&empty_root(), 0, 0, &[], &empty_root()).is_err());
}

#[test]
fn sizes_around_powers_of_two_up_to_4097() {
    let f = big();
    for n in sizes_around_powers_of_two() {
        let r = root(&f.tree, n).unwrap();
        assert_eq!(r, f.reference.mth(0, n), "root({n})");
        // Every entry of every such tree.
        for i in 0..n {
            let proof = inclusion_proof(&f.tree, i, n).unwrap();
            assert_eq!(
                proof.len(),
                path_sides(i, n).len(),
                "proof length ({i}, {n})"
            );
            verify_inclusion(&leaf_at(f, i), i, n, &proof, &r)
                .unwrap_or_else(|e| panic!("inclusion ({i}, {n}): {e}"));
        }
        // The reference path at the interesting indexes.
        for i in [0, 1, n / 2, n.saturating_sub(2), n - 1] {
            if i < n {
                assert_eq!(
                    inclusion_proof(&f.tree, i, n).unwrap(),
                    f.reference.path(i, 0, n)
                );
            }
        }
        // Consistency from 0, 1, every power of two and its neighbours below n, n - 1 and n.
        let mut olds: BTreeSet<u64> = [0, 1, n / 2, n - 1, n].into_iter().collect();
        olds.extend(sizes_around_powers_of_two().into_iter().filter(|&m| m <= n));
        for m in olds {
            let proof = consistency_proof(&f.tree, m, n).unwrap();
            assert_eq!(proof, f.reference.proof(m, n), "consistency ({m}, {n})");
            let r1 = root(&f.tree, m).unwrap();
            verify_consistency(m, n, &proof, &r1, &r)
                .unwrap_or_else(|e| panic!("consistency ({m}, {n}): {e}"));
            if m == 0 || m == n {
                assert!(proof.is_empty(), "consistency ({m}, {n}) is empty");
            }
        }
        // Equal sizes: empty proof, equal roots required.
        verify_consistency(n, n, &[], &r, &r).unwrap();
        assert!(matches!(
            verify_consistency(n, n, &[], &r, &f.reference.mth(0, n - 1)),
            Err(VerifyError::RootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(n, n, &[r], &r, &r),
            Err(VerifyError::WrongLength { got: 1 })
        ));
    }
}

#[test]
fn verify_errors_name_the_failure() {
    let f = big();
    let (n, i) = (13u64, 6u64);
    let proof = inclusion_proof(&f.tree, i, n).unwrap();
    let r = root(&f.tree, n).unwrap();
    let wrong_root = root(&f.tree, n - 1).unwrap();
    match verify_inclusion(&leaf_at(f, i), i, n, &proof, &wrong_root) {
        Err(VerifyError::RootMismatch { computed, expected }) => {
            assert_eq!(computed, r);
            assert_eq!(expected, wrong_root);
        }
        other => panic!("expected RootMismatch, got {other:?}"),
    }
    assert_eq!(
        verify_inclusion(&leaf_at(f, i), i, n, &proof[1..], &r),
        Err(VerifyError::WrongLength {
            got: proof.len() - 1
        })
    );
    assert_eq!(
        verify_consistency(9, 8, &[], &r, &r),
        Err(VerifyError::SizesOutOfOrder { size1: 9, size2: 8 })
    );
    assert_eq!(
        verify_consistency(3, 8, &[], &r, &r),
        Err(VerifyError::WrongLength { got: 0 })
    );
    assert_eq!(
        verify_consistency(u64::MAX, 0, &[], &r, &r),
        Err(VerifyError::SizesOutOfOrder {
            size1: u64::MAX,
            size2: 0
        })
    );
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &[r; 64], &r, &r).is_err());
    assert!(verify_inclusion(&r, u64::MAX - 1, u64::MAX, &[r; 64], &r).is_err());
    assert!(verify_inclusion(&r, 0, u64::MAX, &[r; 64], &r).is_err());
}
