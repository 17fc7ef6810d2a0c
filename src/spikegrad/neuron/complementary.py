r"""The complementary LIF neuron (CLIF): a LIF potential and a complementary potential ``m``."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..kernels import reference
from ..surrogate import Rect
from ._surrogate_default import surrogate_or, surrogate_param
from .base_node import BACKEND, STEP_MODE, V_THRESHOLD, BaseNode
from .nodes import TAU
from .params import State, flag

__all__ = ["ComplementaryLIFNode"]

SURROGATE = surrogate_param("surrogate.Rect(alpha=1.0)")
STORE_STATE_SEQS = flag(
    "store_state_seqs", False, "keep [v_seq, m_seq], the potentials of every step, in state_seqs ('m' mode)"
)


def _default_surrogate() -> Rect:
    return Rect(alpha=1.0)


class ComplementaryLIFNode(BaseNode):
    r"""Complementary leaky integrate-and-fire neuron (Huang et al. 2024).

    Besides the LIF potential ``v``, CLIF keeps a complementary potential ``m`` that grows
    with every spike and decays with the charge; it raises the amount the soft reset removes:

    .. math::
        H_t = \left(1 - \frac{1}{\tau}\right) V_{t-1} + X_t, \quad
        S_t = \Theta(H_t - \theta), \\
        M_t = M_{t-1}\,\sigma\!\left(\frac{H_t}{\tau}\right) + S_t, \quad
        V_t = H_t - S_t \left(\theta + \sigma(M_t)\right)

    with ``sigma`` the logistic function. The input is not decayed, the reset is soft and
    keeps its gradient, and there are no learnable parameters.

    Args:
        tau: membrane time constant, a finite number > 1 (default 2.0).
        v_threshold: firing threshold (default 1.0).
        surrogate_function: spike function; ``None`` gives a fresh
            ``surrogate.Rect(alpha=1.0)``.
        step_mode: ``'s'`` (default) or ``'m'``.
        store_state_seqs: in ``'m'`` mode, keep ``state_seqs = [v_seq, m_seq]``, the
            potentials after every step of the last call, each ``[T, *shape]`` (default
            False). For monitoring: these calls run the plain loop over time.
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    State:
        ``v`` and ``m``, both resting at 0.

    Raises:
        ValueError: ``tau <= 1`` or not finite, and the errors of :class:`BaseNode`.

    Reference:
        Y. Huang et al., "CLIF: Complementary Leaky Integrate-and-Fire Neuron for Spiking
        Neural Networks", ICML 2024.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.ComplementaryLIFNode(step_mode="m")
        >>> node(torch.tensor([[1.2], [0.4], [1.0]])).flatten()
        tensor([1., 0., 1.])
        >>> node.v, node.m
        (tensor([-0.7229]), tensor([1.3258]))
    """

    params = (TAU, V_THRESHOLD, SURROGATE, STEP_MODE, STORE_STATE_SEQS, BACKEND)
    state = (
        State("v", 0.0, "membrane potential; rests at 0"),
        State("m", 0.0, "complementary potential; rests at 0"),
    )
    #: CLIF's reset is soft and keeps its gradient; its potential is recorded by
    #: store_state_seqs, not store_v_seq.
    v_reset = None
    detach_reset = False
    store_v_seq = False
    tau: float
    store_state_seqs: bool
    m: Tensor | float
    state_seqs: list[Tensor] | None

    def setup(self, surrogate_function: Any = None) -> None:  # type: ignore[override]
        self.surrogate_function = surrogate_or(type(self).__name__, surrogate_function, _default_surrogate)
        self.state_seqs = None

    def reset(self) -> None:
        super().reset()
        self.state_seqs = None

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v - self.v / self.tau + x

    def step(self, x: Tensor) -> Tensor:
        """Charge, fire, update ``m``, reset by ``theta + sigmoid(m)``. Returns the spikes."""
        self.neuronal_charge(x)
        decayed = self.m * torch.sigmoid(self.v / self.tau)  # type: ignore[arg-type,operator]
        spike = self.neuronal_fire()
        self.m = decayed + spike
        self.v = self.v - spike * (self.v_threshold + torch.sigmoid(self.m))
        return spike

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        if not self.store_state_seqs:
            return super().multi_step_forward(x_seq)
        # The fused kernels record one state (v); both trajectories come from the step loop.
        self._check_input(x_seq)
        if x_seq.dim() == 0:
            raise ValueError(f"{type(self).__name__} in step_mode 'm' expects [T, *shape], got a 0-d tensor")
        self._materialize(x_seq, x_seq.shape[1:])
        spikes, vs, ms = [], [], []
        with reference.stepping(self):
            for x in x_seq.unbind(0):
                spikes.append(self.step(x))
                vs.append(self.v)
                ms.append(self.m)
        if not spikes:
            self.state_seqs = [x_seq * 0, x_seq * 0]
            return x_seq * 0
        self.state_seqs = [torch.stack(vs), torch.stack(ms)]  # type: ignore[arg-type]
        return torch.stack(spikes)
