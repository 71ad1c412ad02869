//! `marl-env`: multi-agent reinforcement-learning environments with an allocation-free stepping
//! API ([`MultiAgentEnv`]).
//!
//! It holds [`PredPreyGrass`], a rule-for-rule port of the reference predator-prey-grass
//! environment (PredPreyGrass v3_1, settings "train_v1_0": predators and prey on a 25 x 25
//! grid, eating, starving and reproducing, with ids recycled after a death), configured by
//! [`PpgConfig`], and CartPole-v1 (single agent, the learner's known-answer test bed).
//!
//! What it is not: it knows nothing of burn, of learning, of hyperparameter search, of files or
//! of printing; other Rust RL code can use it alone. Every random draw comes from a
//! `ChaCha8Rng` seeded by `reset`, so the same seed and actions give the same trajectory.
//!
//! The caller owns the buffers: [`MultiAgentEnv::new_output`] and
//! [`MultiAgentEnv::new_actions`] allocate once; `reset` and `step` write observations, rewards
//! and flags per kind and slot into them (slot `i` of kind `k` is the id `"{k.name}_{i}"`).
//!
//! ```
//! use marl_env::{MultiAgentEnv, PpgConfig, PredPreyGrass, PREDATOR};
//! let mut env = PredPreyGrass::new(PpgConfig::default()).unwrap();
//! let mut out = env.new_output();
//! let mut actions = env.new_actions();
//! env.reset(7, &mut out);
//! assert_eq!(out.kinds[PREDATOR].n_present(), 6);
//! while !out.done {
//!     for (kind, acts) in out.kinds.iter().zip(&mut actions.per_kind) {
//!         for (slot, a) in acts.iter_mut().enumerate() {
//!             if kind.acting[slot] {
//!                 *a = (slot % 9) as u32; // a policy goes here
//!             }
//!         }
//!     }
//!     env.step(&actions, &mut out).unwrap();
//! }
//! println!("ended after {} steps: {:?}", env.episode_stats().steps, env.episode_stats().end_reason);
//! ```

pub mod api;
pub mod cartpole;
pub mod ppg;
pub mod random_policy;

pub use api::{Actions, AgentKind, EnvError, KindOutput, MultiAgentEnv, StepOutput, check_actions};
pub use cartpole::CartPole;
pub use ppg::{
    AgentState, EndReason, EpisodeStats, PREDATOR, PREY, PpgConfig, PredPreyGrass, TypedValue,
};
pub use random_policy::RandomPolicy;
