"""Cases of the fused kernels met while defining these neurons: a 0-dim parameter used as it
is, a step that reads ``self.training``, and the test harness on a neuron without a surrogate."""

from __future__ import annotations

import torch
from torch import nn

from kernels.harness import check
from spikegrad import neuron


class LinearGain(neuron.BaseNode):
    """``H = a V + X`` with a learnable 0-dim gain ``a`` used as it is (no sigmoid around it)."""

    def setup(self) -> None:
        self.a = nn.Parameter(torch.tensor(0.5))

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self.v = self.a * self.v + x


class TrainingScaled(neuron.BaseNode):
    """A step that reads ``self.training`` (SpikingJelly's online neurons do)."""

    def neuronal_charge(self, x: torch.Tensor) -> None:
        self.v = self.v + (x if self.training else 2 * x)


def run(node: neuron.BaseNode, x: torch.Tensor) -> list[torch.Tensor]:
    x = x.clone().requires_grad_()
    out = node(x)
    return [out, node.v, *torch.autograd.grad(out.sum() + node.v.sum(), [x, *node.parameters()])]


def test_zero_dim_parameter_used_directly():
    x = torch.rand(5, 4, dtype=torch.float64) + 0.3
    got = run(LinearGain(step_mode="m", backend="fused").double(), x)
    want = run(LinearGain(step_mode="m", backend="reference").double(), x)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)


def test_step_reading_training_mode():
    x = torch.rand(4, 3)
    results = []
    for backend in ("fused", "reference"):
        node = TrainingScaled(step_mode="m", backend=backend)
        node(x)
        node.reset()
        results.append(node.eval()(x))
    torch.testing.assert_close(*results)


def test_harness_takes_neurons_without_surrogate():
    check(lambda backend: neuron.NonSpikingIFNode(backend=backend), torch.rand(4, 3, dtype=torch.float64))
