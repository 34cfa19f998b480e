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
    else:  # Path(path) parses the path again: ~10 µs a frame, a tenth of decoding a small JPEG
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


# --------------------------------------------------------------------------------------
# The four readers (DESIGN.md "Dataset layouts"; class sets of the paper's Table II)
# --------------------------------------------------------------------------------------

import dataclasses  # noqa: E402
import math  # noqa: E402

import pandas as pd  # noqa: E402

DATASETS = ("casme", "casme2", "casme_sq", "smic")
LAYOUTS = ("cropped", "raw")
COLUMNS = ["dataset", "subject", "clip", "emotion", "onset", "apex", "offset", "aus", "frames"]

# Spellings met in the sheets -> the class names of this project (Table II's rows).
EMOTION_ALIASES = {
    "happy": "happiness", "happiness": "happiness", "sad": "sadness", "sadness": "sadness",
    "tense": "tension", "tension": "tension", "comtempt": "contempt", "contempt": "contempt",
    "disgust": "disgust", "fear": "fear", "surprise": "surprise", "repression": "repression",
    "others": "others", "other": "others", "anger": "anger", "angry": "anger",
    "negative": "negative", "positive": "positive",
}


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What a release looks like on disk and what the paper used of it."""

    name: str
    title: str
    subjects: int                 # participants in the release
    fps: int
    classes: tuple[str, ...]      # Table II's class set for this dataset
    folders: dict                 # layout -> image folder under the dataset root
    prefix: dict                  # layout -> file-name prefix of a frame ("reg_" ...)
    frame_size: tuple[int, int]   # raw frame (height, width) of the release
    sheet: str | None             # glob of the annotation sheet at the root (None: folder labels)
    suffix: str = ".jpg"
    note: str = ""


SPECS: dict[str, DatasetSpec] = {
    "casme": DatasetSpec(
        "casme", "CASME-I", 19, 60,
        ("contempt", "disgust", "fear", "happiness", "repression", "sadness", "surprise", "tension"),
        {"raw": "CASME_raw_selected", "cropped": "Cropped"}, {"raw": "", "cropped": "reg_"},
        (480, 640), "CASME*coding*.xlsx",
        note="19 valid participants (the paper says 20); some rows' frames are zero-padded"),
    "casme2": DatasetSpec(
        "casme2", "CASME-II", 26, 200,
        ("disgust", "fear", "happiness", "others", "repression", "sadness", "surprise"),
        {"raw": "CASME2_RAW_selected", "cropped": "Cropped"}, {"raw": "", "cropped": "reg_"},
        (480, 640), "CASME2-coding-*.xlsx", note="ApexFrame '/' means missing"),
    "casme_sq": DatasetSpec(
        "casme_sq", "CAS(ME)^2", 22, 30, ("anger", "disgust", "happiness"),
        {"raw": "rawpic", "cropped": "cropped"}, {"raw": "", "cropped": ""},
        (480, 640), "CAS(ME)^2code_final*.xlsx",
        note="long videos cut onset->offset; offset 0 means 'use apex'"),
    "smic": DatasetSpec(
        "smic", "SMIC-HS", 16, 100, ("disgust", "fear", "happiness", "sadness", "surprise"),
        {"raw": "HS", "cropped": "HS_cropped"}, {"raw": "", "cropped": "reg_"},
        (480, 640), None, suffix=".bmp",
        note="labels are folder names (negative/positive/surprise); frame numbers have gaps"),
}

# SMIC's release labels clips negative/positive/surprise only. The paper's five classes
# (Table II) come from a file the release does not have; see data/README.md.
SMIC_5CLASS_FILE = "SMIC-5class-labels.csv"
SMIC_FOLDER_CODES = {"negative": "ne", "positive": "po", "surprise": "sur"}
LABEL_SETS = ("table2", "2class", "3class")

CASME_SQ_SHEETS = ("naming rule1", "naming rule2")   # video name -> code; participant -> sNN


def spec(name: str) -> DatasetSpec:
    if name not in SPECS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    return SPECS[name]


def specs() -> pd.DataFrame:
    """One row per dataset: title, subjects, fps, raw frame size, classes and Table II's
    count per class (the paper's numbers, from ``data/paper/table2.csv``)."""
    from .paper import table

    t2 = table("table2").set_index("emotion")
    rows = []
    for s in SPECS.values():
        counts = {c: int(t2.loc[c, s.name]) for c in s.classes}
        rows.append({
            "dataset": s.name, "title": s.title, "subjects": s.subjects, "fps": s.fps,
            "frame_size": f"{s.frame_size[1]}x{s.frame_size[0]}", "classes": len(s.classes),
            "clips_table2": sum(counts.values()), "counts_table2": counts, "note": s.note,
        })
    return pd.DataFrame(rows).set_index("dataset")


def class_counts(clips: pd.DataFrame) -> pd.Series:
    """Clips per class of a ``load`` result."""
    return clips["emotion"].value_counts().sort_index()


def _norm_emotion(value) -> str:
    text = str(value).strip().lower()
    return EMOTION_ALIASES.get(text, text)


def _to_int(value):
    """An int from a sheet cell, or None for blank/'/'/non-numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        f = float(str(value).strip())
    except ValueError:
        return None
    return int(f) if f.is_integer() else None


class _Problems:
    """Problems collected while reading, each 'where: what was expected, what was found'."""

    def __init__(self):
        self.items: list[str] = []

    def add(self, where, what):
        self.items.append(f"{where}: {what}")


def _inside(root: Path, *parts) -> Path | None:
    """``root/parts...`` if it stays under ``root`` (no '..' or absolute escapes), else None."""
    path = root.joinpath(*(str(p) for p in parts))
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return path


def _read_sheet(root: Path, pattern: str, problems: _Problems, header=0, sheet_name=0):
    matches = sorted(root.glob(pattern))
    if not matches:
        problems.add(root, f"expected an annotation sheet matching {pattern!r} at the dataset root, found none")
        return None, None
    if len(matches) > 1:
        problems.add(root, f"expected one sheet matching {pattern!r}, found {len(matches)}: "
                     + ", ".join(m.name for m in matches))
        return None, None
    try:
        return matches[0], pd.read_excel(matches[0], header=header, sheet_name=sheet_name, engine="openpyxl")
    except Exception as exc:  # a corrupt sheet is a data problem, reported with the rest
        problems.add(matches[0], f"could not read the sheet ({exc})")
        return matches[0], None


def _check_columns(sheet, frame, required, problems) -> bool:
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = [c for c in frame.columns if not c.startswith("Unnamed")]
        problems.add(sheet, f"expected columns {required}, missing {missing} (found {found})")
        return False
    return True


def _frames_in_range(folder: Path, onset: int, offset: int, where, problems, gaps_ok=False):
    """The frames numbered onset..offset of ``folder`` in time order; problems if the folder
    is missing, frames are missing in between (unless ``gaps_ok``), or names collide."""
    if not folder.is_dir():
        problems.add(where, f"expected the clip folder {folder}, found no such folder")
        return None
    try:
        frames = list_frames(folder)
    except DataError as exc:
        problems.add(where, str(exc))
        return None
    numbered = [(frame_number(p), p) for p in frames]
    chosen = [p for n, p in numbered if onset <= n <= offset]
    have = {n for n, _ in numbered}
    if not gaps_ok:
        missing = [n for n in range(onset, offset + 1) if n not in have]
        if missing:
            shown = ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8 else "")
            problems.add(where, f"expected frames {onset}..{offset} in {folder}, "
                         f"{len(missing)} missing (numbers {shown})")
            return None
    if not chosen:
        problems.add(where, f"expected frames numbered {onset}..{offset} in {folder}, found none")
        return None
    return chosen


def _verify(frames, where, problems, mode) -> bool:
    """Every frame readable and the size of the first: 'header' reads image headers only
    (fast, PIL), 'full' decodes every frame, 'none' skips."""
    if mode == "none":
        return True
    if mode == "full":
        try:
            read_frames(frames)
        except DataError as exc:
            problems.add(where, str(exc))
            return False
        return True
    from PIL import Image

    first = None
    for p in frames:
        try:
            with Image.open(p) as im:
                size = (im.size, im.mode)
        except Exception:
            problems.add(where, f"{p}: could not read this file as an image")
            return False
        if first is None:
            first = (p, size)
        elif size != first[1]:
            problems.add(where, f"{p}: expected a frame of size {first[1][0]} {first[1][1]} like "
                         f"{first[0].name}, got {size[0]} {size[1]}")
            return False
    return True


def _prefix_ok(frames, prefix, where, layout, problems) -> bool:
    """Cropped releases name frames ``reg_…``, raw ones do not: a mix means the wrong folder."""
    wrong = [p.name for p in frames if p.name.startswith("reg_") != bool(prefix)]
    if wrong:
        problems.add(where, f"expected {layout} frames named {prefix or 'without reg_'}…, found {wrong[0]} "
                     "(raw and cropped files mixed?)")
        return False
    return True


def _casme_family(s: DatasetSpec, root: Path, layout: str, problems: _Problems, verify: str):
    """CASME-I and CASME-II: one sheet row per clip, folder <layout>/subNN/<Filename>/."""
    if s.name == "casme2":
        cols = {"onset": "OnsetFrame", "apex": "ApexFrame", "offset": "OffsetFrame",
                "emotion": "Estimated Emotion"}
        required = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame",
                    "Action Units", "Estimated Emotion"]
    else:
        cols = {"onset": "OnsetF", "apex": "ApexF1", "offset": "OffsetF", "emotion": "Emotion"}
        required = ["Subject", "Filename", "OnsetF", "ApexF1", "ApexF2", "OffsetF",
                    "Action Units", "Emotion"]
    sheet, table = _read_sheet(root, s.sheet, problems)
    if table is None or not _check_columns(sheet, table, required, problems):
        return []
    rows = []
    for i, rec in table.iterrows():
        where = f"{sheet.name} row {i + 2}"            # spreadsheet row (header is row 1)
        if all(pd.isna(rec[c]) for c in required):      # blank trailing rows
            continue
        subj = _to_int(rec["Subject"])
        name = str(rec["Filename"]).strip()
        onset, offset = _to_int(rec[cols["onset"]]), _to_int(rec[cols["offset"]])
        apex = _to_int(rec[cols["apex"]])               # '/' (CASME II) or blank -> missing
        bad = []
        if subj is None:
            bad.append(f"Subject should be a number, got {rec['Subject']!r}")
        if onset is None:
            bad.append(f"{cols['onset']} should be a frame number, got {rec[cols['onset']]!r}")
        if offset is None:
            bad.append(f"{cols['offset']} should be a frame number, got {rec[cols['offset']]!r}")
        if onset is not None and offset is not None and offset < onset:
            bad.append(f"{cols['offset']} {offset} is before {cols['onset']} {onset}")
        if bad:
            problems.add(where, "; ".join(bad))
            continue
        subject = f"sub{subj:02d}"
        folder = _inside(root, s.folders[layout], subject, name)
        if folder is None:
            problems.add(where, f"Filename {name!r} would leave the data root {root}; refused")
            continue
        frames = _frames_in_range(folder, onset, offset, where, problems)
        if frames is None or not _verify(frames, where, problems, verify):
            continue
        if not _prefix_ok(frames, s.prefix[layout], where, layout, problems):
            continue
        rows.append({"subject": subject, "clip": name, "label": str(rec[cols["emotion"]]).strip(),
                     "onset": onset, "apex": apex, "offset": offset,
                     "aus": str(rec["Action Units"]).strip(), "frames": frames})
    return rows


def _casme_sq(s: DatasetSpec, root: Path, layout: str, problems: _Problems, verify: str):
    """CAS(ME)^2: long videos; sheet 1 (no header) lists expressions, the naming-rule sheets
    map the video name to its code and the participant number to the folder sNN."""
    sheet, book = _read_sheet(root, s.sheet, problems, header=None, sheet_name=None)
    if book is None:
        return []
    names = list(book)
    missing = [n for n in CASME_SQ_SHEETS if n not in names]
    if missing or len(names) < 3:
        problems.add(sheet, f"expected 3 sheets (expressions, {', '.join(CASME_SQ_SHEETS)}), "
                     f"found {names}")
        return []
    table = book[names[0]]
    if table.shape[1] < 8:
        problems.add(sheet, f"sheet {names[0]!r}: expected 8-9 columns (participant, video, onset, apex, "
                     f"offset, AUs, emotion, type, self-report), found {table.shape[1]}")
        return []
    codes = {str(n).strip(): str(c).strip().zfill(4) for n, c in book[CASME_SQ_SHEETS[0]].iloc[:, :2].values}
    people = {}
    for p, folder in book[CASME_SQ_SHEETS[1]].iloc[:, :2].values:
        if _to_int(p) is not None:
            people[_to_int(p)] = str(folder).strip()
    rows = []
    for i, rec in table.iterrows():
        where = f"{sheet.name} sheet {names[0]!r} row {i + 1}"
        vals = list(rec.values) + [None] * 9
        part, video, onset, apex, offset = vals[0], vals[1], *map(_to_int, vals[2:5])
        if pd.isna(part) and pd.isna(video):
            continue
        pnum, video = _to_int(part), str(video).strip()
        bad = []
        if pnum not in people:
            bad.append(f"participant {part!r} is not in sheet {CASME_SQ_SHEETS[1]!r}")
        if video not in codes:
            bad.append(f"video {video!r} is not in sheet {CASME_SQ_SHEETS[0]!r}")
        if onset is None or apex is None or offset is None:
            bad.append(f"onset, apex, offset should be frame numbers, got {vals[2]!r}, {vals[3]!r}, {vals[4]!r}")
        if bad:
            problems.add(where, "; ".join(bad))
            continue
        end = apex if offset == 0 else offset          # offset 0 means "use apex"
        if end < onset:
            problems.add(where, f"offset {end} is before onset {onset}")
            continue
        subject = people[pnum]
        folder_name = f"{subject.lstrip('s')}_{codes[video]}{video}"
        folder = _inside(root, s.folders[layout], subject, folder_name)
        if folder is None:
            problems.add(where, f"participant/video {subject}/{folder_name} would leave the data root {root}; refused")
            continue
        frames = _frames_in_range(folder, onset, end, where, problems)
        if frames is None or not _verify(frames, where, problems, verify):
            continue
        rows.append({"subject": subject, "clip": f"{folder_name}_{onset}", "label": str(vals[6]).strip(),
                     "onset": onset, "apex": apex, "offset": end, "aus": str(vals[5]).strip(),
                     "frames": frames, "type": str(vals[7]).strip()})
    return rows


def _smic(s: DatasetSpec, root: Path, layout: str, problems: _Problems, verify: str):
    """SMIC-HS: labels from folders <layout>/sN/micro/<label>/<clip>/; no sheet, so the clip
    is every frame in its folder (frame numbers may skip; time order still holds)."""
    base = root / s.folders[layout]
    if not base.is_dir():
        problems.add(root, f"expected the folder {s.folders[layout]}/ (SMIC {layout} layout), found none")
        return []
    rows = []
    for subject_dir in sorted(base.iterdir(), key=lambda p: (len(p.name), p.name)):
        micro = subject_dir / "micro"
        if not subject_dir.is_dir() or not micro.is_dir():
            continue
        for label_dir in sorted(micro.iterdir()):
            if not label_dir.is_dir():
                continue
            if label_dir.name not in SMIC_FOLDER_CODES:
                problems.add(label_dir, f"expected a label folder named one of {list(SMIC_FOLDER_CODES)}")
                continue
            for clip_dir in sorted(p for p in label_dir.iterdir() if p.is_dir()):
                where = clip_dir.relative_to(root)
                try:
                    frames = list_frames(clip_dir)
                except DataError as exc:
                    problems.add(where, str(exc))
                    continue
                if not _prefix_ok(frames, s.prefix[layout], where, layout, problems) or \
                        not _verify(frames, where, problems, verify):
                    continue
                rows.append({"subject": subject_dir.name, "clip": clip_dir.name, "label": label_dir.name,
                             "onset": frame_number(frames[0]), "apex": None,
                             "offset": frame_number(frames[-1]), "aus": "", "frames": frames})
    if not rows and not problems.items:
        problems.add(base, "expected clips under sN/micro/<label>/<clip>/, found none")
    return rows


def _smic_5class(root: Path, problems: _Problems) -> dict | None:
    path = root / SMIC_5CLASS_FILE
    if not path.is_file():
        problems.add(root, f"SMIC's five classes (Table II) need {SMIC_5CLASS_FILE} "
                     "(subject, clip, emotion), which the release does not include; "
                     "use label_set='2class' or '3class' for the release's own labels")
        return None
    table = pd.read_csv(path, comment="#", dtype=str)
    if not {"subject", "clip", "emotion"} <= set(table.columns):
        problems.add(path, f"expected columns subject, clip, emotion, found {list(table.columns)}")
        return None
    return {(r.subject.strip(), r.clip.strip()): _norm_emotion(r.emotion) for r in table.itertuples()}


READERS = {"casme": _casme_family, "casme2": _casme_family, "casme_sq": _casme_sq, "smic": _smic}


def load(name: str, root: str | Path, layout: str = "cropped", on_error: str = "raise",
         label_set: str = "table2", verify: str = "header") -> pd.DataFrame:
    """Read one dataset as its release unpacks under ``root`` -> one row per clip with
    ``dataset, subject, clip, emotion, onset, apex, offset, aus, frames`` (+ ``label``, the
    sheet's own word, ``n_frames``, ``fps``, ``layout``), ``frames`` in time order.

    ``emotion`` is mapped to the class set of the paper's Table II (``label_set="table2"``;
    rows of other classes are left out, as the paper did, and listed in
    ``df.attrs["excluded"]``); SMIC also has ``"2class"`` (negative/positive) and
    ``"3class"`` (the release's folders). Every problem is collected first; then
    ``on_error="raise"`` raises one :class:`DataError` listing them all, ``"skip"`` drops
    those clips and lists them in ``df.attrs["problems"]``. ``verify``: "header" checks each
    frame's header and size, "full" decodes every frame, "none" skips. Nothing is written.
    """
    s = spec(name)
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}: expected one of {', '.join(LAYOUTS)}")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error={on_error!r}: expected 'raise' or 'skip'")
    if label_set not in LABEL_SETS or (label_set != "table2" and name != "smic"):
        raise ValueError(f"label_set={label_set!r}: expected 'table2' (or, for smic, '2class'/'3class')")
    if verify not in ("header", "full", "none"):
        raise ValueError(f"verify={verify!r}: expected 'header', 'full' or 'none'")
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: expected the {s.title} folder (sheet at its top, images below), "
                        "found no such folder")
    problems = _Problems()
    rows = READERS[name](s, root, layout, problems, verify)
    excluded = []
    five = _smic_5class(root, problems) if name == "smic" and label_set == "table2" else None
    kept = []
    for r in rows:
        if name == "smic":
            if label_set == "table2":
                if five is None:
                    break
                r["emotion"] = five.get((r["subject"], r["clip"]))
                if r["emotion"] is None:
                    problems.add(f"{SMIC_5CLASS_FILE}", f"no five-class label for {r['subject']}/{r['clip']}")
                    continue
            else:
                r["emotion"] = r["label"]
            classes = {"table2": s.classes, "2class": ("negative", "positive"),
                       "3class": tuple(SMIC_FOLDER_CODES)}[label_set]
        else:
            r["emotion"] = _norm_emotion(r["label"])
            classes = s.classes
        if r["emotion"] not in classes:
            excluded.append(f"{r['subject']}/{r['clip']} ({r['label']})")
            continue
        kept.append(r)
    if problems.items and on_error == "raise":
        raise DataError(f"{s.title} at {root} ({layout} layout): {len(problems.items)} problem(s):\n  "
                        + "\n  ".join(problems.items))
    df = pd.DataFrame(kept, columns=COLUMNS[1:] + ["label"] + (["type"] if name == "casme_sq" else []))
    df.insert(0, "dataset", name)
    df["n_frames"] = df["frames"].map(len).astype(int)
    df["fps"] = s.fps
    df["layout"] = layout
    for c in ("onset", "offset"):
        df[c] = df[c].astype(int)
    df["apex"] = df["apex"].astype("Int64")
    df = df.sort_values(["subject", "clip"], key=lambda col: col.map(_natural_key)).reset_index(drop=True)
    df.attrs.update(problems=list(problems.items), excluded=excluded, root=str(root), label_set=label_set)
    return df


def _natural_key(text):
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text)))


def check(name: str, root: str | Path, layout: str = "cropped", label_set: str = "table2",
          verify: str = "header") -> tuple[pd.DataFrame, list[str]]:
    """Read a placed copy without stopping at the first problem -> (clips, problems)."""
    df = load(name, root, layout=layout, on_error="skip", label_set=label_set, verify=verify)
    return df, list(df.attrs["problems"])


def add_cli(subparsers):
    p = subparsers.add_parser(
        "check-data", help="check a placed copy of a dataset: clips per class and every problem",
        description="Read DATA_ROOT/<dataset> (or --root) the way the notebooks will, print the "
                    "clips per class beside Table II's counts, and list every problem found.")
    p.add_argument("datasets", nargs="*", default=list(DATASETS), help="which datasets (default: all four)")
    p.add_argument("--root", help="folder holding one folder per dataset (default: $DATA_ROOT or the twins)")
    p.add_argument("--layout", choices=LAYOUTS, default="cropped")
    p.add_argument("--label-set", choices=LABEL_SETS, default="table2",
                   help="SMIC only: table2 (5 classes), 2class or 3class")
    p.add_argument("--verify", choices=("header", "full", "none"), default="header",
                   help="how closely to check each frame (full decodes every frame)")
    p.set_defaults(func=_cli_check)


def _cli_check(args) -> int:
    from .paper import table
    from .profiles import data_root

    base = Path(args.root) if args.root else data_root()
    t2 = table("table2").set_index("emotion")
    status = 0
    for name in args.datasets:
        s = spec(name)
        folder = base / name
        print(f"== {s.title} ({name}) at {folder}")
        try:
            df, problems = check(name, folder, args.layout,
                                 args.label_set if name == "smic" else "table2", args.verify)
        except DataError as exc:
            print(f"   cannot read: {exc}")
            status = 1
            continue
        column = {"2class": "smic_2class", "3class": None}.get(args.label_set, name) if name == "smic" else name
        counts = class_counts(df)
        for c in sorted(set(counts.index) | {e for e in s.classes if args.label_set == "table2" or name != "smic"}):
            paper = t2[column].get(c) if column else None
            paper = "-" if paper is None or pd.isna(paper) else int(paper)
            print(f"   {c:<12} {int(counts.get(c, 0)):>4} clips   (Table II: {paper})")
        print(f"   total        {len(df):>4} clips, {int(df['n_frames'].sum()) if len(df) else 0} frames, "
              f"{df['subject'].nunique() if len(df) else 0} subjects")
        if df.attrs.get("excluded"):
            print(f"   left out (class not in the set): {len(df.attrs['excluded'])}")
        if problems:
            status = 1
            print(f"   {len(problems)} problem(s):")
            for line in problems:
                print(f"     - {line}")
        else:
            print("   no problems")
    return status
