//! `asom-bench gates`: the compact evidence view a gate decides from, built
//! from the ledger's index keys, against the naive path that reads and
//! parses every evidence record of the release, at 100 / 1,000 / 10,000
//! evidence entries.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use asom_core::catalog::ChangeType;
use asom_core::crq::CrqType;
use asom_core::evidence::{
    BuildId, Category, CommitSha as EvCommit, ControlId, Environment, EvidenceBuilder,
    PrincipalSlug, Product as EvProduct, ReleaseRef, SourceRef, SourceType, Status,
    Tenant as EvTenant,
};
use asom_core::principal::{Principal, Role, Slug};
use asom_core::release::{
    ApplicabilityProfile, Change, CommitSha, DataClassification, Product, ReleaseId,
};
use asom_governance::Governance;
use asom_ledger::Hash;

use crate::{open_store, row};

const CONTROLS: [(&str, &str); 6] = [
    ("C-03", "T1"),
    ("C-03", "T2"),
    ("C-06", "T3"),
    ("C-05", "T4"),
    ("C-08", "T5"),
    ("C-08", "T6"),
];

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn run(quick: bool) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("asom-bench-gates-")
        .tempdir_in(std::env::temp_dir())?;
    println!(
        "asom gates benchmark: release build, embedded SQLite store in {}",
        dir.path().display()
    );
    println!(
        "{:<10} {:<52} {:>18}   {:<26}",
        "group", "what", "measured", "target"
    );
    let sizes: &[u32] = if quick {
        &[100, 1_000]
    } else {
        &[100, 1_000, 10_000]
    };
    for &n in sizes {
        let store = open_store(dir.path(), &format!("gates-{n}"))?;
        let gov = Governance::new(&store, "bench");
        let release = setup(&store, &gov, n)?;
        let rounds = if n >= 10_000 { 15 } else { 40 };
        let mut view_times = Vec::new();
        let mut counted = 0;
        for _ in 0..rounds {
            let start = Instant::now();
            let view = gov.evidence_view(&release, None)?;
            view_times.push(start.elapsed());
            counted = view
                .controls
                .values()
                .map(|o| o.passing.len() + o.failing.len() + o.info.len())
                .sum::<usize>();
        }
        anyhow::ensure!(
            counted == n as usize,
            "the view counted {counted} of {n} entries"
        );
        let view = median(view_times);
        let mut naive_times = Vec::new();
        for _ in 0..rounds.min(10) {
            let start = Instant::now();
            let records = gov.release_evidence(&release, None)?;
            std::hint::black_box(records);
            naive_times.push(start.elapsed());
        }
        let naive = median(naive_times);
        let target = match n {
            1_000 => "(G3 budget 0.5 ms)",
            10_000 => "(G3 budget 5 ms)",
            _ => "",
        };
        row(
            "gates",
            &format!("compact evidence view, {n} evidence entries"),
            &format!("{:.3} ms", view.as_secs_f64() * 1e3),
            target,
            None,
        );
        row(
            "gates",
            &format!("  naive: read and parse every record, {n}"),
            &format!("{:.3} ms", naive.as_secs_f64() * 1e3),
            "",
            None,
        );
    }
    Ok(())
}

/// A product, a release with one commit and its CRQ, and `n` evidence records.
fn setup(
    store: &asom_store_sqlite::SqliteStore,
    gov: &Governance<'_>,
    n: u32,
) -> anyhow::Result<ReleaseId> {
    use asom_store::Store as _;
    let slug = |s: &str| Slug::new(s).expect("valid");
    let admin = Principal::human(slug("admin"), [Role::Admin]);
    let ci = Principal::machine(slug("ci-bot"));
    store.create_principal("bench", &admin)?;
    gov.create_principal(&admin, &ci)?;
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
    )?;
    let commit = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    let change = Change::new(
        CommitSha::parse(commit)?,
        slug("sales"),
        &["alice".to_owned()],
        &[],
        BTreeSet::new(),
        None,
    )?;
    gov.record_change(&admin, &change)?;
    let release = ReleaseId::parse("sales@1.0.0")?;
    gov.create_release(&admin, &release)?;
    gov.scope_release(
        &admin,
        &release,
        &BTreeSet::new(),
        &[CommitSha::parse(commit)?],
    )?;
    gov.create_crq(&admin, &release, CrqType::Normal, None)?;
    let field = |e: asom_core::evidence::FieldError| anyhow::anyhow!("{e}");
    for i in 0..n {
        let (control, category) = CONTROLS[i as usize % CONTROLS.len()];
        let evidence = EvidenceBuilder::new()
            .control_id(
                control
                    .parse::<ControlId>()
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            )
            .test_category(
                category
                    .parse::<Category>()
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            )
            .produced_by(PrincipalSlug::parse_field("p", "ci-bot").map_err(field)?)
            .source_type(SourceType::parse_field("s", "test-report").map_err(field)?)
            .source_ref(
                SourceRef::parse_field("r", &format!("s3://evidence/{i}.json")).map_err(field)?,
            )
            .checksum(Hash::of(&i.to_le_bytes()))
            .commit_sha(EvCommit::parse_field("c", commit).map_err(field)?)
            .build_id(BuildId::parse_field("b", &format!("build-{i}")).map_err(field)?)
            .environment(Environment::parse_field("e", "qa").map_err(field)?)
            .status(if i % 7 == 0 {
                Status::Fail
            } else {
                Status::Pass
            })
            .crq_ref(asom_core::evidence::CrqRef::parse_field("q", "CRQ0000001").map_err(field)?)
            .tenant(EvTenant::parse_field("t", "bench").map_err(field)?)
            .product(EvProduct::parse_field("p", "sales").map_err(field)?)
            .release(ReleaseRef::parse_field("r", "sales@1.0.0").map_err(field)?)
            .build()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        gov.record_evidence(&ci, &evidence)?;
    }
    Ok(release)
}
