"""A ReLU layer fused into the layer before it (neuronka/models/fusion.py): which pairs a model fuses, and
that a fused model computes what the unfused one does (outputs, every gradient, the moving statistics);
the fused ops' own derivatives by central differences and against PyTorch."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers, ops
from neuronka.models import fusion
from neuronka.ops import activations

from .helpers import compare_with_torch, torch_or_skip

ADD_RELU_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (2, 3, 1))]


@pytest.mark.parametrize("sa,sb", ADD_RELU_SHAPES)
def test_add_relu_gradients_match_central_differences(sa, sb):
    rng = numpy.random.default_rng(0)
    nk.gradcheck(activations.add_relu, [rng.standard_normal(sa), rng.standard_normal(sb)])


@pytest.mark.torch
@pytest.mark.parametrize("sa,sb", ADD_RELU_SHAPES + [((4, 32, 32, 16), (4, 32, 32, 16))])  # the last: kernels
def test_add_relu_matches_torch(sa, sb):
    torch = torch_or_skip()
    rng = numpy.random.default_rng(1)
    compare_with_torch(activations.add_relu, lambda a, b: torch.relu(a + b),
                       [rng.standard_normal(sa), rng.standard_normal(sb)])


def _residual_model(with_extra_reader: bool, dtype="float32"):
    """conv → BN → ReLU → conv → BN → (+ x) → ReLU, and optionally a BN whose output a second layer also reads."""
    nk.initializers.set_seed(3)
    inp = layers.Input((8, 8, 16), dtype=dtype)
    y = layers.Conv2D(16, 3, padding="same", use_bias=False, dtype=dtype)(inp)
    y = layers.Activation("relu", dtype=dtype)(layers.BatchNormalization(dtype=dtype)(y))
    y = layers.Conv2D(16, 3, padding="same", use_bias=False, dtype=dtype)(y)
    y = layers.BatchNormalization(dtype=dtype)(y)
    y = layers.ReLU(dtype=dtype)(layers.Add(dtype=dtype)([inp, y]))
    outputs = [y]
    if with_extra_reader:
        z = layers.BatchNormalization(dtype=dtype)(y)
        # z has two readers: its ReLU stays a layer of its own
        outputs = [layers.ReLU(dtype=dtype)(z), layers.GlobalAveragePooling2D(dtype=dtype)(z)]
    return nk.Model(inp, outputs)


def _step(model, x):
    """Outputs, the gradient of every weight and of x, and the weights after (moving statistics included)."""
    xt = nk.Tensor(x, requires_grad=True)
    outs = model(xt, training=True)
    outs = outs if isinstance(outs, list) else [outs]
    rng = numpy.random.default_rng(7)
    loss = None
    for o in outs:
        term = ops.sum(o * nk.Tensor(rng.standard_normal(o.shape).astype(o.dtype)))
        loss = term if loss is None else loss + term
    for w in model.trainable_weights:
        w.grad = None
    loss.backward()
    return [o.data for o in outs] + [w.grad for w in model.trainable_weights] + [xt.grad] + \
        [w.numpy().copy() for w in model.weights]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [2, 64])  # 64: large enough for the compiled kernels
@pytest.mark.parametrize("with_extra_reader", [False, True])
def test_fused_model_computes_what_the_unfused_one_does(with_extra_reader, batch, dtype):
    x = numpy.random.default_rng(2).standard_normal((batch, 8, 8, 16)).astype(dtype)
    results = {}
    for flag in (True, False):
        previous = fusion.set_enabled(flag)
        try:
            model = _residual_model(with_extra_reader, dtype)
            results[flag] = _step(model, x)
        finally:
            fusion.set_enabled(previous)
    assert len(results[True]) == len(results[False])
    tol = 1e-5 if dtype == "float32" else 1e-12
    for k, (a, b) in enumerate(zip(results[True], results[False])):
        assert a.dtype == b.dtype, k
        numpy.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, numpy.abs(b).max()), err_msg=f"item {k}")


def test_which_pairs_are_fused():
    model = _residual_model(with_extra_reader=True)
    first = sorted(type(model._plan[k][0]).__name__ for k in model._fuse_first)
    skipped = sorted(type(model._plan[k][0]).__name__ for k in model._fuse_skip)
    # BN → Activation("relu"), Add → ReLU(); the last BN has a second reader, so its ReLU stays a layer
    assert first == ["Add", "BatchNormalization"], first
    assert skipped == ["Activation", "ReLU"], skipped


def test_only_plain_relus_of_the_same_dtype_are_fused():
    bn = layers.BatchNormalization()
    assert fusion.fusable(bn, layers.ReLU()) and fusion.fusable(bn, layers.Activation("relu"))
    assert not fusion.fusable(bn, layers.ReLU(max_value=6.0))
    assert not fusion.fusable(bn, layers.ReLU(negative_slope=0.1))
    assert not fusion.fusable(bn, layers.Activation("tanh"))
    assert not fusion.fusable(bn, layers.ReLU(dtype="float64"))
    regularized = layers.ReLU()
    regularized.activity_regularizer = nk.regularizers.L2(0.01)
    assert not fusion.fusable(bn, regularized)  # the regularizer reads the ReLU's output: it stays a layer
    assert not fusion.fusable(layers.Dense(3), layers.ReLU())


def test_a_relu_that_is_a_model_output_reads_a_fused_value_and_an_intermediate_output_is_not_fused():
    inp = layers.Input((4,))
    z = layers.BatchNormalization()(layers.Dense(4)(inp))
    model = nk.Model(inp, [z, layers.ReLU()(z)])  # z is an output: the ReLU may not overwrite it
    assert not model._fuse_first
    out = model(numpy.random.default_rng(0).standard_normal((5, 4)).astype("float32"), training=True)
    numpy.testing.assert_array_equal(out[1].numpy(), numpy.maximum(out[0].numpy(), 0))


def test_sequential_fuses_batch_norm_and_relu(monkeypatch):
    x = numpy.random.default_rng(4).standard_normal((64, 8, 8, 3)).astype("float32")
    calls = []
    original = ops.batch_norm_train

    def spy(*args, **kwargs):
        calls.append(kwargs.get("relu", False))
        return original(*args, **kwargs)

    monkeypatch.setattr(ops, "batch_norm_train", spy)
    results = {}
    for flag in (True, False):
        previous = fusion.set_enabled(flag)
        try:
            nk.initializers.set_seed(5)
            model = nk.Sequential([layers.Input((8, 8, 3)), layers.Conv2D(16, 3, use_bias=False),
                                   layers.BatchNormalization(), layers.ReLU(), layers.Flatten(), layers.Dense(2)])
            results[flag] = _step(model, x)
        finally:
            fusion.set_enabled(previous)
    assert calls == [True, False]  # the batch norm took the ReLU in, then (fusion off) did not
    for k, (a, b) in enumerate(zip(results[True], results[False])):
        numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"item {k}")


def test_resnet20_fuses_every_relu():
    from neuronka.applications.cifar_resnet import get as get_zoo_model

    model = get_zoo_model("resnet20")
    # 19 ReLUs: the stem's and the first of each of 9 blocks follow a BN, the other 9 an Add
    assert len(model._fuse_first) == len(model._fuse_skip) == 19
