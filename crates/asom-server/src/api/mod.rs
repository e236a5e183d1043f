//! The operations asom exposes, one typed request and one typed response
//! each, run by the same code whether the CLI runs them in process (embedded
//! store) or `asom serve` runs them for an HTTP client (`--server`).
//!
//! An [`Operation`] is the request body; [`Operation::run`] does the work
//! against the governance service of one tenant ([`OpContext`]). The HTTP
//! layer (`crate::v1`) only authenticates, decodes, runs and encodes; the
//! CLI builds the same request from its flags and files and prints the same
//! response. Permissions are the governance service's: every command takes
//! the acting [`Principal`], which only [`authenticate`] produces (an
//! [`Acting`] cannot be built any other way), and the service turns it into
//! a [`asom_core::principal::Capability`] before it writes.
//!
//! Errors are [`ApiError`]s: the HTTP layer sends them as RFC 9457 problem
//! documents whose `type` names the kind, and the CLI maps each kind to its
//! exit code (1 refused or blocked, 2 usage), so both paths fail alike.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use asom_core::principal::{Principal, TokenSecret};
use asom_governance::{Governance, GovernanceError};
use asom_store::{Store, StoreError, TokenRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod ops;

/// One thing asom does, as a request. `run` is the only implementation of it.
pub trait Operation: Serialize + DeserializeOwned + schemars::JsonSchema + Send + 'static {
    /// Its path under `/t/{tenant}/v1`, e.g. `/evidence`; always `POST`.
    const PATH: &'static str;
    /// A one-line summary (the OpenAPI `summary`).
    const SUMMARY: &'static str;
    /// Whether it changes the ledger (needs an acting principal in process;
    /// over HTTP every operation needs a token).
    const MUTATES: bool;
    /// Whether the server may keep the answer for `Idempotency-Key`
    /// retries. False for answers that hold a secret (a new token): the key
    /// is then ignored and a retry runs again.
    const KEEPS_ANSWER: bool = true;
    /// What it answers.
    type Output: Serialize + DeserializeOwned + schemars::JsonSchema + Send + 'static;
    /// Does it.
    fn run(self, ctx: &OpContext<'_>) -> Result<Self::Output, ApiError>;
    /// Counts what the answer says in the server's metrics (gate results,
    /// entries written). Nothing by default.
    fn observe(output: &Self::Output, metrics: &crate::metrics::Metrics) {
        let _ = (output, metrics);
    }
}

/// The principal an operation acts as, after its token was checked. Only
/// [`authenticate`] makes one, so an operation that needs a principal
/// cannot run without the check.
#[derive(Debug, Clone)]
pub struct Acting {
    token: TokenRecord,
    principal: Principal,
}

impl Acting {
    /// Who acts.
    #[must_use]
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The token used.
    #[must_use]
    pub fn token(&self) -> &TokenRecord {
        &self.token
    }

    /// The principal, owned.
    #[must_use]
    pub fn into_principal(self) -> Principal {
        self.principal
    }
}

/// Checks a bearer token against the store: it must be live, belong to
/// `tenant`, and its principal must be enabled.
pub fn authenticate(store: &dyn Store, tenant: &str, raw: &str) -> Result<Acting, ApiError> {
    let secret = TokenSecret::parse(raw.trim())
        .map_err(|e| ApiError::Unauthenticated(format!("the token is malformed: {e}")))?;
    let (token, principal) = store.token_by_digest(&secret.digest()).map_err(|e| match e {
        StoreError::NotFound { .. } => ApiError::Unauthenticated(
            "the token is not a live token of this store (it may be revoked, or belong to another asom store)"
                .to_owned(),
        ),
        e => ApiError::from(e),
    })?;
    if token.tenant != tenant {
        return Err(ApiError::Unauthenticated(format!(
            "the token belongs to tenant {:?}, not {tenant:?}; use a token of this tenant",
            token.tenant
        )));
    }
    if principal.is_disabled() {
        return Err(ApiError::Refused(format!(
            "principal {:?} is disabled",
            principal.slug().as_str()
        )));
    }
    Ok(Acting { token, principal })
}

/// What an operation runs against: one tenant's governance service, who
/// acts (if anyone authenticated) and the gate policy.
pub struct OpContext<'a> {
    /// The governance service of the tenant.
    pub gov: Governance<'a>,
    /// The tenant.
    pub tenant: &'a str,
    acting: Option<&'a Acting>,
    policies: &'a Policies,
}

impl<'a> OpContext<'a> {
    /// A context; `acting` is `None` only for reads in process.
    #[must_use]
    pub fn new(
        gov: Governance<'a>,
        tenant: &'a str,
        acting: Option<&'a Acting>,
        policies: &'a Policies,
    ) -> Self {
        Self {
            gov,
            tenant,
            acting,
            policies,
        }
    }

    /// The acting principal, or the error that says how to become one.
    pub fn acting(&self) -> Result<&'a Principal, ApiError> {
        self.acting.map(Acting::principal).ok_or_else(|| {
            ApiError::Unauthenticated(
                "this command changes the ledger, so it must act as a principal: set ASOM_TOKEN to a token \
                 (`asom init` printed the first admin token)"
                    .to_owned(),
            )
        })
    }

    /// Runs `f` with a gate policy of the configured pack.
    pub fn with_policy<T>(
        &self,
        f: impl FnOnce(&asom_policy::RegoPolicy) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.policies.with(f)
    }
}

/// The gate policy of one pack, built once and then reused: evaluators are
/// kept warm (a server answers many gate checks with the same pack, and
/// building an evaluator costs milliseconds).
pub struct Policies {
    dir: Option<PathBuf>,
    pack: OnceLock<Result<asom_policy::Pack, String>>,
    idle: Mutex<Vec<asom_policy::RegoPolicy>>,
}

impl Policies {
    /// The pack in `dir`, or the built-in default pack. Nothing is loaded
    /// until a gate is decided.
    #[must_use]
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            pack: OnceLock::new(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The pack, loaded and validated on first use.
    pub fn pack(&self) -> Result<&asom_policy::Pack, ApiError> {
        self.pack
            .get_or_init(|| {
                match &self.dir {
                    Some(dir) => asom_policy::Pack::from_dir(dir),
                    None => asom_policy::Pack::default_pack(),
                }
                .map_err(|e| format!("policy pack: {e}; nothing can pass without a working pack"))
            })
            .as_ref()
            .map_err(|e| ApiError::Invalid(e.clone()))
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&asom_policy::RegoPolicy) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let policy = if let Some(p) = idle {
            p
        } else {
            let pack = self.pack()?;
            asom_policy::RegoPolicy::new(pack)
                .map_err(|e| ApiError::Invalid(format!("policy pack {}: {e}", pack.name())))?
        };
        let result = f(&policy);
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(policy);
        result
    }
}

/// Why an operation did not happen. Each kind has an HTTP status, a problem
/// type and a CLI exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No token, or one that does not authenticate (401, exit 2).
    #[error("{0}")]
    Unauthenticated(String),
    /// The principal may not do this (403, exit 1).
    #[error("{0}")]
    Refused(String),
    /// A rule of the domain refuses the command as asked (422, exit 1).
    #[error("{0}")]
    Rule(String),
    /// The request is malformed or invalid (400, exit 2).
    #[error("{0}")]
    Invalid(String),
    /// Something named does not exist (404, exit 2).
    #[error("{0}")]
    NotFound(String),
    /// Another change got there first; re-read and try again (409, exit 1).
    #[error("{0}")]
    Conflict(String),
    /// The request body is too large (413, exit 2).
    #[error("{0}")]
    TooLarge(String),
    /// The request body is not JSON (415, exit 2).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The store or another dependency failed (503, exit 2). The message
    /// says so without internals; the cause is logged.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// The problem kind: the last segment of the RFC 9457 `type`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Refused(_) => "refused",
            Self::Rule(_) => "rule",
            Self::Invalid(_) => "invalid",
            Self::NotFound(_) => "not-found",
            Self::Conflict(_) => "conflict",
            Self::TooLarge(_) => "too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated(_) => 401,
            Self::Refused(_) => 403,
            Self::Rule(_) => 422,
            Self::Invalid(_) => 400,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::TooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Unavailable(_) => 503,
        }
    }

    /// The CLI's exit code: 1 for a refusal or a rule (the thing is
    /// blocked), 2 for what the user must fix.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) | Self::Rule(_) | Self::Conflict(_) => 1,
            _ => 2,
        }
    }

    /// The error of a problem document's kind and detail (the CLI's side).
    #[must_use]
    pub fn from_kind(kind: &str, detail: String) -> Self {
        match kind {
            "unauthenticated" => Self::Unauthenticated(detail),
            "refused" => Self::Refused(detail),
            "rule" => Self::Rule(detail),
            "not-found" => Self::NotFound(detail),
            "conflict" => Self::Conflict(detail),
            "too-large" => Self::TooLarge(detail),
            "unsupported-media-type" => Self::UnsupportedMediaType(detail),
            "unavailable" => Self::Unavailable(detail),
            _ => Self::Invalid(detail),
        }
    }

    /// The problem `type` URI.
    #[must_use]
    pub fn type_uri(&self) -> String {
        format!("{PROBLEM_BASE}{}", self.kind())
    }
}

/// The prefix of asom's problem types (RFC 9457 §3.1.1: a URI that
/// identifies the kind; asom's are URNs, so nothing pretends to resolve).
pub const PROBLEM_BASE: &str = "urn:asom:problem:";

impl From<GovernanceError> for ApiError {
    fn from(e: GovernanceError) -> Self {
        match e {
            GovernanceError::Refused(_) => Self::Refused(e.to_string()),
            GovernanceError::Rule(m) => Self::Rule(m),
            GovernanceError::Invalid(m) => Self::Invalid(m),
            GovernanceError::NotFound(m) => Self::NotFound(m),
            GovernanceError::Store(s) => Self::from(s),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Self::NotFound(e.to_string()),
            StoreError::Conflict { .. } => Self::Conflict(e.to_string()),
            StoreError::Invalid(m) => Self::Invalid(m),
            StoreError::AlreadyExists { .. } => Self::Rule(e.to_string()),
            e
            @ (StoreError::NoSigner { .. } | StoreError::Fork { .. } | StoreError::Corrupt(_)) => {
                tracing::error!(error = %e, "store refused");
                Self::Unavailable(e.to_string())
            }
            e @ StoreError::Backend(_) => {
                tracing::error!(error = %e, "store failed");
                Self::Unavailable(
                    "the storage backend failed; the log (stderr) has the cause".to_owned(),
                )
            }
        }
    }
}

impl From<asom_core::principal::Refusal> for ApiError {
    fn from(r: asom_core::principal::Refusal) -> Self {
        Self::Refused(r.to_string())
    }
}
