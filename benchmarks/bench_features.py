"""Benchmark: the handcrafted features of Tables III-IV (learnet_lite.handcrafted) -- LBP-TOP and
MDMO per clip, beside the cost of the network's input for the same clips.

Measures clips/s of ``handcrafted.features(df, "lbptop" | "mdmo", cache_dir=None)`` on clips
of a twin (default: 40 clips of the CASME II twin, evenly spread over its table), beside the
baseline ``inputs.images(df, "bilen", cache_dir=None)`` (decode every frame, rank-pool, resize:
what the networks read), each as a ratio to the baseline from one run (best of ``--repeats``,
contenders round-robin so a busy spell hits each alike; all on every core, as the book runs
them). Then the projected cost of both features for all five twins of the book profile, from
``--sample`` clips of each (the features read a fixed number of frames, so a clip's cost barely
depends on its length); ``smic_2class`` counts only the clips ``smic``'s cache lacks
(:func:`handcrafted.features` reuses them). ``--full`` also times the real thing: every twin,
both features, into a fresh cache.

Target: both features for all five twins within 60 s on the book's 2-core CPU (the handcrafted
grid may add 3 minutes to the book build, most of it this).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from learnet_lite import handcrafted, inputs

TARGET_S = 60.0
TWINS = ("casme", "casme2", "casme_sq", "smic", "smic_2class")


def best_times(fns, repeats):
    """Best wall seconds of each function, run round-robin."""
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def spread(df, n):
    """``n`` clips evenly spread over the table (all if it has fewer)."""
    if n >= len(df):
        return df
    return df.iloc[np.linspace(0, len(df) - 1, n).round().astype(int)]


def bench_clips(dataset, clips, repeats):
    df = spread(inputs.clips(dataset, "book"), clips)
    frames = int(df["frames"].map(len).sum())
    fns = {"images": lambda: inputs.images(df, "bilen", cache_dir=None, progress=False),
           "lbptop": lambda: handcrafted.features(df, "lbptop", cache_dir=None, progress=False),
           "mdmo": lambda: handcrafted.features(df, "mdmo", cache_dir=None, progress=False)}
    fns["images"]()  # warm the page cache and the imports
    wall = best_times(fns, repeats)
    print(f"{len(df)} clips of the {dataset} twin ({frames} frames), best of {repeats}:")
    print(f"  network input (inputs.images, bilen) : {wall['images']:6.2f} s  {len(df) / wall['images']:6.1f} clips/s"
          "  [baseline]")
    for name in ("lbptop", "mdmo"):
        print(f"  {name:<6} (handcrafted.features)     : {wall[name]:6.2f} s  {len(df) / wall[name]:6.1f} clips/s"
              f"  ({wall[name] / wall['images']:.2f}x the baseline's time)")
    return wall


def project(sample, repeats):
    """Seconds per clip of each feature on ``sample`` clips of every twin, scaled to its clip count."""
    tables = {d: inputs.clips(d, "book") for d in TWINS}
    smic_keys = {handcrafted._clip_key(f) for f in tables["smic"]["frames"]}
    total = {"lbptop": 0.0, "mdmo": 0.0}
    print(f"projected cost, all five twins of the book profile (from {sample} clips of each, best of {repeats}):")
    for dataset, df in tables.items():
        todo = len(df) if dataset != "smic_2class" else sum(
            handcrafted._clip_key(f) not in smic_keys for f in df["frames"])
        part = spread(df, sample)
        wall = best_times({f: (lambda f=f, part=part: handcrafted.features(part, f, cache_dir=None, progress=False))
                           for f in total}, repeats)
        cost = {f: wall[f] / len(part) * todo for f in total}
        for f in total:
            total[f] += cost[f]
        print(f"  {dataset:<11} {todo:4d} clips to compute: lbptop {cost['lbptop']:5.1f} s, mdmo {cost['mdmo']:5.1f} s")
    both = sum(total.values())
    print(f"  total: lbptop {total['lbptop']:.1f} s + mdmo {total['mdmo']:.1f} s = {both:.1f} s"
          f"   target <= {TARGET_S:.0f} s: {'met' if both <= TARGET_S else 'NOT met'}")
    return both


def full():
    """Every twin, both features, into a fresh cache, in the grid's order."""
    with tempfile.TemporaryDirectory() as cache:
        total = 0.0
        print("full run, every twin and feature into a fresh cache:")
        for dataset in TWINS:
            df = inputs.clips(dataset, "book")
            for feature in handcrafted.FEATURES:
                start = time.perf_counter()
                handcrafted.features(df, feature, cache_dir=cache, progress=False)
                wall = time.perf_counter() - start
                total += wall
                print(f"  {dataset:<11} {feature:<6} {len(df):4d} clips: {wall:6.1f} s")
        print(f"  total {total:.1f} s   target <= {TARGET_S:.0f} s: {'met' if total <= TARGET_S else 'NOT met'}")
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="casme2", choices=TWINS)
    ap.add_argument("--clips", type=int, default=40, help="clips of --dataset timed against the baseline")
    ap.add_argument("--sample", type=int, default=12, help="clips of each twin timed for the projection")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="also time every twin and feature for real")
    args = ap.parse_args()
    bench_clips(args.dataset, args.clips, args.repeats)
    project(args.sample, args.repeats)
    if args.full:
        full()


if __name__ == "__main__":
    main()
