//! The gate input contract: the compact view of a release that asom builds
//! from its ledger and hands to a pack, and the structural checks made before
//! any Rego runs.
//!
//! ```json
//! {
//!   "gate": "G3",
//!   "release": {"id": "sales@1.4.0", "scope": ["SALES-1"], "commits": ["<sha>", "<head sha>"], "crq": "CRQ0000001"},
//!   "product": {"slug": "sales", "change_type": "incremental-change", "classification": "confidential",
//!               "material": false, "excluded_controls": ["C-09"]},
//!   "change": {"commit": "<sha>", "jira_keys": ["SALES-1"], "jira_with_acceptance_criteria": ["SALES-1"]},
//!   "evidence": {
//!     "categories": {"T1": {"passing": [41], "failing": [], "info": [], "latest": "pass"}, "...": {}},
//!     "controls":   {"C-06": {"passing": [41], "failing": [41], "info": [], "latest": "pass"}, "...": {}},
//!     "prod_controls": {"C-05": {"passing": [41], "failing": [], "info": [], "latest": "pass"}}
//!   },
//!   "exceptions": {"C-09": {"approved_by": "gina", "entry": "<id>", "justification": "..."}},
//!   "overrides": [{"gate": "G3", "controls": ["C-05"], "entry": "<id>", "crq": "CRQ0000001",
//!                  "deadline": "2026-11-27T10:00:00.000Z", "expired": false}],
//!   "crq": {"number": "CRQ0000001", "type": "normal", "state": "scheduled", "shared": false,
//!           "approval": {"qa": "approved", "prod": "pending"}, "window_open": true},
//!   "sod": {"holds": false, "violations": [{"rule": "author-approves", "message": "...",
//!           "identities": ["alice"], "remediation": "..."}]},
//!   "qa_report": true, "governance_verification": false, "unresolved_qa_failures": 0,
//!   "g3_passed": true,
//!   "raw_evidence": []
//! }
//! ```
//!
//! - `release.commits` lists commits oldest first; remediation commands name
//!   the last one (the head).
//! - `change` is for G1 only (null otherwise); at G1 `evidence` covers that
//!   commit only, at G2..G4 the evidence bound to this release (its commits,
//!   build and CRQ; at G4 the PROD-relevant evidence).
//! - Each evidence view (per category `T1..T8`, per control in the catalog)
//!   lists the ledger indexes of its entries by status (asom's views; ids
//!   are accepted too, for hand-made inputs) and says, in `latest`, the status of the most
//!   recent `pass`/`fail` entry (`null` when there is none). The latest result
//!   counts: a failure followed by a pass is passing, a pass followed by a
//!   failure is failing; both entries stay visible in `passing`/`failing`.
//!   `latest: "info"` is accepted but proves nothing (the default pack treats
//!   it as "no passing result"), so a view builder should let only `pass` and
//!   `fail` entries decide `latest`.
//! - `evidence.prod_controls` is the same view per control, over evidence
//!   produced in the `prod` (or `production`) environment only; G4 asks it
//!   for the controls that must be proven for PROD (C-05).
//! - `exceptions` are approved N/As by control; `overrides` are approved,
//!   unremediated C-11 overrides of the release, `expired` at the decision
//!   time once past their deadline.
//! - `exceptions` are approved N/As; `overrides` are C-11 overrides with
//!   `expired` true once the remediation deadline passed unremediated.
//! - `crq.approval.qa|prod` is `approved`, `pending` or `rejected`;
//!   `crq.window_open` is `null` when the change system gave no window.
//! - `sod` is asom's separation-of-duties check (Rust); `remediation` per
//!   violation is optional.
//! - `raw_evidence` is present only for packs whose manifest says
//!   `needs_raw_evidence: true`.
//!
//! A field that is missing, null or empty never passes: the pack blocks on
//! it. This module refuses what cannot be evaluated at all (not an object, an
//! unknown gate) and values of the wrong type in the evidence view, which is
//! the bulk of the input (so Rego can count lists without checking each id).

use serde_json::Value;

use crate::{PolicyError, Result};

/// The four gates, as they appear in `input.gate`.
pub const GATES: [&str; 4] = ["G1", "G2", "G3", "G4"];

/// Checks the input's structure and returns its gate (`G1`..`G4`).
pub fn check(input: &Value) -> Result<&'static str> {
    let Value::Object(top) = input else {
        return Err(PolicyError::Input(format!(
            "expected a JSON object, got {}",
            kind(input)
        )));
    };
    let gate = match top.get("gate") {
        Some(Value::String(g)) => GATES.iter().copied().find(|known| known == g),
        _ => None,
    };
    let Some(gate) = gate else {
        return Err(PolicyError::Input(format!(
            "gate: expected one of G1, G2, G3, G4, got {}",
            shown(top.get("gate"))
        )));
    };
    // Null counts as missing: the pack blocks on it.
    if let Some(evidence) = top.get("evidence").filter(|v| !v.is_null()) {
        check_evidence(evidence)?;
    }
    Ok(gate)
}

fn check_evidence(evidence: &Value) -> Result<()> {
    let Value::Object(evidence) = evidence else {
        return Err(PolicyError::Input(format!(
            "evidence: expected an object with categories and controls, got {}",
            kind(evidence)
        )));
    };
    for group in ["categories", "controls"] {
        let Some(views) = evidence.get(group).filter(|v| !v.is_null()) else {
            continue;
        };
        let Value::Object(views) = views else {
            return Err(PolicyError::Input(format!(
                "evidence.{group}: expected an object of views, got {}",
                kind(views)
            )));
        };
        for (key, view) in views.iter().filter(|(_, v)| !v.is_null()) {
            check_view(&format!("evidence.{group}.{key}"), view)?;
        }
    }
    Ok(())
}

fn check_view(at: &str, view: &Value) -> Result<()> {
    let Value::Object(view) = view else {
        return Err(PolicyError::Input(format!(
            "{at}: expected an object with passing, failing, info and latest, got {}",
            kind(view)
        )));
    };
    for list in ["passing", "failing", "info"] {
        let Some(ids) = view.get(list).filter(|v| !v.is_null()) else {
            continue;
        };
        let Value::Array(ids) = ids else {
            return Err(PolicyError::Input(format!(
                "{at}.{list}: expected an array of ledger entry indexes or ids, got {}",
                kind(ids)
            )));
        };
        for (i, id) in ids.iter().enumerate() {
            match id {
                Value::String(s) if !s.trim().is_empty() => {}
                Value::Number(n) if n.is_u64() => {}
                other => {
                    return Err(PolicyError::Input(format!(
                        "{at}.{list}[{i}]: expected a ledger entry index or id, got {}",
                        shown(Some(other))
                    )));
                }
            }
        }
    }
    match view.get("latest") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if matches!(s.as_str(), "pass" | "fail" | "info") => Ok(()),
        Some(other) => Err(PolicyError::Input(format!(
            "{at}.latest: expected \"pass\", \"fail\", \"info\" or null, got {}",
            shown(Some(other))
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None => "nothing".to_owned(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 64 {
                format!("{}…", text.chars().take(64).collect::<String>())
            } else {
                text
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gate_is_required_and_known() {
        assert_eq!(check(&json!({"gate": "G3"})).unwrap(), "G3");
        for bad in [
            json!([]),
            json!({}),
            json!({"gate": "G5"}),
            json!({"gate": 3}),
        ] {
            let err = check(&bad).unwrap_err().to_string();
            assert!(err.contains("the gate input is not valid"), "{err}");
        }
    }

    #[test]
    fn evidence_views_are_typed() {
        let ok = json!({"gate": "G3", "evidence": {"categories": {"T1": {"passing": ["a"], "latest": "pass"}}}});
        check(&ok).unwrap();
        // Null is missing, which the pack blocks on; it is not malformed.
        check(&json!({"gate": "G3", "evidence": null})).unwrap();
        check(&json!({"gate": "G3", "evidence": {"categories": null, "controls": {"C-06": null}}}))
            .unwrap();
        check(&json!({"gate": "G3", "evidence": {"controls": {"C-06": {"passing": null}}}}))
            .unwrap();
        for (bad, says) in [
            (json!({"evidence": []}), "evidence: expected an object"),
            (
                json!({"evidence": {"controls": []}}),
                "evidence.controls: expected an object",
            ),
            (
                json!({"evidence": {"categories": {"T1": {"passing": "a"}}}}),
                "evidence.categories.T1.passing: expected an array",
            ),
            (
                json!({"evidence": {"categories": {"T1": {"failing": [""]}}}}),
                "evidence.categories.T1.failing[0]: expected a ledger entry index or id, got \"\"",
            ),
            (
                json!({"evidence": {"controls": {"C-06": {"latest": "passed"}}}}),
                "evidence.controls.C-06.latest",
            ),
            (
                json!({"evidence": {"controls": {"C-06": 1}}}),
                "evidence.controls.C-06: expected an object",
            ),
        ] {
            let mut input = bad;
            input["gate"] = "G3".into();
            let err = check(&input).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }
}
