"""End to end: a Keras-style MLP script on scikit-learn's bundled 8×8 digits reaches ≥ 95 % test accuracy."""
from __future__ import annotations

import numpy
import pytest

from neuronka import initializers, layers
from neuronka.models import Sequential

pytest.importorskip("sklearn")


def test_sequential_mlp_on_digits_reaches_95_percent():
    from neuronka.examples.digits_mlp import load_digits_split

    numpy.random.seed(0)
    initializers.set_seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits_split(seed=0)
    model = Sequential([
        layers.Input((64,)),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=30, validation_split=0.1, verbose=0)
    assert history.history["accuracy"][-1] > history.history["accuracy"][0]
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    assert acc >= 0.95, f"test accuracy {acc:.4f} < 0.95 (loss {loss:.4f})"
    pred = model.predict(x_test, verbose=0).argmax(-1)
    assert (pred == y_test).mean() == pytest.approx(acc)
