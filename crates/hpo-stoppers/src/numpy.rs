//! `numpy.std(values)` (population, ddof 0) in numpy's arithmetic: pairwise summation.

/// numpy's `pairwise_sum` for float64 (blocks of 8 accumulators up to 128 values, halves above).
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `np.std(values)`: mean by pairwise sum / n, then the pairwise sum of squared deviations / n,
/// square-rooted. NaN for no values (numpy warns and returns NaN) or any NaN value.
pub(crate) fn std(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = pairwise_sum(values) / n;
    let squares: Vec<f64> = values.iter().map(|x| (x - mean) * (x - mean)).collect();
    (pairwise_sum(&squares) / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        assert_eq!(std(&[1.0, 1.0, 1.0]), 0.0);
        assert_eq!(std(&[1.0, 3.0]), 1.0);
        assert_eq!(std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]), 2.0);
        assert!(std(&[1.0, f64::NAN]).is_nan());
        assert!(std(&[]).is_nan());
    }

    #[test]
    fn pairwise_order_of_twelve_values() {
        let a: Vec<f64> = (0..12).map(|i| 0.1 * i as f64).collect();
        let blocks = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        let want = ((blocks + a[8]) + a[9] + a[10]) + a[11];
        assert_eq!(pairwise_sum(&a).to_bits(), want.to_bits());
        let big: Vec<f64> = (0..300).map(|i| (i as f64).sqrt()).collect();
        let naive: f64 = big.iter().sum();
        assert!((pairwise_sum(&big) - naive).abs() < 1e-9);
    }
}
