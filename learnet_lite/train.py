"""Training and prediction as in the paper (Sec. IV): SGD, learning rate 1e-3, batch 25.

:func:`fit` trains a module on in-memory tensors for a *fixed* number of epochs and returns
the per-epoch history; validation data is only reported, never used to pick an epoch (and
test data never reaches this module). :func:`predict` returns labels.

* Optimiser. The paper gives SGD, lr 1e-3, mini-batch 25, 100 epochs and nothing else.
  We use momentum 0.9 (the usual value; plain SGD at lr 1e-3 barely moves a randomly
  initialised net in the book's few epochs, so its test accuracy stays at the largest
  class's share: book/reproducing.md gives the measurement; ``momentum=0`` restores plain
  SGD) and no weight decay (none is stated and Keras' SGD, the authors' framework, has none
  by default; the model's dropout 0.5 is its stated regulariser).
* Device. ``device="auto"`` picks CUDA when present; there the forward pass runs under
  ``torch.autocast`` (float16) with a ``GradScaler`` (mixed precision), on CPU in float32.
* Determinism. On CPU a run is a function of its seed: epoch ``e`` shuffles with a
  generator seeded by ``(seed, e)`` and reseeds the global generator (dropout) the same way,
  so a run resumed at epoch ``e`` draws exactly what the uninterrupted run drew.
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


def sgd(model: nn.Module, profile=None) -> torch.optim.SGD:
    """The paper's optimiser (Sec. IV: SGD, ``lr`` 1e-3) with the profile's ``lr``,
    ``momentum`` and ``weight_decay`` (``None``: ``Profile()``, the paper's), with its
    multi-tensor kernels, which PyTorch picks by itself only on GPUs: one call per step for
    all parameters instead of three per parameter, with the same arithmetic (bit-identical)."""
    from .profiles import Profile, load

    p = Profile() if profile is None else load(profile)
    return torch.optim.SGD(model.parameters(), lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay,
                           foreach=True)


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
    ``lr``, ``momentum``, ``weight_decay`` and ``checkpoint_every`` (Sec. IV: SGD, lr 1e-3,
    mini-batch 25, 100 epochs). ``profile``: a :class:`learnet_lite.profiles.Profile`, a
    profile's name, or ``None`` for the paper's settings (``Profile()``).

    ``val``: an optional ``(x, y)`` pair evaluated after every epoch, for the learning
    curves only. ``checkpoint``: file written after every ``checkpoint_every``-th epoch and
    the last (a VGG checkpoint is ~1 GB: every epoch would cost more than the epoch on a
    GPU); with ``resume=True`` an existing one is continued (its settings must match), else
    it is started afresh.
    ``on_epoch(epoch, history)`` is called after each epoch's checkpoint (progress hooks,
    tests that kill a run). Returns the history ``{"loss", "accuracy", "val_loss",
    "val_accuracy"}`` (val lists empty without ``val``). The model is trained in place.
    """
    from .profiles import Profile, load

    p = Profile() if profile is None else load(profile)
    epochs = p.epochs if epochs is None else int(epochs)
    batch_size, lr, momentum, weight_decay = p.batch_size, p.lr, p.momentum, p.weight_decay
    checkpoint_every = p.checkpoint_every
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
    settings = dict(epochs=int(epochs), batch_size=int(batch_size), lr=float(lr), momentum=float(momentum),
                    weight_decay=float(weight_decay), seed=int(seed), n_train=int(len(train_x)))
    start = 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint)
        differ = {k: (state["settings"].get(k), v) for k, v in settings.items() if state["settings"].get(k) != v}
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
        s = _epoch_seed(seed, epoch)
        torch.manual_seed(s)  # dropout masks
        loss, acc = _epoch(model, train_x, train_y, batch_size, dev, loss_fn, optimizer, scaler,
                           torch.Generator().manual_seed(s))
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
    net = models.build("learnet", len(classes))
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
