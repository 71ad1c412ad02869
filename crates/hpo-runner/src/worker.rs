//! A trial worker: one thread per trial, pinned to the first core of its group. It starts the
//! objective, runs one iteration at a time, sends each report up and waits for the decision
//! before the next iteration. Panics are caught and sent up as failures.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::cores::pin_current_thread;
use crate::objective::{Metrics, Objective, TrialContext};

/// What a worker tells the coordinator.
#[derive(Debug)]
pub enum Up {
    /// The trial started; it resumed after `resumed_after` iterations (0: fresh).
    Started {
        /// Trial number.
        trial: u64,
        /// Iterations already done before this start (restored from a checkpoint).
        resumed_after: u64,
    },
    /// One iteration's metrics; the worker waits for a [`Down`] before going on.
    Report {
        /// Trial number.
        trial: u64,
        /// The iteration (1-based).
        iteration: u64,
        /// Its metrics.
        metrics: Metrics,
    },
    /// A checkpoint was saved after `iteration`.
    Checkpoint {
        /// Trial number.
        trial: u64,
        /// The iteration saved.
        iteration: u64,
    },
    /// The training ended on its own.
    Finished {
        /// Trial number.
        trial: u64,
    },
    /// The trial failed (start error, iteration error, panic).
    Failed {
        /// Trial number.
        trial: u64,
        /// What went wrong.
        error: String,
    },
    /// Messages for people from the running trial (see `TrialRun::take_notes`).
    Note {
        /// Trial number.
        trial: u64,
        /// The message.
        message: String,
    },
    /// The worker thread is done with the trial and its cores are free.
    Exited {
        /// Trial number.
        trial: u64,
    },
}

/// The coordinator's answer to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    /// Run the next iteration (and checkpoint first if asked).
    Continue {
        /// Save a checkpoint now.
        checkpoint: bool,
    },
    /// End the trial now.
    Stop,
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

/// Run one trial to its end. Always sends `Exited` last.
pub fn run_trial(
    ctx: TrialContext,
    objective: Arc<dyn Objective>,
    up: Sender<Up>,
    down: Receiver<Down>,
) {
    let trial = ctx.trial;
    if let Some(core) = ctx.cores.first() {
        pin_current_thread(*core);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| drive(&ctx, objective.as_ref(), &up, &down)));
    if let Err(payload) = outcome {
        let _ = up.send(Up::Failed { trial, error: panic_message(payload.as_ref()) });
    }
    let _ = up.send(Up::Exited { trial });
}

fn drive(ctx: &TrialContext, objective: &dyn Objective, up: &Sender<Up>, down: &Receiver<Down>) {
    let trial = ctx.trial;
    let resumed_after = ctx.resume_after;
    let mut run = match objective.start(ctx) {
        Ok(started) => started,
        Err(e) => {
            let _ = up.send(Up::Failed { trial, error: e.to_string() });
            return;
        }
    };
    let _ = up.send(Up::Started { trial, resumed_after });
    let mut iteration = resumed_after;
    loop {
        let stepped = run.step();
        for message in run.take_notes() {
            let _ = up.send(Up::Note { trial, message });
        }
        match stepped {
            Ok(Some(metrics)) => {
                iteration += 1;
                if up.send(Up::Report { trial, iteration, metrics }).is_err() {
                    return;
                }
                match down.recv() {
                    Ok(Down::Continue { checkpoint }) => {
                        if checkpoint {
                            match run.checkpoint(iteration) {
                                Ok(Some(saved)) => {
                                    let _ = up.send(Up::Checkpoint { trial, iteration: saved });
                                }
                                Ok(None) => {}
                                // The last good checkpoint stays the one to resume from (a
                                // save is written aside and renamed into place): a full disk
                                // costs a checkpoint, not the trial.
                                Err(e) => {
                                    let why = match e {
                                        crate::objective::ObjectiveError::Iteration {
                                            message,
                                            ..
                                        } => message,
                                        other => other.to_string(),
                                    };
                                    let message = format!(
                                        "checkpoint after iteration {iteration} not saved ({why}); the trial goes on from the last saved one"
                                    );
                                    let _ = up.send(Up::Note { trial, message });
                                }
                            }
                        }
                    }
                    Ok(Down::Stop) | Err(_) => return,
                }
            }
            Ok(None) => {
                let _ = up.send(Up::Finished { trial });
                return;
            }
            Err(e) => {
                let _ = up.send(Up::Failed { trial, error: e.to_string() });
                return;
            }
        }
    }
    // `run` is dropped here: a command objective kills its child, PPO joins its threads.
}
