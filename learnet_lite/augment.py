"""Data augmentation of dynamic images (the paper's Sec. IV).

The paper's sentence: "each dynamic image is rotated between [-45°, 45°] with the increment
of 15°, enhanced by histogram equalization and then all generated images are flipped
horizontally."

Our reading (the defaults):

* rotations: the seven angles -45, -30, -15, 0, 15, 30, 45 degrees (0° included: it lies in
  the closed range), about the image centre, same size, corners filled black as MATLAB's
  ``imrotate(..., 'crop')`` (the authors used MATLAB r2018a) and bilinear interpolation;
* every rotated image is histogram-equalized, which *replaces* it (the un-equalized
  rotation is not kept; ``keep_unequalized=True`` keeps both);
* "all generated images are flipped horizontally" *adds* a mirrored copy of each, so one
  dynamic image gives 7 rotations x {as is, flipped} = **14** images
  (28 with ``keep_unequalized``). The original itself survives only as the equalized 0° copy.

The paper does not say how a colour image is equalized; ``equalization="luma"`` (default)
equalizes the Y channel of YCrCb so that hues are kept, ``"channels"`` equalizes R, G and B
separately (what MATLAB's ``histeq`` does per plane), ``None`` skips equalization.

Everything here is deterministic: there is no random draw, each copy is fixed by
``(source, angle, flipped, equalized)``. :func:`plan` lists those copies without touching
pixels (what :mod:`learnet_lite.protocols` needs); :func:`augment` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PAPER_ANGLES = (-45, -30, -15, 0, 15, 30, 45)
EQUALIZATIONS = ("luma", "channels", None)
BORDERS = ("constant", "replicate", "reflect")
PLAN_COLUMNS = ["source", "angle", "flipped", "equalized"]


@dataclass(frozen=True)
class Options:
    """How one dynamic image becomes several (defaults: the paper's reading, 14 copies)."""

    angles: tuple = PAPER_ANGLES
    equalization: str | None = "luma"
    keep_unequalized: bool = False
    flip: bool = True
    border: str = "constant"

    def __post_init__(self):
        angles = tuple(float(a) if not float(a).is_integer() else int(a) for a in self.angles)
        if not angles:
            raise ValueError("augmentation angles: expected at least one angle, got none")
        if len(set(angles)) != len(angles):
            raise ValueError(f"augmentation angles: expected distinct angles, got {list(self.angles)}")
        object.__setattr__(self, "angles", angles)
        if self.equalization not in EQUALIZATIONS:
            raise ValueError(f"equalization={self.equalization!r}: expected one of {EQUALIZATIONS}")
        if self.border not in BORDERS:
            raise ValueError(f"border={self.border!r}: expected one of {BORDERS}")
        if self.keep_unequalized and self.equalization is None:
            raise ValueError("keep_unequalized=True needs an equalization (got equalization=None)")

    @classmethod
    def from_profile(cls, profile) -> Options:
        """Options from a run profile's ``aug_*`` settings (:class:`learnet_lite.profiles.Profile`)."""
        return cls(angles=profile.aug_angles, equalization=profile.aug_equalization,
                   keep_unequalized=profile.aug_keep_unequalized, flip=profile.aug_flip)

    @property
    def copies_per_image(self) -> int:
        """Images made from one dynamic image (14 for the paper's reading)."""
        return len(self.angles) * (1 + self.keep_unequalized) * (1 + self.flip)


def resolve(options: Options | dict | None) -> Options:
    """``None`` -> the paper's defaults; a dict -> ``Options(**dict)``."""
    if options is None:
        return Options()
    if isinstance(options, Options):
        return options
    if isinstance(options, dict):
        return Options(**options)
    raise TypeError(f"augmentation options: expected Options, dict or None, got {type(options).__name__}")


def plan(sources, options: Options | dict | None = None) -> pd.DataFrame:
    """The augmented copies of the given source clips, one row each, without pixels:
    columns ``source, angle, flipped, equalized``, in the order :func:`augment` renders them
    (per source: angle, then un-equalized before equalized, then as-is before flipped)."""
    opts = resolve(options)
    sources = np.asarray(sources).ravel()
    eq_states = ([False] if opts.equalization is None
                 else ([False, True] if opts.keep_unequalized else [True]))
    flips = [False, True] if opts.flip else [False]
    per_image = [(a, f, e) for a in opts.angles for e in eq_states for f in flips]
    rows = [(s, a, f, e) for s in sources for a, f, e in per_image]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS).astype(
        {"angle": float, "flipped": bool, "equalized": bool})


def identity_plan(sources, options: Options | dict | None = None) -> pd.DataFrame:
    """One copy per source, the way an un-augmented image is shown to the network: 0°, not
    flipped, equalized like the training copies (so train and test see the same contrast)."""
    opts = resolve(options)
    sources = np.asarray(sources).ravel()
    return pd.DataFrame({"source": sources, "angle": 0.0, "flipped": False,
                         "equalized": opts.equalization is not None})


def rotate(image: np.ndarray, angle: float, border: str = "constant") -> np.ndarray:
    """Rotate counter-clockwise by ``angle`` degrees about the centre, same size (OpenCV)."""
    import cv2

    if angle == 0:
        return image.copy()
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), float(angle), 1.0)
    mode = {"constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE,
            "reflect": cv2.BORDER_REFLECT_101}[border]
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=mode, borderValue=0)


def equalize(image: np.ndarray, mode: str = "luma") -> np.ndarray:
    """Histogram equalization (OpenCV ``equalizeHist``) of a uint8 grey or RGB image."""
    import cv2

    if image.ndim == 2:
        return cv2.equalizeHist(image)
    if mode == "luma":
        ycrcb = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
        ycrcb[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycrcb[..., 0]))
        return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)
    if mode == "channels":
        return np.stack([cv2.equalizeHist(np.ascontiguousarray(image[..., c]))
                         for c in range(image.shape[2])], axis=-1)
    raise ValueError(f"equalization mode {mode!r}: expected 'luma' or 'channels'")


def render(image: np.ndarray, angle: float, flipped: bool, equalized: bool,
           options: Options | dict | None = None) -> np.ndarray:
    """One augmented copy of one image: rotate, then equalize, then flip (the paper's order)."""
    opts = resolve(options)
    out = rotate(image, angle, opts.border)
    if equalized:
        out = equalize(out, opts.equalization or "luma")
    if flipped:
        out = np.ascontiguousarray(out[:, ::-1])
    return out


def augment(images: np.ndarray, sources=None, options: Options | dict | None = None):
    """Augment one image (H, W[, 3]) or a batch (N, H, W[, 3]) of uint8 dynamic images.

    Returns ``(augmented, copies)``: the uint8 array (M, H, W[, 3]) and the
    :func:`plan` DataFrame of its M rows; ``copies.source`` is the index of the source clip
    of each copy (``sources[i]`` when given, else the position ``i`` in the batch)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"augment: expected uint8 images (use dynamic.to_uint8 first), got {images.dtype}")
    # (H, W, 3) is one colour image; a grey batch (N, H, W) never ends in 3 channels here
    if images.ndim == 2 or (images.ndim == 3 and images.shape[-1] == 3):
        images = images[None]
    elif not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
        raise ValueError(f"augment: expected (H,W), (H,W,3), (N,H,W) or (N,H,W,3) images, got shape {images.shape}")
    n = len(images)
    positions = np.arange(n)
    labels = positions if sources is None else np.asarray(sources).ravel()
    if len(labels) != n:
        raise ValueError(f"augment: got {n} images but {len(labels)} source indices")
    copies = plan(positions, options)
    out = render_plan(images, copies, options)
    copies["source"] = labels[copies["source"].to_numpy()]
    return out, copies


def render_plan(images, copies: pd.DataFrame, options: Options | dict | None = None) -> np.ndarray:
    """Render the rows of a :func:`plan` (e.g. a fold's ``part("train")``): row i is copy
    ``(angle, flipped, equalized)`` of ``images[source_i]``, so ``images`` is indexed by
    the clip positions the plan refers to (e.g. all dynamic images of the dataset)."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"render_plan: expected uint8 images, got {images.dtype}")
    missing = [c for c in PLAN_COLUMNS if c not in copies.columns]
    if missing:
        raise ValueError(f"render_plan: the plan lacks column(s) {', '.join(missing)}")
    sources = copies["source"].to_numpy()
    if len(sources) and (sources.min() < 0 or sources.max() >= len(images)):
        raise ValueError(f"render_plan: plan refers to source {int(sources.max())} but only "
                         f"{len(images)} images were given")
    opts = resolve(options)
    out = np.empty((len(copies),) + images.shape[1:], dtype=np.uint8)
    for i, row in enumerate(copies[PLAN_COLUMNS].itertuples(index=False)):
        out[i] = render(images[row.source], row.angle, row.flipped, row.equalized, opts)
    return out
