//! `asom override request|approve|remediate|list` and `asom exception
//! request|approve|list`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::anyhow;
use asom_governance::waivers::{Exception, QuarterCount, short};
use asom_server::api::ops::waivers::{
    ApproveException, ApproveOverride, ListExceptions, ListOverrides, OverrideRow,
    RemediateOverride, RequestException, RequestOverride, parse_deadline,
};
use serde_json::json;

use crate::cli::{ExceptionCommand, OverrideCommand};
use crate::commands::{Runner, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn overrides(ctx: &Embedded, command: &OverrideCommand, printer: &Printer) -> CliResult {
    overrides_on(&Runner::local(ctx, None), command, printer)
}

/// `asom override …`, in process or on a server.
pub fn overrides_on(
    runner: &Runner<'_>,
    command: &OverrideCommand,
    printer: &Printer,
) -> CliResult {
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
            // Checked before anything is sent, with the flag's name.
            if let Some(d) = deadline {
                parse_deadline(d).map_err(|e| CliError::usage(anyhow!("--{e}")))?;
            }
            let out = runner.call(RequestOverride {
                release: release.clone(),
                gate: gate.clone(),
                crq: crq.clone(),
                justification: justification.clone(),
                deferred: deferred.clone(),
                compensating: compensating.clone(),
                deadline: deadline.clone(),
            })?;
            let (o, recorded) = (&out.waiver, &out.recorded);
            printer.either(&json!({"override": o, "recorded": recorded}), || {
                format!(
                    "override {} of {} for {} requested: defers {} until {}\nit counts once an emergency approver approves it: asom override approve {}\n{}",
                    short(&o.id),
                    o.gate,
                    o.release,
                    o.deferred.join(", "),
                    o.deadline,
                    short(&o.id),
                    recorded_line(recorded)
                )
            })
        }
        OverrideCommand::Approve { id } => {
            let out = runner.call(ApproveOverride { id: id.clone() })?;
            let (o, recorded) = (&out.waiver, &out.recorded);
            printer.either(&json!({"override": o, "recorded": recorded}), || {
                format!(
                    "override {} approved by {}: {} may pass {} on it until {}, when the deferred evidence ({}) is due\n{}",
                    short(&o.id),
                    out.by,
                    o.release,
                    o.gate,
                    o.deadline,
                    o.deferred.join(", "),
                    recorded_line(recorded)
                )
            })
        }
        OverrideCommand::Remediate { id } => {
            let out = runner.call(RemediateOverride { id: id.clone() })?;
            let (o, recorded) = (&out.waiver, &out.recorded);
            printer.either(&json!({"override": o, "recorded": recorded}), || {
                format!(
                    "override {} is remediated: the deferred evidence ({}) is in the ledger\n{}",
                    short(&o.id),
                    o.deferred.join(", "),
                    recorded_line(recorded)
                )
            })
        }
        OverrideCommand::List { release } => {
            let out = runner.call(ListOverrides {
                release: release.clone(),
            })?;
            let rows: Vec<_> = out
                .overrides
                .iter()
                .map(|r| json!({"override": r.waiver, "status": r.status}))
                .collect();
            let doc = json!({"overrides": rows, "quarter": out.quarter});
            printer.report(
                &doc,
                || override_text(&out.overrides, &out.quarter),
                || override_markdown(&out.overrides, &out.quarter),
            )
        }
    }
}

fn override_text(list: &[OverrideRow], teams: &BTreeMap<String, QuarterCount>) -> String {
    let mut out = String::new();
    if list.is_empty() {
        out.push_str("no emergency overrides\n");
    }
    for OverrideRow { waiver: o, status } in list {
        let _ = writeln!(
            out,
            "{}  {:<10} {} {}  defers {}  deadline {}  requested by {}{}",
            short(&o.id),
            status,
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
            q.team,
            q.count,
            q.quarter,
            if q.review {
                " (more than 2: REVIEW FLAGGED)"
            } else {
                ""
            }
        );
    }
    out
}

fn override_markdown(list: &[OverrideRow], teams: &BTreeMap<String, QuarterCount>) -> String {
    let mut out = String::from(
        "| override | status | gate | release | defers | deadline |\n|---|---|---|---|---|---|\n",
    );
    for OverrideRow { waiver: o, status } in list {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | `{}` | {} | {} |",
            short(&o.id),
            status,
            o.gate,
            o.release,
            o.deferred.join(", "),
            o.deadline
        );
    }
    for q in teams.values() {
        if q.review {
            let _ = writeln!(
                out,
                "\n> **Review flagged:** team {} has {} approved overrides in {}.",
                q.team, q.count, q.quarter
            );
        }
    }
    out
}

pub fn exceptions(ctx: &Embedded, command: &ExceptionCommand, printer: &Printer) -> CliResult {
    exceptions_on(&Runner::local(ctx, None), command, printer)
}

/// `asom exception …`, in process or on a server.
pub fn exceptions_on(
    runner: &Runner<'_>,
    command: &ExceptionCommand,
    printer: &Printer,
) -> CliResult {
    match command {
        ExceptionCommand::Request {
            release,
            control,
            justification,
        } => {
            let out = runner.call(RequestException {
                release: release.clone(),
                control: control.clone(),
                justification: justification.clone(),
            })?;
            let (e, recorded) = (&out.exception, &out.recorded);
            printer.either(&json!({"exception": e, "recorded": recorded}), || {
                format!(
                    "N/A of {} for {} requested (exception {}); it counts once a governance approver approves it: asom exception approve {}\n{}",
                    e.control,
                    e.release,
                    short(&e.id),
                    short(&e.id),
                    recorded_line(recorded)
                )
            })
        }
        ExceptionCommand::Approve { id } => {
            let out = runner.call(ApproveException { id: id.clone() })?;
            let (e, recorded) = (&out.exception, &out.recorded);
            printer.either(&json!({"exception": e, "recorded": recorded}), || {
                format!(
                    "{} is N/A for {} (approved by {}); the gates count it and every report shows it\n{}",
                    e.control,
                    e.release,
                    out.by,
                    recorded_line(recorded)
                )
            })
        }
        ExceptionCommand::List { release } => {
            let out = runner.call(ListExceptions {
                release: release.clone(),
            })?;
            let (list, by_control) = (&out.exceptions, &out.approved_by_control);
            printer.either(
                &json!({"exceptions": list, "approved_by_control": by_control}),
                || exception_text(list, by_control),
            )
        }
    }
}

fn exception_text(list: &[Exception], by_control: &BTreeMap<String, usize>) -> String {
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
