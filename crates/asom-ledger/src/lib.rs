//! asom's verifiable ledger, as pure code: no files, no sockets, no clocks.
//!
//! Everything asom decides from, and every decision it makes, is an entry in
//! an append-only Merkle log per tenant. This crate owns the formats that let
//! tools nobody here wrote check that log:
//!
//! - [`jcs`]: RFC 8785 canonical JSON. An entry's id is the hex SHA-256 of its
//!   canonical bytes ([`hash::Hash::of`]).
//! - [`merkle`]: RFC 9162 tree hashing (leaf = `SHA-256(0x00 ‖ entry)`, node =
//!   `SHA-256(0x01 ‖ left ‖ right)`), inclusion and consistency proofs, and the
//!   right-edge [`merkle::Frontier`] a store extends on append.
//! - [`note`]: C2SP signed notes with Ed25519 and the verifier-key format
//!   `<name>+<hex key id>+<base64(0x01 ‖ key)>`.
//! - [`checkpoint`]: C2SP `tlog-checkpoint` bodies.
//! - [`receipt`]: C2SP `tlog-proof@v1` documents, produced and verified offline.
//! - [`verify`]: whole-log verification that names the first bad entry or node.
//!
//! Storage is someone else's job: stores hand this crate bytes and hashes
//! through small traits ([`merkle::NodeReader`]) and keep what it computes.

pub mod checkpoint;
pub mod hash;
pub mod jcs;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod tiles;
pub mod verify;

pub use hash::Hash;
