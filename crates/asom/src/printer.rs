//! The one place asom writes data: standard output or `--out FILE`.
//!
//! Data goes to stdout, everything else (logs, progress, notes for people)
//! to stderr. A closed pipe (`asom ledger get 5 | head -c 10`) ends the
//! program quietly.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::{Format, GlobalArgs};
use crate::exit::CliResult;

/// Where and how to print.
pub struct Printer {
    format: Format,
    stable: bool,
    out: Option<PathBuf>,
    private: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let format = if global.stable_json {
            Format::Json
        } else {
            global.format
        };
        Self {
            format,
            stable: global.stable_json,
            out: global.out.clone(),
            private: false,
        }
    }

    /// The same printer for output that holds a secret: an `--out` file is
    /// created readable by its owner only (mode 0600).
    pub fn private(&self) -> Self {
        Self {
            format: self.format,
            stable: self.stable,
            out: self.out.clone(),
            private: true,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The `--out` file, for commands whose product is a file (a bundle).
    pub fn out_path(&self) -> Option<PathBuf> {
        self.out.clone()
    }

    /// The same printer writing to standard output (for the summary of a
    /// command whose `--out` is its product).
    pub fn to_stdout(&self) -> Self {
        Self {
            format: self.format,
            stable: self.stable,
            out: None,
            private: false,
        }
    }

    /// Whether `--stable-json` asked for output that depends only on the
    /// inputs (commands leave out where in the ledger it landed, and timings).
    pub fn stable(&self) -> bool {
        self.stable
    }

    /// Writes raw bytes as the command's output.
    pub fn bytes(&self, data: &[u8]) -> CliResult {
        if let Some(path) = &self.out {
            return Ok(write_file(path, data, self.private)?);
        }
        let mut stdout = io::stdout().lock();
        Ok(ignore_broken_pipe(
            stdout.write_all(data).and_then(|()| stdout.flush()),
        )?)
    }

    /// Writes text as the command's output.
    pub fn text(&self, text: &str) -> CliResult {
        self.bytes(text.as_bytes())
    }

    /// Writes a value as JSON: canonical (RFC 8785, so sorted and
    /// byte-stable) followed by a newline.
    pub fn json<T: Serialize>(&self, value: &T) -> CliResult {
        let mut bytes = asom_ledger::jcs::to_canonical(value).context("serializing output")?;
        bytes.push(b'\n');
        self.bytes(&bytes)
    }

    /// Prints `json` or `text` depending on the format. Commands without a
    /// Markdown form refuse `--format markdown`.
    pub fn either<T: Serialize>(&self, json: &T, text: impl FnOnce() -> String) -> CliResult {
        match self.format {
            Format::Json => self.json(json),
            Format::Text => self.text(&text()),
            Format::Markdown | Format::Html => Err(crate::exit::CliError::usage(anyhow::anyhow!(
                "--format markdown is available for `gate check`, `promote`, `override list` and `audit`, --format html for `audit`; use text or json here"
            ))),
        }
    }

    /// Prints `json`, `text` or `markdown` depending on the format.
    pub fn report<T: Serialize>(
        &self,
        json: &T,
        text: impl FnOnce() -> String,
        markdown: impl FnOnce() -> String,
    ) -> CliResult {
        match self.format {
            Format::Json => self.json(json),
            Format::Text => self.text(&text()),
            Format::Markdown => self.text(&markdown()),
            Format::Html => Err(crate::exit::CliError::usage(anyhow::anyhow!(
                "--format html is available for `asom audit`; use text, json or markdown here"
            ))),
        }
    }
}

/// Writes a file only its owner can read (mode 0600 on Unix).
pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    write_file(path, data, true)
}

fn write_file(path: &Path, data: &[u8], private: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let file: File = options
        .open(path)
        .with_context(|| format!("creating output file {}", path.display()))?;
    let mut w = BufWriter::new(file);
    w.write_all(data)
        .and_then(|()| w.flush())
        .with_context(|| format!("writing {}", path.display()))
}

fn ignore_broken_pipe(result: io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other.context("writing to standard output"),
    }
}

/// A note for people on stderr (never data).
pub fn note(message: &str) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{message}");
}
