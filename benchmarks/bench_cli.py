"""Benchmark: ``learnet-lite --help`` beside ``python -c "import torch"``, the import it avoids.

Prints each figure beside its baseline, as a ratio from one run (best of ``--repeats``, each
a fresh interpreter): the command line imports a step's module only when that command runs,
so asking for help costs an interpreter start and argparse, not torch. Target: help (the
top level, and ``train --help``, the command with the most choices) under 0.25x the torch
import; the bare interpreter start is shown for scale.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

TARGET_RATIO = 0.25


def best_time(command: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command; the best is shown")
    args = parser.parse_args()
    py = sys.executable
    torch_s = best_time([py, "-c", "import torch"], args.repeats)
    bare_s = best_time([py, "-c", "pass"], args.repeats)
    print(f"baseline: python -c 'import torch': {torch_s * 1000:.0f} ms "
          f"(bare interpreter start: {bare_s * 1000:.0f} ms)")
    for shown, argv in (("learnet-lite --help", ["--help"]), ("learnet-lite train --help", ["train", "--help"])):
        help_s = best_time([py, "-m", "learnet_lite.cli", *argv], args.repeats)
        print(f"{shown}: {help_s * 1000:.0f} ms ({help_s / torch_s:.2f}x the torch import; "
              f"target under {TARGET_RATIO:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
