//! `asom evidence …`: record (plain JSON, DSSE-signed in-toto, JUnit XML),
//! list and show.

use std::fs;
use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use asom_core::dsse::Envelope;
use asom_core::evidence::{
    BuildId, Category, CommitSha, ControlId, CrqRef, Environment, Evidence, EvidenceBuilder,
    PrincipalSlug, Product, ReleaseRef, SourceRef, SourceType, Status,
};
use asom_core::release::ReleaseId;
use asom_ledger::Hash;
use serde_json::json;

use crate::cli::{EvidenceCommand, EvidenceRecordArgs};
use crate::commands::{parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

/// Largest input file `evidence record` reads (JSON, DSSE, JUnit).
const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;

pub fn run(ctx: &Embedded, command: &EvidenceCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        EvidenceCommand::Record(args) => {
            let actor = ctx.authenticate()?.principal;
            // Refuse non-machines before reading anything: the rule, not the input, decides.
            asom_governance::authorize(&actor, asom_core::principal::Action::RecordEvidence)?;
            let evidence = build(ctx, args, actor.slug().as_str())?;
            let recorded = gov.record_evidence(&actor, &evidence)?;
            printer.either(
                &json!({"evidence": evidence.to_json_with_id(), "recorded": recorded}),
                || {
                    format!(
                        "recorded {} {} {} evidence for commit {} (evidence id {})\n{}",
                        evidence.control_id(),
                        evidence
                            .test_category()
                            .map_or("--".to_owned(), |c| c.to_string()),
                        evidence.status().as_str(),
                        evidence.commit_sha(),
                        evidence.id().0,
                        recorded_line(&recorded)
                    )
                },
            )
        }
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

fn field<T>(
    what: &str,
    value: Option<&String>,
    parse: impl Fn(&str, &str) -> Result<T, asom_core::evidence::FieldError>,
) -> CliResult<Option<T>> {
    value
        .map(|v| parse(what, v).map_err(|e| CliError::usage(anyhow!("{e}"))))
        .transpose()
}

/// The builder with everything the flags say.
fn builder_from_flags(
    ctx: &Embedded,
    args: &EvidenceRecordArgs,
    producer: &str,
) -> CliResult<EvidenceBuilder> {
    let mut b = EvidenceBuilder::new()
        .produced_by(
            PrincipalSlug::parse_field("produced_by", producer)
                .map_err(|e| CliError::usage(anyhow!("{e}")))?,
        )
        .tenant(
            asom_core::evidence::Tenant::parse_field("tenant", &ctx.tenant)
                .map_err(|e| CliError::usage(anyhow!("{e}")))?,
        );
    if let Some(c) = &args.control {
        b = b.control_id(parse::<ControlId>("--control", c)?);
    }
    if let Some(c) = &args.category {
        b = b.test_category(parse::<Category>("--category", c)?);
    }
    if let Some(v) = field("--commit", args.commit.as_ref(), CommitSha::parse_field)? {
        b = b.commit_sha(v);
    }
    if let Some(v) = field("--build", args.build.as_ref(), BuildId::parse_field)? {
        b = b.build_id(v);
    }
    if let Some(v) = field(
        "--environment",
        args.environment.as_ref(),
        Environment::parse_field,
    )? {
        b = b.environment(v);
    }
    if let Some(v) = field(
        "--source-type",
        args.source_type.as_ref(),
        SourceType::parse_field,
    )? {
        b = b.source_type(v);
    }
    if let Some(s) = &args.status {
        b = b.status(parse::<Status>("--status", s)?);
    }
    if let Some(n) = &args.notes {
        b = b.notes(n.clone());
    }
    // The release fills in its product and, once it has one, its CRQ.
    let mut crq = args.crq.clone();
    if let Some(release) = &args.release {
        let id: ReleaseId = parse("--release", release)?;
        let view = ctx.governance().release(&id, None)?;
        b = b
            .release(
                ReleaseRef::parse_field("--release", release)
                    .map_err(|e| CliError::usage(anyhow!("{e}")))?,
            )
            .product(
                Product::parse_field("product", id.product().as_str())
                    .map_err(|e| CliError::usage(anyhow!("{e}")))?,
            );
        if crq.is_none() {
            crq = view.release.crq().map(ToString::to_string);
        }
    }
    if let Some(v) = field("--crq", crq.as_ref(), CrqRef::parse_field)? {
        b = b.crq_ref(v);
    }
    Ok(b)
}

/// Adds the artifact digest (from --file or --sha256) and source ref.
fn with_artifact(mut b: EvidenceBuilder, args: &EvidenceRecordArgs) -> CliResult<EvidenceBuilder> {
    if let Some(path) = &args.file {
        let bytes = read_artifact(path)?;
        b = b.checksum(Hash::of(&bytes)).size(bytes.len() as u64);
        let reference = args
            .source_ref
            .clone()
            .unwrap_or_else(|| format!("file:{}", path.display()));
        b = b.source_ref(
            SourceRef::parse_field("--source-ref", &reference)
                .map_err(|e| CliError::usage(anyhow!("{e}")))?,
        );
    } else if let Some(hex) = &args.sha256 {
        let hash = Hash::from_hex(hex).map_err(|e| CliError::usage(anyhow!("--sha256: {e}")))?;
        b = b.checksum(hash);
    }
    if args.file.is_none()
        && let Some(r) = &args.source_ref
    {
        b = b.source_ref(
            SourceRef::parse_field("--source-ref", r)
                .map_err(|e| CliError::usage(anyhow!("{e}")))?,
        );
    }
    Ok(b)
}

fn read_artifact(path: &Path) -> CliResult<Vec<u8>> {
    fs::read(path)
        .with_context(|| format!("reading artifact {}", path.display()))
        .map_err(CliError::usage)
}

fn build(ctx: &Embedded, args: &EvidenceRecordArgs, producer: &str) -> CliResult<Evidence> {
    let gov = ctx.governance();
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
        return asom_core::evidence::parse_record_as_given(&bytes)
            .map_err(|e| CliError::usage(anyhow!("{}: {e}", path.display())));
    }
    if let Some(path) = &args.dsse {
        let bytes = read_limited(path)?;
        let keys = gov.producer_keys(None)?;
        let envelope = Envelope::parse(&bytes)
            .map_err(|e| CliError::usage(anyhow!("{}: {e}", path.display())))?;
        let verified = envelope
            .verify(&keys)
            .map_err(|e| CliError::failed(anyhow!("{}: refused: {e}", path.display())))?;
        let reference = args
            .source_ref
            .clone()
            .unwrap_or_else(|| format!("file:{}", path.display()));
        let builder = builder_from_flags(ctx, args, producer)?.source_ref(
            SourceRef::parse_field("--source-ref", &reference)
                .map_err(|e| CliError::usage(anyhow!("{e}")))?,
        );
        let builder = if args.source_type.is_none() {
            builder.source_type(
                SourceType::parse_field("source_type", "in-toto")
                    .map_err(|e| CliError::usage(anyhow!("{e}")))?,
            )
        } else {
            builder
        };
        return verified
            .to_evidence(builder)
            .map_err(|e| CliError::usage(anyhow!("{}: {e}", path.display())));
    }
    if let Some(path) = &args.junit {
        let bytes = read_limited(path)?;
        let mut builder = builder_from_flags(ctx, args, producer)?;
        if args.source_ref.is_some() {
            builder = with_artifact(builder, args)?;
        } else {
            let reference = format!("file:{}", path.display());
            builder = builder.source_ref(
                SourceRef::parse_field("source_ref", &reference)
                    .map_err(|e| CliError::usage(anyhow!("{e}")))?,
            );
        }
        if args.source_type.is_none() {
            builder = builder.source_type(
                SourceType::parse_field("source_type", "junit")
                    .map_err(|e| CliError::usage(anyhow!("{e}")))?,
            );
        }
        return asom_core::junit::to_evidence(&bytes, MAX_INPUT_BYTES, builder)
            .map_err(|e| CliError::usage(anyhow!("{}: {e}", path.display())));
    }
    // Flags only: the artifact is --file or --sha256.
    let builder = with_artifact(builder_from_flags(ctx, args, producer)?, args)?;
    builder.build().map_err(|e| CliError::usage(anyhow!("{e}; record with --json FILE, --dsse FILE, --junit FILE, or flags (--control, --commit, --build, --environment, --status, --file or --sha256, --source-ref, --source-type)")))
}
