"""Real Keras 3.15.1 (torch backend) as the oracle of a layer row: the comparison ``run_layer_test`` runs for
a row with ``keras=True`` (how to write such a row: the docstring of ``tests/layer_harness.py``).

The same layer is built in Keras from the same arguments, called on the same inputs, and given neuronka's
(perturbed) weights in Keras's weight order; then configs, weights, shapes, outputs, masks and float32
gradients (torch autograd through the Keras layer) must agree.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy

import neuronka as nk
from neuronka import ops

from .keras_oracle import keras_or_skip, resolve


@dataclass
class KerasCheck:
    """What a row asks of the Keras comparison (the ``keras_*`` knobs of ``run_layer_test``)."""

    name: str | None = None  # the Keras class name when it differs from the neuronka class's
    kwargs: dict | Callable | None = None  # Keras's constructor arguments (a dict, or keras -> dict)
    training: bool = False  # also compare training=True (deterministic training outputs only)
    config_extras: Sequence[str] = ()  # keys neuronka's config adds deliberately (documented in the layer)
    mask_maker: Callable | None = None  # (rng, shapes) -> a bool mask (or a list, one per input) passed as mask=
    call_kwargs: dict = field(default_factory=dict)  # other call arguments, the same on both sides
    check_grads: bool = True
    rtol: float = 1e-4
    atol: float = 1e-5


# ----------------------------------------------------------------------------------------------
# normalization of configs and shapes for comparison
# ----------------------------------------------------------------------------------------------
def json_normalized(obj) -> Any:
    return json.loads(json.dumps(obj))


def _strip_counters(obj):
    """Every ``"name"`` value without its ``_<n>`` counter (Keras and neuronka number layers independently)."""
    if isinstance(obj, dict):
        return {k: (re.sub(r"_\d+$", "", v) if k == "name" and isinstance(v, str) else _strip_counters(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strip_counters(v) for v in obj]
    return obj


def _key_orders(obj, path="config") -> list[tuple[str, list]]:
    """The key order of every dict in a config (Keras's order is part of what a file records)."""
    out = []
    if isinstance(obj, dict):
        out.append((path, list(obj)))
        for k, v in obj.items():
            out.extend(_key_orders(v, f"{path}[{k!r}]"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(_key_orders(v, f"{path}[{i}]"))
    return out


def assert_configs_equal(nk_config: dict, keras_config: dict, what: str, extras: Sequence[str] = ()) -> None:
    """Equal JSON-normalized configs, layer names compared without counters, and the same key order."""
    ours = _strip_counters(json_normalized({k: v for k, v in nk_config.items() if k not in extras}))
    theirs = _strip_counters(json_normalized(keras_config))
    if ours != theirs:
        keys = sorted(set(ours) | set(theirs))
        diff = {k: (ours.get(k, "<missing>"), theirs.get(k, "<missing>")) for k in keys
                if ours.get(k, "<missing>") != theirs.get(k, "<missing>")}
        raise AssertionError(f"{what}: get_config() differs from Keras's (key: (neuronka, Keras)): {diff}")
    for (path, a), (_, b) in zip(_key_orders(ours), _key_orders(theirs)):
        assert a == b, f"{what}: {path} keys in the order {a}, Keras's order is {b}"


def _shape_struct(shape):
    if isinstance(shape, dict):
        return {k: _shape_struct(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        if all(s is None or isinstance(s, (int, numpy.integer)) for s in shape):
            return [None if s is None else int(s) for s in shape]
        return [_shape_struct(s) for s in shape]
    return shape


def _flat(struct) -> list:
    if isinstance(struct, (list, tuple)):
        return [x for s in struct for x in _flat(s)]
    return [struct]


def _rel_path(path: str) -> str:
    """A weight's path below its layer, without layer counters (``bi/forward_lstm_3/lstm_cell/kernel`` →
    ``forward_lstm/lstm_cell/kernel``)."""
    below = path.split("/", 1)[1] if "/" in path else path
    return "/".join(re.sub(r"_\d+$", "", part) for part in below.split("/"))


def _np(x) -> numpy.ndarray | None:
    if x is None:
        return None
    if isinstance(x, nk.Tensor):
        return numpy.asarray(x.data)
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return numpy.asarray(x)


# ----------------------------------------------------------------------------------------------
# the comparison
# ----------------------------------------------------------------------------------------------
def keras_class(layer_cls: type, check: KerasCheck):
    keras = keras_or_skip()
    return keras, resolve(keras.layers, check.name or layer_cls.__name__)


def _keras_kwargs(keras, init_kwargs: dict, check: KerasCheck) -> dict:
    if check.kwargs is None:
        return dict(init_kwargs)
    return dict(check.kwargs(keras) if callable(check.kwargs) else check.kwargs)


def compare_with_keras(layer, layer_cls: type, make_kwargs: Callable[[], dict], arrays: list, many: bool, rng,
                       check: KerasCheck, what: str) -> None:
    """Everything a ``keras=True`` row asserts (see ``tests/layer_harness.py``); ``layer`` is neuronka's built,
    perturbed layer; ``make_kwargs()`` gives fresh constructor arguments."""

    keras, kcls = keras_class(layer_cls, check)
    what = f"{what} vs keras.layers.{kcls.__name__}"
    try:
        _compare(keras, kcls, layer, layer_cls, make_kwargs, arrays, many, rng, check, what)
    finally:  # Keras's global name counters (layers, seed generators) back to zero for the tests that follow
        keras.backend.clear_session(free_memory=False)


def _compare(keras, kcls, layer, layer_cls, make_kwargs, arrays, many, rng, check, what) -> None:
    import torch  # noqa: PLC0415

    # 1. the unbuilt configs ------------------------------------------------------------------------
    fresh_nk = layer_cls(**make_kwargs())
    fresh_k = kcls(**_keras_kwargs(keras, make_kwargs(), check))
    assert_configs_equal(fresh_nk.get_config(), fresh_k.get_config(), f"{what} (unbuilt)", check.config_extras)

    # 2. build Keras's on the same inputs; same weights, in the same order ---------------------------------
    klayer = kcls(**_keras_kwargs(keras, make_kwargs(), check))
    k_inputs = [torch.from_numpy(a.copy()) for a in arrays]
    klayer(k_inputs if many else k_inputs[0], **check.call_kwargs)
    n_w, k_w = layer.weights, klayer.weights
    n_desc = [(w.name, _rel_path(w.path), tuple(w.shape)) for w in n_w]
    k_desc = [(w.name, _rel_path(w.path), tuple(w.shape)) for w in k_w]
    assert n_desc == k_desc, f"{what}: weights (name, path below the layer, shape) {n_desc}, Keras's {k_desc}"
    assert [w.name for w in layer.trainable_weights] == [w.name for w in klayer.trainable_weights], (
        f"{what}: trainable weights {[w.path for w in layer.trainable_weights]}, "
        f"Keras's {[w.path for w in klayer.trainable_weights]}")
    assert layer.count_params() == klayer.count_params(), (
        f"{what}: count_params() {layer.count_params()}, Keras's {klayer.count_params()}")
    for nv, kv in zip(n_w, k_w):
        kv.assign(nv.numpy())

    # 3. configs of the built layers, each side rebuilt from the other's -----------------------------------
    nk_config, k_config = layer.get_config(), klayer.get_config()
    assert_configs_equal(nk_config, k_config, what, check.config_extras)
    from_keras = layer_cls.from_config(json_normalized(k_config))
    assert_configs_equal(from_keras.get_config(), k_config, f"{what}: from_config(Keras's config)",
                         check.config_extras)
    ours = {k: v for k, v in json_normalized(nk_config).items() if k not in check.config_extras}
    from_ours = kcls.from_config(ours)
    assert_configs_equal(nk_config, from_ours.get_config(), f"{what}: Keras's from_config(neuronka's config)",
                         check.config_extras)
    assert json_normalized(layer.get_build_config()) == json_normalized(klayer.get_build_config()), (
        f"{what}: get_build_config() {layer.get_build_config()}, Keras's {klayer.get_build_config()}")
    _compare_serialized(layer, klayer, layer_cls, kcls, keras, check, what)

    # 4. output shapes for symbolic (batch None) inputs ----------------------------------------------------
    shapes = [(None, *a.shape[1:]) for a in arrays]
    arg = shapes if many else shapes[0]
    n_shape, k_shape = _shape_struct(layer.compute_output_shape(arg)), _shape_struct(klayer.compute_output_shape(arg))
    assert n_shape == k_shape, f"{what}: compute_output_shape({arg}) = {n_shape}, Keras's {k_shape}"

    # 5. outputs, masks and float32 gradients, at inference (and in training where it is deterministic) -------
    mask = check.mask_maker(rng, [a.shape for a in arrays]) if check.mask_maker else None
    for mode in (False, True) if check.training else (False,):
        _compare_call(layer, klayer, arrays, many, mask, mode, rng, check, what)


def _compare_serialized(layer, klayer, layer_cls, kcls, keras, check, what) -> None:
    """``serialize_keras_object`` equal on both sides; each side's deserializer rebuilds the other's."""
    ours = json_normalized(nk.saving.serialize_keras_object(layer))
    theirs = json_normalized(keras.saving.serialize_keras_object(klayer))
    ours["config"] = {k: v for k, v in ours["config"].items() if k not in check.config_extras}
    assert_configs_equal(ours, theirs, f"{what}: serialize_keras_object")
    rebuilt = nk.saving.deserialize_keras_object(theirs)
    assert type(rebuilt) is layer_cls, f"{what}: deserializing Keras's dict gave a {type(rebuilt).__name__}"
    assert_configs_equal(rebuilt.get_config(), klayer.get_config(), f"{what}: deserialize(Keras's dict)",
                         check.config_extras)
    k_rebuilt = keras.saving.deserialize_keras_object(ours)
    assert type(k_rebuilt) is kcls, f"{what}: Keras deserialized neuronka's dict as a {type(k_rebuilt).__name__}"


def _compare_call(layer, klayer, arrays, many, mask, mode: bool, rng, check: KerasCheck, what: str) -> None:
    import torch  # noqa: PLC0415

    what = f"{what}, training={mode}"
    tensors = [nk.Tensor(a.copy(), requires_grad=numpy.issubdtype(a.dtype, numpy.floating)) for a in arrays]
    for w in layer.weights:
        w.grad = None
    t_in = [torch.from_numpy(a.copy()).requires_grad_(bool(numpy.issubdtype(a.dtype, numpy.floating)))
            for a in arrays]
    for kv in klayer.weights:
        kv.value.grad = None
    n_mask = mask
    k_mask = None if mask is None else ([None if m is None else torch.from_numpy(numpy.asarray(m)) for m in mask]
                                        if isinstance(mask, list) else torch.from_numpy(numpy.asarray(mask)))
    if mask is not None:  # masks travel on the inputs, as from a masking layer before this one
        for t, kt, m, km in zip(tensors, t_in, n_mask if many else [n_mask], k_mask if many else [k_mask]):
            t._keras_mask = m
            kt._keras_mask = km
    y = layer(tensors if many else tensors[0], training=mode, **check.call_kwargs)
    ky = klayer(t_in if many else t_in[0], training=mode, **check.call_kwargs)
    ys, kys = _flat(y), _flat(ky)
    assert len(ys) == len(kys), f"{what}: {len(ys)} outputs, Keras gives {len(kys)}"
    for i, (a, b) in enumerate(zip(ys, kys)):
        a_np, b_np = _np(a), _np(b)
        assert a_np.shape == b_np.shape, f"{what}: output {i} has shape {a_np.shape}, Keras's {b_np.shape}"
        assert a_np.dtype == b_np.dtype, f"{what}: output {i} has dtype {a_np.dtype}, Keras's {b_np.dtype}"
        numpy.testing.assert_allclose(a_np, b_np, rtol=check.rtol, atol=check.atol,
                                      err_msg=f"{what}: output {i} differs from Keras's")

    # losses of this call (activity regularization) and of the weights (regularizers)
    n_losses = [float(numpy.sum(_np(v))) for v in layer.losses]
    k_losses = [float(numpy.sum(_np(v))) for v in klayer.losses]
    numpy.testing.assert_allclose(n_losses, k_losses, rtol=check.rtol, atol=check.atol,
                                  err_msg=f"{what}: layer.losses differ from Keras's")

    # masks: the ones the call attached to the outputs, and compute_mask on both sides
    for i, (a, b) in enumerate(zip(ys, kys)):
        _assert_masks_equal(getattr(a, "_keras_mask", None), getattr(b, "_keras_mask", None),
                            f"{what}: the mask attached to output {i}")
    n_in = tensors if many else tensors[0]
    k_in = t_in if many else t_in[0]
    n_out_mask = layer.compute_mask(n_in, n_mask)
    k_out_mask = klayer.compute_mask(k_in, k_mask)
    _assert_masks_equal(n_out_mask, k_out_mask, what)

    # state moved by a training call (BatchNormalization's moving statistics)
    for nv, kv in zip(layer.weights, klayer.weights):
        numpy.testing.assert_allclose(nv.numpy(), _np(kv.value), rtol=check.rtol, atol=check.atol,
                                      err_msg=f"{what}: weight {nv.path} after the call differs from Keras's")
    if not check.check_grads:
        return
    grads = [rng.standard_normal(numpy.shape(_np(o))).astype(numpy.float32) for o in ys]
    total, k_total = None, None
    for o, ko, g in zip(ys, kys, grads):
        if isinstance(o, nk.Tensor) and o.requires_grad:
            term = ops.sum(ops.multiply(o, g))
            total = term if total is None else total + term
            k_term = (ko * torch.from_numpy(g)).sum()
            k_total = k_term if k_total is None else k_total + k_term
    if total is None:
        return
    total.backward()
    k_total.backward()
    for i, (t, kt) in enumerate(zip(tensors, t_in)):
        if t.requires_grad:
            assert t.grad is not None and kt.grad is not None, (
                f"{what}: input {i} got a gradient {t.grad is not None}, Keras's {kt.grad is not None}")
            numpy.testing.assert_allclose(numpy.asarray(t.grad), _np(kt.grad), rtol=check.rtol, atol=check.atol,
                                          err_msg=f"{what}: gradient of input {i} differs from Keras's")
    for nv, kv in zip(layer.weights, klayer.weights):
        if not nv.trainable or not layer.trainable:
            continue
        kg = kv.value.grad
        assert nv.grad is not None and kg is not None, (
            f"{what}: {nv.path} got a gradient {nv.grad is not None}, Keras's {kg is not None}")
        numpy.testing.assert_allclose(numpy.asarray(nv.grad), _np(kg), rtol=check.rtol, atol=check.atol,
                                      err_msg=f"{what}: gradient of {nv.path} differs from Keras's")
    for w in layer.weights:
        w.grad = None
    for kv in klayer.weights:
        kv.value.grad = None


def _assert_masks_equal(ours, theirs, what: str) -> None:
    if isinstance(theirs, (list, tuple)):
        ours_l = list(ours) if isinstance(ours, (list, tuple)) else [ours] * len(theirs)
        assert len(ours_l) == len(theirs), f"{what}: {len(ours_l)} output masks, Keras gives {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours_l, theirs)):
            _assert_masks_equal(a, b, f"{what}, mask {i}")
        return
    if theirs is None:
        assert ours is None, f"{what}: compute_mask gave a mask, Keras's gives None"
        return
    assert ours is not None, f"{what}: compute_mask gave None, Keras's gives a mask of shape {tuple(theirs.shape)}"
    numpy.testing.assert_array_equal(_np(ours), _np(theirs), err_msg=f"{what}: compute_mask differs from Keras's")
