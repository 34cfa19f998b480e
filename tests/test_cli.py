"""The command line (``learnet-lite``): every command's --help, --help without the heavy
imports, one option vocabulary, --profile checked at parse time, train's profile variant,
and the ``tables`` command. The commands' own runs are tested beside their steps
(test_datasets, test_synthetic, test_dynamic, test_experiment, test_data_layer)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pandas as pd
import pytest

from learnet_lite import cli, profiles, results

COMMANDS = ("synth", "check-data", "dynamic", "train", "reproduce", "tables", "student")
TRAIN = ["train", "--dataset", "casme2", "--protocol", "paper"]
# a valid command line of each command that takes --profile, without it
PROFILE_COMMANDS = {"train": TRAIN, "reproduce": ["reproduce"], "tables": ["tables"], "student": ["student"],
                    "synth": ["synth"]}


def subcommands() -> dict:
    """command -> its argparse parser."""
    (action,) = [a for a in cli.parser()._actions if a.dest == "command"]
    return dict(action.choices)


def options(command: str) -> dict:
    """option string -> argparse action of ``command``."""
    return {s: a for a in subcommands()[command]._actions for s in a.option_strings}


def test_every_command_is_here():
    assert tuple(subcommands()) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: learnet-lite {command}" in capsys.readouterr().out


def test_top_level_help_through_python_dash_m():
    done = subprocess.run([sys.executable, "-m", "learnet_lite.cli", "--help"], capture_output=True, text=True,
                          check=True)
    for command in COMMANDS:
        assert command in done.stdout
    assert "--data-root DIR" in done.stdout   # the shared vocabulary is in the epilog


def test_help_imports_neither_torch_nor_opencv_nor_pandas():
    code = f"""
import contextlib, io, sys
from learnet_lite import cli
with contextlib.redirect_stdout(io.StringIO()):
    cli.parser().print_help()
    for command in {COMMANDS!r}:
        try:
            cli.main([command, "--help"])
        except SystemExit:
            pass
print(" ".join(m for m in ("torch", "torchvision", "cv2", "pandas") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"--help imported {done.stdout.strip()}"


def test_the_cli_choices_are_the_library_choices():
    from learnet_lite import datasets, dynamic, experiment, models, protocols

    assert cli.RELEASES == datasets.DATASETS
    assert tuple(experiment.DATASETS) == cli.RUN_DATASETS
    assert cli.LAYOUTS == datasets.LAYOUTS
    assert cli.LABEL_SETS == datasets.LABEL_SETS
    assert cli.POOLING == dynamic.VARIANTS
    assert tuple(experiment.VARIANTS) == cli.VARIANTS
    assert cli.PROTOCOLS == protocols.PROTOCOLS
    assert cli.MODELS == models.NAMES + profiles.HANDCRAFTED  # the networks and the handcrafted methods


def test_no_module_registers_its_own_command():
    import importlib

    for name in ("dynamic", "results", "datasets", "synthetic", "student", "experiment"):
        module = importlib.import_module(f"learnet_lite.{name}")
        leftovers = [n for n in vars(module) if n == "add_cli" or n.startswith("_cli") or
                     (n.endswith("_command") and n != "fill_command")]
        assert not leftovers, (name, leftovers)


def test_one_meaning_per_option_name():
    by_command = {c: options(c) for c in COMMANDS}
    # --profile: every command that reads settings, each checked by profiles.load
    assert {c for c, o in by_command.items() if "--profile" in o} == set(PROFILE_COMMANDS)
    assert all(o["--profile"].type is cli._profile for o in by_command.values() if "--profile" in o)
    # where the command reads releases, where it writes, the run records, the old clashing names
    assert {c for c, o in by_command.items() if "--data-root" in o} == {"check-data"}
    assert {c for c, o in by_command.items() if "--out" in o} == {"synth", "student"}
    assert {c for c, o in by_command.items() if "--results" in o} == {"train", "reproduce", "tables"}
    assert {c for c, o in by_command.items() if "--force" in o} == {"synth", "dynamic", "train", "reproduce"}
    assert all("--root" not in o for o in by_command.values())
    assert "--seed" not in by_command["synth"] and "--twin-seed" in by_command["synth"]


@pytest.mark.parametrize("command", sorted(PROFILE_COMMANDS))
@pytest.mark.parametrize("value", ["nope", "no-such-profile.yaml"])
def test_a_bad_profile_is_a_usage_error_naming_it(command, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(PROFILE_COMMANDS[command] + ["--profile", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"learnet-lite {command}: error: argument --profile:" in err and value in err


def with_variant(profile, variant):
    """``profile`` (a dict of settings or a ``profiles.Profile``) with another ``variant``."""
    if isinstance(profile, dict):
        return {**profile, "variant": variant}
    return dataclasses.replace(profile, variant=variant)


@pytest.fixture
def fake_run(monkeypatch):
    """``experiment.run`` replaced by one that records its call and trains nothing."""
    from learnet_lite import experiment

    calls = []

    def run(dataset, protocol, model, profile, **kw):
        calls.append(dict(dataset=dataset, protocol=protocol, model=model, profile=profile, **kw))
        return []

    monkeypatch.setattr(experiment, "run", run)
    return calls


def test_train_defaults_to_the_profiles_variant(monkeypatch, fake_run):
    load = profiles.load
    monkeypatch.setattr(profiles, "load", lambda value: with_variant(load(value), "learnet"))
    assert cli.main(TRAIN + ["--profile", "smoke", "--seed", "1", "--device", "cpu", "--quiet"]) == 0
    (call,) = fake_run
    assert call["variant"] == "learnet"          # the profile's, not bilen
    assert call["profile"].name == "smoke" and call["seeds"] == [1] and call["device"] == "cpu"
    assert call["results_dir"] == results.RESULTS_DIR and call["progress"] is False
    assert cli.main(TRAIN + ["--profile", "smoke", "--variant", "apex-frame"]) == 0
    assert fake_run[-1]["variant"] == "apex-frame"   # the option wins over the profile


def test_train_takes_a_profile_file(tmp_path, fake_run):
    own = tmp_path / "mine.yaml"
    own.write_text((profiles.PROFILE_DIR / "smoke.yaml").read_text().replace("variant: bilen", "variant: learnet"))
    assert cli.main(TRAIN + ["--profile", str(own)]) == 0
    (call,) = fake_run
    assert call["variant"] == "learnet" and call["profile"].name == "mine"


def record(profile="smoke", seed=0):
    return results.make_record(
        dataset="casme2", protocol="paper", model="learnet", profile=profile, variant="bilen", seed=seed, fold=0,
        y_true=["disgust", "happiness", "surprise", "happiness"],
        y_pred=["disgust", "happiness", "happiness", "happiness"],
        labels=["disgust", "happiness", "surprise"], sizes={"train_clips": 10, "val_clips": 4, "test_clips": 4},
        device="cpu", wall_time_s=1.5)


def test_tables(tmp_path, capsys):
    results.write(record(), tmp_path)
    out_csv = tmp_path / "table.csv"
    assert cli.main(["tables", "--results", str(tmp_path), "--csv", str(out_csv)]) == 0
    assert "casme2" in capsys.readouterr().out
    assert pd.read_csv(out_csv)["accuracy_mean"].iloc[0] == pytest.approx(0.75)
    assert not list(tmp_path.glob(".*.tmp"))
    assert cli.main(["tables", "--results", str(tmp_path), "--profile", "smoke"]) == 0
    assert "casme2" in capsys.readouterr().out
    assert cli.main(["tables", "--results", str(tmp_path), "--profile", "book"]) == 0
    assert capsys.readouterr().out.strip() == f"no run records under {tmp_path} for profile book"
    assert cli.main(["tables", "--results", str(tmp_path / "none")]) == 2
    assert "learnet-lite tables: error:" in capsys.readouterr().err


def test_check_data_sheet_needs_one_dataset(capsys):
    assert cli.main(["check-data", "casme2", "smic", "--sheet", "x.xlsx"]) == 2
    assert "learnet-lite check-data: error: --sheet 'x.xlsx': name the one dataset" in capsys.readouterr().err
