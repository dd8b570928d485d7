"""Optimizers and learning-rate schedules.

One table of optimizer cases, each a neuronka optimizer and the ``torch.optim``
optimizer with the equivalent settings. One harness runs both from the same
initial parameters (three variables of different shapes) through the same 10
float32 gradients and compares the parameters.

How the hyperparameters map (the Keras 3 formulas are in each class's docstring):

- SGD momentum: Keras keeps v = μ·v − lr·g, PyTorch buf = μ·buf + g with
  p −= lr·buf (dampening 0): for a constant lr, v = −lr·buf, the same update
  (Nesterov too).
- ε placement differs for Adam/AdamW (Keras's "epsilon hat": sqrt(v) + ε
  before the bias correction, i.e. ε_torch = ε / sqrt(1 − β₂ᵗ), not a constant),
  RMSprop and Adagrad (Keras puts ε inside the square root). For those rows ε is
  tiny (1e-10 / 1e-14) on both sides so that the comparison is of the rest of the
  formula; the Keras ε placement itself is checked against a closed-form NumPy
  float64 reference with the default ε=1e-7 and gradients small enough for ε to matter
  (``test_epsilon_placement_matches_keras_formula``).
- RMSprop ρ is PyTorch's ``alpha``; Adagrad's ``initial_accumulator_value=0.1``
  (Keras's default) is passed to PyTorch explicitly.
- Adadelta: identical formulas (ε inside both square roots); same ε.
- Nadam: Keras 3's momentum schedule is u_t = β₁(1 − ½·0.96ᵗ), PyTorch NAdam's with
  ``momentum_decay=1.0`` (its default 0.004 gives 0.96^(0.004·t)); ε is in the same place.
"""
from __future__ import annotations

import io
import math
import re

import numpy
import pytest

import neuronka as nk
from neuronka import optimizers, schedules

from .helpers import torch_or_skip

SHAPES = [(3, 4), (5,), (2, 3, 2, 2)]
STEPS = 10
TINY = 1e-10  # ε for Adam-like rows (ε outside the square root)
TINIER = 1e-14  # ε for RMSprop/Adagrad rows (ε inside the square root: its effect is ε / 2v)

# id, neuronka optimizer, torch optimizer (given torch and the parameter list)
CASES = [
    ("sgd", lambda: optimizers.SGD(0.1), lambda t, p: t.optim.SGD(p, lr=0.1)),
    ("sgd_momentum", lambda: optimizers.SGD(0.1, momentum=0.9),
     lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("sgd_nesterov", lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
     lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    ("adam", lambda: optimizers.Adam(0.05, epsilon=TINY), lambda t, p: t.optim.Adam(p, lr=0.05, eps=TINY)),
    ("adam_betas", lambda: optimizers.Adam(0.05, beta_1=0.8, beta_2=0.99, epsilon=TINY),
     lambda t, p: t.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=TINY)),
    ("adam_amsgrad", lambda: optimizers.Adam(0.05, epsilon=TINY, amsgrad=True),
     lambda t, p: t.optim.Adam(p, lr=0.05, eps=TINY, amsgrad=True)),
    ("adamw", lambda: optimizers.AdamW(0.05, weight_decay=0.1, epsilon=TINY),
     lambda t, p: t.optim.AdamW(p, lr=0.05, weight_decay=0.1, eps=TINY)),
    ("rmsprop", lambda: optimizers.RMSprop(0.01, epsilon=TINIER),
     lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=TINIER)),
    ("rmsprop_momentum", lambda: optimizers.RMSprop(0.01, momentum=0.9, epsilon=TINIER),
     lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=TINIER, momentum=0.9)),
    ("rmsprop_centered", lambda: optimizers.RMSprop(0.01, centered=True, epsilon=TINIER),
     lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=TINIER, centered=True)),
    ("rmsprop_centered_momentum", lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True,
                                                             epsilon=TINIER),
     lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=TINIER, momentum=0.5, centered=True)),
    ("adagrad", lambda: optimizers.Adagrad(0.1, epsilon=TINIER),
     lambda t, p: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=TINIER)),
    ("adadelta", lambda: optimizers.Adadelta(1.0), lambda t, p: t.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7)),
    ("nadam", lambda: optimizers.Nadam(0.05), lambda t, p: t.optim.NAdam(p, lr=0.05, eps=1e-7, momentum_decay=1.0)),
]
IDS = [c[0] for c in CASES]


def _problem(seed=0, steps=STEPS, dtype=numpy.float32):
    rng = numpy.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return params, grads


def _variables(params):
    return [nk.Tensor(p.copy(), requires_grad=True, name=f"v{i}") for i, p in enumerate(params)]


def _pointer(a) -> int:
    return a.__array_interface__["data"][0]


def run_neuronka(opt, params, grads, variables=None):
    """The harness: apply ``grads`` step by step; the parameter buffers must never move."""
    variables = _variables(params) if variables is None else variables
    pointers = [_pointer(v.data) for v in variables]
    for gs in grads:
        opt.apply(gs, variables)
        assert [_pointer(v.data) for v in variables] == pointers, "parameters were reallocated"
    return variables


def run_torch(make, params, grads):
    torch = torch_or_skip()
    ps = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = make(torch, ps)
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = torch.tensor(g)
        opt.step()
    return [p.detach().numpy() for p in ps]


# ----------------------------------------------------------------------------------
# against PyTorch
# ----------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("name, make_nk, make_torch", CASES, ids=IDS)
def test_optimizer_matches_torch_over_10_steps(name, make_nk, make_torch):
    params, grads = _problem()
    opt = make_nk()
    ours = run_neuronka(opt, params, grads)
    theirs = run_torch(make_torch, params, grads)
    assert opt.iterations == STEPS
    for i, (v, t, p0) in enumerate(zip(ours, theirs, params)):
        assert v.data.dtype == numpy.float32
        assert numpy.abs(t - p0).max() > 1e-3, "the oracle barely moved: the comparison would prove nothing"
        numpy.testing.assert_allclose(v.data, t, rtol=1e-6, atol=1e-6, err_msg=f"{name}: variable {i}")


# Keras 3 formulas written out in float64 NumPy (one step each), for the ε placement
def _keras_adam_reference(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7):
    m, v = numpy.zeros_like(w), numpy.zeros_like(w)
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (numpy.sqrt(v) + eps)
    return w


def _keras_rmsprop_reference(w, grads, lr, rho=0.9, eps=1e-7):
    v = numpy.zeros_like(w)
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        w = w - lr * g / numpy.sqrt(v + eps)
    return w


def _keras_adagrad_reference(w, grads, lr, init=0.1, eps=1e-7):
    a = numpy.full_like(w, init)
    for g in grads:
        a = a + g * g
        w = w - lr * g / numpy.sqrt(a + eps)
    return w


@pytest.mark.parametrize("make, reference", [
    (lambda: optimizers.Adam(0.01), lambda w, gs, eps=1e-7: _keras_adam_reference(w, gs, 0.01, eps=eps)),
    (lambda: optimizers.RMSprop(0.01), lambda w, gs, eps=1e-7: _keras_rmsprop_reference(w, gs, 0.01, eps=eps)),
    (lambda: optimizers.Adagrad(0.01, initial_accumulator_value=1e-9),
     lambda w, gs, eps=1e-7: _keras_adagrad_reference(w, gs, 0.01, init=1e-9, eps=eps)),
], ids=["adam", "rmsprop", "adagrad"])
def test_epsilon_placement_matches_keras_formula(make, reference):
    """Gradients of size 1e-5 make ε = 1e-7 visible: the update is Keras's, not PyTorch's."""
    rng = numpy.random.default_rng(3)
    w0 = rng.standard_normal((4, 5))
    grads = [1e-5 * rng.standard_normal((4, 5)) for _ in range(5)]
    var = nk.Tensor(w0.copy(), requires_grad=True)
    opt = make()
    for g in grads:
        opt.apply([g], [var])
    expected = reference(w0, grads)
    numpy.testing.assert_allclose(var.data, expected, rtol=1e-12, atol=1e-14)
    without_eps = reference(w0, grads, eps=0.0)
    assert not numpy.allclose(without_eps, expected, rtol=1e-6, atol=0), "ε would not matter: the test proves nothing"


# ----------------------------------------------------------------------------------
# the update contract: in place, float32, resumable
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, make_nk, make_torch", CASES, ids=IDS)
def test_updates_are_in_place_and_stay_float32(name, make_nk, make_torch):
    params, grads = _problem(steps=3)
    opt = make_nk()
    variables = _variables(params)
    arrays = [v.data for v in variables]
    run_neuronka(opt, params, grads, variables)  # asserts the buffer pointers after each step
    assert all(v.data is a for v, a in zip(variables, arrays))
    for key, value in opt.get_state().items():
        expected = numpy.int64 if key == "iterations" else numpy.float32
        assert value.dtype == expected, f"{name}: state {key} is {value.dtype}"


@pytest.mark.parametrize("name, make_nk, make_torch", CASES, ids=IDS)
def test_state_saved_to_npz_resumes_bit_exactly(name, make_nk, make_torch):
    params, grads = _problem()
    straight = run_neuronka(make_nk(), params, grads)

    first = make_nk()
    half = run_neuronka(first, params, grads[:4])
    buf = io.BytesIO()
    numpy.savez(buf, **first.get_state())
    buf.seek(0)
    with numpy.load(buf, allow_pickle=False) as saved:
        resumed = make_nk()
        variables = _variables([v.data for v in half])
        resumed.set_state(saved, variables)
    assert resumed.iterations == 4
    run_neuronka(resumed, params, grads[4:], variables)
    for a, b in zip(variables, straight):
        numpy.testing.assert_array_equal(a.data, b.data)


def test_state_keys_name_variable_index_and_slot():
    opt = optimizers.Adam(amsgrad=True)
    variables = _variables(_problem(steps=0)[0])
    opt.apply([numpy.ones(s, numpy.float32) for s in SHAPES], variables)
    state = opt.get_state()
    assert set(state) == {"iterations"} | {f"{i}/{s}" for i in range(3) for s in ("momentum", "velocity",
                                                                                    "velocity_hat")}
    assert int(state["iterations"]) == 1


def test_set_state_rejects_a_state_for_other_variables():
    opt = optimizers.SGD(momentum=0.9)
    variables = _variables(_problem(steps=0)[0])
    opt.apply([numpy.ones(s, numpy.float32) for s in SHAPES], variables)
    state = opt.get_state()
    with pytest.raises(ValueError, match=r"unexpected keys \['2/momentum'\]"):
        optimizers.SGD(momentum=0.9).set_state(state, variables[:2])
    with pytest.raises(ValueError, match="shape"):
        optimizers.SGD(momentum=0.9).set_state(state, [variables[1], variables[0], variables[2]])


# ----------------------------------------------------------------------------------
# clipping, weight decay, gradients that are None
# ----------------------------------------------------------------------------------
def _one_sgd_step(grads, **kwargs):
    """Parameters after one SGD(lr=1) step from zeros: minus the gradients actually applied."""
    variables = [nk.Tensor(numpy.zeros_like(g), requires_grad=True) for g in grads]
    optimizers.SGD(1.0, **kwargs).apply(grads, variables)
    return [-v.data for v in variables]


def test_clipnorm_rescales_each_gradient_to_the_norm():
    big = numpy.full((2, 2), 2.5, numpy.float32)  # norm 5
    small = numpy.array([0.3, 0.4], numpy.float32)  # norm 0.5
    kept = big.copy()
    applied = _one_sgd_step([big, small], clipnorm=1.0)
    numpy.testing.assert_allclose(applied[0], big / 5.0, rtol=1e-6)
    numpy.testing.assert_allclose(applied[1], small, rtol=1e-6)
    numpy.testing.assert_array_equal(big, kept)  # the caller's gradient is untouched


def test_global_clipnorm_rescales_all_gradients_together():
    a = numpy.array([3.0, 0.0], numpy.float32)
    b = numpy.array([[0.0, 4.0]], numpy.float32)  # global norm 5
    applied = _one_sgd_step([a, b], global_clipnorm=2.5)
    numpy.testing.assert_allclose(applied[0], a / 2, rtol=1e-6)
    numpy.testing.assert_allclose(applied[1], b / 2, rtol=1e-6)
    applied = _one_sgd_step([a, b], global_clipnorm=10.0)
    numpy.testing.assert_allclose(applied[0], a, rtol=1e-6)


def test_clipvalue_clips_elementwise():
    g = numpy.array([-2.0, -0.1, 0.3, 5.0], numpy.float32)
    applied = _one_sgd_step([g], clipvalue=0.5)
    numpy.testing.assert_allclose(applied[0], [-0.5, -0.1, 0.3, 0.5], rtol=1e-6)


def test_only_one_clipping_argument_is_accepted():
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)


def test_weight_decay_is_decoupled_and_applied_before_the_update():
    w0 = numpy.array([1.0, -2.0], numpy.float32)
    g = numpy.array([0.5, 0.5], numpy.float32)
    var = nk.Tensor(w0.copy(), requires_grad=True)
    optimizers.SGD(0.1, weight_decay=0.5).apply([g], [var])
    numpy.testing.assert_allclose(var.data, w0 * (1 - 0.1 * 0.5) - 0.1 * g, rtol=1e-6)


def test_exclude_from_weight_decay_by_variable_and_by_name():
    g = numpy.zeros(2, numpy.float32)
    kernel = nk.Tensor(numpy.ones(2, numpy.float32), requires_grad=True, name="dense/kernel")
    bias = nk.Tensor(numpy.ones(2, numpy.float32), requires_grad=True, name="dense/bias")
    other = nk.Tensor(numpy.ones(2, numpy.float32), requires_grad=True, name="other")
    opt = optimizers.AdamW(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[other], var_names=["bias"])
    opt.apply([g, g, g], [kernel, bias, other])
    numpy.testing.assert_allclose(kernel.data, 0.95, rtol=1e-6)
    numpy.testing.assert_array_equal(bias.data, 1.0)
    numpy.testing.assert_array_equal(other.data, 1.0)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["kernel"])


def test_none_gradients_are_skipped_and_all_none_is_an_error():
    a, b = _variables([numpy.ones(2, numpy.float32), numpy.ones(3, numpy.float32)])
    opt = optimizers.SGD(0.5)
    opt.apply([None, numpy.ones(3, numpy.float32)], [a, b])
    numpy.testing.assert_array_equal(a.data, 1.0)
    numpy.testing.assert_allclose(b.data, 0.5)
    assert opt.iterations == 1
    with pytest.raises(ValueError, match="no gradients"):
        opt.apply([None, None], [a, b])


def test_step_uses_each_variables_grad_and_apply_gradients_takes_pairs():
    a, b = _variables([numpy.ones(2, numpy.float32), numpy.ones(3, numpy.float32)])
    a.grad = numpy.full(2, 2.0, numpy.float32)
    opt = optimizers.SGD(0.25)
    opt.step([a, b])
    numpy.testing.assert_allclose(a.data, 0.5)
    numpy.testing.assert_array_equal(b.data, 1.0)
    assert opt.apply_gradients([(numpy.ones(3, numpy.float32), b)]) == 2
    numpy.testing.assert_allclose(b.data, 0.75)
    opt.apply([numpy.ones(2, numpy.float32), numpy.ones(3, numpy.float32)])  # the known variables, in order
    numpy.testing.assert_allclose(a.data, 0.25)
    numpy.testing.assert_allclose(b.data, 0.5)


def test_gradient_of_the_wrong_shape_is_an_error():
    (a,) = _variables([numpy.ones(2, numpy.float32)])
    with pytest.raises(ValueError, match=r"shape \(3,\), expected the variable's shape \(2,\)"):
        optimizers.SGD().apply([numpy.ones(3, numpy.float32)], [a])


# ----------------------------------------------------------------------------------
# learning rate, schedules in optimizers
# ----------------------------------------------------------------------------------
def test_schedule_is_evaluated_at_each_iteration():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    (var,) = _variables([numpy.zeros(3, numpy.float32)])
    opt = optimizers.SGD(learning_rate=schedule)
    assert opt.learning_rate_schedule is schedule
    expected = 0.0
    for i in range(5):
        assert opt.learning_rate == pytest.approx(schedule(i))
        opt.apply([numpy.ones(3, numpy.float32)], [var])
        expected -= 0.1 * 0.5 ** (i / 2)
        numpy.testing.assert_allclose(var.data, expected, rtol=1e-6)


def test_learning_rate_is_settable_unless_it_is_a_schedule():
    (var,) = _variables([numpy.zeros(1, numpy.float32)])
    opt = optimizers.Adam(0.1)
    opt.learning_rate = 0.01
    assert opt.learning_rate == 0.01 and isinstance(opt.learning_rate, float)
    opt = optimizers.SGD(0.1)
    opt.learning_rate = 0.5
    opt.apply([numpy.ones(1, numpy.float32)], [var])
    numpy.testing.assert_allclose(var.data, -0.5)
    scheduled = optimizers.SGD(schedules.InverseTimeDecay(0.1, 1, 1.0))
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.01
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.SGD("fast")


# ----------------------------------------------------------------------------------
# names, defaults, config
# ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, cls", [
    ("sgd", optimizers.SGD), ("SGD", optimizers.SGD), ("adam", optimizers.Adam), ("Adam", optimizers.Adam),
    ("ADAM", optimizers.Adam), ("adamw", optimizers.AdamW), ("AdamW", optimizers.AdamW),
    ("rmsprop", optimizers.RMSprop), ("RMSprop", optimizers.RMSprop), ("adagrad", optimizers.Adagrad),
    ("adadelta", optimizers.Adadelta), ("nadam", optimizers.Nadam), ("Nadam", optimizers.Nadam),
])
def test_get_resolves_names_case_insensitively(name, cls):
    assert type(optimizers.get(name)) is cls


def test_get_passes_instances_through_and_reads_config_dicts():
    opt = optimizers.RMSprop(0.05, momentum=0.5)
    assert optimizers.get(opt) is opt
    rebuilt = optimizers.get(optimizers.serialize(opt))
    assert type(rebuilt) is optimizers.RMSprop and rebuilt.get_config() == opt.get_config()
    assert type(optimizers.get({"class_name": "adam", "config": {"learning_rate": 0.1}})) is optimizers.Adam


def test_get_unknown_name_says_what_was_received_and_what_is_accepted():
    with pytest.raises(ValueError, match="'adamm'") as info:
        optimizers.get("adamm")
    for name in ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "nadam"):
        assert name in str(info.value)


@pytest.mark.parametrize("cls, defaults", [
    (optimizers.SGD, {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "name": "sgd"}),
    (optimizers.Adam, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}),
    (optimizers.AdamW, {"learning_rate": 0.001, "weight_decay": 0.004, "epsilon": 1e-7, "name": "adam_w"}),
    (optimizers.RMSprop, {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}),
    (optimizers.Adagrad, {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}),
    (optimizers.Adadelta, {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7}),
    (optimizers.Nadam, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
])
def test_defaults_are_keras_defaults(cls, defaults):
    config = cls().get_config()
    for key, value in defaults.items():
        if key == "name":  # Keras numbers default names: sgd, sgd_1, ...
            assert re.fullmatch(rf"{value}(_\d+)?", config[key]), f"{cls.__name__}.name: {config[key]}"
        else:
            assert config[key] == value, f"{cls.__name__}.{key}"
    assert config["weight_decay"] == defaults.get("weight_decay")
    assert config["clipnorm"] is config["clipvalue"] is config["global_clipnorm"] is None


@pytest.mark.parametrize("name, make_nk, make_torch", CASES, ids=IDS)
def test_config_round_trips(name, make_nk, make_torch):
    opt = make_nk()
    again = type(opt).from_config(opt.get_config())
    assert again.get_config() == opt.get_config()


def test_config_round_trips_a_schedule():
    opt = optimizers.Adam(schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=10), clipnorm=1.0)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(again.learning_rate_schedule, schedules.CosineDecay)
    assert again.get_config() == opt.get_config()


# ----------------------------------------------------------------------------------
# schedules: closed forms (from the Keras documentation) and PyTorch's OneCycleLR
# ----------------------------------------------------------------------------------
def _cosine(t, T, alpha=0.0):
    return (1 - alpha) * 0.5 * (1 + math.cos(math.pi * min(t, T) / T)) + alpha


SCHEDULE_CASES = [
    ("exponential", schedules.ExponentialDecay(0.1, 10, 0.5), lambda t: 0.1 * 0.5 ** (t / 10)),
    ("exponential_staircase", schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
     lambda t: 0.1 * 0.5 ** (t // 10)),
    ("inverse_time", schedules.InverseTimeDecay(0.1, 5, 0.5), lambda t: 0.1 / (1 + 0.5 * t / 5)),
    ("inverse_time_staircase", schedules.InverseTimeDecay(0.1, 5, 0.5, staircase=True),
     lambda t: 0.1 / (1 + 0.5 * (t // 5))),
    ("polynomial", schedules.PolynomialDecay(0.1, 20, end_learning_rate=0.01, power=2.0),
     lambda t: 0.09 * (1 - min(t, 20) / 20) ** 2 + 0.01),
    ("polynomial_cycle", schedules.PolynomialDecay(0.1, 20, end_learning_rate=0.01, cycle=True),
     lambda t: 0.09 * (1 - t / (20 * max(1, math.ceil(t / 20)))) + 0.01),
    ("piecewise", schedules.PiecewiseConstantDecay([5, 12], [1.0, 0.5, 0.1]),
     lambda t: 1.0 if t <= 5 else 0.5 if t <= 12 else 0.1),
    ("cosine", schedules.CosineDecay(0.1, 20, alpha=0.1), lambda t: 0.1 * _cosine(t, 20, 0.1)),
    ("cosine_warmup", schedules.CosineDecay(0.0, 20, warmup_target=0.2, warmup_steps=8),
     lambda t: 0.2 * t / 8 if t < 8 else 0.2 * _cosine(t - 8, 20)),
    ("cosine_warmup_from_nonzero", schedules.CosineDecay(0.05, 20, alpha=0.5, warmup_target=0.2, warmup_steps=8),
     lambda t: 0.05 + 0.15 * t / 8 if t < 8 else 0.2 * _cosine(t - 8, 20, 0.5)),
    ("cosine_restarts_t_mul_1", schedules.CosineDecayRestarts(0.1, 6, t_mul=1.0, m_mul=0.5),
     lambda t: 0.1 * 0.5 ** (t // 6) * 0.5 * (1 + math.cos(math.pi * (t % 6) / 6))),
]


@pytest.mark.parametrize("name, schedule, closed_form", SCHEDULE_CASES, ids=[c[0] for c in SCHEDULE_CASES])
def test_schedule_matches_closed_form(name, schedule, closed_form):
    for t in range(45):
        lr = schedule(t)
        assert isinstance(lr, float)
        assert lr == pytest.approx(closed_form(t), rel=1e-12, abs=1e-15), f"{name} at step {t}"
    again = type(schedule).from_config(schedule.get_config())
    assert [again(t) for t in range(45)] == [schedule(t) for t in range(45)]
    assert schedules.deserialize(schedules.serialize(schedule)).get_config() == schedule.get_config()


def test_piecewise_constant_boundaries_belong_to_the_earlier_interval():
    s = schedules.PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    assert [s(100000), s(100001), s(110000), s(110001)] == [1.0, 0.5, 0.5, 0.1]
    with pytest.raises(ValueError, match="1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])


ONE_CYCLE_CASES = [
    dict(max_lr=0.1, total_steps=50),
    dict(max_lr=0.1, total_steps=50, anneal_strategy="linear"),
    dict(max_lr=0.3, total_steps=47, three_phase=True),
    dict(max_lr=1.0, total_steps=40, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
]


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", ONE_CYCLE_CASES, ids=["cos", "linear", "three_phase", "custom"])
def test_one_cycle_matches_torch_one_cycle_lr(kwargs):
    torch = torch_or_skip()
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cycle_momentum=False, **kwargs)
    expected = []
    for _ in range(kwargs["total_steps"]):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    ours = schedules.OneCycle(**kwargs)
    numpy.testing.assert_allclose([ours(t) for t in range(kwargs["total_steps"])], expected, rtol=1e-12)
    assert ours(kwargs["total_steps"] + 5) == ours(kwargs["total_steps"] - 1)


@pytest.mark.torch
@pytest.mark.parametrize("t_mul", [1, 2, 3])
def test_cosine_decay_restarts_matches_torch_warm_restarts(t_mul):
    torch = torch_or_skip()
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=t_mul, eta_min=0.1 * 0.2)
    expected = []
    for _ in range(100):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    ours = schedules.CosineDecayRestarts(0.1, 5, t_mul=float(t_mul), alpha=0.2)
    numpy.testing.assert_allclose([ours(t) for t in range(100)], expected, rtol=1e-9)
