"""Shared test fixtures: papermill smoke runs of the notebooks, with glued values read back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
KERNEL = "learnet-lite"


def glued_values(nb) -> dict:
    """Values a notebook glued with ``myst_nb.glue`` (name -> Python value, or the repr)."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook", {})
            if "name" not in meta:
                continue
            prefix = meta.get("mime_prefix", "")
            text = out.get("data", {}).get(prefix + "text/plain")
            try:
                values[meta["name"]] = ast.literal_eval(text)
            except (ValueError, SyntaxError, TypeError):
                values[meta["name"]] = text
    return values


@pytest.fixture(scope="session")
def run_notebook(tmp_path_factory):
    """Execute ``notebooks/<name>.ipynb`` with papermill (profile ``smoke`` unless given)
    and return ``(notebook, glued values)``; each notebook runs once per session."""
    import papermill as pm

    cache: dict = {}
    out_dir = tmp_path_factory.mktemp("executed")
    records = tmp_path_factory.mktemp("records")  # run records of the smoke runs, not data/results

    def _run(name: str, **parameters):
        parameters.setdefault("profile", "smoke")
        if "results_dir =" in (NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"):
            parameters.setdefault("results_dir", str(records))
        key = (name, tuple(sorted(parameters.items())))
        if key not in cache:
            out = out_dir / f"{name}-{len(cache)}.ipynb"
            nb = pm.execute_notebook(
                str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters=parameters,
                kernel_name=KERNEL, cwd=str(NOTEBOOKS), progress_bar=False,
            )
            cache[key] = (nb, glued_values(nb))
        return cache[key]

    return _run


def smallest_text(fig) -> float:
    """The size (pt) of the smallest non-empty text of a matplotlib figure."""
    from matplotlib.text import Text

    return min((t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()), default=float("inf"))


@pytest.fixture()
def legible_figures():
    """After the test: every open pyplot figure keeps its text at or above figures.MIN_FONT_PT
    (the figure functions draw on pyplot figures, as the chapters show them); then close them."""
    import matplotlib.pyplot as plt

    from learnet_lite import figures

    yield
    try:
        for number in plt.get_fignums():
            assert smallest_text(plt.figure(number)) >= figures.MIN_FONT_PT, "text under figures.MIN_FONT_PT"
    finally:
        plt.close("all")
