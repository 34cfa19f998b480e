"""The typed run profile: one dataclass, three built-in files, a user's own YAML, clear errors,
and the book's per-dataset pages derived from it."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
import yaml
from conftest import REPO

from learnet_lite import profiles
from learnet_lite.profiles import Profile
from learnet_lite.student import notebook_of, toc_files


@pytest.mark.parametrize("name", profiles.PROFILES)
def test_builtin_profiles_set_every_setting(name):
    p = profiles.load(name)
    assert isinstance(p, Profile) and p.name == name
    written = yaml.safe_load((profiles.PROFILE_DIR / f"{name}.yaml").read_text())
    assert set(written) == {f.name for f in dataclasses.fields(Profile)} - {"name"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.epochs = 1


def test_every_setting_has_a_meaning_and_the_paper_ones_say_where():
    rows = Profile.describe()
    assert all(r["meaning"] for r in rows)
    paper = {r["setting"]: r["paper"] for r in rows if r["paper"]}
    assert {"epochs", "batch_size", "lr", "test_size", "val_size", "repeats", "aug_angles"} <= set(paper)
    assert all("Sec." in where or "Table" in where for where in paper.values())
    # the defaults are the paper's experiment, and the paper profile is them (data sizes aside)
    paper_profile = profiles.load("paper")
    for key in paper:
        assert getattr(paper_profile, key) == getattr(Profile(), key), key


def test_a_users_file_with_a_base(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("base: book\nepochs: 3\nmodels: [learnet, resnet18]\n")
    p = profiles.load(mine)
    assert p.name == "mine" and p.epochs == 3 and p.models == ("learnet", "resnet18")
    assert p.batch_size == profiles.load("book").batch_size
    assert profiles.load(str(mine)) == p and profiles.load(p) is p


@pytest.mark.parametrize("text, match", [
    ("base: book\nepoch: 3\n", "unknown setting 'epoch'"),
    ("epochs: 3\n", "setting '[a-z_]+' is missing"),
    ("base: book\nepochs: ten\n", "'epochs' = 'ten': expected an integer"),
    ("base: book\nlr: true\n", "'lr' = True: expected a number"),
    ("base: book\nvariant: mean\n", "'variant': 'mean' is not one of"),
    ("base: book\nmodels: [learnet, alexnet]\n", "'models': 'alexnet' is not one of"),
    ("base: nope\n", "base 'nope'"),
    ("- a list\n", "mapping"),
    ("epochs: [\n", "not valid YAML"),
])
def test_bad_files_name_the_file_and_the_key(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        profiles.load(path)
    assert str(path) in str(info.value)


def test_unknown_names_and_missing_files():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        profiles.load("fast")
    with pytest.raises(FileNotFoundError, match="nowhere.yaml"):
        profiles.load("nowhere.yaml")
    with pytest.raises(ValueError, match="'loso_groups' = 2.5"):
        Profile(loso_groups=2.5)


def _makefile_twins(profile: str) -> list[str]:
    out = subprocess.run(["make", "-s", "-f", "Makefile", "-f", "-", "print-twins", f"PROFILE={profile}"],
                         input="print-twins:\n\t@echo $(TWINS)\n", capture_output=True, text=True, cwd=REPO,
                         check=True)
    return out.stdout.split()


@pytest.mark.parametrize("name", profiles.PROFILES)
def test_the_per_dataset_pages_come_from_the_profile(name):
    datasets = list(profiles.load(name).datasets)
    assert _makefile_twins(name) == datasets
    per_dataset = [params["dataset"] for params in (notebook_of(page.split("/")[-1])[1] for page in toc_files())
                   if "dataset" in params]
    assert per_dataset == datasets   # _toc.yml lists the pages the Makefile writes


@pytest.mark.parametrize("name", ["paper", "matlab"])
def test_the_paper_profiles_mark_every_setting_as_the_papers_or_ours(name):
    """Each setting line says whose it is; a "paper:" line quotes sentences the paper has."""
    text = " ".join((REPO.parent / "shared" / "paper" / "learnet-paper.txt").read_text().split()) if (
        REPO.parent / "shared" / "paper" / "learnet-paper.txt").is_file() else None
    marks = ("paper:", "ours:") + (("matlab:",) if name == "matlab" else ())
    lines = [ln for ln in (profiles.PROFILE_DIR / f"{name}.yaml").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert len(lines) == len(dataclasses.fields(Profile)) - 1
    for line in lines:
        key, _, comment = line.partition("#")
        comment = comment.strip()
        assert comment.startswith(marks), f"{key.strip()}: says neither whose setting it is ({comment!r})"
        if comment.startswith("paper:") and text is not None:
            for quoted in comment.split('"')[1::2]:
                for piece in (p.strip() for p in quoted.split("...")):
                    assert piece in text, f"{key.strip()}: {piece!r} is not in the paper's text"
    assert "exact settings" not in (profiles.PROFILE_DIR / f"{name}.yaml").read_text()


def test_the_grid_trains_the_chapters_variant_first():
    p = dataclasses.replace(profiles.load("smoke"), variant="learnet", variants=("bilen",))
    assert p.grid_variants == ("learnet", "bilen")
    assert profiles.load("paper").grid_variants == ("bilen", "learnet")   # the authors' weights beside Bilen's
