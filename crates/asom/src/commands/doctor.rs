//! `asom doctor` and `asom config default|show`.
//!
//! Doctor checks, in order: the configuration, the store and tenant, the log
//! keys (files, modes, and that they open the latest checkpoint), the token
//! in `ASOM_TOKEN`, and each configured outside system (a cheap read that
//! proves the URL, the credentials and the read access). Exit 0 when
//! nothing failed (warnings allowed), 1 otherwise.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::anyhow;
use asom_ledger::note::NoteVerifier;
use asom_store::open_checkpoint;
use serde::Serialize;
use serde_json::json;

use crate::cli::ConfigCommand;
use crate::config::{Config, DEFAULT_CONFIG};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

/// One check's outcome.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    /// `ok`, `warn` or `fail`.
    status: &'static str,
    detail: String,
}

fn check(name: &'static str, status: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

pub fn config(ctx: Option<&Embedded>, command: &ConfigCommand, printer: &Printer) -> CliResult {
    match command {
        ConfigCommand::Default => printer.text(DEFAULT_CONFIG),
        ConfigCommand::Show => {
            let ctx = ctx.ok_or_else(|| CliError::usage(anyhow!("no asom directory")))?;
            let c = &ctx.config;
            printer.either(
                &json!({
                    "file": c.file.as_ref().map(|p| p.display().to_string()),
                    "change_system": shown(&c.change_system, c.change_provider()),
                    "planning": shown(&c.planning, c.planning_provider()),
                }),
                || {
                    format!(
                        "configuration: {}\nchange system: {}\nplanning: {}\n",
                        c.file.as_ref().map_or_else(
                            || "defaults (no file)".to_owned(),
                            |p| p.display().to_string()
                        ),
                        describe(&c.change_system, c.change_provider()),
                        describe(&c.planning, c.planning_provider())
                    )
                },
            )
        }
    }
}

fn shown(s: &crate::config::System, provider: &str) -> serde_json::Value {
    json!({
        "provider": provider,
        "url": s.url,
        "user": s.user,
        "secret_from": s.password_env.as_ref().or(s.token_env.as_ref()),
        "timeout_seconds": s.timeout_seconds,
        "retries": s.retries,
    })
}

fn describe(s: &crate::config::System, provider: &str) -> String {
    match &s.url {
        Some(url) => format!(
            "{provider} at {url}{}",
            s.user
                .as_ref()
                .map(|u| format!(" as {u}"))
                .unwrap_or_default()
        ),
        None => provider.to_owned(),
    }
}

pub fn run(ctx: &Embedded, printer: &Printer) -> CliResult {
    let mut checks = Vec::new();
    checks.push(check(
        "configuration",
        "ok",
        match &ctx.config.file {
            Some(p) => format!("read {}", p.display()),
            None => "no file: the built-in change and planning systems".to_owned(),
        },
    ));
    checks.push(store(ctx));
    checks.extend(keys(ctx));
    checks.push(token(ctx));
    checks.push(change_system(&ctx.config));
    checks.push(planning(&ctx.config));
    let failed = checks.iter().filter(|c| c.status == "fail").count();
    printer.either(&json!({"checks": checks, "ok": failed == 0}), || {
        let mut out = String::new();
        for c in &checks {
            let _ = writeln!(
                out,
                "{:<4} {:<14} {}",
                c.status.to_uppercase(),
                c.name,
                c.detail
            );
        }
        out
    })?;
    if failed > 0 {
        return Err(CliError::failed(anyhow!("{failed} check(s) failed")));
    }
    Ok(())
}

fn store(ctx: &Embedded) -> Check {
    match ctx.store.latest_checkpoint(&ctx.tenant) {
        Ok(cp) => check(
            "store",
            "ok",
            format!(
                "{} tenant {:?}, log size {}",
                ctx.store.describe(),
                ctx.tenant,
                cp.size
            ),
        ),
        Err(e) => check("store", "fail", e.to_string()),
    }
}

fn keys(ctx: &Embedded) -> Vec<Check> {
    let mut out = Vec::new();
    let stored = match ctx.store.log_keys(&ctx.tenant) {
        Ok(k) => k,
        Err(e) => return vec![check("log keys", "fail", e.to_string())],
    };
    let verifiers: Vec<NoteVerifier> = stored
        .iter()
        .filter_map(|k| k.verifier.parse().ok())
        .collect();
    match ctx.store.latest_checkpoint(&ctx.tenant) {
        Ok(cp) => match open_checkpoint(&cp.note, &verifiers) {
            Ok(_) => out.push(check(
                "log keys",
                "ok",
                format!(
                    "{} key(s); the latest checkpoint opens with them",
                    stored.len()
                ),
            )),
            Err(e) => out.push(check(
                "log keys",
                "fail",
                format!("the latest checkpoint does not open: {e}"),
            )),
        },
        Err(e) => out.push(check("log keys", "fail", e.to_string())),
    }
    let dir = ctx.dir.join(crate::context::KEYS_DIR);
    let prefix = format!("{}.", ctx.tenant);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .map(|r| {
            r.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default();
    if files.is_empty() {
        out.push(check(
            "key files",
            "warn",
            format!(
                "no key file for tenant {:?} in {}: this directory can read but not append",
                ctx.tenant,
                dir.display()
            ),
        ));
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let open: Vec<String> = files
                .iter()
                .filter(|f| {
                    f.metadata()
                        .is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
                })
                .map(|f| f.path().display().to_string())
                .collect();
            if !open.is_empty() {
                out.push(check(
                    "key files",
                    "fail",
                    format!("readable by others (chmod 600): {}", open.join(", ")),
                ));
                return out;
            }
        }
        out.push(check(
            "key files",
            "ok",
            format!("{} file(s), mode 0600", files.len()),
        ));
    }
    out
}

fn token(ctx: &Embedded) -> Check {
    if std::env::var_os("ASOM_TOKEN").is_none() {
        return check(
            "token",
            "warn",
            "ASOM_TOKEN is not set: reading works, changing needs a token",
        );
    }
    match ctx.authenticate() {
        Ok(a) => check("token", "ok", format!("acts as {}", a.principal().slug())),
        Err(e) => check("token", "fail", format!("{:#}", e.error)),
    }
}

fn change_system(config: &Config) -> Check {
    let provider = config.change_provider();
    match config.servicenow() {
        Ok(None) => check("change system", "ok", format!("{provider} (built in)")),
        Ok(Some(sn)) => timed(
            || sn.check().map_err(|e| e.to_string()),
            "change system",
            provider,
        ),
        Err(e) => check(
            "change system",
            "fail",
            format!("{provider}: {:#}", e.error),
        ),
    }
}

fn planning(config: &Config) -> Check {
    let provider = config.planning_provider();
    match config.jira() {
        Ok(None) => check("planning", "ok", format!("{provider} (built in)")),
        Ok(Some(j)) => timed(
            || j.check().map_err(|e| e.to_string()),
            "planning",
            provider,
        ),
        Err(e) => check("planning", "fail", format!("{provider}: {:#}", e.error)),
    }
}

fn timed(f: impl FnOnce() -> Result<String, String>, name: &'static str, provider: &str) -> Check {
    let started = Instant::now();
    match f() {
        Ok(what) => check(
            name,
            "ok",
            format!(
                "{provider}: {what} answered in {} ms",
                started.elapsed().as_millis()
            ),
        ),
        Err(e) => check(name, "fail", format!("{provider}: {e}")),
    }
}
