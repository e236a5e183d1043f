//! `asom release …`, `asom crq …`, `asom product …` and `asom change …`
//! with `--server`: the same story told to two equivalent stores, one in
//! process and one through a real `asom serve`, gives the same output and
//! the same exit code at every step, refusals included.
//!
//! The two stores differ only in what legitimately differs between two
//! stores: their keys and tokens, so entry ids (64 hex digits), and the
//! clock. Both are replaced by placeholders before comparing; everything
//! else (entry indexes, text, JSON, exit codes) must be identical.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Output, Run, Served};
use tempfile::TempDir;

const PRODUCT: &str = "sales";

/// A 40-digit commit SHA of one repeated hex digit.
fn sha(digit: char) -> String {
    digit.to_string().repeat(40)
}

/// An initialised store with product `sales`, the principals alice (human:
/// developer, release-approver), bob (human: release-approver), carol
/// (human: developer), gina (human: governance), ci-bot (machine) and
/// dev-bot (agent), a token for each, and `alice@corp.example` mapped to
/// alice. Set up in process.
struct World {
    dir: PathBuf,
    tokens: BTreeMap<String, String>,
}

impl World {
    fn new(root: &Path, name: &str) -> Self {
        let mut world = Self {
            dir: root.join(name),
            tokens: BTreeMap::new(),
        };
        let init = support::asom(root, &world.dir)
            .args(["--format", "json", "init"])
            .run()
            .ok();
        let admin = init.json()["admin_token"]
            .as_str()
            .expect("init prints admin_token")
            .to_owned();
        world.tokens.insert("admin".into(), admin);
        world
            .local(root, "admin")
            .args(["product", "create", PRODUCT, "--team", "data-eng"])
            .args(["--classification", "internal"])
            .args(["--change-type", "incremental-change"])
            .run()
            .ok();
        let principals: [&[&str]; 6] = [
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
            &["carol", "--kind", "human", "--role", "developer"],
            &["gina", "--kind", "human", "--role", "governance"],
            &["ci-bot", "--kind", "machine"],
            &["dev-bot", "--kind", "agent", "--agent-kind", "dev"],
        ];
        for args in principals {
            world
                .local(root, "admin")
                .args(["principal", "create"])
                .args(args)
                .run()
                .ok();
            let token = world
                .local(root, "admin")
                .args(["--format", "json", "token", "create", args[0]])
                .run()
                .ok()
                .json()["token"]
                .as_str()
                .expect("token create prints token")
                .to_owned();
            world.tokens.insert(args[0].to_owned(), token);
        }
        world
            .local(root, "admin")
            .args([
                "identity",
                "alias",
                "alice@corp.example",
                "--person",
                "alice",
            ])
            .run()
            .ok();
        world
    }

    /// `asom --dir <store> …` in process, acting as `who`.
    fn local(&self, cwd: &Path, who: &str) -> Run {
        support::asom(cwd, &self.dir).env("ASOM_TOKEN", &self.tokens[who])
    }
}

/// Replaces what legitimately differs between two stores: 64-hex-digit
/// entry ids, and RFC 3339 times (every command prints times that way).
fn normalise(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digits = |from: usize, n: usize| {
        from + n <= chars.len() && chars[from..from + n].iter().all(char::is_ascii_digit)
    };
    let timeish = |c: char| c.is_ascii_digit() || matches!(c, ':' | '.' | 'Z' | '+' | '-');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        let is_time = starts_word
            && digits(i, 4)
            && chars.get(i + 4) == Some(&'-')
            && digits(i + 5, 2)
            && chars.get(i + 7) == Some(&'-')
            && digits(i + 8, 2)
            && chars.get(i + 10) == Some(&'T');
        if is_time {
            let mut j = i + 11;
            while j < chars.len() && timeish(chars[j]) {
                j += 1;
            }
            out.push_str("<time>");
            i = j;
            continue;
        }
        if starts_word && chars[i].is_ascii_hexdigit() {
            let mut j = i;
            while j < chars.len() && matches!(chars[j], '0'..='9' | 'a'..='f') {
                j += 1;
            }
            if j - i == 64 && (j == chars.len() || !chars[j].is_ascii_alphanumeric()) {
                out.push_str("<hash>");
                i = j;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[test]
fn normalise_replaces_ids_and_times_only() {
    let id = "ab".repeat(32);
    assert_eq!(
        normalise(&format!(
            "entry 7 (id {id}); at 2026-11-21T12:43:22.116Z\n\"at\":\"2026-11-21T12:43:22.116Z\" {}",
            "c".repeat(40)
        )),
        format!(
            "entry 7 (id <hash>); at <time>\n\"at\":\"<time>\" {}",
            "c".repeat(40)
        )
    );
}

/// Two equivalent stores, the second behind `asom serve`.
struct Pair {
    tmp: TempDir,
    local: World,
    served: World,
    server: Served,
    steps: usize,
}

impl Pair {
    fn new() -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let local = World::new(tmp.path(), "local");
        let served = World::new(tmp.path(), "served");
        let serve = Served::start(tmp.path(), &served.dir, None);
        Self {
            tmp,
            local,
            served,
            server: serve,
            steps: 0,
        }
    }

    /// Runs `args` as `who` in process on the one store and with `--server`
    /// on the other; asserts the same exit code and the same stdout; returns
    /// the remote run's output.
    #[track_caller]
    fn both(&mut self, who: &str, args: &[&str]) -> Output {
        self.both_with(who, args, |r| r)
    }

    #[track_caller]
    fn both_with(&mut self, who: &str, args: &[&str], extra: impl Fn(Run) -> Run) -> Output {
        self.steps += 1;
        let cwd = self.tmp.path();
        let local = extra(self.local.local(cwd, who).args(args)).run();
        let remote = extra(
            support::asom(cwd, &self.tmp.path().join("nowhere"))
                .env("ASOM_TOKEN", &self.served.tokens[who])
                .args(["--server", &self.server.url])
                .args(args),
        )
        .run();
        assert_eq!(
            local.code, remote.code,
            "{args:?} as {who}: exit codes differ\nin process: {}\n{}\nserver: {}\n{}",
            local.code, local.stderr, remote.code, remote.stderr
        );
        assert_eq!(
            normalise(&local.stdout),
            normalise(&remote.stdout),
            "{args:?} as {who}: output differs\nin process stderr: {}\nserver stderr: {}",
            local.stderr,
            remote.stderr
        );
        if local.code != 0 {
            assert!(
                remote.stderr.contains("error:"),
                "{args:?}: no error message from the server run:\n{}",
                remote.stderr
            );
        }
        remote
    }

    /// As [`Pair::both`], in text and then in JSON (for commands that read).
    #[track_caller]
    fn read(&mut self, args: &[&str]) -> Output {
        self.both("carol", args);
        let mut json = vec!["--format", "json"];
        json.extend_from_slice(args);
        self.both("carol", &json)
    }
}

#[test]
fn release_crq_product_and_change_commands_answer_alike_in_process_and_on_the_server() {
    let mut p = Pair::new();
    products(&mut p);
    let (a, head) = changes(&mut p);
    releases(&mut p, &a, &head);
    crqs(&mut p);
    approvals(&mut p);
    verification_and_show(&mut p, &a);
    assert!(p.steps > 40, "{} steps", p.steps);
}

fn products(p: &mut Pair) {
    // Products.
    let created = p.both(
        "admin",
        &[
            "product",
            "create",
            "orders",
            "--team",
            "data-eng",
            "--classification",
            "confidential",
            "--change-type",
            "new-pipeline",
            "--material",
            "--name",
            "Orders",
        ],
    );
    assert!(
        created.stdout.contains("created product orders"),
        "{}",
        created.stdout
    );
    p.both(
        "admin",
        &[
            "--format",
            "json",
            "product",
            "create",
            "billing",
            "--team",
            "data-eng",
            "--classification",
            "internal",
            "--change-type",
            "dq-rule-change",
        ],
    );
    // An agent may not create a product; a bad flag is a usage error.
    let refused = p.both(
        "dev-bot",
        &[
            "product",
            "create",
            "x",
            "--team",
            "t",
            "--classification",
            "internal",
            "--change-type",
            "new-pipeline",
        ],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let bad = p.both(
        "admin",
        &[
            "product",
            "create",
            "y",
            "--team",
            "t",
            "--classification",
            "secret",
            "--change-type",
            "new-pipeline",
        ],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    p.read(&["product", "show", "orders"]);
    p.read(&["product", "list"]);
    assert_eq!(p.read(&["product", "show", "nope"]).code, 2);
}

/// Returns the commit recorded from flags and the head of the git range.
fn changes(p: &mut Pair) -> (String, String) {
    // Changes: from flags, and from a git repository read on the client.
    let a = sha('a');
    p.both(
        "admin",
        &[
            "change",
            "record",
            "--product",
            PRODUCT,
            "--commit",
            &a,
            "--author",
            "alice",
            "--jira",
            "ORD-1",
            "--summary",
            "Add refunds",
        ],
    );
    let repo = Repo::new(&p.tmp.path().join("git"));
    let base = repo.commit(("Dan Base", "dan@corp.example"), "initial import");
    repo.commit(
        ("Alice", "alice@corp.example"),
        "Fix totals\n\nJira: ORD-2\nReviewed-by: Bob <bob@corp.example>\n",
    );
    let head = repo.commit(("Carol", "carol@corp.example"), "ORD-3: more totals");
    let range = format!("{base}..HEAD");
    let repo_path = repo.path.to_str().expect("UTF-8 path").to_owned();
    let from_git = p.both_with(
        "admin",
        &[
            "--format",
            "json",
            "change",
            "record",
            "--product",
            PRODUCT,
            "--from-git",
            &range,
            "--repo",
            &repo_path,
        ],
        |mut r| {
            repo.isolate(&mut r.cmd);
            r
        },
    );
    assert_eq!(from_git.code, 0, "{}", from_git.stderr);
    assert_eq!(from_git.json().as_array().map(Vec::len), Some(2));
    // Recording the same change again writes nothing, alike.
    let again = p.both(
        "admin",
        &[
            "change",
            "record",
            "--product",
            PRODUCT,
            "--commit",
            &a,
            "--author",
            "alice",
            "--jira",
            "ORD-1",
            "--summary",
            "Add refunds",
        ],
    );
    assert!(
        again.stdout.contains("already in the ledger"),
        "{}",
        again.stdout
    );
    assert_eq!(
        p.both(
            "admin",
            &[
                "change",
                "record",
                "--product",
                PRODUCT,
                "--commit",
                &sha('b')
            ]
        )
        .code,
        2,
        "no author"
    );
    p.read(&["change", "show", &a]);
    p.read(&["change", "show", &head]);
    assert_eq!(p.read(&["change", "show", &sha('c')]).code, 2);

    (a, head)
}

fn releases(p: &mut Pair, a: &str, head: &str) {
    // Releases.
    p.both("admin", &["release", "create", "sales@1.0.0"]);
    p.both(
        "admin",
        &["--format", "json", "release", "create", "sales@1.1.0"],
    );
    assert_eq!(
        p.both("admin", &["release", "create", "sales@1.0.0"]).code,
        1,
        "exists"
    );
    assert_eq!(
        p.both("admin", &["release", "create", "nope@1.0.0"]).code,
        2,
        "no product"
    );
    assert_eq!(
        p.both("admin", &["release", "create", "not-a-release"])
            .code,
        2
    );
    assert_eq!(
        p.both("dev-bot", &["release", "create", "sales@2.0.0"])
            .code,
        1
    );
    p.both(
        "admin",
        &[
            "release",
            "scope",
            "sales@1.0.0",
            "--jira",
            "ORD-1",
            "--commit",
            a,
        ],
    );
    p.both(
        "admin",
        &[
            "--format",
            "json",
            "release",
            "scope",
            "sales@1.1.0",
            "--jira",
            "ORD-2",
            "--jira",
            "ORD-3",
            "--commit",
            head,
        ],
    );
    assert_eq!(
        p.both(
            "admin",
            &["release", "scope", "sales@1.0.0", "--commit", &sha('c')]
        )
        .code,
        2,
        "an unrecorded change"
    );
    p.read(&["release", "list"]);
}

fn crqs(p: &mut Pair) {
    // CRQs: an agent may not create one; an unknown release is exit 2.
    let agent = p.both("dev-bot", &["crq", "create", "--release", "sales@1.0.0"]);
    assert_eq!(agent.code, 1, "{}", agent.stderr);
    assert_eq!(
        p.both("admin", &["crq", "create", "--release", "nope@9.9.9"])
            .code,
        2
    );
    assert_eq!(
        p.both(
            "admin",
            &["crq", "create", "--release", "sales@1.0.0", "--type", "odd"]
        )
        .code,
        2
    );
    p.both("admin", &["crq", "create", "--release", "sales@1.0.0"]);
    p.both(
        "admin",
        &[
            "--format",
            "json",
            "crq",
            "create",
            "--release",
            "sales@1.1.0",
            "--type",
            "standard",
            "--number",
            "CRQ0000042",
        ],
    );
    assert_eq!(
        p.both("admin", &["crq", "create", "--release", "sales@1.0.0"])
            .code,
        1,
        "one CRQ per release"
    );
    // The built-in change system links nothing.
    assert_eq!(
        p.both(
            "admin",
            &[
                "crq",
                "link",
                "--release",
                "sales@1.1.0",
                "--number",
                "CHG0000001"
            ]
        )
        .code,
        2
    );
    p.both("admin", &["crq", "transition", "CRQ0000001", "assess"]);
    assert_eq!(
        p.both("admin", &["crq", "transition", "CRQ0000001", "closed"])
            .code,
        1,
        "not a valid next state"
    );
    assert_eq!(
        p.both("admin", &["crq", "transition", "CRQ0000009", "assess"])
            .code,
        2
    );
    p.both(
        "admin",
        &[
            "--format",
            "json",
            "crq",
            "window",
            "CRQ0000001",
            "--start",
            "2026-11-21T22:00:00Z",
            "--end",
            "2026-11-22T02:00:00Z",
        ],
    );
    assert_eq!(
        p.both(
            "admin",
            &[
                "crq",
                "window",
                "CRQ0000001",
                "--start",
                "tonight",
                "--end",
                "later"
            ]
        )
        .code,
        2
    );
}

fn approvals(p: &mut Pair) {
    // Approvals: a developer without the approver role is refused; the
    // author approving her own release is recorded and flagged (C-02).
    let carol = p.both("carol", &["crq", "approve", "CRQ0000001", "--stage", "qa"]);
    assert_eq!(carol.code, 1, "{}", carol.stderr);
    let own = p.both("alice", &["crq", "approve", "CRQ0000001", "--stage", "qa"]);
    assert_eq!(own.code, 0, "{}", own.stderr);
    assert!(
        own.stdout.contains("WARNING recorded, but flagged"),
        "{}",
        own.stdout
    );
    assert!(own.stdout.contains("author-approves"), "{}", own.stdout);
    p.both(
        "bob",
        &[
            "--format",
            "json",
            "crq",
            "approve",
            "CRQ0000001",
            "--stage",
            "qa",
            "--comment",
            "looks fine",
        ],
    );
    p.both("bob", &["crq", "reject", "CRQ0000001", "--stage", "prod"]);
    assert_eq!(
        p.both(
            "bob",
            &["crq", "approve", "CRQ0000001", "--stage", "staging"]
        )
        .code,
        2
    );
    p.read(&["crq", "show", "CRQ0000001"]);
    p.read(&["crq", "show", "CRQ0000042"]);
    assert_eq!(p.read(&["crq", "show", "CRQ0000404"]).code, 2);
}

fn verification_and_show(p: &mut Pair, a: &str) {
    // Evidence from CI, then the governance verification.
    p.both(
        "ci-bot",
        &[
            "evidence",
            "record",
            "--release",
            "sales@1.0.0",
            "--commit",
            a,
            "--control",
            "C-06",
            "--category",
            "T3",
            "--build",
            "b-1",
            "--environment",
            "ci",
            "--status",
            "pass",
            "--source-type",
            "junit",
            "--source-ref",
            "s3://bucket/report.xml",
            "--sha256",
            &"0".repeat(64),
        ],
    );
    assert_eq!(
        p.both("carol", &["release", "verify", "sales@1.0.0"]).code,
        1
    );
    p.both(
        "gina",
        &["release", "verify", "sales@1.0.0", "--note", "complete"],
    );
    p.both(
        "gina",
        &["--format", "json", "release", "verify", "sales@1.1.0"],
    );
    assert_eq!(p.both("gina", &["release", "verify", "nope@1.0.0"]).code, 2);

    // The whole release, as both see it.
    let shown = p.read(&["release", "show", "sales@1.0.0"]);
    let doc = shown.json();
    assert_eq!(doc["evidence"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["crq"]["number"], "CRQ0000001", "{doc}");
    p.read(&["release", "show", "sales@1.1.0"]);
    let unknown = p.read(&["release", "show", "nope@1.0.0"]);
    assert_eq!(unknown.code, 2, "an unknown release is a usage error");
    p.read(&["release", "list"]);
}

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
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
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
