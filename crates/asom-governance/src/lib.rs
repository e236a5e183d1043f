//! asom's governance service: every command a user or CI runs against the
//! governance domain, and the queries that read its state back.
//!
//! The ledger is the source of truth. Each command checks the actor's
//! permission ([`asom_core::principal::Principal::authorize`]), validates
//! with `asom-core`, and appends one entry whose content is the new state of
//! what changed (a product, a release, a CRQ with its history, an evidence
//! record) and whose index keys name what it concerns (`release:sales@1.4.0`,
//! `crq:CRQ0000001`). State is read back by folding the entries under a key,
//! so the state at any earlier log size is available too (for replay).
//!
//! Uniqueness rules (one CRQ per release, a product slug once, an alias for
//! one person) are kept with append expectations: a command reads a key's
//! entries, decides, and appends expecting the key's count unchanged; a
//! concurrent writer that got there first makes the append fail with a
//! conflict, and the command reads again and decides again ([`Governance::retry`]).
//!
//! Entry kinds and their keys:
//!
//! | kind | content | keys |
//! |---|---|---|
//! | `principal` | `{action, principal}` | `principal:<slug>`, `principals` |
//! | `token` | `{action, token, principal, label}` (never the secret) | `token:<id>`, `principal:<slug>` |
//! | `identity` | `{action, alias, person}` | `alias:<alias>`, `identities` |
//! | `producer-key` | `{action, principal, key_id, public_key}` | `producer-key:<id>`, `producer-keys` |
//! | `product` | `{action, product}` | `product:<slug>`, `products` |
//! | `change` | `{change}` | `change:<sha>`, `changes:<product>` |
//! | `release` | `{action, release}` | `release:<id>`, `releases` |
//! | `crq` | `{action, crq, …}` | `crq:<number>`, `crq-of:<release>`, `release:<id>`, `crqs` |
//! | `evidence` | the evidence record | `evidence`, `commit:<sha>`, `evidence-of:<release>`, `ev:<summary>` |
//! | `verification` | `{release, crq, verified_at_log_size, note}` | `verification-of:<release>` |
//! | `story` | see [`stories`] | `story:<KEY>`, `stories` |
//! | `decision` | a [`gates::Decision`] | `decision:<release>:<gate>`, `decisions-of:<release>`, `decisions` |
//! | `gate-mode` | `{product, gate, mode}` | `gate-mode:<product>:<gate>`, `gate-modes` |
//! | `override`, `exception` | see [`waivers`] | `override:<id>`, `overrides-of:<release>`, … |
//! | `promotion` | see [`promotions`] | `promotion:<release>:<env>`, `promotions-of:<release>`, `promotions` |
//! | `crq-link` | `{action, release, number, provider}`: a CRQ in an outside change system | `crq-link:<number>`, `crq-of:<release>`, `release:<id>` |
//! | `observation` | a read from an outside system: `{system, what, key, sources, response_sha256, snapshot \| error, read_at}` | `observation:crq:<number>` or `story:<KEY>`, `observations` |
//! | `export` | an [`audit::ExportRecord`] | `exports-of:<release>`, `exports` |

use std::sync::Arc;

use asom_core::principal::{Action, Capability, Principal, Refusal};
use asom_store::{Appended, NewEntry, Store, StoreError, StoredEntry};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

pub mod audit;
pub mod evidence;
pub mod gates;
pub mod principals;
pub mod products;
pub mod promotions;
pub mod releases;
pub mod stories;
pub mod waivers;

/// Why a governance command did not happen.
#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    /// The actor may not do this (a rule, not a mistake): exit 1.
    #[error("{0}")]
    Refused(Box<Refusal>),
    /// A rule of the domain refuses the command as asked: exit 1.
    #[error("{0}")]
    Rule(String),
    /// The input is wrong: exit 2.
    #[error("{0}")]
    Invalid(String),
    /// Something named does not exist: exit 2.
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refusal> for GovernanceError {
    fn from(r: Refusal) -> Self {
        Self::Refused(Box::new(r))
    }
}

/// Result alias of the governance service.
pub type Result<T, E = GovernanceError> = std::result::Result<T, E>;

/// A source of the current time; tests pin it.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The governance service for one tenant of a store.
pub struct Governance<'s> {
    store: &'s dyn Store,
    tenant: String,
    clock: Clock,
    change_system: Option<Arc<dyn asom_core::crq::ChangeSystem + Send + Sync>>,
    planning: Option<Arc<dyn stories::PlanningSystem + Send + Sync>>,
}

/// How many times a command re-reads and decides again after a conflict.
const RETRIES: usize = 5;

impl<'s> Governance<'s> {
    /// The service for `tenant`, with the system clock.
    #[must_use]
    pub fn new(store: &'s dyn Store, tenant: &str) -> Self {
        Self::with_clock(store, tenant, Arc::new(OffsetDateTime::now_utc))
    }

    /// The service with a given clock.
    #[must_use]
    pub fn with_clock(store: &'s dyn Store, tenant: &str, clock: Clock) -> Self {
        Self {
            store,
            tenant: tenant.to_owned(),
            clock,
            change_system: None,
            planning: None,
        }
    }

    /// The service reading linked CRQs from an outside change system
    /// (`ServiceNow`) at every gate.
    #[must_use]
    pub fn with_change_system(
        mut self,
        system: Arc<dyn asom_core::crq::ChangeSystem + Send + Sync>,
    ) -> Self {
        self.change_system = Some(system);
        self
    }

    /// The service reading stories from a planning system (Jira) at every
    /// gate.
    #[must_use]
    pub fn with_planning(
        mut self,
        planning: Arc<dyn stories::PlanningSystem + Send + Sync>,
    ) -> Self {
        self.planning = Some(planning);
        self
    }

    /// The outside change system, when one is configured.
    #[must_use]
    pub fn change_system(&self) -> Option<&(dyn asom_core::crq::ChangeSystem + Send + Sync)> {
        self.change_system.as_deref()
    }

    /// The planning system, when one is configured.
    #[must_use]
    pub fn planning(&self) -> Option<&(dyn stories::PlanningSystem + Send + Sync)> {
        self.planning.as_deref()
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &'s dyn Store {
        self.store
    }

    /// The tenant.
    #[must_use]
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Now, truncated to milliseconds (what entries record).
    #[must_use]
    pub fn now(&self) -> OffsetDateTime {
        let now = (self.clock)();
        now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(now)
    }

    /// Runs `attempt` until its append does not conflict (at most a few
    /// times): each attempt re-reads the state it decides from.
    pub fn retry<T>(&self, mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
        let mut last = None;
        for _ in 0..RETRIES {
            match attempt() {
                Err(GovernanceError::Store(StoreError::Conflict {
                    key,
                    expected,
                    actual,
                })) => {
                    last = Some(StoreError::Conflict {
                        key,
                        expected,
                        actual,
                    });
                }
                other => return other,
            }
        }
        Err(GovernanceError::Store(
            last.expect("at least one attempt conflicted"),
        ))
    }

    /// Appends one entry and returns what the store did.
    pub(crate) fn append(&self, entry: NewEntry) -> Result<Appended> {
        let mut out = self.store.append(&self.tenant, vec![entry])?;
        Ok(out.remove(0))
    }

    /// Builds an entry for `actor` with `keys`.
    pub(crate) fn entry(
        kind: &str,
        content: &serde_json::Value,
        actor: &Principal,
        keys: impl IntoIterator<Item = String>,
    ) -> Result<NewEntry> {
        NewEntry::new(kind, content, actor.slug().as_str())
            .and_then(|e| e.with_keys(keys))
            .map_err(|e| GovernanceError::Invalid(e.to_string()))
    }

    /// The ids (hex) of the entries at `indexes`.
    pub(crate) fn entry_ids(&self, indexes: &[u64]) -> Result<Vec<String>> {
        indexes
            .iter()
            .map(|&i| Ok(self.store.entry_at(&self.tenant, i)?.id.to_hex()))
            .collect()
    }

    /// The entries under `key`, as of `before` (all when `None`).
    pub(crate) fn entries(&self, key: &str, before: Option<u64>) -> Result<Vec<StoredEntry>> {
        Ok(self.store.entries_with_key(&self.tenant, key, before)?)
    }

    /// The content of the last entry of `kind` under `key`, with how many
    /// entries the key has (to append expecting it unchanged).
    pub(crate) fn latest<T: DeserializeOwned>(
        &self,
        key: &str,
        kind: &str,
        field: &str,
        before: Option<u64>,
    ) -> Result<(Option<T>, u64)> {
        let entries = self.entries(key, before)?;
        let count = entries.len() as u64;
        let latest = entries.iter().rev().find(|e| e.kind == kind);
        let value = match latest {
            Some(e) => Some(content_field(e, field)?),
            None => None,
        };
        Ok((value, count))
    }
}

/// The JSON Schema of a hash as asom writes it (for `#[schemars(with)]`):
/// 64 lowercase hex digits.
pub struct HexHash;

impl schemars::JsonSchema for HexHash {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sha256Hex".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "A SHA-256 digest, 64 lowercase hex digits."
        })
    }
}

/// Checks a permission, turning a refusal into the service's error.
pub fn authorize(actor: &Principal, action: Action) -> Result<Capability<'_>> {
    actor.authorize(action).map_err(GovernanceError::from)
}

/// Reads `content.<field>` of a stored entry as `T`.
pub(crate) fn content_field<T: DeserializeOwned>(entry: &StoredEntry, field: &str) -> Result<T> {
    let envelope: serde_json::Value = serde_json::from_slice(&entry.bytes)
        .map_err(|e| StoreError::Corrupt(format!("entry {}: {e}", entry.index)))?;
    let value = if field.is_empty() {
        &envelope["content"]
    } else {
        &envelope["content"][field]
    };
    serde_json::from_value(value.clone()).map_err(|e| {
        StoreError::Corrupt(format!(
            "entry {} ({}): {field}: {e}",
            entry.index, entry.kind
        ))
        .into()
    })
}

/// The `appended_by` of a stored entry.
pub(crate) fn appended_by(entry: &StoredEntry) -> Result<String> {
    let envelope: serde_json::Value = serde_json::from_slice(&entry.bytes)
        .map_err(|e| StoreError::Corrupt(format!("entry {}: {e}", entry.index)))?;
    envelope["appended_by"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            StoreError::Corrupt(format!("entry {} has no appended_by", entry.index)).into()
        })
}

/// What a command wrote: the entry and whether it was new.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Recorded {
    /// The entry's index.
    pub index: u64,
    /// The entry's id.
    #[schemars(with = "HexHash")]
    pub id: asom_ledger::Hash,
    /// False when the same content was already in the log (nothing written).
    pub new: bool,
    /// The checkpoint size its receipt is proved against.
    pub checkpoint_size: u64,
}

impl From<Appended> for Recorded {
    fn from(a: Appended) -> Self {
        Self {
            index: a.index,
            id: a.id,
            new: !a.duplicate,
            checkpoint_size: a.checkpoint_size,
        }
    }
}
