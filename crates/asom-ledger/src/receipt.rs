//! Receipts: C2SP `tlog-proof@v1` documents (<https://c2sp.org/tlog-proof>).
//!
//! A receipt proves offline that an entry is in a tenant's log. It is text,
//! each line ending in a newline:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>                optional, opaque, NOT authenticated
//! index <decimal>               zero-based, no leading zeroes
//! <base64 hash>                 the RFC 9162 inclusion proof, leaf's sibling
//! ...                           first, up to the root's child
//!                               an empty line
//! <signed checkpoint note>      verbatim, see [`crate::checkpoint`]
//! ```
//!
//! Verifying ([`Receipt::verify`]) needs only the receipt, the entry's
//! canonical bytes and the log's verifier key: the checkpoint's signature is
//! checked, then the inclusion of `SHA-256(0x00 ‖ entry)` at `index` under the
//! checkpoint's root. The `extra` data is carried but never trusted.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{Checkpoint, CheckpointError, parse_decimal};
use crate::hash::Hash;
use crate::merkle;
use crate::note::{Note, NoteError, NoteVerifier};

/// The first line of every `tlog-proof@v1` document.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most proof hashes a receipt may carry: an inclusion proof in a tree
/// of at most 2^64 - 1 entries has at most 64 hashes.
pub const MAX_PROOF_HASHES: usize = 64;

/// What can be wrong with a receipt.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The first line is not the `tlog-proof@v1` header.
    #[error(
        "not a tlog-proof@v1 receipt: the first line must be exactly {HEADER:?}; check that you \
         passed the receipt file (.tlog-proof) and not the entry or a bare checkpoint"
    )]
    MissingHeader,
    /// The receipt ends before its index line or checkpoint.
    #[error("receipt is truncated: {0}")]
    Truncated(&'static str),
    /// The `extra` line is not base64.
    #[error("receipt's extra line is not standard base64 (RFC 4648 §4, padded)")]
    BadExtra,
    /// The index line is malformed.
    #[error(
        "receipt's index line {line:?} is not valid: {reason}; it must be 'index ' and an ASCII \
         decimal with no sign and no leading zeroes"
    )]
    BadIndex {
        /// The line as found (shortened).
        line: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A proof line is not base64 of 32 bytes.
    #[error(
        "receipt's proof hash {position} ({line:?}) is not standard base64 of a 32-byte SHA-256 \
         hash"
    )]
    BadProofHash {
        /// 1-based position in the proof.
        position: usize,
        /// The line as found (shortened).
        line: String,
    },
    /// More than [`MAX_PROOF_HASHES`] proof lines.
    #[error(
        "receipt carries more than {MAX_PROOF_HASHES} proof hashes; no valid proof is that long"
    )]
    TooManyProofHashes,
    /// The embedded checkpoint is not a well-formed signed note.
    #[error("receipt's checkpoint is not a well-formed signed note: {0}")]
    CheckpointSyntax(#[source] NoteError),
    /// The checkpoint failed verification.
    #[error("receipt's {0}")]
    Checkpoint(#[source] CheckpointError),
    /// The entry is past the end of the checkpointed tree.
    #[error(
        "receipt says the entry is at index {index} but its checkpoint covers only {size} entries; \
         the receipt was assembled wrongly — ask the log for a fresh receipt"
    )]
    IndexOutOfRange {
        /// The receipt's index.
        index: u64,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error(
        "entry is not proved to be at index {index} of log {origin} (tree size {size}): {source}; \
         check that you passed the exact canonical entry bytes this receipt was issued for"
    )]
    NotIncluded {
        /// The receipt's index.
        index: u64,
        /// The checkpoint's origin.
        origin: String,
        /// The checkpoint's tree size.
        size: u64,
        /// What the proof check found.
        #[source]
        source: merkle::VerifyError,
    },
}

/// An offline proof that one entry is in a log: a C2SP `tlog-proof@v1` document.
///
/// Serialized by [`Receipt::to_text`] (the layout is in the module docs).
/// Only the embedded checkpoint is signed; `index`, `proof` and `extra` are
/// authenticated by the inclusion check, except `extra`, which nothing authenticates.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Receipt {
    /// Zero-based index of the entry in the log.
    pub index: u64,
    /// Opaque extra data; not authenticated, never act on it without checking it otherwise.
    pub extra: Option<Vec<u8>>,
    /// RFC 9162 inclusion proof, from the leaf's sibling up to the root's child.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note the proof leads to, verbatim.
    pub checkpoint: String,
}

impl Receipt {
    /// The `tlog-proof@v1` text.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(
            HEADER.len() + 32 + self.proof.len() * 45 + self.checkpoint.len(),
        );
        out.push_str(HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            let _ = writeln!(out, "extra {}", STANDARD.encode(extra));
        }
        let _ = writeln!(out, "index {}", self.index);
        for hash in &self.proof {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a `tlog-proof@v1` document. Checks the layout and that the
    /// checkpoint is a well-formed signed note; verifies nothing.
    pub fn parse(text: &str) -> Result<Self, ReceiptError> {
        let mut rest = text;
        let mut next_line = |what: &'static str| -> Result<&str, ReceiptError> {
            let (line, after) = rest.split_once('\n').ok_or(ReceiptError::Truncated(what))?;
            rest = after;
            Ok(line)
        };
        if next_line("it has no header line")? != HEADER {
            return Err(ReceiptError::MissingHeader);
        }
        let mut line = next_line("it ends after the header; the index line is missing")?;
        let extra = match line.strip_prefix("extra ") {
            Some(encoded) => {
                let extra = STANDARD
                    .decode(encoded)
                    .map_err(|_| ReceiptError::BadExtra)?;
                line = next_line("it ends after the extra line; the index line is missing")?;
                Some(extra)
            }
            None => None,
        };
        let index = line
            .strip_prefix("index ")
            .ok_or(ReceiptError::BadIndex {
                line: clip(line),
                reason: "it does not start with 'index '",
            })
            .and_then(|n| {
                parse_decimal(n).map_err(|reason| ReceiptError::BadIndex {
                    line: clip(line),
                    reason,
                })
            })?;
        let mut proof = Vec::new();
        loop {
            let line = next_line("no empty line ends the proof; the checkpoint is missing")?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(ReceiptError::TooManyProofHashes);
            }
            let hash = Hash::from_base64(line).map_err(|_| ReceiptError::BadProofHash {
                position: proof.len() + 1,
                line: clip(line),
            })?;
            proof.push(hash);
        }
        Note::parse(rest).map_err(ReceiptError::CheckpointSyntax)?;
        Ok(Self {
            index,
            extra,
            proof,
            checkpoint: rest.to_owned(),
        })
    }

    /// Verifies the checkpoint's signature by the log key (see
    /// [`Checkpoint::open`]) and that `entry` (its raw canonical bytes) is
    /// at `index` in the checkpointed tree. Returns the verified checkpoint.
    pub fn verify(
        &self,
        entry: &[u8],
        verifier: &NoteVerifier,
    ) -> Result<Checkpoint, ReceiptError> {
        self.verify_leaf(&merkle::leaf_hash(entry), verifier)
    }

    /// As [`Receipt::verify`], for a caller that holds the leaf hash
    /// `SHA-256(0x00 ‖ entry)` rather than the entry.
    pub fn verify_leaf(
        &self,
        leaf: &Hash,
        verifier: &NoteVerifier,
    ) -> Result<Checkpoint, ReceiptError> {
        let checkpoint =
            Checkpoint::open(&self.checkpoint, verifier).map_err(ReceiptError::Checkpoint)?;
        if self.index >= checkpoint.size {
            return Err(ReceiptError::IndexOutOfRange {
                index: self.index,
                size: checkpoint.size,
            });
        }
        merkle::verify_inclusion(
            leaf,
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )
        .map_err(|source| ReceiptError::NotIncluded {
            index: self.index,
            origin: checkpoint.origin.clone(),
            size: checkpoint.size,
            source,
        })?;
        Ok(checkpoint)
    }
}

/// Shortens a line quoted in an error.
fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_without_extra_or_proof() {
        let r = Receipt {
            index: 0,
            extra: None,
            proof: vec![],
            checkpoint:
                "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} o AAAAAAA=\n".into(),
        };
        let text = r.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\no\n"));
        assert_eq!(Receipt::parse(&text).unwrap(), r);
    }
}
