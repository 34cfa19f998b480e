"""Tables III/IV and Figs. 7-10 beside the paper, from fabricated run records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from learnet_lite import results, tables

CASME2 = ["disgust", "fear", "happiness", "others", "repression", "sadness", "surprise"]
SMIC = ["disgust", "fear", "happiness", "sadness", "surprise"]


def write(folder, dataset, labels, protocol, y_true, y_pred, fold=0, n_folds=1):
    rec = results.make_record(dataset=dataset, protocol=protocol, model="learnet", profile="smoke",
                              variant="bilen", seed=0, fold=fold, y_true=y_true, y_pred=y_pred, labels=labels,
                              sizes={}, device="cpu", wall_time_s=1.0, n_folds=n_folds)
    results.write(rec, folder)


@pytest.fixture()
def records(tmp_path):
    # casme2 loso, 2 folds: 3 of 4 right; smic paper: 1 of 2 right
    write(tmp_path, "casme2", CASME2, "loso", ["disgust", "happiness"], ["disgust", "happiness"], 0, 2)
    write(tmp_path, "casme2", CASME2, "loso", ["others", "happiness"], ["others", "disgust"], 1, 2)
    write(tmp_path, "smic", SMIC, "paper", ["fear", "surprise"], ["fear", "fear"])
    return results.load_records(tmp_path)


def test_table3_puts_ours_beside_the_paper_and_names_what_is_missing(records):
    t = tables.paper_table("table3", records, "smoke")
    row = t[(t.method == "LEARNet") & (t.dataset == "casme2")].iloc[0]
    assert row.accuracy == pytest.approx(76.57)
    assert row.acc_loso == pytest.approx(75.0) and row.diff_loso == pytest.approx(75.0 - 76.57)
    assert np.isnan(row.acc_paper)
    assert row.fill == ("learnet-lite reproduce --profile smoke --datasets casme2 --models learnet"
                        " --protocols paper paper-leaky")
    vgg = t[(t.method == "VGG-16") & (t.dataset == "casme2")].iloc[0]
    assert "--models vgg16 --protocols paper paper-leaky loso" in vgg.fill
    quoted = t[t.quoted.astype(bool)]
    assert len(quoted) and (quoted.fill == "").all() and quoted.acc_loso.isna().all()
    assert tables.paper_table("table3", records, "book").acc_loso.isna().all()  # other profile: nothing


def test_table4_two_class_rows_read_smic_2class_records(records, tmp_path):
    t = tables.paper_table("table4", records, "smoke")
    five = t[(t.method == "LEARNet") & (t.classes == 5)].iloc[0]
    two = t[(t.method == "LEARNet") & (t.classes == 2)].iloc[0]
    assert five.acc_paper == pytest.approx(50.0) and five.dataset == "smic"
    # the 5-class smic record does not fill the 2-class row; its note names the run that does
    assert two.dataset == "smic_2class" and two.paper_dataset == "smic" and np.isnan(two.acc_paper)
    assert two.fill == ("learnet-lite reproduce --profile smoke --datasets smic_2class --models learnet"
                        " --protocols paper paper-leaky loso")
    write(tmp_path, "smic_2class", ["negative", "positive"], "paper", ["negative", "negative", "positive", "positive"],
          ["negative", "positive", "positive", "positive"])
    both = results.load_records(tmp_path)
    t = tables.paper_table("table4", both, "smoke")
    two = t[(t.method == "LEARNet") & (t.classes == 2)].iloc[0]
    assert two.acc_paper == pytest.approx(75.0) and two.diff_paper == pytest.approx(75.0 - 91.09)
    assert two.fill.endswith("--datasets smic_2class --models learnet --protocols paper-leaky loso")
    five = t[(t.method == "LEARNet") & (t.classes == 5)].iloc[0]
    assert five.acc_paper == pytest.approx(50.0)  # still the 5-class record alone
    _, ours, _ = tables.confusion_beside_paper(10, both, "smoke")  # Fig. 10: the 5 classes only
    assert list(ours.columns) == ["disgust", "fear", "happy", "sad", "surprise"]


def test_tables_as_shown_read_ours_beside_the_published(records):
    t = tables.paper_table("table4", records, "smoke")
    shown = tables.styled_beside_paper(t).data
    assert list(shown.columns) == ["method", "dataset", "subset", "classes", "published (%)",
                                   "ours, random split (%)", "ours, leaky split (%)", "ours, LOSO (%)", "data"]
    five = shown[(shown.method == "LEARNet") & (shown.classes == 5)].iloc[0]
    assert five["published (%)"] == "81.6" and five["ours, random split (%)"] == "50.0\u00a0(\u221231.6) n=1"
    assert five["ours, LOSO (%)"] == "missing: run"
    assert tables.styled_scores(t) is None   # no loso run of Table IV's rows
    # a row whose class count differs from our records' names what is missing
    two = (t.method == "LEARNet") & (t.classes == 2)
    t.loc[two, "fill"] = "not run: our smic_2class records have 3 classes, this row 2"
    shown = tables.styled_beside_paper(t).data
    assert shown[(shown.method == "LEARNet") & (shown.classes == 2)]["ours, LOSO (%)"].iloc[0] == "missing: 2-class run"


def test_runs_and_data_used_as_shown(records):
    runs = results.read_records(records["path"])
    shown = tables.style_runs(runs)
    assert {"seed", "fold", "test subject", "accuracy", "device", "time (s)"} <= set(shown.data.columns)
    assert not any("_" in c for c in shown.data.columns)   # headers wrap at spaces
    assert "0.500" in shown.to_html() and "1.0" in shown.to_html()


def test_confusion_in_the_papers_order_and_orientation(records):
    printed, ours, protocol = tables.confusion_beside_paper(8, records, "smoke")
    assert protocol == "loso"
    assert list(printed.columns) == list(ours.columns) == list(ours.index)
    assert list(printed.columns)[:3] == ["disgust", "fear", "happy"]
    # columns are true classes: happiness (printed 'happy') was right once, called disgust once
    assert ours.loc["happy", "happy"] == pytest.approx(0.5) and ours.loc["disgust", "happy"] == pytest.approx(0.5)
    assert ours["disgust"].sum() == pytest.approx(1) and ours["fear"].sum() == 0  # absent class: zeros
    _, none, p = tables.confusion_beside_paper(7, records, "smoke")  # no casme records
    assert none is None and p is None


def test_tables_mark_records_made_before_fingerprints_as_other_data(records):
    # these records carry no data fingerprint (like the committed paper-profile ones): not current
    t = tables.paper_table("table3", records, "smoke", current={})
    row = t[(t.method == "LEARNet") & (t.dataset == "casme2")].iloc[0]
    assert row.data == row.data_loso == "other 2/2"
    vgg = t[(t.method == "VGG-16") & (t.dataset == "casme2")].iloc[0]
    assert pd.isna(vgg.data)  # nothing of ours in the row: nothing to mark
    assert t.data.notna().sum() == 1
