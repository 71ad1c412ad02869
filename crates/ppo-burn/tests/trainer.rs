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

#[test]
fn a_minibatch_larger_than_the_batch_is_refused_but_old_checkpoints_load() {
    let config = PpoConfig { train_batch_size: 48, minibatch_size: 64, ..small(0) };
    match Trainer::<ppo_burn::DefaultBackend>::new(config, EnvSpec::CartPole, 0, None) {
        Err(PpoError::Config { field, reason }) => {
            assert_eq!(field, "minibatch_size");
            assert!(reason.contains("64") && reason.contains("train_batch_size = 48"), "{reason}");
            assert!(reason.contains("at most 48"), "says the fix: {reason}");
        }
        other => panic!("expected a minibatch_size config error, got {other:?}"),
    }
    let equal = PpoConfig { train_batch_size: 48, minibatch_size: 48, ..small(0) };
    equal.validate().unwrap();

    // A checkpoint written before the check (its config has the larger minibatch) still loads.
    let dir = std::env::temp_dir().join(format!("ppo-burn-old-mb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut t: Trainer = Trainer::new(equal, EnvSpec::CartPole, 0, None).unwrap();
    t.train_iteration().unwrap();
    t.save(&dir).unwrap();
    let path = dir.join("ppo_config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let old = text.replace("minibatch_size = 48", "minibatch_size = 64");
    assert_ne!(old, text);
    std::fs::write(&path, old).unwrap();
    let r: Trainer = Trainer::load(&dir, EnvSpec::CartPole, None).unwrap();
    assert_eq!(r.config().minibatch_size, 64);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// No error a person may read is a debug dump (`Os { code: .., kind: .. }`, `FileNotFound("..")`).
fn assert_plain(err: &str) {
    for debug in ["Os {", "kind:", "Io {", "FileNotFound(", "Unknown(", "DeserializeError("] {
        assert!(!err.contains(debug), "debug text `{debug}` in: {err}");
    }
}

#[test]
fn checkpoint_write_and_read_errors_are_plain_sentences_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("ppo-burn-ckpt-errors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t: Trainer = Trainer::new(small(0), EnvSpec::CartPole, 0, None).unwrap();
    // A full disk, file by file: each file of the checkpoint is /dev/full in turn.
    for file in ["ppo_config.toml", "trainer_state.json", "policy_0.bin", "optim_0.bin"] {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("/dev/full", dir.join(file)).unwrap();
        let err = t.save(&dir).expect_err("the disk is full").to_string();
        assert!(err.contains(&dir.join(file).display().to_string()), "names {file}: {err}");
        assert!(err.contains("cannot write: No space left on device"), "{err}");
        assert_eq!(err.matches("No space left").count(), 1, "said once: {err}");
        assert_plain(&err);
    }
    // A folder where a file is.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::write(&dir, "not a folder").unwrap();
    let err = t.save(&dir.join("checkpoint")).expect_err("under a file").to_string();
    assert!(err.contains("cannot create the folder"), "{err}");
    assert_plain(&err);
    std::fs::remove_file(&dir).unwrap();

    // Reading: a missing and a damaged weights file.
    t.save(&dir).unwrap();
    std::fs::remove_file(dir.join("policy_0.bin")).unwrap();
    let err = Trainer::<ppo_burn::DefaultBackend>::load(&dir, EnvSpec::CartPole, None)
        .expect_err("no weights")
        .to_string();
    assert!(err.contains(&dir.join("policy_0.bin").display().to_string()), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
    assert_plain(&err);
    std::fs::write(dir.join("policy_0.bin"), b"garbage").unwrap();
    let err = Trainer::<ppo_burn::DefaultBackend>::load(&dir, EnvSpec::CartPole, None)
        .expect_err("damaged weights")
        .to_string();
    assert!(err.contains("policy_0.bin") && err.contains("damaged"), "{err}");
    assert_plain(&err);
    std::fs::remove_dir_all(&dir).unwrap();
}
