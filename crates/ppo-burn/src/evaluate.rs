//! Playing trained policies without learning: episodes of an environment with the same agent
//! kinds as the one they were trained in (its settings may differ, e.g. a longer episode).
//!
//! Actions are sampled from the policies as in training, so the figures are the ones the
//! trainer's metrics would report for the same weights (`predator_return` is the mean return
//! of the score kind's slot-0 id over the played episodes, not over a sliding window).

use marl_env::AgentKind;
use serde::Serialize;

use crate::conv::ConvBackend;
use crate::env::EnvSpec;
use crate::error::PpoError;
use crate::metrics::{mean, score_kind};
use crate::model::{Head, NetSpec};
use crate::rollout::{EpisodeRecord, Runner};

/// What [`Trainer::evaluate`](crate::Trainer::evaluate) played.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Agent kind names, in policy order.
    pub kinds: Vec<String>,
    /// Index into `kinds` of the kind whose slot 0 is scored (`type_1_predator`, else 0).
    pub score_kind: usize,
    /// Finished episodes (length, per-kind returns in the order of `kinds`), in the order they
    /// ended.
    pub episodes: Vec<EpisodeRecord>,
    /// Per kind: the returns of the kind's slot-0 agent id (`type_1_predator_0`), one per
    /// agent-episode (one per episode in which it appeared; one per life with
    /// `proper_termination`).
    pub slot0_returns: Vec<Vec<f64>>,
}

impl Evaluation {
    /// Mean return of the score kind's slot-0 id (the trainer's `predator_return`); 0 if none.
    pub fn predator_return(&self) -> f64 {
        self.slot0_returns.get(self.score_kind).map_or(0.0, |r| mean(r.iter()))
    }

    /// `predator_return / 100`.
    pub fn score_pred(&self) -> f64 {
        self.predator_return() / 100.0
    }

    /// Mean episode length (env steps).
    pub fn episode_len_mean(&self) -> f64 {
        let lengths: Vec<f64> = self.episodes.iter().map(|e| e.length as f64).collect();
        mean(lengths.iter())
    }

    /// Mean per-episode return of all agents of kind `k`.
    pub fn kind_return_mean(&self, k: usize) -> f64 {
        mean(self.episodes.iter().filter_map(|e| e.kind_returns.get(k)))
    }
}

/// Play `episodes` episodes of one copy of `env` with `actors` (one per kind, shapes `specs`),
/// on the calling thread. Episode `e` is reset with a seed derived from `(seed, e)` and actions
/// are drawn from streams derived from `seed`, so the same call gives the same episodes.
/// `progress` is called with the number of finished episodes each time one ends.
pub(crate) fn evaluate<B: ConvBackend>(
    actors: &[Head<B>],
    specs: &[NetSpec],
    trained_kinds: &[AgentKind],
    env: &EnvSpec,
    episodes: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize),
) -> Result<Evaluation, PpoError> {
    if episodes == 0 {
        return Err(PpoError::config("episodes", "evaluate at least one episode"));
    }
    let copy = env.make(0)?;
    check_kinds(trained_kinds, copy.kinds())?;
    let kinds: Vec<String> = trained_kinds.iter().map(|k| k.name.clone()).collect();
    let mut runner = Runner::new(0, 0, seed, vec![copy], specs.to_vec())?;
    let mut eval = Evaluation {
        score_kind: score_kind(&kinds),
        slot0_returns: vec![Vec::new(); kinds.len()],
        kinds,
        episodes: Vec::with_capacity(episodes),
    };
    // One environment step per call: a call ends at most one episode, and every slot-0 return
    // it reports belongs to that episode or to the one still running, so stopping right after
    // the last wanted episode keeps exactly the returns of the kept episodes.
    let mut call = 0;
    while eval.episodes.len() < episodes {
        call += 1;
        let frag = runner.sample(call, actors, 1, 1)?;
        for &(k, r) in &frag.slot0_returns {
            if let Some(w) = eval.slot0_returns.get_mut(k) {
                w.push(r);
            }
        }
        if !frag.episodes.is_empty() {
            eval.episodes.extend(frag.episodes);
            progress(eval.episodes.len());
        }
    }
    Ok(eval)
}

/// The evaluation environment must offer what the policies were trained on: the same kinds,
/// observation shapes and action counts (the number of possible agents may differ).
fn check_kinds(trained: &[AgentKind], offered: &[AgentKind]) -> Result<(), PpoError> {
    let names = |ks: &[AgentKind]| ks.iter().map(|k| k.name.clone()).collect::<Vec<_>>();
    if names(trained) != names(offered) {
        return Err(PpoError::config(
            "env",
            format!(
                "the policies were trained on agent kinds {:?}, the environment has {:?}",
                names(trained),
                names(offered)
            ),
        ));
    }
    for (t, o) in trained.iter().zip(offered) {
        if t.obs_shape != o.obs_shape || t.n_actions != o.n_actions {
            return Err(PpoError::config(
                "env",
                format!(
                    "kind `{}`: the policy takes observations {:?} and {} actions, the environment \
                     gives {:?} and {}; keep the observation ranges and actions of training",
                    t.name, t.obs_shape, t.n_actions, o.obs_shape, o.n_actions
                ),
            ));
        }
    }
    Ok(())
}
