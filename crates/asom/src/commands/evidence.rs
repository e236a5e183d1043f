//! `asom evidence …`: record (plain JSON, DSSE-signed in-toto, JUnit XML),
//! list and show.

use std::fs;
use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use asom_core::release::ReleaseId;
use asom_ledger::Hash;
use asom_server::api::ops::RecordEvidence;
use serde_json::json;

use crate::cli::{EvidenceCommand, EvidenceRecordArgs};
use crate::commands::{Runner, parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

/// Largest input file `evidence record` reads (JSON, DSSE, JUnit).
const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;

pub fn run(ctx: &Embedded, command: &EvidenceCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        EvidenceCommand::Record(args) => record(&Runner::local(ctx, None), args, printer),
        EvidenceCommand::List { release, commit } => {
            if let Some(release) = release {
                let id: ReleaseId = parse("--release", release)?;
                let items = gov.release_evidence(&id, None)?;
                printer.either(&items, || {
                    items
                        .iter()
                        .map(|e| {
                            format!(
                                "#{:<6} {} {:<3} {:<5} {}{}\n",
                                e.index,
                                e.evidence.control_id(),
                                e.evidence
                                    .test_category()
                                    .map_or("--".to_owned(), |c| c.to_string()),
                                e.evidence.status().as_str(),
                                e.evidence.source_ref().as_str(),
                                e.not_counted_because
                                    .as_ref()
                                    .map_or(String::new(), |w| format!("  NOT COUNTED: {w}"))
                            )
                        })
                        .collect()
                })
            } else {
                let commit = commit.as_deref().unwrap_or_default();
                let items = gov.commit_evidence(commit, None)?;
                let rows: Vec<_> = items
                    .iter()
                    .map(|(i, e)| json!({"index": i, "evidence": e.to_json_with_id()}))
                    .collect();
                printer.either(&rows, || {
                    items
                        .iter()
                        .map(|(i, e)| {
                            format!(
                                "#{i:<6} {} {:<5} {}\n",
                                e.control_id(),
                                e.status().as_str(),
                                e.source_ref().as_str()
                            )
                        })
                        .collect()
                })
            }
        }
        EvidenceCommand::Show { evidence } => {
            let (index, record) = gov.evidence(evidence)?;
            let value = record.to_json_with_id();
            printer.either(&json!({"index": index, "evidence": value}), || {
                format!(
                    "entry {index}\n{}\n",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                )
            })
        }
    }
}

fn read_limited(path: &Path) -> CliResult<Vec<u8>> {
    let mut bytes = Vec::new();
    let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    file.take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(CliError::usage(anyhow!(
            "{} is larger than {MAX_INPUT_BYTES} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn read_artifact(path: &Path) -> CliResult<Vec<u8>> {
    fs::read(path)
        .with_context(|| format!("reading artifact {}", path.display()))
        .map_err(CliError::usage)
}

/// The request `asom evidence record` sends: files are read here, every
/// field is checked where the record is built (in process or on the server).
fn request(args: &EvidenceRecordArgs) -> CliResult<RecordEvidence> {
    let mut req = RecordEvidence {
        release: args.release.clone(),
        control: args.control.clone(),
        category: args.category.clone(),
        commit: args.commit.clone(),
        build: args.build.clone(),
        environment: args.environment.clone(),
        crq: args.crq.clone(),
        sha256: args.sha256.clone(),
        source_ref: args.source_ref.clone(),
        source_type: args.source_type.clone(),
        status: args.status.clone(),
        notes: args.notes.clone(),
        ..RecordEvidence::default()
    };
    let default_ref = |path: &Path| Some(format!("file:{}", path.display()));
    let mut hash_artifact = true;
    if let Some(path) = &args.json {
        let flags = [
            ("--release", args.release.is_some()),
            ("--control", args.control.is_some()),
            ("--category", args.category.is_some()),
            ("--commit", args.commit.is_some()),
            ("--build", args.build.is_some()),
            ("--environment", args.environment.is_some()),
            ("--crq", args.crq.is_some()),
            ("--file", args.file.is_some()),
            ("--sha256", args.sha256.is_some()),
            ("--source-ref", args.source_ref.is_some()),
            ("--source-type", args.source_type.is_some()),
            ("--status", args.status.is_some()),
            ("--notes", args.notes.is_some()),
        ];
        let given: Vec<&str> = flags
            .iter()
            .filter(|(_, set)| *set)
            .map(|(f, _)| *f)
            .collect();
        if !given.is_empty() {
            return Err(CliError::usage(anyhow!(
                "a --json record carries all its fields itself; {} would be ignored, so put them in the record",
                given.join(", ")
            )));
        }
        let bytes = read_limited(path)?;
        // Checked here too, so the error names the file.
        asom_core::evidence::parse_record_as_given(&bytes)
            .map_err(|e| CliError::usage(anyhow!("{}: {e}", path.display())))?;
        req.record = Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| CliError::usage(anyhow!("{}: {e}", path.display())))?,
        );
        hash_artifact = false;
    } else if let Some(path) = &args.dsse {
        let bytes = read_limited(path)?;
        // Checked here too, so the error names the file and the DSSE rule.
        asom_core::dsse::Envelope::parse(&bytes)
            .map_err(|e| CliError::usage(anyhow!("{}: {e}", path.display())))?;
        req.dsse = Some(serde_json::from_slice(&bytes).map_err(|e| {
            CliError::usage(anyhow!("{}: not a DSSE envelope: {e}", path.display()))
        })?);
        if req.source_ref.is_none() {
            req.source_ref = default_ref(path);
        }
        hash_artifact = false;
    } else if let Some(path) = &args.junit {
        let bytes = read_limited(path)?;
        req.junit = Some(String::from_utf8(bytes).map_err(|_| {
            CliError::usage(anyhow!("{}: a JUnit report must be UTF-8", path.display()))
        })?);
        // The report is the artifact unless --source-ref names another.
        if req.source_ref.is_none() {
            req.source_ref = default_ref(path);
            hash_artifact = false;
        }
    }
    if hash_artifact && let Some(path) = &args.file {
        let bytes = read_artifact(path)?;
        req.sha256 = Some(Hash::of(&bytes).to_hex());
        req.size = Some(bytes.len() as u64);
        if req.source_ref.is_none() {
            req.source_ref = default_ref(path);
        }
    }
    Ok(req)
}

/// `asom evidence record`, in process or on a server.
pub fn record(runner: &Runner<'_>, args: &EvidenceRecordArgs, printer: &Printer) -> CliResult {
    let out = runner.call(request(args)?)?;
    let line = |field: &str| out.evidence[field].as_str().unwrap_or("--").to_owned();
    printer.either(
        &json!({"evidence": out.evidence, "recorded": out.recorded}),
        || {
            format!(
                "recorded {} {} {} evidence for commit {} (evidence id {})\n{}",
                line("control_id"),
                line("test_category"),
                line("status"),
                line("commit_sha"),
                line("evidence_id"),
                recorded_line(&out.recorded)
            )
        },
    )
}
