"""Inference plans: a model's forward recorded once as the Functions it applied, then replayed on arrays.

A batch-1 forward of a CIFAR ResNet spends about half of its time in Python bookkeeping around the
arithmetic: ``Layer.__call__`` (input conversion, specs, masks, the training scope), the op wrappers'
argument checks (a convolution's geometry, a batch norm's layout) and ``Function.apply`` (Tensors in and
out). None of it changes from one batch to the next. ``Plan.record`` runs the model once under a recorder
that notes every ``Function.apply``: its class, its configuration and where each input array comes from
(the model input, an earlier step's output, or a weight read at replay time); ``Plan.run`` then calls each
Function's ``forward`` on arrays alone, dropping every intermediate after its last reader.

When a plan is used (``Model.predict_on_batch`` / ``predict``, inference mode, one float array as input):

* only for Sequential and functional models made of neuronka's own layers: a user's ``call`` could branch
  in Python on the data, and a plan would freeze the branch of the recorded batch;
* a plan is made per input shape and dtype, on the first batch of that shape, and checked before it is
  trusted: the model runs normally on a second, different input and the replay must give the same
  outputs. A recording that meets an array of unknown origin (a mask computed with NumPy outside the
  Functions) is refused at once; a shape whose plan fails either test keeps the ordinary path;
* weights are read from their Variables on every replay, so ``assign``, ``set_weights``, ``load_weights``
  and training in between are seen;
* ``NEURONKA_PLANS=0`` (or ``model.use_inference_plans = False``) keeps the ordinary path.
"""
from __future__ import annotations

import weakref

import numpy

from .. import autograd
from .. import config as _config
from ..autograd import Tensor
from ..layers.base import Variable
from ..ops import activations, convolution, normalization

_ENABLED = _config.get("plans")

_INPUT, _STEP, _WEIGHT, _CONST = range(4)


class NotReplayable(Exception):
    """The recorded forward cannot be replayed faithfully (a value of unknown origin, an unsupported output)."""


class _Recorder:
    """Collects (Function class, config, input sources) for every Function applied while it is active."""

    def __init__(self, inputs):
        # id → (source, weak reference): an id is trusted only while its tensor lives (ids are reused), and
        # the recording keeps no intermediate alive (peak memory stays that of an ordinary forward)
        self.slot = {id(t): ((_INPUT, i), weakref.ref(t)) for i, t in enumerate(inputs)}
        self.steps = []

    def source(self, t):
        entry = self.slot.get(id(t))
        return entry[0] if entry is not None and entry[1]() is t else None

    def record(self, cls, config, tensors, out: Tensor) -> None:
        sources = []
        for t in tensors:
            src = self.source(t)
            if src is None:
                if isinstance(t, Variable):
                    src = (_WEIGHT, t)
                elif t.data.size <= 1:  # a scalar the op wrapped (a literal): the same every time
                    src = (_CONST, t.data)
                else:
                    raise NotReplayable(f"{cls.__name__} received an array of unknown origin, shape {t.shape}")
            sources.append(src)
        self.slot[id(out)] = ((_STEP, len(self.steps)), weakref.ref(out))
        self.steps.append((cls, dict(config), tuple(sources)))


class Plan:
    """A replayable inference forward: ``run(*arrays)`` gives the model's output arrays."""

    def __init__(self, steps, outputs, structure=None):
        self.steps = steps
        self.outputs = outputs  # (kind, index) of each output
        self.structure = structure  # None: one tensor; list or tuple: several
        last = {}
        for k, (_, _, sources) in enumerate(steps):
            for kind, ref in sources:
                if kind == _STEP:
                    last[ref] = k
        for kind, ref in outputs:
            if kind == _STEP:
                last[ref] = len(steps)
        self.release = [[j for j, k in last.items() if k == i] for i in range(len(steps))]

    @classmethod
    def record(cls, model, arrays):
        """Run ``model`` on ``arrays`` (inference mode, no graph) while recording; the plan and the model's output."""
        inputs = [Tensor(a) for a in arrays]
        recorder = _Recorder(inputs)
        previous = getattr(autograd._state, "recorder", None)
        autograd._state.recorder = recorder
        try:
            with autograd.no_grad():
                out = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
        finally:
            autograd._state.recorder = previous
        if isinstance(out, Tensor):
            flat, structure = [out], None
        elif type(out) in (list, tuple) and all(isinstance(t, Tensor) for t in out):
            flat, structure = list(out), type(out)
        else:
            raise NotReplayable(f"the model returned a {type(out).__name__}, not a tensor or a list of tensors")
        sources = []
        for t in flat:
            src = recorder.source(t)
            if src is None:
                raise NotReplayable("an output of unknown origin")
            sources.append(src)
        steps, sources = _fold_batch_norms(recorder.steps, sources, arrays[0].shape[0] if arrays[0].ndim else 1)
        return cls(steps, sources, structure), out

    def pack(self, arrays):
        """The output arrays as the model returns them: one Tensor, or a list / tuple of Tensors."""
        return Tensor(arrays[0]) if self.structure is None else self.structure(Tensor(a) for a in arrays)

    def run(self, arrays) -> list:
        values: dict[int, object] = {}
        for k, (cls, config, sources) in enumerate(self.steps):
            args = []
            for kind, ref in sources:
                if kind == _STEP:
                    args.append(values[ref])
                elif kind == _INPUT:
                    args.append(arrays[ref])
                elif kind == _WEIGHT:
                    args.append(ref.data)
                else:
                    args.append(ref)
            fn = cls.__new__(cls)
            fn.__dict__.update(config)
            values[k] = fn.forward(*args)
            for j in self.release[k]:
                del values[j]
        return [values[ref] if kind == _STEP else arrays[ref] for kind, ref in self.outputs]


class FoldedConv(autograd.Function):
    """Inference only (plans): a convolution, the batch norm that alone reads it, and optionally the ReLU
    that alone reads that, as one convolution with the batch norm folded into its kernel:

        BN(x ⋆ W) = a ⊙ (x ⋆ W) + (β − a ⊙ μ) = x ⋆ (W ⊙ a) + b,   a = γ / √(σ² + ε)   (per output channel)

    and the bias b and the ReLU applied in the compiled kernels' store (``conv_forward(..., bias, relu)``):
    one pass over the output instead of three. Built by :func:`_fold_batch_norms`, never by a layer."""

    def forward(self, x, w, mean, var, *params):
        a = 1.0 / numpy.sqrt(var.reshape(-1) + self.epsilon)
        if self.has_scale:
            a = a * params[-1].reshape(-1)
        b = -mean.reshape(-1) * a
        if self.has_offset:
            b = b + params[0].reshape(-1)
        return convolution.conv_forward(x, w * a.astype(w.dtype, copy=False), self.geometry,
                                        bias=b.astype(x.dtype, copy=False), relu=self.relu)


def _fold_batch_norms(steps, outputs, batch: int):
    """The recorded steps with every Conv → BatchNormalization (→ Relu) chain whose intermediate values
    have no other reader made one :class:`FoldedConv` step (NHWC, statistics and parameters that are
    weights, channels on the last axis); the outputs' references renumbered.

    Only where the kernel has at most as many elements as the convolution's output (``batch`` images):
    folding multiplies the whole kernel at every replay to save two passes over the output, which loses
    for ResNet-50's 512-channel layers at batch 1 (2.4M weights for 25K outputs; measured: 5.3 images/s
    folded against 7.3-8.0 unfolded)."""
    readers: dict[int, list[int]] = {}
    for k, (_, _, sources) in enumerate(steps):
        for kind, ref in sources:
            if kind == _STEP:
                readers.setdefault(ref, []).append(k)
    for kind, ref in outputs:
        if kind == _STEP:
            readers.setdefault(ref, []).append(-1)

    def only_reader(k, cls):
        r = readers.get(k, [])
        if len(r) == 1 and r[0] >= 0 and steps[r[0]][0] is cls and steps[r[0]][2][0] == (_STEP, k):
            return r[0]
        return None

    replace, dead = {}, set()
    for k, (cls, config, sources) in enumerate(steps):
        if cls is not convolution.Conv or (j := only_reader(k, normalization.BatchNormalization)) is None:
            continue
        w_src, g = sources[1], config["geometry"]
        if w_src[0] != _WEIGHT or w_src[1].data.size > batch * g.ho * g.wo * w_src[1].shape[-1]:
            continue
        bn_config, bn_sources = steps[j][1], steps[j][2]
        bshape = bn_config.get("bshape")
        if bshape is None or len(bshape) != 4 or any(n != 1 for n in bshape[:-1]) \
                or any(kind != _WEIGHT for kind, _ in bn_sources[1:]):
            continue
        i = only_reader(j, activations.Relu)
        last = j if i is None else i
        fused = {"geometry": config["geometry"], "epsilon": bn_config["epsilon"], "relu": i is not None,
                 "has_offset": bn_config["has_offset"], "has_scale": bn_config["has_scale"]}
        replace[last] = (FoldedConv, fused, tuple(sources) + tuple(bn_sources[1:]))
        dead.update({k, j, last} - {last})
    if not replace:
        return steps, outputs
    new_index, kept = {}, []
    for k, step in enumerate(steps):
        if k not in dead:
            new_index[k] = len(kept)
            kept.append(replace.get(k, step))
    # the fused step sits where its last member was; the members before it had no other reader

    def renumber(src):
        kind, ref = src
        return (kind, new_index[ref]) if kind == _STEP else src

    kept = [(cls, config, tuple(renumber(s) for s in sources)) for cls, config, sources in kept]
    return kept, [renumber(s) for s in outputs]


def _same(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and numpy.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)


def _built_in(model) -> bool:
    """True when the model and every layer in it are neuronka's own classes (no user ``call`` whose Python
    could branch on the data, which no check with one other input could rule out)."""
    stack, seen = [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if not type(layer).__module__.startswith("neuronka."):
            return False
        stack.extend(layer._layers)
    return True


def predict(model, x):
    """The model's output on the float array ``x`` (inference mode) through a checked plan, or None where no
    plan applies (then the caller takes the ordinary path)."""
    if not _ENABLED or not getattr(model, "use_inference_plans", True) or x.ndim == 0:
        return None
    if "_plans_apply" not in model.__dict__:
        model.__dict__["_plans_apply"] = _built_in(model)
    if not model.__dict__["_plans_apply"]:
        return None
    x = x.astype(model._dtype, copy=False)
    plans = model.__dict__.setdefault("_inference_plans", {})
    key = (x.shape, x.dtype.str)
    plan = plans.get(key)
    if plan is False:  # found not replayable for this shape
        return None
    if plan is not None:
        return plan.pack(plan.run([x]))
    try:
        plan, out = Plan.record(model, [x])
    except NotReplayable:
        plans[key] = False
        return None
    # the check: a second, different input through the ordinary path and through the plan
    rng = numpy.random.default_rng(0)
    x2 = (rng.standard_normal(x.shape) * (numpy.abs(x).max() + 1.0)).astype(x.dtype)
    with autograd.no_grad():
        out2 = model(Tensor(x2), training=False)
    expected = [t.data for t in (out2 if isinstance(out2, (list, tuple)) else [out2])]
    got = plan.run([x2])
    plans[key] = plan if len(got) == len(expected) and all(_same(a, b) for a, b in zip(got, expected)) else False
    return out


def set_enabled(flag: bool) -> bool:
    """Replay inference plans in ``predict`` (True) or run the layers (False); returns the previous setting."""
    global _ENABLED
    previous, _ENABLED = _ENABLED, bool(flag)
    return previous


_config.register_applier("plans", set_enabled)
