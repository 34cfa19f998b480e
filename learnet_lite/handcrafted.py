"""The handcrafted baselines of Tables III-IV: LBP-TOP + SVM, LBP-TOP + ELM and MDMO + SVM.

The paper quotes these rows from other papers (its footnote: "this result is from the
corresponding original paper"); the grid runs them here on the same clips and folds as the
networks (:mod:`experiment`), each method a feature of the clip's frames and a classifier:

* ``lbptop-svm``: LBP-TOP, local binary patterns on three orthogonal planes (Zhao and
  Pietikäinen, "Dynamic texture recognition using local binary patterns with an application
  to facial expressions", IEEE TPAMI 29(6):915-928, 2007; the paper's [6]), with a support
  vector machine, in the setting of the CASME II baseline (Yan et al., "CASME II: an improved
  spontaneous micro-expression database and the baseline evaluation", PLoS ONE 9(1):e86041,
  2014) and the fixed clip length of the SMIC baseline (Li et al., "A spontaneous
  micro-expression database: inducement, collection and baseline", IEEE FG 2013).
* ``lbptop-elm``: the same features with an extreme learning machine. The paper's [20] (Guo,
  Xue, Wang and Yu, "Micro-expression recognition based on CBP-TOP feature with ELM", Optik
  126(23):4446-4451, 2015) extracts a TOP operator from blocks of the face and classifies with
  the ELM of the paper's [21] (Huang, Zhu and Siew, "Extreme learning machine: theory and
  applications", Neurocomputing 70:489-501, 2006). CBP-TOP, centralized binary patterns, is
  their variant of LBP-TOP; Table III names the row LBP-TOP-ELM, and that is what we run.
* ``mdmo-svm``: MDMO, the main directional mean optical flow (Liu et al., "A main directional
  mean optical flow feature for spontaneous micro-expression recognition", IEEE Trans.
  Affective Computing 7(4):299-310, 2016; the paper's [22]): 36 regions of interest, in each
  the mean flow vector of the fullest of 8 direction bins, averaged over the clip: 72 numbers.

Every setting is a constant below with its source; where a source was not at hand or is
silent, the constant says so and why we chose what we chose. Our departures, all for the
book's CPU budget or for running offline: clips are resampled to a fixed length (the SMIC
baseline's TIM10, by linear interpolation, not TIM's graph embedding) and a fixed frame size;
MDMO averages over 10 evenly spaced frames, not every frame; MDMO's flow is OpenCV's
Farneback, not Liu et al.'s robust local optical flow; its 36 regions are a fixed template on
the aligned face crop (:func:`regions`), not polygons placed on 66 detected landmarks, and its
alignment fits the head's motion on fixed patches of the face's outline, not on landmarks;
its magnitudes are divided by the largest or 0.01 px, whichever is larger.

:func:`features` computes a feature for every clip of a clip table once and caches it
(``data/cache/features-<feature>-<fingerprint>.npz``); :func:`classifier` gives a method's
unfitted classifier. ``benchmarks/bench_features.py`` measures the cost.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from . import inputs
from .dynamic import _cores  # the cores this process may use (one place: the dynamic images' thread pool)
from .files import replacing

METHODS = {"lbptop-svm": ("lbptop", "svm"), "lbptop-elm": ("lbptop", "elm"), "mdmo-svm": ("mdmo", "svm")}
FEATURES = ("lbptop", "mdmo")

# ------------------------------------------------------------------------------ settings
# Where a source is cited "as we recall it", its full text was not at hand here (the search
# corpora hold only the abstracts of Yan et al. 2014, Li et al. 2013, Guo et al. 2015 and Liu
# et al. 2016); a reviewer with the papers should check those lines first.
#
# The clip as the features read it. A fixed size and length bound the cost (the licensed crops
# are ~280x340 px and up to ~100 frames, the twins 96x80..160x128): our choice, of the aspect of
# the twins' and the releases' crops (height/width ~1.1-1.25). Frames are resized with cv2
# (area averaging when shrinking, bilinear when enlarging).
FRAME_SIZE = (128, 112)  # (height, width), px
# LBP-TOP reads every clip resampled to 10 frames: TIM10, the temporal interpolation model of
# Pfister et al. (ICCV 2011, the paper's [7]) to 10 frames, as the SMIC baseline (Li et al. 2013)
# used it (as we recall it); MEB's LBP-TOP (github.com/tvaranka/meb,
# meb/utils/traditional_methods.py, calculate_lbptop) reads 10 frames too. TIM interpolates
# along a curve found by graph embedding; we interpolate linearly between the two nearest
# frames: the same fixed length, with no model of the clip.
TIM_FRAMES = 10
# LBP-TOP_{P_XY,P_XT,P_YT,R_X,R_Y,R_T} = LBP-TOP_{4,4,4,1,1,4} on 5x5 non-overlapping blocks,
# histograms of each block and plane normalised and concatenated, classified by SVM under
# leave-one-subject-out: the best setting of the CASME II baseline (Yan et al. 2014, its
# baseline evaluation, as we recall it; its abstract, doi.org/10.1371/journal.pone.0086041,
# confirms LBP-TOP + SVM + LOSO). The alternative at hand, MEB's (after Zhao's MATLAB code):
# P = 8, R = 3 on all planes, 8x8 blocks overlapping by 70%. With P = 4 every neighbour lies on a
# grid point, so no interpolation is involved. Uniform patterns (the "u2" mapping of Zhao and
# Pietikäinen 2007 and Ojala et al. 2002: every pattern with at most two circular 0/1
# transitions its own bin, all others one bin): P(P-1)+3 = 15 bins per plane.
LBP_POINTS = 4
LBP_RADII = (1, 1, 4)  # (R_X, R_Y, R_T)
LBP_BLOCKS = (5, 5)  # (rows, columns) of the face
# MDMO's flow: from the first frame to each later frame (Liu et al. 2016 as we recall it; MEB's
# MDMO_video does the same), here over MDMO_FRAMES evenly spaced frames of the clip (all of them
# if fewer), not every frame: MDMO averages the per-frame features over the clip, and 9 flows
# per clip estimate that mean at a ninth or less of the cost (our choice, for the CPU budget).
# Liu et al. compute robust local optical flow (Senst et al. 2012), which opencv-python-headless
# lacks (no cv2.optflow); Farneback's dense flow stands in, with the parameters of OpenCV's own
# examples (samples/cpp/fback.cpp and the Python optical-flow tutorial: 0.5, 3, 15, 3, 5, 1.2,
# 0), as MEB's MDMO uses them.
MDMO_FRAMES = 10
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2,
             "flags": 0}
# 8 HOOF-like direction bins (Liu et al. 2016), centred on 0, 45, ..., 315 degrees as MEB reads
# them (bin 0 spans -22.5..22.5 degrees).
MDMO_BINS = 8
# Liu et al. divide the 36 magnitudes by their largest (MEB: feature_rho / max). Ours: by
# 0.01 px at least, so that a still clip's sub-pixel flow noise (Farneback gives ~1e-3 px inside
# the face for two identical frames) is not blown up to 1; the twins' expressions move ~1-3 px.
MDMO_MIN_RHO = 0.01
# Classifiers. A linear-kernel SVM with C = 1 (LIBSVM's default cost), one-vs-one as LIBSVM, on
# the features as they are: our reading, as neither baseline's kernel or C could be checked
# here (a linear kernel suits ~1000-dimensional histograms of 100-300 training clips). No
# scaling: the LBP-TOP blocks are normalised histograms, MDMO normalises its magnitudes itself.
SVM = {"kernel": "linear", "C": 1.0}
# ELM (Huang et al. 2006, the paper's [21]): sigmoid additive hidden nodes, input weights and
# biases drawn uniformly from [-1, 1] and inputs scaled to [0, 1] (their experiments, as we
# recall them), output weights by least squares, regularised as in Huang et al., "Extreme
# learning machine for regression and multiclass classification" (IEEE TSMC-B 42(2):513-529,
# 2012): beta = H^T (I/C + H H^T)^-1 T, targets +1 for the clip's class and -1 otherwise. Guo et
# al. [20]'s hidden-layer size is in their full text, not at hand (abstract:
# peeref.com/works/1181919, doi.org/10.1016/j.ijleo.2015.08.167); 1000 nodes and C = 1 are our
# choice: 1000 the size Huang et al. 2012 fix for sigmoid nodes (as we recall it), C = 1 the
# middle of their grid 2^-24..2^25; neither tuned on the twins.
ELM_HIDDEN = 1000
ELM_C = 1.0


def _settings(feature: str) -> str:
    """The settings a cached feature was computed with (a changed constant recomputes)."""
    common = {"frame_size": FRAME_SIZE, "version": 1}
    if feature == "lbptop":
        common.update(tim=TIM_FRAMES, points=LBP_POINTS, radii=LBP_RADII, blocks=LBP_BLOCKS)
    else:
        common.update(frames=MDMO_FRAMES, bins=MDMO_BINS, flow=FARNEBACK, min_rho=MDMO_MIN_RHO,
                      regions=_TEMPLATE_VERSION)
    return json.dumps(common, sort_keys=True)


def _check_feature(feature: str) -> None:
    if feature not in FEATURES:
        raise ValueError(f"feature {feature!r}: expected one of {', '.join(FEATURES)}")


def _check_volume(volume, who: str, min_frames: int) -> np.ndarray:
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"{who}: volume must be a grey (T, H, W) array, got shape {volume.shape}")
    if volume.shape[0] < min_frames:
        raise ValueError(f"{who}: volume must have at least {min_frames} frames, got {volume.shape[0]}")
    if volume.dtype != np.uint8:  # both features read 8-bit grey levels
        volume = np.clip(np.rint(volume), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(volume)


# ------------------------------------------------------------------------------ LBP-TOP

def _uniform_table(points: int) -> np.ndarray:
    """Code -> bin of the u2 mapping (Zhao and Pietikäinen 2007; Ojala et al. 2002):
    patterns with at most two circular 0/1 transitions numbered in code order, all other
    patterns in one last bin."""
    table = np.empty(2 ** points, np.int64)
    uniform = 0
    for code in range(2 ** points):
        bits = [(code >> p) & 1 for p in range(points)]
        if sum(bits[p] != bits[p - 1] for p in range(points)) <= 2:
            table[code] = uniform
            uniform += 1
        else:
            table[code] = -1
    table[table < 0] = uniform
    return table


_U2 = _uniform_table(LBP_POINTS)
LBP_BINS = int(_U2.max()) + 1  # 15 for P = 4


def plane_codes(volume: np.ndarray) -> dict[str, np.ndarray]:
    """The LBP codes of LBP-TOP (Zhao and Pietikäinen 2007) at every voxel
    that has all its neighbours: ``{"xy", "xt", "yt"}`` -> int (T - 2 R_T, H - 2 R_Y, W - 2 R_X).

    In each plane, neighbour p of the P = :data:`LBP_POINTS` lies at angle 2 pi p / P and sets
    bit p when its grey level is >= the centre's; with the radii :data:`LBP_RADII`:
    XY: p=0 (x+R_X, y), p=1 (x, y-R_Y), p=2 (x-R_X, y), p=3 (x, y+R_Y);
    XT: p=0 (x+R_X, t), p=1 (x, t-R_T), p=2 (x-R_X, t), p=3 (x, t+R_T);
    YT: p=0 (y-R_Y, t), p=1 (y, t-R_T), p=2 (y+R_Y, t), p=3 (y, t+R_T), the sampling of Zhao's
    code (y = y_c - R_Y cos, t = t_c - R_T sin). Each plane's codes come from
    :func:`skimage.feature.local_binary_pattern` (P, R = 1) run on images whose rows are the
    frames t - R_T, t, t + R_T: its circle of radius 1 there is the ellipse of radii (R_X, R_T)."""
    from skimage.feature import local_binary_pattern

    rx, ry, rt = LBP_RADII
    if rx != ry or rx != 1:  # the stacking below needs unit spatial radii (skimage's circle)
        raise ValueError(f"LBP_RADII {LBP_RADII}: expected R_X = R_Y = 1")
    v = _check_volume(volume, "plane_codes", 2 * rt + 1)
    T, H, W = v.shape
    if min(H, W) < 3:  # 2 R + 1 with R_X = R_Y = 1
        raise ValueError(f"plane_codes: frames must be at least 3x3, got {H}x{W}")
    centre = np.arange(rt, T - rt)
    n = len(centre)
    xy = local_binary_pattern(np.ascontiguousarray(v[centre]).reshape(n * H, W), LBP_POINTS, 1, "default")
    xy = xy.reshape(n, H, W)
    # rows t - R_T, t, t + R_T of every centre frame, side by side: (n, 3, H, W)
    triple = v[centre[:, None] + np.array([-rt, 0, rt])[None, :]]
    # XT: one image per (t, y), rows = the three frames, columns = x
    xt = np.ascontiguousarray(triple.transpose(0, 2, 1, 3)).reshape(n * H * 3, W)
    xt = local_binary_pattern(xt, LBP_POINTS, 1, "default").reshape(n, H, 3, W)[:, :, 1, :]
    # YT: one image per (t, x), rows = the three frames, columns = y reversed (Zhao's p=0 is y-1)
    yt = np.ascontiguousarray(triple.transpose(0, 3, 1, 2)[..., ::-1]).reshape(n * W * 3, H)
    yt = local_binary_pattern(yt, LBP_POINTS, 1, "default").reshape(n, W, 3, H)[:, :, 1, ::-1]
    yt = yt.transpose(0, 2, 1)  # (n, H, W)
    inner = (slice(None), slice(ry, H - ry), slice(rx, W - rx))
    return {name: codes[inner].astype(np.int64) for name, codes in (("xy", xy), ("xt", xt), ("yt", yt))}


def block_histograms(codes: np.ndarray, blocks=LBP_BLOCKS) -> np.ndarray:
    """The u2 histograms of one plane's codes (T', H', W') on a ``blocks`` grid of the frame
    (rows x columns, split as evenly as the pixels allow), each normalised to sum 1 (Zhao and
    Pietikäinen 2007: block histograms, normalised) -> (rows * columns, LBP_BINS)."""
    codes = np.asarray(codes)
    _, h, w = codes.shape
    rows, cols = blocks
    if h < rows or w < cols:
        raise ValueError(f"block_histograms: {h}x{w} codes cannot make {rows}x{cols} blocks")
    block = (np.arange(h) * rows // h)[:, None] * cols + (np.arange(w) * cols // w)[None, :]
    keys = np.broadcast_to(block, codes.shape) * LBP_BINS + _U2[codes]
    hist = np.bincount(keys.ravel(), minlength=rows * cols * LBP_BINS).reshape(rows * cols, LBP_BINS)
    return hist / hist.sum(axis=1, keepdims=True)


def lbp_top(volume: np.ndarray) -> np.ndarray:
    """LBP-TOP of a grey (T, H, W) clip (Zhao and Pietikäinen 2007): the u2
    histograms of the XY, XT and YT codes (:func:`plane_codes`) in each of the 5x5 blocks
    (:func:`block_histograms`), concatenated block by block, XY, XT, YT within a block ->
    float32 (25 * 3 * 15 = 1125,). ``volume`` needs 2 R_T + 1 = 9 frames or more
    (:func:`clip_volume` gives :data:`TIM_FRAMES`)."""
    codes = plane_codes(volume)
    hists = np.stack([block_histograms(codes[p]) for p in ("xy", "xt", "yt")], axis=1)  # (blocks, 3, bins)
    return hists.reshape(-1).astype(np.float32)


# ------------------------------------------------------------------------------ MDMO regions

_TEMPLATE_VERSION = 1
# Our stand-in for Liu et al.'s 36 ROIs (2016), which are polygons between 66
# landmarks found by DRMF, partly after FACS action units. With no landmark model offline we
# place 18 regions on the image's right half of the aligned face crop, mirrored to the left, in
# normalised crop coordinates: dx = |x/W - 0.5| (distance from the vertical midline, as a
# share of the width) and y/H (0 at the top). The layout follows Liu et al.'s numbering (MEB's
# transcription of it, meb/utils/traditional_methods.py, load_roi_36): 3 regions per side
# along the brows, 4 in the band between brows and eyes (temples included), 3 under the eyes,
# then nose side, cheek, mouth corner, lower cheek, below the mouth and lip, jaw and chin. Like
# Liu et al.'s, no region covers the middle of the lips; unlike theirs, which leave the eyes out
# (blinks), "upper lid" and "lower lid" meet across each eye: a fixed template cannot follow
# each face's eye line, and AU5/AU7 move the lids themselves. The coordinates fit the
# releases' tight crops (brows to chin) and the twins' faces, whose landmarks
# (synthetic.Face.landmarks, placed by synthetic.Frame.cropped) fall in the region of their
# name (tests/test_handcrafted.py).
_HALF_TEMPLATE = {  # part -> (Liu et al.'s ROI numbers image-left/right (0-based, MEB), polygon in (dx, y))
    "brow outer": ((0, 5), [(0.14, 0.17), (0.34, 0.17), (0.34, 0.38), (0.26, 0.36), (0.20, 0.315), (0.14, 0.31)]),
    "brow inner": ((1, 4), [(0.04, 0.17), (0.14, 0.17), (0.14, 0.355), (0.04, 0.355)]),
    "glabella": ((2, 3), [(0.0, 0.17), (0.04, 0.17), (0.04, 0.355), (0.0, 0.355)]),
    "temple": ((6, 13), [(0.34, 0.30), (0.43, 0.30), (0.44, 0.50), (0.34, 0.50)]),
    "eye outer corner": ((7, 12), [(0.235, 0.35), (0.26, 0.36), (0.34, 0.38), (0.34, 0.395), (0.235, 0.395)]),
    "upper lid": ((8, 11), [(0.10, 0.355), (0.14, 0.355), (0.14, 0.31), (0.20, 0.315), (0.235, 0.35),
                            (0.235, 0.395), (0.10, 0.395)]),
    "nose root": ((9, 10), [(0.0, 0.355), (0.10, 0.355), (0.10, 0.43), (0.0, 0.43)]),
    "cheek outer": ((14, 19), [(0.235, 0.395), (0.34, 0.395), (0.34, 0.49), (0.235, 0.49)]),
    "lower lid": ((15, 18), [(0.10, 0.395), (0.235, 0.395), (0.235, 0.49), (0.10, 0.49)]),
    "nose bridge": ((16, 17), [(0.0, 0.43), (0.10, 0.43), (0.10, 0.50), (0.0, 0.50)]),
    "nose side": ((20, 21), [(0.0, 0.50), (0.12, 0.50), (0.12, 0.63), (0.0, 0.63)]),
    "mouth corner": ((22, 23), [(0.06, 0.64), (0.20, 0.64), (0.20, 0.78), (0.06, 0.78)]),
    "below mouth corner": ((24, 27), [(0.09, 0.78), (0.20, 0.78), (0.20, 0.86), (0.09, 0.86)]),
    "below lip": ((25, 26), [(0.0, 0.80), (0.09, 0.80), (0.09, 0.84), (0.0, 0.84)]),
    "cheek": ((28, 29), [(0.15, 0.49), (0.34, 0.49), (0.34, 0.62), (0.15, 0.62)]),
    "lower cheek": ((30, 31), [(0.20, 0.62), (0.30, 0.62), (0.30, 0.78), (0.20, 0.78)]),
    "jaw": ((32, 35), [(0.09, 0.86), (0.21, 0.86), (0.13, 0.92), (0.09, 0.93)]),
    "chin": ((33, 34), [(0.0, 0.84), (0.09, 0.84), (0.09, 0.95), (0.0, 0.95)]),
}
# MDMO's alignment points (Liu et al. 2016: an affine transform from points the
# expressions hardly move, on the face contour and the nose; MEB uses 12 jaw-line points and
# the nose tip): patches on both cheeks' outer edge at eye and at nose height, in the same
# (dx, y) coordinates, as (dx0, dx1, y0, y1). No nose patch: on the twins AU9 (nose wrinkler)
# moves the nose, and four contour patches already fix the six affine parameters.
_ANCHORS = [(0.38, 0.42, 0.36, 0.44), (0.36, 0.40, 0.56, 0.64)]


def _pixel_coordinates(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pixel centre's (dx, y, side) in the template's coordinates; side +1 image right,
    -1 image left, 0 the middle column of an odd width. dx is exact for mirrored pixels."""
    j = np.arange(width)
    twice = 2 * j + 1 - width  # 2 W (x/W - 0.5), an integer: mirrored columns get the same |value|
    dx = np.abs(twice) / (2 * width)
    y = (np.arange(height) + 0.5) / height
    return dx, y, np.sign(twice)


@lru_cache(maxsize=16)
def _region_labels(height: int, width: int) -> tuple[tuple[str, ...], np.ndarray]:
    """The 36 region names (Liu et al.'s order) and an int label image (height, width), -1
    outside every region; a pixel on a shared edge goes to the region listed first. Cached
    per size (read-only)."""
    from skimage.measure import points_in_poly

    if height < 16 or width < 16:
        raise ValueError(f"regions: frame must be at least 16x16 px, got {height}x{width}")
    dx, y, side = _pixel_coordinates(height, width)
    yy, dd = np.meshgrid(y, dx, indexing="ij")
    points = np.column_stack([dd.ravel(), yy.ravel()])
    sides = np.broadcast_to(side[None, :], (height, width))
    names, label = [None] * 36, np.full((height, width), -1, np.int64)
    for part, ((left, right), polygon) in _HALF_TEMPLATE.items():
        inside = points_in_poly(points, np.asarray(polygon, float)).reshape(height, width) & (label < 0)
        for index, s, side_name in ((left, -1, "left"), (right, 1, "right")):
            names[index] = f"{side_name} {part}"
            label[inside & (sides == s)] = index
    label.flags.writeable = False
    return tuple(names), label


def regions(height: int, width: int) -> list[tuple[str, np.ndarray]]:
    """MDMO's 36 regions of interest (Liu et al. 2016) as our fixed template on an
    aligned face crop of ``height`` x ``width`` px: ``(name, boolean mask)`` in Liu et al.'s
    order, names ``"<image side> <part>"`` ("left brow outer", ...; left/right of the image,
    not of the subject). The regions are disjoint and mirror images of each other left and
    right. Our substitute for Liu et al.'s landmark-placed polygons (see ``_HALF_TEMPLATE``):
    we run offline with no landmark model, and the releases' crops (and the twins) are aligned."""
    names, label = _region_labels(height, width)
    return [(name, label == k) for k, name in enumerate(names)]


@lru_cache(maxsize=16)
def _anchor_labels(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Label image of the alignment patches (both sides; -1 elsewhere) and each patch's centre
    (x, y) in px; cached per size (read-only)."""
    dx, y, side = _pixel_coordinates(height, width)
    label = np.full((height, width), -1, np.int64)
    centres = []
    for k, (d0, d1, y0, y1) in enumerate(_ANCHORS):
        rows = (y >= y0) & (y < y1)
        for s_index, s in enumerate((-1, 1)):
            cols = (dx >= d0) & (dx < d1) & (side == s)
            index = 2 * k + s_index
            label[np.ix_(rows, cols)] = index
            centres.append((width * (0.5 + s * (d0 + d1) / 2), height * (y0 + y1) / 2))
    centres = np.asarray(centres, float)
    label.flags.writeable = centres.flags.writeable = False
    return label, centres


# ------------------------------------------------------------------------------ MDMO

def _direction_bins(theta: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each angle (radians in [0, 2 pi)), bins centred on 0, 2 pi/bins, ...: bin 0 is
    (-pi/bins, pi/bins]."""
    width = 2 * np.pi / bins
    return np.floor((theta + width / 2) / width).astype(np.int64) % bins


def _polar(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude and angle in [0, 2 pi) (OpenCV's cartToPolar convention: from +x towards +y,
    image y pointing down, so 'up' is 3 pi / 2)."""
    return np.hypot(u, v), np.mod(np.arctan2(v, u), 2 * np.pi)


def main_direction(flow: np.ndarray, mask=None, bins: int = MDMO_BINS) -> tuple[float, float]:
    """The main direction of a region's flow (Liu et al. 2016): the flow vectors of
    ``flow`` (H, W, 2) in ``mask`` (all pixels if None) put in ``bins`` direction bins
    (HOOF-like, centred on 0, 45, ... degrees; angles as :func:`_polar`); in the fullest bin
    (the first of equals), the mean magnitude of its vectors and their mean angle (the
    circular mean, in [0, 2 pi)) -> ``(rho, theta)``."""
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"main_direction: flow must be (H, W, 2), got shape {flow.shape}")
    if mask is None:
        mask = np.ones(flow.shape[:2], bool)
    mask = np.asarray(mask, bool)
    if mask.shape != flow.shape[:2]:
        raise ValueError(f"main_direction: mask must be {flow.shape[:2]} like the flow, got {mask.shape}")
    if not mask.any():
        raise ValueError("main_direction: the mask selects no pixel; expected a non-empty region")
    rho, theta = _polar(flow[..., 0][mask], flow[..., 1][mask])
    b = _direction_bins(theta, bins)
    fullest = int(np.argmax(np.bincount(b, minlength=bins)))
    sel = b == fullest
    return float(rho[sel].mean()), float(np.mod(np.arctan2(np.sin(theta[sel]).sum(), np.cos(theta[sel]).sum()),
                                                2 * np.pi))


def _main_directions(flow: np.ndarray, label: np.ndarray, n: int, bins: int = MDMO_BINS):
    """:func:`main_direction` of every region of a label image at once -> (rho, theta), each (n,)."""
    inside = label >= 0
    lab = label[inside]
    rho, theta = _polar(flow[..., 0][inside].astype(np.float64), flow[..., 1][inside].astype(np.float64))
    b = _direction_bins(theta, bins)
    counts = np.bincount(lab * bins + b, minlength=n * bins).reshape(n, bins)
    sel = b == np.argmax(counts, axis=1)[lab]
    k, size = lab[sel], np.maximum(counts.max(axis=1), 1)
    mean_rho = np.bincount(k, rho[sel], minlength=n) / size
    angle = np.arctan2(np.bincount(k, np.sin(theta[sel]), minlength=n), np.bincount(k, np.cos(theta[sel]), minlength=n))
    return mean_rho, np.mod(angle, 2 * np.pi)


def _align(flow: np.ndarray, anchor_label: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The flow less the affine motion fitted (least squares) to the median flow of the
    alignment patches: our form of Liu et al.'s alignment (2016), which removes the
    head's global motion so that what is left is the face's own."""
    n = len(centres)
    disp = np.array([np.median(flow[anchor_label == k], axis=0) for k in range(n)])  # (n, 2)
    design = np.column_stack([centres, np.ones(n)])  # (n, 3)
    affine, *_ = np.linalg.lstsq(design, disp, rcond=None)  # (3, 2)
    h, w = flow.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    motion = xx[..., None] * affine[0] + yy[..., None] * affine[1] + affine[2]
    return flow - motion.astype(np.float32)


def mdmo(volume: np.ndarray) -> np.ndarray:
    """MDMO of a grey (T, H, W) clip (Liu et al. 2016): the Farneback flow from the
    first frame to each later one (:data:`FARNEBACK`), aligned (:func:`_align`); in each of the
    36 regions (:func:`regions`) the main direction's mean vector (:func:`main_direction`);
    averaged over the T - 1 flows as vectors (averaging angles as numbers would put the mean
    of 1 and 359 degrees at 180); magnitudes divided by the largest of the 36 (Liu et al.'s
    normalisation; by :data:`MDMO_MIN_RHO` at least) -> float32 (72,) = (rho_1, theta_1, ...,
    rho_36, theta_36), theta in [0, 2 pi) as :func:`_polar`."""
    import cv2

    v = _check_volume(volume, "mdmo", 2)
    T, H, W = v.shape
    names, label = _region_labels(H, W)
    anchors, centres = _anchor_labels(H, W)
    mean = np.zeros((len(names), 2))
    for i in range(1, T):
        flow = cv2.calcOpticalFlowFarneback(v[0], v[i], None, **FARNEBACK)
        rho, theta = _main_directions(_align(flow, anchors, centres), label, len(names))
        mean += np.column_stack([rho * np.cos(theta), rho * np.sin(theta)])
    rho, theta = _polar(mean[:, 0] / (T - 1), mean[:, 1] / (T - 1))
    rho = rho / max(rho.max(), MDMO_MIN_RHO)
    return np.column_stack([rho, theta]).reshape(-1).astype(np.float32)


# ------------------------------------------------------------------------------ clips

def _frame_plan(n: int, feature: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which of a clip's ``n`` frames a feature reads, and how to combine them: (frames to read,
    index of the lower frame per output frame into those, weight of the upper one)."""
    if feature == "lbptop":  # TIM_FRAMES frames interpolated linearly along the clip
        pos = np.linspace(0, n - 1, TIM_FRAMES)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        weight = pos - lo
    else:  # MDMO_FRAMES evenly spaced frames as they are (a flow needs real frames, not blends)
        lo = np.unique(np.rint(np.linspace(0, n - 1, min(n, MDMO_FRAMES))).astype(np.int64))
        hi, weight = lo, np.zeros(len(lo))
        if n == 1:  # one frame: no motion to measure; two copies give a zero flow
            lo = hi = np.zeros(2, np.int64)
            weight = np.zeros(2)
    read = np.unique(np.concatenate([lo, hi]))
    where = {f: k for k, f in enumerate(read)}
    return read, np.array([where[f] for f in lo]), np.array([where[f] for f in hi]), weight


def clip_volume(row, feature: str) -> np.ndarray:
    """The grey uint8 (T, H, W) volume ``feature`` reads of one clip-table row (``row.frames``,
    optional ``row.layout``): only the frames it needs are decoded; each resized to
    :data:`FRAME_SIZE` (``layout='raw'``: the face found in the first frame and cropped,
    :func:`faces.read_clip`); for ``lbptop`` :data:`TIM_FRAMES` frames interpolated linearly,
    for ``mdmo`` up to :data:`MDMO_FRAMES` evenly spaced frames."""
    import cv2

    _check_feature(feature)
    frames = list(row.frames)
    if not frames:
        raise ValueError("clip_volume: the row has no frames; expected a list of frame paths")
    read, lo, hi, weight = _frame_plan(len(frames), feature)
    paths = [frames[i] for i in read]
    height, width = FRAME_SIZE
    layout = getattr(row, "layout", "cropped")
    if layout == "raw":
        from .faces import read_clip

        clip = read_clip(paths, size=FRAME_SIZE, layout="raw", color=False)
    elif layout == "cropped":
        from .frames import read_frames

        clip = read_frames(paths, color=False)  # grey whatever the file's channels (frames.read_frame)
        if clip.shape[1:] != FRAME_SIZE:
            shrink = clip.shape[1] * clip.shape[2] >= height * width
            method = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            clip = np.stack([cv2.resize(f, (width, height), interpolation=method) for f in clip])
    else:
        raise ValueError(f"clip_volume: layout {layout!r}: expected 'cropped' or 'raw'")
    if not weight.any():
        return np.ascontiguousarray(clip[lo])
    w = weight.astype(np.float32)[:, None, None]
    blend = clip[lo].astype(np.float32) * (1 - w) + clip[hi].astype(np.float32) * w
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


_EXTRACT = {"lbptop": lbp_top, "mdmo": mdmo}


def _clip_key(frames) -> str:
    """A clip's identity in a feature cache: its frames' names, as inputs._fingerprint reads them."""
    frames = list(frames)
    return hashlib.sha256(f"{len(frames)}|{frames[0]}|{frames[-1]}".encode()).hexdigest()[:20]


def _cached_rows(cache_dir: Path, feature: str, settings: str, keys: list[str]) -> dict[str, np.ndarray]:
    """Rows of ``keys`` already computed in any cache file of ``feature`` with the same settings
    (smic and smic_2class read many of the same clips under different clip tables)."""
    wanted, found = set(keys), {}
    for path in sorted(cache_dir.glob(f"features-{feature}-*.npz")):
        try:
            with np.load(path) as z:
                if str(z["settings"]) != settings:
                    continue
                for key, value in zip(z["keys"].tolist(), z["features"]):
                    if key in wanted:
                        found[key] = value
        except (OSError, KeyError, ValueError):  # a foreign or damaged file: not ours to use
            continue
        if len(found) == len(wanted):
            break
    return found


def features(df: pd.DataFrame, feature: str, cache_dir=inputs.CACHE_DIR, progress: bool = True) -> np.ndarray:
    """``feature`` (``lbptop``: :func:`lbp_top`, ``mdmo``: :func:`mdmo`) of every clip of ``df``
    (:func:`clip_volume`) -> float32 (N, D), one row per clip in row order.

    Cached as ``cache_dir/features-<feature>-<fingerprint>.npz`` (``inputs._fingerprint``: the
    clips' frame names, so two dataset keys that read the same clips share the file), written
    through :func:`files.replacing`; the file also keeps each row's clip key and the settings, so
    a changed setting recomputes and a clip already in another table's cache is not computed
    again. ``cache_dir=None`` computes without caching. Clips run on all cores (threads: the
    decoders, OpenCV's flow, scikit-image's LBP and numpy release the GIL); the result does not
    depend on how many."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    _check_feature(feature)
    if df is None or len(df) == 0:
        raise ValueError(f"features: the clip table is empty; expected at least one clip to compute {feature!r} of")
    dataset = str(df["dataset"].iloc[0]) if "dataset" in df else "clips"
    settings = _settings(feature)
    keys = [_clip_key(f) for f in df["frames"]]
    path, known = None, {}
    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        path = cache_dir / f"features-{feature}-{inputs._fingerprint(df)}.npz"
        if path.is_file():
            try:
                with np.load(path) as z:
                    if str(z["settings"]) == settings and z["keys"].tolist() == keys:
                        return z["features"]
            except (OSError, KeyError, ValueError):
                pass  # damaged or from another version: computed again below
        if cache_dir.is_dir():
            known = _cached_rows(cache_dir, feature, settings, keys)
    rows = list(df.itertuples(index=False))
    todo = [i for i, key in enumerate(keys) if key not in known]
    extract = _EXTRACT[feature]

    def one(i):
        return extract(clip_volume(rows[i], feature))

    bar = tqdm(total=len(rows), initial=len(rows) - len(todo), desc=f"{dataset} {feature}", unit="clip",
               disable=not progress)
    computed = {}
    workers = min(len(todo), _cores())
    try:
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                for i, value in zip(todo, pool.map(one, todo)):
                    computed[i] = value
                    bar.update()
        else:
            for i in todo:
                computed[i] = one(i)
                bar.update()
    finally:
        bar.close()
    out = np.stack([computed[i] if i in computed else known[keys[i]] for i in range(len(rows))]).astype(np.float32)
    if path is not None:
        with replacing(path, suffix=".npz") as tmp:
            np.savez(tmp, features=out, keys=np.array(keys), settings=np.array(settings))
    return out


# ------------------------------------------------------------------------------ classifiers

class ELM(ClassifierMixin, BaseEstimator):
    """An extreme learning machine classifier (Huang et al. 2006, the paper's [21]):
    one hidden layer of ``hidden`` sigmoid nodes with random input weights and biases
    (uniform in [-1, 1], from ``seed``) on inputs scaled to [0, 1] by the training minimum and
    range, and output weights by regularised least squares,
    beta = H^T (I/C + H H^T)^-1 T (or (I/C + H^T H)^-1 H^T T when there are more clips than
    nodes; Huang et al. 2012), targets +1 / -1 per class. ``predict`` gives
    the class of the largest output, as the labels given to ``fit``. Deterministic for a seed."""

    def __init__(self, hidden: int = ELM_HIDDEN, C: float = ELM_C, seed: int = 0):
        self.hidden = hidden
        self.C = C
        self.seed = seed

    def _hidden(self, X: np.ndarray) -> np.ndarray:
        scaled = (X - self.offset_) / self.scale_
        return 1.0 / (1.0 + np.exp(-np.clip(scaled @ self.weights_ + self.biases_, -60, 60)))

    def fit(self, X, y):
        """Fit on ``X`` (n_clips, n_features) and labels ``y`` (n_clips,) -> self."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"ELM.fit: X must be 2-D (clips, features), got shape {X.shape}")
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"ELM.fit: y must be 1-D with one label per row of X ({len(X)}), got shape {y.shape}")
        if len(X) == 0:
            raise ValueError("ELM.fit: expected at least one clip, got none")
        if int(self.hidden) < 1 or not self.C > 0:
            raise ValueError(f"ELM: expected hidden >= 1 and C > 0, got hidden={self.hidden}, C={self.C}")
        self.classes_, index = np.unique(y, return_inverse=True)
        self.offset_ = X.min(axis=0)
        span = X.max(axis=0) - self.offset_
        self.scale_ = np.where(span > 0, span, 1.0)
        rng = np.random.default_rng(self.seed)
        self.weights_ = rng.uniform(-1, 1, (X.shape[1], int(self.hidden)))
        self.biases_ = rng.uniform(-1, 1, int(self.hidden))
        H = self._hidden(X)
        targets = -np.ones((len(X), len(self.classes_)))
        targets[np.arange(len(X)), index] = 1.0
        if len(X) <= H.shape[1]:
            self.beta_ = H.T @ np.linalg.solve(np.eye(len(X)) / self.C + H @ H.T, targets)
        else:
            self.beta_ = np.linalg.solve(np.eye(H.shape[1]) / self.C + H.T @ H, H.T @ targets)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X) -> np.ndarray:
        """The output layer, (n_clips, n_classes)."""
        if not hasattr(self, "beta_"):
            raise ValueError("ELM: call fit(X, y) before predict")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"ELM.predict: X must be (clips, {self.n_features_in_}) as in fit, got shape {X.shape}")
        return self._hidden(X) @ self.beta_

    def predict(self, X) -> np.ndarray:
        """The class of the largest output for each row of ``X``, as given to ``fit``."""
        scores = self.decision_function(X)  # first: it says when fit was not called
        return self.classes_[np.argmax(scores, axis=1)]


def classifier(method: str, seed: int = 0):
    """An unfitted classifier of ``method`` (:data:`METHODS`): scikit-learn's ``SVC`` with
    :data:`SVM` (one-vs-one, as LIBSVM, which the sources used) or :class:`ELM` with
    :data:`ELM_HIDDEN` nodes and :data:`ELM_C`; deterministic for a ``seed``."""
    from sklearn.svm import SVC

    if method not in METHODS:
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    if METHODS[method][1] == "elm":
        return ELM(hidden=ELM_HIDDEN, C=ELM_C, seed=seed)
    return SVC(**SVM, random_state=seed)


# ------------------------------------------------------------------------------ MDMO, one flow at a time (chapter 7)

def frame_position(n_frames: int, feature: str, frame: int) -> int:
    """Where a clip's frame ``frame`` (0-based, of ``n_frames``) lands in the volume
    :func:`clip_volume` gives for ``feature``: the position of the nearest frame it reads
    (``mdmo``: of its evenly spaced frames; ``lbptop``: of its :data:`TIM_FRAMES` interpolated
    ones). For the chapter's figures, e.g. the frame nearest the apex."""
    _check_feature(feature)
    if n_frames < 1 or not 0 <= frame < n_frames:
        raise ValueError(f"frame_position: frame {frame} is not one of the clip's {n_frames} frames")
    if feature == "lbptop":
        times = np.linspace(0, n_frames - 1, TIM_FRAMES)
    else:
        read, lo, _, _ = _frame_plan(n_frames, feature)
        times = read[lo]
    return int(np.argmin(np.abs(times - frame)))


def aligned_flow(volume: np.ndarray, frame: int) -> np.ndarray:
    """The flow MDMO reads for one frame of a grey (T, H, W) clip: Farneback's flow
    (:data:`FARNEBACK`) from the first frame to ``volume[frame]``, less the head's motion
    fitted on the alignment patches (:func:`_align`) -> float32 (H, W, 2), (dx, dy) in px,
    image y pointing down. :func:`mdmo` averages the regions' main directions of these
    flows over the clip's frames."""
    import cv2

    v = _check_volume(volume, "aligned_flow", 2)
    T, H, W = v.shape
    if not 1 <= frame < T:
        raise ValueError(f"aligned_flow: frame {frame}: expected 1..{T - 1} (the flow runs from frame 0)")
    anchors, centres = _anchor_labels(H, W)
    flow = cv2.calcOpticalFlowFarneback(v[0], v[frame], None, **FARNEBACK)
    return _align(flow, anchors, centres).astype(np.float32)


def region_directions(volume: np.ndarray, frame: int) -> pd.DataFrame:
    """Each of MDMO's 36 regions (:func:`regions`) on one frame's flow (:func:`aligned_flow`):
    its main direction (:func:`main_direction`, the mean vector of the fullest of
    :data:`MDMO_BINS` direction bins) -> one row per region in Liu et al.'s order: ``region``
    (name), ``rho`` (px, not normalised), ``theta`` (radians in [0, 2 pi), from +x towards +y,
    image y down), ``x``, ``y`` (the region's centroid, px) and ``pixels``."""
    flow = aligned_flow(volume, frame)
    H, W = flow.shape[:2]
    names, label = _region_labels(H, W)
    rho, theta = _main_directions(flow, label, len(names))
    yy, xx = np.nonzero(label >= 0)
    lab = label[yy, xx]
    pixels = np.bincount(lab, minlength=len(names))
    return pd.DataFrame({"region": list(names), "rho": rho, "theta": theta,
                         "x": np.bincount(lab, xx, minlength=len(names)) / pixels,
                         "y": np.bincount(lab, yy, minlength=len(names)) / pixels, "pixels": pixels})

