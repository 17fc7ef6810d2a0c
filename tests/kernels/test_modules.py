"""The neuron modules with ``backend='fused'`` against ``backend='reference'``."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from spikegrad import functional, neuron, surrogate

NODES = {
    "if": lambda **kw: neuron.IFNode(**kw),
    "lif": lambda **kw: neuron.LIFNode(tau=3.0, **kw),
    "plif": lambda **kw: neuron.ParametricLIFNode(init_tau=2.5, **kw),
}


def _run(kind: str, backend: str, x: torch.Tensor, **kwargs: Any) -> list[torch.Tensor]:
    torch.manual_seed(0)
    node = NODES[kind](step_mode="m", backend=backend, store_v_seq=True, **kwargs).to(x.dtype)
    xs = x.detach().clone().requires_grad_()
    out = []
    for _ in range(2):  # two calls: the second starts from the first's final v
        spikes = node(xs)
        out += [spikes, node.v, node.v_seq]
    loss = sum((t * torch.linspace(-1, 1, t.numel(), dtype=t.dtype).view(t.shape)).sum() for t in out)
    params = list(node.parameters())
    grads = torch.autograd.grad(loss, [xs, *params])
    functional.reset_net(node)
    return [*out, *grads]


@pytest.mark.parametrize("kind", list(NODES))
@pytest.mark.parametrize("v_reset", [0.0, None])
def test_fused_modules_match_reference(kind: str, v_reset: float | None) -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(6, 2, 3, 4, 4, generator=gen, dtype=torch.float64) + 0.5  # conv activations
    kwargs = dict(v_reset=v_reset, surrogate_function=surrogate.ATan(), detach_reset=v_reset is None)
    got = _run(kind, "fused", x, **kwargs)
    want = _run(kind, "reference", x, **kwargs)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
