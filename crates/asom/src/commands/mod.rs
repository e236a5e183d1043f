//! One module per subcommand.

pub mod init;
pub mod ledger;
