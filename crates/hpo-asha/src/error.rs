//! Errors of the ASHA scheduler.

use thiserror::Error;

use crate::TrialId;

/// Everything that can go wrong when configuring or feeding the scheduler. Ray asserts or raises
/// a `KeyError` in these cases; we return the error and keep the scheduler unchanged.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AshaError {
    /// A configuration field is out of range.
    #[error("invalid asha `{field}` = {value}: {fix}")]
    InvalidConfig {
        /// The field name, as in `AshaConfig` (and the `[scheduler]` table).
        field: &'static str,
        /// The offending value, printed.
        value: String,
        /// What would be valid.
        fix: &'static str,
    },
    /// The trial was never added.
    #[error("trial {0} is unknown to the scheduler: add it with `add_trial` first")]
    UnknownTrial(TrialId),
    /// The trial was added twice.
    #[error("trial {0} was already added to the scheduler: trial ids must be unique")]
    DuplicateTrial(TrialId),
    /// The trial already completed or was removed.
    #[error("trial {0} has already ended (completed or removed): it takes no more results")]
    TrialEnded(TrialId),
    /// An explicit bracket that does not exist.
    #[error("bracket {bracket} for trial {trial} does not exist: use 0..{brackets}")]
    BracketOutOfRange {
        /// The trial being added.
        trial: TrialId,
        /// The bracket asked for.
        bracket: usize,
        /// How many brackets there are.
        brackets: usize,
    },
    /// A time (iteration) that is NaN or infinite.
    #[error("trial {trial} reported time {time}: the time attribute must be finite")]
    InvalidTime {
        /// The trial.
        trial: TrialId,
        /// The time it reported.
        time: f64,
    },
    /// A serialised state that does not describe a valid scheduler.
    #[error("invalid asha state: {0}")]
    InvalidState(String),
}
