"""Progress display for training: a bar over the batches of each epoch, and one line per epoch.

The bar is tqdm's when tqdm is installed, else a small built-in one; either is drawn only when
the stream is a terminal. The per-epoch lines are always printed, so logs and CI output stay
readable.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any


class Progress:
    """Report training progress to a terminal or a log.

    Args:
        enabled: print anything at all (``False`` on every rank but 0, and in tests).
        bar: draw a batch bar: ``None`` decides by whether ``stream`` is a terminal.
        stream: where the bar goes (default ``sys.stderr``); lines go to ``out``.
        out: where the per-epoch lines and the summary go (default ``sys.stdout``).
    """

    def __init__(self, enabled: bool = True, bar: bool | None = None, stream: IO[str] | None = None,
                 out: IO[str] | None = None) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.out = out if out is not None else sys.stdout
        self.bar = enabled and (bar if bar is not None else _isatty(self.stream))
        self._bar: Any = None
        self._simple: _SimpleBar | None = None

    def line(self, text: str) -> None:
        """Print one line (above the bar, if one is drawn)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(text, file=self.out)
        else:
            if self._simple is not None:
                self._simple.clear()
            print(text, file=self.out, flush=True)

    def start(self, description: str, total: int, done: int = 0) -> None:
        """Begin a bar of ``total`` steps labelled ``description``, ``done`` of them already done."""
        if not self.bar:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._simple = _SimpleBar(description, total, self.stream, done)
        else:
            self._bar = tqdm(total=total, initial=done, desc=description, leave=False, file=self.stream,
                             dynamic_ncols=True, unit="batch")

    def update(self, **postfix: float) -> None:
        """Advance the bar by one step, showing ``postfix`` (e.g. the running loss)."""
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.3g}" for k, v in postfix.items()}, refresh=False)
            self._bar.update(1)
        elif self._simple is not None:
            self._simple.update(postfix)

    def stop(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._simple is not None:
            self._simple.clear()
            self._simple = None


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 epoch``, ``2 epochs``; ``nouns`` for irregular plurals (``plural(3, 'batch', 'batches')``)."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _SimpleBar:
    """A one-line bar for terminals without tqdm, redrawn at most 10 times a second."""

    width = 30

    def __init__(self, description: str, total: int, stream: IO[str], done: int = 0) -> None:
        self.description, self.total, self.stream = description, max(total, 1), stream
        self.done, self.t0, self.last = done, time.perf_counter(), 0.0

    def update(self, postfix: dict[str, float]) -> None:
        self.done += 1
        now = time.perf_counter()
        if now - self.last < 0.1 and self.done < self.total:
            return
        self.last = now
        filled = self.width * self.done // self.total
        extra = " ".join(f"{k}={v:.3g}" for k, v in postfix.items())
        self.stream.write(f"\r{self.description} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{self.done}/{self.total} {now - self.t0:.0f}s {extra}")
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()
