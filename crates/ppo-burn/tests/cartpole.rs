//! The learner's regression test: PPO with the known-answer hyperparameters
//! ([`PpoConfig::cartpole`]) must make clear progress on CartPole-v1 within 50k environment
//! steps (the benchmark `ppo_cartpole` checks the full known answer, 475 within 500k steps).

#![allow(clippy::unwrap_used)]

use ppo_burn::{EnvSpec, PpoConfig, Trainer};

#[test]
fn cartpole_mean_return_reaches_150_within_50k_steps() {
    let mut t: Trainer = Trainer::new(PpoConfig::cartpole(), EnvSpec::CartPole, 0, None).unwrap();
    let mut best = 0.0f64;
    let mut steps = 0;
    while steps < 50_000 {
        let m = t.train_iteration().unwrap();
        steps = m.env_steps_total;
        // Mean return over the last 100 episodes.
        best = best.max(m.predator_return);
        if best >= 150.0 {
            break;
        }
    }
    assert!(best >= 150.0, "mean return {best:.1} after {steps} steps: the learner is broken");
    // A random policy averages about 22.
    assert!(steps >= 512);
}
