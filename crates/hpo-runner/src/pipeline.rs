//! The decision pipeline (being built).
