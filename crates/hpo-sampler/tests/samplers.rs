//! One suite run over every sampler: random, TPE univariate, TPE multivariate (the default).

use hpo_sampler::{
    Direction, Distribution, History, Outcome, ParamValue, Params, RandomSampler, Sampler,
    SearchSpace, Study, TpeConfig, TpeSampler, Trial, TrialState,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Random,
    TpeUnivariate,
    TpeMultivariate,
}

const KINDS: [Kind; 3] = [Kind::Random, Kind::TpeUnivariate, Kind::TpeMultivariate];

fn sampler(kind: Kind, seed: u64) -> Box<dyn Sampler> {
    match kind {
        Kind::Random => Box::new(RandomSampler::new(seed)),
        Kind::TpeUnivariate => Box::new(
            TpeSampler::new(TpeConfig { multivariate: false, ..TpeConfig::default() }, seed)
                .expect("valid config"),
        ),
        Kind::TpeMultivariate => {
            Box::new(TpeSampler::new(TpeConfig::default(), seed).expect("valid config"))
        }
    }
}

fn liar(kind: Kind) -> bool {
    !matches!(kind, Kind::Random)
}

fn mixed_space() -> SearchSpace {
    SearchSpace::from_toml_str(
        r#"
        [space.lr]
        type = "float"
        low = 9e-5
        high = 1.3e-4
        log = true
        [space.num_epochs]
        type = "int"
        low = 22
        high = 30
        step = 2
        [space.x]
        type = "float"
        low = -2.0
        high = 3.0
        [space.q]
        type = "float"
        low = 0.0
        high = 1.0
        step = 0.25
        [space.k]
        type = "int"
        low = 1
        high = 64
        log = true
        [space.act]
        type = "categorical"
        choices = ["relu", "tanh", 3, true]
        [space.fixed]
        type = "int"
        low = 7
        high = 7
        "#,
    )
    .expect("valid space")
}

/// A deterministic objective of every parameter, plus noise from `noise_seed`.
fn objective(p: &Params) -> f64 {
    let f = |n: &str| p[n].as_f64().unwrap_or(0.0);
    let act = match &p["act"] {
        ParamValue::Str(s) if s == "tanh" => 0.0,
        _ => 1.0,
    };
    (f("x") - 1.0).powi(2)
        + (f("lr").ln() - 1e-4f64.ln()).powi(2)
        + (f("num_epochs") - 26.0).abs() / 4.0
        + (f("q") - 0.5).abs()
        + (f("k").log2() - 3.0).powi(2) / 10.0
        + act
}

/// Runs `n` sequential trials and returns the suggested params.
fn run(
    kind: Kind,
    seed: u64,
    space: &SearchSpace,
    n: usize,
    f: &mut dyn FnMut(&Params) -> f64,
) -> Vec<Params> {
    let mut study =
        Study::with_boxed_sampler(space.clone(), Direction::Minimize, sampler(kind, seed));
    (0..n)
        .map(|_| {
            let t = study.ask();
            study.tell(t.number, Outcome::Complete(f(&t.params))).expect("finite");
            t.params
        })
        .collect()
}

#[test]
fn same_seed_same_suggestions() {
    let space = mixed_space();
    for kind in KINDS {
        let a = run(kind, 7, &space, 25, &mut objective);
        let b = run(kind, 7, &space, 25, &mut objective);
        assert_eq!(a, b, "{kind:?}");
        let c = run(kind, 8, &space, 25, &mut objective);
        assert_ne!(a, c, "{kind:?}: another seed should change something");
    }
}

#[test]
fn suggestions_are_inside_bounds_and_on_the_grid() {
    let space = mixed_space();
    for kind in KINDS {
        for params in run(kind, 3, &space, 40, &mut objective) {
            assert_eq!(params.len(), space.len(), "{kind:?}: {params:?}");
            let checked = space.check_params(&params).expect("valid suggestion");
            assert_eq!(checked, params, "{kind:?}: suggestions are already canonical");
            assert_eq!(params["fixed"], ParamValue::Int(7));
            let q = params["q"].as_f64().expect("float");
            assert!([0.0, 0.25, 0.5, 0.75, 1.0].contains(&q), "{kind:?}: q = {q}");
        }
    }
}

#[test]
fn log_parameters_spread_evenly_in_log_space() {
    let space =
        SearchSpace::from_params([("c", Distribution::float_log(1e-4, 1.0))]).expect("valid space");
    let decades = |values: &[Params]| {
        let mut counts = [0usize; 4];
        for p in values {
            let c = p["c"].as_f64().expect("float");
            counts[(-c.log10()).floor().clamp(0.0, 3.0) as usize] += 1;
        }
        counts
    };
    // Random search: 30 expected per decade; a linear sampler would put ~110 in the first.
    let mut noise = ChaCha8Rng::seed_from_u64(99);
    let mut f = |_: &Params| noise.random::<f64>();
    let counts = decades(&run(Kind::Random, 11, &space, 120, &mut f));
    assert!(counts.iter().all(|c| (15..=50).contains(c)), "random: {counts:?}");
    for kind in KINDS {
        // The optimum 1e-2 sits in the middle in log space: a sampler working in log space
        // spreads its suggestions evenly on both sides (decades 1 and 2), a linear one would
        // pile them above it.
        let mut f = |p: &Params| (p["c"].as_f64().expect("float").log10() + 2.0).abs();
        let counts = decades(&run(kind, 11, &space, 120, &mut f));
        let (below, above) = (counts[2] as f64, counts[1] as f64);
        assert!(below >= 15.0 && above >= 15.0, "{kind:?}: {counts:?}");
        assert!((1.0 / 3.0..=3.0).contains(&(below / above)), "{kind:?}: {counts:?}");
    }
}

#[test]
fn startup_trials_are_the_random_samplers() {
    let space = mixed_space();
    let random = run(Kind::Random, 5, &space, 10, &mut objective);
    for kind in KINDS {
        let first = run(kind, 5, &space, 10, &mut objective);
        assert_eq!(first, random, "{kind:?}: the first 10 trials are random");
    }
    // After startup TPE departs from random search.
    let random = run(Kind::Random, 5, &space, 12, &mut objective);
    let tpe = run(Kind::TpeMultivariate, 5, &space, 12, &mut objective);
    assert_ne!(random[10..], tpe[10..]);
}

fn history<'a>(space: &'a SearchSpace, trials: &'a [Trial]) -> History<'a> {
    History { space, trials, direction: Direction::Minimize }
}

fn trial(number: u64, params: Params, state: TrialState, value: Option<f64>) -> Trial {
    Trial { number, params, state, value, intermediate_values: Default::default() }
}

#[test]
fn running_trials_are_counted_under_constant_liar() {
    let space = mixed_space();
    for kind in KINDS {
        let mut trials: Vec<Trial> = run(kind, 2, &space, 12, &mut objective)
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let v = objective(&p);
                trial(i as u64, p, TrialState::Complete, Some(v))
            })
            .collect();
        let s = sampler(kind, 2);
        let without = s.sample(history(&space, &trials), 13);
        // Trial 12 is running with the best-looking parameters so far.
        let best = trials
            .iter()
            .min_by(|a, b| a.value.partial_cmp(&b.value).expect("finite"))
            .expect("trials");
        trials.push(trial(12, best.params.clone(), TrialState::Running, None));
        let with = s.sample(history(&space, &trials), 13);
        if liar(kind) {
            assert_ne!(
                with, without,
                "{kind:?}: a running trial must count as a pessimistic point"
            );
        } else {
            assert_eq!(with, without, "{kind:?}");
        }
        // The trial being sampled is never its own liar.
        let own = s.sample(history(&space, &trials), 12);
        let trials_without_12 = &trials[..12];
        assert_eq!(own, s.sample(history(&space, trials_without_12), 12), "{kind:?}");
        // Running trials do not count towards the startup trials.
        let running: Vec<Trial> = trials
            .iter()
            .take(11)
            .map(|t| trial(t.number, t.params.clone(), TrialState::Running, None))
            .collect();
        let random = RandomSampler::new(2).sample(history(&space, &running), 11);
        assert_eq!(s.sample(history(&space, &running), 11), random, "{kind:?}");
    }
}

#[test]
fn tpe_beats_random_on_a_simple_function() {
    let space = SearchSpace::from_params([
        ("x", Distribution::float(-10.0, 10.0)),
        ("y", Distribution::float(-10.0, 10.0)),
        ("n", Distribution::int(-20, 20)),
    ])
    .expect("valid space");
    let mut f = |p: &Params| {
        let g = |n: &str| p[n].as_f64().unwrap_or(0.0);
        (g("x") - 3.0).powi(2) + (g("y") + 2.0).powi(2) + (g("n") - 5.0).powi(2) / 4.0
    };
    let mut medians = Vec::new();
    for kind in KINDS {
        let mut bests: Vec<f64> = (0..7)
            .map(|seed| {
                run(kind, seed, &space, 40, &mut f).iter().map(&mut f).fold(f64::INFINITY, f64::min)
            })
            .collect();
        bests.sort_by(f64::total_cmp);
        medians.push(bests[3]);
    }
    let (random, uni, multi) = (medians[0], medians[1], medians[2]);
    assert!(uni < 0.5 * random, "univariate {uni} vs random {random}");
    assert!(multi < 0.5 * random, "multivariate {multi} vs random {random}");
}

#[test]
fn maximize_prefers_large_values() {
    let space = SearchSpace::from_params([("x", Distribution::float(0.0, 1.0))]).expect("valid");
    let mut study = Study::new(
        space,
        Direction::Maximize,
        TpeSampler::new(TpeConfig::default(), 1).expect("valid"),
    );
    for _ in 0..40 {
        let t = study.ask();
        let x = t.params["x"].as_f64().expect("float");
        study.tell(t.number, Outcome::Complete(x)).expect("finite");
    }
    let late: Vec<f64> = study.trials()[25..].iter().map(|t| t.value.expect("complete")).collect();
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    assert!(mean > 0.75, "mean of late trials {mean}");
}
