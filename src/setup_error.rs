//! Problems the person starting ifinsure can fix themselves — a bad
//! setting, a database that is not there, an address in use — as opposed
//! to bugs. The command prints a setup error as one line saying what is
//! wrong and what to do, and exits with [`SetupError::EXIT_CODE`]; any other
//! error is a bug and is shown in full (with a backtrace under
//! `RUST_BACKTRACE`), exit code 1.

use std::process::ExitCode;

/// A problem with how ifinsure was started, in words its operator can act on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(String);

impl SetupError {
    /// The exit code of a setup error (1 is left to bugs).
    pub const EXIT_CODE: u8 = 2;

    /// A problem described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// `error` and its causes, on one line.
    pub fn from_chain(error: &anyhow::Error) -> Self {
        Self(one_line(error))
    }
}

/// Turns any error into a setup error (its causes on one line).
pub trait OrSetup<T> {
    /// # Errors
    /// The error, as a [`SetupError`].
    fn or_setup(self) -> Result<T, SetupError>;
}

impl<T, E: Into<anyhow::Error>> OrSetup<T> for Result<T, E> {
    fn or_setup(self) -> Result<T, SetupError> {
        self.map_err(|e| SetupError::from_chain(&e.into()))
    }
}

/// `error`'s messages, outermost first, joined with ": " (a message that
/// already ends with its cause's text is not repeated).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Prints how the command failed and gives its exit code: a setup error
/// anywhere in the chain as one line (`ifinsure: <what>`, exit 2), anything
/// else in full (exit 1).
pub fn report(error: &anyhow::Error) -> ExitCode {
    if error.chain().any(|cause| cause.is::<SetupError>()) {
        eprintln!("ifinsure: {}", one_line(error));
        ExitCode::from(SetupError::EXIT_CODE)
    } else {
        eprintln!("Error: {error:?}");
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn a_setup_error_under_context_reads_as_one_line() {
        let error = Err::<(), _>(SetupError::new(
            "LISTEN_ADDR 127.0.0.1:8080 is already in use",
        ))
        .context("starting the API")
        .unwrap_err();
        assert!(error.chain().any(|c| c.is::<SetupError>()));
        assert_eq!(
            one_line(&error),
            "starting the API: LISTEN_ADDR 127.0.0.1:8080 is already in use"
        );
    }

    #[test]
    fn causes_are_joined_and_their_line_breaks_folded() {
        let io = std::io::Error::other("connection refused\n(os error 111)");
        let error = Err::<(), _>(io).context("connecting").unwrap_err();
        let setup = Err::<(), _>(error).or_setup().unwrap_err();
        assert_eq!(
            setup.to_string(),
            "connecting: connection refused (os error 111)"
        );
    }

    #[test]
    fn a_cause_already_spelled_out_is_not_repeated() {
        let inner = std::io::Error::other("timed out");
        let error = anyhow::Error::new(inner).context("reading: timed out");
        assert_eq!(one_line(&error), "reading: timed out");
    }
}
