"""Spiking neurons: each one definition (parameters, state, one step), from which the module,
both step modes, the reference loop and the fused kernels are derived.

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

from .base_node import DEFAULT_BACKEND, BaseNode
from .nodes import IFNode, LIFNode, ParametricLIFNode
from .nonspiking import NonSpikingBaseNode, NonSpikingIFNode, NonSpikingLIFNode
from .params import Param, State

__all__ = [
    "DEFAULT_BACKEND",
    "BaseNode",
    "IFNode",
    "LIFNode",
    "NonSpikingBaseNode",
    "NonSpikingIFNode",
    "NonSpikingLIFNode",
    "Param",
    "ParametricLIFNode",
    "State",
]
