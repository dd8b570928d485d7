"""The direct BLAS calls (neuronka/ops/blas.py) against NumPy's matmul."""
from __future__ import annotations

import numpy
import pytest

from neuronka.ops import blas

pytestmark = pytest.mark.skipif(not blas.available(numpy.float32), reason="NumPy's BLAS cannot be called directly "
                                "here (not NumPy's bundled OpenBLAS); the callers use NumPy instead")


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("trans_a, trans_b", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_matches_matmul_with_transposes_strides_and_accumulation(dtype, trans_a, trans_b):
    rng = numpy.random.default_rng(0)
    a_big = rng.standard_normal((40, 30)).astype(dtype)
    a = a_big[3:3 + (9 if trans_a else 11), 2:2 + (11 if trans_a else 9)]  # strided rows: a window of a_big
    b = rng.standard_normal((7, 9) if trans_b else (9, 7)).astype(dtype)
    c = rng.standard_normal((11, 7)).astype(dtype)
    expected = 0.5 * c + 2.0 * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    blas.gemm(a, b, c, beta=0.5, alpha=2.0, trans_a=trans_a, trans_b=trans_b)
    numpy.testing.assert_allclose(c, expected, rtol=1e-5 if dtype == numpy.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_shifted_products_match_their_definitions(dtype):
    rng = numpy.random.default_rng(1)
    a = rng.standard_normal((50, 6)).astype(dtype)
    offsets = [0, 1, 7, 13]
    b = rng.standard_normal((4, 6, 5)).astype(dtype)
    c = numpy.full((37, 5), 3.0, dtype)
    blas.shifted_matmul(a, offsets, b, c, accumulate=True)
    numpy.testing.assert_allclose(c, 3.0 + sum(a[o:o + 37] @ b[t] for t, o in enumerate(offsets)), rtol=1e-5)
    blas.shifted_matmul(a, offsets, b, c)
    numpy.testing.assert_allclose(c, sum(a[o:o + 37] @ b[t] for t, o in enumerate(offsets)), rtol=1e-5)
    g = rng.standard_normal((37, 5)).astype(dtype)
    out = numpy.empty((4, 6, 5), dtype)
    blas.shifted_matmul_t(a, offsets, g, out)
    numpy.testing.assert_allclose(out, numpy.stack([a[o:o + 37].T @ g for o in offsets]), rtol=1e-5, atol=1e-6)


def test_bad_shapes_are_refused_with_what_was_received():
    a, b, c = numpy.ones((4, 3), numpy.float32), numpy.ones((2, 5), numpy.float32), numpy.ones((4, 5), numpy.float32)
    with pytest.raises(ValueError, match=r"op\(a\) \(M, K\), op\(b\) \(K, N\).*a \(4, 3\)"):
        blas.gemm(a, b, c)
    with pytest.raises(ValueError, match="contiguous rows"):
        blas.gemm(numpy.ones((4, 6), numpy.float32)[:, ::2], numpy.ones((3, 5), numpy.float32), c)
    with pytest.raises(ValueError, match="offsets 0..9"):
        blas.shifted_matmul(numpy.ones((10, 3), numpy.float32), [0, 9], numpy.ones((2, 3, 5), numpy.float32), c)


def test_shifted_products_refuse_mixed_dtypes_instead_of_reading_out_of_bounds():
    a = numpy.ones((10, 3), numpy.float32)
    with pytest.raises(ValueError, match="one float dtype.*float64"):
        blas.shifted_matmul(a, [0, 1], numpy.ones((2, 3, 5)), numpy.ones((4, 5), numpy.float32))
    with pytest.raises(ValueError, match="one float dtype.*float64"):
        blas.shifted_matmul_t(a, [0, 1], numpy.ones((4, 5)), numpy.ones((2, 3, 5), numpy.float32))
