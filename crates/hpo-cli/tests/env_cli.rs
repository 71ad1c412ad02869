//! `hpo env stats` and `hpo env render`, run as a person would.

use std::path::PathBuf;
use std::process::{Command, Output};

fn hpo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hpo")).args(args).output().expect("the hpo binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hpo-env-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect()
}

const EPISODE_KEYS: &[&str] = &[
    "seed",
    "steps",
    "end_reason",
    "births_predator",
    "births_prey",
    "deaths_predator_starved",
    "deaths_prey_starved",
    "deaths_prey_eaten",
    "mean_live_predators",
    "mean_live_prey",
    "return_type_1_predator_0",
    "return_all_predators",
    "return_all_prey",
];

#[test]
fn stats_prints_one_json_line_per_episode_then_a_summary() {
    let out = hpo(&["env", "stats", "--episodes", "3", "--seed", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = lines(&out);
    assert_eq!(rows.len(), 4);
    let mut steps = Vec::new();
    for (i, row) in rows[..3].iter().enumerate() {
        for key in EPISODE_KEYS {
            assert!(row.get(key).is_some(), "episode line lacks {key}: {row}");
        }
        assert_eq!(row["seed"], 4 + i as u64);
        let reason = row["end_reason"].as_str().expect("a string");
        assert!(
            ["extinction_predators", "extinction_prey", "truncated"].contains(&reason),
            "{reason}"
        );
        let n = row["steps"].as_f64().expect("a number");
        assert!((1.0..=501.0).contains(&n));
        assert_eq!(reason == "truncated", n == 501.0, "{row}");
        // every reproduction rewards 10: the predators' return is 10 x something
        let ret = row["return_all_predators"].as_f64().expect("a number");
        assert_eq!(ret % 10.0, 0.0);
        assert!(row["return_type_1_predator_0"].as_f64().expect("a number") <= ret);
        steps.push(n);
    }
    let summary = &rows[3];
    assert_eq!(summary["summary"], true);
    assert_eq!(summary["episodes"], 3);
    for stat in ["mean", "std", "median"] {
        for key in EPISODE_KEYS.iter().filter(|k| !["seed", "end_reason"].contains(k)) {
            assert!(summary[stat].get(key).is_some(), "summary {stat} lacks {key}");
        }
    }
    let mean = steps.iter().sum::<f64>() / 3.0;
    assert!((summary["mean"]["steps"].as_f64().expect("a number") - mean).abs() < 1e-9);
    steps.sort_by(f64::total_cmp);
    assert_eq!(summary["median"]["steps"].as_f64(), Some(steps[1]));
}

#[test]
fn stats_are_the_same_on_every_run_and_depend_on_the_seed() {
    let a = hpo(&["env", "stats", "--episodes", "2", "--seed", "9"]);
    let b = hpo(&["env", "stats", "--episodes", "2", "--seed", "9"]);
    assert!(a.status.success());
    assert_eq!(stdout(&a), stdout(&b));
    // episode 10 is the second line of seed 9 and the first of seed 10
    let c = hpo(&["env", "stats", "--episodes", "1", "--seed", "10"]);
    assert_eq!(lines(&a)[1], lines(&c)[0]);
    assert_ne!(lines(&a)[0], lines(&c)[0]);
}

#[test]
fn stats_read_a_partial_toml_config() {
    let dir = scratch("config");
    let path = dir.join("env.toml");
    std::fs::write(&path, "max_steps = 20\ngrid_size = 12\ninitial_num_grass = 20\n")
        .expect("write");
    let out = hpo(&["env", "stats", "--episodes", "2", "--config", path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    for row in &lines(&out)[..2] {
        assert!(row["steps"].as_u64().expect("a number") <= 21);
    }
}

#[test]
fn a_bad_config_is_an_input_error_naming_the_field() {
    let dir = scratch("bad");
    let cases = [
        ("unknown.toml", "grid_sise = 12\n", "grid_sise"),
        ("even.toml", "prey_obs_range = 4\n", "prey_obs_range"),
        ("crowded.toml", "grid_size = 5\n", "grid_size"),
        ("type.toml", "grid_size = \"big\"\n", "grid_size"),
        ("type2.toml", "n_possible_type_2_prey = 3\n", "not supported"),
    ];
    for (name, text, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        let out =
            hpo(&["env", "stats", "--episodes", "1", "--config", path.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{name}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    let missing = dir.join("missing.toml");
    let out = hpo(&["env", "stats", "--config", missing.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}

#[test]
fn render_draws_text_frames_in_the_terminal() {
    let out = hpo(&["env", "render", "--seed", "2", "--steps", "3", "--out", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for step in 0..=3 {
        assert!(text.contains(&format!("step {step}: ")), "{text}");
    }
    let border = format!("+{}+", "-".repeat(25));
    assert_eq!(text.matches(&border).count(), 8);
    let first: Vec<&str> = text.lines().skip(2).take(25).collect();
    assert!(first.iter().all(|l| l.chars().count() == 27));
    let grid: String = first.concat();
    assert_eq!(grid.matches('X').count() + grid.matches('@').count(), 6);
    assert_eq!(grid.matches('o').count() + grid.matches('@').count(), 8);
}

#[test]
fn render_writes_a_gif_and_a_png() {
    let dir = scratch("render");
    let gif = dir.join("episode.gif");
    let png = dir.join("episode.png");
    for path in [&gif, &png] {
        let out = hpo(&[
            "env",
            "render",
            "--seed",
            "3",
            "--steps",
            "8",
            "--cell-px",
            "4",
            "--out",
            path.to_str().expect("utf-8"),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let g = std::fs::read(&gif).expect("gif written");
    assert_eq!(&g[..6], b"GIF89a");
    let p = std::fs::read(&png).expect("png written");
    assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
    let bad = hpo(&["env", "render", "--out", dir.join("x.bmp").to_str().expect("utf-8")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains(".gif"), "{}", stderr(&bad));
}
