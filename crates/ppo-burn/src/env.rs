//! Which environment a trainer samples from.

use std::sync::Arc;

use marl_env::{CartPole, EnvError, MultiAgentEnv, PpgConfig, PredPreyGrass};

/// Builds environment copy number `index` (0-based over all runners).
pub type EnvFactory = Arc<dyn Fn(usize) -> Result<Box<dyn MultiAgentEnv>, EnvError> + Send + Sync>;

/// The environment of a trial: a named built-in or any factory.
// One per trial, built once: the size of `PpgConfig` inline does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum EnvSpec {
    /// `marl_env::CartPole` (gymnasium CartPole-v1).
    CartPole,
    /// `marl_env::PredPreyGrass` with this configuration (the study's environment).
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

impl EnvSpec {
    /// Stable name, stored in checkpoints.
    pub fn name(&self) -> String {
        match self {
            EnvSpec::CartPole => "cartpole".to_string(),
            // The whole config: a checkpoint must resume in the same environment.
            EnvSpec::PredPreyGrass(c) => format!(
                "pred_prey_grass {}",
                serde_json::to_string(c).unwrap_or_else(|e| e.to_string())
            ),
            EnvSpec::Custom { name, .. } => name.clone(),
        }
    }

    /// The built-in environment a [`name`](Self::name) stands for (`None` for a custom one or
    /// an unreadable configuration).
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
}
