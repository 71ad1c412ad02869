//! Branin 2-D and 4-D mixed (docs/tpe.md), 50 trials, 30 seeds, for random search, univariate
//! TPE (Optuna 4.x defaults) and the default TPE (Optuna 5.0: multivariate, constant liar).
//!
//! Prints the median and mean best value at trial 50 and the median time of one suggestion at
//! 50 trials (the 50th ask, with 49 finished trials); the last line is one JSON object.
//! `SAMPLER_BENCH_SEEDS=300` runs more seeds; `SAMPLER_BENCH_ONLY=2d` (or `4d`) one problem.
//! For the default TPE it also prints Optuna 5.0's results on the same number of its own seeds,
//! read from `optuna-5.0-branin.csv` (1,500 seeds in 2-D, 1,000 in 4-D; made by
//! `optuna_branin.py`). With 60 or more seeds it prints the spread of 30-seed medians. Without `--bench` (as `cargo test --all-targets` runs it) it does a tiny smoke run.

use std::time::Instant;

use hpo_sampler::{
    Direction, Distribution, Outcome, ParamValue, RandomSampler, Sampler, SearchSpace, Study,
    TpeConfig, TpeSampler,
};

fn branin(x1: f64, x2: f64) -> f64 {
    use std::f64::consts::PI;
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

fn num(p: &hpo_sampler::Params, name: &str) -> f64 {
    p.get(name).and_then(ParamValue::as_f64).unwrap_or(f64::NAN)
}

struct Problem {
    name: &'static str,
    space: SearchSpace,
    f: fn(&hpo_sampler::Params) -> f64,
}

fn problems() -> Vec<Problem> {
    let d2 = [("x1", Distribution::float(-5.0, 10.0)), ("x2", Distribution::float_log(0.1, 15.0))];
    let mut d4 = d2.to_vec();
    d4.push(("k", Distribution::int_log(1, 64)));
    d4.push(("n", Distribution::int_step(0, 100, 10)));
    vec![
        Problem {
            name: "2d",
            space: SearchSpace::from_params(d2).expect("valid space"),
            f: |p| branin(num(p, "x1"), num(p, "x2")),
        },
        Problem {
            name: "4d",
            space: SearchSpace::from_params(d4).expect("valid space"),
            f: |p| {
                branin(num(p, "x1"), num(p, "x2"))
                    + 0.5 * (num(p, "k").log2() - 3.0).powi(2)
                    + (num(p, "n") - 40.0).powi(2) / 1000.0
            },
        },
    ]
}

fn make(kind: &str, seed: u64) -> Box<dyn Sampler> {
    match kind {
        "random" => Box::new(RandomSampler::new(seed)),
        "univariate" => Box::new(TpeSampler::new(TpeConfig::optuna4(), seed).expect("valid")),
        _ => Box::new(TpeSampler::new(TpeConfig::default(), seed).expect("valid")),
    }
}

/// Best value after `n_trials`, and the median time (µs) of the last ask over `reps` repeats.
fn run(p: &Problem, kind: &str, seed: u64, n_trials: usize, reps: usize) -> (f64, f64) {
    let mut study =
        Study::with_boxed_sampler(p.space.clone(), Direction::Minimize, make(kind, seed));
    for _ in 0..n_trials - 1 {
        let t = study.ask();
        let v = (p.f)(&t.params);
        study.tell(t.number, Outcome::Complete(v)).expect("finite value");
    }
    // Time the last suggestion: the sampler is a pure function of the history, so repeat it.
    let sampler = make(kind, seed);
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        let params = sampler.sample(study.history(), (n_trials - 1) as u64);
        times.push(start.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(params);
    }
    let t = study.ask();
    let v = (p.f)(&t.params);
    study.tell(t.number, Outcome::Complete(v)).expect("finite value");
    let best = study.best_trial().and_then(|t| t.value).unwrap_or(f64::INFINITY);
    (best, median(&mut times))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
}

/// Optuna 5.0's best value per seed (`optuna-5.0-branin.csv`, made by `optuna_branin.py`).
fn optuna_bests(problem: &str) -> Vec<f64> {
    let text = include_str!("optuna-5.0-branin.csv");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(',');
            let (p, _seed, best) = (fields.next()?, fields.next()?, fields.next()?);
            if p == problem { best.parse().ok() } else { None }
        })
        .collect()
}

/// Medians of consecutive 30-seed blocks: how much a 30-seed median moves (the targets are
/// 30-seed medians, and seeds of different RNGs are unrelated draws).
fn block_spread(bests: &[f64]) -> Option<String> {
    let mut blocks: Vec<f64> = bests.chunks_exact(30).map(|c| median(&mut c.to_vec())).collect();
    if blocks.len() < 2 {
        return None;
    }
    blocks.sort_by(f64::total_cmp);
    let at = |f: f64| blocks[((blocks.len() - 1) as f64 * f).round() as usize];
    Some(format!(
        "{} blocks of 30 seeds: medians {:.4} .. {:.4} (p10 {:.4}, p50 {:.4}, p90 {:.4})",
        blocks.len(),
        blocks[0],
        blocks[blocks.len() - 1],
        at(0.1),
        at(0.5),
        at(0.9)
    ))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (mut n_seeds, n_trials, reps) = if full { (30, 50, 31) } else { (2, 15, 1) };
    // More seeds to see past the noise of 30 (the JSON keys stay the same).
    if let Some(n) = std::env::var("SAMPLER_BENCH_SEEDS").ok().and_then(|s| s.parse().ok()) {
        n_seeds = n;
    }
    let kinds = ["random", "univariate", "tpe"];
    let mut json = serde_json::Map::new();
    json.insert("seeds".into(), n_seeds.into());
    println!(
        "sampler bench: {n_seeds} seeds x {n_trials} trials (univariate = TpeConfig::optuna4(), tpe = default)"
    );
    // `SAMPLER_BENCH_ONLY=2d` (or `4d`) runs one problem, for profiling.
    let only = std::env::var("SAMPLER_BENCH_ONLY").ok();
    for p in problems().into_iter().filter(|p| only.as_deref().is_none_or(|o| o == p.name)) {
        for kind in kinds {
            let mut bests = Vec::new();
            let mut times = Vec::new();
            let wall = Instant::now();
            for seed in 0..n_seeds {
                let (b, t) = run(&p, kind, seed, n_trials, reps);
                bests.push(b);
                times.push(t);
            }
            let mean = bests.iter().sum::<f64>() / bests.len() as f64;
            let spread = block_spread(&bests);
            let med = median(&mut bests);
            let us = median(&mut times);
            println!(
                "{:>3} {:<10} median best {:8.4}  mean best {:8.4}  median us/ask at trial {n_trials} {:8.2}  (wall {:.2}s)",
                p.name,
                kind,
                med,
                mean,
                us,
                wall.elapsed().as_secs_f64()
            );
            if let Some(spread) = spread {
                println!("    {spread}");
            }
            if kind == "tpe" {
                let mut optuna = optuna_bests(p.name);
                optuna.truncate(n_seeds as usize);
                let mean = optuna.iter().sum::<f64>() / optuna.len().max(1) as f64;
                let spread = block_spread(&optuna);
                let optuna_median = median(&mut optuna);
                json.insert(format!("optuna_median_best_{}", p.name), optuna_median.into());
                println!(
                    "    Optuna 5.0 defaults, its seeds 0-{}: median best {:8.4}  mean best {:8.4}",
                    optuna.len().saturating_sub(1),
                    optuna_median,
                    mean
                );
                if let Some(spread) = spread {
                    println!("    {spread}");
                }
            }
            assert!(med.is_finite(), "{} {kind}: no finite best", p.name);
            json.insert(format!("median_best_{}_{kind}", p.name), med.into());
            json.insert(format!("mean_best_{}_{kind}", p.name), mean.into());
            let key = if p.name == "2d" {
                format!("us_per_ask_{kind}")
            } else {
                format!("us_per_ask_4d_{kind}")
            };
            json.insert(key, us.into());
        }
    }
    println!("{}", serde_json::Value::Object(json));
}
