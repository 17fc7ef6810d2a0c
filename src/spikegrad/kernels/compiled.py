"""Fused neurons under ``torch.compile``: the custom operators ``spikegrad::neuron_loop``.

``torch.compile`` cannot look inside the fused kernels, so a neuron's T steps enter its
graph as one operator with a small explicit schema:

    neuron_loop(Tensor x, Tensor[] states, Tensor[] tensors, int node, bool store_v_seq) -> Tensor[]

``node`` identifies the neuron module (every neuron gets a number when it is built; the
operator finds the module by it), so the operator reads the neuron's current constants and
plan at run time, exactly as an eager call does. The outputs are the ``[T, *shape]``
output, the final states and, with ``store_v_seq``, ``v_seq``.

Its backward, ``neuron_loop_backward``, runs the forward kernel again to rebuild the
per-step values it needs (the compiled graph keeps only the operator's inputs), then the
backward kernel: one extra forward pass, the price of an operator whose outputs do not
depend on the neuron's plan, so that its shapes are known without tracing the neuron.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["neuron_loop", "register"]

_NODES: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_NUMBERS = itertools.count(1)


def register(node: Any) -> int:
    """Give ``node`` its number (a copy or an unpickled neuron gets a new one)."""
    number = next(_NUMBERS)
    _NODES[number] = node
    return number


def _node(number: int) -> Any:
    node = _NODES.get(number)
    if node is None:
        raise RuntimeError(f"spikegrad::neuron_loop: neuron #{number} no longer exists")
    return node


_LIB = torch.library.Library("spikegrad", "FRAGMENT")
_LIB.define(
    "neuron_loop(Tensor x, Tensor[] states, Tensor[] tensors, int node, bool store_v_seq) -> Tensor[]"
)
_LIB.define(
    "neuron_loop_backward(Tensor?[] grads, Tensor x, Tensor[] states, Tensor[] tensors, int node, "
    "bool store_v_seq, bool[] needs) -> Tensor?[]"
)


def _run(
    node: Any, x: Tensor, states: Sequence[Tensor], tensors: Sequence[Tensor], store_v_seq: bool, save: bool
) -> tuple[Any, list[float], list[Tensor], list[Tensor]]:
    from . import fused
    from .trace import cached_layout

    layout = cached_layout(node)
    plan = fused._plan(node, x, tensors, store_v_seq, layout)
    scalars = fused._scalars(node, layout)
    outputs, saved = fused._forward(plan, scalars, x, states, tensors, save=save)
    return plan, scalars, outputs, saved


def _loop(
    x: Tensor, states: list[Tensor], tensors: list[Tensor], node: int, store_v_seq: bool
) -> list[Tensor]:
    with torch.no_grad():
        _, _, outputs, _ = _run(_node(node), x, states, tensors, store_v_seq, save=False)
    return outputs


def _loop_fake(
    x: Tensor, states: list[Tensor], tensors: list[Tensor], node: int, store_v_seq: bool
) -> list[Tensor]:
    outputs = [torch.empty_like(x), *(torch.empty_like(s) for s in states)]
    if store_v_seq:
        outputs.append(torch.empty_like(x))
    return outputs


def _loop_backward(
    grads: list[Tensor | None],
    x: Tensor,
    states: list[Tensor],
    tensors: list[Tensor],
    node: int,
    store_v_seq: bool,
    needs: list[bool],
) -> list[Tensor | None]:
    from . import fused

    module = _node(node)
    x_in = x.detach().requires_grad_(needs[0])
    tensors_in = [
        t.detach().requires_grad_(need) for t, need in zip(tensors, needs[1 + len(states) :], strict=True)
    ]
    with torch.enable_grad():
        plan, scalars, _, saved = _run(module, x_in, states, tensors_in, store_v_seq, save=True)
    n_states = len(states)
    g_out, g_finals = grads[0], grads[1 : 1 + n_states]
    g_v_seq = grads[1 + n_states] if store_v_seq else None
    with torch.no_grad():
        g_x, g_states, sums = fused._backward(
            plan,
            scalars,
            [s.detach() for s in saved],
            tensors,
            (g_out, g_finals, g_v_seq),
            x.shape[1:],
            x.shape[0],
            x.device,
            reuse=True,
        )
    result: list[Tensor | None] = [g_x.view(x.shape) if g_x is not None and needs[0] else None]
    result += [
        g.view(s.shape) if need else None for g, s, need in zip(g_states, states, needs[1:], strict=False)
    ]
    it = iter(sums)
    for j, (t, need) in enumerate(zip(tensors, needs[1 + n_states :], strict=True)):
        g = next(it) if plan.grad_tensors[j] else None
        if g is None or not need:
            result.append(None)
        else:
            g = (
                g.sum().reshape(t.shape)
                if not plan.flat_tensors[j]
                else fused._sum_to(g, x.shape[1:], t.shape)
            )
            result.append(g.to(t.dtype))
    return result


def _loop_backward_fake(
    grads: list[Tensor | None],
    x: Tensor,
    states: list[Tensor],
    tensors: list[Tensor],
    node: int,
    store_v_seq: bool,
    needs: list[bool],
) -> list[Tensor | None]:
    likes = [x, *states, *tensors]
    return [torch.empty_like(t) if need else None for t, need in zip(likes, needs, strict=True)]


for _device in ("CPU", "CUDA"):
    _LIB.impl("neuron_loop", _loop, _device)
    _LIB.impl("neuron_loop_backward", _loop_backward, _device)
torch.library.register_fake("spikegrad::neuron_loop", _loop_fake, lib=_LIB)
torch.library.register_fake("spikegrad::neuron_loop_backward", _loop_backward_fake, lib=_LIB)


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    x, states, tensors, node, store_v_seq = inputs
    ctx.node = node
    ctx.store_v_seq = store_v_seq
    ctx.n_states = len(states)
    ctx.needs = [t.requires_grad for t in (x, *states, *tensors)]
    ctx.save_for_backward(x, *states, *tensors)


def _backward(ctx: Any, grads: list[Tensor | None]) -> tuple[Any, ...]:
    x, *rest = ctx.saved_tensors
    states, tensors = list(rest[: ctx.n_states]), list(rest[ctx.n_states :])
    result = torch.ops.spikegrad.neuron_loop_backward(
        list(grads), x, states, tensors, ctx.node, ctx.store_v_seq, ctx.needs
    )
    n = ctx.n_states
    return result[0], list(result[1 : 1 + n]), list(result[1 + n :]), None, None


torch.library.register_autograd("spikegrad::neuron_loop", _backward, setup_context=_setup_context, lib=_LIB)


def neuron_loop(node: Any, x: Tensor, store_v_seq: bool) -> tuple[Tensor, list[Tensor], Tensor | None]:
    """``T`` steps of ``node`` through the operator (what ``torch.compile`` records).

    Returns ``(outputs, final states, v_seq or None)``.
    """
    states = [getattr(node, name) for name in node.state_names()]
    tensors = [t for t in (*node._parameters.values(), *node._buffers.values()) if t is not None]
    sg = node._modules.get("surrogate_function")
    from ..surrogate import Surrogate

    if isinstance(sg, Surrogate):
        tensors += [p.to(x) for p in sg.param_values if isinstance(p, Tensor)]
    results = torch.ops.spikegrad.neuron_loop(x, states, tensors, node._kernel_number, store_v_seq)
    n = len(states)
    return results[0], list(results[1 : 1 + n]), (results[1 + n] if store_v_seq else None)
