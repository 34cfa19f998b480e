"""From a run profile to what the network sees: one road for every chapter and the CLI.

* Where a dataset's clips come from: :func:`clips` reads ``$DATA_ROOT/<release>`` where
  that folder is there (the licensed data, :func:`profiles.dataset_folder`), else the
  release's synthetic twin in :func:`twin_folder` (:func:`folder` says which), generated once with the profile's
  ``twin_seed``/``twin_scale``/``twin_amplitude`` and reused by every later chapter
  (:func:`synthetic.generate`); never under ``DATA_ROOT``.
* What the network sees: :func:`images` turns each clip into one 112×112 RGB image, the
  dynamic image of its frames (Sec. III-A, :mod:`dynamic`) stretched to 0..255 as the
  authors' code stores it (:func:`dynamic.to_uint8`), or, for the ``apex-frame`` control,
  the apex frame (:func:`datasets.apex_index`); :func:`to_tensor` standardises them all
  the same way, ``(x/255 − 0.5)/0.25``.

The datasets are the four of Table II and ``smic_2class``: SMIC read with the release's
negative/positive labels, Table IV's 2-class rows (:data:`LABEL_SETS`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import profiles
from .files import replacing
from .frames import natural_key
from .profiles import Profile

INPUT_SIZE = 112  # Sec. III-B / Table I: 112×112×3 dynamic images
VARIANTS = profiles.CHOICES["variant"]
DATASETS = profiles.CHOICES["datasets"]
# a run's dataset key -> (the release it reads, the class set): Table IV also runs SMIC with
# two classes (negative/positive, the text's SMIC-I), read from the same release (or twin)
LABEL_SETS = {"smic_2class": ("smic", "2class")}
CACHE_DIR = profiles.REPO_ROOT / "data" / "cache"


def source(dataset: str) -> tuple[str, str]:
    """The release a dataset key reads and its class set (:data:`LABEL_SETS`):
    ``"smic_2class"`` -> ``("smic", "2class")``, any other key -> ``(key, "table2")``."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    return LABEL_SETS.get(dataset, (dataset, "table2"))


def twin_folder(release: str, profile: Profile | str) -> Path:
    """Where the twin of ``release`` at the profile's settings lives:
    ``data/synthetic/<tag>/<release>``, the tag naming what differs from the full-size, 1-px,
    seed-0, cropped twin (``_scale0.1_amplitude3``, ``_amplitude3_raw``, ...); never under
    ``DATA_ROOT``."""
    p = profiles.load(profile)
    tag = ((f"_scale{p.twin_scale:g}" if p.twin_scale < 1 else "")
           + (f"_amplitude{p.twin_amplitude:g}" if p.twin_amplitude != 1 else "")
           + (f"_seed{p.twin_seed}" if p.twin_seed else "") + ("_raw" if p.layout == "raw" else ""))
    base = profiles.twin_dir()
    return (base / tag if tag else base) / release


def folder(release: str, profile: Profile | str) -> Path:
    """Where ``release`` is read from: ``$DATA_ROOT/<release>`` when that folder is there
    (:func:`profiles.dataset_folder`), else :func:`twin_folder`."""
    licensed, there = profiles.dataset_folder(release)
    return licensed if there else twin_folder(release, profile)


def clips(dataset: str, profile: Profile | str) -> pd.DataFrame:
    """The clip table of ``dataset`` (:func:`datasets.load`) from its licensed copy where
    ``DATA_ROOT`` has one, else from its twin, generated first when missing (reused when
    present, read once). The profile's ``layout`` and ``on_error`` apply (``skip``: clips
    with defects are left out and listed in ``df.attrs["findings"]``,
    :func:`datasets.left_out`). ``smic_2class`` reads SMIC's release (or twin) with its
    negative/positive labels; its ``dataset`` column says ``smic_2class``, which keeps its
    records and input cache apart."""
    from . import datasets, synthetic

    p = profiles.load(profile)
    release, label_set = source(dataset)
    root = folder(release, p)
    read = dict(layout=p.layout, on_error=p.on_error, label_set=label_set)
    if profiles.dataset_folder(release)[1]:
        df = datasets.load(release, root, **read)
    else:
        df = synthetic.generate(release, root, seed=p.twin_seed, amplitude=p.twin_amplitude, scale=p.twin_scale,
                                progress=False, **read)
    return df.assign(dataset=dataset)


def labels(df: pd.DataFrame) -> tuple[list, np.ndarray]:
    """The class order (the clips' emotions, sorted) and each clip's label index in it."""
    classes = sorted(pd.unique(df["emotion"]).tolist(), key=str)
    return classes, np.array([classes.index(e) for e in df["emotion"]], dtype=np.int64)


def _one_input(row, variant: str, size: int) -> np.ndarray:
    import cv2

    from .datasets import apex_index
    from .dynamic import dynamic_image, to_uint8
    from .frames import read_frame, read_frames

    frames = list(row.frames)
    if getattr(row, "layout", "cropped") == "raw":   # the face found in the first frame crops every frame
        from .faces import read_clip

        clip = read_clip(frames if variant != "apex-frame" else [frames[apex_index(row)]], size=size, layout="raw")
        image = clip[0] if variant == "apex-frame" else to_uint8(dynamic_image(clip, variant=variant))
    elif variant == "apex-frame":
        image = read_frame(frames[apex_index(row)])
    else:
        image = to_uint8(dynamic_image(read_frames(frames), variant=variant))
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _fingerprint(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for frames in df["frames"]:
        frames = list(frames)
        h.update(f"{len(frames)}|{frames[0]}|{frames[-1]}\n".encode())
    return h.hexdigest()[:16]


def data_fingerprint(df: pd.DataFrame) -> dict:
    """What a run was made on, so that a later table can tell records of other data apart:
    ``source`` ("licensed" or "twin"), the twin generator's ``generator_version`` and
    ``twin_settings`` (None for licensed data), ``clips`` and ``sha256``, a digest of the
    clip table (rows in natural (subject, clip) order: subject, clip, label, emotion, frame
    paths relative to ``df.attrs["root"]``, so the same data elsewhere hashes the same)
    together with the source and twin settings (a newer generator re-renders the same names
    and labels with other pixels). Names only, no image is read."""
    attrs = df.attrs
    source = attrs.get("source") or ("twin" if profiles.using_synthetic_data() else "licensed")
    frames = [Path(f) for fs in df["frames"] for f in fs]
    root = Path(attrs["root"]) if attrs.get("root") else (
        Path(os.path.commonpath(frames)) if frames else Path("."))
    if "twin" in attrs:
        twin = attrs["twin"]
    else:  # a clip table of the data layer that predates attrs["twin"]: the twin's own marker
        from . import synthetic

        twin = (synthetic.twin_manifest(root).get("settings")
                if source == "twin" and synthetic.is_complete(root) else None)

    def rel(f):
        f = Path(f)
        return (f.relative_to(root) if f.is_relative_to(root) else Path(os.path.relpath(f, root))).as_posix()

    rows = sorted(([str(r.get("subject")), str(r.get("clip")), None if pd.isna(r.get("label")) else str(r["label"]),
                    str(r.get("emotion")), [rel(f) for f in r["frames"]]] for r in df.to_dict("records")),
                  key=lambda row: (natural_key(row[0]), natural_key(row[1])))
    payload = json.dumps({"source": source, "twin": twin, "clips": rows}, sort_keys=True, default=str)
    return {"source": source, "generator_version": (twin or {}).get("version"), "twin_settings": twin,
            "clips": len(rows), "sha256": hashlib.sha256(payload.encode()).hexdigest()[:16]}



def current_fingerprints(profile: Profile | str, datasets) -> dict:
    """dataset -> the ``sha256`` of :func:`data_fingerprint` of the clips a run with
    ``profile`` reads now (:func:`clips`: twins generated when missing, else reused)."""
    return {d: data_fingerprint(clips(d, profile))["sha256"] for d in dict.fromkeys(datasets)}


def images(df: pd.DataFrame, variant: str = "bilen", size: int = INPUT_SIZE, cache_dir=CACHE_DIR,
           progress: bool = True) -> np.ndarray:
    """One uint8 (size, size, 3) input per clip of ``df``, in its row order: the dynamic image
    (stretched to 0..255 as the authors' code does, then resized) or the apex frame.

    Cached as ``cache_dir/<dataset>-<variant>-<size>-<fingerprint>.npz`` (written to a temp
    file and renamed), the fingerprint naming the clips and their frames; ``cache_dir=None``
    computes without caching."""
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    if df.empty:
        raise ValueError("images: the clip table is empty")
    dataset = str(df["dataset"].iloc[0]) if "dataset" in df else "clips"
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"{dataset}-{variant}-{size}-{_fingerprint(df)}.npz"
        if path.is_file():
            with np.load(path) as z:
                return z["images"]
    rows = list(df.itertuples(index=False))
    out = np.stack([_one_input(r, variant, size) for r in
                       tqdm(rows, desc=f"{dataset} {variant}", unit="clip", disable=not progress)])
    if path is not None:
        with replacing(path, suffix=".npz") as tmp:
            np.savez(tmp, images=out)
    return out


def to_tensor(images: np.ndarray):
    """uint8 (N, H, W, 3) -> float (N, 3, H, W), centred: (x/255 - 0.5) / 0.25; the one
    normalisation of every network input in the companion."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return (x / 255.0 - 0.5) / 0.25
