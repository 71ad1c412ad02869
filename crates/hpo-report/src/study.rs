//! Reading a study folder into a [`Study`]: the config (as a generic TOML value), the journal
//! (the source of truth, read with its own lenient event types) and the CSV views. Whatever is
//! missing or damaged becomes a note, so a running or crashed study still gives a partial report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hpo_folder::JournalEvent as Event;
use hpo_folder::{files, journal};

use crate::ReportError;

/// The journal's file name.
pub const JOURNAL_FILE: &str = files::JOURNAL;
/// The config's file name.
pub const CONFIG_FILE: &str = files::CONFIG;
/// The final CSV's file name (one row per ended trial).
pub const FINAL_CSV_FILE: &str = files::FINAL;
/// The hits CSV's file name (first iteration each trial reached the hit threshold).
pub const HITS_CSV_FILE: &str = files::HITS;

/// Whether higher or lower metric values are better: the study's word, shared with the other
/// hpo-rs crates.
pub use hpo_core::Mode;

/// The ASHA settings of `[scheduler]` that the plots use.
#[derive(Debug, Clone, PartialEq)]
pub struct AshaConfig {
    /// `max_t`.
    pub max_t: f64,
    /// `grace_period`.
    pub grace_period: f64,
    /// `reduction_factor`.
    pub reduction_factor: f64,
    /// `brackets`.
    pub brackets: u64,
}

impl AshaConfig {
    /// The rung milestones of bracket 0 (every other bracket's are a subset), as hpo-asha
    /// computes them; none for settings hpo-asha refuses.
    pub fn milestones(&self) -> Vec<f64> {
        let asha = hpo_asha::AshaConfig {
            max_t: self.max_t,
            grace_period: self.grace_period,
            reduction_factor: self.reduction_factor,
            brackets: usize::try_from(self.brackets).unwrap_or(usize::MAX).max(1),
            ..hpo_asha::AshaConfig::default()
        };
        if asha.validate().is_err() {
            return Vec::new();
        }
        asha.milestones(0)
    }
}

/// The kind of a search-space parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamKind {
    /// `type = "float"`.
    Float,
    /// `type = "int"`.
    Int,
    /// `type = "categorical"`.
    Categorical,
    /// Missing or another type (shown as it comes).
    Unknown,
}

/// One parameter of `[space]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Its type.
    pub kind: ParamKind,
    /// `log = true`: plotted on a log axis.
    pub log: bool,
}

/// What the report takes from `config.toml`; every key is optional.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyConfig {
    /// `[study] metric` (default `score_pred`).
    pub metric: String,
    /// `[study] mode` (default max).
    pub mode: Mode,
    /// `[study] num_samples`.
    pub num_samples: Option<u64>,
    /// `[study] hit_threshold` (default 1.0).
    pub hit_threshold: f64,
    /// `[scheduler]` when `kind = "asha"`.
    pub asha: Option<AshaConfig>,
    /// `[stoppers.max_iters] max_iters`.
    pub max_iters: Option<u64>,
    /// `[space.<name>]`, by name.
    pub space: BTreeMap<String, ParamSpec>,
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            metric: "score_pred".to_string(),
            mode: Mode::Max,
            num_samples: None,
            hit_threshold: 1.0,
            asha: None,
            max_iters: None,
            space: BTreeMap::new(),
        }
    }
}

fn toml_f64(v: Option<&toml::Value>) -> Option<f64> {
    match v? {
        toml::Value::Float(x) => Some(*x),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

fn toml_u64(v: Option<&toml::Value>) -> Option<u64> {
    match v? {
        toml::Value::Integer(i) => u64::try_from(*i).ok(),
        toml::Value::Float(x) if *x >= 0.0 && x.fract() == 0.0 => Some(*x as u64),
        _ => None,
    }
}

impl StudyConfig {
    /// Read the keys the report uses from a parsed `config.toml`, keeping defaults for the
    /// missing ones and noting the ones of the wrong type.
    pub fn from_toml(value: &toml::Value, notes: &mut Vec<String>) -> StudyConfig {
        let mut cfg = StudyConfig::default();
        let study = value.get("study");
        if let Some(m) = study.and_then(|s| s.get("metric")) {
            match m.as_str() {
                Some(s) if !s.is_empty() => cfg.metric = s.to_string(),
                _ => notes.push(format!("{CONFIG_FILE}: [study] metric is not a name: {m}")),
            }
        }
        if let Some(m) = study.and_then(|s| s.get("mode")) {
            match m.as_str() {
                Some("max") => cfg.mode = Mode::Max,
                Some("min") => cfg.mode = Mode::Min,
                _ => notes.push(format!(
                    "{CONFIG_FILE}: [study] mode is {m}, expected \"max\" or \"min\": max used"
                )),
            }
        }
        cfg.num_samples = toml_u64(study.and_then(|s| s.get("num_samples")));
        if let Some(t) = toml_f64(study.and_then(|s| s.get("hit_threshold"))) {
            cfg.hit_threshold = t;
        }
        if let Some(s) = value.get("scheduler") {
            let kind = s.get("kind").and_then(|k| k.as_str()).unwrap_or("asha");
            if kind == "asha" {
                let max_t = toml_f64(s.get("max_t")).unwrap_or(100.0);
                cfg.asha = Some(AshaConfig {
                    max_t,
                    grace_period: toml_f64(s.get("grace_period")).unwrap_or(1.0),
                    reduction_factor: toml_f64(s.get("reduction_factor")).unwrap_or(4.0),
                    brackets: toml_u64(s.get("brackets")).unwrap_or(1),
                });
            }
        }
        cfg.max_iters = toml_u64(
            value.get("stoppers").and_then(|s| s.get("max_iters")).and_then(|s| s.get("max_iters")),
        );
        if let Some(space) = value.get("space").and_then(|s| s.as_table()) {
            for (name, spec) in space {
                let kind = match spec.get("type").and_then(|t| t.as_str()) {
                    Some("float") => ParamKind::Float,
                    Some("int") => ParamKind::Int,
                    Some("categorical") => ParamKind::Categorical,
                    _ => ParamKind::Unknown,
                };
                let log = spec.get("log").and_then(|l| l.as_bool()).unwrap_or(false);
                cfg.space.insert(name.clone(), ParamSpec { kind, log });
            }
        }
        cfg
    }

    /// Iterations a trial would run without early stopping: `[stoppers.max_iters]`, else the
    /// scheduler's `max_t`.
    pub fn full_iterations(&self) -> Option<u64> {
        self.max_iters.or_else(|| {
            self.asha.as_ref().filter(|a| a.max_t >= 1.0).map(|a| a.max_t.round() as u64)
        })
    }
}

/// How a trial stands.
#[derive(Debug, Clone, PartialEq)]
pub enum TrialStatus {
    /// Started and not ended (the study is still running, or was killed).
    Running,
    /// Ended, with the runner's reason (`plateau`, `asha_early_stop`, `error`, ...).
    Ended {
        /// The stop reason as written.
        reason: String,
        /// The error message, for `error`.
        error: Option<String>,
    },
}

impl TrialStatus {
    /// The reason, or `running`.
    pub fn label(&self) -> &str {
        match self {
            TrialStatus::Running => "running",
            TrialStatus::Ended { reason, .. } => reason,
        }
    }
}

/// One stretch of wall time a trial ran on a core group (a resumed trial has several).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Start, Unix seconds.
    pub start: f64,
    /// End, Unix seconds (for a trial still running: the last time seen in the journal).
    pub end: f64,
    /// Core group index.
    pub group: usize,
    /// True when the segment has no end event (still running, or cut by a crash or resume).
    pub open: bool,
}

/// One trial, as the journal (or the CSV files) tell it.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// Trial number.
    pub number: u64,
    /// Trial name (`trial_0003`).
    pub name: String,
    /// Parameters as JSON values (numbers, strings, booleans).
    pub params: BTreeMap<String, serde_json::Value>,
    /// The metric per iteration, in iteration order (NaN where it was not finite or missing).
    pub curve: Vec<(u64, f64)>,
    /// Wall-time segments (empty without a journal).
    pub segments: Vec<Segment>,
    /// How it stands.
    pub status: TrialStatus,
    /// Its last iteration (0 if none).
    pub iterations: u64,
}

impl Trial {
    /// The best finite metric value and its iteration, for `mode`.
    pub fn best(&self, mode: Mode) -> Option<(u64, f64)> {
        let mut best: Option<(u64, f64)> = None;
        for &(it, v) in &self.curve {
            if v.is_finite() && best.is_none_or(|(_, b)| mode.is_better(v, b)) {
                best = Some((it, v));
            }
        }
        best
    }

    /// The last metric value and its iteration (NaN when the last report had none).
    pub fn last(&self) -> Option<(u64, f64)> {
        self.curve.last().copied()
    }

    /// The first iteration whose value reached `threshold` (>= for max, <= for min).
    pub fn first_hit(&self, mode: Mode, threshold: f64) -> Option<(u64, f64)> {
        self.curve.iter().copied().find(|&(_, v)| match mode {
            Mode::Max => v >= threshold,
            Mode::Min => v <= threshold,
        })
    }
}

/// The state of the study as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudyState {
    /// `study_started` without a later `study_finished`.
    Running,
    /// `study_finished` with `interrupted = false`.
    Finished,
    /// `study_finished` with `interrupted = true`.
    Interrupted,
    /// No journal (only CSV files), or an empty one.
    Unknown,
}

impl StudyState {
    /// A word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            StudyState::Running => "running",
            StudyState::Finished => "finished",
            StudyState::Interrupted => "interrupted",
            StudyState::Unknown => "unknown",
        }
    }
}

/// One run of the study: from a `study_started` event to the last event before the next one
/// (a resumed study has several runs, with idle time between them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// The run's `study_started` time (or its first event's, when a damaged journal lost it),
    /// Unix seconds.
    pub start: f64,
    /// The time of the run's last event, Unix seconds.
    pub end: f64,
    /// `resumed = true` on its `study_started`.
    pub resumed: bool,
}

impl Run {
    /// Its length in seconds (0 when the clock went backwards).
    pub fn duration_s(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
}

/// The best trial among `trials` and its best (iteration, value): the trial whose best finite
/// value (see [`Trial::best`]) is the best for `mode`; on an exact tie, the lowest trial number.
/// The order of `trials` does not matter. This is the rule of the runner's own summary, and the
/// one place the report picks a best trial.
pub(crate) fn best_of<'a>(
    trials: impl IntoIterator<Item = &'a Trial>,
    mode: Mode,
) -> Option<(&'a Trial, (u64, f64))> {
    let mut best: Option<(&'a Trial, (u64, f64))> = None;
    for t in trials {
        let Some(b) = t.best(mode) else { continue };
        let wins = match best {
            None => true,
            Some((bt, (_, bv))) => mode.is_better(b.1, bv) || (b.1 == bv && t.number < bt.number),
        };
        if wins {
            best = Some((t, b));
        }
    }
    best
}

/// A CSV file as text: its header and rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsvTable {
    /// Column names.
    pub header: Vec<String>,
    /// Rows (each as long as it was in the file).
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// The value of `column` in `row`, if both exist.
    pub fn get<'a>(&'a self, row: &'a [String], column: &str) -> Option<&'a str> {
        let i = self.header.iter().position(|h| h == column)?;
        row.get(i).map(String::as_str)
    }
}

/// A study folder, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// The folder.
    pub dir: PathBuf,
    /// The config (defaults when `config.toml` is missing).
    pub config: StudyConfig,
    /// The trials, by number.
    pub trials: BTreeMap<u64, Trial>,
    /// The core groups of the last `study_started` (lanes of the timeline).
    pub groups: Vec<Vec<usize>>,
    /// `max_concurrent` of the last `study_started`.
    pub max_concurrent: Option<usize>,
    /// `num_samples` of the last `study_started`.
    pub num_samples: Option<u64>,
    /// Wall time of the first journal event.
    pub start_ts: Option<f64>,
    /// Wall time of the last journal event.
    pub end_ts: Option<f64>,
    /// The runs of the study, in journal order (one per `study_started`; empty without a
    /// journal). The study's wall time is the sum of their durations, without the gaps.
    pub runs: Vec<Run>,
    /// Running, finished or interrupted.
    pub state: StudyState,
    /// Number of `study_started` events with `resumed = true`.
    pub resumes: usize,
    /// `predator_final.csv`, if present.
    pub final_csv: Option<CsvTable>,
    /// `predator_100_hits.csv`, if present.
    pub hits_csv: Option<CsvTable>,
    /// What was missing, damaged or skipped, for the reader of the report.
    pub notes: Vec<String>,
}

impl Study {
    /// The best trial and its best (iteration, value): the trial whose best finite value
    /// ([`Trial::best`]) is the best for the mode; on an exact tie, the lowest trial number (the
    /// rule of the runner's own summary). Every best trial the report names comes from here.
    pub fn best(&self) -> Option<(&Trial, (u64, f64))> {
        best_of(self.trials.values(), self.config.mode)
    }

    /// The time the study ran, seconds: the sum over its runs of (last event - `study_started`),
    /// so the idle gaps between a stop and a resume do not count. None without journal times.
    pub fn wall_time_s(&self) -> Option<f64> {
        if self.runs.is_empty() {
            return None;
        }
        Some(self.runs.iter().map(Run::duration_s).sum())
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_path_buf(), source }
}

fn default_name(number: u64) -> String {
    files::trial_name(number)
}

/// Read a study folder. A folder with neither `journal.jsonl` nor `predator_final.csv` is
/// [`ReportError::NotAStudy`]; anything else readable gives a `Study`, with notes on what was
/// missing or skipped.
pub fn load_study(dir: &Path) -> Result<Study, ReportError> {
    if !dir.is_dir() {
        let reason = if dir.exists() { "it is not a folder" } else { "it does not exist" };
        return Err(ReportError::NotAStudy { path: dir.to_path_buf(), reason: reason.to_string() });
    }
    let journal_path = dir.join(JOURNAL_FILE);
    let final_path = dir.join(FINAL_CSV_FILE);
    if !journal_path.is_file() && !final_path.is_file() {
        return Err(ReportError::NotAStudy {
            path: dir.to_path_buf(),
            reason: format!("it has neither {JOURNAL_FILE} nor {FINAL_CSV_FILE}"),
        });
    }
    let mut notes = Vec::new();
    let config = read_config(dir, &mut notes)?;
    let mut study = Study {
        dir: dir.to_path_buf(),
        config,
        trials: BTreeMap::new(),
        groups: Vec::new(),
        max_concurrent: None,
        num_samples: None,
        start_ts: None,
        end_ts: None,
        runs: Vec::new(),
        state: StudyState::Unknown,
        resumes: 0,
        final_csv: None,
        hits_csv: None,
        notes: Vec::new(),
    };
    let has_journal = journal_path.is_file();
    if has_journal {
        let text = std::fs::read_to_string(&journal_path).map_err(io_err(&journal_path))?;
        apply_journal(&mut study, &text, &mut notes);
    } else {
        notes.push(format!(
            "{JOURNAL_FILE} is missing: trials come from {FINAL_CSV_FILE}, without wall times"
        ));
    }
    study.final_csv = read_csv_table(&final_path, &mut notes)?;
    study.hits_csv = read_csv_table(&dir.join(HITS_CSV_FILE), &mut notes)?;
    if !has_journal {
        trials_from_final_csv(&mut study, &mut notes);
    }
    fill_curves_from_progress(&mut study, &mut notes)?;
    if study.state != StudyState::Running {
        let open: Vec<&str> = study
            .trials
            .values()
            .filter(|t| t.status == TrialStatus::Running)
            .map(|t| t.name.as_str())
            .collect();
        if !open.is_empty() && has_journal {
            notes.push(format!(
                "the study is {} but {} never ended: {}",
                study.state.as_str(),
                if open.len() == 1 { "this trial" } else { "these trials" },
                open.join(", ")
            ));
        }
    }
    study.notes = notes;
    Ok(study)
}

fn read_config(dir: &Path, notes: &mut Vec<String>) -> Result<StudyConfig, ReportError> {
    let path = dir.join(CONFIG_FILE);
    if !path.is_file() {
        notes.push(format!("{CONFIG_FILE} is missing: metric score_pred, mode max, no scheduler"));
        return Ok(StudyConfig::default());
    }
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    match text.parse::<toml::Table>() {
        Ok(table) => Ok(StudyConfig::from_toml(&toml::Value::Table(table), notes)),
        Err(e) => {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            notes.push(format!("{CONFIG_FILE} is not valid TOML ({first}): defaults used"));
            Ok(StudyConfig::default())
        }
    }
}

fn apply_journal(study: &mut Study, text: &str, notes: &mut Vec<String>) {
    let read = journal::read_lenient(text);
    let metric = study.config.metric.clone();
    for event in read.events {
        if let Some(ts) = event.ts() {
            study.start_ts = Some(study.start_ts.map_or(ts, |s| s.min(ts)));
            study.end_ts = Some(study.end_ts.map_or(ts, |s| s.max(ts)));
            match (&event, study.runs.last_mut()) {
                (Event::StudyStarted { resumed, .. }, _) => {
                    study.runs.push(Run { start: ts, end: ts, resumed: *resumed });
                }
                (_, Some(run)) => run.end = run.end.max(ts),
                // Events before any `study_started` (a damaged journal): a run of their own.
                (_, None) => study.runs.push(Run { start: ts, end: ts, resumed: false }),
            }
        }
        match event {
            Event::StudyStarted { max_concurrent, num_samples, groups, resumed, .. } => {
                // 0: not recorded (a journal from before the field).
                if num_samples > 0 {
                    study.num_samples = Some(num_samples);
                }
                study.state = StudyState::Running;
                if resumed {
                    study.resumes += 1;
                }
                if !groups.is_empty() {
                    study.groups = groups;
                }
                if max_concurrent > 0 {
                    study.max_concurrent = Some(max_concurrent);
                }
                // A (re)start closes every segment left open by a crash, at its last event.
                for t in study.trials.values_mut() {
                    if let Some(seg) = t.segments.last_mut().filter(|s| s.open) {
                        seg.open = false;
                    }
                }
            }
            Event::TrialStarted { ts, trial, name, params, group, resumed_after, .. } => {
                let name = Some(name).filter(|n| !n.is_empty());
                let params: BTreeMap<String, serde_json::Value> = params
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), serde_json::to_value(v).ok()?)))
                    .collect();
                let t = study.trials.entry(trial).or_insert_with(|| Trial {
                    number: trial,
                    name: name.clone().unwrap_or_else(|| default_name(trial)),
                    params: BTreeMap::new(),
                    curve: Vec::new(),
                    segments: Vec::new(),
                    status: TrialStatus::Running,
                    iterations: 0,
                });
                if let Some(n) = name {
                    t.name = n;
                }
                if !params.is_empty() {
                    t.params = params;
                }
                // A resume re-runs the iterations after its checkpoint: drop the old ones.
                t.curve.retain(|&(it, _)| it <= resumed_after);
                t.iterations = t.curve.last().map_or(resumed_after, |&(it, _)| it);
                t.status = TrialStatus::Running;
                t.segments.push(Segment { start: ts, end: ts, group, open: true });
            }
            Event::Result { ts, trial, iteration, metrics, .. } => {
                let t = trial_entry(study, trial);
                let v = metrics.get(&metric).copied().unwrap_or(f64::NAN);
                t.curve.retain(|&(it, _)| it < iteration);
                t.curve.push((iteration, v));
                t.iterations = iteration;
                if let Some(seg) = t.segments.last_mut().filter(|s| s.open) {
                    seg.end = seg.end.max(ts);
                }
            }
            Event::Checkpoint { .. } | Event::Other => {}
            Event::TrialFinished { ts, trial, iteration, reason, error, .. } => {
                let t = trial_entry(study, trial);
                if let Ok(it) = u64::try_from(iteration) {
                    t.iterations = t.iterations.max(it);
                }
                t.status = TrialStatus::Ended { reason: reason.to_string(), error };
                if let Some(seg) = t.segments.last_mut().filter(|s| s.open) {
                    seg.end = seg.end.max(ts);
                    seg.open = false;
                }
            }
            Event::StudyFinished { interrupted, .. } => {
                study.state =
                    if interrupted { StudyState::Interrupted } else { StudyState::Finished };
            }
        }
    }
    // Segments still open run until the last moment the journal saw.
    if let Some(end) = study.end_ts {
        for t in study.trials.values_mut() {
            if t.status == TrialStatus::Running
                && let Some(seg) = t.segments.last_mut().filter(|s| s.open)
            {
                seg.end = seg.end.max(end);
            }
        }
    }
    notes.extend(read.notes);
}

/// The trial numbered `trial`, created (as running, without a start) if its start was lost.
fn trial_entry(study: &mut Study, trial: u64) -> &mut Trial {
    study.trials.entry(trial).or_insert_with(|| Trial {
        number: trial,
        name: default_name(trial),
        params: BTreeMap::new(),
        curve: Vec::new(),
        segments: Vec::new(),
        status: TrialStatus::Running,
        iterations: 0,
    })
}

fn read_csv_table(path: &Path, notes: &mut Vec<String>) -> Result<Option<CsvTable>, ReportError> {
    if !path.is_file() {
        return Ok(None);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut reader = match csv::ReaderBuilder::new().flexible(true).from_path(path) {
        Ok(r) => r,
        Err(e) => {
            notes.push(format!("{name}: cannot be read ({e}): skipped"));
            return Ok(None);
        }
    };
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(String::from).collect(),
        Err(e) => {
            notes.push(format!("{name}: no header ({e}): skipped"));
            return Ok(None);
        }
    };
    let mut rows = Vec::new();
    for rec in reader.records() {
        match rec {
            Ok(r) => rows.push(r.iter().map(String::from).collect()),
            Err(e) => {
                notes.push(format!("{name}: stopped reading at a bad row ({e})"));
                break;
            }
        }
    }
    Ok(Some(CsvTable { header, rows }))
}

/// A CSV cell as a JSON value: a number when it parses as one, else the text.
fn cell_value(text: &str) -> serde_json::Value {
    if let Ok(i) = text.parse::<i64>() {
        return serde_json::Value::from(i);
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => serde_json::Value::from(x),
        _ => match text {
            "true" => serde_json::Value::Bool(true),
            "false" => serde_json::Value::Bool(false),
            _ => serde_json::Value::String(text.to_string()),
        },
    }
}

fn trials_from_final_csv(study: &mut Study, notes: &mut Vec<String>) {
    let Some(table) = study.final_csv.clone() else { return };
    let fixed = ["trial_name", "iteration", "progress_ratio", "stop_reason", "rung_index"];
    let fixed_tail = ["rung_pruned_at", "asha_pruned"];
    let metric = study.config.metric.clone();
    for (i, row) in table.rows.iter().enumerate() {
        let Some(name) = table.get(row, "trial_name").filter(|n| !n.is_empty()) else {
            notes.push(format!("{FINAL_CSV_FILE}: row {} has no trial_name: skipped", i + 2));
            continue;
        };
        let number = name
            .rsplit('_')
            .next()
            .and_then(|d| d.parse::<u64>().ok())
            .filter(|n| !study.trials.contains_key(n))
            .unwrap_or(i as u64);
        let iterations = table.get(row, "iteration").and_then(|s| s.parse::<u64>().ok());
        let value = table.get(row, &metric).and_then(|s| s.parse::<f64>().ok());
        let params = table
            .header
            .iter()
            .zip(row)
            .filter(|(h, _)| {
                !fixed.contains(&h.as_str()) && !fixed_tail.contains(&h.as_str()) && **h != metric
            })
            .map(|(h, v)| (h.clone(), cell_value(v)))
            .collect();
        let reason = table.get(row, "stop_reason").unwrap_or("unknown").to_string();
        let curve = match (iterations, value) {
            (Some(it), Some(v)) => vec![(it, v)],
            _ => Vec::new(),
        };
        study.trials.insert(
            number,
            Trial {
                number,
                name: name.to_string(),
                params,
                curve,
                segments: Vec::new(),
                status: TrialStatus::Ended { reason, error: None },
                iterations: iterations.unwrap_or(0),
            },
        );
    }
}

/// Trials without a result event (no journal, or a journal cut short) take their curve from
/// `trials/<name>/progress.csv` when it has the metric.
fn fill_curves_from_progress(
    study: &mut Study,
    notes: &mut Vec<String>,
) -> Result<(), ReportError> {
    let metric = study.config.metric.clone();
    for t in study.trials.values_mut() {
        if t.curve.len() > 1 {
            continue;
        }
        let path = files::progress_csv(&study.dir, &t.name);
        let Some(table) = read_csv_table(&path, notes)? else { continue };
        if !table.header.contains(&metric) {
            continue;
        }
        let mut curve: Vec<(u64, f64)> = table
            .rows
            .iter()
            .filter_map(|r| {
                let it = table.get(r, "iteration")?.parse::<u64>().ok()?;
                let v = table.get(r, &metric).and_then(|s| s.parse::<f64>().ok());
                Some((it, v.unwrap_or(f64::NAN)))
            })
            .collect();
        curve.sort_by_key(|&(it, _)| it);
        curve.dedup_by_key(|&mut (it, _)| it);
        if curve.len() > t.curve.len() {
            t.iterations = t.iterations.max(curve.last().map_or(0, |&(it, _)| it));
            t.curve = curve;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(number: u64, values: &[f64]) -> Trial {
        Trial {
            number,
            name: default_name(number),
            params: BTreeMap::new(),
            curve: values.iter().enumerate().map(|(i, &v)| (i as u64 + 1, v)).collect(),
            segments: Vec::new(),
            status: TrialStatus::Running,
            iterations: values.len() as u64,
        }
    }

    /// The rule does not lean on the order of the trials: a tie goes to the lowest number.
    #[test]
    fn best_of_breaks_ties_by_the_lowest_trial_number_in_any_order() {
        let check = |trials: &[Trial], mode: Mode, expect: Option<(u64, (u64, f64))>| {
            let got = best_of(trials, mode).map(|(t, b)| (t.number, b));
            assert_eq!(got, expect, "{mode:?}");
            let rev: Vec<Trial> = trials.iter().rev().cloned().collect();
            assert_eq!(best_of(&rev, mode).map(|(t, b)| (t.number, b)), expect, "{mode:?}");
        };
        let (t0, t1, t2) = (trial(0, &[0.1, 0.5]), trial(1, &[0.5, 0.2]), trial(2, &[0.3, 0.1]));
        check(&[t1.clone(), t0.clone(), t2.clone()], Mode::Max, Some((0, (2, 0.5))));
        check(&[t2.clone(), t1.clone(), t0.clone()], Mode::Min, Some((0, (1, 0.1))));
        check(&[t2, t1.clone()], Mode::Min, Some((2, (2, 0.1))));
        check(&[trial(3, &[f64::NAN]), t1], Mode::Max, Some((1, (1, 0.5))));
        check(&[trial(4, &[f64::NAN])], Mode::Max, None);
    }
}
