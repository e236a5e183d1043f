//! Running the real `asom` binary from integration tests: a clean
//! environment, the command line kept for failure messages, and checks that
//! fail the test if the process panicked or was killed, whatever its exit code.
// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// What a finished `asom` process left behind.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub shown: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("{}: stdout is not JSON ({e}):\n{}", self.shown, self.stdout)
        })
    }

    /// Asserts exit 0 and no error message.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "{} should succeed\nstdout:\n{}\nstderr:\n{}",
            self.shown, self.stdout, self.stderr
        );
        assert!(
            !self.stderr.contains("error:"),
            "{}: exit 0 but stderr holds an error:\n{}",
            self.shown,
            self.stderr
        );
        self
    }

    /// Asserts the exit code and that stderr holds an `error:` naming every fragment.
    #[track_caller]
    pub fn fails(self, code: i32, fragments: &[&str]) -> Self {
        assert_eq!(
            self.code, code,
            "{} should exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.shown, self.stdout, self.stderr
        );
        self.names(fragments)
    }

    /// Asserts a non-zero exit and that stderr holds an `error:` naming every fragment.
    #[track_caller]
    pub fn refused(self, fragments: &[&str]) -> Self {
        assert_ne!(
            self.code, 0,
            "{} should be refused\nstdout:\n{}\nstderr:\n{}",
            self.shown, self.stdout, self.stderr
        );
        self.names(fragments)
    }

    #[track_caller]
    fn names(self, fragments: &[&str]) -> Self {
        assert!(
            self.stderr.contains("error:"),
            "{}: stderr should hold an `error:` message, got:\n{}",
            self.shown,
            self.stderr
        );
        for fragment in fragments {
            assert!(
                self.stderr.contains(fragment),
                "{}: stderr should mention {fragment:?}, got:\n{}",
                self.shown,
                self.stderr
            );
        }
        self
    }
}

/// A command line for the `asom` binary, with a clean environment.
pub struct Run {
    pub cmd: Command,
    pub shown: Vec<String>,
}

/// `asom --dir <dir> …` run in `cwd`, with no `ASOM_*`, `COLUMNS` or
/// `NO_COLOR` from the test's environment.
pub fn asom(cwd: &Path, dir: &Path) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_asom"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("ASOM_") || name == "COLUMNS" || name == "NO_COLOR" {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(cwd);
    Run {
        cmd,
        shown: vec!["asom".into()],
    }
    .arg("--dir")
    .arg(dir)
}

impl Run {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(name, value);
        self
    }

    /// Runs to completion. Fails the test on a panic or a signal, whatever the exit code.
    pub fn run(mut self) -> Output {
        let shown = self.shown.join(" ");
        let out = self
            .cmd
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {shown}: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{shown} panicked:\n{stderr}");
        assert!(
            !stderr.contains("RUST_BACKTRACE"),
            "{shown} panicked:\n{stderr}"
        );
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("{shown} was killed by a signal: {:?}", out.status));
        Output {
            code,
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr,
            shown,
        }
    }
}

/// `asom serve` as a child process on a store (`--store`, or the directory's
/// embedded one); its URL read from its log. Killed when dropped, unless
/// [`Served::stop`] stopped it first.
pub struct Served {
    child: std::process::Child,
    pub url: String,
}

impl Served {
    /// Starts `asom --dir DIR [--store STORE] serve --listen 127.0.0.1:0` in
    /// `cwd`, without the caller's token, server or clock.
    pub fn start(cwd: &Path, dir: &Path, store: Option<&str>) -> Self {
        use std::io::BufRead as _;
        let mut command = Command::new(env!("CARGO_BIN_EXE_asom"));
        command
            .current_dir(cwd)
            .env_remove("ASOM_TOKEN")
            .env_remove("ASOM_SERVER")
            .env_remove("ASOM_NOW")
            .arg("--dir")
            .arg(dir);
        if let Some(store) = store {
            command.args(["--store", store]);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting asom serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.split("listening on ")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .map(str::to_owned)
            })
            .expect("asom serve prints where it listens");
        // It logs a line per request: keep reading, or it blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Self { child, url }
    }

    /// Stops it with SIGTERM and asserts a clean exit.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "asom serve exits 0 on SIGTERM: {exit:?}");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Already reaped by `stop`, or still running: kill and reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
