//! `ppo-burn`: (being built).
