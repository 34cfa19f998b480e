"""Grid throughput: K LEARNet runs batched into one computation (learnet_lite.batched) vs the
same K runs one after the other vs one run, training at the paper's batch 25 on 112×112.

    PYTHONPATH=. python benchmarks/bench_grid.py [--k 4] [--images 100] [--rounds 5] [--no-vmap]

The figure is training images per second of all runs together: whole epochs as
``train.fit`` trains them (the training set on the device, each run's own shuffle, dropout
and SGD step; float32 on a CPU, float16 autocast on CUDA). "Sequential" is K runs, each
``train._epoch`` in turn (what K ``fit`` calls do); "one run" is one of them alone;
"batched" is ``batched._epoch`` over the K-run :class:`batched.Stack` (what ``fit_many``
does); "vmap" (an option measured for the design, not used) is ``torch.func``: the K
modules' ``stack_module_state`` under ``vmap(grad(functional_call))`` and the same SGD,
one step of K×25 images per timing. The variants alternate for ``--rounds`` rounds; a
ratio is the median of the per-round ratios, so load from other processes falls on all
alike. Rates are given per second of wall time and per CPU-second of this process (all
threads), which other processes' load disturbs less; on an oversubscribed machine OpenMP's
spinning threads make two-thread timings erratic, and ``OMP_NUM_THREADS=1`` gives stable
ratios (as in bench_model.py).

Arithmetic bound: FLOP per training image (one forward and backward at batch 25, counted
by ``torch.utils.flop_counter.FlopCounterMode``: convolutions and matmuls) against the
device's measured matmul peak (float32 on a CPU, float16 on CUDA). On CUDA also the peak
GPU memory of one run and of a batch of K (``torch.cuda.max_memory_allocated``) and the
batched rate for several K up to ``batched.choose_k``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from learnet_lite import batched, models, train  # noqa: E402

BATCH, SIZE, CLASSES = 25, 112, 8


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn, dev) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    sync(dev)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    sync(dev)
    return time.perf_counter() - wall, time.process_time() - cpu


def make_runs(k: int, n: int, dev):
    """K fresh LEARNets (seeds 0..K-1, as run_fold builds them) and one training set of
    ``n`` random images on the device, shared by all runs (each shuffles it its own way)."""
    torch.manual_seed(123)
    x = torch.randn(n, 3, SIZE, SIZE).to(dev)
    y = torch.randint(0, CLASSES, (n,)).to(dev)
    nets = []
    for seed in range(k):
        torch.manual_seed(seed)
        nets.append(models.build("learnet", CLASSES).to(dev, memory_format=torch.channels_last))
    return nets, x, y


class Sequential:
    """K runs trained one after the other, each epoch ``train._epoch`` (fit's loop)."""

    def __init__(self, k, n, dev):
        self.nets, self.x, self.y = make_runs(k, n, dev)
        self.opts = [train.sgd(net) for net in self.nets]
        self.scalers = [torch.amp.GradScaler(dev.type, enabled=dev.type == "cuda") for _ in self.nets]
        self.dev, self.epoch, self.images = dev, 0, k * n

    def __call__(self):
        loss_fn = torch.nn.CrossEntropyLoss()
        for seed, (net, opt, scaler) in enumerate(zip(self.nets, self.opts, self.scalers)):
            s = train._epoch_seed(seed, self.epoch)
            torch.manual_seed(s)
            train._epoch(net, self.x, self.y, BATCH, self.dev, loss_fn, opt, scaler, torch.Generator().manual_seed(s))
        self.epoch += 1


class Batched:
    """The same K runs as one :class:`batched.Stack`, each epoch ``batched._epoch`` (fit_many's loop)."""

    def __init__(self, k, n, dev):
        nets, self.x, self.y = make_runs(k, n, dev)
        amp = dev.type == "cuda"
        self.stack = batched.Stack(nets)
        self.optim = batched._Optim(self.stack, [train.sgd(net) for net in nets],
                                    [torch.amp.GradScaler(dev.type, enabled=amp) for _ in nets], amp)
        self.k, self.n, self.dev, self.amp, self.epoch, self.images = k, n, dev, amp, 0, k * n

    def __call__(self):
        cpu = torch.device("cpu")
        seeds = [train._epoch_seed(seed, self.epoch) for seed in range(self.k)]
        orders = [train._batches(self.n, BATCH, torch.Generator().manual_seed(s), cpu) for s in seeds]
        plan = batched._plan(orders, [0] * self.k, self.dev)
        gens = [torch.Generator(device=self.dev).manual_seed(s) for s in seeds]
        batched._epoch(self.stack, self.optim, self.x, self.y, plan, gens, self.amp, self.dev, self.k)
        self.epoch += 1


class Vmap:
    """torch.func: ``stack_module_state`` + ``vmap(grad(functional_call))`` and the
    multi-tensor SGD on the stacked parameters; one step of K×25 images a call."""

    def __init__(self, k, n, dev):
        from torch.func import functional_call, grad, stack_module_state, vmap

        nets, x, y = make_runs(k, n, dev)
        self.params, self.buffers = stack_module_state(nets)
        base = copy.deepcopy(nets[0]).to("meta")

        def loss(params, buffers, xb, yb):
            return F.cross_entropy(functional_call(base, (params, buffers), (xb,)), yb)

        self.grad = vmap(grad(loss), randomness="different")  # dropout: one stream for all K
        self.momentum = [torch.zeros_like(p) for p in self.params.values()]
        self.xb = x[:BATCH].expand(k, -1, -1, -1, -1).contiguous()
        self.yb = y[:BATCH].expand(k, -1).contiguous()
        self.images = k * BATCH

    def __call__(self):
        grads = self.grad(self.params, self.buffers, self.xb, self.yb)
        with torch.no_grad():
            params = list(self.params.values())
            torch._foreach_mul_(self.momentum, 0.9)
            torch._foreach_add_(self.momentum, [grads[name] for name in self.params])
            torch._foreach_add_(params, self.momentum, alpha=-1e-3)


def flop_per_image(dev) -> float:
    """FLOP of one training step (forward + backward) at batch 25, per image."""
    from torch.utils.flop_counter import FlopCounterMode

    net = models.build("learnet", CLASSES).to(dev, memory_format=torch.channels_last)
    x = torch.randn(BATCH, 3, SIZE, SIZE, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, CLASSES, (BATCH,), device=dev)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(net(x), y).backward()
    return counter.get_total_flops() / BATCH


def matmul_peak(dev, n: int = 2048, repeat: int = 3) -> float:
    """Measured FLOP/s of a square matmul: float32 on a CPU, float16 on CUDA (tensor cores)."""
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    n = 8192 if dev.type == "cuda" else n
    a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
    a @ b
    best = min(timed(lambda: a @ b, dev)[0] for _ in range(repeat))
    return 2 * n**3 / best


def compare(variants: dict, rounds: int, dev) -> dict:
    """Each variant warmed up once, then timed once per round, in turn: images/s per round."""
    for fn in variants.values():
        fn()
    rates = {name: {"wall": [], "cpu": []} for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            wall, cpu = timed(fn, dev)
            rates[name]["wall"].append(fn.images / wall)
            rates[name]["cpu"].append(fn.images / cpu if cpu > 0 else float("nan"))
    return rates


def ratio(rates, a, b, clock) -> float:
    return statistics.median(x / y for x, y in zip(rates[a][clock], rates[b][clock]))


def cpu_report(args) -> dict:
    dev = torch.device("cpu")
    k, n = args.k, args.images
    variants = {"one run": Sequential(1, n, dev), f"{k} sequential": Sequential(k, n, dev),
                f"{k} batched": Batched(k, n, dev)}
    if not args.no_vmap:
        variants[f"{k} vmap"] = Vmap(k, n, dev)
    rates = compare(variants, args.rounds, dev)
    print(f"\nCPU ({torch.get_num_threads()} threads), training images/s of all runs together "
          f"(median of {args.rounds} rounds; {n} images per run per epoch):")
    print(f"  {'':<16}{'wall':>8}{'CPU-s':>8}   ratio to {k} sequential (wall, CPU-s)")
    base = f"{k} sequential"
    for name, r in rates.items():
        print(f"  {name:<16}{statistics.median(r['wall']):>8.1f}{statistics.median(r['cpu']):>8.1f}   "
              f"{ratio(rates, name, base, 'wall'):.2f}×  {ratio(rates, name, base, 'cpu'):.2f}×")
    print("  per-round wall ratios batched / sequential: " + ", ".join(
        f"{b / s:.2f}" for b, s in zip(rates[f"{k} batched"]["wall"], rates[f"{k} sequential"]["wall"])))
    return {name: {c: statistics.median(v) for c, v in r.items()} for name, r in rates.items()} | {"rounds": rates}


def cuda_report(args) -> dict:
    dev = torch.device("cuda")
    out = {"device": torch.cuda.get_device_name(dev), "n_images": args.cuda_images}
    net = models.build("learnet", CLASSES)
    k_max = batched.choose_k(net, dev, args.cuda_images)
    ks = sorted({k for k in (1, 2, 4, 8, 16, 32, 64) if k <= k_max} | {k_max})
    one = Sequential(1, args.cuda_images, dev)
    rates = compare({"one run": one}, args.rounds, dev)
    out["one_run"] = statistics.median(rates["one run"]["wall"])
    out["batched"], out["peak_mib"] = {}, {}
    for k in ks:
        fn = Batched(k, args.cuda_images, dev)
        out["batched"][k] = statistics.median(compare({"b": fn}, args.rounds, dev)["b"]["wall"])
        del fn
        torch.cuda.empty_cache()
        out["peak_mib"][k] = batched.step_memory(net, dev, k) / 2**20
    print(f"\nCUDA ({out['device']}), float16 autocast, {args.cuda_images} images per run, images/s of all runs:")
    print(f"  one run: {out['one_run']:.0f}   (K sequential runs: the same rate, one after the other)")
    for k in ks:
        print(f"  {k:>3} batched: {out['batched'][k]:>8.0f}   {out['batched'][k] / out['one_run']:5.2f}× one run;  "
              f"peak GPU memory {out['peak_mib'][k]:7.0f} MiB per batch, {out['peak_mib'][k] / k:6.0f} MiB per run")
    out["k_max"] = k_max
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=4, help="runs per batch on the CPU")
    p.add_argument("--images", type=int, default=100, help="training images per run (CPU)")
    p.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    p.add_argument("--no-vmap", action="store_true", help="skip the torch.func variant")
    p.add_argument("--cuda-images", type=int, default=2000, help="training images per run (CUDA)")
    p.add_argument("--json", help="also write the numbers to this JSON file")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    print(f"LEARNet, batch {BATCH}, {SIZE}×{SIZE}×3, {CLASSES} classes; torch {torch.__version__}")
    report = {"threads": torch.get_num_threads(), "torch": torch.__version__, "cpus": os.cpu_count(),
              "k": args.k, "images": args.images, "rounds": args.rounds}
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    fpi = flop_per_image(devices[0])
    report["flop_per_image"] = fpi
    print(f"FLOP per training image (forward + backward, FlopCounterMode): {fpi / 1e6:.0f} MFLOP")
    report["cpu"] = cpu_report(args)
    for dev in devices:
        peak = matmul_peak(dev)
        report[f"{dev.type}_matmul_peak"] = peak
        print(f"arithmetic bound on {dev.type}: {peak / 1e9:.0f} GFLOP/s (matmul, "
              f"{'float16' if dev.type == 'cuda' else 'float32'}) / {fpi / 1e6:.0f} MFLOP = {peak / fpi:,.0f} images/s")
    if torch.cuda.is_available():
        report["cuda"] = cuda_report(args)
    report["seconds"] = time.perf_counter() - t0
    print(f"\n(benchmark took {report['seconds']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
