"""Every figure the chapters draw, one function each, named for the paper's figure or for
what it shows. Each takes computed data (clips, images, a model's maps, run records), draws
on a new matplotlib figure and returns it; a figure made from synthetic data says so in its
title (the ``source`` argument). Nothing here computes a result the prose cites.

Every figure is drawn for the book's content column: :data:`COLUMN_IN` wide at :data:`DPI`,
under :data:`STYLE` (applied with ``matplotlib.rc_context`` around each figure function, so
the caller's rcParams are left as they were), and no text is smaller than :data:`MIN_FONT_PT`.
A figure too dense for the column takes more rows rather than smaller text.
"""

from __future__ import annotations

import functools

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import cost, datasets, metrics, synthetic, tables
from .dynamic import dynamic_image, to_uint8
from .frames import read_frame, read_frames

# --- the style every figure is drawn in ---------------------------------------------------------------------

DPI = 100  # pixels per inch of the PNG the book shows
COLUMN_IN = 7.8  # inches: 780 px at DPI, the width of the book's content column (784 px at a 1400-px window)
MIN_FONT_PT = 8.0  # the smallest text any figure writes: 8 pt x DPI / 72 = 11 px at full size
STYLE = {
    "figure.dpi": DPI, "savefig.dpi": "figure",
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "figure.titlesize": 10,
    "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT, "legend.title_fontsize": MIN_FONT_PT,
}


def _styled(draw):
    """Draw the figure under :data:`STYLE`, then render it once inside the style, so that what
    matplotlib makes lazily (tick labels, a colorbar's ticks) takes the style's sizes too;
    the style does not outlive the call."""

    @functools.wraps(draw)
    def styled(*args, **kwargs) -> Figure:
        with mpl.rc_context(STYLE):
            fig = draw(*args, **kwargs)
            fig.canvas.draw()
        return fig

    return styled


def _column(height: float) -> tuple[float, float]:
    """A figure size: the column's width, ``height`` inches high."""
    return (COLUMN_IN, height)

# --- chapters 1-3: dynamic images, the data, the model -----------------------------------------------------


def _image(ax, image, title: str, **title_kw) -> None:
    """An image panel: the image, its title, no axes."""
    ax.imshow(image)
    ax.set_title(title, **title_kw)
    ax.axis("off")


def _response(ax, response, title: str) -> None:
    """A feature map panel, inverted (dark = strong response), as in the paper's Figs. 3-6."""
    ax.imshow(response, cmap="gray_r")
    ax.axis("off")
    ax.set_title(title, fontsize=MIN_FONT_PT)


def _network_input(ax, x, title: str) -> None:
    """A standardised network input (3, H, W) stretched to 0..1 for display."""
    img = x.permute(1, 2, 0).numpy()
    ax.imshow((img - img.min()) / (np.ptp(img) + 1e-9))
    ax.axis("off")
    ax.set_title(title, fontsize=MIN_FONT_PT)


def _first_clip(clips, emotion: str):
    """The first clip of ``emotion`` in a clip table -> (its row, its frames)."""
    row = clips[clips["emotion"] == emotion].iloc[0]
    return row, read_frames(row["frames"])


@_styled
def clip_frames(clip, row, source: str) -> Figure:
    """Chapter 1: five frames of one clip (the first, the apex, the last and two between),
    the apex marked. ``row``: the clip's row of the clip table (its apex is found by frame
    number, the middle frame where it is not coded)."""
    T, apex = len(clip), datasets.apex_index(row)
    shown = sorted({0, apex // 2, apex, (apex + T - 1) // 2, T - 1})
    fig, axes = plt.subplots(1, len(shown), figsize=_column(2.4))
    for ax, t in zip(axes, shown):
        _image(ax, clip[t], f"frame {t + 1}" + (" (apex)" if t == apex else ""))
    fig.suptitle(f"{source}: {row['subject']}/{row['clip']}, {row['emotion']} (AUs {row['aus']})", y=1.02)
    return fig


@_styled
def pooling_weights(w_bilen, w_code) -> Figure:
    """Chapter 1: the rank pooling weights of a T-frame clip, Bilen et al.'s and the authors'
    code's, and their difference (an appearance term). Weights only: no data is drawn."""
    t = np.arange(1, len(w_bilen) + 1)
    fig, axes = plt.subplots(1, 2, figsize=_column(3.2))
    axes[0].plot(t, w_bilen, "o-", ms=3, label="Bilen et al. (sum 0)")
    axes[0].plot(t, w_code, "s-", ms=3, label=f"authors' code (sum {w_code.sum():.0f})")
    axes[0].axhline(0, color="0.6", lw=0.8)
    axes[0].set(xlabel="frame t", ylabel=r"weight $\alpha_t$", title=f"Rank pooling weights, T = {len(t)}")
    axes[0].legend()
    axes[1].plot(t, w_code - w_bilen, "d-", ms=3, color="C3")
    axes[1].set(xlabel="frame t", ylabel=r"$H_T - H_{t-1}$", title="Their difference: an appearance term")
    fig.tight_layout()
    return fig


@_styled
def appearance_leak(clip, mean_frame, di_bilen, di_code, source: str) -> Figure:
    """Chapter 1: the middle and the mean frame of a clip beside its dynamic images with
    Bilen's weights and with the authors' code's (``dynamic.appearance_leak``)."""
    fig, axes = plt.subplots(1, 4, figsize=_column(2.6))
    panels = [(clip[len(clip) // 2], "middle frame"), (to_uint8(mean_frame), "mean frame"),
              (to_uint8(di_bilen), "dynamic image, Bilen"), (to_uint8(di_code), "dynamic image, authors' code")]
    for ax, (img, title) in zip(axes, panels):
        _image(ax, img, title, fontsize=MIN_FONT_PT)
    fig.suptitle(f"{source}: the authors' weights let the face's appearance into the image", y=1.02)
    return fig


@_styled
def exact_vs_approximate(sweep: dict, source: str) -> Figure:
    """Chapter 1: approximate rank pooling beside the exact one at the smallest and the
    largest C, and how the exact image's agreement and the pairs it orders grow with C
    (``sweep`` from ``dynamic.exact_vs_approximate``): the three images above, the curves below."""
    rows, small = sweep["rows"], sweep["small"]
    fig = plt.figure(figsize=_column(5.6))
    grid = fig.add_gridspec(2, 3, height_ratios=(1, 0.85))
    axes = [fig.add_subplot(grid[0, k]) for k in range(3)] + [fig.add_subplot(grid[1, :])]
    _image(axes[0], to_uint8(sweep["approx"]), "approximate (Bilen)")
    _image(axes[1], to_uint8(rows[0]["image"]), f"exact, C = {rows[0]['C']:g}")
    _image(axes[2], to_uint8(rows[-1]["image"]), f"exact, C = {rows[-1]['C']:g}")
    Cs = [r["C"] for r in rows]
    axes[3].semilogx(Cs, [r["agreement"] for r in rows], "o-", label="correlation with approximate")
    axes[3].semilogx(Cs, [r["ordered"] for r in rows], "s-", label="pairs ordered (Eq. 2)")
    axes[3].set(xlabel="C (hinge weight)", ylim=(-0.05, 1.05), title="Exact rank pooling vs C")
    axes[3].legend()
    fig.suptitle(f"{source} at {small.shape[2]}x{small.shape[1]}: approximate vs exact rank pooling", y=1.02)
    fig.tight_layout()
    return fig


@_styled
def fig1_weightings(clips, source: str, classes=("happiness", "disgust", "surprise", "repression")) -> Figure:
    """Chapter 1's Fig. 1-style panel: for the first clip of each class of ``classes`` in the
    clip table, its apex frame and its dynamic images with Bilen's and the authors' weights."""
    classes = [c for c in classes if c in set(clips["emotion"])]
    fig, axes = plt.subplots(3, len(classes), figsize=_column(7.0), squeeze=False)
    for col, emotion in enumerate(classes):
        row, frames = _first_clip(clips, emotion)
        axes[0, col].imshow(frames[datasets.apex_index(row)])
        axes[0, col].set_title(f"{emotion}\n(AUs {row['aus']})")
        axes[1, col].imshow(to_uint8(dynamic_image(frames, variant="bilen")))
        axes[2, col].imshow(to_uint8(dynamic_image(frames, variant="learnet")))
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for r, label in enumerate(["apex frame", "dynamic image,\nBilen", "dynamic image,\nauthors' code"]):
        axes[r, 0].set_ylabel(label)
    fig.suptitle(f"Fig. 1-style panel, {source}", y=1.0)
    fig.tight_layout()
    return fig


@_styled
def subject_faces(clips, subjects: int, source: str, dataset: str = "CASME-II") -> Figure:
    """Chapter 2: the first frame of one clip of each of the first ``subjects`` subjects, at
    most eight to a row."""
    firsts = clips.groupby("subject", sort=False).head(1).head(int(subjects))
    n_rows = -(-len(firsts) // 8)
    per_row = -(-len(firsts) // n_rows)
    fig, axes = plt.subplots(n_rows, per_row, figsize=_column(1.4 * n_rows + 0.4), squeeze=False)
    for ax in axes.ravel()[len(firsts):]:
        ax.remove()
    for ax, (_, row) in zip(axes.ravel(), firsts.iterrows()):
        _image(ax, read_frame(row["frames"][0]), row["subject"])
    fig.suptitle(f"{dataset} {source}: first frame of one clip per subject")
    fig.tight_layout()
    return fig


@_styled
def frames_and_differences(clip, row, source: str, dataset: str = "CASME-II") -> Figure:
    """Chapter 2: five frames of a clip and its apex (top) and each one's difference from the
    onset frame in grey levels, magnified (bottom). ``row``: the clip's row of the clip table."""
    apex_at = datasets.apex_index(row)
    shown = sorted(set(np.linspace(0, len(clip) - 1, 5).round().astype(int).tolist()) | {apex_at})
    fig, axes = plt.subplots(2, len(shown), figsize=_column(4.0))
    for ax, diff_ax, t in zip(axes[0], axes[1], shown):
        number = int(row["onset"]) + int(t)
        _image(ax, clip[t], f"frame {number}" + (" (apex)" if number == row["apex"] else ""), fontsize=MIN_FONT_PT)
        diff = clip[t].astype(float).mean(-1) - clip[0].astype(float).mean(-1)
        diff_ax.imshow(diff, cmap="RdBu_r", vmin=-25, vmax=25)
        diff_ax.axis("off")
    axes[1, 0].set_title("minus onset", fontsize=MIN_FONT_PT)
    fig.suptitle(f"{dataset} {source}: {row['subject']}/{row['clip']}, {row['emotion']} (AUs {row['aus']}),\n"
                 f"{int(row['n_frames'])} frames at {int(row['fps'])} fps", y=1.02)
    return fig


@_styled
def au_fields(subject, codes=("1+2", "4+7", "9", "6+12", "15"), source: str = "Synthetic twin") -> Figure:
    """Chapter 2: the displacement field of each AU combination of ``codes`` on a twin's
    ``subject`` (arrows magnified), and the onset-apex-offset time course of a clip; three
    panels to a row."""
    n_rows = -(-(len(codes) + 1) // 3)
    fig, grid = plt.subplots(n_rows, 3, figsize=_column(3.1 * n_rows + 0.3), squeeze=False)
    for ax in grid.ravel()[len(codes) + 1:]:
        ax.remove()
    axes = grid.ravel()[:len(codes) + 1]
    step = 6
    for ax, code in zip(axes, codes):
        field = synthetic.au_field(subject.face, subject.frame, code)
        ax.imshow(np.clip(subject.open, 0, 255).astype(np.uint8))
        ys, xs = np.mgrid[0:field.shape[1]:step, 0:field.shape[2]:step]
        ax.quiver(xs, ys, field[0, ::step, ::step], field[1, ::step, ::step], color="yellow",
                  angles="xy", scale_units="xy", scale=0.12, width=0.006)
        names = " + ".join(synthetic.AU_NAMES[au] for au, _ in synthetic.parse_aus(code))
        ax.set_title(f"AU {code}\n{names}", fontsize=MIN_FONT_PT)
        ax.axis("off")
    n, apex = 60, 24
    axes[-1].plot(np.arange(n), synthetic.time_course(n, apex))
    axes[-1].axvline(apex, ls=":", c="k")
    axes[-1].text(apex + 1, 0.05, "apex", fontsize=MIN_FONT_PT)
    axes[-1].set_xlabel("frame from onset")
    axes[-1].set_ylabel("intensity")
    axes[-1].set_title("time course", fontsize=MIN_FONT_PT)
    fig.suptitle(f"{source}: AU displacement fields (arrows ~8x magnified)\nand the onset-apex-offset course")
    fig.tight_layout()
    return fig


@_styled
def amplitude_dial(dial, subject, source: str = "Synthetic twin") -> Figure:
    """Chapter 2: at each amplitude of the dial (``synthetic.amplitude_dial``), a happiness
    clip's (AU6+12) apex minus its onset on ``subject``, noise-free; and the dial's
    accuracies of the apex frame, the mean frame and the dynamic image against chance (the
    images in a row, the accuracies below them)."""
    fig = plt.figure(figsize=_column(6.0))
    grid = fig.add_gridspec(2, len(dial), height_ratios=(1, 1.3))
    axes = [fig.add_subplot(grid[0, k]) for k in range(len(dial))] + [fig.add_subplot(grid[1, :])]
    for ax, a in zip(axes, dial.index):
        frames = synthetic.render_clip(subject, "6+12", 30, 12, 200, a, np.random.default_rng(0), noise=0.0,
                                       drift_px=0.0, pose_jitter=0.0)
        diff = frames[12].astype(float).mean(-1) - frames[0].astype(float).mean(-1)
        ax.imshow(diff, cmap="RdBu_r", vmin=-40, vmax=40)
        ax.axis("off")
        ax.set_title(f"{a:g} px: apex - onset", fontsize=MIN_FONT_PT)
    ax = axes[-1]
    for column in ("apex frame", "mean frame", "dynamic image"):
        ax.plot(dial.index, dial[column], marker="o", label=column)
    ax.axhline(float(dial["chance"].iloc[0]), ls=":", c="k", label="chance")
    ax.set_xlabel("amplitude (px)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.suptitle(f"{source}: the amplitude dial (happiness, AU6+12; subject-independent accuracy)")
    fig.tight_layout()
    return fig


@_styled
def fig1_dynamic_images(clips, classes, source: str, dataset: str = "CASME-II") -> Figure:
    """Fig. 1 regenerated (chapter 2): for the first clip of each class, its middle frame and
    its dynamic image (approximate rank pooling, Bilen's weights), scaled to 0-255."""
    fig, axes = plt.subplots(2, len(classes), figsize=_column(4.6), squeeze=False)
    for k, emotion in enumerate(classes):
        row, frames = _first_clip(clips, emotion)
        _image(axes[0, k], frames[len(frames) // 2], f"{emotion}\n(AUs {row['aus']})", fontsize=MIN_FONT_PT)
        axes[1, k].imshow(to_uint8(dynamic_image(frames)))
        axes[1, k].axis("off")
    for ax, label in zip(axes[:, 0], ("middle frame", "dynamic image")):
        ax.text(-0.15, 0.5, label, rotation=90, va="center", ha="right", transform=ax.transAxes,
                fontsize=MIN_FONT_PT)
    fig.suptitle(f"Fig. 1 regenerated from the {dataset} {source}"
                 + (" (synthetic data)" if "synthetic" in source else ""), y=1.0)
    return fig


def _architecture(ax, model, title: str) -> None:
    """One net's graph, the input on top and the layers below it (``tables.graph``'s x down,
    its y across), a path's label on three lines so that four paths fit side by side."""
    nodes, edges = tables.graph(model)
    pos = {r.name: (r.y, -r.x) for r in nodes.itertuples()}
    for a, b in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate("", xy=(x1, y1 + 0.3), xytext=(x0, y0 - 0.3),
                    arrowprops=dict(arrowstyle="->", color="0.45", lw=0.9, shrinkA=0, shrinkB=0))
    for r in nodes.itertuples():
        color = "#f6c28b" if r.name.startswith("add") else "#cfe3f7" if r.name.startswith("p") else "#e6e6e6"
        ax.text(r.y, -r.x, r.label.replace(": ", ":\n"), ha="center", va="center", fontsize=MIN_FONT_PT,
                bbox=dict(boxstyle="round,pad=0.25", fc=color, ec="0.3", lw=0.6))
    ax.set_xlim(0.5, 4.5)
    ax.set_ylim(-nodes.x.max() - 0.45, 0.45)
    ax.axis("off")
    ax.set_title(title)


@_styled
def fig2_architecture(official, ablation,
                      titles=("LEARNet, authors' topology\n(paths 2 and 4 accrete paths 1 and 3)",
                              "ablation: accretion off\n(four plain lateral paths)")) -> Figure:
    """Fig. 2 drawn from the modules (``tables.graph``): the official LEARNet on the left, an
    ablation (by default titled as accretion off) on the right, each from its input (top) to
    its classifier (bottom); accretion layers in orange. Drawn from the modules, not from data."""
    fig, axes = plt.subplots(1, 2, figsize=_column(8.8))
    for ax, model, title in zip(axes, (official, ablation), titles):
        _architecture(ax, model, title)
    fig.tight_layout()
    return fig


@_styled
def fig3_stem_responses(x, pick: dict, maps: dict, source: str, channels: int = 8) -> Figure:
    """Fig. 3 regenerated: per picked input (name -> its index in ``x``), the input dynamic
    image and the first ``channels`` stem responses (``maps``: name -> ``LEARNet.lateral`` of
    that input), inverted, four to a row (two rows per input at the default eight)."""
    per_input = -(-channels // 4)
    fig, axes = plt.subplots(per_input * len(pick), 5, figsize=_column(1.55 * per_input * len(pick) + 0.4),
                             squeeze=False)
    for row, (name, i) in enumerate(pick.items()):
        _network_input(axes[row * per_input, 0], x[i], f"{name}\ndynamic image")
        for r in range(1, per_input):
            axes[row * per_input + r, 0].axis("off")
        for c in range(per_input * 4):
            ax = axes[row * per_input + c // 4, c % 4 + 1]
            if c < channels:
                _response(ax, maps[name]["stem"][0, c], f"stem ch {c}")
            else:
                ax.axis("off")
    fig.suptitle(f"Fig. 3 regenerated — first-layer (stem) responses, inverted, for two classes;\n{source}")
    fig.tight_layout()
    return fig


@_styled
def fig4_accretion(maps: dict, source: str, channels: int = 3) -> Figure:
    """Fig. 4 regenerated: path 2's first accretion layer, its two inputs (path 1's and path
    2's level-1 responses) and its output BN(sum), for the ``channels`` channels where the
    sum is strongest (``maps``: ``LEARNet.lateral`` of one input), inverted."""
    energy = maps["add1_1"][0].abs().flatten(1).sum(1)
    top = energy.argsort(descending=True)[:channels].tolist()
    fig, axes = plt.subplots(channels, 3, figsize=_column(2.6 * channels + 0.4), squeeze=False)
    for r, c in enumerate(top):
        for col, (key, title) in enumerate((("p1.1", "Conv-2.1 (path 1)"), ("p2.1", "Conv-2.2 (path 2)"),
                                            ("add1_1", "accretion: BN(sum)"))):
            _response(axes[r, col], maps[key][0, c], f"{title}\nchannel {c}")
    fig.suptitle(f"Fig. 4 regenerated — accretion inputs and response (inverted); {source}")
    fig.tight_layout()
    return fig


@_styled
def fig5_pooling_vs_stride(x, pooled, strided, source: str, label: str = "happiness", channels: int = 4) -> Figure:
    """Fig. 5 regenerated: the same stem filters on the input ``x`` (3, H, W) with (a) 2×2
    max pooling and (b) a stride-2 convolution (``tables.pooling_vs_stride``), for the
    ``channels`` channels that vary most under (b), inverted."""
    chans = strided[0].flatten(1).std(1).argsort(descending=True)[:channels].tolist()
    fig, axes = plt.subplots(2, channels + 1, figsize=_column(3.8))
    for row, (t, name) in enumerate(((pooled, "(a) max pooling"), (strided, "(b) stride-2 conv"))):
        _network_input(axes[row, 0], x, f"input ({label})")
        for j, c in enumerate(chans):
            _response(axes[row, j + 1], t[0, c], f"{name},\nch {c}")
    fig.suptitle(f"Fig. 5 regenerated — same filters, two ways to halve the map (inverted); {source}")
    fig.tight_layout()
    return fig


@_styled
def fig6_stem_responses(x, stem, source: str, label: str = "happiness") -> Figure:
    """Fig. 6 regenerated: the input ``x`` (3, H, W) and its 16 stem responses (``stem``:
    (16, h, w)), inverted, four to a row."""
    fig, axes = plt.subplots(4, 5, figsize=_column(6.6))
    _network_input(axes[0, 0], x, f"input\n({label})")
    for ax in axes[1:, 0]:
        ax.axis("off")
    for c in range(16):
        _response(axes[c // 4, c % 4 + 1], stem[c], f"ch {c}")
    fig.suptitle(f"Fig. 6 regenerated — the 16 stem responses to one image (inverted); {source}")
    fig.tight_layout()
    return fig


# --- chapters 4-6: training, results, protocols ------------------------------------------------------------


def heatmap(ax, values, rows, columns, *, xlabel: str, ylabel: str, labels_on_top: bool = False):
    """A matrix of shares (0..1; a confusion matrix normalised) on ``ax`` as a blue heatmap with
    each cell's value written in it: the one style of every confusion matrix the book draws
    (:func:`confusion`, :func:`confusion_as_printed`). Returns the image (for a colorbar)."""
    values = np.asarray(values, dtype=float)
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(columns)), list(columns), rotation=45, ha="right", fontsize=MIN_FONT_PT)
    ax.set_yticks(range(len(rows)), list(rows), fontsize=MIN_FONT_PT)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if labels_on_top:
        ax.xaxis.set_label_position("top")
    for i, j in np.ndindex(values.shape):
        ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=MIN_FONT_PT,
                color="white" if values[i, j] > 0.5 else "black")
    return image


@_styled
def learning_curves(histories, source: str, *, model: str, dataset: str, protocol: str, profile: str,
                    chance: float) -> Figure:
    """The training chapter's learning curves: loss (left) and accuracy (right) per epoch, of
    training and, where recorded, validation, each the mean over the folds' ``histories`` (a
    record's ``extra.history``); ``chance``: the accuracy of the largest class, drawn dotted."""

    def mean(key):
        curves = [h[key] for h in histories if h.get(key)]
        return np.mean(curves, axis=0) if curves else None

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=_column(3.4))
    epochs = np.arange(1, len(mean("loss")) + 1)
    for ax, key, what in ((ax1, "loss", "cross-entropy loss"), (ax2, "accuracy", "accuracy")):
        ax.plot(epochs, mean(key), "o-", label="training")
        if mean(f"val_{key}") is not None:
            ax.plot(epochs, mean(f"val_{key}"), "s--", label="validation")
        ax.set(xlabel="epoch", ylabel=f"{what} (mean over folds)")
    ax2.axhline(chance, color="grey", lw=1, ls=":", label="largest class")
    ax2.set(ylim=(0, 1.02))
    ax2.legend(loc="lower right")
    ax1.legend()
    fig.suptitle(f"{model} on {dataset} ({source}), protocol {protocol}, profile {profile}")
    fig.tight_layout()
    return fig


@_styled
def subject_accuracy(units, source: str, *, model: str, dataset: str, protocol: str, low: float, high: float,
                     chance: float) -> Figure:
    """The training chapter's accuracy by test subject (``units``: one row per subject with
    ``unit``, ``total`` test clips and ``accuracy``, :func:`tables.subject_numbers`): a bar per
    subject, labelled with its clips; the pooled accuracy as a line with its 95 % interval
    over subjects shaded (``low``..``high``), and the largest class's share dotted."""
    fig, ax = plt.subplots(figsize=_column(3.2))
    x = np.arange(len(units))
    ax.bar(x, units["accuracy"], color="#4c72b0")
    pooled = float(units["correct"].sum() / units["total"].sum())
    if np.isfinite(low) and np.isfinite(high):
        ax.axhspan(low, high, color="#dd8452", alpha=0.2, label="95 % interval over subjects")
    ax.axhline(pooled, color="#dd8452", lw=1.5, label=f"pooled accuracy {pooled:.2f}")
    ax.axhline(chance, color="grey", lw=1, ls=":", label="largest class")
    ax.set_xticks(list(x), [f"{u} ({int(n)})" for u, n in zip(units["unit"], units["total"])],
                  rotation=90 if len(units) > 8 else 0)
    ax.set(ylim=(0, 1.3), yticks=np.linspace(0, 1, 6), xlabel="test subject (test clips)", ylabel="accuracy")
    ax.legend(loc="upper right", ncols=3)   # in the band above 1, clear of the bars
    ax.set_title(f"{model} on {dataset} ({source}), protocol {protocol}: accuracy by test subject")
    fig.tight_layout()
    return fig


@_styled
def confusion(cm, labels, source: str, *, dataset: str, protocol: str) -> Figure:
    """The training chapter's pooled confusion matrix (``cm``: counts, rows true, columns
    predicted, in the order of ``labels``), each row normalised to the share of its true class."""
    fig, ax = plt.subplots(figsize=_column(5.4))
    image = heatmap(ax, metrics.normalize_rows(cm), labels, labels, xlabel="predicted class", ylabel="true class")
    fig.colorbar(image, ax=ax, label="share of the true class")
    ax.set_title(f"{dataset} ({source}), {protocol}: pooled confusion")
    fig.tight_layout()
    return fig


@_styled
def confusion_as_printed(number: int, dataset: str, printed, ours, protocol: str | None, source: str,
                         profile: str) -> Figure:
    """Fig. ``number`` (7-10) as the paper prints it (left) beside ours (right; None: not run,
    the panel names the command that runs it), both in the paper's class order and orientation:
    columns the true class ('TRUE LABEL' on top), rows the predicted one
    (:func:`tables.confusion_beside_paper` makes both tables)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=_column(4.6), layout="constrained")
    _as_printed(left, printed, f"Fig. {number} as printed (paper, {dataset})", "the paper's LEARNet")
    if ours is None:
        right.axis("off")
        right.text(0.5, 0.5, f"not run in this build:\nlearnet-lite reproduce --profile {profile}\n"
                   f"--datasets {dataset} --models learnet", ha="center", va="center")
    else:
        _as_printed(right, ours, f"ours ({source}), {protocol}", f"LEARNet, profile {profile}, pooled over folds")
    fig.suptitle(f"Fig. {number}: {dataset}; ours on {source}")
    return fig


def _as_printed(ax, frame, title: str, caption: str) -> None:
    heatmap(ax, frame.to_numpy(dtype=float), frame.index, frame.columns, xlabel="TRUE LABEL",
            ylabel="PREDICTED LABEL", labels_on_top=True)
    ax.set_title(title)
    ax.text(0.5, -0.32, caption, transform=ax.transAxes, ha="center", fontsize=MIN_FONT_PT)


@_styled
def scores_by_protocol(scores, source: str, *, model: str, dataset: str, profile: str, chance: float,
                       chance_uar: float) -> Figure:
    """The protocols chapter's bars: pooled accuracy and UAR of each run (``scores``: one row per
    run, :func:`tables.protocol_scores`), with the accuracy of the largest class (``chance``)
    and the UAR of guessing (``chance_uar``)."""
    fig, ax = plt.subplots(figsize=_column(3.6))
    x = np.arange(len(scores))
    ax.bar(x - 0.2, scores["accuracy"], width=0.4, label="accuracy")
    ax.bar(x + 0.2, scores["uar"], width=0.4, label="UAR")
    ax.axhline(chance, color="grey", ls=":", lw=1, label="accuracy of the largest class")
    ax.axhline(chance_uar, color="grey", ls="--", lw=1, label="UAR of guessing")
    ax.set_xticks(list(x), scores.index)
    ax.set(ylabel="pooled test score", ylim=(0, 1))
    ax.legend(loc="upper right")
    ax.set_title(f"{model} on {dataset} ({source}), profile {profile}")
    fig.tight_layout()
    return fig


# --- chapter 7: the handcrafted baselines --------------------------------------------------------------------


ROW_COLOUR, COLUMN_COLOUR = "#c44e00", "#2e7d32"  # the XT row and the YT column of lbp_top_planes


@_styled
def lbp_top_planes(volume, codes, source: str, *, clip: str = "", y: int | None = None, x: int | None = None,
                   points: int = 4) -> Figure:
    """Chapter 7: LBP-TOP's three planes through a grey (T, H, W) clip (top: the XY frame in the
    middle of the clip, with the row ``y`` and the column ``x`` marked; the XT plane of row ``y``
    and the YT plane of column ``x`` over time) and the codes of each plane at that frame
    (bottom; ``codes``: ``handcrafted.plane_codes(volume)``, each (T', H - 2, W - 2), the T'
    frames that have all their time neighbours, centred in the clip). ``y``, ``x``: the middle
    row and column unless given; ``points``: neighbours per plane (codes 0..2^points - 1)."""
    volume = np.asarray(volume)
    T, H, W = volume.shape
    y = H // 2 if y is None else int(y)
    x = W // 2 if x is None else int(x)
    n = codes["xy"].shape[0]
    k = n // 2  # the code frame in the middle of the ones that have all their time neighbours
    t = (T - n) // 2 + k  # the clip frame it belongs to
    fig, axes = plt.subplots(2, 3, figsize=_column(5.6), layout="constrained")
    xy, xt, yt = axes[0]
    xy.imshow(volume[t], cmap="gray", vmin=0, vmax=255)
    xy.axhline(y, color=ROW_COLOUR, lw=1.2)
    xy.axvline(x, color=COLUMN_COLOUR, lw=1.2)
    xy.set_title(f"XY: frame {t + 1} of {T}")
    xt.imshow(volume[:, y, :], cmap="gray", vmin=0, vmax=255, aspect="auto", extent=(-0.5, W - 0.5, T + 0.5, 0.5))
    xt.set(xlabel="x (px)", ylabel="frame t")
    xt.set_title(f"XT: row y = {y} (orange)", color=ROW_COLOUR)
    yt.imshow(volume[:, :, x].T, cmap="gray", vmin=0, vmax=255, aspect="auto", extent=(0.5, T + 0.5, H - 0.5, -0.5))
    yt.set(xlabel="frame t", ylabel="y (px)")
    yt.set_title(f"YT: column x = {x} (green)", color=COLUMN_COLOUR)
    for ax in (xt, yt):
        ax.tick_params(labelsize=MIN_FONT_PT)
    xy.set_xticks([])
    xy.set_yticks([])
    top = 2 ** int(points) - 1
    for ax, plane, what in zip(axes[1], ("xy", "xt", "yt"), ("x and y", "x and t", "y and t")):
        image = ax.imshow(codes[plane][k], cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
        ax.set_title(f"{plane.upper()} codes: {what} neighbours", fontsize=MIN_FONT_PT)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=list(axes[1]), shrink=0.8, label=f"LBP code (0-{top})")
    fig.suptitle(f"{source}: LBP-TOP of {clip}" if clip else f"{source}: LBP-TOP")
    return fig


@_styled
def mdmo_directions(first, shown, regions, directions, source: str, *, clip: str = "", frame: str = "",
                    arrow_px: float = 18.0) -> Figure:
    """Chapter 7: MDMO on one frame of a clip. Left: the 36 regions (``regions``:
    ``handcrafted.regions(h, w)``, (name, mask) pairs) over the first frame ``first``. Right:
    the frame ``shown`` with each region's main direction (``directions``:
    ``handcrafted.region_directions``, ``rho`` px, ``theta`` radians, image y down, centroids
    ``x``, ``y``) as an arrow from its centroid, all scaled alike so that the longest is
    ``arrow_px`` px; ``frame`` names the shown frame in the title."""
    first, shown = np.asarray(first), np.asarray(shown)
    fig, (left, right) = plt.subplots(1, 2, figsize=_column(5.0), layout="constrained")
    label = np.full(first.shape[:2], -1)
    for k, (_, mask) in enumerate(regions):
        label[np.asarray(mask, bool)] = k
    colours = plt.get_cmap("tab20")(np.arange(len(regions)) % 20)
    overlay = np.zeros(first.shape[:2] + (4,))
    overlay[label >= 0] = colours[label[label >= 0]]
    overlay[label >= 0, 3] = 0.55
    left.imshow(first, cmap="gray", vmin=0, vmax=255)
    left.imshow(overlay)
    left.set_title(f"{len(regions)} regions, a fixed template")
    rho = directions["rho"].to_numpy(float)
    theta = directions["theta"].to_numpy(float)
    largest = float(rho.max()) if len(rho) else 0.0
    scale = arrow_px / largest if largest > 0 else 1.0
    right.imshow(shown, cmap="gray", vmin=0, vmax=255)
    right.quiver(directions["x"], directions["y"], scale * rho * np.cos(theta), scale * rho * np.sin(theta),
                 angles="xy", scale_units="xy", scale=1, color="#ffd92f", width=0.012, headwidth=3.5)
    right.set_title("main direction per region" + (f"\n{frame}" if frame else ""))
    note = (f"arrows \u00d7{scale:.1f}: the longest is {largest:.2f} px of flow" if largest > 0
            else "no flow in any region")
    right.text(0.5, -0.04, note, transform=right.transAxes, ha="center", va="top", fontsize=MIN_FONT_PT)
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{source}: MDMO of {clip}" if clip else f"{source}: MDMO")
    return fig


# --- appendix: what the paper grid costs on GPUs ------------------------------------------------------------


@_styled
def grid_cost(cells, source: str, *, gpu: str, readings=cost.READINGS) -> Figure:
    """GPU-hours of the grid per network, stacked by protocol, one panel per reading of the
    networks never timed (``cells``: :attr:`learnet_lite.cost.GridCost.cells`); ``source``
    says what the timed runs were made on."""
    networks = list(dict.fromkeys(cells["model"]))
    protocols = list(dict.fromkeys(cells["protocol"]))
    fig, axes = plt.subplots(1, len(readings), figsize=_column(3.4), sharey=True)
    axes = np.atleast_1d(axes)
    y = np.arange(len(networks))
    for ax, reading in zip(axes, readings):
        left = np.zeros(len(networks))
        for protocol in protocols:
            hours = np.array([float(cells.loc[(cells["model"] == m) & (cells["protocol"] == protocol),
                                              f"hours {reading}"].sum()) for m in networks])
            ax.barh(y, hours, left=left, label=protocol)
            left += hours
        for yi, total in zip(y, left):
            ax.text(total, yi, f" {total:.1f}", va="center", fontsize=MIN_FONT_PT)
        ax.set_xlim(0, left.max() * 1.25)
        ax.set_xlabel("GPU-hours")
        ax.set_title(f"untimed networks {cost.READING_LABELS[reading]}")
    axes[0].set_yticks(list(y), [tables.METHOD_NAMES.get(m, m) for m in networks])
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="protocol", loc="lower center", ncol=len(protocols))
    fig.suptitle(f"The paper grid's GPU-hours, from runs timed on an {gpu} ({source})")
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig
