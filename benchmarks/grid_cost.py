"""What the `paper` grid costs on GPUs, from the committed GPU records: the tables of
book/reproducing.md's section "The grid on a Ray cluster".

    .venv/bin/python benchmarks/grid_cost.py

Measured: every record under data/results/paper/ made on CUDA (its wall_time_s,
train_images_per_s, sizes, device_name), with how its call of benchmarks/paper_on_gpu.sh ran
(runs at once, MPS on or off: benchmarks/results/h200-*/device_run*.txt). A run's GPU cost is
its wall time divided by the runs that shared the GPU with it; per training image and epoch
that is the rate of its model.

Estimated (never run on a GPU): LOSO proper, at the rate its model has under `paper` (the cost
of a run grows with its training images x epochs; LOSO trains on more images per run), and
VGG-16/VGG-19, at ResNet-18's rate times their forward FLOPs over ResNet-18's at 112x112
(torch.utils.flop_counter). At batch 25 a run is bound by kernel launches more than by
arithmetic (benchmarks/results/h200-*/README.md), so the FLOP ratio likely overstates VGG.

The grid's runs follow the paper profile: datasets x models x protocols x repeats, one fold for
`paper` and `paper-leaky` and one per subject for LOSO proper (subjects: datasets.SPECS), on
the clip counts of Table II (smic_2class: the release's negative and positive clips, which
`smic_2class` reads).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from learnet_lite import augment, datasets, models, paper, profiles, synthetic  # noqa: E402

RECORDS = ROOT / "data" / "results" / "paper"
LOGS = sorted((ROOT / "benchmarks" / "results").glob("h200-*"))
GPUS = (1, 8, 64)


def calls() -> dict:
    """protocol -> (runs at once, MPS on) of the paper_on_gpu.sh calls that ran it."""
    out = {}
    for log in LOGS:
        for f in sorted(log.glob("device_run*.txt")):
            text = f.read_text()
            jobs = int(re.search(r"jobs (\d+)", text).group(1))
            mps = bool(re.search(r"^MPS on", text, re.M))
            for protocol in re.search(r"protocols ([^\n;]+)", text).group(1).split():
                out[protocol] = (jobs, mps, f"{log.name}/{f.name}")
    return out


def measured() -> tuple[list, dict]:
    how = calls()
    rows = []
    for path in sorted(RECORDS.rglob("*.json")):
        r = json.loads(path.read_text())
        if r.get("device") != "cuda":
            continue
        jobs, mps, source = how[r["protocol"]]
        epochs = r["extra"]["epochs"]
        gpu_s = r["wall_time_s"] / jobs
        rows.append(dict(model=r["model"], protocol=r["protocol"], dataset=r["dataset"], wall=r["wall_time_s"],
                         ips=r["train_images_per_s"], images=r["sizes"]["train_images"], epochs=epochs,
                         jobs=jobs, mps=mps, gpu_s=gpu_s, us=1e6 * gpu_s / (r["sizes"]["train_images"] * epochs),
                         device=r["extra"].get("device_name"), source=source))
    return rows, how


def flops(name: str) -> float:
    net = models.build(name, 7).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.randn(1, 3, 112, 112))
    return counter.get_total_flops()


def train_clips(n: int, protocol: str, subjects: int, p) -> float:
    """Training clips (paper) or images/copies (paper-leaky: of n x copies) of one run, as
    protocols.split draws them; LOSO: the mean over its folds."""
    def rest_of(k):  # sklearn's train_test_split: the test part is ceil(size x n)
        return k - math.ceil(p.test_size * k)

    if protocol == "loso":
        n_val = min(subjects - 2, max(1, round(p.val_size * (subjects - 1))))
        return n * (subjects - 1 - n_val) / subjects
    if protocol == "kfold":  # a fold trains on the other k - 1 folds' clips, less their validation share
        rest = n * (p.kfold_folds - 1) / p.kfold_folds
        return rest - math.ceil(p.val_size * rest)
    rest = rest_of(n)
    return rest - math.ceil(p.val_size * rest)


def main() -> None:
    rows, how = measured()
    p = profiles.load("paper")
    # the GPU's share of the grid: the networks (the handcrafted methods train in seconds on a CPU), on each input
    # variant the grid trains (Profile.grid_variants: the text's rank-pooling weights and the authors')
    p = dataclasses.replace(p, models=tuple(m for m in p.models if m in models.NAMES))
    variants = len(p.grid_variants)
    copies = augment.Options.from_profile(p).copies_per_image
    print(f"Measured: {len(rows)} GPU records under data/results/paper/ "
          f"({', '.join(sorted({r['device'] for r in rows}))}; calls: "
          + "; ".join(f"{k}: {v[0]} at once, MPS {'on' if v[1] else 'off'} ({v[2]})" for k, v in sorted(how.items()))
          + ")\n")
    print("| model | protocol | records | runs at once | MPS | wall time per run, s (median) | images/s per run "
          "(median) | GPU-s per run (median) | GPU-µs per image-epoch (median) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    kinds = defaultdict(list)
    for r in rows:
        kinds[r["model"], r["protocol"]].append(r)
    for (model, protocol), rs in sorted(kinds.items()):
        med = {k: statistics.median(r[k] for r in rs) for k in ("wall", "ips", "gpu_s", "us")}
        print(f"| {model} | {protocol} | {len(rs)} | {rs[0]['jobs']} | {'on' if rs[0]['mps'] else 'off'} | "
              f"{med['wall']:.0f} | {med['ips']:,.0f} | {med['gpu_s']:.1f} | {med['us']:.1f} |")
    for protocol in sorted({r["protocol"] for r in rows}):
        rs = [r for r in rows if r["protocol"] == protocol]
        took = grid_time(how[protocol][2])
        print(f"\n{protocol}: the runs' GPU shares add up to {sum(r['gpu_s'] for r in rs):.0f} s over {len(rs)} runs"
              + (f"; the call's grid took {took:.0f} s (its progress bar)" if took else
                 "; the call did not finish its grid"))

    # each model's rate: GPU-µs per training image and epoch, under MPS (the `paper` call); VGG, never run on a
    # GPU, read two ways: at ResNet-18's rate (launch-bound like it) and at ResNet-18's rate x the FLOP ratio
    flop = {m: flops(m) for m in p.models}
    measured_rate = {m: statistics.median(r["us"] for r in rows if r["model"] == m and r["mps"])
                     for m in {r["model"] for r in rows}}
    readings = {"launch-bound": {}, "FLOPs": {}}
    for model in p.models:
        for reading, rates in readings.items():
            ratio = 1.0 if reading == "launch-bound" else flop[model] / flop["resnet18"]
            rates[model] = measured_rate.get(model, measured_rate["resnet18"] * ratio)
    print("\nForward GFLOPs at 112x112: " + ", ".join(f"{m} {flop[m] / 1e9:.2f}" for m in p.models))
    print("GPU-µs per image-epoch: " + ", ".join(
        f"{m} {measured_rate[m]:.1f} (measured)" if m in measured_rate else
        f"{m} {readings['launch-bound'][m]:.1f} or {readings['FLOPs'][m]:.1f} (ResNet-18's, or x "
        f"{flop[m] / flop['resnet18']:.1f} by FLOPs)" for m in p.models))

    table2 = paper.table("table2").set_index("emotion")
    clips = {d: int(table2.loc["total", d]) for d in p.datasets if d != "smic_2class"}
    clips["smic_2class"] = synthetic.SMIC_FOLDER_COUNTS["negative"] + synthetic.SMIC_FOLDER_COUNTS["positive"]
    subjects = {d: datasets.SPECS[inputs_source(d)].subjects for d in p.datasets}
    print("\nThe grid: " + ", ".join(f"{d} {clips[d]} clips / {subjects[d]} subjects" for d in p.datasets)
          + f"; {len(p.models)} networks, {variants} input variants ({', '.join(p.grid_variants)}), "
          f"{p.repeats} repeats, {p.epochs} epochs, {copies} copies per training clip\n")

    # (model, protocol) -> runs, and per reading: GPU-s, the longest run's GPU-s
    grid = defaultdict(lambda: {"runs": 0, **{k: [0.0, 0.0] for k in readings}})
    longest_kind = {k: (0.0, "") for k in readings}
    for d in p.datasets:
        for protocol in p.protocols:
            folds = (subjects[d] if protocol == "loso" else p.kfold_folds if protocol == "kfold" else 1) * variants
            leaky = copies if protocol == "paper-leaky" else 1  # paper-leaky splits the n x copies images
            images = copies * train_clips(clips[d] * leaky, protocol, subjects[d], p) / leaky
            for model in p.models:
                cell = grid[model, protocol]
                cell["runs"] += p.repeats * folds
                for reading, rates in readings.items():
                    g = rates[model] * 1e-6 * images * p.epochs
                    cell[reading][0] += p.repeats * folds * g
                    cell[reading][1] = max(cell[reading][1], g)
                    if g > longest_kind[reading][0]:
                        longest_kind[reading] = (g, f"{model} {protocol} {d}")
    print("| model | protocol | runs | GPU-min per run (mean) | GPU-hours | rate |")
    print("| --- | --- | --- | --- | --- | --- |")

    def both(values, fmt):
        lo, hi = (fmt(v) for v in values)
        return lo if lo == hi else f"{lo} or {hi}"

    for model in p.models:
        for protocol in p.protocols:
            cell = grid[model, protocol]
            runs = cell["runs"]
            if model not in measured_rate:
                origin = "not measured: ResNet-18's, or by FLOPs"
            elif (model, protocol) in kinds and kinds[model, protocol][0]["mps"]:
                origin = "measured"
            elif (model, protocol) in kinds:
                origin = "`paper`'s (its own call, without MPS: {:.1f}x)".format(
                    statistics.median(r["us"] for r in kinds[model, protocol]) / measured_rate[model])
            else:
                origin = f"`paper`'s, on {protocol}'s training images (not measured)"
            per_run = [cell[k][0] / runs / 60 for k in readings]
            hours = [cell[k][0] / 3600 for k in readings]
            print(f"| {model} | {protocol} | {runs} | {both(per_run, lambda v: f'{v:.2f}')} | "
                  f"{both(hours, lambda v: f'{v:.2f}')} | {origin} |")
    runs = sum(c["runs"] for c in grid.values())
    total = {k: sum(c[k][0] for c in grid.values()) for k in readings}
    jobs = max(v[0] for v in how.values())
    longest = {k: max(c[k][1] for c in grid.values()) * jobs for k in readings}  # wall: a 1/jobs share of a GPU
    print(f"| all | | {runs} | {both([total[k] / runs / 60 for k in readings], lambda v: f'{v:.2f}')} | "
          f"{both([total[k] / 3600 for k in readings], lambda v: f'{v:.1f}')} | |\n")
    print(f"Wall time at {jobs} runs per GPU under MPS, from max(GPU time / GPUs, longest run) to GPU time / GPUs + "
          f"longest run (list scheduling), VGG at ResNet-18's rate | by FLOPs; the longest run ("
          f"{longest_kind['launch-bound'][1]} | {longest_kind['FLOPs'][1]}; LOSO: a fold of mean size) takes "
          f"{longest['launch-bound'] / 60:.0f} | {longest['FLOPs'] / 60:.0f} min on its share:\n")
    print("| GPUs | VGG at ResNet-18's rate | VGG by FLOPs |")
    print("| --- | --- | --- |")
    for n in GPUS:
        cells = [f"{_hours(max(total[k] / n, longest[k]))} to {_hours(total[k] / n + longest[k])}" for k in readings]
        print(f"| {n} | {cells[0]} | {cells[1]} |")


def grid_time(device_log: str) -> float | None:
    """Seconds the call's grid took, from the last full progress bar of its reproduce log."""
    log = ROOT / "benchmarks" / "results" / device_log.replace("device_run", "reproduce_run").replace(".txt", ".log")
    if not log.is_file():
        return None
    bars = re.findall(r"(\d+)/(\d+) \[(\d+):(\d+)<", log.read_text().replace("\r", "\n"))
    done = [(int(m), int(s)) for n, total, m, s in bars if n == total]
    return 60 * done[-1][0] + done[-1][1] if done else None


def inputs_source(dataset: str) -> str:
    return "smic" if dataset == "smic_2class" else dataset


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


if __name__ == "__main__":
    main()
