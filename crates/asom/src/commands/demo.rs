//! `asom demo`: the worked reference example of the ASOM playbook, end to
//! end, on a fresh embedded store.
//!
//! It runs this very binary once per step, exactly as a person or CI would
//! (`asom gate check G3 …` with the acting principal's token in
//! `ASOM_TOKEN`), prints each command and what it answered, and explains in
//! between what asom just did. Every step states the exit code it expects;
//! a step that answers otherwise stops the demo with exit 1, so the demo is
//! also an end-to-end test (CI runs it).
//!
//! The story: a sales-transactions MERGE pipeline, an epic with two stories,
//! one CRQ. G1 and G2 pass. The first G3 blocks, naming the missing
//! access-control (C-05, T4) and data-quality (C-06, T3) evidence and the
//! missing human QA approval, each with its fix. A new commit brings the T4
//! and T3 evidence, a release approver who wrote none of the code approves
//! for QA, G3 passes and the release is promoted to QA. G4 passes with a PROD
//! approval, the governance verification and the observability evidence,
//! and the release is promoted to PROD. Every decision replays byte for
//! byte; the demo ends with the decisions, the signed checkpoint and the key
//! that verifies it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, anyhow};
use serde_json::Value;

use crate::cli::DemoArgs;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

const PRODUCT: &str = "sales-transactions";
const RELEASE: &str = "sales-transactions@1.4.0";
const CRQ: &str = "CRQ0000001";
/// The first commit: the MERGE itself (SALES-101).
const MERGE_COMMIT: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
/// The second commit: late-arriving rows (SALES-102).
const LATE_ROWS_COMMIT: &str = "9c1185a5c5e9fc54612808977ee8f548b2258d31";
/// The remediation commit: row policy and DQ rules (SALES-101, SALES-102).
const FIX_COMMIT: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

pub fn run(args: &DemoArgs, printer: &Printer) -> CliResult {
    if printer.format() != crate::cli::Format::Text || printer.stable() {
        return Err(CliError::usage(anyhow!(
            "asom demo prints a walkthrough for people; it has no JSON or Markdown form"
        )));
    }
    let (root, temporary) = match &args.at {
        Some(dir) => {
            if dir.exists() {
                return Err(CliError::usage(anyhow!(
                    "{} already exists: the demo starts from nothing; give a new path",
                    dir.display()
                )));
            }
            (dir.clone(), false)
        }
        None => (temp_dir()?, !args.keep),
    };
    fs::create_dir_all(root.join("artifacts"))
        .with_context(|| format!("creating {}", root.display()))?;
    let mut demo = Demo {
        exe: std::env::current_exe().context("finding the asom binary")?,
        root: root.clone(),
        tokens: BTreeMap::new(),
        decisions: Vec::new(),
        out: String::new(),
        step: 0,
        via_server: args.via_server,
        server: None,
    };
    let result = demo.play();
    if let Some(server) = demo.server.take() {
        server.stop();
    }
    printer.text(&demo.out)?;
    if temporary {
        let _ = fs::remove_dir_all(&root);
    } else {
        crate::printer::note(&format!(
            "the demo's asom directory is kept: explore it with `asom --dir {} audit sales-transactions@1.4.0`; its principals' tokens are in {}",
            root.join(".asom").display(),
            root.join("tokens.env").display()
        ));
    }
    result
}

fn temp_dir() -> anyhow::Result<PathBuf> {
    let bytes = crate::context::random_bytes()?;
    Ok(std::env::temp_dir().join(format!("asom-demo-{}", &hex::encode(bytes)[..12])))
}

struct Demo {
    exe: PathBuf,
    root: PathBuf,
    tokens: BTreeMap<String, String>,
    /// Whether CI's commands go to `asom serve` (`--via-server`).
    via_server: bool,
    /// The server, once started.
    server: Option<Server>,
    /// (ledger index, gate, result) of every decision, in order.
    decisions: Vec<(u64, String, String)>,
    out: String,
    step: u32,
}

/// How much of a command's answer the walkthrough shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Show {
    All,
    FirstLine,
    Nothing,
}

/// `asom serve` on the demo's store, as a child process.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    /// Starts it on a free loopback port and waits until it listens.
    fn start(exe: &std::path::Path, root: &std::path::Path) -> CliResult<Self> {
        use std::io::BufRead as _;
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(root)
            .env("ASOM_DIR", ".asom")
            .env_remove("ASOM_NOW")
            .env_remove("ASOM_TENANT")
            .env_remove("ASOM_SERVER")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("starting asom serve")?;
        let stderr = child.stderr.take().context("asom serve's stderr")?;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("listening on ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned)
            })
            .ok_or_else(|| CliError::failed(anyhow!("asom serve did not start")))?;
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Ok(Self { child, url })
    }

    /// Stops it the way an operator does (SIGTERM: requests in flight finish).
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}

/// Every top-level command the demo runs.
const COMMANDS: [&str; 16] = [
    "init",
    "product",
    "principal",
    "token",
    "identity",
    "story",
    "release",
    "crq",
    "change",
    "evidence",
    "gate",
    "promote",
    "ledger",
    "audit",
    "export",
    "verify-bundle",
];

/// Whether `asom args…` is one of the commands CI sends to a server.
fn runs_on_server(args: &[&str]) -> bool {
    // From the subcommand on (global flags and their values come first).
    let words: Vec<&str> = args
        .iter()
        .copied()
        .skip_while(|a| !COMMANDS.contains(a))
        .filter(|a| !a.starts_with('-'))
        .collect();
    // Everything but creating the store, reading the log's files and the
    // offline bundle check, which need no server.
    !matches!(
        words.as_slice(),
        [] | ["init" | "ledger" | "verify-bundle", ..]
    )
}

impl Demo {
    fn say(&mut self, text: &str) {
        for line in text.lines() {
            let _ = writeln!(self.out, "{line}");
        }
    }

    fn section(&mut self, title: &str, explain: &str) {
        self.step += 1;
        let _ = writeln!(self.out, "\n== {}. {title}", self.step);
        for line in explain.lines() {
            let _ = writeln!(self.out, "   {line}");
        }
    }

    /// Runs `asom args…` as `who` and checks its exit code.
    fn asom(
        &mut self,
        who: Option<&str>,
        args: &[&str],
        expect: i32,
        show: Show,
    ) -> CliResult<String> {
        let mut command = Command::new(&self.exe);
        command
            .args(args)
            .current_dir(&self.root)
            .env("ASOM_DIR", ".asom")
            .env_remove("ASOM_TENANT")
            .env_remove("ASOM_POLICY_PACK")
            .env_remove("ASOM_NOW")
            .env_remove("ASOM_SERVER")
            .env("NO_COLOR", "1");
        let on_server = match &self.server {
            Some(server) if runs_on_server(args) => {
                command.env("ASOM_SERVER", &server.url);
                true
            }
            _ => false,
        };
        // Over HTTP even a read acts as someone: replays ask as CI.
        let who = if on_server && who.is_none() {
            Some("ci")
        } else {
            who
        };
        match who {
            Some(who) => {
                let token = self
                    .tokens
                    .get(who)
                    .ok_or_else(|| anyhow!("no token for {who}"))?;
                command.env("ASOM_TOKEN", token);
            }
            None => {
                command.env_remove("ASOM_TOKEN");
            }
        }
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') || a.is_empty() {
                    format!("{a:?}")
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        if show != Show::Nothing || expect != 0 {
            let mut by = who.map(|w| format!("   [as {w}]")).unwrap_or_default();
            if on_server {
                by.push_str(" [via asom serve]");
            }
            let _ = writeln!(self.out, "\n  $ asom {}{by}", shown.join(" "));
        }
        let output = command
            .output()
            .with_context(|| format!("running {}", self.exe.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let code = output.status.code().unwrap_or(-1);
        let lines: Vec<&str> = match show {
            Show::All => stdout.lines().collect(),
            Show::FirstLine => stdout.lines().take(1).collect(),
            Show::Nothing => Vec::new(),
        };
        for line in lines {
            let _ = writeln!(self.out, "    {line}");
        }
        if expect != 0 {
            for line in stderr.lines() {
                let _ = writeln!(self.out, "    {line}");
            }
            let _ = writeln!(self.out, "    (exit {code})");
        }
        if code != expect {
            let _ = writeln!(self.out, "{stderr}");
            return Err(CliError::failed(anyhow!(
                "the demo expected `asom {}` to exit {expect}, it exited {code}; stderr:\n{stderr}",
                shown.join(" ")
            )));
        }
        Ok(stdout)
    }

    /// Runs a command whose JSON answer the demo reads.
    fn json(&mut self, who: Option<&str>, args: &[&str]) -> CliResult<Value> {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = self.asom(who, &all, 0, Show::Nothing)?;
        serde_json::from_str(&out)
            .map_err(|e| CliError::failed(anyhow!("reading `asom {}`: {e}", args.join(" "))))
    }

    /// Checks a gate and remembers the decision.
    fn gate(&mut self, who: &str, args: &[&str], expect: i32) -> CliResult<()> {
        let out = self.asom(Some(who), args, expect, Show::All)?;
        self.remember(&out, args);
        Ok(())
    }

    fn remember(&mut self, out: &str, args: &[&str]) {
        // The text report names the gate and result on its first line and the
        // decision's entry on its "ledger entry N" line.
        let first = out.lines().next().unwrap_or_default();
        let gate = args
            .iter()
            .find(|a| a.starts_with('G'))
            .copied()
            .unwrap_or(if args.contains(&"QA") { "G3" } else { "G4" })
            .to_owned();
        let result = first.split("  ").nth(1).unwrap_or("?").to_owned();
        if let Some(index) = out
            .lines()
            .find_map(|l| l.strip_prefix("ledger entry "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
        {
            self.decisions.push((index, gate, result));
        }
    }

    /// Writes an artifact CI produced; returns its path relative to the
    /// demo's directory (where the commands run).
    fn artifact(&self, name: &str, body: &str) -> CliResult<String> {
        let path = self.root.join("artifacts").join(name);
        fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        Ok(format!("artifacts/{name}"))
    }

    /// CI records one passing result for a commit.
    fn evidence(
        &mut self,
        control: &str,
        category: Option<&str>,
        source: &str,
        commit: &str,
        environment: &str,
    ) -> CliResult<()> {
        let name = format!(
            "{control}-{}-{}.json",
            category.unwrap_or("x"),
            &commit[..7]
        );
        let body = format!(
            "{{\"control\":\"{control}\",\"category\":\"{}\",\"commit\":\"{commit}\",\"result\":\"pass\"}}\n",
            category.unwrap_or("")
        );
        let path = self.artifact(&name, &body)?;
        let mut args = vec![
            "evidence",
            "record",
            "--release",
            RELEASE,
            "--control",
            control,
            "--commit",
            commit,
            "--build",
            "812",
            "--environment",
            environment,
            "--status",
            "pass",
            "--source-type",
            source,
            "--file",
            &path,
        ];
        if let Some(c) = category {
            args.extend_from_slice(&["--category", c]);
        }
        self.asom(Some("ci"), &args, 0, Show::FirstLine)?;
        Ok(())
    }

    /// CI records the T1/T2 results G1 needs for a commit of the release.
    fn pr_tests(&mut self, commit: &str) -> CliResult<()> {
        for (category, source) in [("T1", "unit-test"), ("T2", "contract-test")] {
            let name = format!("pr-{category}-{}.json", &commit[..7]);
            let path = self.artifact(&name, "{\"tests\":12,\"failures\":0}\n")?;
            self.asom(
                Some("ci"),
                &[
                    "evidence",
                    "record",
                    "--release",
                    RELEASE,
                    "--control",
                    "C-03",
                    "--category",
                    category,
                    "--commit",
                    commit,
                    "--build",
                    "pr-77",
                    "--environment",
                    "ci",
                    "--status",
                    "pass",
                    "--source-type",
                    source,
                    "--file",
                    &path,
                ],
                0,
                Show::FirstLine,
            )?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_lines)] // One story, told in order.
    fn play(&mut self) -> CliResult {
        self.say(
            "asom demo: the worked reference example, end to end\n\
             \n\
             A data team changes its sales-transactions pipeline (a MERGE into the\n\
             sales fact table). Developers and an AI agent write code, CI records\n\
             evidence, people approve in the change system, and asom decides at each\n\
             gate whether the release may move on. Every step below is a real asom\n\
             command on a fresh embedded store; every answer is recorded in a\n\
             tamper-evident ledger.",
        );

        self.section(
            "Set up: a store, a tenant, its signing key, a first admin",
            "asom init creates the embedded SQLite store, an Ed25519 key that signs\n\
             the ledger's checkpoints, and an admin token, shown once.",
        );
        let init = self.json(None, &["init"])?;
        let admin = init["admin_token"].as_str().unwrap_or_default().to_owned();
        self.tokens.insert("admin".into(), admin);
        let key = init["verifier_key"].as_str().unwrap_or_default().to_owned();
        self.say(&format!(
            "  store created; the ledger's verifier key is\n    {key}"
        ));
        if self.via_server {
            let server = Server::start(&self.exe, &self.root)?;
            self.say(&format!(
                "  asom serve runs on this store at {}: every step below but the ledger's\n  \
                 files and the offline bundle check goes to it with --server.",
                server.url
            ));
            self.server = Some(server);
        }

        self.section(
            "The product and who acts on it",
            "Humans have roles; the AI agent has none that decide anything; CI and\n\
             CD are machine principals. Only machines record evidence and deploy.",
        );
        self.asom(
            Some("admin"),
            &[
                "product",
                "create",
                PRODUCT,
                "--team",
                "data-eng",
                "--classification",
                "confidential",
                "--change-type",
                "incremental-change",
            ],
            0,
            Show::FirstLine,
        )?;
        for (who, flags) in [
            ("alice", vec!["--kind", "human", "--role", "developer"]),
            ("bob", vec!["--kind", "human", "--role", "release-approver"]),
            (
                "priya",
                vec![
                    "--kind",
                    "human",
                    "--role",
                    "release-approver",
                    "--role",
                    "change-manager",
                ],
            ),
            ("gina", vec!["--kind", "human", "--role", "governance"]),
            ("ci", vec!["--kind", "machine"]),
            ("cd", vec!["--kind", "machine"]),
            ("dev-agent", vec!["--kind", "agent", "--agent-kind", "dev"]),
        ] {
            let mut args = vec!["principal", "create", who];
            args.extend(flags);
            self.asom(Some("admin"), &args, 0, Show::FirstLine)?;
        }
        self.asom(
            Some("admin"),
            &[
                "identity",
                "alias",
                "Alice <alice@corp.example>",
                "--person",
                "alice",
            ],
            0,
            Show::FirstLine,
        )?;
        for who in ["alice", "bob", "priya", "gina", "ci", "cd", "dev-agent"] {
            let t = self.json(Some("admin"), &["token", "create", who])?;
            self.tokens.insert(
                who.into(),
                t["token"].as_str().unwrap_or_default().to_owned(),
            );
        }
        // The tokens, for exploring a kept demo as any of its principals.
        let env: String = self
            .tokens
            .iter()
            .map(|(who, t)| format!("ASOM_TOKEN_{}={t}\n", who.to_uppercase().replace('-', "_")))
            .collect();
        crate::printer::write_private(&self.root.join("tokens.env"), env.as_bytes())?;
        self.say(
            "  (each of them got a token, kept in tokens.env beside the store (mode 0600);\n   the demo acts as each in turn)",
        );

        self.section(
            "The epic and its two stories, with acceptance criteria",
            "Acceptance criteria are a human's word (here the release approver's, in\n\
             asom's built-in planning system; Jira with a connector). An agent may\n\
             draft them but can never record them: they are what G1 checks against.",
        );
        self.asom(
            Some("bob"),
            &[
                "story",
                "record",
                "SALES-100",
                "--summary",
                "Epic: load sales transactions incrementally with MERGE",
                "--acceptance-criterion",
                "the fact table is loaded by MERGE, never by full reload",
            ],
            0,
            Show::FirstLine,
        )?;
        self.asom(
            Some("bob"),
            &[
                "story",
                "record",
                "SALES-101",
                "--epic",
                "SALES-100",
                "--summary",
                "MERGE new transactions into sales_transactions",
                "--acceptance-criterion",
                "re-running a batch changes no row (idempotent)",
                "--acceptance-criterion",
                "card numbers are visible to the payments role only",
            ],
            0,
            Show::FirstLine,
        )?;
        self.asom(
            Some("bob"),
            &[
                "story",
                "record",
                "SALES-102",
                "--epic",
                "SALES-100",
                "--summary",
                "Handle late-arriving transactions",
                "--acceptance-criterion",
                "rows up to 3 days late land in their original partition",
                "--acceptance-criterion",
                "no duplicate transaction ids after a late batch",
            ],
            0,
            Show::FirstLine,
        )?;
        self.asom(
            Some("dev-agent"),
            &[
                "story",
                "record",
                "SALES-101",
                "--summary",
                "MERGE new transactions",
                "--acceptance-criterion",
                "all tests are optional",
            ],
            1,
            Show::All,
        )?;
        self.say("  The agent's attempt was refused and nothing was written.");

        self.section(
            "G1, PR merge: each change links stories and its T1/T2 tests passed",
            "CI records the change (authors from git) and the unit (T1) and contract\n\
             (T2) results for the commit; G1 checks them for that commit alone.",
        );
        for (commit, jira, summary) in [
            (MERGE_COMMIT, "SALES-101", "MERGE into sales_transactions"),
            (LATE_ROWS_COMMIT, "SALES-102", "late-arriving transactions"),
        ] {
            self.asom(
                Some("ci"),
                &[
                    "change",
                    "record",
                    "--product",
                    PRODUCT,
                    "--commit",
                    commit,
                    "--author",
                    "Alice <alice@corp.example>",
                    "--jira",
                    jira,
                    "--summary",
                    summary,
                ],
                0,
                Show::FirstLine,
            )?;
        }
        self.asom(
            Some("alice"),
            &["release", "create", RELEASE],
            0,
            Show::FirstLine,
        )?;
        self.asom(
            Some("alice"),
            &[
                "release",
                "scope",
                RELEASE,
                "--jira",
                "SALES-100",
                "--jira",
                "SALES-101",
                "--jira",
                "SALES-102",
                "--commit",
                MERGE_COMMIT,
                "--commit",
                LATE_ROWS_COMMIT,
            ],
            0,
            Show::FirstLine,
        )?;
        for commit in [MERGE_COMMIT, LATE_ROWS_COMMIT] {
            self.pr_tests(commit)?;
            self.gate(
                "ci",
                &[
                    "gate",
                    "check",
                    "G1",
                    "--release",
                    RELEASE,
                    "--commit",
                    commit,
                ],
                0,
            )?;
        }

        self.section(
            "G2, release candidate: the scope and exactly one CRQ",
            "The release's one change request (CRQ) is opened in the change system\n\
             (here asom's built-in one; ServiceNow with a connector).",
        );
        self.asom(
            Some("alice"),
            &["crq", "create", "--release", RELEASE],
            0,
            Show::FirstLine,
        )?;
        self.gate("ci", &["gate", "check", "G2", "--release", RELEASE], 0)?;

        self.section(
            "CI records what it proved for the release",
            "Each record indexes an artifact by its SHA-256 and binds it to one\n\
             commit, build, CRQ and environment. Evidence from another release or CRQ\n\
             never counts.",
        );
        for (control, category, source) in [
            ("C-03", Some("T1"), "unit-test"),
            ("C-03", Some("T2"), "contract-test"),
            ("C-04", Some("T5"), "idempotency-test"),
            ("C-07", None, "build-provenance"),
            ("C-08", Some("T6"), "incremental-test"),
            ("C-10", Some("T7"), "performance-baseline"),
            ("C-03", None, "qa-execution-report"),
        ] {
            self.evidence(control, category, source, LATE_ROWS_COMMIT, "qa")?;
        }
        self.asom(
            Some("dev-agent"),
            &[
                "evidence",
                "record",
                "--release",
                RELEASE,
                "--control",
                "C-05",
                "--category",
                "T4",
                "--commit",
                LATE_ROWS_COMMIT,
                "--build",
                "812",
                "--environment",
                "qa",
                "--status",
                "pass",
                "--source-type",
                "rbac-export",
                "--sha256",
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            ],
            1,
            Show::All,
        )?;
        self.say("  An agent cannot make evidence up: only machine principals record it.");

        self.section(
            "G3, promote to QA: it blocks",
            "The CRQ is submitted for approval. G3 then names what is missing:\n\
             access-control evidence (C-05, T4), data-quality results (C-06, T3) and\n\
             the human QA approval, each with the command that fixes it.",
        );
        for state in ["assess", "authorize"] {
            self.asom(
                Some("priya"),
                &["crq", "transition", CRQ, state],
                0,
                Show::Nothing,
            )?;
        }
        self.gate("ci", &["gate", "check", "G3", "--release", RELEASE], 1)?;

        self.section(
            "Remediation: a new commit with the row policy and the DQ rules",
            "Alice adds the commit; CI records its tests, the access test (T4) and the\n\
             data-quality results (T3) for it; Bob, who wrote none of the code,\n\
             approves the CRQ for QA.",
        );
        self.asom(
            Some("ci"),
            &[
                "change",
                "record",
                "--product",
                PRODUCT,
                "--commit",
                FIX_COMMIT,
                "--author",
                "Alice <alice@corp.example>",
                "--jira",
                "SALES-101",
                "--jira",
                "SALES-102",
                "--summary",
                "row policy on card numbers; DQ rules for late rows",
            ],
            0,
            Show::FirstLine,
        )?;
        self.asom(
            Some("alice"),
            &["release", "scope", RELEASE, "--commit", FIX_COMMIT],
            0,
            Show::FirstLine,
        )?;
        self.pr_tests(FIX_COMMIT)?;
        self.gate(
            "ci",
            &[
                "gate",
                "check",
                "G1",
                "--release",
                RELEASE,
                "--commit",
                FIX_COMMIT,
            ],
            0,
        )?;
        self.evidence("C-05", Some("T4"), "rbac-export", FIX_COMMIT, "qa")?;
        self.evidence("C-06", Some("T3"), "dq-report", FIX_COMMIT, "qa")?;
        self.asom(
            Some("bob"),
            &["crq", "approve", CRQ, "--stage", "qa"],
            0,
            Show::FirstLine,
        )?;

        self.section(
            "G3 passes, and the CD machine promotes to QA",
            "`asom promote` decides G3 again with the deployer in the separation-of-\n\
             duties check (no approver deploys) and records the promotion only if it\n\
             passes.",
        );
        self.gate("ci", &["gate", "check", "G3", "--release", RELEASE], 0)?;
        let out = self.asom(
            Some("cd"),
            &["promote", "--release", RELEASE, "--to", "QA"],
            0,
            Show::All,
        )?;
        self.remember(&out, &["QA"]);

        self.section(
            "G4, promote to PROD",
            "PROD needs its own approval, the governance verification by someone who\n\
             produced none of the evidence, observability evidence (C-09, T8), the\n\
             access tests run against PROD (C-05 for PROD), and an open change window.",
        );
        self.evidence("C-09", Some("T8"), "alert-test", FIX_COMMIT, "prod")?;
        self.evidence("C-05", Some("T4"), "rbac-export", FIX_COMMIT, "prod")?;
        self.asom(
            Some("bob"),
            &["crq", "approve", CRQ, "--stage", "prod"],
            0,
            Show::FirstLine,
        )?;
        self.asom(
            Some("gina"),
            &["release", "verify", RELEASE],
            0,
            Show::FirstLine,
        )?;
        self.asom(
            Some("priya"),
            &[
                "crq",
                "window",
                CRQ,
                "--start",
                "2020-01-01T00:00:00Z",
                "--end",
                "2099-12-31T23:59:59Z",
            ],
            0,
            Show::FirstLine,
        )?;
        self.gate("ci", &["gate", "check", "G4", "--release", RELEASE], 0)?;
        let out = self.asom(
            Some("cd"),
            &["promote", "--release", RELEASE, "--to", "PROD"],
            0,
            Show::All,
        )?;
        self.remember(&out, &["PROD"]);

        self.section(
            "Every decision replays byte for byte",
            "Replay rebuilds each decision's input from the ledger as it was at that\n\
             decision, evaluates the same policy pack, and compares the bytes.",
        );
        let decisions = self.decisions.clone();
        for (index, _, _) in &decisions {
            let i = index.to_string();
            self.asom(None, &["gate", "replay", &i], 0, Show::All)?;
        }

        self.section(
            "The decisions, the signed checkpoint, the verifier key",
            "An auditor needs only the key below to check the checkpoint and any\n\
             receipt (`asom ledger proof N`) offline; `asom ledger verify` checks the\n\
             whole log.",
        );
        let mut table = String::from("  entry  gate  result\n");
        for (index, gate, result) in &decisions {
            let _ = writeln!(table, "  {index:>5}  {gate:<4}  {result}");
        }
        self.say(&table);
        self.asom(None, &["ledger", "checkpoint"], 0, Show::All)?;
        self.asom(None, &["ledger", "verify"], 0, Show::All)?;
        self.say(&format!("\n  verifier key: {key}"));

        self.section(
            "The audit walkthrough, and a bundle an auditor checks offline",
            "From the CRQ to every piece of evidence, approval and decision, from the\n\
             ledger alone: the Markdown below (also as one HTML page), then the\n\
             release exported with its proofs and checked with no store at all.",
        );
        self.asom(None, &["audit", RELEASE], 0, Show::All)?;
        self.asom(
            None,
            &["--format", "html", "--out", "audit.html", "audit", RELEASE],
            0,
            Show::Nothing,
        )?;
        self.asom(
            Some("gina"),
            &["export", RELEASE, "--out", "bundle.tar.gz"],
            0,
            Show::All,
        )?;
        self.asom(
            None,
            &["verify-bundle", "bundle.tar.gz", "--key", &key],
            0,
            Show::All,
        )?;
        self.say(
            "\nDone. The release went from a pull request to PROD through four gates;\n\
             G3 blocked until the missing evidence and approval existed; every step\n\
             is a signed, replayable ledger entry, and the audit walkthrough and the\n\
             bundle prove it to someone who trusts only the verifier key. Try\n\
             `asom demo --keep`: audit.html and bundle.tar.gz are kept beside the store.",
        );
        Ok(())
    }
}
