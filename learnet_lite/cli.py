"""``learnet-lite``: the command line. Each step of the paper registers its subcommand.

Every subcommand has ``--help``; commands that run experiments take ``--profile``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# module -> registers its subcommand(s) through ``add_cli(subparsers)``
COMMAND_MODULES = ("dynamic", "results", "datasets", "synthetic", "student", "experiment")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="learnet-lite", description=(
        "The LEARNet companion (Verma et al., IEEE TIP 2019): one subcommand per step of the paper."))
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"learnet_lite.{name}").add_cli(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"learnet-lite {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
