//! `hpo replay`: feed recorded trial events through the study's decision pipeline (stoppers, then
//! the scheduler) and print the decisions.
//!
//! EVENTS.csv has the header `event,trial,iteration,value,bracket` (`bracket` may be left out):
//! - `add`: a new trial; `bracket` optional (else drawn from the RNG seeded by `[study] seed`);
//!   `iteration` and `value` empty;
//! - `result`: one result; `value` is a number, `nan`, or empty (the metric is missing);
//! - `complete`: the trial ended on its own with this last result (the completion hook);
//! - `fail`: the trial failed (removed from the scheduler, nothing recorded).
//!
//! `trial` is any non-empty name: a number (`3`) or a name such as Ray Tune's `a1b2c3_00001`;
//! two different texts are two trials. The pipeline numbers trials: if every trial of the file is
//! a plain decimal integer (`0`, `17`; no sign, no leading zero), it is that integer, so a file of
//! trial numbers replays as it always did; otherwise the trials are numbered 0, 1, 2, ... in order
//! of first appearance in the file. The output shows the names as written.
//!
//! A trial's iterations must increase: a `result` must come after its trial's previous `result`
//! (a repeated iteration is an error too), and a `complete` may repeat the last iteration but not
//! go back.
//!
//! Lines starting with `#` are comments. A result for a trial never added, any event of a trial
//! after it stopped, completed or failed, an iteration that does not increase, and every malformed
//! line are errors naming the file and line (exit code 2). Output (`--format csv`, the default):
//! `trial,iteration,decision,reason`, one row per `result`. `--format yaml`: the whole decision log
//! with the rung state, for people.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use hpo_asha::AshaError;
use hpo_runner::config::{SchedulerConfig, StudyConfig};
use hpo_runner::pipeline::{Pipeline, PipelineError, Record, TrialEvent, TrialId, TrialStatus};
use serde_json::Value;

use crate::InputError;

/// Arguments of `hpo replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The study configuration (TOML): `[study]` mode and seed, `[scheduler]`, `[stoppers.*]`.
    #[arg(long, value_name = "STUDY.toml")]
    pub config: PathBuf,
    /// The recorded events: CSV with the header `event,trial,iteration,value,bracket`.
    ///
    /// `trial` is any non-empty name, e.g. `3` or Ray Tune's `a1b2c3_00001`, and the output shows
    /// it as written. If every trial is a plain integer (no sign, no leading zero), the scheduler
    /// numbers the trial by it; otherwise trials are numbered 0, 1, 2, ... in order of first
    /// appearance in the file. A trial's iterations must increase (a `complete` may repeat its
    /// last one).
    #[arg(long, value_name = "EVENTS.csv")]
    pub events: PathBuf,
    /// `csv`: one row per result; `yaml`: the full decision log with rung state.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `trial,iteration,decision,reason`.
    Csv,
    /// The decision log, for people.
    Yaml,
}

fn input(message: String) -> anyhow::Error {
    anyhow::Error::new(InputError(message))
}

/// Run the command.
pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let config = StudyConfig::from_path(&args.config).map_err(|e| input(e.to_string()))?;
    let file = std::fs::File::open(&args.events)
        .map_err(|e| input(format!("cannot read events file {}: {e}", args.events.display())))?;
    let paths = Paths { config: &args.config, events: &args.events };
    let text = replay(&config, &paths, file, args.format)?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

/// Where the config and the events came from, for error messages.
struct Paths<'a> {
    config: &'a Path,
    events: &'a Path,
}

/// Replay the events file read from `events` under `config`: the text `hpo replay` prints, or an
/// [`InputError`] naming the file and line.
fn replay(
    config: &StudyConfig,
    paths: &Paths<'_>,
    events: impl Read,
    format: Format,
) -> anyhow::Result<String> {
    let mut pipeline = Pipeline::from_config(config)
        .map_err(|e| input(format!("{}: {e}", paths.config.display())))?;
    let rows = read_events(events, paths.events)?;
    let names: Vec<&str> = rows.iter().map(|r| r.trial.as_str()).collect();
    let numbers = trial_numbers(&names);
    let mut trials = Trials {
        by_integer: names.iter().all(|n| plain_integer(n).is_some()),
        ..Trials::default()
    };
    for (name, &number) in names.iter().zip(&numbers) {
        trials.names.entry(number).or_insert_with(|| (*name).to_string());
    }
    let mut log = Vec::with_capacity(rows.len());
    for (row, &trial) in rows.iter().zip(&numbers) {
        let at =
            |msg: String| input(format!("{} line {}: {msg}", paths.events.display(), row.line));
        if pipeline.status(trial) == Some(TrialStatus::Running) {
            trials.check_order(trial, row).map_err(at)?;
        }
        let record =
            pipeline.apply(row.event.of(trial)).map_err(|e| at(pipeline_error(&e, &trials)))?;
        log.push((row.line, record));
    }
    Ok(match format {
        Format::Csv => csv_output(&log, &trials),
        Format::Yaml => yaml_output(config, &pipeline, &log, &trials)?,
    })
}

/// The pipeline's number for each trial name, in order (the rule is in the module doc).
fn trial_numbers(names: &[&str]) -> Vec<TrialId> {
    if let Some(numbers) = names.iter().map(|n| plain_integer(n)).collect::<Option<Vec<_>>>() {
        return numbers;
    }
    let mut seen: HashMap<&str, TrialId> = HashMap::new();
    names
        .iter()
        .map(|&name| {
            let next = seen.len() as TrialId;
            *seen.entry(name).or_insert(next)
        })
        .collect()
}

/// `name` as a trial number, if it is a plain decimal integer (no sign, no leading zero).
fn plain_integer(name: &str) -> Option<TrialId> {
    let plain = name.bytes().all(|b| b.is_ascii_digit()) && (name == "0" || !name.starts_with('0'));
    if plain { name.parse().ok() } else { None }
}

/// The trials of a replay: their names, and the last iteration each reported.
#[derive(Default)]
struct Trials {
    /// Every trial is a plain integer, its number.
    by_integer: bool,
    names: BTreeMap<TrialId, String>,
    /// `(iteration, line)` of each trial's last `result` or `complete`.
    last: BTreeMap<TrialId, (u64, u64)>,
}

impl Trials {
    /// The trial's name as written in the file.
    fn name(&self, trial: TrialId) -> String {
        self.names.get(&trial).cloned().unwrap_or_else(|| trial.to_string())
    }

    /// The trial for a message: its number, or its name in backticks.
    fn shown(&self, trial: TrialId) -> String {
        if self.by_integer { trial.to_string() } else { format!("`{}`", self.name(trial)) }
    }

    /// The trial as a YAML value: its number, or its name as a string.
    fn value(&self, trial: TrialId) -> Value {
        if self.by_integer { Value::from(trial) } else { Value::String(self.name(trial)) }
    }

    /// Refuse an iteration that does not increase; remember it otherwise.
    fn check_order(&mut self, trial: TrialId, row: &Row) -> Result<(), String> {
        let (iteration, repeat_ok) = match row.event {
            Event::Result { iteration, .. } => (iteration, false),
            Event::Complete { iteration, .. } => (iteration, true),
            Event::Add { .. } | Event::Fail => return Ok(()),
        };
        if let Some(&(last, last_line)) = self.last.get(&trial)
            && (iteration < last || (iteration == last && !repeat_ok))
        {
            return Err(format!(
                "trial {} reported iteration {iteration} after iteration {last} (line {last_line}): a trial's iterations must increase",
                self.shown(trial)
            ));
        }
        self.last.insert(trial, (iteration, row.line));
        Ok(())
    }
}

/// A pipeline error, with the trials under their names.
fn pipeline_error(err: &PipelineError, trials: &Trials) -> String {
    let t = |id: TrialId| trials.shown(id);
    match err {
        PipelineError::UnknownTrial(id) => {
            format!("trial {} was never added: add it before its results", t(*id))
        }
        PipelineError::DuplicateTrial(id) => {
            format!("trial {} was already added: add each trial once", t(*id))
        }
        PipelineError::NotRunning { trial, status } => {
            format!("trial {} is already {status}: it takes no more events", t(*trial))
        }
        PipelineError::BracketWithoutScheduler { trial, bracket } => format!(
            "trial {} was given bracket {bracket}, but no scheduler is configured (FIFO has no brackets)",
            t(*trial)
        ),
        PipelineError::Scheduler(AshaError::BracketOutOfRange { trial, bracket, brackets }) => {
            format!(
                "scheduler: bracket {bracket} for trial {} does not exist: use 0..{brackets}",
                t(*trial)
            )
        }
        PipelineError::Scheduler(AshaError::UnknownTrial(id)) => {
            format!("scheduler: trial {} is unknown to the scheduler", t(*id))
        }
        PipelineError::Scheduler(AshaError::DuplicateTrial(id)) => {
            format!("scheduler: trial {} was already added to the scheduler", t(*id))
        }
        PipelineError::Scheduler(AshaError::TrialEnded(id)) => {
            format!("scheduler: trial {} has already ended: it takes no more results", t(*id))
        }
        PipelineError::Scheduler(AshaError::InvalidTime { trial, time }) => format!(
            "scheduler: trial {} reported time {time}: the time attribute must be finite",
            t(*trial)
        ),
        other => other.to_string(),
    }
}

/// Column positions of an events file.
struct Columns {
    event: usize,
    trial: usize,
    iteration: usize,
    value: usize,
    bracket: Option<usize>,
}

impl Columns {
    fn from_header(header: &csv::StringRecord, path: &Path) -> anyhow::Result<Columns> {
        let find = |name: &str| header.iter().position(|h| h == name);
        if let Some(unknown) =
            header.iter().find(|h| !["event", "trial", "iteration", "value", "bracket"].contains(h))
        {
            return Err(input(format!(
                "{} line 1: unknown column `{unknown}`: the header is `event,trial,iteration,value,bracket` (bracket optional)",
                path.display()
            )));
        }
        let need = |name: &str| {
            find(name).ok_or_else(|| {
                input(format!(
                    "{} line 1: missing column `{name}`: the header is `event,trial,iteration,value,bracket` (bracket optional)",
                    path.display()
                ))
            })
        };
        Ok(Columns {
            event: need("event")?,
            trial: need("trial")?,
            iteration: need("iteration")?,
            value: need("value")?,
            bracket: find("bracket"),
        })
    }
}

/// One line of an events file: the trial's name and its event.
struct Row {
    line: u64,
    trial: String,
    event: Event,
}

/// A [`TrialEvent`] before the trial has its number.
#[derive(Debug, Clone, Copy)]
enum Event {
    Add { bracket: Option<usize> },
    Result { iteration: u64, value: Option<f64> },
    Complete { iteration: u64, value: Option<f64> },
    Fail,
}

impl Event {
    fn of(self, trial: TrialId) -> TrialEvent {
        match self {
            Event::Add { bracket } => TrialEvent::Add { trial, bracket },
            Event::Result { iteration, value } => TrialEvent::Result { trial, iteration, value },
            Event::Complete { iteration, value } => {
                TrialEvent::Complete { trial, iteration, value }
            }
            Event::Fail => TrialEvent::Fail { trial },
        }
    }
}

/// Read and check every line of an events file.
fn read_events(events: impl Read, path: &Path) -> anyhow::Result<Vec<Row>> {
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).comment(Some(b'#')).from_reader(events);
    let header = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
    let cols = Columns::from_header(&header, path)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let line = record.position().map_or(0, csv::Position::line);
        let (trial, event) = parse_event(&record, &cols)
            .map_err(|msg| input(format!("{} line {line}: {msg}", path.display())))?;
        rows.push(Row { line, trial, event });
    }
    Ok(rows)
}

/// A CSV-level error (bad UTF-8, a wrong number of fields) with the file and line.
fn csv_error(path: &Path, err: &csv::Error) -> anyhow::Error {
    let line = err.position().map_or(String::new(), |p| format!(" line {}", p.line()));
    let what = match err.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
            "found {len} fields where the header has {expected_len} (event,trial,iteration,value[,bracket]; leave unused fields empty)"
        ),
        _ => err.to_string(),
    };
    input(format!("{}{line}: {what}", path.display()))
}

fn parse_event(record: &csv::StringRecord, cols: &Columns) -> Result<(String, Event), String> {
    let field = |i: usize| record.get(i).unwrap_or("");
    let (kind, trial) = (field(cols.event), field(cols.trial));
    let iteration_text = field(cols.iteration);
    let value_text = field(cols.value);
    let bracket_text = cols.bracket.map_or("", field);
    if trial.is_empty() {
        return Err("trial name is empty: every event names its trial (a number or a name)".into());
    }
    let iteration = || -> Result<u64, String> {
        iteration_text.parse().map_err(|_| {
            format!(
                "iteration `{iteration_text}` is not a non-negative integer (required for `{kind}`)"
            )
        })
    };
    let value = || -> Result<Option<f64>, String> {
        if value_text.is_empty() {
            return Ok(None);
        }
        value_text.parse::<f64>().map(Some).map_err(|_| {
            format!("value `{value_text}` is not a number, `nan`, or empty (missing metric)")
        })
    };
    let no_bracket = || {
        if bracket_text.is_empty() {
            Ok(())
        } else {
            Err(format!("`{kind}` takes no bracket (only `add` does)"))
        }
    };
    let event = match kind {
        "add" => {
            if !iteration_text.is_empty() || !value_text.is_empty() {
                return Err("`add` takes no iteration or value".to_string());
            }
            let bracket = if bracket_text.is_empty() {
                None
            } else {
                Some(bracket_text.parse::<usize>().map_err(|_| {
                    format!("bracket `{bracket_text}` is not a bracket index (0, 1, ...)")
                })?)
            };
            Event::Add { bracket }
        }
        "result" => {
            no_bracket()?;
            Event::Result { iteration: iteration()?, value: value()? }
        }
        "complete" => {
            no_bracket()?;
            Event::Complete { iteration: iteration()?, value: value()? }
        }
        "fail" => {
            no_bracket()?;
            if !iteration_text.is_empty() || !value_text.is_empty() {
                return Err("`fail` takes no iteration or value".to_string());
            }
            Event::Fail
        }
        other => return Err(format!("unknown event `{other}`: use add, result, complete or fail")),
    };
    Ok((trial.to_string(), event))
}

/// A CSV field: quoted when it holds a delimiter, a quote, a line break, or opens like a comment.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with('#') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv_output(log: &[(u64, Record)], trials: &Trials) -> String {
    let mut out = String::from("trial,iteration,decision,reason\n");
    for (_, record) in log {
        if let Record::Result(r) = record {
            let reason = r.decision.reason().map_or("", |r| r.as_str());
            out.push_str(&format!(
                "{},{},{},{reason}\n",
                csv_field(&trials.name(r.trial)),
                r.iteration,
                r.decision.as_str()
            ));
        }
    }
    out
}

fn yaml_output(
    config: &StudyConfig,
    pipeline: &Pipeline,
    log: &[(u64, Record)],
    trials: &Trials,
) -> anyhow::Result<String> {
    let mut study = serde_json::Map::new();
    study.insert("mode".into(), Value::from(config.study.mode.as_str()));
    study.insert("seed".into(), Value::from(config.study.seed));
    study.insert("metric".into(), Value::from(config.study.metric.clone()));
    let scheduler = match &config.scheduler {
        SchedulerConfig::Fifo => serde_json::json!({ "kind": "fifo" }),
        SchedulerConfig::Asha(_) => serde_json::to_value(&config.scheduler)?,
    };
    study.insert("scheduler".into(), scheduler);
    if let Some(asha) = pipeline.scheduler() {
        study.insert("milestones".into(), serde_json::to_value(asha.milestones())?);
    }
    study.insert("stoppers".into(), serde_json::to_value(&config.stoppers)?);
    let mut events = Vec::with_capacity(log.len());
    let mut added: BTreeMap<TrialId, ()> = BTreeMap::new();
    for (line, record) in log {
        let mut value = serde_json::to_value(record)?;
        if let Value::Object(map) = &mut value {
            map.insert("line".into(), Value::from(*line));
            if let Some(trial) = map.get("trial").and_then(Value::as_u64) {
                map.insert("trial".into(), trials.value(trial));
            }
        }
        if let Record::Add(a) = record {
            added.insert(a.trial, ());
        }
        events.push(value);
    }
    let summary: Vec<Value> = added
        .keys()
        .map(|&t| {
            let status = pipeline.status(t).map(|s| s.to_string()).unwrap_or_default();
            serde_json::json!({
                "trial": trials.value(t),
                "status": status,
                "rung_index": pipeline.rung_index(t),
                "pruned_at": pipeline.pruned_at(t),
            })
        })
        .collect();
    let mut doc = serde_json::Map::new();
    doc.insert("study".into(), Value::Object(study));
    doc.insert("events".into(), Value::Array(events));
    doc.insert("trials".into(), Value::Array(summary));
    let mut out = String::new();
    yaml::map(&doc, 0, &mut out);
    Ok(out)
}

/// A small block-YAML writer for the decision log, keys in a reading order.
mod yaml {
    use serde_json::{Map, Value};

    /// Keys in the order people read them; others follow in map order.
    const ORDER: &[&str] = &[
        "study",
        "events",
        "trials",
        "line",
        "event",
        "trial",
        "iteration",
        "value",
        "decision",
        "reason",
        "issue",
        "status",
        "mode",
        "seed",
        "metric",
        "scheduler",
        "kind",
        "bracket",
        "milestones",
        "stoppers",
        "rung",
        "completion_rung",
        "rung_index",
        "milestone",
        "cutoff",
        "others",
        "stop",
        "pruned_at",
    ];

    fn ordered(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
        let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort_by_key(|(k, _)| rank(k));
        entries
    }

    fn scalar(value: &Value) -> Option<String> {
        Some(match value {
            Value::Null => "~".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            // Non-finite floats are serialised as these strings.
            Value::String(s) => match s.as_str() {
                "nan" => ".nan".to_string(),
                "inf" => ".inf".to_string(),
                "-inf" => "-.inf".to_string(),
                s => text(s),
            },
            Value::Array(items) if items.iter().all(|i| scalar(i).is_some()) => {
                let inner: Vec<String> = items.iter().filter_map(scalar).collect();
                format!("[{}]", inner.join(", "))
            }
            Value::Object(m) if m.is_empty() => "{}".to_string(),
            _ => return None,
        })
    }

    /// A string: plain if YAML reads it back as that string, else double-quoted (JSON escapes).
    pub(super) fn text(s: &str) -> String {
        const RESERVED: &[&str] =
            &["true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf"];
        if !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-. ()".contains(c))
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
        {
            s.to_string()
        } else {
            // JSON escapes C0 controls; YAML also wants DEL, C1 and U+FFFE/U+FFFF escaped.
            let json = Value::String(s.to_string()).to_string();
            json.chars()
                .map(|c| match c {
                    '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => {
                        format!("\\u{:04x}", u32::from(c))
                    }
                    c => c.to_string(),
                })
                .collect()
        }
    }

    /// Write `map` at `indent`.
    pub(super) fn map(map_: &Map<String, Value>, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        for (key, value) in ordered(map_) {
            // A trial's name is text even when it reads `nan`.
            let scalar = match (key.as_str(), value) {
                ("trial", Value::String(name)) => Some(text(name)),
                _ => scalar(value),
            };
            match scalar {
                Some(s) => out.push_str(&format!("{pad}{key}: {s}\n")),
                None => {
                    out.push_str(&format!("{pad}{key}:\n"));
                    block(value, indent + 2, out);
                }
            }
        }
    }

    fn block(value: &Value, indent: usize, out: &mut String) {
        match value {
            Value::Object(m) => map(m, indent, out),
            Value::Array(items) => {
                let pad = " ".repeat(indent);
                for item in items {
                    match (scalar(item), item) {
                        (Some(s), _) => out.push_str(&format!("{pad}- {s}\n")),
                        (None, Value::Object(m)) => {
                            let mut inner = String::new();
                            map(m, indent + 2, &mut inner);
                            // The first key goes on the dash line.
                            out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                        }
                        (None, other) => {
                            out.push_str(&format!("{pad}-\n"));
                            block(other, indent + 2, out);
                        }
                    }
                }
            }
            other => {
                if let Some(s) = scalar(other) {
                    out.push_str(&format!("{}{s}\n", " ".repeat(indent)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::Config as ProptestConfig;

    use super::*;

    /// ASHA with two drawn brackets and the drop stopper.
    const ASHA: &str = "[study]\nmode = \"max\"\nseed = 3\n\
        [scheduler]\nkind = \"asha\"\nmax_t = 16\ngrace_period = 1\nreduction_factor = 2\n\
        brackets = 2\n[stoppers.drop]\nwindow = 2\ndrop_threshold = 0.5\n";
    /// FIFO alone: every result continues.
    const PLAIN: &str = "[study]\nmode = \"max\"\n";
    /// FIFO with the plateau and max-iterations stoppers.
    const FIFO: &str = "[study]\nmode = \"min\"\n[stoppers.plateau]\nstd = 0.01\nnum_results = 3\n\
        grace_period = 2\n[stoppers.max_iters]\nmax_iters = 12\n";

    fn replay_text(config: &str, events: &[u8], format: Format) -> anyhow::Result<String> {
        let config = StudyConfig::from_toml_str(config).expect("test config");
        let paths = Paths { config: Path::new("study.toml"), events: Path::new("events.csv") };
        replay(&config, &paths, events, format)
    }

    #[test]
    fn integer_trials_keep_their_numbers_and_names_count_from_zero() {
        assert_eq!(trial_numbers(&["5", "2", "5", "0"]), [5, 2, 5, 0]);
        assert_eq!(trial_numbers(&["b", "a", "b", "5"]), [0, 1, 0, 2]);
        // One name among numbers: every trial is numbered by first appearance.
        assert_eq!(trial_numbers(&["5", "x", "2", "5"]), [0, 1, 2, 0]);
        // Not plain integers: names, distinct from `7`.
        assert_eq!(trial_numbers(&["7", "007", "+7"]), [0, 1, 2]);
        assert_eq!(trial_numbers(&["18446744073709551616", "0"]), [0, 1]);
        assert_eq!(trial_numbers(&[]), Vec::<TrialId>::new());
    }

    #[test]
    fn yaml_strings_read_back_as_written() {
        assert_eq!(yaml::text("a1b2c3_00001"), "a1b2c3_00001");
        assert_eq!(yaml::text("NaN"), "\"NaN\"");
        assert_eq!(yaml::text("Yes"), "\"Yes\"");
        assert_eq!(yaml::text("7f"), "\"7f\"");
        assert_eq!(yaml::text("a\u{7f}\u{85}\u{9f}\n"), "\"a\\u007f\u{85}\\u009f\\n\"");
    }

    #[test]
    fn an_error_is_an_input_error_naming_the_line() {
        let err = replay_text(
            ASHA,
            b"event,trial,iteration,value\nadd,a,,\nresult,a,2,1\nresult,a,1,1\n",
            Format::Csv,
        )
        .expect_err("iterations go back");
        assert!(err.is::<InputError>());
        assert_eq!(
            err.to_string(),
            "events.csv line 4: trial `a` reported iteration 1 after iteration 2 (line 3): a trial's iterations must increase"
        );
    }

    /// One line of a random events file.
    #[derive(Debug, Clone)]
    enum Line {
        /// An event of trial `trial` (an index into the names) at `iteration` if given, else at
        /// the trial's next iteration (its last one for `complete`).
        Event {
            kind: &'static str,
            trial: usize,
            iteration: Option<u64>,
            value: String,
            bracket: &'static str,
        },
        /// Fields of anything.
        Fields(Vec<String>),
        /// Bytes of anything.
        Bytes(Vec<u8>),
        /// A comment.
        Comment,
    }

    /// The fields of an event, as the strategies draw them.
    type EventFields = (&'static str, usize, Option<u64>, String, &'static str);

    impl Line {
        fn event((kind, trial, iteration, value, bracket): EventFields) -> Line {
            Line::Event { kind, trial, iteration, value, bracket }
        }
    }

    /// A metric as a logger writes it, non-finite and missing included.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (-2.0f64..2.0).prop_map(|v| v.to_string()),
            1 => prop::sample::select(vec!["", "nan", "inf", "-inf", "NaN", "1e400", "-0", " 1 "])
                .prop_map(str::to_string),
            1 => any::<f64>().prop_map(|v| v.to_string()),
        ]
    }

    /// A well-formed event; most are results at the trial's next iteration.
    fn event() -> impl Strategy<Value = Line> {
        let kind = prop_oneof![
            1 => Just("add"),
            60 => Just("result"),
            1 => Just("complete"),
            1 => Just("fail"),
        ];
        (
            kind,
            0usize..4,
            prop::option::weighted(0.01, 0u64..12),
            value(),
            prop::sample::select(vec!["", "", "", "", "", "", "", "", "0", "1"]),
        )
            .prop_map(Line::event)
    }

    fn anything() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            prop::sample::select(vec![
                "add",
                "result",
                "finish",
                "0",
                "1",
                "-1",
                "1.5",
                "nan",
                "abc",
                "a1b2c3_00001",
                "\"a,b\"",
                "\"",
                "18446744073709551616",
                "#",
            ])
            .prop_map(str::to_string),
            "\\PC{0,6}",
        ]
    }

    /// A line that is likely wrong: an event with a bad kind, bracket or value, fields of
    /// anything, bytes of anything (bad UTF-8 too), or a comment.
    fn noise() -> impl Strategy<Value = Line> {
        prop_oneof![
            (
                prop::sample::select(vec!["add", "result", "complete", "fail", "finish", ""]),
                0usize..4,
                prop::option::of(0u64..12),
                anything(),
                prop::sample::select(vec!["", "0", "9", "x", "-1"]),
            )
                .prop_map(Line::event),
            prop::collection::vec(anything(), 0..8).prop_map(Line::Fields),
            prop::collection::vec(any::<u8>(), 0..24).prop_map(Line::Bytes),
            Just(Line::Comment),
        ]
    }

    /// The trial names of a file: numbers, Ray names, or a mix.
    fn names() -> impl Strategy<Value = [String; 4]> {
        prop_oneof![
            Just(["0", "1", "2", "3"]),
            Just(["3", "1", "12", "0"]),
            Just(["a1b2c3_00000", "a1b2c3_00001", "a1b2c3_00002", "a1b2c3_00003"]),
            Just(["7", "007", "nan", "run, \"b\""]),
        ]
        .prop_map(|n| n.map(str::to_string))
    }

    const HEADERS: [&str; 5] = [
        "event,trial,iteration,value,bracket",
        "event,trial,iteration,value",
        "trial,event,value,iteration",
        "event,trial,value",
        "event,trial,iteration,value,extra",
    ];

    /// A random events file: mostly the right header, its trials added first or not, events,
    /// and for half of the files one or two noisy lines anywhere (or, for one file in four,
    /// noise throughout).
    fn events_file() -> impl Strategy<Value = Vec<u8>> {
        let lines = prop_oneof![
            3 => (
                prop::collection::vec(event(), 0..40),
                prop_oneof![
                    Just(Vec::new()),
                    prop::collection::vec((any::<prop::sample::Index>(), noise()), 1..3),
                ],
            )
                .prop_map(|(mut lines, faults)| {
                    for (at, fault) in faults {
                        lines.insert(at.index(lines.len() + 1), fault);
                    }
                    lines
                }),
            1 => prop::collection::vec(prop_oneof![event(), noise()], 0..40),
        ];
        (
            prop_oneof![12 => Just(0usize), 1 => 1..HEADERS.len()],
            names(),
            prop::bool::weighted(0.8),
            lines,
            any::<bool>(),
        )
            .prop_map(|(header, names, add_first, lines, crlf)| {
                render(HEADERS[header], &names, add_first, &lines, if crlf { "\r\n" } else { "\n" })
            })
    }

    /// The text of an events file; the fields of events follow `event,trial,iteration,value,
    /// bracket` whatever `header` says.
    fn render(
        header: &str,
        names: &[String; 4],
        add_first: bool,
        lines: &[Line],
        end: &str,
    ) -> Vec<u8> {
        let columns = header.split(',').count();
        let mut out = format!("{header}{end}").into_bytes();
        if add_first {
            for name in names {
                let mut fields = vec!["add".to_string(), csv_field(name)];
                fields.resize(columns, String::new());
                out.extend_from_slice(format!("{}{end}", fields.join(",")).as_bytes());
            }
        }
        let mut last = [0u64; 4];
        for line in lines {
            match line {
                Line::Event { kind, trial, iteration, value, bracket } => {
                    let next = match *kind {
                        "result" => last[*trial] + 1,
                        _ => last[*trial].max(1),
                    };
                    let at = iteration.unwrap_or(next);
                    if *kind == "result" {
                        last[*trial] = at;
                    }
                    let (iteration, value) = match *kind {
                        "add" | "fail" => (String::new(), String::new()),
                        _ => (at.to_string(), value.clone()),
                    };
                    let bracket = if *kind == "add" { bracket } else { "" };
                    let name = csv_field(&names[*trial]);
                    let mut fields =
                        vec![kind.to_string(), name, iteration, value, bracket.to_string()];
                    fields.truncate(columns);
                    out.extend_from_slice(format!("{}{end}", fields.join(",")).as_bytes());
                }
                Line::Fields(fields) => {
                    out.extend_from_slice(format!("{}{end}", fields.join(",")).as_bytes());
                }
                Line::Bytes(bytes) => {
                    out.extend_from_slice(bytes);
                    out.extend_from_slice(end.as_bytes());
                }
                Line::Comment => out.extend_from_slice(format!("# a comment, \"{end}").as_bytes()),
            }
        }
        out
    }

    /// Success, or an input error (exit code 2) that names the events file.
    fn check_outcome(result: &anyhow::Result<String>, format: Format) -> Result<(), TestCaseError> {
        match result {
            Ok(text) => {
                let first = if format == Format::Csv {
                    "trial,iteration,decision,reason"
                } else {
                    "study:"
                };
                prop_assert_eq!(text.lines().next(), Some(first));
            }
            Err(err) => {
                prop_assert!(err.is::<InputError>(), "not an input error: {err:#}");
                let message = err.to_string();
                prop_assert!(message.starts_with("events.csv"), "{}", message);
            }
        }
        Ok(())
    }

    fn config() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![ASHA, FIFO, PLAIN])
    }

    /// `lines` with the trials renumbered 0, 1, 2, ... in order of first appearance.
    fn by_appearance(mut lines: Vec<Line>) -> Vec<Line> {
        let mut order: Vec<usize> = Vec::new();
        for line in &mut lines {
            if let Line::Event { trial, .. } = line {
                *trial = order.iter().position(|t| t == trial).unwrap_or_else(|| {
                    order.push(*trial);
                    order.len() - 1
                });
            }
        }
        lines
    }

    /// The error message of a result, if any.
    fn message(result: &anyhow::Result<String>) -> Option<String> {
        result.as_ref().err().map(|e| e.to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 64,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Any events file replays or is refused with an input error; never a panic, and both
        /// formats agree on which.
        #[test]
        fn random_event_files_replay_or_are_refused(config in config(), events in events_file()) {
            let csv = replay_text(config, &events, Format::Csv);
            let yaml = replay_text(config, &events, Format::Yaml);
            check_outcome(&csv, Format::Csv)?;
            check_outcome(&yaml, Format::Yaml)?;
            prop_assert_eq!(message(&csv), message(&yaml));
        }

        /// Naming the trials (numbered in order of first appearance) changes the names in the
        /// output and the messages, and nothing else.
        #[test]
        fn names_decide_as_numbers_in_order_of_appearance(
            config in config(),
            add_first in any::<bool>(),
            lines in prop::collection::vec(event(), 0..40),
        ) {
            let lines = by_appearance(lines);
            let numbers = ["0", "1", "2", "3"].map(str::to_string);
            let names = ["run-a", "run-b", "run-c", "run-d"].map(str::to_string);
            let file = |names: &[String; 4]| render(HEADERS[0], names, add_first, &lines, "\n");
            let by_number = replay_text(config, &file(&numbers), Format::Csv);
            let by_name = replay_text(config, &file(&names), Format::Csv);
            let unname = |text: &str| {
                let mut text = text.to_string();
                for (i, name) in names.iter().enumerate() {
                    text = text.replace(&format!("`{name}`"), &i.to_string());
                    text = text.replace(name.as_str(), &i.to_string());
                }
                text
            };
            match (&by_number, &by_name) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, &unname(b)),
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), unname(&b.to_string())),
                _ => prop_assert!(false, "{:?} vs {:?}", message(&by_number), message(&by_name)),
            }
        }
    }
}
