//! Trajectory cutting and GAE on a scripted environment: termination, truncation, fragment
//! cuts and a recycled agent id, checked against hand-computed value targets.

#![allow(clippy::unwrap_used)]

mod common;

use Slot::{Absent, Live, Terminated, Truncated};
use burn_ndarray::NdArray;
use common::{Frame, Scripted, Slot};
use marl_env::MultiAgentEnv;
use ppo_burn::learner::batch_from_values;
use ppo_burn::model::{ActorCritic, NetSpec};
use ppo_burn::rollout::{EpisodeRecord, Runner, Segment};
use ppo_burn::{Init, PpoConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn frame(slots: &[Slot], done: bool) -> Frame {
    Frame { slots: slots.to_vec(), done }
}

/// Episode 1: slot 1 dies after its first action and its id comes back at step 3 (a recycled
/// id: the hanging action completes there), acts again, and is absent when the episode ends
/// (terminal step). Slot 0 lives to the end (done without a flag counts as terminated... here
/// flagged terminated). Episode 2 is truncated after one step; episode 3 is cut by the fragment
/// end. Observations encode (episode, step, slot) so rows can be recognised.
fn script() -> Vec<Vec<Frame>> {
    vec![
        vec![
            frame(&[Live(0.0, 0.0), Live(0.1, 0.0)], false),
            frame(&[Live(1.0, 1.0), Absent], false),
            frame(&[Live(2.0, 2.0), Absent], false),
            frame(&[Live(3.0, 3.0), Live(3.1, 0.5)], false),
            frame(&[Terminated(4.0, 4.0), Absent], true),
        ],
        vec![
            frame(&[Live(10.0, 0.0), Live(10.1, 0.0)], false),
            frame(&[Truncated(11.0, 1.0), Truncated(11.1, 1.0)], true),
        ],
        vec![
            frame(&[Live(20.0, 0.0), Live(20.1, 0.0)], false),
            frame(&[Live(21.0, 1.0), Live(21.1, 1.0)], false),
            frame(&[Live(22.0, 1.0), Live(22.1, 1.0)], false),
        ],
    ]
}

#[test]
fn segments_and_value_targets_match_hand_computation() {
    let env = Scripted::new(2, script());
    let kind = env.kinds()[0].clone();
    let config = PpoConfig { mlp_hiddens: vec![4], ..PpoConfig::default() };
    let spec = NetSpec::new(&config, &kind);
    let model = ActorCritic::<NdArray>::init(
        &spec,
        Init::Torch,
        &mut ChaCha8Rng::seed_from_u64(0),
        &Default::default(),
    );
    let mut runner = Runner::new(0, 0, 0, vec![Box::new(env)], vec![spec]).unwrap();
    // 4 steps (episode 1) + 1 (episode 2) + 1 (episode 3), one fragment.
    let frag = runner.sample(1, &[model.actor], 6, 1).unwrap();
    let kb = &frag.kinds[0];
    assert_eq!(frag.env_steps, 6);
    // Actions sampled: ep1 2+1+1+2, ep2 2, ep3 2.
    assert_eq!(frag.agent_steps, vec![10]);
    assert_eq!(kb.obs, vec![0.0, 1.0, 2.0, 3.0, 0.1, 3.1, 10.0, 10.1, 20.0, 20.1]);
    assert_eq!(kb.rewards, vec![1.0, 2.0, 3.0, 4.0, 0.5, 0.0, 1.0, 1.0, 1.0, 1.0]);
    let seg = |start, len, bootstrap| Segment { start, len, bootstrap };
    assert_eq!(
        kb.segments,
        vec![
            seg(0, 4, None),    // slot 0, terminated
            seg(4, 2, None),    // slot 1: two lives, one trajectory, ends hanging at done
            seg(6, 1, Some(0)), // slot 0, truncated
            seg(7, 1, Some(1)), // slot 1, truncated
            seg(8, 1, Some(2)), // slot 0, fragment cut
            seg(9, 1, Some(3)), // slot 1, fragment cut
        ]
    );
    assert_eq!(kb.bootstrap_obs, vec![11.0, 11.1, 21.0, 21.1]);
    assert_eq!(
        frag.episodes,
        vec![
            EpisodeRecord { length: 4, kind_returns: vec![10.5] },
            EpisodeRecord { length: 1, kind_returns: vec![2.0] },
        ]
    );
    assert_eq!(frag.slot0_returns, vec![(0, 10.0), (0, 1.0)]);

    // A critic that returns the observation itself; gamma 0.5, lambda 1 (discounted returns).
    let values = kb.obs.clone();
    let b = batch_from_values(kb, values, &kb.bootstrap_obs, 2, 0.5, 1.0);
    let want = [
        1.0 + 0.5 * (2.0 + 0.5 * (3.0 + 0.5 * 4.0)), // 3.25
        2.0 + 0.5 * (3.0 + 0.5 * 4.0),               // 4.5
        3.0 + 0.5 * 4.0,                             // 5
        4.0,                                         // terminated: no bootstrap
        0.5,                                         // 0.5 + 0.5 * 0 (terminal hanging step)
        0.0,
        1.0 + 0.5 * 11.0, // truncation bootstraps
        1.0 + 0.5 * 11.1,
        1.0 + 0.5 * 21.0, // fragment cut bootstraps
        1.0 + 0.5 * 21.1,
    ];
    for (got, want) in b.value_targets.iter().zip(want) {
        assert!((f64::from(*got) - want).abs() < 1e-5, "{:?}", b.value_targets);
    }

    // The next fragment continues episode 3: its first transitions start at 21.x.
    let model = ActorCritic::<NdArray>::init(
        &NetSpec::new(&config, &kind),
        Init::Torch,
        &mut ChaCha8Rng::seed_from_u64(0),
        &Default::default(),
    );
    let frag = runner.sample(2, &[model.actor], 1, 1).unwrap();
    assert_eq!(frag.kinds[0].obs, vec![21.0, 21.1]);
    assert_eq!(frag.kinds[0].bootstrap_obs, vec![22.0, 22.1]);
}

#[test]
fn an_id_absent_at_a_fragment_end_bootstraps_from_the_observation_it_acted_on() {
    let episodes = vec![vec![
        frame(&[Live(0.0, 0.0), Live(0.1, 0.0)], false),
        frame(&[Live(1.0, 1.0), Live(1.1, 1.0)], false),
        frame(&[Live(2.0, 1.0), Absent], false),
        frame(&[Live(3.0, 1.0), Live(3.1, 7.0)], false),
        frame(&[Live(4.0, 1.0), Live(4.1, 1.0)], false),
    ]];
    let env = Scripted::new(2, episodes);
    let kind = env.kinds()[0].clone();
    let config = PpoConfig { mlp_hiddens: vec![4], ..PpoConfig::default() };
    let spec = NetSpec::new(&config, &kind);
    let actor = || {
        ActorCritic::<NdArray>::init(
            &spec,
            Init::Torch,
            &mut ChaCha8Rng::seed_from_u64(0),
            &Default::default(),
        )
        .actor
    };
    let mut runner = Runner::new(0, 0, 0, vec![Box::new(env)], vec![spec.clone()]).unwrap();
    let f1 = runner.sample(1, &[actor()], 2, 1).unwrap();
    // Slot 1 acted on 1.1 and is absent at the cut: its segment [0.1] bootstraps from 1.1 and
    // the hanging action (on 1.1) goes into the next fragment with reward 7.
    assert_eq!(f1.kinds[0].obs, vec![0.0, 1.0, 0.1]);
    assert_eq!(f1.kinds[0].bootstrap_obs, vec![2.0, 1.1]);
    let f2 = runner.sample(2, &[actor()], 2, 1).unwrap();
    assert_eq!(f2.kinds[0].obs, vec![2.0, 3.0, 1.1, 3.1]);
    assert_eq!(f2.kinds[0].rewards, vec![1.0, 1.0, 7.0, 1.0]);
    assert_eq!(f2.kinds[0].bootstrap_obs, vec![4.0, 4.1]);
}
