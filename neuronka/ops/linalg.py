"""Linear algebra (``keras.ops.linalg``): solve, inv, cholesky, det, slogdet/logdet, eigh, eig, svd, qr,
lstsq, norm, lu_factor, solve_triangular, matrix_rank, pinv, einsum, tensordot, kron, outer, inner, cross."""
from __future__ import annotations

__all__: list[str] = []
