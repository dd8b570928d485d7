"""Ops called on symbolic tensors (``keras.Input`` outputs) become nodes of a functional model, as in
Keras 3: the symbolic shapes equal Keras's, and the model computes what the ops compute eagerly."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk

from .keras_oracle import keras_or_skip, to_numpy


def _graph(m):
    a = m.Input((3, 4))
    b = m.Input((4,))
    c = m.ops.concatenate([a, m.ops.expand_dims(b, 1)], axis=1)  # (None, 4, 4)
    d = m.ops.matmul(c, m.ops.transpose(c, (0, 2, 1)))  # (None, 4, 4)
    e = m.ops.sum(d, axis=-1)  # (None, 4)
    f = m.layers.Dense(2)(e)
    g = m.ops.square(f) + m.ops.mean(b, axis=1, keepdims=True)
    return [a, b], [c, d, e, g]


def test_symbolic_shapes_and_dtypes_equal_keras():
    keras = keras_or_skip()
    _, k_out = _graph(keras)
    _, n_out = _graph(nk)
    for k, n in zip(k_out, n_out):
        assert isinstance(n, nk.KerasTensor)
        assert tuple(n.shape) == tuple(k.shape)
        assert n.dtype == k.dtype


def test_a_model_of_ops_on_symbolic_inputs_computes_what_the_ops_compute_eagerly():
    inputs, outputs = _graph(nk)
    model = nk.Model(inputs, outputs[-1])
    rng = numpy.random.default_rng(0)
    a, b = rng.standard_normal((5, 3, 4)).astype("float32"), rng.standard_normal((5, 4)).astype("float32")
    got = model.predict([a, b], verbose=0)
    dense = model.layers[[type(layer).__name__ for layer in model.layers].index("Dense")]
    c = numpy.concatenate([a, b[:, None]], axis=1)
    e = (c @ c.transpose(0, 2, 1)).sum(-1)
    f = e @ dense.kernel.numpy() + dense.bias.numpy()
    numpy.testing.assert_allclose(got, numpy.square(f) + b.mean(1, keepdims=True), rtol=1e-5, atol=1e-5)
    # and it trains: gradients flow through the op nodes
    model.compile(optimizer="sgd", loss="mse")
    before = dense.kernel.numpy().copy()
    model.fit([a, b], numpy.zeros((5, 2), "float32"), epochs=1, verbose=0)
    assert not numpy.array_equal(before, dense.kernel.numpy())


def test_unknown_axes_stay_unknown_as_in_keras():
    keras = keras_or_skip()
    shapes = []
    for m in (keras, nk):
        x = m.Input((None, 6))
        shapes.append([tuple(m.ops.reshape(x, (-1, 3)).shape), tuple(m.ops.transpose(x, (0, 2, 1)).shape),
                       tuple(m.ops.sum(x, axis=1).shape)])
    assert shapes[0] == shapes[1]
    with pytest.raises(ValueError, match="ops.reshape: could not find the output shape"):
        nk.ops.reshape(nk.Input((5,)), (3, -1))


def test_eager_calls_are_unaffected_by_the_dispatch():
    x = nk.Tensor(numpy.ones((2, 3), "float32"), requires_grad=True)
    y = nk.ops.sum(nk.ops.concatenate([x, x], axis=0))
    assert isinstance(y, nk.Tensor) and float(to_numpy(y)) == 12.0
    y.backward()
    numpy.testing.assert_array_equal(x.grad, 2 * numpy.ones((2, 3)))
