"""Spiking neurons: IF, LIF and parametric LIF, with state and single-/multi-step modes.

The equations are pure functions in :mod:`spikegrad.neuron.dynamics`; the modules here
hold the constants, a surrogate spike function and the membrane potential ``v``.

Example:
    >>> import torch
    >>> from spikegrad import neuron, surrogate
    >>> lif = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m")
    >>> x_seq = torch.tensor([[0.6], [0.6], [1.5], [-0.3], [2.5]])  # [T, N]
    >>> lif(x_seq).flatten()
    tensor([0., 0., 0., 0., 1.])
    >>> lif.v  # the state after the last step
    tensor([0.])
"""

from __future__ import annotations

from . import dynamics
from .base_node import DEFAULT_BACKEND, BaseNode
from .dynamics import Dynamics
from .nodes import IFNode, LIFNode, ParametricLIFNode

__all__ = ["DEFAULT_BACKEND", "BaseNode", "Dynamics", "IFNode", "LIFNode", "ParametricLIFNode", "dynamics"]
