//! The `Objective` seam: what a trial runs. A trial is started with its parameters and then
//! stepped one training iteration at a time; each step returns that iteration's metrics. The
//! coordinator decides between steps, so a stop takes effect before the next iteration.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
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
    /// A time limit of `[objective]` passed; the command's process group was killed.
    #[error(
        "`objective.{key}` = {seconds} s passed {what}; the command and everything it started were killed"
    )]
    Timeout {
        /// `timeout_s` or `iteration_timeout_s`.
        key: &'static str,
        /// The limit.
        seconds: f64,
        /// What did not happen in time.
        what: &'static str,
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

    /// Messages for people gathered since the last call (bytes that were not UTF-8, ignored
    /// fields, over-long lines); the study shows them as notes. The default has none.
    fn take_notes(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// The process groups this run started (a command trial's own group), so that a process
    /// serving the trial for a study can tell the study what to end should it die. The
    /// default has none.
    fn process_groups(&self) -> Vec<u32> {
        Vec::new()
    }
}

/// What trials run: a factory of [`TrialRun`]s.
pub trait Objective: Send + Sync {
    /// Start a trial, from the checkpoint of iteration `ctx.resume_after` when that is not 0
    /// (an objective that cannot restore it returns an error).
    fn start(&self, ctx: &TrialContext) -> Result<Box<dyn TrialRun>, ObjectiveError>;
}

/// Runs an external program per trial. Parameters are given as `{name}` placeholders in its
/// arguments and as `HPO_PARAM_<NAME>` environment variables, as their plain text (a choice
/// `adam` arrives as `adam`), plus `HPO_TRIAL`, `HPO_TRIAL_NAME`, `HPO_SEED` and the absolute
/// `HPO_TRIAL_DIR`. Every stdout line of `name=value` pairs (separated by spaces or commas) or a
/// flat JSON object is one report: numeric values are the metrics, other values are ignored
/// with a note; a line with a word that is not a pair is prose and ignored. Bytes that are not
/// UTF-8 are read as U+FFFD (with a note); a line longer than [`MAX_LINE`] bytes is ignored
/// (with a note) without being held in memory. Exit status 0 ends the trial as finished; any
/// other status is an error.
///
/// The command runs in a process group of its own: a Ctrl-C in the terminal reaches the study,
/// which stops its trials, not the command; a stop, a timeout or the end of the study kills the
/// whole group (a program started by a wrapper script too). [`kill_running_commands`] kills every
/// group still running (a trial worker calls it when its study is gone).
#[derive(Debug, Clone, Default)]
pub struct CommandObjective {
    /// The program and its arguments, with `{param}` placeholders.
    pub argv: Vec<String>,
    /// Working directory of the child (default: the current one).
    pub cwd: Option<PathBuf>,
    /// The longest a whole trial may take (`[objective] timeout_s`).
    pub timeout: Option<Duration>,
    /// The longest the command may go without a report (`[objective] iteration_timeout_s`).
    pub iteration_timeout: Option<Duration>,
}

/// The longest stdout line of a command that is read (1 MiB); longer lines are ignored.
pub const MAX_LINE: usize = 1 << 20;

/// A parameter value as a program gets it: a string as itself, numbers in their shortest
/// round-trip form, booleans as `true`/`false`.
pub fn arg_text(value: &ParamValue) -> String {
    match value {
        ParamValue::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

impl CommandObjective {
    /// Substitute `{name}` placeholders (parameters, and `{trial}`, `{seed}`, `{trial_dir}`).
    pub fn expand(&self, ctx: &TrialContext) -> Vec<String> {
        let dir = absolute(&ctx.dir);
        self.argv
            .iter()
            .map(|arg| {
                let mut out = arg.clone();
                for (name, value) in &ctx.params {
                    out = out.replace(&format!("{{{name}}}"), &arg_text(value));
                }
                out.replace("{trial}", &ctx.trial.to_string())
                    .replace("{seed}", &ctx.seed.to_string())
                    .replace("{trial_dir}", &dir.display().to_string())
            })
            .collect()
    }
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
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
        if let Some(cwd) = &self.cwd
            && !cwd.is_dir()
        {
            return Err(ObjectiveError::Start(format!(
                "objective.cwd `{}` is not a folder",
                cwd.display()
            )));
        }
        let stderr_path = ctx.dir.join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).map_err(|e| {
            ObjectiveError::Start(format!("cannot create {}: {e}", stderr_path.display()))
        })?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .env("HPO_TRIAL", ctx.trial.to_string())
            .env("HPO_TRIAL_NAME", &ctx.name)
            .env("HPO_SEED", ctx.seed.to_string())
            .env("HPO_TRIAL_DIR", absolute(&ctx.dir));
        for (name, value) in &ctx.params {
            cmd.env(format!("HPO_PARAM_{}", name.to_uppercase()), arg_text(value));
        }
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| ObjectiveError::Start(format!("cannot run `{program}`: {e}")))?;
        register_group(child.id());
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(ObjectiveError::Start("child has no stdout".to_string()));
        };
        let (tx, rx) = crossbeam_channel::bounded(64);
        let reader = std::thread::Builder::new()
            .name(format!("{}-stdout", ctx.name))
            .spawn(move || read_lines(stdout, &tx))
            .map_err(|e| ObjectiveError::Start(format!("cannot start the stdout reader: {e}")))?;
        let now = Instant::now();
        Ok(Box::new(CommandRun {
            child,
            lines: rx,
            reader: Some(reader),
            stderr_path,
            trial_deadline: self.timeout.map(|d| (now + d, d)),
            iteration_timeout: self.iteration_timeout,
            ignored_noted: BTreeSet::new(),
            notes: Vec::new(),
            exited: None,
            ended: false,
        }))
    }
}

/// Process groups of commands still running, so a dying worker can kill them.
static RUNNING_GROUPS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

fn register_group(pgid: u32) {
    if let Ok(mut set) = RUNNING_GROUPS.lock() {
        set.insert(pgid);
    }
}

fn unregister_group(pgid: u32) {
    if let Ok(mut set) = RUNNING_GROUPS.lock() {
        set.remove(&pgid);
    }
}

/// Kill the process group of every command trial of this process that is still running (for a
/// process about to exit: a trial worker whose study is gone, a study quitting at once).
pub fn kill_running_commands() {
    let groups: Vec<u32> =
        RUNNING_GROUPS.lock().map(|s| s.iter().copied().collect()).unwrap_or_default();
    for pgid in groups {
        signal_group(pgid, GroupSignal::Kill);
    }
}

#[derive(Debug, Clone, Copy)]
enum GroupSignal {
    Term,
    Kill,
}

/// SIGKILL a process group that a trial left behind (for a study whose trial worker died
/// before it could end its command's group).
pub fn kill_group(pgid: u32) {
    signal_group(pgid, GroupSignal::Kill);
}

/// Send a signal to a whole process group (nothing to do where there are none).
fn signal_group(pgid: u32, signal: GroupSignal) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, killpg};
        let sig = match signal {
            GroupSignal::Term => Signal::SIGTERM,
            GroupSignal::Kill => Signal::SIGKILL,
        };
        if let Ok(pgid) = i32::try_from(pgid) {
            let _ = killpg(nix::unistd::Pid::from_raw(pgid), sig);
        }
    }
    #[cfg(not(unix))]
    let _ = (pgid, signal);
}

/// What the stdout reader thread sends.
enum Out {
    Line(String),
    Note(String),
    End(std::io::Result<()>),
}

/// Read a command's stdout as lines, at most [`MAX_LINE`] bytes of each held in memory.
fn read_lines(stdout: impl Read, tx: &Sender<Out>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line: Vec<u8> = Vec::new();
    let mut dropped = 0usize;
    let mut number = 0usize;
    let mut send_line = |line: &mut Vec<u8>, dropped: &mut usize| -> bool {
        number += 1;
        let ok = if *dropped > 0 {
            tx.send(Out::Note(format!(
                "stdout line {number} is {} bytes, over the {MAX_LINE}-byte limit: ignored",
                line.len() + *dropped
            )))
            .is_ok()
        } else {
            let text = String::from_utf8_lossy(line);
            let bad = text.matches('\u{FFFD}').count();
            let sent_note = if std::str::from_utf8(line).is_err() {
                tx.send(Out::Note(format!(
                    "stdout line {number} has bytes that are not UTF-8 ({bad} replaced by U+FFFD)"
                )))
                .is_ok()
            } else {
                true
            };
            sent_note && tx.send(Out::Line(text.into_owned())).is_ok()
        };
        line.clear();
        *dropped = 0;
        ok
    };
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Out::End(Err(e)));
                return;
            }
        };
        if buf.is_empty() {
            if (!line.is_empty() || dropped > 0) && !send_line(&mut line, &mut dropped) {
                return;
            }
            let _ = tx.send(Out::End(Ok(())));
            return;
        }
        let newline = buf.iter().position(|&b| b == b'\n');
        let take = newline.map_or(buf.len(), |p| p + 1);
        let content = newline.map_or(take, |p| p);
        let room = MAX_LINE.saturating_sub(line.len());
        let keep = content.min(room);
        line.extend_from_slice(&buf[..keep]);
        dropped += content - keep;
        reader.consume(take);
        if newline.is_some() && !send_line(&mut line, &mut dropped) {
            return;
        }
    }
}

struct CommandRun {
    child: Child,
    lines: Receiver<Out>,
    reader: Option<std::thread::JoinHandle<()>>,
    stderr_path: PathBuf,
    /// When the whole trial must end, and the limit.
    trial_deadline: Option<(Instant, Duration)>,
    iteration_timeout: Option<Duration>,
    /// Ignored field names already told of (once per name).
    ignored_noted: BTreeSet<String>,
    notes: Vec<String>,
    /// The command exited (while its stdout may still be open): until when its last lines
    /// are read, and its status.
    exited: Option<(Instant, std::process::ExitStatus)>,
    ended: bool,
}

/// How often a step looks whether the command has exited.
const EXIT_POLL: Duration = Duration::from_millis(50);
/// How long lines are still read after the command exited.
const EXIT_GRACE: Duration = Duration::from_millis(200);

impl CommandRun {
    /// The nearer deadline of this step, and the error it gives when it passes.
    fn deadline(&self, step_start: Instant) -> Option<(Instant, ObjectiveError)> {
        let trial = self.trial_deadline.map(|(at, d)| {
            (
                at,
                ObjectiveError::Timeout {
                    key: "timeout_s",
                    seconds: d.as_secs_f64(),
                    what: "before the trial ended",
                },
            )
        });
        let iteration = self.iteration_timeout.map(|d| {
            (
                step_start + d,
                ObjectiveError::Timeout {
                    key: "iteration_timeout_s",
                    seconds: d.as_secs_f64(),
                    what: "without a report",
                },
            )
        });
        match (trial, iteration) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    fn timed_out(&mut self, error: ObjectiveError) -> ObjectiveError {
        self.stop();
        error
    }

    /// The command closed its stdout: wait for its exit (within the deadline).
    fn wait_exit(
        &mut self,
        deadline: Option<(Instant, ObjectiveError)>,
    ) -> Result<Option<Metrics>, ObjectiveError> {
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if deadline.as_ref().is_some_and(|(at, _)| Instant::now() >= *at) {
                let error =
                    deadline.map(|(_, e)| e).unwrap_or(ObjectiveError::Start(String::new()));
                return Err(self.timed_out(error));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.exit_result(status)
    }

    /// The trial's end, from the command's exit status.
    fn exit_result(
        &mut self,
        status: std::process::ExitStatus,
    ) -> Result<Option<Metrics>, ObjectiveError> {
        self.ended = true;
        if status.success() {
            Ok(None)
        } else {
            Err(ObjectiveError::Exit {
                status: status.to_string(),
                stderr: stderr_tail(&self.stderr_path),
            })
        }
    }

    /// End the command and everything it started: SIGTERM to its group, a second to go, then
    /// SIGKILL.
    fn stop(&mut self) {
        let pgid = self.child.id();
        if !self.ended {
            signal_group(pgid, GroupSignal::Term);
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        signal_group(pgid, GroupSignal::Kill);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.ended = true;
        unregister_group(pgid);
    }
}

impl TrialRun for CommandRun {
    fn step(&mut self) -> Result<Option<Metrics>, ObjectiveError> {
        let step_start = Instant::now();
        loop {
            let deadline = self.deadline(step_start);
            // The command's exit ends the trial even when something it left running still
            // holds its stdout open (`sleep 300 &` in a wrapper): lines already written are
            // read for a short grace after the exit, then the trial is over.
            if self.exited.is_none()
                && let Some(status) = self.child.try_wait()?
            {
                self.exited = Some((Instant::now() + EXIT_GRACE, status));
            }
            let mut wake = Instant::now() + EXIT_POLL;
            if let Some((at, _)) = &deadline {
                wake = wake.min(*at);
            }
            if let Some((at, _)) = &self.exited {
                wake = wake.min(*at);
            }
            let out = match self.lines.recv_deadline(wake) {
                Ok(out) => out,
                Err(RecvTimeoutError::Timeout) => {
                    if let Some((at, error)) = deadline
                        && Instant::now() >= at
                    {
                        return Err(self.timed_out(error));
                    }
                    if let Some((at, status)) = self.exited
                        && Instant::now() >= at
                    {
                        return self.exit_result(status);
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => Out::End(Ok(())),
            };
            match out {
                Out::Note(note) => self.notes.push(note),
                Out::Line(text) => {
                    let Some(report) = parse_report_line(&text) else { continue };
                    for (name, value) in report.ignored {
                        if self.ignored_noted.insert(name.clone()) {
                            let value: String = value.escape_debug().take(40).collect();
                            self.notes.push(format!(
                                "`{name}` is not a number (`{value}`): ignored (told once per name)"
                            ));
                        }
                    }
                    return Ok(Some(report.metrics));
                }
                Out::End(result) => {
                    result?;
                    return self.wait_exit(deadline);
                }
            }
        }
    }

    fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn process_groups(&self) -> Vec<u32> {
        if self.ended { Vec::new() } else { vec![self.child.id()] }
    }
}

impl Drop for CommandRun {
    fn drop(&mut self) {
        // A stop kills the process group; a finished one is already reaped (its group may
        // still hold what it left behind: that goes too).
        self.stop();
        // The reader ends at the pipe's end or at its next send (the receiver is gone); it is
        // not waited for, since a process that left the group could hold the pipe open.
        drop(std::mem::replace(&mut self.lines, crossbeam_channel::never()));
        drop(self.reader.take());
    }
}

fn stderr_tail(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<String> = text
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .map(|l| {
            if l.len() > 300 {
                format!("{}...", &l[..l.floor_char_boundary(300)])
            } else {
                l.to_string()
            }
        })
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        let tail: Vec<String> = lines.into_iter().rev().collect();
        format!("; stderr: {}", tail.join(" | "))
    }
}

/// A report line: its numeric metrics and the fields that were not numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLine {
    /// The metrics (`nan`, `inf` and JSON `null` are numbers here: a study ends a trial whose
    /// watched metric is not finite as `error`).
    pub metrics: Metrics,
    /// `(name, value)` of the fields (or JSON keys) whose values are not numbers.
    pub ignored: Vec<(String, String)>,
}

/// Parse one report line: `a=1 b=2.5`, `a=1,b=2`, or `{"a": 1, "b": 2.5}`. A line with a word
/// that is not a `name=value` pair is prose (`None`), as is a line without a numeric value.
pub fn parse_report_line(line: &str) -> Option<ReportLine> {
    let line = line.trim();
    let mut metrics = Metrics::new();
    let mut ignored = Vec::new();
    if line.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        for (k, v) in value.as_object()? {
            let x = match v {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.parse::<f64>().ok(),
                serde_json::Value::Null => Some(f64::NAN),
                _ => None,
            };
            match x {
                Some(x) => {
                    metrics.insert(k.clone(), x);
                }
                None => ignored.push((k.clone(), v.to_string())),
            }
        }
    } else {
        for pair in line.split([' ', ',', '\t']).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=')?;
            let k = k.trim();
            if k.is_empty() {
                return None;
            }
            match v.trim().parse::<f64>() {
                Ok(x) => {
                    metrics.insert(k.to_string(), x);
                }
                Err(_) => ignored.push((k.to_string(), v.to_string())),
            }
        }
    }
    (!metrics.is_empty()).then_some(ReportLine { metrics, ignored })
}

/// The metrics of one report line ([`parse_report_line`] without the ignored fields).
pub fn parse_metrics_line(line: &str) -> Option<Metrics> {
    parse_report_line(line).map(|r| r.metrics)
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
        assert!(parse_metrics_line("status=ok").is_none());
    }

    #[test]
    fn a_non_numeric_pair_is_ignored_not_the_whole_line() {
        let r = parse_report_line("score_pred=0.5 status=ok").expect("a report");
        assert_eq!(r.metrics.len(), 1);
        assert_eq!(r.metrics["score_pred"], 0.5);
        assert_eq!(r.ignored, vec![("status".to_string(), "ok".to_string())]);
        let r = parse_report_line(r#"{"score_pred": 0.5, "tag": "a"}"#).expect("json");
        assert_eq!(r.ignored, vec![("tag".to_string(), r#""a""#.to_string())]);
    }

    #[test]
    fn categorical_values_reach_the_program_raw() {
        assert_eq!(arg_text(&ParamValue::Str("adam".into())), "adam");
        assert_eq!(arg_text(&ParamValue::Str("a\"b c".into())), "a\"b c");
        assert_eq!(arg_text(&ParamValue::Float(1e-4)), "0.0001");
        assert_eq!(arg_text(&ParamValue::Int(26)), "26");
        let objective = CommandObjective {
            argv: vec!["prog".into(), "--opt={optimizer}".into()],
            ..CommandObjective::default()
        };
        let mut params = BTreeMap::new();
        params.insert("optimizer".to_string(), ParamValue::Str("adam".into()));
        let ctx = TrialContext {
            trial: 0,
            name: "trial_0000".into(),
            params,
            seed: 1,
            cores: Vec::new(),
            dir: PathBuf::from("relative/dir"),
            resume_after: 0,
        };
        let argv = objective.expand(&ctx);
        assert_eq!(argv[1], "--opt=adam");
    }

    fn lines_of(bytes: &[u8]) -> Vec<String> {
        let (tx, rx) = crossbeam_channel::unbounded();
        read_lines(bytes, &tx);
        drop(tx);
        rx.iter()
            .map(|o| match o {
                Out::Line(l) => format!("line:{l}"),
                Out::Note(n) => format!("note:{n}"),
                Out::End(r) => format!("end:{}", r.is_ok()),
            })
            .collect()
    }

    #[test]
    fn bad_utf8_is_replaced_and_told_long_lines_are_cut_not_held() {
        let got = lines_of(b"a=1\nscore_pred=0.5 \xff\xfe=2\nb=3");
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0], "line:a=1");
        assert!(got[1].starts_with("note:stdout line 2 has bytes that are not UTF-8"), "{got:?}");
        assert!(got[2].starts_with("line:score_pred=0.5 \u{FFFD}"), "{got:?}");
        assert_eq!(got[3], "line:b=3");
        assert_eq!(got[4], "end:true");
        let mut big = vec![b'x'; MAX_LINE + 10];
        big.extend_from_slice(b"\nscore_pred=1\n");
        let got = lines_of(&big);
        assert!(
            got[0].starts_with("note:stdout line 1 is"),
            "{:?}",
            &got[0][..40.min(got[0].len())]
        );
        assert_eq!(got[1], "line:score_pred=1");
    }
}
