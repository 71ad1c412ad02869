//! burn-ndarray against burn-flex on the learner's work (needs the `flex` feature:
//! `cargo bench -p ppo-burn --features flex --bench backends -- --bench`, or
//! `cargo xtask bench backends`).
//!
//! On each backend, from one thread (a rayon pool of one, so our conv op runs alone too):
//! - a 1024^3 matrix multiply (GFLOP/s);
//! - one learner minibatch step (`PolicyLearner::step`, minibatch 128: forward and backward of
//!   actor and critic, the PPO loss, gradient norm, Adam) of the reference MLP and conv
//!   networks of both kinds;
//! - actor inference on 20 agents (the inner, non-autodiff module);
//! - the prey's last conv layer (64 -> 64 channels on 9 x 9, 128 samples), forward and backward
//!   with bias and ReLU, once as burn's own `conv2d` and once as our fused op.
//!
//! Without `--bench` a tiny configuration runs instead. Last line: `{"ndarray_matmul_gflops",
//! "flex_matmul_gflops", "<backend>_<net>_<kind>_step_ms", "<backend>_<net>_<kind>_infer_ms",
//! "<backend>_conv2d_layer_ms", "<backend>_fused_layer_ms"}` for backend in ndarray, flex.

mod common;

use std::collections::BTreeMap;

use burn::module::Param;
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor, TensorData};
use common::{best_ms, learner_step_ms, matmul_peak_on, synthetic_batch};
use marl_env::AgentKind;
use ppo_burn::conv::PpoBackend;
use ppo_burn::learner::PolicyLearner;
use ppo_burn::model::{ActorCritic, Conv, NetSpec};
use ppo_burn::{DefaultBackend, FlexBackend, Init, Network, PpoConfig, PpoError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What one run measures, by size.
struct Sizes {
    specs: Vec<(String, NetSpec)>,
    mb: usize,
    agents: usize,
    reps: usize,
    n_peak: usize,
    /// (samples, channels in, channels out, side) of the conv layer.
    layer: (usize, usize, usize, usize),
    /// A pool of one thread: everything runs in it, so our conv op runs alone too.
    pool: rayon::ThreadPool,
}

/// Milliseconds of one learner step and of actor inference for `spec` on backend `B`.
fn learner<B: PpoBackend>(spec: &NetSpec, s: &Sizes) -> Result<(f64, f64), PpoError> {
    let config = PpoConfig { network: spec.network, ..PpoConfig::default() };
    let device = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let model = ActorCritic::<B>::init(spec, Init::Torch, &mut rng, &device);
    let data = synthetic_batch(spec, s.mb, &mut rng);
    let mut learner = PolicyLearner::new("bench".to_string(), spec.clone(), model, &config);
    let step_ms = learner_step_ms(&mut learner, &data, &config, s.reps, &s.pool)?;
    let actor = learner.inference_actor()?;
    let obs = data.obs[..s.agents * spec.obs_len()].to_vec();
    let obs = Tensor::<B::InnerBackend, 2>::from_data(
        TensorData::new(obs, [s.agents, spec.obs_len()]),
        &device,
    );
    let infer_ms = best_ms(s.reps, || {
        let _ = actor.forward(spec, obs.clone()).into_data();
    });
    Ok((step_ms, infer_ms))
}

/// Milliseconds of forward and backward of one conv layer with bias and ReLU on backend `B`:
/// (burn's `conv2d`, our fused op).
fn conv_layer<B: PpoBackend>(s: &Sizes) -> (f64, f64) {
    let (n, c_in, c_out, r) = s.layer;
    let d = Default::default();
    let signed = Distribution::Uniform(-1.0, 1.0);
    let x = Tensor::<B, 4>::random([n, c_in, r, r], signed, &d);
    let g = Tensor::<B, 4>::random([n, c_out, r, r], Distribution::Default, &d);
    let weight = Tensor::<B, 4>::random([c_out, c_in, 3, 3], signed, &d);
    let bias = Tensor::<B, 1>::random([c_out], signed, &d);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let burn_ms = best_ms(s.reps, || {
        let (xa, wa) = (x.clone().require_grad(), weight.clone().require_grad());
        let y = relu(conv2d(xa, wa, Some(bias.clone().require_grad()), options.clone()));
        let _ = (y * g.clone()).sum().backward();
    });
    // Our layer reads channels-last activations and an im2col weight of the same size.
    let x_last = x.permute([0, 2, 3, 1]);
    let g_last = g.permute([0, 2, 3, 1]);
    let ours_ms = best_ms(s.reps, || {
        let conv = Conv::<B> {
            weight: Param::from_tensor(weight.clone().reshape([9 * c_in, c_out]).require_grad()),
            bias: Param::from_tensor(bias.clone().require_grad()),
        };
        let y = conv.forward(x_last.clone().require_grad());
        let _ = (y * g_last.clone()).sum().backward();
    });
    (burn_ms, ours_ms)
}

/// Every figure of backend `B`, keys prefixed with `name`.
fn measure<B: PpoBackend>(name: &str, s: &Sizes) -> Result<BTreeMap<String, f64>, PpoError> {
    let mut out = BTreeMap::new();
    let peak = matmul_peak_on::<B::InnerBackend>(s.n_peak, 5);
    println!("{name}: {n}^3 matmul {peak:.1} GFLOP/s", n = s.n_peak);
    out.insert(format!("{name}_matmul_gflops"), peak);
    for (label, spec) in &s.specs {
        let (step, infer) = learner::<B>(spec, s)?;
        println!(
            "{name}: {label} learner step (minibatch {}) {step:.2} ms, actor inference ({} agents) {infer:.3} ms",
            s.mb, s.agents
        );
        out.insert(format!("{name}_{label}_step_ms"), step);
        out.insert(format!("{name}_{label}_infer_ms"), infer);
    }
    let (burn_ms, ours_ms) = conv_layer::<B>(s);
    let (n, c_in, c_out, r) = s.layer;
    println!(
        "{name}: conv layer {c_in}->{c_out} on {r}x{r}, {n} samples, forward+backward: burn conv2d {burn_ms:.1} ms, our fused op {ours_ms:.1} ms"
    );
    out.insert(format!("{name}_conv2d_layer_ms"), burn_ms);
    out.insert(format!("{name}_fused_layer_ms"), ours_ms);
    Ok(out)
}

fn main() -> Result<(), PpoError> {
    let full = std::env::args().any(|a| a == "--bench");
    let kind = |name: &str, r: usize| AgentKind {
        name: name.to_string(),
        obs_shape: [4, r, r],
        n_actions: 9,
        max_agents: 50,
    };
    let (pred, prey) = (kind("type_1_predator", 7), kind("type_1_prey", 9));
    let spec = |network: Network, k: &AgentKind| {
        NetSpec::new(&PpoConfig { network, ..PpoConfig::default() }, k)
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().map_err(|e| {
        PpoError::Config { field: "learner_threads".to_string(), reason: e.to_string() }
    })?;
    let sizes = if full {
        Sizes {
            specs: vec![
                ("mlp_predator".into(), spec(Network::Mlp, &pred)),
                ("mlp_prey".into(), spec(Network::Mlp, &prey)),
                ("conv_predator".into(), spec(Network::Conv, &pred)),
                ("conv_prey".into(), spec(Network::Conv, &prey)),
            ],
            mb: 128,
            agents: 20,
            reps: 7,
            n_peak: 1024,
            layer: (128, 64, 64, 9),
            pool,
        }
    } else {
        println!("tiny run (pass --bench for the reference networks)");
        let small = |network| NetSpec { layers: vec![4, 8], ..spec(network, &kind("p", 5)) };
        Sizes {
            specs: vec![
                ("mlp_p".into(), small(Network::Mlp)),
                ("conv_p".into(), small(Network::Conv)),
            ],
            mb: 8,
            agents: 3,
            reps: 1,
            n_peak: 128,
            layer: (2, 3, 4, 5),
            pool,
        }
    };
    let mut all = sizes.pool.install(|| measure::<DefaultBackend>("ndarray", &sizes))?;
    all.extend(sizes.pool.install(|| measure::<FlexBackend>("flex", &sizes))?);
    for (label, _) in &sizes.specs {
        let (a, b) =
            (all[&format!("ndarray_{label}_step_ms")], all[&format!("flex_{label}_step_ms")]);
        println!("{label}: flex step takes {:.2}x the time of ndarray's", b / a);
    }
    let fields: Vec<String> = all.iter().map(|(k, v)| format!("\"{k}\": {v:.3}")).collect();
    println!("{{{}}}", fields.join(", "));
    Ok(())
}
