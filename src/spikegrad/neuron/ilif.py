r"""The integer LIF neuron (I-LIF): integer spike counts in training, binary events at inference."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..surrogate import MultiLevelSpikeCount
from ._surrogate_default import surrogate_or, surrogate_param
from .base_node import BACKEND, DETACH_RESET, STEP_MODE, STORE_V_SEQ
from .nodes import TAU, LIFNode
from .params import number

__all__ = ["ILIFNode"]

V_THRESHOLD = number("v_threshold", 1.0, "the potential worth one spike", low=0.0)
SURROGATE = surrogate_param("surrogate.MultiLevelSpikeCount(4)")


def _default_surrogate() -> MultiLevelSpikeCount:
    return MultiLevelSpikeCount(4)


class ILIFNode(LIFNode):
    r"""Integer LIF neuron: emits how many thresholds the potential holds, then subtracts them.

    .. math::
        H_t = V_{t-1} - \frac{1}{\tau} V_{t-1} + X_t, \quad
        C_t = \operatorname{round}(\operatorname{clip}(H_t / \theta, 0, D)), \quad
        V_t = H_t - C_t\,\theta

    a LIF neuron without input decay and with a soft reset, whose output is an integer count
    ``C_t in {0, ..., D}`` (``D`` the surrogate's ``max_spike_count``); at inference each
    count is ``C_t`` unit events. The gradient is straight-through on the surrogate's window
    (by default ``H_t / theta in [0, D]``). The paper's decay ``beta = 1 - 1/tau = 0.25`` is
    the default ``tau = 4/3``.

    Args:
        tau: membrane time constant, a finite number > 1 (default 4/3).
        v_threshold: the potential of one spike, a finite number > 0 (default 1.0).
        surrogate_function: a spiking :class:`~spikegrad.surrogate.MultiLevelSpikeCount`;
            ``None`` gives a fresh ``MultiLevelSpikeCount(4)``.
        detach_reset: cut the gradient through the reset (default False).
        step_mode: ``'s'`` (default) or ``'m'``.
        store_v_seq: keep the potential of every step in ``v_seq`` (default False).
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    Raises:
        ValueError: ``tau <= 1``, ``v_threshold <= 0``, a surrogate that is not a spiking
            ``MultiLevelSpikeCount``, and the errors of :class:`BaseNode`.

    Reference:
        X. Luo et al., "Integer-Valued Training and Spike-Driven Inference Spiking Neural
        Network for High-performance and Energy-efficient Object Detection", ECCV 2024.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.ILIFNode(step_mode="m")
        >>> node(torch.tensor([[2.5], [0.3], [9.0]])).flatten()
        tensor([2., 0., 4.])
        >>> node.v
        tensor([5.1062])
    """

    params = (
        TAU.with_default(4.0 / 3.0),
        V_THRESHOLD,
        SURROGATE,
        DETACH_RESET,
        STEP_MODE,
        STORE_V_SEQ,
        BACKEND,
    )
    #: I-LIF's charge is LIF's without input decay, its reset soft.
    decay_input = False
    v_reset = None

    def setup(self, surrogate_function: Any = None) -> None:  # type: ignore[override]
        sg = surrogate_or(type(self).__name__, surrogate_function, _default_surrogate)
        if not isinstance(sg, MultiLevelSpikeCount) or not sg.spiking:
            raise ValueError(
                f"{type(self).__name__}: surrogate_function must be a spiking "
                f"surrogate.MultiLevelSpikeCount (integer spike counts), got {sg!r}"
            )
        self.surrogate_function = sg

    def neuronal_fire(self) -> Tensor:
        """The integer count ``round(clip(H / theta, 0, D))``, straight-through gradient."""
        return self.surrogate_function(self.v / self.v_threshold)  # type: ignore[no-any-return]
