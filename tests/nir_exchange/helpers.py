"""Networks and runners shared by the NIR exchange tests."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from spikegrad import functional, neuron


def reference(net: nn.Module) -> nn.Module:
    """Every neuron on the reference loop (no kernel to compile; the kernels are tested elsewhere)."""
    for module in net.modules():
        if isinstance(module, neuron.BaseNode):
            module.backend = "reference"
    return net


def excite(net: nn.Module, mean: float = 3.0, std: float = 2.0) -> nn.Module:
    """Draw every weight from ``N(mean / fan_in, std^2 / fan_in)``: mostly excitatory, so that
    the neurons of every layer fire often enough for spike trains to be compared."""
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if name.endswith("weight") and parameter.dim() >= 2:
                fan_in = parameter[0].numel()
                parameter.normal_(mean / fan_in, std / math.sqrt(fan_in))
    return net


def run_steps(net: nn.Module, x_seq: Tensor) -> Tensor:
    """Outputs of a single-step network over ``x_seq`` ``[T, N, ...]``, from rest."""
    functional.reset_net(net)
    return torch.stack([net(x) for x in x_seq])


def run_sequence(net: nn.Module, x_seq: Tensor) -> Tensor:
    """Output of a multi-step network on ``x_seq``, from rest."""
    functional.reset_net(net)
    return net(x_seq)


def assert_spiking(out: Tensor) -> None:
    """The comparison means something only if the output spikes, but not always."""
    rate = float(out.detach().float().mean())
    assert 0.02 < rate < 0.98, f"firing rate {rate:.3f}: the test network is silent or saturated"
