"""SpikingJelly-style user code runs with only the import changed, and gives the same numbers.

Each script below is written for SpikingJelly 2.0 (``from spikingjelly.activation_based
import ...``). It runs once as written, against SpikingJelly, and once with that import
replaced by ``from spikegrad import ...``: the losses of every training step, the outputs and
the trained weights (``state_dict``, loaded strictly into the other) agree.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("spikingjelly.activation_based.layer")

SJ_IMPORT = "from spikingjelly.activation_based import"

CONV_NET_WITH_VOTING = f"""
import torch
import torch.nn as nn
import torch.nn.functional as F
{SJ_IMPORT} functional, layer, neuron, surrogate


class CSNN(nn.Module):
    def __init__(self, T, channels=4):
        super().__init__()
        self.T = T
        self.conv_fc = nn.Sequential(
            layer.Conv2d(1, channels, kernel_size=3, padding=1, bias=False),
            layer.BatchNorm2d(channels),
            neuron.LIFNode(detach_reset=True),
            layer.MaxPool2d(2, 2),
            layer.Conv2d(channels, channels, 3, 1, 1, 1, 1, False, "zeros", "s"),  # step_mode positional
            layer.BatchNorm2d(channels),
            neuron.LIFNode(surrogate_function=surrogate.Sigmoid(), detach_reset=True),
            layer.AdaptiveAvgPool2d((2, 2)),
            layer.Flatten(),
            layer.Dropout(0.25),
            layer.Linear(channels * 4, 30, False),
            layer.BatchNorm1d(30),
            neuron.LIFNode(detach_reset=True),
            layer.VotingLayer(10),
        )
        functional.set_step_mode(self, step_mode="m")

    def forward(self, x):
        x_seq = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)  # [N, C, H, W] -> [T, N, C, H, W]
        return self.conv_fc(x_seq).mean(0)


torch.manual_seed(0)
net = CSNN(T=4).double()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
images = torch.rand(8, 1, 8, 8, dtype=torch.float64) * 2
labels = torch.randint(0, 3, (8,))
losses = []
for step in range(4):
    out_fr = net(images)
    loss = F.mse_loss(out_fr, F.one_hot(labels, 3).double())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    functional.reset_net(net)
    losses.append(loss.item())
net.eval()
with torch.no_grad():
    eval_out = net(images)
functional.reset_net(net)
result = {{"losses": losses, "out": eval_out, "state": net.state_dict()}}
"""

RECURRENT_NET = f"""
import torch
import torch.nn as nn
import torch.nn.functional as F
{SJ_IMPORT} functional, layer, neuron, surrogate


class RSNN(nn.Module):
    def __init__(self, in_features, hidden, classes):
        super().__init__()
        self.fc_in = layer.Linear(in_features, hidden)
        self.rnn = layer.LinearRecurrentContainer(
            neuron.IFNode(surrogate_function=surrogate.Sigmoid(), detach_reset=True),
            in_features=hidden,
            out_features=hidden,
        )
        self.element_wise = layer.ElementWiseRecurrentContainer(
            neuron.LIFNode(tau=2.0, surrogate_function=surrogate.Sigmoid()),
            element_wise_function=lambda y, x: x + 0.5 * y,
        )
        self.fc_out = layer.Linear(hidden, classes)
        functional.set_step_mode(self, "m")  # the wrapped neurons stay single-step

    def forward(self, x_seq):
        return self.fc_out(self.element_wise(self.rnn(self.fc_in(x_seq)))).mean(0)


torch.manual_seed(1)
net = RSNN(6, 12, 3).double()
optimizer = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
x_seq = torch.rand(5, 4, 6, dtype=torch.float64) * 2  # [T, N, features]
labels = torch.randint(0, 3, (4,))
losses = []
for step in range(4):
    loss = F.cross_entropy(net(x_seq), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    functional.reset_net(net)
    losses.append(loss.item())
with torch.no_grad():
    out = net(x_seq)
result = {{"losses": losses, "out": out, "state": net.state_dict()}}
"""


def execute(source: str) -> dict:
    namespace: dict = {"__name__": "user_code"}
    exec(compile(source, "<user code>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("script", [CONV_NET_WITH_VOTING, RECURRENT_NET], ids=["conv-voting", "recurrent"])
def test_same_numbers_with_only_the_import_changed(script):
    ported = script.replace(SJ_IMPORT, "from spikegrad import")
    assert ported != script and "spikingjelly" not in ported
    theirs, ours = execute(script), execute(ported)
    assert ours["net"].__class__.__module__ == "user_code"
    assert type(ours["layer"]).__name__ == "module" and ours["layer"].__name__ == "spikegrad.layer"
    torch.testing.assert_close(
        torch.tensor(ours["result"]["losses"]), torch.tensor(theirs["result"]["losses"])
    )
    torch.testing.assert_close(ours["result"]["out"], theirs["result"]["out"])
    for key, value in ours["result"]["state"].items():
        torch.testing.assert_close(value, theirs["result"]["state"][key], msg=key)
    ours["net"].load_state_dict(theirs["net"].state_dict(), strict=True)
    theirs["net"].load_state_dict(ours["net"].state_dict(), strict=True)
    assert len(set(ours["result"]["losses"])) > 1  # it trained
