//! The scheduler: brackets, the trial table, the seeded bracket choice, and Ray's hooks.

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::bracket::{Bracket, Judged};
use crate::{AshaConfig, AshaError, MetricIssue, Mode, TrialId};

/// The scheduler's answer to one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AshaDecision {
    /// Keep training.
    Continue,
    /// Stopped at a rung: the value was below the rung's cutoff (reason `asha_early_stop`).
    EarlyStop,
    /// The time reached `max_t` with `stop_last_trials` (reason `completed`).
    MaxT,
}

impl AshaDecision {
    /// Whether the trial must stop.
    pub fn is_stop(self) -> bool {
        !matches!(self, AshaDecision::Continue)
    }
}

/// The rung a result was judged at, in the caller's units (not sign-adjusted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RungVerdict {
    /// Index of the rung within the trial's bracket, 0 for the lowest milestone.
    pub rung_index: usize,
    /// The rung's milestone (time).
    #[serde(with = "hpo_core::float")]
    pub milestone: f64,
    /// The cutoff from the other trials' values at this rung: `None` when none was recorded,
    /// NaN when all were NaN. In max mode a value below it stops; in min mode a value above it.
    #[serde(with = "hpo_core::float::option")]
    pub cutoff: Option<f64>,
    /// How many other trials had a value recorded at this rung.
    pub others: usize,
    /// Whether the value was beyond the cutoff (for a completion this is informative only).
    pub stop: bool,
}

/// The scheduler's full answer to one result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AshaStep {
    /// Continue or stop, and why.
    pub decision: AshaDecision,
    /// The rung judged (at most one per result), if any.
    pub verdict: Option<RungVerdict>,
    /// A missing or non-finite metric, reported rather than silently passed over.
    pub issue: Option<MetricIssue>,
}

/// What the scheduler knows of a trial's progress, for the study's CSV columns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrialProgress {
    /// The trial's bracket.
    pub bracket: usize,
    /// Index of the highest rung of its bracket whose milestone its last time reached, -1 if none.
    pub rung_index: i64,
    /// The milestone of the rung where ASHA stopped it (`EarlyStop`), if it did.
    #[serde(with = "hpo_core::float::option")]
    pub pruned_at: Option<f64>,
    /// The last time the scheduler saw from it.
    #[serde(with = "hpo_core::float::option")]
    pub last_time: Option<f64>,
    /// Whether it completed or was removed.
    pub ended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrialEntry {
    bracket: usize,
    #[serde(with = "hpo_core::float::option")]
    last_time: Option<f64>,
    #[serde(with = "hpo_core::float::option")]
    pruned_at: Option<f64>,
    ended: bool,
}

/// Ray Tune's `AsyncHyperBandScheduler`, decision for decision, as a value you feed events to.
///
/// Serialise it (serde) to save it; deserialising checks the state and rebuilds the sorted
/// values. Replaying the same events into a new scheduler with the same seed gives the same
/// state too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AshaState", into = "AshaState")]
pub struct Asha {
    config: AshaConfig,
    mode: Mode,
    seed: u64,
    rng: ChaCha8Rng,
    /// The quantile Ray asks numpy for: `((1 - 1/rf) * 100) / 100`, in numpy's arithmetic.
    q: f64,
    brackets: Vec<Bracket>,
    trials: BTreeMap<TrialId, TrialEntry>,
}

/// The serialised form of [`Asha`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AshaState {
    config: AshaConfig,
    mode: Mode,
    seed: u64,
    /// Position of the bracket-choice RNG (ChaCha8 words consumed).
    rng_word_pos: u64,
    brackets: Vec<Bracket>,
    trials: BTreeMap<TrialId, TrialEntry>,
}

impl From<Asha> for AshaState {
    fn from(asha: Asha) -> Self {
        AshaState {
            rng_word_pos: u64::try_from(asha.rng.get_word_pos()).unwrap_or(u64::MAX),
            config: asha.config,
            mode: asha.mode,
            seed: asha.seed,
            brackets: asha.brackets,
            trials: asha.trials,
        }
    }
}

impl TryFrom<AshaState> for Asha {
    type Error = AshaError;

    fn try_from(state: AshaState) -> Result<Self, AshaError> {
        let mut asha = Asha::new(state.config, state.mode, state.seed)?;
        asha.rng.set_word_pos(u128::from(state.rng_word_pos));
        if state.brackets.len() != asha.brackets.len() {
            return Err(AshaError::InvalidState(format!(
                "{} brackets saved, the config makes {}",
                state.brackets.len(),
                asha.brackets.len()
            )));
        }
        for (s, (saved, built)) in state.brackets.iter().zip(&asha.brackets).enumerate() {
            let saved_m: Vec<f64> = saved.rungs.iter().map(|r| r.milestone).collect();
            let built_m: Vec<f64> = built.rungs.iter().map(|r| r.milestone).collect();
            if saved_m != built_m {
                return Err(AshaError::InvalidState(format!(
                    "bracket {s} has milestones {saved_m:?}, the config makes {built_m:?}"
                )));
            }
        }
        for (trial, entry) in &state.trials {
            if entry.bracket >= asha.brackets.len() {
                return Err(AshaError::InvalidState(format!(
                    "trial {trial} is in bracket {}, which does not exist",
                    entry.bracket
                )));
            }
        }
        asha.brackets = state.brackets;
        asha.trials = state.trials;
        Ok(asha)
    }
}

impl Asha {
    /// Build a scheduler; `seed` drives the bracket choice of trials added without a bracket.
    pub fn new(config: AshaConfig, mode: Mode, seed: u64) -> Result<Asha, AshaError> {
        config.validate()?;
        let brackets = (0..config.brackets).map(|s| Bracket::new(&config.milestones(s))).collect();
        let q = ((1.0 - 1.0 / config.reduction_factor) * 100.0) / 100.0;
        Ok(Asha {
            config,
            mode,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            q,
            brackets,
            trials: BTreeMap::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AshaConfig {
        &self.config
    }

    /// The mode values are compared in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The milestones of each bracket, ascending (an empty bracket has none).
    pub fn milestones(&self) -> Vec<Vec<f64>> {
        self.brackets.iter().map(|b| b.rungs.iter().map(|r| r.milestone).collect()).collect()
    }

    /// The values recorded at rung `rung_index` of `bracket` (caller's units), by trial.
    pub fn recorded(&self, bracket: usize, rung_index: usize) -> Option<BTreeMap<TrialId, f64>> {
        let rung = self.brackets.get(bracket)?.rungs.get(rung_index)?;
        let sign = self.mode.sign();
        Some(rung.recorded.iter().map(|(&t, &v)| (t, sign * v)).collect())
    }

    /// Ray's `on_trial_add`: put the trial in `bracket`, or draw one (softmax over the brackets'
    /// rung counts) from the seeded RNG. Returns the bracket.
    pub fn add_trial(
        &mut self,
        trial: TrialId,
        bracket: Option<usize>,
    ) -> Result<usize, AshaError> {
        if self.trials.contains_key(&trial) {
            return Err(AshaError::DuplicateTrial(trial));
        }
        let bracket = match bracket {
            Some(b) if b >= self.brackets.len() => {
                return Err(AshaError::BracketOutOfRange {
                    trial,
                    bracket: b,
                    brackets: self.brackets.len(),
                });
            }
            Some(b) => b,
            None => self.draw_bracket(),
        };
        self.trials
            .insert(trial, TrialEntry { bracket, last_time: None, pruned_at: None, ended: false });
        Ok(bracket)
    }

    /// numpy's `random.choice(n, p=softmax(sizes - max))`: cumulative sums normalised by the last,
    /// and the first index whose cumulative value exceeds a uniform draw in [0, 1).
    fn draw_bracket(&mut self) -> usize {
        let sizes: Vec<f64> = self.brackets.iter().map(|b| b.rungs.len() as f64).collect();
        let max = sizes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let probs: Vec<f64> = sizes.iter().map(|s| std::f64::consts::E.powf(s - max)).collect();
        let total: f64 = probs.iter().sum();
        let mut cdf = Vec::with_capacity(probs.len());
        let mut acc = 0.0;
        for p in &probs {
            acc += p / total;
            cdf.push(acc);
        }
        let last = cdf.last().copied().unwrap_or(1.0);
        let u: f64 = self.rng.random();
        cdf.iter().position(|c| c / last > u).unwrap_or(cdf.len().saturating_sub(1))
    }

    fn entry_mut(&mut self, trial: TrialId) -> Result<&mut TrialEntry, AshaError> {
        match self.trials.get_mut(&trial) {
            None => Err(AshaError::UnknownTrial(trial)),
            Some(e) if e.ended => Err(AshaError::TrialEnded(trial)),
            Some(e) => Ok(e),
        }
    }

    fn verdict(&self, judged: Judged) -> RungVerdict {
        let sign = self.mode.sign();
        RungVerdict {
            rung_index: judged.rung_index,
            milestone: judged.milestone,
            cutoff: judged.cutoff.map(|c| sign * c),
            others: judged.others,
            stop: judged.stop,
        }
    }

    /// Ray's `on_trial_result`: a missing metric continues and records nothing; `time >= max_t`
    /// with `stop_last_trials` stops (`MaxT`) and records nothing; otherwise at most one rung is
    /// judged (see the crate docs).
    pub fn on_result(
        &mut self,
        trial: TrialId,
        time: f64,
        value: Option<f64>,
    ) -> Result<AshaStep, AshaError> {
        if !time.is_finite() {
            return Err(AshaError::InvalidTime { trial, time });
        }
        let (q, stop_last, max_t, sign) =
            (self.q, self.config.stop_last_trials, self.config.max_t, self.mode.sign());
        let entry = self.entry_mut(trial)?;
        entry.last_time = Some(time);
        let bracket = entry.bracket;
        let issue = MetricIssue::of(value);
        let Some(value) = value else {
            return Ok(AshaStep { decision: AshaDecision::Continue, verdict: None, issue });
        };
        if time >= max_t && stop_last {
            return Ok(AshaStep { decision: AshaDecision::MaxT, verdict: None, issue });
        }
        let judged = self.brackets[bracket].on_result(trial, time, sign * value, q, stop_last);
        let decision = match judged {
            Some(j) if j.stop => {
                if let Some(entry) = self.trials.get_mut(&trial) {
                    entry.pruned_at = Some(j.milestone);
                }
                AshaDecision::EarlyStop
            }
            _ => AshaDecision::Continue,
        };
        Ok(AshaStep { decision, verdict: judged.map(|j| self.verdict(j)), issue })
    }

    /// Ray's `on_trial_complete`, given the trial's last result: the rung logic runs once more
    /// (its decision ignored; it may record the value at a rung), then the trial ends. Returns the
    /// rung judged, if any. A missing metric records nothing.
    pub fn on_trial_complete(
        &mut self,
        trial: TrialId,
        time: f64,
        value: Option<f64>,
    ) -> Result<Option<RungVerdict>, AshaError> {
        if !time.is_finite() {
            return Err(AshaError::InvalidTime { trial, time });
        }
        let (q, stop_last, sign) = (self.q, self.config.stop_last_trials, self.mode.sign());
        let entry = self.entry_mut(trial)?;
        entry.last_time = Some(time);
        entry.ended = true;
        let bracket = entry.bracket;
        let Some(value) = value else {
            return Ok(None);
        };
        let judged = self.brackets[bracket].on_result(trial, time, sign * value, q, stop_last);
        Ok(judged.map(|j| self.verdict(j)))
    }

    /// Ray's `on_trial_remove` (also what a failed trial amounts to): the trial ends, nothing is
    /// recorded.
    pub fn remove_trial(&mut self, trial: TrialId) -> Result<(), AshaError> {
        self.entry_mut(trial)?.ended = true;
        Ok(())
    }

    /// The trial's bracket, rung index and pruning milestone; `None` for a trial never added.
    pub fn progress(&self, trial: TrialId) -> Option<TrialProgress> {
        let entry = self.trials.get(&trial)?;
        let rung_index = entry
            .last_time
            .and_then(|t| self.brackets[entry.bracket].reached(t))
            .map_or(-1, |i| i as i64);
        Some(TrialProgress {
            bracket: entry.bracket,
            rung_index,
            pruned_at: entry.pruned_at,
            last_time: entry.last_time,
            ended: entry.ended,
        })
    }
}
