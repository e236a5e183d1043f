//! `asom verify [--artifacts] [--release R]`: the whole log against its
//! signed checkpoints and, with `--artifacts`, every evidence artifact asom
//! can reach, re-hashed against the digest its entry recorded.
//!
//! Reachable: `file:` references (paths as recorded, relative to the current
//! directory, or `file:///absolute`) and `http://` / `https://` URLs (GET,
//! 30 s timeout, redirects followed). Other schemes (`s3://`, `gs://`, …)
//! need credentials asom does not hold: they are reported as skipped, never
//! as verified. Exit 1 when the log does not verify or any artifact drifted
//! or is missing; an artifact that could not be reached (network, HTTP error)
//! is reported but does not fail the command.

use std::fmt::Write as _;
use std::io::Read as _;
use std::time::Duration;

use anyhow::anyhow;
use asom_core::release::ReleaseId;
use asom_ledger::Hash;
use asom_store::verify_tenant_log;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::cli::TopVerifyArgs;
use crate::commands::parse;
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::{Printer, note};

/// The largest artifact re-hashed over HTTP.
const MAX_HTTP_BYTES: u64 = 4 << 30;

/// What re-hashing one artifact found.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactCheck {
    /// The evidence entry's index.
    pub index: u64,
    /// The control.
    pub control: String,
    /// The recorded reference.
    pub source_ref: String,
    /// `ok`, `drift`, `missing`, `unreachable` or `skipped`.
    pub status: &'static str,
    /// The recorded SHA-256.
    pub expected: String,
    /// What the artifact hashes to now, when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Why, for anything but `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

pub fn run(ctx: &Embedded, args: &TopVerifyArgs, printer: &Printer) -> CliResult {
    let mut progress = |done: u64, total: u64| {
        if done.is_multiple_of(100_000) && done > 0 {
            note(&format!("verifying: {done} of {total} entries"));
        }
    };
    let log = verify_tenant_log(ctx.store.as_ref(), &ctx.tenant, &mut progress);
    let (log_ok, log_line) = match &log {
        Ok(v) => (
            true,
            format!(
                "log verified: {} entries, {} tree nodes and {} signed checkpoints agree",
                v.entries, v.nodes, v.checkpoints
            ),
        ),
        Err(f) if f.is_tamper() => (false, format!("the log does NOT verify: {f}")),
        Err(f) => return Err(CliError::usage(anyhow!(f.to_string()))),
    };
    let checks = if args.artifacts {
        artifacts(ctx, args.release.as_deref())?
    } else {
        Vec::new()
    };
    let count = |s: &str| checks.iter().filter(|c| c.status == s).count();
    let failed = !log_ok || count("drift") > 0 || count("missing") > 0;
    printer.either(
        &json!({
            "log": {"verified": log_ok, "summary": log_line},
            "artifacts": checks,
            "verified": !failed,
        }),
        || {
            let mut out = format!("{log_line}\n");
            if args.artifacts {
                let _ = writeln!(
                    out,
                    "artifacts: {} ok, {} drifted, {} missing, {} unreachable, {} skipped",
                    count("ok"),
                    count("drift"),
                    count("missing"),
                    count("unreachable"),
                    count("skipped")
                );
                for c in checks.iter().filter(|c| c.status != "ok") {
                    let _ = writeln!(
                        out,
                        "  entry {} {} {}: {}{}",
                        c.index,
                        c.control,
                        c.source_ref,
                        c.status.to_uppercase(),
                        c.detail
                            .as_ref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    );
                }
            }
            out
        },
    )?;
    if failed {
        return Err(CliError::failed(anyhow!(if log_ok {
            "artifacts drifted from what the ledger recorded, or are missing"
        } else {
            "the log does not verify"
        })));
    }
    Ok(())
}

fn artifacts(ctx: &Embedded, release: Option<&str>) -> CliResult<Vec<ArtifactCheck>> {
    let gov = ctx.governance();
    let records: Vec<(u64, asom_core::evidence::Evidence)> = match release {
        Some(r) => {
            let id: ReleaseId = parse("--release", r)?;
            gov.release_evidence(&id, None)?
                .into_iter()
                .map(|e| (e.index, e.evidence))
                .collect()
        }
        None => gov
            .all_evidence()?
            .into_iter()
            .map(|(i, _, _, e)| (i, e))
            .collect(),
    };
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let total = records.len();
    let mut out = Vec::with_capacity(total);
    for (n, (index, e)) in records.into_iter().enumerate() {
        if n > 0 && n % 100 == 0 {
            note(&format!("re-hashing artifacts: {n} of {total}"));
        }
        let source = e.source_ref().as_str().to_owned();
        let expected = e.checksum();
        let (status, actual, detail) = match fetch(&agent, &source) {
            Fetched::Bytes(hash, size) => {
                if hash != expected {
                    (
                        "drift",
                        Some(hash.to_hex()),
                        Some("the artifact's SHA-256 differs from the recorded one".to_owned()),
                    )
                } else if e.size().is_some_and(|s| s != size) {
                    (
                        "drift",
                        Some(hash.to_hex()),
                        Some(format!(
                            "size {size}, recorded {}",
                            e.size().unwrap_or_default()
                        )),
                    )
                } else {
                    ("ok", Some(hash.to_hex()), None)
                }
            }
            Fetched::Missing(why) => ("missing", None, Some(why)),
            Fetched::Unreachable(why) => ("unreachable", None, Some(why)),
            Fetched::Skipped(why) => ("skipped", None, Some(why)),
        };
        out.push(ArtifactCheck {
            index,
            control: e.control_id().to_string(),
            source_ref: source,
            status,
            expected: expected.to_hex(),
            actual,
            detail,
        });
    }
    Ok(out)
}

enum Fetched {
    Bytes(Hash, u64),
    Missing(String),
    Unreachable(String),
    Skipped(String),
}

fn fetch(agent: &ureq::Agent, source: &str) -> Fetched {
    if let Some(path) = source
        .strip_prefix("file://")
        .or_else(|| source.strip_prefix("file:"))
    {
        return match std::fs::File::open(path) {
            Ok(file) => hash_reader(file, u64::MAX),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Fetched::Missing(format!(
                "no file {path} (paths are relative to the current directory)"
            )),
            Err(e) => Fetched::Unreachable(format!("{path}: {e}")),
        };
    }
    if source.starts_with("http://") || source.starts_with("https://") {
        return match agent.get(source).call() {
            Ok(response) => {
                let status = response.status().as_u16();
                match status {
                    200..=299 => hash_reader(response.into_body().into_reader(), MAX_HTTP_BYTES),
                    404 | 410 => Fetched::Missing(format!("HTTP {status}")),
                    _ => Fetched::Unreachable(format!("HTTP {status}")),
                }
            }
            Err(e) => Fetched::Unreachable(e.to_string()),
        };
    }
    let scheme = source.split(':').next().unwrap_or(source);
    Fetched::Skipped(format!(
        "{scheme}: references need credentials asom does not hold; re-hash them with the store's own tools"
    ))
}

fn hash_reader(reader: impl std::io::Read, limit: u64) -> Fetched {
    let mut reader = reader.take(limit);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) => return Fetched::Unreachable(format!("reading: {e}")),
        }
    }
    Fetched::Bytes(Hash(hasher.finalize().into()), size)
}
