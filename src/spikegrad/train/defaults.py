"""The default training settings, in one place (read by the config, :func:`~.loop.fit`, the CLI and the docs).

Chosen so that ``spikegrad train`` with no flags reaches >= 95 % test accuracy on the bundled
digits within 2 minutes on 2 CPU cores (see docs/training.md for the measurements).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Defaults:
    """Default values of :class:`spikegrad.train.loop.TrainConfig`'s fields."""

    model: str = "mlp"
    neuron: str = "lif"
    tau: float = 2.0
    surrogate: str = "atan"
    encoding: str = "poisson"
    T: int = 16
    epochs: int = 30
    batch_size: int = 32
    lr: float = 2e-3
    hidden: int = 512
    channels: int = 16


DEFAULTS = Defaults()


#: Data sets whose batches are small enough that one CPU thread trains them fastest.
SINGLE_THREAD_DATASETS = frozenset({"digits"})


def default_threads(dataset: str, device: str) -> int | None:
    """The CPU threads :func:`~.loop.fit` (and so ``spikegrad train``) uses unless told otherwise.

    One thread for the bundled digits on the CPU: its 8x8 images and batches of 32 are too small
    for a second thread to pay for its synchronisation, and a spinning OpenMP thread slows down
    badly when other programs share the cores (an epoch measured 0.3 s on one thread and up to
    17 s on two, on a loaded 2-core machine). ``None`` (torch's own choice) for everything else.

    Args:
        dataset: the data set's name.
        device: the device type, ``'cpu'`` or ``'cuda'``.
    """
    return 1 if device == "cpu" and dataset in SINGLE_THREAD_DATASETS else None
