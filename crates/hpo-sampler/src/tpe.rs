//! The Tree-structured Parzen Estimator with Optuna 5.0's semantics and defaults.

use serde::{Deserialize, Serialize};

use crate::parzen::{Mixture, Scratch};
use crate::random::{Stream, fixed_internal, sample_random, trial_rng};
use crate::space::{Distribution, Params};
use crate::study::{Direction, History, Sampler, Trial, TrialState};

/// How kernel bandwidths are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BandwidthRule {
    /// Optuna 4.9/5.0: the larger gap to the neighbouring observations (bounds padded), for
    /// univariate and multivariate alike.
    #[default]
    Optuna5,
    /// Optuna 4.8 and earlier: the prior mean takes part in the gaps (univariate), and
    /// multivariate uses `0.2 * n^(-1/(d+4)) * (high - low)` (Scott-like).
    Optuna4,
}

/// TPE options. `Default` is Optuna 5.0's; [`TpeConfig::optuna4`] is Optuna 4.x's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TpeConfig {
    /// Random sampling until this many trials are complete or pruned.
    pub n_startup_trials: usize,
    /// Candidates drawn from the "below" estimator per suggestion.
    pub n_ei_candidates: usize,
    /// Weight of the prior component (and of the uniform part of categorical rows).
    pub prior_weight: f64,
    /// Lower-bound bandwidths by `(high - low) / min(100, n + 2)`.
    pub consider_magic_clip: bool,
    /// Let the outermost kernels use their gap to the bounds.
    pub consider_endpoints: bool,
    /// One joint (product-kernel) estimator over all parameters instead of one per parameter.
    pub multivariate: bool,
    /// Count running trials as pessimistic ("above") points.
    pub constant_liar: bool,
    /// Bandwidth rule.
    pub bandwidth: BandwidthRule,
}

impl Default for TpeConfig {
    fn default() -> Self {
        TpeConfig {
            n_startup_trials: 10,
            n_ei_candidates: 24,
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
            multivariate: true,
            constant_liar: true,
            bandwidth: BandwidthRule::Optuna5,
        }
    }
}

impl TpeConfig {
    /// Optuna 4.x defaults: univariate, no constant liar, the 4.x bandwidth rule.
    pub fn optuna4() -> Self {
        TpeConfig {
            multivariate: false,
            constant_liar: false,
            bandwidth: BandwidthRule::Optuna4,
            ..TpeConfig::default()
        }
    }

    /// Checks the options.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.prior_weight > 0.0 && self.prior_weight.is_finite()) {
            return Err(ConfigError::PriorWeight(self.prior_weight));
        }
        if self.n_ei_candidates == 0 {
            return Err(ConfigError::NoCandidates);
        }
        Ok(())
    }
}

/// Invalid sampler options.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `prior_weight` must be a positive finite number.
    #[error("tpe: prior_weight must be positive and finite, got {0}")]
    PriorWeight(f64),
    /// `n_ei_candidates` must be at least 1.
    #[error("tpe: n_ei_candidates must be at least 1")]
    NoCandidates,
}

/// Optuna's default gamma: `min(ceil(0.1 n), 25)` trials go "below".
pub fn default_gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// The TPE sampler: random for the first `n_startup_trials`, then the candidate with the best
/// `ln l(x) - ln g(x)` among `n_ei_candidates` drawn from `l`.
#[derive(Clone, Debug)]
pub struct TpeSampler {
    config: TpeConfig,
    seed: u64,
}

impl TpeSampler {
    /// A TPE sampler with these options and this seed.
    pub fn new(config: TpeConfig, seed: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(TpeSampler { config, seed })
    }

    /// The options.
    pub fn config(&self) -> &TpeConfig {
        &self.config
    }
}

impl Sampler for TpeSampler {
    fn sample(&self, history: History<'_>, trial_number: u64) -> Params {
        let n_finished = history
            .trials
            .iter()
            .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
            .count();
        if n_finished < self.config.n_startup_trials {
            // Exactly what RandomSampler with the same seed suggests.
            return sample_random(history, self.seed, trial_number);
        }
        let mut rng = trial_rng(self.seed, trial_number, Stream::Tpe);
        let considered: Vec<&Trial> = history
            .trials
            .iter()
            .filter(|t| match t.state {
                TrialState::Complete | TrialState::Pruned => true,
                TrialState::Running => self.config.constant_liar && t.number != trial_number,
                TrialState::Failed => false,
            })
            .collect();
        let n = considered.iter().filter(|t| t.state != TrialState::Running).count();
        let (below, above) = split_trials(&considered, default_gamma(n), history.direction);

        let mut params = Params::new();
        let free: Vec<(&str, &Distribution)> = history
            .space
            .iter()
            .filter(|(name, dist)| {
                if dist.is_fixed() {
                    params.insert(name.to_string(), dist.value_of_internal(fixed_internal(dist)));
                    false
                } else {
                    true
                }
            })
            .collect();
        let mut work = Work::default();
        if self.config.multivariate {
            sample_group(&free, &below, &above, &self.config, &mut rng, &mut work, &mut params);
        } else {
            for p in &free {
                sample_group(
                    std::slice::from_ref(p),
                    &below,
                    &above,
                    &self.config,
                    &mut rng,
                    &mut work,
                    &mut params,
                );
            }
        }
        params
    }
}

#[derive(Default)]
struct Work {
    cands: Vec<f64>,
    log_l: Vec<f64>,
    log_g: Vec<f64>,
    scratch: Scratch,
}

/// Samples the parameters `group` jointly and writes them into `params`.
fn sample_group(
    group: &[(&str, &Distribution)],
    below: &[&Trial],
    above: &[&Trial],
    config: &TpeConfig,
    rng: &mut rand_chacha::ChaCha8Rng,
    work: &mut Work,
    params: &mut Params,
) {
    if group.is_empty() {
        return;
    }
    let dists: Vec<&Distribution> = group.iter().map(|(_, d)| *d).collect();
    let l = Mixture::build(&dists, &observations(group, below), config, true);
    let g = Mixture::build(&dists, &observations(group, above), config, false);
    l.sample(rng, config.n_ei_candidates, &mut work.cands);
    l.log_pdf(&work.cands, &mut work.scratch, &mut work.log_l);
    g.log_pdf(&work.cands, &mut work.scratch, &mut work.log_g);
    let mut best = 0;
    let mut best_score = f64::NEG_INFINITY;
    for (i, (lv, gv)) in work.log_l.iter().zip(&work.log_g).enumerate() {
        let score = lv - gv;
        if score > best_score {
            best = i;
            best_score = score;
        }
    }
    let d = group.len();
    for (j, (name, dist)) in group.iter().enumerate() {
        params.insert(name.to_string(), dist.value_of_internal(work.cands[best * d + j]));
    }
}

/// Internal values `obs[j][i]` of the trials that have every parameter of `group`.
fn observations(group: &[(&str, &Distribution)], trials: &[&Trial]) -> Vec<Vec<f64>> {
    let mut obs: Vec<Vec<f64>> = vec![Vec::with_capacity(trials.len()); group.len()];
    let mut row = Vec::with_capacity(group.len());
    'trials: for t in trials {
        row.clear();
        for (name, dist) in group {
            match t.params.get(*name).and_then(|v| dist.to_internal(v)) {
                Some(x) if x.is_finite() => row.push(x),
                _ => continue 'trials,
            }
        }
        for (o, &x) in obs.iter_mut().zip(&row) {
            o.push(x);
        }
    }
    obs
}

/// Splits the trials into "below" (the best `n_below`) and "above", each in number order:
/// complete trials by value first, then pruned trials by (furthest step, best last value; NaN
/// worst, no intermediate value worst of all); running trials always go above.
#[doc(hidden)]
pub fn split_trials<'a>(
    trials: &[&'a Trial],
    n_below: usize,
    direction: Direction,
) -> (Vec<&'a Trial>, Vec<&'a Trial>) {
    let mut complete: Vec<&Trial> = Vec::new();
    let mut pruned: Vec<&Trial> = Vec::new();
    let mut above: Vec<&Trial> = Vec::new();
    for &t in trials {
        match t.state {
            TrialState::Complete => complete.push(t),
            TrialState::Pruned => pruned.push(t),
            _ => above.push(t),
        }
    }
    let sign = match direction {
        Direction::Minimize => 1.0,
        Direction::Maximize => -1.0,
    };
    let value = |t: &Trial| t.value.map_or(f64::INFINITY, |v| sign * v);
    complete.sort_by(|a, b| value(a).total_cmp(&value(b)));
    let n_c = n_below.min(complete.len());
    let mut below: Vec<&Trial> = complete[..n_c].to_vec();
    above.extend_from_slice(&complete[n_c..]);

    let key = |t: &Trial| -> (f64, f64) {
        match t.last_intermediate() {
            None => (1.0, 0.0),
            Some((step, v)) if v.is_nan() => (-(step as f64), f64::INFINITY),
            Some((step, v)) => (-(step as f64), sign * v),
        }
    };
    pruned.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let n_p = (n_below - n_c).min(pruned.len());
    below.extend_from_slice(&pruned[..n_p]);
    above.extend_from_slice(&pruned[n_p..]);
    below.sort_by_key(|t| t.number);
    above.sort_by_key(|t| t.number);
    (below, above)
}

/// One parameter's Parzen estimator, for checking against Optuna's reference numbers.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub struct ParzenSummary {
    /// Normalised mixture weights (observations, then the prior).
    pub weights: Vec<f64>,
    /// Kernel centres in sampling space (numeric parameters).
    pub mus: Vec<f64>,
    /// Kernel bandwidths in sampling space (numeric parameters).
    pub sigmas: Vec<f64>,
    /// Rows of choice probabilities (categorical parameters).
    pub rows: Vec<Vec<f64>>,
}

/// Builds the one-parameter estimator of `dist` from observations in internal representation
/// (the value, or the choice index).
#[doc(hidden)]
pub fn parzen_estimator_1d(
    dist: &Distribution,
    observations: &[f64],
    config: &TpeConfig,
) -> ParzenSummary {
    let m = Mixture::build(&[dist], &[observations.to_vec()], config, false);
    let mut s = ParzenSummary {
        weights: m.weights.clone(),
        mus: Vec::new(),
        sigmas: Vec::new(),
        rows: Vec::new(),
    };
    match &m.dims[0] {
        crate::parzen::Dim::Numeric(d) => {
            s.mus = d.mus.clone();
            s.sigmas = d.sigmas.clone();
        }
        crate::parzen::Dim::Categorical(c) => {
            s.rows = c.probs.chunks(c.n_choices).map(<[f64]>::to_vec).collect();
        }
    }
    s
}
