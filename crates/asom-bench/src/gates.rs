//! `asom-bench gates`: the G3 decision at 100 / 1,000 / 10,000 evidence
//! entries, measured three ways beside the DESIGN.md §10 budget:
//!
//! - in process: `Governance::decide_gate` with the default Rego pack (the
//!   whole decision: release, CRQ, compact evidence view, separation of
//!   duties, waivers, Rego, digests; not the append);
//! - as a whole command: `asom gate check G3` run as a process against an
//!   asom directory holding the same release (start-up, store, key and
//!   token, decision, the decision entry's durable append, output);
//! - and the references: the compact evidence view alone, the naive path
//!   that reads and parses every record, and regorus alone evaluating a
//!   naive "required controls have passing evidence" policy over the raw
//!   records (JSON in, deny set out).

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
use asom_governance::gates::{Gate, Mode};
use asom_ledger::Hash;
use asom_store::Store as _;

use crate::{open_store, row};

/// The naive policy of DESIGN.md §10's regorus reference: every control G3
/// checks has a passing record, over the raw list.
const NAIVE_POLICY: &str = r#"package naive

import rego.v1

required := {"C-03", "C-04", "C-05", "C-06", "C-07", "C-08", "C-10"}

passing contains c if {
	some r in input.records
	r.status == "pass"
	c := r.control_id
}

deny contains c if {
	some c in required
	not c in passing
}
"#;

const CONTROLS: [(&str, &str); 6] = [
    ("C-03", "T1"),
    ("C-03", "T2"),
    ("C-06", "T3"),
    ("C-05", "T4"),
    ("C-08", "T5"),
    ("C-08", "T6"),
];

pub fn median(mut samples: Vec<Duration>) -> Duration {
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
    let pack = asom_policy::Pack::default_pack()?;
    let policy = asom_policy::RegoPolicy::new(&pack)?;
    let asom = std::env::current_exe()?.with_file_name("asom");
    for &n in sizes {
        let store = open_store(dir.path(), &format!("gates-{n}"))?;
        let gov = Governance::new(&store, "bench");
        let release = setup(&store, &gov, n, "bench", true)?;
        let rounds = if n >= 10_000 { 15 } else { 40 };

        let mut decide_times = Vec::new();
        let mut violations = 0;
        for _ in 0..rounds {
            let start = Instant::now();
            let d = gov.decide_gate("admin", Gate::G3, &release, None, Mode::Enforce, &policy)?;
            decide_times.push(start.elapsed());
            violations = d.violations.len();
        }
        // Every seventh record fails, so the release blocks with reasons.
        anyhow::ensure!(violations > 0, "the benchmark release should block");
        let decide = median(decide_times);
        let (budget, limit) = match n {
            1_000 => ("(G3 budget 0.5 ms)", Some(0.5)),
            10_000 => ("(G3 budget 5 ms)", Some(5.0)),
            _ => ("", None),
        };
        row(
            "gates",
            &format!("G3 decision in process, {n} evidence entries"),
            &ms(decide),
            budget,
            limit.map(|l| decide.as_secs_f64() * 1e3 <= l),
        );

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
        row(
            "gates",
            &format!("  of which the compact evidence view, {n}"),
            &ms(median(view_times)),
            "",
            None,
        );

        let mut naive_times = Vec::new();
        let mut records = Vec::new();
        for _ in 0..rounds.min(10) {
            let start = Instant::now();
            records = gov.release_evidence(&release, None)?;
            naive_times.push(start.elapsed());
        }
        row(
            "gates",
            &format!("  naive: read and parse every record, {n}"),
            &ms(median(naive_times)),
            "",
            None,
        );
        let rego = regorus_naive(&records, rounds.min(20))?;
        row(
            "reference",
            &format!("  regorus alone, naive policy over {n} raw records"),
            &ms(rego),
            "",
            None,
        );
        drop(gov);
        store.close();

        command_row(&asom, dir.path(), n)?;
    }
    Ok(())
}

/// regorus alone: the naive policy over the release's raw records, JSON in
/// (ingest included), deny set out. Returns the median of `rounds`.
fn regorus_naive(
    records: &[asom_governance::evidence::ReleaseEvidence],
    rounds: usize,
) -> anyhow::Result<Duration> {
    let raw: Vec<serde_json::Value> = records.iter().map(|r| r.evidence.to_json_value()).collect();
    let input = serde_json::json!({ "records": raw }).to_string();
    let mut engine = regorus::Engine::new();
    engine.add_policy("naive.rego".into(), NAIVE_POLICY.into())?;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let mut e = engine.clone();
        e.set_input_json(&input)?;
        let deny = e.eval_rule("data.naive.deny".into())?;
        times.push(start.elapsed());
        std::hint::black_box(deny);
    }
    Ok(median(times))
}

/// The whole-command row: `asom gate check G3` as a process, when the
/// `asom` binary is built beside this one.
fn command_row(asom: &std::path::Path, root: &std::path::Path, n: u32) -> anyhow::Result<()> {
    if asom.is_file() {
        let command = whole_command(asom, root, n, if n >= 10_000 { 5 } else { 15 })?;
        let (target, ok) = if n == 1_000 {
            ("(budget 20 ms)", Some(command.as_secs_f64() * 1e3 <= 20.0))
        } else {
            ("", None)
        };
        row(
            "gates",
            &format!("`asom gate check G3` command, {n} entries"),
            &ms(command),
            target,
            ok,
        );
    } else {
        row(
            "gates",
            &format!("`asom gate check G3` command, {n} entries"),
            "not run",
            "build asom beside asom-bench",
            None,
        );
    }
    Ok(())
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Times `asom gate check G3` as a process: `asom init` makes a real asom
/// directory, the release is recorded into it in process with the
/// directory's own log key, then the command runs `rounds` times (each run
/// appends its decision durably, as a user's would). Returns the median.
fn whole_command(
    asom: &std::path::Path,
    root: &std::path::Path,
    n: u32,
    rounds: usize,
) -> anyhow::Result<Duration> {
    use std::process::Command;
    let (dir, token, release) = cli_store(asom, &root.join(format!("cli-{n}")), n)?;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let out = Command::new(asom)
            .arg("--dir")
            .arg(&dir)
            .args(["gate", "check", "G3", "--release", &release.to_string()])
            .env("ASOM_TOKEN", &token)
            .env_remove("ASOM_NOW")
            .output()?;
        times.push(start.elapsed());
        anyhow::ensure!(
            out.status.code() == Some(1),
            "asom gate check should block (exit 1): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(median(times))
}

/// A real asom directory (`asom init`) holding the benchmark release with `n`
/// evidence records, recorded in process with the directory's own log key.
/// Returns the directory, the admin token and the release.
pub fn cli_store(
    asom: &std::path::Path,
    dir: &std::path::Path,
    n: u32,
) -> anyhow::Result<(std::path::PathBuf, String, ReleaseId)> {
    use std::process::Command;
    let init = Command::new(asom)
        .args(["--dir"])
        .arg(dir)
        .args(["--format", "json", "init"])
        .output()?;
    anyhow::ensure!(
        init.status.success(),
        "asom init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let init: serde_json::Value = serde_json::from_slice(&init.stdout)?;
    let token = init["admin_token"].as_str().unwrap_or_default().to_owned();
    let store = asom_store_sqlite::SqliteStore::open(dir.join("asom.db"))?;
    for key in std::fs::read_dir(dir.join("keys"))? {
        let text = std::fs::read_to_string(key?.path())?;
        let signer = asom_ledger::note::NoteSigner::from_private_key_string(text.trim())?;
        store.register_signer("default", std::sync::Arc::new(signer))?;
    }
    let gov = Governance::new(&store, "default");
    let release = setup(&store, &gov, n, "default", false)?;
    drop(gov);
    store.close();
    Ok((dir.to_path_buf(), token, release))
}

/// A product, a release with one commit and its CRQ, and `n` evidence records.
pub fn setup(
    store: &asom_store_sqlite::SqliteStore,
    gov: &Governance<'_>,
    n: u32,
    tenant: &str,
    create_admin: bool,
) -> anyhow::Result<ReleaseId> {
    let slug = |s: &str| Slug::new(s).expect("valid");
    let admin = Principal::human(slug("admin"), [Role::Admin]);
    let ci = Principal::machine(slug("ci-bot"));
    if create_admin {
        store.create_principal(tenant, &admin)?;
    }
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
            .tenant(EvTenant::parse_field("t", tenant).map_err(field)?)
            .product(EvProduct::parse_field("p", "sales").map_err(field)?)
            .release(ReleaseRef::parse_field("r", "sales@1.0.0").map_err(field)?)
            .build()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        gov.record_evidence(&ci, &evidence)?;
    }
    Ok(release)
}
