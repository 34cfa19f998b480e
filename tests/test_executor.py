"""``reproduce(executor="ray")`` on a local Ray cluster of two CPUs (and one GPU in name only):
its records equal the sequential grid's apart from times, a worker killed mid-run is retried
and the grid completes, tasks ask for a tenth of a GPU where there is one, recorded and locked
runs are skipped. Tiny fabricated clips; about a minute, most of it the
cluster's start and its workers' imports."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch
from test_experiment import make_clips, strip_times

from learnet_lite import cli, experiment, files, inputs, profiles, results

# the smoke profile, small: 2 epochs (a checkpoint after the first), LOSO in 3 subject groups
SETTINGS = dataclasses.replace(profiles.load("smoke"), epochs=2, repeats=1, aug_angles=(0,), loso_groups=3)
GRID = dict(datasets=["casme2"], models_=["learnet"], protocols_=["paper", "loso"], seeds=[0, 1], device="cpu",
            progress=False)
RUNS = 2 * (1 + 3)  # 2 seeds x (paper + 3 LOSO groups)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """The clips, served to ``inputs.clips``, and the sequential grid's records -> (clips, folder).
    On one thread, as a one-CPU Ray task trains (OMP_NUM_THREADS=1): on a CPU a run's losses
    depend on how many threads sum them, in their last digits."""
    tmp = tmp_path_factory.mktemp("grid")
    clips = make_clips(tmp / "clips")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(inputs, "clips", lambda dataset, profile=None: clips)
            experiment.reproduce(SETTINGS, results_dir=tmp / "seq", executor="local", **GRID)
    finally:
        torch.set_num_threads(threads)
    return clips, tmp / "seq"


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray", reason=f"executor 'ray' needs the extra 'grid': {experiment.RAY_EXTRA}")
    # a GPU in name only: tasks of device "auto" ask for their share of it, find no CUDA and train on the CPU
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def served(grid, monkeypatch):
    monkeypatch.setattr(inputs, "clips", lambda dataset, profile=None: grid[0])
    return grid[1]


def records(folder: Path) -> dict:
    return {p.relative_to(folder): results.read(p) for p in sorted(folder.rglob("*.json"))}


def same_as_sequential(folder: Path, seq: Path) -> None:
    got, want = records(folder), records(seq)
    assert sorted(got) == sorted(want) and len(want) == RUNS
    for rel, record in want.items():
        assert strip_times(got[rel]) == strip_times(record), rel


def test_ray_grid_writes_the_records_of_the_sequential_one_and_skips_recorded_and_locked_runs(
        cluster, served, tmp_path, capsys):
    experiment.reproduce(SETTINGS, results_dir=tmp_path / "r", executor="ray", worker_dir=tmp_path / "w", **GRID)
    same_as_sequential(tmp_path / "r", served)
    assert not list((tmp_path / "w").rglob("*.json")) and not list((tmp_path / "w").rglob("*.pt"))  # scratch gone
    assert not list((tmp_path / "r").rglob("*.lock"))  # every lock given back
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "r").rglob("*.json")}
    one = next(iter(stamps))
    one.unlink()  # a missing run, which another process is training
    ident = {k: results.read(served / one.relative_to(tmp_path / "r"))[k] for k in results.IDENTITY}
    with files.locked(experiment._lock_path(tmp_path / "r", ident)):
        experiment.reproduce(SETTINGS, results_dir=tmp_path / "r", executor="ray", worker_dir=tmp_path / "w", **GRID)
    assert f"skipped {experiment._run_name(ident)}: locked by pid" in capsys.readouterr().out
    assert not one.exists()
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "r").rglob("*.json")} == \
        {p: s for p, s in stamps.items() if p != one}  # the recorded ones not re-run


def test_a_worker_killed_mid_run_is_retried_and_the_grid_completes(cluster, served, tmp_path, monkeypatch, capsys):
    flag, shares = str(tmp_path / "died"), tmp_path / "shares"
    shares.mkdir()

    def dies_once(prep, fold, model, settings, worker_dir=None):  # pickled by value: runs on the worker
        import json
        import os

        import ray

        from learnet_lite import experiment as on_worker

        share = ray.get_runtime_context().get_assigned_resources()
        (shares / f"{fold.protocol}-{fold.seed}-{fold.fold}-{os.getpid()}.json").write_text(json.dumps(share))

        def on_epoch(epoch, history):
            if epoch == 1 and fold.protocol == "loso" and fold.fold == 1 and fold.seed == 0:
                try:
                    os.close(os.open(flag, os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    return  # died once already
                os._exit(1)  # the worker dies after epoch 1's checkpoint, as if killed

        return on_worker._ray_run(prep, fold, model, {**settings, "on_epoch": on_epoch}, worker_dir)

    monkeypatch.setattr(experiment, "_ray_run", dies_once)
    experiment.reproduce(SETTINGS, results_dir=tmp_path / "r", executor="ray", worker_dir=tmp_path / "w",
                         **{**GRID, "device": "auto"})  # on the cluster's GPU: a tenth of it each
    assert Path(flag).is_file()
    assigned = [json.loads(f.read_text()) for f in shares.iterdir()]
    assert len(assigned) == RUNS + 1 and all(a == {"CPU": 1.0, "GPU": 0.1} for a in assigned)  # one retried
    out = capsys.readouterr().out
    assert "FAILED casme2 loso learnet bilen seed 0 fold 1: " in out and "retrying it once" in out
    assert "FAILED again" not in out
    same_as_sequential(tmp_path / "r", served)  # the retry resumed from epoch 1: the same record


def test_executor_options_and_a_missing_ray_naming_the_extra(monkeypatch, capsys, tmp_path):
    assert cli.EXECUTORS == experiment.EXECUTORS
    kw = dict(GRID, results_dir=tmp_path)
    for bad, match in ((dict(executor="dask"), "executor 'dask'"), (dict(executor="ray", jobs=2), "jobs=2"),
                       (dict(address="auto"), "address 'auto'"), (dict(executor="ray", gpu_share=0), "gpu_share")):
        with pytest.raises(ValueError, match=match):
            experiment.reproduce(SETTINGS, **bad, **kw)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    with pytest.raises(ImportError, match=r"extra 'grid'.*\[grid\]"):
        experiment.reproduce(SETTINGS, executor="ray", **kw)
    assert cli.main(["reproduce", "--profile", "smoke", "--executor", "ray", "--results", str(tmp_path)]) == 2
    assert "pip install -e '.[grid]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing computed
