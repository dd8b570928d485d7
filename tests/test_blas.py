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


# ----------------------------------------------------------------------------------
# the compiled kernels of _shifted.c
# ----------------------------------------------------------------------------------
needs_direct = pytest.mark.skipif(not blas.direct_available(), reason="the compiled kernels of neuronka/ops/"
                                  "_shifted.c were not built (no C compiler at install time)")


def test_the_compiled_kernels_were_built_where_a_compiler_is_there():
    """pip builds _shifted.c as an optional extension: a failed build must not pass unnoticed on a machine that
    has a C compiler (as CI's has), since every other test of the kernels would then skip."""
    import shutil
    import sys
    if sys.platform == "win32" or shutil.which("cc") is None:
        pytest.skip("no C compiler on this machine: the kernels are optional and BLAS runs instead")
    assert blas.direct_available(numpy.float32) and blas.direct_available(numpy.float64), \
        "neuronka/ops/_shifted.c is not built: reinstall with `pip install -e .` and read the compiler's message"


# taps one by one, and in rows of three neighbours (a 3-wide kernel: the fwd3 / wgt3 tiles of _shifted.c)
TAP_SETS = {"per tap": [0, 1, 7, 13], "rows of three": [0, 1, 2, 7, 8, 9, 14, 15, 16]}


@needs_direct
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("k", [3, 8, 13, 17])
@pytest.mark.parametrize("vectors", [1, 2, 3, 4, 5, 9])  # every block width and the sums of them
@pytest.mark.parametrize("taps", list(TAP_SETS))
def test_compiled_kernels_match_the_definitions_for_every_tile_and_remainder(dtype, k, vectors, taps):
    rng = numpy.random.default_rng(k * 10 + vectors)
    n = vectors * blas.direct_lanes(dtype)
    m = 53  # no tile size divides it: the single-pixel remainders run too
    offsets = TAP_SETS[taps]
    a = rng.standard_normal((m + offsets[-1], k)).astype(dtype)
    b = rng.standard_normal((len(offsets), k, n)).astype(dtype)
    a64, b64 = a.astype(numpy.float64), b.astype(numpy.float64)
    product = sum(a64[o:o + m] @ b64[t] for t, o in enumerate(offsets))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == numpy.float32 else dict(rtol=1e-12, atol=1e-12)
    c = numpy.full((m, n), 2.0, dtype)
    blas.shifted_matmul(a, offsets, b, c, accumulate=True)
    numpy.testing.assert_allclose(c, 2.0 + product, **tol)
    blas.shifted_matmul(a, offsets, b, c)
    numpy.testing.assert_allclose(c, product, **tol)
    g = rng.standard_normal((m, n)).astype(dtype)
    expected = numpy.stack([a64[o:o + m].T @ g.astype(numpy.float64) for o in offsets])
    out = numpy.full((len(offsets), k, n), -1.0, dtype)
    blas.shifted_matmul_t(a, offsets, g, out, accumulate=True)
    numpy.testing.assert_allclose(out, expected - 1.0, **tol)
    blas.shifted_matmul_t(a, offsets, g, out)
    numpy.testing.assert_allclose(out, expected, **tol)


@needs_direct
def test_compiled_kernels_and_blas_give_the_same_products_and_the_switch_works():
    rng = numpy.random.default_rng(3)
    lanes = blas.direct_lanes(numpy.float32)
    a = rng.standard_normal((3000, 16)).astype(numpy.float32)  # long enough for several pixel blocks
    b = rng.standard_normal((9, 16, 2 * lanes)).astype(numpy.float32)
    g = rng.standard_normal((2900, 2 * lanes)).astype(numpy.float32)
    offsets = [0, 1, 2, 40, 41, 42, 80, 81, 82]
    results = []
    for direct in (True, False):
        previous = blas.set_direct(direct)
        try:
            assert (blas._direct_kernel(0, numpy.dtype(numpy.float32), 2 * lanes) is not None) == direct
            c, out = numpy.empty((2900, 2 * lanes), numpy.float32), numpy.empty((9, 16, 2 * lanes), numpy.float32)
            blas.shifted_matmul(a, offsets, b, c)
            blas.shifted_matmul_t(a, offsets, g, out)
            results.append((c, out))
        finally:
            blas.set_direct(previous)
    numpy.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4, atol=1e-4)
    numpy.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-4, atol=1e-3)
    # output columns that are no multiple of the vector's lanes go to BLAS
    assert blas._direct_kernel(0, numpy.dtype(numpy.float32), lanes + 1) is None


@pytest.mark.parametrize("direct", [True, False], ids=["compiled", "blas"])
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("rows_of_three", [False, True])
@pytest.mark.parametrize("vectors", [1, 2])
def test_shifted_product_on_a_grid_writes_only_the_valid_pixels(direct, dtype, rows_of_three, vectors, monkeypatch):
    monkeypatch.setattr(blas, "_use_direct", direct and blas.direct_available(dtype))
    rng = numpy.random.default_rng(4)
    nb, hq, wq, ho, wo = 3, 7, 19, 5, 17  # rows of 17 pixels: whole tiles and remainders
    n = vectors * max(blas.direct_lanes(dtype), 8)
    offsets = [0, 1, 2, wq, wq + 1, wq + 2] if rows_of_three else [0, 1, 2, wq, wq + 1, 2 * wq + 2]
    a = rng.standard_normal((nb * hq * wq + offsets[-1], 5)).astype(dtype)
    b = rng.standard_normal((len(offsets), 5, n)).astype(dtype)
    full = sum(a[o:o + nb * hq * wq] @ b[t] for t, o in enumerate(offsets)).reshape(nb, hq, wq, n)
    c = numpy.full((nb, ho, wo, n), 1.5, dtype)
    blas.shifted_matmul(a, offsets, b, c, accumulate=True, grid=(hq, wq))
    numpy.testing.assert_allclose(c, 1.5 + full[:, :ho, :wo], rtol=1e-5, atol=1e-5)
    blas.shifted_matmul(a, offsets, b, c, grid=(hq, wq))
    numpy.testing.assert_allclose(c, full[:, :ho, :wo], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"at most the grid's 7x19 pixels \(at stride 1\), received 8x17"):
        blas.shifted_matmul(a, offsets, b, numpy.empty((nb, 8, wo, n), dtype), grid=(hq, wq))
    bias = rng.standard_normal(n).astype(dtype)  # the epilogue: max(product + bias, 0) in the same pass
    blas.shifted_matmul(a, offsets, b, c, grid=(hq, wq), bias=bias, relu=True)
    numpy.testing.assert_allclose(c, numpy.maximum(full[:, :ho, :wo] + bias, 0), rtol=1e-5, atol=1e-5)
    blas.shifted_matmul(a, offsets, b, c, grid=(hq, wq), bias=bias)
    numpy.testing.assert_allclose(c, full[:, :ho, :wo] + bias, rtol=1e-5, atol=1e-5)
    blas.shifted_matmul(a, offsets, b, c, grid=(hq, wq), relu=True)
    numpy.testing.assert_allclose(c, numpy.maximum(full[:, :ho, :wo], 0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=rf"bias of shape \({n},\)"):
        blas.shifted_matmul(a, offsets, b, c, grid=(hq, wq), bias=bias[:-1])
    last_read = (nb - 1) * hq * wq + (ho - 1) * wq + wo - 1 + offsets[-1]  # of the last valid pixel
    with pytest.raises(ValueError, match="offsets"):  # a row short of it: refused, not read out of bounds
        blas.shifted_matmul(a[:last_read], offsets, b, c, grid=(hq, wq))


@needs_direct
def test_shifted_rows_matches_its_definition_and_refuses_reads_out_of_bounds():
    rng = numpy.random.default_rng(8)
    lanes = blas.direct_lanes(numpy.float32)
    a = rng.standard_normal((200, 5)).astype(numpy.float32)
    b = rng.standard_normal((2, 5, lanes)).astype(numpy.float32)
    y = numpy.full((150, lanes), 7.0, numpy.float32)
    offsets, a_at, y_at = [0, 3], (4, 60, 11, 2), (1, 70, 20, 3)  # 2 images × 3 rows × 4 columns, strided
    blas.shifted_rows(a, offsets, b, y, 2, 3, 4, a_at, y_at)
    expected = numpy.full_like(y, 7.0)
    for n in range(2):
        for i in range(3):
            for j in range(4):
                p = a_at[0] + n * a_at[1] + i * a_at[2] + j * a_at[3]
                expected[y_at[0] + n * y_at[1] + i * y_at[2] + j * y_at[3]] = a[p] @ b[0] + a[p + 3] @ b[1]
    numpy.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="leave the arrays"):
        blas.shifted_rows(a, [0, 200], b, y, 2, 3, 4, a_at, y_at)
    with pytest.raises(ValueError, match="leave the arrays"):
        blas.shifted_rows(a, offsets, b, y, 2, 3, 4, a_at, (90, 70, 20, 3))
    with pytest.raises(ValueError, match="at least one offset"):
        blas.shifted_rows(a, [], b[:0], y, 2, 3, 4, a_at, y_at)
