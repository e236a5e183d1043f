//! asom's governance domain, as pure code: no files, no sockets, no clocks.
//!
//! Who may do what ([`principal`]), who is the same person under several names
//! ([`identity`]), what must be proven ([`catalog`]), how a change request moves
//! ([`crq`]), what counts as evidence ([`evidence`], [`dsse`], [`junit`]), and the
//! separation-of-duties rules no configuration can switch off ([`sod`]).
//!
//! This crate must not do I/O: callers pass in time, randomness and stored
//! state, so every rule here is a function that tests can pin down.

pub mod catalog;
pub mod crq;
pub mod dsse;
pub mod evidence;
pub mod identity;
pub mod junit;
pub mod names;
pub mod principal;
pub mod release;
pub mod sod;
