//! asom's gate evaluation: versioned policy packs (data + Rego) evaluated with
//! [regorus](https://github.com/microsoft/regorus).
//!
//! A **policy pack** ([`Pack`]) is a directory of files:
//!
//! | file | what it holds |
//! |---|---|
//! | `pack.json` | the manifest: `schema` (`asom.policy-pack.v1`), `name`, `version`, `description`, `needs_raw_evidence` |
//! | `*.rego` | Rego v1 modules; each gate `Gn` is the rule `data.asom.gates.gn.violations` |
//! | `*_test.rego` | Rego unit tests (`test_*` rules), run by [`Pack::run_rego_tests`], never loaded to evaluate a gate |
//! | `catalog.json` | optional: a replacement control catalog (`asom.catalog.v1`); default: the built-in one of `asom-core` |
//! | `catalog-overlay.json` | optional: an overlay applied to the catalog (`asom.catalog-overlay.v1`) |
//! | `data.json` | optional: an organisation's own data for its rules, at `data.asom.extra` |
//!
//! The built-in pack ([`Pack::default_pack`]) lives in `packs/default/` and is
//! embedded in the binary; it implements DESIGN.md §3's gate table over the
//! built-in catalog (`asom_core::catalog::Catalog::builtin`, not a copy).
//! Rego sees the catalog at `data.asom.catalog`, the same catalog indexed
//! for lookups at `data.asom.index` (see [`Pack::data`]), the pack's name and
//! version at `data.asom.pack`, and `data.json` at `data.asom.extra`.
//!
//! The pack's [`Pack::digest`] is the SHA-256 of the RFC 8785 canonical JSON
//! of `{"manifest", "data", "modules"}` (modules as `[{"name", "rego"}]` sorted
//! by name, `data` exactly as loaded into the engine), so every byte that can
//! change a decision is covered.
//!
//! An [`Evaluator`] holds a regorus engine with the pack's modules and data
//! loaded and prepared once; [`Evaluator::evaluate`] clones it per call and
//! evaluates the gate the input names. The input is the compact view asom
//! builds from its ledger (see [`input`] for the contract); the output is the
//! sorted list of [`Violation`]s, empty when the gate passes.
//!
//! What this crate guarantees whatever the pack says:
//!
//! - a missing or corrupt pack, a Rego error, a missing gate rule or a rule
//!   that produces a malformed violation is a [`PolicyError`], never a pass;
//! - a pack that passes an empty input at any gate is refused when loaded;
//! - separation-of-duties violations (C-02) that asom computed are reported at
//!   G3 and G4 even if a pack leaves them out;
//! - the same input and pack give byte-identical output.
//!
//! What it must not do: read the ledger, decide the gate's result (pass,
//! block, would-block, override: see [`override_covers`] for the override
//! part), or print.

pub mod evaluator;
pub mod gate_policy;
pub mod input;
pub mod pack;
pub mod rego_tests;

pub use evaluator::{Evaluator, Violation, override_covers};
pub use gate_policy::RegoPolicy;
pub use pack::Pack;
pub use rego_tests::RegoTestReport;

/// What went wrong loading a pack or evaluating a gate. Every variant is a
/// refusal: no caller may treat it as a pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A pack file could not be read.
    #[error("cannot read policy pack file {path}: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// `pack.json` is missing or wrong.
    #[error("policy pack manifest (pack.json) is not valid: {0}")]
    Manifest(String),
    /// The pack's data (catalog, overlay, `data.json`) is refused.
    #[error("policy pack data is not valid: {0}")]
    Data(String),
    /// A Rego module does not parse or compile.
    #[error("policy pack module {module} does not compile: {message}")]
    Rego {
        /// The module's file name.
        module: String,
        /// regorus's message, with the line and column.
        message: String,
    },
    /// A gate has no rule in the pack.
    #[error(
        "policy pack {pack} has no rule for {gate}: a pack must define data.asom.gates.{lower}.violations (a set of violations; empty means pass)",
        lower = gate.to_ascii_lowercase()
    )]
    MissingGate {
        /// The pack's name.
        pack: String,
        /// The gate.
        gate: String,
    },
    /// The pack let an empty input through, so it is not fail-safe.
    #[error(
        "policy pack {pack} passes an empty input at {gate}: a pack must block when facts are missing (write rules as `not <passes>`)"
    )]
    NotFailSafe {
        /// The pack's name.
        pack: String,
        /// The gate.
        gate: String,
    },
    /// Evaluating a gate failed inside Rego.
    #[error("evaluating {gate} failed: {message}")]
    Evaluation {
        /// The gate.
        gate: String,
        /// regorus's message.
        message: String,
    },
    /// A gate rule produced something that is not a list of violations.
    #[error("the pack's {gate} rule produced a malformed violation: {message}")]
    MalformedViolation {
        /// The gate.
        gate: String,
        /// What is wrong, with the offending value.
        message: String,
    },
    /// The input document is not the shape the gate contract requires.
    #[error("the gate input is not valid: {0}")]
    Input(String),
}

/// This crate's result type.
pub type Result<T, E = PolicyError> = std::result::Result<T, E>;

/// Turns off backtrace capture for library errors (`RUST_LIB_BACKTRACE=0`)
/// unless the caller chose: call it first thing in `main`.
///
/// regorus raises and handles `anyhow` errors inside an evaluation, and
/// `anyhow` captures a backtrace for each whenever `RUST_BACKTRACE` is set,
/// which doubles the time of a gate decision for a backtrace nobody sees.
/// The variable must be set before the first capture, and setting it in the
/// running process is `unsafe` (the workspace forbids it), so on Unix the
/// process re-executes itself once with it set, keeping its arguments,
/// standard streams and process id. Panics still honour `RUST_BACKTRACE`.
/// Elsewhere, or if the re-execution fails, nothing changes.
pub fn quiet_library_backtraces() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let asked = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
        if asked
            && std::env::var_os("RUST_LIB_BACKTRACE").is_none()
            && let Ok(exe) = std::env::current_exe()
        {
            // `exec` returns only when it failed; then carry on as we are.
            let _ = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("RUST_LIB_BACKTRACE", "0")
                .exec();
        }
    }
}
