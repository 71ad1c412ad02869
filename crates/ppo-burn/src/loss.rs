//! The PPO loss of one policy on one minibatch, as RLlib's `PPOTorchLearner` computes it.
//!
//! `total = mean(-min(r A, clip(r, 1-c, 1+c) A) + vf_coeff min((V - V_target)^2, vf_clip)
//! - ent_coeff H) + kl_coeff mean(KL(old || new))`, with `r = exp(logp - logp_old)`.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

/// Coefficients of the loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossCoeffs {
    /// Ratio clip `c`.
    pub clip_param: f64,
    /// Clip of the squared value error.
    pub vf_clip_param: f64,
    /// Weight of the value loss.
    pub vf_loss_coeff: f64,
    /// Weight of the entropy bonus.
    pub entropy_coeff: f64,
    /// Current KL coefficient; `None` leaves the KL term out (it is still measured).
    pub kl_coeff: Option<f64>,
}

/// One minibatch: the network outputs and the sampled data.
#[derive(Debug, Clone)]
pub struct LossInputs<B: Backend> {
    /// Current logits `[n, n_actions]`.
    pub logits: Tensor<B, 2>,
    /// Current values `[n]`.
    pub values: Tensor<B, 1>,
    /// Actions taken `[n, 1]`.
    pub actions: Tensor<B, 2, Int>,
    /// Log-probabilities of the actions under the sampling policy `[n]`.
    pub logp_old: Tensor<B, 1>,
    /// Log-softmax of the sampling policy's logits `[n, n_actions]`.
    pub old_log_probs: Tensor<B, 2>,
    /// Standardised advantages `[n]`.
    pub advantages: Tensor<B, 1>,
    /// Value targets `[n]`.
    pub value_targets: Tensor<B, 1>,
}

/// The loss and its parts (each a one-element tensor).
#[derive(Debug, Clone)]
pub struct LossOutput<B: Backend> {
    /// What is differentiated.
    pub total: Tensor<B, 1>,
    /// `-mean(surrogate)`.
    pub policy_loss: Tensor<B, 1>,
    /// `mean(min(err^2, vf_clip))`.
    pub vf_loss: Tensor<B, 1>,
    /// `mean(err^2)`.
    pub vf_loss_unclipped: Tensor<B, 1>,
    /// Mean entropy of the current policy.
    pub entropy: Tensor<B, 1>,
    /// Mean `KL(old || new)`.
    pub kl: Tensor<B, 1>,
}

/// Log-softmax over dim 1 with a reproducible gradient.
///
/// burn's `log` backward multiplies by `recip(x)`, which burn-ndarray's `simd` feature computes
/// with the approximate `rcp` instruction (12 bits) on the aligned middle of a buffer and exactly
/// on its ends: gradients then depend on where the allocator put the buffer, and a seeded run is
/// not bit-reproducible. Here `log` is applied to a detached sum and the gradient `1/S` comes
/// from an exact division: same value as `z - log(sum(exp(z)))`, exact, deterministic gradient.
pub fn log_softmax<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let max = x.clone().detach().max_dim(1);
    let z = x - max;
    let sum = z.clone().exp().sum_dim(1);
    let sum_const = sum.clone().detach();
    let inv = Tensor::ones_like(&sum_const).div(sum_const.clone());
    let scaled = sum * inv;
    // `scaled - detach(scaled)` is exactly 0 with derivative 1/S.
    let lse = sum_const.log() + (scaled.clone() - scaled.detach());
    z - lse
}

/// Compute the PPO loss.
pub fn ppo_loss<B: Backend>(inp: LossInputs<B>, c: &LossCoeffs) -> LossOutput<B> {
    let log_probs = log_softmax(inp.logits);
    let logp = log_probs.clone().gather(1, inp.actions).squeeze_dim::<1>(1);
    let ratio = (logp - inp.logp_old).exp();
    let surrogate = (ratio.clone() * inp.advantages.clone())
        .min_pair(ratio.clamp(1.0 - c.clip_param, 1.0 + c.clip_param) * inp.advantages);
    let probs = log_probs.clone().exp();
    let entropy = (probs * log_probs.clone()).sum_dim(1).squeeze_dim::<1>(1).neg();
    let old_probs = inp.old_log_probs.clone().exp();
    let kl = (old_probs * (inp.old_log_probs - log_probs)).sum_dim(1).squeeze_dim::<1>(1);
    let err2 = (inp.values - inp.value_targets).powi_scalar(2);
    let vf_clipped = if c.vf_clip_param.is_finite() {
        err2.clone().clamp_max(c.vf_clip_param)
    } else {
        err2.clone()
    };
    let per_sample = surrogate.clone().neg() + vf_clipped.clone().mul_scalar(c.vf_loss_coeff)
        - entropy.clone().mul_scalar(c.entropy_coeff);
    let kl_mean = kl.mean();
    let mut total = per_sample.mean();
    if let Some(k) = c.kl_coeff {
        total = total + kl_mean.clone().mul_scalar(k);
    }
    LossOutput {
        total,
        policy_loss: surrogate.mean().neg(),
        vf_loss: vf_clipped.mean(),
        vf_loss_unclipped: err2.mean(),
        entropy: entropy.mean(),
        kl: kl_mean,
    }
}

/// RLlib's adaptive KL rule: above twice the target x1.5, below half the target x0.5.
pub fn update_kl_coeff(kl_coeff: f64, kl: f64, kl_target: f64) -> f64 {
    if kl > 2.0 * kl_target {
        kl_coeff * 1.5
    } else if kl < 0.5 * kl_target {
        kl_coeff * 0.5
    } else {
        kl_coeff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use burn_ndarray::NdArray;

    type B = NdArray;

    fn t1(v: &[f32]) -> Tensor<B, 1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Default::default())
    }

    fn scalar(t: Tensor<B, 1>) -> f64 {
        f64::from(t.into_scalar())
    }

    /// Two samples, two actions; everything worked out by hand below.
    fn inputs() -> LossInputs<B> {
        let d = Default::default();
        // new logits: sample 0 uniform (p = 0.5, 0.5); sample 1 (ln 3, 0): p = 0.75, 0.25.
        let logits =
            Tensor::from_data(TensorData::new(vec![0.0f32, 0.0, 3f32.ln(), 0.0], [2, 2]), &d);
        // old policy: sample 0 p = (0.8, 0.2); sample 1 p = (0.5, 0.5).
        let old = [0.8f32.ln(), 0.2f32.ln(), 0.5f32.ln(), 0.5f32.ln()];
        LossInputs {
            logits,
            values: t1(&[1.0, 0.0]),
            actions: Tensor::from_data(TensorData::new(vec![0i64, 0], [2, 1]), &d),
            logp_old: t1(&[0.8f32.ln(), 0.5f32.ln()]),
            old_log_probs: Tensor::from_data(TensorData::new(old.to_vec(), [2, 2]), &d),
            advantages: t1(&[1.0, -1.0]),
            value_targets: t1(&[3.0, 5.0]),
        }
    }

    #[test]
    fn loss_terms_match_hand_computation() {
        let c = LossCoeffs {
            clip_param: 0.3,
            vf_clip_param: 10.0,
            vf_loss_coeff: 1.0,
            entropy_coeff: 0.1,
            kl_coeff: Some(0.2),
        };
        let out = ppo_loss(inputs(), &c);
        // ratios: 0.5/0.8 = 0.625 (A = 1), 0.75/0.5 = 1.5 (A = -1).
        // surrogate 0: min(0.625, clip(0.625)=0.7) = 0.625
        // surrogate 1: min(-1.5, -clip(1.5)=-1.3) = -1.5
        let policy_loss = -(0.625 - 1.5) / 2.0;
        // value errors^2: 4 and 25 -> clipped 4 and 10.
        let (vf, vf_raw) = (7.0, 14.5);
        // entropies: ln 2 and -(0.75 ln .75 + 0.25 ln .25).
        let h1 = -(0.75f64 * 0.75f64.ln() + 0.25 * 0.25f64.ln());
        let entropy = (2f64.ln() + h1) / 2.0;
        // KL(old||new): 0.8 ln(0.8/0.5) + 0.2 ln(0.2/0.5); 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25).
        let kl0 = 0.8 * (1.6f64).ln() + 0.2 * (0.4f64).ln();
        let kl1 = 0.5 * (0.5f64 / 0.75).ln() + 0.5 * 2f64.ln();
        let kl = (kl0 + kl1) / 2.0;
        let total = policy_loss + vf - 0.1 * entropy + 0.2 * kl;
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        close(scalar(out.policy_loss), policy_loss);
        close(scalar(out.vf_loss), vf);
        close(scalar(out.vf_loss_unclipped), vf_raw);
        close(scalar(out.entropy), entropy);
        close(scalar(out.kl), kl);
        close(scalar(out.total), total);
    }

    #[test]
    fn without_kl_and_clip_the_total_drops_those_terms() {
        let c = LossCoeffs {
            clip_param: 0.3,
            vf_clip_param: f64::INFINITY,
            vf_loss_coeff: 0.5,
            entropy_coeff: 0.0,
            kl_coeff: None,
        };
        let out = ppo_loss(inputs(), &c);
        let want = -(0.625 - 1.5) / 2.0 + 0.5 * 14.5;
        assert!((scalar(out.total) - want).abs() < 1e-5);
    }

    #[test]
    fn kl_coefficient_rule() {
        assert_eq!(update_kl_coeff(0.2, 0.03, 0.01), 0.2 * 1.5);
        assert_eq!(update_kl_coeff(0.2, 0.004, 0.01), 0.1);
        assert_eq!(update_kl_coeff(0.2, 0.01, 0.01), 0.2);
        assert_eq!(update_kl_coeff(0.2, 0.02, 0.01), 0.2);
        assert_eq!(update_kl_coeff(0.2, 0.005, 0.01), 0.2);
    }
}
