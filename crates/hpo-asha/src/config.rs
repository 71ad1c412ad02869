//! The scheduler's configuration.

use serde::{Deserialize, Serialize};

use crate::AshaError;

/// More rungs than this is a configuration mistake (a reduction factor very close to 1).
const MAX_RUNGS: usize = 10_000;

/// The parameters of Ray Tune's `AsyncHyperBandScheduler`, with Ray's defaults.
///
/// Times (`max_t`, `grace_period`) are `f64` because Ray accepts floats (a reference case uses
/// `grace_period = 2.5`); integers in TOML or JSON are read as floats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AshaConfig {
    /// Trials are stopped (reason `completed`) when their time reaches `max_t` (default 100).
    pub max_t: f64,
    /// The first rung's milestone: no trial is stopped earlier (default 1).
    pub grace_period: f64,
    /// Rung spacing and the kept fraction `1 / reduction_factor` (default 4).
    pub reduction_factor: f64,
    /// Number of brackets (default 1).
    pub brackets: usize,
    /// Stop trials at `max_t` and re-judge them at each rung (default true).
    pub stop_last_trials: bool,
}

impl Default for AshaConfig {
    fn default() -> Self {
        AshaConfig {
            max_t: 100.0,
            grace_period: 1.0,
            reduction_factor: 4.0,
            brackets: 1,
            stop_last_trials: true,
        }
    }
}

fn invalid(field: &'static str, value: impl ToString, fix: &'static str) -> AshaError {
    AshaError::InvalidConfig { field, value: value.to_string(), fix }
}

impl AshaConfig {
    /// Check Ray's conditions (max_t > 0, grace_period > 0, max_t >= grace_period,
    /// reduction_factor > 1, brackets > 0) plus finiteness; the error names the field.
    pub fn validate(&self) -> Result<(), AshaError> {
        if !(self.max_t.is_finite() && self.max_t > 0.0) {
            return Err(invalid("max_t", self.max_t, "it must be a finite number > 0"));
        }
        if !(self.grace_period.is_finite() && self.grace_period > 0.0) {
            return Err(invalid(
                "grace_period",
                self.grace_period,
                "it must be a finite number > 0",
            ));
        }
        if self.grace_period > self.max_t {
            return Err(invalid("grace_period", self.grace_period, "it must be <= max_t"));
        }
        if !(self.reduction_factor.is_finite() && self.reduction_factor > 1.0) {
            return Err(invalid(
                "reduction_factor",
                self.reduction_factor,
                "it must be a finite number > 1",
            ));
        }
        if self.brackets == 0 {
            return Err(invalid("brackets", self.brackets, "it must be at least 1"));
        }
        let rungs = self.raw_rung_count(0);
        if rungs.is_nan() || rungs > MAX_RUNGS as f64 {
            return Err(invalid(
                "reduction_factor",
                self.reduction_factor,
                "with this max_t / grace_period it makes more than 10000 rungs: use a larger factor",
            ));
        }
        Ok(())
    }

    /// The number of rungs of bracket `s`, as Ray computes it in f64:
    /// `trunc(ln(max_t / grace) / ln(rf) - s + 1)`, 0 when that is not positive.
    /// Capped at 10000 (a valid configuration never has more).
    pub fn rung_count(&self, s: usize) -> usize {
        let r = self.raw_rung_count(s);
        if r >= 1.0 { r.trunc().min(MAX_RUNGS as f64) as usize } else { 0 }
    }

    fn raw_rung_count(&self, s: usize) -> f64 {
        (self.max_t / self.grace_period).ln() / self.reduction_factor.ln() - s as f64 + 1.0
    }

    /// The milestones of bracket `s`, ascending: `grace * rf^(k + s)` for `k < rung_count(s)`.
    pub fn milestones(&self, s: usize) -> Vec<f64> {
        (0..self.rung_count(s))
            .map(|k| self.grace_period * self.reduction_factor.powf((k + s) as f64))
            .collect()
    }
}
