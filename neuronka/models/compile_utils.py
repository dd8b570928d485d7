"""What ``compile`` turns its arguments into (Keras 3's ``trainers/compile_utils.py``).

:class:`CompileLoss` — the compiled loss, L = Σₒ λₒ · lossₒ(yₒ, ŷₒ, w) over the outputs o (λₒ:
``loss_weights``), with a running mean of each lossₒ when there are several outputs;
:class:`CompileMetrics` — the metrics per output with Keras's log names (``<output>_<metric>``).
``"accuracy"`` and ``"crossentropy"`` are resolved to their binary / sparse / categorical kinds from the loss
or else from the shapes of the first batch, as Keras does.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy

from .. import metrics as metrics_module


def _kind_of_loss(identifier) -> str | None:
    """"binary", "sparse" or "categorical" for the cross-entropy losses, else None."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        name = identifier
    elif hasattr(identifier, "fn") and not isinstance(identifier, type):
        name = getattr(identifier.fn, "__name__", type(identifier).__name__)
    else:
        name = getattr(identifier, "__name__", None) or type(identifier).__name__
    key = name.lower().replace("_", "")
    if key in ("binarycrossentropy", "bce", "binaryfocalcrossentropy"):
        return "binary"
    if key in ("sparsecategoricalcrossentropy", "scce"):
        return "sparse"
    if key in ("categoricalcrossentropy", "cce", "categoricalfocalcrossentropy"):
        return "categorical"
    return None


def _accuracy_for(identifier: str, y_true, y_pred, loss_kind: str | None):
    """Keras's "accuracy": binary / sparse categorical / categorical, from the loss or else the shapes."""
    if loss_kind == "binary":
        return metrics_module.BinaryAccuracy(name=identifier)
    if loss_kind == "sparse":
        return metrics_module.SparseCategoricalAccuracy(name=identifier)
    if loss_kind == "categorical":
        return metrics_module.CategoricalAccuracy(name=identifier)
    t_shape, p_shape = tuple(numpy.shape(y_true)), tuple(y_pred.shape)
    if len(p_shape) <= 1 or p_shape[-1] == 1:
        return metrics_module.BinaryAccuracy(name=identifier)
    if len(t_shape) < len(p_shape) or (t_shape and t_shape[-1] == 1 and p_shape[-1] > 1):
        return metrics_module.SparseCategoricalAccuracy(name=identifier)
    return metrics_module.CategoricalAccuracy(name=identifier)


def _resolve_metric(identifier, y_true, y_pred, loss_kind):
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return _accuracy_for(identifier, y_true, y_pred, loss_kind)
    metric = metrics_module.get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


def _resolve_loss(identifier, y_true, y_pred):
    from .. import losses  # noqa: PLC0415

    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        if y_pred.shape[-1] == 1:
            identifier = "binary_crossentropy"
        elif numpy.ndim(y_true) < len(y_pred.shape) or numpy.shape(y_true)[-1] == 1:
            identifier = "sparse_categorical_crossentropy"
        else:
            identifier = "categorical_crossentropy"
    obj = losses.get(identifier)
    if isinstance(obj, losses.Loss):
        return obj
    name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", "loss")
    return losses.LossFunctionWrapper(obj, name=name)


def _per_output(arg, keys: list[str], what: str, check_len: bool = True) -> list:
    """The per-output entries of a ``loss``/``loss_weights``/``metrics`` argument (dict by output name or list)."""
    n = len(keys)
    if isinstance(arg, dict):
        unknown = [k for k in arg if k not in keys]
        if unknown:
            raise ValueError(f"In the dict argument `{what}`, key '{unknown[0]}' does not correspond to any model "
                             f"output. Received: {what}={arg}; the model's outputs are {keys}")
        return [arg.get(k) for k in keys]
    if isinstance(arg, (list, tuple)) and n > 1:
        if check_len and len(arg) != n:
            raise ValueError(f"For a model with multiple outputs, when providing the `{what}` argument as a list, "
                             f"it should have as many entries as the model has outputs. Received: {what}={arg} "
                             f"of length {len(arg)} whereas the model has {n} outputs.")
        return list(arg)
    return [arg] * n


class CompileLoss:
    """The compiled loss: Σₒ λₒ · lossₒ(yₒ, ŷₒ, w), with a running Mean of each lossₒ when there are several."""

    def __init__(self, loss, loss_weights=None):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, float, int)):
            raise ValueError(f"Expected `loss_weights` argument to be a float (single output case) or a list, "
                             f"tuple, or dict (multiple output case). Received instead: loss_weights={loss_weights}")
        self.loss = loss
        self.loss_weights = loss_weights
        self.built = False
        self.entries: list[tuple] = []  # (output index, Loss, weight or None)
        self.trackers: list = []  # one Mean per entry, when more than one

    def build(self, keys: list[str], y_true: list, y_pred: list) -> None:
        per = _per_output(self.loss, keys, "loss")
        weights = self.loss_weights
        if weights is None or isinstance(weights, (float, int)):
            ws = [None if weights is None else float(weights)] * len(keys)
        else:
            ws = _per_output(weights, keys, "loss_weights")
        self.entries = []
        for i, (ident, w) in enumerate(zip(per, ws)):
            if ident is None:
                continue
            if y_true[i] is None:
                raise ValueError(f"Output {keys[i]!r} has a loss but no target was given for it")
            self.entries.append((i, _resolve_loss(ident, y_true[i], y_pred[i]), None if w is None else float(w)))
        self.trackers = ([metrics_module.Mean(name=f"{keys[i]}_loss") for i, _, _ in self.entries]
                         if len(self.entries) > 1 else [])
        self.kinds = [_kind_of_loss(p) for p in per]
        self.built = True

    def __call__(self, y_true: list, y_pred: list, sample_weight: list, batch_size: int):
        total = None
        for k, (i, fn, w) in enumerate(self.entries):
            value = fn(y_true[i], y_pred[i], sample_weight[i])
            if self.trackers:
                t = self.trackers[k]
                t.total += float(value.data) * batch_size
                t.count += batch_size
            if w is not None:
                value = value * w
            total = value if total is None else total + value
        return total


class CompileMetrics:
    """The compiled metrics per output, with Keras's names (``<output>_<metric>`` for several outputs)."""

    def __init__(self, metrics, weighted_metrics):
        for arg, what in ((metrics, "metrics"), (weighted_metrics, "weighted_metrics")):
            if arg and not isinstance(arg, (list, tuple, dict)):
                raise ValueError(f"Expected `{what}` argument to be a list, tuple, or dict. "
                                 f"Received instead: {what}={arg!r} of type {type(arg)}")
        self.user_metrics = metrics
        self.user_weighted = weighted_metrics
        self.built = False
        self.flat: list[tuple[str, Any, int, bool]] = []  # (log name, metric, output index, weighted)

    def _build_set(self, arg, keys, y_true, y_pred, kinds, what):
        n = len(keys)
        if not arg:
            return [[] for _ in keys]
        if n == 1:
            items = list(arg.values()) if isinstance(arg, dict) else list(arg)
            items = [m for e in items for m in (e if isinstance(e, (list, tuple)) else [e])]
            return [[_resolve_metric(m, y_true[0], y_pred[0], kinds[0]) for m in items if m is not None]]
        if isinstance(arg, (list, tuple)) and len(arg) != n:
            per = [list(arg)] * n  # one list for every output (Keras 2's rule; Keras 3 requires one per output)
            per = [[copy.deepcopy(m) if isinstance(m, metrics_module.Metric) else m for m in e] for e in per]
        else:
            per = _per_output(arg, keys, what)
        out = []
        for i, entry in enumerate(per):
            entries = [] if entry is None else (list(entry) if isinstance(entry, (list, tuple)) else [entry])
            out.append([_resolve_metric(m, y_true[i], y_pred[i], kinds[i]) for m in entries if m is not None])
        return out

    def build(self, keys, y_true, y_pred, kinds) -> None:
        plain = self._build_set(self.user_metrics, keys, y_true, y_pred, kinds, "metrics")
        weighted = self._build_set(self.user_weighted, keys, y_true, y_pred, kinds, "weighted_metrics")
        prefix = len(keys) > 1
        self.flat = []
        used: dict[str, int] = {}
        for i, ms in enumerate(plain):
            for m in ms:
                name = f"{keys[i]}_{m.name}" if prefix else m.name
                if name in used:
                    used[name] += 1
                    name = f"{name}_{used[name] - 1}"
                else:
                    used[name] = 1
                self.flat.append((name, m, i, False))
        for i, ms in enumerate(weighted):
            for m in ms:
                name = f"{keys[i]}_{m.name}" if prefix else m.name
                if name in used:
                    name = f"{keys[i]}_weighted_{m.name}" if prefix else f"weighted_{m.name}"
                    if name in used:
                        used[name] += 1
                        name = f"{name}_{used[name] - 1}"
                used.setdefault(name, 1)
                self.flat.append((name, m, i, True))
        self.built = True

    def update(self, y_true: list, y_pred_np: list, sample_weight: list) -> None:
        for _, m, i, weighted in self.flat:
            if y_true[i] is None:
                continue
            if weighted:
                m.update_state(y_true[i], y_pred_np[i], sample_weight[i])
            else:
                m.update_state(y_true[i], y_pred_np[i])

    @property
    def metrics(self) -> list:
        return [m for _, m, _, _ in self.flat]
