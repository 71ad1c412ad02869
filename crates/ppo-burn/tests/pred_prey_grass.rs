//! Predator-prey-grass smoke test: a few small iterations with both networks give finite
//! metrics for both policies, and a checkpoint restores to identical next iterations. With the
//! `flex` feature (`cargo test -p ppo-burn --features flex --test pred_prey_grass`), the same on
//! burn-flex.

#![allow(clippy::unwrap_used)]

use marl_env::PpgConfig;
use ppo_burn::{EnvSpec, Network, PpoConfig, Trainer};

fn env() -> EnvSpec {
    EnvSpec::PredPreyGrass(PpgConfig {
        grid_size: 12,
        initial_num_grass: 30,
        max_steps: 60,
        ..PpgConfig::default()
    })
}

fn config(network: Network) -> PpoConfig {
    PpoConfig {
        train_batch_size: 48,
        minibatch_size: 48,
        num_epochs: 2,
        num_env_runners: 2,
        envs_per_runner: 1,
        network,
        mlp_hiddens: vec![32],
        conv_channels: vec![4, 8],
        conv_channels_per_kind: Default::default(),
        lr: 1e-4,
        ..PpoConfig::default()
    }
}

#[test]
fn both_networks_train_with_finite_metrics_and_resume_exactly() {
    for network in [Network::Mlp, Network::Conv] {
        let dir =
            std::env::temp_dir().join(format!("ppo-burn-ppg-{network:?}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The conv network is slow in debug builds: fewer iterations.
        let (before, after) = match network {
            Network::Mlp => (3, 2),
            Network::Conv => (1, 1),
        };
        let config = PpoConfig {
            num_epochs: if network == Network::Conv { 1 } else { 2 },
            ..config(network)
        };
        let mut t: Trainer = Trainer::new(config, env(), 21, None).unwrap();
        let mut last = None;
        for _ in 0..before {
            let m = t.train_iteration().unwrap();
            assert!(m.to_map().values().all(|v| v.is_finite()));
            last = Some(m);
        }
        let m = last.unwrap();
        assert_eq!(m.env_steps, 48);
        let pred = &m.policies["type_1_predator"];
        let prey = &m.policies["type_1_prey"];
        assert!(pred.live_agents_mean >= 1.0 && prey.live_agents_mean >= 1.0);
        assert!(pred.minibatch_steps > 0 && prey.minibatch_steps > 0);
        // Cycling: both policies take the same number of steps.
        assert_eq!(pred.minibatch_steps, prey.minibatch_steps);
        if network == Network::Mlp {
            assert!(m.episodes_total >= 1, "60-step episodes end within 144 steps");
        }

        t.save(&dir).unwrap();
        let next: Vec<_> =
            (0..after).map(|_| t.train_iteration().unwrap().deterministic_map()).collect();
        drop(t);
        let mut r: Trainer = Trainer::load(&dir, env(), None).unwrap();
        let resumed: Vec<_> =
            (0..after).map(|_| r.train_iteration().unwrap().deterministic_map()).collect();
        assert_eq!(next, resumed, "{network:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The conv and dense layers spread over the learner's pool; the numbers must not depend on its
/// size (a minibatch of 48 prey windows of 9 x 9 is 3,888 pixels: several blocks and slabs).
#[test]
fn numbers_do_not_depend_on_the_learner_threads() {
    for network in [Network::Conv, Network::Mlp] {
        let run = |threads: usize| {
            let config = PpoConfig { num_epochs: 1, learner_threads: threads, ..config(network) };
            let mut t: Trainer = Trainer::new(config, env(), 5, None).unwrap();
            (0..2).map(|_| t.train_iteration().unwrap().deterministic_map()).collect::<Vec<_>>()
        };
        let one = run(1);
        assert!(one[1]["type_1_prey/minibatch_steps"] > 0.0, "{network:?}");
        assert_eq!(run(3), one, "{network:?}");
    }
}

/// The learner on burn-flex: both networks train with finite metrics, a seeded run repeats
/// exactly, and a checkpoint restores to identical next iterations.
#[cfg(feature = "flex")]
#[test]
fn flex_trains_repeats_and_resumes_exactly() {
    for network in [Network::Mlp, Network::Conv] {
        let dir =
            std::env::temp_dir().join(format!("ppo-burn-flex-{network:?}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = |save: bool| {
            let mut t: Trainer<ppo_burn::FlexBackend> =
                Trainer::new(config(network), env(), 21, None).unwrap();
            let first: Vec<_> = (0..2).map(|_| t.train_iteration().unwrap()).collect();
            if save {
                t.save(&dir).unwrap();
            }
            let next = t.train_iteration().unwrap().deterministic_map();
            (first, next)
        };
        let (first, next) = run(true);
        for m in &first {
            assert!(m.to_map().values().all(|v| v.is_finite()), "{network:?}");
            assert!(m.policies["type_1_prey"].minibatch_steps > 0);
        }
        let (again, _) = run(false);
        let maps = |ms: &[ppo_burn::IterationMetrics]| {
            ms.iter().map(|m| m.deterministic_map()).collect::<Vec<_>>()
        };
        assert_eq!(maps(&first), maps(&again), "{network:?}: same seed, same numbers");
        let mut r: Trainer<ppo_burn::FlexBackend> = Trainer::load(&dir, env(), None).unwrap();
        assert_eq!(r.train_iteration().unwrap().deterministic_map(), next, "{network:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
