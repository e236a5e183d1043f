//! `asom_store::split_entry`, which reads stored ledger entries (bytes from
//! the database, so outside input to a verifier): it must never panic, and
//! when it finds an entry, the content and kind must lie inside the input.
//! The same bytes also drive a round trip: an entry assembled by
//! `build_entry_bytes` from arbitrary content, index keys, kind, principal,
//! tenant and time splits back into exactly its content, keys and kind.
#![no_main]

use arbitrary::{Result, Unstructured};
use asom_fuzz::is_within;
use asom_ledger::jcs;
use asom_store::{EntryParts, NewEntry, build_entry_bytes, split_entry};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    if let Some(EntryParts { content, kind, .. }) = split_entry(data) {
        assert!(
            is_within(data, content),
            "the content slice is outside the input"
        );
        assert!(
            is_within(data, kind.as_bytes()),
            "the kind is outside the input"
        );
        assert!(
            kind.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }
    let _ = round_trip(&mut Unstructured::new(data));
});

fn round_trip(u: &mut Unstructured<'_>) -> Result<()> {
    let kind: String = if u.arbitrary()? {
        u.choose(&["evidence", "release", "a-1"])?.to_string()
    } else {
        u.arbitrary()?
    };
    let appended_by: String = u.arbitrary()?;
    let tenant: String = u.arbitrary()?;
    let appended_at: String = u.arbitrary()?;
    let keys: Vec<String> = (0..u.int_in_range(0..=3)?)
        .map(|_| {
            if u.arbitrary()? {
                // Strings shaped like the delimiters the splitter looks for.
                Ok(u.choose(&["],\"kind\":\"", ",\"keys\":[", "]", "\""])?
                    .to_string())
            } else {
                u.arbitrary()
            }
        })
        .collect::<Result<_>>()?;
    let content = json_value(u, 0)?;
    let Ok(canonical) = jcs::canonicalize(&content) else {
        return Ok(());
    };
    let Ok(entry) = NewEntry::from_canonical(&kind, canonical, &appended_by)
        .and_then(|entry| entry.with_keys(keys))
    else {
        return Ok(());
    };
    let bytes = build_entry_bytes(&tenant, &appended_at, &entry);
    assert_eq!(
        split_entry(&bytes),
        Some(EntryParts {
            content: entry.content(),
            keys: entry.keys().to_vec(),
            kind: entry.kind(),
        }),
        "an assembled entry does not split back: {}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(())
}

/// An arbitrary JSON value, at most 8 levels deep.
fn json_value(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
    let choice = if depth >= 8 {
        u.int_in_range(0..=4)?
    } else {
        u.int_in_range(0..=6)?
    };
    Ok(match choice {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()? >> 11),
        3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 => Value::String(u.arbitrary()?),
        5 => {
            let len = u.int_in_range(0..=4)?;
            Value::Array(
                (0..len)
                    .map(|_| json_value(u, depth + 1))
                    .collect::<Result<_>>()?,
            )
        }
        _ => {
            let len = u.int_in_range(0..=4)?;
            let mut map = Map::new();
            for _ in 0..len {
                let key: String = if u.arbitrary()? {
                    // Keys the splitter looks for, nested inside the content.
                    u.choose(&["kind", "keys", "content", "tenant", "appended_at"])?
                        .to_string()
                } else {
                    u.arbitrary()?
                };
                map.insert(key, json_value(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}
