"""The road from DATA_ROOT (or a twin) to a chapter's clips: which dataset comes from where,
what the profiles do with defects, the raw layout end to end, the "data used" tables."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from learnet_lite import datasets, faces, inputs, profiles, synthetic, tables
from learnet_lite.frames import DataError, read_frame

SMALL = dataclasses.replace(profiles.load("smoke"), twin_scale=0.05)


@pytest.fixture(scope="module")
def twin_casme2(tmp_path_factory):
    root = tmp_path_factory.mktemp("twins") / "casme2"
    synthetic.generate("casme2", root, scale=0.05, progress=False)
    return root


def test_partial_data_root_serves_what_it_holds(tmp_path, monkeypatch, twin_casme2):
    # a "licensed" CASME II: the twin's files without its marker
    shutil.copytree(twin_casme2, tmp_path / "casme2")
    (tmp_path / "casme2" / datasets.TWIN_MARKER).unlink()
    monkeypatch.setenv("DATA_ROOT", str(tmp_path))
    assert profiles.dataset_folder("casme2") == (tmp_path / "casme2", True)
    folder, licensed = profiles.dataset_folder("smic_2class")
    assert not licensed and folder == profiles.REPO_ROOT / "data" / "synthetic" / "smic"
    assert not profiles.using_synthetic_data("casme2") and profiles.using_synthetic_data("casme")
    # twins are never written under DATA_ROOT
    assert inputs.twin_folder("casme", SMALL).parent.parent == profiles.REPO_ROOT / "data" / "synthetic"
    df = inputs.clips("casme2", SMALL)
    assert df.attrs["source"] == "licensed" and df.attrs["root"] == str(tmp_path / "casme2")
    summary, _ = tables.data_used({"casme2": df})
    assert summary.loc["casme2", "data"] == "licensed copy"
    both = {"casme2": df, "casme": df.assign().pipe(_as_twin)}
    assert datasets.sources_sentence(both) == "CASME-II: licensed copy; CASME-I: synthetic twin"


def _as_twin(df):
    df.attrs = {**df.attrs, "source": "twin"}
    return df


def test_profiles_leave_out_defects_the_library_raises_on(twin_casme2):
    # the twin reproduces CASME II's sub16/EP01_08 defect (frames stop before the coded offset)
    with pytest.raises(DataError, match="frames"):
        datasets.load("casme2", twin_casme2)
    df = datasets.load("casme2", twin_casme2, on_error="skip")
    gone = datasets.left_out(df)
    assert (gone["kind"] == "frames-missing").sum() >= 1
    summary, listed = tables.data_used({"casme2": df})
    assert summary.loc["casme2", "left out"] == len(listed) == (gone["kind"].isin(datasets.DEFECTS)).sum()
    assert summary.loc["casme2", "clips"] == len(df)
    for name in ("smoke", "book", "paper"):
        assert profiles.load(name).on_error == "skip"


def test_raw_layout_end_to_end(tmp_path):
    root = tmp_path / "casme2"
    synthetic.generate("casme2", root, scale=0.02, layout="raw", progress=False)
    df = datasets.load("casme2", root, layout="raw", on_error="skip")
    assert len(df) and (df["layout"] == "raw").all()
    first = read_frame(df.frames.iloc[0][0])
    box, source = faces.face_box(first)
    assert source == "haar" and box[2] < first.shape[1]          # a face found, smaller than the frame
    images = inputs.images(df.head(3), "bilen", cache_dir=None, progress=False)
    assert images.shape == (3, inputs.INPUT_SIZE, inputs.INPUT_SIZE, 3) and images.dtype == np.uint8
    # the crop matters: the input differs from pooling the whole raw frame
    whole = inputs.images(df.head(3).assign(layout="cropped"), "bilen", cache_dir=None, progress=False)
    assert np.abs(images.astype(int) - whole.astype(int)).mean() > 5


def test_check_data_with_a_partial_data_root(tmp_path, monkeypatch, capsys, twin_casme2):
    from learnet_lite import cli

    shutil.copytree(twin_casme2, tmp_path / "casme2")
    (tmp_path / "casme2" / datasets.TWIN_MARKER).unlink()
    monkeypatch.setenv("DATA_ROOT", str(tmp_path))
    monkeypatch.setattr(profiles, "REPO_ROOT", tmp_path / "repo")      # no twins made yet
    assert cli.main(["check-data"]) == 0           # the others are the twins' business, not an error
    out = capsys.readouterr().out
    assert f"CASME-II (casme2) at {tmp_path / 'casme2'}" in out and "source      licensed copy" in out
    assert f"SMIC-HS (smic): not in $DATA_ROOT ({tmp_path / 'smic'}); the chapters read its synthetic twin" in out
    assert "`learnet-lite synth smic`" in out
    assert cli.main(["check-data", "smic"]) == 1   # named, and not placed
    (tmp_path / "SMIC").mkdir()                   # the release's own name beside ours: a hint, and a failure
    assert cli.main(["check-data"]) == 1
    assert f"rename it or link it as {tmp_path / 'smic'}" in capsys.readouterr().out


def test_one_network_input_for_every_chapter(tmp_path):
    # what the network sees: the dynamic image stretched to 0..255, resized, then (x/255 - 0.5)/0.25
    clips = synthetic.generate("casme2", tmp_path / "casme2", scale=0.02, progress=False)
    images = inputs.images(clips, "bilen", size=56, cache_dir=None, progress=False)
    x = inputs.to_tensor(images)
    assert x.shape == (len(clips), 3, 56, 56) and str(x.dtype) == "torch.float32"
    assert float(x.min()) >= -2.0 and float(x.max()) <= 2.0
    assert np.allclose(x.numpy(), (images.transpose(0, 3, 1, 2) / 255.0 - 0.5) / 0.25, atol=1e-6)
    assert images.dtype == np.uint8
    classes, labels = inputs.labels(clips)
    assert classes == sorted(set(clips["emotion"])) and [classes[i] for i in labels] == list(clips["emotion"])
