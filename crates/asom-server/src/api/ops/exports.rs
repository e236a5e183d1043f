//! The evidence bundle of a release (`asom export`) as an operation: the
//! side that holds the store builds every file and records the export; the
//! CLI writes them as `bundle.tar.gz`.

use std::collections::BTreeMap;

use asom_core::release::ReleaseId;
use asom_governance::Recorded;
use asom_governance::audit::ExportRecord;
use asom_governance::gates::GatePolicy as _;
use asom_ledger::receipt::Receipt;
use asom_ledger::{Hash, jcs, merkle};
use asom_store::TenantNodes;
use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::parsed;
use crate::api::{ApiError, OpContext, Operation};

/// The manifest's schema.
pub const BUNDLE_SCHEMA: &str = "asom.bundle.v1";
/// The independent verifier shipped in every bundle.
const VERIFIER_PY: &str = include_str!("../../../../../tests/independent/asom_verify.py");

/// Exports a release as an evidence bundle that verifies offline, as
/// `asom export`: every entry of the release with its receipt, the
/// checkpoint, the audit report, the policy pack, a verifier and a README.
/// The export is itself recorded: an `export` entry lists every entry and
/// the digest of every other file, so the signed log vouches for the bundle.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// The release, `product@version`.
    pub release: String,
}

/// The bundle's files and what the export recorded.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExportOutput {
    /// Path inside the bundle → the file's bytes, base64 (RFC 4648).
    pub files: BTreeMap<String, String>,
    /// The entries exported (with the export entry).
    pub entries: usize,
    /// The checkpoint size every receipt proves against.
    pub log_size: u64,
    /// The export entry.
    pub export_entry: Recorded,
}

impl ExportOutput {
    /// The files, decoded.
    pub fn decoded(&self) -> Result<BTreeMap<String, Vec<u8>>, ApiError> {
        self.files
            .iter()
            .map(|(p, b)| {
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map(|bytes| (p.clone(), bytes))
                    .map_err(|e| ApiError::Invalid(format!("bundle file {p}: {e}")))
            })
            .collect()
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(format!("{what}: {e}"))
}

impl Operation for Export {
    const PATH: &'static str = "/exports";
    const SUMMARY: &'static str =
        "Export a release as an evidence bundle that verifies offline (recorded in the ledger)";
    const MUTATES: bool = true;
    type Output = ExportOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<ExportOutput, ApiError> {
        let actor = ctx.acting()?;
        let release: ReleaseId = parsed("release", &self.release)?;
        let store = ctx.gov.store();
        let tenant = ctx.tenant;
        let (report, pack_ref) =
            ctx.with_policy(|policy| Ok((ctx.gov.audit(&release, policy)?, policy.pack())))?;
        let pack = ctx.policies.pack()?;
        let view = ctx.gov.release(&release, None)?;
        let lines = ctx.gov.release_entries(&view, None)?;
        tracing::info!(release = %release, entries = lines.len(), "exporting");

        let verifier_keys: String = store
            .log_keys(tenant)?
            .iter()
            .map(|k| format!("{}\n", k.verifier))
            .collect();
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        files.insert(
            "audit.json".into(),
            jcs::to_canonical(&report).map_err(|e| internal("the audit report", e))?,
        );
        for (name, text) in pack.files() {
            files.insert(format!("policy/{name}"), text.clone().into_bytes());
        }
        files.insert(
            "tools/asom_verify.py".into(),
            VERIFIER_PY.as_bytes().to_vec(),
        );
        files.insert("verifier.key".into(), verifier_keys.as_bytes().to_vec());
        files.insert(
            "README.md".into(),
            readme(&release, &report.tenant, &verifier_keys).into_bytes(),
        );
        let record = ExportRecord {
            release: release.to_string(),
            entries: lines.iter().map(|l| (l.index, l.id.clone())).collect(),
            files: files
                .iter()
                .map(|(p, b)| (p.clone(), Hash::of(b).to_hex()))
                .collect(),
            pack: pack_ref,
        };
        let recorded = ctx.gov.record_export(actor, &record)?;

        // Proofs against the checkpoint that covers the export entry.
        let size = recorded.checkpoint_size;
        let checkpoint = store.checkpoint_at(tenant, size)?;
        files.insert(
            "checkpoint.txt".into(),
            checkpoint.note.clone().into_bytes(),
        );
        let nodes = TenantNodes { store, tenant };
        let mut indexes: Vec<u64> = lines.iter().map(|l| l.index).collect();
        indexes.push(recorded.index);
        for &index in &indexes {
            let entry = store.entry_at(tenant, index)?;
            let proof = merkle::inclusion_proof(&nodes, index, size)
                .map_err(|e| internal("an inclusion proof", e))?;
            let receipt = Receipt {
                index,
                extra: None,
                proof,
                checkpoint: checkpoint.note.clone(),
            };
            files.insert(format!("entries/{index}.json"), entry.bytes);
            files.insert(
                format!("proofs/{index}.tlog"),
                receipt.to_text().into_bytes(),
            );
        }
        // A checkpoint's first line is its origin (C2SP tlog-checkpoint).
        let origin = checkpoint
            .note
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let manifest = json!({
            "schema": BUNDLE_SCHEMA,
            "tenant": report.tenant,
            "origin": origin,
            "release": release.to_string(),
            "log_size": size,
            "export_entry": recorded.index,
            "entries": indexes,
        });
        files.insert(
            "manifest.json".into(),
            jcs::canonicalize(&manifest).map_err(|e| internal("the manifest", e))?,
        );
        let sums: String = files
            .iter()
            .map(|(p, b)| format!("{}  {p}\n", Hash::of(b).to_hex()))
            .collect();
        files.insert("SHA256SUMS".into(), sums.into_bytes());
        Ok(ExportOutput {
            files: files
                .into_iter()
                .map(|(p, b)| (p, base64::engine::general_purpose::STANDARD.encode(b)))
                .collect(),
            entries: indexes.len(),
            log_size: size,
            export_entry: recorded,
        })
    }
}

/// The auditor's README, shipped in the bundle.
fn readme(release: &ReleaseId, tenant: &str, keys: &str) -> String {
    format!(
        r#"# Evidence bundle: {release}

Exported by asom from tenant `{tenant}`. This folder lets you check the
release's controls, approvals, separation of duties and gate decisions
without access to asom's store, and without trusting asom's word.

## What to trust

Only the log's verifier key, obtained from the organisation through a
channel you trust (not from this bundle). The bundle carries the key as
`verifier.key` for convenience; compare it with the one you were given:

```
{keys}```

## Check it with asom

```sh
asom verify-bundle bundle.tar.gz --key "<the verifier key you were given>"
```

## Check it with standard tools

1. `sha256sum -c SHA256SUMS`: every file is intact as exported.
2. `checkpoint.txt` is a C2SP signed note (tlog-checkpoint): its signature
   line verifies with the Ed25519 key in the verifier key, over the text
   above the blank line. `python3 tools/asom_verify.py checkpoint --key @verifier.key checkpoint.txt`
3. Each `entries/N.json` is RFC 8785 canonical JSON; its id is the SHA-256 of
   its bytes, and its Merkle leaf is SHA-256(0x00 || bytes) (RFC 9162). Its
   receipt `proofs/N.tlog` (C2SP tlog-proof@v1) proves it is leaf N of the
   signed tree: `python3 tools/asom_verify.py receipt --key @verifier.key --entry entries/N.json --receipt proofs/N.tlog`
4. The entry named `export_entry` in `manifest.json` (kind `export`) lists
   every entry of the bundle by index and id and the SHA-256 of every other
   file (`audit.json`, `README.md`, `policy/*`, `tools/*`, `verifier.key`).
   Because that entry is proven in the signed log, the log vouches for them.
5. `audit.json` is the walkthrough: the CRQ, the Jira scope, the entries,
   the control coverage matrix, the evidence with artifact digests, the
   approvals, separation of duties, the decisions and overrides. Each
   decision entry names its policy pack digest; `policy/` is that pack.
"#
    )
}
