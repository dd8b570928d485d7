"""Arrays made from shapes and ranges (``keras.ops`` creation functions): zeros, ones, full, empty, their
``*_like`` forms, arange, linspace, logspace, geomspace, eye, identity, tri, meshgrid, vander, and the
window functions (bartlett, blackman, hamming, hanning, kaiser)."""
from __future__ import annotations

__all__: list[str] = []
