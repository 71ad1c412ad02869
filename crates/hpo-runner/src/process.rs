//! Trials in their own processes. [`ProcessObjective`] runs each trial in a child process (a
//! "trial worker", for example `hpo trial-worker`) that builds the study's objective from the
//! configuration text and serves the trial with [`serve_trial`]; the two speak JSON lines over
//! the child's stdin and stdout, one request and one answer per [`TrialRun`] call.
//!
//! Why: burn-autodiff keeps every autodiff graph of a process in one registry, and after each
//! backward pass it locks every graph in it, while a graph stays locked for the whole of its own
//! backward pass. PPO trials that train as threads of one process therefore wait for each
//! other's backward passes; in their own processes they do not (`docs/ppo.md`, "Threads").
//! The numbers do not change: a trial in a worker reports what it reports in-process.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use hpo_sampler::Params;
use serde::{Deserialize, Serialize};

use crate::config::StudyConfig;
use crate::objective::{Metrics, Objective, ObjectiveError, TrialContext, TrialRun};

/// The file in a trial's folder that receives its worker's standard error.
pub const WORKER_LOG: &str = "worker.log";

/// Runs each trial of an objective in a child process: `program args...`, which must serve one
/// trial with [`serve_trial`] on its stdin and stdout. The child is put in its own process group
/// (a Ctrl-C reaches the study, which stops its trials, and not the workers) and gets the
/// trial's cores in its context, so its threads pin themselves as they would in-process.
#[derive(Debug, Clone)]
pub struct ProcessObjective {
    /// The worker program (for the `hpo` command: its own executable).
    pub program: PathBuf,
    /// Its arguments (for `hpo`: `trial-worker`).
    pub args: Vec<String>,
    /// The study's configuration (TOML), from which the worker builds the objective.
    pub config_text: String,
}

/// One request to a trial worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Request {
    Start { config: String, ctx: WireContext },
    Step,
    Checkpoint { iteration: u64 },
}

/// One answer of a trial worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Started {
        /// The process groups the trial started (a command's), which the study ends itself
        /// should this worker die before it does.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        groups: Vec<u32>,
    },
    /// Metric values as Rust's shortest round-trip text, so NaN and infinities pass too.
    Metrics {
        metrics: Vec<(String, String)>,
        /// The trial's notes for people since the last answer.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    Finished,
    Saved {
        iteration: Option<u64>,
    },
    Failed {
        error: WireError,
    },
}

/// A [`TrialContext`] as it crosses the pipe (floats arrive bit for bit: the workspace builds
/// serde_json with `float_roundtrip`).
#[derive(Debug, Serialize, Deserialize)]
struct WireContext {
    trial: u64,
    name: String,
    params: Params,
    seed: u64,
    cores: Vec<usize>,
    dir: PathBuf,
    resume_after: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct WireError {
    /// `start` or `iteration` (anything else arrives as `start`).
    kind: String,
    iteration: u64,
    message: String,
}

impl WireContext {
    fn from_ctx(ctx: &TrialContext) -> WireContext {
        WireContext {
            trial: ctx.trial,
            name: ctx.name.clone(),
            params: ctx.params.clone(),
            seed: ctx.seed,
            cores: ctx.cores.clone(),
            dir: ctx.dir.clone(),
            resume_after: ctx.resume_after,
        }
    }

    fn into_ctx(self) -> TrialContext {
        TrialContext {
            trial: self.trial,
            name: self.name,
            params: self.params,
            seed: self.seed,
            cores: self.cores,
            dir: self.dir,
            resume_after: self.resume_after,
        }
    }
}

impl WireError {
    fn from_error(e: &ObjectiveError, next_iteration: u64) -> WireError {
        match e {
            ObjectiveError::Start(message) => {
                WireError { kind: "start".into(), iteration: 0, message: message.clone() }
            }
            ObjectiveError::Iteration { iteration, message } => WireError {
                kind: "iteration".into(),
                iteration: *iteration,
                message: message.clone(),
            },
            other => WireError {
                kind: "iteration".into(),
                iteration: next_iteration,
                message: other.to_string(),
            },
        }
    }

    fn into_error(self) -> ObjectiveError {
        if self.kind == "iteration" {
            ObjectiveError::Iteration { iteration: self.iteration, message: self.message }
        } else {
            ObjectiveError::Start(self.message)
        }
    }
}

fn encode_metrics(metrics: &Metrics) -> Vec<(String, String)> {
    metrics.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
}

fn decode_metrics(pairs: Vec<(String, String)>) -> Result<Metrics, String> {
    pairs
        .into_iter()
        .map(|(k, v)| match v.parse::<f64>() {
            Ok(x) => Ok((k, x)),
            Err(_) => Err(format!("metric `{k}`: bad number {v:?}")),
        })
        .collect()
}

fn send<T: Serialize>(out: &mut impl Write, message: &T) -> std::io::Result<()> {
    let line = serde_json::to_string(message).map_err(std::io::Error::other)?;
    writeln!(out, "{line}")?;
    out.flush()
}

/// Serve one trial: read requests from `input` and answer on `output` until `input` ends. The
/// first request names the study's configuration; the objective it describes (in-process) runs
/// the trial. A panic inside the objective is answered as a failure, like the study does
/// in-process. What the trial prints must not go to `output`.
pub fn serve_trial(input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let mut run: Option<Box<dyn TrialRun>> = None;
    let mut next_iteration = 1;
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let request: Request = serde_json::from_str(&line).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad request: {e}"))
        })?;
        let answer = match (request, run.as_mut()) {
            (Request::Start { config, ctx }, None) => match start_local(&config, ctx) {
                Ok((started, first)) => {
                    let groups = started.process_groups();
                    run = Some(started);
                    next_iteration = first;
                    Answer::Started { groups }
                }
                Err(e) => Answer::Failed { error: WireError::from_error(&e, 0) },
            },
            (Request::Step, Some(run)) => match caught(next_iteration, || run.step()) {
                Ok(Some(metrics)) => {
                    next_iteration += 1;
                    Answer::Metrics { metrics: encode_metrics(&metrics), notes: run.take_notes() }
                }
                Ok(None) => Answer::Finished,
                Err(e) => Answer::Failed { error: WireError::from_error(&e, next_iteration) },
            },
            (Request::Checkpoint { iteration }, Some(run)) => {
                match caught(next_iteration, || run.checkpoint(iteration)) {
                    Ok(saved) => Answer::Saved { iteration: saved },
                    Err(e) => Answer::Failed { error: WireError::from_error(&e, next_iteration) },
                }
            }
            (Request::Start { .. }, Some(_)) => refused("this worker already runs a trial"),
            (_, None) => refused("no trial started: send `start` first"),
        };
        send(&mut output, &answer)?;
    }
    Ok(())
}

/// The answer to a request this worker cannot take.
fn refused(message: &str) -> Answer {
    Answer::Failed {
        error: WireError { kind: "start".into(), iteration: 0, message: message.into() },
    }
}

/// Build the objective from the configuration and start the trial; also the trial's next
/// iteration number.
fn start_local(config: &str, ctx: WireContext) -> Result<(Box<dyn TrialRun>, u64), ObjectiveError> {
    let cfg = StudyConfig::from_toml_str(config)
        .map_err(|e| ObjectiveError::Start(format!("trial worker config: {e}")))?;
    let objective = crate::build_objective(&cfg).map_err(ObjectiveError::Start)?;
    let ctx = ctx.into_ctx();
    let first = ctx.resume_after + 1;
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| objective.start(&ctx)))
        .map_err(|payload| {
        ObjectiveError::Start(format!("panicked: {}", panic_text(&payload)))
    })??;
    Ok((run, first))
}

/// Run a call of a running trial; a panic becomes an error of iteration `iteration`.
fn caught<T>(
    iteration: u64,
    f: impl FnOnce() -> Result<T, ObjectiveError>,
) -> Result<T, ObjectiveError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(ObjectiveError::Iteration {
            iteration,
            message: format!("panicked: {}", panic_text(&payload)),
        })
    })
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

impl Objective for ProcessObjective {
    fn start(&self, ctx: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError> {
        let log_path = ctx.dir.join(WORKER_LOG);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
        let mut command = Command::new(&self.program);
        command.args(&self.args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(log);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command.spawn().map_err(|e| {
            ObjectiveError::Start(format!(
                "cannot start the trial worker `{}`: {e}",
                self.program.display()
            ))
        })?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(ObjectiveError::Start("the trial worker has no stdin or stdout".into()));
        };
        let mut run = ProcessRun {
            child,
            input: Some(input),
            notes: Vec::new(),
            output: BufReader::new(output),
            log_path,
            next_iteration: ctx.resume_after + 1,
            groups: Vec::new(),
        };
        let request =
            Request::Start { config: self.config_text.clone(), ctx: WireContext::from_ctx(ctx) };
        match run.ask(&request, true)? {
            Answer::Started { groups } => {
                run.groups = groups;
                Ok(Box::new(run))
            }
            other => Err(run.unexpected(other, true)),
        }
    }
}

/// A trial running in a worker process; dropping it ends the process.
struct ProcessRun {
    child: Child,
    /// `None` once closed (which ends the worker).
    input: Option<ChildStdin>,
    /// Notes of the trial not yet taken.
    notes: Vec<String>,
    output: BufReader<ChildStdout>,
    log_path: PathBuf,
    next_iteration: u64,
    /// The process groups of the trial's command, if any (see [`Answer::Started`]).
    groups: Vec<u32>,
}

impl ProcessRun {
    /// Send a request and read its answer; a worker that is gone is an error naming its exit
    /// status and the end of its log.
    fn ask(&mut self, request: &Request, starting: bool) -> Result<Answer, ObjectiveError> {
        let mut line = String::new();
        let read = match self.input.as_mut() {
            Some(input) => send(input, request).and_then(|()| self.output.read_line(&mut line)),
            None => Err(std::io::Error::other("the trial worker's stdin is closed")),
        };
        match read {
            Ok(n) if n > 0 => serde_json::from_str(&line).map_err(|e| {
                self.failure(format!("the trial worker answered {:?}: {e}", line.trim()), starting)
            }),
            _ => {
                let why = self.gone();
                Err(self.failure(why, starting))
            }
        }
    }

    fn unexpected(&mut self, answer: Answer, starting: bool) -> ObjectiveError {
        match answer {
            Answer::Failed { error } => error.into_error(),
            other => self.failure(format!("the trial worker answered {other:?}"), starting),
        }
    }

    fn failure(&self, message: String, starting: bool) -> ObjectiveError {
        if starting {
            ObjectiveError::Start(message)
        } else {
            ObjectiveError::Iteration { iteration: self.next_iteration, message }
        }
    }

    /// How the worker ended, with the last lines of its log.
    fn gone(&mut self) -> String {
        let status = match self.child.wait() {
            Ok(s) => s.to_string(),
            Err(e) => format!("unknown status ({e})"),
        };
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n");
        if tail.is_empty() {
            format!("the trial worker died ({status})")
        } else {
            format!("the trial worker died ({status}); end of {}:\n{tail}", self.log_path.display())
        }
    }
}

impl TrialRun for ProcessRun {
    fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError> {
        match self.ask(&Request::Step, false)? {
            Answer::Metrics { metrics, notes } => {
                self.notes.extend(notes);
                let metrics = decode_metrics(metrics).map_err(|e| self.failure(e, false))?;
                self.next_iteration += 1;
                Ok(Some(metrics))
            }
            Answer::Finished => Ok(None),
            other => Err(self.unexpected(other, false)),
        }
    }

    fn checkpoint(&mut self, iteration: u64) -> Result<Option<u64>, ObjectiveError> {
        match self.ask(&Request::Checkpoint { iteration }, false)? {
            Answer::Saved { iteration } => Ok(iteration),
            other => Err(self.unexpected(other, false)),
        }
    }

    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
}

impl Drop for ProcessRun {
    fn drop(&mut self) {
        // Between requests the worker is idle: closing its stdin ends it, and it ends what its
        // trial started (a command's process group) on the way out. One that does not go within
        // a few seconds is killed.
        self.input.take();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while std::time::Instant::now() < until && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let ended_well = self.child.wait().is_ok_and(|status| status.success());
        // A worker that ended well ended its command's group itself; one that died (or was
        // killed just now) could not, so the study does it.
        if !ended_well {
            for &group in &self.groups {
                crate::objective::kill_group(group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpo_sampler::ParamValue;

    #[test]
    fn float_parameters_and_metrics_cross_bit_for_bit() {
        let mut params = Params::new();
        // serde_json without `float_roundtrip` reads this one back one ulp higher.
        params.insert("lr".to_string(), ParamValue::Float(9.007283896565407e-5));
        params.insert("num_epochs".to_string(), ParamValue::Int(26));
        params.insert("network".to_string(), ParamValue::Str("conv".into()));
        let ctx = TrialContext {
            trial: 3,
            name: "trial_0003".into(),
            params,
            seed: 42,
            cores: vec![8, 9],
            dir: PathBuf::from("/tmp/x"),
            resume_after: 5,
        };
        let text = serde_json::to_string(&WireContext::from_ctx(&ctx)).expect("serialises");
        let back: WireContext = serde_json::from_str(&text).expect("parses");
        let back = back.into_ctx();
        assert_eq!(back.params, ctx.params);
        assert_eq!((back.trial, back.seed, back.resume_after), (3, 42, 5));
        assert_eq!(back.cores, vec![8, 9]);

        let mut m = Metrics::new();
        m.insert("score_pred".into(), 0.1 + 0.2);
        m.insert("predator_return".into(), f64::NAN);
        m.insert("kl".into(), f64::INFINITY);
        let back = decode_metrics(encode_metrics(&m)).expect("numbers");
        assert_eq!(back["score_pred"].to_bits(), (0.1f64 + 0.2).to_bits());
        assert!(back["predator_return"].is_nan());
        assert_eq!(back["kl"], f64::INFINITY);
    }

    #[test]
    fn a_worker_refuses_steps_before_start_and_bad_configs() {
        let requests = [
            serde_json::to_string(&Request::Step).expect("json"),
            serde_json::to_string(&Request::Start {
                config: "[study]\nmetric = 3\n".into(),
                ctx: WireContext {
                    trial: 0,
                    name: "trial_0000".into(),
                    params: Params::new(),
                    seed: 0,
                    cores: Vec::new(),
                    dir: std::env::temp_dir(),
                    resume_after: 0,
                },
            })
            .expect("json"),
        ];
        let mut out = Vec::new();
        serve_trial(requests.join("\n").as_bytes(), &mut out).expect("served");
        let answers: Vec<Answer> = String::from_utf8(out)
            .expect("utf8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("answer"))
            .collect();
        assert_eq!(answers.len(), 2);
        for (answer, needle) in answers.iter().zip(["send `start` first", "trial worker config"]) {
            match answer {
                Answer::Failed { error } => {
                    assert_eq!(error.kind, "start");
                    assert!(error.message.contains(needle), "{}", error.message);
                }
                other => panic!("expected a failure, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_missing_worker_program_is_a_start_error() {
        let dir = std::env::temp_dir().join(format!("hpo-process-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let objective = ProcessObjective {
            program: PathBuf::from("/nonexistent/hpo-worker"),
            args: Vec::new(),
            config_text: String::new(),
        };
        let ctx = TrialContext {
            trial: 0,
            name: "trial_0000".into(),
            params: Params::new(),
            seed: 0,
            cores: Vec::new(),
            dir: dir.clone(),
            resume_after: 0,
        };
        let err = objective.start(&ctx).err().expect("no such program");
        assert!(err.to_string().contains("cannot start the trial worker"), "{err}");
        // A program that exits at once: the error says it died.
        let objective = ProcessObjective { program: PathBuf::from("true"), ..objective };
        let err = objective.start(&ctx).err().expect("exits at once");
        assert!(err.to_string().contains("the trial worker died"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
