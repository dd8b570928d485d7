"""Encoding preprocessing layers: CategoryEncoding, Hashing, HashedCrossing, Discretization (Keras 3's).

They map raw feature values (integers, strings, floats) to bin or token indices, and encode indices as
vectors. They run on NumPy on the CPU and are not differentiable: an index has no derivative, and the float
vectors of the one-hot / multi-hot / count modes are step functions of the input, so their outputs carry no
graph (Keras's outputs carry none either). The one exception is ``CategoryEncoding``'s ``count_weights``,
which the count output is linear in: gradients flow to them, as in Keras.

Encoding indices x into vectors of width ``depth`` (:func:`encode_categorical`), as Keras does:

- ``"one_hot"``: y[..., i, v] = [x[..., i] = v]; a trailing axis of size 1 is dropped first, so (N, 1) gives
  (N, depth) and (N, L) gives (N, L, depth);
- ``"multi_hot"``: y[..., v] = [v occurs in the sample], ``"count"``: y[..., v] = #occurrences (weighted by
  ``count_weights``); the sample axis is axis 1 (axis 0 for a 1-D input): (N, L) → (N, depth), (L,) → (depth,),
  and — Keras's rule, kept — (N, L, M) → (N, M, depth);
- indices outside [0, depth) give all-zero vectors (Keras's TensorFlow ops drop them).
"""
from __future__ import annotations

import numpy

from ..autograd import Tensor
from ..backend import floatx
from .base import Layer
from .hash_functions import CROSS_HASH_KEY, fingerprint64, fingerprint_cat64, siphash64

__all__ = ["CategoryEncoding", "Discretization", "HashedCrossing", "Hashing"]


# ----------------------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------------------
def as_array(x) -> numpy.ndarray:
    """A layer input (Tensor, NumPy array, list, scalar, str) as a NumPy array (strings as an object array)."""
    if isinstance(x, Tensor):
        return numpy.asarray(x.data)
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor handed over by a user
        return x.detach().cpu().numpy()
    if isinstance(x, numpy.ndarray):
        return x
    arr = numpy.asarray(x)
    if arr.dtype.kind in "US":
        arr = numpy.asarray(x, dtype=object)
    return arr


def is_string_array(arr: numpy.ndarray) -> bool:
    if arr.dtype.kind in "US":
        return True
    if arr.dtype == object:
        return all(isinstance(v, (str, bytes)) for v in arr.reshape(-1)[:8].tolist()) and arr.size > 0
    return False


def _scatter_counts(x: numpy.ndarray, axis: int, depth: int, weights=None) -> numpy.ndarray:
    """c[..., v] = Σ_i w_i·[x_i = v] over ``axis`` of ``x`` (w = 1 without weights); out-of-range x ignored."""
    x = numpy.moveaxis(x, axis, -1)
    lead = x.shape[:-1]
    rows = numpy.repeat(numpy.arange(int(numpy.prod(lead, dtype=numpy.int64))), x.shape[-1])
    flat = x.reshape(-1).astype(numpy.int64)
    valid = (flat >= 0) & (flat < depth)
    w = None
    if weights is not None:
        w = numpy.moveaxis(numpy.asarray(weights, dtype=numpy.float64), axis, -1).reshape(-1)[valid]
    n_rows = int(numpy.prod(lead, dtype=numpy.int64))
    counts = numpy.bincount(rows[valid] * depth + flat[valid], weights=w, minlength=n_rows * depth)
    return counts.reshape(lead + (depth,))


def _one_hot(x: numpy.ndarray, depth: int, dtype) -> numpy.ndarray:
    """y[..., v] = [x[...] = v] (all zeros where x is outside [0, depth))."""
    out = numpy.zeros(x.shape + (depth,), dtype=dtype)
    flat = x.reshape(-1).astype(numpy.int64)
    valid = numpy.flatnonzero((flat >= 0) & (flat < depth))
    out.reshape(-1, depth)[valid, flat[valid]] = 1
    return out


def encode_categorical(indices, output_mode: str, depth: int, dtype, count_weights=None):
    """Keras's encoding of integer ``indices`` (see the module docstring); a NumPy array of ``dtype`` — or, for
    "count" with ``count_weights`` a Tensor that requires a gradient, a Tensor differentiable in the weights:
    y[..., v] = Σ_i w_i·[x_i = v], so ∂L/∂w_i = g[..., x_i]."""
    x = numpy.asarray(indices)
    if output_mode == "int":
        return x.astype(dtype)
    if x.ndim == 0:
        x = x[None]
    if output_mode == "one_hot":
        if x.ndim > 1 and x.shape[-1] == 1:
            x = x[..., 0]
        return _one_hot(x, depth, dtype)
    axis = 1 if x.ndim > 1 else 0
    if output_mode == "multi_hot":
        return (_scatter_counts(x, axis, depth) > 0).astype(dtype)
    if count_weights is None:
        return _scatter_counts(x, axis, depth).astype(dtype)
    if isinstance(count_weights, Tensor) and count_weights.requires_grad:
        from .. import ops  # noqa: PLC0415

        w = count_weights if count_weights.ndim else ops.expand_dims(count_weights, 0)
        hot = Tensor(_one_hot(x, depth, count_weights.dtype))
        return ops.sum(ops.multiply(hot, ops.expand_dims(w, -1)), axis=axis)
    weights = as_array(count_weights)
    weights = weights.reshape(x.shape) if weights.ndim == 0 else weights
    return _scatter_counts(x, axis, depth, weights).astype(dtype)


def check_string_arg(caller: str, arg: str, value, allowed: tuple) -> None:
    """Keras's ValueError for a string argument outside ``allowed``."""
    if not (isinstance(value, str) and value in allowed):
        raise ValueError(f"Unknown value for `{arg}` argument of {caller}. Allowed values are: {allowed}. "
                         f"Received: {arg}={value}")


def refuse_sparse(layer: str, sparse) -> None:
    if sparse:
        raise ValueError(f"{layer}: `sparse=True` is not supported: neuronka has no sparse tensors (Keras allows it "
                         f"with its TensorFlow backend only). Received: sparse={sparse}")


def _map_shapes(inputs):
    """The shape of an array input (a list of shapes for a list of arrays); None for other inputs."""
    if isinstance(inputs, (list, tuple)):
        shapes = [tuple(x.shape) if hasattr(x, "shape") else None for x in inputs]
        return None if any(s is None for s in shapes) else shapes
    return tuple(int(d) for d in inputs.shape) if hasattr(inputs, "shape") else None


class DataPreprocessingLayer(Layer):
    """A layer computing on NumPy data, outside the autograd graph (the preprocessing layers).

    Calling it on arrays, lists, scalars, strings or Tensors runs ``call`` directly (no numeric conversion, so
    strings pass); calling it on ``KerasTensor``s records a node whose outputs have ``_output_dtype()``.
    """

    def _output_dtype(self) -> str:
        return self.dtype

    def __call__(self, inputs, *args, **kwargs):
        from .base import _flatten  # noqa: PLC0415
        from .symbolic import KerasTensor  # noqa: PLC0415

        if any(isinstance(x, KerasTensor) for x in _flatten(inputs)):
            out = super().__call__(inputs, *args, **kwargs)
            for t in _flatten(out):
                t.dtype = self._output_dtype()
            return out
        kwargs.pop("training", None)
        kwargs.pop("mask", None)
        if self._build_shapes_dict is None:  # Keras records the first call's input shape as the build config
            shapes = _map_shapes(inputs)
            if shapes is not None:
                self._build_shapes_dict = {"input_shape": shapes}
        self.built = True
        out = self.call(inputs, *args, **kwargs)
        return out if isinstance(out, Tensor) else Tensor(out)


# ----------------------------------------------------------------------------------------------------
# CategoryEncoding
# ----------------------------------------------------------------------------------------------------
class CategoryEncoding(DataPreprocessingLayer):
    """Integer token indices in [0, num_tokens) → one-hot, multi-hot or count vectors of width ``num_tokens``
    (see the module docstring for the axes). ``call(inputs, count_weights=None)``: in "count" mode each
    occurrence adds its weight instead of 1 (the output then has the weights' dtype, the layer's by default),
    and the output is differentiable in the weights. Indices ≥ num_tokens are a ValueError here (Keras's torch
    backend fails inside ``one_hot`` on them); negative ones give zero vectors, as in Keras. ``sparse=True`` is
    refused at construction (Keras's torch backend fails on it when called). Config: Keras's keys (without
    ``sparse``, which Keras leaves out too)."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        refuse_sparse("CategoryEncoding", sparse)
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False

    def call(self, inputs, count_weights=None):
        x = as_array(inputs)
        if x.dtype.kind not in "biuf":
            raise ValueError(f"CategoryEncoding {self.name!r}: expected integer token indices, received an input "
                             f"of dtype {x.dtype}")
        x = x.astype(numpy.int64)
        if x.size and x.max() >= self.num_tokens:
            raise ValueError(f"CategoryEncoding {self.name!r}: expected token indices in [0, num_tokens="
                             f"{self.num_tokens}), received a maximum of {int(x.max())}")
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(f"`count_weights` is not used when `output_mode` is not `'count'`. "
                                 f"Received `count_weights={count_weights}`.")
            if not isinstance(count_weights, Tensor):
                count_weights = numpy.asarray(as_array(count_weights), dtype=self.compute_dtype)
            elif count_weights.dtype != self.compute_dtype:
                from .. import ops  # noqa: PLC0415

                count_weights = ops.cast(count_weights, self.compute_dtype)
        dtype = self.compute_dtype
        return encode_categorical(x, self.output_mode, self.num_tokens, dtype, count_weights)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_tokens,)
        if self.output_mode == "one_hot":
            if input_shape[-1] != 1 or len(input_shape) == 1:
                return input_shape + (self.num_tokens,)
            return input_shape[:-1] + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}


# ----------------------------------------------------------------------------------------------------
# Hashing
# ----------------------------------------------------------------------------------------------------
def _salt_pair(layer: str, salt) -> list[int] | None:
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return list(salt)
    if isinstance(salt, (int, numpy.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(f"The `salt` argument for `{layer}` can only be a tuple of size 2 integers, or a single "
                     f"integer. Received: salt={salt}.")


def values_as_bytes(arr: numpy.ndarray, encoding: str = "utf-8") -> list[bytes]:
    """The strings TensorFlow hashes for each value: strings as their UTF-8 bytes, integers (and floats, first
    truncated to int64) in decimal, booleans as "true"/"false"."""
    flat = arr.reshape(-1)
    if arr.dtype.kind == "b":
        return [b"true" if v else b"false" for v in flat.tolist()]
    if arr.dtype.kind == "f":
        flat = flat.astype(numpy.int64)
    if arr.dtype.kind in "iuf":
        return [str(v).encode() for v in flat.tolist()]
    out = []
    for v in flat.tolist():
        if isinstance(v, bytes):
            out.append(v)
        elif isinstance(v, str):
            out.append(v.encode("utf-8"))
        else:
            raise ValueError(f"expected strings or numbers to hash, received {v!r} of type {type(v).__name__}")
    return out


def hash_to_bins(arr: numpy.ndarray, num_bins: int, salt=None) -> numpy.ndarray:
    """bin = fingerprint64(s) mod num_bins (SipHash-2-4 keyed by ``salt`` instead when given), per value."""
    data = values_as_bytes(arr)
    h = siphash64(data, salt) if salt is not None else fingerprint64(data)
    return (h % numpy.uint64(num_bins)).astype(numpy.int64).reshape(arr.shape)


class Hashing(DataPreprocessingLayer):
    """Values (strings, integers, floats truncated to integers) → bins in [0, num_bins):
    bin = fingerprint64(str(x)) mod num_bins (FarmHash, :mod:`.hash_functions`), or SipHash-2-4 keyed by
    ``salt`` when it is given — bit for bit Keras's bins. ``mask_value``: inputs equal to it go to bin 0 and
    the others to 1 + hash mod (num_bins − 1). ``output_mode`` "one_hot" / "multi_hot" / "count" encode the
    bins (module docstring). Outputs have the layer's dtype: int64 by default in "int" mode, floatx otherwise.
    ``sparse=True`` is refused (no sparse tensors here)."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else floatx()
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                             f"Received: num_bins={num_bins}.")
        if output_mode == "int" and self.dtype_policy.name not in ("int32", "int64"):
            raise ValueError(f"When `output_mode=\"int\"`, `dtype` should be an integer type, 'int32' or 'in64'. "
                             f"Received: dtype={kwargs['dtype']}")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of ('int', 'one_hot', "
                             f"'multi_hot', 'count'). Received: output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError(f'`sparse` may only be true if `output_mode` is `"one_hot"`, `"multi_hot"`, or '
                             f'`"count"`. Received: sparse={sparse} and output_mode={output_mode}')
        refuse_sparse("Hashing", sparse)
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = False
        self.salt = _salt_pair("Hashing", salt)

    def _bins(self, x: numpy.ndarray) -> numpy.ndarray:
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = _equal(x, self.mask_value)
        out = hash_to_bins(x, bins, self.salt)
        if mask is not None:
            out = numpy.where(mask, 0, out + 1)
        return out

    def call(self, inputs):
        x = as_array(inputs)
        if self.output_mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x[..., 0]
        return encode_categorical(self._bins(x), self.output_mode, self.num_bins, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


def _equal(x: numpy.ndarray, value) -> numpy.ndarray:
    """x == value elementwise, strings compared as text (bytes decoded as UTF-8)."""
    if x.dtype == object or x.dtype.kind in "US":
        target = value.decode() if isinstance(value, bytes) else value
        flat = [(v.decode() if isinstance(v, bytes) else v) == target for v in x.reshape(-1).tolist()]
        return numpy.asarray(flat, dtype=bool).reshape(x.shape)
    return x == value


# ----------------------------------------------------------------------------------------------------
# HashedCrossing
# ----------------------------------------------------------------------------------------------------
class HashedCrossing(DataPreprocessingLayer):
    """The cross of two or more categorical features hashed into ``num_bins`` bins, as
    ``tf.sparse.cross_hashed``: h = 0xDECAFCAFFE, then for each feature h = FingerprintCat64(h, f) with
    f = fingerprint64(s) for a string and the int64 value itself (as uint64) for an integer; bin = h mod
    num_bins. Inputs: a list/tuple of ≥ 2 arrays of one shape, (), (N,) or (N, 1), integer or string.
    ``output_mode="one_hot"`` encodes the bins. Config: Keras's (``dtype`` a plain name, no ``trainable``).
    ``sparse=True`` is refused as in Keras's non-TensorFlow backends."""

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        check_string_arg("HashedCrossing", "output_mode", output_mode, ("int", "one_hot"))
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = False

    def compute_output_shape(self, input_shape):
        if (len(input_shape) != 2 or not isinstance(input_shape[0], tuple)
                or not isinstance(input_shape[1], tuple)):
            raise ValueError(f"Expected as input a list/tuple of 2 tensors. Received input_shape={input_shape}")
        if input_shape[0][-1] != input_shape[1][-1]:
            raise ValueError(f"Expected the two input tensors to have identical shapes. "
                             f"Received input_shape={input_shape}")
        if self.output_mode == "int":
            return tuple(input_shape[0])
        if input_shape[0][-1] != 1:
            return tuple(input_shape[0]) + (self.num_bins,)
        return tuple(input_shape[0])[:-1] + (self.num_bins,)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"`HashedCrossing` should be called on a list or tuple of inputs. "
                             f"Received: inputs={inputs}")
        if len(inputs) < 2:
            raise ValueError(f"`HashedCrossing` should be called on at least two inputs. Received: inputs={inputs}")
        arrays = [as_array(x) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f"All `HashedCrossing` inputs should have shape `()`, `(batch_size)` or "
                             f"`(batch_size, 1)`. Received: input shapes {[a.shape for a in arrays]}")
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError(f"All `HashedCrossing` inputs should have equal shape. "
                             f"Received: input shapes {[a.shape for a in arrays]}")
        h = numpy.full(int(numpy.prod(shape, dtype=numpy.int64)), CROSS_HASH_KEY, dtype=numpy.uint64)
        for a in arrays:
            if a.dtype.kind in "iu":
                f = a.reshape(-1).astype(numpy.int64).view(numpy.uint64)
            elif is_string_array(a) or (a.dtype == object and a.size == 0):
                f = fingerprint64(values_as_bytes(a))
            else:
                raise ValueError(f"All `HashedCrossing` inputs should have an integer or string dtype. "
                                 f"Received: input dtypes {[str(x.dtype) for x in arrays]}")
            h = fingerprint_cat64(h, f)
        bins = (h % numpy.uint64(self.num_bins)).astype(numpy.int64).reshape(shape)
        return encode_categorical(bins, self.output_mode, self.num_bins, self.compute_dtype)

    def get_config(self) -> dict:
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype}


# ----------------------------------------------------------------------------------------------------
# Discretization
# ----------------------------------------------------------------------------------------------------
def _quantile_sketch(values: numpy.ndarray, epsilon: float) -> numpy.ndarray:
    """A weighted sample of the sorted ``values``: every k-th value (k = max(n·ε, 1)), each with weight k;
    a (2, m) float32 array of [values; weights]."""
    values = numpy.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)
    kept = values[int(step - 1)::int(step)]
    return numpy.stack([kept, numpy.ones_like(kept) * step])


def _compress_sketch(sketch: numpy.ndarray, epsilon: float) -> numpy.ndarray:
    """Resample a sketch at the cumulative-weight fractions ε, 2ε, ..., (linear interpolation of the value and
    of the cumulative weight); a sketch with fewer than 1/ε points is returned as it is."""
    if sketch.shape[1] * epsilon < 1:
        return sketch
    fractions = epsilon + numpy.arange(0.0, 1.0, epsilon)
    cumulative = sketch[1].cumsum()
    new_values = numpy.interp(fractions, cumulative / cumulative[-1], sketch[0])
    new_cumulative = numpy.interp(fractions, cumulative / cumulative[-1], cumulative)
    new_weights = new_cumulative - numpy.concatenate((numpy.array([0]), new_cumulative[:-1]))
    return numpy.stack((new_values, new_weights)).astype("float32")


def _merge_sketches(a: numpy.ndarray, b: numpy.ndarray, epsilon: float) -> numpy.ndarray:
    merged = numpy.concatenate((a, b), axis=1)
    merged = numpy.take(merged, numpy.argsort(merged[0]), axis=1)
    return _compress_sketch(merged, epsilon)


class Discretization(DataPreprocessingLayer):
    """Floats → bin indices: bin(x) = #{b in bin_boundaries : b ≤ x} (so bins[i−1] ≤ x < bins[i] gives i), as an
    int32 index or encoded ("one_hot", "multi_hot", "count": float vectors of width len(bin_boundaries) + 1).

    Boundaries are given (``bin_boundaries``) or learned by :meth:`adapt` for ``num_bins`` bins as Keras computes
    its approximate quantiles: each batch is summarized by every k-th sorted value (k = max(n·ε, 1), weight k),
    merged with the running summary and resampled at cumulative-weight fractions ε, 2ε, ... (``epsilon``); the
    boundaries are the final summary resampled at 1/num_bins, 2/num_bins, ..., the last point dropped — so the
    batch split of the data changes the result slightly, as in Keras. Config: Keras's (``bin_boundaries`` hold
    the learned boundaries after adapt; ``dtype`` a plain name). ``sparse=True`` is refused as in Keras's
    torch backend."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 dtype=None, name=None):
        super().__init__(name=name, dtype=dtype)
        if sparse:
            raise ValueError("`sparse=True` cannot be used with backend neuronka (no sparse tensors)")
        check_string_arg("Discretization", "output_mode", output_mode, ("int", "one_hot", "multi_hot", "count"))
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = False
        self.summary = None if bin_boundaries else numpy.array([[], []], dtype="float32")

    def _output_dtype(self) -> str:
        return "int32" if self.output_mode == "int" else self.compute_dtype

    def adapt(self, data, steps=None) -> None:
        """Learn ``num_bins`` bins from ``data``: an array or Tensor (one batch), or any other iterable (a list,
        a neuronka ``Dataset``, a generator) of batches, at most ``steps`` of them."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`, "
                             "use `num_bins` instead.")
        self.reset_state()
        if isinstance(data, (numpy.ndarray, Tensor)):
            self.update_state(data)
        elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        else:
            self.update_state(data)
        self.finalize_state()

    def update_state(self, data) -> None:
        batch = numpy.array(as_array(data)).astype("float32")
        self.summary = _merge_sketches(_quantile_sketch(batch, self.epsilon), self.summary, self.epsilon)

    def finalize_state(self) -> None:
        if self.num_bins is None:
            return
        self.bin_boundaries = _compress_sketch(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self) -> None:
        if self.num_bins is None:
            return
        self.summary = numpy.array([[], []], dtype="float32")

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at construction time or call "
                             "`adapt(dataset)` before you can start using the `Discretization` layer.")
        x = as_array(inputs)
        if x.dtype.kind == "b":
            x = x.astype(numpy.uint8)
        bins = numpy.asarray(self.bin_boundaries, dtype=numpy.float32)
        indices = numpy.searchsorted(bins, x, side="right").astype(numpy.int32)
        return encode_categorical(indices, self.output_mode, len(self.bin_boundaries) + 1, self._output_dtype())

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return input_shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        if len(input_shape) >= 2:
            return (input_shape[0],) + input_shape[2:] + (depth,)
        return (depth,)

    def get_config(self) -> dict:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")  # an adapted layer: both set; the boundaries win
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)
