//! The networks: one [`ActorCritic`] per policy, an actor and a critic that each own their
//! encoder (conv or MLP, as the reference) and a linear head.
//!
//! Weights are initialised on the host from a seeded RNG ([`ActorCritic::init`]), never from
//! the backend's process-wide RNG, so concurrent trials cannot disturb each other.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use marl_env::AgentKind;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::config::{Activation, Init, Network, PpoConfig};
use crate::conv::ConvBackend;
use crate::dense::DenseAct;

/// The static shape of one policy's networks (what the module tensors do not say).
#[derive(Debug, Clone, PartialEq)]
pub struct NetSpec {
    /// Conv or MLP.
    pub network: Network,
    /// MLP hidden activation.
    pub activation: Activation,
    /// Observation shape, channels first.
    pub obs_shape: [usize; 3],
    /// Number of discrete actions.
    pub n_actions: usize,
    /// Hidden sizes (MLP) or channels (conv).
    pub layers: Vec<usize>,
}

impl NetSpec {
    /// The spec of the policy of `kind` under `config`.
    pub fn new(config: &PpoConfig, kind: &AgentKind) -> Self {
        let layers = match config.network {
            Network::Mlp => config.mlp_hiddens_for(&kind.name).to_vec(),
            Network::Conv => config.conv_channels_for(&kind.name).to_vec(),
        };
        NetSpec {
            network: config.network,
            activation: config.activation,
            obs_shape: kind.obs_shape,
            n_actions: kind.n_actions,
            layers,
        }
    }

    /// Values of one flattened observation.
    pub fn obs_len(&self) -> usize {
        self.obs_shape.iter().product()
    }

    /// Width of the encoder's output.
    pub fn features(&self) -> usize {
        match self.network {
            Network::Mlp => self.layers.last().copied().unwrap_or(self.obs_len()),
            Network::Conv => {
                let c = self.layers.last().copied().unwrap_or(self.obs_shape[0]);
                c * self.obs_shape[1] * self.obs_shape[2]
            }
        }
    }

    /// Floating-point operations (2 per multiply-add) of one forward pass of one sample through
    /// the encoder.
    pub fn encoder_flops(&self) -> u64 {
        let mut flops = 0u64;
        match self.network {
            Network::Mlp => {
                let mut d_in = self.obs_len();
                for &h in &self.layers {
                    flops += 2 * (d_in * h) as u64;
                    d_in = h;
                }
            }
            Network::Conv => {
                let [mut c_in, h, w] = self.obs_shape;
                for &c in &self.layers {
                    flops += 2 * (h * w * c * c_in * 9) as u64;
                    c_in = c;
                }
            }
        }
        flops
    }

    /// Forward FLOPs of one sample through actor and critic (both encoders and heads).
    pub fn forward_flops(&self) -> u64 {
        2 * self.encoder_flops() + 2 * (self.features() * (self.n_actions + 1)) as u64
    }
}

/// A linear layer `x W + b` with `W` of shape `[d_in, d_out]`.
#[derive(Module, Debug)]
pub struct Dense<B: Backend> {
    /// `[d_in, d_out]`.
    pub weight: Param<Tensor<B, 2>>,
    /// `[d_out]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: ConvBackend> Dense<B> {
    /// `act(x W + b)`: [`ConvBackend::dense`], one operation with the bias and the activation
    /// fused and its own backward pass (see [`crate::dense`]).
    fn forward(&self, x: Tensor<B, 2>, act: DenseAct) -> Tensor<B, 2> {
        let out = B::dense(
            x.into_primitive().tensor(),
            self.weight.val().into_primitive().tensor(),
            self.bias.val().into_primitive().tensor(),
            act,
        );
        Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(out))
    }
}

/// A 3x3, stride-1, "same"-padded convolution with ReLU on channels-last activations
/// `[n, h, w, c]`: [`ConvBackend::conv3x3_relu`], one operation with bias and ReLU fused and
/// its own backward pass (see [`crate::conv`]).
#[derive(Module, Debug)]
pub struct Conv<B: Backend> {
    /// `[9 * c_in, c_out]`; row `(dy * 3 + dx) * c_in + c` holds torch's `weight[:, c, dy, dx]`.
    pub weight: Param<Tensor<B, 2>>,
    /// `[c_out]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: ConvBackend> Conv<B> {
    /// `relu(conv(x) + bias)`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let out = B::conv3x3_relu(
            x.into_primitive().tensor(),
            self.weight.val().into_primitive().tensor(),
            self.bias.val().into_primitive().tensor(),
        );
        Tensor::<B, 4>::from_primitive(TensorPrimitive::Float(out))
    }
}

/// An encoder and a linear output layer: the actor (logits) or the critic (one value).
#[derive(Module, Debug)]
pub struct Head<B: Backend> {
    /// Conv layers (conv network) or nothing.
    pub convs: Vec<Conv<B>>,
    /// Hidden layers (MLP) or nothing.
    pub hidden: Vec<Dense<B>>,
    /// The linear output layer.
    pub out: Dense<B>,
}

impl<B: ConvBackend> Head<B> {
    /// `obs` is `[n, obs_len]` (flattened, channels first); returns `[n, d_out]`.
    pub fn forward(&self, spec: &NetSpec, obs: Tensor<B, 2>) -> Tensor<B, 2> {
        let features = match spec.network {
            Network::Mlp => {
                let act = match spec.activation {
                    Activation::Tanh => DenseAct::Tanh,
                    Activation::Relu => DenseAct::Relu,
                };
                let mut h = obs;
                for layer in &self.hidden {
                    h = layer.forward(h, act);
                }
                h
            }
            Network::Conv => {
                // Channels first in, channels last inside; flattened as (h, w, c).
                let [n, _] = obs.dims();
                let [c, hh, ww] = spec.obs_shape;
                let mut h = obs.reshape([n, c, hh, ww]).permute([0, 2, 3, 1]);
                for conv in &self.convs {
                    h = conv.forward(h);
                }
                h.flatten::<2>(1, 3)
            }
        };
        self.out.forward(features, DenseAct::Identity)
    }
}

/// One policy's networks: separate actor and critic, as the reference builds them.
#[derive(Module, Debug)]
pub struct ActorCritic<B: Backend> {
    /// Encoder + policy head (`n_actions` logits).
    pub actor: Head<B>,
    /// Encoder + value head.
    pub critic: Head<B>,
}

impl<B: Backend> ActorCritic<B> {
    /// Build with weights drawn from `rng` (torch's default or orthogonal, per `init`).
    pub fn init(spec: &NetSpec, init: Init, rng: &mut ChaCha8Rng, device: &B::Device) -> Self {
        let actor = init_head(spec, spec.n_actions, init, 0.01, rng, device);
        let critic = init_head(spec, 1, init, 1.0, rng, device);
        ActorCritic { actor, critic }
    }
}

fn init_head<B: Backend>(
    spec: &NetSpec,
    d_out: usize,
    init: Init,
    out_gain: f64,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> Head<B> {
    let hidden_gain = 2f64.sqrt();
    let mut convs = Vec::new();
    let mut hidden = Vec::new();
    match spec.network {
        Network::Mlp => {
            let mut d_in = spec.obs_len();
            for &h in &spec.layers {
                hidden.push(dense(d_in, h, init, hidden_gain, rng, device));
                d_in = h;
            }
        }
        Network::Conv => {
            let mut c_in = spec.obs_shape[0];
            for &c in &spec.layers {
                convs.push(conv(c_in, c, init, hidden_gain, rng, device));
                c_in = c;
            }
        }
    }
    let out = dense(spec.features(), d_out, init, out_gain, rng, device);
    Head { convs, hidden, out }
}

fn dense<B: Backend>(
    d_in: usize,
    d_out: usize,
    init: Init,
    gain: f64,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> Dense<B> {
    // `draw` gives torch's [d_out, d_in] layout; burn's linear wants [d_in, d_out].
    let (w, b) = draw(d_out, d_in, init, gain, rng);
    let mut wt = vec![0f32; w.len()];
    for o in 0..d_out {
        for i in 0..d_in {
            wt[i * d_out + o] = w[o * d_in + i];
        }
    }
    Dense {
        weight: param(TensorData::new(wt, [d_in, d_out]), device),
        bias: param(TensorData::new(b, [d_out]), device),
    }
}

fn conv<B: Backend>(
    c_in: usize,
    c_out: usize,
    init: Init,
    gain: f64,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> Conv<B> {
    // Drawn in torch's [c_out, c_in, 3, 3] layout, stored as [(dy * 3 + dx) * c_in + c, c_out].
    let (w, b) = draw(c_out, c_in * 9, init, gain, rng);
    Conv {
        weight: param(TensorData::new(torch_to_im2col(&w, c_in, c_out), [9 * c_in, c_out]), device),
        bias: param(TensorData::new(b, [c_out]), device),
    }
}

/// Reorder conv weights from torch's `[c_out, c_in, 3, 3]` to `[(dy * 3 + dx) * c_in + c, c_out]`.
pub fn torch_to_im2col(w: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    for o in 0..c_out {
        for c in 0..c_in {
            for k in 0..9 {
                out[(k * c_in + c) * c_out + o] = w[(o * c_in + c) * 9 + k];
            }
        }
    }
    out
}

fn param<B: Backend, const D: usize>(data: TensorData, device: &B::Device) -> Param<Tensor<B, D>> {
    Param::from_tensor(Tensor::from_data(data, device))
}

/// Weights `[rows, fan_in]` (row-major, torch layout) and biases `[rows]`.
fn draw(
    rows: usize,
    fan_in: usize,
    init: Init,
    gain: f64,
    rng: &mut ChaCha8Rng,
) -> (Vec<f32>, Vec<f32>) {
    match init {
        Init::Torch => {
            let bound = 1.0 / (fan_in as f64).sqrt();
            let mut u = || (rng.random::<f64>() * 2.0 - 1.0) * bound;
            let w = (0..rows * fan_in).map(|_| u() as f32).collect();
            let b = (0..rows).map(|_| u() as f32).collect();
            (w, b)
        }
        Init::Orthogonal => (orthogonal(rows, fan_in, gain, rng), vec![0.0; rows]),
    }
}

/// A `rows x cols` matrix (row-major) with orthonormal rows or columns (whichever are fewer),
/// times `gain`: torch's `orthogonal_` by Gram-Schmidt on a Gaussian matrix.
pub(crate) fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    // Work on k vectors of length m, k <= m: the columns of the tall orientation.
    let (m, k) = if rows >= cols { (rows, cols) } else { (cols, rows) };
    let mut vecs: Vec<Vec<f64>> =
        (0..k).map(|_| (0..m).map(|_| standard_normal(rng)).collect()).collect();
    for j in 0..k {
        for i in 0..j {
            let (done, rest) = vecs.split_at_mut(j);
            let dot: f64 = done[i].iter().zip(&rest[0]).map(|(a, b)| a * b).sum();
            for (x, q) in rest[0].iter_mut().zip(&done[i]) {
                *x -= dot * q;
            }
        }
        let norm = vecs[j].iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        for x in &mut vecs[j] {
            *x /= norm;
        }
    }
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            // Tall: element (r, c) is vector c's entry r; wide: vector r's entry c.
            let v = if rows >= cols { vecs[c][r] } else { vecs[r][c] };
            out[r * cols + c] = (v * gain) as f32;
        }
    }
    out
}

fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller; 1 - u keeps the logarithm finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::ElementConversion;
    use burn::tensor::activation::{relu, tanh};
    use burn_ndarray::NdArray;
    use rand::SeedableRng;

    fn kind(name: &str, r: usize) -> AgentKind {
        AgentKind { name: name.to_string(), obs_shape: [4, r, r], n_actions: 9, max_agents: 50 }
    }

    #[test]
    fn conv_parameter_counts_match_the_channels_first_reading() {
        let config = PpoConfig { network: Network::Conv, ..PpoConfig::default() };
        let device = Default::default();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let pred = NetSpec::new(&config, &kind("type_1_predator", 7));
        let m = ActorCritic::<NdArray>::init(&pred, Init::Torch, &mut rng, &device);
        // Two encoders 4->16->32->64 (23,728 each), policy head 3136*9+9, value head 3137.
        assert_eq!(m.num_params(), 2 * 23_728 + 28_233 + 3_137);
        let prey = NetSpec::new(&config, &kind("type_1_prey", 9));
        let m = ActorCritic::<NdArray>::init(&prey, Init::Torch, &mut rng, &device);
        let enc = 592 + 4_640 + 18_496 + 36_928;
        assert_eq!(m.num_params(), 2 * enc + (5_184 * 9 + 9) + 5_185);
    }

    #[test]
    fn conv_layer_equals_burns_conv2d_with_relu() {
        use burn::tensor::Distribution;
        use burn::tensor::module::conv2d;
        use burn::tensor::ops::ConvOptions;
        let d = Default::default();
        let (n, c_in, c_out, h, w) = (2, 3, 4, 5, 6);
        let x = Tensor::<NdArray, 4>::random([n, c_in, h, w], Distribution::Default, &d);
        let wt = Tensor::<NdArray, 4>::random([c_out, c_in, 3, 3], Distribution::Default, &d);
        let b = Tensor::<NdArray, 1>::random([c_out], Distribution::Default, &d) - 0.5;
        let want = relu(conv2d(
            x.clone(),
            wt.clone(),
            Some(b.clone()),
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        ));
        let flat: Vec<f32> = wt.into_data().into_vec().unwrap();
        let conv = Conv {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(torch_to_im2col(&flat, c_in, c_out), [9 * c_in, c_out]),
                &d,
            )),
            bias: Param::from_tensor(b),
        };
        let got = conv.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2]);
        let (got, want): (Vec<f32>, Vec<f32>) =
            (got.into_data().into_vec().unwrap(), want.into_data().into_vec().unwrap());
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn conv_layer_gradients_equal_burns_conv2d_with_relu() {
        use burn::backend::Autodiff;
        use burn::tensor::Distribution;
        use burn::tensor::module::conv2d;
        use burn::tensor::ops::ConvOptions;
        type A = Autodiff<NdArray>;
        let d = Default::default();
        let (n, c_in, c_out, h, w) = (2, 3, 4, 4, 3);
        // Signed values, so that the ReLU cuts part of the outputs and its mask matters.
        let signed = Distribution::Uniform(-1.0, 1.0);
        let x = Tensor::<A, 4>::random([n, c_in, h, w], signed, &d);
        let wt = Tensor::<A, 4>::random([c_out, c_in, 3, 3], signed, &d);
        let b = Tensor::<A, 1>::random([c_out], signed, &d);
        // A non-uniform upstream gradient, so every output position matters differently.
        let g = Tensor::<A, 4>::random([n, c_out, h, w], Distribution::Default, &d);
        let (xa, wa, ba) =
            (x.clone().require_grad(), wt.clone().require_grad(), b.clone().require_grad());
        let want = relu(conv2d(
            xa.clone(),
            wa.clone(),
            Some(ba.clone()),
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        ));
        let zeros: usize =
            want.clone().equal_elem(0.0).int().sum().into_scalar().elem::<i64>() as usize;
        assert!(zeros > 0 && zeros < n * c_out * h * w, "{zeros} outputs cut by the ReLU");
        let grads = (want * g.clone()).sum().backward();
        let want_x = xa.grad(&grads).unwrap();
        let (want_w, want_b) = (wa.grad(&grads).unwrap(), ba.grad(&grads).unwrap());
        let flat: Vec<f32> = wt.into_data().into_vec().unwrap();
        let conv = Conv::<A> {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(torch_to_im2col(&flat, c_in, c_out), [9 * c_in, c_out]),
                &d,
            )),
            bias: Param::from_tensor(b),
        };
        let xb = x.require_grad();
        let got = conv.forward(xb.clone().permute([0, 2, 3, 1])).permute([0, 3, 1, 2]);
        let grads = (got * g).sum().backward();
        let got_x = xb.grad(&grads).unwrap();
        let got_w = conv.weight.val().grad(&grads).unwrap();
        let got_b = conv.bias.val().grad(&grads).unwrap();
        let want_w: Vec<f32> = want_w.into_data().into_vec().unwrap();
        let want_w = torch_to_im2col(&want_w, c_in, c_out);
        let vec = |t: Tensor<NdArray, 4>| -> Vec<f32> { t.into_data().into_vec().unwrap() };
        let got_w: Vec<f32> = got_w.into_data().into_vec().unwrap();
        let (got_x, want_x) = (vec(got_x), vec(want_x));
        let got_b: Vec<f32> = got_b.into_data().into_vec().unwrap();
        let want_b: Vec<f32> = want_b.into_data().into_vec().unwrap();
        let pairs = got_w.iter().zip(&want_w).chain(got_x.iter().zip(&want_x));
        for (a, b) in pairs.chain(got_b.iter().zip(&want_b)) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        assert_eq!((got_w.len(), got_x.len()), (9 * c_in * c_out, n * c_in * h * w));
    }

    #[test]
    fn dense_layer_values_and_gradients_equal_burns_linear_with_each_activation() {
        use burn::backend::Autodiff;
        use burn::tensor::Distribution;
        use burn::tensor::module::linear;
        type A = Autodiff<NdArray>;
        let d = Default::default();
        let (n, d_in, d_out) = (crate::dense::ROWS + 3, 5, crate::dense::COLS + 2);
        let signed = Distribution::Uniform(-1.0, 1.0);
        let x = Tensor::<A, 2>::random([n, d_in], signed, &d);
        let w = Tensor::<A, 2>::random([d_in, d_out], signed, &d);
        let b = Tensor::<A, 1>::random([d_out], signed, &d);
        let g = Tensor::<A, 2>::random([n, d_out], Distribution::Default, &d);
        let vec = |t: Tensor<NdArray, 2>| -> Vec<f32> { t.into_data().into_vec().unwrap() };
        let vec1 = |t: Tensor<NdArray, 1>| -> Vec<f32> { t.into_data().into_vec().unwrap() };
        for act in [DenseAct::Identity, DenseAct::Tanh, DenseAct::Relu] {
            let (xa, wa, ba) =
                (x.clone().require_grad(), w.clone().require_grad(), b.clone().require_grad());
            let lin = linear(xa.clone(), wa.clone(), Some(ba.clone()));
            let want = match act {
                DenseAct::Identity => lin,
                DenseAct::Tanh => tanh(lin),
                DenseAct::Relu => relu(lin),
            };
            let grads = (want.clone() * g.clone()).sum().backward();
            let want_all = [
                vec(want.inner()),
                vec(xa.grad(&grads).unwrap()),
                vec(wa.grad(&grads).unwrap()),
                vec1(ba.grad(&grads).unwrap()),
            ];
            let dense = Dense::<A> {
                weight: Param::from_tensor(w.clone()),
                bias: Param::from_tensor(b.clone()),
            };
            let xb = x.clone().require_grad();
            let got = dense.forward(xb.clone(), act);
            let grads = (got.clone() * g.clone()).sum().backward();
            let got_all = [
                vec(got.inner()),
                vec(xb.grad(&grads).unwrap()),
                vec(dense.weight.val().grad(&grads).unwrap()),
                vec1(dense.bias.val().grad(&grads).unwrap()),
            ];
            for (what, (got, want)) in
                ["output", "dx", "dw", "db"].iter().zip(got_all.iter().zip(&want_all))
            {
                assert_eq!(got.len(), want.len(), "{act:?} {what}");
                for (a, b) in got.iter().zip(want) {
                    assert!((a - b).abs() < 1e-4, "{act:?} {what}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn orthogonal_rows_are_orthonormal_times_gain() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (rows, cols) = (4, 10);
        let w = orthogonal(rows, cols, 2.0, &mut rng);
        for a in 0..rows {
            for b in 0..rows {
                let dot: f32 = (0..cols).map(|c| w[a * cols + c] * w[b * cols + c]).sum();
                let want = if a == b { 4.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-4, "{a} {b} {dot}");
            }
        }
    }

    #[test]
    fn forward_shapes_and_same_seed_same_weights() {
        let config =
            PpoConfig { network: Network::Conv, conv_channels: vec![3], ..PpoConfig::default() };
        let spec = NetSpec::new(&config, &kind("k", 5));
        let device = Default::default();
        let a = ActorCritic::<NdArray>::init(
            &spec,
            Init::Torch,
            &mut ChaCha8Rng::seed_from_u64(1),
            &device,
        );
        let b = ActorCritic::<NdArray>::init(
            &spec,
            Init::Torch,
            &mut ChaCha8Rng::seed_from_u64(1),
            &device,
        );
        let obs = Tensor::<NdArray, 2>::ones([2, 100], &device);
        let la = a.actor.forward(&spec, obs.clone()).into_data();
        let lb = b.actor.forward(&spec, obs.clone()).into_data();
        assert_eq!(la.shape.to_vec(), vec![2, 9]);
        assert_eq!(la, lb);
        assert_eq!(a.critic.forward(&spec, obs).dims(), [2, 1]);
    }
}
