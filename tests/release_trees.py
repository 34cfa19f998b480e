"""Tiny trees in each release's real on-disk format, written by hand (explicit rows, 8x10 px
frames), independent of learnet_lite.synthetic, so that a bug in the twins cannot hide a
reader bug. Each builder returns the root it wrote; the tests state what they expect."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = (8, 10)   # frame height, width


def img(path: Path, value: int = 100, size=SIZE):
    """One frame (grey value ``value``, so frames can be told apart when read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full(tuple(size) + (3,), value % 256, np.uint8)), path


def frames(folder: Path, names):
    for name in names:
        img(folder / name)


def write_xlsx(path: Path, sheets):
    """``sheets``: [(title, rows)], a header (if any) being the first row; None = blank cell."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def write_xls(path: Path, sheets):
    """The old .xls format (CASME-I's section sheets), with xlwt; None = blank cell."""
    import xlwt

    wb = xlwt.Workbook()
    for title, rows in sheets:
        ws = wb.add_sheet(title)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value is not None:
                    ws.write(i, j, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))


# ------------------------------------------------------------------ CAS(ME)^2
# naming rule1: folder number, folder name, participant index (the release's order)
CASME_SQ_FOLDERS = (15, 16, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 40)
NAMING_RULE1 = [[n, f"s{n}", i] for i, n in enumerate(CASME_SQ_FOLDERS, start=1)]
# naming rule2: code, video name
NAMING_RULE2 = [["0101", "disgust1"], ["0102", "disgust2"], ["0401", "anger1"], ["0402", "anger2"],
                ["0502", "happy1"], ["0503", "happy2"], ["0505", "happy3"], ["0507", "happy4"],
                ["0508", "happy5"]]
# the long videos' folders (the descriptive part is in no sheet); s19's 0502 is misnumbered
RAW_VIDEOS = {("s15", "0401"): "15_0401girlcrashing", ("s15", "0508"): "15_0508funnyinnovations",
              ("s16", "0102"): "16_0102eatingworms", ("s19", "0502"): "23_0502funnyerrors",
              ("s19", "0402"): "19_0402beatingpregnantwoman", ("s40", "0101"): "40_0101disgustingteeth"}

# participant, expression, onset, apex, offset, AUs, emotion, type, self-report
CASME_SQ_ROWS = [
    [1, "anger1_1", 557, 560, 563, "4+10+14", "negative", "macro-expression", "angry"],
    [1, "anger1_2", 999, 1000, 1002, "4", "negative", "micro-expression", "angry"],      # img999, img1000
    [1, "happy5_2", 98, 99, 101, "12", "positive", "macro-expression", "funny"],
    [2, "disgust2_3", 10, 12, 0, "NULL", "negative", "macro-expression", "disgusting"],   # offset 0
    [3, "happy1_1", 20, 0, 24, "4,24", "positive", "macro-expression", "happy"],          # apex 0
    [3, "anger2_1", 30, 40, 33, "14or23", "others", "micro-expression", "sad"],           # apex > offset
    [22, "disgust1_1", 5, 6, 7, "9", "surprise", "macro-expression", "x"],                # no cropped folder
]
# expression -> (participant folder number, frames on disk in its per-expression folders)
CASME_SQ_ON_DISK = {"anger1_1": range(555, 566), "anger1_2": range(997, 1004), "happy5_2": range(96, 103),
                    "disgust2_3": range(9, 14), "happy1_1": range(20, 25), "anger2_1": range(30, 34)}
CASME_SQ_EXPECTED = {   # expression -> (subject, frame numbers read)
    "anger1_1": ("s15", list(range(557, 564))), "anger1_2": ("s15", [999, 1000, 1001, 1002]),
    "happy5_2": ("s15", [98, 99, 100, 101]), "disgust2_3": ("s16", [10, 11, 12]),
    "happy1_1": ("s19", list(range(20, 25))), "anger2_1": ("s19", list(range(30, 34)))}
_VIDEO_CODE = {name: code for code, name in NAMING_RULE2}
_FOLDER = {i: n for n, _, i in NAMING_RULE1}


def raw_name(n: int) -> str:
    """CAS(ME)^2's frame names: numbered from 1 along the long video, 3 digits below 100."""
    return f"img{n:03d}.jpg"


def casme_sq_book(path: Path, rows=CASME_SQ_ROWS, first="CASMEcode_final", rule1=NAMING_RULE1,
                  rule2=NAMING_RULE2):
    write_xlsx(path, [(first, rows), ("naming rule1", rule1), ("naming rule2", rule2)])


def casme_sq_tree(root: Path, layout="cropped", rows=CASME_SQ_ROWS, book="CAS(ME)^2code_final.xlsx",
                  first="CASMEcode_final", rule2=NAMING_RULE2, doubled=False):
    """``layout``: "cropped" (cropped/15/anger1_1/), "selected" (selectedpic/s15/anger1_1/) or
    "rawpic" (rawpic/s15/15_0401girlcrashing/, frames along the long video)."""
    casme_sq_book(root / book, rows, first, rule2=rule2)
    if layout == "rawpic":
        base = root / ("rawpic/rawpic" if doubled else "rawpic")
        for (subject, _code), video in RAW_VIDEOS.items():
            frames(base / subject / video, [raw_name(n) for n in range(1, 5)])
        for expression, numbers in CASME_SQ_ON_DISK.items():
            part = next(r[0] for r in rows if r[1] == expression)
            subject = f"s{_FOLDER[part]}"
            video = RAW_VIDEOS[(subject, _VIDEO_CODE[expression.rsplit("_", 1)[0]])]
            frames(base / subject / video, [raw_name(n) for n in numbers])
        frames(base / "s40" / "40_0101disgustingteeth", [raw_name(n) for n in range(1, 9)])
        return root
    top = {"cropped": "cropped", "selected": "selectedpic"}[layout]
    base = root / (f"{top}/{top}" if doubled else top)
    for expression, numbers in CASME_SQ_ON_DISK.items():
        part = next(r[0] for r in rows if r[1] == expression)
        person = str(_FOLDER[part]) if layout == "cropped" else f"s{_FOLDER[part]}"
        frames(base / person / expression, [raw_name(n) for n in numbers])
    return root


# ------------------------------------------------------------------ CASME (I)
CASME_HEADER = ["Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None, "Duration",
                None, "AU", "Emotion"]


def casme_row(subject, name, onset, apex, offset, au, emotion):
    return [subject, name, None, onset, apex, None, offset, None, offset - onset + 1, None, au, emotion]


CASME_A_ROWS = [casme_row(1, "EP01_5", 8, 9, 11, "4", "tense"),          # EP01_5-8.jpg ... unpadded
                casme_row(1, "EP02_1", 1, 2, 3, "12", "happiness"),      # EP02_1-001.jpg: padded
                casme_row(3, "EP05_2", 5, 6, 7, "14", "comtempt"),       # raw img5.jpg
                casme_row(7, "EP07_1", 1, 2, 20, "4", "disgust")]        # frames stop at 10
CASME_B_ROWS = [casme_row(8, "EP01_2", 3, 4, 6, "1+2", "surprise"),
                casme_row(19, "EP12_3", 2, 3, 4, "", "repression")]
CASME_EXPECTED = {   # (subject, clip) -> (emotion, raw frame names, cropped frame names)
    ("sub01", "EP01_5"): ("tension", [f"EP01_5-{n}.jpg" for n in (8, 9, 10, 11)],
                          [f"reg_EP01_5-{n}.jpg" for n in (8, 9, 10, 11)]),
    ("sub01", "EP02_1"): ("happiness", [f"EP02_1-{n:03d}.jpg" for n in (1, 2, 3)],
                          [f"reg_EP02_1-{n:03d}.jpg" for n in (1, 2, 3)]),
    ("sub03", "EP05_2"): ("contempt", [f"img{n}.jpg" for n in (5, 6, 7)],
                          [f"reg_EP05_2-{n}.jpg" for n in (5, 6, 7)]),
    ("sub08", "EP01_2"): ("surprise", [f"EP01_2-{n}.jpg" for n in (3, 4, 5, 6)],
                          [f"reg_EP01_2-{n}.jpg" for n in (3, 4, 5, 6)]),
    ("sub19", "EP12_3"): ("repression", [f"EP12_3-{n}.jpg" for n in (2, 3, 4)],
                          [f"reg_EP12_3-{n}.jpg" for n in (2, 3, 4)]),
}
SECTION = {"A": Path("CASME_A/Section A"), "B": Path("CASME_B/Section B")}


def casme_frames(root: Path):
    """Raw and cropped frames side by side in each clip folder below its section (with one
    frame more each side than the sheet codes), a folder without a row, a clip cut short."""
    a, b = root / SECTION["A"], root / SECTION["B"]
    frames(a / "sub01/EP01_5", [f"{p}EP01_5-{n}.jpg" for p in ("", "reg_") for n in range(7, 13)])
    frames(a / "sub01/EP02_1", [f"{p}EP02_1-{n:03d}.jpg" for p in ("", "reg_") for n in range(1, 5)])
    frames(a / "sub03/EP05_2", [f"img{n}.jpg" for n in range(4, 9)] + [f"reg_EP05_2-{n}.jpg" for n in range(4, 9)])
    frames(a / "sub07/EP07_1", [f"{p}EP07_1-{n}.jpg" for p in ("", "reg_") for n in range(1, 11)])
    frames(a / "sub02/EP09_9", [f"{p}EP09_9-{n}.jpg" for p in ("", "reg_") for n in range(1, 4)])  # no row
    frames(b / "sub08/EP01_2", [f"{p}EP01_2-{n}.jpg" for p in ("", "reg_") for n in range(2, 8)])
    frames(b / "sub19/EP12_3", [f"{p}EP12_3-{n}.jpg" for p in ("", "reg_") for n in range(1, 6)])
    return root


def casme_tree(root: Path, header=CASME_HEADER):
    write_xls(root / SECTION["A"] / "Section A.xls", [("Sheet1", [header] + CASME_A_ROWS)])
    write_xls(root / SECTION["B"] / "Section B.xls", [("Sheet1", [header] + CASME_B_ROWS)])
    return casme_frames(root)


# ------------------------------------------------------------------ CASME II
CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                 "Action Units", "Estimated Emotion"]
CASME2_ROWS = [
    [1, "EP02_01f", None, 46, 49, 52, None, "12", "happiness"],
    [2, "EP03_02", None, 8, "/", 12, None, "4+7", "disgust"],          # apex '/': missing
    [4, "EP12_01", None, 1, 2, 3, None, "4", "others"],
    [16, "EP01_08", None, 73, 80, 110, None, "4", "repression"],       # folder stops at 96
    [26, "EP07_28", None, 1, 2, 3, None, "1+2", "surprise"],
]
CASME2_ON_DISK = {"sub01/EP02_01f": range(40, 56), "sub02/EP03_02": range(7, 14), "sub04/EP12_01": range(1, 4),
                  "sub16/EP01_08": range(73, 97), "sub26/EP07_28": range(1, 4),
                  "sub05/EP99_01": range(1, 3)}    # a folder without a sheet row
CASME2_EXPECTED = {("sub01", "EP02_01f"): ("happiness", list(range(46, 53))),
                   ("sub02", "EP03_02"): ("disgust", list(range(8, 13))),
                   ("sub04", "EP12_01"): ("others", [1, 2, 3]),
                   ("sub26", "EP07_28"): ("surprise", [1, 2, 3])}


def casme2_tree(root: Path, rows=CASME2_ROWS, sheet="CASME2-coding-20140508.xlsx", layouts=("cropped", "raw"),
                on_disk=CASME2_ON_DISK):
    if sheet:
        write_xlsx(root / sheet, [("Sheet1", [CASME2_HEADER] + list(rows))])
    for layout in layouts:
        top, prefix = {"cropped": ("Cropped", "reg_"), "raw": ("CASME2_RAW_selected", "")}[layout]
        for clip, numbers in on_disk.items():
            frames(root / top / clip, [f"{prefix}img{n}.jpg" for n in numbers])
    return root


# ------------------------------------------------------------------ SMIC-HS
SMIC_CLIPS = {   # (subject, label folder, clip) -> frame numbers (6 digits, with gaps)
    ("s1", "negative", "s1_ne_01"): (36237, 36238, 36240, 36245),
    ("s1", "positive", "s1_po_01"): (1201, 1202, 1203),
    ("s2", "surprise", "s2_sur_01"): (998, 999, 1000),
    ("s10", "negative", "s10_ne_02"): (5, 7, 9),
}


def smic_tree(root: Path, top="SMIC_all_cropped/HS", prefix="reg_", non_micro=True, clips=SMIC_CLIPS):
    for (subject, label, clip), numbers in clips.items():
        frames(root / top / subject / "micro" / label / clip, [f"{prefix}image{n:06d}.bmp" for n in numbers])
    if non_micro:
        frames(root / top / "s2/non_micro/negative/s2_ne_05", [f"{prefix}image{n:06d}.bmp" for n in (1, 2)])
        frames(root / top / "s2/non_micro/positive/s2_po_07", [f"{prefix}image{n:06d}.bmp" for n in (1, 2)])
    return root
