//! `asom story record|show|list|sync`.

use std::fmt::Write as _;

use asom_governance::stories::Story;
use asom_server::api::ops::stories::{ListStories, RecordStory, ShowStory, SyncStories};
use serde_json::json;

use crate::cli::StoryCommand;
use crate::commands::{Runner, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn run(ctx: &Embedded, command: &StoryCommand, printer: &Printer) -> CliResult {
    run_on(&Runner::local(ctx, None), command, printer)
}

/// `asom story …`, in process or on a server. `story sync` reads the
/// planning system configured where it runs: with `--server`, the server's.
pub fn run_on(runner: &Runner<'_>, command: &StoryCommand, printer: &Printer) -> CliResult {
    match command {
        StoryCommand::Record {
            key,
            summary,
            epic,
            criteria,
        } => {
            let out = runner.call(RecordStory {
                key: key.clone(),
                summary: summary.clone(),
                epic: epic.clone(),
                acceptance_criteria: criteria.clone(),
            })?;
            let (key, recorded) = (&out.story, &out.recorded);
            printer.either(&json!({"story": key, "recorded": recorded}), || {
                let note = if criteria.is_empty() {
                    " with no acceptance criteria yet: G1 blocks changes linked to it until they are written"
                } else {
                    ""
                };
                format!("story {key} recorded{note}\n{}", recorded_line(recorded))
            })
        }
        StoryCommand::Show { key } => {
            let story = runner.call(ShowStory { key: key.clone() })?;
            printer.either(&story, || text(std::slice::from_ref(&story)))
        }
        StoryCommand::Sync { keys } => {
            let out = runner.call(SyncStories { keys: keys.clone() })?;
            let stories = &out.stories;
            let errors: Vec<(&str, &str)> = out
                .errors
                .iter()
                .map(|e| (e.key.as_str(), e.error.as_str()))
                .collect();
            printer.either(&json!({"stories": stories, "errors": errors}), || {
                let mut out = text(stories);
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
            let stories = runner.call(ListStories {})?.stories;
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
