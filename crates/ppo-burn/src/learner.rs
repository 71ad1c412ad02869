//! The learner side of an iteration: per-policy batches, GAE, and the minibatch epochs.

use std::marker::PhantomData;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};

use crate::conv::{ConvBackend, PpoBackend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::config::{KlUpdate, Minibatching, PpoConfig};
use crate::error::PpoError;
use crate::gae::{gae, standardize};
use crate::loss::{LossCoeffs, LossInputs, ppo_loss, update_kl_coeff};
use crate::model::{ActorCritic, Head, NetSpec};
use crate::rollout::KindBatch;

/// Rows per forward pass when computing values for a whole batch.
const VALUE_CHUNK: usize = 1024;

/// One policy's training data, ready for minibatches.
#[derive(Debug, Clone, Default)]
pub struct PolicyBatch {
    /// Rows.
    pub n: usize,
    /// `n * obs_len`.
    pub obs: Vec<f32>,
    /// Actions as the backend's int type wants them.
    pub actions: Vec<i64>,
    /// Sampling log-probability of each action.
    pub logp: Vec<f32>,
    /// `n * n_actions` log-softmax of the sampling logits.
    pub old_log_probs: Vec<f32>,
    /// Standardised advantages.
    pub advantages: Vec<f32>,
    /// Value targets.
    pub value_targets: Vec<f32>,
    /// Values of the batch before the update.
    pub values: Vec<f32>,
}

/// Run `critic` over `obs` (`n * obs_len`) in chunks; returns `n` values.
pub fn values_of<B: ConvBackend>(
    critic: &Head<B>,
    spec: &NetSpec,
    obs: &[f32],
) -> Result<Vec<f32>, PpoError> {
    let obs_len = spec.obs_len();
    let n = obs.len() / obs_len.max(1);
    let device = B::Device::default();
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(VALUE_CHUNK) {
        let end = (start + VALUE_CHUNK).min(n);
        let x = Tensor::<B, 2>::from_data(
            TensorData::new(obs[start * obs_len..end * obs_len].to_vec(), [end - start, obs_len]),
            &device,
        );
        let v = critic.forward(spec, x).into_data();
        let v: Vec<f32> =
            v.into_vec().map_err(|e| PpoError::Backend(format!("reading values: {e}")))?;
        out.extend(v);
    }
    Ok(out)
}

/// GAE over every segment of `kb` with values from `critic`, then standardisation.
pub fn build_batch<B: ConvBackend>(
    kb: &KindBatch,
    critic: &Head<B>,
    spec: &NetSpec,
    gamma: f64,
    lambda: f64,
) -> Result<PolicyBatch, PpoError> {
    let values = values_of(critic, spec, &kb.obs)?;
    let boot = values_of(critic, spec, &kb.bootstrap_obs)?;
    Ok(batch_from_values(kb, values, &boot, spec.n_actions, gamma, lambda))
}

/// [`build_batch`] with the values given (testable without a network).
pub fn batch_from_values(
    kb: &KindBatch,
    values: Vec<f32>,
    bootstrap_values: &[f32],
    n_actions: usize,
    gamma: f64,
    lambda: f64,
) -> PolicyBatch {
    let n = kb.len();
    let mut advantages = vec![0f32; n];
    let mut value_targets = vec![0f32; n];
    for seg in &kb.segments {
        let r = seg.start..seg.start + seg.len;
        let boot = seg.bootstrap.map(|b| bootstrap_values[b]);
        let (a, t) = gae(&kb.rewards[r.clone()], &values[r.clone()], boot, gamma, lambda);
        advantages[r.clone()].copy_from_slice(&a);
        value_targets[r].copy_from_slice(&t);
    }
    standardize(&mut advantages);
    let mut old_log_probs = Vec::with_capacity(kb.logits.len());
    for row in kb.logits.chunks(n_actions.max(1)) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(f64::from(l)));
        let lse = max + row.iter().map(|&l| (f64::from(l) - max).exp()).sum::<f64>().ln();
        old_log_probs.extend(row.iter().map(|&l| (f64::from(l) - lse) as f32));
    }
    PolicyBatch {
        n,
        obs: kb.obs.clone(),
        actions: kb.actions.iter().map(|&a| i64::from(a)).collect(),
        logp: kb.logp.clone(),
        old_log_probs,
        advantages,
        value_targets,
        values,
    }
}

/// RLlib's `MiniBatchCyclingIterator`: each step gives every policy `minibatch_size` indices,
/// wrapping around (and reshuffling) its own batch; stops once every batch has been covered
/// `num_epochs` times, so the largest batch sets the number of steps.
#[derive(Debug, Clone)]
pub struct Cycler {
    perms: Vec<Vec<usize>>,
    pos: Vec<usize>,
    covered: Vec<usize>,
    minibatch_size: usize,
    num_epochs: usize,
}

fn shuffle(v: &mut [usize], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

impl Cycler {
    /// A cycler over batches of the given (non-zero) sizes; shuffles each first.
    pub fn new(
        sizes: &[usize],
        minibatch_size: usize,
        num_epochs: usize,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let perms = sizes
            .iter()
            .map(|&n| {
                let mut p: Vec<usize> = (0..n).collect();
                shuffle(&mut p, rng);
                p
            })
            .collect();
        Cycler {
            perms,
            pos: vec![0; sizes.len()],
            covered: vec![0; sizes.len()],
            minibatch_size,
            num_epochs,
        }
    }

    /// The next step's indices, one list per batch; `None` when done.
    pub fn next_step(&mut self, rng: &mut ChaCha8Rng) -> Option<Vec<Vec<usize>>> {
        if self.perms.is_empty()
            || self.covered.iter().min().copied().unwrap_or(0) >= self.num_epochs
        {
            return None;
        }
        let mut step = Vec::with_capacity(self.perms.len());
        for p in 0..self.perms.len() {
            let len = self.perms[p].len();
            let mut need = self.minibatch_size;
            let mut idx = Vec::with_capacity(need);
            while self.pos[p] + need >= len {
                idx.extend_from_slice(&self.perms[p][self.pos[p]..]);
                need -= len - self.pos[p];
                self.pos[p] = 0;
                self.covered[p] += 1;
                shuffle(&mut self.perms[p], rng);
            }
            let s = self.pos[p];
            idx.extend_from_slice(&self.perms[p][s..s + need]);
            self.pos[p] = s + need;
            step.push(idx);
        }
        Some(step)
    }
}

/// Sums of one policy's per-step figures over an iteration.
#[derive(Debug, Clone, Default)]
pub struct StepSums {
    /// Gradient steps.
    pub steps: u64,
    /// Sum of `-mean(surrogate)`.
    pub policy_loss: f64,
    /// Sum of the clipped value loss.
    pub vf_loss: f64,
    /// Sum of the unclipped value loss.
    pub vf_loss_unclipped: f64,
    /// Sum of the mean entropy.
    pub entropy: f64,
    /// Sum of the mean KL.
    pub kl: f64,
    /// KL of the last step.
    pub last_kl: f64,
    /// Sum of the gradient norms.
    pub grad_norm: f64,
}

impl StepSums {
    /// Mean of a sum over the steps.
    pub fn mean(&self, sum: f64) -> f64 {
        if self.steps == 0 { 0.0 } else { sum / self.steps as f64 }
    }
}

/// One policy: its networks, its Adam optimiser and its KL coefficient.
pub struct PolicyLearner<B: PpoBackend> {
    /// The agent kind this policy acts for.
    pub name: String,
    /// Network shape.
    pub spec: NetSpec,
    pub(crate) model: Option<ActorCritic<B>>,
    pub(crate) optim: OptimizerAdaptor<Adam, ActorCritic<B>, B>,
    /// Current KL coefficient.
    pub kl_coeff: f64,
}

impl<B: PpoBackend> std::fmt::Debug for PolicyLearner<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyLearner")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .field("kl_coeff", &self.kl_coeff)
            .finish()
    }
}

struct GradNorm<'a, B: PpoBackend> {
    grads: &'a GradientsParams,
    sumsq: f64,
    _b: PhantomData<B>,
}

impl<B: PpoBackend> ModuleVisitor<B> for GradNorm<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            self.sumsq += g.square().sum().into_scalar().elem::<f64>();
        }
    }
}

struct GradScale<'a, B: PpoBackend> {
    grads: &'a mut GradientsParams,
    scale: f64,
    _b: PhantomData<B>,
}

impl<B: PpoBackend> ModuleVisitor<B> for GradScale<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.scale));
        }
    }
}

impl<B: PpoBackend> PolicyLearner<B> {
    /// A policy with the given networks and a fresh Adam.
    pub fn new(name: String, spec: NetSpec, model: ActorCritic<B>, config: &PpoConfig) -> Self {
        let optim =
            AdamConfig::new().with_epsilon(config.adam_epsilon as f32).init::<B, ActorCritic<B>>();
        PolicyLearner { name, spec, model: Some(model), optim, kl_coeff: config.kl_coeff }
    }

    pub(crate) fn model(&self) -> Result<&ActorCritic<B>, PpoError> {
        self.model.as_ref().ok_or_else(|| PpoError::NonFinite {
            what: format!("model of policy {} (lost after an earlier error)", self.name),
            iteration: 0,
        })
    }

    /// The actor for inference (no autodiff).
    pub fn inference_actor(&self) -> Result<Head<B::InnerBackend>, PpoError> {
        Ok(self.model()?.actor.valid())
    }

    /// Build this policy's batch with its current critic.
    pub fn build_batch(&self, kb: &KindBatch, config: &PpoConfig) -> Result<PolicyBatch, PpoError> {
        let critic = self.model()?.critic.valid();
        build_batch(kb, &critic, &self.spec, config.gamma, config.lambda)
    }

    /// One gradient step on the rows `idx` of `batch`.
    pub fn step(
        &mut self,
        batch: &PolicyBatch,
        idx: &[usize],
        config: &PpoConfig,
        iteration: u64,
        sums: &mut StepSums,
    ) -> Result<(), PpoError> {
        let device = B::Device::default();
        let m = idx.len();
        let obs_len = self.spec.obs_len();
        let na = self.spec.n_actions;
        let mut obs = Vec::with_capacity(m * obs_len);
        let mut old_lp = Vec::with_capacity(m * na);
        for &i in idx {
            obs.extend_from_slice(&batch.obs[i * obs_len..(i + 1) * obs_len]);
            old_lp.extend_from_slice(&batch.old_log_probs[i * na..(i + 1) * na]);
        }
        let pick = |v: &[f32]| -> Tensor<B, 1> {
            let data: Vec<f32> = idx.iter().map(|&i| v[i]).collect();
            Tensor::from_data(TensorData::new(data, [m]), &device)
        };
        let actions: Vec<i64> = idx.iter().map(|&i| batch.actions[i]).collect();
        let obs = Tensor::<B, 2>::from_data(TensorData::new(obs, [m, obs_len]), &device);
        let model = self.model.take().ok_or_else(|| PpoError::NonFinite {
            what: format!("model of policy {} (lost after an earlier error)", self.name),
            iteration,
        })?;
        let logits = model.actor.forward(&self.spec, obs.clone());
        let values = model.critic.forward(&self.spec, obs).squeeze_dim::<1>(1);
        let inputs = LossInputs {
            logits,
            values,
            actions: Tensor::<B, 2, Int>::from_data(TensorData::new(actions, [m, 1]), &device),
            logp_old: pick(&batch.logp),
            old_log_probs: Tensor::from_data(TensorData::new(old_lp, [m, na]), &device),
            advantages: pick(&batch.advantages),
            value_targets: pick(&batch.value_targets),
        };
        let coeffs = LossCoeffs {
            clip_param: config.clip_param,
            vf_clip_param: config.vf_clip_param,
            vf_loss_coeff: config.vf_loss_coeff,
            entropy_coeff: config.entropy_coeff,
            kl_coeff: config.use_kl_loss.then_some(self.kl_coeff),
        };
        let out = ppo_loss(inputs, &coeffs);
        let scalar = |t: &Tensor<B, 1>| t.clone().into_scalar().elem::<f64>();
        let total = scalar(&out.total);
        if !total.is_finite() {
            return Err(PpoError::NonFinite {
                what: format!("total loss of policy {}", self.name),
                iteration,
            });
        }
        sums.policy_loss += scalar(&out.policy_loss);
        sums.vf_loss += scalar(&out.vf_loss);
        sums.vf_loss_unclipped += scalar(&out.vf_loss_unclipped);
        sums.entropy += scalar(&out.entropy);
        let kl = scalar(&out.kl);
        sums.kl += kl;
        sums.last_kl = kl;
        let grads = out.total.backward();
        let mut grads = GradientsParams::from_grads(grads, &model);
        let mut norm = GradNorm::<B> { grads: &grads, sumsq: 0.0, _b: PhantomData };
        model.visit(&mut norm);
        let norm = norm.sumsq.sqrt();
        if !norm.is_finite() {
            return Err(PpoError::NonFinite {
                what: format!("gradient of policy {}", self.name),
                iteration,
            });
        }
        sums.grad_norm += norm;
        if let Some(max) = config.grad_clip {
            let scale = max / (norm + 1e-6);
            if scale < 1.0 {
                let mut s = GradScale::<B> { grads: &mut grads, scale, _b: PhantomData };
                model.visit(&mut s);
            }
        }
        self.model = Some(self.optim.step(config.lr, model, grads));
        sums.steps += 1;
        Ok(())
    }

    /// Adapt the KL coefficient after an iteration (if the KL loss is on).
    pub fn adapt_kl(&mut self, sums: &StepSums, config: &PpoConfig) {
        if !config.use_kl_loss || sums.steps == 0 {
            return;
        }
        let kl = match config.kl_update {
            KlUpdate::LastMinibatch => sums.last_kl,
            KlUpdate::IterationMean => sums.mean(sums.kl),
        };
        self.kl_coeff = update_kl_coeff(self.kl_coeff, kl, config.kl_target);
    }
}

/// Run the epochs of one iteration over `batches` (one per policy, same order as `policies`).
pub fn run_epochs<B: PpoBackend>(
    policies: &mut [PolicyLearner<B>],
    batches: &[PolicyBatch],
    config: &PpoConfig,
    iteration: u64,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<StepSums>, PpoError> {
    let mut sums = vec![StepSums::default(); policies.len()];
    let active: Vec<usize> = (0..policies.len()).filter(|&p| batches[p].n > 0).collect();
    match config.minibatching {
        Minibatching::Cycle => {
            let sizes: Vec<usize> = active.iter().map(|&p| batches[p].n).collect();
            let mut cycler = Cycler::new(&sizes, config.minibatch_size, config.num_epochs, rng);
            while let Some(step) = cycler.next_step(rng) {
                for (a, idx) in step.iter().enumerate() {
                    let p = active[a];
                    policies[p].step(&batches[p], idx, config, iteration, &mut sums[p])?;
                }
            }
        }
        Minibatching::PerPolicy => {
            for &p in &active {
                let mut perm: Vec<usize> = (0..batches[p].n).collect();
                for _ in 0..config.num_epochs {
                    shuffle(&mut perm, rng);
                    for idx in perm.chunks(config.minibatch_size) {
                        policies[p].step(&batches[p], idx, config, iteration, &mut sums[p])?;
                    }
                }
            }
        }
    }
    for (p, s) in policies.iter_mut().zip(&sums) {
        p.adapt_kl(s, config);
    }
    Ok(sums)
}

/// `max(-1, 1 - var(y - pred) / var(y))`, RLlib's explained variance.
pub fn explained_variance(y: &[f32], pred: &[f32]) -> f64 {
    let n = y.len() as f64;
    if y.is_empty() {
        return 0.0;
    }
    let var = |xs: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = xs.collect();
        let m = v.iter().sum::<f64>() / n;
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n
    };
    let vy = var(&mut y.iter().map(|&v| f64::from(v)));
    let vd = var(&mut y.iter().zip(pred).map(|(&a, &b)| f64::from(a) - f64::from(b)));
    if vy == 0.0 {
        return if vd == 0.0 { 1.0 } else { -1.0 };
    }
    (1.0 - vd / vy).max(-1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::Segment;
    use rand::SeedableRng;

    #[test]
    fn cycling_runs_as_many_steps_as_the_largest_batch_needs() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        // Largest batch 512 with minibatch 128 and 2 epochs: 8 steps; the 100-row batch cycles.
        let mut c = Cycler::new(&[100, 512], 128, 2, &mut rng);
        let mut steps = 0;
        let mut seen_small = vec![0usize; 100];
        while let Some(step) = c.next_step(&mut rng) {
            assert_eq!(step.len(), 2);
            assert!(step.iter().all(|s| s.len() == 128));
            for &i in &step[0] {
                seen_small[i] += 1;
            }
            steps += 1;
        }
        assert_eq!(steps, 8);
        // 8 * 128 = 1024 draws of the small batch: every row at least 10 times.
        assert!(seen_small.iter().all(|&n| n >= 10), "{seen_small:?}");
    }

    #[test]
    fn single_policy_epochs_are_plain_shuffled_passes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut c = Cycler::new(&[512], 128, 4, &mut rng);
        let mut all = Vec::new();
        while let Some(step) = c.next_step(&mut rng) {
            all.push(step[0].clone());
        }
        assert_eq!(all.len(), 16);
        for epoch in all.chunks(4) {
            let mut rows: Vec<usize> = epoch.concat();
            rows.sort_unstable();
            assert_eq!(rows, (0..512).collect::<Vec<_>>());
        }
    }

    #[test]
    fn batch_gae_uses_each_segment_end() {
        // Two segments: [r 1, 1] terminated, and [r 0] cut with V_boot = 2.
        let kb = KindBatch {
            obs: vec![0.0; 3],
            actions: vec![0, 1, 0],
            logp: vec![-0.7; 3],
            logits: vec![0.0; 6],
            rewards: vec![1.0, 1.0, 0.0],
            segments: vec![
                Segment { start: 0, len: 2, bootstrap: None },
                Segment { start: 2, len: 1, bootstrap: Some(0) },
            ],
            bootstrap_obs: vec![0.0],
        };
        let b = batch_from_values(&kb, vec![0.0, 0.0, 1.0], &[2.0], 2, 0.5, 1.0);
        // targets: 1 + 0.5 * 1 = 1.5, 1, 0 + 0.5 * 2 = 1
        assert_eq!(b.value_targets, vec![1.5, 1.0, 1.0]);
        // raw advantages 1.5, 1, 0 -> standardised
        let m = 2.5 / 3.0;
        let sd = ((1.5f64 - m).powi(2) + (1.0 - m).powi(2) + m * m).sqrt() / 3f64.sqrt();
        let want = [(1.5 - m) / sd, (1.0 - m) / sd, -m / sd];
        for (a, w) in b.advantages.iter().zip(want) {
            assert!((f64::from(*a) - w).abs() < 1e-5);
        }
        assert!((b.old_log_probs[0] - 0.5f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn explained_variance_bounds() {
        assert_eq!(explained_variance(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        assert_eq!(explained_variance(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]), 0.0);
        assert_eq!(explained_variance(&[1.0, 2.0, 3.0], &[30.0, -20.0, 3.0]), -1.0);
    }
}
