//! `asom gate check|replay|mode`, and the decision reports `promote` shares.

use std::fmt::Write as _;

use anyhow::anyhow;

use asom_governance::Recorded;
use asom_governance::gates::{Decision, Gate, Mode};
use asom_server::api::ops::{CheckGate, ReplayDecision};
use serde_json::json;

use crate::cli::GateCommand;
use crate::commands::{Runner, parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn run(ctx: &Embedded, command: &GateCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        GateCommand::Check { .. } | GateCommand::Replay { .. } => {
            let pack = match command {
                GateCommand::Check { pack, .. } | GateCommand::Replay { pack, .. } => pack,
                GateCommand::Mode { .. } => &None,
            };
            run_on(&Runner::local(ctx, pack.as_deref()), command, printer)
        }
        GateCommand::Mode {
            gate,
            product,
            mode,
        } => {
            let actor = ctx.authenticate()?.into_principal();
            let gate: Gate = parse("gate", gate)?;
            let mode: Mode = parse("mode", mode)?;
            let recorded = gov.set_gate_mode(&actor, product, gate, mode)?;
            printer.either(
                &json!({"product": product, "gate": gate, "mode": mode, "recorded": recorded}),
                || {
                    let mode = match mode {
                        Mode::Observe => "observe",
                        Mode::Enforce => "enforce",
                    };
                    format!(
                        "{gate} for {product} now runs in {mode} mode\n{}",
                        recorded_line(&recorded)
                    )
                },
            )
        }
    }
}

/// `gate check` and `gate replay`, in process or on a server.
pub fn run_on(runner: &Runner<'_>, command: &GateCommand, printer: &Printer) -> CliResult {
    match command {
        GateCommand::Check {
            gate,
            release,
            commit,
            ..
        } => {
            let out = runner.call(CheckGate {
                gate: gate.clone(),
                release: release.clone(),
                commit: commit.clone(),
            })?;
            let decision = &out.decision;
            print_decision(printer, decision, &out.recorded, None)?;
            if decision.result == "block" {
                return Err(CliError::failed(anyhow!(
                    "{} blocks {}: {} violation(s)",
                    decision.gate,
                    decision.release,
                    decision.violations.len()
                )));
            }
            Ok(())
        }
        GateCommand::Replay { decision, .. } => {
            let replay = runner.call(ReplayDecision {
                decision: *decision,
            })?;
            printer.either(&replay, || {
                if replay.identical {
                    format!(
                        "decision {decision} replays byte for byte: {} {} was {} at log size {} with pack {} {}\n",
                        replay.recorded.gate,
                        replay.recorded.release,
                        replay.recorded.result,
                        replay.recorded.log_size,
                        replay.recorded.pack.name,
                        replay.recorded.pack.version
                    )
                } else {
                    let mut out = format!("decision {decision} does NOT replay identically:\n");
                    for d in &replay.differences {
                        let _ = writeln!(out, "  {d}");
                    }
                    out
                }
            })?;
            if !replay.identical {
                return Err(CliError::failed(anyhow!(
                    "decision {decision} does not replay identically"
                )));
            }
            Ok(())
        }
        GateCommand::Mode { .. } => Err(CliError::usage(anyhow!(
            "asom gate mode does not work with --server yet; run it where the store is"
        ))),
    }
}

/// Prints a decision in the asked format. `--stable-json` prints the
/// decision alone, without where in the ledger it was read and recorded
/// (`log_size`, `log_root`, the entry's receipt): those are positions, not
/// outcomes, and differ between two runs. With the clock pinned (`ASOM_NOW`)
/// the output is then byte-identical across runs and fresh stores.
pub fn print_decision(
    printer: &Printer,
    decision: &Decision,
    recorded: &Recorded,
    extra: Option<(&str, serde_json::Value, String)>,
) -> CliResult {
    let mut value = serde_json::to_value(decision).map_err(|e| anyhow!(e))?;
    let (extra, tail) = match extra {
        Some((name, v, tail)) => (Some((name, v)), tail),
        None => (None, String::new()),
    };
    let mut doc = if printer.stable() {
        if let Some(map) = value.as_object_mut() {
            map.remove("log_size");
            map.remove("log_root");
        }
        json!({"decision": value})
    } else {
        json!({"decision": value, "recorded": recorded})
    };
    if let Some((name, v)) = extra {
        doc[name] = v;
    }
    if printer.stable() {
        return printer.json(&doc);
    }
    printer.report(
        &doc,
        || format!("{}{}{tail}", report(decision), recorded_line(recorded)),
        || format!("{}{tail}", markdown(decision, recorded)),
    )
}

fn verdict(d: &Decision) -> String {
    match d.result.as_str() {
        "pass" => "PASS".to_owned(),
        "would-block" => "WOULD BLOCK (observe mode: recorded, not enforced)".to_owned(),
        "block" => "BLOCK".to_owned(),
        "override" => "OVERRIDE (C-11 emergency override: deferred evidence is due)".to_owned(),
        other => other.to_uppercase(),
    }
}

/// The text report of a decision: what was decided and, for each
/// violation, the control, the reason and the remediation.
pub fn report(d: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {}  {}", d.gate, d.release, verdict(d));
    for v in &d.violations {
        // Most reasons name their control first; say it once.
        let reason = if v.reason.starts_with(&v.control) {
            v.reason.clone()
        } else {
            format!("{} {}", v.control, v.reason)
        };
        let _ = writeln!(out, "  {reason}\n      fix: {}", v.remediation);
    }
    for n in &d.notices {
        let _ = writeln!(out, "  note: {n}");
    }
    let _ = writeln!(
        out,
        "  pack {} {} ({}), input {}, log size {}",
        d.pack.name,
        d.pack.version,
        &d.pack.digest.to_hex()[..12],
        &d.input_digest.to_hex()[..12],
        d.log_size
    );
    out
}

/// The Markdown report of a decision (a pull-request comment, a wiki page).
pub fn markdown(d: &Decision, recorded: &Recorded) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} ({}) for `{}`: **{}**\n",
        d.gate,
        d.gate.title(),
        d.release,
        verdict(d)
    );
    if d.violations.is_empty() {
        let _ = writeln!(out, "Every requirement of {} holds.\n", d.gate);
    } else {
        let _ = writeln!(out, "| control | why | how to fix |\n|---|---|---|");
        for v in &d.violations {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                v.control,
                md_cell(&v.reason),
                md_cell(&v.remediation)
            );
        }
        out.push('\n');
    }
    for n in &d.notices {
        let _ = writeln!(out, "> **Note:** {}\n", md_cell(n));
    }
    let _ = writeln!(
        out,
        "<sub>decision entry {} (`{}`), mode {}, pack {} {} (`{}`), input `{}`, log size {}, asked by {} at {}. Replay: `asom gate replay {}`</sub>",
        recorded.index,
        &recorded.id.to_hex()[..12],
        match d.mode {
            Mode::Observe => "observe",
            Mode::Enforce => "enforce",
        },
        d.pack.name,
        d.pack.version,
        &d.pack.digest.to_hex()[..12],
        &d.input_digest.to_hex()[..12],
        d.log_size,
        d.asked_by,
        d.at,
        recorded.index
    );
    out
}

/// Text made safe for one Markdown table cell.
fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
