"""The Keras layer life cycle on neuronka tensors.

``__init__`` checks and stores the configuration; ``build(input_shape)``
creates the weights (``add_weight``); ``call(inputs, training=..., mask=...)``
computes; ``compute_output_shape`` answers without computing; ``get_config``
returns everything needed to rebuild the layer. ``__call__`` ties them
together: it builds on first use, checks the input against ``input_spec``,
passes the ``training`` flag and masks down, records a node when it is given
symbolic inputs (the functional API), and adds activity-regularization losses.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import re
import threading
from typing import Any

import numpy

from ..autograd import Tensor, no_grad
from ..backend import array_module, clear_session, get_array_module, get_uid, to_backend

_ctx = threading.local()


# ----------------------------------------------------------------------------------
# call context: the training flag flows from the outer call to the inner layers
# ----------------------------------------------------------------------------------
def current_training() -> bool:
    return bool(getattr(_ctx, "training", None))


@contextlib.contextmanager
def training_scope(training: bool):
    prev = getattr(_ctx, "training", None)
    _ctx.training = bool(training)
    try:
        yield
    finally:
        _ctx.training = prev


# ----------------------------------------------------------------------------------
# names: dense, dense_1, dense_2, ... as Keras numbers them
# ----------------------------------------------------------------------------------
def unique_name(prefix: str) -> str:
    n = get_uid(prefix) - 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names() -> None:
    """Restart layer numbering (``keras.backend.clear_session``)."""
    clear_session(free_memory=False)


def to_snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return re.sub(r"_+", "_", s)


# ----------------------------------------------------------------------------------
# weights
# ----------------------------------------------------------------------------------
TRAINABLE_GENERATION = 0  # bumped whenever a Variable's trainable flag changes


class Variable(Tensor):
    """A layer weight: a leaf tensor with a name, a trainable flag, and an optional constraint.

    ``assign(value)`` writes in place (the array object is kept, so optimizer
    slots and views stay valid). The value is copied (``copy=True``): training never changes an array the
    caller still holds; ``copy=False`` is for a view that must share memory (the optimizer's slots).
    """

    def __init__(self, value, trainable: bool = True, name: str = "variable", constraint=None,
                 regularizer=None, dtype=None, copy: bool = True):
        source = value.data if isinstance(value, Tensor) else value
        if hasattr(source, "shape") and get_array_module(source) is not array_module():
            value = to_backend(source)  # host data of a device backend: moved (so copied) once
        super().__init__(value, requires_grad=trainable, dtype=dtype)
        if copy and self.data is source:  # not the caller's array
            self.data = get_array_module(self.data).array(self.data, copy=True)
        self.name = name
        self.trainable = trainable
        self._created_trainable = bool(trainable)  # fixes its place in the layer's weights (Keras's order)
        self.constraint = constraint
        self.regularizer = regularizer
        self.path = name

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        global TRAINABLE_GENERATION
        if getattr(self, "_trainable", None) != bool(value):
            TRAINABLE_GENERATION += 1  # a compiled model's step sees the change (models.model._StepCache)
        self._trainable = bool(value)
        self.requires_grad = bool(value)

    @property
    def value(self):
        return self.data

    def assign(self, value) -> None:
        arr = to_backend(value)  # the backend's array module: a device variable is written from device data
        if tuple(arr.shape) != tuple(self.data.shape):
            raise ValueError(
                f"Variable {self.name!r}: expected a value of shape {tuple(self.data.shape)}, "
                f"received shape {tuple(arr.shape)}"
            )
        self.data[...] = arr

    def __repr__(self) -> str:
        return f"<Variable path={self.path} shape={tuple(self.shape)} dtype={self.dtype} trainable={self.trainable}>"


class InputSpec:
    """What a layer accepts (Keras's ``InputSpec``): a ``dtype``, a ``shape`` (None entries free; it fixes
    ``ndim``), ``ndim``, ``min_ndim``, ``max_ndim``, fixed sizes of some ``axes`` ({axis: size}), a ``name``,
    ``optional``. ``allow_last_axis_squeeze`` is recorded (Keras's argument)."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = None if dtype is None else numpy.dtype(dtype).name
        if shape is not None:
            self.shape = tuple(None if s is None else int(s) for s in shape)
            self.ndim = len(self.shape)
        else:
            self.shape = None
            self.ndim = ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            axes = axes or {}
            self.axes = {int(k): axes[k] for k in axes}
        except (ValueError, TypeError):
            raise TypeError(f"Argument `axes` must be a dict with integer keys. Received: axes={axes}") from None
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            max_dim = (self.ndim if self.ndim else self.max_ndim) - 1
            if max(self.axes) > max_dim:
                raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed value: {max_dim}")

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k)}" for k in ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "axes")
                 if getattr(self, k)]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes, "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def check(self, layer_name: str, shape, index: int = 0) -> None:
        rank = len(shape)
        where = f"Input {index} of layer {layer_name!r} is incompatible with the layer"
        if self.ndim is not None and rank != self.ndim:
            raise ValueError(
                f"{where}: expected ndim={self.ndim}, found ndim={rank}. Full shape received: {tuple(shape)}"
            )
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ValueError(
                f"{where}: expected min_ndim={self.min_ndim}, found ndim={rank}. Full shape received: {tuple(shape)}"
            )
        if self.max_ndim is not None and rank > self.max_ndim:
            raise ValueError(
                f"{where}: expected max_ndim={self.max_ndim}, found ndim={rank}. Full shape received: {tuple(shape)}"
            )
        if self.shape is not None:
            for want, got in zip(self.shape, shape):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{where}: expected shape={self.shape}, found shape={tuple(shape)}")
        for axis, size in self.axes.items():
            if size is None:
                continue
            if -rank <= axis < rank and shape[axis] is not None and shape[axis] != size:
                raise ValueError(
                    f"{where}: expected axis {axis} of input shape to have value {size}, "
                    f"but received input with shape {tuple(shape)}"
                )


# ----------------------------------------------------------------------------------
# the layer
# ----------------------------------------------------------------------------------
def _accepts(fn, arg: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _default_of(fn, arg: str):
    """The default value of ``fn``'s argument ``arg``: None without such an argument, False for a required one."""
    try:
        p = inspect.signature(fn).parameters.get(arg)
    except (TypeError, ValueError):
        return None
    if p is None:
        return None
    return False if p.default is inspect.Parameter.empty else p.default


def _shape_of(x):
    return tuple(x.shape)


def _map_structure(fn, struct):
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map_structure(fn, s) for s in struct)
    if isinstance(struct, dict):
        return {k: _map_structure(fn, v) for k, v in struct.items()}
    return fn(struct)


_symbolic_module = None


def _symbolic():
    """The symbolic-tensor module (imported on first use: it imports this one)."""
    global _symbolic_module
    if _symbolic_module is None:
        from . import symbolic  # noqa: PLC0415

        _symbolic_module = symbolic
    return _symbolic_module


def _flatten(struct) -> list:
    if isinstance(struct, (list, tuple)):
        return [x for s in struct for x in _flatten(s)]
    if isinstance(struct, dict):
        return [x for k in sorted(struct) for x in _flatten(struct[k])]
    return [struct]


def _is_plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _capture_init_args(cls, args, kwargs) -> dict | None:
    """Keras's automatic config: the constructor's arguments by name (defaults included, then the keyword
    arguments given beyond the signature), without ``name``; None when one is not plain JSON data."""
    try:
        signature = inspect.signature(cls.__init__)
        bound = signature.bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    bound.apply_defaults()
    config = {}
    for p in list(signature.parameters.values())[1:]:
        value = bound.arguments.get(p.name)
        if p.kind is p.VAR_POSITIONAL:
            if value:
                return None
        elif p.kind is p.VAR_KEYWORD:
            config.update(value or {})
        else:
            config[p.name] = value
    config.pop("name", None)
    return config if _is_plain(config) else None


def _resolve_dtype_policy(dtype):
    """Keras's ``dtype`` argument — None (the global policy), a name, a NumPy dtype, a ``DTypePolicy`` or its
    serialized dict — as a ``DTypePolicy``."""
    from .. import dtype_policies  # noqa: PLC0415

    if dtype is not None and not isinstance(dtype, (str, dict, dtype_policies.DTypePolicy)):
        try:
            dtype = numpy.dtype(dtype).name
        except TypeError:
            raise ValueError(f"Cannot interpret `dtype` argument. Expected a string or an instance of DTypePolicy. "
                             f"Received: dtype={dtype!r}") from None
    if isinstance(dtype, str) and not dtype.startswith("mixed_"):
        dtype = numpy.dtype(dtype).name  # "float" → "float64", as Keras's standardize_dtype
    policy = dtype_policies.get(dtype)
    if policy.compute_dtype != policy.variable_dtype:
        raise NotImplementedError(
            f"dtype policy {policy.name!r}: neuronka's layers compute in the dtype of their weights; mixed "
            f"precision policies (compute {policy.compute_dtype}, weights {policy.variable_dtype}) are not supported")
    return policy


def _build_scope() -> list:
    """The layers whose ``build`` is running in this thread, outermost first."""
    scope = getattr(_ctx, "build_scope", None)
    if scope is None:
        scope = _ctx.build_scope = []
    return scope


def _recording_build(build):
    """Wrap a layer class's ``build`` as Keras does: the outermost call records its arguments (for
    ``get_build_config``) and marks the layer built, so a custom ``build`` need not set ``self.built``."""

    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        if self.__dict__.get("_inside_build"):
            return build(self, *args, **kwargs)
        object.__setattr__(self, "_inside_build", True)
        scope = _build_scope()
        scope.append(self)  # weights created now get the path of the layers being built: outer/inner/kernel
        try:
            result = build(self, *args, **kwargs)
        finally:
            scope.pop()
            object.__setattr__(self, "_inside_build", False)
        try:
            bound = inspect.signature(build).bind(self, *args, **kwargs).arguments
            bound.pop(next(iter(bound)))  # self
        except TypeError:
            bound = {}
        self._build_shapes_dict = {k: _freeze_shape(v) for k, v in bound.items()}
        self.built = True
        return result

    wrapper._records_build = True
    return wrapper


def _freeze_shape(shape):
    """A build argument as Keras records it: shapes as tuples (structures kept), anything else as is."""
    if isinstance(shape, (list, tuple)):
        if all(s is None or isinstance(s, (int, numpy.integer)) for s in shape):
            return tuple(None if s is None else int(s) for s in shape)
        return [_freeze_shape(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _freeze_shape(v) for k, v in shape.items()}
    return shape


class Layer:
    """Base class of every layer (Keras 3 ``keras.layers.Layer``).

    Arguments (Keras's, keyword-only): ``activity_regularizer``, ``trainable`` (a bool), ``dtype`` (None for
    the global policy, a dtype name or a ``DTypePolicy`` or its serialized dict), ``autocast`` (stored;
    neuronka's layers compute in one dtype), ``name``. ``input_shape``/``input_dim`` are accepted (a
    ``Sequential`` model turns them into its ``InputLayer``) and so is Keras 2's ``batch_input_shape``
    (legacy configs carry it); any other keyword is Keras's ``ValueError``.

    ``weights`` are Keras's order: the layer's own weights created trainable, then its own created
    non-trainable, then each sub-layer's, recursively (the order of ``get_weights``/``set_weights`` and of
    Keras's files; freezing a layer does not reorder it). ``get_config()`` starts with Keras's
    ``{"name", "trainable", "dtype": <DTypePolicy dict>[, "activity_regularizer"]}``.
    """

    # set by subclasses that propagate or consume masks
    supports_masking = False

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        # Keras records the constructor's arguments: a layer without its own get_config() returns them
        object.__setattr__(instance, "_auto_config", _capture_init_args(cls, args, kwargs))
        return instance

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_records_build", False):
            cls.build = _recording_build(build)

    def __init__(self, *, activity_regularizer=None, trainable: bool = True, dtype=None, autocast: bool = True,
                 name: str | None = None, **kwargs):
        from .. import regularizers  # noqa: PLC0415

        input_shape = kwargs.pop("input_shape", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"Argument `name` must be a string and cannot contain character `/`. "
                             f"Received: name={name} (of type {type(name)})")
        if not isinstance(trainable, bool):
            raise ValueError(f"Expected `trainable` to be a boolean. Received: trainable={trainable} "
                             f"(of type {type(trainable)})")
        object.__setattr__(self, "_layers", [])
        object.__setattr__(self, "_tracked_weights", [])
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._dtype_policy = _resolve_dtype_policy(dtype)
        self._dtype = self._dtype_policy.compute_dtype
        self.autocast = bool(autocast)
        self._trainable = trainable
        self.built = False
        self.input_spec: InputSpec | list[InputSpec] | None = None
        self._losses: list[Tensor] = []
        self._inbound_nodes: list = []
        self._build_input_shape = None  # the input shape of the first build (batch axis None), for summary/saving
        self._build_shapes_dict = None  # the arguments of the first build, as given (Keras's build config)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (None, *tuple(input_shape))
        else:
            self._batch_input_shape = None
        self.supports_masking = type(self).compute_mask is not Layer.compute_mask
        self._call_has_training = _accepts(self.call, "training")
        self._call_training_default = _default_of(self.call, "training")
        self._call_has_mask = _accepts(self.call, "mask")

    # ---- attribute tracking: sub-layers and weights assigned as attributes ----------
    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("__") and hasattr(self, "_layers"):
            if isinstance(value, Layer) and value is not self and value not in self._layers:
                self._layers.append(value)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    if isinstance(v, Layer) and v not in self._layers:
                        self._layers.append(v)
            elif isinstance(value, Variable) and all(value is not w for w in self._tracked_weights):
                self._tracked_weights.append(value)
        object.__setattr__(self, name, value)

    # ---- properties ---------------------------------------------------------------
    @property
    def dtype_policy(self):
        """The layer's ``DTypePolicy`` (its ``name`` is what ``get_config()["dtype"]`` records)."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value) -> None:
        self._dtype_policy = _resolve_dtype_policy(value)
        self._dtype = self._dtype_policy.compute_dtype

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def compute_dtype(self) -> str:
        return self._dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """``layer.trainable = False`` freezes every weight of the layer and its sub-layers."""
        self._trainable = bool(value)
        for w in self._tracked_weights:
            w.trainable = bool(value) and getattr(w, "_declared_trainable", True)
        for layer in self._layers:
            layer.trainable = value

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def _own_weights(self) -> list[Variable]:
        """This layer's own weights in Keras's order: those created trainable, then those created non-trainable."""
        own = self._tracked_weights
        return ([w for w in own if getattr(w, "_created_trainable", w.trainable)]
                + [w for w in own if not getattr(w, "_created_trainable", w.trainable)])

    def _all_weights(self) -> list[Variable]:
        """Own weights (Keras's order), then each sub-layer's, recursively, without repeats."""
        seen: set[int] = set()
        out: list[Variable] = []
        for w in self._own_weights():
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        for layer in self._layers:
            for w in layer._all_weights():
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def weights(self) -> list[Variable]:
        """Every weight in Keras's order (see the class docstring): the order of ``get_weights``."""
        return self._all_weights()

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for w in self._all_weights() if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self._all_weights()
        return [w for w in self._all_weights() if not w.trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer {self.name!r}, but the layer isn't built. "
                f"Build it first by calling it on data or with `build(input_shape)`."
            )
        return int(sum(w.size for w in self.weights))

    def get_weights(self) -> list[numpy.ndarray]:
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Layer {self.name!r}: set_weights expected a list of {len(own)} arrays, received {len(weights)}"
            )
        for var, value in zip(own, weights):
            var.assign(value)

    # ---- weights ------------------------------------------------------------------
    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable: bool = True,
                   regularizer=None, constraint=None, name: str | None = None, **_ignored) -> Variable:
        """Create, track and return a weight; ``initializer`` is a name, an instance or a callable."""
        from .. import constraints, initializers, regularizers  # noqa: PLC0415

        shape = () if shape is None else tuple(int(s) for s in shape)
        dtype = numpy.dtype(dtype or self._dtype)
        init = initializers.get(initializer)
        # on the backend, in C order (in-place updates, views)
        value = array_module().asarray(to_backend(init(shape, dtype=dtype)), dtype=dtype, order="C")
        var = Variable(value, trainable=trainable and self.trainable, name=name or "variable",
                       constraint=constraints.get(constraint), regularizer=regularizers.get(regularizer))
        var._declared_trainable = trainable
        var._created_trainable = bool(trainable)
        scope = _build_scope()
        if scope and scope[-1] is self:  # Keras's path: the names of the layers being built, outermost first
            var.path = "/".join([layer.name for layer in scope] + [var.name])
        else:
            var.path = f"{self.name}/{var.name}"
        self._tracked_weights.append(var)
        return var

    # ---- life cycle -------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape``; the default has none."""
        self.built = True

    def _build_at_init(self) -> None:
        """A layer that does not override ``build`` has nothing to build: built at once, as in Keras (its
        ``get_build_config()`` then stays None)."""
        if type(self).build is Layer.build:
            self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call()")

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (batch axis may be None), found without computing.

        The default runs ``call`` on zeros of batch size 1 without recording gradients.
        """
        def dummy(shape):
            return Tensor(array_module().zeros([1 if s is None else s for s in shape], dtype=self._dtype))

        with no_grad(), training_scope(False):
            if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
                out = self.call([dummy(s) for s in input_shape])
            else:
                out = self.call(dummy(input_shape))
        batch = (input_shape[0][0] if isinstance(input_shape, list) and input_shape
                 and isinstance(input_shape[0], (list, tuple)) else input_shape[0] if input_shape else None)
        return _map_structure(lambda t: (batch, *tuple(t.shape[1:])), out)

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: by default the input's mask. ``__call__`` attaches it to the outputs only
        when the layer ``supports_masking`` (True by default for a layer overriding ``compute_mask``, as in
        Keras); otherwise the mask is dropped there."""
        return mask

    def get_config(self) -> dict:
        """Everything needed to rebuild the layer (``type(layer).from_config(config)``), Keras's keys first."""
        from .. import dtype_policies, regularizers  # noqa: PLC0415

        config = {"name": self.name}
        if type(self).get_config is Layer.get_config:  # no get_config of its own: Keras's automatic config
            auto = self.__dict__.get("_auto_config")
            if auto is None and type(self).__init__ is not Layer.__init__:
                raise NotImplementedError(
                    f"Object {type(self).__name__} was created by passing non-serializable argument values in "
                    f"`__init__()`, and therefore the object must override `get_config()` in order to be "
                    f"serializable. Please implement `get_config()`.")
            config.update(auto or {})
        config.update({"trainable": self.trainable, "dtype": dtype_policies.serialize(self._dtype_policy)})
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict):
        """``cls(**config)``; the ``dtype`` may be a policy's serialized dict, nested objects Keras's dicts."""
        try:
            return cls(**config)
        except Exception as e:
            raise TypeError(f"Error when deserializing class '{cls.__name__}' using config={config}.\n\n"
                            f"Exception encountered: {e}") from e

    def get_build_config(self) -> dict | None:
        """The arguments of the first ``build`` (Keras's ``{"input_shape": ...}``), None before it."""
        shapes = self._build_shapes_dict
        if shapes is None:
            return None
        if len(shapes) == 1:
            return {"input_shape": next(iter(shapes.values()))}
        return {"shapes_dict": dict(shapes)}

    def build_from_config(self, config: dict | None) -> None:
        """Build from :meth:`get_build_config`'s dict (as a loaded model does)."""
        if not config:
            return
        from ..models.model import to_shape  # noqa: PLC0415

        if "input_shape" in config:
            self.build(to_shape(config["input_shape"]))
        elif "shapes_dict" in config:
            self.build(**{k: to_shape(v) for k, v in config["shapes_dict"].items()})
        self.built = True

    def save_own_variables(self, store) -> None:
        """``store["0"], store["1"], ...``: this layer's own weights, in Keras's order (not the sub-layers')."""
        for i, w in enumerate(self._own_weights()):
            store[f"{i}"] = w.numpy()

    def load_own_variables(self, store) -> None:
        """Assign this layer's own weights from ``store["0"], store["1"], ...`` (Keras's order)."""
        own = self._own_weights()
        if len(store.keys()) != len(own):
            raise ValueError(f"Layer '{self.name}' expected {len(own)} variables, but received {len(store.keys())} "
                             f"variables during loading. Expected: {[w.name for w in own]}")
        for i, w in enumerate(own):
            w.assign(numpy.asarray(store[f"{i}"]))

    # ---- __call__ -------------------------------------------------------------------
    def _check_input_spec(self, shapes) -> None:
        spec = self.input_spec
        if spec is None:
            return
        specs = spec if isinstance(spec, (list, tuple)) else [spec]
        for i, (s, shape) in enumerate(zip(specs, shapes)):
            if s is not None:
                s.check(self.name, shape, i)

    def _maybe_build(self, inputs) -> None:
        if self.built:
            return
        shapes = _map_structure(lambda t: tuple(t.shape), inputs)
        self._check_input_spec(_flatten_shapes(shapes))
        self.build(shapes)
        self.built = True
        self._build_input_shape = _map_structure(lambda t: (None, *tuple(t.shape[1:])) if t.ndim else (), inputs)

    def __call__(self, inputs, *args, **kwargs):
        if type(inputs) is Tensor:  # the common case, one eager tensor: no structure to walk
            inputs = self._convert_input(inputs)
            flat = [inputs]
        else:
            symbolic = _symbolic()
            flat = _flatten(inputs)
            if any(isinstance(x, symbolic.KerasTensor) for x in flat):
                return symbolic.symbolic_call(self, inputs, args, kwargs)
            inputs = _map_structure(self._convert_input, inputs)
            flat = _flatten(inputs)
        self._maybe_build(inputs)
        self._check_input_spec([tuple(t.shape) for t in flat])

        # Keras's order: the `training` passed here, else an outer call's, else call()'s default (True for the
        # augmentation layers, so that `layer(x)` augments); still None, the argument is not passed
        training = kwargs.pop("training", None)
        if training is None:
            training = getattr(_ctx, "training", None)
        if training is None:
            training = self._call_training_default
        if training is not None:
            training = bool(training)
            if self._call_has_training:
                kwargs["training"] = training
        mask = kwargs.pop("mask", None)
        if mask is None:
            masks = [getattr(t, "_keras_mask", None) for t in flat]
            if any(m is not None for m in masks):
                mask = masks[0] if len(masks) == 1 else masks
        if self._call_has_mask and mask is not None:
            kwargs["mask"] = mask

        previous, _ctx.training = getattr(_ctx, "training", None), training  # training_scope, inlined
        outermost = not getattr(_ctx, "in_call", False)
        if outermost:  # a layer called on its own keeps the losses of its latest call only (Keras)
            _ctx.in_call = True
            if self._losses:
                self._losses.clear()
        try:
            outputs = self.call(inputs, *args, **kwargs)
        finally:
            _ctx.training = previous
            if outermost:
                _ctx.in_call = False

        if self.activity_regularizer is not None:
            for out in _flatten(outputs):
                self.add_loss(self.activity_regularizer(out) / out.shape[0])
        if self.supports_masking:  # a layer that does not support masking drops the mask (Keras)
            out_mask = self.compute_mask(inputs, mask)
            if out_mask is not None:
                if isinstance(outputs, Tensor):
                    outputs._keras_mask = out_mask
                elif isinstance(outputs, (list, tuple)):  # masks paired with outputs in order (Keras)
                    masks = out_mask if isinstance(out_mask, (list, tuple)) else [out_mask]
                    for out, m in zip(outputs, masks):
                        if isinstance(out, Tensor) and m is not None:
                            out._keras_mask = m
        return outputs

    def _convert_input(self, x):
        if isinstance(x, Tensor):
            if x.dtype.kind == "f" and x.dtype != self._dtype:
                from ..ops import cast  # noqa: PLC0415

                y = cast(x, self._dtype)
                y._keras_mask = x._keras_mask
                return y
            return x
        arr = to_backend(x)  # host inputs: moved to the backend's array module once
        if arr.dtype.kind == "f":
            arr = arr.astype(self._dtype, copy=False)
        return Tensor(arr)

    # ---- losses -------------------------------------------------------------------
    def add_loss(self, loss) -> None:
        self._losses.append(loss)

    @property
    def losses(self) -> list[Tensor]:
        """Keras's order: the losses added in the latest call (this layer's, then its sub-layers', depth first),
        then the regularization of every trainable weight, computed from the current weights."""
        out = list(self._losses)
        stack = list(reversed(self._layers))
        while stack:
            layer = stack.pop()
            out.extend(layer._losses)
            stack.extend(reversed(layer._layers))
        out.extend(w.regularizer(w) for w in self.trainable_weights if w.regularizer is not None)
        return out

    def _clear_losses(self) -> None:
        if self._losses:  # (assigning through __setattr__ costs more than the check)
            self._losses = []
        for layer in self._layers:
            layer._clear_losses()

    # ---- symbolic bookkeeping -------------------------------------------------------------
    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no defined input.")
        return self._inbound_nodes[0].input_tensors

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no defined output.")
        return self._inbound_nodes[0].outputs

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


Layer.build = _recording_build(Layer.build)


def _flatten_shapes(shapes) -> list[tuple]:
    if isinstance(shapes, tuple) and all(isinstance(s, (int, type(None))) for s in shapes):
        return [shapes]
    if isinstance(shapes, (list, tuple)):
        return [s for x in shapes for s in _flatten_shapes(x)]
    if isinstance(shapes, dict):
        return [s for k in sorted(shapes) for s in _flatten_shapes(shapes[k])]
    return [shapes]
