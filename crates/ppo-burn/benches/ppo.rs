//! One PPO iteration of the reference configuration on predator-prey-grass (1024 env steps,
//! minibatch 128, 26 epochs with RLlib's minibatch cycling, 3 env runners), with the conv and
//! the MLP networks: seconds per iteration split into sampling and learning, agent steps, and
//! the learner's achieved GFLOP/s against a measured matrix-multiply peak.
//!
//! `cargo xtask bench ppo [-- --conv-epochs N --mlp-epochs N]`. The conv iteration takes well
//! over an hour on 2 cores, so by default it runs 1 epoch and extrapolates the learning time to
//! 26 epochs (printed as such; the JSON has `conv_epochs_run`). Without `--bench` (as
//! `cargo test --all-targets` runs it) a tiny configuration runs instead.
//! Last line: `{"s_per_iter_conv", "s_per_iter_mlp", "learner_gflops_conv", "peak_gflops",
//! "learner_peak_fraction", ...}`.

mod common;

use common::{arg, matmul_peak};

use marl_env::{AgentKind, PpgConfig};
use ppo_burn::model::NetSpec;
use ppo_burn::{EnvSpec, IterationMetrics, Network, PpoConfig, Trainer};

/// Learner FLOPs of an iteration: every minibatch step does a forward and a backward pass
/// (counted as 3x forward) of actor and critic; plus the critic pass over the batch for GAE.
fn learner_flops(m: &IterationMetrics, specs: &[(String, NetSpec)], minibatch: usize) -> f64 {
    specs
        .iter()
        .map(|(name, spec)| {
            let p = &m.policies[name];
            let fwd = spec.forward_flops() as f64;
            let critic = (spec.encoder_flops() + 2 * spec.features() as u64) as f64;
            p.minibatch_steps as f64 * minibatch as f64 * 3.0 * fwd + p.batch_size as f64 * critic
        })
        .sum()
}

struct Run {
    sample_s: f64,
    learn_s: f64,
    learn_s_full: f64,
    agent_steps: u64,
    gflops: f64,
}

fn run(
    network: Network,
    epochs: usize,
    full_epochs: usize,
    config: PpoConfig,
    env: &EnvSpec,
) -> Result<Run, ppo_burn::PpoError> {
    let config = PpoConfig { network, num_epochs: epochs, ..config };
    let minibatch = config.minibatch_size;
    let mut t: Trainer = Trainer::new(config, env.clone(), 0, None)?;
    let specs: Vec<(String, NetSpec)> =
        t.kinds().iter().map(|k| k.name.clone()).zip(t.specs()).collect();
    let m = t.train_iteration()?;
    let flops = learner_flops(&m, &specs, minibatch);
    let gflops = flops / m.learn_seconds / 1e9;
    let learn_s_full = m.learn_seconds * full_epochs as f64 / epochs as f64;
    println!(
        "{network:?}: {epochs} epoch(s) run: sampling {:.2} s, learning {:.2} s, {} env steps, {} agent steps ({}), learner {gflops:.1} GFLOP/s",
        m.sample_seconds,
        m.learn_seconds,
        m.env_steps,
        m.agent_steps,
        m.policies
            .iter()
            .map(|(k, p)| format!(
                "{k}: {} samples, {} minibatch steps",
                p.batch_size, p.minibatch_steps
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if epochs != full_epochs {
        println!(
            "{network:?}: learning time extrapolated to {full_epochs} epochs: {learn_s_full:.0} s (EXTRAPOLATED, linear in epochs)"
        );
    }
    Ok(Run {
        sample_s: m.sample_seconds,
        learn_s: m.learn_seconds,
        learn_s_full,
        agent_steps: m.agent_steps,
        gflops,
    })
}

fn main() -> Result<(), ppo_burn::PpoError> {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let (config, env, conv_epochs, mlp_epochs, full_epochs) = if full {
        (
            PpoConfig { lr: 1.1e-4, ..PpoConfig::default() },
            EnvSpec::PredPreyGrass(PpgConfig::default()),
            arg(&args, "--conv-epochs").unwrap_or(1),
            arg(&args, "--mlp-epochs").unwrap_or(26),
            26,
        )
    } else {
        println!("tiny run (pass --bench for the reference iteration)");
        (
            PpoConfig {
                train_batch_size: 24,
                minibatch_size: 32,
                num_env_runners: 2,
                conv_channels: vec![4],
                conv_channels_per_kind: Default::default(),
                mlp_hiddens: vec![16],
                ..PpoConfig::default()
            },
            EnvSpec::PredPreyGrass(PpgConfig {
                grid_size: 10,
                initial_num_grass: 20,
                ..PpgConfig::default()
            }),
            1,
            1,
            1,
        )
    };
    let peak = matmul_peak(if full { 1024 } else { 256 }, 5);
    println!("matmul peak (burn-ndarray, one thread): {peak:.1} GFLOP/s");

    // FLOPs per sample of the reference conv networks: ours (channels first) and RLlib's
    // channels-last reading of the (4, r, r) observation as a 4 x r image with r channels.
    let reference = PpoConfig { network: Network::Conv, ..PpoConfig::default() };
    for (name, r) in [("type_1_predator", 7usize), ("type_1_prey", 9)] {
        let ours = NetSpec::new(
            &reference,
            &AgentKind {
                name: name.to_string(),
                obs_shape: [4, r, r],
                n_actions: 9,
                max_agents: 50,
            },
        );
        let rllib = NetSpec { obs_shape: [r, 4, r], ..ours.clone() };
        println!(
            "{name}: training FLOPs per sample (3x forward, actor + critic): ours {:.1} M, RLlib's channels-last reading {:.1} M",
            3.0 * ours.forward_flops() as f64 / 1e6,
            3.0 * rllib.forward_flops() as f64 / 1e6
        );
    }

    let conv = run(Network::Conv, conv_epochs, full_epochs, config.clone(), &env)?;
    let mlp = run(Network::Mlp, mlp_epochs, full_epochs, config, &env)?;
    let s_conv = conv.sample_s + conv.learn_s_full;
    let s_mlp = mlp.sample_s + mlp.learn_s_full;
    println!(
        "per iteration ({full_epochs} epochs): conv {s_conv:.0} s, MLP {s_mlp:.1} s; RLlib 2.60 took about 550 s (conv) on a 2-core machine"
    );
    println!(
        "{{\"s_per_iter_conv\": {s_conv:.3}, \"s_per_iter_mlp\": {s_mlp:.3}, \"sample_s_conv\": {:.3}, \"learn_s_conv\": {:.3}, \"conv_epochs_run\": {conv_epochs}, \"sample_s_mlp\": {:.3}, \"learn_s_mlp\": {:.3}, \"mlp_epochs_run\": {mlp_epochs}, \"agent_steps_conv\": {}, \"agent_steps_mlp\": {}, \"learner_gflops_conv\": {:.2}, \"learner_gflops_mlp\": {:.2}, \"peak_gflops\": {peak:.1}, \"learner_peak_fraction\": {:.4}}}",
        conv.sample_s,
        conv.learn_s,
        mlp.sample_s,
        mlp.learn_s,
        conv.agent_steps,
        mlp.agent_steps,
        conv.gflops,
        mlp.gflops,
        conv.gflops / peak
    );
    Ok(())
}
