//! The one error type of the crate.

use std::path::PathBuf;

use marl_env::EnvError;

/// Everything that can stop a [`Trainer`](crate::Trainer).
#[derive(Debug, thiserror::Error)]
pub enum PpoError {
    /// A configuration value is invalid; names the field and what would be valid.
    #[error("invalid ppo config `{field}`: {reason}")]
    Config {
        /// The configuration key (TOML name).
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The environment refused a reset, a step or its construction. (Shown in the message,
    /// not as a `source`, so that printing the error chain names it once.)
    #[error("environment error: {0}")]
    Env(EnvError),
    /// A loss, gradient, value or metric became NaN or infinite: training cannot go on.
    #[error(
        "non-finite {what} in training iteration {iteration}: lower the learning rate or check rewards"
    )]
    NonFinite {
        /// Which quantity (e.g. `total loss of policy type_1_prey`).
        what: String,
        /// The training iteration (1-based) in which it happened.
        iteration: u64,
    },
    /// Reading or writing a checkpoint failed.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file or directory concerned.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The tensor backend returned data of an unexpected type or shape.
    #[error("tensor backend error: {0}")]
    Backend(String),
    /// An env-runner thread stopped unexpectedly (it panicked or its channel closed).
    #[error("env runner {runner} failed: {reason}")]
    Runner {
        /// The runner index.
        runner: usize,
        /// What happened.
        reason: String,
    },
}

impl From<EnvError> for PpoError {
    fn from(e: EnvError) -> Self {
        PpoError::Env(e)
    }
}

impl PpoError {
    pub(crate) fn config(field: &str, reason: impl Into<String>) -> Self {
        PpoError::Config { field: field.to_string(), reason: reason.into() }
    }

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        PpoError::Checkpoint { path: path.into(), reason: reason.to_string() }
    }
}
