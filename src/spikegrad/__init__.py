"""spikegrad: spiking neural networks in PyTorch, trained with surrogate gradients."""

from __future__ import annotations

__version__ = "0.1.0"

from . import surrogate

__all__ = ["surrogate", "__version__"]
