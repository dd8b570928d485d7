"""A ReLU layer run inside the layer before it, where a model's graph allows (training and inference).

In a ResNet every BatchNormalization but one per block is followed by a ReLU, and every residual Add too.
Run one by one, the ReLU is one more pass over the activations each way (forward: read y, write max(y, 0);
backward: read g and y, write the masked g). Where the model's graph has

    BatchNormalization → ReLU    or    Add → ReLU

and nothing else reads the intermediate tensor (it is no model output, and the ReLU is its only reader),
the model calls the first layer with ``_fused_relu`` set and skips the ReLU layer, whose output *is* the
first layer's: the first layer then computes relu(its output) in its own op (``ops.batch_norm_train(...,
relu=True)``, ``ops.activations.add_relu``), which folds the mask into the batch norm's backward kernels
and the ReLU into the add's pass. The math and the gradients are those of the two layers (tested equal,
``tests/test_fusion.py``); the switch is ``NEURONKA_FUSE=0`` or :func:`set_enabled`.

A "ReLU layer" here is ``Activation("relu")`` or ``ReLU()`` with its defaults (no ``max_value``,
``negative_slope`` or ``threshold``), with no activity regularizer, of the same dtype as the layer before.
"""
from __future__ import annotations

import contextlib

from .. import config

_ENABLED = config.get("fuse")


def enabled() -> bool:
    return _ENABLED


def set_enabled(flag: bool) -> bool:
    """Fuse (True) or run every layer on its own (False); returns the previous setting."""
    global _ENABLED
    previous, _ENABLED = _ENABLED, bool(flag)
    return previous


def is_plain_relu(layer) -> bool:
    """``Activation("relu")`` or a default ``ReLU()`` with no activity regularizer."""
    from .. import activations
    from ..layers.activations import ReLU
    from ..layers.core import Activation

    if getattr(layer, "activity_regularizer", None) is not None:
        return False
    if type(layer) is Activation:
        return layer.activation is activations.relu
    if type(layer) is ReLU:
        return layer.max_value is None and layer.negative_slope == 0.0 and layer.threshold == 0.0
    return False


def takes_relu(layer) -> bool:
    """A layer that can apply a ReLU after itself in its own op (it has the ``_fused_relu`` switch)."""
    from ..layers.merging import Add
    from ..layers.normalization import BatchNormalization

    return type(layer) in (BatchNormalization, Add) and getattr(layer, "activity_regularizer", None) is None


def fusable(first, second) -> bool:
    """``second`` is a ReLU that ``first`` can run inside its own op (whether fusion is on or not)."""
    return takes_relu(first) and is_plain_relu(second) and first._dtype == second._dtype


@contextlib.contextmanager
def relu_inside(layer):
    """Within the block, ``layer`` applies a ReLU to its output."""
    layer._fused_relu = True
    try:
        yield
    finally:
        layer._fused_relu = False


def graph_pairs(plan, output_ids, node_inputs) -> dict[int, int]:
    """Steps of a functional model's plan to fuse: {step of the first layer: step of its ReLU}.

    ``plan``: (layer, node, single input KerasTensor or None, flat outputs) per step; ``output_ids``: ids of
    the model's output KerasTensors; ``node_inputs(node)``: the KerasTensors a node reads.
    """
    readers: dict[int, list[int]] = {}
    for k, (_, node, _, _) in enumerate(plan):
        for kt in node_inputs(node):
            readers.setdefault(id(kt), []).append(k)
    producer = {id(out[0]): k for k, (_, _, _, out) in enumerate(plan) if len(out) == 1}
    pairs = {}
    for k, (layer, node, single, _) in enumerate(plan):
        if single is None or node.kwargs or id(single) in output_ids or readers.get(id(single)) != [k]:
            continue
        j = producer.get(id(single))
        if j is not None and j not in pairs and fusable(plan[j][0], layer):
            pairs[j] = k
    return pairs


config.register_applier("fuse", set_enabled)
