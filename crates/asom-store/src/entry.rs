//! The stored form of a ledger entry and its idempotency key.
//!
//! An entry, as hashed into the log, is this RFC 8785 canonical JSON object
//! (keys in canonical order):
//!
//! ```json
//! {"appended_at":"2026-11-21T09:30:00.123Z","appended_by":"ci-bot","content":{…},
//!  "kind":"evidence","tenant":"default","v":1}
//! ```
//!
//! Its id is the hex SHA-256 of those bytes. What a caller *submits* is the
//! `kind` and the `content`; their digest, the [`ContentId`], is
//! `SHA-256(JCS({"content": content, "kind": kind}))`. A store keys
//! idempotency on it, so the same submission returns the first entry even
//! though the stored entry also records who appended it and when.
//!
//! The canonical bytes are assembled by concatenation: the content is
//! canonicalized once (by the caller's thread, in [`NewEntry::new`]) and the
//! envelope's keys are written in their fixed canonical order.

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
}

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
        })
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

/// Finds the content bytes and the kind inside stored entry bytes, without
/// parsing the content. Works on the canonical form only: inside a JSON
/// string every `"` is escaped, so `,"content":` cannot occur before the
/// top-level key, and after the content only `kind`, `tenant` and `v`
/// follow, so the last `,"kind":` is the top-level one. `None` when the
/// bytes are not an entry envelope.
#[must_use]
pub fn split_entry(bytes: &[u8]) -> Option<(&[u8], &str)> {
    const CONTENT: &[u8] = b",\"content\":";
    const KIND: &[u8] = b",\"kind\":\"";
    const TENANT: &[u8] = b"\",\"tenant\":";
    if !bytes.starts_with(b"{\"appended_at\":") {
        return None;
    }
    let content_start = find(bytes, CONTENT)? + CONTENT.len();
    let kind_at = rfind(bytes, KIND)?;
    let kind_start = kind_at + KIND.len();
    let kind_end = kind_start + find(&bytes[kind_start..], TENANT)?;
    if kind_at < content_start {
        return None;
    }
    let kind = std::str::from_utf8(&bytes[kind_start..kind_end]).ok()?;
    if !kind
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return None;
    }
    Some((&bytes[content_start..kind_at], kind))
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
    out.extend_from_slice(b",\"kind\":");
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
            "v": 1, "tenant": "default", "kind": "evidence", "content": content,
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
    fn split_finds_the_top_level_content_and_kind_even_when_nested_keys_look_alike() {
        let content = json!({"x": {"kind": "decoy", "content": 1}, "s": ",\"kind\":\"no"});
        let e = NewEntry::new("evidence", &content, "ci-bot").unwrap();
        let bytes = build_entry_bytes("default", "2026-11-21T09:30:00.123Z", &e);
        let (c, k) = split_entry(&bytes).unwrap();
        assert_eq!(c, e.content());
        assert_eq!(k, "evidence");
        assert_eq!(content_id_of(c, k), e.content_id());
        assert_eq!(split_entry(b"{\"x\":1}"), None);
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
