//! `asom export <release> --out bundle.tar.gz` and `asom verify-bundle`.
//!
//! A bundle is a gzip'd tar with one top folder, `asom-bundle/`:
//!
//! ```text
//! README.md            how to check the bundle, with asom or with standard tools
//! manifest.json        release, tenant, log origin, checkpoint size, export entry (RFC 8785)
//! checkpoint.txt       the signed checkpoint every proof leads to (C2SP tlog-checkpoint)
//! verifier.key         the log's verifier key(s), one per line (C2SP signed-note vkey)
//! entries/<n>.json     each entry of the release, exactly as hashed into the log
//! proofs/<n>.tlog      its inclusion proof against checkpoint.txt (C2SP tlog-proof@v1)
//! audit.json           the audit walkthrough as data (`asom audit --format json`)
//! policy/<file>        the policy pack the decisions are replayed with
//! tools/asom_verify.py a stdlib-only Python verifier written from the specs
//! SHA256SUMS           `sha256sum -c` over every other file
//! ```
//!
//! What vouches for what: the checkpoint is signed by the log key; each entry
//! is proven in it by its receipt; the **export entry** (appended by `asom
//! export` before the bundle is written, and proven like the others) lists
//! every entry of the bundle by index and id and the SHA-256 of every other
//! payload file (README, report, pack, tools), so the signed log vouches for
//! all of it; `manifest.json` and `SHA256SUMS` are checked against the rest.
//! `verify-bundle` needs no store: only the bundle and, to trust anything,
//! the verifier key obtained independently (`--key`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, anyhow};
use asom_core::release::ReleaseId;
use asom_governance::audit::ExportRecord;
use asom_governance::gates::Decision;
use asom_ledger::note::NoteVerifier;
use asom_ledger::receipt::Receipt;
use asom_ledger::{Hash, jcs};
use asom_server::api::ops::exports::Export;
use serde_json::{Value, json};

use crate::cli::{ExportArgs, VerifyBundleArgs};
use crate::commands::{Runner, parse};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::{Printer, note};

/// The bundle's top folder.
const TOP: &str = "asom-bundle";
/// The manifest's schema.
const SCHEMA: &str = asom_server::api::ops::exports::BUNDLE_SCHEMA;
/// The largest bundle `verify-bundle` reads, uncompressed.
const MAX_BUNDLE_BYTES: u64 = 2 << 30;

pub fn export(ctx: &Embedded, args: &ExportArgs, printer: &Printer) -> CliResult {
    export_on(&Runner::local(ctx, args.pack.as_deref()), args, printer)
}

/// `asom export`, in process or on a server: the side with the store builds
/// the files and records the export; they are written here.
pub fn export_on(runner: &Runner<'_>, args: &ExportArgs, printer: &Printer) -> CliResult {
    let release: ReleaseId = parse("release", &args.release)?;
    let out = printer.out_path().ok_or_else(|| {
        CliError::usage(anyhow!(
            "give the bundle's file with --out, e.g. --out {}.tar.gz",
            release.to_string().replace('@', "-")
        ))
    })?;
    note(&format!("exporting {release}…"));
    let exported = runner.call(Export {
        release: args.release.clone(),
    })?;
    let files = exported.decoded()?;
    write_bundle(&out, &files)?;
    let (size, recorded) = (exported.log_size, &exported.export_entry);
    let summary = json!({
        "bundle": if printer.stable() { Value::Null } else { json!(out.display().to_string()) },
        "release": release.to_string(),
        "entries": exported.entries,
        "files": files.len(),
        "log_size": size,
        "export_entry": recorded,
    });
    printer.to_stdout().either(&summary, || {
        format!(
            "exported {release}: {} ledger entries with their proofs against the checkpoint at size {size}, the audit report and the policy pack, to {}\nthe export itself is ledger entry {}; check the bundle with: asom verify-bundle {} --key \"$(asom ledger pubkey)\"\n",
            exported.entries,
            out.display(),
            recorded.index,
            out.display()
        )
    })
}

fn write_bundle(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> CliResult {
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{TOP}/{path}"), bytes.as_slice())
            .with_context(|| format!("writing {path} into the bundle"))?;
    }
    let gz = tar.into_inner().context("finishing the tar stream")?;
    let mut file = gz.finish().context("finishing the gzip stream")?;
    file.flush()
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// Reads every file of a bundle, without its top folder.
fn read_bundle(path: &Path) -> CliResult<BTreeMap<String, Vec<u8>>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("opening {}", path.display()))
        .map_err(CliError::usage)?;
    let gz = flate2::read::GzDecoder::new(file);
    let mut archive = tar::Archive::new(gz.take(MAX_BUNDLE_BYTES));
    let mut files = BTreeMap::new();
    let bad = |e: std::io::Error| {
        CliError::usage(anyhow!(
            "{} is not a readable bundle (a gzip'd tar made by asom export): {e}",
            path.display()
        ))
    };
    for item in archive.entries().map_err(bad)? {
        let mut item = item.map_err(bad)?;
        if item.header().entry_type().is_dir() {
            continue;
        }
        let name = item.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some(rel) = name.strip_prefix(&format!("{TOP}/")) else {
            return Err(CliError::failed(anyhow!(
                "{name}: every file of a bundle is under {TOP}/"
            )));
        };
        if rel.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(CliError::failed(anyhow!(
                "{name}: not a plain relative path"
            )));
        }
        let mut bytes = Vec::new();
        item.read_to_end(&mut bytes).map_err(bad)?;
        if files.insert(rel.to_owned(), bytes).is_some() {
            return Err(CliError::failed(anyhow!("{name} is in the bundle twice")));
        }
    }
    Ok(files)
}

/// What `verify-bundle` found.
struct Checked {
    release: String,
    origin: String,
    size: u64,
    entries: usize,
    decisions: Vec<String>,
    pack: String,
    key: String,
}

pub fn verify(args: &VerifyBundleArgs, printer: &Printer) -> CliResult {
    let files = read_bundle(&args.bundle)?;
    let checked = check(&files, args.key.as_deref()).map_err(|e| {
        CliError::failed(anyhow!(
            "the bundle {} does not verify: {e}",
            args.bundle.display()
        ))
    })?;
    printer.either(
        &json!({
            "verified": true,
            "release": checked.release,
            "origin": checked.origin,
            "log_size": checked.size,
            "entries": checked.entries,
            "decisions": checked.decisions,
            "pack": checked.pack,
            "key": checked.key,
        }),
        || {
            let mut out = format!(
                "verified: {} entries of {} proven in the log {} at size {}, signed by {}\n",
                checked.entries, checked.release, checked.origin, checked.size, checked.key
            );
            let _ = writeln!(out, "  every file matches the export entry and SHA256SUMS");
            let _ = writeln!(out, "  policy pack {}", checked.pack);
            for d in &checked.decisions {
                let _ = writeln!(out, "  decision {d}");
            }
            out
        },
    )
}

/// A failure that names the file (and the entry, when it is one).
fn at(path: &str, what: impl std::fmt::Display) -> anyhow::Error {
    let entry = path
        .strip_prefix("entries/")
        .or_else(|| path.strip_prefix("proofs/"))
        .and_then(|f| f.split('.').next())
        .map(|i| format!(" (entry {i})"))
        .unwrap_or_default();
    anyhow!("{path}{entry}: {what}")
}

fn text<'f>(files: &'f BTreeMap<String, Vec<u8>>, path: &str) -> anyhow::Result<&'f str> {
    let bytes = files
        .get(path)
        .ok_or_else(|| anyhow!("{path} is missing from the bundle"))?;
    std::str::from_utf8(bytes).map_err(|_| at(path, "not UTF-8 text"))
}

#[allow(clippy::too_many_lines)] // The checks, in the order the README explains them.
fn check(files: &BTreeMap<String, Vec<u8>>, key: Option<&str>) -> anyhow::Result<Checked> {
    // 1. The key: the auditor's, or (with a warning) the bundle's own.
    let bundled = text(files, "verifier.key")?;
    let key_text = if let Some(k) = key {
        k.trim().to_owned()
    } else {
        note(
            "warning: no --key given, so the bundle is checked against the key it carries; \
             that proves consistency, not origin. Pass the log's verifier key obtained independently.",
        );
        bundled.lines().next().unwrap_or_default().trim().to_owned()
    };
    let verifier: NoteVerifier = key_text
        .parse()
        .map_err(|e| anyhow!("the verifier key {key_text:?} is not a signed-note key: {e}"))?;

    // 2. The checkpoint, signed by that key.
    let checkpoint_text = text(files, "checkpoint.txt")?;
    let checkpoint = asom_ledger::checkpoint::Checkpoint::open(checkpoint_text, &verifier)
        .map_err(|e| {
            at(
                "checkpoint.txt",
                format!("not signed by {}: {e}", verifier.name()),
            )
        })?;

    // 3. The manifest: canonical, and consistent with the checkpoint.
    let manifest_bytes = files
        .get("manifest.json")
        .ok_or_else(|| anyhow!("manifest.json is missing from the bundle"))?;
    let manifest = jcs::parse_strict(manifest_bytes).map_err(|e| at("manifest.json", e))?;
    if jcs::canonicalize(&manifest).ok().as_deref() != Some(manifest_bytes.as_slice()) {
        return Err(at(
            "manifest.json",
            "not in RFC 8785 canonical form (it was edited)",
        ));
    }
    if manifest["schema"] != SCHEMA {
        return Err(at("manifest.json", format!("schema is not {SCHEMA}")));
    }
    if manifest["log_size"].as_u64() != Some(checkpoint.size) {
        return Err(at("manifest.json", "log_size differs from checkpoint.txt"));
    }
    if manifest["origin"].as_str() != Some(checkpoint.origin.as_str()) {
        return Err(at("manifest.json", "origin differs from checkpoint.txt"));
    }
    let release = manifest["release"]
        .as_str()
        .ok_or_else(|| at("manifest.json", "no release"))?
        .to_owned();
    let export_index = manifest["export_entry"]
        .as_u64()
        .ok_or_else(|| at("manifest.json", "no export_entry"))?;
    let listed: Vec<u64> = manifest["entries"]
        .as_array()
        .ok_or_else(|| at("manifest.json", "no entries"))?
        .iter()
        .map(|v| {
            v.as_u64()
                .ok_or_else(|| at("manifest.json", "an entry index is not a number"))
        })
        .collect::<anyhow::Result<_>>()?;

    // 4. Every listed entry is in the signed log, by its receipt.
    let mut entries: BTreeMap<u64, Value> = BTreeMap::new();
    for &index in &listed {
        let entry_path = format!("entries/{index}.json");
        let proof_path = format!("proofs/{index}.tlog");
        let bytes = files
            .get(&entry_path)
            .ok_or_else(|| anyhow!("{entry_path} (entry {index}) is missing from the bundle"))?;
        let receipt_text = files.get(&proof_path).ok_or_else(|| {
            anyhow!("{proof_path} (entry {index}): the entry's proof is missing from the bundle")
        })?;
        let receipt = Receipt::parse(std::str::from_utf8(receipt_text).unwrap_or(""))
            .map_err(|e| at(&proof_path, e))?;
        if receipt.index != index {
            return Err(at(
                &proof_path,
                format!("proves index {}, not {index}", receipt.index),
            ));
        }
        if receipt.checkpoint != checkpoint_text {
            return Err(at(
                &proof_path,
                "leads to another checkpoint than checkpoint.txt",
            ));
        }
        // The receipt's checkpoint is checkpoint.txt, whose signature was
        // checked once above: only the inclusion proof is left to check.
        asom_ledger::merkle::verify_inclusion(
            &asom_ledger::merkle::leaf_hash(bytes),
            index,
            checkpoint.size,
            &receipt.proof,
            &checkpoint.root,
        )
        .map_err(|e| {
            anyhow!(
                "{entry_path} / {proof_path} (entry {index}): the proof does not lead from this entry to the signed root (the entry or its proof was altered): {e}"
            )
        })?;
        let value = jcs::parse_strict(bytes).map_err(|e| at(&entry_path, e))?;
        entries.insert(index, value);
    }

    // 5. The export entry vouches for the entries and every payload file.
    let export = entries
        .get(&export_index)
        .ok_or_else(|| at("manifest.json", "the export entry is not among the entries"))?;
    if export["kind"] != "export" {
        return Err(at(
            "manifest.json",
            format!(
                "export_entry {export_index} is a {} entry, not the export",
                export["kind"]
            ),
        ));
    }
    let record: ExportRecord = serde_json::from_value(export["content"].clone())
        .map_err(|e| at(&format!("entries/{export_index}.json"), e))?;
    if record.release != release {
        return Err(at(
            "manifest.json",
            format!(
                "names release {release}, the export entry {}",
                record.release
            ),
        ));
    }
    let mut expected: Vec<u64> = record.entries.iter().map(|(i, _)| *i).collect();
    expected.push(export_index);
    if expected != listed {
        return Err(at(
            "manifest.json",
            "its entries differ from those the export entry lists",
        ));
    }
    for (index, id) in &record.entries {
        let path = format!("entries/{index}.json");
        if files.get(&path).map(|b| Hash::of(b).to_hex()).as_ref() != Some(id) {
            return Err(at(
                &path,
                format!("its id is not {id}, the one the export entry lists"),
            ));
        }
    }
    for (path, sum) in &record.files {
        let bytes = files
            .get(path)
            .ok_or_else(|| anyhow!("{path} is missing from the bundle"))?;
        if Hash::of(bytes).to_hex() != *sum {
            return Err(at(
                path,
                "differs from the SHA-256 the export entry records",
            ));
        }
    }

    // Every manifest field is checked against signed data: the tenant
    // against the audit report the export entry vouches for.
    let fields: Vec<&str> = manifest
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if fields
        != [
            "entries",
            "export_entry",
            "log_size",
            "origin",
            "release",
            "schema",
            "tenant",
        ]
    {
        return Err(at("manifest.json", format!("unexpected fields {fields:?}")));
    }
    let audit = jcs::parse_strict(
        files
            .get("audit.json")
            .ok_or_else(|| anyhow!("audit.json is missing from the bundle"))?,
    )
    .map_err(|e| at("audit.json", e))?;
    if manifest["tenant"] != audit["tenant"] || audit["release"] != release.as_str() {
        return Err(at(
            "manifest.json",
            "its tenant or release differs from audit.json's",
        ));
    }

    // 6. Nothing else is in the bundle, and SHA256SUMS matches it.
    for path in files.keys() {
        let known = record.files.contains_key(path)
            || matches!(
                path.as_str(),
                "manifest.json" | "checkpoint.txt" | "SHA256SUMS"
            )
            || path
                .strip_prefix("entries/")
                .or_else(|| path.strip_prefix("proofs/"))
                .and_then(|f| f.split('.').next())
                .and_then(|i| i.parse::<u64>().ok())
                .is_some_and(|i| listed.contains(&i));
        if !known {
            return Err(at(path, "is not part of the export"));
        }
    }
    let sums = text(files, "SHA256SUMS")?;
    let mut summed = 0;
    for line in sums.lines() {
        let (sum, path) = line
            .split_once("  ")
            .ok_or_else(|| at("SHA256SUMS", format!("malformed line {line:?}")))?;
        let bytes = files.get(path).ok_or_else(|| {
            at(
                "SHA256SUMS",
                format!("lists {path}, which is not in the bundle"),
            )
        })?;
        // Every file was checked against signed data above, so a line
        // that disagrees is SHA256SUMS's own fault.
        if Hash::of(bytes).to_hex() != sum {
            return Err(at(
                "SHA256SUMS",
                format!("its line for {path} does not match the file"),
            ));
        }
        summed += 1;
    }
    if summed + 1 != files.len() {
        return Err(at("SHA256SUMS", "does not list every other file"));
    }

    // 7. The policy pack loads to the digest the export and decisions name.
    let pack_files: Vec<(String, String)> = files
        .iter()
        .filter_map(|(p, b)| {
            p.strip_prefix("policy/")
                .map(|n| (n.to_owned(), String::from_utf8_lossy(b).into_owned()))
        })
        .collect();
    // The digest says which pack this is; `asom gate replay --pack` compiles
    // and runs it.
    let digest = asom_policy::Pack::digest_of_files(pack_files)
        .map_err(|e| at("policy/", format!("the pack does not load: {e}")))?;
    if digest != record.pack.digest {
        return Err(at(
            "policy/",
            "its digest differs from the one the export entry records",
        ));
    }
    let mut decisions = Vec::new();
    for (index, entry) in &entries {
        if entry["kind"] != "decision" {
            continue;
        }
        let d: Decision = serde_json::from_value(entry["content"].clone())
            .map_err(|e| at(&format!("entries/{index}.json"), e))?;
        let pack_note = if d.pack.digest == digest {
            String::new()
        } else {
            format!(
                " (made with pack digest {}, not the bundled one)",
                d.pack.digest
            )
        };
        decisions.push(format!(
            "{index}: {} {} at log size {}{pack_note}",
            d.gate, d.result, d.log_size
        ));
    }
    Ok(Checked {
        release,
        origin: checkpoint.origin.clone(),
        size: checkpoint.size,
        entries: listed.len(),
        decisions,
        pack: format!("{} {} ({digest})", record.pack.name, record.pack.version),
        key: key_text,
    })
}
