"""Fourier transforms and framing of ``keras.ops``: fft, fft2, ifft2, rfft, irfft, stft, istft,
extract_sequences, view_as_complex and view_as_real.

As in Keras, a complex tensor travels as a pair ``(real, imag)`` of float tensors. Every transform here is
linear, so its backward is its adjoint, written beside it. For a complex output z = Re z + i Im z with
gradients (ḡ_re, ḡ_im), write ḡ = ḡ_re + i ḡ_im: then for z = F x the input gradient is Fᴴ ḡ (its real and
imaginary parts), and for a real input only the real part. The DFT of length n is F_kt = e^{−2πikt/n}, so
Fᴴ = n · ifft and the adjoint of ifft is fft / n. Framing (``extract_sequences``, and stft's windows) reads
x[..., t·stride + j]; its adjoint adds each frame's gradient back where the frame was read (overlap-add).
"""
from __future__ import annotations

import numpy

from ..autograd import Function, Tensor
from ..backend import asnumpy, floatx, get_array_module
from ..dtypes import result_type
from ._util import data
from .math import cast, getitem, stack

__all__ = ["extract_sequences", "fft", "fft2", "ifft2", "irfft", "istft", "rfft", "stft", "view_as_complex",
           "view_as_real"]


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(data(x))


def _pair(x, op: str, min_rank: int = 1) -> tuple[Tensor, Tensor]:
    """The (real, imag) pair of one float dtype and shape (Keras's checks and messages)."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op}: input `x` should be a tuple of two tensors - real and imaginary. Received: x={x!r}")
    re, im = _tensor(x[0]), _tensor(x[1])
    if re.shape != im.shape:
        raise ValueError(f"{op}: input `x` should be a tuple of two tensors - real and imaginary. Both the real and "
                         f"imaginary parts should have the same shape. Received: x[0].shape = {tuple(re.shape)}, "
                         f"x[1].shape = {tuple(im.shape)}")
    if re.dtype.kind != "f" or im.dtype.kind != "f":
        raise ValueError(f"{op}: at least one tensor in input `x` is not of type float. Received dtypes "
                         f"{re.dtype} and {im.dtype}")
    if re.ndim < min_rank:
        raise ValueError(f"{op}: input should have rank >= {min_rank}. Received: input.shape = {tuple(re.shape)}")
    common = result_type(re.dtype, im.dtype)
    return (re if re.dtype == common else cast(re, common)), (im if im.dtype == common else cast(im, common))


def _complex(re, im):
    return re + 1j * im


def _packed(re, im, dtype):
    """A complex result as one real array (2, ...): [real, imag]."""
    return get_array_module(re).stack([re, im]).astype(dtype, copy=False)


def _unpack(packed: Tensor) -> tuple[Tensor, Tensor]:
    return getitem(packed, 0), getitem(packed, 1)


def _fit(a, n: int):
    """``a`` cropped or zero-padded to length n on its last axis."""
    xp = get_array_module(a)
    if a.shape[-1] >= n:
        return a[..., :n]
    return xp.concatenate([a, xp.zeros(a.shape[:-1] + (n - a.shape[-1],), dtype=a.dtype)], axis=-1)


def _rfft_adjoint(gz, n: int):
    """The adjoint of x ↦ rfft(x, n) (n real samples → n//2 + 1 bins): ḡx_t = Re Σ_k ḡ_k e^{2πikt/n}, i.e.
    n · Re(ifft(ḡ zero-padded to n bins))."""
    return (n * get_array_module(gz).fft.ifft(_fit(gz, n), n=n)).real


def _irfft_adjoint(g, n: int, bins: int):
    """The adjoint of Y ↦ irfft(Y, n) read from ``bins`` input bins: irfft counts each bin 0 < k < n/2 twice
    (once for its mirror) and ignores the imaginary parts of bins 0 and n/2, so Ȳ = rfft(ḡ) · c / n with
    c = 2 inside, 1 at 0 and n/2 (where rfft(ḡ) is real)."""
    xp = get_array_module(g)
    gy = xp.fft.rfft(g, n=n) / n
    gy[..., 1:(n + 1) // 2] *= 2
    return _fit(gy, bins)


# ----------------------------------------------------------------------------------------------------
# fft, fft2, ifft2
# ----------------------------------------------------------------------------------------------------
class FFT(Function):
    def forward(self, re, im):
        xp = get_array_module(re)
        self.dtype = re.dtype
        self.n = int(numpy.prod([re.shape[a] for a in self.axes]))
        z = (xp.fft.ifftn if self.inverse else xp.fft.fftn)(_complex(re, im), axes=self.axes)
        return _packed(z.real, z.imag, re.dtype)

    def backward(self, g):  # fft: x̄ = Fᴴ ḡ = n · ifft(ḡ); ifft = Fᴴ / n: x̄ = F ḡ / n = fft(ḡ) / n
        xp = get_array_module(g)
        gz = _complex(g[0], g[1])
        gx = xp.fft.fftn(gz, axes=self.axes) / self.n if self.inverse else xp.fft.ifftn(gz, axes=self.axes) * self.n
        return gx.real.astype(self.dtype), gx.imag.astype(self.dtype)


def fft(x) -> tuple[Tensor, Tensor]:
    """The discrete Fourier transform along the last axis, y_k = Σ_t x_t e^{−2πikt/n}, of x = (real, imag);
    returns (real, imag)."""
    re, im = _pair(x, "fft")
    return _unpack(FFT.apply(re, im, axes=(-1,), inverse=False))


def fft2(x) -> tuple[Tensor, Tensor]:
    """The 2-D discrete Fourier transform over the last two axes of x = (real, imag); returns (real, imag)."""
    re, im = _pair(x, "fft2", min_rank=2)
    return _unpack(FFT.apply(re, im, axes=(-2, -1), inverse=False))


def ifft2(x) -> tuple[Tensor, Tensor]:
    """The inverse 2-D DFT over the last two axes, x_st = (1/MN) Σ y_kl e^{2πi(ks/M + lt/N)}, of (real, imag)."""
    re, im = _pair(x, "ifft2", min_rank=2)
    return _unpack(FFT.apply(re, im, axes=(-2, -1), inverse=True))


# ----------------------------------------------------------------------------------------------------
# real-input transforms
# ----------------------------------------------------------------------------------------------------
class RFFT(Function):
    def forward(self, x):
        self.length, self.dtype = x.shape[-1], x.dtype
        z = get_array_module(x).fft.rfft(x, n=self.n)
        return _packed(z.real, z.imag, x.dtype)

    def backward(self, g):  # x̄ = Re(n · ifft(ḡ)), then undo the cropping / zero padding to n
        gx = _rfft_adjoint(_complex(g[0], g[1]), self.n)
        return _fit(gx, self.length).astype(self.dtype)


def rfft(x, fft_length=None) -> tuple[Tensor, Tensor]:
    """The DFT of a real signal along the last axis, its fft_length // 2 + 1 nonnegative-frequency bins (the
    rest mirror them); x is cropped or zero-padded to ``fft_length`` (default: its length). Ints give floatx.
    Returns (real, imag)."""
    t = _tensor(x)
    if t.ndim < 1:
        raise ValueError(f"rfft: input should have rank >= 1. Received: input.shape = {tuple(t.shape)}")
    if t.dtype.kind != "f":
        t = Tensor(t.data.astype(floatx()))
    n = t.shape[-1] if fft_length is None else int(fft_length)
    return _unpack(RFFT.apply(t, n=n))


class IRFFT(Function):
    def forward(self, re, im):
        self.bins, self.dtype = re.shape[-1], re.dtype
        return get_array_module(re).fft.irfft(_complex(re, im), n=self.n).astype(re.dtype)

    def backward(self, g):
        gz = _irfft_adjoint(g, self.n, self.bins)
        return gz.real.astype(self.dtype), gz.imag.astype(self.dtype)


def irfft(x, fft_length=None) -> Tensor:
    """The inverse of :func:`rfft`: the real signal of length ``fft_length`` (default 2 · (bins − 1)) whose
    nonnegative-frequency bins are x = (real, imag) (cropped or zero-padded to fft_length // 2 + 1)."""
    re, im = _pair(x, "irfft")
    n = 2 * (re.shape[-1] - 1) if fft_length is None else int(fft_length)
    if n < 1:
        raise ValueError(f"irfft: expected a positive fft_length, received {n} (input of {re.shape[-1]} bins)")
    return IRFFT.apply(re, im, n=n)


# ----------------------------------------------------------------------------------------------------
# framing
# ----------------------------------------------------------------------------------------------------
def _frame_index(n_frames: int, length: int, stride: int):
    """idx[f, j] = f · stride + j: the samples frame f reads."""
    return numpy.arange(n_frames)[:, None] * stride + numpy.arange(length)


def _overlap_add(frames, idx, n: int):
    """Σ over frames of each frame added where it was read (the adjoint of x[..., idx])."""
    xp = get_array_module(frames)
    idx = xp.asarray(idx)
    out = xp.zeros(frames.shape[:-2] + (n,), dtype=frames.dtype)
    # values broadcast explicitly: NumPy 2.4's add.at reads past a values array it has to broadcast itself
    xp.add.at(out, (Ellipsis, idx), xp.ascontiguousarray(xp.broadcast_to(frames, out.shape[:-1] + idx.shape)))
    return out


class Gather(Function):
    """y = x[..., idx] on the last axis (frames); the backward overlap-adds."""

    def forward(self, x):
        self.n, self.dtype = x.shape[-1], x.dtype
        return x[..., get_array_module(x).asarray(self.idx)]

    def backward(self, g):
        return _overlap_add(g, self.idx, self.n)


def extract_sequences(x, sequence_length: int, sequence_stride: int) -> Tensor:
    """Frames of the last axis: y[..., f, j] = x[..., f · sequence_stride + j], with
    1 + (N − sequence_length) // sequence_stride frames of ``sequence_length`` samples. The gradient adds each
    frame's gradient back where it was read (overlap-add)."""
    t = _tensor(x)
    if t.ndim < 1:
        raise ValueError(f"extract_sequences: input should have rank >= 1. Received: input.shape = {tuple(t.shape)}")
    if sequence_length < 1 or sequence_stride < 1:
        raise ValueError(f"extract_sequences: expected a positive sequence_length and sequence_stride, received "
                         f"{sequence_length} and {sequence_stride}")
    n = t.shape[-1]
    if n < sequence_length:
        raise ValueError(f"extract_sequences: the last axis ({n} samples) is shorter than sequence_length="
                         f"{sequence_length}")
    frames = 1 + (n - sequence_length) // sequence_stride
    return Gather.apply(t, idx=_frame_index(frames, sequence_length, sequence_stride))


# ----------------------------------------------------------------------------------------------------
# short-time Fourier transform
# ----------------------------------------------------------------------------------------------------
def _window(window, sequence_length: int, fft_length: int, dtype, op: str):
    """The window (``"hann"`` / ``"hamming"``, periodic; an array; None: ones) zero-padded to ``fft_length``,
    centered (PyTorch's rule)."""
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f'{op}: if a string is passed to `window`, it must be one of "hann", "hamming". '
                             f"Received: window={window}")
        a = 0.5 if window == "hann" else 0.54
        w = a - (1 - a) * numpy.cos(2 * numpy.pi * numpy.arange(sequence_length) / sequence_length)
    elif window is None:
        w = numpy.ones(sequence_length)
    else:
        w = asnumpy(data(window)).astype(numpy.float64)  # a setting: kept on the host, moved when used
        if w.ndim != 1 or w.shape[0] != sequence_length:
            raise ValueError(f"{op}: the shape of `window` must be equal to [sequence_length]. Received: window "
                             f"shape={w.shape}")
    left = (fft_length - sequence_length) // 2
    return numpy.pad(w, (left, fft_length - sequence_length - left)).astype(dtype)


def _reflect_index(n: int, pad: int):
    """Source samples of x reflect-padded by ``pad`` on both sides (the edge sample not repeated)."""
    i = numpy.arange(-pad, n + pad)
    return numpy.where(i < 0, -i, numpy.where(i >= n, 2 * (n - 1) - i, i))


class STFT(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.n, self.dtype = x.shape[-1], x.dtype
        frames = x[..., xp.asarray(self.idx)] * xp.asarray(self.window)  # idx: reflection and framing in one gather
        z = xp.fft.rfft(frames, n=self.fft_length)
        return _packed(z.real, z.imag, x.dtype)

    def backward(self, g):
        # y = rfft(w ∘ x[idx]): x̄ = overlap-add over idx of w ∘ rfftᴴ(ḡ)
        gframes = _rfft_adjoint(_complex(g[0], g[1]), self.fft_length) * self.window
        return _overlap_add(gframes, self.idx, self.n).astype(self.dtype)


def _check_stride(op: str, sequence_stride) -> None:
    if not isinstance(sequence_stride, (int, numpy.integer)) or isinstance(sequence_stride, bool) \
            or sequence_stride <= 0:
        raise ValueError(f"{op}: `sequence_stride` must be a positive integer. Received: "
                         f"sequence_stride={sequence_stride}")


def stft(x, sequence_length: int, sequence_stride: int, fft_length: int, window="hann",
         center: bool = True) -> tuple[Tensor, Tensor]:
    """The short-time Fourier transform along the last axis: frame f is the ``fft_length`` samples starting at
    f · sequence_stride, times the window (``sequence_length`` long, zero-padded to ``fft_length``, centered),
    and y[..., f, k] = rfft(frame)_k, k < fft_length // 2 + 1. ``center``: x is first reflect-padded by
    fft_length // 2 on both sides, so that frame f is centered at sample f · sequence_stride. ``x`` must be
    float32 or float64 (TypeError otherwise, as Keras). Returns (real, imag) of shape (..., frames, bins)."""
    _check_stride("stft", sequence_stride)
    t = _tensor(x)
    if t.dtype not in (numpy.float32, numpy.float64):
        raise TypeError(f"stft: invalid input type. Expected `float32` or `float64`. Received: input type={t.dtype}")
    if fft_length < sequence_length:
        raise ValueError(f"stft: `fft_length` must equal or larger than `sequence_length`. Received: "
                         f"sequence_length={sequence_length}, fft_length={fft_length}")
    win = _window(window, sequence_length, fft_length, t.dtype, "stft")
    n = t.shape[-1]
    pad = fft_length // 2 if center else 0
    if center and pad >= n:
        raise ValueError(f"stft: center=True reflect-pads {pad} samples on each side, which needs more than {pad} "
                         f"samples; received {n}")
    if n + 2 * pad < fft_length:
        raise ValueError(f"stft: the signal ({n + 2 * pad} samples after padding) is shorter than fft_length="
                         f"{fft_length}")
    frames = 1 + (n + 2 * pad - fft_length) // sequence_stride
    src = _reflect_index(n, pad)[_frame_index(frames, fft_length, sequence_stride)]
    return _unpack(STFT.apply(t, idx=src, window=win, fft_length=int(fft_length)))


class ISTFT(Function):
    def forward(self, re, im):
        xp = get_array_module(re)
        self.bins, self.dtype = re.shape[-1], re.dtype
        frames = xp.fft.irfft(_complex(re, im), n=self.fft_length) * xp.asarray(self.weights)
        y = _overlap_add(frames, self.idx, self.total) / xp.asarray(self.envelope)
        return _fit(y[..., self.start:self.stop], self.out_length).astype(re.dtype)

    def backward(self, g):
        # y = (overlap-add of a ∘ irfft(Y)) / e, cropped: Ȳ = irfftᴴ(a ∘ (ḡ / e)[idx])
        xp = get_array_module(g)
        full = xp.zeros(g.shape[:-1] + (self.total,), dtype=g.dtype)
        kept = min(self.out_length, self.stop - self.start)
        full[..., self.start:self.start + kept] = g[..., :kept]
        gframes = (full / xp.asarray(self.envelope))[..., xp.asarray(self.idx)] * xp.asarray(self.weights)
        gz = _irfft_adjoint(gframes, self.fft_length, self.bins)
        return gz.real.astype(self.dtype), gz.imag.astype(self.dtype)


def istft(x, sequence_length: int, sequence_stride: int, fft_length: int, length=None, window="hann",
          center: bool = True) -> Tensor:
    """The inverse of :func:`stft`: each frame irfft(x[..., f, :], fft_length), weighted, overlap-added at
    f · sequence_stride, then cropped (by fft_length // 2 at both ends when ``center``; to ``length`` when
    given).

    The weighting follows Keras on PyTorch, which has two paths. When sequence_length == fft_length, center
    and a window: frames are multiplied by the window w and the sum divided by the overlap-added w² at each
    sample (``torch.istft``; the output is zero-padded up to ``length``). Otherwise: frames are multiplied by
    w / d, where d is w² summed over the frames overlapping a steady-state sample (no window: no weighting)."""
    _check_stride("istft", sequence_stride)
    re, im = _pair(x, "istft", min_rank=2)
    dtype = re.dtype
    frames = re.shape[-2]
    win = None if window is None else _window(window, sequence_length, fft_length, numpy.float64, "istft")
    total = fft_length + sequence_stride * (frames - 1)
    idx = _frame_index(frames, fft_length, sequence_stride)
    start = fft_length // 2 if center else 0
    if sequence_length == fft_length and center and win is not None:  # torch.istft
        weights = win
        envelope = _overlap_add(win * win, idx, total)
        stop = total - fft_length // 2 if length is None else min(start + length, total)
        if (envelope[start:stop] < 1e-11).any():
            raise ValueError("istft: the window's overlap-added squares vanish inside the output (the frames do not "
                             "overlap enough to invert); use a longer window or a smaller sequence_stride")
        envelope = numpy.where(envelope < 1e-11, 1, envelope)  # only outside the output, which is cropped
        out_length = stop - start if length is None else int(length)
    else:
        if sequence_stride > fft_length:
            raise ValueError(f"istft: `sequence_stride` must equal or less than the frames' length ({fft_length}). "
                             f"Received: sequence_stride={sequence_stride}")
        if sequence_stride < fft_length / frames:
            raise ValueError(f"istft: `sequence_stride` must equal or greater than fft_length / frames "
                             f"({fft_length} / {frames}). Received: sequence_stride={sequence_stride}")
        envelope = numpy.ones(total)
        if win is None:
            weights = numpy.ones(fft_length)
        else:  # w² summed over the overlapping frames, per phase of the stride
            overlaps = -(-fft_length // sequence_stride)
            sq = numpy.pad(win * win, (0, overlaps * sequence_stride - fft_length))
            denom = numpy.tile(sq.reshape(overlaps, sequence_stride).sum(axis=0), overlaps)
            weights = win / denom[:fft_length]
        if length is not None:
            stop = start + int(length)
        else:
            stop = total - fft_length // 2 if center else total
        stop = min(stop, total)
        out_length = max(stop - start, 0)
    return ISTFT.apply(re, im, idx=idx, weights=weights.astype(dtype), envelope=envelope.astype(dtype),
                       total=total, start=start, stop=stop, out_length=out_length, fft_length=int(fft_length))


# ----------------------------------------------------------------------------------------------------
# complex views
# ----------------------------------------------------------------------------------------------------
class ViewAsComplex(Function):
    def forward(self, x):
        return (x[..., 0] + 1j * x[..., 1]).astype(numpy.complex64)

    def backward(self, g):
        raise RuntimeError("view_as_complex: neuronka differentiates real tensors only; a gradient through a complex "
                           "tensor is not supported (keep the (real, imag) pair that fft and stft use instead)")


class ViewAsReal(Function):
    def forward(self, z):
        return get_array_module(z).stack([z.real, z.imag], axis=-1)

    def backward(self, g):  # the gradient as a complex value ḡ_re + i ḡ_im (reaching view_as_complex, which raises)
        return g[..., 0] + 1j * g[..., 1]


def view_as_complex(x) -> Tensor:
    """x[..., 0] + i x[..., 1] as complex64 (as Keras) from a real tensor whose last axis has size 2. neuronka's
    gradients are real: differentiating through the complex result raises."""
    t = _tensor(x)
    if t.ndim < 1 or t.shape[-1] != 2:
        raise ValueError(f"view_as_complex: last dimension of input must be size 2 (real and imaginary). Received "
                         f"shape: {tuple(t.shape)}")
    return ViewAsComplex.apply(t)


def view_as_real(x) -> Tensor:
    """A complex tensor as a real one with a last axis of size 2, [..., 0] real and [..., 1] imaginary parts
    (complex64 → float32, complex128 → float64). A real input gives imaginary parts 0 (as Keras's NumPy and
    JAX backends; its PyTorch backend raises)."""
    t = _tensor(x)
    if t.dtype.kind == "c":
        return ViewAsReal.apply(t)
    if t.dtype.kind != "f":
        t = Tensor(t.data.astype(floatx()))
    zeros = Tensor(get_array_module(t.data).zeros_like(t.data))
    return stack([t, zeros], axis=-1)
