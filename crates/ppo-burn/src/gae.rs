//! Generalised advantage estimation over trajectory segments, and advantage standardisation.
//!
//! A *segment* is a contiguous run of one agent's transitions inside a batch. It ends either by
//! termination (nothing follows: the value after the last step is 0) or by a cut: truncation by
//! the time limit, or the end of a sample fragment, where the return is bootstrapped from the
//! value of the observation that followed the last step. Arithmetic is in f64.

/// `(advantages, value_targets)` of one segment.
///
/// `rewards[t]` and `values[t]` belong to step `t`; `bootstrap` is the value after the last step
/// (`None` for a terminated segment, which is the same as 0). Value targets are
/// `advantage + value` (before any standardisation), as RLlib computes them.
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    bootstrap: Option<f32>,
    gamma: f64,
    lambda: f64,
) -> (Vec<f32>, Vec<f32>) {
    let n = rewards.len();
    debug_assert_eq!(values.len(), n);
    let mut adv = vec![0f32; n];
    let mut targets = vec![0f32; n];
    let mut next_value = f64::from(bootstrap.unwrap_or(0.0));
    let mut running = 0f64;
    for t in (0..n).rev() {
        let v = f64::from(values[t]);
        let delta = f64::from(rewards[t]) + gamma * next_value - v;
        running = delta + gamma * lambda * running;
        adv[t] = running as f32;
        targets[t] = (running + v) as f32;
        next_value = v;
    }
    (adv, targets)
}

/// `(x - mean) / max(std, 1e-4)` in place (population standard deviation), as RLlib's GAE
/// connector standardises each policy's advantages over its whole batch.
pub fn standardize(x: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt().max(1e-4);
    for v in x {
        *v = ((f64::from(*v) - mean) / std) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((f64::from(*x) - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn terminated_segment_does_not_bootstrap() {
        // gamma 0.9, lambda 0.5; r = [1, 2], v = [0.5, 1.0], terminated.
        // delta1 = 2 - 1 = 1; A1 = 1
        // delta0 = 1 + 0.9*1.0 - 0.5 = 1.4; A0 = 1.4 + 0.45*1 = 1.85
        let (adv, vt) = gae(&[1.0, 2.0], &[0.5, 1.0], None, 0.9, 0.5);
        close(&adv, &[1.85, 1.0]);
        close(&vt, &[2.35, 2.0]);
    }

    #[test]
    fn truncated_or_cut_segment_bootstraps_from_the_next_value() {
        // Same, but cut with V(next) = 3: delta1 = 2 + 2.7 - 1 = 3.7; A1 = 3.7;
        // A0 = 1.4 + 0.45*3.7 = 3.065
        let (adv, vt) = gae(&[1.0, 2.0], &[0.5, 1.0], Some(3.0), 0.9, 0.5);
        close(&adv, &[3.065, 3.7]);
        close(&vt, &[3.565, 4.7]);
    }

    #[test]
    fn lambda_one_gives_discounted_returns_as_targets() {
        // lambda 1: target_t = sum gamma^k r_{t+k} + gamma^n V_boot.
        let (_, vt) = gae(&[1.0, 1.0, 1.0], &[0.3, -2.0, 7.0], Some(10.0), 0.5, 1.0);
        close(&vt, &[1.0 + 0.5 + 0.25 + 1.25, 1.0 + 0.5 + 2.5, 1.0 + 5.0]);
    }

    #[test]
    fn standardize_gives_zero_mean_unit_std() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        standardize(&mut x);
        let s = 1.25f64.sqrt();
        close(&x, &[-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
        let mut same = vec![2.0, 2.0];
        standardize(&mut same);
        close(&same, &[0.0, 0.0]);
    }
}
