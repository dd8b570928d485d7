"""Classification metrics on whole label arrays (after ``model.predict``): pure NumPy, scikit-learn's figures.

For each class ``l`` of the label set, with ``tp`` the samples of true class ``l`` predicted ``l``,
``pred`` the samples predicted ``l`` and ``true`` (the support) the samples of true class ``l``:

    precision = tp / pred        recall = tp / true        F1 = 2·tp / (true + pred)

(F1 is the harmonic mean 2·P·R / (P + R) written with counts, so it is defined whenever the class was
predicted or present.) A ratio whose denominator is 0, e.g. the precision of a class never predicted,
takes the value ``zero_division``: 0 by default (what scikit-learn uses after its warning), 1, NaN
(left out of the averages), or ``"warn"`` (0 and a ``RuntimeWarning``).

Averages: ``"macro"`` the plain mean over classes, ``"weighted"`` the mean weighted by support (the
plain mean when every support is 0), ``"micro"`` the ratios of the summed counts (equal to accuracy
when every class is counted), ``"binary"`` the figures of ``pos_label`` alone.

Labels: integer class indices of shape (N,) or (N, 1), or any sortable labels (strings) for the
precision/recall functions and the report; 2-D ``(N, K)`` arrays with K > 1 (one-hot labels,
probabilities, logits) are reduced by ``argmax`` over the last axis. The label set is the sorted union
of the labels seen in ``y_true`` and ``y_pred`` unless ``labels`` is given, as in scikit-learn.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy

_HEADERS = ("precision", "recall", "f1-score", "support")
_AVERAGES = (None, "micro", "macro", "weighted", "binary")


def _as_labels(y, name: str) -> numpy.ndarray:
    """(N,) labels from (N,), (N, 1), or (N, K) one-hot / scores (argmax)."""
    y = numpy.asarray(y)
    if y.ndim == 2:
        y = y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected labels of shape (N,), (N, 1) or (N, K), received shape {y.shape}")
    return y


def _pair(y_true, y_pred) -> tuple[numpy.ndarray, numpy.ndarray]:
    t = _as_labels(y_true, "y_true")
    p = _as_labels(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"expected y_true and y_pred of the same length, received {len(t)} and {len(p)}")
    return t, p


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> numpy.ndarray:
    """The (K, K) int64 confusion matrix: ``cm[i, j]`` = number of samples of true class i predicted j.

    Integer labels in 0..K−1 with ``K = num_classes``, or ``max(y_true, y_pred) + 1`` when not given
    (Keras/TensorFlow's convention; a class absent from both still gets its row and column).
    """
    t, p = _pair(y_true, y_pred)
    for y, name in ((t, "y_true"), (p, "y_pred")):
        if y.size and (y.dtype.kind not in "iub" or y.min() < 0):
            raise ValueError(f"confusion_matrix: expected {name} as non-negative integer class indices, "
                             f"received dtype {y.dtype} with minimum {y.min()!r}")
    top = max(int(y.max()) if y.size else -1 for y in (t, p)) + 1  # (max(initial=-1) overflows uint8)
    k = top if num_classes is None else int(num_classes)
    if top > k:
        raise ValueError(f"confusion_matrix: labels go up to {top - 1}, expected them below num_classes={k}")
    return numpy.bincount(t.astype(numpy.int64) * k + p.astype(numpy.int64), minlength=k * k).reshape(k, k)


def accuracy_score(y_true, y_pred, normalize: bool = True) -> float:
    """Fraction (``normalize=True``) or number of samples whose predicted label equals the true one."""
    t, p = _pair(y_true, y_pred)
    hits = int(numpy.count_nonzero(t == p))
    if not normalize:
        return hits
    return hits / len(t) if len(t) else 0.0


def top_k_accuracy(y_true, scores, k: int = 5, normalize: bool = True) -> float:
    """Fraction of samples whose true class is among the ``k`` highest ``scores`` (N, K).

    A sample counts when fewer than ``k`` classes score strictly higher than its true class (ties count
    in favour of the true class, as Keras's ``in_top_k``); NaN scores rank above every number, and a NaN score
    of the true class is never a hit (a diverged model scores 0, not 1). ``y_true``: class indices (N,) or (N, 1), or
    one-hot (N, K).
    """
    scores = numpy.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"top_k_accuracy: expected scores of shape (N, K), received shape {scores.shape}")
    t = _as_labels(y_true, "y_true").astype(numpy.int64)
    if len(t) != len(scores):
        raise ValueError(f"top_k_accuracy: expected {len(scores)} labels like scores, received {len(t)}")
    if int(k) != k or k < 1:
        raise ValueError(f"top_k_accuracy: expected k a positive integer, received k={k!r}")
    true_score = scores[numpy.arange(len(t)), t]
    rank = numpy.count_nonzero(scores > true_score[:, None], axis=1)  # classes scoring above the true one
    # a NaN score ranks above every number (as the metric objects and Keras count it): a NaN true score is
    # never a hit, and NaN scores of other classes push the true class down
    rank += numpy.count_nonzero(numpy.isnan(scores), axis=1) - numpy.isnan(true_score)
    hits = int(numpy.count_nonzero((rank < k) & ~numpy.isnan(true_score)))
    if not normalize:
        return hits
    return hits / len(t) if len(t) else 0.0


def _zero_division_value(zero_division) -> float:
    if isinstance(zero_division, str):
        if zero_division != "warn":
            raise ValueError(f'expected zero_division 0, 1, numpy.nan or "warn", received {zero_division!r}')
        return 0.0
    z = float(zero_division)
    if not (z in (0.0, 1.0) or math.isnan(z)):
        raise ValueError(f'expected zero_division 0, 1, numpy.nan or "warn", received {zero_division!r}')
    return z


def _divide(num: numpy.ndarray, den: numpy.ndarray, zero_division, what: str) -> numpy.ndarray:
    """num / den, with ``zero_division`` where den == 0."""
    num = numpy.asarray(num, dtype=numpy.float64)
    den = numpy.asarray(den, dtype=numpy.float64)
    zero = den == 0
    out = numpy.divide(num, numpy.where(zero, 1.0, den))
    if numpy.any(zero):
        out[zero] = _zero_division_value(zero_division)
        if zero_division == "warn":
            warnings.warn(f"{what} is ill-defined for {int(zero.sum())} label(s) and set to 0.0 (pass "
                          f"zero_division to choose the value)", RuntimeWarning, stacklevel=3)
    return out


def _nanaverage(a: numpy.ndarray, weights: numpy.ndarray | None) -> float:
    """Mean of ``a`` ignoring NaNs, weighted by ``weights`` unless they sum to 0 (then unweighted)."""
    keep = ~numpy.isnan(a)
    if not keep.any():
        return float("nan")
    a = a[keep]
    if weights is not None:
        w = numpy.asarray(weights, dtype=numpy.float64)[keep]
        if w.sum() != 0:
            return float((a * w).sum() / w.sum())
    return float(a.mean())


def _counts(t: numpy.ndarray, p: numpy.ndarray, labels: numpy.ndarray):
    """Per label: tp (true l and predicted l), pred (predicted l), true (true l), as int64 arrays."""
    n = len(labels)

    def index(y):
        i = numpy.searchsorted(labels, y)
        i_clip = numpy.minimum(i, max(n - 1, 0))
        found = (i < n) & (labels[i_clip] == y) if n else numpy.zeros(len(y), dtype=bool)
        return i_clip, found

    it, ft = index(t)
    ip, fp = index(p)
    true_sum = numpy.bincount(it[ft], minlength=n)
    pred_sum = numpy.bincount(ip[fp], minlength=n)
    tp_sum = numpy.bincount(it[ft & (t == p)], minlength=n)
    return tp_sum, pred_sum, true_sum


def _label_set(t: numpy.ndarray, p: numpy.ndarray, labels) -> tuple[numpy.ndarray, numpy.ndarray | None]:
    """(sorted label array used for counting, the user's order to report in, or None)."""
    if labels is None:
        return numpy.union1d(t, p), None
    given = numpy.asarray(labels)
    if given.ndim != 1:
        raise ValueError(f"expected labels as a 1-D list, received shape {given.shape}")
    return numpy.sort(given), given


def precision_recall_fscore_support(y_true, y_pred, labels: Sequence | None = None, average: str | None = None,
                                    zero_division=0, pos_label=1):
    """Per-class (``average=None``) or averaged precision, recall, F1 and support (scikit-learn's function).

    precision = tp / pred, recall = tp / true, F1 = 2·tp / (true + pred) per class; a zero denominator
    gives ``zero_division`` (default 0: a class never predicted has precision 0). With ``average=None``
    returns arrays ``(precision, recall, f1, support)`` in the order of ``labels`` (default: the sorted
    union of the labels in ``y_true`` and ``y_pred``); with ``"macro"``, ``"weighted"``, ``"micro"`` or
    ``"binary"`` (the class ``pos_label``) returns floats and ``None`` for the support.
    """
    if average not in _AVERAGES:
        raise ValueError(f"precision_recall_fscore_support: expected average in {_AVERAGES}, received "
                         f"average={average!r}")
    _zero_division_value(zero_division)
    t, p = _pair(y_true, y_pred)
    if average == "binary":
        labels = [pos_label]
    sorted_labels, given = _label_set(t, p, labels)
    tp, pred, true = _counts(t, p, sorted_labels)
    if given is not None:  # report in the order the labels were given
        order = numpy.searchsorted(sorted_labels, given)
        tp, pred, true = tp[order], pred[order], true[order]
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    precision = _divide(tp, pred, zero_division, "precision")
    recall = _divide(tp, true, zero_division, "recall")
    f1 = _divide(2 * tp, true + pred, zero_division, "F-score")
    if average is None:
        return precision, recall, f1, true
    weights = true if average == "weighted" else None
    return _nanaverage(precision, weights), _nanaverage(recall, weights), _nanaverage(f1, weights), None


def classification_report(y_true, y_pred, labels: Sequence | None = None, target_names: Sequence[str] | None = None,
                          digits: int = 2, output_dict: bool = False, zero_division=0):
    """Per-class precision, recall, F1 and support, then accuracy, macro and weighted averages.

    Returns the scikit-learn text table (``output_dict=False``) or the same figures as a dict
    ``{class name: {"precision", "recall", "f1-score", "support"}, "accuracy": float, "macro avg": {...},
    "weighted avg": {...}}`` (``output_dict=True``); :func:`format_report` turns that dict into the
    table. Class names are ``target_names`` (one per label, in label order) or the labels as strings.
    When ``labels`` leaves out some labels that occur, the accuracy row becomes ``"micro avg"``.
    Zero-division rule: see :func:`precision_recall_fscore_support` (a class never predicted has
    precision ``zero_division``, 0 by default).
    """
    t, p = _pair(y_true, y_pred)
    sorted_labels, given = _label_set(t, p, labels)
    shown = sorted_labels if given is None else given
    if target_names is None:
        names = [str(label) for label in shown]
    else:
        names = [str(n) for n in target_names]
        if len(names) != len(shown):
            raise ValueError(f"classification_report: expected {len(shown)} target_names (one per label "
                             f"{list(shown)[:10]}), received {len(names)}")
    prec, rec, f1, support = precision_recall_fscore_support(t, p, labels=shown, zero_division=zero_division)
    report: dict = {}
    for name, row in zip(names, zip(prec, rec, f1, support)):
        report[name] = dict(zip(_HEADERS, (float(v) for v in row)))
    # micro averages equal accuracy when every label that occurs is counted
    micro_is_accuracy = given is None or set(numpy.union1d(t, p).tolist()) <= set(given.tolist())
    total = float(support.sum())
    for average in ("micro", "macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(t, p, labels=shown, average=average,
                                                        zero_division=zero_division)
        if average == "micro" and micro_is_accuracy:
            report["accuracy"] = float(ap)
        else:
            report[f"{average} avg"] = dict(zip(_HEADERS, (float(ap), float(ar), float(af), total)))
    return report if output_dict else format_report(report, digits=digits)


def format_report(report: dict, digits: int = 2) -> str:
    """The text table of a :func:`classification_report` dict, laid out as scikit-learn prints it."""
    averages = [k for k in ("accuracy", "micro avg", "macro avg", "weighted avg") if k in report]
    classes = [k for k in report if k not in averages]
    width = max([len(c) for c in classes] + [len("weighted avg"), digits])
    lines = [f"{'':>{width}} " + "".join(f" {h:>9}" for h in _HEADERS), ""]

    def row(name: str, r: dict) -> str:
        nums = "".join(f" {r[h]:>9.{digits}f}" for h in _HEADERS[:3])
        return f"{name:>{width}} {nums} {int(r['support']):>9}"

    lines += [row(c, report[c]) for c in classes]
    lines.append("")
    total = next((report[a]["support"] for a in averages if a != "accuracy"), None)
    if total is None:
        total = sum(report[c]["support"] for c in classes)
    for a in averages:
        if a == "accuracy":
            lines.append(f"{a:>{width}}  {'':>9} {'':>9} {report[a]:>9.{digits}f} {int(total):>9}")
        else:
            lines.append(row(a, report[a]))
    return "\n".join(lines) + "\n"
