"""Datasets: the four readers of the releases as they unpack (data/README.md).

Each reader turns a release's annotation sheet(s) and image folders into one clip table
(:func:`load`), its frames listed in time order by :mod:`learnet_lite.frames`; what it finds
on the way (defects, quirks, things that are no clip) is kept with the table.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from pathlib import Path

import pandas as pd

from .frames import IMAGE_SUFFIXES, DataError, frame_number, list_frames, natural_key, read_frames
from .profiles import CHOICES

DATASETS = ("casme", "casme2", "casme_sq", "smic")
LAYOUTS = CHOICES["layout"]
COLUMNS = ["dataset", "subject", "clip", "emotion", "onset", "apex", "offset", "aus", "frames"]
TWIN_MARKER = ".learnet-twin.json"   # written last by learnet_lite.synthetic: this folder is a twin

# Spellings met in the sheets -> the class names of this project (Table II's rows). CASME-I
# spells "tense" and "comtempt" [sic]; CAS(ME)^2's expression names say "happy".
EMOTION_ALIASES = {
    "happy": "happiness", "happiness": "happiness", "sad": "sadness", "sadness": "sadness",
    "tense": "tension", "tension": "tension", "comtempt": "contempt", "contempt": "contempt",
    "disgust": "disgust", "fear": "fear", "surprise": "surprise", "repression": "repression",
    "others": "others", "other": "others", "anger": "anger", "angry": "anger",
    "negative": "negative", "positive": "positive",
}

# What a finding does to its clip. "left out": a defect of the data (the clip cannot be read
# as coded; `on_error="raise"` stops on these). "kept": read, with the quirk handled as the
# release documents it. "not a clip": something on disk or in a sheet that is no clip of the set.
FINDING_KINDS = {
    "sheet-row": ("left out", "sheet row not readable as a clip"),
    "folder-missing": ("left out", "clip folder missing"),
    "frames-missing": ("left out", "frames missing"),
    "bad-frame": ("left out", "frame unreadable or of another size"),
    "offset-0": ("kept", "offset 0: the clip ends at the apex"),
    "folder-misnamed": ("kept", "folder named against the release's own rule, read anyway"),
    "apex-missing": ("kept", "apex missing: the middle frame stands in"),
    "apex-outside": ("kept", "apex outside onset..offset"),
    "folder-without-row": ("not a clip", "image folder without a sheet row"),
    "not-micro": ("not a clip", "clips that are not micro-expressions (non_micro/), not read"),
    "no-label": ("not a clip", "no label in the labels file of this label set"),
    "other-class": ("not a clip", "class not in the label set (left out as the paper did)"),
}
DEFECTS = tuple(k for k, (effect, _) in FINDING_KINDS.items() if effect == "left out")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing found while reading: ``where`` names the clip (``sub16/EP01_08``) or the
    sheet row, ``message`` what was expected and what was found."""

    kind: str
    where: str
    message: str

    @property
    def effect(self) -> str:
        return FINDING_KINDS[self.kind][0]

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What a release looks like on disk and what the paper used of it."""

    name: str
    title: str
    subjects: int                 # participants in the release
    fps: int
    classes: tuple[str, ...]      # Table II's class set for this dataset
    folders: dict                 # layout -> image folders under the dataset root, first found wins
    prefix: dict                  # layout -> file-name prefix of a frame ("reg_" ...)
    frame_size: tuple[int, int]   # raw frame (height, width) of the release
    sheets: tuple[str, ...]       # globs of the annotation sheet(s) at the root (() = folder labels)
    label_sets: tuple[str, ...] = ("table2",)
    suffix: str = ".jpg"
    note: str = ""


# CASME (I): two sections, each its own .xls and image folders (Yan et al., FG 2013; the
# release's layout as MEB and other public readers of it show; data/README.md).
CASME_SECTIONS = (("CASME_A", "Section A"), ("CASME_B", "Section B"))
# CAS(ME)^2's sheet book: expressions first, then the two naming sheets (the release's names)
CASME_SQ_SHEETS = ("naming rule1", "naming rule2")   # participants (15, s15, 1); videos ('0401', anger1)
# both copies of the sheet seen in circulation; the corrected one first when both are present
CASME_SQ_SHEET_ORDER = ("CAS(ME)^2code_final(Updated)", "CAS(ME)^2code_final")
CASME_SQ_CLASSES = {"emotion": ("negative", "others", "positive", "surprise")}
# CASME II sheet versions, in the order one is chosen when several are present: the release's
# own sheet of 2014 first (the one a paper of 2019 read), then the later corrections.
CASME2_SHEET_ORDER = ("CASME2-coding-20140508", "CASME2-coding-updated", "CASME2-coding-20190701")
# SMIC's release labels clips negative/positive/surprise only. The paper's five classes
# (Table II) come from a file the release does not have; see data/README.md.
SMIC_5CLASS_FILE = "SMIC-5class-labels.csv"
SMIC_FOLDER_CODES = {"negative": "ne", "positive": "po", "surprise": "sur"}
SMIC_CLASSES = {"2class": ("negative", "positive"), "3class": tuple(SMIC_FOLDER_CODES)}
LABEL_SETS = ("table2", "emotion", "2class", "3class")

SPECS: dict[str, DatasetSpec] = {
    "casme": DatasetSpec(
        "casme", "CASME-I", 19, 60,
        ("contempt", "disgust", "fear", "happiness", "repression", "sadness", "surprise", "tension"),
        {"raw": ("CASME_raw_selected",), "cropped": ("Cropped",)}, {"raw": "", "cropped": "reg_"},
        (480, 640), tuple(f"{a}/{b}/{b}.xls" for a, b in CASME_SECTIONS),
        note="two sections, each its own .xls; 19 valid participants (the paper says 20); "
             "some rows' frames are zero-padded"),
    "casme2": DatasetSpec(
        "casme2", "CASME-II", 26, 200,
        ("disgust", "fear", "happiness", "others", "repression", "sadness", "surprise"),
        {"raw": ("CASME2_RAW_selected",), "cropped": ("Cropped", "Cropped-updated/Cropped")},
        {"raw": "", "cropped": "reg_"},
        (480, 640), ("CASME2-coding-*.xlsx",),
        note="ApexFrame '/' means missing; sub16/EP01_08 is coded past its last frame"),
    "casme_sq": DatasetSpec(
        "casme_sq", "CAS(ME)²", 22, 30, ("anger", "disgust", "happiness"),
        # the zip files unpack to a doubled folder in some copies (cropped/cropped/15/...)
        {"raw": ("rawpic/rawpic", "rawpic", "selectedpic/selectedpic", "selectedpic"),
         "cropped": ("cropped/cropped", "cropped")}, {"raw": "", "cropped": ""},
        (480, 640), ("CAS(ME)^2code_final*.xlsx",), label_sets=("table2", "emotion"),
        note="long videos; Table II's classes are the stimulus videos' categories; offset 0 "
             "means the clip ends at the apex"),
    "smic": DatasetSpec(
        "smic", "SMIC-HS", 16, 100, ("disgust", "fear", "happiness", "sadness", "surprise"),
        {"raw": ("SMIC_all_raw/HS", "HS"), "cropped": ("SMIC_all_cropped/HS",)},
        {"raw": "", "cropped": "reg_"}, (480, 640), (), label_sets=("table2", "2class", "3class"),
        suffix=".bmp",
        note="labels are folder names (negative/positive/surprise); frame numbers have gaps; "
             "the paper's five classes need a labels file"),
}


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


def classes_of(name: str, label_set: str = "table2") -> tuple[str, ...]:
    """The class set of a dataset under a label set (Table II's, or a release's own)."""
    s = spec(name)
    if label_set not in s.label_sets:
        raise ValueError(f"label_set={label_set!r}: {s.title} has {', '.join(s.label_sets)}")
    if label_set == "table2":
        return s.classes
    return (CASME_SQ_CLASSES if name == "casme_sq" else SMIC_CLASSES)[label_set]


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


def _text(value) -> str:
    """A sheet cell as text ('' for blank); whole floats lose their '.0'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _spans(numbers) -> str:
    """[97, 98, 99, 105] -> '97–99, 105'."""
    numbers = sorted(numbers)
    out, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            out.append(f"{start}" if start == n else f"{start}–{n}")
            start = None
    return ", ".join(out[:6]) + (" …" if len(out) > 6 else "")


class _Findings:
    """Everything found while reading, in order."""

    def __init__(self):
        self.items: list[Finding] = []

    def add(self, kind, where, message):
        if kind not in FINDING_KINDS:
            raise ValueError(f"unknown finding kind {kind!r}")
        self.items.append(Finding(kind, str(where), message))

    def defects(self) -> list[Finding]:
        return [f for f in self.items if f.kind in DEFECTS]


class _Unreadable(Exception):
    """The dataset cannot be read at all (no sheet, no image folder, ...)."""


def _inside(root: Path, *parts) -> Path | None:
    """``root/parts...`` if it stays under ``root`` (no '..' or absolute escapes), else None."""
    path = root.joinpath(*(str(p) for p in parts))
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return path


def read_sheet(path: Path, header=0, sheet_name=0):
    """A sheet of an ``.xls`` (CASME-I's old format) or ``.xlsx`` file, read with calamine
    (one reader for both formats; pandas' ``engine="calamine"``)."""
    try:
        # keep_default_na=False: a cell saying "NULL" (CAS(ME)^2's AUs) is the sheet's word, not a blank
        return pd.read_excel(path, header=header, sheet_name=sheet_name, engine="calamine",
                             keep_default_na=False, na_values=[""])
    except Exception as exc:  # a corrupt or foreign file: named, with what the reader said
        raise _Unreadable(f"{path}: could not read this file as a spreadsheet ({exc})") from None


def _image_folder(s: DatasetSpec, root: Path, layout: str, **fmt) -> Path:
    for rel in s.folders[layout]:
        folder = root / rel.format(**fmt)
        if folder.is_dir():
            return folder
    wanted = " or ".join(f"{r.format(**fmt)}/" for r in s.folders[layout])
    raise _Unreadable(f"{root}: expected the {layout} image folder {wanted}, found none{_hint(s, root)}")


def _hint(s: DatasetSpec, root: Path) -> str:
    """Where the data is when ``root`` is one level off (``CASME2/CASME2/...``): a folder
    one or two levels down that holds what the root should (a sheet or an image folder)."""
    marks = [a for a, _ in CASME_SECTIONS] + ["*.xls"] if s.name == "casme" else \
        list(s.sheets) + [f for fs in s.folders.values() for f in fs]
    return _hint_at(root, marks)


def _hint_at(root: Path, marks) -> str:
    if not root.is_dir():
        return ""
    for depth in ("*", "*/*"):
        for cand in sorted(root.glob(depth)):
            if cand.is_dir() and any(any(cand.glob(m)) for m in marks):
                return f" (the data seems to be in {cand}: point the dataset's folder there)"
    return ""


def _frames_in_range(folder: Path, onset: int, offset: int, where, findings: _Findings,
                     keep=None) -> list[Path] | None:
    """The frames numbered onset..offset of ``folder`` in time order, or None with a finding
    (folder missing, frames missing in between, names colliding); ``keep`` filters names."""
    if not folder.is_dir():
        findings.add("folder-missing", where, f"expected the clip folder {folder}, found no such folder")
        return None
    try:
        frames = list_frames(folder, keep)
    except DataError as exc:
        findings.add("frames-missing" if keep and "expected image frames" in str(exc) else "bad-frame", where, str(exc))
        return None
    numbered = [(frame_number(p), p) for p in frames]
    have = {n for n, _ in numbered}
    missing = [n for n in range(onset, offset + 1) if n not in have]
    if missing:
        last = max(have)
        findings.add("frames-missing", where, f"frames {_spans(missing)} missing (coded {onset}–{offset}; "
                     f"{folder.name}/ holds {min(have)}–{last})")
        return None
    return [p for n, p in numbered if onset <= n <= offset]


def _verify(frames, where, findings, mode) -> bool:
    """Every frame readable and the size of the first: 'header' reads image headers only
    (fast, PIL), 'full' decodes every frame, 'none' skips."""
    if mode == "none":
        return True
    if mode == "full":
        try:
            read_frames(frames)
        except DataError as exc:
            findings.add("bad-frame", where, str(exc))
            return False
        return True
    from PIL import Image

    first = None
    for p in frames:
        try:
            with Image.open(p) as im:
                size = (im.size, im.mode)
        except Exception:
            findings.add("bad-frame", where, f"{p}: could not read this file as an image")
            return False
        if first is None:
            first = (p, size)
        elif size != first[1]:
            findings.add("bad-frame", where, f"{p}: expected a frame of size {first[1][0]} {first[1][1]} like "
                         f"{first[0].name}, got {size[0]} {size[1]}")
            return False
    return True


def _prefix_ok(frames, prefix, where, layout, findings) -> bool:
    """Cropped CASME/SMIC releases name frames ``reg_…``, raw ones do not: a mix means the
    wrong folder."""
    wrong = [p.name for p in frames if p.name.startswith("reg_") != bool(prefix)]
    if wrong:
        findings.add("bad-frame", where, f"expected {layout} frames named {prefix or 'without reg_'}…, found "
                     f"{wrong[0]} (raw and cropped files mixed?)")
        return False
    return True


def _apex(where, onset, apex, offset, findings):
    """The apex as a frame number, or None; a missing or outside apex is noted, not fatal."""
    if apex is None or apex == 0:
        findings.add("apex-missing", where, "apex not coded (blank, '/' or 0); the middle frame stands in")
        return None
    if not onset <= apex <= offset:
        findings.add("apex-outside", where, f"apex {apex} outside onset..offset {onset}..{offset}; "
                     "the middle frame stands in")
    return apex


def _read_clip(folder, onset, offset, where, prefix, layout, findings, verify, keep=None):
    frames = _frames_in_range(folder, onset, offset, where, findings, keep)
    if frames is None or (prefix is not None and not _prefix_ok(frames, prefix, where, layout, findings)):
        return None
    return frames if _verify(frames, where, findings, verify) else None


def _pick_sheet(root: Path, patterns, order=(), sheet: str | None = None) -> tuple[Path, list[Path]]:
    """The annotation sheet: ``sheet`` (a file name at the root) when given, else the one match
    of ``patterns``, else the first of several in ``order`` (stated in the docs) -> (chosen,
    every candidate)."""
    found = sorted({p for pat in patterns for p in root.glob(pat) if p.is_file() and not p.name.startswith("~$")})
    if sheet is not None:
        path = root / sheet
        if not path.is_file():
            raise _Unreadable(f"{path}: the sheet asked for (sheet={sheet!r}) is not there; "
                              f"found {[p.name for p in found] or 'no sheet'}")
        return path, found
    if not found:
        raise _Unreadable(f"{root}: expected an annotation sheet matching {' or '.join(patterns)} at the "
                          f"dataset's top, found none{_hint_at(root, patterns)}")
    for stem in order:
        for p in found:
            if p.stem == stem:
                return p, found
    if len(found) > 1:
        raise _Unreadable(f"{root}: {len(found)} sheets match ({', '.join(p.name for p in found)}) and none "
                          "is a known version; name the one to read (sheet=...)")
    return found[0], found


def _columns_by_content(table: pd.DataFrame, sheet: Path) -> dict:
    """CASME-I/II sheet columns by what their headers say (copies differ: 'OnsetF' or 'Onset',
    'AU' or 'Action Units'; CASME-I's emotion column may be headed otherwise: the 12th)."""
    names = [str(c).strip() for c in table.columns]
    low = [n.lower().replace(" ", "") for n in names]

    def first(*keys, exclude=()):
        for i, n in enumerate(low):
            if any(k in n for k in keys) and not any(e in n for e in exclude):
                return names[i]
        return None

    cols = {"subject": first("subject", "sub"), "clip": first("filename", "file"),
            "onset": first("onset"), "apex": first("apex"), "offset": first("offset"),
            "aus": first("actionunit", "au"), "emotion": first("emotion", exclude=("objective",))}
    if cols["emotion"] is None and len(names) >= 12:
        cols["emotion"] = names[11]   # CASME-I: the emotion is the 12th column
    missing = [k for k in ("subject", "clip", "onset", "offset", "emotion") if cols[k] is None]
    if missing:
        shown = [n for n in names if not n.startswith("Unnamed")]
        raise _Unreadable(f"{sheet}: expected columns for subject, filename, onset, apex, offset, AUs, "
                          f"emotion; found no column for {', '.join(missing)} among the headers {shown}")
    return cols


def _sheet_rows(sheet: Path, table: pd.DataFrame, cols: dict, findings: _Findings, seen: set):
    """(where, subject number, clip, onset, apex, offset, aus, label) of every readable row;
    ``seen`` collects the (subNN, clip) every row names, readable or not."""
    for i, rec in table.iterrows():
        where = f"{sheet.name} row {i + 2}"            # spreadsheet row (header is row 1)
        if all(pd.isna(rec[c]) for c in cols.values() if c is not None):   # blank trailing rows
            continue
        subj = _to_int(rec[cols["subject"]])
        name = _text(rec[cols["clip"]])
        onset, offset = _to_int(rec[cols["onset"]]), _to_int(rec[cols["offset"]])
        apex = _to_int(rec[cols["apex"]]) if cols["apex"] else None   # '/' (CASME II) or blank -> missing
        if subj is not None and name:
            seen.add((f"sub{subj:02d}", name))
        bad = []
        if subj is None:
            bad.append(f"{cols['subject']} should be a number, got {rec[cols['subject']]!r}")
        if not name:
            bad.append(f"{cols['clip']} is blank")
        if onset is None:
            bad.append(f"{cols['onset']} should be a frame number, got {rec[cols['onset']]!r}")
        if offset is None:
            bad.append(f"{cols['offset']} should be a frame number, got {rec[cols['offset']]!r}")
        if onset is not None and offset is not None and offset < onset:
            bad.append(f"{cols['offset']} {offset} is before {cols['onset']} {onset}")
        if bad:
            findings.add("sheet-row", where if subj is None or not name else f"sub{subj:02d}/{name} ({where})",
                         "; ".join(bad))
            continue
        aus = _text(rec[cols["aus"]]) if cols["aus"] else ""
        yield where, subj, name, onset, apex, offset, aus, _text(rec[cols["emotion"]])


def _folders_without_rows(folder: Path, seen: set, findings: _Findings, subject_glob="sub*"):
    """Clip folders on disk that no sheet row names (the releases have some)."""
    for sub in sorted(folder.glob(subject_glob)):
        if not sub.is_dir():
            continue
        for clip in sorted(p for p in sub.iterdir() if p.is_dir()):
            if (sub.name, clip.name) not in seen:
                findings.add("folder-without-row", f"{sub.name}/{clip.name}",
                             f"{clip} has no row in the sheet; not read")


def _casme2(s, root, layout, findings, verify, sheet=None):
    """CASME II: one sheet row per clip (Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
    Action Units, Estimated Emotion), frames in <layout folder>/subNN/<Filename>/."""
    path, found = _pick_sheet(root, s.sheets, CASME2_SHEET_ORDER, sheet)
    table = read_sheet(path)
    cols = _columns_by_content(table, path)
    folder = _image_folder(s, root, layout)
    rows, seen = [], set()
    for _where, subj, name, onset, apex, offset, aus, label in _sheet_rows(path, table, cols, findings, seen):
        subject = f"sub{subj:02d}"
        clip_where = f"{subject}/{name}"
        target = _inside(folder, subject, name)
        if target is None:
            findings.add("sheet-row", clip_where, f"Filename {name!r} would leave the data root {root}; refused")
            continue
        frames = _read_clip(target, onset, offset, clip_where, s.prefix[layout], layout, findings, verify)
        if frames is None:
            continue
        rows.append({"subject": subject, "clip": name, "label": label, "onset": onset,
                     "apex": _apex(clip_where, onset, apex, offset, findings), "offset": offset,
                     "aus": aus, "frames": frames})
    _folders_without_rows(folder, seen, findings)
    return rows, {"sheet": [str(path.relative_to(root))], "sheet_version": _casme2_version(path),
                  "sheets_found": [p.name for p in found], "image_folder": str(folder.relative_to(root))}


def _casme2_version(path: Path) -> str:
    stem = path.stem
    return stem.rsplit("-", 1)[-1] if stem.startswith("CASME2-coding-") else stem


def _casme(s, root, layout, findings, verify, sheet=None):
    """CASME (I): two sections, ``CASME_A/Section A/Section A.xls`` (subjects 1-7) and
    ``CASME_B/Section B/Section B.xls`` (8-19), each with its own frames below it; or one
    merged sheet at the root (many users hold one) over the sections' folders."""
    sections = [(root / a / b, root / a / b / f"{b}.xls") for a, b in CASME_SECTIONS]
    if sheet is not None:
        merged, _ = _pick_sheet(root, (), (), sheet)
        sheets = [merged]
    elif all(p.is_file() for _, p in sections):
        sheets = [p for _, p in sections]
    else:
        singles = sorted(p for pat in ("*.xls", "*.xlsx") for p in root.glob(pat) if not p.name.startswith("~$"))
        if len(singles) == 1:
            sheets = singles
        elif singles:
            raise _Unreadable(f"{root}: several sheets at the top ({', '.join(p.name for p in singles)}) and not "
                              "both section sheets; name the one to read (sheet=...)")
        else:
            have = [str(p.relative_to(root)) for _, p in sections if p.is_file()]
            raise _Unreadable(f"{root}: expected CASME's section sheets "
                              f"{', '.join(str(p.relative_to(root)) for _, p in sections)}"
                              f" (found {have or 'neither'}) or one merged sheet at the top{_hint(s, root)}")
    # frames below each section (CASME_A/Section A/sub01/EP01_5/); some copies keep them in one
    # folder at the top instead (Cropped/, CASME_raw_selected/: MEB's arrangement)
    folders = [d for d, _ in sections if d.is_dir()] + [root / f for f in s.folders[layout] if (root / f).is_dir()]
    if not folders:
        raise _Unreadable(f"{root}: expected the section folders "
                          f"{', '.join(str(d.relative_to(root)) for d, _ in sections)}"
                          f" or {s.folders[layout][0]}/, found none{_hint(s, root)}")
    rows, seen = [], set()
    for path in sheets:
        table = read_sheet(path)
        cols = _columns_by_content(table, path)
        for _where, subj, name, onset, apex, offset, aus, label in _sheet_rows(path, table, cols, findings, seen):
            subject = f"sub{subj:02d}"
            clip_where = f"{subject}/{name}"
            base = _casme_clip_folder(folders, layout, subject, name)
            if base is None:
                findings.add("folder-missing", clip_where, f"expected the clip folder {subject}/{name}/ in "
                             f"{' or '.join(str(d.relative_to(root)) for d in folders)}, found none")
                continue
            # raw (EP01_5-1.jpg, some img1.jpg) and cropped (reg_EP01_5-1.jpg) frames: the layout's own
            frames = _read_clip(base, onset, offset, clip_where, None, layout, findings, verify,
                                keep=lambda p: p.name.startswith("reg_") == (layout == "cropped"))
            if frames is None:
                continue
            rows.append({"subject": subject, "clip": name, "label": label, "onset": onset,
                         "apex": _apex(clip_where, onset, apex, offset, findings), "offset": offset,
                         "aus": aus, "frames": frames})
    for d in folders:
        _folders_without_rows(d, seen, findings)
    version = "two section sheets" if len(sheets) == 2 else "one merged sheet"
    return rows, {"sheet": [str(p.relative_to(root)) for p in sheets], "sheet_version": version,
                  "sheets_found": [p.name for p in sheets],
                  "image_folder": ", ".join(str(d.relative_to(root)) for d in folders)}


def _casme_clip_folder(folders, layout, subject, name):
    """The first folder of the clip that holds frames of the layout (raw frames may lie below
    the sections and cropped ones in a Cropped/ folder at the top), else the first at all."""
    found = [t for t in (_inside(d, subject, name) for d in folders) if t is not None and t.is_dir()]
    for t in found:
        if any(p.name.startswith("reg_") == (layout == "cropped") and p.suffix.lower() in IMAGE_SUFFIXES
               for p in t.iterdir()):
            return t
    return found[0] if found else None


def _casme_sq(s, root, layout, findings, verify, sheet=None, label_set="table2"):
    """CAS(ME)^2: the first sheet (no header) lists the expressions: participant index,
    expression name (stimulus video + running number, ``anger1_1``), onset, apex, offset, AUs,
    emotion, expression type, self-report; ``naming rule1`` maps participants to folders
    (15, s15, 1), ``naming rule2`` stimulus codes to video names ('0401', anger1). Frames are
    numbered along the long video: ``rawpic/s15/15_0401<name>/``, or per expression
    ``selectedpic/s15/anger1_1/`` and ``cropped/15/anger1_1/``."""
    path, found = _pick_sheet(root, s.sheets, CASME_SQ_SHEET_ORDER, sheet)
    book = read_sheet(path, header=None, sheet_name=None)
    names = list(book)
    by_key = {str(n).strip().lower().replace(" ", ""): n for n in names}
    missing = [n for n in CASME_SQ_SHEETS if n.replace(" ", "") not in by_key]
    if missing:
        raise _Unreadable(f"{path}: expected the sheets {', '.join(CASME_SQ_SHEETS)} beside the expressions' "
                          f"sheet, found {names}")
    people = _naming_rule1(path, book[by_key["namingrule1"]])
    videos = _naming_rule2(path, book[by_key["namingrule2"]])
    table = book[names[0]]
    if table.shape[1] < 8:
        raise _Unreadable(f"{path} sheet {names[0]!r}: expected 9 columns (participant, expression, onset, apex, "
                          f"offset, AUs, emotion, type, self-report), found {table.shape[1]}")
    folder = _image_folder(s, root, layout)
    kind = folder.name        # rawpic: long videos; selectedpic / cropped: one folder per expression
    rows, seen, misnamed = [], set(), set()
    for i, rec in table.iterrows():
        where = f"{path.name} sheet {names[0]!r} row {i + 1}"
        vals = list(rec.values) + [None] * 9
        part, expression = _to_int(vals[0]), _text(vals[1])
        if part is None and not expression:
            continue
        if part is None and i == 0:      # a copy with a header row
            continue
        onset, apex, offset = map(_to_int, vals[2:5])
        video = expression.rsplit("_", 1)[0] if "_" in expression else ""
        bad = []
        if part not in people:
            bad.append(f"participant {vals[0]!r} is not in sheet {CASME_SQ_SHEETS[0]!r}")
        if video not in videos:
            bad.append(f"expression {expression!r}: expected <video>_<n> with a video of sheet "
                       f"{CASME_SQ_SHEETS[1]!r} ({', '.join(sorted(videos))})")
        if onset is None or offset is None:
            bad.append(f"onset and offset should be frame numbers, got {vals[2]!r}, {vals[4]!r}")
        if bad:
            findings.add("sheet-row", where, "; ".join(bad))
            continue
        number, subject = people[part]
        clip_where = f"{subject}/{expression}"
        if offset == 0:      # the release's convention: the expression ends at its apex
            if not apex:
                findings.add("sheet-row", clip_where, f"offset 0 (ends at the apex) but no apex ({where})")
                continue
            findings.add("offset-0", clip_where, f"offset 0 ({where}): read onset {onset} to apex {apex}")
            offset = apex
        if offset < onset:
            findings.add("sheet-row", clip_where, f"offset {offset} is before onset {onset} ({where})")
            continue
        if kind == "rawpic":     # 15_0401girlcrashing: found by its code (the name is in no sheet)
            videos_dir = folder / subject
            hits = sorted(videos_dir.glob(f"{number}_{videos[video]}*")) if videos_dir.is_dir() else []
            if not hits and videos_dir.is_dir():   # the release's s19 holds 23_0502funnyerrors
                hits = sorted(videos_dir.glob(f"*_{videos[video]}*"))
                if hits and hits[0] not in misnamed:
                    misnamed.add(hits[0])
                    findings.add("folder-misnamed", f"{subject}/{hits[0].name}",
                                 f"expected {number}_{videos[video]}…; read as video {video} of {subject}")
            target = hits[0] if hits else videos_dir / f"{number}_{videos[video]}…"
        else:
            target = _inside(folder, number if kind == "cropped" else subject, expression)
        seen.add(target.name if target is not None else None)
        if target is None:
            findings.add("sheet-row", clip_where, f"expression {expression!r} would leave the data root; refused")
            continue
        frames = _read_clip(target, onset, offset, clip_where, s.prefix[layout], layout, findings, verify)
        if frames is None:
            continue
        category = re.match(r"[a-z]+", video).group(0)
        rows.append({"subject": subject, "clip": expression,
                     "label": category if label_set == "table2" else _text(vals[6]).lower(),
                     "onset": onset, "apex": _apex(clip_where, onset, apex or None, offset, findings),
                     "offset": offset, "aus": _text(vals[5]), "frames": frames,
                     "type": _text(vals[7]), "sheet_emotion": _text(vals[6]), "self_report": _text(vals[8])})
    return rows, {"sheet": [str(path.relative_to(root))], "sheet_version": path.stem,
                  "sheets_found": [p.name for p in found], "image_folder": str(folder.relative_to(root))}


def _naming_rule1(path, sheet) -> dict:
    """``naming rule1``: participant index -> (folder number, folder name), read by content:
    the column of ``sNN`` names, the number column equal to their digits, the other one the
    index (the release's order is 15, s15, 1)."""
    people = {}
    for row in sheet.itertuples(index=False):
        cells = [_text(c) for c in row]
        folder = next((c for c in cells if re.fullmatch(r"s\d+", c)), None)
        numbers = [_to_int(c) for c in cells if _to_int(c) is not None]
        if folder is None or not numbers:
            continue
        digits = int(folder[1:])
        rest = list(numbers)
        if digits in rest and len(rest) > 1:
            rest.remove(digits)
        people[rest[0]] = (str(digits), folder)
    if not people:
        raise _Unreadable(f"{path} sheet {CASME_SQ_SHEETS[0]!r}: expected rows of folder number, folder "
                          "name sNN and participant index (15, s15, 1), found none")
    return people


def _naming_rule2(path, sheet) -> dict:
    """``naming rule2``: video name -> its four-digit code ('0401', anger1), by content."""
    videos = {}
    for row in sheet.itertuples(index=False):
        cells = [_text(c) for c in row]
        code = next((c for c in cells if re.fullmatch(r"\d{3,4}", c)), None)
        name = next((c for c in cells if re.fullmatch(r"[A-Za-z]+\d*", c)), None)
        if code and name:
            videos[name] = code.zfill(4)
    if not videos:
        raise _Unreadable(f"{path} sheet {CASME_SQ_SHEETS[1]!r}: expected rows of code and video name "
                          "('0401', anger1), found none")
    return videos


def _smic(s, root, layout, findings, verify, sheet=None):
    """SMIC-HS: labels from folders ``<layout folder>/sN/micro/<label>/<clip>/`` (cropped:
    ``SMIC_all_cropped/HS``; raw: ``SMIC_all_raw/HS`` or ``HS``); no sheet, so a clip is every
    frame in its folder (frame numbers skip; time order still holds). ``non_micro/`` beside
    ``micro/`` holds clips that are not micro-expressions: counted, not read."""
    base = _image_folder(s, root, layout)
    rows = []
    subjects = sorted((p for p in base.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)),
                      key=lambda p: int(p.name[1:]))
    for subject_dir in subjects:
        other = subject_dir / "non_micro"
        if other.is_dir():
            n = sum(1 for _ in other.rglob("*") if _.is_dir() and any(_.glob("*.bmp")))
            findings.add("not-micro", f"{subject_dir.name}/non_micro", f"{n} clip(s), not micro-expressions; not read")
        micro = subject_dir / "micro"
        if not micro.is_dir():
            continue
        for label_dir in sorted(p for p in micro.iterdir() if p.is_dir()):
            if label_dir.name not in SMIC_FOLDER_CODES:
                findings.add("folder-without-row", label_dir.relative_to(base),
                             f"expected a label folder named one of {list(SMIC_FOLDER_CODES)}; not read")
                continue
            for clip_dir in sorted(p for p in label_dir.iterdir() if p.is_dir()):
                where = f"{subject_dir.name}/{clip_dir.name}"
                try:
                    frames = list_frames(clip_dir)
                except DataError as exc:
                    findings.add("bad-frame", where, str(exc))
                    continue
                if not _prefix_ok(frames, s.prefix[layout], where, layout, findings) or \
                        not _verify(frames, where, findings, verify):
                    continue
                rows.append({"subject": subject_dir.name, "clip": clip_dir.name, "label": label_dir.name,
                             "onset": frame_number(frames[0]), "apex": None,
                             "offset": frame_number(frames[-1]), "aus": "", "frames": frames})
    if not rows and not findings.defects():
        raise _Unreadable(f"{base}: expected clips under sN/micro/<negative|positive|surprise>/<clip>/, found none")
    return rows, {"sheet": [], "sheet_version": "folder names (no sheet)", "sheets_found": [],
                  "image_folder": str(base.relative_to(root))}


def _smic_5class(root: Path) -> dict:
    path = root / SMIC_5CLASS_FILE
    if not path.is_file():
        raise _Unreadable(f"{root}: SMIC's five classes (Table II) need {SMIC_5CLASS_FILE} (columns subject, "
                          "clip, emotion; data/README.md), which the release does not include; use "
                          "label_set='2class' or '3class' for the release's own labels")
    table = pd.read_csv(path, comment="#", dtype=str)
    if not {"subject", "clip", "emotion"} <= set(table.columns):
        raise _Unreadable(f"{path}: expected columns subject, clip, emotion, found {list(table.columns)}")
    return {(str(r.subject).strip(), str(r.clip).strip()): _norm_emotion(r.emotion) for r in table.itertuples()}


READERS = {"casme": _casme, "casme2": _casme2, "casme_sq": _casme_sq, "smic": _smic}


def load(name: str, root: str | Path, layout: str = "cropped", on_error: str = "raise",
         label_set: str = "table2", verify: str = "header", sheet: str | None = None) -> pd.DataFrame:
    """Read one dataset as its release unpacks under ``root`` -> one row per clip with
    ``dataset, subject, clip, emotion, onset, apex, offset, aus, frames`` (+ ``label``, the
    sheet's or folder's own word, ``n_frames``, ``fps``, ``layout``), ``frames`` in time order.

    ``emotion`` is mapped to a class set: Table II's (``label_set="table2"``; clips of other
    classes are left out, as the paper did) or a release's own (CAS(ME)^2 ``"emotion"``, its
    emotion column; SMIC ``"2class"``, ``"3class"``, its folders). Everything found while
    reading is in ``df.attrs["findings"]`` (:class:`Finding`: kind, where, message; kinds and
    what each does to its clip in :data:`FINDING_KINDS`). A clip with a defect (frames
    missing, folder missing, ...) is left out; ``on_error="raise"`` (the default) raises one
    :class:`DataError` listing every defect, ``"skip"`` returns the rest (the profiles
    choose; data/README.md). ``verify``: "header" checks each frame's header and size,
    "full" decodes every frame, "none" skips. ``sheet`` names the sheet file to read where a
    release has several versions (CASME II; the default rule: :data:`CASME2_SHEET_ORDER`).
    ``df.attrs`` also says what was read: ``sheet``, ``sheet_version``, ``image_folder``,
    ``source`` ("licensed" or "twin") and ``twin`` (the twin's settings). Nothing is written.
    """
    s = spec(name)
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}: expected one of {', '.join(LAYOUTS)}")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error={on_error!r}: expected 'raise' or 'skip'")
    if label_set not in s.label_sets:
        raise ValueError(f"label_set={label_set!r}: {s.title} has the label sets {', '.join(s.label_sets)}")
    if verify not in ("header", "full", "none"):
        raise ValueError(f"verify={verify!r}: expected 'header', 'full' or 'none'")
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: expected the {s.title} folder (sheet at its top, images below), "
                        "found no such folder")
    findings = _Findings()
    extra = {"label_set": label_set} if name == "casme_sq" else {}
    try:
        five = _smic_5class(root) if name == "smic" and label_set == "table2" else None
        rows, read = READERS[name](s, root, layout, findings, verify, sheet=sheet, **extra)
    except _Unreadable as exc:
        raise DataError(f"{s.title} at {root} ({layout} layout): {exc}") from None
    # messages name files relative to the dataset's folder (the table of left-out clips stays readable)
    prefix = f"{root}{os.sep}"
    findings.items = [dataclasses.replace(f, message=f.message.replace(prefix, "")) for f in findings.items]
    classes = classes_of(name, label_set)
    kept = []
    for r in rows:
        if five is not None:
            r["emotion"] = five.get((r["subject"], r["clip"]))
            if r["emotion"] is None:
                findings.add("no-label", f"{r['subject']}/{r['clip']}", f"not in {SMIC_5CLASS_FILE}")
                continue
        else:
            r["emotion"] = _norm_emotion(r["label"])
        if r["emotion"] not in classes:
            findings.add("other-class", f"{r['subject']}/{r['clip']}",
                         f"{r['label']!r} is not one of {', '.join(classes)}")
            continue
        kept.append(r)
    if five is not None:
        listed = {(r["subject"], r["clip"]) for r in rows}
        for subject, clip in sorted(set(five) - listed):
            findings.add("folder-missing", f"{subject}/{clip}", f"{SMIC_5CLASS_FILE} labels it, no clip folder read")
    defects = findings.defects()
    if defects and on_error == "raise":
        raise DataError(f"{s.title} at {root} ({layout} layout): {len(defects)} clip(s) cannot be read as coded "
                        "(on_error='skip' leaves them out):\n  " + "\n  ".join(map(str, defects)))
    extras = ["label"] + (["type", "sheet_emotion", "self_report"] if name == "casme_sq" else [])
    df = pd.DataFrame(kept, columns=COLUMNS[1:] + extras)
    df.insert(0, "dataset", name)
    df["n_frames"] = df["frames"].map(len).astype(int)
    df["fps"] = s.fps
    df["layout"] = layout
    for c in ("onset", "offset"):
        df[c] = df[c].astype(int)
    df["apex"] = df["apex"].astype("Int64")
    df = df.sort_values(["subject", "clip"], key=lambda col: col.map(natural_key)).reset_index(drop=True)
    marker = root / TWIN_MARKER
    twin = json.loads(marker.read_text()).get("settings") if marker.is_file() else None
    df.attrs.update(
        findings=[dataclasses.asdict(f) for f in findings.items],
        problems=[str(f) for f in defects],
        excluded=[f.where for f in findings.items if f.kind in ("other-class", "no-label")],
        root=str(root), label_set=label_set, layout=layout, source="twin" if twin else "licensed",
        twin=twin, **read)
    return df


def apex_index(row) -> int:
    """Position of a clip's apex frame in its ``frames`` (by frame number, so frame gaps and
    clips not starting at the onset are handled), else the middle frame: the apex may be
    missing ('/', 0, SMIC) or outside the frames read (CAS(ME)^2 ``apex-outside``). ``row``:
    a ``load`` row as a Series or an ``itertuples`` tuple."""
    frames = list(row.frames)
    apex = getattr(row, "apex", None)
    if apex is not None and not pd.isna(apex):
        numbers = [frame_number(f) for f in frames]
        if int(apex) in numbers:
            return numbers.index(int(apex))
    return len(frames) // 2


def findings(df: pd.DataFrame) -> pd.DataFrame:
    """A ``load`` result's findings as a table: kind, effect, where, message."""
    rows = [{**f, "effect": FINDING_KINDS[f["kind"]][0]} for f in df.attrs.get("findings", [])]
    return pd.DataFrame(rows, columns=["kind", "effect", "where", "message"])


def left_out(df: pd.DataFrame) -> pd.DataFrame:
    """Every clip a ``load`` with ``on_error="skip"`` left out, and why (the defects), plus
    those outside the label set: where, kind, why."""
    rows = [{"clip": f["where"], "kind": f["kind"], "why": f["message"]}
            for f in df.attrs.get("findings", []) if f["kind"] in DEFECTS + ("other-class", "no-label")]
    return pd.DataFrame(rows, columns=["clip", "kind", "why"])


def sources_sentence(tables: dict) -> str:
    """Which datasets a build read from licensed copies and which from twins, in words
    ("CASME-II: licensed copy; CASME-I, CAS(ME)^2, SMIC-HS: synthetic twins")."""
    groups: dict = {}
    for key, df in tables.items():
        title = SPECS["smic" if key == "smic_2class" else key].title if key in SPECS or key == "smic_2class" else key
        groups.setdefault(source_kind(df.attrs), []).append(title)
    return "; ".join(f"{', '.join(t)}: {k}{'s' if len(t) > 1 and k == 'synthetic twin' else ''}"
                     for k, t in sorted(groups.items()))


def describe_source(df: pd.DataFrame) -> str:
    """One line: what a ``load`` result was read from (licensed copy or twin, sheet, layout)."""
    a = df.attrs
    what = "synthetic twin (not the licensed data)" if a.get("source") == "twin" else "licensed copy"
    read = sheet_read(a, ", ".join(a.get("sheet") or []))
    return f"{what} at {a.get('root')}: {read}, {a.get('layout')} frames in {a.get('image_folder')}/"


def source_kind(attrs) -> str:
    """"licensed copy" or "synthetic twin": what a ``load`` result (its ``attrs``) was read from."""
    return "licensed copy" if attrs.get("source") == "licensed" else "synthetic twin"


def sheet_read(attrs, sheet: str) -> str:
    """The sheet(s) read and their version, the version only where the name does not say it."""
    version = str(attrs.get("sheet_version", ""))
    if not sheet:
        return version or "no sheet"
    return sheet if version in sheet else f"{sheet} ({version})"


def check(name: str, root: str | Path, layout: str = "cropped", label_set: str = "table2",
          verify: str = "header", sheet: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read a placed copy without stopping at defects -> (clips, defects as text)."""
    df = load(name, root, layout=layout, on_error="skip", label_set=label_set, verify=verify, sheet=sheet)
    return df, list(df.attrs["problems"])


def report(name: str, root: str | Path, layout: str = "cropped", label_set: str = "table2",
           verify: str = "header", sheet: str | None = None, first: int = 3) -> tuple[str, bool]:
    """``check-data``'s text for one dataset -> (text, readable). Readable means the reader
    found its sheet and folders and at least one clip; defects only leave clips out."""
    s = spec(name)
    root = Path(root)
    lines = [f"== {s.title} ({name}) at {root}"]
    try:
        df = load(name, root, layout=layout, on_error="skip", label_set=label_set, verify=verify, sheet=sheet)
    except DataError as exc:
        lines.append(f"   cannot read: {exc}")
        return "\n".join(lines), False
    a = df.attrs
    lines.append(f"   source      {describe_source(df)}")
    if len(a.get("sheets_found", [])) > 1 and len(a.get("sheet", [])) == 1:
        lines.append(f"   sheets      {', '.join(a['sheets_found'])} found; read {', '.join(a['sheet'])} "
                     "(rule: data/README.md; --sheet picks another)")
    key = "smic_2class" if name == "smic" and label_set == "2class" else name
    from .tables import table2_counts

    counts = table2_counts(df, key)
    lines.append(f"   label set   {label_set}: clips per class beside the paper's Table II")
    for r in counts.itertuples():
        paper = "-" if pd.isna(r.table2) else int(r.table2)
        diff = "" if pd.isna(r.difference) or not r.difference else f"  ({int(r.difference):+d})"
        lines.append(f"     {r._1:<12} {r.ours:>5}   Table II {paper}{diff}")
    lines.append(f"   read        {len(df)} clips, {int(df['n_frames'].sum()) if len(df) else 0} frames, "
                 f"{df['subject'].nunique() if len(df) else 0} subjects")
    table = findings(df)
    if table.empty:
        lines.append("   findings    none")
    for kind, group in table.groupby("kind", sort=False):
        effect, meaning = FINDING_KINDS[kind]
        lines.append(f"   {kind:<19} {len(group):>4}  [{effect}] {meaning}")
        for f in group.head(first).itertuples():
            lines.append(f"       {f.where}: {f.message}")
        if len(group) > first:
            lines.append(f"       … {len(group) - first} more")
    n_def = int(table["kind"].isin(DEFECTS).sum()) if not table.empty else 0
    lines.append(f"   notebooks   use {len(df)} clips" + (f"; {n_def} left out for defects (profiles set "
                 "on_error: skip; the library's default would stop)" if n_def else ""))
    return "\n".join(lines), len(df) > 0


RELEASE_FOLDER_NAMES = {"casme": ("CASME", "CASME1"), "casme2": ("CASME2", "CASME II", "CASME_II"),
                        "casme_sq": ("CAS(ME)^2", "CASME^2", "CAS(ME)2", "CASME_sq"), "smic": ("SMIC", "SMIC-HS")}


def dataset_folder_hint(folder: Path) -> str:
    """A release folder under its own name beside where ours is expected (``check-data``'s
    hint: ``" (found <it>: rename it or link it as <folder>)"``, else ``""``)."""
    name = folder.name
    for other in RELEASE_FOLDER_NAMES.get(name, ()):
        cand = folder.parent / other
        if cand.is_dir():
            return f" (found {cand}: rename it or link it as {folder})"
    return ""
