"""Reductions of ``keras.ops``: prod, std, all/any, argmax/argmin, cumulative sums and products,
logsumexp, the nan-ignoring reductions, order statistics (median, quantile, percentile), average, ptp,
count_nonzero, histogram, bincount, correlations, and the segment reductions."""
from __future__ import annotations

__all__: list[str] = []
