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
        minibatch_size: 64,
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
