"""Stop a training run cleanly on Ctrl-C (SIGINT) or SIGTERM: at the next batch boundary.

An exception raised in the middle of ``optimizer.step()`` could leave half the weights updated, so
while a run with a run folder trains, the first SIGINT or SIGTERM only sets a flag; the training
loop looks at it after every batch, saves a checkpoint of the last completed batch and raises
:class:`~spikegrad.train.errors.TrainingInterrupted`. A second signal does not wait: it raises
:class:`KeyboardInterrupt` at once, and the previous checkpoint on disk stays the resume point
(an atomic write in progress removes its temporary file).

Handlers can only be installed from the main thread; elsewhere :meth:`StopFlag.installed` leaves
the process's handlers alone and Ctrl-C behaves as usual.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: The signals that ask a run to stop (SIGTERM: ``kill``, batch schedulers before they preempt).
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopFlag:
    """Records the first stop signal while installed; a second one interrupts at once.

    Attributes:
        signal: the number of the signal received, or ``None``.
    """

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask to stop at the next batch boundary, as the signal ``signum`` does."""
        self.signal = signum

    @contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Route SIGINT and SIGTERM to this flag for the ``with`` block, then restore the handlers."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        # getsignal gives None for a handler installed outside Python; the default is the best restore
        previous: dict[int, Any] = {sig: signal.getsignal(sig) or signal.SIG_DFL for sig in SIGNALS}

        def handler(signum: int, frame: FrameType | None) -> None:
            if self.signal is not None:  # the second request: stop now
                for number, old in previous.items():
                    signal.signal(number, old)
                raise KeyboardInterrupt
            self.signal = signum

        for sig in SIGNALS:
            signal.signal(sig, handler)
        try:
            yield self
        finally:
            for number, old in previous.items():
                signal.signal(number, old)


__all__ = ["SIGNALS", "StopFlag"]
