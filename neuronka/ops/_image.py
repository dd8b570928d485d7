"""What the ``keras.ops.image`` modules share: argument checks, where the height/width/channel axes are,
and the dtype an image op computes in and returns.

* :func:`as_images` — ``images`` as a Tensor of rank 3 (one image) or 4 (a batch), or a clear error.
* :func:`spatial_axes` — the (height, width, channels) axes for a rank and a data format.
* :func:`compute_float` / :func:`restore_dtype` — ints and float16 are computed in float32 and given back
  in their own dtype (ints rounded half to even and saturated), as Keras's torch backend does.
* :func:`constant_floats` — a hyper-parameter (sigma, alpha, ...) as Python floats; a tensor that
  requires gradients is refused, since these ops are not differentiated with respect to it.
"""
from __future__ import annotations

import numbers

import numpy

from .. import config
from ..autograd import Tensor
from ..backend import get_array_module


def as_tensor(x) -> Tensor:
    """x as a Tensor (Python floats and lists of them become floatx, as Keras converts them)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def as_images(images, fn: str, what: str = "images", ranks=(3, 4)) -> Tensor:
    """``images`` as a Tensor whose rank is one of ``ranks``, or a ValueError naming ``fn``."""
    x = as_tensor(images)
    if x.ndim not in ranks:
        kinds = {3: "3 (single image)", 4: "4 (batch of images)", 5: "5 (batch of volumes)"}
        expected = " or ".join(kinds.get(r, str(r)) for r in ranks)
        raise ValueError(f"{fn}: expected {what} of rank {expected}, received {what} of shape {tuple(x.shape)}")
    return x


def data_format_of(data_format, fn: str) -> str:
    """"channels_last" or "channels_first"; None gives ``keras.config.image_data_format()``."""
    if data_format is None:
        return config.image_data_format()
    df = data_format.lower() if isinstance(data_format, str) else data_format
    if df not in ("channels_last", "channels_first"):
        raise ValueError(f"{fn}: expected data_format 'channels_last' or 'channels_first', "
                         f"received data_format={data_format!r}")
    return df


def spatial_axes(ndim: int, data_format: str) -> tuple[int, int, int]:
    """(height axis, width axis, channel axis) of an image tensor of rank ``ndim`` (3 or 4)."""
    batch = ndim - 3
    if data_format == "channels_last":
        return batch, batch + 1, batch + 2
    return batch + 1, batch + 2, batch


def is_float(dtype) -> bool:
    return numpy.dtype(dtype).kind == "f"


def compute_float(x: Tensor) -> Tensor:
    """x in the dtype an image op computes in: float32 for ints, bools and float16, else its own."""
    from .math import cast  # noqa: PLC0415

    if x.dtype in (numpy.float32, numpy.float64):
        return x
    return cast(x, "float32")


def restore_dtype(y: Tensor, dtype) -> Tensor:
    """y (computed in float) back in ``dtype``: ints rounded half to even and saturated to their range."""
    from .math import cast  # noqa: PLC0415

    dtype = numpy.dtype(dtype)
    if y.dtype == dtype:
        return y
    if dtype.kind in "iu":
        xp = get_array_module(y.data)
        info = numpy.iinfo(dtype)
        return Tensor(xp.clip(xp.round(y.data), info.min, info.max).astype(dtype))
    if dtype.kind == "b":
        return Tensor(y.data != 0)
    return cast(y, dtype.name)


def constant_floats(value, n: int, name: str, fn: str) -> tuple[float, ...]:
    """``value`` (a number, or n numbers) as n Python floats; a Tensor requiring gradients is refused."""
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise ValueError(f"{fn}: the gradient with respect to {name} is not implemented; pass {name} as numbers "
                             f"or a tensor that does not require gradients")
        value = value.numpy()
    arr = numpy.asarray(value, dtype=numpy.float64)
    if arr.ndim == 0:
        return (float(arr),) * n
    if arr.shape != (n,):
        raise ValueError(f"{fn}: expected {name} to be a number or {n} numbers, received {name}={value!r}")
    return tuple(float(v) for v in arr)


def int_tuple(value, n: int, name: str, fn: str, minimum: int = 1) -> tuple[int, ...]:
    """``value`` (an int or n ints, each ≥ ``minimum``) as a tuple of n ints."""
    items = (value,) * n if isinstance(value, numbers.Integral) else tuple(value) if value is not None else ()
    if len(items) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items) \
            or any(v < minimum for v in items):
        raise ValueError(f"{fn}: expected {name} to be an int or a tuple of {n} ints, each at least {minimum}, "
                         f"received {name}={value!r}")
    return tuple(int(v) for v in items)
