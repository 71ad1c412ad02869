//! The `Objective` seam: what a trial runs. A trial is started with its parameters and then
//! stepped one training iteration at a time; each step returns that iteration's metrics. The
//! coordinator decides between steps, so a stop takes effect before the next iteration.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use hpo_sampler::ParamValue;

/// Metrics of one training iteration, by name.
pub type Metrics = BTreeMap<String, f64>;

/// Everything a trial needs to start.
#[derive(Debug, Clone)]
pub struct TrialContext {
    /// The trial's number in the study (0, 1, ...).
    pub trial: u64,
    /// The trial's name (`trial_0003`), used in files.
    pub name: String,
    /// The suggested hyperparameters.
    pub params: BTreeMap<String, ParamValue>,
    /// The trial's seed, derived from the study seed and the trial number.
    pub seed: u64,
    /// The cores of the trial's group (the first is the driver's).
    pub cores: Vec<usize>,
    /// The trial's own folder (checkpoints, logs); it exists.
    pub dir: PathBuf,
    /// Resume after this many iterations from the checkpoint saved then (0: a fresh start).
    /// The first report of the run is iteration `resume_after + 1`.
    pub resume_after: u64,
}

/// Why a trial could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum ObjectiveError {
    /// The trial could not be started (bad parameters, a command that does not exist, ...).
    #[error("trial failed to start: {0}")]
    Start(String),
    /// The training failed during an iteration (non-finite loss, environment error, ...).
    #[error("trial failed at iteration {iteration}: {message}")]
    Iteration {
        /// The iteration that failed (1-based).
        iteration: u64,
        /// What went wrong.
        message: String,
    },
    /// An external command exited with a non-zero status.
    #[error("command exited with {status}{stderr}")]
    Exit {
        /// The exit status as text.
        status: String,
        /// The last lines of the command's standard error, if any.
        stderr: String,
    },
    /// Reading or writing failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// A running trial.
pub trait TrialRun: Send {
    /// Run one training iteration. `Ok(Some(metrics))`: the iteration's report;
    /// `Ok(None)`: the training finished on its own (no further reports).
    fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError>;

    /// The iteration of the last checkpoint this trial can resume from, if it saves any.
    /// Called by the coordinator after each report; the default saves nothing.
    fn checkpoint(&mut self, _iteration: u64) -> Result<Option<u64>, ObjectiveError> {
        Ok(None)
    }
}

/// What trials run: a factory of [`TrialRun`]s.
pub trait Objective: Send + Sync {
    /// Start a trial, from the checkpoint of iteration `ctx.resume_after` when that is not 0
    /// (an objective that cannot restore it returns an error).
    fn start(&self, ctx: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError>;
}

/// Runs an external program per trial. Parameters are given as `{name}` placeholders in its
/// arguments and as `HPO_PARAM_<NAME>` environment variables (plus `HPO_TRIAL`, `HPO_TRIAL_NAME`,
/// `HPO_SEED`, `HPO_TRIAL_DIR`). Every stdout line of `name=value` pairs (separated by spaces or
/// commas) or a flat JSON object of numbers is one report. Other lines are ignored. Exit status 0
/// ends the trial as finished; any other status is an error. A stop kills the process.
#[derive(Debug, Clone)]
pub struct CommandObjective {
    /// The program and its arguments, with `{param}` placeholders.
    pub argv: Vec<String>,
    /// Working directory of the child (default: the current one).
    pub cwd: Option<PathBuf>,
}

impl CommandObjective {
    /// Substitute `{name}` placeholders (parameters, and `{trial}`, `{seed}`, `{trial_dir}`).
    pub fn expand(&self, ctx: &TrialContext) -> Vec<String> {
        self.argv
            .iter()
            .map(|arg| {
                let mut out = arg.clone();
                for (name, value) in &ctx.params {
                    out = out.replace(&format!("{{{name}}}"), &value.to_string());
                }
                out.replace("{trial}", &ctx.trial.to_string())
                    .replace("{seed}", &ctx.seed.to_string())
                    .replace("{trial_dir}", &ctx.dir.display().to_string())
            })
            .collect()
    }
}

impl Objective for CommandObjective {
    fn start(&self, ctx: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError> {
        if ctx.resume_after > 0 {
            return Err(ObjectiveError::Start(
                "a command objective keeps no checkpoints to resume from".to_string(),
            ));
        }
        let argv = self.expand(ctx);
        let Some((program, args)) = argv.split_first() else {
            return Err(ObjectiveError::Start("objective.command is empty".to_string()));
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(ctx.dir.join("stderr.log")).map_err(ObjectiveError::Io)?,
            ))
            .env("HPO_TRIAL", ctx.trial.to_string())
            .env("HPO_TRIAL_NAME", &ctx.name)
            .env("HPO_SEED", ctx.seed.to_string())
            .env("HPO_TRIAL_DIR", &ctx.dir);
        for (name, value) in &ctx.params {
            cmd.env(format!("HPO_PARAM_{}", name.to_uppercase()), value.to_string());
        }
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| ObjectiveError::Start(format!("cannot run `{program}`: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ObjectiveError::Start("child has no stdout".to_string()))?;
        let run = CommandRun {
            child,
            lines: BufReader::new(stdout),
            stderr_path: ctx.dir.join("stderr.log"),
            buf: String::new(),
        };
        Ok(Box::new(run))
    }
}

struct CommandRun {
    child: Child,
    lines: BufReader<ChildStdout>,
    stderr_path: PathBuf,
    buf: String,
}

impl TrialRun for CommandRun {
    fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError> {
        loop {
            self.buf.clear();
            if self.lines.read_line(&mut self.buf)? == 0 {
                let status = self.child.wait()?;
                if status.success() {
                    return Ok(None);
                }
                return Err(ObjectiveError::Exit {
                    status: status.to_string(),
                    stderr: stderr_tail(&self.stderr_path),
                });
            }
            if let Some(metrics) = parse_metrics_line(&self.buf) {
                return Ok(Some(metrics));
            }
        }
    }
}

impl Drop for CommandRun {
    fn drop(&mut self) {
        // A stop kills the process; a finished one is already reaped.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn stderr_tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    if lines.is_empty() {
        String::new()
    } else {
        let tail: Vec<&str> = lines.into_iter().rev().collect();
        format!("; stderr: {}", tail.join(" | "))
    }
}

/// Parse one report line: `a=1 b=2.5`, `a=1,b=2`, or `{"a": 1, "b": 2.5}`. Values that are not
/// numbers are skipped (`nan`, `inf` are numbers). Returns `None` for a line with no metric.
pub fn parse_metrics_line(line: &str) -> Option<Metrics> {
    let line = line.trim();
    let mut metrics = Metrics::new();
    if line.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        for (k, v) in value.as_object()? {
            let x = match v {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.parse::<f64>().ok(),
                serde_json::Value::Null => Some(f64::NAN),
                _ => None,
            };
            if let Some(x) = x {
                metrics.insert(k.clone(), x);
            }
        }
    } else {
        for pair in line.split([' ', ',', '\t']).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=')?;
            metrics.insert(k.trim().to_string(), v.trim().parse::<f64>().ok()?);
        }
    }
    (!metrics.is_empty()).then_some(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_json_and_rejects_prose() {
        let m = parse_metrics_line("score_pred=0.5 loss=1e-3\n").expect("pairs");
        assert_eq!(m["score_pred"], 0.5);
        assert_eq!(m["loss"], 1e-3);
        let m = parse_metrics_line("a=1,b=nan").expect("commas");
        assert!(m["b"].is_nan());
        let m = parse_metrics_line(r#"{"score_pred": 0.25, "note": "x"}"#).expect("json");
        assert_eq!(m.len(), 1);
        assert!(parse_metrics_line("starting training...").is_none());
        assert!(parse_metrics_line("epoch=3 of 10").is_none());
        assert!(parse_metrics_line("").is_none());
    }
}
