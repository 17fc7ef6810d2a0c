"""A recurrent spiking network reads each digit row by row: 8 time steps of 8 pixels.

The hidden layer is a ``LinearRecurrentContainer``: its LIF neurons receive their own spikes
of the previous step through a learned weight, so the network can carry what it has seen
across the rows. A linear readout, averaged over the steps, gives the class scores.

    python examples/recurrent_digits.py
    python examples/recurrent_digits.py --tiny
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from spikegrad import functional, layer, neuron, surrogate


def main(tiny: bool = False) -> float:
    torch.manual_seed(0)
    digits = load_digits()
    # a shuffled split: the last 297 images are the test set
    order = torch.randperm(len(digits.target), generator=torch.Generator().manual_seed(0))
    # [N, 8 rows, 8 pixels] -> time-major sequences [T = 8 rows, N, 8 pixels]
    x = torch.tensor(digits.images, dtype=torch.float32)[order].permute(1, 0, 2) / 16
    y = torch.tensor(digits.target)[order]
    epochs, n_train, hidden = (1, 100, 32) if tiny else (8, 1500, 128)

    net = nn.Sequential(
        layer.Linear(8, hidden),
        layer.LinearRecurrentContainer(
            neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()), hidden, hidden
        ),
        layer.Linear(hidden, 10),
    )
    functional.set_step_mode(net, "m")  # the container loops over the 8 steps itself
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)

    def scores(rows: torch.Tensor) -> torch.Tensor:
        out = net(rows).mean(0)  # the readout averaged over the rows: [N, 10]
        functional.reset_net(net)
        return out

    accuracy = 0.0
    for epoch in range(epochs):
        for i in range(0, n_train, 50):
            loss = F.cross_entropy(scores(x[:, i : i + 50]), y[i : i + 50])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            accuracy = (scores(x[:, 1500:]).argmax(1) == y[1500:]).float().mean().item()
        print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {accuracy:.1%}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tiny", action="store_true", help="a few batches only (a smoke run)")
    main(parser.parse_args().tiny)
