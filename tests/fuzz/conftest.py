"""Reports how many cases the fuzz layer ran and how they ended."""

from __future__ import annotations

from typing import Any

from .contract import TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY:
        return
    results = sum(c["result"] for c in TALLY.values())
    refused = sum(c["refused"] for c in TALLY.values())
    terminalreporter.write_line(
        f"fuzz: {results + refused} cases over {len(TALLY)} targets: {results} documented results, "
        f"{refused} clear errors"
    )
