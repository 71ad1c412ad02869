//! `hpo-asha`: Ray Tune's asynchronous successive halving (`AsyncHyperBandScheduler`, alias
//! `ASHAScheduler`, ray 2.x) as a pure, seeded state machine.
//!
//! For the same events it makes the same CONTINUE/STOP decisions as Ray, decision by decision:
//!
//! - **Rungs.** Bracket `s` has `R = trunc(ln(max_t / grace) / ln(rf) - s + 1)` rungs, computed in
//!   f64 exactly so (max_t 243, grace 1, rf 3 gives 1, 3, 9, 27, 81 and no 243), at milestones
//!   `grace * rf^(k + s)`.
//! - **Brackets.** A trial added without a bracket gets one drawn from a softmax over the
//!   brackets' rung counts, from a `ChaCha8Rng` seeded by the caller (Ray uses numpy's unseeded
//!   global RNG: the one place we differ, on purpose). A bracket may also be given explicitly.
//! - **One rung per result.** From the highest milestone down, the first rung the trial's time has
//!   reached and where it has no value yet is judged: the cutoff is numpy's linear
//!   `nanpercentile` at `(1 - 1/rf) * 100` of the *other* trials' values there (bit for bit, with
//!   numpy's two-sided lerp); the trial stops if its value is strictly below it; its value is
//!   recorded either way. Rungs skipped by a jump are judged on later results ("catch-up").
//! - **NaN** values never stop a trial and are recorded; a missing metric continues and records
//!   nothing (and [`MetricIssue`] tells the caller). `time >= max_t` stops with
//!   [`AshaDecision::MaxT`] when `stop_last_trials` is set. [`Asha::on_trial_complete`] runs the
//!   rung logic once more with the trial's last result, as Ray does.
//! - **Modes.** Values are stored sign-adjusted (`-value` in min mode) so higher is better.
//!
//! It is *not* a runner: it knows nothing of threads, files, training or RL, does no I/O, and never
//! acts on its decisions: it returns them. Its state is serde-serialisable (ordered maps, so the
//! output is stable) and is also rebuilt exactly by replaying the same events with the same seed.
//! Invalid parameters are an [`AshaError`] naming the field, never a panic.
//!
//! ```
//! use hpo_asha::{Asha, AshaConfig, AshaDecision, Mode};
//!
//! let config = AshaConfig { max_t: 10.0, grace_period: 1.0, reduction_factor: 2.0, ..AshaConfig::default() };
//! let mut asha = Asha::new(config, Mode::Max, 7)?;
//! asha.add_trial(0, None)?;
//! asha.add_trial(1, Some(0))?;
//! // The first trial at a rung always continues; the second is compared with it.
//! assert_eq!(asha.on_result(0, 1.0, Some(0.9))?.decision, AshaDecision::Continue);
//! let step = asha.on_result(1, 1.0, Some(0.5))?;
//! assert_eq!(step.decision, AshaDecision::EarlyStop);
//! assert_eq!(step.verdict.map(|v| v.cutoff), Some(Some(0.9)));
//! asha.on_trial_complete(1, 1.0, Some(0.5))?;
//! assert_eq!(asha.progress(1).map(|p| p.pruned_at), Some(Some(1.0)));
//! // Invalid parameters name the field.
//! let bad = AshaConfig { reduction_factor: 1.0, ..AshaConfig::default() };
//! assert!(Asha::new(bad, Mode::Max, 0).unwrap_err().to_string().contains("reduction_factor"));
//! # Ok::<(), hpo_asha::AshaError>(())
//! ```

mod bracket;
mod config;
mod error;
mod percentile;
mod scheduler;

pub use config::AshaConfig;
pub use error::AshaError;
/// The study's words, shared with the other hpo-rs crates.
pub use hpo_core::{MetricIssue, Mode, TrialId};
pub use percentile::nanpercentile;
pub use scheduler::{Asha, AshaDecision, AshaStep, RungVerdict, TrialProgress};
