//! The trainer end to end on CartPole and scripted environments: reproducibility across
//! threads, checkpoint round trips, non-finite errors, config errors.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{Frame, Scripted, Slot};
use marl_env::MultiAgentEnv;
use ppo_burn::{EnvSpec, IterationMetrics, PpoConfig, PpoError, Trainer};

fn small(runners: usize) -> PpoConfig {
    PpoConfig {
        train_batch_size: 96,
        minibatch_size: 32,
        num_epochs: 2,
        num_env_runners: runners,
        envs_per_runner: 2,
        mlp_hiddens: vec![16, 16],
        lr: 1e-3,
        ..PpoConfig::default()
    }
}

fn run(config: PpoConfig, seed: u64, n: usize) -> Vec<IterationMetrics> {
    let mut t: Trainer = Trainer::new(config, EnvSpec::CartPole, seed, None).unwrap();
    (0..n).map(|_| t.train_iteration().unwrap()).collect()
}

fn maps(ms: &[IterationMetrics]) -> Vec<std::collections::BTreeMap<String, f64>> {
    ms.iter().map(|m| m.deterministic_map()).collect()
}

#[test]
fn same_seed_same_numbers_with_three_runner_threads() {
    let a = run(small(3), 11, 3);
    let b = run(small(3), 11, 3);
    assert_eq!(maps(&a), maps(&b));
    assert_ne!(maps(&a), maps(&run(small(3), 12, 3)));
    // 3 runners x 2 envs x ceil(96 / 6) = 16 steps.
    assert_eq!(a[0].env_steps, 96);
    assert_eq!(a[2].env_steps_total, 288);
    let p = &a[0].policies["agent"];
    // One kind, batch of 96 agent steps, 2 epochs of 3 minibatches.
    assert_eq!(p.batch_size, 96);
    assert_eq!(p.minibatch_steps, 6);
    assert!(p.kl_coeff != 0.2, "the KL coefficient adapts after every iteration");
}

#[test]
fn zero_runners_samples_inline_with_the_numbers_of_one_runner() {
    assert_eq!(maps(&run(small(0), 5, 2)), maps(&run(small(1), 5, 2)));
}

#[test]
fn a_checkpoint_resumes_as_if_uninterrupted() {
    let dir = std::env::temp_dir().join(format!("ppo-burn-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = PpoConfig {
        // Episodes span iterations: restoring must replay the open episodes.
        train_batch_size: 40,
        ..small(2)
    };
    let mut t: Trainer = Trainer::new(config.clone(), EnvSpec::CartPole, 3, None).unwrap();
    for _ in 0..3 {
        t.train_iteration().unwrap();
    }
    t.save(&dir).unwrap();
    let next: Vec<_> = (0..2).map(|_| t.train_iteration().unwrap()).collect();
    drop(t);
    let mut r: Trainer = Trainer::load(&dir, EnvSpec::CartPole, None).unwrap();
    assert_eq!(r.iteration(), 3);
    let resumed: Vec<_> = (0..2).map(|_| r.train_iteration().unwrap()).collect();
    assert_eq!(maps(&next), maps(&resumed));
    assert_eq!(resumed[0].training_iteration, 4);

    // A checkpoint only loads into the environment it was made with.
    let other = EnvSpec::Custom {
        name: "other".to_string(),
        factory: Arc::new(
            |_| Ok(Box::new(marl_env::CartPole::default()) as Box<dyn MultiAgentEnv>),
        ),
    };
    let err = Trainer::<ppo_burn::DefaultBackend>::load(&dir, other, None).unwrap_err();
    assert!(err.to_string().contains("cartpole"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_nan_reward_stops_training_with_non_finite() {
    let episodes = vec![vec![
        Frame { slots: vec![Slot::Live(0.0, 0.0)], done: false },
        Frame { slots: vec![Slot::Live(1.0, f32::NAN)], done: false },
        Frame { slots: vec![Slot::Truncated(2.0, 1.0)], done: true },
    ]];
    let env = EnvSpec::Custom {
        name: "nan".to_string(),
        factory: Arc::new(move |_| {
            Ok(Box::new(Scripted::new(1, episodes.clone())) as Box<dyn MultiAgentEnv>)
        }),
    };
    let config = PpoConfig {
        train_batch_size: 8,
        minibatch_size: 4,
        num_epochs: 1,
        num_env_runners: 0,
        mlp_hiddens: vec![4],
        ..PpoConfig::default()
    };
    let mut t: Trainer = Trainer::new(config, env, 0, None).unwrap();
    match t.train_iteration() {
        Err(PpoError::NonFinite { what, iteration }) => {
            assert_eq!(iteration, 1);
            assert!(what.contains("policy k"), "{what}");
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

#[test]
fn bad_config_and_cores_are_errors_naming_the_field() {
    let config = PpoConfig { minibatch_size: 0, ..PpoConfig::default() };
    let err =
        Trainer::<ppo_burn::DefaultBackend>::new(config, EnvSpec::CartPole, 0, None).unwrap_err();
    assert!(err.to_string().contains("`minibatch_size`"), "{err}");
    let err =
        Trainer::<ppo_burn::DefaultBackend>::new(small(0), EnvSpec::CartPole, 0, Some(vec![9999]))
            .unwrap_err();
    assert!(err.to_string().contains("`cores`"), "{err}");
}

#[test]
fn a_trainer_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Trainer>();
    let t: Trainer = Trainer::new(small(1), EnvSpec::CartPole, 0, None).unwrap();
    let m = std::thread::spawn(move || {
        let mut t = t;
        t.train_iteration().unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(m.training_iteration, 1);
}

#[test]
fn pinned_to_one_core_it_still_trains() {
    let mut t: Trainer = Trainer::new(small(2), EnvSpec::CartPole, 0, Some(vec![0])).unwrap();
    let m = t.train_iteration().unwrap();
    assert_eq!(m.training_iteration, 1);
}
