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

#[test]
fn asom_serve_serves_the_same_tiles_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};
    let tmp = TempDir::new().expect("temp dir");
    store(tmp.path(), 300);
    let dir = tmp.path().join("tiles");
    asom(tmp.path())
        .args(["ledger", "tiles"])
        .arg(&dir)
        .run()
        .ok();

    let mut child = Command::new(env!("CARGO_BIN_EXE_asom"))
        .arg("--dir")
        .arg(tmp.path().join("asom"))
        .args(["serve", "--listen", "127.0.0.1:0", "--public-entries"])
        .env_remove("ASOM_DIR")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn asom serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("listening line");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    // The served checkpoint and tiles are the files `ledger tiles` wrote.
    for path in [
        "checkpoint",
        "tile/0/000",
        "tile/0/001.p/45",
        "tile/1/000.p/1",
        "tile/entries/000",
    ] {
        let body = ureq::get(&format!("{base}/t/default/{path}"))
            .call()
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .into_body()
            .read_to_vec()
            .expect("body");
        assert_eq!(body, std::fs::read(dir.join(path)).expect("file"), "{path}");
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "asom serve exited {exit:?} on SIGTERM");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    assert!(rest.contains("asom serve: stopped"), "{rest}");
}
