"""A smoke run of the baselines chapter (profile smoke): the handcrafted methods' grid writes
the records of all three methods under the results folder it is given, and the glued values
are the package's."""

from __future__ import annotations

import itertools

import pytest

from learnet_lite import handcrafted as hc
from learnet_lite import profiles, results, tables

pytestmark = pytest.mark.notebook

SMOKE = profiles.load("smoke")


@pytest.fixture(scope="module")
def chapter(run_notebook, tmp_path_factory):
    records = tmp_path_factory.mktemp("baselines-records")
    nb, g = run_notebook("07_baselines", results_dir=str(records))
    return nb, g, records


def test_the_grid_records_every_method_dataset_and_protocol(chapter):
    _, g, records = chapter
    recs = results.load_records(records / SMOKE.name)
    assert set(recs["model"]) == set(profiles.HANDCRAFTED)
    assert set(recs["variant"]) == {profiles.HANDCRAFTED_VARIANT}
    ran = set(zip(recs["dataset"], recs["protocol"], recs["model"]))
    assert ran == set(itertools.product(SMOKE.datasets, SMOKE.protocols, profiles.HANDCRAFTED))
    assert g["n_records"] == len(recs) and g["grid_seconds"] > 0
    assert g["grid_datasets"] == ", ".join(SMOKE.datasets) and g["grid_protocols"] == ", ".join(SMOKE.protocols)
    # the sentences are the package's numbers for these records
    scores = tables.baseline_scores(results.aggregate(recs))
    want = tables.baseline_numbers(scores, tables.majority_shares(SMOKE), protocol="loso")
    assert g["cells"] == want["cells"] == len(SMOKE.datasets) * len(profiles.HANDCRAFTED)
    assert g["above"] == want["above"] and 0 <= g["above"] <= g["cells"]
    assert f"{g['above']} of the {g['cells']} method × dataset cells" in g["baseline_sentence"]
    assert g["best_sentence"] == want["best_sentence"]
    assert g["best_sentence"].startswith("The best method per dataset under LOSO: ")
    assert all(f"{d}, " in g["best_sentence"] for d in SMOKE.datasets)


def test_the_features_and_settings_glued_come_from_the_module(chapter):
    _, g, _ = chapter
    rows, cols = hc.LBP_BLOCKS
    assert g["lbp_size"] == rows * cols * 3 * hc.LBP_BINS
    assert (g["lbp_points"], g["lbp_bins"], g["lbp_codes"]) == (hc.LBP_POINTS, hc.LBP_BINS, 2 ** hc.LBP_POINTS)
    assert (g["lbp_rx"], g["lbp_ry"], g["lbp_rt"]) == hc.LBP_RADII and g["lbp_blocks"] == f"{rows} × {cols}"
    assert g["lbp_code_frames"] == hc.TIM_FRAMES - 2 * hc.LBP_RADII[2] and g["tim_frames"] == hc.TIM_FRAMES
    assert g["mdmo_regions"] == 36 and g["mdmo_size"] == 2 * g["mdmo_regions"] and g["mdmo_bins"] == hc.MDMO_BINS
    assert g["mdmo_strongest"] in [name for name, _ in hc.regions(*hc.FRAME_SIZE)]
    assert g["mdmo_strongest_px"] >= g["mdmo_median_px"] >= 0
    assert 1 <= g["mdmo_apex"] <= g["n_frames"]
    assert (g["elm_hidden"], g["elm_c"]) == (hc.ELM_HIDDEN, hc.ELM_C)
    assert g["frame_size"] == "{} × {}".format(*hc.FRAME_SIZE)
    assert g["page_settings"].startswith("profile smoke;")


def test_the_page_shows_two_figures_the_table_and_the_check(chapter):
    nb, _, _ = chapter
    pngs = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) == 2  # LBP-TOP's planes, MDMO's directions
    table = next(c for c in nb.cells if c.cell_type == "code" and "styled_baselines" in c.source)
    html = "".join(o.get("data", {}).get("text/html", "") for o in table.outputs)
    for method in ("LBP-TOP-SVM", "LBP-TOP-ELM", "MDMO-SVM"):
        assert method in html
    assert f"{tables.published('lbptop-svm', 'casme'):.1f}" in html  # Table III's quote, beside ours
    assert "by subject" in html
    check = next(c for c in nb.cells if c.source.strip() == "exercises.check_elm_output(elm_output)")
    assert "✓" in "".join(o.get("text", "") for o in check.outputs)
