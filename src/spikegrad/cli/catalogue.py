"""``spikegrad list``: print the surrogate catalogue (name, parameters, peak, area, origin)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "list",
        help="print the surrogate catalogue",
        description="Print every surrogate: class and function name, parameters with their defaults, "
                    "peak and area of the gradient at the defaults, and where the shape comes from.",
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..surrogate.table import format_table

    print(format_table(markdown=args.markdown))
    return 0
