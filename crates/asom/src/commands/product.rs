//! `asom product …` and `asom change …`, in process or on a server.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::anyhow;
use asom_core::catalog::ChangeType;
use asom_core::principal::Slug;
use asom_core::release::{Change, CommitSha, DataClassification, JiraKey};
use asom_server::api::ops::releases::{
    ChangeInput, CreateProduct, ListProducts, RecordChanges, ShowChange, ShowProduct,
};
use serde_json::json;

use crate::cli::{ChangeCommand, ChangeRecordArgs, ProductCommand};
use crate::commands::{Runner, parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn product(ctx: &Embedded, command: &ProductCommand, printer: &Printer) -> CliResult {
    product_on(&Runner::local(ctx, None), command, printer)
}

/// `asom product …`, in process or on a server.
pub fn product_on(runner: &Runner<'_>, command: &ProductCommand, printer: &Printer) -> CliResult {
    match command {
        ProductCommand::Create(args) => {
            // Checked here first, so the messages name the flags.
            parse::<Slug>("product slug", &args.slug)?;
            parse::<Slug>("--team", &args.team)?;
            parse::<DataClassification>("--classification", &args.classification)?;
            parse::<ChangeType>("--change-type", &args.change_type)?;
            let out = runner.call(CreateProduct {
                slug: args.slug.clone(),
                team: args.team.clone(),
                classification: args.classification.clone(),
                change_type: args.change_type.clone(),
                material: args.material,
                name: args.name.clone(),
            })?;
            let (product, recorded) = (&out.product, &out.recorded);
            printer.either(&json!({"product": product, "recorded": recorded}), || {
                format!(
                    "created product {}\n{}",
                    product.slug,
                    recorded_line(recorded)
                )
            })
        }
        ProductCommand::Show { slug } => {
            let out = runner.call(ShowProduct { slug: slug.clone() })?;
            let (product, minimum) = (&out.product, &out.minimum_categories);
            printer.either(&json!({"product": product, "minimum_categories": minimum}), || {
                format!(
                    "product           {}\nteam              {}\nclassification    {}\nchange type       {}\nmaterial          {}\nminimum tests     {}\n",
                    product.slug,
                    product.team,
                    product.classification.as_str(),
                    product.change_type,
                    product.applicability.material(),
                    minimum.join(", "),
                )
            })
        }
        ProductCommand::List => {
            let products = runner.call(ListProducts {})?.products;
            printer.either(&products, || {
                products
                    .iter()
                    .map(|p| format!("{:<32} team {:<20} {}\n", p.slug, p.team, p.change_type))
                    .collect()
            })
        }
    }
}

pub fn change(ctx: &Embedded, command: &ChangeCommand, printer: &Printer) -> CliResult {
    change_on(&Runner::local(ctx, None), command, printer)
}

/// `asom change …`, in process or on a server. `--from-git` reads the
/// repository here, where it is, and sends the commits.
pub fn change_on(runner: &Runner<'_>, command: &ChangeCommand, printer: &Printer) -> CliResult {
    match command {
        ChangeCommand::Record(args) => {
            let changes = changes_from(args)?;
            let out = runner.call(RecordChanges {
                changes: changes.iter().map(ChangeInput::of).collect(),
            })?;
            let mut rows = Vec::new();
            let mut text = String::new();
            for c in &out.changes {
                let (change, recorded) = (&c.change, &c.recorded);
                let _ = write!(
                    text,
                    "recorded change {} ({} author(s), Jira: {})\n{}",
                    change.commit().short(),
                    change.authors().len(),
                    join(change.jira_keys().iter().map(JiraKey::as_str)),
                    recorded_line(recorded)
                );
                rows.push(json!({"change": change, "recorded": recorded}));
            }
            printer.either(&rows, || text)
        }
        ChangeCommand::Show { commit } => {
            parse::<CommitSha>("commit", commit)?;
            let change = runner
                .call(ShowChange {
                    commit: commit.clone(),
                })?
                .change;
            printer.either(&change, || {
                format!(
                    "commit     {}\nproduct    {}\nauthors    {}\nreviewers  {}\nJira       {}\nsummary    {}\n",
                    change.commit().as_str(),
                    change.product(),
                    join(change.authors().iter().map(String::as_str)),
                    join(change.reviewers().iter().map(String::as_str)),
                    join(change.jira_keys().iter().map(JiraKey::as_str)),
                    change.summary().unwrap_or("-"),
                )
            })
        }
    }
}

fn changes_from(args: &ChangeRecordArgs) -> CliResult<Vec<Change>> {
    let product: Slug = parse("--product", &args.product)?;
    if let Some(range) = &args.from_git {
        if !args.authors.is_empty() || !args.reviewers.is_empty() || !args.jira.is_empty() {
            return Err(CliError::usage(anyhow!(
                "--from-git reads authors, reviewers and Jira keys from the commits; drop --author/--reviewer/--jira"
            )));
        }
        let commits =
            crate::git::read_range(&args.repo, range).map_err(|e| CliError::usage(anyhow!(e)))?;
        return crate::git::to_changes(&commits, &product).map_err(|e| CliError::usage(anyhow!(e)));
    }
    let commit: CommitSha = parse("--commit", args.commit.as_deref().unwrap_or_default())?;
    if args.authors.is_empty() {
        return Err(CliError::usage(anyhow!(
            "a change needs at least one --author"
        )));
    }
    let jira = args
        .jira
        .iter()
        .map(|k| parse::<JiraKey>("--jira", k))
        .collect::<CliResult<BTreeSet<_>>>()?;
    let change = Change::new(
        commit,
        product,
        &args.authors,
        &args.reviewers,
        jira,
        args.summary.clone(),
    )
    .map_err(|e| CliError::usage(anyhow!(e)))?;
    Ok(vec![change])
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = items.collect();
    if v.is_empty() {
        "-".to_owned()
    } else {
        v.join(", ")
    }
}
