"""Evaluation protocols: which clips train, validate and test (the paper's Sec. IV).

The paper: "we have randomly partitioned the available benchmarked datasets in offline mode
with a ratio of 80:20 ... training set is also divided into training and validation set with
70:30 ratio ... repeat the same experiment 5 times"; the augmentation (:mod:`augment`) is
described in the same paragraph without saying whether it came before or after the split.
We run every reading, never silently one:

``paper``
    random 80:20 split of the *clips*, the 80 split again 70:30 into train/val; only the
    training clips are augmented. Val and test clips are shown once each
    (:func:`augment.identity_plan`). No test clip has a copy in training.
``paper-leaky``
    every clip augmented first, then the random 80:20 and 70:30 split of the *augmented
    images*: rotated/flipped near-copies of a test image sit in training
    (:func:`near_duplicates` counts them).
``loso``
    leave one subject out, the field's standard: fold k tests every clip of subject k, so
    each subject (and each clip) is tested exactly once and no subject is on both sides.
    Validation subjects (``val_size`` of the training subjects, at least one) come from the
    training subjects only, never the test subject. Training clips are augmented as in
    ``paper``.
``kfold``
    k-fold cross-validation of the clips (``folds``, 5 by default): the text's other reading,
    "N-fold cross validation, where N-1 folds are considered as training set", with its
    80:20 ratio and "5 times". The clips are shuffled with the seed and dealt into k folds;
    fold i tests the i-th, so every clip is tested exactly once per seed, and the other
    clips are split ``1 - val_size : val_size`` into train/val. Only training clips are
    augmented, as in ``paper``; a subject may sit on both sides, as in ``paper``.

Repeats (the paper's 5) are seeds: ``split(df, p, seed=s)`` for s = 0..4. A fold's indices
are *positions* in ``df`` (``df.iloc``), not index labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import augment
from .profiles import CHOICES

PROTOCOLS = CHOICES["protocols"]   # the random 80:20 split, the same with leaky augmentation, LOSO, k-fold
PARTS = ("train", "val", "test")


@dataclass
class Fold:
    """One train/val/test partition. ``train``/``val``/``test``: clip positions in ``df``
    (for ``paper-leaky`` these overlap: a clip is in every part that holds one of its
    copies). ``copies``: the images actually used, one row each, columns ``part, source,
    angle, flipped, equalized`` (``source`` = clip position) — the map from augmented copy
    to clip. ``info``: ``near_duplicates`` (:func:`near_duplicates`) and, for ``loso``,
    ``val_subjects``."""

    protocol: str
    seed: int
    fold: int
    n_folds: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    copies: pd.DataFrame
    test_subject: object = None
    info: dict = field(default_factory=dict)

    def part(self, name: str) -> pd.DataFrame:
        """The copies of one part (``train``, ``val`` or ``test``)."""
        if name not in PARTS:
            raise ValueError(f"part {name!r}: expected one of {PARTS}")
        return self.copies[self.copies["part"] == name].reset_index(drop=True)

    @property
    def sizes(self) -> dict:
        """Clips and images per part, plain ints (for run records)."""
        out = {f"{p}_clips": int(len(getattr(self, p))) for p in PARTS}
        counts = self.copies["part"].value_counts()
        out.update({f"{p}_images": int(counts.get(p, 0)) for p in PARTS})
        return out


def split(df: pd.DataFrame, protocol: str, seed: int = 0, *, test_size: float = 0.2,
          val_size: float = 0.3, augmentation=None, stratify: bool = False, folds: int = 5) -> list[Fold]:
    """Folds of ``df`` (one row per clip) under ``protocol``: one fold for ``paper`` and
    ``paper-leaky``, one per subject for ``loso``, ``folds`` for ``kfold``.

    ``augmentation``: :class:`augment.Options`, a dict of its fields, ``None`` (the paper's
    reading, 14 copies per image) or ``False`` (no augmentation: one copy per clip).
    ``stratify``: keep class proportions in the random splits (the paper does not say so;
    off by default, and impossible for a class with a single clip)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"split: expected a pandas DataFrame of clips, got {type(df).__name__}")
    for name, value in (("test_size", test_size), ("val_size", val_size)):
        if not 0 < value < 1:
            raise ValueError(f"{name}={value}: expected a fraction strictly between 0 and 1")
    needed = ["subject"] + (["emotion"] if stratify else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"split: the clip table has no column {', '.join(map(repr, missing))} "
                         f"(columns: {', '.join(map(str, df.columns))})")
    if df["subject"].isna().any():
        row = int(np.flatnonzero(df["subject"].isna().to_numpy())[0])
        raise ValueError(f"split: clip at position {row} has no subject")
    opts = None if augmentation is False else augment.resolve(augmentation)
    seed = int(seed)
    if protocol == "loso":
        out = _loso(df, seed, val_size, opts)
    elif protocol == "kfold":
        out = _kfold(df, seed, folds, val_size, opts, stratify)
    else:
        out = [_random(df, protocol, seed, test_size, val_size, opts, stratify)]
    for f in out:
        f.info["near_duplicates"] = near_duplicates(f, df)
    return out


_NO_AUGMENTATION = {"equalization": None}


def split_for(df: pd.DataFrame, protocol: str, profile, seed: int = 0) -> list[Fold]:
    """:func:`split` with a run profile's ``test_size``, ``val_size`` and ``aug_*`` settings
    (``profile``: a :class:`learnet_lite.profiles.Profile` or a profile's name)."""
    from .profiles import load

    p = load(profile)
    return split(df, protocol, seed, test_size=p.test_size, val_size=p.val_size,
                 augmentation=augment.Options.from_profile(p), folds=p.kfold_folds)


def _train_copies(sources, opts) -> pd.DataFrame:
    """Training images: every augmented copy (or the clip itself, without augmentation)."""
    return augment.plan(sources, opts) if opts is not None else augment.identity_plan(sources, _NO_AUGMENTATION)


def _shown_once(sources, opts) -> pd.DataFrame:
    """Val/test images: each clip once, equalized like the training copies."""
    return augment.identity_plan(sources, opts if opts is not None else _NO_AUGMENTATION)


def _assemble(parts: dict) -> pd.DataFrame:
    frames = [p.assign(part=name) for name, p in parts.items()]
    copies = pd.concat(frames, ignore_index=True)
    return copies[["part"] + augment.PLAN_COLUMNS]


def _two_way(items, size, seed, labels, what):
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(items, test_size=size, random_state=seed, shuffle=True, stratify=labels)
    except ValueError as exc:
        raise ValueError(f"cannot split {len(items)} {what} {1 - size:.0%}:{size:.0%}: {exc}") from None


def _random(df, protocol, seed, test_size, val_size, opts, stratify) -> Fold:
    n = len(df)
    labels = df["emotion"].to_numpy() if stratify else None
    if protocol == "paper":
        rest, test = _two_way(np.arange(n), test_size, seed, labels, "clips")
        train, val = _two_way(rest, val_size, seed, labels[rest] if stratify else None, "training clips")
        parts = {"train": _train_copies(np.sort(train), opts),
                 "val": _shown_once(np.sort(val), opts), "test": _shown_once(np.sort(test), opts)}
        copies = _assemble(parts)
    else:  # paper-leaky: augment everything, then split the images
        every = _train_copies(np.arange(n), opts)
        img_labels = labels[every["source"].to_numpy()] if stratify else None
        rest, test = _two_way(np.arange(len(every)), test_size, seed, img_labels, "augmented images")
        train, val = _two_way(rest, val_size, seed, img_labels[rest] if stratify else None,
                              "augmented training images")
        copies = _assemble({p: every.iloc[np.sort(ix)] for p, ix in
                            (("train", train), ("val", val), ("test", test))})
    idx = {p: np.unique(copies.loc[copies["part"] == p, "source"].to_numpy()).astype(int) for p in PARTS}
    _check_nonempty(idx, protocol, n)
    return Fold(protocol, seed, 0, 1, idx["train"], idx["val"], idx["test"], copies)


def _kfold(df, seed, k, val_size, opts, stratify) -> list[Fold]:
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(df)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"kfold: folds={k!r}: expected an integer of 2 or more")
    if n < 2 * k:  # every fold's test part and its training part's train/val split need clips
        raise ValueError(f"kfold: {n} clips are too few for {k} folds (expected at least {2 * k})")
    labels = df["emotion"].to_numpy() if stratify else None
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=int(k), shuffle=True, random_state=seed)
    out = []
    for i, (rest, test) in enumerate(splitter.split(np.zeros(n), labels)):
        train, val = _two_way(rest, val_size, seed, labels[rest] if stratify else None, f"training clips of fold {i}")
        train, val, test = np.sort(train), np.sort(val), np.sort(test)
        copies = _assemble({"train": _train_copies(train, opts), "val": _shown_once(val, opts),
                            "test": _shown_once(test, opts)})
        idx = {"train": train, "val": val, "test": test}
        _check_nonempty(idx, "kfold", n)
        out.append(Fold("kfold", seed, i, int(k), train, val, test, copies))
    return out


def _loso(df, seed, val_size, opts) -> list[Fold]:
    subjects = pd.unique(df["subject"])
    if len(subjects) < 3:
        raise ValueError(f"loso: expected at least 3 subjects (one to test, one to validate, one to "
                         f"train), got {len(subjects)}: {list(subjects)}")
    subject_of = df["subject"].to_numpy()
    ordered = sorted(subjects, key=lambda s: (str(type(s)), s))
    folds = []
    for k, held_out in enumerate(ordered):
        test = np.flatnonzero(subject_of == held_out)
        others = [s for s in ordered if s != held_out]
        rng = np.random.default_rng([seed, k])
        n_val = min(len(others) - 1, max(1, int(round(val_size * len(others)))))
        val_subjects = set(rng.choice(np.array(others, dtype=object), size=n_val, replace=False).tolist())
        is_val = np.array([s in val_subjects for s in subject_of])
        is_train = (subject_of != held_out) & ~is_val
        train, val = np.flatnonzero(is_train), np.flatnonzero(is_val)
        copies = _assemble({"train": _train_copies(train, opts), "val": _shown_once(val, opts),
                            "test": _shown_once(test, opts)})
        idx = {"train": train, "val": val, "test": test}
        _check_nonempty(idx, "loso", len(df))
        folds.append(Fold("loso", seed, k, len(ordered), train, val, test, copies,
                          test_subject=held_out, info={"val_subjects": sorted(val_subjects, key=str)}))
    return folds


def _check_nonempty(idx, protocol, n):
    empty = [p for p in PARTS if len(idx[p]) == 0]
    if empty:
        raise ValueError(f"{protocol}: {n} clips are too few, the {' and '.join(empty)} part would be empty")


def near_duplicates(fold: Fold, df: pd.DataFrame | None = None) -> dict:
    """Near-copies between training and test, counted by source clip: how many test images
    have a copy of their own clip among the training images (rotated/flipped/equalized
    versions of the same dynamic image), and how many test clips that concerns. With ``df``,
    also the subjects on both sides. Plain ints/floats, ready to glue or record."""
    train_sources = set(fold.part("train")["source"].tolist())
    test = fold.part("test")
    leaked = test["source"].isin(train_sources)
    out = {
        "test_images": int(len(test)),
        "test_images_with_copy_in_train": int(leaked.sum()),
        "test_clips": int(test["source"].nunique()),
        "test_clips_with_copy_in_train": int(test.loc[leaked, "source"].nunique()),
        "fraction_test_images_leaked": float(leaked.mean()) if len(test) else 0.0,
    }
    if df is not None:
        subjects = df["subject"].to_numpy()
        both = set(subjects[list(train_sources)]) & set(subjects[test["source"].to_numpy()])
        out["subjects_on_both_sides"] = int(len(both))
    return out
