r"""The OTTT neuron: a single-step LIF neuron for online training through time."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .base_node import BACKEND, DETACH_RESET, STEP_MODE, STORE_V_SEQ, SURROGATE, V_RESET, V_THRESHOLD
from .nodes import DECAY_INPUT, TAU, LIFNode

__all__ = ["OTTTLIFNode"]


class OTTTLIFNode(LIFNode):
    r"""LIF neuron for online training through time (OTTT, Xiao et al. 2022).

    The dynamics are :class:`~spikegrad.neuron.LIFNode`'s, run one step per call. In
    training mode the potential carried over from the previous step is detached, so no
    gradient flows back through time, and the neuron also keeps a presynaptic trace of its
    spikes, updated without gradient:

    .. math::
        \hat a_t = \left(1 - \frac{1}{\tau}\right) \hat a_{t-1} + S_t, \qquad \hat a_{-1} = 0

    and returns the pair ``[S_t, a_t]``. The next layer computes its output from the spikes
    and its weight gradient from the trace (:class:`~spikegrad.layer.OTTTSequential` routes
    the pair). In evaluation mode the potential is not detached, the trace is left as it is,
    and the output is the spikes alone.

    Args:
        tau: membrane time constant, a finite number > 1 (default 2.0).
        decay_input: scale the input by ``1/tau`` too (default False).
        v_threshold: firing threshold (default 1.0).
        v_reset: hard-reset potential, or ``None`` (default) for a soft reset.
        surrogate_function: spike function; ``None`` gives a fresh ``surrogate.Sigmoid()``.
        detach_reset: cut the gradient through the reset (default True).
        step_mode: ``'s'``, the only mode (one step per call, for memory-efficient training).
        store_v_seq: keep the potential of every step since the last reset in ``v_seq``.
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    State:
        ``v`` (rests at ``v_reset``, 0 for a soft reset) and ``trace`` (``None`` until the
        first training step; then a tensor like ``v``).

    Returns:
        In training mode the list ``[spikes, trace]``, else the spikes.

    Reference:
        M. Xiao et al., "Online Training Through Time for Spiking Neural Networks",
        NeurIPS 2022.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.OTTTLIFNode()
        >>> spike, trace = node(torch.tensor([2.5, 0.5]))
        >>> spike, trace
        (tensor([1., 0.]), tensor([1., 0.]))
        >>> node.eval()(torch.tensor([2.5, 0.5]))
        tensor([1., 0.])
    """

    params = (
        TAU,
        DECAY_INPUT.with_default(False),
        V_THRESHOLD,
        V_RESET.with_default(None),
        SURROGATE,
        DETACH_RESET.with_default(True),
        STEP_MODE,
        STORE_V_SEQ,
        BACKEND,
    )
    step_modes = ("s",)
    trace: Tensor | None

    def setup(self, **arguments: Any) -> None:
        super().setup(**arguments)
        self.register_memory("trace", None)

    def state_names(self) -> tuple[str, ...]:
        """The step's state: ``v`` (the trace is kept outside the step, without gradient)."""
        return tuple(name for name in super().state_names() if name != "trace")

    def single_step_forward(self, x: Tensor) -> Tensor | list[Tensor]:  # type: ignore[override]
        if self.__dict__.get("_binding"):
            return super().single_step_forward(x)
        if self.training and isinstance(self.v, Tensor):
            self.v = self.v.detach()
        spike = super().single_step_forward(x)
        if not self.training:
            return spike
        with torch.no_grad():
            trace = torch.zeros_like(spike) if self.trace is None else self.trace
            self.trace = trace * (1.0 - 1.0 / self.tau) + spike
        return [spike, self.trace]
