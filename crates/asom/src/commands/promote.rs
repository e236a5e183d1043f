//! `asom promote --release R --to QA|PROD`.

use anyhow::anyhow;
use asom_server::api::ops::{Promote, parse_environment};
use serde_json::json;

use crate::cli::PromoteArgs;
use crate::commands::gate::print_decision;
use crate::commands::{Runner, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn run(ctx: &Embedded, args: &PromoteArgs, printer: &Printer) -> CliResult {
    run_on(&Runner::local(ctx, args.pack.as_deref()), args, printer)
}

/// `asom promote`, in process or on a server.
pub fn run_on(runner: &Runner<'_>, args: &PromoteArgs, printer: &Printer) -> CliResult {
    // Checked before anything is sent, with the flag's name.
    parse_environment(&args.to).map_err(|e| CliError::usage(anyhow!("--{e}")))?;
    let outcome = runner.call(Promote {
        release: args.release.clone(),
        to: args.to.clone(),
    })?;
    let release = &args.release;
    let env = outcome.environment.as_str();
    let tail = match &outcome.promotion {
        Some(p) => format!(
            "PROMOTED {release} to {env} (deployer {}); promotion {}",
            outcome.decision.asked_by,
            recorded_line(p)
        ),
        None => format!("NOT PROMOTED: {release} stays out of {env} until the gate passes\n"),
    };
    print_decision(
        printer,
        &outcome.decision,
        &outcome.decision_recorded,
        Some((
            "promotion",
            json!({
                "environment": env,
                "promoted": outcome.promotion.is_some(),
                "recorded": if printer.stable() { None } else { outcome.promotion.clone() },
            }),
            tail,
        )),
    )?;
    if outcome.promotion.is_none() {
        return Err(CliError::failed(anyhow!(
            "{} blocks the promotion of {release} to {env}: {} violation(s)",
            outcome.decision.gate,
            outcome.decision.violations.len()
        )));
    }
    Ok(())
}
