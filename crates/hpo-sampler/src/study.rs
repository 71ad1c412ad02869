//! The ask/tell core: trials, their states, and a [`Study`] that asks its sampler for parameters.
//!
//! The study's trial list is the single source of truth. A [`Sampler`] reads it (read-only) and
//! returns parameters; it keeps no state between calls, so a study rebuilt from a journal with
//! [`Study::add_trial`] suggests exactly what the original would have.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::space::{ParamError, Params, SearchSpace};

/// Whether smaller or larger objective values are better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smaller is better.
    #[default]
    #[serde(alias = "min")]
    Minimize,
    /// Larger is better.
    #[serde(alias = "max")]
    Maximize,
}

impl Direction {
    /// True when `a` is strictly better than `b`.
    pub fn is_better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }
}

/// The state of a trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Asked, not yet told.
    Running,
    /// Finished with a finite objective value.
    Complete,
    /// Stopped early; its intermediate values still inform TPE.
    Pruned,
    /// Crashed or gave a non-finite value; ignored by the samplers.
    Failed,
}

impl fmt::Display for TrialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
        })
    }
}

/// How a trial ended.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Finished with this objective value (must be finite).
    Complete(f64),
    /// Stopped early by a scheduler; its reported intermediate values are kept.
    Pruned,
    /// Crashed.
    Failed,
}

/// One trial of a study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Number, from 0, in the order trials were asked or added.
    pub number: u64,
    /// The parameters.
    pub params: Params,
    /// Current state.
    pub state: TrialState,
    /// The objective value of a complete trial.
    pub value: Option<f64>,
    /// Intermediate values by step.
    pub intermediate_values: BTreeMap<u64, f64>,
}

impl Trial {
    /// The last (highest-step) intermediate value, if any.
    pub fn last_intermediate(&self) -> Option<(u64, f64)> {
        self.intermediate_values.iter().next_back().map(|(s, v)| (*s, *v))
    }
}

/// What a sampler sees of a study.
#[derive(Clone, Copy, Debug)]
pub struct History<'a> {
    /// The space to sample.
    pub space: &'a SearchSpace,
    /// Every trial so far, in number order (the one being sampled excluded or running).
    pub trials: &'a [Trial],
    /// The optimisation direction.
    pub direction: Direction,
}

/// Suggests parameters for a trial from the study's history.
///
/// Implementations are pure functions of `(history, trial_number)` and their own seed: the same
/// inputs always give the same parameters. The returned params cover the whole space.
pub trait Sampler: Send + Sync + fmt::Debug {
    /// Parameters for trial `trial_number`. A trial with that number in `history.trials`
    /// (a running one) is ignored.
    fn sample(&self, history: History<'_>, trial_number: u64) -> Params;
}

/// A trial handed out by [`Study::ask`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AskedTrial {
    /// Its number, to pass to `report` and `tell`.
    pub number: u64,
    /// Its parameters.
    pub params: Params,
}

/// Misuse of the ask/tell API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StudyError {
    /// No trial has this number.
    #[error("unknown trial {number}: the study has {n_trials} trials")]
    UnknownTrial {
        /// The number given.
        number: u64,
        /// How many trials exist.
        n_trials: u64,
    },
    /// The trial is not running any more.
    #[error("trial {number} is already {state}; only running trials take reports and tells")]
    AlreadyFinished {
        /// The trial.
        number: u64,
        /// Its state.
        state: TrialState,
    },
    /// A complete outcome with NaN or an infinity. Like Optuna with NaN, the trial is recorded
    /// as failed.
    #[error(
        "trial {number}: objective value {value} is not finite; the trial was recorded as failed"
    )]
    NonFiniteValue {
        /// The trial.
        number: u64,
        /// The value given.
        value: f64,
    },
    /// A second report at the same step.
    #[error(
        "trial {number} already has an intermediate value at step {step}; report each step once"
    )]
    DuplicateStep {
        /// The trial.
        number: u64,
        /// The step.
        step: u64,
    },
    /// Enqueued or added parameters that do not fit the space.
    #[error(transparent)]
    Params(#[from] ParamError),
}

/// An ask/tell study: a search space, a direction, a sampler and the trials so far.
#[derive(Debug)]
pub struct Study {
    space: SearchSpace,
    direction: Direction,
    sampler: Box<dyn Sampler>,
    trials: Vec<Trial>,
    queue: VecDeque<Params>,
}

impl Study {
    /// A new, empty study.
    pub fn new(space: SearchSpace, direction: Direction, sampler: impl Sampler + 'static) -> Self {
        Self::with_boxed_sampler(space, direction, Box::new(sampler))
    }

    /// A new, empty study with an already boxed sampler (see [`crate::SamplerConfig::build`]).
    pub fn with_boxed_sampler(
        space: SearchSpace,
        direction: Direction,
        sampler: Box<dyn Sampler>,
    ) -> Self {
        Study { space, direction, sampler, trials: Vec::new(), queue: VecDeque::new() }
    }

    /// Starts a trial: enqueued parameters first (missing ones are sampled), else the sampler's.
    pub fn ask(&mut self) -> AskedTrial {
        let number = self.trials.len() as u64;
        let history =
            History { space: &self.space, trials: &self.trials, direction: self.direction };
        let mut params = self.sampler.sample(history, number);
        if let Some(fixed) = self.queue.pop_front() {
            params.extend(fixed);
        }
        self.trials.push(Trial {
            number,
            params: params.clone(),
            state: TrialState::Running,
            value: None,
            intermediate_values: BTreeMap::new(),
        });
        AskedTrial { number, params }
    }

    /// Records an intermediate value of a running trial. NaN is accepted (it ranks worst when
    /// pruned trials are compared); each step is reported once.
    pub fn report(&mut self, number: u64, step: u64, value: f64) -> Result<(), StudyError> {
        let trial = self.running_mut(number)?;
        if trial.intermediate_values.contains_key(&step) {
            return Err(StudyError::DuplicateStep { number, step });
        }
        trial.intermediate_values.insert(step, value);
        Ok(())
    }

    /// Finishes a running trial and returns its new state. A non-finite complete value records
    /// the trial as failed and returns [`StudyError::NonFiniteValue`].
    pub fn tell(&mut self, number: u64, outcome: Outcome) -> Result<TrialState, StudyError> {
        let trial = self.running_mut(number)?;
        finish(trial, outcome)
    }

    /// Queues parameters for the next `ask` (like Optuna's `enqueue_trial`). They are checked
    /// against the space; parameters left out are sampled.
    pub fn enqueue(&mut self, params: Params) -> Result<(), StudyError> {
        let params = self.space.check_params(&params)?;
        self.queue.push_back(params);
        Ok(())
    }

    /// Adds an already finished trial (like Optuna's `add_trial`), e.g. to rebuild a study from
    /// a journal, and returns its number. The parameters are checked against the space (a
    /// trial missing some parameter is kept but does not inform TPE).
    pub fn add_trial(
        &mut self,
        params: Params,
        outcome: Outcome,
        intermediate_values: BTreeMap<u64, f64>,
    ) -> Result<u64, StudyError> {
        let params = self.space.check_params(&params)?;
        let number = self.trials.len() as u64;
        self.trials.push(Trial {
            number,
            params,
            state: TrialState::Running,
            value: None,
            intermediate_values,
        });
        let last = self.trials.len() - 1;
        finish(&mut self.trials[last], outcome)?;
        Ok(number)
    }

    /// All trials, in number order.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// The trial with this number.
    pub fn trial(&self, number: u64) -> Option<&Trial> {
        usize::try_from(number).ok().and_then(|i| self.trials.get(i))
    }

    /// The best complete trial (the first one on ties).
    pub fn best_trial(&self) -> Option<&Trial> {
        let mut best: Option<&Trial> = None;
        for t in self.trials.iter().filter(|t| t.state == TrialState::Complete) {
            let (Some(v), better) = (t.value, best) else { continue };
            match better.and_then(|b| b.value) {
                Some(bv) if !self.direction.is_better(v, bv) => {}
                _ => best = Some(t),
            }
        }
        best
    }

    /// The search space.
    pub fn space(&self) -> &SearchSpace {
        &self.space
    }

    /// The direction.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// What a sampler would see now.
    pub fn history(&self) -> History<'_> {
        History { space: &self.space, trials: &self.trials, direction: self.direction }
    }

    fn running_mut(&mut self, number: u64) -> Result<&mut Trial, StudyError> {
        let n_trials = self.trials.len() as u64;
        let trial = usize::try_from(number)
            .ok()
            .and_then(|i| self.trials.get_mut(i))
            .ok_or(StudyError::UnknownTrial { number, n_trials })?;
        if trial.state != TrialState::Running {
            return Err(StudyError::AlreadyFinished { number, state: trial.state });
        }
        Ok(trial)
    }
}

fn finish(trial: &mut Trial, outcome: Outcome) -> Result<TrialState, StudyError> {
    match outcome {
        Outcome::Complete(value) if !value.is_finite() => {
            trial.state = TrialState::Failed;
            return Err(StudyError::NonFiniteValue { number: trial.number, value });
        }
        Outcome::Complete(value) => {
            trial.state = TrialState::Complete;
            trial.value = Some(value);
        }
        Outcome::Pruned => trial.state = TrialState::Pruned,
        Outcome::Failed => trial.state = TrialState::Failed,
    }
    Ok(trial.state)
}
