"""Attention layers against real Keras 3.15.1: EinsumDense, Attention and AdditiveAttention (rows of the shared
harness, tests/layer_harness.py), MultiHeadAttention and GroupedQueryAttention (rows of :class:`CallCase`, the
same checks for layers called as ``layer(query, value, key=None, ...)``), the attention op against PyTorch's
``scaled_dot_product_attention``, and Keras's file formats both ways.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy
import pytest

import neuronka as nk
from neuronka import layers, ops
from neuronka.ops import attention as nattention

from .helpers import torch_or_skip
from .keras_oracle import keras_api, keras_or_skip
from .layer_harness import LayerCase, layer_cases
from .layer_harness_keras import KerasCheck, _compare_serialized, _rel_path, assert_configs_equal, json_normalized
from .oracles import ORACLE_SKIP_PREFIX, missing

# ================================================================================================
# EinsumDense, Attention, AdditiveAttention: harness rows
# ================================================================================================
EINSUM_CASES = [
    LayerCase("einsum_dense_like_dense", layers.EinsumDense, {"equation": "ab,bc->ac", "output_shape": 4,
                                                               "bias_axes": "c"}, (3, 5), keras=True, gradcheck=True),
    LayerCase("einsum_dense_heads", layers.EinsumDense, {"equation": "abc,cde->abde", "output_shape": (4, 2, 3),
                                                         "bias_axes": "de"}, (2, 4, 5), keras=True, gradcheck=True),
    LayerCase("einsum_dense_heads_out", layers.EinsumDense, {"equation": "abcd,cde->abe", "output_shape": (3, 4),
                                                             "bias_axes": "e", "activation": "relu"},
              (2, 3, 2, 3), keras=True),
    LayerCase("einsum_dense_left_ellipsis", layers.EinsumDense, {"equation": "...b,bc->...c", "output_shape": 3},
              (2, 3, 4), keras=True),
    LayerCase("einsum_dense_right_ellipsis", layers.EinsumDense, {"equation": "ab...,bc->ac...",
                                                                  "output_shape": 3, "bias_axes": "c"},
              (2, 4, 5), keras=True, gradcheck=True),
    LayerCase("einsum_dense_transposed", layers.EinsumDense, {"equation": "abc,dc->adb", "output_shape": (3, 4),
                                                              "bias_axes": "d"}, (2, 4, 5), keras=True, gradcheck=True),
    LayerCase("einsum_dense_bias_not_last", layers.EinsumDense, {"equation": "abc,cde->abde",
                                                                 "output_shape": (4, 2, 3), "bias_axes": "d"},
              (2, 4, 5), keras=True),
    LayerCase("einsum_dense_regularized", layers.EinsumDense,
              {"equation": "abc,cd->abd", "output_shape": (3, 3), "bias_axes": "d", "kernel_regularizer": "l2",
               "bias_regularizer": "l1", "activity_regularizer": "l2", "kernel_constraint": "max_norm",
               "kernel_initializer": "he_normal", "bias_initializer": "ones"}, (2, 3, 4), keras=True),
    LayerCase("einsum_dense_lora", layers.EinsumDense, {"equation": "abc,cde->abde", "output_shape": (4, 2, 3),
                                                        "bias_axes": "de", "lora_rank": 2, "lora_alpha": 3},
              (2, 4, 5), keras=True),
]


def query_value_masks(rng, shapes):
    """[query mask, value mask] over the time axes; query row 1 of sample 1 masked, sample 1 keeps one key."""
    (n, tq), tv = shapes[0][:2], shapes[1][1]
    q = rng.random((n, tq)) < 0.7
    v = rng.random((n, tv)) < 0.6
    q[0], v[0] = True, True
    q[1, 1], v[1] = False, False
    v[1, 0] = True
    return [q, v]


def value_mask_with_empty_row(rng, shapes):
    """[None, value mask] where sample 1 masks every key (Keras then averages all values)."""
    n, tv = shapes[1][:2]
    v = rng.random((n, tv)) < 0.6
    v[0, 0], v[1] = True, False
    return [None, v]


QV = [(2, 3, 4), (2, 5, 4)]
QVK = [(2, 3, 4), (2, 5, 6), (2, 5, 4)]
ATTENTION_CASES = [
    LayerCase("attention_dot", layers.Attention, {}, QV, keras=True, gradcheck=True),
    LayerCase("attention_dot_key_scale", layers.Attention, {"use_scale": True}, QVK, keras=True, gradcheck=True),
    LayerCase("attention_concat", layers.Attention, {"score_mode": "concat"}, QV, keras=True, gradcheck=True),
    LayerCase("attention_concat_scale", layers.Attention, {"score_mode": "concat", "use_scale": True}, QVK,
              keras=True),
    LayerCase("attention_masks", layers.Attention, {"use_scale": True}, QV, keras=True,
              keras_mask_maker=query_value_masks),
    LayerCase("attention_empty_value_row", layers.Attention, {}, QV, keras=True,
              keras_mask_maker=value_mask_with_empty_row),
    LayerCase("attention_causal", layers.Attention, {}, [(2, 4, 3), (2, 4, 3)], keras=True,
              keras_call_kwargs={"use_causal_mask": True}),
    LayerCase("attention_causal_masks", layers.Attention, {}, [(2, 5, 3), (2, 4, 3)], keras=True,
              keras_call_kwargs={"use_causal_mask": True}, keras_mask_maker=query_value_masks),
    LayerCase("attention_scores", layers.Attention, {"score_mode": "concat"}, QVK, keras=True,
              keras_call_kwargs={"return_attention_scores": True}, keras_mask_maker=query_value_masks),
    LayerCase("attention_dropout_inference", layers.Attention, {"dropout": 0.5, "seed": 1}, QV, keras=True,
              training_changes_output=True),
    LayerCase("additive_attention", layers.AdditiveAttention, {}, QV, keras=True, gradcheck=True),
    LayerCase("additive_attention_no_scale_key", layers.AdditiveAttention, {"use_scale": False}, QVK, keras=True,
              gradcheck=True),
    LayerCase("additive_attention_masks_causal", layers.AdditiveAttention, {}, [(2, 5, 3), (2, 4, 3)], keras=True,
              keras_call_kwargs={"use_causal_mask": True}, keras_mask_maker=query_value_masks),
    LayerCase("additive_attention_scores", layers.AdditiveAttention, {"dropout": 0.2}, QV, keras=True,
              keras_call_kwargs={"return_attention_scores": True}, keras_mask_maker=value_mask_with_empty_row),
]


@layer_cases(EINSUM_CASES)
def test_einsum_dense_matches_keras(case):
    case.run()


@layer_cases(ATTENTION_CASES)
def test_attention_layers_match_keras(case):
    case.run()


@keras_api("layers.EinsumDense")
def test_einsum_dense_output_shape_none_takes_the_input_size_where_keras_leaves_none():
    keras = keras_or_skip()
    x = numpy.random.default_rng(0).standard_normal((2, 4, 5)).astype("float32")
    ours = layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de")
    theirs = keras.layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de")
    y, ky = ours(x), theirs(x)
    for w, kw in zip(ours.weights, theirs.weights):
        kw.assign(w.numpy())
    numpy.testing.assert_allclose(ours(x).numpy(), theirs(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert tuple(y.shape) == tuple(ky.shape) == (2, 4, 2, 3)
    assert ours.compute_output_shape((None, 4, 5)) == (None, 4, 2, 3)
    assert theirs.compute_output_shape((None, 4, 5)) == (None, None, 2, 3)  # the difference documented
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("ab,bc", output_shape=3)(x[:, 0])
    with pytest.raises(ValueError, match="Bias dimension 'z'"):
        layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="z")(x[:, 0])


@keras_api("layers.EinsumDense")
def test_einsum_dense_kernel_fans_are_the_kernel_axes_as_in_keras():
    nk.utils.set_random_seed(0)
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(4, 64, 64), kernel_initializer="glorot_uniform")
    layer.build((2, 4, 256))
    limit = numpy.sqrt(6.0 / (256 + 64 * 64))  # fan_in = 256 (axis c), fan_out = 64·64 (axes d, e)
    w = layer.kernel.numpy()
    assert w.std() == pytest.approx(limit / numpy.sqrt(3), rel=0.02)
    assert layer.kernel_initializer.get_config()["input_axes"] is None  # the layer's own initializer untouched


# ================================================================================================
# MultiHeadAttention, GroupedQueryAttention: layers of several tensor arguments
# ================================================================================================
def _time_mask(rng, n: int, t: int, empty_row: bool = False):
    m = rng.random((n, t)) < 0.6
    m[:, 0] = True
    m[0] = True
    if empty_row:
        m[-1] = False
    return m


@dataclass
class CallCase:
    """One row: the layer (neuronka's class; Keras's name when it differs), its arguments, the shapes of query,
    value and key (None: no key), masks attached to those inputs (``masks``: {"query"/"value"/"key":
    maker(rng, n, t)}), an ``attention_mask`` maker (rng, n, tq, tv), other call arguments, ``gradcheck``
    (float64 central differences on the same weights)."""

    id: str
    layer: type
    init: dict
    query: tuple
    value: tuple
    key: tuple | None = None
    masks: dict = field(default_factory=dict)
    attention_mask: object = None
    call: dict = field(default_factory=dict)
    gradcheck: bool = False
    rtol: float = 1e-4
    atol: float = 1e-5

    @property
    def keras_name(self) -> str:
        return getattr(self.layer, "_keras_export_name", self.layer.__name__)


def _inputs(case: CallCase, rng, dtype="float32"):
    shapes = {"query": case.query, "value": case.value}
    if case.key is not None:
        shapes["key"] = case.key
    arrays = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    masks = {k: maker(rng, shapes[k][0], shapes[k][1]) for k, maker in case.masks.items()}
    am = case.attention_mask(rng, case.query[0], case.query[1], case.value[1]) if case.attention_mask else None
    return arrays, masks, am


def _nk_call(layer, arrays, masks, am, call, requires_grad=False, training=False):
    tensors = {k: nk.Tensor(a.copy(), requires_grad=requires_grad) for k, a in arrays.items()}
    for k, m in masks.items():
        tensors[k]._keras_mask = m
    extra = dict(call)
    if am is not None:
        extra["attention_mask"] = am
    out = layer(tensors["query"], tensors["value"], key=tensors.get("key"), training=training, **extra)
    return out, tensors


def _keras_call(klayer, arrays, masks, am, call):
    import torch  # noqa: PLC0415

    tensors = {k: torch.from_numpy(a.copy()).requires_grad_(True) for k, a in arrays.items()}
    for k, m in masks.items():
        tensors[k]._keras_mask = torch.from_numpy(m)
    extra = dict(call)
    if am is not None:
        extra["attention_mask"] = torch.from_numpy(am)
    out = klayer(tensors["query"], tensors["value"], key=tensors.get("key"), training=False, **extra)
    return out, tensors


def _flat(out) -> list:
    return list(out) if isinstance(out, tuple) else [out]


def _empty_query_rows(case: CallCase, layer, masks, am):
    """(B, T) True where a query attends to no key and Keras's dot_product_attention path runs (its score
    gradient there is torch's artefact: neuronka passes zero, see neuronka/ops/attention.py)."""
    b, t, s = case.query[0], case.query[1], case.value[1]
    if len(case.query) != 3 or getattr(layer, "_dropout", getattr(layer, "dropout", 0)) or \
            case.call.get("return_attention_scores"):
        return numpy.zeros((b, t), bool)
    allowed = numpy.ones((b, t, s), bool)
    if "query" in masks:
        allowed &= masks["query"][:, :, None]
    for k in ("value", "key"):
        if k in masks:
            allowed &= masks[k][:, None, :]
    if am is not None:
        allowed &= am.astype(bool)
    if case.call.get("use_causal_mask"):
        allowed &= numpy.tril(numpy.ones((t, s), bool))[None]
    window = getattr(layer, "_sliding_window", getattr(layer, "sliding_window", None))
    if window:
        allowed &= (numpy.abs(numpy.arange(t)[:, None] - numpy.arange(s)[None]) < window)[None]
    return ~allowed.any(-1)


def run_call_case(case: CallCase) -> None:
    """The layer contract of one row against real Keras: configs (unbuilt, built, each side from the other's,
    serialized), build config, weights (names, paths, shapes, order), compute_output_shape, symbolic calls and
    a functional model, outputs and the output mask at inference, layer.losses, float32 input and weight
    gradients, and with ``gradcheck`` float64 gradients against central differences."""
    what = f"{case.id}: {case.layer.__name__}({case.init})"
    rng = numpy.random.default_rng(0)
    arrays, masks, am = _inputs(case, rng)
    reason = missing("keras")
    if reason:  # no oracle: the float64 gradcheck still runs, on the layer the comparison would have used
        if case.gradcheck:
            layer = case.layer(**case.init)
            _nk_call(layer, arrays, masks, am, case.call)
            for w in layer.trainable_weights:
                w.assign(w.numpy() + 0.1 * rng.standard_normal(w.shape).astype(w.dtype))
            _gradcheck(case, layer)
            pytest.skip(f"{ORACLE_SKIP_PREFIX} (float64 gradcheck); not compared with Keras ({reason})")
        pytest.skip(reason)
    keras = keras_or_skip()
    torch = torch_or_skip()
    kcls = getattr(keras.layers, case.keras_name)
    try:
        # 1. unbuilt configs, then both built on the same inputs, Keras given neuronka's perturbed weights
        assert_configs_equal(case.layer(**case.init).get_config(), kcls(**case.init).get_config(), f"{what} (unbuilt)")
        layer, klayer = case.layer(**case.init), kcls(**case.init)
        _nk_call(layer, arrays, masks, am, case.call)
        _keras_call(klayer, arrays, masks, am, case.call)
        for w in layer.trainable_weights:
            w.assign(w.numpy() + 0.1 * rng.standard_normal(w.shape).astype(w.dtype))
        ours = [(w.name, _rel_path(w.path), tuple(w.shape)) for w in layer.weights]
        theirs = [(w.name, _rel_path(w.path), tuple(w.shape)) for w in klayer.weights]
        assert ours == theirs, f"{what}: weights {ours}, Keras's {theirs}"
        assert layer.count_params() == klayer.count_params()
        for w, kw in zip(layer.weights, klayer.weights):
            kw.assign(w.numpy())

        # 2. configs of the built layers, each side rebuilt from the other's, serialization, build config
        assert_configs_equal(layer.get_config(), klayer.get_config(), what)
        assert_configs_equal(case.layer.from_config(json_normalized(klayer.get_config())).get_config(),
                             klayer.get_config(), f"{what}: from_config(Keras's config)")
        assert_configs_equal(layer.get_config(), kcls.from_config(json_normalized(layer.get_config())).get_config(),
                             f"{what}: Keras's from_config(neuronka's config)")
        _compare_serialized(layer, klayer, case.layer, kcls, keras, KerasCheck(), what)
        assert json_normalized(layer.get_build_config()) == json_normalized(klayer.get_build_config()), (
            f"{what}: build config {layer.get_build_config()}, Keras's {klayer.get_build_config()}")

        # 3. shapes, eager and symbolic; a functional model computes what the layer computes
        shapes = [(None, *case.query[1:]), (None, *case.value[1:])] + ([(None, *case.key[1:])] if case.key else [])
        assert tuple(layer.compute_output_shape(*shapes)) == tuple(klayer.compute_output_shape(*shapes))
        sym = [layers.Input(shape=s[1:]) for s in shapes]
        sym_out = layer(sym[0], sym[1], key=sym[2] if case.key else None, **case.call)
        out, _ = _nk_call(layer, arrays, {}, None, case.call)
        for s, o in zip(_flat(sym_out), _flat(out)):
            assert s.shape == (None, *o.shape[1:]), f"{what}: symbolic {s.shape}, eager {o.shape}"
        model = nk.Model(sym, sym_out)
        got = model([arrays[k] for k in ("query", "value", "key") if k in arrays])
        for a, b in zip(list(got) if isinstance(got, (list, tuple)) else [got], _flat(out)):
            numpy.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6, err_msg=f"{what}: functional")

        # 4. outputs, masks and losses at inference
        for w in layer.weights:
            w.grad = None
        y, tensors = _nk_call(layer, arrays, masks, am, case.call, requires_grad=True)
        ky, ktensors = _keras_call(klayer, arrays, masks, am, case.call)
        ys, kys = _flat(y), _flat(ky)
        assert len(ys) == len(kys), f"{what}: {len(ys)} outputs, Keras {len(kys)}"
        for i, (a, b) in enumerate(zip(ys, kys)):
            assert a.shape == tuple(b.shape) and a.dtype == b.detach().numpy().dtype, (
                f"{what}: output {i} {a.shape} {a.dtype}, Keras's {tuple(b.shape)} {b.dtype}")
            numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=case.rtol, atol=case.atol,
                                          err_msg=f"{what}: output {i}")
        k_mask = getattr(kys[0], "_keras_mask", None)
        n_mask = getattr(ys[0], "_keras_mask", None)
        assert (k_mask is None) == (n_mask is None), f"{what}: output mask {n_mask}, Keras's {k_mask}"
        if k_mask is not None:
            numpy.testing.assert_array_equal(numpy.asarray(n_mask), k_mask.numpy())
        numpy.testing.assert_allclose([float(v.numpy()) for v in layer.losses],
                                      [float(v.detach()) for v in klayer.losses], rtol=1e-4, atol=1e-6)

        # 5. float32 gradients (the output gradient left out at rows no key is visible to, see _empty_query_rows)
        empty = _empty_query_rows(case, layer, masks, am)
        gys = [rng.standard_normal(a.shape).astype("float32") for a in ys]
        gys[0][empty] = 0
        total = sum(ops.sum(ops.multiply(a, g)) for a, g in zip(ys, gys))
        total.backward()
        sum((b * torch.from_numpy(g)).sum() for b, g in zip(kys, gys)).backward()
        for k, t in tensors.items():
            numpy.testing.assert_allclose(t.grad, ktensors[k].grad.numpy(), rtol=case.rtol, atol=case.atol,
                                          err_msg=f"{what}: gradient of {k}")
        for w, kw in zip(layer.weights, klayer.weights):
            numpy.testing.assert_allclose(w.grad, kw.value.grad.numpy(), rtol=case.rtol, atol=case.atol,
                                          err_msg=f"{what}: gradient of {w.path}")
    finally:
        keras.backend.clear_session(free_memory=False)
    if case.gradcheck:
        _gradcheck(case, layer)


def _gradcheck(case: CallCase, layer, eps: float = 1e-6) -> None:
    """float64: the layer's input and weight gradients against central differences, L = Σ g·y (masks on)."""
    rng = numpy.random.default_rng(1)
    arrays, masks, am = _inputs(case, rng, "float64")
    layer64 = case.layer(**{**case.init, "dtype": "float64"})
    _nk_call(layer64, arrays, masks, am, case.call)
    layer64.set_weights([w.astype("float64") for w in layer.get_weights()])
    ys, tensors = _nk_call(layer64, arrays, masks, am, case.call, requires_grad=True)
    gys = [rng.standard_normal(y.shape) for y in _flat(ys)]

    def loss() -> float:
        with nk.no_grad():
            out, _ = _nk_call(layer64, arrays, masks, am, case.call)
        return float(sum((o.numpy() * g).sum() for o, g in zip(_flat(out), gys)))

    sum(ops.sum(ops.multiply(y, g)) for y, g in zip(_flat(ys), gys)).backward()

    def numeric(values) -> numpy.ndarray:
        grad = numpy.zeros(values.shape)
        flat, g = values.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = loss()
            flat[i] = old - eps
            minus = loss()
            flat[i] = old
            g[i] = (plus - minus) / (2 * eps)
        return grad

    for k, t in tensors.items():
        numpy.testing.assert_allclose(t.grad, numeric(arrays[k]), rtol=1e-5, atol=1e-7,
                                      err_msg=f"{case.id}: float64 gradient of {k}")
    for w in layer64.trainable_weights:
        numpy.testing.assert_allclose(w.grad, numeric(w.data), rtol=1e-5, atol=1e-7,
                                      err_msg=f"{case.id}: float64 gradient of {w.path}")


def _am_with_empty_row(rng, n, tq, tv):
    m = rng.random((n, tq, tv)) < 0.6
    m[:, :, 0] = True
    m[1, 2] = False  # query 2 of sample 1 sees no key
    return m


MHA = layers.MultiHeadAttention
GQA = layers.GroupQueryAttention
CALL_CASES = [
    CallCase("mha", MHA, {"num_heads": 2, "key_dim": 3}, (2, 4, 5), (2, 3, 4), gradcheck=True),
    CallCase("mha_key_value_dim_output_int", MHA, {"num_heads": 3, "key_dim": 2, "value_dim": 4, "output_shape": 7},
             (2, 4, 6), (2, 5, 3), key=(2, 5, 2)),
    CallCase("mha_output_shape_no_bias", MHA, {"num_heads": 2, "key_dim": 4, "output_shape": (2, 3),
                                               "use_bias": False}, (2, 3, 6), (2, 3, 6)),
    CallCase("mha_padding_masks", MHA, {"num_heads": 2, "key_dim": 3},
             (2, 5, 4), (2, 6, 4), masks={"query": lambda r, n, t: _time_mask(r, n, t),
                                          "value": lambda r, n, t: _time_mask(r, n, t, empty_row=True)},
             gradcheck=True),
    CallCase("mha_key_mask", MHA, {"num_heads": 2, "key_dim": 3}, (2, 4, 4), (2, 5, 4), key=(2, 5, 3),
             masks={"key": lambda r, n, t: _time_mask(r, n, t)}),
    CallCase("mha_attention_mask", MHA, {"num_heads": 2, "key_dim": 3}, (2, 4, 5), (2, 6, 5),
             attention_mask=_am_with_empty_row),
    CallCase("mha_causal", MHA, {"num_heads": 2, "key_dim": 3}, (2, 5, 4), (2, 5, 4),
             call={"use_causal_mask": True}, gradcheck=True),
    CallCase("mha_causal_longer_query", MHA, {"num_heads": 2, "key_dim": 3}, (2, 6, 4), (2, 4, 4),
             call={"use_causal_mask": True}),
    CallCase("mha_causal_masks", MHA, {"num_heads": 4, "key_dim": 2}, (2, 5, 4), (2, 5, 4),
             masks={"query": lambda r, n, t: _time_mask(r, n, t), "value": lambda r, n, t: _time_mask(r, n, t)},
             attention_mask=_am_with_empty_row, call={"use_causal_mask": True}),
    CallCase("mha_scores_masks", MHA, {"num_heads": 2, "key_dim": 3}, (2, 4, 5), (2, 6, 5),
             masks={"query": lambda r, n, t: _time_mask(r, n, t),
                    "value": lambda r, n, t: _time_mask(r, n, t, empty_row=True)},
             call={"return_attention_scores": True}, gradcheck=True),
    CallCase("mha_dropout_at_inference", MHA, {"num_heads": 2, "key_dim": 3, "dropout": 0.4, "seed": 3},
             (2, 4, 5), (2, 6, 5), masks={"value": lambda r, n, t: _time_mask(r, n, t, empty_row=True)}),
    CallCase("mha_sliding_window_causal", MHA, {"num_heads": 2, "key_dim": 3, "sliding_window": 2},
             (2, 6, 4), (2, 6, 4), call={"use_causal_mask": True}),
    CallCase("mha_gate", MHA, {"num_heads": 2, "key_dim": 3, "value_dim": 2, "use_gate": True},
             (2, 4, 5), (2, 3, 5)),
    CallCase("mha_regularized", MHA, {"num_heads": 2, "key_dim": 3, "kernel_regularizer": "l2",
                                      "bias_regularizer": "l1", "activity_regularizer": "l2",
                                      "kernel_constraint": "max_norm", "kernel_initializer": "he_normal",
                                      "bias_initializer": "ones"}, (2, 4, 5), (2, 3, 5)),
    CallCase("mha_attention_axes_2d", MHA, {"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2)},
             (2, 3, 2, 4), (2, 2, 3, 4), gradcheck=True),
    CallCase("mha_attention_axes_2d_scores_mask", MHA, {"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2)},
             (2, 3, 2, 4), (2, 2, 3, 4), call={"return_attention_scores": True},
             attention_mask=lambda r, n, tq, tv: r.random((n, 3, 2, 2, 3)) < 0.7),
    CallCase("mha_attention_axis_2_of_4d", MHA, {"num_heads": 2, "key_dim": 2, "attention_axes": 2},
             (2, 3, 4, 5), (2, 3, 2, 5), call={"return_attention_scores": True}),
    CallCase("gqa", GQA, {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}, (2, 4, 6), (2, 5, 6),
             gradcheck=True),
    CallCase("gqa_multi_query", GQA, {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 1},
             (2, 4, 6), (2, 5, 6), key=(2, 5, 3)),
    CallCase("gqa_as_mha_no_bias", GQA, {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 3,
                                         "use_bias": False}, (2, 4, 6), (2, 5, 6)),
    CallCase("gqa_masks_causal", GQA, {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2},
             (2, 5, 4), (2, 5, 4), masks={"query": lambda r, n, t: _time_mask(r, n, t),
                                          "value": lambda r, n, t: _time_mask(r, n, t, empty_row=True)},
             attention_mask=_am_with_empty_row, call={"use_causal_mask": True}, gradcheck=True),
    CallCase("gqa_scores", GQA, {"head_dim": 2, "num_query_heads": 6, "num_key_value_heads": 3}, (2, 4, 5),
             (2, 3, 5), masks={"value": lambda r, n, t: _time_mask(r, n, t, empty_row=True)},
             call={"return_attention_scores": True}),
    CallCase("gqa_dropout_at_inference_window_gate", GQA,
             {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2, "dropout": 0.3, "sliding_window": 2,
              "use_gate": True, "seed": 1}, (2, 5, 4), (2, 5, 4)),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=keras_api(f"layers.{c.keras_name}"))
                                  for c in CALL_CASES])
def test_multi_head_attention_layers_match_keras(case):
    run_call_case(case)


# ================================================================================================
# the attention op: against torch's scaled_dot_product_attention, compiled kernels against NumPy, dropout
# ================================================================================================
def _qkv(rng, b=2, t=5, s=6, n=4, kh=4, h=3, hv=3, dtype="float32"):
    return (rng.standard_normal((b, t, n, h)).astype(dtype), rng.standard_normal((b, s, kh, h)).astype(dtype),
            rng.standard_normal((b, s, kh, hv)).astype(dtype))


SDPA_CASES = {
    "mha": ({}, None, False),
    "gqa": ({"kh": 2}, None, False),
    "mqa_causal": ({"kh": 1, "t": 6}, None, True),
    "padding_mask": ({}, "padding", False),
    "full_mask_gqa_causal": ({"kh": 2, "s": 5}, "full", True),
    "value_dim": ({"hv": 5, "kh": 2}, "padding", False),
}


@pytest.mark.parametrize("name", list(SDPA_CASES))
def test_attention_op_outputs_and_gradients_match_torch_sdpa(name):
    torch = torch_or_skip()
    shape, mask_kind, causal = SDPA_CASES[name]
    rng = numpy.random.default_rng(0)
    q, k, v = _qkv(rng, **shape)
    b, t, n, _ = q.shape
    s = k.shape[1]
    mask = None
    if mask_kind == "padding":  # (B, 1, 1, S), every row keeps key 0
        mask = rng.random((b, 1, 1, s)) < 0.6
        mask[..., 0] = True
    elif mask_kind == "full":
        mask = rng.random((b, n, t, s)) < 0.6
        mask[..., 0] = True
    gy = rng.standard_normal((b, t, n, v.shape[3])).astype("float32")
    tensors = [nk.Tensor(a, requires_grad=True) for a in (q, k, v)]
    y = nattention.multi_head_attention(*tensors, mask=mask, is_causal=causal)
    y.backward(gy)
    tt = [torch.from_numpy(a).transpose(1, 2).requires_grad_(True) for a in (q, k, v)]
    attn = None if mask is None else torch.from_numpy(mask)
    if causal and attn is not None:
        attn = attn & torch.ones(t, s, dtype=torch.bool).tril()
        causal = False
    ty = torch.nn.functional.scaled_dot_product_attention(*tt, attn_mask=attn, is_causal=causal,
                                                          enable_gqa=k.shape[2] != n).transpose(1, 2)
    ty.backward(torch.from_numpy(gy))
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    for name_, a, ta in zip("qkv", tensors, tt):
        numpy.testing.assert_allclose(a.grad, ta.grad.transpose(1, 2).numpy(), rtol=1e-4, atol=1e-5,
                                      err_msg=f"gradient of {name_}")


@pytest.mark.parametrize("empty_rows", ["uniform", "zero"])
def test_attention_compiled_row_kernels_give_the_numpy_path(empty_rows):
    from neuronka.ops import _attention_kernels, kernels

    if not _attention_kernels.usable(numpy.zeros(1, "float32")):
        pytest.skip("the compiled kernels are off (no Numba, or NEURONKA_KERNELS=0)")
    rng = numpy.random.default_rng(1)
    q, k, v = _qkv(rng, b=3, t=7, s=9, n=4, kh=2)
    mask = rng.random((3, 1, 7, 9)) < 0.5
    mask[1, 0, 3] = False  # an empty row
    mask[2, 0, :, 2] = True
    gy = rng.standard_normal((3, 7, 4, 3)).astype("float32")
    results = []
    for on in (True, False):
        previous = kernels.set_enabled(on)
        try:
            tensors = [nk.Tensor(a, requires_grad=True) for a in (q, k, v)]
            y = nattention.multi_head_attention(*tensors, mask=mask, is_causal=True, empty_rows=empty_rows)
            y.backward(gy)
            results.append([y.numpy()] + [a.grad for a in tensors])
        finally:
            kernels.set_enabled(previous)
    for a, b in zip(*results):
        numpy.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    row = results[0][0][1, 3]  # the empty row: the mean of the values, or 0
    expected = v[1].reshape(9, 2, 3).mean(0).repeat(2, axis=0) if empty_rows == "uniform" else numpy.zeros((4, 3))
    numpy.testing.assert_allclose(row, expected, rtol=1e-5, atol=1e-6)


def test_attention_dropout_drops_probabilities_at_the_rate_and_its_gradient_is_exact():
    torch = torch_or_skip()
    rng = numpy.random.default_rng(2)
    b, t, s, n, h, rate = 4, 16, 32, 2, 3, 0.3
    q, k, _ = _qkv(rng, b=b, t=t, s=s, n=n, kh=n, h=h)
    eye = numpy.broadcast_to(numpy.eye(s, dtype="float32")[None, :, None, :], (b, s, n, s)).copy()  # O = P̃
    p = nattention.multi_head_attention(q, k, eye).numpy()
    dropped = nattention.multi_head_attention(q, k, eye, dropout=rate, rng=numpy.random.default_rng(5)).numpy()
    again = nattention.multi_head_attention(q, k, eye, dropout=rate, rng=numpy.random.default_rng(5)).numpy()
    numpy.testing.assert_array_equal(dropped, again)  # the same generator state, the same mask
    kept = dropped != 0
    assert abs(1 - kept.mean() - rate) < 0.02, f"dropped fraction {1 - kept.mean():.3f}, rate {rate}"
    numpy.testing.assert_allclose(dropped[kept], p[kept] / (1 - rate), rtol=1e-5)
    # the gradient with the same mask, against torch's autograd through softmax, mask and matmul
    gen = numpy.random.default_rng(9)
    keep = numpy.random.default_rng(9).random((b * n, t, s), dtype=numpy.float32) >= rate
    gy = rng.standard_normal((b, t, n, s)).astype("float32")
    tensors = [nk.Tensor(a, requires_grad=True) for a in (q, k, eye)]
    nattention.multi_head_attention(*tensors, dropout=rate, rng=gen).backward(gy)
    tq, tk, tv = [torch.from_numpy(a).transpose(1, 2).requires_grad_(True) for a in (q, k, eye)]
    probs = torch.softmax(tq @ tk.transpose(-1, -2) / numpy.sqrt(h), dim=-1)
    out = (probs * torch.from_numpy(keep).reshape(b, n, t, s) / (1 - rate)) @ tv
    out.transpose(1, 2).backward(torch.from_numpy(gy))
    for a, ta in zip(tensors, (tq, tk, tv)):
        numpy.testing.assert_allclose(a.grad, ta.grad.transpose(1, 2).numpy(), rtol=1e-4, atol=1e-5)


@keras_api("layers.MultiHeadAttention", "layers.GroupQueryAttention")
def test_attention_layer_dropout_is_seeded_and_active_only_in_training():
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((2, 6, 8)).astype("float32")
    for make in (lambda: layers.MultiHeadAttention(2, 4, dropout=0.5, seed=7),
                 lambda: layers.GroupQueryAttention(4, 4, 2, dropout=0.5, seed=7)):
        a, b = make(), make()
        a(x, x)
        b(x, x)
        b.set_weights(a.get_weights())
        numpy.testing.assert_array_equal(a(x, x, training=True).numpy(), b(x, x, training=True).numpy())
        assert not numpy.allclose(a(x, x, training=True).numpy(), a(x, x, training=False).numpy())
        numpy.testing.assert_array_equal(a(x, x).numpy(), a(x, x, training=False).numpy())


@keras_api("layers.MultiHeadAttention", "layers.GroupQueryAttention", "layers.Attention", "layers.EinsumDense")
def test_attention_layers_refuse_bad_arguments_as_keras_does():
    keras = keras_or_skip()
    x = numpy.zeros((2, 3, 4), "float32")
    bad = [
        (lambda L: L.MultiHeadAttention(num_heads=0, key_dim=2), ValueError),
        (lambda L: L.MultiHeadAttention(num_heads=2, key_dim=2, dropout=0.1, flash_attention=True), ValueError),
        (lambda L: L.MultiHeadAttention(num_heads=2, key_dim=2, attention_axes="1"), ValueError),
        (lambda L: L.MultiHeadAttention(num_heads=2, key_dim=2, sliding_window=0), ValueError),
        (lambda L: L.MultiHeadAttention(2, 2)(x, x, key=numpy.zeros((2, 4, 4), "float32")), ValueError),
        (lambda L: L.GroupQueryAttention(head_dim=2, num_query_heads=3, num_key_value_heads=2), ValueError),
        (lambda L: L.Attention(score_mode="add"), ValueError),
        (lambda L: L.Attention()(x), ValueError),
        (lambda L: L.Attention()([x, x, x, x]), ValueError),
    ]
    for make, error in bad:
        with pytest.raises(error):
            make(keras.layers)
        with pytest.raises(error):
            make(layers)


# ================================================================================================
# Keras's files, both ways
# ================================================================================================
def _attention_model(K):
    tokens = K.Input((6,), dtype="int32")
    x = K.layers.Embedding(10, 8, mask_zero=True)(tokens)
    x = K.layers.MultiHeadAttention(2, 4, name="mha")(x, x)
    x = K.layers.GroupQueryAttention(4, 4, 2, name="gqa")(x, x, use_causal_mask=True)
    y = K.layers.Attention(use_scale=True)([x, x])
    z = K.layers.AdditiveAttention()([x, y])
    z = K.layers.EinsumDense("abc,cd->abd", output_shape=(6, 3), bias_axes="d", activation="tanh")(z)
    return K.Model(tokens, K.layers.GlobalAveragePooling1D()(z))


def _tokens():
    x = numpy.random.default_rng(3).integers(1, 10, (3, 6)).astype("int32")
    x[1, 4:] = 0  # padding
    return x


@keras_api("layers.MultiHeadAttention", "layers.GroupQueryAttention", "layers.Attention",
           "layers.AdditiveAttention", "layers.EinsumDense", "saving.save_model", "saving.load_model")
def test_attention_models_move_between_keras_and_neuronka_files(tmp_path):
    import h5py

    keras = keras_or_skip()
    x = _tokens()
    try:
        km, nm = _attention_model(keras), _attention_model(nk)
        rng = numpy.random.default_rng(4)
        km.set_weights([(rng.standard_normal(tuple(w.shape)) * 0.5).astype("float32") for w in km.weights])
        km.save_weights(tmp_path / "k.weights.h5")
        nm.load_weights(tmp_path / "k.weights.h5")
        expected = km.predict(x, verbose=0)
        numpy.testing.assert_allclose(nm.predict(x, verbose=0), expected, rtol=2e-4, atol=2e-5)
        nm.save_weights(tmp_path / "n.weights.h5")

        def tree(path):
            out = {}
            with h5py.File(path, "r") as f:
                f.visititems(lambda name, o: out.__setitem__(name, o.shape) if isinstance(o, h5py.Dataset) else None)
            return out
        assert tree(tmp_path / "n.weights.h5") == tree(tmp_path / "k.weights.h5")

        km.save(tmp_path / "k.keras")
        loaded = nk.saving.load_model(tmp_path / "k.keras")
        numpy.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=2e-4, atol=2e-5)
        assert [type(la).__name__ for la in loaded.layers] == [type(la).__name__ for la in km.layers]
        loaded.save(tmp_path / "n.keras")
        back = keras.saving.load_model(tmp_path / "n.keras")
        numpy.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=2e-4, atol=2e-5)
    finally:
        keras.backend.clear_session(free_memory=False)


@keras_api("layers.MultiHeadAttention")
def test_multi_head_attention_leaves_the_masks_of_its_inputs_where_keras_deletes_them():
    keras = keras_or_skip()
    torch = torch_or_skip()
    x = numpy.random.default_rng(0).standard_normal((2, 4, 6)).astype("float32")
    mask = numpy.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    ours, theirs = nk.Tensor(x), torch.from_numpy(x)
    ours._keras_mask, theirs._keras_mask = mask, torch.from_numpy(mask)
    y = layers.MultiHeadAttention(2, 3)(ours, ours)
    ky = keras.layers.MultiHeadAttention(2, 3)(theirs, theirs)
    numpy.testing.assert_array_equal(y._keras_mask, mask)  # both outputs carry the query's mask
    numpy.testing.assert_array_equal(ky._keras_mask.numpy(), mask)
    assert ours._keras_mask is mask  # neuronka's input keeps its mask (a residual Add after it still sees it)
    assert getattr(theirs, "_keras_mask", None) is None  # Keras's deletes it: the documented difference
    keras.backend.clear_session(free_memory=False)
