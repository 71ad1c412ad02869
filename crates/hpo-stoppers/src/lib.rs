//! `hpo-stoppers`: the per-trial stoppers of the reference study, decided from a trial's reported
//! metric values alone.
//!
//! - **plateau** (Ray Tune's `TrialPlateauStopper`): keeps the last `num_results` values; once the
//!   trial has reported `grace_period` results and holds `num_results` values, it stops when the
//!   population standard deviation (numpy's `np.std`, ddof 0, in numpy's pairwise arithmetic) is
//!   below `std`. With `metric_threshold`, only when the *latest* value is at or beyond it (as
//!   Ray's code does). A missing metric in the window makes the deviation infinite (Ray catches
//!   numpy's error), a NaN makes it NaN: neither stops.
//! - **drop** (the reference's custom stopper): keeps the last `window` values; once full, stops
//!   when `newest < oldest - drop_threshold` (strict; mirrored in min mode). A result without the
//!   metric is ignored by it.
//! - **max_iters** (Ray Tune's `MaximumIterationStopper`): stops when the trial has reported
//!   `max_iters` results.
//!
//! [`Stoppers`] checks them in that fixed order on each result; the first that fires names the
//! reason and the later ones are not consulted (as Ray's `CombinedStopper`, an `any()`, does).
//! A missing or non-finite metric is processed as the reference does, and is *also* reported in
//! the outcome ([`MetricIssue`]) so the caller can decide what it means for the trial.
//!
//! This crate knows nothing of schedulers, threads, files or training; it does no I/O. Configs
//! are serde structs (`deny_unknown_fields`) with the reference's defaults; invalid values give a
//! [`StopperError`] naming `stopper.field`. Per-trial state is serialisable.
//!
//! ```
//! use hpo_stoppers::{DropConfig, Mode, StopperKind, Stoppers, StoppersConfig};
//!
//! let config = StoppersConfig { drop: Some(DropConfig::default()), ..StoppersConfig::default() };
//! let mut stoppers = Stoppers::new(config, Mode::Max)?;
//! for v in [0.9, 0.8, 0.8, 0.75] {
//!     assert_eq!(stoppers.on_result(3, Some(v)).fired, None);
//! }
//! // Five values held and 0.6 < 0.9 - 0.2: the drop stopper fires.
//! assert_eq!(stoppers.on_result(3, Some(0.6)).fired, Some(StopperKind::Drop));
//! # Ok::<(), hpo_stoppers::StopperError>(())
//! ```

mod numpy;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The study's words, shared with the other hpo-rs crates.
pub use hpo_core::{MetricIssue, Mode, TrialId};

/// An invalid stopper configuration.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StopperError {
    /// A field is out of range.
    #[error("invalid `{stopper}.{field}` = {value}: {fix}")]
    InvalidConfig {
        /// `plateau`, `drop` or `max_iters`.
        stopper: &'static str,
        /// The field.
        field: &'static str,
        /// The offending value, printed.
        value: String,
        /// What would be valid.
        fix: &'static str,
    },
}

fn invalid(
    stopper: &'static str,
    field: &'static str,
    value: impl ToString,
    fix: &'static str,
) -> StopperError {
    StopperError::InvalidConfig { stopper, field, value: value.to_string(), fix }
}

/// The stopper that fired, which is the trial's stop reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopperKind {
    /// The plateau stopper.
    Plateau,
    /// The drop stopper.
    Drop,
    /// The maximum-iterations stopper.
    MaxIters,
}

impl StopperKind {
    /// `plateau`, `drop` or `max_iters`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopperKind::Plateau => "plateau",
            StopperKind::Drop => "drop",
            StopperKind::MaxIters => "max_iters",
        }
    }
}

/// The stop reason a stopper gives its trial (the study's word for it).
impl From<StopperKind> for hpo_core::StopReason {
    fn from(kind: StopperKind) -> Self {
        match kind {
            StopperKind::Plateau => hpo_core::StopReason::Plateau,
            StopperKind::Drop => hpo_core::StopReason::Drop,
            StopperKind::MaxIters => hpo_core::StopReason::MaxIters,
        }
    }
}

/// Ray Tune's `TrialPlateauStopper` settings (defaults: the reference study's values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlateauConfig {
    /// Stop when the standard deviation of the window is below this (default 0.02).
    pub std: f64,
    /// Window length (default 12).
    pub num_results: usize,
    /// Never stop before this many results (default 40).
    pub grace_period: u64,
    /// Only stop when the latest value is at or beyond this (max: >=, min: <=); unset by default.
    pub metric_threshold: Option<f64>,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig { std: 0.02, num_results: 12, grace_period: 40, metric_threshold: None }
    }
}

impl PlateauConfig {
    /// Check the values; errors name `plateau.FIELD`.
    pub fn validate(&self) -> Result<(), StopperError> {
        if !(self.std.is_finite() && self.std > 0.0) {
            return Err(invalid("plateau", "std", self.std, "it must be a finite number > 0"));
        }
        if self.num_results == 0 {
            return Err(invalid("plateau", "num_results", 0, "it must be at least 1"));
        }
        if let Some(t) = self.metric_threshold
            && !t.is_finite()
        {
            return Err(invalid(
                "plateau",
                "metric_threshold",
                t,
                "it must be finite (or left out)",
            ));
        }
        Ok(())
    }
}

/// The drop stopper's settings (defaults: the reference study's values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DropConfig {
    /// How many values to keep (default 5).
    pub window: usize,
    /// Stop when the newest value is worse than the oldest by more than this (default 0.2).
    pub drop_threshold: f64,
}

impl Default for DropConfig {
    fn default() -> Self {
        DropConfig { window: 5, drop_threshold: 0.2 }
    }
}

impl DropConfig {
    /// Check the values; errors name `drop.FIELD`.
    pub fn validate(&self) -> Result<(), StopperError> {
        if self.window < 2 {
            return Err(invalid(
                "drop",
                "window",
                self.window,
                "it must be at least 2 (it compares the newest value with the oldest)",
            ));
        }
        if !(self.drop_threshold.is_finite() && self.drop_threshold >= 0.0) {
            return Err(invalid(
                "drop",
                "drop_threshold",
                self.drop_threshold,
                "it must be a finite number >= 0",
            ));
        }
        Ok(())
    }
}

/// Ray Tune's `MaximumIterationStopper` settings (default: the reference's 1000).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaxItersConfig {
    /// Stop when the trial has reported this many results (default 1000).
    pub max_iters: u64,
}

impl Default for MaxItersConfig {
    fn default() -> Self {
        MaxItersConfig { max_iters: 1000 }
    }
}

impl MaxItersConfig {
    /// Check the value; errors name `max_iters.max_iters`.
    pub fn validate(&self) -> Result<(), StopperError> {
        if self.max_iters == 0 {
            return Err(invalid("max_iters", "max_iters", 0, "it must be at least 1"));
        }
        Ok(())
    }
}

/// Which stoppers run (each `None` when absent; by default none does).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoppersConfig {
    /// The plateau stopper.
    pub plateau: Option<PlateauConfig>,
    /// The drop stopper.
    pub drop: Option<DropConfig>,
    /// The maximum-iterations stopper.
    pub max_iters: Option<MaxItersConfig>,
}

impl StoppersConfig {
    /// Validate every configured stopper.
    pub fn validate(&self) -> Result<(), StopperError> {
        if let Some(c) = &self.plateau {
            c.validate()?;
        }
        if let Some(c) = &self.drop {
            c.validate()?;
        }
        if let Some(c) = &self.max_iters {
            c.validate()?;
        }
        Ok(())
    }

    /// Whether no stopper is configured.
    pub fn is_empty(&self) -> bool {
        self.plateau.is_none() && self.drop.is_none() && self.max_iters.is_none()
    }
}

/// One trial's plateau state: results seen and the last `num_results` values (`None`: missing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateauState {
    /// Results seen.
    pub results: u64,
    /// The window, oldest first.
    #[serde(with = "hpo_core::float::option_seq")]
    pub window: VecDeque<Option<f64>>,
}

/// One trial's drop state: the last `window` present values, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropState {
    /// The window, oldest first.
    #[serde(with = "hpo_core::float::seq")]
    pub window: VecDeque<f64>,
}

/// One trial's state for every stopper.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialState {
    /// Plateau stopper state.
    pub plateau: PlateauState,
    /// Drop stopper state.
    pub drop: DropState,
    /// Results seen by the maximum-iterations stopper.
    pub max_iters_results: u64,
}

/// `TrialPlateauStopper.__call__`.
fn plateau_fires(c: &PlateauConfig, mode: Mode, s: &mut PlateauState, value: Option<f64>) -> bool {
    if s.window.len() == c.num_results {
        s.window.pop_front();
    }
    s.window.push_back(value);
    s.results += 1;
    if s.results < c.grace_period || s.window.len() < c.num_results {
        return false;
    }
    if let Some(threshold) = c.metric_threshold {
        // Ray raises a TypeError comparing a missing value; we treat it as "not reached".
        let Some(v) = value else { return false };
        let not_reached = match mode {
            Mode::Min => v > threshold,
            Mode::Max => v < threshold,
        };
        if not_reached {
            return false;
        }
    }
    let values: Option<Vec<f64>> = s.window.iter().copied().collect();
    // numpy raises on a missing value (None in an object array); Ray catches it as infinity.
    let std = values.map_or(f64::INFINITY, |v| numpy::std(&v));
    std < c.std
}

/// The drop stopper.
fn drop_fires(c: &DropConfig, mode: Mode, s: &mut DropState, value: Option<f64>) -> bool {
    let Some(value) = value else { return false };
    if s.window.len() == c.window {
        s.window.pop_front();
    }
    s.window.push_back(value);
    match (s.window.len() == c.window, s.window.front(), s.window.back()) {
        (true, Some(&oldest), Some(&newest)) => match mode {
            Mode::Max => newest < oldest - c.drop_threshold,
            Mode::Min => newest > oldest + c.drop_threshold,
        },
        _ => false,
    }
}

/// What the stoppers made of one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopperOutcome {
    /// The first stopper that fired (the stop reason), if any.
    pub fired: Option<StopperKind>,
    /// A missing or non-finite metric.
    pub issue: Option<MetricIssue>,
}

/// The configured stoppers and every trial's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stoppers {
    config: StoppersConfig,
    mode: Mode,
    trials: BTreeMap<TrialId, TrialState>,
}

impl Stoppers {
    /// Validate the config and start with no trials.
    pub fn new(config: StoppersConfig, mode: Mode) -> Result<Stoppers, StopperError> {
        config.validate()?;
        Ok(Stoppers { config, mode, trials: BTreeMap::new() })
    }

    /// The configuration.
    pub fn config(&self) -> &StoppersConfig {
        &self.config
    }

    /// Feed one result of `trial` (its state starts on its first result): plateau, drop and
    /// max_iters in that order, stopping at the first that fires.
    pub fn on_result(&mut self, trial: TrialId, value: Option<f64>) -> StopperOutcome {
        let state = self.trials.entry(trial).or_default();
        let issue = MetricIssue::of(value);
        let fired = if self
            .config
            .plateau
            .as_ref()
            .is_some_and(|c| plateau_fires(c, self.mode, &mut state.plateau, value))
        {
            Some(StopperKind::Plateau)
        } else if self
            .config
            .drop
            .as_ref()
            .is_some_and(|c| drop_fires(c, self.mode, &mut state.drop, value))
        {
            Some(StopperKind::Drop)
        } else if let Some(c) = &self.config.max_iters {
            state.max_iters_results += 1;
            (state.max_iters_results >= c.max_iters).then_some(StopperKind::MaxIters)
        } else {
            None
        };
        StopperOutcome { fired, issue }
    }

    /// A trial's state, if it reported anything.
    pub fn trial(&self, trial: TrialId) -> Option<&TrialState> {
        self.trials.get(&trial)
    }

    /// Forget a trial that ended.
    pub fn remove_trial(&mut self, trial: TrialId) {
        self.trials.remove(&trial);
    }
}
