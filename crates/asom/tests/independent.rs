//! The ledger checked by tools nobody here wrote: the real `asom` binary builds
//! a small log, and `tests/independent/asom_verify.py` (Python standard
//! library only, written from the C2SP, RFC 9162, RFC 8785 and RFC 8032 texts,
//! sharing no code with asom) must accept every entry, receipt, checkpoint and
//! consistency proof it prints, and reject each of them once tampered with.
//!
//! The test needs `python3` on PATH and fails, rather than skips, without it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

const ASOM: &str = env!("CARGO_BIN_EXE_asom");
const VERIFIER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/independent/asom_verify.py"
);
/// Published signed-note, checkpoint and proof examples (see its `SOURCES.md`).
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../asom-ledger/tests/data/c2sp"
);

// ---------------------------------------------------------------- running the two programs

/// Runs `asom --dir <dir> <args>` (with `ASOM_TOKEN` when given) and returns
/// its standard output; any failure fails the test.
fn asom(dir: &Path, token: Option<&str>, args: &[&str]) -> Vec<u8> {
    let mut cmd = Command::new(ASOM);
    cmd.arg("--dir").arg(dir).args(args);
    for var in ["ASOM_DIR", "ASOM_TENANT", "ASOM_TOKEN", "ASOM_VERIFIER_KEY"] {
        cmd.env_remove(var);
    }
    if let Some(token) = token {
        cmd.env("ASOM_TOKEN", token);
    }
    let out = cmd.output().expect("run the asom binary");
    assert!(
        out.status.success(),
        "asom {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `python3 asom_verify.py <args>`. A missing `python3` fails the test
/// with a message: the independent check must not pass by being skipped.
fn python(args: &[String]) -> Output {
    match Command::new("python3").arg(VERIFIER).args(args).output() {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => panic!(
            "python3 is not on PATH. This test runs the independent verifier \
             tests/independent/asom_verify.py (Python 3.11+, standard library only) \
             against the asom binary's output and must not be skipped: install python3."
        ),
        Err(err) => panic!("cannot run python3 {VERIFIER}: {err}"),
    }
}

/// Fails the test, with a message saying why, when `python3` cannot run the verifier.
fn require_python() {
    let out = python(&["--help".to_owned()]);
    assert!(
        out.status.success(),
        "python3 {VERIFIER} --help failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What one run of the verifier must do.
enum Expect {
    /// Exit 0, print `OK …` containing each of these.
    Accept(Vec<String>),
    /// Exit 1, print `FAIL: …` containing this reason.
    Reject(String),
}

/// Verifier runs, collected and then run in parallel (each is a Python
/// process; one after the other they would take most of a minute).
#[derive(Default)]
struct Checks {
    runs: Vec<(String, Vec<String>, Expect)>,
}

impl Checks {
    fn accept(&mut self, what: &str, args: &[&str], contains: &[&str]) {
        self.runs.push((
            what.to_owned(),
            args.iter().map(|&a| a.to_owned()).collect(),
            Expect::Accept(contains.iter().map(|&c| c.to_owned()).collect()),
        ));
    }

    fn reject(&mut self, what: &str, args: &[&str], reason: &str) {
        self.runs.push((
            what.to_owned(),
            args.iter().map(|&a| a.to_owned()).collect(),
            Expect::Reject(reason.to_owned()),
        ));
    }

    /// Runs every check; fails the test with every mismatch.
    fn run(self) {
        let workers = thread::available_parallelism().map_or(4, |n| n.get().min(16));
        let chunk = self.runs.len().div_ceil(workers).max(1);
        let failures: Vec<String> = thread::scope(|scope| {
            let handles: Vec<_> = self
                .runs
                .chunks(chunk)
                .map(|runs| scope.spawn(move || runs.iter().filter_map(check).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a verifier thread panicked"))
                .collect()
        });
        assert!(
            failures.is_empty(),
            "{} of {} independent checks failed:\n\n{}",
            failures.len(),
            self.runs.len(),
            failures.join("\n\n")
        );
    }
}

/// Runs one check; `Some(why)` when the verifier did not do what was expected.
fn check((what, args, expect): &(String, Vec<String>, Expect)) -> Option<String> {
    let out = python(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = || {
        format!(
            "{what}: python3 asom_verify.py {}\n  exit: {}\n  stdout: {stdout}  stderr: {stderr}",
            args.join(" "),
            out.status
        )
    };
    match expect {
        Expect::Accept(contains) => {
            let ok = out.status.code() == Some(0)
                && stdout.starts_with("OK ")
                && contains.iter().all(|c| stdout.contains(c.as_str()));
            (!ok).then(|| format!("expected OK containing {contains:?}\n{}", report()))
        }
        Expect::Reject(reason) => {
            let ok = out.status.code() == Some(1)
                && stderr.starts_with("FAIL: ")
                && stderr.contains(reason.as_str());
            (!ok).then(|| format!("expected FAIL for {reason:?}\n{}", report()))
        }
    }
}

// ---------------------------------------------------------------- files and tampering

/// A directory of the files handed to the verifier.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        assert!(!path.exists(), "scratch file {name} written twice");
        fs::write(&path, bytes).expect("write a scratch file");
        path.to_str().expect("UTF-8 temp path").to_owned()
    }
}

/// The line ranges (start, end without the newline) of `text`.
fn lines(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.iter().enumerate() {
        if *b == b'\n' {
            out.push((start, i));
            start = i + 1;
        }
    }
    out
}

/// Replaces line `n` (0-based) of `text`, a base64 value after `prefix`, by
/// the same value with the low bit of its decoded byte `byte` flipped
/// (negative `byte` counts from the end). The result is canonical base64, so
/// it is the hash or signature that is wrong, not its encoding.
fn flip_base64_line(text: &[u8], n: usize, prefix: &str, byte: isize) -> Vec<u8> {
    let (start, end) = lines(text)[n];
    let line = std::str::from_utf8(&text[start..end]).expect("UTF-8 line");
    let b64 = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("line {line:?} does not start with {prefix:?}"));
    let mut raw = BASE64.decode(b64).expect("base64 line");
    let at = if byte < 0 {
        raw.len() - byte.unsigned_abs()
    } else {
        byte.unsigned_abs()
    };
    raw[at] ^= 0x01;
    let mut out = text[..start].to_vec();
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(BASE64.encode(raw).as_bytes());
    out.extend_from_slice(&text[end..]);
    out
}

/// The index of the first line of `text` equal to `line`.
fn line_index(text: &[u8], line: &str) -> usize {
    lines(text)
        .iter()
        .position(|&(s, e)| &text[s..e] == line.as_bytes())
        .unwrap_or_else(|| panic!("no line {line:?} in {}", String::from_utf8_lossy(text)))
}

/// The signed checkpoint inside a tlog-proof (everything after its first empty line).
fn checkpoint_of(receipt: &[u8]) -> Vec<u8> {
    let split = receipt
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a receipt has an empty line before its checkpoint");
    receipt[split + 2..].to_vec()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("asom --format json prints JSON")
}

// ---------------------------------------------------------------- the test

#[test]
#[allow(clippy::too_many_lines)] // one log, built once, checked end to end
fn an_independent_verifier_accepts_asoms_artifacts_and_rejects_tampered_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scratch = Scratch {
        dir: tmp.path().join("files"),
    };
    fs::create_dir(&scratch.dir).expect("mkdir");
    let store = tmp.path().join("asom");
    require_python();
    let mut checks = Checks::default();

    // The verifier checks itself first: RFC 8032 and RFC 8785 vectors, RFC 9162
    // proofs over a tree it builds by the definitions, and the published
    // C2SP/Go notes (a real sum.golang.org checkpoint among them).
    checks.accept(
        "selftest",
        &["selftest", "--vectors", VECTORS],
        &["OK selftest"],
    );

    // ------------------------------------------------------------ build a log

    let init = json(&asom(&store, None, &["init", "--format", "json"]));
    let token = init["admin_token"].as_str().expect("admin_token");
    let key = init["verifier_key"].as_str().expect("verifier_key");
    let origin = init["origin"].as_str().expect("origin");
    let pubkey = String::from_utf8(asom(&store, None, &["ledger", "pubkey"])).expect("UTF-8");
    assert_eq!(pubkey.trim_end(), key, "ledger pubkey and init disagree");
    assert!(
        key.starts_with(&format!("{origin}+")),
        "{key} names {origin}"
    );
    let token = Some(token);

    // Entry 1, alone: its receipt is against the checkpoint of size 2. Numbers
    // and strings that JCS writes in particular ways.
    let doc = scratch.write(
        "one.json",
        "{\"status\":\"pass\",\"ratio\":1.50,\"nested\":{\"z\":[1,2e-7,1E21,-0,100000000000000000000],\
         \"a\":\"\u{e9}\u{2028}\\u0001\\u007f\\/\",\"\\u20ac\":0,\"\\ud83d\\ude00\":0,\"\\ufb33\":0}}"
            .as_bytes(),
    );
    let receipt_at_2 = asom(&store, token, &["ledger", "append", &doc]);
    // Entries 2..=6, one batch of JSON Lines.
    let batch = scratch.write(
        "batch.jsonl",
        b"{\"n\":1}\n{\"n\":2,\"text\":\"\\u20ac \\ud83d\\ude00\"}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n",
    );
    let appended = json(&asom(
        &store,
        token,
        &["--format", "json", "ledger", "append", "--jsonl", &batch],
    ));
    let ids: Vec<(u64, String)> = appended
        .as_array()
        .expect("one object per line")
        .iter()
        .map(|o| {
            (
                o["index"].as_u64().expect("index"),
                o["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ids.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6]
    );
    // Entries 7..=10, one at a time: several signed sizes to prove between.
    let mut receipts = vec![(2_u64, receipt_at_2)];
    for n in 7..=10 {
        let doc = scratch.write(&format!("doc{n}.json"), format!("{{\"n\":{n}}}").as_bytes());
        receipts.push((n + 1, asom(&store, token, &["ledger", "append", &doc])));
    }
    let size: u64 = 11;
    let latest = asom(&store, None, &["ledger", "checkpoint"]);
    let latest_file = scratch.write("latest.checkpoint", &latest);

    // ------------------------------------------------------------ everything verifies

    checks.accept(
        "latest checkpoint",
        &["checkpoint", "--key", key, &latest_file],
        &[&format!("size {size} ")],
    );

    let mut entries = Vec::new();
    let (mut entry_files, mut entry_ids) = (Vec::new(), Vec::new());
    for index in 0..size {
        let i = index.to_string();
        let entry = asom(&store, None, &["ledger", "get", &i]);
        let id = sha256_hex(&entry);
        if let Some((_, reported)) = ids.iter().find(|(ix, _)| *ix == index) {
            assert_eq!(
                *reported, id,
                "entry {index}: id is not the SHA-256 of its bytes"
            );
        }
        let entry_file = scratch.write(&format!("entry{index}.json"), &entry);
        entry_ids.push(format!("OK entry {id} "));
        entry_files.push(entry_file.clone());
        // tlog-proof@v1 against the latest checkpoint.
        let receipt = asom(&store, None, &["ledger", "proof", &i]);
        let receipt_file = scratch.write(&format!("receipt{index}.tlog-proof"), &receipt);
        checks.accept(
            &format!("receipt of entry {index}"),
            &[
                "receipt",
                "--key",
                key,
                "--entry",
                &entry_file,
                "--receipt",
                &receipt_file,
            ],
            &[
                &format!("entry {id} "),
                &format!("at index {index} "),
                &format!("at size {size},"),
            ],
        );
        entries.push((entry, entry_file, receipt, receipt_file));
    }

    // RFC 8785: the stored bytes are their own canonical form.
    let mut args = vec!["entry"];
    args.extend(entry_files.iter().map(String::as_str));
    let ids: Vec<&str> = entry_ids.iter().map(String::as_str).collect();
    checks.accept("every entry is canonical", &args, &ids);

    // The receipts `append` printed, each against the checkpoint of its time.
    for (at_size, receipt) in &receipts {
        let index = usize::try_from(at_size - 1).expect("small");
        let receipt_file = scratch.write(&format!("append{at_size}.tlog-proof"), receipt);
        checks.accept(
            &format!("receipt printed by append of entry {index}"),
            &[
                "receipt",
                "--key",
                key,
                "--entry",
                &entries[index].1,
                "--receipt",
                &receipt_file,
            ],
            &[
                &format!("at index {index} "),
                &format!("at size {at_size},"),
            ],
        );
    }

    // Consistency, RFC 9162 §2.1.4, between the signed checkpoints: the
    // genesis one of size 1, and those of sizes 2, 8, 9, 10 and 11 in the receipts.
    let genesis = asom(&store, None, &["ledger", "proof", "0", "--size", "1"]);
    let mut signed: Vec<(u64, String)> =
        vec![(1, scratch.write("cp1.note", &checkpoint_of(&genesis)))];
    for (at_size, receipt) in &receipts {
        let file = scratch.write(&format!("cp{at_size}.note"), &checkpoint_of(receipt));
        signed.push((*at_size, file));
    }
    assert_eq!(
        fs::read(&signed.last().unwrap().1).unwrap(),
        latest,
        "the last append's checkpoint is the latest"
    );
    // Each to the next and to the latest, and the latest to itself (equal sizes).
    let last = signed.len() - 1;
    let mut pairs = vec![(last, last)];
    for a in 0..last {
        pairs.push((a, a + 1));
        if a + 1 != last {
            pairs.push((a, last));
        }
    }
    for (a, b) in pairs {
        let ((old_size, old_file), (new_size, new_file)) = (&signed[a], &signed[b]);
        let proof = asom(
            &store,
            None,
            &[
                "ledger",
                "consistency",
                &old_size.to_string(),
                &new_size.to_string(),
            ],
        );
        let proof_file = scratch.write(&format!("consistency{old_size}-{new_size}"), &proof);
        checks.accept(
            &format!("consistency {old_size} -> {new_size}"),
            &[
                "consistency",
                "--key",
                key,
                "--old",
                old_file,
                "--new",
                new_file,
                "--proof",
                &proof_file,
            ],
            &[&format!("size {old_size} "), &format!("size {new_size} ")],
        );
    }

    // ------------------------------------------------------------ tampering is caught

    // Entry 2 of 11 has a four-hash inclusion path.
    let (entry, entry_file, receipt, receipt_file) = &entries[2];
    let receipt_args = |entry: &str, receipt: &str, key: &str| -> Vec<String> {
        [
            "receipt",
            "--key",
            key,
            "--entry",
            entry,
            "--receipt",
            receipt,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let mut reject_receipt = |what: &str, args: Vec<String>, reason: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        checks.reject(what, &args, reason);
    };

    // One byte of the entry flipped (inside its content, so it stays JSON).
    let mut flipped = entry.clone();
    let at = flipped
        .windows(4)
        .position(|w| w == b"\"n\":")
        .expect("entry 2 holds \"n\":")
        + 1;
    flipped[at] ^= 0x01;
    let flipped_file = scratch.write("flipped-entry.json", &flipped);
    reject_receipt(
        "entry byte flipped",
        receipt_args(&flipped_file, receipt_file, key),
        "inclusion proof leads to root",
    );
    // Entry 2 offered with entry 3's receipt.
    reject_receipt(
        "entry with another entry's receipt",
        receipt_args(entry_file, &entries[3].3, key),
        "inclusion proof leads to root",
    );

    // One bit of each inclusion proof hash, first and last byte.
    let first_hash_line = line_index(receipt, "index 2") + 1;
    let blank = line_index(receipt, "");
    assert_eq!(
        blank - first_hash_line,
        4,
        "entry 2 of 11 has a four-hash path"
    );
    for line in first_hash_line..blank {
        for byte in [0, -1] {
            let tampered = flip_base64_line(receipt, line, "", byte);
            let file = scratch.write(&format!("hash{line}-{byte}.tlog-proof"), &tampered);
            reject_receipt(
                &format!("proof hash on line {line} flipped at byte {byte}"),
                receipt_args(entry_file, &file, key),
                "inclusion proof leads to root",
            );
        }
    }
    // A hash dropped; the index changed.
    let (start, end) = lines(receipt)[first_hash_line];
    let mut dropped = receipt[..start].to_vec();
    dropped.extend_from_slice(&receipt[end + 1..]);
    let file = scratch.write("dropped-hash.tlog-proof", &dropped);
    reject_receipt(
        "proof hash dropped",
        receipt_args(entry_file, &file, key),
        "inclusion proof is shorter",
    );
    let reindexed = String::from_utf8(receipt.clone()).expect("UTF-8").replacen(
        "\nindex 2\n",
        "\nindex 3\n",
        1,
    );
    let file = scratch.write("reindexed.tlog-proof", reindexed.as_bytes());
    reject_receipt(
        "index changed",
        receipt_args(entry_file, &file, key),
        "inclusion proof leads to root",
    );

    // The checkpoint's root and size lines: the signature covers them.
    let tampered = flip_base64_line(receipt, blank + 3, "", 7);
    let file = scratch.write("root.tlog-proof", &tampered);
    reject_receipt(
        "checkpoint root line flipped",
        receipt_args(entry_file, &file, key),
        "does not verify",
    );
    let resized = String::from_utf8(receipt.clone()).expect("UTF-8").replacen(
        &format!("\n{size}\n"),
        &format!("\n{}\n", size + 1),
        1,
    );
    let file = scratch.write("resized.tlog-proof", resized.as_bytes());
    reject_receipt(
        "checkpoint size changed",
        receipt_args(entry_file, &file, key),
        "does not verify",
    );

    // The signature line: a bit of the Ed25519 R half, of the S half, of the key id.
    let sig_line = lines(receipt).len() - 1;
    let sig_prefix = format!("\u{2014} {origin} ");
    for (byte, reason) in [
        (4, "does not verify"),
        (40, "does not verify"),
        (-1, "does not verify"),
        (0, "carries no signature"),
    ] {
        let tampered = flip_base64_line(receipt, sig_line, &sig_prefix, byte);
        let file = scratch.write(&format!("sig{byte}.tlog-proof"), &tampered);
        reject_receipt(
            &format!("signature flipped at byte {byte}"),
            receipt_args(entry_file, &file, key),
            reason,
        );
    }

    // Wrong keys: another log with the very same origin (the same key name,
    // another key, another key id), and a log of another name.
    let other = tmp.path().join("other");
    let other_init = json(&asom(
        &other,
        None,
        &["init", "--format", "json", "--origin", origin],
    ));
    let other_key = other_init["verifier_key"].as_str().expect("verifier_key");
    assert_ne!(other_key, key);
    assert!(other_key.starts_with(&format!("{origin}+")));
    reject_receipt(
        "same name, other key",
        receipt_args(entry_file, receipt_file, other_key),
        "carries no signature by",
    );
    let third = tmp.path().join("third");
    let third_init = json(&asom(&third, None, &["init", "--format", "json"]));
    let third_key = third_init["verifier_key"].as_str().expect("verifier_key");
    reject_receipt(
        "another log's key",
        receipt_args(entry_file, receipt_file, third_key),
        "carries no signature by",
    );
    // A key whose key id does not match its public key.
    // (The base64 key may itself hold '+': split at the first two only.)
    let ours: Vec<&str> = key.splitn(3, '+').collect();
    let theirs: Vec<&str> = third_key.splitn(3, '+').collect();
    assert_ne!(ours[2], theirs[2]);
    let mismatched = format!("{}+{}+{}", ours[0], ours[1], theirs[2]);
    reject_receipt(
        "key id not matching the key",
        receipt_args(entry_file, receipt_file, &mismatched),
        "does not match the key",
    );
    // The other log's checkpoint verifies with its key, not with ours.
    let other_cp = scratch.write(
        "other.checkpoint",
        &asom(&other, None, &["ledger", "checkpoint"]),
    );
    checks.accept(
        "other log's checkpoint, its key",
        &["checkpoint", "--key", other_key, &other_cp],
        &["size 1 "],
    );
    checks.reject(
        "other log's checkpoint, our key",
        &["checkpoint", "--key", key, &other_cp],
        "carries no signature by",
    );

    // Consistency 9 -> 11: a flipped proof hash, a flipped signed root, the
    // sizes swapped, a proof for other sizes, another log's checkpoint.
    let old_file = &signed.iter().find(|(s, _)| *s == 9).expect("size 9").1;
    let ten_file = &signed.iter().find(|(s, _)| *s == 10).expect("size 10").1;
    let proof = asom(&store, None, &["ledger", "consistency", "9", "11"]);
    assert_eq!(lines(&proof).len(), 4, "9 -> 11 is a four-hash proof");
    let proof_file = scratch.write("good.consistency", &proof);
    let consistency = |old: &str, new: &str, proof: &str| {
        [
            "consistency",
            "--key",
            key,
            "--old",
            old,
            "--new",
            new,
            "--proof",
            proof,
        ]
        .map(str::to_owned)
    };
    let mut reject_consistency = |what: &str, args: [String; 9], reason: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        checks.reject(what, &args, reason);
    };
    for line in 0..4 {
        let tampered = flip_base64_line(&proof, line, "", 0);
        let file = scratch.write(&format!("consistency-line{line}"), &tampered);
        reject_consistency(
            &format!("consistency hash on line {line} flipped"),
            consistency(old_file, &latest_file, &file),
            "consistency proof rebuilds",
        );
    }
    reject_consistency(
        "old and new swapped",
        consistency(&latest_file, old_file, &proof_file),
        "larger than the new size",
    );
    let tampered = flip_base64_line(&latest, 2, "", 0);
    let file = scratch.write("root.checkpoint", &tampered);
    reject_consistency(
        "new checkpoint's root flipped",
        consistency(old_file, &file, &proof_file),
        "does not verify",
    );
    reject_consistency(
        "proof for other sizes",
        consistency(ten_file, &latest_file, &proof_file),
        "consistency proof",
    );
    reject_consistency(
        "another log's checkpoint (same origin) as the new one",
        consistency(old_file, &other_cp, &proof_file),
        "carries no signature by",
    );

    // RFC 8785: the same entry with a space added, or pretty-printed, is not canonical.
    let spaced = String::from_utf8(entry.clone())
        .expect("UTF-8")
        .replacen(':', ": ", 1);
    let file = scratch.write("spaced.json", spaced.as_bytes());
    checks.reject(
        "entry with a space",
        &["entry", &file],
        "not RFC 8785 canonical",
    );
    let value: serde_json::Value = serde_json::from_slice(entry).expect("JSON");
    let file = scratch.write(
        "pretty.json",
        &serde_json::to_vec_pretty(&value).expect("JSON"),
    );
    checks.reject(
        "pretty-printed entry",
        &["entry", &file],
        "not RFC 8785 canonical",
    );

    checks.run();
}
