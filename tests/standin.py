"""Tests' helper: a small generated stand-in for dynamic images of micro-expressions.

Small and fast, for unit tests of the model and the training loop (the model chapter
trains on the CASME-II clips of :mod:`learnet_lite.synthetic` instead). Each clip is a
smooth random texture (a different "subject" per clip) whose pixels move by a few pixels
in one local region, the region and direction of motion set by the class (the analogue of
an action unit), with an onset→apex time course plus class-independent nuisances
(illumination flicker, sensor noise, jitter of the region).
Each clip is summarised by :func:`learnet_lite.dynamic.dynamic_image` (Sec. III-A), so the
class is only visible through motion: a still frame carries no label information.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from learnet_lite.dynamic import dynamic_image

CLASSES = ("disgust", "happiness", "surprise", "repression", "others")


def clips(per_class: int, num_classes: int = 5, *, frames: int = 10, size: int = 112,
          amplitude: float = 2.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` clips of each class: (N, T, H, W, 3) float32 in [0, 1] and labels (N,)."""
    if num_classes < 2 or per_class < 1 or frames < 2 or size < 16:
        raise ValueError("clips: need num_classes >= 2, per_class >= 1, frames >= 2, size >= 16; got "
                         f"{num_classes}, {per_class}, {frames}, {size}")
    rng = np.random.default_rng(seed)
    n = per_class * num_classes
    labels = np.repeat(np.arange(num_classes), per_class)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.empty((n, frames, size, size, 3), np.float32)
    # onset -> apex: a quarter sine, so the displacement grows smoothly over the clip
    course = np.sin(np.linspace(0, np.pi / 2, frames)).astype(np.float32)
    for i, k in enumerate(labels):
        noise = rng.normal(size=(size // 4, size // 4, 3)).astype(np.float32)
        texture = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
        texture = cv2.GaussianBlur(texture, (0, 0), 1.5)
        texture = (texture - texture.min()) / (np.ptp(texture) + 1e-6)
        # class k moves a blob on a ring around the centre; even classes radially, odd tangentially
        angle = 2 * np.pi * k / num_classes
        cx = size / 2 + 0.28 * size * np.cos(angle) + rng.normal(0, 2)
        cy = size / 2 + 0.28 * size * np.sin(angle) + rng.normal(0, 2)
        direction = angle + (0 if k % 2 == 0 else np.pi / 2)
        bump = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.1 * size) ** 2)).astype(np.float32)
        for t in range(frames):
            shift = amplitude * course[t] * bump
            map_x = (xx - shift * np.cos(direction)).astype(np.float32)
            map_y = (yy - shift * np.sin(direction)).astype(np.float32)
            frame = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            frame = frame * (1 + rng.normal(0, 0.02)) + rng.normal(0, 0.01, frame.shape)
            out[i, t] = frame
    return out, labels


def dynamic_images(per_class: int, num_classes: int = 5, *, frames: int = 10, size: int = 112,
                   seed: int = 0, **clip_options) -> tuple[torch.Tensor, torch.Tensor]:
    """Stand-in training data: dynamic images (N, 3, H, W) float32, each standardised to
    zero mean and unit variance, and their labels (N,) int64. Deterministic for ``seed``."""
    video, labels = clips(per_class, num_classes, frames=frames, size=size, seed=seed, **clip_options)
    di = dynamic_image(video)  # (N, H, W, 3)
    di = (di - di.mean(axis=(1, 2, 3), keepdims=True)) / (di.std(axis=(1, 2, 3), keepdims=True) + 1e-6)
    x = torch.from_numpy(np.ascontiguousarray(di.transpose(0, 3, 1, 2), dtype=np.float32))
    return x, torch.from_numpy(labels.astype(np.int64))
