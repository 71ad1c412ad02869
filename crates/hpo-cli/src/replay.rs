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
//! Lines starting with `#` are comments. A result for a trial never added, any event of a trial
//! after it stopped, completed or failed, and every malformed line are errors naming the file and
//! line (exit code 2). Output (`--format csv`, the default): `trial,iteration,decision,reason`, one
//! row per `result`. `--format yaml`: the whole decision log with the rung state, for people.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hpo_runner::config::{SchedulerConfig, StudyConfig};
use hpo_runner::pipeline::{Pipeline, Record, TrialEvent};
use serde_json::Value;

use crate::InputError;

/// Arguments of `hpo replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The study configuration (TOML): `[study]` mode and seed, `[scheduler]`, `[stoppers.*]`.
    #[arg(long, value_name = "STUDY.toml")]
    pub config: PathBuf,
    /// The recorded events: CSV with the header `event,trial,iteration,value,bracket`.
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
    let mut pipeline = Pipeline::from_config(&config)
        .map_err(|e| input(format!("{}: {e}", args.config.display())))?;
    let events = read_events(&args.events)?;
    let mut log = Vec::with_capacity(events.len());
    for (line, event) in events {
        let record = pipeline
            .apply(event)
            .map_err(|e| input(format!("{} line {line}: {e}", args.events.display())))?;
        log.push((line, record));
    }
    let text = match args.format {
        Format::Csv => csv_output(&log),
        Format::Yaml => yaml_output(&config, &pipeline, &log)?,
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
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

/// Read and check every line of an events file: `(line number, event)`.
fn read_events(path: &Path) -> anyhow::Result<Vec<(u64, TrialEvent)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|e| input(format!("cannot read events file {}: {e}", path.display())))?;
    let header = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
    let cols = Columns::from_header(&header, path)?;
    let mut events = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, &e))?;
        let line = record.position().map_or(0, csv::Position::line);
        let event = parse_event(&record, &cols)
            .map_err(|msg| input(format!("{} line {line}: {msg}", path.display())))?;
        events.push((line, event));
    }
    Ok(events)
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

fn parse_event(record: &csv::StringRecord, cols: &Columns) -> Result<TrialEvent, String> {
    let field = |i: usize| record.get(i).unwrap_or("");
    let (kind, trial_text) = (field(cols.event), field(cols.trial));
    let iteration_text = field(cols.iteration);
    let value_text = field(cols.value);
    let bracket_text = cols.bracket.map_or("", field);
    let trial: u64 = trial_text.parse().map_err(|_| {
        format!("trial `{trial_text}` is not a trial number (a non-negative integer)")
    })?;
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
    match kind {
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
            Ok(TrialEvent::Add { trial, bracket })
        }
        "result" => {
            no_bracket()?;
            Ok(TrialEvent::Result { trial, iteration: iteration()?, value: value()? })
        }
        "complete" => {
            no_bracket()?;
            Ok(TrialEvent::Complete { trial, iteration: iteration()?, value: value()? })
        }
        "fail" => {
            no_bracket()?;
            if !iteration_text.is_empty() || !value_text.is_empty() {
                return Err("`fail` takes no iteration or value".to_string());
            }
            Ok(TrialEvent::Fail { trial })
        }
        other => Err(format!("unknown event `{other}`: use add, result, complete or fail")),
    }
}

fn csv_output(log: &[(u64, Record)]) -> String {
    let mut out = String::from("trial,iteration,decision,reason\n");
    for (_, record) in log {
        if let Record::Result(r) = record {
            let reason = r.decision.reason().map_or("", |r| r.as_str());
            out.push_str(&format!(
                "{},{},{},{reason}\n",
                r.trial,
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
    let mut trials: BTreeMap<u64, ()> = BTreeMap::new();
    for (line, record) in log {
        let mut value = serde_json::to_value(record)?;
        if let Value::Object(map) = &mut value {
            map.insert("line".into(), Value::from(*line));
        }
        if let Record::Add(a) = record {
            trials.insert(a.trial, ());
        }
        events.push(value);
    }
    let summary: Vec<Value> = trials
        .keys()
        .map(|&t| {
            let status = pipeline.status(t).map(|s| s.to_string()).unwrap_or_default();
            serde_json::json!({
                "trial": t,
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
            Value::String(s) => match s.as_str() {
                "nan" => ".nan".to_string(),
                "inf" => ".inf".to_string(),
                "-inf" => "-.inf".to_string(),
                s if !s.is_empty()
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-. ()".contains(c))
                    && s.starts_with(|c: char| c.is_ascii_alphabetic())
                    && !["true", "false", "null", "yes", "no", "on", "off"].contains(&s) =>
                {
                    s.to_string()
                }
                s => Value::String(s.to_string()).to_string(),
            },
            Value::Array(items) if items.iter().all(|i| scalar(i).is_some()) => {
                let inner: Vec<String> = items.iter().filter_map(scalar).collect();
                format!("[{}]", inner.join(", "))
            }
            Value::Object(m) if m.is_empty() => "{}".to_string(),
            _ => return None,
        })
    }

    /// Write `map` at `indent`.
    pub(super) fn map(map_: &Map<String, Value>, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        for (key, value) in ordered(map_) {
            match scalar(value) {
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
