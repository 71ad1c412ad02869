//! ASHA decisions per second: 1,000 trials x 1,000 iterations, interleaved as a study would feed
//! them (every running trial reports iteration i before any reports i + 1).
//!
//! `cargo xtask bench asha` (or `cargo bench -p hpo-asha --bench asha`). Without `--bench` (as
//! `cargo test --all-targets` runs it) it does a tiny run that only checks the code works.
//!
//! Two workloads, each timed over several repetitions (median reported):
//! - `reference`: grace 40, rf 3, max_t 1000 (the reference study). Most trials are stopped at a
//!   rung, as in a real study, so there are fewer than 1,000,000 decisions;
//! - `no_stop`: grace 1, rf 1.5 (18 rungs) and later trials always better, so no trial stops
//!   before max_t: all 1,000,000 results are decided and every rung fills up to 1,000 values.
//!
//! The last line is `{"ns_per_decision": ...}` for the reference workload.

use std::time::Instant;

use hpo_asha::{Asha, AshaConfig, Mode};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Workload {
    config: AshaConfig,
    /// value(trial, iteration)
    curve: fn(&[f64], u64, u64) -> f64,
}

fn saturating(quality: &[f64], trial: u64, it: u64) -> f64 {
    let q = quality[trial as usize];
    q * it as f64 / (it as f64 + 50.0)
}

fn reversed_ranks(quality: &[f64], trial: u64, it: u64) -> f64 {
    // Later trials are better: each new value at a rung beats every recorded one, so nobody stops.
    let _ = quality;
    trial as f64 + it as f64 * 1e-6
}

/// One run; returns (decisions, seconds).
fn run(w: &Workload, trials: u64, iterations: u64, quality: &[f64]) -> (u64, f64) {
    let mut asha = Asha::new(w.config.clone(), Mode::Max, 0).expect("valid config");
    for t in 0..trials {
        asha.add_trial(t, None).expect("add");
    }
    let mut alive: Vec<u64> = (0..trials).collect();
    let mut decisions = 0u64;
    let start = Instant::now();
    for it in 1..=iterations {
        let mut keep = Vec::with_capacity(alive.len());
        for &t in &alive {
            let v = (w.curve)(quality, t, it);
            let step = asha.on_result(t, it as f64, Some(v)).expect("running");
            decisions += 1;
            if step.decision.is_stop() {
                asha.on_trial_complete(t, it as f64, Some(v)).expect("complete");
            } else {
                keep.push(t);
            }
        }
        alive = keep;
        if alive.is_empty() {
            break;
        }
    }
    (decisions, start.elapsed().as_secs_f64())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (trials, iterations, reps) = if full { (1000, 1000, 7) } else { (50, 60, 1) };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let quality: Vec<f64> = (0..trials).map(|_| rng.random_range(0.2..1.2)).collect();
    let workloads = [
        (
            "reference",
            Workload {
                config: AshaConfig {
                    max_t: 1000.0,
                    grace_period: 40.0,
                    reduction_factor: 3.0,
                    brackets: 1,
                    stop_last_trials: true,
                },
                curve: saturating,
            },
        ),
        (
            "no_stop",
            Workload {
                config: AshaConfig {
                    max_t: 1000.0,
                    grace_period: 1.0,
                    reduction_factor: 1.5,
                    brackets: 1,
                    stop_last_trials: true,
                },
                curve: reversed_ranks,
            },
        ),
    ];
    let mut reference_ns = f64::NAN;
    for (name, w) in &workloads {
        let mut per = Vec::new();
        let mut decisions = 0;
        for _ in 0..reps {
            let (d, secs) = run(w, trials, iterations, &quality);
            decisions = d;
            per.push(secs * 1e9 / d as f64);
        }
        let ns = median(per);
        println!(
            "asha {name}: {trials} trials x {iterations} iterations, {decisions} decisions, \
             median {ns:.1} ns/decision ({:.2} M decisions/s, {reps} runs)",
            1e3 / ns
        );
        if *name == "reference" {
            reference_ns = ns;
        }
    }
    println!("{{\"ns_per_decision\": {reference_ns:.1}}}");
}
