//! `asom release …` and `asom crq …`, in process or on a server.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use asom_core::crq::{Crq, CrqNumber, CrqState, CrqType, Stage};
use asom_core::release::{CommitSha, JiraKey, ReleaseId};
use asom_server::api::ops::releases::{
    ApproveCrq, CreateCrq, CreateRelease, CrqDecided, LinkCrq, ListReleases, RejectCrq,
    ReleaseShown, ScopeRelease, SetCrqWindow, ShowCrq, ShowRelease, TransitionCrq, VerifyRelease,
};
use serde_json::json;

use crate::cli::{CrqCommand, CrqDecisionArgs, ReleaseCommand};
use crate::commands::{Runner, parse, recorded_line};
use crate::context::Embedded;
use crate::exit::CliResult;
use crate::printer::Printer;

pub fn release(ctx: &Embedded, command: &ReleaseCommand, printer: &Printer) -> CliResult {
    release_on(&Runner::local(ctx, None), command, printer)
}

/// `asom release …`, in process or on a server.
pub fn release_on(runner: &Runner<'_>, command: &ReleaseCommand, printer: &Printer) -> CliResult {
    match command {
        ReleaseCommand::Create { release } => {
            parse::<ReleaseId>("release", release)?;
            let out = runner.call(CreateRelease {
                release: release.clone(),
            })?;
            let (id, recorded) = (&out.release, &out.recorded);
            printer.either(&json!({"release": id, "recorded": recorded}), || {
                format!("created release {id}\n{}", recorded_line(recorded))
            })
        }
        ReleaseCommand::Scope {
            release,
            jira,
            commits,
        } => {
            let id: ReleaseId = parse("release", release)?;
            jira.iter()
                .map(|k| parse::<JiraKey>("--jira", k))
                .collect::<CliResult<BTreeSet<_>>>()?;
            commits
                .iter()
                .map(|c| parse::<CommitSha>("--commit", c))
                .collect::<CliResult<Vec<_>>>()?;
            let out = runner.call(ScopeRelease {
                release: release.clone(),
                jira: jira.clone(),
                commits: commits.clone(),
            })?;
            let recorded = &out.recorded;
            printer.either(
                &json!({"release": out.release, "recorded": recorded}),
                || {
                    format!(
                        "release {id}: scope {} Jira key(s), {} change(s)\n{}",
                        out.release.scope().len(),
                        out.release.commits().len(),
                        recorded_line(recorded)
                    )
                },
            )
        }
        ReleaseCommand::Show { release } => {
            let id: ReleaseId = parse("release", release)?;
            let shown = runner.call(ShowRelease {
                release: release.clone(),
            })?;
            show_release(&shown, &id, printer)
        }
        ReleaseCommand::Verify { release, note } => {
            parse::<ReleaseId>("release", release)?;
            let out = runner.call(VerifyRelease {
                release: release.clone(),
                note: note.clone(),
            })?;
            let (id, recorded) = (&out.release, &out.recorded);
            printer.either(
                &json!({"release": id, "verified_by": out.verified_by, "recorded": recorded}),
                || {
                    format!(
                        "governance verification of {id} by {} recorded\n{}",
                        out.verified_by,
                        recorded_line(recorded)
                    )
                },
            )
        }
        ReleaseCommand::List => {
            let ids = runner.call(ListReleases {})?.releases;
            printer.either(&ids, || ids.iter().map(|id| format!("{id}\n")).collect())
        }
    }
}

fn show_release(view: &ReleaseShown, id: &ReleaseId, printer: &Printer) -> CliResult {
    let evidence = &view.evidence;
    let sod: Vec<(Stage, &asom_core::sod::SodReport)> = view
        .separation_of_duties
        .iter()
        .map(|s| (s.stage, &s.report))
        .collect();
    let json = json!({
        "release": view.release,
        "crq": view.crq,
        "crq_provider": view.crq_provider,
        "crq_snapshot": view.crq_snapshot,
        "crq_error": view.crq_error,
        "changes": view.changes,
        "evidence": evidence,
        "separation_of_duties": sod.iter().map(|(s, r)| json!({"stage": s, "holds": r.holds(), "report": r})).collect::<Vec<_>>(),
    });
    printer.either(&json, || {
        let mut out = String::new();
        let _ = writeln!(out, "release   {id}");
        let scope: Vec<&str> = view.release.scope().iter().map(JiraKey::as_str).collect();
        let _ = writeln!(
            out,
            "scope     {}",
            if scope.is_empty() {
                "-".to_owned()
            } else {
                scope.join(", ")
            }
        );
        let crq = match (&view.crq, &view.crq_snapshot, view.release.crq()) {
            (Some(crq), _, _) => crq_line(crq),
            (None, Some(s), _) => format!(
                "{} in {} (as last read: {} change, state {}, {} approval(s))",
                s.number,
                s.provider,
                s.crq_type.as_str(),
                s.state.as_str(),
                s.approvals.len()
            ),
            (None, None, Some(number)) => format!(
                "{number} in {}: {}",
                view.crq_provider.as_deref().unwrap_or("?"),
                view.crq_error.as_deref().unwrap_or("not read yet")
            ),
            (None, None, None) => {
                "- (create one with `asom crq create --release …`, or link one with `asom crq link`)"
                    .to_owned()
            }
        };
        let _ = writeln!(out, "crq       {crq}");
        let _ = writeln!(out, "\nchanges ({})", view.changes.len());
        for c in &view.changes {
            let authors: Vec<&str> = c.authors().iter().map(String::as_str).collect();
            let _ = writeln!(out, "  {}  by {}", c.commit().short(), authors.join(", "));
        }
        let counted = evidence.iter().filter(|e| e.counted).count();
        let _ = writeln!(out, "\nevidence ({counted} counted of {})", evidence.len());
        for e in evidence {
            let ev = &e.evidence;
            let category = ev
                .test_category()
                .map_or("--".to_owned(), |c| c.to_string());
            let _ = write!(
                out,
                "  #{:<6} {} {:<3} {:<5} {} by {}",
                e.index,
                ev.control_id(),
                category,
                ev.status().as_str(),
                ev.commit_sha().as_str().get(..12).unwrap_or_default(),
                e.recorded_by
            );
            match &e.not_counted_because {
                None => out.push('\n'),
                Some(why) => {
                    let _ = writeln!(out, "  NOT COUNTED: {why}");
                }
            }
        }
        let _ = writeln!(out, "\nseparation of duties (C-02)");
        for (stage, report) in &sod {
            if report.holds() {
                let _ = writeln!(out, "  before {}: holds", stage.as_str().to_uppercase());
            } else {
                let _ = writeln!(
                    out,
                    "  before {}: {} violation(s)",
                    stage.as_str().to_uppercase(),
                    report.violations.len()
                );
                for v in &report.violations {
                    let _ = writeln!(out, "    - {v}");
                }
            }
        }
        out
    })
}

fn crq_line(crq: &Crq) -> String {
    format!(
        "{} ({}, {}; QA {:?}, PROD {:?})",
        crq.number(),
        crq.crq_type().as_str(),
        crq.state().as_str(),
        crq.approval_state(Stage::Qa),
        crq.approval_state(Stage::Prod)
    )
}

pub fn crq(ctx: &Embedded, command: &CrqCommand, printer: &Printer) -> CliResult {
    crq_on(&Runner::local(ctx, None), command, printer)
}

/// `asom crq …`, in process or on a server.
pub fn crq_on(runner: &Runner<'_>, command: &CrqCommand, printer: &Printer) -> CliResult {
    match command {
        CrqCommand::Create {
            release,
            crq_type,
            number,
        } => {
            let release_id: ReleaseId = parse("--release", release)?;
            parse::<CrqType>("--type", crq_type)?;
            if let Some(n) = number {
                parse::<CrqNumber>("--number", n)?;
            }
            let out = runner.call(CreateCrq {
                release: release.clone(),
                crq_type: crq_type.clone(),
                number: number.clone(),
            })?;
            let (crq, recorded) = (&out.crq, &out.recorded);
            printer.either(&json!({"crq": crq, "recorded": recorded}), || {
                format!(
                    "created {} for release {release_id}\n{}",
                    crq_line(crq),
                    recorded_line(recorded)
                )
            })
        }
        CrqCommand::Link { release, number } => link(runner, release, number, printer),
        CrqCommand::Transition { number, state } => {
            parse::<CrqNumber>("CRQ number", number)?;
            parse::<CrqState>("state", state)?;
            let out = runner.call(TransitionCrq {
                number: number.clone(),
                state: state.clone(),
            })?;
            let (crq, recorded) = (&out.crq, &out.recorded);
            printer.either(&json!({"crq": crq, "recorded": recorded}), || {
                format!("{}\n{}", crq_line(crq), recorded_line(recorded))
            })
        }
        CrqCommand::Window { number, start, end } => {
            parse::<CrqNumber>("CRQ number", number)?;
            let rfc3339 = |what: &str, t: &str| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| {
                        crate::exit::CliError::usage(anyhow::anyhow!(
                            "{what}: {e}; use RFC 3339 like 2026-11-21T22:00:00Z"
                        ))
                    })
            };
            asom_core::crq::ChangeWindow::new(rfc3339("--start", start)?, rfc3339("--end", end)?)
                .map_err(|e| crate::exit::CliError::usage(anyhow::anyhow!(e)))?;
            let out = runner.call(SetCrqWindow {
                number: number.clone(),
                start: start.clone(),
                end: end.clone(),
            })?;
            let (crq, recorded) = (&out.crq, &out.recorded);
            printer.either(&json!({"crq": crq, "recorded": recorded}), || {
                format!(
                    "{} window {start} .. {end}\n{}",
                    crq_line(crq),
                    recorded_line(recorded)
                )
            })
        }
        CrqCommand::Approve(args) => {
            check_decision(args)?;
            let out = runner.call(ApproveCrq {
                number: args.number.clone(),
                stage: args.stage.clone(),
                comment: args.comment.clone(),
            })?;
            print_decided(&out, printer)
        }
        CrqCommand::Reject(args) => {
            check_decision(args)?;
            let out = runner.call(RejectCrq {
                number: args.number.clone(),
                stage: args.stage.clone(),
                comment: args.comment.clone(),
            })?;
            print_decided(&out, printer)
        }
        CrqCommand::Show { number } => {
            parse::<CrqNumber>("CRQ number", number)?;
            let crq = runner
                .call(ShowCrq {
                    number: number.clone(),
                })?
                .crq;
            printer.either(&crq, || crq_text(&crq))
        }
    }
}

/// `asom crq show` as text: the CRQ, its window, history and decisions,
/// times in RFC 3339 as in the JSON.
fn crq_text(crq: &Crq) -> String {
    use asom_core::crq::rfc3339;
    let mut out = format!("{}\nrelease   {}\n", crq_line(crq), crq.release());
    if let Some(w) = crq.window() {
        let _ = writeln!(
            out,
            "window    {} .. {}",
            rfc3339(w.start()),
            rfc3339(w.end())
        );
    }
    let _ = writeln!(out, "history");
    for t in crq.history() {
        let _ = writeln!(
            out,
            "  {} -> {} by {} at {}",
            t.from.as_str(),
            t.to.as_str(),
            t.by,
            rfc3339(t.at)
        );
    }
    let _ = writeln!(out, "decisions");
    for a in crq.all_approvals() {
        let _ = writeln!(
            out,
            "  {:?} {} by {} at {}",
            a.decision,
            a.stage.as_str(),
            a.approver,
            rfc3339(a.at)
        );
    }
    out
}

/// The arguments of `crq approve|reject`, checked before anything is sent.
fn check_decision(args: &CrqDecisionArgs) -> CliResult {
    parse::<CrqNumber>("CRQ number", &args.number)?;
    parse::<Stage>("--stage", &args.stage)?;
    Ok(())
}

/// A decision on a CRQ. The approval is recorded as given; separation of
/// duties is checked on it and reported here (and enforced by every gate).
fn print_decided(out: &CrqDecided, printer: &Printer) -> CliResult {
    let (crq, recorded) = (&out.crq, &out.recorded);
    let flagged: Vec<_> = out
        .separation_of_duties
        .iter()
        .filter(|v| v.identities().iter().any(|i| *i == out.approver))
        .collect();
    printer.either(
        &json!({"crq": crq, "recorded": recorded, "separation_of_duties": out.separation_of_duties}),
        || {
            let mut text = format!("{}\n{}", crq_line(crq), recorded_line(recorded));
            for v in &flagged {
                let _ = writeln!(text, "WARNING recorded, but flagged: {v}");
            }
            text
        },
    )
}

/// `asom crq link`: a release's CRQ in the outside change system.
fn link(runner: &Runner<'_>, release: &str, number: &str, printer: &Printer) -> CliResult {
    let release: ReleaseId = parse("--release", release)?;
    parse::<CrqNumber>("--number", number)?;
    let out = runner.call(LinkCrq {
        release: release.to_string(),
        number: number.to_owned(),
    })?;
    let (number, provider, recorded) = (&out.crq, &out.provider, &out.recorded);
    printer.either(
        &json!({"crq": number, "provider": provider, "snapshot": out.snapshot, "error": out.error, "recorded": recorded, "observed": out.observed}),
        || {
            let now = match (&out.snapshot, &out.error) {
                (Some(s), _) => format!(
                    "{provider} says: {} change, state {}, {} approval(s)",
                    s.crq_type.as_str(),
                    s.state.as_str(),
                    s.approvals.len()
                ),
                (None, Some(e)) => format!("could not read it from {provider}: {e}"),
                (None, None) => String::new(),
            };
            format!(
                "linked release {release} to {number} in {provider}; every gate reads it there\n{now}\n{}",
                recorded_line(recorded)
            )
        },
    )
}
