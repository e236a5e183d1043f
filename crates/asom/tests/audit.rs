//! The audit walkthrough and the offline evidence bundle (issue 7), on the
//! store `asom demo --at DIR` leaves: the worked example's release, with its
//! first G3 block, its remediation and its promotion to PROD.
//!
//! Bundles are unpacked and repacked with the system's `tar`, as an auditor
//! would, to change one byte of one file at a time.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Output, Run};
use tempfile::TempDir;

const RELEASE: &str = "sales-transactions@1.4.0";

/// A kept demo: its directory and its principals' tokens.
struct Demo {
    tmp: TempDir,
    root: PathBuf,
    tokens: BTreeMap<String, String>,
}

impl Demo {
    fn new() -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let root = tmp.path().join("demo");
        support::asom(tmp.path(), &root.join(".asom"))
            .args(["demo", "--at"])
            .arg(&root)
            .run()
            .ok();
        let env = std::fs::read_to_string(root.join("tokens.env")).expect("tokens.env");
        let tokens = env
            .lines()
            .filter_map(|l| l.strip_prefix("ASOM_TOKEN_")?.split_once('='))
            .map(|(who, t)| (who.to_lowercase(), t.to_owned()))
            .collect();
        Self { tmp, root, tokens }
    }

    fn asom(&self) -> Run {
        support::asom(self.tmp.path(), &self.root.join(".asom"))
    }

    fn act(&self, who: &str) -> Run {
        self.asom().env("ASOM_TOKEN", &self.tokens[who])
    }

    fn pubkey(&self) -> String {
        self.asom()
            .args(["ledger", "pubkey"])
            .run()
            .ok()
            .stdout
            .trim()
            .to_owned()
    }

    /// Exports the release to `<tmp>/<name>.tar.gz` as admin.
    fn export(&self, name: &str) -> PathBuf {
        let out = self.tmp.path().join(format!("{name}.tar.gz"));
        self.act("admin")
            .args(["export", RELEASE, "--out"])
            .arg(&out)
            .run()
            .ok();
        out
    }

    fn verify(&self, bundle: &Path, key: &str) -> Output {
        self.asom()
            .args(["verify-bundle"])
            .arg(bundle)
            .args(["--key", key])
            .run()
    }
}

fn tar(args: &[&str], dir: &Path) {
    let status = Command::new("tar")
        .args(args)
        .current_dir(dir)
        .status()
        .expect("run tar");
    assert!(status.success(), "tar {args:?}");
}

/// Unpacks a bundle into a fresh folder under `tmp`; returns its top folder.
fn unpack(bundle: &Path, tmp: &Path, name: &str) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    tar(&["xzf", bundle.to_str().expect("utf-8 path")], &dir);
    dir.join("asom-bundle")
}

/// Packs a top folder back into a bundle.
fn pack(top: &Path, out: &Path) {
    tar(
        &["czf", out.to_str().expect("utf-8 path"), "asom-bundle"],
        top.parent().expect("parent"),
    );
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).expect("read dir") {
            let path = item.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_demo_audit_shows_the_first_g3_block_and_its_remediation() {
    let demo = Demo::new();
    let json = demo
        .asom()
        .args(["--format", "json", "audit", RELEASE])
        .run()
        .ok()
        .json();
    assert_eq!(json["schema"], "asom.audit.v1");
    assert_eq!(json["crq"]["number"], "CRQ0000001");
    assert_eq!(
        json["scope"].as_array().map(Vec::len),
        Some(3),
        "{:#}",
        json["scope"]
    );
    let decisions = json["decisions"].as_array().expect("decisions");
    let g3: Vec<&Value> = decisions.iter().filter(|d| d["gate"] == "G3").collect();
    assert_eq!(g3[0]["result"], "block", "{g3:#?}");
    assert!(g3.iter().skip(1).all(|d| d["result"] == "pass"), "{g3:#?}");
    for control in ["C-01", "C-05", "C-06"] {
        assert!(
            g3[0]["controls"]
                .as_array()
                .expect("controls")
                .contains(&Value::from(control)),
            "{control} in {:#}",
            g3[0]
        );
    }
    assert!(
        decisions.iter().all(|d| d["replay"] == "identical"),
        "{decisions:#?}"
    );
    // Coverage: C-05 proven at G3 and G4; C-09 only at G4.
    let row = |id: &str| {
        json["coverage"]
            .as_array()
            .expect("coverage")
            .iter()
            .find(|r| r["control"] == id)
            .cloned()
            .expect("row")
    };
    assert_eq!(row("C-05")["gates"]["G3"]["status"], "pass");
    assert_eq!(row("C-09")["gates"]["G4"]["status"], "pass");
    assert_eq!(row("C-09")["gates"]["G3"]["status"], "not checked");
    assert_eq!(row("C-01")["gates"]["G4"]["status"], "approved");
    assert_eq!(row("C-02")["gates"]["G3"]["status"], "holds");
    // Every evidence entry traced to its artifact and producer.
    let evidence = json["evidence"].as_array().expect("evidence");
    assert_eq!(evidence.len(), 17);
    assert!(evidence.iter().all(|e| {
        e["producer"] == "ci"
            && e["sha256"].as_str().is_some_and(|s| s.len() == 64)
            && e["source_ref"]
                .as_str()
                .is_some_and(|s| s.starts_with("file:artifacts/"))
    }));
    // Approvals with identities and times; SoD holds for both stages.
    let approvals = json["approvals"].as_array().expect("approvals");
    assert!(
        approvals
            .iter()
            .any(|a| a["what"] == "CRQ CRQ0000001 for QA" && a["by"] == "bob")
    );
    assert!(
        approvals
            .iter()
            .any(|a| a["what"] == "governance verification" && a["by"] == "gina")
    );
    assert!(
        json["sod"]
            .as_array()
            .expect("sod")
            .iter()
            .all(|s| s["holds"] == true)
    );
    assert_eq!(json["promotions"].as_array().map(Vec::len), Some(2));
}

#[test]
fn the_markdown_walkthrough_follows_the_playbooks_order() {
    let demo = Demo::new();
    let json = demo
        .asom()
        .args(["--format", "json", "audit", RELEASE])
        .run()
        .ok()
        .json();
    let g3: Vec<&Value> = json["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter(|d| d["gate"] == "G3")
        .collect();
    // The Markdown walkthrough, in order, with the block and what resolved it.
    let md = demo.asom().args(["audit", RELEASE]).run().ok().stdout;
    let mut at = 0;
    for section in [
        "## 1. The change request",
        "## 2. The Jira scope",
        "## 3. The release's ledger entries",
        "## 4. Control coverage",
        "## 5. Evidence, traced to its artifacts",
        "## 6. Human approvals",
        "## 7. Separation of duties",
        "## 8. Gate decisions",
        "## 9. Overrides, N/A exceptions and promotions",
    ] {
        let found = md[at..]
            .find(section)
            .unwrap_or_else(|| panic!("{section} after byte {at}:\n{md}"));
        at += found;
    }
    let block = g3[0]["index"].as_u64().expect("index");
    let pass = g3[1]["index"].as_u64().expect("index");
    assert!(
        md.contains(&format!(
            "### What G3 decision #{block} (block) named, resolved by #{pass} (pass)"
        )),
        "{md}"
    );
    assert!(
        md.contains("C-05 (access control & least privilege) has no passing evidence"),
        "{md}"
    );
    assert!(
        md.contains("fix: run the T4 (access/security) checks"),
        "{md}"
    );
}

#[test]
fn the_html_report_is_one_self_contained_page() {
    let demo = Demo::new();
    let html = demo
        .asom()
        .args(["--format", "html", "audit", RELEASE])
        .run()
        .ok()
        .stdout;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"));
    // No external assets: no scripts, no links, no remote URLs.
    for forbidden in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} in the report");
    }
    assert!(html.contains("@media print"));
    // Text is escaped: the control title "access control & least privilege".
    assert!(html.contains("access control &amp; least privilege"));
    assert!(!html.contains("access control & least"));
    // Every table row is closed.
    assert_eq!(html.matches("<tr>").count(), html.matches("</tr>").count());
}

/// Renders the HTML report in headless Chromium and takes a screenshot.
/// Needs Debian's `chromium`; CI installs it and sets
/// `ASOM_REQUIRE_CHROMIUM=1`, which turns a missing browser into a failure.
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("ASOM_REQUIRE_CHROMIUM").is_none(),
            "ASOM_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        #[allow(clippy::print_stderr)] // The one place a test says it did not run.
        {
            eprintln!("skipped: no chromium installed (CI installs it and requires this test)");
        }
        return;
    };
    let demo = Demo::new();
    let page = demo.tmp.path().join("audit.html");
    demo.asom()
        .args(["--format", "html", "--out"])
        .arg(&page)
        .args(["audit", RELEASE])
        .run()
        .ok();
    let shot = demo.tmp.path().join("audit.png");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,2000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 10_000, "a blank page? {} bytes", png.len());
    // The DOM as rendered holds the walkthrough's text.
    let dom = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("Audit walkthrough"), "{dom}");
    assert!(dom.contains("9. Overrides, N/A exceptions and promotions"));
}

#[test]
fn a_bundle_verifies_offline_and_any_changed_byte_is_named() {
    let demo = Demo::new();
    let key = demo.pubkey();
    let bundle = demo.export("bundle");
    let ok = demo.verify(&bundle, &key).ok();
    assert!(ok.stdout.starts_with("verified: "), "{}", ok.stdout);
    assert!(ok.stdout.contains("G3 block"), "{}", ok.stdout);

    // Standard tools agree: sha256sum and the bundled Python verifier.
    let top = unpack(&bundle, demo.tmp.path(), "plain");
    let sums = Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(&top)
        .output()
        .expect("sha256sum");
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stdout)
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(top.join("manifest.json")).expect("manifest"))
            .expect("json");
    let export = manifest["export_entry"].as_u64().expect("export entry");
    let py = Command::new("python3")
        .args(["tools/asom_verify.py", "receipt", "--key", "@verifier.key"])
        .arg("--entry")
        .arg(format!("entries/{export}.json"))
        .arg("--receipt")
        .arg(format!("proofs/{export}.tlog"))
        .current_dir(&top)
        .output()
        .expect("python3");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );

    // One changed byte in any file fails, naming the file (and the entry).
    let files = files_under(&top);
    assert!(files.len() > 90, "{files:?}");
    for (n, file) in files.iter().enumerate() {
        let top = unpack(&bundle, demo.tmp.path(), &format!("t{n}"));
        let path = top.join(file);
        let mut bytes = std::fs::read(&path).expect("read");
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).expect("write");
        let changed = demo.tmp.path().join(format!("t{n}.tar.gz"));
        pack(&top, &changed);
        let out = demo
            .verify(&changed, &key)
            .fails(1, &["does not verify", file]);
        if let Some(index) = file
            .strip_prefix("entries/")
            .or_else(|| file.strip_prefix("proofs/"))
            .and_then(|f| f.split('.').next())
        {
            assert!(
                out.stderr.contains(&format!("(entry {index})")),
                "{file}: {}",
                out.stderr
            );
        }
        std::fs::remove_dir_all(top.parent().expect("parent")).expect("clean");
    }
}

#[test]
fn a_bundle_does_not_verify_against_another_tenants_key_or_without_a_proof() {
    let demo = Demo::new();
    let other = Demo::new();
    let bundle = demo.export("bundle");
    demo.verify(&bundle, &other.pubkey())
        .fails(1, &["checkpoint.txt", "not signed by"]);

    let top = unpack(&bundle, demo.tmp.path(), "missing");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(top.join("manifest.json")).expect("manifest"))
            .expect("json");
    let first = manifest["entries"][0].as_u64().expect("an entry");
    std::fs::remove_file(top.join(format!("proofs/{first}.tlog"))).expect("remove");
    let changed = demo.tmp.path().join("missing.tar.gz");
    pack(&top, &changed);
    demo.verify(&changed, &demo.pubkey()).fails(
        1,
        &[
            &format!("proofs/{first}.tlog (entry {first})"),
            "proof is missing",
        ],
    );

    // Not a bundle at all: an input error.
    let junk = demo.tmp.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not a bundle").expect("write");
    demo.verify(&junk, &demo.pubkey())
        .fails(2, &["is not a readable bundle"]);
    // Without --key, it checks against the key it carries and says so.
    let out = demo.asom().args(["verify-bundle"]).arg(&bundle).run().ok();
    assert!(
        out.stderr.contains("proves consistency, not origin"),
        "{}",
        out.stderr
    );
}

#[test]
fn export_is_recorded_and_needs_a_token_and_an_out_file() {
    let demo = Demo::new();
    demo.asom()
        .args(["export", RELEASE, "--out", "x.tar.gz"])
        .run()
        .fails(2, &["ASOM_TOKEN"]);
    demo.act("admin")
        .args(["export", RELEASE])
        .run()
        .fails(2, &["--out"]);
    let bundle = demo.export("b");
    let top = unpack(&bundle, demo.tmp.path(), "x");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(top.join("manifest.json")).expect("manifest"))
            .expect("json");
    let export = manifest["export_entry"].as_u64().expect("export entry");
    let entry = demo
        .asom()
        .args(["--format", "json", "ledger", "get", &export.to_string()])
        .run()
        .ok()
        .json();
    assert_eq!(entry["kind"], "export");
    assert_eq!(entry["entry"]["appended_by"], "admin");
    assert_eq!(entry["entry"]["content"]["release"], RELEASE);
}

/// A one-thread HTTP/1.1 server answering `GET /artifact` with `body` and
/// anything else with 404, for `asom verify --artifacts`.
fn serve(body: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut stream = stream.expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request = String::new();
            reader.read_line(&mut request).expect("request line");
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).expect("header") <= 2 {
                    break;
                }
            }
            let (status, payload): (&str, &[u8]) = if request.starts_with("GET /artifact ") {
                ("200 OK", &body)
            } else {
                ("404 Not Found", b"no such artifact")
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                payload.len()
            );
            stream.write_all(head.as_bytes()).expect("write head");
            stream.write_all(payload).expect("write body");
        }
    });
    (base, handle)
}

#[test]
fn verify_artifacts_rehashes_files_and_urls_and_reports_drift_per_entry() {
    let demo = Demo::new();
    let verify = |args: &[&str]| {
        // Run where the demo ran: `file:` references are relative to it.
        support::asom(&demo.root, &demo.root.join(".asom"))
            .args(["--format", "json", "verify", "--artifacts"])
            .args(args)
            .run()
    };
    let all = verify(&[]).ok().json();
    assert_eq!(all["verified"], true);
    let checks = all["artifacts"].as_array().expect("artifacts");
    assert_eq!(checks.len(), 17);
    assert!(checks.iter().all(|c| c["status"] == "ok"), "{checks:#?}");

    // One artifact changed on disk, one removed: drift and missing, by entry.
    std::fs::write(demo.root.join("artifacts/C-06-T3-e69de29.json"), b"{}").expect("write");
    std::fs::remove_file(demo.root.join("artifacts/C-09-T8-e69de29.json")).expect("remove");
    let out = verify(&["--release", RELEASE]).fails(1, &["drifted"]);
    let doc = out.json();
    let by_status = |s: &str| -> Vec<String> {
        doc["artifacts"]
            .as_array()
            .expect("artifacts")
            .iter()
            .filter(|c| c["status"] == s)
            .map(|c| c["control"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(by_status("drift"), ["C-06"]);
    assert_eq!(by_status("missing"), ["C-09"]);
    assert_eq!(doc["log"]["verified"], true);

    // Over HTTP: the recorded digest, then other bytes at the same URL.
    let body = b"{\"rows\": 1200, \"violations\": 0}\n".to_vec();
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&body))
    };
    let (base, server) = serve(body);
    let url = format!("{base}/artifact");
    let record = |reference: &str| {
        demo.act("ci")
            .args([
                "evidence",
                "record",
                "--release",
                RELEASE,
                "--control",
                "C-06",
            ])
            .args([
                "--category",
                "T3",
                "--commit",
                "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
            ])
            .args(["--build", "813", "--environment", "qa", "--status", "pass"])
            .args([
                "--source-type",
                "dq-report",
                "--sha256",
                &sha,
                "--source-ref",
                reference,
            ])
            .run()
            .ok();
    };
    record(&url);
    record(&format!("{base}/gone"));
    record("s3://evidence-bucket/dq/813.json");
    let doc = verify(&["--release", RELEASE]).fails(1, &[]).json();
    let find = |r: &str| {
        doc["artifacts"]
            .as_array()
            .expect("artifacts")
            .iter()
            .find(|c| c["source_ref"] == r)
            .cloned()
            .unwrap_or_else(|| panic!("{r} in {doc:#}"))
    };
    assert_eq!(find(&url)["status"], "ok", "{doc:#}");
    assert_eq!(find(&format!("{base}/gone"))["status"], "missing");
    let s3 = find("s3://evidence-bucket/dq/813.json");
    assert_eq!(s3["status"], "skipped");
    assert!(s3["detail"].as_str().unwrap_or("").contains("credentials"));
    server.join().expect("server");
}
