"""The digits demo trains a two-layer perceptron by hand-written gradient descent to ≥ 95 % test accuracy."""
from __future__ import annotations

import pytest


def test_digits_mlp_reaches_95_percent_test_accuracy():
    pytest.importorskip("sklearn", reason="the digits come bundled with scikit-learn")
    from neuronka.examples import digits_mlp

    result = digits_mlp.run()
    assert result["test_accuracy"] >= 0.95, result
