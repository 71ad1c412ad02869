//! Which environment a trainer samples from, and what a checkpoint records of it.

use std::sync::Arc;

use marl_env::{CartPole, EnvError, MultiAgentEnv, PpgConfig, PredPreyGrass};
use serde::{Deserialize, Serialize};

/// Builds environment copy number `index` (0-based over all runners).
pub type EnvFactory = Arc<dyn Fn(usize) -> Result<Box<dyn MultiAgentEnv>, EnvError> + Send + Sync>;

/// The environment of a trial: a built-in (identified by its typed configuration) or any
/// factory (identified by its name).
// One per trial, built once: the size of `PpgConfig` inline does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum EnvSpec {
    /// `marl_env::CartPole` (gymnasium CartPole-v1).
    CartPole,
    /// `marl_env::PredPreyGrass` with this configuration (the study's environment). A
    /// checkpoint records the configuration and only loads into an equal one.
    PredPreyGrass(PpgConfig),
    /// Any environment; `name` identifies it in checkpoints (a checkpoint only loads into an
    /// `EnvSpec` of the same name).
    Custom {
        /// Stable name.
        name: String,
        /// Constructor.
        factory: EnvFactory,
    },
}

impl std::fmt::Debug for EnvSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnvSpec({})", self.name())
    }
}

/// The name a checkpoint of `hpo study` recorded before checkpoints stored the typed
/// configuration (its objective built the environment as a custom one of this name).
pub(crate) const LEGACY_STUDY_ENV: &str = "predator_prey_grass";

impl EnvSpec {
    /// Stable name (for predator-prey-grass it includes the whole configuration as JSON).
    pub fn name(&self) -> String {
        match self {
            EnvSpec::CartPole => "cartpole".to_string(),
            EnvSpec::PredPreyGrass(c) => format!(
                "pred_prey_grass {}",
                serde_json::to_string(c).unwrap_or_else(|e| e.to_string())
            ),
            EnvSpec::Custom { name, .. } => name.clone(),
        }
    }

    /// The built-in environment a [`name`](Self::name) stands for (`None` for a custom one or
    /// an unreadable configuration). Checkpoints no longer store names; this reads old ones.
    pub fn from_name(name: &str) -> Option<EnvSpec> {
        if name == "cartpole" {
            return Some(EnvSpec::CartPole);
        }
        let json = name.strip_prefix("pred_prey_grass ")?;
        serde_json::from_str::<PpgConfig>(json).ok().map(EnvSpec::PredPreyGrass)
    }

    /// Build environment copy `index`.
    pub fn make(&self, index: usize) -> Result<Box<dyn MultiAgentEnv>, EnvError> {
        match self {
            EnvSpec::CartPole => Ok(Box::new(CartPole::default())),
            EnvSpec::PredPreyGrass(c) => Ok(Box::new(PredPreyGrass::new(c.clone())?)),
            EnvSpec::Custom { factory, .. } => factory(index),
        }
    }

    /// What a checkpoint stores of this environment.
    pub(crate) fn record(&self) -> EnvRecord {
        match self {
            EnvSpec::CartPole => EnvRecord::CartPole,
            EnvSpec::PredPreyGrass(c) => EnvRecord::PredPreyGrass { config: c.clone() },
            EnvSpec::Custom { name, .. } => EnvRecord::Custom { name: name.clone() },
        }
    }
}

/// The identity of a checkpoint's environment (`trainer_state.json`, key `env`): a built-in's
/// typed configuration, so the environment can be rebuilt and compared by value, or a custom
/// environment's name.
// One per save or load: the size of `PpgConfig` inline does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum EnvRecord {
    /// `EnvSpec::CartPole`.
    #[serde(rename = "cartpole")]
    CartPole,
    /// `EnvSpec::PredPreyGrass`.
    PredPreyGrass {
        /// The environment's settings.
        config: PpgConfig,
    },
    /// `EnvSpec::Custom` (its factory cannot be stored).
    Custom {
        /// The custom environment's name.
        name: String,
    },
}

impl EnvRecord {
    /// A short name for messages.
    pub(crate) fn label(&self) -> &str {
        match self {
            EnvRecord::CartPole => "cartpole",
            EnvRecord::PredPreyGrass { .. } => "pred_prey_grass",
            EnvRecord::Custom { name } => name,
        }
    }

    /// The built-in environment this record rebuilds (`None` for a custom one).
    pub(crate) fn spec(&self) -> Option<EnvSpec> {
        match self {
            EnvRecord::CartPole => Some(EnvSpec::CartPole),
            EnvRecord::PredPreyGrass { config } => Some(EnvSpec::PredPreyGrass(config.clone())),
            EnvRecord::Custom { .. } => None,
        }
    }

    /// Why an environment recorded as `self` is not `given`, naming every setting that differs
    /// (`None`: they are the same environment).
    pub(crate) fn mismatch(&self, given: &EnvRecord) -> Option<String> {
        if self == given {
            return None;
        }
        match (self, given) {
            (EnvRecord::PredPreyGrass { config: saved }, EnvRecord::PredPreyGrass { config }) => {
                let fields = differing_fields(saved, config);
                if fields.is_empty() {
                    // Equal as JSON but not as values (a NaN setting): say so plainly.
                    return Some(
                        "made with other predator-prey-grass settings than the ones given"
                            .to_string(),
                    );
                }
                Some(format!(
                    "made with other predator-prey-grass settings: {}; load it with the \
                     settings it was trained with (for a study, the `[env]` of its first run), \
                     or start a new run",
                    fields.join(", ")
                ))
            }
            _ => Some(format!(
                "made with env `{}`, asked to load into `{}`",
                self.label(),
                given.label()
            )),
        }
    }
}

/// `key = saved in the checkpoint, given here` for every differing setting, in key order.
fn differing_fields(saved: &PpgConfig, given: &PpgConfig) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(saved), serde_json::to_value(given))
    else {
        return Vec::new();
    };
    let show = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "none".to_string(),
        Some(v) => v.to_string(),
    };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("`{k}` is {} in the checkpoint, {} here", show(a.get(k)), show(b.get(k))))
        .collect()
}
