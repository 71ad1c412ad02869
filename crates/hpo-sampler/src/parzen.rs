//! The Parzen estimator: a weighted mixture of product kernels over one or more parameters.
//!
//! Each observation is one mixture component (a truncated normal per numeric parameter, a row
//! of choice probabilities per categorical one) and a prior component is appended. Components
//! are chosen once per candidate and shared by every parameter of the mixture, so a mixture
//! over several parameters is the multivariate (product-kernel) estimator and a mixture over
//! one parameter is the univariate one.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::random::Numeric;
use crate::space::Distribution;
use crate::tpe::{BandwidthRule, TpeConfig};
use crate::truncnorm::{LN_SQRT_2PI, log_gauss_mass, log_ndtr, ndtr, ppf_linear, ppf_with_tail};

/// Lower bandwidth bound without the magic clip.
const EPS: f64 = 1e-12;

/// Optuna's default observation weights: ones below 25 observations, else a ramp from `1/n`
/// to 1 over the `n - 25` oldest followed by 25 ones.
pub(crate) fn observation_weights(n: usize, out: &mut Vec<f64>) {
    out.clear();
    if n < 25 {
        out.resize(n, 1.0);
        return;
    }
    let ramp = n - 25;
    let start = 1.0 / n as f64;
    for i in 0..ramp {
        let w =
            if ramp == 1 { start } else { start + (1.0 - start) * i as f64 / (ramp - 1) as f64 };
        out.push(w);
    }
    out.resize(n, 1.0);
}

/// Kernel bandwidths of the observations `mus` (already in sampling space) of a numeric
/// parameter whose sampling space is `[lo, hi]`. `n_dims` is the number of parameters of the
/// estimator (only used by the 4.x multivariate rule).
pub(crate) fn bandwidths(
    mus: &[f64],
    lo: f64,
    hi: f64,
    config: &TpeConfig,
    n_dims: usize,
    out: &mut Vec<f64>,
) {
    out.clear();
    let n = mus.len();
    if n == 0 {
        return;
    }
    let range = hi - lo;
    match config.bandwidth {
        BandwidthRule::Optuna4 if config.multivariate => {
            let sigma = 0.2 * (n.max(1) as f64).powf(-1.0 / (n_dims as f64 + 4.0)) * range;
            out.resize(n, sigma);
        }
        BandwidthRule::Optuna4 => {
            // The prior mean takes part in the gaps, then is dropped.
            let mut centres = Vec::with_capacity(n + 1);
            centres.extend_from_slice(mus);
            centres.push(0.5 * (lo + hi));
            let mut sigmas = Vec::new();
            neighbour_gaps(&centres, lo, hi, config.consider_endpoints, &mut sigmas);
            out.extend_from_slice(&sigmas[..n]);
        }
        BandwidthRule::Optuna5 => neighbour_gaps(mus, lo, hi, config.consider_endpoints, out),
    }
    let min_sigma =
        if config.consider_magic_clip { range / (100f64).min(n as f64 + 2.0) } else { EPS };
    for s in out.iter_mut() {
        *s = s.clamp(min_sigma, range.max(min_sigma));
    }
}

/// For each centre, the larger gap to its neighbours once the sorted centres are padded with
/// `lo` and `hi`; without endpoints the first and last take their inner gap (with >= 2 centres).
fn neighbour_gaps(centres: &[f64], lo: f64, hi: f64, endpoints: bool, out: &mut Vec<f64>) {
    let n = centres.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| centres[i].total_cmp(&centres[j]));
    let padded: Vec<f64> = std::iter::once(lo)
        .chain(order.iter().map(|&i| centres[i]))
        .chain(std::iter::once(hi))
        .collect();
    let mut sorted_sigmas: Vec<f64> =
        (1..=n).map(|i| (padded[i] - padded[i - 1]).max(padded[i + 1] - padded[i])).collect();
    if !endpoints && n >= 2 {
        sorted_sigmas[0] = padded[2] - padded[1];
        sorted_sigmas[n - 1] = padded[n] - padded[n - 1];
    }
    out.clear();
    out.resize(n, 0.0);
    for (rank, &i) in order.iter().enumerate() {
        out[i] = sorted_sigmas[rank];
    }
}

/// One numeric parameter's kernels (observations then the prior).
#[derive(Debug)]
pub(crate) struct NumericDim {
    pub(crate) spec: Numeric,
    pub(crate) mus: Vec<f64>,
    pub(crate) sigmas: Vec<f64>,
    /// `1 / sigma` and the log-density normaliser per kernel (continuous parameters only).
    inv_sigmas: Vec<f64>,
    /// Standardised truncation bounds (only in a mixture built for sampling).
    a: Vec<f64>,
    b: Vec<f64>,
    /// `ln sigma + ln mass + ln sqrt(2 pi)`: the continuous log-density normaliser.
    norm: Vec<f64>,
    /// Distinct `(mu, sigma)` kernels (repeated observations are common on a grid): the kernel
    /// `k` is the distinct kernel `uniq_of[k]`, whose values are in `u_mu` etc.
    uniq_of: Vec<usize>,
    u_mu: Vec<f64>,
    u_inv_sigma: Vec<f64>,
    u_log_mass: Vec<f64>,
    /// `ln Phi(a)` (or `ln Phi(-b)` when `a >= 0`) per distinct kernel, for sampling.
    u_log_tail: Vec<f64>,
    /// The same two in linear space (`exp` of them), for the direct inversion.
    u_tail: Vec<f64>,
    u_mass: Vec<f64>,
}

/// One categorical parameter's kernels: a row of choice probabilities per component.
#[derive(Debug)]
pub(crate) struct CategoricalDim {
    pub(crate) n_choices: usize,
    pub(crate) probs: Vec<f64>,
    log_probs: Vec<f64>,
}

#[derive(Debug)]
pub(crate) enum Dim {
    Numeric(Box<NumericDim>),
    Categorical(CategoricalDim),
}

/// A mixture of product kernels.
#[derive(Debug)]
pub(crate) struct Mixture {
    pub(crate) weights: Vec<f64>,
    log_weights: Vec<f64>,
    cum_weights: Vec<f64>,
    pub(crate) dims: Vec<Dim>,
}

impl Mixture {
    /// Builds the estimator of `dists` from `obs[d][i]`, observation `i` of parameter `d` in
    /// internal representation (number, or choice index).
    /// `for_sampling` prepares what drawing from the mixture needs (only "below" is sampled).
    pub(crate) fn build(
        dists: &[&Distribution],
        obs: &[Vec<f64>],
        config: &TpeConfig,
        for_sampling: bool,
    ) -> Mixture {
        let n = obs.first().map_or(0, Vec::len);
        let mut weights = Vec::with_capacity(n + 1);
        observation_weights(n, &mut weights);
        weights.push(if n == 0 { 1.0 } else { config.prior_weight });
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let log_weights = weights.iter().map(|w| w.ln()).collect();
        let mut acc = 0.0;
        let cum_weights = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        let dims = dists
            .iter()
            .zip(obs)
            .map(|(dist, o)| build_dim(dist, o, config, dists.len(), for_sampling))
            .collect();
        Mixture { weights, log_weights, cum_weights, dims }
    }

    pub(crate) fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// Draws `n` candidates; `out[i * d + j]` is candidate `i`'s value of parameter `j`
    /// (internal representation, on the grid).
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng, n: usize, out: &mut Vec<f64>) {
        out.clear();
        let last = self.cum_weights.len() - 1;
        for _ in 0..n {
            let u = rng.random::<f64>() * self.cum_weights[last];
            let k = self.cum_weights.iter().position(|&c| u < c).unwrap_or(last);
            for dim in &self.dims {
                let x = match dim {
                    Dim::Numeric(d) => {
                        let q = rng.random::<f64>();
                        let u = d.uniq_of[k];
                        let (a, b) = (d.a[k], d.b[k]);
                        let z =
                            ppf_linear(q, a, b, d.u_tail[u], d.u_mass[u]).unwrap_or_else(|| {
                                ppf_with_tail(q, a, b, d.u_log_mass[u], d.u_log_tail[u])
                            });
                        d.spec.untransform(d.mus[k] + d.sigmas[k] * z)
                    }
                    Dim::Categorical(c) => {
                        let row = &c.probs[k * c.n_choices..(k + 1) * c.n_choices];
                        let u = rng.random::<f64>();
                        let mut acc = 0.0;
                        let mut pick = c.n_choices - 1;
                        for (i, p) in row.iter().enumerate() {
                            acc += p;
                            if u < acc {
                                pick = i;
                                break;
                            }
                        }
                        pick as f64
                    }
                };
                out.push(x);
            }
        }
    }

    /// Log density (log mass for discrete parameters) of each candidate of `cands` (laid out as
    /// `sample` writes them) into `out`. `scratch` is reused working memory.
    pub(crate) fn log_pdf(&self, cands: &[f64], scratch: &mut Scratch, out: &mut Vec<f64>) {
        let d = self.dims.len();
        let n_cand = cands.len() / d.max(1);
        let k_n = self.n_components();
        let acc = &mut scratch.acc;
        acc.clear();
        for _ in 0..n_cand {
            acc.extend_from_slice(&self.log_weights);
        }
        for (j, dim) in self.dims.iter().enumerate() {
            match dim {
                Dim::Numeric(nd) if nd.spec.step == 0.0 => {
                    for i in 0..n_cand {
                        let t = nd.spec.transform(cands[i * d + j]);
                        let row = &mut acc[i * k_n..(i + 1) * k_n];
                        let kernels = nd.mus.iter().zip(&nd.inv_sigmas).zip(&nd.norm);
                        for (r, ((mu, inv), norm)) in row.iter_mut().zip(kernels) {
                            let z = (t - mu) * inv;
                            *r -= 0.5 * z * z + norm;
                        }
                    }
                }
                Dim::Numeric(nd) => {
                    // Discrete: the mass of each distinct value's cell under each distinct
                    // kernel, from the normal tail at each distinct cell boundary.
                    let Scratch { uniq, table, bounds, cells, tails, .. } = scratch;
                    uniq.clear();
                    uniq.extend((0..n_cand).map(|i| cands[i * d + j]));
                    uniq.sort_by(f64::total_cmp);
                    uniq.dedup();
                    bounds.clear();
                    cells.clear();
                    let half = nd.spec.step / 2.0;
                    for &u in uniq.iter() {
                        let lb = nd.spec.transform(u - half).max(nd.spec.lo);
                        let ub = nd.spec.transform(u + half).min(nd.spec.hi);
                        if bounds.last() != Some(&lb) {
                            bounds.push(lb);
                        }
                        bounds.push(ub);
                        cells.push(bounds.len() - 2);
                    }
                    let n_u = nd.u_mu.len();
                    table.clear();
                    table.resize(uniq.len() * n_u, 0.0);
                    for c in 0..n_u {
                        let (mu, inv) = (nd.u_mu[c], nd.u_inv_sigma[c]);
                        tails.clear();
                        tails.extend(bounds.iter().map(|&x| {
                            let z = (x - mu) * inv;
                            if z.abs() > 38.5 { 0.0 } else { ndtr(-z.abs()) }
                        }));
                        for (ui, &bi) in cells.iter().enumerate() {
                            let za = (bounds[bi] - mu) * inv;
                            let zb = (bounds[bi + 1] - mu) * inv;
                            let mass = if zb <= 0.0 {
                                tails[bi + 1] - tails[bi]
                            } else if za >= 0.0 {
                                tails[bi] - tails[bi + 1]
                            } else {
                                1.0 - tails[bi] - tails[bi + 1]
                            };
                            let lm = if mass > 1e-280 { mass.ln() } else { log_gauss_mass(za, zb) };
                            table[ui * n_u + c] = lm - nd.u_log_mass[c];
                        }
                    }
                    for i in 0..n_cand {
                        let x = cands[i * d + j];
                        let ui = uniq.partition_point(|&v| v < x).min(uniq.len() - 1);
                        let trow = &table[ui * n_u..(ui + 1) * n_u];
                        let row = &mut acc[i * k_n..(i + 1) * k_n];
                        for (r, &u) in row.iter_mut().zip(&nd.uniq_of) {
                            *r += trow[u];
                        }
                    }
                }
                Dim::Categorical(c) => {
                    for i in 0..n_cand {
                        let x = cands[i * d + j] as usize;
                        let row = &mut acc[i * k_n..(i + 1) * k_n];
                        let column = c.log_probs[x..].iter().step_by(c.n_choices);
                        for (r, lp) in row.iter_mut().zip(column) {
                            *r += lp;
                        }
                    }
                }
            }
        }
        out.clear();
        for i in 0..n_cand {
            let row = &acc[i * k_n..(i + 1) * k_n];
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if m == f64::NEG_INFINITY {
                out.push(m);
                continue;
            }
            // Terms below e^-50 of the largest cannot change the sum (>= 1) in f64: skip
            // their `exp` (most kernels of "above" sit far from a candidate).
            let s: f64 = row.iter().map(|&v| v - m).filter(|&d| d > -50.0).map(f64::exp).sum();
            out.push(m + s.ln());
        }
    }
}

/// Working memory reused across `log_pdf` calls.
#[derive(Default)]
pub(crate) struct Scratch {
    acc: Vec<f64>,
    uniq: Vec<f64>,
    table: Vec<f64>,
    bounds: Vec<f64>,
    cells: Vec<usize>,
    tails: Vec<f64>,
}

fn build_dim(
    dist: &Distribution,
    obs: &[f64],
    config: &TpeConfig,
    n_dims: usize,
    for_sampling: bool,
) -> Dim {
    match dist {
        Distribution::Categorical { choices } => {
            let nc = choices.len();
            let n = obs.len();
            let mut probs = Vec::with_capacity((n + 1) * nc);
            if n > 0 {
                let fill = config.prior_weight / (n + 1) as f64;
                for &o in obs {
                    let own = o as usize;
                    let total = fill * nc as f64 + 1.0;
                    probs
                        .extend((0..nc).map(|c| (fill + if c == own { 1.0 } else { 0.0 }) / total));
                }
            }
            probs.extend(std::iter::repeat_n(1.0 / nc as f64, nc));
            let log_probs = probs.iter().map(|p| p.ln()).collect();
            Dim::Categorical(CategoricalDim { n_choices: nc, probs, log_probs })
        }
        _ => {
            // Numeric::of is Some for every non-categorical distribution.
            let spec = Numeric::of(dist).unwrap_or(Numeric {
                lo: 0.0,
                hi: 1.0,
                low: 0.0,
                high: 1.0,
                log: false,
                step: 0.0,
            });
            let mut mus: Vec<f64> = obs.iter().map(|&x| spec.transform(x)).collect();
            let mut sigmas = Vec::with_capacity(mus.len() + 1);
            bandwidths(&mus, spec.lo, spec.hi, config, n_dims, &mut sigmas);
            mus.push(0.5 * (spec.lo + spec.hi));
            sigmas.push(spec.hi - spec.lo);
            let k_n = mus.len();
            // Distinct kernels, in (mu, sigma) order.
            let mut order: Vec<usize> = (0..k_n).collect();
            order.sort_by(|&i, &j| mus[i].total_cmp(&mus[j]).then(sigmas[i].total_cmp(&sigmas[j])));
            let mut uniq_of = vec![0; k_n];
            let (mut u_mu, mut u_sigma) = (Vec::new(), Vec::new());
            for &k in &order {
                if u_mu.last() != Some(&mus[k]) || u_sigma.last() != Some(&sigmas[k]) {
                    u_mu.push(mus[k]);
                    u_sigma.push(sigmas[k]);
                }
                uniq_of[k] = u_mu.len() - 1;
            }
            let mut u_log_mass = Vec::with_capacity(u_mu.len());
            let mut u_log_tail = Vec::with_capacity(u_mu.len());
            for (&mu, &s) in u_mu.iter().zip(&u_sigma) {
                let a = (spec.lo - mu) / s;
                let b = (spec.hi - mu) / s;
                u_log_mass.push(log_gauss_mass(a, b));
                if for_sampling {
                    u_log_tail.push(if a < 0.0 { log_ndtr(a) } else { log_ndtr(-b) });
                }
            }
            let u_inv_sigma: Vec<f64> = u_sigma.iter().map(|s| 1.0 / s).collect();
            let u_tail: Vec<f64> = u_log_tail.iter().map(|t| t.exp()).collect();
            let u_mass: Vec<f64> = if for_sampling {
                u_log_mass.iter().map(|m| m.exp()).collect()
            } else {
                Vec::new()
            };
            let mut dim = NumericDim {
                spec,
                inv_sigmas: Vec::with_capacity(k_n),
                a: Vec::with_capacity(k_n),
                b: Vec::with_capacity(k_n),
                norm: Vec::with_capacity(k_n),
                mus,
                sigmas,
                uniq_of,
                u_mu,
                u_inv_sigma,
                u_log_mass,
                u_log_tail,
                u_tail,
                u_mass,
            };
            // Per kernel: what sampling needs (truncation bounds), and what the continuous
            // density needs (discrete ones work on the distinct kernels).
            for k in 0..k_n {
                let (mu, s) = (dim.mus[k], dim.sigmas[k]);
                if for_sampling {
                    dim.a.push((spec.lo - mu) / s);
                    dim.b.push((spec.hi - mu) / s);
                }
                if spec.step == 0.0 {
                    let lm = dim.u_log_mass[dim.uniq_of[k]];
                    dim.inv_sigmas.push(1.0 / s);
                    dim.norm.push(s.ln() + lm + LN_SQRT_2PI);
                }
            }
            Dim::Numeric(Box::new(dim))
        }
    }
}
