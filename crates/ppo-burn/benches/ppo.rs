//! One PPO iteration of the reference configuration on predator-prey-grass (1024 env steps,
//! minibatch 128, 26 epochs with RLlib's minibatch cycling, 3 env runners), with the conv and
//! the MLP networks: seconds per iteration split into sampling and learning, agent steps, and
//! the learner's achieved GFLOP/s against the measured matrix-multiply peak of the cores it
//! uses (the learner's pool has one thread per available core).
//!
//! Then RLlib's iteration on equal work: RLlib 2.60 took about 550 s on a 2-core machine for an
//! iteration of 23,219 agent steps, with its channels-last reading of the observation (smaller
//! conv work per sample). Our learner's minibatch steps on networks of exactly those shapes are
//! timed and multiplied by the number of cycled steps that iteration had (prey and predators
//! split as in RLlib's measured iteration, 27,546 : 5,405), plus the critic passes over its
//! samples and our own sampling time: our time for RLlib's work, and the speed-up.
//!
//! `cargo xtask bench ppo [-- --conv-epochs N --mlp-epochs N]` (default 26 each; fewer epochs
//! extrapolate the learning time linearly, printed as such). Without `--bench` (as
//! `cargo test --all-targets` runs it) a tiny configuration runs instead.
//! Last line: `{"s_per_iter_conv", "s_per_iter_mlp", "learner_gflops_conv", "peak_gflops",
//! "learner_peak_fraction", "s_rllib_work", "speedup_vs_rllib", ...}`.

mod common;

use common::{arg, best_ms, learner_step_ms, matmul_peak, matmul_peak_threads, synthetic_batch};

use burn::module::AutodiffModule;
use marl_env::{AgentKind, PpgConfig};
use ppo_burn::learner::{PolicyLearner, values_of};
use ppo_burn::model::{ActorCritic, NetSpec};
use ppo_burn::{
    DefaultBackend, EnvSpec, Init, IterationMetrics, Network, PpoConfig, PpoError, Trainer,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// RLlib 2.60's reference iteration on a 2-core machine: seconds and agent steps.
const RLLIB_S: f64 = 550.0;
const RLLIB_AGENT_STEPS: f64 = 23_219.0;
/// Prey and predator agent steps of RLlib's measured iteration (ppo.md), for the split.
const RLLIB_PREY_PRED: (f64, f64) = (27_546.0, 5_405.0);

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

/// Mean milliseconds of one learner minibatch step (loss, backward, Adam) of a conv policy of
/// shape `spec` on a synthetic batch, in `pool`; and of the critic's pass over `n_values`
/// samples (for GAE).
fn step_and_critic_ms(
    spec: &NetSpec,
    minibatch: usize,
    n_values: usize,
    reps: usize,
    pool: &rayon::ThreadPool,
) -> Result<(f64, f64), PpoError> {
    let config = PpoConfig { network: Network::Conv, ..PpoConfig::default() };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let model =
        ActorCritic::<DefaultBackend>::init(spec, Init::Torch, &mut rng, &Default::default());
    let data = synthetic_batch(spec, minibatch, &mut rng);
    let values = synthetic_batch(spec, n_values, &mut rng);
    let critic = model.critic.valid();
    let mut learner = PolicyLearner::new("bench".to_string(), spec.clone(), model, &config);
    let step = learner_step_ms(&mut learner, &data, &config, reps, pool)?;
    let mut values_result = Ok(Vec::new());
    let critic_ms =
        pool.install(|| best_ms(1, || values_result = values_of(&critic, spec, &values.obs)));
    values_result?;
    Ok((step, critic_ms))
}

fn main() -> Result<(), ppo_burn::PpoError> {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let (config, env, conv_epochs, mlp_epochs, full_epochs) = if full {
        (
            PpoConfig { lr: 1.1e-4, ..PpoConfig::default() },
            EnvSpec::PredPreyGrass(PpgConfig::default()),
            arg(&args, "--conv-epochs").unwrap_or(26),
            arg(&args, "--mlp-epochs").unwrap_or(26),
            26,
        )
    } else {
        println!("tiny run (pass --bench for the reference iteration)");
        (
            PpoConfig {
                train_batch_size: 24,
                minibatch_size: 24,
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
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n_peak = if full { 1024 } else { 256 };
    let peak_1 = matmul_peak(n_peak, 5);
    let peak = matmul_peak_threads(n_peak, 5, threads);
    println!(
        "matmul peak (burn-ndarray): {peak_1:.1} GFLOP/s on one thread, {peak:.1} GFLOP/s on {threads} threads at once; the learner's pool has {threads} threads"
    );

    // FLOPs per sample of the reference conv networks: ours (channels first) and RLlib's
    // channels-last reading of the (4, r, r) observation as a 4 x r image with r channels.
    let reference = PpoConfig { network: Network::Conv, ..PpoConfig::default() };
    let mut rllib_specs = Vec::new();
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
        rllib_specs.push(rllib);
    }

    let conv = run(Network::Conv, conv_epochs, full_epochs, config.clone(), &env)?;
    let mlp = run(Network::Mlp, mlp_epochs, full_epochs, config.clone(), &env)?;
    let s_conv = conv.sample_s + conv.learn_s_full;
    let s_mlp = mlp.sample_s + mlp.learn_s_full;
    println!(
        "per iteration ({full_epochs} epochs): conv {s_conv:.0} s, MLP {s_mlp:.1} s; RLlib 2.60 took about {RLLIB_S} s (conv) on a 2-core machine"
    );

    // RLlib's iteration on equal work: its network shapes, its sample counts, its cycled steps.
    let scale = if full { 1.0 } else { 0.01 };
    let agent_steps = RLLIB_AGENT_STEPS * scale;
    let prey = (agent_steps * RLLIB_PREY_PRED.0 / (RLLIB_PREY_PRED.0 + RLLIB_PREY_PRED.1)).round();
    let pred = agent_steps.round() - prey;
    let steps = (prey * full_epochs as f64 / config.minibatch_size as f64).ceil();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| PpoError::Config { field: "learner_threads".into(), reason: e.to_string() })?;
    let reps = if full { 10 } else { 1 };
    let mut rllib_learn_s = 0.0;
    let mut rllib_flops = 0.0;
    for (spec, n) in rllib_specs.iter().zip([pred, prey]) {
        let (step_ms, critic_ms) =
            step_and_critic_ms(spec, config.minibatch_size, n as usize, reps, &pool)?;
        println!(
            "RLlib-shaped {:?} network: {step_ms:.1} ms per minibatch step, {critic_ms:.0} ms for the critic over {n} samples",
            spec.obs_shape
        );
        rllib_learn_s += (steps * step_ms + critic_ms) / 1e3;
        rllib_flops += steps * config.minibatch_size as f64 * 3.0 * spec.forward_flops() as f64
            + n * (spec.encoder_flops() + 2 * spec.features() as u64) as f64;
    }
    let s_rllib_work = rllib_learn_s + conv.sample_s;
    let rllib_s = RLLIB_S * scale;
    let speedup = rllib_s / s_rllib_work;
    println!(
        "RLlib's iteration on equal work: {agent_steps:.0} agent steps ({prey:.0} prey, {pred:.0} predator), {steps:.0} cycled minibatch steps per policy, {:.1} TFLOP with its networks; ours: {rllib_learn_s:.0} s learning + {:.1} s sampling = {s_rllib_work:.0} s against RLlib's {rllib_s:.0} s: {speedup:.2}x",
        rllib_flops / 1e12,
        conv.sample_s
    );
    println!(
        "learner: {:.1} GFLOP/s on our conv networks = {:.0}% of the {threads}-thread peak; RLlib: {:.1} GFLOP/s on its own (its FLOPs over its 550 s)",
        conv.gflops,
        100.0 * conv.gflops / peak,
        rllib_flops / rllib_s / 1e9
    );
    println!(
        "{{\"s_per_iter_conv\": {s_conv:.3}, \"s_per_iter_mlp\": {s_mlp:.3}, \"sample_s_conv\": {:.3}, \"learn_s_conv\": {:.3}, \"conv_epochs_run\": {conv_epochs}, \"sample_s_mlp\": {:.3}, \"learn_s_mlp\": {:.3}, \"mlp_epochs_run\": {mlp_epochs}, \"agent_steps_conv\": {}, \"agent_steps_mlp\": {}, \"learner_gflops_conv\": {:.2}, \"learner_gflops_mlp\": {:.2}, \"learner_threads\": {threads}, \"peak_gflops\": {peak:.1}, \"peak_gflops_1thread\": {peak_1:.1}, \"learner_peak_fraction\": {:.4}, \"s_rllib_work\": {s_rllib_work:.3}, \"speedup_vs_rllib\": {speedup:.3}}}",
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
