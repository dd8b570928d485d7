"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization, RMSNormalization,
UnitNormalization, and the preprocessing layer Normalization (``adapt`` computes a mean and variance).

Notation: x̂ = (x − μ)/√(σ² + ε) with the biased variance σ² = mean((x − μ)²); y = γ·x̂ + β.
The fused forward/backward passes live in :mod:`neuronka.ops.normalization`; the layers here choose
the statistics (batch or moving, per sample, per group) and own the weights.
"""
from __future__ import annotations

import numbers
import warnings

import numpy

from .. import constraints, initializers, ops, regularizers
from ..autograd import Tensor
from ..backend import get_array_module, to_backend
from ..ops import normalization as _norm_ops
from .base import InputSpec, Layer

__all__ = [
    "BatchNormalization",
    "GroupNormalization",
    "LayerNormalization",
    "Normalization",
    "RMSNormalization",
    "UnitNormalization",
]

_EPSILON = 1e-7  # keras.config.epsilon()


def _check_int_axis(layer: str, axis) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, numpy.integer)):
        raise TypeError(f"{layer}: expected an integer for `axis`, received axis={axis!r}")
    return int(axis)


def _check_axes(layer: str, axis):
    """An int stays an int, a list/tuple of ints becomes a list (Keras's LayerNormalization convention)."""
    if isinstance(axis, (list, tuple)):
        return [_check_int_axis(layer, a) for a in axis]
    if isinstance(axis, (int, numpy.integer)) and not isinstance(axis, bool):
        return int(axis)
    raise TypeError(f"{layer}: expected an int or a list/tuple of ints for `axis`, received axis={axis!r}")


def _check_epsilon(layer: str, epsilon) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or epsilon <= 0:
        raise ValueError(f"{layer}: expected a positive float for `epsilon`, received epsilon={epsilon!r}")
    return float(epsilon)


def _resolve_axes(layer: str, axes, ndim: int) -> list[int]:
    out = []
    for a in axes if isinstance(axes, (list, tuple)) else [axes]:
        if not -ndim <= a < ndim:
            raise ValueError(f"{layer}: axis {a} is out of range for an input of rank {ndim}; "
                             f"expected an axis in [-{ndim}, {ndim})")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{layer}: expected distinct axes, received axis={axes!r}")
    return out


def _mask_array(mask):
    m = mask.data if isinstance(mask, Tensor) else mask
    return get_array_module(m).asarray(m).astype(bool)


class _AffineMixin:
    """The γ/β arguments shared by the normalization layers."""

    def _init_affine(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                     beta_constraint, gamma_constraint):
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _add_gamma(self, shape):
        return self.add_weight(shape=shape, name="gamma", initializer=self.gamma_initializer,
                               regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)

    def _add_beta(self, shape):
        return self.add_weight(shape=shape, name="beta", initializer=self.beta_initializer,
                               regularizer=self.beta_regularizer, constraint=self.beta_constraint)

    def _affine_config(self) -> dict:
        return {
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


# ----------------------------------------------------------------------------------
# BatchNormalization
# ----------------------------------------------------------------------------------
class BatchNormalization(_AffineMixin, Layer):
    """Batch normalization (Ioffe & Szegedy, 2015) over the feature axis ``axis``.

    Training (``training=True`` and ``layer.trainable``): the statistics of this batch, over every axis
    except ``axis``, y = γ·(x − μ_B)/√(σ²_B + ε) + β, differentiable through μ_B and σ²_B; then, in place
    on the non-trainable weights,

        moving_mean     ← moving_mean · momentum + μ_B · (1 − momentum)
        moving_variance ← moving_variance · momentum + σ²_B · (1 − momentum)

    with σ²_B the *biased* batch variance (Keras's convention; PyTorch's running_var uses the unbiased
    one, and its ``momentum`` is 1 − Keras's). Inference: y = γ·(x − moving_mean)/√(moving_variance + ε) + β.

    With a ``mask`` (the input's shape without the feature axis, e.g. (N, T) for (N, T, C)), the batch
    statistics are taken over the unmasked entries only: μ = Σ m·x/(Σ m + 1e-7),
    σ² = Σ m·(x − μ)²/(Σ m + 1e-7) (Keras 3).

    ``layer.trainable = False`` freezes the layer: it then runs in inference mode and leaves the moving
    statistics unchanged (Keras 3).

    ``synchronized=True`` (Keras's argument): under a ``DataParallel`` distribution over several MPI processes,
    μ_B and σ²_B in training are those of the global batch (every process's batch together, summed with an
    allreduce in the forward, and the matching sums in the backward: ``ops.normalization.SyncBatchNormTrain``);
    with one process it changes nothing. Not with a mask or ``renorm`` across processes (NotImplementedError).

    Weights: gamma, beta (trainable), moving_mean, moving_variance
    (non-trainable), each of shape (C,): 4C parameters, 2C of them non-trainable.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_int_axis("BatchNormalization", axis)
        self.synchronized = synchronized  # used in training under a multi-process DataParallel (_statistics_reducer)
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization: expected `momentum` to be a float in [0, 1], "
                             f"received momentum={momentum!r}")
        self.momentum = float(momentum)
        self.epsilon = float(_check_epsilon("BatchNormalization", epsilon))
        self._init_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                          beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.supports_masking = True
        self.renorm = renorm
        if renorm:
            renorm_clipping = renorm_clipping or {}
            if set(renorm_clipping) - {"rmax", "rmin", "dmax"}:
                raise ValueError(f"Received invalid keys for `renorm_clipping` argument: {renorm_clipping}. "
                                 f"Supported values: ['rmax', 'rmin', 'dmax'].")
            rmax, rmin, dmax = (renorm_clipping.get(k) for k in ("rmax", "rmin", "dmax"))
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(f"rmax should be greater than rmin in the `renorm_clipping` argument. "
                                 f"Received: rmax={rmax}, rmin={rmin}.")
            if dmax is not None and dmax < 0:
                raise ValueError(f"dmax should be non-negative in the `renorm_clipping` argument. "
                                 f"Received: dmax={dmax}.")
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.gamma = self.beta = None

    def build(self, input_shape):
        ndim = len(input_shape)
        (ax,) = _resolve_axes(f"BatchNormalization {self.name!r}", self.axis, ndim)
        channels = input_shape[ax]
        if channels is None:
            raise ValueError(f"BatchNormalization {self.name!r}: axis {self.axis} of the input must have a known "
                             f"size, received input shape {tuple(input_shape)}")
        if ndim < 2:
            raise ValueError(f"BatchNormalization {self.name!r}: expected an input of rank >= 2 (batch, ..., "
                             f"features), received shape {tuple(input_shape)}")
        shape = (channels,)
        if self.scale:
            self.gamma = self._add_gamma(shape)
        if self.center:
            self.beta = self._add_beta(shape)
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance",
                                               initializer=self.moving_variance_initializer, trainable=False)
        if self.renorm:  # the moving standard deviation, and the renorm statistics (Keras's weights, in its order)
            variance = self.moving_variance.data
            std = get_array_module(variance).sqrt(variance)
            self.moving_stddev = self.add_weight(shape=shape, name="moving_stddev", initializer="zeros",
                                                 trainable=False)
            self.moving_stddev.assign(std)
            self.renorm_mean = self.add_weight(shape=shape, name="renorm_mean",
                                               initializer=self.moving_mean_initializer, trainable=False)
            self.renorm_stddev = self.add_weight(shape=shape, name="renorm_stddev", initializer="zeros",
                                                 trainable=False)
            self.renorm_stddev.assign(std)
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: channels})
        self._reduction_axes = tuple(a for a in range(ndim) if a != ax)
        self.built = True

    def _masked_moments(self, x, mask):
        """Mean and biased variance over the unmasked entries (differentiable in x), shaped to broadcast."""
        m = _mask_array(mask)
        if m.ndim != x.ndim - 1:
            raise ValueError(f"BatchNormalization {self.name!r}: the mask should have one dimension less than the "
                             f"inputs; received mask.shape={tuple(m.shape)}, inputs.shape={tuple(x.shape)}")
        ax = self.axis % x.ndim
        w = get_array_module(m).expand_dims(m, ax).astype(x.dtype)
        red = self._reduction_axes
        count = w.sum(axis=red, keepdims=True) + _EPSILON
        mean = ops.sum(ops.multiply(x, w), axis=red, keepdims=True) / count
        d = x - mean
        var = ops.sum(ops.multiply(d * d, w), axis=red, keepdims=True) / count
        return mean, var

    def _statistics_reducer(self, mask):
        """With ``synchronized=True`` under a multi-process DataParallel: the allreduce that makes the batch
        statistics (and their gradient) those of all the processes' batches together
        (``neuronka.distribution``); else None, the statistics of this process's batch."""
        if not self.synchronized:
            return None
        from ..distribution.data_parallel import synchronized_batch_norm_reducer  # noqa: PLC0415

        reducer = synchronized_batch_norm_reducer()
        if reducer is not None and (mask is not None or self.renorm):
            raise NotImplementedError(f"BatchNormalization {self.name!r}: synchronized=True across processes is "
                                      f"implemented without a mask and without renorm; received "
                                      f"{'a mask' if mask is not None else 'renorm=True'}")
        return reducer

    _fused_relu = False  # set by models/fusion.py during a call: the ReLU layer after this one is done here

    def call(self, inputs, training=False, mask=None):
        relu = self._fused_relu
        if training and self.trainable and self.renorm:
            self._statistics_reducer(mask)  # refuses synchronized renorm across processes
            y = self._renorm_call(inputs, mask)
        elif training and self.trainable:
            reducer = self._statistics_reducer(mask)
            if mask is None:  # the ReLU inside the batch norm's op (one pass fewer each way)
                y, mean, var = ops.batch_norm_train(inputs, self.gamma, self.beta, axis=self.axis,
                                                    epsilon=self.epsilon, relu=relu, allreduce_sum=reducer)
                relu = False
            else:
                mean, var = self._masked_moments(inputs, mask)
                y = ops.batch_normalization(inputs, mean, var, axis=self.axis, offset=self.beta, scale=self.gamma,
                                            epsilon=self.epsilon)
            self._update_moving(self.moving_mean, mean.data)
            self._update_moving(self.moving_variance, var.data)
        else:
            y = ops.batch_normalization(inputs, self.moving_mean, self.moving_variance, axis=self.axis,
                                        offset=self.beta, scale=self.gamma, epsilon=self.epsilon)
        return ops.relu(y) if relu else y

    def _renorm_call(self, x, mask):
        """Batch renormalization (Ioffe, 2017), in training: with σ_B = √(σ²_B + ε),
        r = clip(σ_B / max(renorm_stddev, √ε), rmin, rmax), d = clip((μ_B − renorm_mean) / max(renorm_stddev, √ε),
        −dmax, dmax), both held constant in the backward pass,
        y = x̂_B · (r·γ) + (d·γ + β); then renorm_mean, renorm_stddev (momentum ``renorm_momentum``),
        moving_mean and moving_stddev (``momentum``) move towards μ_B and σ_B, and
        moving_variance = relu(moving_stddev² − ε)."""
        if mask is None:
            red = self._reduction_axes
            mean = ops.mean(x, axis=red, keepdims=True)
            var = ops.mean(ops.square(x - mean), axis=red, keepdims=True)
        else:
            mean, var = self._masked_moments(x, mask)
        xp = get_array_module(x.data)
        ch = self.moving_mean.shape
        mu, sig2 = mean.data.reshape(ch), var.data.reshape(ch)
        std = xp.sqrt(sig2 + self.epsilon)
        renorm_std = xp.maximum(self.renorm_stddev.data, numpy.sqrt(self.epsilon))
        r = std / renorm_std
        d = (mu - self.renorm_mean.data) / renorm_std
        clip = self.renorm_clipping or {}
        if clip.get("rmin") is not None:
            r = xp.maximum(r, clip["rmin"])
        if clip.get("rmax") is not None:
            r = xp.minimum(r, clip["rmax"])
        if clip.get("dmax") is not None:
            d = xp.clip(d, -clip["dmax"], clip["dmax"])
        r, d = r.astype(x.dtype), d.astype(x.dtype)
        scale = r if self.gamma is None else self.gamma * r
        offset = d if self.gamma is None else self.gamma * d
        if self.beta is not None:
            offset = offset + self.beta
        y = ops.batch_normalization(x, mean, var, axis=self.axis, offset=offset, scale=scale, epsilon=self.epsilon)
        m, rm = self.momentum, self.renorm_momentum
        self.renorm_mean.assign(self.renorm_mean.data * rm + mu * (1.0 - rm))
        self.renorm_stddev.assign(self.renorm_stddev.data * rm + std * (1.0 - rm))
        self.moving_mean.assign(self.moving_mean.data * m + mu * (1.0 - m))
        new_std = self.moving_stddev.data * m + std * (1.0 - m)
        self.moving_stddev.assign(new_std)
        self.moving_variance.assign(xp.maximum(new_std * new_std - self.epsilon, 0.0))
        return y

    def _update_moving(self, var, batch_value) -> None:
        """moving ← moving · momentum + batch · (1 − momentum), in place."""
        data = var.data
        data *= self.momentum
        data += (1.0 - self.momentum) * batch_value.reshape(data.shape).astype(data.dtype, copy=False)

    def compute_output_shape(self, input_shape):
        n = len(input_shape)
        if not -n <= self.axis < n:
            raise ValueError(f"Axis {self.axis} is out of bounds for input shape {input_shape}. "
                             f"Received: axis={self.axis}")
        return input_shape

    def get_config(self):
        affine = self._affine_config()
        config = {"axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon, "center": self.center,
                  "scale": self.scale, "beta_initializer": affine["beta_initializer"],
                  "gamma_initializer": affine["gamma_initializer"],
                  "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                  "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                  **{k: affine[k] for k in ("beta_regularizer", "gamma_regularizer", "beta_constraint",
                                            "gamma_constraint")},
                  "synchronized": self.synchronized, "renorm": self.renorm, "renorm_clipping": self.renorm_clipping,
                  "renorm_momentum": self.renorm_momentum}
        return {**super().get_config(), **config}


# ----------------------------------------------------------------------------------
# LayerNormalization, RMSNormalization, GroupNormalization, UnitNormalization
# ----------------------------------------------------------------------------------
def _weight_for_axes(w, axes: list[int], ndim: int):
    """A weight spanning ``axes`` (its axes in the user's order) as a tensor broadcasting against the input."""
    if w is None:
        return None
    perm = sorted(range(len(axes)), key=lambda i: axes[i])
    if perm != list(range(len(axes))):
        w = ops.transpose(w, tuple(perm))
    bshape = [1] * ndim
    for j, a in enumerate(sorted(axes)):
        bshape[a] = w.shape[j]
    return ops.reshape(w, tuple(bshape))


class LayerNormalization(_AffineMixin, Layer):
    """Layer normalization (Ba et al., 2016): each sample normalized over ``axis`` (an int or a list).

    μ = mean(x), σ² = mean((x − μ)²) over ``axis``; y = γ·(x − μ)/√(σ² + ε) + β, γ and β spanning
    ``axis`` (shape ``tuple(input_shape[a] for a in axis)``; a list of axes is sorted when the layer is
    built, as Keras does). The deprecated ``rms_scaling=True`` (a keyword, warned about as in Keras) ignores
    ``center`` and ``scale`` and computes y = γ·x/√(σ² + ε) (Keras 3's formula: the variance, not the mean
    square; ``RMSNormalization`` is the real one).

    Where a list mixes negative and positive axes (e.g. [-1, 1]), Keras sorts the numbers as given and then
    reshapes γ and β onto the input's axes, which scrambles their values; neuronka keeps each weight axis with
    its input axis (so the weight shapes are Keras's, the outputs differ in that case only).
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        rms_scaling = kwargs.pop("rms_scaling", False)
        if rms_scaling:
            warnings.warn("You passed `rms_scaling=True`, which is deprecated. This argument incorrectly scales the "
                          "input by the variance, not the root mean square. To correctly use RMS Normalization, "
                          "please use `keras.layers.RMSNormalization` instead.", stacklevel=2)
        super().__init__(**kwargs)
        self.axis = _check_axes("LayerNormalization", axis)
        self.epsilon = _check_epsilon("LayerNormalization", epsilon)
        self.rms_scaling = rms_scaling
        self._init_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                          beta_constraint, gamma_constraint)
        self.gamma = self.beta = None
        self.supports_masking = True

    def build(self, input_shape):
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        axes = _resolve_axes(f"LayerNormalization {self.name!r}", self.axis, len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if any(s is None for s in shape):
            raise ValueError(f"LayerNormalization {self.name!r}: the normalized axes {self.axis} must have known "
                             f"sizes, received input shape {tuple(input_shape)}")
        if self.scale or self.rms_scaling:
            self.gamma = self._add_gamma(shape)
        if self.center and not self.rms_scaling:
            self.beta = self._add_beta(shape)
        self.built = True

    def call(self, inputs):
        ndim = inputs.ndim
        axes = _resolve_axes(f"LayerNormalization {self.name!r}", self.axis, ndim)
        if self.rms_scaling:
            var = ops.var(inputs, axis=tuple(axes), keepdims=True)
            y = inputs / ops.sqrt(var + self.epsilon)
            return y * _weight_for_axes(self.gamma, axes, ndim)
        gamma, beta = self.gamma, self.beta
        if sorted(axes) != axes:  # weights stored in the user's axis order; the op wants ascending order
            gamma = _weight_for_axes(gamma, axes, ndim)
            beta = _weight_for_axes(beta, axes, ndim)
        return ops.layer_normalization(inputs, gamma, beta, axis=tuple(axes), epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        _resolve_axes(f"LayerNormalization {self.name!r}", self.axis, len(input_shape))
        return tuple(input_shape)

    def get_config(self):
        affine = self._affine_config()
        config = {"axis": self.axis, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                  "rms_scaling": self.rms_scaling, **{k: v for k, v in affine.items() if k not in ("center", "scale")}}
        return {**super().get_config(), **config}


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich, 2019): y = x/√(mean(x²) + ε) · scale, the mean
    over ``axis``; ``scale`` (initialized to ones) spans ``axis``."""

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axes("RMSNormalization", axis)
        self.epsilon = _check_epsilon("RMSNormalization", epsilon)

    def build(self, input_shape):
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        axes = _resolve_axes(f"RMSNormalization {self.name!r}", self.axis, len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        self.scale = self.add_weight(shape=shape, name="scale", initializer="ones")
        self.built = True

    def call(self, inputs):
        axes = _resolve_axes(f"RMSNormalization {self.name!r}", self.axis, inputs.ndim)
        scale = _weight_for_axes(self.scale, axes, inputs.ndim)
        return _norm_ops.rms_normalization(inputs, scale=scale, axis=tuple(axes), epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class GroupNormalization(_AffineMixin, Layer):
    """Group normalization (Wu & He, 2018): the C channels (on ``axis``) are split into ``groups`` groups of
    C/groups; each sample is normalized over every non-batch axis within a group,
    x̂ = (x − μ_{n,g})/√(σ²_{n,g} + ε), then y = γ_c·x̂ + β_c per channel (γ, β of shape (C,)).
    ``groups=1`` normalizes over all features of a sample; ``groups=C`` is instance normalization.
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, (int, numpy.integer)) or (groups <= 0 and groups != -1):
            raise ValueError(f"Received an invalid value for argument `groups`, expected a positive integer (or `-1` "
                             f"for instance normalization). Received: groups={groups}")
        self.groups = int(groups)
        self.axis = _check_int_axis("GroupNormalization", axis)
        self.epsilon = _check_epsilon("GroupNormalization", epsilon)
        self._init_affine(center, scale, beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
                          beta_constraint, gamma_constraint)
        self.gamma = self.beta = None
        self.supports_masking = True

    def build(self, input_shape):
        (ax,) = _resolve_axes(f"GroupNormalization {self.name!r}", self.axis, len(input_shape))
        dim = input_shape[ax]
        if dim is None:
            raise ValueError(f"GroupNormalization {self.name!r}: axis {self.axis} of the input must have a known "
                             f"size, received input shape {tuple(input_shape)}")
        if self.groups == -1:  # instance normalization: one group per channel
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"GroupNormalization {self.name!r}: expected at most {dim} groups for {dim} channels "
                             f"(input shape {tuple(input_shape)}), received groups={self.groups}")
        if dim % self.groups:
            raise ValueError(f"GroupNormalization {self.name!r}: expected `groups` to divide the {dim} channels, "
                             f"received groups={self.groups}")
        if self.scale:
            self.gamma = self._add_gamma((dim,))
        if self.center:
            self.beta = self._add_beta((dim,))
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})
        self.built = True

    def call(self, inputs):
        shape = tuple(inputs.shape)
        ndim = len(shape)
        ax = self.axis % ndim
        g = self.groups
        grouped = shape[:ax] + (g, shape[ax] // g) + shape[ax + 1:]
        xg = ops.reshape(inputs, grouped)
        red = tuple(a for a in range(1, ndim + 1) if a != ax)  # every axis but batch and group
        y = ops.reshape(ops.layer_normalization(xg, axis=red, epsilon=self.epsilon), shape)
        bshape = tuple(shape[a] if a == ax else 1 for a in range(ndim))
        if self.gamma is not None:
            y = y * ops.reshape(self.gamma, bshape)
        if self.beta is not None:
            y = y + ops.reshape(self.beta, bshape)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                **self._affine_config()}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``: y = x/√(max(Σ x², 1e-12)) = x/max(‖x‖₂, 1e-6)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axes("UnitNormalization", axis)
        self.supports_masking = True
        self._build_at_init()

    def call(self, inputs):
        axes = _resolve_axes(f"UnitNormalization {self.name!r}", self.axis, inputs.ndim)
        return ops.normalize(inputs, axis=tuple(axes), order=2, epsilon=1e-6)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


# ----------------------------------------------------------------------------------
# Normalization (preprocessing)
# ----------------------------------------------------------------------------------
class Normalization(Layer):
    """Feature-wise standardization with a fixed mean and variance: y = (x − mean)/max(√variance, 1e-7);
    ``invert=True`` undoes it: y = mean + x·max(√variance, 1e-7).

    ``axis`` (int, tuple, or None) names the axes that get their own mean and variance (the others are
    reduced, e.g. the batch axis); None means one scalar mean and variance. Either pass ``mean`` and
    ``variance`` (scalars, or arrays broadcasting against the kept axes, aligned from the right) or call
    :meth:`adapt` on data: the mean and the biased variance over the reduced axes, accumulated batch by
    batch for an iterable of batches (merged exactly: the pooled variance adds the spread of the batch
    means). Adapted statistics live in non-trainable weights ``mean``, ``variance`` and ``count``.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, numpy.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (list, tuple)):
            axis = tuple(_check_int_axis("Normalization", a) for a in axis)
        else:
            raise TypeError(f"Normalization: expected an int, a tuple of ints or None for `axis`, received {axis!r}")
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization: when setting values directly, both `mean` and `variance` must be set; "
                             f"received mean={mean!r} and variance={variance!r}")
        if mean is not None:
            if numpy.shape(mean) != numpy.shape(variance):
                raise ValueError(f"Normalization: expected `mean` and `variance` of the same shape, received "
                                 f"shapes {numpy.shape(mean)} and {numpy.shape(variance)}")
            if numpy.ndim(mean) > len(self.axis):
                raise ValueError(f"Normalization: the rank of `mean` must be at most the number of axes "
                                 f"({len(self.axis)}); received mean of shape {numpy.shape(mean)} for "
                                 f"axis={self.axis}")
            if numpy.any(numpy.asarray(variance) < 0):
                raise ValueError(f"Normalization: expected a non-negative `variance`, received {variance!r}")

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"Normalization {self.name!r}: all `axis` values must be in [-{ndim}, {ndim}); "
                             f"received axis={self.axis} for inputs of rank {ndim}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"Normalization {self.name!r}: the kept axes must have known sizes; received "
                                 f"axis={self.axis} and input shape {tuple(input_shape)}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._build_shape = tuple(input_shape)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=self._mean_and_var_shape, name="mean", initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(shape=self._mean_and_var_shape, name="variance",
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(shape=(), name="count", dtype="int32", initializer="zeros", trainable=False)
        else:
            self._fixed = tuple(self._broadcast_given(v) for v in (self.input_mean, self.input_variance))
        self.built = True

    def _broadcast_given(self, value):
        """A given mean/variance aligned from the right with the kept axes, broadcast to the stats shape."""
        v = to_backend(value, dtype=self._dtype)  # used as data in call: on the backend
        ndim = len(self._broadcast_shape)
        expanded = [1] * ndim
        for i in range(1, v.ndim + 1):
            expanded[self._keep_axis[-i]] = v.shape[-i]
        try:
            return get_array_module(v).broadcast_to(v.reshape(expanded), self._broadcast_shape).copy()
        except ValueError:
            raise ValueError(f"Normalization {self.name!r}: `mean`/`variance` of shape {v.shape} do not broadcast "
                             f"to the statistics shape {self._mean_and_var_shape} (axis={self.axis})") from None

    def _stats(self):
        if self.input_mean is not None:
            return self._fixed
        return (self.adapt_mean.data.reshape(self._broadcast_shape),
                self.adapt_variance.data.reshape(self._broadcast_shape))

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Compute the mean and the (biased) variance of ``data`` over the reduced axes.

        ``data``: an array or Tensor, or an iterable of batches (arrays, or (x, y) tuples whose x is used).
        Batches are merged exactly: with n the running count, m the batch's, w = m/(n + m) and μ' the new
        mean, μ' = μ·(1 − w) + μ_b·w and σ² ← (σ² + (μ − μ')²)·(1 − w) + (σ²_b + (μ_b − μ')²)·w.
        """
        if self.input_mean is not None:
            raise ValueError(f"Normalization {self.name!r}: adapt() cannot replace the `mean`/`variance` given to "
                             f"the constructor")
        if isinstance(data, (Tensor, numpy.ndarray)):
            batches = iter([numpy.asarray(data)])
        elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
            batches = (numpy.asarray(b[0] if isinstance(b, (tuple, list)) else b) for b in data)
        else:
            raise TypeError(f"Normalization.adapt: expected an array, a Tensor or an iterable of batches, "
                            f"received {type(data).__name__}")
        total_mean = total_var = None
        total = 0
        for batch in batches:
            if not numpy.issubdtype(batch.dtype, numpy.number):
                raise TypeError(f"Normalization {self.name!r}: adapt() expected numeric data, received dtype "
                                f"{batch.dtype}")
            batch = batch.astype(numpy.float64)
            if not self.built:
                self.build(batch.shape)
                self._build_input_shape = (None, *batch.shape[1:])
            if batch.ndim != len(self._build_shape) or any(
                    batch.shape[d] != self._build_shape[d] for d in self._keep_axis):
                raise ValueError(f"Normalization {self.name!r}: the layer was built for inputs of shape "
                                 f"{self._build_shape}, but adapt() received data of shape {batch.shape}")
            bm = batch.mean(axis=self._reduce_axis)
            bv = batch.var(axis=self._reduce_axis)
            m = int(numpy.prod([batch.shape[d] for d in self._reduce_axis]))
            if total_mean is None:
                total_mean, total_var, total = bm, bv, m
                continue
            total += m
            w = m / total
            new_mean = total_mean * (1 - w) + bm * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1 - w) + (bv + (bm - new_mean) ** 2) * w
            total_mean = new_mean
        if total_mean is None:
            raise ValueError(f"Normalization {self.name!r}: adapt() received no data; expected an array or a "
                             f"non-empty iterable of batches")
        self.adapt_mean.assign(numpy.asarray(total_mean, dtype=self.adapt_mean.dtype).reshape(self.adapt_mean.shape))
        self.adapt_variance.assign(numpy.asarray(total_var, dtype=self.adapt_variance.dtype)
                                   .reshape(self.adapt_variance.shape))
        self.count.assign(numpy.asarray(total, dtype=self.count.dtype))

    def call(self, inputs):
        mean, variance = self._stats()
        xp = get_array_module(inputs.data)
        std = xp.maximum(xp.sqrt(variance), _EPSILON).astype(inputs.dtype, copy=False)
        mean = mean.astype(inputs.dtype, copy=False)
        if self.invert:
            return inputs * std + mean
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return numpy.asarray(v).tolist() if v is not None else None

        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}
