//! `hpo study`: run a study from a config file or an embedded preset, with a live view, and print
//! a summary at the end. `--resume DIR` continues a study after Ctrl-C or a crash.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use hpo_runner::config::StudyConfig;
use hpo_runner::journal::JournalEvent;
use hpo_runner::objective::Objective;
use hpo_runner::process::ProcessObjective;
use hpo_runner::study::{Observer, RunOptions, StudySummary, StudyView, files, run_study};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::InputError;

/// The embedded study configurations (`configs/*.toml`).
pub const PRESETS: &[(&str, &str, &str)] = &[
    (
        "reference",
        include_str!("../../../configs/reference.toml"),
        "the reference experiment: 20 trials, 4 at once, up to 1000 iterations each, 1000-step episodes",
    ),
    (
        "reference-500",
        include_str!("../../../configs/reference-500.toml"),
        "the reference experiment with 500-step training episodes",
    ),
    (
        "quick",
        include_str!("../../../configs/quick.toml"),
        "a small study a 2-core laptop finishes in about 15 minutes (TPE, ASHA, stoppers, both CSVs)",
    ),
    ("smoke", include_str!("../../../configs/smoke.toml"), "a whole tiny study in a few minutes"),
];

/// Arguments of `hpo study`.
#[derive(Debug, clap::Args)]
pub struct StudyArgs {
    /// The study configuration (TOML). Give it, `--preset` or `--resume`.
    #[arg(long, value_name = "STUDY.toml", conflicts_with_all = ["preset", "resume"])]
    config: Option<PathBuf>,
    /// An embedded configuration: reference, quick or smoke.
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    preset: Option<String>,
    /// The study folder to create (must not exist or be empty). Default: runs/<name>-<time>.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the study in DIR (its config.toml and journal) after Ctrl-C or a crash.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Override `[study] seed` (not with --resume: a study keeps the seed it started with).
    #[arg(long, conflicts_with = "resume")]
    seed: Option<u64>,
    /// Override `[study] num_samples`.
    #[arg(long, value_name = "N")]
    num_samples: Option<u64>,
    /// Override `[study] max_concurrent`.
    #[arg(long, value_name = "N")]
    max_concurrent: Option<usize>,
    /// Print plain lines instead of the live view.
    #[arg(long)]
    plain: bool,
    /// Train PPO trials as threads of this process rather than one process each (the same
    /// numbers; slower with several trials at once, see docs/ppo.md "Threads").
    #[arg(long)]
    in_process: bool,
    /// List the presets and exit.
    #[arg(long)]
    list_presets: bool,
}

fn input<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::Error::new(InputError(e.to_string()))
}

/// Look up a preset's text.
pub fn preset_text(name: &str) -> anyhow::Result<&'static str> {
    PRESETS.iter().find(|p| p.0 == name).map(|p| p.1).ok_or_else(|| {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
        input(format!("unknown preset `{name}`: choose one of {}", names.join(", ")))
    })
}

/// Run the command.
pub fn run(args: StudyArgs) -> anyhow::Result<()> {
    if args.list_presets {
        let width = PRESETS.iter().map(|p| p.0.len()).max().unwrap_or(0);
        for (name, _, what) in PRESETS {
            crate::out(&format!("{name:<width$}  {what}\n"))?;
        }
        return Ok(());
    }
    let (text, origin, label) = if let Some(dir) = &args.resume {
        let path = dir.join(files::CONFIG);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            input(format!("{}: {e} (is {} a study folder?)", path.display(), dir.display()))
        })?;
        (text, path.display().to_string(), "resume".to_string())
    } else if let Some(path) = &args.config {
        let text =
            std::fs::read_to_string(path).map_err(|e| input(format!("{}: {e}", path.display())))?;
        let stem = path.file_stem().map_or("study".into(), |s| s.to_string_lossy().into_owned());
        (text, path.display().to_string(), stem)
    } else if let Some(name) = &args.preset {
        (preset_text(name)?.to_string(), format!("preset `{name}`"), name.clone())
    } else {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
        return Err(input(format!(
            "choose a study: --config STUDY.toml, --preset NAME ({}; `reference` runs for days, `quick` about 15 minutes) or --resume DIR",
            names.join(", ")
        )));
    };
    let mut cfg = StudyConfig::from_toml_str(&text).map_err(|e| input(format!("{origin}: {e}")))?;
    if let Some(seed) = args.seed {
        cfg.study.seed = seed;
    }
    if let Some(n) = args.num_samples {
        cfg.study.num_samples = n;
    }
    if let Some(n) = args.max_concurrent {
        cfg.study.max_concurrent = n;
    }
    cfg.validate_study().map_err(|e| input(format!("{origin}: {e}")))?;
    let config_text = cfg.to_toml_string().context("serialising the config")?;
    let objective =
        hpo_runner::build_objective(&cfg).map_err(|e| input(format!("{origin}: {e}")))?;
    // Trials run in their own processes (this executable's `trial-worker`): in one process
    // burn-autodiff makes concurrent PPO trials wait for each other's backward passes, and a
    // worker ends its trial's command when the study dies, however it dies.
    let objective: Arc<dyn Objective> = if args.in_process {
        objective
    } else {
        Arc::new(ProcessObjective {
            program: std::env::current_exe().context("finding the hpo executable")?,
            args: vec!["trial-worker".to_string()],
            config_text: config_text.clone(),
        })
    };

    let dir = match (&args.resume, &args.out) {
        (Some(d), _) | (None, Some(d)) => d.clone(),
        (None, None) => default_out(&label),
    };
    let interrupt = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&interrupt);
        let shown = dir.display().to_string();
        // Ctrl-C (or SIGTERM) stops the study: running trials end as `interrupted`. A second
        // one quits at once; the journal and every row written so far stay.
        ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                hpo_runner::objective::kill_running_commands();
                eprintln!("\nquitting now; resume with: hpo study --resume {shown}");
                std::process::exit(130);
            }
        })
        .context("installing the Ctrl-C handler")?;
    }
    let options = RunOptions {
        dir: dir.clone(),
        resume: args.resume.is_some(),
        interrupt,
        cores: None,
        config_text,
    };
    eprintln!(
        "study {} -> {} ({} trials, {} at once, metric {} {})",
        origin,
        dir.display(),
        cfg.study.num_samples,
        cfg.study.max_concurrent,
        cfg.study.metric,
        if cfg.study.maximize() { "max" } else { "min" }
    );
    let live = !args.plain && std::io::stderr().is_terminal();
    let mut observer: Box<dyn Observer> =
        if live { Box::new(LiveView::new()) } else { Box::new(PlainLog::default()) };
    let summary = run_study(&cfg, objective, &options, observer.as_mut()).map_err(|e| match e {
        hpo_runner::study::StudyError::NotEmpty(_)
        | hpo_runner::study::StudyError::NoStudy(..)
        | hpo_runner::study::StudyError::Locked { .. } => input(e),
        other => anyhow::Error::new(other),
    })?;
    drop(observer);
    crate::out(&summary_text(&summary))?;
    if summary.interrupted {
        crate::out(&format!(
            "interrupted: resume with `hpo study --resume {}`\n",
            summary.dir.display()
        ))?;
        return Err(anyhow::Error::new(crate::Incomplete("the study was interrupted".into())));
    }
    let failed = summary.trials.iter().filter(|t| t.reason.as_str() == "error").count();
    if failed > 0 {
        return Err(anyhow::Error::new(crate::Incomplete(format!(
            "{failed} of {} trials failed (stop reason `error`; see predator_final.csv and the notes above)",
            summary.trials.len()
        ))));
    }
    Ok(())
}

fn default_out(label: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from("runs").join(format!("{label}-{secs}"))
}

fn fmt_value(v: f64) -> String {
    if v.is_finite() { format!("{v:.4}") } else { "-".to_string() }
}

fn fmt_params(params: &BTreeMap<String, hpo_sampler::ParamValue>) -> String {
    params
        .iter()
        .map(|(k, v)| match v {
            // Short for people; the CSV files keep every digit.
            hpo_sampler::ParamValue::Float(x) if *x != 0.0 && x.abs() < 1e-3 => {
                format!("{k}={x:.4e}")
            }
            hpo_sampler::ParamValue::Float(x) => format!("{k}={x:.6}"),
            other => format!("{k}={}", hpo_runner::views::fmt_param(other)),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The end-of-study table: trials by reason, the best trial, wall time and the files.
pub fn summary_text(s: &StudySummary) -> String {
    let mut out = String::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &s.trials {
        *counts.entry(t.reason.as_str()).or_insert(0) += 1;
    }
    out.push_str(&format!("\n{} trials finished in {:.1} s\n", s.trials.len(), s.wall_s));
    out.push_str("stop reason        trials\n");
    for (reason, n) in &counts {
        out.push_str(&format!("  {reason:<16} {n:>6}\n"));
    }
    out.push_str(&format!(
        "\n{:<12} {:>6} {:>10} {:>10}  {:<16} params\n",
        "trial", "iter", "last", "best", "reason"
    ));
    for t in &s.trials {
        out.push_str(&format!(
            "{:<12} {:>6} {:>10} {:>10}  {:<16} {}\n",
            t.name,
            t.iteration,
            fmt_value(t.value),
            fmt_value(t.best),
            t.reason.as_str(),
            fmt_params(&t.params)
        ));
    }
    match s.best() {
        Some(b) => out.push_str(&format!(
            "\nbest: {} {} = {} ({})\n",
            b.name,
            s.metric,
            fmt_value(b.best),
            fmt_params(&b.params)
        )),
        None => out.push_str("\nbest: none (no trial reported a finite value)\n"),
    }
    out.push_str(&format!(
        "files: {}, {}, {} in {}\n",
        files::FINAL,
        files::HITS,
        files::JOURNAL,
        s.dir.display()
    ));
    out
}

/// A running trial's pace, for the live view and the plain log.
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// When this run of the trial started, and the iteration it started after.
    started: (f64, u64),
    /// When a plain progress line was last printed.
    printed: f64,
}

impl Pace {
    fn new(ts: f64, resumed_after: u64) -> Self {
        Pace { started: (ts, resumed_after), printed: f64::NEG_INFINITY }
    }

    /// Seconds per iteration of this run so far.
    fn s_per_iter(&self, ts: f64, iteration: u64) -> Option<f64> {
        let done = iteration.checked_sub(self.started.1).filter(|n| *n > 0)?;
        Some((ts - self.started.0) / done as f64)
    }
}

/// `iteration 12/1000, 55.1 s/iter, at most 15h 10m left` (the cap and the bound only where
/// the study has an iteration cap; stoppers and ASHA usually end a trial sooner).
fn progress_text(iteration: u64, max_iters: Option<u64>, s_per_iter: Option<f64>) -> String {
    let mut text = match max_iters {
        Some(m) => format!("iter {iteration:>4}/{m}"),
        None => format!("iter {iteration:>4}"),
    };
    if let Some(s) = s_per_iter {
        text.push_str(&format!(", {s:.1} s/iter"));
        if let Some(m) = max_iters.filter(|m| *m > iteration) {
            text.push_str(&format!(", at most {} left", fmt_secs(s * (m - iteration) as f64)));
        }
    }
    text
}

fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Seconds between two progress lines of one trial in the plain log.
const PLAIN_EVERY_S: f64 = 30.0;

/// Plain log lines, for logs and CI (no terminal): a line when a trial starts, one when it
/// ends, and in between a progress line per trial at its first iteration and then at most
/// every 30 seconds.
#[derive(Default)]
struct PlainLog {
    pace: BTreeMap<u64, Pace>,
}

impl Observer for PlainLog {
    fn on_event(&mut self, event: &JournalEvent, view: &StudyView) {
        match event {
            JournalEvent::Result { ts, trial, iteration, .. } => {
                let (Some(pace), Some(t)) = (self.pace.get_mut(trial), view.running.get(trial))
                else {
                    return;
                };
                if ts - pace.printed >= PLAIN_EVERY_S {
                    pace.printed = *ts;
                    eprintln!(
                        "       {} {}: {} {} (best {}), rung {}",
                        t.name,
                        progress_text(*iteration, view.max_iters, pace.s_per_iter(*ts, *iteration)),
                        view.metric,
                        fmt_value(t.last),
                        fmt_value(t.best),
                        t.rung
                    );
                }
            }
            JournalEvent::TrialStarted {
                ts, trial, name, params, group, resumed_after, ..
            } => {
                self.pace.insert(*trial, Pace::new(*ts, *resumed_after));
                let resumed = if *resumed_after > 0 {
                    format!(" (resumed after iteration {resumed_after})")
                } else {
                    String::new()
                };
                eprintln!("start  {name} on group {group}: {}{resumed}", fmt_params(params));
            }
            JournalEvent::TrialFinished { trial, iteration, value, reason, error, .. } => {
                self.pace.remove(trial);
                let name = hpo_runner::study::trial_name(*trial);
                let err = error.as_deref().map_or(String::new(), |e| format!(" ({e})"));
                let done = view.finished.len();
                eprintln!(
                    "end    {name} at iteration {iteration}: {} = {} -> {}{err}  [{done}/{} done]",
                    view.metric,
                    fmt_value(*value),
                    reason.as_str(),
                    view.num_samples
                );
            }
            _ => {}
        }
    }

    fn note(&mut self, message: &str) {
        eprintln!("note: {message}");
    }
}

/// The live view: a status line and one line per running trial.
struct LiveView {
    multi: MultiProgress,
    header: ProgressBar,
    bars: BTreeMap<u64, ProgressBar>,
    pace: BTreeMap<u64, Pace>,
}

impl LiveView {
    fn new() -> Self {
        let multi = MultiProgress::new();
        let header = multi.add(ProgressBar::new_spinner());
        header.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        header.enable_steady_tick(std::time::Duration::from_millis(200));
        LiveView { multi, header, bars: BTreeMap::new(), pace: BTreeMap::new() }
    }

    fn refresh_header(&self, view: &StudyView) {
        let counts = view.counts_by_reason();
        let reasons: Vec<String> = counts.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let best = view.best().map_or("-".to_string(), |(n, v)| format!("{v:.4} ({n})"));
        let reasons =
            if reasons.is_empty() { String::new() } else { format!(" [{}]", reasons.join(", ")) };
        self.header.set_message(format!(
            "{} running, {}/{} done{reasons}  best {} {}",
            view.running.len(),
            view.finished.len(),
            view.num_samples,
            view.metric,
            best
        ));
    }
}

impl Observer for LiveView {
    fn on_event(&mut self, event: &JournalEvent, view: &StudyView) {
        match event {
            JournalEvent::TrialStarted { ts, trial, name, params, resumed_after, .. } => {
                self.pace.insert(*trial, Pace::new(*ts, *resumed_after));
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(format!("{name} starting  {}", fmt_params(params)));
                self.bars.insert(*trial, bar);
            }
            JournalEvent::Result { ts, trial, iteration, .. } => {
                if let (Some(bar), Some(t)) = (self.bars.get(trial), view.running.get(trial)) {
                    let pace = self.pace.get(trial).and_then(|p| p.s_per_iter(*ts, *iteration));
                    bar.set_message(format!(
                        "{} {}  {} {:>8}  best {:>8}  rung {:>2}  group {}  {}",
                        t.name,
                        progress_text(t.iteration, view.max_iters, pace),
                        view.metric,
                        fmt_value(t.last),
                        fmt_value(t.best),
                        t.rung,
                        t.group,
                        fmt_params(&t.params)
                    ));
                }
            }
            JournalEvent::TrialFinished { trial, iteration, value, reason, error, .. } => {
                self.pace.remove(trial);
                if let Some(bar) = self.bars.remove(trial) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                let err = error.as_deref().map_or(String::new(), |e| format!(" ({e})"));
                let _ = self.multi.println(format!(
                    "{} ended at iteration {iteration}: {} -> {}{err}",
                    hpo_runner::study::trial_name(*trial),
                    fmt_value(*value),
                    reason.as_str()
                ));
            }
            _ => {}
        }
        self.refresh_header(view);
    }

    fn note(&mut self, message: &str) {
        let _ = self.multi.println(format!("note: {message}"));
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        self.header.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use hpo_runner::config::StudyConfig;
    use hpo_sampler::{SamplerConfig, TpeConfig};

    use super::*;

    fn preset(name: &str) -> StudyConfig {
        StudyConfig::from_toml_str(preset_text(name).expect("a preset")).expect("it parses")
    }

    #[test]
    fn every_preset_is_a_valid_config() {
        for (name, text, _) in PRESETS {
            let config = StudyConfig::from_toml_str(text)
                .unwrap_or_else(|e| panic!("preset {name} does not parse: {e}"));
            config.validate().unwrap_or_else(|e| panic!("preset {name} is invalid: {e}"));
        }
    }

    #[test]
    fn the_reference_runs_optuna_4s_tpe_on_1000_step_episodes_and_its_500_step_twin_differs_only_there()
     {
        let reference = preset("reference");
        assert_eq!(reference.sampler, SamplerConfig::Tpe(TpeConfig::optuna4()));
        assert_eq!(reference.env.max_steps, 1000);
        assert_eq!(reference.ppo, ppo_burn::PpoConfig::default());
        let mut short = preset("reference-500");
        assert_eq!(short.env.max_steps, 500);
        assert_eq!(short.study.name.as_deref(), Some("reference-500"));
        short.env.max_steps = 1000;
        short.study.name = reference.study.name.clone();
        assert_eq!(short, reference);
    }
}
