//! `marl-env`: multi-agent reinforcement-learning environments with an allocation-free stepping
//! API ([`MultiAgentEnv`]).
//!
//! It holds CartPole-v1 (single agent, the learner's known-answer test bed). It knows nothing of
//! burn, of learning, or of hyperparameter search: other Rust RL code can use it alone.
//!
//! ```
//! use marl_env::{CartPole, MultiAgentEnv};
//! let mut env = CartPole::default();
//! let mut out = env.new_output();
//! let mut actions = env.new_actions();
//! env.reset(0, &mut out);
//! while !out.done {
//!     actions.per_kind[0][0] = 1;
//!     env.step(&actions, &mut out).unwrap();
//! }
//! ```

pub mod api;
pub mod cartpole;

pub use api::{Actions, AgentKind, EnvError, KindOutput, MultiAgentEnv, StepOutput, check_actions};
pub use cartpole::CartPole;
