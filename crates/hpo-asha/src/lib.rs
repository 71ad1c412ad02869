//! `hpo-asha`: (being built).
