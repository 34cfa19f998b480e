"""Datasets: frame I/O in time order (and, with the data layer, the four readers).

A clip is a folder of frames. Time order is the order of the *number* in each frame's file
name (``img10`` after ``img9``; ``EP01_5-05`` and ``EP01_5-5`` alike), never string order.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


class DataError(ValueError):
    """Bad input data; the message names the file or row and what was expected."""


def frame_number(path: str | Path) -> int:
    """The frame number in a file name: the last run of digits in its stem
    (``reg_img46.jpg`` -> 46, ``EP01_5-05.jpg`` -> 5, ``image000012.bmp`` -> 12)."""
    stem = Path(path).stem
    match = _LAST_NUMBER.search(stem)
    if match is None:
        raise DataError(f"{path}: expected a frame number in the file name, found none")
    return int(match.group(1))


def list_frames(folder: str | Path) -> list[Path]:
    """The image files of one clip folder, in time order (by frame number)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: expected a folder of frames, found no such folder")
    frames = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if not frames:
        raise DataError(f"{folder}: expected image frames ({', '.join(IMAGE_SUFFIXES)}), found none")
    numbered = sorted((frame_number(p), p.name, p) for p in frames)
    seen: dict[int, str] = {}
    for number, name, _ in numbered:
        if number in seen:
            raise DataError(f"{folder}: frames {seen[number]} and {name} have the same number {number}")
        seen[number] = name
    return [p for _, _, p in numbered]


def read_frame(path: str | Path, color: bool = True) -> np.ndarray:
    """One frame as uint8, RGB (H, W, 3) when ``color`` else grey (H, W)."""
    import cv2

    flag = cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE
    image = cv2.imread(str(path), flag)
    if image is None:
        raise DataError(f"{path}: could not read this file as an image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if color else image


def read_frames(frames, color: bool = True, channel_order: str = "RGB") -> np.ndarray:
    """Read a clip: a folder (frames listed in time order) or a list of frame paths (kept in
    the given order) -> uint8 array (T, H, W, 3) or (T, H, W). Every frame must have the
    size and channel count of the first; the error names the first frame that differs.
    ``channel_order="BGR"`` skips OpenCV's per-frame conversion to RGB (for callers that
    convert once later, e.g. on a dynamic image, which is linear in the frames)."""
    if channel_order not in ("RGB", "BGR"):
        raise ValueError(f"channel_order: expected 'RGB' or 'BGR', got {channel_order!r}")
    paths = list_frames(frames) if isinstance(frames, (str, Path)) else [Path(p) for p in frames]
    if not paths:
        raise DataError("expected at least one frame, got an empty list")
    rgb = channel_order == "RGB"
    import cv2

    first = _imread(paths[0])
    if first.ndim == 3 and first.shape[2] == 4:  # BGRA: converted frame by frame
        first = _read_checked(paths[0], rgb)
        clip = np.empty((len(paths),) + first.shape, dtype=np.uint8)
        clip[0] = first
        for i, path in enumerate(paths[1:], start=1):
            clip[i] = _same_shape(_read_checked(path, rgb), first, path, paths[0])
    else:
        clip = np.empty((len(paths),) + first.shape, dtype=np.uint8)
        clip[0] = first
        for i, path in enumerate(paths[1:], start=1):
            # Decoded straight into the clip's buffer: no per-frame allocation or copy. That
            # call leaves the buffer as it was for an unreadable file and raises on a frame
            # of another shape, so both cases are read again the ordinary way to be named.
            try:
                if not cv2.haveImageReader(str(path)):
                    raise cv2.error
                image = cv2.imread(str(path), clip[i], cv2.IMREAD_UNCHANGED)
            except cv2.error:
                image = _imread(path)
            _check_decoded(image, path)
            _same_shape(image, first, path, paths[0])
            if not np.shares_memory(image, clip[i]):
                clip[i] = image
        if rgb and clip.ndim == 4:
            for frame in clip:
                cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=frame)
    if not color and clip.ndim == 4:
        code = cv2.COLOR_RGB2GRAY if rgb else cv2.COLOR_BGR2GRAY
        clip = np.stack([cv2.cvtColor(f, code) for f in clip])
    return clip


def _same_shape(image: np.ndarray, first: np.ndarray, path: Path, first_path: Path) -> np.ndarray:
    if image.shape != first.shape:
        raise DataError(f"{path}: expected a frame of shape {first.shape} like {first_path.name}, got {image.shape}")
    return image


def _check_decoded(image, path: Path) -> None:
    if image is None or image.size == 0:
        raise DataError(f"{path}: could not read this file as an image")
    if image.dtype != np.uint8:
        raise DataError(f"{path}: expected an 8-bit image, got {image.dtype}")


def _imread(path: Path) -> np.ndarray:
    """A frame as stored (BGR or grey, EXIF orientation ignored), checked to be 8-bit."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    _check_decoded(image, path)
    return image


def _read_checked(path: Path, rgb: bool = True) -> np.ndarray:
    """Read keeping the file's own channel count, so grey and colour frames are told apart."""
    import cv2

    image = _imread(path)
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if rgb else cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and rgb:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image
