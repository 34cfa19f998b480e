"""One experiment of the paper's Sec. IV, and the grid of them (Tables III and IV).

A run is (dataset, protocol, model, profile, variant, seed, fold): the clips of the dataset
(:func:`clips`), one 112x112 input image per clip computed once per dataset and cached
(:func:`inputs`), the fold's train/val/test copies from :func:`protocols.split_for`, the
training copies augmented by :func:`augment.render_plan`, :func:`train.fit` for the
profile's fixed number of epochs, the test predictions scored and written as a run record
(:mod:`results`), which a later run skips.

The datasets are the four of Table II and ``smic_2class``: SMIC read with the release's
negative/positive labels, Table IV's 2-class rows (:data:`LABEL_SETS`).

``variant`` names the input: ``bilen`` or ``learnet`` (the dynamic image with those rank
pooling weights, :mod:`dynamic`), or ``apex-frame``: the clip's apex frame alone (the
middle frame where the apex is not annotated), the single-frame control that shows what
the dynamic image adds.

The ``book`` profile may set ``loso_groups: k``: the subjects are dealt round robin into
``k`` groups and each group is left out once (still no subject on both sides, every clip
tested once), k trainings instead of one per subject, so that it fits the book's CPU
budget; the record says so (``extra.subject_groups``). ``null`` is LOSO proper.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import augment, models, profiles, protocols, results, train

INPUT_SIZE = models.INPUT_SIZE
VARIANTS = ("bilen", "learnet", "apex-frame")
DATASETS = ("casme", "casme2", "casme_sq", "smic", "smic_2class")
# a run's dataset key -> (the release it reads, the class set): Table IV also runs SMIC with
# two classes (negative/positive, the text's SMIC-I), read from the same release (or twin)
LABEL_SETS = {"smic_2class": ("smic", "2class")}
GRID_MODELS = ("learnet", "vgg16", "vgg19", "resnet18")
CACHE_DIR = profiles.REPO_ROOT / "data" / "cache"
CHECKPOINT_DIR = ".checkpoints"


def twin_root(dataset: str, settings: dict) -> Path:
    """Where a release is read from: ``$DATA_ROOT/<dataset>`` when that folder is there
    (:func:`profiles.dataset_folder`; a ``DATA_ROOT`` may hold only some datasets), else its
    synthetic twin: ``data/synthetic/<dataset>``, or ``data/synthetic/_scale<s>_amplitude<a>
    [_raw]/<dataset>`` for a profile's reduced twin (``twin_scale`` < 1, the smoke profile),
    one of another motion amplitude (``twin_amplitude``) or of the raw layout. Twins are never
    written under ``DATA_ROOT``."""
    folder, licensed = profiles.dataset_folder(dataset)
    if licensed:
        return folder
    scale = float(settings.get("twin_scale", 1.0))
    amplitude = settings.get("twin_amplitude")
    tag = (f"_scale{scale:g}" if scale < 1 else "") + (f"_amplitude{float(amplitude):g}" if amplitude is not None else "")
    if settings.get("layout", "cropped") == "raw":
        tag = (tag or "_") + "_raw"
    return folder.parent / tag / dataset if tag else folder


def source(dataset: str) -> tuple[str, str]:
    """The release a dataset key reads and its class set (:data:`LABEL_SETS`):
    ``"smic_2class"`` -> ``("smic", "2class")``, any other key -> ``(key, "table2")``."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    return LABEL_SETS.get(dataset, (dataset, "table2"))


def clips(dataset: str, settings: dict | None = None) -> pd.DataFrame:
    """The clip table of ``dataset`` (:func:`datasets.load`) from its licensed copy where
    ``DATA_ROOT`` has one, else from its twin, generated first when missing
    (:func:`synthetic.generate`, reused when present). The profile's ``layout`` and
    ``on_error`` apply (the profiles say ``skip``: clips with defects are left out and listed
    in ``df.attrs["findings"]``, :func:`datasets.left_out`). ``smic_2class`` reads SMIC's
    release (or twin) with its negative/positive labels; its ``dataset`` column says
    ``smic_2class``, which keeps its records and input cache apart."""
    from . import datasets

    settings = settings or {}
    release, label_set = source(dataset)
    root = twin_root(release, settings)
    layout = settings.get("layout", "cropped")
    licensed = profiles.dataset_folder(release)[1]
    read = dict(layout=layout, on_error=settings.get("on_error", "raise"), label_set=label_set)
    if licensed:
        df = datasets.load(release, root, **read)
    else:   # generated when missing, reused when present, and read once
        from . import synthetic

        kwargs = {"scale": float(settings.get("twin_scale", 1.0)), "progress": False}
        if settings.get("twin_amplitude") is not None:
            kwargs["amplitude"] = float(settings["twin_amplitude"])
        df = synthetic.generate(release, root, seed=int(settings.get("twin_seed", 0)), **kwargs, **read)
    return df.assign(dataset=dataset)


def _one_input(row, variant: str, size: int) -> np.ndarray:
    import cv2

    from .datasets import apex_index, read_frame, read_frames
    from .dynamic import dynamic_image, to_uint8

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

        twin = synthetic.twin_manifest(root).get("settings") if source == "twin" and synthetic.is_complete(root) else None

    def rel(f):
        f = Path(f)
        return (f.relative_to(root) if f.is_relative_to(root) else Path(os.path.relpath(f, root))).as_posix()

    rows = sorted(([str(r.get("subject")), str(r.get("clip")), None if pd.isna(r.get("label")) else str(r["label"]),
                    str(r.get("emotion")), [rel(f) for f in r["frames"]]] for r in df.to_dict("records")),
                  key=lambda row: (_natural(row[0]), _natural(row[1])))
    payload = json.dumps({"source": source, "twin": twin, "clips": rows}, sort_keys=True, default=str)
    return {"source": source, "generator_version": (twin or {}).get("version"), "twin_settings": twin,
            "clips": len(rows), "sha256": hashlib.sha256(payload.encode()).hexdigest()[:16]}


def current_fingerprints(settings: dict, datasets) -> dict:
    """dataset -> the ``sha256`` of :func:`data_fingerprint` of the clips a run with
    ``settings`` reads now (:func:`clips`: twins generated when missing, else reused)."""
    return {d: data_fingerprint(clips(d, settings))["sha256"] for d in dict.fromkeys(datasets)}


def inputs(df: pd.DataFrame, variant: str = "bilen", size: int = INPUT_SIZE, cache_dir=CACHE_DIR,
           progress: bool = True) -> np.ndarray:
    """One uint8 (size, size, 3) input per clip of ``df``, in its row order: the dynamic image
    (stretched to 0..255 as the authors' code does, then resized) or the apex frame.

    Cached as ``cache_dir/<dataset>-<variant>-<size>-<fingerprint>.npz`` (written to a temp
    file and renamed), the fingerprint naming the clips and their frames; ``cache_dir=None``
    computes without caching."""
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    if df.empty:
        raise ValueError("inputs: the clip table is empty")
    dataset = str(df["dataset"].iloc[0]) if "dataset" in df else "clips"
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"{dataset}-{variant}-{size}-{_fingerprint(df)}.npz"
        if path.is_file():
            with np.load(path) as z:
                return z["images"]
    rows = list(df.itertuples(index=False))
    images = np.stack([_one_input(r, variant, size) for r in
                       tqdm(rows, desc=f"{dataset} {variant}", unit="clip", disable=not progress)])
    if path is not None:
        with profiles.temp_beside(path, suffix=".npz") as tmp:
            np.savez(tmp, images=images)
            os.replace(tmp, path)
    return images


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W), centred: (x/255 - 0.5) / 0.25."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return (x / 255.0 - 0.5) / 0.25


def group_subjects(df: pd.DataFrame, groups: int | None) -> pd.DataFrame:
    """``df`` with ``subject`` replaced by one of ``groups`` subject groups (round robin over
    the subjects in natural order); ``None`` leaves it as is (LOSO proper)."""
    if not groups:
        return df
    subjects = sorted(pd.unique(df["subject"]), key=_natural)
    if groups >= len(subjects):
        return df
    members = {g: [s for i, s in enumerate(subjects) if i % groups == g] for g in range(groups)}
    label = {s: "+".join(map(str, members[g])) for g in members for s in members[g]}
    return df.assign(subject=df["subject"].map(label))


def _natural(value):
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(value)))


@dataclass
class Prepared:
    """A dataset ready to train on: clips, their inputs and labels, the class order."""

    dataset: str
    variant: str
    df: pd.DataFrame
    images: np.ndarray
    classes: list
    labels: np.ndarray
    info: dict = field(default_factory=dict)


def prepare(dataset: str, settings: dict, variant: str = "bilen", df: pd.DataFrame | None = None,
            cache_dir=CACHE_DIR, progress: bool = True) -> Prepared:
    """Load (or take) the clips of ``dataset`` and compute their inputs once; ``info`` (kept in
    each record as ``extra.data``) carries the data's :func:`data_fingerprint`."""
    if df is None:
        df = clips(dataset, settings)
    df = df.reset_index(drop=True).assign(dataset=dataset)  # names the input cache (:func:`inputs`)
    missing = [c for c in ("subject", "emotion", "frames") if c not in df.columns]
    if missing:
        raise ValueError(f"{dataset}: the clip table lacks column(s) {', '.join(missing)}")
    images = inputs(df, variant, INPUT_SIZE, cache_dir, progress)
    classes = sorted(pd.unique(df["emotion"]).tolist(), key=str)
    labels = np.array([classes.index(e) for e in df["emotion"]], dtype=np.int64)
    info = {"clips": int(len(df)), "subjects": int(df["subject"].nunique()),
            "synthetic": profiles.using_synthetic_data(dataset), "data_root": str(twin_root(source(dataset)[0], settings)),
            "fingerprint": data_fingerprint(df)}
    return Prepared(dataset, variant, df, images, classes, labels, info)


def folds(prep: Prepared, protocol: str, settings: dict, seed: int) -> list:
    """The folds of ``protocol`` (:func:`protocols.split_for`), with the profile's subject
    grouping for ``loso``."""
    df = prep.df
    if protocol == "loso":
        df = group_subjects(df, settings.get("loso_groups"))
    return protocols.split_for(df, protocol, settings, seed=seed)


def _checkpoint_path(results_dir, ident: dict) -> Path:
    record = results.record_path(results_dir, **ident)
    return Path(results_dir) / CHECKPOINT_DIR / record.relative_to(results_dir).with_suffix(".pt")


def run_fold(prep: Prepared, fold, *, model: str, profile: str, settings: dict,
             results_dir=results.RESULTS_DIR, device: str = "auto", force: bool = False,
             resume: bool = False, progress: bool = True, on_epoch=None) -> tuple[Path, bool]:
    """Train and test one fold and write its record -> (record path, trained). A recorded
    run is skipped (``trained`` False) unless ``force``. The epoch count is the profile's,
    fixed in advance; the checkpoint of each epoch lets ``resume`` continue a killed run."""
    ident = dict(dataset=prep.dataset, protocol=fold.protocol, model=model, profile=profile,
                 variant=prep.variant, seed=int(fold.seed), fold=int(fold.fold))
    path = results.record_path(results_dir, **ident)
    if path.is_file() and not force:
        return path, False
    started = time.perf_counter()
    opts = augment.Options.from_settings(settings)
    parts = {p: fold.part(p) for p in protocols.PARTS}
    train_images = augment.render_plan(prep.images, parts["train"], opts)

    def shown(part):
        return augment.render_plan(prep.images, parts[part], opts)

    y = {p: prep.labels[parts[p]["source"].to_numpy()] for p in protocols.PARTS}
    torch.manual_seed(int(fold.seed))  # the initial weights
    net = models.build(model, len(prep.classes))
    ckpt = _checkpoint_path(results_dir, ident)
    epochs = int(settings["epochs"])
    hp = dict(epochs=epochs, batch_size=int(settings.get("batch_size", 25)), lr=float(settings.get("lr", 1e-3)),
              momentum=float(settings.get("momentum", train.MOMENTUM)),
              weight_decay=float(settings.get("weight_decay", train.WEIGHT_DECAY)))
    dev = train.resolve_device(device)
    fit_start = time.perf_counter()
    resumed_at = int(train.load_checkpoint(ckpt)["epoch"]) if resume and ckpt.is_file() else 0
    history = train.fit(net, to_tensor(train_images), torch.from_numpy(y["train"]),
                        val=(to_tensor(shown("val")), torch.from_numpy(y["val"])), seed=int(fold.seed),
                        device=str(dev), progress=progress, checkpoint=ckpt,
                        checkpoint_every=int(settings.get("checkpoint_every") or 1), resume=resume,
                        on_epoch=on_epoch, **hp)
    fit_s = time.perf_counter() - fit_start
    pred = train.predict(net, to_tensor(shown("test")), device=str(dev))
    test_sources = parts["test"]["source"].to_numpy()
    classes = prep.classes
    sizes = {**fold.sizes, "image_size": INPUT_SIZE, "copies_per_train_clip": opts.copies_per_image}
    extra = {
        **hp, "n_classes": len(classes), "device_name": _device_name(dev),
        "augmentation": {"angles": list(opts.angles), "equalization": opts.equalization,
                         "keep_unequalized": opts.keep_unequalized, "flip": opts.flip},
        "history": history, "near_duplicates": fold.info.get("near_duplicates"),
        "subject_groups": settings.get("loso_groups") if fold.protocol == "loso" else None,
        "test_clips": [f"{prep.df['subject'].iloc[s]}/{prep.df['clip'].iloc[s]}" if "clip" in prep.df
                       else int(s) for s in test_sources],
        "data": prep.info,
    }
    wall = time.perf_counter() - started
    rec = results.make_record(
        **ident, y_true=[classes[i] for i in y["test"]], y_pred=[classes[i] for i in pred],
        labels=classes, sizes=sizes, device=dev.type, wall_time_s=wall, n_folds=fold.n_folds,
        test_subject=str(fold.test_subject) if fold.test_subject is not None else None, extra=extra)
    # throughput is a time, like wall_time_s (results.TIME_KEYS); a resumed run times its tail
    rec["train_images_per_s"] = len(train_images) * (epochs - resumed_at) / fit_s if fit_s > 0 else None
    written = results.write(rec, results_dir, force=force)
    if ckpt.is_file():
        ckpt.unlink()  # ours, and the record now holds the result
    return written, True


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    import platform

    return platform.processor() or platform.machine()


def run(dataset: str, protocol: str, model: str, profile: str, *, seeds=None, fold: int | None = None,
        variant: str = "bilen", device: str = "auto", results_dir=results.RESULTS_DIR, force: bool = False,
        resume: bool = False, progress: bool = True, settings: dict | None = None, df=None,
        cache_dir=CACHE_DIR) -> list[Path]:
    """Every fold (or only ``fold``) of ``protocol`` for each seed (default: the profile's
    ``repeats`` seeds 0..n-1) -> the record paths (existing ones kept unless ``force``)."""
    settings = settings or profiles.load(profile)
    seeds = list(range(int(settings.get("repeats", 1)))) if seeds is None else list(seeds)
    prep = prepare(dataset, settings, variant, df=df, cache_dir=cache_dir, progress=progress)
    out = []
    for seed in seeds:
        fs = folds(prep, protocol, settings, seed)
        if fold is not None:
            if not 0 <= fold < len(fs):
                raise ValueError(f"fold {fold}: {protocol} on {dataset} has folds 0..{len(fs) - 1}")
            fs = [fs[fold]]
        for f in tqdm(fs, desc=f"{dataset} {protocol} {model} seed {seed}", unit="fold",
                      disable=not progress or len(fs) == 1):
            out.append(run_fold(prep, f, model=model, profile=profile, settings=settings,
                                results_dir=results_dir, device=device, force=force, resume=resume,
                                progress=progress and len(fs) == 1)[0])
    return out


def reproduce(profile: str, *, datasets=None, models_=None, protocols_=None, variants=None, seeds=None,
              device: str = "auto", results_dir=results.RESULTS_DIR, force: bool = False,
              resume: bool = False, progress: bool = True, jobs: int = 1, rerun_stale: bool = False) -> pd.DataFrame:
    """The grid: datasets x models x protocols x repeats (x folds), skipping recorded runs;
    returns the aggregated table of the profile's records (:func:`results.aggregate`, its
    ``data`` column against the grid's data; ``attrs["current"]``: dataset -> sha256).

    Recorded runs made on other data than the grid's (their data fingerprint differs, or they
    have none) are counted and reported; ``rerun_stale`` re-runs exactly those, overwriting
    them, while ``force`` re-runs everything.

    ``jobs`` > 1 trains that many runs at once in worker processes, repeats outermost (every
    dataset and model gets seed 0 before any gets seed 1, so a grid cut short still covers
    the tables). On a GPU, one batch-25 run leaves the device mostly idle (kernel launches,
    not arithmetic, bound it), so several runs share it well; on a CPU keep ``jobs=1``."""
    settings = profiles.load(profile)
    datasets = list(datasets or settings.get("datasets", DATASETS))
    models_ = list(models_ or settings.get("models", GRID_MODELS))
    protocols_ = list(protocols_ or settings.get("protocols", protocols.PROTOCOLS))
    variants = list(variants or [settings.get("variant", "bilen")])
    seeds = list(range(int(settings.get("repeats", 1)))) if seeds is None else list(seeds)
    bad = [p for p in protocols_ if p not in protocols.PROTOCOLS]
    if bad:
        raise ValueError(f"protocols {bad}: expected some of {', '.join(protocols.PROTOCOLS)}")
    bad = [m for m in models_ if m not in models.NAMES]
    if bad:
        raise ValueError(f"models {bad}: expected some of {', '.join(models.NAMES)}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    common = dict(profile=profile, settings=settings, results_dir=results_dir, device=device, force=force,
                  resume=resume, progress=False)
    preps, todo = _grid(datasets, variants, protocols_, models_, seeds, settings, progress)
    current = {d: prep.info["fingerprint"]["sha256"] for (d, _), prep in preps.items()}
    stale, recorded = set(), 0
    for dataset, variant, protocol, seed, model, f in todo:
        path = results.record_path(results_dir, dataset, protocol, model, profile, variant, seed, f.fold)
        if path.is_file():
            recorded += 1
            if results.record_fingerprint(results.read(path)) != current[dataset]:
                stale.add((dataset, variant, protocol, seed, model, f.fold))
    if stale:
        tqdm.write(f"{len(stale)} of {recorded} recorded runs of this grid were made on other data than it reads now "
                   "(data fingerprint differs or missing): " + ("re-running them" if rerun_stale or force else
                                                                "kept; --rerun-stale re-runs them"))
    stale = stale if rerun_stale else set()
    if jobs == 1:
        bar = tqdm(todo, desc="grid", unit="run", disable=not progress)
        for dataset, variant, protocol, seed, model, f in bar:
            bar.set_postfix_str(f"{dataset} {protocol} {model} seed {seed} fold {f.fold}")
            again = (dataset, variant, protocol, seed, model, f.fold) in stale
            run_fold(preps[dataset, variant], f, model=model, **{**common, "force": force or again})
    else:
        _reproduce_parallel(todo, jobs, common, progress, stale)
    records = results.load_records(Path(results_dir) / profile)
    table = results.aggregate(records, current) if not records.empty else pd.DataFrame()
    table.attrs["current"] = current
    return table


def _grid(datasets, variants, protocols_, models_, seeds, settings, progress):
    """Every dataset's inputs, computed (and cached) once, and the grid's runs in order:
    dataset, variant, protocol, seed, fold, model."""
    preps, todo = {}, []
    for dataset in datasets:
        for variant in variants:
            prep = preps[dataset, variant] = prepare(dataset, settings, variant, progress=progress)
            for protocol in protocols_:
                for seed in seeds:
                    todo += [(dataset, variant, protocol, seed, model, f)
                             for f in folds(prep, protocol, settings, seed) for model in models_]
    return preps, todo


def _reproduce_parallel(todo, jobs, common, progress, stale=frozenset()):
    import multiprocessing

    # workers get the run's name, not its fold: they rebuild it from the cached inputs
    named = sorted(((seed, dataset, model, protocol, variant, f.fold)
                    for dataset, variant, protocol, seed, model, f in todo), key=lambda job: job[0])
    failures = []
    pool = multiprocessing.get_context("spawn").Pool(jobs)

    def args(job):  # a stale run (reproduce's rerun_stale) overwrites its record
        seed, dataset, model, protocol, variant, fold = job
        again = (dataset, variant, protocol, seed, model, fold) in stale
        return job, {**common, "force": common["force"] or again}

    try:
        bar = tqdm(pool.imap_unordered(_run_job, [args(job) for job in named]), total=len(named),
                   desc=f"grid ({jobs} at once)", unit="run", disable=not progress)
        for job, error in bar:
            if error:
                seed, dataset, model, protocol, variant, fold = job
                failures.append(f"{dataset} {protocol} {model} {variant} seed {seed} fold {fold}: {error}")
                bar.write(f"FAILED {failures[-1]}")
        pool.close()
    except BaseException:  # interrupted: stop every worker now (their checkpoints stay for --resume)
        pool.terminate()
        raise
    finally:
        pool.join()
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(named)} runs failed:\n" + "\n".join(failures))


def _run_job(args) -> tuple:
    job, common = args
    seed, dataset, model, protocol, variant, fold = job
    try:
        prep = prepare(dataset, common["settings"], variant, progress=False)  # the cached inputs
        f = folds(prep, protocol, common["settings"], seed)[fold]
        run_fold(prep, f, model=model, **common)
    except Exception as exc:  # reported by the parent, which goes on with the other runs
        return job, f"{type(exc).__name__}: {exc}"
    return job, None


def add_cli(subparsers) -> None:
    """``learnet-lite train`` (one run) and ``learnet-lite reproduce`` (the grid)."""
    p = subparsers.add_parser("train", help="train and test one (dataset, protocol, model, seed[, fold]) run; "
                              "writes its run record")
    p.add_argument("--dataset", required=True, choices=DATASETS)
    p.add_argument("--protocol", required=True, choices=protocols.PROTOCOLS)
    p.add_argument("--model", default="learnet", choices=models.NAMES)
    p.add_argument("--seed", type=int, default=None, help="repeat (default: every repeat of the profile)")
    p.add_argument("--fold", type=int, default=None, help="only this fold (default: every fold)")
    _common(p)
    p.set_defaults(func=_train_command)
    r = subparsers.add_parser("reproduce", help="run the whole grid of a profile (skipping recorded runs), "
                              "then print the tables")
    r.add_argument("--datasets", nargs="+", choices=DATASETS, help="default: the profile's, else all of them")
    r.add_argument("--models", nargs="+", choices=models.NAMES, help="default: the profile's, else "
                   f"{' '.join(GRID_MODELS)}")
    r.add_argument("--protocols", nargs="+", choices=protocols.PROTOCOLS, help="default: the profile's")
    r.add_argument("--seeds", nargs="+", type=int, help="default: 0..repeats-1 of the profile")
    r.add_argument("--jobs", type=int, default=1, help="runs trained at once in worker processes, seed 0 of "
                   "everything first (a GPU: 4-8; a CPU: 1, the default)")
    r.add_argument("--rerun-stale", action="store_true", help="re-run (overwrite) the recorded runs made on other "
                   "data than the grid reads now (data fingerprint differs or missing); the others stay skipped")
    _common(r)
    r.set_defaults(func=_reproduce_command)


def _common(p):
    p.add_argument("--profile", default="book", choices=profiles.PROFILES, help="run profile (default: %(default)s)")
    p.add_argument("--variant", default=None, choices=VARIANTS,
                   help="input: dynamic image with these rank pooling weights, or the apex frame (default: bilen)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
    p.add_argument("--results", default=str(results.RESULTS_DIR), help="records folder (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="re-run and overwrite runs that are already recorded")
    p.add_argument("--resume", action="store_true", help="continue killed runs from their last epoch checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _train_command(args) -> int:
    paths = run(args.dataset, args.protocol, args.model, args.profile,
                seeds=None if args.seed is None else [args.seed], fold=args.fold,
                variant=args.variant or "bilen", device=args.device, results_dir=args.results,
                force=args.force, resume=args.resume, progress=not args.quiet)
    for path in paths:
        r = results.read(path)
        m = r["metrics"]
        print(f"{path}: accuracy {m['accuracy']:.4f}  UF1 {m['uf1']:.4f}  UAR {m['uar']:.4f}")
    return 0


def _reproduce_command(args) -> int:
    table = reproduce(args.profile, datasets=args.datasets, models_=args.models, protocols_=args.protocols,
                      variants=[args.variant] if args.variant else None, seeds=args.seeds,
                      device=args.device, results_dir=args.results, force=args.force, resume=args.resume,
                      progress=not args.quiet, jobs=args.jobs, rerun_stale=args.rerun_stale)
    if table.empty:
        print("no records")
        return 0
    cols = list(results.GROUP) + ["repeats", "complete", "accuracy_mean", "accuracy_std", "uf1_pooled", "uar_pooled",
                                  "data"]
    print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    records = results.load_records(Path(args.results) / args.profile)
    variant = args.variant or profiles.load(args.profile).get("variant", "bilen")
    for name in ("table3", "table4"):  # the paper's CNN rows beside ours (percent)
        t = results.paper_table(name, records, args.profile, variant, current=table.attrs.get("current"))
        t = t[t["our_model"].map(lambda m: isinstance(m, str) and bool(m))]
        shown = ["method", "dataset", "classes", "accuracy"] + [f"acc_{p}" for p in protocols.PROTOCOLS] + ["data"]
        print(f"\n{name} (accuracy %, paper beside ours, profile {args.profile}):")
        print(t[shown].rename(columns={"accuracy": "paper"}).to_string(index=False, float_format=lambda x: f"{x:.2f}",
                                                                         na_rep="-"))
    return 0
