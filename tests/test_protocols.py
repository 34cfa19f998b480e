"""Folds under the paper's protocol, its leaky reading, and LOSO (Sec. IV)."""

import numpy as np
import pandas as pd
import pytest

from learnet_lite import protocols


def clips(n_subjects=6, per_subject=6, seed=0):
    rng = np.random.default_rng(seed)
    n = n_subjects * per_subject
    return pd.DataFrame({
        "subject": np.repeat([f"sub{i:02d}" for i in range(1, n_subjects + 1)], per_subject),
        "clip": [f"EP{i:03d}" for i in range(n)],
        "emotion": rng.choice(["happiness", "disgust", "surprise"], size=n),
    })


def test_loso_tests_every_clip_once_and_no_subject_on_both_sides():
    df = clips()
    folds = protocols.split(df, "loso", seed=0)
    assert len(folds) == df["subject"].nunique() == folds[0].n_folds
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(df)))  # each clip exactly once
    assert sorted(f.test_subject for f in folds) == sorted(df["subject"].unique())
    for f in folds:
        subj = {p: set(df["subject"].iloc[getattr(f, p)]) for p in ("train", "val", "test")}
        assert subj["test"] == {f.test_subject}
        assert not subj["test"] & (subj["train"] | subj["val"])
        assert not subj["train"] & subj["val"]  # validation subjects are held out too
        assert subj["train"] and subj["val"]
        # augmented copies of training clips only; val/test shown once
        assert set(f.part("train")["source"]) == set(f.train)
        assert len(f.part("test")) == len(f.test)
        nd = protocols.near_duplicates(f, df)
        assert nd["test_images_with_copy_in_train"] == 0 and nd["subjects_on_both_sides"] == 0


def test_paper_never_puts_a_copy_of_a_test_clip_in_training():
    df = clips()
    for seed in range(5):
        (f,) = protocols.split(df, "paper", seed=seed)
        train, val, test = map(set, (f.train, f.val, f.test))
        assert not (train & val or train & test or val & test)
        assert train | val | test == set(range(len(df)))
        assert len(test) == int(np.ceil(0.2 * len(df)))  # 80:20 (scikit-learn rounds test up)
        assert len(val) == int(np.ceil(0.3 * (len(df) - len(test))))  # then 70:30
        train_sources = set(f.part("train")["source"])
        assert train_sources == train and not train_sources & test
        assert len(f.part("train")) == 14 * len(train)
        assert len(f.part("test")) == len(test) and not f.part("test")["flipped"].any()
        assert protocols.near_duplicates(f)["test_images_with_copy_in_train"] == 0


def test_paper_leaky_puts_copies_of_test_clips_in_training_by_construction():
    df = clips()
    (f,) = protocols.split(df, "paper-leaky", seed=0)
    assert len(f.copies) == 14 * len(df)  # every clip augmented before the split
    sizes = f.sizes
    assert sizes["test_images"] == int(np.ceil(0.2 * 14 * len(df)))
    nd = protocols.near_duplicates(f, df)
    # with 14 copies per clip, a test image almost surely has a sibling in training
    assert nd["test_images_with_copy_in_train"] > 0.9 * nd["test_images"]
    assert nd["test_clips_with_copy_in_train"] > 0
    assert f.info["near_duplicates"] == nd
    assert set(f.train) & set(f.test)  # clip sets overlap: the leak
    # the copies themselves are partitioned: no image is in two parts
    keys = f.copies[["source", "angle", "flipped", "equalized"]]
    assert not keys.duplicated().any()


def test_same_seed_same_folds_other_seed_other_folds():
    df = clips()
    for protocol in protocols.PROTOCOLS:
        a, b = protocols.split(df, protocol, seed=3), protocols.split(df, protocol, seed=3)
        for fa, fb in zip(a, b):
            for part in ("train", "val", "test"):
                np.testing.assert_array_equal(getattr(fa, part), getattr(fb, part))
            assert fa.copies.equals(fb.copies)
    p0, p1 = protocols.split(df, "paper", seed=0)[0], protocols.split(df, "paper", seed=1)[0]
    assert not np.array_equal(p0.test, p1.test)
    l0, l1 = protocols.split(df, "loso", seed=0), protocols.split(df, "loso", seed=1)
    assert [f.test_subject for f in l0] == [f.test_subject for f in l1]
    assert any(a.info["val_subjects"] != b.info["val_subjects"] for a, b in zip(l0, l1))


def test_without_augmentation_one_image_per_clip():
    df = clips()
    (f,) = protocols.split(df, "paper", seed=0, augmentation=False)
    assert len(f.copies) == len(df) and not f.copies["equalized"].any()
    (f,) = protocols.split(df, "paper", seed=0, augmentation={"angles": (-15, 0, 15), "flip": False})
    assert len(f.part("train")) == 3 * len(f.train)


def test_stratified_split_keeps_every_class_in_test():
    df = clips(n_subjects=10)
    (f,) = protocols.split(df, "paper", seed=0, stratify=True)
    assert set(df["emotion"].iloc[f.test]) == set(df["emotion"])


def test_bad_input_gets_clear_errors():
    df = clips()
    with pytest.raises(ValueError, match="protocol 'fivefold'"):
        protocols.split(df, "fivefold")
    with pytest.raises(ValueError, match="no column 'subject'"):
        protocols.split(df.drop(columns="subject"), "loso")
    with pytest.raises(ValueError, match="no column 'emotion'"):
        protocols.split(df.drop(columns="emotion"), "paper", stratify=True)
    with pytest.raises(ValueError, match="at least 3 subjects"):
        protocols.split(clips(n_subjects=2), "loso")
    with pytest.raises(ValueError, match="too few|cannot split"):
        protocols.split(clips(n_subjects=1, per_subject=2), "paper")
    with pytest.raises(ValueError, match="test_size"):
        protocols.split(df, "paper", test_size=1.5)
    bad = df.copy()
    bad.loc[4, "subject"] = None
    with pytest.raises(ValueError, match="position 4 has no subject"):
        protocols.split(bad, "loso")


def test_profile_settings_and_rendering_a_fold():
    from learnet_lite import augment, profiles

    df = clips()
    settings = profiles.load("smoke")
    (f,) = protocols.split_for(df, "paper", settings, seed=0)
    per_clip = augment.Options.from_profile(settings).copies_per_image
    assert len(f.part("train")) == per_clip * len(f.train)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(len(df), 16, 16, 3), dtype=np.uint8)
    train = augment.render_plan(images, f.part("train"), augment.Options.from_profile(settings))
    assert train.shape == (len(f.part("train")), 16, 16, 3)
    test = augment.render_plan(images, f.part("test"))
    np.testing.assert_array_equal(test[0], augment.equalize(images[f.test[0]]))
    with pytest.raises(ValueError, match="only 2 images"):
        augment.render_plan(images[:2], f.part("test"))


@pytest.mark.parametrize("k", [5, 3])
def test_kfold_tests_every_clip_once_and_no_copy_of_a_test_clip_in_training(k):
    df = clips()
    folds = protocols.split(df, "kfold", seed=1, folds=k)
    assert len(folds) == k and {f.n_folds for f in folds} == {k} and [f.fold for f in folds] == list(range(k))
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(df)))  # every clip exactly once per seed
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1  # the folds share the clips evenly (20 % each at k = 5)
    for f in folds:
        parts = [set(f.train), set(f.val), set(f.test)]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert parts[0] | parts[1] | parts[2] == set(range(len(df)))
        assert set(f.part("train")["source"]) == parts[0]  # only training clips are augmented
        assert len(f.part("train")) == 14 * len(f.train) and len(f.part("test")) == len(f.test)
        assert protocols.near_duplicates(f, df)["test_images_with_copy_in_train"] == 0
        assert abs(len(f.val) - 0.3 * (len(f.train) + len(f.val))) <= 1


def test_kfold_seeds_deal_other_folds_and_too_few_clips_are_refused():
    df = clips()
    a, b = protocols.split(df, "kfold", seed=0), protocols.split(df, "kfold", seed=0)
    assert all(np.array_equal(x.test, y.test) for x, y in zip(a, b))
    c = protocols.split(df, "kfold", seed=1)
    assert any(not np.array_equal(x.test, y.test) for x, y in zip(a, c))
    with pytest.raises(ValueError, match="9 clips are too few for 5 folds"):
        protocols.split(clips(3, 3), "kfold", seed=0)
    with pytest.raises(ValueError, match="folds=1"):
        protocols.split(df, "kfold", seed=0, folds=1)
