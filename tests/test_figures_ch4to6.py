"""The figures of chapters 4-6 (training, results, protocols) and the tables and numbers those
chapters compute, on tiny fabricated records and folds."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import smallest_text
from matplotlib.figure import Figure

from learnet_lite import figures, profiles, results, tables

SMOKE = profiles.load("smoke")
CASME2 = ["disgust", "fear", "happiness", "others", "repression", "sadness", "surprise"]
SMIC = ["disgust", "fear", "happiness", "sadness", "surprise"]
pytestmark = pytest.mark.usefixtures("legible_figures")


def write(folder, dataset, labels, protocol, y_true, y_pred, *, fold=0, n_folds=1, seed=0, profile="smoke",
          variant="bilen", extra=None):
    rec = results.make_record(dataset=dataset, protocol=protocol, model="learnet", profile=profile, variant=variant,
                              seed=seed, fold=fold, y_true=y_true, y_pred=y_pred, labels=labels,
                              sizes={"train_clips": 8, "train_images": 16, "test_clips": len(y_true)},
                              device="cpu", wall_time_s=30.0, n_folds=n_folds, extra=extra)
    return results.write(rec, folder)


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    """``tmp/smoke``: casme2 loso in 2 folds (3 of 4 right), smic paper (1 of 2 right);
    ``tmp/paper``: one casme2 paper-profile run, as the committed GPU records."""
    write(tmp_path, "casme2", CASME2, "loso", ["disgust", "happiness"], ["disgust", "happiness"], fold=0, n_folds=2)
    write(tmp_path, "casme2", CASME2, "loso", ["others", "happiness"], ["others", "disgust"], fold=1, n_folds=2)
    write(tmp_path, "smic", SMIC, "paper", ["fear", "surprise"], ["fear", "fear"])
    write(tmp_path, "casme2", CASME2, "paper", ["fear", "fear"], ["fear", "fear"], profile="paper")
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)  # where the paper profile's records are read
    return tmp_path


# --- figures ---------------------------------------------------------------------------------------------


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_heatmap_writes_each_share_in_its_cell():
    ax = Figure().subplots()
    image = figures.heatmap(ax, [[1.0, 0.0], [0.25, 0.75]], ["a", "b"], ["x", "y"], xlabel="cols", ylabel="rows",
                            labels_on_top=True)
    assert image.get_clim() == (0, 1)
    assert texts(ax) == ["1.00", "0.00", "0.25", "0.75"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_xlabel() == "cols" and ax.xaxis.get_label_position() == "top"


def test_learning_curves_mean_over_folds():
    histories = [{"loss": [2.0, 1.0], "val_loss": [2.5, 2.0], "accuracy": [0.2, 0.6], "val_accuracy": [0.1, 0.3]},
                 {"loss": [1.0, 0.0], "val_loss": [1.5, 1.0], "accuracy": [0.4, 0.8], "val_accuracy": [0.3, 0.5]}]
    fig = figures.learning_curves(histories, "synthetic twin", model="learnet", dataset="casme2", protocol="loso",
                                  profile="smoke", chance=0.4)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss, acc = fig.axes
    np.testing.assert_allclose(loss.lines[0].get_ydata(), [1.5, 0.5])  # training, mean of the two folds
    np.testing.assert_allclose(acc.lines[1].get_ydata(), [0.2, 0.4])  # validation
    assert acc.lines[2].get_ydata()[0] == 0.4  # the largest class
    assert "(synthetic twin)" in fig._suptitle.get_text() and "protocol loso" in fig._suptitle.get_text()
    no_val = figures.learning_curves([{"loss": [1, 0], "accuracy": [0, 1], "val_loss": [], "val_accuracy": []}],
                                     "licensed data", model="learnet", dataset="smic", protocol="paper",
                                     profile="book", chance=0.3)
    assert len(no_val.axes[0].lines) == 1 and "(licensed data)" in no_val._suptitle.get_text()


def test_confusion_shows_the_share_of_each_true_class():
    fig = figures.confusion([[3, 1], [0, 2]], ["neg", "pos"], "synthetic twin", dataset="smic_2class",
                            protocol="loso")
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # the matrix and its colorbar
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0, 1]])
    assert texts(ax) == ["0.75", "0.25", "0.00", "1.00"]
    assert ax.get_title() == "smic_2class (synthetic twin), loso: pooled confusion"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")


def test_confusion_as_printed_beside_ours_or_the_command(folder):
    figs = {f["number"]: f for f in tables.figs_beside_paper(tables.records_beside_paper(SMOKE, folder))}
    fig = figures.confusion_as_printed(**figs[8], source="synthetic twins", profile="smoke")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    printed, ours = fig.axes
    assert printed.get_title() == "Fig. 8 as printed (paper, casme2)"
    assert ours.get_title() == "ours (synthetic twins), loso"
    assert printed.get_xlabel() == "TRUE LABEL" and ours.get_ylabel() == "PREDICTED LABEL"
    assert fig._suptitle.get_text() == "Fig. 8: casme2; ours on synthetic twins"
    fig = figures.confusion_as_printed(**figs[7], source="licensed data", profile="smoke")
    assert not fig.axes[1].axison and "--profile smoke" in texts(fig.axes[1])[0]
    assert "ours on licensed data" in fig._suptitle.get_text()


def test_figures_draw_at_the_column_width_in_a_style_that_does_not_leak():
    before = dict(plt.rcParams)
    scores = pd.DataFrame({"accuracy": [0.5, 0.9], "uar": [0.4, 0.8]}, index=["loso", "paper"])
    fig = figures.scores_by_protocol(scores, "synthetic twin", model="learnet", dataset="casme2", profile="smoke",
                                     chance=0.3, chance_uar=0.2)
    assert fig.get_figwidth() == figures.COLUMN_IN and fig.dpi == figures.DPI
    assert smallest_text(fig) >= figures.MIN_FONT_PT and figures.MIN_FONT_PT * figures.DPI / 72 >= 9
    assert fig.axes[0].xaxis.get_ticklabels()[0].get_fontsize() == figures.STYLE["xtick.labelsize"]
    assert dict(plt.rcParams) == before  # the style is the figure's, not the session's


def test_scores_by_protocol_bars():
    scores = pd.DataFrame({"accuracy": [0.9, 0.5, 0.2], "uar": [0.8, 0.4, 0.1]},
                          index=pd.Index(["paper", "loso", tables.APEX_RUN], name="run"))
    fig = figures.scores_by_protocol(scores, "synthetic twin", model="learnet", dataset="casme2", profile="smoke",
                                     chance=0.3, chance_uar=1 / 7)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [0.9, 0.5, 0.2, 0.8, 0.4, 0.1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["paper", "loso", "loso, apex frame"]
    assert ax.get_title() == "learnet on casme2 (synthetic twin), profile smoke"


# --- the results chapter -----------------------------------------------------------------------------------


def test_records_beside_paper_reads_both_profiles(folder):
    found = tables.records_beside_paper(SMOKE, folder)
    assert (found.profile, found.variant) == ("smoke", "bilen")
    assert len(found.records) == 3 and len(found.gpu) == 1
    assert found.current == {} and found.gpu_current == {}  # no fingerprints in these records
    assert tables.records_numbers(found) == {"n_records": 3, "n_gpu_records": 1, "n_other_data": 4,
                                             "profile_name": "smoke", "data_source": found.source}
    paper_self = tables.records_beside_paper(profiles.load("paper"), folder)
    assert len(paper_self.records) == 1 and paper_self.gpu.empty  # its own records are the first ones
    assert tables.records_beside_paper(SMOKE, folder / "missing").records.empty


def test_data_source_names_what_is_licensed(monkeypatch):
    placed = {"casme2"}
    monkeypatch.setattr(profiles, "dataset_folder", lambda d: (None, d in placed))
    assert tables.data_source(["casme", "casme2"]) == "licensed copies of casme2 and the twins of the others"
    assert tables.data_source(["casme2"]) == "licensed data"
    assert tables.data_source(["smic"]) == "synthetic twins"


def test_paper_tables_and_their_numbers(folder):
    found = tables.records_beside_paper(SMOKE, folder)
    t3, t3_gpu = tables.paper_tables("table3", found)
    t4, t4_gpu = tables.paper_tables("table4", found)
    learnet = t3_gpu[(t3_gpu.model == "learnet") & (t3_gpu.dataset == "casme2")].iloc[0]
    assert learnet.acc_paper == pytest.approx(100.0)  # the paper profile's own table
    assert tables.table_numbers(t3, t4) == {"cells_run": 2, "casme2_loso": "75.0 %", "smic2_loso": "not run",
                                            "smic2_paper_acc": 91.09, "casme2_paper_acc": 76.57}
    found = tables.records_beside_paper(profiles.load("paper"), folder)
    assert tables.paper_tables("table3", found)[1] is None


def test_styled_table_and_the_command_that_fills_it(folder):
    t3, _ = tables.paper_tables("table3", tables.records_beside_paper(SMOKE, folder))
    shown = tables.styled_beside_paper(t3).data
    assert list(shown.columns) == ["method", "dataset", "published (%)", "ours, random split (%)",
                                   "ours, leaky split (%)", "ours, LOSO (%)", "ours, k-fold (%)"]   # no notes
    row = shown[(shown.method == "LEARNet") & (shown.dataset == "casme2\u00a0†")].iloc[0]
    assert row["published (%)"] == "76.6"   # 76.57, rounded for reading
    # ours: the accuracy, ours minus the published number with a real minus sign; under it the interval and runs
    # (two folds of records without per-image predictions: 2 units, fewer than an interval needs)
    assert row["ours, LOSO (%)"] == "75.0\u00a0(\u22121.6)<br><small>no interval, 2\u00a0runs</small>"
    assert row["ours, random split (%)"] == "missing: run"
    # made before fingerprints: not shown to be of the data now in use; the dataset is marked, the notes count
    assert "LEARNet on casme2, 2/2 records" in tables.beside_paper_notes(t3)
    quoted = shown[shown.method.str.endswith("*")].set_index("method")
    assert quoted.loc["CNN-LSTN\u00a0*", "ours, LOSO (%)"] == "–"   # not implemented: nothing of ours is missing
    assert (quoted.loc["MDMO-SVM\u00a0*", "ours, LOSO (%)"] == "missing: run").all()   # ours to run
    gpu = tables.styled_beside_paper(t3, "paper").data
    assert (gpu["ours, random split (%)"] == "missing: GPU run").any()
    notes = tables.beside_paper_notes(t3)
    assert "LBP-TOP-SVM: [6] Zhao" in notes and "random split = `paper`" in notes and "k-fold = `kfold`" in notes
    assert "We run LBP-TOP-SVM, LBP-TOP-ELM, MDMO-SVM ourselves" in notes and "CNN-LSTN" in notes
    scores = tables.styled_scores(t3).data   # UF1/UAR: a small table of the rows run under loso
    assert list(scores.columns) == ["method", "dataset", "classes", "UF1, LOSO", "UAR, LOSO", "runs"]
    assert len(scores) == 1 and scores["UF1, LOSO"].iloc[0].count(".") == 1 and len(scores["UF1, LOSO"].iloc[0]) == 5
    assert tables.styled_scores(t3[t3.quoted.astype(bool)]) is None
    command = tables.fill_all_command(t3, "smoke")
    assert command.startswith("learnet-lite reproduce --profile smoke --datasets casme casme2 casme_sq --models ")
    assert "lbptop-svm" in command and "mdmo-svm" in command   # the quoted rows we run are filled too
    assert "vgg16" not in command   # not the smoke profile's: the paper profile's cells
    paper_rows = tables.styled_beside_paper(t3, "paper").data.set_index("method")
    assert (paper_rows.loc["MDMO-SVM\u00a0*", "ours, LOSO (%)"] == "missing: run").all()   # no GPU needed
    assert command.endswith("--protocols paper paper-leaky loso kfold")
    assert tables.fill_all_command(t3, "paper").endswith(" --device cuda")
    assert tables.fill_all_command(t3[t3.method == "CNN-LSTN"], "smoke") is None


def test_show_displays_the_table_then_the_command(folder, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs: shown.extend(objs))
    t3, _ = tables.paper_tables("table3", tables.records_beside_paper(SMOKE, folder))
    tables.show_beside_paper(t3, "smoke")
    assert type(shown[0]).__name__ == "Styler" and "LBP-TOP-SVM: [6] Zhao" in shown[1].data  # the notes under it
    assert type(shown[3]).__name__ == "Styler"  # UF1 and UAR under loso
    assert "`learnet-lite reproduce --profile smoke" in shown[-1].data and "*missing*" in shown[-1].data
    shown.clear()
    tables.show_paper_profile(None, "paper")
    tables.show_paper_profile(None, "smoke")
    assert "own profile is `paper`" in shown[0].data and "No `paper`-profile records" in shown[1].data


def test_figs_beside_paper_says_what_each_shows(folder):
    figs = tables.figs_beside_paper(tables.records_beside_paper(SMOKE, folder))
    assert [f["dataset"] for f in figs] == ["casme", "casme2", "casme_sq", "smic"]
    assert figs[0]["ours"] is None and list(figs[1]["ours"].columns) == list(figs[1]["printed"].columns)
    assert tables.figs_shown(figs) == "Fig. 7: not run, Fig. 8: loso, Fig. 9: not run, Fig. 10: paper"


def test_current_data_asks_only_for_fingerprinted_datasets(monkeypatch):
    from learnet_lite import inputs

    asked = []
    monkeypatch.setattr(inputs, "current_fingerprints", lambda p, ds: asked.append((p, ds)) or {d: "x" for d in ds})
    records = pd.DataFrame({"dataset": ["smic", "casme2", "casme2"], "data_fingerprint": [None, "a", "b"]})
    assert results.current_data(records, "smoke") == {"casme2": "x"} and asked == [("smoke", ["casme2"])]
    assert results.current_data(pd.DataFrame(), "smoke") == {}


# --- the training and protocols chapters -------------------------------------------------------------------


def prepared(emotions, classes, dataset="casme2"):
    df = pd.DataFrame({"emotion": emotions, "subject": [f"s{i % 3}" for i in range(len(emotions))]})
    return SimpleNamespace(dataset=dataset, df=df, classes=classes)


def test_clip_numbers_and_chance_levels():
    prep = prepared(["fear", "fear", "fear", "disgust"], CASME2)
    assert tables.chance_levels(prep) == (0.75, 1 / 7)
    numbers = tables.clip_numbers(prep, SMOKE)
    assert numbers["n_clips"] == 4 and numbers["n_subjects"] == 3 and numbers["n_classes"] == 7
    assert numbers["paper_clips"] == 251 and numbers["paper_clips_source"] == "Table II"
    assert numbers["class_names"].startswith("disgust, fear") and numbers["dataset_name"] == "casme2"
    two = tables.clip_numbers(prepared(["negative", "positive"], ["negative", "positive"], "smic_2class"), SMOKE)
    assert two["paper_clips"] == 35 and two["paper_clips_source"] == "the text of Sec. IV-B-4"


def test_run_numbers_of_the_records_of_a_run(tmp_path):
    paths = [write(tmp_path, "casme2", CASME2, "loso", ["fear"], ["fear"], fold=k, n_folds=2) for k in (0, 1)]
    runs = results.read_records(paths)
    assert list(runs["path"]) == [str(p) for p in paths]
    assert tables.run_numbers(runs, SMOKE) == {"n_folds": 2, "epochs": SMOKE.epochs, "train_images": 32,
                                               "minutes": 1.0, "device_used": "cpu"}


def test_near_copies_per_protocol():
    def fold(test, copied, both):
        return SimpleNamespace(info={"near_duplicates": {"test_images": test, "test_images_with_copy_in_train": copied,
                                                         "subjects_on_both_sides": both}})

    dups = tables.near_copies({"paper": [fold(10, 0, 4)], "paper-leaky": [fold(10, 7, 5)],
                               "loso": [fold(4, 0, 0), fold(6, 0, 0)], "kfold": [fold(5, 0, 3), fold(5, 0, 2)]})
    assert list(dups.index) == ["paper", "paper-leaky", "loso", "kfold"]
    assert dups.loc["paper-leaky", "share"] == 0.7 and dups.loc["loso", "folds"] == 2
    numbers = tables.near_copy_numbers(dups, SMOKE)
    assert numbers == {"leaky_share": 0.7, "paper_share": 0.0, "loso_share": 0.0, "paper_subjects_both": 4.0,
                       "loso_subjects_both": 0.0, "kfold_share": 0.0, "kfold_subjects_both": 2.5,
                       "kfold_folds": SMOKE.kfold_folds, "copies": 2}


def test_protocol_scores_pool_each_run(tmp_path):
    runs = {p: [write(tmp_path, "casme2", CASME2, p, ["fear", "fear"], ["fear", y])] for p, y in
            (("paper", "fear"), ("paper-leaky", "fear"), ("loso", "disgust"), ("kfold", "fear"))}
    apex = [write(tmp_path, "casme2", CASME2, "loso", ["fear", "sadness"], ["disgust", "disgust"], fold=k, n_folds=2,
                  variant="apex-frame") for k in (0, 1)]
    scores = tables.protocol_scores(runs, apex)
    assert list(scores.index) == ["paper", "paper-leaky", "loso", "kfold", tables.APEX_RUN]
    assert scores.loc["loso", "accuracy"] == 0.5 and scores.loc[tables.APEX_RUN, "folds"] == 2
    numbers = tables.score_numbers(scores, prepared(["fear", "fear", "disgust"], CASME2))
    assert numbers["acc_paper"] == 1.0 and numbers["acc_apex"] == 0.0 and numbers["uar_loso"] == 0.5
    assert numbers["chance"] == pytest.approx(2 / 3) and numbers["chance_uar"] == pytest.approx(1 / 7)


def test_leak_gain_pairs_the_protocols_by_seed(tmp_path):
    gpu = {"device_name": "NVIDIA H200"}
    for seed, leaky in ((0, "fear"), (1, "fear"), (2, None)):
        write(tmp_path, "casme2", CASME2, "paper", ["fear", "fear"], ["fear", "disgust"], seed=seed, extra=gpu)
        if leaky:
            write(tmp_path, "casme2", CASME2, "paper-leaky", ["fear", "fear"], ["fear", leaky], seed=seed, extra=gpu)
    records = results.load_records(tmp_path)
    gain = tables.leak_gain(records, "bilen")
    row = gain.loc[("casme2", "learnet")]
    assert row.repeats == 2 and row.paper == 0.5 and row["paper-leaky"] == 1.0 and row["leak gain"] == 0.5
    sentence = tables.leak_sentence(gain, records)
    assert sentence.startswith("Over the 2 repeats run under both protocols, paper-leaky scores higher than paper "
                               "in 1 of 1 (dataset, model) cells, by +0.500")
    assert sentence.endswith("; the runs ran on NVIDIA H200.")
    assert tables.leak_gain(records, "apex-frame").empty and tables.leak_gain(pd.DataFrame(), "bilen").empty
    assert "--protocols paper paper-leaky" in tables.leak_sentence(pd.DataFrame(), records)
