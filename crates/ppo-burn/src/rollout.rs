//! Env runners: step environments with an inference copy of the actors and cut the experience
//! into per-agent trajectory segments.
//!
//! Trajectories follow RLlib's multi-agent episode rules, which the reference relied on:
//! - each agent id (kind + slot) keeps one trajectory per episode; steps where it is absent are
//!   skipped;
//! - an action whose agent vanished from the output is *hanging*: the transition completes when
//!   the id next appears (a recycled id's new life), with that step's reward; so lives of one id
//!   form one trajectory, as in the reference;
//! - when the episode ends, a hanging action completes as a terminal step (RLlib duplicates the
//!   last observation there; its value is never used);
//! - an agent flagged `terminated` ends its segment without bootstrapping; `truncated` and the end
//!   of a fragment bootstrap from the value of the last observation (for a hanging agent, the one
//!   it acted on); present agents of a finished episode without a flag count as terminated.
//!
//! Randomness: the action sampler of runner `r` in iteration `i` is seeded from
//! `(seed, r, i)`, and episode `k` of environment `e` is reset with a seed derived from
//! `(seed, e, k)`. So the sampling of an iteration depends only on the weights and on the runner's
//! [`RunnerState`], which a checkpoint stores (environment state is rebuilt by replaying the
//! current episode's actions).

use burn::tensor::{Tensor, TensorData};
use marl_env::{Actions, AgentKind, MultiAgentEnv, StepOutput};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::conv::ConvBackend;
use crate::error::PpoError;
use crate::model::{Head, NetSpec};
use crate::seeds::{Stream, derive_seed};

/// One contiguous trajectory piece of one agent inside a [`KindBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// First row.
    pub start: usize,
    /// Number of rows.
    pub len: usize,
    /// Row of `bootstrap_obs` whose value follows the last step; `None` when it terminated.
    pub bootstrap: Option<usize>,
}

/// One policy's transitions from a fragment, grouped into segments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindBatch {
    /// `n * obs_len` observations the actions were taken on.
    pub obs: Vec<f32>,
    /// Actions taken.
    pub actions: Vec<u32>,
    /// Log-probability of the action under the sampling policy.
    pub logp: Vec<f32>,
    /// `n * n_actions` logits of the sampling policy (for the KL term).
    pub logits: Vec<f32>,
    /// Reward that followed each action.
    pub rewards: Vec<f32>,
    /// Segments, in the order they were completed.
    pub segments: Vec<Segment>,
    /// Observations to bootstrap from, one row per segment that has `bootstrap`.
    pub bootstrap_obs: Vec<f32>,
}

impl KindBatch {
    /// Number of transitions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// No transitions.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Append another batch (segment indices are shifted).
    pub fn extend(&mut self, other: &KindBatch, obs_len: usize) {
        let row0 = self.len();
        let boot0 = self.bootstrap_obs.len() / obs_len.max(1);
        self.obs.extend_from_slice(&other.obs);
        self.actions.extend_from_slice(&other.actions);
        self.logp.extend_from_slice(&other.logp);
        self.logits.extend_from_slice(&other.logits);
        self.rewards.extend_from_slice(&other.rewards);
        self.bootstrap_obs.extend_from_slice(&other.bootstrap_obs);
        self.segments.extend(other.segments.iter().map(|s| Segment {
            start: s.start + row0,
            len: s.len,
            bootstrap: s.bootstrap.map(|b| b + boot0),
        }));
    }
}

/// A finished episode of one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    /// Environment steps (`step` calls) of the episode.
    pub length: u64,
    /// Sum of the rewards of all agents of each kind.
    pub kind_returns: Vec<f64>,
}

/// What a runner hands the learner for one iteration.
#[derive(Debug, Clone, Default)]
pub struct Fragment {
    /// One batch per kind.
    pub kinds: Vec<KindBatch>,
    /// Environment steps taken.
    pub env_steps: u64,
    /// Actions sampled per kind (agent steps).
    pub agent_steps: Vec<u64>,
    /// Episodes that ended.
    pub episodes: Vec<EpisodeRecord>,
    /// Finished episodes of each kind's slot-0 agent: `(kind, return)`, in order.
    pub slot0_returns: Vec<(usize, f64)>,
}

/// A pending transition: the action was taken, the next observation has not come yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    obs: Vec<f32>,
    action: u32,
    logp: f32,
    logits: Vec<f32>,
    /// Rewards received while the agent was absent (always 0 with this env API).
    reward: f32,
}

/// Per-agent-id state that survives iteration boundaries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pending: Option<Pending>,
    /// The agent acted in this episode (RLlib counts it in the episode's agent returns).
    appeared: bool,
    episode_return: f64,
}

/// The open (not yet flushed) trajectory piece of one agent: empty at fragment boundaries.
#[derive(Debug, Clone, Default)]
struct Traj {
    batch: KindBatch,
}

/// Checkpointable state of one environment copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvSnapshot {
    episode: u64,
    episode_len: u64,
    /// Actions of the acting agents (kind order, slot order) of every step of this episode.
    action_log: Vec<Vec<u32>>,
    agents: Vec<Vec<AgentState>>,
    kind_returns: Vec<f64>,
    /// A checksum of the last output, checked after replay.
    checksum: f64,
}

/// Checkpointable state of a runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerState {
    envs: Vec<EnvSnapshot>,
}

struct EnvSlot {
    env: Box<dyn MultiAgentEnv>,
    out: StepOutput,
    actions: Actions,
    global_index: usize,
    episode: u64,
    episode_len: u64,
    action_log: Vec<Vec<u32>>,
    agents: Vec<Vec<AgentState>>,
    trajs: Vec<Vec<Traj>>,
    kind_returns: Vec<f64>,
}

/// An env runner: its environments, their agents' trajectories and a sampling loop. Used on its
/// own thread by the trainer, or inline when `num_env_runners` is 0.
pub struct Runner {
    index: usize,
    seed: u64,
    kinds: Vec<AgentKind>,
    specs: Vec<NetSpec>,
    envs: Vec<EnvSlot>,
    input: Vec<f32>,
    rows: Vec<(usize, usize)>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("index", &self.index)
            .field("envs", &self.envs.len())
            .finish()
    }
}

fn episode_seed(seed: u64, global_index: usize, episode: u64) -> u64 {
    derive_seed(seed, Stream::Episode, global_index as u64, episode)
}

/// A fingerprint of what the learner can see in an output (present slots only: the observations
/// of absent slots are stale).
fn checksum(out: &StepOutput) -> f64 {
    let mut s = if out.done { 0.5 } else { 0.0 };
    for (k, ko) in out.kinds.iter().enumerate() {
        let w = (k + 1) as f64;
        let obs_len = ko.obs.len() / ko.present.len().max(1);
        for (i, &p) in ko.present.iter().enumerate() {
            if p {
                let obs: f64 =
                    ko.obs[i * obs_len..(i + 1) * obs_len].iter().map(|&v| f64::from(v)).sum();
                let flags = f64::from(u8::from(ko.acting[i]))
                    + 2.0 * f64::from(u8::from(ko.terminated[i]))
                    + 4.0 * f64::from(u8::from(ko.truncated[i]));
                s += w * (i as f64 + 1.0) * (1.0 + f64::from(ko.reward[i]) + obs + 8.0 * flags);
            }
        }
    }
    s
}

impl Runner {
    /// A runner over `envs` (their kinds must agree with `specs`); resets every environment.
    /// Environment `e` of runner `index` has the global index `first_env + e`.
    pub fn new(
        index: usize,
        first_env: usize,
        seed: u64,
        envs: Vec<Box<dyn MultiAgentEnv>>,
        specs: Vec<NetSpec>,
    ) -> Result<Self, PpoError> {
        let kinds = envs
            .first()
            .map(|e| e.kinds().to_vec())
            .ok_or_else(|| PpoError::config("envs_per_runner", "a runner needs an environment"))?;
        let mut slots = Vec::with_capacity(envs.len());
        for (e, env) in envs.into_iter().enumerate() {
            if env.kinds() != kinds.as_slice() {
                return Err(PpoError::Runner {
                    runner: index,
                    reason: format!("environment {e} has different agent kinds"),
                });
            }
            let mut out = env.new_output();
            let actions = env.new_actions();
            let mut env = env;
            let global_index = first_env + e;
            env.reset(episode_seed(seed, global_index, 0), &mut out);
            slots.push(EnvSlot {
                env,
                out,
                actions,
                global_index,
                episode: 0,
                episode_len: 0,
                action_log: Vec::new(),
                agents: kinds.iter().map(|k| vec![AgentState::default(); k.max_agents]).collect(),
                trajs: kinds
                    .iter()
                    .map(|k| (0..k.max_agents).map(|_| Traj::default()).collect())
                    .collect(),
                kind_returns: vec![0.0; kinds.len()],
            });
        }
        Ok(Runner { index, seed, kinds, specs, envs: slots, input: Vec::new(), rows: Vec::new() })
    }

    /// The agent kinds of this runner's environments.
    pub fn kinds(&self) -> &[AgentKind] {
        &self.kinds
    }

    /// Sample `n_fragments` fragments of `fragment_length` steps of every environment with
    /// `actors` (one per kind) for training iteration `iteration`, merged into one [`Fragment`]
    /// (trajectories are cut, with bootstrapping, at every fragment end).
    pub fn sample<B: ConvBackend>(
        &mut self,
        iteration: u64,
        actors: &[Head<B>],
        fragment_length: usize,
        n_fragments: usize,
    ) -> Result<Fragment, PpoError> {
        if actors.len() != self.kinds.len() {
            return Err(PpoError::Runner {
                runner: self.index,
                reason: format!("{} actors for {} agent kinds", actors.len(), self.kinds.len()),
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(
            self.seed,
            Stream::Actions,
            self.index as u64,
            iteration,
        ));
        let n_kinds = self.kinds.len();
        let mut frag = Fragment {
            kinds: vec![KindBatch::default(); n_kinds],
            agent_steps: vec![0; n_kinds],
            ..Fragment::default()
        };
        let device = B::Device::default();
        for _ in 0..n_fragments {
            for _ in 0..fragment_length {
                for (k, actor) in actors.iter().enumerate().take(n_kinds) {
                    self.act(k, actor, &device, &mut rng, &mut frag)?;
                }
                for e in 0..self.envs.len() {
                    self.step_env(e, &mut frag)?;
                }
            }
            self.cut(&mut frag);
        }
        Ok(frag)
    }

    /// Cut every open trajectory at a fragment end: bootstrap from the last observation.
    fn cut(&mut self, frag: &mut Fragment) {
        let n_kinds = self.kinds.len();
        for slot in &mut self.envs {
            for k in 0..n_kinds {
                let obs_len = self.kinds[k].obs_len();
                for s in 0..self.kinds[k].max_agents {
                    if slot.trajs[k][s].batch.is_empty() {
                        continue;
                    }
                    let obs = match &slot.agents[k][s].pending {
                        Some(p) => p.obs.as_slice(),
                        None => &slot.out.kinds[k].obs[s * obs_len..(s + 1) * obs_len],
                    };
                    let obs = obs.to_vec();
                    flush(&mut slot.trajs[k][s], &mut frag.kinds[k], Some(&obs));
                }
            }
        }
    }

    /// Choose actions for every acting agent of kind `k` in all environments (one batched
    /// forward pass), store them as pending transitions.
    fn act<B: ConvBackend>(
        &mut self,
        k: usize,
        actor: &Head<B>,
        device: &B::Device,
        rng: &mut ChaCha8Rng,
        frag: &mut Fragment,
    ) -> Result<(), PpoError> {
        let kind = &self.kinds[k];
        let obs_len = kind.obs_len();
        let n_actions = kind.n_actions;
        self.input.clear();
        self.rows.clear();
        for (e, slot) in self.envs.iter().enumerate() {
            let ko = &slot.out.kinds[k];
            for s in 0..kind.max_agents {
                if ko.acting[s] {
                    self.input.extend_from_slice(&ko.obs[s * obs_len..(s + 1) * obs_len]);
                    self.rows.push((e, s));
                }
            }
        }
        let n = self.rows.len();
        if n == 0 {
            return Ok(());
        }
        frag.agent_steps[k] += n as u64;
        let obs = Tensor::<B, 2>::from_data(
            TensorData::new(std::mem::take(&mut self.input), [n, obs_len]),
            device,
        );
        let logits = actor.forward(&self.specs[k], obs).into_data();
        let logits: Vec<f32> =
            logits.into_vec().map_err(|e| PpoError::Backend(format!("reading logits: {e}")))?;
        for (i, &(e, s)) in self.rows.iter().enumerate() {
            let row = &logits[i * n_actions..(i + 1) * n_actions];
            let (action, logp) = sample_action(row, rng.random::<f64>());
            let slot = &mut self.envs[e];
            slot.actions.per_kind[k][s] = action;
            let ko = &slot.out.kinds[k];
            let agent = &mut slot.agents[k][s];
            agent.appeared = true;
            agent.pending = Some(Pending {
                obs: ko.obs[s * obs_len..(s + 1) * obs_len].to_vec(),
                action,
                logp,
                logits: row.to_vec(),
                reward: 0.0,
            });
        }
        Ok(())
    }

    fn step_env(&mut self, e: usize, frag: &mut Fragment) -> Result<(), PpoError> {
        let slot = &mut self.envs[e];
        let mut logged = Vec::new();
        for (k, ko) in slot.out.kinds.iter().enumerate() {
            for (s, &acting) in ko.acting.iter().enumerate() {
                if acting {
                    logged.push(slot.actions.per_kind[k][s]);
                }
            }
        }
        slot.action_log.push(logged);
        slot.env.step(&slot.actions, &mut slot.out)?;
        slot.episode_len += 1;
        frag.env_steps += 1;
        let done = slot.out.done;
        for k in 0..self.kinds.len() {
            let obs_len = self.kinds[k].obs_len();
            let ko = &slot.out.kinds[k];
            for s in 0..self.kinds[k].max_agents {
                let agent = &mut slot.agents[k][s];
                let traj = &mut slot.trajs[k][s];
                if ko.present[s] {
                    let r = ko.reward[s];
                    agent.episode_return += f64::from(r);
                    slot.kind_returns[k] += f64::from(r);
                    if let Some(p) = agent.pending.take() {
                        push(traj, &p, p.reward + r);
                    }
                    let terminated = ko.terminated[s] || (done && !ko.truncated[s]);
                    if terminated {
                        flush(traj, &mut frag.kinds[k], None);
                        if !done && agent.appeared {
                            // Proper termination of one agent: its episode ends here.
                            if s == 0 {
                                frag.slot0_returns.push((k, agent.episode_return));
                            }
                            agent.appeared = false;
                            agent.episode_return = 0.0;
                        }
                    } else if ko.truncated[s] {
                        let obs = &ko.obs[s * obs_len..(s + 1) * obs_len];
                        flush(traj, &mut frag.kinds[k], Some(obs));
                    }
                } else if done && let Some(p) = agent.pending.take() {
                    // The episode ended while this agent's action was hanging: terminal step.
                    push(traj, &p, p.reward);
                    flush(traj, &mut frag.kinds[k], None);
                }
            }
        }
        if done {
            for k in 0..self.kinds.len() {
                if slot.agents[k][0].appeared {
                    frag.slot0_returns.push((k, slot.agents[k][0].episode_return));
                }
                for agent in &mut slot.agents[k] {
                    *agent = AgentState::default();
                }
            }
            frag.episodes.push(EpisodeRecord {
                length: slot.episode_len,
                kind_returns: std::mem::replace(
                    &mut slot.kind_returns,
                    vec![0.0; self.kinds.len()],
                ),
            });
            slot.episode += 1;
            slot.episode_len = 0;
            slot.action_log.clear();
            slot.env.reset(episode_seed(self.seed, slot.global_index, slot.episode), &mut slot.out);
        }
        Ok(())
    }

    /// The state a checkpoint needs (call between iterations, when no trajectory is open).
    pub fn snapshot(&self) -> RunnerState {
        RunnerState {
            envs: self
                .envs
                .iter()
                .map(|slot| EnvSnapshot {
                    episode: slot.episode,
                    episode_len: slot.episode_len,
                    action_log: slot.action_log.clone(),
                    agents: slot.agents.clone(),
                    kind_returns: slot.kind_returns.clone(),
                    checksum: checksum(&slot.out),
                })
                .collect(),
        }
    }

    /// Bring the environments back to a snapshot's state by replaying the current episodes.
    pub fn restore(&mut self, state: &RunnerState) -> Result<(), PpoError> {
        if state.envs.len() != self.envs.len() {
            return Err(PpoError::Runner {
                runner: self.index,
                reason: format!(
                    "checkpoint has {} environments, this runner {}",
                    state.envs.len(),
                    self.envs.len()
                ),
            });
        }
        for (slot, snap) in self.envs.iter_mut().zip(&state.envs) {
            slot.env.reset(episode_seed(self.seed, slot.global_index, snap.episode), &mut slot.out);
            for logged in &snap.action_log {
                let mut it = logged.iter();
                for (k, ko) in slot.out.kinds.iter().enumerate() {
                    for (s, &acting) in ko.acting.iter().enumerate() {
                        if acting {
                            slot.actions.per_kind[k][s] = it.next().copied().unwrap_or(0);
                        }
                    }
                }
                slot.env.step(&slot.actions, &mut slot.out)?;
            }
            let check = checksum(&slot.out);
            if check != snap.checksum {
                return Err(PpoError::Runner {
                    runner: self.index,
                    reason: format!(
                        "replaying environment {} diverged from the checkpoint (checksum {check} != {})",
                        slot.global_index, snap.checksum
                    ),
                });
            }
            slot.episode = snap.episode;
            slot.episode_len = snap.episode_len;
            slot.action_log = snap.action_log.clone();
            slot.agents = snap.agents.clone();
            slot.kind_returns = snap.kind_returns.clone();
        }
        Ok(())
    }
}

fn push(traj: &mut Traj, p: &Pending, reward: f32) {
    let b = &mut traj.batch;
    b.obs.extend_from_slice(&p.obs);
    b.actions.push(p.action);
    b.logp.push(p.logp);
    b.logits.extend_from_slice(&p.logits);
    b.rewards.push(reward);
}

/// Move an agent's open trajectory into the fragment as one segment.
fn flush(traj: &mut Traj, out: &mut KindBatch, bootstrap_obs: Option<&[f32]>) {
    let b = &mut traj.batch;
    if b.is_empty() {
        return;
    }
    let start = out.len();
    let bootstrap = bootstrap_obs.map(|obs| {
        let row = if obs.is_empty() { 0 } else { out.bootstrap_obs.len() / obs.len() };
        out.bootstrap_obs.extend_from_slice(obs);
        row
    });
    out.obs.append(&mut b.obs);
    out.actions.append(&mut b.actions);
    out.logp.append(&mut b.logp);
    out.logits.append(&mut b.logits);
    out.rewards.append(&mut b.rewards);
    out.segments.push(Segment { start, len: out.actions.len() - start, bootstrap });
    b.segments.clear();
    b.bootstrap_obs.clear();
}

/// Inverse-CDF sample from the softmax of `logits` with the uniform draw `u` in [0, 1); returns
/// the action and its log-probability.
pub fn sample_action(logits: &[f32], u: f64) -> (u32, f32) {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(f64::from(l)));
    let sum: f64 = logits.iter().map(|&l| (f64::from(l) - max).exp()).sum();
    let log_z = max + sum.ln();
    let target = u * sum;
    let mut acc = 0.0;
    let mut action = logits.len().saturating_sub(1);
    for (i, &l) in logits.iter().enumerate() {
        acc += (f64::from(l) - max).exp();
        if target < acc {
            action = i;
            break;
        }
    }
    (action as u32, (f64::from(logits[action]) - log_z) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_follows_the_softmax() {
        // probabilities 0.25, 0.25, 0.5
        let l = [0.0f32, 0.0, 2f32.ln()];
        assert_eq!(sample_action(&l, 0.1).0, 0);
        assert_eq!(sample_action(&l, 0.3).0, 1);
        let (a, lp) = sample_action(&l, 0.9);
        assert_eq!(a, 2);
        assert!((lp - 0.5f32.ln()).abs() < 1e-6);
    }
}
