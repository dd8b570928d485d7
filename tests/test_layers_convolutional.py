"""Convolution layers: one table through the layer harness (shapes incl. symbolic, config round trip, weight
counts, gradients to every weight, forward + input/weight gradients vs PyTorch float32, float64 central
differences on small rows), then what a row cannot state (parameter counts, Keras's errors, unknown sizes).

The PyTorch side is written from PyTorch's own layers and Keras's documented rules, not from neuronka's
ops: Keras "same" (TensorFlow's split, the odd zero after) and "causal" are emulated by ``F.pad`` before an
unpadded torch convolution; a Keras transposed convolution is torch's full transposed convolution cropped
(or zero-extended) to Keras's output length, starting where TensorFlow's "same" padding puts it.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers, ops
from neuronka.layers.base import reset_names

from .helpers import LazyModule, torch_module
from .layer_harness import LayerCase, channels_last_to_first, copy_into, grad_of, layer_cases, run_layer_test

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)
F = LazyModule("torch.nn.functional")

ACTIVATIONS = {"linear": None, "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid"}  # torch function names


def torch_activation(layer):
    """The layer's activation as a torch function (None for linear)."""
    name = ACTIVATIONS[nk.activations.serialize(layer.activation)]
    return None if name is None else getattr(torch, name)


# ---- Keras's padding rules, written independently of neuronka --------------------------------------
def tf_same_pads(length: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's "same": total = max((⌈L/s⌉ − 1)·s + k_eff − L, 0), the odd one after."""
    k_eff = (k - 1) * d + 1
    total = max((-(-length // s) - 1) * s + k_eff - length, 0)
    return total // 2, total - total // 2


def keras_transpose_length(length: int, k: int, s: int, padding: str, output_padding, d: int) -> int:
    """Keras's conv_transpose output length (keras.src.backend.common.backend_utils)."""
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        extra = max(k_eff, s) - k_eff if output_padding is None else output_padding
        return (length - 1) * s + k_eff + extra
    return length * s if output_padding is None else (length - 1) * s + k_eff % 2 + output_padding


def torch_pad(x, pads_per_axis, value=0.0):
    """F.pad with ((before, after) per spatial axis, first axis first) on an (N, C, ...) tensor."""
    flat = []
    for before, after in reversed(pads_per_axis):
        flat += [before, after]
    return F.pad(x, flat, value=value) if any(flat) else x


def keras_to_torch_kernel(kernel, rank: int):
    """(k..., a, b) → (b, a, k...): Keras's (kh, kw, in, out) to torch's (out, in, kh, kw)."""
    return numpy.transpose(numpy.asarray(kernel), (rank + 1, rank, *range(rank)))


def torch_to_keras_kernel(rank: int):
    """torch's (b, a, k...) gradient back to Keras's (k..., a, b)."""
    return lambda g: g.permute(*range(2, 2 + rank), 1, 0)


def layout(layer):
    """to_torch / from_torch for the layer's data format."""
    if layer.data_format == "channels_last":
        return channels_last_to_first, lambda y: y.movedim(1, -1)
    return None, None


@torch_module
class _TorchConv:
    """Keras's padding by F.pad, then an unpadded torch convolution (or a chain of them), then the activation."""

    def __init__(self, layer, convs, pads_fn):
        super().__init__()
        self.convs = torch.nn.ModuleList(convs)
        self.pads_fn = pads_fn
        self.act = torch_activation(layer)

    def forward(self, x):
        x = torch_pad(x, self.pads_fn(x.shape[2:]))
        for conv in self.convs:
            x = conv(x)
        return x if self.act is None else self.act(x)


def keras_pads(layer):
    def pads(spatial):
        out = []
        for length, k, s, d in zip(spatial, layer.kernel_size, layer.strides, layer.dilation_rate):
            if layer.padding == "same":
                out.append(tf_same_pads(length, k, s, d))
            elif layer.padding == "causal":
                out.append(((k - 1) * d, 0))
            else:
                out.append((0, 0))
        return out

    return pads


def torch_conv(layer):
    rank = layer.rank
    cls = torch.nn.Conv1d if rank == 1 else torch.nn.Conv2d
    k = layer.kernel.numpy()
    conv = cls(k.shape[-2] * layer.groups, layer.filters, layer.kernel_size, stride=layer.strides,
               dilation=layer.dilation_rate, groups=layer.groups, bias=layer.use_bias)
    copy_into(conv.weight, keras_to_torch_kernel(k, rank))
    if layer.use_bias:
        copy_into(conv.bias, layer.bias.numpy())
    return (_TorchConv(layer, [conv], keras_pads(layer)), *layout(layer))


def conv_weight_map(layer, module):
    conv = module.convs[0]
    pairs = [(layer.kernel, grad_of(conv.weight, torch_to_keras_kernel(layer.rank)))]
    if layer.use_bias:
        pairs.append((layer.bias, grad_of(conv.bias)))
    return pairs


@torch_module
class _TorchConvTranspose:
    """torch's full transposed convolution, cropped / zero-extended to Keras's length, plus bias and activation."""

    def __init__(self, layer):
        super().__init__()
        rank = layer.rank
        cls = torch.nn.ConvTranspose1d if rank == 1 else torch.nn.ConvTranspose2d
        k = layer.kernel.numpy()  # (k..., out, in) → torch (in, out, k...)
        self.conv = cls(k.shape[-1], layer.filters, layer.kernel_size, stride=layer.strides,
                        dilation=layer.dilation_rate, bias=False)
        copy_into(self.conv.weight, keras_to_torch_kernel(k, rank))
        self.bias = torch.nn.Parameter(torch.zeros(layer.filters)) if layer.use_bias else None
        if layer.use_bias:
            copy_into(self.bias, layer.bias.numpy())
        self.layer = layer
        self.act = torch_activation(layer)

    def forward(self, x):
        lay = self.layer
        y = self.conv(x)
        pads = lay.output_padding or (None,) * lay.rank
        index = [slice(None), slice(None)]
        extend = []
        for axis, (length, k, s, d, p) in enumerate(zip(x.shape[2:], lay.kernel_size, lay.strides,
                                                         lay.dilation_rate, pads)):
            out = keras_transpose_length(length, k, s, lay.padding, p, d)
            # the transposed "same" convolution is the adjoint of the "same" convolution out → length
            start = 0 if lay.padding == "valid" else tf_same_pads(out, k, s, d)[0]
            extend.append((0, max(0, start + out - y.shape[2 + axis])))
            index.append(slice(start, start + out))
        y = torch_pad(y, extend)[tuple(index)]
        if self.bias is not None:
            y = y + self.bias.reshape(-1, *(1,) * lay.rank)
        return y if self.act is None else self.act(y)


def torch_conv_transpose(layer):
    return (_TorchConvTranspose(layer), *layout(layer))


def conv_transpose_weight_map(layer, module):
    pairs = [(layer.kernel, grad_of(module.conv.weight, torch_to_keras_kernel(layer.rank)))]
    if layer.use_bias:
        pairs.append((layer.bias, grad_of(module.bias)))
    return pairs


def depthwise_torch_conv(kernel, rank, stride, dilation, bias):
    """A torch convolution with groups = in_channels: weight[c·M + m, 0] = kernel[..., c, m]."""
    k = numpy.asarray(kernel)
    c, m = k.shape[-2:]
    cls = torch.nn.Conv1d if rank == 1 else torch.nn.Conv2d
    conv = cls(c, c * m, k.shape[:rank], stride=stride, dilation=dilation, groups=c, bias=bias)
    copy_into(conv.weight, numpy.moveaxis(k, (rank, rank + 1), (0, 1)).reshape(c * m, 1, *k.shape[:rank]))
    return conv


def depthwise_grad(layer, kernel_var):
    rank = layer.rank
    c, m = kernel_var.shape[-2:]
    # torch (c·M, 1, k...) → (c, M, k...) → Keras (k..., c, M)
    return lambda g: g.reshape(c, m, *g.shape[2:]).permute(*range(2, 2 + rank), 0, 1)


def torch_depthwise(layer):
    conv = depthwise_torch_conv(layer.kernel.numpy(), layer.rank, layer.strides, layer.dilation_rate, layer.use_bias)
    if layer.use_bias:
        copy_into(conv.bias, layer.bias.numpy())
    return (_TorchConv(layer, [conv], keras_pads(layer)), *layout(layer))


def depthwise_weight_map(layer, module):
    conv = module.convs[0]
    pairs = [(layer.kernel, grad_of(conv.weight, depthwise_grad(layer, layer.kernel)))]
    if layer.use_bias:
        pairs.append((layer.bias, grad_of(conv.bias)))
    return pairs


def torch_separable(layer):
    rank = layer.rank
    depthwise = depthwise_torch_conv(layer.depthwise_kernel.numpy(), rank, layer.strides, layer.dilation_rate, False)
    cls = torch.nn.Conv1d if rank == 1 else torch.nn.Conv2d
    pk = layer.pointwise_kernel.numpy()
    pointwise = cls(pk.shape[-2], layer.filters, 1, bias=layer.use_bias)
    copy_into(pointwise.weight, keras_to_torch_kernel(pk, rank))
    if layer.use_bias:
        copy_into(pointwise.bias, layer.bias.numpy())
    return (_TorchConv(layer, [depthwise, pointwise], keras_pads(layer)), *layout(layer))


def separable_weight_map(layer, module):
    depthwise, pointwise = module.convs
    pairs = [(layer.depthwise_kernel, grad_of(depthwise.weight, depthwise_grad(layer, layer.depthwise_kernel))),
             (layer.pointwise_kernel, grad_of(pointwise.weight, torch_to_keras_kernel(layer.rank)))]
    if layer.use_bias:
        pairs.append((layer.bias, grad_of(pointwise.bias)))
    return pairs


def conv_case(id, cls, kwargs, shape, **checks):  # noqa: A002
    return LayerCase(id, cls, kwargs, shape, torch_equivalent=torch_conv, weight_map=conv_weight_map, **checks)


def transpose_case(id, cls, kwargs, shape, **checks):  # noqa: A002
    return LayerCase(id, cls, kwargs, shape, torch_equivalent=torch_conv_transpose,
                     weight_map=conv_transpose_weight_map, **checks)


def depthwise_case(id, cls, kwargs, shape, **checks):  # noqa: A002
    return LayerCase(id, cls, kwargs, shape, torch_equivalent=torch_depthwise, weight_map=depthwise_weight_map,
                     **checks)


def separable_case(id, cls, kwargs, shape, **checks):  # noqa: A002
    return LayerCase(id, cls, kwargs, shape, torch_equivalent=torch_separable, weight_map=separable_weight_map,
                     **checks)


CASES = [
    # ---- Conv2D ----
    conv_case("conv2d_3x3_valid", layers.Conv2D, {"filters": 4, "kernel_size": 3}, (2, 7, 7, 3),
              expected_output_shape=(2, 5, 5, 4), expected_num_trainable_weights=2, expected_num_params=112),
    conv_case("conv2d_896_params", layers.Conv2D, {"filters": 32, "kernel_size": 3}, (1, 5, 5, 3),
              expected_output_shape=(1, 3, 3, 32), expected_num_params=896),
    conv_case("conv2d_same_stride2_odd_input_relu", layers.Conv2D,
              {"filters": 5, "kernel_size": (3, 2), "strides": 2, "padding": "same", "activation": "relu"},
              (2, 7, 8, 3), expected_output_shape=(2, 4, 4, 5)),
    conv_case("conv2d_same_even_kernel_asymmetric_pad", layers.Conv2D,
              {"filters": 3, "kernel_size": 4, "padding": "same"}, (2, 6, 5, 2), expected_output_shape=(2, 6, 5, 3)),
    conv_case("conv2d_valid_stride2_no_bias_tanh", layers.Conv2D,
              {"filters": 4, "kernel_size": 3, "strides": (2, 1), "use_bias": False, "activation": "tanh"},
              (2, 9, 7, 3), expected_output_shape=(2, 4, 5, 4), expected_num_trainable_weights=1),
    conv_case("conv2d_dilation2_same", layers.Conv2D,
              {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (2, 8, 7, 2),
              expected_output_shape=(2, 8, 7, 3)),
    conv_case("conv2d_groups2", layers.Conv2D, {"filters": 6, "kernel_size": 3, "groups": 2}, (2, 6, 6, 4),
              expected_output_shape=(2, 4, 4, 6), expected_num_params=3 * 3 * 2 * 6 + 6),
    conv_case("conv2d_pointwise_1x1", layers.Conv2D, {"filters": 5, "kernel_size": 1}, (2, 4, 4, 3),
              expected_output_shape=(2, 4, 4, 5)),
    conv_case("conv2d_channels_first_same_stride2", layers.Conv2D,
              {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
              (2, 3, 7, 6), expected_output_shape=(2, 4, 4, 3)),
    conv_case("conv2d_float64_gradcheck_same", layers.Conv2D, {"filters": 2, "kernel_size": 3, "padding": "same"},
              (1, 4, 4, 2), gradcheck=True),
    conv_case("conv2d_float64_gradcheck_stride2", layers.Conv2D, {"filters": 2, "kernel_size": 2, "strides": 2},
              (2, 5, 5, 2), gradcheck=True),
    # ---- Conv1D ----
    conv_case("conv1d_valid", layers.Conv1D, {"filters": 4, "kernel_size": 3}, (2, 9, 3),
              expected_output_shape=(2, 7, 4), expected_num_params=3 * 3 * 4 + 4),
    conv_case("conv1d_same_stride2_relu", layers.Conv1D,
              {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same", "activation": "relu"}, (2, 9, 3),
              expected_output_shape=(2, 5, 4)),
    conv_case("conv1d_causal_dilation2", layers.Conv1D,
              {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"}, (2, 10, 2),
              expected_output_shape=(2, 10, 3)),
    conv_case("conv1d_groups3_channels_first", layers.Conv1D,
              {"filters": 6, "kernel_size": 2, "groups": 3, "data_format": "channels_first"}, (2, 6, 7),
              expected_output_shape=(2, 6, 6)),
    conv_case("conv1d_float64_gradcheck_causal", layers.Conv1D,
              {"filters": 2, "kernel_size": 3, "padding": "causal"}, (2, 5, 2), gradcheck=True),
    # ---- Conv2DTranspose ----
    transpose_case("conv2d_transpose_valid_stride1", layers.Conv2DTranspose, {"filters": 4, "kernel_size": 3},
                   (2, 4, 5, 3), expected_output_shape=(2, 6, 7, 4), expected_num_params=3 * 3 * 4 * 3 + 4),
    transpose_case("conv2d_transpose_valid_stride2", layers.Conv2DTranspose,
                   {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 4, 3, 2), expected_output_shape=(2, 9, 7, 3)),
    transpose_case("conv2d_transpose_valid_kernel_smaller_than_stride", layers.Conv2DTranspose,
                   {"filters": 3, "kernel_size": 2, "strides": 3}, (2, 3, 3, 2), expected_output_shape=(2, 9, 9, 3)),
    transpose_case("conv2d_transpose_same_stride2_k3_relu", layers.Conv2DTranspose,
                   {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
                   (2, 4, 3, 2), expected_output_shape=(2, 8, 6, 3)),
    transpose_case("conv2d_transpose_same_stride2_k4", layers.Conv2DTranspose,
                   {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 3, 4, 3),
                   expected_output_shape=(2, 6, 8, 2)),
    transpose_case("conv2d_transpose_same_stride1_k4", layers.Conv2DTranspose,
                   {"filters": 2, "kernel_size": 4, "padding": "same"}, (2, 5, 4, 3),
                   expected_output_shape=(2, 5, 4, 2)),
    transpose_case("conv2d_transpose_valid_output_padding", layers.Conv2DTranspose,
                   {"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1}, (2, 3, 4, 2),
                   expected_output_shape=(2, 8, 10, 3)),
    transpose_case("conv2d_transpose_same_output_padding", layers.Conv2DTranspose,
                   {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": (1, 0)},
                   (2, 3, 4, 2), expected_output_shape=(2, 6, 7, 3)),
    transpose_case("conv2d_transpose_dilation2", layers.Conv2DTranspose,
                   {"filters": 2, "kernel_size": 2, "dilation_rate": 2}, (2, 3, 3, 2),
                   expected_output_shape=(2, 5, 5, 2)),
    transpose_case("conv2d_transpose_channels_first", layers.Conv2DTranspose,
                   {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
                   (2, 3, 3, 4), expected_output_shape=(2, 2, 6, 8)),
    transpose_case("conv2d_transpose_float64_gradcheck", layers.Conv2DTranspose,
                   {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 3, 3, 2), gradcheck=True),
    # ---- Conv1DTranspose ----
    transpose_case("conv1d_transpose_same_stride2", layers.Conv1DTranspose,
                   {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 2),
                   expected_output_shape=(2, 10, 3)),
    transpose_case("conv1d_transpose_valid_output_padding", layers.Conv1DTranspose,
                   {"filters": 3, "kernel_size": 4, "strides": 3, "output_padding": 2}, (2, 4, 2),
                   expected_output_shape=(2, 15, 3), gradcheck=True),
    # ---- DepthwiseConv2D / 1D ----
    depthwise_case("depthwise2d_same", layers.DepthwiseConv2D, {"kernel_size": 3, "padding": "same"}, (2, 5, 6, 3),
                   expected_output_shape=(2, 5, 6, 3), expected_num_params=3 * 3 * 3 + 3),
    depthwise_case("depthwise2d_multiplier2_stride2_relu", layers.DepthwiseConv2D,
                   {"kernel_size": (3, 2), "strides": 2, "depth_multiplier": 2, "activation": "relu"}, (2, 7, 6, 3),
                   expected_output_shape=(2, 3, 3, 6), expected_num_params=3 * 2 * 3 * 2 + 6),
    depthwise_case("depthwise2d_dilation2_same_no_bias", layers.DepthwiseConv2D,
                   {"kernel_size": 3, "dilation_rate": 2, "padding": "same", "use_bias": False}, (2, 6, 6, 2),
                   expected_output_shape=(2, 6, 6, 2), expected_num_trainable_weights=1),
    depthwise_case("depthwise2d_channels_first", layers.DepthwiseConv2D,
                   {"kernel_size": 2, "depth_multiplier": 3, "data_format": "channels_first"}, (2, 2, 5, 4),
                   expected_output_shape=(2, 6, 4, 3)),
    depthwise_case("depthwise2d_float64_gradcheck", layers.DepthwiseConv2D,
                   {"kernel_size": 2, "depth_multiplier": 2, "strides": 2, "padding": "same"}, (1, 3, 3, 2),
                   gradcheck=True),
    depthwise_case("depthwise1d_multiplier2_same", layers.DepthwiseConv1D,
                   {"kernel_size": 4, "depth_multiplier": 2, "padding": "same"}, (2, 7, 3),
                   expected_output_shape=(2, 7, 6)),
    # ---- SeparableConv2D / 1D ----
    separable_case("separable2d_same", layers.SeparableConv2D, {"filters": 4, "kernel_size": 3, "padding": "same"},
                   (2, 5, 5, 3), expected_output_shape=(2, 5, 5, 4), expected_num_trainable_weights=3,
                   expected_num_params=3 * 3 * 3 + 3 * 4 + 4),
    separable_case("separable2d_multiplier2_stride2_relu", layers.SeparableConv2D,
                   {"filters": 3, "kernel_size": 3, "strides": 2, "depth_multiplier": 2, "activation": "relu"},
                   (2, 7, 7, 2), expected_output_shape=(2, 3, 3, 3), gradcheck=True),
    separable_case("separable1d_valid", layers.SeparableConv1D, {"filters": 4, "kernel_size": 3}, (2, 8, 3),
                   expected_output_shape=(2, 6, 4)),
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


# ---- what a row cannot state -------------------------------------------------------------------------
@pytest.mark.parametrize("make, input_shape, params", [
    (lambda: layers.Conv2D(32, 3), (1, 8, 8, 3), 896),
    (lambda: layers.Conv2D(64, (3, 3), use_bias=False), (1, 8, 8, 32), 3 * 3 * 32 * 64),
    (lambda: layers.Conv1D(16, 5), (1, 20, 8), 5 * 8 * 16 + 16),
    (lambda: layers.Conv2DTranspose(8, 2, strides=2), (1, 4, 4, 16), 2 * 2 * 8 * 16 + 8),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), (1, 8, 8, 8), 3 * 3 * 8 * 2 + 16),
    (lambda: layers.SeparableConv2D(32, 3), (1, 8, 8, 16), 3 * 3 * 16 + 16 * 32 + 32),
])
def test_parameter_counts_are_keras_counts(make, input_shape, params):
    layer = make()
    layer(numpy.zeros(input_shape, numpy.float32))
    assert layer.count_params() == params


def test_weights_have_keras_names_and_layouts():
    conv = layers.Conv2D(4, (3, 2))
    conv(numpy.zeros((1, 5, 5, 3), numpy.float32))
    assert [(w.name, w.shape) for w in conv.weights] == [("kernel", (3, 2, 3, 4)), ("bias", (4,))]
    tconv = layers.Conv2DTranspose(4, 3)
    tconv(numpy.zeros((1, 5, 5, 3), numpy.float32))
    assert [(w.name, w.shape) for w in tconv.weights] == [("kernel", (3, 3, 4, 3)), ("bias", (4,))]
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2)
    dw(numpy.zeros((1, 5, 5, 3), numpy.float32))
    assert [(w.name, w.shape) for w in dw.weights] == [("kernel", (3, 3, 3, 2)), ("bias", (6,))]
    assert dw.depthwise_kernel is dw.kernel
    sep = layers.SeparableConv2D(4, 3)
    sep(numpy.zeros((1, 5, 5, 3), numpy.float32))
    assert [w.name for w in sep.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]


def test_default_names_follow_keras():
    reset_names()
    assert [layers.Conv2D(2, 3).name, layers.Conv2D(2, 3).name, layers.Conv1D(2, 3).name,
            layers.Conv2DTranspose(2, 3).name, layers.DepthwiseConv2D(3).name] == [
        "conv2d", "conv2d_1", "conv1d", "conv2d_transpose", "depthwise_conv2d"]


def test_wrong_rank_gives_keras_input_spec_error():
    layer = layers.Conv2D(4, 3, name="conv2d")
    with pytest.raises(ValueError, match=r"Input 0 of layer 'conv2d' is incompatible with the layer: "
                                         r"expected ndim=4, found ndim=3\. Full shape received: \(2, 8, 8\)"):
        layer(numpy.zeros((2, 8, 8), numpy.float32))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        layers.Conv1D(4, 3)(numpy.zeros((2, 8, 8, 1), numpy.float32))


def test_channel_count_is_fixed_after_build():
    layer = layers.Conv2D(4, 3, name="fixed")
    layer(numpy.zeros((1, 6, 6, 3), numpy.float32))
    layer(numpy.zeros((2, 9, 7, 3), numpy.float32))  # other batch and spatial sizes are fine
    with pytest.raises(ValueError, match=r"layer 'fixed'.*expected axis -1 of input shape to have value 3"):
        layer(numpy.zeros((1, 6, 6, 5), numpy.float32))


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Conv2D(0, 3), r"Conv2D: expected a positive integer for `filters`, received filters=0"),
    (lambda: layers.Conv2D(4, 0), r"Conv2D: expected kernel_size .* received kernel_size=0"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), r"Conv2D: expected kernel_size .*tuple of 2"),
    (lambda: layers.Conv2D(4, 3, strides=0), r"Conv2D: expected strides"),
    (lambda: layers.Conv2D(4, 3, padding="causal"), r"Conv2D: expected padding 'valid' or 'same', "
                                                    r"received padding='causal'"),
    (lambda: layers.Conv1D(4, 3, padding="full"), r"Conv1D: expected padding .*'causal', received padding='full'"),
    (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), r"Conv2D: `strides > 1` not supported"),
    (lambda: layers.Conv2D(4, 3, groups=3), r"Conv2D: expected `filters` to be divisible by `groups`"),
    (lambda: layers.Conv2D(4, 3, data_format="NHWC"), r"Conv2D: expected data_format 'channels_last' or "
                                                      r"'channels_first', received data_format='NHWC'"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
     r"Conv2DTranspose: expected every `output_padding` to be < its stride"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), r"DepthwiseConv2D: expected a positive integer for "
                                                            r"`depth_multiplier`"),
    (lambda: layers.Conv2D(4, 3, kernel_initialiser="zeros"),
     r"Unrecognized keyword arguments passed to Conv2D: \{'kernel_initialiser': 'zeros'\}"),
])
def test_bad_arguments_raise_errors_naming_the_layer_and_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_lora_merges_a_low_rank_update_into_the_kernel():
    """W_eff = W + (α/r)·A·B: zero at first (B = 0), then the output moves with A·B; W is frozen."""
    layer = layers.Conv2D(4, 3, lora_rank=2, lora_alpha=4)
    x = numpy.random.default_rng(0).standard_normal((1, 5, 5, 3)).astype(numpy.float32)
    y0 = layer(x).numpy()
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    plain = ops.conv(x, layer.kernel) + layer.bias
    numpy.testing.assert_allclose(y0, plain.numpy(), rtol=1e-5, atol=1e-6)
    layer.lora_kernel_b.assign(numpy.ones((2, 4), numpy.float32))
    merged = layer.kernel.numpy() + 2.0 * (layer.lora_kernel_a.numpy() @ layer.lora_kernel_b.numpy())
    numpy.testing.assert_allclose(layer(x).numpy(), (ops.conv(x, merged) + layer.bias).numpy(), rtol=1e-4,
                                  atol=1e-5)


def test_groups_must_divide_input_channels():
    with pytest.raises(ValueError, match=r"Conv2D 'g': expected the number of input channels to be divisible by "
                                         r"groups=2"):
        layers.Conv2D(4, 3, groups=2, name="g")(numpy.zeros((1, 5, 5, 3), numpy.float32))


def test_valid_window_larger_than_input_is_an_error_naming_the_layer():
    with pytest.raises(ValueError, match=r"Conv2D 'big'.*non-positive.*\(1, 2, 2, 3\)"):
        layers.Conv2D(4, 3, name="big")(numpy.zeros((1, 2, 2, 3), numpy.float32))


def test_unknown_channels_cannot_build():
    with pytest.raises(ValueError, match="channel dimension of the inputs must be known"):
        layers.Conv2D(4, 3).build((None, 5, 5, None))


def test_symbolic_inputs_with_unknown_spatial_sizes():
    x = layers.Input(shape=(None, None, 3))
    assert layers.Conv2D(8, 3, strides=2, padding="same")(x).shape == (None, None, None, 8)
    assert layers.Conv2DTranspose(8, 3, strides=2)(x).shape == (None, None, None, 8)
    assert layers.DepthwiseConv2D(3, depth_multiplier=2)(x).shape == (None, None, None, 6)
    seq = layers.Input(shape=(None, 4))
    assert layers.Conv1D(5, 3, padding="causal")(seq).shape == (None, None, 5)
    assert layers.Conv1D(5, 3, strides=2)(layers.Input(shape=(11, 4))).shape == (None, 5, 5)


def test_compute_output_shape_matches_keras_formulas():
    assert layers.Conv2D(8, 3, strides=2).compute_output_shape((None, 28, 28, 1)) == (None, 13, 13, 8)
    assert layers.Conv2D(8, 3, strides=2, padding="same").compute_output_shape((4, 28, 27, 1)) == (4, 14, 14, 8)
    assert layers.Conv2D(8, 5, dilation_rate=2).compute_output_shape((None, 20, 20, 1)) == (None, 12, 12, 8)
    assert layers.Conv2DTranspose(8, 3, strides=2).compute_output_shape((None, 7, 7, 4)) == (None, 15, 15, 8)
    assert layers.Conv2DTranspose(8, 5, strides=2, padding="same", output_padding=1).compute_output_shape(
        (None, 7, 7, 4)) == (None, 14, 14, 8)


def test_regularizers_add_losses_and_constraints_are_kept():
    layer = layers.Conv2D(4, 3, kernel_regularizer="l2", bias_regularizer="l1", activity_regularizer="l2",
                          kernel_constraint="non_neg")
    y = layer(numpy.ones((2, 5, 5, 3), numpy.float32))
    assert y.shape == (2, 3, 3, 4)
    assert len(layer.losses) == 3  # activity, kernel, bias
    assert layer.kernel.constraint is not None
    config = layer.get_config()
    assert config["kernel_regularizer"] is not None and config["kernel_constraint"] is not None


def test_causal_conv1d_never_looks_ahead():
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = numpy.random.default_rng(0).standard_normal((1, 12, 2)).astype(numpy.float32)
    y1 = layer(x).numpy()
    x2 = x.copy()
    x2[:, 7:] += 10.0  # changing the future leaves the past outputs alone
    y2 = layer(x2).numpy()
    numpy.testing.assert_array_equal(y1[:, :7], y2[:, :7])
    assert not numpy.allclose(y1[:, 7:], y2[:, 7:])


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(u), v> = <u, conv_transpose(v)> with the same kernel: Keras's transposed convolution inverts shapes."""
    rng = numpy.random.default_rng(0)
    for padding, strides, size in (("same", 2, 8), ("valid", 2, 9), ("same", 1, 6)):
        k = rng.standard_normal((3, 3, 2, 4)).astype(numpy.float64)
        fwd = layers.Conv2D(4, 3, strides=strides, padding=padding, use_bias=False, dtype="float64")
        u = rng.standard_normal((1, size, size, 2))
        fwd(u)
        fwd.set_weights([k])
        cu = fwd(u).numpy()
        back = layers.Conv2DTranspose(2, 3, strides=strides, padding=padding, use_bias=False, dtype="float64")
        v = rng.standard_normal(cu.shape)
        back(v)
        back.set_weights([k])
        ctv = back(v).numpy()
        assert ctv.shape == u.shape
        numpy.testing.assert_allclose((cu * v).sum(), (u * ctv).sum(), rtol=1e-10)


def test_float64_layer_keeps_float64():
    layer = layers.Conv2D(3, 3, dtype="float64")
    y = layer(numpy.random.default_rng(0).standard_normal((1, 5, 5, 2)))
    assert y.dtype == numpy.float64 and layer.kernel.dtype == numpy.float64


def test_run_layer_test_by_hand_for_aliases():
    assert layers.Convolution2D is layers.Conv2D and layers.SeparableConvolution2D is layers.SeparableConv2D
    run_layer_test(layers.Convolution1D, {"filters": 2, "kernel_size": 2}, (1, 4, 3), expected_output_shape=(1, 3, 2))


def test_cnn_model_saves_and_loads_with_the_same_predictions(tmp_path):
    from neuronka.models import Sequential, load_model  # noqa: PLC0415

    model = Sequential([
        layers.Input(shape=(8, 8, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu", groups=1),
        layers.MaxPooling2D(),
        layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
        layers.SeparableConv2D(3, 3),
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=1),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3),
    ])
    x = numpy.random.default_rng(0).random((4, 8, 8, 1)).astype(numpy.float32)
    before = model.predict(x, verbose=0)
    path = tmp_path / "cnn.keras"
    model.save(path)
    loaded = load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    assert loaded.layers[4].output_padding == (1, 1)
    numpy.testing.assert_array_equal(loaded.predict(x, verbose=0), before)
