"""keras.ops.linalg, the linear-algebra ops of keras.ops.numpy (einsum, tensordot, kron, outer, inner, vdot,
cross, slogdet) and keras.ops' logdet and cdist, each compared with real Keras 3.15.1 (PyTorch backend):
values, shapes and dtypes in float32 (some float64 and int rows), and the hand-written backwards against
central differences in float64.

Decompositions are unique only up to the signs of their vectors (svd, eigh, qr) or the phases (eig): those
rows align each of neuronka's vectors with Keras's before comparing. Gradient rows of U, V, Q use a loss that
does not depend on those signs (u ∘ u, U diag(s) Vᴴ).
"""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk

from .keras_oracle import Inputs, OpCase, assert_same, keras_api, keras_or_skip, op_cases, to_numpy

RTOL, ATOL = 1e-4, 1e-5  # float32 linear algebra


def spd(r: Inputs, shape, dtype="float32"):
    """A well-conditioned symmetric positive-definite matrix (..., n, n)."""
    a = r.normal(shape, "float64")
    return (a @ a.swapaxes(-1, -2) + shape[-1] * numpy.eye(shape[-1])).astype(dtype)


def well_conditioned(r: Inputs, shape, dtype="float32"):
    return (r.normal(shape, "float64") + 3 * numpy.eye(shape[-1])).astype(dtype)


def chol_factor(r: Inputs, shape, upper=False):
    low = numpy.linalg.cholesky(spd(r, shape, "float64"))
    return (low.swapaxes(-1, -2) if upper else low).astype("float32")


def _align_columns(actual, expected):
    """actual's columns (last axis) times the unit factor (±1, or a complex phase) that best matches
    expected's."""
    c = (numpy.conj(actual) * expected).sum(axis=-2, keepdims=True)
    phase = numpy.where(numpy.abs(c) > 0, c / numpy.where(numpy.abs(c) > 0, numpy.abs(c), 1), 1)
    return actual * phase, phase


def compare_svd(nk_out, k_out):
    if not isinstance(k_out, (tuple, list)):
        return assert_same(nk_out, k_out, rtol=RTOL, atol=ATOL)
    (u, s, vh), (ku, ks, kvh) = to_numpy(nk_out), to_numpy(k_out)
    assert u.shape == ku.shape and vh.shape == kvh.shape and u.dtype == ku.dtype and vh.dtype == kvh.dtype
    assert_same(s, ks, rtol=RTOL, atol=ATOL, what="svd S")
    k = s.shape[-1]
    u_k, phase = _align_columns(u[..., :, :k], ku[..., :, :k])
    numpy.testing.assert_allclose(u_k, ku[..., :, :k], rtol=RTOL, atol=1e-4)
    numpy.testing.assert_allclose(vh[..., :k, :] * phase.swapaxes(-1, -2), kvh[..., :k, :], rtol=RTOL, atol=1e-4)
    for a, b in ((u, ku), (vh.swapaxes(-1, -2), kvh.swapaxes(-1, -2))):  # the complement: the same projector
        numpy.testing.assert_allclose(a[..., k:] @ a[..., k:].swapaxes(-1, -2),
                                      b[..., k:] @ b[..., k:].swapaxes(-1, -2), atol=1e-4)


def compare_eigh(nk_out, k_out):
    (w, v), (kw, kv) = to_numpy(nk_out), to_numpy(k_out)
    assert_same(w, kw, rtol=RTOL, atol=ATOL, what="eigh w")
    assert v.dtype == kv.dtype
    numpy.testing.assert_allclose(_align_columns(v, kv)[0], kv, rtol=RTOL, atol=1e-4)


def compare_eig(nk_out, k_out):
    (w, v), (kw, kv) = to_numpy(nk_out), to_numpy(k_out)
    assert w.dtype == kw.dtype and v.dtype == kv.dtype, (w.dtype, kw.dtype, v.dtype, kv.dtype)
    order, korder = numpy.argsort(w, axis=-1), numpy.argsort(kw, axis=-1)  # sorted by (real, imag)
    numpy.testing.assert_allclose(numpy.take_along_axis(w, order, -1), numpy.take_along_axis(kw, korder, -1),
                                  rtol=RTOL, atol=1e-4)
    v = numpy.take_along_axis(v, order[..., None, :], -1)
    kv = numpy.take_along_axis(kv, korder[..., None, :], -1)
    numpy.testing.assert_allclose(_align_columns(v, kv)[0], kv, rtol=RTOL, atol=1e-4)


def compare_qr(nk_out, k_out):
    (q, r), (kq, kr) = to_numpy(nk_out), to_numpy(k_out)
    assert q.shape == kq.shape and r.shape == kr.shape and q.dtype == kq.dtype and r.dtype == kr.dtype
    k = min(r.shape[-2:])
    q_k, phase = _align_columns(q[..., :, :k], kq[..., :, :k])
    numpy.testing.assert_allclose(q_k, kq[..., :, :k], rtol=RTOL, atol=1e-4)
    numpy.testing.assert_allclose(r[..., :k, :] * phase.swapaxes(-1, -2), kr[..., :k, :], rtol=RTOL, atol=1e-4)
    numpy.testing.assert_allclose(q[..., k:] @ q[..., k:].swapaxes(-1, -2), kq[..., k:] @ kq[..., k:].swapaxes(-1, -2),
                                  atol=1e-4)


def _sign_free_svd(x, **kw):
    """U diag(s²) Vᴴ, u ∘ u, v ∘ v and s: functions of the reduced SVD that do not depend on the vectors'
    signs (``kw``: the row's, ignored)."""
    u, s, vh = nk.ops.svd(x, full_matrices=False)
    return _flat(nk.ops.matmul(u * (s * s)[..., None, :], vh), u * u, vh * vh, s)


def _flat(*ts):
    return nk.ops.concatenate([nk.ops.reshape(t, (-1,)) for t in ts], axis=0)


# ---------------------------------------------------------------------------------------------------------------
# keras.ops.linalg
# ---------------------------------------------------------------------------------------------------------------
LINALG = [
    OpCase("ops.linalg.cholesky", lambda r: (spd(r, (4, 4)),), grad=(0,)),
    OpCase("ops.linalg.cholesky", lambda r: (spd(r, (2, 3, 3)),), {"upper": True}, id="batched_upper", grad=(0,)),
    OpCase("ops.linalg.cholesky", lambda r: (numpy.tril(spd(r, (3, 3))),), id="reads_lower_triangle_only",
           rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.cholesky", lambda r: (numpy.triu(spd(r, (3, 3), "float64")),), {"upper": True},
           id="float64_reads_upper_triangle_only"),
    OpCase("ops.linalg.cholesky_inverse", lambda r: (chol_factor(r, (3, 3)),), grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.cholesky_inverse", lambda r: (chol_factor(r, (2, 4, 4), upper=True),), {"upper": True},
           id="batched_upper", grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.det", lambda r: (well_conditioned(r, (4, 4)),), grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.det", lambda r: (r.normal((2, 3, 3)),), id="batched", grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.det", lambda r: (r.normal((3, 3), "float64"),), id="float64"),
    OpCase("ops.linalg.eig", lambda r: (r.normal((4, 4)),), compare=compare_eig),
    OpCase("ops.linalg.eig", lambda r: (r.normal((2, 3, 3), "float64"),), id="batched_float64", compare=compare_eig),
    OpCase("ops.linalg.eigh", lambda r: (spd(r, (4, 4)),), compare=compare_eigh,
           grad_fn=lambda x: _flat(nk.ops.eigh(x)[0], nk.ops.eigh(x)[1] ** 2), grad=(0,)),
    OpCase("ops.linalg.eigh", lambda r: (r.normal((2, 3, 3)),), id="batched_reads_lower_triangle",
           compare=compare_eigh, grad_fn=lambda x: _flat(*[t * t for t in nk.ops.eigh(x)]), grad=(0,)),
    OpCase("ops.linalg.inv", lambda r: (well_conditioned(r, (4, 4)),), grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.inv", lambda r: (well_conditioned(r, (2, 3, 3), "float64"),), id="batched_float64",
           grad=(0,)),
    OpCase("ops.linalg.lstsq", lambda r: (r.normal((5, 3)), r.normal((5, 2))), grad=(0, 1), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.lstsq", lambda r: (r.normal((5, 3)), r.normal((5,))), id="vector_b", grad=(0, 1),
           rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.lstsq", lambda r: (r.normal((3, 5)), r.normal((3, 2))), id="underdetermined_least_norm",
           grad=(0, 1), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.lstsq", lambda r: (r.normal((2, 4, 3)), r.normal((2, 4, 2))), {"rcond": 1e-3},
           id="batched_rcond", grad=(0, 1), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.lu_factor", lambda r: (r.normal((4, 4)),), grad_fn=lambda x: nk.ops.lu_factor(x)[0],
           grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.lu_factor", lambda r: (r.normal((2, 5, 3)),), id="batched_tall",
           grad_fn=lambda x: nk.ops.lu_factor(x)[0], grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.lu_factor", lambda r: (r.normal((3, 5)),), id="wide",
           grad_fn=lambda x: nk.ops.lu_factor(x)[0], grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.matrix_rank", lambda r: (r.normal((2, 4, 3)),)),
    OpCase("ops.linalg.matrix_rank", lambda r: (numpy.diag([1.0, 0.1, 0.01, 0.0]).astype("float32"),),
           {"tol": 0.05}, id="tol"),
    OpCase("ops.linalg.matrix_rank", lambda r: (r.normal((5, 2)) @ r.normal((2, 4)),), id="rank_deficient"),
    OpCase("ops.linalg.pinv", lambda r: (r.normal((4, 3)),), grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.pinv", lambda r: (r.normal((2, 3, 5)),), id="batched_wide", grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.pinv", lambda r: (r.normal((5, 2)) @ r.normal((2, 4)),), {"rcond": 1e-4},
           id="rank_deficient_rcond", rtol=1e-3, atol=1e-4),
    OpCase("ops.linalg.qr", lambda r: (r.normal((5, 3)),), compare=compare_qr,
           grad_fn=lambda x, **kw: _flat(*nk.ops.qr(x, **kw)), grad=(0,)),
    OpCase("ops.linalg.qr", lambda r: (r.normal((2, 3, 5)),), id="batched_wide", compare=compare_qr,
           grad_fn=lambda x, **kw: _flat(*nk.ops.qr(x, **kw)), grad=(0,)),
    OpCase("ops.linalg.qr", lambda r: (r.normal((5, 3)),), {"mode": "complete"}, id="complete",
           compare=compare_qr, grad_fn=lambda x, **kw: nk.ops.qr(x, **kw)[1], grad=(0,)),
    OpCase("ops.linalg.solve", lambda r: (well_conditioned(r, (3, 3)), r.normal((3, 2))), grad=(0, 1),
           rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.solve", lambda r: (well_conditioned(r, (2, 3, 3)), r.normal((2, 3))), id="batched_vectors",
           grad=(0, 1), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.solve", lambda r: (well_conditioned(r, (2, 3, 3)), r.normal((3,))), id="one_vector_broadcast",
           grad=(0, 1), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.solve", lambda r: (well_conditioned(r, (2, 3, 3)), r.normal((3, 2))),
           id="matrix_broadcast_over_batch", grad=(0, 1), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.solve_triangular", lambda r: (well_conditioned(r, (3, 3)), r.normal((3, 2))), grad=(0, 1),
           rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.solve_triangular", lambda r: (well_conditioned(r, (2, 4, 4)), r.normal((2, 4))),
           {"lower": True}, id="batched_vectors_lower", grad=(0, 1), rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.svd", lambda r: (r.normal((4, 3)),), compare=compare_svd, grad_fn=_sign_free_svd, grad=(0,)),
    OpCase("ops.linalg.svd", lambda r: (r.normal((2, 3, 5)),), id="batched_wide_full", compare=compare_svd),
    OpCase("ops.linalg.svd", lambda r: (r.normal((2, 3, 5)),), {"full_matrices": False}, id="batched_wide_reduced",
           compare=compare_svd, grad_fn=_sign_free_svd, grad=(0,)),
    OpCase("ops.linalg.svd", lambda r: (r.normal((2, 4, 3)),), {"compute_uv": False}, id="values_only",
           grad=(0,), rtol=RTOL, atol=ATOL),
]

NORM_MATRIX_ORDS = [None, "fro", "nuc", numpy.inf, -numpy.inf, 1, -1, 2, -2]
NORM_VECTOR_ORDS = [None, numpy.inf, -numpy.inf, 0, 1, 2, 3, 0.5, -1.5]
NORM = [
    OpCase("ops.linalg.norm", lambda r: (r.normal((2, 3, 4)),), id="all_values"),
    OpCase("ops.linalg.norm", lambda r: (r.normal((3, 4)),), {"ord": 2}, id="matrix_axis_none_ord2",
           rtol=RTOL, atol=ATOL),
    OpCase("ops.linalg.norm", lambda r: (r.ints((3, 4), -5, 5),), id="int32_gives_float32"),
    OpCase("ops.linalg.norm", lambda r: (r.bools((6,)),), id="bool_gives_float32"),
    OpCase("ops.linalg.norm", lambda r: (r.normal((3, 4), "float16"),), {"axis": 1}, id="float16_keeps_dtype",
           rtol=1e-3, atol=1e-3),
    OpCase("ops.linalg.norm", lambda r: (r.normal((2, 3, 4), "float64"),), {"axis": (0, 2), "keepdims": True},
           id="float64_keepdims"),
    *[OpCase("ops.linalg.norm", lambda r: (r.normal((2, 3, 4)),), {"ord": o, "axis": (2, 1)}, id=f"matrix_ord_{o}",
             grad=(0,), rtol=RTOL, atol=ATOL) for o in NORM_MATRIX_ORDS],
    *[OpCase("ops.linalg.norm", lambda r: (r.normal((3, 5)),), {"ord": o, "axis": 0, "keepdims": True},
             id=f"vector_ord_{o}", grad=(0,), rtol=RTOL, atol=ATOL) for o in NORM_VECTOR_ORDS],
]


@op_cases(LINALG + NORM)
def test_linalg_op_matches_keras(case):
    case.run()


# ---------------------------------------------------------------------------------------------------------------
# keras.ops.jvp: forward-mode products against torch.func.jvp through Keras
# ---------------------------------------------------------------------------------------------------------------
JVP_FUNS = {
    "tanh_of_matmul": lambda ops: (lambda x, w: ops.tanh(ops.matmul(x, w))),
    "det_and_norm": lambda ops: (lambda a: (ops.det(a), ops.norm(a, axis=0))),
    "inv_nested_primals": lambda ops: (lambda pair, s: ops.inv(pair[0]) * s + pair[1]),
    "with_aux": lambda ops: (lambda x: (ops.exp(x) * x, {"aux": x})),
}


def _jvp_case(fun_name, make, has_aux=False):
    def keras_fn(primals, tangents):
        keras = keras_or_skip()
        primals, tangents = keras.tree.map_structure(keras.ops.convert_to_tensor, (primals, tangents))
        return keras.ops.jvp(JVP_FUNS[fun_name](keras.ops), primals, tangents, has_aux=has_aux)

    def nk_fn(primals, tangents):
        return nk.ops.jvp(JVP_FUNS[fun_name](nk.ops), primals, tangents, has_aux=has_aux)

    return OpCase("ops.linalg.jvp", make, id=fun_name, keras_fn=keras_fn, nk_fn=nk_fn, rtol=RTOL, atol=ATOL)


JVP = [
    _jvp_case("tanh_of_matmul", lambda r: ((r.normal((2, 3)), r.normal((3, 4))), (r.normal((2, 3)), r.normal((3, 4))))),
    _jvp_case("det_and_norm", lambda r: ((well_conditioned(r, (3, 3)),), (r.normal((3, 3)),))),
    _jvp_case("inv_nested_primals", lambda r: (((well_conditioned(r, (3, 3)), r.normal((3, 3))), r.normal(())),
                                               ((r.normal((3, 3)), r.normal((3, 3))), r.normal(())))),
    _jvp_case("with_aux", lambda r: ((r.normal((4,)),), (r.normal((4,)),)), has_aux=True),
]


@op_cases(JVP)
def test_jvp_matches_keras(case):
    case.run()


# ---------------------------------------------------------------------------------------------------------------
# keras.ops.numpy's products, slogdet; keras.ops' logdet and cdist
# ---------------------------------------------------------------------------------------------------------------
PRODUCTS = [
    OpCase("ops.einsum", lambda r: ("ij,jk->ik", r.normal((2, 3)), r.normal((3, 4)))),
    OpCase("ops.einsum", lambda r: ("ij,jk", r.normal((2, 3)), r.normal((3, 4))), id="implicit_output"),
    OpCase("ops.einsum", lambda r: ("ii", r.normal((3, 3))), id="trace"),
    OpCase("ops.einsum", lambda r: ("ii->i", r.normal((3, 3))), id="diagonal"),
    OpCase("ops.einsum", lambda r: ("...ij,...jk->...ik", r.normal((2, 1, 2, 3)), r.normal((4, 3, 2))),
           id="ellipsis_broadcast", rtol=RTOL, atol=ATOL),
    OpCase("ops.einsum", lambda r: ("bij,bjk,kl->bil", r.normal((2, 3, 4)), r.normal((2, 4, 2)), r.normal((2, 3))),
           id="three_operands", rtol=RTOL, atol=ATOL),
    OpCase("ops.einsum", lambda r: ("ij,jk->ik", r.ints((2, 3)), r.ints((3, 4))), id="int32"),
    OpCase("ops.einsum", lambda r: ("ij,jk->ik", r.ints((2, 3), dtype="int8"), r.ints((3, 4), dtype="int8")),
           id="int8_gives_int32"),
    OpCase("ops.einsum", lambda r: ("ij,jk->ik", r.normal((2, 3), "float64"), r.normal((3, 4), "float64")),
           id="float64"),
    OpCase("ops.tensordot", lambda r: (r.normal((2, 3, 4)), r.normal((3, 4, 5))), rtol=RTOL, atol=ATOL, grad=(0, 1)),
    OpCase("ops.tensordot", lambda r: (r.normal((2, 3, 4)), r.normal((4, 2, 5))), {"axes": ([0, 2], [1, 0])},
           id="axes_pairs", rtol=RTOL, atol=ATOL, grad=(0, 1)),
    OpCase("ops.tensordot", lambda r: (r.normal((2, 3)), r.normal((3, 5))), {"axes": 1}, id="axes_1",
           rtol=RTOL, atol=ATOL),
    OpCase("ops.tensordot", lambda r: (r.normal((2, 3)), r.normal((5, 3))), {"axes": (1, 1)}, id="axes_int_pair",
           rtol=RTOL, atol=ATOL),
    OpCase("ops.tensordot", lambda r: (r.ints((2, 3)), r.normal((3, 5))), {"axes": 1}, id="int32_float32",
           rtol=RTOL, atol=ATOL),
    OpCase("ops.tensordot", lambda r: (r.ints((2, 3)), r.ints((3, 2))), {"axes": 1}, id="int32"),
    OpCase("ops.kron", lambda r: (r.normal((2, 3)), r.normal((3, 2))), grad=(0, 1)),
    OpCase("ops.kron", lambda r: (r.normal((2,)), r.normal((3, 2))), id="rank_mismatch", grad=(0, 1)),
    OpCase("ops.kron", lambda r: (r.ints((2, 2)), r.normal((2, 2))), id="int32_float32"),
    OpCase("ops.kron", lambda r: (r.bools((2, 2)), r.bools((2, 3))), id="bool"),
    OpCase("ops.outer", lambda r: (r.normal((3,)), r.normal((4,))), grad=(0, 1)),
    OpCase("ops.outer", lambda r: (r.normal((2, 2)), r.ints((3,))), id="flattens_int32_float32", grad=(0,)),
    OpCase("ops.outer", lambda r: (r.bools((3,)), r.bools((2,))), id="bool"),
    OpCase("ops.inner", lambda r: (r.normal((2, 3)), r.normal((4, 3))), grad=(0, 1)),
    OpCase("ops.inner", lambda r: (r.normal((3,)), r.normal((3,))), id="vectors", grad=(0, 1)),
    OpCase("ops.inner", lambda r: (r.normal(()), r.normal((2, 3))), id="scalar", grad=(0, 1)),
    OpCase("ops.inner", lambda r: (r.ints((2, 3)), r.ints((3,))), id="int32"),
    OpCase("ops.vdot", lambda r: (r.normal((5,)), r.normal((5,))), grad=(0, 1)),
    OpCase("ops.vdot", lambda r: (r.ints((4,)), r.normal((4,))), id="int32_float32", rtol=RTOL, atol=ATOL),
    OpCase("ops.cross", lambda r: (r.normal((4, 3)), r.normal((4, 3))), {"axis": -1}, grad=(0, 1)),
    OpCase("ops.cross", lambda r: (r.normal((3, 4)), r.normal((3, 4))), {"axis": 0}, id="axis_0", grad=(0, 1)),
    OpCase("ops.cross", lambda r: (r.normal((2, 5, 3)), r.normal((2, 5, 3))), id="default_last_axis", grad=(0, 1)),
    OpCase("ops.cross", lambda r: (r.ints((4, 3)), r.ints((4, 3))), {"axis": -1}, id="int32"),
    OpCase("ops.cross", lambda r: (r.ints((4, 3)), r.normal((4, 3))), {"axis": -1}, id="int32_float32"),
    OpCase("ops.slogdet", lambda r: (r.normal((4, 4)),), grad_fn=lambda x: nk.ops.slogdet(x)[1], grad=(0,),
           rtol=RTOL, atol=ATOL),
    OpCase("ops.slogdet", lambda r: (r.normal((2, 3, 3), "float64"),), id="batched_float64",
           grad_fn=lambda x: nk.ops.slogdet(x)[1], grad=(0,)),
    OpCase("ops.logdet", lambda r: (spd(r, (3, 3)),), grad=(0,), rtol=RTOL, atol=ATOL),
    OpCase("ops.logdet", lambda r: (numpy.stack([spd(r, (3, 3)), -numpy.eye(3, dtype="float32")]),),
           id="batched_nan_for_negative_determinant", rtol=RTOL, atol=ATOL),
    OpCase("ops.cdist", lambda r: (r.normal((4, 3)), r.normal((5, 3))), grad=(0, 1), rtol=RTOL, atol=ATOL),
    OpCase("ops.cdist", lambda r: (r.normal((2, 1, 4, 3)), r.normal((3, 5, 3))), id="batch_broadcast", grad=(0, 1),
           rtol=RTOL, atol=ATOL),
    OpCase("ops.cdist", lambda r: (r.ints((3, 2)), r.ints((4, 2))), id="int32_gives_float32", rtol=RTOL, atol=ATOL),
    OpCase("ops.cdist", lambda r: (r.normal((3, 2), "float64"), r.normal((4, 2), "float64")), id="float64"),
]

EINSUM_GRADS = [  # the backward of a contraction is a contraction: every pattern it has to handle
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij,j->ij", [(3, 3, 2), (2,)]),
    ("ij,k->i", [(2, 3), (4,)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("ab,ab->ab", [(1, 3), (4, 3)]),
    ("bij,bjk,kl->bil", [(2, 3, 4), (2, 4, 2), (2, 3)]),
]
PRODUCTS += [OpCase("ops.einsum", lambda r, s=s, shapes=shapes: (s, *[r.normal(sh) for sh in shapes]),
                    id=f"grad_{s}", rtol=RTOL, atol=ATOL, grad=tuple(range(1, len(shapes) + 1)))
             for s, shapes in EINSUM_GRADS]


@op_cases(PRODUCTS)
def test_product_op_matches_keras(case):
    case.run()


# ---------------------------------------------------------------------------------------------------------------
# the same errors as Keras
# ---------------------------------------------------------------------------------------------------------------
ERRORS = [
    ("ops.linalg.det", lambda r: (r.normal((3,)),), {}),
    ("ops.linalg.inv", lambda r: (r.normal((2, 3)),), {}),
    ("ops.linalg.cholesky", lambda r: (-numpy.eye(3, dtype="float32"),), {}),
    ("ops.linalg.qr", lambda r: (r.normal((3, 3)),), {"mode": "r"}),
    ("ops.linalg.solve", lambda r: (r.normal((3, 3)), r.normal((4, 2))), {}),
]


@pytest.mark.parametrize(("name", "make", "kwargs"), [pytest.param(*e, id=e[0] + str(i), marks=keras_api(e[0]))
                                                      for i, e in enumerate(ERRORS)])
def test_bad_input_raises_value_error_like_keras(name, make, kwargs):
    keras = keras_or_skip()
    args = make(Inputs(0))
    fns = [keras.ops, nk.ops]
    for mod in fns:
        fn = getattr(mod.linalg, name.split(".")[-1])
        with pytest.raises(ValueError):
            fn(*args, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# neuronka's own rules (no Keras counterpart)
# ---------------------------------------------------------------------------------------------------------------
def test_norm_rejects_an_ord_its_kind_of_norm_lacks():
    """ValueError, the type of Keras's own check (Keras on PyTorch lets torch raise a RuntimeError)."""
    x = Inputs(0).normal((3, 4))
    for kwargs in ({"ord": "fro", "axis": 1}, {"ord": "max"}, {"ord": 3, "axis": (0, 1)}, {"ord": 0},
                   {"axis": (0, 1, 1)}, {"ord": 1, "axis": (0, 1, 2)}):
        with pytest.raises(ValueError, match="norm"):
            nk.ops.norm(x, **kwargs)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        nk.ops.norm(Inputs(0).normal((2, 3, 4)), ord="fro")


def test_integer_inputs_are_computed_in_floatx():
    """Keras on PyTorch rejects int matrices in most linalg ops; neuronka computes them in floatx."""
    a = numpy.array([[4, 1], [1, 3]], dtype="int32")
    for fn in (nk.ops.inv, nk.ops.det, nk.ops.cholesky, nk.ops.pinv, nk.ops.logdet):
        out = fn(a)
        assert out.dtype == numpy.float32
    numpy.testing.assert_allclose(nk.ops.inv(a).numpy(), numpy.linalg.inv(a.astype("float64")), rtol=1e-6)
    assert nk.ops.solve(a, numpy.array([1.0, 2.0], "float32")).dtype == numpy.float32


def test_float16_is_computed_in_float32_and_cast_back():
    a = (numpy.eye(3) * 2 + 0.1).astype("float16")
    y = nk.ops.inv(a)
    assert y.dtype == numpy.float16
    numpy.testing.assert_allclose(y.numpy(), numpy.linalg.inv(a.astype("float64")), rtol=2e-3)


def _backward_through(out):
    (out * out).sum().backward()


def test_undefined_gradients_raise():
    r = Inputs(0)
    x = nk.Tensor(r.normal((3, 3), "float64"), requires_grad=True)
    vectors = nk.ops.eig(x)[1]
    with pytest.raises(RuntimeError, match="eig"):
        vectors.backward(numpy.ones(vectors.shape, vectors.dtype))
    with pytest.raises(RuntimeError, match="complex values"):  # and through complex arithmetic on them
        _backward_through(nk.ops.eig(x)[1])
    with pytest.raises(RuntimeError, match="not unique"):  # U's extra columns
        _backward_through(nk.ops.svd(nk.Tensor(r.normal((4, 2), "float64"), requires_grad=True))[0])
    with pytest.raises(RuntimeError, match="not unique"):  # Q's extra columns
        _backward_through(nk.ops.qr(nk.Tensor(r.normal((4, 2), "float64"), requires_grad=True), mode="complete")[0])


def test_svd_full_matrices_differentiates_its_unique_part():
    """With full_matrices=True, a loss on U's first K columns, S and Vᴴ's first K rows has a gradient."""
    def f(t):
        u, s, vh = nk.ops.svd(t)
        return nk.ops.matmul(u[:, :2] * s, vh)

    assert nk.gradcheck(f, [Inputs(1).normal((4, 2), "float64")])


def test_integer_results_carry_no_graph():
    x = nk.Tensor(Inputs(0).normal((3, 3), "float64"), requires_grad=True)
    assert not nk.ops.matrix_rank(x).requires_grad
    lu, pivots = nk.ops.lu_factor(x)
    assert lu.requires_grad and not pivots.requires_grad and pivots.dtype == numpy.int32


def test_cross_of_plane_vectors_and_axisa_axisb_axisc_follow_numpy():
    """Keras documents NumPy's cross (2-vectors, axisa/axisb/axisc), which its PyTorch backend lacks."""
    r = Inputs(0)
    a, b, c = r.normal((4, 2)), r.normal((4, 2)), r.normal((4, 3))
    a3 = numpy.pad(a, ((0, 0), (0, 1)))  # a plane vector's third component is 0
    numpy.testing.assert_allclose(nk.ops.cross(a, b).numpy(), a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0], rtol=1e-6)
    numpy.testing.assert_allclose(nk.ops.cross(a, c).numpy(), numpy.cross(a3, c), rtol=1e-6)
    p, q = r.normal((3, 4)), r.normal((4, 3))
    numpy.testing.assert_allclose(nk.ops.cross(p, q, axisa=0, axisc=0).numpy(), numpy.cross(p, q, axisa=0, axisc=0),
                                  rtol=1e-6)
    assert nk.gradcheck(lambda s, t: nk.ops.cross(s, t), [a.astype("float64"), c.astype("float64")])
    assert nk.gradcheck(lambda s, t: nk.ops.cross(s, t, axisa=0, axisc=0), [p.astype("float64"), q.astype("float64")])


def test_singular_matrix_raises_linalg_error_naming_the_op():
    """numpy.linalg.LinAlgError (a ValueError); Keras on PyTorch raises torch's LinAlgError (a RuntimeError)."""
    singular = numpy.ones((3, 3), dtype="float32")
    with pytest.raises(numpy.linalg.LinAlgError, match="inv: the matrix is singular"):
        nk.ops.inv(singular)
    with pytest.raises(numpy.linalg.LinAlgError, match="solve: the matrix is singular"):
        nk.ops.solve(singular, numpy.ones(3, dtype="float32"))
