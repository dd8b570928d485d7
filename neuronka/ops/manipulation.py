"""Rearranging arrays (``keras.ops``): tile, repeat, flip, roll, rot90, moveaxis, swapaxes, broadcast_to,
ravel, the stack and split families, unstack, diag/diagonal/diagflat, tril/triu, trace, append, insert-like
ops, rearrange (einops notation), view."""
from __future__ import annotations

__all__: list[str] = []
