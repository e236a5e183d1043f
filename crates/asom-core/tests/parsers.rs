//! Every parser of outside input refuses malformed input with a message and
//! never panics; what it accepts prints back to the same value.

use std::fmt::Display;
use std::str::FromStr;

use asom_core::catalog::{
    BUILTIN_CATALOG_JSON, Catalog, Category, ChangeType, ControlId, Gate, Proof,
};
use asom_core::crq::{ChangeWindow, CrqNumber, CrqSnapshot, CrqState, CrqType, Stage};
use asom_core::identity::{Alias, IdentityDirectory};
use asom_core::principal::{Action, AgentKind, Principal, PrincipalKind, Role, Slug, TokenSecret};
use asom_core::release::{
    ApplicabilityProfile, Change, CommitSha, DataClassification, JiraKey, Product, ReleaseId,
};
use asom_core::sod::ReleaseFacts;
use proptest::prelude::*;

/// Parses `text`; a refusal must say something, an acceptance must round-trip.
fn round_trips<T>(text: &str)
where
    T: FromStr + Display + PartialEq + std::fmt::Debug,
    T::Err: Display,
{
    match text.parse::<T>() {
        Ok(value) => {
            let again: T = value
                .to_string()
                .parse()
                .unwrap_or_else(|e| panic!("{value} does not parse back: {e}"));
            assert_eq!(again, value);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

fn all_parsers(text: &str) {
    round_trips::<Slug>(text);
    round_trips::<Alias>(text);
    round_trips::<ReleaseId>(text);
    round_trips::<CommitSha>(text);
    round_trips::<JiraKey>(text);
    round_trips::<ControlId>(text);
    round_trips::<Category>(text);
    round_trips::<Gate>(text);
    round_trips::<ChangeType>(text);
    round_trips::<Proof>(text);
    round_trips::<CrqNumber>(text);
    round_trips::<CrqType>(text);
    round_trips::<CrqState>(text);
    round_trips::<Role>(text);
    round_trips::<PrincipalKind>(text);
    round_trips::<AgentKind>(text);
    round_trips::<Action>(text);
    round_trips::<DataClassification>(text);
    let _ = text
        .parse::<Stage>()
        .map_err(|e| assert!(!e.to_string().is_empty()));
    if let Err(e) = TokenSecret::parse(text) {
        let m = e.to_string();
        assert!(m.starts_with("malformed token"));
        // The message never echoes a secret-looking input back.
        if text.len() > 12 {
            assert!(!m.contains(text.trim()), "{m}");
        }
    }
    let _ = IdentityDirectory::new().resolve(text);
    let _ = Catalog::from_json(text).map_err(|e| assert!(!e.to_string().is_empty()));
    let _ = Catalog::builtin().with_overlay(text);
    let _ = serde_json::from_str::<Principal>(text);
    let _ = serde_json::from_str::<Change>(text);
    let _ = serde_json::from_str::<Product>(text);
    let _ = serde_json::from_str::<ApplicabilityProfile>(text);
    let _ = serde_json::from_str::<ChangeWindow>(text);
    let _ = serde_json::from_str::<CrqSnapshot>(text);
    let _ = serde_json::from_str::<IdentityDirectory>(text);
    let _ = serde_json::from_str::<ReleaseFacts>(text);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        all_parsers(&text);
    }

    #[test]
    fn near_valid_text_never_panics(
        text in prop_oneof![
            "[a-zA-Z0-9._@+<> -]{0,70}",
            "[a-z]{1,8}@[0-9a-z.+-]{0,10}",
            "[cC]-[0-9]{0,3}",
            "[A-Za-z_]{1,11}-[0-9]{0,11}",
            "[0-9a-fA-F]{38,66}",
            "asom_[A-Za-z0-9_=+/-]{40,46}",
            "[tTgG][0-9]",
            "[A-Za-z]{1,3}[0-9-]{0,40}",
        ]
    ) {
        all_parsers(&text);
    }

    /// Any single-field change to the built-in catalog gives a valid catalog
    /// or a clear error, never a panic; a valid one still protects C-02.
    #[test]
    fn mutated_catalogs_are_validated(path_pick in any::<prop::sample::Index>(), replacement in json_leaf()) {
        let mut value: serde_json::Value = serde_json::from_str(BUILTIN_CATALOG_JSON).unwrap();
        let mut paths = Vec::new();
        collect_paths(&value, "", &mut paths);
        let path = path_pick.get(&paths).clone();
        *value.pointer_mut(&path).unwrap() = replacement;
        match Catalog::from_json(&value.to_string()) {
            Ok(catalog) => {
                let sod = catalog.control(ControlId::SEPARATION_OF_DUTIES).unwrap();
                prop_assert!(sod.gates.contains(&Gate::G3) && sod.gates.contains(&Gate::G4));
                prop_assert!(catalog.controls().all(|c| !c.gates.is_empty()));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!(7)),
        Just(serde_json::json!("")),
        Just(serde_json::json!("C-02")),
        Just(serde_json::json!("G5")),
        Just(serde_json::json!(["G1"])),
        Just(serde_json::json!(["T9"])),
        Just(serde_json::json!(true)),
    ]
}

fn collect_paths(value: &serde_json::Value, here: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{here}/{k}");
                out.push(p.clone());
                collect_paths(v, &p, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{here}/{i}");
                out.push(p.clone());
                collect_paths(v, &p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn documented_error_messages() {
    let cases: Vec<(String, &str)> = vec![
        (Slug::new("Bad Slug").unwrap_err().to_string(), "lowercase"),
        (
            ReleaseId::parse("orders").unwrap_err().to_string(),
            "expected product@version",
        ),
        (
            CommitSha::parse("abc").unwrap_err().to_string(),
            "40 (SHA-1) or 64 (SHA-256)",
        ),
        (
            JiraKey::parse("abc").unwrap_err().to_string(),
            "e.g. ABC-123",
        ),
        (
            ControlId::parse("C-1").unwrap_err().to_string(),
            "C-01, C-02",
        ),
        ("T0".parse::<Category>().unwrap_err().to_string(), "T1, T2"),
        (
            "G0".parse::<Gate>().unwrap_err().to_string(),
            "G1, G2, G3, G4",
        ),
        (
            "hotfix".parse::<ChangeType>().unwrap_err().to_string(),
            "dq-rule-change",
        ),
        (
            "root".parse::<Role>().unwrap_err().to_string(),
            "emergency-approver",
        ),
        (
            CrqNumber::parse("#1").unwrap_err().to_string(),
            "CRQ0000042",
        ),
        (
            TokenSecret::parse("asom_x").unwrap_err().to_string(),
            "43 base64url",
        ),
        (
            Catalog::from_json("{}").unwrap_err().to_string(),
            "missing field",
        ),
    ];
    for (message, needle) in cases {
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }
}
