//! `asom gate check|replay|mode`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::anyhow;
use asom_core::release::{CommitSha, ReleaseId};
use asom_governance::gates::{Decision, Gate, GatePolicy, Mode, PackRef, Violation};
use serde_json::json;

use crate::cli::GateCommand;
use crate::commands::{parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

/// The Rego pack, evaluated with regorus, as the governance service's policy.
struct RegoPolicy {
    evaluator: asom_policy::Evaluator,
    pack: PackRef,
}

impl RegoPolicy {
    fn load(dir: Option<&Path>) -> CliResult<Self> {
        let pack = match dir {
            Some(dir) => asom_policy::Pack::from_dir(dir),
            None => asom_policy::Pack::default_pack(),
        }
        .map_err(|e| {
            CliError::usage(anyhow!(
                "policy pack: {e}; nothing can pass without a working pack"
            ))
        })?;
        let evaluator = asom_policy::Evaluator::new(&pack)
            .map_err(|e| CliError::usage(anyhow!("policy pack {}: {e}", pack.name())))?;
        let pack = PackRef {
            name: pack.name().to_owned(),
            version: pack.version().to_owned(),
            digest: pack.digest(),
        };
        Ok(Self { evaluator, pack })
    }
}

impl GatePolicy for RegoPolicy {
    fn pack(&self) -> PackRef {
        self.pack.clone()
    }

    fn evaluate(&self, input: &serde_json::Value) -> Result<Vec<Violation>, String> {
        let violations = self.evaluator.evaluate(input).map_err(|e| e.to_string())?;
        Ok(violations
            .into_iter()
            .map(|v| Violation {
                control: v.control,
                gate: v.gate,
                reason: v.reason,
                remediation: v.remediation,
                entries: v.entries,
            })
            .collect())
    }
}

pub fn run(ctx: &Embedded, command: &GateCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        GateCommand::Check {
            gate,
            release,
            commit,
            pack,
        } => {
            let actor = ctx.authenticate()?.principal;
            let gate: Gate = parse("gate", gate)?;
            let release: ReleaseId = parse("--release", release)?;
            let commit = commit
                .as_deref()
                .map(|c| parse::<CommitSha>("--commit", c))
                .transpose()?;
            let policy = RegoPolicy::load(pack.as_deref())?;
            let mode = gov.gate_mode(release.product().as_str(), gate, None)?;
            let (decision, recorded) =
                gov.check_gate(&actor, gate, &release, commit.as_ref(), mode, &policy)?;
            let stable = serde_json::to_value(&decision).map_err(|e| anyhow!(e))?;
            printer.either(&json!({"decision": stable, "recorded": recorded}), || {
                format!("{}{}", report(&decision), recorded_line(&recorded))
            })?;
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
        GateCommand::Replay { decision, pack } => {
            let policy = RegoPolicy::load(pack.as_deref())?;
            let replay = gov.replay(*decision, &policy)?;
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
        GateCommand::Mode {
            gate,
            product,
            mode,
        } => {
            let actor = ctx.authenticate()?.principal;
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

/// The text report of a decision: what was decided and, for each
/// violation, the control, the reason and the remediation.
fn report(d: &Decision) -> String {
    let mut out = String::new();
    let verdict = match d.result.as_str() {
        "pass" => "PASS".to_owned(),
        "would-block" => "WOULD BLOCK (observe mode: recorded, not enforced)".to_owned(),
        "block" => "BLOCK".to_owned(),
        other => other.to_uppercase(),
    };
    let _ = writeln!(out, "{} {}  {verdict}", d.gate, d.release);
    for v in &d.violations {
        let _ = writeln!(
            out,
            "  {} {}\n      fix: {}",
            v.control, v.reason, v.remediation
        );
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
