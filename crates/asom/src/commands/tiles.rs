//! `asom ledger tiles DIR` and `asom ledger verify-tiles DIR`: the log
//! as a static C2SP tlog-tiles tree, and a check that follows only its paths.
//!
//! `tiles` writes, for the latest signed checkpoint: `checkpoint`, every
//! hash tile (full, and the partial ones at each level's right edge) and
//! every entry bundle. Any static web server can serve the directory; a
//! witness or mirror that reads only these paths recomputes the root and
//! checks it against the signed checkpoint. `verify-tiles` is that client,
//! reading the directory: it opens the checkpoint with the verifier key,
//! recomputes the root from the tiles, and checks every entry bundle against
//! the level-0 tiles' leaf hashes.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use asom_ledger::merkle;
use asom_ledger::note::NoteVerifier;
use asom_ledger::tiles::{self, TileId};
use asom_store::{TenantNodes, open_checkpoint};
use serde_json::json;

use crate::cli::{TilesArgs, VerifyTilesArgs};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::{Printer, note};

pub fn write(ctx: &Embedded, args: &TilesArgs, printer: &Printer) -> CliResult {
    let checkpoint = ctx.store.latest_checkpoint(&ctx.tenant)?;
    let size = checkpoint.size;
    let out = &args.tiles_dir;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let nodes = TenantNodes {
        store: ctx.store.as_ref(),
        tenant: &ctx.tenant,
    };
    let all = tiles::tiles_for(size);
    let mut written = 0usize;
    for (n, tile) in all.iter().enumerate() {
        put(out, &tile.path(), &nodes.tile(*tile)?)?;
        written += 1;
        if tile.level == 0 {
            put(out, &tile.entries_path(), &nodes.entry_bundle(*tile)?)?;
            written += 1;
        }
        if (n + 1) % 100 == 0 {
            note(&format!("tiles: {} of {}", n + 1, all.len()));
        }
    }
    put(out, "checkpoint", checkpoint.note.as_bytes())?;
    printer.either(
        &json!({
            "size": size,
            "files": written + 1,
            "dir": if printer.stable() { serde_json::Value::Null } else { json!(out.display().to_string()) },
        }),
        || {
            format!(
                "wrote the log at size {size} as C2SP tlog-tiles: checkpoint, {} hash tiles and their entry bundles, in {}\n",
                all.len(),
                out.display()
            )
        },
    )
}

fn put(dir: &Path, rel: &str, bytes: &[u8]) -> CliResult {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn verify(args: &VerifyTilesArgs, printer: &Printer) -> CliResult {
    let dir = &args.dir;
    let read = |rel: &str| -> Result<Vec<u8>, String> {
        std::fs::read(dir.join(rel)).map_err(|e| format!("{rel}: {e}"))
    };
    let note_text = String::from_utf8(read("checkpoint").map_err(|e| CliError::usage(anyhow!(e)))?)
        .map_err(|_| CliError::failed(anyhow!("checkpoint is not UTF-8")))?;
    let key: NoteVerifier = args
        .key
        .trim()
        .parse()
        .map_err(|e| CliError::usage(anyhow!("--key: {e}")))?;
    let checkpoint = open_checkpoint(&note_text, std::slice::from_ref(&key))
        .map_err(|e| CliError::failed(anyhow!("checkpoint: {e}")))?;
    let root = tiles::root_from_tiles(checkpoint.size, |tile: TileId| read(&tile.path()))
        .map_err(|e| CliError::failed(anyhow!("{e}")))?;
    if root != checkpoint.root {
        return Err(CliError::failed(anyhow!(
            "the tiles give root {} at size {}, the signed checkpoint says {}",
            root.to_base64(),
            checkpoint.size,
            checkpoint.root.to_base64()
        )));
    }
    // Every entry bundle against its level-0 tile.
    let mut entries = 0u64;
    for tile in tiles::tiles_for(checkpoint.size)
        .into_iter()
        .filter(|t| t.level == 0)
    {
        let hashes = read(&tile.path()).map_err(|e| CliError::failed(anyhow!(e)))?;
        let bundle = read(&tile.entries_path()).map_err(|e| CliError::failed(anyhow!(e)))?;
        let items = tiles::parse_entry_bundle(&bundle)
            .map_err(|e| CliError::failed(anyhow!("{}: {e}", tile.entries_path())))?;
        if items.len() != usize::from(tile.width) {
            return Err(CliError::failed(anyhow!(
                "{} holds {} entries, its tile {}",
                tile.entries_path(),
                items.len(),
                tile.width
            )));
        }
        for (i, item) in items.iter().enumerate() {
            if merkle::leaf_hash(item).0[..] != hashes[i * 32..i * 32 + 32] {
                return Err(CliError::failed(anyhow!(
                    "{} entry {} (log entry {}) does not hash to its leaf in {}",
                    tile.entries_path(),
                    i,
                    tile.entry_range().start + i as u64,
                    tile.path()
                )));
            }
            entries += 1;
        }
    }
    printer.either(
        &json!({"verified": true, "size": checkpoint.size, "root": checkpoint.root.to_base64(), "entries": entries}),
        || {
            format!(
                "verified from the tiles alone: root {} at size {} matches the signed checkpoint; {entries} entries match their leaves\n",
                root.to_base64(),
                checkpoint.size
            )
        },
    )
}
