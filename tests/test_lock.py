"""The per-run lock (files.locked, held by experiment.run_fold while a run trains): another
process holding it makes a run skip; a killed holder leaves no lock behind. Seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from test_experiment import SETTINGS, make_clips

from learnet_lite import experiment, files, results

HOLD = """import sys, time
from learnet_lite import files
with files.locked(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def holder(path) -> subprocess.Popen:
    """Another process that holds the lock on ``path`` until it is killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def kill9(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()


def test_a_lock_held_by_another_process_is_refused_naming_it(tmp_path):
    lock = tmp_path / "deep" / "run.lock"
    proc = holder(lock)
    try:
        with pytest.raises(files.Locked, match=f"locked by pid {proc.pid} on "), files.locked(lock):
            pass
        assert lock.is_file()  # still the holder's
    finally:
        kill9(proc)


def test_the_lock_of_a_killed_process_is_free_again(tmp_path):
    lock = tmp_path / "run.lock"
    proc = holder(lock)
    kill9(proc)  # no chance to clean up: its file stays, its flock goes with it
    assert lock.is_file()
    with files.locked(lock):
        assert lock.read_text().startswith(f"pid {os.getpid()} on ")
    assert not lock.exists()  # removed by its holder on the way out


def test_wait_blocks_until_the_holder_is_gone(tmp_path):
    lock = tmp_path / "run.lock"
    proc = holder(lock)
    threading.Timer(0.5, kill9, [proc]).start()
    start = time.perf_counter()
    with files.locked(lock, wait=True):
        assert proc.poll() is not None and time.perf_counter() - start >= 0.4


def test_run_fold_skips_a_run_another_process_is_training(tmp_path, capsys):
    prep = experiment.prepare("casme2", SETTINGS, "bilen", df=make_clips(tmp_path / "clips"),
                              cache_dir=tmp_path / "cache", progress=False)
    fold = experiment.folds(prep, "paper", SETTINGS, 0)[0]
    kw = dict(model="learnet", profile=SETTINGS, results_dir=tmp_path / "r", device="cpu", progress=False)
    lock = experiment._lock_path(tmp_path / "r", experiment._ident(prep, fold, "learnet", SETTINGS))
    proc = holder(lock)
    try:
        path, trained = experiment.run_fold(prep, fold, **kw)
        assert not trained and not path.exists()
        assert f"skipped casme2 paper learnet bilen seed 0 fold 0: locked by pid {proc.pid}" in capsys.readouterr().out
    finally:
        kill9(proc)
    path, trained = experiment.run_fold(prep, fold, **kw)  # the killed holder left it free
    assert trained and results.read(path)["fold"] == 0 and not lock.exists()
