//! One module per subcommand (or family of subcommands).

use std::fmt::Display;
use std::str::FromStr;

use anyhow::anyhow;
use asom_governance::Recorded;

use crate::exit::{CliError, CliResult};

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
