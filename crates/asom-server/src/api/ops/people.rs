//! Principals, their tokens, the identity directory and producers' signing
//! keys: `asom principal …`, `asom token …`, `asom identity …`.
//!
//! Creating principals and tokens, revoking tokens, mapping aliases and
//! registering keys need `manage-principals` (admins); the governance
//! service checks it. A created token's secret is made where the operation
//! runs (the server's random source) and is in the answer only: the store
//! keeps its digest.

use asom_core::principal::{AgentKind, Principal, PrincipalKind, Role, Slug, TokenSecret};
use asom_governance::Recorded;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::parsed;
use crate::api::{ApiError, OpContext, Operation};

/// The JSON form of a principal (the schema of [`Principal`]).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct PrincipalSchema {
    /// Its slug: 1-40 lowercase letters, digits or `-`.
    slug: String,
    /// `human`, `agent` or `machine`.
    kind: String,
    /// A human's roles (`developer`, `qa`, `release-approver`, `governance`,
    /// `change-manager`, `emergency-approver`, `admin`); absent when none.
    #[serde(default)]
    roles: Vec<String>,
    /// An agent's kind (`ba`, `dev`, `qa`, `governance`, `scrum`).
    #[serde(default)]
    agent_kind: Option<String>,
    /// Its display name.
    #[serde(default)]
    display_name: Option<String>,
    /// Whether it is disabled (its tokens no longer act).
    disabled: bool,
}

fn random_bytes() -> Result<[u8; 32], ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        ApiError::Unavailable(format!("the operating system's random source failed: {e}"))
    })?;
    Ok(bytes)
}

// --- principals -----------------------------------------------------------

/// Creates a principal, as `asom principal create`. Admins only.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrincipal {
    /// The new principal's slug: 1-40 lowercase letters, digits or `-`.
    pub slug: String,
    /// `human`, `agent` or `machine`.
    pub kind: String,
    /// A human's roles: `developer`, `qa`, `release-approver`, `governance`,
    /// `change-manager`, `emergency-approver`, `admin`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// An agent's kind (required for agents): `ba`, `dev`, `qa`, `governance`, `scrum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_kind: Option<String>,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl CreatePrincipal {
    /// The principal this request describes, checked.
    pub fn principal(&self) -> Result<Principal, ApiError> {
        let slug: Slug = parsed("slug", &self.slug)?;
        let kind: PrincipalKind = parsed("kind", &self.kind)?;
        let roles = self
            .roles
            .iter()
            .map(|r| parsed::<Role>("role", r))
            .collect::<Result<std::collections::BTreeSet<_>, _>>()?;
        let agent_kind = self
            .agent_kind
            .as_deref()
            .map(|k| parsed::<AgentKind>("agent_kind", k))
            .transpose()?;
        Principal::new(slug, kind, roles, agent_kind, self.name.clone())
            .map_err(|e| ApiError::Invalid(e.to_string()))
    }
}

/// A principal and its ledger entry.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrincipalCreated {
    /// The principal created.
    #[schemars(with = "PrincipalSchema")]
    pub principal: Principal,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for CreatePrincipal {
    const PATH: &'static str = "/principals";
    const SUMMARY: &'static str = "Create a principal (admins only)";
    const MUTATES: bool = true;
    type Output = PrincipalCreated;

    fn run(self, ctx: &OpContext<'_>) -> Result<PrincipalCreated, ApiError> {
        let actor = ctx.acting()?;
        let principal = self.principal()?;
        let recorded = ctx.gov.create_principal(actor, &principal)?;
        Ok(PrincipalCreated {
            principal,
            recorded,
        })
    }
}

/// Lists the tenant's principals, as `asom principal list`. Needs no fields.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPrincipals {}

/// The tenant's principals.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrincipalList {
    /// Every principal, by slug.
    #[schemars(with = "Vec<PrincipalSchema>")]
    pub principals: Vec<Principal>,
}

impl Operation for ListPrincipals {
    const PATH: &'static str = "/principals/list";
    const SUMMARY: &'static str = "List the tenant's principals";
    const MUTATES: bool = false;
    type Output = PrincipalList;

    fn run(self, ctx: &OpContext<'_>) -> Result<PrincipalList, ApiError> {
        Ok(PrincipalList {
            principals: ctx.gov.principals()?,
        })
    }
}

/// Registers a machine principal's Ed25519 key for DSSE-signed evidence, as
/// `asom principal key`. Admins only.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterProducerKey {
    /// The machine principal that owns the key.
    pub principal: String,
    /// The DSSE key id its signatures name.
    pub key_id: String,
    /// The Ed25519 public key, standard base64 of 32 bytes.
    pub public_key: String,
}

/// A registered key and its ledger entry.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProducerKeyRegistered {
    /// The machine principal.
    pub principal: String,
    /// The key id.
    pub key_id: String,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for RegisterProducerKey {
    const PATH: &'static str = "/principals/keys";
    const SUMMARY: &'static str =
        "Register a machine principal's signing key for DSSE evidence (admins only)";
    const MUTATES: bool = true;
    type Output = ProducerKeyRegistered;

    fn run(self, ctx: &OpContext<'_>) -> Result<ProducerKeyRegistered, ApiError> {
        let actor = ctx.acting()?;
        let recorded = ctx.gov.register_producer_key(
            actor,
            &self.principal,
            &self.key_id,
            &self.public_key,
        )?;
        Ok(ProducerKeyRegistered {
            principal: self.principal,
            key_id: self.key_id,
            recorded,
        })
    }
}

// --- tokens ---------------------------------------------------------------

/// Creates a token for a principal, as `asom token create`. Admins only.
/// The secret is made where the operation runs and returned once.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// The principal the token acts as.
    pub principal: String,
    /// Free text (what the token is for).
    #[serde(default)]
    pub label: String,
}

/// A new token. `token` is its secret: shown only in this answer, stored
/// only as a digest.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TokenCreated {
    /// The token's id (to list and revoke it).
    pub id: String,
    /// The principal it acts as.
    pub principal: String,
    /// The secret (`asom_…`): keep it; it cannot be shown again.
    pub token: String,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for CreateToken {
    const PATH: &'static str = "/tokens";
    const SUMMARY: &'static str =
        "Create a token for a principal; the answer holds its secret, once (admins only)";
    const MUTATES: bool = true;
    // The answer holds a secret: it is never kept for an Idempotency-Key retry.
    const KEEPS_ANSWER: bool = false;
    type Output = TokenCreated;

    fn run(self, ctx: &OpContext<'_>) -> Result<TokenCreated, ApiError> {
        let actor = ctx.acting()?;
        let secret = TokenSecret::from_random_bytes(random_bytes()?);
        let id = format!("tok_{}", &hex::encode(random_bytes()?)[..12]);
        let recorded = ctx
            .gov
            .create_token(actor, &self.principal, &id, &secret, &self.label)?;
        Ok(TokenCreated {
            id,
            principal: self.principal,
            token: secret.expose().to_owned(),
            recorded,
        })
    }
}

/// Revokes a token by id, as `asom token revoke`. Admins only.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeToken {
    /// The token's id (`tok_…`).
    pub id: String,
}

/// A revoked token's entry.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TokenRevoked {
    /// The token's id.
    pub id: String,
    /// The revocation's ledger entry.
    pub recorded: Recorded,
}

impl Operation for RevokeToken {
    const PATH: &'static str = "/tokens/revoke";
    const SUMMARY: &'static str = "Revoke a token (admins only)";
    const MUTATES: bool = true;
    type Output = TokenRevoked;

    fn run(self, ctx: &OpContext<'_>) -> Result<TokenRevoked, ApiError> {
        let actor = ctx.acting()?;
        let recorded = ctx.gov.revoke_token(actor, &self.id)?;
        Ok(TokenRevoked {
            id: self.id,
            recorded,
        })
    }
}

/// Lists the tenant's tokens (never their secrets), as `asom token list`.
/// Needs no fields.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTokens {}

/// One token, without its secret.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TokenRow {
    /// Its id.
    pub id: String,
    /// The principal it acts as.
    pub principal: String,
    /// Its label.
    pub label: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// The tenant's tokens.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TokenList {
    /// Every token, live and revoked.
    pub tokens: Vec<TokenRow>,
}

impl Operation for ListTokens {
    const PATH: &'static str = "/tokens/list";
    const SUMMARY: &'static str = "List the tenant's tokens (ids, never secrets)";
    const MUTATES: bool = false;
    type Output = TokenList;

    fn run(self, ctx: &OpContext<'_>) -> Result<TokenList, ApiError> {
        let tokens = ctx.gov.store().tokens(ctx.tenant)?;
        Ok(TokenList {
            tokens: tokens
                .into_iter()
                .map(|t| TokenRow {
                    id: t.id,
                    principal: t.principal,
                    label: t.label,
                    created_at: t.created_at,
                    revoked_at: t.revoked_at,
                })
                .collect(),
        })
    }
}

// --- identities -----------------------------------------------------------

/// Maps an alias (a name, an email, a git identity) to a person for
/// separation of duties, as `asom identity alias`. Admins only.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapIdentity {
    /// The alias, e.g. `alice@example.com`.
    pub alias: String,
    /// The person's principal slug.
    pub person: String,
}

/// A mapped alias and its ledger entry (`recorded.new` is false when it was
/// already mapped to that person).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct IdentityMapped {
    /// The alias, as given.
    pub alias: String,
    /// The person.
    pub person: String,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for MapIdentity {
    const PATH: &'static str = "/identities";
    const SUMMARY: &'static str = "Map an alias to a person for separation of duties (admins only)";
    const MUTATES: bool = true;
    type Output = IdentityMapped;

    fn run(self, ctx: &OpContext<'_>) -> Result<IdentityMapped, ApiError> {
        let actor = ctx.acting()?;
        let person: Slug = parsed("person", &self.person)?;
        let recorded = ctx.gov.map_alias(actor, &self.alias, &person)?;
        Ok(IdentityMapped {
            alias: self.alias,
            person: person.as_str().to_owned(),
            recorded,
        })
    }
}

/// Lists the identity directory, as `asom identity list`. Needs no fields.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListIdentities {}

/// One alias and its person.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct IdentityRow {
    /// The alias (normalised).
    pub alias: String,
    /// The person's slug.
    pub person: String,
}

/// The identity directory.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct IdentityList {
    /// Every alias, sorted.
    pub identities: Vec<IdentityRow>,
}

impl Operation for ListIdentities {
    const PATH: &'static str = "/identities/list";
    const SUMMARY: &'static str = "List the identity directory (alias to person)";
    const MUTATES: bool = false;
    type Output = IdentityList;

    fn run(self, ctx: &OpContext<'_>) -> Result<IdentityList, ApiError> {
        let directory = ctx.gov.directory(None)?;
        Ok(IdentityList {
            identities: directory
                .entries()
                .map(|(a, p)| IdentityRow {
                    alias: a.as_str().to_owned(),
                    person: p.as_str().to_owned(),
                })
                .collect(),
        })
    }
}
