//! The command line, as clap definitions only; the logic is in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// asom decides whether a change may move on, from evidence in a
/// tamper-evident ledger, human approvals, and separation of duties.
#[derive(Debug, Parser)]
#[command(name = "asom", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The asom directory holding the embedded store and the log keys.
    #[arg(
        long,
        global = true,
        env = "ASOM_DIR",
        default_value = ".asom",
        help_heading = "Global options"
    )]
    pub dir: PathBuf,
    /// The tenant to act on.
    #[arg(
        long,
        global = true,
        env = "ASOM_TENANT",
        default_value = "default",
        help_heading = "Global options"
    )]
    pub tenant: String,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text, help_heading = "Global options")]
    pub format: Format,
    /// Byte-identical JSON for identical inputs (sorted keys, no timings, no
    /// absolute paths). Implies --format json.
    #[arg(long, global = true, help_heading = "Global options")]
    pub stable_json: bool,
    /// Write the output to this file instead of standard output.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Global options"
    )]
    pub out: Option<PathBuf>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For programs.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an asom directory: the embedded store, a tenant, its log key and a first admin token.
    Init(InitArgs),
    /// Read, prove and verify the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The log's origin (its name in checkpoints). Default: asom.local/<random id>/<tenant>.
    #[arg(long)]
    pub origin: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Append a JSON document (from FILE, or standard input) as the principal of `ASOM_TOKEN`; prints its receipt.
    Append(AppendArgs),
    /// Print an entry exactly as stored (its canonical JSON bytes, no trailing newline).
    Get(EntryRefArgs),
    /// Print the latest signed checkpoint.
    Checkpoint,
    /// Print the tlog-proof (C2SP tlog-proof@v1) receipt of an entry.
    Proof(ProofArgs),
    /// Print the consistency proof between two tree sizes, base64, one hash a line.
    Consistency(ConsistencyArgs),
    /// Verify the whole log, or one receipt offline.
    Verify(VerifyArgs),
    /// Print the log's verifier key(s), in signed-note format.
    Pubkey(PubkeyArgs),
}

#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The JSON document to append; `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
    /// The entry kind.
    #[arg(long, default_value = "record")]
    pub kind: String,
    /// The input is JSON Lines: one document per line, appended as one batch.
    #[arg(long)]
    pub jsonl: bool,
}

#[derive(Debug, Args)]
pub struct EntryRefArgs {
    /// An entry index, an entry id (64 hex digits), or a content id.
    pub entry: String,
}

#[derive(Debug, Args)]
pub struct ProofArgs {
    /// An entry index, an entry id (64 hex digits), or a content id.
    pub entry: String,
    /// Prove against the signed checkpoint of this size (default: the latest).
    #[arg(long)]
    pub size: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ConsistencyArgs {
    /// The earlier tree size.
    pub size1: u64,
    /// The later tree size.
    pub size2: u64,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A receipt (tlog-proof) to verify offline, with --entry.
    #[arg(long, requires = "entry", value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    /// The entry bytes the receipt proves (as printed by `asom ledger get`).
    #[arg(long, requires = "receipt", value_name = "FILE")]
    pub entry: Option<PathBuf>,
    /// The verifier key to trust (note format); default: the tenant's keys in the store.
    #[arg(long, value_name = "VERIFIER_KEY", env = "ASOM_VERIFIER_KEY")]
    pub key: Option<String>,
}

#[derive(Debug, Args)]
pub struct PubkeyArgs {
    /// Also print keys rotated out, which still verify old checkpoints.
    #[arg(long)]
    pub all: bool,
}
