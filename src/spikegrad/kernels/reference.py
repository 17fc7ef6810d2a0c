"""The multi-step reference: a plain loop over time of :func:`spikegrad.neuron.dynamics.step`.

Autograd differentiates it step by step. It is the oracle every fused kernel is tested
against, and the implementation behind ``backend='reference'``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..neuron.dynamics import Dynamics, Surrogate, step


def multi_step(
    dyn: Dynamics,
    surrogate: Surrogate,
    x_seq: Tensor,
    v: Tensor | float,
    k: Tensor | float,
    store_v_seq: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run ``T = x_seq.shape[0]`` steps.

    Args:
        dyn: the neuron's equations.
        surrogate: the spike function (a surrogate module).
        x_seq: inputs, shape ``[T, *shape]``.
        v: initial potential, a number or a tensor broadcastable to ``shape``.
        k: leak factor (``1/tau`` or ``sigmoid(w)``), ignored for IF.
        store_v_seq: also return the post-reset potential of every step.

    Returns:
        ``(spikes [T, *shape], final v [*shape], v_seq [T, *shape] or None)``.
    """
    spikes, vs = [], []
    if not isinstance(v, Tensor) or v.shape != x_seq.shape[1:]:
        v = torch.broadcast_to(torch.as_tensor(v, dtype=x_seq.dtype, device=x_seq.device), x_seq.shape[1:])
    for x in x_seq.unbind(0):
        s, _, v = step(dyn, surrogate, x, v, k)
        spikes.append(s)
        if store_v_seq:
            vs.append(v)
    if not spikes:
        empty = x_seq.new_empty(x_seq.shape)
        return empty, v, (empty if store_v_seq else None)
    return torch.stack(spikes), v, (torch.stack(vs) if store_v_seq else None)
