//! Standard normal and truncated-normal numerics in log space.
//!
//! Everything here works on the *standard* normal: callers divide by sigma first. The log-space
//! forms keep full relative precision far into the tails (a kernel whose centre sits on a bound
//! with a tiny bandwidth truncates at 40 standard deviations), which a plain `Phi(b) - Phi(a)`
//! would round to zero.

use libm::erfc;
use statrs::function::erf::erfc_inv;

/// `ln(sqrt(2 pi))`.
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Beyond this many standard deviations the tail mass is below 1.2e-19: dropping it changes no
/// `f64` result of `ln(1 - tail)`.
const NEGLIGIBLE_TAIL: f64 = 9.0;

/// Standard normal log density.
#[inline]
pub(crate) fn norm_logpdf(x: f64) -> f64 {
    -0.5 * x * x - LN_SQRT_2PI
}

/// Standard normal CDF, accurate in the left tail (and to absolute precision in the right one).
#[inline]
pub(crate) fn ndtr(x: f64) -> f64 {
    if x <= 0.0 { upper_tail(-x) } else { 1.0 - upper_tail(x) }
}

/// `1 / sqrt(2 pi)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Spacing of the [`upper_tail`] table and its number of Taylor coefficients per point.
const TAIL_STEP: f64 = 0.125;
const TAIL_TERMS: usize = 12;
/// The table covers `[0, TAIL_END]`; beyond it the tail is below 1e-300 and `erfc` takes over.
const TAIL_END: f64 = 37.0;

/// `Q(t) = 1 - Phi(t)` for `t >= 0`, to about 2e-15 relative precision (tested), several times
/// faster than `erfc`: `Q(t) = exp(-t^2 / 2) M(t)` where the smooth `M` (the Mills ratio over
/// `sqrt(2 pi)`) comes from a Taylor polynomial around the nearest table point, and
/// `exp(-t^2 / 2)` is split so that the square loses nothing to rounding.
#[inline]
pub(crate) fn upper_tail(t: f64) -> f64 {
    if t.is_nan() || t >= TAIL_END {
        return if t.is_nan() { t } else { 0.5 * erfc(t * std::f64::consts::FRAC_1_SQRT_2) };
    }
    // The nearest table point (t >= 0, so truncating t / step + 1/2 rounds).
    let i = (t * (1.0 / TAIL_STEP) + 0.5) as usize;
    let u = t - i as f64 * TAIL_STEP;
    let a = &tail_table()[i];
    // Estrin's scheme: a short dependency chain instead of Horner's eleven steps.
    let u2 = u * u;
    let u4 = u2 * u2;
    let p01 = a[0] + a[1] * u + (a[2] + a[3] * u) * u2;
    let p47 = a[4] + a[5] * u + (a[6] + a[7] * u) * u2;
    let p811 = a[8] + a[9] * u + (a[10] + a[11] * u) * u2;
    let m = p01 + (p47 + p811 * u4) * u4;
    exp_minus_half_square(t) * m
}

/// Taylor coefficients of `M(t) = Q(t) exp(t^2 / 2)` around `t_i = i * TAIL_STEP`, from
/// `M' = t M - 1 / sqrt(2 pi)`: `(n + 1) a_{n+1} = t_i a_n + a_{n-1}` (minus the constant for
/// `n = 0`).
fn tail_table() -> &'static [[f64; TAIL_TERMS]] {
    static TABLE: std::sync::OnceLock<Vec<[f64; TAIL_TERMS]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let n_points = (TAIL_END / TAIL_STEP).ceil() as usize + 1;
        (0..n_points)
            .map(|i| {
                let t = i as f64 * TAIL_STEP;
                let mut a = [0.0; TAIL_TERMS];
                a[0] = mills_over_sqrt_2pi(t);
                a[1] = t * a[0] - INV_SQRT_2PI;
                for n in 1..TAIL_TERMS - 1 {
                    a[n + 1] = (t * a[n] + a[n - 1]) / (n + 1) as f64;
                }
                a
            })
            .collect()
    })
}

/// `M(t) = Q(t) exp(t^2 / 2)`. Below 2 from `erfc` (whose argument `t / sqrt 2` is rounded,
/// an error of about `t^2` ulps, small there); from 2 on from the continued fraction of the
/// Mills ratio, `1 / (t + 1 / (t + 2 / (t + 3 / (t + ...))))`, evaluated from the bottom up.
fn mills_over_sqrt_2pi(t: f64) -> f64 {
    if t < 2.0 {
        return 0.5 * erfc(t * std::f64::consts::FRAC_1_SQRT_2) * (0.5 * t * t).exp();
    }
    let mut f = t;
    for k in (1..=1000).rev() {
        f = t + k as f64 / f;
    }
    INV_SQRT_2PI / f
}

/// `exp(-t^2 / 2)` without the rounding error of `t^2` (up to 1e-13 relative at t = 37):
/// `exp(-h^2 / 2) exp(-d)` with `h` = `t` cut to 26 significant bits, so `h^2 / 2` is exact,
/// and `d = (t - h)(t + h) / 2` tiny (below 3e-5), whose `exp` takes four series terms.
#[inline]
fn exp_minus_half_square(t: f64) -> f64 {
    let h = f64::from_bits(t.to_bits() & 0xFFFF_FFFF_F800_0000);
    let d = 0.5 * (t - h) * (t + h);
    (-0.5 * h * h).exp() * (1.0 - d * (1.0 - d * (0.5 - d * (1.0 / 6.0))))
}

/// `ln Phi(x)` with full relative precision everywhere.
pub(crate) fn log_ndtr(x: f64) -> f64 {
    if x > 6.0 {
        // ln(1 - p) = -p - p^2/2 - ..., and p < 1e-9 here.
        -ndtr(-x)
    } else if x > -20.0 {
        ndtr(x).ln()
    } else {
        // Asymptotic series: Phi(x) = phi(x) / (-x) * (1 - 1/x^2 + 3/x^4 - 15/x^6 + ...).
        let log_lhs = -0.5 * x * x - (-x).ln() - LN_SQRT_2PI;
        let inv_x2 = 1.0 / (x * x);
        let mut total = 1.0;
        let mut term = 1.0;
        for i in 1..60 {
            term *= -((2 * i - 1) as f64) * inv_x2;
            let next = total + term;
            if next == total {
                break;
            }
            total = next;
        }
        log_lhs + total.ln()
    }
}

/// `ln(exp(p) + exp(q))`.
#[inline]
pub(crate) fn log_add_exp(p: f64, q: f64) -> f64 {
    let m = p.max(q);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((p - m).exp() + (q - m).exp()).ln()
}

/// `ln(exp(p) - exp(q))` for `p >= q`.
#[inline]
fn log_diff_exp(p: f64, q: f64) -> f64 {
    if q == f64::NEG_INFINITY {
        return p;
    }
    p + (-(q - p).exp()).ln_1p()
}

/// `ln(Phi(b) - Phi(a))` for `a <= b`: the log mass of the standard normal on `[a, b]`.
pub(crate) fn log_gauss_mass(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        left_tail_mass(a, b)
    } else if a > 0.0 {
        left_tail_mass(-b, -a)
    } else {
        // Central: 1 - Phi(a) - Phi(-b); skip tails too small to matter (saves two erfc calls).
        let left = if a < -NEGLIGIBLE_TAIL { 0.0 } else { ndtr(a) };
        let right = if b > NEGLIGIBLE_TAIL { 0.0 } else { ndtr(-b) };
        (-left - right).ln_1p()
    }
}

/// Mass on `[a, b]` with `b <= 0`: a direct difference while it is representable, else in logs.
#[inline]
fn left_tail_mass(a: f64, b: f64) -> f64 {
    let pb = ndtr(b);
    if pb > 1e-280 {
        let pa = if a == f64::NEG_INFINITY { 0.0 } else { ndtr(a) };
        let diff = pb - pa;
        if diff > 0.0 {
            return diff.ln();
        }
    }
    log_diff_exp(log_ndtr(b), log_ndtr(a))
}

/// `x` with `ln Phi(x) = y` (`y <= 0`), by Newton's method in log space.
pub(crate) fn ndtri_exp(y: f64) -> f64 {
    if y >= 0.0 {
        return f64::INFINITY;
    }
    if y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if y > -1e-2 {
        // Phi(x) close to 1: solve for -x in the left tail, where precision lives.
        let z = (-y.exp_m1()).ln();
        return -ndtri_exp_left(z);
    }
    ndtri_exp_left(y)
}

fn ndtri_exp_left(z: f64) -> f64 {
    let mut x = if z > -700.0 {
        -std::f64::consts::SQRT_2 * erfc_inv(2.0 * z.exp())
    } else {
        -(-2.0 * (z + LN_SQRT_2PI)).sqrt()
    };
    for _ in 0..60 {
        let l = log_ndtr(x);
        let dx = (l - z) * (l - norm_logpdf(x)).exp();
        if !dx.is_finite() {
            break;
        }
        x -= dx;
        // Newton converges quadratically: a step this small leaves an error near 1e-16.
        if dx.abs() <= 1e-8 * (1.0 + x.abs()) {
            break;
        }
    }
    x
}

/// Inverse CDF of the standard normal truncated to `[a, b]` at quantile `q` in `[0, 1)`, in
/// linear space: `tail` is `Phi(a)` when `a < 0`, else `Phi(-b)`, and `mass` is
/// `Phi(b) - Phi(a)`. `None` when the target probability is too close to 0 or 1 for a direct
/// inversion to keep full precision; [`ppf_with_tail`] handles those in log space.
#[inline]
pub(crate) fn ppf_linear(q: f64, a: f64, b: f64, tail: f64, mass: f64) -> Option<f64> {
    if a >= b {
        return Some(a);
    }
    // The side of the distribution nearer its tail: Phi(a) + q mass (left), or by symmetry
    // Phi(-b) + (1 - q) mass for a kernel whose truncation lies right of its centre.
    let p = if a < 0.0 { tail + q * mass } else { tail + (1.0 - q) * mass };
    // erfc_inv(2p) is accurate to a few ulps of its result; near p = 1 the input 2 - 2p loses
    // relative precision, so leave that to the log-space path.
    if !(p > 1e-300 && p < 0.999) {
        return None;
    }
    let x = -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p);
    let x = if a < 0.0 { x } else { -x };
    Some(if x.is_nan() { a } else { x.clamp(a, b) })
}

#[cfg(test)]
/// Inverse CDF of the standard normal truncated to `[a, b]` at quantile `q` in `[0, 1)`;
/// `log_mass` is `log_gauss_mass(a, b)`. The result is clamped to `[a, b]`.
pub(crate) fn ppf(q: f64, a: f64, b: f64, log_mass: f64) -> f64 {
    let tail = if a < 0.0 { log_ndtr(a) } else { log_ndtr(-b) };
    ppf_with_tail(q, a, b, log_mass, tail)
}

/// [`ppf`] with `log_tail = ln Phi(a)` when `a < 0`, else `ln Phi(-b)`, precomputed.
pub(crate) fn ppf_with_tail(q: f64, a: f64, b: f64, log_mass: f64, log_tail: f64) -> f64 {
    if a >= b {
        return a;
    }
    let x = if a < 0.0 {
        ndtri_exp(log_add_exp(log_tail, q.ln() + log_mass))
    } else {
        -ndtri_exp(log_add_exp(log_tail, (-q).ln_1p() + log_mass))
    };
    if x.is_nan() { a } else { x.clamp(a, b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn log_ndtr_matches_known_values() {
        // Phi(0) = 0.5; Phi(-1) = 0.15865525393145707; ln Phi(-30) = -454.3212439...
        assert!(close(log_ndtr(0.0), 0.5f64.ln(), 1e-15));
        assert!(close(log_ndtr(-1.0), 0.158_655_253_931_457_07f64.ln(), 1e-14));
        assert!(close(log_ndtr(-30.0), -454.321_243_956_343_1, 1e-12));
        // Continuity where the series takes over.
        assert!(close(log_ndtr(-20.0 + 1e-9), log_ndtr(-20.0 - 1e-9), 1e-8));
        assert!(log_ndtr(7.0) < 0.0 && log_ndtr(7.0) > -1e-11);
    }

    #[test]
    fn ndtri_exp_inverts_log_ndtr() {
        for &x in &[-300.0, -38.0, -20.5, -5.0, -1.0, 0.0, 0.3, 2.0, 5.0, 8.0] {
            let y = log_ndtr(x);
            let back = ndtri_exp(y);
            assert!((back - x).abs() <= 1e-9 * (1.0 + x.abs()), "x {x} back {back}");
        }
    }

    #[test]
    fn gauss_mass_is_precise_in_both_tails() {
        // Mass of [-40, -39] and [39, 40] are equal by symmetry, and about Phi(-39).
        let left = log_gauss_mass(-40.0, -39.0);
        let right = log_gauss_mass(39.0, 40.0);
        assert!(close(left, right, 1e-12));
        assert!(close(left, log_ndtr(-39.0), 1e-3));
        assert!(close(log_gauss_mass(-1.0, 1.0), 0.682_689_492_137_085_9f64.ln(), 1e-13));
        assert_eq!(log_gauss_mass(-50.0, 50.0), 0.0);
    }

    #[test]
    fn upper_tail_is_precise() {
        // Against erfc below 2, where erfc's rounded argument costs little; from 2 on against
        // phi(t) times the Mills ratio's continued fraction at the point itself (the table only
        // holds it at multiples of 1/8, so this checks the Taylor steps in between).
        let mut worst: f64 = 0.0;
        let mut at = 0.0;
        for i in 0..40_000 {
            let t = i as f64 * (36.99 / 40_000.0) + 1e-5;
            let want = if t < 2.0 {
                0.5 * erfc(t * std::f64::consts::FRAC_1_SQRT_2)
            } else {
                exp_minus_half_square(t) * mills_over_sqrt_2pi(t)
            };
            let rel = (upper_tail(t) - want).abs() / want;
            if rel > worst {
                worst = rel;
                at = t;
            }
        }
        assert!(worst < 4e-15, "largest relative error {worst:e} at t = {at}");
        // And against erfc everywhere, within erfc's own t^2-ulp argument error.
        for i in 0..2000 {
            let t = i as f64 * (36.99 / 2000.0);
            let want = 0.5 * erfc(t * std::f64::consts::FRAC_1_SQRT_2);
            let rel = (upper_tail(t) - want).abs() / want;
            assert!(rel < 2e-15 + 2.5e-16 * t * t, "t = {t}: {rel:e}");
        }
        assert_eq!(upper_tail(0.0), 0.5);
        assert_eq!(upper_tail(f64::INFINITY), 0.0);
        assert!(upper_tail(f64::NAN).is_nan());
        assert!((ndtr(1.0) - 0.841_344_746_068_542_9).abs() < 3e-16);
        assert!((ndtr(-3.0) / 1.349_898_031_630_094_6e-3 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn linear_ppf_agrees_with_the_log_space_one() {
        let mut worst: f64 = 0.0;
        let mut used = 0;
        for &(a, b) in &[
            (-1.0, 3.0),
            (-0.5, 0.5),
            (-8.0, 0.2),
            (-30.0, -1.0),
            (0.3, 6.0),
            (2.0, 40.0),
            (-3.0, 38.0),
            (-0.01, 0.02),
        ] {
            let m = log_gauss_mass(a, b);
            let tail_log = if a < 0.0 { log_ndtr(a) } else { log_ndtr(-b) };
            for i in 0..200 {
                let q = (i as f64 + 0.37) / 200.0;
                let slow = ppf_with_tail(q, a, b, m, tail_log);
                if let Some(fast) = ppf_linear(q, a, b, tail_log.exp(), m.exp()) {
                    used += 1;
                    worst = worst.max((fast - slow).abs() / (1.0 + slow.abs()));
                }
            }
        }
        assert!(used > 1000, "the linear path was taken {used} times");
        assert!(worst < 1e-12, "largest difference {worst:e}");
    }

    #[test]
    fn ppf_stays_in_bounds_and_hits_the_median() {
        let (a, b) = (-1.0, 3.0);
        let m = log_gauss_mass(a, b);
        let median = ppf(0.5, a, b, m);
        let lower = log_gauss_mass(a, median);
        assert!(close(lower, m + 0.5f64.ln(), 1e-10));
        // Far right tail: a truncated normal on [40, 41] draws near 40.
        let m = log_gauss_mass(40.0, 41.0);
        let x = ppf(0.5, 40.0, 41.0, m);
        assert!((40.0..40.1).contains(&x), "{x}");
        assert_eq!(ppf(0.0, -2.0, 2.0, log_gauss_mass(-2.0, 2.0)), -2.0);
    }
}
