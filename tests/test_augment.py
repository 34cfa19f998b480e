"""The paper's augmentation (Sec. IV): 7 rotations x {as is, flipped}, equalized."""

import numpy as np
import pytest

from learnet_lite import augment
from learnet_lite.profiles import Profile


def _image(seed=0, h=33, w=33):
    rng = np.random.default_rng(seed)
    # low contrast, so equalization has something to do
    return rng.integers(90, 140, size=(h, w, 3), dtype=np.uint8)


def test_paper_reading_gives_14_copies_per_image():
    assert augment.Options().copies_per_image == 14
    assert augment.Options(keep_unequalized=True).copies_per_image == 28
    assert augment.Options(flip=False).copies_per_image == 7
    assert augment.Options().angles == (-45, -30, -15, 0, 15, 30, 45)


def test_single_image_and_batch_carry_their_source():
    out, copies = augment.augment(_image())
    assert out.shape == (14, 33, 33, 3) and out.dtype == np.uint8
    assert (copies["source"] == 0).all()
    batch = np.stack([_image(s) for s in range(3)])
    out, copies = augment.augment(batch, sources=[10, 11, 12])
    assert out.shape == (42, 33, 33, 3)
    assert copies["source"].tolist() == [10] * 14 + [11] * 14 + [12] * 14
    # each copy is rendered from its own source image
    for i in (0, 20, 41):
        row = copies.iloc[i]
        expected = augment.render(batch[row.source - 10], row.angle, row.flipped, row.equalized)
        np.testing.assert_array_equal(out[i], expected)


def test_plan_matches_rendered_copies():
    out, copies = augment.augment(np.stack([_image(1), _image(2)]))
    planned = augment.plan([0, 1])
    assert copies.equals(planned)
    assert len(out) == len(planned)
    assert set(planned["angle"]) == {-45.0, -30.0, -15.0, 0.0, 15.0, 30.0, 45.0}
    assert planned["equalized"].all() and planned["flipped"].sum() == 14


def test_zero_degree_copy_is_the_equalized_image_and_flip_mirrors_it():
    img = _image()
    out, copies = augment.augment(img)
    plain = out[((copies.angle == 0) & ~copies.flipped).to_numpy()][0]
    flipped = out[((copies.angle == 0) & copies.flipped).to_numpy()][0]
    np.testing.assert_array_equal(plain, augment.equalize(img))
    np.testing.assert_array_equal(flipped, plain[:, ::-1])
    assert not np.array_equal(plain, img)


def test_rotation_direction_and_centre():
    img = _image(3)
    # +90 degrees is counter-clockwise, exactly np.rot90 on an odd square image
    np.testing.assert_array_equal(augment.rotate(img, 90), np.rot90(img))
    rotated = augment.rotate(img, 45)
    assert (rotated[0, 0] == 0).all()  # corners filled black, as MATLAB imrotate 'crop'
    assert not (augment.rotate(img, 45, border="replicate")[0, 0] == 0).all()


def test_equalization_spreads_the_histogram():
    img = _image()
    luma = augment.equalize(img, "luma")
    channels = augment.equalize(img, "channels")
    assert channels[..., 0].min() == 0 and channels[..., 0].max() == 255
    assert int(luma.max()) - int(luma.min()) > 2 * (int(img.max()) - int(img.min()))
    assert not np.array_equal(luma, channels)


def test_keep_unequalized_keeps_the_original_at_zero_degrees():
    img = _image()
    out, copies = augment.augment(img, options={"keep_unequalized": True})
    assert len(out) == 28
    original = out[((copies.angle == 0) & ~copies.flipped & ~copies.equalized).to_numpy()][0]
    np.testing.assert_array_equal(original, img)


def test_grey_batch_and_no_equalization():
    grey = np.stack([_image(s)[..., 0] for s in range(2)])
    out, copies = augment.augment(grey, options={"equalization": None, "angles": (0, 15)})
    assert out.shape == (8, 33, 33)
    np.testing.assert_array_equal(out[0], grey[0])
    assert not copies["equalized"].any()


def test_deterministic():
    batch = np.stack([_image(s) for s in range(2)])
    a, ca = augment.augment(batch)
    b, cb = augment.augment(batch)
    np.testing.assert_array_equal(a, b)
    assert ca.equals(cb)


def test_profile_settings():
    opts = augment.Options.from_profile(Profile(aug_angles=(-15, 0, 15), aug_flip=False))
    assert opts.angles == (-15, 0, 15) and opts.copies_per_image == 3
    assert augment.Options.from_profile(Profile()) == augment.Options()   # the paper's, both ways


@pytest.mark.parametrize("bad, match", [
    (dict(equalization="clahe"), "equalization"),
    (dict(border="wrap"), "border"),
    (dict(angles=()), "at least one"),
    (dict(angles=(0, 0)), "distinct"),
    (dict(equalization=None, keep_unequalized=True), "keep_unequalized"),
])
def test_bad_options(bad, match):
    with pytest.raises(ValueError, match=match):
        augment.Options(**bad)


def test_bad_images():
    with pytest.raises(ValueError, match="uint8"):
        augment.augment(np.zeros((8, 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        augment.augment(np.zeros((2, 8, 8, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="source indices"):
        augment.augment(np.zeros((2, 8, 8, 3), dtype=np.uint8), sources=[1, 2, 3])
