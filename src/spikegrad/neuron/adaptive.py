r"""Adaptive neurons: a second state variable that makes a neuron tire as it fires.

* :class:`AdaptBaseNode` (SpikingJelly) adds an adaptation current ``w``, driven by the
  potential and raised by every spike; :class:`IzhikevichNode` builds on it.
* :class:`ALIFNode` (Bellec et al. 2018) raises the threshold instead: every spike lifts it,
  and it relaxes back with its own, long time constant. Recurrent networks of these neurons
  (LSNNs) hold information over hundreds of steps, which is why they are used on speech.
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from .base_node import V_RESET, V_THRESHOLD, BaseNode
from .nodes import DECAY_INPUT, TAU
from .params import Checked, Param, State, number

__all__ = ["ALIFNode", "AdaptBaseNode", "IzhikevichNode"]

V_AT_RESET = State(
    "v", lambda node: 0.0 if node.v_reset is None else node.v_reset, "membrane potential; starts at v_reset"
)


class AdaptBaseNode(BaseNode):
    r"""Base of neurons with an adaptation current ``w`` (SpikingJelly's ``AdaptBaseNode``).

    A subclass defines :meth:`~BaseNode.neuronal_charge`, which may read ``self.w``; each
    step is then

    .. math::
        H_t = f(V_{t-1}, W_{t-1}, X_t), \qquad
        W'_t = W_{t-1} + \frac{a (H_t - V_{rest}) - W_{t-1}}{\tau_w}, \qquad
        S_t = \Theta(H_t - \theta),

    then ``V_t`` is reset as in :class:`~spikegrad.neuron.BaseNode` and every spike raises
    the adaptation: ``W_t = W'_t + b S_t`` (``detach_reset`` does not cut this path, as in
    SpikingJelly).

    Args:
        v_threshold: firing threshold (default 1.0).
        v_reset: potential after a spike (default 0.0), or ``None`` for a soft reset. The
            potential starts there (0 for a soft reset).
        v_rest: resting potential that the adaptation measures from (default 0.0).
        w_rest: value of ``w`` at rest (default 0.0).
        tau_w: time constant of the adaptation, a finite number > 0 (default 2.0).
        a: subthreshold coupling of ``w`` to the potential (default 0.0).
        b: jump of ``w`` at each spike (default 0.0).
        surrogate_function, detach_reset, step_mode, store_v_seq, backend: as
            :class:`~spikegrad.neuron.IFNode`.

    Raises:
        TypeError: constructing ``AdaptBaseNode`` itself (it has no charge equation).
        ValueError: ``tau_w <= 0`` or a number that is not finite.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> class AdaptiveIF(neuron.AdaptBaseNode):
        ...     def neuronal_charge(self, x):
        ...         self.v = self.v + x - self.w
        >>> node = AdaptiveIF(b=0.3, tau_w=5.0, step_mode="m")
        >>> node(torch.full((10,), 0.6)).tolist()  # without w: every other step
        [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        >>> round(node.w.item(), 4)
        0.3886
    """

    params = (
        V_THRESHOLD,
        V_RESET,
        number("v_rest", 0.0, "resting potential: the adaptation current measures v from it"),
        number("w_rest", 0.0, "adaptation current at rest"),
        number("tau_w", 2.0, "time constant of the adaptation current", low=0.0),
        number("a", 0.0, "subthreshold coupling of the adaptation current to the potential"),
        number("b", 0.0, "jump of the adaptation current at each spike"),
        *BaseNode.params[2:],
    )
    state = (V_AT_RESET, State("w", lambda node: node.w_rest, "adaptation current; starts at w_rest"))
    w: Tensor | float
    w_rest: float
    tau_w: float
    a: float
    b: float

    def setup(self, **arguments: Any) -> None:
        if type(self).neuronal_charge is BaseNode.neuronal_charge:
            raise TypeError(
                f"{type(self).__name__} is the base of adaptive neurons and has no charge equation: subclass "
                "it and define neuronal_charge(self, x), which updates self.v (or use IzhikevichNode)"
            )
        super().setup(**arguments)

    def neuronal_adaptation(self) -> None:
        """Relax ``w`` towards ``a (v - v_rest)`` (called after the charge, before the spike)."""
        self.w = self.w + (self.a * (self.v - self.v_rest) - self.w) / self.tau_w

    def neuronal_reset(self, spike: Tensor) -> None:
        """Reset ``v`` as :class:`BaseNode` does, and raise ``w`` by ``b`` at each spike."""
        super().neuronal_reset(spike)
        self.w = self.w + self.b * spike

    def step(self, x: Tensor) -> Tensor:
        """Charge, adapt, fire, reset. Returns the spikes."""
        self.neuronal_charge(x)
        self.neuronal_adaptation()
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        return spike


class IzhikevichNode(AdaptBaseNode):
    r"""Izhikevich neuron: a quadratic integrate-and-fire neuron with an adaptation current.

    .. math::
        H_t = V_{t-1} + \frac{1}{\tau}\left(X_t + a_0 (V_{t-1} - V_{rest})(V_{t-1} - V_c)
              - W_{t-1}\right)

    then adaptation, firing and reset as :class:`AdaptBaseNode`:
    ``W_t = W_{t-1} + (a (H_t - V_{rest}) - W_{t-1}) / tau_w + b S_t``.

    Args:
        tau: membrane time constant, a finite number > 1 (default 2.0).
        v_c: critical voltage of the quadratic term (default 0.8).
        a0: quadratic coefficient, a finite number > 0 (default 1.0).
        v_threshold: firing threshold (default 1.0).
        v_reset: potential after a spike (default 0.0), or ``None`` for a soft reset. The
            potential starts there (0 for a soft reset).
        v_rest: resting potential (default -0.1).
        w_rest, tau_w, a, b: the adaptation, as :class:`AdaptBaseNode` (defaults 0.0, 2.0,
            0.0, 0.0).
        surrogate_function, detach_reset, step_mode, store_v_seq, backend: as
            :class:`~spikegrad.neuron.IFNode`.

    Raises:
        ValueError: ``tau <= 1``, ``a0 <= 0``, ``tau_w <= 0`` or a number that is not finite.

    Reference:
        E. M. Izhikevich, "Simple model of spiking neurons", IEEE Transactions on Neural
        Networks 14(6), 2003.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.IzhikevichNode(a=0.5, b=0.2, step_mode="m")
        >>> node(torch.full((12,), 0.8)).tolist()
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    """

    params = (
        TAU,
        number("v_c", 0.8, "critical voltage: above it the quadratic term drives v up"),
        number("a0", 1.0, "quadratic coefficient", low=0.0),
        V_THRESHOLD,
        V_RESET,
        AdaptBaseNode.params[2].with_default(-0.1),
        *AdaptBaseNode.params[3:],
    )
    tau: float
    v_c: float
    a0: float

    def neuronal_charge(self, x: Tensor) -> None:
        v = self.v
        self.v = v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c) - self.w) / self.tau


class _TimeConstant(Checked):
    """A validated time constant that also keeps its per-step decay ``exp(-1/tau)`` in the
    instance, as a number beside it: the step multiplies by the decay, which the fused
    kernels then receive as a runtime scalar computed once on the host."""

    def __init__(self, param: Param, decay: str) -> None:
        super().__init__(param)
        self.decay = decay

    def __set__(self, obj: Any, value: Any) -> None:
        super().__set__(obj, value)
        obj.__dict__[self.decay] = math.exp(-1.0 / obj.__dict__[self.slot])


TAU_M = number(
    "tau_m", 20.0, "membrane time constant (steps); the potential decays by alpha = exp(-1/tau_m)", low=0.0
)
TAU_A = number(
    "tau_a", 200.0, "time constant of the threshold adaptation (steps); decay rho = exp(-1/tau_a)", low=0.0
)


class ALIFNode(BaseNode):
    r"""Adaptive-threshold LIF neuron (ALIF) of Bellec et al. 2018, the unit of LSNNs.

    Every spike raises the threshold, which relaxes back with the time constant ``tau_a``
    (hundreds of steps), so a neuron's recent activity is remembered far longer than its
    potential. Per step ``t`` (time in steps, ``alpha = exp(-1/tau_m)``,
    ``rho = exp(-1/tau_a)``):

    .. math::
        A_t &= \theta + \beta\, a_{t-1} \\
        H_t &= V_{t-1} + (1 - \alpha)\,\bigl(X_t - (V_{t-1} - V_{reset})\bigr) \\
        S_t &= \Theta(H_t - A_t) \\
        V_t &= H_t - S_t A_t \;\text{(soft)} \quad\text{or}\quad
               S_t V_{reset} + (1 - S_t) H_t \;\text{(hard)} \\
        a_t &= \rho\, a_{t-1} + (1 - \rho)\, S_t

    (the adaptive threshold, the charge with ``decay_input``, the spike, the reset, the
    adaptation).

    ``V_reset`` reads as 0 for the soft reset (the default, the paper's: subtract the
    threshold that was crossed). The charge is the paper's
    ``alpha V + (1 - alpha) R_m I`` with ``R_m = 1`` (shifted by ``V_reset``); with
    ``decay_input=False`` the input enters unscaled:
    ``H_t = V_{t-1} - (1 - alpha)(V_{t-1} - V_reset) + X_t``. The surrogate sees
    ``H_t - A_t``. ``beta = 0`` gives a LIF neuron with an exponential leak.

    The paper writes one update, ``V_{t+1} = alpha V_t + (1 - alpha) I_t - A_t z_t`` with
    ``z_t = Theta(V_t - A_t)``: the crossed threshold is subtracted at the next update,
    after the decay. Here, as for every neuron of this library, a step charges, fires and
    resets, so the threshold is subtracted in the step of the spike and then decays with
    the potential (the reset is scaled by ``alpha``, close to 1 for ``tau_m = 20``). The
    threshold and the adaptation follow the paper exactly.

    Args:
        tau_m: membrane time constant in steps, a finite number > 0 (default 20.0).
        tau_a: adaptation time constant in steps, a finite number > 0 (default 200.0;
            the paper uses 200 to 1200 ms at 1 ms steps).
        beta: threshold increase per unit of adaptation, a finite number >= 0
            (default 1.8, the paper's).
        decay_input: scale the input by ``1 - alpha`` (default True).
        v_threshold: baseline threshold ``theta`` (default 1.0).
        v_reset: ``None`` (default) for the soft reset, or the potential after a spike.
            The potential starts there (0 for a soft reset); ``a`` starts at 0.
        surrogate_function, detach_reset, step_mode, store_v_seq, backend: as
            :class:`~spikegrad.neuron.IFNode`. ``detach_reset`` cuts the gradient through
            the reset of ``v``, not through the adaptation.

    Attributes:
        alpha: the membrane decay per step, ``exp(-1/tau_m)`` (read-only).
        rho: the adaptation decay per step, ``exp(-1/tau_a)`` (read-only).

    Raises:
        ValueError: ``tau_m <= 0``, ``tau_a <= 0``, ``beta < 0`` or a number that is not finite.

    Reference:
        G. Bellec, D. Salaj, A. Subramoney, R. Legenstein and W. Maass, "Long short-term
        memory and learning-to-learn in networks of spiking neurons", NeurIPS 2018.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.ALIFNode(tau_m=4.0, tau_a=20.0, step_mode="m")
        >>> node(torch.full((16,), 2.0)).tolist()  # the gaps between spikes grow
        [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        >>> round(node.a.item(), 4)
        0.1353
    """

    params = (
        TAU_M,
        TAU_A,
        number("beta", 1.8, "threshold increase per unit of adaptation", low=0.0, low_inclusive=True),
        DECAY_INPUT,
        V_THRESHOLD,
        V_RESET.with_default(None),
        *BaseNode.params[2:],
    )
    state = (V_AT_RESET, State("a", 0.0, "threshold adaptation; the threshold is v_threshold + beta * a"))
    origin = "Bellec et al. 2018 (LSNN)"
    tau_m = _TimeConstant(TAU_M, "_alpha")
    tau_a = _TimeConstant(TAU_A, "_rho")
    a: Tensor | float
    beta: float
    decay_input: bool
    _alpha: float
    _rho: float

    @property
    def alpha(self) -> float:
        """The membrane decay per step, ``exp(-1/tau_m)``."""
        return self._alpha

    @property
    def rho(self) -> float:
        """The adaptation decay per step, ``exp(-1/tau_a)``."""
        return self._rho

    def neuronal_charge(self, x: Tensor) -> None:
        k = 1.0 - self._alpha
        if self.decay_input:
            self.v = self.v + k * (x - (self.v - self.v_rest))
        else:
            self.v = self.v - k * (self.v - self.v_rest) + x

    def step(self, x: Tensor) -> Tensor:
        """Charge, fire against the adaptive threshold, reset, adapt. Returns the spikes."""
        threshold = self.v_threshold + self.beta * self.a
        self.neuronal_charge(x)
        spike = self.surrogate_function(self.v - threshold)
        spike_d = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = self.v - spike_d * threshold
        else:
            self.v = spike_d * self.v_reset + (1 - spike_d) * self.v
        self.a = self._rho * self.a + (1 - self._rho) * spike
        return spike
