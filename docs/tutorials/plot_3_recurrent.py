"""
A recurrent spiking network
===========================

Spiking neurons remember through their membrane potential, but only for a few time
constants. A recurrent layer feeds the neurons' own spikes back to them, which lets a
network hold information for longer. This tutorial trains one on a task that needs memory:
two input channels each send a burst of spikes, and the network must say which came first.
"""

# %%
# The task
# --------
# Each sample is 30 steps of 2 input channels with a short burst on each. The class is 0 when
# channel 0 bursts first, else 1. A quiet gap between the bursts means the answer cannot be
# read from any single time step.
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from spikegrad import functional, layer, neuron, surrogate

T = 30


def order_task(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.zeros(T, n, 2)
    first = torch.randint(0, 2, (n,), generator=generator)
    for i in range(n):
        start = int(torch.randint(2, 8, (1,), generator=generator))
        gap = int(torch.randint(6, 14, (1,), generator=generator))
        a, b = int(first[i]), 1 - int(first[i])
        x[start : start + 3, i, a] = 1.0
        x[start + 3 + gap : start + 6 + gap, i, b] = 1.0
    return x, first


generator = torch.Generator().manual_seed(0)
x_train, y_train = order_task(512, generator)
x_test, y_test = order_task(256, generator)
fig, ax = plt.subplots(figsize=(7, 2))
ax.imshow(x_train[:, 0].T, aspect="auto", cmap="Greys", interpolation="nearest")
ax.set_yticks([0, 1], ["channel 0", "channel 1"])
ax.set_xlabel("time step")
ax.set_title(f"one sample (class {int(y_train[0])})")

# %%
# The network
# -----------
# ``LinearRecurrentContainer`` wraps a layer of neurons: at each step they receive
# ``W [x_t; s_{t-1}] + b``, their input and their own spikes of the previous step. The
# readout is a linear layer averaged over the last steps.
torch.manual_seed(0)
net = nn.Sequential(
    layer.Linear(2, 32),
    layer.LinearRecurrentContainer(neuron.LIFNode(tau=4.0, surrogate_function=surrogate.ATan()), 32, 32),
    layer.Linear(32, 2),
)
functional.set_step_mode(net, "m")  # the container loops over time itself
optimizer = torch.optim.Adam(net.parameters(), lr=2e-2)


def scores(x_seq: torch.Tensor) -> torch.Tensor:
    out = net(x_seq)[-8:].mean(0)  # the readout over the last 8 steps
    functional.reset_net(net)
    return out


# %%
# Training
# --------
for epoch in range(8):
    for i in range(0, 512, 128):
        loss = F.cross_entropy(scores(x_train[:, i : i + 128]), y_train[i : i + 128])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if epoch % 2 == 1:
        with torch.no_grad():
            accuracy = (scores(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, test accuracy {accuracy:.1%}")

# %%
# Why the recurrence: a LIF neuron's potential forgets with its time constant, ``tau = 4``
# steps here, shorter than the gap between the bursts; the recurrent weights let the layer
# keep a pattern of activity going from the first burst to the second. The recurrent layer
# exports to NIR as a cycle (see the NIR tutorial) and reads back into SpikingJelly.
