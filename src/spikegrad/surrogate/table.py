"""The catalogue table (``spikegrad list``), derived from the registry.

One row per registered surrogate: class name, functional name, constructor parameters
with their defaults, peak and area of ``g'`` at the defaults, and where users know the
shape from. Nothing here is written per surrogate.

Example:
    >>> from spikegrad.surrogate.table import catalogue_rows
    >>> row = catalogue_rows()[0]
    >>> row.name, row.function, row.params, row.peak, row.area
    ('Sigmoid', 'sigmoid', 'alpha=4', '1', '1')
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from typing import Any

from ._base import REGISTRY, Surrogate

#: Column headers, in the order of :class:`CatalogueRow`'s fields.
HEADERS = ("Name", "Function", "Parameters (defaults)", "Peak", "Area", "Origin")


@dataclass(frozen=True)
class CatalogueRow:
    """One line of the catalogue, every field already formatted as text."""

    name: str
    function: str
    params: str
    peak: str
    area: str
    origin: str


def _number(value: Any) -> str:
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


def _params_text(cls: type[Surrogate]) -> str:
    """The constructor's parameters as users type them (``alpha=4``), ``spiking`` left out."""
    parts = []
    for p in inspect.signature(cls).parameters.values():
        if p.name == "spiking" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in cls.display_defaults:
            parts.append(f"{p.name}={cls.display_defaults[p.name]}")
        elif p.default is inspect.Parameter.empty:
            parts.append(p.name)
        elif isinstance(p.default, int | float) and not isinstance(p.default, bool):
            parts.append(f"{p.name}={_number(p.default)}")
        else:
            parts.append(f"{p.name}={p.default!r}")
    return ", ".join(parts)


def _at_defaults(cls: type[Surrogate], which: str) -> str:
    """``peak`` or ``area`` at the defaults. A required parameter is tried at two allowed values:
    the number is shown if it does not depend on it, else ``depends on NAME``."""
    signature = inspect.signature(cls).parameters
    empty = inspect.Parameter.empty
    required = [p for p in cls.params if p.name in signature and signature[p.name].default is empty]
    if not required:
        return _number(getattr(cls(), which))
    first = required[0]
    start = math.floor(first.low) + 1 if first.low is not None else 1
    trials: list[dict[str, Any]] = [{p.name: start + i for p in required} for i in (0, 1)]
    values = {_number(getattr(cls(**kwargs), which)) for kwargs in trials}
    return values.pop() if len(values) == 1 else f"depends on {', '.join(p.name for p in required)}"


def catalogue_rows(classes: Iterable[type[Surrogate]] | None = None) -> list[CatalogueRow]:
    """One :class:`CatalogueRow` per surrogate class (default: every registered one, in order)."""
    rows = []
    for cls in REGISTRY.values() if classes is None else classes:
        rows.append(CatalogueRow(
            name=cls.__name__,
            function=cls.function.__name__,
            params=_params_text(cls) or "(none)",
            peak=_at_defaults(cls, "peak"),
            area=_at_defaults(cls, "area"),
            origin=cls.origin or "custom",
        ))
    return rows


def format_table(markdown: bool = False, classes: Iterable[type[Surrogate]] | None = None) -> str:
    """The catalogue as text: aligned columns, or a Markdown table (``markdown=True``) for the README."""
    rows = [astuple(r) for r in catalogue_rows(classes)]
    if markdown:
        def line(cells: Iterable[str]) -> str:
            return "| " + " | ".join(cells) + " |"

        code = [(f"`{r[0]}`", f"`{r[1]}`", *r[2:]) for r in rows]
        body = [line(HEADERS), line("---" for _ in HEADERS)] + [line(r) for r in code]
        return "\n".join(body)
    widths = [max(len(str(c)) for c in col) for col in zip(HEADERS, *rows, strict=False)]

    def aligned(cells: Iterable[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([aligned(HEADERS), aligned("-" * w for w in widths)] + [aligned(r) for r in rows])


__all__ = ["HEADERS", "CatalogueRow", "catalogue_rows", "format_table"]
