r"""Non-spiking neurons: integrators whose output is their membrane potential.

A non-spiking neuron charges like an IF or LIF neuron but never fires or resets; its output
is the potential itself, typically the read-out layer of a classifier whose score is the
membrane potential rather than a firing rate. ``decode`` turns the potential sequence
``[T, *shape]`` into one value per neuron (its maximum, its mean, its last value ...).

The recurrence of ``v`` is a neuron step like any other (fused on CPU and GPU); the decoding
is applied to the potential sequence afterwards. SpikingJelly's non-spiking neurons are
multi-step only and restart from ``v = 0`` at every call; so do these.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from .base_node import BACKEND, STEP_MODE, BaseNode
from .nodes import TAU
from .params import Param, State, choice

__all__ = ["DECODES", "NonSpikingBaseNode", "NonSpikingIFNode", "NonSpikingLIFNode", "decode_potential"]

#: The read-outs of a potential sequence (SpikingJelly's names): ``None`` keeps the whole
#: sequence; ``'max-mem'`` its maximum over time; ``'max-abs-mem'`` the value of largest
#: magnitude (the minimum where ``|min| >= |max|``); ``'mean-mem'`` the mean over time;
#: ``'last_mem'`` the last step.
DECODES = (None, "max-mem", "max-abs-mem", "mean-mem", "last_mem")

DECODE = choice("decode", None, DECODES, "read-out of the potential sequence; None: the whole sequence")
MULTI_STEP = STEP_MODE.with_default("m")


def decode_potential(v_seq: Tensor, decode: str | None) -> Tensor:
    """Read out a potential sequence ``[T, *shape]`` as ``decode`` says (see :data:`DECODES`).

    ``'max-mem'`` sends its gradient to one maximal step per neuron (``torch.max`` over time),
    as SpikingJelly does.

    Raises:
        ValueError: ``decode`` is not one of :data:`DECODES`.
    """
    if decode is None:
        return v_seq
    if decode == "max-mem":
        return v_seq.max(0).values
    if decode == "max-abs-mem":
        highest, lowest = v_seq.max(0).values, v_seq.min(0).values
        return torch.where(highest.abs() > lowest.abs(), highest, lowest)
    if decode == "mean-mem":
        return v_seq.mean(0)
    if decode == "last_mem":
        return v_seq[-1]
    raise ValueError(f"decode must be one of {DECODES}, got {decode!r}")


class NonSpikingBaseNode(BaseNode):
    r"""Base of the non-spiking neurons: charge ``v`` at every step, output the potential.

    .. math::
        V_t = f(V_{t-1}, X_t), \quad V_{-1} = 0, \qquad
        \text{output} = \operatorname{decode}(V_0, \dots, V_{T-1})

    A subclass defines the charge ``f`` in :meth:`neuronal_charge` (SpikingJelly's pattern),
    which updates ``self.v``; it runs fused like any neuron's step. Multi-step only: the
    input is a sequence ``[T, *shape]``, and every call starts again from ``v = 0`` (the
    potential after the call stays readable as ``node.v``).

    Args:
        decode: the read-out of the potential sequence, one of :data:`DECODES`
            (default ``None``: the whole sequence ``[T, *shape]``).
        step_mode: ``'m'``, the only mode.
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    Shape:
        input ``[T, *shape]``; output ``[T, *shape]`` for ``decode=None``, else ``[*shape]``.

    Raises:
        ValueError: an unknown ``decode``; ``step_mode`` other than ``'m'``; an empty
            sequence (``T = 0``) to decode.
        TypeError: a subclass without :meth:`neuronal_charge`; non-floating input.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> class HalfLeak(neuron.NonSpikingBaseNode):
        ...     def neuronal_charge(self, x):
        ...         self.v = 0.5 * self.v + x
        >>> HalfLeak(decode="last_mem")(torch.ones(3, 1))
        tensor([1.7500])
    """

    params: ClassVar[tuple[Param, ...]] = (DECODE, MULTI_STEP, BACKEND)
    state = (State("v", 0.0, "membrane potential; 0 at the start of every call"),)
    step_modes = ("m",)
    #: No v_seq record: the output is the potential sequence itself.
    store_v_seq = False
    decode: str | None

    def setup(self, **arguments: Any) -> None:
        super().setup(**arguments)
        if (
            type(self).neuronal_charge is BaseNode.neuronal_charge
            and type(self).step is NonSpikingBaseNode.step
        ):
            raise TypeError(
                f"{type(self).__name__} has no dynamics of its own: define neuronal_charge(self, x), "
                "which updates self.v (or use NonSpikingIFNode, NonSpikingLIFNode)"
            )

    def step(self, x: Tensor) -> Tensor:
        """Charge, and output the potential (no fire, no reset)."""
        self.neuronal_charge(x)
        return self.v  # type: ignore[return-value]

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        if isinstance(x_seq, Tensor) and x_seq.dim() > 0 and x_seq.shape[0] == 0 and self.decode is not None:
            raise ValueError(
                f"{type(self).__name__}: decode={self.decode!r} needs at least one time step, got an "
                f"input of shape {tuple(x_seq.shape)}"
            )
        self.reset()
        v_seq = super().multi_step_forward(x_seq)
        return decode_potential(v_seq, self.decode)


class NonSpikingIFNode(NonSpikingBaseNode):
    r"""Non-spiking integrator: ``V_t = V_{t-1} + X_t`` from ``V_{-1} = 0``, output decoded.

    The running sum of the input over time; see :class:`NonSpikingBaseNode` for ``decode``.

    Args:
        decode: the read-out, one of :data:`DECODES` (default ``None``: ``[T, *shape]``).
        step_mode: ``'m'``, the only mode.
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> x_seq = torch.tensor([[1.0], [-3.0], [0.5]])
        >>> neuron.NonSpikingIFNode()(x_seq).flatten()
        tensor([ 1.0000, -2.0000, -1.5000])
        >>> neuron.NonSpikingIFNode(decode="max-abs-mem")(x_seq)
        tensor([-2.])
    """

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + x


class NonSpikingLIFNode(NonSpikingBaseNode):
    r"""Non-spiking leaky integrator, the potential of a LIF neuron that never fires.

    .. math::
        V_t = V_{t-1} + \frac{1}{\tau}\left(X_t - V_{t-1}\right), \qquad V_{-1} = 0

    a first-order low-pass filter of the input; see :class:`NonSpikingBaseNode` for
    ``decode``.

    Args:
        tau: membrane time constant, a finite number > 1 (default 2.0).
        decode: the read-out, one of :data:`DECODES` (default ``None``: ``[T, *shape]``).
        step_mode: ``'m'``, the only mode.
        backend: ``'auto'`` (default), ``'fused'`` or ``'reference'``.

    Raises:
        ValueError: ``tau <= 1`` or not finite, and the errors of :class:`NonSpikingBaseNode`.

    Example:
        >>> import torch
        >>> from spikegrad import neuron
        >>> node = neuron.NonSpikingLIFNode(tau=2.0, decode="mean-mem")
        >>> node(torch.tensor([[1.0], [1.0], [1.0], [1.0]]))
        tensor([0.7656])
    """

    params = (TAU, DECODE, MULTI_STEP, BACKEND)
    tau: float

    def neuronal_charge(self, x: Tensor) -> None:
        self.v = self.v + (x - self.v) / self.tau
