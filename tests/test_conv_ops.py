"""Convolutions: one table of cases, checked against PyTorch (float32) and central differences (float64).

A row: (op, input shape, kernel shape, keyword arguments). The torch oracle is built from the row
alone, with Keras's rules written out here independently of neuronka: NHWC -> NCHW, Keras kernel
layouts -> torch's, TensorFlow's "same" split as an explicit zero pad (the extra zero after), and a
transposed convolution as torch's full one cropped where Keras's JAX backend crops it.
"""
from __future__ import annotations

import math

import numpy
import pytest

import neuronka as nk
from neuronka.ops import convolution as C

from .helpers import compare_with_torch, torch_or_skip

CONV, DEPTHWISE, TRANSPOSE = C.conv, C.depthwise_conv, C.conv_transpose


def row(op, x_shape, k_shape, **kw):
    name = {CONV: "conv", DEPTHWISE: "depthwise", TRANSPOSE: "transpose"}[op]
    desc = "-".join(f"{k}{v}" for k, v in kw.items()).replace(" ", "").replace("'", "")
    dims = "x".join(map(str, x_shape[1:])), "x".join(map(str, k_shape))
    return pytest.param(op, x_shape, k_shape, kw, id=f"{name}{len(k_shape) - 2}d-in{dims[0]}-k{dims[1]}-{desc}")


CASES = [
    # 2-D convolutions: odd and even kernels, strides, "same" on odd and even sizes, dilation.
    # With strides 1, dL/dx is a convolution when out <= in channels, a col2im otherwise: both are here.
    row(CONV, (2, 8, 7, 3), (3, 3, 3, 4), padding="same"),
    row(CONV, (2, 8, 7, 4), (3, 3, 4, 3), padding="same"),
    row(CONV, (2, 8, 7, 4), (3, 3, 4, 4), padding="valid"),
    row(CONV, (2, 6, 7, 4), (2, 2, 4, 3), padding="same"),
    row(CONV, (2, 9, 8, 4), (3, 2, 4, 2), dilation_rate=(2, 1), padding="same"),
    row(CONV, (2, 9, 4), (3, 4, 4), dilation_rate=2, padding="causal"),
    row(CONV, (2, 8, 7, 3), (3, 3, 3, 4), padding="valid"),
    row(CONV, (2, 8, 8, 3), (3, 3, 3, 4), strides=2, padding="same"),
    row(CONV, (2, 7, 9, 3), (3, 3, 3, 4), strides=2, padding="same"),
    row(CONV, (2, 7, 9, 3), (3, 3, 3, 4), strides=2, padding="valid"),
    row(CONV, (2, 6, 7, 3), (2, 2, 3, 4), padding="same"),
    row(CONV, (2, 9, 8, 3), (4, 4, 3, 2), strides=2, padding="same"),
    row(CONV, (2, 7, 8, 3), (2, 3, 3, 4), strides=(1, 2), padding="same"),
    row(CONV, (2, 11, 10, 2), (5, 5, 2, 3), strides=3, padding="same"),
    row(CONV, (2, 6, 5, 3), (1, 1, 3, 4)),
    row(CONV, (2, 7, 8, 3), (1, 1, 3, 4), strides=2, padding="same"),
    row(CONV, (2, 9, 10, 3), (1, 1, 3, 4), strides=(1, 2)),
    row(CONV, (2, 9, 8, 3), (3, 3, 3, 4), dilation_rate=2, padding="same"),
    row(CONV, (2, 9, 8, 3), (3, 3, 3, 4), dilation_rate=2, padding="valid"),
    row(CONV, (2, 9, 8, 3), (3, 2, 3, 4), dilation_rate=(2, 1), padding="same"),
    row(CONV, (2, 11, 10, 3), (3, 3, 3, 4), strides=2, dilation_rate=2, padding="same"),
    row(CONV, (2, 3, 8, 7), (3, 3, 3, 4), strides=2, padding="same", data_format="channels_first"),
    # 1-D convolutions, "causal" included
    row(CONV, (2, 9, 3), (3, 3, 4), padding="same"),
    row(CONV, (2, 9, 3), (3, 3, 4), strides=2, padding="valid"),
    row(CONV, (2, 10, 3), (4, 3, 4), strides=2, padding="same"),
    row(CONV, (2, 9, 3), (3, 3, 4), dilation_rate=2, padding="causal"),
    row(CONV, (2, 9, 3), (2, 3, 4), strides=2, padding="causal"),
    row(CONV, (2, 9, 3), (1, 3, 4)),
    # depthwise
    row(DEPTHWISE, (2, 8, 7, 3), (3, 3, 3, 1), padding="same"),
    row(DEPTHWISE, (2, 8, 7, 3), (3, 3, 3, 2), strides=2, padding="same"),
    row(DEPTHWISE, (2, 9, 8, 3), (2, 2, 3, 1), dilation_rate=2),
    row(DEPTHWISE, (2, 9, 3), (3, 3, 2), strides=2, padding="same"),
    # transposed: Keras's output sizes and alignment
    row(TRANSPOSE, (2, 4, 5, 3), (3, 3, 4, 3), strides=2, padding="same"),
    row(TRANSPOSE, (2, 4, 5, 3), (3, 3, 4, 3), strides=2, padding="valid"),
    row(TRANSPOSE, (2, 4, 5, 3), (4, 4, 4, 3), strides=2, padding="same"),
    row(TRANSPOSE, (2, 4, 5, 3), (2, 2, 4, 3), strides=2, padding="valid"),
    row(TRANSPOSE, (2, 4, 5, 3), (3, 3, 4, 3), strides=1, padding="same"),
    row(TRANSPOSE, (2, 4, 5, 3), (3, 3, 4, 3), strides=1, padding="valid"),
    row(TRANSPOSE, (2, 4, 5, 3), (3, 3, 2, 3), strides=1, padding="same"),
    row(TRANSPOSE, (2, 4, 5, 3), (3, 3, 4, 3), strides=2, padding="same", output_padding=1),
    row(TRANSPOSE, (2, 4, 5, 3), (3, 3, 4, 3), strides=2, padding="valid", output_padding=1),
    row(TRANSPOSE, (2, 4, 5, 3), (5, 5, 4, 3), strides=3, padding="same", output_padding=(2, 1)),
    row(TRANSPOSE, (2, 4, 5, 3), (3, 3, 4, 3), strides=1, dilation_rate=2, padding="same"),
    row(TRANSPOSE, (2, 4, 5, 3), (1, 1, 4, 3), strides=2, padding="valid"),
    row(TRANSPOSE, (2, 4, 5, 3), (1, 1, 4, 3), strides=1),
    row(TRANSPOSE, (2, 6, 3), (3, 4, 3), strides=2, padding="same"),
    row(TRANSPOSE, (2, 6, 3), (4, 4, 3), strides=2, padding="valid", output_padding=1),
]

# ---- Keras's rules, written out independently of neuronka -------------------------
def tf_same_pads(length, k, s, d):
    """TensorFlow "same": total = max((ceil(L/s) - 1)·s + (k - 1)·d + 1 - L, 0), the extra one after."""
    total = max((math.ceil(length / s) - 1) * s + (k - 1) * d + 1 - length, 0)
    return total // 2, total - total // 2


def keras_transpose_window(length, k, s, d, padding, output_padding):
    """(crop at the start of torch's full output, Keras's output length), from keras backend_utils' JAX rule."""
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        op = max(k_eff, s) - k_eff if output_padding is None else output_padding
        left = k_eff - 1
        right = k_eff - 1 + op
    else:
        pad_len = s + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, k_eff - 1)
        right = pad_len - left
    out = (length - 1) * s + 1 + left + right - (k_eff - 1)
    return k_eff - 1 - left, out


def per_axis(value, nd):
    return (value,) * nd if isinstance(value, int) or value is None else tuple(value)


def torch_op(op, kw, nd):
    """The same computation in torch, on tensors laid out as neuronka's (NHWC, Keras kernels)."""
    torch = torch_or_skip()
    F = torch.nn.functional
    s = per_axis(kw.get("strides", 1), nd)
    d = per_axis(kw.get("dilation_rate", 1), nd)
    padding = kw.get("padding", "valid")
    first = kw.get("data_format") == "channels_first"

    def to_torch(x):  # channels last -> channels first, contiguous (see test_torch_oracle_layout)
        return x.contiguous() if first else x.permute(0, nd + 1, *range(1, nd + 1)).contiguous()

    def from_torch(y):
        return y if first else y.permute(0, *range(2, nd + 2), 1)

    def fn(x, k):
        xt = to_torch(x)
        spatial = xt.shape[2:]
        if op is TRANSPOSE:
            kt = k.permute(nd + 1, nd, *range(nd))  # (..., out, in) -> (in, out, ...)
            full = (F.conv_transpose1d if nd == 1 else F.conv_transpose2d)(xt, kt, stride=s, dilation=d)
            ops = per_axis(kw.get("output_padding"), nd)
            windows = [keras_transpose_window(L, kk, ss, dd, padding, o)
                       for L, kk, ss, dd, o in zip(spatial, k.shape[:nd], s, d, ops)]
            extra = [max(0, c + o - f) for (c, o), f in zip(windows, full.shape[2:])]
            full = F.pad(full, [v for e in reversed(extra) for v in (0, e)])
            y = full[(slice(None), slice(None), *(slice(c, c + o) for c, o in windows))]
            return from_torch(y)
        if padding == "same":
            pads = [tf_same_pads(L, kk, ss, dd) for L, kk, ss, dd in zip(spatial, k.shape[:nd], s, d)]
        elif padding == "causal":
            pads = [((k.shape[0] - 1) * d[0], 0)]
        else:
            pads = [(0, 0)] * nd
        xt = F.pad(xt, [v for p in reversed(pads) for v in p])
        if op is DEPTHWISE:
            c, m = k.shape[-2], k.shape[-1]
            kt = k.reshape(*k.shape[:nd], c * m).permute(nd, *range(nd)).unsqueeze(1)  # (c·m, 1, ...)
            groups = c
        else:
            kt = k.permute(nd + 1, nd, *range(nd))  # (..., in, out) -> (out, in, ...)
            groups = 1
        y = (F.conv1d if nd == 1 else F.conv2d)(xt, kt.contiguous(), stride=s, dilation=d, groups=groups)
        return from_torch(y)

    return fn


def inputs_for(x_shape, k_shape, seed=0):
    rng = numpy.random.default_rng(seed)
    return rng.standard_normal(x_shape), rng.standard_normal(k_shape) / math.sqrt(math.prod(k_shape[:-1]))


# ---- the harness ----------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("op, x_shape, k_shape, kw", CASES)
def test_conv_forward_and_gradients_match_torch(op, x_shape, k_shape, kw):
    nd = len(k_shape) - 2
    x, k = inputs_for(x_shape, k_shape)
    compare_with_torch(lambda a, b: op(a, b, **kw), torch_op(op, kw, nd), [x, k], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op, x_shape, k_shape, kw", CASES)
def test_conv_gradients_match_central_differences(op, x_shape, k_shape, kw):
    x, k = inputs_for((1, *x_shape[1:]), k_shape, seed=1)  # one image keeps the finite differences cheap
    assert nk.gradcheck(lambda a, b: op(a, b, **kw), [x, k])


# ---- output shapes: Keras's formulas, as literal numbers --------------------------------
@pytest.mark.parametrize("op, x_shape, k_shape, kw, expected", [
    (CONV, (2, 7, 9, 3), (3, 3, 3, 5), dict(strides=2, padding="same"), (2, 4, 5, 5)),
    (CONV, (2, 7, 9, 3), (3, 3, 3, 5), dict(strides=2, padding="valid"), (2, 3, 4, 5)),
    (CONV, (2, 7, 9, 3), (4, 4, 3, 5), dict(strides=3, padding="valid"), (2, 2, 2, 5)),
    (CONV, (2, 7, 9, 3), (3, 3, 3, 5), dict(dilation_rate=2, padding="valid"), (2, 3, 5, 5)),
    (CONV, (2, 7, 9, 3), (3, 3, 3, 5), dict(dilation_rate=2, padding="same"), (2, 7, 9, 5)),
    (CONV, (2, 9, 3), (3, 3, 4), dict(strides=2, padding="causal"), (2, 5, 4)),
    (DEPTHWISE, (2, 7, 9, 3), (3, 3, 3, 2), dict(strides=2, padding="same"), (2, 4, 5, 6)),
    (TRANSPOSE, (2, 4, 5, 3), (3, 3, 6, 3), dict(strides=2, padding="same"), (2, 8, 10, 6)),
    (TRANSPOSE, (2, 4, 5, 3), (3, 3, 6, 3), dict(strides=2, padding="valid"), (2, 9, 11, 6)),
    (TRANSPOSE, (2, 4, 5, 3), (3, 3, 6, 3), dict(strides=2, padding="same", output_padding=1), (2, 8, 10, 6)),
    (TRANSPOSE, (2, 4, 5, 3), (3, 3, 6, 3), dict(strides=2, padding="valid", output_padding=1), (2, 10, 12, 6)),
    (TRANSPOSE, (2, 4, 5, 3), (2, 2, 6, 3), dict(strides=2, padding="same"), (2, 8, 10, 6)),
    (TRANSPOSE, (2, 4, 5, 3), (1, 1, 6, 3), dict(strides=2, padding="valid"), (2, 8, 10, 6)),
    (TRANSPOSE, (2, 4, 5, 3), (3, 3, 6, 3), dict(strides=1, padding="same", dilation_rate=2), (2, 4, 5, 6)),
    (TRANSPOSE, (2, 6, 3), (4, 5, 3), dict(strides=3, padding="valid"), (2, 19, 5)),
])
def test_conv_output_shapes_follow_keras(op, x_shape, k_shape, kw, expected):
    x, k = inputs_for(x_shape, k_shape)
    assert op(x, k, **kw).shape == expected


def test_conv_transpose_is_the_adjoint_of_conv():
    # <conv(y, K), x> = <y, conv_transpose(x, K)> for every y of the transposed output's shape
    rng = numpy.random.default_rng(3)
    for kw in (dict(strides=2, padding="same"), dict(strides=2, padding="valid"), dict(strides=3, padding="same"),
               dict(strides=1, padding="same", dilation_rate=2)):
        k = rng.standard_normal((3, 3, 4, 2))
        x = rng.standard_normal((2, 5, 4, 2))
        y_t = C.conv_transpose(x, k, **kw).numpy()
        y = rng.standard_normal(y_t.shape)
        forward = C.conv(y, k, **{**kw, "padding": kw["padding"]}).numpy()
        assert forward.shape == x.shape, kw
        numpy.testing.assert_allclose((forward * x).sum(), (y * y_t).sum(), rtol=1e-10)


# ---- the fast path against the plain definition; chunks and threads ----------------------
@pytest.mark.parametrize("threads", ["1", "2"])
def test_conv_chunks_and_threads_match_reference(monkeypatch, threads):
    monkeypatch.setenv("NEURONKA_CONV_THREADS", threads)
    monkeypatch.setattr(C.threads, "_CHUNK_BYTES", 4000)  # a few images per chunk: many chunks
    monkeypatch.setattr(C.threads, "_SHIFTED_CHUNK_BYTES", 4000)
    rng = numpy.random.default_rng(4)
    for kh, kw_, s, d, padding, c, o in [(3, 3, 1, 1, "same", 3, 5), (3, 3, 1, 1, "same", 5, 3),
                                         (3, 3, 2, 1, "same", 3, 5), (2, 3, 1, 2, "valid", 5, 5),
                                         (1, 1, 2, 1, "valid", 3, 5), (4, 4, 2, 1, "same", 5, 3)]:
        x = rng.standard_normal((13, 9, 8, c)).astype(numpy.float32)
        w = rng.standard_normal((kh, kw_, c, o)).astype(numpy.float32)
        g = C.conv_geometry((9, 8), (kh, kw_), (s, s), (d, d), padding)
        ref = C.reference_conv2d(x.astype(numpy.float64), w.astype(numpy.float64), (s, s), (d, d),
                                 (g.pt, g.pl), (g.ho, g.wo))
        xt, wt = nk.Tensor(x, requires_grad=True), nk.Tensor(w, requires_grad=True)
        y = C.conv(xt, wt, strides=s, padding=padding, dilation_rate=d)
        numpy.testing.assert_allclose(y.numpy(), ref, rtol=1e-4, atol=1e-4)
        gy = rng.standard_normal(y.shape).astype(numpy.float32)
        y.backward(gy)
        # the same gradients with the whole batch in one chunk on one thread
        monkeypatch.setattr(C.threads, "_CHUNK_BYTES", 10**9)
        monkeypatch.setattr(C.threads, "_SHIFTED_CHUNK_BYTES", 10**9)
        monkeypatch.setenv("NEURONKA_CONV_THREADS", "1")
        xt2, wt2 = nk.Tensor(x, requires_grad=True), nk.Tensor(w, requires_grad=True)
        C.conv(xt2, wt2, strides=s, padding=padding, dilation_rate=d).backward(gy)
        numpy.testing.assert_allclose(xt.grad, xt2.grad, rtol=1e-5, atol=1e-5)
        numpy.testing.assert_allclose(wt.grad, wt2.grad, rtol=1e-4, atol=1e-4)
        monkeypatch.setattr(C.threads, "_CHUNK_BYTES", 4000)
        monkeypatch.setattr(C.threads, "_SHIFTED_CHUNK_BYTES", 4000)
        monkeypatch.setenv("NEURONKA_CONV_THREADS", threads)


SHIFTED_GEOMETRIES = [  # (h, w, kh, kw, dilation, padding, c, o): every stride-1 case the shifted GEMMs take
    (7, 9, 3, 3, (1, 1), "same", 4, 5), (7, 9, 3, 3, (1, 1), "valid", 5, 4), (8, 8, 3, 3, (2, 2), "same", 3, 2),
    (5, 6, 2, 3, (1, 1), "same", 3, 7), (10, 4, 5, 1, (1, 1), "valid", 2, 3), (1, 11, 1, 3, (1, 2), "causal", 5, 5),
    (6, 6, 1, 3, (1, 1), "same", 3, 3), (16, 16, 3, 3, (1, 1), "same", 16, 16), (4, 4, 3, 3, (1, 1), "same", 8, 8),
    (6, 7, 4, 4, (1, 1), "same", 3, 4), (3, 9, 1, 5, (1, 2), "same", 2, 3), (9, 8, 3, 2, (2, 3), "valid", 3, 2),
    (1, 1, 3, 3, (1, 1), "same", 2, 2),
    # channels in multiples of the compiled kernels' lanes (8 float64, 16 float32 with AVX-512), both ways
    (9, 7, 3, 3, (1, 1), "same", 16, 48), (6, 5, 3, 3, (1, 1), "valid", 32, 16), (5, 8, 3, 3, (2, 1), "same", 64, 8),
]


@pytest.mark.skipif(not C.blas.available(numpy.float64), reason="NumPy's BLAS cannot be called directly here "
                    "(not NumPy's bundled OpenBLAS): the shifted-GEMM path is off and im2col runs")
@pytest.mark.parametrize("dtype, tol", [(numpy.float64, 1e-12), (numpy.float32, 2e-5)])
@pytest.mark.parametrize("geometry", SHIFTED_GEOMETRIES,
                         ids=lambda t: "x".join(map(str, t[:4])) + f"-{t[5]}-{t[6]}to{t[7]}")
@pytest.mark.parametrize("kernels", [True, False], ids=["compiled", "blas"])
def test_conv_shifted_gemms_match_im2col_and_the_definition(geometry, dtype, tol, kernels, monkeypatch):
    h, w_, kh, kw_, d, padding, c, o = geometry
    monkeypatch.setattr(C.blas, "_use_direct", kernels and C.blas.direct_available())
    rng = numpy.random.default_rng(5)
    x = rng.standard_normal((3, h, w_, c)).astype(dtype)
    w = rng.standard_normal((kh, kw_, c, o)).astype(dtype)
    g = C.conv_geometry((h, w_), (kh, kw_), (1, 1), d, padding)
    gy = rng.standard_normal((3, g.ho, g.wo, o)).astype(dtype)
    ref = C.reference_conv2d(x.astype(numpy.float64), w.astype(numpy.float64), (1, 1), d, (g.pt, g.pl), (g.ho, g.wo))
    grid = C._shifted_grid(g, x, w, gy)
    assert grid is not None
    y, (dx, dw) = C._shifted_forward(x, w, g, grid), C._shifted_backward(x, w, gy, g, grid, True, True)
    previous = C.set_strategy("im2col")
    try:
        assert C._shifted_grid(g, x, w, gy) is None
        y0, (dx0, dw0) = C.conv_forward(x, w, g), C.conv_backward(x, w, gy, g)
    finally:
        C.set_strategy(previous)
    scale = numpy.abs(ref).max()
    numpy.testing.assert_allclose(y, ref, atol=tol * scale)
    numpy.testing.assert_allclose(y, y0, atol=tol * scale)
    numpy.testing.assert_allclose(dx, dx0, atol=tol * numpy.abs(dx0).max())
    numpy.testing.assert_allclose(dw, dw0, atol=tol * numpy.abs(dw0).max())
    # one gradient alone (the other not needed) is the same number
    assert C._shifted_backward(x, w, gy, g, grid, False, True)[0] is None
    numpy.testing.assert_allclose(C._shifted_backward(x, w, gy, g, grid, True, False)[0], dx, atol=tol)


STRIDED_GEOMETRIES = [  # (h, w, kh, kw, stride, dilation, padding, c, o): the compiled strided forward
    (34, 34, 3, 3, 2, (1, 1), "valid", 16, 32),  # a ResNet's ZeroPadding2D → Conv2D(strides=2): x read in place
    (32, 32, 3, 3, 2, (1, 1), "same", 16, 32), (9, 11, 3, 3, 2, (1, 1), "same", 3, 16),
    (10, 7, 3, 3, 3, (1, 1), "valid", 5, 64), (8, 9, 2, 2, 2, (2, 2), "same", 4, 48),
    (7, 7, 1, 1, 2, (1, 1), "valid", 8, 16), (11, 10, 3, 3, 2, (1, 1), "same", 16, 16),
    (13, 12, 4, 3, 3, (1, 1), "same", 32, 16), (16, 16, 3, 3, 2, (1, 1), "same", 64, 16),
]


@pytest.mark.skipif(not C.blas.direct_available(numpy.float32), reason="the compiled kernels of "
                    "neuronka/ops/_shifted.c are not built here: strided convolutions run as im2col")
@pytest.mark.parametrize("dtype, tol", [(numpy.float64, 1e-12), (numpy.float32, 2e-5)])
@pytest.mark.parametrize("geometry", STRIDED_GEOMETRIES,
                         ids=lambda t: "x".join(map(str, t[:4])) + f"-s{t[4]}-{t[6]}-{t[7]}to{t[8]}")
def test_strided_compiled_forward_matches_im2col_and_the_definition(geometry, dtype, tol):
    h, w_, kh, kw_, s, d, padding, c, o = geometry
    if o % C.blas.direct_lanes(dtype):
        pytest.skip("output channels no multiple of the vector's lanes for this dtype: im2col runs")
    rng = numpy.random.default_rng(6)
    x = rng.standard_normal((5, h, w_, c)).astype(dtype)
    w = rng.standard_normal((kh, kw_, c, o)).astype(dtype)
    g = C.conv_geometry((h, w_), (kh, kw_), (s, s), d, padding)
    assert C._strided_direct(g, x, w)
    ref = C.reference_conv2d(x.astype(numpy.float64), w.astype(numpy.float64), (s, s), d, (g.pt, g.pl), (g.ho, g.wo))
    y = C._strided_forward(x, w, g)
    previous = C.set_strategy("im2col")
    try:
        assert not C._strided_direct(g, x, w)
        y0 = C.conv_forward(x, w, g)
    finally:
        C.set_strategy(previous)
    scale = numpy.abs(ref).max()
    numpy.testing.assert_allclose(y, ref, atol=tol * scale)
    numpy.testing.assert_allclose(y, y0, atol=tol * scale)
    if d == (1, 1) and kh >= s and kw_ >= s and c % C.blas.direct_lanes(dtype) == 0:  # the input gradient's phases
        gy = rng.standard_normal(y.shape).astype(dtype)
        dx = C._strided_input_grad(w, gy, g, x.shape)
        previous = C.set_strategy("im2col")
        try:
            dx0 = C.conv_backward(x, w, gy, g, need_w=False)[0]
        finally:
            C.set_strategy(previous)
        numpy.testing.assert_allclose(dx, dx0, atol=tol * numpy.abs(dx0).max())
        numpy.testing.assert_allclose(C.conv_backward(x, w, gy, g, need_w=False)[0], dx, atol=tol * numpy.abs(dx).max())
    bias = rng.standard_normal(o).astype(dtype)  # the folded epilogue, as the inference plans call it
    numpy.testing.assert_allclose(C.conv_forward(x, w, g, bias=bias, relu=True), numpy.maximum(ref + bias, 0),
                                  atol=tol * scale)


BORDERLESS_SHAPES = [  # (n, h, w, c, o): 3×3 "same" convolutions on the unpadded images (blas.conv3x3_same)
    (3, 32, 32, 16, 16), (2, 16, 16, 32, 32), (3, 8, 8, 64, 64), (2, 5, 16, 16, 48), (2, 1, 16, 32, 16),
    (2, 2, 8, 64, 32), (2, 6, 32, 3, 16), (1, 3, 16, 16, 32),
]


@pytest.mark.skipif(not C.blas.direct_available(numpy.float32), reason="the compiled kernels of "
                    "neuronka/ops/_shifted.c are not built here: the grid path runs")
@pytest.mark.parametrize("dtype, tol", [(numpy.float64, 1e-12), (numpy.float32, 2e-5)])
@pytest.mark.parametrize("shape", BORDERLESS_SHAPES, ids=lambda t: "x".join(map(str, t)))
def test_borderless_3x3_same_kernels_match_the_grid_path_and_the_definition(shape, dtype, tol):
    n, h, w_, c, o = shape
    rng = numpy.random.default_rng(7)
    x = rng.standard_normal((n, h, w_, c)).astype(dtype)
    w = rng.standard_normal((3, 3, c, o)).astype(dtype)
    g = C.conv_geometry((h, w_), (3, 3), (1, 1), (1, 1), "same")
    gy = rng.standard_normal((n, h, w_, o)).astype(dtype)
    # float64 has half the lanes: its widest cases go to the grid path instead, which must agree as well
    lanes = C.blas.direct_lanes(dtype)
    assert C._borderless(g, x, w, o) == (o % lanes == 0 and o <= 4 * lanes), (o, lanes)
    ref = C.reference_conv2d(x.astype(numpy.float64), w.astype(numpy.float64), (1, 1), (1, 1), (1, 1), (h, w_))
    y, (dx, dw) = C.conv_forward(x, w, g), C.conv_backward(x, w, gy, g)
    previous = C.set_strategy("grid")
    try:
        assert not C._borderless(g, x, w, o) and C._shifted_grid(g, x, w) is not None
        yg, (dxg, dwg) = C.conv_forward(x, w, g), C.conv_backward(x, w, gy, g)
        C.set_strategy("im2col")  # the reference: im2col
        assert not C._borderless(g, x, w, o) and C._shifted_grid(g, x, w) is None
        y0, (dx0, dw0) = C.conv_forward(x, w, g), C.conv_backward(x, w, gy, g)
    finally:
        C.set_strategy(previous)
    for a, b in ((yg, y0), (dxg, dx0), (dwg, dw0)):
        numpy.testing.assert_allclose(a, b, atol=tol * numpy.abs(b).max())
    scale = numpy.abs(ref).max()
    numpy.testing.assert_allclose(y, ref, atol=tol * scale)
    numpy.testing.assert_allclose(y, y0, atol=tol * scale)
    numpy.testing.assert_allclose(dx, dx0, atol=tol * numpy.abs(dx0).max())
    numpy.testing.assert_allclose(dw, dw0, atol=tol * numpy.abs(dw0).max())
    assert C.conv_backward(x, w, gy, g, need_x=False)[0] is None
    numpy.testing.assert_allclose(C.conv_backward(x, w, gy, g, need_w=False)[0], dx, atol=tol * numpy.abs(dx).max())
    numpy.testing.assert_allclose(C.conv_backward(x, w, gy, g, need_x=False)[1], dw, atol=tol * numpy.abs(dw).max())
    bias = rng.standard_normal(o).astype(dtype)
    numpy.testing.assert_allclose(C.conv_forward(x, w, g, bias=bias, relu=True), numpy.maximum(ref + bias, 0),
                                  atol=tol * scale)



@pytest.mark.skipif(not C.blas.direct_available(numpy.float32), reason="the compiled kernels are not built here")
def test_borderless_kernel_computes_only_the_rows_asked_for():
    rng = numpy.random.default_rng(8)
    x = rng.standard_normal((2, 5, 16, 16)).astype(numpy.float32)
    w = rng.standard_normal((3, 3, 16, 16)).astype(numpy.float32)
    whole = numpy.empty((2, 5, 16, 16), numpy.float32)
    assert C.blas.conv3x3_same(x, w, whole)
    parts = numpy.full_like(whole, numpy.nan)
    for rows in ((0, 3), (3, 7), (7, 7), (7, 10)):  # uneven, across the two images, one empty
        assert C.blas.conv3x3_same(x, w, parts, rows=rows)
        flat = parts.reshape(10, 16, 16)
        assert numpy.isnan(flat[rows[1]:]).all(), f"rows {rows}: wrote past its end"
    numpy.testing.assert_array_equal(parts, whole)
    with pytest.raises(ValueError, match=r"expected rows within \[0, 10\]"):
        C.blas.conv3x3_same(x, w, parts, rows=(4, 11))

def test_borderless_kernels_refuse_what_they_do_not_cover():
    if not C.blas.direct_available(numpy.float32):
        pytest.skip("the compiled kernels are not built here")
    lanes = C.blas.direct_lanes(numpy.float32)
    x = numpy.ones((1, 4, 12, 16), numpy.float32)  # a row of 12 pixels: no multiple of the tile widths
    assert not C.blas.conv3x3_same(x, numpy.ones((3, 3, 16, lanes), numpy.float32),
                                   numpy.zeros((1, 4, 12, lanes), numpy.float32))
    # 5 channels: the weight gradient's tiles take 8 at a time with AVX-512, 3 at a time with AVX2, and the
    # channels left over one at a time (taken, and equal to im2col's)
    rng = numpy.random.default_rng(2)
    x5 = rng.standard_normal((2, 4, 16, 5)).astype(numpy.float32)
    g5 = rng.standard_normal((2, 4, 16, lanes)).astype(numpy.float32)
    dw = numpy.zeros((3, 3, 5, lanes), numpy.float32)
    assert C.blas.conv3x3_same_wgrad(x5, g5, dw)
    previous = C.set_strategy("im2col")
    try:
        dw0 = C.conv_backward(x5, numpy.zeros((3, 3, 5, lanes), numpy.float32), g5,
                              C.conv_geometry((4, 16), (3, 3), (1, 1), (1, 1), "same"), need_x=False)[1]
    finally:
        C.set_strategy(previous)
    numpy.testing.assert_allclose(dw, dw0, rtol=1e-5, atol=1e-5)
    assert not C.blas.conv3x3_same_wgrad(x5, numpy.ones((2, 4, 16, 5 * lanes), numpy.float32),
                                         numpy.zeros((3, 3, 5, 5 * lanes), numpy.float32))  # > 4 vectors
    x = numpy.ones((1, 4, 16, 3), numpy.float32)
    with pytest.raises(ValueError, match="an output of shape"):
        C.blas.conv3x3_same(x, numpy.ones((3, 3, 3, lanes), numpy.float32), numpy.zeros((1, 4, 15, lanes),
                                                                                      numpy.float32))


def test_conv_strategy_names_are_checked():
    with pytest.raises(ValueError, match=r"expected one of \('auto', 'grid', 'im2col'\), received 'winograd'"):
        C.set_strategy("winograd")


def test_conv_keeps_dtype_and_casts_integers():
    x = numpy.ones((1, 4, 4, 2), numpy.float64)
    k = numpy.ones((3, 3, 2, 1), numpy.float32)
    assert C.conv(x, k, padding="same").dtype == numpy.float64
    assert C.conv(x.astype(numpy.float32), k).dtype == numpy.float32
    y = C.conv(numpy.ones((1, 4, 4, 2), numpy.uint8), k, padding="same")
    assert y.dtype == numpy.float32 and y.numpy()[0, 1, 1, 0] == 18


@pytest.mark.parametrize("op, x_shape, k_shape, kw", [
    (CONV, (2, 6, 5, 3), (3, 3, 3, 4), dict(strides=2, padding="same")),
    (CONV, (2, 6, 5, 3), (1, 1, 3, 4), dict()),
    (TRANSPOSE, (2, 3, 4, 3), (3, 3, 4, 3), dict(strides=2, padding="same")),
    (DEPTHWISE, (2, 6, 5, 3), (3, 3, 3, 2), dict(padding="same")),
])
def test_conv_backward_accepts_broadcast_and_strided_gradients(op, x_shape, k_shape, kw):
    # y.sum() hands back a zero-stride broadcast gradient; channels_first hands back transposed views
    x, k = inputs_for(x_shape, k_shape)
    grads = []
    for reduce in (lambda y: y.sum(), lambda y: (y * numpy.ones(y.shape)).sum()):
        xt, kt = nk.Tensor(x, requires_grad=True), nk.Tensor(k, requires_grad=True)
        reduce(op(xt, kt, **kw)).backward()
        grads.append((xt.grad, kt.grad))
    for a, b in zip(*grads):
        numpy.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_torch_oracle_layout():
    # why the oracle makes its NCHW tensors contiguous: torch 2.13 (CPU) returns a wrong weight gradient
    # for a 1x1 convolution with strides (1, 2) on a channels_last-strided input
    torch = torch_or_skip()
    rng = numpy.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((2, 3, 9, 10)), dtype=torch.float32)
    w = torch.tensor(rng.standard_normal((4, 3, 1, 1)), dtype=torch.float32)
    grads = []
    for xin in (x, x.contiguous(memory_format=torch.channels_last)):
        wt = w.clone().requires_grad_()
        y = torch.nn.functional.conv2d(xin, wt, stride=(1, 2))
        y.backward(torch.ones_like(y))
        grads.append(wt.grad)
    expected = x[:, :, :, ::2].sum(dim=(0, 2, 3))
    numpy.testing.assert_allclose(grads[0][:, :, 0, 0].numpy(), expected.expand(4, 3).numpy(), rtol=1e-5)


# ---- errors name the argument, what was expected and what was received ---------------------
@pytest.mark.parametrize("call, message", [
    (lambda: C.conv(numpy.ones((2, 8, 3)), numpy.ones((3, 3, 3, 4))),
     r"conv: expected inputs of rank 4 \(batch, height, width, channels\) for a 2-D kernel, received shape "
     r"\(2, 8, 3\)"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 4))),
     r"conv: expected inputs of rank 3 \(batch, width, channels\) for a 1-D kernel, received shape \(2, 8, 8, 3\)"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 3, 3, 4))),
     r"conv: expected inputs of rank 5 \(batch, depth, height, width, channels\) for a 3-D kernel, received "
     r"shape \(2, 8, 8, 3\)"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 4))),
     r"conv: expected a kernel of rank 3 .*, 4 .* or 5 .*received kernel shape \(3, 4\)"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 4, 5))),
     r"conv: the inputs have 3 channels but the kernel expects 4"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 3, 5)), padding="full"),
     r"conv: expected padding 'valid' or 'same', received padding='full'"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 3, 5)), padding="causal"),
     r"conv: expected padding 'valid' or 'same', received padding='causal'"),
    (lambda: C.conv(numpy.ones((2, 8, 3)), numpy.ones((3, 3, 5)), padding="circular"),
     r"conv: expected padding 'valid' or 'same' or 'causal', received padding='circular'"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 3, 5)), strides=0),
     r"conv: expected strides to be an integer >= 1 .*received strides=0"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 3, 5)), dilation_rate=(1, 2, 3)),
     r"conv: expected dilation_rate to be an integer >= 1 or a tuple of 2 .*received dilation_rate=\(1, 2, 3\)"),
    (lambda: C.conv(numpy.ones((2, 2, 8, 3)), numpy.ones((3, 3, 3, 5))),
     r"conv: with padding='valid' the dilated kernel \(3\) must fit in the input's spatial size 2"),
    (lambda: C.conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 3, 5)), data_format="NHWC"),
     r"conv: expected data_format 'channels_last' or 'channels_first', received data_format='NHWC'"),
    (lambda: C.depthwise_conv(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 2, 1))),
     r"depthwise_conv: the inputs have 3 channels but the kernel expects 2"),
    (lambda: C.conv_transpose(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 3, 4)), 2),
     r"conv_transpose: the inputs have 3 channels but the kernel expects 4 .*\(\.\.\., out_channels, in_channels\)"),
    (lambda: C.conv_transpose(numpy.ones((2, 8, 3)), numpy.ones((3, 3, 4, 3)), 2),
     r"conv_transpose: expected inputs of rank 4 \(batch, height, width, channels\) for a 2-D kernel"),
    (lambda: C.conv_transpose(numpy.ones((2, 8, 8, 3)), numpy.ones((3, 3, 4, 3)), 2, output_padding=-1),
     r"conv_transpose: expected output_padding to be an integer >= 0"),
])
def test_conv_errors_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_conv_backward_casts_a_float64_gradient_of_a_float32_convolution():
    # a text model's masked loss can hand a float64 gradient to a float32 Conv1D: it must not reach BLAS as is
    rng = numpy.random.default_rng(6)
    x = rng.standard_normal((2, 6, 5, 3)).astype(numpy.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(numpy.float32)
    g = C.conv_geometry((6, 5), (3, 3), (1, 1), (1, 1), "same")
    gy = rng.standard_normal((2, 6, 5, 4))
    dx, dw = C.conv_backward(x, w, gy, g)
    dx32, dw32 = C.conv_backward(x, w, gy.astype(numpy.float32), g)
    assert dx.dtype == numpy.float32 and dw.dtype == numpy.float32
    numpy.testing.assert_allclose(dx, dx32, rtol=1e-5, atol=1e-5)
    numpy.testing.assert_allclose(dw, dw32, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not C.blas.direct_available(numpy.float32), reason="the compiled kernels are not built here")
def test_wide_channels_and_single_images_go_to_im2col(monkeypatch):
    """Strategy "auto": the shifted tiles for narrow channels with an image per thread; im2col + BLAS for
    C·O ≥ 128 × 128 and for a batch smaller than the worker threads; "grid" forces the tiles. The results
    agree whichever runs."""
    monkeypatch.setattr(C, "num_workers", lambda: 2)
    rng = numpy.random.default_rng(4)
    g = C.conv_geometry((7, 7), (3, 3), (1, 1), (1, 1), "same")
    for n, c, o, expected in ((2, 64, 64, "SHIFTED"), (2, 128, 128, "IM2COL"), (2, 64, 256, "IM2COL"),
                              (2, 120, 128, "SHIFTED"), (1, 64, 64, "IM2COL"), (3, 64, 64, "SHIFTED")):
        x = rng.standard_normal((n, 7, 7, c)).astype(numpy.float32)
        w = rng.standard_normal((3, 3, c, o)).astype(numpy.float32)
        gy = rng.standard_normal((n, 7, 7, o)).astype(numpy.float32)
        assert C.select_forward(g, x, w)[0].name == expected, (n, c, o)
        assert C.select_backward(g, x, w, gy, True, True)[0].name == expected, (n, c, o)
        y, (dx, dw) = C.conv_forward(x, w, g), C.conv_backward(x, w, gy, g)
        previous = C.set_strategy("grid")
        try:
            assert C.select_forward(g, x, w)[0].name == "SHIFTED"
            numpy.testing.assert_allclose(C.conv_forward(x, w, g), y, rtol=1e-4, atol=1e-4)
            dx_grid, dw_grid = C.conv_backward(x, w, gy, g)
            numpy.testing.assert_allclose(dx_grid, dx, rtol=1e-4, atol=1e-4)
            numpy.testing.assert_allclose(dw_grid, dw, rtol=1e-4, atol=2e-4 * numpy.abs(dw).max())
        finally:
            C.set_strategy(previous)
