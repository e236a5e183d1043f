//! Tenants, products, changes and releases (DESIGN.md §3).
//!
//! - A [`Product`] has a team, a [`DataClassification`], a
//!   [`ChangeType`] and an [`ApplicabilityProfile`]
//!   (is the change material; which controls are excluded by design, with a
//!   justification; C-01 and C-02 never can be).
//! - A [`Change`] is one commit: [`CommitSha`], authors, reviewers, [`JiraKey`]s.
//! - A [`Release`] is `product@version` ([`ReleaseId`]), its Jira scope, its
//!   commits, and at most one CRQ, which must be the CRQ created for it.
//!
//! Every parser here refuses malformed input with a message that shows the
//! expected form; none of them panics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, ChangeType, Control, ControlId, Gate};
use crate::crq::{Crq, CrqNumber};
use crate::identity::Alias;
use crate::principal::{Slug, SlugError};

fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// A release-domain value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// A release id that is not `product@version`.
    #[error("invalid release id {given:?}: {problem}; expected product@version, e.g. orders@1.4.0")]
    BadReleaseId {
        /// The text given (clipped).
        given: String,
        /// What is wrong.
        problem: String,
    },
    /// A commit SHA that is not 40 or 64 hex digits.
    #[error(
        "invalid commit SHA {0:?}: expected the full 40 (SHA-1) or 64 (SHA-256) hex digits, as `git rev-parse HEAD` prints"
    )]
    BadCommitSha(String),
    /// A Jira key that is not `PROJECT-123`.
    #[error(
        "invalid Jira key {0:?}: expected a project key (a letter, then letters, digits or '_'; up to 10) a '-' and an issue number, e.g. ABC-123"
    )]
    BadJiraKey(String),
    /// A change without authors.
    #[error("change {0} has no authors: record the commit's author (and co-authors) from git")]
    NoAuthors(CommitSha),
    /// An author or reviewer identity that is not a valid alias.
    #[error("change {commit}: {field} {source}")]
    BadIdentity {
        /// The commit.
        commit: CommitSha,
        /// `author` or `reviewer`.
        field: &'static str,
        /// Why.
        source: crate::identity::AliasError,
    },
    /// A CRQ created for another release.
    #[error(
        "CRQ {crq} was created for release {crq_release}, not {release}: a CRQ governs exactly one release; create a new CRQ for {release}"
    )]
    CrqForOtherRelease {
        /// The CRQ.
        crq: CrqNumber,
        /// The release it governs.
        crq_release: ReleaseId,
        /// The release it was attached to.
        release: ReleaseId,
    },
    /// The release already has a different CRQ.
    #[error("release {release} already has CRQ {existing}: exactly one CRQ per release")]
    AlreadyHasCrq {
        /// The release.
        release: ReleaseId,
        /// Its CRQ.
        existing: CrqNumber,
    },
    /// A change of another product.
    #[error("change {commit} belongs to product {change_product}, not to release {release}")]
    OtherProduct {
        /// The commit.
        commit: CommitSha,
        /// Its product.
        change_product: Slug,
        /// The release.
        release: ReleaseId,
    },
    /// An exclusion of a control that can never be excluded.
    #[error(
        "control {0} cannot be excluded from a product: change authorisation and separation of duties apply to every release"
    )]
    ProtectedControl(ControlId),
    /// An exclusion without a justification.
    #[error("excluding control {0} needs a justification an auditor can read")]
    EmptyJustification(ControlId),
    /// A name that is not one of the valid values.
    #[error("unknown {what} {given:?}: expected one of {valid}")]
    UnknownName {
        /// What was parsed.
        what: &'static str,
        /// The text (clipped).
        given: String,
        /// The valid values.
        valid: String,
    },
}

// ---------------------------------------------------------------------------
// ReleaseId
// ---------------------------------------------------------------------------

/// A release's identity: `product@version`. The product is a [`Slug`]; the
/// version is 1 to 64 characters of ASCII letters, digits, `.`, `_`, `-`, `+`,
/// starting with a letter or digit (semver fits).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReleaseId {
    product: Slug,
    version: String,
}

impl ReleaseId {
    /// Builds an id from its parts, validating the version.
    pub fn new(product: Slug, version: &str) -> Result<Self, ReleaseError> {
        let given = format!("{product}@{version}");
        check_version(version).map_err(|problem| ReleaseError::BadReleaseId {
            given: clip(&given),
            problem,
        })?;
        Ok(Self {
            product,
            version: version.to_owned(),
        })
    }

    /// Parses `product@version`.
    pub fn parse(text: &str) -> Result<Self, ReleaseError> {
        let bad = |problem: String| ReleaseError::BadReleaseId {
            given: clip(text),
            problem,
        };
        let (product, version) = text
            .split_once('@')
            .ok_or_else(|| bad("there is no '@'".to_owned()))?;
        let product = Slug::new(product).map_err(|e: SlugError| bad(format!("the product {e}")))?;
        check_version(version).map_err(bad)?;
        Ok(Self {
            product,
            version: version.to_owned(),
        })
    }

    /// The product.
    #[must_use]
    pub fn product(&self) -> &Slug {
        &self.product
    }

    /// The version.
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }
}

fn check_version(version: &str) -> Result<(), String> {
    let Some(first) = version.chars().next() else {
        return Err("the version is empty".to_owned());
    };
    if version.len() > 64 {
        return Err("the version is longer than 64 characters".to_owned());
    }
    if !first.is_ascii_alphanumeric() {
        return Err(format!(
            "the version must start with a letter or digit, not {first:?}"
        ));
    }
    if let Some(ch) = version
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')))
    {
        return Err(format!(
            "the version contains {ch:?}; only letters, digits, '.', '_', '-' and '+' are allowed"
        ));
    }
    Ok(())
}

impl fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.product, self.version)
    }
}

impl FromStr for ReleaseId {
    type Err = ReleaseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ReleaseId {
    type Error = ReleaseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ReleaseId> for String {
    fn from(value: ReleaseId) -> Self {
        value.to_string()
    }
}

// ---------------------------------------------------------------------------
// CommitSha, JiraKey
// ---------------------------------------------------------------------------

/// A full git commit id: 40 hex digits (SHA-1) or 64 (SHA-256), stored in lowercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommitSha(String);

impl CommitSha {
    /// Parses a full commit id (either case; surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, ReleaseError> {
        let t = text.trim();
        if matches!(t.len(), 40 | 64) && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(t.to_ascii_lowercase()))
        } else {
            Err(ReleaseError::BadCommitSha(clip(text)))
        }
    }

    /// The lowercase hex text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, for display.
    #[must_use]
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CommitSha {
    type Err = ReleaseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CommitSha {
    type Error = ReleaseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CommitSha> for String {
    fn from(value: CommitSha) -> Self {
        value.0
    }
}

/// A Jira issue key, `ABC-123`: a project key (a letter, then up to 9
/// letters, digits or `_`), a dash, an issue number without leading zeros.
/// Stored in uppercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JiraKey(String);

impl JiraKey {
    /// Parses a Jira key (either case; surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, ReleaseError> {
        let t = text.trim();
        let bad = || ReleaseError::BadJiraKey(clip(text));
        let (project, number) = t.split_once('-').ok_or_else(bad)?;
        let project_ok = (1..=10).contains(&project.len())
            && project.starts_with(|c: char| c.is_ascii_alphabetic())
            && project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        let number_ok = (1..=10).contains(&number.len())
            && number.bytes().all(|b| b.is_ascii_digit())
            && !number.starts_with('0');
        if project_ok && number_ok {
            Ok(Self(t.to_ascii_uppercase()))
        } else {
            Err(bad())
        }
    }

    /// The key's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The project part (`ABC`).
    #[must_use]
    pub fn project(&self) -> &str {
        self.0.split_once('-').map_or("", |(p, _)| p)
    }
}

impl fmt::Display for JiraKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for JiraKey {
    type Err = ReleaseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for JiraKey {
    type Error = ReleaseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<JiraKey> for String {
    fn from(value: JiraKey) -> Self {
        value.0
    }
}

// ---------------------------------------------------------------------------
// Tenant, product
// ---------------------------------------------------------------------------

/// An organisation or pilot partner; each has its own ledger and signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// The tenant's slug.
    pub slug: Slug,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// How sensitive a product's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClassification {
    /// Public data.
    Public,
    /// Internal data.
    Internal,
    /// Confidential data.
    Confidential,
    /// Restricted data (personal, regulated).
    Restricted,
}

impl DataClassification {
    /// Every classification, least sensitive first.
    pub const ALL: [DataClassification; 4] = [
        DataClassification::Public,
        DataClassification::Internal,
        DataClassification::Confidential,
        DataClassification::Restricted,
    ];

    /// The lowercase name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DataClassification::Public => "public",
            DataClassification::Internal => "internal",
            DataClassification::Confidential => "confidential",
            DataClassification::Restricted => "restricted",
        }
    }
}

impl fmt::Display for DataClassification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DataClassification {
    type Err = ReleaseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
            .ok_or_else(|| ReleaseError::UnknownName {
                what: "data classification",
                given: clip(s),
                valid: "public, internal, confidential, restricted".to_owned(),
            })
    }
}

/// Which controls apply to a product, beyond what the gate and catalog say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProfileFields")]
pub struct ApplicabilityProfile {
    material: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    exclusions: BTreeMap<ControlId, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFields {
    #[serde(default)]
    material: bool,
    #[serde(default)]
    exclusions: BTreeMap<ControlId, String>,
}

impl TryFrom<ProfileFields> for ApplicabilityProfile {
    type Error = ReleaseError;

    fn try_from(f: ProfileFields) -> Result<Self, Self::Error> {
        let mut p = ApplicabilityProfile::new(f.material);
        for (id, why) in f.exclusions {
            p.exclude(id, &why)?;
        }
        Ok(p)
    }
}

impl ApplicabilityProfile {
    /// Controls no product can exclude: C-01 change authorisation, C-02 separation of duties.
    pub const PROTECTED: [ControlId; 2] = [
        ControlId::CHANGE_AUTHORISATION,
        ControlId::SEPARATION_OF_DUTIES,
    ];

    /// A profile with no exclusions.
    #[must_use]
    pub fn new(material: bool) -> Self {
        Self {
            material,
            exclusions: BTreeMap::new(),
        }
    }

    /// Whether changes are material (cost/performance: T7 and C-10 at G4).
    #[must_use]
    pub fn material(&self) -> bool {
        self.material
    }

    /// Excludes a control by design, with a justification.
    pub fn exclude(&mut self, control: ControlId, justification: &str) -> Result<(), ReleaseError> {
        if Self::PROTECTED.contains(&control) {
            return Err(ReleaseError::ProtectedControl(control));
        }
        if justification.trim().is_empty() {
            return Err(ReleaseError::EmptyJustification(control));
        }
        self.exclusions
            .insert(control, justification.trim().to_owned());
        Ok(())
    }

    /// The excluded controls and why.
    #[must_use]
    pub fn exclusions(&self) -> &BTreeMap<ControlId, String> {
        &self.exclusions
    }

    /// Whether a control is excluded.
    #[must_use]
    pub fn excludes(&self, control: ControlId) -> bool {
        self.exclusions.contains_key(&control)
    }
}

/// A data pipeline, service or repository under governance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// The product's slug.
    pub slug: Slug,
    /// The owning team.
    pub team: Slug,
    /// Its data classification.
    pub classification: DataClassification,
    /// What kind of change its releases make (decides minimum test categories).
    pub change_type: ChangeType,
    /// Control applicability.
    #[serde(default)]
    pub applicability: ApplicabilityProfile,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl Product {
    /// The controls a normal evaluation of `gate` checks for this product:
    /// the catalog's, with the product's materiality, minus its exclusions.
    #[must_use]
    pub fn controls_checked_at<'c>(&self, catalog: &'c Catalog, gate: Gate) -> Vec<&'c Control> {
        catalog
            .checked_at(gate, self.applicability.material())
            .filter(|c| !self.applicability.excludes(c.id))
            .collect()
    }

    /// The minimum test categories for this product's change type and materiality.
    #[must_use]
    pub fn minimum_categories(&self, catalog: &Catalog) -> BTreeSet<crate::catalog::Category> {
        catalog.minimum_categories(self.change_type, self.applicability.material())
    }
}

// ---------------------------------------------------------------------------
// Change
// ---------------------------------------------------------------------------

/// One recorded change (a commit), as git and its trailers describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChangeFields")]
pub struct Change {
    commit: CommitSha,
    product: Slug,
    authors: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    reviewers: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    jira_keys: BTreeSet<JiraKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeFields {
    commit: CommitSha,
    product: Slug,
    authors: Vec<String>,
    #[serde(default)]
    reviewers: Vec<String>,
    #[serde(default)]
    jira_keys: BTreeSet<JiraKey>,
    #[serde(default)]
    summary: Option<String>,
}

impl TryFrom<ChangeFields> for Change {
    type Error = ReleaseError;

    fn try_from(f: ChangeFields) -> Result<Self, Self::Error> {
        Change::new(
            f.commit,
            f.product,
            &f.authors,
            &f.reviewers,
            f.jira_keys,
            f.summary,
        )
    }
}

impl Change {
    /// A change; authors (at least one) and reviewers are identities as git
    /// writes them (`Alice <alice@corp.example>`, `alice@corp`, `alice`).
    pub fn new(
        commit: CommitSha,
        product: Slug,
        authors: &[String],
        reviewers: &[String],
        jira_keys: BTreeSet<JiraKey>,
        summary: Option<String>,
    ) -> Result<Self, ReleaseError> {
        let identities = |field: &'static str, list: &[String]| {
            list.iter()
                .map(|who| {
                    Alias::parse(who)
                        .map(|_| who.trim().to_owned())
                        .map_err(|source| ReleaseError::BadIdentity {
                            commit: commit.clone(),
                            field,
                            source,
                        })
                })
                .collect::<Result<BTreeSet<_>, _>>()
        };
        let authors = identities("author", authors)?;
        let reviewers = identities("reviewer", reviewers)?;
        if authors.is_empty() {
            return Err(ReleaseError::NoAuthors(commit));
        }
        let summary = summary.filter(|s| !s.trim().is_empty());
        Ok(Self {
            commit,
            product,
            authors,
            reviewers,
            jira_keys,
            summary,
        })
    }

    /// The commit.
    #[must_use]
    pub fn commit(&self) -> &CommitSha {
        &self.commit
    }

    /// The product.
    #[must_use]
    pub fn product(&self) -> &Slug {
        &self.product
    }

    /// Author identities (never empty).
    #[must_use]
    pub fn authors(&self) -> &BTreeSet<String> {
        &self.authors
    }

    /// Reviewer identities.
    #[must_use]
    pub fn reviewers(&self) -> &BTreeSet<String> {
        &self.reviewers
    }

    /// Linked Jira keys.
    #[must_use]
    pub fn jira_keys(&self) -> &BTreeSet<JiraKey> {
        &self.jira_keys
    }

    /// The commit's summary line.
    #[must_use]
    pub fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }
}

// ---------------------------------------------------------------------------
// Release
// ---------------------------------------------------------------------------

/// A versioned set of changes of one product, with its Jira scope and at most
/// one CRQ (exactly one from G2 on; the gate checks that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    id: ReleaseId,
    #[serde(default)]
    scope: BTreeSet<JiraKey>,
    #[serde(default)]
    commits: BTreeSet<CommitSha>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crq: Option<CrqNumber>,
}

impl Release {
    /// A release with no scope, commits or CRQ yet.
    #[must_use]
    pub fn new(id: ReleaseId) -> Self {
        Self {
            id,
            scope: BTreeSet::new(),
            commits: BTreeSet::new(),
            crq: None,
        }
    }

    /// The release's id.
    #[must_use]
    pub fn id(&self) -> &ReleaseId {
        &self.id
    }

    /// The Jira scope.
    #[must_use]
    pub fn scope(&self) -> &BTreeSet<JiraKey> {
        &self.scope
    }

    /// The commits in the release.
    #[must_use]
    pub fn commits(&self) -> &BTreeSet<CommitSha> {
        &self.commits
    }

    /// The release's CRQ, if attached.
    #[must_use]
    pub fn crq(&self) -> Option<&CrqNumber> {
        self.crq.as_ref()
    }

    /// Replaces the Jira scope.
    pub fn set_scope(&mut self, scope: impl IntoIterator<Item = JiraKey>) {
        self.scope = scope.into_iter().collect();
    }

    /// Adds a change; it must be of this release's product.
    pub fn add_change(&mut self, change: &Change) -> Result<(), ReleaseError> {
        if change.product() != self.id.product() {
            return Err(ReleaseError::OtherProduct {
                commit: change.commit().clone(),
                change_product: change.product().clone(),
                release: self.id.clone(),
            });
        }
        self.commits.insert(change.commit().clone());
        Ok(())
    }

    /// Attaches a built-in CRQ: it must have been created for this release,
    /// and the release must not have another one. Idempotent.
    pub fn attach_crq(&mut self, crq: &Crq) -> Result<(), ReleaseError> {
        if crq.release() != &self.id {
            return Err(ReleaseError::CrqForOtherRelease {
                crq: crq.number().clone(),
                crq_release: crq.release().clone(),
                release: self.id.clone(),
            });
        }
        self.attach_crq_number(crq.number())
    }

    /// Attaches an external CRQ by number (e.g. `ServiceNow`). That the CRQ is
    /// not shared with another release is checked with
    /// [`crate::crq::CrqBindings`] and by the store.
    pub fn attach_crq_number(&mut self, number: &CrqNumber) -> Result<(), ReleaseError> {
        match &self.crq {
            Some(existing) if existing != number => Err(ReleaseError::AlreadyHasCrq {
                release: self.id.clone(),
                existing: existing.clone(),
            }),
            _ => {
                self.crq = Some(number.clone());
                Ok(())
            }
        }
    }

    /// Scope keys that none of `changes` references (a scope item with no change).
    #[must_use]
    pub fn scope_without_changes<'a>(&'a self, changes: &[Change]) -> BTreeSet<&'a JiraKey> {
        let referenced: BTreeSet<&JiraKey> = changes.iter().flat_map(Change::jira_keys).collect();
        self.scope
            .iter()
            .filter(|k| !referenced.contains(k))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crq::CrqType;
    use crate::principal::{Action, Principal, Role};
    use time::macros::datetime;

    const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";

    fn slug(s: &str) -> Slug {
        Slug::new(s).unwrap()
    }

    #[test]
    fn release_ids_parse() {
        let id = ReleaseId::parse("orders@1.4.0-rc.1+build.7").unwrap();
        assert_eq!(id.product().as_str(), "orders");
        assert_eq!(id.version(), "1.4.0-rc.1+build.7");
        assert_eq!(id.to_string(), "orders@1.4.0-rc.1+build.7");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"orders@1.4.0-rc.1+build.7\""
        );
        for (bad, why) in [
            ("orders", "no '@'"),
            ("@1.0", "must not be empty"),
            ("Orders@1.0", "lowercase"),
            ("orders@", "version is empty"),
            ("orders@v 1", "contains ' '"),
            ("orders@1.0@2", "contains '@'"),
            ("orders@-1", "must start"),
        ] {
            let err = ReleaseId::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains(why) && err.contains("product@version"),
                "{bad}: {err}"
            );
        }
        assert!(ReleaseId::new(slug("orders"), &"9".repeat(65)).is_err());
    }

    #[test]
    fn commit_shas_parse() {
        assert_eq!(
            CommitSha::parse(&SHA1.to_uppercase()).unwrap().as_str(),
            SHA1
        );
        assert!(CommitSha::parse(&"a".repeat(64)).is_ok());
        for bad in [
            "",
            "abc123",
            &"a".repeat(41),
            &"g".repeat(40),
            &"a".repeat(63),
        ] {
            let err = CommitSha::parse(bad).unwrap_err().to_string();
            assert!(err.contains("40 (SHA-1) or 64 (SHA-256)"), "{err}");
        }
    }

    #[test]
    fn jira_keys_parse() {
        assert_eq!(JiraKey::parse("abc-123").unwrap().as_str(), "ABC-123");
        assert_eq!(JiraKey::parse("DATA_2-7").unwrap().project(), "DATA_2");
        for bad in [
            "",
            "ABC",
            "ABC-",
            "-123",
            "1AB-2",
            "ABC-012",
            "ABC-12a",
            "AB C-1",
            "ABCDEFGHIJK-1",
            "ABC-1-2",
        ] {
            let err = JiraKey::parse(bad).unwrap_err().to_string();
            assert!(err.contains("ABC-123"), "{bad}: {err}");
        }
    }

    #[test]
    fn changes_need_authors_with_valid_identities() {
        let sha = CommitSha::parse(SHA1).unwrap();
        let c = Change::new(
            sha.clone(),
            slug("orders"),
            &["Alice <alice@corp.example>".into()],
            &["bob".into()],
            [JiraKey::parse("ORD-1").unwrap()].into(),
            Some("add orders".into()),
        )
        .unwrap();
        assert_eq!(c.authors().len(), 1);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
        let err =
            Change::new(sha.clone(), slug("orders"), &[], &[], BTreeSet::new(), None).unwrap_err();
        assert!(err.to_string().contains("has no authors"));
        let err = Change::new(
            sha,
            slug("orders"),
            &["Al <a@x".into()],
            &[],
            BTreeSet::new(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("author"), "{err}");
        assert!(
            serde_json::from_str::<Change>(r#"{"commit":"x","product":"orders","authors":["a"]}"#)
                .is_err()
        );
    }

    #[test]
    fn a_release_has_one_crq_created_for_it() {
        let id = ReleaseId::parse("orders@1.0.0").unwrap();
        let other = ReleaseId::parse("orders@2.0.0").unwrap();
        let dev = Principal::human(slug("dave"), [Role::Developer]);
        let cap = dev.authorize(Action::CreateCrq).unwrap();
        let at = datetime!(2025-03-01 09:00 UTC);
        let mine =
            Crq::create(&cap, CrqNumber::builtin(1), CrqType::Normal, id.clone(), at).unwrap();
        let theirs = Crq::create(&cap, CrqNumber::builtin(2), CrqType::Normal, other, at).unwrap();
        let mut r = Release::new(id.clone());
        let err = r.attach_crq(&theirs).unwrap_err();
        assert!(
            err.to_string()
                .contains("was created for release orders@2.0.0"),
            "{err}"
        );
        r.attach_crq(&mine).unwrap();
        r.attach_crq(&mine).unwrap();
        assert!(matches!(
            r.attach_crq_number(&CrqNumber::builtin(3)),
            Err(ReleaseError::AlreadyHasCrq { .. })
        ));
        assert_eq!(r.crq(), Some(&CrqNumber::builtin(1)));
    }

    #[test]
    fn releases_hold_changes_of_their_product_only() {
        let mut r = Release::new(ReleaseId::parse("orders@1.0.0").unwrap());
        let c = Change::new(
            CommitSha::parse(SHA1).unwrap(),
            slug("billing"),
            &["a".into()],
            &[],
            BTreeSet::new(),
            None,
        )
        .unwrap();
        assert!(matches!(
            r.add_change(&c),
            Err(ReleaseError::OtherProduct { .. })
        ));
        r.set_scope([
            JiraKey::parse("ORD-1").unwrap(),
            JiraKey::parse("ORD-2").unwrap(),
        ]);
        let c = Change::new(
            CommitSha::parse(SHA1).unwrap(),
            slug("orders"),
            &["a".into()],
            &[],
            [JiraKey::parse("ORD-1").unwrap()].into(),
            None,
        )
        .unwrap();
        r.add_change(&c).unwrap();
        assert_eq!(r.scope_without_changes(&[c]).len(), 1);
    }

    #[test]
    fn products_and_applicability() {
        let mut profile = ApplicabilityProfile::new(true);
        assert!(matches!(
            profile.exclude(ControlId::SEPARATION_OF_DUTIES, "no"),
            Err(ReleaseError::ProtectedControl(_))
        ));
        assert!(matches!(
            profile.exclude(ControlId::OBSERVABILITY, " "),
            Err(ReleaseError::EmptyJustification(_))
        ));
        profile
            .exclude(
                ControlId::OBSERVABILITY,
                "batch job without alerting surface",
            )
            .unwrap();
        let p = Product {
            slug: slug("orders"),
            team: slug("data-eng"),
            classification: "Confidential".parse().unwrap(),
            change_type: ChangeType::NewPipeline,
            applicability: profile,
            display_name: None,
        };
        let at_g4: Vec<_> = p
            .controls_checked_at(Catalog::builtin(), Gate::G4)
            .iter()
            .map(|c| c.id.to_string())
            .collect();
        assert_eq!(at_g4, ["C-01", "C-02", "C-04", "C-05", "C-07", "C-10"]);
        assert_eq!(p.minimum_categories(Catalog::builtin()).len(), 8);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Product>(&json).unwrap(), p);
        let bad = json.replace("C-09", "C-02");
        assert!(serde_json::from_str::<Product>(&bad).is_err());
        assert!(
            "secret"
                .parse::<DataClassification>()
                .unwrap_err()
                .to_string()
                .contains("public, internal")
        );
    }
}
