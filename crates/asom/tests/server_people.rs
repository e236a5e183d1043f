//! The administration and approval commands with `--server`: principals,
//! tokens, identities, stories, overrides and exceptions give the same
//! output and exit code on a real `asom serve` as in process, refusals
//! included.
//!
//! Two stores live side by side and get the same commands in the same
//! order: one in process, one through the server. Their ledgers then hold
//! the same entries at the same indices; only times, content ids and
//! secrets differ, and those are masked before the outputs are compared.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use tempfile::TempDir;

mod support;

use support::{Output, Run, Served};

const PRODUCT: &str = "sales";
const RELEASE: &str = "sales@1.0.0";

/// One store and its principals' tokens.
struct Side {
    dir: PathBuf,
    tokens: BTreeMap<String, String>,
}

/// Two stores: `local` run in process, `served` through `asom serve`.
struct Pair {
    tmp: TempDir,
    local: Side,
    served: Side,
    server: Served,
}

impl Pair {
    fn new() -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let init = |name: &str| {
            let dir = tmp.path().join(name);
            let out = support::asom(tmp.path(), &dir)
                .args(["--format", "json", "init"])
                .run()
                .ok();
            let admin = out.json()["admin_token"]
                .as_str()
                .expect("init prints admin_token")
                .to_owned();
            Side {
                dir,
                tokens: BTreeMap::from([("admin".to_owned(), admin)]),
            }
        };
        let local = init("local");
        let served = init("served");
        let process = Served::start(tmp.path(), &served.dir, None);
        Self {
            tmp,
            local,
            served,
            server: process,
        }
    }

    /// `asom` in process on `side`'s store, acting as `who`.
    fn in_process(&self, side: &Side, who: &str) -> Run {
        let token = side.tokens.get(who).expect("a token");
        support::asom(self.tmp.path(), &side.dir).env("ASOM_TOKEN", token)
    }

    /// `args` run in process on both stores (commands that are not
    /// operations yet: products, changes, releases, CRQs).
    fn setup(&self, who: &str, args: &[&str]) {
        for side in [&self.local, &self.served] {
            self.in_process(side, who).args(args).run().ok();
        }
    }

    /// `args(side)` run as `who`: in process on the local store, with
    /// `--server` on the served one. Asserts the same exit code and the same
    /// standard output (times, ids and secrets masked); returns both.
    #[track_caller]
    fn both_with(&self, who: &str, args: impl Fn(&Side) -> Vec<String>) -> (Output, Output) {
        let local = self
            .in_process(&self.local, who)
            .args(args(&self.local))
            .run();
        let served = self
            .in_process(&self.served, who)
            .args(["--server", self.server.url.as_str()])
            .args(args(&self.served))
            .run();
        assert_eq!(
            local.code, served.code,
            "exit codes differ\nin process: {}\n{}\nserved: {}\n{}",
            local.shown, local.stderr, served.shown, served.stderr
        );
        assert!(
            !served.stderr.contains("does not work with --server"),
            "{}: {}",
            served.shown,
            served.stderr
        );
        let (a, b) = (masked(&local.stdout), masked(&served.stdout));
        assert_eq!(
            a, b,
            "stdout differs for {}\nin process:\n{}\nserved:\n{}",
            local.shown, local.stdout, served.stdout
        );
        (local, served)
    }

    /// [`Self::both_with`] with the same arguments on both sides.
    #[track_caller]
    fn both(&self, who: &str, args: &[&str]) -> (Output, Output) {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        self.both_with(who, |_| args.clone())
    }
}

/// Standard output with what differs between two stores masked: RFC 3339
/// times, SHA-256 hex ids (and their 12-digit short forms), token ids and
/// secrets. JSON is compared as values, text line by line.
fn masked(stdout: &str) -> String {
    match serde_json::from_str::<Value>(stdout) {
        Ok(v) => mask_value(v).to_string(),
        Err(_) => stdout
            .split_whitespace()
            .map(|w| mask_str(w.trim_matches(|c: char| "()`,.:;\"".contains(c))))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn mask_value(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(mask_str(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(mask_value).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, mask_value(v))).collect()),
        v => v,
    }
}

fn mask_str(s: &str) -> String {
    let hex = |t: &str| t.chars().all(|c| c.is_ascii_hexdigit());
    let b = s.as_bytes();
    if b.len() >= 20 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && s.contains('T') {
        "<time>".to_owned()
    } else if (s.len() == 64 || s.len() == 12) && hex(s) {
        "<id>".to_owned()
    } else if s.starts_with("tok_") {
        "<token id>".to_owned()
    } else if s.starts_with("asom_") {
        "<secret>".to_owned()
    } else {
        s.to_owned()
    }
}

/// `--format json` then `args`.
fn json<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    all
}

fn sha(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

#[test]
#[allow(clippy::too_many_lines)] // One administration story, told in order.
fn people_stories_and_waivers_via_the_server_match_in_process() {
    let mut pair = Pair::new();

    // Principals: created by the admin; an agent cannot.
    let principals: [&[&str]; 7] = [
        &["alice", "--kind", "human", "--role", "developer"],
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
    ];
    for args in principals {
        let mut all = json(&["principal", "create"]);
        all.extend_from_slice(args);
        pair.both("admin", &all).0.ok();
    }
    // Tokens: the secret is in the answer, once; each side keeps its own.
    for who in ["alice", "bob", "ci-bot", "dev-bot", "gina", "erin", "rita"] {
        let (local, served) = pair.both("admin", &json(&["token", "create", who]));
        for (side, out) in [(&mut pair.local, local), (&mut pair.served, served)] {
            let token = out.ok().json()["token"]
                .as_str()
                .expect("token create prints the secret")
                .to_owned();
            assert!(token.starts_with("asom_"));
            side.tokens.insert(who.to_owned(), token);
        }
    }
    // The text form of a new token prints the secret too, in both modes.
    let (local, served) = pair.both("admin", &["token", "create", "bob", "--label", "spare"]);
    for out in [&local, &served] {
        assert!(
            out.stdout
                .contains("the secret is shown only now:\n  asom_"),
            "{}",
            out.stdout
        );
    }
    // The new token acts on the server.
    pair.both("bob", &json(&["whoami"])).0.ok();

    // Refusals: an agent creates a principal or a token; a non-admin revokes.
    pair.both(
        "dev-bot",
        &json(&["principal", "create", "eve", "--kind", "machine"]),
    )
    .0
    .fails(1, &["agent 'dev-bot' may not"]);
    pair.both("dev-bot", &json(&["token", "create", "dev-bot"]))
        .0
        .fails(1, &["agent 'dev-bot' may not"]);
    pair.both(
        "admin",
        &json(&["principal", "create", "alice", "--kind", "machine"]),
    )
    .0
    .fails(1, &["already exists"]);
    pair.both(
        "admin",
        &json(&["principal", "create", "x", "--kind", "robot"]),
    )
    .0
    .fails(2, &[]);
    pair.both("admin", &json(&["token", "create", "nobody"]))
        .0
        .fails(2, &["no principal"]);
    let spare = |side: &Side| -> String {
        let out = support::asom(pair.tmp.path(), &side.dir)
            .args(["--format", "json", "token", "list"])
            .run()
            .ok();
        out.json()
            .as_array()
            .expect("a list")
            .iter()
            .find(|t| t["label"] == "spare")
            .and_then(|t| t["id"].as_str())
            .expect("the spare token")
            .to_owned()
    };
    let revoke = |side: &Side| {
        vec![
            "--format".into(),
            "json".into(),
            "token".into(),
            "revoke".into(),
            spare(side),
        ]
    };
    pair.both_with("alice", revoke)
        .0
        .fails(1, &["human 'alice' may not"]);
    pair.both_with("admin", revoke).0.ok();
    pair.both_with("admin", revoke)
        .0
        .fails(1, &["already revoked"]);
    pair.both("admin", &json(&["token", "revoke", "tok_nosuch"]))
        .0
        .fails(2, &["no token"]);
    pair.both("gina", &json(&["token", "list"])).0.ok();
    pair.both("gina", &["token", "list"]).0.ok();
    pair.both("gina", &json(&["principal", "list"])).0.ok();
    pair.both("gina", &["principal", "list"]).0.ok();

    // Producer keys: only machines get them.
    pair.both(
        "admin",
        &json(&[
            "principal",
            "key",
            "alice",
            "--key-id",
            "k1",
            "--public-key",
            "AAAA",
        ]),
    )
    .0
    .refused(&[]);

    // Identities.
    pair.both(
        "admin",
        &json(&[
            "identity",
            "alias",
            "Alice Example <alice@example.com>",
            "--person",
            "alice",
        ]),
    )
    .0
    .ok();
    let (again, _) = pair.both(
        "admin",
        &json(&[
            "identity",
            "alias",
            "Alice Example <alice@example.com>",
            "--person",
            "alice",
        ]),
    );
    assert_eq!(again.ok().json()["recorded"]["new"], false);
    pair.both(
        "admin",
        &json(&[
            "identity",
            "alias",
            "Alice Example <alice@example.com>",
            "--person",
            "bob",
        ]),
    )
    .0
    .fails(1, &["already belongs to"]);
    pair.both(
        "alice",
        &json(&["identity", "alias", "al", "--person", "alice"]),
    )
    .0
    .fails(1, &["may not"]);
    pair.both("gina", &json(&["identity", "list"])).0.ok();
    pair.both("gina", &["identity", "list"]).0.ok();

    // Stories: recorded by a developer, never by an agent.
    pair.both(
        "alice",
        &json(&[
            "story",
            "record",
            "ORD-1",
            "--summary",
            "Card data stays masked",
            "--acceptance-criterion",
            "PAN is masked in every export",
        ]),
    )
    .0
    .ok();
    pair.both(
        "alice",
        &[
            "story",
            "record",
            "ORD-2",
            "--summary",
            "Later",
            "--epic",
            "ORD-100",
        ],
    )
    .0
    .ok();
    pair.both(
        "dev-bot",
        &json(&[
            "story",
            "record",
            "ORD-3",
            "--summary",
            "Injected",
            "--acceptance-criterion",
            "anything goes",
        ]),
    )
    .0
    .fails(1, &["agent 'dev-bot' may not"]);
    pair.both(
        "alice",
        &json(&["story", "record", "not a key", "--summary", "x"]),
    )
    .0
    .fails(2, &[]);
    pair.both("gina", &json(&["story", "show", "ORD-1"])).0.ok();
    pair.both("gina", &["story", "show", "ORD-2"]).0.ok();
    pair.both("gina", &json(&["story", "show", "ORD-9"]))
        .0
        .fails(2, &["no story ORD-9"]);
    pair.both("gina", &json(&["story", "list"])).0.ok();
    pair.both("gina", &["story", "list"]).0.ok();
    // No Jira configured on either side: sync says so.
    pair.both("ci-bot", &json(&["story", "sync", "ORD-1"]))
        .0
        .fails(2, &["planning system is asom's own"]);

    // A release on an emergency CRQ (set up in process on both stores).
    pair.setup(
        "admin",
        &[
            "product",
            "create",
            PRODUCT,
            "--team",
            "data-eng",
            "--classification",
            "internal",
            "--change-type",
            "dq-rule-change",
        ],
    );
    pair.setup(
        "admin",
        &[
            "change",
            "record",
            "--product",
            PRODUCT,
            "--commit",
            &sha('a'),
            "--author",
            "alice",
            "--jira",
            "ORD-1",
        ],
    );
    pair.setup("admin", &["release", "create", RELEASE]);
    pair.setup(
        "admin",
        &[
            "release",
            "scope",
            RELEASE,
            "--jira",
            "ORD-1",
            "--commit",
            &sha('a'),
        ],
    );
    let crq_of = |side: &Side| -> String {
        let out = pair
            .in_process(side, "admin")
            .args([
                "--format",
                "json",
                "crq",
                "create",
                "--release",
                RELEASE,
                "--type",
                "emergency",
            ])
            .run()
            .ok();
        out.json()["crq"]["number"]
            .as_str()
            .expect("crq number")
            .to_owned()
    };
    let crq = crq_of(&pair.local);
    assert_eq!(
        crq,
        crq_of(&pair.served),
        "the same CRQ number on both stores"
    );

    // Overrides: never for G1; never approved by their requester.
    let request = |who: &str, gate: &str, extra: &[&str]| {
        let mut args = json(&[
            "override",
            "request",
            "--release",
            RELEASE,
            "--gate",
            gate,
            "--crq",
            &crq,
            "--defer",
            "C-05",
        ]);
        args.extend_from_slice(&[
            "--justification",
            "card data leaks in PROD",
            "--compensating",
            "manual review by the DBA",
        ]);
        args.extend_from_slice(extra);
        pair.both(who, &args)
    };
    request("alice", "G1", &[])
        .0
        .fails(1, &["G1 can never be overridden"]);
    request("dev-bot", "G3", &[])
        .0
        .fails(1, &["agent 'dev-bot' may not"]);
    request("alice", "G3", &["--deadline", "next tuesday"])
        .0
        .fails(2, &["--deadline"]);
    let (local, served) = request("rita", "G3", &[]);
    let ids = |out: &Output| {
        out.json()["override"]["id"]
            .as_str()
            .expect("override id")
            .to_owned()
    };
    let (local_id, served_id) = (ids(&local.ok()), ids(&served));
    let id_of = |side: &Side| {
        if side.dir == pair.local.dir {
            local_id.clone()
        } else {
            served_id.clone()
        }
    };
    let on = |verb: &'static str| {
        move |side: &Side| -> Vec<String> {
            vec![
                "--format".into(),
                "json".into(),
                "override".into(),
                verb.into(),
                id_of(side),
            ]
        }
    };
    pair.both_with("rita", on("approve"))
        .0
        .fails(1, &["rita requested override", "cannot approve it too"]);
    pair.both_with("alice", on("approve"))
        .0
        .fails(1, &["human 'alice' may not approve emergency overrides"]);
    let (approved, _) = pair.both_with("erin", on("approve"));
    assert_eq!(approved.ok().json()["override"]["approved_by"], "erin");
    pair.both_with("erin", on("approve"))
        .0
        .fails(1, &["already approved"]);
    // The deferred evidence is not in the ledger yet.
    pair.both_with("rita", on("remediate")).0.refused(&[]);
    pair.both("gina", &json(&["override", "list"])).0.ok();
    pair.both("gina", &json(&["override", "list", "--release", RELEASE]))
        .0
        .ok();
    pair.both("gina", &["--format", "markdown", "override", "list"])
        .0
        .ok();

    // N/A exceptions: approved by governance, never by the requester's kind.
    let (local, served) = pair.both(
        "alice",
        &json(&[
            "exception",
            "request",
            "--release",
            RELEASE,
            "--control",
            "C-05",
            "--justification",
            "the release changes no data masking rule",
        ]),
    );
    let eids = |out: &Output| {
        out.json()["exception"]["id"]
            .as_str()
            .expect("exception id")
            .to_owned()
    };
    let exception_ids = (eids(&local.ok()), eids(&served));
    let approve = |side: &Side| -> Vec<String> {
        let id = if side.dir == pair.local.dir {
            &exception_ids.0
        } else {
            &exception_ids.1
        };
        vec![
            "--format".into(),
            "json".into(),
            "exception".into(),
            "approve".into(),
            id.clone(),
        ]
    };
    pair.both_with("alice", approve).0.fails(1, &["may not"]);
    pair.both_with("gina", approve).0.ok();
    // Approving twice: whatever it answers, it answers the same.
    pair.both_with("gina", approve);
    pair.both(
        "alice",
        &json(&[
            "exception",
            "request",
            "--release",
            RELEASE,
            "--control",
            "C-01",
            "--justification",
            "no",
        ]),
    )
    .0
    .refused(&[]);
    pair.both("gina", &json(&["exception", "list"])).0.ok();
    pair.both("gina", &["exception", "list", "--release", RELEASE])
        .0
        .ok();
}
