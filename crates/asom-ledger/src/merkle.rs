//! RFC 9162 (RFC 6962) Merkle tree hashing, proofs and their verification.
//!
//! The tree over entries `D[0..n]` is the one of RFC 9162 §2.1.1:
//! `MTH({}) = SHA-256()`, a leaf is `SHA-256(0x00 ‖ entry)` and an interior
//! node is `SHA-256(0x01 ‖ left ‖ right)`, where the left subtree holds the
//! largest power of two strictly smaller than `n` entries.
//!
//! Stores keep every *complete* (perfect) subtree hash, named by [`NodeId`]:
//! level `l`, index `i` covers the entries `[i·2^l, (i+1)·2^l)`. Any subtree
//! hash a proof needs is either one of those or a right-edge fold of at most
//! `log2(n)` of them, so a proof costs O(log n) reads and never a rebuild. The
//! functions here first work out which nodes they need, ask the store for all
//! of them in one [`NodeReader::read_nodes`] call, then assemble the proof.
//!
//! Nodes are created in post-order as entries are appended; [`NodeId::position`]
//! is that order, which lets a store keep nodes under one integer key and lets
//! whole-log verification ([`crate::verify`]) compare them in one sequential scan.

use sha2::{Digest as _, Sha256};

use crate::hash::Hash;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 ‖ entry)`: the hash of one log entry.
#[must_use]
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the empty tree, `SHA-256()`.
#[must_use]
pub fn empty_root() -> Hash {
    Hash::of(b"")
}

/// A complete subtree: level `level`, index `index` covers the entries
/// `[index·2^level, (index+1)·2^level)`. Level 0 nodes are leaf hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves; 0 for a leaf.
    pub level: u8,
    /// Position among the nodes of that level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node of `level` and `index`.
    #[must_use]
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The first entry this node covers.
    #[must_use]
    pub const fn first_entry(self) -> u64 {
        self.index << self.level
    }

    /// One past the last entry this node covers.
    #[must_use]
    pub const fn end_entry(self) -> u64 {
        (self.index + 1) << self.level
    }

    /// The node's place in creation (post-)order: appending entry `n` creates
    /// the leaf `(0, n)` and then each node it completes, bottom up. Before entry
    /// `n`, `2n - popcount(n)` nodes exist.
    #[must_use]
    pub const fn position(self) -> u64 {
        let last_entry = self.end_entry() - 1;
        2 * last_entry - last_entry.count_ones() as u64 + self.level as u64
    }
}

/// Reads stored complete-subtree hashes. Stores implement it; proofs call it
/// once per proof with every node they need.
pub trait NodeReader {
    /// The store's error.
    type Error;
    /// The hashes of `ids`, in the same order. A missing node is an error.
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// Proof arguments outside the tree, or the store failing to read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The index is not in a tree of that size.
    #[error("entry index {index} is not in a tree of size {size}; indexes run from 0 to size-1")]
    IndexOutOfRange {
        /// The requested index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof needs `size1 <= size2`.
    #[error("cannot prove consistency from size {size1} to the smaller size {size2}")]
    SizesOutOfOrder {
        /// The earlier size.
        size1: u64,
        /// The later size.
        size2: u64,
    },
    /// The requested size is larger than the log.
    #[error("the log has {have} entries; size {asked} does not exist yet")]
    SizeBeyondLog {
        /// The size asked for.
        asked: u64,
        /// The size the log has.
        have: u64,
    },
    /// The store could not supply a node.
    #[error("reading tree nodes: {0}")]
    Read(E),
    /// The store answered with fewer or more hashes than asked for.
    #[error("the store returned {got} tree node hashes for {asked} requested; its tree is damaged")]
    ShortRead {
        /// Hashes requested.
        asked: usize,
        /// Hashes returned.
        got: usize,
    },
}

/// Reads `ids`, insisting on exactly one hash per id.
fn read_exact<R: NodeReader>(
    reader: &R,
    ids: &[NodeId],
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_nodes(ids).map_err(ProofError::Read)?;
    if hashes.len() != ids.len() {
        return Err(ProofError::ShortRead {
            asked: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(hashes)
}

/// A proof that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Index outside the tree.
    #[error("entry index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// The claimed size.
        size: u64,
    },
    /// `size1 > size2`.
    #[error("consistency sizes out of order: {size1} > {size2}")]
    SizesOutOfOrder {
        /// The earlier size.
        size1: u64,
        /// The later size.
        size2: u64,
    },
    /// The proof has the wrong number of hashes for the index and size.
    #[error("the proof has the wrong number of hashes ({got}) for this index and tree size")]
    WrongLength {
        /// Hashes in the proof.
        got: usize,
    },
    /// The recomputed root differs.
    #[error("the proof leads to root {computed}, not the expected root {expected}")]
    RootMismatch {
        /// What the proof computes.
        computed: Hash,
        /// What the checkpoint says.
        expected: Hash,
    },
}

/// Largest power of two strictly smaller than `n` (`n >= 2`).
const fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (n - 1).ilog2()
}

/// The complete subtrees that make up `[start, end)`, largest (leftmost) first.
/// `start` must be a multiple of the largest of them, which holds for every
/// range RFC 9162's recursions produce.
fn range_nodes(start: u64, end: u64, out: &mut Vec<NodeId>) {
    let mut at = start;
    let mut rest = end - start;
    while rest > 0 {
        let level = rest.ilog2();
        let width = 1u64 << level;
        debug_assert_eq!(at % width, 0, "unaligned range [{start}, {end})");
        out.push(NodeId::new(level as u8, at >> level));
        at += width;
        rest -= width;
    }
}

/// Folds complete-subtree hashes (leftmost first) into the range's hash, as
/// RFC 9162 does: each subtree is the left child of the fold of those after it.
fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(mut acc) = iter.next().copied() else {
        return empty_root();
    };
    for h in iter {
        acc = node_hash(h, &acc);
    }
    acc
}

/// A plan: the ranges a proof consists of, in proof order.
struct Plan {
    ranges: Vec<(u64, u64)>,
}

impl Plan {
    /// Reads every node the plan needs in one call and folds each range.
    fn resolve<R: NodeReader>(&self, reader: &R) -> Result<Vec<Hash>, ProofError<R::Error>> {
        let mut ids = Vec::with_capacity(self.ranges.len() * 2);
        let mut bounds = Vec::with_capacity(self.ranges.len());
        for &(start, end) in &self.ranges {
            let from = ids.len();
            range_nodes(start, end, &mut ids);
            bounds.push(from..ids.len());
        }
        let hashes = read_exact(reader, &ids)?;
        Ok(bounds.into_iter().map(|b| fold_right(&hashes[b])).collect())
    }
}

/// RFC 9162 §2.1.3.1 `PATH(m, D[lo:hi])`, as ranges, deepest first.
fn inclusion_ranges(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    if hi - lo <= 1 {
        return;
    }
    let k = split_point(hi - lo);
    if m - lo < k {
        inclusion_ranges(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        inclusion_ranges(m, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// RFC 9162 §2.1.4.1 `SUBPROOF(m, D[lo:hi], b)`, as ranges, deepest first.
fn consistency_ranges(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push((lo, hi));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        consistency_ranges(m, lo, lo + k, complete, out);
        out.push((lo + k, hi));
    } else {
        consistency_ranges(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// The root of the first `size` entries.
pub fn root<R: NodeReader>(reader: &R, size: u64) -> Result<Hash, ProofError<R::Error>> {
    if size == 0 {
        return Ok(empty_root());
    }
    let plan = Plan {
        ranges: vec![(0, size)],
    };
    Ok(plan.resolve(reader)?[0])
}

/// The inclusion proof of entry `index` in the tree of `size` entries
/// (RFC 9162 §2.1.3.1), deepest sibling first.
pub fn inclusion_proof<R: NodeReader>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut ranges = Vec::with_capacity(64);
    inclusion_ranges(index, 0, size, &mut ranges);
    Plan { ranges }.resolve(reader)
}

/// The consistency proof from the tree of `size1` entries to the tree of
/// `size2` entries (RFC 9162 §2.1.4.1). Empty when `size1` is 0 or equals `size2`.
pub fn consistency_proof<R: NodeReader>(
    reader: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if size1 > size2 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 || size1 == size2 {
        return Ok(Vec::new());
    }
    let mut ranges = Vec::with_capacity(64);
    consistency_ranges(size1, 0, size2, true, &mut ranges);
    Plan { ranges }.resolve(reader)
}

/// Checks that `leaf` is entry `index` of the tree of `size` entries with
/// root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(VerifyError::WrongLength { got: proof.len() });
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(VerifyError::WrongLength { got: proof.len() });
    }
    if r != *root {
        return Err(VerifyError::RootMismatch {
            computed: r,
            expected: *root,
        });
    }
    Ok(())
}

/// Checks that the tree of `size2` entries with root `root2` extends the tree
/// of `size1` entries with root `root1` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), VerifyError> {
    if size1 > size2 {
        return Err(VerifyError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength { got: proof.len() });
        }
        if root1 != root2 {
            return Err(VerifyError::RootMismatch {
                computed: *root1,
                expected: *root2,
            });
        }
        return Ok(());
    }
    if size1 == 0 {
        // Every tree extends the empty tree, whose root is SHA-256() and whose
        // proof is empty; the claimed old root must still be that root.
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength { got: proof.len() });
        }
        if *root1 != empty_root() {
            return Err(VerifyError::RootMismatch {
                computed: empty_root(),
                expected: *root1,
            });
        }
        return Ok(());
    }

    if proof.is_empty() {
        return Err(VerifyError::WrongLength { got: 0 });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let mut f_n = size1 - 1;
    let mut s_n = size2 - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if s_n == 0 {
            return Err(VerifyError::WrongLength { got: proof.len() });
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(VerifyError::WrongLength { got: proof.len() });
    }
    if fr != *root1 {
        return Err(VerifyError::RootMismatch {
            computed: fr,
            expected: *root1,
        });
    }
    if sr != *root2 {
        return Err(VerifyError::RootMismatch {
            computed: sr,
            expected: *root2,
        });
    }
    Ok(())
}

/// The right edge of a tree: the complete subtrees whose sizes are the set
/// bits of the tree size, largest first. It is all a store needs to append:
/// each new entry completes zero or more nodes, which [`Frontier::append`]
/// hands back for storing, and the root is a fold of the edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    edge: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The node ids that make up the right edge of a tree of `size` entries,
    /// largest first: what a store reads to resume appending.
    #[must_use]
    pub fn edge_ids(size: u64) -> Vec<NodeId> {
        let mut ids = Vec::with_capacity(size.count_ones() as usize);
        if size > 0 {
            range_nodes(0, size, &mut ids);
        }
        ids
    }

    /// Rebuilds the frontier of a stored tree of `size` entries with one read.
    pub fn load<R: NodeReader>(reader: &R, size: u64) -> Result<Self, ProofError<R::Error>> {
        let edge = read_exact(reader, &Self::edge_ids(size))?;
        Ok(Self { size, edge })
    }

    /// The number of entries the tree holds.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and reports every node it completes, the leaf
    /// itself first, to `created` (in [`NodeId::position`] order).
    pub fn append(&mut self, leaf: Hash, mut created: impl FnMut(NodeId, Hash)) {
        let mut index = self.size;
        let mut level = 0u8;
        let mut hash = leaf;
        created(NodeId::new(0, index), hash);
        while index & 1 == 1 {
            let left = self
                .edge
                .pop()
                .expect("a set bit of the size has an edge node");
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            created(NodeId::new(level, index), hash);
        }
        self.edge.push(hash);
        self.size += 1;
    }

    /// The tree's root hash.
    #[must_use]
    pub fn root(&self) -> Hash {
        fold_right(&self.edge)
    }
}

/// A whole tree in memory: every complete node by level. For tests, tools and
/// benchmarks that need proofs without a store.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry's leaf hash.
    pub fn push_leaf(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier.append(leaf, |id, hash| {
            let level = usize::from(id.level);
            if levels.len() <= level {
                levels.push(Vec::new());
            }
            debug_assert_eq!(levels[level].len() as u64, id.index);
            levels[level].push(hash);
        });
    }

    /// Appends an entry.
    pub fn push(&mut self, entry: &[u8]) {
        self.push_leaf(leaf_hash(entry));
    }

    /// Number of entries.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

/// A node a [`MemoryTree`] does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tree node level {} index {} does not exist", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl NodeReader for MemoryTree {
    type Error = MissingNode;
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        ids.iter()
            .map(|id| {
                self.levels
                    .get(usize::from(id.level))
                    .and_then(|l| l.get(usize::try_from(id.index).ok()?))
                    .copied()
                    .ok_or(MissingNode(*id))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162 `MTH` computed straight from its definition, to check the
    /// stored-node path against.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn tree(n: u64) -> (MemoryTree, Vec<Hash>) {
        let mut t = MemoryTree::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let e = format!("entry {i}");
            leaves.push(leaf_hash(e.as_bytes()));
            t.push(e.as_bytes());
        }
        (t, leaves)
    }

    #[test]
    fn roots_match_the_rfc_definition_for_every_size_up_to_70() {
        let (t, leaves) = tree(70);
        for n in 0..=70u64 {
            assert_eq!(
                root(&t, n).unwrap(),
                reference_root(&leaves[..n as usize]),
                "size {n}"
            );
        }
    }

    #[test]
    fn positions_follow_creation_order() {
        let mut f = Frontier::new();
        let mut seen = Vec::new();
        for i in 0..200u32 {
            f.append(leaf_hash(&i.to_le_bytes()), |id, _| {
                seen.push(id.position());
            });
        }
        let expected: Vec<u64> = (0..seen.len() as u64).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn every_inclusion_and_consistency_proof_up_to_40_verifies() {
        let (t, leaves) = tree(40);
        for n in 1..=40u64 {
            let r = root(&t, n).unwrap();
            for m in 0..n {
                let p = inclusion_proof(&t, m, n).unwrap();
                verify_inclusion(&leaves[m as usize], m, n, &p, &r).unwrap();
                let r1 = root(&t, m).unwrap();
                let c = consistency_proof(&t, m, n).unwrap();
                verify_consistency(m, n, &c, &r1, &r).unwrap();
            }
        }
    }

    #[test]
    fn out_of_range_arguments_are_errors_not_panics() {
        let (t, leaves) = tree(5);
        assert!(matches!(
            inclusion_proof(&t, 5, 5),
            Err(ProofError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            consistency_proof(&t, 4, 3),
            Err(ProofError::SizesOutOfOrder { .. })
        ));
        assert!(matches!(
            inclusion_proof(&t, 2, 9),
            Err(ProofError::Read(_))
        ));
        let r = t.root();
        assert!(verify_inclusion(&leaves[0], 7, 5, &[], &r).is_err());
        assert!(verify_consistency(5, 4, &[], &r, &r).is_err());
        assert!(verify_inclusion(&leaves[0], 0, 1, &[r], &leaves[0]).is_err());
    }
}
