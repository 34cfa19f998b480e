"""Run records: round trip, no overwrite without force, atomic writes, tables from records."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from learnet_lite import metrics, paper, results, tables

LABELS = ["disgust", "happiness", "surprise"]


def run(seed=0, fold=0, protocol="paper", n_folds=1, y_true=None, y_pred=None, **kw):
    y_true = y_true if y_true is not None else ["disgust", "happiness", "surprise", "happiness"]
    y_pred = y_pred if y_pred is not None else ["disgust", "happiness", "happiness", "happiness"]
    args = dict(dataset="casme2", protocol=protocol, model="learnet", profile="smoke",
                variant="bilen", seed=seed, fold=fold, y_true=y_true, y_pred=y_pred, labels=LABELS,
                sizes={"train_clips": 10, "val_clips": 4, "test_clips": len(y_true),
                       "train_images": np.int64(140)},
                device="cpu", wall_time_s=1.5, n_folds=n_folds)
    args.update(kw)
    return results.make_record(**args)


def test_record_round_trip(tmp_path):
    rec = run(extra={"history": np.array([0.5, 0.25])})
    recorded = results.record_path(tmp_path, **{k: rec[k] for k in results.IDENTITY})  # how a grid skips a run
    assert not recorded.is_file()
    path = results.write(rec, tmp_path)
    assert path == tmp_path / "smoke" / "casme2" / "paper" / "learnet" / "bilen-seed0-fold000.json"
    assert recorded == path and recorded.is_file()
    back = results.read(path)
    assert back == json.loads(json.dumps(rec))
    assert back["metrics"]["accuracy"] == pytest.approx(3 / 4)
    assert back["confusion"] == [[1, 0, 0], [0, 2, 0], [0, 1, 0]] and back["labels"] == LABELS
    assert back["sizes"]["train_images"] == 140 and back["extra"]["history"] == [0.5, 0.25]
    assert set(back["versions"]) >= {"torch", "torchvision", "numpy", "learnet_lite"}
    assert set(back["git"]) == {"commit", "dirty"}
    frame = results.load_records(tmp_path)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row.dataset, row.protocol, row.seed, row.fold) == ("casme2", "paper", 0, 0)
    assert row.uar == pytest.approx((1 + 1 + 0) / 3) and row.train_clips == 10
    assert row.path == str(path)


def test_existing_record_is_never_overwritten_without_force(tmp_path):
    path = results.write(run(), tmp_path)
    before = path.read_text()
    with pytest.raises(FileExistsError, match=str(path)):
        results.write(run(y_pred=["surprise"] * 4), tmp_path)
    assert path.read_text() == before
    results.write(run(y_pred=["surprise"] * 4), tmp_path, force=True)
    assert results.read(path)["metrics"]["accuracy"] == pytest.approx(1 / 4)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    rec = run()
    rec["extra"] = {"model": object()}  # not JSON: json.dump fails half way
    with pytest.raises(TypeError, match="cannot store"):
        results.write(rec, tmp_path)
    folder = results.record_path(tmp_path, **{k: rec[k] for k in results.IDENTITY}).parent
    assert list(folder.iterdir()) == []  # neither the record nor a temp file
    # a crash at the rename keeps the old record whole
    path = results.write(run(), tmp_path)
    before = path.read_text()

    def crash(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        results.write(run(y_pred=["surprise"] * 4), tmp_path, force=True)
    assert path.read_text() == before
    assert [p.name for p in folder.iterdir()] == [path.name]


def test_same_inputs_give_identical_records_apart_from_times():
    a, b = run(), run()
    strip = lambda r: {k: v for k, v in r.items() if k not in results.TIME_KEYS}  # noqa: E731
    assert strip(a) == strip(b)


def test_bad_identity():
    with pytest.raises(ValueError, match="dataset='../x'"):
        results.record_path("r", "../x", "paper", "learnet", "smoke", "bilen", 0, 0)
    with pytest.raises(ValueError, match="seed=-1"):
        results.record_path("r", "casme2", "paper", "learnet", "smoke", "bilen", -1, 0)
    no_fold = {k: v for k, v in run().items() if k != "fold"}
    with pytest.raises(ValueError, match="lacks fold"):
        results.write(no_fold, "r")


def test_unreadable_record_names_its_file(tmp_path):
    bad = tmp_path / "smoke" / "x.json"
    bad.parent.mkdir()
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="x.json"):
        results.load_records(tmp_path)


def test_aggregate_pools_folds_per_repeat_and_averages_repeats(tmp_path):
    # LOSO, 2 repeats x 3 folds; repeat 1 misses nothing, the truth differs per fold
    folds = [(["disgust", "disgust"], ["disgust", "happiness"]),
             (["happiness"], ["happiness"]),
             (["surprise", "happiness"], ["surprise", "surprise"])]
    for seed in (0, 1):
        for k, (yt, yp) in enumerate(folds):
            yp = yp if seed == 0 else yt  # repeat 1 is perfect
            results.write(run(seed=seed, fold=k, protocol="loso", n_folds=3, y_true=yt, y_pred=yp), tmp_path)
    results.write(run(seed=0), tmp_path)  # a paper-protocol run: its own row
    table = results.aggregate(results.load_records(tmp_path))
    assert len(table) == 2
    loso = table.set_index("protocol").loc["loso"]
    yt = sum((f[0] for f in folds), [])
    yp = sum((f[1] for f in folds), [])
    rep0 = {"accuracy": metrics.accuracy(yt, yp), "uf1": metrics.uf1(yt, yp), "uar": metrics.uar(yt, yp)}
    for m in ("accuracy", "uf1", "uar"):
        assert loso[f"{m}_mean"] == pytest.approx((rep0[m] + 1.0) / 2)
        assert loso[f"{m}_std"] == pytest.approx(np.std([rep0[m], 1.0], ddof=1))
    assert loso["uf1_pooled"] == pytest.approx(metrics.uf1(yt + yt, yp + yt))
    assert loso["repeats"] == 2 and loso["runs"] == 6 and loso["complete"]
    assert loso["devices"] == "cpu"
    # a missing fold is flagged, not silently averaged
    frame = results.load_records(tmp_path)
    partial = results.aggregate(frame[~((frame.protocol == "loso") & (frame.seed == 1) & (frame.fold == 2))])
    assert not partial.set_index("protocol").loc["loso", "complete"]
    assert results.aggregate(pd.DataFrame()).empty


def test_pooled_confusion_aligns_class_orders():
    frame = pd.DataFrame({"labels": [["a", "b"], ["b", "a"]], "confusion": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]})
    cm, order = results.pooled_confusion(frame)
    assert order == ["a", "b"]
    np.testing.assert_array_equal(cm, [[1 + 8, 2 + 7], [3 + 6, 4 + 5]])


def test_paper_tables_transcribed():
    t3, t4 = paper.table("table3"), paper.table("table4")
    learnet = t3[t3.model == "learnet"].set_index("dataset")["accuracy"]
    assert learnet.to_dict() == {"casme": 80.62, "casme2": 76.57, "casme_sq": 76.33}
    assert t3[t3.quoted].method.unique().tolist() == ["LBP-TOP-SVM", "LBP-TOP-ELM", "MDMO-SVM", "CNN-LSTN"]
    assert t4.set_index(["model", "classes"]).loc[("learnet", 2), "accuracy"] == 91.09
    for n, k in ((7, 8), (8, 7), (9, 3), (10, 5)):
        fig = paper.table(f"fig{n}")
        assert len(fig) == k * k and list(fig.columns) == ["dataset", "true", "predicted", "value"]
        # as printed, rates sum to 1 per printed row (titled 'predicted'), up to rounding
        np.testing.assert_allclose(fig.groupby("predicted")["value"].sum(), 1.0, atol=0.021)
        assert any("Orientation" in line for line in paper.source_notes(f"fig{n}"))


def test_beside_paper_puts_ours_next_to_the_paper(tmp_path):
    for seed in (0, 1):
        yp = ["disgust", "happiness", "surprise", "happiness"] if seed else None
        results.write(run(seed=seed, dataset="casme2", y_pred=yp), tmp_path)
    results.write(run(model="resnet18", dataset="casme2"), tmp_path)
    table = results.aggregate(results.load_records(tmp_path))
    t3 = paper.table("table3")
    both = tables.beside_paper(table, t3[t3.dataset == "casme2"]).set_index("method")
    ours = 100 * (3 / 4 + 1) / 2
    assert both.loc["LEARNet", "acc_paper"] == pytest.approx(ours)
    assert both.loc["LEARNet", "diff_paper"] == pytest.approx(ours - 76.57)
    assert both.loc["LEARNet", "repeats_paper"] == 2
    assert both.loc["LEARNet", "not_run"] == "paper-leaky,loso,kfold"
    assert both.loc["ResNet", "our_model"] == "resnet18"
    assert both.loc["ResNet", "acc_paper"] == pytest.approx(75.0)
    assert np.isnan(both.loc["VGG-16", "acc_paper"]) and both.loc["VGG-16", "not_run"] == "paper,paper-leaky,loso,kfold"
    quoted = both.loc["MDMO-SVM"]  # quoted by the paper, run by us: a row to fill
    assert quoted["quoted"] and quoted["our_model"] == "mdmo-svm"
    assert quoted["not_run"] == "paper,paper-leaky,loso,kfold"
    lstn = both.loc["CNN-LSTN"]  # quoted, not implemented: nothing of ours
    assert lstn["quoted"] and pd.isna(lstn["our_model"]) and lstn["not_run"] == ""


def test_paper_figure_as_printed():
    fig = tables.paper_figure(9)
    assert list(fig.index) == list(fig.columns) == ["anger", "disgust", "happy"]
    assert fig.loc["disgust", "anger"] == 0.17  # printed row ANGER (predicted), column DISGUST (true)


def test_a_sent_copy_records_the_commit_it_was_sent_as(tmp_path, monkeypatch):
    monkeypatch.delenv("LEARNET_COMMIT", raising=False)
    assert results.git_state()["commit"]  # this checkout
    monkeypatch.setenv("LEARNET_COMMIT", "abc123")  # wins over a (possibly stale) .git
    assert results.git_state() == {"commit": "abc123", "dirty": None, "source": "LEARNET_COMMIT"}
    monkeypatch.delenv("LEARNET_COMMIT")
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path)  # no .git here
    assert results.git_state() == {"commit": None, "dirty": None}


def on_data(sha, **kw):
    """A run record made on data with fingerprint ``sha`` (as experiment.prepare writes it)."""
    return run(extra={"data": {"fingerprint": {"sha256": sha}}}, **kw)


def test_records_are_marked_by_the_data_they_were_made_on(tmp_path):
    results.write(on_data("aaaa", seed=0), tmp_path)
    results.write(on_data("bbbb", seed=1), tmp_path)  # made on other data
    results.write(run(seed=2), tmp_path)  # made before records carried a fingerprint
    results.write(on_data("cccc", dataset="smic", seed=0), tmp_path)
    frame = results.load_records(tmp_path)
    assert frame.set_index(["dataset", "seed"])["data_fingerprint"].to_dict() == {
        ("casme2", 0): "aaaa", ("casme2", 1): "bbbb", ("casme2", 2): None, ("smic", 0): "cccc"}
    status = results.data_status(frame, {"casme2": "aaaa"}).tolist()
    assert status == ["current", "other data", "no fingerprint", None]  # smic: not checked
    table = results.aggregate(frame, {"casme2": "aaaa", "smic": "cccc"}).set_index("dataset")
    assert table.loc["casme2", "data"] == "other 2/3" and table.loc["casme2", "other_data"] == 2
    assert table.loc["smic", "data"] == "current" and table.loc["smic", "other_data"] == 0
    assert results.aggregate(frame).data.isna().all()  # nothing to compare with: not checked
    # the mark reaches Tables III/IV, per protocol and over the row
    t3 = paper.table("table3")
    t3 = t3[t3.dataset == "casme2"]
    row = tables.beside_paper(table.reset_index(), t3).set_index("method").loc["LEARNet"]
    assert row.data_paper == row.data == "other 2/3" and pd.isna(row.data_loso)
    current = results.aggregate(frame[frame.seed == 0], {"casme2": "aaaa"})
    assert tables.beside_paper(current, t3).set_index("method").loc["LEARNet", "data"] == "current"
    assert tables.beside_paper(results.aggregate(frame), t3).data.isna().all()


def per_image_run(model, seed, fold, subjects, y_true, y_pred, protocol="loso", n_folds=2):
    clips = [f"{s}/c{i}" for i, s in enumerate(subjects)]
    return run(seed=seed, fold=fold, protocol=protocol, n_folds=n_folds, model=model, y_true=y_true, y_pred=y_pred,
               extra={"test_clips": clips, "test_subjects": subjects, "test_true": y_true, "test_pred": y_pred})


def test_intervals_resample_test_subjects_or_repeats_and_paired_differences(tmp_path):
    d, h, s = LABELS
    # LOSO, two folds (subjects A and B): LEARNet right on 2/2 and 1/2, the rival on 1/2 and 0/2
    for model, pred_a, pred_b in (("learnet", [d, h], [s, d]), ("resnet18", [d, d], [d, d])):
        results.write(per_image_run(model, 0, 0, ["A", "A"], [d, h], pred_a), tmp_path)
        results.write(per_image_run(model, 0, 1, ["B", "B"], [s, h], pred_b), tmp_path)
    frame = results.load_records(tmp_path)
    # the per-image columns stand apart from the sizes' counts (test_clips stays the number of test clips)
    assert frame["test_clips"].tolist() == [2] * 4 and frame["image_clip"].iloc[0] == ["A/c0", "A/c1"]
    learnet, rival = frame[frame["model"] == "learnet"], frame[frame["model"] == "resnet18"]
    unit, over = results.units(learnet)
    assert over == "test subjects"
    assert unit.to_dict("list") == {"unit": ["A", "B"], "correct": [2, 1], "total": [2, 2]}
    table = results.aggregate(frame, min_units=2).set_index("model")
    assert table.loc["learnet", "accuracy_pooled"] == 0.75
    # resampled subjects AA, AB, BA, BB: 1, 3/4, 3/4, 1/2
    assert (table.loc["learnet", "accuracy_low"], table.loc["learnet", "accuracy_high"]) == (0.5, 1.0)
    assert table.loc["learnet", "interval_over"] == "test subjects" and table.loc["learnet", "interval_units"] == 2
    assert np.isnan(results.aggregate(frame).set_index("model").loc["learnet", "accuracy_low"])  # 2 of 5 units
    out = results.paired(learnet, rival, min_units=2)
    # learnet 3/4, rival 1/4: one clip more of two in each subject, so +1/2 in every resample
    assert out["difference"] == pytest.approx(0.5) and out["over"] == "test subjects" and out["runs"] == 2
    assert out["low"] == pytest.approx(0.5) and out["high"] == pytest.approx(0.5)
    # records without per-image predictions fall back to folds; random splits with repeats to repeats
    old = tmp_path / "old"
    for seed in range(5):
        results.write(run(seed=seed, y_pred=[d, h, s, d] if seed else None), old)
    unit, over = results.units(results.load_records(old))
    assert over == "repeats" and unit["correct"].tolist() == [0.75] * 5 and unit["total"].tolist() == [1] * 5
    unit, over = results.units(results.load_records(old).query("seed == 0"))
    assert over == "folds" and unit[["correct", "total"]].values.tolist() == [[3, 4]]


def test_paired_refuses_runs_of_other_splits(tmp_path):
    d, h, _ = LABELS
    a = results.write(per_image_run("learnet", 0, 0, ["A", "A"], [d, h], [d, h]), tmp_path)
    b = per_image_run("resnet18", 0, 0, ["A", "A"], [d, h], [d, d])
    b["extra"]["test_clips"] = ["A/c9", "A/c8"]
    b = results.write(b, tmp_path)
    with pytest.raises(ValueError, match="tests other clips"):
        results.paired(results.read_records([a]), results.read_records([b]))
    c = results.write(per_image_run("vgg16", 1, 0, ["A", "A"], [d, h], [d, d]), tmp_path)
    with pytest.raises(ValueError, match="no run on the same seed and fold"):
        results.paired(results.read_records([a]), results.read_records([c]))
    other = per_image_run("mdmo-svm", 0, 0, ["A", "A"], [d, h], [d, d])
    other["extra"]["data"] = {"fingerprint": {"sha256": "made-on-other-twins"}}
    other = results.write(other, tmp_path)
    with pytest.raises(ValueError, match="made on other data"):
        results.paired(results.read_records([a]), results.read_records([other]))
