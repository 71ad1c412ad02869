//! The study configuration, read from TOML.
//!
//! ```toml
//! [study]
//! mode = "max"            # or "min" (default max)
//! seed = 0                # default 0
//! metric = "score_pred"   # default
//!
//! [scheduler]             # absent (or kind = "fifo"): FIFO, never stops a trial
//! kind = "asha"
//! max_t = 1000
//! grace_period = 40
//! reduction_factor = 3
//! brackets = 1
//! stop_last_trials = true
//!
//! [stoppers.plateau]      # each stopper runs only if its table is present
//! std = 0.02
//! num_results = 12
//! grace_period = 40
//! # metric_threshold = 0.5
//! [stoppers.drop]
//! window = 5
//! drop_threshold = 0.2
//! [stoppers.max_iters]
//! max_iters = 1000
//! ```
//!
//! Every table denies unknown keys (the error names the key and its line). Absent keys take the
//! defaults shown (Ray's for the scheduler, the reference study's for the stoppers). New sections
//! are new `#[serde(default)]` fields of [`StudyConfig`]; new `[study]` keys are new fields of
//! [`StudySection`] (with a default in its `Default` impl) plus a check in [`StudyConfig::validate`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use hpo_asha::AshaConfig;
pub use hpo_core::Mode;
pub use hpo_sampler::{SamplerConfig, SearchSpace};
pub use hpo_stoppers::{DropConfig, MaxItersConfig, PlateauConfig, StoppersConfig};
pub use marl_env::PpgConfig;
pub use ppo_burn::PpoConfig;

/// A configuration that cannot be read, parsed or accepted.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read study config {}: {io}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        io: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("invalid study config{}: {message}", in_file(path))]
    Parse {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The TOML parser's message (with line, column and key).
        message: String,
    },
    /// A value out of range.
    #[error("invalid study config{}: `{key}` = {value}: {fix}", in_file(path))]
    Invalid {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// `section.key`, e.g. `scheduler.grace_period`.
        key: String,
        /// The offending value, printed.
        value: String,
        /// What would be valid.
        fix: String,
    },
}

fn in_file(path: &Option<PathBuf>) -> String {
    path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default()
}

impl ConfigError {
    fn with_path(self, file: &Path) -> ConfigError {
        match self {
            ConfigError::Parse { message, .. } => {
                ConfigError::Parse { path: Some(file.to_path_buf()), message }
            }
            ConfigError::Invalid { key, value, fix, .. } => {
                ConfigError::Invalid { path: Some(file.to_path_buf()), key, value, fix }
            }
            read @ ConfigError::Read { .. } => read,
        }
    }
}

/// A whole study configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// `[study]`: mode, seed, metric.
    #[serde(default)]
    pub study: StudySection,
    /// `[scheduler]`: FIFO when absent.
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// `[stoppers.*]`: none when absent.
    #[serde(default)]
    pub stoppers: StoppersConfig,
    /// `[resources]`: cores per trial.
    #[serde(default)]
    pub resources: ResourcesSection,
    /// `[space.<name>]`: the hyperparameters to search.
    #[serde(default)]
    pub space: SearchSpace,
    /// `[sampler]`: `kind = "tpe"` (default, Optuna 5.0's TPE options) or `"random"`.
    #[serde(default)]
    pub sampler: SamplerConfig,
    /// `[objective]`: what a trial runs.
    #[serde(default)]
    pub objective: ObjectiveSection,
    /// `[ppo]`: PPO settings of every trial (the searched ones are written over them).
    #[serde(default)]
    pub ppo: PpoConfig,
    /// `[env]`: the predator-prey-grass settings of every trial.
    #[serde(default)]
    pub env: PpgConfig,
}

/// `[resources]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourcesSection {
    /// Cores of one trial's group (default 8: 1 driver, 1 learner, 3 env runners x 2).
    pub cpus_per_trial: usize,
}

impl Default for ResourcesSection {
    fn default() -> Self {
        ResourcesSection { cpus_per_trial: 8 }
    }
}

/// `[objective]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectiveSection {
    /// `ppo` (default): ppo-burn on predator-prey-grass; `command`: an external program.
    pub kind: ObjectiveKind,
    /// For `command`: the program and its arguments, with `{param}` placeholders.
    pub command: Vec<String>,
    /// For `command`: its working directory (default: where `hpo` runs).
    pub cwd: Option<PathBuf>,
    /// For `command`: seconds a whole trial may take; past it the trial ends as `error` and its
    /// process group is killed (default: no limit).
    pub timeout_s: Option<f64>,
    /// For `command`: seconds the command may go without a report (from its start, then between
    /// reports); past it the trial ends as `error` and its process group is killed (default: no
    /// limit).
    pub iteration_timeout_s: Option<f64>,
}

impl Default for ObjectiveSection {
    fn default() -> Self {
        ObjectiveSection {
            kind: ObjectiveKind::Ppo,
            command: Vec::new(),
            cwd: None,
            timeout_s: None,
            iteration_timeout_s: None,
        }
    }
}

/// What a trial runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveKind {
    /// PPO on predator-prey-grass.
    Ppo,
    /// An external command.
    Command,
}

/// `[study]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudySection {
    /// Whether the metric is maximised or minimised (default max).
    pub mode: Mode,
    /// The study seed: every random choice derives from it (default 0).
    pub seed: u64,
    /// The metric the scheduler and stoppers watch (default `score_pred`).
    pub metric: String,
    /// A name for people (default: none).
    pub name: Option<String>,
    /// Trials the study runs in all (default 20).
    pub num_samples: u64,
    /// Trials running at once (default 4).
    pub max_concurrent: usize,
    /// A trial's first value at or beyond this (>= in max mode, <= in min) gets its row in
    /// `predator_100_hits.csv` (default 1.0).
    pub hit_threshold: f64,
    /// Trials save a checkpoint every this many iterations, to resume from (0: never; default 10).
    pub checkpoint_every: u64,
}

impl Default for StudySection {
    fn default() -> Self {
        StudySection {
            mode: Mode::Max,
            seed: 0,
            metric: "score_pred".to_string(),
            name: None,
            num_samples: 20,
            max_concurrent: 4,
            hit_threshold: 1.0,
            checkpoint_every: 10,
        }
    }
}

/// `[scheduler]`, selected by `kind`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SchedulerConfig {
    /// First in, first out: never stops a trial (the default).
    #[default]
    Fifo,
    /// Ray Tune's ASHA.
    Asha(AshaConfig),
}

impl StudySection {
    /// True when higher values of the metric are better.
    pub fn maximize(&self) -> bool {
        self.mode == Mode::Max
    }
}

impl StudyConfig {
    /// [`validate`](Self::validate), plus what running a study needs: a search space and a
    /// runnable objective (`hpo replay` needs neither).
    pub fn validate_study(&self) -> Result<(), ConfigError> {
        self.validate()?;
        let invalid = |key: String, value: String, fix: String| ConfigError::Invalid {
            path: None,
            key,
            value,
            fix,
        };
        if self.space.is_empty() {
            return Err(invalid(
                "space".into(),
                "{}".into(),
                "add at least one [space.<name>] table, e.g. [space.lr] type = \"float\", low = 9e-5, high = 1.3e-4, log = true".into(),
            ));
        }
        match self.objective.kind {
            ObjectiveKind::Command if self.objective.command.is_empty() => {
                return Err(invalid(
                    "objective.command".into(),
                    "[]".into(),
                    "give the program and its arguments, e.g. [\"python3\", \"train.py\", \"--lr\", \"{lr}\"]".into(),
                ));
            }
            ObjectiveKind::Ppo => {
                self.ppo
                    .validate()
                    .map_err(|e| invalid("ppo".into(), String::new(), e.to_string()))?;
                self.env
                    .validate()
                    .map_err(|e| invalid("env".into(), String::new(), e.to_string()))?;
            }
            ObjectiveKind::Command => {
                if let Some(cwd) = &self.objective.cwd
                    && !cwd.is_dir()
                {
                    return Err(invalid(
                        "objective.cwd".into(),
                        format!("{:?}", cwd.display().to_string()),
                        "no such folder: create it or give an existing one (relative paths are from where `hpo` runs)".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The searched parameters' names, in the space's (name) order: the CSV columns.
    pub fn space_param_names(&self) -> Vec<String> {
        self.space.iter().map(|(name, _)| name.to_string()).collect()
    }

    /// The iteration cap a trial's `progress_ratio` is measured against: the max-iterations
    /// stopper's, else ASHA's `max_t`; `None` when neither is set.
    pub fn max_iters(&self) -> Option<u64> {
        if let Some(m) = &self.stoppers.max_iters {
            return Some(m.max_iters);
        }
        match &self.scheduler {
            SchedulerConfig::Asha(a) if a.max_t.is_finite() && a.max_t >= 1.0 => {
                Some(a.max_t as u64)
            }
            _ => None,
        }
    }

    /// The configuration as TOML (what a study folder's `config.toml` holds).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError::Parse { path: None, message: e.to_string() })
    }

    /// Parse and validate a TOML text.
    pub fn from_toml_str(text: &str) -> Result<StudyConfig, ConfigError> {
        let config: StudyConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: None,
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Read, parse and validate a TOML file; errors name the file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<StudyConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|io| ConfigError::Read { path: path.to_path_buf(), io })?;
        StudyConfig::from_toml_str(&text).map_err(|e| e.with_path(path))
    }

    /// Check every section; the error names `section.key` and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, value: String, fix: String| ConfigError::Invalid {
            path: None,
            key,
            value,
            fix,
        };
        if self.study.metric.trim().is_empty() {
            return Err(invalid(
                "study.metric".into(),
                format!("{:?}", self.study.metric),
                "name the metric the trials report, e.g. \"score_pred\"".into(),
            ));
        }
        if let SchedulerConfig::Asha(asha) = &self.scheduler {
            asha.validate().map_err(|e| match e {
                hpo_asha::AshaError::InvalidConfig { field, value, fix } => {
                    invalid(format!("scheduler.{field}"), value, fix.into())
                }
                other => invalid("scheduler".into(), String::new(), other.to_string()),
            })?;
        }
        if self.study.num_samples == 0 {
            return Err(invalid(
                "study.num_samples".into(),
                "0".into(),
                "run at least 1 trial".into(),
            ));
        }
        if self.study.max_concurrent == 0 {
            return Err(invalid(
                "study.max_concurrent".into(),
                "0".into(),
                "run at least 1 trial at a time".into(),
            ));
        }
        if !self.study.hit_threshold.is_finite() {
            return Err(invalid(
                "study.hit_threshold".into(),
                self.study.hit_threshold.to_string(),
                "give a finite number, e.g. 1.0".into(),
            ));
        }
        if self.resources.cpus_per_trial == 0 {
            return Err(invalid(
                "resources.cpus_per_trial".into(),
                "0".into(),
                "give each trial at least 1 core (the reference uses 8)".into(),
            ));
        }
        for (key, limit) in [
            ("objective.timeout_s", self.objective.timeout_s),
            ("objective.iteration_timeout_s", self.objective.iteration_timeout_s),
        ] {
            if let Some(s) = limit {
                if !(s.is_finite() && s > 0.0) {
                    return Err(invalid(
                        key.into(),
                        s.to_string(),
                        "give a positive number of seconds, or leave the key out for no limit"
                            .into(),
                    ));
                }
                if self.objective.kind != ObjectiveKind::Command {
                    return Err(invalid(
                        key.into(),
                        s.to_string(),
                        "timeouts apply to `kind = \"command\"` objectives only: remove the key"
                            .into(),
                    ));
                }
            }
        }
        self.stoppers.validate().map_err(|e| match e {
            hpo_stoppers::StopperError::InvalidConfig { stopper, field, value, fix } => {
                invalid(format!("stoppers.{stopper}.{field}"), value, fix.into())
            }
        })?;
        Ok(())
    }
}
