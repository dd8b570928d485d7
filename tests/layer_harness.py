"""The shared layer test harness: one function checks the whole Keras layer contract, one row per layer,
with real Keras 3.15.1 (torch backend) as the oracle of what a layer must do.

Adding a layer to the test suite is adding a row to a table::

    from .layer_harness import LayerCase, layer_cases

    CASES = [
        LayerCase("dense", layers.Dense, {"units": 3}, (2, 4), keras=True, gradcheck=True),
        LayerCase("dense_relu_3d", layers.Dense, {"units": 5, "activation": "relu"}, (2, 3, 4), keras=True),
        LayerCase("flatten", layers.Flatten, {}, (2, 3, 4), expected_output_shape=(2, 12),
                  torch_equivalent=lambda layer: (lambda x: x.flatten(1), None, None)),
    ]

    @layer_cases(CASES)
    def test_layer_contract(case):
        case.run()

**Adding a Keras layer (the usual case)**: one row per argument set with ``keras=True`` — several rows per
layer (default arguments, every option that changes the computation: strides/padding/data_format,
activation, use_bias, regularizers/initializers/constraints, masks, return_sequences...), small shapes,
``gradcheck=True`` on one of them. ``layer_cases`` then marks the row ``keras_api("layers.<Name>")`` (the
coverage report, ``python tools/keras_coverage.py --namespaces layers``, counts the name once a marked row
passes). The Keras comparison (``tests/layer_harness_keras.py``) builds ``keras.layers.<Name>(**init_kwargs)``
and asserts, for the row:

a. ``get_config()`` equal to Keras's, unbuilt and built: the same keys **in Keras's order** and values after
   JSON (nested dicts too; layer names are compared without their ``_<n>`` counters); ``from_config`` on each
   side rebuilds from the other side's config; ``serialize_keras_object`` equal on both sides and each side's
   ``deserialize_keras_object`` reads the other's; ``get_build_config()`` equal;
b. the same weights — names, paths below the layer, shapes, **order** (``layer.weights``), trainable split,
   ``count_params()`` — after which neuronka's (perturbed) weights are copied into Keras's in that order;
c. ``compute_output_shape`` equal for the batch-None input shapes;
d. float32 outputs (shape, dtype, values) equal at inference — and with ``keras_training=True`` also in
   training mode (only where training is deterministic: BatchNormalization, rate-0 dropout), the
   weights after the call (moving statistics) equal too; ``layer.losses`` equal (activity and weight
   regularization); the masks attached to the outputs and ``compute_mask`` equal;
e. float32 gradients of every float input and trainable weight equal to Keras's (torch autograd through
   the Keras layer), for the same random output gradient.

Knobs of a Keras row (all optional): ``keras_kwargs`` (Keras's constructor arguments when they cannot be
the same objects: a dict, or ``keras -> dict``, e.g. ``lambda keras: {"layer": keras.layers.LSTM(3)}`` for
Bidirectional), ``keras_name`` (the Keras class when its name differs), ``keras_training``,
``keras_mask_maker(rng, shapes) -> mask`` (a bool mask, or one per input, attached to the inputs as a
previous masking layer would), ``keras_call_kwargs`` (other call arguments, the same on both sides),
``keras_config_extras`` (config keys neuronka adds deliberately — each documented in the layer's
docstring), ``keras_check_grads=False``, ``keras_rtol``/``keras_atol`` (default 1e-4/1e-5).
``init_kwargs`` may be a function returning fresh arguments (``lambda: {"cell": layers.LSTMCell(3)}``) when
they hold objects that must not be shared between the layers the harness builds. A layer Keras cannot
run on its torch backend (TextVectorization needs TensorFlow) gets rows without ``keras=True``.
Worked examples: ``tests/test_layers_keras_*.py`` (core, convolutional, pooling, normalization,
regularization, reshaping, merging, recurrent, embedding/preprocessing, base).

``run_layer_test(layer_cls, init_kwargs, input_shape, ...)`` (what ``LayerCase.run`` calls) builds
``layer_cls(**init_kwargs)`` on random inputs of ``input_shape`` (batch axis included; a list of shapes
for a layer taking a list of inputs, such as ``Add``) and checks, in this order:

1. **shapes**: for every mode in ``training_modes`` the output shape equals ``compute_output_shape``
   (and ``expected_output_shape`` when given); calling the layer on symbolic ``Input`` tensors (batch
   axis None) gives a ``KerasTensor`` of the same shape with batch None; float32 in gives the layer's
   compute dtype out (float32 unless the row passes ``dtype``).
2. **weights**: ``expected_num_trainable_weights``, ``expected_num_non_trainable_weights``,
   ``expected_num_params`` (``count_params()``).
3. **config round trip**: ``get_config()`` survives JSON, names every argument of ``init_kwargs``, and
   ``layer_cls.from_config(config)`` rebuilds a layer with the same config which, after
   ``set_weights(layer.get_weights())``, gives the same inference outputs.
4. **gradients flow**: a backward with a random output gradient, in every mode of ``training_modes``,
   leaves a gradient on every float input (unless ``check_input_grads=False``) and on every trainable
   weight.
5. **training flag**: at inference two calls give the same output; with ``training_changes_output=True``
   (dropout-like layers) a training call differs from the inference one, with ``False`` it equals it.
6. **PyTorch** (when ``torch_equivalent`` is given; float32): the forward output, the input gradients and
   the weight gradients equal PyTorch's, for every mode of ``torch_training_modes``.
7. **float64** (``gradcheck=True``; keep the shapes small): the layer built with ``dtype="float64"`` and
   the same weights returns float64, and its input and weight gradients match central differences.
8. **real Keras** (``keras=True``, see above).

The PyTorch side is described by two callables:

``torch_equivalent(layer) -> (torch_module_or_fn, to_torch_input, from_torch_output)``
    Called on the built neuronka layer (its weights already perturbed away from their initial values):
    it returns the torch module (with the layer's weights copied in, e.g. with :func:`copy_into`) or a
    plain function of torch tensors; ``to_torch_input`` maps one input, a torch tensor in neuronka's
    layout, to the torch layout (e.g. :func:`channels_last_to_first`); ``from_torch_output`` maps the
    torch output back (e.g. :func:`channels_first_to_last`). ``None`` means identity. Both must be
    torch ops, so that the input gradients come back in neuronka's layout on their own. A layer taking a
    list of inputs has the torch callable called with one positional argument per input.
``weight_map(layer, torch_module) -> list of (neuronka_variable, torch_grad_fn)``
    After the torch backward, ``torch_grad_fn()`` returns that weight's gradient in neuronka's layout
    (e.g. ``lambda: linear.weight.grad.T`` for a Dense kernel, or ``grad_of(linear.weight, lambda g: g.T)``,
    which also fails clearly when torch computed no gradient). When a torch equivalent is given, every
    trainable weight must be listed: the harness refuses to compare a layer whose weight gradients
    would go unchecked.
``state_map(layer, torch_module) -> list of (neuronka_variable, torch_value_fn)`` (optional)
    Non-trainable state compared after each torch-compared call (BatchNorm's moving statistics).

Other knobs: ``input_maker(rng, shape) -> array`` (default standard normal float32; use it for
integer or positive inputs), ``check_input_grads=False`` (integer inputs, e.g. Embedding),
``check_symbolic=False``, ``perturb_weights`` (default on: add N(0, 0.1²) noise to the trainable weights
before any comparison so that zero-initialized biases and slopes are really checked), ``rtol``/``atol``
for PyTorch, ``seed``; on a row, ``marks=`` (pytest marks, e.g. a ``skipif``).

Helpers for the torch side: :func:`channels_last_to_first`, :func:`channels_first_to_last`,
:func:`copy_into` (write a neuronka weight into a torch parameter), :func:`grad_of` (a ``torch_grad_fn``).
Worked examples: ``tests/test_layers_core.py`` (Dense ↔ nn.Linear, PReLU ↔ nn.PReLU on channels_first).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy
import pytest

import neuronka as nk
from neuronka import ops
from neuronka.layers import Input, KerasTensor

from .keras_oracle import keras_api
from .layer_harness_keras import KerasCheck, compare_with_keras
from .oracles import ORACLE_SKIP_PREFIX, missing, torch_or_skip

Shape = tuple


# ----------------------------------------------------------------------------------
# layout and weight-copying helpers for torch_equivalent / weight_map
# ----------------------------------------------------------------------------------
def channels_last_to_first(x):
    """(N, ..., C) → (N, C, ...): neuronka's channels_last input to torch's channels_first."""
    return x.movedim(-1, 1)


def channels_first_to_last(x):
    """(N, C, ...) → (N, ..., C): torch's output back to neuronka's layout."""
    return x.movedim(1, -1)


def copy_into(torch_param, array) -> None:
    """Overwrite a torch parameter/buffer in place with a (neuronka or NumPy) array, keeping its dtype."""
    torch = torch_or_skip()
    value = torch.from_numpy(numpy.array(numpy.asarray(array), dtype=numpy.float32))
    with torch.no_grad():
        torch_param.copy_(value.reshape(torch_param.shape))


def grad_of(torch_param, to_neuronka: Callable | None = None) -> Callable[[], numpy.ndarray]:
    """A ``torch_grad_fn`` for ``weight_map``: the parameter's ``.grad``, mapped to neuronka's layout."""

    def fn():
        g = torch_param.grad
        if g is None:
            raise AssertionError(f"PyTorch gave no gradient for a parameter of shape {tuple(torch_param.shape)}")
        return (to_neuronka(g) if to_neuronka else g).detach().numpy()

    return fn


# ----------------------------------------------------------------------------------
# the harness
# ----------------------------------------------------------------------------------
def standard_normal(rng, shape):
    return rng.standard_normal(shape).astype(numpy.float32)


def _is_shape_list(input_shape) -> bool:
    return isinstance(input_shape, list) and bool(input_shape) and isinstance(input_shape[0], (tuple, list))


def _flat(struct) -> list:
    if isinstance(struct, (list, tuple)):
        return [x for s in struct for x in _flat(s)]
    return [struct]


def _is_float(a) -> bool:
    return numpy.issubdtype(numpy.asarray(a).dtype, numpy.floating)


def _to_tensors(arrays, requires_grad: bool):
    return [nk.Tensor(a.copy(), requires_grad=requires_grad and _is_float(a)) for a in arrays]


def _layer_inputs(tensors, many: bool):
    return list(tensors) if many else tensors[0]


def _shape_tuple(shape):
    return tuple(None if s is None else int(s) for s in shape)


def _json_normalized(config: dict) -> Any:
    return json.loads(json.dumps(config))


def _backward_random(outputs, rng) -> None:
    """Contract the outputs with random gradients and run the backward pass."""
    outs = [o for o in _flat(outputs) if isinstance(o, nk.Tensor) and o.requires_grad]
    if not outs:
        return
    grads = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]
    if len(outs) == 1:
        outs[0].backward(grads[0])
        return
    total = None
    for o, g in zip(outs, grads):
        term = ops.sum(ops.multiply(o, g))
        total = term if total is None else total + term
    total.backward()


def _zero_grads(layer, tensors) -> None:
    for w in layer.weights:
        w.grad = None
    for t in tensors:
        t.grad = None


def run_layer_test(
    layer_cls: type,
    init_kwargs: dict | None = None,
    input_shape: Shape | list[Shape] | None = None,
    *,
    expected_output_shape: Shape | list[Shape] | None = None,
    expected_num_trainable_weights: int | None = None,
    expected_num_non_trainable_weights: int | None = None,
    expected_num_params: int | None = None,
    torch_equivalent: Callable | None = None,
    weight_map: Callable | None = None,
    state_map: Callable | None = None,
    training_modes: Sequence[bool] = (False,),
    torch_training_modes: Sequence[bool] = (False,),
    training_changes_output: bool | None = None,
    input_maker: Callable | None = None,
    check_input_grads: bool = True,
    check_symbolic: bool = True,
    gradcheck: bool = False,
    perturb_weights: bool = True,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    seed: int = 0,
    keras: bool = False,
    keras_name: str | None = None,
    keras_kwargs: dict | Callable | None = None,
    keras_training: bool = False,
    keras_config_extras: Sequence[str] = (),
    keras_mask_maker: Callable | None = None,
    keras_call_kwargs: dict | None = None,
    keras_check_grads: bool = True,
    keras_rtol: float = 1e-4,
    keras_atol: float = 1e-5,
) -> Any:
    """Check the Keras layer contract of ``layer_cls(**init_kwargs)`` (see the module docstring).

    Returns the built layer, for extra checks by the caller.
    """
    make_kwargs = init_kwargs if callable(init_kwargs) else (lambda: dict(init_kwargs or {}))
    init_kwargs = make_kwargs()
    many = _is_shape_list(input_shape)
    shapes = [tuple(s) for s in input_shape] if many else [tuple(input_shape)]
    rng = numpy.random.default_rng(seed)
    maker = input_maker or standard_normal
    arrays = [numpy.asarray(maker(rng, s)) for s in shapes]
    arrays = [a.astype(numpy.float32) if a.dtype == numpy.float64 else a for a in arrays]
    what = f"{layer_cls.__name__}({', '.join(f'{k}={v!r}' for k, v in init_kwargs.items())})"

    layer = layer_cls(**make_kwargs())
    first = layer(_layer_inputs(_to_tensors(arrays, False), many), training=False)
    assert layer.built, f"{what}: not built after its first call"
    if perturb_weights:
        for w in layer.trainable_weights:
            w.assign(w.numpy() + 0.1 * rng.standard_normal(w.shape).astype(w.dtype))

    # 1. shapes ----------------------------------------------------------------------------
    declared = layer.compute_output_shape(shapes if many else shapes[0])
    for mode in training_modes:
        out = layer(_layer_inputs(_to_tensors(arrays, False), many), training=mode)
        got = [tuple(o.shape) for o in _flat(out)]
        want = [_shape_tuple(s) for s in _flat_shapes(declared)]
        assert got == want, f"{what}, training={mode}: output shapes {got} but compute_output_shape says {want}"
        if expected_output_shape is not None:
            exp = expected_output_shape if _is_shape_list(expected_output_shape) else [expected_output_shape]
            assert got == [tuple(s) for s in exp], f"{what}: output shapes {got}, expected {exp}"
        for a, o in zip(arrays, _flat(out)):
            if a.dtype == numpy.float32:  # float inputs are cast to the layer's dtype (float32 by default)
                assert o.dtype == layer.compute_dtype, f"{what}: float32 in, {o.dtype} out, layer dtype {layer.dtype}"
    if check_symbolic:
        sym_in = [Input(batch_shape=(None, *s[1:]), dtype=str(a.dtype)) for s, a in zip(shapes, arrays)]
        sym_out = layer(sym_in if many else sym_in[0])
        real = [tuple(o.shape) for o in _flat(first)]
        for s, r in zip(_flat(sym_out), real):
            assert isinstance(s, KerasTensor), f"{what}: a symbolic call returned {type(s).__name__}, not KerasTensor"
            assert s.shape == (None, *r[1:]), f"{what}: symbolic output shape {s.shape}, expected {(None, *r[1:])}"
        unbatched = layer.compute_output_shape([(None, *s[1:]) for s in shapes] if many else (None, *shapes[0][1:]))
        for s in _flat_shapes(unbatched):
            assert s[0] is None, f"{what}: compute_output_shape lost the unknown batch axis: {unbatched}"

    # 2. weights ------------------------------------------------------------------------------
    if expected_num_trainable_weights is not None:
        n = len(layer.trainable_weights)
        assert n == expected_num_trainable_weights, (
            f"{what}: {n} trainable weights, expected {expected_num_trainable_weights}")
    if expected_num_non_trainable_weights is not None:
        n = len(layer.non_trainable_weights)
        assert n == expected_num_non_trainable_weights, (
            f"{what}: {n} non-trainable weights, expected {expected_num_non_trainable_weights}")
    if expected_num_params is not None:
        assert layer.count_params() == expected_num_params, (
            f"{what}: {layer.count_params()} parameters, expected {expected_num_params}")

    # 3. config round trip ------------------------------------------------------------------------
    config = layer.get_config()
    try:
        json_config = _json_normalized(config)
    except TypeError as e:
        raise AssertionError(f"{what}: get_config() is not JSON-serializable: {e}\n{config}") from None
    for key in init_kwargs:
        if key not in ("input_shape", "input_dim", "batch_input_shape"):
            assert key in config, f"{what}: get_config() forgot the argument {key!r}: {sorted(config)}"
    clone = layer_cls.from_config(json_config)
    assert _json_normalized(clone.get_config()) == json_config, (
        f"{what}: from_config(get_config()) rebuilt a layer with another config:\n"
        f"{clone.get_config()}\nvs\n{config}")
    clone(_layer_inputs(_to_tensors(arrays, False), many), training=False)
    clone.set_weights(layer.get_weights())
    y1 = layer(_layer_inputs(_to_tensors(arrays, False), many), training=False)
    y2 = clone(_layer_inputs(_to_tensors(arrays, False), many), training=False)
    for a, b in zip(_flat(y1), _flat(y2)):
        numpy.testing.assert_allclose(numpy.asarray(b), numpy.asarray(a), rtol=1e-6, atol=1e-6,
                                      err_msg=f"{what}: the rebuilt layer computes something else")

    # 4. gradients flow --------------------------------------------------------------------------
    for mode in training_modes:
        tensors = _to_tensors(arrays, True)
        _zero_grads(layer, tensors)
        out = layer(_layer_inputs(tensors, many), training=mode)
        _backward_random(out, rng)
        if check_input_grads:
            for i, t in enumerate(tensors):
                if t.requires_grad:
                    assert t.grad is not None, f"{what}, training={mode}: no gradient reached input {i}"
        for w in layer.trainable_weights:
            assert w.grad is not None, f"{what}, training={mode}: no gradient reached the weight {w.path}"
            assert w.grad.shape == w.shape, f"{what}: gradient of {w.path} has shape {w.grad.shape}, not {w.shape}"
        _zero_grads(layer, tensors)

    # 5. training flag ---------------------------------------------------------------------------
    # (fresh calls: training calls above may have moved state such as BatchNorm's moving statistics)
    inferred = layer(_layer_inputs(_to_tensors(arrays, False), many), training=False)
    again = layer(_layer_inputs(_to_tensors(arrays, False), many), training=False)
    for a, b in zip(_flat(inferred), _flat(again)):
        numpy.testing.assert_array_equal(numpy.asarray(b), numpy.asarray(a),
                                         err_msg=f"{what}: inference is not deterministic")
    if training_changes_output is not None:
        trained = layer(_layer_inputs(_to_tensors(arrays, False), many), training=True)
        same = all(numpy.array_equal(numpy.asarray(a), numpy.asarray(b))
                   for a, b in zip(_flat(inferred), _flat(trained)))
        if training_changes_output:
            assert not same, f"{what}: training=True gave the inference output; expected a training-time effect"
        else:
            assert same, f"{what}: training=True changed the output; expected none"

    # an oracle that is not installed (or switched off by NEURONKA_TEST_WITHOUT) skips its comparison only:
    # the checks after it still run, and the row is reported skipped, naming what was not compared
    not_compared = []

    # 6. PyTorch ----------------------------------------------------------------------------------
    if torch_equivalent is not None:
        reason = missing("torch")
        if reason:
            not_compared.append(f"PyTorch ({reason})")
        else:
            for mode in torch_training_modes:
                _compare_with_torch(layer, arrays, many, mode, torch_equivalent, weight_map, state_map, rng,
                                    rtol, atol, check_input_grads, what)

    # 7. float64 central differences ---------------------------------------------------------------
    if gradcheck:
        _gradcheck_float64(layer_cls, make_kwargs(), layer, arrays, many, rng, check_input_grads, what)

    # 8. real Keras -----------------------------------------------------------------------------------
    if keras or keras_name is not None or keras_kwargs is not None:
        reason = missing("keras")
        if reason:
            not_compared.append(f"Keras ({reason})")
        else:
            check = KerasCheck(name=keras_name, kwargs=keras_kwargs, training=keras_training,
                               config_extras=tuple(keras_config_extras), mask_maker=keras_mask_maker,
                               call_kwargs=dict(keras_call_kwargs or {}), check_grads=keras_check_grads,
                               rtol=keras_rtol, atol=keras_atol)
            compare_with_keras(layer, layer_cls, make_kwargs, arrays, many, rng, check, what)
    if not_compared:
        ran = "shapes, weights, config round trip, gradient flow, training flag" + (
            ", float64 gradcheck" if gradcheck else "")
        pytest.skip(f"{ORACLE_SKIP_PREFIX} ({ran}); not compared with " + "; ".join(not_compared))
    return layer


def _gradcheck_float64(layer_cls, init_kwargs, layer, arrays, many, rng, check_input_grads, what,
                       eps: float = 1e-6, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """The same layer built in float64 with the same weights: analytic input and weight gradients against
    central differences (∂L/∂θ ≈ (L(θ + h) − L(θ − h))/2h, L = Σ g·y), at inference."""
    layer64 = layer_cls(**{**init_kwargs, "dtype": "float64"})
    xs = [a.astype(numpy.float64) if _is_float(a) else a for a in arrays]
    layer64(_layer_inputs(_to_tensors(xs, False), many), training=False)
    layer64.set_weights([w.astype(numpy.float64) for w in layer.get_weights()])
    outs = _flat(layer64(_layer_inputs(_to_tensors(xs, False), many), training=False))
    for o in outs:
        assert o.dtype == numpy.float64, f"{what}: built with dtype='float64' and fed float64, returned {o.dtype}"
    gys = [rng.standard_normal(o.shape) for o in outs]

    def loss(values=None) -> float:
        with nk.no_grad():
            ys = _flat(layer64(_layer_inputs(_to_tensors(values or xs, False), many), training=False))
        return float(sum((numpy.asarray(y.numpy(), dtype=numpy.float64) * g).sum() for y, g in zip(ys, gys)))

    tensors = _to_tensors(xs, True)
    _zero_grads(layer64, tensors)
    ys = _flat(layer64(_layer_inputs(tensors, many), training=False))
    total = None
    for y, g in zip(ys, gys):
        if y.requires_grad:
            term = ops.sum(ops.multiply(y, g))
            total = term if total is None else total + term
    assert total is not None, (f"{what}: gradcheck=True but no float64 output carries a gradient: nothing would be "
                               f"checked")
    total.backward()

    def numeric(array) -> numpy.ndarray:
        grad = numpy.zeros(array.shape, dtype=numpy.float64)
        flat, g = array.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = loss()
            flat[i] = old - eps
            minus = loss()
            flat[i] = old
            g[i] = (plus - minus) / (2 * eps)
        return grad

    if check_input_grads:
        for i, (x, t) in enumerate(zip(xs, tensors)):
            if t.requires_grad:
                numpy.testing.assert_allclose(numpy.asarray(t.grad), numeric(x), rtol=rtol, atol=atol,
                                              err_msg=f"{what}: float64 gradient of input {i} vs central differences")
    for w in layer64.trainable_weights:
        numpy.testing.assert_allclose(numpy.asarray(w.grad), numeric(w.data), rtol=rtol, atol=atol,
                                      err_msg=f"{what}: float64 gradient of {w.path} vs central differences")


def _numpy(value) -> numpy.ndarray:
    """A torch tensor (detached) or an array-like as a NumPy array."""
    return value.detach().cpu().numpy() if hasattr(value, "detach") else numpy.asarray(value)


def _flat_shapes(shapes) -> list[tuple]:
    if isinstance(shapes, (tuple, list)) and all(isinstance(s, (int, type(None))) for s in shapes):
        return [tuple(shapes)]
    return [s for x in shapes for s in _flat_shapes(x)]


def _compare_with_torch(layer, arrays, many, mode, torch_equivalent, weight_map, state_map, rng, rtol, atol,
                        check_input_grads, what) -> None:
    torch = torch_or_skip()
    module, to_torch, from_torch = torch_equivalent(layer)
    to_torch = to_torch or (lambda x: x)
    from_torch = from_torch or (lambda y: y)
    if isinstance(module, torch.nn.Module):
        module.train(mode)
    pairs = weight_map(layer, module) if weight_map is not None else []
    mapped = {id(v) for v, _ in pairs}
    unmapped = [w.path for w in layer.trainable_weights if id(w) not in mapped]
    assert not unmapped, (f"{what}: torch_equivalent given but weight_map does not map the trainable weights "
                          f"{unmapped}; their gradients would go unchecked")
    states = state_map(layer, module) if state_map is not None else []

    tensors = _to_tensors(arrays, True)
    _zero_grads(layer, tensors)
    y = layer(_layer_inputs(tensors, many), training=mode)
    t_in = [torch.from_numpy(a.copy()).requires_grad_(_is_float(a)) for a in arrays]
    t_y = from_torch(module(*[to_torch(t) for t in t_in]))
    ys, tys = _flat(y), _flat(t_y)
    assert len(ys) == len(tys), f"{what}: {len(ys)} outputs, PyTorch gave {len(tys)}"
    for i, (a, b) in enumerate(zip(ys, tys)):
        numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=rtol, atol=atol,
                                      err_msg=f"{what}, training={mode}: forward output {i} differs from PyTorch")
    grads = [rng.standard_normal(o.shape).astype(numpy.float32) for o in ys]
    total = None
    for o, g in zip(ys, grads):
        if o.requires_grad:
            term = ops.sum(ops.multiply(o, g))
            total = term if total is None else total + term
    if total is not None:
        total.backward()
        t_total = sum((o * torch.from_numpy(g)).sum() for o, g in zip(tys, grads) if o.requires_grad)
        t_total.backward()
        if check_input_grads:
            for i, (t, tt) in enumerate(zip(tensors, t_in)):
                if t.requires_grad:
                    assert t.grad is not None and tt.grad is not None, f"{what}: no gradient for input {i}"
                    assert t.grad.dtype == t.dtype, f"{what}: a {t.grad.dtype} gradient for a {t.dtype} input {i}"
                    numpy.testing.assert_allclose(numpy.asarray(t.grad), tt.grad.numpy(), rtol=rtol, atol=atol,
                                                  err_msg=f"{what}, training={mode}: gradient of input {i}")
        for var, grad_fn in pairs:
            assert var.grad is not None, f"{what}: no gradient for {var.path}"
            assert var.grad.dtype == var.dtype, f"{what}: a {var.grad.dtype} gradient for the {var.dtype} {var.path}"
            numpy.testing.assert_allclose(numpy.asarray(var.grad), _numpy(grad_fn()), rtol=rtol, atol=atol,
                                          err_msg=f"{what}, training={mode}: gradient of {var.path}")
    for var, value_fn in states:
        numpy.testing.assert_allclose(var.numpy(), _numpy(value_fn()), rtol=rtol, atol=atol,
                                      err_msg=f"{what}, training={mode}: state {var.path} differs from PyTorch")
    _zero_grads(layer, tensors)


# ----------------------------------------------------------------------------------
# the table row
# ----------------------------------------------------------------------------------
class LayerCase:
    """One row of a layer table: an id, the layer, its arguments, the input shape(s) (batch axis included),
    optional pytest ``marks``, and the checks (any keyword argument of :func:`run_layer_test`)."""

    def __init__(self, id: str, layer_cls: type, init_kwargs: dict | None = None,  # noqa: A002
                 input_shape: Shape | list[Shape] = (2, 3), marks=(), **checks):
        self.id, self.layer_cls, self.input_shape = id, layer_cls, input_shape
        self.init_kwargs = init_kwargs if callable(init_kwargs) else dict(init_kwargs or {})
        self.marks = marks  # pytest marks for this row (e.g. a skipif while a dependency is missing)
        self.checks = checks

    def __repr__(self) -> str:
        return f"LayerCase({self.id!r}, {self.layer_cls.__name__}, {self.input_shape})"

    def run(self):
        return run_layer_test(self.layer_cls, self.init_kwargs, self.input_shape, **self.checks)

    @property
    def compares_with_torch(self) -> bool:
        return self.checks.get("torch_equivalent") is not None

    @property
    def keras_api_name(self) -> str | None:
        """``"layers.<Name>"`` when the row compares with Keras (the coverage marker), else None."""
        c = self.checks
        if not (c.get("keras") or c.get("keras_name") is not None or c.get("keras_kwargs") is not None):
            return None
        return f"layers.{c.get('keras_name') or self.layer_cls.__name__}"


def layer_cases(cases: Sequence[LayerCase]):
    """``@layer_cases(CASES)``: parametrize a test over a table, one test id per row; a row compared with
    Keras carries the ``keras_api("layers.<Name>")`` marker."""
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"layer_cases: row ids must be unique, received duplicates {dupes}")
    params = []
    for c in cases:
        marks = list(c.marks) if isinstance(c.marks, (list, tuple)) else [c.marks]
        if c.keras_api_name:
            marks.append(keras_api(c.keras_api_name))
        params.append(pytest.param(c, id=c.id, marks=marks))
    return pytest.mark.parametrize("case", params)
