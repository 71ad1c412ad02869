//! One bracket: its rungs, each with the values recorded there, and Ray's `_Bracket.on_result`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::TrialId;
use crate::percentile::quantile_sorted;

/// A rung: a milestone and the (sign-adjusted) value each trial had when it was judged there.
///
/// Besides the record (a `BTreeMap`, so serialised state is stable) it keeps the non-NaN values
/// sorted, so a cutoff costs one binary-search insertion rather than a sort per decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RungState", into = "RungState")]
pub(crate) struct Rung {
    pub(crate) milestone: f64,
    pub(crate) recorded: BTreeMap<TrialId, f64>,
    sorted: Vec<f64>,
}

/// The serialised form of a rung: only the record (the sorted values are rebuilt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RungState {
    #[serde(with = "hpo_core::float")]
    milestone: f64,
    recorded: BTreeMap<TrialId, Value>,
}

/// A recorded value that survives JSON even when it is NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Value(#[serde(with = "hpo_core::float")] f64);

impl From<RungState> for Rung {
    fn from(state: RungState) -> Self {
        let mut rung = Rung::new(state.milestone);
        for (trial, Value(v)) in state.recorded {
            rung.record(trial, v);
        }
        rung
    }
}

impl From<Rung> for RungState {
    fn from(rung: Rung) -> Self {
        RungState {
            milestone: rung.milestone,
            recorded: rung.recorded.into_iter().map(|(t, v)| (t, Value(v))).collect(),
        }
    }
}

impl Rung {
    pub(crate) fn new(milestone: f64) -> Self {
        Rung { milestone, recorded: BTreeMap::new(), sorted: Vec::new() }
    }

    fn record(&mut self, trial: TrialId, value: f64) {
        if let Some(old) = self.recorded.insert(trial, value) {
            // Never happens through `on_result` (a recorded trial is skipped); keep the sorted
            // values consistent anyway.
            if !old.is_nan() {
                let at = self.sorted.partition_point(|x| x.total_cmp(&old).is_lt());
                self.sorted.remove(at);
            }
        }
        if !value.is_nan() {
            let at = self.sorted.partition_point(|x| x.total_cmp(&value).is_le());
            self.sorted.insert(at, value);
        }
    }

    /// Ray's `cutoff`: `None` with nothing recorded, NaN when everything recorded is NaN, else
    /// numpy's `nanpercentile(values, (1 - 1/rf) * 100)`.
    fn cutoff(&self, q: f64) -> Option<f64> {
        if self.recorded.is_empty() {
            None
        } else {
            Some(quantile_sorted(&self.sorted, q).unwrap_or(f64::NAN))
        }
    }
}

/// What happened at the one rung a result was judged at (values sign-adjusted: higher is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Judged {
    pub(crate) rung_index: usize,
    pub(crate) milestone: f64,
    pub(crate) cutoff: Option<f64>,
    pub(crate) others: usize,
    pub(crate) stop: bool,
}

/// A bracket: rungs in ascending milestone order (Ray stores them descending).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Bracket {
    pub(crate) rungs: Vec<Rung>,
}

impl Bracket {
    pub(crate) fn new(milestones: &[f64]) -> Self {
        Bracket { rungs: milestones.iter().map(|&m| Rung::new(m)).collect() }
    }

    /// Ray's `_Bracket.on_result` with a present metric: judge at most one rung, from the highest
    /// milestone down. `q` is the quantile in [0, 1]; `value` is sign-adjusted.
    pub(crate) fn on_result(
        &mut self,
        trial: TrialId,
        time: f64,
        value: f64,
        q: f64,
        stop_last_trials: bool,
    ) -> Option<Judged> {
        for (rung_index, rung) in self.rungs.iter_mut().enumerate().rev() {
            if time < rung.milestone {
                continue;
            }
            if rung.recorded.contains_key(&trial) {
                if !stop_last_trials {
                    // The decision to continue past this rung was made already.
                    return None;
                }
                continue;
            }
            let cutoff = rung.cutoff(q);
            let stop = cutoff.is_some_and(|c| value < c);
            let others = rung.recorded.len();
            rung.record(trial, value);
            return Some(Judged { rung_index, milestone: rung.milestone, cutoff, others, stop });
        }
        None
    }

    /// Index of the highest rung whose milestone is <= `time`.
    pub(crate) fn reached(&self, time: f64) -> Option<usize> {
        self.rungs.iter().rposition(|r| time >= r.milestone)
    }
}
