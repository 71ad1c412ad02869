//! `cargo xtask`: the project's long-running tasks, kept out of `cargo test`.
//!
//! - `cargo xtask study [ARGS]`: build `hpo` in release mode and run `hpo study ARGS`
//!   (with no `--config` and no `--preset`, the README's default preset).
//! - `cargo xtask bench NAME`: run one benchmark in release mode (`cargo xtask bench list`).
//!
//! It has no dependencies, so it builds in a second.

use std::process::{Command, ExitCode};

/// (name, package, bench target, what it measures)
const BENCHES: &[(&str, &str, &str, &str)] = &[
    ("asha", "hpo-asha", "asha", "ASHA decisions per second, 1,000 trials x 1,000 iterations"),
    ("sampler", "hpo-sampler", "sampler", "TPE and random search on Branin 2-D and 4-D, 30 seeds"),
    ("env", "marl-env", "env", "predator-prey-grass agent steps per second on one core"),
    ("ppo", "ppo-burn", "ppo", "one PPO iteration of the reference configuration, conv and MLP"),
    (
        "ppo-cartpole",
        "ppo-burn",
        "ppo_cartpole",
        "PPO known answer: CartPole-v1, 5 seeds, 500k steps",
    ),
    (
        "ppo-race",
        "ppo-burn",
        "race",
        "MLP against conv: which reaches score_pred >= 1.0 first in wall time (hours; resumable)",
    ),
    (
        "ppo-conv",
        "ppo-burn",
        "conv",
        "the conv layer: one minibatch step and inference, both kinds",
    ),
    (
        "backends",
        "ppo-burn",
        "backends",
        "burn-ndarray against burn-flex on the learner's steps (builds burn-flex)",
    ),
    ("study", "hpo-runner", "study", "smoke study wall time and coordinator overhead per report"),
];

/// The preset `cargo xtask study` runs when given no config: watchable on a 2-core laptop.
const DEFAULT_STUDY_ARGS: &[&str] = &["--preset", "quick"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("study") => study(&args[1..]),
        Some("bench") => bench(args.get(1).map(String::as_str), &args[2..]),
        _ => {
            eprintln!("usage: cargo xtask study [hpo study ARGS] | cargo xtask bench NAME|list");
            ExitCode::from(2)
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

fn run(mut cmd: Command) -> ExitCode {
    match cmd.status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => ExitCode::from(s.code().map_or(1, |c| c.clamp(1, 255) as u8)),
        Err(e) => {
            eprintln!("xtask: could not run {cmd:?}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn study(extra: &[String]) -> ExitCode {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--quiet",
        "--package",
        "hpo-cli",
        "--bin",
        "hpo",
        "--",
        "study",
    ]);
    let has_source = extra.iter().any(|a| a == "--config" || a == "--preset" || a == "--resume");
    if !has_source {
        cmd.args(DEFAULT_STUDY_ARGS);
    }
    cmd.args(extra);
    run(cmd)
}

fn bench(name: Option<&str>, extra: &[String]) -> ExitCode {
    let found = name.and_then(|n| BENCHES.iter().find(|b| b.0 == n));
    let Some((_, package, target, _)) = found else {
        eprintln!("benchmarks (cargo xtask bench NAME):");
        for (n, _, _, what) in BENCHES {
            eprintln!("  {n:<13} {what}");
        }
        return if name == Some("list") { ExitCode::SUCCESS } else { ExitCode::from(2) };
    };
    let mut cmd = cargo();
    cmd.args(["bench", "--quiet", "--package", package, "--bench", target]);
    // The backends bench compares two burn backends; only it builds the second one.
    if *target == "backends" {
        cmd.args(["--features", "flex"]);
    }
    cmd.arg("--");
    cmd.args(extra);
    run(cmd)
}
