//! `hpo-sampler`: (being built).
