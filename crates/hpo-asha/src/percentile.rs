//! numpy's `nanpercentile(values, q, method="linear")`, bit for bit, over a sorted set of values.

/// numpy's `_lerp(a, b, t)`: `a + (b - a) t` when `t < 0.5`, else `b - (b - a)(1 - t)`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 { b - diff * (1.0 - t) } else { a + diff * t }
}

/// The quantile `q` (in [0, 1]) of `sorted` (ascending, no NaN) with linear interpolation, exactly
/// as numpy computes it: `h = (n - 1) q`, `i = floor(h)`, `g = h - i`; at or above the last index
/// numpy interpolates the maximum with itself. `None` when `sorted` is empty.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    let last = *sorted.last()?;
    let h = (n - 1) as f64 * q;
    if h >= (n - 1) as f64 {
        // numpy sets both indexes to -1 (the maximum) and gamma to h - (-1).
        return Some(lerp(last, last, h + 1.0));
    }
    let lo = h.floor();
    let g = h - lo;
    // h < n - 1 and h >= 0, so lo + 1 <= n - 1.
    let i = lo as usize;
    Some(lerp(sorted[i], sorted[i + 1], g))
}

/// numpy's `nanpercentile(values, p)` for a percentile `p` in [0, 100]: numpy divides by 100 first.
/// `None` for no values at all, NaN when every value is NaN.
pub fn nanpercentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    finite.sort_by(f64::total_cmp);
    Some(quantile_sorted(&finite, p / 100.0).unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_examples() {
        assert_eq!(nanpercentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 75.0), Some(4.0));
        assert_eq!(nanpercentile(&[1.0, 2.0], 75.0), Some(1.75));
        assert_eq!(nanpercentile(&[0.0, 10.0, 20.0], 75.0), Some(15.0));
        assert_eq!(nanpercentile(&[100.0, 450.0], 50.0), Some(275.0));
        assert_eq!(nanpercentile(&[7.0], 90.0), Some(7.0));
        assert_eq!(nanpercentile(&[], 50.0), None);
        assert!(nanpercentile(&[f64::NAN, f64::NAN], 50.0).is_some_and(f64::is_nan));
        assert_eq!(nanpercentile(&[f64::NAN, 450.0], 50.0), Some(450.0));
    }

    #[test]
    fn lerp_uses_the_upper_form_from_one_half() {
        // 0.1 + (0.7 - 0.1) * 0.9 and 0.7 - (0.7 - 0.1) * 0.1 differ in the last bit.
        let upper = lerp(0.1, 0.7, 0.9);
        assert_eq!(upper, 0.7 - (0.7 - 0.1) * (1.0 - 0.9));
        let lower = lerp(0.1, 0.7, 0.3);
        assert_eq!(lower, 0.1 + (0.7 - 0.1) * 0.3);
    }
}
