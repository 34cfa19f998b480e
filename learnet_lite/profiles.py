"""Run profiles (``smoke``, ``book``, ``paper``) and the project's paths.

The profiles live in one place, ``notebooks/params/<name>.yaml``; every notebook takes a
``profile`` parameter and every CLI command a ``--profile`` option, and both read the
settings from here. ``paper`` holds the paper's exact settings (Sec. IV).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import yaml

PROFILES = ("smoke", "book", "paper")

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILE_DIR = REPO_ROOT / "notebooks" / "params"


def load(name: str) -> dict:
    """Return the settings of run profile ``name`` as a dict (a fresh copy each call)."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: expected one of {', '.join(PROFILES)}")
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"profile file {path} is missing")
    with open(path, encoding="utf-8") as fh:
        settings = yaml.safe_load(fh) or {}
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: expected a mapping of setting -> value at the top level")
    settings["profile"] = name
    return settings


def twin_dir() -> Path:
    """Where the full-size synthetic twins live (``data/synthetic``); never under ``DATA_ROOT``."""
    return REPO_ROOT / "data" / "synthetic"


def using_synthetic_data(dataset: str | None = None) -> bool:
    """True where a twin stands in: for ``dataset`` (a release name or ``smic_2class``), when
    ``$DATA_ROOT/<release>`` is not there; without a dataset, when ``DATA_ROOT`` is unset."""
    if dataset is None:
        return "DATA_ROOT" not in os.environ
    return not dataset_folder(dataset)[1]


def dataset_folder(dataset: str) -> tuple[Path, bool]:
    """Where a dataset's licensed copy would be and whether it is there ->
    ``($DATA_ROOT/<release>, True)`` when that folder exists, else ``(data/synthetic/<release>,
    False)``: a ``DATA_ROOT`` holding only some datasets (the usual case) serves those, and the
    others come from their twins. ``smic_2class`` reads SMIC's folder."""
    release = "smic" if dataset == "smic_2class" else dataset
    env = os.environ.get("DATA_ROOT")
    if env:
        folder = Path(env).expanduser() / release
        if folder.is_dir():
            return folder, True
    return twin_dir() / release, False


@contextmanager
def temp_beside(path, suffix: str = ".tmp"):
    """A fresh temporary file path in ``path``'s folder (created if needed), removed on exit
    unless the caller moved it into place: write there, then ``os.replace``/``os.link`` it, so
    a killed run never leaves a half-written ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
