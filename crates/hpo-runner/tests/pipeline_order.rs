//! The pipeline's decision order and its error values.

use hpo_runner::config::StudyConfig;
use hpo_runner::pipeline::{
    Decision, Pipeline, PipelineError, Record, StopReason, TrialEvent, TrialStatus,
};

fn pipeline(toml: &str) -> Pipeline {
    Pipeline::from_config(&StudyConfig::from_toml_str(toml).expect("valid config")).expect("valid")
}

const ASHA_40: &str =
    "[scheduler]\nkind = \"asha\"\nmax_t = 1000\ngrace_period = 40\nreduction_factor = 3\n";

#[test]
fn a_stopper_skips_the_scheduler_but_the_completion_hook_records() {
    let mut p = pipeline(&format!("{ASHA_40}[stoppers.max_iters]\nmax_iters = 40\n"));
    p.add_trial(0, None).expect("add");
    p.add_trial(1, None).expect("add");
    for i in 1..40 {
        assert_eq!(p.on_result(0, i, Some(0.9)).expect("ok").decision, Decision::Continue);
    }
    let r = p.on_result(0, 40, Some(0.9)).expect("ok");
    assert_eq!(r.decision, Decision::Stop(StopReason::MaxIters));
    assert_eq!(r.rung, None, "the scheduler's on_result is not called");
    assert_eq!(r.completion_rung.map(|v| v.milestone), Some(40.0), "the completion hook recorded");
    assert_eq!((r.rung_index, r.pruned_at), (0, None));
    for i in 1..40 {
        p.on_result(1, i, Some(0.5)).expect("ok");
    }
    let r = p.on_result(1, 40, Some(0.5)).expect("ok");
    assert_eq!(r.decision, Decision::Stop(StopReason::MaxIters), "stoppers come first");
}

#[test]
fn asha_decides_when_no_stopper_fires() {
    let mut p = pipeline(ASHA_40);
    p.add_trial(0, None).expect("add");
    p.add_trial(1, None).expect("add");
    p.on_result(0, 40, Some(0.9)).expect("ok");
    let r = p.on_result(1, 40, Some(0.5)).expect("ok");
    assert_eq!(r.decision, Decision::Stop(StopReason::AshaEarlyStop));
    assert_eq!(r.rung.map(|v| (v.milestone, v.cutoff)), Some((40.0, Some(0.9))));
    assert_eq!(r.completion_rung, None, "already recorded at 40");
    assert_eq!(p.rung_index(1), 0);
    assert_eq!(p.pruned_at(1), Some(40.0));
    assert_eq!(p.status(1), Some(TrialStatus::Stopped(StopReason::AshaEarlyStop)));
    let r = p.on_result(0, 1000, Some(0.9)).expect("ok");
    assert_eq!(r.decision, Decision::Stop(StopReason::Completed), "max_t");
    assert_eq!(r.rung_index, 2);
}

#[test]
fn max_t_on_a_rung_is_recorded_by_the_completion_hook() {
    let mut p = pipeline("[scheduler]\nkind = \"asha\"\nmax_t = 81\nreduction_factor = 3\n");
    p.add_trial(0, None).expect("add");
    let r = p.on_result(0, 81, Some(1.0)).expect("ok");
    assert_eq!(r.decision, Decision::Stop(StopReason::Completed));
    assert_eq!(r.rung, None);
    assert_eq!(r.completion_rung.map(|v| v.milestone), Some(81.0));
    // The CSV's rung_index counts rungs below max_t (1, 3, 9, 27), as stoppers.md defines it.
    assert_eq!(r.rung_index, 3);
}

#[test]
fn fifo_never_stops_and_has_no_brackets() {
    let mut p = pipeline("");
    p.add_trial(0, None).expect("add");
    for i in 1..=5000 {
        assert_eq!(p.on_result(0, i, Some(-1.0e9)).expect("ok").decision, Decision::Continue);
    }
    assert_eq!(p.rung_index(0), -1);
    assert_eq!(
        p.add_trial(1, Some(0)),
        Err(PipelineError::BracketWithoutScheduler { trial: 1, bracket: 0 })
    );
}

#[test]
fn misuse_is_an_error_value() {
    let mut p = pipeline(&format!("{ASHA_40}[stoppers.max_iters]\nmax_iters = 2\n"));
    assert_eq!(p.on_result(7, 1, Some(1.0)), Err(PipelineError::UnknownTrial(7)));
    p.add_trial(0, None).expect("add");
    assert_eq!(p.add_trial(0, None), Err(PipelineError::DuplicateTrial(0)));
    p.on_result(0, 1, Some(1.0)).expect("ok");
    assert!(p.on_result(0, 2, Some(1.0)).expect("ok").decision.is_stop());
    let stopped =
        PipelineError::NotRunning { trial: 0, status: TrialStatus::Stopped(StopReason::MaxIters) };
    assert_eq!(p.on_result(0, 3, Some(1.0)), Err(stopped.clone()));
    assert_eq!(p.complete_trial(0, 3, Some(1.0)).map(|_| ()), Err(stopped.clone()));
    assert_eq!(p.fail_trial(0), Err(stopped));
    p.add_trial(1, None).expect("add");
    p.complete_trial(1, 5, Some(1.0)).expect("complete");
    assert!(matches!(
        p.on_result(1, 6, None),
        Err(PipelineError::NotRunning { status: TrialStatus::Completed, .. })
    ));
}

#[test]
fn a_failed_trial_records_nothing() {
    let mut p = pipeline(ASHA_40);
    p.add_trial(0, None).expect("add");
    p.add_trial(1, None).expect("add");
    p.on_result(0, 39, Some(5.0)).expect("ok");
    p.fail_trial(0).expect("fail");
    assert_eq!(p.status(0), Some(TrialStatus::Failed));
    // Nothing of trial 0 is at rung 40: trial 1 is the first there and continues.
    let r = p.on_result(1, 40, Some(0.1)).expect("ok");
    assert_eq!((r.decision, r.rung.map(|v| v.others)), (Decision::Continue, Some(0)));
}

#[test]
fn missing_and_non_finite_metrics_are_reported() {
    let mut p = pipeline(ASHA_40);
    p.add_trial(0, None).expect("add");
    let missing = p.on_result(0, 40, None).expect("ok");
    assert_eq!(
        (missing.decision, missing.issue),
        (Decision::Continue, Some(hpo_asha::MetricIssue::Missing))
    );
    let nan = p.on_result(0, 41, Some(f64::NAN)).expect("ok");
    assert_eq!(nan.issue, Some(hpo_asha::MetricIssue::NotFinite));
    assert_eq!(nan.rung.map(|v| v.milestone), Some(40.0), "a NaN is recorded as Ray does");
}

#[test]
fn state_round_trips_and_replay_is_deterministic() {
    let toml = "[study]\nseed = 5\n[scheduler]\nkind = \"asha\"\nmax_t = 30\nbrackets = 3\nreduction_factor = 2\n[stoppers.plateau]\ngrace_period = 4\nnum_results = 3\n";
    let events: Vec<TrialEvent> = (0..6)
        .map(|t| TrialEvent::Add { trial: t, bracket: None })
        .chain((1..=12).flat_map(|i| {
            (0..6).map(move |t| TrialEvent::Result {
                trial: t,
                iteration: i,
                value: Some(((t * 13 + i * 7) % 10) as f64 / 10.0),
            })
        }))
        .collect();
    // Events of stopped trials are refused (and skipped here).
    let run = |events: &[TrialEvent], p: &mut Pipeline| -> Vec<Record> {
        events.iter().filter_map(|&e| p.apply(e).ok()).collect()
    };
    let mut a = pipeline(toml);
    let log_a = run(&events, &mut a);
    let mut b = pipeline(toml);
    let mut log_b = run(&events[..40], &mut b);
    let json = serde_json::to_string(&b).expect("serialise");
    let mut b: Pipeline = serde_json::from_str(&json).expect("restore");
    log_b.extend(run(&events[40..], &mut b));
    assert_eq!(log_a, log_b);
    assert_eq!(a, b);
    assert!(log_a.iter().any(|r| matches!(r, Record::Result(d) if d.decision.is_stop())));
}
