"""Checks for the book's exercises: one function per exercise.

A check takes the student's answer (a value, a function or a class), prints a one-line
confirmation when it is right — what it compared the answer with, never the expected value,
so that a passing check printed in the book gives no answer away — and raises
:class:`ExerciseError` saying *what* is wrong when it is not ("your weights sum to 1;
approximate rank pooling weights sum to 0 ..."). A failure message may quote the student's
own answer, or a number derived from it, but not the right one.
The expected answer is always computed from the package (``learnet_lite.dynamic``,
``.models``, ``.metrics``, ``.protocols``, ``.datasets``), never typed in, so a check
stays right when the package is corrected.

Starter cells define stubs that raise ``NotImplementedError("Exercise “title”: ...")`` when
called; the checks call them and let that error through, so an unsolved exercise fails
its check with the starter's own message.
"""

from __future__ import annotations

import inspect

import numpy as np

RTOL = 1e-5


class ExerciseError(AssertionError):
    """A wrong answer to an exercise; the message says what is wrong and hints why."""


def _ok(title: str, why: str) -> None:
    """Print that the answer is right and ``why`` (what it was compared with): never the
    expected value itself, which the book shows only inside the solution dropdown."""
    print(f"✓ {title}: correct — {why}")


def _fail(message: str):
    raise ExerciseError(message)


def _as_array(answer, what: str) -> np.ndarray:
    if callable(answer) and not isinstance(answer, np.ndarray):
        _fail(f"{what}: expected numbers, got the function {getattr(answer, '__name__', answer)!r} "
              "— call it and pass its result")
    try:
        arr = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(f"{what}: expected numbers, got {answer!r}")
    return arr


def _as_numpy(x) -> np.ndarray:
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _close(a, b) -> bool:
    """Equal up to float32 rounding (a student may compute in float32)."""
    scale = max(1.0, float(np.abs(b).max())) if np.size(b) else 1.0
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=RTOL * scale))


def _fmt(values) -> str:
    return "[" + ", ".join(f"{float(v):.4g}" for v in np.ravel(values)) + "]"


# --------------------------------------------------------------------------------------
# Chapter 1: dynamic images (learnet_lite.dynamic)
# --------------------------------------------------------------------------------------

def check_bilen_weights_T3(answer) -> None:
    """Bilen et al.'s approximate rank pooling weights α_1, α_2, α_3 for a 3-frame clip,
    derived by hand (fractions or floats), against ``rank_pooling_weights(3, "bilen")``."""
    from .dynamic import rank_pooling_weights

    title = "Bilen weights for T = 3"
    got = _as_array(answer, title)
    want = rank_pooling_weights(3, "bilen")
    if got.shape != want.shape:
        _fail(f"{title}: expected 3 weights α_1, α_2, α_3, got {got.size} value(s) of shape {got.shape}")
    if _close(got, want):
        return _ok(title, "your three weights equal learnet_lite.dynamic.rank_pooling_weights(3, \"bilen\").")
    if _close(got, rank_pooling_weights(3, "learnet")):
        _fail(f"{title}: {_fmt(got)} are the weights of the authors' code, Σ (2i − T)/i; they sum to "
              f"{got.sum():.4g}, not 0. Bilen's closed form has (2i − T − 1)/i: the −1 is the harmonic "
              "term (T + 1)(H_T − H_{t−1}).")
    if _close(got, want[::-1]):
        _fail(f"{title}: {_fmt(got)} is the right set in reverse time order; α_1 weighs the first "
              "frame and is the most negative (early frames are subtracted, late ones added).")
    if not np.isclose(got.sum(), 0.0, atol=1e-6):
        _fail(f"{title}: your weights {_fmt(got)} sum to {got.sum():.4g}; approximate rank pooling "
              "weights sum to 0 (a clip that does not move gives an all-zero image) — did you drop "
              "the harmonic term (T + 1)(H_T − H_{t−1})?")
    scale = float(np.dot(got, want) / np.dot(want, want))
    if _close(got, scale * want):
        _fail(f"{title}: {_fmt(got)} is a multiple of the answer; the closed form is exact, not up to scale: "
              "use α_t = 2(T − t + 1) − (T + 1)(H_T − H_{t−1}) with H_0 = 0, H_1 = 1, H_2 = 3/2, H_3 = 11/6.")
    _fail(f"{title}: {_fmt(got)} sum to 0 as they should, but are not α_t = 2(T − t + 1) − "
          f"(T + 1)(H_T − H_{{t−1}}); recheck one term, e.g. α_3 = 2·1 − 4·(H_3 − H_2).")


def _test_clips(rng) -> list[np.ndarray]:
    return [rng.normal(size=(T,) + shape) for T, shape in
            ((2, (5, 4)), (3, (6, 5, 3)), (7, (4, 6, 3)), (12, (8, 8)))]


def check_rank_pool(fn) -> None:
    """``fn(frames) -> image``: approximate rank pooling (Bilen's weights) of a (T, H, W[, C])
    float clip, written by the student, against ``dynamic_image`` on several random clips."""
    from .dynamic import dynamic_image

    title = "Approximate rank pooling"
    if not callable(fn):
        _fail(f"{title}: expected a function frames -> image, got {type(fn).__name__}")
    rng = np.random.default_rng(0)
    for clip in _test_clips(rng):
        T = clip.shape[0]
        original = clip.copy()
        got = _as_numpy(fn(clip))
        if not np.array_equal(clip, original):
            _fail(f"{title}: your function changed the frames it was given (T = {T}); work on a copy.")
        want = dynamic_image(clip, variant="bilen", dtype=np.float64)
        if got.shape != want.shape:
            _fail(f"{title}: for a clip of shape {clip.shape} (T, H, W[, C]) expected an image of shape "
                  f"{want.shape}, got {got.shape} — sum over the time axis (axis 0) only.")
        got = got.astype(np.float64)
        if _close(got, want):
            continue
        if _close(got, dynamic_image(clip, variant="learnet", dtype=np.float64)):
            _fail(f"{title}: your image equals the authors'-code variant (weights Σ (2i − T)/i, summing "
                  "to T); Bilen's weights have (2i − T − 1)/i and sum to 0.")
        if _close(got, dynamic_image(clip[::-1], variant="bilen", dtype=np.float64)):
            _fail(f"{title}: your image is the dynamic image of the clip played backwards: α_1 must "
                  "weigh the first frame.")
        flat = want.ravel()
        scale = float(np.dot(got.ravel(), flat) / max(np.dot(flat, flat), 1e-300))
        if abs(scale) > 1e-12 and _close(got, scale * want):
            _fail(f"{title}: your image is {scale:.4g} × the expected one (T = {T}); the weights are "
                  "used as they are, not normalised or averaged.")
        _fail(f"{title}: wrong image for a clip of T = {T} frames (largest difference "
              f"{np.abs(got - want).max():.3g}); the image is Σ_t α_t F_t with Bilen's α_t — "
              "recheck the harmonic numbers (H_0 = 0) and which frame each weight multiplies.")
    _ok(title, "your function matches learnet_lite.dynamic.dynamic_image on 4 random clips "
               "(2 to 12 frames, grey and colour).")


def check_appearance_term(fn) -> None:
    """``fn(frames) -> image``: what the authors'-code weights add to Bilen's dynamic image,
    computed from the frames (not as a difference of two ``dynamic_image`` calls)."""
    from .dynamic import dynamic_image

    title = "The appearance term of the authors' weights"
    if not callable(fn):
        _fail(f"{title}: expected a function frames -> image, got {type(fn).__name__}")
    source = _source(fn)
    if source and "dynamic_image" in source:
        _fail(f"{title}: compute the term from the frames and the harmonic numbers, without calling "
              "dynamic_image (the point is to see which weighted mean it is).")
    rng = np.random.default_rng(1)
    for clip in _test_clips(rng):
        T = clip.shape[0]
        got = _as_numpy(fn(clip)).astype(np.float64)
        want = (dynamic_image(clip, variant="learnet", dtype=np.float64)
                - dynamic_image(clip, variant="bilen", dtype=np.float64))
        if got.shape != want.shape:
            _fail(f"{title}: expected an image of shape {want.shape} for a clip of shape {clip.shape}, "
                  f"got {got.shape}.")
        if _close(got, want):
            continue
        if _close(got, -want):
            _fail(f"{title}: right size, wrong sign: the authors' weights are Bilen's *plus* H_T − H_{{t−1}}.")
        if _close(got, T * clip.mean(axis=0)) or _close(got, clip.mean(axis=0)):
            _fail(f"{title}: the term is not the plain (or T-times) mean frame: each frame t is weighted "
                  "by H_T − H_{t−1}, which falls with t (early frames weigh more).")
        _fail(f"{title}: wrong image for T = {T} (largest difference {np.abs(got - want).max():.3g}); "
              "expected Σ_t (H_T − H_{t−1}) F_t.")
    _ok(title, "your term equals the authors'-code dynamic image minus Bilen's on 4 random clips.")


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def check_still_clip(fn) -> None:
    """``fn(frame, T, variant) -> image``: the dynamic image of a clip of T identical
    frames, predicted in closed form (no pooling), for both weight variants."""
    from .dynamic import dynamic_image

    title = "The dynamic image of a still clip"
    if not callable(fn):
        _fail(f"{title}: expected a function (frame, T, variant) -> image, got {type(fn).__name__}")
    rng = np.random.default_rng(2)
    frame = rng.uniform(0, 255, size=(6, 5, 3))
    for T in (2, 5, 16):
        still = np.repeat(frame[None], T, axis=0)
        for variant in ("bilen", "learnet"):
            got = _as_numpy(fn(frame.copy(), T, variant)).astype(np.float64)
            want = dynamic_image(still, variant=variant, dtype=np.float64)
            if got.shape != want.shape:
                _fail(f"{title}: expected an image of the frame's shape {frame.shape}, got {got.shape}.")
            if _close(got, want):
                continue
            if variant == "bilen":
                _fail(f"{title} (Bilen, T = {T}): your image is not Bilen's; with every F_t equal to F, "
                      "Σ_t α_t F_t = (Σ_t α_t) F — what do Bilen's weights sum to?")
            if np.allclose(got, frame) or np.allclose(got, 0):
                _fail(f"{title} (authors' code, T = {T}): your image is "
                      f"{'the frame itself' if np.allclose(got, frame) else 'zero'}, but the authors' "
                      "weights do not sum to 1 or to 0: with every F_t equal to F the image is "
                      "(Σ_t α_t) F, and their Σ_t α_t depends on T.")
            _fail(f"{title} ({variant}, T = {T}): largest difference {np.abs(got - want).max():.3g}; "
                  "a still clip's image is (Σ_t α_t) × the frame.")
    _ok(title, "your predictions equal dynamic_image of still clips of 2, 5 and 16 frames, for both "
               "weight variants.")


# --------------------------------------------------------------------------------------
# Chapter 2: data (learnet_lite.datasets)
# --------------------------------------------------------------------------------------

FRAME_NAMES = ("img10.jpg", "img9.jpg", "img100.jpg", "img11.jpg", "img1.jpg", "img2.jpg")
FRAME_NAME_SETS = (
    FRAME_NAMES,
    ("reg_img46.jpg", "reg_img100.jpg", "reg_img47.jpg", "reg_img99.jpg"),
    ("EP01_5-10.jpg", "EP01_5-2.jpg", "EP01_5-09.jpg", "EP01_5-1.jpg"),
    ("image000012.bmp", "image000003.bmp", "image000010.bmp", "image000007.bmp"),
)


def check_frame_order(fn) -> None:
    """``fn(names) -> names``: frame file names in time order (by the number in the name),
    against ``frames.frame_number``; string order and digit-only keys are caught."""
    from .frames import frame_number

    title = "Frames in time order"
    if not callable(fn):
        _fail(f"{title}: expected a function list of names -> sorted list, got {type(fn).__name__}")
    for names in FRAME_NAME_SETS:
        got = [str(n) for n in fn(list(names))]
        want = sorted(names, key=frame_number)
        if got == want:
            continue
        if sorted(got) != sorted(names):
            _fail(f"{title}: for {list(names)} you returned {got}: the same names, each once, are expected.")
        if got == sorted(names):
            _fail(f"{title}: {got} is string order ('img10' < 'img9' character by character); time order "
                  "is by the frame number in the name, read as an integer.")
        if got == want[::-1]:
            _fail(f"{title}: {got} is time order reversed; the first frame comes first.")
        _fail(f"{title}: for {list(names)} you returned {got}, which is not time order: sort by the last "
              "number in each name (zero-padded or not), read as an integer.")
    _ok(title, "your order equals learnet_lite.frames.frame_number's on 4 releases' naming schemes "
               "(CASME, CASME II, SMIC).")


# --------------------------------------------------------------------------------------
# Chapter 3: the model (learnet_lite.models)
# --------------------------------------------------------------------------------------

def _learnet(num_classes: int = 8):
    import torch

    from . import models

    with torch.device("meta"):  # shapes only: counting needs no memory or initialisation
        return models.build("learnet", num_classes)


def check_accretion_path_parameters(answer) -> None:
    """Trainable parameters of LEARNet's second lateral path *with* the two accretion
    layers it owns (Add-1.1, Add-2.1), counted by hand, against the built model."""
    from . import models

    title = "Parameters of one accretion path"
    try:
        n = int(answer)
    except (TypeError, ValueError):
        _fail(f"{title}: expected a whole number of parameters, got {answer!r}")
    if n != answer:
        _fail(f"{title}: expected a whole number of parameters, got {answer!r}")
    model = _learnet()
    path = model.path2
    adds = [model.accretion["add1_1"], model.accretion["add2_1"]]
    convs = models.count_parameters(path)
    bn = sum(models.count_parameters(a) for a in adds)
    want = convs + bn
    if n == want:
        return _ok(title, "your count equals the trainable parameters of the built model's path 2 and its "
                          "two accretion BatchNorms.")
    import torch

    biases = sum(m.bias.numel() for m in path.modules() if isinstance(m, torch.nn.Conv2d))
    # the BatchNorms' running mean and variance (float buffers, not parameters)
    running = sum(b.numel() for a in adds for b in a.buffers() if b.dtype.is_floating_point)
    if n == convs:
        _fail(f"{title}: {n:,} counts the three convolutions only; each accretion sum is followed by a "
              "BatchNorm with a trainable γ and β per channel.")
    if n in (want - biases, convs - biases):
        _fail(f"{title}: {n:,} leaves out the convolutions' biases (one per output channel: 16 + 32 + 64).")
    if n == want + running:
        _fail(f"{title}: {n:,} also counts the BatchNorms' running mean and variance; those are buffers, "
              "not trained parameters.")
    _fail(f"{title}: {n:,} is {'too many' if n > want else 'too few'}; a k×k conv from c_in to c_out channels has "
          "k·k·c_in·c_out weights + c_out biases; the path reads the stem's 16 channels, and each "
          "accretion BatchNorm has 2 per channel.")


def check_accretion_block(block_class) -> None:
    """``block_class(channels)`` an ``nn.Module`` with ``forward(a1, a2)``: the accretion
    layer of Eq. 8 as the authors' code builds it, against ``models.Accretion`` (outputs in
    training and evaluation mode, trainable parameters)."""
    import torch

    from . import models

    title = "The accretion block"
    if not (inspect.isclass(block_class) and issubclass(block_class, torch.nn.Module)):
        _fail(f"{title}: expected an nn.Module subclass taking the number of channels, got {block_class!r}")
    channels = 6
    torch.manual_seed(0)
    mine, ref = block_class(channels), models.Accretion(channels)
    n_mine, n_ref = models.count_parameters(mine), models.count_parameters(ref)
    if n_mine != n_ref:
        _fail(f"{title}: your block has {n_mine} trainable parameters, expected "
              f"{n_ref} (a BatchNorm's γ and β for each of the {channels} channels of the sum).")
    g = torch.Generator().manual_seed(0)
    a1 = torch.randn(4, channels, 5, 5, generator=g) * 2 + 1
    a2 = torch.randn(4, channels, 5, 5, generator=g) - 3
    for mode in ("train", "eval"):
        getattr(mine, mode)(), getattr(ref, mode)()
        with torch.no_grad():
            got = mine(a1, a2)
            want = ref(a1, a2)
        if got.shape != want.shape:
            hint = " — concatenating doubles the channels; accretion *adds* the paths" \
                if got.shape[1] == 2 * channels else ""
            _fail(f"{title}: output shape {tuple(got.shape)}, expected {tuple(want.shape)}{hint}.")
        if torch.allclose(got, want, atol=1e-5):
            continue
        if (got >= 0).all() and torch.allclose(got, torch.relu(want), atol=1e-5):
            _fail(f"{title}: your output has a ReLU after the BatchNorm; in the authors' code the sum "
                  "is normalised and fed straight to the next conv (which has its own ReLU).")
        plain = a1 + a2
        if torch.allclose(got, plain, atol=1e-5):
            _fail(f"{title}: your block returns the plain sum A¹ + A²; the authors' code follows each "
                  "sum with BatchNorm.")
        bn_first = torch.nn.BatchNorm2d(channels, **models.KERAS_BN)
        getattr(bn_first, mode)()
        with torch.no_grad():
            if torch.allclose(got, bn_first(a1) + bn_first(a2), atol=1e-4):
                _fail(f"{title}: you normalise each input and then add; the authors' code adds first "
                      "and normalises the sum.")
        bn_torch = torch.nn.BatchNorm2d(channels)
        getattr(bn_torch, mode)()
        with torch.no_grad():
            if mode == "train" and torch.allclose(got, bn_torch(plain), atol=1e-6):
                _fail(f"{title}: right structure, but PyTorch's BatchNorm defaults (eps = 1e-5, momentum "
                      "0.1); the authors' Keras layer uses eps = 1e-3 and keeps 0.99 of the running "
                      f"statistics — use nn.BatchNorm2d(channels, **models.KERAS_BN) = {models.KERAS_BN}.")
        if mode == "eval":
            _fail(f"{title}: right in training mode, wrong in evaluation mode: the running statistics "
                  "must follow Keras' momentum (PyTorch momentum 0.01) — use models.KERAS_BN.")
        _fail(f"{title}: wrong output in {mode} mode (largest difference "
              f"{(got - want).abs().max().item():.3g}); expected BatchNorm(A¹ + A²).")
    _ok(title, "your module equals models.Accretion in training and evaluation mode, with as many "
               "trainable parameters.")


def check_table1_mismatch(layer, parameters) -> None:
    """The row of the paper's Table I whose printed parameter count cannot belong to the
    authors' topology, and the count it should have (weights + biases), against
    ``tables.table1()``."""
    from . import tables

    title = "The mismatch in Table I"
    table = tables.table1()
    rows = table[(table["layer"] != "Total") & table["paper_parameters"].notna()]
    wrong = rows[rows["difference"] != 0]
    known = {str(r).lower(): r for r in table["layer"] if r != "Total"}
    name = known.get(str(layer).strip().lower(), str(layer).strip())
    if name not in known.values():
        _fail(f"{title}: {name!r} is not a row of Table I; rows: {', '.join(known.values())}.")
    # rows the paper prints a count for that the model contradicts (blank rows are omissions)
    if len(wrong) != 1:
        raise RuntimeError(f"expected one contradicted row in tables.table1(), found {list(wrong['layer'])}")
    target = wrong.iloc[0]
    if name != target["layer"]:
        row = table.set_index("layer").loc[name]
        if name == "Conv-5":
            _fail(f"{title}: Conv-5's printed {int(row['paper_parameters']):,} is right: 3·3·256·256 + 256. "
                  "Look for a row that repeats that number where it cannot belong.")
        if row["difference"] == 0:
            _fail(f"{title}: the {name} row's count ({int(row['parameters']):,}) agrees with the model.")
        _fail(f"{title}: the {name} row differs only by a layer the paper leaves out; look for a printed "
              "number that contradicts the printed output sizes.")
    try:
        n = int(parameters)
    except (TypeError, ValueError):
        _fail(f"{title}: right row ({name}); expected its parameter count as a whole number, got {parameters!r}")
    want = int(target["parameters"])
    if n == want:
        return _ok(title, "your row is the one tables.table1() finds contradicted by the built model, and "
                          "your count is the model's.")
    if n == int(target["paper_parameters"]):
        _fail(f"{title}: right row ({name}), but {n:,} is the printed (wrong) number.")
    if n == want - 256:
        _fail(f"{title}: right row; {n:,} leaves out the 256 biases.")
    if n == 3 * 3 * 256 * 256 + 256 or n == 2304 * 256 + 256:
        _fail(f"{title}: right row; {n:,} is what a 3×3 final map (2304 inputs) would give; Table I "
              "prints Conv-5's output as 4×4×256.")
    _fail(f"{title}: right row ({name}); {n:,} is not its count: inputs = 4·4·256 (Conv-5's output, "
          "flattened), outputs = 256, plus biases.")


MAP_LEVELS = ("stem", "level 1", "level 2", "level 3", "conv 5")


def _map_sides(side: int) -> list[int]:
    """Side of the stem, path levels 1-3 and conv 5 outputs for a side×side input, from a
    forward pass of the module (on the meta device: shapes only)."""
    import torch

    from . import models

    with torch.device("meta"):
        model = models.build("learnet", 8).eval()
        maps = model.lateral(torch.empty(1, 3, side, side))
        conv5 = model.conv5(model.concat_bn(maps["concat"]))
    return [int(maps[k].shape[-1]) for k in ("stem", "p1.1", "p1.2", "p1.3")] + [int(conv5.shape[-1])]


def check_feature_map_sizes(fn) -> None:
    """``fn(side) -> [stem, level 1, level 2, level 3, conv 5]``: the side of each stride-2
    stage's output map for a side×side input, with Keras "same" padding, against a forward
    pass of ``models.build("learnet", ...)`` for several input sizes."""
    title = "Feature map sizes"
    if not callable(fn):
        _fail(f"{title}: expected a function side -> list of 5 sides, got {type(fn).__name__}")
    for side in (112, 100, 57, 64):
        want = _map_sides(side)
        answer = fn(side)
        try:
            got = [int(v) for v in answer]
        except (TypeError, ValueError):
            _fail(f"{title}: expected a list of 5 whole numbers for side {side}, got {answer!r}")
        if got == want:
            continue
        if len(got) != len(want):
            _fail(f"{title}: expected {len(want)} sides ({', '.join(MAP_LEVELS)}), got {len(got)}.")
        floor, n = [], side
        for _ in want:
            n //= 2
            floor.append(n)
        if got == floor:
            _fail(f"{title}: for a {side}×{side} input you rounded down ({got}); 'same' padding pads "
                  "so that a stride-2 stage visits every position it can reach: round the other way.")
        if got[0] == side:
            _fail(f"{title}: your stem keeps the input's side ({side}); the stem already has stride 2.")
        _fail(f"{title}: for a {side}×{side} input your sides {got} are not a forward pass's: every "
              "stage, stem and conv 5 included, has stride 2 and 'same' padding.")
    _ok(title, "your sides equal a forward pass of the model for inputs of 112, 100, 57 and 64 pixels.")


# --------------------------------------------------------------------------------------
# Results and protocols chapters (learnet_lite.metrics, learnet_lite.protocols)
# --------------------------------------------------------------------------------------

CONFUSIONS = (
    [[5, 1, 0], [2, 3, 1], [0, 1, 7]],
    [[10, 0, 0, 2], [3, 1, 0, 0], [0, 0, 0, 0], [1, 1, 0, 2]],  # a class absent in the truth
    [[0, 4], [0, 6]],  # a class never predicted
)


def check_uf1_uar(fn) -> None:
    """``fn(confusion) -> (uf1, uar)`` from a confusion matrix (rows true, columns
    predicted), by hand, against ``metrics.scores_from_confusion``."""
    from .metrics import scores_from_confusion

    title = "UF1 and UAR from a confusion matrix"
    if not callable(fn):
        _fail(f"{title}: expected a function confusion matrix -> (uf1, uar), got {type(fn).__name__}")
    for cm in CONFUSIONS:
        result = fn(np.array(cm))
        try:
            uf1, uar = (float(v) for v in result)
        except (TypeError, ValueError):
            _fail(f"{title}: expected a pair (uf1, uar) of numbers, got {result!r}")
        want = scores_from_confusion(cm)
        if np.isclose(uf1, want["uf1"]) and np.isclose(uar, want["uar"]):
            continue
        m = np.asarray(cm, float)
        present = m.sum(1) > 0
        if np.isclose(uf1, want["uar"]) and np.isclose(uar, want["uf1"]):
            _fail(f"{title}: the two are swapped for {cm}: return (uf1, uar).")
        if np.isclose(uar, want["accuracy"]) or np.isclose(uf1, want["accuracy"]):
            _fail(f"{title}: for {cm} you returned the accuracy ({want['accuracy']:.4f}), the *weighted* "
                  "average; UF1 and UAR average per-class scores with every class weighing the same.")
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.nan_to_num(np.diag(m) / m.sum(0))
            recall_all = np.nan_to_num(np.diag(m) / m.sum(1))
        if np.isclose(uar, precision[present].mean()) and not np.isclose(uar, want["uar"]):
            _fail(f"{title}: for {cm} your UAR averages precision (divides by column sums); recall "
                  "divides by the row sums (rows are the true class).")
        if not present.all() and np.isclose(uar, recall_all.mean()):
            _fail(f"{title}: for {cm} you averaged over a class with no true samples; average over "
                  "the classes present in the ground truth.")
        if not np.isclose(uar, want["uar"]):
            _fail(f"{title}: your UAR {uar:.4f} for {cm} is {'too high' if uar > want['uar'] else 'too low'}: "
                  "UAR is the mean over the true classes of TP / row sum.")
        _fail(f"{title}: your UF1 {uf1:.4f} for {cm} is {'too high' if uf1 > want['uf1'] else 'too low'}: "
              "per class 2TP / (2TP + FP + FN), averaged over the classes present in the truth.")
    _ok(title, "your two scores equal learnet_lite.metrics.scores_from_confusion's on 3 matrices (one with "
               "a class absent from the truth, one with a class never predicted).")


def clip_table(name: str, seed: int = 0):
    """A clip table shaped like dataset ``name`` (no frames): its release's subjects and the
    paper's Table II class counts (:func:`datasets.specs`), clips spread unevenly over the
    subjects as in the real data (every subject has at least one). For split exercises that
    should not depend on the profile's twin size."""
    import pandas as pd

    from .datasets import spec, specs

    counts = specs().loc[name, "counts_table2"]
    labels = np.repeat(list(counts), list(counts.values()))
    rng = np.random.default_rng([seed, len(labels)])
    rng.shuffle(labels)
    n_subjects = min(spec(name).subjects, len(labels))
    share = rng.dirichlet(np.ones(n_subjects))
    subject = np.concatenate([np.arange(n_subjects), rng.choice(n_subjects, len(labels) - n_subjects, p=share)])
    rng.shuffle(subject)
    return pd.DataFrame({"dataset": name, "subject": [f"s{k + 1}" for k in subject],
                         "clip": [f"clip{i:03d}" for i in range(len(labels))], "emotion": labels})


def check_leakage_free_split(fn, clips) -> None:
    """``fn(clips) -> [(train_positions, test_positions), ...]``: a cross-validation split of
    a clip table with few subjects in which no subject is on both sides of a fold and every
    clip is tested exactly once (what ``protocols.split(clips, "loso")`` guarantees)."""
    title = "A leakage-free split"
    if not callable(fn):
        _fail(f"{title}: expected a function clips -> list of (train, test) positions, got {type(fn).__name__}")
    folds = list(fn(clips.copy()))
    if len(folds) < 2:
        _fail(f"{title}: expected at least 2 folds (cross-validation), got {len(folds)}.")
    n = len(clips)
    subject = clips["subject"].to_numpy()
    tested = np.zeros(n, int)
    for k, fold in enumerate(folds):
        try:
            train, test = (np.asarray(p, dtype=int) for p in fold)
        except (TypeError, ValueError):
            _fail(f"{title}: fold {k} should be a pair (train positions, test positions), got {fold!r}")
        for name, idx in (("train", train), ("test", test)):
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                _fail(f"{title}: fold {k}'s {name} positions go outside 0..{n - 1} (use positions, df.iloc).")
        if len(test) == 0 or len(train) == 0:
            _fail(f"{title}: fold {k} has an empty train or test part.")
        both = np.intersect1d(train, test)
        if both.size:
            _fail(f"{title}: fold {k} has clip position {int(both[0])} in both train and test.")
        shared = sorted(set(subject[train]) & set(subject[test]), key=str)
        if shared:
            _fail(f"{title}: fold {k} has subject {shared[0]} on both sides ({len(shared)} subject(s) "
                  "shared): the model can recognise the *person* instead of the expression. Split by "
                  "subject, not by clip.")
        tested[test] += 1
    if (tested == 0).any():
        first = int(np.flatnonzero(tested == 0)[0])
        _fail(f"{title}: {int((tested == 0).sum())} clip(s) are never tested (e.g. position {first}); "
              "in cross-validation every clip is tested exactly once.")
    if (tested > 1).any():
        first = int(np.flatnonzero(tested > 1)[0])
        _fail(f"{title}: clip position {first} is tested {int(tested[first])} times; every clip should be "
              "tested exactly once.")
    n_subjects = clips["subject"].nunique()
    _ok(title, f"your {len(folds)} folds over {n_subjects} subjects keep every subject on one side of "
               "each fold and test every clip once.")


def _measured_leak(copies_angles: int, clips: int = 3000, seed: int = 0) -> tuple[float, int, float]:
    """Fraction of test images with a copy of their clip in training under ``paper-leaky``
    (augment, then split the images), measured with :func:`protocols.split`; with the
    number of copies per clip and the share of images that train."""
    import pandas as pd

    from . import augment, protocols

    opts = augment.Options(angles=tuple(range(0, 15 * copies_angles, 15)))
    table = pd.DataFrame({"subject": np.arange(clips) % 20, "emotion": "x"})
    fold = protocols.split(table, "paper-leaky", seed, augmentation=opts)[0]
    shares = fold.copies["part"].value_counts(normalize=True)
    return (float(fold.info["near_duplicates"]["fraction_test_images_leaked"]), opts.copies_per_image,
            float(shares.get("train", 0.0)))


def check_leak_probability(fn) -> None:
    """``fn(copies, train_share) -> probability``: the chance that a test image of the leaky
    protocol (every clip augmented into ``copies`` images, then the *images* split at random,
    a share ``train_share`` of them to training) has at least one copy of its own clip in
    training, derived by hand; against the fraction measured on ``protocols.split``."""
    title = "Near-copies across the leaky split"
    if not callable(fn):
        _fail(f"{title}: expected a function (copies, train_share) -> probability, got {type(fn).__name__}")
    for angles in (1, 3, 7):
        measured, k, p = _measured_leak(angles)
        got = float(fn(k, p))
        if abs(got - measured) <= 0.04:  # the measurement's sampling error is about 0.015
            continue
        if not 0 <= got <= 1:
            _fail(f"{title}: {got:.3g} for {k} copies is not a probability; adding the copies' chances "
                  "(a union bound) overcounts: compute the chance that *none* of them trains.")
        if abs(got - (1 - (1 - p) ** k)) < 1e-9:
            _fail(f"{title}: for {k} copies you counted the test image itself among the copies that could "
                  f"be in training; only the other {k - 1} can.")
        if abs(got - p) < 1e-9 and k > 2:
            _fail(f"{title}: {got:.3f} is the chance for one copy; the clip has {k - 1} other copies, each "
                  "of which may be in training.")
        _fail(f"{title}: for {k} copies per clip and a training share of {p:.2f} you predict {got:.3f}; "
              f"protocols.split measures a {'lower' if got > measured else 'higher'} fraction.")
    _ok(title, "your formula agrees with the fraction protocols.split measures, within its sampling error, "
               "for 1, 3 and 7 rotation angles.")


def check_amplitude_dial(prediction: str, accuracies: dict, chance: float, tolerance: float = 0.15) -> None:
    """Predict-then-measure: ``prediction`` is "rises", "falls" or "flat" (what LOSO accuracy
    does as the twin's expression amplitude grows), written *before* the run; ``accuracies``
    maps amplitude → measured LOSO accuracy (including amplitude 0); ``chance`` is the
    majority-class rate. The check holds the measurement to what the twin guarantees (no
    motion → chance, since it is learnable only through motion) and the prediction to the
    measurement; a wrong prediction is reported, not hidden."""
    title = "The amplitude dial"
    choices = ("rises", "falls", "flat")
    if prediction not in choices:
        _fail(f"{title}: prediction should be one of {choices}, got {prediction!r}")
    if not isinstance(accuracies, dict) or len(accuracies) < 3:
        _fail(f"{title}: expected measured accuracies for at least 3 amplitudes, got {accuracies!r}")
    amps = np.array(sorted(accuracies), dtype=float)
    acc = np.array([float(accuracies[a]) for a in sorted(accuracies)])
    if amps[0] != 0:
        _fail(f"{title}: include amplitude 0 (no expression at all) as the control.")
    if not ((acc >= 0) & (acc <= 1)).all():
        _fail(f"{title}: accuracies should be fractions in [0, 1], got {_fmt(acc)}")
    if acc[0] > chance + tolerance:
        _fail(f"{title}: at amplitude 0 your accuracy {acc[0]:.2f} is well above chance ({chance:.2f}); "
              "the twin carries its class only in the motion, so something leaks (same subject in "
              "train and test? class-dependent nuisances?).")
    from scipy.stats import spearmanr

    rho = float(spearmanr(amps, acc).statistic) if np.ptp(acc) > 0 else 0.0
    trend = "rises" if rho > 0.5 and acc[-1] - acc[0] > tolerance / 2 else (
        "falls" if rho < -0.5 and acc[0] - acc[-1] > tolerance / 2 else "flat")
    if trend != prediction:
        _fail(f"{title}: you predicted accuracy {prediction}; your measurement {_fmt(acc)} at amplitudes "
              f"{_fmt(amps)} {trend} (Spearman ρ = {rho:.2f}). Write down why your prediction was wrong "
              "(or, with few epochs, whether the measurement is too noisy to tell).")
    _ok(title, f"your prediction agrees with your measurement (Spearman ρ = {rho:.2f}), and amplitude 0 "
               "stays near chance, as it must.")


# --------------------------------------------------------------------------------------
# Chapter 7: the handcrafted baselines (learnet_lite.handcrafted)
# --------------------------------------------------------------------------------------

def _elm_cases():
    """(what, H, T, C, expected β, extra) for the ELM exercise: two hand-made hidden layers
    (their β by the other form of the solution, (I/C + HᵀH)⁻¹HᵀT, which equals
    Hᵀ(I/C + HHᵀ)⁻¹T), and two fitted :class:`handcrafted.ELM`s (their ``beta_``; ``extra``:
    the fitted ELM and test inputs, to compare the predictions)."""
    from .handcrafted import ELM

    H = np.array([[0.9, 0.2, 0.6, 0.1, 0.5],
                  [0.3, 0.8, 0.4, 0.7, 0.2],
                  [0.6, 0.5, 0.9, 0.3, 0.8],
                  [0.1, 0.4, 0.2, 0.9, 0.6]])  # 4 clips, 5 hidden nodes
    T = np.array([[1.0, -1, -1], [-1, 1, -1], [1, -1, -1], [-1, -1, 1]])  # classes 0, 1, 0, 2

    def other_form(H, T, C):
        return np.linalg.solve(np.eye(H.shape[1]) / C + H.T @ H, H.T @ T)

    cases = [(f"the hand-made H (4 clips, 5 nodes), C = {C:g}", H, T, C, other_form(H, T, C), None)
             for C in (1.0, 100.0)]
    rng = np.random.default_rng(7)
    for clips, hidden, C in ((9, 12, 10.0), (30, 6, 1.0)):
        centres = rng.normal(0, 3, (3, 4))
        y = np.arange(clips) % 3
        X = centres[y] + rng.normal(0, 1, (clips, 4))
        elm = ELM(hidden=hidden, C=C, seed=1).fit(X, y)
        targets = -np.ones((clips, 3))
        targets[np.arange(clips), y] = 1.0
        X_test = centres[np.arange(12) % 3] + rng.normal(0, 1, (12, 4))
        cases.append((f"a fitted handcrafted.ELM ({clips} clips, {hidden} nodes, C = {C:g})", elm._hidden(X), targets,
                      C, elm.beta_, (elm, X_test)))
    return cases


def check_elm_output(fn) -> None:
    """``fn(H, T, C) -> β``: the output weights of a regularised extreme learning machine
    (Huang et al. 2012), β = Hᵀ(I/C + HHᵀ)⁻¹T, from the hidden layer's outputs ``H``
    (clips × nodes), the ±1 targets ``T`` (clips × classes) and ``C``; against the other form
    of the same solution on hand-made inputs and against ``handcrafted.ELM``'s own ``beta_``
    (and the classes it predicts) on two fitted ELMs."""
    title = "The ELM's output layer by hand"
    if not callable(fn):
        _fail(f"{title}: expected a function (H, T, C) -> beta, got {type(fn).__name__}")
    cases = _elm_cases()
    for what, H, T, C, want, extra in cases:
        n, L = H.shape
        try:
            got = _as_numpy(fn(H.copy(), T.copy(), C))
        except (ValueError, np.linalg.LinAlgError) as error:
            _fail(f"{title}: for {what}, your function raised {type(error).__name__}: {error}. With H of shape "
                  f"{H.shape} (clips × nodes), H Hᵀ is {n}×{n}, so I is the {n}×{n} identity, and Hᵀ (…)⁻¹ T "
                  f"is {L}×{T.shape[1]}.")
        got = np.asarray(got, dtype=np.float64)
        if got.shape == want.T.shape and got.shape != want.shape:
            _fail(f"{title}: for {what}, β has shape {got.shape}; expected one row per hidden node and one column "
                  f"per class, {want.shape}, so that H β gives one output per clip and class.")
        if got.shape == (n, T.shape[1]) and got.shape != want.shape:
            _fail(f"{title}: for {what}, β has shape {got.shape}, one row per clip; it needs one per hidden node "
                  f"({L}): did you leave out the leading Hᵀ?")
        if got.shape != want.shape:
            _fail(f"{title}: for {what}, expected β of shape {want.shape} (nodes × classes), got {got.shape}.")
        if _close(got, want):
            if extra is not None:
                elm, X_test = extra
                mine = elm.classes_[np.argmax(elm._hidden(X_test) @ got, axis=1)]
                if not np.array_equal(mine, elm.predict(X_test)):  # cannot differ when β is right; kept as a guard
                    _fail(f"{title}: for {what}, your β predicts other classes than the ELM.")
            continue
        if n <= L and _close(got, H.T @ np.linalg.solve(H @ H.T, T)):
            _fail(f"{title}: for {what}, your β is the unregularised least-squares solution Hᵀ(HHᵀ)⁻¹T (or the "
                  "pseudo-inverse's); the regularised ELM adds I/C to HHᵀ before inverting.")
        if _close(got, H.T @ np.linalg.solve(C * np.eye(n) + H @ H.T, T)):
            _fail(f"{title}: for {what}, you added C·I to HHᵀ; the ridge term is I/C (a large C regularises "
                  "little, a small C a lot).")
        if _close(got, H.T @ (np.eye(n) / C + H @ H.T) @ T):
            _fail(f"{title}: for {what}, you multiplied by I/C + HHᵀ instead of by its inverse.")
        _fail(f"{title}: for {what}, your β differs from the expected one by up to {np.abs(got - want).max():.3g}; "
              "compute β = Hᵀ (I/C + H Hᵀ)⁻¹ T (np.linalg.solve rather than an explicit inverse).")
    _ok(title, f"your β equals the regularised solution on {len(cases)} cases (two hand-made, two fitted "
               "learnet_lite.handcrafted.ELMs, whose predictions it reproduces).")
