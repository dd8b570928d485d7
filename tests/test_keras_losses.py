"""``neuronka.losses`` and the loss ops of ``keras.ops.nn`` against real Keras 3.15.1 (torch backend).

* every function form of ``keras.losses`` and the five loss ops of ``keras.ops.nn``: one table of rows
  (``OpCase``): values, shapes, dtypes, and the float64 gradient w.r.t. y_pred against central differences;
* every loss class: the same inputs through Keras's and neuronka's class, for each reduction and
  ``sample_weight`` (none, scalar, per sample, per timestep), plus a float64 gradcheck through the class;
* configs (``get_config``), ``serialize`` / ``deserialize`` / ``get``, and Keras's errors.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import losses

from .keras_oracle import Inputs, OpCase, assert_same, keras_api, keras_or_skip, op_cases, to_numpy

B, C = 4, 3


# ---- input makers ------------------------------------------------------------------------------------
def regression(shape, positive=False, away_from_zero=False):
    def make(r: Inputs):
        y = r.uniform(shape, 0.2, 3.0) if positive else r.normal(shape)
        p = r.uniform(shape, 0.2, 3.0) if positive else r.normal(shape)
        if away_from_zero:
            y = numpy.where(numpy.abs(y) < 0.3, 0.3 * numpy.sign(y) + 0.3 * (y == 0), y).astype("float32")
        return y, p
    return make


def binary(shape, logits=False, signed=False):
    def make(r: Inputs):
        y = r.ints(shape, 0, 2).astype("float32")
        if signed:
            y = 2 * y - 1
        p = r.normal(shape) * 2 if logits else r.uniform(shape, 0.05, 0.95)
        return y, p
    return make


def one_hot(shape, logits=False, soft=False, class_axis=-1):
    def make(r: Inputs):
        if soft:
            y = r.rng.dirichlet(numpy.ones(shape[-1]), shape[:-1]).astype("float32")
        else:
            y = numpy.eye(shape[-1], dtype="float32")[r.ints(shape[:-1], 0, shape[-1])]
        p = r.normal(shape) * 2 if logits else r.uniform(shape, 0.1, 1.0)
        return tuple(numpy.ascontiguousarray(numpy.moveaxis(a, -1, class_axis)) for a in (y, p))
    return make


def sparse(shape, logits=False, trailing_1=False, class_axis=-1, dtype="int32"):
    def make(r: Inputs):
        y = r.ints(shape[:-1], 0, shape[-1]).astype(dtype)
        p = r.normal(shape) * 2 if logits else r.uniform(shape, 0.1, 1.0)
        return (y[..., None] if trailing_1 else y), numpy.ascontiguousarray(numpy.moveaxis(p, -1, class_axis))
    return make


def probabilities_of_labels(shape):
    def make(r: Inputs):
        y, p = sparse(shape)(r)
        return y, p / p.sum(-1, keepdims=True)
    return make


def distributions(shape):
    def make(r: Inputs):
        d = r.rng.dirichlet(numpy.ones(shape[-1]) * 3, (2, *shape[:-1])).astype("float32")
        return d[0], d[1]
    return make


def masks(shape):
    def make(r: Inputs):
        return r.ints(shape, 0, 2).astype("float32"), r.uniform(shape, 0.05, 0.95)
    return make


def embeddings(n, dim, classes):
    def make(r: Inputs):
        e = r.normal((n, dim))
        return r.ints((n,), 0, classes), e / numpy.linalg.norm(e, axis=1, keepdims=True)
    return make


def ctc_batch(batch, frames, classes, max_label):
    """Labels in [1, classes) padded with 0 (the blank) at the end; logits."""
    def make(r: Inputs):
        labels = r.ints((batch, max_label), 1, classes)
        lengths = r.ints((batch,), 1, max_label + 1)
        lengths[0] = max_label
        labels = numpy.where(numpy.arange(max_label)[None, :] < lengths[:, None], labels, 0).astype("int32")
        return labels, r.normal((batch, frames, classes)) * 2
    return make


# ---- the function forms of keras.losses ----------------------------------------------------------------
def row(name, make, kwargs=None, id="", grad=(1,), **kw):
    return OpCase(f"losses.{name}", make, kwargs or {}, id=id, grad=grad, **kw)


FUNCTION_CASES = [
    row("mean_squared_error", regression((B, C))),
    row("mean_squared_error", regression((2, 3, 4)), id="3d"),
    row("mean_squared_error", lambda r: (r.ints((B, C), 0, 5), r.normal((B, C))), id="int_targets", grad=()),
    row("mean_absolute_error", regression((B, C))),
    row("mean_absolute_percentage_error", regression((B, C), away_from_zero=True), rtol=1e-4),
    row("mean_squared_logarithmic_error", regression((B, C), positive=True)),
    row("mean_squared_logarithmic_error", regression((B, C)), id="negatives_clipped"),
    row("cosine_similarity", regression((B, C))),
    row("cosine_similarity", regression((2, 3, 4)), {"axis": 1}, id="axis1"),
    row("huber", regression((B, C))),
    row("huber", regression((2, 3, 4)), {"delta": 0.5}, id="delta"),
    row("log_cosh", regression((B, C))),
    row("log_cosh", lambda r: (r.normal((B, C)), r.normal((B, C)) * 30), id="large_errors"),
    row("hinge", binary((B, C), logits=True)),
    row("hinge", binary((B, C), logits=True, signed=True), id="signed_labels"),
    row("squared_hinge", binary((B, C), logits=True)),
    row("squared_hinge", binary((B, C), logits=True, signed=True), id="signed_labels"),
    row("categorical_hinge", one_hot((B, C), logits=True)),
    row("kl_divergence", distributions((B, C))),
    row("kl_divergence", distributions((2, 3, 4)), id="3d"),
    row("poisson", regression((B, C), positive=True)),
    row("binary_crossentropy", binary((B, C))),
    row("binary_crossentropy", binary((B, C), logits=True), {"from_logits": True}, id="logits"),
    row("binary_crossentropy", binary((2, 3, 4), logits=True), {"from_logits": True, "label_smoothing": 0.2,
                                                                 "axis": 1}, id="logits_smoothing_axis1"),
    row("binary_focal_crossentropy", binary((B, C))),
    row("binary_focal_crossentropy", binary((B, C), logits=True),
        {"from_logits": True, "apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1},
        id="logits_balanced"),
    row("categorical_crossentropy", one_hot((B, C))),
    row("categorical_crossentropy", one_hot((B, C), logits=True, soft=True), {"from_logits": True,
                                                                              "label_smoothing": 0.2},
        id="logits_soft_smoothing"),
    row("categorical_crossentropy", one_hot((2, C, 4), logits=True, class_axis=1), {"from_logits": True, "axis": 1},
        id="axis1"),
    row("categorical_focal_crossentropy", one_hot((B, C))),
    row("categorical_focal_crossentropy", one_hot((B, C), logits=True),
        {"from_logits": True, "alpha": 0.5, "gamma": 3.0, "label_smoothing": 0.1}, id="logits"),
    row("sparse_categorical_crossentropy", sparse((B, C))),
    row("sparse_categorical_crossentropy", sparse((B, C), logits=True, trailing_1=True), {"from_logits": True},
        id="logits_trailing_1"),
    row("sparse_categorical_crossentropy", sparse((2, C, 4), logits=True, class_axis=1),
        {"from_logits": True, "axis": 1}, id="axis1"),
    row("categorical_generalized_cross_entropy", probabilities_of_labels((B, C)), {"q": 0.5},
        keras_fn=lambda y, p, q: keras_or_skip().losses.categorical_generalized_cross_entropy(
            y, keras_or_skip().ops.convert_to_tensor(p), q)),  # Keras's function needs a tensor y_pred
    row("categorical_generalized_cross_entropy", probabilities_of_labels((2, 3, C)), {"q": 0.3}, id="3d",
        keras_fn=lambda y, p, q: keras_or_skip().losses.categorical_generalized_cross_entropy(
            y, keras_or_skip().ops.convert_to_tensor(p), q)),
    row("dice", masks((2, 4, 4, 1))),
    row("dice", masks((2, 4, 4, 1)), {"axis": (1, 2, 3)}, id="per_sample"),
    row("tversky", masks((2, 4, 4, 1))),
    row("tversky", masks((2, 4, 4, 1)), {"alpha": 0.3, "beta": 0.7, "axis": (1, 2, 3)}, id="per_sample"),
    row("circle", embeddings(8, 5, 3), rtol=1e-4, atol=1e-4),
    row("circle", embeddings(8, 5, 3), {"gamma": 10.0, "margin": 0.25, "remove_diagonal": False},
        id="no_diagonal_removal", rtol=1e-4, atol=1e-5),
    row("ctc", ctc_batch(3, 8, 5, 3), rtol=1e-4, atol=1e-5),
]


@op_cases(FUNCTION_CASES)
def test_loss_function_matches_keras(case):
    case.run()


# ---- keras.ops.nn: the cross-entropies and CTC ---------------------------------------------------------
def nn_row(name, make, kwargs=None, id="", grad=(1,), **kw):
    return OpCase(f"ops.nn.{name}", make, kwargs or {}, id=id, grad=grad, **kw)


def ctc_args(batch, frames, classes, max_label, blank=0):
    """(target, output, target_length, output_length): labels avoid the blank class."""
    def make(r: Inputs):
        labels = r.ints((batch, max_label), 0, classes - 1)
        labels = numpy.where(labels >= blank, labels + 1, labels).astype("int32")
        target_length = r.ints((batch,), 0, max_label + 1)
        target_length[0] = max_label
        output_length = r.ints((batch,), 2 * max_label + 1, frames + 1)
        output_length[0] = frames
        return labels, r.normal((batch, frames, classes)) * 2, target_length, output_length
    return make


def decode_args(batch, frames, classes):
    def make(r: Inputs):
        lengths = r.ints((batch,), 1, frames + 1)
        lengths[0] = frames
        return r.normal((batch, frames, classes)) * 2, lengths
    return make


NN_CASES = [
    nn_row("binary_crossentropy", binary((B, C))),
    nn_row("binary_crossentropy", binary((2, 3, 4), logits=True), {"from_logits": True}, id="logits", grad=(0, 1)),
    nn_row("binary_crossentropy", lambda r: (r.uniform((B, C)), r.uniform((B, C), 0.05, 0.95)), id="soft_targets",
           grad=(0, 1)),
    nn_row("categorical_crossentropy", one_hot((B, C))),
    nn_row("categorical_crossentropy", one_hot((B, C), logits=True, soft=True), {"from_logits": True},
           id="logits_soft", grad=(0, 1)),
    nn_row("categorical_crossentropy", one_hot((2, C, 4), class_axis=1), {"axis": 1}, id="axis1"),
    nn_row("sparse_categorical_crossentropy", sparse((B, C))),
    nn_row("sparse_categorical_crossentropy", sparse((B, C), logits=True, trailing_1=True), {"from_logits": True},
           id="logits_trailing_1"),
    nn_row("sparse_categorical_crossentropy", sparse((2, C, 4), logits=True, class_axis=1),
           {"from_logits": True, "axis": 1}, id="axis1"),
    nn_row("sparse_categorical_crossentropy", sparse((5, 7), logits=True, dtype="int64"), {"from_logits": True},
           id="int64_labels"),
    nn_row("ctc_loss", ctc_args(3, 8, 5, 3), rtol=1e-4, atol=1e-5),
    nn_row("ctc_loss", ctc_args(2, 9, 5, 3, blank=4), {"mask_index": 4}, id="last_class_blank", rtol=1e-4,
           atol=1e-5),
    nn_row("ctc_loss", lambda r: (numpy.array([[1, 1, 2], [3, 3, 3]], "int32"), r.normal((2, 9, 4)),
                                  numpy.array([3, 3]), numpy.array([9, 6])), id="repeated_labels", rtol=1e-4,
           atol=1e-5),
    nn_row("ctc_decode", decode_args(3, 7, 5), grad=()),
    nn_row("ctc_decode", decode_args(3, 7, 5), {"merge_repeated": False, "mask_index": None}, id="greedy_no_merge",
           grad=()),
    nn_row("ctc_decode", decode_args(3, 9, 5), {"strategy": "beam_search", "beam_width": 4, "top_paths": 3},
           id="beam_search", grad=(), rtol=1e-4),
    nn_row("ctc_decode", decode_args(2, 6, 4), {"strategy": "beam_search", "beam_width": 100, "top_paths": 2,
                                                "mask_index": 3}, id="beam_search_wide", grad=(), rtol=1e-4),
]


@op_cases(NN_CASES)
def test_nn_loss_op_matches_keras(case):
    case.run()


@keras_api("ops.nn.ctc_loss")
def test_ctc_loss_gradient_matches_keras_torch_autograd():
    keras = keras_or_skip()
    import torch

    labels, logits, target_length, output_length = ctc_args(3, 10, 6, 3)(Inputs(5))
    z = torch.tensor(logits, requires_grad=True)
    keras.ops.ctc_loss(labels, z, target_length, output_length).sum().backward()
    x = nk.Tensor(logits, requires_grad=True)
    nk.ops.ctc_loss(labels, x, target_length, output_length).sum().backward()
    assert_same(x.grad, z.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---- the loss classes: every reduction and sample_weight ------------------------------------------------
CLASS_CASES = [  # (class name, constructor kwargs, maker, id)
    ("MeanSquaredError", {}, regression((B, C)), ""),
    ("MeanSquaredError", {}, regression((2, 3, 4)), "3d"),
    ("MeanAbsoluteError", {}, regression((2, 3, 4)), "3d"),
    ("MeanAbsolutePercentageError", {}, regression((B, C), away_from_zero=True), ""),
    ("MeanSquaredLogarithmicError", {}, regression((B, C), positive=True), ""),
    ("CosineSimilarity", {"axis": -1}, regression((2, 3, 4)), "3d"),
    ("Huber", {"delta": 0.7}, regression((2, 3, 4)), "3d"),
    ("LogCosh", {}, regression((B, C)), ""),
    ("Hinge", {}, binary((B, C), logits=True), ""),
    ("SquaredHinge", {}, binary((B, C), logits=True, signed=True), ""),
    ("CategoricalHinge", {}, one_hot((B, C), logits=True), ""),
    ("KLDivergence", {}, distributions((2, 3, 4)), "3d"),
    ("Poisson", {}, regression((B, C), positive=True), ""),
    ("BinaryCrossentropy", {}, binary((B, C)), ""),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, binary((2, 3, 4), logits=True), "3d"),
    ("BinaryCrossentropy", {"from_logits": True}, lambda r: (r.ints((B,), 0, 2), r.normal((B, 1))), "rank1_targets"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "gamma": 1.0}, binary((B, C)), ""),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, one_hot((2, 3, C), logits=True), "3d"),
    ("CategoricalFocalCrossentropy", {}, one_hot((B, C)), ""),
    ("SparseCategoricalCrossentropy", {}, sparse((B, C)), ""),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, sparse((2, 3, C), logits=True), "3d"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1}, sparse((2, 3, C), logits=True),
     "ignore_class"),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}, sparse((B, C)), ""),
    ("Dice", {"axis": (1, 2)}, masks((2, 4, 4)), "per_sample"),
    ("Dice", {}, masks((2, 4, 4)), "whole_batch"),
    ("Tversky", {"alpha": 0.7, "beta": 0.3, "axis": (1, 2)}, masks((2, 4, 4)), "per_sample"),
    ("Circle", {"gamma": 20.0}, embeddings(8, 5, 3), ""),
    ("CTC", {}, ctc_batch(2, 6, 4, 2), ""),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def weights_for(shape) -> dict:
    """Sample weights that fit per-sample values of ``shape``: none, a scalar, per sample, per timestep."""
    r = numpy.random.default_rng(3)
    out = {"none": None, "scalar": numpy.float32(1.5)}
    if len(shape) >= 1:
        out["per_sample"] = r.uniform(0.0, 2.0, shape[:1]).astype("float32")
        out["per_sample"][0] = 0.0
    if len(shape) >= 2:
        out["per_sample"] = out["per_sample"][:, None]
        out["per_timestep"] = r.uniform(0.0, 2.0, shape).astype("float32")
    return out


@pytest.mark.parametrize("name,kwargs,make,case_id", [
    pytest.param(*c, id=f"{c[0]}[{c[3]}]" if c[3] else c[0], marks=keras_api(f"losses.{c[0]}")) for c in CLASS_CASES])
def test_loss_class_matches_keras_for_every_reduction_and_sample_weight(name, kwargs, make, case_id):
    keras = keras_or_skip()
    y, p = make(Inputs(0))
    per_sample = getattr(losses, name)(reduction=None, **kwargs)(y, p)
    masked = name == "Circle" or kwargs.get("ignore_class") is not None  # the per-sample values carry a mask
    for reduction in REDUCTIONS:
        for wname, w in weights_for(per_sample.shape).items():
            if masked and w is not None and numpy.shape(w) != tuple(per_sample.shape):
                # Keras fails here (an in-place `sample_weight *= mask` that would have to broadcast the weights);
                # neuronka broadcasts them, as Keras does with the same weights given in full
                full = numpy.broadcast_to(w, per_sample.shape).astype("float32")
                assert_same(getattr(losses, name)(reduction=reduction, **kwargs)(y, p, sample_weight=w),
                            getattr(keras.losses, name)(reduction=reduction, **kwargs)(y, p, sample_weight=full),
                            rtol=1e-4, atol=1e-5, what=f"{name}(reduction={reduction!r}), {wname} weights and a mask")
                continue
            expected = getattr(keras.losses, name)(reduction=reduction, **kwargs)(y, p, sample_weight=w)
            actual = getattr(losses, name)(reduction=reduction, **kwargs)(y, p, sample_weight=w)
            assert_same(actual, expected, rtol=1e-4, atol=1e-5, what=f"{name}(reduction={reduction!r}), {wname}")
    # the gradient through the class, with weights, in float64
    w = weights_for(per_sample.shape).get("per_sample")
    loss = getattr(losses, name)(**kwargs)
    nk.gradcheck(lambda pred: loss(y, pred, sample_weight=w), [p.astype("float64")], atol=1e-5, rtol=1e-4)


@keras_api("losses.MeanSquaredError", "losses.SparseCategoricalCrossentropy")
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", None])
def test_a_mask_on_y_pred_is_merged_into_the_weights_as_keras_does(reduction):
    keras = keras_or_skip()
    import torch
    from keras.src.backend import set_keras_mask

    y, p = regression((2, 3, 4))(Inputs(1))
    mask = numpy.array([[True, True, False], [True, False, False]])
    w = numpy.array([[1.0, 2.0, 0.5], [0.5, 1.0, 3.0]], "float32")
    kp = torch.tensor(p)
    set_keras_mask(kp, torch.tensor(mask))
    npred = nk.Tensor(p)
    npred._keras_mask = mask
    for weight in (None, w):
        expected = keras.losses.MeanSquaredError(reduction=reduction)(y, kp, sample_weight=weight)
        actual = losses.MeanSquaredError(reduction=reduction)(y, npred, sample_weight=weight)
        assert_same(actual, expected, what=f"mse masked, weights={weight is not None}")
    labels, logits = sparse((2, 3, C), logits=True)(Inputs(2))
    kz = torch.tensor(logits)
    set_keras_mask(kz, torch.tensor(mask))
    nz = nk.Tensor(logits)
    nz._keras_mask = mask
    loss_args = {"from_logits": True, "ignore_class": 0, "reduction": reduction}
    assert_same(losses.SparseCategoricalCrossentropy(**loss_args)(labels, nz),
                keras.losses.SparseCategoricalCrossentropy(**loss_args)(labels, kz), rtol=1e-5)


@keras_api("losses.MeanSquaredError", "losses.CategoricalCrossentropy")
def test_the_dtype_argument_sets_the_computation_dtype_as_in_keras():
    keras = keras_or_skip()
    y, p = one_hot((B, C), logits=True)(Inputs(6))
    for name, kwargs in (("MeanSquaredError", {}), ("CategoricalCrossentropy", {"from_logits": True})):
        ours = getattr(losses, name)(dtype="float64", reduction=None, **kwargs)
        theirs = getattr(keras.losses, name)(dtype="float64", reduction=None, **kwargs)
        assert ours.dtype == theirs.dtype == "float64"
        assert_same(ours(y, p), theirs(y, p), rtol=1e-12, narrowed_ok=False)
        # reduced: Keras's torch divide_no_nan narrows the float64 mean to float32; neuronka keeps float64
        assert_same(getattr(losses, name)(dtype="float64", **kwargs)(y, p),
                    getattr(keras.losses, name)(dtype="float64", **kwargs)(y, p), rtol=1e-6)
    assert losses.MeanSquaredError().dtype == keras.losses.MeanSquaredError().dtype == "float32"


@keras_api("losses.Loss")
def test_a_subclass_of_loss_reduces_as_keras_does():
    keras = keras_or_skip()

    class KerasCubed(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.abs(y_pred - y_true) ** 3, axis=-1)

    class Cubed(losses.Loss):
        def call(self, y_true, y_pred):
            return nk.ops.mean(nk.ops.abs(y_pred - y_true) ** 3, axis=-1)

    y, p = regression((2, 3, 4))(Inputs(4))
    for reduction in REDUCTIONS:
        for w in weights_for((2, 3)).values():
            assert_same(Cubed(reduction=reduction)(y, p, sample_weight=w),
                        KerasCubed(reduction=reduction)(y, p, sample_weight=w), rtol=1e-5)
    assert Cubed().name == "cubed"  # Keras: the snake-case class name, made unique with a counter
    assert Cubed(name="c", reduction="sum").get_config() == KerasCubed(name="c", reduction="sum").get_config()


# ---- configs, serialization, get -----------------------------------------------------------------------
CONFIGURED = [
    ("MeanSquaredError", {"reduction": "sum", "name": "my_mse"}),
    ("MeanAbsoluteError", {"reduction": None}),
    ("MeanAbsolutePercentageError", {"reduction": "mean"}),
    ("MeanSquaredLogarithmicError", {}),
    ("CosineSimilarity", {"axis": 1}),
    ("Huber", {"delta": 0.5}),
    ("LogCosh", {"reduction": "sum"}),
    ("Hinge", {}),
    ("SquaredHinge", {"name": "sq"}),
    ("CategoricalHinge", {}),
    ("KLDivergence", {"reduction": "sum"}),
    ("Poisson", {}),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "axis": 1}),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "from_logits": True}),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 1.0, "axis": 1}),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 0, "reduction": "mean", "axis": 1}),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.3}),
    ("Dice", {"axis": (1, 2)}),
    ("Tversky", {"alpha": 0.2, "beta": 0.8}),
    ("Circle", {"gamma": 40.0, "margin": 0.3, "remove_diagonal": False}),
    ("CTC", {"reduction": "sum"}),
]
# arguments Keras's get_config leaves out (so its round trip loses them); neuronka keeps them
KERAS_DROPS = {"Huber": {"delta"}, "CosineSimilarity": {"axis"}, "SparseCategoricalCrossentropy": {"axis"}}


def assert_config_matches(nk_config: dict, keras_config: dict, name: str):
    extra = set(nk_config) - set(keras_config)
    assert extra <= KERAS_DROPS.get(name, set()), f"{name}: keys {extra} not in Keras's config {keras_config}"
    assert {k: nk_config[k] for k in keras_config} == keras_config, f"{name}: {nk_config} != Keras's {keras_config}"


@pytest.mark.parametrize("name,kwargs", [
    pytest.param(*c, id=c[0], marks=keras_api(f"losses.{c[0]}", "losses.serialize", "losses.deserialize"))
    for c in CONFIGURED])
def test_loss_config_and_serialization_match_keras(name, kwargs):
    keras = keras_or_skip()
    ours, theirs = getattr(losses, name)(**kwargs), getattr(keras.losses, name)(**kwargs)
    assert_config_matches(ours.get_config(), theirs.get_config(), name)
    s_ours, s_theirs = losses.serialize(ours), keras.losses.serialize(theirs)
    assert {k: v for k, v in s_ours.items() if k != "config"} == {k: v for k, v in s_theirs.items() if k != "config"}
    assert_config_matches(s_ours["config"], s_theirs["config"], name)
    clone = losses.deserialize(s_ours)
    assert type(clone) is type(ours) and clone.get_config() == ours.get_config()
    if name != "CategoricalGeneralizedCrossEntropy":  # Keras leaves it out of its name table
        clone = losses.deserialize(s_theirs)  # Keras's own dict
        assert_config_matches(clone.get_config(), theirs.get_config(), name)


FUNCTION_NAMES = [c.name.split(".")[1] for c in FUNCTION_CASES]


@keras_api("losses.serialize", "losses.deserialize", "losses.get")
def test_functions_serialize_deserialize_and_get_as_keras():
    keras = keras_or_skip()
    for name in sorted(set(FUNCTION_NAMES)):
        ours, theirs = getattr(losses, name), getattr(keras.losses, name)
        assert losses.serialize(ours) == keras.losses.serialize(theirs), name
        assert losses.deserialize(keras.losses.serialize(theirs)) is ours
        assert losses.get(name) is ours
        if name != "categorical_generalized_cross_entropy":  # Keras leaves it out of its name table
            assert keras.losses.get(name) is theirs
    for alias in ("mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD", "bce", "BCE"):
        assert losses.get(alias).__name__ == keras.losses.get(alias).__name__, alias
    assert losses.get(None) is None and keras.losses.get(None) is None
    assert losses.serialize(None) is None and keras.losses.serialize(None) is None


@keras_api("losses.get")
@pytest.mark.parametrize("identifier", ["MeanSquaredError", "BinaryFocalCrossentropy", "Circle", "CTC",
                                        {"class_name": "Huber", "config": {"delta": 3.0, "reduction": "sum"}}],
                         ids=str)
def test_get_resolves_classes_and_configs_as_keras(identifier):
    keras = keras_or_skip()
    ours, theirs = losses.get(identifier), keras.losses.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__
    name = type(ours).__name__
    assert_config_matches(ours.get_config(), theirs.get_config(), name)
    assert isinstance(losses.get(losses.Huber), losses.Huber) and losses.get(ours) is ours


@keras_api("losses.get")
def test_get_of_unknown_name_raises_value_error_like_keras():
    keras = keras_or_skip()
    with pytest.raises(ValueError):
        keras.losses.get("nonexistent")
    with pytest.raises(ValueError, match=r"Could not interpret loss identifier: received 'nonexistent'"):
        losses.get("nonexistent")


# ---- errors -----------------------------------------------------------------------------------------------
ERRORS = [  # (what, call(module) -> raises in both)
    ("invalid reduction", lambda L: L.MeanSquaredError(reduction="average")),
    ("q outside (0, 1)", lambda L: L.CategoricalGeneralizedCrossEntropy(q=1.5)),
    ("ctc targets of rank 1", lambda L: L.ctc(numpy.array([1, 2]), numpy.zeros((2, 5, 3), "float32"))),
    ("ctc logits of rank 2", lambda L: L.ctc(numpy.array([[1, 2]]), numpy.zeros((1, 5), "float32"))),
    ("categorical axis of bool type", lambda L: L.categorical_crossentropy(
        numpy.eye(3, dtype="float32"), numpy.eye(3, dtype="float32"), axis=True)),
]


@pytest.mark.parametrize("what,call", ERRORS, ids=[e[0] for e in ERRORS])
def test_invalid_arguments_raise_value_error_as_in_keras(what, call):
    keras = keras_or_skip()
    with pytest.raises(ValueError):
        call(keras.losses)
    with pytest.raises(ValueError):
        call(losses)


@keras_api("ops.nn.binary_crossentropy", "ops.nn.categorical_crossentropy")
def test_crossentropy_ops_reject_mismatched_shapes_as_keras():
    keras = keras_or_skip()
    t, o = numpy.ones((4, 1), "float32"), numpy.full((4, 3), 0.5, "float32")
    for name in ("binary_crossentropy", "categorical_crossentropy"):
        with pytest.raises(ValueError):
            getattr(keras.ops, name)(t, o)
        with pytest.raises(ValueError, match=r"must have the same shape"):
            getattr(nk.ops, name)(t, o)


def test_ctc_decode_rejects_an_unknown_strategy():
    with pytest.raises(ValueError, match=r"invalid strategy 'best'"):
        nk.ops.ctc_decode(numpy.zeros((1, 3, 2), "float32"), numpy.array([3]), strategy="best")


def test_ctc_loss_of_an_output_too_short_is_infinite_with_a_zero_gradient():
    z = nk.Tensor(numpy.zeros((1, 2, 4)), requires_grad=True)
    loss = nk.ops.ctc_loss(numpy.array([[1, 2, 3]]), z, numpy.array([3]), numpy.array([2]))
    assert numpy.isinf(loss.numpy()).all()
    loss.sum().backward()
    assert not z.grad.any()


def test_crossentropy_losses_are_finite_for_logits_up_to_1e4():
    z = nk.Tensor(numpy.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], "float32"), requires_grad=True)
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):
        total = (losses.categorical_crossentropy(numpy.eye(3, dtype="float32")[[1, 2]], z, from_logits=True).sum()
                 + losses.sparse_categorical_crossentropy(numpy.array([1, 0]), z, from_logits=True).sum()
                 + losses.binary_crossentropy(numpy.ones((2, 3), "float32"), z, from_logits=True).sum())
        total.backward()
    assert numpy.isfinite(to_numpy(total)).all() and numpy.isfinite(z.grad).all()
