//! Whole-log verification: recompute the tree from the entries and check it
//! against every stored node and every signed checkpoint, in one pass.
//!
//! A store streams its entries in index order and its nodes in
//! [`NodeId::position`] order; [`LogVerifier`] rebuilds the tree with a
//! [`Frontier`] (memory O(log n)), compares each node it creates with the stored
//! one, and compares the root at each checkpoint size with the signed root.
//! The first disagreement is reported with the index of the entry or the node
//! it concerns, so an operator knows where to look.
//!
//! Signatures on the checkpoints are checked by the caller (with
//! [`crate::checkpoint::Checkpoint::open`]); this module takes the verified
//! `(size, root)` pairs.

use crate::hash::Hash;
use crate::merkle::{Frontier, NodeId, leaf_hash};

/// What the log holds that does not match what its entries prove.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tamper {
    /// An entry's bytes do not hash to the leaf the tree holds for it.
    #[error(
        "entry {index}: its bytes hash to leaf {computed} but the tree holds {stored}; \
         the entry or its leaf node was altered after it was appended"
    )]
    Entry {
        /// The entry's index.
        index: u64,
        /// Leaf hash recomputed from the entry bytes.
        computed: Hash,
        /// Leaf hash the store holds.
        stored: Hash,
    },
    /// An interior node differs from the hash of its children.
    #[error(
        "tree node level {} index {} (entries {}..{}): the store holds {stored}, \
         the entries give {computed}",
        .node.level, .node.index, .node.first_entry(), .node.end_entry() - 1
    )]
    Node {
        /// The node.
        node: NodeId,
        /// Recomputed hash.
        computed: Hash,
        /// Stored hash.
        stored: Hash,
    },
    /// A node the entries require is not stored.
    #[error("tree node level {} index {} is missing from the store", .0.level, .0.index)]
    MissingNode(NodeId),
    /// The store holds nodes beyond what its entries create.
    #[error("the store holds {extra} tree node(s) beyond its {entries} entries")]
    ExtraNodes {
        /// How many entries there are.
        entries: u64,
        /// How many nodes are left over.
        extra: u64,
    },
    /// A signed checkpoint's root is not the root of the entries.
    #[error(
        "signed checkpoint at size {size} has root {signed} but entries 0..{size} give {computed}; \
         an entry at index {first_suspect} or later (below {size}) was altered together with its nodes"
    )]
    Checkpoint {
        /// The checkpoint's tree size.
        size: u64,
        /// The root it signs.
        signed: Hash,
        /// The root the entries give.
        computed: Hash,
        /// The size of the last checkpoint that still matched.
        first_suspect: u64,
    },
    /// Entries beyond the latest signed checkpoint: every committed batch
    /// signs one, so unsigned entries were added outside the store.
    #[error(
        "the log holds {entries} entries but the latest signed checkpoint covers {signed}; \
         entries {signed}..{entries} were added without a signature (or checkpoints were deleted)"
    )]
    Unsigned {
        /// Entries present.
        entries: u64,
        /// Size of the latest signed checkpoint (0 when none is signed).
        signed: u64,
    },
    /// A checkpoint names more entries than the log holds.
    #[error(
        "signed checkpoint at size {size} is beyond the {entries} entries the store holds; entries were deleted"
    )]
    Truncated {
        /// The checkpoint's tree size.
        size: u64,
        /// Entries present.
        entries: u64,
    },
}

/// The outcome of a clean verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries checked.
    pub entries: u64,
    /// Nodes compared.
    pub nodes: u64,
    /// Checkpoints whose roots matched.
    pub checkpoints: u64,
    /// The root of all the entries.
    pub root: Hash,
}

/// Streaming verifier. Feed entries in order with [`LogVerifier::push_entry`],
/// then call [`LogVerifier::finish`].
#[derive(Debug)]
pub struct LogVerifier {
    frontier: Frontier,
    checkpoints: Vec<(u64, Hash)>,
    next_checkpoint: usize,
    last_good_checkpoint: u64,
    nodes: u64,
    pending: Vec<(NodeId, Hash)>,
}

impl LogVerifier {
    /// A verifier that will hold the log to these verified checkpoints
    /// (`(size, root)`, sorted by size).
    #[must_use]
    pub fn new(checkpoints: Vec<(u64, Hash)>) -> Self {
        let mut v = Self {
            frontier: Frontier::new(),
            checkpoints,
            next_checkpoint: 0,
            last_good_checkpoint: 0,
            nodes: 0,
            pending: Vec::with_capacity(64),
        };
        // The empty tree's checkpoint (if any) is checked at once.
        v.skip_empty_checkpoints();
        v
    }

    fn skip_empty_checkpoints(&mut self) {
        while self.next_checkpoint < self.checkpoints.len()
            && self.checkpoints[self.next_checkpoint].0 == 0
        {
            self.next_checkpoint += 1;
        }
    }

    /// Adds the next entry; `stored_nodes` yields the stored nodes in
    /// position order and is advanced past the nodes this entry creates.
    pub fn push_entry<E>(
        &mut self,
        entry: &[u8],
        stored_nodes: &mut impl Iterator<Item = Result<Hash, E>>,
    ) -> Result<(), VerifyLogError<E>> {
        let index = self.frontier.size();
        let pending = &mut self.pending;
        pending.clear();
        self.frontier
            .append(leaf_hash(entry), |id, h| pending.push((id, h)));
        for &(node, computed) in &self.pending {
            let stored = match stored_nodes.next() {
                Some(r) => r.map_err(VerifyLogError::Read)?,
                None => return Err(Tamper::MissingNode(node).into()),
            };
            self.nodes += 1;
            if stored != computed {
                return Err(if node.level == 0 {
                    Tamper::Entry {
                        index,
                        computed,
                        stored,
                    }
                } else {
                    Tamper::Node {
                        node,
                        computed,
                        stored,
                    }
                }
                .into());
            }
        }
        let size = self.frontier.size();
        while let Some(&(cp_size, signed)) = self.checkpoints.get(self.next_checkpoint) {
            if cp_size != size {
                break;
            }
            let computed = self.frontier.root();
            if computed != signed {
                return Err(Tamper::Checkpoint {
                    size,
                    signed,
                    computed,
                    first_suspect: self.last_good_checkpoint,
                }
                .into());
            }
            self.last_good_checkpoint = size;
            self.next_checkpoint += 1;
        }
        Ok(())
    }

    /// Entries verified so far.
    #[must_use]
    pub fn entries(&self) -> u64 {
        self.frontier.size()
    }

    /// Ends verification: no stored node may be left over and no checkpoint
    /// may lie beyond the entries.
    pub fn finish<E>(
        self,
        stored_nodes: &mut impl Iterator<Item = Result<Hash, E>>,
    ) -> Result<Verified, VerifyLogError<E>> {
        let mut extra = 0u64;
        for r in stored_nodes {
            r.map_err(VerifyLogError::Read)?;
            extra += 1;
        }
        let entries = self.frontier.size();
        if extra > 0 {
            return Err(Tamper::ExtraNodes { entries, extra }.into());
        }
        if let Some(&(size, _)) = self.checkpoints.get(self.next_checkpoint) {
            return Err(Tamper::Truncated { size, entries }.into());
        }
        let signed = self.checkpoints.last().map_or(0, |c| c.0);
        if signed != entries || self.checkpoints.is_empty() {
            return Err(Tamper::Unsigned { entries, signed }.into());
        }
        Ok(Verified {
            entries,
            nodes: self.nodes,
            checkpoints: self.next_checkpoint as u64,
            root: self.frontier.root(),
        })
    }
}

/// Verification failed: tampering found, or the store could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VerifyLogError<E> {
    /// The log does not match itself or its checkpoints.
    #[error(transparent)]
    Tamper(#[from] Tamper),
    /// The store failed while being read.
    #[error("reading the log: {0}")]
    Read(E),
}

/// Verifies a whole log held in memory: entries in index order, nodes in
/// position order, verified checkpoints sorted by size.
pub fn verify_log<E>(
    entries: impl IntoIterator<Item = Result<Vec<u8>, E>>,
    nodes: impl IntoIterator<Item = Result<Hash, E>>,
    checkpoints: &[(u64, Hash)],
) -> Result<Verified, VerifyLogError<E>> {
    let mut nodes = nodes.into_iter();
    let mut v = LogVerifier::new(checkpoints.to_vec());
    for e in entries {
        let e = e.map_err(VerifyLogError::Read)?;
        v.push_entry(&e, &mut nodes)?;
    }
    v.finish(&mut nodes)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::merkle::{Frontier, NodeId};

    /// Entries, their nodes in creation order, and `(size, root)` checkpoints.
    type Log = (Vec<Vec<u8>>, Vec<(NodeId, Hash)>, Vec<(u64, Hash)>);

    fn log(n: u32) -> Log {
        let mut f = Frontier::new();
        let mut entries = Vec::new();
        let mut nodes = Vec::new();
        let mut cps = Vec::new();
        for i in 0..n {
            let e = format!("{{\"i\":{i}}}").into_bytes();
            f.append(leaf_hash(&e), |id, h| nodes.push((id, h)));
            entries.push(e);
            if i % 7 == 6 {
                cps.push((f.size(), f.root()));
            }
        }
        cps.push((f.size(), f.root()));
        (entries, nodes, cps)
    }

    fn run(
        entries: &[Vec<u8>],
        nodes: &[(NodeId, Hash)],
        cps: &[(u64, Hash)],
    ) -> Result<Verified, VerifyLogError<Infallible>> {
        verify_log(
            entries.iter().cloned().map(Ok),
            nodes.iter().map(|(_, h)| Ok(*h)),
            cps,
        )
    }

    #[test]
    fn a_clean_log_verifies_against_all_checkpoints() {
        let (e, n, c) = log(50);
        let v = run(&e, &n, &c).unwrap();
        assert_eq!(v.entries, 50);
        assert_eq!(v.checkpoints, c.len() as u64);
        assert_eq!(v.nodes, n.len() as u64);
    }

    #[test]
    fn an_altered_entry_is_named_by_index() {
        let (mut e, n, c) = log(50);
        e[23][3] ^= 1;
        match run(&e, &n, &c) {
            Err(VerifyLogError::Tamper(Tamper::Entry { index, .. })) => assert_eq!(index, 23),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_altered_interior_node_is_named() {
        let (e, mut n, c) = log(50);
        let at = n
            .iter()
            .position(|(id, _)| *id == NodeId::new(2, 3))
            .unwrap();
        n[at].1.0[0] ^= 0x80;
        match run(&e, &n, &c) {
            Err(VerifyLogError::Tamper(Tamper::Node { node, .. })) => {
                assert_eq!(node, NodeId::new(2, 3));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_entry_rewritten_with_its_nodes_is_caught_by_the_checkpoints() {
        let (mut e, _, c) = log(50);
        e[30] = b"{\"i\":\"forged\"}".to_vec();
        // Rebuild every node consistently with the forged entry.
        let mut f = Frontier::new();
        let mut n = Vec::new();
        for x in &e {
            f.append(leaf_hash(x), |id, h| n.push((id, h)));
        }
        match run(&e, &n, &c) {
            Err(VerifyLogError::Tamper(Tamper::Checkpoint {
                size,
                first_suspect,
                ..
            })) => {
                assert_eq!(size, 35);
                assert_eq!(first_suspect, 28);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deleted_entries_and_extra_nodes_are_reported() {
        let (e, n, c) = log(50);
        assert!(matches!(
            run(&e[..49], &n[..n.len() - 2], &c),
            Err(VerifyLogError::Tamper(Tamper::Truncated {
                size: 50,
                entries: 49
            }))
        ));
        let mut more = n.clone();
        more.push((NodeId::new(0, 99), Hash::default()));
        assert!(matches!(
            run(&e, &more, &c),
            Err(VerifyLogError::Tamper(Tamper::ExtraNodes { .. }))
        ));
        assert!(matches!(
            run(&e, &n[..10], &c),
            Err(VerifyLogError::Tamper(Tamper::MissingNode(_)))
        ));
    }
}
