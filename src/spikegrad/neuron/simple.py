r"""SpikingJelly's teaching neurons: ``SimpleBaseNode`` and the IF and LIF written on it.

SpikingJelly 2.0 keeps these pure-PyTorch classes for teaching and for custom dynamics: a
subclass overrides ``neuronal_charge`` and inherits firing and reset. In spikegrad every
neuron is written that way, so :class:`SimpleBaseNode` is the common base with
SpikingJelly's name, and a subclass of it runs through the fused kernels like any other.
"""

from __future__ import annotations

from torch import Tensor

from .base_node import BaseNode
from .nodes import DECAY_INPUT, TAU
from .params import REQUIRED

__all__ = ["SimpleBaseNode", "SimpleIFNode", "SimpleLIFNode"]


class SimpleBaseNode(BaseNode):
    r"""The charge-fire-reset interface for writing a neuron's dynamics.

    A subclass defines :meth:`~BaseNode.neuronal_charge`, which updates ``self.v`` from
    one input step; firing and reset are inherited:

    .. math::
        S_t = \Theta(H_t - \theta), \qquad
        V_t = \begin{cases} S_t V_{reset} + (1 - S_t) H_t & \text{hard reset} \\
                            H_t - S_t \theta & \text{soft reset (v\_reset=None)} \end{cases}

    ``SimpleBaseNode`` itself has no dynamics: constructing it is a ``TypeError`` that
    says to subclass it.

    Args:
        v_threshold: firing threshold ``theta`` (default 1.0).
        v_reset: potential after a spike (hard reset, default 0.0), or ``None`` for a soft
            reset; also the potential at rest (0 for a soft reset).
        surrogate_function: spike function; ``None`` gives a fresh ``surrogate.Sigmoid()``.
        detach_reset: cut the gradient through the reset (default False).
        step_mode: ``'s'`` (default) or ``'m'``.
        store_v_seq: keep the potential of every step in ``v_seq`` (default False; not an
            argument of SpikingJelly's class, which has no ``v_seq``).
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    Shape and errors: see :class:`~spikegrad.neuron.BaseNode`.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> class Doubling(neuron.SimpleBaseNode):
        ...     def neuronal_charge(self, x):
        ...         self.v = self.v + 2 * x
        >>> node = Doubling(step_mode="m")
        >>> node(torch.tensor([0.3, 0.3, 0.6])).tolist()
        [0.0, 1.0, 1.0]
    """


class SimpleIFNode(SimpleBaseNode):
    r"""Integrate-and-fire neuron on :class:`SimpleBaseNode`: ``H_t = V_{t-1} + X_t``.

    Args:
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq,
            backend: as :class:`SimpleBaseNode`.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.SimpleIFNode(v_reset=None, step_mode="m")
        >>> node(torch.tensor([0.6, 0.6, 0.6])).tolist()
        [0.0, 1.0, 0.0]
    """

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + x


class SimpleLIFNode(SimpleBaseNode):
    r"""Leaky integrate-and-fire neuron on :class:`SimpleBaseNode`.

    .. math::
        H_t = V_{t-1} + \frac{V_{reset} - V_{t-1} + X_t}{\tau} \quad\text{(decay\_input)},
        \qquad H_t = V_{t-1} + \frac{V_{reset} - V_{t-1}}{\tau} + X_t \quad\text{(otherwise)}

    with ``V_reset`` read as 0 for a soft reset. Unlike :class:`~spikegrad.neuron.LIFNode`,
    ``tau`` and ``decay_input`` have no defaults (as in SpikingJelly).

    Args:
        tau: membrane time constant, a finite number > 1 (required).
        decay_input: scale the input by ``1/tau`` too (required).
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq,
            backend: as :class:`SimpleBaseNode`.

    Raises:
        TypeError: ``tau`` or ``decay_input`` missing.
        ValueError: ``tau <= 1`` or not finite.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.SimpleLIFNode(2.0, True, step_mode="m", store_v_seq=True)
        >>> node(torch.tensor([0.6, 0.6, 1.5, -0.3, 2.5])).tolist()
        [0.0, 0.0, 0.0, 0.0, 1.0]
        >>> [round(v, 4) for v in node.v_seq.tolist()]
        [0.3, 0.45, 0.975, 0.3375, 0.0]
    """

    params = (TAU.with_default(REQUIRED), DECAY_INPUT.with_default(REQUIRED), *SimpleBaseNode.params)
    tau: float
    decay_input: bool

    def neuronal_charge(self, x: Tensor) -> None:
        if self.decay_input:
            self.v = self.v + (self.v_rest - self.v + x) / self.tau
        else:
            self.v = self.v + (self.v_rest - self.v) / self.tau + x
