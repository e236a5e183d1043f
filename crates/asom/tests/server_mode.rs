//! The CLI with `--server` (`ASOM_SERVER`): the demo with CI's commands sent
//! to a real `asom serve`, decided the same as in process; and what the CLI
//! says when the server mode cannot do what is asked.

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
    // CI's commands went to the server: evidence, gates, promotions, replays.
    for command in [
        "evidence record",
        "gate check G3",
        "promote --release",
        "gate replay",
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
        .args(["--server", "http://127.0.0.1:9", "release", "list"])
        .run()
        .fails(2, &["does not work with --server", "gate check"]);
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
