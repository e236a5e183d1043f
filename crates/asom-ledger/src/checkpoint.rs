//! C2SP transparency-log checkpoints (<https://c2sp.org/tlog-checkpoint>).
//!
//! A checkpoint is a [signed note](crate::note) whose text is, one item per
//! line, each line ending in a newline:
//!
//! ```text
//! <origin>                      the log's identity, e.g. example.com/log
//! <tree size>                   ASCII decimal, no leading zeroes ("0" if empty)
//! <root hash>                   standard base64 of the RFC 9162 tree root
//! [<extension line>]...         optional, opaque, non-empty
//! ```
//!
//! asom names each tenant's log key after the log's origin, so a checkpoint
//! is only accepted from the key whose name *is* the origin
//! ([`Checkpoint::open`]). Other signatures (witness cosignatures, a retired
//! log key) are ignored, as the spec requires.

use std::fmt::Write as _;

use crate::hash::Hash;
use crate::note::{KeyRef, Note, NoteError, NoteSigner, NoteVerifier};

/// What can be wrong with a checkpoint's text or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The checkpoint is not a well-formed signed note.
    #[error("checkpoint is not a well-formed signed note: {0}")]
    Note(#[source] NoteError),
    /// The log's key did not sign the checkpoint.
    #[error("{}", not_signed_message(log_key, signed_by))]
    NotSignedByLog {
        /// The trusted log key.
        log_key: KeyRef,
        /// The keys that did sign.
        signed_by: Vec<KeyRef>,
    },
    /// The log key's signature does not verify.
    #[error(
        "checkpoint signature by log key {key} does not verify: the checkpoint text was altered \
         after it was signed, or the signature was corrupted; fetch the checkpoint again from \
         the log"
    )]
    BadLogSignature {
        /// The log key.
        key: KeyRef,
    },
    /// The origin line is not the log the verifier key belongs to.
    #[error(
        "checkpoint is for log {origin:?} but the verifier key is for log {key_name:?}; pass the \
         verifier key of the log that issued this checkpoint"
    )]
    OriginMismatch {
        /// The checkpoint's origin line.
        origin: String,
        /// The verifier key's name.
        key_name: String,
    },
    /// The text does not end in a newline.
    #[error("checkpoint text must end with a newline")]
    MissingNewline,
    /// The text has a control character.
    #[error(
        "checkpoint text holds control character U+{code:04X} on line {line}; only newlines may \
         appear"
    )]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// 1-based line number.
        line: usize,
    },
    /// Fewer than three lines.
    #[error(
        "checkpoint text has {lines} line(s); it needs at least three: origin, tree size and root \
         hash"
    )]
    TooFewLines {
        /// How many lines there were.
        lines: usize,
    },
    /// The origin line is empty.
    #[error("checkpoint origin (line 1) is empty; it must name the log, e.g. example.com/log")]
    EmptyOrigin,
    /// The tree size line is not a canonical decimal.
    #[error(
        "checkpoint tree size (line 2) {line:?} is not valid: {reason}; it must be an ASCII \
         decimal with no sign and no leading zeroes"
    )]
    BadSize {
        /// The line as found (shortened).
        line: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The root hash line is not base64 of 32 bytes.
    #[error(
        "checkpoint root hash (line 3) {line:?} is not standard base64 of a 32-byte SHA-256 hash"
    )]
    BadRoot {
        /// The line as found (shortened).
        line: String,
    },
    /// An extension line is empty.
    #[error("checkpoint extension line {line} is empty; extension lines must be non-empty")]
    EmptyExtension {
        /// 1-based line number within the checkpoint text.
        line: usize,
    },
    /// A checkpoint to be signed cannot be written as valid text.
    #[error("cannot write this checkpoint: {0}")]
    Unrepresentable(&'static str),
    /// The signer's key name is not the checkpoint's origin.
    #[error(
        "refusing to sign a checkpoint for log {origin:?} with key {signer:?}: asom's log key must \
         be named after the log's origin"
    )]
    SignerNotOrigin {
        /// The checkpoint's origin.
        origin: String,
        /// The signer's key name.
        signer: String,
    },
}

fn not_signed_message(log_key: &KeyRef, signed_by: &[KeyRef]) -> String {
    let signers = if signed_by.is_empty() {
        "no key".to_owned()
    } else {
        signed_by
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let hint = if signed_by.iter().any(|k| k.name == log_key.name) {
        " (same log name, different key id: the log key was rotated, or this is another \
         installation's log)"
    } else {
        ""
    };
    format!(
        "checkpoint is signed by {signers} but not by the trusted log key {log_key}{hint}; pass the \
         log's verifier key (`asom ledger pubkey`)"
    )
}

/// Shortens a line quoted in an error.
fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

/// A log's signed statement of its tree: origin, size and root hash.
///
/// Serialized for signing by [`Checkpoint::to_text`]: `origin "\n" size "\n"
/// base64(root) "\n"` then each extension line and `"\n"`. The signature
/// covers exactly those bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    /// The log's identity; for asom, the tenant log's name, which is also its key name.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// RFC 9162 Merkle tree root at `size`.
    pub root: Hash,
    /// Opaque extension lines (without newlines); asom writes none.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each ending in a newline.
    ///
    /// Does not check the fields; [`Checkpoint::sign`] refuses values this
    /// would write as an unparseable checkpoint (empty origin, embedded newlines).
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for extension in &self.extensions {
            out.push_str(extension);
            out.push('\n');
        }
        out
    }

    /// Parses checkpoint note text (not a signed note; see [`Checkpoint::open`]).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingNewline)?;
        for (i, line) in body.split('\n').enumerate() {
            if let Some(c) = line.chars().find(|&c| c < ' ') {
                return Err(CheckpointError::ControlCharacter {
                    code: u32::from(c),
                    line: i + 1,
                });
            }
        }
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::TooFewLines {
                lines: body.split('\n').count(),
            });
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_decimal(size).map_err(|reason| CheckpointError::BadSize {
            line: clip(size),
            reason,
        })?;
        let root =
            Hash::from_base64(root).map_err(|_| CheckpointError::BadRoot { line: clip(root) })?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension { line: i + 4 });
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint with the log key and returns the signed note.
    /// The key must be named after the origin.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        self.check_representable()?;
        if signer.name() != self.origin {
            return Err(CheckpointError::SignerNotOrigin {
                origin: self.origin.clone(),
                signer: signer.name().to_owned(),
            });
        }
        signer.sign(&self.to_text()).map_err(CheckpointError::Note)
    }

    /// Checks that [`Checkpoint::to_text`] would write text that parses back to `self`.
    fn check_representable(&self) -> Result<(), CheckpointError> {
        let has_control = |s: &str| s.chars().any(|c| c < ' ');
        if self.origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        if has_control(&self.origin) {
            return Err(CheckpointError::Unrepresentable(
                "the origin holds a newline or control character",
            ));
        }
        if self.extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Unrepresentable(
                "an extension line is empty",
            ));
        }
        if self.extensions.iter().any(|e| has_control(e)) {
            return Err(CheckpointError::Unrepresentable(
                "an extension line holds a newline or control character",
            ));
        }
        Ok(())
    }

    /// Verifies a signed checkpoint against the log's verifier key and parses it.
    ///
    /// The log key must have signed (other signatures are ignored), and the
    /// origin line must equal the key's name.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
        let unverified = Note::parse(note).map_err(CheckpointError::Note)?;
        let signed = unverified
            .verify(std::slice::from_ref(verifier))
            .map_err(|e| match e {
                NoteError::InvalidSignature { key } => CheckpointError::BadLogSignature { key },
                NoteError::NoTrustedSignature { signed_by, .. } => {
                    CheckpointError::NotSignedByLog {
                        log_key: verifier.key_ref(),
                        signed_by,
                    }
                }
                other => CheckpointError::Note(other),
            })?;
        let checkpoint = Self::parse(signed.text())?;
        if checkpoint.origin != verifier.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: clip(&checkpoint.origin),
                key_name: verifier.name().to_owned(),
            });
        }
        Ok(checkpoint)
    }
}

/// Parses a canonical ASCII decimal: digits only, no leading zero unless it
/// is `0`, fits in a `u64`. Shared with [`crate::receipt`].
pub(crate) fn parse_decimal(text: &str) -> Result<u64, &'static str> {
    if text.is_empty() {
        return Err("it is empty");
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("it holds something other than the digits 0-9");
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err("it has a leading zero");
    }
    text.parse::<u64>()
        .map_err(|_| "it is larger than 2^64 - 1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal("0"), Ok(0));
        assert_eq!(parse_decimal("18446744073709551615"), Ok(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1_000",
            "18446744073709551616",
            "١",
        ] {
            assert!(parse_decimal(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_round_trips() {
        let c = Checkpoint {
            origin: "example.com/log".into(),
            size: 3,
            root: Hash::of(b"root"),
            extensions: vec!["ext one".into()],
        };
        assert_eq!(Checkpoint::parse(&c.to_text()).unwrap(), c);
    }
}
