//! The conv layer of the conv networks, `relu(conv3x3(x, W) + b)`, as one burn operation with
//! its own backward pass.
//!
//! Layout: activations channels-last `x: [n, h, w, c]`, weights `[9 * c, c_out]` with row
//! `(dy * 3 + dx) * c + ci` holding torch's `weight[o, ci, dy, dx]`, bias `[c_out]`; stride 1,
//! zero "same" padding. The output is `[n, h, w, c_out]`.
//!
//! Why not burn's ops: burn-ndarray 0.21's `conv2d` runs at about 6 GFLOP/s forward and far
//! slower backward, and every composition of burn ops we measured (an im2col `select`, nine
//! shifted-window matmuls) spends more time copying than multiplying: its matmul copies each
//! non-contiguous operand into standard layout, `slice`'s backward allocates zero tensors, and
//! autodiff keeps every intermediate. Here each pass is one im2col copy per block of pixels and
//! one matrix multiply with strides (ndarray's `general_mat_mul`, i.e. matrixmultiply's sgemm,
//! which reads a transposed operand in place), with the bias and the ReLU fused in:
//!
//! - forward: `out = relu(im2col(x) · W + b)`, `[n h w, 9 c] x [9 c, c_out]`;
//! - backward: `g' = g ⊙ [out > 0]`; bias gradient `Σ g'`; weight gradient
//!   `dW = im2col(x)ᵀ · g'`; input gradient: the same-padded convolution of `g'` with the
//!   kernel rotated by 180° and its channel axes swapped, `dx = im2col(g') · W'` with
//!   `W'[(8 - k) * c_out + o, ci] = W[k * c + ci, o]`.
//!
//! Threads: called from inside a rayon pool (the learner's, see [`crate::Trainer`]), the
//! kernels spread their blocks of pixels over that pool's threads; called from any other
//! thread (env runners, tests) they run on it alone and never touch rayon's global pool. The
//! work is cut into the same blocks either way, and partial sums are added in block order,
//! so the numbers do not depend on the number of threads.
//!
//! The host kernels read and write plain `f32` slices, so [`ConvBackend`]'s default method works
//! for any CPU backend (`impl ConvBackend for TheBackend {}`); [`Autodiff`] gets the backward
//! pass above.

use std::cell::RefCell;

use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

use crate::dense::DenseAct;

/// A backend that can run the conv layer of this module and the dense layer of
/// [`crate::dense`].
///
/// Every method has a default that works for any backend: [`ConvBackend::conv3x3_relu`] and
/// [`ConvBackend::dense`] run the host kernels, and [`ConvBackend::read`] copies the tensor to
/// the host first. A
/// CPU backend overrides `read` to lend its own buffer. [`Autodiff`] over a `ConvBackend` is
/// one, with the backward pass of the module docs.
pub trait ConvBackend: Backend {
    /// `relu(conv3x3(x, weight) + bias)` for `x: [n, h, w, c]` (channels last),
    /// `weight: [9 * c, c_out]` and `bias: [c_out]`: `[n, h, w, c_out]`.
    fn conv3x3_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let device = Self::float_device(&weight);
        let [n, h, w, c] = dims::<Self, 4>(&x);
        let [_, c_out] = dims::<Self, 2>(&weight);
        let out = Self::read(&x, |xs| {
            Self::read(&weight, |ws| {
                Self::read(&bias, |bs| forward(xs, [n, h, w, c], ws, c_out, Some(bs)))
            })
        });
        from_host::<Self, 4>(out, [n, h, w, c_out], &device)
    }

    /// `act(x · weight + bias)` for `x: [n, d_in]`, `weight: [d_in, d_out]` and
    /// `bias: [d_out]`: `[n, d_out]` (the MLP's layers, [`crate::dense`]).
    fn dense(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: DenseAct,
    ) -> FloatTensor<Self> {
        crate::dense::host_dense::<Self>(x, weight, bias, act)
    }

    /// Calls `f` with the values of `t` as `f32` in row-major order.
    fn read<R>(t: &FloatTensor<Self>, f: impl FnOnce(&[f32]) -> R) -> R {
        read_copy::<Self, R>(t, f)
    }
}

/// burn-ndarray lends its buffer when the tensor is `f32` in standard layout (no copy, even
/// when autodiff holds another reference, where `into_data` would copy element by element).
impl ConvBackend for burn_ndarray::NdArray {
    fn read<R>(t: &FloatTensor<Self>, f: impl FnOnce(&[f32]) -> R) -> R {
        if let burn_ndarray::NdArrayTensor::F32(storage) = t
            && let Some(values) = storage.view().as_slice()
        {
            return f(values);
        }
        read_copy::<Self, R>(t, f)
    }
}

/// burn-flex lends its buffer when the tensor is `f32` and contiguous.
#[cfg(feature = "flex")]
impl ConvBackend for burn_flex::Flex {
    fn read<R>(t: &FloatTensor<Self>, f: impl FnOnce(&[f32]) -> R) -> R {
        if let Some(values) = t.as_slice::<f32>() {
            return f(values);
        }
        read_copy::<Self, R>(t, f)
    }
}

/// The backend a [`crate::Trainer`] learns on: autodiff over a [`ConvBackend`], itself a
/// `ConvBackend` (implemented for every such backend).
pub trait PpoBackend: AutodiffBackend<InnerBackend: ConvBackend> + ConvBackend {}

impl<B> PpoBackend for B
where
    B: AutodiffBackend + ConvBackend,
    B::InnerBackend: ConvBackend,
{
}

impl<B: ConvBackend, C: CheckpointStrategy> ConvBackend for Autodiff<B, C> {
    fn dense(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: DenseAct,
    ) -> FloatTensor<Self> {
        crate::dense::autodiff_dense::<B, C>(x, weight, bias, act)
    }

    fn conv3x3_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv3x3ReluBackward;

        impl<B: ConvBackend> Backward<B, 3> for Conv3x3ReluBackward {
            /// The input, the weight and the layer's output (for the ReLU mask).
            type State = (NodeId, NodeId, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, weight_state, out) = ops.state;
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
                let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
                let device = B::float_device(&grad);
                let [n, h, w, c_out] = dims::<B, 4>(&grad);
                let [_, _, _, c] = dims::<B, 4>(&x);
                let g = B::read(&grad, |g| B::read(&out, |o| relu_grad(g, o, c_out)));
                if let Some(node) = node_x {
                    let dx = B::read(&weight, |ws| grad_input(&g, [n, h, w, c_out], ws, c));
                    grads.register::<B>(node.id, from_host::<B, 4>(dx, [n, h, w, c], &device));
                }
                let nodes = [node_weight.map(|n| n.id), node_bias.map(|n| n.id)];
                register_weight_and_bias::<B>(grads, nodes, [9 * c, c_out], &device, || {
                    B::read(&x, |xs| grad_weight(xs, [n, h, w, c], &g, c_out))
                });
            }
        }

        match Conv3x3ReluBackward
            .prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let out = B::conv3x3_relu(x.primitive, weight.primitive, bias.primitive);
                prep.finish((x_state, weight_state, out.clone()), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::conv3x3_relu(x.primitive, weight.primitive, bias.primitive))
            }
        }
    }
}

/// [`ConvBackend::read`] through a host copy of the tensor's data.
fn read_copy<B: Backend, R>(t: &FloatTensor<B>, f: impl FnOnce(&[f32]) -> R) -> R {
    let t = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(t.clone()));
    let n = t.shape().num_elements();
    let data = t.reshape([n]).into_data().convert::<f32>();
    // `convert` made the element type f32, so `as_slice` cannot fail; empty is the fallback.
    f(data.as_slice::<f32>().unwrap_or_default())
}

/// The shape of a float primitive.
pub(crate) fn dims<B: Backend, const D: usize>(t: &FloatTensor<B>) -> [usize; D] {
    Tensor::<B, D>::from_primitive(TensorPrimitive::Float(t.clone())).dims()
}

pub(crate) fn from_host<B: Backend, const D: usize>(
    values: Vec<f32>,
    dims: [usize; D],
    device: &B::Device,
) -> FloatTensor<B> {
    Tensor::<B, D>::from_data(TensorData::new(values, dims), device).into_primitive().tensor()
}

/// Registers a layer's weight and bias gradients with autodiff, for those of the two it tracks;
/// `compute` (giving `(dW, db)`) runs only if it tracks either. `db` has `weight_shape[1]` values.
pub(crate) fn register_weight_and_bias<B: Backend>(
    grads: &mut Gradients,
    [weight, bias]: [Option<NodeId>; 2],
    weight_shape: [usize; 2],
    device: &B::Device,
    compute: impl FnOnce() -> (Vec<f32>, Vec<f32>),
) {
    if weight.is_none() && bias.is_none() {
        return;
    }
    let (dw, db) = compute();
    if let Some(id) = weight {
        grads.register::<B>(id, from_host::<B, 2>(dw, weight_shape, device));
    }
    if let Some(id) = bias {
        grads.register::<B>(id, from_host::<B, 1>(db, [weight_shape[1]], device));
    }
}

/// Output rows (pixels) per im2col block: the block (`ROWS x 9 c` floats, 576 KiB at
/// `c` = 64) stays in cache between being written and being packed by the matrix multiply,
/// and no image-sized patch matrix is ever allocated. Also the unit of work of a thread.
const ROWS: usize = 256;

/// Rows per partial sum of the weight and bias gradients (a multiple of [`ROWS`]): slabs are
/// summed on their own, in parallel inside a pool, then added in slab order.
const SLAB: usize = 4 * ROWS;

/// Whether to spread work over the current rayon pool: only from inside one (the learner's
/// pool). Other threads compute alone, so rayon's global pool is never started.
pub(crate) fn in_pool() -> bool {
    rayon::current_thread_index().is_some()
}

/// `f(i, block)` for the `i`-th `size`-long block of `out`, over the current pool if any.
pub(crate) fn for_each_block(
    out: &mut [f32],
    size: usize,
    f: impl Fn(usize, &mut [f32]) + Send + Sync,
) {
    if in_pool() {
        out.par_chunks_mut(size).enumerate().for_each(|(i, b)| f(i, b));
    } else {
        out.chunks_mut(size).enumerate().for_each(|(i, b)| f(i, b));
    }
}

/// `[f(0), .., f(n - 1)]`, over the current pool if any.
fn map_range<R: Send>(n: usize, f: impl Fn(usize) -> R + Send + Sync) -> Vec<R> {
    if in_pool() { (0..n).into_par_iter().map(f).collect() } else { (0..n).map(f).collect() }
}

thread_local! {
    /// Each thread's im2col block, reused across calls.
    static PATCHES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `f` with this thread's im2col buffer (`f` must not call back into this module).
fn with_patches<R>(f: impl FnOnce(&mut Vec<f32>) -> R) -> R {
    PATCHES.with(|p| f(&mut p.borrow_mut()))
}

/// Rows `rows` of the patch matrix `[n * h * w, 9 * c]` of channels-last `x`, into `patches`
/// (cleared first): row `(b, y, x)`, column `(dy * 3 + dx) * c + ci` holds
/// `x[b, y + dy - 1, x + dx - 1, ci]`, zero outside the image.
fn im2col(
    x: &[f32],
    [_, h, w, c]: [usize; 4],
    rows: std::ops::Range<usize>,
    patches: &mut Vec<f32>,
) {
    patches.clear();
    for row in rows {
        let (b, y, xx) = (row / (h * w), row / w % h, row % w);
        for dy in 0..3 {
            let sy = (y + dy).checked_sub(1).filter(|&sy| sy < h);
            for dx in 0..3 {
                let sx = (xx + dx).checked_sub(1).filter(|&sx| sx < w);
                match (sy, sx) {
                    (Some(sy), Some(sx)) => {
                        let src = ((b * h + sy) * w + sx) * c;
                        patches.extend_from_slice(&x[src..src + c]);
                    }
                    _ => patches.resize(patches.len() + c, 0.0),
                }
            }
        }
    }
}

/// `out = beta * out + a · b` for row-major `a: [m, k]` (or, with `a_transposed`, a
/// row-major `[k, m]` read as its transpose), `b: [k, n]` and `out: [m, n]`.
fn gemm(
    a: &[f32],
    [m, k]: [usize; 2],
    a_transposed: bool,
    b: &[f32],
    out: &mut [f32],
    n: usize,
    beta: f32,
) {
    let a = if a_transposed {
        ArrayView2::from_shape((k, m), a).map(|v| v.reversed_axes())
    } else {
        ArrayView2::from_shape((m, k), a)
    };
    let b = ArrayView2::from_shape((k, n), b);
    let c = ArrayViewMut2::from_shape((m, n), out);
    // The shapes come from this module's own arithmetic; a mismatch is a bug here.
    match (a, b, c) {
        (Ok(a), Ok(b), Ok(mut c)) => general_mat_mul(1.0, &a, &b, beta, &mut c),
        _ => panic!("conv3x3: operand shapes do not match ([{m}, {k}] x [{k}, {n}])"),
    }
}

/// The convolution of channels-last `x: [n, h, w, c]` with `weight: [9 * c, c_out]`, then,
/// with `bias_relu`, `relu(. + bias)`. ReLU keeps NaN (as torch's), so a broken network stays
/// visibly broken.
pub fn forward(
    x: &[f32],
    dims: [usize; 4],
    weight: &[f32],
    c_out: usize,
    bias_relu: Option<&[f32]>,
) -> Vec<f32> {
    let [n, h, w, c] = dims;
    let total = n * h * w;
    let mut out = vec![0f32; total * c_out];
    for_each_block(&mut out, ROWS * c_out, |i, block| {
        let start = i * ROWS;
        let rows = block.len() / c_out;
        with_patches(|patches| {
            im2col(x, dims, start..start + rows, patches);
            gemm(patches, [rows, 9 * c], false, weight, block, c_out, 0.0);
        });
        if let Some(bias) = bias_relu {
            for row in block.chunks_exact_mut(c_out) {
                for (v, b) in row.iter_mut().zip(bias) {
                    let s = *v + b;
                    *v = if s <= 0.0 { 0.0 } else { s };
                }
            }
        }
    });
    out
}

/// The gradient behind the ReLU: `g` where the layer's output `out` is positive, else 0.
pub fn relu_grad(g: &[f32], out: &[f32], c_out: usize) -> Vec<f32> {
    let mut masked = vec![0f32; g.len()];
    let size = ROWS * c_out;
    for_each_block(&mut masked, size, |i, block| {
        let at = i * size;
        for ((m, &g), &o) in block.iter_mut().zip(&g[at..]).zip(&out[at..]) {
            *m = if o > 0.0 { g } else { 0.0 };
        }
    });
    masked
}

/// The weight gradient `[9 * c, c_out]` and the bias gradient `[c_out]` from the input
/// `x: [n, h, w, c]` and the gradient `g: [n, h, w, c_out]` at the convolution's output (behind
/// the ReLU): `im2col(x)ᵀ · g` and the column sums of `g`.
pub fn grad_weight(x: &[f32], dims: [usize; 4], g: &[f32], c_out: usize) -> (Vec<f32>, Vec<f32>) {
    let [n, h, w, c] = dims;
    let total = n * h * w;
    let k = 9 * c;
    let slabs = map_range(total.div_ceil(SLAB), |s| {
        let (first, last) = (s * SLAB, ((s + 1) * SLAB).min(total));
        let mut dw = vec![0f32; k * c_out];
        let mut db = vec![0f32; c_out];
        with_patches(|patches| {
            for start in (first..last).step_by(ROWS) {
                let end = (start + ROWS).min(last);
                im2col(x, dims, start..end, patches);
                let g_block = &g[start * c_out..end * c_out];
                gemm(patches, [k, end - start], true, g_block, &mut dw, c_out, 1.0);
                for row in g_block.chunks_exact(c_out) {
                    for (d, v) in db.iter_mut().zip(row) {
                        *d += v;
                    }
                }
            }
        });
        (dw, db)
    });
    let mut dw = vec![0f32; k * c_out];
    let mut db = vec![0f32; c_out];
    for (sw, sb) in slabs {
        dw.iter_mut().zip(sw).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(sb).for_each(|(a, b)| *a += b);
    }
    (dw, db)
}

/// The input gradient `[n, h, w, c]` from the gradient `g: [n, h, w, c_out]` at the
/// convolution's output and `weight: [9 * c, c_out]`.
pub fn grad_input(g: &[f32], dims: [usize; 4], weight: &[f32], c: usize) -> Vec<f32> {
    let c_out = dims[3];
    let mut rotated = vec![0f32; weight.len()];
    for k in 0..9 {
        for ci in 0..c {
            for o in 0..c_out {
                rotated[((8 - k) * c_out + o) * c + ci] = weight[(k * c + ci) * c_out + o];
            }
        }
    }
    forward(g, dims, &rotated, c, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The convolution by its definition, in f64.
    fn direct(x: &[f32], [n, h, w, c]: [usize; 4], weight: &[f32], c_out: usize) -> Vec<f64> {
        let mut out = vec![0f64; n * h * w * c_out];
        for b in 0..n {
            for y in 0..h as isize {
                for xx in 0..w as isize {
                    for o in 0..c_out {
                        let mut s = 0f64;
                        for dy in 0..3isize {
                            for dx in 0..3isize {
                                let (sy, sx) = (y + dy - 1, xx + dx - 1);
                                if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize {
                                    continue;
                                }
                                let k = (dy * 3 + dx) as usize;
                                for ci in 0..c {
                                    let xi = ((b * h + sy as usize) * w + sx as usize) * c + ci;
                                    s += x[xi] as f64 * weight[(k * c + ci) * c_out + o] as f64;
                                }
                            }
                        }
                        out[((b * h + y as usize) * w + xx as usize) * c_out + o] = s;
                    }
                }
            }
        }
        out
    }

    fn random(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..len).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
    }

    /// 297 pixels: one full block of `ROWS` and a partial one.
    const DIMS: [usize; 4] = [3, 9, 11, 2];
    const C_OUT: usize = 3;

    #[test]
    fn the_test_shape_spans_more_than_one_block() {
        let pixels = DIMS[0] * DIMS[1] * DIMS[2];
        assert!(pixels > ROWS && !pixels.is_multiple_of(ROWS));
    }

    #[test]
    fn forward_matches_the_definition_with_and_without_bias_and_relu() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x = random(DIMS.iter().product(), &mut rng);
        let wt = random(9 * DIMS[3] * C_OUT, &mut rng);
        let bias = random(C_OUT, &mut rng);
        let want = direct(&x, DIMS, &wt, C_OUT);
        let plain = forward(&x, DIMS, &wt, C_OUT, None);
        let fused = forward(&x, DIMS, &wt, C_OUT, Some(&bias));
        assert_eq!((plain.len(), fused.len()), (want.len(), want.len()));
        let mut zeros = 0;
        for (i, w) in want.iter().enumerate() {
            assert!((plain[i] as f64 - w).abs() < 1e-5, "{} vs {w}", plain[i]);
            let w = (w + bias[i % C_OUT] as f64).max(0.0);
            assert!((fused[i] as f64 - w).abs() < 1e-5, "{} vs {w}", fused[i]);
            zeros += usize::from(w == 0.0);
        }
        // The ReLU did cut something, and not everything.
        assert!(zeros > 0 && zeros < want.len(), "{zeros}");
    }

    #[test]
    fn relu_keeps_nan() {
        let x = vec![f32::NAN; 9];
        let out = forward(&x, [1, 3, 3, 1], &[1.0; 9], 1, Some(&[0.0]));
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn relu_grad_passes_the_gradient_where_the_output_is_positive() {
        let g = [1.0, 2.0, 3.0, 4.0];
        let out = [0.5, 0.0, -0.0, 7.0];
        assert_eq!(relu_grad(&g, &out, 2), vec![1.0, 0.0, 0.0, 4.0]);
    }

    /// Both gradients are those of `L = sum(g * conv(x, W))`, which is linear in `x` and in
    /// `W`: `dL/dx_i = L(e_i, W)` and `dL/dW_j = L(x, e_j)` for unit tensors `e`; the bias
    /// gradient of `sum(g * (conv + b))` is the sum of `g` per output channel.
    #[test]
    fn gradients_match_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let [n, h, w, c] = DIMS;
        let x = random(n * h * w * c, &mut rng);
        let wt = random(9 * c * C_OUT, &mut rng);
        let g = random(n * h * w * C_OUT, &mut rng);
        let loss = |x: &[f32], wt: &[f32]| -> f64 {
            direct(x, DIMS, wt, C_OUT).iter().zip(&g).map(|(a, b)| a * *b as f64).sum()
        };
        let dx = grad_input(&g, [n, h, w, C_OUT], &wt, c);
        for (i, got) in dx.iter().enumerate() {
            let mut e = vec![0f32; x.len()];
            e[i] = 1.0;
            assert!((*got as f64 - loss(&e, &wt)).abs() < 1e-5, "dx[{i}]");
        }
        let (dw, db) = grad_weight(&x, DIMS, &g, C_OUT);
        for (j, got) in dw.iter().enumerate() {
            let mut e = vec![0f32; wt.len()];
            e[j] = 1.0;
            assert!((*got as f64 - loss(&x, &e)).abs() < 1e-4, "dw[{j}]");
        }
        for (o, got) in db.iter().enumerate() {
            let want: f64 = g.iter().skip(o).step_by(C_OUT).map(|&v| v as f64).sum();
            assert!((*got as f64 - want).abs() < 1e-4, "db[{o}]");
        }
    }

    /// More pixels than one weight-gradient slab, cut into blocks on 1 or 3 threads or none:
    /// every kernel gives the same bits.
    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        let dims = [12, 9, 11, 2];
        let [n, h, w, c] = dims;
        assert!(n * h * w > SLAB);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let x = random(n * h * w * c, &mut rng);
        let wt = random(9 * c * C_OUT, &mut rng);
        let bias = random(C_OUT, &mut rng);
        let g = random(n * h * w * C_OUT, &mut rng);
        let all = || {
            let out = forward(&x, dims, &wt, C_OUT, Some(&bias));
            let masked = relu_grad(&g, &out, C_OUT);
            let dx = grad_input(&masked, [n, h, w, C_OUT], &wt, c);
            let (dw, db) = grad_weight(&x, dims, &masked, C_OUT);
            [out, masked, dx, dw, db]
        };
        let alone = all();
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert_eq!(pool.install(all), alone, "{threads} threads");
        }
    }

    #[test]
    fn ndarray_reads_standard_and_permuted_tensors_like_the_copy() {
        use burn_ndarray::NdArray;
        let d = Default::default();
        let values: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let t = Tensor::<NdArray, 3>::from_data(TensorData::new(values, [2, 3, 4]), &d);
        for t in [t.clone(), t.permute([2, 0, 1])] {
            let p = t.into_primitive().tensor();
            let lent = NdArray::read(&p, |v| v.to_vec());
            let copied = read_copy::<NdArray, _>(&p, |v| v.to_vec());
            assert_eq!(lent, copied);
            assert_eq!(lent.len(), 24);
        }
    }

    /// Through autodiff: an untracked input gets no gradient; weight and bias get the kernels'
    /// gradients of the ReLU-masked output gradient.
    #[test]
    fn autodiff_gradients_are_the_kernels_behind_the_relu_mask() {
        use burn::backend::Autodiff;
        use burn_ndarray::NdArray;
        type A = Autodiff<NdArray>;
        let d = Default::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let [n, h, w, c] = DIMS;
        let x = random(n * h * w * c, &mut rng);
        let wt = random(9 * c * C_OUT, &mut rng);
        let bias = random(C_OUT, &mut rng);
        let xt = Tensor::<A, 4>::from_data(TensorData::new(x.clone(), DIMS), &d);
        let wt_t = Tensor::<A, 2>::from_data(TensorData::new(wt.clone(), [9 * c, C_OUT]), &d)
            .require_grad();
        let b_t =
            Tensor::<A, 1>::from_data(TensorData::new(bias.clone(), [C_OUT]), &d).require_grad();
        let out = Tensor::<A, 4>::from_primitive(TensorPrimitive::Float(A::conv3x3_relu(
            xt.clone().into_primitive().tensor(),
            wt_t.clone().into_primitive().tensor(),
            b_t.clone().into_primitive().tensor(),
        )));
        let grads = out.sum().backward();
        assert!(xt.grad(&grads).is_none());
        let got_w: Vec<f32> = wt_t.grad(&grads).unwrap().into_data().into_vec().unwrap();
        let got_b: Vec<f32> = b_t.grad(&grads).unwrap().into_data().into_vec().unwrap();
        let fwd = forward(&x, DIMS, &wt, C_OUT, Some(&bias));
        let masked = relu_grad(&vec![1f32; fwd.len()], &fwd, C_OUT);
        let (want_w, want_b) = grad_weight(&x, DIMS, &masked, C_OUT);
        assert_eq!((got_w, got_b), (want_w, want_b));
    }
}
