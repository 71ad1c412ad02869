//! `cargo xtask bench study`: the smoke study's wall time (PPO on predator-prey-grass, the
//! `configs/smoke.toml` preset) and the coordinator's overhead per report (an objective that
//! returns at once, so all the time is the coordinator's: decision pipeline, sampler, journal
//! line, CSV rows, channels). Without `--bench` (as `cargo test` runs it) it does a tiny run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hpo_runner::config::StudyConfig;
use hpo_runner::objective::{Metrics, Objective, ObjectiveError, TrialContext, TrialRun};
use hpo_runner::study::{RunOptions, Silent, run_study};

struct Instant0 {
    iterations: u64,
}

struct Instant0Run {
    left: u64,
    i: u64,
}

impl Objective for Instant0 {
    fn start(&self, _: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError> {
        Ok(Box::new(Instant0Run { left: self.iterations, i: 0 }))
    }
}

impl TrialRun for Instant0Run {
    fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.i += 1;
        let score = 1.0 - 1.0 / (self.i as f64 + 1.0);
        Ok(Some(Metrics::from([
            ("score_pred".to_string(), score),
            ("loss".to_string(), 1.0 / score),
        ])))
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hpo-bench-study-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(cfg: &StudyConfig, dir: PathBuf) -> RunOptions {
    RunOptions {
        dir,
        resume: false,
        interrupt: Arc::default(),
        cores: None,
        config_text: cfg.to_toml_string().unwrap_or_default(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");

    // Coordinator overhead: 8 trials x N iterations of an objective that costs nothing, with the
    // reference's decision rules (ASHA grace 40 / rf 3 / max_t 1000 never reached here: FIFO
    // would skip the scheduler, so the reference scheduler and stoppers are kept).
    let iterations = if full { 5_000 } else { 50 };
    let mut cfg = StudyConfig::from_path(root.join("configs/reference.toml"))?;
    cfg.objective.kind = hpo_runner::config::ObjectiveKind::Command;
    cfg.objective.command = vec!["unused".into()];
    cfg.study.num_samples = 8;
    cfg.study.max_concurrent = 2;
    cfg.stoppers = Default::default();
    if let hpo_runner::config::SchedulerConfig::Asha(a) = &mut cfg.scheduler {
        a.max_t = 1.0e9;
    }
    let dir = temp("overhead");
    let t = Instant::now();
    let summary = run_study(
        &cfg,
        Arc::new(Instant0 { iterations }),
        &options(&cfg, dir.clone()),
        &mut Silent,
    )?;
    let wall = t.elapsed().as_secs_f64();
    let reports: i64 = summary.trials.iter().map(|t| t.iteration.max(0)).sum();
    let us_per_report = wall * 1e6 / reports as f64;
    println!(
        "coordinator: {reports} reports from 8 trials (2 at once) in {wall:.3} s: {us_per_report:.2} us per report"
    );
    println!(
        "  (each report: pipeline decision, sampler report, one journal line, one progress.csv row, flushed)"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // The smoke study, as `hpo study --preset smoke` runs it.
    let smoke_wall = if full {
        let cfg = StudyConfig::from_path(root.join("configs/smoke.toml"))?;
        let objective = hpo_runner::build_objective(&cfg)?;
        let dir = temp("smoke");
        let t = Instant::now();
        let summary = run_study(&cfg, objective, &options(&cfg, dir.clone()), &mut Silent)?;
        let wall = t.elapsed().as_secs_f64();
        println!("smoke study: {} trials in {wall:.1} s", summary.trials.len());
        let _ = std::fs::remove_dir_all(&dir);
        wall
    } else {
        0.0
    };
    println!(
        "{{\"smoke_wall_s\": {smoke_wall:.2}, \"us_per_report\": {us_per_report:.2}, \"reports\": {reports}}}"
    );
    Ok(())
}
