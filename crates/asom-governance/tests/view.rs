//! The gates' compact evidence view must count exactly what the full,
//! record-reading path counts, at every log size.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use asom_core::catalog::ChangeType;
use asom_core::crq::CrqType;
use asom_core::evidence::{
    BuildId, Category, CommitSha as EvCommit, ControlId, CrqRef, Environment, EvidenceBuilder,
    PrincipalSlug, Product as EvProduct, ReleaseRef, SourceRef, SourceType, Status,
    Tenant as EvTenant,
};
use asom_core::principal::{Principal, Role, Slug};
use asom_core::release::{
    ApplicabilityProfile, Change, CommitSha, DataClassification, Product, ReleaseId,
};
use asom_governance::Governance;
use asom_ledger::Hash;
use asom_ledger::note::NoteSigner;
use asom_store::{Store, Tenant};
use asom_store_sqlite::SqliteStore;

fn slug(s: &str) -> Slug {
    Slug::new(s).unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    store: SqliteStore,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("t.db")).unwrap();
    let signer = Arc::new(NoteSigner::from_seed("test.asom.local/default", [3; 32]).unwrap());
    store
        .create_tenant(
            &Tenant {
                slug: "default".into(),
                origin: "test.asom.local/default".into(),
            },
            signer,
            "2026-01-01T00:00:00.000Z",
        )
        .unwrap();
    World { _dir: dir, store }
}

/// An admin, the CI machine and the `sales` product.
fn people_and_product(store: &SqliteStore, gov: &Governance<'_>) -> (Principal, Principal) {
    let admin = Principal::human(slug("admin"), [Role::Admin]);
    let ci = Principal::machine(slug("ci-bot"));
    store.create_principal("default", &admin).unwrap();
    gov.create_principal(&admin, &ci).unwrap();
    gov.create_product(
        &admin,
        &Product {
            slug: slug("sales"),
            team: slug("data"),
            classification: DataClassification::Confidential,
            change_type: ChangeType::IncrementalChange,
            applicability: ApplicabilityProfile::new(false),
            display_name: None,
        },
    )
    .unwrap();
    (admin, ci)
}

fn sha(n: u8) -> String {
    format!("{n:02x}").repeat(20)
}

#[allow(clippy::too_many_arguments)]
fn evidence(
    commit: &str,
    control: &str,
    category: Option<&str>,
    status: &str,
    crq: Option<&str>,
    release: Option<&str>,
    n: u32,
) -> asom_core::evidence::Evidence {
    let mut b = EvidenceBuilder::new()
        .control_id(control.parse::<ControlId>().unwrap())
        .produced_by(PrincipalSlug::parse_field("p", "ci-bot").unwrap())
        .source_type(SourceType::parse_field("s", "test-report").unwrap())
        .source_ref(SourceRef::parse_field("r", &format!("s3://evidence/{n}.json")).unwrap())
        .checksum(Hash::of(&n.to_le_bytes()))
        .commit_sha(EvCommit::parse_field("c", commit).unwrap())
        .build_id(BuildId::parse_field("b", &format!("build-{n}")).unwrap())
        .environment(Environment::parse_field("e", "qa").unwrap())
        .status(status.parse::<Status>().unwrap())
        .tenant(EvTenant::parse_field("t", "default").unwrap())
        .product(EvProduct::parse_field("p", "sales").unwrap());
    if let Some(c) = category {
        b = b.test_category(c.parse::<Category>().unwrap());
    }
    if let Some(c) = crq {
        b = b.crq_ref(CrqRef::parse_field("q", c).unwrap());
    }
    if let Some(r) = release {
        b = b.release(ReleaseRef::parse_field("r", r).unwrap());
    }
    b.build().unwrap()
}

/// Passing, failing and informational entry ids.
/// Ledger indexes of the passing, failing and informational records.
type Expected = (Vec<u64>, Vec<u64>, Vec<u64>);

#[test]
#[allow(clippy::too_many_lines)] // One story, told in order.
fn the_index_view_counts_exactly_what_the_record_view_counts_at_every_size() {
    let w = world();
    let gov = Governance::new(&w.store, "default");
    let (admin, ci) = people_and_product(&w.store, &gov);
    for n in [1u8, 2, 3] {
        let change = Change::new(
            CommitSha::parse(&sha(n)).unwrap(),
            slug("sales"),
            &["alice".to_owned()],
            &[],
            BTreeSet::new(),
            None,
        )
        .unwrap();
        gov.record_change(&admin, &change).unwrap();
    }
    let release = ReleaseId::parse("sales@1.0.0").unwrap();
    let other = ReleaseId::parse("sales@2.0.0").unwrap();
    gov.create_release(&admin, &release).unwrap();
    gov.create_release(&admin, &other).unwrap();
    gov.scope_release(
        &admin,
        &release,
        &BTreeSet::new(),
        &[
            CommitSha::parse(&sha(1)).unwrap(),
            CommitSha::parse(&sha(2)).unwrap(),
        ],
    )
    .unwrap();
    // Before the CRQ: evidence without one counts.
    gov.record_evidence(
        &ci,
        &evidence(&sha(1), "C-03", Some("T1"), "pass", None, None, 1),
    )
    .unwrap();
    gov.record_evidence(
        &ci,
        &evidence(
            &sha(1),
            "C-06",
            Some("T3"),
            "fail",
            None,
            Some("sales@1.0.0"),
            2,
        ),
    )
    .unwrap();
    gov.create_crq(&admin, &release, CrqType::Normal, None)
        .unwrap();
    // After: the right CRQ counts, another CRQ, another release or another commit does not.
    gov.record_evidence(
        &ci,
        &evidence(
            &sha(1),
            "C-06",
            Some("T3"),
            "pass",
            Some("CRQ0000001"),
            Some("sales@1.0.0"),
            3,
        ),
    )
    .unwrap();
    gov.record_evidence(
        &ci,
        &evidence(
            &sha(2),
            "C-05",
            Some("T4"),
            "pass",
            Some("CRQ0000099"),
            None,
            4,
        ),
    )
    .unwrap();
    gov.record_evidence(
        &ci,
        &evidence(
            &sha(2),
            "C-05",
            Some("T4"),
            "info",
            Some("CRQ0000001"),
            None,
            5,
        ),
    )
    .unwrap();
    gov.record_evidence(
        &ci,
        &evidence(&sha(1), "C-07", None, "pass", None, Some("sales@2.0.0"), 6),
    )
    .unwrap();
    gov.record_evidence(
        &ci,
        &evidence(&sha(3), "C-06", Some("T3"), "pass", None, None, 7),
    )
    .unwrap();
    let size = w.store.latest_checkpoint("default").unwrap().size;

    let mut seen_counts = BTreeSet::new();
    for before in 0..=size {
        let Ok(records) = gov.release_evidence(&release, Some(before)) else {
            assert!(
                gov.evidence_view(&release, Some(before)).is_err(),
                "size {before}"
            );
            continue;
        };
        let view = gov.evidence_view(&release, Some(before)).unwrap();
        let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
        for r in records.iter().filter(|r| r.counted) {
            let slot = expected
                .entry(r.evidence.control_id().to_string())
                .or_default();
            match r.evidence.status().as_str() {
                "pass" => slot.0.push(r.index),
                "fail" => slot.1.push(r.index),
                _ => slot.2.push(r.index),
            }
        }
        for (control, outcomes) in &view.controls {
            let (p, f, i) = expected.remove(control).unwrap_or_default();
            assert_eq!(
                (&outcomes.passing, &outcomes.failing, &outcomes.info),
                (&p, &f, &i),
                "{control} at size {before}"
            );
        }
        assert!(
            expected.is_empty(),
            "controls missing from the view at size {before}: {expected:?}"
        );
        assert_eq!(
            view.not_counted,
            records.iter().filter(|r| !r.counted).count() as u64,
            "size {before}"
        );
        seen_counts.insert(records.iter().filter(|r| r.counted).count());
    }
    // The walk went through states with different numbers of counted records.
    assert!(seen_counts.len() >= 3, "{seen_counts:?}");
    let last = gov.evidence_view(&release, None).unwrap();
    assert_eq!(
        last.categories["T3"].latest,
        Some("pass"),
        "a failure followed by a pass: both kept, the pass is latest"
    );
    assert_eq!(
        (
            last.categories["T3"].passing.len(),
            last.categories["T3"].failing.len()
        ),
        (1, 1)
    );
    assert_eq!(
        last.categories["T4"].latest, None,
        "an informational entry is not a result"
    );
    assert_eq!(last.categories["T4"].info.len(), 1);
    assert!(last.categories["T8"].passing.is_empty() && last.categories["T8"].latest.is_none());
    assert_eq!(last.not_counted, 2);
}

/// A stand-in policy: G3 needs a passing latest T3 result.
struct RequireT3(&'static [u8]);

impl asom_governance::gates::GatePolicy for RequireT3 {
    fn pack(&self) -> asom_governance::gates::PackRef {
        asom_governance::gates::PackRef {
            name: "test".into(),
            version: "1".into(),
            digest: Hash::of(self.0),
        }
    }

    fn evaluate(
        &self,
        input: &serde_json::Value,
    ) -> Result<Vec<asom_governance::gates::Violation>, String> {
        if input["evidence"]["categories"]["T3"]["latest"] == "pass" {
            return Ok(Vec::new());
        }
        Ok(vec![asom_governance::gates::Violation {
            control: "C-06".into(),
            gate: input["gate"].as_str().unwrap_or_default().into(),
            reason: "no passing data-quality result (T3)".into(),
            remediation: "record T3 evidence".into(),
            entries: Vec::new(),
        }])
    }
}

#[test]
#[allow(clippy::too_many_lines)] // One story, told in order.
fn decisions_are_recorded_and_replay_byte_identical_at_their_log_size() {
    use asom_governance::gates::{Gate, Mode};
    let w = world();
    let gov = Governance::new(&w.store, "default");
    let (admin, ci) = people_and_product(&w.store, &gov);
    let commit = CommitSha::parse(&sha(1)).unwrap();
    let change = Change::new(
        commit.clone(),
        slug("sales"),
        &["alice".to_owned()],
        &[],
        BTreeSet::new(),
        None,
    )
    .unwrap();
    gov.record_change(&admin, &change).unwrap();
    let release = ReleaseId::parse("sales@1.0.0").unwrap();
    gov.create_release(&admin, &release).unwrap();
    gov.scope_release(&admin, &release, &BTreeSet::new(), &[commit])
        .unwrap();
    gov.create_crq(&admin, &release, CrqType::Normal, None)
        .unwrap();
    let policy = RequireT3(b"require-t3");

    let (first, at_first) = gov
        .check_gate(&admin, Gate::G3, &release, None, Mode::Enforce, &policy)
        .unwrap();
    assert_eq!(first.result, "block");
    assert!(
        first.violations.iter().any(|v| v.control == "C-06"),
        "{:?}",
        first.violations
    );
    // Separation of duties is added by Rust even though the policy never mentions it.
    assert!(
        first.violations.iter().any(|v| v.control == "C-02"),
        "{:?}",
        first.violations
    );

    gov.record_evidence(
        &ci,
        &evidence(
            &sha(1),
            "C-06",
            Some("T3"),
            "pass",
            Some("CRQ0000001"),
            None,
            1,
        ),
    )
    .unwrap();
    let (second, at_second) = gov
        .check_gate(&admin, Gate::G3, &release, None, Mode::Observe, &policy)
        .unwrap();
    assert!(
        !second.violations.iter().any(|v| v.control == "C-06"),
        "{:?}",
        second.violations
    );
    assert_eq!(
        second.result, "would-block",
        "SoD still fails, and observe mode records would-block"
    );
    assert_ne!(first.input_digest, second.input_digest);

    // More entries after the decisions do not change their replay.
    gov.record_evidence(
        &ci,
        &evidence(
            &sha(1),
            "C-06",
            Some("T3"),
            "fail",
            Some("CRQ0000001"),
            None,
            2,
        ),
    )
    .unwrap();
    for recorded in [at_first, at_second] {
        let replay = gov.replay(recorded.index, &policy).unwrap();
        assert!(replay.identical, "{:?}", replay.differences);
        assert_eq!(replay.recomputed, replay.recorded);
    }
    assert_eq!(
        gov.latest_decision(&release, Gate::G3, None)
            .unwrap()
            .unwrap(),
        second
    );

    // Another pack cannot replay it.
    let other = RequireT3(b"another pack");
    assert!(gov.replay(at_first_index(&gov, &release), &other).is_err());
    // Only decision entries replay.
    assert!(gov.replay(0, &policy).is_err());
}

fn at_first_index(gov: &Governance<'_>, release: &ReleaseId) -> u64 {
    let entries = gov
        .store()
        .entries_with_key("default", &format!("decision:{release}:G3"), None)
        .unwrap();
    entries[0].index
}
