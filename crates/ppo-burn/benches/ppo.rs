//! One PPO iteration of the reference configuration on predator-prey-grass (seed 0, untrained,
//! 1024 env steps, minibatch 128, 26 epochs with RLlib's minibatch cycling, 3 env runners), per
//! network and learner pool size: the MLP with 1 and 2 learner threads, the conv with 2. Each
//! case runs in a process of its own (this binary with `--child`), so that its peak resident
//! memory is the trial process's. Printed per case: seconds per iteration split into sampling
//! and learning, agent steps, training FLOPs, achieved GFLOP/s, the fraction of the matmul
//! peak of that many threads (measured in the same run, before the cases), and peak RSS.
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
//! Last line: `{"s_per_iter_mlp_1t", "s_per_iter_mlp_2t", "peak_fraction_mlp_1t",
//! "peak_fraction_mlp_2t", "s_per_iter_conv_2t", "peak_fraction_conv_2t", "rss_mb_mlp",
//! "rss_mb_conv", "speedup_vs_rllib_equal_work", ...}`.

mod common;

use common::{
    arg, best_ms, learner_step_ms, matmul_peak, matmul_peak_threads, peak_rss_mb, synthetic_batch,
};

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

/// One case's figures, as the child process reports them to the parent.
struct Run {
    sample_s: f64,
    learn_s: f64,
    learn_s_full: f64,
    agent_steps: u64,
    tflop: f64,
    gflops: f64,
    /// Peak resident memory of the child process, MB (NaN where not reported).
    rss_mb: f64,
}

impl Run {
    const TAG: &str = "child-result";

    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {}",
            Self::TAG,
            self.sample_s,
            self.learn_s,
            self.learn_s_full,
            self.agent_steps,
            self.tflop,
            self.gflops,
            self.rss_mb
        )
    }

    fn parse(line: &str) -> Option<Run> {
        let mut f = line.strip_prefix(Self::TAG)?.split_whitespace();
        let mut next = || f.next().and_then(|v| v.parse::<f64>().ok());
        Some(Run {
            sample_s: next()?,
            learn_s: next()?,
            learn_s_full: next()?,
            agent_steps: next()? as u64,
            tflop: next()?,
            gflops: next()?,
            rss_mb: next()?,
        })
    }

    fn s_per_iter(&self) -> f64 {
        self.sample_s + self.learn_s_full
    }
}

fn run(
    network: Network,
    epochs: usize,
    full_epochs: usize,
    config: PpoConfig,
    env: &EnvSpec,
) -> Result<Run, ppo_burn::PpoError> {
    let threads = config.learner_threads;
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
        "{network:?}, {threads} learner thread(s): {epochs} epoch(s) run: sampling {:.2} s, learning {:.2} s, {} env steps, {} agent steps ({}), {:.2} training TFLOP, learner {gflops:.1} GFLOP/s",
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
            .join("; "),
        flops / 1e12
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
        tflop: flops / 1e12,
        gflops,
        rss_mb: peak_rss_mb().unwrap_or(f64::NAN),
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

/// The configuration, environment and epochs (conv, MLP, full) of the reference iteration, or
/// of the tiny one when `full` is false.
fn setup(args: &[String], full: bool) -> (PpoConfig, EnvSpec, usize, usize, usize) {
    if full {
        (
            PpoConfig { lr: 1.1e-4, ..PpoConfig::default() },
            EnvSpec::PredPreyGrass(PpgConfig::default()),
            arg(args, "--conv-epochs").unwrap_or(26),
            arg(args, "--mlp-epochs").unwrap_or(26),
            26,
        )
    } else {
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
    }
}

fn network_name(network: Network) -> &'static str {
    match network {
        Network::Conv => "conv",
        Network::Mlp => "mlp",
    }
}

/// Child process: `--child conv|mlp --threads N [--bench ...]`: run one case, print its figures.
fn child(args: &[String], full: bool) -> Result<(), PpoError> {
    let network = match args.iter().position(|a| a == "--child").and_then(|i| args.get(i + 1)) {
        Some(n) if n == "conv" => Network::Conv,
        _ => Network::Mlp,
    };
    let threads: usize = arg(args, "--threads").unwrap_or(1);
    let (config, env, conv_epochs, mlp_epochs, full_epochs) = setup(args, full);
    let epochs = if network == Network::Conv { conv_epochs } else { mlp_epochs };
    let config = PpoConfig { learner_threads: threads, ..config };
    let r = run(network, epochs, full_epochs, config, &env)?;
    println!("{}", r.line());
    Ok(())
}

/// Runs one case in a process of its own (this binary with `--child`), passing its output on.
fn case(network: Network, threads: usize, args: &[String]) -> Result<Run, PpoError> {
    let fail = |reason: String| PpoError::Config { field: "bench child".into(), reason };
    let exe = std::env::current_exe().map_err(|e| fail(e.to_string()))?;
    let name = network_name(network);
    let out = std::process::Command::new(exe)
        .args(&args[1..])
        .args(["--child", name, "--threads", &threads.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut result = None;
    for line in stdout.lines() {
        match Run::parse(line) {
            Some(r) => result = Some(r),
            None => println!("{line}"),
        }
    }
    match result {
        Some(r) if out.status.success() => Ok(r),
        _ => Err(fail(format!("{name} with {threads} thread(s) failed: {}", out.status))),
    }
}

fn main() -> Result<(), ppo_burn::PpoError> {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    if args.iter().any(|a| a == "--child") {
        return child(&args, full);
    }
    if !full {
        println!("tiny run (pass --bench for the reference iteration)");
    }
    let (config, _, conv_epochs, mlp_epochs, full_epochs) = setup(&args, full);
    let n_peak = if full { 1024 } else { 256 };
    let peak_1 = matmul_peak(n_peak, 5);
    let peak_2 = matmul_peak_threads(n_peak, 5, 2);
    println!(
        "matmul peak (burn-ndarray, {n_peak}^3): {peak_1:.1} GFLOP/s on one thread, {peak_2:.1} GFLOP/s on 2 threads at once"
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

    let mlp_1 = case(Network::Mlp, 1, &args)?;
    let mlp_2 = case(Network::Mlp, 2, &args)?;
    let conv = case(Network::Conv, 2, &args)?;
    let rows = [("MLP", 1, &mlp_1, peak_1), ("MLP", 2, &mlp_2, peak_2), ("conv", 2, &conv, peak_2)];
    println!("per iteration ({full_epochs} epochs), each case in a process of its own:");
    println!(
        "  network | threads | sampling s | learning s | s per iteration | agent steps | TFLOP | GFLOP/s | of the peak | peak RSS MB"
    );
    for (name, threads, r, peak) in rows {
        println!(
            "  {name} | {threads} | {:.2} | {:.1} | {:.1} | {} | {:.2} | {:.1} | {:.0}% | {:.0}",
            r.sample_s,
            r.learn_s_full,
            r.s_per_iter(),
            r.agent_steps,
            r.tflop,
            r.gflops,
            100.0 * r.gflops / peak,
            r.rss_mb
        );
    }
    println!("RLlib 2.60 took about {RLLIB_S} s (conv) per iteration on a 2-core machine");

    // RLlib's iteration on equal work: its network shapes, its sample counts, its cycled steps,
    // on a learner pool of 2 threads (its machine's cores).
    let scale = if full { 1.0 } else { 0.01 };
    let agent_steps = RLLIB_AGENT_STEPS * scale;
    let prey = (agent_steps * RLLIB_PREY_PRED.0 / (RLLIB_PREY_PRED.0 + RLLIB_PREY_PRED.1)).round();
    let pred = agent_steps.round() - prey;
    let steps = (prey * full_epochs as f64 / config.minibatch_size as f64).ceil();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
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
        "RLlib's iteration on equal work: {agent_steps:.0} agent steps ({prey:.0} prey, {pred:.0} predator), {steps:.0} cycled minibatch steps per policy, {:.1} TFLOP with its networks; ours: {rllib_learn_s:.0} s learning + {:.1} s sampling = {s_rllib_work:.0} s against RLlib's {rllib_s:.0} s: {speedup:.2}x (RLlib: {:.1} GFLOP/s, its FLOPs over its 550 s)",
        rllib_flops / 1e12,
        conv.sample_s,
        rllib_flops / rllib_s / 1e9
    );
    println!(
        "{{\"s_per_iter_mlp_1t\": {:.3}, \"s_per_iter_mlp_2t\": {:.3}, \"peak_fraction_mlp_1t\": {:.4}, \"peak_fraction_mlp_2t\": {:.4}, \"s_per_iter_conv_2t\": {:.3}, \"peak_fraction_conv_2t\": {:.4}, \"rss_mb_mlp\": {:.1}, \"rss_mb_conv\": {:.1}, \"speedup_vs_rllib_equal_work\": {speedup:.3}, \"s_rllib_work\": {s_rllib_work:.3}, \"learn_s_mlp_1t\": {:.3}, \"learn_s_mlp_2t\": {:.3}, \"learn_s_conv_2t\": {:.3}, \"sample_s_mlp\": {:.3}, \"sample_s_conv\": {:.3}, \"agent_steps_mlp\": {}, \"agent_steps_conv\": {}, \"gflops_mlp_1t\": {:.2}, \"gflops_mlp_2t\": {:.2}, \"gflops_conv_2t\": {:.2}, \"peak_gflops_1t\": {peak_1:.1}, \"peak_gflops_2t\": {peak_2:.1}, \"mlp_epochs_run\": {}, \"conv_epochs_run\": {}}}",
        mlp_1.s_per_iter(),
        mlp_2.s_per_iter(),
        mlp_1.gflops / peak_1,
        mlp_2.gflops / peak_2,
        conv.s_per_iter(),
        conv.gflops / peak_2,
        mlp_1.rss_mb.max(mlp_2.rss_mb),
        conv.rss_mb,
        mlp_1.learn_s_full,
        mlp_2.learn_s_full,
        conv.learn_s_full,
        mlp_2.sample_s,
        conv.sample_s,
        mlp_2.agent_steps,
        conv.agent_steps,
        mlp_1.gflops,
        mlp_2.gflops,
        conv.gflops,
        mlp_epochs,
        conv_epochs,
    );
    Ok(())
}
