//! Microbenchmark of the conv networks (`ppo_burn::model::Conv`): for the reference predator
//! (obs (4, 7, 7), channels [16, 32, 64]) and prey (obs (4, 9, 9), channels [16, 32, 64, 64])
//! networks, one learner minibatch step (`PolicyLearner::step`: forward and backward of actor
//! and critic on 128 samples, the PPO loss, gradient norm and an Adam step), the forward and
//! backward passes alone, and actor inference on 20 agents (the inner, non-autodiff module).
//! Prints milliseconds (best of several repeats) and achieved GFLOP/s, counting a training
//! step as 3x the forward FLOPs of actor and critic (as the `ppo` bench does), against the
//! measured matmul peak. The learner steps run in a rayon pool of one thread, then of every
//! core (the conv layers spread over the pool; the peak is then that of as many concurrent
//! single-threaded multiplies). Last, a predator and a prey step one after the other on the
//! full pool (the trainer's way) against both at once on one thread each.
//!
//! `cargo bench -p ppo-burn --bench conv -- --bench` (`cargo xtask bench ppo-conv`); with
//! `--mlp` the same figures for the MLP networks ([256, 256] tanh on the flattened window).
//! Without `--bench` (as `cargo test --all-targets` runs it) a tiny configuration runs instead.
//! Last line: `{"threads", "pair_sequential_ms", "pair_at_once_ms", "predator_step_ms",
//! "prey_step_ms", "predator_step_ms_1thread", "prey_step_ms_1thread", "predator_infer_ms",
//! "prey_infer_ms", "learner_gflops_prey", "learner_gflops_prey_1thread", "peak_gflops",
//! "peak_gflops_1thread"}`.

mod common;

use std::time::Instant;

use common::{best_ms, learner_step_ms, matmul_peak, matmul_peak_threads, synthetic_batch};

use burn::tensor::{Tensor, TensorData};
use burn_ndarray::NdArray;
use marl_env::AgentKind;
use ppo_burn::learner::{PolicyBatch, PolicyLearner, StepSums};
use ppo_burn::model::{ActorCritic, NetSpec};
use ppo_burn::{DefaultBackend, Init, Network, PpoConfig, PpoError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

type B = DefaultBackend;

struct Figures {
    step_ms: f64,
    infer_ms: f64,
    step_gflops: f64,
}

fn measure(
    name: &str,
    spec: &NetSpec,
    mb: usize,
    agents: usize,
    reps: usize,
    pool: &rayon::ThreadPool,
) -> Result<Figures, PpoError> {
    let config = PpoConfig { network: spec.network, ..PpoConfig::default() };
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let model = ActorCritic::<B>::init(spec, Init::Torch, &mut rng, &device);
    let data = synthetic_batch(spec, mb, &mut rng);
    let train_flops = 3.0 * spec.forward_flops() as f64 * mb as f64;

    // Forward and backward alone (no loss terms, no optimiser).
    let obs =
        Tensor::<B, 2>::from_data(TensorData::new(data.obs.clone(), [mb, spec.obs_len()]), &device);
    let fwd_bwd_ms = pool.install(|| {
        best_ms(reps, || {
            let logits = model.actor.forward(spec, obs.clone());
            let values = model.critic.forward(spec, obs.clone());
            let loss = logits.sum() + values.sum();
            let _ = loss.backward();
        })
    });

    let mut learner = PolicyLearner::new(name.to_string(), spec.clone(), model, &config);
    let step_ms = learner_step_ms(&mut learner, &data, &config, reps, pool)?;

    let actor = learner.inference_actor()?;
    let inner = Tensor::<NdArray, 2>::from_data(
        TensorData::new(data.obs[..agents * spec.obs_len()].to_vec(), [agents, spec.obs_len()]),
        &device,
    );
    let infer_ms = best_ms(reps, || {
        let _ = actor.forward(spec, inner.clone()).into_data();
    });
    let step_gflops = train_flops / step_ms / 1e6;
    let threads = pool.current_num_threads();
    println!(
        "{name}, {threads} learner thread(s): minibatch {mb} step {step_ms:.1} ms ({step_gflops:.1} GFLOP/s), forward+backward only {fwd_bwd_ms:.1} ms ({:.1} GFLOP/s), actor inference {agents} agents {infer_ms:.2} ms",
        train_flops / fwd_bwd_ms / 1e6
    );
    Ok(Figures { step_ms, infer_ms, step_gflops })
}

/// Milliseconds for one minibatch step of each of two policies: one after the other in `pool`
/// (the trainer's way), and both at once on two threads with a one-thread pool each (their
/// networks and optimisers are independent; burn-autodiff's graph registry is shared by the
/// process, docs/ppo.md "Threads"). Mean over `reps` pairs, after one warm-up pair.
fn pair_ms(
    specs: [&NetSpec; 2],
    mb: usize,
    reps: usize,
    pool: &rayon::ThreadPool,
    singles: [&rayon::ThreadPool; 2],
) -> Result<(f64, f64), PpoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let config = PpoConfig { network: specs[0].network, ..PpoConfig::default() };
    let mut learners = Vec::new();
    let mut batches = Vec::new();
    for spec in specs {
        let model = ActorCritic::<B>::init(spec, Init::Torch, &mut rng, &Default::default());
        batches.push(synthetic_batch(spec, mb, &mut rng));
        learners.push(PolicyLearner::new("pair".to_string(), spec.clone(), model, &config));
    }
    let idx: Vec<usize> = (0..mb).collect();
    let steps = |learner: &mut PolicyLearner<B>, data: &PolicyBatch, n: usize| {
        let mut sums = StepSums::default();
        (0..n).try_for_each(|_| learner.step(data, &idx, &config, 1, &mut sums))
    };
    let mut one_after_other = |n: usize| -> Result<f64, PpoError> {
        let t = Instant::now();
        pool.install(|| {
            (0..n).try_for_each(|_| {
                learners.iter_mut().zip(&batches).try_for_each(|(l, d)| steps(l, d, 1))
            })
        })?;
        Ok(t.elapsed().as_secs_f64() * 1e3 / n as f64)
    };
    one_after_other(1)?;
    let sequential = one_after_other(reps)?;
    let mut at_once = |n: usize| -> Result<f64, PpoError> {
        let t = Instant::now();
        std::thread::scope(|s| {
            let handles: Vec<_> = learners
                .iter_mut()
                .zip(&batches)
                .zip(singles)
                .map(|((l, d), p)| s.spawn(move || p.install(|| steps(l, d, n))))
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PpoError::Config {
                        field: "bench".into(),
                        reason: "a thread panicked".into(),
                    })
                })
            })
        })?;
        Ok(t.elapsed().as_secs_f64() * 1e3 / n as f64)
    };
    at_once(1)?;
    Ok((sequential, at_once(reps)?))
}

fn main() -> Result<(), PpoError> {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    // `--mlp`: the same figures for the MLP networks ([256, 256] tanh) instead.
    let network = if args.iter().any(|a| a == "--mlp") { Network::Mlp } else { Network::Conv };
    let config = PpoConfig { network, ..PpoConfig::default() };
    let kind = |name: &str, r: usize| AgentKind {
        name: name.to_string(),
        obs_shape: [4, r, r],
        n_actions: 9,
        max_agents: 50,
    };
    let (pred, prey, mb, agents, reps, n_peak) = if full {
        (
            NetSpec::new(&config, &kind("type_1_predator", 7)),
            NetSpec::new(&config, &kind("type_1_prey", 9)),
            128,
            20,
            7,
            1024,
        )
    } else {
        println!("tiny run (pass --bench for the reference networks)");
        let small = NetSpec { layers: vec![4, 8], ..NetSpec::new(&config, &kind("p", 5)) };
        println!("network: {network:?}");
        (small.clone(), NetSpec { obs_shape: [4, 6, 6], ..small }, 8, 3, 1, 128)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let peak_1 = matmul_peak(n_peak, 5);
    let peak = matmul_peak_threads(n_peak, 5, threads);
    println!(
        "matmul peak (burn-ndarray): {peak_1:.1} GFLOP/s on one thread, {peak:.1} GFLOP/s on {threads} threads at once"
    );
    let pool = |n: usize| rayon::ThreadPoolBuilder::new().num_threads(n).build();
    let (one, all) = match (pool(1), pool(threads)) {
        (Ok(one), Ok(all)) => (one, all),
        (Err(e), _) | (_, Err(e)) => {
            let (field, reason) = ("learner_threads".to_string(), e.to_string());
            return Err(PpoError::Config { field, reason });
        }
    };
    let p1 = measure("predator", &pred, mb, agents, reps, &one)?;
    let q1 = measure("prey", &prey, mb, agents, reps, &one)?;
    let p = measure("predator", &pred, mb, agents, reps, &all)?;
    let q = measure("prey", &prey, mb, agents, reps, &all)?;
    println!(
        "prey learner: {:.1} GFLOP/s = {:.0}% of the one-thread peak on 1 thread; {:.1} GFLOP/s = {:.0}% of the {threads}-thread peak on {threads} threads ({:.2}x)",
        q1.step_gflops,
        100.0 * q1.step_gflops / peak_1,
        q.step_gflops,
        100.0 * q.step_gflops / peak,
        q1.step_ms / q.step_ms
    );
    let other = pool(1).map_err(|e| PpoError::Config {
        field: "learner_threads".to_string(),
        reason: e.to_string(),
    })?;
    let (pair_sequential_ms, pair_at_once_ms) =
        pair_ms([&pred, &prey], mb, reps, &all, [&one, &other])?;
    println!(
        "a predator and a prey step: one after the other on {threads} threads {pair_sequential_ms:.1} ms; at once, one thread each {pair_at_once_ms:.1} ms ({:.2}x)",
        pair_sequential_ms / pair_at_once_ms
    );
    println!(
        "{{\"threads\": {threads}, \"pair_sequential_ms\": {pair_sequential_ms:.2}, \"pair_at_once_ms\": {pair_at_once_ms:.2}, \"predator_step_ms\": {:.2}, \"prey_step_ms\": {:.2}, \"predator_step_ms_1thread\": {:.2}, \"prey_step_ms_1thread\": {:.2}, \"predator_infer_ms\": {:.3}, \"prey_infer_ms\": {:.3}, \"learner_gflops_prey\": {:.2}, \"learner_gflops_prey_1thread\": {:.2}, \"peak_gflops\": {peak:.1}, \"peak_gflops_1thread\": {peak_1:.1}}}",
        p.step_ms,
        q.step_ms,
        p1.step_ms,
        q1.step_ms,
        p.infer_ms,
        q.infer_ms,
        q.step_gflops,
        q1.step_gflops
    );
    Ok(())
}
