//! `asom promote --release R --to QA|PROD`.

use anyhow::anyhow;
use asom_core::crq::Stage;
use asom_core::release::ReleaseId;
use asom_governance::promotions::environment;
use serde_json::json;

use crate::cli::PromoteArgs;
use crate::commands::gate::{load_policy, print_decision};
use crate::commands::{parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn run(ctx: &Embedded, args: &PromoteArgs, printer: &Printer) -> CliResult {
    let actor = ctx.authenticate()?.principal;
    let release: ReleaseId = parse("--release", &args.release)?;
    let stage = parse_environment(&args.to)?;
    let policy = load_policy(args.pack.as_deref())?;
    let gov = ctx.governance();
    let outcome = gov.promote(&actor, &release, stage, &policy)?;
    let env = environment(stage);
    let tail = match &outcome.promotion {
        Some(p) => format!(
            "PROMOTED {release} to {env} (deployer {}); promotion {}",
            actor.slug(),
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

fn parse_environment(text: &str) -> CliResult<Stage> {
    match text.to_ascii_uppercase().as_str() {
        "QA" => Ok(Stage::Qa),
        "PROD" => Ok(Stage::Prod),
        _ => Err(CliError::usage(anyhow!(
            "--to {text:?}: promote to QA (checks G3) or PROD (checks G4)"
        ))),
    }
}
