//! Known answer: PPO on CartPole-v1 with the hyperparameters of ppo.md ([`PpoConfig::cartpole`])
//! must reach a mean return >= 475 (over the last 100 episodes) within 500k environment steps
//! for at least 4 of 5 seeds.
//!
//! `cargo xtask bench ppo-cartpole [-- --seeds N --max-steps N]`. Without `--bench` (as
//! `cargo test --all-targets` runs it) it trains two iterations only.
//! Last line: `{"seeds_solved": .., "seeds": .., "median_steps_to_475": .., ...}`.

mod common;

use common::arg;

use std::time::Instant;

use ppo_burn::{EnvSpec, PpoConfig, Trainer};

fn main() -> Result<(), ppo_burn::PpoError> {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        let mut t: Trainer = Trainer::new(PpoConfig::cartpole(), EnvSpec::CartPole, 0, None)?;
        for _ in 0..2 {
            let m = t.train_iteration()?;
            assert!(m.policies["agent"].policy_loss.is_finite());
        }
        println!("ppo_cartpole smoke run ok (pass --bench for the full benchmark)");
        return Ok(());
    }
    let seeds = arg(&args, "--seeds").unwrap_or(5);
    let max_steps = arg(&args, "--max-steps").unwrap_or(500_000);
    let mut solved_at = Vec::new();
    let mut total_secs = 0.0;
    let mut total_steps = 0u64;
    for seed in 0..seeds {
        let start = Instant::now();
        let mut t: Trainer = Trainer::new(PpoConfig::cartpole(), EnvSpec::CartPole, seed, None)?;
        let mut solved = None;
        let mut last = 0.0;
        let mut steps = 0;
        while steps < max_steps {
            let m = t.train_iteration()?;
            steps = m.env_steps_total;
            last = m.predator_return;
            if m.training_iteration % 50 == 0 {
                println!(
                    "seed {seed} iter {} steps {steps} mean return {last:.1} entropy {:.3} kl {:.4}",
                    m.training_iteration, m.policies["agent"].entropy, m.policies["agent"].kl
                );
            }
            if last >= 475.0 {
                solved = Some(steps);
                break;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        total_secs += secs;
        total_steps += steps;
        println!(
            "seed {seed}: {} after {steps} env steps (mean return {last:.1}), {secs:.1} s",
            if solved.is_some() { "solved" } else { "NOT solved" }
        );
        if let Some(s) = solved {
            solved_at.push(s);
        }
    }
    let n_solved = solved_at.len();
    solved_at.sort_unstable();
    // Median over all seeds, unsolved counting as "never" (null if half or more failed).
    let median = if n_solved * 2 > seeds as usize {
        let mut all: Vec<Option<u64>> = solved_at.iter().map(|&s| Some(s)).collect();
        all.resize(seeds as usize, None);
        all[(seeds as usize - 1) / 2]
    } else {
        None
    };
    println!(
        "{{\"seeds_solved\": {n_solved}, \"seeds\": {seeds}, \"median_steps_to_475\": {}, \"max_steps\": {max_steps}, \"env_steps_per_second\": {:.0}}}",
        median.map_or("null".to_string(), |m| m.to_string()),
        total_steps as f64 / total_secs
    );
    Ok(())
}
