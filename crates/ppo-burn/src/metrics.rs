//! What one training iteration reports: [`IterationMetrics`], flattened by
//! [`IterationMetrics::to_map`] for a progress table.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::rollout::Fragment;

/// The agent id whose mean return defines `predator_return` and `score_pred`.
pub const SCORE_AGENT_KIND: &str = "type_1_predator";

/// Per-policy figures of one iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyMetrics {
    /// Mean over the last `metrics_window` episodes of the summed rewards of this kind's agents.
    pub episode_return_mean: f64,
    /// Mean number of acting agents of this kind per environment step this iteration.
    pub live_agents_mean: f64,
    /// Actions sampled for this kind this iteration.
    pub agent_steps: u64,
    /// Transitions in this policy's training batch.
    pub batch_size: u64,
    /// Gradient steps taken.
    pub minibatch_steps: u64,
    /// `-mean(surrogate)`, averaged over the iteration's minibatch steps.
    pub policy_loss: f64,
    /// Clipped value loss, averaged over steps.
    pub vf_loss: f64,
    /// Unclipped squared value error, averaged over steps.
    pub vf_loss_unclipped: f64,
    /// `1 - var(target - V) / var(target)` on the batch before the update (at least -1).
    pub vf_explained_var: f64,
    /// Mean policy entropy, averaged over steps.
    pub entropy: f64,
    /// Mean `KL(old || new)`, averaged over steps.
    pub kl: f64,
    /// KL coefficient after this iteration's adaptation.
    pub kl_coeff: f64,
    /// Mean global gradient norm (before clipping).
    pub grad_norm: f64,
}

/// Everything an iteration reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationMetrics {
    /// 1 for the first iteration.
    pub training_iteration: u64,
    /// `predator_return / 100`.
    pub score_pred: f64,
    /// Mean episode return of `type_1_predator_0` over its last `metrics_window` completed
    /// episodes (0 if none). Environments without that kind use slot 0 of their first kind.
    pub predator_return: f64,
    /// Mean over the window of the summed rewards of all agents of an episode.
    pub episode_return_mean: f64,
    /// Mean episode length (environment steps) over the window.
    pub episode_len_mean: f64,
    /// Episodes finished this iteration.
    pub episodes: u64,
    /// Episodes finished so far.
    pub episodes_total: u64,
    /// Environment steps this iteration.
    pub env_steps: u64,
    /// Environment steps so far.
    pub env_steps_total: u64,
    /// Agent steps (actions sampled, all kinds) this iteration.
    pub agent_steps: u64,
    /// Agent steps so far.
    pub agent_steps_total: u64,
    /// Wall seconds spent sampling (runners, until the last fragment arrived).
    pub sample_seconds: f64,
    /// Wall seconds spent learning (batch building, GAE, gradient steps).
    pub learn_seconds: f64,
    /// Per policy (agent kind name).
    pub policies: BTreeMap<String, PolicyMetrics>,
}

impl IterationMetrics {
    /// Flat `name -> value` map; policy figures are named `"{policy}/{figure}"`.
    pub fn to_map(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: f64| {
            m.insert(k.to_string(), v);
        };
        put("training_iteration", self.training_iteration as f64);
        put("score_pred", self.score_pred);
        put("predator_return", self.predator_return);
        put("episode_return_mean", self.episode_return_mean);
        put("episode_len_mean", self.episode_len_mean);
        put("episodes", self.episodes as f64);
        put("episodes_total", self.episodes_total as f64);
        put("env_steps", self.env_steps as f64);
        put("env_steps_total", self.env_steps_total as f64);
        put("agent_steps", self.agent_steps as f64);
        put("agent_steps_total", self.agent_steps_total as f64);
        put("sample_seconds", self.sample_seconds);
        put("learn_seconds", self.learn_seconds);
        for (name, p) in &self.policies {
            let mut put = |k: &str, v: f64| {
                m.insert(format!("{name}/{k}"), v);
            };
            put("episode_return_mean", p.episode_return_mean);
            put("live_agents_mean", p.live_agents_mean);
            put("agent_steps", p.agent_steps as f64);
            put("batch_size", p.batch_size as f64);
            put("minibatch_steps", p.minibatch_steps as f64);
            put("policy_loss", p.policy_loss);
            put("vf_loss", p.vf_loss);
            put("vf_loss_unclipped", p.vf_loss_unclipped);
            put("vf_explained_var", p.vf_explained_var);
            put("entropy", p.entropy);
            put("kl", p.kl);
            put("kl_coeff", p.kl_coeff);
            put("grad_norm", p.grad_norm);
        }
        m
    }

    /// [`to_map`](Self::to_map) without the wall-clock figures: equal for two runs with the
    /// same seed.
    pub fn deterministic_map(&self) -> BTreeMap<String, f64> {
        let mut m = self.to_map();
        m.remove("sample_seconds");
        m.remove("learn_seconds");
        m
    }
}

/// Sliding windows of finished episodes (checkpointed with the trainer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EpisodeStats {
    window: usize,
    score_kind: usize,
    lengths: VecDeque<u64>,
    kind_returns: VecDeque<Vec<f64>>,
    slot0_returns: Vec<VecDeque<f64>>,
    pub(crate) episodes_total: u64,
}

/// The kind whose slot-0 agent is scored: `type_1_predator`, else the first kind.
pub(crate) fn score_kind(kind_names: &[String]) -> usize {
    kind_names.iter().position(|n| n == SCORE_AGENT_KIND).unwrap_or(0)
}

/// Mean of the values; 0 for none.
pub(crate) fn mean<'a>(xs: impl Iterator<Item = &'a f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { s / n as f64 }
}

impl EpisodeStats {
    pub(crate) fn new(window: usize, kind_names: &[String]) -> Self {
        EpisodeStats {
            window,
            score_kind: score_kind(kind_names),
            lengths: VecDeque::new(),
            kind_returns: VecDeque::new(),
            slot0_returns: vec![VecDeque::new(); kind_names.len()],
            episodes_total: 0,
        }
    }

    /// Take in a fragment's finished episodes; returns how many there were.
    pub(crate) fn record(&mut self, frag: &Fragment) -> u64 {
        for ep in &frag.episodes {
            push(&mut self.lengths, ep.length, self.window);
            push(&mut self.kind_returns, ep.kind_returns.clone(), self.window);
        }
        for &(k, r) in &frag.slot0_returns {
            if let Some(w) = self.slot0_returns.get_mut(k) {
                push(w, r, self.window);
            }
        }
        self.episodes_total += frag.episodes.len() as u64;
        frag.episodes.len() as u64
    }

    pub(crate) fn predator_return(&self) -> f64 {
        self.slot0_returns.get(self.score_kind).map(|w| mean(w.iter())).unwrap_or(0.0)
    }

    pub(crate) fn episode_len_mean(&self) -> f64 {
        if self.lengths.is_empty() {
            return 0.0;
        }
        self.lengths.iter().sum::<u64>() as f64 / self.lengths.len() as f64
    }

    pub(crate) fn episode_return_mean(&self) -> f64 {
        let totals: Vec<f64> = self.kind_returns.iter().map(|r| r.iter().sum()).collect();
        mean(totals.iter())
    }

    pub(crate) fn kind_return_mean(&self, k: usize) -> f64 {
        let v: Vec<f64> = self.kind_returns.iter().filter_map(|r| r.get(k).copied()).collect();
        mean(v.iter())
    }
}

fn push<T>(w: &mut VecDeque<T>, x: T, window: usize) {
    w.push_back(x);
    while w.len() > window {
        w.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::EpisodeRecord;

    #[test]
    fn windows_keep_the_last_episodes_and_score_uses_predator_slot_0() {
        let names = ["type_1_predator".to_string(), "type_1_prey".to_string()];
        let mut s = EpisodeStats::new(2, &names);
        assert_eq!(s.predator_return(), 0.0);
        let frag = Fragment {
            episodes: vec![
                EpisodeRecord { length: 10, kind_returns: vec![1.0, 2.0] },
                EpisodeRecord { length: 20, kind_returns: vec![3.0, 4.0] },
                EpisodeRecord { length: 30, kind_returns: vec![5.0, 6.0] },
            ],
            slot0_returns: vec![(0, 10.0), (1, 99.0), (0, 20.0), (0, 40.0)],
            ..Fragment::default()
        };
        assert_eq!(s.record(&frag), 3);
        assert_eq!(s.predator_return(), 30.0);
        assert_eq!(s.episode_len_mean(), 25.0);
        assert_eq!(s.episode_return_mean(), 9.0);
        assert_eq!(s.kind_return_mean(1), 5.0);
        assert_eq!(s.episodes_total, 3);
    }
}
