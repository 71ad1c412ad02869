//! `hpo`: the command line of hpo-rs. Every user-facing command lives here; each subcommand is a
//! module that parses its arguments, calls the library crates, and prints for people.
//! Exit codes: 0 success, 1 runtime failure, 2 bad input (config, CSV, flags).

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
            eprintln!("error: {err:#}");
            if err.chain().any(|e| e.is::<InputError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
