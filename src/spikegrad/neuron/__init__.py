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

from .adaptive import AdaptBaseNode, ALIFNode, IzhikevichNode
from .analog import LIAFNode
from .base_node import DEFAULT_BACKEND, BaseNode
from .complementary import ComplementaryLIFNode
from .current import CUBALIFNode
from .gated import GatedLIFNode
from .ilif import ILIFNode
from .nodes import IFNode, LIFNode, ParametricLIFNode
from .nonlinear import EIFNode, QIFNode
from .nonspiking import NonSpikingBaseNode, NonSpikingIFNode, NonSpikingLIFNode
from .online import OTTTLIFNode
from .parallel import PSN, MaskedPSN, SlidingPSN
from .params import Param, State
from .resonate import RAFNode
from .simple import SimpleBaseNode, SimpleIFNode, SimpleLIFNode
from .ternary import TernaryIFNode
from .variants import HalfThresholdIFNode, KLIFNode

__all__ = [
    "DEFAULT_BACKEND",
    "PSN",
    "ALIFNode",
    "AdaptBaseNode",
    "BaseNode",
    "CUBALIFNode",
    "ComplementaryLIFNode",
    "EIFNode",
    "GatedLIFNode",
    "HalfThresholdIFNode",
    "IFNode",
    "ILIFNode",
    "IzhikevichNode",
    "KLIFNode",
    "LIAFNode",
    "LIFNode",
    "MaskedPSN",
    "NonSpikingBaseNode",
    "NonSpikingIFNode",
    "NonSpikingLIFNode",
    "OTTTLIFNode",
    "Param",
    "ParametricLIFNode",
    "QIFNode",
    "RAFNode",
    "SimpleBaseNode",
    "SimpleIFNode",
    "SimpleLIFNode",
    "SlidingPSN",
    "State",
    "TernaryIFNode",
]
