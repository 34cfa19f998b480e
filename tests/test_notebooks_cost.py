"""A smoke run of the cost page (book/08_gpu_cost): it reads the committed GPU records whatever
the build's profile, and glues the cost model's numbers."""

from __future__ import annotations

import pytest

from learnet_lite import cost, tables

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def page(run_notebook):
    return run_notebook("08_gpu_cost")


def test_the_page_glues_the_cost_models_numbers(page):
    _, g = page
    want = tables.cost_numbers(cost.estimate("paper"))
    for key in ("grid_runs", "gpu_records", "first_runs", "wall_8_launch", "wall_64_flops", "bench_batch25",
                "grid_datasets", "longest_flops_run"):
        assert g[key] == want[key], key
    for key in ("hours_launch", "hours_flops", "first_images_per_s"):
        assert g[key] == pytest.approx(want[key])
    assert g["source"] == "synthetic twins"  # what the timed runs trained on, from their records


def test_the_page_shows_five_tables_and_the_figure(page):
    nb, _ = page
    html = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert len(html) == 5 and any("images/s, all runs" in h for h in html) and any(">all<" in h for h in html)
    pngs = [c for c in nb.cells if any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert len(pngs) == 1 and pngs[0].metadata["mystnb"]["image"]["alt"].startswith("Two panels")
