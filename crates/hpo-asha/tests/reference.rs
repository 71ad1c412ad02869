//! Ray Tune's own test cases for `AsyncHyperBandScheduler` (test_trial_scheduler.py), re-expressed.

use hpo_asha::{Asha, AshaConfig, AshaDecision, AshaError, Mode};

use AshaDecision::{Continue, EarlyStop, MaxT};

fn asha(max_t: f64, grace: f64, rf: f64, brackets: usize) -> Asha {
    let config = AshaConfig {
        max_t,
        grace_period: grace,
        reduction_factor: rf,
        brackets,
        stop_last_trials: true,
    };
    Asha::new(config, Mode::Max, 0).expect("valid config")
}

fn report(asha: &mut Asha, trial: u64, time: f64, value: f64) -> AshaDecision {
    asha.on_result(trial, time, Some(value)).expect("known trial").decision
}

/// Ray's `basicSetup`: trial 1 reports (i, 100 i) for i < 10, trial 2 reports (i, 450) for i < 5.
fn basic_setup(asha: &mut Asha) {
    asha.add_trial(1, None).expect("add");
    asha.add_trial(2, None).expect("add");
    for i in 0..10 {
        assert_eq!(report(asha, 1, i as f64, i as f64 * 100.0), Continue, "t1 at {i}");
    }
    for i in 0..5 {
        assert_eq!(report(asha, 2, i as f64, 450.0), Continue, "t2 at {i}");
    }
}

#[test]
fn on_complete_then_max_t_stops() {
    // testAsyncHBOnComplete: max_t 10, rf 4 (default), grace 1 (default).
    let mut a = asha(10.0, 1.0, 4.0, 1);
    basic_setup(&mut a);
    a.add_trial(3, None).expect("add");
    a.on_trial_complete(3, 10.0, Some(1000.0)).expect("complete");
    assert_eq!(report(&mut a, 2, 101.0, 0.0), MaxT);
}

#[test]
fn grace_period_is_a_float() {
    // testAsyncHBGracePeriod: grace 2.5, rf 3, max_t 100 -> rungs 2.5, 7.5, 22.5, 67.5.
    let mut a = asha(100.0, 2.5, 3.0, 1);
    assert_eq!(a.milestones(), vec![vec![2.5, 7.5, 22.5, 67.5]]);
    basic_setup(&mut a);
    a.on_trial_complete(1, 10.0, Some(1000.0)).expect("complete");
    a.on_trial_complete(2, 10.0, Some(1000.0)).expect("complete");
    a.add_trial(3, None).expect("add");
    assert_eq!(report(&mut a, 3, 1.0, 10.0), Continue);
    assert_eq!(report(&mut a, 3, 2.0, 10.0), Continue);
    let step = a.on_result(3, 3.0, Some(10.0)).expect("known");
    assert_eq!(step.decision, EarlyStop);
    let verdict = step.verdict.expect("judged at 2.5");
    assert_eq!(verdict.milestone, 2.5);
    assert_eq!(verdict.others, 2);
    // The 66.7th percentile of [300, 450].
    assert!((verdict.cutoff.expect("cutoff") - 400.0).abs() < 1e-9);
}

#[test]
fn all_stop_at_max_t_with_many_brackets() {
    // testAsyncHBAllCompletes: max_t 10, brackets 10 (most of them empty).
    let mut a = asha(10.0, 1.0, 4.0, 10);
    for t in 0..10 {
        a.add_trial(t, None).expect("add");
    }
    for t in 0..10 {
        assert_eq!(report(&mut a, t, 10.0, -2.0), MaxT);
    }
}

#[test]
fn uses_percentile() {
    // testAsyncHBUsesPercentile: grace 1, max_t 10, rf 2 -> rungs 1, 2, 4, 8.
    let mut a = asha(10.0, 1.0, 2.0, 1);
    assert_eq!(a.milestones(), vec![vec![1.0, 2.0, 4.0, 8.0]]);
    basic_setup(&mut a);
    a.on_trial_complete(1, 10.0, Some(1000.0)).expect("complete");
    a.on_trial_complete(2, 10.0, Some(1000.0)).expect("complete");
    a.add_trial(3, None).expect("add");
    let first = a.on_result(3, 1.0, Some(260.0)).expect("known");
    assert_eq!(first.decision, EarlyStop);
    assert_eq!(first.verdict.and_then(|v| v.cutoff), Some(275.0));
    let second = a.on_result(3, 2.0, Some(260.0)).expect("known");
    assert_eq!(second.decision, EarlyStop);
    assert_eq!(second.verdict.and_then(|v| v.cutoff), Some(325.0));
}

#[test]
fn nan_percentile() {
    // testAsyncHBNanPercentile: nanSetup then completes at (10, 450) and (10, NaN).
    let mut a = asha(10.0, 1.0, 2.0, 1);
    a.add_trial(1, None).expect("add");
    a.add_trial(2, None).expect("add");
    for i in 0..10 {
        assert_eq!(report(&mut a, 1, i as f64, 450.0), Continue);
        assert_eq!(report(&mut a, 2, i as f64, f64::NAN), Continue);
    }
    a.on_trial_complete(1, 10.0, Some(450.0)).expect("complete");
    a.on_trial_complete(2, 10.0, Some(f64::NAN)).expect("complete");
    a.add_trial(3, None).expect("add");
    for t in [1.0, 2.0] {
        let step = a.on_result(3, t, Some(260.0)).expect("known");
        assert_eq!(step.decision, EarlyStop);
        assert_eq!(step.verdict.and_then(|v| v.cutoff), Some(450.0));
    }
}

#[test]
fn save_restore() {
    // testAsyncHBSaveRestore: the state goes through JSON and back.
    let mut a = asha(10.0, 1.0, 2.0, 1);
    for t in 0..10 {
        a.add_trial(t, None).expect("add");
    }
    for t in 0..5 {
        assert_eq!(report(&mut a, t, 1.0, 10.0), Continue);
    }
    assert_eq!(report(&mut a, 5, 1.0, 5.0), EarlyStop);
    let json = serde_json::to_string(&a).expect("serialise");
    let mut b: Asha = serde_json::from_str(&json).expect("restore");
    assert_eq!(a, b);
    assert_eq!(report(&mut b, 6, 1.0, 4.0), EarlyStop);
    b.add_trial(10, None).expect("add");
    assert_eq!(report(&mut b, 10, 1.0, 2.0), EarlyStop);
}

#[test]
fn non_stop_trials() {
    // testAsyncHBNonStopTrials: max_t 3, rf 2, stop_last_trials false -> rungs 1, 2.
    let config = AshaConfig {
        max_t: 3.0,
        grace_period: 1.0,
        reduction_factor: 2.0,
        brackets: 1,
        stop_last_trials: false,
    };
    let mut a = Asha::new(config, Mode::Max, 0).expect("valid");
    for t in 0..4 {
        a.add_trial(t, None).expect("add");
    }
    let got: Vec<_> = [10.0, 8.0, 6.0, 4.0]
        .iter()
        .enumerate()
        .map(|(t, &v)| report(&mut a, t as u64, 2.0, v))
        .collect();
    assert_eq!(got, vec![Continue, EarlyStop, EarlyStop, EarlyStop]);
    for (t, v) in [(4.0, 10.0), (8.0, 10.0), (14.0, 1.0)] {
        let step = a.on_result(0, t, Some(v)).expect("known");
        assert_eq!(step.decision, Continue, "time {t}");
        assert_eq!(step.verdict, None, "already judged past rung 2");
    }
}

fn alternate_metrics(mode: Mode) {
    // _test_metrics: defaults (max_t 100, grace 1, rf 4 -> rungs 1, 4, 16, 64).
    let sign = mode.sign();
    let mut a = Asha::new(AshaConfig::default(), mode, 0).expect("defaults are valid");
    assert_eq!(a.milestones(), vec![vec![1.0, 4.0, 16.0, 64.0]]);
    a.add_trial(1, None).expect("add");
    a.add_trial(2, None).expect("add");
    for i in 0..10 {
        assert_eq!(report(&mut a, 1, i as f64, sign * i as f64 * 100.0), Continue);
    }
    for i in 0..5 {
        assert_eq!(report(&mut a, 2, i as f64, sign * 450.0), Continue);
    }
    a.on_trial_complete(1, 10.0, Some(sign * 1000.0)).expect("complete");
    assert_eq!(report(&mut a, 2, 5.0, sign * 450.0), Continue);
    assert_eq!(report(&mut a, 2, 6.0, 0.0), Continue);
}

#[test]
fn alternate_metric_max() {
    alternate_metrics(Mode::Max);
}

#[test]
fn alternate_metric_min() {
    alternate_metrics(Mode::Min);
}

#[test]
fn min_mode_mirrors_max_mode() {
    let config = AshaConfig {
        max_t: 10.0,
        grace_period: 1.0,
        reduction_factor: 2.0,
        ..AshaConfig::default()
    };
    let mut a = Asha::new(config, Mode::Min, 0).expect("valid");
    for t in 0..3 {
        a.add_trial(t, Some(0)).expect("add");
    }
    assert_eq!(report(&mut a, 0, 1.0, 1.0), Continue);
    // Lower is better: 0.5 beats the cutoff 1.0, 3.0 does not.
    assert_eq!(report(&mut a, 1, 1.0, 0.5), Continue);
    let step = a.on_result(2, 1.0, Some(3.0)).expect("known");
    assert_eq!(step.decision, EarlyStop);
    // Cutoff in the caller's units: numpy percentile 50 of [-1, -0.5] is -0.75, negated.
    assert_eq!(step.verdict.and_then(|v| v.cutoff), Some(0.75));
    assert_eq!(a.recorded(0, 0).map(|r| r.get(&2).copied()), Some(Some(3.0)));
}

#[test]
fn invalid_parameters_name_the_field() {
    let cases = [
        (AshaConfig { max_t: 0.0, ..AshaConfig::default() }, "max_t"),
        (AshaConfig { max_t: f64::NAN, ..AshaConfig::default() }, "max_t"),
        (AshaConfig { grace_period: -1.0, ..AshaConfig::default() }, "grace_period"),
        (AshaConfig { grace_period: 200.0, ..AshaConfig::default() }, "grace_period"),
        (AshaConfig { reduction_factor: 1.0, ..AshaConfig::default() }, "reduction_factor"),
        (AshaConfig { reduction_factor: 1.0 + 1e-9, ..AshaConfig::default() }, "reduction_factor"),
        (AshaConfig { brackets: 0, ..AshaConfig::default() }, "brackets"),
    ];
    for (config, field) in cases {
        match Asha::new(config.clone(), Mode::Max, 0) {
            Err(AshaError::InvalidConfig { field: f, .. }) => assert_eq!(f, field, "{config:?}"),
            other => panic!("{config:?} gave {other:?}"),
        }
    }
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let mut a = asha(10.0, 1.0, 2.0, 2);
    assert_eq!(a.on_result(9, 1.0, Some(1.0)), Err(AshaError::UnknownTrial(9)));
    a.add_trial(1, Some(1)).expect("add");
    assert_eq!(a.add_trial(1, None), Err(AshaError::DuplicateTrial(1)));
    assert!(matches!(
        a.add_trial(2, Some(2)),
        Err(AshaError::BracketOutOfRange { bracket: 2, brackets: 2, .. })
    ));
    assert!(matches!(
        a.on_result(1, f64::NAN, Some(1.0)),
        Err(AshaError::InvalidTime { trial: 1, .. })
    ));
    a.on_trial_complete(1, 3.0, Some(1.0)).expect("complete");
    assert_eq!(a.on_result(1, 4.0, Some(1.0)), Err(AshaError::TrialEnded(1)));
    assert_eq!(a.remove_trial(1), Err(AshaError::TrialEnded(1)));
}
