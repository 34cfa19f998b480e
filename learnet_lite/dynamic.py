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
import time
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
    # stays in cache, so each uint8 frame is read from memory once (5-10x faster than
    # converting a whole clip first).
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
# cache. On 280x340 JPEGs, pooling adds ~35% to decoding when it alternates frame by frame,
# ~21% in groups of 8 and ~17% in groups of 16 (4.6 MB of buffers); longer groups gain no more.
FOLDER_GROUP = 16


def dynamic_image_from_folder(folder, variant: str = "bilen", dtype=np.float32) -> np.ndarray:
    """The approximate dynamic image of one clip folder, frames read in time order
    (:func:`learnet_lite.datasets.iter_frames`, which checks every frame's size and
    channels against the first and names the file that differs); equal to
    ``dynamic_image(read_frames(folder), variant=variant)`` up to float rounding.

    No (T, H, W, C) clip is held: T is known from the listing, so Σ_t α_t F_t is
    accumulated as the frames are decoded, a few at a time, while they are still in cache.
    """
    import cv2

    from .datasets import iter_frames, list_frames

    paths = list_frames(folder)
    weights = rank_pooling_weights(len(paths), variant)
    accumulate = np.float64 if np.dtype(dtype) == np.float64 else np.float32
    # OpenCV's fastest uint8 -> float multiply-add is the running average
    # A <- (1 - a) A + a F (cv2.accumulateWeighted, 2-3x faster than cv2.addWeighted on
    # uint8 + float). With c_j the partial sums of the weights in the order the frames are
    # added, a_j = α_j / c_j keeps A = (1/c_j) Σ_{i<=j} α_i F_i, so c·A is the weighted sum.
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
    # Pooling is linear, so OpenCV's BGR is flipped to RGB once, on the result (cvtColor:
    # 4x faster than a reversed-view copy; it takes float32, not float64).
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

    from .datasets import IMAGE_SUFFIXES
    from .profiles import temp_beside

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
            f"{len(existing)} dynamic image(s) already exist, e.g. {existing[0]}; pass force=True (--force) to replace them"
        )
    written = []
    for clip, target in tqdm(list(zip(clips, targets)), desc="dynamic images", unit="clip", disable=not progress):
        image = to_uint8(dynamic_image_from_folder(clip, variant=variant))
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
        with temp_beside(target, suffix=".tmp.png") as tmp:
            if not cv2.imwrite(tmp, bgr):
                raise OSError(f"{tmp}: could not write the image")
            Path(tmp).replace(target)
        written.append(target)
    return written


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "dynamic", help="write the dynamic image of every clip folder under SRC as PNGs under DST",
        description=derive_folder.__doc__.split("\n\n")[0],
    )
    p.add_argument("src", help="folder whose sub-folders hold the frames of one clip each")
    p.add_argument("dst", help="output folder for the PNG dynamic images")
    p.add_argument("--variant", choices=VARIANTS, default="bilen",
                   help="rank pooling weights: Bilen et al.'s closed form or the authors' code")
    p.add_argument("--force", action="store_true", help="replace dynamic images that already exist")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    start = time.perf_counter()
    written = derive_folder(args.src, args.dst, variant=args.variant, force=args.force)
    print(f"wrote {len(written)} dynamic image(s) to {args.dst} in {time.perf_counter() - start:.1f} s")
    return 0
