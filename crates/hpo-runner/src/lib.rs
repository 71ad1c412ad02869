//! `hpo-runner`: (being built).
