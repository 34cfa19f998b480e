"""The figures of chapters 1-3 (learnet_lite.figures), drawn from small data made here: each
returns a new Figure with its panels, and a figure of data names the data in its title."""

from __future__ import annotations

import cv2
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from learnet_lite import dynamic, figures, synthetic  # noqa: E402

pytestmark = pytest.mark.usefixtures("legible_figures")


SOURCE = "synthetic twin"
CLASSES = ("happiness", "disgust", "surprise", "repression")
SIZE = (52, 44)  # (H, W): small faces, quick to render


@pytest.fixture(scope="module")
def subject():
    return synthetic.make_subject(np.random.default_rng(0), SIZE)


@pytest.fixture(scope="module")
def clips(tmp_path_factory, subject):
    """A clip table as ``datasets.load`` returns it: two clips per class, frames on disk,
    numbered from the onset, the apex coded."""
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(1)
    rows = []
    for k, emotion in enumerate(CLASSES):
        code = synthetic.EMOTION_AUS[emotion][0]
        for s in range(2):
            n, onset, apex = 9, 20 + k, 4
            frames = synthetic.render_clip(subject, code, n, apex, 60, 1.0, rng, jpeg=False)
            folder = root / f"sub{s:02d}" / f"EP0{k}_{s}"
            folder.mkdir(parents=True)
            paths = []
            for t, frame in enumerate(frames):
                paths.append(str(folder / f"img{onset + t}.png"))
                cv2.imwrite(paths[-1], cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            rows.append(dict(dataset="casme2", subject=f"sub{s:02d}", clip=folder.name, emotion=emotion, aus=code,
                             onset=onset, apex=onset + apex, offset=onset + n - 1, n_frames=n, fps=200, frames=paths))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def clip(clips):
    from learnet_lite.frames import read_frames

    return read_frames(clips["frames"].iloc[0])


def titled(fig: Figure, source: str = SOURCE) -> bool:
    """Whether the figure's title (or, without one, an axis title) names ``source``."""
    texts = [fig._suptitle.get_text()] if fig._suptitle is not None else [ax.get_title() for ax in fig.axes]
    return any(source in t for t in texts)


# --- chapter 1

def test_clip_frames(clip, clips):
    row = clips.iloc[0]
    fig = figures.clip_frames(clip, row, SOURCE)
    assert isinstance(fig, Figure) and titled(fig)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == len(titles) == 5 and "frame 5 (apex)" in titles  # apex: frame number 24, 5th frame
    assert f"{row['subject']}/{row['clip']}" in fig._suptitle.get_text()


def test_pooling_weights_draws_weights_only(clip):
    T = len(clip)
    fig = figures.pooling_weights(dynamic.rank_pooling_weights(T, "bilen"), dynamic.rank_pooling_weights(T, "learnet"))
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and fig._suptitle is None  # no data, no source
    assert fig.axes[0].get_title() == f"Rank pooling weights, T = {T}"
    assert len(fig.axes[0].get_lines()) == 3  # two weightings and the zero line


def test_appearance_leak(clip):
    numbers, (bilen, code, mean_frame) = dynamic.appearance_leak(clip)
    assert set(numbers) == {"corr_bilen_mean", "corr_code_mean", "still_bilen_max"}
    assert numbers["still_bilen_max"] < 1e-6 and numbers["corr_code_mean"] > numbers["corr_bilen_mean"]
    fig = figures.appearance_leak(clip, mean_frame, bilen, code, SOURCE)
    assert len(fig.axes) == 4 and titled(fig)
    assert [ax.get_title() for ax in fig.axes][-1] == "dynamic image, authors' code"


def test_exact_vs_approximate(clip):
    numbers, sweep = dynamic.exact_vs_approximate(clip, 16, Cs=(0.01, 100.0))
    assert numbers["exact_side"] == 16 and max(sweep["small"].shape[1:3]) == 16
    assert list(numbers)[:2] == ["exact_side", "approx_ordered"] and len(sweep["rows"]) == 2
    fig = figures.exact_vs_approximate(sweep, SOURCE)
    assert len(fig.axes) == 4 and titled(fig)
    assert fig.axes[2].get_title() == "exact, C = 100"
    assert f"at {sweep['small'].shape[2]}x{sweep['small'].shape[1]}" in fig._suptitle.get_text()


def test_fig1_weightings(clips):
    fig = figures.fig1_weightings(clips.iloc[2:], SOURCE)  # no happiness clip: three columns
    assert len(fig.axes) == 3 * 3 and titled(fig)
    assert fig.axes[0].get_title().startswith("disgust")


def test_weight_sums():
    assert dynamic.weight_sums(7) == {"bilen_sum": 0.0, "learnet_sum": pytest.approx(7.0), "learnet_w2": [1.0, 1.0]}


# --- chapter 2

def test_subject_faces(clips):
    fig = figures.subject_faces(clips, 5, SOURCE)
    assert len(fig.axes) == 2 and titled(fig)  # two subjects in the table
    assert [ax.get_title() for ax in fig.axes] == ["sub00", "sub01"]


def test_frames_and_differences(clip, clips):
    fig = figures.frames_and_differences(clip, clips.iloc[0], SOURCE)
    assert len(fig.axes) == 2 * 5 and titled(fig)  # frames 0, 2, 4 (the apex), 6, 8
    assert fig.axes[2].get_title() == "frame 24 (apex)" and fig.axes[5].get_title() == "minus onset"


def test_au_fields(subject):
    fig = figures.au_fields(subject, codes=("6+12", "9"))
    assert len(fig.axes) == 3 and titled(fig, "Synthetic twin")
    assert fig.axes[-1].get_title() == "time course"


def test_amplitude_dial(subject):
    dial = pd.DataFrame({"amplitude_px": [0.5, 1.0], "apex frame": [0.3, 0.4], "mean frame": [0.25, 0.3],
                         "dynamic image": [0.6, 0.9], "chance": [0.25, 0.25]}).set_index("amplitude_px")
    assert synthetic.dial_accuracies(dial, 1.0) == {"acc_apex": 0.4, "acc_mean": 0.3, "acc_dynamic": 0.9,
                                                    "chance": 0.25, "dial_low": 0.5, "dial_low_apex": 0.3,
                                                    "dial_low_dynamic": 0.6}
    fig = figures.amplitude_dial(dial, subject)
    assert len(fig.axes) == 3 and titled(fig, "Synthetic twin")
    assert len(fig.axes[-1].get_lines()) == 4  # three inputs and chance


@pytest.mark.parametrize("source, marked", [("synthetic twin", True), ("licensed data", False)])
def test_fig1_dynamic_images(clips, source, marked):
    fig = figures.fig1_dynamic_images(clips, CLASSES, source)
    assert len(fig.axes) == 2 * len(CLASSES) and titled(fig, source)
    assert fig._suptitle.get_text().endswith("(synthetic data)") == marked


# --- chapter 3

@pytest.fixture(scope="module")
def trained():
    """A LEARNet (untrained: the figures only draw its maps) and two inputs, one per class."""
    torch = pytest.importorskip("torch")
    from learnet_lite import models, train

    torch.manual_seed(0)
    net = models.build("learnet", 2)
    x = torch.randn(2, 3, 112, 112)
    pick, maps = train.class_responses(net, x, torch.tensor([1, 0]), ["disgust", "happiness"], ("disgust", "happiness"))
    return net, x, pick, maps


def test_class_responses(trained):
    _, _, pick, maps = trained
    assert pick == {"disgust": 1, "happiness": 0}
    assert maps["disgust"]["stem"].shape == (1, 16, 56, 56) and "add1_1" in maps["disgust"]


def test_fig2_architecture():
    pytest.importorskip("torch")
    from learnet_lite import models

    fig = figures.fig2_architecture(models.build("learnet", 8), models.build("learnet", 8, accretion=False))
    assert len(fig.axes) == 2 and fig._suptitle is None  # drawn from the modules, not from data
    assert fig.axes[0].get_title().startswith("LEARNet") and fig.axes[1].get_title().startswith("ablation")
    accretion = [sum(t.get_text().startswith("accretion") for t in ax.texts) for ax in fig.axes]
    assert accretion == [4, 0]  # Add-1.1, Add-1.2, Add-2.1, Add-2.2; none in the ablation


def test_fig3_stem_responses(trained):
    _, x, pick, maps = trained
    fig = figures.fig3_stem_responses(x, pick, maps, SOURCE)
    assert len(fig.axes) == 4 * 5 and titled(fig) and fig._suptitle.get_text().startswith("Fig. 3")  # 2 rows an input
    assert [fig.axes[k].get_title() for k in (0, 10)] == ["disgust\ndynamic image", "happiness\ndynamic image"]
    assert fig.axes[4].get_title() == "stem ch 3" and fig.axes[6].get_title() == "stem ch 4"


def test_fig4_accretion(trained):
    from learnet_lite import tables

    maps = trained[3]["disgust"]
    fig = figures.fig4_accretion(maps, SOURCE)
    assert len(fig.axes) == 3 * 3 and titled(fig) and fig._suptitle.get_text().startswith("Fig. 4")
    assert -1.0 <= tables.accretion_input_correlation(maps) <= 1.0


def test_fig5_pooling_vs_stride(trained):
    from learnet_lite import tables

    net, x, _, _ = trained
    numbers, pooled, strided = tables.pooling_vs_stride(net, x[:1])
    assert numbers["fig5_shape"] == "(56, 56)" and pooled.shape == strided.shape == (1, 16, 56, 56)
    assert numbers["fig5_relative_difference"] > 0
    fig = figures.fig5_pooling_vs_stride(x[0], pooled, strided, SOURCE)
    assert len(fig.axes) == 2 * 5 and titled(fig) and fig._suptitle.get_text().startswith("Fig. 5")


def test_fig6_stem_responses(trained):
    _, x, _, maps = trained
    fig = figures.fig6_stem_responses(x[0], maps["happiness"]["stem"][0], SOURCE)
    assert len(fig.axes) == 4 * 5 and titled(fig) and fig._suptitle.get_text().startswith("Fig. 6")  # four to a row
    assert fig.axes[-1].get_title() == "ch 15"


def test_chapters_one_to_three_state_their_settings():
    from learnet_lite import profiles, tables

    book, smoke = profiles.load("book"), profiles.load("smoke")
    one = tables.chapter_settings(book, 1)
    assert one.startswith("profile book; data: ") and f"at most {book.exact_max_side} px" in one
    assert f"{book.twin_amplitude:g} px at their apex" in one or "licensed" in one
    assert f"{smoke.data_subjects} faces shown" in tables.chapter_settings(smoke, 2)
    three = tables.chapter_settings(book, 3)
    assert f"{book.model_epochs} epochs (the paper: 100, Sec. IV)" in three
    assert "(the paper" not in tables.chapter_settings(profiles.load("paper"), 3)   # the paper's own: nothing beside
    with pytest.raises(ValueError, match="chapters 1-3"):
        tables.chapter_settings(book, 4)
