"""Training and prediction as in the paper (Sec. IV): SGD, learning rate 1e-3, batch 25.

Deliberately small: :func:`fit` trains a module on in-memory tensors and returns the
per-epoch history; :func:`predict` returns labels. Deterministic on CPU for a given seed
(the shuffling has its own seeded generator; dropout draws from the seeded global one).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm


def clip_images(clips, classes, size: int = 112, progress: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Network input for a clip table (one row per clip, as ``datasets.load`` returns it):
    each clip's dynamic image (Sec. III-A, :func:`learnet_lite.dynamic.dynamic_image`),
    resized to ``size``×``size`` (the paper's 112×112×3) and standardised to zero mean and
    unit variance, as float (N, 3, size, size); labels are indices into ``classes``."""
    from .datasets import read_frames
    from .dynamic import dynamic_image

    classes = list(classes)
    unknown = sorted(set(clips["emotion"]) - set(classes))
    if unknown:
        raise ValueError(f"clips: emotions {unknown} are not among the classes {classes}")
    images = []
    for frames in tqdm(clips["frames"], desc="dynamic images", unit="clip", disable=not progress):
        di = cv2.resize(dynamic_image(read_frames(frames)), (size, size), interpolation=cv2.INTER_AREA)
        images.append((di - di.mean()) / (di.std() + 1e-6))
    x = torch.from_numpy(np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2), dtype=np.float32))
    y = torch.tensor([classes.index(e) for e in clips["emotion"]], dtype=torch.long)
    return x, y


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


def _epoch(model, loader, device, loss_fn, optimizer=None) -> tuple[float, float]:
    """One pass; trains when an optimizer is given. Returns (mean loss, accuracy)."""
    model.train(optimizer is not None)
    total, correct, loss_sum = 0, 0, 0.0
    with torch.set_grad_enabled(optimizer is not None):
        for xb, yb in loader:
            xb = xb.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            yb = yb.to(device, non_blocking=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            loss_sum += float(loss.detach()) * len(yb)
            correct += int((logits.argmax(1) == yb).sum())
            total += len(yb)
    return loss_sum / total, correct / total


def fit(model: nn.Module, train_x, train_y, *, val=None, epochs: int, batch_size: int = 25,
        lr: float = 1e-3, momentum: float = 0.9, weight_decay: float = 0.0, seed: int = 0,
        device: str = "auto", progress: bool = True) -> dict:
    """Train ``model`` with SGD on ``train_x`` (float (N, 3, H, W)) and ``train_y`` (labels).

    Sec. IV: SGD, ``lr`` 1e-3, mini-batch 25 (the paper states no momentum; 0.9 is the
    usual choice and the default here, ``momentum=0`` gives plain SGD). ``val`` is an
    optional ``(x, y)`` pair evaluated after every epoch. Returns the history
    ``{"loss": [...], "accuracy": [...], "val_loss": [...], "val_accuracy": [...]}``
    (val lists empty without ``val``). The model is trained in place, channels-last.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    train_x, train_y = _check(train_x, train_y, "train_x/train_y")
    dev = resolve_device(device)
    torch.manual_seed(seed)  # dropout masks
    shuffle = torch.Generator().manual_seed(seed)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=batch_size, shuffle=True,
                        generator=shuffle)
    val_loader = None
    if val is not None:
        vx, vy = _check(*val, "val")
        val_loader = DataLoader(TensorDataset(vx, vy), batch_size=batch_size)
    model.to(dev, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    bar = tqdm(range(epochs), desc="epochs", unit="epoch", disable=not progress)
    for _ in bar:
        loss, acc = _epoch(model, loader, dev, loss_fn, optimizer)
        history["loss"].append(loss)
        history["accuracy"].append(acc)
        if val_loader is not None:
            vloss, vacc = _epoch(model, val_loader, dev, loss_fn)
            history["val_loss"].append(vloss)
            history["val_accuracy"].append(vacc)
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.2f}",
                        **({"val_acc": f"{history['val_accuracy'][-1]:.2f}"} if val_loader else {}))
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
        out.append(model(xb).argmax(1).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)
