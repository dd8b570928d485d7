"""neuronka: a deep-learning framework written from scratch on NumPy, with Keras 3's API.

``import neuronka as keras`` gives the Keras namespaces (``keras.layers``,
``keras.ops``, ``keras.optimizers``, ``keras.Model``, ...) on neuronka's own engine.
"""
from . import (
    activations,
    applications,
    callbacks,
    config,
    constraints,
    datasets,
    distribution,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    schedules,
    tree,
    utils,
)
from .autograd import Function, Tensor, as_tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .backend import asnumpy, floatx, get_array_module, set_floatx
from .gradcheck import gradcheck
from .layers import Input, InputSpec, Layer, Variable
from .layers.symbolic import KerasTensor
from .losses import Loss
from .metrics import Metric
from .models import Model, Sequential
from .optimizers import Optimizer
from .plotting import plot_activations

__version__ = "0.1.0"
