//! Decision logs of whole scenarios, as reviewed snapshots (insta, YAML).
//!
//! Each scenario feeds trials round-robin, one result per trial per time step (as a study with
//! every trial running at once would), calls the completion hook with the same result on a stop,
//! and logs every result that judged a rung or stopped, and every completion that recorded a
//! value. Curves are rational functions so the same scenarios can be fed to Ray itself
//! (`tests/ray/scenarios.py` compares these snapshots with Ray 2.60).

use hpo_asha::{Asha, AshaConfig, AshaDecision, Mode, RungVerdict};

#[derive(Clone, Copy)]
enum Curve {
    /// `top * t / (t + half)`: saturates at `top`.
    Sat(f64, f64),
    /// `a + b * t`.
    Line(f64, f64),
    /// NaN at multiples of `every`, else the inner saturating curve.
    NanEvery(u32, f64, f64),
}

impl Curve {
    fn at(self, t: u32) -> f64 {
        let t = f64::from(t);
        match self {
            Curve::Sat(top, half) => top * t / (t + half),
            Curve::Line(a, b) => a + b * t,
            Curve::NanEvery(k, _, _) if t % f64::from(k) == 0.0 => f64::NAN,
            Curve::NanEvery(_, top, half) => top * t / (t + half),
        }
    }
}

struct Scenario {
    config: AshaConfig,
    mode: Mode,
    seed: u64,
    /// Last time step fed (trials still running then complete on their own).
    until: u32,
    trials: Vec<(Option<usize>, Curve)>,
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn rung(v: &RungVerdict) -> String {
    let cutoff = v.cutoff.map_or("none".into(), fmt);
    format!("rung {} cutoff {} of {}", fmt(v.milestone), cutoff, v.others)
}

fn run(s: &Scenario) -> Vec<String> {
    let mut asha = Asha::new(s.config.clone(), s.mode, s.seed).expect("valid config");
    let mut log = vec![format!("milestones {:?}", asha.milestones())];
    let mut alive = Vec::new();
    for (i, (bracket, _)) in s.trials.iter().enumerate() {
        let b = asha.add_trial(i as u64, *bracket).expect("add");
        log.push(format!("t{i} bracket {b}"));
        alive.push(true);
    }
    for t in 1..=s.until {
        for (i, (_, curve)) in s.trials.iter().enumerate() {
            if !alive[i] {
                continue;
            }
            let v = curve.at(t);
            let step = asha.on_result(i as u64, f64::from(t), Some(v)).expect("running");
            let decision = match step.decision {
                AshaDecision::Continue => "continue",
                AshaDecision::EarlyStop => "STOP asha_early_stop",
                AshaDecision::MaxT => "STOP max_t",
            };
            if step.decision.is_stop() || step.verdict.is_some() {
                let at = step.verdict.map(|v| format!(" [{}]", rung(&v))).unwrap_or_default();
                log.push(format!("t{i} @{t} v={} {decision}{at}", fmt(v)));
            }
            if step.decision.is_stop() {
                alive[i] = false;
                if let Some(v) = asha.on_trial_complete(i as u64, f64::from(t), Some(v)).expect("c")
                {
                    log.push(format!("t{i} complete @{t} recorded [{}]", rung(&v)));
                }
            }
        }
    }
    for (i, (_, curve)) in s.trials.iter().enumerate() {
        if alive[i] {
            let v = curve.at(s.until);
            let at = asha.on_trial_complete(i as u64, f64::from(s.until), Some(v)).expect("c");
            let at = at.map(|v| format!(" recorded [{}]", rung(&v))).unwrap_or_default();
            log.push(format!("t{i} complete @{}{at}", s.until));
        }
    }
    for i in 0..s.trials.len() {
        let p = asha.progress(i as u64).expect("added");
        let pruned = p.pruned_at.map_or("-".into(), fmt);
        log.push(format!("t{i} rung_index {} pruned_at {pruned}", p.rung_index));
    }
    log
}

fn config(max_t: f64, grace: f64, rf: f64, brackets: usize, stop_last_trials: bool) -> AshaConfig {
    AshaConfig { max_t, grace_period: grace, reduction_factor: rf, brackets, stop_last_trials }
}

fn scenario(config: AshaConfig, mode: Mode, until: u32, trials: &[Curve]) -> Scenario {
    Scenario { config, mode, seed: 0, until, trials: trials.iter().map(|&c| (None, c)).collect() }
}

#[test]
fn saturating_rf3() {
    let trials = [
        Curve::Sat(1.0, 5.0),
        Curve::Sat(0.8, 2.0),
        Curve::Sat(0.9, 10.0),
        Curve::Sat(0.5, 1.0),
        Curve::Sat(1.2, 20.0),
        Curve::Sat(0.95, 4.0),
    ];
    let s = scenario(config(27.0, 1.0, 3.0, 1, true), Mode::Max, 27, &trials);
    insta::assert_yaml_snapshot!(run(&s));
}

#[test]
fn crossing_rf2() {
    // Fast starters that saturate low against slow starters that end high.
    let trials = [
        Curve::Sat(0.6, 1.0),
        Curve::Sat(1.0, 12.0),
        Curve::Sat(0.7, 2.0),
        Curve::Sat(1.1, 30.0),
        Curve::Line(0.05, 0.05),
    ];
    let s = scenario(config(16.0, 1.0, 2.0, 1, true), Mode::Max, 16, &trials);
    insta::assert_yaml_snapshot!(run(&s));
}

#[test]
fn flat_rf4_ties() {
    // Equal values never stop each other (strict comparison).
    let trials = [
        Curve::Line(0.5, 0.0),
        Curve::Line(0.5, 0.0),
        Curve::Line(0.4, 0.0),
        Curve::Line(0.5, 0.0),
        Curve::Line(0.6, 0.0),
        Curve::Line(0.5, 0.0),
    ];
    let s = scenario(config(20.0, 1.0, 4.0, 1, true), Mode::Max, 20, &trials);
    insta::assert_yaml_snapshot!(run(&s));
}

#[test]
fn min_mode_losses_rf3() {
    // Losses falling linearly at different rates; lower is better.
    let trials = [
        Curve::Line(1.0, -0.03),
        Curve::Line(1.2, -0.02),
        Curve::Line(0.9, -0.01),
        Curve::Line(1.5, -0.05),
        Curve::Line(1.0, -0.035),
    ];
    let s = scenario(config(9.0, 1.0, 3.0, 1, true), Mode::Min, 9, &trials);
    insta::assert_yaml_snapshot!(run(&s));
}

#[test]
fn three_brackets_rf3() {
    let curves = [
        Curve::Sat(1.0, 5.0),
        Curve::Sat(0.8, 2.0),
        Curve::Sat(0.9, 10.0),
        Curve::Sat(0.5, 1.0),
        Curve::Sat(1.2, 20.0),
        Curve::Sat(0.95, 4.0),
    ];
    let s = Scenario {
        config: config(27.0, 1.0, 3.0, 3, true),
        mode: Mode::Max,
        seed: 0,
        until: 27,
        trials: curves.iter().enumerate().map(|(i, &c)| (Some(i % 3), c)).collect(),
    };
    insta::assert_yaml_snapshot!(run(&s));
}

#[test]
fn nan_values_rf2() {
    let trials = [
        Curve::NanEvery(2, 1.0, 1.0),
        Curve::Sat(0.4, 1.0),
        Curve::NanEvery(1, 1.0, 1.0),
        Curve::Sat(0.45, 1.0),
        Curve::Sat(0.3, 1.0),
    ];
    let s = scenario(config(8.0, 1.0, 2.0, 1, true), Mode::Max, 8, &trials);
    insta::assert_yaml_snapshot!(run(&s));
}

#[test]
fn stop_last_trials_false_rf2() {
    // No max_t stop; trials judged once per rung, then they run on to time 12 and complete.
    let trials =
        [Curve::Sat(1.0, 1.0), Curve::Sat(0.9, 1.0), Curve::Line(0.0, 0.2), Curve::Sat(0.95, 1.0)];
    let s = scenario(config(4.0, 1.0, 2.0, 1, false), Mode::Max, 12, &trials);
    insta::assert_yaml_snapshot!(run(&s));
}

#[test]
fn max_t_243_rf3_has_no_rung_at_243() {
    let trials = [
        Curve::Sat(1.0, 50.0),
        Curve::Sat(0.8, 5.0),
        Curve::Line(0.0, 0.004),
        Curve::Sat(0.9, 30.0),
    ];
    let s = scenario(config(243.0, 1.0, 3.0, 1, true), Mode::Max, 243, &trials);
    insta::assert_yaml_snapshot!(run(&s));
}
