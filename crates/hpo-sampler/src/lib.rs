//! `hpo-sampler`: search spaces, an ask/tell study and samplers (random search and TPE with
//! Optuna 5.0's semantics), in one crate that depends on none of ours.
//!
//! A [`Study`] holds a [`SearchSpace`], a [`Direction`] and the list of [`Trial`]s; `ask` hands
//! out a trial number and parameters, `report` records intermediate values and `tell` finishes
//! the trial as complete, pruned or failed. A [`Sampler`] is a pure function of that history,
//! its own seed and the trial number (each suggestion draws from an RNG derived from
//! `(seed, trial number)`), so a study rebuilt with [`Study::add_trial`] continues exactly as the
//! original would have.
//!
//! [`TpeSampler`] follows Optuna's `TPESampler`: random startup trials, a "below"/"above" split
//! by `gamma`, truncated-normal Parzen estimators with Optuna's bandwidths, prior and weights,
//! a categorical kernel, multivariate (joint component) sampling and the constant liar; its
//! defaults are Optuna 5.0's and [`TpeConfig::optuna4`] gives 4.x's. `docs/sampler.md` lists
//! the semantics and what differs from Optuna.
//!
//! This crate does not run trials, spawn threads, read files or print: the runner does.
//!
//! ```
//! use hpo_sampler::{Direction, Outcome, SearchSpace, Study, TpeConfig, TpeSampler};
//!
//! let space = SearchSpace::from_toml_str(
//!     r#"
//!     [space.x]
//!     type = "float"
//!     low = -5.0
//!     high = 5.0
//!     [space.n]
//!     type = "int"
//!     low = 22
//!     high = 30
//!     step = 2
//!     "#,
//! )?;
//! let sampler = TpeSampler::new(TpeConfig::default(), 42)?;
//! let mut study = Study::new(space, Direction::Minimize, sampler);
//! for _ in 0..30 {
//!     let trial = study.ask();
//!     let x = trial.params["x"].as_f64().unwrap_or_default();
//!     let n = trial.params["n"].as_i64().unwrap_or_default();
//!     study.tell(trial.number, Outcome::Complete((x - 1.0).powi(2) + (n - 26).abs() as f64))?;
//! }
//! let best = study.best_trial().and_then(|t| t.value).unwrap_or(f64::INFINITY);
//! assert!(best < 1.5, "best {best}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod parzen;
mod random;
mod space;
mod study;
mod tpe;
mod truncnorm;

use serde::{Deserialize, Serialize};

pub use random::RandomSampler;
pub use space::{Distribution, ParamError, ParamValue, Params, SearchSpace, SpaceError};
pub use study::{
    AskedTrial, Direction, History, Outcome, Sampler, Study, StudyError, Trial, TrialState,
};
pub use tpe::{BandwidthRule, ConfigError, TpeConfig, TpeSampler, default_gamma};
#[doc(hidden)]
pub use tpe::{ParzenSummary, parzen_estimator_1d, split_trials};

/// Which sampler a study uses, as written in a config file
/// (`kind = "tpe"` with [`TpeConfig`]'s fields, or `kind = "random"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SamplerConfig {
    /// Uniform random search.
    Random,
    /// TPE with these options.
    Tpe(TpeConfig),
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig::Tpe(TpeConfig::default())
    }
}

impl SamplerConfig {
    /// Builds the sampler with this seed.
    pub fn build(&self, seed: u64) -> Result<Box<dyn Sampler>, ConfigError> {
        Ok(match self {
            SamplerConfig::Random => Box::new(RandomSampler::new(seed)),
            SamplerConfig::Tpe(c) => Box::new(TpeSampler::new(c.clone(), seed)?),
        })
    }
}
