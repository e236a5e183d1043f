//! The default pack's gates, both ways: a release that passes each gate, and
//! for each requirement the same release with just that requirement missing,
//! which must give exactly the expected violation.

use std::sync::LazyLock;

use asom_policy::{Evaluator, Pack, PolicyError, Violation, override_covers};
use serde_json::{Value, json};

static EVALUATOR: LazyLock<Evaluator> =
    LazyLock::new(|| Evaluator::new(&Pack::default_pack().unwrap()).unwrap());

fn passing(id: &str) -> Value {
    json!({"passing": [id], "failing": [], "info": [], "latest": "pass"})
}

fn failing(id: &str) -> Value {
    json!({"passing": [], "failing": [id], "info": [], "latest": "fail"})
}

fn none() -> Value {
    json!({"passing": [], "failing": [], "info": [], "latest": null})
}

/// A release of an incremental change that passes every gate.
fn release(gate: &str) -> Value {
    let mut categories = serde_json::Map::new();
    for t in ["T1", "T2", "T3", "T4", "T5", "T6", "T8"] {
        categories.insert(t.to_owned(), passing(&format!("e-{t}")));
    }
    categories.insert("T7".to_owned(), none());
    let mut controls = serde_json::Map::new();
    for n in 1..=11 {
        let id = format!("C-{n:02}");
        let view = if matches!(n, 1 | 2 | 11) {
            none()
        } else {
            passing(&format!("e-{id}"))
        };
        controls.insert(id, view);
    }
    let change = if gate == "G1" {
        json!({"commit": "bbbb", "jira_keys": ["SALES-1"], "jira_with_acceptance_criteria": ["SALES-1"]})
    } else {
        Value::Null
    };
    json!({
        "gate": gate,
        "release": {"id": "sales@1.4.0", "scope": ["SALES-1", "SALES-2"], "commits": ["aaaa", "bbbb"], "crq": "CRQ0000001"},
        "product": {"slug": "sales", "change_type": "incremental-change", "classification": "confidential",
                    "material": false, "excluded_controls": []},
        "change": change,
        "evidence": {"categories": categories, "controls": controls,
                     "prod_controls": {"C-05": passing("e-C-05-prod")}},
        "exceptions": {},
        "overrides": [],
        "crq": {"number": "CRQ0000001", "type": "normal", "state": "scheduled", "shared": false,
                "approval": {"qa": "approved", "prod": "approved"}, "window_open": true},
        "sod": {"holds": true, "violations": []},
        "qa_report": true,
        "governance_verification": true,
        "unresolved_qa_failures": 0,
        "g3_passed": true
    })
}

/// `release(gate)` with the value at a JSON pointer replaced (or removed when `None`).
fn with(gate: &str, pointer: &str, value: Option<Value>) -> Value {
    let mut input = release(gate);
    set(&mut input, pointer, value);
    input
}

fn set(input: &mut Value, pointer: &str, value: Option<Value>) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = input
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{parent}"));
    let object = parent.as_object_mut().unwrap();
    match value {
        Some(v) => {
            object.insert(key.to_owned(), v);
        }
        None => {
            object.remove(key);
        }
    }
}

fn eval(input: &Value) -> Vec<Violation> {
    EVALUATOR.evaluate(input).unwrap()
}

/// Exactly one violation, of `control`, whose reason contains `says`.
#[track_caller]
fn blocks_once(input: &Value, control: &str, says: &str) -> Violation {
    let vs = eval(input);
    assert_eq!(vs.len(), 1, "expected one {control} violation, got {vs:#?}");
    let v = vs.into_iter().next().unwrap();
    assert_eq!(v.control, control, "{v:#?}");
    assert_eq!(v.gate, input["gate"].as_str().unwrap());
    assert!(
        v.reason.contains(says),
        "reason {:?} lacks {says:?}",
        v.reason
    );
    assert!(!v.remediation.is_empty());
    v
}

#[test]
fn every_gate_passes_a_complete_release() {
    for gate in ["G1", "G2", "G3", "G4"] {
        assert_eq!(eval(&release(gate)), [], "{gate}");
    }
}

// --- G1 ------------------------------------------------------------------

#[test]
fn g1_needs_jira_keys() {
    let v = blocks_once(
        &with("G1", "/change/jira_keys", Some(json!([]))),
        "C-03",
        "links no Jira key",
    );
    assert!(
        v.remediation
            .contains("asom change record --product sales --commit bbbb --jira <KEY>")
    );
    blocks_once(
        &with("G1", "/change/jira_keys", None),
        "C-03",
        "links no Jira key",
    );
}

#[test]
fn g1_needs_acceptance_criteria_for_each_key() {
    let mut input = with(
        "G1",
        "/change/jira_keys",
        Some(json!(["SALES-1", "SALES-2"])),
    );
    let v = blocks_once(&input, "C-03", "SALES-2 has no acceptance criteria");
    assert!(v.remediation.contains("acceptance criteria of SALES-2"));
    set(&mut input, "/change/jira_with_acceptance_criteria", None);
    assert_eq!(eval(&input).len(), 2);
}

#[test]
fn g1_needs_t1_and_t2_for_the_commit() {
    for t in ["T1", "T2"] {
        let v = blocks_once(
            &with("G1", &format!("/evidence/categories/{t}"), Some(none())),
            "C-03",
            &format!("needs a passing {t}"),
        );
        assert!(
            v.remediation.contains(&format!(
                "asom evidence record --control C-03 --category {t} --commit bbbb --junit <report.xml>"
            )),
            "{}",
            v.remediation
        );
        // Missing from the input entirely: the same.
        blocks_once(
            &with("G1", &format!("/evidence/categories/{t}"), None),
            "C-03",
            &format!("needs a passing {t}"),
        );
    }
}

#[test]
fn g1_blocks_when_the_latest_result_failed() {
    let mut view = failing("e-bad");
    view["passing"] = json!(["e-old"]);
    let v = blocks_once(
        &with("G1", "/evidence/categories/T2", Some(view)),
        "C-03",
        "latest T2 (contract/schema) result for commit bbbb failed",
    );
    assert_eq!(v.entries, ["e-bad"]);
    // A failure followed by a pass: the latest counts.
    let mut view = passing("e-new");
    view["failing"] = json!(["e-bad"]);
    assert_eq!(eval(&with("G1", "/evidence/categories/T2", Some(view))), []);
}

#[test]
fn g1_needs_a_change() {
    blocks_once(
        &with("G1", "/change", Some(Value::Null)),
        "C-03",
        "no change",
    );
    let vs = eval(&with("G1", "/change/commit", Some(json!(""))));
    assert!(
        vs.iter().any(|v| v.reason.contains("names no commit")),
        "{vs:#?}"
    );
}

#[test]
fn g1_and_g2_can_never_be_overridden() {
    for gate in ["G1", "G2"] {
        let input = with(
            gate,
            "/overrides",
            Some(json!([{"gate": gate, "controls": ["C-03"], "entry": "o-1", "expired": false}])),
        );
        let v = blocks_once(&input, "C-11", "can never be overridden");
        assert_eq!(v.entries, ["o-1"]);
        assert!(!override_covers(&input, &[v]));
    }
}

// --- G2 ------------------------------------------------------------------

#[test]
fn g2_passes_without_evidence() {
    assert_eq!(eval(&with("G2", "/evidence", None)), []);
}

#[test]
fn g2_needs_a_scope() {
    let v = blocks_once(
        &with("G2", "/release/scope", Some(json!([]))),
        "C-03",
        "scope is empty",
    );
    assert!(
        v.remediation
            .contains("asom release scope sales@1.4.0 --jira <KEY>")
    );
    blocks_once(
        &with("G2", "/release/scope", None),
        "C-03",
        "scope is empty",
    );
    blocks_once(
        &with("G2", "/release/scope", Some(json!([""]))),
        "C-03",
        "scope is empty",
    );
}

#[test]
fn g2_needs_one_crq_of_its_own() {
    let v = blocks_once(
        &with("G2", "/crq", Some(Value::Null)),
        "C-01",
        "has no change request",
    );
    assert!(
        v.remediation
            .contains("asom crq create --release sales@1.4.0")
    );
    blocks_once(&with("G2", "/crq", None), "C-01", "has no change request");
    blocks_once(
        &with("G2", "/crq/shared", Some(json!(true))),
        "C-01",
        "is shared with another release",
    );
    blocks_once(
        &with("G2", "/crq/shared", None),
        "C-01",
        "is shared with another release",
    );
    blocks_once(
        &with("G2", "/release/crq", Some(json!("CRQ0000009"))),
        "C-01",
        "the release names CRQ0000009",
    );
    blocks_once(
        &with("G2", "/crq/state", Some(json!("canceled"))),
        "C-01",
        "in state canceled",
    );
}

#[test]
fn g2_needs_an_assessed_product_profile() {
    let v = blocks_once(
        &with("G2", "/product/change_type", Some(json!("hotfix"))),
        "C-03",
        "change type hotfix is missing or unknown",
    );
    assert!(v.reason.contains("incremental-change"));
    blocks_once(
        &with("G2", "/product/change_type", None),
        "C-03",
        "change type (none)",
    );
    blocks_once(&with("G2", "/product/material", None), "C-10", "material");
    blocks_once(
        &with("G2", "/product/classification", Some(json!(""))),
        "C-04",
        "classification",
    );
}

// --- G3 ------------------------------------------------------------------

#[test]
fn g3_needs_qa_approval() {
    let v = blocks_once(
        &with("G3", "/crq/approval/qa", Some(json!("pending"))),
        "C-01",
        "not approved for QA yet (its QA approval is pending)",
    );
    assert!(
        v.remediation
            .contains("asom crq approve CRQ0000001 --stage qa")
    );
    blocks_once(
        &with("G3", "/crq/approval/qa", Some(json!("rejected"))),
        "C-01",
        "rejected for QA",
    );
    blocks_once(
        &with("G3", "/crq/approval", None),
        "C-01",
        "QA approval is missing",
    );
    blocks_once(
        &with("G3", "/crq", Some(Value::Null)),
        "C-01",
        "has no change request",
    );
}

#[test]
fn g3_needs_passing_evidence_for_each_applicable_control() {
    // Controls without a category the change type requires: one violation each.
    for (control, says) in [
        ("C-05", "it is proven by T4 (access/security)"),
        ("C-07", "C-07 (reproducibility) has no passing evidence"),
        ("C-10", "it is proven by T7 (performance/cost)"),
        (
            "C-04",
            "C-04 (data classification & handling) has no passing evidence",
        ),
        (
            "C-03",
            "C-03 (requirements traceability) has no passing evidence",
        ),
        ("C-06", "C-06 (data quality) has no passing evidence"),
        (
            "C-08",
            "C-08 (incremental correctness) has no passing evidence",
        ),
    ] {
        let v = blocks_once(
            &with("G3", &format!("/evidence/controls/{control}"), Some(none())),
            control,
            says,
        );
        assert!(
            v.remediation.contains(&format!(
                "asom evidence record --release sales@1.4.0 --control {control}"
            )),
            "{}",
            v.remediation
        );
        assert!(v.remediation.contains("--commit bbbb"), "{}", v.remediation);
        blocks_once(
            &with("G3", &format!("/evidence/controls/{control}"), None),
            control,
            says,
        );
    }
}

#[test]
fn g3_needs_the_change_types_minimum_categories() {
    // incremental change: T1, T2, T3, T5, T6.
    for (t, controls) in [
        ("T1", vec!["C-03", "C-04"]),
        ("T2", vec!["C-03"]),
        ("T3", vec!["C-06"]),
        ("T5", vec!["C-04", "C-08"]),
        ("T6", vec!["C-08"]),
    ] {
        let vs = eval(&with(
            "G3",
            &format!("/evidence/categories/{t}"),
            Some(none()),
        ));
        let got: Vec<&str> = vs.iter().map(|v| v.control.as_str()).collect();
        assert_eq!(got, controls, "{t}: {vs:#?}");
        for v in &vs {
            assert!(
                v.reason.contains(&format!("needs passing {t}")),
                "{}",
                v.reason
            );
            assert!(v.reason.contains("incremental-change"), "{}", v.reason);
            assert!(
                v.remediation
                    .contains(&format!("--control {} --category {t}", v.control))
            );
        }
    }
    // T4 and T8 are not in an incremental change's minimum.
    assert_eq!(
        eval(&with("G3", "/evidence/categories/T4", Some(none()))),
        []
    );
}

#[test]
fn g3_the_demo_release_blocks_on_c05_c06_and_qa_approval() {
    let mut input = release("G3");
    set(&mut input, "/evidence/controls/C-05", Some(none()));
    set(&mut input, "/evidence/controls/C-06", Some(none()));
    set(&mut input, "/evidence/categories/T3", Some(none()));
    set(&mut input, "/evidence/categories/T4", Some(none()));
    set(&mut input, "/crq/approval/qa", Some(json!("pending")));
    let vs = eval(&input);
    let got: Vec<(&str, &str)> = vs
        .iter()
        .map(|v| (v.control.as_str(), v.reason.as_str()))
        .collect();
    assert_eq!(vs.len(), 3, "{got:#?}");
    assert_eq!(vs[0].control, "C-01");
    assert_eq!(vs[1].control, "C-05");
    assert!(vs[1].remediation.contains("--control C-05 --category T4"));
    assert_eq!(vs[2].control, "C-06");
    assert!(vs[2].remediation.contains("--control C-06 --category T3"));
}

#[test]
fn g3_failing_evidence_blocks_until_a_later_pass() {
    let mut t3 = failing("e-dq-2");
    t3["passing"] = json!(["e-dq-1"]);
    let v = blocks_once(
        &with("G3", "/evidence/categories/T3", Some(t3)),
        "C-06",
        "latest T3 (data quality) result for this release failed",
    );
    assert_eq!(v.entries, ["e-dq-2"]);
    // The same failure recorded against the control: one violation, not two.
    let mut input = with("G3", "/evidence/categories/T3", Some(failing("e-dq-2")));
    set(
        &mut input,
        "/evidence/controls/C-06",
        Some(failing("e-dq-2")),
    );
    blocks_once(&input, "C-06", "latest T3");
    // A failure on the control alone.
    let v = blocks_once(
        &with("G3", "/evidence/controls/C-07", Some(failing("e-build"))),
        "C-07",
        "latest evidence recorded for it failed",
    );
    assert_eq!(v.entries, ["e-build"]);
    // A failing category outside the minimum still blocks the controls it proves.
    let vs = eval(&with(
        "G3",
        "/evidence/categories/T4",
        Some(failing("e-rbac")),
    ));
    let got: Vec<&str> = vs.iter().map(|v| v.control.as_str()).collect();
    assert_eq!(got, ["C-04", "C-05"]);
    // A failure followed by a pass passes.
    let mut t3 = passing("e-dq-3");
    t3["failing"] = json!(["e-dq-2"]);
    assert_eq!(eval(&with("G3", "/evidence/categories/T3", Some(t3))), []);
}

#[test]
fn g3_skips_excluded_controls_and_approved_exceptions() {
    let mut input = with("G3", "/evidence/controls/C-05", Some(none()));
    assert_eq!(eval(&input).len(), 1);
    set(
        &mut input,
        "/product/excluded_controls",
        Some(json!(["C-05"])),
    );
    assert_eq!(eval(&input), []);
    set(&mut input, "/product/excluded_controls", Some(json!([])));
    set(
        &mut input,
        "/exceptions",
        Some(json!({"C-05": {"approved_by": "gina", "entry": "x-1"}})),
    );
    assert_eq!(eval(&input), []);
    // An exception without an approver is not approved.
    set(
        &mut input,
        "/exceptions",
        Some(json!({"C-05": {"approved_by": null, "entry": "x-1"}})),
    );
    assert_eq!(eval(&input).len(), 1);
    // Change authorisation and separation of duties cannot be waived.
    let mut input = with("G3", "/crq/approval/qa", Some(json!("pending")));
    set(
        &mut input,
        "/product/excluded_controls",
        Some(json!(["C-01", "C-02"])),
    );
    set(
        &mut input,
        "/exceptions",
        Some(json!({"C-01": {"approved_by": "gina", "entry": "x-2"}})),
    );
    blocks_once(&input, "C-01", "not approved for QA");
}

#[test]
fn g3_reports_separation_of_duties() {
    let input = with(
        "G3",
        "/sod",
        Some(json!({"holds": false, "violations": [
            {"rule": "author-approves", "message": "'alice' approved the CRQ for qa but is commit author 'alice'",
             "identities": ["alice"], "remediation": "another release approver must approve for qa"}
        ]})),
    );
    let v = blocks_once(
        &input,
        "C-02",
        "separation of duties broken (author-approves): 'alice' approved",
    );
    assert_eq!(
        v.remediation,
        "another release approver must approve for qa"
    );
    blocks_once(&with("G3", "/sod", None), "C-02", "not shown to hold");
    blocks_once(
        &with("G3", "/sod/holds", Some(json!(false))),
        "C-02",
        "not shown to hold",
    );
}

#[test]
fn g3_needs_the_qa_report_and_commits() {
    let v = blocks_once(
        &with("G3", "/qa_report", Some(json!(false))),
        "C-03",
        "no QA execution report",
    );
    assert!(
        v.remediation
            .contains("asom evidence record --release sales@1.4.0 --control C-03")
    );
    blocks_once(
        &with("G3", "/qa_report", None),
        "C-03",
        "no QA execution report",
    );
    blocks_once(
        &with("G3", "/release/commits", Some(json!([]))),
        "C-07",
        "lists no commits",
    );
}

#[test]
fn g3_overrides() {
    let base = with("G3", "/evidence/controls/C-05", Some(none()));
    let vs = eval(&base);
    let mut input = base.clone();
    set(
        &mut input,
        "/overrides",
        Some(json!([{"gate": "G3", "controls": ["C-05"], "entry": "o-1", "expired": false}])),
    );
    // An active override changes no violation: the caller decides `override`.
    assert_eq!(eval(&input), vs);
    assert!(override_covers(&input, &vs));
    assert!(!override_covers(&base, &vs));
    // An override for another control does not cover it.
    let mut other = input.clone();
    set(&mut other, "/overrides/0/controls", Some(json!(["C-06"])));
    assert!(!override_covers(&other, &vs));
    // An expired override blocks again, naming itself.
    set(&mut input, "/overrides/0/expired", Some(json!(true)));
    let vs = eval(&input);
    let got: Vec<&str> = vs.iter().map(|v| v.control.as_str()).collect();
    assert_eq!(got, ["C-05", "C-11"]);
    assert_eq!(vs[1].entries, ["o-1"]);
    assert!(vs[1].reason.contains("passed its remediation deadline"));
    assert!(!override_covers(&input, &vs));
    // `expired` missing counts as expired.
    set(&mut input, "/overrides/0/expired", None);
    assert_eq!(eval(&input).len(), 2);
    // Separation of duties is never covered.
    let sod = vec![Violation {
        control: "C-02".into(),
        gate: "G3".into(),
        reason: "r".into(),
        remediation: "m".into(),
        entries: vec![],
    }];
    let mut input = release("G3");
    set(
        &mut input,
        "/overrides",
        Some(json!([{"gate": "G3", "controls": ["C-02"], "entry": "o-1", "expired": false}])),
    );
    assert!(!override_covers(&input, &sod));
}

// --- G4 ------------------------------------------------------------------

#[test]
fn g4_needs_prod_approval() {
    let v = blocks_once(
        &with("G4", "/crq/approval/prod", Some(json!("pending"))),
        "C-01",
        "not approved for PROD yet",
    );
    assert!(
        v.remediation
            .contains("asom crq approve CRQ0000001 --stage prod")
    );
}

#[test]
fn g4_needs_g3_passed() {
    let v = blocks_once(
        &with("G4", "/g3_passed", Some(json!(false))),
        "C-01",
        "G3 (promote to QA) has not passed",
    );
    assert!(
        v.remediation
            .contains("asom gate check G3 --release sales@1.4.0")
    );
    blocks_once(
        &with("G4", "/g3_passed", None),
        "C-01",
        "G3 (promote to QA) has not passed",
    );
}

#[test]
fn g4_needs_governance_verification() {
    blocks_once(
        &with("G4", "/governance_verification", Some(json!(false))),
        "C-02",
        "governance has not verified",
    );
    blocks_once(
        &with("G4", "/governance_verification", None),
        "C-02",
        "governance has not verified",
    );
}

#[test]
fn g4_needs_prod_controls() {
    blocks_once(
        &with("G4", "/evidence/controls/C-09", Some(none())),
        "C-09",
        "C-09 (observability & alerting) has no passing evidence",
    );
    blocks_once(
        &with("G4", "/evidence/controls/C-05", Some(none())),
        "C-05",
        "C-05 (access control & least privilege)",
    );
    // C-10 only when material.
    let mut input = with("G4", "/evidence/controls/C-10", Some(none()));
    assert_eq!(eval(&input), []);
    set(&mut input, "/product/material", Some(json!(true)));
    blocks_once(&input, "C-10", "C-10 (cost & performance guardrails)");
    // C-06 is not a G4 control.
    assert_eq!(
        eval(&with("G4", "/evidence/controls/C-06", Some(none()))),
        []
    );
}

#[test]
fn g4_needs_a_clean_qa() {
    blocks_once(
        &with("G4", "/unresolved_qa_failures", Some(json!(2))),
        "C-03",
        "2 QA failure(s) are unresolved",
    );
    blocks_once(
        &with("G4", "/unresolved_qa_failures", None),
        "C-03",
        "unknown",
    );
    blocks_once(
        &with("G4", "/unresolved_qa_failures", Some(json!("0"))),
        "C-03",
        "unknown",
    );
}

#[test]
fn g4_needs_an_open_window() {
    blocks_once(
        &with("G4", "/crq/window_open", Some(json!(false))),
        "C-01",
        "change window of CRQ CRQ0000001 is closed",
    );
    blocks_once(
        &with("G4", "/crq/window_open", Some(Value::Null)),
        "C-01",
        "no change window",
    );
    blocks_once(
        &with("G4", "/crq/window_open", None),
        "C-01",
        "no change window",
    );
}

// --- Fail-safe ---------------------------------------------------------------

#[test]
fn missing_facts_never_pass() {
    for gate in ["G1", "G2", "G3", "G4"] {
        // The bare gate.
        assert!(!eval(&json!({ "gate": gate })).is_empty(), "{gate}");
        // Every top-level field removed, one at a time.
        let full = release(gate);
        for key in full.as_object().unwrap().keys() {
            if key == "gate" || (key == "change" && gate != "G1") {
                continue;
            }
            let input = with(gate, &format!("/{key}"), None);
            let vs = eval(&input);
            // Fields a gate does not read may go; every other blocks.
            let read = match key.as_str() {
                "exceptions" | "overrides" => false,
                "release" => true,
                "product" => gate != "G1",
                "change" => gate == "G1",
                "evidence" => gate != "G2",
                "crq" | "sod" => gate == "G3" || gate == "G4" || (gate == "G2" && key == "crq"),
                "qa_report" => gate == "G3",
                "governance_verification" | "unresolved_qa_failures" | "g3_passed" => gate == "G4",
                other => panic!("unexpected field {other}"),
            };
            if read && !(gate == "G1" && key == "release") {
                assert!(!vs.is_empty(), "{gate} passed without {key}");
            } else {
                assert_eq!(vs, [], "{gate} without {key}");
            }
        }
    }
}

#[test]
fn empty_evidence_never_passes() {
    for gate in ["G1", "G3", "G4"] {
        let input = with(
            gate,
            "/evidence",
            Some(json!({"categories": {}, "controls": {}})),
        );
        assert!(!eval(&input).is_empty(), "{gate}");
        // `latest: pass` with no ids is not evidence.
        let input = with(
            gate,
            "/evidence/categories/T1",
            Some(json!({"passing": [], "failing": [], "info": [], "latest": "pass"})),
        );
        assert!(!eval(&input).is_empty(), "{gate}");
    }
    // A latest `info` result is not a passing one.
    let mut view = passing("e-old");
    view["info"] = json!(["e-note"]);
    view["latest"] = json!("info");
    blocks_once(
        &with("G3", "/evidence/controls/C-07", Some(view)),
        "C-07",
        "no passing evidence",
    );
    // Info entries prove nothing.
    let input = with(
        "G3",
        "/evidence/controls/C-07",
        Some(json!({"passing": [], "failing": [], "info": ["e-i"], "latest": null})),
    );
    blocks_once(&input, "C-07", "no passing evidence");
}

#[test]
fn malformed_inputs_are_errors_not_passes() {
    for input in [
        json!(null),
        json!({"gate": "G5"}),
        with("G3", "/gate", None),
        with("G3", "/evidence/controls/C-06/passing", Some(json!("e-1"))),
        with(
            "G3",
            "/evidence/categories/T3/latest",
            Some(json!("passed")),
        ),
        with("G3", "/evidence/categories/T3/passing", Some(json!([-1]))),
        with("G3", "/evidence/categories/T3/passing", Some(json!([1.5]))),
        with("G3", "/evidence/categories/T3/passing", Some(json!([true]))),
    ] {
        assert!(
            matches!(EVALUATOR.evaluate(&input), Err(PolicyError::Input(_))),
            "{input}"
        );
    }
}

// --- Determinism ---------------------------------------------------------

#[test]
fn evaluation_is_deterministic() {
    let mut input = release("G3");
    set(&mut input, "/crq", Some(Value::Null));
    set(&mut input, "/evidence/categories/T3", Some(failing("e-z")));
    set(&mut input, "/evidence/controls/C-07", Some(none()));
    set(
        &mut input,
        "/sod/violations",
        Some(json!([{"rule": "b", "message": "m2"}, {"rule": "a", "message": "m1"}])),
    );
    let first = serde_json::to_vec(&eval(&input)).unwrap();
    // A fresh evaluator from a freshly loaded pack gives the same bytes.
    let other = Evaluator::new(&Pack::default_pack().unwrap()).unwrap();
    for _ in 0..5 {
        assert_eq!(serde_json::to_vec(&eval(&input)).unwrap(), first);
        assert_eq!(
            serde_json::to_vec(&other.evaluate(&input).unwrap()).unwrap(),
            first
        );
    }
    let vs = eval(&input);
    let mut sorted = vs.clone();
    sorted.sort_by(|a, b| (&a.control, &a.reason).cmp(&(&b.control, &b.reason)));
    assert_eq!(vs, sorted);
}

#[test]
fn evaluators_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Evaluator>();
    let input = with("G3", "/evidence/controls/C-05", Some(none()));
    let expected = eval(&input);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| assert_eq!(eval(&input), expected));
        }
    });
}
