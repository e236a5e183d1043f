//! One module per subcommand (or family of subcommands).

use std::fmt::Display;
use std::str::FromStr;

use anyhow::anyhow;
use asom_governance::Recorded;

use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::remote::Remote;

pub mod audit;
pub mod bundle;
pub mod demo;
pub mod doctor;
pub mod evidence;
pub mod gate;
pub mod init;
pub mod ledger;
pub mod people;
pub mod product;
pub mod promote;
pub mod release;
pub mod serve;
pub mod story;
pub mod tiles;
pub mod verify;
pub mod waivers;

/// Where an operation runs: in process on the embedded store, or on a
/// server (`--server`). Both run the same [`asom_server::Operation::run`].
pub enum Runner<'a> {
    /// In process.
    Local {
        ctx: &'a Embedded,
        policies: Box<asom_server::Policies>,
    },
    /// On `asom serve`.
    Remote(Remote),
}

impl<'a> Runner<'a> {
    /// In process, with the pack in `pack` (default: the built-in pack).
    pub fn local(ctx: &'a Embedded, pack: Option<&std::path::Path>) -> Self {
        Self::Local {
            ctx,
            policies: Box::new(asom_server::Policies::new(
                pack.map(std::path::Path::to_path_buf),
            )),
        }
    }

    /// Runs `op` where this runner runs things.
    pub fn call<O: asom_server::Operation>(&self, op: O) -> CliResult<O::Output> {
        match self {
            Self::Local { ctx, policies } => ctx.run(op, policies),
            Self::Remote(remote) => remote.call(&op),
        }
    }
}

/// Parses a flag's or an argument's value, naming it in the error.
pub fn parse<T>(what: &str, text: &str) -> CliResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    text.parse()
        .map_err(|e| CliError::usage(anyhow!("{what}: {e}")))
}

/// The line every mutating command ends its text output with: where its
/// entry is, and how to get the receipt.
pub fn recorded_line(r: &Recorded) -> String {
    if r.new {
        format!(
            "ledger entry {} (id {}); receipt: asom ledger proof {}\n",
            r.index, r.id, r.index
        )
    } else {
        format!(
            "already in the ledger as entry {} (id {}); nothing new was written\n",
            r.index, r.id
        )
    }
}
