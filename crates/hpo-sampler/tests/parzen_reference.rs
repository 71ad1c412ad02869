//! Optuna 5.0's Parzen-estimator reference numbers (docs/tpe.md).

use hpo_sampler::{Distribution, TpeConfig, parzen_estimator_1d};

fn config(endpoints: bool, magic_clip: bool) -> TpeConfig {
    TpeConfig {
        consider_endpoints: endpoints,
        consider_magic_clip: magic_clip,
        ..TpeConfig::default()
    }
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "got {got:?}, want {want:?}");
    }
}

/// Sigmas (observations then prior) on [-1, 1] with prior weight 1.
fn check(obs: &[f64], endpoints: bool, magic_clip: bool, want: &[f64]) {
    let est =
        parzen_estimator_1d(&Distribution::float(-1.0, 1.0), obs, &config(endpoints, magic_clip));
    assert_close(&est.sigmas, want);
    let mut mus = obs.to_vec();
    mus.push(0.0);
    assert_close(&est.mus, &mus);
    let w = 1.0 / (obs.len() + 1) as f64;
    assert_close(&est.weights, &vec![w; obs.len() + 1]);
}

#[test]
fn bandwidths_on_minus_one_to_one() {
    check(&[], true, false, &[2.0]);
    check(&[0.4], true, false, &[1.4, 2.0]);
    check(&[-0.3, 0.3], true, false, &[0.7, 0.7, 2.0]);
    check(&[-0.3, 0.3], false, false, &[0.6, 0.6, 2.0]);
    check(&[-0.4, 0.4, 0.41, 0.42], true, false, &[0.8, 0.8, 0.01, 0.58, 2.0]);
    check(&[-0.4, 0.4, 0.41, 0.42], true, true, &[0.8, 0.8, 1.0 / 3.0, 0.58, 2.0]);
}

/// One observation at 1 per type on [1, 100], no clip, no endpoints.
#[test]
fn one_observation_per_type() {
    let c = config(false, false);
    let est = |d: Distribution| parzen_estimator_1d(&d, &[1.0], &c);
    assert_close(&est(Distribution::float(1.0, 100.0)).sigmas, &[99.0, 99.0]);
    let log = est(Distribution::float_log(1.0, 100.0));
    assert_close(&log.sigmas, &[100f64.ln(), 100f64.ln()]);
    assert_close(&log.mus, &[0.0, 100f64.ln() / 2.0]);
    assert_close(&est(Distribution::float_step(1.0, 100.0, 3.0)).sigmas, &[100.5, 102.0]);
    assert_close(&est(Distribution::int(1, 100)).sigmas, &[99.5, 100.0]);
    let log_int = est(Distribution::int_log(1, 100));
    let prior_sigma = 100.5f64.ln() - 0.5f64.ln();
    assert_close(&log_int.sigmas, &[100.5f64.ln(), prior_sigma]);
    assert_close(&log_int.mus, &[0.0, (100.5f64.ln() + 0.5f64.ln()) / 2.0]);
}

#[test]
fn categorical_rows() {
    let c = config(false, false);
    let three = parzen_estimator_1d(&Distribution::categorical(["x", "y", "z"]), &[1.0], &c);
    assert_close(&three.rows[0], &[0.2, 0.6, 0.2]);
    assert_close(&three.rows[1], &[1.0 / 3.0; 3]);
    let four = parzen_estimator_1d(&Distribution::categorical([0i64, 1, 2, 3]), &[1.0], &c);
    assert_close(&four.rows[0], &[1.0 / 6.0, 0.5, 1.0 / 6.0, 1.0 / 6.0]);
    assert_close(&four.rows[1], &[0.25; 4]);
}

#[test]
fn weights_ramp_after_25_observations() {
    let obs: Vec<f64> = (0..30).map(|i| -0.9 + 0.06 * i as f64).collect();
    let est = parzen_estimator_1d(&Distribution::float(-1.0, 1.0), &obs, &TpeConfig::default());
    // linspace(1/30, 1, 5) then 25 ones, then the prior (1), normalised.
    let ramp: Vec<f64> = (0..5).map(|i| 1.0 / 30.0 + (1.0 - 1.0 / 30.0) * i as f64 / 4.0).collect();
    let total: f64 = ramp.iter().sum::<f64>() + 26.0;
    assert!((est.weights[0] - ramp[0] / total).abs() < 1e-12);
    assert!((est.weights[4] - 1.0 / total).abs() < 1e-12);
    assert!((est.weights[30] - 1.0 / total).abs() < 1e-12);
    // Magic clip: no sigma below (high - low) / min(100, n + 2).
    assert!(est.sigmas[..30].iter().all(|&s| s >= 2.0 / 32.0 - 1e-15));
}

#[test]
fn optuna4_rule_puts_the_prior_mean_among_the_centres() {
    let c =
        TpeConfig { consider_magic_clip: false, consider_endpoints: true, ..TpeConfig::optuna4() };
    // Centres 0.4 and the prior mean 0.0, padded with -1 and 1: 0.4 has gaps 0.4 and 0.6.
    let est = parzen_estimator_1d(&Distribution::float(-1.0, 1.0), &[0.4], &c);
    assert_close(&est.sigmas, &[0.6, 2.0]);
}
