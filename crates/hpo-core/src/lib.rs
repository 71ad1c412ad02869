//! `hpo-core`: the vocabulary that the hpo-rs crates share, with serde as its only dependency.
//!
//! It holds the study's basic words ([`TrialId`], [`Mode`] with "is better", [`MetricIssue`],
//! [`StopReason`]) and two rules: [`seed`], how a seed and a few integers become a new seed
//! (SplitMix64), and [`float`], how a value that may be NaN or infinite is written in every file
//! and message of a study (finite values as numbers, the others as `"nan"`, `"inf"`, `"-inf"`)
//! and read back. The decision crates (`hpo-asha`, `hpo-stoppers`), the runner's journal and
//! the report use the float rule, the runner and the learner the seed rule, so a state written
//! by one is read by the others and a word means one thing.
//!
//! It is not a utility box: no I/O, no study logic, nothing that only one crate needs.
#![warn(missing_docs)]

pub mod float;
pub mod seed;
mod study;

pub use study::{MetricIssue, Mode, StopReason, TrialId};
