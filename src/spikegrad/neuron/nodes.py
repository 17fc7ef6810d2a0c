"""IF, LIF and parametric LIF neurons (SpikingJelly's equations, defaults and names).

Each class is one definition: its parameters and its charge equation. Firing, reset,
state, both step modes and the fused kernels come from :class:`~.base_node.BaseNode`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from .base_node import BaseNode
from .params import Param, flag, number

TAU = number("tau", 2.0, "membrane time constant; the leak per step is 1/tau", low=1.0)
DECAY_INPUT = flag("decay_input", True, "scale the input by 1/tau too")
INIT_TAU = Param(
    "init_tau",
    2.0,
    TAU.check,
    TAU.rule,
    "initial time constant; w starts at -ln(init_tau - 1)",
    attribute=False,
)


class IFNode(BaseNode):
    r"""Integrate-and-fire neuron: ``H_t = V_{t-1} + X_t``, no leak.

    Args:
        v_threshold: firing threshold (default 1.0).
        v_reset: hard-reset potential (default 0.0), or ``None`` for a soft reset.
        surrogate_function: spike function; ``None`` gives a fresh ``surrogate.Sigmoid()``.
        detach_reset: cut the gradient through the reset (default False).
        step_mode: ``'s'`` (default) or ``'m'``.
        store_v_seq: keep the potential of every step in ``v_seq`` (default False).
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    Shape and errors: see :class:`~spikegrad.neuron.BaseNode`.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.IFNode(v_reset=None, step_mode="m")
        >>> node(torch.tensor([[0.6], [0.6], [0.6]])).flatten()
        tensor([0., 1., 0.])
        >>> node.v
        tensor([0.8000])
    """

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + x


class LIFNode(BaseNode):
    r"""Leaky integrate-and-fire neuron with time constant ``tau``.

    .. math::
        H_t = V_{t-1} + \frac{1}{\tau}\left(X_t - (V_{t-1} - V_{reset})\right)
        \quad\text{(decay\_input)}, \qquad
        H_t = V_{t-1} - \frac{1}{\tau}(V_{t-1} - V_{reset}) + X_t \quad\text{(otherwise)}

    with ``V_reset`` read as 0 for a soft reset.

    Args:
        tau: membrane time constant, a finite number > 1 (default 2.0).
        decay_input: scale the input by ``1/tau`` too (default True).
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq,
            backend: as :class:`IFNode`.

    Raises:
        ValueError: ``tau <= 1`` or not finite (and the errors of :class:`BaseNode`).

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.LIFNode(tau=2.0, step_mode="m", store_v_seq=True)
        >>> node(torch.tensor([0.6, 0.6, 1.5, -0.3, 2.5])).tolist()
        [0.0, 0.0, 0.0, 0.0, 1.0]
        >>> [round(v, 4) for v in node.v_seq.tolist()]
        [0.3, 0.45, 0.975, 0.3375, 0.0]
    """

    params = (TAU, DECAY_INPUT, *BaseNode.params)
    tau: float
    decay_input: bool

    def neuronal_charge(self, x: Tensor) -> None:
        k = 1.0 / self.tau
        if self.decay_input:
            self.v = self.v + k * (x - (self.v - self.v_rest))
        else:
            self.v = self.v - k * (self.v - self.v_rest) + x


class ParametricLIFNode(BaseNode):
    r"""LIF neuron with a learnable time constant (PLIF, Fang et al. 2021).

    As :class:`LIFNode` with ``1/tau`` replaced by ``k = sigmoid(w)``, where ``w`` is a
    learnable scalar initialised to ``-ln(init_tau - 1)`` (so that ``k = 1/init_tau``);
    ``tau = 1/k`` always stays above 1.

    Args:
        init_tau: initial time constant, a finite number > 1 (default 2.0).
        decay_input: scale the input by ``k`` too (default True).
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq,
            backend: as :class:`IFNode`.

    Reference:
        W. Fang et al., "Incorporating Learnable Membrane Time Constant to Enhance Learning
        of Spiking Neural Networks", ICCV 2021.

    Example:
        >>> from spikegrad import neuron
        >>> node = neuron.ParametricLIFNode(init_tau=4.0)
        >>> round(node.tau, 6), [name for name, _ in node.named_parameters()]
        (4.0, ['w'])
    """

    params = (INIT_TAU, DECAY_INPUT, *BaseNode.params)
    decay_input: bool

    def setup(self, init_tau: Any = 2.0) -> None:  # type: ignore[override]
        init_tau = INIT_TAU.check(type(self).__name__, "init_tau", init_tau)  # type: ignore[misc]
        self.w = nn.Parameter(torch.tensor(-math.log(init_tau - 1.0)))

    @property
    def tau(self) -> float:
        """The current time constant ``1 / sigmoid(w)`` (a number, no gradient)."""
        return 1.0 / torch.sigmoid(self.w.detach()).item()

    def neuronal_charge(self, x: Tensor) -> None:
        k = self.w.sigmoid()
        if self.decay_input:
            self.v = self.v + k * (x - (self.v - self.v_rest))
        else:
            self.v = self.v - k * (self.v - self.v_rest) + x

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, tau={round(self.tau, 6)}"
