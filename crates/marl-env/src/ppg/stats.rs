//! Per-episode statistics of the predator-prey-grass environment.

use serde::Serialize;

/// Why an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Every predator is gone (also when the last prey went in the same step).
    ExtinctionPredators,
    /// Every prey is gone while predators live.
    ExtinctionPrey,
    /// The step limit was reached (the call after `max_steps` regular steps).
    Truncated,
}

impl EndReason {
    /// The snake-case name (`extinction_predators`, `extinction_prey`, `truncated`).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::ExtinctionPredators => "extinction_predators",
            EndReason::ExtinctionPrey => "extinction_prey",
            EndReason::Truncated => "truncated",
        }
    }
}

/// Counts and returns of the current (or last) episode, reset by `reset`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeStats {
    /// `step` calls of this episode, the truncating call included (a truncated episode of the
    /// default settings has 501).
    pub steps: u32,
    /// Set when the episode is over.
    pub end_reason: Option<EndReason>,
    /// Predators born.
    pub births_predator: u32,
    /// Prey born.
    pub births_prey: u32,
    /// Predators that starved (no predator is ever eaten).
    pub deaths_predator_starved: u32,
    /// Prey that starved.
    pub deaths_prey_starved: u32,
    /// Prey eaten by predators.
    pub deaths_prey_eaten: u32,
    /// Sum over regular steps of the live predators at the end of the step.
    pub live_predator_steps: u64,
    /// Sum over regular steps of the live prey at the end of the step.
    pub live_prey_steps: u64,
    /// Regular (non-truncating) steps, the denominator of the means.
    pub regular_steps: u32,
    /// Episode return of every id, per kind and slot, summed over all lives of that id (the
    /// reference's recycled ids; with `proper_termination` too, since it counts per id).
    pub returns: Vec<Vec<f64>>,
}

impl EpisodeStats {
    pub(crate) fn new(slots: [usize; 2]) -> Self {
        EpisodeStats {
            steps: 0,
            end_reason: None,
            births_predator: 0,
            births_prey: 0,
            deaths_predator_starved: 0,
            deaths_prey_starved: 0,
            deaths_prey_eaten: 0,
            live_predator_steps: 0,
            live_prey_steps: 0,
            regular_steps: 0,
            returns: slots.iter().map(|n| vec![0.0; *n]).collect(),
        }
    }

    pub(crate) fn clear(&mut self) {
        let returns = std::mem::take(&mut self.returns);
        *self = EpisodeStats { returns, ..EpisodeStats::new([0, 0]) };
        for r in &mut self.returns {
            r.fill(0.0);
        }
    }

    /// Mean number of live predators over the regular steps (0 if none).
    pub fn mean_live_predators(&self) -> f64 {
        mean(self.live_predator_steps, self.regular_steps)
    }

    /// Mean number of live prey over the regular steps (0 if none).
    pub fn mean_live_prey(&self) -> f64 {
        mean(self.live_prey_steps, self.regular_steps)
    }

    /// Sum of the returns of every id of a kind (0 = predators, 1 = prey).
    pub fn return_all(&self, kind: usize) -> f64 {
        self.returns.get(kind).map_or(0.0, |r| r.iter().sum())
    }
}

fn mean(sum: u64, n: u32) -> f64 {
    if n == 0 { 0.0 } else { sum as f64 / f64::from(n) }
}
