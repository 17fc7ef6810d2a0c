"""The ``spikegrad`` command: a thin shell over tested library functions.

Each subcommand lives in its own module of this package and exposes
``add_parser(subparsers)`` and ``run(args) -> int``. Heavy modules (matplotlib,
scikit-learn, the training loop) are imported inside ``run``, so ``spikegrad --help``
stays fast.

Every mistake on the command line ends the same way: one line on stderr,
``spikegrad COMMAND: error: ...``, and exit code 2, with no traceback; that includes what
argparse itself finds (an unknown option is reported by the subcommand it was given to, with
the closest option it knows). Ctrl-C ends with one line and exit code 130.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import spikegrad

#: The modules of this package that add a subcommand, in the order ``--help`` lists them
#: (train, compare, list, plot, bench, eval, export).
SUBCOMMANDS = ("train", "compare", "catalogue", "plot", "bench", "eval", "export")

#: Exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad argument: printed as one line, exit code 2."""


class _ParseError(Exception):
    """argparse found a bad argument; ``prog`` is the (sub)command it belongs to."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of printing the usage and exiting, so that errors are one line."""

    def error(self, message: str) -> NoReturn:
        raise _ParseError(self.prog, message)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="spikegrad",
        description="Train and study spiking neural networks with surrogate gradients.",
    )
    parser.add_argument("--version", action="version", version=f"spikegrad {spikegrad.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        importlib.import_module(f".{module}", __name__).add_parser(sub)
    return parser


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            chosen: argparse.ArgumentParser = action.choices[command]
            return chosen
    return parser


def _unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """``unrecognized arguments: --surogate atan (did you mean --surrogate?)``."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    options = [o for action in parser._actions for o in action.option_strings]
    for extra in extras:
        if extra.startswith("--"):
            close = difflib.get_close_matches(extra.split("=")[0], options, n=1, cutoff=0.75)
            if close:
                return f"{message} (did you mean {close[0]}?)"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spikegrad`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    command = "spikegrad"
    try:
        args, extras = parser.parse_known_args(argv)
        command = f"spikegrad {args.command}" if args.command else command
        if extras:
            sub = _subparser(parser, args.command)
            raise _ParseError(sub.prog, _unrecognized(sub, extras))
        if args.command is None:
            parser.print_help()
            return 2
        return int(args.run(args) or 0)
    except _ParseError as exc:
        print(f"{exc.prog}: error: {exc} (see {exc.prog} --help)", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"{command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `spikegrad list | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
