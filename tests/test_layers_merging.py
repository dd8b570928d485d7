"""Merging layers: one table through the layer harness (forward and backward of every input vs PyTorch),
then broadcasting, masks, the functional forms and the errors."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import layers

from .helpers import LazyModule
from .layer_harness import LayerCase, layer_cases

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)
F = LazyModule("torch.nn.functional")


def fn(f):
    return lambda layer: (f, None, None)


S = (2, 3, 4)
CASES = [
    LayerCase("add", layers.Add, {}, [S, S, S], expected_output_shape=S,
              torch_equivalent=fn(lambda a, b, c: a + b + c)),
    LayerCase("add_broadcast", layers.Add, {}, [S, (2, 1, 4)], expected_output_shape=S,
              torch_equivalent=fn(lambda a, b: a + b)),
    LayerCase("add_lower_rank_gets_axes_after_batch", layers.Add, {}, [S, (2, 4)], expected_output_shape=S,
              torch_equivalent=fn(lambda a, b: a + b.unsqueeze(1))),
    LayerCase("subtract", layers.Subtract, {}, [S, S], torch_equivalent=fn(lambda a, b: a - b)),
    LayerCase("multiply", layers.Multiply, {}, [S, S, S], torch_equivalent=fn(lambda a, b, c: a * b * c)),
    LayerCase("multiply_broadcast", layers.Multiply, {}, [S, (2, 3, 1)], expected_output_shape=S,
              torch_equivalent=fn(lambda a, b: a * b)),
    LayerCase("average", layers.Average, {}, [S, S, S], torch_equivalent=fn(lambda a, b, c: (a + b + c) / 3)),
    LayerCase("maximum", layers.Maximum, {}, [S, S, S],
              torch_equivalent=fn(lambda a, b, c: torch.maximum(torch.maximum(a, b), c))),
    LayerCase("minimum", layers.Minimum, {}, [S, S], torch_equivalent=fn(lambda a, b: torch.minimum(a, b))),
    LayerCase("concatenate_last_axis", layers.Concatenate, {}, [S, (2, 3, 2), (2, 3, 1)],
              expected_output_shape=(2, 3, 7),
              torch_equivalent=fn(lambda *xs: torch.cat(xs, dim=-1))),
    LayerCase("concatenate_axis_1", layers.Concatenate, {"axis": 1}, [S, (2, 5, 4)], expected_output_shape=(2, 8, 4),
              torch_equivalent=fn(lambda *xs: torch.cat(xs, dim=1))),
    LayerCase("dot_vectors", layers.Dot, {"axes": 1}, [(3, 5), (3, 5)], expected_output_shape=(3, 1),
              torch_equivalent=fn(lambda a, b: (a * b).sum(1, keepdim=True))),
    LayerCase("dot_sequences", layers.Dot, {"axes": (2, 2)}, [(2, 3, 5), (2, 4, 5)], expected_output_shape=(2, 3, 4),
              torch_equivalent=fn(lambda a, b: torch.bmm(a, b.transpose(1, 2)))),
    LayerCase("dot_attention_scores", layers.Dot, {"axes": (1, 1)}, [(2, 5, 3), (2, 5, 4)],
              expected_output_shape=(2, 3, 4), torch_equivalent=fn(lambda a, b: torch.bmm(a.transpose(1, 2), b))),
    LayerCase("dot_cosine", layers.Dot, {"axes": 1, "normalize": True}, [(3, 5), (3, 5)], expected_output_shape=(3, 1),
              torch_equivalent=fn(lambda a, b: F.cosine_similarity(a, b, dim=1, eps=0).unsqueeze(1)), gradcheck=True),
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


# ---- shapes and broadcasting -------------------------------------------------------------------------
def test_symbolic_merge_of_unknown_batch_and_functional_forms():
    a, b = layers.Input(shape=(3, 4)), layers.Input(shape=(1, 4))
    assert layers.add([a, b]).shape == (None, 3, 4)
    assert layers.multiply([a, b]).shape == (None, 3, 4)
    assert layers.concatenate([a, b], axis=1).shape == (None, 4, 4)
    assert (a + b).shape == (None, 3, 4)  # KerasTensor operators are merge layers
    assert layers.dot([a, a], axes=2).shape == (None, 3, 3)


def test_functional_forms_compute_like_the_layers():
    rng = numpy.random.default_rng(0)
    x, y = (rng.standard_normal((2, 3)).astype(numpy.float32) for _ in range(2))
    xt, yt = nk.Tensor(x), nk.Tensor(y)
    numpy.testing.assert_allclose(layers.subtract([xt, yt]).numpy(), x - y)
    numpy.testing.assert_allclose(layers.average([xt, yt]).numpy(), (x + y) / 2, rtol=1e-6)
    numpy.testing.assert_allclose(layers.maximum([xt, yt]).numpy(), numpy.maximum(x, y))
    numpy.testing.assert_allclose(layers.minimum([xt, yt]).numpy(), numpy.minimum(x, y))


# ---- errors --------------------------------------------------------------------------------------------
def zeros(*shape):
    return nk.Tensor(numpy.zeros(shape, dtype=numpy.float32))


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Add()([zeros(2, 3, 4), zeros(2, 3, 5)]),
     r"Add .*incompatible shapes.*received shapes \(3, 4\) and \(3, 5\)"),
    (lambda: layers.Multiply()([zeros(2, 3), zeros(4, 3)]),
     r"Multiply .*different batch sizes.*\[\(2, 3\), \(4, 3\)\]"),
    (lambda: layers.Subtract()([zeros(2, 3), zeros(2, 3), zeros(2, 3)]), r"Subtract .*expected exactly 2 inputs"),
    (lambda: layers.Add()(zeros(2, 3)), r"Add .*expected to be called on a list"),
    (lambda: layers.Concatenate()([zeros(2, 3, 4), zeros(2, 2, 4)]),
     r"Concatenate .*matching shapes except for the concatenation axis -1, "
     r"received shapes \[\(2, 3, 4\), \(2, 2, 4\)\]"),
    (lambda: layers.Concatenate(axis=3)([zeros(2, 3), zeros(2, 3)]), r"axis=3 is out of range"),
    (lambda: layers.Dot(axes=1)([zeros(2, 3), zeros(2, 4)]), r"Dot .*contracted axes must have equal sizes"),
    (lambda: layers.Dot(axes="last"), r"Dot: expected `axes` to be an int or a list of 2 ints"),
    (lambda: layers.Add()([layers.Input(shape=(3,)), layers.Input(shape=(4,))]),
     r"incompatible shapes.*\(3,\) and \(4,\)"),
])
def test_bad_inputs_raise_errors_naming_the_layer_and_shapes(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---- masks ---------------------------------------------------------------------------------------------
def masked(array, mask):
    t = nk.Tensor(numpy.asarray(array, dtype=numpy.float32))
    t._keras_mask = numpy.asarray(mask, dtype=bool)
    return t


def test_elementwise_merge_output_mask_is_the_or_of_the_input_masks():
    a = masked(numpy.ones((1, 3, 2)), [[True, False, False]])
    b = masked(numpy.ones((1, 3, 2)), [[False, True, False]])
    y = layers.Add()([a, b])
    numpy.testing.assert_array_equal(y._keras_mask, [[True, True, False]])
    unmasked = layers.Add()([a, zeros(1, 3, 2)])
    assert unmasked._keras_mask is None  # Keras 3: no mask when some input has none


def test_multiply_ignores_masked_out_entries_and_zeroes_fully_masked_steps():
    a = masked([[[2.0], [3.0], [5.0]]], [[True, False, False]])
    b = masked([[[7.0], [11.0], [13.0]]], [[True, True, False]])
    y = layers.Multiply()([a, b]).numpy()[0, :, 0]
    numpy.testing.assert_allclose(y, [14.0, 11.0, 0.0])  # masked a counts as 1; step 3 masked everywhere


def test_maximum_takes_the_unmasked_side():
    a = masked([[[9.0], [1.0]]], [[False, True]])
    b = masked([[[2.0], [0.0]]], [[True, True]])
    numpy.testing.assert_allclose(layers.Maximum()([a, b]).numpy()[0, :, 0], [2.0, 1.0])


def test_concatenate_concatenates_masks_treating_unmasked_inputs_as_all_true():
    a = masked(numpy.ones((1, 3, 2)), [[True, False, False]])
    b = zeros(1, 3, 2)
    y = layers.Concatenate(axis=1)([a, b])
    numpy.testing.assert_array_equal(y._keras_mask, [[True, False, False, True, True, True]])
    assert layers.Concatenate()([zeros(1, 2), zeros(1, 2)])._keras_mask is None
