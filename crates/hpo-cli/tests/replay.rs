//! `hpo replay` end to end: Ray goldens, the YAML log, trial names, and input errors (exit code 2).

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
        ("add,,,,\n", &["line 2", "trial name is empty"]),
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

/// `text` (a CSV without quoted fields) with field `column` of every data row renamed by `name`.
fn rename_trials(text: &str, column: usize, name: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    for (n, row) in text.lines().enumerate() {
        if n == 0 || row.starts_with('#') {
            out.push_str(row);
        } else {
            let mut fields: Vec<String> = row.split(',').map(str::to_string).collect();
            fields[column] = name(&fields[column]);
            out.push_str(&fields.join(","));
        }
        out.push('\n');
    }
    out
}

/// A golden replayed with its trials renamed: Ray's decisions, under the new names.
fn check_golden_renamed(config: &str, events: &str, expected: &str, name: &dyn Fn(&str) -> String) {
    let f = fixtures();
    let text = std::fs::read_to_string(f.join(events)).expect("events fixture");
    let renamed =
        scratch(&format!("named-{}", events.replace('/', "-")), &rename_trials(&text, 1, name));
    let out = replay(&f.join(config), &renamed, &[]);
    assert!(out.status.success(), "{events}: {}", String::from_utf8_lossy(&out.stderr));
    let want = std::fs::read_to_string(f.join(expected)).expect("golden");
    let want = rename_trials(&want, 0, name);
    let got = String::from_utf8(out.stdout).expect("utf-8");
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "{events}: output row {n} differs from Ray's");
    }
    assert_eq!(got.lines().count(), want.lines().count(), "{events}: row count");
}

/// Ray Tune's trial ids: an experiment hash and the trial's index.
fn ray_name(id: &str) -> String {
    let n: u64 = id.parse().expect("an integer id in the fixture");
    format!("a1b2c3_{n:05}")
}

#[test]
fn ray_trial_names_give_rays_decisions_under_those_names() {
    // The fixtures add their trials in the order 0, 1, 2, ..., so the names get the same numbers.
    check_golden_renamed("study.toml", "events.csv", "expected.csv", &ray_name);
    check_golden_renamed(
        "study.toml",
        "ray/reference.events.csv",
        "ray/reference.expected.csv",
        &ray_name,
    );
    check_golden_renamed(
        "ray/brackets_min.toml",
        "ray/brackets_min.events.csv",
        "ray/brackets_min.expected.csv",
        &|id| format!("trial {id} of min"),
    );
}

#[test]
fn yaml_log_shows_trial_names_as_given() {
    let config = scratch("yaml-names.toml", SMALL_STUDY);
    // A Ray name, a name that starts with a digit, one that reads as a YAML float, and an
    // integer-looking name among names (a name, not trial number 5).
    let events = scratch(
        "yaml-names.csv",
        "event,trial,iteration,value,bracket\n\
         add,a1b2c3_00001,,,0\nadd,7f_00002,,,0\nadd,nan,,,0\nadd,5,,,1\n\
         result,a1b2c3_00001,1,0.5,\nresult,7f_00002,1,0.25,\nresult,nan,1,0.75,\n\
         result,5,2,0.1,\nfail,nan,,,\n",
    );
    let out = replay(&config, &events, &["--format", "yaml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    insta::assert_snapshot!(text);
}

#[test]
fn csv_output_quotes_names_that_need_it() {
    let config = scratch("csv-names.toml", SMALL_STUDY);
    let events = scratch(
        "csv-names.csv",
        "event,trial,iteration,value\nadd,\"lr=0.1,seed=2\",,\nadd,\"say \"\"hi\"\"\",,\n\
         result,\"lr=0.1,seed=2\",1,0.5\nresult,\"say \"\"hi\"\"\",1,0.5\n",
    );
    let out = replay(&config, &events, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[1], "\"lr=0.1,seed=2\",1,continue,");
    assert!(rows[2].starts_with("\"say \"\"hi\"\"\",1,"), "{}", rows[2]);
}

#[test]
fn integer_ids_keep_their_numbers_in_any_order() {
    // FIFO: every result continues; the trials keep their own numbers, not 0, 1 by appearance.
    let config = scratch("fifo.toml", "[study]\nmode = \"max\"\n");
    let events = scratch(
        "fifo.csv",
        &format!("{HEADER}add,5,,,\nadd,2,,,\nresult,2,1,0.5,\nresult,5,1,0.5,\n"),
    );
    let out = replay(&config, &events, &["--format", "yaml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let trials = text.split("\ntrials:\n").nth(1).expect("a trials section");
    assert_eq!(
        trials.lines().filter(|l| l.contains("trial:")).collect::<Vec<_>>(),
        ["  - trial: 2", "  - trial: 5"],
        "sorted by number, as before names"
    );
}

#[test]
fn errors_name_trials_by_their_names() {
    let events = format!("{HEADER}add,a1b2c3_00001,,,\nresult,a1b2c3_00002,1,0.5,\n");
    check_input_error(
        SMALL_STUDY,
        &events,
        &["{events} line 3", "trial `a1b2c3_00002` was never added"],
    );
    let events = format!(
        "{HEADER}add,run a,,,0\nadd,run b,,,0\n\
         result,run a,1,0.9,\nresult,run b,1,0.1,\nresult,run b,2,0.2,\n"
    );
    check_input_error(
        SMALL_STUDY,
        &events,
        &["{events} line 6", "trial `run b` is already stopped (asha_early_stop)"],
    );
    check_input_error(
        SMALL_STUDY,
        &format!("{HEADER}add,run a,,,7\n"),
        &["{events} line 2", "bracket 7 for trial `run a` does not exist"],
    );
}

#[test]
fn iterations_of_a_trial_must_increase() {
    let cases: [(&str, &[&str]); 3] = [
        (
            "add,0,,,\nadd,1,,,\nresult,0,7,0.5,\nresult,1,1,0.5,\nresult,0,5,0.4,\n",
            &["{events} line 6", "trial 0", "iteration 5", "iteration 7 (line 4)"],
        ),
        (
            "add,0,,,\nresult,0,3,0.5,\nresult,0,3,0.5,\n",
            &["{events} line 4", "trial 0", "iteration 3 after iteration 3 (line 3)"],
        ),
        (
            "add,r_1,,,\nresult,r_1,3,0.5,\ncomplete,r_1,2,0.5,\n",
            &["{events} line 4", "trial `r_1`", "iteration 2", "iteration 3 (line 3)"],
        ),
    ];
    for (body, needles) in cases {
        check_input_error(SMALL_STUDY, &format!("{HEADER}{body}"), needles);
    }
    // A trial that ends on its own repeats its last result: the same iteration is fine.
    let config = scratch("complete.toml", SMALL_STUDY);
    let events =
        scratch("complete.csv", &format!("{HEADER}add,0,,,\nresult,0,3,0.5,\ncomplete,0,3,0.5,\n"));
    let out = replay(&config, &events, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn help_explains_trial_names_and_iterations() {
    let out = Command::new(env!("CARGO_BIN_EXE_hpo"))
        .args(["replay", "--help"])
        .output()
        .expect("run hpo");
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["any non-empty name", "first appearance", "must increase"] {
        assert!(help.contains(needle), "{needle:?} not in {help}");
    }
}
