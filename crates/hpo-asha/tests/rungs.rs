//! Rung counts and milestones, bracket choice, catch-up, and the sorted-cutoff invariant.

use hpo_asha::{Asha, AshaConfig, AshaDecision, Mode, nanpercentile};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn config(max_t: f64, grace: f64, rf: f64, brackets: usize) -> AshaConfig {
    AshaConfig {
        max_t,
        grace_period: grace,
        reduction_factor: rf,
        brackets,
        stop_last_trials: true,
    }
}

fn milestones(max_t: f64, grace: f64, rf: f64, brackets: usize) -> Vec<Vec<f64>> {
    Asha::new(config(max_t, grace, rf, brackets), Mode::Max, 0).expect("valid").milestones()
}

#[test]
fn rung_counts_are_computed_in_floating_point() {
    // ln(243) / ln(3) is 4.999..., so there is no rung at 243.
    assert!((243f64).ln() / (3f64).ln() < 5.0);
    let cases: [(f64, f64, f64, &[f64]); 7] = [
        (243.0, 1.0, 3.0, &[1.0, 3.0, 9.0, 27.0, 81.0]),
        (1000.0, 1.0, 10.0, &[1.0, 10.0, 100.0]),
        (100.0, 1.0, 4.0, &[1.0, 4.0, 16.0, 64.0]),
        (10.0, 1.0, 2.0, &[1.0, 2.0, 4.0, 8.0]),
        (81.0, 1.0, 3.0, &[1.0, 3.0, 9.0, 27.0, 81.0]),
        (1000.0, 40.0, 3.0, &[40.0, 120.0, 360.0]),
        (5.0, 5.0, 2.0, &[5.0]),
    ];
    for (max_t, grace, rf, want) in cases {
        assert_eq!(milestones(max_t, grace, rf, 1), vec![want.to_vec()], "{max_t} {grace} {rf}");
    }
}

#[test]
fn later_brackets_start_higher_and_may_be_empty() {
    assert_eq!(
        milestones(100.0, 1.0, 4.0, 5),
        vec![
            vec![1.0, 4.0, 16.0, 64.0],
            vec![4.0, 16.0, 64.0],
            vec![16.0, 64.0],
            vec![64.0],
            vec![],
        ]
    );
}

#[test]
fn bracket_choice_is_seeded_softmax() {
    let draw = |seed| {
        let mut a = Asha::new(config(100.0, 1.0, 4.0, 3), Mode::Max, seed).expect("valid");
        (0..4000).map(|t| a.add_trial(t, None).expect("add")).collect::<Vec<_>>()
    };
    let first = draw(11);
    assert_eq!(first, draw(11), "same seed, same brackets");
    assert_ne!(first, draw(12), "another seed, other brackets");
    // Rung counts 4, 3, 2: p proportional to 1, e^-1, e^-2.
    let z = 1.0 + (-1f64).exp() + (-2f64).exp();
    for (bracket, p) in [1.0, (-1f64).exp(), (-2f64).exp()].iter().enumerate() {
        let share = first.iter().filter(|&&b| b == bracket).count() as f64 / 4000.0;
        assert!((share - p / z).abs() < 0.03, "bracket {bracket}: {share} vs {}", p / z);
    }
}

#[test]
fn explicit_brackets_do_not_consume_the_rng() {
    let mut a = Asha::new(config(100.0, 1.0, 4.0, 3), Mode::Max, 5).expect("valid");
    let mut b = a.clone();
    a.add_trial(0, Some(2)).expect("add");
    assert_eq!(a.add_trial(1, None), b.add_trial(1, None));
}

#[test]
fn a_jump_is_judged_at_the_highest_rung_first_then_catches_up() {
    let mut a = Asha::new(config(100.0, 1.0, 2.0, 1), Mode::Max, 0).expect("valid");
    a.add_trial(0, None).expect("add");
    let rungs: Vec<_> = (0..4)
        .map(|_| {
            let step = a.on_result(0, 5.0, Some(1.0)).expect("known");
            assert_eq!(step.decision, AshaDecision::Continue);
            step.verdict.map(|v| v.milestone)
        })
        .collect();
    assert_eq!(rungs, vec![Some(4.0), Some(2.0), Some(1.0), None]);
    assert_eq!(a.progress(0).map(|p| p.rung_index), Some(2));
}

#[test]
fn equal_to_the_cutoff_continues_and_nan_never_stops() {
    let mut a = Asha::new(config(100.0, 1.0, 2.0, 1), Mode::Max, 0).expect("valid");
    for t in 0..4 {
        a.add_trial(t, None).expect("add");
    }
    assert_eq!(a.on_result(0, 1.0, Some(f64::NAN)).expect("k").decision, AshaDecision::Continue);
    // All-NaN record: the cutoff is NaN and nothing stops.
    let step = a.on_result(1, 1.0, Some(-5.0)).expect("k");
    assert_eq!(step.decision, AshaDecision::Continue);
    assert!(step.verdict.and_then(|v| v.cutoff).is_some_and(f64::is_nan));
    // Record [NaN, -5]: cutoff -5; equal continues.
    assert_eq!(a.on_result(2, 1.0, Some(-5.0)).expect("k").decision, AshaDecision::Continue);
    assert_eq!(a.on_result(3, 1.0, Some(-5.5)).expect("k").decision, AshaDecision::EarlyStop);
}

#[test]
fn progress_tracks_rung_index_and_pruning() {
    let mut a = Asha::new(config(1000.0, 40.0, 3.0, 1), Mode::Max, 0).expect("valid");
    a.add_trial(0, None).expect("add");
    a.add_trial(1, None).expect("add");
    assert_eq!(a.progress(0).map(|p| p.rung_index), Some(-1));
    for t in 1..=130 {
        a.on_result(0, t as f64, Some(1.0)).expect("known");
    }
    assert_eq!(a.progress(0).map(|p| (p.rung_index, p.pruned_at)), Some((1, None)));
    for t in 1..40 {
        a.on_result(1, t as f64, Some(0.5)).expect("known");
    }
    assert_eq!(a.progress(1).map(|p| p.rung_index), Some(-1));
    assert_eq!(a.on_result(1, 40.0, Some(0.5)).expect("k").decision, AshaDecision::EarlyStop);
    a.on_trial_complete(1, 40.0, Some(0.5)).expect("complete");
    let p = a.progress(1).expect("known");
    assert_eq!((p.rung_index, p.pruned_at, p.ended), (0, Some(40.0), true));
    assert_eq!(a.progress(7), None);
}

#[test]
fn the_sorted_cutoff_equals_numpy_nanpercentile_from_scratch() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for rf in [2.0, 3.0, 4.0, 2.5] {
        let mut a = Asha::new(config(10.0, 1.0, rf, 1), Mode::Max, 0).expect("valid");
        let mut others: Vec<f64> = Vec::new();
        for t in 0..300 {
            a.add_trial(t, None).expect("add");
            let v: f64 = if rng.random::<f64>() < 0.1 {
                f64::NAN
            } else {
                // Few distinct values, so ties happen.
                (rng.random_range(0..40) as f64) / 8.0 - 2.0
            };
            let step = a.on_result(t, 1.0, Some(v)).expect("known");
            let cutoff = step.verdict.expect("rung 1").cutoff;
            let want = nanpercentile(&others, (1.0 - 1.0 / rf) * 100.0);
            assert_eq!(cutoff.map(f64::to_bits), want.map(f64::to_bits), "rf {rf} trial {t}");
            let stop = want.is_some_and(|c| v < c);
            assert_eq!(step.decision.is_stop(), stop);
            others.push(v);
        }
    }
}

#[test]
fn replaying_the_events_rebuilds_the_same_state() {
    let run = || {
        let mut a = Asha::new(config(27.0, 1.0, 3.0, 3), Mode::Min, 9).expect("valid");
        for t in 0..20u64 {
            a.add_trial(t, None).expect("add");
        }
        for time in 1..=27 {
            for t in 0..20u64 {
                if a.progress(t).is_some_and(|p| !p.ended) {
                    let v = ((t * 7 + time) % 11) as f64;
                    if a.on_result(t, time as f64, Some(v)).expect("known").decision.is_stop() {
                        a.on_trial_complete(t, time as f64, Some(v)).expect("complete");
                    }
                }
            }
        }
        a
    };
    let a = run();
    assert_eq!(a, run());
    let json = serde_json::to_string(&a).expect("serialise");
    let back: Asha = serde_json::from_str(&json).expect("restore");
    assert_eq!(back, a);
    assert_eq!(serde_json::to_string(&back).expect("serialise"), json);
}

#[test]
fn a_state_that_does_not_match_its_config_is_refused() {
    let a = Asha::new(config(10.0, 1.0, 2.0, 1), Mode::Max, 0).expect("valid");
    let mut json: serde_json::Value = serde_json::to_value(&a).expect("serialise");
    json["config"]["reduction_factor"] = serde_json::json!(3.0);
    let err = serde_json::from_value::<Asha>(json).expect_err("milestones differ");
    assert!(err.to_string().contains("milestones"), "{err}");
}
