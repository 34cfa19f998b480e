"""Experiment runner and CLI: records written and skipped, resume after a kill, CPU
determinism, input cache, subject grouping. Tiny fabricated clip folders, seconds each."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pandas as pd
import pytest

from learnet_lite import cli, experiment, inputs, profiles, protocols, results

CLASSES = ("disgust", "happiness", "surprise")
# the smoke profile with LOSO proper (one fold per subject)
SETTINGS = dataclasses.replace(profiles.load("smoke"), epochs=2, repeats=1, aug_angles=(0,), loso_groups=None)


def make_clips(root, subjects=5, frames=4, size=24, seed=0) -> pd.DataFrame:
    """One clip per (subject, class): a bright square that moves in a class-given direction."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(1, subjects + 1):
        for k, emotion in enumerate(CLASSES):
            folder = root / f"sub{s:02d}" / f"EP{k:02d}"
            folder.mkdir(parents=True)
            paths = []
            for t in range(frames):
                img = (rng.random((size, size, 3)) * 40).astype(np.uint8)
                x = 8 + t * (k - 1)
                img[8:14, x:x + 6] = 255
                path = folder / f"img{t + 1}.png"
                cv2.imwrite(str(path), img)
                paths.append(path)
            rows.append({"dataset": "casme2", "subject": f"sub{s:02d}", "clip": f"EP{k:02d}", "emotion": emotion,
                         "onset": 1, "apex": 2, "offset": frames, "aus": "", "frames": paths})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return make_clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def prep(clips, tmp_path_factory):
    return experiment.prepare("casme2", SETTINGS, "bilen", df=clips, cache_dir=tmp_path_factory.mktemp("cache"),
                              progress=False)


def strip_times(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in results.TIME_KEYS}


def test_inputs_are_112_uint8_cached_and_apex_is_the_apex_frame(clips, tmp_path, monkeypatch):
    di = inputs.images(clips, "bilen", cache_dir=tmp_path, progress=False)
    assert di.shape == (len(clips), 112, 112, 3) and di.dtype == np.uint8
    cached = list(tmp_path.glob("casme2-bilen-112-*.npz"))
    assert len(cached) == 1 and not list(tmp_path.glob(".*"))  # no temp file left

    def boom(*a):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(inputs, "_one_input", boom)
    np.testing.assert_array_equal(inputs.images(clips, "bilen", cache_dir=tmp_path, progress=False), di)
    monkeypatch.undo()
    apex = inputs.images(clips.iloc[:1], "apex-frame", cache_dir=None, progress=False)[0]
    frame = cv2.cvtColor(cv2.imread(str(clips.frames[0][1])), cv2.COLOR_BGR2RGB)  # apex = 2 -> img2
    np.testing.assert_array_equal(apex, cv2.resize(frame, (112, 112), interpolation=cv2.INTER_AREA))
    with pytest.raises(ValueError, match="variant 'mean'"):
        inputs.images(clips, "mean", cache_dir=None)


def test_data_fingerprint_names_the_clip_table_not_where_it_lies(tmp_path):
    def table(root, **attrs):
        rows = [{"subject": s, "clip": c, "label": lab, "emotion": lab,
                 "frames": [root / s / c / f"img{t}.jpg" for t in (1, 2, 3)]}
                for s, c, lab in (("sub2", "EP01", "happy"), ("sub10", "EP02", "disgust"),
                                  ("sub2", "EP03", "surprise"))]
        df = pd.DataFrame(rows)
        df.attrs.update({"root": str(root), "source": "twin", "twin": {"version": 2, "seed": 0}, **attrs})
        return df

    here = table(tmp_path / "a" / "casme2")  # no frame exists: nothing is read
    fp = inputs.data_fingerprint(here)
    assert fp == inputs.data_fingerprint(table(tmp_path / "a" / "casme2"))  # deterministic
    assert fp["clips"] == 3 and fp["source"] == "twin" and fp["generator_version"] == 2 and len(fp["sha256"]) == 16
    sha = fp["sha256"]
    assert inputs.data_fingerprint(table(tmp_path / "moved" / "elsewhere"))["sha256"] == sha
    assert inputs.data_fingerprint(here.iloc[::-1])["sha256"] == sha  # row order: sorted first
    assert inputs.data_fingerprint(here.drop(columns="label"))["sha256"] != sha
    changed = {
        "a label": here.assign(label=["happy", "disgust", "fear"]),
        "a frame": here.assign(frames=[here.frames[0][:2]] + list(here.frames[1:])),
        "a clip": here.iloc[:2],
        "a clip's name": here.assign(clip=["EP01", "EP02", "EP04"]),
        "the generator": table(tmp_path / "a" / "casme2", twin={"version": 3, "seed": 0}),
        "the source": table(tmp_path / "a" / "casme2", source="licensed", twin=None),
    }
    for what, df in changed.items():
        if what not in ("the generator", "the source"):
            df.attrs.update(here.attrs)
        assert inputs.data_fingerprint(df)["sha256"] != sha, f"{what} changed, the fingerprint did not"
    # no attrs (an older data layer): root from the frames, twin settings from the twin's marker
    bare = table(tmp_path / "b" / "casme2")
    bare.attrs.clear()
    (tmp_path / "b" / "casme2").mkdir(parents=True)
    (tmp_path / "b" / "casme2" / ".learnet-twin.json").write_text(json.dumps({"settings": {"version": 1}}))
    fb = inputs.data_fingerprint(bare)
    assert fb["generator_version"] == 1 and fb["twin_settings"] == {"version": 1}
    assert fb["sha256"] == inputs.data_fingerprint(table(tmp_path / "c", twin={"version": 1}))["sha256"]


def test_grouped_subjects_keep_subjects_on_one_side(clips):
    grouped = experiment.group_subjects(clips, 3)
    assert grouped["subject"].nunique() == 3
    assert grouped.groupby(clips["subject"])["subject"].nunique().max() == 1  # a subject in one group
    folds = protocols.split(grouped, "loso", augmentation=False)
    assert len(folds) == 3
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested) == list(range(len(clips)))  # every clip tested once
    for f in folds:
        assert not set(clips.subject.iloc[f.train]) & set(clips.subject.iloc[f.test])
    assert experiment.group_subjects(clips, None) is clips


def test_run_writes_a_record_and_skips_it_next_time(prep, tmp_path):
    fold = experiment.folds(prep, "paper", SETTINGS, 0)[0]
    path, trained = experiment.run_fold(prep, fold, model="learnet", profile=SETTINGS,
                                        results_dir=tmp_path, device="cpu", progress=False)
    assert trained and path == tmp_path / "smoke/casme2/paper/learnet/bilen-seed0-fold000.json"
    r = results.read(path)
    assert r["labels"] == list(CLASSES) and np.sum(r["confusion"]) == len(fold.test)
    assert 0 <= r["metrics"]["accuracy"] <= 1 and r["device"] == "cpu"
    assert r["sizes"]["train_images"] == 2 * len(fold.train) and r["sizes"]["image_size"] == 112
    assert len(r["extra"]["history"]["loss"]) == 2 and r["extra"]["momentum"] == 0.9
    assert r["git"]["commit"] and r["versions"]["torch"]
    assert not list((tmp_path / experiment.CHECKPOINT_DIR).rglob("*.pt"))  # checkpoint removed
    assert r["extra"]["data"]["fingerprint"] == inputs.data_fingerprint(prep.df)
    assert results.load_records(tmp_path)["data_fingerprint"].tolist() == [inputs.data_fingerprint(prep.df)["sha256"]]
    before = path.read_text()
    again, trained = experiment.run_fold(prep, fold, model="learnet", profile=SETTINGS,
                                         results_dir=tmp_path, device="cpu", progress=False)
    assert again == path and not trained and path.read_text() == before


class Killed(RuntimeError):
    pass


def test_resume_after_a_kill_equals_an_uninterrupted_run(prep, tmp_path):
    fold = experiment.folds(prep, "loso", SETTINGS, 0)[1]
    kw = dict(model="learnet", profile=dataclasses.replace(SETTINGS, epochs=3), device="cpu", progress=False)
    whole, _ = experiment.run_fold(prep, fold, results_dir=tmp_path / "a", **kw)

    def kill_after_epoch_2(epoch, history):
        if epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        experiment.run_fold(prep, fold, results_dir=tmp_path / "b", on_epoch=kill_after_epoch_2, **kw)
    ckpts = list((tmp_path / "b" / experiment.CHECKPOINT_DIR).rglob("*.pt"))
    assert len(ckpts) == 1 and not list((tmp_path / "b").rglob("*.json"))

    def must_start_at_3(epoch, history):
        assert epoch == 3, f"resumed run trained epoch {epoch} again"

    resumed, trained = experiment.run_fold(prep, fold, results_dir=tmp_path / "b", resume=True,
                                           on_epoch=must_start_at_3, **kw)
    assert trained
    a, b = results.read(whole), results.read(resumed)
    assert strip_times(a) == strip_times(b)  # same history, predictions, metrics
    # and two uninterrupted CPU runs with one seed are identical apart from times
    again, _ = experiment.run_fold(prep, fold, results_dir=tmp_path / "c", **kw)
    assert strip_times(results.read(again)) == strip_times(a)


def test_cli_train_writes_skips_and_reproduce_tables(clips, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(inputs, "clips", lambda dataset, profile=None: clips)
    monkeypatch.setattr(experiment, "CACHE_DIR", tmp_path / "cache")
    args = ["train", "--dataset", "casme2", "--protocol", "paper", "--profile", "smoke",
            "--results", str(tmp_path / "r"), "--device", "cpu", "--quiet"]
    assert cli.main(args) == 0
    records = list((tmp_path / "r").rglob("*.json"))
    assert len(records) == 1
    rec = json.loads(records[0].read_text())
    assert {k: rec[k] for k in ("dataset", "protocol", "model", "profile", "variant", "seed", "fold")} == \
        {"dataset": "casme2", "protocol": "paper", "model": "learnet", "profile": "smoke", "variant": "bilen",
         "seed": 0, "fold": 0}
    stamp = records[0].stat().st_mtime_ns
    assert cli.main(args) == 0
    assert records[0].stat().st_mtime_ns == stamp  # skipped, not re-run
    assert "accuracy" in capsys.readouterr().out
    assert cli.main(["reproduce", "--profile", "smoke", "--datasets", "casme2", "--models", "learnet",
                     "--protocols", "paper", "--results", str(tmp_path / "r"), "--device", "cpu", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "casme2" in out and "paper" in out and records[0].stat().st_mtime_ns == stamp
    assert cli.main(["train", "--dataset", "casme2", "--protocol", "paper", "--profile", "smoke", "--fold", "3",
                     "--results", str(tmp_path / "r"), "--quiet"]) == 2
    assert "fold 3" in capsys.readouterr().err


def test_reproduce_reports_runs_of_other_data_and_reruns_only_those_when_asked(clips, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(inputs, "clips", lambda dataset, profile=None: clips)
    monkeypatch.setattr(experiment, "CACHE_DIR", tmp_path / "cache")
    kw = dict(datasets=["casme2"], models_=["learnet"], protocols_=["paper"], seeds=[0, 1], device="cpu",
              progress=False, results_dir=tmp_path / "r")
    table = experiment.reproduce("smoke", **kw)
    assert table["data"].tolist() == ["current"] and "other data" not in capsys.readouterr().out
    old, kept = sorted((tmp_path / "r").rglob("*.json"))  # seed 0, seed 1
    rec = json.loads(old.read_text())
    rec["extra"]["data"]["fingerprint"]["sha256"] = "0" * 16  # as if made on an earlier twin
    old.write_text(json.dumps(rec))
    stamps = {p: p.stat().st_mtime_ns for p in (old, kept)}
    table = experiment.reproduce("smoke", **kw)  # default: reported, not re-run
    assert "1 of 2 recorded runs" in capsys.readouterr().out
    assert table["data"].tolist() == ["other 1/2"]
    assert {p: p.stat().st_mtime_ns for p in (old, kept)} == stamps
    assert cli.main(["reproduce", "--profile", "smoke", "--datasets", "casme2", "--models", "learnet", "--protocols",
                     "paper", "--seeds", "0", "1", "--results", str(tmp_path / "r"), "--device", "cpu", "--quiet",
                     "--rerun-stale"]) == 0
    assert "re-running them" in capsys.readouterr().out
    assert old.stat().st_mtime_ns != stamps[old] and kept.stat().st_mtime_ns == stamps[kept]  # only the stale one
    assert results.record_fingerprint(results.read(old)) == results.record_fingerprint(results.read(kept))
    assert experiment.reproduce("smoke", **kw)["data"].tolist() == ["current"]


def test_parallel_grid_writes_the_records_of_the_sequential_one(tmp_path, monkeypatch):
    """``reproduce(jobs=2)`` trains in spawned workers (which see DATA_ROOT, not monkeypatches):
    on CPU its records equal the sequential grid's apart from times."""
    from learnet_lite import synthetic

    synthetic.generate("casme2", tmp_path / "data" / "casme2", scale=0.06, amplitude=3.0, progress=False)
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setattr(experiment, "CACHE_DIR", tmp_path / "cache")
    kw = dict(datasets=["casme2"], models_=["learnet"], protocols_=["paper", "loso"], seeds=[0, 1],
              device="cpu", progress=False)
    experiment.reproduce("smoke", results_dir=tmp_path / "seq", **kw)
    experiment.reproduce("smoke", results_dir=tmp_path / "par", jobs=2, **kw)
    seq = sorted(p.relative_to(tmp_path / "seq") for p in (tmp_path / "seq").rglob("*.json"))
    par = sorted(p.relative_to(tmp_path / "par") for p in (tmp_path / "par").rglob("*.json"))
    assert seq == par and len(seq) == 2 * (1 + 3)  # 2 seeds x (paper + 3 LOSO groups)
    for rel in seq:
        assert strip_times(results.read(tmp_path / "par" / rel)) == strip_times(results.read(tmp_path / "seq" / rel))
    with pytest.raises(ValueError, match="jobs"):
        experiment.reproduce("smoke", results_dir=tmp_path / "x", jobs=0, **kw)


def smic_release(root, subjects=4, frames=4, size=24, seed=0):
    """A tiny SMIC-HS release (cropped layout): per subject two negative, one positive and one
    surprise clip, plus the five-class labels file the 5-class runs need (fear or sadness
    for the second negative clip, by subject)."""
    rng = np.random.default_rng(seed)
    five = ["subject,clip,emotion"]
    for s in range(1, subjects + 1):
        for k, (label, code, emotion) in enumerate([("negative", "ne", "disgust"), ("negative", "ne", "fear"),
                                                    ("positive", "po", "happiness"), ("surprise", "sur", "surprise")]):
            clip = f"s{s}_{code}_{k + 1:02d}"
            folder = root / "SMIC_all_cropped" / "HS" / f"s{s}" / "micro" / label / clip
            folder.mkdir(parents=True)
            for t in range(frames):
                img = (rng.random((size, size, 3)) * 40).astype(np.uint8)
                x = 8 + t * (k - 1)
                img[8:14, x:x + 6] = 255
                cv2.imwrite(str(folder / f"reg_image{t + 1:06d}.bmp"), img)
            five.append(f"s{s},{clip},{'sadness' if emotion == 'fear' and s % 2 else emotion}")
    (root / "SMIC-5class-labels.csv").write_text("\n".join(five) + "\n")
    return root


def test_smic_2class_reads_smic_with_two_classes_and_records_apart(tmp_path, monkeypatch):
    smic_release(tmp_path / "data" / "smic")
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "data"))
    assert inputs.source("smic_2class") == ("smic", "2class") and inputs.source("smic") == ("smic", "table2")
    two = inputs.clips("smic_2class", SETTINGS)
    assert sorted(two["emotion"].unique()) == ["negative", "positive"] and len(two) == 12  # surprise left out
    assert (two["dataset"] == "smic_2class").all()
    cache = tmp_path / "cache"
    prep2 = experiment.prepare("smic_2class", SETTINGS, "bilen", cache_dir=cache, progress=False)
    prep5 = experiment.prepare("smic", SETTINGS, "bilen", cache_dir=cache, progress=False)
    assert prep2.classes == ["negative", "positive"] and len(prep5.classes) == 5
    assert prep2.info["data_root"] == prep5.info["data_root"] == str(tmp_path / "data" / "smic")
    files = sorted(p.name for p in cache.glob("*.npz"))
    assert len(files) == 2 and files[0].startswith("smic-") and files[1].startswith("smic_2class-")
    fold = experiment.folds(prep2, "paper", SETTINGS, 0)[0]
    path, _ = experiment.run_fold(prep2, fold, model="learnet", profile=SETTINGS,
                                  results_dir=tmp_path / "r", device="cpu", progress=False)
    assert path == tmp_path / "r/smoke/smic_2class/paper/learnet/bilen-seed0-fold000.json"
    r = results.read(path)
    assert r["dataset"] == "smic_2class" and r["labels"] == ["negative", "positive"]
    assert np.asarray(r["confusion"]).shape == (2, 2) and r["extra"]["n_classes"] == 2
    with pytest.raises(ValueError, match="smic_3class"):
        inputs.clips("smic_3class", SETTINGS)


def test_handcrafted_methods_are_models_of_the_grid(clips, tmp_path):
    """A handcrafted method runs on the fold's training clips (each once, no augmentation), is
    recorded under the variant 'frames' whatever the input, with each test image's prediction,
    and runs once in a grid of two input variants."""
    settings = dataclasses.replace(SETTINGS, aug_angles=(-15, 0, 15))   # 6 copies per training clip for the networks
    prep = experiment.prepare("casme2", settings, "bilen", df=clips, cache_dir=tmp_path / "cache", progress=False)
    fold = experiment.folds(prep, "loso", settings, seed=0)[0]
    path, trained = experiment.run_fold(prep, fold, model="lbptop-svm", profile=settings, results_dir=tmp_path)
    assert trained and path == results.record_path(tmp_path, "casme2", "loso", "lbptop-svm", settings.name,
                                                   "frames", 0, 0)
    rec = results.read(path)
    assert rec["sizes"]["train_clips"] == rec["sizes"]["train_images"] == len(fold.train)   # one row per clip
    assert rec["sizes"]["test_clips"] == len(fold.test) and rec["extra"]["feature"] == "lbptop"
    extra = rec["extra"]
    assert extra["test_subjects"] == [str(fold.test_subject)] * len(fold.test)
    assert len(extra["test_true"]) == len(extra["test_pred"]) == len(extra["test_clips"]) == len(fold.test)
    assert sum(t == p for t, p in zip(extra["test_true"], extra["test_pred"])) == round(
        rec["metrics"]["accuracy"] * len(fold.test))
    assert list(tmp_path.glob("cache/features-lbptop-*.npz"))  # the features, cached per clip table
    assert experiment.run_fold(prep, fold, model="lbptop-svm", profile=settings, results_dir=tmp_path)[1] is False
    # a grid of two inputs: the networks run on each, a handcrafted method once
    two = dataclasses.replace(settings, variants=("bilen", "apex-frame"), epochs=1)
    jobs = experiment._grid(["casme2"], ["bilen", "apex-frame"], ["paper"], ["learnet", "mdmo-svm"], [0], two, False)[1]
    assert sorted((v, m) for _, v, _, _, m, _ in jobs) == [("apex-frame", "learnet"), ("bilen", "learnet"),
                                                           ("bilen", "mdmo-svm")]
    assert experiment.record_variant("mdmo-svm", "apex-frame") == "frames"
    assert experiment.record_variant("learnet", "apex-frame") == "apex-frame"


def test_paper_leaky_puts_a_test_clip_itself_in_a_handcrafted_methods_training(clips, tmp_path):
    settings = dataclasses.replace(SETTINGS, aug_angles=(-15, 0, 15))
    prep = experiment.prepare("casme2", settings, "bilen", df=clips, cache_dir=tmp_path / "cache", progress=False)
    fold = experiment.folds(prep, "paper-leaky", settings, seed=0)[0]
    rec = results.read(experiment.run_fold(prep, fold, model="lbptop-elm", profile=settings, results_dir=tmp_path)[0])
    train = set(fold.part("train")["source"])
    tested = rec["extra"]["test_clips"]
    names = {f"{r.subject}/{r.clip}": i for i, r in enumerate(prep.df.itertuples())}
    assert any(names[c] in train for c in tested)   # the leak in its plainest form: the clip itself
    assert len(tested) == len(set(tested))   # each test clip once, not once per augmented copy
