"""What a profile's grid costs on GPUs, from the committed GPU records (the reviewers' guide's
cost figures; the appendix page ``book/08_gpu_cost`` shows them).

Measured: every record under ``data/results/<profile>/`` made on CUDA (its ``wall_time_s``,
``train_images``, epochs and device) and how its call of ``benchmarks/paper_on_gpu.sh`` ran
(runs at once, MPS on or off, its time budget: ``benchmarks/results/<machine>/device_run*.txt``;
the grid's time: the last full progress bar of ``reproduce_run*.log``). A run's GPU cost is
its wall time over the runs that shared the GPU with it; per training image and epoch that is
the *rate* of its model.

Estimated, never run on a GPU: a protocol without GPU records at its model's rate under
``paper`` on its own training images (a run's cost grows with its training images × epochs),
and a network without GPU records (VGG-16/-19) read two ways: at ResNet-18's rate (a batch-25
run is bound by kernel launches more than by arithmetic, ``benchmarks/results/h200-*/README.md``)
or at ResNet-18's rate times its forward FLOPs over ResNet-18's (``torch.utils.flop_counter``),
as if ResNet-18's time were all arithmetic.

The grid counted is the one :func:`learnet_lite.experiment.reproduce` trains: the profile's
datasets × networks × input variants × protocols × repeats, one fold for ``paper`` and
``paper-leaky``, ``kfold_folds`` for ``kfold`` and one per subject for LOSO proper (subjects:
:data:`datasets.SPECS`), on Table II's clip counts (``smic_2class``: the release's negative and
positive clips). The handcrafted methods train in seconds on a CPU and are not counted.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import datasets, paper, profiles, protocols, results, synthetic
from .profiles import REPO_ROOT

LOGS_DIR = REPO_ROOT / "benchmarks" / "results"  # one folder per GPU machine and day: h200-2026-11-27/
GPUS = (1, 8, 64)  # cluster sizes the wall-time table is read for
READINGS = ("launch-bound", "FLOPs")  # an unmeasured network at ResNet-18's rate, or at it x its FLOP ratio
READING_LABELS = {"launch-bound": "at ResNet-18's rate", "FLOPs": "by FLOPs"}  # how tables and figures name them
READING_KEYS = {"launch-bound": "launch", "FLOPs": "flops"}  # the suffix of their glue keys
REFERENCE = "resnet18"  # the measured network an unmeasured one is read from


@dataclasses.dataclass(frozen=True)
class Call:
    """One call of ``benchmarks/paper_on_gpu.sh``, from its ``device_run*.txt``."""
    source: str             # <machine folder>/device_run<N>.txt
    protocols: tuple
    models: tuple
    jobs: int               # runs at once on the GPU
    mps: bool               # under CUDA's multi-process service
    budget_s: float | None  # the call's time budget
    grid_s: float | None    # the grid's time by its last full progress bar; None: it did not finish


def calls(logs_dir=LOGS_DIR) -> dict[str, Call]:
    """protocol -> the call of ``paper_on_gpu.sh`` that trained it (the newest, where several did)."""
    out = {}
    for log in sorted(Path(logs_dir).glob("*/device_run*.txt")):
        text = log.read_text(encoding="utf-8")
        fields = {k: re.search(pattern, text, re.M) for k, pattern in (
            ("jobs", r"jobs (\d+)"), ("protocols", r"protocols ([^\n;]+)"), ("models", r"models ([^\n;]+)"),
            ("budget", r"budget (\d+) s"))}
        missing = [k for k in ("jobs", "protocols", "models") if fields[k] is None]
        if missing:
            raise ValueError(f"{log}: no {', '.join(missing)} on its settings line (expected the line "
                             f"paper_on_gpu.sh writes: 'commit ...; jobs N; budget S s; profile P; models ...; "
                             f"protocols ...')")
        name = f"{log.parent.name}/{log.name}"
        call = Call(source=name, protocols=tuple(fields["protocols"].group(1).split()),
                    models=tuple(fields["models"].group(1).split()), jobs=int(fields["jobs"].group(1)),
                    mps=bool(re.search(r"^MPS on", text, re.M)),
                    budget_s=float(fields["budget"].group(1)) if fields["budget"] else None,
                    grid_s=grid_seconds(log.with_name(log.name.replace("device_run", "reproduce_run"))
                                        .with_suffix(".log")))
        for protocol in call.protocols:
            out[protocol] = call
    return out


def grid_seconds(log: Path) -> float | None:
    """Seconds a ``reproduce`` call's grid took, from the last full progress bar (``n/n [m:ss<``)
    of its log; None where there is no log or the grid never finished."""
    if not log.is_file():
        return None
    bars = re.findall(r"(\d+)/(\d+) \[(?:(\d+):)?(\d+):(\d+)<", log.read_text(encoding="utf-8").replace("\r", "\n"))
    done = [(int(h or 0), int(m), int(s)) for n, total, h, m, s in bars if n == total]
    return float(3600 * done[-1][0] + 60 * done[-1][1] + done[-1][2]) if done else None


def gpu_runs(profile: str = "paper", records_dir=results.RESULTS_DIR, logs_dir=LOGS_DIR,
             how: dict | None = None) -> pd.DataFrame:
    """One row per record of ``profile`` made on CUDA, with its call's settings and its GPU cost:
    ``gpu_s`` (wall time / runs at once) and ``us`` (GPU-µs per training image and epoch).
    ``how``: :func:`calls` of ``logs_dir``, where the caller has read them already."""
    recs = results.load_records(Path(records_dir) / profile)
    columns = ["model", "protocol", "dataset", "seed", "wall_time_s", "train_images", "epochs", "device_name",
               "train_images_per_s", "synthetic", "jobs", "mps", "source", "gpu_s", "us"]
    if recs.empty or "device" not in recs:
        return pd.DataFrame(columns=columns)
    recs = recs[recs["device"] == "cuda"].copy()
    how = calls(logs_dir) if how is None else how
    unknown = sorted(set(recs["protocol"]) - set(how))
    if unknown:
        raise ValueError(f"GPU records under {Path(records_dir) / profile} of protocol {', '.join(unknown)} have no "
                         f"call of paper_on_gpu.sh under {logs_dir} (device_run*.txt naming that protocol)")
    recs["jobs"] = [how[p].jobs for p in recs["protocol"]]
    recs["mps"] = [how[p].mps for p in recs["protocol"]]
    recs["source"] = [how[p].source for p in recs["protocol"]]
    recs["gpu_s"] = recs["wall_time_s"] / recs["jobs"]
    recs["us"] = 1e6 * recs["gpu_s"] / (recs["train_images"] * recs["epochs"])
    return recs.reindex(columns=columns).reset_index(drop=True)


def measured(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model and protocol of :func:`gpu_runs`: records, runs at once, MPS, and the medians of
    wall time, images/s, GPU-s and GPU-µs per image-epoch of a run."""
    return (runs.groupby(["model", "protocol"], sort=True)
            .agg(records=("us", "size"), jobs=("jobs", "first"), mps=("mps", "first"),
                 wall_s=("wall_time_s", "median"), images_per_s=("train_images_per_s", "median"),
                 gpu_s=("gpu_s", "median"), us=("us", "median"))
            .reset_index())


def call_summary(runs: pd.DataFrame, how: dict[str, Call], repeats: int) -> pd.DataFrame:
    """Per call of ``paper_on_gpu.sh``: its grid (the records' datasets x its models x ``repeats``),
    the runs recorded, its time (the progress bar's, else its budget: it stopped there) and the
    training images per second of all its runs together."""
    out = []
    for call in {c.source: c for c in how.values()}.values():
        rs = runs[runs["protocol"].isin(call.protocols)]
        planned = runs["dataset"].nunique() * len(call.models) * len(call.protocols) * repeats
        seconds = call.grid_s if call.grid_s is not None else call.budget_s
        out.append({"protocols": ", ".join(call.protocols), "models": ", ".join(call.models), "jobs": call.jobs,
                    "mps": call.mps, "runs": len(rs), "planned": planned, "finished": call.grid_s is not None,
                    "minutes": seconds / 60 if seconds else np.nan,
                    "images_per_s": float((rs["train_images"] * rs["epochs"]).sum() / seconds) if seconds else np.nan,
                    "gpu_share_s": float(rs["gpu_s"].sum()), "source": call.source})
    return pd.DataFrame(out)


def throughput(logs_dir=LOGS_DIR) -> pd.DataFrame:
    """One row per batch size and run of ``benchmarks/bench_model.py --cuda-only`` kept beside the
    GPU records (``<machine>/bench_model_cuda_run*.json``): LEARNet's training images per second."""
    rows = []
    for path in sorted(Path(logs_dir).glob("*/bench_model_cuda_run*.json")):
        for device, figures in json.loads(path.read_text(encoding="utf-8")).items():
            for key, value in figures.items():
                found = re.fullmatch(r"train_batch(\d+)", key)
                if found:
                    rows.append({"source": f"{path.parent.name}/{path.name}", "gpu": figures.get("device", device),
                                 "batch": int(found.group(1)), "images_per_s": float(value)})
    return pd.DataFrame(rows, columns=["source", "gpu", "batch", "images_per_s"])


def batched_cpu(logs_dir=LOGS_DIR) -> dict:
    """The newest ``benchmarks/bench_grid.py --json`` kept beside the records
    (``<machine>/bench_grid.json``): per timing round, K batched runs' training images/s over the
    same K runs one after the other (wall time), their median, and the run's threads and source."""
    found = sorted(Path(logs_dir).glob("*/bench_grid.json"), key=lambda f: f.parent.name.rsplit("-", 3)[-3:])
    if not found:
        raise FileNotFoundError(f"no bench_grid.json under {logs_dir}/*/ (benchmarks/bench_grid.py --json writes it)")
    path = found[-1]
    report = json.loads(path.read_text(encoding="utf-8"))
    rounds = report["cpu"]["rounds"]
    k = report.get("k", 4)
    batched_, sequential = rounds[f"{k} batched"]["wall"], rounds[f"{k} sequential"]["wall"]
    ratios = [b / s for b, s in zip(batched_, sequential)]
    return {"k": k, "ratios": ratios, "median": float(np.median(ratios)), "threads": report.get("threads"),
            "cpus": report.get("cpus"), "source": f"{path.parent.name}/{path.name}"}


def forward_flops(model: str, size: int = 112, num_classes: int = 7) -> float:
    """FLOPs of one forward pass of ``model`` on one ``size`` x ``size`` image (torch's counter)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from . import models  # (torch: imported only here, not with the tables that import this module)

    net = models.build(model, num_classes).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.randn(1, 3, size, size))
    return float(counter.get_total_flops())


def rates(runs: pd.DataFrame, networks, flops: dict) -> pd.DataFrame:
    """GPU-µs per training image and epoch of each network, per reading (:data:`READINGS`):
    the median of its records made under MPS where it has them, else :data:`REFERENCE`'s rate
    (``launch-bound``) or that times its FLOPs over the reference's (``FLOPs``)."""
    under_mps = runs[runs["mps"].astype(bool)]
    rate = under_mps.groupby("model")["us"].median().to_dict()
    if REFERENCE not in rate:
        raise ValueError(f"no GPU record of {REFERENCE} under MPS: the networks without records cannot be read "
                         f"from it (run benchmarks/paper_on_gpu.sh with --models ... {REFERENCE})")
    rows = []
    for m in networks:
        ratio = flops[m] / flops[REFERENCE]
        rows.append({"model": m, "measured": m in rate, "flop_ratio": ratio, "gflops": flops[m] / 1e9,
                     "launch-bound": rate.get(m, rate[REFERENCE]), "FLOPs": rate.get(m, rate[REFERENCE] * ratio)})
    return pd.DataFrame(rows).set_index("model")


def clip_counts(p: profiles.Profile) -> pd.DataFrame:
    """Per dataset of ``p``: Table II's clips (``smic_2class``: the release's negative and
    positive clips, :data:`synthetic.SMIC_FOLDER_COUNTS`) and the release's subjects."""
    table2 = paper.table("table2").set_index("emotion")
    rows = []
    for d in p.datasets:
        release = "smic" if d == "smic_2class" else d
        clips = (synthetic.SMIC_FOLDER_COUNTS["negative"] + synthetic.SMIC_FOLDER_COUNTS["positive"]
                 if d == "smic_2class" else int(table2.loc["total", d]))
        rows.append({"dataset": d, "clips": clips, "subjects": datasets.SPECS[release].subjects})
    return pd.DataFrame(rows).set_index("dataset")


def train_images(clips: int, subjects: int, protocol: str, p: profiles.Profile) -> tuple[int, float]:
    """(folds, mean training images per fold) of one repeat under ``protocol``: the folds
    :func:`protocols.split_for` makes of a stand-in clip table of ``clips`` clips dealt evenly
    among ``subjects`` (LOSO's mean over folds does not depend on how they are dealt)."""
    standin = pd.DataFrame({"subject": np.arange(clips) % subjects, "clip": np.arange(clips)})
    folds = protocols.split_for(standin, protocol, p, seed=0)
    return len(folds), float(np.mean([f.sizes["train_images"] for f in folds]))


@dataclasses.dataclass
class GridCost:
    """The grid's cost (:func:`estimate`)."""
    profile: profiles.Profile
    runs: pd.DataFrame        # gpu_runs: the GPU records
    calls: dict               # protocol -> Call
    measured: pd.DataFrame    # per model and protocol of the records
    summary: pd.DataFrame     # per call
    rates: pd.DataFrame       # per network and reading
    clips: pd.DataFrame       # per dataset: clips, subjects
    sizes: pd.DataFrame       # per dataset and protocol: folds of a repeat, mean training images of a fold
    cells: pd.DataFrame       # per network and protocol: runs, GPU-min per run and GPU-hours per reading, origin
    longest: dict             # reading -> (wall s of the longest run on its share of a GPU, model, protocol, dataset)
    wall: pd.DataFrame        # per GPUs: the grid's wall time, from and to, per reading
    throughput: pd.DataFrame  # bench_model.py --cuda-only beside the records: images/s per batch size and run
    batched: dict             # bench_grid.py on a CPU: K batched runs over K sequential ones (batched_cpu)

    @property
    def total_runs(self) -> int:
        return int(self.cells["runs"].sum())

    def gpu_hours(self, reading: str) -> float:
        return float(self.cells[f"hours {reading}"].sum())

    @property
    def jobs(self) -> int:
        return max(c.jobs for c in self.calls.values())


def estimate(profile="paper", records_dir=results.RESULTS_DIR, logs_dir=LOGS_DIR, flops: dict | None = None,
             gpus=GPUS) -> GridCost:
    """What ``profile``'s grid of networks costs on the GPU its records were made on.
    ``flops``: network -> forward FLOPs at 112x112 (:func:`forward_flops` where not given)."""
    p = profiles.load(profile)
    networks = [m for m in p.models if m not in profiles.HANDCRAFTED]
    how = calls(logs_dir)
    runs = gpu_runs(p.name, records_dir, logs_dir, how)
    if runs.empty:
        raise ValueError(f"no record made on CUDA under {Path(records_dir) / p.name}: the cost is read from them "
                         f"(benchmarks/paper_on_gpu.sh makes them)")
    flops = {m: (flops or {}).get(m) or forward_flops(m) for m in dict.fromkeys(networks + [REFERENCE])}
    rate = rates(runs, networks, flops)
    clips = clip_counts(p)
    kinds = measured(runs)
    variants = len(p.grid_variants)
    rows, longest = [], {k: (0.0, "", "", "") for k in READINGS}
    jobs = max(c.jobs for c in how.values())
    table = []
    for protocol in p.protocols:
        sizes = {d: train_images(int(r.clips), int(r.subjects), protocol, p) for d, r in clips.iterrows()}
        table += [{"dataset": d, "protocol": protocol, "folds": f, "train_images": n} for d, (f, n) in sizes.items()]
        for m in networks:
            runs_here = sum(p.repeats * folds * variants for folds, _ in sizes.values())
            row = {"model": m, "protocol": protocol, "runs": runs_here, "origin": _origin(m, protocol, kinds, rate)}
            for reading in READINGS:
                seconds = {d: rate.loc[m, reading] * 1e-6 * images * p.epochs for d, (_, images) in sizes.items()}
                total = sum(p.repeats * sizes[d][0] * variants * s for d, s in seconds.items())
                row[f"minutes {reading}"] = total / runs_here / 60
                row[f"hours {reading}"] = total / 3600
                d = max(seconds, key=seconds.get)
                if seconds[d] * jobs > longest[reading][0]:
                    longest[reading] = (seconds[d] * jobs, m, protocol, d)
            rows.append(row)
    cells = pd.DataFrame(rows)
    wall = pd.DataFrame([{"gpus": n, **{f"{edge} {k}": f(cells[f"hours {k}"].sum() * 3600 / n, longest[k][0])
                                       for k in READINGS for edge, f in (("from", max), ("to", lambda a, b: a + b))}}
                         for n in gpus])
    return GridCost(p, runs, how, kinds, call_summary(runs, how, p.repeats), rate, clips, pd.DataFrame(table), cells,
                    longest, wall, throughput(logs_dir), batched_cpu(logs_dir))


def _origin(model: str, protocol: str, kinds: pd.DataFrame, rate: pd.DataFrame) -> str:
    """Where a cell's rate comes from, in words."""
    from .tables import METHOD_NAMES  # (tables imports this module)

    if not rate.loc[model, "measured"]:
        return f"not measured: {METHOD_NAMES.get(REFERENCE, REFERENCE)}'s rate, or it by FLOPs"
    here = kinds[(kinds["model"] == model) & (kinds["protocol"] == protocol)]
    if here.empty:
        return f"`paper`'s, on {protocol}'s training images (not measured)"
    if bool(here["mps"].iloc[0]):
        return "measured"
    slower = float(here["us"].iloc[0]) / rate.loc[model, "launch-bound"]
    return f"`paper`'s (its own call, without MPS, measured {slower:.1f}× slower)"


def hours_text(seconds: float) -> str:
    """``42 min`` under an hour, ``1.5 h`` from there."""
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
