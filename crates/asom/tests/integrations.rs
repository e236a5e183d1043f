//! A tenant switched to ServiceNow and Jira by configuration alone (issue 6):
//! the worked example's gates read the CRQ and its approvals from a local
//! server speaking the ServiceNow Table API's shapes, and stories from one
//! speaking Jira's REST API v2; every read is an entry in the ledger, and
//! decisions replay from those entries with the servers gone.

#[path = "../../asom-connectors/tests/support/mod.rs"]
mod http;
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use http::{Reply, Request, Server};
use serde_json::{Value, json};
use support::{Output, Run};
use tempfile::TempDir;

const PRODUCT: &str = "sales";
const RELEASE: &str = "sales@2.0.0";
const CRQ: &str = "CHG0031234";
const COMMIT: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const FIELD: &str = "customfield_10020";

/// The CRQ as ServiceNow holds it: state (numeric) and approval.
type CrqState = Arc<Mutex<(&'static str, &'static str, bool)>>;

fn servicenow(state: CrqState) -> Server {
    Server::start(move |r: &Request| {
        let (s, approval, up) = *state.lock().expect("lock");
        if !up {
            return Reply::status(503, b"{\"error\":\"maintenance\"}");
        }
        match r.path() {
            "/api/now/table/change_request"
                if r.query("sysparm_query") == Some("number%3DCHG0031234") =>
            {
                Reply::json(&json!({"result": [{
                    "sys_id": "9d385017c611228701d22104cc95c371", "number": CRQ, "state": s,
                    "approval": approval, "type": "normal",
                    "start_date": "2020-01-01 00:00:00", "end_date": "2099-12-31 23:59:59",
                    "assignment_group": "",
                }]}))
            }
            "/api/now/table/change_request" => Reply::json(&json!({"result": []})),
            "/api/now/table/sysapproval_approver" => Reply::json(&json!({"result": [
                {"sys_id": "1", "state": "approved", "sys_updated_on": "2026-11-21 09:00:00",
                 "approver.user_name": "bob.smith", "approver.email": "bob@corp.example"},
            ]})),
            _ => Reply::status(404, b"{}"),
        }
    })
}

fn jira() -> Server {
    Server::start(|r: &Request| match r.path() {
        "/rest/api/2/issue/SALES-7" => Reply::json(&json!({
            "key": "SALES-7",
            "fields": {"summary": "Reject negative totals", "status": {"name": "Done"},
                       FIELD: "* an order with a negative total is rejected\n* the rejection is logged"}
        })),
        "/rest/api/2/myself" => Reply::json(&json!({"name": "asom-svc"})),
        _ => Reply::status(404, b"{}"),
    })
}

struct Tenant {
    tmp: TempDir,
    dir: PathBuf,
    tokens: BTreeMap<String, String>,
}

impl Tenant {
    fn new(sn: &Server, jira: &Server) -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let dir = tmp.path().join("asom");
        let mut t = Self {
            tmp,
            dir,
            tokens: BTreeMap::new(),
        };
        let init = t.asom().args(["--format", "json", "init"]).run().ok();
        t.tokens.insert(
            "admin".into(),
            init.json()["admin_token"].as_str().expect("token").into(),
        );
        // The switch: configuration alone.
        std::fs::write(
            t.dir.join("asom.toml"),
            format!(
                "[change_system]\nprovider = \"servicenow\"\nurl = \"{}\"\nuser = \"asom-svc\"\npassword_env = \"TEST_SN_PASSWORD\"\ntimeout_seconds = 2\nretries = 1\n\n[planning]\nprovider = \"jira\"\nurl = \"{}\"\ntoken_env = \"TEST_JIRA_TOKEN\"\nacceptance_criteria_field = \"{FIELD}\"\nretries = 0\n",
                sn.url, jira.url
            ),
        )
        .expect("write config");
        t.act("admin")
            .args(["product", "create", PRODUCT, "--team", "data-eng"])
            .args([
                "--classification",
                "internal",
                "--change-type",
                "dq-rule-change",
            ])
            .run()
            .ok();
        for args in [
            &["alice", "--kind", "human", "--role", "developer"][..],
            &["gina", "--kind", "human", "--role", "governance"],
            &["ci-bot", "--kind", "machine"],
            &["cd-bot", "--kind", "machine"],
        ] {
            t.act("admin")
                .args(["principal", "create"])
                .args(args)
                .run()
                .ok();
        }
        for who in ["alice", "gina", "ci-bot", "cd-bot"] {
            let out = t
                .act("admin")
                .args(["--format", "json", "token", "create", who])
                .run()
                .ok();
            t.tokens.insert(
                who.into(),
                out.json()["token"].as_str().expect("token").into(),
            );
        }
        t
    }

    fn asom(&self) -> Run {
        support::asom(self.tmp.path(), &self.dir)
            .env("TEST_SN_PASSWORD", "sn-secret-1")
            .env("TEST_JIRA_TOKEN", "jira-secret-2")
    }

    fn act(&self, who: &str) -> Run {
        self.asom().env("ASOM_TOKEN", &self.tokens[who])
    }

    fn check(&self, gate: &str, extra: &[&str]) -> Output {
        self.act("ci-bot")
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

    fn record(&self, control: &str, category: Option<&str>, env: &str) {
        let mut run = self
            .act("ci-bot")
            .args([
                "evidence",
                "record",
                "--release",
                RELEASE,
                "--control",
                control,
            ])
            .args([
                "--commit",
                COMMIT,
                "--build",
                "b1",
                "--environment",
                env,
                "--status",
                "pass",
            ])
            .args(["--source-type", "ci-report", "--sha256", &"c".repeat(64)])
            .args([
                "--source-ref",
                &format!("https://ci.example/b1/{control}/{env}"),
            ]);
        if let Some(c) = category {
            run = run.args(["--category", c]);
        }
        run.run().ok();
    }

    fn kinds(&self) -> Vec<Value> {
        let size = self
            .asom()
            .args(["--format", "json", "ledger", "checkpoint"])
            .run()
            .ok()
            .json()["size"]
            .as_u64()
            .expect("size");
        (0..size)
            .map(|i| {
                self.asom()
                    .args(["--format", "json", "ledger", "get", &i.to_string()])
                    .run()
                    .ok()
                    .json()["entry"]
                    .clone()
            })
            .collect()
    }
}

fn violations_of(out: &Output) -> Vec<String> {
    out.json()["decision"]["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["control"].as_str().unwrap_or(""),
                v["reason"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
#[allow(clippy::too_many_lines)] // The worked example, told in order.
fn the_worked_example_passes_g3_and_g4_on_approvals_read_from_servicenow() {
    let state: CrqState = Arc::new(Mutex::new(("-3", "requested", true)));
    let (sn, jira) = (servicenow(Arc::clone(&state)), jira());
    let t = Tenant::new(&sn, &jira);
    t.act("ci-bot")
        .args(["change", "record", "--product", PRODUCT, "--commit", COMMIT])
        .args(["--author", "alice", "--jira", "SALES-7"])
        .run()
        .ok();
    t.act("alice")
        .args(["release", "create", RELEASE])
        .run()
        .ok();
    t.act("alice")
        .args([
            "release", "scope", RELEASE, "--jira", "SALES-7", "--commit", COMMIT,
        ])
        .run()
        .ok();
    // The CRQ lives in ServiceNow: asom links it and reads it.
    let linked = t
        .act("alice")
        .args([
            "--format",
            "json",
            "crq",
            "link",
            "--release",
            RELEASE,
            "--number",
            CRQ,
        ])
        .run()
        .ok()
        .json();
    assert_eq!(linked["snapshot"]["state"], "authorize", "{linked:#}");
    // Linking twice, or the built-in `crq create`, is refused.
    t.act("alice")
        .args(["crq", "link", "--release", RELEASE, "--number", CRQ])
        .run()
        .fails(1, &["already has CRQ"]);

    // G1: the story and its acceptance criteria come from Jira.
    for category in ["T1", "T2"] {
        t.record("C-03", Some(category), "ci");
    }
    let g1 = t.check("G1", &["--commit", COMMIT]).ok();
    assert_eq!(
        g1.json()["decision"]["result"],
        "pass",
        "{:?}",
        violations_of(&g1)
    );
    let stories = t
        .asom()
        .args(["--format", "json", "story", "show", "SALES-7"])
        .run()
        .ok()
        .json();
    assert_eq!(stories["source"], "jira");
    assert_eq!(
        stories["acceptance_criteria"][0],
        "an order with a negative total is rejected"
    );

    t.check("G2", &[]).ok();
    for (control, category) in [
        ("C-03", None),
        ("C-04", None),
        ("C-05", Some("T4")),
        ("C-06", Some("T3")),
        ("C-07", None),
        ("C-08", None),
        ("C-10", None),
    ] {
        t.record(control, category, "qa");
    }
    // The QA report the default pack wants is a C-03 qa-execution-report.
    t.act("ci-bot")
        .args([
            "evidence",
            "record",
            "--release",
            RELEASE,
            "--control",
            "C-03",
        ])
        .args([
            "--commit",
            COMMIT,
            "--build",
            "b1",
            "--environment",
            "qa",
            "--status",
            "pass",
        ])
        .args([
            "--source-type",
            "qa-execution-report",
            "--sha256",
            &"d".repeat(64),
        ])
        .args(["--source-ref", "https://qa.example/runs/41/report.html"])
        .run()
        .ok();

    // Authorize, not yet approved in ServiceNow: G3 blocks on the approval.
    let blocked = t.check("G3", &[]).fails(1, &[]);
    assert!(
        violations_of(&blocked)
            .iter()
            .any(|v| v.contains("is not approved for QA")),
        "{:?}",
        violations_of(&blocked)
    );
    // Approved and scheduled in ServiceNow: G3 passes on bob.smith's approval.
    *state.lock().expect("lock") = ("-2", "approved", true);
    let g3 = t.check("G3", &[]).ok();
    assert_eq!(
        g3.json()["decision"]["result"],
        "pass",
        "{:?}",
        violations_of(&g3)
    );

    // The CRQ moves back to Assess between two checks: the second blocks.
    *state.lock().expect("lock") = ("-4", "requested", true);
    let back = t.check("G3", &[]).fails(1, &[]);
    assert!(
        violations_of(&back)
            .iter()
            .any(|v| v.contains("is not approved for QA"))
    );

    // ServiceNow unreachable: the gate blocks and says so; it never passes.
    *state.lock().expect("lock") = ("-1", "approved", false);
    let down = t.check("G3", &[]).fails(1, &[]);
    assert!(
        violations_of(&down)
            .iter()
            .any(|v| v.contains("could not be read from servicenow") && v.contains("HTTP 503")),
        "{:?}",
        violations_of(&down)
    );

    // Implement: approved for QA and PROD. G3 again, then G4 and PROD.
    *state.lock().expect("lock") = ("-1", "approved", true);
    t.act("cd-bot")
        .args(["promote", "--release", RELEASE, "--to", "QA"])
        .run()
        .ok();
    t.record("C-09", Some("T8"), "prod");
    t.record("C-05", Some("T4"), "prod");
    t.act("gina")
        .args(["release", "verify", RELEASE])
        .run()
        .ok();
    let g4 = t.check("G4", &[]).ok();
    assert_eq!(
        g4.json()["decision"]["result"],
        "pass",
        "{:?}",
        violations_of(&g4)
    );
    t.act("cd-bot")
        .args(["promote", "--release", RELEASE, "--to", "PROD"])
        .run()
        .ok();

    // Every read is in the ledger, credentials nowhere.
    let entries = t.kinds();
    let observations: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "observation" && e["content"]["what"] == "crq")
        .collect();
    assert!(
        observations.len() >= 7,
        "one per gate check and link: {}",
        observations.len()
    );
    let ok = observations
        .iter()
        .find(|o| o["content"]["snapshot"].is_object())
        .expect("a snapshot");
    assert!(
        ok["content"]["sources"][0]
            .as_str()
            .is_some_and(|s| s.starts_with(&sn.url))
    );
    assert_eq!(
        ok["content"]["response_sha256"].as_str().map(str::len),
        Some(64)
    );
    assert!(observations.iter().any(|o| {
        o["content"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("503"))
    }));
    let jira_reads = entries
        .iter()
        .filter(|e| e["kind"] == "story" && e["content"]["source"] == "jira")
        .count();
    assert!(jira_reads >= 1);
    let all = serde_json::to_string(&entries).expect("json");
    assert!(!all.contains("sn-secret-1") && !all.contains("jira-secret-2"));

    // With both servers gone, every decision replays from the ledger alone.
    drop(sn);
    drop(jira);
    for (i, e) in entries.iter().enumerate() {
        if e["kind"] == "decision" {
            let out = t.asom().args(["gate", "replay", &i.to_string()]).run().ok();
            assert!(
                out.stdout.contains("replays byte for byte"),
                "{}",
                out.stdout
            );
        }
    }
}

#[test]
fn doctor_checks_the_configuration_and_the_connections() {
    let state: CrqState = Arc::new(Mutex::new(("-3", "requested", true)));
    let (sn, jira) = (servicenow(state), jira());
    let t = Tenant::new(&sn, &jira);
    let report = t
        .act("admin")
        .args(["--format", "json", "doctor"])
        .run()
        .ok()
        .json();
    let status = |name: &str| {
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| {
                (
                    c["status"].as_str().unwrap_or("").to_owned(),
                    c["detail"].as_str().unwrap_or("").to_owned(),
                )
            })
            .expect("check")
    };
    assert_eq!(status("change system").0, "ok", "{report:#}");
    assert!(status("change system").1.contains("answered in"));
    assert_eq!(status("planning").0, "ok");
    assert!(status("planning").1.contains("as asom-svc"));
    assert_eq!(status("token").0, "ok");
    assert_eq!(status("log keys").0, "ok");

    // A missing secret and a refused one: doctor fails and says which.
    let out = support::asom(t.tmp.path(), &t.dir)
        .env("TEST_JIRA_TOKEN", "x")
        .args(["doctor"])
        .run()
        .fails(1, &["check(s) failed"]);
    assert!(
        out.stdout.contains("TEST_SN_PASSWORD is not set"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("sn-secret-1"));
    let refusing = Server::start(|_| Reply::status(401, b"{}"));
    std::fs::write(
        t.dir.join("asom.toml"),
        format!("[change_system]\nprovider = \"servicenow\"\nurl = \"{}\"\nuser = \"u\"\npassword_env = \"TEST_SN_PASSWORD\"\n", refusing.url),
    )
    .expect("config");
    let out = t.asom().args(["doctor"]).run().fails(1, &[]);
    assert!(out.stdout.contains("401 Unauthorized"), "{}", out.stdout);
    // A typo in the file is a configuration error (exit 2) naming it.
    std::fs::write(
        t.dir.join("asom.toml"),
        "[change_system]\nprovidr = \"x\"\n",
    )
    .expect("config");
    t.asom()
        .args(["doctor"])
        .run()
        .fails(2, &["asom.toml is not valid", "providr"]);
    // The documented default parses and means the built-in systems.
    let default = support::asom(t.tmp.path(), &t.dir)
        .args(["config", "default"])
        .run()
        .ok()
        .stdout;
    std::fs::write(t.dir.join("asom.toml"), default).expect("config");
    let shown = t
        .asom()
        .args(["--format", "json", "config", "show"])
        .run()
        .ok()
        .json();
    assert_eq!(shown["change_system"]["provider"], "asom");
}
