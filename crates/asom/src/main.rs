//! The `asom` command: clap parsing, logging set-up, dispatch and exit codes.
//!
//! Data goes to standard output through [`printer::Printer`]; logs (filter
//! with `ASOM_LOG`, e.g. `ASOM_LOG=debug`), progress and notes go to
//! standard error. `NO_COLOR` turns colour off.

use std::process::ExitCode;

use clap::Parser as _;

mod cli;
mod commands;
mod context;
mod exit;
mod printer;

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging();
    let printer = printer::Printer::new(&cli.global);
    let result = match &cli.command {
        cli::Command::Init(args) => commands::init::run(&cli.global, args, &printer),
        cli::Command::Ledger(cmd) => commands::ledger::run(&cli.global, cmd, &printer),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            printer::note(&format!("error: {:#}", e.error));
            ExitCode::from(e.code)
        }
    }
}
