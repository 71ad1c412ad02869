//! Behaviour of each stopper and of their fixed order.

use hpo_stoppers::{
    DropConfig, MaxItersConfig, MetricIssue, Mode, PlateauConfig, StopperError, StopperKind,
    Stoppers, StoppersConfig,
};

fn only(config: StoppersConfig, mode: Mode) -> Stoppers {
    Stoppers::new(config, mode).expect("valid")
}

/// The index (1-based result count) at which a trial fed `values` is stopped, and by whom.
fn first_stop(stoppers: &mut Stoppers, values: &[Option<f64>]) -> Option<(usize, StopperKind)> {
    values.iter().enumerate().find_map(|(i, &v)| stoppers.on_result(0, v).fired.map(|k| (i + 1, k)))
}

fn plateau(config: PlateauConfig) -> StoppersConfig {
    StoppersConfig { plateau: Some(config), ..StoppersConfig::default() }
}

#[test]
fn plateau_waits_for_grace_and_a_full_window() {
    let flat = vec![Some(0.5); 100];
    let mut s = only(plateau(PlateauConfig::default()), Mode::Max);
    assert_eq!(first_stop(&mut s, &flat), Some((40, StopperKind::Plateau)));
    // Grace shorter than the window: the window decides.
    let c = PlateauConfig { grace_period: 3, num_results: 12, ..PlateauConfig::default() };
    let mut s = only(plateau(c), Mode::Max);
    assert_eq!(first_stop(&mut s, &flat), Some((12, StopperKind::Plateau)));
}

#[test]
fn plateau_compares_the_population_std_strictly() {
    // Alternating 0.5 +- d has population std exactly d.
    let c = PlateauConfig { std: 0.25, num_results: 4, grace_period: 0, metric_threshold: None };
    let alternating = |d: f64| {
        (0..8).map(|i| Some(if i % 2 == 0 { 0.5 + d } else { 0.5 - d })).collect::<Vec<_>>()
    };
    let mut s = only(plateau(c.clone()), Mode::Max);
    assert_eq!(
        first_stop(&mut s, &alternating(0.25)),
        None,
        "std equal to the threshold continues"
    );
    let mut s = only(plateau(c), Mode::Max);
    assert_eq!(first_stop(&mut s, &alternating(0.125)), Some((4, StopperKind::Plateau)));
}

#[test]
fn plateau_never_fires_with_a_nan_or_missing_value_in_the_window() {
    let c = PlateauConfig { num_results: 4, grace_period: 0, ..PlateauConfig::default() };
    for bad in [None, Some(f64::NAN)] {
        let mut values = vec![Some(1.0); 10];
        values[2] = bad;
        let mut s = only(plateau(c.clone()), Mode::Max);
        // The bad value leaves the 4-value window after result 6.
        assert_eq!(first_stop(&mut s, &values), Some((7, StopperKind::Plateau)), "{bad:?}");
    }
}

#[test]
fn plateau_metric_threshold_uses_the_latest_value_and_the_mode() {
    let c = PlateauConfig {
        num_results: 3,
        grace_period: 0,
        metric_threshold: Some(1.0),
        ..PlateauConfig::default()
    };
    let below = vec![Some(0.9); 6];
    let mut s = only(plateau(c.clone()), Mode::Max);
    assert_eq!(first_stop(&mut s, &below), None, "max: flat but below the threshold");
    let mut s = only(plateau(c.clone()), Mode::Min);
    assert_eq!(first_stop(&mut s, &below), Some((3, StopperKind::Plateau)), "min: below is beyond");
    let mut s = only(plateau(c), Mode::Max);
    assert_eq!(
        first_stop(&mut s, &[Some(1.0); 6]),
        Some((3, StopperKind::Plateau)),
        "at the threshold"
    );
}

fn drop_only(window: usize, drop_threshold: f64) -> StoppersConfig {
    StoppersConfig {
        drop: Some(DropConfig { window, drop_threshold }),
        ..StoppersConfig::default()
    }
}

#[test]
fn drop_is_strict_and_needs_a_full_window() {
    let mut s = only(drop_only(3, 0.25), Mode::Max);
    // 1.0 -> 0.75 is exactly the threshold: no stop; 0.7 is beyond it (oldest of [1, 0.75, 0.7]).
    assert_eq!(first_stop(&mut s, &[Some(1.0), Some(0.75)]), None, "window not full");
    assert_eq!(s.on_result(0, Some(0.75)).fired, None, "[1, .75, .75]: equal to oldest - 0.25");
    let mut s = only(drop_only(3, 0.25), Mode::Max);
    assert_eq!(
        first_stop(&mut s, &[Some(1.0), Some(2.0), Some(0.7)]),
        Some((3, StopperKind::Drop))
    );
}

#[test]
fn drop_ignores_missing_values_and_mirrors_in_min_mode() {
    let mut s = only(drop_only(3, 0.2), Mode::Max);
    let values = [Some(1.0), None, None, Some(1.0), None, Some(0.7)];
    assert_eq!(first_stop(&mut s, &values), Some((6, StopperKind::Drop)));
    let mut s = only(drop_only(3, 0.2), Mode::Min);
    assert_eq!(first_stop(&mut s, &[Some(1.0), Some(0.0), Some(0.7)]), None, "lower is better");
    let mut s = only(drop_only(3, 0.2), Mode::Min);
    assert_eq!(
        first_stop(&mut s, &[Some(1.0), Some(0.0), Some(1.3)]),
        Some((3, StopperKind::Drop))
    );
    let mut s = only(drop_only(2, 0.2), Mode::Max);
    assert_eq!(
        first_stop(&mut s, &[Some(f64::NAN), Some(-9.0), Some(f64::NAN)]),
        None,
        "NaN never drops"
    );
}

#[test]
fn max_iters_counts_results_even_without_a_metric() {
    let config = StoppersConfig {
        max_iters: Some(MaxItersConfig { max_iters: 3 }),
        ..StoppersConfig::default()
    };
    let mut s = only(config, Mode::Max);
    assert_eq!(
        first_stop(&mut s, &[None, Some(f64::NAN), Some(1.0), Some(1.0)]),
        Some((3, StopperKind::MaxIters))
    );
}

#[test]
fn the_first_in_fixed_order_names_the_reason() {
    let all = StoppersConfig {
        plateau: Some(PlateauConfig {
            num_results: 2,
            grace_period: 0,
            std: 10.0,
            metric_threshold: None,
        }),
        drop: Some(DropConfig { window: 2, drop_threshold: 0.0 }),
        max_iters: Some(MaxItersConfig { max_iters: 2 }),
    };
    // At the second result all three would fire.
    let mut s = only(all.clone(), Mode::Max);
    assert_eq!(first_stop(&mut s, &[Some(1.0), Some(0.5)]), Some((2, StopperKind::Plateau)));
    let mut s = only(StoppersConfig { plateau: None, ..all.clone() }, Mode::Max);
    assert_eq!(first_stop(&mut s, &[Some(1.0), Some(0.5)]), Some((2, StopperKind::Drop)));
    let mut s = only(StoppersConfig { plateau: None, drop: None, ..all }, Mode::Max);
    assert_eq!(first_stop(&mut s, &[Some(1.0), Some(0.5)]), Some((2, StopperKind::MaxIters)));
}

#[test]
fn metric_issues_are_reported() {
    let mut s = only(StoppersConfig::default(), Mode::Max);
    assert_eq!(s.on_result(1, None).issue, Some(MetricIssue::Missing));
    assert_eq!(s.on_result(1, Some(f64::NAN)).issue, Some(MetricIssue::NotFinite));
    assert_eq!(s.on_result(1, Some(f64::INFINITY)).issue, Some(MetricIssue::NotFinite));
    assert_eq!(s.on_result(1, Some(0.3)).issue, None);
}

#[test]
fn trials_are_independent_and_state_round_trips() {
    let config = StoppersConfig {
        plateau: Some(PlateauConfig::default()),
        drop: Some(DropConfig::default()),
        max_iters: Some(MaxItersConfig::default()),
    };
    let mut s = only(config, Mode::Max);
    for v in [Some(1.0), None, Some(f64::NAN), Some(f64::NEG_INFINITY)] {
        s.on_result(1, v);
    }
    s.on_result(2, Some(0.5));
    assert_eq!(s.trial(1).map(|t| t.max_iters_results), Some(4));
    assert_eq!(s.trial(2).map(|t| t.max_iters_results), Some(1));
    let json = serde_json::to_string(&s).expect("serialise");
    let back: Stoppers = serde_json::from_str(&json).expect("restore");
    assert_eq!(serde_json::to_string(&back).expect("serialise"), json);
    let window = &back.trial(1).expect("trial 1").plateau.window;
    assert_eq!(window.len(), 4);
    assert!(window[2].is_some_and(f64::is_nan));
    assert_eq!(window[1], None);
    s.remove_trial(1);
    assert_eq!(s.trial(1), None);
}

#[test]
fn invalid_values_name_stopper_and_field() {
    let cases = [
        (plateau(PlateauConfig { std: 0.0, ..PlateauConfig::default() }), "plateau.std"),
        (
            plateau(PlateauConfig { num_results: 0, ..PlateauConfig::default() }),
            "plateau.num_results",
        ),
        (
            plateau(PlateauConfig { metric_threshold: Some(f64::NAN), ..PlateauConfig::default() }),
            "plateau.metric_threshold",
        ),
        (drop_only(1, 0.2), "drop.window"),
        (drop_only(5, -0.1), "drop.drop_threshold"),
        (
            StoppersConfig {
                max_iters: Some(MaxItersConfig { max_iters: 0 }),
                ..StoppersConfig::default()
            },
            "max_iters.max_iters",
        ),
    ];
    for (config, key) in cases {
        let err: StopperError = Stoppers::new(config, Mode::Max).expect_err(key);
        assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
    }
}

#[test]
fn configs_deny_unknown_keys_and_default_to_the_reference() {
    let config: StoppersConfig =
        toml::from_str("[plateau]\n[drop]\nwindow = 7\n[max_iters]\n").expect("parse");
    assert_eq!(
        config.plateau,
        Some(PlateauConfig {
            std: 0.02,
            num_results: 12,
            grace_period: 40,
            metric_threshold: None
        })
    );
    assert_eq!(config.drop, Some(DropConfig { window: 7, drop_threshold: 0.2 }));
    assert_eq!(config.max_iters, Some(MaxItersConfig { max_iters: 1000 }));
    let err =
        toml::from_str::<StoppersConfig>("[plateau]\nstdev = 0.1\n").expect_err("unknown key");
    assert!(err.to_string().contains("stdev"), "{err}");
}
