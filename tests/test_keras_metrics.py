"""``neuronka.metrics`` against real Keras 3.15.1 (torch backend).

* every metric class: the same stream of uneven batches (with and without ``sample_weight``) through
  ``update_state`` / ``result`` / ``reset_state`` in Keras and in neuronka (neuronka fed Tensors for y_pred, to
  prove it accepts them), the results equal after every batch and after the reset; ``get_config`` equal;
* the metric functions (rows of ``OpCase``), ``get`` / ``serialize`` / ``deserialize``;
* top-k accuracy on NaN scores (a NaN never counts as a hit), the defect this file was written to fix.
"""
from __future__ import annotations

import re

import numpy
import pytest

import neuronka as nk
from neuronka import metrics

from .keras_oracle import Inputs, OpCase, assert_same, keras_api, keras_or_skip, op_cases, to_numpy

N, C = 20, 4
BATCHES = (slice(0, 5), slice(5, 12), slice(12, N))


# ---- data makers: (y_true, y_pred) of N samples --------------------------------------------------------
def regression(shape=(N, 3), positive=False):
    def make(r: Inputs):
        if positive:
            return r.uniform(shape, 0.1, 3.0), r.uniform(shape, 0.1, 3.0)
        y = r.normal(shape)
        return y, (y + r.normal(shape)).astype("float32")
    return make


def binary(shape=(N, 1), logits=False):
    def make(r: Inputs):
        y = r.ints(shape, 0, 2).astype("float32")
        p = r.normal(shape) * 2 if logits else r.uniform(shape)
        return y, p
    return make


def one_hot(shape=(N, C), logits=False):
    def make(r: Inputs):
        y = numpy.eye(shape[-1], dtype="float32")[r.ints(shape[:-1], 0, shape[-1])]
        return y, (r.normal(shape) * 2 if logits else r.uniform(shape, 0.05, 1.0))
    return make


def sparse(shape=(N, C), trailing_1=False):
    def make(r: Inputs):
        y = r.ints(shape[:-1], 0, shape[-1])
        return (y[..., None] if trailing_1 else y), r.uniform(shape, 0.05, 1.0)
    return make


def multi_label(shape=(N, C)):
    def make(r: Inputs):
        y = r.ints(shape, 0, 2).astype("float32")
        return y, numpy.clip(0.4 * y + 0.6 * r.uniform(shape), 0, 1).astype("float32")
    return make


def correlated_scores(n=N):
    """Binary labels with scores that tend to be higher for positives (so the curves are not trivial)."""
    def make(r: Inputs):
        y = r.ints((n,), 0, 2).astype("float32")
        return y, numpy.clip(0.35 * y + 0.65 * r.uniform((n,)), 0, 1).astype("float32")
    return make


def class_ids(classes=3, shape=(N,), pred_range=None):
    def make(r: Inputs):
        lo, hi = pred_range or (0, classes)
        return r.ints(shape, 0, classes), r.ints(shape, lo, hi)
    return make


def one_hot_ids(classes=3):
    def make(r: Inputs):
        y = numpy.eye(classes, dtype="float32")[r.ints((N,), 0, classes)]
        return y, r.uniform((N, classes))
    return make


def sorted_ids(classes=C):
    def make(r: Inputs):
        scores = r.uniform((N, classes))
        return r.ints((N,), 0, classes), numpy.argsort(-scores, axis=1).astype("float32")
    return make


def values(shape=(N,)):
    def make(r: Inputs):
        return None, r.normal(shape)
    return make


CASES = [  # (class name, constructor kwargs, maker, id)
    ("Mean", {}, values(), ""),
    ("Mean", {}, values((N, 3)), "2d"),
    ("Sum", {}, values((N, 3)), "2d"),
    ("Accuracy", {}, class_ids(), ""),
    ("BinaryAccuracy", {"threshold": 0.3}, binary(), ""),
    ("CategoricalAccuracy", {}, one_hot(), ""),
    ("SparseCategoricalAccuracy", {}, sparse(), ""),
    ("SparseCategoricalAccuracy", {}, sparse(trailing_1=True), "trailing_1"),
    ("TopKCategoricalAccuracy", {"k": 2}, one_hot(), ""),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, sparse(), ""),
    ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True}, sorted_ids(), "from_sorted_ids"),
    ("MeanSquaredError", {}, regression(), ""),
    ("MeanAbsoluteError", {}, regression(), ""),
    ("MeanAbsolutePercentageError", {}, regression(positive=True), ""),
    ("MeanSquaredLogarithmicError", {}, regression(positive=True), ""),
    ("RootMeanSquaredError", {}, regression(), ""),
    ("CosineSimilarity", {}, regression(), ""),
    ("LogCoshError", {}, regression(), ""),
    ("R2Score", {}, regression(), ""),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}, regression(), "adjusted"),
    ("R2Score", {"class_aggregation": None}, regression(), "per_output"),
    ("BinaryCrossentropy", {}, binary(), ""),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, binary((N, 3), logits=True), "logits"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, one_hot(logits=True), ""),
    ("SparseCategoricalCrossentropy", {}, sparse(), ""),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, sparse(), "ignore_class"),
    ("KLDivergence", {}, one_hot(), ""),
    ("Poisson", {}, regression(positive=True), ""),
    ("Hinge", {}, binary((N, 3), logits=True), ""),
    ("SquaredHinge", {}, binary((N, 3), logits=True), ""),
    ("CategoricalHinge", {}, one_hot(logits=True), ""),
    ("PearsonCorrelation", {}, regression((N, 5)), ""),
    ("ConcordanceCorrelation", {}, regression((N, 5)), ""),
    ("TruePositives", {}, binary(), ""),
    ("FalsePositives", {"thresholds": [0.2, 0.5, 0.9]}, binary(), "thresholds"),
    ("TrueNegatives", {}, binary((N, 3)), ""),
    ("FalseNegatives", {"thresholds": [0.0, 0.5, 1.0]}, binary(), "even_thresholds"),
    ("Precision", {}, binary(), ""),
    ("Precision", {"thresholds": [0.3, 0.6]}, binary((N, 3)), "thresholds"),
    ("Precision", {"top_k": 2}, one_hot(), "top_k"),
    ("Precision", {"class_id": 2, "thresholds": 0.4}, one_hot(), "class_id"),
    ("Recall", {}, binary(), ""),
    ("Recall", {"top_k": 1, "class_id": 1}, one_hot(), "top_k_class_id"),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, correlated_scores(), ""),
    ("SpecificityAtSensitivity", {"sensitivity": 0.6, "num_thresholds": 30}, correlated_scores(), ""),
    ("PrecisionAtRecall", {"recall": 0.5, "num_thresholds": 1}, correlated_scores(), "one_threshold"),
    ("PrecisionAtRecall", {"recall": 0.5}, correlated_scores(), ""),
    ("RecallAtPrecision", {"precision": 0.6, "class_id": 1}, multi_label(), "class_id"),
    ("AUC", {}, correlated_scores(), ""),
    ("AUC", {"curve": "PR"}, correlated_scores(), "pr"),
    ("AUC", {"curve": "PR", "summation_method": "majoring", "num_thresholds": 50}, correlated_scores(), "pr_majoring"),
    ("AUC", {"curve": "PRGAIN", "summation_method": "minoring"}, correlated_scores(), "prgain"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.8]}, correlated_scores(), "given_thresholds"),
    ("AUC", {"from_logits": True, "label_weights": [1.0, 0.5, 2.0, 0.0]}, multi_label(), "logits_label_weights"),
    ("AUC", {"multi_label": True}, multi_label(), "multi_label"),
    ("AUC", {"multi_label": True, "num_labels": C, "label_weights": [1.0, 0.5, 2.0, 0.0], "curve": "PR"},
     multi_label(), "multi_label_weighted_pr"),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, class_ids(pred_range=(-1, 4)), ""),
    ("IoU", {"num_classes": 3, "target_class_ids": [1], "dtype": "float32", "ignore_class": 0}, class_ids(),
     "float_ignore_class"),
    ("MeanIoU", {"num_classes": 3}, class_ids(), ""),
    ("BinaryIoU", {"threshold": 0.3}, binary(), ""),
    ("BinaryIoU", {"target_class_ids": [1], "dtype": "float32"}, binary(), "class_1"),
    ("OneHotIoU", {"num_classes": 3, "target_class_ids": [0, 1]}, one_hot_ids(), ""),
    ("OneHotMeanIoU", {"num_classes": 3, "dtype": "float32"}, one_hot_ids(), ""),
    ("F1Score", {}, one_hot(), ""),
    ("F1Score", {"average": "micro", "threshold": 0.5}, multi_label(), "micro"),
    ("F1Score", {"average": "macro", "threshold": 0.4}, multi_label(), "macro"),
    ("FBetaScore", {"average": "weighted", "beta": 2.0}, one_hot(), "weighted"),
]
IDS = [f"{c[0]}[{c[3]}]" if c[3] else c[0] for c in CASES]


def stream(metric, y_true, y_pred, weights, as_tensor: bool):
    """Results after each batch, then after reset_state."""
    out = []
    for sl in BATCHES:
        w = None if weights is None else weights[sl]
        p = nk.Tensor(y_pred[sl]) if as_tensor else y_pred[sl]
        if y_true is None:
            metric.update_state(p, sample_weight=w)
        else:
            metric.update_state(y_true[sl], p, sample_weight=w)
        out.append(numpy.array(to_numpy(metric.result())))  # a copy: Keras's result can be its variable itself
    metric.reset_state()
    out.append(numpy.array(to_numpy(metric.result())))
    return out


@pytest.mark.filterwarnings("ignore:You are passing weight as `float`")
@pytest.mark.filterwarnings("ignore:More independent predictors than datapoints")  # R2Score after its reset
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,kwargs,make,case_id", [
    pytest.param(*c, id=i, marks=keras_api(f"metrics.{c[0]}")) for c, i in zip(CASES, IDS)])
def test_metric_stream_matches_keras(name, kwargs, make, case_id, weighted):
    keras = keras_or_skip()
    r = Inputs(7)
    y_true, y_pred = make(r)
    weights = r.uniform((N,), 0.0, 2.0) if weighted else None
    if weighted and name in ("IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU") \
            and "dtype" not in kwargs:
        weights = r.ints((N,), 0, 3).astype("float32")  # int confusion matrix: whole weights
    expected = stream(getattr(keras.metrics, name)(**kwargs), y_true, y_pred, weights, as_tensor=False)
    actual = stream(getattr(metrics, name)(**kwargs), y_true, y_pred, weights, as_tensor=True)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_same(a, e, rtol=1e-4, atol=1e-5, what=f"{name} after {'reset' if i == len(BATCHES) else f'batch {i}'}")


@pytest.mark.filterwarnings("ignore:You are passing weight as `float`")
@keras_api("metrics.IoU")
def test_iou_truncates_fractional_weights_in_its_default_int_dtype_as_keras():
    keras = keras_or_skip()
    y, p = class_ids()(Inputs(3))
    w = numpy.linspace(0.2, 2.9, N).astype("float32")
    ours, theirs = metrics.IoU(3, [0, 1, 2]), keras.metrics.IoU(3, [0, 1, 2])
    ours.update_state(y, p, sample_weight=w)
    theirs.update_state(y, p, sample_weight=w)
    assert_same(ours.result(), theirs.result(), rtol=1e-6)
    assert_same(ours.total_cm, theirs.total_cm.value)


@keras_api("metrics.Precision", "metrics.Recall", "metrics.AUC")
def test_call_updates_and_returns_the_result_as_keras():
    keras = keras_or_skip()
    y, p = correlated_scores()(Inputs(2))
    for name in ("Precision", "Recall", "AUC"):
        ours, theirs = getattr(metrics, name)(), getattr(keras.metrics, name)()
        for sl in BATCHES:
            assert_same(ours(y[sl], p[sl]), theirs(y[sl], p[sl]), rtol=1e-5, what=name)


@keras_api("metrics.MeanMetricWrapper")
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_mean_metric_wrapper_of_a_loss_function_matches_keras(weighted):
    keras = keras_or_skip()
    r = Inputs(5)
    y, p = regression((N, 3, 2))(r)
    w = r.uniform((N, 3)) if weighted else None
    expected = stream(keras.metrics.MeanMetricWrapper(keras.losses.huber, delta=0.5), y, p, w, as_tensor=False)
    actual = stream(metrics.MeanMetricWrapper(nk.losses.huber, delta=0.5), y, p, w, as_tensor=True)
    assert_same(actual, expected, rtol=1e-5)
    ours = metrics.MeanMetricWrapper(nk.losses.huber, delta=0.5)
    theirs = keras.metrics.MeanMetricWrapper(keras.losses.huber, delta=0.5)
    keras_config = theirs.get_config()
    same_name(ours.get_config(), keras_config)
    assert ours.get_config() == keras_config
    clone = metrics.MeanMetricWrapper.from_config(keras_config)
    assert clone._fn is nk.losses.huber and clone.get_config() == ours.get_config()


@keras_api("metrics.Metric")
def test_a_subclass_of_metric_runs_the_same_stream_as_in_keras():
    keras = keras_or_skip()

    class KerasLargest(keras.metrics.Metric):
        def __init__(self, name="largest", dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.top = self.add_variable(shape=(), initializer="zeros", name="top")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.top.assign(keras.ops.maximum(self.top, keras.ops.max(keras.ops.abs(y_pred - y_true))))

        def result(self):
            return self.top.value

    class Largest(metrics.Metric):
        def __init__(self, name="largest", dtype=None):
            super().__init__(name=name, dtype=dtype)

        def reset_state(self):
            self.top = numpy.float32(0.0)

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.top = max(self.top, numpy.abs(numpy.asarray(y_pred) - y_true).max())

        def result(self):
            return numpy.float32(self.top)

    y, p = regression()(Inputs(1))
    assert_same(stream(Largest(), y, p, None, as_tensor=True), stream(KerasLargest(), y, p, None, as_tensor=False))
    assert Largest().get_config() == KerasLargest().get_config()


# ---- configs -------------------------------------------------------------------------------------------
# arguments Keras's get_config leaves out (so its round trip loses them); neuronka keeps them
KERAS_DROPS = {"CosineSimilarity": {"axis"}}
CONFIGURED = [(c[0], c[1]) for c in CASES] + [
    ("Mean", {"name": "m", "dtype": "float64"}),
    ("BinaryAccuracy", {"name": "acc", "threshold": 0.7}),
    ("CosineSimilarity", {"axis": 1}),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2, "axis": 1}),
    ("SensitivityAtSpecificity", {"specificity": 0.3, "num_thresholds": 10, "class_id": 1}),
    ("IoU", {"num_classes": 4, "target_class_ids": (1, 3), "sparse_y_true": False, "axis": 1}),
]


@pytest.mark.filterwarnings("ignore:You are passing weight as `float`")
@pytest.mark.parametrize("name,kwargs", [
    pytest.param(*c, id=f"{c[0]}-{i}", marks=keras_api(f"metrics.{c[0]}", "metrics.serialize", "metrics.deserialize"))
    for i, c in enumerate(CONFIGURED)])
def test_metric_config_and_serialization_match_keras(name, kwargs):
    keras = keras_or_skip()
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    mine, keras_config = ours.get_config(), to_plain(theirs.get_config())
    same_name(mine, keras_config)
    assert set(mine) - set(keras_config) <= KERAS_DROPS.get(name, set()), f"{name}: {mine} vs {keras_config}"
    assert {k: mine[k] for k in keras_config} == keras_config
    s_ours, s_theirs = metrics.serialize(ours), to_plain(keras.metrics.serialize(theirs))
    assert {k: v for k, v in s_ours.items() if k != "config"} == {k: v for k, v in s_theirs.items() if k != "config"}
    clone = metrics.deserialize(s_theirs)  # Keras's own dict
    assert type(clone) is type(ours) and {k: clone.get_config()[k] for k in keras_config if k != "name"} == {
        k: v for k, v in keras_config.items() if k != "name"}
    assert metrics.deserialize(s_ours).get_config() == mine


def same_name(mine: dict, keras_config: dict):
    """Keras makes automatic names unique with a counter ("io_u_2"); neuronka keeps the plain snake-case name.
    Check that, then make the two configs' names equal for the comparisons that follow."""
    assert re.fullmatch(re.escape(mine["name"]) + r"(_\d+)?", keras_config["name"]), (mine, keras_config)
    keras_config["name"] = mine["name"]


def to_plain(value):
    """Keras's configs as plain Python (numbers in lists, tensors as lists)."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value] if isinstance(value, list) else tuple(to_plain(v) for v in value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy().tolist()
    return value


# ---- functions, get --------------------------------------------------------------------------------------
def mrow(name, make, kwargs=None, id="", **kw):
    return OpCase(f"metrics.{name}", make, kwargs or {}, id=id, **kw)


FUNCTION_CASES = [
    mrow("binary_accuracy", binary((N, 3))),
    mrow("binary_accuracy", lambda r: (r.ints((N,), 0, 2), r.uniform((N, 1))), {"threshold": 0.7}, id="rank_1_labels"),
    mrow("categorical_accuracy", one_hot()),
    mrow("categorical_accuracy", one_hot((2, 5, C)), id="3d"),
    mrow("sparse_categorical_accuracy", sparse()),
    mrow("sparse_categorical_accuracy", sparse(trailing_1=True), id="trailing_1"),
    mrow("sparse_categorical_accuracy", lambda r: (r.ints((N,), 0, C).astype("float32"), r.uniform((N, C))),
         id="float_labels"),
    mrow("top_k_categorical_accuracy", one_hot(), {"k": 2}),
    mrow("top_k_categorical_accuracy", one_hot((2, 5, C)), {"k": 3}, id="3d"),
    mrow("sparse_top_k_categorical_accuracy", sparse(), {"k": 3}),
    mrow("sparse_top_k_categorical_accuracy", sparse((2, 5, C), trailing_1=True), {"k": 1}, id="3d_trailing_1"),
    mrow("sparse_top_k_categorical_accuracy", sorted_ids(), {"k": 2, "from_sorted_ids": True}, id="from_sorted_ids"),
    mrow("pearson_correlation", regression((N, 5)), grad=(1,), rtol=1e-4, atol=1e-5),
    mrow("pearson_correlation", regression((3, 6, 4)), {"axis": 1}, id="axis1", grad=(1,), rtol=1e-4, atol=1e-5),
    mrow("concordance_correlation", regression((N, 5)), grad=(1,), rtol=1e-4, atol=1e-5),
    mrow("concordance_correlation", regression((3, 6, 4)), {"axis": 1}, id="axis1", grad=(1,), rtol=1e-4,
         atol=1e-5),
    mrow("huber", regression(), {"delta": 0.5}, grad=(1,)),
    mrow("log_cosh", regression(), grad=(1,)),
]


@op_cases(FUNCTION_CASES)
def test_metric_function_matches_keras(case):
    case.run()


GET_NAMES = ["accuracy", "mse", "MSE", "mae", "mape", "msle", "bce", "precision", "Recall", "auc", "AUC",
             "binary_accuracy", "sparse_top_k_categorical_accuracy", "f1_score", "r2_score", "io_u", "mean_io_u",
             "log_cosh_error", "MeanSquaredLogarithmicError", "pearson_correlation", "sum"]


@keras_api("metrics.get")
def test_get_resolves_the_names_keras_resolves():
    keras = keras_or_skip()
    for name in GET_NAMES:
        if name in ("io_u", "mean_io_u"):  # constructors with required arguments: the class is what resolves
            assert metrics.objects.ALL_OBJECTS[name].__name__ == keras.metrics.get.__globals__[
                "ALL_OBJECTS_DICT"][name].__name__
            continue
        assert type(metrics.get(name)).__name__ == type(keras.metrics.get(name)).__name__, name
    config = {"class_name": "Precision", "config": {"thresholds": [0.2, 0.6], "name": "p"}}
    assert metrics.get(config).get_config() == to_plain(keras.metrics.get(config).get_config())
    m = metrics.AUC()
    assert metrics.get(m) is m and metrics.get(None) is None and keras.metrics.get(None) is None
    with pytest.raises(ValueError):
        keras.metrics.get("acuracy")
    with pytest.raises(ValueError, match="Could not interpret metric identifier: 'acuracy'"):
        metrics.get("acuracy")


@keras_api("metrics.serialize", "metrics.deserialize")
def test_metric_functions_serialize_as_keras():
    keras = keras_or_skip()
    for name in ("binary_accuracy", "sparse_top_k_categorical_accuracy", "pearson_correlation", "huber", "poisson"):
        assert metrics.serialize(getattr(metrics, name)) == keras.metrics.serialize(getattr(keras.metrics, name))
    assert metrics.deserialize("MeanSquaredError").get_config() == keras.metrics.deserialize(
        "MeanSquaredError").get_config()


# ---- the NaN defect: NaN scores are never in the top k ----------------------------------------------------
NAN_SCORES = numpy.array([[numpy.nan] * C, [0.1, numpy.nan, 0.2, 0.3], [0.1, numpy.nan, 0.2, 0.3],
                          [numpy.nan, 0.3, numpy.nan, numpy.nan], [0.4, 0.3, 0.2, 0.1]], "float32")
NAN_LABELS = numpy.array([2, 1, 3, 0, 0])


@keras_api("metrics.SparseTopKCategoricalAccuracy", "metrics.TopKCategoricalAccuracy",
           "metrics.sparse_top_k_categorical_accuracy", "metrics.top_k_categorical_accuracy")
@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_never_counts_a_nan_score_as_a_hit(k):
    keras = keras_or_skip()
    one_hot_labels = numpy.eye(C, dtype="float32")[NAN_LABELS]
    assert_same(metrics.sparse_top_k_categorical_accuracy(NAN_LABELS, NAN_SCORES, k=k),
                keras.metrics.sparse_top_k_categorical_accuracy(NAN_LABELS, NAN_SCORES, k=k))
    assert_same(metrics.top_k_categorical_accuracy(one_hot_labels, NAN_SCORES, k=k),
                keras.metrics.top_k_categorical_accuracy(one_hot_labels, NAN_SCORES, k=k))
    all_nan = numpy.full((3, C), numpy.nan, "float32")
    for cls, labels in ((metrics.SparseTopKCategoricalAccuracy, NAN_LABELS[:3]),
                        (metrics.TopKCategoricalAccuracy, one_hot_labels[:3])):
        m = cls(k=k)
        m.update_state(labels, all_nan)
        assert float(m.result()) == 0.0, f"{cls.__name__}: all-NaN scores counted as hits"


# ---- errors ------------------------------------------------------------------------------------------------
ERRORS = [
    ("AUC curve", lambda M: M.AUC(curve="XY")),
    ("AUC summation", lambda M: M.AUC(summation_method="trapezoid")),
    ("AUC num_thresholds", lambda M: M.AUC(num_thresholds=1)),
    ("AUC num_labels without multi_label", lambda M: M.AUC(num_labels=3)),
    ("thresholds out of range", lambda M: M.Precision(thresholds=[0.5, 1.5])),
    ("specificity out of range", lambda M: M.SensitivityAtSpecificity(1.5)),
    ("num_thresholds 0", lambda M: M.PrecisionAtRecall(0.5, num_thresholds=0)),
    ("IoU target id out of range", lambda M: M.IoU(3, [0, 3])),
    ("FBeta average", lambda M: M.FBetaScore(average="mean")),
    ("FBeta integer beta", lambda M: M.FBetaScore(beta=2)),
    ("FBeta threshold above 1", lambda M: M.F1Score(threshold=1.5)),
    ("R2 class_aggregation", lambda M: M.R2Score(class_aggregation="median")),
    ("R2 negative regressors", lambda M: M.R2Score(num_regressors=-1)),
]


@pytest.mark.parametrize("what,call", ERRORS, ids=[e[0] for e in ERRORS])
def test_invalid_arguments_raise_value_error_as_in_keras(what, call):
    keras = keras_or_skip()
    with pytest.raises(ValueError):
        call(keras.metrics)
    with pytest.raises(ValueError):
        call(metrics)


@pytest.mark.parametrize("name", ["F1Score", "R2Score"])
def test_non_2d_inputs_are_rejected_with_both_shapes(name):
    with pytest.raises(ValueError, match=r"expects 2D inputs.*y_pred.shape=\(4,\)"):
        getattr(metrics, name)().update_state(numpy.ones(4), numpy.ones(4))
