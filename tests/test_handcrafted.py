"""The handcrafted baselines (learnet_lite.handcrafted): LBP-TOP codes and histograms by hand,
the ELM, MDMO's main direction and regions, and the feature cache."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.svm import SVC

from learnet_lite import handcrafted as hc
from learnet_lite import inputs, synthetic

# ---------------------------------------------------------------------------- LBP-TOP


def reference_codes(volume):
    """LBP-TOP_{4,4,4,1,1,4} codes straight from the definition, one voxel at a time:
    bit p set when neighbour p >= the centre (neighbour order as plane_codes' docstring)."""
    rx, ry, rt = hc.LBP_RADII
    T, H, W = volume.shape
    v = volume.astype(int)
    out = {p: np.zeros((T - 2 * rt, H - 2 * ry, W - 2 * rx), int) for p in ("xy", "xt", "yt")}
    for t in range(rt, T - rt):
        for y in range(ry, H - ry):
            for x in range(rx, W - rx):
                c = v[t, y, x]
                ring = {"xy": [v[t, y, x + rx], v[t, y - ry, x], v[t, y, x - rx], v[t, y + ry, x]],
                        "xt": [v[t, y, x + rx], v[t - rt, y, x], v[t, y, x - rx], v[t + rt, y, x]],
                        "yt": [v[t, y - ry, x], v[t - rt, y, x], v[t, y + ry, x], v[t + rt, y, x]]}
                for plane, values in ring.items():
                    out[plane][t - rt, y - ry, x - rx] = sum(1 << p for p, g in enumerate(values) if g >= c)
    return out


def test_plane_codes_of_one_voxel_by_hand():
    # 9 frames of 3x3: the one voxel with every neighbour is (t, y, x) = (4, 1, 1)
    rng = np.random.default_rng(0)
    v = rng.integers(0, 256, (9, 3, 3)).astype(np.uint8)  # the voxels no code reads: anything
    v[4, 1, 1] = 50  # the centre
    v[4, 1, 2] = 60  # x+1: >= 50 -> 1
    v[4, 1, 0] = 20  # x-1: < 50 -> 0
    v[4, 0, 1] = 10  # y-1: 0
    v[4, 2, 1] = 70  # y+1: 1
    v[0, 1, 1] = 50  # t-4: equal counts as >= -> 1
    v[8, 1, 1] = 30  # t+4: 0
    codes = hc.plane_codes(v)
    # XY: bits (x+1, y-1, x-1, y+1) = (1, 0, 0, 1) -> 1 + 8 = 9
    # XT: bits (x+1, t-4, x-1, t+4) = (1, 1, 0, 0) -> 1 + 2 = 3
    # YT: bits (y-1, t-4, y+1, t+4) = (0, 1, 1, 0) -> 2 + 4 = 6 (a mirrored y would give 3)
    assert {p: c.tolist() for p, c in codes.items()} == {"xy": [[[9]]], "xt": [[[3]]], "yt": [[[6]]]}


def test_plane_codes_match_the_definition_on_a_random_volume():
    v = np.random.default_rng(1).integers(0, 6, (11, 6, 7)).astype(np.uint8)  # few levels: many ties
    codes, ref = hc.plane_codes(v), reference_codes(v)
    for plane in ("xy", "xt", "yt"):
        assert codes[plane].shape == (3, 4, 5)
        np.testing.assert_array_equal(codes[plane], ref[plane], err_msg=plane)


def test_uniform_mapping_and_one_block_histogram_by_hand():
    # u2 for P = 4: 0101 (5) and 1010 (10) have four transitions: the shared last bin, 14;
    # the other 14 codes numbered in order
    uniform = [0, 1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 15]
    assert hc.LBP_BINS == 15
    assert [int(hc._U2[c]) for c in uniform] == list(range(14))
    assert hc._U2[5] == hc._U2[10] == 14
    codes = np.array([[[0, 5, 15, 15],
                       [10, 7, 15, 1]]])  # (T', H', W') = (1, 2, 4); blocks 1x2: columns 0-1 | 2-3
    hist = hc.block_histograms(codes, blocks=(1, 2))
    left = np.zeros(15)
    left[0], left[6], left[14] = 1 / 4, 1 / 4, 2 / 4  # codes 0, 7 (6th uniform), 5 and 10
    right = np.zeros(15)
    right[13], right[1] = 3 / 4, 1 / 4  # codes 15, 15, 15 and 1
    np.testing.assert_allclose(hist, [left, right])


def test_lbp_top_concatenates_block_histograms_block_by_block():
    v = np.random.default_rng(2).integers(0, 256, (10, 40, 35)).astype(np.uint8)
    feature = hc.lbp_top(v)
    rows, cols = hc.LBP_BLOCKS
    assert feature.shape == (rows * cols * 3 * 15,) and feature.dtype == np.float32
    codes = hc.plane_codes(v)
    blocks = feature.reshape(rows * cols, 3, 15)
    for k, plane in enumerate(("xy", "xt", "yt")):
        np.testing.assert_allclose(blocks[:, k], hc.block_histograms(codes[plane]), rtol=1e-6)
    np.testing.assert_allclose(blocks.sum(axis=2), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="at least 9 frames"):
        hc.lbp_top(v[:8])


# ---------------------------------------------------------------------------- ELM and classifiers


def blobs(seed, n=60):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0, 0, 0], [4, 4, 0, 0, 0], [0, 4, 4, 0, 0]], float)
    y = np.repeat(np.array([3, 7, 9]), n)
    return centres[np.repeat(np.arange(3), n)] + rng.normal(0, 0.5, (3 * n, 5)), y


def test_elm_separates_blobs_and_keeps_the_labels():
    X, y = blobs(0)
    X_test, y_test = blobs(1)
    elm = hc.ELM(hidden=200, C=1.0, seed=0).fit(X, y)
    pred = elm.predict(X_test)
    assert pred.dtype == y.dtype and set(pred) <= {3, 7, 9}
    assert (pred == y_test).mean() >= 0.98
    words = np.array(["anger", "happy", "sad"])[np.searchsorted([3, 7, 9], y)]  # string labels come back as given
    assert set(hc.ELM(hidden=200).fit(X, words).predict(X_test)) <= set(words)


def test_elm_is_deterministic_for_a_seed():
    X, y = blobs(0)
    X_test, _ = blobs(1)
    a = hc.ELM(hidden=50, seed=3).fit(X, y).decision_function(X_test)
    b = hc.ELM(hidden=50, seed=3).fit(X, y).decision_function(X_test)
    c = hc.ELM(hidden=50, seed=4).fit(X, y).decision_function(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_elm_errors_name_what_was_expected():
    X, y = blobs(0)
    with pytest.raises(ValueError, match="2-D"):
        hc.ELM().fit(X[:, 0], y)
    with pytest.raises(ValueError, match=r"one label per row of X \(180\)"):
        hc.ELM().fit(X, y[:-1])
    with pytest.raises(ValueError, match="call fit"):
        hc.ELM().predict(X)
    with pytest.raises(ValueError, match=r"\(clips, 5\) as in fit"):
        hc.ELM(hidden=20).fit(X, y).predict(X[:, :3])


def test_classifier_per_method():
    assert isinstance(hc.classifier("lbptop-elm", seed=5), hc.ELM) and hc.classifier("lbptop-elm", seed=5).seed == 5
    for method in ("lbptop-svm", "mdmo-svm"):
        svm = hc.classifier(method)
        assert isinstance(svm, SVC) and svm.kernel == "linear" and svm.C == 1.0
    assert set(hc.METHODS) == {"lbptop-svm", "lbptop-elm", "mdmo-svm"}
    with pytest.raises(ValueError, match="expected one of lbptop-svm, lbptop-elm, mdmo-svm"):
        hc.classifier("hog-svm")


# ---------------------------------------------------------------------------- MDMO


def polar_field(rho, theta):
    return np.stack([rho * np.cos(theta), rho * np.sin(theta)], axis=-1)


def circular_gap(a, b):
    return abs((a - b + np.pi) % (2 * np.pi) - np.pi)


def test_main_direction_of_a_field_mostly_up_right():
    rng = np.random.default_rng(0)
    shape = (60, 50)
    # 70%: up and to the right (image y points down: angle 7 pi / 4, bin 7), magnitude 2 +- 0.2,
    # direction +-10 degrees; 30%: to the left (pi, bin 4), magnitude 5
    up_right = rng.random(shape) < 0.7
    theta = np.where(up_right, 7 * np.pi / 4 + rng.uniform(-0.17, 0.17, shape), np.pi + rng.uniform(-0.1, 0.1, shape))
    rho = np.where(up_right, 2 + rng.uniform(-0.2, 0.2, shape), 5.0)
    flow = polar_field(rho, theta)
    magnitude, angle = hc.main_direction(flow)
    assert magnitude == pytest.approx(2.0, abs=0.02)
    assert circular_gap(angle, 7 * np.pi / 4) < 0.01
    # within a mask: the minority's bin
    magnitude, angle = hc.main_direction(flow, mask=~up_right)
    assert magnitude == pytest.approx(5.0) and circular_gap(angle, np.pi) < 0.01
    # a bin across 0 / 2 pi: the mean angle is circular, not the mean of 0.1 and 6.2
    wrap = polar_field(np.ones(shape), rng.choice([0.1, 2 * np.pi - 0.1], shape))
    assert circular_gap(hc.main_direction(wrap)[1], 0.0) < 0.01
    with pytest.raises(ValueError, match="no pixel"):
        hc.main_direction(flow, mask=np.zeros(shape, bool))
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        hc.main_direction(flow[..., 0])


def test_all_regions_at_once_agree_with_main_direction():
    rng = np.random.default_rng(1)
    h, w = hc.FRAME_SIZE
    flow = rng.normal(0, 1, (h, w, 2)).astype(np.float32)
    names, label = hc._region_labels(h, w)
    rho, theta = hc._main_directions(flow, label, len(names))
    for k, (name, mask) in enumerate(hc.regions(h, w)):
        r, t = hc.main_direction(flow, mask)
        assert rho[k] == pytest.approx(r, rel=1e-6), name
        assert circular_gap(theta[k], t) < 1e-6, name


def test_alignment_removes_an_affine_head_motion():
    h, w = hc.FRAME_SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.stack([0.8 + 0.01 * xx - 0.02 * yy, -0.5 + 0.015 * yy + 0.005 * xx], axis=-1)
    anchors, centres = hc._anchor_labels(h, w)
    assert len(centres) == 2 * len(hc._ANCHORS) and (anchors >= 0).any()
    np.testing.assert_allclose(hc._align(flow, anchors, centres), 0, atol=0.03)


def texture(h, w, seed=0):
    noise = np.random.default_rng(seed).normal(0, 1, (h, w)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    return np.clip(128 + 40 * smooth / smooth.std(), 0, 255).astype(np.uint8)


def test_mdmo_finds_a_translation_in_one_region():
    h, w = hc.FRAME_SIZE
    base = texture(h, w)
    names = [n for n, _ in hc.regions(h, w)]
    mask = dict(hc.regions(h, w))["right mouth corner"]
    frames = [base]
    for shift in (1, 2, 3, 3):  # the region's skin moves right, up to 3 px; the rest stays
        moved = base.copy()
        moved[mask] = np.roll(base, shift, axis=1)[mask]
        frames.append(moved)
    feature = hc.mdmo(np.stack(frames))
    assert feature.shape == (72,) and feature.dtype == np.float32
    rho, theta = feature[0::2], feature[1::2]
    k = names.index("right mouth corner")
    assert int(np.argmax(rho)) == k and rho[k] == pytest.approx(1.0)  # magnitudes / the largest
    assert circular_gap(theta[k], 0.0) < 0.2  # to the right
    far = [i for i, n in enumerate(names) if not any(p in n for p in ("mouth", "cheek", "nose side", "jaw"))]
    assert rho[far].max() < 0.2
    assert (theta >= 0).all() and (theta < 2 * np.pi).all()
    still = hc.mdmo(np.stack([base] * 3))  # no motion: flow noise only, not blown up to 1
    assert still[0::2].max() < 0.5
    with pytest.raises(ValueError, match="at least 2 frames"):
        hc.mdmo(base[None])


# ---------------------------------------------------------------------------- the region template

SIZES = [*synthetic.CROPPED_SIZE.values(), hc.FRAME_SIZE, (97, 81)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_regions_are_36_disjoint_mirrored_and_non_empty(size):
    h, w = size
    regs = hc.regions(h, w)
    assert len(regs) == 36 and len({n for n, _ in regs}) == 36
    masks = dict(regs)
    for name, mask in regs:
        assert mask.shape == (h, w) and mask.dtype == bool and mask.sum() >= 4, name
        side, part = name.split(" ", 1)
        other = masks[("right " if side == "left" else "left ") + part]
        np.testing.assert_array_equal(mask, other[:, ::-1], err_msg=name)
        xs = np.nonzero(mask)[1]
        assert (xs >= w / 2).all() if side == "right" else (xs < w / 2).all(), name
    assert np.sum([m for _, m in regs], axis=0).max() == 1  # disjoint
    # Liu et al.'s order: ROI 0 is the image-left outer brow, 35 the image-right jaw
    assert regs[0][0] == "left brow outer" and regs[35][0] == "right jaw"


# twin landmark -> the template part it must fall in (upper_lip, lower_lip: the lips' middle,
# which no region covers, as in Liu et al.)
LANDMARK_PART = {"brow_inner": "brow inner", "brow_outer": "brow outer", "upper_lid": "upper lid",
                 "lower_lid": "lower lid", "cheek": "cheek", "nose_side": "nose side",
                 "mouth_corner": "mouth corner", "chin": "chin"}


def face_pixel(frame, u, v):
    """A landmark in face units to pixels, as synthetic.au_field places its AU fields."""
    return frame.cx + u * frame.a, frame.cy + v * frame.b


def test_face_units_map_to_pixels_as_the_twin_generator_places_them():
    face = synthetic.random_face(np.random.default_rng(0))
    frame = synthetic.Frame.cropped(*synthetic.CROPPED_SIZE["casme2"])
    field = synthetic.au_field(face, frame, "R14")  # one mouth corner's dimpler: a peak there
    peak = np.unravel_index(np.argmax(np.hypot(field[0], field[1])), field.shape[1:])
    u, v = face.landmarks()["mouth_corner"]
    x, y = face_pixel(frame, -u, v)  # R: the image's left side
    assert abs(peak[0] - y) <= 1.5 and abs(peak[1] - x) <= 1.5


@pytest.mark.parametrize("dataset", sorted(synthetic.CROPPED_SIZE))
def test_twin_landmarks_fall_in_the_regions_of_their_name(dataset):
    h, w = synthetic.CROPPED_SIZE[dataset]
    frame = synthetic.Frame.cropped(h, w)
    masks = dict(hc.regions(h, w))
    rng = np.random.default_rng(7)
    for _ in range(200):
        face = synthetic.random_face(rng)
        for landmark, (u, v) in face.landmarks().items():
            part = LANDMARK_PART.get(landmark)
            if part is None:
                continue
            for side, s in (("right", 1), ("left", -1)):
                x, y = face_pixel(frame, s * u, v)
                row, col = int(y), int(x)
                inside = [n for n, m in masks.items() if m[row, col]]
                want = [f"{side} {part}"] if u > 0 else [f"left {part}", f"right {part}"]  # midline: either half
                assert inside and inside[0] in want, (dataset, landmark, side, (u, v), inside)


# ---------------------------------------------------------------------------- clips and features


def write_clip(folder, frames):
    folder.mkdir(parents=True)
    paths = []
    for i, f in enumerate(frames):
        path = folder / f"img{i + 1}.png"
        cv2.imwrite(str(path), f)
        paths.append(str(path))
    return paths


def test_clip_volume_resamples_and_resizes(tmp_path):
    levels = [np.full((40, 32), 10 * i, np.uint8) for i in range(4)]
    paths = write_clip(tmp_path / "a", levels)
    row = pd.Series({"frames": paths, "layout": "cropped"})
    v = hc.clip_volume(row, "lbptop")  # 4 frames -> 10, linearly: levels 0, 3.33, ..., 30
    assert v.shape == (hc.TIM_FRAMES, *hc.FRAME_SIZE) and v.dtype == np.uint8
    np.testing.assert_array_equal(v[:, 0, 0], np.rint(np.linspace(0, 30, 10)))
    long = write_clip(tmp_path / "b", [np.full((40, 32), i, np.uint8) for i in range(25)])
    v = hc.clip_volume(pd.Series({"frames": long}), "mdmo")  # 25 frames -> 10 of them, as they are
    np.testing.assert_array_equal(v[:, 5, 5], np.rint(np.linspace(0, 24, 10)))
    raw = write_clip(tmp_path / "c", [texture(60, 80, seed=i) for i in range(12)])
    v = hc.clip_volume(pd.Series({"frames": raw, "layout": "raw"}), "mdmo")  # no face: the centre square
    assert v.shape == (10, *hc.FRAME_SIZE)
    with pytest.raises(ValueError, match="expected 'cropped' or 'raw'"):
        hc.clip_volume(pd.Series({"frames": raw, "layout": "flat"}), "mdmo")
    with pytest.raises(ValueError, match="expected one of lbptop, mdmo"):
        hc.clip_volume(row, "hog")


@pytest.fixture
def clip_table(tmp_path):
    rows = []
    for k in range(3):
        base = texture(48, 40, seed=k)
        frames = [np.roll(base, i * (k + 1) // 3, axis=1) for i in range(12)]  # each clip its own motion
        rows.append({"dataset": "toy", "subject": k, "frames": write_clip(tmp_path / "clips" / f"c{k}", frames)})
    return pd.DataFrame(rows)


def test_features_in_row_order_cached_and_shared(clip_table, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    x = hc.features(clip_table, "lbptop", cache_dir=cache, progress=False)
    assert x.shape == (3, 1125) and x.dtype == np.float32
    for i, row in enumerate(clip_table.itertuples(index=False)):
        np.testing.assert_array_equal(x[i], hc.lbp_top(hc.clip_volume(row, "lbptop")))
    path = cache / f"features-lbptop-{inputs._fingerprint(clip_table)}.npz"
    assert [p.name for p in cache.iterdir()] == [path.name]

    def no_more(volume):
        raise AssertionError("computed again: expected the cache")

    monkeypatch.setitem(hc._EXTRACT, "lbptop", no_more)
    np.testing.assert_array_equal(hc.features(clip_table, "lbptop", cache_dir=cache, progress=False), x)
    # another dataset key reading the same clips (smic and smic_2class): the same file
    other = clip_table.assign(dataset="toy_2class")
    np.testing.assert_array_equal(hc.features(other, "lbptop", cache_dir=cache, progress=False), x)
    assert len(list(cache.iterdir())) == 1
    # another table holding some of the clips, in another order: rows reused, none computed
    part = clip_table.iloc[[2, 0]]
    np.testing.assert_array_equal(hc.features(part, "lbptop", cache_dir=cache, progress=False), x[[2, 0]])
    assert len(list(cache.iterdir())) == 2
    # a changed setting: computed again
    monkeypatch.setattr(hc, "TIM_FRAMES", 11)
    with pytest.raises(AssertionError, match="computed again"):
        hc.features(clip_table, "lbptop", cache_dir=cache, progress=False)


def test_features_without_cache_and_errors(clip_table, tmp_path):
    x = hc.features(clip_table.iloc[::-1], "mdmo", cache_dir=None, progress=False)
    assert x.shape == (3, 72)
    np.testing.assert_array_equal(x[0], hc.mdmo(hc.clip_volume(clip_table.iloc[2], "mdmo")))  # row order
    assert not (tmp_path / "cache").exists()
    with pytest.raises(ValueError, match="clip table is empty"):
        hc.features(clip_table.iloc[:0], "mdmo", cache_dir=None)
    with pytest.raises(ValueError, match="feature 'hog': expected one of lbptop, mdmo"):
        hc.features(clip_table, "hog", cache_dir=None)


# ---------------------------------------------------------------------------- one flow at a time (chapter 7)


def test_frame_position_finds_the_read_frame_nearest_a_clip_frame():
    # MDMO reads 10 evenly spaced frames of 42: 0, 5, 9, 14, 18, 23, 27, 32, 36, 41
    read, lo, _, _ = hc._frame_plan(42, "mdmo")
    assert read[lo].tolist() == [0, 5, 9, 14, 18, 23, 27, 32, 36, 41]
    assert [hc.frame_position(42, "mdmo", f) for f in (0, 19, 21, 41)] == [0, 4, 5, 9]
    # LBP-TOP's 10 interpolated frames of 42 sit at 0, 4.56, 9.11, ..., 41
    assert [hc.frame_position(42, "lbptop", f) for f in (0, 5, 19, 41)] == [0, 1, 4, 9]
    assert hc.frame_position(3, "mdmo", 2) == 2 and hc.frame_position(1, "mdmo", 0) == 0
    with pytest.raises(ValueError, match="not one of the clip's 42 frames"):
        hc.frame_position(42, "mdmo", 42)
    with pytest.raises(ValueError, match="expected one of lbptop, mdmo"):
        hc.frame_position(42, "hog", 0)


def test_region_directions_find_a_translation_in_one_region():
    h, w = hc.FRAME_SIZE
    base = texture(h, w, seed=3)
    regs = hc.regions(h, w)
    mask = dict(regs)["left mouth corner"]
    moved = base.copy()
    moved[mask] = np.roll(base, 2, axis=0)[mask]  # the region's skin moves down 2 px
    volume = np.stack([base, moved, base])
    table = hc.region_directions(volume, 1)
    assert list(table.columns) == ["region", "rho", "theta", "x", "y", "pixels"]
    assert table["region"].tolist() == [n for n, _ in regs]
    row = table.set_index("region").loc["left mouth corner"]
    assert table["rho"].idxmax() == table.index[table["region"] == "left mouth corner"][0]
    assert 1.0 < row["rho"] <= 2.2  # 2 px, less what Farneback's window smooths over the region's edges
    assert circular_gap(row["theta"], np.pi / 2) < 0.2  # down: +y in the image
    ys, xs = np.nonzero(mask)
    assert (row["x"], row["y"], row["pixels"]) == (pytest.approx(xs.mean()), pytest.approx(ys.mean()), mask.sum())
    # the region's flow here is one of the flows mdmo averages: the same main direction
    flow = hc.aligned_flow(volume, 1)
    assert flow.shape == (h, w, 2) and flow.dtype == np.float32
    assert hc.main_direction(flow, mask)[0] == pytest.approx(row["rho"], rel=1e-5)
    # frame 2 is the first frame again: nothing moves
    assert hc.region_directions(volume, 2)["rho"].max() < 0.2
    with pytest.raises(ValueError, match=r"frame 0: expected 1\.\.2"):
        hc.aligned_flow(volume, 0)
