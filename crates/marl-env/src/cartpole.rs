//! CartPole-v1 with gymnasium's dynamics (Euler integration, 500-step limit, reward 1 per step),
//! behind the multi-agent API with one kind (`agent`) of one slot. It is the learner's
//! known-answer test bed: a correct PPO solves it.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::api::{Actions, AgentKind, EnvError, MultiAgentEnv, StepOutput, check_actions};

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_CART + MASS_POLE;
const HALF_LENGTH: f64 = 0.5;
const POLE_MASS_LENGTH: f64 = MASS_POLE * HALF_LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
const X_THRESHOLD: f64 = 2.4;
/// gymnasium's `max_episode_steps` for CartPole-v1.
pub const MAX_STEPS: u32 = 500;

/// The CartPole-v1 environment.
#[derive(Debug, Clone)]
pub struct CartPole {
    kinds: Vec<AgentKind>,
    /// `[x, x_dot, theta, theta_dot]`, in f64 as gymnasium keeps it.
    state: [f64; 4],
    steps: u32,
    running: bool,
    rng: ChaCha8Rng,
}

impl Default for CartPole {
    fn default() -> Self {
        CartPole {
            kinds: vec![AgentKind {
                name: "agent".to_string(),
                obs_shape: [4, 1, 1],
                n_actions: 2,
                max_agents: 1,
            }],
            state: [0.0; 4],
            steps: 0,
            running: false,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }
}

impl CartPole {
    /// The physical state `[x, x_dot, theta, theta_dot]`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Set the physical state (for tests against published trajectories) and restart the step
    /// counter.
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = state;
        self.steps = 0;
        self.running = true;
    }

    /// One step of gymnasium's dynamics; returns whether the pole fell or the cart left.
    pub fn physics_step(&mut self, action: u32) -> bool {
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let (sintheta, costheta) = theta.sin_cos();
        let temp = (force + POLE_MASS_LENGTH * theta_dot * theta_dot * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * costheta * costheta / TOTAL_MASS));
        let xacc = temp - POLE_MASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        self.state = [
            x + TAU * x_dot,
            x_dot + TAU * xacc,
            theta + TAU * theta_dot,
            theta_dot + TAU * thetaacc,
        ];
        let [x, _, theta, _] = self.state;
        !(-X_THRESHOLD..=X_THRESHOLD).contains(&x)
            || !(-THETA_THRESHOLD..=THETA_THRESHOLD).contains(&theta)
    }

    fn write_obs(&self, out: &mut StepOutput) {
        let k = &mut out.kinds[0];
        for (o, s) in k.obs.iter_mut().zip(self.state) {
            *o = s as f32;
        }
        k.present[0] = true;
    }
}

impl MultiAgentEnv for CartPole {
    fn kinds(&self) -> &[AgentKind] {
        &self.kinds
    }

    fn reset(&mut self, seed: u64, out: &mut StepOutput) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        for s in &mut self.state {
            *s = self.rng.random_range(-0.05..0.05);
        }
        self.steps = 0;
        self.running = true;
        out.done = false;
        out.kinds[0].clear();
        self.write_obs(out);
        out.kinds[0].acting[0] = true;
    }

    fn step(&mut self, actions: &Actions, out: &mut StepOutput) -> Result<(), EnvError> {
        if !self.running {
            return Err(EnvError::NotRunning);
        }
        check_actions(&self.kinds, actions)?;
        let action = actions.per_kind[0][0];
        if action >= 2 {
            return Err(EnvError::BadAction {
                agent: self.kinds[0].agent_id(0),
                action,
                n_actions: 2,
            });
        }
        let terminated = self.physics_step(action);
        self.steps += 1;
        let truncated = !terminated && self.steps >= MAX_STEPS;
        let k = &mut out.kinds[0];
        k.clear();
        k.reward[0] = 1.0;
        k.terminated[0] = terminated;
        k.truncated[0] = truncated;
        k.acting[0] = !(terminated || truncated);
        self.write_obs(out);
        out.done = terminated || truncated;
        self.running = !out.done;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushing_one_way_ends_the_episode_by_termination() {
        let mut env = CartPole::default();
        let mut out = env.new_output();
        let mut acts = env.new_actions();
        env.reset(3, &mut out);
        acts.per_kind[0][0] = 1;
        let mut n = 0;
        while !out.done {
            env.step(&acts, &mut out).expect("running");
            n += 1;
        }
        assert!(out.kinds[0].terminated[0]);
        assert!(
            n < 60,
            "always pushing right must drop the pole fast, took {n}"
        );
        assert_eq!(env.step(&acts, &mut out), Err(EnvError::NotRunning));
    }

    #[test]
    fn same_seed_same_start() {
        let mut a = CartPole::default();
        let mut b = CartPole::default();
        let (mut oa, mut ob) = (a.new_output(), b.new_output());
        a.reset(7, &mut oa);
        b.reset(7, &mut ob);
        assert_eq!(oa, ob);
        assert!(a.state().iter().all(|s| s.abs() <= 0.05));
    }
}
