"""Every exercise check accepts the right answer and explains typical wrong ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from learnet_lite import exercises as ex
from learnet_lite.dynamic import dynamic_image, rank_pooling_weights
from learnet_lite.frames import frame_number


def accepts(check, *answer, capsys=None):
    check(*answer)
    if capsys is not None:
        assert "✓" in capsys.readouterr().out


def rejects(check, *answer, match: str):
    with pytest.raises(ex.ExerciseError, match=match):
        check(*answer)


def harmonic(T):
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, T + 1))])


# ---- chapter 1 ------------------------------------------------------------------------

def test_bilen_weights_T3(capsys):
    from fractions import Fraction

    accepts(ex.check_bilen_weights_T3, [Fraction(-4, 3), Fraction(2, 3), Fraction(2, 3)], capsys=capsys)
    rejects(ex.check_bilen_weights_T3, rank_pooling_weights(3, "learnet"), match="authors' code")
    rejects(ex.check_bilen_weights_T3, [2 / 3, 2 / 3, -4 / 3], match="reverse time order")
    rejects(ex.check_bilen_weights_T3, [1, 0, 0], match="sum to 1.*sum to 0.*harmonic")
    rejects(ex.check_bilen_weights_T3, [-4, 2, 2], match="a multiple of the answer")
    rejects(ex.check_bilen_weights_T3, [-1, 1], match="expected 3 weights")
    rejects(ex.check_bilen_weights_T3, [-1, 0, 1], match="sum to 0 as they should")


def rank_pool(frames):
    frames = np.asarray(frames, dtype=np.float64)
    T = frames.shape[0]
    H, t = harmonic(T), np.arange(1, T + 1)
    return np.tensordot(2 * (T - t + 1) - (T + 1) * (H[T] - H[t - 1]), frames, axes=1)


def test_rank_pool(capsys):
    accepts(ex.check_rank_pool, rank_pool, capsys=capsys)
    accepts(ex.check_rank_pool, lambda f: rank_pool(f).astype(np.float32))  # float32 is fine
    rejects(ex.check_rank_pool, lambda f: dynamic_image(f, variant="learnet", dtype=np.float64), match="authors'-code")
    rejects(ex.check_rank_pool, lambda f: rank_pool(f[::-1]), match="backwards")
    rejects(ex.check_rank_pool, lambda f: rank_pool(f) / len(f), match="× the expected")
    rejects(ex.check_rank_pool, lambda f: rank_pool(f).T, match="expected an image of shape")
    rejects(ex.check_rank_pool, lambda f: rank_pool(f) + 1, match="wrong image")

    def in_place(f):
        f *= 2
        return rank_pool(f)

    rejects(ex.check_rank_pool, in_place, match="changed the frames")


def test_unsolved_stub_fails_with_its_own_message():
    def stub(frames):
        raise NotImplementedError("Exercise “Approximate rank pooling”: fill me in")

    with pytest.raises(NotImplementedError, match="Exercise “Approximate rank pooling”"):
        ex.check_rank_pool(stub)


def appearance(frames):
    frames = np.asarray(frames, dtype=np.float64)
    T = frames.shape[0]
    H = harmonic(T)
    return np.tensordot(H[T] - H[:T], frames, axes=1)


def test_appearance_term(capsys):
    accepts(ex.check_appearance_term, appearance, capsys=capsys)
    rejects(ex.check_appearance_term, lambda f: -appearance(f), match="wrong sign")
    rejects(ex.check_appearance_term, lambda f: f.mean(axis=0), match="not the plain")
    rejects(ex.check_appearance_term, lambda f: appearance(f) + 0.5, match="wrong image")


def test_appearance_term_rejects_calling_dynamic_image():
    def shortcut(frames):
        return dynamic_image(frames, variant="learnet") - dynamic_image(frames)

    rejects(ex.check_appearance_term, shortcut, match="without calling dynamic_image")


def test_still_clip(capsys):
    def right(frame, T, variant):
        return np.zeros_like(frame) if variant == "bilen" else T * np.asarray(frame, float)

    accepts(ex.check_still_clip, right, capsys=capsys)
    rejects(ex.check_still_clip, lambda fr, T, v: np.asarray(fr, float), match="Bilen.*what do Bilen's weights sum")
    rejects(ex.check_still_clip, lambda fr, T, v: np.zeros_like(fr) if v == "bilen" else fr,
            match="the frame itself.*do not sum to 1 or to 0")


# ---- chapter 2 ------------------------------------------------------------------------

def test_frame_order(capsys):
    accepts(ex.check_frame_order, lambda names: sorted(names, key=frame_number), capsys=capsys)
    rejects(ex.check_frame_order, sorted, match="string order")
    rejects(ex.check_frame_order, lambda n: sorted(n, key=frame_number)[::-1], match="reversed")
    rejects(ex.check_frame_order, lambda n: sorted(n, key=frame_number)[1:], match="each once")


# ---- chapter 3 (needs learnet_lite.models) ---------------------------------------------

def conv_params(k, cin, cout):
    return k * k * cin * cout + cout


def test_accretion_path_parameters(capsys):
    pytest.importorskip("learnet_lite.models")
    convs = conv_params(1, 16, 16) + conv_params(3, 16, 32) + conv_params(5, 32, 64)
    bn = 2 * 16 + 2 * 32
    accepts(ex.check_accretion_path_parameters, convs + bn, capsys=capsys)
    rejects(ex.check_accretion_path_parameters, convs, match="convolutions only")
    rejects(ex.check_accretion_path_parameters, convs + bn - (16 + 32 + 64), match="biases")
    rejects(ex.check_accretion_path_parameters, convs + 2 * bn, match="running mean")
    rejects(ex.check_accretion_path_parameters, 1_000, match="is too few")
    rejects(ex.check_accretion_path_parameters, 10**6, match="is too many")
    rejects(ex.check_accretion_path_parameters, "many", match="whole number")


def test_accretion_block(capsys):
    pytest.importorskip("learnet_lite.models")
    import torch
    from torch import nn

    class Right(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.bn = nn.BatchNorm2d(channels, momentum=0.01, eps=1e-3)

        def forward(self, a1, a2):
            return self.bn(a1 + a2)

    class TorchDefaults(Right):
        def __init__(self, channels):
            super().__init__(channels)
            self.bn = nn.BatchNorm2d(channels)

    class WithReLU(Right):
        def forward(self, a1, a2):
            return torch.relu(self.bn(a1 + a2))

    class NormaliseFirst(Right):
        def forward(self, a1, a2):
            return self.bn(a1) + self.bn(a2)

    class Concatenate(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.bn = nn.BatchNorm2d(channels, momentum=0.01, eps=1e-3)
            self.extra = nn.Parameter(torch.zeros(0))

        def forward(self, a1, a2):
            return torch.cat([a1, a2], 1)

    accepts(ex.check_accretion_block, Right, capsys=capsys)
    rejects(ex.check_accretion_block, TorchDefaults, match="PyTorch's BatchNorm defaults")
    rejects(ex.check_accretion_block, WithReLU, match="ReLU")
    rejects(ex.check_accretion_block, NormaliseFirst, match="adds first")
    rejects(ex.check_accretion_block, Concatenate, match="concatenating")
    rejects(ex.check_accretion_block, "Accretion", match="nn.Module subclass")


def test_table1_mismatch(capsys):
    pytest.importorskip("learnet_lite.models")
    from learnet_lite import tables

    fc = 4 * 4 * 256 * 256 + 256
    table = tables.table1()
    assert table.set_index("layer").loc["FC", "parameters"] == fc  # the check's premise
    accepts(ex.check_table1_mismatch, "FC", fc, capsys=capsys)
    accepts(ex.check_table1_mismatch, "fc", fc)
    rejects(ex.check_table1_mismatch, "FC", 3 * 3 * 256 * 256 + 256, match="printed")
    rejects(ex.check_table1_mismatch, "FC", fc - 256, match="biases")
    rejects(ex.check_table1_mismatch, "Conv-5", fc, match="Conv-5's printed .* is right")
    rejects(ex.check_table1_mismatch, "Conv-2", 0, match="agrees with the model")
    rejects(ex.check_table1_mismatch, "Conv-9", 0, match="not a row")


def test_feature_map_sizes(capsys):
    pytest.importorskip("learnet_lite.models")
    import math

    def same(side):
        out = []
        for _ in range(5):
            side = math.ceil(side / 2)
            out.append(side)
        return out

    def floor(side):
        return [side // 2 ** k for k in range(1, 6)]

    accepts(ex.check_feature_map_sizes, same, capsys=capsys)
    rejects(ex.check_feature_map_sizes, floor, match="rounded down")
    rejects(ex.check_feature_map_sizes, lambda s: [s] + same(s)[:4], match="stem already has stride 2")
    rejects(ex.check_feature_map_sizes, lambda s: same(s)[:4], match="expected 5 sides")


# ---- results and protocols -------------------------------------------------------------

def uf1_uar(cm):
    cm = np.asarray(cm, dtype=float)
    present, tp = cm.sum(1) > 0, np.diag(cm)
    f1 = 2 * tp[present] / (cm.sum(1) + cm.sum(0))[present]
    return f1.mean(), (tp[present] / cm.sum(1)[present]).mean()


def test_uf1_uar(capsys):
    accepts(ex.check_uf1_uar, uf1_uar, capsys=capsys)
    rejects(ex.check_uf1_uar, lambda cm: uf1_uar(cm)[::-1], match="swapped")
    rejects(ex.check_uf1_uar, lambda cm: (np.trace(cm) / np.sum(cm),) * 2, match="accuracy")

    def precision_as_recall(cm):
        cm = np.asarray(cm, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.nan_to_num(np.diag(cm) / cm.sum(0))
        return uf1_uar(cm)[0], p[cm.sum(1) > 0].mean()

    def all_classes(cm):
        cm = np.asarray(cm, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.nan_to_num(np.diag(cm) / cm.sum(1))
        return uf1_uar(cm)[0], r.mean()

    rejects(ex.check_uf1_uar, precision_as_recall, match="column sums")
    rejects(ex.check_uf1_uar, all_classes, match="no true samples")
    rejects(ex.check_uf1_uar, lambda cm: (uf1_uar(cm)[0] + 0.1, uf1_uar(cm)[1]), match="your UF1 .* too high")
    rejects(ex.check_uf1_uar, lambda cm: 0.5, match="pair")


@pytest.fixture
def clips():
    return pd.DataFrame({"subject": np.repeat([1, 2, 3, 4, 5], [3, 5, 2, 4, 6]),
                         "emotion": ["happiness", "disgust"] * 10})


def test_leakage_free_split(clips, capsys):
    from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut

    from learnet_lite import protocols

    accepts(ex.check_leakage_free_split, lambda d: list(LeaveOneGroupOut().split(d, groups=d["subject"])), clips,
            capsys=capsys)
    accepts(ex.check_leakage_free_split, lambda d: list(GroupKFold(3).split(d, groups=d["subject"])), clips)
    accepts(ex.check_leakage_free_split,
            lambda d: [(f.train, f.test) for f in protocols.split(d, "loso", augmentation=False)], clips)
    rejects(ex.check_leakage_free_split, lambda d: list(KFold(5, shuffle=True, random_state=0).split(d)), clips,
            match="on both sides")
    rejects(ex.check_leakage_free_split, lambda d: list(LeaveOneGroupOut().split(d, groups=d["subject"]))[:-1],
            clips, match="never tested")
    rejects(ex.check_leakage_free_split, lambda d: list(LeaveOneGroupOut().split(d, groups=d["subject"])) * 2,
            clips, match="tested 2 times")
    rejects(ex.check_leakage_free_split, lambda d: [(np.arange(0, 8), np.arange(8, 20))], clips, match="at least 2")


def test_clip_table_follows_the_release_and_table2():
    from learnet_lite import datasets, protocols

    table = ex.clip_table("smic")
    info = datasets.specs().loc["smic"]
    assert table["subject"].nunique() == datasets.spec("smic").subjects
    assert table["emotion"].value_counts().to_dict() == info["counts_table2"]
    assert table["subject"].value_counts().max() > table["subject"].value_counts().min()  # uneven, as real data
    accepts(ex.check_leakage_free_split,
            lambda d: [(f.train, f.test) for f in protocols.split(d, "loso", augmentation=False)], table)


def test_leak_probability(capsys):
    accepts(ex.check_leak_probability, lambda k, p: 1 - (1 - p) ** (k - 1), capsys=capsys)
    rejects(ex.check_leak_probability, lambda k, p: 1 - (1 - p) ** k, match="the test image itself")
    rejects(ex.check_leak_probability, lambda k, p: (k - 1) * p, match="not a probability")
    rejects(ex.check_leak_probability, lambda k, p: p, match="chance for one copy")
    rejects(ex.check_leak_probability, lambda k, p: 0.5, match="measures a (higher|lower) fraction")


def test_amplitude_dial(capsys):
    accepts(ex.check_amplitude_dial, "rises", {0: 0.3, 1: 0.5, 2: 0.8}, 0.3, capsys=capsys)
    accepts(ex.check_amplitude_dial, "flat", {0: 0.3, 1: 0.32, 2: 0.29}, 0.3)
    rejects(ex.check_amplitude_dial, "falls", {0: 0.3, 1: 0.5, 2: 0.8}, 0.3, match="you predicted accuracy falls")
    rejects(ex.check_amplitude_dial, "rises", {0: 0.9, 1: 0.5, 2: 0.8}, 0.3, match="above chance")
    rejects(ex.check_amplitude_dial, "rises", {1: 0.5, 2: 0.8, 3: 0.9}, 0.3, match="include amplitude 0")
    rejects(ex.check_amplitude_dial, "up", {0: 0.3, 1: 0.5, 2: 0.8}, 0.3, match="one of")


# ---- what a check prints gives no answer away ------------------------------------------

def printed(check, *answer) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check(*answer)
    return out.getvalue()


def failure(check, *answer) -> str:
    with pytest.raises(ex.ExerciseError) as info:
        check(*answer)
    return str(info.value)


def test_confirmations_say_what_was_compared_not_the_answer():
    """A passing check is printed in the book, inside the solution dropdown, and a student
    reads it too: it says what the answer was compared with, never the expected value."""
    pytest.importorskip("learnet_lite.models")
    import math

    from learnet_lite.metrics import scores_from_confusion

    convs = conv_params(1, 16, 16) + conv_params(3, 16, 32) + conv_params(5, 32, 64)
    fc = 4 * 4 * 256 * 256 + 256

    def same(side):
        return [math.ceil(side / 2 ** k) for k in range(1, 6)]

    cases = [
        (ex.check_bilen_weights_T3, ([-4 / 3, 2 / 3, 2 / 3],), ["1.333", "0.6667", "4/3", "2/3", "sum to 0"]),
        (ex.check_rank_pool, (rank_pool,), ["α ="]),
        (ex.check_appearance_term, (appearance,), ["sum to T", "face", "mean"]),
        (ex.check_still_clip, (lambda fr, T, v: np.zeros_like(fr) if v == "bilen" else T * np.asarray(fr, float),),
         ["zero", "T ×"]),
        (ex.check_frame_order, (lambda names: sorted(names, key=frame_number),), ["img10 comes after"]),
        (ex.check_accretion_path_parameters, (convs + 96,), [f"{convs + 96:,}", str(convs + 96), "96"]),
        (ex.check_table1_mismatch, ("FC", fc), [f"{fc:,}", str(fc), "4096"]),
        (ex.check_feature_map_sizes, (same,), ["→", "ceil", "56"]),
        (ex.check_uf1_uar, (uf1_uar,), [f"{scores_from_confusion(cm)[k]:.3f}" for cm in ex.CONFUSIONS
                                        for k in ("uf1", "uar")]),
        (ex.check_leak_probability, (lambda k, p: 1 - (1 - p) ** (k - 1),), ["14 copies", "almost surely"]),
        (ex.check_amplitude_dial, ("rises", {0: 0.3, 1: 0.5, 2: 0.8}, 0.3), ["0.80", "0.30", "rises"]),
    ]
    for check, answer, answers in cases:
        text = printed(check, *answer)
        assert text.startswith("✓ ") and ": correct — " in text, text
        leaked = [a for a in answers if a in text]
        assert not leaked, f"{check.__name__} prints {leaked}: {text}"


def test_failures_say_what_is_wrong_not_the_answer():
    pytest.importorskip("learnet_lite.models")
    import math

    from learnet_lite.metrics import scores_from_confusion

    def floor(side):
        return [side // 2 ** k for k in range(1, 6)]

    right_sides = str([math.ceil(112 / 2 ** k) for k in range(1, 6)])
    for text in (failure(ex.check_feature_map_sizes, floor), failure(ex.check_feature_map_sizes, lambda s: [1] * 5)):
        assert right_sides not in text
    # the rank-pooling check tries a 3-frame clip: its weights are the first exercise's answer
    text = failure(ex.check_rank_pool, lambda f: rank_pool(f) + 1.0)
    assert "1.333" not in text and "0.6667" not in text
    text = failure(ex.check_frame_order, sorted)
    assert str(sorted(ex.FRAME_NAMES, key=frame_number)) not in text
    want = scores_from_confusion(ex.CONFUSIONS[0])
    text = failure(ex.check_uf1_uar, lambda cm: (uf1_uar(cm)[0] + 0.1, uf1_uar(cm)[1]))
    assert f"{want['uf1']:.4f}" not in text
    text = failure(ex.check_uf1_uar, lambda cm: (uf1_uar(cm)[0], uf1_uar(cm)[1] + 0.1))
    assert f"{want['uar']:.4f}" not in text
    text = failure(ex.check_accretion_path_parameters, 1_000)
    assert "56,272" not in text and "55,272" not in text
    text = failure(ex.check_leak_probability, lambda k, p: 0.5)
    assert "measures a" in text and "measures 0." not in text


# ---- chapter 7 (the handcrafted baselines) ----------------------------------------------


def elm_output(H, T, C):
    H, T = np.asarray(H, dtype=float), np.asarray(T, dtype=float)
    return H.T @ np.linalg.solve(np.eye(len(H)) / C + H @ H.T, T)


def test_elm_output(capsys):
    accepts(ex.check_elm_output, elm_output, capsys=capsys)
    # the other form, (I/C + HᵀH)⁻¹HᵀT, is the same β
    accepts(ex.check_elm_output, lambda H, T, C: np.linalg.solve(np.eye(H.shape[1]) / C + H.T @ H, H.T @ T))
    accepts(ex.check_elm_output, lambda H, T, C: elm_output(H, T, C).astype(np.float32))  # float32 is fine
    rejects(ex.check_elm_output, lambda H, T, C: elm_output(H, T, C).T, match="one row per hidden node")
    rejects(ex.check_elm_output, lambda H, T, C: np.linalg.pinv(H) @ T, match="unregularised least-squares")
    rejects(ex.check_elm_output, lambda H, T, C: H.T @ np.linalg.solve(C * np.eye(len(H)) + H @ H.T, T),
            match="C = 100, you added C·I")  # C = 1 cannot tell C·I from I/C: the second case does
    rejects(ex.check_elm_output, lambda H, T, C: H.T @ (np.eye(len(H)) / C + H @ H.T) @ T,
            match="instead of by its inverse")
    rejects(ex.check_elm_output, lambda H, T, C: np.linalg.solve(np.eye(len(H)) / C + H @ H.T, T),
            match="one row per clip.*leading Hᵀ")
    rejects(ex.check_elm_output, lambda H, T, C: H.T @ np.linalg.solve(np.eye(H.shape[1]) / C + H.T @ H, T),
            match="raised ValueError.*H Hᵀ is 4×4")
    rejects(ex.check_elm_output, lambda H, T, C: 1.01 * elm_output(H, T, C), match="differs from the expected one")
    rejects(ex.check_elm_output, np.zeros((5, 3)), match="expected a function")


def test_elm_output_stub_fails_with_its_own_message_and_checks_print_no_answer():
    def stub(H, T, C):
        raise NotImplementedError("Exercise “The ELM's output layer by hand”: solve for beta and return it")

    with pytest.raises(NotImplementedError, match="Exercise “The ELM's output layer by hand”"):
        ex.check_elm_output(stub)
    text = printed(ex.check_elm_output, elm_output)
    assert text.startswith("✓ ") and ": correct — " in text
    betas = [want for *_, want, _ in ex._elm_cases()]
    assert not [b for b in betas if f"{b.flat[0]:.3g}" in text or f"{b.flat[0]:.4f}" in text]
    # a failure quotes neither the expected β nor its largest entry
    text = failure(ex.check_elm_output, lambda H, T, C: 1.01 * elm_output(H, T, C))
    assert f"{betas[0].flat[0]:.4g}" not in text and f"{np.abs(betas[0]).max():.4g}" not in text
