"""``learnet-lite``: the command line, every subcommand in one place.

One subcommand per step of the paper: ``synth`` (the synthetic twins), ``check-data`` (a
placed copy of a release), ``dynamic`` (dynamic images, Sec. III-A), ``train`` (one run),
``reproduce`` (the grid of Tables III and IV), ``tables`` (the tables of the run records)
and ``student`` (the student edition). Each has ``--help``. Their options and handlers
(``_cmd_<name>``) are all here; a handler imports its step's module when it runs, so that
``learnet-lite --help`` and ``learnet-lite <cmd> --help`` import neither torch nor OpenCV
nor pandas.

An option means the same in every command that takes it:

``--profile NAME|FILE``
    the run profile: a built-in name (``smoke``, ``book``, ``paper``) or the path of a YAML
    file, read by :func:`profiles.load`; a value it rejects is a usage error (exit 2) naming
    the value. Every command that reads settings takes it: ``train``, ``reproduce``,
    ``student`` (default ``book``) and ``tables`` (only that profile's records).
``--data-root DIR``
    where the releases are read: a folder holding one folder per dataset (``DIR/casme2``,
    ...). Without it, ``$DATA_ROOT/<dataset>`` where that folder is there, else the twin.
``--out DIR``
    where the command writes: ``synth`` the twins (default ``data/synthetic``, never
    ``$DATA_ROOT``), ``student`` the edition (default ``student/``).
``--force``
    overwrite what the command would otherwise keep or refuse to overwrite: existing dynamic
    images (``dynamic``), a twin made with other settings (``synth``), recorded runs
    (``train``, ``reproduce``).
``--results DIR``
    the folder of run records (default ``data/results``): ``train`` and ``reproduce`` write
    there, ``tables`` reads there.
``--variant NAME``
    the network's input: the dynamic image with ``bilen`` or ``learnet`` rank pooling
    weights, or the ``apex-frame`` control (``train``, ``reproduce``: default the profile's).
``--seed N`` / ``--seeds N ...``
    the repeat(s) of a run (``train``, ``reproduce``); the twins' generator seed is
    ``synth --twin-seed``.
``--layout cropped|raw``
    a release's frames: the face crops, or the raw frames (``synth``, ``check-data``).

A step's ValueError, FileNotFoundError or FileExistsError prints as ``learnet-lite <cmd>:
error: ...`` with exit status 2, as a usage error does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .profiles import CHOICES

# The library's choices: the profile's (profiles imports only yaml), the others written out so
# that --help imports no step module (torch, cv2, pandas); tests/test_cli.py checks them.
RUN_DATASETS = CHOICES["datasets"]                                      # experiment.DATASETS
RELEASES = tuple(d for d in RUN_DATASETS if d != "smic_2class")         # datasets.DATASETS
LAYOUTS = CHOICES["layout"]                                             # datasets.LAYOUTS
LABEL_SETS = ("table2", "emotion", "2class", "3class")                  # datasets.LABEL_SETS
POOLING = ("bilen", "learnet")                                          # dynamic.VARIANTS
VARIANTS = CHOICES["variant"]                                           # experiment.VARIANTS
PROTOCOLS = CHOICES["protocols"]                                        # protocols.PROTOCOLS
MODELS = CHOICES["models"]               # models.NAMES and the handcrafted methods
EXECUTORS = ("local", "process", "ray")                                 # experiment.EXECUTORS

EPILOG = """options mean the same in every command:
  --profile NAME|FILE  run profile: smoke | book | paper, or a YAML file
  --data-root DIR      where the releases are read (default: $DATA_ROOT, else the twins)
  --out DIR            where the command writes
  --force              overwrite what the command would otherwise keep or refuse to overwrite
  --results DIR        the folder of run records (default: data/results)"""


def _profile(value: str) -> str:
    """``type`` of ``--profile``: the value, once :func:`profiles.load` has read it (a file's
    path made absolute, so that a notebook run elsewhere, ``student``, finds it too)."""
    from . import profiles

    try:
        profiles.load(value)
    except Exception as exc:  # whatever keeps the profile from loading is a usage error naming it
        message = str(exc)
        raise argparse.ArgumentTypeError(message if value in message else f"{value!r}: {message}") from None
    path = Path(value).expanduser()
    return str(path.resolve()) if value not in profiles.PROFILES and path.is_file() else value


def _results_dir(args) -> Path:
    from . import results

    return Path(args.results) if args.results else results.RESULTS_DIR


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="learnet-lite", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The LEARNet companion (Verma et al., IEEE TIP 2019): one subcommand per step of the paper.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser(
        "synth", help="generate the synthetic twins of the datasets",
        description="Write the synthetic twin of each dataset, at the profile's twin settings, where the "
                    "chapters read it (or under OUT/<dataset>), in the release's layout and sheet format "
                    "(reusing a complete twin made with the same settings).")
    s.add_argument("datasets", nargs="*", default=list(RELEASES), metavar="DATASET",
                   help=f"which twins: {', '.join(RELEASES)} (default: all four)")
    s.add_argument("--profile", type=_profile, default="book", metavar="NAME|FILE",
                   help="whose twin settings (twin_seed, twin_scale, twin_amplitude, layout; default: %(default)s)")
    s.add_argument("--out", metavar="DIR", help="folder that gets one folder per dataset (default: where the "
                   "profile's chapters read the twins, under data/synthetic; never $DATA_ROOT)")
    s.add_argument("--twin-seed", type=int, metavar="N", help="the generator's seed (default: the profile's)")
    s.add_argument("--amplitude", type=float, help="peak AU displacement, pixels (default: the profile's)")
    s.add_argument("--layout", choices=LAYOUTS, help="default: the profile's")
    s.add_argument("--scale", type=float, help="share of each class to generate (default: the profile's)")
    s.add_argument("--force", action="store_true", help="replace an existing twin made with other settings")
    s.set_defaults(func=_cmd_synth)

    c = sub.add_parser(
        "check-data", help="check a placed copy of a dataset: files, clips per class, every finding",
        description="Read DATA_ROOT/<dataset> (or --data-root) the way the notebooks will and print, per "
                    "dataset, the sheet and folders found, the clips per class beside Table II, every finding by "
                    "kind (offset 0, apex missing, frames missing, folders without a row, ...) with its first "
                    "rows, and what the notebooks will use. Exit 0 when every dataset is readable (findings only "
                    "leave clips out), 1 when one cannot be read at all.")
    c.add_argument("datasets", nargs="*", metavar="DATASET",
                   help=f"which datasets: {', '.join(RELEASES)} (default: all four; a dataset named here and "
                        "missing from $DATA_ROOT is an error, one left to the default is read from its twin)")
    c.add_argument("--data-root", metavar="DIR", help="folder holding one folder per dataset (default: $DATA_ROOT "
                   "where it holds the dataset, else its twin)")
    c.add_argument("--layout", choices=LAYOUTS, default="cropped")
    c.add_argument("--label-set", choices=LABEL_SETS, default="table2",
                   help="table2 (the paper's classes), or a release's own: CAS(ME)^2 emotion, SMIC 2class/3class")
    c.add_argument("--sheet", help="the sheet file to read where several versions lie at the dataset's top "
                   "(CASME II, CAS(ME)^2, a merged CASME sheet); with one dataset named")
    c.add_argument("--verify", choices=("header", "full", "none"), default="header",
                   help="how closely to check each frame (full decodes every frame)")
    c.add_argument("--first", type=int, default=3, help="rows shown per kind of finding")
    c.set_defaults(func=_cmd_check_data)

    d = sub.add_parser(
        "dynamic", help="write the dynamic image of every clip folder under SRC as PNGs under DST",
        description="Write the dynamic image of every clip folder under SRC as a PNG under DST "
                    "(SRC/sub01/EP02_01f -> DST/sub01/EP02_01f.png); existing PNGs are an error unless --force.")
    d.add_argument("src", metavar="SRC", help="folder whose sub-folders hold the frames of one clip each")
    d.add_argument("dst", metavar="DST", help="output folder for the PNG dynamic images")
    d.add_argument("--variant", choices=POOLING, default="bilen",
                   help="rank pooling weights: Bilen et al.'s closed form or the authors' code (default: %(default)s)")
    d.add_argument("--force", action="store_true", help="replace dynamic images that already exist")
    d.set_defaults(func=_cmd_dynamic)

    t = sub.add_parser("train", help="train and test one (dataset, protocol, model, seed[, fold]) run; "
                       "writes its run record")
    t.add_argument("--dataset", required=True, choices=RUN_DATASETS)
    t.add_argument("--protocol", required=True, choices=PROTOCOLS)
    t.add_argument("--model", default="learnet", choices=MODELS)
    t.add_argument("--seed", type=int, default=None, help="repeat (default: every repeat of the profile)")
    t.add_argument("--fold", type=int, default=None, help="only this fold (default: every fold)")
    _run_options(t)
    t.set_defaults(func=_cmd_train)

    r = sub.add_parser("reproduce", help="run the whole grid of a profile (skipping recorded runs), "
                       "then print the tables")
    r.add_argument("--datasets", nargs="+", choices=RUN_DATASETS, help="default: the profile's")
    r.add_argument("--models", nargs="+", choices=MODELS, help="default: the profile's")
    r.add_argument("--protocols", nargs="+", choices=PROTOCOLS, help="default: the profile's")
    r.add_argument("--seeds", nargs="+", type=int, help="default: 0..repeats-1 of the profile")
    r.add_argument("--jobs", type=int, default=1, help="runs trained at once in worker processes (--executor "
                   "process), seed 0 of everything first (a GPU: 4-8; a CPU: 1, the default)")
    r.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="local: one run after another; process: --jobs worker processes; ray: each run a task on a "
                        "Ray cluster (the extra 'grid': pip install -e '.[grid]'); default: process where --jobs > 1, "
                        "else local")
    r.add_argument("--address", metavar="ADDR", help="--executor ray: the cluster (auto: the one `ray start` made "
                   "here, or HEAD:6379; default: a new one on this machine)")
    r.add_argument("--gpu-share", type=float, default=0.1, metavar="F",
                   help="--executor ray: the share of a GPU one run asks for (default: %(default)s, 10 runs a GPU)")
    r.add_argument("--worker-dir", metavar="DIR", help="--executor ray: where each worker keeps its checkpoints, on "
                   "its own disk (default: $LEARNET_WORKER_DIR, else ~/.cache/learnet-lite/ray)")
    r.add_argument("--rerun-stale", action="store_true", help="re-run (overwrite) the recorded runs made on other "
                   "data than the grid reads now (data fingerprint differs or missing); the others stay skipped")
    _run_options(r)
    r.set_defaults(func=_cmd_reproduce)

    a = sub.add_parser("tables", help="aggregate run records into tables (mean ± std over repeats, pooled UF1/UAR)",
                       description="One row per (dataset, protocol, model, profile, variant): accuracy, UF1 and "
                                   "UAR as mean ± std over the repeats, and pooled over every fold and repeat.")
    a.add_argument("--results", metavar="DIR", help="folder of run records (default: data/results)")
    a.add_argument("--profile", type=_profile, metavar="NAME|FILE",
                   help="only the records of this profile (default: every profile's)")
    a.add_argument("--csv", metavar="FILE", help="also write the table to this CSV file (atomically)")
    a.set_defaults(func=_cmd_tables)

    st = sub.add_parser(
        "student", help="write the student edition (notebooks and book without solutions) to student/",
        description="Write the student edition: the notebooks and the book without the exercises' solutions "
                    "(see book/teaching.md); replaces only a student/ folder it wrote itself.")
    st.add_argument("--out", metavar="DIR", help="output folder (default: student/)")
    st.add_argument("--profile", default="book", type=_profile, metavar="NAME|FILE",
                    help="run profile for notebooks that have no executed copy in --executed (default: %(default)s)")
    st.add_argument("--executed", default=None, metavar="DIR",
                    help="folder of executed notebooks from 'make notebooks' (default: book/)")
    st.add_argument("--no-book", action="store_true", help="write the notebooks only, skip the book build")
    st.set_defaults(func=_cmd_student)
    return p


def _run_options(p) -> None:
    """The options ``train`` and ``reproduce`` share."""
    p.add_argument("--profile", default="book", type=_profile, metavar="NAME|FILE",
                   help="run profile: smoke | book | paper, or a YAML file (default: %(default)s)")
    p.add_argument("--variant", default=None, choices=VARIANTS,
                   help="input: dynamic image with these rank pooling weights, or the apex frame "
                        "(default: the profile's variant)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1, ...")
    p.add_argument("--results", metavar="DIR", help="records folder (default: data/results)")
    p.add_argument("--force", action="store_true", help="re-run and overwrite runs that are already recorded")
    p.add_argument("--resume", action="store_true", help="continue killed runs from their last epoch checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _cmd_synth(args) -> int:
    import dataclasses

    from . import inputs, profiles, synthetic
    from .datasets import spec

    given = {"twin_seed": args.twin_seed, "twin_amplitude": args.amplitude, "layout": args.layout,
             "twin_scale": args.scale}
    p = dataclasses.replace(profiles.load(args.profile), **{k: v for k, v in given.items() if v is not None})
    for name in args.datasets:
        spec(name)
        folder = Path(args.out) / name if args.out else inputs.twin_folder(name, p)   # never into DATA_ROOT
        t0 = time.perf_counter()
        df = synthetic.generate(name, folder, seed=p.twin_seed, amplitude=p.twin_amplitude, layout=p.layout,
                                scale=p.twin_scale, overwrite=args.force)
        print(f"{name}: {len(df)} clips, {int(df['n_frames'].sum())} frames at {folder} "
              f"({time.perf_counter() - t0:.1f} s)")
    return 0


def _cmd_check_data(args) -> int:
    import os

    from . import datasets, inputs
    from .profiles import dataset_folder

    named = bool(args.datasets)            # datasets named on the command line must be there
    names = args.datasets or list(datasets.DATASETS)
    if args.sheet and len(names) != 1:
        raise ValueError(f"--sheet {args.sheet!r}: name the one dataset it belongs to "
                         "(e.g. check-data casme2 --sheet ...)")
    data_root = os.environ.get("DATA_ROOT")
    status = 0
    for name in names:
        s = datasets.spec(name)
        if args.data_root:
            folder, placed = Path(args.data_root) / name, True
        else:
            folder, placed = dataset_folder(name)
            if not placed:   # the twin the book's chapters read
                folder = inputs.twin_folder(name, "book")
        label_set = args.label_set if args.label_set in s.label_sets else "table2"
        hint = datasets.dataset_folder_hint(Path(args.data_root or data_root or folder.parent) / name)
        if not placed:        # not in DATA_ROOT (or DATA_ROOT unset): the chapters read its twin
            where = f"not in $DATA_ROOT ({Path(data_root) / name})" if data_root else "DATA_ROOT is not set"
            print(f"== {s.title} ({name}): {where}; the chapters read its synthetic twin{hint}")
            if hint or (named and data_root):
                status = 1
            if not folder.is_dir():
                print(f"   (no twin at {folder} yet: `learnet-lite synth {name}` or any chapter makes it)")
                continue
        elif not folder.is_dir():
            print(f"== {s.title} ({name}) at {folder}\n   cannot read: no such folder{hint}")
            status = 1
            continue
        text, ok = datasets.report(name, folder, args.layout, label_set, args.verify, args.sheet, args.first)
        print(text)
        status |= 0 if ok else 1
    return status


def _cmd_dynamic(args) -> int:
    from .dynamic import derive_folder

    start = time.perf_counter()
    written = derive_folder(args.src, args.dst, variant=args.variant, force=args.force)
    print(f"wrote {len(written)} dynamic image(s) to {args.dst} in {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_train(args) -> int:
    from . import experiment, profiles, results

    profile = profiles.load(args.profile)
    paths = experiment.run(args.dataset, args.protocol, args.model, profile,
                           seeds=None if args.seed is None else [args.seed], fold=args.fold,
                           variant=args.variant or profile.variant, device=args.device,
                           results_dir=_results_dir(args), force=args.force, resume=args.resume,
                           progress=not args.quiet)
    status = 0
    for path in paths:
        if not Path(path).is_file():   # another process holds the run's lock and is training it
            print(f"{path}: not written here: another process is training this run", file=sys.stderr)
            status = 1
            continue
        m = results.read(path)["metrics"]
        print(f"{path}: accuracy {m['accuracy']:.4f}  UF1 {m['uf1']:.4f}  UAR {m['uar']:.4f}")
    return status


def _cmd_reproduce(args) -> int:
    from . import experiment, profiles, results, tables

    profile = profiles.load(args.profile)
    folder = _results_dir(args)
    if args.executor == "ray":
        try:
            experiment._import_ray()
        except ImportError as exc:  # a usage error: the extra is not installed
            print(f"learnet-lite reproduce: error: {exc}", file=sys.stderr)
            return 2
    table = experiment.reproduce(profile, datasets=args.datasets, models_=args.models, protocols_=args.protocols,
                                 variants=[args.variant] if args.variant else None, seeds=args.seeds,
                                 device=args.device, results_dir=folder, force=args.force, resume=args.resume,
                                 progress=not args.quiet, jobs=args.jobs, rerun_stale=args.rerun_stale,
                                 executor=args.executor, address=args.address, worker_dir=args.worker_dir,
                                 gpu_share=args.gpu_share)
    if table.empty:
        print("no records")
        return 0
    cols = list(results.GROUP) + ["repeats", "complete", "accuracy_mean", "accuracy_std", "uf1_pooled", "uar_pooled",
                                  "data"]
    print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    name = profile.name
    records = results.load_records(folder / name)
    variant = args.variant or profile.variant
    for table_name in ("table3", "table4"):  # the paper's CNN rows beside ours (percent)
        t = tables.paper_table(table_name, records, name, variant, current=table.attrs.get("current"))
        t = t[t["our_model"].map(lambda m: isinstance(m, str) and bool(m))]
        shown = ["method", "dataset", "classes", "accuracy"] + [f"acc_{p}" for p in PROTOCOLS] + ["data"]
        print(f"\n{table_name} (accuracy %, paper beside ours, profile {name}):")
        print(t[shown].rename(columns={"accuracy": "paper"}).to_string(index=False, float_format=lambda x: f"{x:.2f}",
                                                                         na_rep="-"))
    return 0


def _cmd_tables(args) -> int:

    from . import profiles, results

    folder = _results_dir(args)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of run records")
    records = results.load_records(folder)
    name = profiles.load(args.profile).name if args.profile else None
    if name:
        records = records[records["profile"] == name]
    table = results.aggregate(records)
    if table.empty:
        print(f"no run records under {folder}" + (f" for profile {name}" if name else ""))
        return 0
    shown = table[list(results.GROUP) + ["repeats", "complete", "accuracy_mean", "accuracy_std", "uf1_pooled",
                                         "uar_pooled"]]
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if args.csv:
        from .files import write_atomic

        write_atomic(args.csv, table.to_csv(index=False))
    return 0


def _cmd_student(args) -> int:
    from . import student
    from .profiles import REPO_ROOT

    out = student.build(Path(args.out) if args.out else REPO_ROOT / "student", profile=args.profile,
                        book=not args.no_book, executed_dir=args.executed)
    print(f"student edition written to {out}" + ("" if args.no_book else f" (book: {out / '_build' / 'html'})"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"learnet-lite {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
