"""Accuracy (Eq. 14), UF1, UAR and confusion matrices against hand-computed cases."""

import contextlib

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from learnet_lite import metrics

Y_TRUE = ["a", "a", "a", "b", "b", "c"]
Y_PRED = ["a", "a", "b", "b", "c", "c"]


def test_hand_computed_case():
    assert metrics.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    # recall: a 2/3, b 1/2, c 1/1
    assert metrics.uar(Y_TRUE, Y_PRED) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # F1 = 2TP/(2TP+FP+FN): a 4/5, b 2/4, c 2/3
    assert metrics.uf1(Y_TRUE, Y_PRED) == pytest.approx((4 / 5 + 2 / 4 + 2 / 3) / 3)
    cm = metrics.confusion(Y_TRUE, Y_PRED, ["a", "b", "c"])
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])  # rows true
    s = metrics.scores_from_confusion(cm)
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["uar"] == pytest.approx(metrics.uar(Y_TRUE, Y_PRED))
    assert s["uf1"] == pytest.approx(metrics.uf1(Y_TRUE, Y_PRED))


LABELS = ["a", "b", "c", "d"]
FOLD1 = (["a", "a", "b"], ["a", "c", "b"])  # c predicted but absent from the truth, d absent
FOLD2 = (["c", "c", "d"], ["c", "a", "d"])  # a and b absent


def test_class_absent_from_a_fold_is_not_averaged():
    yt, yp = FOLD1
    assert metrics.uar(yt, yp) == pytest.approx((1 / 2 + 1) / 2)  # a, b only
    assert metrics.uf1(yt, yp) == pytest.approx((2 / 3 + 1) / 2)  # F1(a)=2/3, F1(b)=1
    cm = metrics.confusion(yt, yp, LABELS)
    assert cm.shape == (4, 4) and cm[3].sum() == 0 and cm[:, 3].sum() == 0
    assert cm[0, 2] == 1  # a predicted as c
    s = metrics.scores_from_confusion(cm)
    assert s["uar"] == pytest.approx(0.75) and s["uf1"] == pytest.approx(5 / 6)


def test_pooled_over_folds_differs_from_the_mean_over_folds():
    cms = [metrics.confusion(yt, yp, LABELS) for yt, yp in (FOLD1, FOLD2)]
    pooled = metrics.scores_from_confusion(sum(cms))  # pooled: the sum of the folds' matrices
    # pooled truth a a b c c d, pred a c b c a d: recall a 1/2, b 1, c 1/2, d 1
    assert pooled["uar"] == pytest.approx(0.75)
    # F1: a 2/4, b 1, c 2/4, d 1
    assert pooled["uf1"] == pytest.approx(0.75)
    assert pooled["accuracy"] == pytest.approx(4 / 6)
    yt = FOLD1[0] + FOLD2[0]
    yp = FOLD1[1] + FOLD2[1]
    assert pooled["uf1"] == pytest.approx(metrics.uf1(yt, yp))
    assert pooled["uar"] == pytest.approx(metrics.uar(yt, yp))
    per_fold_mean = np.mean([metrics.uf1(*FOLD1), metrics.uf1(*FOLD2)])
    assert per_fold_mean == pytest.approx(5 / 6) and per_fold_mean != pytest.approx(pooled["uf1"])


@pytest.mark.parametrize("seed", range(5))
def test_confusion_scores_agree_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    labels = list(range(5))
    yt = rng.integers(0, 4, size=40)  # class 4 never true
    yp = np.where(rng.random(40) < 0.5, yt, rng.integers(0, 5, size=40))
    s = metrics.scores_from_confusion(metrics.confusion(yt, yp, labels))
    with pytest.warns(UserWarning) if 4 in yp else contextlib.nullcontext():  # "y_pred contains classes not in y_true"
        assert s["uar"] == pytest.approx(balanced_accuracy_score(yt, yp))
    assert s["uf1"] == pytest.approx(f1_score(yt, yp, labels=np.unique(yt), average="macro", zero_division=0))
    assert s["accuracy"] == pytest.approx(np.mean(yt == yp))
    assert s == pytest.approx({k: v for k, v in metrics.scores(yt, yp, labels).items()
                               if k in ("accuracy", "uf1", "uar")})


def test_normalize_rows_keeps_empty_rows_zero():
    rates = metrics.normalize_rows([[2, 2], [0, 0]])
    np.testing.assert_allclose(rates, [[0.5, 0.5], [0, 0]])


def test_bad_input():
    with pytest.raises(ValueError, match="as many predictions"):
        metrics.accuracy([1, 2], [1])
    with pytest.raises(ValueError, match="at least one"):
        metrics.uf1([], [])
    with pytest.raises(ValueError, match=r"\['z'\] are not in the class order"):
        metrics.confusion(["a"], ["z"], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        metrics.scores_from_confusion(np.zeros((2, 2)))


def test_bootstrap_interval_hand_computed_cases():
    # every unit at 50 %: every resample is 50 %
    assert metrics.bootstrap_interval([1, 2, 3], [2, 4, 6]) == (0.5, 0.5)
    # two units, 1/1 and 0/1: resamples are 0, 1/2 or 1 with probabilities 1/4, 1/2, 1/4
    lo, hi = metrics.bootstrap_interval([1, 0], [1, 1])
    assert (lo, hi) == (0.0, 1.0)
    # units, not images, are resampled: two subjects of 10 clips, all right and all wrong, give
    # 0..100 %, where 20 independent clips at 50 % would give about 30..70 %
    assert metrics.bootstrap_interval([10, 0], [10, 10]) == (0.0, 1.0)
    independent = metrics.bootstrap_interval([1] * 10 + [0] * 10, [1] * 20)
    assert 0.25 <= independent[0] < 0.5 < independent[1] <= 0.75
    # one unit: no interval; deterministic for a seed
    assert all(np.isnan(metrics.bootstrap_interval([3], [4])))
    assert metrics.bootstrap_interval([3, 1, 2], [4, 4, 4], seed=3) == metrics.bootstrap_interval([3, 1, 2], [4, 4, 4],
                                                                                                 seed=3)


def test_paired_bootstrap_cancels_what_the_methods_share():
    total = [10, 10, 10, 10]
    # A is right on exactly one clip more than B in every subject: +10 points, with no spread
    out = metrics.paired_bootstrap([9, 5, 3, 7], [8, 4, 2, 6], total)
    assert out["difference"] == pytest.approx(0.1) and out["units"] == 4
    assert out["low"] == pytest.approx(0.1) and out["high"] == pytest.approx(0.1)
    # the same accuracies unpaired would overlap widely
    a, b = metrics.bootstrap_interval([9, 5, 3, 7], total), metrics.bootstrap_interval([8, 4, 2, 6], total)
    assert a[0] < b[1]
    # a difference that changes sign across subjects has an interval around 0
    out = metrics.paired_bootstrap([10, 0, 10, 0], [0, 10, 0, 10], total)
    assert out["difference"] == 0 and out["low"] < 0 < out["high"]
    with pytest.raises(ValueError, match="same units"):
        metrics.paired_bootstrap([1, 2], [1, 2, 3], [5, 5])
    with pytest.raises(ValueError, match="correct <= total"):
        metrics.bootstrap_interval([6], [5])
