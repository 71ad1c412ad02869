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
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
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
