//! `asom release …` and `asom crq …`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use asom_core::crq::{Crq, CrqNumber, CrqState, CrqType, Decision, Stage};
use asom_core::release::{CommitSha, JiraKey, ReleaseId};
use asom_core::sod::SodReport;
use asom_governance::Governance;
use serde_json::json;

use crate::cli::{CrqCommand, CrqDecisionArgs, ReleaseCommand};
use crate::commands::{parse, recorded_line};
use crate::context::Embedded;
use crate::exit::CliResult;
use crate::printer::Printer;

pub fn release(ctx: &Embedded, command: &ReleaseCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        ReleaseCommand::Create { release } => {
            let actor = ctx.authenticate()?.into_principal();
            let id: ReleaseId = parse("release", release)?;
            let recorded = gov.create_release(&actor, &id)?;
            printer.either(&json!({"release": id, "recorded": recorded}), || {
                format!("created release {id}\n{}", recorded_line(&recorded))
            })
        }
        ReleaseCommand::Scope {
            release,
            jira,
            commits,
        } => {
            let actor = ctx.authenticate()?.into_principal();
            let id: ReleaseId = parse("release", release)?;
            let jira = jira
                .iter()
                .map(|k| parse::<JiraKey>("--jira", k))
                .collect::<CliResult<BTreeSet<_>>>()?;
            let commits = commits
                .iter()
                .map(|c| parse::<CommitSha>("--commit", c))
                .collect::<CliResult<Vec<_>>>()?;
            let recorded = gov.scope_release(&actor, &id, &jira, &commits)?;
            let view = gov.release(&id, None)?;
            printer.either(
                &json!({"release": view.release, "recorded": recorded}),
                || {
                    format!(
                        "release {id}: scope {} Jira key(s), {} change(s)\n{}",
                        view.release.scope().len(),
                        view.release.commits().len(),
                        recorded_line(&recorded)
                    )
                },
            )
        }
        ReleaseCommand::Show { release } => {
            show_release(&gov, &parse("release", release)?, printer)
        }
        ReleaseCommand::Verify { release, note } => {
            let actor = ctx.authenticate()?.into_principal();
            let id: ReleaseId = parse("release", release)?;
            let recorded = gov.verify_release(&actor, &id, note.as_deref())?;
            printer.either(
                &json!({"release": id, "verified_by": actor.slug(), "recorded": recorded}),
                || {
                    format!(
                        "governance verification of {id} by {} recorded\n{}",
                        actor.slug(),
                        recorded_line(&recorded)
                    )
                },
            )
        }
        ReleaseCommand::List => {
            let ids = gov.releases()?;
            printer.either(&ids, || ids.iter().map(|id| format!("{id}\n")).collect())
        }
    }
}

fn show_release(gov: &Governance<'_>, id: &ReleaseId, printer: &Printer) -> CliResult {
    let view = gov.release(id, None)?;
    let evidence = gov.release_evidence(id, None)?;
    let sod: Vec<(Stage, SodReport)> = Stage::ALL
        .iter()
        .map(|s| Ok((*s, gov.sod_report(id, *s, None)?)))
        .collect::<CliResult<_>>()?;
    let json = json!({
        "release": view.release,
        "crq": view.crq,
        "crq_provider": view.crq_provider,
        "crq_snapshot": view.snapshot,
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
        let crq = match (&view.crq, &view.snapshot, view.release.crq()) {
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
        for e in &evidence {
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
    let gov = ctx.governance();
    match command {
        CrqCommand::Create {
            release,
            crq_type,
            number,
        } => {
            let actor = ctx.authenticate()?.into_principal();
            let release: ReleaseId = parse("--release", release)?;
            let crq_type: CrqType = parse("--type", crq_type)?;
            let number = number
                .as_deref()
                .map(|n| parse::<CrqNumber>("--number", n))
                .transpose()?;
            let recorded = gov.create_crq(&actor, &release, crq_type, number.as_ref())?;
            let view = gov.release(&release, None)?;
            let crq = view.crq.expect("just created");
            printer.either(&json!({"crq": crq, "recorded": recorded}), || {
                format!(
                    "created {} for release {release}\n{}",
                    crq_line(&crq),
                    recorded_line(&recorded)
                )
            })
        }
        CrqCommand::Link { release, number } => link(ctx, release, number, printer),
        CrqCommand::Transition { number, state } => {
            let actor = ctx.authenticate()?.into_principal();
            let number: CrqNumber = parse("CRQ number", number)?;
            let to: CrqState = parse("state", state)?;
            let recorded = gov.transition_crq(&actor, &number, to)?;
            let crq = gov.crq(&number, None)?;
            printer.either(&json!({"crq": crq, "recorded": recorded}), || {
                format!("{}\n{}", crq_line(&crq), recorded_line(&recorded))
            })
        }
        CrqCommand::Window { number, start, end } => {
            let actor = ctx.authenticate()?.into_principal();
            let number: CrqNumber = parse("CRQ number", number)?;
            let rfc3339 = |what: &str, t: &str| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| {
                        crate::exit::CliError::usage(anyhow::anyhow!(
                            "{what}: {e}; use RFC 3339 like 2026-11-21T22:00:00Z"
                        ))
                    })
            };
            let window = asom_core::crq::ChangeWindow::new(
                rfc3339("--start", start)?,
                rfc3339("--end", end)?,
            )
            .map_err(|e| crate::exit::CliError::usage(anyhow::anyhow!(e)))?;
            let recorded = gov.set_crq_window(&actor, &number, &window)?;
            let crq = gov.crq(&number, None)?;
            printer.either(&json!({"crq": crq, "recorded": recorded}), || {
                format!(
                    "{} window {start} .. {end}\n{}",
                    crq_line(&crq),
                    recorded_line(&recorded)
                )
            })
        }
        CrqCommand::Approve(args) => decide(ctx, &gov, args, Decision::Approved, printer),
        CrqCommand::Reject(args) => decide(ctx, &gov, args, Decision::Rejected, printer),
        CrqCommand::Show { number } => {
            let number: CrqNumber = parse("CRQ number", number)?;
            let crq = gov.crq(&number, None)?;
            printer.either(&crq, || {
                let mut out = format!("{}\nrelease   {}\n", crq_line(&crq), crq.release());
                if let Some(w) = crq.window() {
                    let _ = writeln!(out, "window    {} .. {}", w.start(), w.end());
                }
                let _ = writeln!(out, "history");
                for t in crq.history() {
                    let _ = writeln!(
                        out,
                        "  {} -> {} by {} at {}",
                        t.from.as_str(),
                        t.to.as_str(),
                        t.by,
                        t.at
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
                        a.at
                    );
                }
                out
            })
        }
    }
}

fn decide(
    ctx: &Embedded,
    gov: &Governance<'_>,
    args: &CrqDecisionArgs,
    decision: Decision,
    printer: &Printer,
) -> CliResult {
    let actor = ctx.authenticate()?.into_principal();
    let number: CrqNumber = parse("CRQ number", &args.number)?;
    let stage: Stage = parse("--stage", &args.stage)?;
    let recorded = gov.decide_crq(&actor, &number, stage, decision, args.comment.as_deref())?;
    let crq = gov.crq(&number, None)?;
    // The approval is recorded as given; separation of duties is checked on
    // it and reported here (and enforced by every gate).
    let sod = gov.sod_report(crq.release(), stage, None)?;
    let flagged: Vec<_> = sod
        .violations
        .iter()
        .filter(|v| v.identities().iter().any(|i| *i == actor.slug().as_str()))
        .collect();
    printer.either(
        &json!({"crq": crq, "recorded": recorded, "separation_of_duties": sod.violations}),
        || {
            let mut out = format!("{}\n{}", crq_line(&crq), recorded_line(&recorded));
            for v in &flagged {
                let _ = writeln!(out, "WARNING recorded, but flagged: {v}");
            }
            out
        },
    )
}

/// `asom crq link`: a release's CRQ in the outside change system.
fn link(ctx: &Embedded, release: &str, number: &str, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    let actor = ctx.authenticate()?.into_principal();
    let release: ReleaseId = parse("--release", release)?;
    let number: CrqNumber = parse("--number", number)?;
    let provider = ctx.config.change_provider();
    if matches!(provider, "asom" | "builtin") {
        return Err(crate::exit::CliError::usage(anyhow::anyhow!(
            "this tenant's change system is asom's own: create the CRQ with `asom crq create --release {release}`, or configure an outside change system (asom config default)"
        )));
    }
    let recorded = gov.link_crq(&actor, &release, &number, provider)?;
    // Read it once now, so the link shows what the change system says.
    let observed = gov.observe_crq(
        &actor,
        &release,
        gov.change_system()
            .map(|c| c as &dyn asom_core::crq::ChangeSystem),
    )?;
    let view = gov.release(&release, None)?;
    printer.either(
        &json!({"crq": number, "provider": provider, "snapshot": view.snapshot, "error": view.crq_error, "recorded": recorded, "observed": observed}),
        || {
            let now = match (&view.snapshot, &view.crq_error) {
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
                recorded_line(&recorded)
            )
        },
    )
}
