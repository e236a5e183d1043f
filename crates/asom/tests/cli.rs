//! The `asom` command as a user runs it: the real binary, a real store in a
//! temporary directory, `ASOM_TOKEN` in the child's environment only.
//!
//! Every run goes through [`Run::run`], which fails the test if the command
//! panicked or was killed, whatever its exit code. Exit codes are DESIGN.md §7:
//! 0 verified, 1 verification failed, 2 usage, configuration or input error.
//! Help texts are insta snapshots (they are a contract); formats are checked
//! against the specs with `asom_ledger` and by recomputing them here.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use asom_ledger::Hash;
use asom_ledger::checkpoint::Checkpoint;
use asom_ledger::merkle::{self, MemoryTree, NodeId};
use asom_ledger::note::NoteVerifier;
use asom_ledger::receipt::Receipt;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// What a finished `asom` process left behind.
#[derive(Debug)]
struct Output {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    /// The command line, for failure messages.
    shown: String,
}

impl Output {
    fn stdout(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}):\n{}",
                self.shown,
                self.stdout()
            )
        })
    }

    /// Asserts exit 0.
    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(
            self.code,
            0,
            "{} should succeed\nstdout:\n{}\nstderr:\n{}",
            self.shown,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        );
        self
    }

    /// Asserts the exit code and that stderr holds one `error:` message
    /// containing `fragment`.
    #[track_caller]
    fn fails(self, code: i32, fragment: &str) -> Self {
        assert_eq!(
            self.code,
            code,
            "{} should exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.shown,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        );
        assert!(
            self.stderr.contains(fragment),
            "{}: stderr should mention {fragment:?}, got:\n{}",
            self.shown,
            self.stderr
        );
        self
    }

    /// As [`Output::fails`] for a text-format command: the message is an
    /// `error:` line on stderr and nothing is printed as data.
    #[track_caller]
    fn fails_quietly(self, code: i32, fragment: &str) -> Self {
        let this = self.fails(code, fragment);
        assert!(
            this.stderr.starts_with("error: ") || this.stderr.contains("\nerror: "),
            "{}: stderr should hold an `error:` line, got:\n{}",
            this.shown,
            this.stderr
        );
        assert!(
            this.stdout.is_empty(),
            "{}: a failure should print no data, got:\n{}",
            this.shown,
            this.stdout()
        );
        this
    }
}

/// A command line for the `asom` binary, with a clean environment.
struct Run {
    cmd: Command,
    stdin: Vec<u8>,
    shown: Vec<String>,
    _cwd: TempDir,
}

fn asom() -> Run {
    let cwd = TempDir::new().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_asom"));
    // Nothing from the test process's configuration leaks in: no ASOM_* variable,
    // no terminal width (help text wraps at the binary's own maximum).
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ASOM_") || name == "COLUMNS" || name == "LINES" || name == "NO_COLOR" {
            cmd.env_remove(name);
        }
    }
    // A directory without `.asom`, so the default --dir never finds a store by accident.
    cmd.current_dir(cwd.path());
    Run {
        cmd,
        stdin: Vec::new(),
        shown: vec!["asom".into()],
        _cwd: cwd,
    }
}

impl Run {
    fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(name, value);
        self
    }

    fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }

    /// Runs to completion. Fails the test on a panic or a signal, whatever the exit code.
    fn run(mut self) -> Output {
        let shown = self.shown.join(" ");
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {shown}: {e}"));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = std::mem::take(&mut self.stdin);
        // Feed stdin from a thread: the child may exit (and close it) before reading it all.
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("running {shown}: {e}"));
        feeder.join().expect("stdin feeder");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{shown} panicked:\n{stderr}");
        assert!(
            !stderr.contains("RUST_BACKTRACE"),
            "{shown} panicked:\n{stderr}"
        );
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("{shown} was killed by a signal: {:?}", out.status));
        Output {
            code,
            stdout: out.stdout,
            stderr,
            shown,
        }
    }
}

// ---------------------------------------------------------------------------
// A store made by `asom init`
// ---------------------------------------------------------------------------

/// An initialised asom directory and what `asom init` printed about it.
struct Store {
    _tmp: TempDir,
    dir: PathBuf,
    token: String,
    token_id: String,
    verifier_key: String,
    origin: String,
    genesis: String,
}

impl Store {
    fn init() -> Self {
        Self::init_with(&[])
    }

    fn init_with(extra: &[&str]) -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let dir = tmp.path().join("asom");
        let out = asom()
            .arg("--dir")
            .arg(&dir)
            .args(["--format", "json", "init"])
            .args(extra)
            .run()
            .ok();
        let report = out.json();
        let field = |name: &str| {
            report[name]
                .as_str()
                .unwrap_or_else(|| panic!("init json lacks {name}: {report}"))
                .to_owned()
        };
        Self {
            token: field("admin_token"),
            token_id: field("admin_token_id"),
            verifier_key: field("verifier_key"),
            origin: field("origin"),
            genesis: field("genesis_entry"),
            dir,
            _tmp: tmp,
        }
    }

    /// `asom --dir <store> …` without a token.
    fn asom(&self) -> Run {
        asom().arg("--dir").arg(&self.dir)
    }

    /// `asom --dir <store> …` acting as the first admin.
    fn asom_as_admin(&self) -> Run {
        self.asom().env("ASOM_TOKEN", &self.token)
    }

    fn db(&self) -> PathBuf {
        self.dir.join("asom.db")
    }

    /// Appends one document from stdin; returns the JSON report.
    fn append(&self, doc: &str) -> Value {
        self.asom_as_admin()
            .args(["--format", "json", "ledger", "append"])
            .stdin(doc)
            .run()
            .ok()
            .json()
    }

    /// Appends documents as one JSON Lines batch.
    fn append_batch(&self, docs: &[Value]) -> Value {
        let lines: String = docs.iter().map(|d| d.to_string() + "\n").collect();
        self.asom_as_admin()
            .args(["--format", "json", "ledger", "append", "--jsonl"])
            .stdin(lines)
            .run()
            .ok()
            .json()
    }

    /// The size of the latest signed checkpoint.
    fn size(&self) -> u64 {
        self.asom()
            .args(["--format", "json", "ledger", "checkpoint"])
            .run()
            .ok()
            .json()["size"]
            .as_u64()
            .expect("checkpoint size")
    }

    /// Rows in the entries table, read directly (catches a write without a checkpoint).
    fn stored_entries(&self) -> u64 {
        let db = rusqlite::Connection::open(self.db()).expect("open db");
        let count: i64 = db
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .expect("count entries");
        u64::try_from(count).expect("a count is not negative")
    }

    /// Asserts that the log did not change.
    #[track_caller]
    fn assert_size(&self, size: u64) {
        assert_eq!(self.size(), size, "the signed log size changed");
        assert_eq!(self.stored_entries(), size, "the entries table changed");
    }

    /// `asom ledger get <reference>`: the stored bytes.
    fn entry(&self, reference: &(impl ToString + ?Sized)) -> Vec<u8> {
        self.asom()
            .args(["ledger", "get", &reference.to_string()])
            .run()
            .ok()
            .stdout
    }

    fn verifier(&self) -> NoteVerifier {
        self.verifier_key.parse().expect("verifier key parses")
    }

    /// The root of entries `0..size`, recomputed here from `ledger get`.
    fn recomputed_root(&self, size: u64) -> Hash {
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.push(&self.entry(&i));
        }
        tree.root()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.parent().expect("parent").join(name);
        std::fs::write(&path, bytes).expect("write file");
        path
    }

    /// A store with `n` documents after the genesis entry, each appended on its own
    /// (so every size from 1 to n+1 is signed). Document `i` is `{"marker":"entry-<i>"}`.
    fn with_entries(n: u64) -> Self {
        let store = Self::init();
        for i in 1..=n {
            store.append(&format!(r#"{{"marker":"entry-{i}"}}"#));
        }
        store
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Verifies a receipt with `asom_ledger` and by recomputing it from the spec.
#[track_caller]
fn assert_receipt_proves(
    store: &Store,
    receipt_text: &str,
    entry: &[u8],
    index: u64,
) -> Checkpoint {
    let key = store.verifier();
    let receipt = Receipt::parse(receipt_text).expect("receipt parses");
    assert_eq!(receipt.index, index);
    let cp = receipt
        .verify(entry, &key)
        .expect("receipt verifies with asom_ledger");
    // By hand: the signed note opens with the key, and the proof leads from the leaf to its root.
    let opened = Checkpoint::open(&receipt.checkpoint, &key).expect("checkpoint signature");
    assert_eq!(opened, cp);
    assert_eq!(cp.origin, store.origin);
    merkle::verify_inclusion(
        &merkle::leaf_hash(entry),
        index,
        cp.size,
        &receipt.proof,
        &cp.root,
    )
    .expect("inclusion proof verifies");
    // And the signed root is the root of the entries the store hands out.
    assert_eq!(
        store.recomputed_root(cp.size),
        cp.root,
        "signed root differs from the entries' root"
    );
    cp
}

// ---------------------------------------------------------------------------
// asom init
// ---------------------------------------------------------------------------

/// `asom init` prints the verifier key in note format and the token once,
/// and creates the directory with a private key file.
#[test]
fn init_creates_the_directory_key_and_token() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("nested").join("asom");
    let out = asom().arg("--dir").arg(&dir).arg("init").run().ok();
    let text = out.stdout().to_owned();

    let line = |label: &str| {
        text.lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .unwrap_or_else(|| panic!("init output lacks {label:?}:\n{text}"))
            .trim()
            .to_owned()
    };
    let origin = line("log origin");
    let verifier = line("verifier key");
    let token = line("export ASOM_TOKEN=");
    assert!(token.starts_with("asom_"), "token {token:?}");

    // Origin: asom.local/<16 hex>/default.
    let parts: Vec<&str> = origin.split('/').collect();
    assert_eq!(parts.len(), 3, "origin {origin:?}");
    assert_eq!(parts[0], "asom.local");
    assert!(
        parts[1].len() == 16 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()),
        "origin {origin:?}"
    );
    assert_eq!(parts[2], "default");

    // Verifier key: <name>+<8 hex key id>+<base64(0x01 ‖ 32-byte key)>, key id per C2SP signed-note.
    let fields: Vec<&str> = verifier.splitn(3, '+').collect();
    assert_eq!(fields.len(), 3, "verifier key {verifier:?}");
    assert_eq!(fields[0], origin);
    assert!(
        fields[1].len() == 8
            && fields[1]
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    );
    let key = BASE64.decode(fields[2]).expect("base64 key");
    assert_eq!(key.len(), 33);
    assert_eq!(key[0], 0x01, "Ed25519 algorithm byte");
    let mut id_input = origin.as_bytes().to_vec();
    id_input.push(b'\n');
    id_input.extend_from_slice(&key);
    assert_eq!(
        fields[1],
        &sha256_hex(&id_input)[..8],
        "key id = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[..4]"
    );
    verifier
        .parse::<NoteVerifier>()
        .expect("asom_ledger parses the verifier key");

    // Files: the store and one key file named after the key id, private.
    assert!(dir.join("asom.db").is_file());
    let keys: Vec<PathBuf> = std::fs::read_dir(dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(
        keys[0].file_name().unwrap().to_string_lossy(),
        format!("default.{}.key", fields[1])
    );
    assert!(
        text.contains(&keys[0].display().to_string()),
        "init names the key file:\n{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys[0]), 0o600, "key file mode");
        assert_eq!(mode(&dir.join("keys")), 0o700, "keys directory mode");
        assert_eq!(mode(&dir), 0o700, "asom directory mode");
    }
    let key_text = std::fs::read_to_string(&keys[0]).unwrap();
    assert!(
        key_text.starts_with("PRIVATE+KEY+"),
        "signed-note private key format"
    );
    assert!(
        !text.contains(key_text.trim()),
        "the private key is never printed"
    );

    // `ledger pubkey` prints the same key; the token works.
    let pubkey = asom()
        .arg("--dir")
        .arg(&dir)
        .args(["ledger", "pubkey"])
        .run()
        .ok();
    assert_eq!(pubkey.stdout(), format!("{verifier}\n"));
    asom()
        .arg("--dir")
        .arg(&dir)
        .env("ASOM_TOKEN", &token)
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .ok();

    // The human output, with the random parts replaced.
    let redacted = text
        .replace(&dir.display().to_string(), "[DIR]")
        .replace(&verifier, "[VERIFIER_KEY]")
        .replace(&origin, "[ORIGIN]")
        .replace(&token, "[TOKEN]")
        .replace(fields[1], "[KEY_ID]");
    insta::assert_snapshot!("init_text", redacted);
}

#[test]
fn init_twice_in_the_same_directory_exits_2_and_changes_nothing() {
    let store = Store::init();
    let keys_before = std::fs::read_dir(store.dir.join("keys")).unwrap().count();
    store
        .asom()
        .arg("init")
        .run()
        .fails_quietly(2, "already holds an asom store")
        .fails(2, &store.dir.display().to_string());
    assert_eq!(
        std::fs::read_dir(store.dir.join("keys")).unwrap().count(),
        keys_before
    );
    store.assert_size(1);
    // The first token still works and the key is unchanged.
    let pubkey = store.asom().args(["ledger", "pubkey"]).run().ok();
    assert_eq!(pubkey.stdout(), format!("{}\n", store.verifier_key));
}

#[test]
fn init_json_report_and_the_genesis_entry_is_entry_0() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("asom");
    let report = asom()
        .arg("--dir")
        .arg(&dir)
        .args(["--format", "json", "init"])
        .run()
        .ok()
        .json();
    for field in [
        "admin_token",
        "admin_token_id",
        "verifier_key",
        "origin",
        "genesis_entry",
        "tenant",
        "admin_principal",
    ] {
        assert!(
            report[field].is_string(),
            "init json lacks {field}: {report}"
        );
    }
    assert_eq!(report["tenant"], "default");
    assert_eq!(report["checkpoint_size"], 1);
    assert_eq!(report["dir"], dir.display().to_string());

    let store = Store {
        token: report["admin_token"].as_str().unwrap().into(),
        token_id: report["admin_token_id"].as_str().unwrap().into(),
        verifier_key: report["verifier_key"].as_str().unwrap().into(),
        origin: report["origin"].as_str().unwrap().into(),
        genesis: report["genesis_entry"].as_str().unwrap().into(),
        dir,
        _tmp: tmp,
    };
    let genesis = store.entry(&0);
    assert_eq!(
        sha256_hex(&genesis),
        store.genesis,
        "entry 0 is the genesis entry"
    );
    assert_eq!(store.entry(&store.genesis), genesis);
    let parsed: Value = serde_json::from_slice(&genesis).unwrap();
    assert_eq!(parsed["kind"], "tenant");
    assert_eq!(parsed["tenant"], "default");
    assert_eq!(parsed["appended_by"], "admin");
    assert_eq!(parsed["content"]["action"], "created");
    assert_eq!(
        parsed["content"]["verifier_key"],
        store.verifier_key.as_str()
    );
    assert_eq!(parsed["content"]["origin"], store.origin.as_str());
    assert_eq!(parsed["content"]["admin_token_id"], store.token_id.as_str());
    assert!(
        !String::from_utf8_lossy(&genesis).contains(&store.token),
        "the token secret is not in the log"
    );

    // Entry 0's receipt verifies.
    let receipt = store.asom().args(["ledger", "proof", "0"]).run().ok();
    assert_receipt_proves(&store, receipt.stdout(), &genesis, 0);
}

#[test]
fn init_with_origin_and_tenant() {
    let store = Store::init_with(&["--origin", "example.com/release-log"]);
    assert_eq!(store.origin, "example.com/release-log");
    assert!(store.verifier_key.starts_with("example.com/release-log+"));

    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("asom");
    asom()
        .arg("--dir")
        .arg(&dir)
        .args(["--tenant", "payments", "init"])
        .run()
        .ok();
    asom()
        .arg("--dir")
        .arg(&dir)
        .args(["--tenant", "payments", "ledger", "verify"])
        .run()
        .ok();
    // ASOM_TENANT and ASOM_DIR are the same settings as --tenant and --dir.
    asom()
        .env("ASOM_DIR", &dir)
        .env("ASOM_TENANT", "payments")
        .args(["ledger", "get", "0"])
        .run()
        .ok();
    asom()
        .arg("--dir")
        .arg(&dir)
        .args(["ledger", "get", "0"])
        .run()
        .fails_quietly(2, "tenant \"default\" does not exist")
        .fails(2, "payments");
}

#[test]
fn init_refuses_a_bad_tenant_or_origin_and_creates_nothing() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("asom");
    asom()
        .arg("--dir")
        .arg(&dir)
        .args(["--tenant", "Bad Tenant!", "init"])
        .run()
        .fails_quietly(2, "--tenant");
    assert!(!dir.exists(), "a refused init leaves no directory");
    asom()
        .arg("--dir")
        .arg(&dir)
        .args(["init", "--origin", "has space+plus"])
        .run()
        .fails_quietly(2, "--origin");
    assert!(!dir.exists(), "a refused init leaves no directory");
}

// ---------------------------------------------------------------------------
// asom ledger append
// ---------------------------------------------------------------------------

#[test]
fn append_from_a_file_prints_a_receipt_that_verifies_offline() {
    let store = Store::init();
    let doc = store.write("doc.json", r#"{ "status": "pass", "build": 42 }"#);
    let out = store
        .asom_as_admin()
        .args(["ledger", "append"])
        .arg(&doc)
        .run()
        .ok();
    assert!(
        out.stderr.contains("appended entry 1"),
        "a note for people on stderr: {}",
        out.stderr
    );
    let receipt_text = out.stdout().to_owned();
    assert!(
        receipt_text.starts_with("c2sp.org/tlog-proof@v1\nindex 1\n"),
        "{receipt_text}"
    );

    let entry = store.entry(&1);
    let parsed: Value = serde_json::from_slice(&entry).unwrap();
    assert_eq!(parsed["content"], json!({"build": 42, "status": "pass"}));
    assert_eq!(parsed["kind"], "record");
    assert_eq!(parsed["appended_by"], "admin");
    let cp = assert_receipt_proves(&store, &receipt_text, &entry, 1);
    assert_eq!(cp.size, 2);

    // Offline with the CLI: no store (the child runs in an empty directory), key from `ledger pubkey`.
    let key = store
        .asom()
        .args(["ledger", "pubkey"])
        .run()
        .ok()
        .stdout()
        .trim()
        .to_owned();
    let receipt = store.write("receipt.tlog", &receipt_text);
    let entry_file = store.write("entry.json", &entry);
    let verified = asom()
        .args(["ledger", "verify", "--receipt"])
        .arg(&receipt)
        .arg("--entry")
        .arg(&entry_file)
        .args(["--key", &key])
        .run()
        .ok();
    assert!(
        verified.stdout().starts_with("verified: entry "),
        "{}",
        verified.stdout()
    );
    assert!(verified.stdout().contains(&sha256_hex(&entry)));
    // The key may come from ASOM_VERIFIER_KEY too.
    asom()
        .args(["--format", "json", "ledger", "verify", "--receipt"])
        .arg(&receipt)
        .arg("--entry")
        .arg(&entry_file)
        .env("ASOM_VERIFIER_KEY", &key)
        .run()
        .ok();
    // Or, inside the store, from the tenant's keys.
    let json = store
        .asom()
        .args(["--format", "json", "ledger", "verify", "--receipt"])
        .arg(&receipt)
        .arg("--entry")
        .arg(&entry_file)
        .run()
        .ok()
        .json();
    assert_eq!(json["verified"], true);
    assert_eq!(json["index"], 1);
    assert_eq!(json["size"], 2);
    assert_eq!(json["id"], sha256_hex(&entry));
    assert_eq!(json["origin"], store.origin.as_str());
}

#[test]
fn append_from_stdin_with_and_without_dash() {
    let store = Store::init();
    let a = store
        .asom_as_admin()
        .args(["--format", "json", "ledger", "append"])
        .stdin(r#"{"via":"stdin"}"#)
        .run()
        .ok()
        .json();
    let b = store
        .asom_as_admin()
        .args(["--format", "json", "ledger", "append", "-"])
        .stdin(r#"{"via":"dash"}"#)
        .run()
        .ok()
        .json();
    assert_eq!(
        (a["index"].as_u64(), b["index"].as_u64()),
        (Some(1), Some(2))
    );
    for report in [&a, &b] {
        assert_eq!(report["duplicate"], false);
        let index = report["index"].as_u64().unwrap();
        let entry = store.entry(&index);
        assert_eq!(report["id"], sha256_hex(&entry));
        let cp = assert_receipt_proves(&store, report["receipt"].as_str().unwrap(), &entry, index);
        assert_eq!(report["checkpoint_size"], cp.size);
    }
}

#[test]
fn append_jsonl_batch_is_one_checkpoint() {
    let store = Store::init();
    let input = "{\"n\":1}\n\n{\"n\":2}\r\n{ \"n\" : 3 }\n{\"n\":1}\n";
    let out = store
        .asom_as_admin()
        .args(["--format", "json", "ledger", "append", "--jsonl"])
        .stdin(input)
        .run()
        .ok();
    assert!(
        out.stderr
            .contains("appended 3 entries (1 already in the log); checkpoint size 4"),
        "{}",
        out.stderr
    );
    let rows = out.json();
    let rows = rows.as_array().expect("one row per line");
    assert_eq!(rows.len(), 4);
    let indexes: Vec<u64> = rows.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(
        indexes,
        [1, 2, 3, 1],
        "a line repeated in the batch gets the first index"
    );
    let duplicates: Vec<bool> = rows
        .iter()
        .map(|r| r["duplicate"].as_bool().unwrap())
        .collect();
    assert_eq!(duplicates, [false, false, false, true]);
    for row in rows {
        let entry = store.entry(&row["index"].as_u64().unwrap());
        assert_eq!(row["id"], sha256_hex(&entry));
    }
    assert_eq!(
        serde_json::from_slice::<Value>(&store.entry(&3)).unwrap()["content"],
        json!({"n": 3})
    );
    store.assert_size(4);

    // One batch, one signature: the sizes inside it were never signed.
    store
        .asom()
        .args(["ledger", "proof", "1", "--size", "2"])
        .run()
        .fails_quietly(
            2,
            "no checkpoint was signed at size 2; the nearest signed sizes are 1 and 4",
        );

    // Text format: `<index> <id>[ duplicate]` per line.
    let text = store
        .asom_as_admin()
        .args(["ledger", "append", "--jsonl"])
        .stdin("{\"n\":3}\n{\"n\":4}\n")
        .run()
        .ok();
    let lines: Vec<&str> = text.stdout().lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        format!("3 {} duplicate", sha256_hex(&store.entry(&3)))
    );
    assert_eq!(lines[1], format!("4 {}", sha256_hex(&store.entry(&4))));
}

#[test]
fn appending_the_same_content_again_returns_the_first_entry() {
    let store = Store::init();
    let first = store.append(r#"{"a":1,"b":[true,null]}"#);
    store.append(r#"{"other":true}"#);
    // Same content, different spelling: key order, whitespace, escapes.
    let again = store
        .asom_as_admin()
        .args(["--format", "json", "ledger", "append"])
        .stdin("{ \"b\" : [ true , null ] ,\n \"\\u0061\": 1.0 }")
        .run()
        .ok();
    assert!(
        again.stderr.contains("already in the log as entry 1"),
        "{}",
        again.stderr
    );
    let again = again.json();
    assert_eq!(again["duplicate"], true);
    assert_eq!(first["duplicate"], false);
    for field in ["index", "id", "content_id"] {
        assert_eq!(
            again[field], first[field],
            "a duplicate returns the first {field}"
        );
    }
    // Its receipt is the first receipt: the first entry, proved against the
    // checkpoint that first covered it (size 2), byte for byte; nothing new is signed.
    let cp = assert_receipt_proves(
        &store,
        again["receipt"].as_str().unwrap(),
        &store.entry(&1),
        1,
    );
    assert_eq!((cp.size, again["checkpoint_size"].as_u64()), (2, Some(2)));
    assert_eq!(again["receipt"], first["receipt"]);
    store.assert_size(3);
    // Right after the first append, the duplicate's receipt is the first receipt itself.
    let last = store.append(r#"{"last":1}"#);
    let last_again = store.append(r#"{"last":1.0}"#);
    assert_eq!(last_again["duplicate"], true);
    assert_eq!(last_again["receipt"], last["receipt"]);
    // The same content with another kind is another entry.
    let other = store
        .asom_as_admin()
        .args(["--format", "json", "ledger", "append", "--kind", "evidence"])
        .stdin(r#"{"a":1,"b":[true,null]}"#)
        .run()
        .ok()
        .json();
    assert_eq!(other["duplicate"], false);
    assert_eq!(other["index"], 4);
    assert_eq!(
        serde_json::from_slice::<Value>(&store.entry(&4)).unwrap()["kind"],
        "evidence"
    );
}

#[test]
fn append_without_a_token_exits_2_naming_asom_token() {
    let store = Store::init();
    store
        .asom()
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .fails_quietly(2, "ASOM_TOKEN")
        .fails(2, "asom init");
    store
        .asom()
        .env("ASOM_TOKEN", "")
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .fails_quietly(2, "ASOM_TOKEN");
    store.assert_size(1);
}

#[test]
fn append_with_a_garbage_revoked_or_foreign_token_exits_2() {
    let store = Store::init();
    store
        .asom()
        .env("ASOM_TOKEN", "garbage")
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .fails_quietly(2, "ASOM_TOKEN");
    store
        .asom()
        .env(
            "ASOM_TOKEN",
            "asom_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .fails_quietly(2, "ASOM_TOKEN");
    // A token of another asom directory.
    let other = Store::init();
    store
        .asom()
        .env("ASOM_TOKEN", &other.token)
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .fails_quietly(2, "is not a live token of this store");
    store.assert_size(1);

    // Revoke the admin token through the store API, as `asom token revoke` will.
    {
        use asom_store::Store as _;
        let db = asom_store_sqlite::SqliteStore::open(store.db()).unwrap();
        db.revoke_token("default", &store.token_id, "2026-01-01T00:00:00.000Z")
            .unwrap();
        db.close();
    }
    store
        .asom_as_admin()
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .fails_quietly(2, "is not a live token of this store")
        .fails(2, "revoked");
    store.assert_size(1);
}

/// Each malformed input exits 2 with a message that says what is wrong, and writes nothing.
#[test]
fn malformed_input_exits_2_and_writes_nothing() {
    let store = Store::init();
    let cases: &[(&str, &[u8], &str)] = &[
        ("truncated JSON", br#"{"a":"#, "not valid JSON"),
        ("duplicate key", br#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        (
            "nested duplicate key",
            br#"{"x":{"k":1,"k":1}}"#,
            "duplicate key \"k\"",
        ),
        (
            "integer above 2^53",
            br#"{"n":9007199254740993}"#,
            "9007199254740993",
        ),
        (
            "integer below -2^53",
            br#"{"n":-9007199254740993}"#,
            "send it as a string",
        ),
        (
            "huge integer",
            br#"{"n":123456789012345678901234567890}"#,
            "send it as a string",
        ),
        (
            "number beyond double range",
            b"[1e400]",
            "beyond the IEEE-754 double range",
        ),
        ("empty input", b"", "the input is empty"),
        ("only whitespace", b" \n\t ", "the input is empty"),
        ("invalid UTF-8", b"{\"a\":\"\xff\"}", "UTF-8"),
        (
            "trailing data",
            br#"{"a":1} {"b":2}"#,
            "extra data after the JSON value",
        ),
        ("lone surrogate", br#"["\ud800"]"#, "lone surrogate"),
        ("NaN", b"NaN", "not valid JSON"),
        (
            "byte order mark",
            b"\xef\xbb\xbf{\"a\":1}",
            "byte order mark",
        ),
        ("single quotes", b"{'a':1}", "not valid JSON"),
    ];
    let deep = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
    let deep_case = [("nesting 100000 deep", deep.as_slice(), "nests deeper")];
    for (what, input, fragment) in cases.iter().chain(&deep_case) {
        let out = store
            .asom_as_admin()
            .args(["ledger", "append"])
            .stdin(*input)
            .run();
        assert_eq!(out.code, 2, "{what}: should exit 2\nstderr: {}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains(fragment),
            "{what}: stderr should mention {fragment:?}, got: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{what}: printed {:?}", out.stdout());
    }
    // 2^53 itself is exact, and accepted.
    store.append(r#"{"n":9007199254740992}"#);
    store.assert_size(2);
}

#[test]
fn a_bad_kind_or_a_bad_jsonl_line_exits_2_and_writes_nothing() {
    let store = Store::init();
    for kind in ["Bad Kind", "", "UPPER", "semi;colon", &"k".repeat(41)] {
        store
            .asom_as_admin()
            .args(["ledger", "append", "--kind", kind])
            .stdin("{}")
            .run()
            .fails_quietly(2, "entry kind")
            .fails(2, "is not valid: use 1-40 lowercase letters, digits or '-'");
    }
    // One bad line rejects the whole batch, and names the line.
    store
        .asom_as_admin()
        .args(["ledger", "append", "--jsonl"])
        .stdin("{\"ok\":1}\n{\"ok\":2}\n{\"bad\":\n")
        .run()
        .fails_quietly(2, "line 3");
    store
        .asom_as_admin()
        .args(["ledger", "append", "--jsonl"])
        .stdin("{\"ok\":1}\n{\"d\":1,\"d\":2}\n")
        .run()
        .fails_quietly(2, "line 2: duplicate key");
    store
        .asom_as_admin()
        .args(["ledger", "append", "--jsonl"])
        .stdin("\n \n")
        .run()
        .fails_quietly(2, "nothing to append");
    // A file that is not there.
    let missing = store.dir.join("no-such-file.json");
    store
        .asom_as_admin()
        .args(["ledger", "append"])
        .arg(&missing)
        .run()
        .fails_quietly(2, "no-such-file.json");
    store.assert_size(1);
}

#[test]
fn an_input_over_16_mib_exits_2() {
    let store = Store::init();
    let mut big = b"[\"".to_vec();
    big.resize(16 * 1024 * 1024 + 8, b'a');
    big.extend_from_slice(b"\"]");
    store
        .asom_as_admin()
        .args(["ledger", "append"])
        .stdin(big)
        .run()
        .fails_quietly(2, "larger than");
    store.assert_size(1);
}

#[test]
fn concurrent_appends_from_several_processes_all_land() {
    let store = Store::init();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let run = store
                .asom_as_admin()
                .args(["--format", "json", "ledger", "append"])
                .stdin(format!(r#"{{"writer":{i}}}"#));
            std::thread::spawn(move || run.run())
        })
        .collect();
    let mut indexes: Vec<u64> = handles
        .into_iter()
        .map(|h| h.join().unwrap().ok().json()["index"].as_u64().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, [1, 2, 3, 4, 5, 6]);
    store.assert_size(7);
    store.asom().args(["ledger", "verify"]).run().ok();
}

// ---------------------------------------------------------------------------
// asom ledger get
// ---------------------------------------------------------------------------

#[test]
fn get_prints_the_stored_canonical_bytes_by_index_id_or_content_id() {
    let store = Store::init();
    let report = store.append("{\"z\": \"\\u00e9\\n\", \"a\": [1.50, -0, 1E2]}");
    let id = report["id"].as_str().unwrap();
    let content_id = report["content_id"].as_str().unwrap();

    let by_index = store.asom().args(["ledger", "get", "1"]).run().ok();
    assert!(
        by_index.stderr.is_empty(),
        "nothing on stderr: {}",
        by_index.stderr
    );
    let bytes = by_index.stdout.clone();
    assert_eq!(sha256_hex(&bytes), id, "sha256 of stdout is the entry id");
    assert_ne!(bytes.last(), Some(&b'\n'), "no trailing newline");
    let db = rusqlite::Connection::open(store.db()).unwrap();
    let stored: Vec<u8> = db
        .query_row(
            "SELECT body FROM entries ORDER BY key LIMIT 1 OFFSET 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(db);
    assert_eq!(bytes, stored, "stdout is the stored body, byte for byte");
    assert_eq!(store.entry(&id), bytes);
    assert_eq!(store.entry(&content_id), bytes);
    assert_eq!(
        store.entry(&id.to_uppercase()),
        bytes,
        "hex ids are case-insensitive"
    );

    // The bytes are RFC 8785: canonicalizing them again changes nothing.
    assert_eq!(asom_ledger::jcs::canonicalize_text(&bytes).unwrap(), bytes);
    let parsed: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(parsed["content"], json!({"a": [1.5, 0, 100], "z": "é\n"}));
    // The content id is SHA-256(JCS({"content", "kind"})).
    let content =
        asom_ledger::jcs::to_canonical(&json!({"content": parsed["content"], "kind": "record"}))
            .unwrap();
    assert_eq!(sha256_hex(&content), content_id);

    let json = store
        .asom()
        .args(["--format", "json", "ledger", "get", "1"])
        .run()
        .ok()
        .json();
    assert_eq!(json["index"], 1);
    assert_eq!(json["id"], id);
    assert_eq!(json["content_id"], content_id);
    assert_eq!(json["kind"], "record");
    assert_eq!(json["entry"], parsed);
}

#[test]
fn get_of_an_unknown_or_garbage_reference_exits_2() {
    let store = Store::with_entries(2);
    store
        .asom()
        .args(["ledger", "get", "3"])
        .run()
        .fails_quietly(2, "no entry 3");
    store
        .asom()
        .args(["ledger", "get", "18446744073709551615"])
        .run()
        .fails_quietly(2, "no entry");
    store
        .asom()
        .args(["ledger", "get", "99999999999999999999999"])
        .run()
        .fails_quietly(2, "too large");
    // 2^40 and above: beyond what a tenant's log can hold, never another row.
    for index in ["1099511627776", "1099511627777", "9223372036854775808"] {
        store
            .asom()
            .args(["ledger", "get", index])
            .run()
            .fails_quietly(2, "no entry");
    }
    let unknown = "ab".repeat(32);
    store
        .asom()
        .args(["ledger", "get", &unknown])
        .run()
        .fails_quietly(2, "no entry");
    for garbage in [
        "xyz",
        "-1",
        "1.5",
        "",
        "12ab",
        &"a".repeat(63),
        &"a".repeat(65),
        " 1",
    ] {
        store
            .asom()
            .args(["ledger", "get", "--", garbage])
            .run()
            .fails_quietly(
                2,
                "neither an entry index (a number) nor an entry or content id",
            );
    }
}

/// An id of 64 hex digits that happen to all be decimal digits is an id, not an index.
#[test]

fn get_of_an_all_digit_64_character_id_is_looked_up_as_an_id() {
    let store = Store::with_entries(2);
    store
        .asom()
        .args(["ledger", "get", &"0".repeat(64)])
        .run()
        .fails_quietly(2, "no entry");
    store
        .asom()
        .args(["ledger", "get", &"1".repeat(64)])
        .run()
        .fails_quietly(2, "no entry");
}

// ---------------------------------------------------------------------------
// asom ledger proof / consistency / checkpoint
// ---------------------------------------------------------------------------

#[test]
fn every_proof_verifies_at_every_signed_size() {
    let store = Store::with_entries(6);
    let size = store.size();
    assert_eq!(size, 7);
    for index in 0..size {
        let entry = store.entry(&index);
        let latest = store
            .asom()
            .args(["ledger", "proof", &index.to_string()])
            .run()
            .ok();
        assert_eq!(
            assert_receipt_proves(&store, latest.stdout(), &entry, index).size,
            size
        );
        for at in index + 1..=size {
            let out = store
                .asom()
                .args([
                    "ledger",
                    "proof",
                    &index.to_string(),
                    "--size",
                    &at.to_string(),
                ])
                .run()
                .ok();
            let receipt = Receipt::parse(out.stdout()).unwrap();
            let cp = receipt.verify(&entry, &store.verifier()).unwrap();
            assert_eq!(cp.size, at);
        }
    }
    // By id and by content id: the same receipt as by index.
    let report = store.append(r#"{"marker":"entry-3"}"#);
    assert_eq!(report["duplicate"], true);
    let by_index = store
        .asom()
        .args(["ledger", "proof", "3"])
        .run()
        .ok()
        .stdout;
    for reference in [
        report["id"].as_str().unwrap(),
        report["content_id"].as_str().unwrap(),
    ] {
        assert_eq!(
            store
                .asom()
                .args(["ledger", "proof", reference])
                .run()
                .ok()
                .stdout,
            by_index
        );
    }
    let json = store
        .asom()
        .args(["--format", "json", "ledger", "proof", "3"])
        .run()
        .ok()
        .json();
    assert_eq!(json["receipt"].as_str().unwrap().as_bytes(), by_index);
    assert_eq!(json["index"], 3);
    assert_eq!(json["size"], size);
    assert_eq!(json["id"], report["id"]);
    let hashes: Vec<String> = Receipt::parse(json["receipt"].as_str().unwrap())
        .unwrap()
        .proof
        .iter()
        .map(Hash::to_base64)
        .collect();
    assert_eq!(json["proof"], json!(hashes));
}

#[test]
fn proof_at_an_unsigned_or_impossible_size_exits_2() {
    let store = Store::init();
    store.append_batch(&[json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]); // signed: 0, 1, 4
    store.append(r#"{"n":4}"#); // signed: 5
    store
        .asom()
        .args(["ledger", "proof", "1", "--size", "3"])
        .run()
        .fails_quietly(
            2,
            "no checkpoint was signed at size 3; the nearest signed sizes are 1 and 4",
        );
    store
        .asom()
        .args(["ledger", "proof", "1", "--size", "9"])
        .run()
        .fails_quietly(
            2,
            "no checkpoint was signed at size 9; the nearest signed sizes are 5 and none",
        );
    store
        .asom()
        .args(["ledger", "proof", "2", "--size", "1"])
        .run()
        .fails_quietly(2, "entry 2 is not in the tree of size 1");
    store
        .asom()
        .args(["ledger", "proof", "0", "--size", "0"])
        .run()
        .fails_quietly(2, "not in the tree of size 0");
    store
        .asom()
        .args(["ledger", "proof", "7"])
        .run()
        .fails_quietly(2, "no entry 7");
    store
        .asom()
        .args(["ledger", "proof", "1", "--size", "-1"])
        .run()
        .fails(2, "'-1'");
    store
        .asom()
        .args(["ledger", "proof", "1", "--size", "4"])
        .run()
        .ok();
}

#[test]
fn consistency_proofs_verify_between_any_two_sizes() {
    let store = Store::init();
    store.append_batch(&[json!({"n": 1}), json!({"n": 2})]);
    store.append_batch(&[
        json!({"n": 3}),
        json!({"n": 4}),
        json!({"n": 5}),
        json!({"n": 6}),
    ]);
    store.append(r#"{"n":7}"#);
    let size = store.size();
    assert_eq!(size, 8);
    let mut tree = MemoryTree::new();
    let mut roots = vec![tree.root()];
    for i in 0..size {
        tree.push(&store.entry(&i));
        roots.push(tree.root());
    }
    for size1 in 0..=size {
        for size2 in size1..=size {
            let out = store
                .asom()
                .args([
                    "ledger",
                    "consistency",
                    &size1.to_string(),
                    &size2.to_string(),
                ])
                .run()
                .ok();
            let text = out.stdout();
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{size1}..{size2}: {text:?}"
            );
            let proof: Vec<Hash> = text
                .lines()
                .map(|l| {
                    assert_eq!(l.len(), 44, "one base64 hash a line: {l:?}");
                    Hash::from_base64(l).unwrap()
                })
                .collect();
            merkle::verify_consistency(
                size1,
                size2,
                &proof,
                &roots[size1 as usize],
                &roots[size2 as usize],
            )
            .unwrap_or_else(|e| panic!("consistency {size1}..{size2}: {e}"));
        }
    }
    // Against the signed roots: the checkpoints at 3 and 8 are consistent.
    let root_at = |s: u64| {
        let receipt = store
            .asom()
            .args(["ledger", "proof", "0", "--size", &s.to_string()])
            .run()
            .ok();
        Receipt::parse(receipt.stdout())
            .unwrap()
            .verify(&store.entry(&0), &store.verifier())
            .unwrap()
            .root
    };
    let json = store
        .asom()
        .args(["--format", "json", "ledger", "consistency", "3", "8"])
        .run()
        .ok()
        .json();
    assert_eq!(
        (json["size1"].as_u64(), json["size2"].as_u64()),
        (Some(3), Some(8))
    );
    let proof: Vec<Hash> = json["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    merkle::verify_consistency(3, 8, &proof, &root_at(3), &root_at(8)).unwrap();
}

#[test]
fn consistency_beyond_the_log_or_backwards_exits_2() {
    let store = Store::with_entries(2);
    store
        .asom()
        .args(["ledger", "consistency", "1", "4"])
        .run()
        .fails_quietly(2, "the log has 3 entries; size 4 does not exist yet");
    store
        .asom()
        .args(["ledger", "consistency", "3", "2"])
        .run()
        .fails_quietly(
            2,
            "cannot prove consistency from size 3 to the smaller size 2",
        );
    store
        .asom()
        .args(["ledger", "consistency", "1"])
        .run()
        .fails(2, "SIZE2");
    store
        .asom()
        .args(["ledger", "consistency", "a", "2"])
        .run()
        .fails(2, "SIZE1");
}

#[test]
fn checkpoint_prints_the_latest_signed_note() {
    let store = Store::with_entries(2);
    let note = store
        .asom()
        .args(["ledger", "checkpoint"])
        .run()
        .ok()
        .stdout()
        .to_owned();
    let cp = Checkpoint::open(&note, &store.verifier())
        .expect("the checkpoint is signed by the log key");
    assert_eq!(cp.origin, store.origin);
    assert_eq!(cp.size, 3);
    assert_eq!(cp.root, store.recomputed_root(3));
    assert!(
        note.starts_with(&format!(
            "{}\n3\n{}\n\n\u{2014} {} ",
            store.origin,
            cp.root.to_base64(),
            store.origin
        )),
        "{note}"
    );
    let json = store
        .asom()
        .args(["--format", "json", "ledger", "checkpoint"])
        .run()
        .ok()
        .json();
    assert_eq!(json["note"], note.as_str());
    assert_eq!(json["size"], 3);
    assert_eq!(json["origin"], store.origin.as_str());
    assert_eq!(json["root_hash"], cp.root.to_base64());
}

// ---------------------------------------------------------------------------
// asom ledger verify (the whole log) and tampering
// ---------------------------------------------------------------------------

/// Opens the store's database with the append-only trigger of `table` dropped.
fn open_for_tampering(store: &Store, table: &str) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(store.db()).unwrap();
    db.execute_batch(&format!("DROP TRIGGER {table}_append_only_u;"))
        .unwrap();
    db
}

/// The row key of entry `index` or node `position` (the store's only tenant).
fn nth_key(db: &rusqlite::Connection, table: &str, n: u64) -> i64 {
    db.query_row(
        &format!("SELECT key FROM {table} ORDER BY key LIMIT 1 OFFSET ?1"),
        [i64::try_from(n).unwrap()],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn verify_of_a_clean_log_exits_0() {
    let store = Store::with_entries(5);
    let out = store.asom().args(["ledger", "verify"]).run().ok();
    assert!(
        out.stdout().starts_with("verified: 6 entries, "),
        "{}",
        out.stdout()
    );
    let root = store.recomputed_root(6).to_base64();
    assert!(
        out.stdout().contains(&root),
        "names the root: {}",
        out.stdout()
    );
    let json = store
        .asom()
        .args(["--format", "json", "ledger", "verify"])
        .run()
        .ok()
        .json();
    assert_eq!(json["verified"], true);
    assert_eq!(json["entries"], 6);
    assert_eq!(json["root_hash"], root);
}

#[test]
fn verify_names_an_entry_whose_body_changed_by_one_byte() {
    let store = Store::with_entries(5);
    let db = open_for_tampering(&store, "entries");
    let key = nth_key(&db, "entries", 3);
    let mut body: Vec<u8> = db
        .query_row("SELECT body FROM entries WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .unwrap();
    let at = body.windows(7).position(|w| w == b"entry-3").unwrap() + 6;
    body[at] = b'9';
    db.execute(
        "UPDATE entries SET body = ?1 WHERE key = ?2",
        rusqlite::params![body, key],
    )
    .unwrap();
    drop(db);
    assert_eq!(
        store.entry(&3),
        body,
        "the tampered bytes are what `get` now prints"
    );

    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "does not verify")
        .fails(1, "entry 3:");
    let out = store
        .asom()
        .args(["--format", "json", "ledger", "verify"])
        .run()
        .fails(1, "entry 3:");
    assert_eq!(out.json()["verified"], false);
    assert!(out.json()["error"].as_str().unwrap().contains("entry 3"));
}

#[test]
fn verify_names_a_tree_node_changed_by_one_byte() {
    let store = Store::with_entries(7); // 8 entries, a perfect tree
    let node = NodeId::new(1, 2); // covers entries 4..5
    let db = open_for_tampering(&store, "nodes");
    let key = nth_key(&db, "nodes", node.position());
    let mut hash: Vec<u8> = db
        .query_row("SELECT hash FROM nodes WHERE key = ?1", [key], |r| r.get(0))
        .unwrap();
    assert_eq!(
        hash,
        merkle::node_hash(
            &merkle::leaf_hash(&store.entry(&4)),
            &merkle::leaf_hash(&store.entry(&5))
        )
        .0,
        "the row is node (1, 2)"
    );
    hash[0] ^= 0x01;
    db.execute(
        "UPDATE nodes SET hash = ?1 WHERE key = ?2",
        rusqlite::params![hash, key],
    )
    .unwrap();
    drop(db);
    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "does not verify")
        .fails(1, "tree node level 1 index 2");
}

#[test]
fn verify_names_a_leaf_node_changed_by_one_byte() {
    let store = Store::with_entries(4);
    let db = open_for_tampering(&store, "nodes");
    let key = nth_key(&db, "nodes", NodeId::new(0, 2).position());
    let mut hash: Vec<u8> = db
        .query_row("SELECT hash FROM nodes WHERE key = ?1", [key], |r| r.get(0))
        .unwrap();
    assert_eq!(
        hash,
        merkle::leaf_hash(&store.entry(&2)).0,
        "the row is the leaf of entry 2"
    );
    hash[31] ^= 0x80;
    db.execute(
        "UPDATE nodes SET hash = ?1 WHERE key = ?2",
        rusqlite::params![hash, key],
    )
    .unwrap();
    drop(db);
    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "entry 2:");
}

#[test]
fn verify_names_a_checkpoint_whose_note_changed_by_one_byte() {
    let store = Store::with_entries(4);
    let db = open_for_tampering(&store, "checkpoints");
    let note: String = db
        .query_row("SELECT note FROM checkpoints WHERE size = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    // One byte of the root line (the third line of the signed text).
    let root_line = note.match_indices('\n').nth(1).unwrap().0 + 1;
    let mut bytes = note.into_bytes();
    bytes[root_line] = if bytes[root_line] == b'A' { b'B' } else { b'A' };
    let note = String::from_utf8(bytes).unwrap();
    db.execute("UPDATE checkpoints SET note = ?1 WHERE size = 3", [&note])
        .unwrap();
    drop(db);
    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "does not verify")
        .fails(1, "checkpoint at size 3");
}

#[test]
fn verify_names_a_checkpoint_whose_signature_changed_by_one_byte() {
    let store = Store::with_entries(2);
    let db = open_for_tampering(&store, "checkpoints");
    let note: String = db
        .query_row("SELECT note FROM checkpoints WHERE size = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    // The 10th base64 character of the signature: inside the Ed25519 signature, past the key id.
    let at = note.rfind(' ').unwrap() + 10;
    let mut bytes = note.into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    db.execute(
        "UPDATE checkpoints SET note = ?1 WHERE size = 2",
        [String::from_utf8(bytes).unwrap()],
    )
    .unwrap();
    drop(db);
    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "checkpoint at size 2");
}

/// The `root` column beside the signed note is what `ledger checkpoint --format json`
/// reports as `root_hash`; a store whose column disagrees with its note does not verify.
#[test]
fn verify_catches_a_checkpoint_root_column_that_disagrees_with_the_note() {
    let store = Store::with_entries(2);
    let db = open_for_tampering(&store, "checkpoints");
    let mut root: Vec<u8> = db
        .query_row("SELECT root FROM checkpoints WHERE size = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    root[0] ^= 0x01;
    db.execute(
        "UPDATE checkpoints SET root = ?1 WHERE size = 3",
        rusqlite::params![root],
    )
    .unwrap();
    drop(db);
    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "checkpoint at size 3");
}

#[test]
fn verify_names_deleted_entries_and_nodes() {
    let store = Store::with_entries(5);
    let db = rusqlite::Connection::open(store.db()).unwrap();
    db.execute_batch("DROP TRIGGER entries_append_only_d;")
        .unwrap();
    let key = nth_key(&db, "entries", 2);
    db.execute("DELETE FROM entries WHERE key = ?1", [key])
        .unwrap();
    drop(db);
    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "entry 2 is missing");

    let store = Store::with_entries(5);
    let db = rusqlite::Connection::open(store.db()).unwrap();
    db.execute_batch("DROP TRIGGER nodes_append_only_d;")
        .unwrap();
    let key = nth_key(&db, "nodes", NodeId::new(1, 1).position());
    db.execute("DELETE FROM nodes WHERE key = ?1", [key])
        .unwrap();
    drop(db);
    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "does not verify");
}

/// The row's `id`, `kind` and `content_id` columns sit beside the hashed body;
/// `ledger get --format json` and lookups by id print them. A store whose
/// columns disagree with the body does not verify.
#[test]

fn verify_catches_entry_columns_that_disagree_with_the_body() {
    for (column, value) in [
        ("id", rusqlite::types::Value::Blob(vec![0x42; 32])),
        ("kind", rusqlite::types::Value::Text("decision".into())),
        ("content_id", rusqlite::types::Value::Blob(vec![0x42; 32])),
    ] {
        let store = Store::with_entries(3);
        let db = open_for_tampering(&store, "entries");
        let key = nth_key(&db, "entries", 2);
        db.execute(
            &format!("UPDATE entries SET {column} = ?1 WHERE key = ?2"),
            rusqlite::params![value, key],
        )
        .unwrap();
        drop(db);
        let out = store.asom().args(["ledger", "verify"]).run();
        assert_eq!(
            out.code,
            1,
            "entry 2's {column} column was changed, yet verify exits {}:\n{}{}",
            out.code,
            out.stdout(),
            out.stderr
        );
        assert!(out.stderr.contains("entry 2"), "{column}: {}", out.stderr);
    }
}

/// Every committed batch is signed in the same transaction, so entries that
/// no signed checkpoint covers were added or rewritten behind the store's back.
#[test]

fn verify_fails_when_the_newest_entries_are_not_covered_by_a_signed_checkpoint() {
    // Rewrite the last entry (index 4, a lone leaf: no interior node covers it
    // yet), its leaf node, and delete the checkpoint that signed it.
    let store = Store::with_entries(4);
    let db = rusqlite::Connection::open(store.db()).unwrap();
    db.execute_batch(
        "DROP TRIGGER entries_append_only_u; DROP TRIGGER nodes_append_only_u; \
         DROP TRIGGER checkpoints_append_only_d;",
    )
    .unwrap();
    let entry_key = nth_key(&db, "entries", 4);
    let mut body = store.entry(&4);
    let at = body.windows(7).position(|w| w == b"entry-4").unwrap() + 6;
    body[at] = b'8';
    let id = Hash::of(&body);
    db.execute(
        "UPDATE entries SET body = ?1, id = ?2 WHERE key = ?3",
        rusqlite::params![body, id.0.as_slice(), entry_key],
    )
    .unwrap();
    let node_key = nth_key(&db, "nodes", NodeId::new(0, 4).position());
    db.execute(
        "UPDATE nodes SET hash = ?1 WHERE key = ?2",
        rusqlite::params![merkle::leaf_hash(&body).0.as_slice(), node_key],
    )
    .unwrap();
    db.execute("DELETE FROM checkpoints WHERE size = 5", [])
        .unwrap();
    drop(db);
    let out = store.asom().args(["ledger", "verify"]).run();
    assert_eq!(
        out.code,
        1,
        "entry 4 was rewritten and its checkpoint deleted, yet verify exits {}:\n{}{}",
        out.code,
        out.stdout(),
        out.stderr
    );
    assert!(out.stderr.contains("does not verify"), "{}", out.stderr);

    // No checkpoint at all.
    let store = Store::with_entries(2);
    let db = rusqlite::Connection::open(store.db()).unwrap();
    db.execute_batch("DROP TRIGGER checkpoints_append_only_d; DELETE FROM checkpoints;")
        .unwrap();
    drop(db);
    let out = store.asom().args(["ledger", "verify"]).run();
    assert_eq!(
        out.code,
        1,
        "every checkpoint was deleted, yet verify exits {}:\n{}{}",
        out.code,
        out.stdout(),
        out.stderr
    );
}

#[test]
fn verify_names_an_entry_flipped_in_the_raw_database_file() {
    let store = Store::with_entries(4);
    let marker = b"unique-marker-7f3a";
    store.append(std::str::from_utf8(&[b"{\"m\":\"".as_slice(), marker, b"\"}"].concat()).unwrap());
    store.append(r#"{"after":true}"#);
    {
        let db = rusqlite::Connection::open(store.db()).unwrap();
        db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let mut file = std::fs::read(store.db()).unwrap();
    let hits: Vec<usize> = file
        .windows(marker.len())
        .enumerate()
        .filter(|(_, w)| *w == marker)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "the marker is in the file once");
    file[hits[0] + 7] = b'M'; // "unique-Marker-7f3a"
    std::fs::write(store.db(), &file).unwrap();

    store
        .asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(1, "does not verify")
        .fails(1, "entry 5:");
}

// ---------------------------------------------------------------------------
// asom ledger verify --receipt: failures
// ---------------------------------------------------------------------------

/// A store with a few entries, the receipt of entry 2 and its entry bytes on disk.
struct ReceiptCase {
    store: Store,
    receipt: String,
    receipt_file: PathBuf,
    entry_file: PathBuf,
}

impl ReceiptCase {
    fn new() -> Self {
        let store = Store::with_entries(4);
        let receipt = store
            .asom()
            .args(["ledger", "proof", "2"])
            .run()
            .ok()
            .stdout()
            .to_owned();
        let receipt_file = store.write("receipt.tlog", &receipt);
        let entry_file = store.write("entry.json", store.entry(&2));
        Self {
            store,
            receipt,
            receipt_file,
            entry_file,
        }
    }

    /// Offline verification of `receipt` against `entry` with `key`.
    fn verify(receipt: &Path, entry: &Path, key: &str) -> Output {
        asom()
            .args(["ledger", "verify", "--receipt"])
            .arg(receipt)
            .arg("--entry")
            .arg(entry)
            .args(["--key", key])
            .run()
    }
}

#[test]
fn receipt_with_another_logs_key_exits_1() {
    let case = ReceiptCase::new();
    ReceiptCase::verify(
        &case.receipt_file,
        &case.entry_file,
        &case.store.verifier_key,
    )
    .ok();
    let other = Store::init();
    ReceiptCase::verify(&case.receipt_file, &case.entry_file, &other.verifier_key)
        .fails_quietly(1, "the receipt does not verify")
        .fails(1, "asom ledger pubkey");
    // In JSON, the verdict is also data on stdout.
    let json = asom()
        .args(["--format", "json", "ledger", "verify", "--receipt"])
        .arg(&case.receipt_file)
        .arg("--entry")
        .arg(&case.entry_file)
        .args(["--key", &other.verifier_key])
        .run()
        .fails(1, "the receipt does not verify")
        .json();
    assert_eq!(json["verified"], false);
    assert!(json["error"].is_string());
    // Against another store's keys (no --key): also exit 1.
    other
        .asom()
        .args(["ledger", "verify", "--receipt"])
        .arg(&case.receipt_file)
        .arg("--entry")
        .arg(&case.entry_file)
        .run()
        .fails_quietly(1, "the receipt does not verify");
    // A key with the right name but another public key.
    let same_name = Store::init_with(&["--origin", &case.store.origin]);
    ReceiptCase::verify(
        &case.receipt_file,
        &case.entry_file,
        &same_name.verifier_key,
    )
    .fails_quietly(1, "the receipt does not verify");
}

#[test]
fn receipt_for_another_entry_exits_1() {
    let case = ReceiptCase::new();
    let other_entry = case.store.write("other.json", case.store.entry(&3));
    ReceiptCase::verify(&case.receipt_file, &other_entry, &case.store.verifier_key)
        .fails_quietly(1, "the receipt does not verify")
        .fails(1, "index 2");
    // The right entry with a trailing newline (as `echo` or an editor saves it) is another entry.
    let with_newline = case.store.write(
        "newline.json",
        [case.store.entry(&2), b"\n".to_vec()].concat(),
    );
    ReceiptCase::verify(&case.receipt_file, &with_newline, &case.store.verifier_key)
        .fails_quietly(1, "exact canonical entry bytes");
}

/// Specific one-byte edits of a receipt, each with the exit code it must give.
#[test]
fn receipt_edited_by_one_byte_exits_1_or_2_by_what_changed() {
    let case = ReceiptCase::new();
    let key = &case.store.verifier_key;
    let edit = |name: &str, find: &str, at: usize, to: u8| {
        let start = case
            .receipt
            .find(find)
            .unwrap_or_else(|| panic!("{find:?} in receipt"))
            + at;
        let mut bytes = case.receipt.clone().into_bytes();
        assert_ne!(bytes[start], to);
        bytes[start] = to;
        case.store.write(name, bytes)
    };
    let proof_hash = case.receipt.lines().nth(2).unwrap().to_owned();
    let cases: Vec<(&str, PathBuf, i32, &str)> = vec![
        // The proof no longer leads to the signed root: verification failed.
        (
            "proof hash",
            edit(
                "r1",
                &proof_hash,
                0,
                if proof_hash.starts_with('A') {
                    b'B'
                } else {
                    b'A'
                },
            ),
            1,
            "the proof leads to root",
        ),
        // Another index: the proof does not hold there.
        (
            "index",
            edit("r2", "index 2", 6, b'1'),
            1,
            "the receipt does not verify",
        ),
        // The signed size: the signature no longer matches.
        (
            "checkpoint size",
            edit(
                "r3",
                &format!("{}\n", case.store.origin),
                case.store.origin.len() + 1,
                b'9',
            ),
            1,
            "the receipt does not verify",
        ),
        // Not a tlog-proof at all: input error.
        (
            "header",
            edit("r4", "c2sp.org", 0, b'x'),
            2,
            "not a tlog-proof receipt",
        ),
        (
            "index syntax",
            edit("r5", "index 2", 1, b'X'),
            2,
            "not a tlog-proof receipt",
        ),
        (
            "proof hash syntax",
            edit("r6", &proof_hash, 0, b'*'),
            2,
            "not a tlog-proof receipt",
        ),
        // The blank line ending the proof removed: the checkpoint is missing.
        (
            "blank line",
            edit("r7", "\n\n", 1, b'x'),
            2,
            "not a tlog-proof receipt",
        ),
    ];
    for (what, file, code, fragment) in cases {
        let out = ReceiptCase::verify(&file, &case.entry_file, key);
        assert_eq!(out.code, code, "{what}: exit code\nstderr: {}", out.stderr);
        assert!(
            out.stderr.contains(fragment),
            "{what}: stderr should mention {fragment:?}, got: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{what}: {}", out.stdout());
    }
}

/// Every single-byte edit of a receipt fails, with exit 1 or 2 and a message; never 0, never a panic.
#[test]
fn no_one_byte_edit_of_a_receipt_verifies() {
    let case = ReceiptCase::new();
    let bytes = case.receipt.as_bytes();
    let file = case.store.write("edited.tlog", b"");
    for at in 0..bytes.len() {
        let mut edited = bytes.to_vec();
        edited[at] = if edited[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(&file, &edited).unwrap();
        let out = ReceiptCase::verify(&file, &case.entry_file, &case.store.verifier_key);
        assert!(
            out.code == 1 || out.code == 2,
            "byte {at} ({:?} -> 'A'/'B'): exit {}\nstdout: {}\nstderr: {}",
            char::from(bytes[at]),
            out.code,
            out.stdout(),
            out.stderr
        );
        assert!(
            out.stderr.starts_with("error: "),
            "byte {at}: {}",
            out.stderr
        );
    }
}

#[test]
fn malformed_receipt_or_key_exits_2() {
    let case = ReceiptCase::new();
    let key = &case.store.verifier_key;
    let checkpoint = case
        .store
        .asom()
        .args(["ledger", "checkpoint"])
        .run()
        .ok()
        .stdout;
    for (name, content) in [
        ("empty.tlog", b"".as_slice()),
        ("garbage.tlog", b"garbage\n".as_slice()),
        ("binary.tlog", b"\xff\xfe\x00\x01".as_slice()),
        ("checkpoint-only.tlog", checkpoint.as_slice()),
        ("header-only.tlog", b"c2sp.org/tlog-proof@v1\n".as_slice()),
    ] {
        let file = case.store.write(name, content);
        ReceiptCase::verify(&file, &case.entry_file, key).fails_quietly(2, name);
    }
    // The entry passed as the receipt, and a missing file.
    ReceiptCase::verify(&case.entry_file, &case.entry_file, key)
        .fails_quietly(2, "not a tlog-proof receipt");
    let missing = case.store.dir.join("missing.tlog");
    ReceiptCase::verify(&missing, &case.entry_file, key).fails_quietly(2, "missing.tlog");
    ReceiptCase::verify(&case.receipt_file, &missing, key).fails_quietly(2, "missing.tlog");

    let (name, id, b64) = {
        let f: Vec<&str> = key.splitn(3, '+').collect();
        (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
    };
    for bad in [
        "nonsense".to_owned(),
        String::new(),
        format!("{name}+{id}"),
        format!("{name}+zzzzzzzz+{b64}"),
        format!("{name}+{id}+not-base64!"),
        format!("{name}+{id}+{}", BASE64.encode([1u8; 5])),
        format!("{name}+{id}+{}", BASE64.encode([2u8; 33])),
        case.receipt.clone(),
    ] {
        ReceiptCase::verify(&case.receipt_file, &case.entry_file, &bad).fails_quietly(2, "--key");
    }
    // A well-formed key whose key id does not match its name and key.
    let wrong_id = format!(
        "{name}+{}+{b64}",
        if id == "00000000" {
            "00000001"
        } else {
            "00000000"
        }
    );
    let out = ReceiptCase::verify(&case.receipt_file, &case.entry_file, &wrong_id);
    assert!(
        out.code == 1 || out.code == 2,
        "exit {}: {}",
        out.code,
        out.stderr
    );
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);

    // --receipt without --entry is a usage error.
    asom()
        .args(["ledger", "verify", "--receipt"])
        .arg(&case.receipt_file)
        .run()
        .fails(2, "--entry");
}

// ---------------------------------------------------------------------------
// Conventions (DESIGN.md §7)
// ---------------------------------------------------------------------------

#[test]
fn out_writes_the_file_and_nothing_to_stdout() {
    let store = Store::with_entries(2);
    let out_file = store.dir.parent().unwrap().join("out.txt");
    for args in [
        &["ledger", "get", "1"][..],
        &["ledger", "proof", "1"],
        &["ledger", "checkpoint"],
        &["ledger", "consistency", "1", "3"],
        &["ledger", "pubkey"],
        &["ledger", "verify"],
        &["--format", "json", "ledger", "get", "2"],
    ] {
        let expected = store.asom().args(args).run().ok().stdout;
        let written = store
            .asom()
            .args(args)
            .arg("--out")
            .arg(&out_file)
            .run()
            .ok();
        assert!(
            written.stdout.is_empty(),
            "{args:?} --out printed {:?}",
            written.stdout()
        );
        assert_eq!(
            std::fs::read(&out_file).unwrap(),
            expected,
            "{args:?}: --out holds what stdout would"
        );
        std::fs::remove_file(&out_file).unwrap();
    }
    // append --out: the receipt goes to the file, the note to stderr.
    let appended = store
        .asom_as_admin()
        .args(["ledger", "append", "--out"])
        .arg(&out_file)
        .stdin(r#"{"x":1}"#)
        .run()
        .ok();
    assert!(appended.stdout.is_empty());
    assert!(appended.stderr.contains("appended entry 3"));
    assert_receipt_proves(
        &store,
        &std::fs::read_to_string(&out_file).unwrap(),
        &store.entry(&3),
        3,
    );
    // init --out: the token is in the file, not on the terminal.
    let tmp = TempDir::new().unwrap();
    let init_out = tmp.path().join("init.txt");
    let init = asom()
        .arg("--dir")
        .arg(tmp.path().join("asom"))
        .arg("init")
        .arg("--out")
        .arg(&init_out)
        .run()
        .ok();
    assert!(init.stdout.is_empty());
    assert!(
        std::fs::read_to_string(&init_out)
            .unwrap()
            .contains("export ASOM_TOKEN=asom_")
    );
    // An --out that cannot be created is an input error.
    store
        .asom()
        .args(["ledger", "get", "1", "--out"])
        .arg(store.dir.join("no-such-dir").join("x"))
        .run()
        .fails_quietly(2, "no-such-dir");
}

#[test]
fn stable_json_is_byte_identical_across_runs_and_holds_no_paths() {
    let store = Store::with_entries(3);
    let dir = store.dir.display().to_string();
    for args in [
        &["ledger", "verify"][..],
        &["ledger", "checkpoint"],
        &["ledger", "proof", "2"],
        &["ledger", "get", "2"],
        &["ledger", "consistency", "2", "4"],
        &["ledger", "pubkey", "--all"],
    ] {
        let first = store.asom().arg("--stable-json").args(args).run().ok();
        let second = store.asom().arg("--stable-json").args(args).run().ok();
        assert_eq!(
            first.stdout, second.stdout,
            "{args:?}: --stable-json differs between runs"
        );
        first.json();
        assert!(first.stdout.ends_with(b"\n"), "{args:?}");
        assert!(
            !first.stdout().contains(&dir),
            "{args:?}: an absolute path in stable output"
        );
        assert_eq!(
            asom_ledger::jcs::canonicalize_text(first.stdout.strip_suffix(b"\n").unwrap()).unwrap(),
            first.stdout.strip_suffix(b"\n").unwrap(),
            "{args:?}: sorted keys (RFC 8785)"
        );
    }
    let tmp = TempDir::new().unwrap();
    let init = asom()
        .arg("--dir")
        .arg(tmp.path().join("asom"))
        .args(["--stable-json", "init"])
        .run()
        .ok();
    assert!(
        !init.stdout().contains(&tmp.path().display().to_string()),
        "init --stable-json names no path: {}",
        init.stdout()
    );
    assert_eq!(init.json()["dir"], Value::Null);
}

#[test]
fn data_goes_to_stdout_and_messages_to_stderr() {
    let store = Store::init();
    let out = store
        .asom_as_admin()
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .ok();
    assert!(
        out.stdout().starts_with("c2sp.org/tlog-proof@v1\n"),
        "stdout is only the receipt"
    );
    assert!(!out.stdout().contains("appended"), "the note is not data");
    assert!(out.stderr.contains("appended entry 1"));
    let get = store.asom().args(["ledger", "get", "1"]).run().ok();
    assert!(get.stderr.is_empty(), "{}", get.stderr);
    let verify = store.asom().args(["ledger", "verify"]).run().ok();
    assert!(verify.stderr.is_empty(), "{}", verify.stderr);
}

#[test]
fn a_missing_store_exits_2_naming_asom_init_and_creates_nothing() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("nowhere");
    for args in [
        &["ledger", "get", "0"][..],
        &["ledger", "proof", "0"],
        &["ledger", "checkpoint"],
        &["ledger", "consistency", "0", "1"],
        &["ledger", "verify"],
        &["ledger", "pubkey"],
        &["ledger", "append"],
    ] {
        asom()
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .env("ASOM_TOKEN", "asom_x")
            .stdin("{}")
            .run()
            .fails_quietly(2, "asom init");
        assert!(!dir.exists(), "{args:?} created the directory");
    }
    // The default directory is ./.asom.
    asom()
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(2, "no asom store at .asom; run `asom init` first");
    // A directory without a store in it.
    asom()
        .arg("--dir")
        .arg(tmp.path())
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(2, "asom init");
}

#[test]

fn a_damaged_or_empty_database_file_exits_2_with_a_message() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("asom");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("asom.db"),
        b"this is not a database, just some text.\n".repeat(200),
    )
    .unwrap();
    asom()
        .arg("--dir")
        .arg(&dir)
        .args(["ledger", "verify"])
        .run()
        .fails_quietly(2, "not a database");
    // An empty file (a failed copy, a `touch`): say it holds no store, and what to run.
    std::fs::write(dir.join("asom.db"), b"").unwrap();
    asom()
        .arg("--dir")
        .arg(&dir)
        .args(["ledger", "get", "0"])
        .run()
        .fails_quietly(2, "asom init");
}

#[test]
fn an_unknown_tenant_exits_2_listing_the_tenants() {
    let store = Store::init();
    store
        .asom()
        .args(["--tenant", "nope", "ledger", "get", "0"])
        .run()
        .fails_quietly(2, "tenant \"nope\" does not exist")
        .fails(2, "one of: default");
    store
        .asom_as_admin()
        .args(["--tenant", "nope", "ledger", "append"])
        .stdin("{}")
        .run()
        .fails_quietly(2, "one of: default");
    store.assert_size(1);
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    let store = Store::init();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = std::fs::read_dir(store.dir.join("keys"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        store
            .asom_as_admin()
            .args(["ledger", "append"])
            .stdin("{}")
            .run()
            .fails_quietly(2, "chmod 600");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        store.assert_size(1);
    }
}

#[test]
fn without_the_key_file_reads_work_and_appends_say_what_is_missing() {
    let store = Store::init();
    std::fs::rename(store.dir.join("keys"), store.dir.join("keys.moved")).unwrap();
    store.asom().args(["ledger", "get", "0"]).run().ok();
    store.asom().args(["ledger", "verify"]).run().ok();
    store
        .asom_as_admin()
        .args(["ledger", "append"])
        .stdin("{}")
        .run()
        .fails_quietly(2, "key");
    store.assert_size(1);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let store = Store::with_entries(1);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut run = store.asom().args(["ledger", "get", "1"]);
    let out = run
        .cmd
        .stdout(writer)
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "a closed pipe exits 0 quietly: {stderr}"
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    asom()
        .arg("frobnicate")
        .run()
        .fails(2, "unrecognized subcommand");
    asom().args(["ledger", "get"]).run().fails(2, "<ENTRY>");
    asom()
        .args(["--format", "yaml", "ledger", "verify"])
        .run()
        .fails(2, "--format");
    asom().arg("--version").run().ok();
}

#[test]
fn help_texts() {
    let help = |args: &[&str]| {
        let out = asom().args(args).run().ok();
        assert!(out.stderr.is_empty());
        out.stdout().to_owned()
    };
    insta::assert_snapshot!("help", help(&["--help"]));
    insta::assert_snapshot!("help_ledger", help(&["ledger", "--help"]));
    insta::assert_snapshot!("help_init", help(&["init", "--help"]));
    insta::assert_snapshot!("help_ledger_append", help(&["ledger", "append", "--help"]));
    insta::assert_snapshot!("help_ledger_verify", help(&["ledger", "verify", "--help"]));
}
