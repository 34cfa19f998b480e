"""The GPU cost model (learnet_lite.cost) and the numbers the cost page and the reviewers' guide
glue from it: read from the committed GPU records and their calls' logs, counted on the grid
`reproduce` trains."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from learnet_lite import cost, figures, models, profiles, tables

PAPER = profiles.load("paper")
# forward GFLOPs at 112x112, given so that the tests need not build VGG (forward_flops is tested once, on LEARNet)
FLOPS = {"learnet": 5.06e7, "vgg16": 7.91e9, "vgg19": 9.99e9, "resnet18": 9.70e8}


@pytest.fixture(scope="module")
def grid():
    return cost.estimate("paper", flops=FLOPS)


def test_the_gpu_records_are_read_with_their_calls(grid):
    runs = grid.runs
    assert len(runs) > 0 and set(runs["device_name"]) == {"NVIDIA H200"}
    assert (runs["epochs"] == PAPER.epochs).all()  # the paper profile's 100 epochs, read from the records
    assert (runs["gpu_s"] == runs["wall_time_s"] / runs["jobs"]).all()
    assert np.allclose(runs["us"], 1e6 * runs["gpu_s"] / (runs["train_images"] * runs["epochs"]))
    assert grid.calls["paper"].mps and not grid.calls["paper-leaky"].mps  # as device_run1/2.txt say
    assert grid.calls["paper"].grid_s == 313 and grid.calls["paper-leaky"].grid_s is None  # its progress bar


def test_the_training_images_counted_are_those_the_records_trained_on(grid):
    """The twins of those GPU runs had Table II's clip counts: the stand-in split gives the same
    training images per run as the runs recorded, under both random-split protocols."""
    for protocol in ("paper", "paper-leaky"):
        recorded = grid.runs[grid.runs["protocol"] == protocol].groupby("dataset")["train_images"].unique()
        for dataset, images in recorded.items():
            folds, counted = cost.train_images(int(grid.clips.loc[dataset, "clips"]),
                                               int(grid.clips.loc[dataset, "subjects"]), protocol, PAPER)
            assert folds == 1 and list(images) == [counted], (dataset, protocol)


def test_loso_and_kfold_folds_and_their_training_images():
    folds, images = cost.train_images(40, 8, "loso", PAPER)
    n_val = round(PAPER.val_size * 7)  # validation subjects of each fold, of the 7 others
    assert folds == 8 and images == pytest.approx(40 / 8 * (8 - 1 - n_val) * 14)
    folds, images = cost.train_images(50, 5, "kfold", PAPER)
    assert folds == PAPER.kfold_folds and images == (40 - 12) * 14  # 40 training clips, 12 of them validation


def test_the_grid_counts_every_run_reproduce_trains(grid):
    networks = [m for m in PAPER.models if m in models.NAMES]
    subjects = grid.clips["subjects"]
    per_network = PAPER.repeats * len(PAPER.grid_variants) * int((2 + PAPER.kfold_folds + subjects).sum())
    assert grid.total_runs == len(networks) * per_network
    assert set(grid.cells["model"]) == set(networks)  # the handcrafted methods are not counted


def test_a_cell_is_its_runs_times_their_images_epochs_and_rate(grid):
    rate = grid.runs[(grid.runs["model"] == "learnet") & grid.runs["mps"]]["us"].median()
    seconds = sum(PAPER.repeats * len(PAPER.grid_variants) * folds * rate * 1e-6 * images * PAPER.epochs
                  for folds, images in (cost.train_images(int(r.clips), int(r.subjects), "loso", PAPER)
                                        for r in grid.clips.itertuples()))
    cell = grid.cells[(grid.cells["model"] == "learnet") & (grid.cells["protocol"] == "loso")].iloc[0]
    assert cell["hours launch-bound"] == pytest.approx(seconds / 3600) == cell["hours FLOPs"]
    assert cell["origin"] == "`paper`'s, on loso's training images (not measured)"


def test_an_untimed_network_is_read_at_the_reference_rate_or_by_flops(grid):
    ref = grid.rates.loc["resnet18", "launch-bound"]
    for m in ("vgg16", "vgg19"):
        assert not grid.rates.loc[m, "measured"]
        assert grid.rates.loc[m, "launch-bound"] == ref
        assert grid.rates.loc[m, "FLOPs"] == pytest.approx(ref * FLOPS[m] / FLOPS["resnet18"])
    assert grid.gpu_hours("FLOPs") > grid.gpu_hours("launch-bound")


def test_the_wall_time_lies_between_list_schedulings_bounds(grid):
    for k in cost.READINGS:
        total, longest = grid.gpu_hours(k) * 3600, grid.longest[k][0]
        assert list(grid.wall["gpus"]) == list(cost.GPUS)
        assert list(grid.wall[f"from {k}"]) == pytest.approx([max(total / n, longest) for n in cost.GPUS])
        assert list(grid.wall[f"to {k}"]) == pytest.approx([total / n + longest for n in cost.GPUS])


def test_a_call_log_without_its_settings_line_is_refused(tmp_path):
    (tmp_path / "gpu-day").mkdir()
    (tmp_path / "gpu-day" / "device_run1.txt").write_text("NVIDIA H200, 580, 143771 MiB\nno settings here\n")
    with pytest.raises(ValueError, match=r"device_run1\.txt: no jobs, protocols, models"):
        cost.calls(tmp_path)


def test_the_grid_time_is_the_last_full_progress_bar(tmp_path):
    log = tmp_path / "reproduce_run1.log"
    log.write_text("runs:  10%| 4/40 [00:31<04:40]\rruns: 100%| 40/40 [05:13<00:00]\n")
    assert cost.grid_seconds(log) == 313
    log.write_text("runs: 100%| 40/40 [1:02:03<00:00]\n")
    assert cost.grid_seconds(log) == 3723
    log.write_text("runs:  47%| 19/40 [05:00<05:31]\n")
    assert cost.grid_seconds(log) is None
    assert cost.grid_seconds(tmp_path / "absent.log") is None


def test_forward_flops_counts_a_forward_pass():
    assert 1e7 < cost.forward_flops("learnet") < 1e9  # LEARNet: tens of MFLOPs at 112x112


def test_the_numbers_glued_are_the_models(grid):
    n = tables.cost_numbers(grid)
    assert n["grid_runs"] == grid.total_runs and n["gpu_records"] == len(grid.runs)
    assert n["hours_ratio"] == pytest.approx(n["hours_flops"] / n["hours_launch"])
    assert 0 < n["loso_share_launch"] < 1 and 0 < n["vgg_share_flops"] < 1
    assert n["loso_share"] == f"{n['loso_share_launch']:.0%}"  # the same in both readings: said once
    assert n["vgg_share"] == f"{n['vgg_share_launch']:.0%} or {n['vgg_share_flops']:.0%}"
    assert n["first_runs"] == 40 and n["first_how"] == "under MPS"
    batch25 = grid.throughput[grid.throughput["batch"] == 25]["images_per_s"]
    assert n["bench_batch25"] == f"{round(batch25.min(), -2):,.0f}–{round(batch25.max(), -2):,.0f}"
    assert n["wall_8_launch"].endswith(cost.hours_text(grid.wall.set_index("gpus").loc[8, "to launch-bound"]))


def test_the_guide_glues_only_keys_the_cost_page_has(grid):
    keys = set(tables.cost_numbers(grid)) | {"source"}
    guide = (REPO / "book" / "reproducing.md").read_text(encoding="utf-8")
    used = set(re.findall(r"08_gpu_cost\.ipynb::([a-z0-9_]+)", guide))
    assert used and used <= keys, sorted(used - keys)


def test_the_tables_show_both_readings_and_a_total(grid):
    shown = tables.styled_grid_cost(grid.cells).data
    assert list(shown["network"])[-1] == "all" and shown["runs"].iloc[-1] == f"{grid.total_runs:,}"
    vgg = shown[shown["network"] == "VGG-19"]
    assert vgg["GPU-hours"].str.contains(" or ").all()  # two readings, both shown
    learnet = shown[shown["network"] == "LEARNet"]
    assert not learnet["GPU-hours"].str.contains(" or ").any()  # measured: one number
    assert "<code>paper</code>" in " ".join(shown["rate"])
    rates = tables.styled_rates(grid.rates).data.set_index("network")
    assert " or " in rates.loc["VGG-16", "GPU-µs per image-epoch"] and rates.loc["VGG-16", "timed on the GPU"] == "no"
    assert rates.loc["LEARNet", "GPU-µs per image-epoch"] == f"{grid.rates.loc['learnet', 'launch-bound']:.1f}"
    wall = tables.styled_wall(grid.wall).data
    assert list(wall["GPUs"]) == list(cost.GPUS) and wall.iloc[0, 1].count(" to ") == 1


def test_the_cost_figure_is_legible_and_says_what_it_was_timed_on(grid, legible_figures):
    fig = figures.grid_cost(grid.cells, "synthetic twins", gpu="NVIDIA H200")
    assert "synthetic twins" in fig._suptitle.get_text() and "NVIDIA H200" in fig._suptitle.get_text()
    assert len(fig.axes) == 2


def test_the_records_table_carries_what_a_run_cost(grid):
    assert {"epochs", "device_name", "train_images_per_s"} <= set(grid.runs.columns)
    assert isinstance(grid.runs, pd.DataFrame) and grid.runs["train_images_per_s"].gt(0).all()


def test_the_batched_benchmark_read_is_the_newest_and_its_ratio_per_round(tmp_path):
    import json

    def write(folder, batched, sequential):
        (tmp_path / folder).mkdir()
        report = {"threads": 1, "cpus": 2, "k": 4,
                  "cpu": {"rounds": {"4 batched": {"wall": batched}, "4 sequential": {"wall": sequential}}}}
        (tmp_path / folder / "bench_grid.json").write_text(json.dumps(report))

    write("cpu-2core-2026-11-30", [1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    write("cpu-2core-2026-12-01", [80.0, 90.0, 85.0], [100.0, 100.0, 100.0])
    b = cost.batched_cpu(tmp_path)
    assert b["source"] == "cpu-2core-2026-12-01/bench_grid.json"
    assert b["ratios"] == pytest.approx([0.8, 0.9, 0.85]) and b["median"] == pytest.approx(0.85)
    with pytest.raises(FileNotFoundError, match="bench_grid.json"):
        cost.batched_cpu(tmp_path / "none")


def test_the_benchmark_script_prints_the_models_tables(capsys, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("grid_cost", REPO / "benchmarks" / "grid_cost.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(cost, "forward_flops", lambda m, *a, **k: FLOPS[m])  # no VGG built here
    script.main([])
    out = capsys.readouterr().out
    c = cost.estimate("paper", flops=FLOPS)
    assert f"all: {c.total_runs} runs, {c.gpu_hours('launch-bound'):.1f} GPU-hours (launch-bound)" in out
    assert "Wall time at 10 runs per GPU" in out and "h200-2026-11-27/device_run1.txt" in out
