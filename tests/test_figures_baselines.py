"""The baselines chapter's figures (LBP-TOP's planes and codes; MDMO's regions and main
directions) on small hand-made volumes: what each panel shows, legible, and saying when its
data is synthetic; and the numbers the chapter cites (tables.baseline_numbers,
tables.handcrafted_settings) on hand-made scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import smallest_text
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver

from learnet_lite import figures, tables
from learnet_lite import handcrafted as hc

pytestmark = pytest.mark.usefixtures("legible_figures")


def volume(T=10, H=20, W=16, seed=0):
    """A clip of random grey levels, (T, H, W) uint8."""
    return np.random.default_rng(seed).integers(0, 256, (T, H, W)).astype(np.uint8)


def test_lbp_top_planes_show_the_three_planes_and_their_codes():
    v = volume()
    codes = hc.plane_codes(v)  # 10 frames, R_T = 4: codes for the 2 middle frames (4 and 5)
    fig = figures.lbp_top_planes(v, codes, "synthetic twin", clip="sub01/EP01, happiness", y=12, x=5,
                                 points=hc.LBP_POINTS)
    assert isinstance(fig, Figure) and len(fig.axes) == 7  # 2 x 3 panels and the codes' colorbar
    xy, xt, yt, c_xy, c_xt, c_yt = fig.axes[:6]
    # the code frame in the middle of the two (index 1) is the clip's frame 5 (0-based)
    np.testing.assert_array_equal(xy.images[0].get_array(), v[5])
    np.testing.assert_array_equal(xt.images[0].get_array(), v[:, 12, :])  # T x W
    np.testing.assert_array_equal(yt.images[0].get_array(), v[:, :, 5].T)  # H x T
    assert [tuple(line.get_ydata()) for line in xy.lines][0] == (12, 12)  # the XT row, marked
    assert [tuple(line.get_xdata()) for line in xy.lines][1] == (5, 5)  # the YT column
    for ax, plane in ((c_xy, "xy"), (c_xt, "xt"), (c_yt, "yt")):
        shown = ax.images[0]
        np.testing.assert_array_equal(shown.get_array(), codes[plane][1])
        assert shown.get_array().shape == (18, 14) and shown.get_clim() == (0, 15)
        assert ax.get_title().startswith(plane.upper())
    assert "frame 6 of 10" in xy.get_title() and "row y = 12" in xt.get_title() and "column x = 5" in yt.get_title()
    title = fig._suptitle.get_text()
    assert title.startswith("synthetic twin") and "sub01/EP01, happiness" in title
    assert smallest_text(fig) >= figures.MIN_FONT_PT


def test_lbp_top_planes_default_to_the_middle_and_name_licensed_data():
    v = volume(T=12, H=24, W=18, seed=1)
    codes = hc.plane_codes(v)  # 4 code frames (4..7); the middle one, index 2, is frame 6
    fig = figures.lbp_top_planes(v, codes, "licensed data")
    xy, xt, yt = fig.axes[:3]
    np.testing.assert_array_equal(xy.images[0].get_array(), v[6])
    np.testing.assert_array_equal(xt.images[0].get_array(), v[:, 12, :])
    np.testing.assert_array_equal(yt.images[0].get_array(), v[:, :, 9].T)
    assert "synthetic" not in fig._suptitle.get_text() and "licensed data" in fig._suptitle.get_text()


def directions(regions, strong: str, rho=2.0, theta=np.pi / 2):
    """Every region still but ``strong``, which moves ``rho`` px at angle ``theta``."""
    rows = []
    for name, mask in regions:
        ys, xs = np.nonzero(mask)
        moving = name == strong
        rows.append({"region": name, "rho": rho if moving else 0.1, "theta": theta if moving else 0.0,
                     "x": xs.mean(), "y": ys.mean(), "pixels": int(mask.sum())})
    return pd.DataFrame(rows)


def test_mdmo_directions_draw_the_template_and_one_arrow_per_region():
    h, w = 40, 36
    regions = hc.regions(h, w)
    first, shown = volume(2, h, w, seed=2)
    table = directions(regions, "left mouth corner")
    fig = figures.mdmo_directions(first, shown, regions, table, "synthetic twin", clip="sub02/EP03, happiness",
                                  frame="frame 5 of 9", arrow_px=10.0)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    left, right = fig.axes
    # left: the first frame, the regions over it (every region pixel coloured, the rest clear)
    np.testing.assert_array_equal(left.images[0].get_array(), first)
    overlay = np.asarray(left.images[1].get_array())
    inside = np.any([m for _, m in regions], axis=0)
    assert (overlay[inside, 3] > 0).all() and (overlay[~inside, 3] == 0).all()
    assert left.get_title().startswith("36 regions")
    # right: the shown frame and 36 arrows from the centroids, the longest arrow_px long, pointing down
    np.testing.assert_array_equal(right.images[0].get_array(), shown)
    quiver = next(c for c in right.collections if isinstance(c, Quiver))
    assert quiver.N == 36
    np.testing.assert_allclose(quiver.get_offsets(), table[["x", "y"]].to_numpy())
    k = table.index[table["region"] == "left mouth corner"][0]
    assert quiver.U[k] == pytest.approx(0.0, abs=1e-9) and quiver.V[k] == pytest.approx(10.0)
    np.testing.assert_allclose(np.hypot(quiver.U, quiver.V).max(), 10.0)
    assert any("the longest is 2.00 px" in t.get_text() for t in right.texts)
    assert "frame 5 of 9" in right.get_title()
    assert fig._suptitle.get_text().startswith("synthetic twin") and "sub02/EP03" in fig._suptitle.get_text()
    assert smallest_text(fig) >= figures.MIN_FONT_PT


def test_mdmo_directions_with_no_motion_and_licensed_data():
    h, w = 32, 28
    regions = hc.regions(h, w)
    first, shown = volume(2, h, w, seed=3)
    still = directions(regions, "none").assign(rho=0.0)
    fig = figures.mdmo_directions(first, shown, regions, still, "licensed data")
    quiver = next(c for c in fig.axes[1].collections if isinstance(c, Quiver))
    assert np.all(quiver.U == 0) and np.all(quiver.V == 0)  # nothing to draw, nothing divided by 0
    assert [t.get_text() for t in fig.axes[1].texts] == ["no flow in any region"]
    assert "synthetic" not in fig._suptitle.get_text() and fig._suptitle.get_text().startswith("licensed data")


def scores(rows):
    """A tables.baseline_scores frame from (method, dataset, LOSO accuracy %, LOSO runs) rows; no other protocol ran."""
    out = []
    for method, dataset, acc, runs in rows:
        row = {"method": method, "model": method.lower(), "dataset": dataset, "published": float("nan")}
        for p in ("paper", "paper-leaky", "loso", "kfold"):
            ran = p == "loso" and acc is not None
            row.update({f"acc_{p}": acc if ran else float("nan"), f"low_{p}": float("nan"),
                        f"high_{p}": float("nan"), f"over_{p}": None, f"runs_{p}": runs if ran else 0})
        out.append(row)
    return pd.DataFrame(out)


def test_baseline_numbers_count_cells_above_the_largest_class_and_name_the_best():
    frame = scores([("LBP-TOP-SVM", "casme", 40.0, 5), ("MDMO-SVM", "casme", 30.0, 5),
                    ("LBP-TOP-SVM", "smic", 50.0, 3), ("LBP-TOP-ELM", "smic", 50.0, 3), ("MDMO-SVM", "smic", 20.0, 3),
                    ("LBP-TOP-ELM", "casme2", None, 0)])
    numbers = tables.baseline_numbers(frame, {"casme": 0.35, "smic": 0.5, "casme2": 0.4})
    # casme: 40 > 35, 30 < 35; smic: 50 is not above 50, 20 < 50; casme2 did not run
    assert (numbers["cells"], numbers["above"], numbers["n_records"]) == (5, 1, 19)
    assert numbers["baseline_sentence"].startswith("Under LOSO, 1 of the 5 method × dataset cells of ours score above")
    assert numbers["best_sentence"] == ("The best method per dataset under LOSO: casme, LBP-TOP-SVM (40.0 %; largest "
                                        "class 35.0 %); smic, LBP-TOP-SVM and LBP-TOP-ELM (50.0 %; largest class "
                                        "50.0 %).")
    none = tables.baseline_numbers(scores([("MDMO-SVM", "casme", None, 0)]), {"casme": 0.35}, protocol="loso")
    assert none["cells"] == 0 and none["baseline_sentence"].startswith("No method x dataset cell")


def test_handcrafted_settings_are_the_module_constants():
    s = tables.handcrafted_settings()
    assert (s["lbp_points"], s["lbp_bins"], s["tim_frames"]) == (hc.LBP_POINTS, hc.LBP_BINS, hc.TIM_FRAMES)
    assert (s["lbp_rx"], s["lbp_ry"], s["lbp_rt"]) == hc.LBP_RADII and s["lbp_codes"] == 2 ** hc.LBP_POINTS
    assert s["lbp_n_blocks"] * 3 * s["lbp_bins"] == len(hc.lbp_top(volume(T=hc.TIM_FRAMES, H=20, W=20)))
    assert (s["elm_hidden"], s["elm_c"], s["mdmo_bins"]) == (hc.ELM_HIDDEN, hc.ELM_C, hc.MDMO_BINS)
    assert s["svm"] == "linear kernel, C = 1" and s["frame_size"] == "{} × {}".format(*hc.FRAME_SIZE)
