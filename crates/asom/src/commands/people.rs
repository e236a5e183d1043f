//! `asom principal …`, `asom token …`, `asom identity …`.

use anyhow::anyhow;
use asom_core::principal::{AgentKind, Principal, PrincipalKind, Role, Slug, TokenSecret};
use serde_json::json;

use crate::cli::{IdentityCommand, PrincipalCommand, PrincipalCreateArgs, TokenCommand};
use crate::commands::{parse, recorded_line};
use crate::context::{Embedded, random_bytes};
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn principal(ctx: &Embedded, command: &PrincipalCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        PrincipalCommand::Create(args) => {
            let actor = ctx.authenticate()?.into_principal();
            let principal = build_principal(args)?;
            let recorded = gov.create_principal(&actor, &principal)?;
            printer.either(
                &json!({"principal": principal, "recorded": recorded}),
                || {
                    format!(
                        "created {} principal {}{}\n{}",
                        kind_name(principal.kind()),
                        principal.slug(),
                        roles_suffix(&principal),
                        recorded_line(&recorded)
                    )
                },
            )
        }
        PrincipalCommand::List => {
            let principals = gov.principals()?;
            printer.either(&principals, || {
                principals
                    .iter()
                    .map(|p| {
                        format!(
                            "{:<24} {:<8}{}\n",
                            p.slug(),
                            kind_name(p.kind()),
                            roles_suffix(p)
                        )
                    })
                    .collect()
            })
        }
        PrincipalCommand::Key(args) => {
            let actor = ctx.authenticate()?.into_principal();
            let recorded =
                gov.register_producer_key(&actor, &args.slug, &args.key_id, &args.public_key)?;
            printer.either(&json!({"principal": args.slug, "key_id": args.key_id, "recorded": recorded}), || {
                format!(
                    "registered key {:?} for machine principal {}: DSSE envelopes it signs are accepted as its evidence\n{}",
                    args.key_id,
                    args.slug,
                    recorded_line(&recorded)
                )
            })
        }
    }
}

fn build_principal(args: &PrincipalCreateArgs) -> CliResult<Principal> {
    let slug: Slug = parse("principal slug", &args.slug)?;
    let kind: PrincipalKind = parse("--kind", &args.kind)?;
    let roles = args
        .roles
        .iter()
        .map(|r| parse::<Role>("--role", r))
        .collect::<CliResult<std::collections::BTreeSet<_>>>()?;
    let agent_kind = args
        .agent_kind
        .as_deref()
        .map(|k| parse::<AgentKind>("--agent-kind", k))
        .transpose()?;
    let principal = Principal::new(slug, kind, roles, agent_kind, args.name.clone())
        .map_err(|e| CliError::usage(anyhow!(e)))?;
    Ok(principal)
}

fn kind_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Human => "human",
        PrincipalKind::Agent => "agent",
        PrincipalKind::Machine => "machine",
    }
}

fn roles_suffix(p: &Principal) -> String {
    if let Some(kind) = p.agent_kind() {
        return format!(" ({} agent)", kind.as_str());
    }
    if p.roles().is_empty() {
        return String::new();
    }
    format!(
        " ({})",
        p.roles()
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub fn token(ctx: &Embedded, command: &TokenCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        TokenCommand::Create { principal, label } => {
            let actor = ctx.authenticate()?.into_principal();
            let secret = TokenSecret::from_random_bytes(random_bytes()?);
            let id = format!("tok_{}", &hex::encode(random_bytes()?)[..12]);
            let recorded = gov.create_token(&actor, principal, &id, &secret, label)?;
            printer.private().either(
                &json!({"id": id, "principal": principal, "token": secret.expose(), "recorded": recorded}),
                || {
                    format!(
                        "created token {id} for {principal}; the secret is shown only now:\n  {}\n{}",
                        secret.expose(),
                        recorded_line(&recorded)
                    )
                },
            )
        }
        TokenCommand::Revoke { id } => {
            let actor = ctx.authenticate()?.into_principal();
            let recorded = gov.revoke_token(&actor, id)?;
            printer.either(
                &json!({"id": id, "revoked": true, "recorded": recorded}),
                || format!("revoked token {id}\n{}", recorded_line(&recorded)),
            )
        }
        TokenCommand::List => {
            let tokens = ctx.store.tokens(&ctx.tenant)?;
            let rows: Vec<_> = tokens
                .iter()
                .map(|t| {
                    json!({"id": t.id, "principal": t.principal, "label": t.label,
                           "created_at": t.created_at, "revoked_at": t.revoked_at})
                })
                .collect();
            printer.either(&rows, || {
                tokens
                    .iter()
                    .map(|t| {
                        let state = t
                            .revoked_at
                            .as_ref()
                            .map_or("live".to_owned(), |r| format!("revoked {r}"));
                        format!(
                            "{:<18} {:<20} {:<28} {}\n",
                            t.id, t.principal, state, t.label
                        )
                    })
                    .collect()
            })
        }
    }
}

pub fn identity(ctx: &Embedded, command: &IdentityCommand, printer: &Printer) -> CliResult {
    let gov = ctx.governance();
    match command {
        IdentityCommand::Alias { alias, person } => {
            let actor = ctx.authenticate()?.into_principal();
            let person: Slug = parse("--person", person)?;
            let recorded = gov.map_alias(&actor, alias, &person)?;
            printer.either(
                &json!({"alias": alias, "person": person, "recorded": recorded}),
                || {
                    format!(
                        "{alias:?} is now {person} for separation of duties{}\n{}",
                        if recorded.new {
                            ""
                        } else {
                            " (already recorded)"
                        },
                        recorded_line(&recorded)
                    )
                },
            )
        }
        IdentityCommand::List => {
            let directory = gov.directory(None)?;
            let rows: Vec<_> = directory
                .entries()
                .map(|(a, p)| json!({"alias": a.as_str(), "person": p}))
                .collect();
            printer.either(&rows, || {
                directory
                    .entries()
                    .map(|(a, p)| format!("{:<40} {p}\n", a.as_str()))
                    .collect()
            })
        }
    }
}

/// `asom whoami`, in process or on a server.
pub fn whoami(runner: &crate::commands::Runner<'_>, printer: &Printer) -> CliResult {
    let me = runner.call(asom_server::api::ops::Whoami {})?;
    printer.either(&me, || {
        format!(
            "{} ({}, roles: {}) in tenant {}, token {}\n",
            me.principal,
            me.kind,
            if me.roles.is_empty() {
                "none".to_owned()
            } else {
                me.roles.join(", ")
            },
            me.tenant,
            me.token
        )
    })
}
