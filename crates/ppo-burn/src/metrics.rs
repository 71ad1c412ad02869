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
    /// Mean over the merged episode windows (see `predator_return`) of the summed rewards of
    /// this kind's agents.
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
    /// Mean episode return of `type_1_predator_0` over RLlib 2.49's merge of each env runner's
    /// window of its last `ceil(metrics_window / runners)` completed episodes (0 if none).
    /// Environments without that kind use slot 0 of their first kind.
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

/// Finished-episode windows as RLlib 2.49 keeps them (checkpointed with the trainer).
///
/// Each env runner keeps a sliding window of its own last `ceil(metrics_window / runners)`
/// finished episodes (RLlib's `MultiAgentEnvRunner._log_episode_metrics`); the reported mean is
/// the driver's parallel merge of those windows (`Stats.merge_in_parallel`, see
/// [`merged_mean`]), so with 3 runners and the default 100 it averages 34 values. A runner that
/// has finished no episode yet takes no part; no finished episode at all gives 0 (the reference
/// callback's `.get(..., 0.0)`); an iteration that finishes none repeats the last value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EpisodeStats {
    /// Episodes each runner's window holds; also the merged window's length.
    window: usize,
    score_kind: usize,
    runners: Vec<RunnerWindows>,
    pub(crate) episodes_total: u64,
}

/// One env runner's windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct RunnerWindows {
    /// Episode lengths (env steps).
    lengths: VecDeque<f64>,
    /// Per episode the summed rewards of all agents.
    returns: VecDeque<f64>,
    /// Per kind: per episode the summed rewards of that kind's agents.
    kind_returns: Vec<VecDeque<f64>>,
    /// Per kind: the return of each finished life-episode of the kind's slot-0 agent.
    slot0_returns: Vec<VecDeque<f64>>,
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

/// The mean of RLlib's parallel merge of sliding windows (`Stats.merge_in_parallel` with
/// `reduce="mean"`, RLlib 2.49): step back from the newest value of every non-empty window at
/// once; at each step the values there are averaged and that mean enters the merged window once
/// per value; stop when the merged window holds `window` entries. 0 when every window is empty.
pub(crate) fn merged_mean<'a>(
    windows: impl IntoIterator<Item = &'a VecDeque<f64>>,
    window: usize,
) -> f64 {
    let windows: Vec<&VecDeque<f64>> = windows.into_iter().filter(|w| !w.is_empty()).collect();
    let longest = windows.iter().map(|w| w.len()).max().unwrap_or(0);
    let (mut sum, mut n) = (0.0, 0usize);
    for back in 1..=longest {
        let at: Vec<f64> =
            windows.iter().filter(|w| w.len() >= back).map(|w| w[w.len() - back]).collect();
        let take = at.len().min(window.saturating_sub(n));
        sum += mean(at.iter()) * take as f64;
        n += take;
        if n >= window {
            break;
        }
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

impl EpisodeStats {
    /// `metrics_window`: RLlib's `metrics_num_episodes_for_smoothing`; `runners`: env runners
    /// (at least 1).
    pub(crate) fn new(metrics_window: usize, runners: usize, kind_names: &[String]) -> Self {
        let runners = runners.max(1);
        let kinds = kind_names.len();
        EpisodeStats {
            window: metrics_window.div_ceil(runners).max(1),
            score_kind: score_kind(kind_names),
            runners: vec![
                RunnerWindows {
                    kind_returns: vec![VecDeque::new(); kinds],
                    slot0_returns: vec![VecDeque::new(); kinds],
                    ..RunnerWindows::default()
                };
                runners
            ],
            episodes_total: 0,
        }
    }

    /// Take in the finished episodes of runner `runner`'s fragment; returns how many there were.
    pub(crate) fn record(&mut self, runner: usize, frag: &Fragment) -> u64 {
        let window = self.window;
        let Some(w) = self.runners.get_mut(runner) else {
            return 0;
        };
        for ep in &frag.episodes {
            push(&mut w.lengths, ep.length as f64, window);
            push(&mut w.returns, ep.kind_returns.iter().sum(), window);
            for (k, &r) in ep.kind_returns.iter().enumerate() {
                if let Some(kw) = w.kind_returns.get_mut(k) {
                    push(kw, r, window);
                }
            }
        }
        for &(k, r) in &frag.slot0_returns {
            if let Some(kw) = w.slot0_returns.get_mut(k) {
                push(kw, r, window);
            }
        }
        self.episodes_total += frag.episodes.len() as u64;
        frag.episodes.len() as u64
    }

    pub(crate) fn predator_return(&self) -> f64 {
        let k = self.score_kind;
        merged_mean(self.runners.iter().filter_map(|w| w.slot0_returns.get(k)), self.window)
    }

    pub(crate) fn episode_len_mean(&self) -> f64 {
        merged_mean(self.runners.iter().map(|w| &w.lengths), self.window)
    }

    pub(crate) fn episode_return_mean(&self) -> f64 {
        merged_mean(self.runners.iter().map(|w| &w.returns), self.window)
    }

    pub(crate) fn kind_return_mean(&self, k: usize) -> f64 {
        merged_mean(self.runners.iter().filter_map(|w| w.kind_returns.get(k)), self.window)
    }
}

/// The episode windows as a checkpoint holds them: merged per-runner windows, or the single
/// window of checkpoints written before (read into runner 0's window, cut to its length).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum StoredStats {
    /// The current form.
    Runners(EpisodeStats),
    /// One window over every runner's episodes (checkpoints before the merged windows).
    Single {
        score_kind: usize,
        lengths: VecDeque<u64>,
        kind_returns: VecDeque<Vec<f64>>,
        slot0_returns: Vec<VecDeque<f64>>,
        episodes_total: u64,
    },
}

impl StoredStats {
    /// The windows for a trainer with this smoothing and these runners.
    pub(crate) fn into_stats(self, metrics_window: usize, runners: usize) -> EpisodeStats {
        match self {
            StoredStats::Runners(s) => s,
            StoredStats::Single {
                score_kind,
                lengths,
                kind_returns,
                slot0_returns,
                episodes_total,
            } => {
                let kinds = slot0_returns.len();
                let names: Vec<String> = (0..kinds).map(|k| format!("kind {k}")).collect();
                let mut s = EpisodeStats::new(metrics_window, runners, &names);
                s.score_kind = score_kind;
                let window = s.window;
                let w = &mut s.runners[0];
                for (len, r) in lengths.iter().zip(&kind_returns) {
                    push(&mut w.lengths, *len as f64, window);
                    push(&mut w.returns, r.iter().sum(), window);
                    for (k, &x) in r.iter().enumerate() {
                        if let Some(kw) = w.kind_returns.get_mut(k) {
                            push(kw, x, window);
                        }
                    }
                }
                for (k, rs) in slot0_returns.into_iter().enumerate() {
                    for r in rs {
                        push(&mut w.slot0_returns[k], r, window);
                    }
                }
                s.episodes_total = episodes_total;
                s
            }
        }
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

    fn deque(xs: &[f64]) -> VecDeque<f64> {
        xs.iter().copied().collect()
    }

    #[test]
    fn the_merge_follows_rllibs_documented_examples() {
        // MetricsLogger.aggregate's docstring: runner windows [200, 300, 400] and
        // [250, 350, 450], window 3 -> merged values [325, 425, 425].
        let a = deque(&[200.0, 300.0, 400.0]);
        let b = deque(&[250.0, 350.0, 450.0]);
        assert_eq!(merged_mean([&a, &b], 3), (325.0 + 425.0 + 425.0) / 3.0);
        // Stats.merge_in_parallel's docstring: [1, 2, 3] (window 3 of 0..=3) and [4, 5, 6]
        // -> [3.5, 4.5, 4.5].
        let a = deque(&[1.0, 2.0, 3.0]);
        let b = deque(&[4.0, 5.0, 6.0]);
        assert_eq!(merged_mean([&a, &b], 3), (3.5 + 4.5 + 4.5) / 3.0);
    }

    #[test]
    fn shorter_windows_drop_out_and_empty_ones_take_no_part() {
        // back 1: [4, 10] -> 7 twice; back 2: [3] -> 3; back 3: [2] -> 2; window 4 is full.
        let a = deque(&[1.0, 2.0, 3.0, 4.0]);
        let b = deque(&[10.0]);
        let empty = VecDeque::new();
        assert_eq!(merged_mean([&a, &b, &empty], 4), (7.0 + 7.0 + 3.0 + 2.0) / 4.0);
        // One window alone is its own mean over the window.
        assert_eq!(merged_mean([&empty, &a], 100), 2.5);
        assert_eq!(merged_mean([&empty, &empty], 34), 0.0);
        // The merged window is cut within a step: 3 windows, window 4 -> 3 values of the newest
        // mean, 1 of the next.
        let c = deque(&[0.0, 30.0]);
        assert_eq!(merged_mean([&a, &b, &c], 4), ((4.0 + 10.0 + 30.0) / 3.0 * 3.0 + 1.5) / 4.0);
    }

    fn names() -> Vec<String> {
        vec!["type_1_predator".to_string(), "type_1_prey".to_string()]
    }

    fn episode(length: u64, pred: f64, prey: f64) -> EpisodeRecord {
        EpisodeRecord { length, kind_returns: vec![pred, prey] }
    }

    #[test]
    fn each_runner_keeps_ceil_window_over_runners_episodes() {
        let mut s = EpisodeStats::new(100, 3, &names());
        assert_eq!(s.window, 34);
        assert_eq!(s.predator_return(), 0.0, "no episode finished yet: 0, as the callback");
        // Runner 1 finishes 40 episodes: its window keeps the last 34 (returns 6..=39).
        let frag = Fragment {
            episodes: (0..40).map(|i| episode(10 + i, i as f64, 1.0)).collect(),
            slot0_returns: (0..40).map(|i| (0, i as f64)).chain([(1, 99.0)]).collect(),
            ..Fragment::default()
        };
        assert_eq!(s.record(1, &frag), 40);
        assert_eq!(s.predator_return(), (6..40).sum::<u64>() as f64 / 34.0);
        assert_eq!(s.episode_len_mean(), (16..50).sum::<u64>() as f64 / 34.0);
        assert_eq!(s.kind_return_mean(1), 1.0);
        assert_eq!(s.episode_return_mean(), (6..40).map(|i| i as f64 + 1.0).sum::<f64>() / 34.0);
        // Runner 0 finishes one episode with return 100: back 1 is [100, 39] -> 69.5 twice,
        // then runner 1's 38, 37, ... fill the remaining 32 places.
        let frag = Fragment {
            episodes: vec![episode(5, 100.0, 0.0)],
            slot0_returns: vec![(0, 100.0)],
            ..Fragment::default()
        };
        s.record(0, &frag);
        let expected = (69.5 * 2.0 + (6..39).rev().take(32).sum::<u64>() as f64) / 34.0;
        assert_eq!(s.predator_return(), expected);
        // An iteration without finished episodes repeats the value.
        s.record(2, &Fragment::default());
        assert_eq!(s.predator_return(), expected);
        assert_eq!(s.episodes_total, 41);
    }

    #[test]
    fn a_checkpoint_of_the_single_window_loads_into_runner_0() {
        let old = r#"{"window":100,"score_kind":0,"lengths":[10,20,30],
            "kind_returns":[[1.0,2.0],[3.0,4.0],[5.0,6.0]],
            "slot0_returns":[[10.0,20.0,40.0],[99.0]],"episodes_total":3}"#;
        let stored: StoredStats = serde_json::from_str(old).expect("old form reads");
        let s = stored.into_stats(100, 3);
        assert_eq!(s.window, 34);
        assert!((s.predator_return() - 70.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.episode_len_mean(), 20.0);
        assert_eq!(s.episode_return_mean(), 7.0);
        assert_eq!(s.kind_return_mean(1), 4.0);
        assert_eq!(s.episodes_total, 3);
        // The current form round-trips as itself.
        let json = serde_json::to_string(&s).expect("writes");
        let back: StoredStats = serde_json::from_str(&json).expect("reads");
        assert_eq!(back.into_stats(7, 1), s);
    }
}
