"""The synthetic twins: round trip through the real loader, determinism, atomic writes,
the face crop on raw frames, and the honesty test (motion carries the class, a frame not)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from learnet_lite import cli, datasets, faces, synthetic
from learnet_lite.datasets import DataError, frame_number, load
from learnet_lite.paper import table

SMALL = 0.05     # share of each class in the round-trip twins (at least one clip per class)


def digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    base = tmp_path_factory.mktemp("twins")
    return base, {n: synthetic.generate(n, base / n, scale=SMALL, progress=False) for n in datasets.DATASETS}


@pytest.mark.parametrize("name", datasets.DATASETS)
def test_round_trip(twins, name):
    base, made = twins
    df = made[name]
    again = load(name, base / name, verify="full")
    assert df.drop(columns="frames").equals(again.drop(columns="frames"))
    s = datasets.SPECS[name]
    t2 = table("table2").set_index("emotion")
    expected = {c: max(1, int(round(t2.loc[c, name] * SMALL))) for c in s.classes}
    assert datasets.class_counts(df).to_dict() == expected
    assert df.subject.nunique() <= s.subjects and (df.fps == s.fps).all()
    lo, hi = synthetic.CLIP_FRAMES[name]
    if name == "casme_sq":
        hi = synthetic.CASME_SQ_MACRO_FRAMES[1]
    if name == "smic":
        lo -= 1                                      # a dropped frame
    assert df.n_frames.between(1, hi).all() and (df.n_frames >= min(lo, 1)).all()
    for frames in df.frames:                         # time order, by number
        numbers = [frame_number(p) for p in frames]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    first = datasets.read_frames(df.frames.iloc[0])
    assert first.shape[1:] == synthetic.CROPPED_SIZE[name] + (3,)
    assert synthetic.is_complete(base / name)


def test_full_size_plan_follows_table2():
    t2 = table("table2").set_index("emotion")
    for name in datasets.DATASETS:
        plan = synthetic._class_plan(name, 1.0)
        counts = {c: plan.count(c) for c in set(plan)}
        assert counts == {c: int(t2.loc[c, name]) for c in datasets.SPECS[name].classes}
        subjects = synthetic._assign_subjects(len(plan), datasets.SPECS[name].subjects, np.random.default_rng(0))
        assert len(set(subjects)) == datasets.SPECS[name].subjects


def test_quirks_present_in_twins(twins):
    base, made = twins
    smic = made["smic"]
    gaps = [np.diff([frame_number(p) for p in f]).max() for f in smic.frames]
    assert max(gaps) > 1                             # SMIC: numbers missing inside a clip
    assert (base / "casme2" / "CASME2-coding-20140508.xlsx").is_file()
    names = [p.name for f in made["casme"].frames for p in f]
    assert all(n.startswith("reg_EP") for n in names)


def test_same_seed_byte_identical_and_seed_matters(tmp_path):
    a = synthetic.generate("casme2", tmp_path / "a" / "casme2", seed=3, scale=0.03, progress=False)
    b = synthetic.generate("casme2", tmp_path / "b" / "casme2", seed=3, scale=0.03, progress=False)
    assert len(a) == len(b) > 0
    da, db = digest(tmp_path / "a" / "casme2"), digest(tmp_path / "b" / "casme2")
    da.pop(synthetic.MARKER), db.pop(synthetic.MARKER)   # holds the wall time it took
    assert da == db
    synthetic.generate("casme2", tmp_path / "c" / "casme2", seed=4, scale=0.03, progress=False)
    dc = digest(tmp_path / "c" / "casme2")
    assert dc["CASME2-coding-20140508.xlsx"] != da["CASME2-coding-20140508.xlsx"]


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


def test_reuse_refuse_and_overwrite(tmp_path):
    root = tmp_path / "smic"
    synthetic.generate("smic", root, scale=0.05, progress=False)
    stamp = (root / synthetic.MARKER).stat().st_mtime_ns
    synthetic.generate("smic", root, scale=0.05, progress=False)          # reused, not rewritten
    assert (root / synthetic.MARKER).stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="overwrite"):
        synthetic.generate("smic", root, scale=0.05, amplitude=2.0, progress=False)
    synthetic.generate("smic", root, scale=0.05, amplitude=2.0, overwrite=True, progress=False)
    assert synthetic.twin_manifest(root)["settings"]["amplitude"] == 2.0
    mine = tmp_path / "licensed"
    mine.mkdir()
    (mine / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="not a synthetic twin"):
        synthetic.generate("casme", mine, overwrite=True, progress=False)
    assert (mine / "keep.txt").read_text() == "user data"


def test_raw_layout_face_is_found_and_cropped(tmp_path):
    df = synthetic.generate("casme", tmp_path / "casme", layout="raw", scale=0.1, progress=False)
    assert df.layout.eq("raw").all() and df.frames.iloc[0][0].name.startswith("EP")
    found, inside = 0, 0
    for frames in df.frames:
        first = datasets.read_frame(frames[0])
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
    assert cli.main(["synth", "smic", "--root", str(tmp_path), "--scale", "0.05"]) == 0
    assert cli.main(["check-data", "smic", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "surprise" in out and "no problems" in out
    (tmp_path / "smic" / datasets.SMIC_5CLASS_FILE).unlink()
    assert cli.main(["check-data", "smic", "--root", str(tmp_path)]) == 1
    assert cli.main(["check-data", "smic", "--root", str(tmp_path), "--label-set", "3class"]) == 0


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
