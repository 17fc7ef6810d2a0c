"""spikegrad: spiking neural networks in PyTorch, trained with surrogate gradients.

Modules mirror SpikingJelly's: :mod:`~spikegrad.surrogate` (spike functions with surrogate
gradients), :mod:`~spikegrad.neuron` (IF, LIF, PLIF), :mod:`~spikegrad.functional`
(``reset_net``, ``set_step_mode`` ...), :mod:`~spikegrad.layer` (step-mode aware layers),
:mod:`~spikegrad.encoding`, :mod:`~spikegrad.monitor` (hooks that record layers, firing rates),
:mod:`~spikegrad.base` (memory modules).
"""

from __future__ import annotations

__version__ = "0.2.0"

from . import base, encoding, functional, layer, monitor, neuron, surrogate

__all__ = ["__version__", "base", "encoding", "functional", "layer", "monitor", "neuron", "surrogate"]
