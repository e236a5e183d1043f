//! Exit codes (DESIGN.md §7): 0 allowed or verified; 1 blocked or
//! verification failed; 2 usage, configuration or input error.

use std::fmt;

/// A command's failure with the exit code it maps to.
pub struct CliError {
    pub code: u8,
    pub error: anyhow::Error,
}

impl CliError {
    /// Exit 2: the user must change the command, the configuration or the input.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 2,
            error: error.into(),
        }
    }

    /// Exit 1: the thing checked is blocked or did not verify.
    pub fn failed(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 1,
            error: error.into(),
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        Self::usage(error)
    }
}

impl From<asom_governance::GovernanceError> for CliError {
    /// A rule or a permission that refuses the command is a block (exit 1);
    /// a wrong or unknown input is a usage error (exit 2).
    fn from(error: asom_governance::GovernanceError) -> Self {
        use asom_governance::GovernanceError as G;
        match error {
            G::Refused(_) | G::Rule(_) | G::Store(asom_store::StoreError::Conflict { .. }) => {
                Self::failed(error)
            }
            G::Invalid(_) | G::NotFound(_) | G::Store(_) => Self::usage(error),
        }
    }
}

impl From<asom_server::ApiError> for CliError {
    /// The same exit code for the same failure, in process or from a server.
    fn from(error: asom_server::ApiError) -> Self {
        Self {
            code: error.exit_code(),
            error: error.into(),
        }
    }
}

impl From<asom_store::StoreError> for CliError {
    fn from(error: asom_store::StoreError) -> Self {
        Self::usage(error)
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}: {:#}", self.code, self.error)
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;
