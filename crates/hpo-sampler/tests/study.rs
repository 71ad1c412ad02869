//! The ask/tell core: errors, enqueue, add_trial (resume), and the below/above split.

use std::collections::BTreeMap;

use hpo_sampler::{
    Direction, Distribution, Outcome, ParamValue, Params, SamplerConfig, SearchSpace, Study,
    StudyError, TpeConfig, TpeSampler, Trial, TrialState, split_trials,
};

fn space() -> SearchSpace {
    SearchSpace::from_params([
        ("x", Distribution::float(-5.0, 5.0)),
        ("n", Distribution::int_step(22, 30, 2)),
        ("act", Distribution::categorical(["relu", "tanh"])),
    ])
    .expect("valid")
}

fn study(seed: u64) -> Study {
    Study::new(
        space(),
        Direction::Minimize,
        TpeSampler::new(TpeConfig::default(), seed).expect("valid"),
    )
}

fn f(p: &Params) -> f64 {
    let x = p["x"].as_f64().unwrap_or(0.0);
    let n = p["n"].as_f64().unwrap_or(0.0);
    x * x + (n - 26.0).abs() + if p["act"] == ParamValue::from("tanh") { 0.0 } else { 1.0 }
}

#[test]
fn tell_and_report_errors() {
    let mut s = study(0);
    let t = s.ask();
    assert_eq!(
        s.tell(5, Outcome::Complete(1.0)),
        Err(StudyError::UnknownTrial { number: 5, n_trials: 1 })
    );
    s.report(t.number, 1, 0.5).expect("running");
    let dup = s.report(t.number, 1, 0.4).expect_err("same step twice").to_string();
    assert!(dup.contains("already has an intermediate value at step 1"), "{dup}");
    assert_eq!(s.tell(t.number, Outcome::Complete(2.0)), Ok(TrialState::Complete));
    let again = s.tell(t.number, Outcome::Failed).expect_err("finished").to_string();
    assert_eq!(again, "trial 0 is already complete; only running trials take reports and tells");
    assert!(s.report(t.number, 2, 0.1).is_err());

    // NaN (and infinities): recorded as failed, as Optuna does with NaN, and reported.
    let t = s.ask();
    let err = s.tell(t.number, Outcome::Complete(f64::NAN)).expect_err("nan");
    assert!(err.to_string().contains("not finite; the trial was recorded as failed"), "{err}");
    assert_eq!(s.trial(t.number).map(|t| t.state), Some(TrialState::Failed));
    let t = s.ask();
    assert!(s.tell(t.number, Outcome::Complete(f64::INFINITY)).is_err());
    assert_eq!(s.trial(t.number).map(|t| t.state), Some(TrialState::Failed));
    // NaN intermediate values are accepted (they rank worst among pruned trials).
    let t = s.ask();
    s.report(t.number, 3, f64::NAN).expect("nan report");
    assert_eq!(s.tell(t.number, Outcome::Pruned), Ok(TrialState::Pruned));
    assert_eq!(s.best_trial().map(|t| t.number), Some(0));
}

#[test]
fn enqueued_params_come_first_and_are_checked() {
    let mut s = study(1);
    let mut p = Params::new();
    p.insert("x".into(), ParamValue::Int(1));
    p.insert("n".into(), ParamValue::Int(24));
    s.enqueue(p).expect("valid");
    let t = s.ask();
    assert_eq!(t.params["x"], ParamValue::Float(1.0));
    assert_eq!(t.params["n"], ParamValue::Int(24));
    assert!(t.params.contains_key("act"), "missing params are sampled");
    let mut bad = Params::new();
    bad.insert("n".into(), ParamValue::Int(25));
    let err = s.enqueue(bad).expect_err("off grid").to_string();
    assert!(err.contains("parameter `n`: 25 is not on the grid"), "{err}");
    let mut unknown = Params::new();
    unknown.insert("lr".into(), ParamValue::Float(0.1));
    assert!(s.enqueue(unknown).is_err());
}

#[test]
fn a_study_rebuilt_with_add_trial_continues_identically() {
    let mut a = study(3);
    for i in 0..20 {
        let t = a.ask();
        if i % 5 == 4 {
            a.report(t.number, 1, f(&t.params)).expect("running");
            a.tell(t.number, Outcome::Pruned).expect("running");
        } else if i == 7 {
            a.tell(t.number, Outcome::Failed).expect("running");
        } else {
            a.tell(t.number, Outcome::Complete(f(&t.params))).expect("finite");
        }
    }
    let mut b = study(3);
    for t in a.trials() {
        let outcome = match t.state {
            TrialState::Complete => Outcome::Complete(t.value.expect("complete")),
            TrialState::Pruned => Outcome::Pruned,
            _ => Outcome::Failed,
        };
        let n =
            b.add_trial(t.params.clone(), outcome, t.intermediate_values.clone()).expect("valid");
        assert_eq!(n, t.number);
    }
    assert_eq!(a.trials(), b.trials());
    for _ in 0..3 {
        let (ta, tb) = (a.ask(), b.ask());
        assert_eq!(ta, tb);
        a.tell(ta.number, Outcome::Complete(f(&ta.params))).expect("finite");
        b.tell(tb.number, Outcome::Complete(f(&tb.params))).expect("finite");
    }
    let mut bad = Params::new();
    bad.insert("x".into(), ParamValue::Float(9.0));
    assert!(b.add_trial(bad, Outcome::Complete(1.0), BTreeMap::new()).is_err());
}

fn trial(number: u64, state: TrialState, value: Option<f64>, inter: &[(u64, f64)]) -> Trial {
    Trial {
        number,
        params: Params::new(),
        state,
        value,
        intermediate_values: inter.iter().copied().collect(),
    }
}

/// Numbers of the below and above groups.
fn check_split(
    trials: &[Trial],
    n_below: usize,
    direction: Direction,
    below: &[u64],
    above: &[u64],
) {
    let refs: Vec<&Trial> = trials.iter().collect();
    let (b, a) = split_trials(&refs, n_below, direction);
    let nums = |v: Vec<&Trial>| v.iter().map(|t| t.number).collect::<Vec<_>>();
    assert_eq!((nums(b), nums(a)), (below.to_vec(), above.to_vec()));
}

#[test]
fn below_takes_best_complete_then_pruned_by_step_and_last_value() {
    use TrialState::*;
    let trials = vec![
        trial(0, Complete, Some(3.0), &[]),
        trial(1, Pruned, None, &[(1, 0.1)]),
        trial(2, Pruned, None, &[(1, 0.5), (4, 2.0)]),
        trial(3, Complete, Some(1.0), &[]),
        trial(4, Pruned, None, &[(4, 1.0)]),
        trial(5, Running, None, &[]),
        trial(6, Pruned, None, &[]),
        trial(7, Pruned, None, &[(4, f64::NAN)]),
    ];
    check_split(&trials, 1, Direction::Minimize, &[3], &[0, 1, 2, 4, 5, 6, 7]);
    // Both complete, then pruned at step 4 by last value (4 before 2), NaN after them.
    check_split(&trials, 4, Direction::Minimize, &[0, 2, 3, 4], &[1, 5, 6, 7]);
    check_split(&trials, 5, Direction::Minimize, &[0, 2, 3, 4, 7], &[1, 5, 6]);
    // Step 1 comes after step 4; no intermediate value is worst of all; running stays above.
    check_split(&trials, 7, Direction::Minimize, &[0, 1, 2, 3, 4, 6, 7], &[5]);
    // Maximize flips values: complete 0 (3.0) first, pruned 2 (2.0) before 4 (1.0).
    check_split(&trials, 2, Direction::Maximize, &[0, 3], &[1, 2, 4, 5, 6, 7]);
    check_split(&trials, 3, Direction::Maximize, &[0, 2, 3], &[1, 4, 5, 6, 7]);
}

#[test]
fn sampler_config_reads_from_toml() {
    let c: SamplerConfig =
        toml::from_str("kind = \"tpe\"\nmultivariate = false\nn_startup_trials = 5")
            .expect("valid");
    let SamplerConfig::Tpe(tpe) = &c else { panic!("expected tpe, got {c:?}") };
    assert!(!tpe.multivariate && tpe.constant_liar && tpe.n_startup_trials == 5);
    assert_eq!(
        toml::from_str::<SamplerConfig>("kind = \"random\"").expect("valid"),
        SamplerConfig::Random
    );
    assert!(toml::from_str::<SamplerConfig>("kind = \"tpe\"\nbogus = 1").is_err());
    let bad = SamplerConfig::Tpe(TpeConfig { prior_weight: 0.0, ..TpeConfig::default() });
    assert_eq!(
        bad.build(0).expect_err("invalid").to_string(),
        "tpe: prior_weight must be positive and finite, got 0"
    );
    let d: Direction =
        toml::from_str::<BTreeMap<String, Direction>>("d = \"max\"").expect("valid")["d"];
    assert_eq!(d, Direction::Maximize);
}
