"""The default training settings, in one place (read by the config, the CLI and the docs).

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
