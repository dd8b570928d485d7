"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

Each is called on a list of tensors. The elementwise ones broadcast as Keras does: shapes are
compared from the right (after the batch axis), a 1 stretches to the other size, unequal sizes are
an error naming both shapes; inputs of lower rank get length-1 axes inserted after the batch axis.
Their backward is that of the elementwise op (the gradient summed back over broadcast axes).

Masks (a (N, T) boolean mask of an (N, T, ...) input, e.g. from ``Embedding(mask_zero=True)``): the
output mask is the OR of the input masks, or None when some input has none (Keras 3); ``Multiply``,
``Maximum`` and ``Minimum`` also ignore masked-out entries of an input when combining, and
``Concatenate`` concatenates the masks (an unmasked input counting as all True).
"""
from __future__ import annotations

import numpy

from .. import ops
from ..autograd import Tensor
from ..backend import get_array_module
from ..ops.activations import add_relu
from .base import Layer

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]


def _is_shape(s) -> bool:
    return isinstance(s, (tuple, list)) and all(isinstance(d, (int, numpy.integer, type(None))) for d in s)


def _mask_array(mask):
    """A mask (array or Tensor) as a boolean array of its own array module."""
    if mask is None:
        return None
    m = getattr(mask, "data", mask)
    return get_array_module(m).asarray(m).astype(bool, copy=False)


def _expand_mask(mask, shape):
    """A mask of shape (N, T) broadcast to an input of shape (N, T, ...)."""
    m = _mask_array(mask)
    while m.ndim < len(shape):
        m = m[..., None]
    return get_array_module(m).broadcast_to(m, tuple(shape))


class Merge(Layer):
    """Base of the elementwise merges: shape checks, broadcasting, the rank fix-up and the mask OR."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._reshape_required = False

    def _layer(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    def _check_list(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(map(_is_shape, input_shape)):
            raise ValueError(f"{self._layer()}: expected to be called on a list of at least 1 input, "
                             f"received input_shape={input_shape!r} (not a list of shapes)")

    def _elementwise_shape(self, shape1, shape2):
        """The broadcast shape of two per-sample shapes (NumPy rules, None where unknown)."""
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return tuple(shape1)
        out = list(shape1[: len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(f"{self._layer()}: inputs have incompatible shapes; expected shapes that broadcast "
                                 f"together, received shapes {tuple(shape1)} and {tuple(shape2)}")
        return tuple(out)

    def build(self, input_shape):
        self._check_list(input_shape)
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"{self._layer()}: cannot merge tensors with different batch sizes; "
                             f"received tensors with shapes {[tuple(s) for s in input_shape]}")
        self.compute_output_shape(input_shape)
        self._reshape_required = len({len(s) for s in input_shape}) != 1
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        out = tuple(input_shape[0][1:])
        for s in input_shape[1:]:
            out = self._elementwise_shape(out, tuple(s[1:]))
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        return (batch_sizes.pop() if len(batch_sizes) == 1 else None, *out)

    def call(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self._layer()}: expected a list of tensors, received inputs of type "
                             f"{type(inputs).__name__} (not a list of tensors)")
        inputs = list(inputs)
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * len(inputs) if mask is not None else None
        ranks = [x.ndim for x in inputs]
        if len(set(ranks)) > 1:
            # lower-rank inputs get length-1 axes after the batch axis (Keras's rule)
            top = max(ranks)
            for i, x in enumerate(inputs):
                for _ in range(top - x.ndim):
                    x = ops.expand_dims(x, 1)
                inputs[i] = x
        return self._merge_function(inputs, masks)

    def _merge_function(self, inputs, masks):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            return mask
        if len(mask) != len(inputs):
            raise ValueError(f"{self._layer()}: expected one mask per input, received {len(mask)} masks for "
                             f"{len(inputs)} inputs")
        if any(m is None for m in mask):
            return None
        out = _mask_array(mask[0])
        for m in mask[1:]:
            out = out | _mask_array(m)
        return out

    def _all_masked(self, masks) -> bool:
        return masks is not None and all(m is not None for m in masks)


class Add(Merge):
    """y = x₁ + x₂ + … (broadcast); dL/dxᵢ = dL/dy."""

    _fused_relu = False  # set by models/fusion.py during a call: the ReLU layer after this one is done here

    def _merge_function(self, inputs, masks):
        if self._fused_relu and len(inputs) > 1 and len({x.dtype for x in inputs}) == 1:
            out = inputs[0]
            for x in inputs[1:-1]:
                out = out + x
            return add_relu(out, inputs[-1])  # relu(Σ xᵢ): the last sum and the ReLU in one pass
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return ops.relu(out) if self._fused_relu else out


class Subtract(Merge):
    """y = x₁ − x₂ (exactly two inputs); dL/dx₁ = dL/dy, dL/dx₂ = −dL/dy."""

    def build(self, input_shape):
        self._check_list(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"{self._layer()}: expected exactly 2 inputs, received {len(input_shape)} inputs "
                             f"with shapes {[tuple(s) for s in input_shape]}")
        super().build(input_shape)

    def _merge_function(self, inputs, masks):
        if len(inputs) != 2:
            raise ValueError(f"{self._layer()}: expected exactly 2 inputs, received {len(inputs)}")
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """y = x₁ · x₂ · … elementwise; dL/dxᵢ = dL/dy · Π_{j≠i} xⱼ.

    With masks, a masked-out entry counts as 1 (the identity), and entries masked out in every input
    are 0.
    """

    def _merge_function(self, inputs, masks):
        out, union = None, None
        for i, x in enumerate(inputs):
            if masks is not None and masks[i] is not None:
                m = _expand_mask(masks[i], x.shape)
                x = ops.where(m, x, 1.0)
                union = m if union is None else union | m
            out = x if out is None else out * x
        if self._all_masked(masks):
            out = ops.where(get_array_module(union).broadcast_to(union, out.shape), out, 0.0)
        return out


class Average(Merge):
    """y = (x₁ + … + xₙ)/n; dL/dxᵢ = dL/dy / n."""

    def _merge_function(self, inputs, masks):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / float(len(inputs))


class _MaskedExtremum(Merge):
    """max / min without an identity element: a masked-out entry takes the other side's value."""

    op = staticmethod(ops.maximum)

    def _merge_function(self, inputs, masks):
        out, out_mask = None, None
        for i, x in enumerate(inputs):
            m = None if masks is None or masks[i] is None else _expand_mask(masks[i], x.shape)
            if out is None:
                out, out_mask = x, m
                continue
            if m is not None:
                x = ops.where(m, x, out)
            if out_mask is not None:
                out = ops.where(get_array_module(out_mask).broadcast_to(out_mask, out.shape), out, x)
            out_mask = out_mask | m if m is not None and out_mask is not None else None
            out = self.op(out, x)
        return out


class Maximum(_MaskedExtremum):
    """y = max(x₁, x₂, …) elementwise; the gradient goes to the winning input (the first one at ties)."""

    op = staticmethod(ops.maximum)


class Minimum(_MaskedExtremum):
    """y = min(x₁, x₂, …) elementwise; the gradient goes to the winning input (the first one at ties)."""

    op = staticmethod(ops.minimum)


class Concatenate(Merge):
    """Joins the inputs along ``axis``; every other axis must agree. Backward: the gradient is split."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, numpy.integer)):
            raise ValueError(f"Concatenate: expected an integer `axis`, received axis={axis!r}")
        self.axis = int(axis)

    def _check_shapes(self, input_shape):
        self._check_list(input_shape)
        ranks = {len(s) for s in input_shape}
        shapes = [tuple(s) for s in input_shape]
        bad = len(ranks) != 1
        if not bad:
            rank = ranks.pop()
            if not -rank <= self.axis < rank:
                raise ValueError(f"{self._layer()}: axis={self.axis} is out of range for inputs of rank {rank}; "
                                 f"received shapes {shapes}")
            ax = self.axis % rank
            for d in range(rank):
                sizes = {s[d] for s in shapes if s[d] is not None}
                if d != ax and len(sizes) > 1:
                    bad = True
        if bad:
            raise ValueError(f"{self._layer()}: expected inputs with matching shapes except for the concatenation "
                             f"axis {self.axis}, received shapes {shapes}")

    def build(self, input_shape):
        self._check_shapes(input_shape)
        self.built = True

    def call(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self._layer()}: expected a list of tensors, received inputs of type "
                             f"{type(inputs).__name__}")
        self._check_shapes([tuple(x.shape) for x in inputs])
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        self._check_shapes(input_shape)
        out = list(input_shape[0])
        ax = self.axis % len(out)
        sizes = [s[ax] for s in input_shape]
        out[ax] = None if any(s is None for s in sizes) else int(sum(sizes))
        for d in range(len(out)):
            if d != ax and out[d] is None:
                out[d] = next((s[d] for s in input_shape if s[d] is not None), None)
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        if len(mask) != len(inputs):
            raise ValueError(f"{self._layer()}: expected one mask per input, received {len(mask)} masks for "
                             f"{len(inputs)} inputs")
        xp = get_array_module(*[m for m in mask if m is not None])
        full = [xp.ones(x.shape, dtype=bool) if m is None else _expand_mask(m, x.shape) for x, m in zip(inputs, mask)]
        return xp.concatenate(full, axis=self.axis).any(axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Per-sample dot product of two tensors along ``axes`` (Keras's ``batch_dot``).

    For x of shape (N, *a) and y of shape (N, *b) contracted over x's axis i and y's axis j:
    out[n, a', b'] = Σ_k x[n, .., k, ..] · y[n, .., k, ..], shape (N, *a without i, *b without j), or
    (N, 1) when nothing is left. ``normalize=True`` first divides both by their L2 norm along the
    contracted axis (the result is then the cosine similarity). Computed as one batched matmul.
    """

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (int, numpy.integer)) and not isinstance(axes, bool):
            axes_t = (int(axes), int(axes))
        elif isinstance(axes, (list, tuple)) and len(axes) == 2 and all(isinstance(a, int) for a in axes):
            axes_t = (int(axes[0]), int(axes[1]))
        else:
            raise ValueError(f"Dot: expected `axes` to be an int or a list of 2 ints, received axes={axes!r}")
        self.axes = axes if isinstance(axes, int) else list(axes_t)
        self._axes = axes_t
        self.normalize = bool(normalize)

    def _resolved(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"{self._layer()}: expected exactly 2 inputs, received {len(shapes)}")
        a = [ax % len(s) for ax, s in zip(self._axes, shapes)]
        if 0 in a:
            raise ValueError(f"{self._layer()}: cannot contract over the batch axis; received axes={self.axes} for "
                             f"shapes {[tuple(s) for s in shapes]}")
        ka, kb = shapes[0][a[0]], shapes[1][a[1]]
        if ka is not None and kb is not None and ka != kb:
            raise ValueError(f"{self._layer()}: the contracted axes must have equal sizes; received shapes "
                             f"{tuple(shapes[0])} and {tuple(shapes[1])} with axes={self.axes} ({ka} != {kb})")
        return a

    def build(self, input_shape):
        self._check_list(input_shape)
        self._resolved(input_shape)
        self.built = True

    def call(self, inputs, mask=None):
        x, y = inputs
        ax, ay = self._resolved([x.shape, y.shape])
        if self.normalize:
            x = _l2_normalize(x, ax)
            y = _l2_normalize(y, ay)
        n = x.shape[0]
        rest_x = [d for i, d in enumerate(x.shape) if i not in (0, ax)]
        rest_y = [d for i, d in enumerate(y.shape) if i not in (0, ay)]
        # x → (N, Πrest_x, K), y → (N, K, Πrest_y): one batched matmul
        xt = ops.transpose(x, (0, *[i for i in range(1, x.ndim) if i != ax], ax))
        yt = ops.transpose(y, (0, ay, *[i for i in range(1, y.ndim) if i != ay]))
        k = x.shape[ax]
        out = ops.matmul(ops.reshape(xt, (n, int(numpy.prod(rest_x)), k)),
                         ops.reshape(yt, (n, k, int(numpy.prod(rest_y)))))
        shape = (n, *rest_x, *rest_y) if rest_x or rest_y else (n, 1)
        return ops.reshape(out, shape)

    def compute_output_shape(self, input_shape):
        ax, ay = self._resolved(input_shape)
        sx, sy = input_shape
        rest = [d for i, d in enumerate(sx) if i not in (0, ax)] + [d for i, d in enumerate(sy) if i not in (0, ay)]
        return (sx[0], *rest) if rest else (sx[0], 1)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x, axis):
    """x / √max(Σ x², 1e-12) along ``axis``."""
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), 1e-12))


# ----------------------------------------------------------------------------------
# functional forms (keras.layers.add etc.)
# ----------------------------------------------------------------------------------
def add(inputs, **kwargs) -> Tensor:
    """``Add()(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs) -> Tensor:
    """``Subtract()(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs) -> Tensor:
    """``Multiply()(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs) -> Tensor:
    """``Average()(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs) -> Tensor:
    """``Maximum()(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs) -> Tensor:
    """``Minimum()(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs) -> Tensor:
    """``Concatenate(axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize: bool = False, **kwargs) -> Tensor:
    """``Dot(axes, normalize)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)

