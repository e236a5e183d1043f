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
    /// The store: `postgres://user:password@host:port/db` for PostgreSQL
    /// (several servers may share one), or `sqlite:PATH`. Default: the
    /// embedded SQLite database in the asom directory. The asom directory
    /// still holds the log keys and the configuration either way.
    #[arg(
        long,
        global = true,
        env = "ASOM_STORE",
        value_name = "URL",
        hide_env_values = true,
        help_heading = "Global options"
    )]
    pub store: Option<String>,
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
    /// The configuration file (default: asom.toml in the asom directory).
    #[arg(
        long,
        global = true,
        env = "ASOM_CONFIG",
        value_name = "FILE",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// Run the command on an asom server (`asom serve`) instead of the
    /// embedded store, acting as `ASOM_TOKEN`. Commands that work this way:
    /// evidence record, gate check, gate replay, promote, whoami.
    #[arg(
        long,
        global = true,
        env = "ASOM_SERVER",
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub server: Option<String>,
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
    /// For pull-request comments and wikis (gate decisions, promotions, audits).
    Markdown,
    /// One self-contained page (audit reports).
    Html,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an asom directory: the embedded store, a tenant, its log key and a first admin token.
    Init(InitArgs),
    /// Read, prove and verify the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Products: the pipelines and services under governance.
    #[command(subcommand)]
    Product(ProductCommand),
    /// Principals: the humans, agents and machines that act.
    #[command(subcommand)]
    Principal(PrincipalCommand),
    /// Bearer tokens of principals.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The identity directory: aliases that name one person.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Changes: commits with their authors, reviewers and Jira keys.
    #[command(subcommand)]
    Change(ChangeCommand),
    /// Releases: a product version, its scope, its changes and its one CRQ.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Change requests in asom's built-in change system.
    #[command(subcommand)]
    Crq(CrqCommand),
    /// Evidence: what CI proved, recorded by machine principals.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Gates G1-G4: check a release, replay a decision, set a gate's mode.
    #[command(subcommand)]
    Gate(GateCommand),
    /// Stories and their acceptance criteria (the built-in planning system; G1 reads them).
    #[command(subcommand)]
    Story(StoryCommand),
    /// C-11 emergency overrides of G3 and G4.
    #[command(subcommand)]
    Override(OverrideCommand),
    /// N/A exceptions: a control marked not applicable for one release.
    #[command(subcommand)]
    Exception(ExceptionCommand),
    /// Promote a release to QA or PROD as the deploying machine (exit 1 when its gate blocks).
    ///
    /// Decides G3 (QA) or G4 (PROD) afresh, with the deployer in the
    /// separation-of-duties check, and records the promotion only on a pass or
    /// an active emergency override in enforce mode. Exit 0: promoted; 1: the
    /// gate blocks; 2: usage or input error.
    Promote(PromoteArgs),
    /// The audit walkthrough of a release: CRQ, scope, entries, coverage,
    /// evidence, approvals, separation of duties, decisions, overrides.
    Audit(AuditArgs),
    /// Serve the ledger over HTTP: checkpoint, C2SP tlog-tiles, receipts, consistency proofs.
    Serve(ServeArgs),
    /// Check the configuration, the store, the keys, the token and the outside systems.
    Doctor,
    /// Show who `ASOM_TOKEN` acts as: tenant, principal, kind, roles.
    Whoami,
    /// The configuration: print a documented default file, or what is in effect.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Verify the whole log and, with --artifacts, re-hash the evidence artifacts asom can reach.
    Verify(TopVerifyArgs),
    /// Export a release as an evidence bundle that verifies offline (--out FILE.tar.gz).
    Export(ExportArgs),
    /// Check an evidence bundle with no store: proofs, signature, every file.
    VerifyBundle(VerifyBundleArgs),
    /// Run the worked example end to end on a fresh store, explaining each step.
    ///
    /// G1 and G2 pass, G3 blocks and then passes after remediation, G4 passes,
    /// the release reaches PROD, and every decision replays.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a documented default asom.toml.
    Default,
    /// Print the configuration in effect for the tenant (secrets are named, never shown).
    Show,
}

#[derive(Debug, Subcommand)]
pub enum StoryCommand {
    /// Read stories from the configured planning system (Jira) and record them.
    Sync {
        /// Jira keys.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Record a story's summary and acceptance criteria (humans with a
    /// delivery role, or the planning-system connector; never an agent).
    Record {
        /// The Jira key, e.g. SALES-101.
        key: String,
        /// The story's summary.
        #[arg(long)]
        summary: String,
        /// The epic it belongs to.
        #[arg(long)]
        epic: Option<String>,
        /// One acceptance criterion (repeat for each).
        #[arg(long = "acceptance-criterion", value_name = "TEXT")]
        criteria: Vec<String>,
    },
    /// Show a story.
    Show {
        /// The Jira key.
        key: String,
    },
    /// List the stories.
    List,
}

#[derive(Debug, Subcommand)]
pub enum OverrideCommand {
    /// Request an emergency override of G3 or G4 (G1 and G2 can never be overridden).
    Request {
        /// The release.
        #[arg(long)]
        release: String,
        /// G3 or G4.
        #[arg(long)]
        gate: String,
        /// The release's emergency CRQ.
        #[arg(long)]
        crq: String,
        /// Why the release cannot wait for its evidence.
        #[arg(long)]
        justification: String,
        /// A control whose evidence is deferred (repeat or comma-separate).
        #[arg(
            long = "defer",
            value_name = "CONTROL",
            value_delimiter = ',',
            required = true
        )]
        deferred: Vec<String>,
        /// A compensating control in force meanwhile (repeat for each).
        #[arg(long, value_name = "TEXT", required = true)]
        compensating: Vec<String>,
        /// The remediation deadline, RFC 3339 or YYYY-MM-DD (end of that day,
        /// UTC). Default: five business days from now; at most 30 days.
        #[arg(long)]
        deadline: Option<String>,
    },
    /// Approve a requested override (an emergency approver who is not the
    /// requester, not an approver of the CRQ and not an author of the release).
    Approve {
        /// The override's id (or its first 8+ hex digits).
        id: String,
    },
    /// Close an override once the deferred evidence is recorded (refused while any is missing).
    Remediate {
        /// The override's id (or its first 8+ hex digits).
        id: String,
    },
    /// List overrides, with their status, deadline and the team's quarterly count.
    List {
        /// Only this release's.
        #[arg(long)]
        release: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExceptionCommand {
    /// Request an N/A for a control proven by evidence, for one release.
    Request {
        /// The release.
        #[arg(long)]
        release: String,
        /// The control, e.g. C-09.
        #[arg(long)]
        control: String,
        /// Why the control does not apply to this release.
        #[arg(long)]
        justification: String,
    },
    /// Approve a requested N/A (a human with the governance role who did not request it).
    Approve {
        /// The exception's id (or its first 8+ hex digits).
        id: String,
    },
    /// List N/A exceptions with counts per control.
    List {
        /// Only this release's.
        #[arg(long)]
        release: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The release.
    #[arg(long)]
    pub release: String,
    /// QA (checks G3) or PROD (checks G4).
    #[arg(long, value_name = "QA|PROD")]
    pub to: String,
    /// An organisation's policy pack directory (default: the built-in pack).
    #[arg(long, value_name = "DIR", env = "ASOM_POLICY_PACK")]
    pub pack: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The release, product@version.
    pub release: String,
    /// The policy pack decisions replay with (default: the built-in pack).
    #[arg(long, value_name = "DIR", env = "ASOM_POLICY_PACK")]
    pub pack: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TopVerifyArgs {
    /// Also re-hash every evidence artifact asom can reach (file: paths,
    /// http(s): URLs) and report drift per entry.
    #[arg(long)]
    pub artifacts: bool,
    /// Only the artifacts of this release.
    #[arg(long, requires = "artifacts")]
    pub release: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "ASOM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The policy pack directory gates are decided with (default: the built-in pack).
    #[arg(long, value_name = "DIR")]
    pub pack: Option<PathBuf>,
    /// The largest request body accepted, in bytes.
    #[arg(long, env = "ASOM_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds an operation may take before the client is told to retry.
    #[arg(
        long,
        env = "ASOM_REQUEST_TIMEOUT",
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub request_timeout: u64,
    /// Serve entry bundles to anyone (a public mirror); by default only the
    /// tenant's tokens read them. Checkpoints, hash tiles, receipts and
    /// consistency proofs are always public: they hold only hashes.
    #[arg(long)]
    pub public_entries: bool,
}

#[derive(Debug, Args)]
pub struct TilesArgs {
    /// The directory to write the tiles into (created when missing).
    #[arg(value_name = "TILES_DIR")]
    pub tiles_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyTilesArgs {
    /// The tlog-tiles directory.
    pub dir: PathBuf,
    /// The log's verifier key, obtained independently.
    #[arg(long, value_name = "VKEY")]
    pub key: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The release, product@version.
    pub release: String,
    /// The policy pack to ship (default: the built-in pack).
    #[arg(long, value_name = "DIR", env = "ASOM_POLICY_PACK")]
    pub pack: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The bundle, as written by `asom export`.
    pub bundle: PathBuf,
    /// The log's verifier key, obtained independently (default: the key the
    /// bundle carries, with a warning: that proves consistency, not origin).
    #[arg(long, value_name = "VKEY")]
    pub key: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to create the demo's asom directory (must not exist). Default: a
    /// new temporary directory, removed at the end unless --keep.
    #[arg(long, value_name = "DIR")]
    pub at: Option<PathBuf>,
    /// Start `asom serve` on the demo's store and send every step to it with
    /// --server (all but init, ledger and verify-bundle), as a team running
    /// asom as a shared service does.
    #[arg(long = "via-server")]
    pub via_server: bool,
    /// Keep the demo's directory to explore it afterwards with --dir.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Evaluate a gate for a release and record the decision. Exit 0: pass (or
    /// would-block in observe mode); 1: block; 2: usage or input error.
    Check {
        /// G1 (PR merge), G2 (release candidate), G3 (promote to QA), G4 (promote to PROD).
        gate: String,
        /// The release.
        #[arg(long)]
        release: String,
        /// The change, for G1.
        #[arg(long)]
        commit: Option<String>,
        /// An organisation's policy pack directory (default: the built-in pack).
        #[arg(long, value_name = "DIR", env = "ASOM_POLICY_PACK")]
        pack: Option<PathBuf>,
    },
    /// Rebuild a decision's input from the ledger at its log size, evaluate the
    /// same pack, and compare byte for byte.
    Replay {
        /// The decision's ledger entry index.
        decision: u64,
        /// The policy pack directory the decision was made with (default: built-in).
        #[arg(long, value_name = "DIR", env = "ASOM_POLICY_PACK")]
        pack: Option<PathBuf>,
    },
    /// Set a gate's mode for a product: observe (record, never block) or enforce.
    Mode {
        /// The gate.
        gate: String,
        /// The product.
        #[arg(long)]
        product: String,
        /// observe or enforce.
        mode: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Create a product.
    Create(ProductCreateArgs),
    /// Show a product.
    Show {
        /// The product's slug.
        slug: String,
    },
    /// List the products.
    List,
}

#[derive(Debug, Args)]
pub struct ProductCreateArgs {
    /// The product's slug, e.g. `sales-transactions`.
    pub slug: String,
    /// The owning team's slug.
    #[arg(long)]
    pub team: String,
    /// Data classification: public, internal, confidential, restricted.
    #[arg(long)]
    pub classification: String,
    /// What its releases change: new-pipeline, incremental-change, access-change,
    /// performance-change, dq-rule-change, prod-only-configuration.
    #[arg(long)]
    pub change_type: String,
    /// Cost or performance is material (adds T7 and C-10 at G4).
    #[arg(long)]
    pub material: bool,
    /// A display name.
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PrincipalCommand {
    /// Create a principal.
    Create(PrincipalCreateArgs),
    /// List the principals.
    List,
    /// Register a machine principal's Ed25519 key for DSSE-signed evidence.
    Key(PrincipalKeyArgs),
}

#[derive(Debug, Args)]
pub struct PrincipalCreateArgs {
    /// The principal's slug, e.g. `alice` or `ci-bot`.
    pub slug: String,
    /// human, agent or machine.
    #[arg(long)]
    pub kind: String,
    /// A role of a human (repeatable): developer, qa, release-approver, governance,
    /// change-manager, emergency-approver, admin.
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// The kind of an agent: ba, dev, qa, governance, scrum.
    #[arg(long)]
    pub agent_kind: Option<String>,
    /// A display name.
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct PrincipalKeyArgs {
    /// The machine principal.
    pub slug: String,
    /// The key id DSSE signatures name (`keyid`).
    #[arg(long)]
    pub key_id: String,
    /// The Ed25519 public key, standard base64 of 32 bytes.
    #[arg(long)]
    pub public_key: String,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a principal; the secret is printed once.
    Create {
        /// The principal the token acts as.
        principal: String,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id (`tok_…`).
        id: String,
    },
    /// List tokens (ids and owners; never secrets).
    List,
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Map an alias (a name, an email, a git identity) to a person.
    Alias {
        /// The alias, e.g. `alice@corp.example` or `Alice <alice@corp.example>`.
        alias: String,
        /// The person's canonical slug (usually their principal).
        #[arg(long)]
        person: String,
    },
    /// List the aliases.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ChangeCommand {
    /// Record a change from flags, or every commit of a git range.
    Record(ChangeRecordArgs),
    /// Show a recorded change.
    Show {
        /// The commit SHA.
        commit: String,
    },
}

#[derive(Debug, Args)]
pub struct ChangeRecordArgs {
    /// The product the change belongs to.
    #[arg(long)]
    pub product: String,
    /// The commit SHA (40 or 64 hex digits).
    #[arg(
        long,
        conflicts_with = "from_git",
        required_unless_present = "from_git"
    )]
    pub commit: Option<String>,
    /// An author (repeatable): a principal, an email, or `Name <email>`.
    #[arg(long = "author")]
    pub authors: Vec<String>,
    /// A reviewer (repeatable).
    #[arg(long = "reviewer")]
    pub reviewers: Vec<String>,
    /// A Jira key (repeatable).
    #[arg(long = "jira")]
    pub jira: Vec<String>,
    /// A one-line summary.
    #[arg(long)]
    pub summary: Option<String>,
    /// Record every commit of this git range (`A..B`) of the repository instead.
    #[arg(long, value_name = "RANGE")]
    pub from_git: Option<String>,
    /// The repository for --from-git.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Create a release `product@version`.
    Create {
        /// The release, e.g. `sales-transactions@1.4.0`.
        release: String,
    },
    /// Add Jira keys to a release's scope and recorded changes to it.
    Scope {
        /// The release.
        release: String,
        /// A Jira key of the scope (repeatable).
        #[arg(long = "jira")]
        jira: Vec<String>,
        /// A recorded commit to include (repeatable).
        #[arg(long = "commit")]
        commits: Vec<String>,
    },
    /// Show a release: scope, changes, CRQ, evidence and separation of duties.
    Show {
        /// The release.
        release: String,
    },
    /// List the releases.
    List,
    /// Record the governance verification of a release (governance role; G4 needs it).
    Verify {
        /// The release.
        release: String,
        /// A note.
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CrqCommand {
    /// Create the CRQ of a release (exactly one per release).
    Create {
        /// The release it governs.
        #[arg(long)]
        release: String,
        /// normal, standard or emergency.
        #[arg(long = "type", default_value = "normal")]
        crq_type: String,
        /// Its number (default: the next built-in number, CRQ0000001, …).
        #[arg(long)]
        number: Option<String>,
    },
    /// Link a release to its CRQ in the configured outside change system
    /// (ServiceNow), where people create and approve it; gates read it there.
    Link {
        /// The release it governs.
        #[arg(long)]
        release: String,
        /// The CRQ's number in the change system, e.g. CHG0031234.
        #[arg(long)]
        number: String,
    },
    /// Move a CRQ to another state.
    Transition {
        /// The CRQ number.
        number: String,
        /// The new state: new, assess, authorize, scheduled, implement, review, closed, canceled.
        state: String,
    },
    /// Approve a CRQ for QA or PROD.
    Approve(CrqDecisionArgs),
    /// Reject a CRQ for QA or PROD.
    Reject(CrqDecisionArgs),
    /// Show a CRQ with its history and approvals.
    Show {
        /// The CRQ number.
        number: String,
    },
    /// Set a CRQ's change window (G4 needs the window open).
    Window {
        /// The CRQ number.
        number: String,
        /// Start, RFC 3339 (e.g. 2026-11-21T22:00:00Z).
        #[arg(long)]
        start: String,
        /// End, RFC 3339.
        #[arg(long)]
        end: String,
    },
}

#[derive(Debug, Args)]
pub struct CrqDecisionArgs {
    /// The CRQ number.
    pub number: String,
    /// qa or prod.
    #[arg(long)]
    pub stage: String,
    /// A comment.
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Record evidence as the machine principal of `ASOM_TOKEN`.
    Record(Box<EvidenceRecordArgs>),
    /// List a release's evidence (counted or not, and why) or a commit's.
    List {
        /// The release.
        #[arg(long, conflicts_with = "commit", required_unless_present = "commit")]
        release: Option<String>,
        /// The commit.
        #[arg(long)]
        commit: Option<String>,
    },
    /// Show one evidence record (by entry index, entry id or evidence id).
    Show {
        /// The reference.
        evidence: String,
    },
}

#[derive(Debug, Args)]
pub struct EvidenceRecordArgs {
    /// A plain JSON evidence record (DESIGN.md §4 fields).
    #[arg(long, value_name = "FILE", group = "form")]
    pub json: Option<PathBuf>,
    /// An in-toto Statement v1 in a DSSE envelope, signed with a registered key.
    #[arg(long, value_name = "FILE", group = "form")]
    pub dsse: Option<PathBuf>,
    /// A JUnit XML report, summarised into a category result.
    #[arg(long, value_name = "FILE", group = "form")]
    pub junit: Option<PathBuf>,
    /// The release it belongs to (fills in its product, and its CRQ once it has one).
    #[arg(long)]
    pub release: Option<String>,
    /// The control it proves, e.g. C-06.
    #[arg(long)]
    pub control: Option<String>,
    /// The test category, e.g. T3.
    #[arg(long)]
    pub category: Option<String>,
    /// The commit it was produced for.
    #[arg(long)]
    pub commit: Option<String>,
    /// The CI build id.
    #[arg(long)]
    pub build: Option<String>,
    /// The environment, e.g. dev, qa, prod.
    #[arg(long)]
    pub environment: Option<String>,
    /// The CRQ it is bound to (default: the release's).
    #[arg(long)]
    pub crq: Option<String>,
    /// The artifact: its SHA-256 and size are computed from this file.
    #[arg(long, value_name = "ARTIFACT", conflicts_with = "sha256")]
    pub file: Option<PathBuf>,
    /// The artifact's SHA-256, when the file is not at hand.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Where the artifact lives (a URI); default: the --file path.
    #[arg(long)]
    pub source_ref: Option<String>,
    /// What kind of source it is, e.g. dq-report, rbac-export.
    #[arg(long)]
    pub source_type: Option<String>,
    /// pass, fail or info (DSSE generic predicates need it; JUnit derives it).
    #[arg(long)]
    pub status: Option<String>,
    /// Free text.
    #[arg(long)]
    pub notes: Option<String>,
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
    /// Write the log as a static C2SP tlog-tiles tree (checkpoint, tiles, entry bundles).
    Tiles(TilesArgs),
    /// Check a tlog-tiles tree with the verifier key alone: root and entries.
    VerifyTiles(VerifyTilesArgs),
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
