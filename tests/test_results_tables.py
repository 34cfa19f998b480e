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
                        " --protocols paper paper-leaky kfold")
    vgg = t[(t.method == "VGG-16") & (t.dataset == "casme2")].iloc[0]
    assert "--models vgg16 --protocols paper paper-leaky loso kfold" in vgg.fill
    # the quoted handcrafted rows are ours to run; CNN-LSTN, which we do not implement, has nothing to fill
    quoted = t[t.quoted.astype(bool)].set_index("method")
    assert quoted.loc["CNN-LSTN", "fill"] == "" and quoted.acc_loso.isna().all()
    assert "--models mdmo-svm --protocols paper paper-leaky loso kfold" in quoted.loc["MDMO-SVM"].iloc[-1]["fill"]
    assert tables.paper_table("table3", records, "book").acc_loso.isna().all()  # other profile: nothing


def test_table4_two_class_rows_read_smic_2class_records(records, tmp_path):
    t = tables.paper_table("table4", records, "smoke")
    five = t[(t.method == "LEARNet") & (t.classes == 5)].iloc[0]
    two = t[(t.method == "LEARNet") & (t.classes == 2)].iloc[0]
    assert five.acc_paper == pytest.approx(50.0) and five.dataset == "smic"
    # the 5-class smic record does not fill the 2-class row; its note names the run that does
    assert two.dataset == "smic_2class" and two.paper_dataset == "smic" and np.isnan(two.acc_paper)
    assert two.fill == ("learnet-lite reproduce --profile smoke --datasets smic_2class --models learnet"
                        " --protocols paper paper-leaky loso kfold")
    write(tmp_path, "smic_2class", ["negative", "positive"], "paper", ["negative", "negative", "positive", "positive"],
          ["negative", "positive", "positive", "positive"])
    both = results.load_records(tmp_path)
    t = tables.paper_table("table4", both, "smoke")
    two = t[(t.method == "LEARNet") & (t.classes == 2)].iloc[0]
    assert two.acc_paper == pytest.approx(75.0) and two.diff_paper == pytest.approx(75.0 - 91.09)
    assert two.fill.endswith("--datasets smic_2class --models learnet --protocols paper-leaky loso kfold")
    five = t[(t.method == "LEARNet") & (t.classes == 5)].iloc[0]
    assert five.acc_paper == pytest.approx(50.0)  # still the 5-class record alone
    _, ours, _ = tables.confusion_beside_paper(10, both, "smoke")  # Fig. 10: the 5 classes only
    assert list(ours.columns) == ["disgust", "fear", "happy", "sad", "surprise"]


def test_tables_as_shown_read_ours_beside_the_published(records):
    t = tables.paper_table("table4", records, "smoke")
    shown = tables.styled_beside_paper(t).data
    assert list(shown.columns) == ["method", "dataset", "subset", "published (%)",
                                   "ours, random split (%)", "ours, leaky split (%)", "ours, LOSO (%)",
                                   "ours, k-fold (%)"]
    five = shown[(shown.method == "LEARNet") & (shown.subset == "SMIC-II")].iloc[0]   # the 5 classes
    # one split of 2 test clips, without per-image predictions: one fold, so no interval
    assert five["published (%)"] == "81.6"
    assert five["ours, random split (%)"] == "50.0\u00a0(\u221231.6)<br><small>no interval, 1\u00a0run</small>"
    assert five["ours, LOSO (%)"] == "missing: run"
    assert tables.styled_scores(t) is None   # no loso run of Table IV's rows
    # a row whose class count differs from our records' names what is missing
    two = (t.method == "LEARNet") & (t.classes == 2)
    t.loc[two, "fill"] = "not run: our smic_2class records have 3 classes, this row 2"
    shown = tables.styled_beside_paper(t).data
    assert shown[(shown.method == "LEARNet") & (shown.subset == "SMIC-I")]["ours, LOSO (%)"].iloc[0] == (
        "missing: 2-class run")
    assert "Classes: smic 5, smic_2class 2." in tables.beside_paper_notes(t)


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


def loso_records(folder, model, variant, right):
    """LOSO on casme2 over 6 subjects (one fold each, 2 clips): ``right[i]`` clips right in fold i."""
    for fold, hits in enumerate(right):
        subject = f"s{fold}"
        y_true = ["disgust", "happiness"]
        y_pred = y_true[:hits] + ["others"] * (2 - hits)
        rec = results.make_record(dataset="casme2", protocol="loso", model=model, profile="smoke", variant=variant,
                                  seed=0, fold=fold, y_true=y_true, y_pred=y_pred, labels=CASME2, sizes={},
                                  device="cpu", wall_time_s=1.0, n_folds=len(right), test_subject=subject,
                                  extra={"test_clips": [f"{subject}/a", f"{subject}/b"], "test_subjects": [subject] * 2,
                                         "test_true": y_true, "test_pred": y_pred})
        results.write(rec, folder)


def test_cells_carry_intervals_and_handcrafted_rows_read_their_own_records(tmp_path):
    loso_records(tmp_path, "learnet", "bilen", [2, 2, 1, 2, 1, 2])
    loso_records(tmp_path, "lbptop-svm", "frames", [1, 1, 0, 1, 0, 1])  # a handcrafted method's variant
    records = results.load_records(tmp_path)
    t = tables.paper_table("table3", records, "smoke").set_index(["method", "dataset"])
    learnet, lbp = t.loc[("LEARNet", "casme2")], t.loc[("LBP-TOP-SVM", "casme2")]
    assert learnet.acc_loso == pytest.approx(100 * 10 / 12) and lbp.acc_loso == pytest.approx(100 * 4 / 12)
    assert lbp.diff_loso == pytest.approx(100 * 4 / 12 - 57.16)  # beside the number the paper quotes
    assert learnet.over_loso == "test subjects" and learnet.runs_loso == 6
    assert learnet.low_loso < learnet.acc_loso < learnet.high_loso <= 100
    shown = tables.styled_beside_paper(t.reset_index()).data.set_index(["method", "dataset"])
    cell = shown.loc[("LEARNet", "casme2"), "ours, LOSO (%)"]
    assert cell.startswith("83.3\u00a0(+6.8)<br><small>[") and cell.endswith("], 6\u00a0runs</small>")
    assert "The intervals resample LOSO: subject" in tables.beside_paper_notes(t.reset_index())
    # paired: LEARNet is right on one clip more than LBP-TOP-SVM in every subject: +50 points, no spread
    paired = tables.paired_table(records, "smoke", "bilen")
    row = paired.set_index("rival").loc["lbptop-svm"]
    assert row.difference == pytest.approx(50.0) and row.low == pytest.approx(50.0) and row.high == pytest.approx(50)
    assert row.over == "test subjects" and row.runs == 6
    assert row.paper_margin == pytest.approx(76.57 - 57.16) and np.isnan(row.claimed)
    assert tables.verdict(row.low, row.high) == "ahead"
    assert "ahead" in tables.styled_paired(paired).to_html()


def test_the_papers_claims_and_vgg_cells_are_computed_from_its_tables():
    claims = tables.claimed_margins().set_index("dataset")
    # the abstract's margins over ResNet against the margins of its own Tables III-IV
    assert claims.loc["casme", "margin"] == 4.03 and claims.loc["casme", "table_margin"] == pytest.approx(80.62 - 76.39)
    assert claims.loc["smic_2class", "table_margin"] == pytest.approx(91.09 - 88.27)
    vgg = tables.vgg_against_majority().set_index(["method", "dataset"])
    casme = vgg.loc[("VGG-16", "casme")]
    assert casme.largest_class == "tension" and (casme.largest_clips, casme.clips) == (67, 183)
    assert casme.largest_share == pytest.approx(100 * 67 / 183)
    sq = vgg.loc[("VGG-19", "casme_sq")]
    assert sq.largest_class == "happiness" and sq.largest_share == pytest.approx(100 * 151 / 341)
    assert "VGG-16 smic" in casme.same_as   # SMIC's 5-class VGG cell prints CASME-I's number
    assert vgg.loc[("VGG-19", "casme_sq"), "same_as"] == ""


def test_a_verdict_says_what_an_interval_of_a_difference_shows():
    assert tables.verdict(1.0, 9.0) == "ahead" and tables.verdict(-9.0, -1.0) == "behind"
    assert tables.verdict(-1.0, 9.0) == "not resolved" and tables.verdict(float("nan"), float("nan")) == "too few units"
