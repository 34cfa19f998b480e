"""Dynamic images: a video summarised as one image that ranks its frames (Sec. III-A).

The paper builds its dynamic images with rank pooling (Fernando et al. [28]): the time
average φ_t of the frame features (Eq. 1) is scored by ψ(t|d) = <d, φ_t> (Eq. 2), and d is
the RankSVM solution (Eqs. 3-4) that orders those scores in time. That ``d``, reshaped to the
frame's shape, is the dynamic image (``method="exact"``).

Bilen et al. [27] showed that one gradient step of Eq. 4 from d = 0 gives a closed form, a
fixed weighted sum of the frames: d ∝ Σ_t α_t F_t (``method="approximate"``), with

    α_t = 2(T - t + 1) - (T + 1)(H_T - H_{t-1}) = Σ_{i=t..T} (2i - T - 1) / i,

H_t the t-th harmonic number. These weights sum to 0, so a still video gives a zero image.
The authors' public code uses Σ_{i=t..T} (2i - T) / i instead (``variant="learnet"``): the
missing ``-1`` adds H_T - H_{t-1} to every weight, a positive, decreasing term that sums to
T, so a weighted mean of the frames (their *appearance*) leaks into every dynamic image.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np

VARIANTS = ("bilen", "learnet")
METHODS = ("approximate", "exact")


def rank_pooling_weights(T: int, variant: str = "bilen") -> np.ndarray:
    """The T approximate rank pooling weights α_1..α_T (float64), in time order.

    ``"bilen"``: α_t = 2(T−t+1) − (T+1)(H_T − H_{t−1}) (Bilen et al. 2016, Eq. 5); they sum
    to 0; for T = 1 the formula gives 0, and we return [1] so a one-frame clip is its frame.
    ``"learnet"``: α_t = Σ_{i=t..T} (2i − T)/i, the weights of the authors' public code;
    they sum to T (see the module docstring).
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T: expected a positive integer number of frames, got {T!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
    T = int(T)
    if T == 1:
        return np.ones(1)
    i = np.arange(1, T + 1, dtype=np.float64)
    # Suffix sums Σ_{i=t..T} f(i), computed right to left.
    if variant == "bilen":
        return np.ascontiguousarray(np.cumsum(((2 * i - T - 1) / i)[::-1])[::-1])
    return np.ascontiguousarray(np.cumsum(((2 * i - T) / i)[::-1])[::-1])


def dynamic_image(frames, method: str = "approximate", variant: str = "bilen", *,
                  dtype=np.float32, **exact_options):
    """The dynamic image of a clip, or of a batch of clips.

    ``frames``: a numpy array or torch tensor, (T, H, W) or (T, H, W, C) for one clip, or
    (N, T, H, W, C) for a batch, ordered in time along T; any real or uint8 dtype.
    Returns a float image of shape (H, W[, C]) (or (N, H, W, C)): numpy in, numpy out;
    a tensor in gives a tensor on the same device.

    ``method="approximate"``: Σ_t α_t F_t with ``rank_pooling_weights(T, variant)``, one
    matrix product over time. ``method="exact"``: rank pooling solved as in Fernando et al.
    (see :func:`exact_rank_pooling`, whose keyword options pass through).
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
    is_torch = _is_tensor(frames)
    ndim = frames.ndim
    if ndim not in (3, 4, 5):
        raise ValueError(
            f"frames: expected (T,H,W), (T,H,W,C) or (N,T,H,W,C), got shape {tuple(frames.shape)}"
        )
    if frames.shape[-4 if ndim == 5 else 0] < 1 or any(s < 1 for s in frames.shape):
        raise ValueError(f"frames: expected at least one frame of non-zero size, got shape {tuple(frames.shape)}")
    if method == "exact":
        if exact_options.get("variant") is not None:
            raise ValueError("variant applies to the approximate method only")
        array = frames.detach().cpu().numpy() if is_torch else np.asarray(frames)
        clips = array if ndim == 5 else array[None]
        out = np.stack([exact_rank_pooling(c, **exact_options) for c in clips]).astype(dtype)
        out = out if ndim == 5 else out[0]
        if is_torch:
            import torch

            return torch.from_numpy(out).to(frames.device)
        return out
    if exact_options:
        raise TypeError(f"options {sorted(exact_options)} apply to method='exact' only")
    if is_torch:
        return _approximate_torch(frames, variant, dtype)
    return _approximate_numpy(np.asarray(frames), variant, dtype)


def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch")


def _approximate_numpy(frames: np.ndarray, variant: str, dtype) -> np.ndarray:
    batched = frames.ndim == 5
    clips = frames if batched else frames[None]
    N, T = clips.shape[:2]
    image_shape = clips.shape[2:]
    weights = rank_pooling_weights(T, variant).astype(dtype)
    out = np.empty((N,) + image_shape, dtype=dtype)
    # Convert and multiply a block of pixels at a time: the float copy of a (T, block) slice
    # stays in cache, so each uint8 frame is read from memory once, not once to convert the
    # whole clip and again to pool it (benchmarks/bench_dynamic.py times both).
    block = int(np.clip(2**17 // T, 256, 16384))

    def pool(n: int) -> None:
        buffer = np.empty((T, block), dtype=dtype)
        flat = clips[n].reshape(T, -1)
        dest = out[n].reshape(-1)
        for start in range(0, flat.shape[1], block):
            stop = min(start + block, flat.shape[1])
            chunk = buffer[:, : stop - start]
            np.copyto(chunk, flat[:, start:stop], casting="unsafe")
            np.matmul(weights, chunk, out=dest[start:stop])

    workers = min(N, _cores())
    if workers > 1:  # clips on separate cores: numpy's copy and matmul release the GIL
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool_:
            list(pool_.map(pool, range(N)))
    else:
        for n in range(N):
            pool(n)
    return out if batched else out[0]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _approximate_torch(frames, variant: str, dtype):
    import torch

    torch_dtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    weights = torch.as_tensor(rank_pooling_weights(frames.shape[-4 if frames.ndim == 5 else 0], variant),
                              dtype=torch_dtype, device=frames.device)
    x = frames.to(torch_dtype)
    time_dim = 1 if frames.ndim == 5 else 0
    return torch.tensordot(x.movedim(time_dim, -1), weights, dims=1)


def time_varying_mean(frames: np.ndarray) -> np.ndarray:
    """φ_t = (1/t) Σ_{τ≤t} σ(F_τ), Eq. 1, for a (T, ...) array of frame features."""
    frames = np.asarray(frames, dtype=np.float64)
    counts = np.arange(1, frames.shape[0] + 1, dtype=np.float64).reshape((-1,) + (1,) * (frames.ndim - 1))
    return np.cumsum(frames, axis=0) / counts


def signed_sqrt(x: np.ndarray) -> np.ndarray:
    """sign(x)·sqrt(|x|), the non-linearity Fernando et al. apply to the features."""
    return np.sign(x) * np.sqrt(np.abs(x))


def exact_rank_pooling(frames, *, solver: str = "ranksvm", C: float = 1.0,
                       nonlinearity: str | None = None, scale: float | None = None,
                       max_iter: int = 20000) -> np.ndarray:
    """Rank pooling of one clip, solved rather than approximated (Eqs. 1-4).

    Features σ(F_t) are the frame's pixels (divided by ``scale``, 255 for uint8 input);
    φ_t is their time-varying mean (Eq. 1), optionally passed through ``signed_sqrt``.
    ``solver="ranksvm"`` solves Eq. 4 as written: a linear SVM without bias on the pairwise
    differences φ_l − φ_t (l > t), which must score > 0 (Eq. 2's order); ``C`` weighs the
    hinge terms against the quadratic regulariser (C ∝ 1/δ). ``solver="svr"`` is the
    VideoDarwin variant of Fernando et al.: a linear SVR regressing t from φ_t.
    Returns d, reshaped to one frame's shape (float64).
    """
    from sklearn.svm import LinearSVC, LinearSVR

    frames = np.asarray(frames)
    if frames.ndim not in (3, 4):
        raise ValueError(f"frames: expected (T,H,W) or (T,H,W,C) for one clip, got shape {frames.shape}")
    T = frames.shape[0]
    if T < 2:
        raise ValueError(f"frames: exact rank pooling needs at least 2 frames to rank, got {T}")
    if solver not in ("ranksvm", "svr"):
        raise ValueError(f"solver: expected 'ranksvm' or 'svr', got {solver!r}")
    if nonlinearity not in (None, "ssr"):
        raise ValueError(f"nonlinearity: expected None or 'ssr' (signed square root), got {nonlinearity!r}")
    if scale is None:
        scale = 255.0 if frames.dtype == np.uint8 else 1.0
    phi = time_varying_mean(frames.reshape(T, -1) / scale)
    if nonlinearity == "ssr":
        phi = signed_sqrt(phi)
    if solver == "svr":
        model = LinearSVR(C=C, epsilon=0.0, fit_intercept=True, loss="squared_epsilon_insensitive",
                          dual="auto", max_iter=max_iter, random_state=0)
        model.fit(phi, np.arange(1, T + 1, dtype=np.float64))
        return model.coef_.reshape(frames.shape[1:])
    later, earlier = np.triu_indices(T, k=1)[::-1]
    diffs = phi[later] - phi[earlier]
    # Both signs of every pair: the hinge loss is symmetric, so this only doubles Eq. 4's sum
    # (absorbed in C) and gives the two-class problem LinearSVC expects.
    X = np.concatenate([diffs, -diffs])
    y = np.concatenate([np.ones(len(diffs)), -np.ones(len(diffs))])
    model = LinearSVC(C=C, loss="hinge", fit_intercept=False, dual=True, max_iter=max_iter, random_state=0)
    model.fit(X, y)
    return model.coef_.reshape(frames.shape[1:])


def ranking_scores(frames, d) -> np.ndarray:
    """ψ(t|d) = <d, φ_t> for t = 1..T (Eq. 2): how a dynamic image scores each time step."""
    frames = np.asarray(frames)
    scale = 255.0 if frames.dtype == np.uint8 else 1.0
    phi = time_varying_mean(frames.reshape(frames.shape[0], -1) / scale)
    return phi @ np.asarray(d, dtype=np.float64).reshape(-1)


def ranking_accuracy(frames, d) -> float:
    """The fraction of frame pairs l > t that d orders as Eq. 2 asks, ψ(l|d) > ψ(t|d):
    1 for a perfect ranking, 0.5 for chance, 0 for the clip played backwards."""
    scores = ranking_scores(frames, d)
    later, earlier = np.triu_indices(len(scores), k=1)[::-1]
    return float(np.mean(scores[later] > scores[earlier]))


def to_uint8(image, mode: str = "minmax") -> np.ndarray:
    """A dynamic image for display or storage, uint8.

    ``"minmax"`` stretches the image's own range to 0..255, as the authors' code does
    (cv2.NORM_MINMAX). ``"symmetric"`` maps 0 to 128 and ±max|x| to 0/255, so "no change"
    stays mid-grey and two images' signs compare. A constant image gives all 0 (minmax) or
    all 128 (symmetric).
    """
    if _is_tensor(image):
        image = image.detach().cpu().numpy()
    x = np.asarray(image, dtype=np.float64)
    if mode == "minmax":
        lo, hi = x.min(), x.max()
        if hi - lo <= 0:
            return np.zeros(x.shape, np.uint8)
        return np.round((x - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    if mode == "symmetric":
        m = np.abs(x).max()
        if m <= 0:
            return np.full(x.shape, 128, np.uint8)
        return np.clip(np.round(128 + x * (127.0 / m)), 0, 255).astype(np.uint8)
    raise ValueError(f"mode: expected 'minmax' or 'symmetric', got {mode!r}")


# Frames decoded in a row, then pooled in a row: each step keeps its own code and data in
# cache, so pooling adds less to decoding than when the two alternate frame by frame; 16
# frames (4.6 MB of buffers at 280x340) is where longer groups stop gaining
# (benchmarks/bench_dynamic.py prints what pooling adds per group size).
FOLDER_GROUP = 16


def dynamic_image_from_folder(folder, variant: str = "bilen", dtype=np.float32) -> np.ndarray:
    """The approximate dynamic image of one clip folder, frames read in time order
    (:func:`learnet_lite.frames.iter_frames`, which checks every frame's size and
    channels against the first and names the file that differs); equal to
    ``dynamic_image(read_frames(folder), variant=variant)`` up to float rounding.

    No (T, H, W, C) clip is held: T is known from the listing, so Σ_t α_t F_t is
    accumulated as the frames are decoded, a few at a time, while they are still in cache.
    """
    import cv2

    from .frames import iter_frames, list_frames

    paths = list_frames(folder)
    weights = rank_pooling_weights(len(paths), variant)
    accumulate = np.float64 if np.dtype(dtype) == np.float64 else np.float32
    # OpenCV's fastest uint8 -> float multiply-add is the running average
    # A <- (1 - a) A + a F (cv2.accumulateWeighted; benchmarks/bench_dynamic.py times it
    # against cv2.addWeighted on uint8 + float). With c_j the partial sums of the weights in
    # the order the frames are added, a_j = α_j / c_j keeps A = (1/c_j) Σ_{i<=j} α_i F_i, so
    # c·A is the weighted sum.
    # Frame 1 is held out and added at the end (with it the bilen weights sum to 0, so the
    # last c_j would be 0); frames T..2 go backwards in time, so c_j are the suffix sums
    # Σ_{t>=k} α_t. α_t is negative before some t0 and positive from it on, so for k >= t0
    # they add positives, and for 2 <= k < t0 they equal Σα - Σ_{t<k} α_t > Σα >= 0: no c_j
    # is zero or negative (tested for T <= 500). The first frame read is still the one
    # every frame must match.
    rest = np.arange(len(paths) - 1, 0, -1)
    c = np.cumsum(weights[rest])
    alphas = (weights[rest] / c).tolist()
    frames = iter_frames([paths[0]] + [paths[t] for t in rest], channel_order="BGR", buffers=FOLDER_GROUP)
    first = next(frames).copy()
    image = np.zeros(first.shape, accumulate)
    for start in range(0, len(rest), FOLDER_GROUP):
        group = list(itertools.islice(frames, FOLDER_GROUP))
        for frame, alpha in zip(group, alphas[start:start + FOLDER_GROUP]):
            cv2.accumulateWeighted(frame, image, alpha)
    depth = cv2.CV_64F if accumulate is np.float64 else cv2.CV_32F
    cv2.addWeighted(image, c[-1] if len(c) else 0.0, first, weights[0], 0.0, dst=image, dtype=depth)
    # Pooling is linear, so OpenCV's BGR is flipped to RGB once, on the result (cvtColor
    # rather than a reversed-view copy, benchmarks/bench_dynamic.py times both; it takes
    # float32, not float64).
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.dtype == np.float32 else image[..., ::-1]
    return np.ascontiguousarray(image, dtype=dtype)


def derive_folder(src, dst, *, variant: str = "bilen", force: bool = False, progress: bool = True) -> list[Path]:
    """Write the dynamic image of every clip folder under ``src`` as a PNG under ``dst``.

    A clip folder is one that holds image frames; its PNG takes the folder's path relative
    to ``src`` (``sub01/EP02_01f`` -> ``dst/sub01/EP02_01f.png``). Existing PNGs are kept
    unless ``force``; each PNG is written to a temporary file and then moved into place.
    Returns the paths written.
    """
    import cv2
    from tqdm import tqdm

    from .files import replacing
    from .frames import IMAGE_SUFFIXES

    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: expected a folder of clip folders, found no such folder")
    clips = sorted({p.parent for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES})
    if not clips:
        raise ValueError(f"{src}: expected clip folders of image frames below it, found none")
    targets = [dst / (c.relative_to(src).as_posix() + ".png") if c != src else dst / (src.name + ".png")
               for c in clips]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise FileExistsError(
            f"{len(existing)} dynamic image(s) already exist, e.g. {existing[0]}; "
            "pass force=True (--force) to replace them"
        )
    written = []
    for clip, target in tqdm(list(zip(clips, targets)), desc="dynamic images", unit="clip", disable=not progress):
        image = to_uint8(dynamic_image_from_folder(clip, variant=variant))
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
        with replacing(target, suffix=".tmp.png") as tmp:
            if not cv2.imwrite(tmp, bgr):
                raise OSError(f"{tmp}: could not write the image")
        written.append(target)
    return written


# --- chapter 1's checks of the two weightings and of exact against approximate pooling


def correlation(a, b) -> float:
    """Pearson correlation of two images (any arrays of the same size, flattened)."""
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def weight_sums(T: int) -> dict:
    """What chapter 1 cites of the two weightings: the sum of Bilen's weights for ``T``
    frames (``bilen_sum``, 0 up to rounding; its absolute value, so no "-0.0"), that of the
    authors' code (``learnet_sum``, T) and the latter's weights for two frames
    (``learnet_w2``)."""
    return {"bilen_sum": abs(float(round(rank_pooling_weights(T, "bilen").sum(), 12))),
            "learnet_sum": float(rank_pooling_weights(T, "learnet").sum()),
            "learnet_w2": [float(x) for x in rank_pooling_weights(2, "learnet")]}


def appearance_leak(clip) -> tuple[dict, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """How much of a face's appearance each weighting lets into the dynamic image of
    ``clip`` (T, H, W[, C]). -> (numbers, (Bilen's image, the authors' code's image, the mean
    frame)); numbers: each image's correlation with the mean frame (``corr_bilen_mean``,
    ``corr_code_mean``) and the largest magnitude of Bilen's image of a clip that does not
    move, T copies of the first frame (``still_bilen_max``: 0 up to rounding)."""
    clip = np.asarray(clip)
    bilen, code = dynamic_image(clip, variant="bilen"), dynamic_image(clip, variant="learnet")
    mean_frame = clip.astype(np.float32).mean(axis=0)
    still = np.repeat(clip[:1], len(clip), axis=0)
    numbers = {"corr_bilen_mean": correlation(bilen, mean_frame), "corr_code_mean": correlation(code, mean_frame),
               "still_bilen_max": float(np.abs(dynamic_image(still, variant="bilen", dtype=np.float64)).max())}
    return numbers, (bilen, code, mean_frame)


def exact_vs_approximate(clip, max_side: int, Cs=(0.01, 0.1, 1.0, 10.0, 100.0)) -> tuple[dict, dict]:
    """Approximate (Bilen) against exact rank pooling (Eq. 4, RankSVM) of ``clip`` resized so
    that its longer side is at most ``max_side`` (the exact solver is slow), for each hinge
    weight ``C`` (C ~ 1/delta: from "barely fit" to "order every pair"), each timed.

    -> (numbers, sweep). numbers, as chapter 1 cites them: the side used (``exact_side``), the
    pairs of frames each image orders (Eq. 2; ``approx_ordered``, ``exact_ordered`` at the
    largest C), the correlation of the exact image with the approximate one at the largest and
    the smallest C (``corr_exact_approx``, ``corr_smallC_approx``), and the times
    (``exact_seconds``, ``approx_ms``, ``exact_slowdown``). sweep: ``small`` (the resized
    clip), ``approx`` (its approximate image) and ``rows``, one dict per C (``C``,
    ``seconds``, ``image``, ``agreement``: correlation with ``approx``, ``ordered``)."""
    import time

    import cv2

    clip = np.asarray(clip)
    H, W = clip.shape[1:3]
    side = min(max_side, max(H, W))
    size = (round(W * side / max(H, W)), round(H * side / max(H, W)))  # (width, height) for OpenCV
    small = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in clip])
    start = time.perf_counter()
    approx = dynamic_image(small, method="approximate")
    t_approx = time.perf_counter() - start
    rows = []
    for C in Cs:
        start = time.perf_counter()
        d = dynamic_image(small, method="exact", C=C)
        rows.append(dict(C=C, seconds=time.perf_counter() - start, image=d,
                         agreement=correlation(d, approx), ordered=ranking_accuracy(small, d)))
    last = rows[-1]
    numbers = {"exact_side": int(side), "approx_ordered": ranking_accuracy(small, approx),
               "exact_ordered": last["ordered"], "corr_exact_approx": last["agreement"],
               "corr_smallC_approx": rows[0]["agreement"], "exact_seconds": float(last["seconds"]),
               "approx_ms": float(1000 * t_approx), "exact_slowdown": float(last["seconds"] / max(t_approx, 1e-9))}
    return numbers, {"small": small, "approx": approx, "rows": rows}
