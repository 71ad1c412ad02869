//! Helpers shared by the ppo-burn benchmarks (each bench includes this with `mod common;`).

#![allow(dead_code)]

use std::time::Instant;

use burn::tensor::{Distribution, Tensor};
use burn_ndarray::NdArray;

/// The value after `name` on the command line, parsed.
pub fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

/// Best of a few `n^3` single-threaded matrix multiplies with burn-ndarray, in GFLOP/s.
pub fn matmul_peak(n: usize, reps: usize) -> f64 {
    let d = Default::default();
    let a = Tensor::<NdArray, 2>::random([n, n], Distribution::Default, &d);
    let b = Tensor::<NdArray, 2>::random([n, n], Distribution::Default, &d);
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
