"""torchvision's ResNet weights into neuronka's torchvision-layout ResNets, without torch.

:func:`load_torchvision_weights` reads a state dict (``.pth``/``.pt`` written by ``torch.save``, or
``.safetensors``; :mod:`neuronka.applications.torch_files`) and writes it into a model built by
:mod:`neuronka.applications.torchvision_resnet`. The names map as

==========================================  ==========================================  =====================
torchvision                                 neuronka layer, weight                      value
==========================================  ==========================================  =====================
``conv1.weight``                            ``conv1_conv`` kernel                       W.transpose(2, 3, 1, 0)
``bn1.{weight,bias}``                       ``conv1_bn`` gamma, beta
``bn1.{running_mean,running_var}``          ``conv1_bn`` moving_mean, moving_variance
``layer{s}.{b}.conv{i}.weight``             ``conv{s+1}_block{b+1}_{i}_conv`` kernel    W.transpose(2, 3, 1, 0)
``layer{s}.{b}.bn{i}.*``                    ``conv{s+1}_block{b+1}_{i}_bn``
``layer{s}.{b}.downsample.0.weight``        ``conv{s+1}_block{b+1}_0_conv`` kernel      W.transpose(2, 3, 1, 0)
``layer{s}.{b}.downsample.1.*``             ``conv{s+1}_block{b+1}_0_bn``
``fc.weight``, ``fc.bias``                  ``predictions`` kernel, bias                W.T, b
==========================================  ==========================================  =====================

A torch convolution kernel is (out, in, kh, kw), a Keras one (kh, kw, in, out); a torch Linear weight is
(out, in), a Keras Dense kernel (in, out). ``*.num_batches_tracked`` is ignored, and so are the ``fc.*``
entries when the model has no top (``include_top=False``). Every missing, unexpected or mis-shaped entry is
reported in one ``ValueError``, and the model is written only when all of them fit.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy

from .torch_files import read_state_dict

__all__ = ["TORCH_WEIGHT_SUFFIXES", "load_torchvision_weights", "torchvision_weight_map"]

TORCH_WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors")

_BN = (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"), ("running_var", "moving_variance"))
_BLOCK = re.compile(r"conv(\d)_block(\d+)_(\d)_(conv|bn)")


def _conv_kernel(w: numpy.ndarray) -> numpy.ndarray:
    # (out, in, kh, kw) → (kh, kw, in, out)
    return w.transpose(2, 3, 1, 0) if w.ndim == 4 else w


def _dense_kernel(w: numpy.ndarray) -> numpy.ndarray:
    # (out, in) → (in, out)
    return w.T if w.ndim == 2 else w


def _torch_prefix(layer_name: str) -> str | None:
    """The torchvision module of a neuronka layer name (without the ``.weight`` part), or None."""
    if layer_name == "conv1_conv":
        return "conv1"
    if layer_name == "conv1_bn":
        return "bn1"
    m = _BLOCK.fullmatch(layer_name)
    if m is None:
        return None
    stage, block, index, kind = int(m[1]), int(m[2]), int(m[3]), m[4]
    if not 2 <= stage <= 5 or block < 1:
        return None
    base = f"layer{stage - 1}.{block - 1}."
    if index == 0:
        return base + ("downsample.0" if kind == "conv" else "downsample.1")
    return base + f"{kind}{index}"


def _flat_layers(model) -> list:
    """The layers of ``model``, those of nested models included (depth first)."""
    from ..models import Model  # noqa: PLC0415

    out = []
    for layer in model.layers:
        out.extend(_flat_layers(layer) if isinstance(layer, Model) else [layer])
    return out


def torchvision_weight_map(model) -> dict[str, tuple[object, object]]:
    """``{torchvision name: (neuronka variable, transform)}`` for every weight of ``model``.

    Raises ``ValueError`` naming a layer with weights that has no torchvision counterpart.
    """
    mapping: dict[str, tuple[object, object]] = {}
    for layer in _flat_layers(model):
        if not layer.weights:
            continue
        cls = type(layer).__name__
        if layer.name == "predictions" and cls == "Dense":
            mapping["fc.weight"] = (layer.kernel, _dense_kernel)
            if layer.bias is not None:
                mapping["fc.bias"] = (layer.bias, None)
            continue
        prefix = _torch_prefix(layer.name)
        if prefix is None or (cls == "Conv2D") != layer.name.endswith("_conv"):
            raise ValueError(f"load_torchvision_weights: layer {layer.name!r} ({cls}) of model {model.name!r} has "
                             f"no torchvision counterpart: expected a model built by TorchvisionResNet18 … 152")
        if cls == "Conv2D":
            mapping[f"{prefix}.weight"] = (layer.kernel, _conv_kernel)
            if layer.bias is not None:
                mapping[f"{prefix}.bias"] = (layer.bias, None)
        elif cls == "BatchNormalization":
            for torch_name, attr in _BN:
                var = getattr(layer, attr, None)
                if var is not None:
                    mapping[f"{prefix}.{torch_name}"] = (var, None)
        else:
            raise ValueError(f"load_torchvision_weights: layer {layer.name!r} is a {cls}, expected Conv2D or "
                             f"BatchNormalization under that name")
    return mapping


def _as_state_dict(obj, where: str) -> dict[str, numpy.ndarray]:
    """A state dict from what a file held: the dict itself, or one nested under "state_dict" / "model";
    a "module." prefix on every name (``nn.DataParallel``) is dropped."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, numpy.ndarray) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping):
        raise ValueError(f"{where}: expected a state dict (names → tensors), found a {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, numpy.ndarray)]
    if bad:
        raise ValueError(f"{where}: expected a state dict of tensors; entries {bad[:5]!r} are not tensors")
    names = list(obj)
    if names and all(n.startswith("module.") for n in names):
        return {n[len("module."):]: obj[n] for n in names}
    return dict(obj)


def _listing(title: str, items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit]) + (f", … ({len(items) - limit} more)" if len(items) > limit else "")
    return f"{len(items)} {title}: {shown}"


def load_torchvision_weights(model, source, **limits) -> None:
    """Write torchvision's weights into ``model`` (a ``TorchvisionResNet18`` … ``152``).

    ``source``: the path of a ``.pth``/``.pt`` state dict written by ``torch.save`` (read by a restricted
    unpickler, without torch) or of a ``.safetensors`` file, or a mapping ``{name: array}`` already read.
    Kernels are transposed from torch's layout (conv (O, I, kh, kw) → (kh, kw, I, O), fc (O, I) → (I, O)).
    Every missing, unexpected or mis-shaped entry is reported in one ``ValueError``; on any error the model
    is left as it was.
    """
    if isinstance(source, Mapping):
        where = "load_torchvision_weights"
        state = _as_state_dict(source, where)
    else:
        where = os.fspath(source)
        state = _as_state_dict(read_state_dict(where, **limits), where)
    mapping = torchvision_weight_map(model)
    has_top = "fc.weight" in mapping
    ignored = {n for n in state if n.endswith(".num_batches_tracked") or (not has_top and n.startswith("fc."))}
    missing = sorted(n for n in mapping if n not in state)
    unexpected = sorted(n for n in state if n not in mapping and n not in ignored)
    values, wrong = {}, []
    for name, (var, transform) in mapping.items():
        if name not in state:
            continue
        value = state[name]
        if not numpy.issubdtype(value.dtype, numpy.floating):
            wrong.append(f"{name} ({value.dtype}, expected floats)")
            continue
        value = transform(value) if transform is not None else value
        if tuple(value.shape) != tuple(var.shape):
            torch_shape = tuple(state[name].shape)
            wrong.append(f"{name} {torch_shape} → {tuple(value.shape)}, {var.path} wants {tuple(var.shape)}")
            continue
        values[name] = value
    problems = []
    if missing:
        problems.append(_listing("missing", missing))
    if unexpected:
        problems.append(_listing("unexpected", unexpected))
    if wrong:
        problems.append(_listing("mis-shaped", wrong, 4))
    if problems:
        raise ValueError(f"{where}: does not fit {model.name!r} (torchvision layout, "
                         f"{'with' if has_top else 'without'} top): " + "; ".join(problems)
                         + ". The model was left unchanged")
    for name, (var, _) in mapping.items():
        var.assign(numpy.ascontiguousarray(values[name], dtype=var.dtype))
