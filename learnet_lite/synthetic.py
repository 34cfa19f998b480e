"""Synthetic twins of CASME-I, CASME-II, CAS(ME)^2 and SMIC (the licence-gated data of Sec. IV).

A twin has the real dataset's subject count, class counts (Table II's; CAS(ME)^2 and SMIC:
the release's, with the paper's five SMIC classes in a labels file), frame rate and clip
lengths, and is written in the release's on-disk layout and annotation format (CASME-I's two
``.xls`` sections, CASME II's ``.xlsx``, CAS(ME)^2's sheet book and long videos, SMIC's
folders of ``.bmp``), with the release's known anomalies (offset 0, a '/' apex, folders that
stop early or have no row, ...), so that :func:`learnet_lite.datasets.load` reads it exactly
like the licensed copy. Where a detail of a release's format is not known publicly, the
constants below say so.

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
import time
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .datasets import CASME_SECTIONS, CASME_SQ_SHEETS, SMIC_5CLASS_FILE, SMIC_FOLDER_CODES, TWIN_MARKER, load, spec
from .files import remove_stale_partials, temp_folder_beside

DEFAULT_AMPLITUDE = 1.0     # px, mean peak displacement; see the honesty test in tests/test_synthetic.py
MARKER = TWIN_MARKER        # written last: a twin without it is incomplete (name kept for callers)
TWIN_VERSION = 2            # 2: the releases' real formats (CASME-I .xls sections, CAS(ME)^2 sheet book, ...)
JPEG_QUALITY = 80

# Frame sizes of the twins, (height, width): modest, so that all four generate within the time
# and disk budget benchmarks/bench_data.py checks (it prints the time and each twin's size).
# Cropped ~ the face crop of the release scaled to 128 px wide; raw = half the 640x480 camera.
# SMIC's frames are .bmp as in the release (uncompressed, 96x80x3 = 23 KB each; 164 clips of
# 20-50 frames plus non_micro/), hence smaller.
CROPPED_SIZE = {"casme": (160, 128), "casme2": (156, 128), "casme_sq": (144, 128), "smic": (96, 80)}
RAW_SIZE = (240, 320)

# Clip lengths onset->offset in frames (inclusive), drawn uniformly: <= 0.5 s at the
# dataset's frame rate for micro-expressions (CAS(ME)^2 macro-expressions up to 1.5 s).
CLIP_FRAMES = {"casme": (12, 30), "casme2": (40, 100), "casme_sq": (6, 15), "smic": (20, 50)}
CASME_SQ_MACRO_FRAMES = (15, 45)

# Emotion -> AU combinations (one drawn per clip): the emotions' prototypes in FACS (Ekman and
# Friesen, Facial Action Coding System, 1977; the paper's ref. [4]).
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
    def cropped(height: int, width: int) -> Frame:
        # a tight face crop like the releases' Cropped/ folders: brows to chin fill the frame
        return Frame(height, width, width / 2, height * 0.47, width * 0.47, height * 0.50)

    @staticmethod
    def raw(height: int, width: int, face: Face, rng: np.random.Generator) -> Frame:
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
        nostril = _soft(np.sqrt(((u - s * face.nose_w * 0.75) / 0.045) ** 2 + ((v - face.nose_v) / 0.025) ** 2) - 1,
                        0.25)
        img *= (1 - 0.55 * nostril)[..., None]
    under = np.exp(-((u / 0.12) ** 2 + ((v - face.nose_v - 0.06) / 0.03) ** 2))
    img *= (1 - 0.15 * under)[..., None]
    # mouth: lips, the dark line between them, shadow under the lower lip
    mu = u / face.mouth_w
    upper = (_soft(np.sqrt(mu ** 2 + ((v - face.mouth_v + face.lip_t / 2) / face.lip_t) ** 2) - 1, 0.08)
             * (v < face.mouth_v))
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
        curve = (face.brow_v - face.brow_arch * (1 - bu ** 2)
                 + face.brow_tilt * (1 - (s * bu + 1) / 2) * 2 - face.brow_tilt)
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

def _scaled(count: int, scale: float) -> int:
    """``count`` at full size; a smaller twin keeps ``scale`` of it, at least one."""
    return int(count) if scale >= 1 else max(1, int(round(count * scale)))


def _how_many(share: float, n: int, scale: float) -> int:
    """Clips of ``n`` that carry an anomaly of the release's ``share``: ``share * n``; a
    smaller twin keeps at least one, so that every anomaly is there to be tested."""
    count = int(round(share * n))
    return count if scale >= 1 else max(1, count)


def _class_plan(name: str, scale: float) -> list[str]:
    """One class per clip (times ``scale``, at least 1 per class): Table II's counts for
    CASME-I and CASME-II; for CAS(ME)^2 the release's count per stimulus category
    (:data:`CASME_SQ_EMOTIONS`: anger 102, disgust 88, happy 167, which Table II printed as
    101/89/151); for SMIC the paper's five classes, the 71 clips of the twin's labels file
    (its other 93 clips have no five-class label: :func:`_smic_items`)."""
    if name == "casme_sq":
        counts = {c: sum(words.values()) for c, words in CASME_SQ_EMOTIONS.items()}
    else:
        from .paper import table

        t2 = table("table2").set_index("emotion")
        counts = {c: int(t2.loc[c, name]) for c in spec(name).classes}
    plan = []
    for c, count in counts.items():
        plan += [c] * _scaled(count, scale)
    return plan


def _split(total: int, weights: dict) -> dict:
    """``total`` shared out in proportion to ``weights`` (largest remainders, ties in order);
    exactly ``weights`` when they sum to ``total``."""
    s = sum(weights.values())
    share = {k: total * w / s for k, w in weights.items()}
    out = {k: int(np.floor(v)) for k, v in share.items()}
    keys = list(share)
    for k in sorted(keys, key=lambda k: (out[k] - share[k], keys.index(k)))[: total - sum(out.values())]:
        out[k] += 1
    return out


def _assign_subjects(n_clips: int, n_subjects: int, rng) -> np.ndarray:
    """Uneven clips per subject (as in the releases), every subject at least one clip when
    there are enough clips."""
    weights = rng.dirichlet(np.full(n_subjects, 2.0))
    first = np.arange(min(n_clips, n_subjects))
    rest = rng.choice(n_subjects, size=n_clips - len(first), p=weights)
    out = np.concatenate([first, rest])
    rng.shuffle(out)
    return out


def _encode(ext: str, frame_rgb: np.ndarray, where: object = "a frame") -> bytes:
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext == ".jpg" else []
    ok, buf = cv2.imencode(ext, frame_rgb[..., ::-1], params)
    if not ok:
        raise OSError(f"{where}: could not encode the frame as {ext}")
    return buf.tobytes()


def _write_image(path: Path, frame_rgb: np.ndarray):
    path.write_bytes(_encode(path.suffix.lower(), frame_rgb, path))


def write_xlsx(path: Path, sheets: list[tuple[str, list | None, list[list]]]):
    """A byte-identical .xlsx for the same content: ``sheets`` = (title, header or None,
    rows). openpyxl stamps the save time into the file and the zip entries; both are pinned."""
    import datetime

    from openpyxl import Workbook

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


def write_xls(path: Path, sheets: list[tuple[str, list | None, list[list]]]):
    """An old-format .xls (BIFF8, xlwt; CASME-I's format), same arguments as
    :func:`write_xlsx`; ``None`` leaves a cell blank. xlwt stamps no time: same content,
    same bytes."""
    import xlwt

    wb = xlwt.Workbook()
    for title, header, rows in sheets:
        ws = wb.add_sheet(title)
        lines = ([header] if header is not None else []) + list(rows)
        for i, row in enumerate(lines):
            for j, value in enumerate(row):
                if value is not None:
                    ws.write(i, j, value)
    raw = io.BytesIO()
    wb.save(raw)
    path.write_bytes(raw.getvalue())


def _au_cell(code: str):
    """An AU code as a sheet cell: a lone AU is a number, as a spreadsheet stores a typed 4."""
    return int(code) if code.isdigit() else code


# --- CASME (I): Yan et al., FG 2013; the layout as public readers of the release show
CASME_HEADER = ["Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None, "Duration",
                None, "AU", "Emotion"]
# The headers of columns 3, 8 and 10 are not known publicly: left blank, and so are their
# cells. ApexF2 (a second apex, where coded) is left blank: which rows have one is not known.
# Duration: its unit is not known publicly; the twin writes milliseconds at 60 fps.
CASME_SECTION_A = 7                 # Section A: subjects 1-7; Section B: 8-19
CASME_WORDS = {"tension": "tense", "contempt": "comtempt"}    # the release's spellings [sic]
CASME_SHARES = {
    "no_suffix": 0.1,    # Filenames like EP10 (no _n): the release has some; the share is not known
    "img": 0.1,          # raw clip folders with img1.jpg, ... instead of EP01_5-1.jpg
    "padded": 0.2,       # rows whose frame numbers are zero-padded (EP01_5-001.jpg)
    "orphan": 0.03,      # clip folders without a sheet row (folder-without-row)
    "short": 0.02,       # rows whose offset runs past the frames on disk (frames-missing)
}

# --- CASME II: Yan et al., PLoS ONE 2014
CASME2_SHEET = "CASME2-coding-20140508.xlsx"
CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                 "Action Units", "Estimated Emotion"]
CASME2_APEX_SLASH = ("sub04", "EP12_01f")           # the release's one ApexFrame '/'
CASME2_SHORT = ("sub16", "EP01_08", 73, 110, 96)    # coded 73-110, its frames stop at 96

# --- CAS(ME)^2: Qu et al., IEEE TAC 2017
CASME_SQ_SHEET = "CAS(ME)^2code_final.xlsx"
CASME_SQ_FIRST_SHEET = "CASMEcode_final"
# naming rule1: participant index i + 1 -> folder s<N> (folder number N)
CASME_SQ_SUBJECTS = (15, 16, 19, 20, 21, 22, 23, 24, 25, 26, 27, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 40)
# naming rule2: code, video name; the raw folders' descriptive names are in no sheet
CASME_SQ_VIDEOS = (("0101", "disgust1", "disgustingteeth"), ("0102", "disgust2", "eatingworms"),
                   ("0401", "anger1", "girlcrashing"), ("0402", "anger2", "beatingpregnantwoman"),
                   ("0502", "happy1", "funnyerrors"), ("0503", "happy2", "unnyfarting"),     # [sic]
                   ("0505", "happy3", "funnyinnovations"), ("0507", "happy4", "climbingthewall"),
                   ("0508", "happy5", "funnydunkey"))
CASME_SQ_CATEGORY = {"anger": "anger", "disgust": "disgust", "happiness": "happy"}   # class -> name prefix
CASME_SQ_MISNAMED = ("s19", "0502", "23_0502funnyerrors")   # the release's misnumbered raw folder
# Expressions per stimulus category and emotion column: the release's totals (anger 102,
# disgust 88, happy 167; negative 126, positive 124, others 82, surprise 25). How the emotion
# column splits within a category is not published: this split only keeps both totals.
CASME_SQ_EMOTIONS = {
    "anger": {"negative": 68, "positive": 3, "others": 23, "surprise": 8},
    "disgust": {"negative": 58, "positive": 2, "others": 20, "surprise": 8},
    "happiness": {"negative": 0, "positive": 119, "others": 39, "surprise": 9},
}
CASME_SQ_MICRO = {"anger": 17, "disgust": 18, "happiness": 22}   # the release: 57 micro, 300 macro
# The emotion column drives the rendered AUs (negative: the video's own category, anger or disgust)
CASME_SQ_RENDER = {"positive": "happiness", "surprise": "surprise", "others": "others"}
# Self-report: free words in the release (anger, happiness, sadness, helpless, typos such as
# happyiness); the twin draws from these per stimulus category; the real mix is not published.
CASME_SQ_SELF_REPORT = {"anger": ("anger", "anger", "anger", "sadness", "helpless"),
                        "disgust": ("disgust", "disgust", "disgust", "helpless"),
                        "happiness": ("happiness",) * 19 + ("happyiness",)}
# AU cells written otherwise than "a+b" (the release has a few of each); rates not published
CASME_SQ_AU_VARIANTS = {"NULL": 0.02, "comma": 0.02, "or": 0.01}
# The sheet's anomalies at full size, with the release's rows where the twin has them:
# offset 0 in 44 rows; apex 0 once (participant 17, anger1_1); apex after offset in three rows
CASME_SQ_OFFSET0 = 44
CASME_SQ_APEX0 = ((17, "anger1_1"),)
CASME_SQ_APEX_AFTER = ((11, "disgust1_5"), (14, "happy2_1"), (15, "anger1_12"))
CASME_SQ_NO_CROP_SHARE = 0.015      # expressions without a cropped folder (folder-missing)
# Frames of a long video: neutral stretches before the first expression, between two and after
# the last (the release's videos run minutes: frame numbers reach the thousands)
CASME_SQ_LEAD, CASME_SQ_GAP, CASME_SQ_TAIL = (5, 600), (10, 120), (10, 60)
CASME_SQ_NEUTRAL_LOOP = 8           # raw layout: neutral stretches repeat this many rendered frames

# --- SMIC-HS: Li et al., FG 2013
SMIC_SUBJECTS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15, 18, 19, 20)
SMIC_FOLDER_COUNTS = {"negative": 70, "positive": 51, "surprise": 43}       # the release's 164 clips
SMIC_FIVE_IN = {"disgust": "negative", "fear": "negative", "sadness": "negative", "happiness": "positive",
                "surprise": "surprise"}
SMIC_SKIP_SHARE = 0.3               # clips whose frame numbers skip one
# non_micro/: a few clips per subject that are not micro-expressions; their count, length and
# inner layout are not documented publicly: the twin writes 1-3 short flat folders of frames,
# sN/non_micro/sN_n1/, with neutral faces.
SMIC_NON_MICRO, SMIC_NON_MICRO_FRAMES = (1, 3), (8, 16)

SHEET_NAMES = {"casme": tuple(f"{a}/{b}/{b}.xls" for a, b in CASME_SECTIONS), "casme2": CASME2_SHEET,
               "casme_sq": CASME_SQ_SHEET}


def _sheet_emotion(name: str, emotion: str) -> str:
    """The word the release's sheet uses for a class (CASME-I: tense, comtempt [sic])."""
    return CASME_WORDS.get(emotion, emotion) if name == "casme" else emotion


def generate(name: str, root: str | Path, seed: int = 0, amplitude: float = DEFAULT_AMPLITUDE,
             layout: str = "cropped", scale: float = 1.0, overwrite: bool = False,
             progress: bool = True, on_error: str = "skip", label_set: str = "table2"):
    """Write the twin of dataset ``name`` under ``root`` (its own folder, as the release
    unpacks) and return what :func:`learnet_lite.datasets.load` returns for it, read with
    ``on_error`` and ``label_set``; ``on_error`` defaults to ``"skip"`` here, since a twin
    carries the release's defects (named in ``df.attrs["findings"]``).

    ``scale`` < 1 keeps that share of each class (at least one clip; for smoke runs).
    A complete twin with the same settings already at ``root`` is reused, not rewritten; one
    made with the same settings by an older generator (:data:`TWIN_VERSION`) is regenerated.
    The twin is built in a temporary folder beside ``root`` and renamed into place at the
    end (:func:`files.temp_folder_beside`), with the marker file written last, so a killed run
    leaves nothing ``load`` reads; the work folders of killed runs are removed at the next
    start, a reuse included (:func:`files.remove_stale_partials`). An existing folder that is
    not a twin of ours is never touched.
    """
    s = spec(name)
    if layout not in ("cropped", "raw"):
        raise ValueError(f"layout={layout!r}: expected 'cropped' or 'raw'")
    if not 0 < scale <= 1:
        raise ValueError(f"scale={scale}: expected a share in (0, 1]")
    if not 0 <= amplitude <= 20:
        raise ValueError(f"amplitude={amplitude}: expected a peak displacement of 0..20 pixels")
    root = Path(root)
    remove_stale_partials(root)
    settings = {"dataset": s.name, "seed": int(seed), "amplitude": float(amplitude), "layout": layout,
                "scale": float(scale), "version": TWIN_VERSION}
    if root.exists():
        marker = root / MARKER
        if not marker.is_file():
            raise FileExistsError(f"{root} exists and is not a synthetic twin made here "
                                  f"(no {MARKER}); refusing to touch it")
        old = json.loads(marker.read_text())
        if old.get("settings") == settings:
            return load(name, root, layout=layout, on_error=on_error, label_set=label_set)
        older = {**(old.get("settings") or {}), "version": TWIN_VERSION} == settings
        if not overwrite and not older:   # a twin of an older generator is replaced unasked
            raise FileExistsError(f"{root} holds a twin made with {old.get('settings')}, not {settings}; "
                                  "pass overwrite=True (--force) to replace it")
    started = time.perf_counter()
    with temp_folder_beside(root) as tmp:
        n_frames = WRITERS[name](tmp, seed, amplitude, layout, scale, progress)
        manifest = {"settings": settings, "frames": n_frames, "note": "synthetic twin made by "
                    "learnet_lite.synthetic; not the licensed dataset",
                    "seconds": round(time.perf_counter() - started, 1)}
        (tmp / MARKER).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return load(name, root, layout=layout, on_error=on_error, label_set=label_set,
                verify="none")   # just written; tests verify fully


def is_complete(root: str | Path) -> bool:
    """True if ``root`` holds a finished twin (its marker was written last)."""
    return (Path(root) / MARKER).is_file()


def twin_manifest(root: str | Path) -> dict:
    return json.loads((Path(root) / MARKER).read_text())


class _Plan:
    """Per-dataset drawing of subjects and clips, shared by the four writers: ``items`` (one
    per clip, shuffled; default :func:`_class_plan`) and ``subject_of`` (a subject index each)."""

    def __init__(self, name, seed, amplitude, layout, scale, progress, items=None):
        from tqdm import tqdm

        self.name, self.s = name, spec(name)
        self.rng = np.random.default_rng([seed, sorted(("casme", "casme2", "casme_sq", "smic")).index(name)])
        self.amplitude, self.layout, self.seed = amplitude, layout, seed
        self.size = RAW_SIZE if layout == "raw" else CROPPED_SIZE[name]
        self.items = list(_class_plan(name, scale) if items is None else items)
        self.rng.shuffle(self.items)
        self.subject_of = [int(k) for k in _assign_subjects(len(self.items), self.s.subjects, self.rng)]
        self._subjects: dict[int, Subject] = {}
        self.bank = noise_bank(self.rng, *self.size)
        self.bar = tqdm(total=len(self.items), desc=f"twin {name}", unit="clip", disable=not progress)
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

    def pick(self, count: int, among, prefer=()) -> list:
        """``count`` distinct entries of ``among``: those of ``prefer`` first (in its order),
        then drawn at random."""
        among = list(among)
        chosen = [x for x in prefer if x in among][:count]
        rest = [x for x in among if x not in chosen]
        order = self.rng.permutation(len(rest))
        return chosen + [rest[i] for i in order[: max(0, count - len(chosen))]]


def _neutral(p: _Plan, k: int, n: int) -> np.ndarray:
    """Neutral frames (no AU) with the same nuisances: the stretches of a long video between
    expressions, SMIC's non_micro/ clips."""
    return render_clip(p.subject(k), "4", n, 0, p.s.fps, 0.0, p.rng, jpeg=False, bank=p.bank)


def _unique(rng, used: set, subject: str, draw) -> str:
    while True:
        clip = draw(rng)
        if (subject, clip) not in used:
            used.add((subject, clip))
            return clip


def _casme_name(rng) -> str:
    ep, n = int(rng.integers(1, 20)), int(rng.integers(1, 10))
    return f"EP{ep:02d}" if rng.random() < CASME_SHARES["no_suffix"] else f"EP{ep:02d}_{n}"


def _casme2_name(rng) -> str:
    ep, n = int(rng.integers(1, 20)), int(rng.integers(1, 10))
    return f"EP{ep:02d}_{n:02d}" + ("f" if rng.random() < 0.3 else "")


def _casme_frame_names(rng, clip: str, numbers, layout: str) -> list[str]:
    """CASME-I frames: ``EP01_5-1.jpg`` (raw; some folders ``img1.jpg``), ``reg_EP01_5-1.jpg``
    (cropped); some rows zero-padded (``EP01_5-001.jpg``)."""
    img = rng.random() < CASME_SHARES["img"]
    pad = 3 if rng.random() < CASME_SHARES["padded"] else 0
    if layout == "raw" and img:
        return [f"img{j}.jpg" for j in numbers]
    prefix = "reg_" if layout == "cropped" else ""
    return [f"{prefix}{clip}-{j:0{pad}d}.jpg" for j in numbers]


def _casme_section_dir(root: Path, k: int) -> Path:
    a, b = CASME_SECTIONS[0 if k < CASME_SECTION_A else 1]
    return root / a / b


def _write_casme(root, seed, amplitude, layout, scale, progress):
    """CASME-I: two sections, each its .xls (Sheet1, one header row, 12 columns) and its clip
    folders subNN/<Filename>/ below it; raw and cropped frames told apart by ``reg_``."""
    p = _Plan("casme", seed, amplitude, layout, scale, progress)
    n = len(p.items)
    short = set(p.pick(_how_many(CASME_SHARES["short"], n, scale), range(n)))
    used: set = set()
    rows: dict = {section: [] for section in CASME_SECTIONS}
    for i, (emotion, k) in enumerate(zip(p.items, p.subject_of)):
        subject = f"sub{k + 1:02d}"
        clip = _unique(p.rng, used, subject, _casme_name)
        code, frames_n, apex = p.draw(emotion)
        onset = int(p.rng.integers(1, 300))
        offset = onset + frames_n - 1
        on_disk = int(p.rng.integers(max(1, frames_n // 3), frames_n)) if i in short else frames_n
        names = _casme_frame_names(p.rng, clip, range(onset, onset + on_disk), layout)
        p.write(_casme_section_dir(root, k) / subject / clip, names, p.clip(k, code, frames_n, apex)[:on_disk])
        duration_ms = int(round(frames_n * 1000 / p.s.fps))
        rows[CASME_SECTIONS[0 if k < CASME_SECTION_A else 1]].append(
            [k + 1, clip, None, onset, onset + apex, None, offset, None, duration_ms, None, _au_cell(code),
             _sheet_emotion("casme", emotion)])
        p.bar.update()
    # clip folders that no sheet row names
    classes = sorted(set(p.items))
    for _ in range(_how_many(CASME_SHARES["orphan"], n, scale)):
        k = int(p.rng.integers(p.s.subjects))
        subject = f"sub{k + 1:02d}"
        clip = _unique(p.rng, used, subject, _casme_name)
        code, frames_n, apex = p.draw(classes[int(p.rng.integers(len(classes)))])
        onset = int(p.rng.integers(1, 300))
        names = _casme_frame_names(p.rng, clip, range(onset, onset + frames_n), layout)
        p.write(_casme_section_dir(root, k) / subject / clip, names, p.clip(k, code, frames_n, apex))
    p.bar.close()
    for (a, b), section_rows in rows.items():
        section_rows.sort(key=lambda r: (r[0], r[1]))
        (root / a / b).mkdir(parents=True, exist_ok=True)
        write_xls(root / a / b / f"{b}.xls", [("Sheet1", CASME_HEADER, section_rows)])
    return p.frames_written


def _write_casme2(root, seed, amplitude, layout, scale, progress):
    """CASME II: one sheet row per clip; frames <Cropped|CASME2_RAW_selected>/subNN/<Filename>/;
    the release's one '/' apex and its one clip coded past its last frame."""
    p = _Plan("casme2", seed, amplitude, layout, scale, progress)
    folder, prefix = p.s.folders[layout][0], p.s.prefix[layout]
    n = len(p.items)

    def release_row(subject, exclude):   # the release's clip where the twin has that subject
        k = int(subject[3:]) - 1
        mine = [i for i in range(n) if p.subject_of[i] == k and i not in exclude]
        return p.pick(1, [i for i in range(n) if i not in exclude], prefer=mine[:1])

    short = release_row(CASME2_SHORT[0], ())
    slash = release_row(CASME2_APEX_SLASH[0], set(short))
    fixed = {}
    for i, (subject, name) in [(i, CASME2_SHORT[:2]) for i in short] + [(i, CASME2_APEX_SLASH) for i in slash]:
        if f"sub{p.subject_of[i] + 1:02d}" == subject:
            fixed[i] = name
    used = {(f"sub{p.subject_of[i] + 1:02d}", name) for i, name in fixed.items()}
    rows = []
    for i, (emotion, k) in enumerate(zip(p.items, p.subject_of)):
        subject = f"sub{k + 1:02d}"
        clip = fixed.get(i) or _unique(p.rng, used, subject, _casme2_name)
        if fixed.get(i) == CASME2_SHORT[1]:
            _, _, onset, offset, last = CASME2_SHORT
            code, frames_n, apex = p.draw(emotion, (offset - onset + 1,) * 2)
        else:
            code, frames_n, apex = p.draw(emotion)
            onset = int(p.rng.integers(1, 300))
            offset = onset + frames_n - 1
            last = int(p.rng.integers(onset + frames_n // 3, offset)) if i in short else offset
        names = [f"{prefix}img{j}.jpg" for j in range(onset, last + 1)]
        p.write(root / folder / subject / clip, names, p.clip(k, code, frames_n, apex)[: len(names)])
        rows.append([k + 1, clip, None, onset, "/" if i in slash else onset + apex, offset, None,
                     _au_cell(code), _sheet_emotion("casme2", emotion)])
        p.bar.update()
    p.bar.close()
    rows.sort(key=lambda r: (r[0], r[1]))
    write_xlsx(root / CASME2_SHEET, [("Sheet1", CASME2_HEADER, rows)])
    return p.frames_written


def _casme_sq_items(scale: float) -> list[tuple[str, str, bool]]:
    """(class = stimulus category, emotion column word, micro?) per expression: the release's
    counts (:data:`CASME_SQ_EMOTIONS`, :data:`CASME_SQ_MICRO`), shares kept when scaled."""
    items = []
    for category, words in CASME_SQ_EMOTIONS.items():
        total = sum(words.values())
        n = _scaled(total, scale)
        micro = CASME_SQ_MICRO[category] if scale >= 1 else int(round(CASME_SQ_MICRO[category] * n / total))
        k = 0
        for word, count in _split(n, words).items():
            for _ in range(count):   # micro-expressions spread evenly over the emotion words
                items.append((category, word, (k + 1) * micro // n > k * micro // n))
                k += 1
    return items


def _casme_sq_au_text(rng, code: str) -> tuple[str, str]:
    """(AU cell as written, AUs rendered): mostly the code itself; a few cells NULL, with
    commas (``4,24``) or an either-or (``14or23``, the first rendered)."""
    r = rng.random()
    v = CASME_SQ_AU_VARIANTS
    parts = code.split("+")
    if r < v["NULL"]:
        return "NULL", code
    if r < v["NULL"] + v["comma"] and len(parts) > 1:
        return ",".join(parts), code
    if r < v["NULL"] + v["comma"] + v["or"] and len(parts) > 1:
        return f"{parts[0]}or{parts[1]}", parts[0]
    return code, code


def _write_casme_sq(root, seed, amplitude, layout, scale, progress):
    """CAS(ME)^2: long videos per participant and stimulus (raw: rawpic/sN/N_<code><name>/,
    frames numbered from 1 along the video) and per-expression folders of the same numbers
    (cropped/N/<expression>/); one sheet book: expressions (no header), naming rule1, rule2."""
    p = _Plan("casme_sq", seed, amplitude, layout, scale, progress, items=_casme_sq_items(scale))
    n = len(p.items)
    videos_of = {c: [v for v in CASME_SQ_VIDEOS if v[1].startswith(prefix)] for c, prefix in CASME_SQ_CATEGORY.items()}
    video_of = [videos_of[c][int(p.rng.integers(len(videos_of[c])))] for c, _, _ in p.items]
    # the release's s19 has a 0502 video, in a folder misnumbered 23_...: the twin has one too
    s19 = CASME_SQ_SUBJECTS.index(int(CASME_SQ_MISNAMED[0][1:]))
    happy1 = next(v for v in CASME_SQ_VIDEOS if v[0] == CASME_SQ_MISNAMED[1])
    if not any(k == s19 and v == happy1 for k, v in zip(p.subject_of, video_of)):
        i = next((i for i, (c, _, _) in enumerate(p.items) if c == "happiness"), None)
        if i is not None:
            p.subject_of[i], video_of[i] = s19, happy1
    # one long video per participant and stimulus; expressions one after the other
    groups: dict = {}
    for i, (k, v) in enumerate(zip(p.subject_of, video_of)):
        groups.setdefault((k, CASME_SQ_VIDEOS.index(v)), []).append(i)
    timeline = {}        # item -> (participant index, expression, onset, apex, offset, AUs, frames, apex index)
    videos = {}          # (participant, video) -> (last frame of the long video, its items)
    for (k, v), members in sorted(groups.items()):
        t = int(p.rng.integers(*CASME_SQ_LEAD))
        placed = []
        for j, i in enumerate(members, start=1):
            category, word, micro = p.items[i]
            render = CASME_SQ_RENDER[word] if word != "negative" else \
                category if category in ("anger", "disgust") else "others"
            code, frames_n, apex = p.draw(render, None if micro else CASME_SQ_MACRO_FRAMES)
            onset = t + 1
            timeline[i] = (k + 1, f"{CASME_SQ_VIDEOS[v][1]}_{j}", onset, onset + apex, onset + frames_n - 1,
                           code, frames_n, apex)
            placed.append(i)
            t = onset + frames_n - 1 + int(p.rng.integers(*CASME_SQ_GAP))
        videos[(k, v)] = (t + int(p.rng.integers(*CASME_SQ_TAIL)), placed)
    # the sheet's anomalies (distinct rows), the release's own rows first where the twin has them
    key = {(timeline[i][0], timeline[i][1]): i for i in range(n)}
    rows_left = list(range(n))
    apex0 = p.pick(_how_many(len(CASME_SQ_APEX0) / 357, n, scale), rows_left,
                   [key[r] for r in CASME_SQ_APEX0 if r in key])
    rows_left = [i for i in rows_left if i not in apex0]
    after = p.pick(_how_many(len(CASME_SQ_APEX_AFTER) / 357, n, scale), rows_left,
                   [key[r] for r in CASME_SQ_APEX_AFTER if r in key])
    rows_left = [i for i in rows_left if i not in after]
    offset0 = p.pick(_how_many(CASME_SQ_OFFSET0 / 357, n, scale), rows_left)
    rows_left = [i for i in rows_left if i not in offset0]
    no_crop = set(p.pick(_how_many(CASME_SQ_NO_CROP_SHARE, n, scale), rows_left)) if layout == "cropped" else set()
    rows = []
    for i in range(n):
        part, expression, onset, apex_no, offset, code, frames_n, apex = timeline[i]
        category, word, micro = p.items[i]
        written, rendered = _casme_sq_au_text(p.rng, code)
        timeline[i] = timeline[i][:5] + (rendered, frames_n, apex)
        apex_cell = 0 if i in apex0 else apex_no
        offset_cell = 0 if i in offset0 else int(p.rng.integers(onset, apex_no)) if i in after else offset
        words = CASME_SQ_SELF_REPORT[category]
        rows.append([part, expression, onset, apex_cell, offset_cell, _au_cell(written), word,
                     "micro-expression" if micro else "macro-expression", words[int(p.rng.integers(len(words)))]])
    # frames
    for (k, v), (last, members) in sorted(videos.items()):
        number = str(CASME_SQ_SUBJECTS[k])
        code_v, _, desc = CASME_SQ_VIDEOS[v]
        if layout == "cropped":
            for i in members:
                part, expression, onset, _, offset, code, frames_n, apex = timeline[i]
                if i not in no_crop:
                    p.write(root / "cropped" / number / expression,
                            [f"img{j:03d}.jpg" for j in range(onset, offset + 1)], p.clip(k, code, frames_n, apex))
                p.bar.update()
            continue
        folder = f"{number}_{code_v}{desc}"
        if (f"s{number}", code_v) == CASME_SQ_MISNAMED[:2]:
            folder = CASME_SQ_MISNAMED[2]
        _write_long_video(p, k, root / "rawpic" / f"s{number}" / folder, last, [timeline[i] for i in members])
        p.bar.update(len(members))
    p.bar.close()
    write_xlsx(root / CASME_SQ_SHEET, [
        (CASME_SQ_FIRST_SHEET, None, sorted(rows, key=lambda r: (r[0], _video_order(r[1])))),
        (CASME_SQ_SHEETS[0], None, [[s, f"s{s}", k + 1] for k, s in enumerate(CASME_SQ_SUBJECTS)]),
        (CASME_SQ_SHEETS[1], None, [[code_v, name] for code_v, name, _ in CASME_SQ_VIDEOS]),
    ])
    return p.frames_written


def _video_order(expression: str) -> tuple:
    video, number = expression.rsplit("_", 1)
    return [v[1] for v in CASME_SQ_VIDEOS].index(video), int(number)


def _write_long_video(p: _Plan, k: int, folder: Path, last: int, expressions):
    """A raw long video: frames 1..last, the expressions at their onsets, neutral frames
    between them (a loop of :data:`CASME_SQ_NEUTRAL_LOOP` rendered frames; repeats are hard
    links where the file system has them, so they take no room)."""
    folder.mkdir(parents=True, exist_ok=True)
    busy = {}
    for _, _, onset, _, offset, code, frames_n, apex in expressions:
        for j, frame in zip(range(onset, offset + 1), p.clip(k, code, frames_n, apex)):
            busy[j] = frame
    loop = [_encode(".jpg", f) for f in _neutral(p, k, CASME_SQ_NEUTRAL_LOOP)]
    first: dict = {}
    for j in range(1, last + 1):
        path = folder / f"img{j:03d}.jpg"
        if j in busy:
            _write_image(path, busy[j])
        else:
            slot = j % len(loop)
            if slot in first:
                try:
                    os.link(first[slot], path)
                except OSError:
                    path.write_bytes(loop[slot])
            else:
                path.write_bytes(loop[slot])
                first[slot] = path
    p.frames_written += last


def _smic_items(scale: float) -> list[tuple[str, str | None]]:
    """(folder label, five-class label or None) per clip: the 71 clips of the paper's five
    classes inside their folders, and the release's other clips of each folder unlabelled."""
    labelled = [(SMIC_FIVE_IN[c], c) for c in _class_plan("smic", scale)]
    full = [SMIC_FIVE_IN[c] for c in _class_plan("smic", 1.0)]
    items = list(labelled)
    for folder, total in SMIC_FOLDER_COUNTS.items():
        rest = total - full.count(folder)
        items += [(folder, None)] * (rest if scale >= 1 else int(round(rest * scale)))
    return items


def _write_smic(root, seed, amplitude, layout, scale, progress):
    """SMIC-HS: folders sN/micro/<negative|positive|surprise>/sN_<code>_NN/ (some clips skip a
    frame number) and sN/non_micro/; the paper's five classes go to a separate labels file."""
    p = _Plan("smic", seed, amplitude, layout, scale, progress, items=_smic_items(scale))
    base = root / p.s.folders[layout][0]
    prefix = p.s.prefix[layout]
    counters: dict = {}
    five = []
    for (label, five_class), k in zip(p.items, p.subject_of):
        emotion = five_class or {"positive": "happiness", "surprise": "surprise"}.get(label) or \
            SMIC_NEGATIVE[int(p.rng.integers(len(SMIC_NEGATIVE)))]
        code, n, apex = p.draw(emotion)
        sub = f"s{SMIC_SUBJECTS[k]}"
        counters[(sub, label)] = counters.get((sub, label), 0) + 1
        clip = f"{sub}_{SMIC_FOLDER_CODES[label]}_{counters[(sub, label)]:02d}"
        start = int(p.rng.integers(1, 5000))
        numbers = list(range(start, start + n))
        frames = p.clip(k, code, n, apex)
        if p.rng.random() < SMIC_SKIP_SHARE:        # dropped frames: numbers missing inside the clip
            drop = int(p.rng.integers(2, n - 2))
            numbers.pop(drop)
            frames = np.delete(frames, drop, axis=0)
        p.write(base / sub / "micro" / label / clip, [f"{prefix}image{j:06d}.bmp" for j in numbers], frames)
        if five_class is not None:
            five.append((sub, clip, five_class))
        p.bar.update()
    # non_micro/ of every subject that has clips
    for k in sorted(set(p.subject_of)):
        sub = f"s{SMIC_SUBJECTS[k]}"
        lo, hi = SMIC_NON_MICRO if scale >= 1 else (1, 1)
        for j in range(1, int(p.rng.integers(lo, hi + 1)) + 1):
            n = int(p.rng.integers(SMIC_NON_MICRO_FRAMES[0], SMIC_NON_MICRO_FRAMES[1] + 1))
            start = int(p.rng.integers(1, 5000))
            p.write(base / sub / "non_micro" / f"{sub}_n{j}",
                    [f"{prefix}image{x:06d}.bmp" for x in range(start, start + n)], _neutral(p, k, n))
    p.bar.close()
    lines = ["# SMIC five-class labels (Table II) of the SYNTHETIC twin. Not part of the SMIC release;",
             "# a licensed copy needs this file from whoever holds the paper's 5-class labels.",
             "subject,clip,emotion"] + [f"{a},{b},{c}" for a, b, c in sorted(five)]
    (root / SMIC_5CLASS_FILE).write_text("\n".join(lines) + "\n")
    return p.frames_written


WRITERS = {"casme": _write_casme, "casme2": _write_casme2, "casme_sq": _write_casme_sq, "smic": _write_smic}


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


def amplitude_dial(amplitudes, at: float | None = None, seed: int = 0, subjects: int = 12):
    """:func:`frame_vs_motion` at each amplitude of ``amplitudes`` (and at ``at``, the twins'
    amplitude, when it is not among them), in increasing order -> DataFrame indexed by
    ``amplitude_px``: the accuracy of the ``apex frame``, the ``mean frame`` and the
    ``dynamic image``, and ``chance``."""
    import pandas as pd

    dial = [float(a) for a in amplitudes]
    if at is not None and at not in dial:
        dial.append(at)
    rows = []
    for a in sorted(dial):
        acc = frame_vs_motion(a, seed=seed, subjects=subjects)
        rows.append({"amplitude_px": a, "apex frame": acc["apex"], "mean frame": acc["mean"],
                     "dynamic image": acc["dynamic"], "chance": acc["chance"]})
    return pd.DataFrame(rows).set_index("amplitude_px")


def dial_accuracies(dial, amplitude: float) -> dict:
    """The accuracies chapter 2 cites from :func:`amplitude_dial`, to three decimals: at
    ``amplitude`` (``acc_apex``, ``acc_mean``, ``acc_dynamic``, ``chance``) and at the dial's
    smallest amplitude (``dial_low``, ``dial_low_apex``, ``dial_low_dynamic``)."""
    at, low = dial.loc[amplitude], dial.iloc[0]
    return {"acc_apex": round(float(at["apex frame"]), 3), "acc_mean": round(float(at["mean frame"]), 3),
            "acc_dynamic": round(float(at["dynamic image"]), 3), "chance": round(float(at["chance"]), 3),
            "dial_low": float(dial.index[0]), "dial_low_apex": round(float(low["apex frame"]), 3),
            "dial_low_dynamic": round(float(low["dynamic image"]), 3)}
