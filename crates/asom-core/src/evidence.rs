//! Evidence records: what a CI system proved, for which commit, build, CRQ,
//! environment, control and test category, and the digest of the artifact that
//! proves it (DESIGN.md §4).
//!
//! An [`Evidence`] record *indexes* an artifact and never duplicates it: the
//! artifact stays at [`Evidence::source_ref`] (an RFC 3986 URI) and the record
//! keeps its SHA-256 [`Evidence::checksum`] and size. The record's canonical
//! JSON (RFC 8785, JCS) is the ledger entry, and the hex SHA-256 of those bytes
//! is its [`EvidenceId`], so recording the same evidence twice is idempotent.
//!
//! Three input forms produce a record:
//!
//! - the plain JSON form, read by [`parse_record`]: every field is checked and
//!   an error names the field and what it expects (`commit_sha: expected 40 or
//!   64 hex digits, got "xyz"`); unknown fields are refused;
//! - an in-toto Statement v1 in a DSSE envelope ([`crate::dsse`]);
//! - a JUnit XML report ([`crate::junit`]).
//!
//! The last two fill an [`EvidenceBuilder`] that the caller started with the
//! binding (control, commit, build, CRQ, environment, ...).
//!
//! Specs: RFC 8785 (canonical JSON), RFC 3339 (timestamps), RFC 3986 (URIs),
//! FIPS 180-4 (SHA-256). Nothing here does I/O: callers pass the bytes and the
//! time in.

// JUnit, ServiceNow and the like are product names, not code to put in backticks.
#![allow(clippy::doc_markdown)]

use std::fmt;
use std::str::FromStr;

use asom_ledger::Hash;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The largest plain JSON record [`parse_record`] reads, in bytes. A record
/// indexes an artifact; it never carries one.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The largest integer a record holds (2^53 − 1): the largest that every JSON
/// reader represents exactly, as RFC 8785 and I-JSON (RFC 7493) require.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The most Jira keys one record lists.
pub const MAX_JIRA_REFS: usize = 256;

/// The longest `notes` text, in characters.
pub const MAX_NOTES_CHARS: usize = 4096;

/// The value of the `kind` field of every evidence entry, which tells ledger
/// readers which schema the entry follows.
pub const KIND: &str = "evidence";

/// One field of a record did not hold what it must.
///
/// Displays as `<field>: expected <what>, got <value>`, where a string value is
/// shown quoted and any other JSON value as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: expected {expected}, got {got}")]
pub struct FieldError {
    /// The field, with a path for nested values (`counts.tests`, `jira_refs[2]`).
    pub field: String,
    /// What the field must hold.
    pub expected: String,
    /// What it held, shortened when long.
    pub got: String,
}

impl FieldError {
    /// An error for a text value.
    fn text(field: &str, expected: &str, got: &str) -> Self {
        Self {
            field: field.to_owned(),
            expected: expected.to_owned(),
            got: quote(got),
        }
    }

    /// An error for a JSON value of any type.
    fn json(field: &str, expected: &str, got: &Value) -> Self {
        let got = match got {
            Value::String(text) => quote(text),
            other => clip(&other.to_string()),
        };
        Self {
            field: field.to_owned(),
            expected: expected.to_owned(),
            got,
        }
    }
}

/// A record could not be read or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The input is larger than the caller's limit.
    #[error(
        "evidence record is {size} bytes; the limit is {limit} bytes (a record indexes an artifact, it does not carry it)"
    )]
    TooLarge {
        /// The input's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The input is not strict JSON (I-JSON, RFC 7493): malformed, repeated
    /// keys, lone surrogates, inexact integers, ...; the message has the line
    /// and column.
    #[error("evidence record: {0}")]
    Json(#[source] asom_ledger::jcs::JcsError),
    /// The input is JSON but not an object.
    #[error("evidence record must be a JSON object, got {got}")]
    NotAnObject {
        /// The JSON type found.
        got: &'static str,
    },
    /// A field the record does not have.
    #[error("unknown field {field:?} in {within}; the known fields are: {known}")]
    UnknownField {
        /// The unknown key.
        field: String,
        /// Where it was (`evidence record`, `counts`, ...).
        within: &'static str,
        /// The fields that are allowed there.
        known: String,
    },
    /// A required field is absent.
    #[error("missing field {field}: {hint}")]
    MissingField {
        /// The missing field.
        field: &'static str,
        /// What to put there.
        hint: &'static str,
    },
    /// A field holds a value of the wrong type or form.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The record carried an `evidence_id` that is not the hash of its content.
    #[error(
        "evidence_id: the record's content hashes to {computed}, but it says {given}; remove evidence_id (it is derived) or fix the content"
    )]
    IdMismatch {
        /// The id the input carried.
        given: String,
        /// The id computed from the content.
        computed: EvidenceId,
    },
    /// The input form sets this field itself and the caller gave another value.
    #[error(
        "{field}: the {form} sets this field to {derived}, but {given} was given; leave it unset"
    )]
    ConflictsWithForm {
        /// The field in conflict.
        field: &'static str,
        /// The input form (`JUnit report`, `DSSE envelope`).
        form: &'static str,
        /// The value the form derives.
        derived: String,
        /// The value the caller set.
        given: String,
    },
}

/// Shortens text for an error message, so pasting a file where a field belongs
/// does not produce a megabyte of error.
fn clip(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// Quotes a text value for an error message.
fn quote(text: &str) -> String {
    format!("{:?}", clip(text))
}

// ---------------------------------------------------------------------------
// Field types
// ---------------------------------------------------------------------------

/// Defines a validated text newtype: construction only through `parse_field`
/// (or `FromStr`, which names the type's usual field), serialized as a string.
macro_rules! text_field {
    (
        $(#[$doc:meta])*
        $name:ident, field = $field:literal, expected = $expected:literal, check = $check:path
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The record field this type fills, as errors name it.
            pub const FIELD: &'static str = $field;
            /// What a valid value looks like, as errors say it.
            pub const EXPECTED: &'static str = $expected;

            /// Checks `text` for the field `field` (errors name that field).
            pub fn parse_field(field: &str, text: &str) -> Result<Self, FieldError> {
                $check(text)
                    .map(Self)
                    .ok_or_else(|| FieldError::text(field, Self::EXPECTED, text))
            }

            /// The text, normalised.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = FieldError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse_field(Self::FIELD, text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A slug: 1-64 lowercase ASCII letters, digits, `.`, `_` or `-`, starting with
/// a letter or digit.
fn check_slug(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    (first_ok && rest_ok && bytes.len() <= 64).then(|| text.to_owned())
}

text_field! {
    /// The tenant (organisation or pilot partner) the evidence belongs to: a slug.
    Tenant, field = "tenant",
    expected = "a tenant slug (1-64 lowercase letters, digits, '.', '_' or '-')",
    check = check_slug
}

text_field! {
    /// The product (pipeline, service, repository) the evidence is for: a slug.
    Product, field = "product",
    expected = "a product slug (1-64 lowercase letters, digits, '.', '_' or '-')",
    check = check_slug
}

text_field! {
    /// The principal that produced the evidence: the slug of a `machine`
    /// principal (the recording layer checks the kind; this type checks the form).
    PrincipalSlug, field = "produced_by",
    expected = "a principal slug (1-64 lowercase letters, digits, '.', '_' or '-')",
    check = check_slug
}

text_field! {
    /// The environment the evidence was produced in (`ci`, `dev`, `qa`, `prod`, ...): a slug.
    Environment, field = "environment",
    expected = "an environment slug such as ci, dev, qa or prod",
    check = check_slug
}

/// 40 (SHA-1) or 64 (SHA-256) hex digits, lowercased.
fn check_commit_sha(text: &str) -> Option<String> {
    ((text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| text.to_ascii_lowercase())
}

text_field! {
    /// A git commit id: 40 hex digits (SHA-1 repositories) or 64 (SHA-256
    /// repositories), stored lowercase so one commit has one spelling.
    CommitSha, field = "commit_sha",
    expected = "40 or 64 hex digits",
    check = check_commit_sha
}

/// 1-256 characters, no control characters, no leading or trailing whitespace.
fn check_build_id(text: &str) -> Option<String> {
    let ok = !text.is_empty()
        && text.chars().count() <= 256
        && !text.chars().any(char::is_control)
        && text.trim() == text;
    ok.then(|| text.to_owned())
}

text_field! {
    /// The CI build that produced the evidence, as the CI system names it.
    BuildId, field = "build_id",
    expected = "a build id of 1-256 characters without control characters or surrounding spaces",
    check = check_build_id
}

/// `PROJ-123`: a project key of 1-10 ASCII letters, digits or `_` starting
/// with a letter, a dash, and an issue number of 1-10 digits without leading
/// zeros; stored in uppercase (the rules of the release module's Jira key).
fn check_jira_key(text: &str) -> Option<String> {
    let (project, number) = text.split_once('-')?;
    let project_ok = (1..=10).contains(&project.len())
        && project.as_bytes()[0].is_ascii_alphabetic()
        && project
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let number_ok = (1..=10).contains(&number.len())
        && !number.starts_with('0')
        && number.bytes().all(|b| b.is_ascii_digit());
    (project_ok && number_ok).then(|| text.to_ascii_uppercase())
}

text_field! {
    /// A Jira issue key such as `DATA-123`.
    JiraKey, field = "jira_refs",
    expected = "a Jira issue key like PROJ-123",
    check = check_jira_key
}

/// 1-40 ASCII letters, digits or `-`, starting with a letter (`CHG0030001`,
/// `CRQ0000042`); stored in uppercase (the rules of the CRQ module's number).
fn check_crq_ref(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let ok = (1..=40).contains(&bytes.len())
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    ok.then(|| text.to_ascii_uppercase())
}

text_field! {
    /// A change request number in ServiceNow or the built-in change system.
    CrqRef, field = "crq_ref",
    expected = "a change request number like CHG0030001 or CRQ0000042",
    check = check_crq_ref
}

/// 1-64 lowercase ASCII letters, digits, `.`, `_`, `+` or `-`, starting with a
/// letter or digit.
fn check_source_type(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let ok = (1..=64).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'+' | b'-')
        });
    ok.then(|| text.to_owned())
}

text_field! {
    /// What kind of source produced the artifact (`junit`, `in-toto`,
    /// `dq-report`, `rbac-export`, ...).
    SourceType, field = "source_type",
    expected = "a source type of 1-64 lowercase letters, digits, '.', '_', '+' or '-' (e.g. junit, in-toto, dq-report)",
    check = check_source_type
}

/// An absolute URI (RFC 3986): a scheme, `:`, and at least one more character,
/// all from the URI character set, percent escapes well formed, at most 2048
/// characters.
fn check_uri(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once(':')?;
    let scheme_ok = scheme
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok || rest.is_empty() || text.len() > 2048 {
        return None;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex_ok = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !hex_ok {
                return None;
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b);
        if !allowed {
            return None;
        }
        i += 1;
    }
    Some(text.to_owned())
}

text_field! {
    /// Where the artifact lives: an absolute URI such as
    /// `https://ci.example/job/7/t1.xml`, `s3://bucket/key` or
    /// `file:///reports/t1.xml`.
    SourceRef, field = "source_ref",
    expected = "an absolute URI (RFC 3986) such as https://ci.example/job/7/report.xml or file:///reports/t1.xml",
    check = check_uri
}

/// `product@version`: a product slug, `@`, and a version of 1-64 ASCII letters,
/// digits, `.`, `_`, `+` or `-` starting with a letter or digit.
fn check_release(text: &str) -> Option<String> {
    let (product, version) = text.split_once('@')?;
    let version_ok = (1..=64).contains(&version.len())
        && version.as_bytes()[0].is_ascii_alphanumeric()
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'));
    (check_slug(product).is_some() && version_ok).then(|| text.to_owned())
}

text_field! {
    /// A release, named `product@version` (DESIGN.md §3).
    ReleaseRef, field = "release",
    expected = "a release as product@version, e.g. orders-pipeline@1.4.0",
    check = check_release
}

impl ReleaseRef {
    /// The product part, before `@`.
    #[must_use]
    pub fn product(&self) -> &str {
        self.0.split_once('@').map_or("", |(product, _)| product)
    }

    /// The version part, after `@`.
    #[must_use]
    pub fn version(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, version)| version)
    }
}

/// A control objective of the ASOM catalog, `C-01` to `C-11`.
///
/// Local to the evidence forms for now; to be replaced by the catalog's
/// control id once that lands (see the crate's catalog module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ControlId(u8);

impl ControlId {
    /// What a valid value looks like, as errors say it.
    pub const EXPECTED: &'static str = "a control id from C-01 to C-11";

    /// The control's number, 1 to 11.
    #[must_use]
    pub fn number(self) -> u8 {
        self.0
    }

    /// Checks `text` for the field `field`.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, FieldError> {
        let number = text
            .strip_prefix("C-")
            .filter(|digits| digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u8>().ok())
            .filter(|n| (1..=11).contains(n));
        number
            .map(Self)
            .ok_or_else(|| FieldError::text(field, Self::EXPECTED, text))
    }
}

impl FromStr for ControlId {
    type Err = FieldError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_field("control_id", text)
    }
}

impl<'de> Deserialize<'de> for ControlId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ControlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C-{:02}", self.0)
    }
}

impl Serialize for ControlId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A test category of the ASOM taxonomy, `T1` (unit/logic) to `T8`
/// (observability).
///
/// Local to the evidence forms for now; to be replaced by the catalog's
/// category once that lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Category(u8);

impl Category {
    /// What a valid value looks like, as errors say it.
    pub const EXPECTED: &'static str = "a test category from T1 to T8";

    /// The category's number, 1 to 8.
    #[must_use]
    pub fn number(self) -> u8 {
        self.0
    }

    /// Checks `text` for the field `field`.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, FieldError> {
        let number = text
            .strip_prefix('T')
            .filter(|digit| digit.len() == 1)
            .and_then(|digit| digit.parse::<u8>().ok())
            .filter(|n| (1..=8).contains(n));
        number
            .map(Self)
            .ok_or_else(|| FieldError::text(field, Self::EXPECTED, text))
    }
}

impl FromStr for Category {
    type Err = FieldError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_field("test_category", text)
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T{}", self.0)
    }
}

impl Serialize for Category {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What the evidence says: the check passed, failed, or is informational
/// (ran but proves nothing either way, e.g. every test skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check failed; a gate that needs this evidence blocks.
    Fail,
    /// Informational; satisfies no control on its own.
    Info,
}

impl Status {
    /// What a valid value looks like, as errors say it.
    pub const EXPECTED: &'static str = "one of pass, fail, info";

    /// The lowercase name used in JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Info => "info",
        }
    }

    /// Checks `text` for the field `field`.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, FieldError> {
        match text {
            "pass" => Ok(Status::Pass),
            "fail" => Ok(Status::Fail),
            "info" => Ok(Status::Info),
            _ => Err(FieldError::text(field, Self::EXPECTED, text)),
        }
    }
}

impl FromStr for Status {
    type Err = FieldError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_field("status", text)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts of a summarised test run (JUnit report, in-toto test result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Counts {
    /// Test cases in the run, including failed, errored and skipped ones.
    pub tests: u64,
    /// Test cases whose assertions failed.
    pub failures: u64,
    /// Test cases that errored (could not run to a verdict).
    pub errors: u64,
    /// Test cases that were skipped.
    pub skipped: u64,
}

impl Counts {
    /// Test cases that ran to a verdict: `tests − skipped`.
    #[must_use]
    pub fn executed(&self) -> u64 {
        self.tests.saturating_sub(self.skipped)
    }

    /// Checks that the counts add up and fit in JSON exactly.
    pub fn check(&self) -> Result<(), FieldError> {
        for (name, value) in [
            ("counts.tests", self.tests),
            ("counts.failures", self.failures),
            ("counts.errors", self.errors),
            ("counts.skipped", self.skipped),
        ] {
            if value > MAX_SAFE_INTEGER {
                return Err(FieldError {
                    field: name.to_owned(),
                    expected: format!("an integer from 0 to {MAX_SAFE_INTEGER}"),
                    got: value.to_string(),
                });
            }
        }
        let accounted = self.failures + self.errors + self.skipped;
        if accounted > self.tests {
            return Err(FieldError {
                field: "counts.tests".to_owned(),
                expected: format!(
                    "at least failures + errors + skipped = {} + {} + {} = {accounted}",
                    self.failures, self.errors, self.skipped
                ),
                got: self.tests.to_string(),
            });
        }
        Ok(())
    }

    /// The status these counts imply: `fail` if anything failed or errored,
    /// `info` if nothing ran to a verdict, else `pass`.
    #[must_use]
    pub fn implied_status(&self) -> Status {
        if self.failures + self.errors > 0 {
            Status::Fail
        } else if self.executed() == 0 {
            Status::Info
        } else {
            Status::Pass
        }
    }
}

/// What a verified DSSE envelope adds to a record: which signed statement it
/// came from. Only [`crate::dsse`] sets it; the plain JSON form refuses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AttestationRef {
    /// The in-toto `predicateType` URI.
    pub predicate_type: String,
    /// SHA-256 of the predicate's RFC 8785 canonical JSON.
    pub predicate_digest: Hash,
    /// The `sha256` digests of the statement's subjects, sorted, no repeats.
    pub subject_sha256: Vec<Hash>,
    /// The registered key id whose signature verified.
    pub key_id: String,
}

/// The content hash of an evidence record: the hex SHA-256 of its RFC 8785
/// canonical JSON, which is also its ledger entry id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvidenceId(pub Hash);

impl EvidenceId {
    /// The underlying digest.
    #[must_use]
    pub fn hash(&self) -> Hash {
        self.0
    }

    /// Lowercase hex, 64 characters.
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.0.to_hex()
    }
}

impl fmt::Display for EvidenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

impl fmt::Debug for EvidenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvidenceId({})", self.0.to_hex())
    }
}

impl FromStr for EvidenceId {
    type Err = FieldError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Hash::from_hex(text)
            .map(Self)
            .map_err(|_| FieldError::text("evidence_id", "a SHA-256 digest of 64 hex digits", text))
    }
}

impl Serialize for EvidenceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

// ---------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------

/// One evidence record, validated. Immutable: build one with
/// [`EvidenceBuilder`] or read one with [`parse_record`] /
/// [`Evidence::from_stored_json`].
///
/// Serialized for hashing: its RFC 8785 canonical JSON
/// ([`Evidence::canonical_json`]) is the ledger entry and its SHA-256 is the
/// [`EvidenceId`]. Field names are `snake_case`, absent optional fields are
/// omitted, `jira_refs` is sorted; changing any of that changes every id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    kind: &'static str,
    control_id: ControlId,
    produced_by: PrincipalSlug,
    source_type: SourceType,
    source_ref: SourceRef,
    checksum: Hash,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    commit_sha: CommitSha,
    build_id: BuildId,
    jira_refs: Vec<JiraKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crq_ref: Option<CrqRef>,
    environment: Environment,
    status: Status,
    /// When the producer says the evidence was created. Optional: without
    /// it, the ledger entry's `appended_at` is the time, and recording the
    /// same evidence again is recognised as the same record.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_rfc3339"
    )]
    created_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_category: Option<Category>,
    tenant: Tenant,
    product: Product,
    #[serde(skip_serializing_if = "Option::is_none")]
    release: Option<ReleaseRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Counts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation: Option<AttestationRef>,
    #[serde(skip)]
    id: EvidenceId,
}

#[allow(clippy::ref_option)] // serde's serialize_with passes `&Option<T>`.
fn serialize_opt_rfc3339<S: Serializer>(
    at: &Option<OffsetDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&format_rfc3339(*at)),
        None => s.serialize_none(),
    }
}

/// RFC 3339 in UTC with a `Z`, fractional seconds only when non-zero.
fn format_rfc3339(at: OffsetDateTime) -> String {
    // Validation keeps the year within 0000-9999, where formatting cannot fail.
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

impl Evidence {
    /// The record's id: hex SHA-256 of [`Evidence::canonical_json`].
    #[must_use]
    pub fn id(&self) -> EvidenceId {
        self.id
    }

    /// The control this evidence proves.
    #[must_use]
    pub fn control_id(&self) -> ControlId {
        self.control_id
    }

    /// The (machine) principal that produced it.
    #[must_use]
    pub fn produced_by(&self) -> &PrincipalSlug {
        &self.produced_by
    }

    /// What kind of source produced the artifact.
    #[must_use]
    pub fn source_type(&self) -> &SourceType {
        &self.source_type
    }

    /// Where the artifact lives.
    #[must_use]
    pub fn source_ref(&self) -> &SourceRef {
        &self.source_ref
    }

    /// SHA-256 of the artifact's bytes.
    #[must_use]
    pub fn checksum(&self) -> Hash {
        self.checksum
    }

    /// The artifact's size in bytes, when known.
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The commit the evidence is bound to.
    #[must_use]
    pub fn commit_sha(&self) -> &CommitSha {
        &self.commit_sha
    }

    /// The build the evidence is bound to.
    #[must_use]
    pub fn build_id(&self) -> &BuildId {
        &self.build_id
    }

    /// The Jira issues the evidence refers to, sorted.
    #[must_use]
    pub fn jira_refs(&self) -> &[JiraKey] {
        &self.jira_refs
    }

    /// The CRQ the evidence is bound to (required by the gates from G2 on).
    #[must_use]
    pub fn crq_ref(&self) -> Option<&CrqRef> {
        self.crq_ref.as_ref()
    }

    /// The environment the evidence was produced in.
    #[must_use]
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// Pass, fail or info.
    #[must_use]
    pub fn status(&self) -> Status {
        self.status
    }

    /// When the producer says the evidence was produced, in UTC, if it says.
    #[must_use]
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        self.created_at
    }

    /// Free text from the producer or the input form.
    #[must_use]
    pub fn notes(&self) -> Option<&str> {
        self.notes.as_deref()
    }

    /// The test category, for test evidence.
    #[must_use]
    pub fn test_category(&self) -> Option<Category> {
        self.test_category
    }

    /// The tenant.
    #[must_use]
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The product.
    #[must_use]
    pub fn product(&self) -> &Product {
        &self.product
    }

    /// The release (`product@version`), once there is one.
    #[must_use]
    pub fn release(&self) -> Option<&ReleaseRef> {
        self.release.as_ref()
    }

    /// Counts of a summarised test run.
    #[must_use]
    pub fn counts(&self) -> Option<Counts> {
        self.counts
    }

    /// The signed statement the record came from, for DSSE input.
    #[must_use]
    pub fn attestation(&self) -> Option<&AttestationRef> {
        self.attestation.as_ref()
    }

    /// The record as a JSON value (without `evidence_id`, which is derived).
    #[must_use]
    pub fn to_json_value(&self) -> Value {
        serde_json::to_value(self)
            .expect("every field serializes to a string, an integer, an array or an object")
    }

    /// The RFC 8785 canonical JSON of the record: the bytes of its ledger
    /// entry, and what [`Evidence::id`] hashes.
    #[must_use]
    pub fn canonical_json(&self) -> Vec<u8> {
        canonical_bytes(&self.to_json_value())
    }

    /// The record with its `evidence_id`, as `asom evidence show --format json`
    /// prints it. [`parse_record`] accepts this form back (and checks the id).
    #[must_use]
    pub fn to_json_with_id(&self) -> Value {
        let mut value = self.to_json_value();
        if let Value::Object(map) = &mut value {
            map.insert("evidence_id".to_owned(), Value::String(self.id.to_hex()));
        }
        value
    }

    /// Reads a record as stored in the ledger: the same checks as
    /// [`parse_record`], and the DSSE `attestation` field is allowed.
    pub fn from_stored_json(bytes: &[u8]) -> Result<Self, EvidenceError> {
        let value = parse_json(bytes, usize::MAX)?;
        from_value(value, Origin::Stored, None)
    }

    /// Checks invariants across fields and computes the id.
    fn seal(mut self) -> Result<Self, EvidenceError> {
        if let Some(release) = &self.release
            && release.product() != self.product.as_str()
        {
            return Err(FieldError {
                field: "release".to_owned(),
                expected: format!(
                    "a release of product {:?} ({}@<version>)",
                    self.product.as_str(),
                    self.product
                ),
                got: quote(release.as_str()),
            }
            .into());
        }
        if let Some(counts) = &self.counts {
            counts.check()?;
            check_status_against_counts(self.status, counts)?;
        }
        if let Some(size) = self.size
            && size > MAX_SAFE_INTEGER
        {
            return Err(FieldError {
                field: "size".to_owned(),
                expected: format!("an integer from 0 to {MAX_SAFE_INTEGER}"),
                got: size.to_string(),
            }
            .into());
        }
        if let Some(notes) = &self.notes {
            check_notes(notes)?;
        }
        self.jira_refs.sort();
        if let Some([repeated, _]) = self.jira_refs.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(FieldError {
                field: "jira_refs".to_owned(),
                expected: "each Jira key once".to_owned(),
                got: format!("{repeated} twice"),
            }
            .into());
        }
        if self.jira_refs.len() > MAX_JIRA_REFS {
            return Err(FieldError {
                field: "jira_refs".to_owned(),
                expected: format!("at most {MAX_JIRA_REFS} keys"),
                got: format!("{} keys", self.jira_refs.len()),
            }
            .into());
        }
        if let Some(attestation) = &mut self.attestation {
            attestation.subject_sha256.sort();
            attestation.subject_sha256.dedup();
        }
        if let Some(at) = self.created_at {
            let at = at.to_offset(time::UtcOffset::UTC);
            check_year(at, "created_at")?;
            self.created_at = Some(at);
        }
        self.id = EvidenceId(Hash::of(&self.canonical_json()));
        Ok(self)
    }
}

impl<'de> Deserialize<'de> for Evidence {
    /// Reads a stored record with every check of [`Evidence::from_stored_json`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        from_value(value, Origin::Stored, None).map_err(serde::de::Error::custom)
    }
}

/// A status must agree with the counts it summarises.
fn check_status_against_counts(status: Status, counts: &Counts) -> Result<(), FieldError> {
    let bad = counts.failures + counts.errors;
    if bad > 0 && status != Status::Fail {
        return Err(FieldError {
            field: "status".to_owned(),
            expected: format!(
                "\"fail\" because counts report {} failure(s) and {} error(s)",
                counts.failures, counts.errors
            ),
            got: quote(status.as_str()),
        });
    }
    if status == Status::Pass && counts.executed() == 0 {
        return Err(FieldError {
            field: "status".to_owned(),
            expected: format!(
                "\"info\" because no test ran to a verdict ({} tests, {} skipped)",
                counts.tests, counts.skipped
            ),
            got: quote(status.as_str()),
        });
    }
    Ok(())
}

fn check_notes(notes: &str) -> Result<(), FieldError> {
    let ok = notes.chars().count() <= MAX_NOTES_CHARS
        && !notes
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t');
    if ok {
        Ok(())
    } else {
        Err(FieldError::text(
            "notes",
            "text of at most 4096 characters without control characters other than newline and tab",
            notes,
        ))
    }
}

/// Keeps timestamps within years 0000-9999, which RFC 3339 can write.
fn check_year(at: OffsetDateTime, field: &str) -> Result<(), FieldError> {
    if (0..=9999).contains(&at.year()) {
        Ok(())
    } else {
        Err(FieldError {
            field: field.to_owned(),
            expected: "a time between the years 0000 and 9999".to_owned(),
            got: at.year().to_string(),
        })
    }
}

/// Parses an RFC 3339 timestamp for the field `field`, returning it in UTC.
pub fn parse_timestamp(field: &str, text: &str) -> Result<OffsetDateTime, FieldError> {
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        FieldError::text(
            field,
            "an RFC 3339 timestamp like 2025-01-31T09:30:00Z",
            text,
        )
    })?;
    let at = at.to_offset(time::UtcOffset::UTC);
    check_year(at, field)?;
    Ok(at)
}

/// The RFC 8785 canonical form of `value`.
fn canonical_bytes(value: &Value) -> Vec<u8> {
    asom_ledger::jcs::canonicalize(value)
        .expect("an evidence record holds only strings, integers up to 2^53, arrays and objects")
}

/// The SHA-256 of the RFC 8785 canonical form of `value`.
pub(crate) fn canonical_digest(value: &Value) -> Result<Hash, asom_ledger::jcs::JcsError> {
    asom_ledger::jcs::canonicalize(value).map(|bytes| Hash::of(&bytes))
}

// ---------------------------------------------------------------------------
// The builder
// ---------------------------------------------------------------------------

/// Collects the fields of a record. The plain JSON parser, the DSSE form and
/// the JUnit form all end in [`EvidenceBuilder::build`], so every record passes
/// the same checks.
///
/// Callers typically set the binding (control, commit, build, CRQ,
/// environment, tenant, product, release, source) and hand the builder to an
/// input form, which sets what it derives (status, counts, checksum, ...).
#[derive(Debug, Clone, Default)]
pub struct EvidenceBuilder {
    control_id: Option<ControlId>,
    produced_by: Option<PrincipalSlug>,
    source_type: Option<SourceType>,
    source_ref: Option<SourceRef>,
    checksum: Option<Hash>,
    size: Option<u64>,
    commit_sha: Option<CommitSha>,
    build_id: Option<BuildId>,
    jira_refs: Vec<JiraKey>,
    crq_ref: Option<CrqRef>,
    environment: Option<Environment>,
    status: Option<Status>,
    created_at: Option<OffsetDateTime>,
    notes: Option<String>,
    test_category: Option<Category>,
    tenant: Option<Tenant>,
    product: Option<Product>,
    release: Option<ReleaseRef>,
    counts: Option<Counts>,
    attestation: Option<AttestationRef>,
}

impl EvidenceBuilder {
    /// An empty builder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the control the evidence proves.
    #[must_use]
    pub fn control_id(mut self, value: ControlId) -> Self {
        self.control_id = Some(value);
        self
    }

    /// Sets the producing principal. The DSSE form sets it from the key owner.
    #[must_use]
    pub fn produced_by(mut self, value: PrincipalSlug) -> Self {
        self.produced_by = Some(value);
        self
    }

    /// Sets the source type. The DSSE and JUnit forms set it themselves.
    #[must_use]
    pub fn source_type(mut self, value: SourceType) -> Self {
        self.source_type = Some(value);
        self
    }

    /// Sets where the artifact lives.
    #[must_use]
    pub fn source_ref(mut self, value: SourceRef) -> Self {
        self.source_ref = Some(value);
        self
    }

    /// Sets the artifact's SHA-256 (`--sha256`). The DSSE and JUnit forms
    /// compute it from the bytes they read.
    #[must_use]
    pub fn checksum(mut self, value: Hash) -> Self {
        self.checksum = Some(value);
        self
    }

    /// Sets the artifact's size in bytes.
    #[must_use]
    pub fn size(mut self, value: u64) -> Self {
        self.size = Some(value);
        self
    }

    /// Sets the commit the evidence is bound to.
    #[must_use]
    pub fn commit_sha(mut self, value: CommitSha) -> Self {
        self.commit_sha = Some(value);
        self
    }

    /// Sets the build the evidence is bound to.
    #[must_use]
    pub fn build_id(mut self, value: BuildId) -> Self {
        self.build_id = Some(value);
        self
    }

    /// Sets the Jira keys (order does not matter; repeats are refused at build).
    #[must_use]
    pub fn jira_refs(mut self, values: impl IntoIterator<Item = JiraKey>) -> Self {
        self.jira_refs = values.into_iter().collect();
        self
    }

    /// Sets the CRQ the evidence is bound to.
    #[must_use]
    pub fn crq_ref(mut self, value: CrqRef) -> Self {
        self.crq_ref = Some(value);
        self
    }

    /// Sets the environment.
    #[must_use]
    pub fn environment(mut self, value: Environment) -> Self {
        self.environment = Some(value);
        self
    }

    /// Sets the status. The JUnit and test-result forms derive it and refuse a
    /// different one.
    #[must_use]
    pub fn status(mut self, value: Status) -> Self {
        self.status = Some(value);
        self
    }

    /// Sets when the evidence was produced (any offset; stored in UTC).
    #[must_use]
    pub fn created_at(mut self, value: OffsetDateTime) -> Self {
        self.created_at = Some(value);
        self
    }

    /// Sets free-text notes.
    #[must_use]
    pub fn notes(mut self, value: impl Into<String>) -> Self {
        self.notes = Some(value.into());
        self
    }

    /// Sets the test category.
    #[must_use]
    pub fn test_category(mut self, value: Category) -> Self {
        self.test_category = Some(value);
        self
    }

    /// Sets the tenant.
    #[must_use]
    pub fn tenant(mut self, value: Tenant) -> Self {
        self.tenant = Some(value);
        self
    }

    /// Sets the product.
    #[must_use]
    pub fn product(mut self, value: Product) -> Self {
        self.product = Some(value);
        self
    }

    /// Sets the release (`product@version`; its product must be the record's).
    #[must_use]
    pub fn release(mut self, value: ReleaseRef) -> Self {
        self.release = Some(value);
        self
    }

    /// Sets the counts of a summarised test run.
    #[must_use]
    pub fn counts(mut self, value: Counts) -> Self {
        self.counts = Some(value);
        self
    }

    /// The test category set so far.
    #[must_use]
    pub fn current_test_category(&self) -> Option<Category> {
        self.test_category
    }

    /// The commit set so far.
    #[must_use]
    pub fn current_commit_sha(&self) -> Option<&CommitSha> {
        self.commit_sha.as_ref()
    }

    /// The status set so far.
    #[must_use]
    pub fn current_status(&self) -> Option<Status> {
        self.status
    }

    /// Sets the attestation reference; only the DSSE form may.
    pub(crate) fn attestation(mut self, value: AttestationRef) -> Self {
        self.attestation = Some(value);
        self
    }

    /// Sets a field an input form derives, refusing a different value the
    /// caller already set.
    pub(crate) fn derive_status(
        mut self,
        form: &'static str,
        value: Status,
    ) -> Result<Self, EvidenceError> {
        match self.status {
            Some(given) if given != value => Err(EvidenceError::ConflictsWithForm {
                field: "status",
                form,
                derived: quote(value.as_str()),
                given: quote(given.as_str()),
            }),
            _ => {
                self.status = Some(value);
                Ok(self)
            }
        }
    }

    /// Sets the artifact digest and size an input form computed from the bytes
    /// it read, refusing a different digest or size the caller already set.
    pub(crate) fn derive_artifact(
        mut self,
        form: &'static str,
        checksum: Hash,
        size: u64,
    ) -> Result<Self, EvidenceError> {
        if let Some(given) = self.checksum
            && given != checksum
        {
            return Err(EvidenceError::ConflictsWithForm {
                field: "checksum",
                form,
                derived: checksum.to_hex(),
                given: given.to_hex(),
            });
        }
        if let Some(given) = self.size
            && given != size
        {
            return Err(EvidenceError::ConflictsWithForm {
                field: "size",
                form,
                derived: size.to_string(),
                given: given.to_string(),
            });
        }
        self.checksum = Some(checksum);
        self.size = Some(size);
        Ok(self)
    }

    /// Sets the producer an input form authenticated, refusing a different one
    /// the caller already set.
    pub(crate) fn derive_producer(
        mut self,
        form: &'static str,
        value: PrincipalSlug,
    ) -> Result<Self, EvidenceError> {
        match &self.produced_by {
            Some(given) if *given != value => Err(EvidenceError::ConflictsWithForm {
                field: "produced_by",
                form,
                derived: quote(value.as_str()),
                given: quote(given.as_str()),
            }),
            _ => {
                self.produced_by = Some(value);
                Ok(self)
            }
        }
    }

    /// Sets the source type an input form uses unless the caller chose one.
    pub(crate) fn default_source_type(mut self, value: &str) -> Self {
        if self.source_type.is_none() {
            self.source_type = value.parse().ok();
        }
        self
    }

    /// Appends a line to the notes.
    pub(crate) fn append_note(mut self, line: &str) -> Self {
        self.notes = Some(match self.notes.take() {
            Some(notes) if !notes.is_empty() => format!("{notes}\n{line}"),
            _ => line.to_owned(),
        });
        self
    }

    /// Checks every field and builds the record.
    pub fn build(self) -> Result<Evidence, EvidenceError> {
        fn need<T>(
            value: Option<T>,
            field: &'static str,
            hint: &'static str,
        ) -> Result<T, EvidenceError> {
            value.ok_or(EvidenceError::MissingField { field, hint })
        }
        let evidence = Evidence {
            kind: KIND,
            control_id: need(self.control_id, "control_id", ControlId::EXPECTED)?,
            produced_by: need(
                self.produced_by,
                "produced_by",
                "the slug of the machine principal that produced the evidence",
            )?,
            source_type: need(self.source_type, "source_type", SourceType::EXPECTED)?,
            source_ref: need(self.source_ref, "source_ref", SourceRef::EXPECTED)?,
            checksum: need(
                self.checksum,
                "checksum",
                "the artifact's SHA-256 as 64 hex digits (or pass the file, and asom computes it)",
            )?,
            size: self.size,
            commit_sha: need(
                self.commit_sha,
                "commit_sha",
                "the commit the evidence is for, 40 or 64 hex digits",
            )?,
            build_id: need(
                self.build_id,
                "build_id",
                "the CI build that produced the evidence",
            )?,
            jira_refs: self.jira_refs,
            crq_ref: self.crq_ref,
            environment: need(self.environment, "environment", Environment::EXPECTED)?,
            status: need(self.status, "status", Status::EXPECTED)?,
            created_at: self.created_at,
            notes: self.notes,
            test_category: self.test_category,
            tenant: need(self.tenant, "tenant", Tenant::EXPECTED)?,
            product: need(self.product, "product", Product::EXPECTED)?,
            release: self.release,
            counts: self.counts,
            attestation: self.attestation,
            id: EvidenceId(Hash::default()),
        };
        evidence.seal()
    }
}

// ---------------------------------------------------------------------------
// The plain JSON form
// ---------------------------------------------------------------------------

/// The fields of the plain JSON form, in the order the spec lists them.
const FIELDS: &[&str] = &[
    "kind",
    "evidence_id",
    "control_id",
    "produced_by",
    "source_type",
    "source_ref",
    "checksum",
    "size",
    "commit_sha",
    "build_id",
    "jira_refs",
    "crq_ref",
    "environment",
    "status",
    "created_at",
    "notes",
    "test_category",
    "tenant",
    "product",
    "release",
    "counts",
    "attestation",
];

const COUNT_FIELDS: &[&str] = &["tests", "failures", "errors", "skipped"];

const ATTESTATION_FIELDS: &[&str] = &[
    "predicate_type",
    "predicate_digest",
    "subject_sha256",
    "key_id",
];

/// Where a JSON record comes from: a user (the plain input form) or the ledger.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Input,
    Stored,
}

/// Reads the plain JSON form of an evidence record (DESIGN.md §4).
///
/// Every field is checked and an error names the field and what it expects;
/// unknown and repeated fields are refused. `created_at` defaults to `now` when
/// the record has none. `evidence_id` is derived: when present it must equal
/// the hash of the content. `attestation` is refused: only a verified DSSE
/// envelope sets it.
pub fn parse_record(bytes: &[u8], now: OffsetDateTime) -> Result<Evidence, EvidenceError> {
    let value = parse_json(bytes, MAX_RECORD_BYTES)?;
    from_value(value, Origin::Input, Some(now))
}

/// Like [`parse_record`], but a record without `created_at` stays without
/// one (the ledger entry's `appended_at` dates it), so recording the same
/// record twice is recognised as one record. What `asom evidence record` uses.
pub fn parse_record_as_given(bytes: &[u8]) -> Result<Evidence, EvidenceError> {
    let value = parse_json(bytes, MAX_RECORD_BYTES)?;
    from_value(value, Origin::Input, None)
}

/// Parses JSON text strictly (size limit, then I-JSON: no repeated keys, ...).
fn parse_json(bytes: &[u8], limit: usize) -> Result<Value, EvidenceError> {
    if bytes.len() > limit {
        return Err(EvidenceError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    asom_ledger::jcs::parse_strict(bytes).map_err(EvidenceError::Json)
}

/// The JSON type of a value, for messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Takes fields out of a JSON object one by one, naming them in errors.
struct Fields {
    map: Map<String, Value>,
    prefix: &'static str,
}

impl Fields {
    fn new(
        value: Value,
        prefix: &'static str,
        within: &'static str,
        known: &'static [&'static str],
    ) -> Result<Self, EvidenceError> {
        let Value::Object(map) = value else {
            return Err(EvidenceError::NotAnObject {
                got: json_type(&value),
            });
        };
        if let Some(unknown) = map.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(EvidenceError::UnknownField {
                field: unknown.clone(),
                within,
                known: known.join(", "),
            });
        }
        Ok(Self { map, prefix })
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// The field's value; `null` counts as absent.
    fn take(&mut self, field: &str) -> Option<Value> {
        self.map.remove(field).filter(|value| !value.is_null())
    }

    fn required(
        &mut self,
        field: &'static str,
        hint: &'static str,
    ) -> Result<Value, EvidenceError> {
        self.take(field)
            .ok_or(EvidenceError::MissingField { field, hint })
    }

    /// A required text field parsed by `parse`.
    fn text<T>(
        &mut self,
        field: &'static str,
        expected: &'static str,
        parse: impl Fn(&str, &str) -> Result<T, FieldError>,
    ) -> Result<T, EvidenceError> {
        let value = self.required(field, expected)?;
        let name = self.name(field);
        match &value {
            Value::String(text) => Ok(parse(&name, text)?),
            other => Err(FieldError::json(&name, expected, other).into()),
        }
    }

    /// An optional text field parsed by `parse`.
    fn optional_text<T>(
        &mut self,
        field: &'static str,
        expected: &'static str,
        parse: impl Fn(&str, &str) -> Result<T, FieldError>,
    ) -> Result<Option<T>, EvidenceError> {
        let name = self.name(field);
        match self.take(field) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(parse(&name, &text)?)),
            Some(other) => Err(FieldError::json(&name, expected, &other).into()),
        }
    }

    /// An integer from 0 to 2^53 − 1.
    fn integer(value: &Value, name: &str) -> Result<u64, FieldError> {
        value
            .as_u64()
            .filter(|n| *n <= MAX_SAFE_INTEGER)
            .ok_or_else(|| {
                FieldError::json(
                    name,
                    &format!("an integer from 0 to {MAX_SAFE_INTEGER}"),
                    value,
                )
            })
    }
}

/// Builds a record from a parsed JSON value, checking every field.
fn from_value(
    value: Value,
    origin: Origin,
    now: Option<OffsetDateTime>,
) -> Result<Evidence, EvidenceError> {
    let mut fields = Fields::new(value, "", "evidence record", FIELDS)?;

    if let Some(kind) = fields.take("kind")
        && kind.as_str() != Some(KIND)
    {
        return Err(FieldError::json("kind", "\"evidence\" (or omit the field)", &kind).into());
    }
    let given_id = fields.optional_text(
        "evidence_id",
        "a SHA-256 digest of 64 hex digits",
        |name, text| {
            Hash::from_hex(text)
                .map(|_| text.to_owned())
                .map_err(|_| FieldError::text(name, "a SHA-256 digest of 64 hex digits", text))
        },
    )?;

    let mut builder = EvidenceBuilder::new()
        .control_id(fields.text("control_id", ControlId::EXPECTED, ControlId::parse_field)?)
        .produced_by(fields.text(
            "produced_by",
            PrincipalSlug::EXPECTED,
            PrincipalSlug::parse_field,
        )?)
        .source_type(fields.text("source_type", SourceType::EXPECTED, SourceType::parse_field)?)
        .source_ref(fields.text("source_ref", SourceRef::EXPECTED, SourceRef::parse_field)?)
        .checksum(fields.text(
            "checksum",
            "a SHA-256 digest of 64 hex digits",
            parse_sha256,
        )?)
        .commit_sha(fields.text("commit_sha", CommitSha::EXPECTED, CommitSha::parse_field)?)
        .build_id(fields.text("build_id", BuildId::EXPECTED, BuildId::parse_field)?)
        .environment(fields.text(
            "environment",
            Environment::EXPECTED,
            Environment::parse_field,
        )?)
        .status(fields.text("status", Status::EXPECTED, Status::parse_field)?)
        .tenant(fields.text("tenant", Tenant::EXPECTED, Tenant::parse_field)?)
        .product(fields.text("product", Product::EXPECTED, Product::parse_field)?);

    if let Some(size) = fields.take("size") {
        builder = builder.size(Fields::integer(&size, "size")?);
    }
    builder = builder.jira_refs(parse_jira_refs(fields.take("jira_refs"))?);
    if let Some(crq) = fields.optional_text("crq_ref", CrqRef::EXPECTED, CrqRef::parse_field)? {
        builder = builder.crq_ref(crq);
    }
    let created_at = fields.optional_text(
        "created_at",
        "an RFC 3339 timestamp like 2025-01-31T09:30:00Z",
        parse_timestamp,
    )?;
    match (created_at, now) {
        (Some(at), _) | (None, Some(at)) => builder = builder.created_at(at),
        (None, None) => {}
    }
    if let Some(notes) =
        fields.optional_text("notes", "text of at most 4096 characters", |_, text| {
            Ok(text.to_owned())
        })?
    {
        builder = builder.notes(notes);
    }
    if let Some(category) =
        fields.optional_text("test_category", Category::EXPECTED, Category::parse_field)?
    {
        builder = builder.test_category(category);
    }
    if let Some(release) =
        fields.optional_text("release", ReleaseRef::EXPECTED, ReleaseRef::parse_field)?
    {
        builder = builder.release(release);
    }
    if let Some(counts) = fields.take("counts") {
        builder = builder.counts(parse_counts(counts)?);
    }
    if let Some(attestation) = fields.take("attestation") {
        if origin == Origin::Input {
            return Err(FieldError::json(
                "attestation",
                "no such field in the plain JSON form (it is set only from a verified DSSE envelope; record the envelope instead)",
                &attestation,
            )
            .into());
        }
        builder = builder.attestation(parse_attestation(attestation)?);
    }

    let evidence = builder.build()?;
    if let Some(given) = given_id
        && !given.eq_ignore_ascii_case(&evidence.id.to_hex())
    {
        return Err(EvidenceError::IdMismatch {
            given,
            computed: evidence.id,
        });
    }
    Ok(evidence)
}

fn parse_sha256(field: &str, text: &str) -> Result<Hash, FieldError> {
    Hash::from_hex(text)
        .map_err(|_| FieldError::text(field, "a SHA-256 digest of 64 hex digits", text))
}

fn parse_jira_refs(value: Option<Value>) -> Result<Vec<JiraKey>, EvidenceError> {
    const EXPECTED: &str = "an array of Jira issue keys like [\"PROJ-123\"]";
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(FieldError::json("jira_refs", EXPECTED, &value).into());
    };
    if items.len() > MAX_JIRA_REFS {
        return Err(FieldError {
            field: "jira_refs".to_owned(),
            expected: format!("at most {MAX_JIRA_REFS} keys"),
            got: format!("{} keys", items.len()),
        }
        .into());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = format!("jira_refs[{i}]");
            match item {
                Value::String(text) => {
                    JiraKey::parse_field(&name, text).map_err(EvidenceError::from)
                }
                other => Err(FieldError::json(&name, JiraKey::EXPECTED, other).into()),
            }
        })
        .collect()
}

fn parse_counts(value: Value) -> Result<Counts, EvidenceError> {
    const EXPECTED: &str =
        "an object {\"tests\", \"failures\", \"errors\", \"skipped\"} of integers";
    if !value.is_object() {
        return Err(FieldError::json("counts", EXPECTED, &value).into());
    }
    let mut fields = Fields::new(value, "counts.", "counts", COUNT_FIELDS)?;
    let mut take = |field: &'static str| -> Result<u64, EvidenceError> {
        let name = fields.name(field);
        let value = fields.take(field).ok_or(EvidenceError::MissingField {
            field: match field {
                "tests" => "counts.tests",
                "failures" => "counts.failures",
                "errors" => "counts.errors",
                _ => "counts.skipped",
            },
            hint: "an integer count",
        })?;
        Ok(Fields::integer(&value, &name)?)
    };
    Ok(Counts {
        tests: take("tests")?,
        failures: take("failures")?,
        errors: take("errors")?,
        skipped: take("skipped")?,
    })
}

fn parse_attestation(value: Value) -> Result<AttestationRef, EvidenceError> {
    const EXPECTED: &str =
        "an object {\"predicate_type\", \"predicate_digest\", \"subject_sha256\", \"key_id\"}";
    if !value.is_object() {
        return Err(FieldError::json("attestation", EXPECTED, &value).into());
    }
    let mut fields = Fields::new(value, "attestation.", "attestation", ATTESTATION_FIELDS)?;
    let predicate_type = fields.text("predicate_type", "a predicate type URI", |name, text| {
        if text.is_empty() {
            Err(FieldError::text(name, "a predicate type URI", text))
        } else {
            Ok(text.to_owned())
        }
    })?;
    let predicate_digest = fields.text(
        "predicate_digest",
        "a SHA-256 digest of 64 hex digits",
        parse_sha256,
    )?;
    let key_id = fields.text("key_id", "a key id", |_, text| Ok(text.to_owned()))?;
    let subjects = fields.required("subject_sha256", "an array of SHA-256 digests")?;
    let Value::Array(items) = subjects else {
        return Err(FieldError::json(
            "attestation.subject_sha256",
            "an array of SHA-256 digests",
            &subjects,
        )
        .into());
    };
    let subject_sha256 = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = format!("attestation.subject_sha256[{i}]");
            match item {
                Value::String(text) => parse_sha256(&name, text).map_err(EvidenceError::from),
                other => {
                    Err(FieldError::json(&name, "a SHA-256 digest of 64 hex digits", other).into())
                }
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AttestationRef {
        predicate_type,
        predicate_digest,
        subject_sha256,
        key_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_validators_accept_and_refuse() {
        assert!(check_slug("orders-pipeline").is_some());
        assert!(check_slug("Orders").is_none());
        assert!(check_slug("-x").is_none());
        assert!(check_slug("").is_none());
        assert_eq!(
            check_commit_sha(&"AB".repeat(20)).as_deref(),
            Some("ab".repeat(20).as_str())
        );
        assert!(check_commit_sha("abc").is_none());
        assert!(check_jira_key("DATA-12").is_some());
        assert!(check_jira_key("DATA-012").is_none());
        assert_eq!(check_jira_key("data-12").as_deref(), Some("DATA-12"));
        assert!(check_jira_key("DATA12").is_none());
        assert!(check_jira_key("1DATA-1").is_none());
        assert!(check_uri("https://ci.example/a%20b?x=1#y").is_some());
        assert!(check_uri("file:///reports/t1.xml").is_some());
        assert!(check_uri("/reports/t1.xml").is_none());
        assert!(check_uri("https://ci.example/a b").is_none());
        assert!(check_uri("https://ci.example/%zz").is_none());
        assert!(check_crq_ref("CHG0030001").is_some());
        assert_eq!(check_crq_ref("crq0000042").as_deref(), Some("CRQ0000042"));
        assert!(check_crq_ref("0042").is_none());
        assert!(check_crq_ref("CRQ 42").is_none());
        assert!(check_release("orders@1.4.0").is_some());
        assert!(check_release("orders").is_none());
    }

    #[test]
    fn control_and_category_are_closed_sets() {
        assert_eq!("C-01".parse::<ControlId>().unwrap().to_string(), "C-01");
        assert_eq!("C-11".parse::<ControlId>().unwrap().number(), 11);
        for bad in ["C-00", "C-12", "C-1", "c-01", "C-001", "C-+1"] {
            assert!(bad.parse::<ControlId>().is_err(), "{bad}");
        }
        assert_eq!("T8".parse::<Category>().unwrap().to_string(), "T8");
        for bad in ["T0", "T9", "t1", "T10", "T+1"] {
            assert!(bad.parse::<Category>().is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_imply_a_status() {
        let run = |tests, failures, errors, skipped| Counts {
            tests,
            failures,
            errors,
            skipped,
        };
        assert_eq!(run(3, 0, 0, 0).implied_status(), Status::Pass);
        assert_eq!(run(3, 1, 0, 0).implied_status(), Status::Fail);
        assert_eq!(run(3, 0, 1, 0).implied_status(), Status::Fail);
        assert_eq!(run(3, 0, 0, 3).implied_status(), Status::Info);
        assert_eq!(run(0, 0, 0, 0).implied_status(), Status::Info);
        assert!(run(1, 1, 1, 0).check().is_err());
    }

    #[test]
    fn timestamps_are_stored_in_utc() {
        let at = parse_timestamp("created_at", "2025-01-31T10:30:00+01:00").unwrap();
        assert_eq!(format_rfc3339(at), "2025-01-31T09:30:00Z");
        let at = parse_timestamp("created_at", "2025-01-31T09:30:00.500000+00:00").unwrap();
        assert_eq!(format_rfc3339(at), "2025-01-31T09:30:00.5Z");
        assert!(parse_timestamp("created_at", "2025-01-31 10:30").is_err());
    }
}
