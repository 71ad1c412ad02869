//! A scripted environment for trajectory tests: one kind (`k`), a few slots, and a fixed
//! sequence of outputs per episode.

#![allow(dead_code)]

use marl_env::{Actions, AgentKind, EnvError, MultiAgentEnv, StepOutput};

/// What one slot shows in one output.
#[derive(Debug, Clone, Copy)]
pub enum Slot {
    /// Not in the output.
    Absent,
    /// Present and acting: `(obs, reward)`.
    Live(f32, f32),
    /// Present, terminated.
    Terminated(f32, f32),
    /// Present, truncated.
    Truncated(f32, f32),
}

/// One output: the slots and `done`.
#[derive(Debug, Clone)]
pub struct Frame {
    pub slots: Vec<Slot>,
    pub done: bool,
}

/// Episode `e` is `episodes[e % len]`: frame 0 is the reset output, frame `t` the output of
/// step `t`.
#[derive(Debug, Clone)]
pub struct Scripted {
    kinds: Vec<AgentKind>,
    episodes: Vec<Vec<Frame>>,
    episode: usize,
    t: usize,
}

impl Scripted {
    pub fn new(n_slots: usize, episodes: Vec<Vec<Frame>>) -> Self {
        Scripted {
            kinds: vec![AgentKind {
                name: "k".to_string(),
                obs_shape: [1, 1, 1],
                n_actions: 2,
                max_agents: n_slots,
            }],
            episodes,
            episode: usize::MAX,
            t: 0,
        }
    }

    fn write(&self, out: &mut StepOutput) {
        let frame = &self.episodes[self.episode % self.episodes.len()][self.t];
        let k = &mut out.kinds[0];
        k.clear();
        for (s, slot) in frame.slots.iter().enumerate() {
            let (obs, r) = match *slot {
                Slot::Absent => continue,
                Slot::Live(o, r) => {
                    k.acting[s] = true;
                    (o, r)
                }
                Slot::Terminated(o, r) => {
                    k.terminated[s] = true;
                    (o, r)
                }
                Slot::Truncated(o, r) => {
                    k.truncated[s] = true;
                    (o, r)
                }
            };
            k.present[s] = true;
            k.obs[s] = obs;
            k.reward[s] = r;
        }
        out.done = frame.done;
    }
}

impl MultiAgentEnv for Scripted {
    fn kinds(&self) -> &[AgentKind] {
        &self.kinds
    }

    fn reset(&mut self, _seed: u64, out: &mut StepOutput) {
        self.episode = self.episode.wrapping_add(1);
        self.t = 0;
        self.write(out);
    }

    fn step(&mut self, _actions: &Actions, out: &mut StepOutput) -> Result<(), EnvError> {
        self.t += 1;
        self.write(out);
        Ok(())
    }
}
