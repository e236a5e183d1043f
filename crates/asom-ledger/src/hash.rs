//! The SHA-256 digest newtype used for entry ids, leaf and node hashes and roots.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest. Displays as lowercase hex; C2SP formats carry it as
/// standard base64 ([`Hash::to_base64`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// A hash could not be read from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// Not 64 hex digits.
    #[error("expected 64 hex digits for a SHA-256 hash, got {0:?}")]
    Hex(String),
    /// Not base64 of 32 bytes.
    #[error("expected base64 of 32 bytes for a SHA-256 hash, got {0:?}")]
    Base64(String),
}

impl Hash {
    /// Length of a SHA-256 digest in bytes.
    pub const LEN: usize = 32;

    /// SHA-256 of `bytes`. For an entry's canonical JSON this is its id.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lowercase hex, 64 characters.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard base64 with padding, as in C2SP checkpoints and proofs.
    #[must_use]
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, HashParseError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| HashParseError::Hex(clip(text)))?;
        Ok(Self(out))
    }

    /// Parses standard base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, HashParseError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|_| HashParseError::Base64(clip(text)))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| HashParseError::Base64(clip(text)))?;
        Ok(Self(arr))
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Keeps error messages short when someone pastes a whole file where a hash belongs.
fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_has_the_well_known_digest() {
        assert_eq!(
            Hash::of(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_and_base64_round_trip_and_reject_wrong_lengths() {
        let h = Hash::of(b"asom");
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
        assert!(Hash::from_hex("abcd").is_err());
        assert!(Hash::from_base64("AAAA").is_err());
        assert!(Hash::from_hex(&"zz".repeat(32)).is_err());
    }
}
