//! Evaluating trained policies: seeded episodes without learning, on the training environment
//! or one with other settings, from a live trainer or a checkpoint.

#![allow(clippy::unwrap_used)]

use marl_env::PpgConfig;
use ppo_burn::{EnvSpec, Network, PpoConfig, Trainer, checkpoint_env};

fn ppg(max_steps: u32) -> PpgConfig {
    PpgConfig { grid_size: 12, initial_num_grass: 30, max_steps, ..PpgConfig::default() }
}

fn trained() -> Trainer {
    let config = PpoConfig {
        train_batch_size: 48,
        minibatch_size: 48,
        num_epochs: 1,
        num_env_runners: 0,
        network: Network::Mlp,
        mlp_hiddens: vec![16],
        ..PpoConfig::default()
    };
    let mut t: Trainer = Trainer::new(config, EnvSpec::PredPreyGrass(ppg(40)), 5, None).unwrap();
    t.train_iteration().unwrap();
    t
}

#[test]
fn evaluation_is_seeded_and_does_not_learn() {
    let t = trained();
    let env = EnvSpec::PredPreyGrass(ppg(40));
    let a = t.evaluate(&env, 6, 1).unwrap();
    assert_eq!(a.episodes.len(), 6);
    assert_eq!(a.kinds, ["type_1_predator", "type_1_prey"]);
    assert_eq!(a.score_kind, 0);
    // type_1_predator_0 is alive at every reset: one return per episode.
    assert_eq!(a.slot0_returns[0].len(), 6);
    assert!(a.episodes.iter().all(|e| (1..=41).contains(&e.length)), "{:?}", a.episodes);
    let mean: f64 = a.slot0_returns[0].iter().sum::<f64>() / 6.0;
    assert_eq!(a.predator_return(), mean);
    assert_eq!(a.score_pred(), mean / 100.0);
    let total: f64 = a.episodes.iter().map(|e| e.kind_returns[1]).sum();
    assert_eq!(a.kind_return_mean(1), total / 6.0);

    assert_eq!(t.evaluate(&env, 6, 1).unwrap(), a, "same seed, same episodes");
    let other = t.evaluate(&env, 6, 2).unwrap();
    assert_ne!(other.episodes, a.episodes, "another seed plays other episodes");
    assert_eq!(t.iteration(), 1, "evaluation trains nothing");
}

#[test]
fn progress_counts_the_finished_episodes_and_changes_nothing() {
    let t = trained();
    let env = EnvSpec::PredPreyGrass(ppg(40));
    let mut seen = Vec::new();
    let with = t.evaluate_with_progress(&env, 5, 3, &mut |n| seen.push(n)).unwrap();
    assert_eq!(seen, [1, 2, 3, 4, 5]);
    assert_eq!(with, t.evaluate(&env, 5, 3).unwrap());
}

#[test]
fn a_longer_episode_is_allowed_other_observations_are_not() {
    let t = trained();
    let long = t.evaluate(&EnvSpec::PredPreyGrass(ppg(120)), 3, 0).unwrap();
    assert!(long.episodes.iter().all(|e| e.length <= 121));
    assert!(long.episodes.iter().any(|e| e.length > 41), "{:?}", long.episodes);

    let wider = PpgConfig { predator_obs_range: 9, ..ppg(40) };
    let err = t.evaluate(&EnvSpec::PredPreyGrass(wider), 1, 0).unwrap_err().to_string();
    assert!(err.contains("type_1_predator") && err.contains("[4, 7, 7]"), "{err}");
    let err = t.evaluate(&EnvSpec::CartPole, 1, 0).unwrap_err().to_string();
    assert!(err.contains("agent kinds"), "{err}");
    let err = t.evaluate(&EnvSpec::PredPreyGrass(ppg(40)), 0, 0).unwrap_err().to_string();
    assert!(err.contains("episodes"), "{err}");
}

#[test]
fn a_checkpoint_names_its_environment_and_evaluates_as_saved() {
    let t = trained();
    let dir = std::env::temp_dir().join(format!("ppo-burn-eval-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    t.save(&dir).unwrap();
    let env = checkpoint_env(&dir).unwrap();
    assert_eq!(env.name(), EnvSpec::PredPreyGrass(ppg(40)).name());
    let loaded: Trainer = Trainer::load(&dir, env.clone(), None).unwrap();
    assert_eq!(loaded.evaluate(&env, 4, 9).unwrap(), t.evaluate(&env, 4, 9).unwrap());

    let err = checkpoint_env(&dir.join("missing")).unwrap_err().to_string();
    assert!(err.contains("trainer_state.json"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_checkpoint_records_its_env_settings_and_refuses_other_ones_by_name() {
    let t = trained();
    let dir = std::env::temp_dir().join(format!("ppo-burn-env-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    t.save(&dir).unwrap();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("trainer_state.json")).unwrap()).unwrap();
    assert_eq!(state["env"]["kind"], "pred_prey_grass", "typed, not a name: {}", state["env"]);
    assert_eq!(state["env"]["config"]["max_steps"], 40);
    match checkpoint_env(&dir).unwrap() {
        EnvSpec::PredPreyGrass(c) => assert_eq!(c, ppg(40)),
        other => panic!("expected predator-prey-grass, got {other:?}"),
    }

    // A resume after `[env]` changed: refused, naming exactly the settings that differ.
    let changed = PpgConfig { grid_size: 13, ..ppg(60) };
    let err =
        Trainer::<ppo_burn::DefaultBackend>::load(&dir, EnvSpec::PredPreyGrass(changed), None)
            .unwrap_err()
            .to_string();
    assert!(err.contains("`max_steps` is 40 in the checkpoint, 60 here"), "{err}");
    assert!(err.contains("`grid_size` is 12 in the checkpoint, 13 here"), "{err}");
    assert!(!err.contains("initial_num_grass"), "only the differing fields: {err}");
    assert!(err.contains("trainer_state.json"), "{err}");
    let err = Trainer::<ppo_burn::DefaultBackend>::load(&dir, EnvSpec::CartPole, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("made with env `pred_prey_grass`, asked to load into `cartpole`"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Checkpoints of format 1 recorded the environment's name: a built-in's name still gives its
/// settings, and one of `hpo study` (a custom `predator_prey_grass`, settings not recorded)
/// loads into the study's settings given by the caller.
#[test]
fn format_1_checkpoints_still_load() {
    let t = trained();
    let dir = std::env::temp_dir().join(format!("ppo-burn-format-1-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    t.save(&dir).unwrap();
    let path = dir.join("trainer_state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let rewrite = |state: &mut serde_json::Value, env: String| {
        state["format"] = 1.into();
        state["env"] = env.into();
        std::fs::write(&path, serde_json::to_vec(state).unwrap()).unwrap();
    };

    rewrite(&mut state, EnvSpec::PredPreyGrass(ppg(40)).name());
    let env = checkpoint_env(&dir).unwrap();
    assert_eq!(env.name(), EnvSpec::PredPreyGrass(ppg(40)).name());
    let loaded: Trainer = Trainer::load(&dir, env.clone(), None).unwrap();
    assert_eq!(loaded.evaluate(&env, 2, 9).unwrap(), t.evaluate(&env, 2, 9).unwrap());
    let err =
        Trainer::<ppo_burn::DefaultBackend>::load(&dir, EnvSpec::PredPreyGrass(ppg(60)), None)
            .unwrap_err()
            .to_string();
    assert!(err.contains("`max_steps` is 40 in the checkpoint, 60 here"), "{err}");

    rewrite(&mut state, "predator_prey_grass".to_string());
    let err = checkpoint_env(&dir).unwrap_err().to_string();
    assert!(err.contains("--env") && err.contains("[env]"), "says what to do: {err}");
    let loaded: Trainer = Trainer::load(&dir, EnvSpec::PredPreyGrass(ppg(40)), None).unwrap();
    assert_eq!(loaded.iteration(), 1);
    let err = Trainer::<ppo_burn::DefaultBackend>::load(&dir, EnvSpec::CartPole, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`predator_prey_grass`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
