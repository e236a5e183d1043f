//! Reading a commit range from the local git repository into asom
//! [`Change`]s, for `asom change record --from-git A..B`.
//!
//! git runs as a subprocess ([`read_range`]); its output is then turned into
//! domain values ([`to_changes`]). Nothing here writes to the repository.
//!
//! # What is read
//!
//! - **The range.** `A..B` (or `A...B`, `A..`, `..B`): every commit git lists
//!   for it, as `git log A..B` would. Anything without `..` is one revision
//!   (`HEAD`, a tag, a SHA) and reads that single commit only. Commits come
//!   oldest first, parents before children.
//! - **Merge commits are included.** Whoever merges (and perhaps resolves
//!   conflicts) is an author of what ships, which separation of duties must
//!   see; [`GitCommit::is_merge`] marks them. The commits a merge brings in are
//!   listed separately, as git lists them.
//! - **Identities are the ones written in the commit** (`%an <%ae>`), not
//!   rewritten through `.mailmap`: asom's identity directory maps aliases, and
//!   the commit object is the auditable fact. A commit whose author email is
//!   empty or unusable is refused ([`GitError::NoAuthorEmail`]). The committer
//!   is kept on [`GitCommit`] but is not an author: a rebase or a web-UI merge
//!   button changes the committer without writing code.
//! - **Replacement refs are ignored** (`--no-replace-objects`), so
//!   `git replace` cannot substitute what is read.
//!
//! # Trailers
//!
//! Trailers are parsed by git itself (`%(trailers:only,unfold)`, the rules of
//! `git interpret-trailers --parse`: the last paragraph of the message, folded
//! lines joined). Keys match case-insensitively:
//!
//! | Trailer | Becomes |
//! |---|---|
//! | `Co-authored-by: Name <email>` | an author, next to the commit's author |
//! | `Reviewed-by: …`, `Approved-by: …` | a reviewer |
//! | `Jira: ABC-1, ABC-2 ABC-3` | Jira keys, separated by commas and/or whitespace |
//!
//! Other trailers (`Signed-off-by`, `Acked-by`, `Tested-by`, …) are ignored.
//! Every `Jira:` value must be a Jira key; one that is not is refused by
//! [`to_changes`], naming the commit.
//!
//! # Jira keys in the subject
//!
//! Keys written in the subject line also count (`ORD-12: add refunds`,
//! `[ORD-12] …`, `fix(ORD-12): …`). To keep ordinary words out, a subject key
//! must be written in uppercase, have a project part of at least two
//! characters, stand alone (no letter, digit, `_` or `-` directly before or
//! after it, and no `.digit` after it, so `CVE-2024-1234` and `PY-3.11` are not
//! keys), and its project must not be one of the well-known standards
//! prefixes in `NOT_JIRA_PROJECTS` (`UTF-8`, `SHA-256`, `RFC-9110`, …). Keys
//! in the body are not read; put them in a `Jira:` trailer.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use asom_core::identity::Alias;
use asom_core::principal::Slug;
use asom_core::release::{Change, CommitSha, JiraKey, ReleaseError};

/// One commit of a range, as git describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCommit {
    /// The full commit id (40 or 64 hex digits).
    pub sha: String,
    /// The author, `Name <email>` (just the email when the name is empty).
    pub author: String,
    /// The committer, in the same form. Not counted as an author.
    pub committer: String,
    /// The subject (first paragraph of the message, on one line).
    pub subject: String,
    /// Jira keys from `Jira:` trailers (as written, not yet validated) and
    /// from the subject.
    pub jira_keys: BTreeSet<String>,
    /// `Reviewed-by:` and `Approved-by:` trailer values, in message order.
    pub reviewers: Vec<String>,
    /// `Co-authored-by:` trailer values, in message order.
    pub co_authors: Vec<String>,
    /// Whether the commit has more than one parent.
    pub is_merge: bool,
}

/// Reading a commit range from git failed; each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The `git` program is not installed (or not on `PATH`).
    #[error(
        "git was not found (tried to run {program:?}): install git, or record the change with flags instead of --from-git"
    )]
    NotInstalled {
        /// The program asom tried to run.
        program: String,
    },
    /// git could not be started for another reason.
    #[error("could not run git: {0}")]
    Spawn(#[source] io::Error),
    /// The directory is not (inside) a git repository git can use.
    #[error(
        "{} is not a git repository git can read: run asom inside the repository, or record the change with flags instead of --from-git (git said: {stderr})",
        describe_dir(repo)
    )]
    NotARepository {
        /// The directory given.
        repo: PathBuf,
        /// What git printed.
        stderr: String,
    },
    /// The range is not something to hand to git.
    #[error("invalid git range {range:?}: {problem}; give A..B (e.g. main..feature) or one commit")]
    BadRange {
        /// The range given (clipped).
        range: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// git refused the range, usually because a revision does not exist.
    #[error(
        "git could not read {range:?}: {stderr}; check that both ends exist in this repository (`git log --oneline {range}`), and `git fetch` if one is a remote branch"
    )]
    UnknownRevision {
        /// The range given.
        range: String,
        /// What git printed.
        stderr: String,
    },
    /// The range holds no commits.
    #[error(
        "no commits in {range}: A..B lists the commits reachable from B but not from A; check the order of the two ends, and that B has commits A does not"
    )]
    EmptyRange {
        /// The range given.
        range: String,
    },
    /// A commit whose author email is empty or not a usable identity.
    #[error(
        "commit {sha} has no usable author email ({author:?}): asom tells authors apart by email; fix the commit (`git commit --amend --reset-author`, or a rebase) or record the change with flags"
    )]
    NoAuthorEmail {
        /// The commit.
        sha: String,
        /// The author as git wrote it.
        author: String,
    },
    /// A `Jira:` trailer value that is not a Jira key.
    #[error(
        "commit {sha}: the Jira trailer value {value:?} is not a Jira key: {source}; write `Jira: ABC-123, ABC-124` (amend or rebase the commit) or record the change with flags"
    )]
    BadJiraKey {
        /// The commit (short).
        sha: String,
        /// The value as written.
        value: String,
        /// Why it was refused.
        source: Box<ReleaseError>,
    },
    /// A commit that does not make a valid [`Change`] (e.g. a malformed
    /// `Co-authored-by:` identity).
    #[error(
        "commit {sha}: {source}; fix the commit's trailers (amend or rebase) or record the change with flags"
    )]
    InvalidChange {
        /// The commit (short).
        sha: String,
        /// Why it was refused.
        source: Box<ReleaseError>,
    },
    /// git printed something asom cannot parse.
    #[error(
        "git printed output asom cannot read ({problem}); please report this with the output of `git --version`"
    )]
    UnexpectedOutput {
        /// What was wrong.
        problem: String,
    },
}

/// Reads `range` (e.g. `main..feature`, `A..B`, or a single commit) from the
/// repository at `repo` (pass `.` for the current directory). The module
/// documentation lists the rules; an empty range is an error.
pub fn read_range(repo: &Path, range: &str) -> Result<Vec<GitCommit>, GitError> {
    Git::system().read_range(repo, range)
}

/// Turns commits into [`Change`]s of `product`: authors are the author and the
/// `Co-authored-by:` trailers, reviewers the `Reviewed-by:` and `Approved-by:`
/// trailers, Jira keys the `Jira:` trailers and the keys in the subject, and
/// the summary is the subject.
pub fn to_changes(commits: &[GitCommit], product: &Slug) -> Result<Vec<Change>, GitError> {
    commits.iter().map(|c| to_change(c, product)).collect()
}

fn to_change(commit: &GitCommit, product: &Slug) -> Result<Change, GitError> {
    let short = short_sha(&commit.sha);
    let invalid = |source| GitError::InvalidChange {
        sha: short.clone(),
        source: Box::new(source),
    };
    let sha = CommitSha::parse(&commit.sha).map_err(invalid)?;
    let jira_keys = commit
        .jira_keys
        .iter()
        .map(|value| {
            JiraKey::parse(value).map_err(|source| GitError::BadJiraKey {
                sha: short.clone(),
                value: value.clone(),
                source: Box::new(source),
            })
        })
        .collect::<Result<BTreeSet<_>, _>>()?;
    let authors: Vec<String> = std::iter::once(&commit.author)
        .chain(&commit.co_authors)
        .cloned()
        .collect();
    Change::new(
        sha,
        product.clone(),
        &authors,
        &commit.reviewers,
        jira_keys,
        Some(commit.subject.clone()),
    )
    .map_err(invalid)
}

// ---------------------------------------------------------------------------
// Running git
// ---------------------------------------------------------------------------

/// Fields per commit in [`LOG_FORMAT`], each ended by NUL (the last by `-z`).
const FIELDS: usize = 8;

/// NUL cannot occur in a commit message git writes, so subjects with any
/// other character (including `\x1e`/`\x1f`) cannot break the framing.
/// Trailer keys and values are split by `\x1f`, one trailer a line (values
/// are unfolded, so they hold no newline).
const LOG_FORMAT: &str = "--format=%H%x00%P%x00%an%x00%ae%x00%cn%x00%ce%x00%s%x00%(trailers:only,unfold,key_value_separator=%x1f)";

/// How git is run: the program, and (in tests) an isolated environment.
struct Git {
    program: OsString,
    /// `None`: inherit asom's environment. `Some`: only these variables.
    env: Option<Vec<(OsString, OsString)>>,
}

impl Git {
    fn system() -> Self {
        Self {
            program: "git".into(),
            env: None,
        }
    }

    fn command(&self, repo: &Path) -> Command {
        let mut cmd = Command::new(&self.program);
        if let Some(vars) = &self.env {
            cmd.env_clear().envs(vars.iter().map(|(k, v)| (k, v)));
        }
        // Untranslated messages; never prompt for credentials.
        cmd.env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .args(["--no-pager", "--no-replace-objects", "-C"])
            .arg(repo);
        cmd
    }

    fn run(&self, repo: &Path, args: &[&str]) -> Result<Output, GitError> {
        self.command(repo)
            .args(args)
            .output()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => GitError::NotInstalled {
                    program: self.program.to_string_lossy().into_owned(),
                },
                _ => GitError::Spawn(e),
            })
    }

    fn read_range(&self, repo: &Path, range: &str) -> Result<Vec<GitCommit>, GitError> {
        let range = check_range(range)?;
        let probe = self.run(repo, &["rev-parse", "--git-dir"])?;
        if !probe.status.success() {
            return Err(GitError::NotARepository {
                repo: repo.to_owned(),
                stderr: stderr_text(&probe),
            });
        }
        let mut args = vec![
            "log",
            "-z",
            "--topo-order",
            "--reverse",
            "--no-color",
            "--no-mailmap",
            "--no-show-signature",
            "--encoding=UTF-8",
            LOG_FORMAT,
        ];
        if !range.contains("..") {
            args.push("--no-walk");
        }
        // `--end-of-options` and `--`: the range is a revision, never an option or a path.
        args.extend(["--end-of-options", range, "--"]);
        let out = self.run(repo, &args)?;
        if !out.status.success() {
            return Err(GitError::UnknownRevision {
                range: range.to_owned(),
                stderr: stderr_text(&out),
            });
        }
        let commits = parse_log(&out.stdout)?;
        if commits.is_empty() {
            return Err(GitError::EmptyRange {
                range: range.to_owned(),
            });
        }
        for c in &commits {
            tracing::debug!(
                sha = %c.sha,
                author = %c.author,
                committer = %c.committer,
                merge = c.is_merge,
                "read commit from git"
            );
        }
        Ok(commits)
    }
}

fn check_range(range: &str) -> Result<&str, GitError> {
    let trimmed = range.trim();
    let bad = |problem| GitError::BadRange {
        range: range.chars().take(80).collect(),
        problem,
    };
    if trimmed.is_empty() {
        Err(bad("it is empty"))
    } else if trimmed.starts_with('-') {
        Err(bad("it starts with '-'"))
    } else if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(bad("it contains whitespace or control characters"))
    } else {
        Ok(trimmed)
    }
}

/// git's error output, trimmed and clipped for quoting.
fn stderr_text(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = text.trim();
    if text.is_empty() {
        format!("git exited with {} and printed nothing", out.status)
    } else {
        text.chars().take(600).collect()
    }
}

/// A directory for messages: `.` and the empty path read as "the current directory".
fn describe_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() || dir == Path::new(".") {
        "the current directory".to_owned()
    } else {
        dir.display().to_string()
    }
}

fn short_sha(sha: &str) -> String {
    sha.chars().take(12).collect()
}

// ---------------------------------------------------------------------------
// Parsing git's output
// ---------------------------------------------------------------------------

fn parse_log(stdout: &[u8]) -> Result<Vec<GitCommit>, GitError> {
    let text = String::from_utf8_lossy(stdout);
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let unexpected = |problem: String| GitError::UnexpectedOutput { problem };
    let body = text
        .strip_suffix('\0')
        .ok_or_else(|| unexpected("the output does not end with NUL".to_owned()))?;
    let fields: Vec<&str> = body.split('\0').collect();
    if !fields.len().is_multiple_of(FIELDS) {
        return Err(unexpected(format!(
            "{} fields, not a multiple of {FIELDS}",
            fields.len()
        )));
    }
    fields.chunks_exact(FIELDS).map(parse_commit).collect()
}

fn parse_commit(record: &[&str]) -> Result<GitCommit, GitError> {
    let &[
        sha,
        parents,
        author_name,
        author_email,
        committer_name,
        committer_email,
        subject,
        trailers,
    ] = record
    else {
        unreachable!("parse_log passes chunks of exactly {FIELDS} fields");
    };
    if !(matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(GitError::UnexpectedOutput {
            problem: format!("{:?} is not a commit id", short_sha(sha)),
        });
    }
    let author = identity(author_name, author_email);
    let email = author_email.trim();
    if email.is_empty() || Alias::parse(email).is_err() {
        return Err(GitError::NoAuthorEmail {
            sha: short_sha(sha),
            author,
        });
    }
    let trailers = Trailers::parse(trailers);
    let mut jira_keys = trailers.jira_keys;
    jira_keys.extend(jira_keys_in_subject(subject));
    Ok(GitCommit {
        sha: sha.to_owned(),
        author,
        committer: identity(committer_name, committer_email),
        subject: subject.to_owned(),
        jira_keys,
        reviewers: trailers.reviewers,
        co_authors: trailers.co_authors,
        is_merge: parents.split_whitespace().count() > 1,
    })
}

/// `Name <email>`, or the email alone when the name is empty.
fn identity(name: &str, email: &str) -> String {
    let (name, email) = (name.trim(), email.trim());
    if name.is_empty() {
        email.to_owned()
    } else {
        format!("{name} <{email}>")
    }
}

/// The trailers asom reads from one commit.
#[derive(Debug, Default, PartialEq, Eq)]
struct Trailers {
    jira_keys: BTreeSet<String>,
    reviewers: Vec<String>,
    co_authors: Vec<String>,
}

impl Trailers {
    /// Parses git's `%(trailers:only,unfold,key_value_separator=%x1f)`:
    /// one `key\x1fvalue` a line.
    fn parse(text: &str) -> Self {
        let mut found = Self::default();
        for (key, value) in text.lines().filter_map(|l| l.split_once('\x1f')) {
            let (key, value) = (key.trim(), value.trim());
            if value.is_empty() {
                continue;
            }
            if key.eq_ignore_ascii_case("jira") {
                found.jira_keys.extend(
                    value
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned),
                );
            } else if key.eq_ignore_ascii_case("co-authored-by") {
                found.co_authors.push(value.to_owned());
            } else if key.eq_ignore_ascii_case("reviewed-by")
                || key.eq_ignore_ascii_case("approved-by")
            {
                found.reviewers.push(value.to_owned());
            }
        }
        found
    }
}

/// Project keys that look like Jira keys in a subject but are standards
/// (`UTF-8`, `SHA-256`, `ISO-8601`, `RFC-9110`, `IEEE-754`, `MD-5`, …).
const NOT_JIRA_PROJECTS: &[&str] = &[
    "CVE", "CWE", "ECMA", "GHSA", "IEC", "IEEE", "ISO", "MD", "PEP", "RFC", "SHA", "UTF",
];

/// Jira keys written in a subject line; see the module documentation for
/// the rule.
fn jira_keys_in_subject(subject: &str) -> Vec<String> {
    let bytes = subject.as_bytes();
    let joins = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !joins(bytes[i - 1]);
        if !(starts_word && bytes[i].is_ascii_uppercase()) {
            i += 1;
            continue;
        }
        // Project: uppercase letters, digits, '_'.
        let project_end = (i..bytes.len())
            .find(|&j| {
                !(bytes[j].is_ascii_uppercase() || bytes[j].is_ascii_digit() || bytes[j] == b'_')
            })
            .unwrap_or(bytes.len());
        if bytes.get(project_end) != Some(&b'-') {
            i = project_end.max(i + 1);
            continue;
        }
        let number_start = project_end + 1;
        let number_end = (number_start..bytes.len())
            .find(|&j| !bytes[j].is_ascii_digit())
            .unwrap_or(bytes.len());
        let after = bytes.get(number_end).copied();
        let ends_word = match after {
            None => true,
            Some(b'.') => !bytes.get(number_end + 1).is_some_and(u8::is_ascii_digit),
            Some(b) => !joins(b),
        };
        let project = &subject[i..project_end];
        if ends_word
            && project.len() >= 2
            && number_end > number_start
            && !NOT_JIRA_PROJECTS.contains(&project)
        {
            // Valid ASCII slice; JiraKey checks lengths and leading zeros.
            let candidate = &subject[i..number_end];
            if let Ok(key) = JiraKey::parse(candidate) {
                keys.push(key.as_str().to_owned());
            }
        }
        i = number_end.max(i + 1);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::fs;

    const ANN: (&str, &str) = ("Ann Author", "ann@corp.example");
    const DEV: (&str, &str) = ("Zoë Ångström", "zoe@corp.example");
    const MIA: (&str, &str) = ("Mia Merger", "mia@corp.example");

    // -- pure parsing ------------------------------------------------------

    #[test]
    fn subject_keys_follow_the_documented_rule() {
        for (subject, want) in [
            ("ORD-12: add refunds", &["ORD-12"][..]),
            ("[ORD-12] add refunds", &["ORD-12"]),
            (
                "fix(ORD-12): x, see DATA_2-7 and ORD-13.",
                &["ORD-12", "DATA_2-7", "ORD-13"],
            ),
            ("branch feature/ORD-14 merged", &["ORD-14"]),
            ("Ünïcødé ORD-15🚀 done", &["ORD-15"]),
            ("ORD-16", &["ORD-16"]),
            // Not keys: lowercase, one-letter projects, leading zeros,
            // joined to other words, versions, standards.
            ("ord-1 Ord-2 X-3 ORD-01 ORD-", &[]),
            ("xORD-4 ORD-5x ORD-6-feature ORD_7-8a", &[]),
            ("PY-3.11 and CVE-2024-1234, GHSA-1", &[]),
            ("UTF-8 SHA-256 ISO-8601 RFC-9110 MD-5 IEEE-754", &[]),
            ("ABCDEFGHIJK-1 is too long", &[]),
        ] {
            assert_eq!(jira_keys_in_subject(subject), want, "{subject:?}");
        }
    }

    #[test]
    fn trailers_are_read_case_insensitively() {
        let text = "Jira\x1fORD-1\njira\x1fORD-2, ord-3\nJIRA\x1f ORD-4  ORD-5,,ORD-6 \n\
                    Co-authored-by\x1fBé <be@corp.example>\nreviewed-by\x1fRev <rev@corp.example>\n\
                    Approved-By\x1fboss@corp.example\nSigned-off-by\x1fAnn <ann@corp.example>\n\
                    Jira\x1f\nnot a trailer line\n";
        let t = Trailers::parse(text);
        assert_eq!(
            t.jira_keys,
            ["ORD-1", "ORD-2", "ord-3", "ORD-4", "ORD-5", "ORD-6"]
                .map(str::to_owned)
                .into()
        );
        assert_eq!(t.co_authors, ["Bé <be@corp.example>"]);
        assert_eq!(t.reviewers, ["Rev <rev@corp.example>", "boss@corp.example"]);
    }

    #[test]
    fn log_output_framing_is_checked() {
        assert_eq!(parse_log(b"").unwrap(), []);
        let sha = "a".repeat(40);
        let good = format!("{sha}\0\0Ann\0ann@x\0\0\0subject\0\0");
        let commits = parse_log(good.as_bytes()).unwrap();
        assert_eq!(commits[0].author, "Ann <ann@x>");
        assert_eq!(commits[0].committer, "");
        for bad in [
            good.trim_end_matches('\0').to_owned(),
            format!("{sha}\0\0Ann\0ann@x\0subject\0\0"),
            good.replacen(&sha, "not-a-sha", 1),
        ] {
            let err = parse_log(bad.as_bytes()).unwrap_err();
            assert!(matches!(err, GitError::UnexpectedOutput { .. }), "{err}");
        }
    }

    #[test]
    fn ranges_are_checked_before_git_runs() {
        for bad in ["", "  ", "--output=/tmp/x", "-p", "main ..feature", "a\tb"] {
            let err = check_range(bad).unwrap_err();
            assert!(
                matches!(err, GitError::BadRange { .. }) && err.to_string().contains("A..B"),
                "{bad:?}: {err}"
            );
        }
        assert_eq!(check_range(" main..feature\n").unwrap(), "main..feature");
    }

    #[test]
    fn to_changes_builds_validated_changes() {
        let commit = GitCommit {
            sha: "A".repeat(40),
            author: "Ann <ann@corp.example>".into(),
            committer: "Cy <cy@corp.example>".into(),
            subject: "ORD-1 work".into(),
            jira_keys: ["ORD-1", "ord-2"].map(str::to_owned).into(),
            reviewers: vec!["rev@corp.example".into()],
            co_authors: vec!["Bo <bo@corp.example>".into()],
            is_merge: false,
        };
        let product = Slug::new("orders").unwrap();
        let change = &to_changes(std::slice::from_ref(&commit), &product).unwrap()[0];
        assert_eq!(change.commit().as_str(), "a".repeat(40));
        assert_eq!(change.authors().len(), 2);
        assert_eq!(change.reviewers().len(), 1);
        let keys: Vec<_> = change.jira_keys().iter().map(JiraKey::as_str).collect();
        assert_eq!(keys, ["ORD-1", "ORD-2"]);
        assert_eq!(change.summary(), Some("ORD-1 work"));

        let bad_sha = GitCommit {
            sha: "xyz".into(),
            ..commit
        };
        let err = to_changes(&[bad_sha], &product).unwrap_err();
        assert!(matches!(err, GitError::InvalidChange { .. }), "{err}");
    }

    // -- real repositories -------------------------------------------------

    /// A temporary directory with an isolated git environment: no system or
    /// user configuration, no repository discovery above it, fixed identities.
    struct Sandbox {
        dir: tempfile::TempDir,
        git: Git,
    }

    impl Sandbox {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let home = dir.path().join("home");
            fs::create_dir(&home).unwrap();
            let mut env: Vec<(OsString, OsString)> = vec![
                ("HOME".into(), home.clone().into()),
                ("XDG_CONFIG_HOME".into(), home.into()),
                ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
                ("GIT_CEILING_DIRECTORIES".into(), dir.path().into()),
                ("GIT_AUTHOR_NAME".into(), ANN.0.into()),
                ("GIT_AUTHOR_EMAIL".into(), ANN.1.into()),
                ("GIT_COMMITTER_NAME".into(), "Cy Committer".into()),
                ("GIT_COMMITTER_EMAIL".into(), "cy@corp.example".into()),
            ];
            if let Some(path) = std::env::var_os("PATH") {
                env.push(("PATH".into(), path));
            }
            let git = Git {
                program: "git".into(),
                env: Some(env),
            };
            Self { dir, git }
        }

        /// A new repository in `name`.
        fn repo(&self, name: &str, extra_init_args: &[&str]) -> PathBuf {
            let path = self.dir.path().join(name);
            fs::create_dir(&path).unwrap();
            let mut args = vec!["init", "-q", "-b", "main"];
            args.extend(extra_init_args);
            self.git_ok(&path, None, &args);
            path
        }

        /// Runs git in `repo` (as `author`, if given), returning stdout.
        fn git_ok(&self, repo: &Path, author: Option<(&str, &str)>, args: &[&str]) -> String {
            let mut cmd = self.git.command(repo);
            cmd.args(["-c", "commit.gpgsign=false"]).args(args);
            if let Some((name, email)) = author {
                cmd.env("GIT_AUTHOR_NAME", name)
                    .env("GIT_AUTHOR_EMAIL", email);
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "git {args:?}: {}", stderr_text(&out));
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        }

        /// An empty commit with `message`, returning its id.
        fn commit(&self, repo: &Path, author: (&str, &str), message: &str) -> String {
            let file = self.dir.path().join("message.txt");
            fs::write(&file, message).unwrap();
            let file = file.to_str().unwrap();
            self.git_ok(
                repo,
                Some(author),
                &["commit", "-q", "--allow-empty", "-F", file],
            );
            self.git_ok(repo, None, &["rev-parse", "HEAD"])
        }

        fn read(&self, repo: &Path, range: &str) -> Result<Vec<GitCommit>, GitError> {
            self.git.read_range(repo, range)
        }
    }

    fn orders() -> Slug {
        Slug::new("orders").unwrap()
    }

    #[test]
    fn a_range_reads_authors_reviewers_and_jira_keys() {
        let sb = Sandbox::new();
        let repo = sb.repo("r", &[]);
        sb.commit(&repo, ANN, "base ORD-99");
        let first = sb.commit(
            &repo,
            ANN,
            "ORD-1: add orders\n\nBody mentions ORD-50, which is not read.\n\n\
             Jira: ORD-2\njira: ORD-3, ORD-4\nJIRA : ORD-5 ORD-6\n\
             Co-authored-by: Zoë Ångström <zoe@corp.example>\n\
             Reviewed-by: Rev Iewer\n  <rev@corp.example>\n\
             Approved-by: Boss <boss@corp.example>\nSigned-off-by: Ann Author <ann@corp.example>\n",
        );
        let second = sb.commit(&repo, DEV, "plain subject");

        let commits = sb.read(&repo, "HEAD~2..HEAD").unwrap();
        assert_eq!(commits.len(), 2);
        let c = &commits[0];
        assert_eq!(c.sha, first);
        assert_eq!(c.author, "Ann Author <ann@corp.example>");
        assert_eq!(c.committer, "Cy Committer <cy@corp.example>");
        assert_eq!(c.subject, "ORD-1: add orders");
        assert_eq!(
            c.jira_keys,
            ["ORD-1", "ORD-2", "ORD-3", "ORD-4", "ORD-5", "ORD-6"]
                .map(str::to_owned)
                .into()
        );
        assert_eq!(c.co_authors, ["Zoë Ångström <zoe@corp.example>"]);
        assert_eq!(
            c.reviewers,
            ["Rev Iewer <rev@corp.example>", "Boss <boss@corp.example>"]
        );
        assert!(!c.is_merge);
        assert_eq!(commits[1].sha, second);
        assert_eq!(commits[1].author, "Zoë Ångström <zoe@corp.example>");
        assert!(commits[1].jira_keys.is_empty() && commits[1].reviewers.is_empty());

        let changes = to_changes(&commits, &orders()).unwrap();
        let authors: Vec<_> = changes[0].authors().iter().map(String::as_str).collect();
        assert_eq!(
            authors,
            [
                "Ann Author <ann@corp.example>",
                "Zoë Ångström <zoe@corp.example>"
            ]
        );
        assert_eq!(changes[0].reviewers().len(), 2);
        assert_eq!(changes[0].jira_keys().len(), 6);
        assert_eq!(changes[1].summary(), Some("plain subject"));
    }

    #[test]
    fn one_revision_reads_that_commit_only() {
        let sb = Sandbox::new();
        let repo = sb.repo("r", &[]);
        sb.commit(&repo, ANN, "one");
        let two = sb.commit(&repo, ANN, "two");
        let three = sb.commit(&repo, ANN, "three");
        let by_sha = sb.read(&repo, &two).unwrap();
        assert_eq!(by_sha.len(), 1);
        assert_eq!(by_sha[0].subject, "two");
        let head = sb.read(&repo, "HEAD").unwrap();
        assert_eq!((head.len(), head[0].sha.as_str()), (1, three.as_str()));
        assert_eq!(sb.read(&repo, &format!("{two}..")).unwrap().len(), 1);
    }

    #[test]
    fn merges_are_included_with_their_author() {
        let sb = Sandbox::new();
        let repo = sb.repo("r", &[]);
        let base = sb.commit(&repo, ANN, "base");
        sb.git_ok(&repo, None, &["checkout", "-q", "-b", "feature"]);
        sb.commit(
            &repo,
            DEV,
            "ORD-20 feature work\n\nReviewed-by: ann@corp.example\n",
        );
        sb.git_ok(&repo, None, &["checkout", "-q", "main"]);
        sb.commit(&repo, ANN, "ORD-21 main work");
        sb.git_ok(
            &repo,
            Some(MIA),
            &[
                "merge",
                "-q",
                "--no-ff",
                "-m",
                "Merge branch 'feature' (ORD-22)",
                "feature",
            ],
        );

        let commits = sb.read(&repo, &format!("{base}..main")).unwrap();
        assert_eq!(commits.len(), 3, "{commits:#?}");
        let merge = commits.last().unwrap();
        assert!(merge.is_merge);
        assert_eq!(merge.author, "Mia Merger <mia@corp.example>");
        assert_eq!(merge.jira_keys, ["ORD-22".to_owned()].into());
        assert!(commits[..2].iter().all(|c| !c.is_merge));
        let mut subjects: Vec<_> = commits[..2].iter().map(|c| c.subject.as_str()).collect();
        subjects.sort_unstable();
        assert_eq!(subjects, ["ORD-20 feature work", "ORD-21 main work"]);

        // Everything on the feature branch is now in main.
        let err = sb.read(&repo, "main..feature").unwrap_err();
        assert!(matches!(err, GitError::EmptyRange { .. }), "{err}");
        assert!(
            err.to_string().starts_with("no commits in main..feature"),
            "{err}"
        );
    }

    #[test]
    fn unicode_and_separator_characters_survive() {
        let sb = Sandbox::new();
        let repo = sb.repo("r", &[]);
        let subject = "Ünïcødé 🚀 \u{1e}rec\u{1f}unit %x00 <a@b> : \"q\" ORD-7 \\ end";
        sb.commit(&repo, DEV, &format!("{subject}\n\nJira: ORD-8\n"));
        let commits = sb.read(&repo, "HEAD").unwrap();
        assert_eq!(commits.len(), 1);
        assert_eq!(commits[0].subject, subject);
        assert_eq!(commits[0].author, "Zoë Ångström <zoe@corp.example>");
        assert_eq!(
            commits[0].jira_keys,
            ["ORD-7", "ORD-8"].map(str::to_owned).into()
        );
        to_changes(&commits, &orders()).unwrap();
    }

    #[test]
    fn sha256_repositories_work() {
        let sb = Sandbox::new();
        let repo = sb.repo("r", &["--object-format=sha256"]);
        let sha = sb.commit(&repo, ANN, "ORD-1 in sha256");
        let commits = sb.read(&repo, "HEAD").unwrap();
        assert_eq!((commits[0].sha.len(), &commits[0].sha), (64, &sha));
        to_changes(&commits, &orders()).unwrap();
    }

    #[test]
    fn bad_trailers_are_refused_naming_the_commit() {
        let sb = Sandbox::new();
        let repo = sb.repo("r", &[]);
        let sha = sb.commit(&repo, ANN, "work\n\nJira: ORD-1, not-a-key\n");
        let commits = sb.read(&repo, "HEAD").unwrap();
        let err = to_changes(&commits, &orders()).unwrap_err().to_string();
        assert!(
            err.contains(&sha[..12]) && err.contains("\"not-a-key\"") && err.contains("ABC-123"),
            "{err}"
        );

        let sha = sb.commit(
            &repo,
            ANN,
            "work\n\nCo-authored-by: Half <open@corp.example\n",
        );
        let commits = sb.read(&repo, "HEAD").unwrap();
        let err = to_changes(&commits, &orders()).unwrap_err();
        assert!(matches!(err, GitError::InvalidChange { .. }), "{err}");
        let err = err.to_string();
        assert!(err.contains(&sha[..12]) && err.contains("author"), "{err}");
    }

    #[test]
    fn a_commit_without_author_email_is_refused() {
        let sb = Sandbox::new();
        let repo = sb.repo("r", &[]);
        let sha = sb.commit(&repo, ("Nobody", ""), "anonymous");
        let err = sb.read(&repo, "HEAD").unwrap_err();
        assert!(matches!(err, GitError::NoAuthorEmail { .. }), "{err}");
        let err = err.to_string();
        assert!(
            err.contains(&sha[..12]) && err.contains("--reset-author"),
            "{err}"
        );
    }

    #[test]
    fn unusable_places_and_ranges_say_what_to_do() {
        let sb = Sandbox::new();
        let plain = sb.dir.path().join("plain");
        fs::create_dir(&plain).unwrap();
        for (dir, git_said) in [
            (plain, "not a git repository"),
            (sb.dir.path().join("missing"), "cannot change to"),
        ] {
            let err = sb.read(&dir, "HEAD").unwrap_err();
            let text = err.to_string();
            assert!(text.contains("run asom inside the repository"), "{text}");
            let GitError::NotARepository { stderr, .. } = err else {
                panic!("{text}");
            };
            assert!(stderr.contains(git_said), "{stderr}");
        }

        let repo = sb.repo("r", &[]);
        sb.commit(&repo, ANN, "one");
        let err = sb.read(&repo, "HEAD..nope").unwrap_err();
        assert!(matches!(err, GitError::UnknownRevision { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("bad revision 'HEAD..nope'") && text.contains("git fetch"),
            "{text}"
        );

        let err = sb.read(&repo, "HEAD..HEAD").unwrap_err();
        assert!(matches!(err, GitError::EmptyRange { .. }), "{err}");
        let err = sb.read(&repo, "--output=x").unwrap_err();
        assert!(matches!(err, GitError::BadRange { .. }), "{err}");
        assert!(!repo.join("x").exists());

        let missing_git = Git {
            program: sb.dir.path().join("no-such-git").into(),
            env: None,
        };
        let err = missing_git.read_range(&repo, "HEAD").unwrap_err();
        assert!(matches!(err, GitError::NotInstalled { .. }), "{err}");
        assert!(err.to_string().contains("install git"), "{err}");
    }
}
