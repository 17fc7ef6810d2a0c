"""SpikingJelly user code with only the import changed gives SpikingJelly's numbers.

:data:`USER_CODE` is a small SpikingJelly 2.0 program: a convolutional spiking network on
Poisson-encoded images in multi-step mode, watched by four monitors while it trains for two
batches. It runs once as written and once with ``spikingjelly.activation_based`` replaced by
``spikegrad``; losses, monitor records (spikes, potentials, inputs, gradients) and the
trained weights agree.
"""

from __future__ import annotations

import pytest
import torch

import sj

sj.module("monitor")  # skips this module without SpikingJelly

USER_CODE = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import encoding, functional, layer, monitor, neuron, surrogate

torch.manual_seed(0)
net = nn.Sequential(
    layer.Conv2d(1, 4, 3, padding=1, bias=False),
    layer.BatchNorm2d(4),
    neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()),
    layer.MaxPool2d(2),
    layer.Flatten(),
    layer.Linear(4 * 4 * 4, 10),
    neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), store_v_seq=True),
)
functional.set_step_mode(net, "m")
rates = monitor.OutputMonitor(net, neuron.LIFNode, lambda s: s.detach().mean().item())
potentials = monitor.AttributeMonitor(
    "v_seq", False, net, neuron.LIFNode, lambda v: None if v is None else v.detach().clone()
)
fc_inputs = monitor.InputMonitor(net, layer.Linear, lambda x: x.detach().clone())
grads = monitor.GradOutputMonitor(net, neuron.LIFNode, lambda g: g.detach().clone())
encoder = encoding.PoissonEncoder()
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)

losses = []
for batch in range(2):
    images = torch.rand(3, 1, 8, 8)
    labels = torch.randint(0, 10, (3,))
    x_seq = encoder(images.unsqueeze(0).repeat(6, 1, 1, 1, 1))
    out = net(x_seq).mean(0)
    loss = F.mse_loss(out, F.one_hot(labels, 10).float())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    functional.reset_net(net)
    losses.append(loss.item())

result = {
    "losses": losses,
    "rates": list(rates.records),
    "potentials": [v for v in potentials.records if v is not None],
    "fc_inputs": list(fc_inputs.records),
    "grads": list(grads.records),
    "weights": {k: v.detach().clone() for k, v in net.state_dict().items()},
}
for m in (rates, potentials, fc_inputs, grads):
    m.remove_hooks()
"""


def _run(library: str) -> dict:
    source = (
        USER_CODE
        if library == "spikingjelly"
        else USER_CODE.replace("spikingjelly.activation_based", "spikegrad")
    )
    namespace: dict = {"__name__": f"user_code_{library}"}
    exec(compile(source, f"<user code, {library}>", "exec"), namespace)
    return namespace["result"]


@pytest.mark.slow  # compiles the fused LIF kernels for ATan when the process has not yet
def test_monitored_training_gives_spikingjellys_numbers():
    ours, theirs = _run("spikegrad"), _run("spikingjelly")
    torch.testing.assert_close(torch.tensor(ours["losses"]), torch.tensor(theirs["losses"]))
    assert len(ours["rates"]) == len(theirs["rates"]) == 4  # two neuron layers, two batches
    assert ours["rates"] == theirs["rates"]  # exactly the same spikes
    assert 0 < sum(ours["rates"])
    for key in ("potentials", "fc_inputs", "grads"):
        assert len(ours[key]) == len(theirs[key]) > 0, key
        for a, b in zip(ours[key], theirs[key], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert ours["weights"].keys() == theirs["weights"].keys()
    for name in ours["weights"]:
        torch.testing.assert_close(ours["weights"][name], theirs["weights"][name], rtol=1e-5, atol=1e-6)
