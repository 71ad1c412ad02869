//! `hpo-runner`: runs a study. One coordinator thread owns the sampler's ask/tell study, the
//! decision [`pipeline`] (stoppers, then ASHA, in Ray Tune's order) and the study folder's files;
//! trial workers, one thread per trial pinned to its core group, run an [`objective::Objective`]
//! and talk to the coordinator over crossbeam channels: a report goes up, a decision comes back
//! before the trial's next iteration. [`process::ProcessObjective`] runs each trial of an
//! objective in a child process instead (what `hpo study` does for PPO, whose trials slow each
//! other down inside one process).
//!
//! It is the only crate that spawns study threads, pins cores and writes study files (the
//! `journal.jsonl` source of truth and its CSV views, kept through [`store::EventStore`]); the
//! coordinator's state changes only by applying one event at a time, live and on resume alike.
//! It prints nothing: it tells an
//! [`study::Observer`]. The decisions themselves live in the pure crates `hpo-sampler`,
//! `hpo-asha` and `hpo-stoppers`; the PPO objective trains with `ppo-burn` on `marl-env`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hpo_runner::{config::StudyConfig, study::{run_study, RunOptions, Silent}};
//! let cfg = StudyConfig::from_path("configs/reference.toml")?;
//! let objective = hpo_runner::build_objective(&cfg)?;
//! let options = RunOptions {
//!     dir: "runs/example".into(),
//!     resume: false,
//!     interrupt: Arc::default(),
//!     cores: None,
//!     config_text: cfg.to_toml_string()?,
//! };
//! let summary = run_study(&cfg, objective, &options, &mut Silent)?;
//! println!("{} trials", summary.trials.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

/// The study folder's schema (file names, journal events, CSV rows), re-exported.
pub use hpo_folder::{files, journal, views};

pub mod config;
pub mod cores;
pub mod objective;
pub mod pipeline;
pub mod ppo_objective;
pub mod process;
pub mod sampling;
pub mod store;
pub mod study;
pub mod worker;

use config::{ObjectiveKind, StudyConfig};
use objective::{CommandObjective, Objective};
use ppo_objective::PpoObjective;

/// The objective a study config names, checked against the search space: for PPO every searched
/// parameter must be a `[ppo]` key. The error names the key and the fix.
pub fn build_objective(cfg: &StudyConfig) -> Result<Arc<dyn Objective>, String> {
    match cfg.objective.kind {
        ObjectiveKind::Command => Ok(Arc::new(CommandObjective {
            argv: cfg.objective.command.clone(),
            cwd: cfg.objective.cwd.clone(),
            timeout: cfg.objective.timeout_s.map(std::time::Duration::from_secs_f64),
            iteration_timeout: cfg
                .objective
                .iteration_timeout_s
                .map(std::time::Duration::from_secs_f64),
        })),
        ObjectiveKind::Ppo => {
            let objective = PpoObjective { ppo: cfg.ppo.clone(), env: cfg.env.clone() };
            // Every parameter at a value of its range, so a name that is not a PPO key fails now.
            let probe: hpo_sampler::Params = cfg
                .space
                .iter()
                .filter_map(|(name, dist)| Some((name.to_string(), lowest_value(dist)?)))
                .collect();
            ppo_objective::apply_params(&cfg.ppo, &probe)?;
            Ok(Arc::new(objective))
        }
    }
}

/// A value inside a parameter's range (its lower end, or its first choice).
fn lowest_value(dist: &hpo_sampler::Distribution) -> Option<hpo_sampler::ParamValue> {
    use hpo_sampler::{Distribution, ParamValue};
    match dist {
        Distribution::Float { low, .. } => Some(ParamValue::Float(*low)),
        Distribution::Int { low, .. } => Some(ParamValue::Int(*low)),
        Distribution::Categorical { choices } => choices.first().cloned(),
    }
}
