"""Small ``keras.utils`` helpers: ``Config``, ``pad_sequences``, ``normalize``, ``to_categorical``,
``pack_x_y_sample_weight`` / ``unpack_x_y_sample_weight`` and ``get_source_inputs``."""
from __future__ import annotations

import copy
import difflib
import json

import numpy


class Config:
    """A dict of named values that is also read and written by attribute (``cfg.lr = 0.1``), can be frozen
    against changes (``freeze()``) and turned into a dict (``as_dict()``) or JSON (``to_json()``)."""

    __attrs__ = None

    def __init__(self, **kwargs):
        self._config = kwargs
        self._frozen = False
        self.__attrs__ = set(dir(self))

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        self._frozen = True

    def unfreeze(self) -> None:
        self._frozen = False

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict:
        return copy.copy(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def pop(self, *args):
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._raise_if_frozen()
        return self._config.update(*args, **kwargs)

    def get(self, keyname, value=None):
        return self._config.get(keyname, value)

    def __setattr__(self, name, value):
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            return object.__setattr__(self, name, value)
        self._raise_if_frozen()
        self._config[name] = value
        return None

    def __getattr__(self, name):
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            return object.__getattribute__(self, name)
        cfg = object.__getattribute__(self, "_config")
        if name in cfg:
            return cfg[name]
        msg = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, cfg.keys(), n=1, cutoff=0.7)
        if close:
            msg += f" Did you mean '{close[0]}'?"
        raise AttributeError(msg)

    def __setitem__(self, key, item):
        self._raise_if_frozen()
        self._config[key] = item

    def __getitem__(self, key):
        return self._config[key]

    def __contains__(self, item) -> bool:
        return item in self._config

    def __len__(self) -> int:
        return len(self._config)

    def __iter__(self):
        return iter(sorted(self._config.keys()))

    def __repr__(self) -> str:
        return f"<Config {self._config}>"


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """A (num_sequences, maxlen) array of the sequences, padded with ``value`` and truncated at the start
    (``"pre"``) or end (``"post"``); ``maxlen`` defaults to the longest sequence. Each element may itself be
    an array (all of one shape): the result then has that shape as trailing axes."""
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    lengths, sample_shape, found_shape = [], (), False
    for x in sequences:
        try:
            lengths.append(len(x))
        except TypeError as err:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {x!s}") from err
        if not found_shape and len(x):
            sample_shape, found_shape = numpy.asarray(x).shape[1:], True
    num = len(sequences)
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    is_str = numpy.issubdtype(dtype, numpy.str_) or numpy.issubdtype(dtype, numpy.object_)
    if isinstance(value, str) and dtype is not object and not is_str:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         f"You should set `dtype=object` for variable length strings.")
    out = numpy.full((num, maxlen) + sample_shape, value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = numpy.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {i} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out


def normalize(x, axis=-1, order=2):
    """x / ‖x‖ along ``axis`` (the ``order``-norm; 0-norm rows stay 0): a NumPy array for a NumPy input, else
    a Tensor through ``ops.normalize`` (differentiable)."""
    from ..autograd import Tensor  # noqa: PLC0415

    if isinstance(x, Tensor):
        from .. import ops  # noqa: PLC0415

        return ops.normalize(x, axis=axis, order=order)
    x = numpy.asarray(x)
    norm = numpy.atleast_1d(numpy.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / numpy.expand_dims(norm, axis)


def to_categorical(x, num_classes: int | None = None):
    """One-hot encode integer labels: out[..., c] = 1 where x == c, one more axis (a trailing axis of size 1
    is dropped first). A NumPy input gives float64 (as Keras), a Tensor ``ops.one_hot``'s floatx Tensor."""
    from ..autograd import Tensor  # noqa: PLC0415

    if isinstance(x, Tensor):
        from .. import ops  # noqa: PLC0415

        if x.ndim > 1 and x.shape[-1] == 1:
            x = ops.squeeze(x, axis=-1)
        if num_classes is None:
            num_classes = int(x.numpy().max()) + 1 if x.size else 0
        return ops.one_hot(x, num_classes)
    x = numpy.asarray(x, dtype="int64")
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x[..., 0]
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: expected labels in [0, {num_classes}), "
                         f"received values in [{x.min()}, {x.max()}]")
    out = numpy.zeros((*x.shape, num_classes))
    numpy.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` — the batch tuple ``fit`` reads (a lone tuple or list
    ``x`` is wrapped so that it stays one input)."""
    if y is None:
        return x if not isinstance(x, (tuple, list)) else (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` of a batch: a tuple of 1 to 3 items, or x alone."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found: {data}")


def get_source_inputs(tensor):
    """The ``Input`` tensors a symbolic tensor was computed from (through every layer that made it)."""
    from ..layers.symbolic import InputLayer, KerasTensor  # noqa: PLC0415

    if not isinstance(tensor, KerasTensor):
        raise ValueError(f"get_source_inputs: expected a symbolic tensor (the output of keras.Input or of a layer "
                         f"called on one), received {tensor!r}")
    history = tensor._keras_history
    if history is None:
        return [tensor]
    node = history[0]
    if isinstance(node.layer, InputLayer):
        return [tensor]
    found: list = []
    for t in node_inputs(node):
        for source in get_source_inputs(t):
            if not any(source is f for f in found):
                found.append(source)
    return found


def node_inputs(node) -> list:
    from ..layers.base import _flatten  # noqa: PLC0415
    from ..layers.symbolic import KerasTensor  # noqa: PLC0415

    return [t for t in _flatten(node.input_structure) if isinstance(t, KerasTensor)]
