"""Run records and the tables made from them (Tables III and IV, Figs. 7–10).

One JSON record per run (dataset, protocol, model, profile, seed, fold): its metrics
(:mod:`metrics`), confusion matrix with class order, sizes, dynamic-image variant and its
provenance (git commit and dirty flag, package versions, device, wall time). Records are
written atomically and never overwritten without ``force``; their path follows from the
run's identity, so a grid run skips what is already recorded (:func:`exists`). Tables are
aggregated from records (:func:`aggregate`), never typed in.
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

from . import metrics
from .profiles import REPO_ROOT, temp_beside

RESULTS_DIR = REPO_ROOT / "data" / "results"
IDENTITY = ("dataset", "protocol", "model", "profile", "variant", "seed", "fold")
GROUP = ("dataset", "protocol", "model", "profile", "variant")
TIME_KEYS = ("wall_time_s", "created", "train_images_per_s")  # the only fields two identical CPU runs may differ in
SCHEMA = 1
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


def exists(folder, **identity) -> bool:
    """True if the run with this identity (see :data:`IDENTITY`) is already recorded."""
    return record_path(folder, **_identity(identity)).is_file()


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
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git": git_state(),
        "versions": versions(),
        "extra": json.loads(json.dumps(extra or {}, default=_json_default)),
    }


def write(record: dict, folder=RESULTS_DIR, force: bool = False) -> Path:
    """Write ``record`` to its :func:`record_path` atomically (temp file in the same folder,
    then a rename), refusing to replace an existing record unless ``force``."""
    path = record_path(folder, **_identity(record))
    exists = FileExistsError(f"{path}: a record of this run already exists; "
                             "pass force=True (--force) to overwrite it")
    with temp_beside(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1, default=_json_default)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic and never clobbers: fails if the record exists
            except FileExistsError:
                raise exists from None
            except OSError:  # file system without hard links
                if path.exists():
                    raise exists from None
                os.replace(tmp, path)
    return path


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
    the file's ``path``."""
    rows = []
    for path in sorted(Path(folder).rglob("*.json")):
        r = read(path)
        row = {k: r[k] for k in IDENTITY}
        row.update(n_folds=r.get("n_folds", 1), test_subject=r.get("test_subject"), **r["metrics"])
        row.update(labels=r["labels"], confusion=r["confusion"], **r.get("sizes", {}))
        git = r.get("git") or {}
        row.update(commit=git.get("commit"), dirty=git.get("dirty"), device=r.get("device"),
                   wall_time_s=r.get("wall_time_s"), data_fingerprint=record_fingerprint(r), path=str(path))
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
    fingerprints = records["data_fingerprint"] if "data_fingerprint" in records else pd.Series(None, index=records.index)

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
    return _data_label(sum(s in ("other data", "no fingerprint") for s in statuses), len(statuses),
                       bool(statuses) and all(s is not None for s in statuses))


def _data_label(other: int, total: int, checked: bool) -> str | None:
    if other:
        return f"other {other}/{total}"
    return "current" if checked and total else None


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


def aggregate(records, current: dict | None = None) -> pd.DataFrame:
    """One row per (dataset, protocol, model, profile, variant): over repeats (seeds), the
    mean and sample std of accuracy, UF1 and UAR, each repeat's scores computed on its folds
    pooled (for one-fold protocols: that fold); ``*_pooled``: everything pooled. Also
    ``repeats``, ``complete`` (every repeat has all its folds) and provenance (commits,
    devices, dirty). Fractions, not percent. With ``current`` (dataset -> sha256 of the data
    now in use, :func:`data_status`): ``data`` (:func:`data_label`) and ``other_data`` (how
    many of the row's records were not made on that data); None without it."""
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
        row.update(commits=",".join(sorted({str(c)[:10] for c in group["commit"].dropna()})),
                   dirty=bool(group["dirty"].fillna(False).astype(bool).any()),
                   devices=",".join(sorted({str(d) for d in group["device"].dropna()})))
        marks = status.loc[group.index]
        row.update(data=data_label(marks) if current is not None else None,
                   other_data=int(marks.isin(["other data", "no fingerprint"]).sum()) if current is not None else None)
        out.append(row)
    return pd.DataFrame(out)


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
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
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


# the paper's "ResNet" (Table V: 34 layers but 11M parameters, ResNet-18's size) -> ours
PAPER_MODEL_ALIASES = {"resnet": "resnet18"}


def beside_paper(table: pd.DataFrame, paper_rows: pd.DataFrame, protocols=("paper", "paper-leaky", "loso"),
                 aliases: dict | None = None) -> pd.DataFrame:
    """The paper's accuracy (``data/paper/table3.csv``/``table4.csv`` rows) beside ours:
    one row per paper row, per protocol our ``acc_<protocol>`` (mean over repeats, percent),
    ``std_<protocol>``, ``diff_<protocol>`` (ours minus the paper's), ``uf1_<protocol>``,
    ``uar_<protocol>`` (pooled) and ``repeats_<protocol>``; NaN where not run, listed in
    ``not_run``. Where ``table`` says which records were made on the data now in use
    (:func:`aggregate` with ``current``): ``data_<protocol>`` and ``data`` over the row's
    protocols, "current" or "other data (n of m records)". Quoted handcrafted rows stay, with
    nothing of ours beside them."""
    aliases = {**PAPER_MODEL_ALIASES, **(aliases or {})}
    rows = []
    for p in paper_rows.to_dict("records"):
        row = dict(p)
        model = p.get("model")
        model = aliases.get(model, model) if isinstance(model, str) and model else None
        row["our_model"] = model
        not_run, other, total, checked = [], 0, 0, True
        for protocol in protocols:
            hit = pd.DataFrame()
            if model is not None and not table.empty:
                hit = table[(table["dataset"] == p["dataset"]) & (table["model"] == model)
                            & (table["protocol"] == protocol)]
            if len(hit) > 1:
                raise ValueError(f"beside_paper: {len(hit)} result rows for {p['dataset']}/{model}/{protocol} "
                                 f"(profiles {sorted(hit['profile'])}, variants {sorted(hit['variant'])}); "
                                 "select one profile and variant first")
            if len(hit) == 1:
                h = hit.iloc[0]
                acc = 100 * h["accuracy_mean"]
                row.update({f"acc_{protocol}": acc, f"std_{protocol}": 100 * h["accuracy_std"],
                            f"diff_{protocol}": acc - p["accuracy"], f"uf1_{protocol}": h["uf1_pooled"],
                            f"uar_{protocol}": h["uar_pooled"], f"repeats_{protocol}": int(h["repeats"]),
                            f"data_{protocol}": h.get("data")})
                if pd.isna(h.get("other_data")):
                    checked = False
                else:
                    other, total = other + int(h["other_data"]), total + int(h["runs"])
            else:
                row.update({f"{k}_{protocol}": float("nan") for k in ("acc", "std", "diff", "uf1", "uar", "repeats")})
                row[f"data_{protocol}"] = None
                if model is not None:
                    not_run.append(protocol)
        row["data"] = _data_label(other, total, checked)
        row["not_run"] = ",".join(not_run)
        rows.append(row)
    return pd.DataFrame(rows)


def paper_figure(number: int) -> pd.DataFrame:
    """The paper's Fig. 7-10 confusion matrix as printed, as a square table: index = the
    printed "TRUE LABEL" axis, columns = the printed "PREDICTED LABEL" axis (see the notes
    in ``data/paper/fig<number>.csv`` on why the printed titles may be swapped)."""
    from . import paper

    fig = paper.table(f"fig{number}")
    order = list(dict.fromkeys(fig["true"]))
    return fig.pivot(index="true", columns="predicted", values="value").loc[order, order]


def add_cli(subparsers) -> None:
    """``learnet-lite tables``: the tables aggregated from the run records."""
    p = subparsers.add_parser("tables", help="aggregate run records into tables (mean ± std over repeats, pooled UF1/UAR)",
                              description=aggregate.__doc__.splitlines()[0])
    p.add_argument("--results", default=str(RESULTS_DIR), help="folder of run records (default: %(default)s)")
    p.add_argument("--profile", help="only records of this profile")
    p.add_argument("--csv", help="also write the table to this CSV file (atomically)")
    p.set_defaults(func=_tables_command)


def _tables_command(args) -> int:
    folder = Path(args.results)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of run records")
    records = load_records(folder)
    if args.profile:
        records = records[records["profile"] == args.profile]
    table = aggregate(records)
    if table.empty:
        print(f"no run records under {folder}" + (f" for profile {args.profile}" if args.profile else ""))
        return 0
    shown = table[list(GROUP) + ["repeats", "complete", "accuracy_mean", "accuracy_std", "uf1_pooled", "uar_pooled"]]
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if args.csv:
        out = Path(args.csv)
        tmp = out.with_name(f".{out.name}.tmp")
        table.to_csv(tmp, index=False)
        os.replace(tmp, out)
    return 0


# the paper's class abbreviations in Figs. 7-10 -> the class names of our records
PAPER_CLASS_NAMES = {"happy": "happiness", "sad": "sadness"}


def fill_command(profile: str, dataset: str, model: str, protocols) -> str:
    """The command that records the missing runs of one table cell group."""
    return (f"learnet-lite reproduce --profile {profile} --datasets {dataset} --models {model} "
            f"--protocols {' '.join(protocols)}")


# a paper row's (dataset, classes) -> the dataset of our records where the paper ran a dataset
# with other classes than Table II's: Table IV's 2-class SMIC (SMIC-I), experiment.LABEL_SETS
CLASS_SET_DATASETS = {("smic", 2): "smic_2class"}


def paper_table(name: str, records: pd.DataFrame, profile: str, variant: str = "bilen",
                protocols=("paper", "paper-leaky", "loso"), current: dict | None = None) -> pd.DataFrame:
    """Table III (``"table3"``) or IV (``"table4"``) beside our runs of one profile and input
    variant (:func:`beside_paper`). Each paper row's ``dataset`` becomes the dataset of our
    records it compares with (:data:`CLASS_SET_DATASETS`: Table IV's 2-class rows ->
    ``smic_2class``; the printed name stays in ``paper_dataset``). A row whose class count
    still differs from our records' gets no numbers of ours; ``fill`` names the command that
    records whatever of a CNN row was not run (empty for the quoted handcrafted rows);
    ``current`` (dataset -> sha256 of the data now in use) fills ``data`` (:func:`beside_paper`)."""
    from . import paper

    rows = paper.table(name)
    rows.insert(rows.columns.get_loc("dataset") + 1, "paper_dataset", rows["dataset"])
    rows["dataset"] = [CLASS_SET_DATASETS.get((d, int(k)), d) for d, k in zip(rows["dataset"], rows["classes"])]
    sel = records
    if not records.empty:
        sel = records[(records["profile"] == profile) & (records["variant"] == variant)]
    table = aggregate(sel, current) if not sel.empty else pd.DataFrame(columns=list(GROUP))
    out = beside_paper(table, rows, protocols)
    n_classes = {d: len(g["labels"].iloc[0]) for d, g in sel.groupby("dataset")} if not sel.empty else {}
    fills = []
    for i, row in out.iterrows():
        model = row["our_model"]
        if not isinstance(model, str) or not model:  # a quoted handcrafted row
            fills.append("")
            continue
        ours = n_classes.get(row["dataset"])
        if ours is not None and int(row["classes"]) != ours:
            for p in protocols:
                for k in ("acc", "std", "diff", "uf1", "uar", "repeats"):
                    out.at[i, f"{k}_{p}"] = float("nan")
                out.at[i, f"data_{p}"] = None
            out.at[i, "data"] = None
            out.at[i, "not_run"] = ",".join(protocols)
            fills.append(f"not run: our {row['dataset']} records have {ours} classes, this row {int(row['classes'])}")
            continue
        missing = [p for p in protocols if pd.isna(row[f"acc_{p}"])]
        fills.append(fill_command(profile, row["dataset"], model, missing) if missing else "")
    out["fill"] = fills
    return out


def confusion_beside_paper(number: int, records: pd.DataFrame, profile: str, variant: str = "bilen",
                           model: str = "learnet", prefer=("paper", "loso", "paper-leaky")):
    """Fig. ``number`` (7-10) as printed and our pooled confusion in the same class order
    and orientation (rows = the printed 'PREDICTED LABEL' axis, columns = 'TRUE LABEL';
    each column a true class, normalised to sum 1). Returns ``(paper, ours, protocol)``;
    ``ours`` is None when no record of the dataset exists (then ``protocol`` is None)."""
    printed = paper_figure(number)  # index true, columns predicted
    from . import paper

    dataset = str(paper.table(f"fig{number}")["dataset"].iloc[0])
    paper_view = printed.T  # rows predicted, columns true: as printed
    names = [PAPER_CLASS_NAMES.get(c, c) for c in paper_view.columns]
    sel = pd.DataFrame()
    if not records.empty:
        sel = records[(records["profile"] == profile) & (records["variant"] == variant)
                      & (records["model"] == model) & (records["dataset"] == dataset)]
    for protocol in prefer:
        runs = sel[sel["protocol"] == protocol] if not sel.empty else sel
        if runs.empty:
            continue
        cm, labels = pooled_confusion(runs)
        pos = {c: i for i, c in enumerate(labels)}
        full = np.zeros((len(names), len(names)))
        for a, ta in enumerate(names):
            for b, tb in enumerate(names):
                if ta in pos and tb in pos:
                    full[a, b] = cm[pos[ta], pos[tb]]  # rows true, columns predicted
        rates = metrics.normalize_rows(full).T  # -> rows predicted, columns true
        ours = pd.DataFrame(rates, index=paper_view.index, columns=paper_view.columns)
        return paper_view, ours, protocol
    return paper_view, None, None
