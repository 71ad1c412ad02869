//! `hpo-runner`: runs a study (being built).

pub mod config;
pub mod pipeline;
