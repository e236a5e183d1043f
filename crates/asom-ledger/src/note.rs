//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys.
//!
//! A signed note is UTF-8 text that ends in a newline, then one empty line,
//! then one or more signature lines `— <key name> <base64(key id ‖ signature)>`
//! (an em dash U+2014 and a space first). Nothing in a note may be an ASCII
//! control character except the newline. The text is separated from the
//! signatures by the *last* empty line, so the text itself may hold empty lines.
//!
//! Keys are named: a key name is non-empty and holds neither Unicode spaces
//! nor `+`. An Ed25519 key's id is the first four bytes of
//! `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)` ([`key_id`]). Keys travel as text
//! in the format `golang.org/x/mod/sumdb/note` introduced:
//!
//! - verifier (public) key: `<name>+<8 hex digits key id>+<base64(0x01 ‖ public key)>`
//!   ([`NoteVerifier`]);
//! - signer (private) key: `PRIVATE+KEY+<name>+<8 hex digits key id>+<base64(0x01 ‖ seed)>`
//!   ([`NoteSigner`]).
//!
//! Verification ([`Note::verify`]) follows the spec: signatures from keys the
//! caller does not trust (name *and* id must both match) are ignored; a
//! signature from a trusted key that does not verify rejects the whole note;
//! and at least one trusted key must have signed. A note carrying more than
//! [`MAX_SIGNATURES`] signature lines is refused before any signature is
//! checked (the spec asks verifiers to accept at least 16).
//!
//! Base64 is the standard alphabet with padding (RFC 4648 §4), decoded
//! strictly: non-canonical encodings are refused, so a parsed note always
//! re-serializes to the exact bytes it was read from.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// The signature type byte the signed-note spec assigns to Ed25519.
pub const ALG_ED25519: u8 = 0x01;

/// The most signature lines a note may carry. The spec asks verifiers to
/// accept at least 16; 100 is the limit of the Go reference implementation.
pub const MAX_SIGNATURES: usize = 100;

/// The em dash (U+2014, three bytes in UTF-8) and the space that open a signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The prefix of a signer (private) key string.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Length of an Ed25519 signature in bytes.
const ED25519_SIGNATURE_LEN: usize = 64;

/// Everything that can be wrong with a signed note, a key string or a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name is empty or holds a space or `+`.
    #[error(
        "key name {name:?} is not allowed: {reason}; a key name is non-empty and holds no spaces, \
         '+' or control characters (e.g. example.com/log)"
    )]
    InvalidKeyName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The note is not UTF-8.
    #[error(
        "signed note is not valid UTF-8 (first bad byte at offset {offset}); a signed note is UTF-8 text"
    )]
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The note holds an ASCII control character other than newline.
    #[error(
        "signed note holds control character U+{code:04X} on line {line}; only newline (U+000A) may \
         appear (check for carriage returns from a CRLF conversion or tabs)"
    )]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// 1-based line number.
        line: usize,
    },
    /// The text to sign does not end in a newline.
    #[error("note text must end with a newline (U+000A); append \"\\n\" before signing")]
    TextMissingNewline,
    /// No empty line separates text and signatures.
    #[error(
        "signed note has no empty line before its signatures; a signed note is text ending in a \
         newline, an empty line, then lines '— <key name> <base64 signature>'"
    )]
    MissingSignatureBlock,
    /// The signature block is empty or its last line has no newline.
    #[error(
        "signed note must end with a signature line terminated by a newline; the note was \
         probably truncated, or its final newline was stripped"
    )]
    SignatureBlockNotTerminated,
    /// A signature line is malformed.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignatureLine {
        /// 1-based position among the signature lines.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("signed note carries more than {max} signatures; refusing to process it")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A signature from a trusted key does not verify.
    #[error(
        "signature by trusted key {key} does not verify: the note text was changed after it was \
         signed, or the signature bytes were corrupted"
    )]
    InvalidSignature {
        /// The key that supposedly signed.
        key: KeyRef,
    },
    /// No trusted key signed the note.
    #[error("{}", untrusted_message(signed_by, trusted))]
    NoTrustedSignature {
        /// The keys that did sign (none of them trusted).
        signed_by: Vec<KeyRef>,
        /// The keys the caller trusts.
        trusted: Vec<KeyRef>,
    },
    /// Two different trusted keys share a name and key id.
    #[error(
        "two different trusted verifier keys are both named {key}; remove one of them from the \
         trusted keys"
    )]
    AmbiguousVerifier {
        /// The shared name and id.
        key: KeyRef,
    },
    /// A verifier (public) key string is malformed.
    #[error(
        "verifier key is malformed: {reason}; expected <name>+<8 hex digits>+<base64 key>, as \
         printed by `asom ledger pubkey`"
    )]
    MalformedVerifierKey {
        /// What is wrong with it.
        reason: String,
    },
    /// A signer (private) key string is malformed. Never carries key material.
    #[error(
        "signer key is malformed: {reason}; expected PRIVATE+KEY+<name>+<8 hex digits>+<base64 \
         seed>, the format asom writes its log key file in"
    )]
    MalformedSignerKey {
        /// What is wrong with it (never the key itself).
        reason: String,
    },
    /// A key string names an algorithm other than Ed25519.
    #[error("key uses signature type 0x{0:02x}; asom only supports Ed25519 (type 0x01) note keys")]
    UnsupportedAlgorithm(u8),
    /// The key id in a key string is not the one computed from its name and key.
    #[error(
        "key string says key id {stated} but name {name:?} and its key give {computed}; the key \
         string was altered or its name edited — copy it again from its source"
    )]
    KeyIdMismatch {
        /// The key name.
        name: String,
        /// The id written in the string.
        stated: KeyId,
        /// The id computed from name and key.
        computed: KeyId,
    },
}

fn untrusted_message(signed_by: &[KeyRef], trusted: &[KeyRef]) -> String {
    let list = |keys: &[KeyRef]| {
        keys.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let trusted_part = if trusted.is_empty() {
        "no trusted verifier keys were given".to_owned()
    } else {
        format!("trusted keys are {}", list(trusted))
    };
    let hint = signed_by
        .iter()
        .find(|s| trusted.iter().any(|t| t.name == s.name))
        .map_or_else(String::new, |s| {
            format!(
                " (a key named {} is trusted, but with a different id: the signing key was \
                 rotated, or the wrong verifier key is configured)",
                s.name
            )
        });
    format!(
        "note is signed by {} but {}{}; pass the signer's verifier key (for an asom log: `asom \
         ledger pubkey`)",
        if signed_by.is_empty() {
            "no key".to_owned()
        } else {
            format!("key {}", list(signed_by))
        },
        trusted_part,
        hint
    )
}

/// A note key id: the first four bytes (big-endian uint32) of
/// `SHA-256(name ‖ 0x0A ‖ signature type ‖ public key)`. An identifier, not a
/// strong hash: a note is only trusted through the full key it is checked with.
///
/// Displays as 8 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// The id as the big-endian uint32 the spec describes.
    #[must_use]
    pub fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.to_u32())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = NoteError;

    /// Parses exactly 8 hex digits (either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_key_id(s).ok_or_else(|| NoteError::MalformedVerifierKey {
            reason: format!("key id {:?} is not 8 hex digits", clip(s)),
        })
    }
}

fn parse_key_id(s: &str) -> Option<KeyId> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 4];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(KeyId(out))
}

/// A key as a signature line names it: key name and key id. Displays as
/// `<name>+<8 hex digits>`, the form the Go tools print in errors.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct KeyRef {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: KeyId,
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.name, self.key_id)
    }
}

/// The key id of an Ed25519 note key:
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)[..4]`.
#[must_use]
pub fn key_id(name: &str, key: &VerifyingKey) -> KeyId {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', ALG_ED25519]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    KeyId([digest[0], digest[1], digest[2], digest[3]])
}

/// Checks the key-name rules: non-empty, no Unicode white space, no `+`, and
/// (so the name can appear in a signed note) no control characters.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.contains('+') {
        Some("it contains '+'")
    } else if name.chars().any(char::is_whitespace) {
        Some("it contains white space")
    } else if name.chars().any(char::is_control) {
        Some("it contains a control character")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NoteError::InvalidKeyName {
            name: clip(name),
            reason,
        }),
        None => Ok(()),
    }
}

/// Keeps error messages short when someone pastes a whole file where a short string belongs.
fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Accepts the key strings as read from a file: one trailing `\n` or `\r\n` is dropped.
fn strip_line_end(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

/// An Ed25519 signing key with its note key name: signs notes.
///
/// `Debug` shows the name and key id, never the secret. The secret is wiped
/// from memory when the signer is dropped (ed25519-dalek's `zeroize`).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    id: KeyId,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &self.id)
            .finish_non_exhaustive() // the secret key is left out on purpose
    }
}

impl NoteSigner {
    /// A signer for `name` with the given Ed25519 key.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let id = key_id(name, &key.verifying_key());
        Ok(Self {
            name: name.to_owned(),
            key,
            id,
        })
    }

    /// A signer for `name` from a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::from_bytes(&seed))
    }

    /// The key name, as written on signature lines.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, as written in the first four bytes of each signature.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The matching verifier (public key).
    #[must_use]
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            id: self.id,
        }
    }

    /// The signer key string `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`.
    /// It is the secret: store it like one (asom keeps it in a 0600 file).
    #[must_use]
    pub fn to_private_key_string(&self) -> String {
        let mut raw = [0u8; 33];
        raw[0] = ALG_ED25519;
        raw[1..].copy_from_slice(self.key.as_bytes());
        let encoded = STANDARD.encode(raw);
        raw.fill(0);
        format!("{PRIVATE_KEY_PREFIX}{}+{}+{encoded}", self.name, self.id)
    }

    /// Parses a signer key string `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`
    /// and checks that the key id matches the key. One trailing newline is
    /// accepted. Errors never repeat the key material.
    pub fn from_private_key_string(s: &str) -> Result<Self, NoteError> {
        let bad = |reason: &str| NoteError::MalformedSignerKey {
            reason: reason.to_owned(),
        };
        let s = strip_line_end(s);
        let rest = s
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or_else(|| bad("it does not start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it has fewer than five '+'-separated fields"));
        };
        check_key_name(name)?;
        let stated = parse_key_id(id_hex).ok_or_else(|| bad("the key id is not 8 hex digits"))?;
        let mut raw = STANDARD
            .decode(key_b64)
            .map_err(|_| bad("the key is not valid base64"))?;
        let parsed = match raw.split_first() {
            None => Err(bad("the key is empty")),
            Some((&alg, _)) if alg != ALG_ED25519 => Err(NoteError::UnsupportedAlgorithm(alg)),
            Some((_, seed)) => <[u8; 32]>::try_from(seed)
                .map_err(|_| bad("an Ed25519 key is 0x01 followed by a 32-byte seed"))
                .map(|seed| SigningKey::from_bytes(&seed)),
        };
        raw.fill(0);
        let key = parsed?;
        let signer = Self::new(name, key)?;
        if signer.id != stated {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                stated,
                computed: signer.id,
            });
        }
        Ok(signer)
    }

    /// Signs `text` and returns the whole signed note: the text, an empty
    /// line and one signature line. `text` must end in a newline and hold no
    /// control characters other than newline.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let line = self.signature_line(text);
        Ok(format!("{text}\n{line}"))
    }

    /// `— <name> <base64(key id ‖ Ed25519 signature over text)>\n`.
    fn signature_line(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        let mut raw = Vec::with_capacity(4 + ED25519_SIGNATURE_LEN);
        raw.extend_from_slice(&self.id.0);
        raw.extend_from_slice(&signature.to_bytes());
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// Checks a note text before signing: ends in a newline, no control
/// characters other than newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    check_control_characters(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::TextMissingNewline);
    }
    Ok(())
}

fn check_control_characters(text: &str) -> Result<(), NoteError> {
    let mut line = 1;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        } else if c < ' ' {
            return Err(NoteError::ControlCharacter {
                code: u32::from(c),
                line,
            });
        }
    }
    Ok(())
}

/// An Ed25519 public key with its note key name: verifies notes.
///
/// Parses from and displays as the verifier key string
/// `<name>+<8 hex digits key id>+<base64(0x01 ‖ 32-byte public key)>`.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    id: KeyId,
}

impl NoteVerifier {
    /// A verifier for `name` with the given Ed25519 public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let id = key_id(name, &key);
        Ok(Self {
            name: name.to_owned(),
            key,
            id,
        })
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Name and key id together.
    #[must_use]
    pub fn key_ref(&self) -> KeyRef {
        KeyRef {
            name: self.name.clone(),
            key_id: self.id,
        }
    }

    /// The Ed25519 public key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Whether `signature` (the bytes after the key id) is this key's
    /// Ed25519 signature of `text`. Uses strict verification: non-canonical
    /// and small-order encodings are refused.
    fn verifies(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; ED25519_SIGNATURE_LEN]>::try_from(signature) else {
            return false;
        };
        self.key
            .verify_strict(text, &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = [0u8; 33];
        raw[0] = ALG_ED25519;
        raw[1..].copy_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, self.id, STANDARD.encode(raw))
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({self})")
    }
}

impl FromStr for NoteVerifier {
    type Err = NoteError;

    /// Parses `<name>+<hex id>+<base64(0x01 ‖ key)>` and checks that the key
    /// id matches name and key. One trailing newline is accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| NoteError::MalformedVerifierKey { reason };
        let s = strip_line_end(s);
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(format!(
                "{:?} does not have three '+'-separated fields",
                clip(s)
            )));
        };
        check_key_name(name)?;
        let stated = parse_key_id(id_hex)
            .ok_or_else(|| bad(format!("key id {:?} is not 8 hex digits", clip(id_hex))))?;
        let raw = STANDARD
            .decode(key_b64)
            .map_err(|_| bad(format!("key {:?} is not valid base64", clip(key_b64))))?;
        let (&alg, key) = raw
            .split_first()
            .ok_or_else(|| bad("the key is empty".to_owned()))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnsupportedAlgorithm(alg));
        }
        let key: [u8; 32] = key.try_into().map_err(|_| {
            bad(format!(
                "an Ed25519 key is 0x01 followed by 32 bytes, got {} bytes",
                key.len()
            ))
        })?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| bad("the key is not a valid Ed25519 public key".to_owned()))?;
        if key.is_weak() {
            return Err(bad(
                "the key is a small-order point, which anyone can forge signatures for".to_owned(),
            ));
        }
        let verifier = Self::new(name, key)?;
        if verifier.id != stated {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                stated,
                computed: verifier.id,
            });
        }
        Ok(verifier)
    }
}

/// One signature line of a note, not yet verified.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    key: KeyRef,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// The key the line names (name and the id from the first four bytes).
    #[must_use]
    pub fn key(&self) -> &KeyRef {
        &self.key
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.key.name
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.key.key_id
    }

    /// The signature bytes after the key id (64 bytes for Ed25519; other
    /// signature types, such as witness cosignatures, differ).
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The line as written in a note, with its trailing newline.
    fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key.key_id.0);
        raw.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.key.name,
            STANDARD.encode(raw)
        )
    }
}

/// A parsed signed note whose signatures have not been checked.
///
/// Its text must not be acted on: call [`Note::verify`] to get a
/// [`VerifiedNote`]. Serialized form (what the signatures cover is only
/// `text`): `text ‖ "\n" ‖ signature lines`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note. Checks the syntax only; see [`Note::verify`].
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        check_control_characters(note)?;
        let split = note.rfind("\n\n").ok_or(NoteError::MissingSignatureBlock)?;
        let (text, block) = (&note[..=split], &note[split + 2..]);
        if !block.ends_with('\n') {
            return Err(NoteError::SignatureBlockNotTerminated);
        }
        let mut signatures = Vec::new();
        for (i, line) in block[..block.len() - 1].split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            signatures.push(parse_signature_line(line).map_err(|reason| {
                NoteError::MalformedSignatureLine {
                    line: i + 1,
                    reason,
                }
            })?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses a signed note from bytes, which must be UTF-8.
    pub fn parse_bytes(note: &[u8]) -> Result<Self, NoteError> {
        let text = std::str::from_utf8(note).map_err(|e| NoteError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        Self::parse(text)
    }

    /// The unverified text, including its final newline. Do not act on it.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order, unverified.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The note serialized again (byte-identical to what it was parsed from).
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            out.push_str(&signature.to_line());
        }
        out
    }

    /// Checks the signatures against the trusted `verifiers`.
    ///
    /// A signature counts only if both key name and key id match a trusted
    /// verifier; others are ignored. Every signature from a trusted key must
    /// verify, and at least one must be present.
    pub fn verify(&self, verifiers: &[NoteVerifier]) -> Result<VerifiedNote, NoteError> {
        let mut verified_by: Vec<KeyRef> = Vec::new();
        let mut ignored: Vec<KeyRef> = Vec::new();
        for signature in &self.signatures {
            let mut matching = verifiers.iter().filter(|v| v.key_ref() == signature.key);
            let Some(verifier) = matching.next() else {
                if !ignored.contains(&signature.key) {
                    ignored.push(signature.key.clone());
                }
                continue;
            };
            if matching.any(|other| other.key != verifier.key) {
                return Err(NoteError::AmbiguousVerifier {
                    key: signature.key.clone(),
                });
            }
            if !verifier.verifies(self.text.as_bytes(), &signature.signature) {
                return Err(NoteError::InvalidSignature {
                    key: signature.key.clone(),
                });
            }
            if !verified_by.contains(&signature.key) {
                verified_by.push(signature.key.clone());
            }
        }
        if verified_by.is_empty() {
            return Err(NoteError::NoTrustedSignature {
                signed_by: ignored,
                trusted: verifiers.iter().map(NoteVerifier::key_ref).collect(),
            });
        }
        Ok(VerifiedNote {
            text: self.text.clone(),
            verified_by,
            ignored,
        })
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Parses `— <name> <base64(key id ‖ signature)>` (without the newline).
fn parse_signature_line(line: &str) -> Result<NoteSignature, String> {
    let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(|| {
        format!(
            "{:?} does not start with an em dash (U+2014) and a space",
            clip(line)
        )
    })?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or_else(|| "it has no space between key name and signature".to_owned())?;
    check_key_name(name).map_err(|e| e.to_string())?;
    if encoded.is_empty() {
        return Err(format!("the signature by {name} is empty"));
    }
    let raw = STANDARD
        .decode(encoded)
        .map_err(|_| format!("the signature by {name} is not valid standard base64"))?;
    if raw.len() < 5 {
        return Err(format!(
            "the signature by {name} has {} bytes; it must hold a 4-byte key id and a signature",
            raw.len()
        ));
    }
    let (id, signature) = raw.split_at(4);
    Ok(NoteSignature {
        key: KeyRef {
            name: name.to_owned(),
            key_id: KeyId([id[0], id[1], id[2], id[3]]),
        },
        signature: signature.to_vec(),
    })
}

/// A note whose signatures were checked against trusted keys.
///
/// Only [`Note::verify`] makes one, so holding a `VerifiedNote` means at
/// least one trusted key signed its text.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedNote {
    text: String,
    verified_by: Vec<KeyRef>,
    ignored: Vec<KeyRef>,
}

impl VerifiedNote {
    /// The signed text, including its final newline.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signed text, by value.
    #[must_use]
    pub fn into_text(self) -> String {
        self.text
    }

    /// The trusted keys whose signatures verified, in note order, without repeats.
    #[must_use]
    pub fn verified_by(&self) -> &[KeyRef] {
        &self.verified_by
    }

    /// The keys of signatures that were ignored because no trusted key matched them.
    #[must_use]
    pub fn ignored(&self) -> &[KeyRef] {
        &self.ignored
    }
}

/// Adds `signer`'s signature to an existing signed note (cosigning), keeping
/// the other signatures in order. A signature by the same key (same name and
/// id) already in the note is replaced. Does not check the existing signatures.
pub fn add_signature(note: &str, signer: &NoteSigner) -> Result<String, NoteError> {
    let parsed = Note::parse(note)?;
    let own = KeyRef {
        name: signer.name.clone(),
        key_id: signer.id,
    };
    let kept: Vec<&NoteSignature> = parsed.signatures.iter().filter(|s| s.key != own).collect();
    if kept.len() >= MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES,
        });
    }
    let mut out = parsed.text.clone();
    out.push('\n');
    for signature in kept {
        out.push_str(&signature.to_line());
    }
    out.push_str(&signer.signature_line(&parsed.text));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_may_hold_empty_lines_and_splits_at_the_last_one() {
        let signer = NoteSigner::from_seed("example.com/a", [7; 32]).unwrap();
        let text = "one\n\ntwo\n\n";
        let note = signer.sign(text).unwrap();
        let parsed = Note::parse(&note).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed.to_text(), note);
        parsed.verify(&[signer.verifier()]).unwrap();
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let signer = NoteSigner::from_seed("example.com/a", [7; 32]).unwrap();
        let shown = format!("{signer:?}");
        let secret = signer.to_private_key_string();
        let seed_b64 = secret.splitn(5, '+').nth(4).unwrap();
        assert!(!shown.contains(seed_b64), "{shown}");
        assert!(shown.contains("key_id"), "{shown}");
    }

    #[test]
    fn key_names_follow_the_rules() {
        for bad in ["", "a+b", "a b", "a\u{a0}b", "a\tb", "a\u{1}b"] {
            assert!(check_key_name(bad).is_err(), "{bad:?}");
        }
        check_key_name("example.com/log").unwrap();
    }
}
