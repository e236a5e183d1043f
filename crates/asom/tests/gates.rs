//! Gates G1..G4 as CI and people run them (issue 4; DESIGN.md §3, §6, §7):
//! the real `asom` binary, a fresh embedded store in a temporary directory
//! per test, each principal acting with its own `ASOM_TOKEN`.
//!
//! Every run goes through [`Run::run`], which fails the test if the command
//! panicked or was killed, whatever its exit code. Exit codes: 0 pass (or
//! would-block in observe mode); 1 block, or refused by a rule or a
//! permission; 2 usage, configuration or input error.
//!
//! The product of every world has change type `dq-rule-change`, whose only
//! minimum test category is T3, so the evidence G3 needs is small:
//! passing evidence for each evidence-proven control the catalog checks at G3
//! (C-03 .. C-08 and C-10; C-05 through T4, C-06 through T3), with the C-03
//! record being the QA execution report ([`G3_EVIDENCE`]). G4 adds C-09 (T8).
//!
//! Refusals are checked to write nothing: the signed log size (`asom ledger
//! checkpoint`) and the rows of the entries table are the same before and
//! after.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::{Output, Run};

use serde_json::Value;
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// What only gate checks print.
impl Output {
    /// The decision of a `gate check --format json|--stable-json`.
    fn decision(&self) -> Value {
        let doc = self.json();
        assert!(
            doc["decision"].is_object(),
            "{}: no decision in {doc}",
            self.shown
        );
        doc["decision"].clone()
    }

    /// The ledger index of the decision a `gate check` recorded.
    fn recorded_index(&self) -> u64 {
        self.json()["recorded"]["index"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: no recorded.index in {}", self.shown, self.stdout))
    }
}

// ---------------------------------------------------------------------------
// A governed product, its people and machines
// ---------------------------------------------------------------------------

const PRODUCT: &str = "sales";
const RELEASE: &str = "sales@1.0.0";
/// The principals [`World::new`] creates, each with its own token.
const PRINCIPALS: [&str; 8] = [
    "alice", "bob", "ci-bot", "dev-bot", "gina", "erin", "rita", "cd-bot",
];

/// The evidence G3 needs for a `dq-rule-change` release:
/// `(control, test category, source type)`, all recorded passing by `ci-bot`.
const G3_EVIDENCE: [(&str, Option<&str>, &str); 7] = [
    ("C-03", None, "qa-execution-report"),
    ("C-04", None, "classification-check"),
    ("C-05", Some("T4"), "rbac-export"),
    ("C-06", Some("T3"), "dq-report"),
    ("C-07", None, "build-provenance"),
    ("C-08", None, "idempotency-run"),
    ("C-10", None, "cost-baseline"),
];

/// A 40-digit commit SHA of one repeated hex digit.
fn sha(digit: char) -> String {
    digit.to_string().repeat(40)
}

/// The built-in policy pack's source directory.
fn default_pack() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../asom-policy/packs/default")
}

/// An initialised store with product `sales` (classification internal,
/// change type `dq-rule-change`, not material) and the principals
/// alice (human: developer, release-approver; she authors the release's
/// commit), bob (human: release-approver), ci-bot (machine), dev-bot
/// (agent, dev) and gina (human: governance), a token for each.
struct World {
    tmp: TempDir,
    dir: PathBuf,
    tokens: BTreeMap<String, String>,
    /// `ASOM_NOW` for every command, when the clock is pinned.
    now: Option<String>,
}

impl World {
    fn new() -> Self {
        Self::with_clock(None)
    }

    /// A world whose every command runs with the clock pinned at `now`.
    fn pinned(now: &str) -> Self {
        Self::with_clock(Some(now.to_owned()))
    }

    fn with_clock(now: Option<String>) -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let dir = tmp.path().join("asom");
        let mut world = Self {
            tmp,
            dir,
            tokens: BTreeMap::new(),
            now,
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
            .args(["--change-type", "dq-rule-change"])
            .run()
            .ok();
        let principals: [&[&str]; 8] = [
            &[
                "alice",
                "--kind",
                "human",
                "--role",
                "developer",
                "--role",
                "release-approver",
            ],
            &["bob", "--kind", "human", "--role", "release-approver"],
            &["ci-bot", "--kind", "machine"],
            &["dev-bot", "--kind", "agent", "--agent-kind", "dev"],
            &["gina", "--kind", "human", "--role", "governance"],
            &["erin", "--kind", "human", "--role", "emergency-approver"],
            &[
                "rita",
                "--kind",
                "human",
                "--role",
                "release-approver",
                "--role",
                "emergency-approver",
            ],
            &["cd-bot", "--kind", "machine"],
        ];
        for args in principals {
            world
                .act("admin")
                .args(["principal", "create"])
                .args(args)
                .run()
                .ok();
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
    }

    /// `asom --dir <store> …` without a token, in a directory without `.asom`.
    fn asom(&self) -> Run {
        let run = support::asom(self.tmp.path(), &self.dir);
        match &self.now {
            Some(now) => run.env("ASOM_NOW", now),
            None => run,
        }
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

    /// `asom ledger get <index> --format json`.
    fn ledger_get(&self, index: u64) -> Value {
        self.asom()
            .args(["--format", "json", "ledger", "get", &index.to_string()])
            .run()
            .ok()
            .json()
    }

    /// Records commit `aaaa…` (authored by alice, Jira ORD-1) and creates
    /// `sales@1.0.0` scoped to it. No CRQ yet.
    fn release(&self) {
        self.act("admin")
            .args(["change", "record", "--product", PRODUCT])
            .args([
                "--commit",
                &sha('a'),
                "--author",
                "alice",
                "--jira",
                "ORD-1",
            ])
            .run()
            .ok();
        self.act("admin")
            .args(["release", "create", RELEASE])
            .run()
            .ok();
        self.act("admin")
            .args(["release", "scope", RELEASE, "--jira", "ORD-1"])
            .args(["--commit", &sha('a')])
            .run()
            .ok();
    }

    /// Creates the release's CRQ; returns its number.
    fn crq(&self) -> String {
        self.act("admin")
            .args(["--format", "json", "crq", "create", "--release", RELEASE])
            .run()
            .ok()
            .json()["crq"]["number"]
            .as_str()
            .expect("crq create prints the CRQ number")
            .to_owned()
    }

    fn transition(&self, crq: &str, state: &str) {
        self.act("admin")
            .args(["crq", "transition", crq, state])
            .run()
            .ok();
    }

    fn approve(&self, who: &str, crq: &str, stage: &str) -> Output {
        self.act(who)
            .args(["crq", "approve", crq, "--stage", stage])
            .run()
    }

    /// `evidence record` from flags as ci-bot, for the release's commit;
    /// returns the JSON output (`evidence`, `recorded`).
    fn record(
        &self,
        control: &str,
        category: Option<&str>,
        source_type: &str,
        status: &str,
        environment: &str,
    ) -> Value {
        let mut run = self
            .act("ci-bot")
            .args([
                "--format",
                "json",
                "evidence",
                "record",
                "--release",
                RELEASE,
            ])
            .args(["--commit", &sha('a'), "--control", control])
            .args(["--status", status, "--environment", environment])
            .args(["--build", "build-1", "--source-type", source_type])
            .args([
                "--source-ref",
                &format!("https://ci.example/build-1/{control}/{status}.json"),
            ])
            .args(["--sha256", &"c".repeat(64)]);
        if let Some(category) = category {
            run = run.args(["--category", category]);
        }
        run.run().ok().json()
    }

    /// Records every item of [`G3_EVIDENCE`], passing, in `dev`.
    fn record_g3_evidence(&self) {
        for (control, category, source_type) in G3_EVIDENCE {
            self.record(control, category, source_type, "pass", "dev");
        }
    }

    /// `gate check <gate> --release sales@1.0.0 --format json <extra>` as `who`.
    fn check(&self, who: &str, gate: &str, extra: &[&str]) -> Output {
        self.act(who)
            .args([
                "--format",
                "json",
                "gate",
                "check",
                gate,
                "--release",
                RELEASE,
            ])
            .args(extra)
            .run()
    }

    /// `gate check` in text form as admin.
    fn check_text(&self, gate: &str) -> Output {
        self.act("admin")
            .args(["gate", "check", gate, "--release", RELEASE])
            .run()
    }

    fn set_mode(&self, who: &str, gate: &str, mode: &str) -> Output {
        self.act(who)
            .args(["gate", "mode", gate, "--product", PRODUCT, mode])
            .run()
    }

    /// `gate replay <index> [--pack DIR] [--format json]`.
    fn replay(&self, index: u64, pack: Option<&Path>, json: bool) -> Output {
        let mut run = self.asom();
        if json {
            run = run.args(["--format", "json"]);
        }
        run = run.args(["gate", "replay", &index.to_string()]);
        if let Some(pack) = pack {
            run = run.arg("--pack").arg(pack);
        }
        run.run()
    }

    /// A copy of the built-in pack under the world's temp dir, named `name`.
    fn pack_copy(&self, name: &str) -> PathBuf {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("create pack dir");
        for file in std::fs::read_dir(default_pack()).expect("read the default pack") {
            let file = file.expect("pack file");
            std::fs::copy(file.path(), dir.join(file.file_name())).expect("copy pack file");
        }
        dir
    }
}

// ---------------------------------------------------------------------------
// Reading decisions
// ---------------------------------------------------------------------------

fn violations(d: &Value) -> &Vec<Value> {
    d["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("violations is an array: {d}"))
}

/// The controls a decision's violations name.
fn controls(d: &Value) -> BTreeSet<String> {
    violations(d)
        .iter()
        .map(|v| v["control"].as_str().expect("control").to_owned())
        .collect()
}

/// The violation of `control` whose reason contains `reason`.
#[track_caller]
fn violation<'d>(d: &'d Value, control: &str, reason: &str) -> &'d Value {
    violations(d)
        .iter()
        .find(|v| {
            v["control"] == control && v["reason"].as_str().is_some_and(|r| r.contains(reason))
        })
        .unwrap_or_else(|| {
            panic!(
                "no {control} violation whose reason mentions {reason:?} in:\n{:#}",
                d["violations"]
            )
        })
}

/// Asserts the violation's remediation mentions every fragment.
#[track_caller]
fn remedies(v: &Value, fragments: &[&str]) {
    let remediation = v["remediation"].as_str().expect("remediation is text");
    for fragment in fragments {
        assert!(
            remediation.contains(fragment),
            "the remediation of {} should mention {fragment:?}, got: {remediation}",
            v["control"]
        );
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------
// 1. Exit codes
// ---------------------------------------------------------------------------

#[test]
fn exit_codes_usage_errors_write_nothing() {
    let w = World::new();
    w.release();
    let size = w.size();

    w.check("admin", "G9", &[])
        .fails(2, &["unknown gate \"G9\"", "G1 (PR merge)"]);
    w.check("admin", "G1", &[])
        .fails(2, &["G1 checks one change", "--commit"]);
    w.check("admin", "G1", &["--commit", &sha('e')])
        .fails(2, &["is not recorded", "asom change record"]);
    for release in ["sales@9.9.9", "nosuch@1.0.0"] {
        w.act("admin")
            .args(["gate", "check", "G2", "--release", release])
            .run()
            .fails(
                2,
                &[
                    &format!("no release {release}"),
                    &format!("asom release create {release}"),
                ],
            );
    }
    w.act("admin")
        .args(["gate", "check", "G2"])
        .run()
        .fails(2, &["--release"]);
    w.asom()
        .args(["gate", "check", "G2", "--release", RELEASE])
        .run()
        .fails(2, &["ASOM_TOKEN"]);
    w.assert_unchanged(size);
}

#[test]
fn exit_codes_g2_blocks_without_a_crq_and_passes_with_one() {
    let w = World::new();
    w.release();

    let out = w
        .check("admin", "G2", &[])
        .fails(1, &["G2 blocks sales@1.0.0"]);
    let d = out.decision();
    assert_eq!(d["result"], "block");
    assert_eq!(d["mode"], "enforce");
    assert_eq!(d["gate"], "G2");
    assert_eq!(d["release"], RELEASE);
    assert_eq!(controls(&d), set(&["C-01"]), "{d:#}");
    remedies(
        violation(&d, "C-01", "no change request"),
        &["asom crq create --release sales@1.0.0"],
    );
    // The text report names the control and the command too.
    let text = w.check_text("G2").fails(1, &["G2 blocks"]);
    for fragment in [
        "G2 sales@1.0.0  BLOCK",
        "C-01",
        "fix: create the release's CRQ: asom crq create --release sales@1.0.0",
    ] {
        assert!(
            text.stdout.contains(fragment),
            "{fragment:?} in:\n{}",
            text.stdout
        );
    }

    w.crq();
    let d = w.check("admin", "G2", &[]).ok().decision();
    assert_eq!(d["result"], "pass");
    assert!(violations(&d).is_empty(), "{d:#}");
    let text = w.check_text("G2").ok();
    assert!(
        text.stdout.contains("G2 sales@1.0.0  PASS"),
        "{}",
        text.stdout
    );
}

#[test]
fn exit_codes_g1_blocks_naming_the_missing_test_categories() {
    let w = World::new();
    w.release();
    let commit = sha('a');
    let out = w
        .check("admin", "G1", &["--commit", &commit])
        .fails(1, &["G1 blocks"]);
    let d = out.decision();
    assert_eq!(d["commit"], commit.as_str());
    for t in ["T1 (unit/logic)", "T2 (contract/schema)"] {
        let v = violation(
            &d,
            "C-03",
            &format!("needs a passing {t} result for commit"),
        );
        remedies(
            v,
            &["asom evidence record --control C-03 --category", &commit],
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Observe vs enforce
// ---------------------------------------------------------------------------

#[test]
fn observe_mode_records_would_block_and_exits_zero() {
    let w = World::new();
    w.release();
    w.crq();

    let enforced = w.check("admin", "G3", &[]).fails(1, &["G3 blocks"]);
    let blocked = enforced.decision();
    assert_eq!(blocked["result"], "block");
    assert_eq!(blocked["mode"], "enforce");

    // Only an admin sets a mode; refusals write nothing.
    let size = w.size();
    w.set_mode("dev-bot", "G3", "observe")
        .fails(1, &["agent 'dev-bot' may not manage products"]);
    w.set_mode("bob", "G3", "observe")
        .fails(1, &["human 'bob' may not manage products"]);
    w.set_mode("admin", "G3", "sideways")
        .fails(2, &["unknown mode \"sideways\""]);
    w.act("admin")
        .args(["gate", "mode", "G3", "--product", "nosuch", "observe"])
        .run()
        .fails(2, &["no product \"nosuch\""]);
    w.assert_unchanged(size);

    w.set_mode("admin", "G3", "observe").ok();
    let observed = w.check("admin", "G3", &[]).ok();
    let would = observed.decision();
    assert_eq!(would["result"], "would-block");
    assert_eq!(would["mode"], "observe");
    // The same state: the same violations, only not enforced.
    assert_eq!(would["violations"], blocked["violations"]);
    let text = w.check_text("G3").ok();
    assert!(
        text.stdout.contains("WOULD BLOCK") && text.stdout.contains("observe mode"),
        "the text should say it would block:\n{}",
        text.stdout
    );

    // Both decisions are ledger entries of kind `decision`.
    for (out, result) in [(&enforced, "block"), (&observed, "would-block")] {
        let entry = w.ledger_get(out.recorded_index());
        assert_eq!(entry["kind"], "decision", "{entry:#}");
        assert_eq!(entry["entry"]["content"]["result"], result, "{entry:#}");
    }

    // The mode is per gate: G4 of the same product still enforces.
    w.check("admin", "G4", &[]).fails(1, &["G4 blocks"]);
    // And back to enforce, the same state blocks again.
    w.set_mode("admin", "G3", "enforce").ok();
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    assert_eq!(d["result"], "block");
}

// ---------------------------------------------------------------------------
// 3. G3 blocks, then passes
// ---------------------------------------------------------------------------

/// The first G3 check after the CRQ exists: nothing recorded, nobody
/// approved. Returns the decision's index.
fn first_g3_blocks(w: &World, crq: &str) -> u64 {
    let out = w.check("admin", "G3", &[]).fails(1, &["G3 blocks"]);
    let d = out.decision();
    assert_eq!(
        controls(&d),
        set(&[
            "C-01", "C-02", "C-03", "C-04", "C-05", "C-06", "C-07", "C-08", "C-10"
        ]),
        "{d:#}"
    );
    remedies(
        violation(
            &d,
            "C-05",
            "access control & least privilege) has no passing evidence",
        ),
        &["T4 (access/security)", "--control C-05 --category T4"],
    );
    remedies(
        violation(&d, "C-06", "needs passing T3 (data quality) results"),
        &["--control C-06 --category T3"],
    );
    remedies(
        violation(&d, "C-01", "not approved for QA"),
        &[&format!("asom crq approve {crq} --stage qa")],
    );
    remedies(
        violation(&d, "C-03", "no QA execution report"),
        &["--control C-03 --source-type qa-execution-report"],
    );
    violation(&d, "C-02", "approver-set-empty");
    out.recorded_index()
}

/// The whole G3 story on a fresh world: blocks, a failing DQ run named by
/// its entry, the evidence the pack requires, the QA approval by a
/// non-author, pass. Returns every decision's ledger index, in order.
fn g3_story(w: &World) -> Vec<u64> {
    w.release();
    let crq = w.crq();
    w.transition(&crq, "assess");
    let mut decisions = vec![first_g3_blocks(w, &crq)];

    // A failing DQ run blocks with its entry id; it stays in the ledger.
    let failed = w.record("C-06", Some("T3"), "dq-report", "fail", "dev");
    let failed_id = failed["recorded"]["id"].as_str().expect("entry id");
    let out = w.check("admin", "G3", &[]).fails(1, &[]);
    let v = violation(
        &out.decision(),
        "C-06",
        "the latest T3 (data quality) result for this release failed",
    )
    .clone();
    assert_eq!(v["entries"], serde_json::json!([failed_id]), "{v:#}");
    decisions.push(out.recorded_index());

    // The evidence: only the approval is left.
    w.record_g3_evidence();
    let out = w.check("admin", "G3", &[]).fails(1, &[]);
    let d = out.decision();
    assert_eq!(controls(&d), set(&["C-01", "C-02"]), "{d:#}");
    violation(&d, "C-01", "not approved for QA");
    decisions.push(out.recorded_index());

    // Bob (no commit of his) approves for QA: G3 passes.
    w.transition(&crq, "authorize");
    w.approve("bob", &crq, "qa").ok();
    let out = w.check("admin", "G3", &[]).ok();
    let d = out.decision();
    assert_eq!(d["result"], "pass", "{d:#}");
    assert!(violations(&d).is_empty(), "{d:#}");
    decisions.push(out.recorded_index());
    decisions
}

#[test]
fn g3_blocks_naming_missing_controls_then_passes_with_evidence_and_approval() {
    let w = World::new();
    let decisions = g3_story(&w);
    assert_eq!(decisions.len(), 4);
    let text = w.check_text("G3").ok();
    assert!(
        text.stdout.contains("G3 sales@1.0.0  PASS"),
        "{}",
        text.stdout
    );
}

#[test]
fn g3_stays_blocked_while_an_author_approves_her_own_release() {
    let w = World::new();
    w.release();
    let crq = w.crq();
    w.transition(&crq, "assess");
    w.transition(&crq, "authorize");
    w.record_g3_evidence();
    // alice authored the commit and holds the release-approver role.
    w.approve("alice", &crq, "qa").ok();
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    assert_eq!(controls(&d), set(&["C-02"]), "{d:#}");
    violation(&d, "C-02", "author-approves");
    // A second, independent approval does not wash hers out.
    w.approve("bob", &crq, "qa").ok();
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    violation(&d, "C-02", "author-approves");
}

// ---------------------------------------------------------------------------
// 4. Replay
// ---------------------------------------------------------------------------

#[track_caller]
fn replays_identically(w: &World, index: u64, pack: Option<&Path>) {
    let text = w.replay(index, pack, false).ok();
    assert!(
        text.stdout.contains("replays byte for byte"),
        "{}",
        text.stdout
    );
    let doc = w.replay(index, pack, true).ok().json();
    assert_eq!(doc["identical"], true, "{doc:#}");
    assert_eq!(doc["differences"], serde_json::json!([]), "{doc:#}");
    assert_eq!(doc["recorded"], doc["recomputed"], "{doc:#}");
}

#[test]
fn every_decision_replays_byte_for_byte_even_after_more_entries() {
    let w = World::new();
    let decisions = g3_story(&w);
    for &index in &decisions {
        replays_identically(&w, index, None);
    }
    // More entries after the first decision (evidence, an approval, a mode,
    // other decisions), and then some: it still replays as it was made.
    let later = w.record("C-09", Some("T8"), "alert-test", "pass", "prod");
    w.check("admin", "G2", &[]).ok();
    w.set_mode("admin", "G3", "observe").ok();
    replays_identically(&w, decisions[0], None);

    // A non-decision entry, and an index past the log.
    let evidence_index = later["recorded"]["index"].as_u64().expect("index");
    w.replay(evidence_index, None, false)
        .fails(2, &["is a evidence entry, not a decision"]);
    w.replay(10_000, None, false).fails(2, &["10000"]);
}

#[test]
fn replay_with_a_different_pack_is_refused_naming_the_digests() {
    let w = World::new();
    w.release();
    w.crq();
    let out = w.check("admin", "G2", &[]).ok();
    let index = out.recorded_index();
    let builtin = out.decision()["pack"]["digest"]
        .as_str()
        .expect("pack digest")
        .to_owned();

    // The same bytes in another directory: the digest is the content's.
    let copy = w.pack_copy("same-pack");
    replays_identically(&w, index, Some(&copy));

    // One byte of one Rego comment changed.
    let changed = w.pack_copy("changed-pack");
    let lib = changed.join("lib.rego");
    let text = std::fs::read_to_string(&lib).expect("read lib.rego");
    assert!(
        text.starts_with("# Shared rules"),
        "lib.rego starts with a comment"
    );
    std::fs::write(&lib, text.replacen("# Shared", "# shared", 1)).expect("write lib.rego");
    w.replay(index, Some(&changed), false)
        .refused(&[&builtin, "replay needs the same pack"]);

    // A decision made with the organisation's pack replays with it only.
    let out = w
        .check(
            "admin",
            "G2",
            &["--pack", changed.to_str().expect("utf-8 path")],
        )
        .ok();
    let theirs = out.decision()["pack"]["digest"]
        .as_str()
        .expect("pack digest")
        .to_owned();
    assert_ne!(
        theirs, builtin,
        "changing a comment changes the pack digest"
    );
    let index = out.recorded_index();
    replays_identically(&w, index, Some(&changed));
    w.replay(index, None, false)
        .refused(&[&theirs, &builtin, "replay needs the same pack"]);
}

// ---------------------------------------------------------------------------
// 5. --stable-json
// ---------------------------------------------------------------------------

/// The clock every command of the `--stable-json` tests runs at: the time
/// is an input of a decision (change windows, override deadlines), so the
/// same inputs include the same time.
const PINNED: &str = "2026-11-20T10:00:00Z";

/// The same commands on a fresh world; returns the `--stable-json` stdout
/// of a blocking G3 (one failing result, so its violations name ledger
/// entries) and a passing G2 check.
fn stable_outputs(w: &World) -> Vec<String> {
    w.release();
    w.crq();
    w.record("C-05", Some("T4"), "rbac-export", "pass", "dev");
    let failed = w.record("C-06", Some("T3"), "dq-report", "fail", "dev");
    let check = |gate: &str| {
        w.act("admin")
            .args(["--stable-json", "gate", "check", gate, "--release", RELEASE])
            .run()
    };
    let g3 = check("G3").fails(1, &[]);
    // The failing result is named by its entry id (the view's ledger index,
    // turned into the id by the decision).
    let d = g3.json();
    let v = violation(&d["decision"], "C-06", "latest T3 (data quality) result");
    assert_eq!(
        v["entries"],
        serde_json::json!([failed["recorded"]["id"]]),
        "{failed:#}"
    );
    let g2 = check("G2").ok();
    // A second run on the same store, after two more decisions were
    // recorded, prints the same bytes.
    let again = check("G3").fails(1, &[]);
    assert_eq!(g3.stdout, again.stdout, "two runs on one store differ");
    vec![g3.stdout, g2.stdout]
}

#[test]
fn stable_json_is_byte_identical_across_runs_and_fresh_stores() {
    let (a, b) = (World::pinned(PINNED), World::pinned(PINNED));
    let (xs, ys) = (stable_outputs(&a), stable_outputs(&b));
    for (x, y) in xs.iter().zip(&ys) {
        // Canonical JSON (RFC 8785) on one line.
        let value: Value = serde_json::from_str(x).expect("stable JSON");
        let canonical = asom_ledger::jcs::canonicalize(&value).expect("canonicalize");
        assert_eq!(
            x.trim_end_matches('\n').as_bytes(),
            canonical.as_slice(),
            "--stable-json is not canonical:\n{x}"
        );
        assert_eq!(x.matches('\n').count(), 1, "one line: {x}");
        assert_eq!(x, y, "two fresh stores given the same inputs differ");
        // Positions in the ledger are left out; the outcome is all there.
        let d = &value["decision"];
        for gone in ["log_size", "log_root"] {
            assert!(d.get(gone).is_none(), "{gone} in {x}");
        }
        assert!(value.get("recorded").is_none(), "{x}");
        assert_eq!(d["at"], "2026-11-20T10:00:00.000Z");
    }
    let g3: Value = serde_json::from_str(&xs[0]).expect("json");
    assert_eq!(g3["decision"]["result"], "block");
    let failing = violation(&g3["decision"], "C-06", "latest T3 (data quality) result");
    assert_eq!(
        failing["entries"].as_array().map(Vec::len),
        Some(1),
        "{g3:#}"
    );
    let g2: Value = serde_json::from_str(&xs[1]).expect("json");
    assert_eq!(g2["decision"]["result"], "pass");

    // Without --stable-json the same check says where it landed.
    let full = a
        .act("admin")
        .args([
            "--format",
            "json",
            "gate",
            "check",
            "G2",
            "--release",
            RELEASE,
        ])
        .run()
        .ok()
        .json();
    assert!(full["decision"]["log_size"].is_u64(), "{full:#}");
    assert!(full["recorded"]["index"].is_u64(), "{full:#}");
}

// ---------------------------------------------------------------------------
// 6. A broken pack
// ---------------------------------------------------------------------------

/// A broken copy of the default pack, and what the error must say.
fn broken_packs(w: &World) -> Vec<(PathBuf, &'static str)> {
    let append = |name: &str, file: &str, text: &str| {
        let dir = w.pack_copy(name);
        let path = dir.join(file);
        let mut body = std::fs::read_to_string(&path).expect("read rego");
        body.push_str(text);
        std::fs::write(&path, body).expect("write rego");
        dir
    };
    let syntax = append("syntax", "g3.rego", "\npackage broken {\n");
    let no_manifest = w.pack_copy("no-manifest");
    std::fs::remove_file(no_manifest.join("pack.json")).expect("remove pack.json");
    let bad_manifest = w.pack_copy("bad-manifest");
    std::fs::write(bad_manifest.join("pack.json"), "{").expect("write pack.json");
    let no_g3 = w.pack_copy("no-g3");
    for file in ["g3.rego", "g3_test.rego"] {
        std::fs::remove_file(no_g3.join(file)).expect("remove g3");
    }
    let permissive = w.pack_copy("permissive");
    std::fs::write(
        permissive.join("g3.rego"),
        "package asom.gates.g3\n\nimport rego.v1\n\nviolations := set()\n",
    )
    .expect("write g3.rego");
    std::fs::remove_file(permissive.join("g3_test.rego")).expect("remove g3 test");
    // Errors that only the real input triggers (not the pack's load checks).
    let runtime = append(
        "runtime",
        "g3.rego",
        "\nviolations contains v if {\n\tinput.release.id == \"sales@1.0.0\"\n\tv := 1 / 0\n}\n",
    );
    let malformed = append(
        "malformed",
        "g3.rego",
        "\nviolations contains v if {\n\tinput.release.id == \"sales@1.0.0\"\n\tv := \"not a violation\"\n}\n",
    );
    vec![
        (syntax, "does not compile"),
        (no_manifest, "no pack.json"),
        (bad_manifest, "pack.json"),
        (no_g3, "no rule for G3"),
        (permissive, "must block when facts are missing"),
        (runtime, "the policy pack failed, so nothing passes"),
        (malformed, "malformed violation"),
        (w.tmp.path().join("no-such-pack"), "cannot read policy pack"),
    ]
}

#[test]
fn a_broken_pack_is_an_input_error_and_writes_no_decision() {
    let w = World::new();
    w.release();
    let crq = w.crq();
    w.transition(&crq, "assess");
    w.transition(&crq, "authorize");
    w.record_g3_evidence();
    w.approve("bob", &crq, "qa").ok();
    // With the built-in pack this state passes: a broken pack must not.
    let index = w.check("admin", "G3", &[]).ok().recorded_index();
    let packs = broken_packs(&w);
    let size = w.size();

    for (pack, says) in &packs {
        let dir = pack.to_str().expect("utf-8 path");
        w.check("admin", "G3", &["--pack", dir]).fails(2, &[says]);
        // A pack that loads but differs is refused by its digest (exit 1)
        // before it is evaluated; one that does not load is an input error.
        let replay = w.replay(index, Some(pack), false).refused(&[]);
        assert!(
            replay.stderr.contains(says) || replay.stderr.contains("replay needs the same pack"),
            "{}",
            replay.stderr
        );
    }
    // The pack from the environment is held to the same rules.
    w.act("admin")
        .env("ASOM_POLICY_PACK", &packs[0].0)
        .args(["gate", "check", "G3", "--release", RELEASE])
        .run()
        .fails(2, &["does not compile"]);
    w.assert_unchanged(size);
}

// ---------------------------------------------------------------------------
// 7. G4
// ---------------------------------------------------------------------------

#[test]
fn g4_names_everything_that_blocks_prod() {
    let w = World::new();
    w.release();
    let crq = w.crq();
    w.transition(&crq, "assess");
    w.transition(&crq, "authorize");
    w.record_g3_evidence();
    w.approve("bob", &crq, "qa").ok();

    let d = w
        .check("admin", "G4", &[])
        .fails(1, &["G4 blocks"])
        .decision();
    remedies(
        violation(&d, "C-01", "G3 (promote to QA) has not passed"),
        &["asom gate check G3 --release sales@1.0.0"],
    );
    remedies(
        violation(&d, "C-01", "not approved for PROD"),
        &[&format!("asom crq approve {crq} --stage prod")],
    );
    remedies(
        violation(&d, "C-02", "governance has not verified"),
        &["asom release verify sales@1.0.0"],
    );
    remedies(
        violation(
            &d,
            "C-09",
            "observability & alerting) has no passing evidence",
        ),
        &["--control C-09 --category T8"],
    );
    violation(&d, "C-01", "change window");
    // G3-only controls are not G4's business; C-10 only when material.
    let named = controls(&d);
    for control in ["C-06", "C-08", "C-10"] {
        assert!(!named.contains(control), "G4 names {control}: {d:#}");
    }

    w.check("admin", "G3", &[]).ok();
    let d = w.check("admin", "G4", &[]).fails(1, &[]).decision();
    assert!(
        !violations(&d)
            .iter()
            .any(|v| v["reason"].as_str().unwrap_or("").contains("G3")),
        "G3 passed, G4 should no longer name it: {d:#}"
    );

    // Only a governance human verifies.
    let size = w.size();
    for (who, says) in [
        ("bob", "human 'bob' may not verify evidence"),
        ("dev-bot", "agent 'dev-bot' may not verify evidence"),
    ] {
        w.act(who)
            .args(["release", "verify", RELEASE])
            .run()
            .fails(1, &[says]);
    }
    w.assert_unchanged(size);

    w.approve("bob", &crq, "prod").ok();
    w.act("gina")
        .args(["release", "verify", RELEASE])
        .run()
        .ok();
    w.record("C-09", Some("T8"), "alert-test", "pass", "prod");
    w.record("C-05", Some("T4"), "rbac-export", "pass", "prod");
    // All that is left is the CRQ's change window, which nobody set.
    let d = w.check("admin", "G4", &[]).fails(1, &[]).decision();
    assert_eq!(violations(&d).len(), 1, "{d:#}");
    violation(&d, "C-01", "change window");

    // The verifier must not have produced evidence: make ci-bot gina's alias.
    w.act("admin")
        .args(["identity", "alias", "ci-bot", "--person", "gina"])
        .run()
        .ok();
    let d = w.check("admin", "G4", &[]).fails(1, &[]).decision();
    violation(&d, "C-02", "verifier-produced-evidence");
}

// ---------------------------------------------------------------------------
// 8. Agents
// ---------------------------------------------------------------------------

#[test]
fn an_agent_may_ask_for_a_gate_check_but_never_set_a_mode() {
    let w = World::new();
    w.release();
    w.crq();

    // Asking is read-only analysis: allowed, and recorded as the agent's.
    let out = w.check("dev-bot", "G2", &[]).ok();
    let d = out.decision();
    assert_eq!(d["asked_by"], "dev-bot");
    assert_eq!(d["result"], "pass");
    let index = out.recorded_index();
    let entry = w.ledger_get(index);
    assert_eq!(entry["kind"], "decision");
    assert_eq!(entry["entry"]["appended_by"], "dev-bot", "{entry:#}");
    assert_eq!(
        entry["entry"]["content"]["asked_by"], "dev-bot",
        "{entry:#}"
    );
    replays_identically(&w, index, None);

    // A blocking gate blocks for the agent as for anyone.
    let d = w.check("dev-bot", "G3", &[]).fails(1, &[]).decision();
    assert_eq!(
        (&d["asked_by"], &d["result"]),
        (&"dev-bot".into(), &"block".into())
    );

    // Setting a mode is authoritative: refused, nothing written, still enforced.
    let size = w.size();
    w.set_mode("dev-bot", "G3", "observe")
        .fails(1, &["agent 'dev-bot' may not", "F-03"]);
    w.assert_unchanged(size);
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    assert_eq!(d["mode"], "enforce");
}

// ---------------------------------------------------------------------------
// Found while writing these tests
// ---------------------------------------------------------------------------

#[test]
fn g1_passes_once_the_story_has_acceptance_criteria() {
    let w = World::new();
    w.release();
    let commit = sha('a');
    for t in ["T1", "T2"] {
        w.record("C-03", Some(t), "junit", "pass", "dev");
    }
    let story = |who: &str, criteria: &[&str]| {
        let mut run = w
            .act(who)
            .args(["story", "record", "ORD-1", "--summary", "orders DQ rule"]);
        for c in criteria {
            run = run.args(["--acceptance-criterion", c]);
        }
        run.run()
    };
    // No story, then a story without criteria: G1 blocks on ORD-1.
    let d = w
        .check("admin", "G1", &["--commit", &commit])
        .fails(1, &[])
        .decision();
    remedies(
        violation(&d, "C-03", "ORD-1 has no acceptance criteria"),
        &["write the acceptance criteria of ORD-1"],
    );
    story("admin", &[]).ok();
    w.check("admin", "G1", &["--commit", &commit]).fails(1, &[]);
    // An agent can never write them (F-02): refused, nothing written.
    let size = w.size();
    story("dev-bot", &["anything goes"]).refused(&["agent 'dev-bot' may not record stories"]);
    w.assert_unchanged(size);
    story("admin", &["orders with a negative total are rejected"]).ok();
    let out = w.check("admin", "G1", &["--commit", &commit]).ok();
    assert_eq!(out.decision()["result"], "pass", "{:#}", out.decision());
    replays_identically(&w, out.recorded_index(), None);
}

#[test]
fn g1_judges_the_checked_commits_own_tests() {
    let w = World::new();
    w.release();
    for t in ["T1", "T2"] {
        w.record("C-03", Some(t), "junit", "pass", "dev");
    }
    let other = sha('b');
    w.act("admin")
        .args(["change", "record", "--product", PRODUCT, "--commit", &other])
        .args(["--author", "alice", "--jira", "ORD-2"])
        .run()
        .ok();
    w.act("admin")
        .args([
            "release", "scope", RELEASE, "--jira", "ORD-2", "--commit", &other,
        ])
        .run()
        .ok();
    let d = w
        .check("admin", "G1", &["--commit", &other])
        .fails(1, &[])
        .decision();
    for t in ["T1 (unit/logic)", "T2 (contract/schema)"] {
        violation(
            &d,
            "C-03",
            &format!("needs a passing {t} result for commit {other}"),
        );
    }
}

#[test]
fn sod_violations_carry_their_own_remediation() {
    let w = World::new();
    w.release();
    w.crq();
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    remedies(
        violation(&d, "C-02", "approver-set-empty"),
        &["a release approver must approve the CRQ for QA"],
    );
}

#[test]
fn g4_needs_access_control_evidence_for_prod() {
    let w = World::new();
    w.release();
    let crq = w.crq();
    w.transition(&crq, "assess");
    w.transition(&crq, "authorize");
    w.record_g3_evidence(); // C-05/T4 in dev only
    w.approve("bob", &crq, "qa").ok();
    w.check("admin", "G3", &[]).ok();
    let d = w.check("admin", "G4", &[]).fails(1, &[]).decision();
    remedies(
        violation(&d, "C-05", "not proven for PROD"),
        &["--control C-05 --category T4", "--environment prod"],
    );
    // Evidence from `prod` proves it for PROD; G4 no longer names C-05.
    w.record("C-05", Some("T4"), "rbac-export", "pass", "prod");
    let d = w.check("admin", "G4", &[]).fails(1, &[]).decision();
    assert!(!controls(&d).contains("C-05"), "{d:#}");
}

#[test]
fn gate_check_speaks_markdown() {
    let w = World::new();
    w.release();
    let markdown = |gate: &str| {
        w.act("admin")
            .args([
                "--format",
                "markdown",
                "gate",
                "check",
                gate,
                "--release",
                RELEASE,
            ])
            .run()
    };
    let out = markdown("G2").fails(1, &["G2 blocks"]);
    for fragment in [
        "### G2 (release candidate) for `sales@1.0.0`: **BLOCK**",
        "| control | why | how to fix |",
        "| C-01 |",
        "asom crq create --release sales@1.0.0",
        "Replay: `asom gate replay",
    ] {
        assert!(
            out.stdout.contains(fragment),
            "{fragment:?} in:\n{}",
            out.stdout
        );
    }
    w.crq();
    let out = markdown("G2").ok();
    assert!(out.stdout.contains("**PASS**"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Every requirement of G2 holds."),
        "{}",
        out.stdout
    );
    // Commands without a Markdown form say so (exit 2).
    w.act("admin")
        .args(["--format", "markdown", "release", "list"])
        .run()
        .fails(2, &["--format markdown is available for"]);
}

// ---------------------------------------------------------------------------
// 9. C-11 emergency overrides
// ---------------------------------------------------------------------------

impl World {
    /// Creates the release's CRQ as an emergency change; returns its number.
    fn emergency_crq(&self) -> String {
        self.act("admin")
            .args(["--format", "json", "crq", "create", "--release", RELEASE])
            .args(["--type", "emergency"])
            .run()
            .ok()
            .json()["crq"]["number"]
            .as_str()
            .expect("crq create prints the CRQ number")
            .to_owned()
    }

    /// `override request` for `gate` deferring `controls`, as `who`.
    fn request_override(&self, who: &str, gate: &str, crq: &str, controls: &str) -> Output {
        self.act(who)
            .args([
                "--format",
                "json",
                "override",
                "request",
                "--release",
                RELEASE,
            ])
            .args(["--gate", gate, "--crq", crq, "--defer", controls])
            .args([
                "--justification",
                "card data leaks in PROD; the fix cannot wait",
            ])
            .args([
                "--compensating",
                "manual review of the row policy by the DBA",
            ])
            .run()
    }

    /// A G3-ready release on an emergency CRQ with everything but C-05, QA-approved by bob.
    fn emergency_release_missing_c05(&self) -> String {
        self.release();
        let crq = self.emergency_crq();
        // An emergency change skips assessment.
        self.transition(&crq, "authorize");
        for (control, category, source_type) in G3_EVIDENCE {
            if control != "C-05" {
                self.record(control, category, source_type, "pass", "dev");
            }
        }
        self.approve("bob", &crq, "qa").ok();
        crq
    }
}

fn override_id(out: &Output) -> String {
    out.json()["override"]["id"]
        .as_str()
        .expect("override id")
        .to_owned()
}

#[test]
fn overrides_are_refused_for_g1_and_g2_for_agents_and_without_an_emergency_crq() {
    let w = World::new();
    w.release();
    let crq = w.crq();
    let size = w.size();
    for gate in ["G1", "G2"] {
        w.request_override("alice", gate, &crq, "C-03")
            .fails(1, &[&format!("{gate} can never be overridden")]);
    }
    w.request_override("alice", "G3", &crq, "C-05")
        .fails(1, &["normal change", "only an emergency CRQ"]);
    w.request_override("dev-bot", "G3", &crq, "C-05")
        .fails(1, &["agent 'dev-bot' may not request emergency overrides"]);
    w.request_override("alice", "G3", "CRQ0000099", "C-05")
        .fails(1, &["is not release sales@1.0.0's CRQ"]);
    w.assert_unchanged(size);
}

#[test]
#[allow(clippy::too_many_lines)] // One override's life, told in order.
fn an_approved_override_turns_a_block_into_override_until_its_deadline() {
    let w = World::new();
    let crq = w.emergency_release_missing_c05();
    w.check("admin", "G3", &[]).fails(1, &["G3 blocks"]);

    // Separation of duties and the override protocol itself can never be deferred.
    for control in ["C-02", "C-11"] {
        w.request_override("alice", "G3", &crq, control)
            .fails(1, &["can never be deferred"]);
    }
    let out = w.request_override("alice", "G3", &crq, "C-05").ok();
    let id = override_id(&out);
    assert_eq!(
        out.json()["override"]["deferred"],
        serde_json::json!(["C-05"])
    );

    // Requested is not approved: still a block, and the report says what waits.
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    assert_eq!(d["result"], "block");
    assert!(
        d["notices"][0]
            .as_str()
            .unwrap_or("")
            .contains("waits for an emergency approver"),
        "{d:#}"
    );

    // Who may approve: not the requester's kind of role, not an approver of the CRQ.
    let size = w.size();
    w.act("alice")
        .args(["override", "approve", &id])
        .run()
        .fails(1, &["human 'alice' may not approve emergency overrides"]);
    w.approve("rita", &crq, "qa").ok();
    let size_after_rita = w.size();
    assert_eq!(size_after_rita, size + 1);
    w.act("rita")
        .args(["override", "approve", &id[..10]])
        .run()
        .fails(
            1,
            &[
                "rita is a release approver of CRQ",
                "must not be the release approver",
            ],
        );
    w.assert_unchanged(size_after_rita);
    w.act("erin")
        .args(["override", "approve", &id[..10]])
        .run()
        .ok();
    w.act("erin")
        .args(["override", "approve", &id])
        .run()
        .fails(1, &["already approved"]);

    // G3 now decides `override` (exit 0) and says the evidence is due.
    let out = w.check("admin", "G3", &[]).ok();
    let d = out.decision();
    assert_eq!(d["result"], "override", "{d:#}");
    assert_eq!(controls(&d), BTreeSet::from(["C-05".to_owned()]), "{d:#}");
    assert!(
        d["notices"][0]
            .as_str()
            .unwrap_or("")
            .contains("is open: C-05 deferred until"),
        "{d:#}"
    );
    replays_identically(&w, out.recorded_index(), None);
    let text = w.check_text("G3").ok();
    assert!(text.stdout.contains("OVERRIDE"), "{}", text.stdout);

    // Past the deadline it blocks again, naming the override.
    let late = w
        .act("admin")
        .env("ASOM_NOW", "2099-01-01T00:00:00Z")
        .args([
            "--format",
            "json",
            "gate",
            "check",
            "G3",
            "--release",
            RELEASE,
        ])
        .run()
        .fails(1, &["G3 blocks"]);
    let d = late.decision();
    assert_eq!(d["result"], "block");
    let expired = violation(&d, "C-11", "passed its remediation deadline");
    assert_eq!(expired["entries"], serde_json::json!([id]));
    remedies(expired, &["asom override remediate"]);

    // Remediation needs the deferred evidence.
    let size = w.size();
    w.act("alice")
        .args(["override", "remediate", &id])
        .run()
        .fails(1, &["cannot be closed yet", "C-05: no passing evidence"]);
    w.assert_unchanged(size);
    w.record("C-05", Some("T4"), "rbac-export", "pass", "dev");
    w.act("alice")
        .args(["override", "remediate", &id])
        .run()
        .ok();
    let list = w
        .act("admin")
        .args(["--format", "json", "override", "list", "--release", RELEASE])
        .run()
        .ok()
        .json();
    assert_eq!(list["overrides"][0]["status"], "remediated", "{list:#}");
    // Closed: G3 passes on its evidence, at any time.
    let d = w
        .act("admin")
        .env("ASOM_NOW", "2099-01-01T00:00:00Z")
        .args([
            "--format",
            "json",
            "gate",
            "check",
            "G3",
            "--release",
            RELEASE,
        ])
        .run()
        .ok()
        .decision();
    assert_eq!(d["result"], "pass", "{d:#}");
}

#[test]
fn an_override_never_covers_separation_of_duties() {
    let w = World::new();
    let crq = w.emergency_release_missing_c05();
    // Alice wrote the code and approves her own release: C-02.
    w.approve("alice", &crq, "qa").ok();
    let id = override_id(&w.request_override("bob", "G3", &crq, "C-05").ok());
    w.act("erin").args(["override", "approve", &id]).run().ok();
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    assert_eq!(d["result"], "block", "{d:#}");
    violation(&d, "C-02", "author-approves");
}

#[test]
fn more_than_two_overrides_a_quarter_flag_a_review() {
    let w = World::pinned("2026-11-20T10:00:00Z");
    let crq = w.emergency_release_missing_c05();
    for (n, control) in ["C-05", "C-06", "C-07"].iter().enumerate() {
        let id = override_id(&w.request_override("alice", "G3", &crq, control).ok());
        let approved = w.act("erin").args(["override", "approve", &id]).run().ok();
        let d = w.check("admin", "G3", &[]).ok().decision();
        let flagged = d["notices"].as_array().is_some_and(|ns| {
            ns.iter()
                .any(|n| n.as_str().unwrap_or("").contains("review flag"))
        });
        assert_eq!(flagged, n == 2, "after {} overrides: {d:#}", n + 1);
        drop(approved);
    }
    let list = w.act("admin").args(["override", "list"]).run().ok();
    assert!(
        list.stdout.contains(
            "team data-eng: 3 approved override(s) in 2026-Q4 (more than 2: REVIEW FLAGGED)"
        ),
        "{}",
        list.stdout
    );
    // The default deadline is five business days: Friday 20th -> Friday 27th.
    let json = w
        .act("admin")
        .args(["--format", "json", "override", "list"])
        .run()
        .ok()
        .json();
    assert_eq!(
        json["overrides"][0]["override"]["deadline"], "2026-11-27T10:00:00.000Z",
        "{json:#}"
    );
}

// ---------------------------------------------------------------------------
// 10. N/A exceptions
// ---------------------------------------------------------------------------

#[test]
fn an_approved_na_exception_waives_an_evidence_control_and_is_reported() {
    let w = World::new();
    w.release();
    w.crq();
    let request = |who: &str, control: &str| {
        w.act(who)
            .args([
                "--format",
                "json",
                "exception",
                "request",
                "--release",
                RELEASE,
            ])
            .args([
                "--control",
                control,
                "--justification",
                "no access paths change",
            ])
            .run()
    };
    let size = w.size();
    for control in ["C-01", "C-02", "C-11"] {
        request("alice", control).fails(1, &["can never be marked N/A"]);
    }
    request("dev-bot", "C-05").fails(1, &["agent 'dev-bot' may not request control exceptions"]);
    w.assert_unchanged(size);

    let id = request("alice", "C-05").ok().json()["exception"]["id"]
        .as_str()
        .expect("exception id")
        .to_owned();
    // Requested only: G3 still names C-05.
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    assert!(controls(&d).contains("C-05"), "{d:#}");
    w.act("bob")
        .args(["exception", "approve", &id])
        .run()
        .fails(1, &["human 'bob' may not grant control exceptions"]);
    w.act("gina")
        .args(["exception", "approve", &id[..12]])
        .run()
        .ok();
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    assert!(!controls(&d).contains("C-05"), "{d:#}");
    assert!(
        d["notices"].as_array().is_some_and(|ns| ns.iter().any(|n| n
            .as_str()
            .unwrap_or("")
            .starts_with("C-05 is N/A for this release"))),
        "{d:#}"
    );
    request("alice", "C-05").fails(1, &["already N/A"]);
    let list = w.act("admin").args(["exception", "list"]).run().ok();
    assert!(
        list.stdout
            .contains("1 approved N/A exception(s) (C-05: 1)"),
        "{}",
        list.stdout
    );
}

#[test]
fn nobody_approves_their_own_na_request() {
    let w = World::new();
    w.release();
    let id = w
        .act("gina")
        .args([
            "--format",
            "json",
            "exception",
            "request",
            "--release",
            RELEASE,
        ])
        .args([
            "--control",
            "C-09",
            "--justification",
            "no alerting in this pipeline",
        ])
        .run()
        .ok()
        .json()["exception"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    w.act("gina")
        .args(["exception", "approve", &id])
        .run()
        .fails(1, &["gina requested exception", "cannot approve it too"]);
}

// ---------------------------------------------------------------------------
// 11. Promotion
// ---------------------------------------------------------------------------

impl World {
    fn promote(&self, who: &str, to: &str) -> Output {
        self.act(who)
            .args([
                "--format",
                "json",
                "promote",
                "--release",
                RELEASE,
                "--to",
                to,
            ])
            .run()
    }
}

#[test]
fn promotion_needs_a_machine_and_a_passing_gate_in_enforce_mode() {
    let w = World::new();
    w.release();
    let crq = w.crq();
    w.record_g3_evidence();

    // People and agents never deploy.
    let size = w.size();
    for (who, says) in [
        ("bob", "human 'bob' may not promote releases"),
        ("dev-bot", "agent 'dev-bot' may not promote releases"),
    ] {
        w.promote(who, "QA").fails(1, &[says]);
    }
    w.promote("cd-bot", "STAGING")
        .fails(2, &["promote to QA (checks G3) or PROD"]);
    w.assert_unchanged(size);

    // A blocking G3: the decision is recorded, the promotion is not.
    let out = w
        .promote("cd-bot", "QA")
        .fails(1, &["G3 blocks the promotion"]);
    let doc = out.json();
    assert_eq!(doc["decision"]["result"], "block");
    assert_eq!(doc["decision"]["deployer"], "cd-bot");
    assert_eq!(doc["promotion"]["promoted"], false);
    assert_eq!(w.size(), size + 1, "only the decision was written");
    replays_identically(&w, out.recorded_index(), None);

    // Observe mode authorises nothing.
    w.set_mode("admin", "G3", "observe").ok();
    let size = w.size();
    w.promote("cd-bot", "QA")
        .fails(1, &["G3 is in observe mode", "authorises no promotion"]);
    w.assert_unchanged(size);
    w.set_mode("admin", "G3", "enforce").ok();

    w.transition(&crq, "assess");
    w.transition(&crq, "authorize");
    w.approve("bob", &crq, "qa").ok();
    let out = w.promote("cd-bot", "QA").ok();
    let doc = out.json();
    assert_eq!(doc["decision"]["result"], "pass", "{doc:#}");
    assert_eq!(doc["promotion"]["promoted"], true);
    let entry = w.ledger_get(
        doc["promotion"]["recorded"]["index"]
            .as_u64()
            .expect("index"),
    );
    assert_eq!(entry["kind"], "promotion");
    assert_eq!(entry["entry"]["content"]["environment"], "QA");
    assert_eq!(entry["entry"]["content"]["deployer"], "cd-bot");
    replays_identically(&w, out.recorded_index(), None);

    // An approver never deploys: the deploy machine mapped to bob is bob.
    w.act("admin")
        .args(["identity", "alias", "cd-bot", "--person", "bob"])
        .run()
        .ok();
    let d = w.promote("cd-bot", "QA").fails(1, &[]).decision();
    violation(&d, "C-02", "approver-deploys");
}

#[test]
fn remediations_name_the_release_head_commit_not_the_largest_sha() {
    let w = World::new();
    w.release(); // commit aaaa…
    let head = sha('1'); // recorded later, sorts first
    w.act("admin")
        .args(["change", "record", "--product", PRODUCT, "--commit", &head])
        .args(["--author", "alice", "--jira", "ORD-1"])
        .run()
        .ok();
    w.act("admin")
        .args(["release", "scope", RELEASE, "--commit", &head])
        .run()
        .ok();
    w.crq();
    let d = w.check("admin", "G3", &[]).fails(1, &[]).decision();
    remedies(
        violation(&d, "C-06", "needs passing T3"),
        &[&format!("--commit {head}")],
    );
}

// ---------------------------------------------------------------------------
// 12. The demo (the README's quickstart)
// ---------------------------------------------------------------------------

#[test]
fn the_demo_blocks_then_passes_reaches_prod_and_replays_every_decision() {
    let tmp = TempDir::new().expect("temp dir");
    let at = tmp.path().join("demo");
    let out = support::asom(tmp.path(), &tmp.path().join("unused"))
        .args(["demo", "--at"])
        .arg(&at)
        .run()
        .ok();
    let text = &out.stdout;
    let find = |what: &str| {
        text.find(what)
            .unwrap_or_else(|| panic!("{what:?} not in the demo's output:\n{text}"))
    };
    // In this order: G1 and G2 pass, G3 blocks naming C-05/T4, C-06/T3 and the
    // QA approval, then passes; QA, then G4, then PROD.
    let g1 = find("G1 sales-transactions@1.4.0  PASS");
    let g2 = find("G2 sales-transactions@1.4.0  PASS");
    let block = find("G3 sales-transactions@1.4.0  BLOCK");
    for reason in [
        "C-05 (access control & least privilege) has no passing evidence",
        "T4 (access/security)",
        "C-06 (data quality) needs passing T3 (data quality) results",
        "is not approved for QA yet",
    ] {
        assert!(find(reason) > block, "{reason}");
    }
    let pass = find("G3 sales-transactions@1.4.0  PASS");
    let qa = find("PROMOTED sales-transactions@1.4.0 to QA");
    let g4 = find("G4 sales-transactions@1.4.0  PASS");
    let prod = find("PROMOTED sales-transactions@1.4.0 to PROD");
    assert!(g1 < g2 && g2 < block && block < pass && pass < qa && qa < g4 && g4 < prod);
    // Every decision it made replays byte for byte, and it says which.
    let table = &text[find("  entry  gate  result")..];
    let decisions = table
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .count();
    let replayed = text
        .lines()
        .filter(|l| l.trim_start().starts_with("decision ") && l.contains("replays byte for byte"))
        .count();
    assert_eq!(
        decisions, 9,
        "G1 x3, G2, G3 x3 (one by promote), G4 x2:\n{table}"
    );
    assert_eq!(replayed, decisions, "{text}");
    assert!(!text.contains("does NOT replay"), "{text}");
    // It ends with the checkpoint and the verifier key.
    assert!(find("verified:") < find("verifier key: "));
    // --at keeps what it made; a second run there is refused (exit 2).
    assert!(at.join(".asom").join("asom.db").is_file());
    support::asom(tmp.path(), &tmp.path().join("unused"))
        .args(["demo", "--at"])
        .arg(&at)
        .run()
        .fails(2, &["already exists"]);
}
