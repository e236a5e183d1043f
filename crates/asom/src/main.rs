//! The `asom` command: clap parsing, logging set-up, dispatch and exit codes.
//!
//! Data goes to standard output through [`printer::Printer`]; logs (filter
//! with `ASOM_LOG`, e.g. `ASOM_LOG=debug`), progress and notes go to
//! standard error. `NO_COLOR` turns colour off.

use std::process::ExitCode;

use clap::Parser as _;

mod cli;
mod commands;
mod config;
mod context;
mod exit;
mod git;
mod printer;
mod remote;

/// Logs to stderr, filtered by `ASOM_LOG`; by default warnings only, and for
/// `asom serve` one line per request too (with its request id).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .init();
}

/// `--server URL`: the commands that run on a server.
fn on_server(
    url: &str,
    global: &cli::GlobalArgs,
    command: &cli::Command,
    printer: &printer::Printer,
) -> exit::CliResult {
    use cli::Command as C;
    let runner = commands::Runner::Remote(remote::Remote::new(url, &global.tenant)?);
    let no_pack = |pack: &Option<std::path::PathBuf>| {
        if pack.is_some() {
            Err(exit::CliError::usage(anyhow::anyhow!(
                "--pack cannot be used with --server: the server decides with its own pack (asom serve --pack)"
            )))
        } else {
            Ok(())
        }
    };
    match command {
        C::Evidence(cli::EvidenceCommand::Record(args)) => {
            commands::evidence::record(&runner, args, printer)
        }
        C::Gate(
            c @ (cli::GateCommand::Check { pack, .. } | cli::GateCommand::Replay { pack, .. }),
        ) => {
            no_pack(pack)?;
            commands::gate::run_on(&runner, c, printer)
        }
        C::Promote(args) => {
            no_pack(&args.pack)?;
            commands::promote::run_on(&runner, args, printer)
        }
        C::Whoami => commands::people::whoami(&runner, printer),
        C::Release(c) => commands::release::release_on(&runner, c, printer),
        C::Crq(c) => commands::release::crq_on(&runner, c, printer),
        C::Product(c) => commands::product::product_on(&runner, c, printer),
        C::Change(c) => commands::product::change_on(&runner, c, printer),
        C::Principal(c) => commands::people::principal_on(&runner, c, printer),
        C::Token(c) => commands::people::token_on(&runner, c, printer),
        C::Identity(c) => commands::people::identity_on(&runner, c, printer),
        C::Story(c) => commands::story::run_on(&runner, c, printer),
        C::Override(c) => commands::waivers::overrides_on(&runner, c, printer),
        C::Exception(c) => commands::waivers::exceptions_on(&runner, c, printer),
        C::Audit(args) => {
            no_pack(&args.pack)?;
            commands::audit::run_on(&runner, args, printer)
        }
        C::Export(args) => {
            no_pack(&args.pack)?;
            commands::bundle::export_on(&runner, args, printer)
        }
        _ => Err(exit::CliError::usage(anyhow::anyhow!(
            "this command does not work with --server (ASOM_SERVER) yet (docs/server.md lists those \
             that do); run it on the server's host against its store, or unset ASOM_SERVER"
        ))),
    }
}

/// The governance commands: all need an initialised directory.
fn governance(
    global: &cli::GlobalArgs,
    command: &cli::Command,
    printer: &printer::Printer,
) -> exit::CliResult {
    use cli::Command as C;
    let mut ctx = context::Embedded::open(&global.dir, &global.tenant, global.store.as_deref())?;
    ctx.config = config::Config::load(&global.dir, &global.tenant, global.config.as_deref())?;
    match command {
        C::Product(c) => commands::product::product(&ctx, c, printer),
        C::Change(c) => commands::product::change(&ctx, c, printer),
        C::Principal(c) => commands::people::principal(&ctx, c, printer),
        C::Token(c) => commands::people::token(&ctx, c, printer),
        C::Identity(c) => commands::people::identity(&ctx, c, printer),
        C::Release(c) => commands::release::release(&ctx, c, printer),
        C::Crq(c) => commands::release::crq(&ctx, c, printer),
        C::Evidence(c) => commands::evidence::run(&ctx, c, printer),
        C::Gate(c) => commands::gate::run(&ctx, c, printer),
        C::Story(c) => commands::story::run(&ctx, c, printer),
        C::Override(c) => commands::waivers::overrides(&ctx, c, printer),
        C::Exception(c) => commands::waivers::exceptions(&ctx, c, printer),
        C::Promote(args) => commands::promote::run(&ctx, args, printer),
        C::Audit(args) => commands::audit::run(&ctx, args, printer),
        C::Export(args) => commands::bundle::export(&ctx, args, printer),
        C::Verify(args) => commands::verify::run(&ctx, args, printer),
        C::Doctor => commands::doctor::run(&ctx, printer),
        C::Whoami => commands::people::whoami(&commands::Runner::local(&ctx, None), printer),
        C::Serve(args) => commands::serve::run(&ctx, args, global.config.as_deref()),
        C::Config(c) => commands::doctor::config(Some(&ctx), c, printer),
        C::Init(_) | C::Ledger(_) | C::Demo(_) | C::VerifyBundle(_) => {
            unreachable!("dispatched in main")
        }
    }
}

fn main() -> ExitCode {
    asom_policy::quiet_library_backtraces();
    let cli = cli::Cli::parse();
    init_logging(match cli.command {
        cli::Command::Serve(_) => "warn,asom_server=info",
        _ => "warn",
    });
    let printer = printer::Printer::new(&cli.global);
    let result = match &cli.command {
        // These need the store itself; with --server they would quietly act
        // on a local directory instead, so they refuse.
        cli::Command::Init(_) | cli::Command::Ledger(_) | cli::Command::Serve(_)
            if cli.global.server.is_some() =>
        {
            on_server(
                cli.global.server.as_deref().unwrap_or_default(),
                &cli.global,
                &cli.command,
                &printer,
            )
        }
        cli::Command::Init(args) => commands::init::run(&cli.global, args, &printer),
        cli::Command::Ledger(cmd) => commands::ledger::run(&cli.global, cmd, &printer),
        cli::Command::Demo(args) => commands::demo::run(args, &printer),
        cli::Command::VerifyBundle(args) => commands::bundle::verify(args, &printer),
        cli::Command::Config(cli::ConfigCommand::Default) => {
            commands::doctor::config(None, &cli::ConfigCommand::Default, &printer)
        }
        command => match &cli.global.server {
            Some(url) => on_server(url, &cli.global, command, &printer),
            None => governance(&cli.global, command, &printer),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            printer::note(&format!("error: {:#}", e.error));
            ExitCode::from(e.code)
        }
    }
}
