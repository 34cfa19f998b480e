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


def data_root() -> Path:
    """Where datasets live: ``$DATA_ROOT`` (licensed copies) or the synthetic twins."""
    env = os.environ.get("DATA_ROOT")
    return Path(env).expanduser() if env else REPO_ROOT / "data" / "synthetic"


def using_synthetic_data() -> bool:
    """True unless ``DATA_ROOT`` points at a licensed copy of the datasets."""
    return "DATA_ROOT" not in os.environ


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
