//! The coordinator: one thread that owns the sampler's study, the decision pipeline and the study
//! files, and trial workers that talk to it over crossbeam channels.
//!
//! For each report: the pipeline decides (stoppers, then ASHA; on a stop the scheduler's
//! completion hook), the sampler hears the intermediate value, the journal gets one line, the CSV
//! views their rows, the observer an event, and the worker its decision before its next iteration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::Sender;
use hpo_sampler::ParamValue;

use crate::config::StudyConfig;
use crate::cores::{self, CorePlan};
use crate::objective::{Metrics, Objective, TrialContext};
use crate::pipeline::{Decision, Pipeline, StopReason, TrialStatus};
use crate::sampling::{SamplerHandle, SamplingError};
use crate::store::{EventStore, JournalStore, StoreError};
use crate::worker::{Down, Up, run_trial};
use hpo_folder::journal::{self, JournalError, JournalEvent};
use hpo_folder::views::{CsvAppender, CsvError, FinalRow, HitRow, fmt_f64, params_record};

/// File names inside a study folder (the schema's, re-exported for the runner's callers).
pub use hpo_folder::files;

/// Errors that end a study (a trial's failure does not: it becomes an `error` row).
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The output folder holds files and `--resume` was not given.
    #[error(
        "{0} is not empty: pass --resume to continue the study in it, or choose another --out folder"
    )]
    NotEmpty(PathBuf),
    /// `--resume` on a folder that holds no study.
    #[error("{0} holds no study journal ({1}): nothing to resume")]
    NoStudy(PathBuf, &'static str),
    /// Another process runs the study in this folder.
    #[error(
        "{dir} is in use by another hpo process (PID {pid}): wait for it to end or stop it first; two processes on one study folder would run every trial twice"
    )]
    Locked {
        /// The study folder.
        dir: PathBuf,
        /// The PID written by the holder (`unknown` if unreadable).
        pid: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A CSV view failed.
    #[error(transparent)]
    Csv(#[from] CsvError),
    /// The sampler refused.
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    /// The decision pipeline refused (a bug: the coordinator fed it something inconsistent).
    #[error("decision pipeline: {0}")]
    Pipeline(String),
    /// The configuration is invalid.
    #[error("config: {0}")]
    Config(String),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StudyError + '_ {
    move |source| StudyError::Io { path: path.to_path_buf(), source }
}

/// A running trial as the live view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningTrial {
    /// Trial name.
    pub name: String,
    /// Its parameters.
    pub params: BTreeMap<String, ParamValue>,
    /// Its core group.
    pub group: usize,
    /// Last iteration reported.
    pub iteration: u64,
    /// Last value of the metric.
    pub last: f64,
    /// Best value so far (in the study's direction).
    pub best: f64,
    /// Index of the last ASHA rung reached (-1 none).
    pub rung: i64,
}

/// A finished trial.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedTrial {
    /// Trial number.
    pub trial: u64,
    /// Trial name.
    pub name: String,
    /// Its parameters.
    pub params: BTreeMap<String, ParamValue>,
    /// Its last iteration (-1 if none).
    pub iteration: i64,
    /// Its last value (NaN if none).
    pub value: f64,
    /// Its best value (NaN if none).
    pub best: f64,
    /// Why it ended.
    pub reason: StopReason,
    /// The error, for `error`.
    pub error: Option<String>,
}

/// What the observer sees of the study after each event.
#[derive(Debug, Clone, Default)]
pub struct StudyView {
    /// Trials running now, by number.
    pub running: BTreeMap<u64, RunningTrial>,
    /// Trials finished, in the order they ended.
    pub finished: Vec<FinishedTrial>,
    /// Trials the study runs in all.
    pub num_samples: u64,
    /// The metric's name.
    pub metric: String,
    /// True when higher is better.
    pub maximize: bool,
    /// Wall time the study (this run of it) started.
    pub started_ts: f64,
    /// The iteration cap of a trial (the max-iterations stopper's, else ASHA's `max_t`).
    pub max_iters: Option<u64>,
}

impl StudyView {
    /// Finished trials counted by stop reason.
    pub fn counts_by_reason(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for t in &self.finished {
            *counts.entry(t.reason.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// The best finished or running value so far, with its trial name; on a tie the lowest
    /// trial number.
    pub fn best(&self) -> Option<(String, f64)> {
        let mut candidates: Vec<(u64, &String, f64)> = self
            .finished
            .iter()
            .map(|t| (t.trial, &t.name, t.best))
            .chain(self.running.iter().map(|(n, t)| (*n, &t.name, t.best)))
            .collect();
        candidates.sort_by_key(|c| c.0);
        let mut best: Option<(String, f64)> = None;
        for (_, name, v) in candidates {
            let wins = match &best {
                None => v.is_finite(),
                Some((_, b)) => strictly_better(self.maximize, v, *b),
            };
            if wins {
                best = Some((name.clone(), v));
            }
        }
        best
    }
}

/// Told of every event as it happens (from the coordinator thread). The CLI draws the live view.
pub trait Observer {
    /// An event was journaled.
    fn on_event(&mut self, event: &JournalEvent, view: &StudyView);
    /// A message for people (core sharing, a resumed study, a cut journal line).
    fn note(&mut self, message: &str);
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn on_event(&mut self, _: &JournalEvent, _: &StudyView) {}
    fn note(&mut self, _: &str) {}
}

/// How to run a study.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The study folder.
    pub dir: PathBuf,
    /// Continue the study in `dir`.
    pub resume: bool,
    /// Set to stop the study (Ctrl-C): running trials end as `interrupted`.
    pub interrupt: Arc<AtomicBool>,
    /// The cores to plan groups from (default: this process's affinity mask).
    pub cores: Option<Vec<usize>>,
    /// The configuration text to copy into the folder as `config.toml`.
    pub config_text: String,
}

/// The end of a study.
#[derive(Debug, Clone)]
pub struct StudySummary {
    /// The study folder.
    pub dir: PathBuf,
    /// Every finished trial, in trial order.
    pub trials: Vec<FinishedTrial>,
    /// Wall seconds of this run.
    pub wall_s: f64,
    /// The user stopped it.
    pub interrupted: bool,
    /// The metric's name.
    pub metric: String,
    /// True when higher is better.
    pub maximize: bool,
}

impl StudySummary {
    /// The finished trial with the best value (by its best reported value); on a tie the
    /// lowest trial number (the rule `hpo report` follows too).
    pub fn best(&self) -> Option<&FinishedTrial> {
        let mut best: Option<&FinishedTrial> = None;
        for t in &self.trials {
            let wins = match best {
                None => t.best.is_finite(),
                Some(b) => {
                    strictly_better(self.maximize, t.best, b.best)
                        || (t.best == b.best && t.trial < b.trial)
                }
            };
            if wins {
                best = Some(t);
            }
        }
        best
    }
}

/// A trial's seed: the study seed and the trial number, mixed (SplitMix64).
pub fn trial_seed(study_seed: u64, trial: u64) -> u64 {
    use hpo_core::seed::{GOLDEN_GAMMA, mix64};
    mix64(study_seed ^ trial.wrapping_mul(GOLDEN_GAMMA).wrapping_add(0x6A09_E667_F3BC_C909))
}

/// A finite `value` strictly better than a finite `best`.
fn strictly_better(maximize: bool, value: f64, best: f64) -> bool {
    value.is_finite() && best.is_finite() && if maximize { value > best } else { value < best }
}

/// A finite `value` better than `best` (any finite value beats NaN).
fn improves(maximize: bool, value: f64, best: f64) -> bool {
    value.is_finite() && (best.is_nan() || if maximize { value > best } else { value < best })
}

/// A trial's name in files: `trial_0003`.
pub use hpo_folder::files::trial_name;

struct TrialState {
    name: String,
    params: BTreeMap<String, ParamValue>,
    group: usize,
    iteration: u64,
    last: f64,
    best: f64,
    hit: bool,
    finished: bool,
    /// A stop the pipeline decided (with the error of a bad metric), until the trial's
    /// `trial_finished` event.
    stop: Option<(StopReason, Option<String>)>,
    down: Option<Sender<Down>>,
    progress: Option<CsvAppender>,
}

/// What applying one event decided.
#[derive(Debug, Default)]
struct Applied {
    /// For a result: the pipeline's decision (a missing or non-finite metric: stop as `error`).
    decision: Option<Decision>,
    /// For a result with a bad metric: the error the trial ends with.
    error: Option<String>,
}

struct Coordinator<'a> {
    dir: PathBuf,
    metric: String,
    maximize: bool,
    param_names: Vec<String>,
    max_iters: Option<u64>,
    hit_threshold: f64,
    checkpoint_every: u64,
    sampler: SamplerHandle,
    pipeline: Pipeline,
    store: Box<dyn EventStore + 'a>,
    final_csv: CsvAppender,
    hits_csv: CsvAppender,
    trials: BTreeMap<u64, TrialState>,
    view: StudyView,
    observer: &'a mut dyn Observer,
    /// While resuming, the CSV projections are written anew to `*.rebuild` files (renamed over
    /// the old ones when the journal has been replayed).
    rebuilding: bool,
}

/// Where a CSV view is written while it is rebuilt from the journal on resume.
fn rebuild_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".rebuild");
    path.with_file_name(name)
}

impl Coordinator<'_> {
    /// The one place where the study's state changes: the trials, the pipeline, the sampler,
    /// the live view and the CSV projections all follow from the event, the same way live and
    /// when an earlier run's journal is replayed. A result's decision is the pipeline's, made
    /// here; the event's own `decision` field is not read.
    fn apply(&mut self, event: &JournalEvent) -> Result<Applied, StudyError> {
        match event {
            JournalEvent::TrialStarted { trial, params, group, .. } => {
                self.apply_started(*trial, params, *group)?;
            }
            JournalEvent::Result { trial, iteration, metrics, .. } => {
                return self.apply_result(*trial, *iteration, metrics);
            }
            JournalEvent::TrialFinished { trial, reason, error, .. } => {
                self.apply_finished(*trial, *reason, error.clone())?;
            }
            // The study's own start and end and the trials' checkpoints change no state (a
            // checkpoint only matters to where a trial resumes, see `replay_plan`), nor does an
            // event of a kind this version does not know.
            JournalEvent::StudyStarted { .. }
            | JournalEvent::Checkpoint { .. }
            | JournalEvent::StudyFinished { .. }
            | JournalEvent::Other => {}
        }
        Ok(Applied::default())
    }

    /// A new event of this run: applied, its decision written into it, stored, and shown.
    fn record(&mut self, mut event: JournalEvent) -> Result<Applied, StudyError> {
        let applied = self.apply(&event)?;
        if let (JournalEvent::Result { decision, reason, .. }, Some(d)) =
            (&mut event, applied.decision)
        {
            *decision = d.as_str().to_string();
            *reason = d.reason();
        }
        self.store.append(&event)?;
        self.observer.on_event(&event, &self.view);
        Ok(applied)
    }

    /// End a trial (once): its `trial_finished` event, from its state.
    fn end(
        &mut self,
        trial: u64,
        reason: StopReason,
        error: Option<String>,
    ) -> Result<(), StudyError> {
        let Some(state) = self.trials.get(&trial) else {
            return Err(StudyError::Pipeline(format!("end of unknown trial {trial}")));
        };
        if state.finished {
            return Ok(());
        }
        let iteration = if state.iteration > 0 { state.iteration as i64 } else { -1 };
        let value = state.last;
        self.record(JournalEvent::TrialFinished {
            ts: journal::now(),
            trial,
            iteration,
            value,
            reason,
            error,
        })?;
        Ok(())
    }

    fn progress_csv(&mut self, trial: u64, metrics: &Metrics) -> Result<(), StudyError> {
        let dir = self.dir.join(files::TRIALS);
        let Some(state) = self.trials.get_mut(&trial) else { return Ok(()) };
        if state.progress.is_none() {
            let mut header = vec!["iteration".to_string()];
            header.extend(metrics.keys().filter(|k| *k != "iteration").cloned());
            let path = dir.join(&state.name).join(files::PROGRESS);
            state.progress = Some(if self.rebuilding {
                CsvAppender::create(&rebuild_path(&path), header)?
            } else {
                CsvAppender::open(&path, header)?
            });
        }
        if let Some(p) = state.progress.as_mut() {
            let row: Vec<String> = p
                .header()
                .iter()
                .map(|h| {
                    if h == "iteration" {
                        state.iteration.to_string()
                    } else {
                        metrics.get(h).map_or(String::new(), |v| fmt_f64(*v))
                    }
                })
                .collect();
            p.append(&row)?;
        }
        Ok(())
    }

    fn params_row(&self, params: &BTreeMap<String, ParamValue>) -> Vec<String> {
        params_record(&self.param_names, params)
    }

    /// A trial started: new to the study, or a known one started again (a resume) on a
    /// new core group.
    fn apply_started(
        &mut self,
        trial: u64,
        params: &BTreeMap<String, ParamValue>,
        group: usize,
    ) -> Result<(), StudyError> {
        if let Some(state) = self.trials.get_mut(&trial) {
            state.group = group;
            if let Some(r) = self.view.running.get_mut(&trial) {
                r.group = group;
            }
            return Ok(());
        }
        self.pipeline.add_trial(trial, None).map_err(|e| StudyError::Pipeline(e.to_string()))?;
        // A trial this run asked the sampler for is known to it already; one replayed from
        // the journal is told to it here (trials come in number order).
        if trial >= self.sampler.n_started() {
            self.sampler.restore_started(trial, params.clone())?;
        }
        let name = trial_name(trial);
        self.trials.insert(
            trial,
            TrialState {
                name: name.clone(),
                params: params.clone(),
                group,
                iteration: 0,
                last: f64::NAN,
                best: f64::NAN,
                hit: false,
                finished: false,
                stop: None,
                down: None,
                progress: None,
            },
        );
        self.view.running.insert(
            trial,
            RunningTrial {
                name,
                params: params.clone(),
                group,
                iteration: 0,
                last: f64::NAN,
                best: f64::NAN,
                rung: -1,
            },
        );
        Ok(())
    }

    /// One iteration's report: the pipeline decides, the sampler hears the value, the trial's
    /// state, the hit and progress projections follow.
    fn apply_result(
        &mut self,
        trial: u64,
        iteration: u64,
        metrics: &Metrics,
    ) -> Result<Applied, StudyError> {
        let value = metrics.get(&self.metric).copied();
        let maximize = self.maximize;
        let (decision, error, rung) = match value {
            Some(v) if v.is_finite() => {
                let record = self
                    .pipeline
                    .on_result(trial, iteration, Some(v))
                    .map_err(|e| StudyError::Pipeline(e.to_string()))?;
                self.sampler.report(trial, iteration, v)?;
                (record.decision, None, Some(record.rung_index))
            }
            other => {
                let what = if other.is_none() { "missing" } else { "not finite" };
                let error = format!(
                    "metric `{}` is {what} at iteration {iteration} (metrics: {})",
                    self.metric,
                    metrics.keys().cloned().collect::<Vec<_>>().join(", ")
                );
                (Decision::Stop(StopReason::Error), Some(error), None)
            }
        };
        let v = value.unwrap_or(f64::NAN);
        let hit_threshold = self.hit_threshold;
        let Some(state) = self.trials.get_mut(&trial) else {
            return Err(StudyError::Pipeline(format!("report of unknown trial {trial}")));
        };
        state.iteration = iteration;
        state.last = v;
        if improves(maximize, v, state.best) {
            state.best = v;
        }
        let reached =
            v.is_finite() && if maximize { v >= hit_threshold } else { v <= hit_threshold };
        let newly_hit = reached && !state.hit;
        state.hit |= reached;
        if let Decision::Stop(reason) = decision {
            state.stop = Some((reason, error.clone()));
        }
        let (name, params) = (state.name.clone(), state.params.clone());
        if let Some(r) = self.view.running.get_mut(&trial) {
            r.iteration = iteration;
            r.last = v;
            if improves(maximize, v, r.best) {
                r.best = v;
            }
            if let Some(rung) = rung {
                r.rung = rung;
            }
        }
        if newly_hit {
            let row =
                HitRow { trial_name: name, iteration, value: v, params: self.params_row(&params) };
            self.hits_csv.append(&row.record())?;
        }
        self.progress_csv(trial, metrics)?;
        Ok(Applied { decision: Some(decision), error })
    }

    /// A trial ended: the pipeline's and sampler's hooks, the live view, the final row.
    fn apply_finished(
        &mut self,
        trial: u64,
        reason: StopReason,
        error: Option<String>,
    ) -> Result<(), StudyError> {
        let Some(state) = self.trials.get_mut(&trial) else {
            return Err(StudyError::Pipeline(format!("finish of unknown trial {trial}")));
        };
        if state.finished {
            return Ok(());
        }
        state.finished = true;
        state.stop = None;
        let (name, params, iteration, last, best) =
            (state.name.clone(), state.params.clone(), state.iteration, state.last, state.best);
        let it_opt = (iteration > 0).then_some(iteration);
        // A stop the pipeline decided already ran the scheduler's completion hook; other ends
        // (finished on its own, failed, a bad metric) are told to it here.
        if self.pipeline.status(trial) == Some(TrialStatus::Running) {
            let value = last.is_finite().then_some(last);
            let hook = match reason {
                StopReason::Error => self.pipeline.fail_trial(trial),
                StopReason::Interrupted => Ok(()),
                _ => self.pipeline.complete_trial(trial, iteration, value).map(|_| ()),
            };
            hook.map_err(|e| StudyError::Pipeline(e.to_string()))?;
        }
        match reason {
            StopReason::Error => self.sampler.fail(trial)?,
            StopReason::Interrupted => {}
            _ if last.is_finite() => self.sampler.complete(trial, last)?,
            _ => self.sampler.fail(trial)?,
        }
        self.view.running.remove(&trial);
        let iteration_i = it_opt.map_or(-1, |i| i as i64);
        self.view.finished.push(FinishedTrial {
            trial,
            name: name.clone(),
            params: params.clone(),
            iteration: iteration_i,
            value: last,
            best,
            reason,
            error,
        });
        let progress_ratio = match (self.max_iters, it_opt) {
            (Some(m), Some(i)) if m > 0 => Some(i as f64 / m as f64),
            (_, None) => Some(0.0),
            _ => None,
        };
        let rung = self.pipeline.rung_info(trial);
        let row = FinalRow {
            trial_name: name,
            iteration: iteration_i,
            progress_ratio,
            value: last,
            params: self.params_row(&params),
            stop_reason: reason,
            rung_index: rung.map_or(-1, |r| r.rung_index),
            rung_pruned_at: rung.and_then(|r| r.pruned_at),
        };
        self.final_csv.append(&row.record())?;
        Ok(())
    }
}

/// True when `dir` holds anything but a lock file left by an earlier process.
fn holds_files(dir: &Path) -> Result<bool, StudyError> {
    let mut entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
    Ok(entries.any(|e| e.map_or(true, |e| e.file_name() != files::LOCK)))
}

/// Take the study folder's lock, or name the process that holds it. The lock is the OS's
/// (`flock`), so a lock file left by a process that died is free again by itself.
fn lock_folder(dir: &Path) -> Result<std::fs::File, StudyError> {
    use std::io::{Read, Seek, Write};
    let path = dir.join(files::LOCK);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            let pid = if pid.is_empty() { "unknown".to_string() } else { pid.to_string() };
            return Err(StudyError::Locked { dir: dir.to_path_buf(), pid });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
    }
    file.set_len(0).map_err(io_err(&path))?;
    file.rewind().map_err(io_err(&path))?;
    writeln!(file, "{}", std::process::id()).map_err(io_err(&path))?;
    file.flush().map_err(io_err(&path))?;
    Ok(file)
}

/// Where a resumed trial picks up.
#[derive(Debug, Clone, Copy)]
struct ResumePoint {
    /// The iteration of its last checkpoint (0: from the start).
    after: u64,
}

/// Run (or resume) a study to its end, or until `options.interrupt` is set.
pub fn run_study(
    cfg: &StudyConfig,
    objective: Arc<dyn Objective>,
    options: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<StudySummary, StudyError> {
    let dir = std::path::absolute(&options.dir).map_err(io_err(&options.dir))?;
    let store = JournalStore::new(&dir.join(files::JOURNAL));
    run_study_with_store(cfg, objective, options, Box::new(store), observer)
}

/// [`run_study`] with the study's events kept in `store` rather than in the folder's
/// `journal.jsonl`; the CSV views, the trial folders and the lock stay in `options.dir`.
pub fn run_study_with_store<'a>(
    cfg: &StudyConfig,
    objective: Arc<dyn Objective>,
    options: &RunOptions,
    mut store: Box<dyn EventStore + 'a>,
    observer: &'a mut dyn Observer,
) -> Result<StudySummary, StudyError> {
    cfg.validate_study().map_err(|e| StudyError::Config(e.to_string()))?;
    // Absolute, so trial folders handed to commands (`{trial_dir}`) hold wherever they run.
    let dir = std::path::absolute(&options.dir).map_err(io_err(&options.dir))?;
    let started = journal::now();
    if options.resume {
        if !store.holds_study() {
            return Err(StudyError::NoStudy(dir, files::JOURNAL));
        }
    } else if dir.exists() && holds_files(&dir)? {
        return Err(StudyError::NotEmpty(dir));
    }
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    // Held until this function returns (the OS releases it if the process dies).
    let _lock = lock_folder(&dir)?;
    if !options.resume && holds_files(&dir)? {
        // Another study started here between the check above and the lock.
        return Err(StudyError::NotEmpty(dir));
    }
    std::fs::create_dir_all(dir.join(files::TRIALS)).map_err(io_err(&dir))?;
    if !options.resume {
        let path = dir.join(files::CONFIG);
        std::fs::write(&path, &options.config_text).map_err(io_err(&path))?;
    }

    let study = &cfg.study;
    let param_names: Vec<String> = cfg.space_param_names();
    let metric = study.metric.clone();
    let maximize = study.maximize();
    let available = options.cores.clone().unwrap_or_else(cores::available_cores);
    let plan: CorePlan =
        cores::plan(&available, cfg.resources.cpus_per_trial, study.max_concurrent);
    if let Some(msg) = &plan.shared {
        observer.note(msg);
    }

    // Earlier events, when resuming.
    let earlier = if options.resume {
        let loaded = store.load()?;
        if let Some(message) = &loaded.repaired {
            observer.note(message);
        }
        loaded.events
    } else {
        Vec::new()
    };

    let final_path = dir.join(files::FINAL);
    let hits_path = dir.join(files::HITS);
    let final_header = FinalRow::header(&metric, &param_names);
    let hits_header = HitRow::header(&metric, &param_names);
    let mut coord = Coordinator {
        dir: dir.clone(),
        metric: metric.clone(),
        maximize,
        param_names: param_names.clone(),
        max_iters: cfg.max_iters(),
        hit_threshold: study.hit_threshold,
        checkpoint_every: study.checkpoint_every,
        sampler: SamplerHandle::new(cfg)?,
        pipeline: Pipeline::from_config(cfg).map_err(|e| StudyError::Config(e.to_string()))?,
        store,
        final_csv: if options.resume {
            CsvAppender::create(&rebuild_path(&final_path), final_header.clone())?
        } else {
            CsvAppender::open(&final_path, final_header.clone())?
        },
        hits_csv: if options.resume {
            CsvAppender::create(&rebuild_path(&hits_path), hits_header.clone())?
        } else {
            CsvAppender::open(&hits_path, hits_header.clone())?
        },
        trials: BTreeMap::new(),
        rebuilding: false,
        view: StudyView {
            num_samples: study.num_samples,
            metric: metric.clone(),
            maximize,
            started_ts: started,
            max_iters: cfg.max_iters(),
            ..StudyView::default()
        },
        observer,
    };

    let to_resume = if options.resume {
        // The CSV views are projections of the journal: written anew from its events aside,
        // then renamed over the old files, so they agree with the journal whatever a crash or
        // a full disk left in them.
        coord.rebuilding = true;
        let to_resume = replay(&mut coord, &earlier)?;
        coord.rebuilding = false;
        // Every row is flushed as written: the files are whole and can be renamed now.
        for path in [&final_path, &hits_path] {
            let from = rebuild_path(path);
            std::fs::rename(&from, path).map_err(io_err(path))?;
        }
        for state in coord.trials.values_mut() {
            let path = dir.join(files::TRIALS).join(&state.name).join(files::PROGRESS);
            if state.progress.take().is_some() {
                std::fs::rename(rebuild_path(&path), &path).map_err(io_err(&path))?;
            } else if path.exists() {
                // Every row of it came after the checkpoint it resumes from.
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        // A trial folder the journal does not know (its start was lost with a cut journal)
        // holds rows of no trial: they go, so the trial of that name starts a file anew.
        let known: BTreeSet<&str> = coord.trials.values().map(|t| t.name.as_str()).collect();
        let trials_dir = dir.join(files::TRIALS);
        for entry in std::fs::read_dir(&trials_dir).map_err(io_err(&trials_dir))? {
            let entry = entry.map_err(io_err(&trials_dir))?;
            let path = entry.path().join(files::PROGRESS);
            if !known.contains(entry.file_name().to_string_lossy().as_ref()) && path.exists() {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        coord.final_csv = CsvAppender::open(&final_path, final_header.clone())?;
        coord.hits_csv = CsvAppender::open(&hits_path, hits_header.clone())?;
        to_resume
    } else {
        BTreeMap::new()
    };
    coord.record(JournalEvent::StudyStarted {
        ts: journal::now(),
        seed: study.seed,
        num_samples: study.num_samples,
        max_concurrent: study.max_concurrent,
        groups: plan.groups.clone(),
        resumed: options.resume,
    })?;

    let (up_tx, up_rx) = crossbeam_channel::unbounded::<Up>();
    let mut free_groups: BTreeSet<usize> = (0..plan.groups.len()).collect();
    let mut live_workers: BTreeMap<u64, std::thread::JoinHandle<()>> = BTreeMap::new();
    let mut pending_resume: Vec<(u64, ResumePoint)> = to_resume.into_iter().collect();
    pending_resume.reverse();
    let mut interrupted = false;

    loop {
        // Launch while there is room.
        while !interrupted && !free_groups.is_empty() {
            let (trial, params, resume_after) = if let Some((trial, point)) = pending_resume.pop() {
                let params = coord.trials.get(&trial).map(|s| s.params.clone()).unwrap_or_default();
                (trial, params, point.after)
            } else if coord.sampler.n_started() < study.num_samples {
                let (trial, params) = coord.sampler.ask()?;
                (trial, params, 0)
            } else {
                break;
            };
            let Some(group) = free_groups.pop_first() else { break };
            let name = trial_name(trial);
            let seed = trial_seed(study.seed, trial);
            coord.record(JournalEvent::TrialStarted {
                ts: journal::now(),
                trial,
                name: name.clone(),
                params: params.clone(),
                seed,
                group,
                resumed_after: resume_after,
            })?;
            let trial_dir = dir.join(files::TRIALS).join(&name);
            std::fs::create_dir_all(&trial_dir).map_err(io_err(&trial_dir))?;
            let ctx = TrialContext {
                trial,
                name,
                params,
                seed,
                cores: plan.groups[group].clone(),
                dir: trial_dir,
                resume_after,
            };
            let (down_tx, down_rx) = crossbeam_channel::bounded::<Down>(1);
            if let Some(s) = coord.trials.get_mut(&trial) {
                s.down = Some(down_tx);
            }
            let objective = Arc::clone(&objective);
            let up = up_tx.clone();
            let handle = std::thread::Builder::new()
                .name(ctx.name.clone())
                .spawn(move || run_trial(ctx, objective, up, down_rx))
                .map_err(io_err(&dir))?;
            live_workers.insert(trial, handle);
        }
        if live_workers.is_empty() {
            break;
        }
        if !interrupted && options.interrupt.load(Ordering::SeqCst) {
            interrupted = true;
            coord
                .observer
                .note("interrupted: stopping running trials (Ctrl-C again to quit at once)");
            let running: Vec<u64> = coord.view.running.keys().copied().collect();
            for trial in running {
                coord.end(trial, StopReason::Interrupted, None)?;
                if let Some(tx) = coord.trials.get_mut(&trial).and_then(|s| s.down.take()) {
                    let _ = tx.try_send(Down::Stop);
                }
            }
        }
        let msg = match up_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(m) => m,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        let stopping = options.interrupt.load(Ordering::SeqCst);
        handle_up(&mut coord, msg, &mut free_groups, &mut live_workers, stopping)?;
        if interrupted {
            // Workers blocked inside a long iteration are not waited for: their trials are
            // already written as `interrupted` and resume from their checkpoints.
            let deadline = std::time::Instant::now() + Duration::from_secs(3);
            while !live_workers.is_empty() && std::time::Instant::now() < deadline {
                if let Ok(m) = up_rx.recv_timeout(Duration::from_millis(50)) {
                    handle_up(&mut coord, m, &mut free_groups, &mut live_workers, true)?;
                }
            }
            break;
        }
    }
    coord.record(JournalEvent::StudyFinished { ts: journal::now(), interrupted })?;
    let mut trials = coord.view.finished.clone();
    trials.sort_by_key(|t| t.trial);
    Ok(StudySummary {
        dir,
        trials,
        wall_s: journal::now() - started,
        interrupted,
        metric,
        maximize,
    })
}

/// Carry out one message of a worker. `stopping`: the user asked the study to stop, so a
/// trial that fails now most likely failed of that (a Ctrl-C that reached its process) and
/// ends as `interrupted`, to run again on resume.
fn handle_up(
    coord: &mut Coordinator<'_>,
    msg: Up,
    free_groups: &mut BTreeSet<usize>,
    live_workers: &mut BTreeMap<u64, std::thread::JoinHandle<()>>,
    stopping: bool,
) -> Result<(), StudyError> {
    let finished = |c: &Coordinator<'_>, t: u64| c.trials.get(&t).is_none_or(|s| s.finished);
    match msg {
        Up::Started { .. } => {}
        Up::Report { trial, iteration, metrics } => {
            if finished(coord, trial) {
                // Interrupted meanwhile: tell the worker to stop.
                if let Some(tx) = coord.trials.get_mut(&trial).and_then(|s| s.down.take()) {
                    let _ = tx.try_send(Down::Stop);
                }
                return Ok(());
            }
            let applied = coord.record(JournalEvent::Result {
                ts: journal::now(),
                trial,
                iteration,
                metrics,
                decision: String::new(),
                reason: None,
            })?;
            let decision = applied.decision.unwrap_or(Decision::Continue);
            if let Decision::Stop(reason) = decision {
                coord.end(trial, reason, applied.error)?;
            }
            let every = coord.checkpoint_every;
            let down = match decision {
                Decision::Continue => {
                    Down::Continue { checkpoint: every > 0 && iteration % every == 0 }
                }
                Decision::Stop(_) => Down::Stop,
            };
            if let Some(tx) = coord.trials.get(&trial).and_then(|s| s.down.as_ref()) {
                let _ = tx.try_send(down);
            }
        }
        Up::Checkpoint { trial, iteration } => {
            coord.record(JournalEvent::Checkpoint { ts: journal::now(), trial, iteration })?;
        }
        Up::Finished { trial } => {
            if !finished(coord, trial) {
                let reported = coord.trials.get(&trial).is_some_and(|s| s.iteration > 0);
                if reported {
                    coord.end(trial, StopReason::Completed, None)?;
                } else {
                    let error = format!(
                        "the trial ended without reporting any iteration (no line with `{}` on its output)",
                        coord.metric
                    );
                    coord.observer.note(&format!("{} failed: {error}", trial_name(trial)));
                    coord.end(trial, StopReason::Error, Some(error))?;
                }
            }
        }
        Up::Failed { trial, error } => {
            if !finished(coord, trial) {
                if stopping {
                    coord.end(trial, StopReason::Interrupted, None)?;
                } else {
                    coord.observer.note(&format!("{} failed: {error}", trial_name(trial)));
                    coord.end(trial, StopReason::Error, Some(error))?;
                }
            }
        }
        Up::Note { trial, message } => {
            coord.observer.note(&format!("{}: {message}", trial_name(trial)));
        }
        Up::Exited { trial } => {
            if let Some(handle) = live_workers.remove(&trial) {
                let _ = handle.join();
            }
            if let Some(s) = coord.trials.get(&trial) {
                free_groups.insert(s.group);
            }
        }
    }
    Ok(())
}

/// Which of an earlier run's events still hold, and where the unfinished trials resume: the
/// one pure reading of the journal that replay needs beyond the events themselves.
struct ReplayPlan {
    /// Per event: applied on replay. Left out are a trial's results that a later restart of it
    /// went back before (it resumed from an earlier checkpoint), a resumed trial's results
    /// after its last checkpoint (it reports them again), and `interrupted` ends (a trial
    /// stopped by the user runs again).
    keep: Vec<bool>,
    /// The trials to run again, with the checkpoint each resumes from.
    resume: BTreeMap<u64, ResumePoint>,
}

fn replay_plan(events: &[JournalEvent]) -> ReplayPlan {
    let mut ended: BTreeSet<u64> = BTreeSet::new();
    let mut checkpoint: BTreeMap<u64, u64> = BTreeMap::new();
    let mut started: Vec<u64> = Vec::new();
    let mut keep = vec![true; events.len()];
    let mut results_of: BTreeMap<u64, Vec<(usize, u64)>> = BTreeMap::new();
    for (idx, ev) in events.iter().enumerate() {
        match ev {
            JournalEvent::TrialStarted { trial, resumed_after, .. } => {
                if !started.contains(trial) {
                    started.push(*trial);
                }
                let list = results_of.entry(*trial).or_default();
                list.retain(|(i, it)| {
                    let kept = *it <= *resumed_after;
                    keep[*i] &= kept;
                    kept
                });
            }
            JournalEvent::Result { trial, iteration, .. } => {
                results_of.entry(*trial).or_default().push((idx, *iteration));
            }
            JournalEvent::TrialFinished { trial, reason, .. } => {
                if *reason == StopReason::Interrupted {
                    keep[idx] = false;
                    ended.remove(trial);
                } else {
                    ended.insert(*trial);
                }
            }
            JournalEvent::Checkpoint { trial, iteration, .. } => {
                checkpoint.insert(*trial, *iteration);
            }
            _ => {}
        }
    }
    let resume: BTreeMap<u64, ResumePoint> = started
        .iter()
        .filter(|t| !ended.contains(t))
        .map(|t| (*t, ResumePoint { after: checkpoint.get(t).copied().unwrap_or(0) }))
        .collect();
    for (idx, ev) in events.iter().enumerate() {
        if let JournalEvent::Result { trial, iteration, .. } = ev
            && resume.get(trial).is_some_and(|p| *iteration > p.after)
        {
            keep[idx] = false;
        }
    }
    ReplayPlan { keep, resume }
}

/// Rebuild the coordinator's state from an earlier run's events, through the same `apply` as
/// live. Returns the trials to run again with the checkpoint they resume from.
fn replay(
    coord: &mut Coordinator<'_>,
    events: &[JournalEvent],
) -> Result<BTreeMap<u64, ResumePoint>, StudyError> {
    let ReplayPlan { keep, mut resume } = replay_plan(events);
    for (ev, _) in events.iter().zip(&keep).filter(|(_, k)| **k) {
        // A trial's events after its end, and its reports after the pipeline stopped it (a
        // report that crossed the stop), change nothing.
        let trial = match ev {
            JournalEvent::Result { trial, .. } | JournalEvent::TrialFinished { trial, .. } => {
                Some(*trial)
            }
            _ => None,
        };
        let over = |t: u64| {
            coord.trials.get(&t).is_some_and(|s| {
                s.finished || (s.stop.is_some() && matches!(ev, JournalEvent::Result { .. }))
            })
        };
        if trial.is_some_and(over) {
            continue;
        }
        let applied = coord.apply(ev)?;
        if let (JournalEvent::Result { trial, iteration, decision, .. }, Some(d)) =
            (ev, applied.decision)
            && !decision.is_empty()
            && decision != d.as_str()
        {
            coord.observer.note(&format!(
                "{} at iteration {iteration}: the journal says `{decision}`, replaying it gives `{}` (the decision settings changed since?)",
                trial_name(*trial),
                d.as_str()
            ));
        }
    }
    // A stop that was decided but whose end was not written (a crash between the two lines):
    // the trial ends now.
    let stopped: Vec<(u64, StopReason, Option<String>)> = coord
        .trials
        .iter()
        .filter(|(_, s)| !s.finished)
        .filter_map(|(t, s)| s.stop.clone().map(|(r, e)| (*t, r, e)))
        .collect();
    for (trial, reason, error) in stopped {
        coord.end(trial, reason, error)?;
    }
    resume.retain(|t, _| coord.trials.get(t).is_some_and(|s| !s.finished));
    for (trial, point) in &resume {
        let Some(state) = coord.trials.get_mut(trial) else { continue };
        if point.after == 0 {
            state.iteration = 0;
        }
    }
    Ok(resume)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::{ObjectiveError, TrialRun};

    /// A known curve per trial (better with a larger `lr`, flattening out), checkpointed at
    /// every iteration the coordinator asks; when a trial reaches iteration `interrupt_at` it
    /// sets the study's interrupt flag, as a Ctrl-C would.
    struct Curve {
        interrupt: Arc<AtomicBool>,
        interrupt_at: u64,
    }

    struct CurveRun {
        lr: f64,
        seed: u64,
        i: u64,
        interrupt: Arc<AtomicBool>,
        interrupt_at: u64,
    }

    impl Objective for Curve {
        fn start(&self, ctx: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError> {
            let lr = match ctx.params.get("lr") {
                Some(ParamValue::Float(v)) => *v,
                _ => return Err(ObjectiveError::Io(std::io::Error::other("no lr"))),
            };
            Ok(Box::new(CurveRun {
                lr,
                seed: ctx.seed,
                i: ctx.resume_after,
                interrupt: Arc::clone(&self.interrupt),
                interrupt_at: self.interrupt_at,
            }))
        }
    }

    impl TrialRun for CurveRun {
        fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError> {
            if self.i >= 135 {
                return Ok(None);
            }
            self.i += 1;
            if self.i == self.interrupt_at {
                self.interrupt.store(true, Ordering::SeqCst);
            }
            let i = self.i as f64;
            let wiggle = 0.01 * ((self.seed % 97) as f64 + i).sin();
            let score = (self.lr - 9e-5) / 4e-5 * 0.5 + 0.6 * (1.0 - (-i / 15.0).exp()) + wiggle;
            Ok(Some(Metrics::from([("score_pred".to_string(), score)])))
        }

        fn checkpoint(&mut self, iteration: u64) -> Result<Option<u64>, ObjectiveError> {
            Ok(Some(iteration))
        }
    }

    /// Events kept in memory, shared with the test.
    #[derive(Clone, Default)]
    struct MemoryStore(Arc<std::sync::Mutex<Vec<JournalEvent>>>);

    impl EventStore for MemoryStore {
        fn holds_study(&self) -> bool {
            self.0.lock().is_ok_and(|e| !e.is_empty())
        }
        fn load(&mut self) -> Result<crate::store::Loaded, StoreError> {
            let events = self.0.lock().map(|e| e.clone()).unwrap_or_default();
            Ok(crate::store::Loaded { events, repaired: None })
        }
        fn append(&mut self, event: &JournalEvent) -> Result<(), StoreError> {
            if let Ok(mut e) = self.0.lock() {
                e.push(event.clone());
            }
            Ok(())
        }
    }

    #[derive(Default)]
    struct Notes(Vec<String>);

    impl Observer for Notes {
        fn on_event(&mut self, _: &JournalEvent, _: &StudyView) {}
        fn note(&mut self, message: &str) {
            self.0.push(message.to_string());
        }
    }

    /// Every CSV projection of a study folder, by path.
    fn projections(dir: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in [files::FINAL, files::HITS] {
            out.insert(name.to_string(), std::fs::read_to_string(dir.join(name)).expect("csv"));
        }
        for entry in std::fs::read_dir(dir.join(files::TRIALS)).expect("trials") {
            let path = entry.expect("entry").path().join(files::PROGRESS);
            if let Ok(text) = std::fs::read_to_string(&path) {
                out.insert(path.display().to_string(), text);
            }
        }
        out
    }

    /// The command example's study (trials run by [`Curve`] instead), `num_samples` trials,
    /// checkpoints every 10 iterations, in a fresh temporary folder.
    struct Setup {
        cfg: StudyConfig,
        dir: PathBuf,
        interrupt: Arc<AtomicBool>,
    }

    impl Setup {
        fn new(num_samples: u64, tag: &str) -> Setup {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let mut cfg =
                StudyConfig::from_path(root.join("configs/command-example.toml")).expect("config");
            cfg.study.num_samples = num_samples;
            cfg.study.checkpoint_every = 10;
            let dir = std::env::temp_dir().join(format!("hpo-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Setup { cfg, dir, interrupt: Arc::new(AtomicBool::new(false)) }
        }
    }

    fn options(dir: &Path, interrupt: &Arc<AtomicBool>, resume: bool) -> RunOptions {
        RunOptions {
            dir: dir.to_path_buf(),
            resume,
            interrupt: Arc::clone(interrupt),
            cores: Some(vec![0, 1]),
            config_text: String::new(),
        }
    }

    fn curve(interrupt: &Arc<AtomicBool>, interrupt_at: u64) -> Arc<dyn Objective> {
        Arc::new(Curve { interrupt: Arc::clone(interrupt), interrupt_at })
    }

    #[test]
    fn replaying_the_journal_gives_the_files_and_decisions_the_live_run_wrote() {
        let Setup { mut cfg, dir, interrupt } = Setup::new(8, "replay");
        let options = |resume: bool| options(&dir, &interrupt, resume);
        let objective = |at: u64| curve(&interrupt, at);

        // A run stopped part way (running trials end as `interrupted`), then resumed to the end:
        // the journal holds interrupted ends, restarts from checkpoints and reports repeated
        // after them.
        let first = run_study(&cfg, objective(45), &options(false), &mut Silent).expect("run");
        assert!(first.interrupted);
        interrupt.store(false, Ordering::SeqCst);
        let mut notes = Notes::default();
        let done = run_study(&cfg, objective(0), &options(true), &mut notes).expect("resume");
        assert!(!done.interrupted);
        assert_eq!(done.trials.len(), 8);
        let reasons: BTreeSet<&str> = done.trials.iter().map(|t| t.reason.as_str()).collect();
        assert!(reasons.contains("asha_early_stop"), "{reasons:?}");
        let events = journal::read(&dir.join(files::JOURNAL)).expect("journal").events;
        let restarts: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                JournalEvent::TrialStarted { resumed_after, .. } if *resumed_after > 0 => {
                    Some(*resumed_after)
                }
                _ => None,
            })
            .collect();
        assert!(!restarts.is_empty(), "no trial resumed from a checkpoint");
        let live = projections(&dir);

        // Resuming the finished study replays every event through `apply` and writes the CSV
        // projections anew: the same bytes, the same decisions, and nothing left to run.
        let mut notes = Notes::default();
        let again = run_study(&cfg, objective(0), &options(true), &mut notes).expect("replay");
        assert_eq!(projections(&dir), live);
        assert!(notes.0.iter().all(|n| !n.contains("replaying it gives")), "{:?}", notes.0);
        assert_eq!(again.trials, done.trials);

        // A crash between a stop's `result` line and its `trial_finished` line: on resume the
        // replayed stop ends the trial, once, for the same reason, and the journal gets the end.
        let stopped = done
            .trials
            .iter()
            .find(|t| t.reason == StopReason::AshaEarlyStop)
            .expect("an ASHA stop");
        let path = dir.join(files::JOURNAL);
        let text = std::fs::read_to_string(&path).expect("journal");
        let lines: Vec<&str> = text.lines().collect();
        let cut = lines
            .iter()
            .position(|l| {
                l.contains("\"trial_finished\"")
                    && l.contains(&format!("\"trial\":{},", stopped.trial))
            })
            .expect("its end line");
        let kept: Vec<&str> =
            lines.iter().enumerate().filter(|(i, _)| *i != cut).map(|(_, l)| *l).collect();
        std::fs::write(&path, kept.join("\n") + "\n").expect("write journal");
        let healed = run_study(&cfg, objective(0), &options(true), &mut Silent).expect("heal");
        assert_eq!(healed.trials.len(), 8);
        let again_stopped =
            healed.trials.iter().find(|t| t.trial == stopped.trial).expect("the trial");
        assert_eq!(again_stopped, stopped);
        let final_csv = std::fs::read_to_string(dir.join(files::FINAL)).expect("final");
        assert_eq!(final_csv.lines().count(), 1 + 8, "{final_csv}");
        assert_eq!(final_csv.matches(&format!("{},", stopped.name)).count(), 1, "{final_csv}");
        let events = journal::read(&path).expect("journal").events;
        let ends = events
            .iter()
            .filter(|e| {
                matches!(e, JournalEvent::TrialFinished { trial, .. } if *trial == stopped.trial)
            })
            .count();
        assert_eq!(ends, 1);

        // Other decision settings than the journal's: the replay says where it decides otherwise.
        if let crate::config::SchedulerConfig::Asha(a) = &mut cfg.scheduler {
            a.grace_period = 5.0;
        }
        let mut notes = Notes::default();
        run_study(&cfg, objective(0), &options(true), &mut notes).expect("changed settings");
        assert!(notes.0.iter().any(|n| n.contains("replaying it gives")), "{:?}", notes.0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_study_keeps_its_events_in_the_store_it_is_given_and_resumes_from_it() {
        let Setup { cfg, dir, interrupt } = Setup::new(4, "memstore");
        let options = |resume: bool| options(&dir, &interrupt, resume);
        let objective = |at: u64| curve(&interrupt, at);
        let store = MemoryStore::default();
        let mut silent = Silent;
        let resume_empty = run_study_with_store(
            &cfg,
            objective(0),
            &options(true),
            Box::new(store.clone()),
            &mut silent,
        );
        assert!(matches!(resume_empty, Err(StudyError::NoStudy(..))));

        let mut silent = Silent;
        let first = run_study_with_store(
            &cfg,
            objective(45),
            &options(false),
            Box::new(store.clone()),
            &mut silent,
        )
        .expect("run");
        assert!(first.interrupted);
        assert!(!dir.join(files::JOURNAL).exists(), "the folder's journal is not the store");
        interrupt.store(false, Ordering::SeqCst);
        let mut silent = Silent;
        let done = run_study_with_store(
            &cfg,
            objective(0),
            &options(true),
            Box::new(store.clone()),
            &mut silent,
        )
        .expect("resume");
        assert_eq!(done.trials.len(), 4);
        let events = store.0.lock().map(|e| e.clone()).unwrap_or_default();
        let starts =
            events.iter().filter(|e| matches!(e, JournalEvent::StudyStarted { .. })).count();
        assert_eq!(starts, 2);
        assert!(matches!(
            events.last(),
            Some(JournalEvent::StudyFinished { interrupted: false, .. })
        ));
        let final_csv = std::fs::read_to_string(dir.join(files::FINAL)).expect("final");
        assert_eq!(final_csv.lines().count(), 1 + 4, "{final_csv}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
