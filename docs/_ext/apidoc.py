"""Sphinx extension: read spikegrad's Google-style docstrings as napoleon expects them.

The docstrings group arguments that share a description, and such an entry may wrap::

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode: as :class:`torch.nn.Conv1d`.

napoleon reads one entry per line, so before it runs this joins a wrapped name list with its
description (``in_channels, ..., padding_mode: as ...``) and escapes ``*`` in names such as
``**kwargs``, which reStructuredText would read as emphasis. Nothing else is changed.
"""

from __future__ import annotations

import re
from typing import Any

_SECTIONS = ("Args:", "Arguments:", "Parameters:", "Keyword Args:", "Attributes:")
#: A line of names ending with a comma and no description: the entry continues below.
_WRAPPED_NAMES = re.compile(r"^(\s+)([\w*]+(?:,\s*[\w*]+)*,)\s*$")


def normalise(lines: list[str]) -> None:
    """Join wrapped argument-name lists and escape ``*`` in names, in place."""
    out: list[str] = []
    in_args = False
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped in _SECTIONS:
            in_args = True
        elif stripped.endswith(":") and stripped[:-1].replace(" ", "").isalpha() and not line.startswith(" "):
            in_args = False  # the next section
        match = _WRAPPED_NAMES.match(line) if in_args else None
        if match and i + 1 < len(lines):
            line = f"{match.group(1)}{match.group(2)} {lines[i + 1].strip()}"
            i += 1
        if in_args and ":" in line and line.startswith(" "):
            names, colon, rest = line.partition(":")
            if "*" in names and "\\*" not in names:
                line = names.replace("*", r"\*") + colon + rest
        out.append(line)
        i += 1
    lines[:] = out


def _process(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    normalise(lines)


def setup(app: Any) -> dict[str, Any]:
    # Runs before napoleon's own handler (priority 500).
    app.connect("autodoc-process-docstring", _process, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
