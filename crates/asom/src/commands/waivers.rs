//! `asom override request|approve|remediate|list` and `asom exception
//! request|approve|list`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::anyhow;
use asom_core::release::ReleaseId;
use asom_governance::gates::Gate;
use asom_governance::waivers::{Exception, Override, OverrideRequest, short};
use serde_json::json;
use time::OffsetDateTime;

use crate::cli::{ExceptionCommand, OverrideCommand};
use crate::commands::{parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn overrides(ctx: &Embedded, command: &OverrideCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        OverrideCommand::Request {
            release,
            gate,
            crq,
            justification,
            deferred,
            compensating,
            deadline,
        } => {
            let actor = ctx.authenticate()?.into_principal();
            let release: ReleaseId = parse("--release", release)?;
            let gate: Gate = parse("--gate", gate)?;
            let deadline = deadline.as_deref().map(parse_deadline).transpose()?;
            let (o, recorded) = gov.request_override(
                &actor,
                &OverrideRequest {
                    release: &release,
                    gate,
                    crq,
                    justification,
                    deferred,
                    compensating,
                    deadline,
                },
            )?;
            printer.either(&json!({"override": o, "recorded": recorded}), || {
                format!(
                    "override {} of {} for {} requested: defers {} until {}\nit counts once an emergency approver approves it: asom override approve {}\n{}",
                    short(&o.id),
                    o.gate,
                    o.release,
                    o.deferred.join(", "),
                    o.deadline,
                    short(&o.id),
                    recorded_line(&recorded)
                )
            })
        }
        OverrideCommand::Approve { id } => {
            let actor = ctx.authenticate()?.into_principal();
            let recorded = gov.approve_override(&actor, id)?;
            let o = gov.override_by_id(&gov.resolve_waiver("override", id)?, None)?;
            printer.either(&json!({"override": o, "recorded": recorded}), || {
                format!(
                    "override {} approved by {}: {} may pass {} on it until {}, when the deferred evidence ({}) is due\n{}",
                    short(&o.id),
                    actor.slug(),
                    o.release,
                    o.gate,
                    o.deadline,
                    o.deferred.join(", "),
                    recorded_line(&recorded)
                )
            })
        }
        OverrideCommand::Remediate { id } => {
            let actor = ctx.authenticate()?.into_principal();
            let recorded = gov.remediate_override(&actor, id)?;
            let o = gov.override_by_id(&gov.resolve_waiver("override", id)?, None)?;
            printer.either(&json!({"override": o, "recorded": recorded}), || {
                format!(
                    "override {} is remediated: the deferred evidence ({}) is in the ledger\n{}",
                    short(&o.id),
                    o.deferred.join(", "),
                    recorded_line(&recorded)
                )
            })
        }
        OverrideCommand::List { release } => {
            let release = release
                .as_deref()
                .map(|r| parse::<ReleaseId>("--release", r))
                .transpose()?;
            let now = gov.now();
            let list = gov.overrides(release.as_ref(), None)?;
            let mut teams: BTreeMap<String, serde_json::Value> = BTreeMap::new();
            for o in &list {
                if !teams.contains_key(&o.team) {
                    let q = gov.quarter_count(&o.team, now, None)?;
                    teams.insert(
                        o.team.clone(),
                        serde_json::to_value(q).map_err(|e| anyhow!(e))?,
                    );
                }
            }
            let rows: Vec<_> = list
                .iter()
                .map(|o| json!({"override": o, "status": o.status(now)}))
                .collect();
            let doc = json!({"overrides": rows, "quarter": teams});
            printer.report(
                &doc,
                || override_text(&list, now, &teams),
                || override_markdown(&list, now, &teams),
            )
        }
    }
}

fn override_text(
    list: &[Override],
    now: OffsetDateTime,
    teams: &BTreeMap<String, serde_json::Value>,
) -> String {
    let mut out = String::new();
    if list.is_empty() {
        out.push_str("no emergency overrides\n");
    }
    for o in list {
        let _ = writeln!(
            out,
            "{}  {:<10} {} {}  defers {}  deadline {}  requested by {}{}",
            short(&o.id),
            o.status(now),
            o.gate,
            o.release,
            o.deferred.join(","),
            o.deadline,
            o.requested_by,
            o.approved_by
                .as_ref()
                .map(|a| format!(", approved by {a}"))
                .unwrap_or_default()
        );
    }
    for q in teams.values() {
        let _ = writeln!(
            out,
            "team {}: {} approved override(s) in {}{}",
            q["team"].as_str().unwrap_or_default(),
            q["count"],
            q["quarter"].as_str().unwrap_or_default(),
            if q["review"] == true {
                " (more than 2: REVIEW FLAGGED)"
            } else {
                ""
            }
        );
    }
    out
}

fn override_markdown(
    list: &[Override],
    now: OffsetDateTime,
    teams: &BTreeMap<String, serde_json::Value>,
) -> String {
    let mut out = String::from(
        "| override | status | gate | release | defers | deadline |\n|---|---|---|---|---|---|\n",
    );
    for o in list {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | `{}` | {} | {} |",
            short(&o.id),
            o.status(now),
            o.gate,
            o.release,
            o.deferred.join(", "),
            o.deadline
        );
    }
    for q in teams.values() {
        if q["review"] == true {
            let _ = writeln!(
                out,
                "\n> **Review flagged:** team {} has {} approved overrides in {}.",
                q["team"].as_str().unwrap_or_default(),
                q["count"],
                q["quarter"].as_str().unwrap_or_default()
            );
        }
    }
    out
}

pub fn exceptions(ctx: &Embedded, command: &ExceptionCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        ExceptionCommand::Request {
            release,
            control,
            justification,
        } => {
            let actor = ctx.authenticate()?.into_principal();
            let release: ReleaseId = parse("--release", release)?;
            let (e, recorded) = gov.request_exception(&actor, &release, control, justification)?;
            printer.either(&json!({"exception": e, "recorded": recorded}), || {
                format!(
                    "N/A of {} for {} requested (exception {}); it counts once a governance approver approves it: asom exception approve {}\n{}",
                    e.control,
                    e.release,
                    short(&e.id),
                    short(&e.id),
                    recorded_line(&recorded)
                )
            })
        }
        ExceptionCommand::Approve { id } => {
            let actor = ctx.authenticate()?.into_principal();
            let recorded = gov.approve_exception(&actor, id)?;
            let e = gov.exception_by_id(&gov.resolve_waiver("exception", id)?, None)?;
            printer.either(&json!({"exception": e, "recorded": recorded}), || {
                format!(
                    "{} is N/A for {} (approved by {}); the gates count it and every report shows it\n{}",
                    e.control,
                    e.release,
                    actor.slug(),
                    recorded_line(&recorded)
                )
            })
        }
        ExceptionCommand::List { release } => {
            let release = release
                .as_deref()
                .map(|r| parse::<ReleaseId>("--release", r))
                .transpose()?;
            let list = gov.exceptions(release.as_ref(), None)?;
            let mut by_control: BTreeMap<&str, usize> = BTreeMap::new();
            for e in list.iter().filter(|e| e.approved_by.is_some()) {
                *by_control.entry(e.control.as_str()).or_default() += 1;
            }
            printer.either(
                &json!({"exceptions": list, "approved_by_control": by_control}),
                || exception_text(&list, &by_control),
            )
        }
    }
}

fn exception_text(list: &[Exception], by_control: &BTreeMap<&str, usize>) -> String {
    let mut out = String::new();
    if list.is_empty() {
        out.push_str("no N/A exceptions\n");
    }
    for e in list {
        let _ = writeln!(
            out,
            "{}  {:<8} {} {}  requested by {}{}: {}",
            short(&e.id),
            if e.approved_by.is_some() {
                "approved"
            } else {
                "pending"
            },
            e.control,
            e.release,
            e.requested_by,
            e.approved_by
                .as_ref()
                .map(|a| format!(", approved by {a}"))
                .unwrap_or_default(),
            e.justification
        );
    }
    let approved: usize = by_control.values().sum();
    let counts: Vec<String> = by_control
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    let _ = writeln!(
        out,
        "{approved} approved N/A exception(s){}",
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        }
    );
    out
}

/// `--deadline`: RFC 3339, or a date meaning the end of that day (UTC).
fn parse_deadline(text: &str) -> CliResult<OffsetDateTime> {
    let rfc = time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(text, &rfc) {
        return Ok(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date_format)
        .map(|d| d.with_hms(23, 59, 59).expect("valid time").assume_utc())
        .map_err(|_| {
            CliError::usage(anyhow!(
                "--deadline {text:?}: give an RFC 3339 time (2026-11-27T17:00:00Z) or a date (2026-11-27)"
            ))
        })
}
