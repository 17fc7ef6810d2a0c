"""``spikegrad plot``: draw one surrogate (step, primitive, gradient) or the whole gallery as PNGs."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import UsageError
from ._imports import add_import_argument, load_user_surrogates
from ._surrogate_args import add_surrogate_arguments, build_surrogate, surrogate_kwargs


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "plot",
        help="draw a surrogate's step, primitive and gradient",
        description="Draw the Heaviside step, the primitive g and the surrogate gradient g' of one "
                    "surrogate (spikegrad plot atan --alpha 3 -o atan.png), or of every built-in "
                    "one (spikegrad plot --all -o DIR, one PNG each).",
    )
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="surrogate name, e.g. atan or ATan (`spikegrad list` shows all)")
    parser.add_argument("--all", action="store_true", help="draw every built-in surrogate at its defaults")
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="PATH",
                        help="image file for NAME (default: the class name, e.g. ATan.png, as --all "
                             "names them), or folder for --all (default: surrogate_gallery); its "
                             "parent folder must exist")
    parser.add_argument("--x-range", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help="x axis range (default: adapted to the shape's width)")
    add_surrogate_arguments(parser, name_flag=False)
    add_import_argument(parser)
    parser.set_defaults(run=run)


def _check_parent(path: Path) -> None:
    """Refuse an output path whose folder does not exist (a typo should not create folders)."""
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"-o {path}: the folder {parent} does not exist")


def run(args: argparse.Namespace) -> int:
    if args.all == (args.name is not None):
        raise UsageError("give either one surrogate NAME or --all")
    load_user_surrogates(args.imports)
    try:
        from ..plot import plot_gallery, plot_surrogate
    except ImportError as exc:  # pragma: no cover - plot.py itself imports matplotlib lazily
        raise UsageError(str(exc)) from None
    try:
        if args.all:
            if surrogate_kwargs(args) or args.x_range is not None:
                raise UsageError("--all draws every surrogate at its defaults; parameter flags and "
                                 "--x-range apply to one NAME")
            folder = args.output or Path("surrogate_gallery")
            _check_parent(folder)
            paths = plot_gallery(folder)
        else:
            sg = build_surrogate(args.name, args)
            path = args.output or Path(f"{type(sg).__name__}.png")
            _check_parent(path)
            fig = plot_surrogate(sg, x_range=args.x_range)
            fig.savefig(path, dpi=100, bbox_inches="tight")
            paths = [path]
    except (ImportError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    for path in paths:
        print(path)
    return 0
