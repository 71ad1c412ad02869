//! Helpers shared by the ppo-burn benchmarks (each bench includes this with `mod common;`).

#![allow(dead_code)]

use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use burn_ndarray::NdArray;
use ppo_burn::conv::PpoBackend;
use ppo_burn::learner::{PolicyBatch, PolicyLearner, StepSums};
use ppo_burn::model::NetSpec;
use ppo_burn::{PpoConfig, PpoError};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// The value after `name` on the command line, parsed.
pub fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

/// Best of a few `n^3` single-threaded matrix multiplies with burn-ndarray, in GFLOP/s.
pub fn matmul_peak(n: usize, reps: usize) -> f64 {
    matmul_peak_on::<NdArray>(n, reps)
}

/// Best of a few `n^3` matrix multiplies on backend `B` (from the calling thread), in GFLOP/s.
pub fn matmul_peak_on<B: Backend>(n: usize, reps: usize) -> f64 {
    let d = Default::default();
    let a = Tensor::<B, 2>::random([n, n], Distribution::Default, &d);
    let b = Tensor::<B, 2>::random([n, n], Distribution::Default, &d);
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        let c = a.clone().matmul(b.clone());
        let _ = c.slice([0..1, 0..1]).into_scalar();
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

/// The machine's matrix-multiply peak on `threads` cores: `threads` single-threaded `n^3`
/// multiplies at the same time (best of `reps` rounds), in GFLOP/s in all.
pub fn matmul_peak_threads(n: usize, reps: usize, threads: usize) -> f64 {
    if threads <= 1 {
        return matmul_peak(n, reps);
    }
    let d = Default::default();
    let pairs: Vec<_> = (0..threads)
        .map(|_| {
            let a = Tensor::<NdArray, 2>::random([n, n], Distribution::Default, &d);
            (a.clone(), a)
        })
        .collect();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        std::thread::scope(|s| {
            for (a, b) in &pairs {
                s.spawn(move || {
                    let c = a.clone().matmul(b.clone());
                    let _ = c.slice([0..1, 0..1]).into_scalar();
                });
            }
        });
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (threads * n * n * n) as f64 / best / 1e9
}

/// This process's peak resident memory (`VmHWM` in `/proc/self/status`), in MB; `None` where
/// the kernel does not report it (not Linux).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 =
        line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb / 1024.0)
}

/// Best wall time of `reps` calls of `f`, in milliseconds (after one warm-up call).
pub fn best_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best * 1e3
}

/// Best milliseconds of `reps` learner minibatch steps (`PolicyLearner::step`: loss, backward,
/// gradient norm, Adam) over all rows of `data`, run inside `pool`.
pub fn learner_step_ms<B: PpoBackend>(
    learner: &mut PolicyLearner<B>,
    data: &PolicyBatch,
    config: &PpoConfig,
    reps: usize,
    pool: &rayon::ThreadPool,
) -> Result<f64, PpoError> {
    let idx: Vec<usize> = (0..data.n).collect();
    let mut sums = StepSums::default();
    let mut result = Ok(());
    let ms = pool.install(|| {
        best_ms(reps, || {
            if result.is_ok() {
                result = learner.step(data, &idx, config, 1, &mut sums);
            }
        })
    });
    result.map(|()| ms)
}

/// A synthetic batch of `n` rows with random observations and actions.
pub fn synthetic_batch(spec: &NetSpec, n: usize, rng: &mut ChaCha8Rng) -> PolicyBatch {
    let na = spec.n_actions;
    let obs = (0..n * spec.obs_len()).map(|_| rng.random::<f32>()).collect();
    let lp = -(na as f32).ln();
    PolicyBatch {
        n,
        obs,
        actions: (0..n).map(|_| rng.random_range(0..na as i64)).collect(),
        logp: vec![lp; n],
        old_log_probs: vec![lp; n * na],
        advantages: (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect(),
        value_targets: (0..n).map(|_| rng.random::<f32>()).collect(),
        values: vec![0.0; n],
    }
}
