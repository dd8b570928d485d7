"""Fourier transforms and framing (``keras.ops.math``): fft, fft2, ifft2, rfft, irfft, stft, istft,
extract_sequences, view_as_complex / view_as_real."""
from __future__ import annotations

__all__: list[str] = []
