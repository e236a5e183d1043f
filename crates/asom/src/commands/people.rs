//! `asom principal …`, `asom token …`, `asom identity …`.

use anyhow::anyhow;
use asom_core::principal::{AgentKind, Principal, PrincipalKind, Role, Slug};
use asom_server::api::ops::people::{
    CreatePrincipal, CreateToken, ListIdentities, ListPrincipals, ListTokens, MapIdentity,
    RegisterProducerKey, RevokeToken,
};
use serde_json::json;

use crate::cli::{IdentityCommand, PrincipalCommand, PrincipalCreateArgs, TokenCommand};
use crate::commands::{Runner, parse, recorded_line};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn principal(ctx: &Embedded, command: &PrincipalCommand, printer: &Printer) -> CliResult {
    principal_on(&Runner::local(ctx, None), command, printer)
}

/// `asom principal …`, in process or on a server.
pub fn principal_on(
    runner: &Runner<'_>,
    command: &PrincipalCommand,
    printer: &Printer,
) -> CliResult {
    match command {
        PrincipalCommand::Create(args) => {
            // Checked before anything is sent, naming the flags.
            build_principal(args)?;
            let out = runner.call(CreatePrincipal {
                slug: args.slug.clone(),
                kind: args.kind.clone(),
                roles: args.roles.clone(),
                agent_kind: args.agent_kind.clone(),
                name: args.name.clone(),
            })?;
            let (principal, recorded) = (&out.principal, &out.recorded);
            printer.either(
                &json!({"principal": principal, "recorded": recorded}),
                || {
                    format!(
                        "created {} principal {}{}\n{}",
                        kind_name(principal.kind()),
                        principal.slug(),
                        roles_suffix(principal),
                        recorded_line(recorded)
                    )
                },
            )
        }
        PrincipalCommand::List => {
            let principals = runner.call(ListPrincipals {})?.principals;
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
            let out = runner.call(RegisterProducerKey {
                principal: args.slug.clone(),
                key_id: args.key_id.clone(),
                public_key: args.public_key.clone(),
            })?;
            let recorded = &out.recorded;
            printer.either(&json!({"principal": out.principal, "key_id": out.key_id, "recorded": recorded}), || {
                format!(
                    "registered key {:?} for machine principal {}: DSSE envelopes it signs are accepted as its evidence\n{}",
                    out.key_id,
                    out.principal,
                    recorded_line(recorded)
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
    token_on(&Runner::local(ctx, None), command, printer)
}

/// `asom token …`, in process or on a server. A new token's secret is made
/// where the operation runs and printed once.
pub fn token_on(runner: &Runner<'_>, command: &TokenCommand, printer: &Printer) -> CliResult {
    match command {
        TokenCommand::Create { principal, label } => {
            let out = runner.call(CreateToken {
                principal: principal.clone(),
                label: label.clone(),
            })?;
            let (id, recorded) = (&out.id, &out.recorded);
            printer.private().either(
                &json!({"id": id, "principal": out.principal, "token": out.token, "recorded": recorded}),
                || {
                    format!(
                        "created token {id} for {}; the secret is shown only now:\n  {}\n{}",
                        out.principal,
                        out.token,
                        recorded_line(recorded)
                    )
                },
            )
        }
        TokenCommand::Revoke { id } => {
            let out = runner.call(RevokeToken { id: id.clone() })?;
            let (id, recorded) = (&out.id, &out.recorded);
            printer.either(
                &json!({"id": id, "revoked": true, "recorded": recorded}),
                || format!("revoked token {id}\n{}", recorded_line(recorded)),
            )
        }
        TokenCommand::List => {
            let tokens = runner.call(ListTokens {})?.tokens;
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
    identity_on(&Runner::local(ctx, None), command, printer)
}

/// `asom identity …`, in process or on a server.
pub fn identity_on(runner: &Runner<'_>, command: &IdentityCommand, printer: &Printer) -> CliResult {
    match command {
        IdentityCommand::Alias { alias, person } => {
            // Checked before anything is sent, naming the flag.
            parse::<Slug>("--person", person)?;
            let out = runner.call(MapIdentity {
                alias: alias.clone(),
                person: person.clone(),
            })?;
            let (alias, person, recorded) = (&out.alias, &out.person, &out.recorded);
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
                        recorded_line(recorded)
                    )
                },
            )
        }
        IdentityCommand::List => {
            let identities = runner.call(ListIdentities {})?.identities;
            let rows: Vec<_> = identities
                .iter()
                .map(|i| json!({"alias": i.alias, "person": i.person}))
                .collect();
            printer.either(&rows, || {
                identities
                    .iter()
                    .map(|i| format!("{:<40} {}\n", i.alias, i.person))
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
