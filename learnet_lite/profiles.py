"""Run profiles: every setting of the companion, once, in the frozen dataclass :class:`Profile`.

Four profiles are built in (``notebooks/params/<name>.yaml``): ``smoke`` (every notebook in
seconds, for the tests), ``book`` (what ``make book`` runs on a laptop CPU), ``paper`` (every
setting the paper states, Sec. IV, and ours where it states none, each marked in the file;
meant for a GPU and the licensed data) and ``matlab`` (``paper`` with MATLAB R2018a's
documented training defaults where the paper is silent: the authors' framework, Sec. IV).
Every notebook
takes a ``profile`` parameter and every CLI command ``--profile``; both go through
:func:`load`, which also takes the path of a user's own YAML file. Each field below says
what it means and whether its value is the paper's (with the section) or ours.
"""

from __future__ import annotations

import os
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

PROFILES = ("smoke", "book", "paper", "matlab")

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILE_DIR = REPO_ROOT / "notebooks" / "params"

# allowed values of the settings that name a choice
CHOICES = {"layout": ("cropped", "raw"), "on_error": ("raise", "skip"),
           "variant": ("bilen", "learnet", "apex-frame"),
           "aug_equalization": ("luma", "channels", None),
           "protocols": ("paper", "paper-leaky", "loso", "kfold"),
           "init": ("pytorch", "matlab-r2018a"), "shuffle": ("every-epoch", "once"),
           "datasets": ("casme", "casme2", "casme_sq", "smic", "smic_2class"),
           "models": ("learnet", "vgg16", "vgg19", "resnet18", "resnet34", "googlenet",
                      # Tables III-IV's handcrafted rows (learnet_lite.handcrafted)
                      "lbptop-svm", "lbptop-elm", "mdmo-svm")}
HANDCRAFTED = ("lbptop-svm", "lbptop-elm", "mdmo-svm")  # the models that are no network (learnet_lite.handcrafted)
HANDCRAFTED_VARIANT = "frames"  # their records' variant: they read the clip's frames, not a network input


def setting(default, meaning: str, paper: str | None = None):
    """A :class:`Profile` field: its default, a one-line meaning and, for the paper's
    settings, where the paper states it (``None``: the setting is ours)."""
    if isinstance(default, list):
        default = tuple(default)
    return field(default=default, metadata={"meaning": meaning, "paper": paper})


@dataclass(frozen=True)
class Profile:
    """Every setting of a run. The defaults are the paper's where it states one (Sec. IV),
    so ``Profile(name="x")`` is the paper's experiment; the built-in profiles set every key."""

    name: str = setting("custom", "the profile's name: smoke | book | paper, or the stem of a user's YAML file")
    seed: int = setting(0, "seed of the chapters' sampling and of chapter 3's training run")
    # chapter 1: dynamic images
    exact_max_side: int = setting(224, "exact rank pooling (Eq. 2) runs on frames downsampled to this side")
    # the data
    layout: str = setting("cropped", "frames read: cropped (the releases' face crops) | raw (face found and cropped, "
                                     "learnet_lite.faces)")
    on_error: str = setting("skip", "a clip with a defect: skip (left out, listed in every 'data used' table) | raise")
    twin_seed: int = setting(0, "seed of the synthetic twins (used where DATA_ROOT lacks a dataset)")
    twin_scale: float = setting(1.0, "share of each twin's clips generated (1.0: the release's counts, Table II)")
    twin_amplitude: float = setting(3.0, "peak action-unit displacement of the twins, pixels (the difficulty dial)")
    # chapter 2: the data
    data_subjects: int = setting(8, "faces shown in chapter 2")
    data_dial: tuple[float, ...] = setting((0.5, 1.0, 2.0, 4.0), "twin amplitudes compared in chapter 2's dial")
    data_honesty_subjects: int = setting(26, "subjects in chapter 2's frame-vs-motion check")
    # chapter 3: the model
    model_epochs: int = setting(100, "epochs of chapter 3's training run", "Sec. IV: 100 epochs")
    # training (chapters 3-6)
    epochs: int = setting(100, "training epochs of every run (fixed; no early stopping)", "Sec. IV: 100 epochs")
    batch_size: int = setting(25, "mini-batch size", "Sec. IV: mini batch size 25")
    lr: float = setting(1e-3, "SGD learning rate", "Sec. IV: learning rate 1e-3, SGD")
    momentum: float = setting(0.9, "SGD momentum (the paper states none; 0.9 is MATLAB's sgdm default; 0: plain SGD)")
    weight_decay: float = setting(0.0, "L2 regularisation on weights and batch-norm scale/offset, not on conv/linear "
                                       "biases, as MATLAB applies it (none stated; MATLAB's default 1e-4)")
    init: str = setting("pytorch", "initial weights: pytorch (torch's layer defaults) | matlab-r2018a "
                                   "(N(0, 0.01²) weights, zero biases: learnet_lite.train.matlab_init)")
    shuffle: str = setting("every-epoch", "training order: every-epoch (reshuffled each epoch) | once "
                                          "(shuffled before the first epoch only: MATLAB's default)")
    checkpoint_every: int = setting(1, "epochs between training checkpoints (a resumed run continues from the last)")
    variant: str = setting("bilen", "network input the chapters show: the bilen | learnet dynamic image, or "
                                    "apex-frame (control)")
    variants: tuple[str, ...] = setting(("bilen",), "network inputs the grid trains; variant first, added where "
                                                    "missing (Profile.grid_variants)")
    # the grid: Tables III and IV
    datasets: tuple[str, ...] = setting(CHOICES["datasets"], "datasets of the grid (smic_2class: SMIC, 2 classes)",
                                        "Tables III-IV")
    models: tuple[str, ...] = setting(("learnet", "vgg16", "vgg19", "resnet18", "lbptop-svm", "lbptop-elm", "mdmo-svm"),
                                      "methods of the grid: networks and the handcrafted baselines",
                                      "Table III: LEARNet, VGG-16, VGG-19, ResNet, LBP-TOP-SVM/-ELM, MDMO-SVM")
    protocols: tuple[str, ...] = setting(CHOICES["protocols"], "protocols run (learnet_lite.protocols)")
    kfold_folds: int = setting(5, "folds of the kfold protocol (every clip tested once)",
                               "Sec. IV: \"N-fold cross validation\", 80:20, \"5 times\"")
    repeats: int = setting(5, "random repeats (seeds 0..n-1), averaged", "Sec. IV: repeated 5 times, averaged")
    test_size: float = setting(0.2, "test share of the random clip split", "Sec. IV: 80:20")
    val_size: float = setting(0.3, "validation share of the training part (LOSO: of its subjects)", "Sec. IV: 70:30")
    loso_groups: int | None = setting(None, "LOSO with the subjects dealt into this many groups"
                                            " (null: one per subject)")
    # augmentation (Sec. IV)
    aug_angles: tuple[int, ...] = setting((-45, -30, -15, 0, 15, 30, 45), "rotations of every training image, degrees",
                                          "Sec. IV: [-45°, 45°] in steps of 15°")
    aug_equalization: str | None = setting("luma", "histogram equalization: luma | channels | null (none)",
                                           "Sec. IV: histogram equalization")
    aug_keep_unequalized: bool = setting(False, "keep the un-equalized rotations too (28 copies, not 14)")
    aug_flip: bool = setting(True, "add a horizontally flipped copy of every image", "Sec. IV: flipped horizontally")

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, value := tuple(value))
            _check_value(f, value, f"profile {self.name!r}")
        if self.kfold_folds < 2:
            raise ValueError(f"profile {self.name!r}: setting 'kfold_folds' = {self.kfold_folds}: expected 2 or more")

    @property
    def grid_variants(self) -> tuple[str, ...]:
        """The inputs the grid trains: ``variant`` (what the chapters show), then the other ``variants``."""
        return tuple(dict.fromkeys((self.variant, *self.variants)))

    @classmethod
    def describe(cls) -> list[dict]:
        """One row per setting: name, default, meaning and the paper's word (for the docs)."""
        return [{"setting": f.name, "default": f.default, "meaning": f.metadata["meaning"],
                 "paper": f.metadata["paper"]} for f in fields(cls)]


def _check_value(f, value, where: str) -> None:
    hint = typing.get_type_hints(Profile)[f.name]
    if not _is(value, hint):
        raise ValueError(f"{where}: setting {f.name!r} = {value!r}: expected {_type_name(hint)}")
    allowed = CHOICES.get(f.name) or (CHOICES["variant"] if f.name == "variants" else None)
    if allowed is not None:
        for v in value if isinstance(value, tuple) else (value,):
            if v not in allowed:
                raise ValueError(f"{where}: setting {f.name!r}: {v!r} is not one of {', '.join(map(str, allowed))}")


def _is(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_is(value, h) for h in typing.get_args(hint))
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, tuple) and all(_is(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(hint)[0])}"
    return "null" if hint is type(None) else {"int": "an integer", "float": "a number", "bool": "true or false",
                                               "str": "a string"}.get(hint.__name__, hint.__name__)


def load(profile: str | os.PathLike | Profile) -> Profile:
    """The :class:`Profile` named ``profile`` (``smoke``, ``book``, ``paper``) or read from a
    YAML file at that path. A file sets every setting, or names a built-in profile under
    ``base:`` and sets only what differs. An unknown or missing key, or a value of the wrong
    type, is an error naming the file and the key. A :class:`Profile` is returned as is."""
    if isinstance(profile, Profile):
        return profile
    text = str(profile)
    if text in PROFILES:
        path, name = PROFILE_DIR / f"{text}.yaml", text
    elif text.endswith((".yaml", ".yml")) or os.sep in text or "/" in text:
        path = Path(text).expanduser()
        name = path.stem
        if not path.is_file():
            raise FileNotFoundError(f"profile file {path} does not exist")
    else:
        raise ValueError(f"unknown profile {text!r}: expected one of {', '.join(PROFILES)} or a path to a YAML file")
    settings = _read(path)
    base = settings.pop("base", None)
    known = {f.name for f in fields(Profile)} - {"name"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    if base is not None:
        if base not in PROFILES:
            raise ValueError(f"{path}: base {base!r}: expected one of {', '.join(PROFILES)}")
        settings = {**{k: v for k, v in vars(load(base)).items() if k != "name"}, **settings}
    missing = [k for k in sorted(known) if k not in settings]
    if missing:
        raise ValueError(f"{path}: setting {missing[0]!r} is missing (set it, or name a built-in profile "
                         f"under 'base:' to take the others from)")
    try:
        return Profile(name=name, **settings)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _read(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            settings = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: expected a mapping of setting -> value at the top level")
    return settings


def twin_dir() -> Path:
    """Where the synthetic twins live (``data/synthetic``); never under ``DATA_ROOT``."""
    return REPO_ROOT / "data" / "synthetic"


def using_synthetic_data(dataset: str | None = None) -> bool:
    """True where a twin stands in: for ``dataset`` (a release name or ``smic_2class``), when
    ``$DATA_ROOT/<release>`` is not there; without a dataset, when ``DATA_ROOT`` is unset."""
    if dataset is None:
        return "DATA_ROOT" not in os.environ
    return not dataset_folder(dataset)[1]


def dataset_folder(dataset: str) -> tuple[Path, bool]:
    """Where a dataset's licensed copy would be and whether it is there ->
    ``($DATA_ROOT/<release>, True)`` when that folder exists, else ``(data/synthetic/<release>,
    False)``: a ``DATA_ROOT`` holding only some datasets (the usual case) serves those, and the
    others come from their twins. ``smic_2class`` reads SMIC's folder."""
    release = "smic" if dataset == "smic_2class" else dataset
    env = os.environ.get("DATA_ROOT")
    if env:
        folder = Path(env).expanduser() / release
        if folder.is_dir():
            return folder, True
    return twin_dir() / release, False
