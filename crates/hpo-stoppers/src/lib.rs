//! `hpo-stoppers`: (being built).
