r"""State transitions of stateful layers as functions: explicit state in, new state out.

The functional core of SpikingJelly's ``Delay``, ``SynapseFilter`` and ``NeuNorm`` layers:
each function computes one time step from the input and the current state and returns the
output and the next state, without touching any module.

Example:
    >>> import torch
    >>> from spikegrad import functional
    >>> queue = ()
    >>> outputs = []
    >>> for x in torch.tensor([1.0, 2.0, 3.0]):
    ...     y, queue = functional.delay_step(x, queue, 1)
    ...     outputs.append(y.item())
    >>> outputs
    [0.0, 1.0, 2.0]
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor

__all__ = ["delay_step", "neunorm_step", "synapse_filter_step"]


def delay_step(x: Tensor, queue: tuple[Tensor, ...], delay_steps: int) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One step of a delay line of ``delay_steps`` steps: ``(y, queue_next)``.

    ``queue`` holds the inputs not yet released, oldest first. The output is the input of
    ``delay_steps`` calls ago, or zeros while the line fills up. The input tuple is not
    modified. With ``delay_steps = 0`` the output is ``x`` itself.

    Args:
        x: this step's input.
        queue: the delay line's state, a tuple (or list) of tensors, ``()`` at the start.
        delay_steps: the delay, an integer >= 0.

    Returns:
        ``(y, queue_next)``.

    Raises:
        TypeError: ``delay_steps`` is not an integer, or ``queue`` not a tuple or list.
        ValueError: ``delay_steps < 0``.
    """
    if isinstance(delay_steps, bool) or not isinstance(delay_steps, numbers.Integral):
        raise TypeError(f"delay_step: delay_steps must be an integer, got {delay_steps!r}")
    if delay_steps < 0:
        raise ValueError(f"delay_step: delay_steps must be >= 0, got {delay_steps}")
    if not isinstance(queue, tuple | list):
        raise TypeError(
            f"delay_step: queue must be a tuple of tensors (oldest first), got {type(queue).__name__}"
        )
    line = (*queue, x)
    if len(line) > delay_steps:
        return line[0], line[1:]
    return torch.zeros_like(x), line


def synapse_filter_step(x: Tensor, out_i: Tensor, reciprocal_tau: float | Tensor) -> Tensor:
    r"""One step of a first-order synapse (exponential current filter), reset by each input spike.

    .. math::
        I_t = I_{t-1} - (1 - X_t) \frac{I_{t-1}}{\tau} + X_t

    the discretisation of ``tau dI/dt = -I`` with a jump of +1 at each input spike: the
    current decays with time constant ``tau`` between spikes.

    Args:
        x: this step's input spikes (or input current).
        out_i: the current after the previous step (a tensor shaped like ``x``).
        reciprocal_tau: ``1/tau`` (a number), or ``sigmoid(w)`` for a learnable time constant.

    Returns:
        The current ``I_t``.

    Reference:
        P. U. Diehl and M. Cook, "Unsupervised learning of digit recognition using
        spike-timing-dependent plasticity", Frontiers in Computational Neuroscience 2015;
        H. Fang et al., "Exploiting Neuron and Synapse Filter Dynamics in Spatial Temporal
        Learning of Deep Spiking Neural Network", IJCAI 2020.
    """
    return out_i - (1.0 - x) * out_i * reciprocal_tau + x


def neunorm_step(
    in_spikes: Tensor, state: Tensor, weight: Tensor, momentum: float, input_scale: float
) -> tuple[Tensor, Tensor]:
    r"""One step of NeuNorm (Wu et al. 2019): ``(output, state_next)``.

    .. math::
        Z_t = m Z_{t-1} + s \sum_c X_{t,c}, \qquad Y_t = X_t - W Z_t

    with ``m = momentum`` and ``s = input_scale``: an auxiliary neuron per position integrates
    the activity of all channels and inhibits them.

    Args:
        in_spikes: ``[N, C, H, W]``.
        state: ``[N, 1, H, W]``, the auxiliary potential ``Z_{t-1}``.
        weight: broadcastable to ``in_spikes``.
        momentum: the decay of the state.
        input_scale: the scale of the channel sum.

    Returns:
        ``(Y_t, Z_t)``.

    Raises:
        ValueError: ``in_spikes`` is not 4-dimensional.

    Reference:
        Y. Wu et al., "Direct Training for Spiking Neural Networks: Faster, Larger, Better",
        AAAI 2019.
    """
    if not isinstance(in_spikes, Tensor) or in_spikes.dim() != 4:
        got = tuple(in_spikes.shape) if isinstance(in_spikes, Tensor) else type(in_spikes).__name__
        raise ValueError(f"neunorm_step expects in_spikes [N, C, H, W], got {got}")
    state_next = momentum * state + input_scale * in_spikes.sum(dim=1, keepdim=True)
    return in_spikes - weight * state_next, state_next
