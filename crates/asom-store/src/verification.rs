//! Whole-log verification of a stored tenant log: every checkpoint's
//! signature against the tenant's log keys, then the tree recomputed from the
//! entries against every stored node and every signed root.

use asom_ledger::Hash;
use asom_ledger::checkpoint::{Checkpoint, CheckpointError};
use asom_ledger::merkle::NodeId;
use asom_ledger::note::NoteVerifier;
use asom_ledger::verify::{LogVerifier, Tamper, Verified, VerifyLogError};

use crate::{
    LogVisitor, Progress, ScannedEntry, Store, StoreError, StoredCheckpoint, content_id_of,
    split_entry,
};

/// Why a stored log did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored checkpoint is not validly signed by any of the tenant's keys,
    /// or its stored size/root columns disagree with what it signs.
    #[error("signed checkpoint at size {size}: {reason}")]
    Checkpoint {
        /// The stored size.
        size: u64,
        /// What is wrong.
        reason: String,
    },
    /// The entries and nodes disagree with each other or with the checkpoints.
    #[error(transparent)]
    Tamper(#[from] Tamper),
    /// A stored column derived from an entry (its id, content id or kind)
    /// does not match the entry's bytes, so lookups would be misled.
    #[error("entry {index}: the stored {column} is {stored} but the entry's bytes give {computed}")]
    EntryColumn {
        /// The entry.
        index: u64,
        /// Which column.
        column: &'static str,
        /// What is stored.
        stored: String,
        /// What the bytes give.
        computed: String,
    },
    /// An entry is missing from the sequence.
    #[error("entry {expected} is missing (the next stored entry is {found}); entries were deleted")]
    MissingEntry {
        /// The index that should come next.
        expected: u64,
        /// The index that came.
        found: u64,
    },
}

impl VerifyFailure {
    /// True when the failure is evidence of damage (exit code 1), not a
    /// failure to read (also 1, but worth telling apart in messages).
    #[must_use]
    pub fn is_tamper(&self) -> bool {
        !matches!(self, Self::Store(e) if !matches!(e, StoreError::Corrupt(_)))
    }
}

/// Opens a signed checkpoint with whichever of `keys` (a tenant's log keys,
/// current and rotated out) signed it. The error is the last key's refusal.
pub fn open_checkpoint(note: &str, keys: &[NoteVerifier]) -> Result<Checkpoint, String> {
    let mut last: Option<CheckpointError> = None;
    for key in keys {
        match Checkpoint::open(note, key) {
            Ok(cp) => return Ok(cp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(
        || "the tenant has no log keys to check it with".to_owned(),
        |e| e.to_string(),
    ))
}

/// Verifies a tenant's whole log, as one snapshot (appends that land while it
/// runs are not part of it). Progress is reported in entries.
pub fn verify_tenant_log(
    store: &dyn Store,
    tenant: &str,
    progress: &mut dyn Progress,
) -> Result<Verified, VerifyFailure> {
    let keys = store
        .log_keys(tenant)?
        .iter()
        .map(|k| {
            k.verifier
                .parse::<NoteVerifier>()
                .map_err(|e| StoreError::Corrupt(format!("log key {:?}: {e}", k.verifier)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut visitor = Visitor {
        keys,
        verifier: None,
        failure: None,
        progress,
        total: 0,
    };
    let scanned = store.scan_log(tenant, &mut visitor);
    if let Some(failure) = visitor.failure.take() {
        return Err(failure);
    }
    scanned?;
    let verifier = visitor
        .verifier
        .ok_or_else(|| StoreError::Backend("the store's scan handed over no checkpoints".into()))?;
    let mut none = std::iter::empty::<Result<Hash, StoreError>>();
    verifier.finish(&mut none).map_err(|e| match e {
        VerifyLogError::Tamper(t) => VerifyFailure::Tamper(t),
        VerifyLogError::Read(s) => VerifyFailure::Store(s),
    })
}

struct Visitor<'p> {
    keys: Vec<NoteVerifier>,
    verifier: Option<LogVerifier>,
    failure: Option<VerifyFailure>,
    progress: &'p mut dyn Progress,
    total: u64,
}

impl Visitor<'_> {
    /// Records the first failure and stops the scan.
    fn fail(&mut self, failure: VerifyFailure) -> Result<(), StoreError> {
        self.failure = Some(failure);
        Err(StoreError::Invalid("verification failed".into()))
    }
}

impl LogVisitor for Visitor<'_> {
    fn checkpoints(&mut self, checkpoints: Vec<StoredCheckpoint>) -> Result<(), StoreError> {
        let mut roots = Vec::with_capacity(checkpoints.len());
        for cp in checkpoints {
            let opened = match open_checkpoint(&cp.note, &self.keys) {
                Ok(opened) => opened,
                Err(reason) => {
                    return self.fail(VerifyFailure::Checkpoint {
                        size: cp.size,
                        reason,
                    });
                }
            };
            if opened.size != cp.size || opened.root != cp.root {
                return self.fail(VerifyFailure::Checkpoint {
                    size: cp.size,
                    reason: format!(
                        "the stored columns (size {}, root {}) differ from what the note signs (size {}, root {})",
                        cp.size, cp.root, opened.size, opened.root
                    ),
                });
            }
            roots.push((cp.size, cp.root));
        }
        self.total = roots.last().map_or(0, |r| r.0);
        self.verifier = Some(LogVerifier::new(roots));
        Ok(())
    }

    fn entry(&mut self, scanned: &ScannedEntry<'_>) -> Result<(), StoreError> {
        let ScannedEntry {
            index,
            bytes,
            nodes,
            ..
        } = *scanned;
        let Some(verifier) = self.verifier.as_mut() else {
            return Err(StoreError::Backend(
                "the store's scan handed over entries before checkpoints".into(),
            ));
        };
        let expected = verifier.entries();
        if index != expected {
            return self.fail(VerifyFailure::MissingEntry {
                expected,
                found: index,
            });
        }
        // The nodes this entry creates have consecutive positions starting at
        // 2i - popcount(i); a gap means a node was deleted.
        let first = 2 * index - u64::from(index.count_ones());
        let mut hashes = Vec::with_capacity(nodes.len());
        for (k, &(position, hash)) in nodes.iter().enumerate() {
            if position != first + k as u64 {
                let missing = node_at(index, k);
                return self.fail(Tamper::MissingNode(missing).into());
            }
            hashes.push(Ok::<_, StoreError>(hash));
        }
        // The tree first: an altered entry is best reported as what it is.
        if let Err(e) = verifier.push_entry(bytes, &mut hashes.into_iter()) {
            return self.fail(match e {
                VerifyLogError::Tamper(t) => t.into(),
                VerifyLogError::Read(s) => s.into(),
            });
        }
        if let Some(failure) = check_columns(scanned) {
            return self.fail(failure);
        }
        let done = index + 1;
        if done.is_multiple_of(65_536) || done == self.total {
            self.progress.advance(done, self.total);
        }
        Ok(())
    }

    fn extra_node(&mut self, _position: u64, _hash: Hash) -> Result<(), StoreError> {
        let entries = self.verifier.as_ref().map_or(0, LogVerifier::entries);
        self.fail(Tamper::ExtraNodes { entries, extra: 1 }.into())
    }
}

/// Recomputes the derived columns from the entry's bytes.
fn check_columns(e: &ScannedEntry<'_>) -> Option<VerifyFailure> {
    let column = |column: &'static str, stored: String, computed: String| {
        Some(VerifyFailure::EntryColumn {
            index: e.index,
            column,
            stored,
            computed,
        })
    };
    let id = Hash::of(e.bytes);
    if id != e.id {
        return column("id", e.id.to_hex(), id.to_hex());
    }
    let Some(parts) = split_entry(e.bytes) else {
        return column(
            "entry envelope",
            "stored bytes".into(),
            "no entry envelope".into(),
        );
    };
    if parts.kind != e.kind {
        return column("kind", e.kind.to_owned(), parts.kind.to_owned());
    }
    if parts.keys != e.keys {
        return column(
            "index keys",
            format!("{:?}", e.keys),
            format!("{:?}", parts.keys),
        );
    }
    let content_id = content_id_of(parts.content, parts.kind);
    if content_id != e.content_id {
        return column(
            "content id",
            e.content_id.to_string(),
            content_id.to_string(),
        );
    }
    None
}

/// The `k`-th node created by appending entry `index`: its leaf, then each
/// node it completes going up.
fn node_at(index: u64, k: usize) -> NodeId {
    NodeId::new(k as u8, index >> k)
}
