"""The synthetic twins: written in the releases' own formats and read back by the real loader
(every twin, both layouts), the releases' anomalies present, determinism, atomic writes and
the clean-up after killed runs, the face crop on raw frames, and the honesty test (motion
carries the class, a frame not)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from learnet_lite import cli, datasets, faces, synthetic
from learnet_lite.datasets import load
from learnet_lite.frames import DataError, frame_number, read_frame, read_frames
from learnet_lite.paper import table

SMALL = 0.05     # share of each class in the round-trip twins (at least one clip per class)
RAW_SCALE = {"casme": 0.05, "casme2": 0.03, "casme_sq": 0.05, "smic": 0.01}   # raw SMIC: big .bmp frames


def digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def kinds(df) -> Counter:
    return Counter(f["kind"] for f in df.attrs["findings"])


def defects(df) -> list:
    return [f for f in df.attrs["findings"] if f["kind"] in datasets.DEFECTS]


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    base = tmp_path_factory.mktemp("twins")
    return base, {n: synthetic.generate(n, base / n, scale=SMALL, progress=False) for n in datasets.DATASETS}


@pytest.fixture(scope="module")
def raw_twins(tmp_path_factory):
    base = tmp_path_factory.mktemp("raw")
    return base, {n: synthetic.generate(n, base / n, layout="raw", scale=RAW_SCALE[n], progress=False)
                  for n in datasets.DATASETS}


def dry_run(monkeypatch, tmp_path, name, scale=1.0) -> dict:
    """Run a writer without rendering or writing frames -> {"frames": [(folder, names)],
    "sheets": {sheet title: (header, rows)}, "books": [(file, title, header, rows)]} (fast at
    full size: what is drawn needs only the plan)."""
    out = {"frames": [], "sheets": {}, "books": []}
    monkeypatch.setattr(synthetic._Plan, "clip", lambda self, k, code, n, apex: np.zeros((n, 1, 1, 3), np.uint8))
    monkeypatch.setattr(synthetic._Plan, "write", lambda self, folder, names, frames: out["frames"].append(
        (folder.relative_to(tmp_path), list(names))))
    def capture(path, sheets):
        for title, header, rows in sheets:
            out["sheets"][title] = (header, rows)
            out["books"].append((path.relative_to(tmp_path), title, header, rows))

    monkeypatch.setattr(synthetic, "write_xlsx", capture)
    monkeypatch.setattr(synthetic, "write_xls", capture)
    synthetic.WRITERS[name](tmp_path, 0, 1.0, "cropped", scale, False)
    return out


def planned(name: str, scale: float) -> Counter:
    return Counter(synthetic._class_plan(name, scale))


def check_clips(df, name, layout):
    s = datasets.SPECS[name]
    assert len(df) and df.subject.nunique() <= s.subjects and (df.fps == s.fps).all()
    assert df.layout.eq(layout).all() and df.attrs["source"] == "twin"
    assert df.attrs["twin"]["version"] == synthetic.TWIN_VERSION == 2
    lo, hi = synthetic.CLIP_FRAMES[name]
    if name == "casme_sq":
        hi = synthetic.CASME_SQ_MACRO_FRAMES[1]
    assert df.n_frames.between(1, hi).all()
    for frames in df.frames:                         # time order, by number
        numbers = [frame_number(p) for p in frames]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    size = synthetic.RAW_SIZE if layout == "raw" else synthetic.CROPPED_SIZE[name]
    assert read_frames(df.frames.iloc[0]).shape[1:] == size + (3,)


@pytest.mark.parametrize("name", datasets.DATASETS)
def test_round_trip_cropped(twins, name):
    base, made = twins
    df = made[name]
    again = load(name, base / name, verify="full", on_error="skip")
    assert df.drop(columns="frames").equals(again.drop(columns="frames"))
    assert again.attrs["findings"] == df.attrs["findings"]
    check_clips(again, name, "cropped")
    # every planned clip is read, but those left out for the release's defects
    got, plan = Counter(again.emotion), planned(name, SMALL)
    assert all(got[c] <= plan[c] for c in plan) and set(got) <= set(plan)
    assert sum(plan.values()) - len(again) == len(defects(again))
    assert synthetic.is_complete(base / name)


@pytest.mark.parametrize("name", datasets.DATASETS)
def test_round_trip_raw(raw_twins, name):
    base, made = raw_twins
    df = load(name, base / name, layout="raw", verify="full", on_error="skip")
    assert df.drop(columns="frames").equals(made[name].drop(columns="frames"))
    check_clips(df, name, "raw")
    assert not any(p.name.startswith("reg_") for f in df.frames for p in f)
    plan = planned(name, RAW_SCALE[name])
    assert sum(plan.values()) - len(df) == len(defects(df))


def test_on_error_raise_on_twins_with_defects(twins, raw_twins):
    base, _ = twins
    for name in ("casme", "casme2", "casme_sq"):     # frames-missing / folder-missing
        with pytest.raises(DataError, match="cannot be read as coded"):
            load(name, base / name, on_error="raise")
    smic = load("smic", base / "smic", on_error="raise")    # SMIC's twin: findings, no defect
    assert len(smic) and not defects(smic)
    raw_base, _ = raw_twins
    sq = load("casme_sq", raw_base / "casme_sq", layout="raw", on_error="raise")   # raw: every long video there
    assert len(sq) and not defects(sq)


def test_full_size_plans_follow_the_releases():
    t2 = table("table2").set_index("emotion")
    for name in ("casme", "casme2", "smic"):         # Table II (SMIC: the 71 clips of the labels file)
        assert planned(name, 1.0) == {c: int(t2.loc[c, name]) for c in datasets.SPECS[name].classes}
    assert planned("casme_sq", 1.0) == {"anger": 102, "disgust": 88, "happiness": 167}
    items = synthetic._casme_sq_items(1.0)
    assert len(items) == 357 and sum(micro for _, _, micro in items) == 57
    assert Counter(w for _, w, _ in items) == {"negative": 126, "positive": 124, "others": 82, "surprise": 25}
    assert Counter(c for c, _, micro in items if micro) == synthetic.CASME_SQ_MICRO
    smic = synthetic._smic_items(1.0)
    assert Counter(f for f, _ in smic) == {"negative": 70, "positive": 51, "surprise": 43}
    assert Counter(c for _, c in smic if c) == planned("smic", 1.0)
    assert all(synthetic.SMIC_FIVE_IN[c] == f for f, c in smic if c)
    for name in datasets.DATASETS:
        n = len(synthetic._class_plan(name, 1.0)) if name not in ("casme_sq", "smic") else len(
            items if name == "casme_sq" else smic)
        subjects = synthetic._assign_subjects(n, datasets.SPECS[name].subjects, np.random.default_rng(0))
        assert len(set(subjects)) == datasets.SPECS[name].subjects


def test_casme_format(twins):
    base, made = twins
    root = base / "casme"
    df = made["casme"]
    for (a, b), subjects in zip(datasets.CASME_SECTIONS, (range(1, 8), range(8, 20))):
        sheet = root / a / b / f"{b}.xls"
        assert sheet.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")   # OLE2: old-format .xls
        book = pd.read_excel(sheet, sheet_name=None, header=None, engine="calamine")
        assert list(book) == ["Sheet1"]
        t = book["Sheet1"]
        header = [None if pd.isna(v) else v for v in t.iloc[0]]
        assert header == synthetic.CASME_HEADER and t.shape[1] == 12
        rows = t.iloc[1:]
        assert rows[0].astype(int).isin(list(subjects)).all()
        assert set(rows[11]) <= {"tense", "comtempt", "happiness", "disgust", "repression", "surprise", "fear",
                                 "sadness"}
        assert rows[1].map(lambda v: re.fullmatch(r"EP\d\d(_\d)?", v) is not None).all()
        assert rows[[2, 5, 7, 9]].isna().all().all()
        for sub in {f"sub{int(v):02d}" for v in rows[0]}:
            assert (root / a / b / sub).is_dir()
    assert {"tense", "comtempt"} <= set(df.label)                  # the release's spellings
    names = [p.name for f in df.frames for p in f]
    assert all(re.fullmatch(r"reg_EP\d\d(_\d)?-\d+\.jpg", n) for n in names)
    k = kinds(df)
    assert k["frames-missing"] >= 1 and k["folder-without-row"] >= 1
    assert set(k) <= {"frames-missing", "folder-without-row"}


def test_casme_raw_frame_names(raw_twins):
    base, made = raw_twins
    names = [p.name for f in made["casme"].frames for p in f]
    assert all(re.fullmatch(r"(EP\d\d(_\d)?-\d+|img\d+)\.jpg", n) for n in names)
    # the 10% of raw folders with img1.jpg, ..., 20% zero-padded rows: drawn per clip
    rng = np.random.default_rng(0)
    drawn = [synthetic._casme_frame_names(rng, "EP01_5", [7], "raw")[0] for _ in range(2000)]
    img = sum(n.startswith("img") for n in drawn) / len(drawn)
    padded = sum(n == "EP01_5-007.jpg" for n in drawn) / sum(n.startswith("EP") for n in drawn)
    assert 0.07 < img < 0.13 and 0.16 < padded < 0.24
    assert synthetic._casme_frame_names(rng, "EP10", [1, 2], "cropped")[0] in ("reg_EP10-1.jpg", "reg_EP10-001.jpg")


def test_casme2_format_and_its_two_defects(twins):
    base, made = twins
    df = made["casme2"]
    t = pd.read_excel(base / "casme2" / "CASME2-coding-20140508.xlsx", sheet_name=None, engine="calamine")
    assert list(t) == ["Sheet1"]
    cols = list(t["Sheet1"].columns)
    assert cols[:2] == ["Subject", "Filename"] and cols[3:6] == ["OnsetFrame", "ApexFrame", "OffsetFrame"]
    assert cols[7:] == ["Action Units", "Estimated Emotion"]
    assert (t["Sheet1"]["ApexFrame"].astype(str) == "/").sum() == 1    # exactly one '/', as the release
    k = kinds(df)
    assert k["apex-missing"] == 1 and k["frames-missing"] == 1 and len(defects(df)) == 1
    assert all(re.fullmatch(r"reg_img\d+\.jpg", p.name) for f in df.frames for p in f)


def test_casme2_full_size_defects_are_the_releases(monkeypatch, tmp_path):
    """The full twin: sub16/EP01_08 coded 73-110 with frames to 96, sub04/EP12_01f's apex '/'."""
    run = dry_run(monkeypatch, tmp_path, "casme2")
    folders = {(f.parent.name, f.name): names for f, names in run["frames"]}
    assert len(folders) == 251
    short = folders[("sub16", "EP01_08")]
    assert (frame_number(short[0]), frame_number(short[-1])) == (73, 96)
    header, rows = run["sheets"]["Sheet1"]
    by_clip = {(r[0], r[1]): r for r in rows}
    assert by_clip[(16, "EP01_08")][3] == 73 and by_clip[(16, "EP01_08")][5] == 110
    assert [(r[0], r[1]) for r in rows if r[4] == "/"] == [(4, "EP12_01f")]
    assert sum(len(n) < r[5] - r[3] + 1 for r in rows for n in [folders[(f"sub{r[0]:02d}", r[1])]]) == 1


def test_casme_full_size_anomalies(monkeypatch, tmp_path):
    run = dry_run(monkeypatch, tmp_path, "casme")
    books = {str(path): rows for path, _, _, rows in run["books"]}
    assert sorted(books) == ["CASME_A/Section A/Section A.xls", "CASME_B/Section B/Section B.xls"]
    assert {r[0] for r in books["CASME_A/Section A/Section A.xls"]} == set(range(1, 8))
    assert {r[0] for r in books["CASME_B/Section B/Section B.xls"]} == set(range(8, 20))
    rows = [r for rows in books.values() for r in rows]
    assert len(rows) == 183
    folders = {(f.parent.name, f.name): names for f, names in run["frames"]}
    assert len(folders) - len(rows) == round(0.03 * 183)              # folders without a row
    short = [r for r in rows if len(folders[(f"sub{r[0]:02d}", r[1])]) < r[6] - r[3] + 1]
    assert len(short) == round(0.02 * 183)
    names = [n for f, ns in run["frames"] for n in ns[:1]]
    padded = sum(bool(re.search(r"-0\d\d\.jpg$", n)) or bool(re.search(r"-\d{3}\.jpg$", n) and
                 frame_number(n) >= 100) for n in names)
    assert all(n.startswith("reg_EP") for n in names) and padded > 0
    assert 5 <= sum("_" not in r[1] for r in rows) <= 40                 # EP10-style names


def test_casme_sq_format(twins, raw_twins):
    import openpyxl

    base, made = twins
    root = base / "casme_sq"
    df = made["casme_sq"]
    path = root / "CAS(ME)^2code_final.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["CASMEcode_final", "naming rule1", "naming rule2"]
    rule1 = [[c.value for c in r] for r in wb["naming rule1"].iter_rows()]
    assert rule1[0] == [15, "s15", 1] and rule1[2] == [19, "s19", 3] and rule1[-1] == [40, "s40", 22]
    assert len(rule1) == 22
    rule2 = [[c.value for c in r] for r in wb["naming rule2"].iter_rows()]
    assert rule2 == [["0101", "disgust1"], ["0102", "disgust2"], ["0401", "anger1"], ["0402", "anger2"],
                     ["0502", "happy1"], ["0503", "happy2"], ["0505", "happy3"], ["0507", "happy4"],
                     ["0508", "happy5"]]
    assert all(r[0].data_type == "s" for r in wb["naming rule2"].iter_rows())    # codes as text
    rows = [[c.value for c in r] for r in wb["CASMEcode_final"].iter_rows()]
    assert all(len(r) == 9 for r in rows) and isinstance(rows[0][0], int)       # no header
    assert len(rows) == sum(planned("casme_sq", SMALL).values())
    for part, name, _onset, _apex, _offset, _aus, emotion, kind, report in rows:
        assert 1 <= part <= 22 and re.fullmatch(r"(anger|disgust|happy)\d_\d+", name)
        assert emotion in ("negative", "positive", "surprise", "others")
        assert kind in ("macro-expression", "micro-expression") and isinstance(report, str)
    names = Counter((r[0], r[1]) for r in rows)
    assert max(names.values()) == 1
    for (part, name) in names:                       # running numbers 1, 2, ... per participant and video
        video, j = name.rsplit("_", 1)
        assert all((part, f"{video}_{i}") in names for i in range(1, int(j)))
    assert sum(r[4] == 0 for r in rows) >= 1 and sum(r[3] == 0 for r in rows) == 1
    assert sum(r[3] and r[4] and r[3] > r[4] for r in rows) >= 1
    k = kinds(df)
    assert k["offset-0"] >= 1 and k["apex-missing"] == 1 and k["apex-outside"] >= 1 and k["folder-missing"] >= 1
    assert set(df.label) == {"anger", "disgust", "happy"}
    for frames in df.frames:                         # cropped/15/anger1_1/img557.jpg; 3-digit padding
        first = frames[0]
        assert first.parent.parent.parent.name == "cropped" and first.parent.parent.name.isdigit()
        assert all(re.fullmatch(r"img(\d{3}|[1-9]\d{3,})\.jpg", p.name) for p in frames)
    emo = load("casme_sq", root, label_set="emotion", on_error="skip")
    assert set(emo.emotion) <= {"negative", "positive", "surprise", "others"}
    assert (emo.sheet_emotion == emo.emotion).all()
    # raw: long videos numbered from 1, found by code; s19's 0502 folder misnumbered as the release's
    raw_base, raw = raw_twins
    rdf = raw["casme_sq"]
    s19 = raw_base / "casme_sq" / "rawpic" / "s19"
    assert (s19 / "23_0502funnyerrors").is_dir() and not list(s19.glob("19_0502*"))
    assert kinds(rdf)["folder-misnamed"] == 1
    for video in (raw_base / "casme_sq" / "rawpic").glob("s*/*"):
        n = sorted(frame_number(p) for p in video.iterdir())
        assert n == list(range(1, len(n) + 1))
        assert re.fullmatch(r"\d+_\d{4}[a-z]+", video.name)
        if len(n) >= 100:
            assert (video / "img099.jpg").is_file() and (video / "img100.jpg").is_file()


def test_casme_sq_full_size_anomaly_counts(monkeypatch, tmp_path):
    """The sheet of the full twin: offset 0 in 44 rows, one apex 0, three apexes after the
    offset, 5 expressions without a cropped folder; numbers past 1000 (img1000)."""
    run = dry_run(monkeypatch, tmp_path, "casme_sq")
    _, rows = run["sheets"]["CASMEcode_final"]
    assert len(rows) == 357 and len({r[0] for r in rows}) == 22
    assert sum(r[4] == 0 for r in rows) == 44 and sum(r[3] == 0 for r in rows) == 1
    assert sum(r[3] > r[4] > 0 for r in rows) == 3
    assert all(r[4] == 0 or r[4] >= r[2] for r in rows)                # never offset < onset
    assert len(run["frames"]) == 357 - 5
    assert any(n == "img1000.jpg" for _, names in run["frames"] for n in names)
    assert Counter(r[6] for r in rows) == {"negative": 126, "positive": 124, "others": 82, "surprise": 25}
    assert Counter(r[7] for r in rows) == {"macro-expression": 300, "micro-expression": 57}
    assert Counter(re.match("[a-z]+", r[1]).group(0) for r in rows) == {"anger": 102, "disgust": 88, "happy": 167}
    if any((r[0], r[1]) == (17, "anger1_1") for r in rows):
        assert [(r[0], r[1]) for r in rows if r[3] == 0] == [(17, "anger1_1")]   # the release's row
    aus = [str(r[5]) for r in rows]
    assert "NULL" in aus and any("," in a for a in aus) and any("or" in a for a in aus)
    assert any(r[0] == 3 and r[1].startswith("happy1_") for r in rows)    # s19 has a 0502 video
    assert {r[8] for r in rows} <= {"anger", "disgust", "happiness", "happyiness", "sadness", "helpless"}


def test_smic_format(twins, raw_twins):
    base, made = twins
    root = base / "smic"
    df = made["smic"]
    hs = root / "SMIC_all_cropped" / "HS"
    subjects = {p.name for p in hs.iterdir()}
    assert subjects <= {f"s{i}" for i in synthetic.SMIC_SUBJECTS}
    clips = sorted(hs.glob("s*/micro/*/*"))
    assert len(clips) == len(synthetic._smic_items(SMALL))
    for c in clips:
        sub, label = c.parents[2].name, c.parent.name
        assert re.fullmatch(rf"{sub}_{datasets.SMIC_FOLDER_CODES[label]}_\d\d", c.name)
        assert all(re.fullmatch(r"reg_image\d{6}\.bmp", p.name) for p in c.iterdir())
    non_micro = sorted(hs.glob("s*/non_micro/*"))
    assert non_micro and all(re.fullmatch(r"s\d+_n\d+", p.name) for p in non_micro)
    k = kinds(df)
    assert k["not-micro"] == len(subjects) and k["no-label"] == len(clips) - len(df) and not defects(df)
    lines = (root / datasets.SMIC_5CLASS_FILE).read_text().splitlines()
    assert (lines[0].startswith("# SMIC five-class labels") and "SYNTHETIC" in lines[0]
            and lines[2] == "subject,clip,emotion")
    three = load("smic", root, label_set="3class")
    assert len(three) == len(clips)
    label_of = dict(zip(zip(three["subject"], three["clip"]), three["emotion"]))
    for r in df.itertuples():                        # the five classes lie in their folders
        assert synthetic.SMIC_FIVE_IN[r.emotion] == label_of[(r.subject, r.clip)]
    raw_base, raw = raw_twins
    assert all(re.fullmatch(r"image\d{6}\.bmp", p.name) for f in raw["smic"].frames for p in f)
    assert (raw_base / "smic" / "SMIC_all_raw" / "HS").is_dir()


def test_smic_full_size_gaps_and_labels(monkeypatch, tmp_path):
    run = dry_run(monkeypatch, tmp_path, "smic")
    micro = [(f, n) for f, n in run["frames"] if f.parent.parent.name == "micro"]
    assert len(micro) == 164
    assert Counter(f.parent.name for f, _ in micro) == {"negative": 70, "positive": 51, "surprise": 43}
    assert {f.parents[2].name for f, _ in micro} == {f"s{i}" for i in synthetic.SMIC_SUBJECTS}
    skipped = sum(np.diff([frame_number(x) for x in n]).max() > 1 for _, n in micro) / len(micro)
    assert 0.2 < skipped < 0.4
    non = [f for f, _ in run["frames"] if f.parent.name == "non_micro"]
    assert {f.parent.parent.name for f in non} == {f"s{i}" for i in synthetic.SMIC_SUBJECTS}
    labels = pd.read_csv(tmp_path / datasets.SMIC_5CLASS_FILE, comment="#")
    assert len(labels) == 71 and Counter(labels.emotion) == planned("smic", 1.0)


def test_same_seed_byte_identical_and_seed_matters(tmp_path):
    for name, sheet in (("casme2", "CASME2-coding-20140508.xlsx"), ("casme", "CASME_A/Section A/Section A.xls"),
                        ("casme_sq", "CAS(ME)^2code_final.xlsx")):
        a = synthetic.generate(name, tmp_path / "a" / name, seed=3, scale=0.03, progress=False)
        b = synthetic.generate(name, tmp_path / "b" / name, seed=3, scale=0.03, progress=False)
        assert len(a) == len(b) > 0
        da, db = digest(tmp_path / "a" / name), digest(tmp_path / "b" / name)
        da.pop(synthetic.MARKER), db.pop(synthetic.MARKER)   # holds the wall time it took
        assert da == db
        synthetic.generate(name, tmp_path / "c" / name, seed=4, scale=0.03, progress=False)
        dc = digest(tmp_path / "c" / name)
        assert dc[sheet] != da[sheet]


def test_killed_run_leaves_nothing_loadable(tmp_path, monkeypatch):
    real = synthetic.WRITERS["smic"]

    def dies(root, *args):
        real(root, *args)
        raise KeyboardInterrupt("killed")            # after every frame, before the marker

    monkeypatch.setitem(synthetic.WRITERS, "smic", dies)
    with pytest.raises(KeyboardInterrupt):
        synthetic.generate("smic", tmp_path / "smic", scale=0.05, progress=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError):
        load("smic", tmp_path / "smic")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_partial_folders_of_killed_runs_are_removed(tmp_path):
    dead = dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = [tmp_path / f".smic.partial-{dead}", tmp_path / f".smic.old-{dead}"]
        kept = [tmp_path / f".smic.partial-{live.pid}", tmp_path / f".smic.old-{os.getpid()}",
                tmp_path / ".smic.partial-abc", tmp_path / f".smic.partial-{dead}-x",
                tmp_path / f".casme.partial-{dead}", tmp_path / f"smic.partial-{dead}",
                tmp_path / f".smic2.partial-{dead}"]
        for d in stale + kept:
            d.mkdir()
            (d / "frame.bmp").write_bytes(b"x")
        a_file = tmp_path / f".smic.old-{dead + 1 if dead + 1 != live.pid else dead + 2}"
        a_file.write_text("not a folder")            # only folders are removed
        synthetic.generate("smic", tmp_path / "smic", scale=0.01, progress=False)
        assert not any(d.exists() for d in stale)
        assert all((d / "frame.bmp").is_file() for d in kept) and a_file.is_file()
        assert synthetic.is_complete(tmp_path / "smic")
    finally:
        live.kill()
        live.wait()


def test_reuse_refuse_overwrite_and_older_generator(tmp_path):
    root = tmp_path / "smic"
    synthetic.generate("smic", root, scale=0.05, progress=False)
    stamp = (root / synthetic.MARKER).stat().st_mtime_ns
    synthetic.generate("smic", root, scale=0.05, progress=False)          # reused, not rewritten
    assert (root / synthetic.MARKER).stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="overwrite"):
        synthetic.generate("smic", root, scale=0.05, amplitude=2.0, progress=False)
    synthetic.generate("smic", root, scale=0.05, amplitude=2.0, overwrite=True, progress=False)
    assert synthetic.twin_manifest(root)["settings"]["amplitude"] == 2.0
    # a twin of generator version 1 (the old formats) is regenerated without asking
    manifest = synthetic.twin_manifest(root)
    manifest["settings"]["version"] = 1
    (root / synthetic.MARKER).write_text(json.dumps(manifest))
    (root / "old-format-leftover.txt").write_text("v1")
    synthetic.generate("smic", root, scale=0.05, amplitude=2.0, progress=False)
    assert synthetic.twin_manifest(root)["settings"]["version"] == 2
    assert not (root / "old-format-leftover.txt").exists()
    assert synthetic.MARKER == datasets.TWIN_MARKER
    mine = tmp_path / "licensed"
    mine.mkdir()
    (mine / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="not a synthetic twin"):
        synthetic.generate("casme", mine, overwrite=True, progress=False)
    assert (mine / "keep.txt").read_text() == "user data"


def test_raw_layout_face_is_found_and_cropped(tmp_path):
    df = synthetic.generate("casme", tmp_path / "casme", layout="raw", scale=0.1, progress=False)
    assert df.layout.eq("raw").all() and df.frames.iloc[0][0].name.startswith(("EP", "img"))
    found, inside = 0, 0
    for frames in df.frames:
        first = read_frame(frames[0])
        assert first.shape == synthetic.RAW_SIZE + (3,)
        box, source = faces.face_box(first)
        found += source == "haar"
        x, y, w, h = box
        inside += w < first.shape[1] * 0.8 and abs((x + w / 2) - first.shape[1] / 2) < first.shape[1] * 0.2
    assert found / len(df) >= 0.9, f"Haar cascade found {found} of {len(df)} twin faces"
    assert inside == len(df)
    clip = faces.read_clip(df.frames.iloc[0][:5], size=112, layout="raw")
    assert clip.shape == (5, 112, 112, 3)


def test_honesty_single_frame_near_chance_dynamic_image_above():
    acc = synthetic.frame_vs_motion()
    chance = acc["chance"]
    print(f"default amplitude {synthetic.DEFAULT_AMPLITUDE}px, chance {chance:.3f}: {acc}")
    assert acc["apex"] < chance + 0.15 and acc["mean"] < chance + 0.15
    assert acc["dynamic"] > chance + 0.25
    assert acc["dynamic"] > max(acc["apex"], acc["mean"]) + 0.2


def test_cli_synth_and_check_data(tmp_path, capsys):
    assert cli.main(["synth", "smic", "--out", str(tmp_path), "--scale", "0.05"]) == 0
    assert cli.main(["check-data", "smic", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "surprise" in out and "not-micro" in out and "no-label" in out and "synthetic twin" in out
    (tmp_path / "smic" / datasets.SMIC_5CLASS_FILE).unlink()
    assert cli.main(["check-data", "smic", "--data-root", str(tmp_path)]) == 1
    assert cli.main(["check-data", "smic", "--data-root", str(tmp_path), "--label-set", "3class"]) == 0
    assert cli.main(["synth", "casme2", "--out", str(tmp_path), "--scale", "0.03"]) == 0
    assert cli.main(["check-data", "casme2", "--data-root", str(tmp_path)]) == 0    # defects only leave clips out
    out = capsys.readouterr().out
    assert "frames-missing" in out and "apex-missing" in out


def test_au_field_peak_is_one_pixel_and_local():
    subj = synthetic.make_subject(np.random.default_rng(0), (156, 128))
    field = synthetic.au_field(subj.face, subj.frame, "12")
    mag = np.hypot(*field)
    assert mag.max() == pytest.approx(1.0)
    y, x = np.unravel_index(mag.argmax(), mag.shape)
    assert y > subj.frame.cy                         # the lip corners, below the centre
    assert mag[: int(subj.frame.cy - 0.3 * subj.frame.b)].max() < 0.05   # nothing on the brows
    course = synthetic.time_course(20, 8)
    assert course[0] == 0 and course[8] == 1 and course.argmax() == 8 and course[-1] < 1e-9
