"""Synthetic twins of CASME-I, CASME-II, CAS(ME)^2 and SMIC (the licence-gated data of Sec. IV).

A twin has the real dataset's subject count, Table II class counts, frame rate and clip
lengths, and is written in the release's on-disk layout and annotation format, so that
:func:`learnet_lite.datasets.load` reads it exactly like the licensed copy.

* Every subject is a procedurally drawn face (shape, skin tone and texture, brows, eyes,
  nose, mouth, hair, lighting): identity varies far more than any expression.
* Every clip is an emotion rendered as FACS action units (AUs): each AU a smooth, local
  displacement field at its anatomical place, applied with :func:`cv2.remap` along an
  onset -> apex -> offset time course. ``amplitude`` is the difficulty dial: the mean peak
  displacement in pixels (micro-expressions move a few pixels at most).
* Nuisances not tied to the class: blinks, slow head drift, illumination flicker, sensor
  noise, JPEG compression.

So a single frame says almost nothing about the class and the motion says a lot, which is
the premise of dynamic imaging (Sec. III).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .datasets import CASME_SQ_SHEETS, SMIC_5CLASS_FILE, SMIC_FOLDER_CODES, load, spec

DEFAULT_AMPLITUDE = 1.0     # px, mean peak displacement; see the honesty test in tests/test_synthetic.py
MARKER = ".learnet-twin.json"   # written last: a twin without it is incomplete
JPEG_QUALITY = 80

# Frame sizes of the twins, (height, width): modest so all four generate in under a minute.
# Cropped ~ the face crop of the release scaled to 128 px wide; raw = half the 640x480 camera.
CROPPED_SIZE = {"casme": (160, 128), "casme2": (156, 128), "casme_sq": (144, 128), "smic": (120, 100)}
RAW_SIZE = (240, 320)

# Clip lengths onset->offset in frames (inclusive), drawn uniformly: <= 0.5 s at the
# dataset's frame rate for micro-expressions (CAS(ME)^2 macro-expressions up to 1.5 s).
CLIP_FRAMES = {"casme": (12, 30), "casme2": (40, 100), "casme_sq": (6, 15), "smic": (20, 50)}
CASME_SQ_MACRO_FRAMES = (15, 45)
CASME_SQ_MICRO_SHARE = 57 / 357     # the release: 57 micro among 357 expressions

# Emotion -> AU combinations (one drawn per clip); DESIGN.md / FACS emotion prototypes.
EMOTION_AUS = {
    "happiness": ["6+12", "12", "6+12+25"],
    "disgust": ["9", "10", "4+7", "9+10"],
    "surprise": ["1+2", "1+2+25", "1+2+26"],
    "repression": ["14", "15", "17", "15+17"],
    "sadness": ["1+4+15", "1+15"],
    "fear": ["1+2+4+20", "1+2+4"],
    "anger": ["4+7+23", "4+23", "4+7"],
    "contempt": ["R14", "L14"],
    "tension": ["4", "7", "23"],
    "others": ["4", "7", "24"],
}
SMIC_NEGATIVE = ("disgust", "fear", "sadness", "anger")

# AU -> displacement control points (landmark, du, dv, direction x, direction y, sigma),
# on the image's right half; mirrored to the left unless the landmark is on the midline.
# Landmark coordinates are in face units (u across, v down; the face ellipse is |(u,v)|=1).
AU_POINTS = {
    1: [("brow_inner", 0, 0, 0.0, -1.0, 0.13)],
    2: [("brow_outer", 0, 0, 0.0, -1.0, 0.14)],
    4: [("brow_inner", 0.04, 0, -0.6, 0.8, 0.14)],
    5: [("upper_lid", 0, 0, 0.0, -1.0, 0.07)],
    6: [("cheek", 0, 0, 0.0, -1.0, 0.16), ("lower_lid", 0, 0, 0.0, -0.7, 0.08)],
    7: [("lower_lid", 0, 0, 0.0, -1.0, 0.07)],
    9: [("nose_side", 0, 0, 0.0, -1.0, 0.10), ("brow_inner", 0, 0.05, 0.0, 0.6, 0.09)],
    10: [("upper_lip", 0, 0, 0.0, -1.0, 0.10)],
    12: [("mouth_corner", 0, 0, 0.75, -0.65, 0.11)],
    14: [("mouth_corner", 0, 0, -0.9, 0.0, 0.08)],
    15: [("mouth_corner", 0, 0, 0.0, 1.0, 0.10)],
    17: [("chin", 0, 0, 0.0, -1.0, 0.16), ("lower_lip", 0, 0, 0.0, -0.6, 0.10)],
    20: [("mouth_corner", 0, 0, 1.0, 0.25, 0.11)],
    23: [("mouth_corner", -0.08, 0, -0.7, 0.0, 0.10)],
    24: [("upper_lip", -0.1, 0.03, 0.0, 0.7, 0.08), ("lower_lip", 0, -0.02, 0.0, -0.7, 0.08)],
    25: [("lower_lip", 0, 0, 0.0, 1.0, 0.09)],
    26: [("chin", 0, -0.05, 0.0, 1.0, 0.25)],
}
AU_NAMES = {1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
            6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
            12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 17: "chin raiser",
            20: "lip stretcher", 23: "lip tightener", 24: "lip pressor", 25: "lips part", 26: "jaw drop"}


# ------------------------------------------------------------------------------- faces

@dataclass
class Face:
    """A subject's identity: geometry (face units), colours and lighting."""

    aspect: float
    jaw: float
    skin: np.ndarray
    hair: np.ndarray
    lips: np.ndarray
    iris: np.ndarray
    light: np.ndarray
    eye_u: float
    eye_v: float
    eye_w: float
    eye_h: float
    brow_v: float
    brow_arch: float
    brow_t: float
    brow_tilt: float
    nose_v: float
    nose_w: float
    mouth_v: float
    mouth_w: float
    lip_t: float
    hairline: float
    texture_seed: int

    def landmarks(self) -> dict:
        """Landmarks of the image's right half, in face units (u, v)."""
        return {
            "brow_inner": (0.14, self.brow_v + self.brow_tilt),
            "brow_outer": (0.52, self.brow_v - self.brow_arch * 0.4 - self.brow_tilt),
            "upper_lid": (self.eye_u, self.eye_v - self.eye_h),
            "lower_lid": (self.eye_u, self.eye_v + self.eye_h),
            "cheek": (self.eye_u + 0.04, self.eye_v + 0.27),
            "nose_side": (self.nose_w + 0.03, self.nose_v - 0.1),
            "upper_lip": (0.10, self.mouth_v - self.lip_t),
            "mouth_corner": (self.mouth_w, self.mouth_v),
            "lower_lip": (0.0, self.mouth_v + self.lip_t * 1.3),
            "chin": (0.0, 0.84),
        }


def random_face(rng: np.random.Generator) -> Face:
    """Draw one identity. Ranges are wide on purpose: identity >> expression."""
    tones = np.array([[236, 200, 170], [224, 178, 140], [198, 150, 112], [160, 112, 80], [112, 76, 54]], float)
    t = rng.uniform(0, len(tones) - 1)
    skin = tones[int(t)] * (1 - t % 1) + tones[min(int(t) + 1, len(tones) - 1)] * (t % 1)
    skin = skin * rng.uniform(0.92, 1.06, 3)
    hair = np.array([30, 22, 16], float) * rng.uniform(0.6, 3.0) + rng.uniform(0, 20, 3)
    lips = skin * np.array([0.92, 0.62, 0.62]) * rng.uniform(0.85, 1.0)
    iris = np.array([70, 45, 25], float) * rng.uniform(0.4, 1.4)
    light = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.6, -0.1), 1.0])
    return Face(
        aspect=rng.uniform(0.78, 0.92), jaw=rng.uniform(0.1, 0.45), skin=skin, hair=hair, lips=lips,
        iris=iris, light=light / np.linalg.norm(light),
        eye_u=rng.uniform(0.33, 0.42), eye_v=rng.uniform(-0.2, -0.1), eye_w=rng.uniform(0.15, 0.2),
        eye_h=rng.uniform(0.06, 0.085), brow_v=rng.uniform(-0.42, -0.32), brow_arch=rng.uniform(0.0, 0.12),
        brow_t=rng.uniform(0.035, 0.06), brow_tilt=rng.uniform(-0.03, 0.04),
        nose_v=rng.uniform(0.18, 0.28), nose_w=rng.uniform(0.07, 0.12),
        mouth_v=rng.uniform(0.48, 0.58), mouth_w=rng.uniform(0.22, 0.32), lip_t=rng.uniform(0.035, 0.06),
        hairline=rng.uniform(-0.78, -0.6), texture_seed=int(rng.integers(2**31)),
    )


@dataclass(frozen=True)
class Frame:
    """Where the face sits in a frame: centre and half-axes in pixels."""

    height: int
    width: int
    cx: float
    cy: float
    a: float
    b: float

    @staticmethod
    def cropped(height: int, width: int) -> "Frame":
        # a tight face crop like the releases' Cropped/ folders: brows to chin fill the frame
        return Frame(height, width, width / 2, height * 0.47, width * 0.47, height * 0.50)

    @staticmethod
    def raw(height: int, width: int, face: Face, rng: np.random.Generator) -> "Frame":
        b = height * rng.uniform(0.27, 0.32)
        a = b * face.aspect
        return Frame(height, width, width / 2 + rng.uniform(-0.1, 0.1) * width,
                     height * rng.uniform(0.42, 0.5), a, b)


def _soft(d, width):
    """Soft step: 1 where d < 0, 0 where d > 0, over about ``width`` (same units)."""
    return 1.0 / (1.0 + np.exp(np.clip(d / max(width, 1e-6), -30, 30)))


def render_face(face: Face, frame: Frame, eyes_closed: float = 0.0, background: bool = False) -> np.ndarray:
    """The neutral face as float32 RGB (H, W, 3) in 0..255. ``eyes_closed`` in 0..1."""
    import cv2

    H, W = frame.height, frame.width
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    u, v = (x - frame.cx) / frame.a, (y - frame.cy) / frame.b
    px = 1.0 / frame.a                     # one pixel in face units (across)
    rng = np.random.default_rng(face.texture_seed)
    # head: ellipse narrowing towards the chin
    uj = u / (1 - face.jaw * np.clip(v, 0, 1) ** 2)
    r = np.sqrt(uj ** 2 + v ** 2)
    head = _soft(r - 1, 1.5 * px)
    # ellipsoid normals -> Lambertian shading with the subject's light
    nz = np.sqrt(np.clip(1 - np.clip(r, 0, 1) ** 2, 0, 1))
    shade = 0.55 + 0.5 * np.clip(u * face.light[0] + v * face.light[1] + nz * face.light[2], 0, 1)
    # skin texture: smoothed noise at two scales (pores, blotches)
    fine = cv2.GaussianBlur(rng.standard_normal((H, W)).astype(np.float32), (0, 0), 0.8)
    coarse = cv2.GaussianBlur(rng.standard_normal((H, W)).astype(np.float32), (0, 0), max(W / 25, 1))
    tex = 1 + 0.025 * fine / (fine.std() + 1e-6) + 0.04 * coarse / (coarse.std() + 1e-6)
    img = face.skin[None, None, :] * (shade * tex)[..., None]
    # cheeks a little redder, eye sockets and the sides of the nose darker
    for s in (-1, 1):
        g = np.exp(-(((u - s * (face.eye_u + 0.05)) / 0.16) ** 2 + ((v - face.eye_v - 0.3) / 0.12) ** 2))
        img *= (1 + g[..., None] * np.array([0.04, -0.04, -0.04]))
        sock = np.exp(-(((u - s * face.eye_u) / 0.2) ** 2 + ((v - face.eye_v + 0.02) / 0.12) ** 2))
        img *= (1 - 0.32 * sock)[..., None]
        side = np.exp(-(((u - s * face.nose_w * 1.1) / 0.04) ** 2)) * _soft(np.abs(v - face.nose_v + 0.12) - 0.2, 0.04)
        img *= (1 - 0.18 * side)[..., None]
    # nose: bridge highlight, nostrils, shadow under the tip
    bridge = np.exp(-((u / 0.05) ** 2)) * _soft(np.abs(v - (face.nose_v - 0.2)) - 0.2, 0.05)
    img *= (1 + 0.10 * bridge)[..., None]
    for s in (-1, 1):
        nostril = _soft(np.sqrt(((u - s * face.nose_w * 0.75) / 0.045) ** 2 + ((v - face.nose_v) / 0.025) ** 2) - 1, 0.25)
        img *= (1 - 0.55 * nostril)[..., None]
    under = np.exp(-((u / 0.12) ** 2 + ((v - face.nose_v - 0.06) / 0.03) ** 2))
    img *= (1 - 0.15 * under)[..., None]
    # mouth: lips, the dark line between them, shadow under the lower lip
    mu = u / face.mouth_w
    upper = _soft(np.sqrt(mu ** 2 + ((v - face.mouth_v + face.lip_t / 2) / face.lip_t) ** 2) - 1, 0.08) * (v < face.mouth_v)
    lower = _soft(np.sqrt(mu ** 2 + ((v - face.mouth_v) / (face.lip_t * 1.4)) ** 2) - 1, 0.08) * (v >= face.mouth_v)
    lip = np.clip(upper + lower, 0, 1)[..., None]
    img = img * (1 - lip) + face.lips[None, None] * shade[..., None] * lip
    line = np.exp(-(((v - face.mouth_v - 0.02 * mu ** 2) / (1.2 * px)) ** 2)) * _soft(np.abs(mu) - 1.0, 0.05)
    img *= (1 - 0.6 * line)[..., None]
    chin_sh = np.exp(-((u / 0.15) ** 2 + ((v - face.mouth_v - face.lip_t * 2.6) / 0.03) ** 2))
    img *= (1 - 0.12 * chin_sh)[..., None]
    # eyes: almond sclera, iris, pupil; lids close with eyes_closed; lash line
    for s in (-1, 1):
        eu = (u - s * face.eye_u) / face.eye_w
        h = face.eye_h * max(1 - eyes_closed, 0.03)
        ev = (v - face.eye_v) / h
        almond = _soft(np.abs(ev) - (1 - eu ** 2), 0.15) * (np.abs(eu) < 1)
        iris_r = np.sqrt((eu * face.eye_w) ** 2 + (v - face.eye_v) ** 2) / (face.eye_h * 1.05)
        eye = np.full_like(img, 225.0)
        eye = eye * (1 - _soft(iris_r - 1, 0.1))[..., None] + face.iris * _soft(iris_r - 1, 0.1)[..., None]
        eye *= (1 - 0.8 * _soft(iris_r - 0.45, 0.1))[..., None]
        img = img * (1 - almond[..., None]) + eye * almond[..., None]
        lid = np.exp(-(((v - face.eye_v + h * (1 - eu ** 2)) / (1.3 * px)) ** 2)) * (np.abs(eu) < 1.1)
        img *= (1 - 0.75 * lid)[..., None]
        # brows: a thick arc from the inner to the outer end
        bu = (u - s * 0.33) / 0.21
        curve = face.brow_v - face.brow_arch * (1 - bu ** 2) + face.brow_tilt * (1 - (s * bu + 1) / 2) * 2 - face.brow_tilt
        thick = face.brow_t * (1.1 - 0.4 * (s * bu > 0.3))
        brow = _soft(np.abs(v - curve) - thick, 0.012) * _soft(np.abs(bu) - 1, 0.08)
        img = img * (1 - 0.9 * brow[..., None]) + face.hair * 0.7 * brow[..., None]
    # hair: above the hairline, a little wider than the face
    hair_mask = _soft(np.sqrt(u ** 2 + v ** 2) - 1.08, 0.02) * _soft(v - (face.hairline + 0.12 * u ** 2), 0.03)
    hair_tex = 1 + 0.12 * fine[..., None]
    img = img * (1 - hair_mask[..., None]) + face.hair * hair_tex * hair_mask[..., None]
    # outside the head: background (raw layout) or the dark surround of a tight crop
    if background:
        grad = np.linspace(0.75, 1.05, W, dtype=np.float32)[None, :, None]
        wall = rng.uniform(90, 190, 3) * grad * (1 + 0.03 * coarse[..., None])
        neck = _soft(np.abs(u) - 0.55, 0.05) * (v > 0.6)
        shoulders = _soft(np.sqrt((u / 3.2) ** 2 + ((v - 2.3) / 1.0) ** 2) - 1, 0.02)
        shirt = rng.uniform(30, 200, 3)
        back = wall * (1 - shoulders[..., None]) + shirt * shoulders[..., None]
        back = back * (1 - neck[..., None]) + face.skin * 0.8 * neck[..., None]
    else:
        back = face.hair * 0.6 + np.zeros_like(img)
    out_mask = np.maximum(head, hair_mask)[..., None]
    img = img * out_mask + back * (1 - out_mask)
    return np.clip(img, 0, 255).astype(np.float32)


# ------------------------------------------------------------------------- expressions

def parse_aus(code: str) -> list[tuple[int, str]]:
    """'6+12', 'R14' -> [(6, 'B'), (12, 'B')], [(14, 'R')] (side: B both, L, R)."""
    out = []
    for part in str(code).split("+"):
        m = re.fullmatch(r"\s*([LR]?)(\d+)\s*", part)
        if m is None:
            raise ValueError(f"AU code {code!r}: expected numbers joined by '+' (optionally L/R)")
        out.append((int(m.group(2)), m.group(1) or "B"))
    return out


def au_field(face: Face, frame: Frame, code: str) -> np.ndarray:
    """The displacement field of an AU combination, (2, H, W) float32 (dx, dy) in pixels,
    scaled so that its largest displacement is 1 px."""
    H, W = frame.height, frame.width
    y, x = _grid(H, W)
    field = np.zeros((2, H, W), np.float32)
    marks = face.landmarks()
    for au, side in parse_aus(code):
        for name, du, dv, dx, dy, sigma in AU_POINTS[au]:
            u0, v0 = marks[name]
            u0 += du
            v0 += dv
            sides = [1] if u0 == 0 else {"B": [1, -1], "L": [1], "R": [-1]}[side]
            for s in sides:
                px, py = frame.cx + s * u0 * frame.a, frame.cy + v0 * frame.b
                sig = sigma * frame.a
                g = np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * sig ** 2))
                field[0] += s * dx * g
                field[1] += dy * g
    peak = np.sqrt(field[0] ** 2 + field[1] ** 2).max()
    return field / peak if peak > 0 else field


def time_course(n: int, apex: int) -> np.ndarray:
    """Onset -> apex -> offset intensity over ``n`` frames: raised-cosine rise from 0 at the
    onset to 1 at frame ``apex``, then back towards 0 at the offset."""
    t = np.arange(n, dtype=np.float64)
    rise = 0.5 - 0.5 * np.cos(np.pi * t / max(apex, 1))
    fall = 0.5 + 0.5 * np.cos(np.pi * (t - apex) / max(n - 1 - apex, 1))
    return np.where(t <= apex, rise, fall).clip(0, 1)


@dataclass
class Subject:
    face: Face
    frame: Frame
    open: np.ndarray
    closed: np.ndarray


def make_subject(rng: np.random.Generator, size: tuple[int, int], raw: bool = False) -> Subject:
    face = random_face(rng)
    frame = Frame.raw(*size, face, rng) if raw else Frame.cropped(*size)
    return Subject(face, frame, render_face(face, frame, 0.0, raw), render_face(face, frame, 1.0, raw))


def noise_bank(rng: np.random.Generator, H: int, W: int, frames: int = 64, pad: int = 32) -> np.ndarray:
    """Unit Gaussian fields, (frames, H + pad, W + pad, 1) float32; :func:`render_clip`
    takes a randomly shifted window of a random one per frame as its sensor noise."""
    return rng.standard_normal((frames, H + pad, W + pad, 1), dtype=np.float32)


@lru_cache(maxsize=8)
def _grid(H: int, W: int):
    gy, gx = np.mgrid[0:H, 0:W].astype(np.float32)
    gy.flags.writeable = gx.flags.writeable = False
    return gy, gx


def render_clip(subject: Subject, code: str, n: int, apex: int, fps: float, amplitude: float,
                rng: np.random.Generator, jpeg: bool = True, drift_px: float = 1.0,
                noise: float = 2.0, pose_jitter: float = 2.0, bank: np.ndarray | None = None) -> np.ndarray:
    """One clip as uint8 RGB (n, H, W, 3): the AU field ``code`` driven by the time course,
    plus the nuisances: the clip's own placement of the face (shift up to ``pose_jitter`` px,
    scale +-``pose_jitter`` %), blinks, head drift, flicker, sensor noise (and a JPEG round
    trip if ``jpeg``)."""
    import cv2

    H, W = subject.frame.height, subject.frame.width
    gy, gx = _grid(H, W)
    strength = amplitude * rng.uniform(0.75, 1.25)
    field = au_field(subject.face, subject.frame, code) * strength if strength else np.zeros((2, H, W), np.float32)
    # each clip is its own recording: the face sits a little differently in the crop
    scale = rng.uniform(1 - pose_jitter / 100, 1 + pose_jitter / 100)
    cx, cy = subject.frame.cx, subject.frame.cy
    gx = (cx + (gx - cx) / scale + rng.uniform(-pose_jitter, pose_jitter)).astype(np.float32)
    gy = (cy + (gy - cy) / scale + rng.uniform(-pose_jitter, pose_jitter)).astype(np.float32)
    course = time_course(n, apex)
    t = np.arange(n) / fps
    # nuisances: none depends on the class
    angle = rng.uniform(0, 2 * np.pi)
    drift = rng.uniform(0, drift_px) * np.array([np.cos(angle), np.sin(angle)])[:, None] * (t / max(t[-1], 1e-6))[None]
    blink = np.zeros(n)
    if rng.random() < 0.25:
        length = max(3, int(round(0.15 * fps)))
        start = int(rng.integers(-length // 2, n))
        k = np.arange(n) - start
        blink = np.where((k >= 0) & (k < length), np.sin(np.pi * (k + 0.5) / length) ** 2, 0.0)
    gain = 1 + rng.uniform(0, 0.015) * np.sin(2 * np.pi * rng.uniform(1, 12) * t + rng.uniform(0, 2 * np.pi))
    # whole-clip array arithmetic; only the warp itself runs frame by frame
    c = course.astype(np.float32)[:, None, None]
    map_x = field[0][None] * c
    map_x += drift[0].astype(np.float32)[:, None, None]
    np.subtract(gx[None], map_x, out=map_x)
    map_y = field[1][None] * c
    map_y += drift[1].astype(np.float32)[:, None, None]
    np.subtract(gy[None], map_y, out=map_y)
    warped = np.empty((n, H, W, 3), np.float32)
    for i in range(n):
        img = subject.open if blink[i] == 0 else subject.open * float(1 - blink[i]) + subject.closed * float(blink[i])
        cv2.remap(img, map_x[i], map_y[i], cv2.INTER_LINEAR, dst=warped[i], borderMode=cv2.BORDER_REFLECT)
    warped *= gain.astype(np.float32)[:, None, None, None]
    # sensor noise: each frame a randomly shifted window of a small bank of Gaussian fields
    # (drawing every pixel of every frame afresh was most of the generation time)
    bank = noise_bank(rng, H, W, min(n, 8)) if bank is None else bank
    pad = bank.shape[1] - H
    picks = rng.integers(0, [len(bank), pad + 1, pad + 1], size=(n, 3))
    for i, (k, dy, dx) in enumerate(picks):
        warped[i] += bank[k, dy:dy + H, dx:dx + W] * noise
    # saturating, rounding conversion in one pass (values are >= 0 here but for rare noise)
    out = cv2.convertScaleAbs(warped.reshape(n * H, W, 3)).reshape(n, H, W, 3)
    if jpeg:
        for i in range(n):
            ok, buf = cv2.imencode(".jpg", out[i], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            out[i] = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out


def example_clips(classes=("happiness", "disgust", "surprise", "repression"), subjects: int = 8,
                  per_class: int = 2, fps: int = 60, frames: tuple[int, int] = (12, 30),
                  size: tuple[int, int] = (156, 128), amplitude: float = DEFAULT_AMPLITUDE, seed: int = 0):
    """Balanced clips in memory (no files), drawn exactly as the twins draw theirs:
    -> dict of lists: ``clips`` (uint8 (T, H, W, 3) RGB), ``emotion``, ``subject``, ``aus``,
    ``apex`` (index of the apex frame)."""
    rng = np.random.default_rng([seed, 7])
    bank = noise_bank(rng, *size)
    clips, labels, groups, codes, apexes = [], [], [], [], []
    for s in range(subjects):
        subj = make_subject(np.random.default_rng([seed, 1000 + s]), size)
        for c in classes:
            for _ in range(per_class):
                code = EMOTION_AUS[c][int(rng.integers(len(EMOTION_AUS[c])))]
                n = int(rng.integers(frames[0], frames[1] + 1))
                apex = int(round((n - 1) * rng.uniform(0.3, 0.6)))
                clips.append(render_clip(subj, code, n, apex, fps, amplitude, rng, bank=bank))
                labels.append(c)
                groups.append(s)
                codes.append(code)
                apexes.append(apex)
    return {"clips": clips, "emotion": labels, "subject": groups, "aus": codes, "apex": apexes}


# ------------------------------------------------------------------------- the twins

def _class_plan(name: str, scale: float) -> list[str]:
    """One emotion per clip: Table II's counts (times ``scale``, at least 1 per class)."""
    from .paper import table

    t2 = table("table2").set_index("emotion")
    plan = []
    for c in spec(name).classes:
        count = int(t2.loc[c, name])
        plan += [c] * (count if scale >= 1 else max(1, int(round(count * scale))))
    return plan


def _assign_subjects(n_clips: int, n_subjects: int, rng) -> np.ndarray:
    """Uneven clips per subject (as in the releases), every subject at least one clip when
    there are enough clips."""
    weights = rng.dirichlet(np.full(n_subjects, 2.0))
    first = np.arange(min(n_clips, n_subjects))
    rest = rng.choice(n_subjects, size=n_clips - len(first), p=weights)
    out = np.concatenate([first, rest])
    rng.shuffle(out)
    return out


def _write_image(path: Path, frame_rgb: np.ndarray):
    import cv2

    ext = path.suffix.lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext == ".jpg" else []
    ok, buf = cv2.imencode(ext, frame_rgb[..., ::-1], params)
    if not ok:
        raise OSError(f"{path}: could not encode the frame")
    path.write_bytes(buf.tobytes())


def write_xlsx(path: Path, sheets: list[tuple[str, list | None, list[list]]]):
    """A byte-identical .xlsx for the same content: ``sheets`` = (title, header or None,
    rows). openpyxl stamps the save time into the file and the zip entries; both are pinned."""
    from openpyxl import Workbook
    import datetime

    wb = Workbook()
    wb.remove(wb.active)
    fixed = datetime.datetime(2014, 5, 8)
    wb.properties.created = fixed
    for title, header, rows in sheets:
        ws = wb.create_sheet(title)
        if header is not None:
            ws.append(header)
        for row in rows:
            ws.append(row)
    raw = io.BytesIO()
    wb.save(raw)
    stamp = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)")
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = stamp.sub(rb"\g<1>2014-05-08T00:00:00Z\g<3>", data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2014, 5, 8, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())


CASME_SQ_SUBJECTS = (15, 16, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 40)
CASME_SQ_VIDEOS = (("disgustingteeth", "0101"), ("eatingworms", "0102"), ("girlcrashing", "0401"),
                   ("beatingpregnantwoman", "0402"), ("funnyerrors", "0502"), ("keyboardsmashing", "0503"),
                   ("funnyinnovations", "0505"), ("climbingthewall", "0507"), ("funnydogs", "0508"))
SMIC_SUBJECTS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 18, 19, 20)
SHEET_NAMES = {"casme": "CASME_coding.xlsx", "casme2": "CASME2-coding-20140508.xlsx",
               "casme_sq": "CAS(ME)^2code_final.xlsx"}


def _sheet_emotion(name: str, emotion: str) -> str:
    """The word the release's sheet uses for a class."""
    if name == "casme_sq":
        return {"happiness": "happy"}.get(emotion, emotion)
    if name == "casme":
        return {"tension": "tense"}.get(emotion, emotion)
    return emotion


def generate(name: str, root: str | Path, seed: int = 0, amplitude: float = DEFAULT_AMPLITUDE,
             layout: str = "cropped", scale: float = 1.0, overwrite: bool = False,
             progress: bool = True):
    """Write the twin of dataset ``name`` under ``root`` (its own folder, as the release
    unpacks) and return what :func:`learnet_lite.datasets.load` returns for it.

    ``scale`` < 1 keeps that share of each class (at least one clip; for smoke runs).
    A complete twin with the same settings already at ``root`` is reused, not rewritten.
    The twin is built in a temporary folder beside ``root`` and renamed into place at the
    end, with the marker file written last, so a killed run leaves nothing ``load`` reads.
    An existing folder that is not a twin of ours is never touched.
    """
    s = spec(name)
    if layout not in ("cropped", "raw"):
        raise ValueError(f"layout={layout!r}: expected 'cropped' or 'raw'")
    if not 0 < scale <= 1:
        raise ValueError(f"scale={scale}: expected a share in (0, 1]")
    if not 0 <= amplitude <= 20:
        raise ValueError(f"amplitude={amplitude}: expected a peak displacement of 0..20 pixels")
    root = Path(root)
    settings = {"dataset": name, "seed": int(seed), "amplitude": float(amplitude), "layout": layout,
                "scale": float(scale), "version": 1}
    if root.exists():
        marker = root / MARKER
        if not marker.is_file():
            raise FileExistsError(f"{root} exists and is not a synthetic twin made here "
                                  f"(no {MARKER}); refusing to touch it")
        old = json.loads(marker.read_text())
        if old.get("settings") == settings:
            return load(name, root, layout=layout)
        if not overwrite:
            raise FileExistsError(f"{root} holds a twin made with {old.get('settings')}, not {settings}; "
                                  "pass overwrite=True (--force) to replace it")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    started = time.perf_counter()
    try:
        n_frames = WRITERS[name](tmp, seed, amplitude, layout, scale, progress)
        manifest = {"settings": settings, "frames": n_frames, "note": "synthetic twin made by "
                    "learnet_lite.synthetic; not the licensed dataset",
                    "seconds": round(time.perf_counter() - started, 1)}
        (tmp / MARKER).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        if root.exists():
            trash = root.parent / f".{root.name}.old-{os.getpid()}"
            root.rename(trash)
            shutil.rmtree(trash)
        tmp.rename(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load(name, root, layout=layout, verify="none")   # just written; tests verify fully


def is_complete(root: str | Path) -> bool:
    """True if ``root`` holds a finished twin (its marker was written last)."""
    return (Path(root) / MARKER).is_file()


def twin_manifest(root: str | Path) -> dict:
    return json.loads((Path(root) / MARKER).read_text())


class _Plan:
    """Per-dataset drawing of subjects and clips, shared by the four writers."""

    def __init__(self, name, seed, amplitude, layout, scale, progress):
        from tqdm import tqdm

        self.name, self.s = name, spec(name)
        self.rng = np.random.default_rng([seed, sorted(("casme", "casme2", "casme_sq", "smic")).index(name)])
        self.amplitude, self.layout, self.seed = amplitude, layout, seed
        self.size = RAW_SIZE if layout == "raw" else CROPPED_SIZE[name]
        self.emotions = _class_plan(name, scale)
        self.rng.shuffle(self.emotions)
        self.subject_of = _assign_subjects(len(self.emotions), self.s.subjects, self.rng)
        self._subjects: dict[int, Subject] = {}
        self.bank = noise_bank(self.rng, *self.size)
        self.bar = tqdm(total=len(self.emotions), desc=f"twin {name}", unit="clip", disable=not progress)
        self.frames_written = 0

    def subject(self, k: int) -> Subject:
        if k not in self._subjects:
            self._subjects[k] = make_subject(np.random.default_rng([self.seed, 101, k, len(self.name)]),
                                             self.size, raw=self.layout == "raw")
        return self._subjects[k]

    def draw(self, emotion: str, lengths=None):
        options = EMOTION_AUS[emotion]
        code = options[int(self.rng.integers(len(options)))]
        lo, hi = lengths or CLIP_FRAMES[self.name]
        n = int(self.rng.integers(lo, hi + 1))
        apex = int(round((n - 1) * self.rng.uniform(0.3, 0.6)))
        return code, n, apex

    def clip(self, k: int, code: str, n: int, apex: int) -> np.ndarray:
        # JPEG is applied when the file is written (.jpg); .bmp (SMIC) stays lossless
        return render_clip(self.subject(k), code, n, apex, self.s.fps, self.amplitude, self.rng, jpeg=False,
                           bank=self.bank)

    def write(self, folder: Path, names, frames):
        folder.mkdir(parents=True, exist_ok=True)
        for fname, f in zip(names, frames):
            _write_image(folder / fname, f)
        self.frames_written += len(names)


def _write_casme_family(name, root, seed, amplitude, layout, scale, progress):
    """CASME-I / CASME-II: one folder per clip under subNN/, one sheet row per clip."""
    p = _Plan(name, seed, amplitude, layout, scale, progress)
    folder, prefix = p.s.folders[layout], p.s.prefix[layout]
    used: set = set()
    rows = []
    for i, (emotion, k) in enumerate(zip(p.emotions, p.subject_of)):
        code, n, apex = p.draw(emotion)
        subject = f"sub{k + 1:02d}"
        while True:
            ep = int(p.rng.integers(1, 20))
            clip = (f"EP{ep:02d}_{int(p.rng.integers(1, 10)):02d}" + ("f" if p.rng.random() < 0.3 else "")
                    if name == "casme2" else f"EP{ep:02d}_{int(p.rng.integers(1, 10))}")
            if (subject, clip) not in used:
                used.add((subject, clip))
                break
        onset = int(p.rng.integers(1, 300))
        numbers = range(onset, onset + n)
        if name == "casme2":
            names = [f"{prefix}img{j}.jpg" for j in numbers]
        else:   # some CASME rows zero-pad their frame numbers
            pad = 3 if p.rng.random() < 0.2 else 0
            names = [f"{prefix}{clip}-{j:0{pad}d}.jpg" for j in numbers]
        p.write(root / folder / subject / clip, names, p.clip(k, code, n, apex))
        apex_no = onset + apex
        word = _sheet_emotion(name, emotion)
        if name == "casme2":
            rows.append([k + 1, clip, None, onset, "/" if p.rng.random() < 0.03 else apex_no,
                         onset + n - 1, None, code, word])
        else:
            rows.append([k + 1, clip, onset, apex_no, None, onset + n - 1, code, word])
        p.bar.update()
    p.bar.close()
    rows.sort(key=lambda r: (r[0], r[1]))
    header = (["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
               "Action Units", "Estimated Emotion"] if name == "casme2" else
              ["Subject", "Filename", "OnsetF", "ApexF1", "ApexF2", "OffsetF", "Action Units", "Emotion"])
    write_xlsx(root / SHEET_NAMES[name], [("Sheet1", header, rows)])
    return p.frames_written


def _write_casme_sq(root, seed, amplitude, layout, scale, progress):
    """Long videos per subject: the clips of one video follow each other with neutral gaps."""
    p = _Plan("casme_sq", seed, amplitude, layout, scale, progress)
    folder = p.s.folders[layout]
    videos: dict = {}
    for emotion, k in zip(p.emotions, p.subject_of):
        v = int(p.rng.integers(len(CASME_SQ_VIDEOS)))
        videos.setdefault((int(k), v), []).append(emotion)
    rows = []
    for (k, v), emotions in sorted(videos.items()):
        sub = CASME_SQ_SUBJECTS[k]
        vname, vcode = CASME_SQ_VIDEOS[v]
        parts, number = [], 1
        for emotion in emotions:
            micro = p.rng.random() < CASME_SQ_MICRO_SHARE
            code, n, apex = p.draw(emotion, None if micro else CASME_SQ_MACRO_FRAMES)
            gap = int(p.rng.integers(3, 9))
            parts.append(_neutral(p, k, gap))
            onset = number + gap
            parts.append(p.clip(k, code, n, apex))
            offset = onset + n - 1
            written_offset = 0 if p.rng.random() < 0.05 else offset   # the sheet's "0 = use apex"
            rows.append([k + 1, vname, onset, onset + apex, written_offset, code,
                         _sheet_emotion("casme_sq", emotion),
                         "micro-expression" if micro else "macro-expression", _sheet_emotion("casme_sq", emotion)])
            number = offset + 1
            p.bar.update()
        frames = np.concatenate(parts)
        names = [f"img{j}.jpg" for j in range(1, len(frames) + 1)]
        p.write(root / folder / f"s{sub}" / f"{sub}_{vcode}{vname}", names, frames)
    p.bar.close()
    write_xlsx(root / SHEET_NAMES["casme_sq"], [
        ("CASME^2code_final", None, rows),
        (CASME_SQ_SHEETS[0], None, [[vname, vcode] for vname, vcode in CASME_SQ_VIDEOS]),
        (CASME_SQ_SHEETS[1], None, [[k + 1, f"s{sub}"] for k, sub in enumerate(CASME_SQ_SUBJECTS)]),
    ])
    return p.frames_written


def _neutral(p: _Plan, k: int, n: int) -> np.ndarray:
    """Neutral frames (no AU) with the same nuisances, between expressions of a long video."""
    return render_clip(p.subject(k), "4", n, 0, p.s.fps, 0.0, p.rng, jpeg=False, bank=p.bank)


def _write_smic(root, seed, amplitude, layout, scale, progress):
    """SMIC-HS: folders sN/micro/<negative|positive|surprise>/sN_<code>_NN/; some clips skip
    frame numbers. The paper's five classes go to a separate labels file."""
    p = _Plan("smic", seed, amplitude, layout, scale, progress)
    folder, prefix = p.s.folders[layout], p.s.prefix[layout]
    counters: dict = {}
    five = []
    for emotion, k in zip(p.emotions, p.subject_of):
        code, n, apex = p.draw(emotion)
        sub = f"s{SMIC_SUBJECTS[k]}"
        label = "positive" if emotion == "happiness" else "surprise" if emotion == "surprise" else "negative"
        counters[(sub, label)] = counters.get((sub, label), 0) + 1
        clip = f"{sub}_{SMIC_FOLDER_CODES[label]}_{counters[(sub, label)]:02d}"
        start = int(p.rng.integers(1, 5000))
        numbers = list(range(start, start + n))
        frames = p.clip(k, code, n, apex)
        if p.rng.random() < 0.3:        # dropped frames: numbers missing inside the clip
            drop = int(p.rng.integers(2, n - 2))
            numbers.pop(drop)
            frames = np.delete(frames, drop, axis=0)
        p.write(root / folder / sub / "micro" / label / clip, [f"{prefix}image{j:06d}.bmp" for j in numbers], frames)
        five.append((sub, clip, emotion))
        p.bar.update()
    p.bar.close()
    lines = ["# SMIC five-class labels (Table II) of the SYNTHETIC twin. Not part of the SMIC release;",
             "# a licensed copy needs this file from whoever holds the paper's 5-class labels.",
             "subject,clip,emotion"] + [f"{a},{b},{c}" for a, b, c in sorted(five)]
    (root / SMIC_5CLASS_FILE).write_text("\n".join(lines) + "\n")
    return p.frames_written


WRITERS = {"casme": lambda *a: _write_casme_family("casme", *a),
           "casme2": lambda *a: _write_casme_family("casme2", *a), "casme_sq": _write_casme_sq, "smic": _write_smic}


def generate_all(data_root: str | Path, names=("casme", "casme2", "casme_sq", "smic"), **kwargs) -> dict:
    """Generate (or reuse) every twin under ``data_root/<name>`` -> name -> DataFrame."""
    return {n: generate(n, Path(data_root) / n, **kwargs) for n in names}


def add_cli(subparsers):
    p = subparsers.add_parser(
        "synth", help="generate the synthetic twins of the datasets",
        description="Write the synthetic twin of each dataset under ROOT/<dataset> in the release's "
                    "layout and sheet format (reusing a complete twin made with the same settings).")
    p.add_argument("datasets", nargs="*", default=["casme", "casme2", "casme_sq", "smic"],
                   help="which twins (default: all four)")
    p.add_argument("--root", help="folder holding one folder per dataset (default: the data root)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--amplitude", type=float, default=DEFAULT_AMPLITUDE, help="peak AU displacement, pixels")
    p.add_argument("--layout", choices=("cropped", "raw"), default="cropped")
    p.add_argument("--scale", type=float, default=1.0, help="share of each class to generate (smoke runs)")
    p.add_argument("--force", action="store_true", help="replace an existing twin made with other settings")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    from .profiles import data_root

    base = Path(args.root) if args.root else data_root()
    for name in args.datasets:
        spec(name)
        t0 = time.perf_counter()
        df = generate(name, base / name, seed=args.seed, amplitude=args.amplitude, layout=args.layout,
                      scale=args.scale, overwrite=args.force)
        print(f"{name}: {len(df)} clips, {int(df['n_frames'].sum())} frames at {base / name} "
              f"({time.perf_counter() - t0:.1f} s)")
    return 0


def datasets_for(settings: dict, names=("casme", "casme2", "casme_sq", "smic"), progress: bool = True):
    """The datasets a chapter reads -> (folder holding one folder per dataset, name -> clips).

    With ``$DATA_ROOT`` set these are the licensed copies, only read. Otherwise the twins,
    generated once with the profile's ``synth_amplitude``/``synth_scale``/``seed`` and reused
    by every later chapter: full-size twins live in the data root (``data/synthetic``);
    smaller ones (the smoke profile) in a folder of the system's temp directory.
    """
    import tempfile

    from .profiles import data_root, using_synthetic_data

    if not using_synthetic_data():
        base = data_root()
        return base, {n: load(n, base / n) for n in names}
    amplitude = float(settings.get("synth_amplitude", DEFAULT_AMPLITUDE))
    scale = float(settings.get("synth_scale", 1.0))
    seed = int(settings.get("seed", 0))
    if scale >= 1:
        base = data_root()
    else:
        base = Path(tempfile.gettempdir()) / "learnet-lite-twins" / f"scale{scale:g}-amp{amplitude:g}-seed{seed}"
    return base, {n: generate(n, base / n, seed=seed, amplitude=amplitude, scale=scale, progress=progress)
                  for n in names}


def frame_vs_motion(amplitude: float = DEFAULT_AMPLITUDE, seed: int = 0, subjects: int = 12,
                    per_class: int = 3, side: int = 32, folds: int = 4) -> dict:
    """The twins' honesty check: subject-independent (GroupKFold over subjects) logistic
    regression on ``side``x``side`` grey images of balanced 4-class clips, fed the apex
    frame, the mean frame or the dynamic image (Bilen weights) of the same clips.
    -> {"apex": acc, "mean": acc, "dynamic": acc, "chance": 1/classes}."""
    import cv2
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .dynamic import dynamic_image

    d = example_clips(subjects=subjects, per_class=per_class, amplitude=amplitude, seed=seed)
    grey = [c.mean(-1, dtype=np.float32) for c in d["clips"]]

    def feat(img):
        return cv2.resize(np.asarray(img, np.float32), (side, side), interpolation=cv2.INTER_AREA).ravel()

    X = {"apex": [feat(c[a]) for c, a in zip(grey, d["apex"])],
         "mean": [feat(c.mean(0)) for c in grey],
         "dynamic": [feat(dynamic_image(c)) for c in grey]}
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    out = {k: float(cross_val_score(clf, np.array(v), d["emotion"], groups=d["subject"],
                                    cv=GroupKFold(folds)).mean()) for k, v in X.items()}
    out["chance"] = 1 / len(set(d["emotion"]))
    return out
