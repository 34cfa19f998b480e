"""Chapter 2 (the data) end to end in the smoke profile, its glued numbers checked."""

from __future__ import annotations

import pytest

from learnet_lite import datasets, inputs
from learnet_lite.paper import table


@pytest.mark.notebook
def test_data_chapter(run_notebook):
    nb, glued = run_notebook("02_data")
    t2 = table("table2").set_index("emotion")
    data = {name: inputs.clips(name, "smoke") for name in datasets.DATASETS}   # the clips the page read
    for name in datasets.DATASETS:
        assert glued[f"paper_clips_{name}"] == int(t2.loc["total", name])
        assert glued[f"clips_{name}"] == len(data[name]) > 0
    defects = sum(int(datasets.left_out(d)["kind"].isin(datasets.DEFECTS).sum()) for d in data.values())
    assert glued["n_left_out"] == defects
    assert glued["data_sources"] == datasets.sources_sentence(data) and "synthetic twin" in glued["data_sources"]
    for key in ("acc_apex", "acc_mean", "acc_dynamic"):
        assert 0.0 <= glued[key] <= 1.0
    assert glued["chance"] == pytest.approx(0.25)
    assert glued["fig1_classes"] == len(datasets.SPECS["casme2"].classes)
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert figures >= 5
    suptitles = "".join("".join(c["source"]) for c in nb.cells if c["cell_type"] == "code")
    assert suptitles.count("SOURCE") >= 3 and "synthetic" in suptitles
