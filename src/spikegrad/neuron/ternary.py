r"""The ternary IF neuron: signed spikes ``-1, 0, 1`` from a positive and a negative threshold."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from .base_node import BaseNode
from .params import number

__all__ = ["TernaryIFNode"]

V_THRESHOLD = number("v_threshold", 1.0, "the two thresholds are +v_threshold and -v_threshold", low=0.0)


class TernaryIFNode(BaseNode):
    r"""Integrate-and-fire neuron with signed (ternary) spikes.

    .. math::
        H_t = V_{t-1} + X_t, \quad
        P_t = \Theta(H_t - \theta), \quad N_t = \Theta(-H_t - \theta), \quad
        S_t = P_t - N_t \in \{-1, 0, 1\}

    Both thresholds are inclusive (``Theta(0) = 1``) and each takes the surrogate gradient.
    After a spike of either sign, a hard reset sets ``V_t = R_t V_{reset} + (1 - R_t) H_t``
    with the reset event ``R_t = P_t + N_t``; a soft reset (``v_reset=None``) subtracts the
    signed spike, ``V_t = H_t - \theta S_t``. ``detach_reset`` cuts the gradient of the
    reset only, not of the output. With a surrogate in ``spiking=False`` mode, ``P_t`` and
    ``N_t`` are the smooth primitive and so are the output and the reset.

    Args:
        v_threshold: the thresholds ``+theta`` and ``-theta``, a finite number > 0 (default 1.0).
        v_reset: hard-reset potential strictly between ``-theta`` and ``theta`` (default
            0.0), or ``None`` for the signed soft reset.
        surrogate_function: spike function of both thresholds; ``None`` gives a fresh
            ``surrogate.Sigmoid()``.
        detach_reset: cut the gradient through the reset (default False).
        step_mode: ``'s'`` (default) or ``'m'``.
        store_v_seq: keep the potential of every step in ``v_seq`` (default False).
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    Raises:
        ValueError: ``v_threshold <= 0``, or ``v_reset`` outside ``(-v_threshold,
            v_threshold)`` (checked at construction), and the errors of :class:`BaseNode`.

    Reference:
        SpikingJelly's ``TernaryIFNode``; signed spikes as in e.g. Y. Guo et al., "Ternary
        Spike: Learning Ternary Spikes for Spiking Neural Networks", AAAI 2024.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.TernaryIFNode(step_mode="m")
        >>> node(torch.tensor([[-1.0, 0.0, 1.0], [-0.5, 0.5, 0.5]]))
        tensor([[-1.,  0.,  1.],
                [ 0.,  0.,  0.]])
        >>> node.v
        tensor([-0.5000,  0.5000,  0.5000])
    """

    params = (V_THRESHOLD, *BaseNode.params[1:])

    def setup(self, **arguments: Any) -> None:
        super().setup(**arguments)
        if self.v_reset is not None and not -self.v_threshold < self.v_reset < self.v_threshold:
            raise ValueError(
                f"{type(self).__name__}: v_reset must lie strictly between -v_threshold and v_threshold "
                f"({-self.v_threshold!r}, {self.v_threshold!r}), got {self.v_reset!r}"
            )

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + x

    def step(self, x: Tensor) -> Tensor:
        """Charge, fire at both thresholds, reset on an event of either sign. Returns ``S_t``."""
        self.neuronal_charge(x)
        positive = self.surrogate_function(self.v - self.v_threshold)
        negative = self.surrogate_function(-self.v - self.v_threshold)
        spike = positive - negative
        # A hard reset follows P + N, so both branches keep their gradient even where P - N = 0.
        self.neuronal_reset(spike if self.v_reset is None else positive + negative)
        return spike  # type: ignore[no-any-return]
