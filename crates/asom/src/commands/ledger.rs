//! `asom ledger …`: append, read, prove and verify the tenant's log.

use std::fs;
use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use asom_core::principal::Action;
use asom_ledger::Hash;
use asom_ledger::jcs;
use asom_ledger::merkle;
use asom_ledger::note::NoteVerifier;
use asom_ledger::receipt::Receipt;
use asom_store::{
    ContentId, NewEntry, StoreError, StoredEntry, TenantNodes, open_checkpoint, verify_tenant_log,
};
use serde_json::json;

use crate::cli::{
    AppendArgs, ConsistencyArgs, EntryRefArgs, GlobalArgs, LedgerCommand, ProofArgs, PubkeyArgs,
    VerifyArgs,
};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::{Printer, note};

/// Largest document `ledger append` reads (also per JSON Lines line).
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

pub fn run(global: &GlobalArgs, command: &LedgerCommand, printer: &Printer) -> CliResult {
    // Offline receipt verification needs no store when a key is given.
    if let LedgerCommand::Verify(
        args @ VerifyArgs {
            receipt: Some(_),
            key: Some(_),
            ..
        },
    ) = command
    {
        return verify_receipt(None, args, printer);
    }
    if let LedgerCommand::VerifyTiles(args) = command {
        return crate::commands::tiles::verify(args, printer);
    }
    let ctx = Embedded::open(&global.dir, &global.tenant, global.store.as_deref())?;
    match command {
        LedgerCommand::Append(args) => append(&ctx, args, printer),
        LedgerCommand::Get(args) => get(&ctx, args, printer),
        LedgerCommand::Checkpoint => checkpoint(&ctx, printer),
        LedgerCommand::Proof(args) => proof(&ctx, args, printer),
        LedgerCommand::Consistency(args) => consistency(&ctx, args, printer),
        LedgerCommand::Verify(args) if args.receipt.is_some() => {
            verify_receipt(Some(&ctx), args, printer)
        }
        LedgerCommand::Verify(_) => verify_log(&ctx, printer),
        LedgerCommand::Pubkey(args) => pubkey(&ctx, args, printer),
        LedgerCommand::Tiles(args) => crate::commands::tiles::write(&ctx, args, printer),
        LedgerCommand::VerifyTiles(_) => unreachable!("needs no store; handled above"),
    }
}

fn read_input(file: Option<&Path>) -> CliResult<Vec<u8>> {
    let mut bytes = Vec::new();
    let (reader, name): (Box<dyn std::io::Read>, String) = match file {
        None => (Box::new(std::io::stdin()), "standard input".into()),
        Some(p) if p == Path::new("-") => (Box::new(std::io::stdin()), "standard input".into()),
        Some(p) => (
            Box::new(fs::File::open(p).with_context(|| format!("opening {}", p.display()))?),
            p.display().to_string(),
        ),
    };
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {name}"))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(CliError::usage(anyhow!(
            "{name} is larger than {MAX_INPUT_BYTES} bytes; split it up"
        )));
    }
    Ok(bytes)
}

fn append(ctx: &Embedded, args: &AppendArgs, printer: &Printer) -> CliResult {
    let acting = ctx.authenticate()?;
    let capability = acting
        .principal()
        .authorize(Action::AppendLedger)
        .map_err(|r| CliError::usage(anyhow!(r)))?;
    let who = capability.principal().slug().as_str().to_owned();
    let input = read_input(args.file.as_deref())?;
    let docs: Vec<Vec<u8>> = if args.jsonl {
        input
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .map(|(n, line)| {
                jcs::canonicalize_text(line)
                    .map_err(|e| CliError::usage(anyhow!("line {}: {e}", n + 1)))
            })
            .collect::<Result<_, _>>()?
    } else if input.iter().all(u8::is_ascii_whitespace) {
        return Err(CliError::usage(anyhow!(
            "nothing to append: the input is empty"
        )));
    } else {
        vec![
            jcs::canonicalize_text(&input)
                .map_err(|e| CliError::usage(anyhow!("input is not valid JSON: {e}")))?,
        ]
    };
    if docs.is_empty() {
        return Err(CliError::usage(anyhow!(
            "nothing to append: the input has no JSON document"
        )));
    }
    let entries = docs
        .into_iter()
        .map(|content| NewEntry::from_canonical(&args.kind, content, &who))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| match e {
            asom_store::EntryError::Kind(_) => CliError::usage(anyhow!("--kind: {e}")),
            e => CliError::usage(anyhow!(e)),
        })?;
    let appended = ctx.store.append(&ctx.tenant, entries)?;
    if args.jsonl {
        let fresh = appended.iter().filter(|a| !a.duplicate).count();
        note(&format!(
            "appended {fresh} entries ({} already in the log); checkpoint size {}",
            appended.len() - fresh,
            appended.last().map_or(0, |a| a.checkpoint_size)
        ));
        let rows: Vec<_> = appended
            .iter()
            .map(|a| json!({"index": a.index, "id": a.id, "content_id": a.content_id.0, "duplicate": a.duplicate}))
            .collect();
        return printer.either(&rows, || {
            appended
                .iter()
                .map(|a| {
                    format!(
                        "{} {}{}",
                        a.index,
                        a.id,
                        if a.duplicate { " duplicate" } else { "" }
                    )
                })
                .fold(String::new(), |out, line| out + &line + "\n")
        });
    }
    let a = &appended[0];
    let receipt = receipt_for(ctx, a.index, a.checkpoint_size)?;
    if a.duplicate {
        note(&format!(
            "already in the log as entry {} (id {}); this is its receipt",
            a.index, a.id
        ));
    } else {
        note(&format!(
            "appended entry {} (id {}); receipt follows",
            a.index, a.id
        ));
    }
    printer.either(
        &json!({
            "index": a.index,
            "id": a.id,
            "content_id": a.content_id.0,
            "duplicate": a.duplicate,
            "checkpoint_size": a.checkpoint_size,
            "receipt": receipt.to_text(),
        }),
        || receipt.to_text(),
    )
}

/// Resolves an index, an entry id or a content id.
fn find_entry(ctx: &Embedded, reference: &str) -> CliResult<StoredEntry> {
    let not_found = |e: StoreError| match e {
        StoreError::NotFound { .. } => {
            CliError::usage(anyhow!("no entry {reference} in tenant {:?}", ctx.tenant))
        }
        e => CliError::usage(anyhow!(e)),
    };
    // 64 characters is always an id (ids may be all digits); anything shorter
    // made of digits is an index.
    if reference.len() != 64
        && !reference.is_empty()
        && reference.bytes().all(|b| b.is_ascii_digit())
    {
        let index: u64 = reference
            .parse()
            .map_err(|_| CliError::usage(anyhow!("index {reference} is too large")))?;
        return ctx.store.entry_at(&ctx.tenant, index).map_err(not_found);
    }
    let hash = Hash::from_hex(reference).map_err(|_| {
        CliError::usage(anyhow!(
            "{reference:?} is neither an entry index (a number) nor an entry or content id (64 hex digits)"
        ))
    })?;
    match ctx.store.entry_by_id(&ctx.tenant, &hash) {
        Err(StoreError::NotFound { .. }) => ctx
            .store
            .entry_by_content(&ctx.tenant, &ContentId(hash))
            .map_err(not_found),
        other => other.map_err(not_found),
    }
}

fn get(ctx: &Embedded, args: &EntryRefArgs, printer: &Printer) -> CliResult {
    let entry = find_entry(ctx, &args.entry)?;
    match printer.format() {
        crate::cli::Format::Text | crate::cli::Format::Markdown | crate::cli::Format::Html => {
            printer.bytes(&entry.bytes)?;
        }
        crate::cli::Format::Json => {
            let parsed: serde_json::Value = serde_json::from_slice(&entry.bytes)
                .map_err(|e| StoreError::Corrupt(format!("entry {}: {e}", entry.index)))?;
            printer.json(&json!({
                "index": entry.index,
                "id": entry.id,
                "content_id": entry.content_id.0,
                "kind": entry.kind,
                "entry": parsed,
            }))?;
        }
    }
    Ok(())
}

fn checkpoint(ctx: &Embedded, printer: &Printer) -> CliResult {
    let cp = ctx.store.latest_checkpoint(&ctx.tenant)?;
    let origin = ctx.store.tenant(&ctx.tenant)?.origin;
    printer.either(
        &json!({"origin": origin, "size": cp.size, "root_hash": cp.root.to_base64(), "note": cp.note}),
        || cp.note.clone(),
    )
}

/// The tlog-proof of entry `index` against the signed checkpoint of `size`.
/// The receipt of entry `index` against the checkpoint signed at `size`.
pub fn receipt_for(ctx: &Embedded, index: u64, size: u64) -> CliResult<Receipt> {
    let cp = ctx.store.checkpoint_at(&ctx.tenant, size).map_err(|e| match e {
        StoreError::NotFound { .. } => {
            let sizes: Vec<u64> = ctx.store.checkpoints(&ctx.tenant).map(|c| c.iter().map(|c| c.size).collect()).unwrap_or_default();
            let below = sizes.iter().rev().find(|s| **s < size);
            let above = sizes.iter().find(|s| **s > size);
            CliError::usage(anyhow!(
                "no checkpoint was signed at size {size}; the nearest signed sizes are {} and {}",
                below.map_or("none".into(), u64::to_string),
                above.map_or("none".into(), u64::to_string),
            ))
        }
        e => CliError::usage(anyhow!(e)),
    })?;
    let proof = merkle::inclusion_proof(
        &TenantNodes {
            store: ctx.store.as_ref(),
            tenant: &ctx.tenant,
        },
        index,
        size,
    )
    .map_err(|e| CliError::usage(anyhow!(e)))?;
    Ok(Receipt {
        index,
        extra: None,
        proof,
        checkpoint: cp.note,
    })
}

fn proof(ctx: &Embedded, args: &ProofArgs, printer: &Printer) -> CliResult {
    let entry = find_entry(ctx, &args.entry)?;
    let size = match args.size {
        Some(s) => s,
        None => ctx.store.latest_checkpoint(&ctx.tenant)?.size,
    };
    if entry.index >= size {
        return Err(CliError::usage(anyhow!(
            "entry {} is not in the tree of size {size}; use a --size above {}",
            entry.index,
            entry.index
        )));
    }
    let receipt = receipt_for(ctx, entry.index, size)?;
    printer.either(
        &json!({
            "index": entry.index,
            "id": entry.id,
            "size": size,
            "proof": receipt.proof.iter().map(Hash::to_base64).collect::<Vec<_>>(),
            "receipt": receipt.to_text(),
        }),
        || receipt.to_text(),
    )
}

fn consistency(ctx: &Embedded, args: &ConsistencyArgs, printer: &Printer) -> CliResult {
    let size = ctx.store.latest_checkpoint(&ctx.tenant)?.size;
    if args.size2 > size {
        return Err(CliError::usage(anyhow!(
            "the log has {size} entries; size {} does not exist yet",
            args.size2
        )));
    }
    let proof = merkle::consistency_proof(
        &TenantNodes {
            store: ctx.store.as_ref(),
            tenant: &ctx.tenant,
        },
        args.size1,
        args.size2,
    )
    .map_err(|e| CliError::usage(anyhow!(e)))?;
    let lines: Vec<String> = proof.iter().map(Hash::to_base64).collect();
    printer.either(
        &json!({"size1": args.size1, "size2": args.size2, "proof": lines}),
        || lines.iter().fold(String::new(), |out, l| out + l + "\n"),
    )
}

fn verify_log(ctx: &Embedded, printer: &Printer) -> CliResult {
    let started = std::time::Instant::now();
    let mut last_report = std::time::Instant::now();
    let mut progress = |done: u64, total: u64| {
        if last_report.elapsed().as_millis() >= 500 {
            last_report = std::time::Instant::now();
            note(&format!("verifying: {done} of {total} entries"));
        }
    };
    match verify_tenant_log(ctx.store.as_ref(), &ctx.tenant, &mut progress) {
        Ok(v) => {
            tracing::info!(
                entries = v.entries,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "log verified"
            );
            printer.either(
                &json!({
                    "verified": true,
                    "entries": v.entries,
                    "nodes": v.nodes,
                    "checkpoints": v.checkpoints,
                    "root_hash": v.root.to_base64(),
                }),
                || {
                    format!(
                        "verified: {} entries, {} tree nodes and {} signed checkpoints agree; root {} at size {}\n",
                        v.entries,
                        v.nodes,
                        v.checkpoints,
                        v.root.to_base64(),
                        v.entries
                    )
                },
            )
        }
        Err(failure) if failure.is_tamper() => {
            if printer.format() == crate::cli::Format::Json {
                printer.json(&json!({"verified": false, "error": failure.to_string()}))?;
            }
            Err(CliError::failed(anyhow!(
                "the log of tenant {:?} does not verify: {failure}",
                ctx.tenant
            )))
        }
        Err(failure) => Err(CliError::usage(anyhow!(failure))),
    }
}

fn verify_receipt(ctx: Option<&Embedded>, args: &VerifyArgs, printer: &Printer) -> CliResult {
    let receipt_path = args.receipt.as_deref().expect("clap requires --receipt");
    let entry_path = args.entry.as_deref().expect("clap requires --entry");
    let receipt_text = fs::read_to_string(receipt_path)
        .with_context(|| format!("reading receipt {}", receipt_path.display()))?;
    let entry =
        fs::read(entry_path).with_context(|| format!("reading entry {}", entry_path.display()))?;
    let receipt = Receipt::parse(&receipt_text).map_err(|e| {
        CliError::usage(anyhow!(
            "{} is not a tlog-proof receipt: {e}",
            receipt_path.display()
        ))
    })?;
    let keys: Vec<NoteVerifier> = match (&args.key, ctx) {
        (Some(k), _) => vec![
            k.trim()
                .parse()
                .map_err(|e| CliError::usage(anyhow!("--key: {e}")))?,
        ],
        (None, Some(ctx)) => ctx
            .store
            .log_keys(&ctx.tenant)?
            .iter()
            .map(|k| {
                k.verifier
                    .parse()
                    .map_err(|e| CliError::usage(anyhow!("stored log key: {e}")))
            })
            .collect::<Result<_, _>>()?,
        (None, None) => unreachable!("handled by the caller"),
    };
    let mut last_error = None;
    for key in &keys {
        match receipt.verify(&entry, key) {
            Ok(cp) => {
                let id = Hash::of(&entry);
                return printer.either(
                    &json!({
                        "verified": true,
                        "index": receipt.index,
                        "id": id,
                        "origin": cp.origin,
                        "size": cp.size,
                        "root_hash": cp.root.to_base64(),
                    }),
                    || {
                        format!(
                            "verified: entry {id} is entry {} of log {} at size {} (root {})\n",
                            receipt.index,
                            cp.origin,
                            cp.size,
                            cp.root.to_base64()
                        )
                    },
                );
            }
            Err(e) => last_error = Some(e),
        }
    }
    let reason = last_error.map_or_else(
        || "no verifier key to check it with".to_owned(),
        |e| e.to_string(),
    );
    if printer.format() == crate::cli::Format::Json {
        printer.json(&json!({"verified": false, "error": reason}))?;
    }
    Err(CliError::failed(anyhow!(
        "the receipt does not verify: {reason}"
    )))
}

fn pubkey(ctx: &Embedded, args: &PubkeyArgs, printer: &Printer) -> CliResult {
    let keys: Vec<_> = ctx
        .store
        .log_keys(&ctx.tenant)?
        .into_iter()
        .filter(|k| args.all || k.active)
        .collect();
    // Also prove the store's keys still open the latest checkpoint.
    let latest = ctx.store.latest_checkpoint(&ctx.tenant)?;
    let verifiers: Vec<NoteVerifier> = keys
        .iter()
        .filter_map(|k| k.verifier.parse().ok())
        .collect();
    if let Err(reason) = open_checkpoint(&latest.note, &verifiers) {
        note(&format!(
            "warning: the latest checkpoint does not open with these keys: {reason}"
        ));
    }
    printer.either(
        &keys.iter().map(|k| json!({"verifier_key": k.verifier, "active": k.active, "created_at": k.created_at})).collect::<Vec<_>>(),
        || keys.iter().fold(String::new(), |out, k| out + &k.verifier + "\n"),
    )
}
