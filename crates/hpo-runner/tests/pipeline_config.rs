//! `StudyConfig`: defaults, the reference file, and errors that name the key.

use hpo_runner::config::{AshaConfig, ConfigError, Mode, SchedulerConfig, StudyConfig};

#[test]
fn an_empty_file_is_fifo_max_seed_0() {
    let c = StudyConfig::from_toml_str("").expect("valid");
    assert_eq!(c.study.mode, Mode::Max);
    assert_eq!((c.study.seed, c.study.metric.as_str()), (0, "score_pred"));
    assert_eq!(c.scheduler, SchedulerConfig::Fifo);
    assert!(c.stoppers.is_empty());
    let fifo = StudyConfig::from_toml_str("[scheduler]\nkind = \"fifo\"\n").expect("valid");
    assert_eq!(fifo.scheduler, SchedulerConfig::Fifo);
}

#[test]
fn the_reference_fixture_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../hpo-cli/tests/fixtures/replay/study.toml");
    let c = StudyConfig::from_path(path).expect("valid");
    let want = AshaConfig {
        max_t: 1000.0,
        grace_period: 40.0,
        reduction_factor: 3.0,
        brackets: 1,
        stop_last_trials: true,
    };
    assert_eq!(c.scheduler, SchedulerConfig::Asha(want));
    assert_eq!(
        c.stoppers.plateau.map(|p| (p.std, p.num_results, p.grace_period)),
        Some((0.02, 12, 40))
    );
    assert_eq!(c.stoppers.max_iters.map(|m| m.max_iters), Some(1000));
}

fn error(text: &str) -> String {
    StudyConfig::from_toml_str(text).expect_err("invalid").to_string()
}

#[test]
fn unknown_keys_and_sections_are_named() {
    let e = error("[study]\nmode = \"max\"\nsead = 1\n");
    assert!(e.contains("sead") && e.contains("line 3"), "{e}");
    assert!(error("[studdy]\n").contains("studdy"));
    assert!(error("[scheduler]\nkind = \"asha\"\ngrace = 4\n").contains("grace"));
    assert!(error("[scheduler]\nkind = \"hyperband\"\n").contains("hyperband"));
    assert!(error("[stoppers.plateu]\n").contains("plateu"));
    assert!(error("[study]\nmode = \"maximize\"\n").contains("maximize"));
}

#[test]
fn out_of_range_values_name_section_and_key() {
    let cases = [
        ("[study]\nmetric = \"\"\n", "`study.metric`"),
        ("[scheduler]\nkind = \"asha\"\ngrace_period = 0\n", "`scheduler.grace_period` = 0"),
        (
            "[scheduler]\nkind = \"asha\"\nmax_t = 10\ngrace_period = 20\n",
            "`scheduler.grace_period` = 20",
        ),
        ("[scheduler]\nkind = \"asha\"\nbrackets = 0\n", "`scheduler.brackets` = 0"),
        ("[stoppers.plateau]\nstd = -1\n", "`stoppers.plateau.std` = -1"),
        ("[stoppers.max_iters]\nmax_iters = 0\n", "`stoppers.max_iters.max_iters` = 0"),
    ];
    for (text, key) in cases {
        assert!(error(text).contains(key), "{text}: {}", error(text));
    }
}

#[test]
fn file_errors_name_the_file() {
    let missing = StudyConfig::from_path("/no/such/study.toml").expect_err("missing");
    assert!(matches!(missing, ConfigError::Read { .. }));
    assert!(missing.to_string().contains("/no/such/study.toml"));
}
