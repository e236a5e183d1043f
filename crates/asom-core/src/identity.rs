//! The identity directory: one person, several names.
//!
//! Commit authors come from git (`Alice <alice@corp.example>`), approvers from
//! the change system (`alice@corp`), deployers and asom principals by slug
//! (`alice`). Separation of duties (DESIGN.md §5) must see these as one person,
//! or it could be dodged with a second name. The [`IdentityDirectory`] maps
//! every [`Alias`] to one canonical [`PersonId`].
//!
//! Normalisation ([`Alias::parse`]): surrounding whitespace is dropped; a git
//! identity `Name <email>` is reduced to its email; the result is lowercased,
//! so emails match case-insensitively. The display name of a git identity is
//! never an alias by itself: two people can share a name.
//!
//! An alias belongs to at most one person. Mapping it to a second person is
//! refused ([`IdentityError::Conflict`]); it is never silently moved.
//!
//! An identity nobody mapped resolves to a person of its own (its normalised
//! text). That errs on the side of *missing* a match, so callers that enforce
//! Separation-of-duties checks should also report unmapped identities ([`IdentityDirectory::is_mapped`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::principal::Slug;

/// Longest alias accepted, in bytes (the longest valid email address is 254).
const MAX_ALIAS_LEN: usize = 254;

/// A normalised identity: a slug, an email, or the email of a git identity,
/// in lowercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Alias(String);

/// An identity string could not be read as an alias.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AliasError {
    /// Nothing (or only whitespace, or `Name <>`).
    #[error(
        "an identity must not be empty: give a slug (alice), an email (alice@corp) or a git identity (Alice <alice@corp.example>)"
    )]
    Empty,
    /// Longer than 254 bytes.
    #[error("identity {0:?}… is longer than 254 bytes")]
    TooLong(String),
    /// A git identity with an unclosed `<`, or text after `>`.
    #[error(
        "identity {0:?} looks like a git identity but is not `Name <email>`: close the angle brackets and put nothing after them"
    )]
    MalformedGitIdentity(String),
    /// Whitespace, control characters or angle brackets inside the alias.
    #[error(
        "identity {text:?} contains {ch:?}: an alias is one word (a slug or an email), or a git identity `Name <email>`"
    )]
    BadChar {
        /// The normalised text.
        text: String,
        /// The offending character.
        ch: char,
    },
}

impl Alias {
    /// Normalises an identity: `Name <email>` → `email`; trimmed; lowercased.
    pub fn parse(text: &str) -> Result<Self, AliasError> {
        let text = text.trim();
        let core = if let Some(open) = text.find('<') {
            let rest = &text[open + 1..];
            let close = rest
                .find('>')
                .ok_or_else(|| AliasError::MalformedGitIdentity(clip(text)))?;
            if !rest[close + 1..].trim().is_empty() {
                return Err(AliasError::MalformedGitIdentity(clip(text)));
            }
            rest[..close].trim()
        } else {
            text
        };
        if core.is_empty() {
            return Err(AliasError::Empty);
        }
        // Measured after lowercasing, which can lengthen text, so that what
        // parses once parses again.
        let lower = core.to_lowercase();
        if lower.len() > MAX_ALIAS_LEN {
            return Err(AliasError::TooLong(clip(core)));
        }
        if let Some(ch) = lower
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'))
        {
            return Err(AliasError::BadChar {
                text: clip(&lower),
                ch,
            });
        }
        Ok(Self(lower))
    }

    /// The normalised text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

impl fmt::Display for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Alias {
    type Err = AliasError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Alias {
    type Error = AliasError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Alias> for String {
    fn from(value: Alias) -> Self {
        value.0
    }
}

impl From<&Slug> for Alias {
    fn from(slug: &Slug) -> Self {
        // A slug is already lowercase, one word, and at most 64 bytes.
        Self(slug.as_str().to_owned())
    }
}

/// One person, as separation of duties counts people: a canonical person slug when the identity
/// is mapped in the directory, otherwise the identity's own normalised text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(String);

impl PersonId {
    /// The person's id text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Slug> for PersonId {
    fn from(slug: Slug) -> Self {
        Self(slug.into())
    }
}

impl From<&Slug> for PersonId {
    fn from(slug: &Slug) -> Self {
        Self(slug.as_str().to_owned())
    }
}

impl From<Alias> for PersonId {
    fn from(alias: Alias) -> Self {
        Self(alias.0)
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The directory refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The alias text was malformed.
    #[error(transparent)]
    Alias(#[from] AliasError),
    /// The alias already belongs to another person.
    #[error(
        "alias '{alias}' already belongs to person '{existing}' and cannot also be '{requested}': aliases are never moved silently; remove it from '{existing}' first if it was mapped by mistake"
    )]
    Conflict {
        /// The alias.
        alias: Alias,
        /// Who it belongs to.
        existing: PersonId,
        /// Who it was to be mapped to.
        requested: PersonId,
    },
    /// The alias to remove is not in the directory.
    #[error("alias '{0}' is not mapped to anyone")]
    NotMapped(Alias),
    /// A person's own slug cannot be removed while they have other aliases.
    #[error(
        "'{0}' is the canonical name of a person; it always resolves to them and cannot be removed"
    )]
    CanonicalName(Alias),
}

/// Maps aliases to people. Pure data: the store persists it and each change is
/// a ledger entry; this type only keeps it consistent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, Slug>", into = "BTreeMap<String, Slug>")]
pub struct IdentityDirectory {
    aliases: BTreeMap<Alias, Slug>,
}

impl IdentityDirectory {
    /// An empty directory.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a person: their slug becomes an alias of themselves.
    /// Idempotent; refused if the slug is already an alias of someone else.
    pub fn add_person(&mut self, person: &Slug) -> Result<(), IdentityError> {
        self.insert(Alias::from(person), person)
    }

    /// Maps `alias` (any accepted form) to `person`, registering the person if
    /// needed. Idempotent for the same person; refused for a different one.
    pub fn map(&mut self, alias: &str, person: &Slug) -> Result<Alias, IdentityError> {
        let alias = Alias::parse(alias)?;
        // Check both before changing anything, so a refusal leaves no trace.
        self.check_free(&Alias::from(person), person)?;
        self.check_free(&alias, person)?;
        self.insert(Alias::from(person), person)?;
        self.insert(alias.clone(), person)?;
        Ok(alias)
    }

    /// Removes an alias (not a person's canonical slug).
    pub fn unmap(&mut self, alias: &str) -> Result<Slug, IdentityError> {
        let alias = Alias::parse(alias)?;
        match self.aliases.get(&alias) {
            None => Err(IdentityError::NotMapped(alias)),
            Some(person) if person.as_str() == alias.as_str() => {
                Err(IdentityError::CanonicalName(alias))
            }
            Some(_) => Ok(self.aliases.remove(&alias).expect("present")),
        }
    }

    fn check_free(&self, alias: &Alias, person: &Slug) -> Result<(), IdentityError> {
        match self.aliases.get(alias) {
            Some(existing) if existing != person => Err(IdentityError::Conflict {
                alias: alias.clone(),
                existing: existing.into(),
                requested: person.into(),
            }),
            _ => Ok(()),
        }
    }

    fn insert(&mut self, alias: Alias, person: &Slug) -> Result<(), IdentityError> {
        self.check_free(&alias, person)?;
        self.aliases.insert(alias, person.clone());
        Ok(())
    }

    /// The person behind an identity. An identity that is not mapped (or not
    /// even a well-formed alias) is a person of its own: its normalised text.
    #[must_use]
    pub fn resolve(&self, identity: &str) -> PersonId {
        match Alias::parse(identity) {
            Ok(alias) => self.resolve_alias(&alias),
            Err(_) => PersonId(identity.trim().to_lowercase()),
        }
    }

    /// The person behind an already normalised alias.
    #[must_use]
    pub fn resolve_alias(&self, alias: &Alias) -> PersonId {
        self.aliases
            .get(alias)
            .map_or_else(|| PersonId(alias.0.clone()), PersonId::from)
    }

    /// The canonical person an identity is mapped to, if it is mapped.
    #[must_use]
    pub fn lookup(&self, identity: &str) -> Option<&Slug> {
        Alias::parse(identity)
            .ok()
            .and_then(|a| self.aliases.get(&a))
    }

    /// Whether the identity is mapped to a person.
    #[must_use]
    pub fn is_mapped(&self, identity: &str) -> bool {
        self.lookup(identity).is_some()
    }

    /// Whether two identities are the same person.
    #[must_use]
    pub fn same_person(&self, a: &str, b: &str) -> bool {
        self.resolve(a) == self.resolve(b)
    }

    /// Every alias of a person, their own slug included.
    #[must_use]
    pub fn aliases_of(&self, person: &Slug) -> BTreeSet<&Alias> {
        self.aliases
            .iter()
            .filter(|(_, p)| *p == person)
            .map(|(a, _)| a)
            .collect()
    }

    /// Every (alias, person) pair, sorted by alias.
    pub fn entries(&self) -> impl Iterator<Item = (&Alias, &Slug)> {
        self.aliases.iter()
    }

    /// Every registered person.
    #[must_use]
    pub fn people(&self) -> BTreeSet<&Slug> {
        self.aliases.values().collect()
    }

    /// Number of aliases (canonical slugs included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.aliases.len()
    }

    /// Whether the directory is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.aliases.is_empty()
    }
}

impl TryFrom<BTreeMap<String, Slug>> for IdentityDirectory {
    type Error = IdentityError;

    fn try_from(pairs: BTreeMap<String, Slug>) -> Result<Self, Self::Error> {
        let mut dir = Self::new();
        for (alias, person) in &pairs {
            dir.map(alias, person)?;
        }
        Ok(dir)
    }
}

impl From<IdentityDirectory> for BTreeMap<String, Slug> {
    fn from(dir: IdentityDirectory) -> Self {
        dir.aliases.into_iter().map(|(a, p)| (a.0, p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> Slug {
        Slug::new(s).unwrap()
    }

    #[test]
    fn aliases_normalise() {
        assert_eq!(Alias::parse("alice").unwrap().as_str(), "alice");
        assert_eq!(
            Alias::parse("  Alice@Corp ").unwrap().as_str(),
            "alice@corp"
        );
        assert_eq!(
            Alias::parse("Alice Liddell <Alice@Corp.Example>")
                .unwrap()
                .as_str(),
            "alice@corp.example"
        );
        assert_eq!(
            Alias::parse("<alice@corp.example>").unwrap().as_str(),
            "alice@corp.example"
        );
    }

    #[test]
    fn malformed_aliases_are_refused_clearly() {
        assert_eq!(Alias::parse(""), Err(AliasError::Empty));
        assert_eq!(Alias::parse("   "), Err(AliasError::Empty));
        assert_eq!(Alias::parse("Alice <>"), Err(AliasError::Empty));
        assert!(matches!(
            Alias::parse("Alice <alice@x"),
            Err(AliasError::MalformedGitIdentity(_))
        ));
        assert!(matches!(
            Alias::parse("Alice <a@x> b"),
            Err(AliasError::MalformedGitIdentity(_))
        ));
        assert!(matches!(
            Alias::parse("alice smith"),
            Err(AliasError::BadChar { ch: ' ', .. })
        ));
        assert!(matches!(
            Alias::parse("a>b"),
            Err(AliasError::BadChar { ch: '>', .. })
        ));
        assert!(matches!(
            Alias::parse(&"a".repeat(300)),
            Err(AliasError::TooLong(_))
        ));
        let msg = Alias::parse("").unwrap_err().to_string();
        assert!(msg.contains("Alice <alice@corp.example>"), "{msg}");
    }

    #[test]
    fn aliases_resolve_to_one_person() {
        let mut dir = IdentityDirectory::new();
        dir.add_person(&slug("alice")).unwrap();
        dir.map("alice@corp", &slug("alice")).unwrap();
        dir.map("Alice <alice@corp.example>", &slug("alice"))
            .unwrap();
        let alice = PersonId::from(slug("alice"));
        for name in [
            "alice",
            "ALICE",
            "alice@corp",
            "Alice@CORP",
            "A. Liddell <ALICE@corp.example>",
            "alice@corp.example",
        ] {
            assert_eq!(dir.resolve(name), alice, "{name}");
        }
        assert!(dir.same_person("alice@corp", "Alice <alice@corp.example>"));
        assert_eq!(dir.resolve("bob@corp").as_str(), "bob@corp");
        assert!(!dir.is_mapped("bob@corp"));
        assert_eq!(dir.aliases_of(&slug("alice")).len(), 3);
    }

    #[test]
    fn an_alias_belongs_to_one_person() {
        let mut dir = IdentityDirectory::new();
        dir.map("alice@corp", &slug("alice")).unwrap();
        // Idempotent for the same person.
        dir.map("ALICE@corp", &slug("alice")).unwrap();
        let err = dir.map("alice@corp", &slug("bob")).unwrap_err();
        assert!(matches!(err, IdentityError::Conflict { .. }));
        assert!(
            err.to_string()
                .contains("already belongs to person 'alice'"),
            "{err}"
        );
        // A person's own slug cannot be claimed by another person.
        let err = dir.map("alice", &slug("bob")).unwrap_err();
        assert!(matches!(err, IdentityError::Conflict { .. }));
        // Nor can a person be registered whose slug is someone's alias.
        dir.map("al", &slug("alice")).unwrap();
        assert!(dir.add_person(&slug("al")).is_err());
        assert!(dir.map("bob@corp", &slug("al")).is_err());
        assert!(!dir.is_mapped("bob@corp"), "a refused map leaves no trace");
    }

    #[test]
    fn unmap() {
        let mut dir = IdentityDirectory::new();
        dir.map("alice@corp", &slug("alice")).unwrap();
        assert!(matches!(
            dir.unmap("alice"),
            Err(IdentityError::CanonicalName(_))
        ));
        assert_eq!(dir.unmap("Alice@Corp").unwrap(), slug("alice"));
        assert!(matches!(
            dir.unmap("alice@corp"),
            Err(IdentityError::NotMapped(_))
        ));
        dir.map("alice@corp", &slug("bob")).unwrap();
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let mut dir = IdentityDirectory::new();
        dir.map("alice@corp", &slug("alice")).unwrap();
        let json = serde_json::to_string(&dir).unwrap();
        assert_eq!(json, r#"{"alice":"alice","alice@corp":"alice"}"#);
        assert_eq!(
            serde_json::from_str::<IdentityDirectory>(&json).unwrap(),
            dir
        );
        // "alice" is bob's alias, so alice cannot be a person of her own.
        let conflicting = r#"{"alice":"bob","x":"alice"}"#;
        assert!(serde_json::from_str::<IdentityDirectory>(conflicting).is_err());
    }
}
