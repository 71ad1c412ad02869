//! The words of a study that every decision crate uses: a trial's number, which metric values
//! are better, and what can be wrong with a reported metric.

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
}
