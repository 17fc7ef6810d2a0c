"""torch.compile(fullgraph=True) of a small multi-step network, forward and backward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikegrad import functional, layer, neuron, surrogate


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compiled_network_matches_eager(backend):
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Flatten(),
        layer.Linear(12, 8),
        neuron.LIFNode(surrogate_function=surrogate.ATan(), backend=backend),
        layer.Linear(8, 5),
        neuron.ParametricLIFNode(v_reset=None, detach_reset=True, backend=backend),
    )
    with torch.no_grad():
        net[1].weight.mul_(3.0)
        net[3].weight.mul_(3.0)
    functional.set_step_mode(net, "m")
    x = torch.rand(6, 3, 3, 4) * 2

    def loss_and_grads(model):
        functional.reset_net(net)
        net.zero_grad()
        out = model(x)
        (out.mean(0) * torch.arange(5.0)).sum().backward()
        return out, [p.grad.clone() for p in net.parameters()]

    eager_out, eager_grads = loss_and_grads(net)
    compiled = torch.compile(net, fullgraph=True)
    out, grads = loss_and_grads(compiled)
    torch.testing.assert_close(out, eager_out)
    for got, want in zip(grads, eager_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert out.sum() > 0
