"""The four readers on hand-made tiny trees in each release's real format (tests/release_trees.py,
independent of learnet_lite.synthetic): each real quirk, each kind of finding and what it does
to its clip, bad input named, and check-data's report."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import release_trees as rt

from learnet_lite import cli, datasets, faces, tables
from learnet_lite.datasets import load
from learnet_lite.frames import DataError, frame_number, list_frames, read_frames
from learnet_lite.paper import table


def snapshot(root: Path):
    return sorted((str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*"))


def found(df) -> dict:
    """kind -> sorted ``where`` of every finding."""
    out: dict = {}
    for f in df.attrs["findings"]:
        out.setdefault(f["kind"], []).append(f["where"])
    return {k: sorted(v) for k, v in out.items()}


def numbers(row) -> list[int]:
    return [frame_number(p) for p in row.frames]


def by_clip(df) -> dict:
    return {r.clip: r for r in df.itertuples()}


# ------------------------------------------------------------------ generic behaviour

def test_frame_order_is_numeric_and_duplicates_named(tmp_path):
    rt.frames(tmp_path / "a", ["img10.jpg", "img9.jpg", "img100.jpg"])
    (tmp_path / "a/notes.txt").write_text("not a frame")
    assert [p.name for p in list_frames(tmp_path / "a")] == ["img9.jpg", "img10.jpg", "img100.jpg"]
    # the check the tests below rely on: string order differs, so a shuffled list is caught
    assert sorted(["img10.jpg", "img9.jpg"]) != ["img9.jpg", "img10.jpg"]
    rt.frames(tmp_path / "b", ["EP01_5-05.jpg", "EP01_5-5.jpg"])
    with pytest.raises(DataError, match="same number 5"):
        list_frames(tmp_path / "b")
    with pytest.raises(DataError, match="no such folder"):
        list_frames(tmp_path / "absent")


BUILDERS = {   # name -> (builder, load kwargs)
    "casme": (rt.casme_tree, {}),
    "casme2": (rt.casme2_tree, {}),
    "casme_sq": (lambda r: rt.casme_sq_tree(r, "rawpic"), {"layout": "raw"}),
    "smic": (rt.smic_tree, {"label_set": "3class"}),
}


@pytest.mark.parametrize("name", datasets.DATASETS)
def test_data_only_read_and_frames_in_time_order(tmp_path, name):
    build, kw = BUILDERS[name]
    root = build(tmp_path)
    before = snapshot(root)
    df = load(name, root, on_error="skip", verify="full", **kw)
    assert snapshot(root) == before                          # nothing written, nothing moved
    assert list(df.columns[:9]) == datasets.COLUMNS and len(df) >= 4
    for row in df.itertuples():
        got = numbers(row)
        assert got == sorted(got) and (row.onset, row.offset) == (got[0], got[-1]), row.clip
        if name != "smic":                                  # a sheet's clip: every frame onset..offset
            assert got == list(range(row.onset, row.offset + 1)), row.clip
        assert row.n_frames == len(got)
    clip = read_frames(df.iloc[0].frames)
    assert clip.shape == (df.iloc[0].n_frames,) + rt.SIZE + (3,) and clip.dtype == np.uint8


# ------------------------------------------------------------------ CAS(ME)^2

def test_casme_sq_cropped_real_format(tmp_path):
    rt.casme_sq_tree(tmp_path, "cropped")
    df = load("casme_sq", tmp_path, on_error="skip")
    assert df.attrs["sheet"] == ["CAS(ME)^2code_final.xlsx"] and df.attrs["image_folder"] == "cropped"
    # participant index -> folder by naming rule1 (3 -> s19 -> cropped/19/, not cropped/3/ or s3)
    got = {r.clip: (r.subject, numbers(r)) for r in df.itertuples()}
    assert got == rt.CASME_SQ_EXPECTED
    assert all(p.parent == tmp_path / "cropped" / r.subject[1:] / r.clip for r in df.itertuples() for p in r.frames)
    # Table II's classes are the stimulus video's category (the name prefix), not the emotion column
    assert datasets.class_counts(df).to_dict() == {"anger": 3, "disgust": 1, "happiness": 2}
    rows = by_clip(df)
    assert rows["anger2_1"].emotion == "anger" and rows["anger2_1"].sheet_emotion == "others"
    assert (rows["disgust2_3"].offset, rows["disgust2_3"].apex) == (12, 12)     # offset 0 -> ends at the apex
    assert pd.isna(rows["happy1_1"].apex)                                        # apex 0 -> missing
    assert rows["anger2_1"].apex == 40                                           # outside, kept as coded
    assert [rows[c].aus for c in ("happy1_1", "anger2_1")] == ["4,24", "14or23"]
    assert rows["disgust2_3"].aus in ("NULL", "")     # NULL: no AU coded (pandas reads it as blank)
    assert (rows["anger1_2"].type, rows["anger1_1"].self_report) == ("micro-expression", "angry")
    assert found(df) == {"offset-0": ["s16/disgust2_3"], "apex-missing": ["s19/happy1_1"],
                         "apex-outside": ["s19/anger2_1"], "folder-missing": ["s40/disgust1_1"]}
    effects = {f["kind"]: datasets.FINDING_KINDS[f["kind"]][0] for f in df.attrs["findings"]}
    assert effects == {"offset-0": "kept", "apex-missing": "kept", "apex-outside": "kept",
                       "folder-missing": "left out"}
    with pytest.raises(DataError, match=r"1 clip\(s\) cannot be read as coded[\s\S]*s40/disgust1_1"):
        load("casme_sq", tmp_path)


def test_casme_sq_emotion_label_set(tmp_path):
    rt.casme_sq_tree(tmp_path, "cropped")
    df = load("casme_sq", tmp_path, on_error="skip", label_set="emotion")
    assert datasets.class_counts(df).to_dict() == {"negative": 3, "others": 1, "positive": 2}
    assert by_clip(df)["anger2_1"].emotion == "others"
    with pytest.raises(ValueError, match="label_set"):
        load("casme_sq", tmp_path, label_set="3class")


def test_casme_sq_raw_long_videos_found_by_code(tmp_path):
    rt.casme_sq_tree(tmp_path, "rawpic")
    df = load("casme_sq", tmp_path, layout="raw")               # no defect: the default raises on none
    assert df.attrs["image_folder"] == "rawpic"
    expected = dict(rt.CASME_SQ_EXPECTED, disgust1_1=("s40", [5, 6, 7]))
    assert {r.clip: (r.subject, numbers(r)) for r in df.itertuples()} == expected
    rows = by_clip(df)
    video = tmp_path / "rawpic/s15/15_0401girlcrashing"          # two expressions of one long video
    assert rows["anger1_1"].frames[0] == video / "img557.jpg" and rows["anger1_2"].frames[0].parent == video
    assert [p.name for p in rows["happy5_2"].frames] == ["img098.jpg", "img099.jpg", "img100.jpg", "img101.jpg"]
    # s19's happy1 lies in the misnumbered 23_0502funnyerrors: read anyway, reported once
    assert rows["happy1_1"].frames[0].parent.name == "23_0502funnyerrors"
    assert found(df)["folder-misnamed"] == ["s19/23_0502funnyerrors"]
    assert datasets.FINDING_KINDS["folder-misnamed"][0] == "kept"
    assert set(found(df)) == {"offset-0", "folder-misnamed", "apex-missing", "apex-outside"}


def test_casme_sq_selectedpic_when_no_rawpic(tmp_path):
    rt.casme_sq_tree(tmp_path, "selected")
    df = load("casme_sq", tmp_path, layout="raw", on_error="skip")
    assert df.attrs["image_folder"] == "selectedpic"
    assert {r.clip: (r.subject, numbers(r)) for r in df.itertuples()} == rt.CASME_SQ_EXPECTED
    assert df.iloc[0].frames[0] == tmp_path / "selectedpic/s15/anger1_1/img557.jpg"
    assert found(df)["folder-missing"] == ["s40/disgust1_1"]
    # rawpic, where present, is the raw layout's folder
    rt.casme_sq_tree(tmp_path, "rawpic")
    assert load("casme_sq", tmp_path, layout="raw").attrs["image_folder"] == "rawpic"


def test_casme_sq_sheet_variants(tmp_path):
    # "(Updated)" book, first sheet CASFEcode_final, naming rule2's codes stored as numbers (401)
    rule2 = [[int(code), name] for code, name in rt.NAMING_RULE2]
    rt.casme_sq_tree(tmp_path, "cropped", book="CAS(ME)^2code_final(Updated).xlsx", first="CASFEcode_final",
                     rule2=rule2)
    df = load("casme_sq", tmp_path, on_error="skip")
    assert df.attrs["sheet"] == ["CAS(ME)^2code_final(Updated).xlsx"]
    assert {r.clip: (r.subject, numbers(r)) for r in df.itertuples()} == rt.CASME_SQ_EXPECTED
    # the raw videos are found by the padded code (0401) too
    rt.casme_sq_tree(tmp_path / "raw", "rawpic", rule2=rule2)
    assert by_clip(load("casme_sq", tmp_path / "raw", layout="raw"))["anger1_1"].frames[0].parent.name == \
        "15_0401girlcrashing"


def test_casme_sq_old_formats_are_not_read_as_the_release(tmp_path):
    # naming sheets the other way round (rule1 = videos, rule2 = participants): not this release
    rt.write_xlsx(tmp_path / "a/CAS(ME)^2code_final.xlsx", [
        ("CASMEcode_final", rt.CASME_SQ_ROWS), ("naming rule1", [["0401", "anger1"]]),
        ("naming rule2", [[15, "s15", 1]])])
    with pytest.raises(DataError, match="naming rule1"):
        load("casme_sq", tmp_path / "a")
    # cropped folders named like selectedpic's (cropped/s15/...): every clip's folder is missing
    rt.casme_sq_tree(tmp_path / "b", "selected")
    (tmp_path / "b/selectedpic").rename(tmp_path / "b/cropped")
    df = load("casme_sq", tmp_path / "b", on_error="skip")
    assert len(df) == 0 and len(found(df)["folder-missing"]) == len(rt.CASME_SQ_ROWS)
    # and the sheets are needed
    rt.write_xlsx(tmp_path / "c/CAS(ME)^2code_final.xlsx", [("CASMEcode_final", rt.CASME_SQ_ROWS)])
    with pytest.raises(DataError, match="naming rule1, naming rule2"):
        load("casme_sq", tmp_path / "c")


@pytest.mark.parametrize("layout", ["cropped", "rawpic", "selected"])
def test_casme_sq_doubled_folders(tmp_path, layout):
    rt.casme_sq_tree(tmp_path, layout, doubled=True)
    df = load("casme_sq", tmp_path, layout="cropped" if layout == "cropped" else "raw", on_error="skip")
    got = {r.clip: (r.subject, numbers(r)) for r in df.itertuples() if r.clip in rt.CASME_SQ_EXPECTED}
    assert got == rt.CASME_SQ_EXPECTED


def test_casme_sq_path_escape_refused(tmp_path):
    rows = [[1, "anger1_1/../../../../../../etc", 1, 2, 3, "4", "negative", "micro-expression", "x"]]
    rt.casme_sq_book(tmp_path / "CAS(ME)^2code_final.xlsx", rows)
    (tmp_path / "cropped").mkdir()
    df = load("casme_sq", tmp_path, on_error="skip")
    assert len(df) == 0 and [f["message"] for f in df.attrs["findings"]] == [
        "expression 'anger1_1/../../../../../../etc' would leave the data root; refused"]


# ------------------------------------------------------------------ CASME (I)

def test_casme_two_section_sheets(tmp_path):
    rt.casme_tree(tmp_path)
    for layout, which in (("cropped", 2), ("raw", 1)):
        df = load("casme", tmp_path, layout=layout, on_error="skip")
        assert df.attrs["sheet"] == ["CASME_A/Section A/Section A.xls", "CASME_B/Section B/Section B.xls"]
        assert df.attrs["sheet_version"] == "two section sheets"
        got = {(r.subject, r.clip): (r.emotion, [p.name for p in r.frames]) for r in df.itertuples()}
        assert got == {k: (v[0], v[which]) for k, v in rt.CASME_EXPECTED.items()}, layout
        rows = by_clip(df)
        assert rows["EP01_2"].frames[0].parent == tmp_path / "CASME_B/Section B/sub08/EP01_2"
        assert (rows["EP01_5"].onset, rows["EP01_5"].apex, rows["EP01_5"].offset) == (8, 9, 11)  # ApexF1
        assert df.subject.tolist() == ["sub01", "sub01", "sub03", "sub08", "sub19"]
        assert found(df) == {"frames-missing": ["sub07/EP07_1"], "folder-without-row": ["sub02/EP09_9"]}
    msg = next(f["message"] for f in df.attrs["findings"] if f["kind"] == "frames-missing")
    assert "frames 11–20 missing" in msg
    assert datasets.class_counts(df).to_dict() == {"contempt": 1, "happiness": 1, "repression": 1,
                                                   "surprise": 1, "tension": 1}
    with pytest.raises(DataError, match="sub07/EP07_1"):
        load("casme", tmp_path)
    # one section sheet without the other (and no merged sheet) is named, not half read
    (tmp_path / "CASME_B/Section B/Section B.xls").unlink()
    with pytest.raises(DataError, match=r"found \['CASME_A/Section A/Section A.xls'\]"):
        load("casme", tmp_path)


@pytest.mark.parametrize("header", [None, "Category"])
def test_casme_emotion_is_the_12th_column(tmp_path, header):
    rt.casme_tree(tmp_path, header=rt.CASME_HEADER[:11] + [header])
    df = load("casme", tmp_path, on_error="skip")
    assert sorted(df.emotion) == ["contempt", "happiness", "repression", "surprise", "tension"]


def test_casme_one_merged_sheet_at_the_top(tmp_path):
    rt.casme_frames(tmp_path)
    rt.write_xlsx(tmp_path / "CASME_coding.xlsx", [("Sheet1", [rt.CASME_HEADER] + rt.CASME_A_ROWS + rt.CASME_B_ROWS)])
    df = load("casme", tmp_path, on_error="skip")
    assert df.attrs["sheet"] == ["CASME_coding.xlsx"] and df.attrs["sheet_version"] == "one merged sheet"
    assert {(r.subject, r.clip): [p.name for p in r.frames] for r in df.itertuples()} == \
        {k: v[2] for k, v in rt.CASME_EXPECTED.items()}
    # with both section sheets present, they are read (the merged one is someone's copy)
    rt.write_xls(tmp_path / "CASME_A/Section A/Section A.xls", [("Sheet1", [rt.CASME_HEADER] + rt.CASME_A_ROWS)])
    rt.write_xls(tmp_path / "CASME_B/Section B/Section B.xls", [("Sheet1", [rt.CASME_HEADER] + rt.CASME_B_ROWS[:1])])
    df = load("casme", tmp_path, on_error="skip")
    assert df.attrs["sheet_version"] == "two section sheets" and "sub19" not in set(df.subject)


# ------------------------------------------------------------------ CASME II

def test_casme2_real_format_both_layouts(tmp_path):
    rt.casme2_tree(tmp_path)
    for layout, prefix, top in (("cropped", "reg_", "Cropped"), ("raw", "", "CASME2_RAW_selected")):
        df = load("casme2", tmp_path, layout=layout, on_error="skip")
        assert df.attrs["image_folder"] == top and df.attrs["sheet"] == ["CASME2-coding-20140508.xlsx"]
        assert {(r.subject, r.clip): (r.emotion, numbers(r)) for r in df.itertuples()} == rt.CASME2_EXPECTED
        first = by_clip(df)["EP02_01f"].frames[0]
        assert first == tmp_path / top / "sub01/EP02_01f" / f"{prefix}img46.jpg"
        assert pd.isna(by_clip(df)["EP03_02"].apex) and by_clip(df)["EP02_01f"].apex == 49   # '/' -> missing
        assert found(df) == {"apex-missing": ["sub02/EP03_02"], "frames-missing": ["sub16/EP01_08"],
                             "folder-without-row": ["sub05/EP99_01"]}
    msg = next(f["message"] for f in df.attrs["findings"] if f["kind"] == "frames-missing")
    assert msg.startswith("frames 97–110 missing (coded 73–110")
    assert df.attrs["problems"] == [f"sub16/EP01_08: {msg}"]
    with pytest.raises(DataError, match=r"sub16/EP01_08: frames 97–110 missing"):
        load("casme2", tmp_path)


def test_casme2_sheet_versions(tmp_path):
    rt.casme2_tree(tmp_path, sheet=None)
    # 20190701 spells Subject as text '01' and recodes EP02_01f; -updated keeps two rows
    text = [[f"{r[0]:02d}"] + r[1:] for r in rt.CASME2_ROWS]
    text[0][8] = "others"
    sheets = {"CASME2-coding-20140508.xlsx": rt.CASME2_ROWS, "CASME2-coding-20190701.xlsx": text,
              "CASME2-coding-updated.xlsx": rt.CASME2_ROWS[:2]}
    for name, rows in sheets.items():
        rt.write_xlsx(tmp_path / name, [("Sheet1", [rt.CASME2_HEADER] + list(rows))])
    df = load("casme2", tmp_path, on_error="skip")
    assert (df.attrs["sheet"], df.attrs["sheet_version"]) == (["CASME2-coding-20140508.xlsx"], "20140508")
    assert df.attrs["sheets_found"] == sorted(sheets) and by_clip(df)["EP02_01f"].emotion == "happiness"
    df = load("casme2", tmp_path, on_error="skip", sheet="CASME2-coding-20190701.xlsx")
    assert df.attrs["sheet_version"] == "20190701" and by_clip(df)["EP02_01f"].emotion == "others"
    assert sorted(set(df.subject)) == ["sub01", "sub02", "sub04", "sub26"]           # '01' -> sub01
    (tmp_path / "CASME2-coding-20140508.xlsx").unlink()
    df = load("casme2", tmp_path, on_error="skip")                                # updated before 20190701
    assert df.attrs["sheet_version"] == "updated" and df["clip"].tolist() == ["EP02_01f", "EP03_02"]
    with pytest.raises(DataError, match="sheet='CASME2-coding-20140508.xlsx'"):
        load("casme2", tmp_path, sheet="CASME2-coding-20140508.xlsx")
    assert datasets.CASME2_SHEET_ORDER[0] == "CASME2-coding-20140508"


def test_casme2_every_defect_listed_once_and_skip(tmp_path):
    rows = [[1, "EP01_01", None, 1, 2, 3, None, "12", "happiness"],          # good
            [1, "EP01_02", None, 1, 2, 3, None, "12", "happiness"],          # no folder
            [1, "EP01_03", None, 1, 2, 4, None, "12", "happiness"],          # frame 3 missing
            [1, "EP01_04", None, 1, 2, 2, None, "12", "happiness"],          # frame 2 not an image
            [1, "EP01_05", None, 1, 2, 2, None, "12", "happiness"],          # frame 2 of another size
            [1, "EP01_06", None, 1, 2, 2, None, "12", "happiness"],          # a raw frame among cropped
            [1, "../../../outside", None, 1, 2, 2, None, "12", "happiness"],
            ["x", "EP09_01", None, "a", 2, 2, None, "12", "happiness"],
            [1, "EP01_07", None, 5, 4, 3, None, "12", "happiness"]]           # offset before onset
    rt.casme2_tree(tmp_path, rows, layouts=("cropped",), on_disk={
        "sub01/EP01_01": [1, 2, 3], "sub01/EP01_03": [1, 2, 4], "sub01/EP01_04": [1], "sub01/EP01_05": [1],
        "sub01/EP01_06": [1]})
    (tmp_path / "Cropped/sub01/EP01_04/reg_img2.jpg").write_bytes(b"not an image")
    rt.img(tmp_path / "Cropped/sub01/EP01_05/reg_img2.jpg", size=(9, 10))
    rt.img(tmp_path / "Cropped/sub01/EP01_06/img2.jpg")
    before = snapshot(tmp_path)
    with pytest.raises(DataError) as err:
        load("casme2", tmp_path)
    text = str(err.value)
    assert "8 clip(s) cannot be read as coded" in text
    for expected in ("sub01/EP01_02: expected the clip folder", "sub01/EP01_03: frames 3 missing",
                     "sub01/EP01_04: ", "could not read this file as an image", "expected a frame of size",
                     "sub01/EP01_06: expected cropped frames named reg_", "would leave the data root",
                     "Subject should be a number", "OffsetFrame 3 is before OnsetFrame 5"):
        assert expected in text, expected
    df = load("casme2", tmp_path, on_error="skip")
    assert df["clip"].tolist() == ["EP01_01"] and len(df.attrs["problems"]) == 8
    assert {k: len(v) for k, v in found(df).items()} == {"folder-missing": 1, "frames-missing": 1,
                                                          "bad-frame": 3, "sheet-row": 3}
    assert load("casme2", tmp_path, on_error="skip", verify="full")["clip"].tolist() == ["EP01_01"]
    # verify="none" reads no frame: only the names are checked
    assert load("casme2", tmp_path, on_error="skip", verify="none")["clip"].tolist() == [
        "EP01_01", "EP01_04", "EP01_05"]
    assert snapshot(tmp_path) == before
    with pytest.raises(ValueError, match="on_error"):
        load("casme2", tmp_path, on_error="ignore")


def test_casme2_folder_of_an_unreadable_row_is_not_without_row(tmp_path):
    rt.casme2_tree(tmp_path, [[1, "EP01_01", None, 1, 2, 3, None, "12", "happiness"],
                              [1, "EP01_07", None, 5, 4, 3, None, "12", "happiness"]],     # offset before onset
                   layouts=("cropped",), on_disk={"sub01/EP01_01": [1, 2, 3], "sub01/EP01_07": [3, 4, 5]})
    df = load("casme2", tmp_path, on_error="skip")
    assert found(df) == {"sheet-row": ["sub01/EP01_07 (CASME2-coding-20140508.xlsx row 3)"]}


def test_wrong_columns_and_missing_sheet(tmp_path):
    with pytest.raises(DataError, match="expected an annotation sheet matching CASME2-coding-"):
        load("casme2", tmp_path)
    rt.write_xlsx(tmp_path / "CASME2-coding-20140508.xlsx", [("Sheet1", [["Subject", "Clip", "Start"], [1, "a", 1]])])
    (tmp_path / "Cropped").mkdir()
    with pytest.raises(DataError, match="found no column for clip, onset, offset, emotion"):
        load("casme2", tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        load("casme", tmp_path / "absent")
    with pytest.raises(ValueError, match="unknown dataset"):
        load("casme3", tmp_path)


# ------------------------------------------------------------------ SMIC-HS

def test_smic_release_folders_and_label_sets(tmp_path):
    rt.smic_tree(tmp_path)
    three = load("smic", tmp_path, label_set="3class")
    assert three.attrs["image_folder"] == "SMIC_all_cropped/HS"
    assert three.subject.tolist() == ["s1", "s1", "s2", "s10"]
    assert {r.clip: (r.emotion, numbers(r)) for r in three.itertuples()} == {
        clip: (label, list(n)) for (_, label, clip), n in rt.SMIC_CLIPS.items()}
    ne = by_clip(three)["s1_ne_01"]
    assert [p.name for p in ne.frames][0] == "reg_image036237.bmp" and (ne.onset, ne.offset) == (36237, 36245)
    assert pd.isna(ne.apex)
    assert found(three) == {"not-micro": ["s2/non_micro"]}        # non_micro/ is not read
    assert "s2_ne_05" not in set(three["clip"])
    two = load("smic", tmp_path, label_set="2class")
    assert datasets.class_counts(two).to_dict() == {"negative": 2, "positive": 1}
    assert found(two) == {"not-micro": ["s2/non_micro"], "other-class": ["s2/s2_sur_01"]}
    # raw: SMIC_all_raw/HS/ or HS/, frames without reg_
    for top in ("SMIC_all_raw/HS", "HS"):
        root = rt.smic_tree(tmp_path / top.replace("/", "_"), top=top, prefix="")
        raw = load("smic", root, layout="raw", label_set="3class")
        assert raw.attrs["image_folder"] == top and raw.iloc[0].frames[0].name == "image036237.bmp"
        assert len(raw) == len(rt.SMIC_CLIPS)


def test_smic_hs_cropped_is_not_a_release_folder(tmp_path):
    rt.smic_tree(tmp_path, top="HS_cropped")
    with pytest.raises(DataError, match="SMIC_all_cropped/HS/, found none"):
        load("smic", tmp_path, label_set="3class")
    rt.smic_tree(tmp_path, clips={("s3", "positive", "s3_po_01"): (1, 2)}, non_micro=False)
    assert load("smic", tmp_path, label_set="3class")["clip"].tolist() == ["s3_po_01"]


def test_smic_table2_labels_file(tmp_path):
    rt.smic_tree(tmp_path)
    with pytest.raises(DataError, match="SMIC-5class-labels.csv"):
        load("smic", tmp_path)
    labels = tmp_path / datasets.SMIC_5CLASS_FILE
    labels.write_text("# the paper's five classes\nsubject,clip,emotion\ns1,s1_ne_01,fear\ns1,s1_po_01,happy\n"
                      "s10,s10_ne_02,sad\n")
    df = load("smic", tmp_path)                              # unlabelled clips are no defect
    assert dict(zip(df["clip"], df.emotion)) == {"s1_ne_01": "fear", "s1_po_01": "happiness", "s10_ne_02": "sadness"}
    assert found(df)["no-label"] == ["s2/s2_sur_01"] and df.attrs["problems"] == []
    assert datasets.FINDING_KINDS["no-label"][0] == "not a clip"
    labels.write_text(labels.read_text() + "s4,s4_ne_09,disgust\n")   # labelled, not on disk: a defect
    with pytest.raises(DataError, match="s4/s4_ne_09"):
        load("smic", tmp_path)


# ------------------------------------------------------------------ tables and check-data

def test_counts_beside_table2_and_left_out(tmp_path):
    rt.casme2_tree(tmp_path)
    df = load("casme2", tmp_path, on_error="skip")
    counts = tables.table2_counts(df).set_index("class")
    assert list(counts.index) == list(datasets.SPECS["casme2"].classes) + ["total"]
    assert counts.loc["happiness"].tolist() == [1, 32, -31]
    assert counts.loc["others"].tolist() == [1, 99, -98]
    assert counts.loc["total"].tolist() == [4, 251, -247]
    assert datasets.left_out(df).to_dict("records") == [
        {"clip": "sub16/EP01_08", "kind": "frames-missing", "why": df.attrs["problems"][0].split(": ", 1)[1]}]
    rt.smic_tree(tmp_path / "smic")
    two = load("smic", tmp_path / "smic", label_set="2class")
    c2 = tables.table2_counts(two, "smic_2class").set_index("class")
    assert c2.loc["negative"].tolist() == [2, 18, -16] and c2.loc["total"].tolist() == [3, 35, -32]
    assert datasets.left_out(two).to_dict("records") == [
        {"clip": "s2/s2_sur_01", "kind": "other-class", "why": "'surprise' is not one of negative, positive"}]
    three = tables.table2_counts(load("smic", tmp_path / "smic", label_set="3class"))
    assert three["table2"].isna().all() and three["ours"].tolist() == [2, 1, 1, 4]


def test_check_data_readable_with_findings(tmp_path, capsys):
    rt.casme2_tree(tmp_path / "casme2")
    rt.write_xlsx(tmp_path / "casme2/CASME2-coding-20190701.xlsx", [("Sheet1", [rt.CASME2_HEADER] + rt.CASME2_ROWS)])
    rt.casme_sq_tree(tmp_path / "casme_sq", "cropped")
    assert cli.main(["check-data", "casme2", "casme_sq", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for expected in ("source      licensed copy at", "CASME2-coding-20140508.xlsx, cropped frames in Cropped/",
                     "CASME2-coding-20140508.xlsx, CASME2-coding-20190701.xlsx found; read CASME2-coding-20140508.xlsx",
                     "happiness        1   Table II 32  (-31)", "total            4   Table II 251  (-247)",
                     "read        4 clips, 18 frames, 4 subjects",
                     "frames-missing         1  [left out]", "sub16/EP01_08: frames 97–110 missing",
                     "folder-without-row     1  [not a clip]", "apex-missing           1  [kept]",
                     "1 left out for defects",
                     "anger            3   Table II 101", "offset-0               1  [kept]",
                     "s40/disgust1_1: expected the clip folder"):
        assert expected in out, expected
    assert cli.main(["check-data", "casme2", "--data-root", str(tmp_path),
                     "--sheet", "CASME2-coding-20190701.xlsx"]) == 0
    assert "read CASME2-coding-20190701.xlsx" in capsys.readouterr().out
    rt.smic_tree(tmp_path / "smic")
    assert cli.main(["check-data", "smic", "--data-root", str(tmp_path), "--label-set", "2class"]) == 0
    out = capsys.readouterr().out
    assert "negative         2   Table II 18  (-16)" in out and "s2/s2_sur_01: 'surprise' is not one of" in out
    assert cli.main(["check-data", "smic", "--data-root", str(tmp_path)]) == 1     # table2 needs the labels file
    assert "SMIC-5class-labels.csv" in capsys.readouterr().out


def test_check_data_unreadable_and_hints(tmp_path, capsys):
    (tmp_path / "casme2").mkdir()                            # no sheet: cannot be read
    assert cli.main(["check-data", "casme2", "--data-root", str(tmp_path)]) == 1
    assert "cannot read" in capsys.readouterr().out
    rt.casme2_tree(tmp_path / "casme2/CASME2")               # one level off
    assert cli.main(["check-data", "casme2", "--data-root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"the data seems to be in {tmp_path / 'casme2/CASME2'}" in out
    shutil.move(tmp_path / "casme2/CASME2", tmp_path / "CASME2")     # the release's own folder name
    (tmp_path / "casme2").rmdir()
    assert cli.main(["check-data", "casme2", "--data-root", str(tmp_path)]) == 1
    assert f"found {tmp_path / 'CASME2'}: rename it or link it as {tmp_path / 'casme2'}" in capsys.readouterr().out
    rt.casme_tree(tmp_path / "casme/CASME")
    rt.casme_sq_tree(tmp_path / "casme_sq/CAS(ME)^2", "cropped")
    assert cli.main(["check-data", "casme", "casme_sq", "--data-root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"in {tmp_path / 'casme/CASME'}" in out and f"in {tmp_path / 'casme_sq/CAS(ME)^2'}" in out


# ------------------------------------------------------------------ the paper's numbers, faces

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
    from learnet_lite.synthetic import write_xlsx

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
