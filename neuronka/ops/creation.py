"""Arrays made from shapes and ranges (``keras.ops`` creation functions): zeros, ones, full, empty, their
``*_like`` forms, array, arange, linspace, logspace, geomspace, eye, identity, tri, meshgrid, vander, and the
window functions (bartlett, blackman, hamming, hanning, kaiser).

Made from nothing but a shape, an array lives in NumPy (``backend.get_array_module`` of no data); the
``*_like`` forms follow their argument. linspace, logspace and geomspace are differentiable in ``start`` and
``stop``, meshgrid and vander in their inputs, ``full`` in a tensor ``fill_value``.
"""
from __future__ import annotations

import builtins
import numbers

import numpy

from ..autograd import Function, Tensor, unbroadcast
from ..backend import floatx, get_array_module
from ..dtypes import standardize_dtype
from .exponential import log10
from .math import abs as _abs
from .math import divide as _divide
from .math import multiply, power, subtract
from .promotion import _array_of, _as_dtype, _no_graph, _result_dtype, _unary_input, cast

__all__ = ["zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like", "array",
           "arange", "linspace", "logspace", "geomspace", "eye", "identity", "tri", "meshgrid", "vander",
           "bartlett", "blackman", "hamming", "hanning", "kaiser"]


def _dtype(op: str, dtype, default=None) -> numpy.dtype:
    """``dtype`` (a name, NumPy dtype or Python type; None: ``default`` or ``floatx()``) as a NumPy dtype."""
    name = standardize_dtype(default if dtype is None and default is not None else dtype)
    try:
        return numpy.dtype(name)
    except TypeError:
        raise ValueError(f"{op}: dtype {name!r} has no NumPy equivalent; received dtype={dtype!r}") from None


def _shape(op: str, shape) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    if not all(isinstance(n, numbers.Integral) and n >= 0 for n in dims):
        raise ValueError(f"{op}: expected a shape of non-negative integers, received shape={shape!r}")
    return tuple(int(n) for n in dims)


# ----------------------------------------------------------------------------------
# filled arrays
# ----------------------------------------------------------------------------------
def zeros(shape, dtype=None) -> Tensor:
    """An array of zeros of ``shape`` (an int or a tuple); dtype None: ``floatx()``."""
    return _no_graph(numpy.zeros(_shape("zeros", shape), _dtype("zeros", dtype)))


def ones(shape, dtype=None) -> Tensor:
    """An array of ones of ``shape`` (an int or a tuple); dtype None: ``floatx()``."""
    return _no_graph(numpy.ones(_shape("ones", shape), _dtype("ones", dtype)))


def empty(shape, dtype=None) -> Tensor:
    """An uninitialized array of ``shape`` (an int or a tuple; its values are whatever memory held); dtype
    None: ``floatx()``."""
    return _no_graph(numpy.empty(_shape("empty", shape), _dtype("empty", dtype)))


class Fill(Function):
    def forward(self, value):
        self.value_shape = value.shape
        return get_array_module(value).broadcast_to(value, self.shape).copy()

    def backward(self, gy):  # each copy of the value contributes: dL/dvalue = Σ over the copies of gy
        return unbroadcast(gy, self.value_shape)


def full(shape, fill_value, dtype=None) -> Tensor:
    """An array of ``shape`` filled with ``fill_value`` (a scalar, or an array broadcast over the trailing
    axes); dtype None: ``floatx()`` (as Keras on PyTorch, even for an integer fill value).

    Differentiable in a float tensor ``fill_value`` (its gradient is the sum over its copies)."""
    dims = _shape("full", shape)
    value = _as_dtype(_unary_input(fill_value), _dtype("full", dtype).name)
    try:
        numpy.broadcast_shapes(numpy.shape(_array_of(value)), dims)
    except ValueError:
        raise ValueError(f"full: fill_value of shape {numpy.shape(_array_of(value))} does not broadcast to "
                         f"shape {dims}") from None
    if isinstance(value, Tensor) and value.dtype.kind == "f":
        return Fill.apply(value, shape=dims)
    arr = _array_of(value)
    return _no_graph(get_array_module(arr).broadcast_to(arr, dims).copy())


def _like(op: str, x, dtype):
    arr = _array_of(_unary_input(x))
    return get_array_module(arr), arr.shape, _dtype(op, dtype, default=arr.dtype)


def zeros_like(x, dtype=None) -> Tensor:
    """Zeros of x's shape, in x's dtype unless ``dtype`` is given."""
    xp, shape, dt = _like("zeros_like", x, dtype)
    return _no_graph(xp.zeros(shape, dt))


def ones_like(x, dtype=None) -> Tensor:
    """Ones of x's shape, in x's dtype unless ``dtype`` is given."""
    xp, shape, dt = _like("ones_like", x, dtype)
    return _no_graph(xp.ones(shape, dt))


def empty_like(x, dtype=None) -> Tensor:
    """An uninitialized array of x's shape, in x's dtype unless ``dtype`` is given."""
    xp, shape, dt = _like("empty_like", x, dtype)
    return _no_graph(xp.empty(shape, dt))


def full_like(x, fill_value, dtype=None) -> Tensor:
    """``fill_value`` in x's shape, in x's dtype unless ``dtype`` is given (``full_like(int_array, 2.7)`` is
    all 2)."""
    _, shape, dt = _like("full_like", x, dtype)
    return full(shape, fill_value, dtype=dt)


def array(x, dtype=None) -> Tensor:
    """A tensor holding ``x`` (a list, array, scalar or tensor), converted as Keras does: Python ints int32,
    floats ``floatx()``, arrays keeping their dtype, unless ``dtype`` is given. An array is copied; a tensor
    keeps its graph (through ``cast`` when ``dtype`` differs)."""
    if isinstance(x, Tensor):
        return x if dtype is None else cast(x, dtype)
    if dtype is not None and isinstance(x, (bool, int, float, complex, list, tuple)):
        return _no_graph(numpy.array(x, dtype=_dtype("array", dtype)))
    arr = _array_of(x)
    target = arr.dtype if dtype is None else _dtype("array", dtype)
    return _no_graph(arr.astype(target, copy=True))


# ----------------------------------------------------------------------------------
# ranges
# ----------------------------------------------------------------------------------
def arange(start, stop=None, step=None, dtype=None) -> Tensor:
    """start, start + step, ... up to but excluding stop (``arange(n)``: 0, 1, ..., n − 1).

    The count is ⌈(stop − start)/step⌉ (none when the step points away from stop); value i is start + i·step
    cast to the dtype (for an integer dtype, start + i·step with start and step first truncated to integers,
    as Keras on PyTorch: ``arange(0.5, 5, 1.5, dtype="int32")`` is 0, 1, 2). dtype None: the promotion of
    the three, Python scalars weakly typed, so ``arange(5)`` is int32 and ``arange(0, 1, 0.25)`` ``floatx()``.
    (Keras on PyTorch raises where NumPy returns an empty range; neuronka returns it empty.)"""
    values = [v for v in (start, stop, step) if v is not None]
    for name, v in zip(("start", "stop", "step"), (start, stop, step)):
        if v is not None and numpy.ndim(_array_of(v)) != 0:
            raise ValueError(f"arange: expected a scalar {name}, received shape {numpy.shape(_array_of(v))}")
    dt = _dtype("arange", dtype if dtype is not None else _result_dtype(*values))
    first, last = (0, start) if stop is None else (start, stop)
    first, last, delta = (_array_of(v).item() for v in (first, last, 1 if step is None else step))
    if delta == 0:
        raise ValueError("arange: expected a nonzero step, received step=0")
    if all(isinstance(v, int) for v in (first, last, delta)):
        return _no_graph(numpy.arange(first, last, delta).astype(dt))
    count = builtins.max(int(numpy.ceil((last - first) / delta)), 0)
    if dt.kind in "iub":  # as Keras (PyTorch): start and step truncated to integers, the count from the floats
        first, delta = int(first), int(delta)
        return _no_graph((first + numpy.arange(count, dtype=numpy.int64) * delta).astype(dt))
    return _no_graph((first + numpy.arange(count) * float(delta)).astype(dt))


class Linspace(Function):
    def forward(self, start, stop):
        xp = get_array_module(start)
        self.shapes = start.shape, stop.shape
        t = xp.arange(self.num, dtype=start.dtype) / self.divisions  # the fractions t_i of the way to stop
        self.t = t.reshape((-1,) + (1,) * builtins.max(start.ndim, stop.ndim))
        y = start + self.t * (stop - start)
        if self.endpoint and self.num > 1:
            y[-1] = stop  # exactly, as NumPy
        return xp.moveaxis(y, 0, self.axis)

    def backward(self, gy):  # y_i = start + t_i (stop − start): dy_i/dstart = 1 − t_i, dy_i/dstop = t_i
        gy = get_array_module(gy).moveaxis(gy, self.axis, 0)
        g_start, g_stop = ((1 - self.t) * gy).sum(axis=0), (self.t * gy).sum(axis=0)
        return unbroadcast(g_start, self.shapes[0]), unbroadcast(g_stop, self.shapes[1])


def _check_num(op: str, num) -> int:
    if not isinstance(num, numbers.Integral) or isinstance(num, bool) or num < 0:
        raise ValueError(f"{op}: expected num a non-negative integer, received num={num!r}")
    return int(num)


def _check_axis(op: str, axis, ndim: int) -> int:
    if not isinstance(axis, numbers.Integral) or not -ndim <= axis < ndim:
        raise ValueError(f"{op}: expected axis in [-{ndim}, {ndim}) for a result of rank {ndim}, "
                         f"received axis={axis!r}")
    return int(axis) % ndim


def _linspace(op: str, start, stop, num: int, endpoint: bool, axis, compute: str) -> Tensor:
    """The samples in ``compute`` (a float dtype), differentiable in start and stop."""
    start, stop = _as_dtype(_unary_input(start), compute), _as_dtype(_unary_input(stop), compute)
    try:
        sample_shape = numpy.broadcast_shapes(start.shape, stop.shape)
    except ValueError:
        raise ValueError(f"{op}: start of shape {start.shape} and stop of shape {stop.shape} do not broadcast "
                         f"together") from None
    axis = _check_axis(op, axis, len(sample_shape) + 1)
    divisions = (num - 1 if endpoint else num) or 1
    return Linspace.apply(start, stop, num=num, divisions=divisions, endpoint=endpoint, axis=axis)


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False, dtype=None,
             axis: int = 0):
    """``num`` evenly spaced samples from start to stop (stop included when ``endpoint``); start and stop may
    be arrays, giving one sequence per element along ``axis``.

    Sample i is start + i·step with step = (stop − start)/(num − 1) (``endpoint``) or /num. dtype None: the
    promotion of start and stop with a float (``floatx()`` for Python numbers); an integer dtype truncates the
    samples toward zero. ``retstep``: also return the step. Differentiable in start and stop
    (dy_i/dstart = 1 − i/(num − 1), dy_i/dstop = i/(num − 1)). Keras on PyTorch accepts only axis=0;
    neuronka takes any axis, as NumPy."""
    num = _check_num("linspace", num)
    dt = _dtype("linspace", dtype if dtype is not None else _result_dtype(start, stop, floating=True))
    compute = dt.name if dt.kind == "f" else "float64"
    samples = _linspace("linspace", start, stop, num, endpoint, axis, compute)
    samples = samples if samples.dtype == dt else cast(samples, dt)
    if not retstep:
        return samples
    divisions = num - 1 if endpoint else num
    if divisions <= 0:
        return samples, _no_graph(numpy.float64("nan"))
    if isinstance(start, (int, float)) and isinstance(stop, (int, float)):  # Python numbers: a float64 step
        return samples, _no_graph(numpy.float64((stop - start) / divisions))
    start, stop = _as_dtype(_unary_input(start), compute), _as_dtype(_unary_input(stop), compute)
    return samples, _divide(subtract(stop, start), divisions)


def logspace(start, stop, num: int = 50, endpoint: bool = True, base=10, dtype=None, axis: int = 0) -> Tensor:
    """base^s for ``num`` evenly spaced exponents s from start to stop (see :func:`linspace`): a geometric
    sequence from base^start to base^stop.

    dtype None: the promotion of start and stop with a float. Differentiable in start and stop
    (d base^s/ds = base^s · ln base, times the linspace weights)."""
    num = _check_num("logspace", num)
    dt = _dtype("logspace", dtype if dtype is not None else _result_dtype(start, stop, floating=True))
    exponents = _linspace("logspace", start, stop, num, endpoint, axis, "float64")
    y = power(_as_dtype(_unary_input(base), "float64"), exponents)
    return y if y.dtype == dt else cast(y, dt)


def geomspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, axis: int = 0) -> Tensor:
    """``num`` samples from start to stop spaced evenly on a log scale (each a constant multiple of the one
    before): sign(start) · 10^linspace(log₁₀|start|, log₁₀|stop|).

    start and stop must be nonzero and of one sign. dtype None: the promotion of start and stop with a float
    (an integer dtype is honoured; Keras on PyTorch returns floats for it). Differentiable in start and stop."""
    num = _check_num("geomspace", num)
    dt = _dtype("geomspace", dtype if dtype is not None else _result_dtype(start, stop, floating=True))
    start, stop = _as_dtype(_unary_input(start), "float64"), _as_dtype(_unary_input(stop), "float64")
    s0, s1 = _array_of(start), _array_of(stop)
    if (s0 == 0).any() or (s1 == 0).any():
        raise ValueError("geomspace: a geometric sequence cannot include zero; received a zero start or stop")
    if (numpy.sign(s0) != numpy.sign(s1)).any():
        raise ValueError("geomspace: expected start and stop of one sign, received opposite signs")
    magnitudes = logspace(log10(_abs(start)), log10(_abs(stop)), num, endpoint, base=10, dtype="float64", axis=axis)
    sign = numpy.sign(s0).astype(numpy.float64)
    y = multiply(magnitudes, numpy.expand_dims(sign, _check_axis("geomspace", axis, sign.ndim + 1)))
    return y if y.dtype == dt else cast(y, dt)


# ----------------------------------------------------------------------------------
# matrices and grids
# ----------------------------------------------------------------------------------
def _count(op: str, name: str, n) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"{op}: expected {name} a non-negative integer, received {name}={n!r}")
    return int(n)


def eye(N: int, M: int | None = None, k: int = 0, dtype=None) -> Tensor:  # noqa: N803 - keras.ops names
    """The N×M matrix (M = N by default) with ones on diagonal k (0: the main one, > 0 above, < 0 below) and
    zeros elsewhere; dtype None: ``floatx()``."""
    n = _count("eye", "N", N)
    m = n if M is None else _count("eye", "M", M)
    return _no_graph(numpy.eye(n, m, k=0 if k is None else int(k), dtype=_dtype("eye", dtype)))


def identity(n: int, dtype=None) -> Tensor:
    """The n×n identity matrix; dtype None: ``floatx()``."""
    return eye(_count("identity", "n", n), dtype=dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype=None) -> Tensor:  # noqa: N803 - keras.ops names
    """The N×M matrix (M = N by default) with ones on and below diagonal k, zeros above; dtype None:
    ``floatx()``. (Keras on PyTorch reads M=0 as M=N; neuronka gives N×0, as NumPy.)"""
    n = _count("tri", "N", N)
    m = n if M is None else _count("tri", "M", M)
    return _no_graph(numpy.tri(n, m, k=int(k), dtype=_dtype("tri", dtype)))


class GridAxis(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.src_shape = x.shape
        view = [1] * len(self.shape)
        view[self.position] = x.size
        return xp.broadcast_to(x.reshape(view), self.shape).copy()

    def backward(self, gy):  # each grid value copies one x_i: dL/dx_i = Σ of gy over its copies
        others = tuple(a for a in range(gy.ndim) if a != self.position)
        return gy.sum(axis=others).reshape(self.src_shape)


def meshgrid(*x, indexing: str = "xy") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D coordinate vectors x₁, ..., xₙ: output i repeats xᵢ along axis i of the grid.

    ``indexing="ij"``: the grid's shape is (len x₁, ..., len xₙ); ``"xy"`` (Cartesian) swaps the first two
    axes. Each output keeps its input's dtype (Keras on PyTorch requires one dtype for all); each is
    differentiable in its input (the sum over the copies)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: expected indexing 'xy' or 'ij', received indexing={indexing!r}")
    vectors = [_unary_input(v) for v in x]
    sizes = [int(numpy.size(_array_of(v))) for v in vectors]
    shape = list(sizes)
    positions = list(range(len(vectors)))
    if indexing == "xy" and len(vectors) > 1:
        shape[0], shape[1] = shape[1], shape[0]
        positions[0], positions[1] = 1, 0
    outputs = []
    for v, position in zip(vectors, positions):
        if isinstance(v, Tensor) and v.requires_grad:
            outputs.append(GridAxis.apply(v, shape=tuple(shape), position=position))
        else:
            outputs.append(_no_graph(GridAxis(shape=tuple(shape), position=position).forward(_array_of(v))))
    return tuple(outputs)


class Vander(Function):
    def forward(self, x):
        self.x, self.p = x, get_array_module(x).asarray(self.powers, dtype=x.dtype)
        return x[:, None] ** self.p

    def backward(self, gy):  # y_ij = x_i^p_j: dy_ij/dx_i = p_j · x_i^(p_j − 1) (0 for p_j = 0)
        slope = self.p * self.x[:, None] ** get_array_module(gy).maximum(self.p - 1, 0)
        return (gy * slope).sum(axis=1)


def vander(x, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803 - keras.ops name
    """The Vandermonde matrix of the 1-D x: column j is x^(N−1−j) (or x^j with ``increasing``), N columns
    (len x by default), in x's dtype (booleans: x^0 is True). Differentiable in a float x
    (d x^p/dx = p·x^(p−1))."""
    x = _unary_input(x)
    if x.ndim != 1:
        raise ValueError(f"vander: expected a 1-D x, received shape {tuple(x.shape)}")
    n = x.shape[0] if N is None else _count("vander", "N", N)
    powers = numpy.arange(n) if increasing else numpy.arange(n - 1, -1, -1)
    if x.dtype.kind == "f":
        return Vander.apply(x, powers=powers)
    arr = _array_of(x)
    if arr.dtype == bool:
        return _no_graph(Vander(powers=powers).forward(arr.astype(numpy.int32)).astype(bool))
    return _no_graph(Vander(powers=powers).forward(arr))


# ----------------------------------------------------------------------------------
# window functions
# ----------------------------------------------------------------------------------
def _window_length(op: str, x) -> int:
    m = x.data if isinstance(x, Tensor) else x
    if numpy.ndim(m) != 0 or numpy.asarray(m).dtype.kind not in "iu" or int(m) < 0:
        raise ValueError(f"{op}: expected the window length x, a non-negative integer, received x={x!r}")
    return int(m)


def bartlett(x) -> Tensor:
    """The Bartlett (triangular) window of x points: 1 − |2n/(x − 1) − 1|, n = 0 … x − 1; ``floatx()``."""
    return _no_graph(numpy.bartlett(_window_length("bartlett", x)).astype(floatx()))


def blackman(x) -> Tensor:
    """The Blackman window of x points: 0.42 − 0.5 cos(2πn/(x − 1)) + 0.08 cos(4πn/(x − 1)); ``floatx()``."""
    return _no_graph(numpy.blackman(_window_length("blackman", x)).astype(floatx()))


def hamming(x) -> Tensor:
    """The Hamming window of x points: 0.54 − 0.46 cos(2πn/(x − 1)); ``floatx()``."""
    return _no_graph(numpy.hamming(_window_length("hamming", x)).astype(floatx()))


def hanning(x) -> Tensor:
    """The Hann window of x points: 0.5 − 0.5 cos(2πn/(x − 1)); ``floatx()``."""
    return _no_graph(numpy.hanning(_window_length("hanning", x)).astype(floatx()))


def kaiser(x, beta) -> Tensor:
    """The Kaiser window of x points: I₀(β √(1 − (2n/(x − 1) − 1)²)) / I₀(β); ``floatx()``."""
    return _no_graph(numpy.kaiser(_window_length("kaiser", x), float(_array_of(beta))).astype(floatx()))
