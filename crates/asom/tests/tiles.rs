//! The log as a static C2SP tlog-tiles tree: written by `asom ledger tiles`,
//! checked by `asom ledger verify-tiles` from the files and the verifier key
//! alone, as a witness or mirror following only the tile paths would.

mod support;

use std::path::Path;

use support::Run;
use tempfile::TempDir;

fn asom(tmp: &Path) -> Run {
    support::asom(tmp, &tmp.join("asom"))
}

/// A store with `n` entries beyond the genesis; returns its verifier key.
fn store(tmp: &Path, n: usize) -> String {
    let init = asom(tmp)
        .args(["--format", "json", "init"])
        .run()
        .ok()
        .json();
    let token = init["admin_token"].as_str().expect("token").to_owned();
    let docs: String = (0..n).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    std::fs::write(tmp.join("docs.jsonl"), docs).expect("write");
    asom(tmp)
        .env("ASOM_TOKEN", &token)
        .args(["ledger", "append", "--jsonl"])
        .arg(tmp.join("docs.jsonl"))
        .run()
        .ok();
    init["verifier_key"].as_str().expect("key").to_owned()
}

/// Flips one bit of the byte `back` bytes from the end.
fn flip(path: &Path, back: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    let at = bytes.len() - back;
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn tiles_verify_from_the_files_alone_and_name_what_was_changed() {
    let tmp = TempDir::new().expect("temp dir");
    // 600 + the genesis: two full level-0 tiles, one of 89, one level-1 tile of 2.
    let key = store(tmp.path(), 600);
    let dir = tmp.path().join("tiles");
    asom(tmp.path())
        .args(["ledger", "tiles"])
        .arg(&dir)
        .run()
        .ok();
    for file in [
        "checkpoint",
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/89",
        "tile/1/000.p/2",
        "tile/entries/002.p/89",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    assert_eq!(
        std::fs::metadata(dir.join("tile/0/000"))
            .expect("tile")
            .len(),
        256 * 32
    );
    let verify = |key: &str| {
        asom(tmp.path())
            .args(["ledger", "verify-tiles"])
            .arg(&dir)
            .args(["--key", key])
            .run()
    };
    let out = verify(&key).ok();
    assert!(
        out.stdout.contains("root") && out.stdout.contains("at size 601"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("601 entries match their leaves"));

    // Another log's key: the checkpoint does not open.
    let other = TempDir::new().expect("temp dir");
    let other_key = store(other.path(), 1);
    verify(&other_key).fails(1, &["checkpoint"]);

    // A changed hash tile changes the root; a changed bundle entry is named.
    flip(&dir.join("tile/1/000.p/2"), 40);
    verify(&key).fails(1, &["the tiles give root"]);
    flip(&dir.join("tile/1/000.p/2"), 40);
    verify(&key).ok();
    // Inside the bundle's last entry (its bytes, not a length prefix).
    flip(&dir.join("tile/entries/001"), 3);
    verify(&key).fails(
        1,
        &[
            "tile/entries/001 entry 255 (log entry 511)",
            "does not hash to its leaf in tile/0/001",
        ],
    );
    flip(&dir.join("tile/entries/001"), 3);
    // A cut length prefix is named too.
    let bundle = dir.join("tile/entries/000");
    let bytes = std::fs::read(&bundle).expect("read");
    std::fs::write(&bundle, &bytes[..bytes.len() - 1]).expect("write");
    verify(&key).fails(1, &["tile/entries/000"]);
    std::fs::write(&bundle, &bytes).expect("write");
    // A missing tile is named.
    std::fs::remove_file(dir.join("tile/0/002.p/89")).expect("remove");
    verify(&key).fails(1, &["tile/0/002.p/89"]);
}
