//! `hpo replay` end to end: Ray goldens, the YAML log, and input errors (exit code 2).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay")
}

fn replay(config: &Path, events: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hpo"))
        .arg("replay")
        .arg("--config")
        .arg(config)
        .arg("--events")
        .arg(events)
        .args(extra)
        .output()
        .expect("run hpo")
}

/// A scratch file under the target's temp dir, named for the test.
fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hpo-replay-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scratch file");
    path
}

fn check_golden(config: &str, events: &str, expected: &str) {
    let f = fixtures();
    let out = replay(&f.join(config), &f.join(events), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{events}: {stderr}");
    let want = std::fs::read_to_string(f.join(expected)).expect("golden");
    let got = String::from_utf8(out.stdout).expect("utf-8");
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "{events}: output row {n} differs from Ray's");
    }
    assert_eq!(got.lines().count(), want.lines().count(), "{events}: row count");
}

#[test]
fn the_example_matches_ray() {
    check_golden("study.toml", "events.csv", "expected.csv");
}

#[test]
fn the_reference_settings_at_scale_match_ray() {
    // 14 trials, stoppers and ASHA, NaN and missing values, a failure, a run to max_iters.
    check_golden("study.toml", "ray/reference.events.csv", "ray/reference.expected.csv");
}

#[test]
fn three_explicit_brackets_in_min_mode_match_ray() {
    check_golden(
        "ray/brackets_min.toml",
        "ray/brackets_min.events.csv",
        "ray/brackets_min.expected.csv",
    );
}

const SMALL_STUDY: &str = r#"
[study]
mode = "max"
seed = 3
[scheduler]
kind = "asha"
max_t = 8
grace_period = 1
reduction_factor = 2
brackets = 2
[stoppers.drop]
window = 2
drop_threshold = 0.5
"#;

#[test]
fn yaml_log_shows_decisions_and_rung_state() {
    let config = scratch("yaml.toml", SMALL_STUDY);
    let events = scratch(
        "yaml.csv",
        "event,trial,iteration,value,bracket\n\
         # three trials, one drawn bracket\n\
         add,0,,,0\nadd,1,,,0\nadd,2,,,\n\
         result,0,1,0.5,\nresult,1,1,0.25,\nresult,2,1,nan,\n\
         result,0,2,,\nresult,0,3,0.9,\nresult,0,4,0.3,\n\
         complete,2,1,nan,\n",
    );
    let out = replay(&config, &events, &["--format", "yaml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    insta::assert_snapshot!(text);
}

#[test]
fn csv_output_of_a_small_log() {
    let config = scratch("csv.toml", SMALL_STUDY);
    let events = scratch(
        "csv.csv",
        "event,trial,iteration,value\nadd,0,,\nadd,1,,\nresult,0,1,0.5\nresult,1,1,0.25\nresult,0,2,\n",
    );
    let out = replay(&config, &events, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Both trials drew bracket 0 or 1 from seed 3; the rows do not depend on which for trial 0.
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "trial,iteration,decision,reason");
    assert_eq!(rows[1], "0,1,continue,");
    assert_eq!(rows.len(), 4);
}

/// Run with a bad input; the command must exit 2 and print every `needles` on stderr.
fn check_input_error(config_text: &str, events_text: &str, needles: &[&str]) {
    let name = format!("err-{:x}", fxhash(config_text) ^ fxhash(events_text));
    let config = scratch(&format!("{name}.toml"), config_text);
    let events = scratch(&format!("{name}.csv"), events_text);
    let out = replay(&config, &events, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout on error");
    for needle in needles {
        let needle = needle.replace("{events}", &events.display().to_string());
        let needle = needle.replace("{config}", &config.display().to_string());
        assert!(stderr.contains(&needle), "{needle:?} not in {stderr}");
    }
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

const HEADER: &str = "event,trial,iteration,value,bracket\n";

#[test]
fn a_bad_value_names_file_and_line() {
    let events = format!("{HEADER}add,0,,,\nresult,0,1,0.5,\nresult,0,2,abc,\n");
    check_input_error(SMALL_STUDY, &events, &["{events} line 4", "value `abc`"]);
}

#[test]
fn a_result_for_a_trial_never_added_is_an_error() {
    let events = format!("{HEADER}add,0,,,\nresult,1,1,0.5,\n");
    check_input_error(SMALL_STUDY, &events, &["{events} line 3", "trial 1 was never added"]);
}

#[test]
fn events_after_a_stop_are_an_error() {
    let events = format!(
        "{HEADER}add,0,,,0\nadd,1,,,0\nresult,0,1,0.9,\nresult,1,1,0.1,\nresult,1,2,0.2,\n"
    );
    check_input_error(
        SMALL_STUDY,
        &events,
        &["{events} line 6", "trial 1 is already stopped (asha_early_stop)"],
    );
}

#[test]
fn malformed_lines_are_errors() {
    let cases: [(&str, &[&str]); 7] = [
        ("add,0,,,\nfinish,0,1,0.5,\n", &["line 3", "unknown event `finish`"]),
        ("add,x,,,\n", &["line 2", "trial `x`"]),
        ("add,0,,,\nresult,0,,0.5,\n", &["line 3", "iteration ``"]),
        ("add,0,,,\nresult,0,1,0.5,1\n", &["line 3", "takes no bracket"]),
        ("add,0,,,7\n", &["line 2", "bracket 7", "does not exist"]),
        ("add,0,,,\nadd,0,,,\n", &["line 3", "already added"]),
        ("add,0,,\n", &["line 2"]),
    ];
    for (body, needles) in cases {
        check_input_error(SMALL_STUDY, &format!("{HEADER}{body}"), needles);
    }
}

#[test]
fn a_bad_header_is_an_error() {
    check_input_error(
        SMALL_STUDY,
        "event,trial,value\nadd,0,\n",
        &["line 1", "missing column `iteration`"],
    );
    check_input_error(
        SMALL_STUDY,
        "event,trial,iteration,value,extra\n",
        &["unknown column `extra`"],
    );
}

#[test]
fn a_bad_config_names_the_file_and_key() {
    let events = format!("{HEADER}add,0,,,\n");
    check_input_error("[study]\nmode = \"max\"\ncolour = 1\n", &events, &["{config}", "colour"]);
    check_input_error(
        "[scheduler]\nkind = \"asha\"\nreduction_factor = 1\n",
        &events,
        &["{config}", "`scheduler.reduction_factor` = 1"],
    );
    check_input_error("[stoppers.drop]\nwindow = 1\n", &events, &["`stoppers.drop.window` = 1"]);
}

#[test]
fn a_missing_file_is_an_input_error() {
    let f = fixtures();
    let out = replay(&f.join("study.toml"), &f.join("no-such-events.csv"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-events.csv"));
}
