"""``neuronka.random`` against real Keras 3.15.1: shapes, dtypes, seeding semantics and the statistics of
each draw (Keras's random bits come from torch's generator and cannot be matched; what a draw *is* can),
and ``set_random_seed`` making a whole training run repeatable."""
from __future__ import annotations

import subprocess
import sys

import numpy
import pytest

import neuronka as nk
from neuronka import random as nr

from .keras_oracle import keras_api, keras_or_skip, to_numpy

# (name, args, kwargs): each drawn in Keras and in neuronka
DRAWS = [
    ("normal", ((3, 4),), {}),
    ("normal", ((2, 5),), {"mean": 2.0, "stddev": 0.5, "dtype": "float64"}),
    ("uniform", ((6,),), {"minval": -1.0, "maxval": 3.0}),
    ("uniform", ((2, 2),), {"dtype": "float16"}),
    ("truncated_normal", ((4, 3),), {"mean": 1.0, "stddev": 2.0}),
    ("randint", ((5,), 0, 7), {}),
    ("randint", ((2, 3),), {"minval": -3, "maxval": 3, "dtype": "int64"}),
    ("gamma", ((4,),), {"alpha": 2.0}),
    ("beta", ((4,),), {"alpha": 2.0, "beta": 3.0}),
    ("binomial", ((5,),), {"counts": 10, "probabilities": 0.3}),
]


@pytest.mark.parametrize("name,args,kwargs", [pytest.param(*d, id=f"{d[0]}-{i}", marks=keras_api(f"random.{d[0]}"))
                                              for i, d in enumerate(DRAWS)])
def test_draws_have_keras_shapes_and_dtypes_and_repeat_for_an_int_seed(name, args, kwargs):
    keras = keras_or_skip()
    kfn, nfn = getattr(keras.random, name), getattr(nr, name)
    expected = to_numpy(kfn(*args, **kwargs, seed=3))
    got = nfn(*args, **kwargs, seed=3).numpy()
    widened = {("int64", "int32"), ("float64", "float32")}
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype or (got.dtype.name, expected.dtype.name) in widened
    # an integer seed: the same values on every call, as Keras (stateless)
    numpy.testing.assert_array_equal(nfn(*args, **kwargs, seed=3).numpy(), got)
    numpy.testing.assert_array_equal(to_numpy(kfn(*args, **kwargs, seed=3)), expected)
    # another seed, other values (the draws have enough entropy at these sizes)
    assert not numpy.array_equal(nfn(*args, **kwargs, seed=4).numpy(), got)


@keras_api("random.normal", "random.uniform", "random.truncated_normal", "random.gamma", "random.beta",
           "random.binomial", "random.randint")
def test_draws_follow_the_same_distributions_as_keras():
    keras = keras_or_skip()
    n = 200_000
    cases = [("normal", {"mean": 1.5, "stddev": 2.0}), ("uniform", {"minval": -2.0, "maxval": 4.0}),
             ("truncated_normal", {"mean": 0.0, "stddev": 1.0}), ("gamma", {"alpha": 3.0}),
             ("beta", {"alpha": 2.0, "beta": 5.0}), ("binomial", {"counts": 8, "probabilities": 0.25})]
    for name, kw in cases:
        k = to_numpy(getattr(keras.random, name)((n,), **kw, seed=1)).astype(numpy.float64)
        v = getattr(nr, name)((n,), **kw, seed=1).numpy().astype(numpy.float64)
        for stat in (numpy.mean, numpy.std, numpy.min, numpy.max):
            tol = 0.03 * max(abs(stat(k)), 1.0) if stat in (numpy.mean, numpy.std) else 0.15 * max(abs(stat(k)), 1.0)
            assert abs(stat(v) - stat(k)) < tol, (name, stat.__name__, stat(v), stat(k))
    tn = nr.truncated_normal((n,), mean=1.0, stddev=0.5, seed=2).numpy()
    assert tn.min() >= 1.0 - 2 * 0.5 and tn.max() <= 1.0 + 2 * 0.5
    ri = nr.randint((n,), -2, 3, seed=0).numpy()
    kri = to_numpy(keras.random.randint((n,), -2, 3, seed=0))
    assert set(numpy.unique(ri)) == set(numpy.unique(kri)) == {-2, -1, 0, 1, 2}


@keras_api("random.categorical")
def test_categorical_draws_classes_with_softmax_probabilities_as_keras():
    keras = keras_or_skip()
    p = numpy.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    logits = numpy.log(p).astype("float32")
    k = to_numpy(keras.random.categorical(logits, 50_000, seed=0))
    v = nr.categorical(logits, 50_000, seed=0).numpy()
    assert v.shape == k.shape == (2, 50_000) and v.dtype == k.dtype == numpy.int32
    for row in range(2):
        freq_v = numpy.bincount(v[row], minlength=3) / v.shape[1]
        freq_k = numpy.bincount(k[row], minlength=3) / k.shape[1]
        numpy.testing.assert_allclose(freq_v, p[row], atol=0.01)
        numpy.testing.assert_allclose(freq_k, p[row], atol=0.01)
    with pytest.raises(ValueError, match="2-D"):
        nr.categorical(numpy.zeros(3), 2)


@keras_api("random.dropout")
def test_dropout_keeps_a_fraction_scaled_by_one_over_keep_as_keras():
    keras = keras_or_skip()
    x = numpy.ones((400, 500), "float32")
    k = to_numpy(keras.random.dropout(keras.ops.convert_to_tensor(x), 0.3, seed=1))
    v = nr.dropout(x, 0.3, seed=1).numpy()
    assert set(numpy.unique(v)) == set(numpy.unique(k)) == {0.0, numpy.float32(1 / 0.7)}
    assert abs((v == 0).mean() - (k == 0).mean()) < 0.01
    spatial = nr.dropout(x, 0.5, noise_shape=(400, 1), seed=2).numpy()
    assert ((spatial == 0).all(axis=1) | (spatial != 0).all(axis=1)).all()
    xt = nk.Tensor(x[:3, :4].astype("float64"), requires_grad=True)
    y = nr.dropout(xt, 0.5, seed=5)
    y.backward(numpy.ones((3, 4)))
    numpy.testing.assert_array_equal(xt.grad, y.numpy())  # dL/dx = m / (1 - rate)


@keras_api("random.shuffle")
def test_shuffle_permutes_along_an_axis_and_passes_gradients_back():
    keras = keras_or_skip()
    x = numpy.arange(24, dtype="float32").reshape(4, 6)
    for axis in (0, 1):
        k = to_numpy(keras.random.shuffle(x, axis=axis, seed=1))
        v = nr.shuffle(x, axis=axis, seed=1).numpy()
        assert v.shape == k.shape and v.dtype == k.dtype
        numpy.testing.assert_array_equal(numpy.sort(v, axis=axis), numpy.sort(k, axis=axis))
        assert any(not numpy.array_equal(nr.shuffle(x, axis=axis, seed=s).numpy(), x) for s in range(3))
    xt = nk.Tensor(x.astype("float64"), requires_grad=True)
    y = nr.shuffle(xt, seed=2)
    y.backward(y.numpy())  # dL/dx sends each row's gradient back to where it came from
    numpy.testing.assert_array_equal(xt.grad, x)


@keras_api("random.SeedGenerator")
def test_seed_generator_advances_and_repeats_as_keras():
    keras = keras_or_skip()
    for m, conv in ((keras, to_numpy), (nk, lambda t: t.numpy())):
        g1, g2 = m.random.SeedGenerator(7), m.random.SeedGenerator(7)
        a = [conv(m.random.normal((4,), seed=g1)) for _ in range(3)]
        b = [conv(m.random.normal((4,), seed=g2)) for _ in range(3)]
        for x, y in zip(a, b):
            numpy.testing.assert_array_equal(x, y)  # the same seed: the same sequence
        assert not numpy.array_equal(a[0], a[1])  # each draw advances the state
        assert m.random.SeedGenerator(7).get_config()["seed"] == 7
        with pytest.raises(ValueError, match="must be an integer"):
            m.random.SeedGenerator(1.5)
        with pytest.raises(ValueError, match="SeedGenerator"):
            m.random.normal((2,), seed="a")
    kstate = to_numpy(keras.random.SeedGenerator(7).next())
    numpy.testing.assert_array_equal(nk.random.SeedGenerator(7).next(), kstate)  # state [seed, 0]


@keras_api("random.uniform", "random.randint")
def test_dtype_errors_match_keras():
    keras = keras_or_skip()
    for m in (keras, nk):
        with pytest.raises(ValueError, match="requires a floating point `dtype`"):
            m.random.uniform((2,), dtype="int32")
        with pytest.raises(ValueError, match="requires an integer `dtype`"):
            m.random.randint((2,), 0, 3, dtype="float32")


def _train_once(seed):
    nk.utils.set_random_seed(seed)
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = nk.Sequential([nk.Input((6,)), nk.layers.Dense(8, activation="relu"), nk.layers.Dropout(0.3),
                           nk.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    history = model.fit(x, y, epochs=2, batch_size=16, shuffle=True, verbose=0)
    return [w.copy() for w in model.get_weights()], history.history["loss"]


@keras_api("utils.set_random_seed")
def test_set_random_seed_makes_training_bit_identical_and_other_seeds_differ():
    keras = keras_or_skip()
    w1, h1 = _train_once(123)
    w2, h2 = _train_once(123)
    w3, _ = _train_once(124)
    assert h1 == h2
    for a, b in zip(w1, w2):
        numpy.testing.assert_array_equal(a, b)
    assert any(not numpy.array_equal(a, b) for a, b in zip(w1, w3))
    # as in Keras: Python's and NumPy's global generators are seeded too
    import random as python_random

    for m in (keras, nk):
        m.utils.set_random_seed(5)
        draws = (python_random.random(), numpy.random.random())
        m.utils.set_random_seed(5)
        assert (python_random.random(), numpy.random.random()) == draws
        with pytest.raises(ValueError, match="Expected `seed` argument to be an integer"):
            m.utils.set_random_seed(1.0)


SCRIPT = """
import neuronka as keras
keras.utils.set_random_seed(11)
import numpy
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dropout(0.5), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
x = keras.random.normal((32, 4)).numpy(); y = keras.random.uniform((32, 1)).numpy()
model.fit(x, y, epochs=2, batch_size=8, verbose=0)
print(repr(numpy.concatenate([w.ravel() for w in model.get_weights()]).tobytes().hex()))
"""


def test_the_same_script_twice_gives_bit_identical_weights_in_fresh_processes():
    runs = [subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) > 100
