"""Smoke runs of the training, protocols and results chapters (profile smoke), glued values
checked against what the package computes for the same settings."""

from __future__ import annotations

import pytest

from learnet_lite import profiles

pytestmark = pytest.mark.notebook

SMOKE = profiles.load("smoke")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """This module's own records folder: the results chapter then sees exactly the runs of
    the training and protocols chapters below, whatever other tests ran before."""
    return str(tmp_path_factory.mktemp("training-records"))


def test_training_chapter_trains_every_fold_and_scores(run_notebook, records):
    nb, g = run_notebook("04_training", dataset="casme2", protocol="loso", results_dir=records)
    assert g["dataset_name"] == "casme2"
    assert g["n_folds"] == SMOKE.loso_groups and g["epochs"] == SMOKE.epochs
    assert g["n_classes"] == 7 and g["chance_uniform"] == pytest.approx(1 / 7)
    assert 1 / 7 <= g["chance_majority"] < 1
    assert g["train_images"] > 0 and g["device_used"] in ("cpu", "cuda")
    # the page's own title, parameters and settings (beside the paper's), glued
    assert g["page_title"] == "CASME-II" and "casme2 under the loso protocol with learnet" in g["page_parameters"]
    assert g["page_settings"].startswith("profile smoke;")
    assert f"{SMOKE.epochs} epochs (the paper: 100" in g["page_settings"]
    for key in ("accuracy", "uf1", "uar"):
        assert 0 <= g[key] <= 1
    figures = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(figures) == 3  # learning curves, confusion matrix, accuracy by test subject
    # by test subject: the records keep each test image's prediction; the subjects are the twin's
    from learnet_lite import inputs

    assert g["n_test_subjects"] == inputs.clips("casme2", SMOKE)["subject"].nunique()
    assert g["subject_sentence"].startswith(f"Over {g['n_test_subjects']} test subjects, accuracy ranges from")
    if g["n_test_subjects"] >= 5:
        assert 0 <= g["subject_low"] <= g["accuracy"] <= g["subject_high"] <= 1


def test_protocols_chapter_counts_leaks_and_compares(run_notebook, records):
    _, g = run_notebook("06_protocols", dataset="casme2", results_dir=records)
    assert g["copies"] == 2  # smoke: 0 degrees x {as is, flipped}
    # many leaky test images have a copy of their clip in training (about 0.7 expected: the other
    # copy lands in the 56 % training part; the smoke twin's split has 10 test images, so the
    # bound leaves room for chance) and no protocol-respecting one has
    assert g["leaky_share"] >= 0.3
    assert g["paper_share"] == 0 and g["loso_share"] == 0
    assert g["loso_subjects_both"] == 0
    # the glued count is the package's count for the same twin and split
    from learnet_lite import experiment

    prep = experiment.prepare("casme2", SMOKE, SMOKE.variant, progress=False)
    fold = experiment.folds(prep, "paper", SMOKE, seed=0)[0]
    assert g["paper_subjects_both"] == fold.info["near_duplicates"]["subjects_on_both_sides"]
    for key in ("leaky", "paper", "loso", "kfold", "apex"):
        assert 0 <= g[f"acc_{key}"] <= 1 and 0 <= g[f"uar_{key}"] <= 1
    assert g["kfold_share"] == 0 and g["kfold_folds"] == SMOKE.kfold_folds   # every clip tested once, no copy
    assert g["chance_uar"] == pytest.approx(1 / 7)
    # its own leak, worded by the sign of the glued difference
    shows = "show a leak too" if g["acc_leaky"] > g["acc_paper"] else "show no leak"
    assert shows in g["book_leak_sentence"] and 0 <= g["uf1_loso"] <= 1
    assert g["page_settings"].startswith("profile smoke;")
    # the committed paper-profile (GPU) records, paired by seed, reach the prose
    from learnet_lite import results

    recs = results.load_records(results.RESULTS_DIR / "paper")
    recs = recs[recs["variant"] == SMOKE.variant]   # the networks' GPU runs (the handcrafted ones: variant frames)
    both = recs.groupby(["dataset", "model", "seed"])["protocol"].agg(set).map({"paper", "paper-leaky"}.issubset)
    if both.any():
        assert g["gpu_sentence"].startswith(f"Over the {int(both.sum())} repeats run under both protocols")
    else:
        assert "--protocols paper paper-leaky" in g["gpu_sentence"]


def test_results_chapter_tables_from_the_records(run_notebook, records):
    run_notebook("04_training", dataset="casme2", protocol="loso", results_dir=records)
    run_notebook("06_protocols", dataset="casme2", results_dir=records)  # paper, paper-leaky, loso, kfold, apex
    nb, g = run_notebook("05_results", results_dir=records)
    # loso (dynamic and apex) + paper + paper-leaky + kfold
    assert g["n_records"] == 2 * SMOKE.loso_groups + 2 + SMOKE.kfold_folds
    assert g["casme2_loso"].endswith("%")
    assert g["casme2_paper_acc"] == pytest.approx(76.57)  # Table III, read from data/paper
    assert g["cells_run"] >= 4  # casme2 LEARNet under the four protocols
    assert "Fig. 8: paper" in g["figs_shown"]
    assert g["page_settings"].startswith("profile smoke;") and "5 repeats" in g["paper_profile_settings"]
    assert "below LOSO on" in g["split_sentence"]  # casme2 ran under both
    assert g["rival_sentence"].startswith(("At the paper profile's settings", "No dataset has"))
    assert g["empty_columns"].startswith(("Of ours, Fig.", "Every class has"))
    text = "\n".join(_shown(c) for c in nb.cells)
    # these chapters train LEARNet only: one command under each table fills the rest of the profile's cells,
    # the rows of the handcrafted methods (which the baselines chapter runs) among them
    import re

    command = re.search(r"learnet-lite reproduce --profile smoke --datasets casme casme2 casme_sq "
                        r"--models ([a-z0-9 -]+?) --protocols", text)
    # (the profile's own methods: VGG and ResNet-18 are the paper profile's, "not in this profile")
    assert command and {"lbptop-svm", "lbptop-elm", "mdmo-svm"} <= set(command.group(1).split()) <= set(SMOKE.models)
    assert "LBP-TOP-SVM: [6] Zhao" in text and "not in this profile" in text   # VGG/ResNet: the paper profile's
    # what the evidence supports: the claims, computed from the paper's tables and the records, glued
    assert g["evidence_claimed"] == "4.03, 1.90, 1.79, 2.82" and g["evidence_table_margins"] == "4.23, 2.08, 1.85, 2.82"
    assert g["evidence_vgg"].startswith("6 of the paper's 10 VGG cells") and "tests 51" in g["evidence_noise"]
    assert "synthetic twins" in g["evidence_data"]
    # the committed paper-profile (GPU) records fill a table of their own, beside the paper
    from learnet_lite import results

    gpu = results.load_records(results.RESULTS_DIR / "paper")
    cell = gpu[(gpu.dataset == "casme2") & (gpu.model == "learnet") & (gpu.protocol == "paper")]
    gpu_tables = [_shown(c) for c in nb.cells if c.cell_type == "code" and "show_paper_profile(t3_gpu" in c.source]
    if not cell.empty:
        assert f"{100 * cell['accuracy'].mean():.1f}" in gpu_tables[0]
    # records made on other data are counted and marked: this build's own are of its data, the
    # committed paper-profile ones made before fingerprints (on earlier twins) are not
    bare = int(gpu["data_fingerprint"].isna().sum()) if not gpu.empty else 0
    assert bare <= g["n_other_data"] <= len(gpu)
    t3_shown = [_shown(c) for c in nb.cells
                if c.cell_type == "code" and c.source.strip() == "tables.show_beside_paper(t3, settings.name)"][0]
    assert "made on the data this build reads" in t3_shown and "\u00a0†<" not in t3_shown
    if bare and not cell.empty:
        assert "\u00a0†<" in gpu_tables[0] and "Not all of the row's records" in gpu_tables[0]


def test_training_and_results_chapters_on_the_two_class_smic(run_notebook, tmp_path):
    """The Makefile's smic_2class page: SMIC's twin read with its negative/positive labels,
    its records filling Table IV's 2-class row of the results chapter."""
    nb, g = run_notebook("04_training", dataset="smic_2class", protocol="loso", results_dir=str(tmp_path))
    assert g["dataset_name"] == "smic_2class" and g["class_names"] == "negative, positive"
    assert g["page_title"] == "SMIC-HS, two classes"
    assert g["n_classes"] == 2 and g["chance_uniform"] == pytest.approx(0.5)
    assert g["paper_clips"] == 35 and g["paper_clips_source"] != "Table II"  # from the text, data/paper/table2.csv
    from learnet_lite import inputs

    assert g["n_clips"] == len(inputs.clips("smic_2class", SMOKE))
    records = list(tmp_path.rglob("*.json"))
    assert records and all(r.parts[-4] == "smic_2class" for r in records)
    nb, g = run_notebook("05_results", results_dir=str(tmp_path))
    assert g["smic2_loso"].endswith("%") and g["smic2_paper_acc"] == pytest.approx(91.09)
    assert g["casme2_loso"] == "not run" and "Fig. 10: not run" in g["figs_shown"]  # Fig. 10 is the 5 classes
    text = "\n".join(_shown(c) for c in nb.cells)
    assert "learnet-lite reproduce --profile smoke --datasets smic smic_2class --models " in text


def _shown(cell) -> str:
    """What a code cell shows: its HTML and Markdown outputs."""
    return "\n".join(str(o.get("data", {}).get(k, "")) for o in cell.get("outputs", [])
                     for k in ("text/html", "text/markdown"))


def data_used_outputs(nb) -> str:
    """The HTML and text the "data used" cell of an executed chapter shows."""
    cell = next(c for c in nb.cells if c["cell_type"] == "code" and "tables.show_data_used(" in "".join(c["source"]))
    return "".join(o.get("data", {}).get("text/html", "") + o.get("text", "") + o.get("data", {}).get("text/plain", "")
                   for o in cell.get("outputs", []))


@pytest.mark.parametrize("name, params", [("01_dynamic_images", {}), ("03_model", {}),
                                          ("04_training", {"dataset": "casme2", "protocol": "loso"}),
                                          ("06_protocols", {"dataset": "casme2"})])
def test_every_reading_chapter_shows_the_data_it_used(run_notebook, records, name, params):
    if name.startswith(("04", "06")):
        params = {**params, "results_dir": records}
    nb, _ = run_notebook(name, **params)
    shown = data_used_outputs(nb)
    # source, sheet and version, clips per class beside Table II, the clips left out and why
    for expected in ("synthetic twin", "CASME2-coding-20140508.xlsx", "Table II", "happiness", "left out"):
        assert expected in shown, (name, expected)
    assert "frames-missing" in shown or "No clip was left out." in shown   # the reason of each left out
