//! The CLI with `--server` (`ASOM_SERVER`): the demo with every step but
//! init, the ledger's files and the offline bundle check sent to a real
//! `asom serve`, decided the same as in process; and what the CLI
//! says when the server mode cannot do what is asked.

use support::Served;
use tempfile::TempDir;

mod support;

/// The demo's decisions table: `(gate, result)` per decision, in order.
fn decisions(text: &str) -> Vec<(String, String)> {
    let start = text
        .find("  entry  gate  result")
        .unwrap_or_else(|| panic!("no decisions table:\n{text}"));
    text[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words[1].to_owned(), words[2..].join(" "))
        })
        .collect()
}

#[test]
fn the_demo_via_the_server_decides_exactly_as_in_process() {
    let tmp = TempDir::new().expect("temp dir");
    let unused = tmp.path().join("unused");
    let local = support::asom(tmp.path(), &unused)
        .args(["demo", "--at"])
        .arg(tmp.path().join("local"))
        .run()
        .ok();
    let served = support::asom(tmp.path(), &unused)
        .args(["demo", "--via-server", "--at"])
        .arg(tmp.path().join("served"))
        .run()
        .ok();
    let text = &served.stdout;
    // The steps went to the server: administration, approvals, evidence,
    // gates, promotions, replays, the audit and the export.
    for command in [
        "product create",
        "crq approve",
        "evidence record",
        "gate check G3",
        "promote --release",
        "gate replay",
        "audit sales-transactions@1.4.0",
        "export sales-transactions@1.4.0",
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(command) && l.contains("[via asom serve]")),
            "{command} did not go to the server:\n{text}"
        );
    }
    assert!(text.contains("asom serve runs on this store at http://127.0.0.1:"));
    // The same story, decided the same: nine decisions, G3 blocking first.
    let (a, b) = (decisions(&local.stdout), decisions(text));
    assert_eq!(a.len(), 9, "{a:?}");
    assert_eq!(a, b, "the server decided differently");
    assert!(text.contains("PROMOTED sales-transactions@1.4.0 to PROD"));
    assert!(!text.contains("does NOT replay"), "{text}");
}

#[test]
fn server_mode_says_what_it_cannot_do() {
    let tmp = TempDir::new().expect("temp dir");
    let dir = tmp.path().join("none");
    let asom = || {
        support::asom(tmp.path(), &dir).env(
            "ASOM_TOKEN",
            "asom_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
    };
    // A command that is not an operation yet.
    asom()
        .args(["--server", "http://127.0.0.1:9", "ledger", "verify"])
        .run()
        .fails(2, &["does not work with --server", "docs/server.md"]);
    // Not a URL.
    asom()
        .args(["--server", "db.example:8080", "whoami"])
        .run()
        .fails(2, &["not an http:// or https:// URL"]);
    // A pack is the server's choice.
    asom()
        .args(["--server", "http://127.0.0.1:9", "gate", "check", "G3"])
        .args(["--release", "a@1.0.0", "--pack", "somewhere"])
        .run()
        .fails(2, &["--pack cannot be used with --server"]);
    // Nobody listening: a clear error after the retries, nothing panics.
    asom()
        .args(["--server", "http://127.0.0.1:9", "whoami"])
        .run()
        .fails(2, &["cannot reach the asom server at http://127.0.0.1:9"]);
    // No token at all.
    support::asom(tmp.path(), &dir)
        .args(["--server", "http://127.0.0.1:9", "whoami"])
        .run()
        .fails(2, &["ASOM_TOKEN"]);
}

#[path = "../../asom-store-postgres/tests/support/mod.rs"]
mod pg;

#[test]
fn two_servers_on_one_postgres_never_fork_the_log() {
    let Some(admin) = pg::admin_url("two_servers_on_one_postgres_never_fork_the_log") else {
        return;
    };
    let db = pg::TestDatabase::create(&admin);
    let tmp = TempDir::new().expect("temp dir");
    let dir = tmp.path().join("asom");
    let asom = || support::asom(tmp.path(), &dir).args(["--store", db.url.as_str()]);
    let init = asom().args(["--format", "json", "init"]).run().ok();
    let admin_token = init.json()["admin_token"]
        .as_str()
        .expect("admin token")
        .to_owned();
    for args in [
        &["principal", "create", "ci-bot", "--kind", "machine"][..],
        &[
            "product",
            "create",
            "sales",
            "--team",
            "data-eng",
            "--classification",
            "internal",
            "--change-type",
            "dq-rule-change",
        ],
        &["release", "create", "sales@1.0.0"],
    ] {
        asom().env("ASOM_TOKEN", &admin_token).args(args).run().ok();
    }
    let ci = asom()
        .env("ASOM_TOKEN", &admin_token)
        .args(["--format", "json", "token", "create", "ci-bot"])
        .run()
        .ok()
        .json()["token"]
        .as_str()
        .expect("token")
        .to_owned();
    // Two replicas on the one database (sharing the asom directory's key).
    let servers = [
        Served::start(tmp.path(), &dir, Some(&db.url)),
        Served::start(tmp.path(), &dir, Some(&db.url)),
    ];
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut threads = Vec::new();
    for t in 0..8 {
        let url = format!("{}/t/default/v1/evidence", servers[t % 2].url);
        let (ci, agent) = (ci.clone(), agent.clone());
        threads.push(std::thread::spawn(move || {
            let mut acked = Vec::new();
            for i in 0..20 {
                let body = serde_json::json!({
                    "release": "sales@1.0.0", "control": "C-06", "category": "T3",
                    "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                    "build": format!("b-{t}-{i}"), "environment": "ci", "status": "pass",
                    "source_type": "junit", "source_ref": "s3://bucket/report.xml",
                    "sha256": format!("{:064x}", t * 1000 + i),
                });
                let mut response = agent
                    .post(&url)
                    .header("Authorization", &format!("Bearer {ci}"))
                    .header("Content-Type", "application/json")
                    .send(serde_json::to_vec(&body).expect("json").as_slice())
                    .expect("the server answers");
                let text = response.body_mut().read_to_string().expect("body");
                assert_eq!(response.status().as_u16(), 200, "{text}");
                let out: serde_json::Value = serde_json::from_str(&text).expect("json");
                assert_eq!(out["recorded"]["new"], true, "{out}");
                acked.push((
                    out["recorded"]["index"].as_u64().expect("index"),
                    out["recorded"]["id"].as_str().expect("id").to_owned(),
                ));
            }
            acked
        }));
    }
    let acked: Vec<(u64, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    a_key_holds_on_every_replica(&servers, &ci, &agent);
    for s in servers {
        s.stop();
    }
    // 160 distinct entries at 160 distinct indexes, each where it was acknowledged.
    let indexes: std::collections::BTreeSet<u64> = acked.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes.len(), 160, "two servers handed out one index twice");
    let store = asom_store_postgres::PostgresStore::open(&db.url).expect("store");
    for (index, id) in &acked {
        use asom_store::Store as _;
        let entry = store
            .entry_at("default", *index)
            .expect("acknowledged entry");
        assert_eq!(&entry.id.to_hex(), id, "entry {index}");
    }
    drop(store);
    // One log, every checkpoint consistent with the last.
    asom().args(["ledger", "verify"]).run().ok();
}

/// An Idempotency-Key used on one replica holds on the other: the retry gets
/// the first answer, another body with the key is refused.
fn a_key_holds_on_every_replica(servers: &[Served; 2], ci: &str, agent: &ureq::Agent) {
    let post = |server: &Served, key: &str, build: &str| {
        let body = serde_json::json!({
            "release": "sales@1.0.0", "control": "C-06", "category": "T3",
            "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
            "build": build, "environment": "ci", "status": "pass",
            "source_type": "junit", "source_ref": "s3://bucket/retried.xml",
            "sha256": format!("{:064x}", 99_999),
        });
        let mut response = agent
            .post(&format!("{}/t/default/v1/evidence", server.url))
            .header("Authorization", &format!("Bearer {ci}"))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .send(serde_json::to_vec(&body).expect("json").as_slice())
            .expect("the server answers");
        let replayed = response.headers().contains_key("idempotent-replayed");
        let text = response.body_mut().read_to_string().expect("body");
        (response.status().as_u16(), replayed, text)
    };
    let first = post(&servers[0], "retried-build", "b-retried");
    assert_eq!((first.0, first.1), (200, false), "{}", first.2);
    let retry = post(&servers[1], "retried-build", "b-retried");
    assert_eq!(
        (retry.0, retry.1),
        (200, true),
        "the other replica replays the first answer: {}",
        retry.2
    );
    assert_eq!(retry.2, first.2, "byte for byte");
    let other = post(&servers[1], "retried-build", "b-other");
    assert_eq!(other.0, 422, "{}", other.2);
}
