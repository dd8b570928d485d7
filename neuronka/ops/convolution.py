"""Convolutions, channels_last, with Keras 3's ``keras.ops`` signatures; and the one place that chooses how
each runs.

Every 1-D and 2-D convolution is computed on 4-D NHWC arrays (a 1-D one gets a height of 1); 3-D ones (and
more spatial axes) are checked here and computed by :mod:`.convolution_nd`::

    y[n, i, j, o] = Σ_{a, b, c} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, o]

with W stored as Keras stores it, (kh, kw, in, out), strides s, dilation d and x_pad the
input zero-padded by (pad_top, pad_left) before and as much as the windows need after.
Its derivatives, written next to each Function below:

    dL/dW[a, b, c, o] = Σ_{n, i, j} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · gy[n, i, j, o]
    dL/dx_pad[n, p, q, c] = Σ_{i·s_h + a·d_h = p} Σ_{j·s_w + b·d_w = q} Σ_o gy[n, i, j, o] · W[a, b, c, o]

Which algorithm runs when: this table, first matching row wins (measured, see docs/performance.md); the
rules are :func:`select_forward` and :func:`select_backward`, each algorithm is in its own module.

=====================================================  =====================  ===========================
when                                                   forward                backward (dx, dW)
=====================================================  =====================  ===========================
1×1, stride 1, no padding (pointwise)                  ``POINTWISE``: one     two BLAS GEMMs
                                                       BLAS GEMM
strategy "auto"; 3×3 "same", stride 1, dilation 1;     ``BORDERLESS``         ``BORDERLESS`` when the
compiled kernels for the dtype and output channels     (:mod:`.conv_direct`)  kernels take both dx and dW
strategy "auto" or "grid"; stride 1; NumPy floats;     ``SHIFTED``            ``SHIFTED``
BLAS callable directly (forward: at most 1.5 grid      (:mod:`.conv_shifted`)
pixels per output pixel); with "auto" fewer than 128
× 128 channels and an image per worker thread
strategy "auto"; one stride s > 1; compiled kernels    ``STRIDED``            dx ``STRIDED`` (phases) when
for the output channels; ≤ 128 × 128 channels; an      (:mod:`.conv_direct`)  dilation 1 and kernel ≥ s,
image per worker thread                                                       dW ``IM2COL``
otherwise (any array module, strides, dilations)       ``IM2COL``             ``IM2COL`` (dx: gather or
                                                       (:mod:`.conv_im2col`)  col2im)
=====================================================  =====================  ===========================

A forward with a fused bias and / or ReLU (inference plans, ``models/replay.py``) takes the same rows minus
the pointwise one, the bias and ReLU inside the compiled kernels' store; where only ``IM2COL`` applies they
are added after. The transposed convolution is the input gradient of a convolution: ``POINTWISE`` or
``IM2COL``. The depthwise convolution has one algorithm (:mod:`.conv_depthwise`). ``set_strategy("im2col")``
(or ``NEURONKA_CONV=im2col``) forces the last row, ``"grid"`` all but the compiled kernels; the tests compare
them. Every algorithm shares the batch among the worker threads of :mod:`.threads`; the argument checks and
the geometry are in :mod:`.conv_args`.
"""
from __future__ import annotations

import enum

from .. import config
from ..autograd import Function, Tensor
from ..backend import get_array_module
from . import blas, threads  # noqa: F401 - re-exported (tests and benchmarks reach them from here)
from .conv_args import (  # noqa: F401 - re-exported: the convolution module was their home
    _SPATIAL_NAMES,
    Geometry,
    _conv_transpose_crop,
    _float_pair,
    _shape,
    check_rank,
    conv_geometry,
    conv_output_length,
    conv_transpose_output_length,
    from_channels_last,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    reference_conv2d,
    same_padding,
    to_channels_last,
)
from .conv_depthwise import DepthwiseConv
from .conv_direct import (  # noqa: F401 - re-exported
    _borderless_backward,
    _borderless_forward,
    _strided_forward,
    _strided_input_grad,
    borderless_applies,
    strided_applies,
)
from .conv_im2col import (  # noqa: F401 - re-exported
    _columns,
    _InputGrad,
    conv_transpose_backward,
    conv_transpose_forward,
    im2col_backward,
    im2col_forward,
    padded_chunk,
    tap_views,
)
from .conv_shifted import _Grid, _shifted_backward, _shifted_forward, grid_for  # noqa: F401 - re-exported
from .threads import _sum, map_batch, num_workers, run_parallel, scratch  # noqa: F401 - re-exported

# ----------------------------------------------------------------------------------
# the dispatcher: which algorithm runs when
# ----------------------------------------------------------------------------------
_STRATEGY = config.get("conv_strategy")  # "auto", "grid" or "im2col" (see set_strategy)
_STRATEGIES = ("auto", "grid", "im2col")


def set_strategy(name: str) -> str:
    """Choose how convolutions run: ``"auto"`` (the fastest path that applies: 3×3 "same" on the unpadded
    images, shifted products on a padded grid, strided compiled kernels, im2col), ``"grid"`` (stride 1 always
    on the padded grid, strides by im2col) or ``"im2col"`` (always gather the columns); returns the previous
    choice. For tests and benchmarks (``NEURONKA_CONV`` sets it at import)."""
    global _STRATEGY
    if name not in _STRATEGIES:
        raise ValueError(f"set_strategy: expected one of {_STRATEGIES}, received {name!r}")
    previous, _STRATEGY = _STRATEGY, name
    return previous


class Algorithm(enum.Enum):
    """The convolution algorithms of the table in this module's docstring."""

    POINTWISE = "pointwise"  # 1×1 stride 1: x (n·h·w, c) @ W (c, o)
    BORDERLESS = "borderless"  # 3×3 "same" compiled kernels on the unpadded images (conv_direct)
    SHIFTED = "shifted"  # stride 1: shifted GEMMs on the padded grid (conv_shifted)
    STRIDED = "strided"  # stride s > 1 compiled kernels (conv_direct)
    IM2COL = "im2col"  # gather the columns, one GEMM per chunk (conv_im2col)


def _borderless(g: Geometry, x, w, o: int, wgrad: bool = False) -> bool:
    """Row 2 of the table: strategy "auto" and the 3×3 "same" kernels take it (``conv_direct``)."""
    return _STRATEGY == "auto" and borderless_applies(g, x, w, o, wgrad)


def _shifted_grid(g: Geometry, *arrays, max_junk: float | None = None) -> _Grid | None:
    """Row 3 of the table: the padded input's grid where strategy "auto" / "grid" and the shifted GEMMs
    apply (``conv_shifted.grid_for``), else None."""
    return grid_for(g, *arrays, max_junk=max_junk) if _STRATEGY in ("auto", "grid") else None


def _strided_direct(g: Geometry, x, w) -> bool:
    """Row 4 of the table: strategy "auto" and the strided compiled kernels take it (``conv_direct``)."""
    return _STRATEGY == "auto" and strided_applies(g, x, w)


def _shifted_wins(x, w) -> bool:
    """The shifted tiles against BLAS's GEMMs over im2col columns (K = k_h·k_w·C), forward and backward: with strategy
    "auto" the tiles keep narrow channels where every worker thread has an image; wide channels (C·O ≥
    128 × 128) and a batch smaller than the threads (one image runs the tiles on one thread, BLAS's GEMM on
    all) go to im2col. Measured, forward ms shifted / im2col, 2 threads, AMD EPYC (AVX2): batch 8, 3×3
    "same", 128 → 128 @28 23.9 / 19.8, 256 → 256 @14 21.0 / 18.3, 512 → 512 @7 34.6 / 20.8, but 64 → 64 @56
    23.0 / 26.2; batch 1, 64 → 64 @28 1.61 / 0.82, 128 → 128 @28 4.08 / 2.32, 512 → 512 @7 6.58 / 2.84,
    64 → 64 @8 0.21 / 0.19. Backward (dx and dW), batch 16: 256 @14 81.6 / 64.7, 512 @7 118.8 / 92.7, 128 @28
    a tie (71.9 / 74.0), but 64 @56 62.9 / 120.1 (``python benchmarks/paths.py --only select``)."""
    return _STRATEGY == "grid" or (x.shape[3] * w.shape[3] < 128 * 128 and x.shape[0] >= num_workers())


def select_forward(g: Geometry, x, w, fused: bool = False) -> tuple[Algorithm, _Grid | None]:
    """The forward's row of the table (and the shifted path's grid); ``fused``: a bias / ReLU comes along,
    which the pointwise GEMM does not take."""
    if not fused and g.is_pointwise():  # one big BLAS-threaded GEMM, nothing to gather
        return Algorithm.POINTWISE, None
    if _borderless(g, x, w, w.shape[3]):
        return Algorithm.BORDERLESS, None
    if _shifted_wins(x, w) and (grid := _shifted_grid(g, x, w, max_junk=1.5)) is not None:
        return Algorithm.SHIFTED, grid
    if _strided_direct(g, x, w):
        return Algorithm.STRIDED, None
    return Algorithm.IM2COL, None


def select_backward(g: Geometry, x, w, gy, need_x: bool, need_w: bool) -> tuple[Algorithm, _Grid | None]:
    """The backward's row of the table (and the shifted path's grid). ``STRIDED`` means: dx by the strided
    kernels' phases, dW by im2col."""
    c, o = x.shape[3], gy.shape[3]
    if g.is_pointwise():
        return Algorithm.POINTWISE, None
    if (not need_w or _borderless(g, x, w, o, wgrad=True)) and (not need_x or _borderless(g, gy, w, c)):
        return Algorithm.BORDERLESS, None
    if _shifted_wins(x, w) and (grid := _shifted_grid(g, x, w, gy)) is not None:
        return Algorithm.SHIFTED, grid
    # the compiled phases where every phase has a tap (kernel ≥ stride; a 1×1 stride-2 one: col2im, 1.05 ms
    # against 1.48 at 64 → 128 @56, batch 8); 3×3 stride 2, batch 128, 16 → 32 @34: 3.86 ms against 4.83
    if need_x and g.dh == g.dw == 1 and g.kh >= g.sh and g.kw >= g.sw \
            and _strided_direct(g, gy, w.transpose(0, 1, 3, 2)):
        return Algorithm.STRIDED, None
    return Algorithm.IM2COL, None


def _fast_forward(x, w, g: Geometry, bias=None, relu=False):
    """y = x ⋆ W (then max(y + bias, 0)) on the compiled / shifted path the table picks; None where it picks
    im2col (the caller gathers columns instead)."""
    algorithm, grid = select_forward(g, x, w, fused=True)
    if algorithm is Algorithm.BORDERLESS:
        return _borderless_forward(x, w, g, bias, relu)
    if algorithm is Algorithm.SHIFTED:
        return _shifted_forward(x, w, g, grid, bias, relu)
    if algorithm is Algorithm.STRIDED:
        return _strided_forward(x, w, g, bias, relu)
    return None


def conv_forward(x, w, g: Geometry, bias=None, relu: bool = False):
    """y = x ⋆ W on NHWC arrays, by the algorithm the table picks.

    With ``bias`` (o,) and / or ``relu``: max(x ⋆ W + bias, 0), inside the compiled kernels' store where
    the shifted path runs (inference plans fold batch norm and ReLU into it: ``models/replay.py``)."""
    xp = get_array_module(x)
    n, c, o = x.shape[0], x.shape[3], w.shape[3]
    if bias is not None or relu:
        bias_c = xp.ascontiguousarray(bias, dtype=x.dtype) if bias is not None else None
        if (y := _fast_forward(x, w, g, bias_c, relu)) is not None:
            return y
        y = conv_forward(x, w, g)
        if bias is not None:
            y += bias
        return xp.maximum(y, 0, out=y) if relu else y
    if g.is_pointwise():  # one big BLAS-threaded GEMM, nothing to gather
        return (x.reshape(-1, c) @ w.reshape(-1, o)).reshape(n, g.ho, g.wo, o)
    if (y := _fast_forward(x, w, g)) is not None:
        return y
    return im2col_forward(x, w, g)


def conv_backward(x, w, gy, g: Geometry, need_x=True, need_w=True):
    """(dL/dx, dL/dW) of y = x ⋆ W, by the algorithm the table picks:

    dW[a, b, c, o] = Σ_{n,i,j} x_pad[n, i·s + a·d, j·s + b·d, c] gy[n, i, j, o];
    dx_pad[n, p, q, c] = Σ_{taps landing on (p, q)} Σ_o gy[n, i, j, o] W[a, b, c, o].
    """
    c, o = x.shape[3], gy.shape[3]
    algorithm, grid = select_backward(g, x, w, gy, need_x, need_w)
    if algorithm is Algorithm.POINTWISE:
        gy2 = gy.reshape(-1, o)
        dx = (gy2 @ w.reshape(c, o).T).reshape(x.shape) if need_x else None
        dw = (x.reshape(-1, c).T @ gy2).reshape(w.shape) if need_w else None
        return dx, dw
    if algorithm is Algorithm.BORDERLESS:
        return _borderless_backward(x, w, gy.astype(x.dtype, copy=False), g, need_x, need_w)
    if algorithm is Algorithm.SHIFTED:
        # the gradient in the input's dtype (a float64 gy reaching a float32 layer is cast, as torch keeps
        # every gradient in its tensor's dtype); any strides: the grid copies it anyway
        return _shifted_backward(x, w, gy.astype(x.dtype, copy=False), g, grid, need_x, need_w)
    dx = _strided_input_grad(w, gy.astype(x.dtype, copy=False), g, x.shape) \
        if algorithm is Algorithm.STRIDED else None
    return im2col_backward(x, w, gy, g, need_x, need_w, dx)


# ----------------------------------------------------------------------------------
# Functions
# ----------------------------------------------------------------------------------
class Conv(Function):
    """y = x ⋆ W on NHWC arrays (``geometry`` set by :func:`conv`)."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return conv_forward(x, w, self.geometry)

    def backward(self, gy):
        # dL/dx[n, p, q, c] = Σ_{taps landing on (p, q)} Σ_o gy[n, i, j, o] W[a, b, c, o]
        # dL/dW[a, b, c, o] = Σ_{n,i,j} x_pad[n, i·s + a·d, j·s + b·d, c] gy[n, i, j, o]
        return conv_backward(self.x, self.w, gy, self.geometry, self.inputs[0].requires_grad,
                             self.inputs[1].requires_grad)


class ConvTranspose(Function):
    """y = x ⋆ᵀ K: the input gradient of the convolution y ⋆ K (kernel (kh, kw, out, in)) taken at x."""

    def forward(self, x, k):
        self.x, self.k = x, k
        return conv_transpose_forward(x, k, self.geometry)

    def backward(self, gy):
        # y = Aᵀx with A the convolution by K: dL/dx = A·gy = gy ⋆ K;  dL/dK = Σ cols(gy)ᵀ·x
        return conv_transpose_backward(self.x, self.k, gy, self.geometry, self.inputs[0].requires_grad,
                                       self.inputs[1].requires_grad)


# ----------------------------------------------------------------------------------
# keras.ops entry points
# ----------------------------------------------------------------------------------
def _prepare(fn, inputs, kernel, strides, padding, data_format, dilation_rate, channels: str, allow_causal=False):
    """Check the arguments, move channels last and view 1-D as 2-D; returns what the Functions need.
    N >= 3 spatial axes stay as they are (:mod:`.convolution_nd` computes them).

    ``channels`` names the kernel's last two axes, for the messages.
    """
    x_shape, k_shape = _shape(inputs), _shape(kernel)
    nd = len(k_shape) - 2
    if nd < 1:
        raise ValueError(f"{fn}: expected a kernel of rank 3 (width, {channels}), 4 (height, width, {channels}) "
                         f"or 5 (depth, height, width, {channels}), received kernel shape {tuple(k_shape)}")
    data_format = normalize_data_format(data_format, fn)
    kernel_word = f"{nd}-D"
    check_rank(x_shape, nd, fn, "inputs", f" for a {kernel_word} kernel")
    if data_format == "channels_first":
        x_shape = (x_shape[0], *x_shape[2:], x_shape[1])
    padding = normalize_padding(padding, fn, ("valid", "same", "causal") if allow_causal and nd == 1
                                else ("valid", "same"))
    strides = normalize_tuple(strides, nd, "strides", fn)
    dilation = normalize_tuple(dilation_rate, nd, "dilation_rate", fn)
    x, k = _float_pair(inputs, kernel)
    x = to_channels_last(x, data_format)
    if nd == 1:  # (n, w, c) -> (n, 1, w, c); kernel gets a height of 1
        from .math import reshape

        x = reshape(x, (x_shape[0], 1, *x_shape[1:]))
        k = reshape(k, (1, *k_shape))
        strides, dilation = (1, *strides), (1, *dilation)
    return x, k, nd, x_shape, strides, dilation, padding, data_format


def _finish(y, n, nd, data_format):
    if nd == 1:
        from .math import reshape

        y = reshape(y, (n, y.shape[2], y.shape[3]))
    return from_channels_last(y, data_format)


def _check_spatial(fn, x_shape, k_shape, dilation, padding, nd):
    """A "valid" window must fit in the input."""
    if padding != "valid":
        return
    for length, k, d in zip(x_shape[1:1 + nd], k_shape[:nd], dilation[-nd:]):
        if (k - 1) * d + 1 > length:
            raise ValueError(f"{fn}: with padding='valid' the dilated kernel ({(k - 1) * d + 1}) must fit in the "
                             f"input's spatial size {length}; received inputs of shape {tuple(x_shape)} and kernel "
                             f"of shape {tuple(k_shape)}")


def conv(inputs, kernel, strides=1, padding: str = "valid", data_format: str | None = None,
         dilation_rate=1) -> Tensor:
    """N-D convolution (N = 1, 2, 3 or more), as ``keras.ops.conv``.

    y[n, i, j, o] = Σ_{a, b, c} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · kernel[a, b, c, o]

    ``inputs``: (batch, width, channels) or (batch, height, width, channels) (channels_last);
    ``kernel``: (kw, in, out) or (kh, kw, in, out). ``padding``: "valid", "same" (TensorFlow's
    split, the extra zero after) or, for 1-D, "causal" (all (k − 1)·d zeros before; an extension:
    Keras's ``ops.conv`` has no causal padding, its Conv1D pads before calling it).
    Output length: ceil(L/s) for "same"/"causal", ceil((L − k_eff + 1)/s) for "valid".
    A kernel with in = channels/G input channels (G > 1 dividing both channels and out) is a grouped
    convolution, as Keras's: group g maps input channels [g·in, (g + 1)·in) to outputs [g·out/G, (g + 1)·out/G).
    N >= 3 spatial axes (inputs (batch, depth, height, width, channels), kernel (kd, kh, kw, in, out)) are
    computed by :mod:`.convolution_nd` (im2col by a strided view and one GEMM); Keras goes up to N = 3.
    """
    fn = "conv"
    k_shape = _shape(kernel)
    groups = _groups(inputs, kernel, data_format)
    if groups > 1:
        return _grouped_conv(inputs, kernel, groups, strides, padding, data_format, dilation_rate)
    x, k, nd, x_shape, strides, dilation, padding, data_format = _prepare(
        fn, inputs, kernel, strides, padding, data_format, dilation_rate, "in_channels, out_channels",
        allow_causal=True)
    if x_shape[-1] != k_shape[-2]:
        raise ValueError(f"conv: the inputs have {x_shape[-1]} channels but the kernel expects {k_shape[-2]} "
                         f"(kernel shape {tuple(k_shape)}: (..., in_channels, out_channels)); received inputs of "
                         f"shape {tuple(_shape(inputs))}")
    _check_spatial(fn, x_shape, k_shape, dilation, padding, nd)
    if nd >= 3:
        from . import convolution_nd as _nd  # noqa: PLC0415 (it builds on this module's helpers)

        g = _nd.geometry(x.shape[1:-1], k.shape[:-2], strides, dilation, padding)
        return _finish(_nd.ConvND.apply(x, k, geometry=g), x_shape[0], nd, data_format)
    g = conv_geometry(x.shape[1:3], k.shape[:2], strides, dilation, padding)
    return _finish(Conv.apply(x, k, geometry=g), x_shape[0], nd, data_format)


def _groups(inputs, kernel, data_format) -> int:
    """G of a grouped convolution (input channels = G × the kernel's), or 1."""
    x_shape, k_shape = _shape(inputs), _shape(kernel)
    if len(k_shape) < 3 or len(x_shape) != len(k_shape):
        return 1
    channels = x_shape[1] if normalize_data_format(data_format, "conv") == "channels_first" else x_shape[-1]
    k_in, k_out = k_shape[-2], k_shape[-1]
    if k_in and channels != k_in and channels % k_in == 0 and k_out % (channels // k_in) == 0:
        return channels // k_in
    return 1


def _grouped_conv(inputs, kernel, groups, strides, padding, data_format, dilation_rate) -> Tensor:
    """conv of each of ``groups`` channel slices with its slice of the kernel's outputs, concatenated."""
    from .math import concatenate, reshape, split  # noqa: PLC0415

    k_shape = _shape(kernel)
    if k_shape[-2] == 1 and padding != "causal":  # one input channel per group: a depthwise convolution,
        # kernel (..., 1, G·M) read as (..., G, M) (output channel g·M + m in both)
        depthwise = reshape(kernel, (*k_shape[:-2], groups, k_shape[-1] // groups))
        return depthwise_conv(inputs, depthwise, strides, padding, data_format, dilation_rate)
    axis = 1 if normalize_data_format(data_format, "conv") == "channels_first" else -1
    xs, ks = split(inputs, groups, axis=axis), split(kernel, groups, axis=-1)
    return concatenate([conv(x, k, strides, padding, data_format, dilation_rate) for x, k in zip(xs, ks)], axis=axis)


def depthwise_conv(inputs, kernel, strides=1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate=1) -> Tensor:
    """Depthwise convolution, as ``keras.ops.depthwise_conv``: every input channel c has its own
    ``depth_multiplier`` filters, output channel c·M + m.

    y[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · kernel[a, b, c, m]

    ``kernel``: (kw, in, M) or (kh, kw, in, M). Padding and output sizes as :func:`conv`.
    """
    fn = "depthwise_conv"
    k_shape = _shape(kernel)
    x, k, nd, x_shape, strides, dilation, padding, data_format = _prepare(
        fn, inputs, kernel, strides, padding, data_format, dilation_rate, "in_channels, depth_multiplier")
    if x_shape[-1] != k_shape[-2]:
        raise ValueError(f"depthwise_conv: the inputs have {x_shape[-1]} channels but the kernel expects "
                         f"{k_shape[-2]} (kernel shape {tuple(k_shape)}: (..., in_channels, depth_multiplier)); "
                         f"received inputs of shape {tuple(_shape(inputs))}")
    _check_spatial(fn, x_shape, k_shape, dilation, padding, nd)
    if nd >= 3:
        from . import convolution_nd as _nd  # noqa: PLC0415 (it builds on this module's helpers)

        g = _nd.geometry(x.shape[1:-1], k.shape[:-2], strides, dilation, padding)
        return _finish(_nd.DepthwiseConvND.apply(x, k, geometry=g), x_shape[0], nd, data_format)
    g = conv_geometry(x.shape[1:3], k.shape[:2], strides, dilation, padding)
    return _finish(DepthwiseConv.apply(x, k, geometry=g), x_shape[0], nd, data_format)


def conv_transpose(inputs, kernel, strides=1, padding: str = "valid", output_padding=None,
                   data_format: str | None = None, dilation_rate=1) -> Tensor:
    """Transposed convolution, as ``keras.ops.conv_transpose``: the adjoint of :func:`conv`.

    y = Aᵀx, where A is the convolution by ``kernel`` that maps y's shape to x's; the
    ``kernel`` is laid out (kw, out, in) or (kh, kw, out, in) as Keras stores it.
    Output length (k_eff = (k − 1)·d + 1): "valid": L·s + max(k_eff − s, 0);
    "same": L·s; with ``output_padding`` p: (L − 1)·s + k_eff + p ("valid") or
    (L − 1)·s + k_eff mod 2 + p ("same").
    """
    fn = "conv_transpose"
    k_shape = _shape(kernel)
    x, k, nd, x_shape, strides, dilation, padding, data_format = _prepare(
        fn, inputs, kernel, strides, padding, data_format, dilation_rate, "out_channels, in_channels")
    if x_shape[-1] != k_shape[-1]:
        raise ValueError(f"conv_transpose: the inputs have {x_shape[-1]} channels but the kernel expects "
                         f"{k_shape[-1]} (kernel shape {tuple(k_shape)}: (..., out_channels, in_channels)); "
                         f"received inputs of shape {tuple(_shape(inputs))}")
    if output_padding is not None:
        output_padding = normalize_tuple(output_padding, nd, "output_padding", fn, minimum=0)
        output_padding = (None, *output_padding) if nd == 1 else output_padding
    else:
        output_padding = (None,) * len(strides)
    in_hw = x.shape[1:-1]
    out_hw, crop = [], []
    for length, kk, s, d, p in zip(in_hw, k.shape[:-2], strides, dilation, output_padding):
        out_hw.append(conv_transpose_output_length(length, kk, s, padding, p, d))
        crop.append(_conv_transpose_crop(kk, s, padding, p, d))
    # the convolution being transposed maps (out_hw, out channels) -> (in_hw, in channels)
    if nd >= 3:
        from . import convolution_nd as _nd  # noqa: PLC0415 (it builds on this module's helpers)

        g = _nd.GeometryND(out_hw, in_hw, k.shape[:-2], strides, dilation, crop)
        return _finish(_nd.ConvTransposeND.apply(x, k, geometry=g), x_shape[0], nd, data_format)
    g = Geometry(tuple(out_hw), tuple(in_hw), k.shape[:2], strides, dilation, tuple(crop))
    return _finish(ConvTranspose.apply(x, k, geometry=g), x_shape[0], nd, data_format)


config.register_applier("conv_strategy", set_strategy)
