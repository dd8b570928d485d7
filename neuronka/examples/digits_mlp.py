"""A two-layer perceptron on scikit-learn's bundled 8×8 digits, trained by plain
gradient descent written out by hand: forward, loss, backward, w ← w − η·dL/dw.
"""
from __future__ import annotations

import time

import numpy

from .. import ops
from ..autograd import Tensor, no_grad


def load_digits_split(seed: int = 0, test_fraction: float = 0.25):
    """Digits as float32 in [0, 1], with a seeded shuffled split."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    d = load_digits()
    x = (d.data / 16.0).astype(numpy.float32)
    y = d.target.astype(numpy.int64)
    idx = numpy.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = idx[:n_test], idx[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def run(epochs: int = 30, batch_size: int = 32, lr: float = 0.1, hidden: int = 64, seed: int = 0,
        verbose: bool = False) -> dict:
    (x_train, y_train), (x_test, y_test) = load_digits_split(seed)
    rng = numpy.random.default_rng(seed)
    # He initialization for the ReLU layer, Xavier/Glorot for the softmax layer
    w1 = Tensor(rng.normal(0, numpy.sqrt(2 / 64), (64, hidden)).astype(numpy.float32), requires_grad=True)
    b1 = Tensor(numpy.zeros(hidden, numpy.float32), requires_grad=True)
    w2 = Tensor(rng.normal(0, numpy.sqrt(2 / (hidden + 10)), (hidden, 10)).astype(numpy.float32), requires_grad=True)
    b2 = Tensor(numpy.zeros(10, numpy.float32), requires_grad=True)
    params = [w1, b1, w2, b2]

    def forward(x):
        h = ops.relu(ops.matmul(x, w1) + b1)  # hidden layer: A(xW + b)
        return ops.matmul(h, w2) + b2  # logits

    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order), batch_size):
            batch = order[i : i + batch_size]
            logits = forward(Tensor(x_train[batch]))
            loss = ops.mean(ops.sparse_categorical_crossentropy(y_train[batch], logits, from_logits=True))
            loss.backward()
            with no_grad():
                for p in params:
                    p.data -= lr * p.grad  # gradient descent: w ← w − η·dL/dw
                    p.grad = None
            total += loss.item() * len(batch)
        if verbose:
            print(f"epoch {epoch + 1:3d}/{epochs}  loss {total / len(x_train):.4f}")
    seconds = time.perf_counter() - start
    with no_grad():
        pred = forward(Tensor(x_test)).numpy().argmax(-1)
    acc = float((pred == y_test).mean())
    if verbose:
        print(f"test accuracy {acc:.4f} on {len(y_test)} held-out digits; trained in {seconds:.1f} s")
    return {"test_accuracy": acc, "seconds": seconds}
