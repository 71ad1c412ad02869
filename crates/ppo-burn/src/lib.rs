//! `ppo-burn`: the learner each trial runs. RLlib-style multi-agent PPO (one policy per agent
//! kind) on [burn](https://burn.dev) 0.21, with env-runner threads that talk to the learner over
//! crossbeam channels.
//!
//! It trains one iteration when asked and returns that iteration's metrics; it knows nothing of
//! hyperparameter search, schedulers or studies. It does not print.
//!
//! Shape of an iteration ([`Trainer::train_iteration`]):
//! 1. every env runner gets the current actors (inference copies, no autodiff) and samples
//!    `rollout_fragment_length` steps of each of its environments; fragments come back over
//!    channels and are merged in runner order, so a seeded run gives bit-identical numbers
//!    whatever the thread timing;
//! 2. per policy, values are computed with the current critic, GAE gives advantages and value
//!    targets per agent trajectory (bootstrapping at truncation and fragment ends, not at
//!    termination; recycled agent ids continue their trajectory, as the reference), advantages
//!    are standardised;
//! 3. `num_epochs` shuffled passes of `minibatch_size` with RLlib's multi-agent minibatch
//!    cycling; the loss is the clipped surrogate, the clipped value loss, the entropy bonus and
//!    the adaptive KL penalty; one Adam per policy;
//! 4. metrics ([`IterationMetrics`]); a non-finite loss, gradient or metric is
//!    [`PpoError::NonFinite`].
//!
//! The backend is a type parameter (`B: PpoBackend`: burn autodiff over a backend that runs our
//! conv layer, [`conv::ConvBackend`]; default [`DefaultBackend`] = burn-ndarray with autodiff;
//! feature `flex` adds `FlexBackend`, burn-flex with autodiff, which the `backends` benchmark
//! measures against it).
//! The learner runs in its own rayon pool, pinned to the trainer's cores, over which the conv
//! layers spread their work; the numbers do not depend on its size. Checkpoints
//! ([`Trainer::save`], [`Trainer::load`]) restore a run exactly: same seed, same numbers.
//! [`Trainer::evaluate`] plays the current policies without learning, also in other settings of
//! the same environment (e.g. longer episodes). A checkpoint records its environment's typed
//! configuration: [`checkpoint_env`] rebuilds it, and [`Trainer::load`] refuses another one,
//! naming the settings that differ.
//!
//! ```
//! use ppo_burn::{EnvSpec, PpoConfig, Trainer};
//! let config = PpoConfig {
//!     train_batch_size: 64,
//!     minibatch_size: 32,
//!     num_epochs: 1,
//!     num_env_runners: 0,
//!     mlp_hiddens: vec![16],
//!     ..PpoConfig::default()
//! };
//! let mut trainer: Trainer = Trainer::new(config, EnvSpec::CartPole, 7, None)?;
//! let m = trainer.train_iteration()?;
//! assert_eq!(m.training_iteration, 1);
//! assert_eq!(m.env_steps, 64);
//! assert!(m.to_map().contains_key("agent/policy_loss"));
//! # Ok::<(), ppo_burn::PpoError>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod conv;
pub mod dense;
pub mod env;
pub mod error;
pub mod evaluate;
pub mod gae;
pub mod learner;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod rollout;
mod seeds;
pub mod trainer;

pub use config::{Activation, Init, KlUpdate, Minibatching, Network, PpoConfig};
pub use env::{EnvFactory, EnvSpec};
pub use error::PpoError;
pub use evaluate::Evaluation;
pub use metrics::{IterationMetrics, PolicyMetrics};
#[cfg(feature = "flex")]
pub use trainer::FlexBackend;
pub use trainer::{DefaultBackend, Trainer, checkpoint_env};
