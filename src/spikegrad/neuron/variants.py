r"""Variants of IF and LIF that change one part of the step: KLIF scales the charge by a
learnable ``k``; the half-threshold IF neuron starts half way to its threshold."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base_node import BaseNode
from .nodes import DECAY_INPUT, TAU
from .params import State, flag, number

__all__ = ["HalfThresholdIFNode", "KLIFNode"]


class KLIFNode(BaseNode):
    r"""K-based leaky integrate-and-fire neuron (KLIF): LIF with a learnable scale ``k``.

    .. math::
        H_t &= V_{t-1} + \frac{1}{\tau}\bigl(X_t - (V_{t-1} - V_{reset})\bigr)
        \quad\text{(decay\_input; otherwise } V_{t-1} - \tfrac{1}{\tau}(V_{t-1} - V_{reset}) + X_t) \\
        F_t &= \mathrm{ReLU}(k H_t), \qquad S_t = \Theta(F_t - \theta)

    and the reset applies to ``F_t`` (``scale_reset=False``) or, scaled back, to ``F_t / k``
    with threshold ``theta / k`` (``scale_reset=True``):

    .. math::
        V_t = \begin{cases} S_t V_{reset} + (1 - S_t) F_t & \text{hard} \\
                            F_t - S_t \theta & \text{soft} \end{cases}
        \qquad\text{or}\qquad
        V_t = \begin{cases} S_t V_{reset} + (1 - S_t) F_t / k & \text{hard} \\
                            (F_t - S_t \theta) / k & \text{soft} \end{cases}

    ``V_reset`` reads as 0 in the charge for a soft reset. ``k`` is a learnable scalar
    (``nn.Parameter``, initialised to 1, in ``state_dict``): it tunes the slope of the
    surrogate gradient as seen from ``H``.

    Args:
        scale_reset: reset ``F_t / k`` instead of ``F_t`` (default False).
        tau: membrane time constant, a finite number > 1 (default 2.0).
        decay_input: scale the input by ``1/tau`` too (default True).
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq,
            backend: as :class:`~spikegrad.neuron.IFNode`.

    Raises:
        ValueError: ``tau <= 1`` or not finite.

    Reference:
        C. Jiang and Y. Zhang, "KLIF: An optimized spiking neuron unit for tuning surrogate
        gradient slope and membrane potential", arXiv:2302.09238, 2023.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.KLIFNode(step_mode="m")
        >>> node(torch.tensor([1.0, 1.5, -1.0])).tolist()
        [0.0, 1.0, 0.0]
        >>> [name for name, _ in node.named_parameters()]
        ['k']
    """

    params = (
        flag("scale_reset", False, "reset F / k (with threshold theta / k) instead of F"),
        TAU,
        DECAY_INPUT,
        *BaseNode.params,
    )
    scale_reset: bool
    tau: float
    decay_input: bool

    def setup(self) -> None:  # type: ignore[override]
        self.k = nn.Parameter(torch.tensor(1.0))

    def neuronal_charge(self, x: Tensor) -> None:
        if self.decay_input:
            h = self.v + (x - (self.v - self.v_rest)) / self.tau
        else:
            h = self.v - (self.v - self.v_rest) / self.tau + x
        # k * 1.0: the same value; the multiplication gives k's gradient (a sum over the
        # neurons) one op after the sum, a form the fused kernels' partition accepts.
        scaled = (self.k * 1.0) * h
        # ReLU, as a where: the same values and the same gradient (0 at 0) as torch.relu,
        # whose backward op the fused kernels do not translate.
        self.v = torch.where(scaled > 0, scaled, 0.0)

    def neuronal_reset(self, spike: Tensor) -> None:
        if not self.scale_reset:
            super().neuronal_reset(spike)
            return
        spike_d = spike.detach() if self.detach_reset else spike
        v = self.v / self.k
        if self.v_reset is None:
            self.v = v - spike_d * (self.v_threshold / self.k)
        else:
            self.v = spike_d * self.v_reset + (1 - spike_d) * v


class HalfThresholdIFNode(BaseNode):
    r"""Integrate-and-fire neuron with a soft reset that starts half way to its threshold.

    .. math::
        V_{rest} = \theta / 2, \qquad H_t = V_{t-1} + X_t, \qquad S_t = \Theta(H_t - \theta),
        \qquad V_t = H_t - S_t \theta

    Starting at ``theta / 2`` rounds instead of truncating: over ``T`` steps of a constant
    input ``x`` the neuron fires ``round(T x / theta)`` times, which makes it the usual
    neuron of ANN-to-SNN conversion. ``reset()`` returns ``v`` to half the current
    ``v_threshold``. The reset is always soft: ``v_reset`` is ``None`` and cannot be set.

    Args:
        v_threshold: firing threshold, a finite number > 0 (default 1.0).
        surrogate_function, detach_reset, step_mode, store_v_seq, backend: as
            :class:`~spikegrad.neuron.IFNode`.

    Raises:
        ValueError: ``v_threshold <= 0`` or not finite; setting ``v_reset`` to a number.

    Reference:
        T. Bu, W. Fang, J. Ding, P. Dai, Z. Yu and T. Huang, "Optimal ANN-SNN Conversion for
        High-accuracy and Ultra-low-latency Spiking Neural Networks", ICLR 2022.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.HalfThresholdIFNode(step_mode="m")
        >>> node.v
        0.5
        >>> int(node(torch.full((10,), 0.26)).sum())  # round(10 * 0.26) spikes
        3
    """

    params = (
        number("v_threshold", 1.0, "firing threshold; the potential starts at half of it", low=0.0),
        *BaseNode.params[2:],
    )
    state = (State("v", lambda node: node.v_threshold / 2, "membrane potential; starts at v_threshold / 2"),)

    @property  # type: ignore[override]
    def v_reset(self) -> None:
        """Always ``None``: the reset subtracts the threshold."""
        return None

    @v_reset.setter
    def v_reset(self, value: object) -> None:
        if value is not None:
            raise ValueError(
                f"HalfThresholdIFNode always resets softly (v_reset=None), got v_reset={value!r}; "
                "use IFNode for a hard reset"
            )

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + x
