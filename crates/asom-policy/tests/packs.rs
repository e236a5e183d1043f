//! Packs: the default pack's own Rego tests, digests, overlays, an
//! organisation's pack from a directory, and corrupt packs (never a pass).

use std::collections::BTreeMap;
use std::path::Path;

use asom_policy::{Evaluator, Pack, PolicyError};
use serde_json::json;

fn default_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packs/default")
}

/// The default pack's files, by name.
fn default_files() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(default_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        files.insert(name, std::fs::read_to_string(&path).unwrap());
    }
    files
}

fn load(files: &BTreeMap<String, String>) -> Result<Pack, PolicyError> {
    Pack::from_files(files.clone())
}

const MINIMAL_MANIFEST: &str =
    r#"{"schema":"asom.policy-pack.v1","name":"acme","version":"7","needs_raw_evidence":false}"#;

#[test]
fn the_default_packs_rego_tests_pass() {
    let report = Pack::default_pack().unwrap().run_rego_tests().unwrap();
    assert!(
        report.failed.is_empty(),
        "failing Rego tests: {:#?}",
        report.failed
    );
    assert!(report.passed.len() >= 30, "{:#?}", report.passed);
    assert!(report.all_passed());
}

#[test]
fn a_failing_rego_test_is_reported() {
    let mut files = default_files();
    files.insert(
        "extra_test.rego".into(),
        "package asom.extra_test\n\nimport rego.v1\n\nimport data.asom.gates.g3\n\ntest_wrong if {\n\tcount(g3.violations) == 0 with input as {}\n}\n\ntest_right if {\n\tcount(g3.violations) > 0 with input as {\"gate\": \"G3\"}\n}\n".into(),
    );
    let report = load(&files).unwrap().run_rego_tests().unwrap();
    assert_eq!(report.failed.len(), 1, "{report:#?}");
    assert_eq!(report.failed[0].0, "data.asom.extra_test.test_wrong");
    assert!(
        report
            .passed
            .contains(&"data.asom.extra_test.test_right".to_owned())
    );
    assert!(!report.all_passed());
}

#[test]
fn the_default_pack_describes_itself() {
    let pack = Pack::default_pack().unwrap();
    assert_eq!(pack.name(), "asom-default");
    assert_eq!(pack.version(), "1.0.0");
    assert!(!pack.needs_raw_evidence());
    assert_eq!(
        pack.catalog().digest(),
        asom_core::catalog::Catalog::builtin().digest()
    );
    let data = pack.data();
    assert_eq!(
        data["asom"]["pack"],
        json!({"name": "asom-default", "version": "1.0.0"})
    );
    assert_eq!(data["asom"]["catalog"]["schema"], "asom.catalog.v1");
    // Test modules are part of the pack (and its digest) but not evaluated.
    assert!(pack.modules().contains_key("g3_test.rego"));
    assert!(
        pack.policy_modules()
            .all(|(n, _)| !n.ends_with("_test.rego"))
    );
}

#[test]
fn the_digest_covers_manifest_data_and_modules() {
    let base = Pack::default_pack().unwrap();
    assert_eq!(base.digest(), Pack::default_pack().unwrap().digest());
    let files = default_files();
    assert_eq!(load(&files).unwrap().digest(), base.digest());

    let mut changed = files.clone();
    changed.insert(
        "pack.json".into(),
        files["pack.json"].replace("1.0.0", "1.0.1"),
    );
    assert_ne!(load(&changed).unwrap().digest(), base.digest());

    let mut changed = files.clone();
    let g3 = files["g3.rego"].clone() + "\n# a comment changes the digest\n";
    changed.insert("g3.rego".into(), g3);
    assert_ne!(load(&changed).unwrap().digest(), base.digest());

    let mut changed = files.clone();
    changed.insert("data.json".into(), r#"{"allow": ["MIT"]}"#.into());
    let with_data = load(&changed).unwrap();
    assert_ne!(with_data.digest(), base.digest());
    assert_eq!(with_data.data()["asom"]["extra"]["allow"], json!(["MIT"]));
}

#[test]
fn a_data_overlay_changes_what_gates_check() {
    let base = Pack::default_pack().unwrap();
    // Make C-06 a G4 control too, and require T4 for incremental changes.
    let overlay = r#"{
        "schema": "asom.catalog-overlay.v1",
        "version": "acme-1",
        "controls": [{"id": "C-06", "gates": ["G3", "G4"]}],
        "change_types": [{"id": "incremental-change", "minimum": ["T1", "T2", "T3", "T4", "T5", "T6"]}]
    }"#;
    let pack = base.with_data_overlay(overlay).unwrap();
    assert_ne!(pack.digest(), base.digest());
    assert_eq!(pack.catalog().version(), "1.0.0+acme-1");
    assert_eq!(
        pack.digest(),
        base.with_data_overlay(overlay).unwrap().digest()
    );

    let input = json!({"gate": "G4"});
    let base_eval = Evaluator::new(&base).unwrap();
    let eval = Evaluator::new(&pack).unwrap();
    let names = |vs: Vec<asom_policy::Violation>| -> Vec<String> {
        vs.into_iter().map(|v| v.control).collect()
    };
    assert!(!names(base_eval.evaluate(&input).unwrap()).contains(&"C-06".to_owned()));
    assert!(names(eval.evaluate(&input).unwrap()).contains(&"C-06".to_owned()));

    // Overlays are validated like catalogs.
    for (bad, says) in [
        ("{", "overlay"),
        (
            r#"{"schema":"asom.catalog.v1","version":"x"}"#,
            "asom.catalog-overlay.v1",
        ),
        (
            r#"{"schema":"asom.catalog-overlay.v1","version":"x","remove_controls":["C-02"]}"#,
            "cannot be removed",
        ),
    ] {
        let err = base.with_data_overlay(bad).unwrap_err();
        assert!(matches!(err, PolicyError::Data(_)), "{err}");
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[test]
fn an_organisations_pack_loads_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    // Reuse the default rules, add a licensing control at G3 and a README.
    for (name, text) in default_files() {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::write(dir.path().join("pack.json"), MINIMAL_MANIFEST).unwrap();
    std::fs::write(dir.path().join("README.md"), "ignored").unwrap();
    std::fs::write(
        dir.path().join("catalog-overlay.json"),
        r#"{"schema":"asom.catalog-overlay.v1","version":"acme","controls":[
            {"id":"C-12","title":"licensing","proven_by":"SPDX report","proof":"evidence","gates":["G3"],"categories":["T2"]}]}"#,
    )
    .unwrap();
    let pack = Pack::from_dir(dir.path()).unwrap();
    assert_eq!(pack.name(), "acme");
    // The default pack's tests now catch the new control: a complete release
    // of the default catalog no longer passes G3 (it has no C-12 evidence).
    let report = pack.run_rego_tests().unwrap();
    let failed: Vec<&str> = report
        .failed
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        failed.contains(&"data.asom.gates.g3_test.test_g3_passes"),
        "{failed:#?}"
    );
    let eval = Evaluator::new(&pack).unwrap();
    let vs = eval.evaluate(&json!({"gate": "G3"})).unwrap();
    assert!(
        vs.iter()
            .any(|v| v.control == "C-12" && v.reason.contains("licensing")),
        "{vs:#?}"
    );

    // An unknown JSON file is refused rather than ignored.
    std::fs::write(dir.path().join("catalogue.json"), "{}").unwrap();
    let err = Pack::from_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("unknown pack file catalogue.json"), "{err}");

    // A directory that does not exist.
    let err = Pack::from_dir(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, PolicyError::Io { .. }), "{err}");
}

#[test]
fn corrupt_packs_are_errors() {
    let files = default_files();
    let refused = |change: &dyn Fn(&mut BTreeMap<String, String>)| -> PolicyError {
        let mut f = files.clone();
        change(&mut f);
        load(&f).unwrap_err()
    };

    let err = refused(&|f| {
        f.remove("pack.json");
    });
    assert!(matches!(err, PolicyError::Manifest(_)), "{err}");
    assert!(err.to_string().contains("has no pack.json"));

    let err = refused(&|f| {
        f.insert("pack.json".into(), "{\"schema\":".into());
    });
    assert!(matches!(err, PolicyError::Manifest(_)), "{err}");

    // A Rego syntax error names the module.
    let err = refused(&|f| {
        f.insert(
            "g3.rego".into(),
            f["g3.rego"].replace("violations contains v if {", "violations contains v iff {"),
        );
    });
    assert!(
        matches!(&err, PolicyError::Rego { module, .. } if module == "g3.rego"),
        "{err}"
    );

    // So does one in a test module.
    let err = refused(&|f| {
        f.insert(
            "g4_test.rego".into(),
            "package asom.gates.g4_test\n\ntest_x if {{".into(),
        );
    });
    assert!(
        matches!(&err, PolicyError::Rego { module, .. } if module == "g4_test.rego"),
        "{err}"
    );

    // A rule that refers to something undefined does not compile.
    let err = refused(&|f| {
        f.insert(
            "g2.rego".into(),
            f["g2.rego"].clone() + "\nviolations contains v if {\n\tv := no_such_rule\n}\n",
        );
    });
    assert!(
        matches!(
            err,
            PolicyError::Rego { .. } | PolicyError::Evaluation { .. }
        ),
        "{err}"
    );

    // A missing gate module.
    let err = refused(&|f| {
        f.remove("g4.rego");
        f.remove("g4_test.rego");
    });
    assert_eq!(
        err,
        PolicyError::MissingGate {
            pack: "asom-default".into(),
            gate: "G4".into()
        }
    );
    assert!(err.to_string().contains("data.asom.gates.g4.violations"));

    // A gate module without the violations rule.
    let err = refused(&|f| {
        f.insert(
            "g1.rego".into(),
            "package asom.gates.g1\n\nimport rego.v1\n\nblocked := true\n".into(),
        );
        f.remove("g1_test.rego");
    });
    assert!(matches!(err, PolicyError::MissingGate { .. }), "{err}");

    // No modules at all.
    let err = refused(&|f| f.retain(|name, _| name == "pack.json"));
    assert!(err.to_string().contains("no Rego modules"), "{err}");

    // A corrupt catalog.
    let err = refused(&|f| {
        f.insert(
            "catalog.json".into(),
            r#"{"schema":"asom.catalog.v1"}"#.into(),
        );
    });
    assert!(matches!(err, PolicyError::Data(_)), "{err}");
    assert!(err.to_string().contains("catalog.json"));

    // data.json must be an object.
    let err = refused(&|f| {
        f.insert("data.json".into(), "[1]".into());
    });
    assert!(err.to_string().contains("expected a JSON object"), "{err}");
}

#[test]
fn a_pack_that_passes_an_empty_input_is_refused() {
    let mut files = BTreeMap::new();
    files.insert("pack.json".to_owned(), MINIMAL_MANIFEST.to_owned());
    for g in ["g1", "g2", "g3", "g4"] {
        files.insert(
            format!("{g}.rego"),
            format!("package asom.gates.{g}\n\nimport rego.v1\n\nviolations contains v if {{\n\tnot input.ok == true\n\tv := {{\"control\": \"C-01\", \"gate\": \"{}\", \"reason\": \"not ok\", \"remediation\": \"make it ok\", \"entries\": []}}\n}}\n", g.to_uppercase()),
        );
    }
    // This pack blocks an empty input: it loads, and passes when ok.
    let pack = load(&files).unwrap();
    let eval = Evaluator::new(&pack).unwrap();
    assert_eq!(
        eval.evaluate(&json!({"gate": "G2", "ok": true})).unwrap(),
        []
    );

    files.insert(
        "g2.rego".into(),
        "package asom.gates.g2\n\nimport rego.v1\n\nviolations := set()\n".into(),
    );
    let err = load(&files).unwrap_err();
    assert_eq!(
        err,
        PolicyError::NotFailSafe {
            pack: "acme".into(),
            gate: "G2".into()
        }
    );
}

/// A pack whose G3 rule returns `value` for any input with `bad: true`.
fn pack_returning(value: &str) -> Pack {
    let mut files = BTreeMap::new();
    files.insert("pack.json".to_owned(), MINIMAL_MANIFEST.to_owned());
    for g in ["g1", "g2", "g3", "g4"] {
        let body = if g == "g3" {
            format!(
                "violations := {value} if {{\n\tinput.bad == true\n}} else := {{{{\"control\": \"C-01\", \"gate\": \"G3\", \"reason\": \"r\", \"remediation\": \"m\", \"entries\": []}}}}\n"
            )
        } else {
            format!(
                "violations contains {{\"control\": \"C-01\", \"gate\": \"{}\", \"reason\": \"r\", \"remediation\": \"m\", \"entries\": []}}\n",
                g.to_uppercase()
            )
        };
        files.insert(
            format!("{g}.rego"),
            format!("package asom.gates.{g}\n\nimport rego.v1\n\n{body}"),
        );
    }
    load(&files).unwrap()
}

#[test]
fn malformed_violations_are_errors() {
    for (value, says) in [
        (r#"{"control": "C-01"}"#, "malformed"),
        (r#""blocked""#, "must be a set of violations"),
        (
            r#"{{"control": "X-1", "gate": "G3", "reason": "r", "remediation": "m", "entries": []}}"#,
            "control id",
        ),
        (
            r#"{{"control": "C-01", "gate": "G4", "reason": "r", "remediation": "m", "entries": []}}"#,
            "gate must be G3",
        ),
        (
            r#"{{"control": "C-01", "gate": "G3", "reason": "", "remediation": "m", "entries": []}}"#,
            "reason is empty",
        ),
        (
            r#"{{"control": "C-01", "gate": "G3", "reason": "r", "remediation": " ", "entries": []}}"#,
            "remediation is empty",
        ),
        (
            r#"{{"control": "C-01", "gate": "G3", "reason": "r", "remediation": "m", "entries": [1]}}"#,
            "entries",
        ),
        (
            r#"{{"control": "C-01", "gate": "G3", "reason": "r", "remediation": "m"}}"#,
            "entries",
        ),
        (
            r#"{{"control": "C-01", "gate": "G3", "reason": "r", "remediation": "m", "entries": [], "x": 1}}"#,
            "unknown field",
        ),
    ] {
        let eval = Evaluator::new(&pack_returning(value)).unwrap();
        let err = eval
            .evaluate(&json!({"gate": "G3", "bad": true}))
            .unwrap_err();
        assert!(
            matches!(err, PolicyError::MalformedViolation { .. }),
            "{value}: {err}"
        );
        assert!(err.to_string().contains(says), "{value}: {err}");
    }
}

#[test]
fn separation_of_duties_cannot_be_left_out_by_a_pack() {
    // A pack that never reports C-02.
    let pack = pack_returning("set()");
    let eval = Evaluator::new(&pack).unwrap();
    let input = json!({"gate": "G3", "bad": true, "sod": {"holds": false, "violations": [
        {"rule": "author-approves", "message": "alice approved her own change", "identities": ["alice"]}
    ]}});
    let vs = eval.evaluate(&input).unwrap();
    assert_eq!(vs.len(), 1, "{vs:#?}");
    assert_eq!(vs[0].control, "C-02");
    assert_eq!(
        vs[0].reason,
        "separation of duties broken (author-approves): alice approved her own change"
    );
    // No result from the SoD check at all also blocks.
    let vs = eval.evaluate(&json!({"gate": "G3", "bad": true})).unwrap();
    assert_eq!(vs.len(), 1);
    assert!(vs[0].reason.contains("not shown to hold"));
    // And the default pack reports it exactly once.
    let default = Evaluator::new(&Pack::default_pack().unwrap()).unwrap();
    let mut input = input;
    input["bad"] = json!(null);
    let vs = default.evaluate(&input).unwrap();
    assert_eq!(
        vs.iter().filter(|v| v.control == "C-02").count(),
        1,
        "{vs:#?}"
    );
    // G1 and G2 do not check separation of duties.
    let vs = eval
        .evaluate(&json!({"gate": "G2", "sod": {"holds": false}}))
        .unwrap();
    assert!(vs.iter().all(|v| v.control != "C-02"));
}

#[test]
fn packs_that_need_raw_evidence_get_it() {
    let mut files = default_files();
    files.insert(
        "pack.json".into(),
        r#"{"schema":"asom.policy-pack.v1","name":"raw","version":"1","needs_raw_evidence":true}"#
            .into(),
    );
    let pack = load(&files).unwrap();
    assert!(pack.needs_raw_evidence());
    let eval = Evaluator::new(&pack).unwrap();
    let err = eval.evaluate(&json!({"gate": "G3"})).unwrap_err();
    assert!(err.to_string().contains("raw_evidence"), "{err}");
    assert!(
        !eval
            .evaluate(&json!({"gate": "G3", "raw_evidence": []}))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_packs_files_load_the_same_pack_again_and_give_its_digest_unchecked() {
    let base = Pack::default_pack().unwrap();
    let overlay = r#"{"schema":"asom.catalog-overlay.v1","version":"acme","controls":[{"id":"C-06","gates":["G3","G4"]}]}"#;
    for pack in [base.clone(), base.with_data_overlay(overlay).unwrap()] {
        let files: Vec<(String, String)> = pack
            .files()
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect();
        assert_eq!(
            Pack::from_files(files.clone()).unwrap().digest(),
            pack.digest()
        );
        assert_eq!(Pack::digest_of_files(files).unwrap(), pack.digest());
    }
    // One changed byte in a module changes the digest.
    let mut files: Vec<(String, String)> = base
        .files()
        .iter()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    let g3 = files.iter_mut().find(|(n, _)| n == "g3.rego").unwrap();
    g3.1.push(' ');
    assert_ne!(Pack::digest_of_files(files).unwrap(), base.digest());
    // A second overlay is refused rather than silently lost from files().
    let once = base.with_data_overlay(overlay).unwrap();
    assert!(once.with_data_overlay(overlay).is_err());
}
