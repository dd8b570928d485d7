"""EinsumDense: a dense layer whose product is an Einstein summation, y = activation(einsum(equation, x, W) + b).

The equation ``"<input>,<kernel>-><output>"`` names the axes: a letter of the kernel that is in the output is
an output axis of W (its size from ``output_shape``), one that is only in the input is contracted (its size
from the input). ``"...x,xy->...y"`` with ``output_shape=64`` is ``Dense(64)`` over any leading axes;
``"abc,cde->abde"`` with ``output_shape=(None, 8, 32)`` projects (batch, T, 256) to 8 heads of 32, as
``MultiHeadAttention`` does. The bias has the output axes named in ``bias_axes`` and broadcasts over the
others (Keras's layout: from the first bias axis to the end of the output, size 1 where not named).

How it computes: when the contracted letters end the input and start the kernel, in the same order, and the
output is the input's free letters then the kernel's (every projection of the attention layers, Dense), the
einsum is one matrix product, x as (M, K) times W as (K, F) — reshapes are views, and the backward is the
two GEMMs dL/dx = g Wᵀ, dL/dW = xᵀ g. Any other equation goes through ``ops.einsum`` (NumPy's einsum with
an optimized contraction path; its backward contracts g with the other operand).
"""
from __future__ import annotations

import copy
import math
import re

from .. import activations as _activations
from .. import constraints, initializers, ops, regularizers
from .base import InputSpec, Layer
from .core import check_no_quantization, weight_arguments
from .lora import LoRAMixin

__all__ = ["EinsumDense"]


def analyze_einsum_string(equation: str, bias_axes: str | None, input_shape, output_shape):
    """Keras's reading of an EinsumDense equation: (kernel_shape, bias_shape or None, full output shape,
    the kernel's contracted (input) axes, the kernel's output axes).

    ``output_shape`` is the output without the batch axis and without the axes an ellipsis stands for (None
    entries: taken from the input). Forms: ``"ab,bc->ac"``, ``"...ab,bc->...ac"`` (ellipsis on the left) and
    ``"ab...,bc->ac..."`` (on the right)."""
    dotted = re.sub(r"\.\.\.", "0", equation)
    left = False
    split = re.match("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", dotted)
    if not split:
        split = re.match("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$", dotted)
        left = bool(split)
    if not split:
        split = re.match("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$", dotted)
    if not split:
        raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                         "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    input_spec, weight_spec, output_spec = split.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(input_spec)
    out = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and left:
        for i in range(1, elided):
            out.insert(1, input_shape[i])
    elif elided > 0:
        out.extend(input_shape[len(input_shape) - elided:])
    if left:
        input_dim = {c: (i + elided) - len(input_shape) for i, c in enumerate(input_spec)}
        output_dim = {c: i + elided for i, c in enumerate(output_spec)}
    else:
        input_dim = {c: i for i, c in enumerate(input_spec)}
        output_dim = {c: i for i, c in enumerate(output_spec)}
    for c in input_spec:
        if c in output_dim and out[output_dim[c]] is not None and out[output_dim[c]] != input_shape[input_dim[c]]:
            raise ValueError(f"Input shape and output shape do not match at shared dimension '{c}'. Input shape "
                             f"is {input_shape[input_dim[c]]}, and output shape is {out[output_dim[c]]}.")
    for c in output_spec:
        if c not in input_spec and c not in weight_spec:
            raise ValueError(f"Dimension '{c}' was specified in the output '{output_spec}' but has no corresponding "
                             f"dim in the input spec '{input_spec}' or weight spec '{output_spec}'")
    kernel_shape, in_axes, out_axes = [], [], []
    for i, c in enumerate(weight_spec):
        if c in output_dim:
            kernel_shape.append(out[output_dim[c]])
            out_axes.append(i)
        elif c in input_dim:
            kernel_shape.append(input_shape[input_dim[c]])
            in_axes.append(i)
        else:
            raise ValueError(f"Weight dimension '{c}' did not have a match in either the input spec "
                             f"'{input_spec}' or the output spec '{output_spec}'. For this layer, the weight must "
                             f"be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        offset = elided if left else 0
        sizes = {c: out[i + offset] for i, c in enumerate(output_spec)}
        for c in bias_axes:
            if c not in output_spec:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the output spec "
                                 f"'{output_spec}'")
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left:
            bias_shape += [1] * elided
    return kernel_shape, bias_shape, out, in_axes, out_axes


def _matmul_plan(equation: str, input_rank: int):
    """(n_free, n_contracted) when the einsum is x as (M, K) @ W as (K, F) (see the module docstring), else None."""
    dotted = equation.replace("...", "0")
    m = re.match(r"(0?)([a-zA-Z]+),([a-zA-Z]+)->(0?)([a-zA-Z]+)$", dotted)
    if not m or m.group(1) != m.group(4):
        return None
    ins, ker, outs = m.group(2), m.group(3), m.group(5)
    if any(len(set(term)) != len(term) for term in (ins, ker, outs)):  # a diagonal or a trace: no GEMM
        return None
    shared = [c for c in ins if c in ker]
    n_con = len(shared)
    if n_con == 0 or ins[len(ins) - n_con:] != "".join(shared) or ker[:n_con] != "".join(shared):
        return None
    free, kfree = ins[:len(ins) - n_con], ker[n_con:]
    if outs != free + kfree or any(c in ker for c in free):
        return None
    n_free = input_rank - n_con  # the ellipsis's axes are free axes of x too
    return n_free, n_con


def _positions(spec: str, rank: int) -> dict[str, int]:
    """Each letter of one side of the equation ("0" standing for the ellipsis) and its axis in a tensor of
    ``rank`` axes."""
    if "0" not in spec:
        return {c: i for i, c in enumerate(spec)}
    head, tail = spec.split("0")
    out = {c: i for i, c in enumerate(head)}
    out.update({c: rank - len(tail) + i for i, c in enumerate(tail)})
    return out


class EinsumDense(LoRAMixin, Layer):
    """y = activation(einsum(equation, x, kernel) + bias) (see the module docstring for the equation).

    Keras's arguments: ``equation``, ``output_shape`` (an int or a tuple, the batch axis and the ellipsis
    axes left out, None for sizes the input gives), ``activation``, ``bias_axes`` (output letters with a
    bias; None: no bias), the kernel/bias initializers, regularizers and constraints, ``lora_rank`` /
    ``lora_alpha`` (``enable_lora``: W frozen, W + (α/r)·A·B learned, :mod:`neuronka.layers.lora`), and
    ``quantization_config`` / ``gptq_unpacked_column_size`` (recorded for Keras's configs; quantization is not
    implemented, so the first must be None). A VarianceScaling kernel initializer (Glorot, He, ...) gets the
    kernel's input and output axes for its fans unless it names them (Keras's rule), so a (256, 8, 32) kernel
    has fan_in 256 and fan_out 256. Weights: ``kernel`` then ``bias`` (Keras's order); ``layer.kernel`` is the
    stored weight (the call uses the LoRA-merged one).
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, gptq_unpacked_column_size=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise ValueError(f"EinsumDense: expected `equation` to be a string such as 'ab,bc->ac', received "
                             f"equation={equation!r}")
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = _activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_lora(lora_rank, lora_alpha)
        self.gptq_unpacked_column_size = gptq_unpacked_column_size
        self.quantization_config = check_no_quantization("EinsumDense", quantization_config)
        self.supports_masking = False

    def _kernel_initializer_with_axes(self, in_axes, out_axes):
        """The kernel initializer, given the kernel's fan axes when it is a VarianceScaling without them (the
        same seed: a copy, not a new draw)."""
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and (init.input_axes is None or init.output_axes is None):
            init = copy.copy(init)
            init.input_axes, init.output_axes = list(in_axes), list(out_axes)
        return init

    def build(self, input_shape):
        kernel_shape, bias_shape, _, in_axes, out_axes = analyze_einsum_string(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        if any(s is None for s in kernel_shape):
            raise ValueError(f"EinsumDense {self.name!r}: the kernel shape {tuple(kernel_shape)} has an unknown "
                             f"size; the input shape {tuple(input_shape)} and output_shape "
                             f"{self.partial_output_shape} must give every axis of the kernel")
        self.input_spec = InputSpec(ndim=len(input_shape))
        self.kernel = self.add_weight(name="kernel", shape=tuple(kernel_shape),
                                      initializer=self._kernel_initializer_with_axes(in_axes, out_axes),
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = (self.add_weight(name="bias", shape=tuple(bias_shape), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if bias_shape is not None else None)
        self._plan = _matmul_plan(self.equation, len(input_shape))
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def call(self, inputs, training=None):
        kernel = self._lora_merged() if self.lora_enabled else self.kernel
        plan = getattr(self, "_plan", None)
        if plan is not None:  # x (M, K) @ W (K, F): one GEMM, two in the backward
            n_free, n_con = plan
            lead = tuple(inputs.shape[:n_free])
            k = math.prod(inputs.shape[n_free:])
            y = ops.matmul(ops.reshape(inputs, (math.prod(lead), k)), ops.reshape(kernel, (k, -1)))
            y = ops.reshape(y, lead + tuple(kernel.shape[n_con:]))
        else:
            y = ops.einsum(self.equation, inputs, kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape):
        """The output shape; an axis of ``output_shape`` given as None that the input shares takes the input's
        size (Keras leaves it None, even for a known input size: a deliberate difference, so that the shape of
        a call and this one agree)."""
        input_shape = tuple(input_shape)
        out = analyze_einsum_string(self.equation, self.bias_axes, input_shape, self.partial_output_shape)[2]
        dotted = self.equation.replace("...", "0")
        ins, outs = dotted.split("->")[0].split(",")[0], dotted.split("->")[1]
        in_pos = _positions(ins, len(input_shape))
        out_pos = _positions(outs, len(out))
        for c, i in out_pos.items():
            if out[i] is None and c in in_pos:
                out[i] = input_shape[in_pos[c]]
        return tuple(out)

    def get_config(self):
        config = {"output_shape": self.partial_output_shape, "equation": self.equation,
                  "activation": _activations.serialize(self.activation), "bias_axes": self.bias_axes,
                  **weight_arguments(self, "kernel", "bias"), "quantization_config": self.quantization_config}
        self._lora_config(config)
        if self.gptq_unpacked_column_size:
            config["gptq_unpacked_column_size"] = self.gptq_unpacked_column_size
        return {**super().get_config(), **config}
