"""The multi-step reference: the neuron's own step, called once per time step.

Autograd differentiates it step by step. It is the oracle every fused kernel is tested
against, and what ``backend='reference'`` runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor


@contextlib.contextmanager
def stepping(node: Any) -> Iterator[None]:
    """Mark ``node`` as inside a step, so that its ``single_step_forward`` (which a user's
    step may call through ``super()``) runs the bare step without checks or bookkeeping."""
    node.__dict__["_binding"] = True
    try:
        yield
    finally:
        node.__dict__["_binding"] = False


def multi_step(node: Any, x_seq: Tensor, store_v_seq: bool = False) -> tuple[Tensor, Tensor | None]:
    """Run ``T = x_seq.shape[0]`` steps of ``node`` on its state (which it updates).

    Args:
        node: a neuron whose state variables are tensors of one step's shape.
        x_seq: inputs ``[T, *shape]``, ``T >= 1``.
        store_v_seq: also return ``v`` after every step.

    Returns:
        ``(outputs [T, *shape], v_seq [T, *shape] or None)``.
    """
    step = getattr(node, node.step_method)
    outputs, vs = [], []
    # try/finally rather than `with stepping(node)`: dynamo of torch 2.9 cannot trace through a
    # generator-based context manager in fullgraph mode.
    node.__dict__["_binding"] = True
    try:
        for x in x_seq.unbind(0):
            outputs.append(step(x))
            if store_v_seq:
                vs.append(node.v)
    finally:
        node.__dict__["_binding"] = False  # not `del`: dynamo of torch 2.9 cannot trace it
    return torch.stack(outputs), (torch.stack(vs) if store_v_seq else None)


def single_step(node: Any, x: Tensor) -> Tensor:
    """One step of ``node`` on its state."""
    node.__dict__["_binding"] = True  # as `stepping`, spelled out for dynamo (see multi_step)
    try:
        return getattr(node, node.step_method)(x)  # type: ignore[no-any-return]
    finally:
        node.__dict__["_binding"] = False
