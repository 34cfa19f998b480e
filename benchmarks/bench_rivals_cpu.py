"""Why ResNet-18 (and VGG) are left to the `paper` profile: one LOSO fold of the book profile
on the CASME II twin, trained by LEARNet (the baseline) and by ResNet-18 on this machine's CPU.

    .venv/bin/python benchmarks/bench_rivals_cpu.py [--dataset casme2] [--epochs N]

Prints each model's seconds for the fold (the book profile's epochs, or ``--epochs``), the
ratio to LEARNet's, and what the book's LOSO grid (its datasets x ``loso_groups`` folds) would
add to ``make book`` at that ratio, from LEARNet's own seconds per fold on each dataset's fold 0.
Records go to a temporary folder; nothing of the user's is touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

from learnet_lite import experiment, profiles


def fold_seconds(dataset: str, model: str, settings) -> tuple[float, int]:
    prep = experiment.prepare(dataset, settings, progress=False)
    fold = experiment.folds(prep, "loso", settings, seed=0)[0]
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        experiment.run_fold(prep, fold, model=model, profile=settings, results_dir=scratch, progress=False)
        return time.perf_counter() - start, len(fold.part("train"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="casme2")
    parser.add_argument("--epochs", type=int, default=None, help="default: the book profile's")
    args = parser.parse_args(argv)
    settings = profiles.load("book")
    if args.epochs:
        settings = dataclasses.replace(settings, epochs=args.epochs)
    base, images = fold_seconds(args.dataset, "learnet", settings)
    rival, _ = fold_seconds(args.dataset, "resnet18", settings)
    print(f"one loso fold of {args.dataset} ({images} training images, {settings.epochs} epochs) on this CPU:")
    print(f"  learnet   {base:7.1f} s  (baseline)")
    print(f"  resnet18  {rival:7.1f} s  ratio {rival / base:.1f}x")
    folds = settings.loso_groups or 1
    learnet_grid = sum(fold_seconds(d, "learnet", settings)[0] for d in settings.datasets) * folds
    print(f"the book's loso grid ({len(settings.datasets)} datasets x {folds} folds): learnet ~{learnet_grid / 60:.1f} "
          f"min; resnet18 at that ratio ~{learnet_grid * rival / base / 60:.0f} min more for make book")


if __name__ == "__main__":
    main()
