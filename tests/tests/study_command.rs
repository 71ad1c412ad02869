//! End-to-end studies with the command objective (a shell script printing a known curve per
//! parameter set) and with Rust objectives that fail in every way a trial can.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hpo_runner::config::StudyConfig;
use hpo_runner::journal::{self, JournalEvent};
use hpo_runner::objective::{Metrics, Objective, ObjectiveError, TrialContext, TrialRun};
use hpo_runner::study::{RunOptions, Silent, StudySummary, run_study};
use hpo_tests::workspace_root;

fn curve() -> String {
    workspace_root().join("tests/fixtures/curve.sh").display().to_string()
}

/// A study of `num_samples` trials of the curve script, with ASHA (grace 5, rf 3, max_t 45),
/// plateau and max-iteration stoppers. `extra_args` go after the script's three arguments.
fn config(num_samples: u64, max_concurrent: usize, extra_args: &[&str]) -> StudyConfig {
    let mut command = vec![
        "sh".to_string(),
        curve(),
        "{lr}".to_string(),
        "{num_epochs}".to_string(),
        "80".to_string(),
    ];
    command.extend(extra_args.iter().map(|s| s.to_string()));
    let command: Vec<String> = command.iter().map(|a| format!("{a:?}")).collect();
    let space = hpo_tests::REFERENCE_SPACE;
    let text = format!(
        r#"
[study]
seed = 11
num_samples = {num_samples}
max_concurrent = {max_concurrent}
checkpoint_every = 0
hit_threshold = 0.8

[resources]
cpus_per_trial = 1

{space}

[sampler]
kind = "tpe"
n_startup_trials = 3

[scheduler]
kind = "asha"
max_t = 45
grace_period = 5
reduction_factor = 3

[stoppers.plateau]
std = 0.004
num_results = 5
grace_period = 10

[stoppers.max_iters]
max_iters = 45

[objective]
kind = "command"
command = [{}]
"#,
        command.join(", ")
    );
    StudyConfig::from_toml_str(&text).expect("test config")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hpo-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(cfg: &StudyConfig, objective: Arc<dyn Objective>, dir: &Path) -> StudySummary {
    let options = RunOptions {
        dir: dir.to_path_buf(),
        resume: false,
        interrupt: Arc::default(),
        cores: Some(vec![0, 1]),
        config_text: cfg.to_toml_string().expect("toml"),
    };
    run_study(cfg, objective, &options, &mut Silent).expect("study runs")
}

fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    hpo_runner::views::read_rows(path).expect("csv")
}

#[test]
fn command_study_writes_exact_rows_and_reasons() {
    let cfg = config(8, 1, &[]);
    let dir = temp_dir("exact");
    let objective = hpo_runner::build_objective(&cfg).expect("objective");
    let summary = run(&cfg, objective, &dir);
    assert_eq!(summary.trials.len(), 8);
    let final_rows = rows(&dir.join("predator_final.csv"));
    // One row per trial, each trial once.
    let mut names: Vec<&str> = final_rows.iter().map(|r| r["trial_name"].as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 8);
    for row in &final_rows {
        let progress = dir.join("trials").join(&row["trial_name"]).join("progress.csv");
        let iterations: i64 = row["iteration"].parse().expect("iteration");
        assert_eq!(
            rows(&progress).len() as i64,
            iterations,
            "progress rows of {}",
            row["trial_name"]
        );
        assert_eq!(row["asha_pruned"] == "1", row["stop_reason"] == "asha_early_stop");
    }
    // With one trial at a time, the study is a function of its seed: the exact files.
    let final_text = std::fs::read_to_string(dir.join("predator_final.csv")).expect("final");
    let hits_text = std::fs::read_to_string(dir.join("predator_100_hits.csv")).expect("hits");
    insta::assert_snapshot!("command_study_final_csv", final_text);
    insta::assert_snapshot!("command_study_hits_csv", hits_text);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrency_is_respected() {
    let cfg = config(6, 2, &["0", "0.01"]);
    let dir = temp_dir("concurrency");
    let objective = hpo_runner::build_objective(&cfg).expect("objective");
    run(&cfg, objective, &dir);
    let events = journal::read(&dir.join("journal.jsonl")).expect("journal").events;
    let (mut running, mut peak) = (0i32, 0i32);
    for ev in &events {
        match ev {
            JournalEvent::TrialStarted { .. } => running += 1,
            JournalEvent::TrialFinished { .. } => running -= 1,
            _ => {}
        }
        peak = peak.max(running);
    }
    assert_eq!(running, 0);
    assert_eq!(peak, 2, "two trials must have run at once, never more");
    // Two groups, each used by a trial at a time: a group is reused only after its trial ended.
    let mut busy: BTreeMap<usize, u64> = BTreeMap::new();
    let mut group_of: BTreeMap<u64, usize> = BTreeMap::new();
    for ev in &events {
        match ev {
            JournalEvent::TrialStarted { trial, group, .. } => {
                assert!(busy.insert(*group, *trial).is_none(), "group {group} given twice");
                group_of.insert(*trial, *group);
            }
            JournalEvent::TrialFinished { trial, .. } => {
                busy.remove(&group_of[trial]);
            }
            _ => {}
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_command_is_an_error_row_and_the_study_goes_on() {
    // Every trial's command exits with status 3 after two iterations; NaN at iteration 3 is
    // covered by the Rust objective below.
    let cfg = config(3, 2, &["-2"]);
    let dir = temp_dir("exit");
    let objective = hpo_runner::build_objective(&cfg).expect("objective");
    let summary = run(&cfg, objective, &dir);
    assert_eq!(summary.trials.len(), 3);
    for row in rows(&dir.join("predator_final.csv")) {
        assert_eq!(row["stop_reason"], "error");
        assert_eq!(row["iteration"], "2");
    }
    let journal = std::fs::read_to_string(dir.join("journal.jsonl")).expect("journal");
    assert!(journal.contains("command exited with exit status: 3"), "the cause is journaled");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Trial 1 panics at iteration 3, trial 2 reports NaN at iteration 2, trial 3 fails to start,
/// trial 4 returns an iteration error; the others run 12 iterations and finish on their own.
struct Misbehaving;

struct MisbehavingRun {
    trial: u64,
    iteration: u64,
}

impl Objective for Misbehaving {
    fn start(&self, ctx: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError> {
        if ctx.trial == 3 {
            return Err(ObjectiveError::Start("no such environment".into()));
        }
        Ok(Box::new(MisbehavingRun { trial: ctx.trial, iteration: 0 }))
    }
}

impl TrialRun for MisbehavingRun {
    fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError> {
        self.iteration += 1;
        match (self.trial, self.iteration) {
            (1, 3) => panic!("the learner fell over"),
            (4, 2) => {
                Err(ObjectiveError::Iteration { iteration: 2, message: "loss is NaN".into() })
            }
            (_, 13) => Ok(None),
            (2, 2) => Ok(Some(Metrics::from([("score_pred".to_string(), f64::NAN)]))),
            (_, i) => Ok(Some(Metrics::from([("score_pred".to_string(), i as f64 / 10.0)]))),
        }
    }
}

#[test]
fn panics_nan_start_and_iteration_errors_end_as_error_and_others_finish() {
    let mut cfg = config(6, 2, &[]);
    cfg.scheduler = hpo_runner::config::SchedulerConfig::Fifo;
    cfg.stoppers = hpo_runner::config::StoppersConfig::default();
    let dir = temp_dir("misbehaving");
    let summary = run(&cfg, Arc::new(Misbehaving), &dir);
    let reasons: BTreeMap<String, (String, String)> = rows(&dir.join("predator_final.csv"))
        .into_iter()
        .map(|r| (r["trial_name"].clone(), (r["stop_reason"].clone(), r["iteration"].clone())))
        .collect();
    let expect = |name: &str, reason: &str, iteration: &str| {
        assert_eq!(reasons[name], (reason.to_string(), iteration.to_string()), "{name}");
    };
    expect("trial_0000", "completed", "12");
    expect("trial_0001", "error", "2");
    expect("trial_0002", "error", "2");
    expect("trial_0003", "error", "-1");
    expect("trial_0004", "error", "1");
    expect("trial_0005", "completed", "12");
    let errors: BTreeMap<u64, String> =
        summary.trials.iter().filter_map(|t| Some((t.trial, t.error.clone()?))).collect();
    assert!(errors[&1].contains("panicked: the learner fell over"), "{}", errors[&1]);
    assert!(
        errors[&2].contains("metric `score_pred` is not finite at iteration 2"),
        "{}",
        errors[&2]
    );
    assert!(errors[&3].contains("no such environment"), "{}", errors[&3]);
    assert!(errors[&4].contains("loss is NaN"), "{}", errors[&4]);
    // The unknown score of a trial that never reported is `nan`.
    let row3 =
        rows(&dir.join("predator_final.csv")).into_iter().find(|r| r["trial_name"] == "trial_0003");
    assert_eq!(row3.expect("row")["score_pred"], "nan");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_study_killed_after_a_nan_report_resumes_and_keeps_that_trial_as_error() {
    let mut cfg = config(6, 1, &[]);
    cfg.scheduler = hpo_runner::config::SchedulerConfig::Fifo;
    cfg.stoppers = hpo_runner::config::StoppersConfig::default();
    let dir = temp_dir("nan-resume");
    run(&cfg, Arc::new(Misbehaving), &dir);
    let before = std::fs::read_to_string(dir.join("predator_final.csv")).expect("final");
    // Trial 2 reported score_pred = NaN at iteration 2: its journal line says "nan".
    let path = dir.join("journal.jsonl");
    let text = std::fs::read_to_string(&path).expect("journal");
    let nan_line = text
        .lines()
        .position(|l| l.contains(r#""event":"result""#) && l.contains(r#""trial":2,"iteration":2"#))
        .expect("the NaN report is in the journal");
    assert!(text.lines().nth(nan_line).is_some_and(|l| l.contains(r#""score_pred":"nan""#)));
    // Cut the journal as a kill would: after trial 3 started, so the NaN line is not the last.
    let cut = text
        .lines()
        .position(|l| l.contains(r#""event":"trial_started""#) && l.contains(r#""trial":3"#))
        .expect("trial 3 started");
    assert!(cut > nan_line);
    let kept: usize = text.lines().take(cut + 1).map(|l| l.len() + 1).sum();
    journal::truncate(&path, kept as u64).expect("cut");
    let options = RunOptions {
        dir: dir.clone(),
        resume: true,
        interrupt: Arc::default(),
        cores: Some(vec![0, 1]),
        config_text: cfg.to_toml_string().expect("toml"),
    };
    let summary = run_study(&cfg, Arc::new(Misbehaving), &options, &mut Silent).expect("resumes");
    assert_eq!(summary.trials.len(), 6);
    let error = summary.trials.iter().find(|t| t.trial == 2).and_then(|t| t.error.clone());
    assert!(error.as_deref().is_some_and(|e| e.contains("not finite at iteration 2")), "{error:?}");
    let mut rows_before: Vec<&str> = before.lines().collect();
    let after = std::fs::read_to_string(dir.join("predator_final.csv")).expect("final");
    let mut rows_after: Vec<&str> = after.lines().collect();
    rows_before.sort_unstable();
    rows_after.sort_unstable();
    assert_eq!(rows_after, rows_before, "the resumed study ends with the same rows");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Saves checkpoints except the one after iteration 2, which meets a full disk.
struct FullDiskOnce;

struct FullDiskRun {
    iteration: u64,
}

impl Objective for FullDiskOnce {
    fn start(&self, _: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError> {
        Ok(Box::new(FullDiskRun { iteration: 0 }))
    }
}

impl TrialRun for FullDiskRun {
    fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError> {
        self.iteration += 1;
        Ok((self.iteration <= 6)
            .then(|| Metrics::from([("score_pred".to_string(), self.iteration as f64 / 10.0)])))
    }

    fn checkpoint(&mut self, iteration: u64) -> Result<Option<u64>, ObjectiveError> {
        if iteration == 2 {
            // ENOSPC, as a write to a full disk returns it.
            return Err(ObjectiveError::Io(std::io::Error::from_raw_os_error(28)));
        }
        Ok(Some(iteration))
    }
}

/// Gathers the notes a study gives.
#[derive(Default)]
struct Notes(Vec<String>);

impl hpo_runner::study::Observer for Notes {
    fn on_event(&mut self, _: &JournalEvent, _: &hpo_runner::study::StudyView) {}
    fn note(&mut self, message: &str) {
        self.0.push(message.to_string());
    }
}

#[test]
fn a_checkpoint_that_meets_a_full_disk_costs_the_checkpoint_not_the_trial() {
    let mut cfg = config(1, 1, &[]);
    cfg.scheduler = hpo_runner::config::SchedulerConfig::Fifo;
    cfg.stoppers = hpo_runner::config::StoppersConfig::default();
    cfg.study.checkpoint_every = 2;
    let dir = temp_dir("fulldisk");
    let options = RunOptions {
        dir: dir.clone(),
        resume: false,
        interrupt: Arc::default(),
        cores: Some(vec![0]),
        config_text: cfg.to_toml_string().expect("toml"),
    };
    let mut notes = Notes::default();
    let summary = run_study(&cfg, Arc::new(FullDiskOnce), &options, &mut notes).expect("runs");
    assert_eq!(summary.trials[0].reason.as_str(), "completed");
    assert_eq!(summary.trials[0].iteration, 6);
    let saved: Vec<u64> = journal::read(&dir.join("journal.jsonl"))
        .expect("journal")
        .events
        .into_iter()
        .filter_map(|e| match e {
            JournalEvent::Checkpoint { iteration, .. } => Some(iteration),
            _ => None,
        })
        .collect();
    assert_eq!(saved, [4, 6]);
    let note = notes.0.iter().find(|n| n.contains("not saved")).expect("a note");
    assert!(note.contains("after iteration 2"), "{note}");
    assert!(note.contains("No space left on device") && !note.contains("Os {"), "{note}");
    let _ = std::fs::remove_dir_all(&dir);
}
