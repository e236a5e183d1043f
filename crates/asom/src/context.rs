//! Opening an asom directory: the embedded store, the tenant's log keys, and
//! the principal behind `ASOM_TOKEN`.
//!
//! Layout of the directory (default `./.asom`, `--dir` or `ASOM_DIR`):
//!
//! ```text
//! .asom/
//!   asom.db                      the SQLite store (WAL mode: asom.db-wal, asom.db-shm beside it)
//!   keys/<tenant>.<key id>.key   a tenant's Ed25519 log key, signed-note private-key format, mode 0600
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use asom_ledger::note::NoteSigner;
use asom_server::api::{Acting, OpContext, Operation, Policies};
use asom_store::{Store, StoreError};
use asom_store_sqlite::SqliteStore;

use time::OffsetDateTime;

use crate::exit::CliError;

/// File name of the embedded database inside the asom directory.
pub const DB_FILE: &str = "asom.db";
/// Folder of log keys inside the asom directory.
pub const KEYS_DIR: &str = "keys";

/// Where the store is (STYLE.md rule 3: chosen once, from its URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// The embedded SQLite database at this path.
    Sqlite(PathBuf),
    /// A PostgreSQL database (the URL holds the password: never print it).
    Postgres(String),
}

impl StoreUrl {
    /// The store `--store` (`ASOM_STORE`) names, or the embedded default in `dir`.
    pub fn resolve(dir: &Path, given: Option<&str>) -> Result<Self, CliError> {
        let Some(url) = given.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self::Sqlite(dir.join(DB_FILE)));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(CliError::usage(anyhow!(
            "--store (ASOM_STORE) must be postgres://user:password@host:port/database or sqlite:PATH; \
             the value given is neither"
        )))
    }

    /// Opens (or creates) the store, with the pinned clock if there is one.
    pub fn open(
        &self,
        pinned: Option<OffsetDateTime>,
    ) -> asom_store::Result<Arc<dyn Store + Send + Sync>> {
        Ok(match self {
            Self::Sqlite(path) => Arc::new(open_store(path, pinned)?),
            Self::Postgres(url) => Arc::new(match pinned {
                Some(at) => {
                    let text = store_time(at);
                    asom_store_postgres::PostgresStore::open_with_clock(
                        url,
                        Arc::new(move || text.clone()),
                    )?
                }
                None => asom_store_postgres::PostgresStore::open(url)?,
            }),
        })
    }
}

/// An opened asom directory.
pub struct Embedded {
    pub dir: PathBuf,
    pub store: Arc<dyn Store + Send + Sync>,
    pub tenant: String,
    /// The time `ASOM_NOW` pins the clock to, if it does.
    pub pinned: Option<OffsetDateTime>,
    /// The tenant's configuration (outside systems).
    pub config: crate::config::Config,
}

impl Embedded {
    /// Opens an initialised directory and its store; both must exist.
    pub fn open(dir: &Path, tenant: &str, store_url: Option<&str>) -> Result<Self, CliError> {
        let url = StoreUrl::resolve(dir, store_url)?;
        if let StoreUrl::Sqlite(db) = &url
            && !db.is_file()
        {
            let at = if *db == dir.join(DB_FILE) {
                dir.display()
            } else {
                db.display()
            };
            return Err(CliError::usage(anyhow!(
                "no asom store at {at}; run `asom init` first, or point --dir (ASOM_DIR) at an existing asom directory"
            )));
        }
        let pinned = pinned_clock()?;
        let store = url
            .open(pinned)
            .map_err(|e| CliError::usage(anyhow!(e).context("opening the store")))?;
        let tenants = store.tenants().map_err(|e| CliError::usage(anyhow!(e)))?;
        if tenants.is_empty() {
            return Err(CliError::usage(anyhow!(
                "the store {} has no tenant: it was not set up by `asom init`; run `asom init`",
                store.describe()
            )));
        }
        let this = Self {
            dir: dir.to_path_buf(),
            store,
            tenant: tenant.to_owned(),
            pinned,
            config: crate::config::Config::default(),
        };
        this.store.tenant(tenant).map_err(|e| match e {
            StoreError::NotFound { .. } => CliError::usage(anyhow!(
                "tenant {tenant:?} does not exist in {}; pass --tenant (ASOM_TENANT) with one of: {}",
                dir.display(),
                this.store.tenants().map(|t| t.iter().map(|t| t.slug.clone()).collect::<Vec<_>>().join(", ")).unwrap_or_default()
            )),
            e => CliError::usage(anyhow!(e)),
        })?;
        this.load_signers()?;
        Ok(this)
    }

    /// Registers every key file of the tenant whose key is active in the store.
    fn load_signers(&self) -> Result<(), CliError> {
        let keys_dir = self.dir.join(KEYS_DIR);
        let Ok(listing) = fs::read_dir(&keys_dir) else {
            return Ok(()); // Reading works without keys; appends will say what is missing.
        };
        let prefix = format!("{}.", self.tenant);
        for item in listing.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let is_key = Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("key"));
            if !(name.starts_with(&prefix) && is_key) {
                continue;
            }
            let signer = read_key_file(&item.path())?;
            if let Err(e) = self.store.register_signer(&self.tenant, Arc::new(signer)) {
                tracing::debug!(file = %name, error = %e, "key file not used");
            }
        }
        Ok(())
    }

    /// The governance service on this store and tenant.
    pub fn governance(&self) -> asom_governance::Governance<'_> {
        OutsideSystems::of(&self.config).attach(self.base_governance())
    }

    fn base_governance(&self) -> asom_governance::Governance<'_> {
        match self.pinned {
            Some(at) => asom_governance::Governance::with_clock(
                self.store.as_ref(),
                &self.tenant,
                Arc::new(move || at),
            ),
            None => asom_governance::Governance::new(self.store.as_ref(), &self.tenant),
        }
    }

    /// Checks `ASOM_TOKEN` and returns who is acting: the same check
    /// `asom serve` makes of a bearer token ([`asom_server::api::authenticate`]).
    pub fn authenticate(&self) -> Result<Acting, CliError> {
        let raw = token_from_env()?;
        asom_server::api::authenticate(self.store.as_ref(), &self.tenant, &raw).map_err(|e| {
            CliError::usage(anyhow!(
                "ASOM_TOKEN: {e} (store in {}, tenant {:?}; pass --tenant for another tenant)",
                self.dir.display(),
                self.tenant
            ))
        })
    }

    /// Runs an operation in process, exactly as `asom serve` runs it for a
    /// client: an operation that changes the ledger acts as `ASOM_TOKEN`.
    pub fn run<O: Operation>(&self, op: O, policies: &Policies) -> Result<O::Output, CliError> {
        let acting = if O::MUTATES {
            Some(self.authenticate()?)
        } else {
            None
        };
        let ctx = OpContext::new(self.governance(), &self.tenant, acting.as_ref(), policies);
        op.run(&ctx).map_err(CliError::from)
    }
}

/// `ASOM_TOKEN`, or the error that says how to get one.
pub fn token_from_env() -> Result<String, CliError> {
    std::env::var("ASOM_TOKEN").map_err(|_| {
        CliError::usage(anyhow!(
            "this command changes the ledger, so it must act as a principal: set ASOM_TOKEN to a token \
             (`asom init` printed the first admin token)"
        ))
    })
}

/// A tenant's outside systems, connected once (a server keeps them).
#[derive(Clone)]
pub struct OutsideSystems {
    change: Option<Arc<dyn asom_core::crq::ChangeSystem + Send + Sync>>,
    planning: Option<Arc<dyn asom_governance::stories::PlanningSystem + Send + Sync>>,
}

impl OutsideSystems {
    /// The systems `config` names. A connection that cannot be set up still
    /// stands in, failing every read with the reason, so gates block and say why.
    pub fn of(config: &crate::config::Config) -> Self {
        let change: Option<Arc<dyn asom_core::crq::ChangeSystem + Send + Sync>> =
            match config.servicenow() {
                Ok(Some(sn)) => Some(sn),
                Ok(None) => None,
                Err(e) => Some(Arc::new(crate::config::Unconfigured {
                    provider: config.change_provider().to_owned(),
                    reason: format!("{:#}", e.error),
                })),
            };
        let planning: Option<Arc<dyn asom_governance::stories::PlanningSystem + Send + Sync>> =
            match config.jira() {
                Ok(Some(j)) => Some(j),
                Ok(None) => None,
                Err(e) => Some(Arc::new(crate::config::Unconfigured {
                    provider: config.planning_provider().to_owned(),
                    reason: format!("{:#}", e.error),
                })),
            };
        Self { change, planning }
    }

    /// `gov` with these systems attached.
    pub fn attach<'s>(
        &self,
        gov: asom_governance::Governance<'s>,
    ) -> asom_governance::Governance<'s> {
        let gov = match &self.change {
            Some(c) => gov.with_change_system(Arc::clone(c)),
            None => gov,
        };
        match &self.planning {
            Some(p) => gov.with_planning(Arc::clone(p)),
            None => gov,
        }
    }
}

/// Reads a log key file, refusing one that others can read.
pub fn read_key_file(path: &Path) -> Result<NoteSigner, CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(path).map_or(0, |m| m.permissions().mode());
        if mode & 0o077 != 0 {
            return Err(CliError::usage(anyhow!(
                "log key file {} can be read by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading log key {}", path.display()))
        .map_err(CliError::usage)?;
    NoteSigner::from_private_key_string(text.trim()).map_err(|e| {
        CliError::usage(anyhow!(
            "log key {} is not a valid signed-note private key: {e}",
            path.display()
        ))
    })
}

/// Writes a new log key file with mode 0600; never overwrites.
pub fn write_key_file(path: &Path, signer: &NoteSigner) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating log key file {}", path.display()))?;
    let mut text = signer.to_private_key_string();
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// 32 bytes from the operating system's random source.
pub fn random_bytes() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow!("the operating system's random source failed: {e}"))?;
    Ok(bytes)
}

/// Now, as RFC 3339 UTC with milliseconds (`ASOM_NOW` when it pins the clock).
pub fn now() -> String {
    match read_pinned() {
        Ok(Some(at)) => store_time(at),
        _ => (asom_store_sqlite::system_clock())(),
    }
}

/// The time `ASOM_NOW` pins the clock to (RFC 3339), if set.
///
/// Pinning the clock makes two runs of the same commands produce the same
/// entries, decisions and `--stable-json` output: for reproducible demos,
/// tests and CI diffs. Every entry and decision then records that time, so
/// asom says so on standard error each time; a server never reads it.
pub fn pinned_clock() -> Result<Option<OffsetDateTime>, CliError> {
    let pinned = read_pinned()?;
    if let Some(at) = pinned {
        crate::printer::note(&format!(
            "note: ASOM_NOW pins the clock at {}; every entry and decision records that time",
            store_time(at)
        ));
    }
    Ok(pinned)
}

fn read_pinned() -> Result<Option<OffsetDateTime>, CliError> {
    let Some(raw) = std::env::var_os("ASOM_NOW") else {
        return Ok(None);
    };
    let text = raw.to_string_lossy();
    if text.trim().is_empty() {
        return Ok(None);
    }
    let at = OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
            CliError::usage(anyhow!(
                "ASOM_NOW={text:?} is not an RFC 3339 time (e.g. 2026-11-21T09:00:00Z): {e}"
            ))
        })?
        .to_offset(time::UtcOffset::UTC);
    let at = at
        .replace_nanosecond(at.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(at);
    Ok(Some(at))
}

/// The store's time format: UTC, milliseconds, `Z`.
fn store_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.format(&format).unwrap_or_default()
}

/// Opens (or creates) the SQLite store with the system clock, or the pinned one.
pub fn open_store(db: &Path, pinned: Option<OffsetDateTime>) -> asom_store::Result<SqliteStore> {
    match pinned {
        Some(at) => {
            let text = store_time(at);
            SqliteStore::open_with_clock(db, Arc::new(move || text.clone()))
        }
        None => SqliteStore::open(db),
    }
}
