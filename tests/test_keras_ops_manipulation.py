"""keras.ops array manipulation against real Keras 3.15.1: shapes, values and dtypes, and the gradient of
every op (each moves or copies values) against central differences in float64."""
from __future__ import annotations

import numpy
import pytest

import neuronka as nk
from neuronka import ops

from .keras_oracle import OpCase, assert_same, keras_api, keras_or_skip, op_cases


def listed(name, **fixed):
    """keras.ops.<name> and neuronka's taking their positional arguments as one list (concatenate, stack)."""
    return {"keras_fn": lambda *xs, **kw: getattr(keras_or_skip().ops, name)(list(xs), **fixed, **kw),
            "nk_fn": lambda *xs, **kw: getattr(ops, name)(list(xs), **fixed, **kw)}


def joined(name):
    """For the gradient check of an op returning a list: its parts, each scaled differently, joined flat."""
    def fn(x, **kw):
        parts = getattr(ops, name)(x, **kw)
        return ops.concatenate([ops.reshape(p, (-1,)) * float(i + 1) for i, p in enumerate(parts)])
    return fn


def as_keras_tensor(name):
    """keras.ops.<name> on a Keras tensor (Keras's torch unstack does not take NumPy arrays)."""
    def fn(x, **kw):
        keras = keras_or_skip()
        return getattr(keras.ops, name)(keras.ops.convert_to_tensor(x), **kw)
    return {"keras_fn": fn}


X34 = lambda r: (r.normal((3, 4)),)  # noqa: E731
X234 = lambda r: (r.normal((2, 3, 4)),)  # noqa: E731
I34 = lambda r: (r.ints((3, 4)),)  # noqa: E731

CASES = [
    # ---- reshape, transpose, expand_dims, squeeze, ravel -------------------------------------------
    OpCase("ops.reshape", X234, {"newshape": (4, 6)}, id="shape", grad=(0,)),
    OpCase("ops.reshape", X234, {"newshape": (-1, 2)}, id="infer", grad=(0,)),
    OpCase("ops.reshape", I34, {"newshape": 12}, id="int_newshape_int32"),
    OpCase("ops.transpose", X234, id="reverse", grad=(0,)),
    OpCase("ops.transpose", X234, {"axes": (1, 2, 0)}, id="axes", grad=(0,)),
    OpCase("ops.transpose", X234, {"axes": (-1, 0, 1)}, id="negative_axes"),
    OpCase("ops.expand_dims", X34, {"axis": 1}, id="middle", grad=(0,)),
    OpCase("ops.expand_dims", X34, {"axis": -1}, id="last"),
    OpCase("ops.expand_dims", X34, {"axis": (0, 3)}, id="tuple", grad=(0,)),
    OpCase("ops.squeeze", lambda r: (r.normal((1, 3, 1, 4)),), id="all", grad=(0,)),
    OpCase("ops.squeeze", lambda r: (r.normal((1, 3, 1, 4)),), {"axis": 2}, id="one", grad=(0,)),
    OpCase("ops.squeeze", lambda r: (r.normal((1, 3, 1, 4)),), {"axis": (0, -2)}, id="tuple"),
    OpCase("ops.ravel", X234, id="flat", grad=(0,)),
    OpCase("ops.ravel", I34, id="int32"),
    # ---- joining ---------------------------------------------------------------------------------------
    OpCase("ops.concatenate", lambda r: (r.normal((2, 3)), r.normal((2, 2)), r.normal((2, 1))), {"axis": 1},
           id="three", grad=(0, 1, 2), **listed("concatenate")),
    OpCase("ops.concatenate", lambda r: (r.normal((2, 3)), r.normal((1, 3))), id="axis0", grad=(0, 1),
           **listed("concatenate")),
    OpCase("ops.concatenate", lambda r: (r.normal((2, 3)), r.ints((2, 3))), {"axis": -1},
           id="int32_with_float32_is_float32", **listed("concatenate")),
    OpCase("ops.concatenate", lambda r: (r.ints((2,), dtype="int8"), r.ints((3,), dtype="uint8")),
           id="int8_with_uint8_is_int16", **listed("concatenate")),
    OpCase("ops.stack", lambda r: (r.normal((2, 3)), r.normal((2, 3))), id="axis0", grad=(0, 1), **listed("stack")),
    OpCase("ops.stack", lambda r: (r.normal((2, 3)), r.normal((2, 3)), r.normal((2, 3))), {"axis": -1},
           id="last", grad=(0, 1, 2), **listed("stack")),
    OpCase("ops.stack", lambda r: (r.ints((3,)), r.normal((3,))), {"axis": 1}, id="mixed_dtypes", **listed("stack")),
    OpCase("ops.hstack", lambda r: (r.normal((3,)), r.normal((2,))), id="1d", grad=(0, 1), **listed("hstack")),
    OpCase("ops.hstack", lambda r: (r.normal((2, 3)), r.normal((2, 1))), id="2d", grad=(0, 1), **listed("hstack")),
    OpCase("ops.vstack", lambda r: (r.normal((3,)), r.normal((2, 3))), id="1d_and_2d", grad=(0, 1),
           **listed("vstack")),
    OpCase("ops.dstack", lambda r: (r.normal((3,)), r.normal((3,))), id="1d", grad=(0, 1), **listed("dstack")),
    OpCase("ops.dstack", lambda r: (r.normal((2, 3)), r.normal((2, 3, 2))), id="2d_and_3d", grad=(0, 1),
           **listed("dstack")),
    OpCase("ops.append", lambda r: (r.normal((2, 3)), r.normal((4,))), id="flat", grad=(0, 1)),
    OpCase("ops.append", lambda r: (r.normal((2, 3)), r.normal((1, 3))), {"axis": 0}, id="axis0", grad=(0, 1)),
    OpCase("ops.append", lambda r: (r.ints((2,)), r.normal((2,))), id="mixed_dtypes"),
    # ---- splitting -------------------------------------------------------------------------------------------
    OpCase("ops.split", lambda r: (r.normal((4, 6)),), {"indices_or_sections": 3, "axis": 1}, id="sections",
           grad=(0,), grad_fn=joined("split")),
    OpCase("ops.split", lambda r: (r.normal((5, 2)),), {"indices_or_sections": [1, 3]}, id="indices",
           grad=(0,), grad_fn=joined("split")),
    OpCase("ops.split", lambda r: (r.ints((4, 2)),), {"indices_or_sections": 2}, id="int32"),
    OpCase("ops.array_split", lambda r: (r.normal((7, 2)),), {"indices_or_sections": 3}, id="uneven", grad=(0,),
           grad_fn=joined("array_split")),
    OpCase("ops.array_split", lambda r: (r.normal((2, 8)),), {"indices_or_sections": 5, "axis": 1},
           id="more_sections_than_fit_evenly"),
    OpCase("ops.hsplit", lambda r: (r.normal((2, 6)),), {"indices_or_sections": 3}, id="2d", grad=(0,),
           grad_fn=joined("hsplit")),
    OpCase("ops.hsplit", lambda r: (r.normal((6,)),), {"indices_or_sections": [2, 5]}, id="1d"),
    OpCase("ops.vsplit", lambda r: (r.normal((4, 3)),), {"indices_or_sections": 2}, id="rows", grad=(0,),
           grad_fn=joined("vsplit")),
    OpCase("ops.dsplit", lambda r: (r.normal((2, 2, 4)),), {"indices_or_sections": [1]}, id="depth", grad=(0,),
           grad_fn=joined("dsplit")),
    OpCase("ops.unstack", X234, id="axis0", grad=(0,), grad_fn=joined("unstack"), **as_keras_tensor("unstack")),
    OpCase("ops.unstack", X234, {"axis": -1, "num": 4}, id="last", **as_keras_tensor("unstack")),
    # ---- copies ----------------------------------------------------------------------------------------------
    OpCase("ops.tile", lambda r: (r.normal((2, 3)),), {"repeats": (2, 3)}, id="2d", grad=(0,)),
    OpCase("ops.tile", lambda r: (r.normal((3,)),), {"repeats": (2, 1, 2)}, id="more_repeats", grad=(0,)),
    OpCase("ops.tile", X234, {"repeats": 2}, id="int_repeats", grad=(0,)),
    OpCase("ops.tile", I34, {"repeats": [2, 1]}, id="int32"),
    OpCase("ops.repeat", X34, {"repeats": 2}, id="flat", grad=(0,)),
    OpCase("ops.repeat", X34, {"repeats": 3, "axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.repeat", X34, {"repeats": numpy.array([2, 0, 1]), "axis": 0}, id="per_entry_with_zero", grad=(0,)),
    OpCase("ops.repeat", I34, {"repeats": 2, "axis": -1}, id="int32"),
    OpCase("ops.broadcast_to", lambda r: (r.normal((3, 1)),), {"shape": (2, 3, 4)}, id="expand", grad=(0,)),
    OpCase("ops.broadcast_to", lambda r: (r.normal((4,)),), {"shape": (3, 4)}, id="rows", grad=(0,)),
    OpCase("ops.broadcast_to", lambda r: (r.bools((1, 2)),), {"shape": (3, 2)}, id="bool"),
    # ---- reversals and rotations ------------------------------------------------------------------------
    OpCase("ops.flip", X234, id="all", grad=(0,)),
    OpCase("ops.flip", X234, {"axis": 1}, id="axis", grad=(0,)),
    OpCase("ops.flip", X234, {"axis": (0, -1)}, id="axes"),
    OpCase("ops.fliplr", X234, id="3d", grad=(0,)),
    OpCase("ops.flipud", lambda r: (r.normal((4,)),), id="1d", grad=(0,)),
    OpCase("ops.roll", X34, {"shift": 2}, id="flat", grad=(0,)),
    OpCase("ops.roll", X234, {"shift": -1, "axis": 2}, id="axis", grad=(0,)),
    OpCase("ops.roll", X234, {"shift": (1, 2), "axis": (0, 1)}, id="tuples", grad=(0,)),
    OpCase("ops.rot90", X34, id="once", grad=(0,)),
    OpCase("ops.rot90", X234, {"k": 2, "axes": (1, 2)}, id="twice", grad=(0,)),
    OpCase("ops.rot90", X34, {"k": -1}, id="back", grad=(0,)),
    OpCase("ops.rot90", X234, {"k": 3, "axes": (2, 0)}, id="thrice_reversed_axes"),
    OpCase("ops.moveaxis", X234, {"source": 0, "destination": -1}, id="one", grad=(0,)),
    OpCase("ops.moveaxis", X234, {"source": (0, 1), "destination": (2, 0)}, id="two", grad=(0,)),
    OpCase("ops.swapaxes", X234, {"axis1": 0, "axis2": 2}, id="ends", grad=(0,)),
    OpCase("ops.swapaxes", I34, {"axis1": -1, "axis2": 0}, id="int32"),
    # ---- diagonals and triangles -----------------------------------------------------------------------------
    OpCase("ops.diag", lambda r: (r.normal((3,)),), id="vector", grad=(0,)),
    OpCase("ops.diag", lambda r: (r.normal((3,)),), {"k": -2}, id="vector_below", grad=(0,)),
    OpCase("ops.diag", X34, {"k": 1}, id="matrix_above", grad=(0,)),
    OpCase("ops.diag", X34, {"k": -1}, id="matrix_below", grad=(0,)),
    OpCase("ops.diag", I34, id="int32"),
    OpCase("ops.diagonal", X234, {"offset": 1, "axis1": 1, "axis2": 2}, id="last_axes", grad=(0,)),
    OpCase("ops.diagonal", X234, {"offset": -1, "axis1": 2, "axis2": 0}, id="reversed_axes", grad=(0,)),
    OpCase("ops.diagonal", X34, id="matrix"),
    OpCase("ops.diagflat", lambda r: (r.normal((2, 2)),), id="matrix", grad=(0,)),
    OpCase("ops.diagflat", lambda r: (r.normal((3,)),), {"k": 1}, id="above", grad=(0,)),
    OpCase("ops.tril", X34, id="main", grad=(0,)),
    OpCase("ops.tril", X234, {"k": -1}, id="batched_below", grad=(0,)),
    OpCase("ops.tril", I34, {"k": 1}, id="int32"),
    OpCase("ops.triu", X34, {"k": 1}, id="above", grad=(0,)),
    OpCase("ops.triu", X234, id="batched", grad=(0,)),
    OpCase("ops.trace", X34, id="matrix", grad=(0,)),
    OpCase("ops.trace", X234, {"offset": 1, "axis1": 1, "axis2": 2}, id="batched_offset", grad=(0,)),
    OpCase("ops.trace", I34, {"offset": -1}, id="int32"),
    OpCase("ops.trace", lambda r: (r.bools((3, 3)),), id="bool_to_int32"),
    # ---- pad ---------------------------------------------------------------------------------------------
    OpCase("ops.pad", X34, {"pad_width": ((1, 2), (0, 1))}, id="constant", grad=(0,)),
    OpCase("ops.pad", X34, {"pad_width": ((1, 1), (1, 1)), "constant_values": 0.5}, id="value", grad=(0,)),
    OpCase("ops.pad", X234, {"pad_width": ((0, 0), (2, 1), (1, 2)), "mode": "reflect"}, id="reflect", grad=(0,)),
    OpCase("ops.pad", X234, {"pad_width": ((0, 0), (1, 2), (3, 1)), "mode": "circular"}, id="circular", grad=(0,)),
    OpCase("ops.pad", I34, {"pad_width": ((1, 1), (2, 0)), "constant_values": 7}, id="int32"),
    # ---- rearrange ----------------------------------------------------------------------------------------
    OpCase("ops.rearrange", X234, {"pattern": "b h w -> b w h"}, id="permute", grad=(0,)),
    OpCase("ops.rearrange", X234, {"pattern": "b h w -> (b h) w"}, id="merge", grad=(0,)),
    OpCase("ops.rearrange", X234, {"pattern": "b h (w c) -> b c h w", "c": 2}, id="split", grad=(0,)),
    OpCase("ops.rearrange", lambda r: (r.normal((2, 6, 4)),), {"pattern": "b (h p) w -> (b p) w h", "p": 3},
           id="split_merge", grad=(0,)),
    OpCase("ops.rearrange", I34, {"pattern": "h w -> (w h)"}, id="int32"),
    # ---- get_item, size, ndim -----------------------------------------------------------------------------
    OpCase("ops.get_item", X234, {"key": (1, slice(0, 2))}, id="int_and_slice", grad=(0,)),
    OpCase("ops.get_item", X234, {"key": (slice(None), None, Ellipsis, 1)}, id="newaxis_ellipsis", grad=(0,)),
    OpCase("ops.get_item", X34, {"key": numpy.array([2, 0, 2])}, id="repeated_rows", grad=(0,)),
    OpCase("ops.get_item", X34, {"key": numpy.array([[True, False, True, False]] * 3)}, id="mask", grad=(0,)),
    OpCase("ops.size", X234, id="values", check_dtype=False),
    OpCase("ops.ndim", X234, id="rank"),
]


@op_cases(CASES)
def test_manipulation_matches_keras(case):
    case.run()


# ---- behaviour beyond the table ---------------------------------------------------------------------------
PAD_MODES = ["symmetric", "edge", "wrap", "reflect"]


@pytest.mark.parametrize("mode", PAD_MODES)
def test_pad_modes_follow_numpy_and_their_gradients_check(mode):
    # Keras's torch backend pads "symmetric" as "edge" (torch's replicate) and lacks "edge" and "wrap";
    # neuronka follows NumPy's meaning of each mode, which Keras's documentation names.
    rng = numpy.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    width = ((2, 1), (1, 3))
    numpy.testing.assert_array_equal(ops.pad(x, width, mode=mode).numpy(), numpy.pad(x, width, mode=mode))
    nk.gradcheck(lambda t: ops.pad(t, width, mode=mode), [x])


@keras_api("ops.pad")
def test_pad_rejects_constant_values_with_other_modes_as_keras():
    keras = keras_or_skip()
    x = numpy.ones((2, 2), "float32")
    with pytest.raises(ValueError):
        keras.ops.pad(x, 1, mode="reflect", constant_values=1.0)
    with pytest.raises(ValueError, match="constant_values"):
        ops.pad(x, 1, mode="reflect", constant_values=1.0)


@keras_api("ops.split")
def test_split_into_sections_that_do_not_divide_raises_value_error_as_keras():
    keras = keras_or_skip()
    x = numpy.ones((5, 2), "float32")
    with pytest.raises(ValueError):
        keras.ops.split(x, 2)
    with pytest.raises(ValueError, match="divide"):
        ops.split(x, 2)


def test_pad_width_shortcuts_pad_every_axis_as_numpy():
    # Keras documents an int or one pair as standing for every axis; its torch backend pads only the last
    # axis then. neuronka pads every axis, as NumPy and Keras's documentation.
    x = numpy.arange(6.0).reshape(2, 3)
    for width in (1, (1,), (1, 2), ((1, 2),)):
        numpy.testing.assert_array_equal(ops.pad(x, width).numpy(), numpy.pad(x, width))


def test_squeeze_of_an_axis_longer_than_one_raises():
    # Keras's torch backend returns x unchanged here (torch.squeeze's rule); its symbolic shapes, NumPy and
    # JAX raise, and so does neuronka.
    with pytest.raises(ValueError, match="cannot squeeze axis 0"):
        ops.squeeze(numpy.ones((2, 1)), axis=0)


@keras_api("ops.rearrange")
def test_rearrange_ellipsis_and_unit_axes_match_the_explicit_pattern():
    keras = keras_or_skip()
    x = numpy.random.default_rng(1).normal(size=(2, 3, 4, 5)).astype("float32")
    assert_same(ops.rearrange(x, "b ... c -> b c ..."), keras.ops.rearrange(x, "b h w c -> b c h w"))
    assert ops.rearrange(x, "b h w c -> b 1 (h w) c").shape == (2, 1, 12, 5)
    assert ops.rearrange(x[:, :1], "b 1 w c -> b w c").shape == (2, 4, 5)
    with pytest.raises(ValueError, match="use each input axis once"):
        ops.rearrange(x, "b h w c -> b h w")
    with pytest.raises(ValueError, match="split"):
        ops.rearrange(x, "b (h p) w c -> b h p w c", p=2)


def test_shape_ops_reject_bad_axes_clearly():
    x = numpy.ones((2, 3))
    with pytest.raises(ValueError, match="concatenate: expected axis"):
        ops.concatenate([x, x], axis=2)
    with pytest.raises(ValueError, match="broadcast_to"):
        ops.broadcast_to(x, (3, 3))
    with pytest.raises(ValueError, match="rot90"):
        ops.rot90(x, axes=(0, 0))
    with pytest.raises(ValueError, match="transpose"):
        ops.transpose(x, (0, 0))
    with pytest.raises(ValueError, match="diag"):
        ops.diag(numpy.ones((2, 2, 2)))
