"""Run a neuron with the fused kernels and with the reference loop, and compare everything.

``check(make, x)`` builds the neuron twice (``make(backend)``), feeds both the same input,
initial state and output gradients, and asserts that the outputs, final states, ``v_seq``
and the gradients of the input, the initial state and every parameter agree (outputs
exactly where a spike is a threshold decision, gradients to a tolerance per dtype).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from spikegrad import neuron, surrogate
from spikegrad.kernels import fused
from spikegrad.surrogate import Surrogate
from surrogate.custom_shapes import CUSTOM  # tests/surrogate (rootdir on sys.path)

CLASSES: list[type[Surrogate]] = [*surrogate.builtins(), *CUSTOM]
REQUIRED: dict[str, dict[str, Any]] = {"MultiLevelSpikeCount": {"max_spike_count": 3}}
#: (rtol, atol) of gradients per dtype: the kernels run autograd's ops in autograd's order,
#: so float64 agrees to a few ulps; half types differ by one rounding here and there.
TOL = {
    torch.float64: (1e-10, 1e-12),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (2e-2, 2e-2),
    torch.bfloat16: (5e-2, 5e-2),
}

Make = Callable[[str], neuron.BaseNode]


def make_surrogate(cls: type[Surrogate], **kwargs: Any) -> Surrogate:
    return cls(**{**REQUIRED.get(cls.__name__, {}), **kwargs})


def inputs(shape: tuple[int, ...] = (6, 4, 3), dtype: torch.dtype = torch.float64, seed: int = 0) -> Tensor:
    """Around the threshold, so that neurons both fire and stay silent."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * 1.2 + 0.4).to(dtype)


def run(node: neuron.BaseNode, x_seq: Tensor, v0: Tensor | None, seed: int = 0) -> dict[str, Tensor | None]:
    """Outputs and every gradient of one multi-step call, under a fixed random seed."""
    x = x_seq.detach().clone().requires_grad_()
    leaves: dict[str, Tensor] = {"x": x}
    if v0 is not None:
        node.v = v0.detach().clone().to(x.dtype).requires_grad_()
        leaves["v0"] = node.v  # type: ignore[assignment]
    for name, p in node.named_parameters():
        leaves[name] = p
    torch.manual_seed(seed)
    out = node(x)
    result: dict[str, Tensor | None] = {"out": out, "v_seq": node.v_seq}
    for name in node.state_names():
        result[name] = getattr(node, name)
    gen = torch.Generator().manual_seed(1)
    loss = sum(
        (t * torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype)).sum()
        for t in result.values()
        if t is not None
    )
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    for name, g in zip(leaves, grads, strict=True):
        result[f"grad_{name}"] = g
    return result


def check(
    make: Make,
    x_seq: Tensor,
    v0: Tensor | None = None,
    exact_outputs: bool = True,
    tol: tuple[float, float] | None = None,
) -> dict[str, Tensor | None]:
    """Fused against reference on ``x_seq``; returns the fused results. (A stochastic
    surrogate runs the reference loop under ``'auto'``: its neuron is checked with that.)"""
    fused_node = make("fused")
    sg = fused_node._modules.get("surrogate_function")
    if isinstance(sg, Surrogate) and type(sg).stochastic:
        fused_node = make("auto")
    got = run(fused_node.to(x_seq.dtype), x_seq, v0)
    want = run(make("reference").to(x_seq.dtype), x_seq, v0)
    rtol, atol = tol or TOL[x_seq.dtype]
    assert got.keys() == want.keys()
    for name in got:
        a, b = got[name], want[name]
        if a is None or b is None:
            assert a is None and b is None, name
            continue
        assert a.shape == b.shape and a.dtype == b.dtype, name
        if exact_outputs and not name.startswith("grad_"):
            torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
        else:
            torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=name)
    return got


def lif(sg: Surrogate | None = None, **kwargs: Any) -> Make:
    """A factory of multi-step LIF neurons (``store_v_seq`` on) for :func:`check`."""

    def make(backend: str) -> neuron.BaseNode:
        surrogate_function = sg if sg is not None else surrogate.ATan()
        return neuron.LIFNode(
            surrogate_function=surrogate_function, step_mode="m", store_v_seq=True, backend=backend, **kwargs
        )

    return make


def node(cls: type[neuron.BaseNode], sg: Surrogate | None = None, **kwargs: Any) -> Make:
    """A factory of multi-step neurons of ``cls`` for :func:`check`."""

    def make(backend: str) -> neuron.BaseNode:
        extra = {} if sg is None else {"surrogate_function": sg}
        return cls(step_mode="m", store_v_seq=True, backend=backend, **extra, **kwargs)

    return make


def plans() -> int:
    return fused.plan_count()
