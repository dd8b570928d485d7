"""Initializers: one table of random cases checked for their statistics, plus the deterministic ones.

A row: (name, initializer, shape, expected mean, expected std, bound or None).
Expected values come from the formulas (Keras 3): fans from the shape (dense
(in, out), convolution (kh, kw, in, out): receptive field × channels), variance
scale / n, truncated normals cut at ±2σ, uniforms on [−limit, limit] with
limit = sqrt(3 · variance). Shapes hold ≥ 60,000 values so the sample std is
within about 1 % of the truth; the tolerance is 3 %.
"""
from __future__ import annotations

import math

import numpy
import pytest

import neuronka as nk
from neuronka import initializers

DENSE = (300, 200)  # fan_in 300, fan_out 200
CONV = (3, 3, 64, 48)  # fan_in 576, fan_out 432
TRUNC = 0.87962566103423978  # std of a standard normal truncated to [-2, 2]


def fans(shape):
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


def std_for(shape, scale, mode):
    fan_in, fan_out = fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return math.sqrt(scale / n)


def uniform_case(name, init, shape, scale, mode):
    s = std_for(shape, scale, mode)
    return (name, init, shape, 0.0, s, math.sqrt(3) * s)  # U[-l, l] has std l / sqrt(3)


def normal_case(name, init, shape, scale, mode):
    s = std_for(shape, scale, mode)
    return (name, init, shape, 0.0, s, 2 * s / TRUNC)  # truncated at 2σ of the untruncated normal


RANDOM_CASES = [
    ("random_normal", initializers.RandomNormal(mean=0.5, stddev=0.2), DENSE, 0.5, 0.2, None),
    ("random_normal_default", initializers.RandomNormal(), CONV, 0.0, 0.05, None),
    ("random_uniform", initializers.RandomUniform(-0.3, 0.7), DENSE, 0.2, 1.0 / math.sqrt(12), None),
    ("random_uniform_default", initializers.RandomUniform(), CONV, 0.0, 0.1 / math.sqrt(12), None),
    ("truncated_normal", initializers.TruncatedNormal(mean=1.0, stddev=0.1), DENSE, 1.0, 0.1 * TRUNC, None),
    ("variance_scaling_untruncated", initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal"), CONV,
     0.0, std_for(CONV, 3.0, "fan_out"), None),
    normal_case("variance_scaling_default", initializers.VarianceScaling(), DENSE, 1.0, "fan_in"),
    uniform_case("variance_scaling_uniform_avg", initializers.VarianceScaling(0.5, "fan_avg", "uniform"), CONV,
                 0.5, "fan_avg"),
    normal_case("glorot_normal_dense", initializers.GlorotNormal(), DENSE, 1.0, "fan_avg"),
    normal_case("glorot_normal_conv", initializers.GlorotNormal(), CONV, 1.0, "fan_avg"),
    uniform_case("glorot_uniform_dense", initializers.GlorotUniform(), DENSE, 1.0, "fan_avg"),
    uniform_case("glorot_uniform_conv", initializers.GlorotUniform(), CONV, 1.0, "fan_avg"),
    normal_case("he_normal_dense", initializers.HeNormal(), DENSE, 2.0, "fan_in"),
    normal_case("he_normal_conv", initializers.HeNormal(), CONV, 2.0, "fan_in"),
    uniform_case("he_uniform_dense", initializers.HeUniform(), DENSE, 2.0, "fan_in"),
    uniform_case("he_uniform_conv", initializers.HeUniform(), CONV, 2.0, "fan_in"),
    normal_case("lecun_normal_dense", initializers.LecunNormal(), DENSE, 1.0, "fan_in"),
    normal_case("lecun_normal_conv", initializers.LecunNormal(), CONV, 1.0, "fan_in"),
    uniform_case("lecun_uniform_dense", initializers.LecunUniform(), DENSE, 1.0, "fan_in"),
    uniform_case("lecun_uniform_conv", initializers.LecunUniform(), CONV, 1.0, "fan_in"),
]


@pytest.mark.parametrize("name, init, shape, mean, std, bound", RANDOM_CASES, ids=[c[0] for c in RANDOM_CASES])
def test_random_initializer_statistics_match_formula(name, init, shape, mean, std, bound):
    w = init(shape)
    assert w.shape == shape and w.dtype == numpy.float32
    assert abs(float(w.mean(dtype=numpy.float64)) - mean) < 0.03 * std + 1e-12, name
    assert float(w.std(dtype=numpy.float64)) == pytest.approx(std, rel=0.03), name
    if bound is not None:
        assert float(numpy.abs(w).max()) <= bound * (1 + 1e-6), name
        assert float(numpy.abs(w).max()) > 0.95 * bound, f"{name}: the samples do not reach the bound"
    if name.startswith("truncated_normal"):
        assert float(numpy.abs(w - mean).max()) <= 2 * 0.1 * (1 + 1e-6)


def test_he_normal_std_is_sqrt_2_over_fan_in_of_a_conv_kernel():
    """The docstring's formula, spelled out: kernel (3, 3, 64, 48) has fan_in 3·3·64 = 576."""
    w = initializers.HeNormal(seed=1)((3, 3, 64, 48))
    assert float(w.std()) == pytest.approx(math.sqrt(2 / 576), rel=0.03)


@pytest.mark.parametrize("shape, expected", [
    ((), (1, 1)), ((7,), (7, 7)), ((4, 5), (4, 5)), ((3, 3, 8, 16), (72, 144)), ((2, 3, 4, 5, 6), (120, 144)),
])
def test_compute_fans_is_receptive_field_times_channels(shape, expected):
    assert initializers.compute_fans(shape) == expected


@pytest.mark.parametrize("shape, gain", [((64, 32), 1.0), ((32, 64), 1.0), ((3, 3, 8, 16), 2.0), ((20, 20), 0.5)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape, gain):
    w = initializers.Orthogonal(gain=gain, seed=3)(shape, dtype="float64")
    assert w.shape == shape
    flat = w.reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T  # Wᵀ W or W Wᵀ
    numpy.testing.assert_allclose(gram, gain**2 * numpy.eye(gram.shape[0]), atol=1e-12)


def test_orthogonal_rejects_vectors():
    with pytest.raises(ValueError, match="at least two-dimensional"):
        initializers.Orthogonal()((5,))


def test_identity_is_gain_times_eye_and_only_2d():
    numpy.testing.assert_array_equal(initializers.Identity(gain=3.0)((3, 4)), 3.0 * numpy.eye(3, 4))
    with pytest.raises(ValueError, match="2D matrices"):
        initializers.Identity()((2, 2, 2))


def test_constant_initializers():
    numpy.testing.assert_array_equal(initializers.Zeros()((2, 3)), numpy.zeros((2, 3)))
    numpy.testing.assert_array_equal(initializers.Ones()((4,)), numpy.ones(4))
    w = initializers.Constant(0.25)((2, 2), dtype="float64")
    assert w.dtype == numpy.float64
    numpy.testing.assert_array_equal(w, 0.25)
    assert initializers.Zeros()((3,), dtype="int32").dtype == numpy.int32


def test_dtype_defaults_to_floatx_and_can_be_float64():
    assert initializers.GlorotUniform()((3, 3)).dtype == numpy.float32
    assert initializers.HeNormal()((3, 3), dtype="float64").dtype == numpy.float64
    nk.set_floatx("float64")
    try:
        assert initializers.RandomNormal()((2,)).dtype == numpy.float64
    finally:
        nk.set_floatx("float32")
    with pytest.raises(ValueError, match="floating-point dtype"):
        initializers.RandomNormal()((2,), dtype="int32")


# ----------------------------------------------------------------------------------
# seeding
# ----------------------------------------------------------------------------------
SEEDABLE = ["random_normal", "random_uniform", "truncated_normal", "variance_scaling", "glorot_normal",
            "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal"]


@pytest.mark.parametrize("name", SEEDABLE)
def test_same_seed_same_values_different_seed_different_values(name):
    cls = initializers.ALL_INITIALIZERS[name]
    a = cls(seed=7)((6, 5))
    numpy.testing.assert_array_equal(a, cls(seed=7)((6, 5)))
    numpy.testing.assert_array_equal(a, cls(seed=7).clone()((6, 5)))
    init = cls(seed=7)
    numpy.testing.assert_array_equal(init((6, 5)), init((6, 5)))  # a seeded initializer repeats itself, as in Keras
    assert not numpy.array_equal(a, cls(seed=8)((6, 5)))


def test_unseeded_initializers_draw_their_seed_at_construction_as_keras_3():
    """Keras 3: seed=None draws a default seed when the initializer is built, so one instance repeats its
    values; instances built after the same ``set_seed`` draw the same seeds."""
    initializers.set_seed(42)
    init = initializers.GlorotUniform()
    first = [init((4, 4)), initializers.HeNormal()((4, 4))]
    numpy.testing.assert_array_equal(first[0], init((4, 4)))  # the same instance repeats itself
    initializers.set_seed(42)
    again = [initializers.GlorotUniform()((4, 4)), initializers.HeNormal()((4, 4))]
    for a, b in zip(first, again):
        numpy.testing.assert_array_equal(a, b)
    assert not numpy.array_equal(first[0], initializers.GlorotUniform()((4, 4)))  # a new instance, a new seed
    initializers.set_seed(None)


def test_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed="abc")


# ----------------------------------------------------------------------------------
# names and configs
# ----------------------------------------------------------------------------------
NAMES = {
    "zeros": initializers.Zeros, "zero": initializers.Zeros, "Zeros": initializers.Zeros,
    "ones": initializers.Ones, "one": initializers.Ones, "Ones": initializers.Ones,
    "constant": initializers.Constant, "Constant": initializers.Constant,
    "identity": initializers.Identity, "Identity": initializers.Identity,
    "random_normal": initializers.RandomNormal, "RandomNormal": initializers.RandomNormal,
    "normal": initializers.RandomNormal,
    "random_uniform": initializers.RandomUniform, "RandomUniform": initializers.RandomUniform,
    "uniform": initializers.RandomUniform,
    "truncated_normal": initializers.TruncatedNormal, "TruncatedNormal": initializers.TruncatedNormal,
    "variance_scaling": initializers.VarianceScaling, "VarianceScaling": initializers.VarianceScaling,
    "glorot_normal": initializers.GlorotNormal, "GlorotNormal": initializers.GlorotNormal,
    "glorot_uniform": initializers.GlorotUniform, "GlorotUniform": initializers.GlorotUniform,
    "he_normal": initializers.HeNormal, "HeNormal": initializers.HeNormal,
    "he_uniform": initializers.HeUniform, "HeUniform": initializers.HeUniform,
    "lecun_normal": initializers.LecunNormal, "LecunNormal": initializers.LecunNormal,
    "lecun_uniform": initializers.LecunUniform, "LecunUniform": initializers.LecunUniform,
    "orthogonal": initializers.Orthogonal, "Orthogonal": initializers.Orthogonal,
    "OrthogonalInitializer": initializers.Orthogonal,
}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_get_resolves_every_keras_name(name):
    init = initializers.get(name)
    assert type(init) is NAMES[name]
    shape = (4, 4)
    assert init(shape).shape == shape


def test_get_accepts_instances_classes_callables_dicts_and_none():
    init = initializers.HeNormal(seed=1)
    assert initializers.get(init) is init
    assert type(initializers.get(initializers.Orthogonal)) is initializers.Orthogonal

    def fn(shape, dtype=None):
        return numpy.zeros(shape)

    assert initializers.get(fn) is fn
    assert initializers.get(None) is None
    from_dict = initializers.get({"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_out"}})
    assert from_dict.scale == 2.0 and from_dict.mode == "fan_out"


def test_get_unknown_name_says_what_was_received_and_what_is_accepted():
    with pytest.raises(ValueError, match="'he_normall'") as info:
        initializers.get("he_normall")
    for name in ("he_normal", "glorot_uniform", "zeros", "orthogonal"):
        assert f"'{name}'" in str(info.value)
    with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
        initializers.get(3)


CONFIG_CASES = [
    initializers.Zeros(), initializers.Constant(0.3), initializers.Identity(2.0),
    initializers.RandomNormal(1.0, 0.5, seed=3), initializers.RandomUniform(-1.0, 2.0, seed=4),
    initializers.TruncatedNormal(0.0, 0.3, seed=5), initializers.VarianceScaling(2.0, "fan_avg", "uniform", seed=6),
    initializers.GlorotNormal(seed=7), initializers.HeUniform(seed=8), initializers.LecunNormal(seed=9),
    initializers.Orthogonal(gain=0.5, seed=10),
]


@pytest.mark.parametrize("init", CONFIG_CASES, ids=[type(c).__name__ for c in CONFIG_CASES])
def test_config_round_trips_to_the_same_values(init):
    config = initializers.serialize(init)
    assert config["class_name"] == type(init).__name__
    again = initializers.get(config)
    assert type(again) is type(init) and again.get_config() == init.get_config()
    numpy.testing.assert_array_equal(again((5, 6)), init((5, 6)))


def test_fixed_variance_scaling_configs_hold_only_the_seed():
    assert initializers.HeNormal(seed=3).get_config() == {"seed": 3, "input_axes": None, "output_axes": None}
    assert initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_sum")
