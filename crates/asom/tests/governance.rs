//! The governance commands as a user and CI run them (issue 3, DESIGN.md
//! §3-§5): the real `asom` binary, a real embedded store in a temporary
//! directory, each principal acting with its own `ASOM_TOKEN`.
//!
//! Every test sets up its own store through the CLI ([`World::new`]): a
//! product, the people and machines that act on it, their tokens and an
//! identity alias. Every run goes through [`Run::run`], which fails the test
//! if the command panicked or was killed, whatever its exit code. Exit codes:
//! 0 ok; 1 refused by a rule or a permission; 2 usage or input error.
//!
//! Refusals are checked to write nothing: the signed log size
//! (`asom ledger checkpoint`) and the rows of the entries table are the same
//! before and after.
//!
//! DSSE envelopes are built here from the specs (DSSE v1 PAE, in-toto
//! Statement v1, test-result predicate v0.1) with a key from a fixed seed;
//! JUnit reports are files under `tests/data/governance/`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Output, Run};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// A governed product, its people and machines
// ---------------------------------------------------------------------------

const PRODUCT: &str = "sales";
/// Alice's git identity, mapped to the principal `alice` in every world.
const ALICE_GIT: &str = "Alice <alice@corp.example>";
/// The principals [`World::new`] creates, each with its own token.
const PRINCIPALS: [&str; 5] = ["alice", "bob", "ci-bot", "dev-bot", "carol"];

/// A 40-digit commit SHA of one repeated hex digit.
fn sha(digit: char) -> String {
    digit.to_string().repeat(40)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A JUnit report under `tests/data/governance/`.
fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/governance")
        .join(name)
}

/// An initialised store with product `sales`, the principals
/// alice (human: developer, release-approver), bob (human: release-approver),
/// ci-bot (machine), dev-bot (agent, dev) and carol (human: developer), a
/// token for each, and `Alice <alice@corp.example>` mapped to alice.
struct World {
    tmp: TempDir,
    dir: PathBuf,
    tokens: BTreeMap<String, String>,
}

impl World {
    fn new() -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let dir = tmp.path().join("asom");
        let mut world = Self {
            tmp,
            dir,
            tokens: BTreeMap::new(),
        };
        let init = world.asom().args(["--format", "json", "init"]).run().ok();
        let admin = init.json()["admin_token"]
            .as_str()
            .expect("init prints admin_token")
            .to_owned();
        world.tokens.insert("admin".into(), admin);

        world
            .act("admin")
            .args(["product", "create", PRODUCT, "--team", "data-eng"])
            .args(["--classification", "internal"])
            .args(["--change-type", "incremental-change"])
            .run()
            .ok();
        let principals: [&[&str]; 5] = [
            &["alice", "--kind", "human", "--role", "developer"],
            &["bob", "--kind", "human", "--role", "release-approver"],
            &["ci-bot", "--kind", "machine"],
            &["dev-bot", "--kind", "agent", "--agent-kind", "dev"],
            &["carol", "--kind", "human", "--role", "developer"],
        ];
        for args in principals {
            let mut run = world.act("admin").args(["principal", "create"]).args(args);
            if args[0] == "alice" {
                run = run.args(["--role", "release-approver"]);
            }
            run.run().ok();
        }
        for who in PRINCIPALS {
            let out = world
                .act("admin")
                .args(["--format", "json", "token", "create", who])
                .run()
                .ok();
            let token = out.json()["token"]
                .as_str()
                .expect("token create prints token")
                .to_owned();
            world.tokens.insert(who.to_owned(), token);
        }
        world
            .act("admin")
            .args(["identity", "alias", ALICE_GIT, "--person", "alice"])
            .run()
            .ok();
        world
    }

    /// `asom --dir <store> …` without a token, in a directory without `.asom`.
    fn asom(&self) -> Run {
        support::asom(self.tmp.path(), &self.dir)
    }

    /// `asom --dir <store> …` acting as `who` (a principal, or `admin`).
    fn act(&self, who: &str) -> Run {
        let token = self
            .tokens
            .get(who)
            .unwrap_or_else(|| panic!("no token for {who}"));
        let mut run = self.asom().env("ASOM_TOKEN", token);
        run.shown.insert(0, format!("[as {who}]"));
        run
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
        let db = rusqlite::Connection::open(self.dir.join("asom.db")).expect("open db");
        let count: i64 = db
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .expect("count entries");
        u64::try_from(count).expect("a count is not negative")
    }

    /// Asserts that nothing was written since the log had `size` entries.
    #[track_caller]
    fn assert_unchanged(&self, size: u64) {
        assert_eq!(self.size(), size, "the signed log size changed");
        assert_eq!(self.stored_entries(), size, "the entries table changed");
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, bytes).expect("write file");
        path
    }

    /// Records `commit` authored by `author`, creates `sales@<version>` scoped
    /// to it, and its CRQ (with `number`, if given) moved to `assess` so it
    /// takes approvals. Returns the CRQ number.
    fn release_with_change(
        &self,
        version: &str,
        commit: &str,
        author: &str,
        number: Option<&str>,
    ) -> String {
        let release = format!("{PRODUCT}@{version}");
        self.act("admin")
            .args(["change", "record", "--product", PRODUCT, "--commit", commit])
            .args(["--author", author, "--jira", "ORD-1"])
            .run()
            .ok();
        self.act("admin")
            .args(["release", "create", &release])
            .run()
            .ok();
        self.act("admin")
            .args(["release", "scope", &release, "--jira", "ORD-1"])
            .args(["--commit", commit])
            .run()
            .ok();
        let mut create =
            self.act("admin")
                .args(["--format", "json", "crq", "create", "--release", &release]);
        if let Some(number) = number {
            create = create.args(["--number", number]);
        }
        let crq = create.run().ok().json()["crq"]["number"]
            .as_str()
            .expect("crq create prints the CRQ number")
            .to_owned();
        self.act("admin")
            .args(["crq", "transition", &crq, "assess"])
            .run()
            .ok();
        crq
    }

    fn release_show(&self, release: &str) -> Value {
        self.asom()
            .args(["--format", "json", "release", "show", release])
            .run()
            .ok()
            .json()
    }

    fn crq_show(&self, number: &str) -> Value {
        self.asom()
            .args(["--format", "json", "crq", "show", number])
            .run()
            .ok()
            .json()
    }

    /// `evidence list --release` as JSON.
    fn evidence_list(&self, release: &str) -> Vec<Value> {
        self.asom()
            .args(["--format", "json", "evidence", "list", "--release", release])
            .run()
            .ok()
            .json()
            .as_array()
            .expect("evidence list is an array")
            .clone()
    }

    /// `evidence record` from flags as `who`, bound to `release` and `commit`.
    fn record_by_flags(&self, who: &str, release: &str, commit: &str, extra: &[&str]) -> Output {
        self.act(who)
            .args([
                "--format",
                "json",
                "evidence",
                "record",
                "--release",
                release,
            ])
            .args(["--commit", commit, "--control", "C-06", "--category", "T3"])
            .args([
                "--build",
                "build-7",
                "--environment",
                "dev",
                "--status",
                "pass",
            ])
            .args([
                "--sha256",
                &sha256_hex(b"dq report"),
                "--source-type",
                "dq-report",
            ])
            .args(["--source-ref", "https://ci.example/job/7/dq.json"])
            .args(extra)
            .run()
    }
}

/// A plain JSON evidence record (DESIGN.md §4 fields) with a fixed `created_at`.
fn evidence_record(producer: &str, release: &str, commit: &str, crq: &str) -> Value {
    json!({
        "control_id": "C-06",
        "produced_by": producer,
        "source_type": "dq-report",
        "source_ref": "https://ci.example/job/7/dq.json",
        "checksum": sha256_hex(b"dq report"),
        "commit_sha": commit,
        "build_id": "build-7",
        "crq_ref": crq,
        "environment": "dev",
        "status": "pass",
        "created_at": "2025-01-31T09:30:00Z",
        "test_category": "T3",
        "tenant": "default",
        "product": PRODUCT,
        "release": release,
    })
}

/// The separation-of-duties report for `stage` from `release show`.
fn sod_for<'v>(show: &'v Value, stage: &str) -> &'v Value {
    show["separation_of_duties"]
        .as_array()
        .expect("separation_of_duties is an array")
        .iter()
        .find(|s| s["stage"] == stage)
        .unwrap_or_else(|| panic!("no separation_of_duties for {stage}: {show}"))
}

/// The `author-approves` violations of a stage's report.
fn author_approves(report: &Value) -> Vec<&Value> {
    report["report"]["violations"]
        .as_array()
        .expect("violations is an array")
        .iter()
        .filter(|v| v["rule"] == "author-approves")
        .collect()
}

/// The decisions of a CRQ as `(stage, decision, approver)`; `approvals` is a
/// list of `[round, approval]`.
fn decisions(crq: &Value) -> Vec<(String, String, String)> {
    crq["approvals"]
        .as_array()
        .expect("approvals is an array")
        .iter()
        .map(|pair| {
            let a = &pair[1];
            let text = |f: &str| a[f].as_str().unwrap_or_default().to_owned();
            (text("stage"), text("decision"), text("approver"))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Who may record evidence and approve
// ---------------------------------------------------------------------------

#[test]
fn an_agent_recording_evidence_is_refused_and_nothing_is_written() {
    let w = World::new();
    let crq = w.release_with_change("1.0.0", &sha('a'), "carol", None);
    let size = w.size();

    let record = evidence_record("dev-bot", "sales@1.0.0", &sha('a'), &crq);
    let file = w.write("agent.json", record.to_string());
    w.act("dev-bot")
        .args(["evidence", "record", "--json"])
        .arg(&file)
        .run()
        .fails(
            1,
            &[
                "agent 'dev-bot'",
                "only machine principals record evidence",
                "F-01",
            ],
        );
    // The flags form is refused the same way.
    w.record_by_flags("dev-bot", "sales@1.0.0", &sha('a'), &[])
        .fails(1, &["agent 'dev-bot'", "F-01"]);
    w.assert_unchanged(size);
    assert!(w.evidence_list("sales@1.0.0").is_empty());
}

#[test]
fn an_agent_approving_a_crq_is_refused_and_nothing_is_written() {
    let w = World::new();
    let crq = w.release_with_change("1.0.0", &sha('a'), "carol", None);
    let size = w.size();

    for verb in ["approve", "reject"] {
        w.act("dev-bot")
            .args(["crq", verb, &crq, "--stage", "qa"])
            .run()
            .fails(1, &["agent 'dev-bot' may not", "never act authoritatively"]);
    }
    w.assert_unchanged(size);
    assert!(decisions(&w.crq_show(&crq)).is_empty());
}

#[test]
fn a_human_recording_evidence_is_refused() {
    let w = World::new();
    let crq = w.release_with_change("1.0.0", &sha('a'), "carol", None);
    let size = w.size();

    let record = evidence_record("carol", "sales@1.0.0", &sha('a'), &crq);
    let file = w.write("human.json", record.to_string());
    w.act("carol")
        .args(["evidence", "record", "--json"])
        .arg(&file)
        .run()
        .fails(
            1,
            &[
                "human 'carol'",
                "only machine principals record evidence",
                "F-04",
            ],
        );
    // Not even the admin.
    w.record_by_flags("admin", "sales@1.0.0", &sha('a'), &[])
        .fails(
            1,
            &["human 'admin'", "only machine principals record evidence"],
        );
    w.assert_unchanged(size);
}

// ---------------------------------------------------------------------------
// Separation of duties: an author approving is recorded and flagged
// ---------------------------------------------------------------------------

#[test]
fn an_author_approving_their_own_release_is_recorded_and_flagged_c02() {
    let w = World::new();
    let crq = w.release_with_change("1.0.0", &sha('a'), "alice", None);
    let size = w.size();

    let out = w
        .act("alice")
        .args(["crq", "approve", &crq, "--stage", "qa"])
        .run()
        .ok();
    assert!(
        out.stdout.contains("C-02 author-approves") && out.stdout.contains("'alice'"),
        "the approval should say it is flagged:\n{}",
        out.stdout
    );
    assert_eq!(w.size(), size + 1, "the approval is one ledger entry");
    assert_eq!(
        decisions(&w.crq_show(&crq)),
        [("qa".into(), "approved".into(), "alice".into())]
    );

    let show = w.release_show("sales@1.0.0");
    let qa = sod_for(&show, "qa");
    assert_eq!(qa["holds"], false, "{qa}");
    let flagged = author_approves(qa);
    assert_eq!(flagged.len(), 1, "{qa}");
    assert_eq!(flagged[0]["approver"], "alice");
    assert_eq!(flagged[0]["author"], "alice");
    assert_eq!(flagged[0]["person"], "alice");
    assert_eq!(flagged[0]["stage"], "qa");
}

#[test]
fn an_alias_of_the_author_approving_gets_the_same_flag() {
    let w = World::new();
    let crq = w.release_with_change("1.0.0", &sha('a'), ALICE_GIT, None);

    let change = w
        .asom()
        .args(["--format", "json", "change", "show", &sha('a')])
        .run()
        .ok()
        .json();
    let authors = change["authors"].as_array().expect("authors");
    assert_eq!(authors.len(), 1, "{change}");
    assert!(
        authors[0] == ALICE_GIT || authors[0] == "alice@corp.example",
        "the author is recorded as git wrote it: {change}"
    );
    let aliases = w
        .asom()
        .args(["--format", "json", "identity", "list"])
        .run()
        .ok()
        .json();
    assert!(
        aliases
            .as_array()
            .expect("identity list is an array")
            .iter()
            .any(|a| a["alias"] == "alice@corp.example" && a["person"] == "alice"),
        "{aliases}"
    );

    // An independent approver first: separation of duties holds for QA.
    w.act("bob")
        .args(["crq", "approve", &crq, "--stage", "qa"])
        .run()
        .ok();
    let qa = sod_for(&w.release_show("sales@1.0.0"), "qa").clone();
    assert_eq!(qa["holds"], true, "{qa}");

    // Then the author under her principal name.
    let out = w
        .act("alice")
        .args(["crq", "approve", &crq, "--stage", "qa"])
        .run()
        .ok();
    assert!(
        out.stdout.contains("C-02 author-approves"),
        "the approval should say it is flagged:\n{}",
        out.stdout
    );
    let show = w.release_show("sales@1.0.0");
    let qa = sod_for(&show, "qa");
    assert_eq!(qa["holds"], false, "{qa}");
    let flagged = author_approves(qa);
    assert_eq!(flagged.len(), 1, "{qa}");
    assert_eq!(flagged[0]["approver"], "alice");
    assert_eq!(flagged[0]["author"], authors[0]);
    assert_eq!(flagged[0]["person"], "alice");
}

// ---------------------------------------------------------------------------
// One CRQ per release
// ---------------------------------------------------------------------------

#[test]
fn a_crq_attached_to_a_second_release_is_refused() {
    let w = World::new();
    w.release_with_change("1.0.0", &sha('a'), "carol", Some("CHG0000042"));
    w.act("admin")
        .args(["release", "create", "sales@2.0.0"])
        .run()
        .ok();
    let size = w.size();

    w.act("admin")
        .args([
            "crq",
            "create",
            "--release",
            "sales@2.0.0",
            "--number",
            "CHG0000042",
        ])
        .run()
        .fails(1, &["CHG0000042", "sales@1.0.0"]);
    // Numbers are case-insensitive: the same CRQ in lowercase is the same CRQ.
    w.act("admin")
        .args([
            "crq",
            "create",
            "--release",
            "sales@2.0.0",
            "--number",
            "chg0000042",
        ])
        .run()
        .fails(1, &["CHG0000042", "sales@1.0.0"]);
    // And a release keeps its one CRQ.
    for number in [None, Some("CHG0000043")] {
        let mut run = w
            .act("admin")
            .args(["crq", "create", "--release", "sales@1.0.0"]);
        if let Some(number) = number {
            run = run.args(["--number", number]);
        }
        run.run()
            .fails(1, &["sales@1.0.0 already has CRQ CHG0000042"]);
    }
    w.assert_unchanged(size);
    assert_eq!(w.release_show("sales@2.0.0")["crq"], Value::Null);
}

// ---------------------------------------------------------------------------
// Which evidence counts for a release
// ---------------------------------------------------------------------------

#[test]
fn evidence_for_another_commit_or_crq_is_listed_but_not_counted() {
    let w = World::new();
    let crq = w.release_with_change("1.0.0", &sha('a'), "carol", None);
    let other = w.release_with_change("2.0.0", &sha('b'), "carol", Some("CHG0000099"));
    assert_ne!(crq, other);

    let wrong_commit = w
        .record_by_flags("ci-bot", "sales@1.0.0", &sha('c'), &[])
        .ok();
    let wrong_crq = w
        .record_by_flags("ci-bot", "sales@1.0.0", &sha('a'), &["--crq", &other])
        .ok();
    let right = w
        .record_by_flags("ci-bot", "sales@1.0.0", &sha('a'), &[])
        .ok();
    let index = |out: &Output| out.json()["recorded"]["index"].clone();
    assert_eq!(right.json()["evidence"]["crq_ref"], crq.as_str());

    let listed = w.evidence_list("sales@1.0.0");
    assert_eq!(listed.len(), 3, "{listed:#?}");
    let item = |out: &Output| {
        listed
            .iter()
            .find(|e| e["index"] == index(out))
            .unwrap_or_else(|| panic!("{} is not listed: {listed:#?}", index(out)))
    };
    let reason = |e: &Value| {
        e["not_counted_because"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let e = item(&wrong_commit);
    assert_eq!(e["counted"], false, "{e}");
    assert!(
        reason(e).contains(&sha('c')) && reason(e).contains("not in release sales@1.0.0"),
        "{e}"
    );
    let e = item(&wrong_crq);
    assert_eq!(e["counted"], false, "{e}");
    assert!(
        reason(e).contains(&other) && reason(e).contains(&crq),
        "{e}"
    );
    let e = item(&right);
    assert_eq!(e["counted"], true, "{e}");
    assert!(e.get("not_counted_because").is_none(), "{e}");

    // The text listing says why too.
    let text = w
        .asom()
        .args(["evidence", "list", "--release", "sales@1.0.0"])
        .run()
        .ok()
        .stdout;
    assert_eq!(text.matches("NOT COUNTED").count(), 2, "{text}");
}

// ---------------------------------------------------------------------------
// DSSE-signed in-toto statements
// ---------------------------------------------------------------------------

const IN_TOTO: &str = "application/vnd.in-toto+json";

/// ci-bot's signing key, from a fixed seed.
fn ci_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// DSSE v1 pre-authentication encoding, from the spec:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`.
fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// An in-toto Statement v1 with a passing test-result predicate about `commit`.
fn test_result_statement(commit: &str) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{
            "name": "orders-tests",
            "digest": {"sha256": sha256_hex(b"test report"), "gitCommit": commit},
        }],
        "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
        "predicate": {
            "result": "PASSED",
            "configuration": [{"name": "pytest.ini", "digest": {"sha256": sha256_hex(b"ini")}}],
            "url": "https://ci.example/job/7",
            "passedTests": ["test_adds", "test_refunds"],
        },
    })
}

/// A DSSE envelope over `statement`, signed by `key` naming `key_id`.
fn envelope(payload_type: &str, statement: &Value, key: &SigningKey, key_id: &str) -> Value {
    let body = serde_json::to_vec(statement).expect("statement serializes");
    let sig = key.sign(&pae(payload_type, &body));
    json!({
        "payloadType": payload_type,
        "payload": BASE64.encode(&body),
        "signatures": [{"keyid": key_id, "sig": BASE64.encode(sig.to_bytes())}],
    })
}

/// A world whose ci-bot has `k1` registered, and release sales@1.0.0.
fn dsse_world() -> World {
    let w = World::new();
    w.release_with_change("1.0.0", &sha('a'), "carol", None);
    let public = BASE64.encode(ci_key().verifying_key().to_bytes());
    w.act("admin")
        .args([
            "principal",
            "key",
            "ci-bot",
            "--key-id",
            "k1",
            "--public-key",
            &public,
        ])
        .run()
        .ok();
    w
}

/// `evidence record --dsse FILE` as ci-bot, bound to sales@1.0.0.
fn record_dsse(w: &World, file: &Path) -> Output {
    w.act("ci-bot")
        .args(["--format", "json", "evidence", "record", "--dsse"])
        .arg(file)
        .args([
            "--release",
            "sales@1.0.0",
            "--control",
            "C-03",
            "--category",
            "T1",
        ])
        .args(["--build", "build-7", "--environment", "dev"])
        .args(["--source-ref", "https://ci.example/job/7/attestation.json"])
        .run()
}

#[test]

fn a_dsse_envelope_signed_with_a_registered_key_is_recorded() {
    let w = dsse_world();
    let env = envelope(IN_TOTO, &test_result_statement(&sha('a')), &ci_key(), "k1");
    let bytes = env.to_string();
    let file = w.write("envelope.json", &bytes);
    let size = w.size();

    let out = record_dsse(&w, &file).ok();
    assert_eq!(w.size(), size + 1);
    let evidence = &out.json()["evidence"];
    assert_eq!(evidence["produced_by"], "ci-bot");
    assert_eq!(
        evidence["commit_sha"],
        sha('a').as_str(),
        "taken from gitCommit"
    );
    assert_eq!(evidence["status"], "pass");
    assert_eq!(evidence["counts"]["tests"], 2);
    assert_eq!(
        evidence["checksum"],
        sha256_hex(bytes.as_bytes()),
        "the envelope is the artifact"
    );
    assert_eq!(evidence["attestation"]["key_id"], "k1");
    let listed = w.evidence_list("sales@1.0.0");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["counted"], true, "{}", listed[0]);
}

#[test]
fn a_dsse_envelope_with_a_bad_signature_unknown_key_or_other_payload_type_is_refused() {
    let w = dsse_world();
    let statement = test_result_statement(&sha('a'));
    let size = w.size();

    // One flipped bit in the signature.
    let mut bad = envelope(IN_TOTO, &statement, &ci_key(), "k1");
    let mut sig = BASE64
        .decode(bad["signatures"][0]["sig"].as_str().expect("sig"))
        .expect("base64");
    sig[5] ^= 0x01;
    bad["signatures"][0]["sig"] = json!(BASE64.encode(&sig));
    // The payload changed after signing.
    let mut altered = envelope(IN_TOTO, &statement, &ci_key(), "k1");
    let mut other = statement.clone();
    other["predicate"]["result"] = json!("FAILED");
    other["predicate"]["failedTests"] = json!(["test_refunds"]);
    altered["payload"] = json!(BASE64.encode(other.to_string()));
    // Signed with a key nobody registered, under an unknown id.
    let stranger = SigningKey::from_bytes(&[9u8; 32]);
    let unknown = envelope(IN_TOTO, &statement, &stranger, "k9");
    // A key that is not ci-bot's, under ci-bot's key id.
    let impostor = envelope(IN_TOTO, &statement, &stranger, "k1");
    // Correctly signed, but not in-toto.
    let not_in_toto = envelope("application/json", &statement, &ci_key(), "k1");

    let cases = [
        ("bad-sig.json", bad, &["refused", "bad signature", "k1"][..]),
        ("altered.json", altered, &["refused", "bad signature"][..]),
        (
            "unknown-key.json",
            unknown,
            &["refused", "unknown key id", "k9"][..],
        ),
        ("impostor.json", impostor, &["refused", "bad signature"][..]),
        (
            "not-in-toto.json",
            not_in_toto,
            &[
                "refused",
                "payload type \"application/json\" is not in-toto",
                IN_TOTO,
            ][..],
        ),
    ];
    for (name, env, reason) in cases {
        let file = w.write(name, env.to_string());
        let out = record_dsse(&w, &file).fails(1, reason);
        assert!(out.stdout.is_empty(), "{name}: {}", out.stdout);
    }
    w.assert_unchanged(size);
    assert!(w.evidence_list("sales@1.0.0").is_empty());
}

#[test]

fn the_unknown_key_refusal_names_the_command_that_registers_keys() {
    let w = dsse_world();
    let stranger = SigningKey::from_bytes(&[9u8; 32]);
    let env = envelope(IN_TOTO, &test_result_statement(&sha('a')), &stranger, "k9");
    let file = w.write("unknown-key.json", env.to_string());
    let out = record_dsse(&w, &file).fails(1, &["unknown key id"]);
    assert!(
        out.stderr.contains("asom principal key"),
        "the hint should name `asom principal key`:\n{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------

#[test]
fn malformed_json_junit_or_dsse_exits_2_and_writes_nothing() {
    let w = dsse_world();
    let size = w.size();

    let good = evidence_record("ci-bot", "sales@1.0.0", &sha('a'), "CRQ0000001");
    let mut unknown_field = good.clone();
    unknown_field["bogus"] = json!(1);
    let json_cases: [(&str, String, &[&str]); 4] = [
        (
            "truncated.json",
            good.to_string()[..40].to_owned(),
            &["malformed JSON"],
        ),
        (
            "not-an-object.json",
            "[1, 2]".into(),
            &["must be a JSON object"],
        ),
        (
            "unknown-field.json",
            unknown_field.to_string(),
            &["unknown field \"bogus\""],
        ),
        (
            "bad-commit.json",
            good.to_string().replace(&sha('a'), "xyz"),
            &["commit_sha", "\"xyz\""],
        ),
    ];
    for (name, text, fragments) in json_cases {
        let file = w.write(name, text);
        w.act("ci-bot")
            .args(["evidence", "record", "--json"])
            .arg(&file)
            .run()
            .fails(2, fragments);
    }

    let junit_cases: [(&str, &[&str]); 2] = [
        ("junit-truncated.xml", &["JUnit report", "never closed"]),
        ("junit-doctype.xml", &["JUnit report", "DOCTYPE"]),
    ];
    for (name, fragments) in junit_cases {
        w.act("ci-bot")
            .args(["evidence", "record", "--junit"])
            .arg(data(name))
            .args([
                "--release",
                "sales@1.0.0",
                "--control",
                "C-03",
                "--category",
                "T1",
            ])
            .args([
                "--commit",
                &sha('a'),
                "--build",
                "build-7",
                "--environment",
                "dev",
            ])
            .run()
            .fails(2, fragments);
    }

    let mut bad_base64 = envelope(IN_TOTO, &test_result_statement(&sha('a')), &ci_key(), "k1");
    bad_base64["payload"] = json!("%%% not base64 %%%");
    let mut extra_field = envelope(IN_TOTO, &test_result_statement(&sha('a')), &ci_key(), "k1");
    extra_field["note"] = json!("hi");
    let dsse_cases: [(&str, String, &[&str]); 3] = [
        (
            "not-json.dsse",
            "not json at all".into(),
            &["DSSE envelope", "malformed JSON"],
        ),
        (
            "bad-base64.dsse",
            bad_base64.to_string(),
            &["malformed base64 in payload"],
        ),
        (
            "extra-field.dsse",
            extra_field.to_string(),
            &["DSSE envelope", "note"],
        ),
    ];
    for (name, text, fragments) in dsse_cases {
        let file = w.write(name, text);
        record_dsse(&w, &file).fails(2, fragments);
    }
    w.assert_unchanged(size);
}

// ---------------------------------------------------------------------------
// JUnit reports
// ---------------------------------------------------------------------------

/// `evidence record --junit FILE` as ci-bot for sales@1.0.0's commit.
fn record_junit(w: &World, name: &str, build: &str) -> Value {
    w.act("ci-bot")
        .args(["--format", "json", "evidence", "record", "--junit"])
        .arg(data(name))
        .args([
            "--release",
            "sales@1.0.0",
            "--control",
            "C-03",
            "--category",
            "T1",
        ])
        .args([
            "--commit",
            &sha('a'),
            "--build",
            build,
            "--environment",
            "dev",
        ])
        .run()
        .ok()
        .json()
}

#[test]
fn a_failing_junit_report_then_a_passing_one_leaves_both_visible() {
    let w = World::new();
    w.release_with_change("1.0.0", &sha('a'), "carol", None);
    let size = w.size();

    let failed = record_junit(&w, "junit-fail.xml", "build-7");
    let ev = &failed["evidence"];
    assert_eq!(ev["status"], "fail", "{failed}");
    assert_eq!(
        ev["counts"],
        json!({"tests": 3, "failures": 1, "errors": 0, "skipped": 0})
    );
    assert_eq!(ev["test_category"], "T1");
    assert_eq!(ev["source_type"], "junit");
    assert_eq!(ev["crq_ref"], "CRQ0000001");
    let report = std::fs::read(data("junit-fail.xml")).expect("read report");
    assert_eq!(
        ev["checksum"],
        sha256_hex(&report),
        "the report is the artifact"
    );

    let passed = record_junit(&w, "junit-pass.xml", "build-8");
    assert_eq!(passed["evidence"]["status"], "pass");
    assert_eq!(passed["evidence"]["counts"]["failures"], 0);
    assert_eq!(w.size(), size + 2, "two entries");

    let listed = w.evidence_list("sales@1.0.0");
    let seen: Vec<(Value, Value, Value)> = listed
        .iter()
        .map(|e| {
            (
                e["index"].clone(),
                e["evidence"]["status"].clone(),
                e["counted"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                failed["recorded"]["index"].clone(),
                json!("fail"),
                json!(true)
            ),
            (
                passed["recorded"]["index"].clone(),
                json!("pass"),
                json!(true)
            ),
        ]
    );
    let by_commit = w
        .asom()
        .args([
            "--format",
            "json",
            "evidence",
            "list",
            "--commit",
            &sha('a'),
        ])
        .run()
        .ok()
        .json();
    assert_eq!(by_commit.as_array().map(Vec::len), Some(2), "{by_commit}");
}

// ---------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------

#[test]
fn recording_the_same_json_evidence_twice_writes_it_once() {
    let w = World::new();
    let crq = w.release_with_change("1.0.0", &sha('a'), "carol", None);
    let record = evidence_record("ci-bot", "sales@1.0.0", &sha('a'), &crq);
    let file = w.write("evidence.json", record.to_string());
    let record_it = |format: &str| {
        w.act("ci-bot")
            .args(["--format", format, "evidence", "record", "--json"])
            .arg(&file)
            .run()
            .ok()
    };

    let first = record_it("json").json();
    assert_eq!(first["recorded"]["new"], true);
    let index = first["recorded"]["index"].as_u64().expect("index");
    let size = w.size();

    let again = record_it("text");
    assert!(
        again
            .stdout
            .contains(&format!("already in the ledger as entry {index}"))
            && again.stdout.contains("nothing new was written"),
        "{}",
        again.stdout
    );
    let again = record_it("json").json();
    assert_eq!(again["recorded"]["new"], false);
    assert_eq!(again["recorded"]["index"], index);
    assert_eq!(again["recorded"]["id"], first["recorded"]["id"]);
    w.assert_unchanged(size);
    assert_eq!(w.evidence_list("sales@1.0.0").len(), 1);
}

#[test]

fn recording_the_same_junit_report_twice_writes_it_once() {
    let w = World::new();
    w.release_with_change("1.0.0", &sha('a'), "carol", None);
    let first = record_junit(&w, "junit-pass.xml", "build-7");
    let size = w.size();
    let again = record_junit(&w, "junit-pass.xml", "build-7");
    assert_eq!(again["recorded"]["new"], false, "{again}");
    assert_eq!(again["recorded"]["index"], first["recorded"]["index"]);
    w.assert_unchanged(size);
}

#[test]

fn binding_flags_are_not_silently_ignored_with_a_json_record() {
    let w = World::new();
    let crq = w.release_with_change("1.0.0", &sha('a'), "carol", None);
    w.release_with_change("2.0.0", &sha('b'), "carol", Some("CHG0000099"));
    let record = evidence_record("ci-bot", "sales@1.0.0", &sha('a'), &crq);
    let file = w.write("evidence.json", record.to_string());
    let size = w.size();
    // The user asks for release 2.0.0's CRQ and commit; the record says 1.0.0's.
    // Either the flags apply or the command refuses; it must not record 1.0.0's.
    let out = w
        .act("ci-bot")
        .args(["--format", "json", "evidence", "record", "--json"])
        .arg(&file)
        .args([
            "--release",
            "sales@2.0.0",
            "--crq",
            "CHG0000099",
            "--commit",
            &sha('b'),
        ])
        .run();
    if out.code == 0 {
        let ev = &out.json()["evidence"];
        assert_eq!(ev["crq_ref"], "CHG0000099", "{ev}");
        assert_eq!(ev["release"], "sales@2.0.0", "{ev}");
    } else {
        out.fails(2, &["--json"]);
        w.assert_unchanged(size);
    }
}

// ---------------------------------------------------------------------------
// The built-in change system
// ---------------------------------------------------------------------------

#[test]
fn crq_transitions_follow_the_state_machine_and_decisions_are_kept() {
    let w = World::new();
    w.act("admin")
        .args([
            "change",
            "record",
            "--product",
            PRODUCT,
            "--commit",
            &sha('a'),
        ])
        .args(["--author", "carol"])
        .run()
        .ok();
    w.act("admin")
        .args(["release", "create", "sales@1.0.0"])
        .run()
        .ok();
    w.act("admin")
        .args(["release", "scope", "sales@1.0.0", "--commit", &sha('a')])
        .run()
        .ok();
    let crq = "CRQ0000001";
    w.act("admin")
        .args(["crq", "create", "--release", "sales@1.0.0"])
        .run()
        .ok();
    assert_eq!(w.crq_show(crq)["state"], "new");
    let size = w.size();

    w.act("admin")
        .args(["crq", "transition", crq, "implement"])
        .run()
        .fails(1, &["cannot go from new to implement", "assess, canceled"]);
    // A new CRQ takes no decisions yet.
    w.act("bob")
        .args(["crq", "approve", crq, "--stage", "qa"])
        .run()
        .fails(1, &["state new", "assess"]);
    w.act("admin")
        .args(["crq", "transition", crq, "no-such-state"])
        .run()
        .fails(2, &["no-such-state", "assess"]);
    w.assert_unchanged(size);

    w.act("bob")
        .args(["crq", "transition", crq, "assess"])
        .run()
        .ok();
    w.act("bob")
        .args([
            "crq",
            "approve",
            crq,
            "--stage",
            "qa",
            "--comment",
            "tests green",
        ])
        .run()
        .ok();
    w.act("bob")
        .args([
            "crq",
            "reject",
            crq,
            "--stage",
            "prod",
            "--comment",
            "no window",
        ])
        .run()
        .ok();
    assert_eq!(w.size(), size + 3);

    let shown = w.crq_show(crq);
    assert_eq!(shown["state"], "assess");
    assert_eq!(shown["release"], "sales@1.0.0");
    assert_eq!(shown["history"][0]["from"], "new");
    assert_eq!(shown["history"][0]["to"], "assess");
    assert_eq!(shown["history"][0]["by"], "bob");
    assert_eq!(
        decisions(&shown),
        [
            ("qa".into(), "approved".into(), "bob".into()),
            ("prod".into(), "rejected".into(), "bob".into()),
        ]
    );
    let text = w.asom().args(["crq", "show", crq]).run().ok().stdout;
    assert!(text.contains("new -> assess by bob"), "{text}");
    assert!(
        text.contains("qa by bob") && text.contains("prod by bob"),
        "{text}"
    );
    assert!(text.contains("QA Approved"), "{text}");
    // Times as in the JSON: RFC 3339, UTC.
    let at = shown["history"][0]["at"].as_str().expect("history time");
    assert!(
        at.ends_with('Z') && text.contains(&format!("new -> assess by bob at {at}\n")),
        "{at}: {text}"
    );
}

// ---------------------------------------------------------------------------
// Changes from git
// ---------------------------------------------------------------------------

/// A git repository in `dir`, isolated from the machine's configuration.
struct Repo {
    path: PathBuf,
    home: PathBuf,
}

impl Repo {
    fn new(dir: &Path) -> Self {
        let home = dir.join("home");
        let path = dir.join("repo");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::create_dir_all(&path).expect("repo");
        let repo = Self { path, home };
        repo.git(&["init", "-q", "-b", "main"], None);
        repo
    }

    /// The variables that keep git away from the user's and system's configuration.
    fn isolate(&self, cmd: &mut Command) {
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env(
                "GIT_CEILING_DIRECTORIES",
                self.path.parent().expect("parent"),
            );
    }

    fn git(&self, args: &[&str], author: Option<(&str, &str)>) -> String {
        let mut cmd = Command::new("git");
        self.isolate(&mut cmd);
        let (name, email) = author.unwrap_or(("Cy Committer", "cy@corp.example"));
        cmd.current_dir(&self.path)
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_NAME", "Cy Committer")
            .env("GIT_COMMITTER_EMAIL", "cy@corp.example")
            .args(["-c", "commit.gpgsign=false"])
            .args(args);
        let out = cmd.output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim()
            .to_owned()
    }

    /// An empty commit by `author` with `message`; returns its SHA.
    fn commit(&self, author: (&str, &str), message: &str) -> String {
        let file = self.home.join("message.txt");
        std::fs::write(&file, message).expect("message");
        let file = file.to_str().expect("UTF-8 path");
        self.git(&["commit", "-q", "--allow-empty", "-F", file], Some(author));
        self.git(&["rev-parse", "HEAD"], None)
    }
}

#[test]
fn change_record_from_git_reads_authors_and_trailers() {
    let w = World::new();
    let repo = Repo::new(&w.tmp.path().join("git"));
    let base = repo.commit(("Dan Base", "dan@corp.example"), "initial import");
    let first = repo.commit(
        ("Alice", "alice@corp.example"),
        "Add refunds\n\nRefunds restore stock.\n\n\
         Jira: ORD-7, ORD-8\n\
         Co-authored-by: Carol <carol@corp.example>\n\
         Reviewed-by: Bob <bob@corp.example>\n",
    );
    let second = repo.commit(("Dan Base", "dan@corp.example"), "ORD-9: fix totals");

    let mut run = w
        .act("admin")
        .args(["--format", "json", "change", "record", "--product", PRODUCT])
        .args(["--from-git", &format!("{base}..HEAD"), "--repo"])
        .arg(&repo.path);
    repo.isolate(&mut run.cmd);
    let recorded = run.run().ok().json();
    assert_eq!(recorded.as_array().map(Vec::len), Some(2), "{recorded}");

    let show = |commit: &str| {
        w.asom()
            .args(["--format", "json", "change", "show", commit])
            .run()
            .ok()
            .json()
    };
    let change = show(&first);
    assert_eq!(change["product"], PRODUCT);
    assert_eq!(
        change["authors"],
        json!([ALICE_GIT, "Carol <carol@corp.example>"]),
        "{change}"
    );
    assert_eq!(
        change["reviewers"],
        json!(["Bob <bob@corp.example>"]),
        "{change}"
    );
    assert_eq!(change["jira_keys"], json!(["ORD-7", "ORD-8"]), "{change}");
    let change = show(&second);
    assert_eq!(
        change["authors"],
        json!(["Dan Base <dan@corp.example>"]),
        "{change}"
    );
    assert_eq!(change["jira_keys"], json!(["ORD-9"]), "{change}");
    // The base commit is outside the range.
    w.asom()
        .args(["change", "show", &base])
        .run()
        .fails(2, &["not recorded"]);

    // The git identity is Alice: her approval of a release with this commit is flagged.
    w.act("admin")
        .args(["release", "create", "sales@1.0.0"])
        .run()
        .ok();
    w.act("admin")
        .args([
            "release",
            "scope",
            "sales@1.0.0",
            "--commit",
            &first,
            "--commit",
            &second,
        ])
        .run()
        .ok();
    w.act("admin")
        .args(["crq", "create", "--release", "sales@1.0.0"])
        .run()
        .ok();
    w.act("admin")
        .args(["crq", "transition", "CRQ0000001", "assess"])
        .run()
        .ok();
    w.act("alice")
        .args(["crq", "approve", "CRQ0000001", "--stage", "qa"])
        .run()
        .ok();
    let show = w.release_show("sales@1.0.0");
    let flagged = author_approves(sod_for(&show, "qa"));
    assert_eq!(flagged.len(), 1, "{show}");
    assert_eq!(flagged[0]["author"], ALICE_GIT);
}

// ---------------------------------------------------------------------------
// The whole flow is in the ledger
// ---------------------------------------------------------------------------

#[test]
fn every_step_is_a_ledger_entry_and_the_ledger_verifies() {
    let w = dsse_world();
    let record = evidence_record("ci-bot", "sales@1.0.0", &sha('a'), "CRQ0000001");
    let file = w.write("evidence.json", record.to_string());
    w.act("ci-bot")
        .args(["evidence", "record", "--json"])
        .arg(&file)
        .run()
        .ok();
    w.act("bob")
        .args(["crq", "approve", "CRQ0000001", "--stage", "qa"])
        .run()
        .ok();
    let token_id = w
        .act("admin")
        .args(["--format", "json", "token", "create", "carol"])
        .run()
        .ok()
        .json()["id"]
        .as_str()
        .expect("token id")
        .to_owned();
    w.act("admin")
        .args(["token", "revoke", &token_id])
        .run()
        .ok();

    let out = w.asom().args(["ledger", "verify"]).run().ok();
    assert!(out.stdout.contains("verified"), "{}", out.stdout);

    let size = w.size();
    let mut kinds = BTreeSet::new();
    for index in 0..size {
        let entry = w
            .asom()
            .args(["--format", "json", "ledger", "get", &index.to_string()])
            .run()
            .ok()
            .json();
        assert_eq!(entry["index"], index, "{entry}");
        kinds.insert(entry["kind"].as_str().expect("kind").to_owned());
    }
    for kind in [
        "product",
        "principal",
        "token",
        "identity",
        "change",
        "release",
        "crq",
        "evidence",
    ] {
        assert!(kinds.contains(kind), "no {kind} entry among {kinds:?}");
    }
}
