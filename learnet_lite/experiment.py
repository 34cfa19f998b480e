"""One experiment of the paper's Sec. IV, and the grid of them (Tables III and IV).

A run is (dataset, protocol, model, profile, variant, seed, fold): the clips of the dataset
(:func:`inputs.clips`), one 112x112 input image per clip computed once per dataset and cached
(:func:`inputs.images`), the fold's train/val/test copies from :func:`protocols.split_for`, the
training copies augmented by :func:`augment.render_plan`, :func:`train.fit` for the
profile's fixed number of epochs, the test predictions scored and written as a run record
(:mod:`results`), which a later run skips.

``variant`` names the input: ``bilen`` or ``learnet`` (the dynamic image with those rank
pooling weights, :mod:`dynamic`), or ``apex-frame``: the clip's apex frame alone (the
middle frame where the apex is not annotated), the single-frame control that shows what
the dynamic image adds.

The handcrafted baselines of Tables III-IV (``lbptop-svm``, ``lbptop-elm``, ``mdmo-svm``,
:mod:`handcrafted`) are models of the same grid: the same folds, the same records. They
read the clip's frames, not a network input, so their records' variant is
:data:`HANDCRAFTED_VARIANT` whatever the grid's inputs, and they train once per fold on the
fold's training *clips*, without augmentation (their papers augment nothing): under
``paper-leaky`` a test clip whose copies are in training is then in training itself. The
validation clips are left out, as for the networks, and not used (the classifiers' settings
are their papers', nothing is tuned).

The ``book`` profile may set ``loso_groups: k``: the subjects are dealt round robin into
``k`` groups and each group is left out once (still no subject on both sides, every clip
tested once), k trainings instead of one per subject, so that it fits the book's CPU
budget; the record says so (``extra.subject_groups``). ``null`` is LOSO proper.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import augment, files, handcrafted, inputs, models, profiles, protocols, results, train
from .frames import natural_key
from .profiles import Profile

INPUT_SIZE, VARIANTS, DATASETS, CACHE_DIR = inputs.INPUT_SIZE, inputs.VARIANTS, inputs.DATASETS, inputs.CACHE_DIR
HANDCRAFTED_VARIANT = profiles.HANDCRAFTED_VARIANT  # the handcrafted methods' records: they read the clip's frames
CHECKPOINT_DIR = ".checkpoints"
EXECUTORS = ("local", "process", "ray")  # how reproduce trains the grid's runs
RAY_EXTRA = "pip install -e '.[grid]'"  # ray==2.60.0, pyproject.toml's extra "grid"


def group_subjects(df: pd.DataFrame, groups: int | None) -> pd.DataFrame:
    """``df`` with ``subject`` replaced by one of ``groups`` subject groups (round robin over
    the subjects in natural order); ``None`` leaves it as is (LOSO proper)."""
    if not groups:
        return df
    subjects = sorted(pd.unique(df["subject"]), key=natural_key)
    if groups >= len(subjects):
        return df
    members = {g: [s for i, s in enumerate(subjects) if i % groups == g] for g in range(groups)}
    label = {s: "+".join(map(str, members[g])) for g in members for s in members[g]}
    return df.assign(subject=df["subject"].map(label))


@dataclass
class Prepared:
    """A dataset ready to train on: clips, their inputs and labels, the class order;
    :meth:`features`, the handcrafted features of its clips (computed once per feature and kept,
    so that a process or Ray worker given this object computes nothing; cached on disk too)."""

    dataset: str
    variant: str
    df: pd.DataFrame
    images: np.ndarray
    classes: list
    labels: np.ndarray
    info: dict = field(default_factory=dict)
    cache_dir: object = CACHE_DIR
    computed: dict = field(default_factory=dict, repr=False)  # feature -> its array, once computed

    def features(self, feature: str) -> np.ndarray:
        """The clips' ``feature`` (:func:`handcrafted.features`: ``lbptop`` or ``mdmo``), one row per clip."""
        if feature not in self.computed:
            self.computed[feature] = handcrafted.features(self.df, feature, self.cache_dir, progress=False)
        return self.computed[feature]


def record_variant(model: str, variant: str) -> str:
    """The variant a run of ``model`` on input ``variant`` is recorded under: the input for a
    network, :data:`HANDCRAFTED_VARIANT` for a handcrafted method (which reads frames)."""
    return HANDCRAFTED_VARIANT if model in profiles.HANDCRAFTED else variant


def prepare(dataset: str, profile: Profile | str, variant: str | None = None, df: pd.DataFrame | None = None,
            cache_dir=CACHE_DIR, progress: bool = True) -> Prepared:
    """Load (or take) the clips of ``dataset`` and compute their inputs once (``variant``:
    the profile's unless given); ``info`` (kept in each record as ``extra.data``) carries the
    data's :func:`inputs.data_fingerprint`."""
    p = profiles.load(profile)
    variant = variant or p.variant
    if df is None:
        df = inputs.clips(dataset, p)
    df = df.reset_index(drop=True).assign(dataset=dataset)  # names the input cache (:func:`inputs`)
    missing = [c for c in ("subject", "emotion", "frames") if c not in df.columns]
    if missing:
        raise ValueError(f"{dataset}: the clip table lacks column(s) {', '.join(missing)}")
    images = inputs.images(df, variant, INPUT_SIZE, cache_dir, progress)
    classes, labels = inputs.labels(df)
    info = {"clips": int(len(df)), "subjects": int(df["subject"].nunique()),
            "synthetic": profiles.using_synthetic_data(dataset),
            "data_root": str(inputs.folder(inputs.source(dataset)[0], p)),
            "fingerprint": inputs.data_fingerprint(df)}
    return Prepared(dataset, variant, df, images, classes, labels, info, cache_dir)


def folds(prep: Prepared, protocol: str, profile: Profile | str, seed: int) -> list:
    """The folds of ``protocol`` (:func:`protocols.split_for`), with the profile's subject
    grouping for ``loso``."""
    p = profiles.load(profile)
    df = prep.df
    if protocol == "loso":
        df = group_subjects(df, p.loso_groups)
    return protocols.split_for(df, protocol, p, seed=seed)


def _checkpoint_path(results_dir, ident: dict) -> Path:
    record = results.record_path(results_dir, **ident)
    return Path(results_dir) / CHECKPOINT_DIR / record.relative_to(results_dir).with_suffix(".pt")


def _ident(prep: Prepared, fold, model: str, p: Profile) -> dict:
    return dict(dataset=prep.dataset, protocol=fold.protocol, model=model, profile=p.name,
                variant=record_variant(model, prep.variant), seed=int(fold.seed), fold=int(fold.fold))


def _lock_path(results_dir, ident: dict) -> Path:
    """The run's lock file, beside its checkpoint (:func:`files.locked`)."""
    return _checkpoint_path(results_dir, ident).with_suffix(".lock")


def _run_name(ident: dict) -> str:
    return "{dataset} {protocol} {model} {variant} seed {seed} fold {fold}".format(**ident)


def _one_at_a_time(fn):
    """:func:`run_fold` under its run's lock (:func:`_lock_path`, held while it trains): a
    run that another process (of any launcher) is training is skipped, said on the console,
    and returns ``trained`` False without a record. A recorded run is skipped unlocked."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def one_at_a_time(*args, **kwargs):
        a = signature.bind(*args, **kwargs)
        a.apply_defaults()
        a = a.arguments
        ident = _ident(a["prep"], a["fold"], a["model"], profiles.load(a["profile"]))
        path = results.record_path(a["results_dir"], **ident)
        if path.is_file() and not a["force"]:
            return path, False
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(files.locked(_lock_path(a["results_dir"], ident)))
            except files.Locked as exc:
                tqdm.write(f"skipped {_run_name(ident)}: {exc}")
                return path, False
            return fn(*args, **kwargs)  # which skips it if it was recorded while we waited

    return one_at_a_time


@_one_at_a_time
def run_fold(prep: Prepared, fold, *, model: str, profile: Profile | str,
             results_dir=results.RESULTS_DIR, device: str = "auto", force: bool = False,
             resume: bool = False, progress: bool = True, on_epoch=None) -> tuple[Path, bool]:
    """Train and test one fold and write its record -> (record path, trained). A recorded
    run is skipped (``trained`` False) unless ``force``, and so is a run that another process
    is training (it holds the run's lock, :func:`_one_at_a_time`). The epoch count is the
    profile's, fixed in advance; the checkpoint of each epoch lets ``resume`` continue a
    killed run."""
    p = profiles.load(profile)
    ident = _ident(prep, fold, model, p)
    path = results.record_path(results_dir, **ident)
    if path.is_file() and not force:
        return path, False
    if model in handcrafted.METHODS:
        return _run_handcrafted(prep, fold, model, p, ident, results_dir=results_dir, force=force), True
    started = time.perf_counter()
    opts = augment.Options.from_profile(p)
    parts = {p: fold.part(p) for p in protocols.PARTS}
    train_images = augment.render_plan(prep.images, parts["train"], opts)

    def shown(part):
        return augment.render_plan(prep.images, parts[part], opts)

    y = {p: prep.labels[parts[p]["source"].to_numpy()] for p in protocols.PARTS}
    torch.manual_seed(int(fold.seed))  # the initial weights
    net = models.build(model, len(prep.classes))
    train.initialise(net, p)  # the profile's init (pytorch: as built)
    ckpt = _checkpoint_path(results_dir, ident)
    dev = train.resolve_device(device)
    fit_start = time.perf_counter()
    resumed_at = int(train.load_checkpoint(ckpt)["epoch"]) if resume and ckpt.is_file() else 0
    history = train.fit(net, inputs.to_tensor(train_images), torch.from_numpy(y["train"]), p,
                        val=(inputs.to_tensor(shown("val")), torch.from_numpy(y["val"])), seed=int(fold.seed),
                        device=str(dev), progress=progress, checkpoint=ckpt, resume=resume, on_epoch=on_epoch)
    fit_s = time.perf_counter() - fit_start
    return _write_record(prep, fold, p, ident, net, history, dev, started=started, fit_s=fit_s,
                         resumed_at=resumed_at, n_train=len(train_images), results_dir=results_dir,
                         force=force), True


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    import platform

    return platform.processor() or platform.machine()


def run(dataset: str, protocol: str, model: str, profile: Profile | str, *, seeds=None, fold: int | None = None,
        variant: str | None = None, device: str = "auto", results_dir=results.RESULTS_DIR, force: bool = False,
        resume: bool = False, progress: bool = True, df=None, cache_dir=CACHE_DIR) -> list[Path]:
    """Every fold (or only ``fold``) of ``protocol`` for each seed (default: the profile's
    ``repeats`` seeds 0..n-1) and ``variant`` (default: the profile's) -> the record paths
    (existing ones kept unless ``force``)."""
    p = profiles.load(profile)
    seeds = list(range(p.repeats)) if seeds is None else list(seeds)
    prep = prepare(dataset, p, variant, df=df, cache_dir=cache_dir, progress=progress)
    out = []
    for seed in seeds:
        fs = folds(prep, protocol, p, seed)
        if fold is not None:
            if not 0 <= fold < len(fs):
                raise ValueError(f"fold {fold}: {protocol} on {dataset} has folds 0..{len(fs) - 1}")
            fs = [fs[fold]]
        for f in tqdm(fs, desc=f"{dataset} {protocol} {model} seed {seed}", unit="fold",
                      disable=not progress or len(fs) == 1):
            out.append(run_fold(prep, f, model=model, profile=p,
                                results_dir=results_dir, device=device, force=force, resume=resume,
                                progress=progress and len(fs) == 1)[0])
    return out


def reproduce(profile: Profile | str, *, datasets=None, models_=None, protocols_=None, variants=None, seeds=None,
              device: str = "auto", results_dir=results.RESULTS_DIR, force: bool = False,
              resume: bool = False, progress: bool = True, jobs: int = 1, rerun_stale: bool = False,
              executor: str | None = None, address: str | None = None, worker_dir=None,
              gpu_share: float = 0.1) -> pd.DataFrame:
    """The grid: datasets x models x protocols x repeats (x folds), skipping recorded runs;
    returns the aggregated table of the profile's records (:func:`results.aggregate`, its
    ``data`` column against the grid's data; ``attrs["current"]``: dataset -> sha256).

    Recorded runs made on other data than the grid's (their data fingerprint differs, or they
    have none) are counted and reported; ``rerun_stale`` re-runs exactly those, overwriting
    them, while ``force`` re-runs everything.

    ``jobs`` > 1 trains that many runs at once in worker processes, repeats outermost (every
    dataset and model gets seed 0 before any gets seed 1, so a grid cut short still covers
    the tables). On a GPU, one batch-25 run leaves the device mostly idle (kernel launches,
    not arithmetic, bound it), so several runs share it well; on a CPU keep ``jobs=1``.

    ``executor``: ``local`` (one run after another here; the default where ``jobs`` is 1),
    ``process`` (the ``jobs`` worker processes; the default where ``jobs`` > 1) or ``ray``
    (:func:`_reproduce_ray`: each run a Ray task on the cluster at ``address``, ``auto`` for
    the one ``ray start`` made on this machine, ``None`` for a local one; ``gpu_share``: the
    GPU share of a run where the cluster has GPUs; ``worker_dir``: where a worker keeps its
    checkpoints). Every executor skips recorded runs and runs that another process is training."""
    p = profiles.load(profile)
    datasets = list(datasets or p.datasets)
    models_ = list(models_ or p.models)
    protocols_ = list(protocols_ or p.protocols)
    variants = list(variants or p.grid_variants)
    seeds = list(range(p.repeats)) if seeds is None else list(seeds)
    bad = [p for p in protocols_ if p not in protocols.PROTOCOLS]
    if bad:
        raise ValueError(f"protocols {bad}: expected some of {', '.join(protocols.PROTOCOLS)}")
    known = profiles.CHOICES["models"]  # the networks (models.NAMES) and the handcrafted methods
    bad = [m for m in models_ if m not in known]
    if bad:
        raise ValueError(f"models {bad}: expected some of {', '.join(known)}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    executor = executor or ("process" if jobs > 1 else "local")
    if executor not in EXECUTORS:
        raise ValueError(f"executor {executor!r}: expected one of {', '.join(EXECUTORS)}")
    if jobs > 1 and executor != "process":
        raise ValueError(f"jobs={jobs}: the number of worker processes of executor 'process', not of {executor!r}")
    if executor != "ray" and address is not None:
        raise ValueError(f"address {address!r}: the Ray cluster of executor 'ray', not of {executor!r}")
    if not 0 < gpu_share <= 1:
        raise ValueError(f"gpu_share must be in (0, 1], got {gpu_share}")
    if executor == "ray":
        _import_ray()  # before the inputs are computed: missing, it says which extra to install
    common = dict(profile=p, results_dir=results_dir, device=device, force=force,
                  resume=resume, progress=False)
    preps, todo = _grid(datasets, variants, protocols_, models_, seeds, p, progress)
    current = {d: prep.info["fingerprint"]["sha256"] for (d, _), prep in preps.items()}
    stale, recorded = set(), 0
    for dataset, variant, protocol, seed, model, f in todo:
        path = results.record_path(results_dir, dataset, protocol, model, p.name, record_variant(model, variant),
                                   seed, f.fold)
        if path.is_file():
            recorded += 1
            if results.record_fingerprint(results.read(path)) != current[dataset]:
                stale.add((dataset, variant, protocol, seed, model, f.fold))
    if stale:
        tqdm.write(f"{len(stale)} of {recorded} recorded runs of this grid were made on other data than it reads now "
                   "(data fingerprint differs or missing): " + ("re-running them" if rerun_stale or force else
                                                                "kept; --rerun-stale re-runs them"))
    stale = stale if rerun_stale else set()
    if executor == "ray":
        _reproduce_ray(todo, preps, common, progress, stale, address=address, worker_dir=worker_dir,
                       gpu_share=gpu_share)
    elif executor == "local":
        _reproduce_local(todo, preps, common, progress, stale)
    else:
        _reproduce_parallel(todo, jobs, common, progress, stale)
    records = results.load_records(Path(results_dir) / p.name)
    table = results.aggregate(records, current) if not records.empty else pd.DataFrame()
    table.attrs["current"] = current
    return table


def _reproduce_local(todo, preps, common, progress, stale=frozenset()):
    """The grid here, one run after another, except where batching pays: LEARNet on a GPU,
    whose one batch-25 run is bound by kernel launches, trains K runs of one dataset,
    protocol and model as one computation (:func:`run_batch`), K from the device's free
    memory (:func:`batched.choose_k`). On a CPU K is 1: batched runs measured slower there
    (``benchmarks/bench_grid.py``), and single runs keep their records bit-identical."""
    from . import batched

    groups: dict = {}
    for job in todo:
        groups.setdefault((job[0], job[1], job[2], job[4]), []).append(job)
    bar = tqdm(total=len(todo), desc="grid", unit="run", disable=not progress)
    for (dataset, variant, protocol, model), jobs in groups.items():
        prep = preps[dataset, variant]
        need = [f for _, _, _, seed, _, f in jobs
                if common["force"] or (dataset, variant, protocol, seed, model, f.fold) in stale
                or not results.record_path(common["results_dir"], dataset, protocol, model, common["profile"].name,
                                           record_variant(model, variant), seed, f.fold).is_file()]
        bar.update(len(jobs) - len(need))
        k = 1
        if model == "learnet" and len(need) > 1:
            k = batched.choose_k(models.build(model, len(prep.classes)), common["device"],
                                 n_images=max(len(f.part("train")) for f in need),
                                 batch_size=common["profile"].batch_size)
        for i in range(0, len(need), k):
            chunk = need[i:i + k]
            bar.set_postfix_str(f"{dataset} {protocol} {model} seed {chunk[0].seed} fold {chunk[0].fold}"
                                + (f" (+{len(chunk) - 1} batched)" if len(chunk) > 1 else ""))
            if len(chunk) == 1:   # recorded runs were left out above: what is here is to be (re)made
                run_fold(prep, chunk[0], model=model, **{**common, "force": True})
            else:
                run_batch(prep, chunk, model=model, **{**common, "force": True})
            bar.update(len(chunk))
    bar.close()


def _grid(datasets, variants, protocols_, models_, seeds, profile, progress):
    """Every dataset's inputs, computed (and cached) once, and the grid's runs in order:
    dataset, variant, protocol, seed, fold, model. A handcrafted method, whose records do not
    depend on the input variant (:func:`record_variant`), runs under the first variant only."""
    preps, todo = {}, []
    for dataset in datasets:
        for i, variant in enumerate(variants):
            prep = preps[dataset, variant] = prepare(dataset, profile, variant, progress=progress)
            here = [m for m in models_ if i == 0 or m not in handcrafted.METHODS]
            for m in here:  # the handcrafted features, here on the driver, before any run is sent out
                if m in handcrafted.METHODS:
                    prep.features(handcrafted.METHODS[m][0])
            for protocol in protocols_:
                for seed in seeds:
                    todo += [(dataset, variant, protocol, seed, model, f)
                             for f in folds(prep, protocol, profile, seed) for model in here]
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


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError(f"executor 'ray' needs Ray, the extra 'grid' of learnet-lite: {RAY_EXTRA} "
                          "(or pip install ray==2.60.0)") from None
    return ray


def _reproduce_ray(todo, preps, common, progress, stale=frozenset(), *, address=None, worker_dir=None,
                   gpu_share=0.1):
    """The runs of ``todo`` as Ray tasks, repeats outermost; the driver (this process) writes
    every record (:func:`results.write`, atomic) as its task returns it, so the workers need no
    shared file system. Workers get the prepared inputs (:class:`Prepared`, one ``ray.put``
    per dataset) and the fold, not the data: nothing is read on a worker. A task asks for
    one CPU, and ``gpu_share`` of a GPU where the cluster has GPUs (and ``device`` is not
    cpu); at most as many tasks are out as the cluster's nodes run at once, and the driver
    holds each one's run lock (:func:`_lock_path`) meanwhile, so other processes on this
    results folder skip it. A recorded run is skipped; a failed task is reported and
    retried once (resuming from the checkpoint it left, where it lands on the same node);
    an interrupt cancels the tasks, their checkpoints stay on their nodes for ``resume``."""
    ray = _import_ray()
    results_dir, force, device = common["results_dir"], common["force"], str(common["device"])
    if worker_dir is not None and Path(worker_dir).resolve() == Path(results_dir).resolve():
        raise ValueError(f"worker_dir {worker_dir}: the results folder, whose run locks the driver holds; "
                         "the workers need a folder of their own")
    named = sorted(todo, key=lambda run: run[3])  # (dataset, variant, protocol, seed, model, fold): seed first
    jobs, recorded = [], 0
    for dataset, variant, protocol, seed, model, f in named:
        again = force or (dataset, variant, protocol, seed, model, f.fold) in stale
        ident = dict(dataset=dataset, protocol=protocol, model=model, profile=common["profile"].name,
                     variant=record_variant(model, variant), seed=int(seed), fold=int(f.fold))
        if results.record_path(results_dir, **ident).is_file() and not again:
            recorded += 1
        else:
            jobs.append((ident, (dataset, variant), f, again))
    started = not ray.is_initialized()
    if started and jobs:
        ray.init(address=address)
    bar = tqdm(total=len(named), initial=recorded, desc="grid (ray)", unit="run", disable=not progress)
    inflight, failures, skipped = {}, [], 0
    try:
        if not jobs:
            return
        gpus = ray.cluster_resources().get("GPU", 0) > 0 and device != "cpu"
        if device.startswith("cuda") and (device != "cuda" or not gpus):
            raise ValueError(f"device {device!r} on Ray: " + ("use cuda, Ray gives each task its GPU" if gpus else
                                                               "the cluster has no GPU"))
        task = ray.remote(_ray_run).options(num_cpus=1, num_gpus=gpu_share if gpus else 0, max_retries=0)
        shared = {key: ray.put(preps[key]) for key in {job[1] for job in jobs}}
        settings = {k: common[k] for k in ("profile", "device", "resume")}

        def submit(job, attempt, stack):
            ident, key, f, _ = job
            given = {**settings, "resume": settings["resume"] or attempt > 0}  # a retry continues its checkpoint
            inflight[task.remote(shared[key], f, ident["model"], given, worker_dir)] = (job, attempt, stack)

        pending = list(reversed(jobs))
        while pending or inflight:
            slots = _ray_slots(ray, gpu_share if gpus else None)
            while pending and len(inflight) < slots:
                job = pending.pop()
                stack = contextlib.ExitStack()
                try:
                    stack.enter_context(files.locked(_lock_path(results_dir, job[0])))
                except files.Locked as exc:
                    bar.write(f"skipped {_run_name(job[0])}: {exc}")
                    skipped += 1
                    bar.update(1)
                    continue
                if results.record_path(results_dir, **job[0]).is_file() and not job[3]:
                    stack.close()  # recorded by another process meanwhile
                    bar.update(1)
                    continue
                submit(job, 0, stack)
            bar.set_postfix_str(f"running {len(inflight)}, left {len(pending)}")
            if not inflight:
                continue
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            job, attempt, stack = inflight.pop(ref)
            try:
                record = ray.get(ref)
            except Exception as exc:  # the task raised, or its worker or node died
                error = _ray_error(exc)
                if attempt == 0:
                    bar.write(f"FAILED {_run_name(job[0])}: {error}; retrying it once")
                    submit(job, 1, stack)
                    continue
                failures.append(f"{_run_name(job[0])}: {error}")
                bar.write(f"FAILED again {failures[-1]}")
            else:
                try:
                    results.write(record, results_dir, force=job[3])
                except FileExistsError:  # written meanwhile by a process that took no lock: kept
                    bar.write(f"kept the record of {_run_name(job[0])} that another process wrote meanwhile")
            stack.close()
            bar.update(1)
            bar.set_postfix_str(f"running {len(inflight)}, left {len(pending)}")
    except BaseException:  # interrupted (or the driver failed): stop the tasks; their checkpoints stay
        for ref in inflight:
            ray.cancel(ref, force=True)
        raise
    finally:
        bar.close()
        for _, _, stack in inflight.values():
            stack.close()
        if started and ray.is_initialized():
            ray.shutdown()
    if skipped:
        tqdm.write(f"{skipped} runs skipped: another process was training them")
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(jobs)} runs failed twice:\n" + "\n".join(failures))


def _ray_slots(ray, gpu_share) -> int:
    """How many of our tasks the cluster's live nodes run at once: one per CPU, and on GPU
    tasks also at most ``1 / gpu_share`` per GPU."""
    total = 0
    for node in ray.nodes():
        if node.get("Alive"):
            have = node.get("Resources") or {}
            cpus = int(have.get("CPU", 0))
            total += min(cpus, int(have.get("GPU", 0) / gpu_share + 1e-9)) if gpu_share else cpus
    return max(1, total)


def _ray_error(exc) -> str:
    """One line for a failed task: the exception its run raised, or why its worker died."""
    cause = getattr(exc, "cause", None) or exc
    lines = str(cause).strip().splitlines() or [""]
    return f"{type(cause).__name__}: {lines[0]}"


def _ray_run(prep: Prepared, fold, model: str, settings: dict, worker_dir=None) -> dict:
    """One run as a Ray task, on the node Ray chose -> its record, which the driver writes.
    The run trains in ``worker_dir`` on this node (default ``$LEARNET_WORKER_DIR``, else
    ``~/.cache/learnet-lite/ray``): its checkpoints stay there
    (``<worker_dir>/.checkpoints/<profile>/...``) for a retry or ``resume``, and its lock
    there keeps two tasks on this node off one run. :func:`run_fold` writes the record there
    too; it is read back and removed, a scratch copy, never the record."""
    scratch = Path(worker_dir or os.environ.get("LEARNET_WORKER_DIR") or Path.home() / ".cache/learnet-lite/ray")
    path, trained = run_fold(prep, fold, model=model, results_dir=scratch, force=True, progress=False, **settings)
    if not trained:
        raise RuntimeError(f"another task on this node is training it (lock beside its checkpoint under {scratch})")
    record = results.read(path)
    path.unlink()
    return record


def _run_job(args) -> tuple:
    job, common = args
    seed, dataset, model, protocol, variant, fold = job
    try:
        prep = prepare(dataset, common["profile"], variant, progress=False)  # the cached inputs
        f = folds(prep, protocol, common["profile"], seed)[fold]
        run_fold(prep, f, model=model, **common)
    except Exception as exc:  # reported by the parent, which goes on with the other runs
        return job, f"{type(exc).__name__}: {exc}"
    return job, None


def run_batch(prep: Prepared, folds_, *, model: str, profile: Profile | str, results_dir=results.RESULTS_DIR,
              device: str = "auto", force: bool = False, resume: bool = False,
              progress: bool = True) -> list[tuple[Path, bool]]:
    """Train the given folds of one prepared dataset together and write each fold's record
    as :func:`run_fold` writes it -> ``[(record path, trained)]`` in the order of ``folds_``.
    LEARNet folds train as one batched computation (:func:`train.fit_many`: each run keeps
    its own weights, data order, dropout, checkpoint and history), other models one after
    the other. A recorded fold is skipped unless ``force``, and so is one that another
    process is training (its run's lock, held here while the batch trains); ``resume``
    continues each fold from its checkpoint. Choose how many folds to pass with
    :func:`learnet_lite.batched.choose_k`; folds of similar training-set sizes batch best."""
    p = profiles.load(profile)
    out, todo = [], []
    with contextlib.ExitStack() as locks:
        for fold in folds_:
            ident = _ident(prep, fold, model, p)
            path = results.record_path(results_dir, **ident)
            out.append((path, False))
            if path.is_file() and not force:
                continue
            try:
                locks.enter_context(files.locked(_lock_path(results_dir, ident)))
            except files.Locked as exc:
                tqdm.write(f"skipped {_run_name(ident)}: {exc}")
                continue
            if force or not path.is_file():  # not recorded while we took the lock
                todo.append((len(out) - 1, fold, ident))
        if not todo:
            return out
        started = time.perf_counter()
        opts = augment.Options.from_profile(p)
        nets, xs, ys, vals, ckpts = [], [], [], [], []
        for _, fold, ident in todo:
            parts = {q: fold.part(q) for q in ("train", "val")}
            y = {q: torch.from_numpy(prep.labels[parts[q]["source"].to_numpy()]) for q in parts}
            xs.append(inputs.to_tensor(augment.render_plan(prep.images, parts["train"], opts)))
            vals.append((inputs.to_tensor(augment.render_plan(prep.images, parts["val"], opts)), y["val"]))
            ys.append(y["train"])
            torch.manual_seed(int(fold.seed))  # the initial weights, as run_fold builds them
            nets.append(models.build(model, len(prep.classes)))
            train.initialise(nets[-1], p)  # the profile's init, as run_fold applies it
            ckpts.append(_checkpoint_path(results_dir, ident))
        dev = train.resolve_device(device)
        fit_start = time.perf_counter()
        resumed = [int(train.load_checkpoint(c)["epoch"]) if resume and c.is_file() else 0 for c in ckpts]
        histories = train.fit_many(nets, xs, ys, p, vals=vals, seeds=[int(f.seed) for _, f, _ in todo],
                                   device=str(dev), progress=progress, checkpoints=ckpts, resume=resume)
        fit_s = time.perf_counter() - fit_start  # shared: each run's images/s is its share of the batch's
        for (i, fold, ident), net, history, x, at in zip(todo, nets, histories, xs, resumed):
            out[i] = (_write_record(prep, fold, p, ident, net, history, dev, started=started, fit_s=fit_s,
                                    resumed_at=at, n_train=len(x), results_dir=results_dir, force=force), True)
    return out


def _write_record(prep: Prepared, fold, p: Profile, ident: dict, net, history: dict, dev: torch.device, *,
                  started: float, fit_s: float, resumed_at: int, n_train: int, results_dir, force: bool) -> Path:
    """A trained run's test predictions scored and written as its record (the part of
    :func:`run_fold` after :func:`train.fit`, shared with :func:`run_batch`); its checkpoint
    is removed -> the record's path."""
    opts = augment.Options.from_profile(p)
    test = fold.part("test")
    pred = train.predict(net, inputs.to_tensor(augment.render_plan(prep.images, test, opts)), device=str(dev))
    sizes = {**fold.sizes, "image_size": INPUT_SIZE, "copies_per_train_clip": opts.copies_per_image}
    hp = dict(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay,
              init=p.init, shuffle=p.shuffle)
    extra = {
        **hp, "device_name": _device_name(dev),
        "augmentation": {"angles": list(opts.angles), "equalization": opts.equalization,
                         "keep_unequalized": opts.keep_unequalized, "flip": opts.flip},
        "history": history, "near_duplicates": fold.info.get("near_duplicates"),
    }
    # throughput is a time, like wall_time_s (results.TIME_KEYS); a resumed run times its tail
    speed = {"train_images_per_s": n_train * (p.epochs - resumed_at) / fit_s if fit_s > 0 else None}
    written = _record(prep, fold, p, ident, test["source"].to_numpy(), pred, sizes, extra, dev.type,
                      time.perf_counter() - started, results_dir, force, top=speed)
    ckpt = _checkpoint_path(results_dir, ident)
    if ckpt.is_file():
        ckpt.unlink()  # ours, and the record now holds the result
    return written


def _record(prep: Prepared, fold, p: Profile, ident: dict, test_sources: np.ndarray, pred: np.ndarray, sizes: dict,
            extra: dict, device: str, wall: float, results_dir, force: bool, top: dict | None = None) -> Path:
    """The record of a run's test predictions (``pred``: class indices, one per test image
    of clip position ``test_sources``), written (:func:`results.write`). Besides the scores it
    keeps, per test image, the clip, its subject and the true and predicted class
    (``extra.test_clips``/``test_subjects``/``test_true``/``test_pred``): what the intervals
    and paired comparisons of :mod:`results` resample."""
    classes, df = prep.classes, prep.df
    y_true = prep.labels[test_sources]
    extra = {
        **extra, "n_classes": len(classes),
        "subject_groups": p.loso_groups if fold.protocol == "loso" else None,
        "test_clips": [f"{df['subject'].iloc[s]}/{df['clip'].iloc[s]}" if "clip" in df else int(s)
                       for s in test_sources],
        "test_subjects": [str(df["subject"].iloc[s]) for s in test_sources],
        "test_true": [classes[i] for i in y_true], "test_pred": [classes[i] for i in pred],
        "data": prep.info,
    }
    rec = results.make_record(
        **ident, y_true=[classes[i] for i in y_true], y_pred=[classes[i] for i in pred],
        labels=classes, sizes=sizes, device=device, wall_time_s=wall, n_folds=fold.n_folds,
        test_subject=str(fold.test_subject) if fold.test_subject is not None else None, extra=extra)
    return results.write({**rec, **(top or {})}, results_dir, force=force)


def _run_handcrafted(prep: Prepared, fold, model: str, p: Profile, ident: dict, *, results_dir, force: bool) -> Path:
    """One fold of a handcrafted method (:mod:`handcrafted`): its classifier fitted on the
    features of the fold's training clips (each once: no augmentation), tested on each test
    clip once; the record as a network's (:func:`_record`)."""
    started = time.perf_counter()
    feature, _ = handcrafted.METHODS[model]
    x = prep.features(feature)
    train_clips, test_clips = fold.train, fold.test  # (the clips that have a copy in each part)
    estimator = handcrafted.classifier(model, seed=int(fold.seed))
    estimator.fit(x[train_clips], prep.labels[train_clips])
    pred = np.asarray(estimator.predict(x[test_clips]), dtype=np.int64)
    sizes = {"train_clips": len(train_clips), "val_clips": int(len(fold.val)), "test_clips": len(test_clips),
             "train_images": len(train_clips), "val_images": 0, "test_images": len(test_clips),
             "feature_size": int(x.shape[1])}
    extra = {"method": model, "feature": feature, "near_duplicates": fold.info.get("near_duplicates"),
             "device_name": _device_name(torch.device("cpu"))}
    return _record(prep, fold, p, ident, test_clips, pred, sizes, extra, "cpu", time.perf_counter() - started,
                   results_dir, force)
