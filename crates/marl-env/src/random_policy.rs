//! A uniformly random policy over the acting agents: the baseline of `hpo env stats`, the
//! benchmark, and a smoke test for any environment of this crate.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::api::{Actions, AgentKind, StepOutput};

/// Picks every acting agent's action uniformly at random, from its own seeded generator.
#[derive(Debug, Clone)]
pub struct RandomPolicy {
    rng: ChaCha8Rng,
}

impl RandomPolicy {
    /// A policy whose draws depend on `seed` only. The seed is mixed with a constant, so the
    /// same number can seed an environment and its policy without the two streams matching.
    pub fn new(seed: u64) -> Self {
        RandomPolicy { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15) }
    }

    /// Write an action for every slot that is `acting` in `out`; other slots are left as they are.
    pub fn act(&mut self, kinds: &[AgentKind], out: &StepOutput, actions: &mut Actions) {
        for ((kind, ko), acts) in kinds.iter().zip(&out.kinds).zip(&mut actions.per_kind) {
            let n = kind.n_actions as u32;
            for (a, acting) in acts.iter_mut().zip(&ko.acting) {
                if *acting {
                    *a = self.rng.random_range(0..n);
                }
            }
        }
    }
}
