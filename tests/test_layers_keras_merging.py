"""Merging layers against real Keras: one row per argument set (see tests/layer_harness.py)."""
from __future__ import annotations

from neuronka import layers

from .layer_harness import LayerCase, layer_cases


def time_masks(rng, shapes):
    """One (batch, timesteps) mask per input, step 0 always kept."""
    out = []
    for shape in shapes:
        m = rng.random(shape[:2]) < 0.6
        m[:, 0] = True
        out.append(m)
    return out


def partly_masked(rng, shapes):
    """A mask on the first input only (the others unmasked)."""
    return [time_masks(rng, shapes[:1])[0]] + [None] * (len(shapes) - 1)


TWO = [(3, 4), (3, 4)]
SEQ = [(2, 5, 3), (2, 5, 3)]

CASES = [
    LayerCase("add", layers.Add, {}, TWO, keras=True, gradcheck=True),
    LayerCase("add_three_broadcast", layers.Add, {}, [(2, 3, 4), (2, 1, 4), (2, 3, 1)], keras=True),
    LayerCase("add_masked", layers.Add, {}, SEQ, keras=True, keras_mask_maker=time_masks),
    LayerCase("subtract", layers.Subtract, {}, TWO, keras=True, gradcheck=True),
    LayerCase("multiply", layers.Multiply, {}, [(2, 3), (2, 3), (2, 3)], keras=True, gradcheck=True),
    LayerCase("multiply_masked", layers.Multiply, {}, SEQ, keras=True, keras_mask_maker=time_masks),
    LayerCase("average", layers.Average, {}, TWO, keras=True, gradcheck=True),
    LayerCase("average_masked_one", layers.Average, {}, SEQ, keras=True, keras_mask_maker=partly_masked),
    LayerCase("maximum", layers.Maximum, {}, TWO, keras=True, gradcheck=True),
    LayerCase("maximum_masked", layers.Maximum, {}, SEQ, keras=True, keras_mask_maker=time_masks),
    LayerCase("minimum", layers.Minimum, {}, [(2, 3, 2), (2, 3, 2)], keras=True),
    LayerCase("minimum_masked", layers.Minimum, {}, SEQ, keras=True, keras_mask_maker=time_masks),
    LayerCase("concatenate", layers.Concatenate, {}, [(2, 3), (2, 4)], keras=True, gradcheck=True),
    LayerCase("concatenate_axis_1", layers.Concatenate, {"axis": 1}, [(2, 3, 4), (2, 2, 4), (2, 1, 4)], keras=True),
    LayerCase("concatenate_masked", layers.Concatenate, {}, SEQ, keras=True, keras_mask_maker=partly_masked),
    LayerCase("dot", layers.Dot, {"axes": 1}, TWO, keras=True, gradcheck=True),
    LayerCase("dot_normalized", layers.Dot, {"axes": -1, "normalize": True}, TWO, keras=True),
    LayerCase("dot_axes_pair", layers.Dot, {"axes": [1, 2]}, [(2, 3, 4), (2, 5, 3)], keras=True, gradcheck=True),
    LayerCase("dot_batch_matrices", layers.Dot, {"axes": (2, 1)}, [(2, 3, 4), (2, 4, 5)], keras=True),
]



@layer_cases(CASES)
def test_layer_matches_keras(case):
    case.run()
