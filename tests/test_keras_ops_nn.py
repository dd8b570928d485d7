"""keras.ops.nn against real Keras 3.15.1: activations (keras.ops defaults), convolutions (1-D, 2-D; strides,
dilation, padding, data_format, groups), pooling (fixed and adaptive, 1-D to 3-D where neuronka has them),
normalizations, one_hot / multi_hot, psnr, polar, depth_to_space / space_to_depth, unfold / fold and
dot_product_attention (multi-head, grouped and multi-query, bias, padding and full masks, causal), with
values, shapes, dtypes, and gradients against central differences in float64; attention's gradients also
against ``torch.nn.functional.scaled_dot_product_attention`` in float32.

Where neuronka deliberately differs from Keras's torch backend, the test says so and checks the defined
behaviour instead: average pooling with uneven "same" padding counts only real elements (TensorFlow and
JAX; torch pads by replicating the edge), one_hot of a label ≥ num_classes is a zero vector (TensorFlow and
JAX; torch raises), ops.conv's 1-D "causal" padding is an extension (Keras's torch backend silently runs
"valid").
"""
from __future__ import annotations

import warnings

import numpy
import pytest

import neuronka as nk

from .helpers import torch_or_skip
from .keras_oracle import OpCase, assert_same, keras_api, keras_or_skip, op_cases, resolve

F32 = "float32"


def normal(*shapes, dtype=F32):
    return lambda r: tuple(r.normal(s, dtype=dtype) for s in shapes)


def smooth(shape, dtype=F32):
    """Normal inputs kept 0.15 away from the kinks of the activations (0, ±0.5, ±1, ±3, 6)."""
    kinks = numpy.array([0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0])

    def make(r):
        x = r.normal(shape, dtype="float64") * 2.5
        near = (numpy.abs(x[..., None] - kinks) < 0.15).any(-1)
        return (numpy.where(near, x + 0.3, x).astype(dtype),)
    return make


def _torch_tensors(keras_name):
    """Keras's torch backend passes numpy arrays to unfold/fold untouched (torch refuses them): convert first."""
    def call(*args, **kwargs):
        keras = keras_or_skip()
        return resolve(keras, keras_name)(*[keras.ops.convert_to_tensor(a) for a in args], **kwargs)
    return call


# ----------------------------------------------------------------------------------------------
# activations with keras.ops defaults
# ----------------------------------------------------------------------------------------------
ACTIVATIONS = {
    "celu": {"alpha": 0.5}, "elu": {"alpha": 0.5}, "gelu": {"approximate": False}, "hard_shrink": {"threshold": 1.0},
    "hard_sigmoid": None, "hard_silu": None, "hard_swish": None, "hard_tanh": None,
    "leaky_relu": {"negative_slope": 0.3}, "log_sigmoid": None, "relu": None, "relu6": None, "selu": None,
    "sigmoid": None, "silu": None, "soft_shrink": {"threshold": 1.0}, "softplus": None, "softsign": None,
    "sparse_plus": None, "sparse_sigmoid": None, "squareplus": {"b": 2}, "swish": None, "tanh_shrink": None,
}
INT_OK = ("hard_tanh", "relu", "relu6", "sigmoid", "softsign", "sparse_plus", "sparse_sigmoid", "squareplus",
          "tanh_shrink")


def _activation_rows():
    rows = []
    for name, kw in ACTIVATIONS.items():
        q = f"ops.{name}"
        rows.append(OpCase(q, smooth((3, 4)), grad=(0,)))
        rows.append(OpCase(q, smooth((2, 3, 5)), id="3d"))
        rows.append(OpCase(q, smooth((2, 6), "float16"), id="float16", rtol=3e-3, atol=3e-3))
        if kw:
            rows.append(OpCase(q, smooth((3, 4)), kw, id="kwargs", grad=(0,)))
        if name in INT_OK:
            rows.append(OpCase(q, lambda r: (r.ints((2, 5), -4, 5),), id="int32"))
    rows += [
        OpCase("ops.threshold", smooth((3, 4)), {"threshold": 0.5, "default_value": 3.0}, grad=(0,)),
        OpCase("ops.threshold", lambda r: (r.ints((2, 5), -4, 5),), {"threshold": 0, "default_value": -1}, id="int"),
        OpCase("ops.softmax", smooth((3, 5)), grad=(0,)),
        OpCase("ops.tanh", smooth((3, 5)), grad=(0,)),
        OpCase("ops.tanh", lambda r: (r.ints((2, 3), -3, 4),), id="int"),
        OpCase("ops.tanh", lambda r: (r.normal((2, 3), "float64"),), id="float64"),
        OpCase("ops.softmax", smooth((2, 3, 4)), {"axis": (0, 2)}, id="axis_tuple", grad=(0,)),
        OpCase("ops.softmax", smooth((2, 3, 4)), {"axis": None}, id="axis_none"),
        OpCase("ops.log_softmax", smooth((3, 5)), {"axis": 0}, grad=(0,)),
        OpCase("ops.log_softmax", smooth((2, 3, 4)), {"axis": (1, 2)}, id="axis_tuple", grad=(0,)),
        OpCase("ops.glu", smooth((3, 6)), grad=(0,)),
        OpCase("ops.glu", smooth((4, 2, 3)), {"axis": 0}, id="axis0", grad=(0,)),
        OpCase("ops.sparsemax", lambda r: (r.normal((4, 5)) + 2.0 * numpy.eye(4, 5, dtype=F32) * 3,), grad=(0,)),
    ]
    return rows


# ----------------------------------------------------------------------------------------------
# convolutions
# ----------------------------------------------------------------------------------------------
def _conv_rows():
    rows = []
    for pad in ("valid", "same"):
        for kw in ({}, {"strides": 2}, {"dilation_rate": 2}, {"strides": (2, 1)}):
            kw = {**kw, "padding": pad}
            tag = "_".join(f"{k}{v}" for k, v in kw.items())
            rows.append(OpCase("ops.conv", normal((2, 9, 8, 3), (3, 3, 3, 4)), kw, id=f"2d_{tag}"))
            kw1 = {k: (v[0] if isinstance(v, tuple) else v) for k, v in kw.items()}
            rows.append(OpCase("ops.conv", normal((2, 11, 3), (3, 3, 4)), kw1, id=f"1d_{tag}"))
            rows.append(OpCase("ops.depthwise_conv", normal((2, 9, 8, 3), (3, 3, 3, 2)), kw, id=f"2d_{tag}"))
            rows.append(OpCase("ops.conv_transpose", normal((2, 5, 4, 3), (3, 3, 4, 3)), kw, id=f"2d_{tag}"))
            rows.append(OpCase("ops.separable_conv", normal((2, 9, 8, 3), (3, 3, 3, 2), (1, 1, 6, 4)), kw,
                               id=f"2d_{tag}"))
    rows += [
        OpCase("ops.conv", normal((1, 4, 4, 2), (3, 2, 2, 2)), {"padding": "same"}, id="grad", grad=(0, 1)),
        OpCase("ops.conv", normal((2, 7, 2), (3, 2, 3)), {"strides": 2}, id="1d_grad", grad=(0, 1)),
        OpCase("ops.conv", normal((2, 3, 7, 6), (3, 3, 3, 4)), {"data_format": "channels_first", "strides": 2},
               id="channels_first"),
        OpCase("ops.conv", normal((2, 7, 6, 4), (3, 3, 2, 6)), {"padding": "same"}, id="groups2"),
        OpCase("ops.conv", normal((1, 5, 4, 4), (3, 3, 1, 4)), {}, id="groups4_grad", grad=(0, 1)),
        OpCase("ops.conv", normal((2, 9, 8, 3), (3, 3, 3, 4), dtype="float64"), {"padding": "same"}, id="float64"),
        OpCase("ops.conv_transpose", normal((2, 5, 4, 3), (3, 3, 4, 3)), id="default_strides_1"),
        OpCase("ops.conv_transpose", normal((2, 5, 4, 3), (3, 3, 4, 3)), {"strides": 2, "output_padding": 1},
               id="output_padding"),
        OpCase("ops.conv_transpose", normal((2, 6, 3), (3, 2, 3)), {"strides": 2, "padding": "same"}, id="1d"),
        OpCase("ops.conv_transpose", normal((2, 3, 4, 5), (3, 3, 2, 3)),
               {"strides": 2, "data_format": "channels_first"}, id="channels_first"),
        OpCase("ops.conv_transpose", normal((1, 3, 3, 2), (3, 3, 2, 2)), {"strides": 2, "padding": "same"},
               id="grad", grad=(0, 1)),
        OpCase("ops.depthwise_conv", normal((2, 3, 7, 6), (3, 3, 3, 2)), {"data_format": "channels_first"},
               id="channels_first"),
        OpCase("ops.depthwise_conv", normal((2, 11, 3), (3, 3, 2)), {"strides": 2, "padding": "same"}, id="1d"),
        OpCase("ops.depthwise_conv", normal((1, 5, 4, 2), (3, 3, 2, 2)), {"padding": "same"}, id="grad",
               grad=(0, 1)),
        OpCase("ops.separable_conv", normal((2, 11, 3), (3, 3, 2), (1, 6, 4)), {"padding": "same"}, id="1d"),
        OpCase("ops.separable_conv", normal((1, 5, 4, 2), (3, 3, 2, 1), (1, 1, 2, 3)), id="grad", grad=(0, 1, 2)),
    ]
    return rows


# ----------------------------------------------------------------------------------------------
# pooling
# ----------------------------------------------------------------------------------------------
def _pool_rows():
    rows = []
    for name in ("ops.max_pool", "ops.average_pool"):
        rows += [
            OpCase(name, normal((2, 8, 6, 3)), {"pool_size": 2}, id="2x2"),
            OpCase(name, normal((2, 9, 7, 3)), {"pool_size": 3, "strides": 2}, id="3_stride2_valid"),
            OpCase(name, normal((2, 9, 7, 3)), {"pool_size": 3, "strides": 2, "padding": "same"}, id="3_stride2_same"),
            OpCase(name, normal((2, 6, 5, 3)), {"pool_size": 3, "strides": 1, "padding": "same"}, id="3_stride1_same"),
            OpCase(name, normal((2, 6, 5, 3)), {"pool_size": (2, 3), "strides": (1, 2)}, id="rect"),
            OpCase(name, normal((2, 11, 3)), {"pool_size": 3, "strides": 2}, id="1d"),
            OpCase(name, normal((2, 3, 8, 6)), {"pool_size": 2, "data_format": "channels_first"}, id="channels_first"),
            OpCase(name, normal((1, 6, 5, 2)), {"pool_size": 3, "strides": 1, "padding": "same"}, id="grad",
                   grad=(0,)),
            OpCase(name, normal((2, 7, 6, 3), dtype="float64"), {"pool_size": 2}, id="float64"),
        ]
    for name in ("ops.adaptive_average_pool", "ops.adaptive_max_pool"):
        rows += [
            OpCase(name, normal((2, 7, 10, 3)), {"output_size": (3, 4)}, id="2d"),
            OpCase(name, normal((2, 8, 6, 3)), {"output_size": 2}, id="2d_divides"),
            OpCase(name, normal((2, 3, 7, 10)), {"output_size": 4, "data_format": "channels_first"},
                   id="channels_first"),
            OpCase(name, normal((2, 9, 3)), {"output_size": 4}, id="1d"),
            OpCase(name, normal((2, 5, 7, 6, 3)), {"output_size": (2, 3, 4)}, id="3d"),
            OpCase(name, normal((2, 4, 5, 6)), {"output_size": (2, 5)}, id="upsampling"),
            OpCase(name, normal((1, 5, 7, 2)), {"output_size": (3, 4)}, id="grad", grad=(0,)),
        ]
    return rows


# ----------------------------------------------------------------------------------------------
# normalization
# ----------------------------------------------------------------------------------------------
def _stats(r):
    return (r.normal((2, 3, 4)), r.normal((4,)), r.positive((4,)), r.normal((4,)), r.positive((4,)))


def _moments_sum(x, axes, keepdims=False):
    mean, var = nk.ops.moments(x, axes, keepdims=keepdims)
    return nk.ops.add(mean, var)


NORMALIZATION = [
    OpCase("ops.batch_normalization", lambda r: _stats(r)[:3], {"axis": -1}, id="no_affine", grad=(0, 1, 2)),
    OpCase("ops.batch_normalization", lambda r: _stats(r)[:3], {"axis": 2, "epsilon": 1e-2}, id="epsilon"),
    OpCase("ops.batch_normalization", lambda r: (r.normal((2, 4, 3)), *_stats(r)[1:3], 1, *_stats(r)[3:]),
           id="axis1_affine", grad=(0, 1, 2, 4, 5)),
    OpCase("ops.batch_normalization", lambda r: (*_stats(r)[:3], -1, None, _stats(r)[4]), id="scale_only"),
    OpCase("ops.layer_normalization", normal((3, 2, 5)), grad=(0,)),
    OpCase("ops.layer_normalization", normal((3, 2, 5), (5,), (5,)), id="gamma_beta", grad=(0, 1, 2)),
    OpCase("ops.layer_normalization", normal((3, 2, 5), (2, 5), (2, 5)), {"axis": (-2, -1), "epsilon": 1e-3},
           id="two_axes", grad=(0, 1, 2)),
    OpCase("ops.layer_normalization", normal((3, 4, 5), (5,)), {"rms_scaling": True}, id="rms_scaling",
           grad=(0, 1), marks=[pytest.mark.filterwarnings("ignore:.*rms_scaling")]),
    OpCase("ops.rms_normalization", normal((3, 5)), grad=(0,)),
    OpCase("ops.rms_normalization", normal((3, 5), (5,)), {"epsilon": 1e-3}, id="scale", grad=(0, 1)),
    OpCase("ops.moments", normal((3, 4, 5)), {"axes": (0, 2)}, grad=(0,), grad_fn=_moments_sum),
    OpCase("ops.moments", normal((3, 4, 5)), {"axes": [1], "keepdims": True}, id="keepdims", grad=(0,),
           grad_fn=_moments_sum),
    OpCase("ops.moments", normal((3, 4, 5), dtype="float64"), {"axes": -1}, id="int_axis_float64"),
    OpCase("ops.normalize", normal((3, 5)), grad=(0,)),
    OpCase("ops.normalize", normal((3, 5)), {"axis": 0, "order": 1}, id="l1_axis0", grad=(0,)),
    OpCase("ops.normalize", normal((2, 3, 4)), {"order": 3, "epsilon": 1e-3}, id="l3"),
]


# ----------------------------------------------------------------------------------------------
# one_hot, multi_hot, psnr, polar, depth_to_space, space_to_depth, unfold, fold
# ----------------------------------------------------------------------------------------------
def labels(*shape, low=-1, high=5):
    return lambda r: (r.ints(shape, low, high),)


ENCODING = [
    OpCase("ops.one_hot", labels(4), {"num_classes": 5}, id="1d"),
    OpCase("ops.one_hot", labels(2, 3), {"num_classes": 5}, id="2d_negative_labels"),
    OpCase("ops.one_hot", labels(2, 3), {"num_classes": 5, "axis": 0}, id="axis0"),
    OpCase("ops.one_hot", labels(2, 3), {"num_classes": 5, "axis": 1}, id="axis1"),
    OpCase("ops.one_hot", labels(2, 3), {"num_classes": 6, "dtype": "int32"}, id="int32"),
    OpCase("ops.one_hot", lambda r: (r.ints((2, 3), 0, 4, "int64"),), {"num_classes": 4, "dtype": "bool"},
           id="int64_to_bool"),
    OpCase("ops.one_hot", lambda r: (r.bools((3,)),), {"num_classes": 2}, id="bool"),
    OpCase("ops.one_hot", lambda r: (numpy.array([0.7, 2.2, 3.9], F32),), {"num_classes": 4}, id="float_truncated"),
    OpCase("ops.multi_hot", labels(4, low=0), {"num_classes": 5}, id="1d"),
    OpCase("ops.multi_hot", labels(3, 4, low=0), {"num_classes": 6}, id="2d"),
    OpCase("ops.multi_hot", labels(2, 3, 4, low=0), {"num_classes": 5}, id="3d"),
    OpCase("ops.multi_hot", labels(3, 4, low=0), {"num_classes": 6, "axis": 0}, id="axis0"),
    OpCase("ops.multi_hot", labels(3, 4, low=0), {"num_classes": 6, "dtype": "int32"}, id="int32"),
    OpCase("ops.multi_hot", labels(3, 4, low=0), {"num_tokens": 6}, id="num_tokens"),
    OpCase("ops.psnr", normal((2, 4, 4, 3), (2, 4, 4, 3)), {"max_val": 1.0}, grad=(0, 1)),
    OpCase("ops.psnr", lambda r: (r.uniform((3, 5), 0, 255), r.uniform((3, 5), 0, 255)), {"max_val": 255.0},
           id="max_255"),
    OpCase("ops.psnr", normal((3, 5), (3, 5), dtype="float64"), {"max_val": 2.0}, id="float64"),
    OpCase("ops.polar", lambda r: (r.positive((3, 4)), r.normal((3, 4))), id="complex64"),
    OpCase("ops.polar", lambda r: (r.positive((3, 1), "float64"), r.normal((1, 4), "float64")), id="broadcast128"),
    OpCase("ops.depth_to_space", normal((2, 3, 4, 12)), {"block_size": 2}, grad=(0,)),
    OpCase("ops.depth_to_space", normal((2, 18, 2, 3)), {"block_size": 3, "data_format": "channels_first"},
           id="channels_first", grad=(0,)),
    OpCase("ops.depth_to_space", lambda r: (r.ints((1, 2, 2, 8), 0, 9),), {"block_size": 2}, id="int32"),
    OpCase("ops.space_to_depth", normal((2, 4, 6, 3)), {"block_size": 2}, grad=(0,)),
    OpCase("ops.space_to_depth", normal((2, 2, 6, 9)), {"block_size": 3, "data_format": "channels_first"},
           id="channels_first", grad=(0,)),
    OpCase("ops.unfold", normal((2, 3, 7, 6)), {"kernel_size": 3}, keras_fn=_torch_tensors("ops.unfold"), grad=(0,)),
    OpCase("ops.unfold", normal((2, 2, 7, 6)), {"kernel_size": (2, 3), "dilation": (2, 1), "padding": (1, 2),
                                                "stride": (2, 1)}, id="all_arguments",
           keras_fn=_torch_tensors("ops.unfold"), grad=(0,)),
    OpCase("ops.fold", normal((2, 18, 8)), {"output_size": (7, 6), "kernel_size": (2, 3), "dilation": (2, 1),
                                            "padding": (1, 0), "stride": (2, 2)},
           keras_fn=_torch_tensors("ops.fold"), grad=(0,)),
    OpCase("ops.fold", normal((1, 8, 9)), {"output_size": 4, "kernel_size": 2}, id="overlapping",
           keras_fn=_torch_tensors("ops.fold"), grad=(0,)),
]


# ----------------------------------------------------------------------------------------------
# dot_product_attention
# ----------------------------------------------------------------------------------------------
def qkv(b=2, t=5, s=6, n=4, k=4, h=8, hv=None, dtype=F32, extra=None):
    def make(r):
        args = (r.normal((b, t, n, h), dtype), r.normal((b, s, k, h), dtype), r.normal((b, s, k, hv or h), dtype))
        return args + ((extra(r),) if extra else ())
    return make


def padding_mask(r):
    m = r.bools((2, 1, 1, 6))
    m[..., 0] = True
    return m


def full_mask_with_empty_rows(r):
    m = r.rng.random((2, 4, 5, 6)) < 0.4
    m[0, 1, 2] = False  # a query that may attend to nothing: Keras averages every value
    return m


ATTENTION = [
    OpCase("ops.dot_product_attention", qkv(), id="mha"),
    OpCase("ops.dot_product_attention", qkv(k=2, hv=3), id="gqa_value_dim3"),
    OpCase("ops.dot_product_attention", qkv(k=1), id="mqa"),
    OpCase("ops.dot_product_attention", qkv(), {"is_causal": True}, id="causal"),
    OpCase("ops.dot_product_attention", qkv(t=6, s=4), {"is_causal": True, "scale": 0.5}, id="causal_t_gt_s"),
    OpCase("ops.dot_product_attention", qkv(extra=lambda r: r.normal((2, 1, 5, 6))), id="bias"),
    OpCase("ops.dot_product_attention", qkv(k=2, extra=lambda r: r.normal((4, 5, 6))), id="bias_per_head_gqa"),
    OpCase("ops.dot_product_attention", qkv(extra=lambda r: r.normal((5, 6))), {"is_causal": True},
           id="bias_causal"),
    OpCase("ops.dot_product_attention", qkv(extra=padding_mask), id="padding_mask",
           keras_fn=lambda q, k, v, m, **kw: keras_or_skip().ops.dot_product_attention(q, k, v, mask=m, **kw),
           nk_fn=lambda q, k, v, m, **kw: nk.ops.dot_product_attention(q, k, v, mask=m, **kw)),
    OpCase("ops.dot_product_attention", qkv(k=2, extra=full_mask_with_empty_rows), {"is_causal": True},
           id="full_mask_empty_rows_causal",
           keras_fn=lambda q, k, v, m, **kw: keras_or_skip().ops.dot_product_attention(q, k, v, mask=m, **kw),
           nk_fn=lambda q, k, v, m, **kw: nk.ops.dot_product_attention(q, k, v, mask=m, **kw)),
    OpCase("ops.dot_product_attention", qkv(dtype="float64"), {"scale": 0.2}, id="float64"),
    OpCase("ops.dot_product_attention", qkv(b=1, t=3, s=4, n=2, k=1, h=3), {"is_causal": True}, id="grad",
           grad=(0, 1, 2)),
    OpCase("ops.dot_product_attention", qkv(b=1, t=3, s=4, n=2, k=2, h=3, extra=lambda r: r.normal((1, 2, 3, 4))),
           id="grad_bias", grad=(0, 1, 2, 3)),
    OpCase("ops.dot_product_attention",
           qkv(b=2, t=3, s=4, n=2, k=1, h=3, extra=lambda r: numpy.array([[1, 1, 0, 0], [0, 0, 0, 0]], bool)
               .reshape(2, 1, 1, 4)),
           id="grad_masked_with_an_empty_row", grad=(0, 1, 2),
           keras_fn=lambda q, k, v, m, **kw: keras_or_skip().ops.dot_product_attention(q, k, v, mask=m, **kw),
           nk_fn=lambda q, k, v, m, **kw: nk.ops.dot_product_attention(q, k, v, mask=m, **kw)),
]

CASES = _activation_rows() + _conv_rows() + _pool_rows() + NORMALIZATION + ENCODING + ATTENTION


@op_cases(CASES)
def test_op_matches_keras(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case.run()


# ----------------------------------------------------------------------------------------------
# the namespace
# ----------------------------------------------------------------------------------------------
OWNED_ELSEWHERE = {"ctc_loss", "ctc_decode"}  # the losses' task


def test_every_keras_ops_nn_name_is_in_neuronka_ops_nn_and_ops():
    keras = keras_or_skip()
    names = {n for n in dir(keras.ops.nn) if not n.startswith("_") and callable(getattr(keras.ops.nn, n))}
    missing = sorted(n for n in names - OWNED_ELSEWHERE if not hasattr(nk.ops.nn, n))
    assert not missing, f"keras.ops.nn names missing from neuronka.ops.nn: {missing}"
    for n in names - OWNED_ELSEWHERE:
        assert getattr(nk.ops, n) is getattr(nk.ops.nn, n), n
    compared = {c.name.split(".", 1)[1] for c in CASES}
    losses = {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"}
    assert names - OWNED_ELSEWHERE - losses <= compared, sorted(names - OWNED_ELSEWHERE - losses - compared)


# ----------------------------------------------------------------------------------------------
# attention against torch's scaled_dot_product_attention (float32 gradients) and its speed shape
# ----------------------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("kind", ["mha", "gqa_causal", "bias", "padding_mask"])
def test_dot_product_attention_gradients_match_torch_sdpa(kind):
    torch = torch_or_skip()

    rng = numpy.random.default_rng(3)
    b, t, s, n, h = 2, 5, 7, 4, 8
    k = 2 if kind == "gqa_causal" else n
    q, key, v = (rng.standard_normal(sh).astype(F32) for sh in ((b, t, n, h), (b, s, k, h), (b, s, k, h)))
    bias = rng.standard_normal((b, 1, t, s)).astype(F32) if kind == "bias" else None
    mask = None
    if kind == "padding_mask":
        mask = rng.random((b, 1, 1, s)) < 0.6
        mask[..., 0] = True
    causal = kind == "gqa_causal"
    tensors = [nk.Tensor(a.copy(), requires_grad=True) for a in (q, key, v)]
    bias_t = nk.Tensor(bias.copy(), requires_grad=True) if bias is not None else None
    y = nk.ops.dot_product_attention(*tensors, bias=bias_t, mask=mask, is_causal=causal)
    gy = rng.standard_normal(y.shape).astype(F32)
    y.backward(gy)

    tt = [torch.tensor(a.copy(), requires_grad=True) for a in (q, key, v)]
    tq, tk, tv = (a.transpose(1, 2) for a in tt)
    if k != n:
        tk, tv = tk.repeat_interleave(n // k, dim=1), tv.repeat_interleave(n // k, dim=1)
    tb = torch.tensor(bias.copy(), requires_grad=True) if bias is not None else None
    attn = tb if tb is not None else (torch.tensor(mask) if mask is not None else None)
    ty = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=attn, is_causal=causal)
    ty = ty.transpose(1, 2)
    ty.backward(torch.tensor(gy))
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(tensors + ([bias_t] if bias_t is not None else []), tt + ([tb] if tb is not None else [])):
        assert mine.grad.dtype == numpy.float32
        numpy.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_dot_product_attention_keeps_one_score_tensor_for_its_backward():
    rng = numpy.random.default_rng(0)
    q, k, v = (nk.Tensor(rng.standard_normal((2, 16, 8, 4)).astype(F32), requires_grad=True) for _ in range(3))
    mask = rng.random((2, 8, 16, 16)) < 0.5
    y = nk.ops.dot_product_attention(q, k, v, mask=mask, is_causal=True)
    fn = y._ctx
    score_size = 2 * 8 * 16 * 16
    kept = [a for a in vars(fn).values() if isinstance(a, numpy.ndarray) and a.size >= score_size and a is not mask]
    assert len(kept) == 1, [a.shape for a in kept]  # P; the mask is the caller's array, not a copy
    assert kept[0].base is None or kept[0].base.size == score_size


def test_psnr_is_differentiable_in_max_val_and_keeps_the_graph_through_a_cast():
    rng = numpy.random.default_rng(2)
    x1, x2 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    nk.gradcheck(nk.ops.psnr, [x1, x2, numpy.array(2.0)])
    a = nk.Tensor(x1.astype(F32), requires_grad=True)
    nk.ops.psnr(a, x2, 1.0).backward()  # float32 and float64 promote to float64: a is cast, not cut off
    assert a.grad is not None and a.grad.dtype == numpy.float32


def test_flash_attention_flag_changes_nothing():
    rng = numpy.random.default_rng(4)
    q, k, v = (rng.standard_normal((1, 3, 2, 4)).astype(F32) for _ in range(3))
    assert_same(nk.ops.dot_product_attention(q, k, v, flash_attention=True), nk.ops.dot_product_attention(q, k, v))


def test_dot_product_attention_argument_errors():
    q = numpy.zeros((2, 3, 4, 8), F32)
    k = numpy.zeros((2, 5, 3, 8), F32)
    with pytest.raises(ValueError, match="multiple of the number of key/value heads"):
        nk.ops.dot_product_attention(q, k, k)
    with pytest.raises(ValueError, match="only 4-D inputs"):
        nk.ops.dot_product_attention(q[0], q[0], q[0])
    with pytest.raises(ValueError, match="only one of `bias` and `mask`"):
        nk.ops.dot_product_attention(q, q, q, bias=numpy.zeros((3, 3), F32), mask=numpy.ones((3, 3), bool))
    with pytest.raises(ValueError, match=r"mask broadcastable to \(B, N, T, S\)"):
        nk.ops.dot_product_attention(q, q, q, mask=numpy.ones((2, 4), bool))
    with pytest.raises(ValueError, match="attn_logits_soft_cap"):
        nk.ops.dot_product_attention(q, q, q, attn_logits_soft_cap=30.0)


@keras_api("ops.dot_product_attention")
def test_dot_product_attention_refuses_what_keras_refuses():
    keras = keras_or_skip()
    q = numpy.zeros((2, 3, 4, 8), F32)
    both = {"bias": numpy.zeros((3, 3), F32), "mask": numpy.ones((3, 3), bool)}
    for kwargs in ({"attn_logits_soft_cap": 30.0}, both):
        with pytest.raises(ValueError):
            keras.ops.dot_product_attention(q, q, q, **kwargs)
        with pytest.raises(ValueError):
            nk.ops.dot_product_attention(q, q, q, **kwargs)


# ----------------------------------------------------------------------------------------------
# complex gradients of polar (torch's convention), deliberate differences, errors
# ----------------------------------------------------------------------------------------------
@pytest.mark.torch
def test_polar_gradients_match_torch():
    torch = torch_or_skip()

    rng = numpy.random.default_rng(1)
    r, theta = rng.uniform(0.5, 2, (3, 1)).astype(F32), rng.standard_normal((1, 4)).astype(F32)
    g = (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype("complex64")
    nr, nt = nk.Tensor(r, requires_grad=True), nk.Tensor(theta, requires_grad=True)
    nk.ops.polar(nr, nt).backward(g)
    tr, tt = torch.tensor(r, requires_grad=True), torch.tensor(theta, requires_grad=True)
    torch.polar(*torch.broadcast_tensors(tr, tt)).backward(torch.tensor(g))
    numpy.testing.assert_allclose(nr.grad, tr.grad.numpy(), rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(nt.grad, tt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_average_pool_with_uneven_same_padding_averages_only_real_elements():
    # pool 4, stride 1 on length 5: 3 zeros of padding, 1 before and 2 after (TensorFlow's split)
    x = numpy.arange(1.0, 6.0, dtype=F32).reshape(1, 5, 1)
    y = nk.ops.average_pool(x, 4, strides=1, padding="same").numpy().ravel()
    windows = [[1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5], [4, 5]]
    numpy.testing.assert_allclose(y, [numpy.mean(w) for w in windows], rtol=1e-6)


def test_one_hot_of_out_of_range_labels_is_zero_and_no_gradient_flows():
    y = nk.ops.one_hot(numpy.array([0, 3, 7, -2]), 4).numpy()
    numpy.testing.assert_array_equal(y, [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    x = nk.Tensor(numpy.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="one_hot: the gradient of this op is undefined"):
        nk.ops.one_hot(x, 3).sum().backward()
    with pytest.raises(ValueError, match="sparse=True"):
        nk.ops.one_hot(numpy.array([1]), 3, sparse=True)


def test_conv_causal_padding_extension_pads_k_minus_1_times_dilation_before():
    rng = numpy.random.default_rng(0)
    x, k = rng.standard_normal((2, 9, 3)).astype(F32), rng.standard_normal((3, 3, 4)).astype(F32)
    y = nk.ops.conv(x, k, padding="causal", dilation_rate=2).numpy()
    padded = numpy.concatenate([numpy.zeros((2, 4, 3), F32), x], axis=1)
    numpy.testing.assert_allclose(y, nk.ops.conv(padded, k, dilation_rate=2).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,message", [
    (lambda: nk.ops.conv(numpy.zeros((1, 4, 4, 4, 2)), numpy.zeros((2, 2))), "rank 3"),
    (lambda: nk.ops.conv(numpy.zeros((1, 4, 4, 2)), numpy.zeros((2, 2, 2, 2, 3))), "rank 5"),
    (lambda: nk.ops.max_pool(numpy.zeros((4, 2)), 2), "rank 3"),
    (lambda: nk.ops.glu(numpy.zeros((2, 3))), "divisible by 2"),
    (lambda: nk.ops.sparsemax(numpy.zeros((2, 3)), axis=2), "axis"),
    (lambda: nk.ops.celu(numpy.zeros(3), alpha=0), "non-zero alpha"),
    (lambda: nk.ops.depth_to_space(numpy.zeros((1, 2, 2, 6)), 2), "divisible by block_size"),
    (lambda: nk.ops.space_to_depth(numpy.zeros((1, 3, 4, 2)), 2), "divisible by block_size"),
    (lambda: nk.ops.depth_to_space(numpy.zeros((1, 2, 2, 4)), 1), "at least 2"),
    (lambda: nk.ops.unfold(numpy.zeros((2, 4, 4)), 2), "4-D"),
    (lambda: nk.ops.unfold(numpy.zeros((1, 1, 4, 4)), 5), "does not fit"),
    (lambda: nk.ops.fold(numpy.zeros((1, 7, 9)), 4, 2), r"\(N, C·4, 9\)"),
    (lambda: nk.ops.psnr(numpy.zeros((2, 3)), numpy.zeros((3, 2)), 1.0), "must match"),
    (lambda: nk.ops.multi_hot(numpy.array([1, 2])), "num_classes"),
    (lambda: nk.ops.adaptive_average_pool(numpy.zeros((2, 3)), 2), "rank 3, 4 or 5"),
    (lambda: nk.ops.adaptive_max_pool(numpy.zeros((2, 5, 3)), (2, 2)), "output_size"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@keras_api("ops.layer_normalization", "ops.rms_normalization")
@pytest.mark.parametrize("name", ["layer_normalization", "rms_normalization"])
def test_normalization_over_a_middle_axis_is_keras_over_that_axis_moved_last(name):
    # Keras's torch backend hands a single non-trailing axis to torch's layer_norm / rms_norm, which refuse it;
    # Keras's other backends normalize over that axis, as neuronka does
    keras = keras_or_skip()
    x = numpy.random.default_rng(0).standard_normal((3, 4, 5)).astype(F32)
    expected = numpy.asarray(getattr(keras.ops, name)(numpy.ascontiguousarray(x.transpose(0, 2, 1))))
    assert_same(getattr(nk.ops, name)(x, axis=1), expected.transpose(0, 2, 1))


def test_rms_scaling_warns_as_keras():
    with pytest.warns(UserWarning, match="deprecated"):
        nk.ops.layer_normalization(numpy.ones((2, 3), F32), rms_scaling=True)


def test_image_data_format_is_the_default_data_format():
    x = numpy.random.default_rng(0).standard_normal((2, 3, 6, 4)).astype(F32)
    previous = nk.config.image_data_format()
    nk.config.set_image_data_format("channels_first")
    try:
        y = nk.ops.max_pool(x, 2).numpy()
        z = nk.ops.adaptive_average_pool(x, 2).numpy()
    finally:
        nk.config.set_image_data_format(previous)
    assert_same(y, nk.ops.max_pool(x, 2, data_format="channels_first"))
    assert_same(z, nk.ops.adaptive_average_pool(x, 2, data_format="channels_first"))
