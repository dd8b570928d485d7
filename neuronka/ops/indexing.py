"""Sorting, searching and indexing (``keras.ops``): sort, argsort, argpartition, top_k, in_top_k,
take_along_axis, searchsorted, digitize, unique, nonzero, select, isin, unravel_index."""
from __future__ import annotations

__all__: list[str] = []
