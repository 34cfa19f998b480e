"""LEARNet throughput: ours vs a straightforward port, training (SGD step included) and
inference at the paper's batch 25 and 112×112 input; peak memory of one training step;
on a CUDA device also images/s at batch 25 and at the best batch.

    PYTHONPATH=. python benchmarks/bench_model.py [--seconds 4] [--rounds 3]

"Port" is the same module (same parameters, same initial weights) run the obvious way:
every map of the Keras graph computed as drawn (:meth:`LEARNet.lateral`, the full 56×56
stem map included), default (channels-first) memory format, ``torch.no_grad`` for
inference. "Ours" is how :mod:`learnet_lite.train` runs it: ``LEARNet.forward``, which
computes the stem only at the pixels the 1×1 stride-2 convs read (a quarter of them),
channels-last weights and activations (oneDNN's native layout, no reorders around every
conv), the multi-tensor SGD of ``train.sgd`` (bit-identical updates) and
``torch.inference_mode`` for inference. Both compute the same function in
float32 (checked below). An extra line reports bfloat16 autocast, which changes the
arithmetic and is therefore not what the library uses. The two variants alternate for
``--rounds`` short windows; the ratio is the median of the per-round ratios, so load from
other processes on a shared machine falls on both variants alike. On an oversubscribed
machine OpenMP's spinning threads make two-thread timings erratic: ``OMP_NUM_THREADS=1``
gives stable ratios (and, there, more images/s).
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


class Port(models.LEARNet):
    """The straightforward port: the Keras graph computed map by map, each layer on the
    whole of its input (what ``LEARNet.forward`` computed before it learned to skip the
    stem pixels nothing reads)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv5(self.concat_bn(self.lateral(x)["concat"]))
        return self.classifier(self.fc(torch.flatten(x, 1)))


def setup(variant: str, batch: int = BATCH, device: str = "cpu"):
    torch.manual_seed(0)
    model = (Port(CLASSES) if variant == "port" else models.build("learnet", CLASSES)).to(device)
    x = torch.randn(batch, 3, SIZE, SIZE, device=device)
    y = torch.randint(0, CLASSES, (batch,), device=device)
    if variant == "port":
        return model, x, y, torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    from learnet_lite import train  # ours: as train.fit sets it up

    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    return model, x, y, train.sgd(model)


def autocast(variant: str, device: str):
    if variant == "bf16":
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


CROSS_ENTROPY = torch.nn.CrossEntropyLoss()


def train_step(model, x, y, opt, loss_fn=CROSS_ENTROPY):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def rate(fn, batch: int, seconds: float, device: str = "cpu", warmup: int = 1, cpu_time: bool = False) -> float:
    """Images per second of ``fn`` (one batch per call), timed for about ``seconds``: per
    second of wall-clock time, or with ``cpu_time`` per second of this process's CPU time
    (all threads), which other processes' load on a shared machine disturbs much less."""
    for _ in range(warmup):
        fn()
    sync(device)
    clock = time.process_time if cpu_time else time.perf_counter
    n, start, wall = 0, clock(), time.perf_counter()
    while True:
        fn()
        n += 1
        sync(device)
        if time.perf_counter() - wall >= seconds and n >= 2:
            return n * batch / (clock() - start)


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


def cuda_report(seconds: float, n_images: int = 2000, device: str = "cuda", batches=(50, 100, 200, 400, 1000)) -> dict:
    """Images/s on the GPU, training the way :func:`learnet_lite.train.fit` trains there:
    the training set resident on the device, channels-last, float16 autocast with a
    GradScaler, loss and hits summed on the device (``train._epoch``, whole epochs over
    ``n_images`` images, about the paper protocol's CASME II training set: 0.56 x 251 clips
    x 14 copies), at the paper's batch 25 and at larger batches; the port (float32, NCHW,
    one host sync per step for the loss, as a plain loop does) at batch 25 beside it."""
    from learnet_lite import train

    dev = torch.device(device)
    out = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu (dry run)",
           "torch": torch.__version__, "n_images": n_images}
    torch.manual_seed(0)
    x = torch.randn(n_images, 3, SIZE, SIZE, device=dev)
    y = torch.randint(0, CLASSES, (n_images,), device=dev)
    loss_fn = torch.nn.CrossEntropyLoss()

    def ours(batch: int) -> float:
        torch.manual_seed(0)
        model = models.build("learnet", CLASSES).to(dev, memory_format=torch.channels_last)
        opt = train.sgd(model)
        scaler = torch.amp.GradScaler(dev.type)
        gen = torch.Generator().manual_seed(0)
        epoch = lambda: train._epoch(model, x, y, batch, dev, loss_fn, opt, scaler, gen)  # noqa: E731
        return rate(epoch, n_images, seconds, dev.type)

    def port(batch: int) -> float:
        torch.manual_seed(0)
        model = Port(CLASSES).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def epoch():
            for i in range(0, n_images, batch):
                train_step(model, x[i:i + batch], y[i:i + batch], opt, loss_fn).item()  # a sync per step
        return rate(epoch, n_images, seconds, dev.type)

    out["train_batch25"] = ours(BATCH)
    out["train_batch25_port"] = port(BATCH)
    best = (out["train_batch25"], BATCH)
    for batch in batches:
        try:
            r = ours(batch)
        except torch.OutOfMemoryError:
            break
        out[f"train_batch{batch}"] = r
        best = max(best, (r, batch))
    out["best_batch"], out["best_train_images_per_s"] = best[1], best[0]
    if dev.type != "cuda":
        return out
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    model, xb, yb, _ = setup("ours", BATCH, "cuda")
    opt, scaler = train.sgd(model), torch.amp.GradScaler(dev.type)
    for _ in range(2):  # the second step holds the optimizer state too
        train._epoch(model, xb, yb, BATCH, dev, loss_fn, opt, scaler)
    torch.cuda.synchronize()
    out["peak_mib_batch25"] = (torch.cuda.max_memory_allocated() - before) / 2**20
    model.eval()
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16):
        out["infer_batch25"] = rate(lambda: model(xb), BATCH, seconds, "cuda")
    return out


def check_same_function():
    port, x, _, _ = setup("port")
    ours, xc, _, _ = setup("ours")
    with torch.no_grad():
        a, b = port.eval()(x), ours.eval()(xc)
    return float((a - b).abs().max())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=1.0, help="training timing window per round (inference: half)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (port, ours) per measurement")
    p.add_argument("--json", help="also write the numbers to this JSON file")
    p.add_argument("--cuda-only", action="store_true", help="only the GPU figures (on a lent GPU machine)")
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
    if args.cuda_only:
        return _cuda(args, {})
    # one model per variant, built and warmed up once; then short alternating windows, so
    # that load from other processes on a shared machine falls on both variants alike
    runners = {}
    for v in ("port", "ours", "bf16"):
        model, x, y, opt = setup(v)
        runners[v] = (model, x, y, opt)
    ctx = {"port": torch.no_grad, "ours": torch.inference_mode, "bf16": torch.inference_mode}

    def measure(v, kind, seconds):
        model, x, y, opt = runners[v]
        with autocast(v, "cpu"):
            if kind.startswith("train"):
                model.train()
                return rate(lambda: train_step(model, x, y, opt), BATCH, seconds, cpu_time=kind.endswith("cpu"))
            model.eval()
            with ctx[v]():
                return rate(lambda: model(x), BATCH, seconds, cpu_time=kind.endswith("cpu"))

    kinds = {"train": args.seconds, "infer": args.seconds / 2, "train_cpu": args.seconds, "infer_cpu": args.seconds / 2}
    results = {v: {k: [] for k in kinds} for v in runners}
    for _ in range(args.rounds):
        for kind, seconds in kinds.items():
            for v in ("port", "ours"):
                results[v][kind].append(measure(v, kind, seconds))
    for kind, seconds in kinds.items():
        results["bf16"][kind].append(measure("bf16", kind, seconds))
    med = {v: {k: statistics.median(r) for k, r in d.items()} for v, d in results.items()}
    ratios = {k: statistics.median(o / p_ for o, p_ in zip(results["ours"][k], results["port"][k])) for k in kinds}
    print(f"\n{'CPU, images/s (median of rounds)':<36}{'training':>10}{'inference':>11}"
          f"{'training':>11}{'inference':>11}")
    print(f"{'':<36}{'per second of wall time':>21}{'per CPU-second':>22}")
    for v, label in (("port", "straightforward port (NCHW)"), ("ours", "ours (channels-last)"),
                     ("bf16", "ours + bfloat16 autocast (extra)")):
        m = med[v]
        print(f"{label:<36}{m['train']:>10.1f}{m['infer']:>11.1f}{m['train_cpu']:>11.1f}{m['infer_cpu']:>11.1f}")
    print(f"{'ratio ours / port (median of pairs)':<36}{ratios['train']:>9.2f}×{ratios['infer']:>10.2f}×"
          f"{ratios['train_cpu']:>10.2f}×{ratios['infer_cpu']:>10.2f}×")
    print("per-round training ratios (wall): " + ", ".join(
        f"{o / p_:.2f}" for o, p_ in zip(results["ours"]["train"], results["port"]["train"])))

    memory = {}
    for v in ("port", "ours"):
        child = subprocess.run([sys.executable, __file__, "--memory", v], capture_output=True, text=True, check=True)
        memory[v] = json.loads(child.stdout.strip().splitlines()[-1])
    print("\npeak memory of one training step at batch 25 (fresh process each):")
    for v in ("port", "ours"):
        m = memory[v]
        print(f"  {v:<5} tensors allocated in the step peak at {m['tensor_peak_mib']:6.1f} MiB; process RSS "
              f"peaks at {m['rss_peak_mib']:6.1f} MiB, {m['rss_growth_mib']:+.1f} MiB above its size before the step")

    report = {"cpu": med, "rounds": results, "ratios": ratios,
              "memory": memory}
    if torch.cuda.is_available():
        return _cuda(args, report, t0)
    print(f"\n(benchmark took {time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def _cuda(args, report, t0=None) -> int:
    t0 = t0 or time.perf_counter()
    report["cuda"] = c = cuda_report(args.seconds)
    print(f"\nCUDA ({c['device']}, torch {c['torch']}), training as learnet_lite.train does it (float16 "
          f"autocast, data on the device), images/s:")
    print(f"  batch 25 (the paper's): {c['train_batch25']:.0f}   port (float32, NCHW, a sync per step): "
          f"{c['train_batch25_port']:.0f}   ratio {c['train_batch25'] / c['train_batch25_port']:.2f}×")
    print("  by batch: " + ", ".join(f"{b}: {c[f'train_batch{b}']:.0f}" for b in (25, 50, 100, 200, 400, 1000)
                                    if f"train_batch{b}" in c))
    print(f"  best: {c['best_train_images_per_s']:.0f} images/s at batch {c['best_batch']}; inference "
          f"{c['infer_batch25']:.0f} images/s at batch 25; model, optimizer state and one training step "
          f"at batch 25 peak at {c['peak_mib_batch25']:.0f} MiB of GPU memory")
    print(f"\n(benchmark took {time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
