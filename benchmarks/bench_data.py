"""Benchmark: the data layer on the four full twins.

Prints each figure beside its target, as a ratio from one run:

* generating all four twins (cropped layout, the default settings) into a fresh folder:
  target under 60 s and under 300 MB on this 2-core machine;
* ``learnet-lite check-data`` on them (every frame's header checked): target under 10 s.

``--root`` reuses (or keeps) the twins in a folder of your choice instead of a temporary one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from learnet_lite import cli, datasets, synthetic

GENERATE_TARGET_S, SIZE_TARGET_MB, CHECK_TARGET_S = 60.0, 300.0, 10.0


def folder_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="folder for the twins (default: a fresh temporary folder)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        root = Path(args.root) if args.root else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        started = time.perf_counter()
        frames = {n: synthetic.generate(n, root / n, progress=False) for n in datasets.DATASETS}
        generate_s = time.perf_counter() - started
        size = folder_mb(root)
        clips = sum(len(df) for df in frames.values())
        print(f"generate the four twins: {generate_s:.1f} s for {clips} clips "
              f"(target {GENERATE_TARGET_S:.0f} s: {generate_s / GENERATE_TARGET_S:.2f}x the budget)")
        print(f"their size: {size:.0f} MB (target {SIZE_TARGET_MB:.0f} MB: {size / SIZE_TARGET_MB:.2f}x the budget): "
              + ", ".join(f"{n} {folder_mb(root / n):.0f} MB" for n in datasets.DATASETS))
        out = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(out):
            status = cli.main(["check-data", "--data-root", str(root)])
        check_s = time.perf_counter() - started
        n_frames = sum(int(df["n_frames"].sum()) for df in frames.values())
        print(f"check-data, headers of {n_frames} frames: {check_s:.1f} s, exit {status} "
              f"(target {CHECK_TARGET_S:.0f} s: {check_s / CHECK_TARGET_S:.2f}x the budget)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
