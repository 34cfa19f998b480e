"""Face crop for ``layout="raw"`` frames (Sec. III: the networks see the face region only).

OpenCV's shipped frontal-face Haar cascade finds the face in the *first* frame of a clip and
that one box crops every frame, so the crop does not jitter with the detector. When the
cascade finds nothing, the fallback is the centred square of the frame (``box_source`` says
which was used); ``fallback=None`` makes that an error instead.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .frames import DataError, read_frames

# alt2 finds every procedural face of the twins in a 30-face check where "default" found
# 22 (tests/test_datasets.py re-checks the detection rate); both ship with OpenCV.
CASCADE = "haarcascade_frontalface_alt2.xml"


@lru_cache(maxsize=1)
def _cascade():
    import cv2

    path = Path(cv2.data.haarcascades) / CASCADE
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise FileNotFoundError(f"{path}: OpenCV's Haar cascade is missing or unreadable")
    return cascade


def detect_face(image: np.ndarray, min_size: int = 40) -> tuple[int, int, int, int] | None:
    """The largest face in ``image`` (uint8 grey or RGB) as ``(x, y, w, h)``, or None."""
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    boxes = _cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=4, minSize=(min_size, min_size))
    if len(boxes) == 0:
        return None
    x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
    return int(x), int(y), int(w), int(h)


def centre_box(shape) -> tuple[int, int, int, int]:
    """The largest centred square of a frame of ``shape`` (H, W[, C])."""
    h, w = shape[:2]
    side = min(h, w)
    return (w - side) // 2, (h - side) // 2, side, side


def face_box(first_frame: np.ndarray, margin: float = 0.1, fallback: str | None = "centre"):
    """The crop box of a clip from its first frame: the detected face grown by ``margin``
    on each side (clipped to the frame) -> ``((x, y, w, h), source)`` with source
    ``"haar"`` or ``"centre"``."""
    box = detect_face(first_frame)
    if box is None:
        if fallback is None:
            raise DataError("no face found by the Haar cascade in the clip's first frame")
        return centre_box(first_frame.shape), "centre"
    x, y, w, h = box
    H, W = first_frame.shape[:2]
    dx, dy = int(round(w * margin)), int(round(h * margin))
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(W, x + w + dx), min(H, y + h + dy)
    return (x0, y0, x1 - x0, y1 - y0), "haar"


def crop_clip(frames: np.ndarray, box, size: int | tuple[int, int]) -> np.ndarray:
    """Crop every frame of a (T, H, W[, C]) clip to ``box`` and resize to ``size``
    (an int for a square, or (height, width))."""
    import cv2

    height, width = (size, size) if isinstance(size, int) else size
    x, y, w, h = box
    return np.stack([
        cv2.resize(f[y:y + h, x:x + w], (width, height), interpolation=cv2.INTER_AREA) for f in frames
    ])


def read_clip(frames, size: int | tuple[int, int] = 112, layout: str = "cropped",
              color: bool = True, fallback: str | None = "centre") -> np.ndarray:
    """Read one clip (a row's ``frames`` list) ready for the model: for ``layout="raw"``
    the face is found in the first frame and cropped; then every frame is resized to
    ``size``. Returns uint8 (T, size, size[, 3])."""
    clip = read_frames(list(frames), color=color)
    if layout == "raw":
        box, _ = face_box(clip[0], fallback=fallback)
    elif layout == "cropped":
        box = (0, 0, clip.shape[2], clip.shape[1])
    else:
        raise ValueError(f"layout={layout!r}: expected 'cropped' or 'raw'")
    return crop_clip(clip, box, size)
