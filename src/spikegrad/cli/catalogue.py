"""``spikegrad list``: print the surrogate catalogue (name, parameters, peak, area, origin)."""

from __future__ import annotations

import argparse
import shutil
import textwrap
from collections.abc import Sequence

from ._imports import add_import_argument, load_user_surrogates

#: Width of the text when the output is not a terminal (a file, a pipe, a log): ``COLUMNS`` or this.
DEFAULT_WIDTH = 110


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "list",
        help="print the surrogate catalogue",
        description="Print every surrogate: class and function name, parameters with their defaults, "
                    "peak and area of the gradient at the defaults, and where the shape comes from. "
                    "Long cells wrap to fit the terminal.",
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")
    add_import_argument(parser)
    parser.set_defaults(run=run)


def wrapped_table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int,
                  wrap: Sequence[int] = (2, 4, 5)) -> str | None:
    """An aligned text table no wider than ``width``, the columns ``wrap`` wrapping at spaces.

    Columns are separated by two spaces; a wrapped cell continues on the next lines in its own
    column, the widest wrappable column giving way first. Words never break, so when even the
    narrowest such table is wider than ``width``, the result is ``None``.
    """
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    floor = {i: max(len(word) for c in (headers[i], *(r[i] for r in rows)) for word in str(c).split() or [""])
             for i in wrap}
    gaps = 2 * (len(widths) - 1)
    while sum(widths) + gaps > width:
        shrinkable = [i for i in wrap if widths[i] > floor[i]]
        if not shrinkable:
            return None
        widths[max(shrinkable, key=lambda i: widths[i] - floor[i])] -= 1

    def lines(cells: Sequence[str]) -> list[str]:
        pieces = [textwrap.wrap(str(c), n, break_long_words=False, break_on_hyphens=False) or [""]
                  for c, n in zip(cells, widths, strict=True)]
        out = []
        for i in range(max(len(p) for p in pieces)):
            parts = [(p[i] if i < len(p) else "").ljust(n) for p, n in zip(pieces, widths, strict=True)]
            out.append("  ".join(parts).rstrip())
        return out

    rule = "  ".join("-" * n for n in widths)
    return "\n".join([*lines(headers), rule, *(line for r in rows for line in lines(r))])


def records(rows: Sequence[Sequence[str]], width: int) -> str:
    """One paragraph per surrogate, for terminals too narrow for the table:
    ``Sigmoid (sigmoid): alpha=4; peak 1, area 1; SpikingJelly``, wrapped with an indent."""
    return "\n".join(textwrap.fill(f"{name} ({function}): {params}; peak {peak}, area {area}; {origin}",
                                   max(width, 20), subsequent_indent="    ", break_on_hyphens=False)
                     for name, function, params, peak, area, origin in rows)


def catalogue_text(width: int) -> str:
    """The catalogue as text no wider than ``width``: a table if it fits, else one paragraph each."""
    from dataclasses import astuple

    from ..surrogate.table import HEADERS, catalogue_rows

    rows = [astuple(r) for r in catalogue_rows()]
    table = wrapped_table(HEADERS, rows, width)
    return table if table is not None else records(rows, width)


def run(args: argparse.Namespace) -> int:
    from ..surrogate.table import format_table

    load_user_surrogates(args.imports)
    if args.markdown:
        print(format_table(markdown=True))
    else:
        print(catalogue_text(shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns))
    return 0
