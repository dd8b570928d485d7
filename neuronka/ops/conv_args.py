"""What every convolution, pooling and image op checks and computes before any arithmetic.

The argument checks (``normalize_tuple``, ``normalize_padding``, ``normalize_data_format``, ranks, float
inputs), channels_first ↔ channels_last, Keras's (TensorFlow's) rules for output sizes and "same" padding,
and :class:`Geometry`, the sizes of one 2-D convolution on NHWC arrays that every algorithm of
:mod:`.convolution` reads; :func:`reference_conv2d`, the plain definition the tests compare with.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy

from ..autograd import Tensor, _as_array

# ----------------------------------------------------------------------------------
# argument checking shared by conv, pooling and image ops
# ----------------------------------------------------------------------------------
_SPATIAL_NAMES = {1: "(batch, width, channels)", 2: "(batch, height, width, channels)",
                  3: "(batch, depth, height, width, channels)"}


def normalize_tuple(value, n: int, name: str, fn: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints, each >= ``minimum``, as a tuple of ``n`` ints."""
    given = value
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        out = tuple(int(v) for v in value)
        ok = len(out) == n and all(int(v) == v for v in value) and not any(isinstance(v, bool) for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok or any(v < minimum for v in out):
        raise ValueError(f"{fn}: expected {name} to be an integer >= {minimum} or a tuple of {n} such integers, "
                         f"received {name}={given!r}")
    return out


def normalize_padding(padding, fn: str, allowed=("valid", "same")) -> str:
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in allowed:
        expected = " or ".join(repr(a) for a in allowed)
        raise ValueError(f"{fn}: expected padding {expected}, received padding={padding!r}")
    return p


def normalize_data_format(data_format, fn: str) -> str:
    """``data_format`` checked and lower-cased; None gives ``keras.config.image_data_format()`` (as Keras)."""
    if data_format is None:
        from ..config import image_data_format  # noqa: PLC0415

        return image_data_format()
    df = data_format.lower() if isinstance(data_format, str) else data_format
    if df not in ("channels_last", "channels_first"):
        raise ValueError(f"{fn}: expected data_format 'channels_last' or 'channels_first', "
                         f"received data_format={data_format!r}")
    return df


def check_rank(shape, nd: int, fn: str, what: str, reason: str = "") -> None:
    if len(shape) != nd + 2:
        names = _SPATIAL_NAMES.get(nd, "(batch, *spatial, channels)")
        raise ValueError(f"{fn}: expected {what} of rank {nd + 2} {names}{reason}, received shape {tuple(shape)}")


def to_channels_last(x, data_format):
    """Move the channel axis last (a differentiable transpose), or return x unchanged."""
    if data_format == "channels_last":
        return x
    from .math import transpose

    nd = len(_shape(x))
    return transpose(x, (0, *range(2, nd), 1))


def from_channels_last(y, data_format):
    if data_format == "channels_last":
        return y
    from .math import transpose

    nd = y.ndim
    return transpose(y, (0, nd - 1, *range(1, nd - 1)))


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else numpy.shape(x)


def _float_pair(x, k):
    """x and kernel as Tensors of one float dtype (the input's if it is a float, as Keras computes)."""
    from .math import cast

    x = x if isinstance(x, Tensor) else Tensor(_as_array(x))
    k = k if isinstance(k, Tensor) else Tensor(_as_array(k))
    if not numpy.issubdtype(x.dtype, numpy.floating):
        x = cast(x, k.dtype if numpy.issubdtype(k.dtype, numpy.floating) else "float32")
    if k.dtype != x.dtype:
        k = cast(k, x.dtype)
    return x, k


# ----------------------------------------------------------------------------------
# output sizes and paddings (Keras / TensorFlow rules)
# ----------------------------------------------------------------------------------
def conv_output_length(length: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Keras's output length: ceil(L/s) for "same"/"causal", ceil((L − k_eff + 1)/s) for "valid",
    k_eff = (k − 1)·d + 1."""
    k_eff = (kernel - 1) * dilation + 1
    if padding in ("same", "causal"):
        return -(-length // stride)
    return max(-(-(length - k_eff + 1) // stride), 0)


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" split: total = max((ceil(L/s) − 1)·s + k_eff − L, 0), the extra one after."""
    k_eff = (kernel - 1) * dilation + 1
    total = max((-(-length // stride) - 1) * stride + k_eff - length, 0)
    return total // 2, total - total // 2


def conv_transpose_output_length(length: int, kernel: int, stride: int, padding: str,
                                 output_padding: int | None = None, dilation: int = 1) -> int:
    """Keras's transposed-convolution length (k_eff = (k − 1)·d + 1):
    valid: L·s + max(k_eff − s, 0), or (L − 1)·s + k_eff + output_padding;
    same: L·s, or (L − 1)·s + k_eff mod 2 + output_padding."""
    k_eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        return length * stride + max(k_eff - stride, 0) if output_padding is None else \
            (length - 1) * stride + k_eff + output_padding
    return length * stride if output_padding is None else (length - 1) * stride + k_eff % 2 + output_padding


def _conv_transpose_crop(kernel: int, stride: int, padding: str, output_padding: int | None, dilation: int) -> int:
    """Where Keras's transposed output starts inside the full (L − 1)·s + k_eff one (the JAX backend's rule).

    JAX pads the stride-dilated input by (k_eff − 1 − crop) on the left, with
    valid: crop = 0; same: crop = k_eff − 1 − min(ceil(P/2), k_eff − 1), where
    P = s + k_eff − 2 (no output_padding) or k_eff + k_eff mod 2 − 2 + output_padding.
    It is also the left padding of the convolution this one transposes.
    """
    k_eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        return 0
    total = stride + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
    return k_eff - 1 - min(-(-total // 2), k_eff - 1)


# ----------------------------------------------------------------------------------
# geometry of one 2-D convolution on NHWC arrays
# ----------------------------------------------------------------------------------
class Geometry:
    """Sizes of x (n, h, w, c) ⋆ W (kh, kw, c, o) → y (n, ho, wo, o).

    ``pad`` = (top, left): x_pad[p] = x[p − top]; the windows read rows
    i·s + a·d for i < ho, a < kh, i.e. the first ``hp`` rows of x_pad.
    """

    __slots__ = ("h", "w", "ho", "wo", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "hp", "wp")

    def __init__(self, in_hw, out_hw, kernel_hw, strides, dilation, pad):
        self.h, self.w = in_hw
        self.ho, self.wo = out_hw
        self.kh, self.kw = kernel_hw
        self.sh, self.sw = strides
        self.dh, self.dw = dilation
        self.pt, self.pl = pad
        self.hp = (self.ho - 1) * self.sh + (self.kh - 1) * self.dh + 1
        self.wp = (self.wo - 1) * self.sw + (self.kw - 1) * self.dw + 1

    def needs_copy(self) -> bool:
        """True unless x itself holds the padded input (no padding read)."""
        return self.pt != 0 or self.pl != 0 or self.hp > self.h or self.wp > self.w

    def is_pointwise(self) -> bool:
        """A 1×1, stride-1, unpadded convolution: y = x @ W, no gathering at all."""
        return (self.kh, self.kw, self.sh, self.sw) == (1, 1, 1, 1) and not self.needs_copy() \
            and (self.ho, self.wo) == (self.h, self.w)

    def transposed(self) -> Geometry:
        """The stride-1 convolution that computes dL/dx from gy with the flipped kernel.

        dx[p] = Σ_a gy[p + pt − a·d] W[a] = Σ_a' gy_pad[p + a'·d] W[k − 1 − a'],
        gy_pad being gy shifted by (k − 1)·d − pt.
        """
        assert self.sh == 1 and self.sw == 1
        return Geometry((self.ho, self.wo), (self.h, self.w), (self.kh, self.kw), (1, 1), (self.dh, self.dw),
                        ((self.kh - 1) * self.dh - self.pt, (self.kw - 1) * self.dw - self.pl))


def conv_geometry(in_hw, kernel_hw, strides, dilation, padding) -> Geometry:
    """The geometry of a Keras convolution ("valid", "same" or "causal", which pads only before)."""
    out, pad = [], []
    for length, k, s, d in zip(in_hw, kernel_hw, strides, dilation):
        out.append(conv_output_length(length, k, s, padding, d))
        if padding == "same":
            pad.append(same_padding(length, k, s, d)[0])
        elif padding == "causal":
            pad.append((k - 1) * d)
        else:
            pad.append(0)
    return Geometry(in_hw, out, kernel_hw, strides, dilation, pad)


def reference_conv2d(x, w, strides: Sequence[int], dilation: Sequence[int], pad: Sequence[int], out_hw):
    """The plain definition, for tests: one big im2col (no chunks, no threads) and one einsum."""
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    ho, wo = out_hw
    hp, wp = (ho - 1) * strides[0] + (kh - 1) * dilation[0] + 1, (wo - 1) * strides[1] + (kw - 1) * dilation[1] + 1
    xpad = numpy.zeros((n, max(hp, pad[0] + h), max(wp, pad[1] + wd), c), x.dtype)
    xpad[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    cols = numpy.stack([numpy.stack([
        xpad[:, a * dilation[0]:a * dilation[0] + (ho - 1) * strides[0] + 1:strides[0],
             b * dilation[1]:b * dilation[1] + (wo - 1) * strides[1] + 1:strides[1]]
        for b in range(kw)], axis=3) for a in range(kh)], axis=3)
    return numpy.einsum("nijabc,abco->nijo", cols, w)
