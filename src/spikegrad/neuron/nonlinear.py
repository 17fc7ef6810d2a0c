r"""Nonlinear integrate-and-fire neurons: quadratic (QIF) and exponential (EIF).

Their charge adds a voltage-dependent current to the LIF equation, so that a neuron near
threshold accelerates towards the spike as a real one does. SpikingJelly 2.0's classes,
arguments, defaults and equations. The potential starts at ``v_reset`` (0 for a soft
reset), as in SpikingJelly, not at ``v_rest``.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor

from .base_node import V_THRESHOLD, BaseNode
from .nodes import TAU
from .params import State, number, optional_number

__all__ = ["EIFNode", "QIFNode"]

V_REST = number("v_rest", 0.0, "resting potential: the leak pulls v towards it")
V_RESET = optional_number(
    "v_reset", -0.1, "potential after a spike (hard reset); None: subtract v_threshold (soft reset)"
)
#: The potential starts at v_reset (0 for a soft reset), not at v_rest (SpikingJelly's choice).
V_AT_RESET = State(
    "v", lambda node: 0.0 if node.v_reset is None else node.v_reset, "membrane potential; starts at v_reset"
)


def check_reset_below(node: Any) -> None:
    """SpikingJelly's rule for a hard reset: ``v_reset < v_threshold`` and ``v_reset <= v_rest``."""
    if node.v_reset is None:
        return
    if not node.v_reset < node.v_threshold:
        raise ValueError(
            f"{type(node).__name__}: v_reset must be below v_threshold, got v_reset={node.v_reset!r} "
            f"and v_threshold={node.v_threshold!r}"
        )
    if not node.v_reset <= node.v_rest:
        raise ValueError(
            f"{type(node).__name__}: v_reset must not exceed v_rest, got v_reset={node.v_reset!r} "
            f"and v_rest={node.v_rest!r}"
        )


class QIFNode(BaseNode):
    r"""Quadratic integrate-and-fire neuron.

    .. math::
        H_t = V_{t-1} + \frac{1}{\tau}\left(X_t + a_0 (V_{t-1} - V_{rest})(V_{t-1} - V_c)\right)

    then fire ``S_t = Theta(H_t - theta)`` and reset as :class:`~spikegrad.neuron.BaseNode`.
    Below ``v_c`` the quadratic term pulls the potential back to ``v_rest``; above it, it
    drives the potential up to the spike.

    Args:
        tau: membrane time constant, a finite number > 1 (default 2.0).
        v_c: critical voltage (default 0.8).
        a0: quadratic coefficient, a finite number > 0 (default 1.0).
        v_threshold: firing threshold (default 1.0).
        v_rest: resting potential (default 0.0).
        v_reset: potential after a spike (default -0.1), or ``None`` for a soft reset.
            The potential also starts there (0 for a soft reset).
        surrogate_function, detach_reset, step_mode, store_v_seq, backend: as
            :class:`~spikegrad.neuron.IFNode`.

    Raises:
        ValueError: ``tau <= 1``, ``a0 <= 0``, a number that is not finite, or (hard
            reset) ``v_reset >= v_threshold`` or ``v_reset > v_rest``.

    Reference:
        W. Gerstner, W. M. Kistler, R. Naud and L. Paninski, "Neuronal Dynamics", Cambridge
        University Press, 2014, section 5.3.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.QIFNode(step_mode="m")
        >>> node(torch.tensor([1.0, 1.0, 1.0, 1.0])).tolist()
        [0.0, 0.0, 1.0, 0.0]
    """

    params = (
        TAU,
        number("v_c", 0.8, "critical voltage: above it the quadratic term drives v up"),
        number("a0", 1.0, "quadratic coefficient", low=0.0),
        V_THRESHOLD,
        V_REST,
        V_RESET,
        *BaseNode.params[2:],
    )
    state = (V_AT_RESET,)
    tau: float
    v_c: float
    a0: float

    def setup(self) -> None:  # type: ignore[override]
        check_reset_below(self)

    def neuronal_charge(self, x: Tensor) -> None:
        v = self.v
        self.v = v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c)) / self.tau


class EIFNode(BaseNode):
    r"""Exponential integrate-and-fire neuron.

    .. math::
        H_t = V_{t-1} + \frac{1}{\tau}\left(X_t - (V_{t-1} - V_{rest})
              + \Delta_T \exp\!\left(\frac{V_{t-1} - \theta_{rh}}{\Delta_T}\right)\right)

    then fire and reset as :class:`~spikegrad.neuron.BaseNode`. As ``delta_T -> 0`` it
    becomes a LIF neuron with threshold ``theta_rh``.

    Args:
        tau: membrane time constant, a finite number > 1 (default 2.0).
        delta_T: sharpness of the exponential, a finite number > 0 (default 1.0).
        theta_rh: rheobase threshold (default 0.8).
        v_threshold: firing threshold (default 1.0).
        v_rest: resting potential (default 0.0).
        v_reset: potential after a spike (default -0.1), or ``None`` for a soft reset.
            The potential also starts there (0 for a soft reset).
        surrogate_function, detach_reset, step_mode, store_v_seq, backend: as
            :class:`~spikegrad.neuron.IFNode`.

    Raises:
        ValueError: ``tau <= 1``, ``delta_T <= 0``, a number that is not finite, or (hard
            reset) ``v_reset >= v_threshold`` or ``v_reset > v_rest``.

    Reference:
        N. Fourcaud-Trocmé, D. Hansel, C. van Vreeswijk and N. Brunel, "How spike generation
        mechanisms determine the neuronal response to fluctuating inputs", Journal of
        Neuroscience 23(37), 2003.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.EIFNode(step_mode="m")
        >>> node(torch.tensor([1.0, 1.0, 1.0, 1.0])).tolist()
        [0.0, 1.0, 0.0, 1.0]
    """

    params = (
        TAU,
        number("delta_T", 1.0, "sharpness of the exponential term", low=0.0),
        number("theta_rh", 0.8, "rheobase threshold: where the exponential term takes over"),
        V_THRESHOLD,
        V_REST,
        V_RESET,
        *BaseNode.params[2:],
    )
    state = (V_AT_RESET,)
    tau: float
    delta_T: float
    theta_rh: float

    def setup(self) -> None:  # type: ignore[override]
        check_reset_below(self)

    def neuronal_charge(self, x: Tensor) -> None:
        v = cast(Tensor, self.v)  # a tensor in every step: state is made one at the first call
        exponential = self.delta_T * torch.exp((v - self.theta_rh) / self.delta_T)
        self.v = v + (x + self.v_rest - v + exponential) / self.tau
