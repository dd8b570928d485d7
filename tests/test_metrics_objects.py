"""Keras metric objects against closed forms (NumPy) and scikit-learn, over several batches with sample weights."""
from __future__ import annotations

import numpy
import pytest

from neuronka import metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")

RNG = numpy.random.default_rng(7)
N, C = 60, 5
LABELS = RNG.integers(0, C, N)
ONE_HOT = numpy.eye(C, dtype="float32")[LABELS]
SCORES = RNG.random((N, C)).astype("float32")
PROBS = SCORES / SCORES.sum(-1, keepdims=True)
BIN_TRUE = RNG.integers(0, 2, (N, 1)).astype("float32")
BIN_PRED = RNG.random((N, 1)).astype("float32")
REG_TRUE = RNG.standard_normal((N, 3)).astype("float32")
REG_PRED = RNG.standard_normal((N, 3)).astype("float32")
WEIGHTS = RNG.random(N).astype("float32")


def _wmean(values, w=None):
    return float(numpy.average(values, weights=w))


def _top_k(labels, scores, k):
    target = scores[numpy.arange(len(labels)), labels]
    return ((scores > target[:, None]).sum(-1) < k).astype(float)


# (metric factory, y_true, y_pred, expected(weights or None))
CASES = {
    "accuracy": (metrics.Accuracy, LABELS, PROBS.argmax(-1),
                 lambda w: _wmean(LABELS == PROBS.argmax(-1), w)),
    "binary_accuracy": (lambda: metrics.BinaryAccuracy(threshold=0.3), BIN_TRUE, BIN_PRED,
                        lambda w: _wmean((BIN_TRUE[:, 0] == (BIN_PRED[:, 0] > 0.3)), w)),
    "categorical_accuracy": (metrics.CategoricalAccuracy, ONE_HOT, PROBS,
                             lambda w: sklearn_metrics.accuracy_score(LABELS, PROBS.argmax(-1), sample_weight=w)),
    "sparse_categorical_accuracy": (metrics.SparseCategoricalAccuracy, LABELS, PROBS,
                                    lambda w: sklearn_metrics.accuracy_score(LABELS, PROBS.argmax(-1),
                                                                             sample_weight=w)),
    "sparse_labels_with_trailing_axis": (metrics.SparseCategoricalAccuracy, LABELS[:, None], PROBS,
                                         lambda w: _wmean(LABELS == PROBS.argmax(-1), w)),
    "top_k": (lambda: metrics.TopKCategoricalAccuracy(k=2), ONE_HOT, PROBS,
              lambda w: sklearn_metrics.top_k_accuracy_score(LABELS, PROBS, k=2, sample_weight=w,
                                                             labels=range(C))),
    "sparse_top_k": (lambda: metrics.SparseTopKCategoricalAccuracy(k=3), LABELS, PROBS,
                     lambda w: _wmean(_top_k(LABELS, PROBS, 3), w)),
    "mse": (metrics.MeanSquaredError, REG_TRUE, REG_PRED,
            lambda w: _wmean(((REG_TRUE - REG_PRED) ** 2).mean(-1), w)),
    "mae": (metrics.MeanAbsoluteError, REG_TRUE, REG_PRED,
            lambda w: _wmean(numpy.abs(REG_TRUE - REG_PRED).mean(-1), w)),
    "rmse": (metrics.RootMeanSquaredError, REG_TRUE, REG_PRED,
             lambda w: numpy.sqrt(_wmean(((REG_TRUE - REG_PRED) ** 2).mean(-1), w))),
    "precision": (metrics.Precision, BIN_TRUE, BIN_PRED,
                  lambda w: sklearn_metrics.precision_score(BIN_TRUE[:, 0], BIN_PRED[:, 0] > 0.5, sample_weight=w)),
    "recall": (metrics.Recall, BIN_TRUE, BIN_PRED,
               lambda w: sklearn_metrics.recall_score(BIN_TRUE[:, 0], BIN_PRED[:, 0] > 0.5, sample_weight=w)),
    "precision_threshold": (lambda: metrics.Precision(thresholds=0.7), BIN_TRUE, BIN_PRED,
                            lambda w: sklearn_metrics.precision_score(BIN_TRUE[:, 0], BIN_PRED[:, 0] > 0.7,
                                                                      sample_weight=w)),
    "recall_class_id": (lambda: metrics.Recall(class_id=2), ONE_HOT, PROBS,
                        lambda w: sklearn_metrics.recall_score(LABELS == 2, PROBS[:, 2] > 0.5, sample_weight=w,
                                                               zero_division=0)),
    "precision_top_1": (lambda: metrics.Precision(top_k=1), ONE_HOT, PROBS,
                        lambda w: sklearn_metrics.accuracy_score(LABELS, PROBS.argmax(-1), sample_weight=w)),
    "mean": (metrics.Mean, None, REG_PRED[:, 0], lambda w: _wmean(REG_PRED[:, 0], w)),
}


def _run(factory, y_true, y_pred, weights):
    m = factory()
    for sl in (slice(0, 25), slice(25, 41), slice(41, N)):  # running state across uneven batches
        w = None if weights is None else weights[sl]
        if y_true is None:
            m.update_state(y_pred[sl], sample_weight=w)
        else:
            m.update_state(y_true[sl], y_pred[sl], sample_weight=w)
    return m


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_metric_matches_closed_form_over_batches(case, weighted):
    factory, y_true, y_pred, expected = CASES[case]
    w = WEIGHTS if weighted else None
    m = _run(factory, y_true, y_pred, w)
    numpy.testing.assert_allclose(float(m.result()), expected(w), rtol=1e-5, atol=1e-6)
    m.reset_state()
    assert float(m.result()) == 0.0


@pytest.mark.parametrize("case", sorted(CASES))
def test_metric_config_round_trip(case):
    factory = CASES[case][0]
    m = factory()
    clone = type(m).from_config(m.get_config())
    assert clone.get_config() == m.get_config()
    assert clone.name == m.name


def test_precision_with_several_thresholds_gives_one_value_each():
    m = metrics.Precision(thresholds=[0.2, 0.5, 0.8])
    m.update_state(BIN_TRUE, BIN_PRED)
    expected = [sklearn_metrics.precision_score(BIN_TRUE[:, 0], BIN_PRED[:, 0] > t) for t in (0.2, 0.5, 0.8)]
    numpy.testing.assert_allclose(m.result(), expected, rtol=1e-6)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_auc_close_to_sklearn(curve):
    y = RNG.integers(0, 2, 500)
    p = numpy.clip(y * 0.3 + RNG.random(500) * 0.7, 0, 1)
    m = metrics.AUC(curve=curve, num_thresholds=1000)
    m.update_state(y[:200], p[:200])
    m.update_state(y[200:], p[200:])
    if curve == "ROC":
        expected = sklearn_metrics.roc_auc_score(y, p)
    else:
        expected = sklearn_metrics.average_precision_score(y, p)
    numpy.testing.assert_allclose(float(m.result()), expected, atol=0.02)


def test_metric_call_updates_and_returns_result():
    m = metrics.BinaryAccuracy()
    assert float(m([[1], [0]], [[0.9], [0.8]])) == 0.5
    assert float(m([[1]], [[0.9]])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("name, cls", [("accuracy", metrics.Accuracy), ("acc", metrics.Accuracy),
                                       ("mse", metrics.MeanSquaredError), ("mae", metrics.MeanAbsoluteError),
                                       ("precision", metrics.Precision), ("Recall", metrics.Recall),
                                       ("auc", metrics.AUC), ("sparse_top_k_categorical_accuracy",
                                                              metrics.SparseTopKCategoricalAccuracy)])
def test_get_resolves_names(name, cls):
    assert isinstance(metrics.get(name), cls)


def test_get_wraps_a_function_and_names_it():
    def half_abs(y_true, y_pred):
        return numpy.abs(y_true - y_pred).mean(-1) / 2

    m = metrics.get(half_abs)
    assert m.name == "half_abs"
    m.update_state(REG_TRUE, REG_PRED)
    numpy.testing.assert_allclose(float(m.result()), numpy.abs(REG_TRUE - REG_PRED).mean() / 2, rtol=1e-5)


def test_get_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 'acuracy'.*accuracy"):
        metrics.get("acuracy")


def test_thresholds_out_of_range_are_rejected():
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])


def test_crossentropy_metric_matches_the_loss_formula():
    m = metrics.SparseCategoricalCrossentropy()
    m.update_state(LABELS, PROBS)
    expected = -numpy.log(numpy.clip(PROBS[numpy.arange(N), LABELS], 1e-7, 1)).mean()
    numpy.testing.assert_allclose(float(m.result()), expected, rtol=1e-5)
