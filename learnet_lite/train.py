"""Training and prediction as in the paper (Sec. IV): SGD, learning rate 1e-3, batch 25.

:func:`fit` trains a module on in-memory tensors for a *fixed* number of epochs and returns
the per-epoch history; validation data is only reported, never used to pick an epoch (and
test data never reaches this module). :func:`predict` returns labels.

* Optimiser. The paper states SGD, learning rate 1e-3, mini-batch 25 and 100 epochs, and
  that every experiment ran on MATLAB r2018a (Sec. IV); it states no momentum, weight
  decay, data order or initial weights. Where it is silent the ``paper`` profile chooses:
  momentum 0.9 (plain SGD at lr 1e-3 barely moves a randomly initialised net in the book's
  few epochs, so its test accuracy stays at the largest class's share: book/reproducing.md
  gives the measurement; ``momentum: 0`` restores plain SGD), no weight decay (none is
  stated; dropout 0.5, Table I, is the stated regulariser), the layers' own initial weights
  (``init: pytorch``; LEARNet's are Keras' Glorot-uniform, :meth:`models.LEARNet.reset_parameters`)
  and a fresh order every epoch (``shuffle: every-epoch``).
* The ``matlab`` profile reads the silence as MATLAB R2018a's defaults, since
  ``trainNetwork`` with ``trainingOptions('sgdm', 'InitialLearnRate', 1e-3,
  'MiniBatchSize', 25, 'MaxEpochs', 100)`` is what the paper's sentence most plainly
  describes. Sources: MathWorks' trainingOptions page
  (https://www.mathworks.com/help/deeplearning/ref/trainingoptions.html), the
  TrainingOptionsSGDM, convolution2dLayer, fullyConnectedLayer and batchNormalizationLayer
  pages (``.../ref/nnet.cnn.trainingoptionssgdm.html``, ``.../ref/nnet.cnn.layer.<name>.html``)
  and the toolbox's own help texts and code of R2016a-R2018 (the stored copies of the pages
  are of later releases; where a default changed it is said). ``sgdm``'s defaults:
  Momentum 0.9, L2Regularization 1e-4, Shuffle 'once' (one permutation before the first
  epoch, kept for all), LearnRateSchedule 'none', GradientThreshold Inf (no clipping);
  InitialLearnRate 0.01, MiniBatchSize 128 and MaxEpochs 30 are overridden by the paper's
  values. The step is ``v <- m v - lr lambda w - lr grad; w <- w + v`` (the loss gains
  ``lambda/2 |w|^2``; each parameter's lambda is L2Regularization times its layer's L2
  factor), which is torch's ``SGD(momentum, weight_decay)`` term for term at a constant
  learning rate. Layer factors in R2017b-R2018b: WeightL2Factor 1 and BiasL2Factor 0 for
  convolution and fully connected layers (R2016a's help text gave 1 for the biases),
  ScaleL2Factor and OffsetL2Factor 1 for batch normalisation: :func:`sgd` keeps the conv
  and linear biases out of the decay and decays everything else, BatchNorm's scale and
  offset included. Initial values before R2019a, when 'glorot' became the default
  ``WeightsInitializer``: convolution and fully connected weights from N(0, 0.01²) (later
  releases' 'narrow-normal'), biases 0, batch normalisation scale 1 and offset 0
  (:func:`matlab_init`, applied by :func:`initialise` right after a net is built). Not
  reproduced: ``trainNetwork`` drops each epoch's last incomplete mini-batch (with
  Shuffle 'once' the same images every epoch), where :func:`fit` trains on it.
* Device. ``device="auto"`` picks CUDA when present; there the forward pass runs under
  ``torch.autocast`` (float16) with a ``GradScaler`` (mixed precision), on CPU in float32.
* Determinism. On CPU a run is a function of its seed: epoch ``e`` shuffles with a
  generator seeded by ``(seed, e)`` (``shuffle: once``: by ``(seed, 0)`` in every epoch)
  and reseeds the global generator (dropout) by ``(seed, e)``, so a run resumed at epoch
  ``e`` draws exactly what the uninterrupted run drew.
* Checkpoints. With ``checkpoint=path`` the model, optimiser, scaler and history are saved
  after every epoch, or every ``checkpoint_every`` epochs (the profiles' setting; temp file
  + rename: a kill never leaves half a checkpoint);
  ``resume=True`` continues from it, and on CPU ends with the same weights and history as
  a run that was never interrupted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .files import replacing

CHECKPOINT_VERSION = 1


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _check(x, y, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(x)
    y = torch.as_tensor(y)
    if x.ndim != 4 or x.shape[1] != 3 or not torch.is_floating_point(x):
        raise ValueError(f"{what}: expected float images of shape (N, 3, H, W), got {tuple(x.shape)} {x.dtype}")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{what}: expected {len(x)} integer labels, got shape {tuple(y.shape)}")
    return x.float(), y.long()


def _epoch_seed(seed: int, epoch: int) -> int:
    # one independent stream per (seed, epoch): resuming at any epoch needs no saved RNG state
    return int(np.random.SeedSequence([int(seed), int(epoch)]).generate_state(1, np.uint64)[0] >> 1)


def _order_seed(seed: int, epoch: int, shuffle: str = "every-epoch") -> int:
    """Seed of epoch ``epoch``'s training order: ``_epoch_seed(seed, epoch)``, or with
    ``shuffle="once"`` epoch 0's in every epoch (one permutation, reused: MATLAB's default)."""
    if shuffle not in ("every-epoch", "once"):
        raise ValueError(f"shuffle must be 'every-epoch' or 'once', got {shuffle!r}")
    return _epoch_seed(seed, 0 if shuffle == "once" else epoch)


def _batches(n: int, batch_size: int, generator: torch.Generator | None, device: torch.device):
    # the order is drawn on the CPU (the same draws on every device), then moved once
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    order = order.to(device)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _epoch(model, x, y, batch_size, device, loss_fn, optimizer=None, scaler=None,
           generator=None) -> tuple[float, float]:
    """One pass over (x, y) (already on ``device``); trains when an optimizer is given.
    Returns (mean loss, accuracy). Loss and hits are summed on the device and read once at
    the end, so a GPU never waits for the host between batches."""
    model.train(optimizer is not None)
    amp = device.type == "cuda"
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    with torch.set_grad_enabled(optimizer is not None):
        for idx in _batches(len(x), batch_size, generator, device):
            xb = x[idx].contiguous(memory_format=torch.channels_last)
            yb = y[idx]
            with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                logits = model(xb)
                loss = loss_fn(logits.float(), yb)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            loss_sum += loss.detach().double() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
    return float(loss_sum) / len(x), int(correct) / len(x)


MATLAB_INIT_STD = 0.01  # R2018a's convolution2dLayer / fullyConnectedLayer weights (the module docstring)


def matlab_init(model: nn.Module) -> nn.Module:
    """MATLAB R2018a's default initial values, in place: every convolution and linear weight
    from N(0, 0.01²), their biases zero; BatchNorm scale 1, offset 0 (running statistics
    reset). Draws from the global torch generator in module order, as torchvision's
    builders do, so ``torch.manual_seed(s)`` before it makes it reproducible. Returns ``model``."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, MATLAB_INIT_STD)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.modules.batchnorm._NormBase):
                m.reset_parameters()  # weight 1, bias 0, running mean 0 / variance 1
    return model


def initialise(model: nn.Module, profile=None) -> nn.Module:
    """Apply the profile's ``init`` to a just-built ``model`` (in place; returns it):
    ``pytorch`` leaves the layers' own initial weights, ``matlab-r2018a`` is
    :func:`matlab_init`. Callers seed the global generator first, then build, then call this."""
    from .profiles import Profile, load

    p = Profile() if profile is None else load(profile)
    if p.init == "matlab-r2018a":
        matlab_init(model)
    elif p.init != "pytorch":
        raise ValueError(f"unknown init {p.init!r}: expected pytorch or matlab-r2018a")
    return model


def _no_decay(module: nn.Module, name: str) -> bool:
    # MATLAB R2018a's BiasL2Factor default is 0 for convolution and fully connected layers;
    # every other learnable (their weights, BatchNorm's scale and offset) has factor 1
    return name == "bias" and isinstance(module, (nn.modules.conv._ConvNd, nn.Linear))


def param_groups(model: nn.Module, weight_decay: float) -> list[tuple[list[str], float]]:
    """The optimiser's parameter groups of ``model`` as ``(parameter names, weight decay)``:
    one group of every parameter when ``weight_decay`` is 0 (as ``SGD(model.parameters())``),
    else the decayed parameters, then the conv/linear biases (no decay): MATLAB's default L2
    factors. Names in ``named_parameters`` order within each group."""
    names = [n for n, _ in model.named_parameters()]
    if weight_decay == 0:
        return [(names, 0.0)]
    plain = set()
    for mname, m in model.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            if _no_decay(m, pname):
                plain.add(f"{mname}.{pname}" if mname else pname)
    groups = [([n for n in names if n not in plain], float(weight_decay)), ([n for n in names if n in plain], 0.0)]
    return [g for g in groups if g[0]]


def sgd(model: nn.Module, profile=None) -> torch.optim.SGD:
    """The paper's optimiser (Sec. IV: SGD, ``lr`` 1e-3) with the profile's ``lr``,
    ``momentum`` and ``weight_decay`` (``None``: ``Profile()``, the paper's), with its
    multi-tensor kernels, which PyTorch picks by itself only on GPUs: one call per step for
    all parameters instead of three per parameter, with the same arithmetic (bit-identical).
    Weight decay is MATLAB's L2 regularisation with its default layer factors
    (:func:`param_groups`: not on conv/linear biases); 0 gives one group of every parameter."""
    from .profiles import Profile, load

    p = Profile() if profile is None else load(profile)
    params = dict(model.named_parameters())
    groups = [{"params": [params[n] for n in names], "weight_decay": wd}
              for names, wd in param_groups(model, p.weight_decay)]
    return torch.optim.SGD(groups, lr=p.lr, momentum=p.momentum, foreach=True)


def run_settings(p, epochs: int, seed: int, n_train: int) -> dict:
    """What a checkpoint records of its run, and what a resumed run must match."""
    return dict(epochs=int(epochs), batch_size=int(p.batch_size), lr=float(p.lr), momentum=float(p.momentum),
                weight_decay=float(p.weight_decay), shuffle=str(p.shuffle), seed=int(seed), n_train=int(n_train))


# what a checkpoint written before a setting existed ran with
_SETTING_DEFAULTS = {"shuffle": "every-epoch"}


def settings_differ(saved: dict, settings: dict) -> dict:
    """``{key: (checkpoint's, now)}`` for every setting in which ``saved`` (a checkpoint's)
    and ``settings`` differ; a key the checkpoint lacks counts as its old default."""
    out = {}
    for key, value in settings.items():
        old = saved.get(key, _SETTING_DEFAULTS.get(key))
        if old != value:
            out[key] = (old, value)
    return out


def save_checkpoint(path, state: dict) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then an atomic rename."""
    path = Path(path)
    with replacing(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(path) -> dict:
    """A checkpoint of :func:`fit`, loaded with ``weights_only=True``: tensors and plain
    containers only, so a file from elsewhere cannot run code when it is read."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a foreign or damaged file: say which
        raise ValueError(f"{path}: not a training checkpoint ({exc})") from None
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: not a training checkpoint of this version")
    return state


def fit(model: nn.Module, train_x, train_y, profile=None, *, val=None, epochs: int | None = None,
        seed: int = 0, device: str = "auto", progress: bool = True, checkpoint=None,
        resume: bool = False, on_epoch=None) -> dict:
    """Train ``model`` with SGD on ``train_x`` (float (N, 3, H, W)) and ``train_y`` (labels)
    for exactly the profile's ``epochs`` (or ``epochs``, where given) with its ``batch_size``,
    ``lr``, ``momentum``, ``weight_decay``, ``shuffle`` and ``checkpoint_every`` (Sec. IV: SGD, lr 1e-3,
    mini-batch 25, 100 epochs). ``profile``: a :class:`learnet_lite.profiles.Profile`, a
    profile's name, or ``None`` for the paper's settings (``Profile()``).

    ``val``: an optional ``(x, y)`` pair evaluated after every epoch, for the learning
    curves only. ``checkpoint``: file written after every ``checkpoint_every``-th epoch and
    the last (a VGG checkpoint is ~1 GB: every epoch would cost more than the epoch on a
    GPU); with ``resume=True`` an existing one is continued (its settings must match), else
    it is started afresh.
    ``on_epoch(epoch, history)`` is called after each epoch's checkpoint (progress hooks,
    tests that kill a run). Returns the history ``{"loss", "accuracy", "val_loss",
    "val_accuracy"}`` (val lists empty without ``val``). The model is trained in place;
    ``fit`` never re-initialises it (the profile's ``init`` is the builder's:
    :func:`initialise`).
    """
    from .profiles import Profile, load

    p = Profile() if profile is None else load(profile)
    epochs = p.epochs if epochs is None else int(epochs)
    batch_size, checkpoint_every = p.batch_size, p.checkpoint_every
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one input size throughout: time the conv algorithms once
    # the whole set moves to the device once (the paper's largest training set is ~0.2 GB)
    train_x, train_y = (t.to(dev) for t in _check(train_x, train_y, "train_x/train_y"))
    vx = vy = None
    if val is not None:
        vx, vy = (t.to(dev) for t in _check(*val, "val"))
    model.to(dev, memory_format=torch.channels_last)
    optimizer = sgd(model, p)
    scaler = torch.amp.GradScaler(dev.type, enabled=dev.type == "cuda")
    loss_fn = nn.CrossEntropyLoss()
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    settings = run_settings(p, epochs, seed, len(train_x))
    start = 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint)
        differ = settings_differ(state["settings"], settings)
        if differ:
            raise ValueError(f"{checkpoint}: checkpoint of a different run, (checkpoint, now) = {differ}; "
                             "delete it or run without --resume")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        history = state["history"]
        start = int(state["epoch"])
    bar = tqdm(range(start, epochs), desc="epochs", unit="epoch", disable=not progress,
               initial=start, total=epochs)
    for epoch in bar:
        torch.manual_seed(_epoch_seed(seed, epoch))  # dropout masks
        loss, acc = _epoch(model, train_x, train_y, batch_size, dev, loss_fn, optimizer, scaler,
                           torch.Generator().manual_seed(_order_seed(seed, epoch, p.shuffle)))
        history["loss"].append(loss)
        history["accuracy"].append(acc)
        if vx is not None:
            vloss, vacc = _epoch(model, vx, vy, max(batch_size, 100), dev, loss_fn)
            history["val_loss"].append(vloss)
            history["val_accuracy"].append(vacc)
        if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
            save_checkpoint(checkpoint, {"version": CHECKPOINT_VERSION, "epoch": epoch + 1,
                                         "settings": settings, "model": model.state_dict(),
                                         "optimizer": optimizer.state_dict(),
                                         "scaler": scaler.state_dict(), "history": history})
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.2f}",
                        **({"val_acc": f"{history['val_accuracy'][-1]:.2f}"} if vx is not None else {}))
        if on_epoch is not None:
            on_epoch(epoch + 1, history)
    return history


@torch.inference_mode()
def predict(model: nn.Module, x, batch_size: int = 100, device: str = "auto") -> np.ndarray:
    """Predicted class labels (int64 array) for float images ``x`` of shape (N, 3, H, W)."""
    x, _ = _check(x, torch.zeros(len(x), dtype=torch.long), "x")
    dev = resolve_device(device)
    model.to(dev).eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(dev).contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev.type, dtype=torch.float16, enabled=dev.type == "cuda"):
            out.append(model(xb).argmax(1).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def hold_out_fit(clips, profile, every: int = 4, device: str = "cpu") -> tuple[dict, dict]:
    """Chapter 3's brief training: LEARNet on the network inputs of ``clips`` (a clip table;
    ``inputs.images`` of the profile's variant, ``inputs.to_tensor``), every ``every``-th
    subject (in sorted order) held out so that no face is on both sides, trained by
    :func:`fit` for the profile's ``model_epochs`` with its seed.

    -> (numbers, run). numbers, as the chapter cites them: ``train_seconds``, ``n_classes``,
    ``n_train``, ``n_val``, ``epochs``, and the last epoch's ``train_accuracy`` and
    ``val_accuracy``. run: ``net`` (trained), ``classes``, ``x`` and ``y`` (every input and
    label, the held-out ones included), ``held_out`` (a boolean mask) and ``history``."""
    import time

    from . import inputs, models

    classes, labels = inputs.labels(clips)
    x = inputs.to_tensor(inputs.images(clips, profile.variant, progress=False))
    y = torch.from_numpy(labels)
    subjects = sorted(clips["subject"].unique())
    held_out = torch.tensor(clips["subject"].isin(subjects[::every]).to_numpy())
    net = initialise(models.build("learnet", len(classes)), profile)
    start = time.perf_counter()
    history = fit(net, x[~held_out], y[~held_out], profile, val=(x[held_out], y[held_out]),
                  epochs=profile.model_epochs, seed=profile.seed, device=device, progress=False)
    numbers = {"train_seconds": float(time.perf_counter() - start), "n_classes": len(classes),
               "n_train": int((~held_out).sum()), "n_val": int(held_out.sum()), "epochs": int(profile.model_epochs),
               "train_accuracy": float(history["accuracy"][-1]), "val_accuracy": float(history["val_accuracy"][-1])}
    return numbers, dict(net=net, classes=classes, x=x, y=y, held_out=held_out, history=history)


@torch.no_grad()
def class_responses(model: nn.Module, x, y, classes, names) -> tuple[dict, dict]:
    """The first input of each class in ``names`` and the model's maps for it: -> (name -> its
    index in ``x``, name -> ``model.lateral`` of that input, in evaluation mode): what the
    layer figures show."""
    model.eval()
    pick = {name: int(np.flatnonzero(np.asarray(y) == classes.index(name))[0]) for name in names}
    maps = {name: model.lateral(x[i:i + 1].contiguous(memory_format=torch.channels_last)) for name, i in pick.items()}
    return pick, maps


def fit_many(models: list[nn.Module], xs, ys, profile=None, *, vals=None, epochs: int | None = None, seeds,
             device: str = "auto", progress: bool = True, checkpoints=None, resume: bool = False,
             on_epoch=None) -> list[dict]:
    """K runs as :func:`fit` would train each alone (its own seed, data order, dropout,
    checkpoint in :func:`fit`'s format, history), trained as one batched computation where
    the models are LEARNets of one configuration, else one after the other: see
    :func:`learnet_lite.batched.fit_many`. Returns the K histories; each model is trained
    in place, so :func:`predict` works on it as after :func:`fit`."""
    from .batched import fit_many as batched_fit_many

    return batched_fit_many(models, xs, ys, profile, vals=vals, epochs=epochs, seeds=seeds, device=device,
                            progress=progress, checkpoints=checkpoints, resume=resume, on_epoch=on_epoch)
