//! The words of a study that every decision crate uses: a trial's number, which metric values
//! are better, what can be wrong with a reported metric, and why a trial ended.

use serde::{Deserialize, Serialize};

/// A trial's number: 0, 1, 2, ... in the order the study started them.
pub type TrialId = u64;

/// Whether higher (`max`) or lower (`min`) metric values are better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Higher is better (the default).
    #[default]
    Max,
    /// Lower is better.
    Min,
}

impl Mode {
    /// True when `a` is strictly better than `b`; NaN is never better, nor worse.
    pub fn is_better(self, a: f64, b: f64) -> bool {
        match self {
            Mode::Max => a > b,
            Mode::Min => a < b,
        }
    }

    /// The factor that turns a value into one where higher is better (Ray's `metric_op`):
    /// 1 for `max`, -1 for `min`.
    pub fn sign(self) -> f64 {
        match self {
            Mode::Max => 1.0,
            Mode::Min => -1.0,
        }
    }

    /// `"max"` or `"min"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Max => "max",
            Mode::Min => "min",
        }
    }
}

/// What is wrong with a reported metric, if anything. The systems we match pass over these
/// silently; our crates say so to their caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricIssue {
    /// The result had no value for the metric.
    Missing,
    /// The value was NaN or infinite.
    NotFinite,
}

impl MetricIssue {
    /// The issue of a reported value, if any.
    pub fn of(value: Option<f64>) -> Option<MetricIssue> {
        match value {
            None => Some(MetricIssue::Missing),
            Some(v) if !v.is_finite() => Some(MetricIssue::NotFinite),
            Some(_) => None,
        }
    }
}

/// Why a trial ended, as the study's files write it (`stop_reason` in `predator_final.csv`, the
/// journal's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The plateau stopper fired.
    Plateau,
    /// The drop stopper fired.
    Drop,
    /// The maximum-iterations stopper fired.
    MaxIters,
    /// ASHA stopped the trial at a rung.
    AshaEarlyStop,
    /// The trial ended on its own, or ASHA stopped it at `max_t`.
    Completed,
    /// The trial failed: a panic, a NaN metric, a command that failed.
    Error,
    /// The study was cancelled while the trial ran; a resume runs it again.
    Interrupted,
}

impl StopReason {
    /// Every reason, in the order above.
    pub const ALL: [StopReason; 7] = [
        StopReason::Plateau,
        StopReason::Drop,
        StopReason::MaxIters,
        StopReason::AshaEarlyStop,
        StopReason::Completed,
        StopReason::Error,
        StopReason::Interrupted,
    ];

    /// The snake_case name, as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Plateau => "plateau",
            StopReason::Drop => "drop",
            StopReason::MaxIters => "max_iters",
            StopReason::AshaEarlyStop => "asha_early_stop",
            StopReason::Completed => "completed",
            StopReason::Error => "error",
            StopReason::Interrupted => "interrupted",
        }
    }

    /// The reason of a name as written in files (`None` for any other text).
    pub fn parse(text: &str) -> Option<StopReason> {
        StopReason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn better_follows_the_mode_and_nan_is_never_better() {
        assert!(Mode::Max.is_better(2.0, 1.0) && !Mode::Max.is_better(1.0, 2.0));
        assert!(Mode::Min.is_better(1.0, 2.0) && !Mode::Min.is_better(2.0, 1.0));
        for mode in [Mode::Max, Mode::Min] {
            assert!(!mode.is_better(f64::NAN, 1.0) && !mode.is_better(1.0, f64::NAN));
            assert!(!mode.is_better(1.0, 1.0));
            assert_eq!(mode.sign() * 3.0 > mode.sign() * 2.0, mode.is_better(3.0, 2.0));
        }
        assert_eq!(Mode::default(), Mode::Max);
    }

    #[test]
    fn modes_and_issues_are_written_as_words() {
        assert_eq!(serde_json::to_string(&Mode::Min).expect("json"), r#""min""#);
        assert_eq!(serde_json::from_str::<Mode>(r#""max""#).expect("json"), Mode::Max);
        assert!(serde_json::from_str::<Mode>(r#""maximize""#).is_err());
        assert_eq!(
            serde_json::to_string(&MetricIssue::NotFinite).expect("json"),
            r#""not_finite""#
        );
        assert_eq!(MetricIssue::of(None), Some(MetricIssue::Missing));
        assert_eq!(MetricIssue::of(Some(f64::INFINITY)), Some(MetricIssue::NotFinite));
        assert_eq!(MetricIssue::of(Some(0.5)), None);
    }

    #[test]
    fn stop_reasons_are_written_and_parsed_by_the_same_names() {
        for reason in StopReason::ALL {
            let json = serde_json::to_string(&reason).expect("json");
            assert_eq!(json, format!("\"{reason}\""));
            assert_eq!(StopReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(StopReason::parse("asha"), None);
    }
}
