"""The catalogue of neurons, read from their definitions (the table in docs/neurons.md).

Example:
    >>> from spikegrad.neuron import table
    >>> "LIFNode" in [cls.__name__ for cls in table.catalogue()]
    True
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

__all__ = ["BEGIN", "END", "catalogue", "markdown", "write"]

#: The markers in docs/neurons.md between which :func:`write` puts the table.
BEGIN, END = "<!-- neuron-table:begin -->", "<!-- neuron-table:end -->"

#: Constructor arguments every spiking neuron takes (listed once, under the table).
_COMMON = (
    "v_threshold",
    "v_reset",
    "surrogate_function",
    "detach_reset",
    "step_mode",
    "store_v_seq",
    "backend",
)


def catalogue() -> list[type[nn.Module]]:
    """Every neuron class spikegrad exports that can be built (bases without dynamics left out)."""
    from .. import neuron

    classes = []
    for name in neuron.__all__:
        obj = getattr(neuron, name)
        if not (inspect.isclass(obj) and issubclass(obj, nn.Module)) or name.endswith("BaseNode"):
            continue
        classes.append(obj)
    return classes


def _kind(cls: type[nn.Module]) -> str:
    if "PSN" in cls.__name__:
        return "parallel (a matrix over T)"
    return "recurrence, fused"


def _summary(cls: type[nn.Module]) -> str:
    lines = (cls.__doc__ or "").strip().split("\n\n")[0].split("\n")
    return " ".join(line.strip() for line in lines).replace("|", "\\|")


def _arguments(cls: type[nn.Module]) -> str:
    parts = []
    for p in inspect.signature(cls).parameters.values():
        if p.name in _COMMON or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        parts.append(p.name if p.default is inspect.Parameter.empty else f"{p.name}={_fmt(p.default)}")
    return ", ".join(f"`{p}`" for p in parts) or "(common only)"


def _fmt(value: Any) -> str:
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return repr(value)


def _state(cls: type[nn.Module]) -> str:
    names = [s.name for s in getattr(cls, "state", ())]
    return ", ".join(f"`{n}`" for n in names) or "-"


def markdown() -> str:
    """A markdown table: class, what it computes, state, its own arguments, kind, origin."""
    lines = [
        "| class | dynamics | state | own arguments (defaults) | kind | origin |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for cls in catalogue():
        origin = getattr(cls, "origin", "SpikingJelly")
        cells = [f"`{cls.__name__}`", _summary(cls), _state(cls), _arguments(cls), _kind(cls), origin]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(path: str) -> bool:
    """Put the table between the markers of the markdown file at ``path``; ``True`` if it changed."""
    with open(path) as f:
        text = f.read()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{markdown()}{END}{tail}"
    if new != text:
        with open(path, "w") as f:
            f.write(new)
    return new != text


if __name__ == "__main__":  # python -m spikegrad.neuron.table docs/neurons.md
    import sys

    print("updated" if write(sys.argv[1]) else "already current")
