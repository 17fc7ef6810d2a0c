r"""Neuron dynamics as pure functions: state in, state out.

These few lines are the definition of IF, LIF and PLIF neurons. The single-step mode,
the multi-step reference loop (the oracle of the fused kernels) and the tests all call
them; nothing else spells the equations out.

Per step, with ``theta = v_threshold``, ``v_r = v_reset`` (0 when ``v_reset is None``) and
``k = 1/tau`` (LIF) or ``sigmoid(w)`` (PLIF):

    charge  IF   : h = v + x
            LIF  : h = v + k (x - (v - v_r))      (decay_input)
                   h = v - k (v - v_r) + x        (otherwise)
    fire         : s = surrogate(h - theta)
    reset   hard : v' = r v_reset + (1 - r) h,    r = s.detach() if detach_reset else s
            soft : v' = h - r theta
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

Surrogate = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Dynamics:
    """The constants that select and parameterise a neuron's equations.

    Attributes:
        v_threshold: firing threshold ``theta``.
        v_reset: hard-reset potential, or ``None`` for a soft (subtractive) reset.
        detach_reset: cut the reset's gradient path (``r = s.detach()``).
        leaky: LIF/PLIF (``True``) or IF (``False``).
        decay_input: LIF/PLIF only: the input is scaled by ``k`` too.
    """

    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    detach_reset: bool = False
    leaky: bool = False
    decay_input: bool = True

    @property
    def v_rest(self) -> float:
        """The potential a leaky neuron decays towards (``v_reset``, or 0 for soft reset)."""
        return 0.0 if self.v_reset is None else self.v_reset


def charge(dyn: Dynamics, v: Tensor | float, x: Tensor, k: Tensor | float) -> Tensor:
    """Integrate one input step: the charge ``h`` before firing (``k`` unused for IF)."""
    if not dyn.leaky:
        return v + x
    if dyn.decay_input:
        return v + k * (x - (v - dyn.v_rest))
    return v - k * (v - dyn.v_rest) + x


def fire(dyn: Dynamics, h: Tensor, surrogate: Surrogate) -> Tensor:
    """Spike where ``h >= theta``, with the surrogate's gradient."""
    return surrogate(h - dyn.v_threshold)


def reset(dyn: Dynamics, h: Tensor, s: Tensor) -> Tensor:
    """The potential after the spike ``s``: hard (to ``v_reset``) or soft (minus ``theta``)."""
    r = s.detach() if dyn.detach_reset else s
    if dyn.v_reset is None:
        return h - r * dyn.v_threshold
    return r * dyn.v_reset + (1 - r) * h


def step(
    dyn: Dynamics, surrogate: Surrogate, x: Tensor, v: Tensor | float, k: Tensor | float
) -> tuple[Tensor, Tensor, Tensor]:
    """One time step. Returns ``(spike, charge h, new v)``."""
    h = charge(dyn, v, x, k)
    s = fire(dyn, h, surrogate)
    return s, h, reset(dyn, h, s)
