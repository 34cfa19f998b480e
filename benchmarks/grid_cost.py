"""What the `paper` grid costs on GPUs, from the committed GPU records: the tables of the book's
appendix page "What the paper's grid costs on GPUs" (book/08_gpu_cost), printed here.

    .venv/bin/python benchmarks/grid_cost.py [--profile paper]

The cost model is `learnet_lite.cost` (its docstring says what is measured and what estimated);
this script prints its tables, the book glues the same numbers at build time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from learnet_lite import cost  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="paper")
    c = cost.estimate(ap.parse_args(argv).profile)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.max_colwidth", 60)
    print(f"GPU records: {len(c.runs)} ({', '.join(sorted(set(c.runs['device_name'].dropna())))})\n")
    print("The calls of paper_on_gpu.sh:\n", c.summary.to_string(index=False), "\n")
    print("Per model and protocol (medians of a run):\n", c.measured.round(1).to_string(index=False), "\n")
    print("Rates, GPU-µs per training image and epoch:\n", c.rates.round(2).to_string(), "\n")
    print("The grid:\n", c.clips.T.to_string(), "\n")
    print(c.cells.round(2).to_string(index=False), "\n")
    print(f"all: {c.total_runs} runs, " + ", ".join(f"{c.gpu_hours(k):.1f} GPU-hours ({k})" for k in cost.READINGS))
    print("longest run on its share of a GPU: " + ", ".join(
        f"{' '.join(which)}, {cost.hours_text(s)} ({k})" for k, (s, *which) in c.longest.items()), "\n")
    wall = c.wall.copy()
    for col in wall.columns[1:]:
        wall[col] = wall[col].map(cost.hours_text)
    print(f"Wall time at {c.jobs} runs per GPU (from max(GPU time / GPUs, longest run) to their sum):\n",
          wall.to_string(index=False))


if __name__ == "__main__":
    main()
