"""The paper's published numbers, transcribed once into ``data/paper/*.csv``.

Every regenerated table shows these beside ours; nothing here is computed.
"""

from __future__ import annotations

import pandas as pd

from .profiles import REPO_ROOT

PAPER_DIR = REPO_ROOT / "data" / "paper"


def table(name: str) -> pd.DataFrame:
    """Load ``data/paper/<name>.csv`` (e.g. ``table1``), with its ``#`` comment lines
    (source, page, transcription notes) skipped."""
    path = PAPER_DIR / f"{name}.csv"
    if not path.is_file():
        available = sorted(p.stem for p in PAPER_DIR.glob("*.csv"))
        raise FileNotFoundError(f"{path}: no such table; available: {', '.join(available) or 'none'}")
    return pd.read_csv(path, comment="#")


def source_notes(name: str) -> list[str]:
    """The ``#`` comment lines at the top of ``data/paper/<name>.csv``."""
    lines = (PAPER_DIR / f"{name}.csv").read_text(encoding="utf-8").splitlines()
    return [ln.lstrip("# ").rstrip() for ln in lines if ln.startswith("#")]
