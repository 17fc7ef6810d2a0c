"""The ``spikegrad`` command: a thin shell over tested library functions.

Each subcommand lives in its own module of this package and exposes
``add_parser(subparsers)`` and ``run(args) -> int``. Heavy modules (matplotlib,
scikit-learn, the training loop) are imported inside ``run``, so ``spikegrad --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import spikegrad

#: The modules of this package that add a subcommand, in the order ``--help`` lists them
#: (train, compare, list, plot, bench).
SUBCOMMANDS = ("train", "compare", "catalogue", "plot", "bench")


class UsageError(Exception):
    """A bad argument found after parsing: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikegrad",
        description="Train and study spiking neural networks with surrogate gradients.",
    )
    parser.add_argument("--version", action="version", version=f"spikegrad {spikegrad.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        importlib.import_module(f".{module}", __name__).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        print(f"spikegrad {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
