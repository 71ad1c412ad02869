//! The MLP's layers, `act(x · W + b)`, as one burn operation with its own backward pass (as the
//! conv layers are, [`crate::conv`]).
//!
//! Layout: `x: [n, d_in]`, `weight: [d_in, d_out]`, `bias: [d_out]`, all row-major; the output
//! is `[n, d_out]`. The activation is `tanh`, ReLU or none (the linear heads).
//!
//! Why not burn's ops: `linear` + `tanh` under autodiff is a matrix multiply, a broadcast add
//! and an element-wise pass forward, each with its own tensor kept for the backward pass; the
//! backward pass copies each transposed operand into standard layout before multiplying and
//! builds `1 - tanh²` from several element-wise passes. Here each pass is matrix multiplies with
//! strides (ndarray's `general_mat_mul`, i.e. matrixmultiply's sgemm, which reads a transposed
//! operand in place) and the bias and activation fused in:
//!
//! - forward: `out = act(x · W + b)`;
//! - backward: `g' = g ⊙ act'(out)` (`1 - out²` for tanh, `[out > 0]` for ReLU); bias gradient
//!   `Σ g'` over rows; weight gradient `dW = xᵀ · g'`; input gradient `dx = g' · Wᵀ`.
//!
//! Threads: inside a rayon pool (the learner's) the work is spread over its threads: the
//! forward pass and the input gradient by blocks of [`ROWS`] rows, the weight and bias gradients
//! by blocks of [`COLS`] output columns. None of those cuts splits a sum, and the cut does not
//! depend on the number of threads, so the numbers are the same on 1 or 8 threads. Called from
//! any other thread (env runners, tests) the kernels run on it alone.

use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::ops::FloatTensor;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use crate::conv::{
    ConvBackend, dims, for_each_block, from_host, in_pool, register_weight_and_bias,
};

/// Rows per block of the forward pass and of the input gradient.
pub const ROWS: usize = 32;

/// Output columns per block of the weight and bias gradients.
pub const COLS: usize = 64;

/// The activation after a dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenseAct {
    /// None (the linear output layers).
    Identity,
    /// `tanh`.
    Tanh,
    /// `max(x, 0)`, keeping NaN.
    Relu,
}

/// `act(x · weight + bias)` on the host for row-major `x: [n, d_in]`, `weight: [d_in, d_out]`
/// and `bias: [d_out]`.
pub fn forward(
    x: &[f32],
    [n, d_in]: [usize; 2],
    weight: &[f32],
    bias: &[f32],
    d_out: usize,
    act: DenseAct,
) -> Vec<f32> {
    let mut out = vec![0f32; n * d_out];
    let w = view(weight, d_in, d_out);
    let block = |i: usize, out: &mut [f32]| {
        let rows = out.len() / d_out;
        let start = i * ROWS;
        let xb = view(&x[start * d_in..(start + rows) * d_in], rows, d_in);
        let mut c = view_mut(out, rows, d_out);
        general_mat_mul(1.0, &xb, &w, 0.0, &mut c);
        for row in out.chunks_exact_mut(d_out) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v = apply(act, *v + b);
            }
        }
    };
    for_each_block(&mut out, ROWS * d_out, block);
    out
}

fn apply(act: DenseAct, v: f32) -> f32 {
    match act {
        DenseAct::Identity => v,
        DenseAct::Tanh => tanh(v),
        // `v <= 0` is false for NaN, which stays.
        DenseAct::Relu => {
            if v <= 0.0 {
                0.0
            } else {
                v
            }
        }
    }
}

/// `tanh` in `f32` as a rational function: `x · p(x²) / q(x²)` with the input clamped to
/// `±7.905311`, where `tanh` is 1 to within `f32` precision (the minimax fit that Eigen and XLA
/// use for `f32`; within 1e-6 of the exact value everywhere, tested). Branch-free, so a loop of
/// it vectorises; libm's `tanhf` (through `expm1f`) took about a tenth of an MLP learner step's
/// time. NaN stays NaN.
pub fn tanh(x: f32) -> f32 {
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16_f32;
    for c in
        [2.000_188e-13, -8.604_672e-11, 5.122_297e-8, 1.485_722_4e-5, 6.372_619e-4, 4.893_524_6e-3]
    {
        p = p * x2 + c;
    }
    let mut q = 1.198_258_4e-6_f32;
    for c in [1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3] {
        q = q * x2 + c;
    }
    x * p / q
}

/// The gradient behind the activation, from the gradient `g` at the output and the output.
pub fn act_grad(g: &[f32], out: &[f32], act: DenseAct) -> Vec<f32> {
    match act {
        DenseAct::Identity => g.to_vec(),
        DenseAct::Tanh => g.iter().zip(out).map(|(g, o)| g * (1.0 - o * o)).collect(),
        DenseAct::Relu => g.iter().zip(out).map(|(&g, &o)| if o > 0.0 { g } else { 0.0 }).collect(),
    }
}

/// The weight gradient `xᵀ · g` (`[d_in, d_out]`) and the bias gradient (the column sums of
/// `g`) from `x: [n, d_in]` and the gradient `g: [n, d_out]` behind the activation.
pub fn grad_weight(
    x: &[f32],
    [n, d_in]: [usize; 2],
    g: &[f32],
    d_out: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut dw = vec![0f32; d_in * d_out];
    let mut db = vec![0f32; d_out];
    let xt = view(x, n, d_in).reversed_axes();
    let gv = view(g, n, d_out);
    {
        let mut dw_view = view_mut(&mut dw, d_in, d_out);
        let blocks: Vec<(usize, ArrayViewMut2<'_, f32>, &mut [f32])> = dw_view
            .axis_chunks_iter_mut(Axis(1), COLS)
            .zip(db.chunks_mut(COLS))
            .enumerate()
            .map(|(i, (w, b))| (i, w, b))
            .collect();
        let block = |(i, mut w, b): (usize, ArrayViewMut2<'_, f32>, &mut [f32])| {
            let cols = b.len();
            let gb = gv.slice(ndarray::s![.., i * COLS..i * COLS + cols]);
            general_mat_mul(1.0, &xt, &gb, 0.0, &mut w);
            for row in gb.rows() {
                for (d, v) in b.iter_mut().zip(row) {
                    *d += v;
                }
            }
        };
        if in_pool() {
            blocks.into_par_iter().for_each(block);
        } else {
            blocks.into_iter().for_each(block);
        }
    }
    (dw, db)
}

/// The input gradient `g · weightᵀ` (`[n, d_in]`) from the gradient `g: [n, d_out]` behind the
/// activation and `weight: [d_in, d_out]`.
pub fn grad_input(g: &[f32], n: usize, weight: &[f32], [d_in, d_out]: [usize; 2]) -> Vec<f32> {
    let mut dx = vec![0f32; n * d_in];
    let wt = view(weight, d_in, d_out).reversed_axes();
    let block = |i: usize, out: &mut [f32]| {
        let rows = out.len() / d_in;
        let start = i * ROWS;
        let gb = view(&g[start * d_out..(start + rows) * d_out], rows, d_out);
        let mut c = view_mut(out, rows, d_in);
        general_mat_mul(1.0, &gb, &wt, 0.0, &mut c);
    };
    for_each_block(&mut dx, ROWS * d_in, block);
    dx
}

/// A row-major `[rows, cols]` view of `values`. The shapes come from this module's own
/// arithmetic; a mismatch is a bug here.
fn view(values: &[f32], rows: usize, cols: usize) -> ArrayView2<'_, f32> {
    match ArrayView2::from_shape((rows, cols), values) {
        Ok(v) => v,
        Err(_) => panic!("dense: {} values are not [{rows}, {cols}]", values.len()),
    }
}

fn view_mut(values: &mut [f32], rows: usize, cols: usize) -> ArrayViewMut2<'_, f32> {
    let len = values.len();
    match ArrayViewMut2::from_shape((rows, cols), values) {
        Ok(v) => v,
        Err(_) => panic!("dense: {len} values are not [{rows}, {cols}]"),
    }
}

/// The dense layer on a backend: the host kernels above through [`ConvBackend::read`].
pub fn host_dense<B: ConvBackend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    act: DenseAct,
) -> FloatTensor<B> {
    let device = B::float_device(&weight);
    let [n, d_in] = dims::<B, 2>(&x);
    let [_, d_out] = dims::<B, 2>(&weight);
    let out = B::read(&x, |xs| {
        B::read(&weight, |ws| B::read(&bias, |bs| forward(xs, [n, d_in], ws, bs, d_out, act)))
    });
    from_host::<B, 2>(out, [n, d_out], &device)
}

/// The dense layer under autodiff, with the backward pass of the module docs.
pub fn autodiff_dense<B: ConvBackend, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    bias: FloatTensor<Autodiff<B, C>>,
    act: DenseAct,
) -> FloatTensor<Autodiff<B, C>> {
    #[derive(Debug)]
    struct DenseBackward;

    impl<B: ConvBackend> Backward<B, 3> for DenseBackward {
        /// The input, the weight, the layer's output and its activation.
        type State = (NodeId, NodeId, FloatTensor<B>, DenseAct);

        fn backward(
            self,
            ops: Ops<Self::State, 3>,
            grads: &mut Gradients,
            checkpointer: &mut Checkpointer,
        ) {
            let [node_x, node_weight, node_bias] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let (x_state, weight_state, out, act) = ops.state;
            let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
            let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
            let device = B::float_device(&grad);
            let [n, d_out] = dims::<B, 2>(&grad);
            let [_, d_in] = dims::<B, 2>(&x);
            let g = B::read(&grad, |g| B::read(&out, |o| act_grad(g, o, act)));
            if let Some(node) = node_x {
                let dx = B::read(&weight, |ws| grad_input(&g, n, ws, [d_in, d_out]));
                grads.register::<B>(node.id, from_host::<B, 2>(dx, [n, d_in], &device));
            }
            let nodes = [node_weight.map(|n| n.id), node_bias.map(|n| n.id)];
            register_weight_and_bias::<B>(grads, nodes, [d_in, d_out], &device, || {
                B::read(&x, |xs| grad_weight(xs, [n, d_in], &g, d_out))
            });
        }
    }

    match DenseBackward
        .prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let weight_state = prep.checkpoint(&weight);
            let out = B::dense(x.primitive, weight.primitive, bias.primitive, act);
            prep.finish((x_state, weight_state, out.clone(), act), out)
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(B::dense(x.primitive, weight.primitive, bias.primitive, act))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..len).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
    }

    /// `x · w + b` by its definition, in f64.
    fn direct(x: &[f32], [n, d_in]: [usize; 2], w: &[f32], b: &[f32], d_out: usize) -> Vec<f64> {
        let mut out = vec![0f64; n * d_out];
        for r in 0..n {
            for o in 0..d_out {
                let mut s = f64::from(b[o]);
                for i in 0..d_in {
                    s += f64::from(x[r * d_in + i]) * f64::from(w[i * d_out + o]);
                }
                out[r * d_out + o] = s;
            }
        }
        out
    }

    // Shapes that span more than one block of rows and of columns, with ragged last blocks.
    const N: usize = ROWS * 2 + 5;
    const D_IN: usize = 19;
    const D_OUT: usize = COLS + 7;

    #[test]
    fn tanh_is_within_a_millionth_of_the_exact_value_and_never_above_one() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4; // -20 ..= 20
            let got = tanh(x);
            assert!(got.abs() <= 1.0, "tanh({x}) = {got}");
            assert_eq!(got.signum(), x.signum(), "tanh({x}) = {got}");
            worst = worst.max((f64::from(got) - f64::from(x).tanh()).abs());
        }
        assert!(worst < 1e-6, "largest error {worst}");
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!((tanh(f32::INFINITY), tanh(f32::NEG_INFINITY)), (tanh(20.0), tanh(-20.0)));
    }

    #[test]
    fn forward_matches_the_definition_for_each_activation() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (x, w, b) =
            (random(N * D_IN, &mut rng), random(D_IN * D_OUT, &mut rng), random(D_OUT, &mut rng));
        let want = direct(&x, [N, D_IN], &w, &b, D_OUT);
        for act in [DenseAct::Identity, DenseAct::Tanh, DenseAct::Relu] {
            let got = forward(&x, [N, D_IN], &w, &b, D_OUT, act);
            for (g, s) in got.iter().zip(&want) {
                let s = match act {
                    DenseAct::Identity => *s,
                    DenseAct::Tanh => s.tanh(),
                    DenseAct::Relu => s.max(0.0),
                };
                assert!((f64::from(*g) - s).abs() < 1e-5, "{act:?}: {g} against {s}");
            }
        }
        let nan = forward(&[f32::NAN], [1, 1], &[1.0], &[0.0], 1, DenseAct::Relu);
        assert!(nan[0].is_nan(), "ReLU keeps NaN");
    }

    #[test]
    fn gradients_match_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (x, w, g) = (
            random(N * D_IN, &mut rng),
            random(D_IN * D_OUT, &mut rng),
            random(N * D_OUT, &mut rng),
        );
        let (dw, db) = grad_weight(&x, [N, D_IN], &g, D_OUT);
        let dx = grad_input(&g, N, &w, [D_IN, D_OUT]);
        for i in 0..D_IN {
            for o in 0..D_OUT {
                let s: f64 =
                    (0..N).map(|r| f64::from(x[r * D_IN + i]) * f64::from(g[r * D_OUT + o])).sum();
                assert!((f64::from(dw[i * D_OUT + o]) - s).abs() < 1e-4);
            }
        }
        for o in 0..D_OUT {
            let s: f64 = (0..N).map(|r| f64::from(g[r * D_OUT + o])).sum();
            assert!((f64::from(db[o]) - s).abs() < 1e-4);
        }
        for r in 0..N {
            for i in 0..D_IN {
                let s: f64 = (0..D_OUT)
                    .map(|o| f64::from(g[r * D_OUT + o]) * f64::from(w[i * D_OUT + o]))
                    .sum();
                assert!((f64::from(dx[r * D_IN + i]) - s).abs() < 1e-4);
            }
        }
        let out = [0.5f32, -0.2, 0.0];
        assert_eq!(act_grad(&[1.0; 3], &out, DenseAct::Tanh), vec![0.75, 1.0 - 0.04f32, 1.0]);
        assert_eq!(act_grad(&[1.0; 3], &out, DenseAct::Relu), vec![1.0, 0.0, 0.0]);
    }

    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (x, w, b, g) = (
            random(N * D_IN, &mut rng),
            random(D_IN * D_OUT, &mut rng),
            random(D_OUT, &mut rng),
            random(N * D_OUT, &mut rng),
        );
        let run = || {
            (
                forward(&x, [N, D_IN], &w, &b, D_OUT, DenseAct::Tanh),
                grad_weight(&x, [N, D_IN], &g, D_OUT),
                grad_input(&g, N, &w, [D_IN, D_OUT]),
            )
        };
        let alone = run();
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            assert_eq!(pool.install(run), alone, "{threads} threads");
        }
    }
}
