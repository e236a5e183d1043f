//! The stored form of a ledger entry and its idempotency key.
//!
//! An entry, as hashed into the log, is this RFC 8785 canonical JSON object
//! (keys in canonical order):
//!
//! ```json
//! {"appended_at":"2026-11-21T09:30:00.123Z","appended_by":"ci-bot","content":{…},
//!  "keys":["release:sales@1.4.0"],"kind":"evidence","tenant":"default","v":1}
//! ```
//!
//! Its id is the hex SHA-256 of those bytes. What a caller *submits* is the
//! `kind`, the `content` and the index `keys` (derived from the content by
//! the domain layer, e.g. the release an evidence record belongs to). The
//! digest of kind and content, the [`ContentId`], is
//! `SHA-256(JCS({"content": content, "kind": kind}))`. A store keys
//! idempotency on it, so the same submission returns the first entry even
//! though the stored entry also records who appended it and when.
//!
//! The keys are inside the hashed entry, so the index a store builds from
//! them is derived data that whole-log verification checks, and a replay at
//! an older log size reads exactly what was indexed then.
//!
//! The canonical bytes are assembled by concatenation: the content is
//! canonicalized once (by the caller's thread, in [`NewEntry::new`]) and the
//! envelope's members are written in their fixed canonical order.

use std::fmt;

use asom_ledger::Hash;
use asom_ledger::jcs;

/// Version of the entry envelope format.
pub const ENTRY_FORMAT_VERSION: u32 = 1;

/// Digest of a submission (kind + content): the idempotency key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentId(pub Hash);

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({})", self.0)
    }
}

/// A submission that cannot become an entry.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// The kind is not a short lowercase name.
    #[error(
        "entry kind {0:?} is not valid: use 1-40 lowercase letters, digits or '-' (e.g. record, evidence)"
    )]
    Kind(String),
    /// The principal name is empty or too long.
    #[error("appended_by {0:?} is not a principal name")]
    Principal(String),
    /// An index key is empty, too long, or has control characters.
    #[error("index key {0:?} is not valid: use 1-200 printable characters")]
    Key(String),
    /// More index keys than an entry may carry.
    #[error("an entry may carry at most {MAX_KEYS} index keys")]
    TooManyKeys,
    /// The content is not canonicalizable JSON.
    #[error("entry content: {0}")]
    Content(#[from] jcs::JcsError),
}

/// A validated submission, canonicalized and digested, ready to sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    kind: String,
    appended_by: String,
    content: Vec<u8>,
    content_id: ContentId,
    keys: Vec<String>,
    expect: Vec<(String, u64)>,
}

/// Most index keys one entry carries.
pub const MAX_KEYS: usize = 32;

impl NewEntry {
    /// Validates and canonicalizes a submission.
    pub fn new(
        kind: &str,
        content: &serde_json::Value,
        appended_by: &str,
    ) -> Result<Self, EntryError> {
        let content = jcs::canonicalize(content)?;
        Self::from_canonical(kind, content, appended_by)
    }

    /// A submission whose content is already RFC 8785 canonical bytes
    /// (e.g. from [`jcs::canonicalize_text`]).
    pub fn from_canonical(
        kind: &str,
        content: Vec<u8>,
        appended_by: &str,
    ) -> Result<Self, EntryError> {
        let kind_ok = !kind.is_empty()
            && kind.len() <= 40
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !kind_ok {
            return Err(EntryError::Kind(kind.to_owned()));
        }
        if appended_by.is_empty() || appended_by.len() > 128 {
            return Err(EntryError::Principal(appended_by.to_owned()));
        }
        let content_id = content_id_of(&content, kind);
        Ok(Self {
            kind: kind.to_owned(),
            appended_by: appended_by.to_owned(),
            content,
            content_id,
            keys: Vec::new(),
            expect: Vec::new(),
        })
    }

    /// Adds index keys: the store indexes the entry under each, and they
    /// become part of the hashed entry (sorted, without repeats).
    pub fn with_keys<I, K>(mut self, keys: I) -> Result<Self, EntryError>
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        for key in keys {
            let key = key.into();
            if key.is_empty() || key.len() > 200 || key.chars().any(char::is_control) {
                return Err(EntryError::Key(key));
            }
            self.keys.push(key);
        }
        self.keys.sort_unstable();
        self.keys.dedup();
        if self.keys.len() > MAX_KEYS {
            return Err(EntryError::TooManyKeys);
        }
        Ok(self)
    }

    /// Appends only if, just before this append, exactly `count` entries of
    /// the tenant carry `key` (optimistic concurrency: read a key's entries,
    /// decide, append expecting nothing changed). Not part of the entry.
    #[must_use]
    pub fn expecting(mut self, key: impl Into<String>, count: u64) -> Self {
        self.expect.push((key.into(), count));
        self
    }

    /// The index keys.
    #[must_use]
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The expectations to check before appending.
    #[must_use]
    pub fn expectations(&self) -> &[(String, u64)] {
        &self.expect
    }

    /// The entry's kind.
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Who submits it.
    #[must_use]
    pub fn appended_by(&self) -> &str {
        &self.appended_by
    }

    /// The content's canonical bytes.
    #[must_use]
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// The idempotency key.
    #[must_use]
    pub fn content_id(&self) -> ContentId {
        self.content_id
    }
}

/// `SHA-256(JCS({"content": content, "kind": kind}))`, from the content's
/// canonical bytes.
#[must_use]
pub fn content_id_of(content: &[u8], kind: &str) -> ContentId {
    let mut id_doc = Vec::with_capacity(content.len() + kind.len() + 24);
    id_doc.extend_from_slice(b"{\"content\":");
    id_doc.extend_from_slice(content);
    id_doc.extend_from_slice(b",\"kind\":");
    write_string(&mut id_doc, kind);
    id_doc.push(b'}');
    ContentId(Hash::of(&id_doc))
}

/// The parts of stored entry bytes a store derives its columns from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryParts<'a> {
    /// The content's canonical bytes.
    pub content: &'a [u8],
    /// The index keys.
    pub keys: Vec<String>,
    /// The kind.
    pub kind: &'a str,
}

/// Finds the content, the keys and the kind inside stored entry bytes,
/// without parsing the content. Works on the canonical form only: inside a
/// JSON string every `"` is escaped, so `,"content":` cannot occur before
/// the top-level member, and after the content only `keys` (an array of
/// strings), `kind`, `tenant` and `v` follow, so the last `,"keys":[` is the
/// top-level one. `None` when the bytes are not an entry envelope.
#[must_use]
pub fn split_entry(bytes: &[u8]) -> Option<EntryParts<'_>> {
    const CONTENT: &[u8] = b",\"content\":";
    const KEYS: &[u8] = b",\"keys\":[";
    const KIND: &[u8] = b"],\"kind\":\"";
    const TENANT: &[u8] = b"\",\"tenant\":";
    if !bytes.starts_with(b"{\"appended_at\":") {
        return None;
    }
    let content_start = find(bytes, CONTENT)? + CONTENT.len();
    let keys_at = rfind(bytes, KEYS)?;
    if keys_at < content_start {
        return None;
    }
    let keys_start = keys_at + KEYS.len() - 1;
    let kind_at = keys_start + find(&bytes[keys_start..], KIND)?;
    let keys: Vec<String> = serde_json::from_slice(&bytes[keys_start..=kind_at]).ok()?;
    let kind_start = kind_at + KIND.len();
    let kind_end = kind_start + find(&bytes[kind_start..], TENANT)?;
    let kind = std::str::from_utf8(&bytes[kind_start..kind_end]).ok()?;
    if !kind
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return None;
    }
    Some(EntryParts {
        content: &bytes[content_start..keys_at],
        keys,
        kind,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Writes a JSON string in canonical form. Kinds, tenants, principals and
/// RFC 3339 times are plain ASCII, but the escaping is done properly anyway.
fn write_string(out: &mut Vec<u8>, s: &str) {
    let canonical = jcs::canonicalize(&serde_json::Value::String(s.to_owned()))
        .expect("a JSON string always canonicalizes");
    out.extend_from_slice(&canonical);
}

/// The canonical bytes of the stored entry for `entry`, appended to `tenant`
/// at `appended_at` (RFC 3339).
#[must_use]
pub fn build_entry_bytes(tenant: &str, appended_at: &str, entry: &NewEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.content.len() + 128);
    out.extend_from_slice(b"{\"appended_at\":");
    write_string(&mut out, appended_at);
    out.extend_from_slice(b",\"appended_by\":");
    write_string(&mut out, &entry.appended_by);
    out.extend_from_slice(b",\"content\":");
    out.extend_from_slice(&entry.content);
    out.extend_from_slice(b",\"keys\":[");
    for (i, key) in entry.keys.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(&mut out, key);
    }
    out.extend_from_slice(b"],\"kind\":");
    write_string(&mut out, &entry.kind);
    out.extend_from_slice(b",\"tenant\":");
    write_string(&mut out, tenant);
    out.extend_from_slice(b",\"v\":");
    out.extend_from_slice(ENTRY_FORMAT_VERSION.to_string().as_bytes());
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assembled_bytes_are_exactly_the_canonical_form_of_the_envelope() {
        let content = json!({"z": [1, 2.5, "é"], "a": {"y": null, "b": true}});
        let e = NewEntry::new("evidence", &content, "ci-bot").unwrap();
        let bytes = build_entry_bytes("default", "2026-11-21T09:30:00.123Z", &e);
        let envelope = json!({
            "v": 1, "tenant": "default", "kind": "evidence", "content": content, "keys": [],
            "appended_by": "ci-bot", "appended_at": "2026-11-21T09:30:00.123Z",
        });
        assert_eq!(bytes, jcs::canonicalize(&envelope).unwrap());
        let id_doc = json!({"kind": "evidence", "content": content});
        assert_eq!(
            e.content_id().0,
            Hash::of(&jcs::canonicalize(&id_doc).unwrap())
        );
    }

    #[test]
    fn content_id_ignores_who_and_when_but_not_kind() {
        let c = json!({"k": 1});
        let a = NewEntry::new("record", &c, "alice").unwrap();
        let b = NewEntry::new("record", &c, "bob").unwrap();
        let k = NewEntry::new("evidence", &c, "alice").unwrap();
        assert_eq!(a.content_id(), b.content_id());
        assert_ne!(a.content_id(), k.content_id());
    }

    #[test]
    fn split_finds_the_top_level_parts_even_when_nested_members_look_alike() {
        let content = json!({
            "x": {"kind": "decoy", "content": 1, "keys": ["k"]},
            "s": ",\"kind\":\"no",
            "keys": ["nested"],
        });
        for keys in [vec![], vec!["release:sales@1.0", "crq:CRQ1"]] {
            let e = NewEntry::new("evidence", &content, "ci-bot")
                .unwrap()
                .with_keys(keys.clone())
                .unwrap();
            let bytes = build_entry_bytes("default", "2026-11-21T09:30:00.123Z", &e);
            let parts = split_entry(&bytes).unwrap();
            assert_eq!(parts.content, e.content());
            assert_eq!(parts.kind, "evidence");
            let mut sorted: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
            sorted.sort();
            assert_eq!(parts.keys, sorted);
            assert_eq!(content_id_of(parts.content, parts.kind), e.content_id());
            let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(
                jcs::canonicalize(&parsed).unwrap(),
                bytes,
                "still canonical with keys"
            );
        }
        assert_eq!(split_entry(b"{\"x\":1}"), None);
    }

    #[test]
    fn keys_are_validated_sorted_and_deduplicated() {
        let e = NewEntry::new("record", &json!({}), "a")
            .unwrap()
            .with_keys(["b", "a", "b"])
            .unwrap();
        assert_eq!(e.keys(), ["a", "b"]);
        let bad = NewEntry::new("record", &json!({}), "a")
            .unwrap()
            .with_keys(["x\ny"]);
        assert!(matches!(bad, Err(EntryError::Key(_))));
        let many = NewEntry::new("record", &json!({}), "a")
            .unwrap()
            .with_keys((0..40).map(|i| format!("k{i}")));
        assert!(matches!(many, Err(EntryError::TooManyKeys)));
    }

    #[test]
    fn bad_kinds_and_principals_are_refused() {
        let c = json!({});
        assert!(matches!(
            NewEntry::new("Evidence", &c, "a"),
            Err(EntryError::Kind(_))
        ));
        assert!(matches!(
            NewEntry::new("", &c, "a"),
            Err(EntryError::Kind(_))
        ));
        assert!(matches!(
            NewEntry::new("record", &c, ""),
            Err(EntryError::Principal(_))
        ));
    }
}
