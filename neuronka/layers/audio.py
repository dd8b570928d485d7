"""Audio front ends: MelSpectrogram (a fixed STFT → mel filter bank → decibels) and STFTSpectrogram (an STFT
as a convolution with trainable kernels).

MelSpectrogram, for a signal x (batch, samples) or (samples,)::

    X[f, k]  = rfft(window · frame_f(x_reflect_padded))_k                (center=True, frames f·stride)
    S[f, k]  = |X[f, k]|^mag_exp
    M[f, m]  = Σ_k S[f, k] · W_mel[k, m]                                  (HTK triangles, peak 1)
    dB[f, m] = 10·log10(max(M, min_power)) − 10·log10(max(|ref_power|, min_power)),
               clipped below at max(dB) − top_db                          (power_to_db)
    output   = (batch, num_mel_bins, frames)

STFTSpectrogram, for x (batch, time, channels): each channel convolved (stride ``frame_step``) with the
kernels w_re[t, 0, k] = win[t]·cos(2π·t·k/N)/s and w_im (−sin), k < N/2 + 1 (``initializers.STFT``), then
``mode``: "real" / "imag" (one kernel), "magnitude" sqrt(max(re² + im², ε)), "log" log(max(magnitude, ε)),
"psd" (the one-sided power, bins other than the first and last doubled), "angle" atan2(im, re),
"stft" (re and im concatenated along the frequency axis).

Built from ``neuronka.ops`` (``stft``, ``conv``, ``matmul``, ...), each with its backward: no fused Function.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy

from .. import initializers, ops
from ..backend import get_array_module
from ..ops import convolution as _conv
from .base import InputSpec, Layer
from .reshaping import standardize_data_format

__all__ = ["MelSpectrogram", "STFTSpectrogram"]

_MEL_BREAK_HZ = 700.0  # HTK: mel(f) = 1127 · ln(1 + f / 700)
_MEL_Q = 1127.0


def _hz_to_mel(hz):
    return _MEL_Q * numpy.log(1.0 + hz / _MEL_BREAK_HZ)


class MelSpectrogram(Layer):
    """The mel spectrogram of a batch of signals (see the module docstring for the formulas): inputs
    (batch, samples) or (samples,), outputs (batch, num_mel_bins, frames), frames = 1 + samples // sequence_stride.

    ``compute_output_shape`` answers Keras's (samples + sequence_stride + 1) // sequence_stride frames, as Keras
    does, which is one more than the output has when sequence_stride divides samples + 1 (a Keras quirk kept).
    As Keras's, the decibel floor max(dB) − top_db takes the maximum over the whole batch, and the mel matrix
    is computed in float32 (then cast to the compute dtype).
    """

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None, window="hann",
                 sampling_rate=16000, num_mel_bins=128, min_freq=20.0, max_freq=None, power_to_db=True,
                 top_db=80.0, mag_exp=2.0, min_power=1e-10, ref_power=1.0, **kwargs):
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError(f"MelSpectrogram: `fft_length` must be greater than or equal to `sequence_length`. "
                             f"Received: `sequence_length`={self.sequence_length}, `fft_length`={self.fft_length}.")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        super().__init__(**kwargs)

    def call(self, inputs):
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        x = ops.cast(inputs, dtype)
        re, im = ops.stft(x, sequence_length=self.sequence_length, sequence_stride=self.sequence_stride,
                          fft_length=self.fft_length, window=self.window, center=True)
        power = re * re + im * im  # |X|² (its gradient stays finite where |X| = 0, unlike sqrt(·)²)
        spec = power if self.mag_exp == 2 else ops.power(power, self.mag_exp / 2.0)
        xp = get_array_module(spec.data)
        mel = xp.asarray(self.linear_to_mel_weight_matrix(
            self.num_mel_bins, spec.shape[-1], self.sampling_rate, self.min_freq, self.max_freq))
        out = ops.matmul(spec, ops.cast(mel, dtype))
        if self.power_to_db:
            out = self._decibels(out)
        return ops.cast(ops.swapaxes(out, -1, -2), self.compute_dtype)

    def _decibels(self, power):
        """10·log10(max(p, min_power)) − 10·log10(max(|ref|, min_power)), floored at (its max − top_db)."""
        db = 10.0 * ops.log10(ops.maximum(power, self.min_power))
        db = db - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
        return ops.maximum(db, ops.max(db) - self.top_db)

    def linear_to_mel_weight_matrix(self, num_mel_bins=20, num_spectrogram_bins=129, sampling_rate=8000,
                                    lower_edge_hertz=125.0, upper_edge_hertz=3800.0, dtype="float32"):
        """W (num_spectrogram_bins, num_mel_bins) mapping linear bins over [0, sampling_rate/2] to mel bands
        (HTK's mel(f) = 1127·ln(1 + f/700)): band m is the triangle over the mel points (e_m, e_{m+1}, e_{m+2})
        of num_mel_bins + 2 points evenly spaced in mel from lower_edge_hertz to upper_edge_hertz, peak 1:

            W[k, m] = max(0, min((mel_k − e_m)/(e_{m+1} − e_m), (e_{m+2} − mel_k)/(e_{m+2} − e_{m+1})))

        with row 0 (the DC bin) zero. Computed in ``dtype`` (NumPy; a constant of the layer)."""
        dt = numpy.dtype(dtype)
        nyquist = dt.type(sampling_rate) / dt.type(2.0)
        bins_mel = _hz_to_mel(numpy.linspace(0.0, nyquist, num_spectrogram_bins, dtype=dt)[1:]).astype(dt)[:, None]
        edges = numpy.linspace(_hz_to_mel(dt.type(lower_edge_hertz)), _hz_to_mel(dt.type(upper_edge_hertz)),
                               num_mel_bins + 2, dtype=dt)
        lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
        rising = (bins_mel - lower) / (center - lower)
        falling = (upper - bins_mel) / (upper - center)
        weights = numpy.maximum(dt.type(0.0), numpy.minimum(rising, falling)).astype(dt)
        return numpy.concatenate([numpy.zeros((1, num_mel_bins), dt), weights])

    def compute_output_shape(self, input_shape):
        steps = input_shape[-1]
        frames = None if steps is None else (steps + self.sequence_stride + 1) // self.sequence_stride
        if len(input_shape) == 1:
            return (self.num_mel_bins, frames)
        return (input_shape[0], self.num_mel_bins, frames)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}


_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """The STFT of every channel of (batch, time, channels) as a strided 1-D convolution with trainable kernels
    (see the module docstring), frames = ⌊(time − frame_length)/frame_step⌋ + 1 ("valid") or ⌈time/frame_step⌉
    ("same"), F = fft_length // 2 + 1 bins (2F for mode "stft").

    Outputs (channels_last): (batch, frames, channels·F), the bins of channel c at c·F + f; with
    ``expand_dims``: (batch, frames, F, channels). channels_first: (batch, channels·F, frames), or
    (batch, channels, frames, F) with ``expand_dims``. Weights: real_kernel (unless mode "imag") then
    imag_kernel (unless mode "real"), each (frame_length, 1, F). ``frame_step`` defaults to frame_length // 2,
    ``fft_length`` to the next power of two >= frame_length.
    """

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann",
                 periodic=False, scaling="density", padding="valid", expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError(f"STFTSpectrogram: `frame_step` should be a positive integer not greater than "
                             f"`frame_length`. Received frame_step={frame_step}, frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"STFTSpectrogram: `fft_length` should be not less than `frame_length`. "
                             f"Received fft_length={fft_length}, frame_length={frame_length}")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn(f"`fft_length` is recommended to be a power of two. Received fft_length={fft_length}",
                          stacklevel=2)
        if mode not in _MODES:
            raise ValueError(f"STFTSpectrogram: output mode is invalid, it must be one of {', '.join(_MODES)}. "
                             f"Received: mode={mode}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"STFTSpectrogram: scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        if padding not in ("valid", "same"):
            raise ValueError(f"STFTSpectrogram: padding is invalid, it should be 'valid', 'same'. "
                             f"Received: padding={padding}")
        if isinstance(window, str):
            initializers.STFT("real", window, scaling, periodic)  # an unknown window name fails here, as in Keras
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = standardize_data_format("STFTSpectrogram", data_format)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        for side in ("real", "imag"):
            if self.mode != ("imag" if side == "real" else "real"):
                setattr(self, f"{side}_kernel", self.add_weight(
                    name=f"{side}_kernel", shape=shape,
                    initializer=initializers.STFT(side, self.window, self.scaling, self.periodic)))
        self.built = True

    def _frames(self, x, kernel):
        """Every channel's STFT by one convolution: (batch, channels, F, frames)."""
        last = self.data_format == "channels_last"
        batch, channels, steps = (x.shape[0], x.shape[2], x.shape[1]) if last else x.shape
        if last:
            x = ops.reshape(ops.transpose(x, (0, 2, 1)), (-1, steps, 1))
        else:
            x = ops.reshape(x, (-1, 1, steps))
        y = _conv.conv(x, ops.cast(kernel, x.dtype), strides=self._frame_step, padding=self.padding,
                       data_format=self.data_format)
        if last:
            y = ops.transpose(y, (0, 2, 1))
        return ops.reshape(y, (batch, channels, y.shape[1], y.shape[2]))

    def _layout(self, y):
        """(batch, channels, F, frames) to the output layout of ``data_format`` and ``expand_dims``."""
        batch, channels, bins, frames = y.shape
        if self.expand_dims:
            return ops.transpose(y, (0, 3, 2, 1) if self.data_format == "channels_last" else (0, 1, 3, 2))
        y = ops.reshape(y, (batch, channels * bins, frames))
        return ops.transpose(y, (0, 2, 1)) if self.data_format == "channels_last" else y

    def call(self, inputs):
        if str(inputs.dtype) not in ("float16", "float32", "float64"):
            raise TypeError(f"STFTSpectrogram: invalid input type. Expected `float16`, `float32` or `float64`. "
                            f"Received: input type={inputs.dtype}")
        re = self._frames(inputs, self.real_kernel) if self.mode != "imag" else None
        im = self._frames(inputs, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._layout(re)
        if self.mode == "imag":
            return self._layout(im)
        if self.mode == "angle":
            return self._layout(ops.arctan2(im, re))
        if self.mode == "stft":
            return self._layout(ops.concatenate([re, im], axis=2))
        power = ops.square(re) + ops.square(im)
        if self.mode == "psd":  # one-sided: every bin but the first and the last counted twice
            return self._layout(power + ops.pad(power[:, :, 1:-1, :], [[0, 0], [0, 0], [1, 1], [0, 0]]))
        eps = _epsilon()
        magnitude = self._layout(ops.sqrt(ops.maximum(power, eps)))
        return magnitude if self.mode == "magnitude" else ops.log(ops.maximum(magnitude, eps))

    def compute_output_shape(self, input_shape):
        last = self.data_format == "channels_last"
        channels = input_shape[-1] if last else input_shape[1]
        steps = input_shape[1] if last else input_shape[-1]
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        frames = None if steps is None else \
            _conv.conv_output_length(steps, self.frame_length, self._frame_step, self.padding)
        if self.expand_dims:
            return (input_shape[0], frames, bins, channels) if last else (input_shape[0], channels, frames, bins)
        features = None if channels is None else channels * bins
        return (input_shape[0], frames, features) if last else (input_shape[0], features, frames)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}


def _epsilon() -> float:
    from ..config import epsilon  # noqa: PLC0415

    return epsilon()
