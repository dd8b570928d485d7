"""Classification metrics equal scikit-learn's figures (to 1e-12) on random predictions, with classes never
predicted and never present, and on a real-ish imbalanced case; the report text is scikit-learn's table;
the plots are written as PNG files."""
import subprocess
import sys

import numpy
import pytest

from neuronka.metrics.classification import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    format_report,
    precision_recall_fscore_support,
    top_k_accuracy,
)
from neuronka.metrics.plots import plot_confusion_matrix, plot_history

skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn is the test oracle: pip install -e '.[test]'")


def random_case(seed, k=7, n=60):
    """Random labels over k classes where class k-2 is never predicted and class k-1 never occurs at all."""
    g = numpy.random.default_rng(seed)
    y_true = g.integers(0, k - 1, n)
    y_pred = g.integers(0, k - 2, n)
    return y_true, y_pred


def realish_case(seed=0, k=10, n=2000):
    """An imbalanced 10-class problem and a classifier right 70 % of the time, confusing neighbours otherwise."""
    g = numpy.random.default_rng(seed)
    y_true = g.choice(k, size=n, p=numpy.linspace(2, 0.2, k) / numpy.linspace(2, 0.2, k).sum())
    right = g.random(n) < 0.7
    y_pred = numpy.where(right, y_true, (y_true + g.integers(1, 3, n)) % k)
    scores = g.normal(size=(n, k)) + 3.0 * numpy.eye(k)[y_pred]
    return y_true, y_pred, scores


CASES = [
    ("random, default labels", *random_case(0), None),
    ("random, every class listed", *random_case(1), list(range(7))),
    ("random, a subset of labels", *random_case(2), [3, 0, 6]),
    ("real-ish imbalanced", *realish_case()[:2], None),
    ("strings", numpy.array(["cat", "dog", "cat", "eel"]), numpy.array(["cat", "cat", "dog", "dog"]), None),
]


def assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
        else:
            numpy.testing.assert_allclose(numpy.asarray(a, float), numpy.asarray(b, float), rtol=0, atol=1e-12)


@pytest.mark.parametrize("average", [None, "macro", "weighted", "micro"])
@pytest.mark.parametrize("zero_division", [0, 1, numpy.nan])
@pytest.mark.parametrize("name, y_true, y_pred, labels", CASES, ids=[c[0] for c in CASES])
def test_precision_recall_fscore_support_equals_sklearn(name, y_true, y_pred, labels, average, zero_division):
    ours = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average,
                                           zero_division=zero_division)
    theirs = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average,
                                                 zero_division=zero_division)
    assert_same(ours, theirs)


def test_never_predicted_class_has_precision_zero_division_and_binary_average():
    y_true, y_pred = numpy.array([0, 1, 1, 2]), numpy.array([0, 0, 1, 1])  # class 2 never predicted
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred)
    assert p[2] == 0 and r[2] == 0 and f[2] == 0 and s.tolist() == [1, 2, 1]
    assert precision_recall_fscore_support(y_true, y_pred, zero_division=1)[0][2] == 1
    with pytest.warns(RuntimeWarning, match="precision is ill-defined"):
        precision_recall_fscore_support(y_true, y_pred, zero_division="warn")
    yb_true, yb_pred = numpy.array([0, 1, 1, 0, 1]), numpy.array([1, 1, 0, 0, 1])
    assert_same(precision_recall_fscore_support(yb_true, yb_pred, average="binary"),
                skm.precision_recall_fscore_support(yb_true, yb_pred, average="binary"))
    with pytest.raises(ValueError, match="average"):
        precision_recall_fscore_support(y_true, y_pred, average="samples")


@pytest.mark.parametrize("name, y_true, y_pred, labels", CASES[:4], ids=[c[0] for c in CASES[:4]])
def test_confusion_matrix_and_accuracy_equal_sklearn(name, y_true, y_pred, labels):
    k = 7 if max(y_true.max(), y_pred.max()) < 7 else 10
    cm = confusion_matrix(y_true, y_pred, num_classes=k)
    assert cm.dtype == numpy.int64
    numpy.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=list(range(k))))
    assert accuracy_score(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    assert accuracy_score(y_true, y_pred, normalize=False) == skm.accuracy_score(y_true, y_pred, normalize=False)


def test_confusion_matrix_conventions():
    cm = confusion_matrix([[0], [2]], [[0], [2]])  # (N, 1) labels; size max + 1
    assert cm.shape == (3, 3) and cm.trace() == 2
    onehot = numpy.eye(4)[[1, 3]]
    assert confusion_matrix(onehot, numpy.array([[0.1, 0.9, 0, 0], [0, 0, 0.2, 0.8]]))[1, 1] == 1  # argmax
    with pytest.raises(ValueError, match="num_classes=2"):
        confusion_matrix([0, 3], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="same length"):
        confusion_matrix([0, 1], [0])


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy_equals_sklearn(k):
    y_true, _, scores = realish_case(seed=3)
    ours = top_k_accuracy(y_true, scores, k=k)
    assert ours == pytest.approx(skm.top_k_accuracy_score(y_true, scores, k=k, labels=list(range(10))), abs=1e-12)
    assert top_k_accuracy(numpy.eye(10)[y_true], scores, k=k) == ours  # one-hot labels
    assert top_k_accuracy(y_true, scores, k=10) == 1.0


def test_top_k_ties_count_for_the_true_class():
    assert top_k_accuracy([2], [[0.5, 0.5, 0.5]], k=1) == 1.0


@pytest.mark.parametrize("kwargs", [{}, {"digits": 4}, {"labels": [0, 1, 2]},
                                    {"target_names": [f"class {c}" for c in "abcdefghij"]}])
def test_classification_report_text_and_dict_equal_sklearn(kwargs):
    y_true, y_pred, _ = realish_case(seed=5)
    y_pred = numpy.where(y_pred == 4, 5, y_pred)  # class 4 never predicted
    text = classification_report(y_true, y_pred, **kwargs)
    assert text == skm.classification_report(y_true, y_pred, zero_division=0, **kwargs)
    ours = classification_report(y_true, y_pred, output_dict=True, **kwargs)
    theirs = skm.classification_report(y_true, y_pred, output_dict=True, zero_division=0, **kwargs)
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        if isinstance(value, dict):
            assert list(ours[key]) == list(value)
            numpy.testing.assert_allclose(list(ours[key].values()), list(value.values()), rtol=0, atol=1e-12)
        else:
            assert ours[key] == pytest.approx(value, abs=1e-12)
    assert format_report(ours, digits=kwargs.get("digits", 2)) == text


def test_report_on_random_predictions_with_missing_classes_equals_sklearn():
    y_true, y_pred = random_case(7)
    for labels in (None, list(range(7))):
        assert classification_report(y_true, y_pred, labels=labels) == skm.classification_report(
            y_true, y_pred, labels=labels, zero_division=0)


def test_metrics_never_import_sklearn_at_runtime():
    code = ("import sys, neuronka.metrics.classification, neuronka.metrics.plots, neuronka.datasets; "
            "print([m for m in ('sklearn', 'torch', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # matplotlib too: imported only when a plot is drawn


def test_plots_are_written_as_png(tmp_path):
    history = {"loss": [2.0, 1.2, 0.9], "val_loss": [2.1, 1.4, 1.1], "accuracy": [0.3, 0.55, 0.7],
               "val_accuracy": [0.28, 0.5, 0.62], "learning_rate": [0.1, 0.1, 0.01]}
    y_true, y_pred, _ = realish_case()
    cm = confusion_matrix(y_true, y_pred, num_classes=10)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    paths = [plot_history(history, tmp_path / "history.png"),
             plot_confusion_matrix(cm, names, tmp_path / "cm.png"),
             plot_confusion_matrix(cm, names, tmp_path / "cm_norm.png", normalize=True)]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(numpy.zeros((2, 3)), None, tmp_path / "x.png")


def test_top_k_accuracy_of_a_diverged_model_is_zero_not_one():
    from neuronka.metrics import top_k_accuracy

    scores = numpy.full((4, 10), numpy.nan)
    assert top_k_accuracy([0, 1, 2, 3], scores, k=5) == 0.0
    partly = numpy.arange(40, dtype=float).reshape(4, 10)
    partly[:, :6] = numpy.nan  # six NaN scores rank above the true class 9 (the highest number)
    assert top_k_accuracy([9, 9, 9, 9], partly, k=5) == 0.0
    assert top_k_accuracy([9, 9, 9, 9], partly, k=7) == 1.0


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int8", "bool"])
def test_confusion_matrix_takes_labels_of_any_integer_dtype(dtype):
    t = numpy.array([0, 1, 1, 0, 1], dtype)
    p = numpy.array([1, 1, 0, 0, 1], dtype)
    expected = skm.confusion_matrix(t.astype("int64"), p.astype("int64"))
    numpy.testing.assert_array_equal(confusion_matrix(t, p), expected)
    assert confusion_matrix(t[:0], p[:0]).shape == (0, 0)
