"""The four readers on hand-made tiny trees: each real quirk, each kind of bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from learnet_lite import datasets, faces
from learnet_lite.datasets import DataError, frame_number, load
from learnet_lite.paper import table
from learnet_lite.synthetic import write_xlsx

CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                 "Action Units", "Estimated Emotion"]


def frame(path: Path, size=(8, 10), value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full(size + (3,), value, np.uint8))


def casme2_tree(root: Path, rows, frames: dict):
    """rows: sheet rows; frames: 'subNN/clip' -> list of frame numbers (cropped layout)."""
    write_xlsx(root / "CASME2-coding-20140508.xlsx", [("Sheet1", CASME2_HEADER, rows)])
    for clip, numbers in frames.items():
        for n in numbers:
            frame(root / "Cropped" / clip / f"reg_img{n}.jpg", value=n)
    return root


def snapshot(root: Path):
    return sorted((str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*"))


def test_casme2_apex_slash_and_numeric_frame_order(tmp_path):
    root = casme2_tree(tmp_path, [[1, "EP02_01f", None, 9, "/", 11, None, "12", "happiness"],
                                  [2, "EP03_02", None, 4, 5, 6, None, "4+7", "disgust"]],
                       {"sub01/EP02_01f": [9, 10, 11, 12], "sub02/EP03_02": [4, 5, 6]})
    before = snapshot(root)
    df = load("casme2", root)
    assert snapshot(root) == before                      # data is only read
    assert list(df.columns[:9]) == datasets.COLUMNS
    row = df.iloc[0]
    assert pd.isna(row.apex) and row.onset == 9 and row.offset == 11
    # img10 after img9 (string order would put img10 first); img12 is past the offset
    assert [p.name for p in row.frames] == ["reg_img9.jpg", "reg_img10.jpg", "reg_img11.jpg"]
    assert [frame_number(p) for p in row.frames] == sorted(frame_number(p) for p in row.frames)
    assert df.iloc[1].apex == 5 and df.emotion.tolist() == ["happiness", "disgust"]


def test_frames_out_of_order_would_fail(tmp_path):
    # the check the test above relies on: a shuffled list is caught
    names = ["reg_img10.jpg", "reg_img9.jpg", "reg_img11.jpg"]
    assert [frame_number(n) for n in names] != sorted(frame_number(n) for n in names)


def test_casme_zero_padded_frames(tmp_path):
    header = ["Subject", "Filename", "OnsetF", "ApexF1", "ApexF2", "OffsetF", "Action Units", "Emotion"]
    write_xlsx(tmp_path / "CASME_coding.xlsx", [("Sheet1", header, [
        [1, "EP01_5", 8, 9, None, 10, "4", "tense"], [1, "EP02_1", 8, 9, None, 10, "12", "happy"]])])
    for n in (8, 9, 10):
        frame(tmp_path / "Cropped/sub01/EP01_5" / f"reg_EP01_5-{n:03d}.jpg")   # padded
        frame(tmp_path / "Cropped/sub01/EP02_1" / f"reg_EP02_1-{n}.jpg")       # not padded
    df = load("casme", tmp_path)
    assert df.emotion.tolist() == ["tension", "happiness"]
    assert [p.name for p in df.iloc[0].frames] == ["reg_EP01_5-008.jpg", "reg_EP01_5-009.jpg", "reg_EP01_5-010.jpg"]
    assert df.n_frames.tolist() == [3, 3]


def test_smic_missing_frame_numbers_and_label_sets(tmp_path):
    for n in (1, 2, 4, 10):     # 3 and 5..9 missing inside the clip: SMIC's real gaps
        frame(tmp_path / "HS_cropped/s1/micro/negative/s1_ne_01" / f"reg_image{n:06d}.bmp")
    for n in (5, 6):
        frame(tmp_path / "HS_cropped/s1/micro/positive/s1_po_01" / f"reg_image{n:06d}.bmp")
    three = load("smic", tmp_path, label_set="3class")
    assert three.emotion.tolist() == ["negative", "positive"]
    assert [frame_number(p) for p in three.iloc[0].frames] == [1, 2, 4, 10]
    assert (three.onset.tolist(), three.offset.tolist()) == ([1, 5], [10, 6])
    with pytest.raises(DataError, match="SMIC-5class-labels.csv"):
        load("smic", tmp_path)                          # five classes need the labels file
    (tmp_path / datasets.SMIC_5CLASS_FILE).write_text("subject,clip,emotion\ns1,s1_ne_01,fear\ns1,s1_po_01,happy\n")
    assert load("smic", tmp_path).emotion.tolist() == ["fear", "happiness"]


def casme_sq_tree(root: Path, rows):
    write_xlsx(root / "CAS(ME)^2code_final.xlsx", [
        ("CASME^2code_final", None, rows),
        ("naming rule1", None, [["disgustingteeth", "0101"]]),
        ("naming rule2", None, [[1, "s15"]]),
    ])
    for n in range(1, 21):
        frame(root / "cropped/s15/15_0101disgustingteeth" / f"img{n}.jpg")


def test_casme_sq_offset_zero_uses_apex_and_naming_sheets(tmp_path):
    casme_sq_tree(tmp_path, [[1, "disgustingteeth", 3, 6, 9, "4+7", "anger", "micro-expression", "angry"],
                             [1, "disgustingteeth", 12, 15, 0, "9", "disgust", "macro-expression", "disgust"],
                             [1, "disgustingteeth", 16, 17, 18, "1+2", "surprise", "macro-expression", "x"]])
    df = load("casme_sq", tmp_path)
    assert df.subject.tolist() == ["s15", "s15"]
    assert df.offset.tolist() == [9, 15]               # offset 0 -> the apex
    assert [frame_number(p) for p in df.iloc[1].frames] == [12, 13, 14, 15]
    assert df.attrs["excluded"] == ["s15/15_0101disgustingteeth_16 (surprise)"]   # not a Table II class


def test_raw_and_cropped_prefixes(tmp_path):
    casme2_tree(tmp_path, [[1, "EP01", None, 1, 2, 3, None, "12", "happiness"]], {"sub01/EP01": [1, 2, 3]})
    for n in (1, 2, 3):
        frame(tmp_path / "CASME2_RAW_selected/sub01/EP01" / f"img{n}.jpg")
    assert load("casme2", tmp_path, layout="raw").iloc[0].frames[0].name == "img1.jpg"
    assert load("casme2", tmp_path).iloc[0].frames[0].name == "reg_img1.jpg"
    # a raw frame in the cropped folder is a mix-up, named
    frame(tmp_path / "Cropped/sub01/EP01/img2.jpg")
    with pytest.raises(DataError, match="reg_"):
        load("casme2", tmp_path)


def test_every_problem_listed_in_one_error_and_skip(tmp_path):
    rows = [[1, "good", None, 1, 2, 3, None, "12", "happiness"],
            [1, "nofolder", None, 1, 2, 3, None, "12", "happiness"],
            [1, "gap", None, 1, 2, 4, None, "12", "happiness"],
            [1, "broken", None, 1, 2, 2, None, "12", "happiness"],
            [1, "sizes", None, 1, 2, 2, None, "12", "happiness"],
            [1, "../../../outside", None, 1, 2, 2, None, "12", "happiness"],
            ["x", "EP", None, "a", 2, 2, None, "12", "happiness"]]
    casme2_tree(tmp_path, rows, {"sub01/good": [1, 2, 3], "sub01/gap": [1, 2, 4],
                                 "sub01/broken": [1], "sub01/sizes": [1]})
    (tmp_path / "Cropped/sub01/broken/reg_img2.jpg").write_bytes(b"not an image")
    frame(tmp_path / "Cropped/sub01/sizes/reg_img2.jpg", size=(9, 10))
    before = snapshot(tmp_path)
    with pytest.raises(DataError) as err:
        load("casme2", tmp_path)
    text = str(err.value)
    assert "6 problem(s)" in text
    for expected in ("row 3: expected the clip folder", "row 4: expected frames 1..4", "numbers 3",
                     "row 5:", "could not read this file as an image", "row 6:", "expected a frame of size",
                     "row 7: Filename '../../../outside' would leave the data root", "row 8: Subject should be a number"):
        assert expected in text, expected
    df = load("casme2", tmp_path, on_error="skip")
    assert df["clip"].tolist() == ["good"] and len(df.attrs["problems"]) == 6
    assert load("casme2", tmp_path, on_error="skip", verify="full")["clip"].tolist() == ["good"]
    assert snapshot(tmp_path) == before


def test_wrong_columns_and_missing_sheet(tmp_path):
    with pytest.raises(DataError, match="expected an annotation sheet matching"):
        load("casme2", tmp_path)
    write_xlsx(tmp_path / "CASME2-coding-1.xlsx", [("Sheet1", ["Subject", "Clip", "Onset"], [[1, "a", 1]])])
    with pytest.raises(DataError, match=r"missing \['Filename', 'OnsetFrame'"):
        load("casme2", tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        load("casme", tmp_path / "absent")
    with pytest.raises(ValueError, match="unknown dataset"):
        load("casme3", tmp_path)


def test_casme_sq_path_escape_refused(tmp_path):
    write_xlsx(tmp_path / "CAS(ME)^2code_final.xlsx", [
        ("CASME^2code_final", None, [[1, "v", 1, 2, 3, "4", "anger", "micro-expression", "x"]]),
        ("naming rule1", None, [["v", "0101"]]),
        ("naming rule2", None, [[1, "../../s15"]]),
    ])
    with pytest.raises(DataError, match="would leave the data root"):
        load("casme_sq", tmp_path)


def test_table2_transcription_and_specs():
    t2 = table("table2").set_index("emotion")
    body = t2.drop(index=["total", "negative", "positive"])
    for name in datasets.DATASETS:
        assert body[name].sum() == t2.loc["total", name]
        assert set(body[name].dropna().index) == set(datasets.SPECS[name].classes)
    assert t2.loc[["negative", "positive"], "smic_2class"].sum() == t2.loc["total", "smic_2class"] == 35
    s = datasets.specs()
    assert s.loc["casme2", "clips_table2"] == 251 and s.loc["casme2", "fps"] == 200


def test_xlsx_is_byte_identical(tmp_path):
    for k in (1, 2):
        write_xlsx(tmp_path / f"{k}.xlsx", [("Sheet1", ["a"], [[1], ["/"]])])
    digest = [hashlib.sha256((tmp_path / f"{k}.xlsx").read_bytes()).hexdigest() for k in (1, 2)]
    assert digest[0] == digest[1]


def test_face_box_fallback_and_crop():
    blank = np.full((60, 80, 3), 128, np.uint8)
    assert faces.detect_face(blank) is None
    box, source = faces.face_box(blank)
    assert (box, source) == ((10, 0, 60, 60), "centre")
    with pytest.raises(DataError, match="no face"):
        faces.face_box(blank, fallback=None)
    clip = np.zeros((3, 60, 80, 3), np.uint8)
    assert faces.crop_clip(clip, box, 32).shape == (3, 32, 32, 3)


def test_casme_sq_needs_its_naming_sheets(tmp_path):
    write_xlsx(tmp_path / "CAS(ME)^2code_final.xlsx", [
        ("CASME^2code_final", None, [[1, "v", 1, 2, 3, "4", "anger", "micro-expression", "x"]])])
    with pytest.raises(DataError, match="expected 3 sheets"):
        load("casme_sq", tmp_path)
