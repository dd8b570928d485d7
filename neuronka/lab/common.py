"""Small helpers the experiments share: an MLP builder, per-layer gradient norms and activations at a batch,
and a compiled ``fit`` that returns the history as plain lists."""
from __future__ import annotations

import numpy

from .. import initializers, layers, ops, optimizers
from .. import random as nk_random
from ..autograd import Tensor, no_grad
from ..models import Sequential


def initializer(name: str, seed: int):
    """An initializer by the lab's short names: normal1 = N(0, 1), normal001 = N(0, 0.01²), or a Keras name
    (glorot_normal, he_normal, ...), seeded."""
    if name == "normal1":
        return initializers.RandomNormal(stddev=1.0, seed=seed)
    if name == "normal001":
        return initializers.RandomNormal(stddev=0.01, seed=seed)
    classes = {"glorot_uniform": initializers.GlorotUniform, "glorot_normal": initializers.GlorotNormal,
               "he_normal": initializers.HeNormal, "he_uniform": initializers.HeUniform,
               "lecun_normal": initializers.LecunNormal}
    if name not in classes:
        raise ValueError(f"lab: unknown initializer {name!r}; expected normal1, normal001 or one of {sorted(classes)}")
    return classes[name](seed=seed)


def mlp(inputs: int, width: int, depth: int, classes: int, activation="relu", init: str = "glorot_uniform",
        seed: int = 0, batch_norm: bool = False, bn_momentum: float = 0.9, kernel_regularizer=None,
        name: str | None = None) -> Sequential:
    """``depth`` Dense layers in all: depth − 1 hidden layers of ``width`` units with ``activation`` (a name, or a
    layer factory such as ``lambda: LeakyReLU(0.1)``), then a linear layer of ``classes`` logits. With
    ``batch_norm`` each hidden layer is Dense → BatchNormalization(``bn_momentum``) → activation (0.9, not Keras's
    0.99, so the moving statistics used at inference have settled within the lab's short runs)."""
    stack = [layers.Input((inputs,))]
    for i in range(depth - 1):
        stack.append(layers.Dense(width, kernel_initializer=initializer(init, seed + i),
                                  kernel_regularizer=kernel_regularizer, name=f"dense_{i + 1}"))
        if batch_norm:
            stack.append(layers.BatchNormalization(momentum=bn_momentum, name=f"bn_{i + 1}"))
        if activation is not None:
            stack.append(layers.Activation(activation, name=f"act_{i + 1}") if isinstance(activation, str)
                         else activation())
    stack.append(layers.Dense(classes, kernel_initializer=initializer(init, seed + depth),
                              kernel_regularizer=kernel_regularizer, name=f"dense_{depth}"))
    return Sequential(stack, name=name)


def dense_layers(model) -> list:
    return [lay for lay in model.layers if isinstance(lay, layers.Dense)]


def gradient_norms(model, x, y) -> list[float]:
    """‖∂L/∂W_l‖ (Frobenius) of every Dense kernel, first layer first, for the mean cross-entropy on (x, y)."""
    for v in model.trainable_weights:
        v.grad = None
    logits = model(Tensor(x), training=True)
    loss = ops.mean(ops.sparse_categorical_crossentropy(y, logits, from_logits=True))
    loss.backward()
    norms = [float(numpy.linalg.norm(lay.kernel.grad)) for lay in dense_layers(model)]
    for v in model.trainable_weights:
        v.grad = None
    return norms


def activations(model, x) -> list[numpy.ndarray]:
    """The output of every hidden activation layer (after the nonlinearity), in inference mode."""
    outs, h = [], Tensor(x)
    with no_grad():
        for lay in model.layers:
            h = lay(h, training=False)
            if not isinstance(lay, (layers.Dense, layers.BatchNormalization)):
                outs.append(h.numpy())
    return outs


def fit(model, x, y, x_val=None, y_val=None, *, epochs: int, lr: float, batch_size: int = 64, optimizer: str = "sgd",
        seed: int = 0, loss=None, callbacks=None, momentum: float = 0.9) -> dict[str, list[float]]:
    """Compile (SGD with momentum or Adam, sparse cross-entropy on logits) and fit; the history as lists."""
    nk_random.set_random_seed(seed)  # the shuffle, dropout and augmentation draws of this run
    opt = optimizers.SGD(lr, momentum=momentum) if optimizer == "sgd" else optimizers.Adam(lr)
    from ..losses import SparseCategoricalCrossentropy  # noqa: PLC0415

    model.compile(optimizer=opt, loss=loss or SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    val = (x_val, y_val) if x_val is not None else None
    hist = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=val, verbose=0, callbacks=callbacks)
    return {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def logits(model, x, batch_size: int = 512) -> numpy.ndarray:
    with no_grad():
        return numpy.concatenate([model(Tensor(x[i:i + batch_size]), training=False).numpy()
                                  for i in range(0, len(x), batch_size)])


def accuracy(model, x, y) -> float:
    return float((logits(model, x).argmax(-1) == y).mean())


def softmax(z: numpy.ndarray) -> numpy.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = numpy.exp(z)
    return e / e.sum(-1, keepdims=True)
