//! [`PpoConfig`]: every knob of the learner in one serialisable struct.
//!
//! Defaults are the reference study's (RLlib new API stack PPO with `train_batch_size` 1024 env
//! steps and minibatch 128); where the reference did not set a value, RLlib 2.x's default is used
//! (`lr` 5e-5, `num_epochs` 30, Adam epsilon 1e-8 as torch's, no gradient clipping, MLP
//! `[256, 256]` with tanh). The seed is not part of the config: [`Trainer::new`](crate::Trainer::new)
//! takes it, so one config can run under many seeds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::PpoError;

/// Which network each policy uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Fully connected layers on the flattened observation (`mlp_hiddens`, `activation`).
    Mlp,
    /// The reference encoder: 3x3 stride-1 "same" convolutions with ReLU (`conv_channels`),
    /// channels-first over the agent's window, flattened.
    Conv,
}

/// Activation of the MLP's hidden layers (the conv encoder always uses ReLU, as the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `tanh` (RLlib's default `fcnet_activation`).
    Tanh,
    /// `max(x, 0)`.
    Relu,
}

/// How weights are initialised (always from the trial's seed, never from a global RNG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// torch's default, which RLlib uses: weights and biases uniform in `±1/sqrt(fan_in)`.
    Torch,
    /// CleanRL's recipe: orthogonal weights with gain `sqrt(2)` for hidden layers, 0.01 for the
    /// policy head and 1 for the value head; zero biases.
    Orthogonal,
}

/// How the epochs of one iteration are cut into minibatch steps when there are several policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Minibatching {
    /// RLlib's multi-agent iterator: every step gives each policy `minibatch_size` samples;
    /// steps go on until the largest policy batch has been covered `num_epochs` times, so
    /// smaller batches cycle (and get more gradient steps than their own data would give).
    Cycle,
    /// Each policy does `num_epochs` shuffled passes over its own batch only.
    PerPolicy,
}

/// Which KL value drives the adaptive KL coefficient after an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlUpdate {
    /// The mean KL of the iteration's last minibatch step (RLlib 2.x logs it with `window=1`).
    LastMinibatch,
    /// The mean over every minibatch step of the iteration.
    IterationMean,
}

/// The learner's configuration. TOML-readable (unknown keys are errors, missing keys take the
/// defaults); check it with [`PpoConfig::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    /// Adam learning rate.
    pub lr: f64,
    /// Passes over the batch per iteration (see `minibatching`).
    pub num_epochs: usize,
    /// Environment steps sampled per iteration (at least; rounded up to whole fragments).
    pub train_batch_size: usize,
    /// Agent steps per minibatch and policy.
    pub minibatch_size: usize,
    /// Discount.
    pub gamma: f64,
    /// GAE lambda.
    pub lambda: f64,
    /// PPO ratio clip.
    pub clip_param: f64,
    /// The squared value error is clipped at this value: `min(err^2, vf_clip_param)`.
    pub vf_clip_param: f64,
    /// Weight of the value loss.
    pub vf_loss_coeff: f64,
    /// Weight of the entropy bonus.
    pub entropy_coeff: f64,
    /// Add the adaptive KL penalty `kl_coeff * KL(old || new)`.
    pub use_kl_loss: bool,
    /// Initial KL coefficient.
    pub kl_coeff: f64,
    /// KL target of the adaptive rule (x1.5 above 2x target, x0.5 below 0.5x target).
    pub kl_target: f64,
    /// Which KL drives the adaptive rule.
    pub kl_update: KlUpdate,
    /// Clip each policy's gradient to this global L2 norm (none by default, as RLlib's PPO).
    pub grad_clip: Option<f64>,
    /// Adam epsilon.
    pub adam_epsilon: f64,
    /// Multi-agent minibatch schedule.
    pub minibatching: Minibatching,
    /// Env-runner threads; 0 samples on the learner's thread (same numbers as 1 runner).
    pub num_env_runners: usize,
    /// Environment copies per runner, stepped together (batched inference).
    pub envs_per_runner: usize,
    /// Threads of the learner's pool, over which the conv and dense layers spread their work
    /// (the rest of the learner runs on one of them). 0 = auto: one per core given to
    /// [`Trainer::new`](crate::Trainer::new), or every available core when not pinned.
    /// Results do not depend on it.
    pub learner_threads: usize,
    /// Steps per environment per fragment; absent = auto:
    /// `ceil(train_batch_size / (max(num_env_runners, 1) * envs_per_runner))`.
    pub rollout_fragment_length: Option<usize>,
    /// RLlib's `metrics_num_episodes_for_smoothing`: each env runner keeps a window of its last
    /// `ceil(metrics_window / max(num_env_runners, 1))` completed episodes, and the metrics are
    /// the mean of RLlib's parallel merge of those windows.
    pub metrics_window: usize,
    /// The network of every policy.
    pub network: Network,
    /// MLP hidden activation.
    pub activation: Activation,
    /// MLP hidden layer sizes for kinds not named in `mlp_hiddens_per_kind`.
    pub mlp_hiddens: Vec<usize>,
    /// MLP hidden layer sizes by agent kind name.
    pub mlp_hiddens_per_kind: BTreeMap<String, Vec<usize>>,
    /// Conv channels for kinds not named in `conv_channels_per_kind` (the reference predator's).
    pub conv_channels: Vec<usize>,
    /// Conv channels by agent kind name (default: `type_1_prey = [16, 32, 64, 64]`).
    pub conv_channels_per_kind: BTreeMap<String, Vec<usize>>,
    /// Weight initialisation.
    pub init: Init,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            lr: 5e-5,
            num_epochs: 30,
            train_batch_size: 1024,
            minibatch_size: 128,
            gamma: 0.99,
            lambda: 1.0,
            clip_param: 0.3,
            vf_clip_param: 10.0,
            vf_loss_coeff: 1.0,
            entropy_coeff: 0.0,
            use_kl_loss: true,
            kl_coeff: 0.2,
            kl_target: 0.01,
            kl_update: KlUpdate::LastMinibatch,
            grad_clip: None,
            adam_epsilon: 1e-8,
            minibatching: Minibatching::Cycle,
            num_env_runners: 3,
            envs_per_runner: 1,
            learner_threads: 0,
            rollout_fragment_length: None,
            metrics_window: 100,
            network: Network::Mlp,
            activation: Activation::Tanh,
            mlp_hiddens: vec![256, 256],
            mlp_hiddens_per_kind: BTreeMap::new(),
            conv_channels: vec![16, 32, 64],
            conv_channels_per_kind: BTreeMap::from([(
                "type_1_prey".to_string(),
                vec![16, 32, 64, 64],
            )]),
            init: Init::Torch,
        }
    }
}

impl PpoConfig {
    /// The known-answer configuration of ppo.md for CartPole-v1 (CleanRL's PPO): 64x64 tanh MLP,
    /// lr 2.5e-4, 4 envs x 128 steps, 4 epochs of 4 minibatches, gamma 0.99, lambda 0.95,
    /// clip 0.2, entropy 0.01; here also orthogonal init, Adam epsilon 1e-5, global gradient
    /// clip 0.5, value coefficient 0.5 and no KL penalty, as CleanRL. One runner.
    pub fn cartpole() -> Self {
        PpoConfig {
            lr: 2.5e-4,
            num_epochs: 4,
            train_batch_size: 512,
            minibatch_size: 128,
            gamma: 0.99,
            lambda: 0.95,
            clip_param: 0.2,
            vf_clip_param: f64::INFINITY,
            vf_loss_coeff: 0.5,
            entropy_coeff: 0.01,
            use_kl_loss: false,
            grad_clip: Some(0.5),
            adam_epsilon: 1e-5,
            num_env_runners: 1,
            envs_per_runner: 4,
            rollout_fragment_length: Some(128),
            mlp_hiddens: vec![64, 64],
            init: Init::Orthogonal,
            ..PpoConfig::default()
        }
    }

    /// Parse TOML and validate.
    pub fn from_toml_str(text: &str) -> Result<Self, PpoError> {
        let config: PpoConfig =
            toml::from_str(text).map_err(|e| PpoError::config("toml", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Check every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), PpoError> {
        self.validate_checkpointed()?;
        // RLlib refuses this too: a minibatch is cut from one iteration's batch.
        if self.minibatch_size > self.train_batch_size {
            return Err(PpoError::config(
                "minibatch_size",
                format!(
                    "{} is larger than train_batch_size = {}: set minibatch_size to at most {} \
                     or raise train_batch_size",
                    self.minibatch_size, self.train_batch_size, self.train_batch_size
                ),
            ));
        }
        Ok(())
    }

    /// The checks a checkpoint's configuration must pass to load: those of [`validate`]
    /// except the ones added after checkpoints were written with such values
    /// (`minibatch_size <= train_batch_size`).
    ///
    /// [`validate`]: Self::validate
    pub(crate) fn validate_checkpointed(&self) -> Result<(), PpoError> {
        positive("lr", self.lr)?;
        at_least_one("num_epochs", self.num_epochs)?;
        at_least_one("train_batch_size", self.train_batch_size)?;
        at_least_one("minibatch_size", self.minibatch_size)?;
        unit_interval("gamma", self.gamma)?;
        unit_interval("lambda", self.lambda)?;
        positive("clip_param", self.clip_param)?;
        if self.vf_clip_param.is_nan() || self.vf_clip_param <= 0.0 {
            return Err(PpoError::config(
                "vf_clip_param",
                format!("{} must be > 0 (inf disables the clip)", self.vf_clip_param),
            ));
        }
        non_negative("vf_loss_coeff", self.vf_loss_coeff)?;
        if !self.entropy_coeff.is_finite() {
            return Err(PpoError::config(
                "entropy_coeff",
                format!("{} must be finite", self.entropy_coeff),
            ));
        }
        non_negative("kl_coeff", self.kl_coeff)?;
        positive("kl_target", self.kl_target)?;
        if let Some(g) = self.grad_clip {
            positive("grad_clip", g)?;
        }
        positive("adam_epsilon", self.adam_epsilon)?;
        at_least_one("envs_per_runner", self.envs_per_runner)?;
        if let Some(l) = self.rollout_fragment_length {
            at_least_one("rollout_fragment_length", l)?;
        }
        at_least_one("metrics_window", self.metrics_window)?;
        sizes("mlp_hiddens", &self.mlp_hiddens)?;
        for (kind, h) in &self.mlp_hiddens_per_kind {
            sizes(&format!("mlp_hiddens_per_kind.{kind}"), h)?;
        }
        sizes("conv_channels", &self.conv_channels)?;
        for (kind, c) in &self.conv_channels_per_kind {
            sizes(&format!("conv_channels_per_kind.{kind}"), c)?;
        }
        Ok(())
    }

    /// Steps per environment per fragment (the configured value or the auto rule).
    pub fn fragment_length(&self) -> usize {
        self.rollout_fragment_length.unwrap_or_else(|| {
            self.train_batch_size.div_ceil(self.num_env_runners.max(1) * self.envs_per_runner)
        })
    }

    /// Fragments each runner samples per iteration so that at least `train_batch_size` env
    /// steps are collected.
    pub fn fragments_per_runner(&self) -> usize {
        let per_round = self.num_env_runners.max(1) * self.envs_per_runner * self.fragment_length();
        self.train_batch_size.div_ceil(per_round).max(1)
    }

    /// Environment steps sampled per iteration.
    pub fn env_steps_per_iteration(&self) -> usize {
        self.num_env_runners.max(1)
            * self.envs_per_runner
            * self.fragment_length()
            * self.fragments_per_runner()
    }

    /// MLP hidden sizes of a kind.
    pub fn mlp_hiddens_for(&self, kind: &str) -> &[usize] {
        self.mlp_hiddens_per_kind.get(kind).unwrap_or(&self.mlp_hiddens)
    }

    /// Conv channels of a kind.
    pub fn conv_channels_for(&self, kind: &str) -> &[usize] {
        self.conv_channels_per_kind.get(kind).unwrap_or(&self.conv_channels)
    }
}

fn positive(field: &str, v: f64) -> Result<(), PpoError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(PpoError::config(field, format!("{v} must be finite and > 0")))
    }
}

fn non_negative(field: &str, v: f64) -> Result<(), PpoError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(PpoError::config(field, format!("{v} must be finite and >= 0")))
    }
}

fn unit_interval(field: &str, v: f64) -> Result<(), PpoError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(PpoError::config(field, format!("{v} must be in [0, 1]")))
    }
}

fn at_least_one(field: &str, v: usize) -> Result<(), PpoError> {
    if v >= 1 { Ok(()) } else { Err(PpoError::config(field, "must be at least 1")) }
}

fn sizes(field: &str, v: &[usize]) -> Result<(), PpoError> {
    if v.contains(&0) {
        Err(PpoError::config(field, format!("{v:?}: every size must be >= 1")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_toml_gives_the_reference_defaults() {
        let c = PpoConfig::from_toml_str("").unwrap();
        assert_eq!(c, PpoConfig::default());
        assert_eq!(c.train_batch_size, 1024);
        assert_eq!(c.minibatch_size, 128);
        assert_eq!(c.clip_param, 0.3);
        assert_eq!(c.fragment_length(), 342);
        assert_eq!(c.env_steps_per_iteration(), 1026);
        assert_eq!(c.conv_channels_for("type_1_prey"), &[16, 32, 64, 64]);
        assert_eq!(c.conv_channels_for("type_1_predator"), &[16, 32, 64]);
    }

    #[test]
    fn toml_fields_are_read_and_checked() {
        let c = PpoConfig::from_toml_str(
            "lr = 1.1e-4\nnum_epochs = 26\nnetwork = \"conv\"\nminibatching = \"per_policy\"\n\
             [mlp_hiddens_per_kind]\ntype_1_prey = [64]\n",
        )
        .unwrap();
        assert_eq!(c.lr, 1.1e-4);
        assert_eq!(c.num_epochs, 26);
        assert_eq!(c.network, Network::Conv);
        assert_eq!(c.minibatching, Minibatching::PerPolicy);
        assert_eq!(c.mlp_hiddens_for("type_1_prey"), &[64]);
        assert_eq!(c.mlp_hiddens_for("type_1_predator"), &[256, 256]);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("lrr = 1.0", "lrr"),
            ("lr = -1.0", "`lr`"),
            ("gamma = 1.5", "`gamma`"),
            ("minibatch_size = 0", "`minibatch_size`"),
            ("mlp_hiddens = [64, 0]", "`mlp_hiddens`"),
            ("network = \"transformer\"", "transformer"),
            ("grad_clip = 0.0", "`grad_clip`"),
            ("train_batch_size = 48\nminibatch_size = 64", "`minibatch_size`: 64 is larger"),
        ];
        for (text, needle) in cases {
            let err = PpoConfig::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn cartpole_preset_is_valid_and_samples_512_steps() {
        let c = PpoConfig::cartpole();
        c.validate().unwrap();
        assert_eq!(c.env_steps_per_iteration(), 512);
        assert_eq!(c.fragments_per_runner(), 1);
    }
}
