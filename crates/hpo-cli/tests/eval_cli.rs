//! `hpo eval`, run as a person would, on a checkpoint of a tiny trained run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hpo_runner::objective::{Objective, TrialContext};
use hpo_runner::ppo_objective::{PpoObjective, checkpoint_dir};
use marl_env::PpgConfig;
use ppo_burn::{EnvSpec, Network, PpoConfig, Trainer, checkpoint_env};

fn hpo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hpo")).args(args).output().expect("the hpo binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ppg(max_steps: u32) -> PpgConfig {
    PpgConfig { grid_size: 12, initial_num_grass: 30, max_steps, ..PpgConfig::default() }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hpo-eval-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn small_config() -> PpoConfig {
    PpoConfig {
        train_batch_size: 48,
        minibatch_size: 48,
        num_epochs: 1,
        num_env_runners: 0,
        network: Network::Mlp,
        mlp_hiddens: vec![16],
        ..PpoConfig::default()
    }
}

/// A trial folder holding the checkpoint of one small MLP iteration; also the trainer.
fn trial(name: &str) -> (PathBuf, Trainer) {
    let dir = temp_dir(name);
    let mut t: Trainer =
        Trainer::new(small_config(), EnvSpec::PredPreyGrass(ppg(40)), 3, None).expect("trainer");
    t.train_iteration().expect("one iteration");
    t.save(&dir.join("checkpoint_000001")).expect("save");
    (dir, t)
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_str(text(&out.stdout).trim()).expect("one JSON object")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn eval_plays_the_latest_checkpoint_of_a_trial_as_the_library_does() {
    let (dir, t) = trial("json");
    let out = hpo(&["eval", path(&dir), "--episodes", "3", "--seed", "4", "--json"]);
    let v = json(&out);
    assert!(v["checkpoint"].as_str().is_some_and(|c| c.ends_with("checkpoint_000001")), "{v}");
    assert_eq!(v["iteration"], 1);
    assert_eq!(v["episodes"], 3);
    assert_eq!(v["max_steps"], 40);
    let want = t.evaluate(&EnvSpec::PredPreyGrass(ppg(40)), 3, 4).expect("evaluate");
    assert_eq!(v["predator_return"].as_f64(), Some(want.predator_return()));
    assert_eq!(v["score_pred"].as_f64(), Some(want.score_pred()));
    assert_eq!(v["episode_len_mean"].as_f64(), Some(want.episode_len_mean()));
    let lengths: Vec<u64> = want.episodes.iter().map(|e| e.length).collect();
    let got: Vec<u64> = v["evaluation"]["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .map(|e| e["length"].as_u64().expect("length"))
        .collect();
    assert_eq!(got, lengths);

    // A longer episode than training's.
    let v = json(&hpo(&["eval", path(&dir), "--episodes", "2", "--max-steps", "90", "--json"]));
    assert_eq!(v["max_steps"], 90);
    assert!(v["episode_len_mean"].as_f64().is_some_and(|l| l <= 91.0));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn eval_prints_a_summary_for_people() {
    let (dir, _) = trial("text");
    let out = hpo(&["eval", path(&dir), "--episodes", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout).replace(path(&dir), "[TRIAL]");
    insta::assert_snapshot!(shown);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn bad_input_exits_2_and_says_what_to_pass() {
    let (dir, _) = trial("bad");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    let out = hpo(&["eval", path(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is not a PPO checkpoint"), "{}", text(&out.stderr));

    let out = hpo(&["eval", path(&dir), "--episodes", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--episodes"), "{}", text(&out.stderr));

    let wide = dir.join("wide.toml");
    std::fs::write(&wide, "grid_size = 12\npredator_obs_range = 9\n").expect("write");
    let out = hpo(&["eval", path(&dir), "--env", path(&wide)]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("type_1_predator") && err.contains("observation"), "{err}");

    let out = hpo(&["eval", path(&dir), "--max-steps", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// The checkpoints `hpo study` writes (through its PPO objective) are played as they are: the
/// environment is rebuilt from the settings they record.
#[test]
fn eval_plays_a_checkpoint_written_by_the_study_objective() {
    let dir = temp_dir("study");
    std::fs::create_dir_all(&dir).expect("trial dir");
    let objective = PpoObjective { ppo: small_config(), env: ppg(40) };
    let ctx = TrialContext {
        trial: 0,
        name: "trial_0000".to_string(),
        params: Default::default(),
        seed: 3,
        cores: Vec::new(),
        dir: dir.clone(),
        resume_after: 0,
    };
    let mut run = objective.start(&ctx).expect("start");
    run.step().expect("one iteration");
    assert_eq!(run.checkpoint(1).expect("checkpoint"), Some(1));
    drop(run);

    let checkpoint = checkpoint_dir(&dir, 1);
    match checkpoint_env(&checkpoint) {
        Ok(EnvSpec::PredPreyGrass(c)) => assert_eq!(c, ppg(40)),
        other => panic!("expected the study's [env], got {other:?}"),
    }
    let v = json(&hpo(&["eval", path(&dir), "--episodes", "2", "--seed", "1", "--json"]));
    assert!(v["checkpoint"].as_str().is_some_and(|c| c.ends_with("checkpoint_000001")), "{v}");
    assert_eq!(v["iteration"], 1);
    assert_eq!(v["episodes"], 2);
    assert_eq!(v["max_steps"], 40);
    let t: Trainer =
        Trainer::load(&checkpoint, EnvSpec::PredPreyGrass(ppg(40)), None).expect("loads");
    let want = t.evaluate(&EnvSpec::PredPreyGrass(ppg(40)), 2, 1).expect("evaluate");
    assert_eq!(v["score_pred"].as_f64(), Some(want.score_pred()));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// A checkpoint of `hpo study` from before checkpoints recorded the env's settings (format 1,
/// a custom env named `predator_prey_grass`): refused with what to pass, played with `--env`.
#[test]
fn an_old_study_checkpoint_says_to_pass_env_and_plays_with_it() {
    let (dir, _) = trial("old-study");
    let state_path = dir.join("checkpoint_000001").join("trainer_state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_path).expect("state")).expect("json");
    state["format"] = 1.into();
    state["env"] = "predator_prey_grass".into();
    std::fs::write(&state_path, serde_json::to_vec(&state).expect("json")).expect("write");

    let out = hpo(&["eval", path(&dir), "--episodes", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("--env"), "says what to pass: {err}");

    let env = dir.join("env.toml");
    std::fs::write(&env, "grid_size = 12\ninitial_num_grass = 30\nmax_steps = 40\n").expect("env");
    let v = json(&hpo(&["eval", path(&dir), "--episodes", "1", "--env", path(&env), "--json"]));
    assert_eq!(v["max_steps"], 40);
    assert_eq!(v["episodes"], 1);
    std::fs::remove_dir_all(&dir).expect("clean up");
}
