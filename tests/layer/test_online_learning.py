"""OTTTSequential and its helpers against SpikingJelly 2.0."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikegrad import layer
from spikegrad import neuron as sg_neuron

from .helpers import N, sync_weights

sj_layer = pytest.importorskip("spikingjelly.activation_based.layer")
sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")


def make_block(lib):
    torch.manual_seed(0)
    return lib.OTTTSequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12, 4), nn.ReLU()
    ).double()


def forward_backward(block, inputs):
    inputs = [x.detach().clone().requires_grad_() for x in inputs]
    out = block(inputs)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return out, [x.grad for x in inputs], {n: p.grad for n, p in block.named_parameters()}


def test_spike_and_trace_routing_as_spikingjelly():
    """Output from the spikes, weight gradients from the trace, input gradient to the spikes."""
    ours, theirs = make_block(layer), make_block(sj_layer)
    sync_weights(ours, theirs)
    spike = (torch.rand(N, 2, 4, 4) < 0.5).double()
    trace = torch.rand(N, 2, 4, 4, dtype=torch.float64)
    got, want = forward_backward(ours, [spike, trace]), forward_backward(theirs, [spike, trace])
    torch.testing.assert_close(got[0], want[0])
    torch.testing.assert_close(got[0], nn.Sequential(*ours)(spike))  # the value: the spikes' output
    for a, b in zip(got[1], want[1], strict=True):
        torch.testing.assert_close(a, b)
    for name, grad in got[2].items():
        torch.testing.assert_close(grad, want[2][name], msg=name)
    # one linear layer: the value is W spike + b, the weight gradient g^T trace
    linear = layer.OTTTSequential(nn.Linear(3, 2))
    spike, trace = torch.tensor([[1.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.25, 0.75]])
    out = linear([spike, trace])
    torch.testing.assert_close(out, linear[0](spike))
    out.backward(torch.tensor([[1.0, -2.0]]))
    torch.testing.assert_close(linear[0].weight.grad, torch.tensor([[1.0], [-2.0]]) * trace)


def test_tensor_input_is_a_plain_sequential():
    block = make_block(layer)
    x = torch.rand(N, 2, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(block(x), nn.Sequential(*block)(x))


def test_ottt_neurons_take_the_spikes(monkeypatch):
    """An OTTT neuron (here SpikingJelly's, standing in) gets the spikes of a pair."""
    monkeypatch.setattr(sg_neuron, "OTTTLIFNode", sj_neuron.OTTTLIFNode, raising=False)
    torch.manual_seed(0)
    ours = layer.OTTTSequential(sj_neuron.OTTTLIFNode(), nn.Linear(3, 2))
    theirs = sj_layer.OTTTSequential(sj_neuron.OTTTLIFNode(), nn.Linear(3, 2))
    sync_weights(ours, theirs)
    x = [torch.full((N, 3), 2.0), torch.ones(N, 3)]
    torch.testing.assert_close(ours(x), theirs(x))
    monkeypatch.delattr(sg_neuron, "OTTTLIFNode")
    assert layer.OTTTSequential(nn.Identity())._online_neurons == ()


def test_helpers_as_spikingjelly():
    x = torch.rand(3, requires_grad=True)
    x_r = torch.rand(3, requires_grad=True)
    y = layer.ReplaceforGrad.apply(x, x_r)
    assert torch.equal(y, x_r)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.equal(x.grad, torch.tensor([1.0, 2.0, 3.0])) and torch.equal(x.grad, x_r.grad)
    torch.manual_seed(0)
    linear = nn.Linear(3, 2)
    spike, trace = torch.ones(1, 3), torch.full((1, 3), 0.5)
    for ours, theirs in (
        (layer.GradwithTrace(linear), sj_layer.GradwithTrace(linear)),
        (layer.SpikeTraceOp(nn.ReLU()), sj_layer.SpikeTraceOp(nn.ReLU())),
    ):
        got, want = ours([spike, trace]), theirs([spike, trace])
        torch.testing.assert_close(got, want)
