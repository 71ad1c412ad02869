//! The pipeline's decision log as reviewed data (insta YAML): stoppers and ASHA together.

use hpo_runner::config::StudyConfig;
use hpo_runner::pipeline::{Pipeline, Record, TrialEvent};

fn log(toml: &str, events: &[TrialEvent]) -> Vec<Record> {
    let config = StudyConfig::from_toml_str(toml).expect("valid config");
    let mut p = Pipeline::from_config(&config).expect("valid");
    events.iter().map(|&e| p.apply(e).expect("valid event")).collect()
}

fn result(trial: u64, iteration: u64, value: Option<f64>) -> TrialEvent {
    TrialEvent::Result { trial, iteration, value }
}

#[test]
fn stoppers_then_asha_small() {
    // grace 2, rf 2, max_t 8; plateau (3 results within 0.01, grace 3), drop (window 3, 0.3).
    let toml = r#"
[scheduler]
kind = "asha"
max_t = 8
grace_period = 2
reduction_factor = 2
[stoppers.plateau]
std = 0.01
num_results = 3
grace_period = 3
[stoppers.drop]
window = 3
drop_threshold = 0.3
[stoppers.max_iters]
max_iters = 6
"#;
    let mut events: Vec<TrialEvent> = (0..4).map(|t| TrialEvent::Add { trial: t, bracket: None }).collect();
    // t0 good and rising, t1 flat (plateau), t2 crashes (drop), t3 weak (ASHA at rung 2).
    let curves: [&[Option<f64>]; 4] = [
        &[Some(0.2), Some(0.4), Some(0.5), Some(0.6), Some(0.7), Some(0.8)],
        &[Some(0.5), Some(0.5), Some(0.5)],
        &[Some(0.6), Some(0.7), Some(0.3)],
        &[Some(0.1), None, Some(0.2)],
    ];
    for i in 0..6 {
        for (t, c) in curves.iter().enumerate() {
            if let Some(&v) = c.get(i) {
                events.push(result(t as u64, i as u64 + 1, v));
            }
        }
    }
    insta::assert_yaml_snapshot!(log(toml, &events));
}
