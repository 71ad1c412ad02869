//! `cargo xtask bench env`: predator-prey-grass agent steps per second on one core, with the
//! default ("train_v1_0") settings and a uniformly random policy; observations are written for
//! every live agent at every step, as a learner needs them.
//!
//! An agent step is one acting agent advanced by one `step` call; resets are part of the
//! timed loop. Without `--bench` (as `cargo test --all-targets` runs it) it plays a few
//! episodes only, to check that it works.

use std::time::{Duration, Instant};

use marl_env::{MultiAgentEnv, PpgConfig, PredPreyGrass};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The reference Python environment's agent steps per second on these machines.
const REFERENCE_AGENT_STEPS_PER_S: f64 = 1_900.0;

struct Run {
    agent_steps: u64,
    env_steps: u64,
    episodes: u64,
    elapsed: Duration,
}

fn run(config: PpgConfig, budget: Duration, max_env_steps: u64) -> Run {
    let mut env = PredPreyGrass::new(config).expect("the default config is valid");
    let mut out = env.new_output();
    let mut actions = env.new_actions();
    let mut policy = ChaCha8Rng::seed_from_u64(0);
    let mut seed = 0u64;
    let (mut agent_steps, mut env_steps, mut episodes) = (0u64, 0u64, 0u64);
    env.reset(seed, &mut out);
    let start = Instant::now();
    loop {
        for _ in 0..1_000 {
            if out.done {
                seed += 1;
                episodes += 1;
                env.reset(seed, &mut out);
            }
            for (kind, acts) in out.kinds.iter().zip(&mut actions.per_kind) {
                for (slot, act) in acts.iter_mut().enumerate() {
                    if kind.acting[slot] {
                        *act = policy.random_range(0..9);
                        agent_steps += 1;
                    }
                }
            }
            env.step(&actions, &mut out).expect("valid actions");
            env_steps += 1;
        }
        if start.elapsed() >= budget || env_steps >= max_env_steps {
            break;
        }
    }
    Run { agent_steps, env_steps, episodes, elapsed: start.elapsed() }
}

fn report(name: &str, r: &Run) -> (f64, f64) {
    let s = r.elapsed.as_secs_f64();
    let agent = r.agent_steps as f64 / s;
    let env = r.env_steps as f64 / s;
    println!(
        "{name}: {} env steps, {} agent steps, {} episodes in {s:.2} s",
        r.env_steps, r.agent_steps, r.episodes
    );
    println!(
        "  {:.0} agent steps/s ({:.1} agents per step), {:.0} env steps/s, {:.0}x the reference's {REFERENCE_AGENT_STEPS_PER_S} agent steps/s",
        agent,
        r.agent_steps as f64 / r.env_steps.max(1) as f64,
        env,
        agent / REFERENCE_AGENT_STEPS_PER_S
    );
    (agent, env)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (budget, cap) =
        if full { (Duration::from_secs(5), u64::MAX) } else { (Duration::ZERO, 2_000) };
    println!("predator-prey-grass, random policy, one core");
    let (agent, env) = report("default (train_v1_0)", &run(PpgConfig::default(), budget, cap));
    // A longer-lived world (predators lose less energy) shows the cost with more agents.
    let rich = PpgConfig {
        energy_loss_per_step_predator: 0.05,
        predator_creation_energy_threshold: 8.0,
        ..PpgConfig::default()
    };
    report("crowded (predator loss 0.05, threshold 8)", &run(rich, budget, cap));
    println!(
        "{{\"agent_steps_per_s\": {agent:.0}, \"env_steps_per_s\": {env:.0}, \"ratio_to_reference\": {:.1}}}",
        agent / REFERENCE_AGENT_STEPS_PER_S
    );
}
