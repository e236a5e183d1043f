//! `asom-bench audit`: the audit walkthrough of a release with 10,000
//! evidence entries (in process, and as `asom audit --format json`), and
//! `asom verify-bundle` on a bundle of about 300 entries as a whole command,
//! each beside its DESIGN.md §10 budget.

use std::process::Command;
use std::time::Instant;

use asom_governance::Governance;

use crate::gates::{cli_store, median, ms, setup};
use crate::{open_store, row};

pub fn run(quick: bool) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("asom-bench-audit-")
        .tempdir_in(std::env::temp_dir())?;
    println!(
        "asom audit benchmark: release build, embedded SQLite store in {}",
        dir.path().display()
    );
    let pack = asom_policy::Pack::default_pack()?;
    let policy = asom_policy::RegoPolicy::new(&pack)?;
    let n = if quick { 1_000 } else { 10_000 };

    let store = open_store(dir.path(), "audit")?;
    let gov = Governance::new(&store, "bench");
    let release = setup(&store, &gov, n, "bench", true)?;
    let mut times = Vec::new();
    let mut traced = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let report = gov.audit(&release, &policy)?;
        times.push(start.elapsed());
        traced = report.evidence.len();
    }
    anyhow::ensure!(
        traced == n as usize,
        "the report traced {traced} of {n} records"
    );
    let t = median(times);
    let budget = if n == 10_000 { Some(200.0) } else { None };
    row(
        "audit",
        &format!("audit walkthrough in process, {n} evidence entries"),
        &ms(t),
        if budget.is_some() { "≤ 200 ms" } else { "" },
        budget.map(|b| t.as_secs_f64() * 1e3 <= b),
    );
    drop(gov);
    store.close();

    let asom = std::env::current_exe()?.with_file_name("asom");
    if !asom.is_file() {
        row(
            "audit",
            "whole commands",
            "not run",
            "build asom beside asom-bench",
            None,
        );
        return Ok(());
    }
    let (cli, token, release) = cli_store(&asom, &dir.path().join("cli-audit"), n)?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let out = Command::new(&asom)
            .arg("--dir")
            .arg(&cli)
            .args(["--format", "json", "audit", &release.to_string()])
            .output()?;
        times.push(start.elapsed());
        anyhow::ensure!(
            out.status.success(),
            "asom audit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    row(
        "audit",
        &format!("`asom audit --format json` command, {n} entries"),
        &ms(median(times)),
        "",
        None,
    );

    drop(token);
    verify_bundle_row(&asom, dir.path())
}

/// `asom verify-bundle` on a bundle of about 300 entries, as a whole command.
fn verify_bundle_row(asom: &std::path::Path, root: &std::path::Path) -> anyhow::Result<()> {
    // A bundle of about 300 entries: 290 evidence records plus the release,
    // change, CRQ and export entries.
    let (small, token_small, small_release) = cli_store(asom, &root.join("cli-bundle"), 290)?;
    let bundle = root.join("bundle.tar.gz");
    let out = Command::new(asom)
        .arg("--dir")
        .arg(&small)
        .args(["export", &small_release.to_string(), "--out"])
        .arg(&bundle)
        .env("ASOM_TOKEN", &token_small)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "asom export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = Command::new(asom)
        .arg("--dir")
        .arg(&small)
        .args(["ledger", "pubkey"])
        .output()?;
    let key = String::from_utf8(key.stdout)?.trim().to_owned();
    let mut times = Vec::new();
    let mut entries = String::new();
    for _ in 0..15 {
        let start = Instant::now();
        let out = Command::new(asom)
            .args(["--format", "json", "verify-bundle"])
            .arg(&bundle)
            .args(["--key", &key])
            .output()?;
        times.push(start.elapsed());
        anyhow::ensure!(
            out.status.success(),
            "asom verify-bundle: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        entries = doc["entries"].to_string();
    }
    let t = median(times);
    row(
        "audit",
        &format!("`asom verify-bundle` command, {entries}-entry bundle"),
        &ms(t),
        "≤ 20 ms (in-toto: 237 ms)",
        Some(t.as_secs_f64() * 1e3 <= 20.0),
    );
    Ok(())
}
