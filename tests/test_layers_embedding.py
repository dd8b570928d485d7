"""Embedding: a table through the layer harness (shapes, config, weights, and the lookup and its scatter-add
gradient against torch.nn.Embedding, repeated indices included), then masks, LoRA, initial weights and errors."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka.layers.embedding import Embedding

from .helpers import LazyModule, torch_module
from .layer_harness import LayerCase, copy_into, grad_of, layer_cases

torch = LazyModule("torch")  # the oracle, imported inside the tests that compare with it (tests/oracles.py)


def indices(high, dtype=numpy.int64):
    """Integer inputs in [0, high), with repeats (so the scatter-add of repeated rows is exercised)."""
    def make(rng, shape):
        a = rng.integers(0, high, size=shape).astype(dtype)
        a.reshape(-1)[:2] = a.reshape(-1)[2]  # at least three copies of one index
        return a

    return make


def torch_embedding(layer):
    emb = torch.nn.Embedding(layer.input_dim, layer.output_dim)
    copy_into(emb.weight, layer.embeddings.numpy())
    return emb, (lambda x: x.long()), None


def embedding_weight_map(layer, emb):
    return [(layer._embeddings, grad_of(emb.weight))]


@torch_module
class _LoRA:
    def __init__(self, layer):
        super().__init__()
        self.w = torch.nn.Parameter(torch.from_numpy(layer._embeddings.numpy().copy()), requires_grad=False)
        self.a = torch.nn.Parameter(torch.from_numpy(layer.lora_embeddings_a.numpy().copy()))
        self.b = torch.nn.Parameter(torch.from_numpy(layer.lora_embeddings_b.numpy().copy()))
        self.k = layer.lora_alpha / layer.lora_rank

    def forward(self, x):
        return torch.nn.functional.embedding(x.long(), self.w + self.k * self.a @ self.b)


def lora_weight_map(layer, module):
    return [(layer.lora_embeddings_a, grad_of(module.a)), (layer.lora_embeddings_b, grad_of(module.b))]


TORCH = {"torch_equivalent": torch_embedding, "weight_map": embedding_weight_map}
CASES = [
    LayerCase("embedding", Embedding, {"input_dim": 10, "output_dim": 4}, (3, 5), input_maker=indices(10),
              expected_output_shape=(3, 5, 4), expected_num_trainable_weights=1, expected_num_params=40,
              check_input_grads=False, **TORCH),
    LayerCase("embedding_int32_3d_indices", Embedding, {"input_dim": 7, "output_dim": 3}, (2, 3, 4),
              input_maker=indices(7, numpy.int32), expected_output_shape=(2, 3, 4, 3), check_input_grads=False,
              **TORCH),
    LayerCase("embedding_mask_zero", Embedding, {"input_dim": 6, "output_dim": 2, "mask_zero": True}, (4, 3),
              input_maker=indices(6), check_input_grads=False, **TORCH),
    LayerCase("embedding_float_indices", Embedding, {"input_dim": 5, "output_dim": 2}, (3, 4),
              input_maker=indices(5, numpy.float32), check_input_grads=False, **TORCH),
    LayerCase("embedding_lora", Embedding, {"input_dim": 8, "output_dim": 3, "lora_rank": 2}, (2, 5),
              input_maker=indices(8), expected_num_trainable_weights=2, expected_num_non_trainable_weights=1,
              expected_num_params=8 * 3 + 8 * 2 + 2 * 3, check_input_grads=False, torch_equivalent=lambda layer: (
                  _LoRA(layer), None, None), weight_map=lora_weight_map),
]


@layer_cases(CASES)
def test_layer_contract(case):
    case.run()


def test_lookup_gradient_scatter_adds_repeated_indices():
    layer = Embedding(4, 2)
    x = numpy.array([[1, 1, 3], [1, 0, 3]])
    y = layer(x)
    y.backward(numpy.ones((2, 3, 2), numpy.float32))
    numpy.testing.assert_array_equal(layer.embeddings.grad, [[1, 1], [3, 3], [0, 0], [2, 2]])
    numpy.testing.assert_array_equal(y.numpy()[0, 0], layer.embeddings.numpy()[1])


def test_mask_zero_gives_mask_of_nonzero_indices_and_none_otherwise():
    x = numpy.array([[3, 1, 0, 0], [2, 0, 0, 0]])
    masked = Embedding(5, 2, mask_zero=True)
    y = masked(x)
    numpy.testing.assert_array_equal(y._keras_mask, x != 0)
    numpy.testing.assert_array_equal(masked.compute_mask(nk.Tensor(x)), x != 0)
    plain = Embedding(5, 2)
    assert plain(x)._keras_mask is None and plain.compute_mask(nk.Tensor(x)) is None


def test_default_initializer_is_uniform_005_and_weights_argument_sets_the_table():
    layer = Embedding(100, 8)
    layer.build()
    e = layer.embeddings.numpy()
    assert e.dtype == numpy.float32 and numpy.abs(e).max() <= 0.05 and e.std() > 0.01
    table = numpy.arange(12, dtype=numpy.float32).reshape(4, 3)
    given = Embedding(4, 3, weights=table)
    numpy.testing.assert_array_equal(given(numpy.array([[2, 0]])).numpy()[0], table[[2, 0]])
    assert [w.path for w in given.weights] == [f"{given.name}/embeddings"]


def test_lora_starts_as_the_plain_lookup_and_freezes_the_table():
    layer = Embedding(6, 3)
    x = numpy.array([[1, 5, 2]])
    before = layer(x).numpy()
    layer.enable_lora(2)
    numpy.testing.assert_allclose(layer(x).numpy(), before)  # B starts at zero
    assert [w.name for w in layer.trainable_weights] == ["lora_embeddings_a", "lora_embeddings_b"]
    layer.trainable = False
    layer.trainable = True
    assert not layer._embeddings.trainable  # stays frozen through a trainable round trip
    with pytest.raises(ValueError, match="already enabled"):
        layer.enable_lora(2)


def test_symbolic_integer_input_and_compute_output_shape():
    inp = nk.layers.Input(shape=(7,), dtype="int32")
    out = Embedding(10, 4)(inp)
    assert out.shape == (None, 7, 4) and out.dtype == "float32"


def test_input_length_is_deprecated_and_ignored():
    with pytest.warns(UserWarning, match="input_length"):
        layer = Embedding(5, 2, input_length=3)
    assert "input_length" not in layer.get_config()


@pytest.mark.parametrize("x, err, match", [
    (numpy.array([[1, 5]]), ValueError, r"indices in \[0, 5\).*received index 5"),
    (numpy.array([[-1, 2]]), ValueError, "received index -1"),
    (numpy.array([[0.5, 2.0]], numpy.float32), ValueError, "non-integral"),
    (numpy.array([["a"]]), TypeError, "integer indices"),
])
def test_bad_indices_raise_errors_naming_the_layer_and_the_index(x, err, match):
    layer = Embedding(5, 2, name="words")
    with pytest.raises(err, match=match) as info:
        layer(x)
    assert "words" in str(info.value)


@pytest.mark.parametrize("kwargs, match", [
    ({"input_dim": 0, "output_dim": 2}, "input_dim"),
    ({"input_dim": 3, "output_dim": 2.5}, "output_dim"),
    ({"input_dim": 3, "output_dim": 2, "weights": numpy.zeros((2, 2))}, r"weights.*\(3, 2\)"),
    ({"input_dim": 3, "output_dim": 2, "lora_rank": -1}, "lora_rank"),
])
def test_bad_arguments_raise_errors_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Embedding(**kwargs)
