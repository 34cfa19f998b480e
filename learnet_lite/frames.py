"""Frames: a clip's image files in time order, read and checked.

A clip is a folder of frames. Time order is the order of the *number* in each frame's file
name (``img10`` after ``img9``; ``EP01_5-05`` and ``EP01_5-5`` alike), never string order;
:func:`natural_key` orders subject and clip names the same way. Every read is checked: a
file that is no image, not 8-bit, or of another size than the clip's first frame raises a
:class:`DataError` naming the file.
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


def list_frames(folder: str | Path, keep=None) -> list[Path]:
    """The image files of one clip folder, in time order (by frame number); ``keep`` (a
    predicate on the path) picks some of them, e.g. the cropped ``reg_`` frames."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: expected a folder of frames, found no such folder")
    frames = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
              and (keep is None or keep(p))]
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
    paths, rgb = _clip_paths(frames, channel_order)
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
            _decode_into(path, clip[i], paths[0])
        if rgb and clip.ndim == 4:
            for frame in clip:
                cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=frame)
    if not color and clip.ndim == 4:
        code = cv2.COLOR_RGB2GRAY if rgb else cv2.COLOR_BGR2GRAY
        clip = np.stack([cv2.cvtColor(f, code) for f in clip])
    return clip


def iter_frames(frames, channel_order: str = "RGB", buffers: int = 1):
    """The frames of a clip one at a time, decoded and checked as :func:`read_frames` does
    (colour), for reductions that need no whole clip in memory (a dynamic image is a
    weighted sum of its frames). Frames are decoded into a ring of ``buffers`` reused
    arrays, so only the last ``buffers`` frames yielded stay valid: copy a frame to keep it.
    The first frame is the one every other must match in size and channels."""
    if isinstance(buffers, bool) or not isinstance(buffers, int) or buffers < 1:
        raise ValueError(f"buffers: expected a positive integer, got {buffers!r}")
    paths, rgb = _clip_paths(frames, channel_order)
    import cv2

    first = _imread(paths[0])
    if first.ndim == 3 and first.shape[2] == 4:
        first = _read_checked(paths[0], rgb)
        yield first
        for path in paths[1:]:
            yield _same_shape(_read_checked(path, rgb), first, path, paths[0])
        return
    convert = rgb and first.ndim == 3
    ring = np.empty((min(buffers, len(paths)),) + first.shape, dtype=np.uint8)
    ring[0] = first
    for i, path in enumerate(paths):
        frame = ring[i % len(ring)]
        if i:
            _decode_into(path, frame, paths[0])
        if convert:
            cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=frame)
        yield frame


def _clip_paths(frames, channel_order: str) -> tuple[list[Path], bool]:
    if channel_order not in ("RGB", "BGR"):
        raise ValueError(f"channel_order: expected 'RGB' or 'BGR', got {channel_order!r}")
    if isinstance(frames, (str, Path)):
        paths = list_frames(frames)
    else:  # Path(path) would parse a Path again, once per frame (benchmarks/bench_dynamic.py)
        paths = [p if isinstance(p, Path) else Path(p) for p in frames]
    if not paths:
        raise DataError("expected at least one frame, got an empty list")
    return paths, channel_order == "RGB"


def _decode_into(path: Path, dest: np.ndarray, first_path: Path) -> None:
    """Decode a frame as stored straight into ``dest`` (the first frame's shape): no
    per-frame allocation, and the destination is still in cache for whoever reads it next."""
    import cv2

    # That call leaves the buffer as it was for an unreadable file and raises on a frame of
    # another shape, so both cases are read again the ordinary way to be named.
    try:
        if not cv2.haveImageReader(str(path)):
            raise cv2.error
        image = cv2.imread(str(path), dest, cv2.IMREAD_UNCHANGED)
    except (cv2.error, TypeError):  # TypeError: an OpenCV before imread(path, dst, flags)
        image = _imread(path)
    _check_decoded(image, path)
    _same_shape(image, dest, path, first_path)
    if not np.shares_memory(image, dest):
        dest[...] = image


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


def natural_key(text) -> tuple:
    """A sort key that compares runs of digits as numbers (``sub2`` before ``sub10``,
    ``EP01_5`` before ``EP01_12``): subjects and clips in the order the releases number them."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text)))
