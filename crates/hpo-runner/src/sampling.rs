//! The coordinator's view of the sampler: an `hpo_sampler::Study` (ask/tell) built from the study
//! config, with the study's trial numbers and the rebuild-from-journal calls it needs.

use hpo_sampler::{Direction, Outcome, Params, SamplerConfig, SearchSpace, Study};

use crate::config::{Mode, StudyConfig};

/// The sampler refused a call.
#[derive(Debug, thiserror::Error)]
pub enum SamplingError {
    /// The sampler's configuration is invalid.
    #[error("sampler: {0}")]
    Config(String),
    /// An ask/tell call was refused.
    #[error("sampler: {0}")]
    Study(#[from] hpo_sampler::StudyError),
    /// A journal's trial numbers do not follow the sampler's.
    #[error("sampler: trial {expected} expected while rebuilding, got {got}")]
    Order {
        /// The number the sampler gave.
        expected: u64,
        /// The number the journal has.
        got: u64,
    },
}

/// The sampler's study.
#[derive(Debug)]
pub struct SamplerHandle {
    study: Study,
}

impl SamplerHandle {
    /// Build from `[space]`, `[sampler]`, `[study] mode` and `seed`.
    pub fn new(cfg: &StudyConfig) -> Result<Self, SamplingError> {
        Self::build(&cfg.space, &cfg.sampler, cfg.study.mode, cfg.study.seed)
    }

    /// Build from the parts.
    pub fn build(
        space: &SearchSpace,
        sampler: &SamplerConfig,
        mode: Mode,
        seed: u64,
    ) -> Result<Self, SamplingError> {
        let direction = match mode {
            Mode::Max => Direction::Maximize,
            Mode::Min => Direction::Minimize,
        };
        let sampler = sampler.build(seed).map_err(|e| SamplingError::Config(e.to_string()))?;
        Ok(SamplerHandle { study: Study::with_boxed_sampler(space.clone(), direction, sampler) })
    }

    /// Trials asked so far (running or finished).
    pub fn n_started(&self) -> u64 {
        self.study.trials().len() as u64
    }

    /// A new trial: its number and parameters.
    pub fn ask(&mut self) -> Result<(u64, Params), SamplingError> {
        let asked = self.study.ask();
        Ok((asked.number, asked.params))
    }

    /// An intermediate value.
    pub fn report(&mut self, trial: u64, step: u64, value: f64) -> Result<(), SamplingError> {
        Ok(self.study.report(trial, step, value)?)
    }

    /// The trial ended with this value (also when a scheduler or stopper ended it: the
    /// reference's searcher is told the last result of every ended trial).
    pub fn complete(&mut self, trial: u64, value: f64) -> Result<(), SamplingError> {
        match self.study.tell(trial, Outcome::Complete(value)) {
            Ok(_) | Err(hpo_sampler::StudyError::NonFiniteValue { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The trial failed: the sampler ignores it.
    pub fn fail(&mut self, trial: u64) -> Result<(), SamplingError> {
        self.study.tell(trial, Outcome::Failed)?;
        Ok(())
    }

    /// Rebuilding from a journal: trial `trial` was started with `params` (trials come in
    /// number order); it is running until told otherwise.
    pub fn restore_started(&mut self, trial: u64, params: Params) -> Result<(), SamplingError> {
        let expected = self.n_started();
        if trial != expected {
            return Err(SamplingError::Order { expected, got: trial });
        }
        self.study.enqueue(params)?;
        self.study.ask();
        Ok(())
    }
}
