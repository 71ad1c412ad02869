//! `hpo`: the command line of hpo-rs. Every user-facing command lives here; each subcommand is a
//! module that parses its arguments, calls the library crates, and prints for people.
//! Exit codes: 0 success (for `hpo study`: every trial ran, none ended as `error`), 1 a runtime
//! failure, an interrupted study or a study with failed trials, 2 bad input (config, CSV, flags,
//! a study folder in use).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod env_cmd;
mod eval;
mod replay;
mod report;
mod study;
mod trial_worker;

/// Tune reinforcement-learning agents: studies with TPE, ASHA and stoppers.
#[derive(Debug, Parser)]
#[command(name = "hpo", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a study (or resume one).
    Study(study::StudyArgs),
    /// Replay recorded trial events through the stoppers and the scheduler.
    Replay(replay::ReplayArgs),
    /// Play or draw the predator-prey-grass environment.
    #[command(subcommand)]
    Env(env_cmd::EnvCommand),
    /// Play a trained PPO checkpoint (no learning) and print the score its episodes give.
    Eval(eval::EvalArgs),
    /// Plots and summaries of a study folder.
    Report(report::ReportArgs),
    /// Serve one trial of a study on stdin/stdout (started by `hpo study`, one per PPO trial).
    #[command(hide = true)]
    TrialWorker,
}

/// An error that is the user's input (exit code 2), as opposed to a runtime failure (exit code 1).
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// The study ran but not all of it: interrupted, or some trials failed (exit code 1).
#[derive(Debug)]
pub struct Incomplete(pub String);

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Incomplete {}

/// Write to stdout. A reader that went away (`hpo report DIR | head -1`) is not a failure of
/// ours: the error is returned and `main` ends quietly.
pub fn out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush())?;
    Ok(())
}

/// The longest line and the most lines of an error message shown (a 10 MB one-line config must
/// not put 10 MB on the terminal).
const MAX_LINE_CHARS: usize = 300;
const MAX_LINES: usize = 40;

/// An error message as people should see it: control characters escaped, long lines and long
/// messages cut (saying how much was left out).
pub fn for_people(message: &str) -> String {
    let mut out = Vec::new();
    let lines: Vec<&str> = message.lines().collect();
    for line in lines.iter().take(MAX_LINES) {
        let mut shown = String::new();
        let mut chars = 0usize;
        let total = line.chars().count();
        for c in line.chars() {
            if chars >= MAX_LINE_CHARS {
                break;
            }
            if c.is_control() && c != '\t' {
                shown.extend(c.escape_default());
            } else {
                shown.push(c);
            }
            chars += 1;
        }
        if total > chars {
            shown.push_str(&format!("... ({} more characters)", total - chars));
        }
        out.push(shown);
    }
    if lines.len() > MAX_LINES {
        out.push(format!("... ({} more lines)", lines.len() - MAX_LINES));
    }
    out.join("\n")
}

/// The error and its causes, each cause once: a cause whose text its outer message already
/// holds (`path: No such file or directory` above `No such file or directory`) is not repeated.
fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Study(args) => study::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Env(cmd) => env_cmd::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::Report(args) => report::run(args),
        Command::TrialWorker => trial_worker::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let broken_pipe = err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            if let Some(incomplete) = err.downcast_ref::<Incomplete>() {
                eprintln!("{}", for_people(&incomplete.0));
                return ExitCode::from(1);
            }
            eprintln!("error: {}", for_people(&error_text(&err)));
            if err.chain().any(|e| e.is::<InputError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
