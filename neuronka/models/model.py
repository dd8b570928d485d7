"""``keras.Model``: a layer that trains — ``compile``, ``fit``, ``evaluate``, ``predict``.

The training step, for a batch (x, y, w):

    ŷ = model(x, training=True)
    L = Σₒ λₒ · lossₒ(yₒ, ŷₒ, w) + Σ regularization losses       (λₒ: ``loss_weights``)
    backward: dL/dθ for every trainable weight θ
    optimizer: θ ← update(θ, dL/dθ); then θ ← constraint(θ) where a weight has one
    metrics updated on (y, ŷ) (weighted metrics also with w)

Three ways to build a model, as in Keras: subclass :class:`Model` (layers made in
``__init__``, the computation in ``call``); ``Model(inputs, outputs)`` on symbolic
tensors (:mod:`.functional`); :class:`~neuronka.models.sequential.Sequential`.

Data for ``fit``/``evaluate``/``predict``: NumPy arrays (or lists / dicts of them for several
inputs or outputs), a Python generator or iterable of ``(x, y)`` / ``(x, y, sample_weight)``
batches, or an object with ``__len__``/``__getitem__`` returning batches (Keras's ``PyDataset``).
"""
from __future__ import annotations

import copy
import inspect
import math
import warnings
from typing import Any

import numpy

from .. import config as _config
from .. import metrics as metrics_module
from .. import random as _random
from ..autograd import Tensor, no_grad
from ..backend import asnumpy, floatx
from ..layers import base as _base
from ..layers.base import Layer
from . import replay

# Classes registered by ``neuronka.saving.register_keras_serializable``: name (and "package>Name") → class.
CUSTOM_OBJECTS: dict[str, Any] = {}


# ==================================================================================
# layer classes by name, and layer (de)serialization
# ==================================================================================
def _model_classes() -> dict[str, type]:
    from .functional import Functional  # noqa: PLC0415
    from .sequential import Sequential  # noqa: PLC0415

    return {"Model": Model, "Functional": Functional, "Sequential": Sequential}


def get_layer_class(name: str, custom_objects: dict | None = None) -> type:
    """The layer (or model) class called ``name``: ``custom_objects``, neuronka's layers, its models,
    then the classes registered with ``neuronka.saving.register_keras_serializable`` (:data:`CUSTOM_OBJECTS`).
    """
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    from .. import layers  # noqa: PLC0415

    registry = layers._registry()
    if name in registry:
        return registry[name]
    models = _model_classes()
    if name in models:
        return models[name]
    if name in CUSTOM_OBJECTS:
        return CUSTOM_OBJECTS[name]
    for key, obj in CUSTOM_OBJECTS.items():  # "package>Name" registered, looked up by "Name"
        if key.split(">")[-1] == name:
            return obj
    raise ValueError(
        f"Unknown layer: '{name}'. Could not locate class '{name}'. Make sure custom classes are decorated "
        f"with `@neuronka.saving.register_keras_serializable()` or passed in `custom_objects`."
    )


def _registered_name(cls) -> str | None:
    for key, obj in CUSTOM_OBJECTS.items():
        if obj is cls and ">" in key:
            return key
    return None


def _jsonable_shape(shape):
    if isinstance(shape, dict):
        return {k: _jsonable_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_jsonable_shape(s) for s in shape]
    return None if shape is None else int(shape)


def to_shape(shape):
    """A shape (tuple) or a structure of shapes (list/dict of tuples) from its JSON form."""
    if isinstance(shape, dict):
        return {k: to_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        if all(s is None or isinstance(s, (int, numpy.integer)) for s in shape):
            return tuple(None if s is None else int(s) for s in shape)
        return [to_shape(s) for s in shape]
    return shape


def layer_build_config(layer: Layer) -> dict | None:
    """Keras's ``build_config`` of a layer: ``{"input_shape": ...}`` when the layer is built and has a ``build`` of
    its own (a layer with the default build — Dropout, Flatten in Keras — has none); a model's own."""
    getter = getattr(layer, "get_build_config", None)
    if callable(getter):
        return getter()
    shape = getattr(layer, "_build_input_shape", None)
    if not layer.built or shape is None or type(layer).build is Layer.build:
        return None
    return {"input_shape": _jsonable_shape(shape)}


def serialize_layer(layer: Layer) -> dict:
    """Keras 3's form of a layer: ``{"module", "class_name", "config", "registered_name"[, "build_config"]}``,
    with Keras's public module names (``"keras.layers"``) and a registered class's ``"package>Name"``."""
    from ..serialization import serialize_keras_object  # noqa: PLC0415 - serialization imports the models

    out = serialize_keras_object(layer)  # a model's comes with its build_config and compile_config
    if out.get("registered_name") is None:  # a class put in CUSTOM_OBJECTS under "package>Name" by hand
        out["registered_name"] = _registered_name(type(layer))
    if "build_config" not in out:
        build = layer_build_config(layer)
        if build is not None:
            out["build_config"] = build
    return out


def deserialize_layer(config: dict, custom_objects: dict | None = None) -> Layer:
    """A layer from :func:`serialize_layer`'s dict; the class is found by name (never imported from the dict)."""
    if isinstance(config, Layer):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize_layer: expected a dict with 'class_name' and 'config', received {config!r}")
    if str(config.get("module", "")).startswith("keras.src.ops."):  # an op on symbolic tensors (Keras's form)
        from ..layers.operation import OperationLayer  # noqa: PLC0415

        return OperationLayer.from_keras_config(config["class_name"], config.get("config") or {})
    cls = None
    registered = config.get("registered_name")
    if registered:
        cls = (custom_objects or {}).get(registered) or CUSTOM_OBJECTS.get(registered)
    if cls is None:
        cls = get_layer_class(config["class_name"], custom_objects)
    inner = copy.deepcopy(config.get("config") or {})
    if custom_objects and hasattr(cls, "from_config") and "custom_objects" in inspect.signature(
            cls.from_config).parameters:
        layer = cls.from_config(inner, custom_objects=custom_objects)
    else:
        layer = cls.from_config(inner)
    build = config.get("build_config")
    if build and build.get("input_shape") is not None and not layer.built:
        shape = to_shape(build["input_shape"])
        layer.build(shape)
        layer.built = True
        layer._build_input_shape = shape
    return layer


# ==================================================================================
# nested structures of arrays (x, y, sample weights, outputs)
# ==================================================================================
def _flat(s) -> list:
    """Leaves of a list/tuple/dict structure, dicts in insertion order."""
    if isinstance(s, (list, tuple)):
        return [x for e in s for x in _flat(e)]
    if isinstance(s, dict):
        return [x for v in s.values() for x in _flat(v)]
    return [s]


def _pack(like, leaves):
    """The inverse of :func:`_flat`: ``leaves`` put back in the structure of ``like``."""
    it = iter(leaves)

    def rec(s):
        if isinstance(s, (list, tuple)):
            return type(s)(rec(e) for e in s)
        if isinstance(s, dict):
            return {k: rec(v) for k, v in s.items()}
        return next(it)

    return rec(like)


def _is_arraylike(v) -> bool:
    return isinstance(v, (numpy.ndarray, Tensor)) or (hasattr(v, "__array__") and hasattr(v, "shape"))


def _to_numpy(v):
    if v is None:
        return None
    a = asnumpy(v.data) if isinstance(v, Tensor) else numpy.asarray(v)
    if a.dtype == object:
        raise ValueError(f"Expected numeric arrays as model data, received an object array of shape {a.shape}")
    if a.dtype.kind == "f" and a.dtype != numpy.dtype(floatx()):
        a = a.astype(floatx())  # Keras casts every float input to floatx
    return a


def _is_structure(seq) -> bool:
    """A list/tuple of arrays (or of dicts / nested lists of arrays), as opposed to a list of numbers."""
    return bool(seq) and all(
        isinstance(e, dict) or _is_arraylike(e) or (isinstance(e, (list, tuple)) and _is_structure(e)) for e in seq)


def _standardize(struct):
    """NumPy arrays (floats as floatx) in the structure; a list of numbers (not of arrays) is one array."""
    if struct is None:
        return None
    if isinstance(struct, dict):
        return {k: _standardize(v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)) and _is_structure(struct):
        return type(struct)(_standardize(e) for e in struct)
    return _to_numpy(struct)


def unpack_x_y_sample_weight(data):
    """``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` → ``(x, y, sample_weight)`` (Keras's rule)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found a tuple of {len(data)} elements")


def _batch_size_of(x) -> int:
    for leaf in _flat(x):
        if hasattr(leaf, "shape") and len(leaf.shape):
            return int(leaf.shape[0])
    return 1


def _class_weight_to_sample_weight(y, class_weight: dict) -> numpy.ndarray:
    """w[i] = class_weight[class of sample i] (argmax for one-hot rows; 1 for classes not listed)."""
    try:
        cw = {int(k): float(v) for k, v in class_weight.items()}
    except (AttributeError, TypeError, ValueError) as e:
        raise ValueError(f"`class_weight` must be a dict mapping integer class indices to weights, "
                         f"received class_weight={class_weight!r}") from e
    y = numpy.asarray(y)
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] != 1 else y[..., 0]
    if y.ndim != 1:
        raise ValueError(f"`class_weight` needs one class per sample (integer labels or one-hot rows), "
                         f"received targets of shape {y.shape}")
    labels = numpy.round(y).astype(numpy.int64)
    w = numpy.ones(len(labels), dtype=floatx())
    for k, v in cw.items():
        w[labels == k] = v
    return w


def _check_cardinality(x, y, sw) -> int:
    sizes = {name: [int(a.shape[0]) for a in _flat(s) if a is not None and getattr(a, "ndim", 0) > 0]
             for name, s in (("x", x), ("y", y), ("sample_weight", sw))}
    distinct = {n for v in sizes.values() for n in v}
    if len(distinct) > 1:
        detail = "\n".join(f"'{k}' sizes: {', '.join(map(str, v))}" for k, v in sizes.items() if v)
        raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                         f"samples.\n{detail}")
    if not distinct:
        raise ValueError("Expected at least one array with a batch axis as input data, received "
                         f"x of type {type(x).__name__}")
    return distinct.pop()


def _is_iterable_data(x) -> bool:
    """A generator, an iterable of batches or a PyDataset (anything but arrays and structures of arrays)."""
    if x is None or isinstance(x, (numpy.ndarray, Tensor, list, tuple, dict, str, bytes)):
        return False
    if hasattr(x, "__array__") and hasattr(x, "shape"):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


class _ArrayData:
    """Batches of arrays (shuffled each epoch when ``shuffle``)."""

    def __init__(self, x, y, sample_weight, batch_size, shuffle, class_weight=None):
        x, y, sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
        self.n = _check_cardinality(x, y, sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            if y is None or len(_flat(y)) != 1:
                raise ValueError("`class_weight` is only supported for Models with a single output, "
                                 f"received y with {0 if y is None else len(_flat(y))} arrays")
            sample_weight = _class_weight_to_sample_weight(_flat(y)[0], class_weight)
        self.structs = (x, y, sample_weight)
        self.leaves = [_flat(s) if s is not None else None for s in self.structs]
        if self.n == 0:
            raise ValueError("Expected at least one sample in `x`, received arrays of 0 samples")
        for leaf in self.leaves[0]:
            if getattr(leaf, "dtype", None) is not None and numpy.dtype(leaf.dtype).kind == "c":
                raise ValueError(f"Expected real-valued inputs, received complex inputs of dtype {leaf.dtype}: a "
                                 f"model computes on real numbers (pass the real and imaginary parts as features)")
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle = shuffle
        self.num_batches = max(1, math.ceil(self.n / self.batch_size))

    def _take(self, k, idx):
        s, leaves = self.structs[k], self.leaves[k]
        if s is None:
            return None
        if isinstance(s, numpy.ndarray):
            return s[idx]
        return _pack(s, [a[idx] for a in leaves])

    def batches(self):
        n, bs = self.n, self.batch_size
        order = None
        if self.shuffle:  # drawn from neuronka.random's global generator (set_random_seed makes it repeatable)
            rng = _random.generator(None)
            if self.shuffle == "batch":
                starts = rng.permutation(self.num_batches) * bs
                order = numpy.concatenate([rng.permutation(numpy.arange(s, min(s + bs, n))) for s in starts])
            else:
                order = rng.permutation(n)
        for i in range(self.num_batches):
            idx = slice(i * bs, (i + 1) * bs) if order is None else order[i * bs:(i + 1) * bs]
            yield self._take(0, idx), self._take(1, idx), self._take(2, idx)

    def on_epoch_end(self):
        pass


def _standardize_batch(batch, class_weight=None):
    x, y, sw = unpack_x_y_sample_weight(batch)
    x, y, sw = _standardize(x), _standardize(y), _standardize(sw)
    if class_weight is not None and y is not None:
        if sw is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        if len(_flat(y)) != 1:
            raise ValueError("`class_weight` is only supported for Models with a single output.")
        sw = _class_weight_to_sample_weight(_flat(y)[0], class_weight)
    return x, y, sw


class _IterableData:
    """Batches from a generator (consumed across epochs) or a re-iterable object (restarted each epoch)."""

    def __init__(self, data, class_weight=None):
        self.data = data
        self.class_weight = class_weight
        self.restartable = hasattr(data, "__iter__") and not hasattr(data, "__next__")
        self._it = None if self.restartable else iter(data)
        self.num_batches = len(data) if self.restartable and hasattr(data, "__len__") else None

    def batches(self):
        it = iter(self.data) if self.restartable else self._it
        for batch in it:
            yield _standardize_batch(batch, self.class_weight)

    def on_epoch_end(self):
        pass


class _IndexedData:
    """Batches ``data[i]`` of a PyDataset-like object (``__len__`` + ``__getitem__``), order shuffled if asked."""

    def __init__(self, data, shuffle, class_weight=None):
        self.data = data
        self.shuffle = bool(shuffle)
        self.class_weight = class_weight
        self.num_batches = len(data)

    def batches(self):
        from ..utils.pydataset import iterate_batches  # noqa: PLC0415 - utils import models lazily

        hook = getattr(self.data, "on_epoch_begin", None)
        if callable(hook):
            hook()
        order = _random.generator(None).permutation(self.num_batches) if self.shuffle else range(self.num_batches)
        for batch in iterate_batches(self.data, [int(i) for i in order]):  # prepared ahead by its workers
            yield _standardize_batch(batch, self.class_weight)

    def on_epoch_end(self):
        hook = getattr(self.data, "on_epoch_end", None)
        if callable(hook):
            hook()


def _check_batch_size(batch_size) -> int:
    """``batch_size`` (None: 32) as a positive int; anything else is an error, not a silent rounding."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be a positive integer (or None for 32), "
                         f"received batch_size={batch_size!r}")
    return int(batch_size)


def _make_data(x, y=None, sample_weight=None, batch_size=None, shuffle=False, class_weight=None):
    if _is_iterable_data(x):
        if y is not None:
            raise ValueError(f"Argument `y` must be None when `x` is a generator, an iterable or a PyDataset "
                             f"(the batches carry the targets); received y of type {type(y).__name__}")
        if sample_weight is not None:
            raise ValueError("Argument `sample_weight` must be None when `x` is a generator, an iterable or a "
                             "PyDataset (yield (x, y, sample_weight) batches instead)")
        if hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "__next__"):
            return _IndexedData(x, shuffle, class_weight)
        return _IterableData(x, class_weight)
    if x is None:
        raise ValueError("Expected input data `x`, received x=None")
    return _ArrayData(x, y, sample_weight, batch_size, shuffle, class_weight)


class _EpochIterator:
    """``(step, batch)`` for one epoch; with ``steps_per_epoch`` the underlying iterator carries over epochs."""

    def __init__(self, data, steps_per_epoch=None):
        self.data = data
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.num_batches = data.num_batches
        self._current = None
        self._seen = 0
        self.exhausted = False

    @property
    def steps(self):
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return self.num_batches

    def __iter__(self):
        self.exhausted = False
        if self.steps_per_epoch is None:
            yield from enumerate(self.data.batches())
            self.data.on_epoch_end()
            return
        if self._current is None:
            self._current = self.data.batches()
            self._seen = 0
        for step in range(self.steps_per_epoch):
            if self.num_batches is not None and self._seen >= self.num_batches:
                self._current = self.data.batches()
                self._seen = 0
                self.data.on_epoch_end()
            try:
                batch = next(self._current)
            except StopIteration:
                self.exhausted = True
                if self.num_batches is None:
                    return
                self._current = self.data.batches()
                self._seen = 0
                batch = next(self._current)
            self._seen += 1
            yield step, batch


def train_validation_split(arrays, validation_split: float):
    """(train, validation): the LAST ``validation_split`` fraction of the samples, taken before any shuffling.

    split_at = ⌊n · (1 − validation_split)⌋.
    """
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"`validation_split` must be in (0, 1), received validation_split={validation_split}")
    leaves = [a for a in _flat(arrays) if a is not None]
    n = int(leaves[0].shape[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a validation and "
            f"training set as specified by `validation_split={validation_split}`. Either provide more data, "
            f"or a different value for the `validation_split` argument."
        )

    def part(s, sl):
        if s is None:
            return None
        return _pack(s, [a[sl] for a in _flat(s)]) if not isinstance(s, numpy.ndarray) else s[sl]

    train = tuple(part(s, slice(0, split_at)) for s in arrays)
    val = tuple(part(s, slice(split_at, n)) for s in arrays)
    return train, val


# ==================================================================================
# compile: losses and metrics per output
# ==================================================================================
def _kind_of_loss(identifier) -> str | None:
    """"binary", "sparse" or "categorical" for the cross-entropy losses, else None."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        name = identifier
    elif hasattr(identifier, "fn") and not isinstance(identifier, type):
        name = getattr(identifier.fn, "__name__", type(identifier).__name__)
    else:
        name = getattr(identifier, "__name__", None) or type(identifier).__name__
    key = name.lower().replace("_", "")
    if key in ("binarycrossentropy", "bce", "binaryfocalcrossentropy"):
        return "binary"
    if key in ("sparsecategoricalcrossentropy", "scce"):
        return "sparse"
    if key in ("categoricalcrossentropy", "cce", "categoricalfocalcrossentropy"):
        return "categorical"
    return None


def _accuracy_for(identifier: str, y_true, y_pred, loss_kind: str | None):
    """Keras's "accuracy": binary / sparse categorical / categorical, from the loss or else the shapes."""
    if loss_kind == "binary":
        return metrics_module.BinaryAccuracy(name=identifier)
    if loss_kind == "sparse":
        return metrics_module.SparseCategoricalAccuracy(name=identifier)
    if loss_kind == "categorical":
        return metrics_module.CategoricalAccuracy(name=identifier)
    t_shape, p_shape = tuple(numpy.shape(y_true)), tuple(y_pred.shape)
    if len(p_shape) <= 1 or p_shape[-1] == 1:
        return metrics_module.BinaryAccuracy(name=identifier)
    if len(t_shape) < len(p_shape) or (t_shape and t_shape[-1] == 1 and p_shape[-1] > 1):
        return metrics_module.SparseCategoricalAccuracy(name=identifier)
    return metrics_module.CategoricalAccuracy(name=identifier)


def _resolve_metric(identifier, y_true, y_pred, loss_kind):
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return _accuracy_for(identifier, y_true, y_pred, loss_kind)
    metric = metrics_module.get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


def _resolve_loss(identifier, y_true, y_pred):
    from .. import losses  # noqa: PLC0415

    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        if y_pred.shape[-1] == 1:
            identifier = "binary_crossentropy"
        elif numpy.ndim(y_true) < len(y_pred.shape) or numpy.shape(y_true)[-1] == 1:
            identifier = "sparse_categorical_crossentropy"
        else:
            identifier = "categorical_crossentropy"
    obj = losses.get(identifier)
    if isinstance(obj, losses.Loss):
        return obj
    name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", "loss")
    return losses.LossFunctionWrapper(obj, name=name)


def _per_output(arg, keys: list[str], what: str, check_len: bool = True) -> list:
    """The per-output entries of a ``loss``/``loss_weights``/``metrics`` argument (dict by output name or list)."""
    n = len(keys)
    if isinstance(arg, dict):
        unknown = [k for k in arg if k not in keys]
        if unknown:
            raise ValueError(f"In the dict argument `{what}`, key '{unknown[0]}' does not correspond to any model "
                             f"output. Received: {what}={arg}; the model's outputs are {keys}")
        return [arg.get(k) for k in keys]
    if isinstance(arg, (list, tuple)) and n > 1:
        if check_len and len(arg) != n:
            raise ValueError(f"For a model with multiple outputs, when providing the `{what}` argument as a list, "
                             f"it should have as many entries as the model has outputs. Received: {what}={arg} "
                             f"of length {len(arg)} whereas the model has {n} outputs.")
        return list(arg)
    return [arg] * n


class CompileLoss:
    """The compiled loss: Σₒ λₒ · lossₒ(yₒ, ŷₒ, w), with a running Mean of each lossₒ when there are several."""

    def __init__(self, loss, loss_weights=None):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, float, int)):
            raise ValueError(f"Expected `loss_weights` argument to be a float (single output case) or a list, "
                             f"tuple, or dict (multiple output case). Received instead: loss_weights={loss_weights}")
        self.loss = loss
        self.loss_weights = loss_weights
        self.built = False
        self.entries: list[tuple] = []  # (output index, Loss, weight or None)
        self.trackers: list = []  # one Mean per entry, when more than one

    def build(self, keys: list[str], y_true: list, y_pred: list) -> None:
        per = _per_output(self.loss, keys, "loss")
        weights = self.loss_weights
        if weights is None or isinstance(weights, (float, int)):
            ws = [None if weights is None else float(weights)] * len(keys)
        else:
            ws = _per_output(weights, keys, "loss_weights")
        self.entries = []
        for i, (ident, w) in enumerate(zip(per, ws)):
            if ident is None:
                continue
            if y_true[i] is None:
                raise ValueError(f"Output {keys[i]!r} has a loss but no target was given for it")
            self.entries.append((i, _resolve_loss(ident, y_true[i], y_pred[i]), None if w is None else float(w)))
        self.trackers = ([metrics_module.Mean(name=f"{keys[i]}_loss") for i, _, _ in self.entries]
                         if len(self.entries) > 1 else [])
        self.kinds = [_kind_of_loss(p) for p in per]
        self.built = True

    def __call__(self, y_true: list, y_pred: list, sample_weight: list, batch_size: int):
        total = None
        for k, (i, fn, w) in enumerate(self.entries):
            value = fn(y_true[i], y_pred[i], sample_weight[i])
            if self.trackers:
                t = self.trackers[k]
                t.total += float(value.data) * batch_size
                t.count += batch_size
            if w is not None:
                value = value * w
            total = value if total is None else total + value
        return total


class CompileMetrics:
    """The compiled metrics per output, with Keras's names (``<output>_<metric>`` for several outputs)."""

    def __init__(self, metrics, weighted_metrics):
        for arg, what in ((metrics, "metrics"), (weighted_metrics, "weighted_metrics")):
            if arg and not isinstance(arg, (list, tuple, dict)):
                raise ValueError(f"Expected `{what}` argument to be a list, tuple, or dict. "
                                 f"Received instead: {what}={arg!r} of type {type(arg)}")
        self.user_metrics = metrics
        self.user_weighted = weighted_metrics
        self.built = False
        self.flat: list[tuple[str, Any, int, bool]] = []  # (log name, metric, output index, weighted)

    def _build_set(self, arg, keys, y_true, y_pred, kinds, what):
        n = len(keys)
        if not arg:
            return [[] for _ in keys]
        if n == 1:
            items = list(arg.values()) if isinstance(arg, dict) else list(arg)
            items = [m for e in items for m in (e if isinstance(e, (list, tuple)) else [e])]
            return [[_resolve_metric(m, y_true[0], y_pred[0], kinds[0]) for m in items if m is not None]]
        if isinstance(arg, (list, tuple)) and len(arg) != n:
            per = [list(arg)] * n  # one list for every output (Keras 2's rule; Keras 3 requires one per output)
            per = [[copy.deepcopy(m) if isinstance(m, metrics_module.Metric) else m for m in e] for e in per]
        else:
            per = _per_output(arg, keys, what)
        out = []
        for i, entry in enumerate(per):
            entries = [] if entry is None else (list(entry) if isinstance(entry, (list, tuple)) else [entry])
            out.append([_resolve_metric(m, y_true[i], y_pred[i], kinds[i]) for m in entries if m is not None])
        return out

    def build(self, keys, y_true, y_pred, kinds) -> None:
        plain = self._build_set(self.user_metrics, keys, y_true, y_pred, kinds, "metrics")
        weighted = self._build_set(self.user_weighted, keys, y_true, y_pred, kinds, "weighted_metrics")
        prefix = len(keys) > 1
        self.flat = []
        used: dict[str, int] = {}
        for i, ms in enumerate(plain):
            for m in ms:
                name = f"{keys[i]}_{m.name}" if prefix else m.name
                if name in used:
                    used[name] += 1
                    name = f"{name}_{used[name] - 1}"
                else:
                    used[name] = 1
                self.flat.append((name, m, i, False))
        for i, ms in enumerate(weighted):
            for m in ms:
                name = f"{keys[i]}_{m.name}" if prefix else m.name
                if name in used:
                    name = f"{keys[i]}_weighted_{m.name}" if prefix else f"weighted_{m.name}"
                    if name in used:
                        used[name] += 1
                        name = f"{name}_{used[name] - 1}"
                used.setdefault(name, 1)
                self.flat.append((name, m, i, True))
        self.built = True

    def update(self, y_true: list, y_pred_np: list, sample_weight: list) -> None:
        for _, m, i, weighted in self.flat:
            if y_true[i] is None:
                continue
            if weighted:
                m.update_state(y_true[i], y_pred_np[i], sample_weight[i])
            else:
                m.update_state(y_true[i], y_pred_np[i])

    @property
    def metrics(self) -> list:
        return [m for _, m, _, _ in self.flat]


# ==================================================================================
# the model
# ==================================================================================
def _is_plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _capture_init_args(cls, args, kwargs) -> dict | None:
    """The constructor arguments of a Model subclass by name, if all are plain JSON data; else None."""
    if cls.__init__ is Model.__init__:
        return None
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    params = list(inspect.signature(cls.__init__).parameters.values())
    config = {}
    for p in params[1:]:
        if p.name not in bound.arguments:
            continue
        if p.kind is p.VAR_POSITIONAL:
            if bound.arguments[p.name]:
                return None
        elif p.kind is p.VAR_KEYWORD:
            config.update(bound.arguments[p.name])
        else:
            config[p.name] = bound.arguments[p.name]
    return config if _is_plain(config) else None


def _is_functional_call(args, kwargs) -> bool:
    return ("inputs" in kwargs and "outputs" in kwargs) or len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)


def _verbose(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"Expected `verbose` to be 'auto', 0, 1 or 2, received verbose={verbose!r}")
    return int(verbose)


def _should_eval(epoch: int, freq) -> bool:
    if isinstance(freq, int):
        if freq < 1:
            raise ValueError(f"`validation_freq` must be a positive integer, received validation_freq={freq}")
        return (epoch + 1) % freq == 0
    if hasattr(freq, "__contains__"):
        return (epoch + 1) in freq
    raise ValueError(f"Expected `validation_freq` to be an int or a collection of epochs, received {freq!r}")


class _StepCache:
    """What every step needs, computed once per ``fit`` (weights are created by the first call)."""

    def __init__(self, model: Model):
        layers, seen = [], set()
        stack = [model]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            layers.append(layer)
            stack.extend(reversed(layer._layers))
        self.layers = layers
        self.trainable = list(model.trainable_weights)
        self.generation = _base.TRAINABLE_GENERATION  # trainable flags when made: a change rebuilds the cache
        self.constrained = [v for v in self.trainable if getattr(v, "constraint", None) is not None]
        self.regularized = [w for w in model._all_weights() if w.regularizer is not None and w.trainable]


class Model(Layer):
    """A layer with a training loop (Keras 3's ``keras.Model``).

    ``Model(inputs, outputs, name=None)`` builds a functional model from symbolic tensors;
    a subclass defines its layers in ``__init__`` and its forward pass in ``call``.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            from .functional import Functional  # noqa: PLC0415

            return object.__new__(Functional)
        instance = object.__new__(cls)
        # Keras 3 records a subclass's constructor arguments: get_config() returns them when they are plain data
        object.__setattr__(instance, "_auto_config", _capture_init_args(cls, args, kwargs))
        return instance

    def __init__(self, *args, **kwargs):
        if _is_functional_call(args, kwargs):
            from .functional import Functional, inject_functional_class  # noqa: PLC0415

            if not isinstance(self, Functional):
                inject_functional_class(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        if args:
            raise TypeError(f"Model: unexpected positional arguments {args!r}; expected Model(inputs, outputs) "
                            f"or keyword arguments (name=..., trainable=...)")
        self._init_model(**kwargs)

    def _init_model(self, name: str | None = None, trainable: bool = True, dtype=None, **kwargs) -> None:
        Layer.__init__(self, trainable=trainable, dtype=dtype, name=name, **kwargs)
        self._build_input_shape = getattr(self, "_build_input_shape", None)
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_args: dict | None = None
        self._loss_container: CompileLoss | None = None
        self._metrics_container: CompileMetrics | None = None
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._step_cache: _StepCache | None = None
        self._output_keys: list[str] | None = None

    # ---- building ----------------------------------------------------------------------
    def _maybe_build(self, inputs) -> None:
        if self.built:
            return
        shape = _map_shape(inputs)
        if type(self).build is not Model.build:  # a user-defined build(input_shape)
            object.__setattr__(self, "_building", True)  # super().build() inside it has nothing to run
            try:
                self.build(shape)
            finally:
                object.__setattr__(self, "_building", False)
        # else: a subclassed model creates its weights in its first call; nothing to run beforehand
        self.built = True
        self._build_input_shape = shape

    def build(self, input_shape=None) -> None:
        """Create the weights by running ``call`` once on zeros of ``input_shape`` (batch axis may be None)."""
        if input_shape is None or getattr(self, "_building", False):
            self.built = True
            return
        shape = to_shape(input_shape)

        def zeros(s):
            return Tensor(numpy.zeros([1 if d is None else d for d in s], dtype=self.dtype))

        dummy = zeros(shape) if isinstance(shape, tuple) else _map_shapes(zeros, shape)
        self.built = True  # a user build() that called this one has already run: the call must not build again
        object.__setattr__(self, "_building", True)
        try:
            with no_grad():
                self(dummy, training=False)
        finally:
            object.__setattr__(self, "_building", False)
        self._clear_losses()
        self._build_input_shape = shape
        self.built = True

    def get_build_config(self) -> dict | None:
        shape = getattr(self, "_build_input_shape", None)
        return None if shape is None else {"input_shape": _jsonable_shape(shape)}

    def build_from_config(self, config: dict) -> None:
        if config and config.get("input_shape") is not None:
            self.build(to_shape(config["input_shape"]))

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(
            f"Model {type(self).__name__} has no call() method: subclass keras.Model and implement call(), "
            f"or build a functional model with keras.Model(inputs, outputs)"
        )

    # ---- compile -----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True) -> None:
        """Configure training: optimizer, loss (per output: a list or a dict by output name), metrics.

        ``steps_per_execution=N`` runs N steps between two calls of the batch callbacks, as Keras does.
        ``run_eagerly``, ``jit_compile`` and ``auto_scale_loss`` change nothing here (neuronka always runs eagerly,
        its kernels are compiled ahead; loss scaling follows the optimizer): ``jit_compile=True`` warns so.
        """
        from .. import optimizers  # noqa: PLC0415

        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._loss_container = CompileLoss(loss, loss_weights) if loss is not None else None
        self._metrics_container = CompileMetrics(metrics, weighted_metrics) if (metrics or weighted_metrics) else None
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._compile_args = {"loss_weights": loss_weights, "metrics": metrics, "weighted_metrics": weighted_metrics}
        self.run_eagerly = run_eagerly
        if jit_compile is True:
            warnings.warn("compile(jit_compile=True): neuronka has no graph compiler (its kernels are compiled "
                          "ahead of time); the model runs eagerly", stacklevel=2)
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(f"Expected `steps_per_execution` to be a positive integer, "
                             f"received steps_per_execution={steps_per_execution!r}")
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self._step_cache = None
        self.compiled = True

    def get_compile_config(self) -> dict | None:
        """The arguments of ``compile`` as JSON-able data (for saving)."""
        if not self.compiled:
            return None
        from .. import losses, optimizers  # noqa: PLC0415

        def ser_loss(v):
            if v is None or isinstance(v, str):
                return v
            if isinstance(v, (list, tuple)):
                return [ser_loss(e) for e in v]
            if isinstance(v, dict) and "class_name" not in v:
                return {k: ser_loss(e) for k, e in v.items()}
            return losses.serialize(v)

        def ser_metric(v):
            if v is None or isinstance(v, str):
                return v
            if isinstance(v, (list, tuple)):
                return [ser_metric(e) for e in v]
            if isinstance(v, dict):
                return {k: ser_metric(e) for k, e in v.items()}
            if isinstance(v, metrics_module.Metric):
                return metrics_module.serialize(v)
            name = getattr(v, "__name__", None)
            if name in metrics_module.objects.ALL_OBJECTS:
                return name
            raise ValueError(f"the metric {v!r} cannot be serialized (a plain function); use a Metric instead")

        args = self._compile_args or {}
        return {"optimizer": optimizers.serialize(self.optimizer), "loss": ser_loss(self.loss),
                "loss_weights": args.get("loss_weights"), "metrics": ser_metric(args.get("metrics")),
                "weighted_metrics": ser_metric(args.get("weighted_metrics")),
                "run_eagerly": bool(getattr(self, "run_eagerly", False)),
                "steps_per_execution": getattr(self, "steps_per_execution", 1),
                "jit_compile": getattr(self, "jit_compile", "auto")}

    def compile_from_config(self, config: dict) -> None:
        """``compile`` from :meth:`get_compile_config`'s dict."""
        from .. import losses, optimizers  # noqa: PLC0415

        def de_loss(v):
            if v is None:
                return None
            if isinstance(v, list):
                return [de_loss(e) for e in v]
            if isinstance(v, dict) and "class_name" not in v:
                return {k: de_loss(e) for k, e in v.items()}
            return losses.deserialize(v) if not isinstance(v, str) else v

        def de_metric(v):
            if v is None or isinstance(v, str):
                return v
            if isinstance(v, list):
                return [de_metric(e) for e in v]
            if isinstance(v, dict) and "class_name" in v:
                return metrics_module.deserialize(v)
            if isinstance(v, dict):
                return {k: de_metric(e) for k, e in v.items()}
            return v

        optimizer = config.get("optimizer")
        self.compile(optimizer=optimizers.deserialize(optimizer) if isinstance(optimizer, dict) else (
            optimizer or "rmsprop"), loss=de_loss(config.get("loss")), loss_weights=config.get("loss_weights"),
            metrics=de_metric(config.get("metrics")), weighted_metrics=de_metric(config.get("weighted_metrics")),
            run_eagerly=bool(config.get("run_eagerly", False)),
            steps_per_execution=config.get("steps_per_execution", 1) or 1,
            jit_compile=config.get("jit_compile", "auto"))

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model's `{method}()`: "
                             f"model {self.name!r} is not compiled")

    # ---- outputs -----------------------------------------------------------------------
    @property
    def output_names(self) -> list[str]:
        return list(self._output_keys or [])

    def _outputs_list(self, y_pred) -> list:
        """The model's outputs as a flat list, and their names (set on the first call)."""
        if isinstance(y_pred, dict):
            flat = list(y_pred.values())
            keys = list(y_pred.keys())
        elif isinstance(y_pred, (list, tuple)):
            flat = list(y_pred)
            keys = None
        else:
            flat, keys = [y_pred], None
        if self._output_keys is None or len(self._output_keys) != len(flat):
            if keys is None:
                keys = self._default_output_names(len(flat))
            self._output_keys = list(keys)
        return flat

    def _default_output_names(self, n: int) -> list[str]:
        return ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]

    def _targets_list(self, y, n: int) -> list:
        """Targets aligned with the model's flat outputs (a dict by output name, a list, or one array)."""
        if y is None:
            return [None] * n
        if isinstance(y, dict):
            keys = self._output_keys
            missing = [k for k in keys if k not in y]
            if len(y) == 1 and n == 1 and missing:
                return list(y.values())
            unknown = [k for k in y if k not in keys]
            if unknown:
                raise ValueError(f"Target keys {unknown} do not match any model output; outputs are {keys}")
            return [y.get(k) for k in keys]
        if isinstance(y, (list, tuple)):
            if n == 1 and len(y) == 1:
                return [y[0]]
            if len(y) != n:
                raise ValueError(f"The model has {n} output(s) {self._output_keys} but {len(y)} target arrays "
                                 f"were given")
            return list(y)
        if n != 1:
            raise ValueError(f"The model has {n} outputs {self._output_keys}: expected a list or a dict of {n} "
                             f"target arrays, received a single array")
        return [y]

    def _weights_list(self, sample_weight, n: int) -> list:
        if sample_weight is None:
            return [None] * n
        if isinstance(sample_weight, dict):
            return [sample_weight.get(k) for k in self._output_keys]
        if isinstance(sample_weight, (list, tuple)) and n > 1:
            return list(sample_weight)
        return [sample_weight] * n

    # ---- losses --------------------------------------------------------------------------
    def _clear_step_losses(self) -> None:
        cache = self._step_cache
        if cache is None:
            self._clear_losses()
            return
        for layer in cache.layers:
            if layer._losses:
                layer._losses.clear()

    def _regularization_losses(self) -> list:
        cache = self._step_cache
        if cache is None:
            return self.losses
        out = [loss for layer in cache.layers for loss in layer._losses]
        out.extend(w.regularizer(w) for w in cache.regularized)
        return out

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training: bool = True):
        """Total loss = compiled loss (Σₒ λₒ·lossₒ) + Σ model.losses (regularization)."""
        flat_pred = self._outputs_list(y_pred)
        n = len(flat_pred)
        total = None
        container = self._loss_container
        if container is not None:
            y_true = self._targets_list(y, n)
            if not container.built:
                container.build(self._output_keys, y_true, flat_pred)
            total = container(y_true, flat_pred, self._weights_list(sample_weight, n), _batch_size_of(x))
        for extra in self._regularization_losses():
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    # ---- metrics -------------------------------------------------------------------------
    @property
    def metrics(self) -> list:
        out = [self._loss_tracker]
        if self._loss_container is not None:
            out.extend(self._loss_container.trackers)
        if self._metrics_container is not None:
            out.extend(self._metrics_container.metrics)
        return out

    @property
    def metrics_names(self) -> list[str]:
        return list(self._logs().keys())

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics on a batch and return all metric results."""
        container = self._metrics_container
        if container is not None:
            flat_pred = self._outputs_list(y_pred)
            n = len(flat_pred)
            y_true = self._targets_list(y, n)
            preds = [asnumpy(p.data) if isinstance(p, Tensor) else numpy.asarray(p) for p in flat_pred]
            if not container.built:
                kinds = self._loss_container.kinds if (self._loss_container and self._loss_container.built) else [
                    None] * n
                container.build(self._output_keys, y_true, preds, kinds)
            container.update(y_true, preds, self._weights_list(sample_weight, n))
        return self._logs()

    def _logs(self) -> dict:
        """Keras's logs: loss, per-output losses, then the compiled metrics, as Python floats."""
        logs = {"loss": float(self._loss_tracker.result())}
        if self._loss_container is not None:
            for t in self._loss_container.trackers:
                logs[t.name] = float(t.result())
        if self._metrics_container is not None:
            for name, m, _, _ in self._metrics_container.flat:
                r = m.result()
                logs[name] = float(r) if numpy.ndim(r) == 0 else numpy.asarray(r)
        return logs

    def get_metrics_result(self) -> dict:
        return self._logs()

    # ---- steps ---------------------------------------------------------------------------
    def train_step(self, data) -> dict:
        """One optimizer step on a batch ``(x, y, sample_weight)``; returns the running metrics."""
        x, y, sw = unpack_x_y_sample_weight(data)
        self._clear_step_losses()
        y_pred = self(x, training=True)
        cache = self._step_cache
        if cache is None or cache.generation != _base.TRAINABLE_GENERATION:
            # the first call has created the weights of a lazily built model, or a layer was (un)frozen
            cache = self._step_cache = _StepCache(self)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw, training=True)
        bs = _batch_size_of(x)
        tracker = self._loss_tracker
        tracker.total += float(loss.data) * bs
        tracker.count += bs
        if loss.requires_grad:
            self.optimizer.scale_loss(loss).backward()  # × the loss scale (LossScaleOptimizer, loss_scale_factor)
        trainable = cache.trainable
        pairs = [(v.grad, v) for v in trainable if v.grad is not None]
        if pairs:
            self.optimizer.apply_gradients(pairs)
        for v in trainable:
            v.grad = None  # the optimizer has applied the constraints (θ ← constraint(θ)), as Keras's does
        return self.compute_metrics(x, y, y_pred, sw)

    def test_step(self, data) -> dict:
        """Loss and metrics on a batch, in inference mode, without recording a graph."""
        x, y, sw = unpack_x_y_sample_weight(data)
        self._clear_step_losses()
        with no_grad():
            y_pred = self(x, training=False)
            if self._step_cache is None:
                self._step_cache = _StepCache(self)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw, training=False)
        bs = _batch_size_of(x)
        self._loss_tracker.total += float(loss.data) * bs
        self._loss_tracker.count += bs
        return self.compute_metrics(x, y, y_pred, sw)

    def predict_step(self, data):
        """The model's outputs on a batch, in inference mode."""
        x, _, _ = unpack_x_y_sample_weight(data)
        self._clear_step_losses()
        with no_grad():
            return self(x, training=False)

    # ---- callbacks -----------------------------------------------------------------------
    def _callback_list(self, callbacks, add_history: bool, verbose: int, epochs: int, steps):
        from .. import callbacks as callbacks_module  # noqa: PLC0415

        if isinstance(callbacks, callbacks_module.CallbackList):
            return callbacks
        return callbacks_module.CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0,
                                             model=self, verbose=verbose, epochs=epochs, steps=steps)

    # ---- fit / evaluate / predict ----------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the ``History`` (``history.history[key]`` per epoch).

        ``validation_split`` holds out the LAST fraction of the arrays (before shuffling);
        ``validation_data`` (x, y[, sample_weight]) or a generator takes precedence over it.
        ``class_weight`` {class: weight} scales each sample's loss by its class's weight.
        """
        self._assert_compiled("fit")
        verbose = _verbose(verbose)
        if _config.max_epochs() is not None and epochs > _config.max_epochs():  # keras.config.set_max_epochs
            epochs = _config.max_epochs()
            warnings.warn(f"Limiting epochs to {epochs}", stacklevel=2)
        if validation_split and validation_data is None:
            if _is_iterable_data(x):
                raise ValueError("Argument `validation_split` is only supported for NumPy arrays (or lists/dicts "
                                 f"of arrays), received x of type {type(x).__name__}")
            x, y, sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
            _check_cardinality(x, y, sample_weight)
            (x, y, sample_weight), validation_data = train_validation_split((x, y, sample_weight), validation_split)
        data = _make_data(x, y, sample_weight, batch_size, shuffle, class_weight)
        cap = _config.max_steps_per_epoch()
        if cap and (steps_per_epoch or data.num_batches or cap + 1) > cap:
            steps_per_epoch = cap
            warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=2)
        iterator = _EpochIterator(data, steps_per_epoch)
        val_iterator = None
        if validation_data is not None:
            if _is_iterable_data(validation_data):
                vx, vy, vsw = validation_data, None, None
            else:
                vx, vy, vsw = unpack_x_y_sample_weight(validation_data)
            val_iterator = _EpochIterator(_make_data(vx, vy, vsw, validation_batch_size or batch_size),
                                          validation_steps)
        cbs = self._callback_list(callbacks, True, verbose, epochs, iterator.steps)
        self.stop_training = False
        self._step_cache = None
        self._initial_epoch = None
        cbs.on_train_begin()
        # BackupAndRestore sets the epoch to resume from in on_train_begin (Keras 3 does the same)
        initial_epoch = self._initial_epoch or initial_epoch
        training_logs = None
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            steps_run, per_execution, pending = 0, max(1, int(getattr(self, "steps_per_execution", 1) or 1)), None
            for step, batch in iterator:
                # steps_per_execution=N (Keras): the batch callbacks see one call per N steps, as Keras's loop
                # runs N steps between them
                if step % per_execution == 0:
                    cbs.on_train_batch_begin(step)
                logs = self.train_step(batch)
                pending = (step, logs)
                if (step + 1) % per_execution == 0:
                    cbs.on_train_batch_end(step, logs)
                    pending = None
                steps_run += 1
                if self.stop_training:
                    break
            if pending is not None:  # the last, shorter execution of the epoch
                cbs.on_train_batch_end(*pending)
            if steps_run == 0:
                warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or "
                              "generator can generate at least `steps_per_epoch * epochs` batches.", stacklevel=2)
                break
            epoch_logs = self._logs()
            if val_iterator is not None and _should_eval(epoch, validation_freq):
                val_logs = self._evaluate_loop(val_iterator, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if epochs > 0:
            self.optimizer.finalize_variable_values(self.trainable_weights)  # use_ema: w ← the moving averages
        cbs.on_train_end(training_logs)
        return self._history_from(cbs)

    def _history_from(self, cbs):
        for cb in getattr(cbs, "callbacks", []):
            if type(cb).__name__ == "History":
                self.history = cb
                return cb
        return self.history

    def _evaluate_loop(self, iterator: _EpochIterator, cbs) -> dict:
        self.reset_metrics()
        cbs.on_test_begin()
        for step, batch in iterator:
            cbs.on_test_batch_begin(step)
            logs = self.test_step(batch)
            cbs.on_test_batch_end(step, logs)
        logs = self._logs()
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on the data: a scalar (loss only), a list [loss, metrics...] or a dict."""
        kwargs.pop("_use_cached_eval_dataset", None)  # Keras's own internal argument
        if kwargs:
            raise ValueError(f"Arguments not recognized: {kwargs}")
        self._assert_compiled("evaluate")
        verbose = _verbose(verbose)
        iterator = _EpochIterator(_make_data(x, y, sample_weight, batch_size), steps)
        cbs = self._callback_list(callbacks, False, verbose, 1, iterator.steps)
        self._step_cache = None
        logs = self._evaluate_loop(iterator, cbs)
        return logs if return_dict else self._flatten_logs(logs)

    def _flatten_logs(self, logs: dict):
        names = ["loss"]
        if self._loss_container is not None:
            names += [t.name for t in self._loss_container.trackers]
        if self._metrics_container is not None:
            names += [m.name for m in self._metrics_container.metrics]
        results = [logs[k] for k in names if k in logs]
        results += [logs[k] for k in sorted(logs) if k not in names]
        return results[0] if len(results) == 1 else results

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs on ``x`` in inference mode (no graph), concatenated over the batches as NumPy arrays."""
        verbose = _verbose(verbose)
        iterator = _EpochIterator(_make_data(x, batch_size=batch_size), steps)
        cbs = self._callback_list(callbacks, False, verbose, 1, iterator.steps)
        self._step_cache = None
        outputs = []
        cbs.on_predict_begin()
        for step, batch in iterator:
            cbs.on_predict_batch_begin(step)
            out = self._predict_batch(batch)
            if self._step_cache is None:
                self._step_cache = _StepCache(self)
            out = _map_leaves(_out_to_numpy, out)
            outputs.append(out)
            cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("predict: the input data yielded no batches")
        first = outputs[0]
        flat = [_flat(o) for o in outputs]
        return _pack(first, [numpy.concatenate([f[i] for f in flat]) for i in range(len(flat[0]))])

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; metrics keep accumulating until ``reset_metrics()`` (Keras 3)."""
        self._assert_compiled("train_on_batch")
        x, y, sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            sample_weight = _class_weight_to_sample_weight(_flat(y)[0], class_weight)
        logs = self.train_step((x, y, sample_weight))
        return logs if return_dict else self._flatten_logs(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch (metrics accumulate as in Keras 3)."""
        self._assert_compiled("test_on_batch")
        logs = self.test_step((_standardize(x), _standardize(y), _standardize(sample_weight)))
        return logs if return_dict else self._flatten_logs(logs)

    def predict_on_batch(self, x):
        """The outputs on one batch as NumPy arrays."""
        return _map_leaves(_out_to_numpy, self._predict_batch((_standardize(x),)))

    def _predict_batch(self, batch):
        """``predict_step(batch)``, through a replayed inference plan where one applies (``models/replay.py``):
        the built-in ``predict_step`` on one float array."""
        if type(self).predict_step is Model.predict_step:
            x, _, _ = unpack_x_y_sample_weight(batch)
            if type(x) is numpy.ndarray and x.dtype.kind == "f" and self.built:
                self._clear_step_losses()
                outputs = replay.predict(self, x)
                if outputs is not None:
                    return outputs
        return self.predict_step(batch)

    # ---- layers, weights, summary, saving --------------------------------------------------
    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by ``index`` in ``model.layers``."""
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(layers)} layers.")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None) -> None:
        """Print Keras's table of layers, output shapes and parameter counts (see :mod:`.summary`)."""
        from .summary import print_summary  # noqa: PLC0415

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def save(self, filepath, *args, **kwargs) -> None:
        """Save the model (config, weights, optimizer state) with ``neuronka.saving.save_model``."""
        from .. import saving  # noqa: PLC0415

        return saving.save_model(self, filepath, *args, **kwargs)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs) -> None:  # noqa: A002
        """Export for inference (Keras's signature); neuronka writes ``format="onnx"`` (neuronka.export)."""
        if format != "onnx":
            raise ValueError(f"Model.export: neuronka exports format='onnx' only, received format={format!r}")
        from ..export import export_onnx  # noqa: PLC0415

        export_onnx(self, filepath, verbose=verbose, input_signature=input_signature, **kwargs)

    def save_weights(self, filepath, *args, **kwargs) -> None:
        from .. import saving  # noqa: PLC0415

        return saving.save_weights(self, filepath, *args, **kwargs)

    def load_weights(self, filepath, *args, **kwargs) -> None:
        from .. import saving  # noqa: PLC0415

        return saving.load_weights(self, filepath, *args, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON (``neuronka.models.model_from_json`` reads it back)."""
        import json  # noqa: PLC0415

        return json.dumps(serialize_layer(self), default=_json_default, **kwargs)

    def get_config(self) -> dict:
        """Name, trainable, dtype, and a subclass's constructor arguments when they are plain data (Keras 3)."""
        auto = getattr(self, "_auto_config", None) or {}
        return {**auto, "name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from .functional import Functional, functional_from_config, has_functional_constructor  # noqa: PLC0415

        if all(k in config for k in ("layers", "input_layers", "output_layers")) and (
                cls is Model or (issubclass(cls, Functional) and has_functional_constructor(cls))):
            return functional_from_config(Functional if cls is Model else cls, config, custom_objects)
        params = inspect.signature(cls.__init__).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            config = {k: v for k, v in config.items() if k in params}
        try:
            return cls(**config)
        except TypeError as e:
            raise TypeError(
                f"Unable to revive model {cls.__name__} from its config {config}: {e}. Override `get_config()` "
                f"to return every argument of the constructor (and `from_config()` if they are not plain data)."
            ) from e

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _json_default(o):
    if isinstance(o, numpy.generic):
        return o.item()
    if isinstance(o, numpy.ndarray):
        return o.tolist()
    raise TypeError(f"{o!r} is not JSON serializable")


def _out_to_numpy(t):
    return asnumpy(t.data) if isinstance(t, Tensor) else numpy.asarray(t)


def _map_leaves(fn, s):
    if isinstance(s, (list, tuple)):
        return type(s)(_map_leaves(fn, e) for e in s)
    if isinstance(s, dict):
        return {k: _map_leaves(fn, v) for k, v in s.items()}
    return fn(s)


def _map_shape(inputs):
    """The input shape structure with the batch axis as None."""
    def one(t):
        return (None, *tuple(t.shape[1:])) if len(t.shape) else ()

    return _map_leaves(one, inputs)


def _map_shapes(fn, shapes):
    if isinstance(shapes, tuple) and all(s is None or isinstance(s, int) for s in shapes):
        return fn(shapes)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(_map_shapes(fn, s) for s in shapes)
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    return fn(shapes)


# ==================================================================================
# module-level helpers of keras.models
# ==================================================================================
def model_from_json(json_string: str, custom_objects: dict | None = None) -> Model:
    """The model described by :meth:`Model.to_json` or Keras's ``model.to_json()`` (fresh weights); read as
    ``load_model`` reads ``config.json`` (no code run, no module imported)."""
    from ..saving import config_io  # noqa: PLC0415

    config = config_io.json_object(json_string, "model_from_json")
    return config_io.model_from_config(config, "model_from_json", custom_objects)


def clone_model(model: Model, input_tensors=None, clone_function=None, call_function=None,
                recursive: bool = False, **kwargs) -> Model:
    """A new model of the same architecture with newly initialized weights (functional or Sequential).

    ``clone_function(layer) -> layer`` replaces the default (a fresh layer from the layer's config).
    """
    from .sequential import Sequential  # noqa: PLC0415

    if input_tensors is not None or call_function is not None:
        raise NotImplementedError("clone_model: `input_tensors` and `call_function` are not supported yet")
    if clone_function is None:
        return type(model).from_config(model.get_config())
    if isinstance(model, Sequential):
        from ..layers.symbolic import InputLayer  # noqa: PLC0415

        new = Sequential(name=model.name)
        for layer in model._layers:
            new.add(InputLayer.from_config(layer.get_config()) if isinstance(layer, InputLayer)
                    else clone_function(layer))
        return new
    raise NotImplementedError("clone_model: `clone_function` is supported for Sequential models only")
