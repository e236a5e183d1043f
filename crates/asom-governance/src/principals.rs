//! Principals, their tokens, the identity directory and producers' signing keys.

use asom_core::dsse::{KeyId, ProducerKeys};
use asom_core::evidence::PrincipalSlug;
use asom_core::identity::{Alias, IdentityDirectory};
use asom_core::principal::{Action, Principal, PrincipalKind, Slug, TokenSecret};
use asom_store::{StoreError, TokenRecord};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Governance, GovernanceError, Recorded, Result, authorize, content_field};

/// A producer's registered signing key, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerKeyRecord {
    /// The machine principal that owns it.
    pub principal: String,
    /// The DSSE key id signatures name.
    pub key_id: String,
    /// The Ed25519 public key, standard base64 of 32 bytes.
    pub public_key: String,
}

impl Governance<'_> {
    /// Creates a principal. Needs `manage-principals` (admin).
    pub fn create_principal(&self, actor: &Principal, principal: &Principal) -> Result<Recorded> {
        authorize(actor, Action::ManagePrincipals)?;
        let slug = principal.slug().as_str();
        let key = format!("principal:{slug}");
        let count = self.store.count_with_key(&self.tenant, &key, None)?;
        if count > 0 || self.store.principal(&self.tenant, slug).is_ok() {
            return Err(GovernanceError::Rule(format!(
                "principal {slug:?} already exists"
            )));
        }
        let entry = Self::entry(
            "principal",
            &json!({"action": "created", "principal": principal}),
            actor,
            [key.clone(), "principals".to_owned()],
        )?
        .expecting(key, 0);
        let recorded = self.append(entry)?;
        self.store.create_principal(&self.tenant, principal)?;
        Ok(recorded.into())
    }

    /// The tenant's principals.
    pub fn principals(&self) -> Result<Vec<Principal>> {
        Ok(self.store.principals(&self.tenant)?)
    }

    /// Creates a token for `principal`; the caller supplies the secret (from
    /// the operating system's random source) and an id. Needs `manage-principals`.
    pub fn create_token(
        &self,
        actor: &Principal,
        principal: &str,
        id: &str,
        secret: &TokenSecret,
        label: &str,
    ) -> Result<Recorded> {
        authorize(actor, Action::ManagePrincipals)?;
        let owner = self.principal(principal)?;
        let recorded = self.append(Self::entry(
            "token",
            &json!({"action": "created", "token": id, "principal": owner.slug(), "label": label}),
            actor,
            [format!("token:{id}"), format!("principal:{principal}")],
        )?)?;
        self.store.create_token(&TokenRecord {
            id: id.to_owned(),
            digest: secret.digest(),
            tenant: self.tenant.clone(),
            principal: principal.to_owned(),
            label: label.to_owned(),
            created_at: rfc3339(self.now()),
            revoked_at: None,
        })?;
        Ok(recorded.into())
    }

    /// Revokes a token by id. Needs `manage-principals`.
    pub fn revoke_token(&self, actor: &Principal, id: &str) -> Result<Recorded> {
        authorize(actor, Action::ManagePrincipals)?;
        let token = self
            .store
            .tokens(&self.tenant)?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| {
                GovernanceError::NotFound(format!("no token {id:?}; `asom token list` shows them"))
            })?;
        if token.revoked_at.is_some() {
            return Err(GovernanceError::Rule(format!(
                "token {id:?} is already revoked"
            )));
        }
        let recorded = self.append(Self::entry(
            "token",
            &json!({"action": "revoked", "token": id, "principal": token.principal, "at": rfc3339(self.now())}),
            actor,
            [format!("token:{id}"), format!("principal:{}", token.principal)],
        )?)?;
        self.store
            .revoke_token(&self.tenant, id, &rfc3339(self.now()))?;
        Ok(recorded.into())
    }

    /// One principal.
    pub fn principal(&self, slug: &str) -> Result<Principal> {
        self.store
            .principal(&self.tenant, slug)
            .map_err(|e| match e {
                StoreError::NotFound { .. } => GovernanceError::NotFound(format!(
                    "no principal {slug:?}; `asom principal list` shows them"
                )),
                e => e.into(),
            })
    }

    /// Maps an alias (a name, an email, a git identity) to a person, so that
    /// separation of duties sees one person. Needs `manage-principals`.
    /// Mapping an alias again to the same person changes nothing; to another
    /// person is refused.
    pub fn map_alias(&self, actor: &Principal, alias: &str, person: &Slug) -> Result<Recorded> {
        authorize(actor, Action::ManagePrincipals)?;
        let alias = Alias::parse(alias).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        self.retry(|| {
            let key = format!("alias:{}", alias.as_str());
            let (current, count) = self.latest::<String>(&key, "identity", "person", None)?;
            if let Some(current) = current
                && current != person.as_str()
            {
                return Err(GovernanceError::Rule(format!(
                    "alias {:?} already belongs to {current:?}; one alias names one person",
                    alias.as_str()
                )));
            }
            let entry = Self::entry(
                "identity",
                &json!({"action": "mapped", "alias": alias.as_str(), "person": person}),
                actor,
                [key.clone(), "identities".to_owned()],
            )?
            .expecting(key, count);
            self.append(entry).map(Recorded::from)
        })
    }

    /// The identity directory as of log size `before` (all when `None`).
    pub fn directory(&self, before: Option<u64>) -> Result<IdentityDirectory> {
        let mut directory = IdentityDirectory::new();
        for entry in self.entries("identities", before)? {
            let alias: String = content_field(&entry, "alias")?;
            let person: Slug = content_field(&entry, "person")?;
            directory
                .map(&alias, &person)
                .map_err(|e| StoreError::Corrupt(format!("identity entry {}: {e}", entry.index)))?;
        }
        Ok(directory)
    }

    /// Registers a machine principal's Ed25519 key for DSSE envelopes.
    /// Needs `manage-principals`; the owner must be a machine.
    pub fn register_producer_key(
        &self,
        actor: &Principal,
        principal: &str,
        key_id: &str,
        public_key_b64: &str,
    ) -> Result<Recorded> {
        authorize(actor, Action::ManagePrincipals)?;
        let owner = self.principal(principal)?;
        if owner.kind() != PrincipalKind::Machine {
            return Err(GovernanceError::Rule(format!(
                "{principal:?} is a {:?} principal; only machine principals produce evidence, so only they get signing keys",
                owner.kind()
            )));
        }
        let record = ProducerKeyRecord {
            principal: principal.to_owned(),
            key_id: key_id.to_owned(),
            public_key: public_key_b64.trim().to_owned(),
        };
        // Validate by building the key set it joins.
        let mut keys = self.producer_keys(None)?;
        add_producer_key(&mut keys, &record)?;
        let key = format!("producer-key:{key_id}");
        let entry = Self::entry(
            "producer-key",
            &json!({"action": "registered", "key": record}),
            actor,
            [key.clone(), "producer-keys".to_owned()],
        )?
        .expecting(key, 0);
        self.append(entry).map(Recorded::from).map_err(|e| match e {
            GovernanceError::Store(StoreError::Conflict { .. }) => {
                GovernanceError::Rule(format!("key id {key_id:?} is already registered"))
            }
            e => e,
        })
    }

    /// The registered producer keys as of `before`.
    pub fn producer_keys(&self, before: Option<u64>) -> Result<ProducerKeys> {
        let mut keys = ProducerKeys::new();
        for entry in self.entries("producer-keys", before)? {
            let record: ProducerKeyRecord = content_field(&entry, "key")?;
            add_producer_key(&mut keys, &record).map_err(|e| {
                StoreError::Corrupt(format!("producer key entry {}: {e}", entry.index))
            })?;
        }
        Ok(keys)
    }
}

fn add_producer_key(keys: &mut ProducerKeys, record: &ProducerKeyRecord) -> Result<()> {
    let invalid = |what: &str| GovernanceError::Invalid(format!("public key: {what}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&record.public_key)
        .map_err(|_| invalid("expected standard base64 of a 32-byte Ed25519 public key"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| invalid("an Ed25519 public key is 32 bytes"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| invalid("not a valid Ed25519 point"))?;
    let key_id = KeyId::new(&record.key_id).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    let owner = PrincipalSlug::parse_field("principal", &record.principal)
        .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    keys.register(key_id, key, owner)
        .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    Ok(())
}

/// RFC 3339, UTC, milliseconds.
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .expect("a UTC time always formats")
}
