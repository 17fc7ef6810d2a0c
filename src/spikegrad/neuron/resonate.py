r"""The resonate-and-fire neuron: a damped oscillator that fires, not an integrator."""

from __future__ import annotations

import math

from torch import Tensor

from .base_node import BaseNode
from .params import State, number

__all__ = ["RAFNode"]

B = number("b", -0.2, "damping rate: the oscillation decays by exp(b dt) per step", high=0.0)
OMEGA = number("omega", 1.0, "angular frequency of the subthreshold oscillation", low=0.0)
DT = number("dt", 1.0, "time step of the discretisation", low=0.0)


def _exp(a: float | Tensor) -> float | Tensor:
    # A step sees its float attributes as Python numbers (reference loop) or as traced
    # scalars (fused kernels): the same formula serves both.
    return a.exp() if isinstance(a, Tensor) else math.exp(a)


def _cos(a: float | Tensor) -> float | Tensor:
    return a.cos() if isinstance(a, Tensor) else math.cos(a)


def _sin(a: float | Tensor) -> float | Tensor:
    return a.sin() if isinstance(a, Tensor) else math.sin(a)


class RAFNode(BaseNode):
    r"""Resonate-and-fire neuron (Izhikevich 2001): a complex potential that rotates and decays.

    The state ``z = u + i v`` follows ``z_t = z_{t-1} e^{(b + i\omega) dt} + X_t``; in two
    real states, with ``alpha = e^{b\,dt}`` and ``phi = omega dt``:

    .. math::
        U_t = \alpha (U_{t-1} \cos\phi - V_{t-1} \sin\phi) + X_t, \qquad
        H_t = \alpha (U_{t-1} \sin\phi + V_{t-1} \cos\phi)

    The neuron fires on ``S_t = Theta(H_t - theta)`` and resets ``v`` only (hard or soft, as
    :class:`~spikegrad.neuron.IFNode`); ``u`` is never reset, which gives the rebound after
    inhibition. It responds preferentially to input near its frequency ``omega``.

    Args:
        b: damping rate, a finite number < 0 (default -0.2).
        omega: angular frequency, a finite number > 0 (default 1.0).
        dt: time step, a finite number > 0 (default 1.0).
        v_threshold: firing threshold of ``v`` (default 1.0).
        v_reset: hard-reset potential of ``v`` (default 0.0), or ``None`` for a soft reset.
        surrogate_function: spike function; ``None`` gives a fresh ``surrogate.Sigmoid()``.
        detach_reset: cut the gradient through the reset (default False).
        step_mode: ``'s'`` (default) or ``'m'``.
        store_v_seq: keep ``v`` of every step in ``v_seq`` (default False).
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    State:
        ``v`` (the firing component, rests at ``v_reset``, 0 for a soft reset) and ``u``
        (the component that takes the input, rests at 0).

    Raises:
        ValueError: ``b >= 0``, ``omega <= 0``, ``dt <= 0`` or not finite, and the errors of
            :class:`BaseNode`.

    Reference:
        E. M. Izhikevich, "Resonate-and-fire neurons", Neural Networks 14 (2001) 883-894.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.RAFNode(step_mode="m")
        >>> node(torch.tensor([[2.0], [0.0], [0.0]])).flatten()
        tensor([0., 1., 0.])
        >>> node.u, node.v
        (tensor([0.3914]), tensor([0.6095]))
    """

    params = (B, OMEGA, DT, *BaseNode.params)
    state = (
        *BaseNode.state,
        State("u", 0.0, "the component that takes the input (real part); never reset"),
    )
    b: float
    omega: float
    dt: float
    u: Tensor | float

    def neuronal_charge(self, x: Tensor) -> None:
        decay = _exp(self.b * self.dt)
        angle = self.omega * self.dt
        cos, sin = _cos(angle), _sin(angle)
        u = decay * (self.u * cos - self.v * sin) + x
        self.v = decay * (self.u * sin + self.v * cos)
        self.u = u
