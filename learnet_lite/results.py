"""Run records: written, read back, marked by the data they were made on, aggregated.

One JSON record per run (dataset, protocol, model, profile, seed, fold): its metrics
(:mod:`metrics`), confusion matrix with class order, sizes, dynamic-image variant and its
provenance (git commit and dirty flag, package versions, device, wall time). Records are
written atomically and never overwritten without ``force``; their path follows from the
run's identity, so a grid run skips what is already recorded (:func:`record_path`).
Tables are aggregated from records (:func:`aggregate`), never typed in, each cell with a 95 %
bootstrap interval over the units :func:`units` names; :func:`paired` compares two methods
on the same splits. The paper's Tables III-IV and Figs. 7-10 beside them are made in :mod:`tables`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from . import inputs, metrics
from .files import write_json_atomic
from .profiles import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "data" / "results"
IDENTITY = ("dataset", "protocol", "model", "profile", "variant", "seed", "fold")
GROUP = ("dataset", "protocol", "model", "profile", "variant")
TIME_KEYS = ("wall_time_s", "created", "train_images_per_s")  # the only fields two identical CPU runs may differ in
SCHEMA = 1
# per test image, in the records' extra (experiment._record): clip, subject, true and predicted class -> the
# columns of load_records (named apart from sizes' counts such as test_clips)
PER_IMAGE = {"test_clips": "image_clip", "test_subjects": "image_subject", "test_true": "image_true",
             "test_pred": "image_pred"}
# fewest units an interval is drawn from: a percentile bootstrap over 2-4 repeats is their range, not an interval
MIN_UNITS = 5
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def record_path(folder, dataset, protocol, model, profile, variant, seed, fold) -> Path:
    """``folder/<profile>/<dataset>/<protocol>/<model>/<variant>-seed<seed>-fold<fold>.json``
    (``folder``: e.g. ``data/results``; the ``paper`` profile's records are committed)."""
    for key, value in (("dataset", dataset), ("protocol", protocol), ("model", model),
                       ("profile", profile), ("variant", variant)):
        if not isinstance(value, str) or not _NAME.match(value):
            raise ValueError(f"record {key}={value!r}: expected a name of letters, digits, '.', '_' or '-'")
    for key, value in (("seed", seed), ("fold", fold)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"record {key}={value!r}: expected a non-negative integer")
    return (Path(folder) / profile / dataset / protocol / model
            / f"{variant}-seed{int(seed)}-fold{int(fold):03d}.json")


def make_record(*, dataset, protocol, model, profile, variant, seed, fold, y_true, y_pred,
                labels, sizes: dict, device: str, wall_time_s: float, n_folds: int = 1,
                test_subject=None, extra: dict | None = None) -> dict:
    """A run record: identity, metrics of its test predictions, confusion matrix (rows true,
    columns predicted, in the order of ``labels``), sizes, and provenance."""
    labels = [_plain(x) for x in labels]
    scored = metrics.scores([_plain(x) for x in y_true], [_plain(x) for x in y_pred], labels)
    return {
        "schema": SCHEMA,
        **_identity(dict(dataset=dataset, protocol=protocol, model=model, profile=profile,
                         variant=variant, seed=seed, fold=fold)),
        "n_folds": int(n_folds),
        "test_subject": _plain(test_subject),
        "metrics": {k: scored[k] for k in ("accuracy", "uf1", "uar")},
        "labels": labels,
        "confusion": scored["confusion"],
        "sizes": {str(k): _plain(v) for k, v in sizes.items()},
        "device": str(device),
        "wall_time_s": float(wall_time_s),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git": git_state(),
        "versions": versions(),
        "extra": json.loads(json.dumps(extra or {}, default=_json_default)),
    }


def write(record: dict, folder=RESULTS_DIR, force: bool = False) -> Path:
    """Write ``record`` to its :func:`record_path` atomically (:func:`files.write_json_atomic`),
    refusing to replace an existing record unless ``force``."""
    path = record_path(folder, **_identity(record))
    try:
        return write_json_atomic(path, record, overwrite=force, default=_json_default)
    except FileExistsError:
        raise FileExistsError(f"{path}: a record of this run already exists; "
                              "pass force=True (--force) to overwrite it") from None


def read(path) -> dict:
    """One record; the error names the file when it is not a record."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a JSON run record ({exc})") from None
    missing = [k for k in IDENTITY + ("metrics", "labels", "confusion") if k not in record]
    if missing:
        raise ValueError(f"{path}: run record lacks {', '.join(missing)}")
    return record


def load_records(folder=RESULTS_DIR) -> pd.DataFrame:
    """Every record under ``folder`` (recursively), one row each: identity, metrics,
    confusion/labels, sizes (``train_clips``, ...), provenance, ``data_fingerprint`` (the
    ``sha256`` of the data it was made on; None for records that predate fingerprints) and
    the file's ``path``; an empty table where ``folder`` is missing."""
    return read_records(sorted(Path(folder).rglob("*.json")))


def read_records(paths) -> pd.DataFrame:
    """The records at ``paths`` (e.g. those :func:`experiment.run` returns), one row each, as
    :func:`load_records` makes them."""
    rows = []
    for path in paths:
        r = read(path)
        row = {k: r[k] for k in IDENTITY}
        row.update(n_folds=r.get("n_folds", 1), test_subject=r.get("test_subject"), **r["metrics"])
        row.update(labels=r["labels"], confusion=r["confusion"], **r.get("sizes", {}))
        git = r.get("git") or {}
        row.update(commit=git.get("commit"), dirty=git.get("dirty"), device=r.get("device"),
                   wall_time_s=r.get("wall_time_s"), data_fingerprint=record_fingerprint(r), path=str(path))
        extra = r.get("extra") or {}
        row.update({col: extra.get(k) for k, col in PER_IMAGE.items()})  # None in records made before they were kept
        row["synthetic"] = (extra.get("data") or {}).get("synthetic")   # made on a twin (None: not recorded)
        # what a run cost (learnet_lite.cost): epochs trained, the device's name, training images per second
        row.update(epochs=extra.get("epochs"), device_name=extra.get("device_name"),
                   train_images_per_s=r.get("train_images_per_s"))
        rows.append(row)
    columns = list(IDENTITY) + ["n_folds", "test_subject", "accuracy", "uf1", "uar", "labels",
                                "confusion", "commit", "dirty", "device", "wall_time_s", "data_fingerprint", "path"]
    frame = pd.DataFrame(rows)
    frame = frame.reindex(columns=columns + [c for c in frame.columns if c not in columns])
    frame["data_fingerprint"] = pd.Series([r["data_fingerprint"] for r in rows], index=frame.index, dtype=object)
    return frame  # (object dtype: None, not NaN, where a record has no fingerprint)


def record_fingerprint(record: dict) -> str | None:
    """The ``sha256`` of the data a record was made on (``extra.data.fingerprint``, written by
    :func:`experiment.prepare`), None for a record made before fingerprints."""
    fingerprint = ((record.get("extra") or {}).get("data") or {}).get("fingerprint") or {}
    return fingerprint.get("sha256")


# a record's data against the data now in use (data_status); "no fingerprint": made before
# records carried one, so not shown to be of the data now in use either
DATA_STATUS = ("current", "other data", "no fingerprint")


def data_status(records: pd.DataFrame, current: dict) -> pd.Series:
    """Per record (:func:`load_records` rows): "current" where its ``data_fingerprint`` is
    ``current[dataset]`` (dataset -> sha256 of the data now in use,
    :func:`experiment.current_fingerprints`), "other data" where it differs, "no fingerprint"
    where the record has none; None where ``current`` does not name its dataset (not checked)."""
    if records.empty:
        return pd.Series([], dtype=object)
    fingerprints = (records["data_fingerprint"] if "data_fingerprint" in records
                    else pd.Series(None, index=records.index))

    def status(dataset, fingerprint):
        if not isinstance(fingerprint, str):
            return "no fingerprint"
        if dataset not in current:
            return None
        return "current" if fingerprint == current[dataset] else "other data"

    return pd.Series([status(d, f) for d, f in zip(records["dataset"], fingerprints)], index=records.index,
                     dtype=object)


def data_label(statuses) -> str | None:
    """A table cell for the records behind it (their :func:`data_status`): "current", "other
    n/m" (n of its m records not shown to be made on the data now in use; short, so that
    Tables III-IV stay narrow), or None (not checked)."""
    statuses = list(statuses)
    return data_label_of(sum(s in ("other data", "no fingerprint") for s in statuses), len(statuses),
                       bool(statuses) and all(s is not None for s in statuses))


def data_label_of(other: int, total: int, checked: bool) -> str | None:
    """:func:`data_label` of ``total`` records, ``other`` of them not made on the data now in use
    (``checked``: every one was compared with the data now in use)."""
    if other:
        return f"other {other}/{total}"
    return "current" if checked and total else None


def current_data(records: pd.DataFrame, profile) -> dict:
    """dataset -> the fingerprint of the data ``profile`` reads now
    (:func:`inputs.current_fingerprints`), for the datasets whose ``records`` carry one (a
    record without a fingerprint is marked "no fingerprint" by :func:`data_status` in any case)."""
    if records.empty:
        return {}
    fingerprinted = records.loc[records["data_fingerprint"].notna(), "dataset"]
    return inputs.current_fingerprints(profile, sorted(set(fingerprinted)))


def pooled_confusion(records: pd.DataFrame) -> tuple[np.ndarray, list]:
    """Sum the confusion matrices of ``records``, aligned by class name -> (matrix, labels);
    labels in the order first seen."""
    order: list = []
    for labels in records["labels"]:
        order += [x for x in labels if x not in order]
    pos = {x: i for i, x in enumerate(order)}
    total = np.zeros((len(order), len(order)), dtype=np.int64)
    for labels, cm in zip(records["labels"], records["confusion"]):
        ix = [pos[x] for x in labels]
        total[np.ix_(ix, ix)] += np.asarray(cm, dtype=np.int64)
    return total, order


def aggregate(records, current: dict | None = None, min_units: int = MIN_UNITS) -> pd.DataFrame:
    """One row per (dataset, protocol, model, profile, variant): over repeats (seeds), the
    mean and sample std of accuracy, UF1 and UAR, each repeat's scores computed on its folds
    pooled (for one-fold protocols: that fold); ``*_pooled``: everything pooled. Also
    ``repeats``, ``complete`` (every repeat has all its folds) and provenance (commits,
    devices, dirty). Fractions, not percent. With ``current`` (dataset -> sha256 of the data
    now in use, :func:`data_status`): ``data`` (:func:`data_label`) and ``other_data`` (how
    many of the row's records were not made on that data); None without it. ``accuracy_low``,
    ``accuracy_high``: the 95 % bootstrap interval of the pooled accuracy over the units of
    :func:`units` (``interval_over``, ``interval_units``); NaN with fewer than ``min_units``."""
    frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(records)
    out = []
    if frame.empty:
        return pd.DataFrame(columns=list(GROUP))
    status = data_status(frame, current) if current is not None else pd.Series(None, index=frame.index, dtype=object)
    for key, group in frame.groupby(list(GROUP), sort=True):
        per_seed, complete = [], True
        for _, runs in group.groupby("seed"):
            complete &= runs["fold"].nunique() == int(runs["n_folds"].max())
            per_seed.append(metrics.scores_from_confusion(pooled_confusion(runs)[0]))
        per_seed = pd.DataFrame(per_seed)
        row = dict(zip(GROUP, key), repeats=len(per_seed), runs=len(group), complete=bool(complete))
        for m in ("accuracy", "uf1", "uar"):
            row[f"{m}_mean"] = float(per_seed[m].mean())
            row[f"{m}_std"] = float(per_seed[m].std(ddof=1)) if len(per_seed) > 1 else float("nan")
        row.update({f"{k}_pooled": v for k, v in
                    metrics.scores_from_confusion(pooled_confusion(group)[0]).items()})
        unit, basis = units(group)
        row["accuracy_low"], row["accuracy_high"] = (metrics.bootstrap_interval(unit["correct"], unit["total"])
                                                     if len(unit) >= min_units else (float("nan"), float("nan")))
        row.update(interval_over=basis, interval_units=len(unit))
        row.update(commits=",".join(sorted({str(c)[:10] for c in group["commit"].dropna()})),
                   dirty=bool(group["dirty"].fillna(False).astype(bool).any()),
                   devices=",".join(sorted({str(d) for d in group["device"].dropna()})))
        marks = status.loc[group.index]
        row.update(data=data_label(marks) if current is not None else None,
                   other_data=int(marks.isin(["other data", "no fingerprint"]).sum()) if current is not None else None)
        out.append(row)
    return pd.DataFrame(out)


def _has_per_image(runs: pd.DataFrame) -> bool:
    return "image_subject" in runs and all(isinstance(v, list) for v in runs["image_subject"])


def _correct(runs: pd.DataFrame, key) -> pd.DataFrame:
    """Per value of ``key`` (a per-image column, e.g. ``image_subject``): test images and correct ones."""
    rows = [(u, t == p) for _, r in runs.iterrows() for u, t, p in zip(r[key], r["image_true"], r["image_pred"])]
    frame = pd.DataFrame(rows, columns=["unit", "hit"])
    return frame.groupby("unit", sort=True)["hit"].agg(correct="sum", total="size").reset_index()


def units(runs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The units one table cell's interval resamples (the records of one dataset, protocol,
    model, profile and variant) -> (``unit``, ``correct``, ``total`` per unit; what they are):

    * ``"repeats"``: the random splits (``paper``, ``paper-leaky``) with :data:`MIN_UNITS` or
      more repeats (the paper's 5): each repeat's pooled accuracy is one unit (total 1), the
      split-to-split spread;
    * ``"test subjects"``: otherwise, where the records keep their per-image predictions:
      each test subject's clips pooled over every run (LOSO and k-fold test each clip once
      per repeat, so this is the spread over whom the data happened to record);
    * ``"folds"``: older records without them: each fold's confusion (under LOSO, a subject
      or a subject group)."""
    protocol = str(runs["protocol"].iloc[0])
    if protocol in ("paper", "paper-leaky") and runs["seed"].nunique() >= MIN_UNITS:
        acc = [metrics.scores_from_confusion(pooled_confusion(g)[0])["accuracy"] for _, g in runs.groupby("seed")]
        return pd.DataFrame({"unit": sorted(runs["seed"].unique()), "correct": acc, "total": 1.0}), "repeats"
    if _has_per_image(runs):
        return _correct(runs, "image_subject"), "test subjects"
    rows = [(f"seed{r.seed}-fold{r.fold}", int(np.trace(np.asarray(r.confusion))), int(np.sum(r.confusion)))
            for r in runs.itertuples()]
    return pd.DataFrame(rows, columns=["unit", "correct", "total"]), "folds"


def paired(runs_a: pd.DataFrame, runs_b: pd.DataFrame, min_units: int = MIN_UNITS) -> dict:
    """Method A against method B on the same splits (records of one dataset, protocol and
    profile; matched on seed and fold, whose test clips must be the same): the difference of
    pooled accuracies A − B with its 95 % paired-bootstrap interval
    (:func:`metrics.paired_bootstrap`) over the units of :func:`units` -> ``{"difference",
    "low", "high", "units", "over", "runs"}`` (fractions; ``runs``: matched runs; no interval
    from fewer than ``min_units`` units). No matched run: ValueError."""
    out = _paired(runs_a, runs_b)
    if out["units"] < min_units:
        out["low"] = out["high"] = float("nan")
    return out


def _paired(runs_a: pd.DataFrame, runs_b: pd.DataFrame) -> dict:
    key = ["seed", "fold"]
    both = runs_a.merge(runs_b, on=key, suffixes=("_a", "_b"))
    if both.empty:
        raise ValueError("paired: the two methods have no run on the same seed and fold")
    if "data_fingerprint" in runs_a and "data_fingerprint" in runs_b:  # the same splits of the same data
        prints = {side: set(map(str, frame["data_fingerprint"])) for side, frame in (("a", runs_a), ("b", runs_b))}
        if prints["a"] != prints["b"] or len(prints["a"]) > 1:
            raise ValueError(f"paired: the two methods' records were made on other data (fingerprints "
                             f"{sorted(prints['a'])} and {sorted(prints['b'])}): not the same splits")
    a = runs_a.set_index(key).loc[list(zip(both["seed"], both["fold"]))].reset_index()
    b = runs_b.set_index(key).loc[list(zip(both["seed"], both["fold"]))].reset_index()
    protocol = str(a["protocol"].iloc[0])
    if protocol in ("paper", "paper-leaky") and a["seed"].nunique() >= MIN_UNITS:
        ua, _ = units(a)
        ub, _ = units(b)
        out = metrics.paired_bootstrap(ua["correct"], ub["correct"], ua["total"])
        return {**out, "over": "repeats", "runs": len(both)}
    if _has_per_image(a) and _has_per_image(b):
        for ra, rb in zip(a.itertuples(), b.itertuples()):
            if list(ra.image_clip) != list(rb.image_clip):
                raise ValueError(f"paired: seed {ra.seed} fold {ra.fold} tests other clips for the two methods "
                                 f"({ra.path} and {rb.path}): not the same split")
        ca, cb = _correct(a, "image_subject"), _correct(b, "image_subject")
        out = metrics.paired_bootstrap(ca["correct"], cb["correct"], ca["total"])
        return {**out, "over": "test subjects", "runs": len(both)}
    ta = [int(np.sum(c)) for c in a["confusion"]]
    if ta != [int(np.sum(c)) for c in b["confusion"]]:
        raise ValueError("paired: the matched runs test different numbers of images: not the same split")
    out = metrics.paired_bootstrap([np.trace(np.asarray(c)) for c in a["confusion"]],
                                   [np.trace(np.asarray(c)) for c in b["confusion"]], ta)
    return {**out, "over": "folds", "runs": len(both)}


def git_state() -> dict:
    """The commit of the package's checkout and whether its tree had uncommitted changes.

    ``$LEARNET_COMMIT``, set by whoever sends a clean checkout of a commit to another machine
    (a GPU machine), wins over what that copy's ``.git`` says: such a copy may carry no
    ``.git`` or a stale one, with the sent tree showing as uncommitted changes. The record
    then names the source and leaves ``dirty`` unknown."""
    if os.environ.get("LEARNET_COMMIT"):
        return {"commit": os.environ["LEARNET_COMMIT"], "dirty": None, "source": "LEARNET_COMMIT"}

    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=20, check=True).stdout.strip()

    try:
        # records being written (data/results) are no change to the code that makes them
        return {"commit": git("rev-parse", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--", ".", ":(exclude)data/results"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def versions() -> dict:
    """Versions of the packages a result depends on (read from metadata, nothing imported)."""
    from importlib import metadata

    from . import __version__

    out = {"learnet_lite": __version__}
    for name in ("torch", "torchvision", "numpy", "scikit-learn", "opencv-python-headless"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _identity(mapping: dict) -> dict:
    missing = [k for k in IDENTITY if k not in mapping]
    if missing:
        raise ValueError(f"run identity lacks {', '.join(missing)} (expected {', '.join(IDENTITY)})")
    ident = {k: mapping[k] for k in IDENTITY}
    record_path(".", **ident)  # validates
    return {k: (int(v) if k in ("seed", "fold") else v) for k, v in ident.items()}


def _plain(value):
    """numpy scalars/arrays -> plain Python, for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _json_default(value):
    plain = _plain(value)
    if plain is value:
        raise TypeError(f"run record: cannot store a {type(value).__name__} as JSON")
    return plain

