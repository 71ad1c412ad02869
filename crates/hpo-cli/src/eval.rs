//! `hpo eval CHECKPOINT [--episodes N] [--seed S] [--env ENV.toml] [--max-steps N] [--json]`:
//! play a trained PPO checkpoint without learning and print the score its episodes give.
//!
//! CHECKPOINT is a checkpoint folder (`trainer_state.json` inside: a trial's
//! `checkpoint_NNNNNN`, or a race's `mlp/checkpoint`), or a trial folder, whose latest checkpoint
//! is taken. By default the episodes are played in the environment the checkpoint was trained
//! in (rebuilt from the settings the checkpoint records); `--env` and `--max-steps` change its
//! settings (not its observation ranges). A checkpoint of `hpo study` from before checkpoints
//! recorded their settings needs `--env` (the study's `[env]` keys). Actions are
//! sampled as in training, so `score_pred` is what training would report for these weights,
//! averaged over the played episodes instead of a sliding window.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use hpo_runner::files::checkpoint_dirs;
use indicatif::{ProgressBar, ProgressStyle};
use ppo_burn::{EnvSpec, Evaluation, PpoError, Trainer, checkpoint_env};
use serde::Serialize;

use crate::InputError;
use crate::env_cmd::load_config;

/// Arguments of `hpo eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A PPO checkpoint folder (with trainer_state.json), or a trial folder holding
    /// checkpoint_NNNNNN folders (the latest is played).
    pub checkpoint: PathBuf,
    /// Episodes to play.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub episodes: u64,
    /// Seed of the episodes and of the action draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Play in these environment settings instead of the checkpoint's (TOML, any subset of the
    /// keys over the reference defaults; the observation ranges must stay those of training).
    /// A checkpoint of `hpo study` from before checkpoints recorded their settings needs it.
    #[arg(long)]
    pub env: Option<PathBuf>,
    /// Episode length to play (overrides `max_steps` of the checkpoint's or --env's settings).
    #[arg(long)]
    pub max_steps: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    checkpoint: &'a Path,
    iteration: u64,
    seed: u64,
    max_steps: Option<u32>,
    episodes: usize,
    episode_len_mean: f64,
    predator_return: f64,
    score_pred: f64,
    slot0_return: Spread,
    kind_return_mean: std::collections::BTreeMap<&'a str, f64>,
    evaluation: &'a Evaluation,
}

/// The spread of the scored id's per-episode returns.
#[derive(Debug, Serialize)]
struct Spread {
    min: f64,
    median: f64,
    max: f64,
    at_least_100: usize,
}

fn spread(xs: &[f64]) -> Spread {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let median = match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    };
    Spread {
        min: v.first().copied().unwrap_or(0.0),
        median,
        max: v.last().copied().unwrap_or(0.0),
        at_least_100: v.iter().filter(|&&x| x >= 100.0).count(),
    }
}

fn input(msg: String) -> anyhow::Error {
    anyhow::Error::new(InputError(msg))
}

/// The checkpoint folder `path` names: itself, or a trial folder's latest `checkpoint_*`.
fn find_checkpoint(path: &Path) -> anyhow::Result<PathBuf> {
    if path.join("trainer_state.json").is_file() {
        return Ok(path.to_path_buf());
    }
    let latest = checkpoint_dirs(path)
        .map_err(|e| input(format!("cannot read checkpoint folder {}: {e}", path.display())))?
        .into_iter()
        .rfind(|p| p.join("trainer_state.json").is_file());
    latest.ok_or_else(|| {
        input(format!(
            "{} is not a PPO checkpoint: no trainer_state.json in it nor in a checkpoint_NNNNNN \
             folder inside; pass a checkpoint folder or a trial folder",
            path.display()
        ))
    })
}

/// The environment the checkpoint was trained in, rebuilt from the settings it records. A
/// checkpoint of `hpo study` from before checkpoints recorded them loads with `--env`'s.
fn trained_env(dir: &Path, args: &EvalArgs) -> anyhow::Result<EnvSpec> {
    match (checkpoint_env(dir), &args.env) {
        (Ok(env), _) => Ok(env),
        (Err(_), Some(path)) => Ok(EnvSpec::PredPreyGrass(load_config(Some(path))?)),
        (Err(e), None) => Err(input(e.to_string())),
    }
}

/// The environment to play in: the checkpoint's, with `--env` and `--max-steps` applied.
fn play_env(trained: &EnvSpec, args: &EvalArgs) -> anyhow::Result<EnvSpec> {
    if args.env.is_none() && args.max_steps.is_none() {
        return Ok(trained.clone());
    }
    let EnvSpec::PredPreyGrass(trained_config) = trained else {
        return Err(input(format!(
            "--env and --max-steps apply to predator-prey-grass checkpoints; this one was \
             trained on {}",
            trained.name()
        )));
    };
    let mut config = match &args.env {
        Some(path) => load_config(Some(path))?,
        None => trained_config.clone(),
    };
    if let Some(n) = args.max_steps {
        config.max_steps = n;
        config.validate().map_err(|e| input(format!("--max-steps {n}: {e}")))?;
    }
    Ok(EnvSpec::PredPreyGrass(config))
}

/// Run the command.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let dir = find_checkpoint(&args.checkpoint)?;
    let trained = trained_env(&dir, &args)?;
    let env = play_env(&trained, &args)?;
    let trainer: Trainer = Trainer::load(&dir, trained.clone(), None)
        .with_context(|| format!("loading the checkpoint {}", dir.display()))?;
    let episodes = usize::try_from(args.episodes).context("--episodes")?;
    // Progress on stderr (indicatif draws nothing when stderr is not a terminal).
    let bar = ProgressBar::new(args.episodes);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} episodes, eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let played = trainer.evaluate_with_progress(&env, episodes, args.seed, &mut |n| {
        bar.set_position(n as u64);
    });
    bar.finish_and_clear();
    let eval = match played {
        Ok(e) => e,
        Err(e @ PpoError::Config { .. }) => return Err(input(e.to_string())),
        Err(e) => return Err(e).context("playing the episodes"),
    };
    let max_steps = match &env {
        EnvSpec::PredPreyGrass(c) => Some(c.max_steps),
        _ => None,
    };
    let slot0 = eval.slot0_returns.get(eval.score_kind).map_or(&[][..], Vec::as_slice);
    let kind_return_mean = eval
        .kinds
        .iter()
        .enumerate()
        .map(|(k, name)| (name.as_str(), eval.kind_return_mean(k)))
        .collect();
    let report = Report {
        checkpoint: &dir,
        iteration: trainer.iteration(),
        seed: args.seed,
        max_steps,
        episodes: eval.episodes.len(),
        episode_len_mean: eval.episode_len_mean(),
        predator_return: eval.predator_return(),
        score_pred: eval.score_pred(),
        slot0_return: spread(slot0),
        kind_return_mean,
        evaluation: &eval,
    };
    if args.json {
        crate::out(&format!("{}\n", serde_json::to_string(&report).context("writing JSON")?))?;
    } else {
        crate::out(&print_text(&report, &eval, trainer.config().network))?;
    }
    Ok(())
}

fn print_text(r: &Report<'_>, eval: &Evaluation, network: ppo_burn::Network) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let scored = eval.kinds.get(eval.score_kind).map_or("", String::as_str);
    let _ = writeln!(
        text,
        "checkpoint {} (iteration {}, {} policies)",
        r.checkpoint.display(),
        r.iteration,
        format!("{network:?}").to_lowercase()
    );
    let steps = r.max_steps.map(|n| format!(", max_steps {n}")).unwrap_or_default();
    let _ = writeln!(
        text,
        "played {} episodes (seed {}{steps}): mean length {:.1}",
        r.episodes, r.seed, r.episode_len_mean
    );
    let s = &r.slot0_return;
    let _ = writeln!(
        text,
        "{scored}_0 return: mean {:.1} (score_pred {:.3}), median {}, min {}, max {}, >= 100 in \
         {} of {}",
        r.predator_return,
        r.score_pred,
        s.median,
        s.min,
        s.max,
        s.at_least_100,
        eval.slot0_returns.get(eval.score_kind).map_or(0, Vec::len)
    );
    for (name, mean) in &r.kind_return_mean {
        let _ = writeln!(text, "{name}: mean episode return {mean:.1} (all agents of the kind)");
    }
    text
}
