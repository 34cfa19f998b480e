"""Metrics: the paper's recognition accuracy (Eq. 14) and the field's UF1 and UAR.

* Accuracy, Eq. (14): correctly predicted samples / all samples (the paper multiplies by
  100; here a fraction, tables show percent).
* UAR (unweighted average recall) and UF1 (unweighted F1): per-class recall and F1
  averaged over the classes *present* in the ground truth, so that a rare class counts as
  much as a frequent one. As the micro-expression field reports them (MEGC), they are
  computed once on the predictions *pooled over all folds* (sum of the per-fold confusion
  matrices, :func:`results.pooled_confusion`), not averaged over folds: a LOSO fold holds
  one subject and often lacks classes.
* Confusion matrices: rows are the true class, columns the predicted class (scikit-learn's
  orientation); the class order is always passed explicitly and kept with the matrix.

Per-prediction functions use scikit-learn; :func:`scores_from_confusion` computes the same
numbers from a (pooled) confusion matrix, which is what run records store.

* Intervals (ours; the paper gives none): :func:`bootstrap_interval`, the percentile
  bootstrap (Efron & Tibshirani 1993, ch. 13) of a pooled accuracy over resampled *units*
  (test subjects, whose clips are not independent of each other, or repeats), and
  :func:`paired_bootstrap`, the same for the difference of two methods scored on the same
  units, resampled together. Which units a table cell resamples is :func:`results.units`.
"""

from __future__ import annotations

import numpy as np


def accuracy(y_true, y_pred) -> float:
    """Eq. (14) of the paper, as a fraction: correctly predicted samples / all samples."""
    from sklearn.metrics import accuracy_score

    _check_pair(y_true, y_pred)
    return float(accuracy_score(y_true, y_pred))


def uar(y_true, y_pred) -> float:
    """Unweighted average recall: mean recall over the classes present in ``y_true``
    (scikit-learn's balanced accuracy)."""
    from sklearn.metrics import balanced_accuracy_score

    _check_pair(y_true, y_pred)
    import warnings

    with warnings.catch_warnings():  # "y_pred contains classes not in y_true": intended
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(y_true, y_pred))


def uf1(y_true, y_pred) -> float:
    """Unweighted F1: mean of per-class F1 = 2TP / (2TP + FP + FN) over the classes present
    in ``y_true``; a present class never predicted correctly scores 0."""
    from sklearn.metrics import f1_score

    _check_pair(y_true, y_pred)
    present = np.unique(np.asarray(y_true))
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def confusion(y_true, y_pred, labels) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class, in the order of ``labels``
    (every class of the dataset, so that folds lacking a class still add up)."""
    from sklearn.metrics import confusion_matrix

    _check_pair(y_true, y_pred)
    labels = list(labels)
    unknown = sorted(set(np.unique(np.asarray(y_true)).tolist() + np.unique(np.asarray(y_pred)).tolist())
                     - set(labels), key=str)
    if unknown:
        raise ValueError(f"confusion: labels {unknown} are not in the class order {labels}")
    return confusion_matrix(y_true, y_pred, labels=labels).astype(np.int64)


def normalize_rows(cm) -> np.ndarray:
    """Each row divided by its sum (per-true-class rates; a row with no samples stays 0)."""
    cm = np.asarray(cm, dtype=float)
    sums = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, sums, out=np.zeros_like(cm), where=sums > 0)


def scores_from_confusion(cm) -> dict:
    """Accuracy (Eq. 14), UF1 and UAR of a confusion matrix (rows true, columns predicted),
    averaging over the classes with at least one true sample. Plain floats."""
    cm = np.asarray(cm, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"expected a square confusion matrix, got shape {cm.shape}")
    total = cm.sum()
    if total == 0:
        raise ValueError("confusion matrix is empty (no samples)")
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    present = support > 0
    f1 = 2 * tp[present] / (support[present] + predicted[present])  # 2TP / (2TP + FN + FP)
    return {"accuracy": float(tp.sum() / total),
            "uf1": float(f1.mean()),
            "uar": float((tp[present] / support[present]).mean())}


def scores(y_true, y_pred, labels) -> dict:
    """Accuracy, UF1, UAR and the confusion matrix (rows true) of one set of predictions."""
    return {"accuracy": accuracy(y_true, y_pred), "uf1": uf1(y_true, y_pred),
            "uar": uar(y_true, y_pred), "confusion": confusion(y_true, y_pred, labels).tolist(),
            "labels": list(labels)}


def _check_pair(y_true, y_pred):
    n_true, n_pred = len(y_true), len(y_pred)
    if n_true != n_pred:
        raise ValueError(f"expected as many predictions as true labels, got {n_pred} and {n_true}")
    if n_true == 0:
        raise ValueError("expected at least one prediction, got none")


BOOTSTRAP_DRAWS = 4000   # resamples per interval: the 2.5 % and 97.5 % quantiles move by < 0.5 point beyond it
LEVEL = 0.95


def _resampled(correct, total, n_boot: int, seed: int):
    correct, total = np.asarray(correct, dtype=float), np.asarray(total, dtype=float)
    if correct.ndim != 1 or correct.shape != total.shape:
        raise ValueError(f"expected one correct count and one total per unit, got shapes {correct.shape} "
                         f"and {total.shape}")
    if len(total) == 0 or total.sum() <= 0:
        raise ValueError("expected at least one unit with a test sample, got none")
    if (total < 0).any() or (correct < 0).any() or (correct > total).any():
        raise ValueError("expected 0 <= correct <= total for every unit")
    draws = np.random.default_rng(seed).integers(0, len(total), size=(n_boot, len(total)))
    return correct, total, draws


def bootstrap_interval(correct, total, *, level: float = LEVEL, n_boot: int = BOOTSTRAP_DRAWS,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the pooled accuracy ``sum(correct) / sum(total)`` when
    the units (one ``correct``/``total`` pair each: a test subject's clips, or a repeat's
    accuracy with total 1) are drawn again with replacement, ``n_boot`` times -> ``(low,
    high)``, fractions. One unit gives no interval: ``(nan, nan)``. Deterministic for a seed."""
    correct, total, draws = _resampled(correct, total, n_boot, seed)
    if len(total) < 2:
        return float("nan"), float("nan")
    c, t = correct[draws].sum(axis=1), total[draws].sum(axis=1)
    acc = c[t > 0] / t[t > 0]
    lo, hi = np.quantile(acc, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def paired_bootstrap(correct_a, correct_b, total, *, level: float = LEVEL, n_boot: int = BOOTSTRAP_DRAWS,
                     seed: int = 0) -> dict:
    """Method A against method B scored on the same units (``correct_a``/``correct_b`` of the
    same ``total`` test samples per unit): the difference of pooled accuracies A − B and its
    percentile-bootstrap interval, the units resampled together (so what the two share, the
    hard subjects, cancels) -> ``{"difference", "low", "high", "units"}``, fractions."""
    a, total, draws = _resampled(correct_a, total, n_boot, seed)
    b = np.asarray(correct_b, dtype=float)
    if b.shape != a.shape or (b < 0).any() or (b > total).any():
        raise ValueError("expected method B's correct counts on the same units as method A's")
    out = {"difference": float((a.sum() - b.sum()) / total.sum()), "low": float("nan"), "high": float("nan"),
           "units": int(len(total))}
    if len(total) >= 2:
        t = total[draws].sum(axis=1)
        keep = t > 0
        diff = (a[draws].sum(axis=1) - b[draws].sum(axis=1))[keep] / t[keep]
        out["low"], out["high"] = (float(q) for q in np.quantile(diff, [(1 - level) / 2, 1 - (1 - level) / 2]))
    return out
