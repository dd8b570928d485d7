"""The training loops of a model (Keras 3's ``trainers/trainer.py``): :class:`Trainer`, which
:class:`~neuronka.models.model.Model` inherits.

``compile`` (optimizer, :class:`.compile_utils.CompileLoss`, :class:`.compile_utils.CompileMetrics`), the
steps (``train_step``, ``test_step``, ``predict_step``), the loops ``fit`` / ``evaluate`` / ``predict`` over
the batches of a data adapter (:mod:`.data_adapters`), and ``train_on_batch`` / ``test_on_batch`` /
``predict_on_batch``. The training step, for a batch (x, y, w):

    ŷ = model(x, training=True)
    L = Σₒ λₒ · lossₒ(yₒ, ŷₒ, w) + Σ regularization losses       (λₒ: ``loss_weights``)
    backward: dL/dθ for every trainable weight θ
    optimizer: θ ← update(θ, dL/dθ); then θ ← constraint(θ) where a weight has one
    metrics updated on (y, ŷ) (weighted metrics also with w)
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy

from .. import config as _config
from .. import metrics as metrics_module
from ..autograd import Tensor, no_grad
from ..backend import asnumpy
from ..layers import base as _base
from ..optimizers import base as _optimizer_base
from . import replay
from .compile_utils import CompileLoss, CompileMetrics
from .data_adapters import (
    _batch_size_of,
    _check_cardinality,
    _class_weight_to_sample_weight,
    _EpochIterator,
    _flat,
    _is_iterable_data,
    _make_data,
    _map_leaves,
    _pack,
    _standardize,
    train_validation_split,
    unpack_x_y_sample_weight,
)

if TYPE_CHECKING:
    from .model import Model


def _verbose(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"Expected `verbose` to be 'auto', 0, 1 or 2, received verbose={verbose!r}")
    return int(verbose)


def _should_eval(epoch: int, freq) -> bool:
    if isinstance(freq, int):
        if freq < 1:
            raise ValueError(f"`validation_freq` must be a positive integer, received validation_freq={freq}")
        return (epoch + 1) % freq == 0
    if hasattr(freq, "__contains__"):
        return (epoch + 1) in freq
    raise ValueError(f"Expected `validation_freq` to be an int or a collection of epochs, received {freq!r}")


class _StepCache:
    """What every step needs, computed once per ``fit`` (weights are created by the first call)."""

    def __init__(self, model: Model):
        layers, seen = [], set()
        stack = [model]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            layers.append(layer)
            stack.extend(reversed(layer._layers))
        self.layers = layers
        self.trainable = list(model.trainable_weights)
        self.generation = _base.TRAINABLE_GENERATION  # trainable flags when made: a change rebuilds the cache
        self.constrained = [v for v in self.trainable if getattr(v, "constraint", None) is not None]
        self.regularized = [w for w in model._all_weights() if w.regularizer is not None and w.trainable]


class Trainer:
    """``compile``, ``fit``, ``evaluate``, ``predict`` and the steps they run, for a model (a Layer).

    A mixin: :class:`~neuronka.models.model.Model` is ``Model(Trainer, Layer)``, and calls
    :meth:`_init_trainer` from its constructor.
    """

    def _init_trainer(self) -> None:
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_args: dict | None = None
        self._loss_container: CompileLoss | None = None
        self._metrics_container: CompileMetrics | None = None
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._step_cache: _StepCache | None = None
        self._output_keys: list[str] | None = None

    # ---- compile -----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True) -> None:
        """Configure training: optimizer, loss (per output: a list or a dict by output name), metrics.

        ``steps_per_execution=N`` runs N steps between two calls of the batch callbacks, as Keras does.
        ``run_eagerly``, ``jit_compile`` and ``auto_scale_loss`` change nothing here (neuronka always runs eagerly,
        its kernels are compiled ahead; loss scaling follows the optimizer): ``jit_compile=True`` warns so.
        """
        from .. import optimizers  # noqa: PLC0415

        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._loss_container = CompileLoss(loss, loss_weights) if loss is not None else None
        self._metrics_container = CompileMetrics(metrics, weighted_metrics) if (metrics or weighted_metrics) else None
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._compile_args = {"loss_weights": loss_weights, "metrics": metrics, "weighted_metrics": weighted_metrics}
        self.run_eagerly = run_eagerly
        if jit_compile is True:
            warnings.warn("compile(jit_compile=True): neuronka has no graph compiler (its kernels are compiled "
                          "ahead of time); the model runs eagerly", stacklevel=2)
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(f"Expected `steps_per_execution` to be a positive integer, "
                             f"received steps_per_execution={steps_per_execution!r}")
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self._step_cache = None
        self.compiled = True

    def get_compile_config(self) -> dict | None:
        """The arguments of ``compile`` as JSON-able data (for saving)."""
        if not self.compiled:
            return None
        from .. import losses, optimizers  # noqa: PLC0415

        def ser_loss(v):
            if v is None or isinstance(v, str):
                return v
            if isinstance(v, (list, tuple)):
                return [ser_loss(e) for e in v]
            if isinstance(v, dict) and "class_name" not in v:
                return {k: ser_loss(e) for k, e in v.items()}
            return losses.serialize(v)

        def ser_metric(v):
            if v is None or isinstance(v, str):
                return v
            if isinstance(v, (list, tuple)):
                return [ser_metric(e) for e in v]
            if isinstance(v, dict):
                return {k: ser_metric(e) for k, e in v.items()}
            if isinstance(v, metrics_module.Metric):
                return metrics_module.serialize(v)
            name = getattr(v, "__name__", None)
            if name in metrics_module.objects.ALL_OBJECTS:
                return name
            raise ValueError(f"the metric {v!r} cannot be serialized (a plain function); use a Metric instead")

        args = self._compile_args or {}
        return {"optimizer": optimizers.serialize(self.optimizer), "loss": ser_loss(self.loss),
                "loss_weights": args.get("loss_weights"), "metrics": ser_metric(args.get("metrics")),
                "weighted_metrics": ser_metric(args.get("weighted_metrics")),
                "run_eagerly": bool(getattr(self, "run_eagerly", False)),
                "steps_per_execution": getattr(self, "steps_per_execution", 1),
                "jit_compile": getattr(self, "jit_compile", "auto")}

    def compile_from_config(self, config: dict) -> None:
        """``compile`` from :meth:`get_compile_config`'s dict."""
        from .. import losses, optimizers  # noqa: PLC0415

        def de_loss(v):
            if v is None:
                return None
            if isinstance(v, list):
                return [de_loss(e) for e in v]
            if isinstance(v, dict) and "class_name" not in v:
                return {k: de_loss(e) for k, e in v.items()}
            return losses.deserialize(v) if not isinstance(v, str) else v

        def de_metric(v):
            if v is None or isinstance(v, str):
                return v
            if isinstance(v, list):
                return [de_metric(e) for e in v]
            if isinstance(v, dict) and "class_name" in v:
                return metrics_module.deserialize(v)
            if isinstance(v, dict):
                return {k: de_metric(e) for k, e in v.items()}
            return v

        optimizer = config.get("optimizer")
        self.compile(optimizer=optimizers.deserialize(optimizer) if isinstance(optimizer, dict) else (
            optimizer or "rmsprop"), loss=de_loss(config.get("loss")), loss_weights=config.get("loss_weights"),
            metrics=de_metric(config.get("metrics")), weighted_metrics=de_metric(config.get("weighted_metrics")),
            run_eagerly=bool(config.get("run_eagerly", False)),
            steps_per_execution=config.get("steps_per_execution", 1) or 1,
            jit_compile=config.get("jit_compile", "auto"))

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before using the model's `{method}()`: "
                             f"model {self.name!r} is not compiled")

    # ---- outputs -----------------------------------------------------------------------
    @property
    def output_names(self) -> list[str]:
        return list(self._output_keys or [])

    def _outputs_list(self, y_pred) -> list:
        """The model's outputs as a flat list, and their names (set on the first call)."""
        if isinstance(y_pred, dict):
            flat = list(y_pred.values())
            keys = list(y_pred.keys())
        elif isinstance(y_pred, (list, tuple)):
            flat = list(y_pred)
            keys = None
        else:
            flat, keys = [y_pred], None
        if self._output_keys is None or len(self._output_keys) != len(flat):
            if keys is None:
                keys = self._default_output_names(len(flat))
            self._output_keys = list(keys)
        return flat

    def _default_output_names(self, n: int) -> list[str]:
        return ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]

    def _targets_list(self, y, n: int) -> list:
        """Targets aligned with the model's flat outputs (a dict by output name, a list, or one array)."""
        if y is None:
            return [None] * n
        if isinstance(y, dict):
            keys = self._output_keys
            missing = [k for k in keys if k not in y]
            if len(y) == 1 and n == 1 and missing:
                return list(y.values())
            unknown = [k for k in y if k not in keys]
            if unknown:
                raise ValueError(f"Target keys {unknown} do not match any model output; outputs are {keys}")
            return [y.get(k) for k in keys]
        if isinstance(y, (list, tuple)):
            if n == 1 and len(y) == 1:
                return [y[0]]
            if len(y) != n:
                raise ValueError(f"The model has {n} output(s) {self._output_keys} but {len(y)} target arrays "
                                 f"were given")
            return list(y)
        if n != 1:
            raise ValueError(f"The model has {n} outputs {self._output_keys}: expected a list or a dict of {n} "
                             f"target arrays, received a single array")
        return [y]

    def _weights_list(self, sample_weight, n: int) -> list:
        if sample_weight is None:
            return [None] * n
        if isinstance(sample_weight, dict):
            return [sample_weight.get(k) for k in self._output_keys]
        if isinstance(sample_weight, (list, tuple)) and n > 1:
            return list(sample_weight)
        return [sample_weight] * n

    # ---- losses --------------------------------------------------------------------------
    def _clear_step_losses(self) -> None:
        cache = self._step_cache
        if cache is None:
            self._clear_losses()
            return
        for layer in cache.layers:
            if layer._losses:
                layer._losses.clear()

    def _regularization_losses(self) -> list:
        cache = self._step_cache
        if cache is None:
            return self.losses
        out = [loss for layer in cache.layers for loss in layer._losses]
        out.extend(w.regularizer(w) for w in cache.regularized)
        return out

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training: bool = True):
        """Total loss = compiled loss (Σₒ λₒ·lossₒ) + Σ model.losses (regularization)."""
        flat_pred = self._outputs_list(y_pred)
        n = len(flat_pred)
        total = None
        container = self._loss_container
        if container is not None:
            y_true = self._targets_list(y, n)
            if not container.built:
                container.build(self._output_keys, y_true, flat_pred)
            total = container(y_true, flat_pred, self._weights_list(sample_weight, n), _batch_size_of(x))
        for extra in self._regularization_losses():
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    # ---- metrics -------------------------------------------------------------------------
    @property
    def metrics(self) -> list:
        out = [self._loss_tracker]
        if self._loss_container is not None:
            out.extend(self._loss_container.trackers)
        if self._metrics_container is not None:
            out.extend(self._metrics_container.metrics)
        return out

    @property
    def metrics_names(self) -> list[str]:
        return list(self._logs().keys())

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics on a batch and return all metric results."""
        container = self._metrics_container
        if container is not None:
            flat_pred = self._outputs_list(y_pred)
            n = len(flat_pred)
            y_true = self._targets_list(y, n)
            preds = [asnumpy(p.data) if isinstance(p, Tensor) else numpy.asarray(p) for p in flat_pred]
            if not container.built:
                kinds = self._loss_container.kinds if (self._loss_container and self._loss_container.built) else [
                    None] * n
                container.build(self._output_keys, y_true, preds, kinds)
            container.update(y_true, preds, self._weights_list(sample_weight, n))
        return self._logs()

    def _logs(self) -> dict:
        """Keras's logs: loss, per-output losses, then the compiled metrics, as Python floats."""
        logs = {"loss": float(self._loss_tracker.result())}
        if self._loss_container is not None:
            for t in self._loss_container.trackers:
                logs[t.name] = float(t.result())
        if self._metrics_container is not None:
            for name, m, _, _ in self._metrics_container.flat:
                r = m.result()
                logs[name] = float(r) if numpy.ndim(r) == 0 else numpy.asarray(r)
        return logs

    def get_metrics_result(self) -> dict:
        return self._logs()

    # ---- steps ---------------------------------------------------------------------------
    def train_step(self, data) -> dict:
        """One optimizer step on a batch ``(x, y, sample_weight)``; returns the running metrics."""
        x, y, sw = unpack_x_y_sample_weight(data)
        self._clear_step_losses()
        y_pred = self(x, training=True)
        cache = self._step_cache
        if cache is None or cache.generation != _base.TRAINABLE_GENERATION:
            # the first call has created the weights of a lazily built model, or a layer was (un)frozen
            cache = self._step_cache = _StepCache(self)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw, training=True)
        bs = _batch_size_of(x)
        tracker = self._loss_tracker
        tracker.total += float(loss.data) * bs
        tracker.count += bs
        if loss.requires_grad:
            # over several MPI processes: a hook that starts each gradient bucket's allreduce during the backward
            start_step = getattr(_optimizer_base.gradient_reducer, "start_step", None)
            hook = start_step(self.optimizer, cache.trainable) if start_step is not None else None
            # × the loss scale (LossScaleOptimizer, loss_scale_factor)
            self.optimizer.scale_loss(loss).backward(on_leaf_grad=hook)
        trainable = cache.trainable
        pairs = [(v.grad, v) for v in trainable if v.grad is not None]
        if pairs:
            self.optimizer.apply_gradients(pairs)
        for v in trainable:
            v.grad = None  # the optimizer has applied the constraints (θ ← constraint(θ)), as Keras's does
        return self.compute_metrics(x, y, y_pred, sw)

    def test_step(self, data) -> dict:
        """Loss and metrics on a batch, in inference mode, without recording a graph."""
        x, y, sw = unpack_x_y_sample_weight(data)
        self._clear_step_losses()
        with no_grad():
            y_pred = self(x, training=False)
            if self._step_cache is None:
                self._step_cache = _StepCache(self)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw, training=False)
        bs = _batch_size_of(x)
        self._loss_tracker.total += float(loss.data) * bs
        self._loss_tracker.count += bs
        return self.compute_metrics(x, y, y_pred, sw)

    def predict_step(self, data):
        """The model's outputs on a batch, in inference mode."""
        x, _, _ = unpack_x_y_sample_weight(data)
        self._clear_step_losses()
        with no_grad():
            return self(x, training=False)

    # ---- callbacks -----------------------------------------------------------------------
    def _callback_list(self, callbacks, add_history: bool, verbose: int, epochs: int, steps):
        from .. import callbacks as callbacks_module  # noqa: PLC0415

        if isinstance(callbacks, callbacks_module.CallbackList):
            return callbacks
        from ..distribution import data_parallel  # noqa: PLC0415 - neuronka.distribution imports the optimizers

        if data_parallel.is_secondary_process():  # several MPI processes: only process 0 prints and writes files
            verbose, callbacks = 0, data_parallel.process_zero_callbacks(callbacks)
        return callbacks_module.CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0,
                                             model=self, verbose=verbose, epochs=epochs, steps=steps)

    # ---- fit / evaluate / predict ----------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the ``History`` (``history.history[key]`` per epoch).

        ``validation_split`` holds out the LAST fraction of the arrays (before shuffling);
        ``validation_data`` (x, y[, sample_weight]) or a generator takes precedence over it.
        ``class_weight`` {class: weight} scales each sample's loss by its class's weight.
        """
        self._assert_compiled("fit")
        verbose = _verbose(verbose)
        if _config.max_epochs() is not None and epochs > _config.max_epochs():  # keras.config.set_max_epochs
            epochs = _config.max_epochs()
            warnings.warn(f"Limiting epochs to {epochs}", stacklevel=2)
        if validation_split and validation_data is None:
            if _is_iterable_data(x):
                raise ValueError("Argument `validation_split` is only supported for NumPy arrays (or lists/dicts "
                                 f"of arrays), received x of type {type(x).__name__}")
            x, y, sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
            _check_cardinality(x, y, sample_weight)
            (x, y, sample_weight), validation_data = train_validation_split((x, y, sample_weight), validation_split)
        data = _make_data(x, y, sample_weight, batch_size, shuffle, class_weight)
        cap = _config.max_steps_per_epoch()
        if cap and (steps_per_epoch or data.num_batches or cap + 1) > cap:
            steps_per_epoch = cap
            warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=2)
        iterator = _EpochIterator(data, steps_per_epoch)
        val_iterator = None
        if validation_data is not None:
            if _is_iterable_data(validation_data):
                vx, vy, vsw = validation_data, None, None
            else:
                vx, vy, vsw = unpack_x_y_sample_weight(validation_data)
            val_iterator = _EpochIterator(_make_data(vx, vy, vsw, validation_batch_size or batch_size,
                                                     evaluation=True), validation_steps)
        cbs = self._callback_list(callbacks, True, verbose, epochs, iterator.steps)
        self.stop_training = False
        self._step_cache = None
        self._initial_epoch = None
        cbs.on_train_begin()
        # BackupAndRestore sets the epoch to resume from in on_train_begin (Keras 3 does the same)
        initial_epoch = self._initial_epoch or initial_epoch
        training_logs = None
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            steps_run, per_execution, pending = 0, max(1, int(getattr(self, "steps_per_execution", 1) or 1)), None
            for step, batch in iterator:
                # steps_per_execution=N (Keras): the batch callbacks see one call per N steps, as Keras's loop
                # runs N steps between them
                if step % per_execution == 0:
                    cbs.on_train_batch_begin(step)
                logs = self.train_step(batch)
                pending = (step, logs)
                if (step + 1) % per_execution == 0:
                    cbs.on_train_batch_end(step, logs)
                    pending = None
                steps_run += 1
                if self.stop_training:
                    break
            if pending is not None:  # the last, shorter execution of the epoch
                cbs.on_train_batch_end(*pending)
            if steps_run == 0:
                warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or "
                              "generator can generate at least `steps_per_epoch * epochs` batches.", stacklevel=2)
                break
            over_processes = _data_parallel_evaluation()
            if over_processes is not None:  # the epoch's metrics over every process's shard
                over_processes.allreduce_metric_states(self.metrics)
            epoch_logs = self._logs()
            if val_iterator is not None and _should_eval(epoch, validation_freq):
                val_logs = self._evaluate_loop(val_iterator, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if epochs > 0:
            self.optimizer.finalize_variable_values(self.trainable_weights)  # use_ema: w ← the moving averages
        cbs.on_train_end(training_logs)
        return self._history_from(cbs)

    def _history_from(self, cbs):
        for cb in getattr(cbs, "callbacks", []):
            if type(cb).__name__ == "History":
                self.history = cb
                return cb
        return self.history

    def _evaluate_loop(self, iterator: _EpochIterator, cbs) -> dict:
        self.reset_metrics()
        cbs.on_test_begin()
        for step, batch in iterator:
            cbs.on_test_batch_begin(step)
            logs = self.test_step(batch)
            cbs.on_test_batch_end(step, logs)
        over_processes = _data_parallel_evaluation()
        if over_processes is not None:  # a multi-process DataParallel: every process reports on all the data
            over_processes.allreduce_metric_states(self.metrics)
        logs = self._logs()
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on the data: a scalar (loss only), a list [loss, metrics...] or a dict."""
        kwargs.pop("_use_cached_eval_dataset", None)  # Keras's own internal argument
        if kwargs:
            raise ValueError(f"Arguments not recognized: {kwargs}")
        self._assert_compiled("evaluate")
        verbose = _verbose(verbose)
        iterator = _EpochIterator(_make_data(x, y, sample_weight, batch_size, evaluation=True), steps)
        cbs = self._callback_list(callbacks, False, verbose, 1, iterator.steps)
        self._step_cache = None
        logs = self._evaluate_loop(iterator, cbs)
        return logs if return_dict else self._flatten_logs(logs)

    def _flatten_logs(self, logs: dict):
        names = ["loss"]
        if self._loss_container is not None:
            names += [t.name for t in self._loss_container.trackers]
        if self._metrics_container is not None:
            names += [m.name for m in self._metrics_container.metrics]
        results = [logs[k] for k in names if k in logs]
        results += [logs[k] for k in sorted(logs) if k not in names]
        return results[0] if len(results) == 1 else results

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs on ``x`` in inference mode (no graph), concatenated over the batches as NumPy arrays."""
        verbose = _verbose(verbose)
        data = _make_data(x, batch_size=batch_size, evaluation=True)
        iterator = _EpochIterator(data, steps)
        cbs = self._callback_list(callbacks, False, verbose, 1, iterator.steps)
        self._step_cache = None
        outputs = []
        cbs.on_predict_begin()
        for step, batch in iterator:
            cbs.on_predict_batch_begin(step)
            out = self._predict_batch(batch)
            if self._step_cache is None:
                self._step_cache = _StepCache(self)
            out = _map_leaves(_out_to_numpy, out)
            outputs.append(out)
            cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if not outputs:
            raise ValueError("predict: the input data yielded no batches")
        first = outputs[0]
        flat = [_flat(o) for o in outputs]
        result = _pack(first, [numpy.concatenate([f[i] for f in flat]) for i in range(len(flat[0]))])
        if getattr(data, "shards", None) is not None:  # each process predicted its rows: all of them, in order
            result = _data_parallel_evaluation().gather_in_order(result)
        return result

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; metrics keep accumulating until ``reset_metrics()`` (Keras 3)."""
        self._assert_compiled("train_on_batch")
        x, y, sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            sample_weight = _class_weight_to_sample_weight(_flat(y)[0], class_weight)
        logs = self.train_step((x, y, sample_weight))
        return logs if return_dict else self._flatten_logs(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch (metrics accumulate as in Keras 3)."""
        self._assert_compiled("test_on_batch")
        logs = self.test_step((_standardize(x), _standardize(y), _standardize(sample_weight)))
        return logs if return_dict else self._flatten_logs(logs)

    def predict_on_batch(self, x):
        """The outputs on one batch as NumPy arrays."""
        return _map_leaves(_out_to_numpy, self._predict_batch((_standardize(x),)))

    def _predict_batch(self, batch):
        """``predict_step(batch)``, through a replayed inference plan where one applies (``models/replay.py``):
        the built-in ``predict_step`` on one float array."""
        if type(self).predict_step is Trainer.predict_step:
            x, _, _ = unpack_x_y_sample_weight(batch)
            if type(x) is numpy.ndarray and x.dtype.kind == "f" and self.built:
                self._clear_step_losses()
                outputs = replay.predict(self, x)
                if outputs is not None:
                    return outputs
        return self.predict_step(batch)


def _data_parallel_evaluation():
    """``neuronka.distribution.evaluation`` while a DataParallel over several MPI processes shards the data
    (evaluate and predict then combine the processes' shards); else None."""
    from ..distribution import evaluation  # noqa: PLC0415 - neuronka.distribution imports the optimizers

    return evaluation if evaluation.active_data_parallel() is not None else None


def _out_to_numpy(t):
    return asnumpy(t.data) if isinstance(t, Tensor) else numpy.asarray(t)
