"""Rank pooling (Sec. III-A, Eqs. 1-4) and frame order."""

import cv2
import numpy as np
import pytest
import torch

from learnet_lite.dynamic import (
    FOLDER_GROUP,
    derive_folder,
    dynamic_image,
    dynamic_image_from_folder,
    exact_rank_pooling,
    rank_pooling_weights,
    ranking_accuracy,
    ranking_scores,
    time_varying_mean,
    to_uint8,
)
from learnet_lite.frames import DataError, iter_frames, list_frames, read_frames


def harmonic(n):
    return sum(1.0 / k for k in range(1, n + 1))


@pytest.mark.parametrize("T", [2, 3, 4, 7, 10, 25, 60, 200])
def test_bilen_weights_match_closed_form_and_sum_to_zero(T):
    expected = [2 * (T - t + 1) - (T + 1) * (harmonic(T) - harmonic(t - 1)) for t in range(1, T + 1)]
    w = rank_pooling_weights(T, "bilen")
    assert w.dtype == np.float64 and w.shape == (T,)
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-10)
    assert abs(w.sum()) < 1e-9
    assert w[0] == w.min() < 0 < w[-1], "the first frame counts against, the last for"


@pytest.mark.parametrize("T", [2, 3, 5, 16, 60])
def test_learnet_weights_are_the_authors_sum_and_sum_to_T(T):
    expected = [sum((2 * i - T) / i for i in range(t, T + 1)) for t in range(1, T + 1)]
    w = rank_pooling_weights(T, "learnet")
    np.testing.assert_allclose(w, expected, rtol=1e-12)
    assert w.sum() == pytest.approx(T)
    # the difference to Bilen's weights is exactly the appearance term H_T - H_{t-1}
    leak = [harmonic(T) - harmonic(t - 1) for t in range(1, T + 1)]
    np.testing.assert_allclose(w - rank_pooling_weights(T, "bilen"), leak, rtol=1e-10)


def test_small_T_cases():
    np.testing.assert_array_equal(rank_pooling_weights(1, "bilen"), [1.0])
    np.testing.assert_array_equal(rank_pooling_weights(1, "learnet"), [1.0])
    np.testing.assert_allclose(rank_pooling_weights(2, "bilen"), [-0.5, 0.5])
    # the authors' weights for two frames are [1, 1]: their sum, with no motion in it at all
    np.testing.assert_allclose(rank_pooling_weights(2, "learnet"), [1.0, 1.0])
    # T=2: the dynamic image is half the frame difference
    a, b = np.full((3, 4), 10.0), np.full((3, 4), 30.0)
    np.testing.assert_allclose(dynamic_image(np.stack([a, b])), 10.0)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "4", True, None])
def test_weights_reject_bad_T(bad):
    with pytest.raises(ValueError, match="T: expected a positive integer"):
        rank_pooling_weights(bad)


def test_weights_reject_unknown_variant():
    with pytest.raises(ValueError, match="variant"):
        rank_pooling_weights(4, "fernando")


@pytest.mark.parametrize("shape", [(9, 6, 5), (9, 6, 5, 3)], ids=["grey", "colour"])
@pytest.mark.parametrize("variant", ["bilen", "learnet"])
def test_dynamic_image_is_the_explicit_weighted_sum(shape, variant):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, size=shape, dtype=np.uint8)
    w = rank_pooling_weights(shape[0], variant)
    expected = sum(w[t] * frames[t].astype(np.float64) for t in range(shape[0]))
    got = dynamic_image(frames, variant=variant)
    assert got.shape == shape[1:] and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(dynamic_image(frames, variant=variant, dtype=np.float64), expected, rtol=1e-10)


def test_batched_numpy_and_torch_agree_with_single_clips():
    rng = np.random.default_rng(2)
    batch = rng.integers(0, 256, size=(3, 8, 5, 6, 3), dtype=np.uint8)
    single = np.stack([dynamic_image(c) for c in batch])
    np.testing.assert_allclose(dynamic_image(batch), single, rtol=1e-5)
    t = dynamic_image(torch.from_numpy(batch))
    assert isinstance(t, torch.Tensor) and t.shape == (3, 5, 6, 3)
    np.testing.assert_allclose(t.numpy(), single, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(dynamic_image(torch.from_numpy(batch[0])).numpy(), single[0], rtol=1e-4, atol=1e-3)


def test_still_video_gives_zero_image_with_bilen_but_appearance_with_learnet():
    frame = np.random.default_rng(3).integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
    still = np.repeat(frame[None], 12, axis=0)
    np.testing.assert_allclose(dynamic_image(still, dtype=np.float64), 0.0, atol=1e-9)
    np.testing.assert_allclose(dynamic_image(still, variant="learnet", dtype=np.float64), 12.0 * frame, rtol=1e-9)


def trend_video(T=12, size=6, seed=0):
    """Pixel (0, 0) brightens over time; the rest is noise of larger amplitude."""
    rng = np.random.default_rng(seed)
    frames = rng.normal(0.5, 0.2, size=(T, size, size))
    frames[:, 0, 0] += np.linspace(0, 3, T)
    return frames


@pytest.mark.parametrize("solver", ["ranksvm", "svr"])
def test_exact_rank_pooling_learns_the_order_of_a_trend(solver):
    frames = trend_video()
    d = exact_rank_pooling(frames, solver=solver, C=10.0)
    scores = ranking_scores(frames, d)
    assert np.all(np.diff(scores) > 0), "ψ(t|d) must increase with t (Eq. 2)"
    assert np.argmax(np.abs(d)) == 0, "the trending pixel carries the largest weight"
    assert ranking_accuracy(frames, d) == 1.0
    if solver == "ranksvm":  # the same d ranks the clip played backwards exactly backwards
        assert ranking_accuracy(frames[::-1], d) == 0.0


def test_ranking_accuracy_counts_ordered_pairs():
    frames = np.array([[1.0], [3.0], [2.0]])  # φ = 1, 2, 2: pairs (2>1) (3>1) ordered, (3>2) tied
    assert ranking_accuracy(frames, np.array([1.0])) == pytest.approx(2 / 3)
    assert ranking_accuracy(frames, np.array([-1.0])) == 0.0


def test_exact_through_dynamic_image_and_signed_sqrt():
    frames = (trend_video() * 60).clip(0, 255).astype(np.uint8)
    d = dynamic_image(frames, method="exact", C=10.0, nonlinearity="ssr")
    assert d.shape == frames.shape[1:]
    approx = dynamic_image(frames)
    # exact and approximate rank pooling point the same way
    corr = np.corrcoef(d.ravel(), approx.ravel())[0, 1]
    assert corr > 0.5


def test_time_varying_mean_is_eq1():
    x = np.arange(12, dtype=float).reshape(4, 3)
    phi = time_varying_mean(x)
    for t in range(4):
        np.testing.assert_allclose(phi[t], x[: t + 1].mean(axis=0))


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 5)), "frames: expected"),
    (np.zeros((2, 2, 2, 2, 2, 2)), "frames: expected"),
    (np.zeros((0, 4, 4)), "at least one frame"),
])
def test_dynamic_image_rejects_bad_shapes(bad, match):
    with pytest.raises(ValueError, match=match):
        dynamic_image(bad)


def test_dynamic_image_rejects_bad_options():
    frames = np.zeros((3, 4, 4))
    with pytest.raises(ValueError, match="method"):
        dynamic_image(frames, method="svm")
    with pytest.raises(ValueError, match="variant"):
        dynamic_image(frames, variant="x")
    with pytest.raises(TypeError, match="exact"):
        dynamic_image(frames, C=2.0)
    with pytest.raises(ValueError, match="at least 2 frames"):
        exact_rank_pooling(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="solver"):
        exact_rank_pooling(frames, solver="lbfgs")


def test_to_uint8():
    img = np.array([[-2.0, 0.0], [1.0, 2.0]])
    np.testing.assert_array_equal(to_uint8(img), [[0, 128], [191, 255]])
    np.testing.assert_array_equal(to_uint8(img, "symmetric"), [[1, 128], [192, 255]])
    np.testing.assert_array_equal(to_uint8(np.zeros((2, 2))), 0)
    np.testing.assert_array_equal(to_uint8(np.zeros((2, 2)), "symmetric"), 128)
    with pytest.raises(ValueError, match="mode"):
        to_uint8(img, "log")


# ---- frame order and clip folders -------------------------------------------------

def write_clip(folder, names, shape=(6, 8, 3), seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    frames = []
    for name in names:
        f = rng.integers(0, 256, size=shape, dtype=np.uint8)
        cv2.imwrite(str(folder / name), f)  # PNG: lossless, so pixels round-trip
        frames.append(cv2.imread(str(folder / name), cv2.IMREAD_UNCHANGED))
    return frames


def test_frames_are_listed_by_number_not_string_order(tmp_path):
    names = ["img9.png", "img10.png", "img1.png", "img100.png", "img2.png"]
    write_clip(tmp_path / "clip", names)
    got = [p.name for p in list_frames(tmp_path / "clip")]
    assert got == ["img1.png", "img2.png", "img9.png", "img10.png", "img100.png"]


def test_zero_padded_and_prefixed_names(tmp_path):
    names = ["reg_EP01_5-010.png", "reg_EP01_5-9.png", "reg_EP01_5-08.png", "notes.txt"]
    write_clip(tmp_path / "c", names[:3])
    (tmp_path / "c" / "notes.txt").write_text("not a frame")
    got = [p.name for p in list_frames(tmp_path / "c")]
    assert got == ["reg_EP01_5-08.png", "reg_EP01_5-9.png", "reg_EP01_5-010.png"]


def test_duplicate_frame_numbers_are_refused(tmp_path):
    write_clip(tmp_path / "c", ["img5.png", "img05.png"])
    with pytest.raises(DataError, match="same number 5"):
        list_frames(tmp_path / "c")


def test_empty_or_missing_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty.*found none"):
        list_frames(tmp_path / "empty")
    with pytest.raises(DataError, match="no such folder"):
        list_frames(tmp_path / "missing")


def test_frames_of_different_size_are_refused_naming_the_file(tmp_path):
    write_clip(tmp_path / "c", ["img1.png", "img2.png"])
    write_clip(tmp_path / "c", ["img3.png"], shape=(6, 9, 3))
    with pytest.raises(DataError, match=r"img3\.png.*shape"):
        read_frames(tmp_path / "c")
    with pytest.raises(DataError, match=r"img3\.png.*shape"):
        dynamic_image_from_folder(tmp_path / "c")


def test_grey_frame_among_colour_frames_is_refused(tmp_path):
    write_clip(tmp_path / "c", ["img1.png", "img2.png"])
    write_clip(tmp_path / "c", ["img3.png"], shape=(6, 8))
    with pytest.raises(DataError, match=r"img3\.png"):
        read_frames(tmp_path / "c")


def test_unreadable_image_is_refused_naming_the_file(tmp_path):
    write_clip(tmp_path / "c", ["img1.png"])
    (tmp_path / "c" / "img2.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(DataError, match=r"img2\.jpg.*could not read"):
        read_frames(tmp_path / "c")


def test_frame_without_number_is_refused(tmp_path):
    write_clip(tmp_path / "c", ["apex.png"])
    with pytest.raises(DataError, match=r"apex\.png.*frame number"):
        list_frames(tmp_path / "c")


def test_read_frames_keeps_time_order_and_pixels(tmp_path):
    names = [f"img{i}.png" for i in (3, 11, 2, 1)]
    written = dict(zip(names, write_clip(tmp_path / "c", names)))
    clip = read_frames(tmp_path / "c")
    order = ["img1.png", "img2.png", "img3.png", "img11.png"]
    expected = np.stack([cv2.cvtColor(written[n], cv2.COLOR_BGR2RGB) for n in order])
    np.testing.assert_array_equal(clip, expected)
    grey = read_frames(tmp_path / "c", color=False)
    assert grey.shape == clip.shape[:3]


def test_streamed_folder_image_equals_in_memory_image(tmp_path):
    names = [f"img{i}.png" for i in range(1, 14)]
    write_clip(tmp_path / "c", names)
    clip = read_frames(tmp_path / "c")
    for variant in ("bilen", "learnet"):
        np.testing.assert_allclose(dynamic_image_from_folder(tmp_path / "c", variant),
                                   dynamic_image(clip, variant=variant), rtol=1e-5, atol=1e-2)


def test_derive_folder_writes_pngs_and_never_clobbers(tmp_path):
    for clip in ("sub01/EP01", "sub01/EP02", "sub02/EP01"):
        write_clip(tmp_path / "src" / clip, [f"img{i}.png" for i in range(1, 6)])
    written = derive_folder(tmp_path / "src", tmp_path / "out", progress=False)
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "sub01/EP01.png", "sub01/EP02.png", "sub02/EP01.png"]
    before = (tmp_path / "out/sub01/EP01.png").read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        derive_folder(tmp_path / "src", tmp_path / "out", progress=False)
    assert (tmp_path / "out/sub01/EP01.png").read_bytes() == before
    derive_folder(tmp_path / "src", tmp_path / "out", progress=False, force=True)
    assert not list((tmp_path / "out").rglob("*.tmp.png"))


def test_cli_dynamic(tmp_path, capsys):
    from learnet_lite.cli import main

    write_clip(tmp_path / "src" / "a", ["img1.png", "img2.png", "img3.png"])
    assert main(["dynamic", str(tmp_path / "src"), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "a.png").is_file()
    assert main(["dynamic", str(tmp_path / "src"), str(tmp_path / "out")]) == 2
    assert "already exist" in capsys.readouterr().err


@pytest.mark.parametrize("variant", ["bilen", "learnet"])
def test_folder_pooling_order_has_positive_partial_sums(variant):
    # dynamic_image_from_folder divides by the partial sums of weights T..2 taken backwards
    # in time: none may be zero or negative, for any clip length.
    for T in range(2, 501):
        w = rank_pooling_weights(T, variant)
        c = np.cumsum(w[1:][::-1])
        assert c.min() > 0, (T, c.min())


@pytest.mark.parametrize("shape", [(7, 5, 3), (7, 5)])
def test_folder_image_equals_in_memory_image_for_every_clip_length(tmp_path, shape):
    # lengths around the decoding groups (frame 1, then groups of FOLDER_GROUP), grey and colour
    G = FOLDER_GROUP
    for T in (1, 2, 3, G, G + 1, G + 2, 2 * G + 2):
        folder = tmp_path / f"c{T}"
        write_clip(folder, [f"img{t}.png" for t in range(1, T + 1)], shape=shape, seed=T)
        clip = read_frames(folder)
        for variant in ("bilen", "learnet"):
            ref = dynamic_image(clip, variant=variant, dtype=np.float64)
            got = dynamic_image_from_folder(folder, variant)
            assert got.dtype == np.float32 and got.shape == ref.shape
            assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max(), (T, variant)
            got64 = dynamic_image_from_folder(folder, variant, dtype=np.float64)
            np.testing.assert_allclose(got64, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def test_iter_frames_yields_read_frames_and_keeps_the_last_buffers(tmp_path):
    write_clip(tmp_path / "c", [f"img{t}.png" for t in range(1, 8)])
    clip = read_frames(tmp_path / "c")
    kept = []
    for i, frame in enumerate(iter_frames(tmp_path / "c", buffers=3)):
        kept.append(frame)
        np.testing.assert_array_equal(frame, clip[i])
        for back, old in enumerate(reversed(kept[-3:])):  # the last 3 are still intact
            np.testing.assert_array_equal(old, clip[i - back])
    bgr = np.stack([f.copy() for f in iter_frames(tmp_path / "c", channel_order="BGR")])
    np.testing.assert_array_equal(bgr, clip[..., ::-1])
    with pytest.raises(ValueError, match="buffers"):
        next(iter_frames(tmp_path / "c", buffers=0))


def test_folder_pooling_names_bad_frames(tmp_path):
    write_clip(tmp_path / "grey", ["img1.png", "img2.png"])
    write_clip(tmp_path / "grey", ["img3.png"], shape=(6, 8))
    with pytest.raises(DataError, match=r"img3\.png"):
        dynamic_image_from_folder(tmp_path / "grey")
    write_clip(tmp_path / "bad", ["img1.png", "img3.png"])
    (tmp_path / "bad" / "img2.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(DataError, match=r"img2\.jpg.*could not read"):
        dynamic_image_from_folder(tmp_path / "bad")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="found none"):
        dynamic_image_from_folder(tmp_path / "empty")
