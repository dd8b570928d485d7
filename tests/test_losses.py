"""One table of loss cases, each run through one harness:

(a) the gradient w.r.t. y_pred against central differences in float64 (``neuronka.gradcheck``),
(b) forward and backward against PyTorch in float32,
(c) for rows on logits: logits up to ±1e4 give finite losses and gradients (and still match PyTorch).

A row: (id, neuronka loss (y_true, y_pred) → Tensor, torch function given the torch module,
maker rng → [y_true, y_pred], on_logits). Probabilities stay inside [0.05, 0.95] so that
Keras's clipping to [1e-7, 1 − 1e-7] never acts, and Huber/MAE errors stay away from their kinks.
Reductions and sample_weight are then checked against closed-form NumPy, as Keras defines them.
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import losses

from .helpers import compare_with_torch, torch_or_skip

B, C = 4, 3


# ---- input makers -------------------------------------------------------------------------
def regression(shape, away_from=(0.0,)):
    """Targets and predictions whose error ŷ − y keeps 0.05 away from the given kinks of |d|."""
    def make(rng):
        y = rng.standard_normal(shape)
        d = rng.uniform(0.1, 2.5, shape) * rng.choice([-1.0, 1.0], shape)
        for k in away_from:
            d = numpy.where(numpy.abs(numpy.abs(d) - k) < 0.05, d * 1.2 + 0.1 * numpy.sign(d), d)
        return [y, y + d]
    return make


def binary(shape, logits=False, rank_1_targets=False):
    def make(rng):
        y = rng.integers(0, 2, shape).astype(float)
        p = rng.standard_normal(shape) * 2 if logits else rng.uniform(0.05, 0.95, shape)
        return [y[..., 0] if rank_1_targets else y, p]
    return make


def one_hot(rng, shape):
    return numpy.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]


def categorical(shape, logits=False, soft=False, class_axis=-1):
    def make(rng):
        y = rng.dirichlet(numpy.ones(shape[-1]), shape[:-1]) if soft else one_hot(rng, shape)
        p = rng.standard_normal(shape) * 2 if logits else rng.uniform(0.1, 1.0, shape)  # renormalised by the loss
        # C-contiguous copies: gradcheck perturbs its inputs through reshape(-1), which must be a view
        return [numpy.ascontiguousarray(numpy.moveaxis(a, -1, class_axis)) for a in (y, p)]
    return make


def sparse(shape, logits=False, trailing_1=False):
    def make(rng):
        y = rng.integers(0, shape[-1], shape[:-1]).astype(float)
        p = rng.standard_normal(shape) * 2 if logits else rng.uniform(0.1, 1.0, shape)
        return [y[..., None] if trailing_1 else y, p]
    return make


def distributions(shape):
    def make(rng):
        return [rng.dirichlet(numpy.ones(shape[-1]) * 3, shape[:-1]), rng.dirichlet(numpy.ones(shape[-1]) * 3,
                                                                                   shape[:-1])]
    return make


# ---- torch oracles ---------------------------------------------------------------------------
def _f(t):
    return t.nn.functional


W_B = numpy.array([0.5, 0.0, 2.0, 1.0])  # per-sample weights, one of them 0
W_BT = numpy.array([[1.0, 0.0, 2.0], [0.5, 1.5, 1.0]])  # per-timestep weights for (2, 3, ...) inputs
W_B1 = numpy.array([[2.0], [0.5]])


def torch_weighted(t, per_sample, w, divisor=None):
    """Σ w·loss / (number of elements) — Keras's sum_over_batch_size with sample weights."""
    weighted = per_sample * t.tensor(w, dtype=per_sample.dtype)
    return weighted.sum() / (weighted.numel() if divisor is None else divisor)


IGNORE = 2


def sparse_with_ignored(shape):
    def make(rng):
        y, p = sparse(shape, logits=True)(rng)
        y.reshape(-1)[::3] = IGNORE
        return [y, p]
    return make


# id, neuronka loss(y_true, y_pred), torch fn(t) -> (y_true, y_pred) -> loss, maker, on_logits
CASES = [
    ("mse", losses.MeanSquaredError(), lambda t: lambda y, p: _f(t).mse_loss(p, y), regression((B, C)), False),
    ("mse_3d_sum", losses.MeanSquaredError(reduction="sum"),
     lambda t: lambda y, p: _f(t).mse_loss(p, y, reduction="sum") / 5, regression((2, 3, 5)), False),
    ("mse_none", losses.MeanSquaredError(reduction=None),
     lambda t: lambda y, p: _f(t).mse_loss(p, y, reduction="none").mean(-1), regression((B, C)), False),
    ("mse_rank1_targets_vs_trailing_1", losses.MeanSquaredError(),
     lambda t: lambda y, p: _f(t).mse_loss(p[:, 0], y), lambda rng: [rng.standard_normal(B),
                                                                      rng.standard_normal((B, 1))], False),
    ("mse_sample_weight_per_sample", lambda y, p: losses.MeanSquaredError()(y, p, sample_weight=W_B),
     lambda t: lambda y, p: torch_weighted(t, _f(t).mse_loss(p, y, reduction="none").mean(-1), W_B),
     regression((B, C)), False),
    ("mse_sample_weight_per_timestep", lambda y, p: losses.MeanSquaredError()(y, p, sample_weight=W_BT),
     lambda t: lambda y, p: torch_weighted(t, _f(t).mse_loss(p, y, reduction="none").mean(-1), W_BT),
     regression((2, 3, 4)), False),
    ("mse_sample_weight_broadcast_b1", lambda y, p: losses.MeanSquaredError()(y, p, sample_weight=W_B1),
     lambda t: lambda y, p: torch_weighted(t, _f(t).mse_loss(p, y, reduction="none").mean(-1), W_B1),
     regression((2, 3, 4)), False),
    ("mse_function_form", losses.mse,
     lambda t: lambda y, p: _f(t).mse_loss(p, y, reduction="none").mean(-1), regression((2, 3, 4)), False),
    ("mae", losses.MeanAbsoluteError(), lambda t: lambda y, p: _f(t).l1_loss(p, y), regression((B, C)), False),
    ("mae_mean_with_sample_weight",
     lambda y, p: losses.MeanAbsoluteError(reduction="mean_with_sample_weight")(y, p, sample_weight=W_B),
     lambda t: lambda y, p: torch_weighted(t, _f(t).l1_loss(p, y, reduction="none").mean(-1), W_B, W_B.sum()),
     regression((B, C)), False),
    ("huber_delta_1", losses.Huber(), lambda t: lambda y, p: _f(t).huber_loss(p, y, delta=1.0),
     regression((B, C), away_from=(0.0, 1.0)), False),
    ("huber_delta_0.5_3d", losses.Huber(delta=0.5), lambda t: lambda y, p: _f(t).huber_loss(p, y, delta=0.5),
     regression((2, 3, 4), away_from=(0.0, 0.5)), False),
    ("bce_probabilities", losses.BinaryCrossentropy(),
     lambda t: lambda y, p: _f(t).binary_cross_entropy(p, y), binary((B, C)), False),
    ("bce_probabilities_label_smoothing", losses.BinaryCrossentropy(label_smoothing=0.2),
     lambda t: lambda y, p: _f(t).binary_cross_entropy(p, y * 0.8 + 0.1), binary((B, C)), False),
    ("bce_logits", losses.BinaryCrossentropy(from_logits=True),
     lambda t: lambda y, p: _f(t).binary_cross_entropy_with_logits(p, y), binary((B, C), logits=True), True),
    ("bce_logits_label_smoothing_3d", losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
     lambda t: lambda y, p: _f(t).binary_cross_entropy_with_logits(p, y * 0.9 + 0.05),
     binary((2, 3, 4), logits=True), True),
    ("bce_logits_rank1_targets", losses.BinaryCrossentropy(from_logits=True),
     lambda t: lambda y, p: _f(t).binary_cross_entropy_with_logits(p[:, 0], y),
     binary((B, 1), logits=True, rank_1_targets=True), True),
    ("cce_probabilities", losses.CategoricalCrossentropy(),
     lambda t: lambda y, p: _f(t).cross_entropy(t.log(p), y), categorical((B, C)), False),
    ("cce_probabilities_label_smoothing", losses.CategoricalCrossentropy(label_smoothing=0.1),
     lambda t: lambda y, p: _f(t).cross_entropy(t.log(p), y, label_smoothing=0.1), categorical((B, 5)), False),
    ("cce_logits", losses.CategoricalCrossentropy(from_logits=True),
     lambda t: lambda y, p: _f(t).cross_entropy(p, y), categorical((B, C), logits=True), True),
    ("cce_logits_label_smoothing_soft_labels", losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
     lambda t: lambda y, p: _f(t).cross_entropy(p, y, label_smoothing=0.2),
     categorical((B, 5), logits=True, soft=True), True),
    ("cce_logits_axis1", losses.CategoricalCrossentropy(from_logits=True, axis=1),
     lambda t: lambda y, p: _f(t).cross_entropy(p, y), categorical((2, 3, 4), logits=True, class_axis=1), True),
    ("cce_function_form_per_sample", lambda y, p: losses.categorical_crossentropy(y, p, from_logits=True),
     lambda t: lambda y, p: _f(t).cross_entropy(p, y, reduction="none"), categorical((B, C), logits=True), True),
    ("scce_logits", losses.SparseCategoricalCrossentropy(from_logits=True),
     lambda t: lambda y, p: _f(t).cross_entropy(p, y.long()), sparse((B, 5), logits=True), True),
    ("scce_probabilities", losses.SparseCategoricalCrossentropy(),
     lambda t: lambda y, p: _f(t).nll_loss(t.log(p / p.sum(-1, keepdim=True)), y.long()), sparse((B, 5)), False),
    ("scce_logits_labels_with_trailing_1", losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum"),
     lambda t: lambda y, p: _f(t).cross_entropy(p, y[:, 0].long(), reduction="sum"),
     sparse((B, C), logits=True, trailing_1=True), True),
    ("scce_logits_3d", losses.SparseCategoricalCrossentropy(from_logits=True),
     lambda t: lambda y, p: _f(t).cross_entropy(p.permute(0, 2, 1), y.long()), sparse((2, 3, 4), logits=True), True),
    ("scce_ignore_class", losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE),
     lambda t: lambda y, p: _f(t).cross_entropy(p, y.long(), ignore_index=IGNORE), sparse_with_ignored((6, 4)),
     True),
    ("kld", losses.KLDivergence(), lambda t: lambda y, p: _f(t).kl_div(t.log(p), y, reduction="sum") / B,
     distributions((B, C)), False),
    ("kld_3d_none", losses.KLDivergence(reduction="none"),
     lambda t: lambda y, p: _f(t).kl_div(t.log(p), y, reduction="none").sum(-1), distributions((2, 3, 4)), False),
]
IDS = [c[0] for c in CASES]
LOGIT_CASES = [c for c in CASES if c[4]]


@pytest.mark.parametrize("name,loss,torch_fn,make,on_logits", CASES, ids=IDS)
def test_loss_gradient_matches_central_differences(name, loss, torch_fn, make, on_logits):
    inputs = make(numpy.random.default_rng(0))
    assert nk.gradcheck(loss, inputs, wrt=[1])


@pytest.mark.torch
@pytest.mark.parametrize("name,loss,torch_fn,make,on_logits", CASES, ids=IDS)
def test_loss_forward_and_backward_match_torch(name, loss, torch_fn, make, on_logits):
    torch = torch_or_skip()

    compare_with_torch(loss, torch_fn(torch), make(numpy.random.default_rng(1)), wrt=[1])


@pytest.mark.parametrize("name,loss,torch_fn,make,on_logits", LOGIT_CASES, ids=[c[0] for c in LOGIT_CASES])
def test_loss_on_logits_up_to_1e4_is_finite_and_matches_torch(name, loss, torch_fn, make, on_logits):
    y, z = make(numpy.random.default_rng(2))
    z = numpy.clip(z * 5e3, -1e4, 1e4).astype(numpy.float32)
    x = nk.Tensor(z, requires_grad=True)
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):
        out = loss(y, x)
        out.backward(numpy.ones(out.shape, numpy.float32))
    assert numpy.isfinite(out.numpy()).all() and numpy.isfinite(x.grad).all()
    torch = torch_or_skip()
    compare_with_torch(loss, torch_fn(torch), [y, z], wrt=[1], rtol=1e-4, atol=1e-3)


# the loss classes torch has a counterpart of (every class is compared with Keras in test_keras_losses.py)
TORCH_COUNTERPARTS = {losses.MeanSquaredError, losses.MeanAbsoluteError, losses.Huber, losses.BinaryCrossentropy,
                      losses.CategoricalCrossentropy, losses.SparseCategoricalCrossentropy, losses.KLDivergence}


def test_every_loss_class_with_a_torch_counterpart_has_a_row_in_the_table():
    names = {type(c[1]).__name__ for c in CASES if isinstance(c[1], losses.Loss)}
    classes = {c.__name__ for c in TORCH_COUNTERPARTS}
    assert classes <= names, f"loss classes without a row: {classes - names}"


# ---- reductions and sample weights, in closed form ---------------------------------------------
REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None]
WEIGHTS = {
    "no_weights": ((B, C), None),
    "per_sample": ((B, C), W_B),
    "per_sample_column": ((B, C), W_B[:, None]),
    "scalar": ((B, C), numpy.float64(2.0)),
    "per_timestep": ((2, 3, 4), W_BT),
    "per_sample_of_timesteps": ((2, 3, 4), W_B1),
}


def closed_form(per_sample, w, reduction):
    if w is None:
        weighted = per_sample
    elif numpy.ndim(w) == per_sample.ndim + 1:  # (B,) loss with (B, 1) weights: Keras expands the loss to (B, 1)
        weighted = per_sample[..., None] * w
    else:
        weighted = per_sample * w  # same rank (or a scalar): plain broadcasting
    if reduction in ("none", None):
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight" and w is not None:
        return weighted.sum() / numpy.sum(w)
    return weighted.sum() / weighted.size  # the element count, not Σw


@pytest.mark.parametrize("weights", list(WEIGHTS), ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_reduction_and_sample_weight_follow_keras(reduction, weights):
    shape, w = WEIGHTS[weights]
    y, p = regression(shape)(numpy.random.default_rng(3))
    per_sample = ((p - y) ** 2).mean(-1)
    out = losses.MeanSquaredError(reduction=reduction)(y, p, sample_weight=w)
    numpy.testing.assert_allclose(out.numpy(), closed_form(per_sample, w, reduction), rtol=1e-12)


def test_ignore_class_is_left_out_of_the_average_and_the_gradient():
    y = numpy.array([0, IGNORE, 1, IGNORE])
    z = nk.Tensor(numpy.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE)
    out = loss(y, z)
    per = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(numpy.array([0, 0, 1, 0]), z)
    numpy.testing.assert_allclose(out.numpy(), (per.numpy()[0] + per.numpy()[2]) / 2)
    out.backward()
    assert not z.grad[[1, 3]].any()


def test_float32_predictions_give_float32_losses_whatever_the_target_dtype():
    p = nk.Tensor(numpy.random.default_rng(0).uniform(0.1, 0.9, (B, C)).astype(numpy.float32), requires_grad=True)
    for y in (numpy.ones((B, C), numpy.int64), numpy.ones((B, C), numpy.float64)):
        for fn in (losses.mse, losses.mae, losses.huber, losses.kld, losses.binary_crossentropy):
            assert fn(y, p).dtype == numpy.float32, fn.__name__
        assert losses.MeanSquaredError()(y, p, sample_weight=numpy.ones(B)).dtype == numpy.float32


# ---- errors ----------------------------------------------------------------------------------
def test_categorical_crossentropy_with_integer_labels_points_to_the_sparse_loss():
    with pytest.raises(ValueError, match=r"received \(4,\).*sparse_categorical_crossentropy"):
        losses.CategoricalCrossentropy(from_logits=True)(numpy.array([0, 1, 2, 1]), numpy.zeros((B, C)))


@pytest.mark.parametrize("labels", [[0, 1, 3, 1], [0, -1, 2, 1]], ids=["too_large", "negative"])
def test_sparse_labels_out_of_range_name_the_valid_range(labels):
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\).*received values in"):
        losses.SparseCategoricalCrossentropy(from_logits=True)(numpy.array(labels), numpy.zeros((B, C)))


def test_sparse_labels_of_the_wrong_shape_name_both_shapes():
    with pytest.raises(ValueError, match=r"labels of shape \(4,\), received shape \(3,\)"):
        losses.sparse_categorical_crossentropy(numpy.array([0, 1, 2]), numpy.zeros((B, C)), from_logits=True)


def test_sample_weight_that_does_not_broadcast_names_both_shapes():
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\).*loss of shape \(4,\)"):
        losses.MeanSquaredError()(numpy.zeros((B, C)), numpy.ones((B, C)), sample_weight=numpy.ones(3))


def test_invalid_reduction_names_the_received_value():
    with pytest.raises(ValueError, match="reduction='average'"):
        losses.MeanSquaredError(reduction="average")


# ---- get / config ------------------------------------------------------------------------------
def test_get_resolves_names_classes_configs_instances_and_callables():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert losses.get("sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    assert losses.get("kld") is losses.kl_divergence and losses.get("mae") is losses.mean_absolute_error
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    cce = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(cce, losses.CategoricalCrossentropy) and cce.from_logits
    inst = losses.BinaryCrossentropy()
    assert losses.get(inst) is inst and losses.get(None) is None
    custom = lambda y, p: p  # noqa: E731
    assert losses.get(custom) is custom


def test_get_of_unknown_name_says_what_was_received_and_what_is_accepted():
    with pytest.raises(ValueError, match=r"received 'nonexistent'.*'categorical_crossentropy'.*'mse'"):
        losses.get("nonexistent")


CONFIGURED = [
    losses.MeanSquaredError(reduction="sum", name="my_mse"),
    losses.MeanAbsoluteError(reduction=None),
    losses.Huber(delta=0.5),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2, axis=-1),
    losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0, reduction="mean"),
    losses.KLDivergence(reduction="sum"),
    losses.LossFunctionWrapper(losses.huber, delta=2.0, reduction="sum"),
]


@pytest.mark.parametrize("loss", CONFIGURED, ids=lambda x: type(x).__name__)
def test_config_round_trip_rebuilds_the_same_loss(loss):
    clone = type(loss).from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
