"""Define-by-run reverse-mode autodiff.

A :class:`Tensor` wraps an array. Every operation is a :class:`Function` with a
hand-written ``forward`` (arrays in, array out) and ``backward`` (the gradient
of the loss w.r.t. the output in, gradients w.r.t. the inputs out), side by
side. Applying a Function to tensors that require gradients records a node;
``Tensor.backward()`` walks the nodes in reverse topological order, applying
the chain rule dL/dx = dL/dy · dy/dx, and sums the gradients of a value used
more than once.
"""
from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy

from .backend import array_module, floatx, get_array_module

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "grad_enabled", True)


@contextlib.contextmanager
def no_grad():
    """Within this block no graph is recorded (inference, optimizer updates)."""
    prev = is_grad_enabled()
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = prev


@contextlib.contextmanager
def enable_grad():
    prev = is_grad_enabled()
    _state.grad_enabled = True
    try:
        yield
    finally:
        _state.grad_enabled = prev


def _as_array(value, dtype=None):
    if isinstance(value, Tensor):
        return value.data
    xp = get_array_module(value)
    if isinstance(value, (numpy.ndarray,)) or type(value).__module__.startswith("cupy"):
        return value if dtype is None else value.astype(dtype, copy=False)
    arr = (array_module() if xp is numpy else xp).asarray(value)  # lists, scalars: made on the backend
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype == numpy.float64 and not isinstance(value, numpy.generic):
        # Python floats and lists become the default float dtype, as in Keras.
        arr = arr.astype(floatx())
    return arr


class Tensor:
    """An array plus what is needed to differentiate through it.

    ``data``: the array (NumPy or CuPy). ``grad``: the accumulated gradient
    dL/d(self) after ``backward()`` (an array, or ``None``). ``requires_grad``:
    whether gradients flow to it.
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "name", "_keras_mask", "__weakref__")
    __array_priority__ = 1000  # numpy_array + tensor -> Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = _as_array(data, dtype)
        if requires_grad and self.data is (data.data if isinstance(data, Tensor) else data):
            # a leaf that will be trained: its own copy, so updates in place never reach the caller's array
            self.data = get_array_module(self.data).array(self.data, copy=True)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        if self.requires_grad and self.data.dtype.kind != "f":  # as in PyTorch: dL/dx needs a real x
            raise TypeError(f"Tensor: expected a floating dtype (float16, float32 or float64) for a tensor that "
                            f"requires gradients, received dtype {self.data.dtype}")
        self._node: _Node | None = None  # set when a recorded Function produced this tensor
        self.name = name
        self._keras_mask = None

    @property
    def _ctx(self) -> Function | None:
        """The Function that produced this tensor (None for leaves and after the backward released it)."""
        return self._node._ctx if self._node is not None else None

    @_ctx.setter
    def _ctx(self, fn: Function | None) -> None:
        if fn is None:
            if self._node is not None:
                self._node._ctx = None
        else:
            self._node = _Node(fn, self.data)

    # ---- array-like properties -------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self):
        from .backend import asnumpy

        return asnumpy(self.data)

    def item(self):
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self) -> str:
        g = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{g})"

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def astype(self, dtype) -> Tensor:
        from .ops import cast

        return cast(self, dtype)

    def zero_grad(self) -> None:
        self.grad = None

    # ---- the backward pass ------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False, on_leaf_grad=None) -> None:
        """Accumulate dL/dx into ``x.grad`` for every leaf x that requires grad.

        ``grad`` is dL/d(self); it may be omitted only when self is a scalar
        (then it is 1). Gradients accumulate across calls, as in PyTorch, until
        ``zero_grad``. Unless ``retain_graph``, each node's saved arrays are
        released as soon as its backward has run.

        A leaf's gradient is final once every node that uses it has run its backward (the walk counts the
        uses): it is then stored in ``x.grad`` and ``on_leaf_grad(x)``, when given, is called at once, while
        the rest of the backward is still to run (PyTorch's post-accumulate-grad hook; the data-parallel
        trainer starts a bucket's allreduce from it).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no graph; "
                "expected a result computed from tensors with requires_grad=True"
            )
        xp = get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicitly created only for scalar outputs; "
                    f"expected a gradient of shape {self.shape} to be passed, received none"
                )
            grad = xp.ones_like(self.data)
        else:
            grad = _as_array(grad, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(): expected a gradient of shape {self.shape}, received shape {grad.shape}"
                )
        root = self._node if self._node is not None else self
        order, uses = _topological_order(root)
        grads: dict[int, Any] = {id(root): grad}
        given: set[int] = {id(grad)}  # arrays already handed to a leaf (or the caller's own): copied before reuse

        def leaf_done(t, g) -> None:  # every use of leaf t has sent its part: dL/dt = Σ of the parts is final
            if t.requires_grad:
                t.grad = _own(g, given) if t.grad is None else t.grad + g
                if on_leaf_grad is not None:
                    on_leaf_grad(t)

        for t in order:
            g = grads.pop(id(t), None)
            fn = t._ctx
            if fn is None:  # a leaf no node uses: the root itself
                if g is not None:
                    leaf_done(t, g)
                continue
            in_grads = () if g is None else fn.backward(g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for i, inp in enumerate(fn.inputs):
                if not inp.requires_grad:
                    continue
                ig = in_grads[i] if i < len(in_grads) else None
                key = id(inp)
                if ig is not None:
                    prev = grads.get(key)
                    grads[key] = ig if prev is None else _sum_grads(prev, ig)
                uses[key] -= 1
                if uses[key] == 0 and inp._ctx is None:  # the last use of a leaf has run
                    done = grads.pop(key, None)
                    if done is not None:
                        leaf_done(inp, done)
            if g is not None and not retain_graph:
                fn.release()
                t._ctx = None

    # ---- operators (defined in ops, bound here) ------------------------------------
    def __add__(self, other):
        from .ops import add

        return add(self, other)

    def __radd__(self, other):
        from .ops import add

        return add(other, self)

    def __sub__(self, other):
        from .ops import subtract

        return subtract(self, other)

    def __rsub__(self, other):
        from .ops import subtract

        return subtract(other, self)

    def __mul__(self, other):
        from .ops import multiply

        return multiply(self, other)

    def __rmul__(self, other):
        from .ops import multiply

        return multiply(other, self)

    def __truediv__(self, other):
        from .ops import divide

        return divide(self, other)

    def __rtruediv__(self, other):
        from .ops import divide

        return divide(other, self)

    def __neg__(self):
        from .ops import negative

        return negative(self)

    def __pow__(self, other):
        from .ops import power

        return power(self, other)

    def __rpow__(self, other):
        from .ops import power

        return power(other, self)

    def __matmul__(self, other):
        from .ops import matmul

        return matmul(self, other)

    def __rmatmul__(self, other):
        from .ops import matmul

        return matmul(other, self)

    def __getitem__(self, index):
        from .ops import getitem

        return getitem(self, index)

    # comparisons give plain boolean arrays (no gradient), like torch's bool tensors
    def __gt__(self, other):
        return self.data > _as_array(other)

    def __lt__(self, other):
        return self.data < _as_array(other)

    def __ge__(self, other):
        return self.data >= _as_array(other)

    def __le__(self, other):
        return self.data <= _as_array(other)

    def sum(self, axis=None, keepdims=False):
        from .ops import sum as _sum

        return _sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        from .ops import mean

        return mean(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        from .ops import reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape)

    def transpose(self, axes=None):
        from .ops import transpose

        return transpose(self, axes)

    @property
    def T(self):
        return self.transpose()


class _Node:
    """What the graph keeps of an intermediate tensor: its producer, shape and dtype, not its values.

    Functions record their inputs as these nodes (leaves stay Tensors, which receive ``.grad``), so an
    intermediate array is freed as soon as neither the user nor a Function's saved state holds it: a
    batch norm's output is not kept alive by the ReLU after it, which keeps its own output instead.
    """

    __slots__ = ("_ctx", "shape", "dtype", "grad")
    requires_grad = True

    def __init__(self, fn: Function, data):
        self._ctx, self.shape, self.dtype, self.grad = fn, data.shape, data.dtype, None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _own(g, given: set):
    """``g`` as a leaf's own gradient: a writable array no other leaf (nor the caller) holds. A backward may
    pass one array to two inputs (d(a+b)/da = d(a+b)/db = 1) or a read-only broadcast view (d sum(x)/dx)."""
    xp = get_array_module(g)
    if id(g) in given or not getattr(g, "flags", None) or not g.flags.writeable:
        g = xp.array(g, copy=True)
    given.add(id(g))
    return g


def _sum_grads(a, b):
    """a + b, the gradients of one tensor from two paths (a residual block's input): a new array, on both
    threads (the compiled kernel) where the two are large NumPy arrays of one shape and dtype."""
    from .ops import kernels  # noqa: PLC0415 - ops import this module

    if a.shape == b.shape and kernels.usable(a, b):
        return kernels.add(a, b)
    return a + b


def _topological_order(root) -> tuple[list, dict[int, int]]:
    """Tensors from ``root`` back to the leaves, each after every tensor that uses it; and for each tensor
    (by id) the number of uses the graph makes of it (inputs of its nodes that require grad)."""
    order: list[Tensor] = []
    visited: set[int] = set()
    uses: dict[int, int] = {}
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, processed = stack.pop()
        if processed:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t._ctx is not None:
            for inp in t._ctx.inputs:
                if inp.requires_grad:
                    uses[id(inp)] = uses.get(id(inp), 0) + 1
                    if id(inp) not in visited:
                        stack.append((inp, False))
    order.reverse()
    return order, uses


class Function:
    """One differentiable operation: ``forward`` and ``backward`` side by side.

    Subclasses implement ``forward(*arrays) -> array`` and
    ``backward(grad_output) -> grad or tuple of grads`` (one per input, ``None``
    where an input needs none). Keep in ``self`` only what the backward needs;
    :meth:`release` drops it after the backward has run. Keyword arguments of
    :meth:`apply` are configuration, stored as attributes before ``forward``.
    """

    inputs: tuple[Tensor, ...] = ()

    def __init__(self, **config):
        self.__dict__.update(config)

    @classmethod
    def apply(cls, *inputs, **config) -> Tensor:
        fn = cls(**config)
        tensors = tuple(x if isinstance(x, Tensor) else Tensor(_as_array(x)) for x in inputs)
        y = fn.forward(*(t.data for t in tensors))
        out = Tensor(y)
        recorder = getattr(_state, "recorder", None)
        if recorder is not None:  # an inference plan is being recorded (neuronka.models.replay)
            recorder.record(cls, config, tensors, out)
        if is_grad_enabled() and any(t.requires_grad for t in tensors):
            fn.inputs = tuple(t._node if t._node is not None else t for t in tensors)
            out.requires_grad = True
            out._ctx = fn
        return out

    def forward(self, *xs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, gy):  # pragma: no cover - abstract
        raise NotImplementedError

    def release(self) -> None:
        self.__dict__.clear()
        self.inputs = ()


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor (Python numbers and lists become ``floatx()``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def unbroadcast(grad, shape: Sequence[int]):
    """Undo broadcasting: sum ``grad`` down to ``shape`` (d(x broadcast)/dx = sum over the copies)."""
    if grad.shape == tuple(shape):
        return grad
    ndiff = grad.ndim - len(shape)
    if ndiff > 0:
        grad = grad.sum(axis=tuple(range(ndiff)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad
