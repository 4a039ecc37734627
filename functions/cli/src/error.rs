//! What can go wrong, and the exit status each kind gives, so that scripts can tell a refusal
//! from an outage (documented in `twinshare --help` and the README).

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command was asked wrongly (a bad link, a missing token): exit 2, like clap's own.
    #[error("{0}")]
    Usage(String),
    /// Something on this machine: a file that cannot be read or written. Exit 1.
    #[error("{0}")]
    Local(String),
    /// The API refused, with its stable code and its sentence. Exit 4 for a file that does not
    /// exist or no longer does (404, 410), 3 for the rest (fix the request and run it again).
    #[error("{message}")]
    Refused { status: u16, code: String, message: String },
    /// The site or its storage did not answer, or answered 5xx: exit 5 (try again later; an
    /// upload or download run again resumes).
    #[error("{0}")]
    Unavailable(String),
    /// The downloaded bytes are not the file's: exit 6 (the partial file is kept aside).
    #[error("{0}")]
    Corrupt(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Local(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Refused { status: 404 | 410, .. } => 4,
            CliError::Refused { status, .. } if *status >= 500 => 5,
            CliError::Refused { .. } => 3,
            CliError::Unavailable(_) => 5,
            CliError::Corrupt(_) => 6,
        })
    }

    /// Whether running the same step again may succeed (an outage, not a refusal).
    pub fn is_transient(&self) -> bool {
        match self {
            CliError::Unavailable(_) => true,
            CliError::Refused { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The API's stable code, when the API refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            CliError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub fn local(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> CliError {
    move |err| CliError::Local(format!("{what}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_and_an_outage_exit_differently() {
        let gone = CliError::Refused {
            status: 410,
            code: "file_expired".into(),
            message: "expired".into(),
        };
        let busy = CliError::Refused {
            status: 503,
            code: "storage_unavailable".into(),
            message: "later".into(),
        };
        assert_eq!(gone.exit_code(), ExitCode::from(4));
        assert_eq!(busy.exit_code(), ExitCode::from(5));
        assert!(busy.is_transient() && !gone.is_transient());
        assert_eq!(gone.code(), Some("file_expired"));
    }
}
