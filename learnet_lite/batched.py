"""Many runs in one process: K independent LEARNet trainings as one batched computation.

The paper's grid is thousands of trainings of a network of ~50 MFLOP per image; on a GPU one
run at batch 25 is bound by kernel launches, not arithmetic. :func:`fit_many` trains K runs
of the same LEARNet configuration (different seeds or folds) so that a step launches one set
of kernels for all K, and leaves each of the K modules with its trained weights.

Each run stays what :func:`learnet_lite.train.fit` makes of it: its own initial weights (the
modules passed in), data order (epoch ``e`` shuffles with ``_epoch_seed(seed, e)``, or with
epoch 0's seed throughout under ``shuffle: once``: ``train._order_seed``), dropout
stream (a per-run generator seeded as ``fit`` seeds the global one each epoch; on CPU these
are ATen's dropout masks exactly), SGD state (``train.sgd``'s parameter groups: weight decay
on every parameter but the conv/linear biases), BatchNorm statistics, checkpoint (``fit``'s
format: either can resume the other's) and history.

Design kept: **grouped convolutions over K models** (:class:`Stack`). Each run's batch is
its own block of channels; every conv runs with ``groups=K`` (``K·C`` channels), BatchNorm
over ``K·C`` channels is exactly K BatchNorms, the two Linear layers are one batched matmul
(``baddbmm``), the accretion sums, ReLUs and pooling act per channel anyway, and only the
concat and the flatten regroup channels run by run. The parameters of all K runs live in
one stacked tensor per parameter (run k's slice is its module's tensor), so the SGD update
is one multi-tensor call for all K whatever K is: a step launches about one run's kernels
(plus one dropout draw per run).

Options measured on this 2-core CPU (``benchmarks/bench_grid.py``: batch 25, K = 4, training
images/s of all runs together, 2 threads on a quiet machine / 1 thread): 4 sequential
``fit`` runs 869 / 505, one run 832 / 490, grouped convs 756 / 439 (0.88× / 0.87×; 0.79–0.90×
over K = 2, 4, 8 and repeated runs), ``torch.func``
(``stack_module_state`` + ``vmap(grad(functional_call))``) 511 / 294 (0.59×). vmap lowers the
convs to the same grouped convs plus its own per-op overhead, and draws every run's dropout
from one global stream (``randomness="different"``), so no run keeps ``fit``'s masks; CUDA
graphs need a GPU to test. So grouped convs are kept, for a GPU: there one batch-25 run is
launch-bound and K runs cost about one run's launches. On a CPU the arithmetic dominates
(per-op overhead is a few per cent of a step) and oneDNN's grouped backward kernels are
slower per group than its dense ones (conv 5's 256-channel groups most), so batching loses
10–20% there: :func:`choose_k` gives 1 on a CPU, where a run also stays bit-identical to
``fit``.

Training sets of different sizes (LOSO folds differ): each step groups the runs by the size
of their current batch; runs are stacked largest first, so those groups are contiguous
slices of the stack, and a run whose epoch is over (or whose last batch is smaller) simply
sits out that sub-step (views of the stacked weights; its parameters and optimiser state are
untouched). No padding, so BatchNorm never sees foreign images.

Exactness (CPU, float32): a batch of one run is ``fit`` to the bit (history, weights,
checkpoint). With K > 1 the data order, dropout masks, conv outputs and input gradients,
BatchNorm, loss gradients and SGD arithmetic are bit-identical to K separate runs, but
oneDNN sums the grouped convs' weight gradients over batch and pixels in another order,
MKL's batched matmul (with more than one thread) blocks its sums differently, and a loss
value may differ in its last bit; so the runs agree with separate ones to float32 rounding
amplified by SGD (tests/test_batched.py: weights within 2e-4, losses 1e-4 relative; measured
2e-5 and 2e-6 after two epochs; with one thread the tests' K = 3 runs came out
bit-identical). On CUDA (float16 autocast, a GradScaler per run) neither ``fit`` nor this
is bit-reproducible; there the dropout masks come from a per-run CUDA generator seeded as
``fit`` seeds the global one, not from ``fit``'s stream.

Only :class:`learnet_lite.models.LEARNet` (any ablation) is batched: other networks, or runs
that differ in configuration or input size, fall back to sequential :func:`train.fit` runs.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from . import models, train

CPU_MAX_K = 1       # on a CPU batching is 10-20% slower than runs one after the other (module docstring)
CUDA_MAX_K = 64
CPU_STEP_BYTES_PER_IMAGE = 1.25 * 2**20  # tensors of a CPU training step, per image (bench_model: 30 MiB at 25)


def batchable(nets, xs=None) -> bool:
    """True when ``nets`` can train as one :class:`Stack`: all plain :class:`models.LEARNet`
    (not a subclass with its own forward) of one configuration, and, given ``xs``, images of
    one size."""
    nets = list(nets)
    if not nets or any(type(n) is not models.LEARNet for n in nets):
        return False
    shapes = [{k: (tuple(v.shape), v.dtype) for k, v in n.state_dict().items()} for n in nets]
    same = all(n.options == nets[0].options and n.skip_unread_stem == nets[0].skip_unread_stem
               and s == shapes[0] for n, s in zip(nets, shapes))
    return same and (xs is None or len({tuple(x.shape[1:]) for x in xs}) == 1)


def _runs(t: torch.Tensor, k: int) -> torch.Tensor:
    """A stacked tensor (K·n, ...) as (K, n, ...): run r's slice is ``[r]`` (a view)."""
    return t.unflatten(0, (k, -1))


class Stack:
    """K :class:`models.LEARNet` modules of one configuration as one grouped network.

    Every parameter and buffer of the K modules is concatenated along its first dimension
    (conv weights (K·Cout, Cin, kh, kw) channels-last, BatchNorm (K·C), Linear (K·out, in),
    ``num_batches_tracked`` (K,)); :meth:`forward` runs a contiguous range ``[a, b)`` of the
    runs on their inputs stacked along the channels."""

    def __init__(self, nets: list[nn.Module]):
        self.template, self.k = nets[0], len(nets)
        self.names = {id(m): n for n, m in self.template.named_modules()}
        self.params = [n for n, _ in self.template.named_parameters()]
        self.buffers = [n for n, _ in self.template.named_buffers()]
        states = [dict(n.named_parameters(), **dict(n.named_buffers())) for n in nets]
        self.t = {}
        with torch.no_grad():
            for name in self.params + self.buffers:
                parts = [s[name].detach() for s in states]
                t = torch.stack(parts) if parts[0].ndim == 0 else torch.cat(parts)
                if t.ndim == 4:
                    t = t.contiguous(memory_format=torch.channels_last)
                self.t[name] = t.requires_grad_(True) if name in self.params else t
        self.steps = [0] * self.k  # training forwards since the stack was built (num_batches_tracked)

    def sel(self, module: nn.Module, what: str, a: int, b: int) -> torch.Tensor:
        """``module``'s tensor ``what`` for runs ``[a, b)``: the stacked tensor itself or a view."""
        t = self.t[f"{self.names[id(module)]}.{what}"]
        return t if (a, b) == (0, self.k) else _runs(t, self.k)[a:b].flatten(0, 1)

    def copy_to(self, nets: list[nn.Module]) -> None:
        """Write the stacked weights and statistics back into the K modules."""
        with torch.no_grad():
            for r, net in enumerate(nets):
                state = dict(net.named_parameters(), **dict(net.named_buffers()))
                for name, t in self.t.items():
                    value = _runs(t, self.k)[r].reshape(state[name].shape)
                    state[name].copy_(value + self.steps[r] if name.endswith("num_batches_tracked") else value)

    # -- the grouped forward pass, layer by layer as LEARNet.forward computes it ------------
    def _conv(self, conv: nn.Conv2d, x, a, b):
        w, bias, g = self.sel(conv, "weight", a, b), self.sel(conv, "bias", a, b), b - a
        if isinstance(conv, models.Conv2dSame):  # its own padding rule (Keras "same")
            top, bottom = conv._pads(x.shape[-2], conv.kernel_size[0], conv.stride[0])
            left, right = conv._pads(x.shape[-1], conv.kernel_size[1], conv.stride[1])
            if top == bottom and left == right:
                return F.conv2d(x, w, bias, conv.stride, (top, left), groups=g)
            return F.conv2d(F.pad(x, (left, right, top, bottom)), w, bias, conv.stride, groups=g)
        return F.conv2d(x, w, bias, conv.stride, conv.padding, conv.dilation, groups=g)

    def _seq(self, seq: nn.Sequential, x, a, b):
        for m in seq.children():
            if isinstance(m, nn.Conv2d):
                x = self._conv(m, x, a, b)
            elif isinstance(m, (nn.ReLU, nn.MaxPool2d)):  # per channel: the module itself
                x = m(x)
            else:
                raise TypeError(f"batched LEARNet: no grouped form of {type(m).__name__}")
        return x

    def _bn(self, bn: nn.BatchNorm2d, x, a, b, training: bool):
        return F.batch_norm(x, self.sel(bn, "running_mean", a, b), self.sel(bn, "running_var", a, b),
                            self.sel(bn, "weight", a, b), self.sel(bn, "bias", a, b), training, bn.momentum, bn.eps)

    def _linear(self, lin: nn.Linear, x, a, b):  # x (G, B, in) -> (G, B, out)
        g = b - a
        w = self.sel(lin, "weight", a, b).view(g, lin.out_features, lin.in_features)
        bias = self.sel(lin, "bias", a, b).view(g, 1, lin.out_features)
        if g == 1:  # nn.Linear's own kernel: a batch of one run is fit's step to the bit
            return F.linear(x[0], w[0], bias[0]).unsqueeze(0)
        # (W xᵀ + b)ᵀ rather than x Wᵀ + b: bmm's backward then yields the weight gradient in
        # the weight's own layout (x Wᵀ's costs a transposing copy of all K fc weights a step)
        return torch.baddbmm(bias.transpose(1, 2), w, x.transpose(1, 2)).transpose(1, 2)

    def _level1_where_read(self, x, a, b):
        """LEARNet._level1_where_read, grouped: the stem at stride 4 where exact, else None."""
        t, first = self.template, [getattr(self.template, f"path{p}")[0] for p in range(1, 5)]
        stem = t.stem.conv
        if (not t.skip_unread_stem or t.options["downsample"] != "conv" or x.shape[-2] % 4 or x.shape[-1] % 4
                or (stem.kernel_size, stem.stride) != ((3, 3), (2, 2))
                or any((f.conv.kernel_size, f.conv.stride) != ((1, 1), (2, 2)) for f in first)):
            return None
        g = b - a
        grid = t.stem.relu(F.conv2d(x, self.sel(stem, "weight", a, b), self.sel(stem, "bias", a, b), stride=4,
                                    groups=g))
        return {p: f.relu(F.conv2d(grid, self.sel(f.conv, "weight", a, b), self.sel(f.conv, "bias", a, b), groups=g))
                for p, f in enumerate(first, start=1)}

    def forward(self, x: torch.Tensor, a: int, b: int, gens=None, training: bool = True) -> torch.Tensor:
        """Logits (G, B, classes) of runs ``[a, b)`` (G = b - a) for ``x`` (B, G·3, H, W)
        channels-last: run ``a + g``'s images are channels ``3g…3g+2``. ``gens``: one
        generator per run for its dropout masks (training only)."""
        t, g = self.template, b - a
        inputs = self._level1_where_read(x, a, b)
        if inputs is None:
            stem = self._seq(t.stem, x, a, b)
            inputs = {p: self._seq(getattr(t, f"path{p}")[0], stem, a, b) for p in range(1, 5)}
        for level in (1, 2, 3):  # LEARNet._accrete
            if level > 1:
                inputs = {p: self._seq(getattr(t, f"path{p}")[level - 1], inputs[p], a, b) for p in range(1, 5)}
            if level < 3 and len(t.accretion):
                for i, (dst, src) in enumerate(t.PAIRS, start=1):
                    inputs[dst] = self._bn(t.accretion[f"add{level}_{i}"].bn, inputs[src] + inputs[dst], a, b, training)
        # concat run by run: channels (run, path, c), channels-last like the separate runs' cat
        parts = [inputs[p].permute(0, 2, 3, 1).unflatten(3, (g, -1)) for p in range(1, 5)]
        x = torch.stack(parts, 4).flatten(3).permute(0, 3, 1, 2)
        x = self._seq(t.conv5, self._bn(t.concat_bn, x, a, b, training), a, b)
        x = x.unflatten(1, (g, -1)).transpose(0, 1).reshape(g, x.shape[0], -1)  # each run's flatten(1)
        for m in t.fc.children():
            if isinstance(m, nn.Linear):
                x = self._linear(m, x, a, b)
            elif isinstance(m, nn.ReLU):
                x = m(x)
            elif isinstance(m, nn.Dropout):
                x = _dropout(x, m.p, gens if training else None)
            else:
                raise TypeError(f"batched LEARNet: no grouped form of {type(m).__name__}")
        if training:
            self.steps[a:b] = [s + 1 for s in self.steps[a:b]]
        return self._linear(t.classifier, x, a, b)


def _dropout(x: torch.Tensor, p: float, gens) -> torch.Tensor:
    """ATen's dropout of each run's (B, W) slice of ``x`` (G, B, W), run ``g`` drawing its
    mask from ``gens[g]``: ``bernoulli_(1 - p)`` on a fresh tensor of the slice's shape, then
    divided by ``1 - p`` (``at::native::dropout`` on CPU, bit for bit). ``gens=None``: eval."""
    if gens is None or p == 0:
        return x
    if p == 1:
        return x * torch.zeros((), dtype=x.dtype, device=x.device)
    noise = torch.stack([torch.empty(x.shape[1:], dtype=x.dtype, device=x.device).bernoulli_(1 - p, generator=gen)
                         for gen in gens])
    return x * noise.div_(1 - p)


def _grouped_input(x_all: torch.Tensor, idx: torch.Tensor, g: int) -> torch.Tensor:
    """Images ``x_all[idx]`` of G runs (G·B indices, run-major) as (B, G·3, H, W) channels-last."""
    xb = x_all[idx]
    n, c, h, w = xb.shape
    return xb.view(g, n // g, c, h, w).permute(1, 3, 4, 0, 2).reshape(n // g, h, w, g * c).permute(0, 3, 1, 2)


def _losses(logits: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    """Each run's mean cross-entropy (G,). Its gradient is bit-identical to
    ``CrossEntropyLoss()`` per run; the value may differ in the last bit (nll_loss sums in
    cascades), except for one run, which uses that loss itself."""
    if len(logits) == 1:
        return nn.functional.cross_entropy(logits[0].float(), yb[0]).view(1)
    g, n, c = logits.shape
    return F.cross_entropy(logits.float().reshape(g * n, c), yb.reshape(-1), reduction="none").view(g, n).mean(1)


def _ranges(sizes: list[int]) -> list[tuple[int, int, int]]:
    """Maximal runs of equal non-zero batch size: ``[(a, b, size), ...]``."""
    out, a = [], 0
    while a < len(sizes):
        b = a + 1
        while b < len(sizes) and sizes[b] == sizes[a]:
            b += 1
        if sizes[a]:
            out.append((a, b, sizes[a]))
        a = b
    return out


def _plan(batches: list[list[torch.Tensor] | None], offsets: list[int], device) -> list[tuple]:
    """One epoch's sub-steps ``(a, b, size, indices)`` from each run's batch list (``None``:
    the run sits this epoch out); indices into the concatenated data, moved in one copy."""
    steps = max((len(bs) for bs in batches if bs), default=0)
    plan, flat = [], []
    for t in range(steps):
        sizes = [len(bs[t]) if bs and t < len(bs) else 0 for bs in batches]
        for a, b, size in _ranges(sizes):
            plan.append((a, b, size))
            flat += [batches[r][t] + offsets[r] for r in range(a, b)]
    if not plan:
        return []
    idx = torch.cat(flat).to(device)
    out, start = [], 0
    for a, b, size in plan:
        out.append((a, b, size, idx[start:start + (b - a) * size]))
        start += (b - a) * size
    return out


def _concat_data(tensors: list[torch.Tensor], device) -> tuple[torch.Tensor, list[int]]:
    """The distinct tensors among ``tensors`` (a training set shared by several runs is moved
    once) concatenated on ``device``, and each one's offset."""
    seen, parts, offsets, n = {}, [], [], 0
    for t in tensors:
        if id(t) not in seen:
            seen[id(t)] = n
            parts.append(t)
            n += len(t)
        offsets.append(seen[id(t)])
    return torch.cat(parts).to(device), offsets


class _Optim:
    """Per-run SGD (``train.sgd``'s arithmetic: torch's multi-tensor SGD, term for term) on
    the stacked parameters, with a GradScaler per run on CUDA; updates only the runs of a
    sub-step, so a run that sits out keeps its weights and momentum."""

    def __init__(self, stack: Stack, opts: list[torch.optim.SGD], scalers: list, amp: bool):
        groups = opts[0].param_groups
        if any(g["nesterov"] or g["maximize"] or g["dampening"] for g in groups):
            raise ValueError("batched SGD: nesterov, maximize and dampening are not supported")
        if len({(g["lr"], g["momentum"]) for g in groups}) != 1:
            raise ValueError("batched SGD: every parameter group must share lr and momentum")
        self.lr, self.momentum = groups[0]["lr"], groups[0]["momentum"]
        self.weight_decay = max(g["weight_decay"] for g in groups)
        # train.sgd's groups, by name: the optimisers' flat parameter order and each one's decay
        layout = train.param_groups(stack.template, self.weight_decay)
        if [(len(names), wd) for names, wd in layout] != [(len(g["params"]), g["weight_decay"]) for g in groups]:
            raise ValueError("batched SGD: the optimisers' parameter groups are not train.sgd's")
        self.order = [name for names, _ in layout for name in names]
        index = {name: i for i, name in enumerate(stack.params)}
        self.decayed = [(wd, [index[n] for n in names]) for names, wd in layout if wd != 0]
        self.stack, self.k, self.amp = stack, stack.k, amp
        t = stack.t
        self.has_buf = [bool(o.state) for o in opts]
        self.bufs = {}
        if self.momentum:  # each run's buffers (a resumed run's, else zeros until its first step)
            with torch.no_grad():
                for name in stack.params:
                    self.bufs[name] = torch.zeros_like(t[name])
                for r, o in enumerate(opts):
                    for name, param in zip(self.order, _flat_params(o)):
                        state = o.state.get(param, {})
                        if "momentum_buffer" in state:
                            view = _runs(self.bufs[name], self.k)[r]
                            view.copy_(state["momentum_buffer"].reshape(view.shape))
        dev = t[stack.params[0]].device
        self.scale = torch.tensor([s.get_scale() for s in scalers], dtype=torch.float32, device=dev)
        self.tracker = torch.tensor([s._get_growth_tracker() for s in scalers], dtype=torch.int32, device=dev)
        self.scaler_settings = dict(growth_factor=2.0, backoff_factor=0.5, growth_interval=2000)
        if amp:
            s = scalers[0]
            self.scaler_settings = dict(growth_factor=s.get_growth_factor(), backoff_factor=s.get_backoff_factor(),
                                        growth_interval=s.get_growth_interval())

    def loss(self, losses: torch.Tensor, a: int, b: int) -> torch.Tensor:
        """What to back-propagate: the sum of the runs' (scaled, on CUDA) losses."""
        return (losses * self.scale[a:b]).sum() if self.amp else losses.sum()

    def step(self, a: int, b: int) -> None:
        t, k = self.stack.t, self.k
        with torch.no_grad():
            grads = [_runs(t[n].grad, k)[a:b] for n in self.stack.params]
            skip = [False] * (b - a)
            if self.amp:
                found = self._unscale(grads, a, b)
                skip = found.bool().tolist()  # one host sync a step, as GradScaler.step
                update_scale(self.scale[a:b], self.tracker[a:b], found, **self.scaler_settings)
            for lo, hi, _ in _ranges([0 if s else 1 for s in skip]):
                self._sgd(a + lo, a + hi, [g[lo:hi] for g in grads])
        for n in self.stack.params:
            t[n].grad = None

    def _unscale(self, grads, a, b) -> torch.Tensor:
        inv = self.scale[a:b].double().reciprocal().float()
        found = torch.zeros(b - a, dtype=torch.float32, device=inv.device)
        for g in grads:
            g.mul_(inv.view(-1, *[1] * (g.ndim - 1)))
            found = torch.maximum(found, (~torch.isfinite(g)).reshape(b - a, -1).any(1).float())
        return found

    def _sgd(self, a, b, grads):
        names, k = self.stack.params, self.k
        params = [_runs(self.stack.t[n], k)[a:b] for n in names]
        for wd, idx in self.decayed:  # torch's SGD: grad + weight_decay · param, per group
            grads = list(grads)
            for i, g in zip(idx, torch._foreach_add([grads[i] for i in idx], [params[i] for i in idx], alpha=wd)):
                grads[i] = g
        if self.momentum != 0:
            bufs = [_runs(self.bufs[n], k)[a:b] for n in names]
            if all(self.has_buf[a:b]):
                torch._foreach_mul_(bufs, self.momentum)
                torch._foreach_add_(bufs, grads, alpha=1)
            else:  # a run's first step: its buffer is its gradient (torch.clone(grad))
                for r in range(b - a):
                    for buf, g in zip(bufs, grads):
                        if self.has_buf[a + r]:
                            buf[r].mul_(self.momentum).add_(g[r])
                        else:
                            buf[r].copy_(g[r])
                self.has_buf[a:b] = [True] * (b - a)
            grads = bufs
        torch._foreach_add_(params, grads, alpha=-self.lr)

    def copy_to(self, opts, scalers) -> None:
        """Each run's momentum buffers into its ``torch.optim.SGD`` and scale into its scaler."""
        for r, (o, s) in enumerate(zip(opts, scalers)):
            if self.momentum and self.has_buf[r]:
                for name, p in zip(self.order, _flat_params(o)):
                    o.state[p]["momentum_buffer"] = _runs(self.bufs[name], self.k)[r].reshape(p.shape).clone()
            if self.amp:
                s.load_state_dict({"scale": float(self.scale[r]), "_growth_tracker": int(self.tracker[r]),
                                   **self.scaler_settings})


def _flat_params(opt: torch.optim.Optimizer) -> list:
    """An optimiser's parameters in its state's order (group by group)."""
    return [p for g in opt.param_groups for p in g["params"]]


def update_scale(scale, tracker, found, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000) -> None:
    """``torch._amp_update_scale_`` for a vector of runs, in place: a run with an inf/NaN
    gradient (``found`` 1) halves its scale and resets its tracker; one without counts a good
    step and doubles its scale (where finite) every ``growth_interval`` good steps."""
    bad = found > 0
    good = tracker + 1
    grow = ~bad & (good == growth_interval)
    grown = scale * growth_factor
    new = torch.where(bad, scale * backoff_factor, torch.where(grow & torch.isfinite(grown), grown, scale))
    scale.copy_(new)
    tracker.copy_(torch.where(bad | grow, torch.zeros_like(tracker), good))


def _epoch(stack, optim, x_all, y_all, plan, gens, amp, dev, k) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over every run's plan (train when ``optim`` is given): per-run loss sums
    (float64) and hits, on the device, read once by the caller."""
    loss_sum = torch.zeros(k, dtype=torch.float64, device=dev)
    correct = torch.zeros(k, dtype=torch.int64, device=dev)
    with torch.set_grad_enabled(optim is not None):
        for a, b, size, idx in plan:
            xb, yb = _grouped_input(x_all, idx, b - a), y_all[idx].view(b - a, size)
            with torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
                logits = stack.forward(xb, a, b, gens[a:b] if optim is not None else None, optim is not None)
                losses = _losses(logits, yb)
            if optim is not None:
                optim.loss(losses, a, b).backward()
                optim.step(a, b)
            loss_sum[a:b] += losses.detach().double() * size
            correct[a:b] += (logits.argmax(-1) == yb).sum(1)
    return loss_sum, correct


def fit_many(nets: list[nn.Module], xs, ys, profile=None, *, vals=None, epochs: int | None = None, seeds,
             device: str = "auto", progress: bool = True, checkpoints=None, resume: bool = False,
             on_epoch=None) -> list[dict]:
    """Train K runs at once: ``nets[k]`` on ``(xs[k], ys[k])`` with seed ``seeds[k]``, each as
    :func:`train.fit` would train it alone (the profile's settings, validation set ``vals[k]``,
    checkpoint file ``checkpoints[k]`` in ``fit``'s format, ``resume``), as one grouped
    computation where the nets are LEARNets of one configuration (:func:`batchable`), else
    one after the other. Returns the K histories; each module is left trained in place.
    ``on_epoch(epoch, histories)`` is called after each epoch's checkpoints."""
    from .profiles import Profile, load

    p = Profile() if profile is None else load(profile)
    nets, xs, ys, seeds = list(nets), list(xs), list(ys), [int(s) for s in seeds]
    k = len(nets)
    vals = [None] * k if vals is None else list(vals)
    checkpoints = [None] * k if checkpoints is None else list(checkpoints)
    if not k or not all(len(v) == k for v in (xs, ys, seeds, vals, checkpoints)):
        raise ValueError(f"fit_many: expected as many xs, ys, seeds, vals and checkpoints as nets ({k})")
    common = dict(epochs=epochs, device=device, progress=progress, resume=resume)
    if not batchable(nets, xs):
        hists = []
        for r in range(k):
            hook = None if on_epoch is None else (lambda e, h: on_epoch(e, hists + [h]))
            hists.append(train.fit(nets[r], xs[r], ys[r], p, val=vals[r], seed=seeds[r], checkpoint=checkpoints[r],
                                   on_epoch=hook, **common))
        return hists
    epochs = p.epochs if epochs is None else int(epochs)
    if min(epochs, p.batch_size, p.checkpoint_every) < 1:
        raise ValueError(f"epochs, batch_size and checkpoint_every must be >= 1, got {epochs}, {p.batch_size}, "
                         f"{p.checkpoint_every}")
    dev = train.resolve_device(device)
    amp = dev.type == "cuda"
    if amp:
        torch.backends.cudnn.benchmark = True  # one input size throughout
    data = [train._check(x, y, f"xs[{r}]/ys[{r}]") for r, (x, y) in enumerate(zip(xs, ys))]
    vdata = [None if v is None else train._check(*v, f"vals[{r}]") for r, v in enumerate(vals)]
    runs = []  # per run: optimizer, scaler, checkpoint settings, history, first epoch to train
    for r, net in enumerate(nets):
        net.to(dev, memory_format=torch.channels_last)
        opt, scaler = train.sgd(net, p), torch.amp.GradScaler(dev.type, enabled=amp)
        settings = train.run_settings(p, epochs, seeds[r], len(data[r][0]))
        state = _resumed(checkpoints[r], resume, settings, net, opt, scaler)
        history = state["history"] if state else {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        runs.append((opt, scaler, settings, history, int(state["epoch"]) if state else 0))
    # largest training set first: the runs of a sub-step are then one slice of the stack
    order = sorted(range(k), key=lambda r: -len(data[r][0]))
    stack = Stack([nets[r] for r in order])
    optim = _Optim(stack, [runs[r][0] for r in order], [runs[r][1] for r in order], amp)
    x_all, offsets = _concat_data([data[r][0] for r in order], dev)
    y_all, _ = _concat_data([data[r][1] for r in order], dev)
    has_val = [vdata[r] is not None for r in order]
    if any(has_val):
        none = (data[0][0][:0], data[0][1][:0])  # a run without validation images
        vx_all, voffsets = _concat_data([(vdata[r] or none)[0] for r in order], dev)
        vy_all, _ = _concat_data([(vdata[r] or none)[1] for r in order], dev)
        vplan = _plan([train._batches(len(vdata[r][0]), max(p.batch_size, 100), None, torch.device("cpu"))
                       if vdata[r] is not None else None for r in order], voffsets, dev)
    first = min(run[4] for run in runs)
    bar = tqdm(range(first, epochs), desc=f"epochs ({k} runs)", unit="epoch", disable=not progress,
               initial=first, total=epochs)
    cpu = torch.device("cpu")
    for epoch in bar:
        active = [runs[r][4] <= epoch for r in order]
        seeds_e = [train._epoch_seed(seeds[r], epoch) for r in order]
        orders = [train._order_seed(seeds[r], epoch, p.shuffle) for r in order]  # fit's data order
        batches = [train._batches(len(data[r][0]), p.batch_size, torch.Generator().manual_seed(s), cpu) if on else None
                   for r, s, on in zip(order, orders, active)]
        gens = [torch.Generator(device=dev).manual_seed(s) for s in seeds_e]  # dropout: fit's manual_seed(s)
        figures = [t.tolist() for t in _epoch(stack, optim, x_all, y_all, _plan(batches, offsets, dev), gens, amp,
                                               dev, k)]
        if any(has_val):  # runs that sit this epoch out are evaluated too, and not recorded
            figures += [t.tolist() for t in _epoch(stack, None, vx_all, vy_all, vplan, gens, amp, dev, k)]
        for i, r in enumerate(order):
            if active[i]:
                hist, n = runs[r][3], len(data[r][0])
                hist["loss"].append(figures[0][i] / n)
                hist["accuracy"].append(int(figures[1][i]) / n)
                if has_val[i]:
                    hist["val_loss"].append(figures[2][i] / len(vdata[r][0]))
                    hist["val_accuracy"].append(int(figures[3][i]) / len(vdata[r][0]))
        due = [i for i, r in enumerate(order) if active[i] and checkpoints[r] is not None]
        if due and ((epoch + 1) % p.checkpoint_every == 0 or epoch + 1 == epochs):
            stack.copy_to([nets[r] for r in order])
            optim.copy_to([runs[r][0] for r in order], [runs[r][1] for r in order])
            for i in due:
                r = order[i]
                opt, scaler, settings, history, _ = runs[r]
                train.save_checkpoint(checkpoints[r], {
                    "version": train.CHECKPOINT_VERSION, "epoch": epoch + 1, "settings": settings,
                    "model": nets[r].state_dict(), "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
                    "history": history})
        trained = [i for i in range(k) if active[i]]
        seen = sum(len(data[order[i]][0]) for i in trained)
        bar.set_postfix(loss=f"{sum(figures[0][i] for i in trained) / seen:.3f}")
        if on_epoch is not None:
            on_epoch(epoch + 1, [run[3] for run in runs])
    stack.copy_to([nets[r] for r in order])
    for r, net in enumerate(nets):
        net.train(vdata[r] is None)  # as fit leaves it, after its last pass
    return [run[3] for run in runs]


def _resumed(checkpoint, resume: bool, settings: dict, net, opt, scaler) -> dict | None:
    """The checkpoint a run continues from (loaded into ``net``, ``opt``, ``scaler``), or None."""
    if checkpoint is None or not resume or not Path(checkpoint).is_file():
        return None
    state = train.load_checkpoint(checkpoint)
    differ = train.settings_differ(state["settings"], settings)
    if differ:
        raise ValueError(f"{checkpoint}: checkpoint of a different run, (checkpoint, now) = {differ}; "
                         "delete it or run without --resume")
    for target, key in ((net, "model"), (opt, "optimizer"), (scaler, "scaler")):
        target.load_state_dict(state[key])
    return state


def step_memory(model: nn.Module, device, k: int, batch_size: int = 25, image_size: int = models.INPUT_SIZE) -> int:
    """Peak CUDA memory (bytes, above what was allocated before) of K copies of ``model``
    stacked, with their optimiser state, over two batched training steps at ``batch_size``."""
    dev = torch.device(device)
    torch.cuda.synchronize(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    before = torch.cuda.memory_allocated(dev)
    nets = [copy.deepcopy(model).to(dev, memory_format=torch.channels_last) for _ in range(k)]
    opts = [train.sgd(n) for n in nets]
    stack = Stack(nets)
    optim = _Optim(stack, opts, [torch.amp.GradScaler("cuda") for _ in nets], True)
    x = torch.randn(k * batch_size, 3, image_size, image_size, device=dev)
    y = torch.zeros(k * batch_size, dtype=torch.long, device=dev)
    plan = [(0, k, batch_size, torch.arange(k * batch_size, device=dev))]
    gens = [torch.Generator(device=dev).manual_seed(r) for r in range(k)]
    for _ in range(2):  # the second step holds the momentum buffers too
        _epoch(stack, optim, x, y, plan, gens, True, dev, k)
    torch.cuda.synchronize(dev)
    peak = torch.cuda.max_memory_allocated(dev) - before
    del nets, opts, stack, optim, x, y
    torch.cuda.empty_cache()
    return int(peak)


_FOOTPRINTS: dict = {}


def footprint(model: nn.Module, device, batch_size: int = 25, image_size: int = models.INPUT_SIZE) -> tuple[int, int]:
    """(fixed, per run) bytes of device memory of a batched training step of ``model``'s
    configuration: measured once per configuration on CUDA (:func:`step_memory` at K = 1
    and 2); on a CPU estimated (weights, gradients, momentum and the stacked copy, plus
    :data:`CPU_STEP_BYTES_PER_IMAGE` of activations per image of a batch)."""
    dev = torch.device(device)
    n_params = models.count_parameters(model)
    if dev.type != "cuda":
        return 0, int(4 * 4 * n_params + CPU_STEP_BYTES_PER_IMAGE * batch_size)
    key = (repr(model.options), n_params, str(dev), batch_size, image_size)
    if key not in _FOOTPRINTS:
        one, two = (step_memory(model, dev, k, batch_size, image_size) for k in (1, 2))
        per_run = max(two - one, 1)
        _FOOTPRINTS[key] = (max(one - per_run, 0), per_run)
    return _FOOTPRINTS[key]


def _available_memory() -> int:
    """Bytes of RAM available to this process (Linux MemAvailable; else the physical size)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def choose_k(model: nn.Module, device="auto", n_images: int = 0, *, val_images: int = 0, batch_size: int = 25,
             image_size: int = models.INPUT_SIZE, max_k: int | None = None, headroom: float = 0.8) -> int:
    """How many runs of ``model`` to train as one batch on ``device``, each with ``n_images``
    training (and ``val_images`` validation) images resident there: as many as fit in
    ``headroom`` of the free memory (CUDA: ``torch.cuda.mem_get_info`` and the measured
    :func:`footprint`; CPU: available RAM and the estimate), at most ``max_k``
    (default :data:`CUDA_MAX_K`, or :data:`CPU_MAX_K` on a CPU, where batching was measured
    slower than one run after another), at least 1. A model that :func:`batchable` refuses
    gets 1."""
    if not batchable([model]):
        return 1
    dev = train.resolve_device(device)
    data = 4 * 3 * image_size * image_size * (int(n_images) + int(val_images)) + 8 * (int(n_images) + int(val_images))
    fixed, per_run = footprint(model, dev, batch_size, image_size)
    if dev.type == "cuda":
        free, cap = torch.cuda.mem_get_info(dev)[0], CUDA_MAX_K
    else:
        free, cap = _available_memory(), CPU_MAX_K
    k = int((headroom * free - fixed) // (per_run + data))
    return max(1, min(k, cap if max_k is None else int(max_k)))
