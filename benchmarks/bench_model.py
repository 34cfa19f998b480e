"""LEARNet throughput: ours vs a straightforward port, training (SGD step included) and
inference at the paper's batch 25 and 112×112 input; peak memory of one training step;
on a CUDA device also images/s at batch 25 and at the best batch.

    PYTHONPATH=. python benchmarks/bench_model.py [--seconds 4] [--rounds 3]

"Port" is the same module run the obvious way: default (channels-first) memory format,
``torch.no_grad`` for inference. "Ours" is how :mod:`learnet_lite.train` runs it:
channels-last weights and activations (oneDNN's native layout, no reorders around every
conv) and ``torch.inference_mode`` for inference. Both compute the same function in
float32 (checked below). An extra line reports bfloat16 autocast, which changes the
arithmetic and is therefore not what the library uses. The two variants alternate for
``--rounds`` rounds and each reports its median, so a noisy shared machine hurts both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from learnet_lite import models  # noqa: E402

BATCH, SIZE, CLASSES = 25, 112, 8


def setup(variant: str, batch: int = BATCH, device: str = "cpu"):
    torch.manual_seed(0)
    model = models.build("learnet", CLASSES).to(device)
    x = torch.randn(batch, 3, SIZE, SIZE, device=device)
    y = torch.randint(0, CLASSES, (batch,), device=device)
    if variant != "port":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    return model, x, y, opt


def autocast(variant: str, device: str):
    if variant == "bf16":
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_step(model, x, y, opt, loss_fn=torch.nn.CrossEntropyLoss()):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def rate(fn, batch: int, seconds: float, device: str = "cpu", warmup: int = 3) -> float:
    """Images per second of ``fn`` (one batch per call), timed for about ``seconds``."""
    for _ in range(warmup):
        fn()
    sync(device)
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 3:
            return n * batch / elapsed


def training_rate(variant, seconds, batch=BATCH, device="cpu"):
    model, x, y, opt = setup(variant, batch, device)
    model.train()
    with autocast(variant, device):
        return rate(lambda: train_step(model, x, y, opt), batch, seconds, device)


def inference_rate(variant, seconds, batch=BATCH, device="cpu"):
    model, x, _, _ = setup(variant, batch, device)
    model.eval()
    ctx = torch.no_grad if variant == "port" else torch.inference_mode
    with ctx(), autocast(variant, device):
        return rate(lambda: model(x), batch, seconds, device)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_step_memory(variant: str) -> dict:
    """Run in a fresh process. Two readings of one training step at batch 25 (after a
    warm-up step that creates the optimizer state and oneDNN primitives):
    the peak of bytes held by tensors allocated during the step (torch profiler), and the
    process's resident-memory high-water mark during the step (Linux VmHWM, reset just
    before it through /proc/self/clear_refs) above its resident size before it."""
    model, x, y, opt = setup(variant)
    model.train()
    train_step(model, x, y, opt)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        train_step(model, x, y, opt)
    live = peak = 0
    for e in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += e.self_cpu_memory_usage  # allocations (+) and frees (-), children not double counted
        peak = max(peak, live)
    out = {"tensor_peak_mib": peak / 2**20}
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        before = _status_kib("VmRSS")
        train_step(model, x, y, opt)
        hwm = _status_kib("VmHWM")
        out.update(rss_peak_mib=hwm / 1024, rss_growth_mib=(hwm - before) / 1024)
    except (OSError, RuntimeError):  # not Linux: the lifetime maximum only
        out.update(rss_peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss_growth_mib=float("nan"))
    return out


def cuda_report(seconds: float) -> dict:
    out = {"device": torch.cuda.get_device_name(0)}
    out["train_batch25"] = training_rate("ours", seconds, BATCH, "cuda")
    out["train_batch25_port"] = training_rate("port", seconds, BATCH, "cuda")
    best = (0.0, BATCH)
    for batch in (25, 50, 100, 200, 400, 800, 1600):
        try:
            r = training_rate("ours", seconds / 2, batch, "cuda")
        except torch.OutOfMemoryError:
            break
        out[f"train_batch{batch}"] = r
        best = max(best, (r, batch))
    out["best_batch"], out["best_train_images_per_s"] = best[1], best[0]
    torch.cuda.reset_peak_memory_stats()
    model, x, y, opt = setup("ours", BATCH, "cuda")
    train_step(model, x, y, opt)
    out["peak_mib_batch25"] = torch.cuda.max_memory_allocated() / 2**20
    out["infer_batch25"] = inference_rate("ours", seconds, BATCH, "cuda")
    return out


def check_same_function():
    port, x, _, _ = setup("port")
    ours, xc, _, _ = setup("ours")
    with torch.no_grad():
        a, b = port.eval()(x), ours.eval()(xc)
    return float((a - b).abs().max())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0, help="timing window per measurement")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per variant")
    p.add_argument("--json", help="also write the numbers to this JSON file")
    p.add_argument("--memory", help=argparse.SUPPRESS)  # child process: one variant's memory
    args = p.parse_args(argv)
    if args.memory:
        print(json.dumps(peak_step_memory(args.memory)))
        return 0

    t0 = time.perf_counter()
    print(f"LEARNet, batch {BATCH}, {SIZE}×{SIZE}×3, {CLASSES} classes, "
          f"{models.count_parameters(models.build('learnet', CLASSES)):,} parameters; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"max |port - ours| on one batch: {check_same_function():.2e} (same function)")
    results = {v: {"train": [], "infer": []} for v in ("port", "ours", "bf16")}
    for _ in range(args.rounds):
        for v in ("port", "ours"):
            results[v]["train"].append(training_rate(v, args.seconds))
            results[v]["infer"].append(inference_rate(v, args.seconds / 2))
    results["bf16"]["train"].append(training_rate("bf16", args.seconds))
    results["bf16"]["infer"].append(inference_rate("bf16", args.seconds / 2))
    med = {v: {k: statistics.median(r) for k, r in d.items()} for v, d in results.items()}
    print(f"\n{'CPU, images/s':<34}{'training':>10}{'inference':>11}")
    for v, label in (("port", "straightforward port (NCHW)"), ("ours", "ours (channels-last)"),
                     ("bf16", "ours + bfloat16 autocast (extra)")):
        print(f"{label:<34}{med[v]['train']:>10.1f}{med[v]['infer']:>11.1f}")
    ratio_train = med["ours"]["train"] / med["port"]["train"]
    ratio_infer = med["ours"]["infer"] / med["port"]["infer"]
    print(f"{'ratio ours / port':<34}{ratio_train:>9.2f}×{ratio_infer:>10.2f}×")
    print(f"(medians of {args.rounds} alternating rounds; per-round training ratios: "
          + ", ".join(f"{o / p_:.2f}" for o, p_ in zip(results['ours']['train'], results['port']['train'])) + ")")

    memory = {}
    for v in ("port", "ours"):
        child = subprocess.run([sys.executable, __file__, "--memory", v], capture_output=True, text=True, check=True)
        memory[v] = json.loads(child.stdout.strip().splitlines()[-1])
    print("\npeak memory of one training step at batch 25 (fresh process each):")
    for v in ("port", "ours"):
        m = memory[v]
        print(f"  {v:<5} tensors allocated in the step peak at {m['tensor_peak_mib']:6.1f} MiB; process RSS "
              f"peaks at {m['rss_peak_mib']:6.1f} MiB, {m['rss_growth_mib']:+.1f} MiB above its size before the step")

    report = {"cpu": med, "ratio_train": ratio_train, "ratio_infer": ratio_infer, "memory": memory}
    if torch.cuda.is_available():
        report["cuda"] = cuda_report(args.seconds)
        c = report["cuda"]
        print(f"\nCUDA ({c['device']}): training {c['train_batch25']:.0f} images/s at batch 25 "
              f"(port {c['train_batch25_port']:.0f}), best {c['best_train_images_per_s']:.0f} images/s "
              f"at batch {c['best_batch']}; inference {c['infer_batch25']:.0f} images/s at batch 25; "
              f"peak {c['peak_mib_batch25']:.0f} MiB per training step at batch 25")
    print(f"\n(benchmark took {time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
