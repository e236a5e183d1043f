//! `asom story record|show|list`.

use std::fmt::Write as _;

use asom_core::release::JiraKey;
use asom_governance::stories::Story;
use serde_json::json;

use crate::cli::StoryCommand;
use crate::commands::{parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn run(ctx: &Embedded, command: &StoryCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        StoryCommand::Record {
            key,
            summary,
            epic,
            criteria,
        } => {
            let actor = ctx.authenticate()?.into_principal();
            let key: JiraKey = parse("story key", key)?;
            let epic = epic
                .as_deref()
                .map(|e| parse::<JiraKey>("--epic", e))
                .transpose()?;
            let recorded = gov.record_story(&actor, &key, summary, epic.as_ref(), criteria)?;
            printer.either(&json!({"story": key.as_str(), "recorded": recorded}), || {
                let note = if criteria.is_empty() {
                    " with no acceptance criteria yet: G1 blocks changes linked to it until they are written"
                } else {
                    ""
                };
                format!("story {key} recorded{note}\n{}", recorded_line(&recorded))
            })
        }
        StoryCommand::Show { key } => {
            let story = gov.story(key, None)?.ok_or_else(|| {
                CliError::usage(anyhow::anyhow!(
                    "no story {key}; record it with `asom story record {key} --summary … --acceptance-criterion …`"
                ))
            })?;
            printer.either(&story, || text(std::slice::from_ref(&story)))
        }
        StoryCommand::Sync { keys } => {
            let actor = ctx.authenticate()?.into_principal();
            let planning = gov.planning().ok_or_else(|| {
                CliError::usage(anyhow::anyhow!(
                    "this tenant's planning system is asom's own: record stories with `asom story record`, or configure Jira (asom config default)"
                ))
            })?;
            let keys = keys
                .iter()
                .map(|k| parse::<JiraKey>("key", k))
                .collect::<CliResult<Vec<_>>>()?;
            let errors = gov.sync_stories(&actor, planning, &keys)?;
            let stories: Vec<_> = keys
                .iter()
                .filter_map(|k| gov.story(k.as_str(), None).ok().flatten())
                .collect();
            printer.either(&json!({"stories": stories, "errors": errors}), || {
                let mut out = text(&stories);
                for (k, e) in &errors {
                    let _ = writeln!(out, "{k}: {e}");
                }
                out
            })?;
            if errors.is_empty() {
                Ok(())
            } else {
                Err(CliError::failed(anyhow::anyhow!(
                    "{} of {} stories could not be read",
                    errors.len(),
                    keys.len()
                )))
            }
        }
        StoryCommand::List => {
            let stories = gov.stories()?;
            printer.either(&stories, || text(&stories))
        }
    }
}

fn text(stories: &[Story]) -> String {
    let mut out = String::new();
    if stories.is_empty() {
        out.push_str("no stories\n");
    }
    for s in stories {
        let epic = s
            .epic
            .as_ref()
            .map(|e| format!(", epic {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}  {}  (source: {}{epic})",
            s.key, s.summary, s.source
        );
        if s.acceptance_criteria.is_empty() {
            let _ = writeln!(out, "  no acceptance criteria yet");
        }
        for c in &s.acceptance_criteria {
            let _ = writeln!(out, "  - {c}");
        }
    }
    out
}
