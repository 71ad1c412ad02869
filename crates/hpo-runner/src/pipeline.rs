//! The study's decision order, as a pure state machine shared by `hpo replay` and the study
//! coordinator: no threads, no I/O, no clock.
//!
//! For each result of a running trial:
//! 1. the stoppers (plateau, drop, max_iters, in that order): the first that fires stops the trial
//!    with its name as the reason, and the scheduler's `on_result` is *not* called;
//! 2. otherwise the scheduler decides: ASHA stops at a rung (`asha_early_stop`) or at `max_t`
//!    (`completed`); with no scheduler (FIFO) the trial continues;
//! 3. on any stop, the scheduler's completion hook gets that same last result (it may record the
//!    value at a rung), and the trial takes no more events.
//!
//! A trial that ends on its own goes through the completion hook ([`Pipeline::complete_trial`]);
//! a failed trial is removed from the scheduler without recording anything (Ray's
//! `on_trial_error` amounts to `on_trial_remove`). Misuse (unknown trial, events after a stop)
//! is a [`PipelineError`], never a panic.
//!
//! ```
//! use hpo_runner::config::StudyConfig;
//! use hpo_runner::pipeline::{Decision, Pipeline, StopReason};
//!
//! let config = StudyConfig::from_toml_str(
//!     "[scheduler]\nkind = \"asha\"\nmax_t = 10\nreduction_factor = 2\n[stoppers.max_iters]\nmax_iters = 3\n",
//! )?;
//! let mut pipeline = Pipeline::from_config(&config)?;
//! pipeline.add_trial(0, None)?;
//! pipeline.add_trial(1, None)?;
//! assert_eq!(pipeline.on_result(0, 1, Some(0.9))?.decision, Decision::Continue);
//! let record = pipeline.on_result(1, 1, Some(0.1))?;
//! assert_eq!(record.decision, Decision::Stop(StopReason::AshaEarlyStop));
//! assert_eq!(record.pruned_at, Some(1.0));
//! assert!(pipeline.on_result(1, 2, Some(0.5)).is_err(), "no results after a stop");
//! assert_eq!(pipeline.on_result(0, 2, Some(0.9))?.decision, Decision::Continue);
//! assert_eq!(pipeline.on_result(0, 3, Some(0.9))?.decision, Decision::Stop(StopReason::MaxIters));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use hpo_asha::{Asha, AshaDecision, AshaError, MetricIssue, RungVerdict};
use hpo_stoppers::{StopperError, Stoppers, StoppersConfig};

use crate::config::{Mode, SchedulerConfig, StudyConfig};

/// A trial's number (the study names trial 3 `trial_0003`).
pub use hpo_core::TrialId;

/// Why a trial stopped, as written in the study's CSV (`stop_reason`).
pub use hpo_core::StopReason;

/// What the runner must do with a trial after a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "reason", rename_all = "snake_case")]
pub enum Decision {
    /// Keep training.
    Continue,
    /// Stop the trial, for this reason.
    Stop(StopReason),
}

impl Decision {
    /// Whether the trial must stop.
    pub fn is_stop(self) -> bool {
        matches!(self, Decision::Stop(_))
    }

    /// The stop reason, if any.
    pub fn reason(self) -> Option<StopReason> {
        match self {
            Decision::Continue => None,
            Decision::Stop(r) => Some(r),
        }
    }

    /// `continue` or `stop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Continue => "continue",
            Decision::Stop(_) => "stop",
        }
    }
}

/// Where a trial stands in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    /// Takes results.
    Running,
    /// Stopped by a decision of the pipeline.
    Stopped(StopReason),
    /// Ended on its own.
    Completed,
    /// Failed (removed from the scheduler).
    Failed,
}

impl std::fmt::Display for TrialStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrialStatus::Running => f.write_str("running"),
            TrialStatus::Stopped(r) => write!(f, "stopped ({r})"),
            TrialStatus::Completed => f.write_str("completed"),
            TrialStatus::Failed => f.write_str("failed"),
        }
    }
}

/// Misuse of the pipeline or an invalid configuration.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PipelineError {
    /// An event for a trial that was never added.
    #[error("trial {0} was never added: add it before its results")]
    UnknownTrial(TrialId),
    /// A trial added twice.
    #[error("trial {0} was already added: trial numbers must be unique")]
    DuplicateTrial(TrialId),
    /// An event for a trial that already stopped, completed or failed.
    #[error("trial {trial} is already {status}: it takes no more events")]
    NotRunning {
        /// The trial.
        trial: TrialId,
        /// Its status.
        status: TrialStatus,
    },
    /// A bracket given while no scheduler is configured.
    #[error(
        "trial {trial} was given bracket {bracket}, but no scheduler is configured (FIFO has no brackets)"
    )]
    BracketWithoutScheduler {
        /// The trial.
        trial: TrialId,
        /// The bracket asked for.
        bracket: usize,
    },
    /// The scheduler refused (bad config, bad bracket).
    #[error("scheduler: {0}")]
    Scheduler(#[from] AshaError),
    /// A stopper config is invalid.
    #[error("stoppers: {0}")]
    Stoppers(#[from] StopperError),
}

/// The rung position of a trial, for the study's CSV (`rung_index`, `rung_pruned_at`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RungInfo {
    /// Index of the last rung (of its bracket) the trial reached, -1 if none (always -1 for FIFO).
    pub rung_index: i64,
    /// The milestone where ASHA stopped it, if it did.
    #[serde(with = "hpo_core::float::option")]
    pub pruned_at: Option<f64>,
}

/// The log line of one result: what came in, what was decided and why, and the rung state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The trial.
    pub trial: TrialId,
    /// The iteration it reported (ASHA's time).
    pub iteration: u64,
    /// The metric value (`None`: missing).
    #[serde(with = "hpo_core::float::option")]
    pub value: Option<f64>,
    /// The decision and its reason.
    #[serde(flatten)]
    pub decision: Decision,
    /// A missing or non-finite metric (processed as the reference does, but reported).
    pub issue: Option<MetricIssue>,
    /// The rung ASHA judged this result at (not consulted when a stopper fired).
    pub rung: Option<RungVerdict>,
    /// On a stop: the rung the completion hook recorded the same result at, if any.
    pub completion_rung: Option<RungVerdict>,
    /// The trial's rung index after this result.
    pub rung_index: i64,
    /// The milestone where ASHA stopped it, if it did.
    #[serde(with = "hpo_core::float::option")]
    pub pruned_at: Option<f64>,
}

/// The log line of a trial added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddRecord {
    /// The trial.
    pub trial: TrialId,
    /// Its ASHA bracket (`None` for FIFO).
    pub bracket: Option<usize>,
    /// The milestones of that bracket.
    pub milestones: Vec<f64>,
}

/// The log line of a trial that ended on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRecord {
    /// The trial.
    pub trial: TrialId,
    /// Its last iteration.
    pub iteration: u64,
    /// Its last value.
    #[serde(with = "hpo_core::float::option")]
    pub value: Option<f64>,
    /// The rung the completion hook recorded the value at, if any.
    pub completion_rung: Option<RungVerdict>,
    /// The trial's final rung index.
    pub rung_index: i64,
}

/// An input event of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrialEvent {
    /// A new trial, optionally in a given bracket.
    Add {
        /// The trial.
        trial: TrialId,
        /// Its bracket, else drawn from the seeded RNG.
        bracket: Option<usize>,
    },
    /// A result.
    Result {
        /// The trial.
        trial: TrialId,
        /// Its iteration.
        iteration: u64,
        /// Its metric (`None`: missing).
        #[serde(with = "hpo_core::float::option")]
        value: Option<f64>,
    },
    /// The trial ended on its own with this last result.
    Complete {
        /// The trial.
        trial: TrialId,
        /// Its last iteration.
        iteration: u64,
        /// Its last metric.
        #[serde(with = "hpo_core::float::option")]
        value: Option<f64>,
    },
    /// The trial failed.
    Fail {
        /// The trial.
        trial: TrialId,
    },
}

/// The log line of any event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Record {
    /// See [`AddRecord`].
    Add(AddRecord),
    /// See [`DecisionRecord`].
    Result(DecisionRecord),
    /// See [`CompletionRecord`].
    Complete(CompletionRecord),
    /// A trial failed.
    Fail {
        /// The trial.
        trial: TrialId,
    },
}

/// Stoppers, then the scheduler, for every trial of a study. Serialisable, so it can be saved;
/// replaying the same events into a new pipeline gives the same state and decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    scheduler: Option<Asha>,
    stoppers: Stoppers,
    trials: BTreeMap<TrialId, TrialStatus>,
}

impl Pipeline {
    /// A pipeline from its parts; `seed` drives ASHA's bracket choice.
    pub fn new(
        mode: Mode,
        seed: u64,
        scheduler: &SchedulerConfig,
        stoppers: StoppersConfig,
    ) -> Result<Pipeline, PipelineError> {
        let scheduler = match scheduler {
            SchedulerConfig::Fifo => None,
            SchedulerConfig::Asha(c) => Some(Asha::new(c.clone(), mode, seed)?),
        };
        Ok(Pipeline {
            scheduler,
            stoppers: Stoppers::new(stoppers, mode)?,
            trials: BTreeMap::new(),
        })
    }

    /// The pipeline of a study configuration (mode, seed, scheduler, stoppers).
    pub fn from_config(config: &StudyConfig) -> Result<Pipeline, PipelineError> {
        Pipeline::new(
            config.study.mode,
            config.study.seed,
            &config.scheduler,
            config.stoppers.clone(),
        )
    }

    /// The ASHA scheduler, if one is configured.
    pub fn scheduler(&self) -> Option<&Asha> {
        self.scheduler.as_ref()
    }

    /// A trial's status; `None` if never added.
    pub fn status(&self, trial: TrialId) -> Option<TrialStatus> {
        self.trials.get(&trial).copied()
    }

    /// The trial's rung index and pruning milestone; `None` if never added.
    pub fn rung_info(&self, trial: TrialId) -> Option<RungInfo> {
        self.trials.get(&trial)?;
        let asha = self.scheduler.as_ref();
        let progress = asha.and_then(|a| a.progress(trial));
        // The reference's `rung_index` counts the rungs below max_t only (a rung exactly at
        // max_t, as with max_t 45, grace 5, rf 3, is where trials end, not a rung reached).
        let below_max_t = match (asha, progress) {
            (Some(a), Some(p)) => a
                .milestones()
                .get(p.bracket)
                .map_or(0, |m| m.iter().filter(|&&t| t < a.config().max_t).count()),
            _ => 0,
        };
        Some(RungInfo {
            rung_index: progress.map_or(-1, |p| p.rung_index.min(below_max_t as i64 - 1)),
            pruned_at: progress.and_then(|p| p.pruned_at),
        })
    }

    /// The trial's `rung_index` column: -1 when unknown, FIFO, or no rung reached.
    pub fn rung_index(&self, trial: TrialId) -> i64 {
        self.rung_info(trial).map_or(-1, |i| i.rung_index)
    }

    /// The trial's `rung_pruned_at` column: the milestone where ASHA stopped it, if it did.
    pub fn pruned_at(&self, trial: TrialId) -> Option<f64> {
        self.rung_info(trial).and_then(|i| i.pruned_at)
    }

    fn running(&self, trial: TrialId) -> Result<(), PipelineError> {
        match self.trials.get(&trial) {
            None => Err(PipelineError::UnknownTrial(trial)),
            Some(TrialStatus::Running) => Ok(()),
            Some(&status) => Err(PipelineError::NotRunning { trial, status }),
        }
    }

    /// Add a trial, in `bracket` or in one drawn from the seeded RNG.
    pub fn add_trial(
        &mut self,
        trial: TrialId,
        bracket: Option<usize>,
    ) -> Result<AddRecord, PipelineError> {
        if self.trials.contains_key(&trial) {
            return Err(PipelineError::DuplicateTrial(trial));
        }
        let (bracket, milestones) = match (&mut self.scheduler, bracket) {
            (None, Some(bracket)) => {
                return Err(PipelineError::BracketWithoutScheduler { trial, bracket });
            }
            (None, None) => (None, Vec::new()),
            (Some(asha), bracket) => {
                let b = asha.add_trial(trial, bracket)?;
                let milestones = asha.milestones().swap_remove(b);
                (Some(b), milestones)
            }
        };
        self.trials.insert(trial, TrialStatus::Running);
        Ok(AddRecord { trial, bracket, milestones })
    }

    /// Decide on one result of a running trial (see the module docs for the order).
    pub fn on_result(
        &mut self,
        trial: TrialId,
        iteration: u64,
        value: Option<f64>,
    ) -> Result<DecisionRecord, PipelineError> {
        self.running(trial)?;
        let time = iteration as f64;
        let outcome = self.stoppers.on_result(trial, value);
        let (decision, rung) = match (outcome.fired, &mut self.scheduler) {
            (Some(kind), _) => (Decision::Stop(kind.into()), None),
            (None, None) => (Decision::Continue, None),
            (None, Some(asha)) => {
                let step = asha.on_result(trial, time, value)?;
                let decision = match step.decision {
                    AshaDecision::Continue => Decision::Continue,
                    AshaDecision::EarlyStop => Decision::Stop(StopReason::AshaEarlyStop),
                    AshaDecision::MaxT => Decision::Stop(StopReason::Completed),
                };
                (decision, step.verdict)
            }
        };
        let mut completion_rung = None;
        if let Decision::Stop(reason) = decision {
            if let Some(asha) = &mut self.scheduler {
                completion_rung = asha.on_trial_complete(trial, time, value)?;
            }
            self.stoppers.remove_trial(trial);
            self.trials.insert(trial, TrialStatus::Stopped(reason));
        }
        let info = self.rung_info(trial).unwrap_or(RungInfo { rung_index: -1, pruned_at: None });
        Ok(DecisionRecord {
            trial,
            iteration,
            value,
            decision,
            issue: MetricIssue::of(value),
            rung,
            completion_rung,
            rung_index: info.rung_index,
            pruned_at: info.pruned_at,
        })
    }

    /// A running trial ended on its own with this last result: the scheduler's completion hook.
    pub fn complete_trial(
        &mut self,
        trial: TrialId,
        iteration: u64,
        value: Option<f64>,
    ) -> Result<CompletionRecord, PipelineError> {
        self.running(trial)?;
        let completion_rung = match &mut self.scheduler {
            Some(asha) => asha.on_trial_complete(trial, iteration as f64, value)?,
            None => None,
        };
        self.stoppers.remove_trial(trial);
        self.trials.insert(trial, TrialStatus::Completed);
        Ok(CompletionRecord {
            trial,
            iteration,
            value,
            completion_rung,
            rung_index: self.rung_info(trial).map_or(-1, |i| i.rung_index),
        })
    }

    /// A running trial failed: removed from the scheduler, nothing recorded.
    pub fn fail_trial(&mut self, trial: TrialId) -> Result<(), PipelineError> {
        self.running(trial)?;
        if let Some(asha) = &mut self.scheduler {
            asha.remove_trial(trial)?;
        }
        self.stoppers.remove_trial(trial);
        self.trials.insert(trial, TrialStatus::Failed);
        Ok(())
    }

    /// Apply one event and return its log line.
    pub fn apply(&mut self, event: TrialEvent) -> Result<Record, PipelineError> {
        Ok(match event {
            TrialEvent::Add { trial, bracket } => Record::Add(self.add_trial(trial, bracket)?),
            TrialEvent::Result { trial, iteration, value } => {
                Record::Result(self.on_result(trial, iteration, value)?)
            }
            TrialEvent::Complete { trial, iteration, value } => {
                Record::Complete(self.complete_trial(trial, iteration, value)?)
            }
            TrialEvent::Fail { trial } => {
                self.fail_trial(trial)?;
                Record::Fail { trial }
            }
        })
    }
}
