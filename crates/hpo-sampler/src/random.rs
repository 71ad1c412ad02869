//! Random search, the per-trial RNG and the numeric transform shared with TPE.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::space::{Distribution, Params};
use crate::study::{History, Sampler};

/// Which RNG stream a suggestion draws from: the random (startup) sampler and TPE never share one.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Random = 0,
    Tpe = 1,
}

/// The RNG of one suggestion, derived from `(seed, trial_number, stream)` only.
pub(crate) fn trial_rng(seed: u64, trial_number: u64, stream: Stream) -> ChaCha8Rng {
    let key = seed ^ (stream as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = ChaCha8Rng::seed_from_u64(key);
    rng.set_stream(trial_number);
    rng
}

/// A numeric parameter seen in its sampling space: widened by half a step on each side when
/// discrete, in logs when log-scaled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Numeric {
    /// Bounds of the sampling space.
    pub lo: f64,
    pub hi: f64,
    /// Original bounds.
    pub low: f64,
    pub high: f64,
    pub log: bool,
    /// Grid step, 0 when continuous.
    pub step: f64,
}

impl Numeric {
    pub(crate) fn of(dist: &Distribution) -> Option<Numeric> {
        let (low, high, log, step) = match *dist {
            Distribution::Float { low, high, log, step } => (low, high, log, step.unwrap_or(0.0)),
            Distribution::Int { low, high, log, step } => {
                (low as f64, high as f64, log, step as f64)
            }
            Distribution::Categorical { .. } => return None,
        };
        let (mut lo, mut hi) = (low - step / 2.0, high + step / 2.0);
        if log {
            lo = lo.ln();
            hi = hi.ln();
        }
        Some(Numeric { lo, hi, low, high, log, step })
    }

    /// Original value to sampling space.
    #[inline]
    pub(crate) fn transform(&self, x: f64) -> f64 {
        if self.log { x.ln() } else { x }
    }

    /// Sampling space to an original value, snapped to the grid (round half to even) and clipped.
    #[inline]
    pub(crate) fn untransform(&self, t: f64) -> f64 {
        let x = if self.log { t.exp() } else { t };
        if self.step > 0.0 {
            let k = ((x - self.low) / self.step).round_ties_even();
            (self.low + k * self.step).clamp(self.low, self.high)
        } else {
            x.clamp(self.low, self.high)
        }
    }
}

/// Draws one value of `dist` uniformly in its sampling space (internal representation).
pub(crate) fn uniform_internal(dist: &Distribution, rng: &mut ChaCha8Rng) -> f64 {
    match dist {
        Distribution::Categorical { choices } => rng.random_range(0..choices.len()) as f64,
        _ => match Numeric::of(dist) {
            Some(n) => n.untransform(n.lo + rng.random::<f64>() * (n.hi - n.lo)),
            None => 0.0,
        },
    }
}

/// Independent uniform sampling: floats uniform (log-uniform with `log`), grids uniform over
/// their points (log-ints log-uniform over `[low - 1/2, high + 1/2]`, as Optuna), categoricals
/// uniform. Fixed parameters take their only value and draw nothing.
#[derive(Clone, Debug)]
pub struct RandomSampler {
    seed: u64,
}

impl RandomSampler {
    /// A random sampler with this seed.
    pub fn new(seed: u64) -> Self {
        RandomSampler { seed }
    }
}

pub(crate) fn sample_random(history: History<'_>, seed: u64, trial_number: u64) -> Params {
    let mut rng = trial_rng(seed, trial_number, Stream::Random);
    history
        .space
        .iter()
        .map(|(name, dist)| {
            let x = if dist.is_fixed() {
                fixed_internal(dist)
            } else {
                uniform_internal(dist, &mut rng)
            };
            (name.to_string(), dist.value_of_internal(x))
        })
        .collect()
}

/// The internal value of a fixed distribution.
pub(crate) fn fixed_internal(dist: &Distribution) -> f64 {
    match *dist {
        Distribution::Float { low, .. } => low,
        Distribution::Int { low, .. } => low as f64,
        Distribution::Categorical { .. } => 0.0,
    }
}

impl Sampler for RandomSampler {
    fn sample(&self, history: History<'_>, trial_number: u64) -> Params {
        sample_random(history, self.seed, trial_number)
    }
}
