"""Smoke run of the model chapter (notebooks/03_model.ipynb): glued numbers and figures."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def chapter(run_notebook):
    start = time.perf_counter()
    nb, glued = run_notebook("03_model")
    return nb, glued, time.perf_counter() - start


def test_parameter_counts_are_glued(chapter):
    _, g, _ = chapter
    assert g["n_learnet"] == 1_866_824
    assert g["n_noacc"] == 1_866_824 - 2 * (2 * 16) - 2 * (2 * 32)  # the accretion BatchNorms
    assert g["n_final3"] == 1_408_072
    assert g["fc_ours"] == 4096 * 256 + 256 and g["fc_paper"] == 589_824 + 256
    assert g["fc_final3"] == g["fc_paper"]
    assert g["table1_paper_total"] == 1_405_824
    assert g["table1_difference"] == g["n_learnet"] - g["table1_paper_total"]
    assert g["final3_vs_paper"] == g["n_final3"] - g["table1_paper_total"]
    assert g["table1_mismatches"] == 5  # Add-1, Add-2, FC, classifier, total


def test_table5_numbers_are_glued(chapter):
    _, g, _ = chapter
    assert g["vgg16_m"] == pytest.approx(138.36) and g["vgg19_m"] == pytest.approx(143.67)
    assert g["resnet18_m"] == pytest.approx(11.69) and g["resnet34_m"] == pytest.approx(21.80)
    assert g["resnet18_layers"] == 18 and g["resnet34_layers"] == 34
    assert g["learnet_layers"] == 7


def test_training_ran(chapter):
    _, g, _ = chapter
    assert g["n_train"] > 0 and g["epochs"] >= 1
    assert 0.0 <= g["val_accuracy"] <= 1.0


def test_figures_are_drawn_and_labelled_synthetic(chapter):
    nb, _, _ = chapter
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # architecture, Figs. 3, 4, 5, 6
    # Figs. 3-6 are drawn by learnet_lite.figures, each told the data source for its title
    fig_cells = [c.source for c in nb.cells if c.cell_type == "code" and re.search(r"figures\.fig[3-6]_", c.source)]
    assert len(fig_cells) == 4 and all("SYNTHETIC" in src for src in fig_cells)


def test_smoke_is_fast(chapter):
    assert chapter[2] < 60
